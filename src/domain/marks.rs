//! Review marks: a status, flag codes and a note per conversation; a 👍/👎 rating per turn, and
//! the limits a mark must keep. Stored by whichever review store is in use (`crate::store`).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    #[default]
    New,
    Reviewed,
    NeedsFollowUp,
}

impl ReviewStatus {
    pub const ALL: [ReviewStatus; 3] = [ReviewStatus::New, ReviewStatus::Reviewed, ReviewStatus::NeedsFollowUp];

    /// The stored and exported spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewStatus::New => "new",
            ReviewStatus::Reviewed => "reviewed",
            ReviewStatus::NeedsFollowUp => "needs_follow_up",
        }
    }

    /// The filter syntax's word for it.
    pub fn filter_word(self) -> &'static str {
        match self {
            ReviewStatus::New => "unreviewed",
            ReviewStatus::Reviewed => "reviewed",
            ReviewStatus::NeedsFollowUp => "follow-up",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ReviewStatus::New => "new",
            ReviewStatus::Reviewed => "reviewed",
            ReviewStatus::NeedsFollowUp => "needs follow-up",
        }
    }

    pub fn parse(s: &str) -> Result<ReviewStatus, String> {
        match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "new" | "unreviewed" => Ok(ReviewStatus::New),
            "reviewed" => Ok(ReviewStatus::Reviewed),
            "needs_follow_up" | "follow_up" | "followup" => Ok(ReviewStatus::NeedsFollowUp),
            _ => Err(format!(
                "unknown review status {s:?} (use new, reviewed or needs_follow_up)"
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Thumbs {
    Up,
    Down,
}

impl Thumbs {
    pub fn emoji(self) -> &'static str {
        match self {
            Thumbs::Up => "👍",
            Thumbs::Down => "👎",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RatingReason {
    WrongInformation,
    WrongTranscription,
    MissingIntent,
    Latency,
}

impl RatingReason {
    pub const ALL: [RatingReason; 4] = [
        RatingReason::WrongInformation,
        RatingReason::WrongTranscription,
        RatingReason::MissingIntent,
        RatingReason::Latency,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RatingReason::WrongInformation => "wrong_information",
            RatingReason::WrongTranscription => "wrong_transcription",
            RatingReason::MissingIntent => "missing_intent",
            RatingReason::Latency => "latency",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            RatingReason::WrongInformation => "wrong information",
            RatingReason::WrongTranscription => "wrong transcription",
            RatingReason::MissingIntent => "missing intent",
            RatingReason::Latency => "latency",
        }
    }

    pub fn parse(s: &str) -> Option<RatingReason> {
        RatingReason::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TurnRating {
    pub thumbs: Thumbs,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<RatingReason>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
}

/// Everything a reviewer recorded about one conversation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Marks {
    pub status: ReviewStatus,
    /// Free reason codes, e.g. `wrong_info`, `compliance`.
    pub flags: BTreeSet<String>,
    pub note: String,
    /// Turn index (as in `Conversation::turns`) → rating.
    pub turns: BTreeMap<u32, TurnRating>,
}

impl Marks {
    pub fn is_empty(&self) -> bool {
        *self == Marks::default()
    }

    pub fn is_flagged(&self) -> bool {
        !self.flags.is_empty()
    }
}

/// Limits that keep a shared marks file from smuggling in huge or invisible text.
const MAX_CODE_LEN: usize = 64;
const MAX_TEXT_LEN: usize = 64 * 1024;

pub fn check_flag_code(code: &str) -> Result<(), String> {
    if code.trim().is_empty() || code.trim() != code {
        return Err(format!(
            "flag code {code:?} must be non-empty without surrounding spaces"
        ));
    }
    if code.chars().count() > MAX_CODE_LEN || code.chars().any(char::is_control) {
        return Err(format!(
            "flag code {code:?} must be at most {MAX_CODE_LEN} printable characters"
        ));
    }
    Ok(())
}

pub fn check_text(what: &str, text: &str) -> Result<(), String> {
    if text.len() > MAX_TEXT_LEN {
        return Err(format!("{what} is longer than {MAX_TEXT_LEN} bytes"));
    }
    Ok(())
}

/// Every limit a set of marks must keep, checked before any store takes it.
pub fn validate(marks: &Marks) -> Result<(), String> {
    for code in &marks.flags {
        check_flag_code(code)?;
    }
    check_text("note", &marks.note)?;
    for (turn, r) in &marks.turns {
        check_text(&format!("turn {turn} comment"), &r.comment)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_words() {
        for s in ReviewStatus::ALL {
            assert_eq!(ReviewStatus::parse(s.as_str()), Ok(s));
            assert_eq!(ReviewStatus::parse(s.filter_word()), Ok(s));
        }
        assert!(ReviewStatus::parse("done").unwrap_err().contains("\"done\""));
    }

    #[test]
    fn flag_codes_are_checked() {
        assert!(check_flag_code("wrong_info").is_ok());
        assert!(check_flag_code("").is_err());
        assert!(check_flag_code(" x").is_err());
        assert!(check_flag_code("a\u{1b}b").is_err());
        assert!(check_flag_code(&"x".repeat(65)).is_err());
    }
}
