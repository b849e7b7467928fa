//! Saved scorecards in the store exports (`export --reviewed/--flagged/--filter`): the current
//! save of each (scorecard, reviewer) of a call — its score, auto-fail and answers in JSONL,
//! score columns in CSV, a section in Markdown.

use serde::Serialize;
use serde_json::{Value, json};

use super::csv_rows::Text;

use std::collections::HashSet;
use std::path::Path;
use std::sync::Mutex;

use crate::domain::{ConversationKey, Origin};
use crate::store::Store;

use crate::domain::scores::{ScoreRecord, current, one_decimal, saved_at_text};

/// The local store's saved scores for a plain (API) export: the ids of the scored calls are read
/// up front (only ids, so memory stays small however long the window), and a call's saves when
/// it is written.
pub struct StoreScores {
    store: Mutex<Store>,
    origin: Origin,
    ids: HashSet<String>,
}

impl StoreScores {
    /// `Ok(None)` when there is no store at `path` or it holds no score of `origin`'s calls.
    pub fn open(path: &Path, origin: Origin) -> Result<Option<StoreScores>, String> {
        if !path.exists() {
            return Ok(None);
        }
        let store = Store::open_read_only(path).map_err(|e| format!("{}: {}", e.headline(), e.hint()))?;
        let ids = store
            .scored_ids(&origin)
            .map_err(|e| format!("{}: {}", e.headline(), e.hint()))?;
        Ok((!ids.is_empty()).then(|| StoreScores {
            store: Mutex::new(store),
            origin,
            ids,
        }))
    }

    /// Every save of call `id`, oldest first; none for a call never scored (or a store error,
    /// logged: the export goes on without that call's scores).
    pub fn of(&self, id: &str) -> Vec<ScoreRecord> {
        if !self.ids.contains(id) {
            return Vec::new();
        }
        let key: ConversationKey = self.origin.key(id);
        let store = match self.store.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        store.scores(&key).unwrap_or_else(|e| {
            tracing::warn!("scores of {id} not exported: {}", e.headline());
            Vec::new()
        })
    }
}

/// A raw JSONL record (an object exactly as the API sent it) with a `scores` member appended,
/// every byte before it kept.
pub fn with_scores_member(raw: &str, records: &[ScoreRecord]) -> String {
    let text = raw.trim_end();
    let Some(body) = text.strip_suffix('}') else {
        return raw.to_string();
    };
    let body = body.trim_end();
    let sep = if body.ends_with('{') { "" } else { "," };
    format!("{body}{sep}\"scores\":{}}}", scores_json(records))
}

/// The `scores` array of a JSONL line: one object per current save, by scorecard then reviewer.
pub fn scores_json(records: &[ScoreRecord]) -> Value {
    Value::Array(
        current(records)
            .into_iter()
            .map(|r| {
                json!({
                    "scorecard": r.scorecard,
                    "reviewer": r.reviewer,
                    "at": saved_at_text(r.at_ms),
                    "score": r.score,
                    "auto_failed": r.auto_failed,
                    "answers": r.answers,
                })
            })
            .collect(),
    )
}

/// The CSV columns after the review ones. `qa_score`: the lowest current score (what `qa<N`
/// tests against, any of them); `qa_auto_failed`: whether a current save auto-failed;
/// `qa_scores`: every current save, `card/reviewer=score;…`. Empty cells for a call never scored.
#[derive(Debug, Default, Serialize)]
pub struct ScoreCells {
    qa_score: String,
    qa_auto_failed: String,
    qa_scores: Text<'static>,
}

impl ScoreCells {
    pub fn new(records: &[ScoreRecord]) -> ScoreCells {
        let cur = current(records);
        if cur.is_empty() {
            return ScoreCells::default();
        }
        let lowest = cur
            .iter()
            .filter_map(|r| r.score)
            .min_by(f64::total_cmp)
            .map(one_decimal)
            .unwrap_or_default();
        let failed = cur.iter().any(|r| r.auto_failed);
        let all: Vec<String> = cur
            .iter()
            .map(|r| {
                format!(
                    "{}/{}={}",
                    r.scorecard,
                    r.reviewer,
                    r.score.map(one_decimal).unwrap_or_default()
                )
            })
            .collect();
        ScoreCells {
            qa_score: lowest,
            qa_auto_failed: failed.to_string(),
            qa_scores: all.join(";").into(),
        }
    }
}

/// `**Scorecards**` with each current save and its answers; empty for a call never scored
/// (the one rendering, [`crate::domain::markdown::scores_section`]).
pub fn markdown_section(records: &[ScoreRecord]) -> String {
    crate::domain::markdown::scores_section(records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ScoreAnswer;

    fn rec(who: &str, at: i64, score: Option<f64>, auto_failed: bool) -> ScoreRecord {
        ScoreRecord {
            scorecard: "voice-qa".into(),
            reviewer: who.into(),
            at_ms: at,
            answers: [(
                "greeting".to_string(),
                ScoreAnswer {
                    answer: "no".into(),
                    comment: "said <b>nothing</b>\u{1b}[2J".into(),
                    turn: Some(0),
                },
            )]
            .into(),
            score,
            auto_failed,
        }
    }

    #[test]
    fn only_current_saves_are_exported_in_each_format() {
        let all = [
            rec("ann", 1_000, Some(40.0), false),
            rec("bob", 2_000, Some(0.0), true),
            rec("ann", 3_000, Some(81.25), false),
        ];
        let j = scores_json(&all);
        assert_eq!(j.as_array().unwrap().len(), 2);
        assert_eq!(
            (j[0]["reviewer"].as_str(), j[0]["score"].as_f64()),
            (Some("ann"), Some(81.25))
        );
        assert_eq!(j[0]["at"], "1970-01-01T00:00:03Z");
        assert_eq!(j[1]["auto_failed"], true);
        assert_eq!(j[0]["answers"]["greeting"]["turn"], 0);
        let cells = |r: &[ScoreRecord]| {
            let mut out = Vec::new();
            super::super::csv_rows::write_rows(&mut out, [(0, ScoreCells::new(r))]).unwrap();
            String::from_utf8(out).unwrap()
        };
        assert_eq!(cells(&all), "0,0,true,voice-qa/ann=81.3;voice-qa/bob=0\n");
        assert_eq!(cells(&[]), "0,,,\n");
        let md = markdown_section(&all);
        assert!(
            md.contains("- `voice-qa` by ann at 1970-01-01T00:00:03Z: **81.3**"),
            "{md}"
        );
        assert!(md.contains("by bob at 1970-01-01T00:00:02Z: **0 (auto-fail)**"), "{md}");
        assert!(
            md.contains("  - greeting: no (turn 1) — said &lt;b>nothing&lt;/b>␛\n"),
            "{md}"
        );
        assert!(!md.contains('\u{1b}'));
        assert_eq!(markdown_section(&[]), "");
    }
}
