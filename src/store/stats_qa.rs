//! The QA figures of a window (see `crate::stats::qa` for their definitions) in SQL over the
//! current scorecard saves and the marks history of the calls a [`SqlWhere`] selects. Driven
//! from the scores and marks tables, which are small next to the cache.

use std::collections::{BTreeMap, HashMap, HashSet};

use rusqlite::Connection;
use rusqlite::types::Value;

use super::error::StoreResult;
use super::filter::{MARK_JOIN, SCORE_JOIN, SqlWhere};
use crate::domain::history::UNKNOWN_REVIEWER;
use crate::stats::{CardFigures, Qa, QuestionFigures, ReviewerFigures, SplitBy, coalesce, mean_of_counts};

/// Current saves of the selected calls: `FROM … WHERE …` over `scores s` and `conversations c`,
/// narrowed to one scorecard when given, and its parameters.
fn saves(w: &SqlWhere, card: Option<&str>) -> (String, Vec<Value>) {
    let mut params = w.params.clone();
    let card_sql = match card {
        Some(c) => {
            params.push(Value::Text(c.to_string()));
            " AND s.scorecard = ?"
        }
        None => "",
    };
    let sql = format!(
        "FROM scores s CROSS JOIN conversations c ON {SCORE_JOIN}
         WHERE {} AND {}{card_sql}",
        super::scores::CURRENT,
        w.sql()
    );
    (sql, params)
}

/// Runs `sql` and hands each row to `each`.
fn each_row(
    conn: &Connection,
    sql: &str,
    params: &[Value],
    mut each: impl FnMut(&rusqlite::Row) -> rusqlite::Result<()>,
) -> StoreResult<()> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(params.iter()))?;
    while let Some(r) = rows.next()? {
        each(r)?;
    }
    Ok(())
}

fn text(r: &rusqlite::Row, i: usize) -> rusqlite::Result<String> {
    Ok(r.get_ref(i)?.as_str().unwrap_or("").to_string())
}

/// Each split group's QA scores as a coalesced multiset, by the group's name as the cells
/// key it (variant or environment; empty when the API gave none).
pub(super) type ScoresByGroup = HashMap<String, Vec<(f64, u64)>>;

/// Every QA figure of the calls `w` selects (current saves of `card` only, when given), and
/// the scores of each group of `split`.
///
/// One pass over the current saves: each save joins its cached call (a random read of the
/// table), so a query per figure cost that join six times over (95 ms each over 20,000 saves
/// of 10⁶ cached calls in the stats bench).
pub(super) fn qa(
    conn: &Connection,
    w: &SqlWhere,
    card: Option<&str>,
    split: SplitBy,
    reviewed_by: ReviewedBy,
) -> StoreResult<(Qa, ScoresByGroup)> {
    let mut qa = Qa::default();
    let mut calls = HashSet::new();
    let mut scores: Vec<(f64, u64)> = Vec::new();
    // Per card: its saves, and per question id the saves per answer text.
    type Answers = BTreeMap<String, BTreeMap<String, u64>>;
    let mut cards: BTreeMap<String, (u64, Answers)> = BTreeMap::new();
    let mut by = ByReviewer::new();
    let mut groups = ScoresByGroup::new();
    let group = match split {
        SplitBy::None => "NULL",
        SplitBy::Variant => "c.variant",
        SplitBy::Env => "c.environment",
    };
    let (from, params) = saves(w, card);
    each_row(
        conn,
        &format!("SELECT c.pk, s.scorecard, s.reviewer, s.score, s.auto_failed, s.answers, {group} {from}"),
        &params,
        |r| {
            calls.insert(r.get::<_, i64>(0)?);
            let score = r.get::<_, Option<f64>>(3)?;
            if let Some(s) = score
                && split != SplitBy::None
            {
                groups.entry(text(r, 6)?).or_default().push((s, 1));
            }
            if r.get::<_, bool>(4)? {
                qa.auto_failed += 1;
            }
            let (f, reviewer_scores) = at(&mut by, Some(text(r, 2)?));
            f.scored += 1;
            if let Some(s) = score {
                scores.push((s, 1));
                reviewer_scores.push((s, 1));
            }
            let (saves, questions) = cards.entry(text(r, 1)?).or_default();
            *saves += 1;
            for (question, answer) in answers_of(r.get_ref(5)?.as_str().unwrap_or("")) {
                *questions.entry(question).or_default().entry(answer).or_default() += 1;
            }
            Ok(())
        },
    )?;
    qa.scored = calls.len() as u64;
    coalesce(&mut scores);
    qa.set_scores(&scores);
    qa.scorecards = cards
        .into_iter()
        .map(|(name, (saves, questions))| CardFigures {
            name,
            saves,
            questions: questions
                .into_iter()
                .map(|(id, counts)| QuestionFigures::of(&id, &counts.into_iter().collect::<Vec<_>>()))
                .collect(),
        })
        .collect();
    qa.reviewers = reviewers(conn, w, by, reviewed_by)?;
    for v in groups.values_mut() {
        coalesce(v);
    }
    Ok((qa, groups))
}

