//! The team store's local side (schema v10): changes wait in `team_outbox` until the team
//! database has them, and teammates' changes read from there are applied here by the domain's
//! merge rule. A change enters the outbox in the transaction that makes it locally, so nothing
//! is lost between the two; its id there is `ORIGIN:SEQ` (this store's random origin and the
//! outbox row), so sending it again after a lost acknowledgement is recognised as the same change.

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::Store;
use super::error::{StoreError, StoreResult};
use super::marks;
use crate::domain::history::{self, FieldChange, FieldMerge, MarkChange, Side, Stamp};
use crate::domain::{ConversationKey, Marks, ScoreRecord};

/// One change waiting for the team database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OutboxItem {
    Mark {
        field: String,
        before: Option<String>,
        after: Option<String>,
        reviewer: String,
        at_ms: i64,
    },
    Score(ScoreRecord),
}

/// A queued change with its conversation and its id in the team database.
#[derive(Debug, Clone, PartialEq)]
pub struct Queued {
    pub seq: i64,
    pub change_id: String,
    pub key: ConversationKey,
    pub item: OutboxItem,
}

fn enqueue(tx: &Connection, key: &ConversationKey, item: &OutboxItem) -> StoreResult<()> {
    let json = serde_json::to_string(item).map_err(|e| StoreError::invalid(e.to_string()))?;
    tx.prepare_cached("INSERT INTO team_outbox (account, project, environment, id, item) VALUES (?1, ?2, ?3, ?4, ?5)")?
        .execute(params![key.account, key.project, key.environment, key.id, json])?;
    Ok(())
}

fn enqueue_fields(tx: &Connection, key: &ConversationKey, changes: &[FieldChange], stamp: &Stamp) -> StoreResult<()> {
    for (field, before, after) in changes {
        let item = OutboxItem::Mark {
            field: field.as_key(),
            before: before.clone(),
            after: after.clone(),
            reviewer: stamp.reviewer.clone(),
            at_ms: stamp.at_ms,
        };
        enqueue(tx, key, &item)?;
    }
    Ok(())
}

fn meta(conn: &Connection, name: &str) -> StoreResult<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT value FROM team_meta WHERE name = ?1")?
        .query_row([name], |r| r.get(0))
        .optional()?)
}

fn set_meta(conn: &Connection, name: &str, value: &str) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO team_meta (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET value = ?2",
    )?
    .execute([name, value])?;
    Ok(())
}

/// A teammate's change of a mark field, as read from the team database.
#[derive(Debug, Clone)]
pub struct TeamChange {
    pub key: ConversationKey,
    pub change: MarkChange,
}

impl Store {
    /// This store's id in the team database (set when v10 created the outbox).
    pub fn team_origin(&self) -> StoreResult<String> {
        meta(self.conn(), "origin")?.ok_or_else(|| StoreError::invalid("the store has no team origin (schema v10)"))
    }

    /// As [`update_marks`](Store::update_marks), queueing each changed field for the team database.
    pub fn update_marks_queued(
        &mut self,
        key: &ConversationKey,
        change: impl FnOnce(&mut Marks),
    ) -> StoreResult<Marks> {
        self.update_marks_then(key, change, |tx, changes, stamp| {
            enqueue_fields(tx, key, changes, stamp)
        })
    }

    /// As [`save_score`](Store::save_score), queueing the save for the team database.
    pub fn save_score_queued(&mut self, key: &ConversationKey, record: &ScoreRecord) -> StoreResult<()> {
        self.save_score_then(key, record, |tx| enqueue(tx, key, &OutboxItem::Score(record.clone())))
    }

    /// Queues changes already made here (an import's taken fields and the scorecard saves it
    /// added) for the team database, in one transaction.
    pub fn queue_changes(
        &mut self,
        changes: &[(ConversationKey, FieldChange, Stamp)],
        scores: &[(ConversationKey, ScoreRecord)],
    ) -> StoreResult<()> {
        let tx = self.write_tx()?;
        for (key, change, stamp) in changes {
            enqueue_fields(&tx, key, std::slice::from_ref(change), stamp)?;
        }
        for (key, record) in scores {
            enqueue(&tx, key, &OutboxItem::Score(record.clone()))?;
        }
        tx.commit()?;
        Ok(())
    }

    /// How many changes wait for the team database.
    pub fn outbox_len(&self) -> StoreResult<u64> {
        Ok(self
            .conn()
            .prepare_cached("SELECT count(*) FROM team_outbox")?
            .query_row([], |r| r.get::<_, i64>(0))? as u64)
    }

