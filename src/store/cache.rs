//! The conversation cache: upserts that never lose a cached transcript, and loads by key.

use std::rc::Rc;

use rusqlite::{CachedStatement, Connection, OptionalExtension, Transaction, params};

mod members;
mod wire;

pub use wire::Columns;

use super::error::{StoreError, StoreResult};
use super::origins::{OriginIds, ROW_BY_KEY};
use super::text;
use crate::api::Conversation;
use crate::domain::{ConversationKey, Origin};

/// Turn sides per conversation in the search index: rowid = pk << 16 | turn << 1 | speaker.
pub const TURN_BITS: u32 = 16;
/// Turns past this index are cached but not searchable (calls that long do not occur in practice).
pub const MAX_INDEXED_TURNS: usize = 1 << (TURN_BITS - 1);

pub fn fts_rowid(pk: i64, turn: usize, speaker: crate::domain::Speaker) -> i64 {
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

fn slot_base(started_ms: i64) -> i64 {
    (started_ms / 1000).clamp(0, u32::MAX as i64) << PK_SLOT_BITS
}

pub fn allocate_pk(conn: &Connection, started_ms: i64) -> StoreResult<i64> {
    allocate_pk_in(conn, "conversation_rows", started_ms)
}

/// `allocate_pk` over the table of v1–v11 (`conversations`), for the v2 migration.
pub fn allocate_pk_before_v12(conn: &Connection, started_ms: i64) -> StoreResult<i64> {
    allocate_pk_in(conn, "conversations", started_ms)
}

fn allocate_pk_in(conn: &Connection, table: &str, started_ms: i64) -> StoreResult<i64> {
    let base = slot_base(started_ms);
    let slot_end = base + (1 << PK_SLOT_BITS);
    let top: Option<i64> = conn
        .prepare_cached(&format!("SELECT max(pk) FROM {table} WHERE pk >= ?1 AND pk < ?2"))?
        .query_row(params![base, slot_end], |r| r.get(0))?;
    let pk = match top {
        None => base,
        Some(t) if t + 1 < slot_end => t + 1,
        Some(_) => {
            let above: i64 = conn
                .prepare_cached(&format!("SELECT max(pk) FROM {table}"))?
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
    /// Shared by the batch's rows of one origin (a clone per row was three allocations).
    origin: Rc<Origin>,
    ids: OriginIds,
    id: String,
    cols: Columns,
    /// The stored form (see `wire`).
    wire: String,
    derived: Derived,
    tags: Vec<String>,
    /// `Some` when the conversation carries its turns.
    transcript: Option<TranscriptRows>,
}

/// The rows a transcript adds beside the conversation's own.
struct TranscriptRows {
    /// (search-index rowid offset within the conversation, prepared text), in offset order.
    texts: Vec<(i64, String)>,
    /// The (turn, agent?) texts that `turn_text` holds exactly as sent (left out of the JSON).
    verbatim: Vec<(usize, bool)>,
    intents: Vec<String>,
    /// Topics, functions and safety filters.
    labels: Vec<(LabelKind, String)>,
    /// (turn index, seconds): what the stats view's latency figures read (schema v5).
    latencies: Vec<(i64, f64)>,
}

/// A cached row as found before an upsert.
struct Found {
    pk: i64,
    has_transcript: bool,
    transcript_hidden: bool,
    max_latency: Option<f64>,
    wire: String,
    cols: Columns,
}

/// The columns of `Columns`, in this order, from `first`.
const COLUMNS: &str =
    "started_at, channel, total_duration, num_turns, handoff, in_progress, poly_score, handoff_reason, variant";

fn read_columns(r: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<Columns> {
    Ok(Columns {
        started_ms: r.get(first)?,
        channel: r.get(first + 1)?,
        total_duration: r.get(first + 2)?,
        num_turns: r.get(first + 3)?,
        handoff: r.get(first + 4)?,
        in_progress: r.get(first + 5)?,
        poly_score: r.get(first + 6)?,
        handoff_reason: r.get(first + 7)?,
        variant: r.get(first + 8)?,
    })
}

/// The statements of one flush, prepared once for all its rows.
struct Writer<'c, 'p> {
    conn: &'c Connection,
    find: CachedStatement<'c>,
    /// One row per statement: a multi-row `INSERT` with explicit pks opens a statement journal,
    /// which copied every page it touched (see `insert_sql`).
    insert: CachedStatement<'c>,
    update: CachedStatement<'c>,
    insert_label: CachedStatement<'c>,
    delete_labels: CachedStatement<'c>,
    insert_text: CachedStatement<'c>,
    read_texts: CachedStatement<'c>,
    delete_texts: CachedStatement<'c>,
    index_text: CachedStatement<'c>,
    unindex_texts: CachedStatement<'c>,
    insert_intent: CachedStatement<'c>,
    delete_intents: CachedStatement<'c>,
    insert_latency: CachedStatement<'c>,
    delete_latencies: CachedStatement<'c>,
    fetched_at_ms: i64,
    /// (slot base, pk) of the last new row: rows come in start-time order, so the next call
    /// of the same second takes the next pk without asking the table.
    last_pk: Option<(i64, i64)>,
    /// Origins the table had no row of when the flush began: their rows are new (a flush's keys
    /// are distinct), so nothing asks the table for them (the first import of an environment).
    empty_origins: Vec<i64>,
    /// Whether the next row is inserted without a lookup first (see `Prepared::write`).
    expect_new: bool,
    /// The hours whose aggregates the written rows make stale, before and after the write
    /// (unchanged rows are left out); marked once each when the flush ends.
    stale: std::collections::HashSet<(&'p Origin, i64)>,
}

impl<'c, 'p> Writer<'c, 'p> {
    fn new(conn: &'c Connection, fetched_at_ms: i64) -> StoreResult<Self> {
        let p = |sql: &str| conn.prepare_cached(sql);
        Ok(Writer {
            conn,
            find: p(&format!(
                "SELECT pk, has_transcript, transcript_hidden, max_latency, wire, {COLUMNS} FROM conversation_rows
                 WHERE origin = ?1 AND id = ?2"
            ))?,
            insert: p(&insert_sql())?,
            update: p(
                "UPDATE conversation_rows SET wire = ?1, fetched_at = ?2, has_transcript = ?3, transcript_hidden = ?4,
                 max_latency = ?5, started_at = ?6, channel = ?7, total_duration = ?8, num_turns = ?9, handoff = ?10,
                 in_progress = ?11, poly_score = ?12, handoff_reason = ?13, variant = ?14 WHERE pk = ?15",
            )?,
            insert_label: p("INSERT OR IGNORE INTO conversation_labels (kind, label, conv) VALUES (?1, ?2, ?3)")?,
            delete_labels: p("DELETE FROM conversation_labels WHERE conv = ?1 AND kind BETWEEN ?2 AND ?3")?,
            insert_text: p("INSERT INTO turn_text (id, text) VALUES (?1, ?2)")?,
            read_texts: p("SELECT id, text FROM turn_text WHERE id BETWEEN ?1 AND ?2 ORDER BY id")?,
            delete_texts: p("DELETE FROM turn_text WHERE id BETWEEN ?1 AND ?2")?,
            // One row per statement: FTS5 flushes its pending terms at every statement savepoint,
            // which a multi-row `INSERT … SELECT` opens (a third of the transcript write in callgrind).
            index_text: p("INSERT INTO turn_fts (rowid, text) VALUES (?1, ?2)")?,
            // Before the texts go: an external-content index removes what the content table still says.
            unindex_texts: p("DELETE FROM turn_fts WHERE rowid BETWEEN ?1 AND ?2")?,
            insert_intent: p("INSERT OR IGNORE INTO conversation_intents (conv, intent) VALUES (?1, ?2)")?,
            delete_intents: p("DELETE FROM conversation_intents WHERE conv = ?1")?,
            insert_latency: p("INSERT INTO turn_latencies (conv, turn, latency) VALUES (?1, ?2, ?3)")?,
            delete_latencies: p("DELETE FROM turn_latencies WHERE conv = ?1")?,
            fetched_at_ms,
            last_pk: None,
            empty_origins: Vec::new(),
            expect_new: false,
            stale: Default::default(),
        })
    }

    /// A pk for a new row: the next of its second's slot, taken on trust. The table may hold a
    /// row there already; the insert then leaves this row out and `insert` gives it a free pk.
    /// (Asking the table first for each slot was a twelfth of a bulk summary write: with 10⁶
    /// calls over 90 days, most seconds of a later flush lie between cached rows.)
    fn new_pk(&mut self, started_ms: i64) -> StoreResult<i64> {
        let base = slot_base(started_ms);
        let end = base + (1 << PK_SLOT_BITS);
        let pk = match self.last_pk {
            Some((b, last)) if b == base && last + 1 < end => last + 1,
            // This flush filled the slot: the pk goes above every row.
            Some((b, _)) if b == base => allocate_pk(self.conn, started_ms)?,
            _ => base,
        };
        self.last_pk = (pk >= base && pk < end).then_some((base, pk));
        Ok(pk)
    }

    /// Inserts `p` as a new row at `pk` and writes the rows beside it. When the insert leaves
    /// it out, its key was cached already (it is written over that row) or its pk was taken
    /// (it goes in with a free one).
    fn insert(&mut self, p: &'p Prepared, pk: i64) -> StoreResult<()> {
        if self.insert_at(p, pk)? {
            return p.write_new(self, pk);
        }
        if let Some(old) = self.find(p)? {
            self.expect_new = false;
            return p.write_over(self, old);
        }
        let pk = allocate_pk(self.conn, p.cols.started_ms)?;
        let base = slot_base(p.cols.started_ms);
        // The next call of the second goes after it (not into the pk the table held).
        if self.last_pk.is_some_and(|(b, _)| b == base) {
            self.last_pk = Some((base, pk));
        }
        if !self.insert_at(p, pk)? {
            return Err(StoreError::new(
                super::StoreErrorKind::Sqlite,
                format!("conversation {} was neither inserted nor found", p.id),
            ));
        }
        p.write_new(self, pk)
    }

    /// Whether the row went in (`OR IGNORE`: it is left out on a key or pk already cached).
    fn insert_at(&mut self, p: &Prepared, pk: i64) -> StoreResult<bool> {
        bind_new_row(&mut self.insert, p, pk, self.fetched_at_ms)?;
        Ok(self.insert.raw_execute()? == 1)
    }

    fn find(&mut self, p: &Prepared) -> StoreResult<Option<Found>> {
        Ok(self
            .find
            .query_row(params![p.ids.origin, p.id], |r| {
                Ok(Found {
                    pk: r.get(0)?,
                    has_transcript: r.get(1)?,
                    transcript_hidden: r.get(2)?,
                    max_latency: r.get(3)?,
                    wire: r.get(4)?,
                    cols: read_columns(r, 5)?,
                })
            })
            .optional()?)
    }

    /// Whether `turn_text` holds exactly `texts` for `pk`.
    fn same_texts(&mut self, pk: i64, texts: &[(i64, String)]) -> StoreResult<bool> {
        let (lo, hi) = fts_range(pk);
        let mut rows = self.read_texts.query(params![lo, hi])?;
        let mut want = texts.iter();
        while let Some(r) = rows.next()? {
            let (id, text): (i64, String) = (r.get(0)?, r.get(1)?);
            match want.next() {
                Some((off, t)) if lo | off == id && *t == text => {}
                _ => return Ok(false),
            }
        }
        Ok(want.next().is_none())
    }
}

/// Values of a new row in `insert_sql`.
const NEW_ROW_VALUES: usize = 18;

/// The `INSERT` of one conversation, its values in `bind_new_row`'s order.
///
/// `OR IGNORE`: a row whose key is cached already, or whose pk a cached row holds, is left out
/// (see `Writer::insert`). One row per statement: SQLite gives a multi-row `INSERT` with explicit
/// pks a statement journal (any row's pk could fail its integer check after earlier rows went
/// in), and that journal copied every page the statement touched. Single rows wrote 10⁶
/// summaries at 97k/s in the store bench, 32 rows per statement at 80k/s.
fn insert_sql() -> String {
    let values = vec!["?"; NEW_ROW_VALUES].join(", ");
    format!(
        "INSERT OR IGNORE INTO conversation_rows (wire, fetched_at, has_transcript, transcript_hidden, max_latency,
         {COLUMNS}, pk, origin, project_no, id) VALUES ({values})"
    )
}

/// Binds a new row's values to `stmt`.
fn bind_new_row(stmt: &mut rusqlite::Statement<'_>, p: &Prepared, pk: i64, fetched_at_ms: i64) -> rusqlite::Result<()> {
    let (c, d, o) = (&p.cols, &p.derived, &p.ids);
    let values: [&dyn rusqlite::ToSql; NEW_ROW_VALUES] = [
        &p.wire,
        &fetched_at_ms,
        &d.has_transcript,
        &d.transcript_hidden,
        &d.max_latency,
        &c.started_ms,
        &c.channel,
        &c.total_duration,
        &c.num_turns,
        &c.handoff,
        &c.in_progress,
        &c.poly_score,
        &c.handoff_reason,
        &c.variant,
        &pk,
        &o.origin,
        &o.project_no,
        &p.id,
    ];
    for (i, v) in values.into_iter().enumerate() {
        stmt.raw_bind_parameter(i + 1, v)?;
    }
    Ok(())
}

/// The UTC hour (unix ms of its start) a start time falls in: the `stats_dirty` key.
fn hour_of(started_ms: i64) -> i64 {
    started_ms.div_euclid(super::stats_hours::HOUR_MS) * super::stats_hours::HOUR_MS
}

/// What an upsert stores in the row (beside the key).
struct RowValues<'p> {
    wire: std::borrow::Cow<'p, str>,
    has_transcript: bool,
    transcript_hidden: bool,
    max_latency: Option<f64>,
}

impl Prepared {
    fn of(origin: Rc<Origin>, ids: OriginIds, c: &Conversation) -> StoreResult<Option<Self>> {
        if c.id.trim().is_empty() {
            return Ok(None);
        }
        let derived = Derived::of(c);
        let transcript = derived.has_transcript.then(|| TranscriptRows::of(c));
        let verbatim = transcript.as_ref().map_or(&[][..], |t| &t.verbatim[..]);
        Ok(Some(Prepared {
            wire: wire::stored(&origin, c, verbatim)?,
            origin,
            ids,
            id: c.id.clone(),
            cols: Columns::of(c),
            derived,
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

    /// Writes the conversation unless the row already holds exactly it.
    ///
    /// A row expected to be new is inserted without being looked up first: the insert's own
    /// key check tells whether it was (a bulk write then looks up each key once instead of twice). The writer expects new rows after a lookup found none, and
    /// looks up first again after an insert met a cached row, so refreshes still pay one lookup.
    fn write<'p>(&'p self, w: &mut Writer<'_, 'p>) -> StoreResult<()> {
        if !w.empty_origins.contains(&self.ids.origin) && !w.expect_new {
            match w.find(self)? {
                Some(old) => return self.write_over(w, old),
                None => w.expect_new = true,
            }
        }
        let pk = w.new_pk(self.cols.started_ms)?;
        w.insert(self, pk)
    }

    /// The rows beside a newly inserted conversation row.
    fn write_new<'p>(&'p self, w: &mut Writer<'_, 'p>, pk: i64) -> StoreResult<()> {
        w.stale.insert((&*self.origin, hour_of(self.cols.started_ms)));
        self.write_labels_and_transcript(w, pk, false)
    }

    /// Rewrites the cached row `old` with this conversation, unless it holds exactly it.
    fn write_over<'p>(&'p self, w: &mut Writer<'_, 'p>, old: Found) -> StoreResult<()> {
        // A summary (no turns) refreshes the summary fields but keeps the cached transcript.
        let values = if old.has_transcript && self.transcript.is_none() {
            RowValues {
                wire: with_turns_of(&self.wire, &old.wire)?.into(),
                has_transcript: true,
                transcript_hidden: false,
                max_latency: old.max_latency,
            }
        } else {
            RowValues {
                wire: self.wire.as_str().into(),
                has_transcript: self.derived.has_transcript,
                transcript_hidden: self.derived.transcript_hidden,
                max_latency: self.derived.max_latency,
            }
        };
        let unchanged = values.wire == old.wire
            && self.cols == old.cols
            && (values.has_transcript, values.transcript_hidden, values.max_latency)
                == (old.has_transcript, old.transcript_hidden, old.max_latency)
            && match &self.transcript {
                Some(t) => w.same_texts(old.pk, &t.texts)?,
                None => true,
            };
        if unchanged {
            return Ok(());
        }
        let (c, pk) = (&self.cols, old.pk);
        w.update.execute(params![
            values.wire,
            w.fetched_at_ms,
            values.has_transcript,
            values.transcript_hidden,
            values.max_latency,
            c.started_ms,
            c.channel,
            c.total_duration,
            c.num_turns,
            c.handoff,
            c.in_progress,
            c.poly_score,
            c.handoff_reason,
            c.variant,
            pk,
        ])?;
        // Tags are the summary's: every refresh replaces them.
        w.delete_labels
            .execute(params![pk, LabelKind::Tag as i64, LabelKind::Tag as i64])?;
        w.stale.insert((&*self.origin, hour_of(c.started_ms)));
        w.stale.insert((&*self.origin, hour_of(old.cols.started_ms)));
        self.write_labels_and_transcript(w, pk, old.has_transcript)
    }

    /// Tags, and the rows of the transcript when this conversation carries one (replacing
    /// those cached when `replace_transcript`).
    fn write_labels_and_transcript(
        &self,
        w: &mut Writer<'_, '_>,
        pk: i64,
        replace_transcript: bool,
    ) -> StoreResult<()> {
        for tag in &self.tags {
            w.insert_label.execute(params![LabelKind::Tag as i64, tag, pk])?;
        }
        let Some(t) = &self.transcript else {
            return Ok(());
        };
        let (lo, hi) = fts_range(pk);
        if replace_transcript {
            w.unindex_texts.execute(params![lo, hi])?;
            w.delete_texts.execute(params![lo, hi])?;
            w.delete_intents.execute([pk])?;
            w.delete_labels
                .execute(params![pk, LabelKind::Topic as i64, LabelKind::Safety as i64])?;
            w.delete_latencies.execute([pk])?;
        }
        for (turn, latency) in &t.latencies {
            w.insert_latency.execute(params![pk, turn, latency])?;
        }
        for (offset, text) in &t.texts {
            w.insert_text.execute(params![lo | offset, text])?;
            w.index_text.execute(params![lo | offset, text])?;
        }
        for intent in &t.intents {
            w.insert_intent.execute(params![pk, intent])?;
        }
        for (kind, label) in &t.labels {
            w.insert_label.execute(params![*kind as i64, label, pk])?;
        }
        Ok(())
    }
}

/// The summary's stored JSON with the turns of the cached one.
fn with_turns_of(summary: &str, cached: &str) -> StoreResult<String> {
    use serde_json::{Map, Value};
    let mut top: Map<String, Value> = serde_json::from_str(summary)?;
    if let Ok(Value::Object(mut old)) = serde_json::from_str::<Value>(cached)
        && let Some(turns) = old.remove("turns")
    {
        top.insert("turns".into(), turns);
    }
    Ok(serde_json::to_string(&top)?)
}

impl TranscriptRows {
    fn of(c: &Conversation) -> Self {
        use crate::domain::Speaker;
        let mut rows = TranscriptRows {
            texts: Vec::new(),
            verbatim: Vec::new(),
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
                if clean.trim().is_empty() {
                    continue;
                }
                let indexed = text::segment(&clean);
                if *indexed == **said {
                    rows.verbatim.push((i, speaker == Speaker::Agent));
                }
                rows.texts.push((fts_rowid(0, i, speaker), indexed.into_owned()));
            }
        }
        rows
    }
}

/// The cached JSON of v1–v5: the wire shape of `Conversation` without the members that read back as
/// their defaults (`""`, `false`, `null`, `[]`, `{}`), at the top and in each turn. Most
/// fields of most calls are empty: this halves a summary's JSON, and `load` reads the same
/// `Conversation` back. `state` is kept whatever it holds (it is the API's own value).
/// v8 stores less still (see `wire::stored`); tests compare the two.
#[cfg(test)]
pub fn compact_wire(c: &Conversation) -> StoreResult<String> {
    Ok(serde_json::to_string(&wire::compact_map(c)?)?)
}

/// Replaces the conversation's intents and search rows with those of `c`'s turns, in the
/// search table of v2–v5 (which kept its own copy of the text): the v2 migration's backfill.
pub fn index_transcript(tx: &Connection, pk: i64, c: &Conversation) -> StoreResult<()> {
    use crate::domain::Speaker;
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
    let row = conn
        .prepare_cached(&format!(
            "SELECT pk, has_transcript, wire, {COLUMNS} FROM conversation_rows WHERE {ROW_BY_KEY}"
        ))?
        .query_row(params![key.account, key.project, key.environment, key.id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, bool>(1)?,
                r.get::<_, String>(2)?,
                read_columns(r, 3)?,
            ))
        })
        .optional()?;
    let Some((pk, has_transcript, wire, cols)) = row else {
        return Ok(None);
    };
    let mut texts = std::collections::HashMap::new();
    if has_transcript {
        let (lo, hi) = fts_range(pk);
        let mut stmt = conn.prepare_cached("SELECT id, text FROM turn_text WHERE id BETWEEN ?1 AND ?2")?;
        let mut rows = stmt.query(params![lo, hi])?;
        while let Some(r) = rows.next()? {
            texts.insert(r.get::<_, i64>(0)? - lo, r.get::<_, String>(1)?);
        }
    }
    let text_of = |turn: usize, agent: bool| {
        let speaker = if agent {
            crate::domain::Speaker::Agent
        } else {
            crate::domain::Speaker::User
        };
        texts.get(&fts_rowid(0, turn, speaker)).cloned()
    };
    match wire::restore(&wire, key, &cols, text_of) {
        Ok(json) => parse_wire(&json).map(Some),
        Err(e) => Err(StoreError::new(
            super::StoreErrorKind::Corrupt,
            format!("cached JSON: {e}"),
        )),
    }
}

pub fn parse_wire(wire: &str) -> StoreResult<Conversation> {
    serde_json::from_str(wire).map_err(|e| StoreError::new(super::StoreErrorKind::Corrupt, format!("cached JSON: {e}")))
}

/// Buffered upserts are written when this many are waiting (or at commit)... More rows per
/// flush put more of them on each B-tree page a flush touches: 10⁶ summaries in random order
/// were written at 66k/s with 50,000, 79k/s with 100,000 (44 MB more held), 83k/s with 200,000
/// (132 MB more) in the store bench.
const BATCH_ROWS: usize = 100_000;
/// ...or when their JSON and search text reach this many bytes: memory stays bounded.
const BATCH_BYTES: usize = 32 << 20;

/// A write transaction over the cache; dropped without `commit` it rolls back.
///
/// Upserts are buffered and written in start-time order, the order of the table's keys and
/// list indexes: a page of calls in any order (a bulk import in random order) then touches
/// neighbouring B-tree pages instead of a random page per row. A row that already holds
/// exactly the conversation is not rewritten (its `fetched_at` stays that of its last change).
pub struct CacheBatch<'a> {
    conn: &'a Connection,
    /// `None` once committed.
    tx: Option<Transaction<'a>>,
    pub(super) now_ms: i64,
    pub(super) written: usize,
    pending: Vec<Prepared>,
    pending_bytes: usize,
    /// Hashes of the buffered keys: a second upsert of the same call writes the first one
    /// before it, so the order of the two is kept.
    pending_keys: std::collections::HashSet<u64>,
    /// The origins of this batch's rows, each allocated once (a batch has few), with their numbers.
    origins: Vec<(Rc<Origin>, OriginIds)>,
}

