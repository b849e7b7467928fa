//! The SQLite side of list filters: the domain's [`Filter`] and [`Scope`] compiled to a WHERE
//! fragment with bound parameters (never interpolated).

use rusqlite::types::Value;

use crate::domain::filter::{Filter, NO_REASON, is_chat_kind, is_voice_kind};
use crate::domain::scope::Scope;

use super::cache::LabelKind;

/// A WHERE fragment over the `conversations` table aliased `c`, and its parameters.
#[derive(Debug, Default)]
pub struct SqlWhere {
    pub clauses: Vec<String>,
    pub params: Vec<Value>,
}

impl SqlWhere {
    pub fn push(&mut self, clause: &str, params: impl IntoIterator<Item = Value>) {
        self.clauses.push(clause.to_string());
        self.params.extend(params);
    }

    /// `a AND b AND …`, or `1` when empty. Parameters are positional (`?`), in order.
    pub fn sql(&self) -> String {
        if self.clauses.is_empty() {
            "1".to_string()
        } else {
            self.clauses.join(" AND ")
        }
    }
}

pub(crate) const MARK_JOIN: &str =
    "m.account = c.account AND m.project = c.project AND m.environment = c.environment AND m.id = c.id";

/// Compiles a domain value into conditions over `conversations c` (and its marks).
pub(crate) trait Compile {
    fn compile_into(&self, w: &mut SqlWhere);
}

impl Compile for Filter {
    /// Appends this filter's conditions to `w`. Values are always bound, never interpolated.
    fn compile_into(&self, w: &mut SqlWhere) {
        if !self.channels.is_empty() {
            let mut any = Vec::new();
            let mut params = Vec::new();
            for ch in &self.channels {
                if is_voice_kind(ch) {
                    any.push("c.channel LIKE 'VOICE%'");
                } else if is_chat_kind(ch) {
                    any.push("c.channel NOT LIKE 'VOICE%'");
                } else {
                    any.push("c.channel = ? COLLATE NOCASE");
                    params.push(Value::Text(ch.clone()));
                }
            }
            w.push(&format!("({})", any.join(" OR ")), params);
        }
        if let Some(env) = &self.environment {
            w.push("c.environment = ?", [Value::Text(env.clone())]);
        }
        if let Some(min) = self.min_duration {
            w.push("c.total_duration >= ?", [Value::Integer(min.into())]);
        }
        if let Some(max) = self.max_duration {
            w.push("c.total_duration <= ?", [Value::Integer(max.into())]);
        }
        if let Some(h) = self.handoff {
            w.push("c.handoff = ?", [Value::Integer(h.into())]);
        }
        if let Some(p) = self.in_progress {
            w.push("c.in_progress = ?", [Value::Integer(p.into())]);
        }
        if let Some(intent) = &self.intent {
            w.push(
                "EXISTS (SELECT 1 FROM conversation_intents i WHERE i.intent = ? AND i.conv = c.pk)",
                [Value::Text(intent.clone())],
            );
        }
        if let Some(l) = self.latency_above {
            w.push("c.max_latency > ?", [Value::Real(l)]);
        }
        if let Some(s) = self.status {
            w.push(
                &format!("coalesce((SELECT m.status FROM conversation_marks m WHERE {MARK_JOIN}), 'new') = ?"),
                [Value::Text(s.as_str().to_string())],
            );
        }
        if let Some(f) = self.flagged {
            let not = if f { "" } else { "NOT " };
            w.push(
                &format!("{not}EXISTS (SELECT 1 FROM conversation_flags m WHERE {MARK_JOIN})"),
                [],
            );
        }
        if let Some(reason) = &self.handoff_reason {
            let reason = if reason == NO_REASON { "" } else { reason };
            w.push("c.handoff AND c.handoff_reason = ?", [Value::Text(reason.to_string())]);
        }
        if let Some((a, b)) = self.started {
            w.push(
                "c.started_at >= ? AND c.started_at < ?",
                [Value::Integer(a), Value::Integer(b)],
            );
        }
        if let Some((lo, hi)) = self.turn_latency {
            w.push(
                "EXISTS (SELECT 1 FROM turn_latencies t WHERE t.conv = c.pk AND t.latency >= ? AND t.latency < ?)",
                [Value::Real(lo), Value::Real(hi.unwrap_or(f64::INFINITY))],
            );
        }
        // The fields below are kept beside the cached JSON at upsert (schema v4): an indexed
        // column and the label table, so each is an index lookup rather than a JSON scan.
        if let Some(n) = self.poly_score_below {
            w.push("c.poly_score < ?", [Value::Real(n)]);
        }
        if let Some(n) = self.poly_score_above {
            w.push("c.poly_score > ?", [Value::Real(n)]);
        }
        for (kind, v) in [
            (LabelKind::Tag, &self.tag),
            (LabelKind::Topic, &self.topic),
            (LabelKind::Function, &self.function),
        ] {
            if let Some(v) = v {
                // `pk IN (…)`: the planner can start from the label's few conversations.
                w.push(
                    "c.pk IN (SELECT l.conv FROM conversation_labels l WHERE l.kind = ? AND l.label = ?)",
                    [Value::Integer(kind as i64), Value::Text(v.clone())],
                );
            }
        }
        if let Some(safety) = self.safety {
            let not = if safety { "" } else { "NOT " };
            w.push(
                &format!("c.pk {not}IN (SELECT l.conv FROM conversation_labels l WHERE l.kind = ?)"),
                [Value::Integer(LabelKind::Safety as i64)],
            );
        }
        compile_scores(self, w);
    }
}

