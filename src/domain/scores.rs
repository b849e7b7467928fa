//! Saved scorecard answers: one record per save (append-only), the current one of a
//! (conversation, scorecard, reviewer) being the newest. The answers are kept as the text a
//! scorecard reads back (`yes`, `3`, a choice label), so a record stays readable after its
//! form changed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Invalid;
use super::scorecard::{Answer, Outcome, Scorecard};

/// Longest comment on one answer, in bytes.
pub const MAX_COMMENT: usize = 4 * 1024;
/// Most answers in one record.
pub const MAX_ANSWERS: usize = 200;

/// Per question id: the comment and the cited turn of the answer.
pub type Notes = BTreeMap<String, (String, Option<u32>)>;

/// One question's answer in a saved record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreAnswer {
    /// As [`Answer::as_text`] writes it; empty for a question left unanswered that has a comment
    /// or a cited turn (the note is kept; the score does not count the question).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub answer: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
    /// The transcript turn (index) cited as evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn: Option<u32>,
}

/// One save of a scorecard for one conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreRecord {
    pub scorecard: String,
    pub reviewer: String,
    /// When it was saved, unix ms.
    pub at_ms: i64,
    /// By question id.
    pub answers: BTreeMap<String, ScoreAnswer>,
    /// 0–100; `None` when nothing was scorable (every answer n.a.).
    pub score: Option<f64>,
    pub auto_failed: bool,
}

impl ScoreRecord {
    /// A record of `answers` against `card`, its score computed by the card.
    pub fn of(
        card: &Scorecard,
        reviewer: &str,
        at_ms: i64,
        answers: &BTreeMap<String, Answer>,
        notes: &Notes,
    ) -> (ScoreRecord, Outcome) {
        let outcome = card.score(answers);
        let mut out: BTreeMap<String, ScoreAnswer> = answers
            .iter()
            .map(|(id, a)| {
                let (comment, turn) = notes.get(id).cloned().unwrap_or_default();
                (
                    id.clone(),
                    ScoreAnswer {
                        answer: a.as_text(),
                        comment,
                        turn,
                    },
                )
            })
            .collect();
        // A comment or cited turn on a question left unanswered is kept too; a blank comment
        // alone is nothing to keep (`validate` refuses such an entry, and with it the save).
        for (id, (comment, turn)) in notes {
            let noted = !comment.trim().is_empty() || turn.is_some();
            if !answers.contains_key(id) && card.question(id).is_some() && noted {
                out.insert(
                    id.clone(),
                    ScoreAnswer {
                        answer: String::new(),
                        comment: comment.clone(),
                        turn: *turn,
                    },
                );
            }
        }
        let answers = out;
        let record = ScoreRecord {
            scorecard: card.name.clone(),
            reviewer: reviewer.to_string(),
            at_ms,
            answers,
            score: outcome.score,
            auto_failed: !outcome.auto_failed.is_empty(),
        };
        (record, outcome)
    }

    /// The limits every store keeps: names printable and short, comments bounded, a score 0–100.
    pub fn validate(&self) -> Result<(), Invalid> {
        let name_ok = |s: &str| !s.trim().is_empty() && s.len() <= 200 && !s.chars().any(char::is_control);
        if !name_ok(&self.scorecard) || !name_ok(&self.reviewer) {
            return Err(Invalid::new(
                "a score needs a scorecard and reviewer name of 1–200 printable characters",
            ));
        }
        if self.answers.len() > MAX_ANSWERS {
            return Err(Invalid::new(format!("a score holds at most {MAX_ANSWERS} answers")));
        }
        for (id, a) in &self.answers {
            if !name_ok(id) || !(a.answer.is_empty() || name_ok(&a.answer)) {
                return Err(Invalid::new(format!("answer {id:?}: empty or unprintable")));
            }
            if a.answer.is_empty() && a.comment.trim().is_empty() && a.turn.is_none() {
                return Err(Invalid::new(format!(
                    "question {id:?}: no answer, comment or cited turn"
                )));
            }
            if a.comment.len() > MAX_COMMENT {
                return Err(Invalid::new(format!(
                    "the comment on {id} is longer than {MAX_COMMENT} bytes"
                )));
            }
        }
        if self.score.is_some_and(|s| !(0.0..=100.0).contains(&s)) {
            return Err(Invalid::new("a score is 0 to 100"));
        }
        Ok(())
    }

    /// Back to answers `card` reads (those it no longer knows are left out), with their notes.
    pub fn answers_for(&self, card: &Scorecard) -> (BTreeMap<String, Answer>, Notes) {
        let mut answers = BTreeMap::new();
        let mut notes = BTreeMap::new();
        for (id, a) in &self.answers {
            let Some(q) = card.question(id) else { continue };
            if !a.answer.is_empty()
                && let Ok(parsed) = q.parse_answer(&a.answer)
            {
                answers.insert(id.clone(), parsed);
            }
            if !a.comment.is_empty() || a.turn.is_some() {
                notes.insert(id.clone(), (a.comment.clone(), a.turn));
            }
        }
        (answers, notes)
    }
}

