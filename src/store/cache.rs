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
    handoff, in_progress, wire, fetched_at, has_transcript, transcript_hidden, max_latency, pk, poly_score,
    handoff_reason, variant)
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

/// `conversation_labels.kind`: what a label is (see schema v4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelKind {
    Tag = 0,
    Topic = 1,
    Function = 2,
    Safety = 3,
}

/// One conversation as the cache writes it, computed before any SQL runs (so a batch can
/// order its writes by start time).
struct Prepared {
    origin: Origin,
    id: String,
    started_ms: i64,
    channel: String,
    total_duration: Option<u32>,
    num_turns: Option<u32>,
    handoff: bool,
    in_progress: bool,
    wire: String,
    derived: Derived,
    poly_score: Option<f64>,
    /// The stats view's split and reason columns (schema v5).
    handoff_reason: String,
    variant: String,
    tags: Vec<String>,
    /// `Some` when the conversation carries its turns.
    transcript: Option<TranscriptRows>,
}

/// The rows a transcript adds beside the conversation's own.
struct TranscriptRows {
    /// (search-index rowid offset within the conversation, prepared text).
    texts: Vec<(i64, String)>,
    intents: Vec<String>,
    /// Topics, functions and safety filters.
    labels: Vec<(LabelKind, String)>,
    /// (turn index, seconds): what the stats view's latency figures read (schema v5).
    latencies: Vec<(i64, f64)>,
}

impl Prepared {
    fn of(origin: &Origin, c: &Conversation) -> StoreResult<Option<Self>> {
        if c.id.trim().is_empty() {
            return Ok(None);
        }
        let derived = Derived::of(c);
        let transcript = derived.has_transcript.then(|| TranscriptRows::of(c));
        Ok(Some(Prepared {
            origin: origin.clone(),
            id: c.id.clone(),
            started_ms: c.started_at.map_or(0, |t| t.timestamp_millis()),
            channel: c.channel.clone(),
            total_duration: c.total_duration,
            num_turns: c.num_turns,
            handoff: c.handoff,
            in_progress: c.in_progress,
            wire: compact_wire(c)?,
            derived,
            poly_score: c.poly_score.filter(|s| s.is_finite()),
            handoff_reason: c.handoff_reason.clone(),
            variant: c.variant_id.clone(),
            tags: c.tags.clone(),
            transcript,
        }))
    }

    /// Memory held while buffered.
    fn bytes(&self) -> usize {
        self.wire.len()
            + self
                .transcript
                .as_ref()
                .map_or(0, |t| t.texts.iter().map(|(_, s)| s.len() + 32).sum())
    }

    fn write(&self, tx: &Connection, fetched_at_ms: i64) -> StoreResult<()> {
        // Only used when the row is new; an existing row keeps its pk (and its search rows).
        let new_pk = allocate_pk(tx, self.started_ms)?;
        let o = &self.origin;
        let pk: i64 = tx.prepare_cached(UPSERT)?.query_row(
            params![
                o.account,
                o.project,
                o.environment,
                self.id,
                self.started_ms,
                self.channel,
                self.total_duration,
                self.num_turns,
                self.handoff,
                self.in_progress,
                self.wire,
                fetched_at_ms,
                self.derived.has_transcript,
                self.derived.transcript_hidden,
                self.derived.max_latency,
                new_pk,
                self.poly_score,
                self.handoff_reason,
                self.variant,
            ],
            |r| r.get(0),
        )?;
        let existed = pk != new_pk;
        let mut insert_label =
            tx.prepare_cached("INSERT OR IGNORE INTO conversation_labels (kind, label, conv) VALUES (?1, ?2, ?3)")?;
        if existed {
            // Tags are the summary's: every refresh replaces them.
            tx.prepare_cached("DELETE FROM conversation_labels WHERE conv = ?1 AND kind = ?2")?
                .execute(params![pk, LabelKind::Tag as i64])?;
        }
        for tag in &self.tags {
            insert_label.execute(params![LabelKind::Tag as i64, tag, pk])?;
        }
        let Some(t) = &self.transcript else {
            return Ok(());
        };
        if existed {
            let (lo, hi) = fts_range(pk);
            tx.prepare_cached("DELETE FROM turn_fts WHERE rowid BETWEEN ?1 AND ?2")?
                .execute(params![lo, hi])?;
            tx.prepare_cached("DELETE FROM conversation_intents WHERE conv = ?1")?
                .execute([pk])?;
            tx.prepare_cached("DELETE FROM conversation_labels WHERE conv = ?1 AND kind > ?2")?
                .execute(params![pk, LabelKind::Tag as i64])?;
            tx.prepare_cached("DELETE FROM turn_latencies WHERE conv = ?1")?
                .execute([pk])?;
        }
        let mut insert_latency =
            tx.prepare_cached("INSERT INTO turn_latencies (conv, turn, latency) VALUES (?1, ?2, ?3)")?;
        for (turn, latency) in &t.latencies {
            insert_latency.execute(params![pk, turn, latency])?;
        }
        let mut insert_text = tx.prepare_cached("INSERT INTO turn_fts (rowid, text) VALUES (?1, ?2)")?;
        for (offset, text) in &t.texts {
            insert_text.execute(params![(pk << TURN_BITS) | offset, text])?;
        }
        let mut insert_intent =
            tx.prepare_cached("INSERT OR IGNORE INTO conversation_intents (conv, intent) VALUES (?1, ?2)")?;
        for intent in &t.intents {
            insert_intent.execute(params![pk, intent])?;
        }
        for (kind, label) in &t.labels {
            insert_label.execute(params![*kind as i64, label, pk])?;
        }
        Ok(())
    }
}