pub(crate) const SCORE_JOIN: &str =
    "s.account = c.account AND s.project = c.project AND s.environment = c.environment AND s.id = c.id";

/// `qa<70`, `scored`, `unscored`, `scorecard:NAME`, `qa-answer:Q=A` over the saved scores (schema v7), with the
/// same meaning as `Filter::matches_scored`: `qa` bounds hold on one current score.
fn compile_scores(f: &Filter, w: &mut SqlWhere) {
    let (card, card_param) = match &f.scorecard {
        Some(n) => (" AND s.scorecard = ?", vec![Value::Text(n.clone())]),
        None => ("", Vec::new()),
    };
    if let Some(scored) = f.wants_scored() {
        let not = if scored { "" } else { "NOT " };
        w.push(
            &format!("{not}EXISTS (SELECT 1 FROM scores s WHERE {SCORE_JOIN}{card})"),
            card_param.clone(),
        );
    }
    if let Some(a) = &f.qa_answer {
        // The answers of a hand-edited row of bad JSON are lost, as `Store::scores` reads it.
        let mut params = card_param.clone();
        params.push(Value::Text(format!("$.\"{}\".answer", a.question)));
        params.push(Value::Text(a.answer.clone()));
        w.push(
            &format!(
                "EXISTS (SELECT 1 FROM scores s WHERE {SCORE_JOIN}{card} AND {}
                 AND json_extract(CASE WHEN json_valid(s.answers) THEN s.answers END, ?) = ? COLLATE NOCASE)",
                super::scores::CURRENT
            ),
            params,
        );
    }
    if !f.qa.is_empty() {
        let bounds: String =
            f.qa.iter()
                .map(|b| format!(" AND s.score {} ?", b.op.symbol()))
                .collect();
        let mut params = card_param;
        params.extend(f.qa.iter().map(|b| Value::Real(b.value)));
        w.push(
            &format!(
                "EXISTS (SELECT 1 FROM scores s WHERE {SCORE_JOIN}{card} AND s.score IS NOT NULL{bounds} AND {})",
                super::scores::CURRENT
            ),
            params,
        );
    }
}