/// The current records: the newest of each (scorecard, reviewer), given records oldest first;
/// sorted by scorecard, then reviewer.
pub fn current(records: &[ScoreRecord]) -> Vec<&ScoreRecord> {
    let mut latest: BTreeMap<(&str, &str), &ScoreRecord> = BTreeMap::new();
    for r in records {
        latest.insert((r.scorecard.as_str(), r.reviewer.as_str()), r);
    }
    latest.into_values().collect()
}

/// `72.5`, `0 (auto-fail)`, `–` (nothing scorable).
pub fn score_text(score: Option<f64>, auto_failed: bool) -> String {
    match (score, auto_failed) {
        (Some(s), true) => format!("{} (auto-fail)", one_decimal(s)),
        (Some(s), false) => one_decimal(s),
        (None, _) => "–".into(),
    }
}

/// When a save was made, as the exports write it: `2026-11-01T10:00:00Z`.
pub fn saved_at_text(at_ms: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(at_ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// `72.5`, `100` (no trailing `.0`).
pub fn one_decimal(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r.fract() == 0.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(card: &str, who: &str, at: i64, score: Option<f64>) -> ScoreRecord {
        ScoreRecord {
            scorecard: card.into(),
            reviewer: who.into(),
            at_ms: at,
            answers: BTreeMap::new(),
            score,
            auto_failed: false,
        }
    }

    #[test]
    fn the_newest_save_of_each_card_and_reviewer_is_current() {
        let all = [
            rec("qa", "ann", 1, Some(50.0)),
            rec("qa", "bob", 2, Some(90.0)),
            rec("qa", "ann", 3, Some(70.0)),
            rec("other", "ann", 4, None),
        ];
        let cur: Vec<(&str, &str, Option<f64>)> = current(&all)
            .into_iter()
            .map(|r| (r.scorecard.as_str(), r.reviewer.as_str(), r.score))
            .collect();
        assert_eq!(
            cur,
            [
                ("other", "ann", None),
                ("qa", "ann", Some(70.0)),
                ("qa", "bob", Some(90.0))
            ]
        );
    }

    #[test]
    fn a_record_round_trips_through_its_card_and_checks_its_limits() {
        let card = &super::super::scorecard::all(&toml::Table::new()).unwrap()[0];
        let answers = card
            .parse_answers(["greeting=yes", "understood_request=4", "resolution=partly"])
            .unwrap();
        let notes = BTreeMap::from([("greeting".to_string(), ("warm".to_string(), Some(0)))]);
        let (r, outcome) = ScoreRecord::of(card, "ann", 5, &answers, &notes);
        assert_eq!(r.score, outcome.score);
        assert_eq!(r.answers["understood_request"].answer, "4");
        assert_eq!(r.answers["greeting"].turn, Some(0));
        assert_eq!(r.answers_for(card), (answers, notes));
        r.validate().unwrap();
        let mut bad = r.clone();
        bad.reviewer = "a\u{1b}[2J".into();
        assert!(bad.validate().is_err());
        let mut bad = r.clone();
        bad.score = Some(101.0);
        assert!(bad.validate().is_err());
        let mut bad = r;
        bad.answers.get_mut("greeting").unwrap().comment = "x".repeat(MAX_COMMENT + 1);
        assert!(bad.validate().unwrap_err().detail.contains("greeting"));
        assert_eq!(score_text(Some(72.46), false), "72.5");
    }

    #[test]
    fn a_note_on_an_unanswered_question_is_kept_without_counting() {
        let card = &super::super::scorecard::all(&toml::Table::new()).unwrap()[0];
        let answers = card.parse_answers(["greeting=yes", "resolution=resolved"]).unwrap();
        let notes = BTreeMap::from([
            ("closing".to_string(), ("cut off mid-sentence".to_string(), None)),
            ("latency_acceptable".to_string(), (String::new(), Some(3))),
            ("no_such_question".to_string(), ("dropped".to_string(), None)),
        ]);
        let (r, outcome) = ScoreRecord::of(card, "ann", 5, &answers, &notes);
        assert_eq!(r.score, card.score(&answers).score);
        assert_eq!(r.score, outcome.score);
        assert_eq!(r.answers["closing"].answer, "");
        assert_eq!(r.answers["closing"].comment, "cut off mid-sentence");
        assert_eq!(r.answers["latency_acceptable"].turn, Some(3));
        assert!(!r.answers.contains_key("no_such_question"));
        r.validate().unwrap();
        let json = serde_json::to_string(&r.answers["closing"]).unwrap();
        assert_eq!(json, r#"{"comment":"cut off mid-sentence"}"#);
        let (back, back_notes) = r.answers_for(card);
        assert_eq!(back, answers);
        assert_eq!(back_notes.len(), 2);
        let mut bad = r;
        bad.answers.get_mut("closing").unwrap().comment.clear();
        assert!(bad.validate().is_err(), "an entry with nothing in it");
        // A blank comment on an unanswered question (kept from an answered one whose answer was
        // then taken back) is dropped, so the save it is part of still validates.
        let blank = BTreeMap::from([("closing".to_string(), ("  ".to_string(), None))]);
        let (r, _) = ScoreRecord::of(card, "ann", 5, &answers, &blank);
        assert!(!r.answers.contains_key("closing"), "{:?}", r.answers);
        r.validate().unwrap();
        assert_eq!(score_text(Some(0.0), true), "0 (auto-fail)");
        assert_eq!(score_text(None, false), "–");
    }
}
