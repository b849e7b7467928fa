//! Messages into `update` and the effects it asks the runner to perform.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use crossterm::event::{KeyEvent, MouseEvent};

use crate::api::{ApiError, AudioDirection, Conversation, ConversationPage, ListQuery, RetryNotice};
use crate::audio::{AudioCommand, AudioEvent};

use crate::store::{ListCursor, ListOrder, SearchQuery};

use crate::domain::{ConversationKey, Filter, Marks, Origin, Scope};

pub use super::ids::RequestId;
use super::paging::Row;
use super::review_state::MarkChange;

/// Everything that can happen to the app. Time arrives only in messages.
// A message is moved once, from a task to the loop; boxing the big answers would only add
// an allocation per page.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    /// The wall clock, sent by the runner about once a second.
    Tick(DateTime<Utc>),
    Page {
        req: RequestId,
        result: Result<ConversationPage, ApiError>,
    },
    Conversation {
        req: RequestId,
        result: Result<Conversation, ApiError>,
    },
    /// The selection rested long enough: fetch its transcript if it is still wanted.
    DetailDue {
        req: RequestId,
    },
    /// The client is waiting before a retry (429 Retry-After, 5xx/network backoff).
    Retrying(RetryNotice),
    /// Time to retry a page that failed with a transient error.
    RetryPage {
        generation: u64,
    },
    /// From the audio engine.
    Audio(AudioEvent),
    /// A recording being saved (`s`) has `bytes` of `total` on disk.
    SaveProgress {
        id: String,
        bytes: u64,
        total: Option<u64>,
    },
    /// The save finished: a one-line summary, or why it failed.
    SaveDone {
        id: String,
        result: Result<String, String>,
    },
    /// From the webhook receiver.
    Live(LiveEvent),
    /// A conversation announced live, fetched by id.
    LiveConversation {
        req: RequestId,
        result: Result<Conversation, ApiError>,
    },
    /// `--poll`: time to look for calls newer than the newest seen.
    PollDue,
    PollPage {
        req: RequestId,
        result: Result<ConversationPage, ApiError>,
    },
    /// Marks loaded from the store for conversations of `origin` (defaults when none).
    Marks {
        origin: Origin,
        marks: Vec<(String, Marks)>,
    },
    /// The mark history of `key`, newest first (`app::history`).
    History {
        key: ConversationKey,
        result: Result<Vec<crate::domain::MarkChange>, String>,
    },
    /// The latest author of each mark field of conversations of `origin` (`app::history`).
    Authors {
        origin: Origin,
        authors: Vec<(
            String,
            std::collections::BTreeMap<crate::domain::MarkField, crate::domain::Stamp>,
        )>,
    },
    /// Mark change `seq` was written: the conversation's stored marks now; or why it was
    /// refused for good (invalid input).
    MarksSaved {
        key: ConversationKey,
        seq: u64,
        result: Result<Marks, String>,
    },
    /// The team database announced a teammate's change (`app::team_sync`).
    TeamChanged,
    /// The team database announced a claim, release or finish in these queues (by id; `None`:
    /// any queue, e.g. after the listener reconnected): `app::queue_live` re-reads the open one.
    QueuesChanged {
        queues: Option<Vec<i64>>,
    },
    /// The store worker exchanged changes with the team database: the conversations whose
    /// marks changed here, how many changes still wait to be sent, how many teammates' changes
    /// are left to read (the next exchanges read them), and why the database did not answer.
    TeamSynced {
        touched: Vec<ConversationKey>,
        unsynced: u64,
        behind: u64,
        error: Option<String>,
    },
    /// The store refused a write (locked, unwritable): the worker keeps every change not
    /// written yet and tries again after `retry_in`.
    MarksPending {
        error: String,
        retry_in: Duration,
    },
    /// A page of cached rows (or why the store could not answer).
    CachedPage {
        req: RequestId,
        result: Result<CachedPage, String>,
    },
    /// The store's copy of a conversation (`None` when not cached).
    CachedConversation {
        req: RequestId,
        conversation: Option<Conversation>,
    },
    /// `x` finished writing the Markdown export.
    Exported {
        result: Result<PathBuf, String>,
    },
    /// The stats view's figures (or why the store could not compute them).
    Stats {
        req: RequestId,
        result: Result<std::sync::Arc<crate::stats::Stats>, String>,
    },
    /// The saved scores of `key`, oldest first (scorecard form).
    Scores {
        key: ConversationKey,
        result: Result<Vec<crate::domain::ScoreRecord>, String>,
    },
    /// A scorecard save of `key` was written (the record), or why not.
    ScoreSaved {
        key: ConversationKey,
        result: Result<crate::domain::ScoreRecord, String>,
    },
    /// A push of `key`'s marks to Agent Studio finished.
    MarksPushed {
        key: ConversationKey,
        result: Result<crate::studio::push::PushReport, String>,
    },
    /// From the team worker (review queues), or a renewal timer.
    Team(super::queue_state::TeamEvent),
}

/// A filter the runner applies to an API page.
#[derive(Debug, Clone)]
pub struct PageFilter {
    pub origin: Origin,
    pub filter: Filter,
}

/// Rows read from the local store.
#[derive(Debug, Clone, Default)]
pub struct CachedPage {
    pub rows: Vec<Row>,
    /// Where the next page starts; `None` at the end.
    pub next: Option<ListCursor>,
}