impl<'a> CacheBatch<'a> {
    /// Begins the write transaction on `conn`.
    ///
    /// Its statement journals (a statement that may abort halfway opens one) are kept in memory:
    /// on a temporary file, those of the multi-row inserts this writer once ran were a tenth of
    /// a bulk summary write in `pwrite` calls. A statement's journal holds the pages it changed,
    /// a few dozen; `Drop` puts the connection's default (temporary files) back.
    pub(super) fn begin(conn: &'a Connection, now_ms: i64) -> rusqlite::Result<Self> {
        // Only a speed-up: a connection that refuses keeps its temporary files.
        let _ = conn.pragma_update(None, "temp_store", "MEMORY");
        let tx = Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate);
        let tx = match tx {
            Ok(tx) => tx,
            Err(e) => {
                restore_temp_store(conn);
                return Err(e);
            }
        };
        Ok(CacheBatch {
            conn,
            tx: Some(tx),
            now_ms,
            written: 0,
            pending: Vec::new(),
            pending_bytes: 0,
            pending_keys: Default::default(),
            origins: Vec::new(),
        })
    }

    pub fn upsert(&mut self, origin: &Origin, c: &Conversation) -> StoreResult<bool> {
        let (origin, ids) = match self.origins.iter().find(|(o, _)| **o == *origin) {
            Some((o, ids)) => (o.clone(), *ids),
            None => {
                let ids = super::origins::ensure(self.conn, origin)?;
                let o = Rc::new(origin.clone());
                self.origins.push((o.clone(), ids));
                (o, ids)
            }
        };
        let Some(p) = Prepared::of(origin, ids, c)? else {
            return Ok(false);
        };
        let key = {
            use std::hash::{Hash, Hasher};
            let mut h = std::hash::DefaultHasher::new();
            (&*p.origin, &p.id).hash(&mut h);
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
        // Equal start times keep their arrival order (the index). Indexes, not the rows: moving
        // the rows themselves was a sixth of a bulk summary write; (start, index) pairs sort in
        // place without reading each key through a reference.
        let mut order: Vec<(i64, usize)> = self.pending.iter().map(|p| p.cols.started_ms).zip(0..).collect();
        order.sort_unstable();
        let mut w = Writer::new(self.conn, self.now_ms)?;
        let mut has_rows = self
            .conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM conversation_rows WHERE origin = ?1)")?;
        for (_, ids) in &self.origins {
            if !has_rows.query_row([ids.origin], |r| r.get::<_, bool>(0))? {
                w.empty_origins.push(ids.origin);
            }
        }
        drop(has_rows);
        for (_, i) in order {
            self.pending[i].write(&mut w)?;
        }
        // Marked once each here instead of once per row.
        let stale = std::mem::take(&mut w.stale);
        drop(w);
        let mut mark = self.conn.prepare_cached(
            "INSERT OR IGNORE INTO stats_dirty (account, project, environment, hour) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for (o, hour) in stale {
            mark.execute(params![o.account, o.project, o.environment, hour])?;
        }
        drop(mark);
        self.pending.clear();
        self.pending_bytes = 0;
        self.pending_keys.clear();
        Ok(())
    }

    /// Commits; returns how many conversations were stored.
    pub fn commit(mut self) -> StoreResult<usize> {
        self.flush()?;
        if let Some(tx) = self.tx.take() {
            tx.commit()?;
        }
        Ok(self.written)
    }
}