impl Compile for Scope {
    fn compile_into(&self, w: &mut SqlWhere) {
        let text = |v: &String| Value::Text(v.clone());
        match (&self.account, &self.project, &self.environment) {
            // The cache's keys start with the origin's numbers (schema v12), not these texts.
            (Some(a), Some(p), Some(e)) => w.push(super::origins::IN_ENVIRONMENT, [text(a), text(p), text(e)]),
            (Some(a), Some(p), None) => w.push(super::origins::IN_PROJECT, [text(a), text(p)]),
            _ => {
                for (col, v) in [
                    ("c.account = ?", &self.account),
                    ("c.project = ?", &self.project),
                    ("c.environment = ?", &self.environment),
                ] {
                    if let Some(v) = v {
                        w.push(col, [text(v)]);
                    }
                }
            }
        }
        if let Some(ms) = self.since_ms {
            w.push("c.started_at >= ?", [Value::Integer(ms)]);
        }
        if let Some(ms) = self.until_ms {
            w.push("c.started_at < ?", [Value::Integer(ms)]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ids `f` selects in SQL (through the store) and in memory (`keeps`), each sorted.
    fn both_paths(
        store: &crate::store::Store,
        scope: &Scope,
        f: &Filter,
        convs: &[crate::api::Conversation],
        keeps: impl Fn(&crate::api::Conversation) -> bool,
    ) -> (Vec<String>, Vec<String>) {
        let mut sql: Vec<String> = store
            .query_rows(scope, f, crate::store::ListOrder::NewestFirst, None, 100)
            .unwrap()
            .into_iter()
            .map(|r| r.key.id)
            .collect();
        let mut mem: Vec<String> = convs.iter().filter(|c| keeps(c)).map(|c| c.id.clone()).collect();
        sql.sort();
        mem.sort();
        (sql, mem)
    }

    /// The new words mean the same in SQL (over what upsert kept beside the JSON) and in memory, on the fixtures.
    #[test]
    fn real_api_words_agree_in_sql_and_in_memory() {
        use crate::api::{Conversation, ConversationPage};
        use crate::domain::{Origin, Scope};
        use crate::store::{ListOrder, Store};
        let mut convs: Vec<Conversation> =
            serde_json::from_str::<ConversationPage>(include_str!("../../tests/fixtures/real/list_v3_camel.json"))
                .unwrap()
                .conversations;
        convs.push(serde_json::from_str(include_str!("../../tests/fixtures/real/by_id_platform.json")).unwrap());
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let origin = Origin::new("ws-real", "PROJECT-real", "live");
        store.cache(&origin, &convs).unwrap();
        let scope = Scope::env("ws-real", "PROJECT-real", "live");
        for (text, want) in [
            ("polyscore<3", vec!["CAlist01"]),
            ("polyscore>3", vec!["CAlist03", "CA5f1e0c9a7b3d4e2f8a6b0c1d2e3f4a5b"]),
            ("tag:VIP", vec!["CAlist01", "CA5f1e0c9a7b3d4e2f8a6b0c1d2e3f4a5b"]),
            (
                "topic:\"refund policy\"",
                vec!["CAlist03", "CA5f1e0c9a7b3d4e2f8a6b0c1d2e3f4a5b"],
            ),
            ("function:issue_refund", vec!["CAlist03"]),
            (
                "function:transfer_to_billing",
                vec!["CA5f1e0c9a7b3d4e2f8a6b0c1d2e3f4a5b"],
            ),
            ("safety", vec!["CA5f1e0c9a7b3d4e2f8a6b0c1d2e3f4a5b"]),
            (
                "latency>1",
                vec!["CAlist01", "CAlist03", "CA5f1e0c9a7b3d4e2f8a6b0c1d2e3f4a5b"],
            ),
        ] {
            let f = Filter::parse(text).unwrap();
            let (sql, mem) = both_paths(&store, &scope, &f, &convs, |c| f.matches(c, None));
            let mut want: Vec<String> = want.into_iter().map(String::from).collect();
            want.sort();
            assert_eq!(sql, want, "SQL {text}");
            assert_eq!(mem, want, "memory {text}");
        }
        let n = store
            .query_rows(
                &scope,
                &Filter::parse("!safety").unwrap(),
                ListOrder::NewestFirst,
                None,
                100,
            )
            .unwrap()
            .len();
        assert_eq!(n, 5, "every row but the one where a filter fired");
    }

    /// The scorecard words mean the same in SQL (over the scores table) and in memory.
    #[test]
    fn qa_words_agree_in_sql_and_in_memory() {
        use crate::api::Conversation;
        use crate::domain::ScoreRecord;
        use crate::domain::{Origin, Scope};
        use crate::store::Store;
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let origin = Origin::new("ws", "p", "live");
        let convs: Vec<Conversation> = (1..=5)
            .map(|i| {
                serde_json::from_value(serde_json::json!({
                    "id": format!("CA{i}"), "channel": "VOICE-SIP",
                    "started_at": format!("2026-04-01T09:0{i}:00Z"),
                }))
                .unwrap()
            })
            .collect();
        store.cache(&origin, &convs).unwrap();
        let rec = |card: &str, who: &str, at: i64, score: Option<f64>| ScoreRecord {
            scorecard: card.into(),
            reviewer: who.into(),
            at_ms: at,
            answers: Default::default(),
            score,
            auto_failed: score == Some(0.0),
        };
        // CA1: ann 40 then 90 (current 90). CA2: ann 65, bob 95. CA3: quick 0 (auto-fail).
        // CA4: every answer n.a. (no score). CA5: never scored.
        let answered = |mut r: ScoreRecord, answers: &[(&str, &str)]| {
            for (q, a) in answers {
                let a = crate::domain::scores::ScoreAnswer {
                    answer: a.to_string(),
                    comment: String::new(),
                    turn: None,
                };
                r.answers.insert(q.to_string(), a);
            }
            r
        };
        // Answers: CA1's older save said greeting=no, its current one yes; CA2's ann said no
        // (bob yes); CA3's quick card said no to a question of the same id.
        let saves = [
            (
                "CA1",
                answered(rec("voice-qa", "ann", 1, Some(40.0)), &[("greeting", "no")]),
            ),
            (
                "CA1",
                answered(rec("voice-qa", "ann", 2, Some(90.0)), &[("greeting", "yes")]),
            ),
            (
                "CA2",
                answered(
                    rec("voice-qa", "ann", 3, Some(65.0)),
                    &[("greeting", "no"), ("resolution", "Partly")],
                ),
            ),
            (
                "CA2",
                answered(rec("voice-qa", "bob", 4, Some(95.0)), &[("greeting", "yes")]),
            ),
            (
                "CA3",
                answered(rec("quick", "ann", 5, Some(0.0)), &[("greeting", "no")]),
            ),
            ("CA4", rec("voice-qa", "ann", 6, None)),
        ];
        for (id, r) in &saves {
            store.save_score(&origin.key(*id), r).unwrap();
        }
        let scope = Scope::env("ws", "p", "live");
        for (text, want) in [
            ("qa<70", vec!["CA2", "CA3"]),
            ("qa<=65", vec!["CA2", "CA3"]),
            ("qa>=90", vec!["CA1", "CA2"]),
            ("qa>60 qa<70", vec!["CA2"]),
            ("qa=0", vec!["CA3"]),
            ("qa<50 scorecard:voice-qa", vec![]),
            ("scored", vec!["CA1", "CA2", "CA3", "CA4"]),
            ("unscored", vec!["CA5"]),
            ("scorecard:quick", vec!["CA3"]),
            ("unscored scorecard:quick", vec!["CA1", "CA2", "CA4", "CA5"]),
            ("voice qa<70", vec!["CA2", "CA3"]),
            ("qa-answer:greeting=no", vec!["CA2", "CA3"]),
            ("qa-answer:greeting=NO scorecard:voice-qa", vec!["CA2"]),
            ("qa-answer:greeting=yes", vec!["CA1", "CA2"]),
            ("qa-answer:resolution=partly", vec!["CA2"]),
            ("qa-answer:resolution=no", vec![]),
            ("qa-answer:closing=no", vec![]),
            ("qa-answer:greeting=no qa>=50", vec!["CA2"]),
        ] {
            let f = Filter::parse(text).unwrap();
            let (sql, mem) = both_paths(&store, &scope, &f, &convs, |c| {
                f.matches_scored(c, None, &store.scores(&origin.key(c.id.as_str())).unwrap())
            });
            assert_eq!(sql, want, "SQL {text}");
            assert_eq!(mem, want, "memory {text}");
        }
    }
}
