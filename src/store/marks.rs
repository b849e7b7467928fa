//! Review marks: a status, flag codes and a note per conversation; a 👍/👎 rating per turn.
//! Marks live in their own tables (keyed like the cache) so refreshing the cache never touches them.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::error::{StoreError, StoreResult};
use super::{ConversationKey, Store};

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
    fn to_db(self) -> i64 {
        match self {
            Thumbs::Up => 1,
            Thumbs::Down => -1,
        }
    }

    fn from_db(v: i64) -> Thumbs {
        if v > 0 { Thumbs::Up } else { Thumbs::Down }
    }

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

pub(crate) fn check_flag_code(code: &str) -> Result<(), String> {
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

pub(crate) fn check_text(what: &str, text: &str) -> Result<(), String> {
    if text.len() > MAX_TEXT_LEN {
        return Err(format!("{what} is longer than {MAX_TEXT_LEN} bytes"));
    }
    Ok(())
}

const KEY_WHERE: &str = "account = ?1 AND project = ?2 AND environment = ?3 AND id = ?4";

fn key_params(k: &ConversationKey) -> [&str; 4] {
    [&k.account, &k.project, &k.environment, &k.id]
}

pub(crate) fn load(conn: &Connection, key: &ConversationKey) -> StoreResult<Marks> {
    let kp = key_params(key);
    let mut marks = Marks::default();
    if let Some((status, note)) = conn
        .prepare_cached(&format!(
            "SELECT status, note FROM conversation_marks WHERE {KEY_WHERE}"
        ))?
        .query_row(kp, |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .optional()?
    {
        marks.status = ReviewStatus::parse(&status).map_err(StoreError::invalid)?;
        marks.note = note;
    }
    let mut flags = conn.prepare_cached(&format!("SELECT code FROM conversation_flags WHERE {KEY_WHERE}"))?;
    for code in flags.query_map(kp, |r| r.get::<_, String>(0))? {
        marks.flags.insert(code?);
    }
    let mut turns = conn.prepare_cached(&format!(
        "SELECT turn, thumbs, reason, comment FROM turn_ratings WHERE {KEY_WHERE}"
    ))?;
    let rows = turns.query_map(kp, |r| {
        Ok((
            r.get::<_, u32>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, Option<String>>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    for row in rows {
        let (turn, thumbs, reason, comment) = row?;
        marks.turns.insert(
            turn,
            TurnRating {
                thumbs: Thumbs::from_db(thumbs),
                reason: reason.as_deref().and_then(RatingReason::parse),
                comment,
            },
        );
    }
    Ok(marks)
}

/// Replaces all marks of `key` with `marks` (deleting them when `marks` is empty). Caller holds a transaction.
pub(crate) fn replace(conn: &Connection, key: &ConversationKey, marks: &Marks, now_ms: i64) -> StoreResult<()> {
    let kp = key_params(key);
    for table in ["conversation_marks", "conversation_flags", "turn_ratings"] {
        conn.prepare_cached(&format!("DELETE FROM {table} WHERE {KEY_WHERE}"))?
            .execute(kp)?;
    }
    if marks.is_empty() {
        return Ok(());
    }
    conn.prepare_cached(
        "INSERT INTO conversation_marks (account, project, environment, id, status, note, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        kp[0],
        kp[1],
        kp[2],
        kp[3],
        marks.status.as_str(),
        marks.note,
        now_ms
    ])?;
    let mut flag = conn.prepare_cached(
        "INSERT INTO conversation_flags (account, project, environment, id, code) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for code in &marks.flags {
        flag.execute(params![kp[0], kp[1], kp[2], kp[3], code])?;
    }
    let mut rating = conn.prepare_cached(
        "INSERT INTO turn_ratings (account, project, environment, id, turn, thumbs, reason, comment)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for (turn, r) in &marks.turns {
        rating.execute(params![
            kp[0],
            kp[1],
            kp[2],
            kp[3],
            turn,
            r.thumbs.to_db(),
            r.reason.map(RatingReason::as_str),
            r.comment
        ])?;
    }
    Ok(())
}

pub(crate) fn validate(marks: &Marks) -> Result<(), String> {
    for code in &marks.flags {
        check_flag_code(code)?;
    }
    check_text("note", &marks.note)?;
    for (turn, r) in &marks.turns {
        check_text(&format!("turn {turn} comment"), &r.comment)?;
    }
    Ok(())
}

impl Store {
    /// The marks of one conversation (defaults — status new, nothing flagged — when none were recorded).
    pub fn marks(&self, key: &ConversationKey) -> StoreResult<Marks> {
        load(self.conn(), key)
    }

    /// Reads, changes and writes back one conversation's marks in one transaction.
    pub fn update_marks(&mut self, key: &ConversationKey, change: impl FnOnce(&mut Marks)) -> StoreResult<Marks> {
        let tx = self.write_tx()?;
        let mut marks = load(&tx, key)?;
        change(&mut marks);
        validate(&marks).map_err(StoreError::invalid)?;
        replace(&tx, key, &marks, super::now_ms())?;
        tx.commit()?;
        Ok(marks)
    }

    pub fn set_marks(&mut self, key: &ConversationKey, marks: &Marks) -> StoreResult<()> {
        self.update_marks(key, |m| *m = marks.clone()).map(drop)
    }

    pub fn set_status(&mut self, key: &ConversationKey, status: ReviewStatus) -> StoreResult<()> {
        self.update_marks(key, |m| m.status = status).map(drop)
    }

    pub fn set_note(&mut self, key: &ConversationKey, note: &str) -> StoreResult<()> {
        self.update_marks(key, |m| m.note = note.to_string()).map(drop)
    }

    /// Adds the flag code, or removes it when already set; returns whether it is now set.
    pub fn toggle_flag(&mut self, key: &ConversationKey, code: &str) -> StoreResult<bool> {
        check_flag_code(code).map_err(StoreError::invalid)?;
        let marks = self.update_marks(key, |m| {
            if !m.flags.remove(code) {
                m.flags.insert(code.to_string());
            }
        })?;
        Ok(marks.flags.contains(code))
    }

    /// Sets (or with `None` clears) the rating of one turn.
    pub fn rate_turn(&mut self, key: &ConversationKey, turn: u32, rating: Option<TurnRating>) -> StoreResult<()> {
        self.update_marks(key, |m| match rating {
            Some(r) => {
                m.turns.insert(turn, r);
            }
            None => {
                m.turns.remove(&turn);
            }
        })
        .map(drop)
    }
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
