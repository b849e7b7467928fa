//! Versioned schema migrations (`PRAGMA user_version`), each in its own transaction.

use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::cache;
use super::error::{StoreError, StoreErrorKind, StoreResult};
use super::schema;

/// The schema version this build writes.
pub const CURRENT_VERSION: i64 = 4;

pub fn schema_version(conn: &Connection) -> StoreResult<i64> {
    Ok(conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
}

/// Brings the database to `CURRENT_VERSION`. A failed step rolls back and leaves the previous version intact.
pub fn migrate(conn: &mut Connection) -> StoreResult<()> {
    let found = schema_version(conn)?;
    if found > CURRENT_VERSION {
        return Err(StoreError::new(
            StoreErrorKind::NewerSchema,
            format!("schema version {found}, this build knows up to {CURRENT_VERSION}"),
        ));
    }
    for target in found + 1..=CURRENT_VERSION {
        // IMMEDIATE takes the write lock up front, so two processes opening a fresh store at once
        // serialize here; the loser re-reads the version and skips what the winner did.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if schema_version(&tx)? >= target {
            continue;
        }
        step(&tx, target)?;
        tx.pragma_update(None, "user_version", target)?;
        tx.commit()?;
    }
    Ok(())
}

fn step(tx: &Transaction, target: i64) -> StoreResult<()> {
    match target {
        1 => Ok(tx.execute_batch(schema::V1)?),
        2 => {
            tx.execute_batch(schema::V2)?;
            backfill_transcripts(tx)
        }
        3 => Ok(tx.execute_batch(schema::V3)?),
        4 => Ok(tx.execute_batch(schema::V4)?),
        other => unreachable!("no migration to version {other}"),
    }
}

/// v2 derives columns and the search index from the cached JSON. A row whose JSON no longer parses
/// keeps its defaults (it is only a cache) instead of blocking the upgrade.
/// It also renumbers pks to follow start time (see `cache::allocate_pk`); nothing referenced them in v1.
fn backfill_transcripts(tx: &Transaction) -> StoreResult<()> {
    let mut old = Vec::new();
    {
        let mut stmt = tx.prepare("SELECT pk, started_at FROM conversations ORDER BY started_at, pk")?;
        let mut q = stmt.query([])?;
        while let Some(r) = q.next()? {
            old.push((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?));
        }
    }
    // Park the old keys below zero so the new ones never collide with them.
    tx.execute("UPDATE conversations SET pk = -pk - 1", [])?;
    for (pk, started) in old {
        let new_pk = cache::allocate_pk(tx, started)?;
        tx.execute(
            "UPDATE conversations SET pk = ?1 WHERE pk = ?2",
            rusqlite::params![new_pk, -pk - 1],
        )?;
    }
    let mut rows = Vec::new();
    {
        let mut stmt = tx.prepare("SELECT pk, wire FROM conversations")?;
        let mut q = stmt.query([])?;
        while let Some(r) = q.next()? {
            let pk: i64 = r.get(0)?;
            let wire: String = r.get(1)?;
            if let Ok(c) = serde_json::from_str::<crate::api::Conversation>(&wire) {
                rows.push((pk, c));
            }
        }
    }
    for (pk, c) in rows {
        let derived = cache::Derived::of(&c);
        tx.execute(
            "UPDATE conversations SET has_transcript = ?2, transcript_hidden = ?3, max_latency = ?4 WHERE pk = ?1",
            rusqlite::params![
                pk,
                derived.has_transcript,
                derived.transcript_hidden,
                derived.max_latency
            ],
        )?;
        if derived.has_transcript {
            cache::index_transcript(tx, pk, &c)?;
        }
    }
    Ok(())
}
