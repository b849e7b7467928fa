//! Versioned schema migrations (`PRAGMA user_version`), each in its own transaction.

use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::cache;
use super::error::{StoreError, StoreErrorKind, StoreResult};
use super::schema;

/// The schema version this build writes.
pub const CURRENT_VERSION: i64 = 6;

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
        4 => {
            tx.execute_batch(schema::V4)?;
            Ok(tx.execute_batch(schema::V4_BACKFILL)?)
        }
        5 => Ok(tx.execute_batch(schema::V5)?),
        6 => Ok(tx.execute_batch(schema::V6_STATS_HOURS)?),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Conversation;
    use crate::store::{Filter, Origin, Scope, SearchQuery, Store};

    /// A store file as v3 wrote it: the full JSON of each call, its derived columns and search rows.
    fn write_v3(path: &std::path::Path, origin: &Origin, convs: &[Conversation]) {
        let conn = Connection::open(path).unwrap();
        for sql in [schema::V1, schema::V2, schema::V3] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 3).unwrap();
        for c in convs {
            let started = c.started_at.map_or(0, |t| t.timestamp_millis());
            let pk = cache::allocate_pk(&conn, started).unwrap();
            let d = cache::Derived::of(c);
            conn.execute(
                "INSERT INTO conversations (pk, account, project, environment, id, started_at, channel,
                 total_duration, num_turns, handoff, in_progress, wire, fetched_at, has_transcript,
                 transcript_hidden, max_latency) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 0, ?13, ?14, ?15)",
                rusqlite::params![
                    pk,
                    origin.account,
                    origin.project,
                    origin.environment,
                    c.id,
                    started,
                    c.channel,
                    c.total_duration,
                    c.num_turns,
                    c.handoff,
                    c.in_progress,
                    serde_json::to_string(c).unwrap(),
                    d.has_transcript,
                    d.transcript_hidden,
                    d.max_latency
                ],
            )
            .unwrap();
            if d.has_transcript {
                cache::index_transcript(&conn, pk, c).unwrap();
            }
        }
        // A hand-edited row whose JSON is broken: kept, matched by no label word, blocks nothing.
        conn.execute(
            "INSERT INTO conversations (pk, account, project, environment, id, started_at, channel, handoff,
             in_progress, wire, fetched_at) VALUES (1, ?1, ?2, ?3, 'BROKEN', 1000, 'VOICE-SIP', 0, 0, '{oops', 0)",
            rusqlite::params![origin.account, origin.project, origin.environment],
        )
        .unwrap();
    }

    #[test]
    fn a_v3_store_migrates_losing_nothing_and_its_labels_are_filled() {
        let mut convs: Vec<Conversation> = serde_json::from_str::<crate::api::ConversationPage>(include_str!(
            "../../tests/fixtures/real/list_v3_camel.json"
        ))
        .unwrap()
        .conversations;
        convs.push(serde_json::from_str(include_str!("../../tests/fixtures/real/by_id_platform.json")).unwrap());
        // What v3 reads back: the full JSON as written (the fields odd on the wire are not kept).
        let before: Vec<Conversation> = convs
            .iter()
            .map(|c| cache::parse_wire(&serde_json::to_string(c).unwrap()).unwrap())
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v3.db");
        let origin = Origin::new("ws-real", "PROJECT-real", "live");
        write_v3(&path, &origin, &convs);

        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), CURRENT_VERSION);
        for c in &before {
            assert_eq!(
                store.conversation(&origin.key(&c.id)).unwrap().as_ref(),
                Some(c),
                "{}",
                c.id
            );
        }
        let scope = Scope::env("ws-real", "PROJECT-real", "live");
        let n = convs.len() as u64 + 1;
        assert_eq!(
            store.count(&scope, &Filter::default()).unwrap(),
            n,
            "the broken row is kept"
        );
        let by_id = "CA5f1e0c9a7b3d4e2f8a6b0c1d2e3f4a5b";
        let unfiltered: Vec<&str> = convs
            .iter()
            .map(|c| c.id.as_str())
            .filter(|id| *id != by_id)
            .chain(["BROKEN"])
            .collect();
        for (text, want) in [
            ("polyscore<3", vec!["CAlist01"]),
            ("polyscore>3", vec!["CAlist03", by_id]),
            ("tag:VIP", vec!["CAlist01", by_id]),
            ("topic:\"refund policy\"", vec!["CAlist03", by_id]),
            ("function:issue_refund", vec!["CAlist03"]),
            ("function:transfer_to_billing", vec![by_id]),
            ("safety", vec![by_id]),
            ("!safety", unfiltered),
        ] {
            let f = Filter::parse(text).unwrap();
            let mut got: Vec<String> = store
                .query_rows(&scope, &f, crate::store::ListOrder::NewestFirst, None, 100)
                .unwrap()
                .into_iter()
                .map(|r| r.key.id)
                .collect();
            let mut want: Vec<String> = want.into_iter().map(String::from).collect();
            got.sort();
            want.sort();
            assert_eq!(got, want, "{text}");
        }
        assert!(
            !store.search(&SearchQuery::new("refund")).unwrap().is_empty(),
            "search rows kept"
        );
    }
}
