//! The loaded list: compact rows, de-duplication by id, the cursor and the one page in flight.
//!
//! Two orders. Oldest first is the server's own: one cursor walk over the window. Newest first
//! walks the window backwards in time slices `[end − Δ, end)`: each slice's cursor is walked to
//! its end, then its rows are shown reversed, below what is already loaded. Δ adapts so that a
//! slice holds about one to three pages.

use std::collections::{HashMap, VecDeque};
use std::hash::Hasher;

use chrono::{DateTime, Utc};

use crate::api::{ApiError, Conversation, CursorGuard};
use crate::sanitize::sanitize_line;
use crate::store::{ListCursor, ListRow};

use super::ids::RequestId;

/// Row flags.
pub const VOICE: u8 = 1;
pub const HANDOFF: u8 = 2;
pub const IN_PROGRESS: u8 = 4;
/// `num_turns > 0` without turns in the list's copy: may be hidden transcripts.
pub const NO_TURNS: u8 = 8;
/// Arrived live (webhook or poll) after the list was loaded.
pub const LIVE: u8 = 16;

/// Display order of the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    /// Newest at the top: the window is walked backwards in time slices.
    #[default]
    NewestFirst,
    /// The server's order: one ascending cursor walk.
    OldestFirst,
}

impl Order {
    pub fn toggled(self) -> Self {
        match self {
            Order::NewestFirst => Order::OldestFirst,
            Order::OldestFirst => Order::NewestFirst,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Order::NewestFirst => "newest first",
            Order::OldestFirst => "oldest first",
        }
    }
}

/// Where the rows on screen come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Source {
    #[default]
    Api,
    /// The local store: instantly at open, and when the API cannot be reached.
    Cache,
}

/// First slice length of a newest-first walk.
pub const FIRST_SLICE_SECS: i64 = 3600;
/// Slices never get shorter than this.
pub const MIN_SLICE_SECS: i64 = 60;

/// A newest-first slice being walked; its rows are held back until its cursor ends, so rows
/// never move under the selection.
#[derive(Debug, Clone)]
pub struct Slice {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub cursor: Option<String>,
    pub pages: u32,
    /// The cursors this slice's walk has followed.
    pub cursors: CursorGuard,
    /// In server order (ascending).
    pub rows: Vec<Row>,
}

/// Next slice length: double it after a sparse slice (< half a page), halve it after one that
/// took more than three pages.
pub fn adapt_delta(delta_secs: i64, rows: usize, pages: u32, page_limit: u32) -> i64 {
    if pages > 3 {
        (delta_secs / 2).max(MIN_SLICE_SECS)
    } else if rows < (page_limit as usize).div_ceil(2) {
        delta_secs.saturating_mul(2)
    } else {
        delta_secs
    }
}

/// What the list needs of one conversation (≈ 56 bytes + the id and handoff reason).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub id: Box<str>,
    /// Unix seconds; `i64::MIN` when unknown.
    pub started: i64,
    /// Seconds; `u32::MAX` when unknown.
    pub duration: u32,
    pub turns: u32,
    pub flags: u8,
    /// Sanitized; empty without a handoff.
    pub handoff_reason: Box<str>,
}

impl Row {
    pub fn from_conversation(c: &Conversation) -> Self {
        let mut flags = 0;
        if c.is_voice() {
            flags |= VOICE;
        }
        if c.handoff {
            flags |= HANDOFF;
        }
        if c.in_progress {
            flags |= IN_PROGRESS;
        }
        if c.transcript_hidden() {
            flags |= NO_TURNS;
        }
        Row {
            id: sanitize_line(&c.id).into_boxed_str(),
            started: c.started_at.map(|t| t.timestamp()).unwrap_or(i64::MIN),
            duration: c.total_duration.unwrap_or(u32::MAX),
            turns: c.turn_count(),
            flags,
            handoff_reason: sanitize_line(&c.handoff_reason).into_boxed_str(),
        }
    }

    /// A row of the local store's list.
    pub fn from_list_row(r: &ListRow) -> Self {
        let mut flags = 0;
        if crate::api::model::is_voice_channel(&r.channel) {
            flags |= VOICE;
        }
        if r.handoff {
            flags |= HANDOFF;
        }
        if r.in_progress {
            flags |= IN_PROGRESS;
        }
        if r.transcript_hidden {
            flags |= NO_TURNS;
        }
        Row {
            id: sanitize_line(&r.key.id).into_boxed_str(),
            started: r.started_at.map(|t| t.timestamp()).unwrap_or(i64::MIN),
            duration: r.total_duration.unwrap_or(u32::MAX),
            turns: r.num_turns.unwrap_or(0),
            flags,
            handoff_reason: sanitize_line(&r.handoff_reason).into_boxed_str(),
        }
    }

    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    pub fn started_at(&self) -> Option<DateTime<Utc>> {
        (self.started != i64::MIN)
            .then(|| DateTime::from_timestamp(self.started, 0))
            .flatten()
    }
}

/// The id's hash: the index stores 8 bytes per row instead of a second copy of the id.
fn id_hash(id: &str) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    h.write(id.as_bytes());
    h.finish()
}

