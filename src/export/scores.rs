//! Saved scorecards in the store exports (`export --reviewed/--flagged/--filter`): the current
//! save of each (scorecard, reviewer) of a call — its score, auto-fail and answers in JSONL,
//! score columns in CSV, a section in Markdown.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};

use super::csv_rows::Text;

use crate::domain::markdown::inline;
use crate::domain::scores::{ScoreRecord, current, one_decimal, score_text};

fn at_text(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
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
                    "at": at_text(r.at_ms),
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

/// `**Scorecards**` with each current save and its answers; empty for a call never scored.
pub fn markdown_section(records: &[ScoreRecord]) -> String {
    let cur = current(records);
    let mut md = String::new();
    if cur.is_empty() {
        return md;
    }
    let _ = writeln!(md, "\n**Scorecards**\n");
    for r in cur {
        let _ = writeln!(
            md,
            "- `{}` by {} at {}: **{}**",
            inline(&r.scorecard).replace('`', "'"),
            inline(&r.reviewer),
            at_text(r.at_ms),
            score_text(r.score, r.auto_failed)
        );
        for (id, a) in &r.answers {
            let answer = if a.answer.is_empty() {
                "unanswered"
            } else {
                a.answer.as_str()
            };
            let mut line = format!("  - {}: {}", inline(id), inline(answer));
            if let Some(t) = a.turn {
                let _ = write!(line, " (turn {})", t + 1);
            }
            if !a.comment.trim().is_empty() {
                let _ = write!(line, " — {}", inline(&a.comment));
            }
            let _ = writeln!(md, "{line}");
        }
    }
    md
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
