//! The review sub-state: the marks of loaded rows and the changes the store has not confirmed
//! yet. Plain data under `State` (the handlers that change it are in `review`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

use crate::domain::{ConversationKey, Marks, ReviewStatus, TurnRating};

/// Reasons offered by `!` (stored as flag codes).
pub const FLAG_REASONS: [&str; 6] = [
    "wrong_info",
    "wrong_transcription",
    "missing_intent",
    "latency",
    "compliance",
    "other",
];

/// At most this many marks are kept in memory; older entries are reloaded on demand.
pub(super) const MARKS_CAPACITY: usize = 2048;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MarkChange {
    Status(ReviewStatus),
    ToggleFlag(String),
    Note(String),
    /// Sets (or with `None` clears) the rating of turn `turn`.
    RateTurn {
        turn: u32,
        rating: Option<TurnRating>,
    },
}

impl MarkChange {
    /// Applies the change to `m`: the optimistic copy here and the stored one in the worker.
    pub fn apply(self, m: &mut Marks) {
        match self {
            MarkChange::Status(st) => m.status = st,
            MarkChange::ToggleFlag(code) => {
                if !m.flags.remove(&code) {
                    m.flags.insert(code);
                }
            }
            MarkChange::Note(n) => m.note = n,
            MarkChange::RateTurn { turn, rating: Some(r) } => {
                m.turns.insert(turn, r);
            }
            MarkChange::RateTurn { turn, rating: None } => {
                m.turns.remove(&turn);
            }
        }
    }
}

/// Changes of one conversation the store has not confirmed yet.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingMarks {
    /// The marks as last read from (or written to) the store.
    pub saved: Marks,
    /// In the order they were made; `seq` ties each to the worker's answer.
    pub changes: Vec<(u64, MarkChange)>,
}

impl PendingMarks {
    /// What the reviewer sees: the saved marks with the pending changes applied.
    pub fn intended(&self) -> Marks {
        let mut m = self.saved.clone();
        for (_, c) in &self.changes {
            c.clone().apply(&mut m);
        }
        m
    }
}

/// `q` while changes are pending.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum QuitRequest {
    #[default]
    None,
    /// Asked the worker to save now; the app quits when the last change is confirmed.
    Saving,
    /// The store still refuses: the next `q` quits anyway (or the app quits once they are saved).
    Warned,
}

/// Review state: the marks of loaded rows, by conversation id (for the current origin).
#[derive(Debug, Default)]
pub struct ReviewState {
    /// Why the store could not be opened; `None` when marks work.
    pub unavailable: Option<String>,
    /// The marks as shown (pending changes included), for the current origin.
    pub marks: HashMap<String, Marks>,
    /// Changes not confirmed by the store, of any origin (an `e` does not forget them).
    pub pending: BTreeMap<ConversationKey, PendingMarks>,
    /// Why the last write attempt failed, while changes are pending.
    pub store_error: Option<String>,
    pub quit: QuitRequest,
    pub(super) next_seq: u64,
    /// Ids whose marks were asked for (answered or not).
    pub requested: HashSet<String>,
    /// Where `x` writes Markdown exports.
    pub exports_dir: PathBuf,
    /// Conversations whose push to Agent Studio is under way.
    pub pushing: std::collections::BTreeSet<ConversationKey>,
    /// `[review] advance_after_mark`: `R` marking a call reviewed goes on to the next unreviewed.
    pub advance_after_mark: bool,
}

impl ReviewState {
    pub fn get(&self, id: &str) -> Option<&Marks> {
        self.marks.get(id)
    }

    /// Mark changes not written yet (all origins).
    pub fn unsaved(&self) -> usize {
        self.pending.values().map(|p| p.changes.len()).sum()
    }
}