impl Drop for CacheBatch<'_> {
    fn drop(&mut self) {
        // Rolls back unless committed; the pragma cannot change inside the transaction.
        drop(self.tx.take());
        restore_temp_store(self.conn);
    }
}

/// Temporary storage back to the build's default (files), for queries whose temporary tables can be large.
fn restore_temp_store(conn: &Connection) {
    let _ = conn.pragma_update(None, "temp_store", "DEFAULT");
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
        let ids = super::super::origins::ensure(conn, &Origin::new("a", "p", "e")).unwrap();
        let insert = |pk: i64| {
            conn.execute(
                "INSERT INTO conversation_rows (pk, origin, project_no, id, started_at, channel, handoff,
                 in_progress, wire, fetched_at) VALUES (?1, ?2, ?3, ?1, 0, '', 0, 0, '{}', 0)",
                [pk, ids.origin, ids.project_no],
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

    /// The writer takes each second's next pk on trust: a new call whose pk a cached row holds
    /// is inserted with a free one, in its second while the second has room and above every
    /// row once it has none.
    #[test]
    fn a_batch_finds_free_pks_around_cached_rows_and_past_a_full_second() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = crate::store::Store::open(&dir.path().join("s.db")).unwrap();
        let origin = Origin::new("a", "p", "live");
        let t0 = 1_780_000_000_000; // ms, a whole second
        let base = |sec: i64| slot_base(t0 + sec * 1000);
        let slot = 1 << PK_SLOT_BITS;
        let ids = super::super::origins::ensure(store.conn(), &origin).unwrap();
        let by_hand = |pk: i64, id: &str| {
            store
                .conn()
                .execute(
                    "INSERT INTO conversation_rows (pk, origin, project_no, id, started_at, channel, handoff,
                     in_progress, wire, fetched_at) VALUES (?1, ?2, ?3, ?4, ?5, '', 0, 0, '{}', 0)",
                    params![pk, ids.origin, ids.project_no, id, (pk >> PK_SLOT_BITS) * 1000],
                )
                .unwrap()
        };
        by_hand(base(3), "cached-3");
        by_hand(base(4) + 1, "cached-4");
        // Second 5 has no pk left but those between its first and its last.
        by_hand(base(5), "cached-5a");
        by_hand(base(5) + slot - 1, "cached-5b");
        by_hand(base(40), "cached-40");
        let call = |id: String, sec: i64| Conversation {
            id,
            started_at: chrono::DateTime::from_timestamp_millis(t0 + sec * 1000),
            ..Default::default()
        };
        let mut convs: Vec<Conversation> = (0..50).map(|s| call(format!("CA{s}"), s)).collect();
        convs.extend((0..3).map(|i| call(format!("CA4-{i}"), 4)));
        assert_eq!(store.cache(&origin, &convs).unwrap(), convs.len());
        let pk_in = |store: &crate::store::Store, id: &str| -> i64 {
            store
                .conn()
                .query_row("SELECT pk FROM conversations WHERE id = ?1", [id], |r| r.get(0))
                .unwrap()
        };
        let pk_of = |id: &str| pk_in(&store, id);
        assert_eq!(pk_of("CA0"), base(0));
        assert_eq!(pk_of("CA3"), base(3) + 1, "after the cached row of its second");
        // Second 4: base, then base + 1 is taken; the calls after it follow it.
        assert_eq!(pk_of("CA4"), base(4));
        assert_eq!(pk_of("CA4-0"), base(4) + 2, "its pk was taken");
        assert_eq!(pk_of("CA4-1"), base(4) + 3);
        assert_eq!(pk_of("CA4-2"), base(4) + 4);
        // Second 5's first pk is taken and its last too: above every row written so far.
        assert_eq!(pk_of("CA5"), base(40) + 1);
        assert_eq!(pk_of("CA6"), base(6));
        assert_eq!(pk_of("CA40"), base(40) + 2, "after the cached row and the moved one");
        assert_eq!(pk_of("CA49"), base(49));
        let rows: i64 = store
            .conn()
            .query_row("SELECT count(*) FROM conversation_rows", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, convs.len() as i64 + 5);

        // A flush that fills a second by itself goes on above every row, queued ones included.
        let full: Vec<Conversation> = (0..slot + 2).map(|i| call(format!("FULL{i}"), 60)).collect();
        assert_eq!(store.cache(&origin, &full).unwrap(), full.len());
        let pk_of = |id: &str| pk_in(&store, id);
        assert_eq!(pk_of("FULL0"), base(60));
        assert_eq!(pk_of(&format!("FULL{}", slot - 1)), base(60) + slot - 1);
        assert_eq!(pk_of(&format!("FULL{slot}")), base(60) + slot);
        assert_eq!(pk_of(&format!("FULL{}", slot + 1)), base(60) + slot + 1);
    }

    #[test]
    fn a_batch_marks_each_hour_it_changes_once_and_unchanged_rows_none() {
        use super::super::stats_hours::HOUR_MS;
        let dir = tempfile::tempdir().unwrap();
        let mut store = crate::store::Store::open(&dir.path().join("s.db")).unwrap();
        let origin = Origin::new("a", "p", "live");
        let h = hour_of(1_780_000_000_000);
        let call = |i: i64, at_ms: i64| Conversation {
            id: format!("CA{i}"),
            started_at: chrono::DateTime::from_timestamp_millis(at_ms),
            ..Default::default()
        };
        let convs: Vec<Conversation> = (0..3).map(|i| call(i, h + i * 60_000)).collect();
        let dirty = |store: &crate::store::Store| -> Vec<(String, i64)> {
            let conn = store.conn();
            let rows: Vec<(String, i64)> = conn
                .prepare("SELECT environment, hour FROM stats_dirty ORDER BY hour")
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            conn.execute("DELETE FROM stats_dirty", []).unwrap();
            rows
        };
        store.cache(&origin, &convs).unwrap();
        assert_eq!(dirty(&store), [("live".to_string(), h)]);
        store.cache(&origin, &convs).unwrap();
        assert_eq!(dirty(&store), [], "nothing changed, nothing stale");
        store.cache(&origin, &[call(0, h + 2 * HOUR_MS + 5)]).unwrap();
        assert_eq!(
            dirty(&store),
            [("live".to_string(), h), ("live".to_string(), h + 2 * HOUR_MS)],
            "a call that moves makes the hour it left and the one it joins stale"
        );
    }

    /// New calls and cached ones in one batch, interleaved: the new ones are queued without a
    /// lookup once a lookup missed, so queued chunks mix both. Each call ends up once, a cached
    /// one keeps its pk and takes its new values (tags replaced), an unchanged one is left
    /// alone (its hour stays clean), and the hours marked stale are exactly those changed.
    #[test]
    fn a_batch_of_new_and_cached_calls_interleaved_writes_each_once() {
        use super::super::stats_hours::HOUR_MS;
        let dir = tempfile::tempdir().unwrap();
        let mut store = crate::store::Store::open(&dir.path().join("s.db")).unwrap();
        let origin = Origin::new("a", "p", "live");
        let (a, b, c) = (hour_of(1_780_000_000_000), hour_of(1_780_000_000_000) + HOUR_MS, 0);
        let call = |id: String, at_ms: i64, channel: &str, tag: &str| Conversation {
            id,
            started_at: chrono::DateTime::from_timestamp_millis(at_ms),
            channel: channel.into(),
            tags: vec![tag.into()],
            ..Default::default()
        };
        // Hour A: cached, sent again unchanged. Hour B: cached at even seconds, sent again changed.
        let unchanged: Vec<Conversation> = (0..40)
            .map(|i| call(format!("CA-a{i}"), a + i * 1000, "VOICE-SIP", "old"))
            .collect();
        let cached_b: Vec<Conversation> = (0..60)
            .map(|i| call(format!("CA-b{i}"), b + i * 2000, "VOICE-SIP", "old"))
            .collect();
        let mut first = unchanged.clone();
        first.extend(cached_b.iter().cloned());
        store.cache(&origin, &first).unwrap();
        let pk_of = |store: &crate::store::Store, id: &str| -> i64 {
            store
                .conn()
                .query_row("SELECT pk FROM conversations WHERE id = ?1", [id], |r| r.get(0))
                .unwrap()
        };
        let pks: Vec<i64> = cached_b.iter().map(|c| pk_of(&store, &c.id)).collect();
        store.conn().execute("DELETE FROM stats_dirty", []).unwrap();

        // New calls at B's odd seconds, between the changed cached ones; the last cached call
        // moves to hour C (before A: it sorts first).
        let mut again = unchanged.clone();
        for (i, old) in cached_b.iter().enumerate() {
            let at = if i == 59 { c + 5 } else { b + i as i64 * 2000 };
            again.push(call(old.id.clone(), at, "WEBCHAT", "new"));
            again.push(call(format!("CA-new{i}"), b + i as i64 * 2000 + 1000, "CHAT", "fresh"));
        }
        assert_eq!(store.cache(&origin, &again).unwrap(), again.len());

        let count: i64 = store
            .conn()
            .query_row("SELECT count(*) FROM conversations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, 40 + 60 + 60);
        for (old, pk) in cached_b.iter().zip(&pks) {
            assert_eq!(pk_of(&store, &old.id), *pk, "{} keeps its pk", old.id);
            let back = store.conversation(&origin.key(&old.id)).unwrap().unwrap();
            assert_eq!(
                (back.channel.as_str(), back.tags.as_slice()),
                ("WEBCHAT", &["new".to_string()][..])
            );
        }
        for i in 0..60 {
            let back = store.conversation(&origin.key(format!("CA-new{i}"))).unwrap().unwrap();
            assert_eq!(back.channel, "CHAT");
        }
        let tags: i64 = store
            .conn()
            .query_row("SELECT count(*) FROM conversation_labels WHERE kind = 0", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(tags, 160, "one tag per call, the replaced ones gone");
        let dirty: Vec<i64> = store
            .conn()
            .prepare("SELECT hour FROM stats_dirty ORDER BY hour")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(dirty, [hour_of(c), b], "A unchanged; B changed and joined; C joined");
    }

    #[test]
    fn hours_are_floored_as_the_v9_triggers_floored_them() {
        // Rows marked by v9–v10's triggers and rows marked here must name the same hour.
        let conn = Connection::open_in_memory().unwrap();
        for t in [0, 1, -1, 3_599_999, 3_600_000, -3_600_001, 1_780_000_123_456] {
            let sql: i64 = conn
                .query_row("SELECT ?1 - ((?1 % 3600000) + 3600000) % 3600000", [t], |r| r.get(0))
                .unwrap();
            assert_eq!(hour_of(t), sql, "{t}");
        }
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

    /// The known shapes plus what the stored form must keep in the JSON: texts that are not
    /// indexed verbatim, an origin the conversation disagrees with, a sub-millisecond start.
    fn odd_conversations() -> Vec<Conversation> {
        use crate::api::Turn;
        let turn = |u: &str, a: &str| Turn {
            user_input: u.into(),
            agent_response: a.into(),
            ..Default::default()
        };
        vec![
            Conversation {
                id: "CA-cjk".into(),
                account_id: "other".into(),
                started_at: chrono::DateTime::from_timestamp(1_780_000_000, 123_456_789),
                turns: vec![
                    turn("東京駅 please", "a\u{1b}[31m red"),
                    turn("  ", "plain 🙂"),
                    turn("ok", ""),
                ],
                ..Default::default()
            },
            Conversation {
                id: "CA-epoch".into(),
                started_at: chrono::DateTime::from_timestamp(0, 0),
                channel: "SMS".into(),
                num_turns: Some(0),
                total_duration: Some(0),
                poly_score: Some(0.0),
                ..Default::default()
            },
        ]
    }

    #[test]
    fn the_stored_form_keeps_each_fact_once_and_reads_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = crate::store::Store::open(&dir.path().join("s.db")).unwrap();
        let origin = Origin::new("ws", "p", "live");
        let mut seen = std::collections::HashSet::new();
        let convs: Vec<Conversation> = known_conversations()
            .into_iter()
            .chain(odd_conversations())
            .filter(|c| seen.insert(c.id.clone()))
            .collect();
        store.cache(&origin, &convs).unwrap();
        let (mut compact_bytes, mut stored_bytes) = (0, 0);
        for c in &convs {
            let want = parse_wire(&serde_json::to_string(c).unwrap()).unwrap();
            assert_eq!(
                store.conversation(&origin.key(&c.id)).unwrap().as_ref(),
                Some(&want),
                "{}",
                c.id
            );
            let wire: String = store
                .conn()
                .query_row("SELECT wire FROM conversations WHERE id = ?1", [&c.id], |r| r.get(0))
                .unwrap();
            let v: serde_json::Value = serde_json::from_str(&wire).unwrap();
            assert!(v.get("id").is_none() && v.get("channel").is_none(), "{wire}");
            if c.id == "CA-cjk" {
                assert_eq!(v["account_id"], "other", "a disagreeing origin stays");
                assert_eq!(v["turns"][0]["user_input"], "東京駅 please", "segmented text stays");
                assert!(
                    v["turns"][2].get("user_input").is_none(),
                    "verbatim text is turn_text's"
                );
            }
            (compact_bytes, stored_bytes) = (
                compact_bytes + compact_wire(c).unwrap().len(),
                stored_bytes + wire.len(),
            );
        }
        assert!(
            stored_bytes * 10 < compact_bytes * 7,
            "at least 30% smaller than v5's JSON: {stored_bytes} of {compact_bytes} bytes"
        );
    }

    #[test]
    fn the_stored_form_is_what_the_value_tree_wrote() {
        // Rows cached before `stored` read the serialized text must still compare equal
        // (else every cached row would be rewritten once): same bytes for every known shape.
        let metrics = Conversation {
            id: "CA-metrics".into(),
            metrics: vec![
                ("zeta".into(), vec!["1".into()]),
                ("alpha".into(), vec!["a".into(), "b".into()]),
                ("zeta".into(), vec!["2".into()]),
            ],
            state: serde_json::json!({"b": 1, "a": {"d": [1, {"y": 2, "x": 1}], "c": "{"}}),
            ..Default::default()
        };
        let origins = [Origin::new("ws", "p", "live"), Origin::new("other", "", "draft")];
        let mut compared = 0;
        for c in known_conversations()
            .into_iter()
            .chain(odd_conversations())
            .chain([metrics])
        {
            let verbatim = TranscriptRows::of(&c).verbatim;
            for origin in &origins {
                for v in [&verbatim[..], &[]] {
                    let want = wire::stored_via_value(origin, &c, v).unwrap();
                    assert_eq!(wire::stored(origin, &c, v).unwrap(), want, "{}", c.id);
                    compared += 1;
                }
            }
        }
        assert!(compared > 100, "{compared}");
    }

    #[test]
    fn an_unchanged_conversation_is_not_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = crate::store::Store::open(&dir.path().join("s.db")).unwrap();
        let origin = Origin::new("ws", "p", "live");
        let convs: Vec<Conversation> = known_conversations().into_iter().take(40).collect();
        store.cache(&origin, &convs).unwrap();
        let changes = |store: &crate::store::Store| store.conn().total_changes();
        let before = changes(&store);
        // Summaries of cached transcripts too: the same summary changes nothing.
        store.cache(&origin, &convs).unwrap();
        assert_eq!(changes(&store), before, "nothing rewritten");
        let mut changed = convs[0].clone();
        changed.channel = "WEBCHAT".into();
        changed.turns.truncate(1);
        store.cache(&origin, &[changed.clone()]).unwrap();
        assert!(changes(&store) > before);
        let back = store.conversation(&origin.key(&changed.id)).unwrap().unwrap();
        assert_eq!(
            (back.channel.as_str(), back.turns.len()),
            ("WEBCHAT", changed.turns.len())
        );
    }

    #[test]
    fn a_batch_keeps_temporary_storage_in_memory_only_while_it_is_open() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = crate::store::Store::open(&dir.path().join("s.db")).unwrap();
        let temp_store = |store: &crate::store::Store| -> i64 {
            store.conn().query_row("PRAGMA temp_store", [], |r| r.get(0)).unwrap()
        };
        assert_eq!(temp_store(&store), 0, "the default: files");
        let origin = Origin::new("a", "p", "live");
        let call = |i: usize| Conversation {
            id: format!("CA{i}"),
            started_at: chrono::DateTime::from_timestamp(1_780_000_000 + i as i64, 0),
            ..Default::default()
        };
        let mut batch = store.batch().unwrap();
        for i in 0..96 {
            batch.upsert(&origin, &call(i)).unwrap();
        }
        assert_eq!(batch.commit().unwrap(), 96);
        assert_eq!(temp_store(&store), 0, "back after a commit");
        let mut batch = store.batch().unwrap();
        assert_eq!(
            batch
                .conn
                .query_row("PRAGMA temp_store", [], |r| r.get::<_, i64>(0))
                .unwrap(),
            2,
            "memory while open"
        );
        batch.upsert(&origin, &call(1000)).unwrap();
        drop(batch);
        assert_eq!(temp_store(&store), 0, "back after a rollback");
        let rows: i64 = store
            .conn()
            .query_row("SELECT count(*) FROM conversations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 96, "the dropped batch wrote nothing");
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
        let scope = crate::domain::Scope::env("a", "p", "live");
        let count = |f: &str| store.count(&scope, &crate::domain::Filter::parse(f).unwrap()).unwrap();
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