/// The (question id, answer text) pairs of a save's `answers` JSON, as SQLite's `json_each`
/// over it and `$.answer` of each value read them: only text answers, none from JSON that
/// does not parse (a hand-edited row counts as a save without answers, as `Store::scores`
/// reads it), and an array's items under the empty id (`json_each` keys them by number).
fn answers_of(json: &str) -> Vec<(String, String)> {
    use serde_json::Value;
    let answer = |v: &Value| v.get("answer").and_then(Value::as_str).map(str::to_string);
    match serde_json::from_str::<Value>(json) {
        Ok(Value::Object(questions)) => questions
            .iter()
            .filter_map(|(id, v)| Some((id.clone(), answer(v)?)))
            .collect(),
        Ok(Value::Array(items)) => items.iter().filter_map(|v| Some((String::new(), answer(v)?))).collect(),
        _ => Vec::new(),
    }
}

/// Who last marked each reviewed call of the window (`None`: no history says), with how many.
pub(super) type ReviewedBy = Vec<(Option<String>, u64)>;

/// The latest change of `field` (SQL) to the marks of the row aliased `k`: who made it.
pub(super) fn latest_by(k: &str, field: &str) -> String {
    format!(
        "(SELECT h.reviewer FROM mark_history h WHERE h.account = {k}.account AND h.project = {k}.project
            AND h.environment = {k}.environment AND h.id = {k}.id AND h.field = {field}
          ORDER BY h.at_ms DESC, h.seq DESC LIMIT 1)"
    )
}

type ByReviewer = BTreeMap<String, (ReviewerFigures, Vec<(f64, u64)>)>;

/// The figures of reviewer `name` (`unknown` when none), and the scores of their saves.
fn at(by: &mut ByReviewer, name: Option<String>) -> &mut (ReviewerFigures, Vec<(f64, u64)>) {
    let name = name.unwrap_or_else(|| UNKNOWN_REVIEWER.to_string());
    by.entry(name.clone()).or_insert_with(|| {
        (
            ReviewerFigures {
                name,
                ..ReviewerFigures::default()
            },
            Vec::new(),
        )
    })
}

/// Each reviewer's figures: `by` holds their saves (from `qa`'s pass) and `reviewed_by` the
/// calls they last marked reviewed (from the review counts' pass); the flagged ones are added here.
fn reviewers(
    conn: &Connection,
    w: &SqlWhere,
    mut by: ByReviewer,
    reviewed_by: ReviewedBy,
) -> StoreResult<Vec<ReviewerFigures>> {
    for (who, n) in reviewed_by {
        at(&mut by, who).0.reviewed += n;
    }
    each_row(
        conn,
        &format!(
            "SELECT who, count(DISTINCT pk) FROM (SELECT c.pk AS pk, {} AS who
                 FROM conversation_flags m CROSS JOIN conversations c ON {MARK_JOIN} WHERE {})
             GROUP BY 1",
            latest_by("m", "'flag:' || m.code"),
            w.sql()
        ),
        &w.params,
        |r| {
            at(&mut by, r.get(0)?).0.flagged += r.get::<_, i64>(1)? as u64;
            Ok(())
        },
    )?;
    Ok(by
        .into_values()
        .map(|(mut f, mut scores)| {
            coalesce(&mut scores);
            f.mean_score = mean_of_counts(&scores);
            f
        })
        .collect())
}

