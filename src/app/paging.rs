//! The loaded list: compact rows, de-duplication by id, the cursor and the one page in flight.

use std::collections::HashMap;
use std::hash::Hasher;

use chrono::{DateTime, Utc};

use crate::api::{ApiError, Conversation};
use crate::sanitize::sanitize_line;

use super::msg::RequestId;

/// Row flags.
pub const VOICE: u8 = 1;
pub const HANDOFF: u8 = 2;
pub const IN_PROGRESS: u8 = 4;
/// `num_turns > 0` without turns in the list's copy: may be hidden transcripts.
pub const NO_TURNS: u8 = 8;

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
        if c.turns.is_empty() && c.num_turns.unwrap_or(0) > 0 {
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
    pub rows: Vec<Row>,
    /// Hash of id → index of the first row with that hash (a collision just skips dedupe).
    index: HashMap<u64, u32>,
    pub cursor: Option<String>,
    /// The server said there are no more pages (`cursor: null`).
    pub end: bool,
    /// The one page request in flight.
    pub in_flight: Option<RequestId>,
    /// The last page request failed; it is retried automatically or with `r`.
    pub failed: Option<ApiError>,
    /// Bumped at every reload so timers of an older query are ignored.
    pub generation: u64,
    pub window: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

impl Paging {
    /// Appends the conversations not already loaded; returns how many were added.
    pub fn append(&mut self, conversations: &[Conversation]) -> usize {
        let before = self.rows.len();
        for c in conversations {
            let h = id_hash(&c.id);
            if let Some(&i) = self.index.get(&h)
                && *self.rows[i as usize].id == *sanitize_line(&c.id)
            {
                continue;
            }
            let i = self.rows.len() as u32;
            self.index.entry(h).or_insert(i);
            self.rows.push(Row::from_conversation(c));
        }
        self.rows.len() - before
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
            + self.index.capacity() * (std::mem::size_of::<(u64, u32)>() + 1)
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
    fn rows_are_compact() {
        assert!(std::mem::size_of::<Row>() <= 64);
    }
}
