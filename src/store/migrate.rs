//! Versioned schema migrations (`PRAGMA user_version`), each in its own transaction.

use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::cache;
use super::error::{StoreError, StoreErrorKind, StoreResult};
use super::schema;

/// The schema version this build writes.
pub const CURRENT_VERSION: i64 = 12;

pub fn schema_version(conn: &Connection) -> StoreResult<i64> {
    Ok(conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
}

/// Brings the database to `CURRENT_VERSION`. A failed step rolls back and leaves the previous version intact.
pub fn migrate(conn: &mut Connection) -> StoreResult<()> {
    migrate_to(conn, CURRENT_VERSION)
}

/// Brings the database to `last` (tests build stores as an older version wrote them).
fn migrate_to(conn: &mut Connection, last: i64) -> StoreResult<()> {
    let found = schema_version(conn)?;
    if found > CURRENT_VERSION {
        return Err(StoreError::new(
            StoreErrorKind::NewerSchema,
            format!("schema version {found}, this build knows up to {CURRENT_VERSION}"),
        ));
    }
    for target in found + 1..=last {
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
        6 => Ok(tx.execute_batch(schema::V6_HISTORY)?),
        7 => Ok(tx.execute_batch(schema::V7_SCORES)?),
        8 => Ok(tx.execute_batch(schema::V8_COMPACT_CACHE)?),
        9 => Ok(tx.execute_batch(schema::V9_STATS_HOURS)?),
        10 => Ok(tx.execute_batch(schema::V10_TEAM_OUTBOX)?),
        11 => Ok(tx.execute_batch(schema::V11_DIRTY_PER_BATCH)?),
        12 => Ok(tx.execute_batch(schema::V12_ORIGIN_IDS)?),
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
        let new_pk = cache::allocate_pk_before_v12(tx, started)?;
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
    use crate::domain::{Filter, Origin, Scope};
    use crate::store::{SearchQuery, Store};

    /// A store file as v3 wrote it: the full JSON of each call, its derived columns and search rows.
    fn write_v3(path: &std::path::Path, origin: &Origin, convs: &[Conversation]) {
        let conn = Connection::open(path).unwrap();
        for sql in [schema::V1, schema::V2, schema::V3] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 3).unwrap();
        for c in convs {
            let started = c.started_at.map_or(0, |t| t.timestamp_millis());
            let pk = cache::allocate_pk_before_v12(&conn, started).unwrap();
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

    /// Every word of every cached turn, found in its own turn with the word highlighted.
    fn assert_every_turn_searchable(store: &Store, origin: &Origin, convs: &[Conversation]) {
        for c in convs {
            for (i, turn) in c.turns.iter().enumerate() {
                let Some(word) = turn
                    .user_input
                    .split_whitespace()
                    .find(|w| w.chars().all(char::is_alphabetic))
                else {
                    continue;
                };
                let hits = store.hits_in(&origin.key(&c.id), word, None).unwrap();
                assert!(
                    hits.iter()
                        .any(|h| h.turn as usize == i && !h.text.highlights.is_empty()),
                    "{}: {word:?} in turn {i}: {hits:?}",
                    c.id
                );
            }
        }
    }

    /// The real-API fixtures: a v3 list page and a by-id conversation.
    fn real_conversations() -> Vec<Conversation> {
        let mut convs: Vec<Conversation> = serde_json::from_str::<crate::api::ConversationPage>(include_str!(
            "../../tests/fixtures/real/list_v3_camel.json"
        ))
        .unwrap()
        .conversations;
        convs.push(serde_json::from_str(include_str!("../../tests/fixtures/real/by_id_platform.json")).unwrap());
        convs
    }

    /// Each conversation as the cache reads back its full JSON.
    fn read_back(convs: &[Conversation]) -> Vec<Conversation> {
        convs
            .iter()
            .map(|c| cache::parse_wire(&serde_json::to_string(c).unwrap()).unwrap())
            .collect()
    }

    #[test]
    fn a_v5_store_moves_its_search_text_out_of_the_index_losing_nothing() {
        let convs = real_conversations();
        let before = read_back(&convs);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v5.db");
        let origin = Origin::new("ws-real", "PROJECT-real", "live");
        write_v3(&path, &origin, &convs);
        let mut conn = Connection::open(&path).unwrap();
        migrate_to(&mut conn, 5).unwrap();
        let count = |conn: &Connection, sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
        let indexed = count(&conn, "SELECT count(*) FROM turn_fts");
        assert!(indexed > 0);
        drop(conn);

        let mut store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), CURRENT_VERSION);
        assert_eq!(
            count(store.conn(), "SELECT count(*) FROM turn_text"),
            indexed,
            "every text moved"
        );
        store
            .conn()
            .execute(
                "INSERT INTO turn_fts (turn_fts, rank) VALUES ('integrity-check', 1)",
                [],
            )
            .expect("the index agrees with its content table");
        for c in &before {
            assert_eq!(
                store.conversation(&origin.key(&c.id)).unwrap().as_ref(),
                Some(c),
                "{}",
                c.id
            );
        }
        let scope = Scope::env("ws-real", "PROJECT-real", "live");
        let listed = store
            .query_rows(
                &scope,
                &Filter::default(),
                crate::store::ListOrder::NewestFirst,
                None,
                100,
            )
            .unwrap();
        assert_eq!(listed.len(), convs.len() + 1, "every row listed, the broken one too");
        assert_every_turn_searchable(&store, &origin, &before);

        // Old rows take the stored form at their next write: a summary keeps the migrated
        // transcript, a new transcript replaces its search text.
        let by_id = before.iter().find(|c| !c.turns.is_empty()).unwrap().clone();
        store
            .cache(
                &origin,
                &[Conversation {
                    turns: Vec::new(),
                    note: "seen".into(),
                    ..by_id.clone()
                }],
            )
            .unwrap();
        let back = store.conversation(&origin.key(&by_id.id)).unwrap().unwrap();
        assert_eq!((back.turns, back.note.as_str()), (by_id.turns.clone(), "seen"));
        assert_every_turn_searchable(&store, &origin, std::slice::from_ref(&by_id));
        let mut fresh = by_id.clone();
        fresh.turns.truncate(1);
        fresh.turns[0].user_input = "xylophone lessons".into();
        store.cache(&origin, std::slice::from_ref(&fresh)).unwrap();
        let q = |t: &str| SearchQuery {
            scope: scope.clone(),
            ..SearchQuery::new(t)
        };
        assert_eq!(store.search(&q("xylophone")).unwrap().len(), 1);
        let old_word = by_id
            .turns
            .last()
            .unwrap()
            .agent_response
            .split_whitespace()
            .last()
            .unwrap_or("");
        assert!(
            store
                .search(&q(old_word))
                .unwrap()
                .iter()
                .all(|h| h.key.id != by_id.id || h.turn == 0),
            "the replaced turns are no longer found"
        );
        store
            .conn()
            .execute(
                "INSERT INTO turn_fts (turn_fts, rank) VALUES ('integrity-check', 1)",
                [],
            )
            .expect("the index agrees with its content table after the rewrite");
    }

    #[test]
    fn a_v3_store_migrates_losing_nothing_and_its_labels_are_filled() {
        let convs = real_conversations();
        // What v3 reads back: the full JSON as written (the fields odd on the wire are not kept).
        let before = read_back(&convs);
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
        // The scores table is there (v7) and a migrated store takes saves.
        let mut store = store;
        let record = crate::domain::ScoreRecord {
            scorecard: "voice-qa".into(),
            reviewer: "ann".into(),
            at_ms: 1,
            answers: Default::default(),
            score: Some(50.0),
            auto_failed: false,
        };
        store.save_score(&origin.key(by_id), &record).unwrap();
        assert_eq!(store.scores(&origin.key(by_id)).unwrap(), [record]);
    }

    /// v11 drops the per-row stale-hour triggers: a v10 cache opens, its rows load, and the
    /// write path marks the hours a change touches (the one a call left and the one it joins).
    #[test]
    fn a_v10_cache_migrates_and_its_writes_still_mark_stale_hours() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let hour = 3_600_000;
        {
            let mut conn = Connection::open(&path).unwrap();
            migrate_to(&mut conn, 10).unwrap();
            conn.execute(
                "INSERT INTO conversations (pk, account, project, environment, id, started_at, channel, handoff,
                 in_progress, wire, fetched_at) VALUES (1, 'ws', 'p', 'live', 'CA1', ?1, 'VOICE-SIP', 0, 0, '{}', 0)",
                [2 * hour + 5],
            )
            .unwrap();
            let marked: i64 = conn
                .query_row("SELECT hour FROM stats_dirty", [], |r| r.get(0))
                .unwrap();
            assert_eq!(marked, 2 * hour, "v10 marks by trigger");
            conn.execute("DELETE FROM stats_dirty", []).unwrap();
        }
        let mut store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), CURRENT_VERSION);
        let triggers: Vec<String> = store
            .conn()
            .prepare(
                "SELECT name FROM sqlite_schema WHERE type = 'trigger'
                 AND tbl_name IN ('conversations', 'conversation_rows') ORDER BY name",
            )
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(triggers, ["conversations_delete", "stats_dirty_on_delete"]);
        let origin = Origin::new("ws", "p", "live");
        let cached = store.conversation(&origin.key("CA1")).unwrap().unwrap();
        assert_eq!((cached.id.as_str(), cached.channel.as_str()), ("CA1", "VOICE-SIP"));
        let moved = Conversation {
            started_at: chrono::DateTime::from_timestamp_millis(5 * hour + 7),
            ..cached
        };
        store.cache(&origin, &[moved]).unwrap();
        let marked: Vec<i64> = store
            .conn()
            .prepare("SELECT hour FROM stats_dirty ORDER BY hour")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(marked, [2 * hour, 5 * hour]);
    }

    /// The (text, integer) rows of `sql`.
    fn pairs(conn: &Connection, sql: &str) -> Vec<(String, i64)> {
        conn.prepare(sql)
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    /// v12 numbers the origins: a v11 cache of two projects (one with two environments) keeps
    /// every row, pk and search row; lists by environment and by project use the new indexes;
    /// marks still join; a new environment of a cached project shares its number; and a hand
    /// delete through the view still marks its hour stale.
    #[test]
    fn a_v11_cache_migrates_to_origin_numbers_keeping_every_row() {
        use crate::store::ListOrder;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let hour = 3_600_000;
        let origins = [
            Origin::new("ws", "p", "live"),
            Origin::new("ws", "p", "sandbox"),
            Origin::new("ws", "q", "live"),
        ];
        let real = real_conversations();
        let convs: Vec<Conversation> = (0..9)
            .map(|i| Conversation {
                id: format!("CA-{i}"),
                started_at: chrono::DateTime::from_timestamp_millis(1_780_000_000_000 + i as i64 * hour),
                ..real[i % real.len()].clone()
            })
            .collect();
        let pks_before: Vec<(String, i64)>;
        {
            let mut conn = Connection::open(&path).unwrap();
            migrate_to(&mut conn, 11).unwrap();
            for (i, c) in convs.iter().enumerate() {
                let origin = &origins[i % origins.len()];
                // The v11 write path, as it was: rows keyed by the three texts.
                conn.execute(
                    "INSERT INTO conversations (pk, account, project, environment, id, started_at, channel,
                         handoff, in_progress, wire, fetched_at, has_transcript) VALUES (?1, ?2, ?3, ?4, ?5, ?6,
                         'VOICE-SIP', 0, 0, ?7, 0, 0)",
                    rusqlite::params![
                        1000 + i as i64,
                        origin.account,
                        origin.project,
                        origin.environment,
                        c.id,
                        c.started_at.unwrap().timestamp_millis(),
                        serde_json::to_string(c).unwrap()
                    ],
                )
                .unwrap();
            }
            conn.execute(
                "INSERT INTO conversation_marks VALUES ('ws', 'p', 'live', ?1, 'reviewed', '', 1)",
                [&convs[0].id],
            )
            .unwrap();
            pks_before = pairs(&conn, "SELECT id, pk FROM conversations ORDER BY pk");
        }
        let mut store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), CURRENT_VERSION);
        assert_eq!(
            pairs(store.conn(), "SELECT id, pk FROM conversations ORDER BY pk"),
            pks_before
        );
        for (i, c) in convs.iter().enumerate() {
            let origin = &origins[i % origins.len()];
            let cached = store.conversation(&origin.key(&c.id)).unwrap().unwrap();
            assert_eq!(cached.id, c.id);
            assert!(store.conversation(&origins[(i + 1) % 3].key(&c.id)).unwrap().is_none());
        }
        let ids = |store: &Store, scope: &Scope| -> Vec<String> {
            store
                .query_rows(scope, &Filter::default(), ListOrder::OldestFirst, None, 100)
                .unwrap()
                .into_iter()
                .map(|r| r.key.id)
                .collect()
        };
        let expect = |keep: &dyn Fn(usize) -> bool| -> Vec<String> {
            (0..convs.len())
                .filter(|i| keep(*i))
                .map(|i| convs[i].id.clone())
                .collect()
        };
        assert_eq!(ids(&store, &Scope::env("ws", "p", "live")), expect(&|i| i % 3 == 0));
        assert_eq!(ids(&store, &Scope::project("ws", "p")), expect(&|i| i % 3 != 2));
        assert_eq!(ids(&store, &Scope::project("ws", "q")), expect(&|i| i % 3 == 2));
        assert_eq!(ids(&store, &Scope::everything()).len(), convs.len());
        assert!(ids(&store, &Scope::env("ws", "p", "nowhere")).is_empty());
        for scope in [Scope::env("ws", "p", "live"), Scope::project("ws", "p")] {
            let plan = store.explain_list(&scope, &Filter::parse("handoff").unwrap()).unwrap();
            assert!(
                plan.contains("conversations_list") || plan.contains("conversations_by_project"),
                "{plan}"
            );
            assert!(!plan.contains("TEMP B-TREE"), "no sort step:\n{plan}");
        }
        let reviewed = Filter::parse("status:reviewed").unwrap();
        assert_eq!(store.count(&Scope::project("ws", "p"), &reviewed).unwrap(), 1);

        // A new environment of a cached project joins its project's list.
        let pre = Origin::new("ws", "p", "pre-release");
        let mut extra = convs[0].clone();
        extra.id = "CA-pre".into();
        store.cache(&pre, &[extra]).unwrap();
        assert!(ids(&store, &Scope::project("ws", "p")).contains(&"CA-pre".to_string()));
        assert!(!ids(&store, &Scope::project("ws", "q")).contains(&"CA-pre".to_string()));

        store.conn().execute("DELETE FROM stats_dirty", []).unwrap();
        store
            .conn()
            .execute("DELETE FROM conversations WHERE id = ?1", [&convs[1].id])
            .unwrap();
        assert!(store.conversation(&origins[1].key(&convs[1].id)).unwrap().is_none());
        let started = convs[1].started_at.unwrap().timestamp_millis();
        assert_eq!(
            pairs(store.conn(), "SELECT environment, hour FROM stats_dirty"),
            [("sandbox".to_string(), started - started % hour)]
        );
    }

    /// An older store is announced before it is upgraded; a current one, a new path or a file
    /// that is not a store are not (opening says what is wrong with the last).
    #[test]
    fn an_upgrade_is_announced_only_for_an_older_store() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("old.db");
        migrate_to(&mut Connection::open(&old).unwrap(), 11).unwrap();
        assert_eq!(Store::pending_upgrade(&old), Some((11, CURRENT_VERSION)));
        Store::open(&old).unwrap();
        assert_eq!(Store::pending_upgrade(&old), None, "upgraded");
        assert_eq!(Store::pending_upgrade(&dir.path().join("none.db")), None);
        let junk = dir.path().join("junk.db");
        std::fs::write(&junk, b"not a database at all, just some bytes to fill a header").unwrap();
        assert_eq!(Store::pending_upgrade(&junk), None);
        assert_eq!(Store::pending_upgrade(dir.path()), None, "a directory");
    }

    /// Marks written before the history get one change per current field, by "unknown" at
    /// their last change, and a rating's value reads back as the rating.
    #[test]
    fn marks_from_before_the_history_are_backfilled_as_unknown() {
        use crate::domain::{MarkField, RatingReason, Thumbs, TurnRating};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let previous = 5; // the last version before the history
        {
            let mut conn = Connection::open(&path).unwrap();
            for target in 1..=previous {
                let tx = conn.transaction().unwrap();
                step(&tx, target).unwrap();
                tx.commit().unwrap();
            }
            conn.pragma_update(None, "user_version", previous).unwrap();
            conn.execute_batch(
                "INSERT INTO conversation_marks VALUES ('ws', 'p', 'live', 'CA1', 'reviewed', 'a note', 1000);
                 INSERT INTO conversation_flags VALUES ('ws', 'p', 'live', 'CA1', 'latency');
                 INSERT INTO turn_ratings VALUES ('ws', 'p', 'live', 'CA1', 2, -1, 'latency', 'slow');
                 INSERT INTO turn_ratings VALUES ('ws', 'p', 'live', 'CA1', 3, 1, NULL, '');",
            )
            .unwrap();
        }
        let store = Store::open(&path).unwrap();
        let key = Origin::new("ws", "p", "live").key("CA1");
        let history = store.history(&key).unwrap();
        assert_eq!(history.len(), 5, "{history:?}");
        assert!(
            history
                .iter()
                .all(|c| c.reviewer == "unknown" && c.at_ms == 1000 && c.before.is_none())
        );
        let rating = |turn| {
            let c = history.iter().find(|c| c.field == MarkField::TurnRating(turn)).unwrap();
            serde_json::from_str::<TurnRating>(c.after.as_deref().unwrap()).unwrap()
        };
        let marks = store.marks(&key).unwrap();
        assert_eq!(rating(2), marks.turns[&2]);
        assert_eq!(rating(2).reason, Some(RatingReason::Latency));
        assert_eq!(
            rating(3),
            TurnRating {
                thumbs: Thumbs::Up,
                reason: None,
                comment: String::new()
            }
        );
        // The backfilled values are exactly the current ones: nothing looks changed.
        let values = crate::domain::history::fields(&marks);
        for c in &history {
            assert_eq!(c.after.as_ref(), values.get(&c.field), "{:?}", c.field);
        }
    }
}