/// Loaded rows of one query (one time window, client_env and channel filter).
#[derive(Debug, Default)]
pub struct Paging {
    /// A deque: calls arriving live go on top in O(1), whatever is loaded below them.
    pub rows: VecDeque<Row>,
    /// Hash of id → sequence number of the first row with that hash (a collision just skips
    /// dedupe). A row's index is `seq - base`, so inserting at the front is O(1) for the index.
    index: HashMap<u64, i64>,
    /// Sequence number of `rows[0]`.
    base: i64,
    pub cursor: Option<String>,
    /// Oldest first: the cursors the walk has followed (a repeat stops it with an error).
    pub cursors: CursorGuard,
    /// The server said there are no more pages (`cursor: null`).
    pub end: bool,
    /// The one page request in flight.
    pub in_flight: Option<RequestId>,
    /// The last page request failed; it is retried automatically or with `r`.
    pub failed: Option<ApiError>,
    /// Bumped at every reload so timers of an older query are ignored.
    pub generation: u64,
    pub window: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// Newest first: the slice being walked.
    pub slice: Option<Slice>,
    /// Newest first: where the next slice ends (`None` = the window's end).
    pub next_end: Option<DateTime<Utc>>,
    /// Newest first: length of the next slice.
    pub delta_secs: i64,
    pub source: Source,
    /// `Source::Cache`: where the next store page starts.
    pub cache_after: Option<ListCursor>,
    /// How many conversations the project holds, where the API says (the Data API list).
    pub total: Option<u64>,
}

impl Paging {
    /// Appends the conversations not already loaded; returns how many were added.
    pub fn append(&mut self, conversations: &[Conversation]) -> usize {
        self.append_rows(conversations.iter().map(Row::from_conversation))
    }

    /// Appends the rows not already loaded; returns how many were added.
    pub fn append_rows(&mut self, rows: impl IntoIterator<Item = Row>) -> usize {
        let before = self.rows.len();
        for row in rows {
            if self.position(&row.id).is_some() {
                continue;
            }
            let seq = self.base + self.rows.len() as i64;
            self.index.entry(id_hash(&row.id)).or_insert(seq);
            self.rows.push_back(row);
        }
        self.rows.len() - before
    }

    /// Puts a row above all others unless its id is loaded; returns whether it was added.
    pub fn push_front(&mut self, row: Row) -> bool {
        if self.position(&row.id).is_some() {
            return false;
        }
        self.base -= 1;
        self.index.entry(id_hash(&row.id)).or_insert(self.base);
        self.rows.push_front(row);
        true
    }

    /// Index of the row with this (sanitized) id, if loaded.
    pub fn position(&self, id: &str) -> Option<usize> {
        let &seq = self.index.get(&id_hash(id))?;
        let i = usize::try_from(seq - self.base).ok()?;
        self.rows.get(i).filter(|r| *r.id == *id).map(|_| i)
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Bytes held for the loaded rows: the row vector, their strings and the id index.
    pub fn memory_bytes(&self) -> usize {
        let strings: usize = self.rows.iter().map(|r| r.id.len() + r.handoff_reason.len()).sum();
        self.rows.capacity() * std::mem::size_of::<Row>()
            + strings
            // hashbrown: one control byte plus the (u64, u32) slot per bucket.
            + self.index.capacity() * (std::mem::size_of::<(u64, i64)>() + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(id: &str) -> Conversation {
        Conversation {
            id: id.into(),
            channel: "VOICE-SIP".into(),
            num_turns: Some(3),
            ..Default::default()
        }
    }

    #[test]
    fn duplicates_are_dropped() {
        let mut p = Paging::default();
        assert_eq!(p.append(&[conv("a"), conv("b"), conv("a")]), 2);
        assert_eq!(p.append(&[conv("b"), conv("c")]), 1);
        let ids: Vec<&str> = p.rows.iter().map(|r| &*r.id).collect();
        assert_eq!(ids, ["a", "b", "c"]);
        assert!(p.rows[0].has(VOICE) && p.rows[0].has(NO_TURNS));
    }

    #[test]
    fn front_inserts_keep_the_index_right() {
        let mut p = Paging::default();
        p.append(&[conv("b"), conv("c")]);
        assert!(p.push_front(Row::from_conversation(&conv("a"))));
        assert!(!p.push_front(Row::from_conversation(&conv("c"))));
        assert_eq!(p.append(&[conv("a"), conv("d")]), 1);
        let ids: Vec<&str> = p.rows.iter().map(|r| &*r.id).collect();
        assert_eq!(ids, ["a", "b", "c", "d"]);
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(p.position(id), Some(i));
        }
        assert_eq!(p.position("zz"), None);
    }

    #[test]
    fn slice_length_adapts() {
        assert_eq!(adapt_delta(3600, 10, 1, 100), 7200, "sparse: double");
        assert_eq!(adapt_delta(3600, 49, 1, 100), 7200);
        assert_eq!(adapt_delta(3600, 50, 1, 100), 3600, "half a page or more: keep");
        assert_eq!(adapt_delta(3600, 300, 3, 100), 3600, "three pages: keep");
        assert_eq!(adapt_delta(3600, 301, 4, 100), 1800, "more than three: halve");
        assert_eq!(adapt_delta(90, 900, 9, 100), MIN_SLICE_SECS, "never below a minute");
    }

    #[test]
    fn rows_are_compact() {
        assert!(std::mem::size_of::<Row>() <= 64);
    }
}
