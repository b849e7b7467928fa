//! Review marks: a status, flag codes and a note per conversation; a 👍/👎 rating per turn.
//! Marks live in their own tables (keyed like the cache) so refreshing the cache never touches them.

use rusqlite::{Connection, OptionalExtension, params};

use super::ReviewStore;
use super::Store;
use super::error::{StoreError, StoreResult};
use crate::domain::marks::validate;
use crate::domain::{ConversationKey, Marks, RatingReason, ReviewStatus, Thumbs, TurnRating};

/// How a rating is stored: 1 for 👍, -1 for 👎.
fn thumbs_to_db(t: Thumbs) -> i64 {
    match t {
        Thumbs::Up => 1,
        Thumbs::Down => -1,
    }
}

fn thumbs_from_db(v: i64) -> Thumbs {
    if v > 0 { Thumbs::Up } else { Thumbs::Down }
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
                thumbs: thumbs_from_db(thumbs),
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
            thumbs_to_db(r.thumbs),
            r.reason.map(RatingReason::as_str),
            r.comment
        ])?;
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

    // The rest are the review side's shared steps (`ReviewStore`), here so callers holding a
    // `Store` need not import the trait.
    pub fn set_marks(&mut self, key: &ConversationKey, marks: &Marks) -> StoreResult<()> {
        ReviewStore::set_marks(self, key, marks)
    }

    pub fn set_status(&mut self, key: &ConversationKey, status: ReviewStatus) -> StoreResult<()> {
        ReviewStore::set_status(self, key, status)
    }

    pub fn set_note(&mut self, key: &ConversationKey, note: &str) -> StoreResult<()> {
        ReviewStore::set_note(self, key, note)
    }

    /// Adds the flag code, or removes it when already set; returns whether it is now set.
    pub fn toggle_flag(&mut self, key: &ConversationKey, code: &str) -> StoreResult<bool> {
        ReviewStore::toggle_flag(self, key, code)
    }

    /// Sets (or with `None` clears) the rating of one turn.
    pub fn rate_turn(&mut self, key: &ConversationKey, turn: u32, rating: Option<TurnRating>) -> StoreResult<()> {
        ReviewStore::rate_turn(self, key, turn, rating)
    }
}