/// Side effects, one enum per runner that performs them; tests just inspect them.
// An effect is moved once, from `update` to its runner (most are I/O): boxing the I/O work
// would only add an allocation per effect.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Effect {
    /// Network, store and file work: `tui::effects::Runner` spawns it.
    Io(IoEffect),
    /// What needs the terminal: the event loop (`tui::event_loop`) does it.
    Terminal(TerminalEffect),
    /// For the audio engine, which the event loop owns.
    Audio(AudioCommand),
}

/// Work the runner spawns; every answer comes back as a [`Msg`].
#[derive(Debug, Clone)]
pub enum IoEffect {
    FetchPage {
        req: RequestId,
        query: ListQuery,
        /// Judge the page's conversations by this filter before answering (through the store
        /// when there is one, so review marks count).
        filter: Option<PageFilter>,
    },
    FetchConversation {
        req: RequestId,
        id: String,
    },
    /// Fetch a conversation announced live; several may run at once.
    FetchLive {
        req: RequestId,
        id: String,
    },
    /// `--poll`: a page of calls newer than the newest seen (never aborts the list's page).
    FetchPoll {
        req: RequestId,
        query: ListQuery,
    },
    /// Send `msg` back after `delay` (debounce, automatic retry).
    After {
        delay: Duration,
        msg: Box<Msg>,
    },
    /// Download recording `id` to `path` (atomically), reporting `SaveProgress`/`SaveDone`.
    SaveRecording {
        id: String,
        direction: AudioDirection,
        path: PathBuf,
        /// `redacted=` (`None`: the API's default).
        redacted: Option<bool>,
    },
    /// Work for the store worker (caching, marks); without a store the runner drops it.
    Store(StoreRequest),
    /// Write `markdown` to `path` atomically, answering `Msg::Exported`.
    WriteExport {
        path: PathBuf,
        markdown: String,
    },
    /// Push `key`'s stored note and ratings to Agent Studio, answering `Msg::MarksPushed`.
    PushMarks {
        key: ConversationKey,
    },
    /// Work for the team worker (review queues); without `[team]` the runner drops it.
    Team(super::queue_state::TeamRequest),
}

/// What the event loop does with the terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TerminalEffect {
    /// Put text on the clipboard via OSC 52.
    Copy(String),
    SetMouseCapture(bool),
    /// Ctrl-Z: restore the terminal, stop the process, re-init on resume.
    Suspend,
    Quit,
}

/// What the webhook receiver reports, already reduced to what the list needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveEvent {
    /// The receiver is listening (`true`) or has stopped.
    Receiver { up: bool },
    /// `conversation.completed`.
    Completed { id: String, environment: String },
    /// `handoff.created`.
    Handoff {
        id: String,
        environment: String,
        reason: String,
    },
    /// `alerts.triggered` (`resolved: false`) or `alerts.resolved`: shown in the status line.
    /// `summary` is server text (sanitized again here).
    Alert { resolved: bool, summary: String },
}

/// Work for the store worker.
#[derive(Debug, Clone)]
pub enum StoreRequest {
    Cache {
        origin: Origin,
        conversations: Vec<Conversation>,
    },
    LoadMarks {
        origin: Origin,
        ids: Vec<String>,
    },
    /// One mark change, answered by [`Msg::MarksSaved`](Msg::MarksSaved) with the same
    /// `seq` once written, or by [`Msg::MarksPending`](Msg::MarksPending) while the store
    /// refuses it (the worker keeps it and retries).
    Change {
        key: ConversationKey,
        change: MarkChange,
        seq: u64,
    },
    /// Retry the changes not written yet now, without waiting for the backoff (before a quit).
    FlushMarks,
    /// Exchange changes with the team database now (answered by `Msg::TeamSynced`).
    TeamSync,
    /// A page of the cached list, answered by [`Msg::CachedPage`](Msg::CachedPage).
    List {
        req: RequestId,
        scope: Scope,
        filter: Filter,
        order: ListOrder,
        after: Option<ListCursor>,
        limit: usize,
    },
    /// Conversations whose cached transcript matches, newest first, as one [`Msg::CachedPage`](Msg::CachedPage).
    Search {
        req: RequestId,
        query: SearchQuery,
        max: usize,
    },
    /// An API page under a filter: cache it all, answer [`Msg::Page`](Msg::Page) with the
    /// conversations the filter keeps (judged in SQL, review marks included).
    FilterPage {
        req: RequestId,
        origin: Origin,
        filter: Filter,
        page: ConversationPage,
    },
    /// The stats view's figures, answered by [`Msg::Stats`](Msg::Stats).
    Stats {
        req: RequestId,
        scope: Scope,
        filter: Filter,
        request: crate::stats::StatsRequest,
    },
    /// The mark history of one conversation, answered by [`Msg::History`](Msg::History).
    History {
        key: ConversationKey,
    },
    /// The saved scores of one conversation, answered by [`Msg::Scores`](Msg::Scores).
    LoadScores {
        key: ConversationKey,
    },
    /// Appends one scorecard save, answered by [`Msg::ScoreSaved`](Msg::ScoreSaved).
    SaveScore {
        key: ConversationKey,
        record: crate::domain::ScoreRecord,
    },
    /// The cached copy of one conversation, answered by [`Msg::CachedConversation`](Msg::CachedConversation).
    LoadConversation {
        req: RequestId,
        key: ConversationKey,
    },
}