#[cfg(test)]
mod tests {
    /// `answers_of` reads a save's answers as the SQL it replaced did: `json_each` over valid
    /// JSON, the text of each value's `$.answer`, its key as text (empty when not text). Where
    /// that SQL failed (a question whose value is a bare string: `json_extract` of it is
    /// "malformed JSON", which failed the whole stats view), the other questions still count.
    #[test]
    fn answers_are_read_as_json_each_read_them() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let mut sql = conn
            .prepare(
                "SELECT j.key, json_extract(j.value, '$.answer') FROM
                 json_each(CASE WHEN json_valid(?1) THEN ?1 ELSE '{}' END) j",
            )
            .unwrap();
        for json in [
            r#"{"q1":{"answer":"yes"},"q2":{"answer":"no","comment":"late"},"q3":{"answer":4},"q4":{}}"#,
            r#"{"q1":{"answer":"a \"quoted\" é"},"q3":null,"q4":[{"answer":"x"}],"q5":7}"#,
            r#"[{"answer":"yes"},{"answer":3},5]"#,
            "12",
            "{oops",
            "",
        ] {
            let want: Vec<(String, String)> = sql
                .query_map([json], |r| {
                    let key = r.get_ref(0)?.as_str().unwrap_or("").to_string();
                    Ok(r.get_ref(1)?.as_str().ok().map(|a| (key, a.to_string())))
                })
                .unwrap()
                .filter_map(Result::unwrap)
                .collect();
            assert_eq!(super::answers_of(json), want, "{json}");
        }
        let bare = r#"{"q1":{"answer":"yes"},"q2":"no"}"#;
        assert!(
            sql.query_map([bare], |r| r.get::<_, Option<String>>(1))
                .unwrap()
                .any(|r| r.is_err())
        );
        assert_eq!(super::answers_of(bare), [("q1".to_string(), "yes".to_string())]);
    }

    use crate::api::Conversation;
    use crate::domain::scores::{ScoreAnswer, ScoreRecord};
    use crate::domain::{Filter, Origin, Scope};
    use crate::stats::{SplitBy, StatsRequest};
    use crate::store::Store;

    fn rec(card: &str, who: &str, score: Option<f64>, answers: &[(&str, &str)]) -> ScoreRecord {
        ScoreRecord {
            scorecard: card.into(),
            reviewer: who.into(),
            at_ms: 1,
            answers: answers
                .iter()
                .map(|(q, a)| {
                    let a = ScoreAnswer {
                        answer: a.to_string(),
                        comment: String::new(),
                        turn: None,
                    };
                    (q.to_string(), a)
                })
                .collect(),
            score,
            auto_failed: score == Some(0.0),
        }
    }

    /// `scorecard:` narrows the QA figures to its saves; a row of bad JSON (edited by hand)
    /// keeps its score and loses its answers, as `Store::scores` reads it.
    #[test]
    fn a_scorecard_filter_narrows_the_figures_and_bad_answers_do_not_break_them() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let o = Origin::new("a", "p", "live");
        let convs: Vec<Conversation> = (1..=3)
            .map(|i| {
                serde_json::from_value(serde_json::json!({
                    "id": format!("C{i}"), "channel": "VOICE-SIP",
                    "started_at": format!("2026-04-01T09:0{i}:00Z"),
                }))
                .unwrap()
            })
            .collect();
        store.cache(&o, &convs).unwrap();
        store
            .save_score(
                &o.key("C1"),
                &rec("voice-qa", "ann", Some(80.0), &[("greeting", "yes")]),
            )
            .unwrap();
        store
            .save_score(&o.key("C1"), &rec("quick", "ann", Some(0.0), &[("greeting", "no")]))
            .unwrap();
        store
            .save_score(&o.key("C2"), &rec("voice-qa", "bob", None, &[("greeting", "na")]))
            .unwrap();
        store
            .conn()
            .execute(
                "INSERT INTO scores (account, project, environment, id, scorecard, reviewer, at_ms, answers, score, auto_failed)
                 VALUES ('a', 'p', 'live', 'C3', 'voice-qa', 'cy', 2, '{not json', 55, 0)",
                [],
            )
            .unwrap();
        let scope = Scope::env("a", "p", "live");
        let t0 = 1_775_000_000_000; // 2026-03-31, before the calls
        let req = StatsRequest::new(t0, t0 + 3 * 86_400_000, 0, SplitBy::None);
        let all = store.stats(&scope, &Filter::default(), &req).unwrap().qa;
        assert_eq!((all.scored, all.scores, all.auto_failed), (3, 3, 1));
        assert_eq!(all.distribution[0] + all.distribution[5] + all.distribution[8], 3);
        let names: Vec<&str> = all.scorecards.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["quick", "voice-qa"]);
        let greeting = &all.scorecards[1].questions[0];
        assert_eq!((greeting.yes, greeting.na, greeting.answered), (1, 1, 2));
        assert_eq!(all.scorecards[1].saves, 3, "the bad row is a save without answers");
        let card = store
            .stats(&scope, &Filter::parse("scorecard:voice-qa").unwrap(), &req)
            .unwrap()
            .qa;
        assert_eq!((card.scored, card.scores, card.auto_failed), (3, 2, 0));
        assert_eq!(card.mean, Some(67.5));
        assert_eq!(card.scorecards.len(), 1);
        let who: Vec<(&str, u64)> = card.reviewers.iter().map(|r| (r.name.as_str(), r.scored)).collect();
        assert_eq!(who, [("ann", 1), ("bob", 1), ("cy", 1)]);
    }
}
