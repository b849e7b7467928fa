//! The conversation cache: upserts that never lose a cached transcript, and loads by key.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::error::{StoreError, StoreResult};
use super::text;
use super::{ConversationKey, Origin};
use crate::api::Conversation;

/// Turn sides per conversation in the search index: rowid = pk << 16 | turn << 1 | speaker.
pub const TURN_BITS: u32 = 16;
/// Turns past this index are cached but not searchable (calls that long do not occur in practice).
pub const MAX_INDEXED_TURNS: usize = 1 << (TURN_BITS - 1);

pub fn fts_rowid(pk: i64, turn: usize, speaker: crate::store::search::Speaker) -> i64 {
    (pk << TURN_BITS) | ((turn as i64) << 1) | speaker as i64
}

pub fn fts_range(pk: i64) -> (i64, i64) {
    (pk << TURN_BITS, ((pk + 1) << TURN_BITS) - 1)
}

/// New rows get `pk = start second << 15 | n`, so pk order (and therefore search-index rowid order)
/// follows start time: "newest matches first" is then a reverse rowid scan that FTS5 stops after
/// `LIMIT` rows instead of sorting every match. 15 bits leave room for 32768 calls starting in the
/// same second; past that (or for calls without a start time) the next free pk above is used.
const PK_SLOT_BITS: u32 = 15;
/// pk << TURN_BITS must fit in a positive i64.
const MAX_PK: i64 = (1 << (63 - TURN_BITS)) - 1;

pub fn allocate_pk(conn: &Connection, started_ms: i64) -> StoreResult<i64> {
    let secs = (started_ms / 1000).clamp(0, u32::MAX as i64);
    let base = secs << PK_SLOT_BITS;
    let slot_end = base + (1 << PK_SLOT_BITS);
    let top: Option<i64> = conn
        .prepare_cached("SELECT max(pk) FROM conversations WHERE pk >= ?1 AND pk < ?2")?
        .query_row(params![base, slot_end], |r| r.get(0))?;
    let pk = match top {
        None => base,
        Some(t) if t + 1 < slot_end => t + 1,
        Some(_) => {
            let above: i64 = conn
                .prepare_cached("SELECT max(pk) FROM conversations")?
                .query_row([], |r| r.get(0))?;
            above + 1
        }
    };
    if pk > MAX_PK {
        return Err(StoreError::new(
            super::StoreErrorKind::Sqlite,
            "no free conversation key left in the store",
        ));
    }
    Ok(pk)
}

/// Columns computed from the transcript.
pub struct Derived {
    pub has_transcript: bool,
    pub transcript_hidden: bool,
    pub max_latency: Option<f64>,
}

impl Derived {
    pub fn of(c: &Conversation) -> Self {
        Derived {
            has_transcript: !c.turns.is_empty(),
            transcript_hidden: c.transcript_hidden(),
            max_latency: c.max_latency(),
        }
    }
}

const UPSERT: &str = "
INSERT INTO conversations (account, project, environment, id, started_at, channel, total_duration, num_turns,
    handoff, in_progress, wire, fetched_at, has_transcript, transcript_hidden, max_latency, pk,
    handoff_reason, variant, poly_score)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)
ON CONFLICT (account, project, environment, id) DO UPDATE SET
    started_at = excluded.started_at,
    channel = excluded.channel,
    total_duration = excluded.total_duration,
    num_turns = excluded.num_turns,
    handoff = excluded.handoff,
    in_progress = excluded.in_progress,
    fetched_at = excluded.fetched_at,
    handoff_reason = excluded.handoff_reason,
    variant = excluded.variant,
    poly_score = excluded.poly_score,
    -- A summary (no turns) refreshes the summary fields but keeps the cached transcript.
    wire = CASE WHEN excluded.has_transcript OR NOT conversations.has_transcript THEN excluded.wire
                ELSE json_set(excluded.wire, '$.turns', json(conversations.wire -> '$.turns')) END,
    max_latency = CASE WHEN excluded.has_transcript OR NOT conversations.has_transcript THEN excluded.max_latency
                       ELSE conversations.max_latency END,
    transcript_hidden = CASE WHEN conversations.has_transcript AND NOT excluded.has_transcript THEN 0
                             ELSE excluded.transcript_hidden END,
    has_transcript = max(excluded.has_transcript, conversations.has_transcript)
RETURNING pk";

/// Inserts or refreshes one conversation. Returns false (and stores nothing) when it has no id.
pub fn upsert(tx: &Connection, origin: &Origin, c: &Conversation, fetched_at_ms: i64) -> StoreResult<bool> {
    if c.id.trim().is_empty() {
        return Ok(false);
    }
    let derived = Derived::of(c);
    let wire = serde_json::to_string(c)?;
    let started = c.started_at.map_or(0, |t| t.timestamp_millis());
    // Only used when the row is new; an existing row keeps its pk (and its search rows).
    let new_pk = allocate_pk(tx, started)?;
    let pk: i64 = tx.prepare_cached(UPSERT)?.query_row(
        params![
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
            wire,
            fetched_at_ms,
            derived.has_transcript,
            derived.transcript_hidden,
            derived.max_latency,
            new_pk,
            c.handoff_reason,
            c.variant_id,
            c.poly_score.filter(|s| s.is_finite()),
        ],
        |r| r.get(0),
    )?;
    if derived.has_transcript {
        index_transcript(tx, pk, c)?;
        // Not in `index_transcript`: the v2 migration replays that before v4's tables exist.
        super::stats::index_turns(tx, pk, c)?;
    }
    Ok(true)
}