impl TranscriptRows {
    fn of(c: &Conversation) -> Self {
        use crate::store::search::Speaker;
        let mut rows = TranscriptRows {
            texts: Vec::new(),
            intents: Vec::new(),
            labels: Vec::new(),
            latencies: Vec::new(),
        };
        for (i, turn) in c.turns.iter().enumerate() {
            rows.intents.extend(turn.intents.iter().cloned());
            if let Some(l) = turn.latency.filter(|l| l.is_finite()) {
                rows.latencies.push((i as i64, l));
            }
            rows.labels.extend(
                (turn.retrieved_topics.iter().map(|t| (LabelKind::Topic, t.clone())))
                    .chain(
                        turn.function_events
                            .iter()
                            .map(|f| (LabelKind::Function, f.name.clone())),
                    )
                    .chain(turn.safety_filters.iter().map(|f| (LabelKind::Safety, f.clone()))),
            );
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
                    rows.texts
                        .push((fts_rowid(0, i, speaker), text::segment(&clean).into_owned()));
                }
            }
        }
        rows
    }
}

/// The cached JSON: the wire shape of `Conversation` without the members that read back as
/// their defaults (`""`, `false`, `null`, `[]`, `{}`), at the top and in each turn. Most
/// fields of most calls are empty: this halves a summary's JSON, and `load` reads the same
/// `Conversation` back. `state` is kept whatever it holds (it is the API's own value).
pub fn compact_wire(c: &Conversation) -> StoreResult<String> {
    use serde_json::Value;
    fn is_default(v: &Value) -> bool {
        match v {
            Value::Null | Value::Bool(false) => true,
            Value::String(s) => s.is_empty(),
            Value::Array(a) => a.is_empty(),
            Value::Object(o) => o.is_empty(),
            _ => false,
        }
    }
    let mut v = serde_json::to_value(c)?;
    if let Value::Object(top) = &mut v {
        top.retain(|k, v| k == "id" || k == "state" || !is_default(v));
        if let Some(Value::Array(turns)) = top.get_mut("turns") {
            for turn in turns {
                if let Value::Object(t) = turn {
                    t.retain(|_, v| !is_default(v));
                }
            }
        }
    }
    Ok(serde_json::to_string(&v)?)
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

/// Buffered upserts are written when this many are waiting (or at commit)...
const BATCH_ROWS: usize = 50_000;
/// ...or when their JSON and search text reach this many bytes: memory stays bounded.
const BATCH_BYTES: usize = 32 << 20;

/// A write transaction over the cache; dropped without `commit` it rolls back.
///
/// Upserts are buffered and written in start-time order, the order of the table's keys and
/// list indexes: a page of calls in any order (a bulk import in random order) then touches
/// neighbouring B-tree pages instead of a random page per row.
pub struct CacheBatch<'a> {
    pub(super) tx: Transaction<'a>,
    pub(super) now_ms: i64,
    pub(super) written: usize,
    pending: Vec<Prepared>,
    pending_bytes: usize,
    /// Hashes of the buffered keys: a second upsert of the same call writes the first one
    /// before it, so the order of the two is kept.
    pending_keys: std::collections::HashSet<u64>,
}

impl<'a> CacheBatch<'a> {
    pub(super) fn new(tx: Transaction<'a>, now_ms: i64) -> Self {
        CacheBatch {
            tx,
            now_ms,
            written: 0,
            pending: Vec::new(),
            pending_bytes: 0,
            pending_keys: Default::default(),
        }
    }

    pub fn upsert(&mut self, origin: &Origin, c: &Conversation) -> StoreResult<bool> {
        let Some(p) = Prepared::of(origin, c)? else {
            return Ok(false);
        };
        let key = {
            use std::hash::{Hash, Hasher};
            let mut h = std::hash::DefaultHasher::new();
            (&p.origin, &p.id).hash(&mut h);
            h.finish()
        };
        if !self.pending_keys.insert(key) {
            self.flush()?;
            self.pending_keys.insert(key);
        }
        self.pending_bytes += p.bytes();
        self.pending.push(p);
        self.written += 1;
        if self.pending.len() >= BATCH_ROWS || self.pending_bytes >= BATCH_BYTES {
            self.flush()?;
        }
        Ok(true)
    }

    fn flush(&mut self) -> StoreResult<()> {
        // Stable: equal start times keep their arrival order.
        self.pending.sort_by_key(|p| p.started_ms);
        for p in self.pending.drain(..) {
            p.write(&self.tx, self.now_ms)?;
        }
        self.pending_bytes = 0;
        self.pending_keys.clear();
        Ok(())
    }

