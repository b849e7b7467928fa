//! The live sub-state: calls arriving while the list is open (webhook, `--poll`). Plain data
//! under `State` (the handlers are in `live`).

use std::collections::VecDeque;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::api::CursorGuard;

use super::ids::RequestId;
use super::paging::Row;

/// A `--poll` walk over `[start, end)` in flight.
#[derive(Debug, Clone)]
pub struct PollWalk {
    pub req: RequestId,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The cursors this walk has followed.
    pub cursors: CursorGuard,
}

/// Live bookkeeping of the list.
#[derive(Debug, Default)]
pub struct LiveState {
    /// The webhook receiver is up: the header says "● live".
    pub listening: bool,
    /// Rows added live that the user has not scrolled to yet.
    pub new_count: usize,
    /// Live fetches in flight (request → conversation id); answers of other requests are dropped.
    pub fetching: Vec<(RequestId, String)>,
    /// `--poll`: how often to look for new calls without webhooks.
    pub poll_every: Option<Duration>,
    pub poll: Option<PollWalk>,
    /// Handoffs announced before their conversation is listed: (id, reason), newest last.
    pub(super) pending_handoffs: VecDeque<(String, String)>,
    /// Oldest first, while the walk has not reached the window's end: new calls wait here,
    /// so they land after the rows older than them.
    pub(super) held: Vec<Row>,
}

impl LiveState {
    /// A new query: answers meant for the old list are dropped, the counter starts over.
    pub fn forget_list(&mut self) {
        self.new_count = 0;
        self.fetching.clear();
        self.poll = None;
        self.held.clear();
    }
}
