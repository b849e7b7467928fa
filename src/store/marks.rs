//! Review marks: a status, flag codes and a note per conversation; a 👍/👎 rating per turn.
//! Marks live in their own tables (keyed like the cache) so refreshing the cache never touches them.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, params};

use super::ReviewStore;
use super::Store;
use super::error::{StoreError, StoreResult};
use crate::domain::history::{self, MarkChange, MarkField, Side, Stamp};
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

/// Appends one row per changed field to the history (never updated or deleted). Caller holds
/// the transaction that changes the marks, so marks and history commit together.
pub(crate) fn append_history(
    conn: &Connection,
    key: &ConversationKey,
    changes: &[history::FieldChange],
    stamp: &Stamp,
    recorded_at: i64,
) -> StoreResult<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let kp = key_params(key);
    let mut insert = conn.prepare_cached(
        "INSERT INTO mark_history (account, project, environment, id, field, before, after, reviewer, at_ms, recorded_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    for (field, before, after) in changes {
        insert.execute(params![
            kp[0],
            kp[1],
            kp[2],
            kp[3],
            field.as_key(),
            before,
            after,
            stamp.reviewer,
            stamp.at_ms,
            recorded_at
        ])?;
    }
    Ok(())
}

/// Every recorded change of `key`, newest first (ties: the later written first).
pub(crate) fn load_history(conn: &Connection, key: &ConversationKey) -> StoreResult<Vec<MarkChange>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT field, before, after, reviewer, at_ms FROM mark_history WHERE {KEY_WHERE} ORDER BY at_ms DESC, seq DESC"
    ))?;
    let rows = stmt.query_map(key_params(key), |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, Option<String>>(1)?,
            r.get::<_, Option<String>>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, i64>(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (field, before, after, reviewer, at_ms) = row?;
        out.push(MarkChange {
            field: MarkField::parse(&field).map_err(StoreError::invalid)?,
            before,
            after,
            reviewer,
            at_ms,
        });
    }
    Ok(out)
}

/// The latest change of each field of `key` that has one.
pub(crate) fn load_stamps(conn: &Connection, key: &ConversationKey) -> StoreResult<BTreeMap<MarkField, Stamp>> {
    let mut out = BTreeMap::new();
    // Oldest first: a later change of a field replaces the earlier.
    for c in load_history(conn, key)?.into_iter().rev() {
        out.insert(c.field.clone(), c.stamp());
    }
    Ok(out)
}

/// `key`'s fields as one side of a merge: the current value with its latest change. A value with
/// no recorded change (should not happen after v6's backfill) counts as unknown, at time 0.
pub(crate) fn local_sides(conn: &Connection, key: &ConversationKey) -> StoreResult<(Marks, BTreeMap<MarkField, Side>)> {
    let marks = load(conn, key)?;
    let mut values = history::fields(&marks);
    let mut sides = BTreeMap::new();
    for (field, stamp) in load_stamps(conn, key)? {
        let value = values.remove(&field);
        sides.insert(field, Side { value, stamp });
    }
    for (field, value) in values {
        let stamp = Stamp {
            reviewer: history::UNKNOWN_REVIEWER.into(),
            at_ms: 0,
        };
        sides.insert(
            field,
            Side {
                value: Some(value),
                stamp,
            },
        );
    }
    Ok((marks, sides))
}

impl Store {
    /// Who mark changes through this store are recorded as.
    pub fn reviewer(&self) -> &str {
        &self.reviewer
    }

    /// Records this store's later mark changes as `reviewer`'s (e.g. from `team::reviewer`).
    pub fn set_reviewer(&mut self, reviewer: &str) {
        self.reviewer = reviewer.to_string();
    }

    /// Every recorded change of one conversation's marks, newest first.
    pub fn history(&self, key: &ConversationKey) -> StoreResult<Vec<MarkChange>> {
        load_history(self.conn(), key)
    }

    /// Who made the latest change of each field of one conversation's marks, and when.
    pub fn stamps(&self, key: &ConversationKey) -> StoreResult<BTreeMap<MarkField, Stamp>> {
        load_stamps(self.conn(), key)
    }

    /// The marks of one conversation (defaults — status new, nothing flagged — when none were recorded).
    pub fn marks(&self, key: &ConversationKey) -> StoreResult<Marks> {
        load(self.conn(), key)
    }

    /// Reads, changes and writes back one conversation's marks in one transaction.
    pub fn update_marks(&mut self, key: &ConversationKey, change: impl FnOnce(&mut Marks)) -> StoreResult<Marks> {
        self.update_marks_then(key, change, |_, _, _| Ok(()))
    }

    /// [`update_marks`](Self::update_marks), with `then` run on the changed fields inside the
    /// same transaction (the team store queues them for the team database there).
    pub(crate) fn update_marks_then(
        &mut self,
        key: &ConversationKey,
        change: impl FnOnce(&mut Marks),
        then: impl FnOnce(&Connection, &[history::FieldChange], &Stamp) -> StoreResult<()>,
    ) -> StoreResult<Marks> {
        let reviewer = self.reviewer.clone();
        let tx = self.write_tx()?;
        let before = load(&tx, key)?;
        let mut marks = before.clone();
        change(&mut marks);
        validate(&marks).map_err(StoreError::invalid)?;
        let changes = history::diff(&before, &marks);
        if !changes.is_empty() {
            let now = super::now_ms();
            replace(&tx, key, &marks, now)?;
            let stamp = Stamp { reviewer, at_ms: now };
            append_history(&tx, key, &changes, &stamp, now)?;
            then(&tx, &changes, &stamp)?;
        }
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
