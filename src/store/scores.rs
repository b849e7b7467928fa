//! Saved scorecards in SQLite (schema v7): each save appends a row; the newest save (by time) of a
//! (conversation, scorecard, reviewer) is its current score.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, params};

use super::Store;
use super::error::{StoreError, StoreResult};
use crate::domain::ConversationKey;
use crate::domain::scores::{ScoreAnswer, ScoreRecord};
use crate::domain::{MarkField, Stamp};

/// `s` is the current row of its (conversation, scorecard, reviewer): the newest save by its
/// time (`at_ms`; the save order breaks ties), so a save imported from an older marks file does
/// not displace a newer one; for SQL over `scores s`.
pub(crate) const CURRENT: &str = "NOT EXISTS (SELECT 1 FROM scores n WHERE n.account = s.account
    AND n.project = s.project AND n.environment = s.environment AND n.id = s.id
    AND n.scorecard = s.scorecard AND n.reviewer = s.reviewer
    AND (n.at_ms > s.at_ms OR (n.at_ms = s.at_ms AND n.seq > s.seq)))";

/// A score as the marks history shows it.
fn shown(score: Option<f64>, auto_failed: bool) -> String {
    match (score, auto_failed) {
        (_, true) => "0 (auto-fail)".to_string(),
        (Some(s), false) => format!("{s:.0}"),
        (None, false) => "not scored".to_string(),
    }
}

/// The first row of `SELECT columns` over the saves of `record`'s (conversation, scorecard,
/// reviewer), `rest` narrowing or ordering them; `?7` in either is `record.at_ms`.
fn first_save<T>(
    conn: &Connection,
    columns: &str,
    rest: &str,
    key: &ConversationKey,
    record: &ScoreRecord,
    row: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> StoreResult<Option<T>> {
    let sql = format!(
        "SELECT {columns} FROM scores WHERE account = ?1 AND project = ?2 AND environment = ?3
         AND id = ?4 AND scorecard = ?5 AND reviewer = ?6 {rest} LIMIT 1"
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(
            params![
                key.account,
                key.project,
                key.environment,
                key.id,
                record.scorecard,
                record.reviewer,
                record.at_ms
            ],
            row,
        )
        .optional()?)
}

/// Appends `record` in the caller's transaction. The score's change joins the marks history
/// (field `score:CARD`, the reviewer's current score of that card before, this one after) when
/// the save becomes the current one; an older save (from a marks file) is kept without one.
fn insert_save(conn: &Connection, key: &ConversationKey, record: &ScoreRecord, recorded_at: i64) -> StoreResult<()> {
    record.validate().map_err(|e| StoreError::invalid(e.detail))?;
    let answers = serde_json::to_string(&record.answers).map_err(|e| StoreError::invalid(e.to_string()))?;
    // The reviewer's current score of this card, and whether it is newer than this save.
    let before = first_save(
        conn,
        "score, auto_failed, at_ms > ?7",
        "ORDER BY at_ms DESC, seq DESC",
        key,
        record,
        |r| Ok((shown(r.get(0)?, r.get(1)?), r.get::<_, bool>(2)?)),
    )?;
    conn.prepare_cached(
        "INSERT INTO scores (account, project, environment, id, scorecard, reviewer, at_ms, answers, score, auto_failed)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        key.account,
        key.project,
        key.environment,
        key.id,
        record.scorecard,
        record.reviewer,
        record.at_ms,
        answers,
        record.score,
        record.auto_failed
    ])?;
    if before.as_ref().is_some_and(|(_, newer)| *newer) {
        return Ok(());
    }
    let change = (
        MarkField::Score(record.scorecard.clone()),
        before.map(|(text, _)| text),
        Some(shown(record.score, record.auto_failed)),
    );
    let stamp = Stamp {
        reviewer: record.reviewer.clone(),
        at_ms: record.at_ms,
    };
    super::marks::append_history(conn, key, &[change], &stamp, recorded_at)
}

/// Adds `record` (a save from a marks file) unless the store has it already: the same
/// scorecard, reviewer and time. Whether it was added.
pub(crate) fn add_save(
    conn: &Connection,
    key: &ConversationKey,
    record: &ScoreRecord,
    recorded_at: i64,
) -> StoreResult<bool> {
    let present = first_save(conn, "1", "AND at_ms = ?7", key, record, |_| Ok(()))?.is_some();
    if present {
        return Ok(false);
    }
    insert_save(conn, key, record, recorded_at)?;
    Ok(true)
}

impl Store {
    /// Appends one save of a scorecard; refuses (with `InvalidInput`) a record out of limits.
    pub fn save_score(&mut self, key: &ConversationKey, record: &ScoreRecord) -> StoreResult<()> {
        self.save_score_then(key, record, |_| Ok(()))
    }

    /// [`save_score`](Self::save_score), with `then` run inside the same transaction (the
    /// team store's outbox entry).
    pub(crate) fn save_score_then(
        &mut self,
        key: &ConversationKey,
        record: &ScoreRecord,
        then: impl FnOnce(&Connection) -> StoreResult<()>,
    ) -> StoreResult<()> {
        let tx = self.write_tx()?;
        insert_save(&tx, key, record, super::now_ms())?;
        then(&tx)?;
        tx.commit()?;
        Ok(())
    }

    /// The ids of `origin`'s conversations with at least one save (for the plain export, which
    /// asks for each call's saves only when it has some).
    pub fn scored_ids(&self, origin: &crate::domain::Origin) -> StoreResult<std::collections::HashSet<String>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT DISTINCT id FROM scores WHERE account = ?1 AND project = ?2 AND environment = ?3",
        )?;
        let rows = stmt.query_map(params![origin.account, origin.project, origin.environment], |r| {
            r.get::<_, String>(0)
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every save for one conversation, oldest first by time (`domain::scores::current` picks the
    /// current ones).
    pub fn scores(&self, key: &ConversationKey) -> StoreResult<Vec<ScoreRecord>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT scorecard, reviewer, at_ms, answers, score, auto_failed FROM scores
             WHERE account = ?1 AND project = ?2 AND environment = ?3 AND id = ?4 ORDER BY at_ms, seq",
        )?;
        let rows = stmt.query_map(params![key.account, key.project, key.environment, key.id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<f64>>(4)?,
                r.get::<_, bool>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (scorecard, reviewer, at_ms, answers, score, auto_failed) = row?;
            // A row edited by hand into bad JSON keeps its score; only its answers are lost.
            let answers: BTreeMap<String, ScoreAnswer> = serde_json::from_str(&answers).unwrap_or_else(|e| {
                tracing::warn!("scores of {}: answers unreadable: {e}", key.id);
                BTreeMap::new()
            });
            out.push(ScoreRecord {
                scorecard,
                reviewer,
                at_ms,
                answers,
                score,
                auto_failed,
            });
        }
        Ok(out)
    }
}