/// Replaces the conversation's intents and search rows with those of `c`'s turns.
pub fn index_transcript(tx: &Connection, pk: i64, c: &Conversation) -> StoreResult<()> {
    use crate::store::search::Speaker;
    let (lo, hi) = fts_range(pk);
    tx.prepare_cached("DELETE FROM turn_fts WHERE rowid BETWEEN ?1 AND ?2")?
        .execute(params![lo, hi])?;
    tx.prepare_cached("DELETE FROM conversation_intents WHERE conv = ?1")?
        .execute([pk])?;
    let mut insert_text = tx.prepare_cached("INSERT INTO turn_fts (rowid, text) VALUES (?1, ?2)")?;
    let mut insert_intent =
        tx.prepare_cached("INSERT OR IGNORE INTO conversation_intents (conv, intent) VALUES (?1, ?2)")?;
    for (i, turn) in c.turns.iter().enumerate() {
        for intent in &turn.intents {
            insert_intent.execute(params![pk, intent])?;
        }
        if i >= MAX_INDEXED_TURNS {
            continue;
        }
        for (speaker, said) in [
            (Speaker::User, &turn.user_input),
            (Speaker::Agent, &turn.agent_response),
        ] {
            // Controls are dropped so the snippet markers (U+0001/U+0002) cannot be forged by API text.
            let clean = text::strip_controls(said);
            if !clean.trim().is_empty() {
                insert_text.execute(params![fts_rowid(pk, i, speaker), text::segment(&clean)])?;
            }
        }
    }
    Ok(())
}

/// The cached conversation (with its transcript when one was fetched).
pub fn load(conn: &Connection, key: &ConversationKey) -> StoreResult<Option<Conversation>> {
    let wire: Option<String> = conn
        .prepare_cached(
            "SELECT wire FROM conversations WHERE account = ?1 AND project = ?2 AND environment = ?3 AND id = ?4",
        )?
        .query_row(params![key.account, key.project, key.environment, key.id], |r| r.get(0))
        .optional()?;
    wire.map(|w| parse_wire(&w)).transpose()
}

pub fn parse_wire(wire: &str) -> StoreResult<Conversation> {
    serde_json::from_str(wire).map_err(|e| StoreError::new(super::StoreErrorKind::Corrupt, format!("cached JSON: {e}")))
}

/// A write transaction over the cache; dropped without `commit` it rolls back.
pub struct CacheBatch<'a> {
    pub(super) tx: Transaction<'a>,
    pub(super) now_ms: i64,
    pub(super) written: usize,
}

impl CacheBatch<'_> {
    pub fn upsert(&mut self, origin: &Origin, c: &Conversation) -> StoreResult<bool> {
        let stored = upsert(&self.tx, origin, c, self.now_ms)?;
        self.written += stored as usize;
        Ok(stored)
    }

    /// Commits; returns how many conversations were stored.
    pub fn commit(self) -> StoreResult<usize> {
        self.tx.commit()?;
        Ok(self.written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pks_follow_start_time_and_survive_a_full_second() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(&dir.path().join("s.db")).unwrap();
        let conn = store.conn();
        let t = 1_775_000_000_123; // ms
        let base = (t / 1000) << PK_SLOT_BITS;
        assert_eq!(allocate_pk(conn, t).unwrap(), base);
        assert!(
            allocate_pk(conn, t + 1000).unwrap() > base,
            "a later second sorts after"
        );
        let insert = |pk: i64| {
            conn.execute(
                "INSERT INTO conversations (pk, account, project, environment, id, started_at, channel, handoff,
                 in_progress, wire, fetched_at) VALUES (?1, 'a', 'p', 'e', ?1, 0, '', 0, 0, '{}', 0)",
                [pk],
            )
            .unwrap()
        };
        insert(base);
        assert_eq!(allocate_pk(conn, t).unwrap(), base + 1);
        insert(base + (1 << PK_SLOT_BITS) - 1);
        insert(base + (5 << PK_SLOT_BITS));
        assert_eq!(
            allocate_pk(conn, t).unwrap(),
            base + (5 << PK_SLOT_BITS) + 1,
            "a full second overflows upward"
        );
        assert_eq!(allocate_pk(conn, -5).unwrap(), 0, "no start time sorts oldest");
        assert_eq!(
            allocate_pk(conn, i64::MAX).unwrap(),
            (u32::MAX as i64) << PK_SLOT_BITS,
            "far future is clamped"
        );
    }

    #[test]
    fn cached_json_is_read_field_by_field() {
        // A row written by another version (or edited by hand) with an odd field still loads.
        let c = parse_wire(
            r#"{"id":"CA1","channel":"VOICE-SIP","handoff":"yes","num_turns":{"n":2},
            "turns":[{"user_input":"hi","latency":{"perceived_latency":0.7}}]}"#,
        )
        .unwrap();
        assert!(c.handoff);
        assert_eq!(c.turns[0].latency, Some(0.7));
        assert_eq!(Derived::of(&c).max_latency, Some(0.7), "object latency feeds latency>N");
        assert_eq!(c.num_turns, None);
        assert!(c.is_odd("num_turns"));
        assert!(parse_wire("[]").is_err(), "a row that is not an object is corrupt");
    }
}
