//! The QA figures of a window (see `crate::stats::qa` for their definitions) in SQL over the
//! current scorecard saves and the marks history of the calls a [`SqlWhere`] selects. Driven
//! from the scores and marks tables, which are small next to the cache.

use std::collections::{BTreeMap, HashMap};

use rusqlite::Connection;
use rusqlite::types::Value;

use super::error::StoreResult;
use super::filter::SqlWhere;
use crate::domain::history::UNKNOWN_REVIEWER;
use crate::stats::{CardFigures, Qa, QuestionFigures, ReviewerFigures, SplitBy, coalesce, mean_of_counts};

/// Current saves of the selected calls: `FROM … WHERE …` over `scores s` and `conversations c`,
/// narrowed to one scorecard when given, and its parameters.
fn saves(w: &SqlWhere, card: Option<&str>, extra_from: &str) -> (String, Vec<Value>) {
    let mut params = w.params.clone();
    let card_sql = match card {
        Some(c) => {
            params.push(Value::Text(c.to_string()));
            " AND s.scorecard = ?"
        }
        None => "",
    };
    let sql = format!(
        "FROM scores s CROSS JOIN conversations c ON c.account = s.account AND c.project = s.project
             AND c.environment = s.environment AND c.id = s.id{extra_from}
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

/// Every QA figure of the calls `w` selects (current saves of `card` only, when given).
pub(super) fn qa(conn: &Connection, w: &SqlWhere, card: Option<&str>) -> StoreResult<Qa> {
    let mut qa = Qa::default();
    let (from, params) = saves(w, card, "");
    qa.scored = conn
        .prepare_cached(&format!("SELECT count(DISTINCT c.pk) {from}"))?
        .query_row(rusqlite::params_from_iter(params.iter()), |r| r.get::<_, i64>(0))? as u64;

    // Scores as a multiset, and auto-fails.
    let mut scores: Vec<(f64, u64)> = Vec::new();
    each_row(
        conn,
        &format!("SELECT s.score, s.auto_failed, count(*) {from} GROUP BY 1, 2"),
        &params,
        |r| {
            let n = r.get::<_, i64>(2)? as u64;
            if r.get::<_, bool>(1)? {
                qa.auto_failed += n;
            }
            if let Some(s) = r.get::<_, Option<f64>>(0)? {
                scores.push((s, n));
            }
            Ok(())
        },
    )?;
    coalesce(&mut scores);
    qa.set_scores(&scores);

    // Per scorecard: its saves, and per question the saves per answer text. A hand-edited row
    // of bad JSON counts as a save without answers (as `Store::scores` reads it).
    // Per card: its saves, and per question id the (answer text, saves) pairs.
    type Answers = BTreeMap<String, Vec<(String, u64)>>;
    let mut cards: BTreeMap<String, (u64, Answers)> = BTreeMap::new();
    each_row(
        conn,
        &format!("SELECT s.scorecard, count(*) {from} GROUP BY 1"),
        &params,
        |r| {
            cards.entry(text(r, 0)?).or_default().0 = r.get::<_, i64>(1)? as u64;
            Ok(())
        },
    )?;
    let (from_answers, _) = saves(
        w,
        card,
        ", json_each(CASE WHEN json_valid(s.answers) THEN s.answers ELSE '{}' END) j",
    );
    each_row(
        conn,
        &format!(
            "SELECT s.scorecard, j.key, json_extract(j.value, '$.answer'), count(*) {from_answers}
             GROUP BY 1, 2, 3"
        ),
        &params,
        |r| {
            let answer = r.get_ref(2)?;
            // Only the text answers a form writes; anything else was not written by a save.
            let Some(answer) = answer.as_str().ok().map(str::to_string) else {
                return Ok(());
            };
            let n = r.get::<_, i64>(3)? as u64;
            let (_, questions) = cards.entry(text(r, 0)?).or_default();
            questions.entry(text(r, 1)?).or_default().push((answer, n));
            Ok(())
        },
    )?;
    qa.scorecards = cards
        .into_iter()
        .map(|(name, (saves, questions))| CardFigures {
            name,
            saves,
            questions: questions
                .iter()
                .map(|(id, counts)| QuestionFigures::of(id, counts))
                .collect(),
        })
        .collect();

    qa.reviewers = reviewers(conn, w, card)?;
    Ok(qa)
}

/// The latest change of `field` (SQL) to the marks of the row aliased `k`: who made it.
fn latest_by(k: &str, field: &str) -> String {
    format!(
        "(SELECT h.reviewer FROM mark_history h WHERE h.account = {k}.account AND h.project = {k}.project
            AND h.environment = {k}.environment AND h.id = {k}.id AND h.field = {field}
          ORDER BY h.at_ms DESC, h.seq DESC LIMIT 1)"
    )
}

fn reviewers(conn: &Connection, w: &SqlWhere, card: Option<&str>) -> StoreResult<Vec<ReviewerFigures>> {
    type ByReviewer = BTreeMap<String, (ReviewerFigures, Vec<(f64, u64)>)>;
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
    let mut by = ByReviewer::new();
    let (from, params) = saves(w, card, "");
    each_row(
        conn,
        &format!("SELECT s.reviewer, s.score, count(*) {from} GROUP BY 1, 2"),
        &params,
        |r| {
            let n = r.get::<_, i64>(2)? as u64;
            let (f, scores) = at(&mut by, Some(text(r, 0)?));
            f.scored += n;
            if let Some(s) = r.get::<_, Option<f64>>(1)? {
                scores.push((s, n));
            }
            Ok(())
        },
    )?;
    const ON: &str =
        "c.account = m.account AND c.project = m.project AND c.environment = m.environment AND c.id = m.id";
    each_row(
        conn,
        &format!(
            "SELECT {}, count(*) FROM conversation_marks m CROSS JOIN conversations c ON {ON}
             WHERE m.status = 'reviewed' AND {} GROUP BY 1",
            latest_by("m", "'status'"),
            w.sql()
        ),
        &w.params,
        |r| {
            at(&mut by, r.get(0)?).0.reviewed += r.get::<_, i64>(1)? as u64;
            Ok(())
        },
    )?;
    each_row(
        conn,
        &format!(
            "SELECT who, count(DISTINCT pk) FROM (SELECT c.pk AS pk, {} AS who
                 FROM conversation_flags m CROSS JOIN conversations c ON {ON} WHERE {})
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

/// Each split group's QA scores as a coalesced multiset, by the group's name as the cells
/// key it (variant or environment; empty when the API gave none).
pub(super) fn scores_by_group(
    conn: &Connection,
    w: &SqlWhere,
    card: Option<&str>,
    by: SplitBy,
) -> StoreResult<HashMap<String, Vec<(f64, u64)>>> {
    let col = match by {
        SplitBy::None => return Ok(HashMap::new()),
        SplitBy::Variant => "c.variant",
        SplitBy::Env => "c.environment",
    };
    let (from, params) = saves(w, card, "");
    let mut groups: HashMap<String, Vec<(f64, u64)>> = HashMap::new();
    each_row(
        conn,
        &format!("SELECT {col}, s.score, count(*) {from} AND s.score IS NOT NULL GROUP BY 1, 2"),
        &params,
        |r| {
            let n = r.get::<_, i64>(2)? as u64;
            groups.entry(text(r, 0)?).or_default().push((r.get(1)?, n));
            Ok(())
        },
    )?;
    for v in groups.values_mut() {
        coalesce(v);
    }
    Ok(groups)
}

#[cfg(test)]
mod tests {
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