    /// The oldest `limit` waiting changes, in the order they were made.
    pub fn outbox_peek(&self, limit: usize) -> StoreResult<Vec<Queued>> {
        let origin = self.team_origin()?;
        let mut stmt = self.conn().prepare_cached(
            "SELECT seq, account, project, environment, id, item FROM team_outbox ORDER BY seq LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit as i64], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                ConversationKey::from_row(r, 1)?,
                r.get::<_, String>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, key, json) = row?;
            let item = serde_json::from_str(&json)
                .map_err(|e| StoreError::invalid(format!("outbox entry {seq} is unreadable: {e}")))?;
            out.push(Queued {
                seq,
                change_id: format!("{origin}:{seq}"),
                key,
                item,
            });
        }
        Ok(out)
    }

    /// Drops the waiting changes up to and including `seq` (the team database has them).
    pub fn outbox_sent(&mut self, up_to: i64) -> StoreResult<()> {
        self.conn()
            .prepare_cached("DELETE FROM team_outbox WHERE seq <= ?1")?
            .execute([up_to])?;
        Ok(())
    }

    /// How far teammates' changes were read from the team database `source` (`marks` or `scores` of a database).
    pub fn team_read_position(&self, source: &str) -> StoreResult<i64> {
        Ok(meta(self.conn(), &format!("read:{source}"))?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    /// Applies teammates' mark changes (in the team database's order) and scores, and records
    /// how far `source` was read, all in one transaction. A change is appended to the history as
    /// its author's; its value is taken when it wins by the domain's rule (newest change, ties by
    /// reviewer and value), so every reviewer ends with the same marks whatever the order of
    /// arrival. Returns the conversations whose marks or scores changed here.
    pub fn apply_team_changes(
        &mut self,
        changes: &[TeamChange],
        scores: &[(ConversationKey, ScoreRecord)],
        positions: &[(&str, i64)],
    ) -> StoreResult<Vec<ConversationKey>> {
        let tx = self.write_tx()?;
        let mut touched: Vec<ConversationKey> = Vec::new();
        let now = super::now_ms();
        for c in changes {
            let (mut current, sides) = marks::local_sides(&tx, &c.key)?;
            let incoming = Side {
                value: c.change.after.clone(),
                stamp: c.change.stamp(),
            };
            if history::incoming_wins(sides.get(&c.change.field), &incoming) == FieldMerge::Take {
                let before = current.clone();
                match history::set_field(&mut current, &c.change.field, incoming.value.as_deref())
                    .and_then(|()| crate::domain::marks::validate(&current).map_err(|e| e.to_string()))
                {
                    Ok(()) => {
                        marks::replace(&tx, &c.key, &current, now)?;
                        if before != current && !touched.contains(&c.key) {
                            touched.push(c.key.clone());
                        }
                    }
                    Err(e) => {
                        tracing::warn!("a teammate's change of {} is refused: {e}", c.change.field.label());
                        continue;
                    }
                }
            }
            let entry = (c.change.field.clone(), c.change.before.clone(), c.change.after.clone());
            marks::append_history(&tx, &c.key, &[entry], &c.change.stamp(), now)?;
        }
        for (key, record) in scores {
            if let Err(e) = record.validate() {
                tracing::warn!("a teammate's score is refused: {}", e.detail);
                continue;
            }
            // A save this store has already (the same card, reviewer and time) is not added twice.
            if super::scores::add_save(&tx, key, record, now)? && !touched.contains(key) {
                touched.push(key.clone());
            }
        }
        for (source, position) in positions {
            set_meta(&tx, &format!("read:{source}"), &position.to_string())?;
        }
        tx.commit()?;
        Ok(touched)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{MarkField, Origin, ReviewStatus};

    #[test]
    fn queued_changes_keep_their_order_and_leave_once_sent() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        store.set_reviewer("ann");
        let key = Origin::new("ws", "p", "live").key("CA1");
        store
            .update_marks_queued(&key, |m| m.status = ReviewStatus::Reviewed)
            .unwrap();
        store.update_marks_queued(&key, |m| m.note = "n".into()).unwrap();
        store.update_marks_queued(&key, |m| m.note = "n".into()).unwrap();
        let queued = store.outbox_peek(10).unwrap();
        let fields: Vec<_> = queued
            .iter()
            .map(|q| match &q.item {
                OutboxItem::Mark { field, .. } => field.clone(),
                OutboxItem::Score(_) => String::new(),
            })
            .collect();
        assert_eq!(fields, ["status", "note"], "a change to the same value queues nothing");
        let origin = store.team_origin().unwrap();
        assert_eq!(origin.len(), 32);
        assert_eq!(queued[0].change_id, format!("{origin}:{}", queued[0].seq));
        store.outbox_sent(queued[0].seq).unwrap();
        assert_eq!(store.outbox_len().unwrap(), 1);
        // Sent rows' numbers are never handed out again (they are part of the change ids).
        store.outbox_sent(queued[1].seq).unwrap();
        store.update_marks_queued(&key, |m| m.note = "m".into()).unwrap();
        assert!(store.outbox_peek(1).unwrap()[0].seq > queued[1].seq);
        let other = Store::open(&dir.path().join("t.db")).unwrap();
        assert_ne!(other.team_origin().unwrap(), origin, "each store has its own origin");
    }

    #[test]
    fn teammates_changes_merge_by_the_newest_and_join_the_history() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        store.set_reviewer("ann");
        let key = Origin::new("ws", "p", "live").key("CA1");
        store.update_marks(&key, |m| m.note = "mine".into()).unwrap();
        let mine_at = store.history(&key).unwrap()[0].at_ms;
        let change = |field: MarkField, after: &str, at_ms: i64| TeamChange {
            key: key.clone(),
            change: MarkChange {
                field,
                before: None,
                after: Some(after.into()),
                reviewer: "bob".into(),
                at_ms,
            },
        };
        let touched = store
            .apply_team_changes(
                &[
                    change(MarkField::Note, "older", mine_at - 1),
                    change(MarkField::Flag("latency".into()), "set", mine_at - 1),
                ],
                &[],
                &[("marks@db", 7)],
            )
            .unwrap();
        assert_eq!(touched, std::slice::from_ref(&key));
        let m = store.marks(&key).unwrap();
        assert_eq!(m.note, "mine", "my newer note stays");
        assert!(m.flags.contains("latency"));
        assert_eq!(
            store.history(&key).unwrap().len(),
            3,
            "both of bob's changes are in the history"
        );
        assert_eq!(store.team_read_position("marks@db").unwrap(), 7);
        store
            .apply_team_changes(&[change(MarkField::Note, "newer", mine_at + 1)], &[], &[])
            .unwrap();
        assert_eq!(store.marks(&key).unwrap().note, "newer");
        assert_eq!(store.stamps(&key).unwrap()[&MarkField::Note].reviewer, "bob");
    }
}
