//! The review queue worked in the TUI (`W` picks one, `C` claims the next item): plain data
//! under `State`, changed in `app::queue`. The team worker (`tui::team_worker`) does the
//! database work a [`TeamRequest`] asks for and answers with a [`TeamEvent`].

use std::collections::BTreeMap;
use std::time::Duration;

use crate::domain::scorecard::{Answer, Scorecard};

/// Items done (every wanted review finished), of all items, and the reviews this reviewer
/// finished.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueProgress {
    pub items: i64,
    pub items_done: i64,
    pub mine: i64,
}

/// A queue of the team database, as the picker lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueLine {
    pub name: String,
    pub scorecard: String,
    pub progress: QueueProgress,
}

/// A queue opened in the list: its form and its items in sample order.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenedQueue {
    /// The database's id: claims notifications name the queue by it.
    pub id: i64,
    pub name: String,
    pub scorecard: Scorecard,
    /// Conversation id and when it started (RFC 3339 as sampled, may be empty).
    pub items: Vec<(String, String)>,
    pub progress: QueueProgress,
}

/// Work for the team worker; each is answered by one [`TeamEvent`] (a release is not).
#[derive(Debug, Clone, PartialEq)]
pub enum TeamRequest {
    /// The queues with their progress: [`TeamEvent::Queues`].
    ListQueues,
    /// One queue's form and items: [`TeamEvent::Opened`].
    Open { queue: String },
    /// The next item nobody holds, for `lease`: [`TeamEvent::Claimed`].
    Claim { queue: String, lease: Duration },
    /// Extends the claim on `id`: [`TeamEvent::Renewed`].
    Renew { queue: String, id: String, lease: Duration },
    /// The queue's progress again (a teammate claimed or finished): [`TeamEvent::Progress`].
    Progress { queue: String },
    /// Gives the claim on `id` back (unanswered: a failure only costs the lease).
    Release { queue: String, id: String },
    /// Finishes the claim on `id`, with the queue form's answers (or none: marked reviewed):
    /// [`TeamEvent::Finished`].
    Finish {
        queue: String,
        id: String,
        answers: BTreeMap<String, Answer>,
    },
}

/// The team worker's answers; errors are one line, already saying what to do.
#[derive(Debug, Clone, PartialEq)]
pub enum TeamEvent {
    Queues(Result<Vec<QueueLine>, String>),
    Opened(Result<OpenedQueue, String>),
    /// The claimed id (`None`: nothing left for this reviewer), and the progress after it.
    Claimed {
        queue: String,
        result: Result<(Option<String>, QueueProgress), String>,
    },
    /// Whether the claim is still held.
    Renewed {
        queue: String,
        id: String,
        result: Result<bool, String>,
    },
    /// The claim was finished: the progress after it.
    Finished {
        queue: String,
        id: String,
        result: Result<QueueProgress, String>,
    },
    /// The queue's progress, re-read after a teammate's change.
    Progress {
        queue: String,
        result: Result<QueueProgress, String>,
    },
    /// Timer: time to renew claim number `seq`, if it is still held.
    RenewDue {
        seq: u64,
    },
}

/// The claim held on the selected item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub id: String,
    /// Counts claims, so a renewal timer of an earlier claim does nothing.
    pub seq: u64,
    /// A finish was sent; waiting for the database.
    pub finishing: bool,
}

/// The queue the list shows.
#[derive(Debug, Clone, PartialEq)]
pub struct ActiveQueue {
    pub id: i64,
    pub name: String,
    pub scorecard: Scorecard,
    pub progress: QueueProgress,
    /// The list's generation when the queue filled it: a reload since means the list left it.
    pub generation: u64,
    pub claim: Option<Claim>,
    /// `C` was sent; waiting for the database.
    pub claiming: bool,
    /// A progress re-read was sent and not answered yet.
    pub refreshing: bool,
    /// Teammates changed the queue again while it was being re-read: one more re-read is due.
    pub refresh_again: bool,
}

/// Everything about queues in the TUI.
#[derive(Debug)]
pub struct QueueState {
    /// `[team] database` is configured (a worker answers); else `W` says why it does nothing.
    pub enabled: bool,
    /// How long a claim holds (`[team] lease`, default 15 min); renewed every third of it.
    pub lease: Duration,
    /// The picker's entries (`None`: still asked for).
    pub lines: Option<Result<Vec<QueueLine>, String>>,
    /// The picker is waiting for a queue to open.
    pub opening: Option<String>,
    pub active: Option<ActiveQueue>,
    pub(crate) next_seq: u64,
}

impl Default for QueueState {
    fn default() -> Self {
        QueueState {
            enabled: false,
            // `team::DEFAULT_LEASE`; the runner sets the configured one.
            lease: Duration::from_secs(15 * 60),
            lines: None,
            opening: None,
            active: None,
            next_seq: 0,
        }
    }
}

impl QueueState {
    /// The claimed item, when one is held.
    pub fn claimed(&self) -> Option<&str> {
        self.active.as_ref()?.claim.as_ref().map(|c| c.id.as_str())
    }

    /// The header's "queue NAME · 7/50 done · you 3".
    pub fn header(&self) -> Option<String> {
        let q = self.active.as_ref()?;
        let p = q.progress;
        Some(format!(
            "queue {} · {}/{} done · you {}",
            q.name, p.items_done, p.items, p.mine
        ))
    }
}