    /// Commits; returns how many conversations were stored.
    pub fn commit(mut self) -> StoreResult<usize> {
        self.flush()?;
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

    /// Today's read of the full JSON, for every shape the project knows: the fixtures of the
    /// real API and the stand-in's calls with their live content (scores, tags, functions).
    fn known_conversations() -> Vec<Conversation> {
        use crate::standin::data::{Dataset, DatasetHandle, Scope};
        let mut all: Vec<Conversation> = serde_json::from_str::<crate::api::ConversationPage>(include_str!(
            "../../tests/fixtures/real/list_v3_camel.json"
        ))
        .unwrap()
        .conversations;
        all.push(serde_json::from_str(include_str!("../../tests/fixtures/real/by_id_platform.json")).unwrap());
        let now = chrono::DateTime::from_timestamp(1_780_000_000, 0).unwrap();
        let data = DatasetHandle::new(
            Dataset::generate(7, 300, now),
            Scope {
                account_id: "ws".into(),
                project_id: "p".into(),
                now,
                seed: 7,
            },
        );
        for (i, e) in data.read(|d| d.entries().to_vec()).iter().enumerate() {
            let mut c = data.expand(e);
            if i % 2 == 0 {
                crate::standin::real::realize(&mut c, i as u64);
                c = serde_json::from_str(&crate::standin::real::detail(&c, i as u64).to_string()).unwrap();
            }
            all.push(c.clone());
            all.push(Conversation { turns: Vec::new(), ..c });
        }
        all
    }

    #[test]
    fn compact_json_reads_back_as_the_full_json() {
        let (mut full_bytes, mut compact_bytes) = (0, 0);
        for c in known_conversations() {
            let full = serde_json::to_string(&c).unwrap();
            let compact = compact_wire(&c).unwrap();
            assert_eq!(parse_wire(&compact).unwrap(), parse_wire(&full).unwrap(), "{compact}");
            (full_bytes, compact_bytes) = (full_bytes + full.len(), compact_bytes + compact.len());
        }
        assert!(
            compact_bytes * 10 < full_bytes * 8,
            "at least a fifth smaller: {compact_bytes} of {full_bytes} bytes"
        );
        // `state` is the API's own value: kept even when it looks like a default.
        let c = Conversation {
            id: "CA1".into(),
            state: serde_json::json!(false),
            ..Default::default()
        };
        assert_eq!(
            parse_wire(&compact_wire(&c).unwrap()).unwrap().state,
            serde_json::json!(false)
        );
    }

    #[test]
    fn a_batch_writes_in_time_order_and_keeps_repeats_in_arrival_order() {
        use crate::api::Turn;
        let dir = tempfile::tempdir().unwrap();
        let mut store = crate::store::Store::open(&dir.path().join("s.db")).unwrap();
        let origin = Origin::new("a", "p", "live");
        let at = |m: i64| chrono::DateTime::from_timestamp(1_780_000_000 + m * 60, 0);
        let full = Conversation {
            id: "CA1".into(),
            started_at: at(5),
            num_turns: Some(1),
            tags: vec!["vip".into()],
            turns: vec![Turn {
                user_input: "a refund please".into(),
                retrieved_topics: vec!["Refund policy".into()],
                ..Default::default()
            }],
            ..Default::default()
        };
        let mut batch = store.batch().unwrap();
        for m in [9, 1, 7, 3] {
            let c = Conversation {
                id: format!("CA{m}0"),
                started_at: at(m),
                ..Default::default()
            };
            assert!(batch.upsert(&origin, &c).unwrap());
        }
        batch.upsert(&origin, &full).unwrap();
        // The summary refresh of the same call, in the same batch: written after the transcript.
        let summary = Conversation {
            turns: Vec::new(),
            tags: vec!["escalated".into()],
            ..full.clone()
        };
        batch.upsert(&origin, &summary).unwrap();
        assert!(
            !batch.upsert(&origin, &Conversation::default()).unwrap(),
            "no id: skipped"
        );
        assert_eq!(batch.commit().unwrap(), 6);
        let back = store.conversation(&origin.key("CA1")).unwrap().unwrap();
        assert_eq!(back.turns, full.turns, "the transcript survives the later summary");
        assert_eq!(back.tags, ["escalated"]);
        let scope = crate::store::Scope::env("a", "p", "live");
        let count = |f: &str| store.count(&scope, &crate::store::Filter::parse(f).unwrap()).unwrap();
        assert_eq!(count("tag:escalated"), 1, "the summary's tags replace the old ones");
        assert_eq!(count("tag:vip"), 0);
        assert_eq!(
            count("topic:\"refund POLICY\""),
            1,
            "turn labels stay with the transcript"
        );
        assert_eq!(count(""), 5);
        let pks: Vec<(i64, i64)> = store
            .conn()
            .prepare("SELECT started_at, pk FROM conversations ORDER BY pk")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(
            pks.is_sorted(),
            "pks follow start time, whatever the arrival order: {pks:?}"
        );
        let q = crate::store::SearchQuery::new("refund");
        assert_eq!(store.search(&q).unwrap().len(), 1, "the transcript is searchable");
    }
}
