//! The mark history's state: the overlay's call and changes, and the latest author of each
//! field of loaded calls (handled in `app::history`).

use std::collections::{BTreeMap, HashMap};

use crate::domain::{ConversationKey, MarkChange, MarkField, Stamp};

/// The latest change of each field of one conversation.
pub type Authors = BTreeMap<MarkField, Stamp>;

#[derive(Debug, Default)]
pub struct HistoryState {
    /// The conversation the overlay shows.
    pub key: Option<ConversationKey>,
    /// Its changes, newest first, once the store answered (or why it could not).
    pub changes: Option<Result<Vec<MarkChange>, String>>,
    /// The latest authors of loaded conversations of the current origin, by id.
    pub authors: HashMap<String, Authors>,
}
