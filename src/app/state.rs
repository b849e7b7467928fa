//! Everything the screen shows, owned by the event loop and changed only by `update`.

use std::collections::VecDeque;
use std::sync::Arc;

use chrono::{DateTime, Duration as TimeDelta, FixedOffset, Utc};

use crate::api::{ApiError, Conversation, ErrorKind, ListQuery, TranscriptSearch};
use crate::domain::{Filter, RatingReason, Speaker, Thumbs};
use crate::sanitize::{sanitize_line, wrap};

use super::ids::RequestId;
use super::keymap::KeyMap;
use super::layout::Panes;
use super::live_state::LiveState;
use super::paging::{Order, Paging, Row, Source};
use super::player_state::PlayerState;
use super::review_state::ReviewState;
use super::stats_view::StatsView;
use super::transcript::{Toggles, View};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    List,
    Detail,
}

/// Server-side channel filter (`channel=` query parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelFilter {
    All,
    Voice,
    Chat,
}

impl ChannelFilter {
    pub fn next(self) -> Self {
        match self {
            ChannelFilter::All => ChannelFilter::Voice,
            ChannelFilter::Voice => ChannelFilter::Chat,
            ChannelFilter::Chat => ChannelFilter::All,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            ChannelFilter::All => "all",
            ChannelFilter::Voice => "voice",
            ChannelFilter::Chat => "chat",
        }
    }
    /// The API's channel values (polyai-api.md §2.3: `VOICE-SIP`, `WEBCHAT`, `CHAT`).
    pub fn api_values(self) -> Vec<String> {
        match self {
            ChannelFilter::All => Vec::new(),
            ChannelFilter::Voice => vec!["VOICE-SIP".into()],
            ChannelFilter::Chat => vec!["WEBCHAT".into(), "CHAT".into()],
        }
    }
}

/// The API's `channel=` values for filter channels: `voice`/`chat` name kinds
/// (polyai-api.md §2.3), anything else is sent as written.
pub fn api_channels(channels: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in channels {
        let values = if c.eq_ignore_ascii_case("voice") {
            ChannelFilter::Voice.api_values()
        } else if c.eq_ignore_ascii_case("chat") {
            ChannelFilter::Chat.api_values()
        } else {
            vec![c.clone()]
        };
        for v in values {
            if !out.contains(&v) {
                out.push(v);
            }
        }
    }
    out
}

/// Which calls the list covers: the last so long up to now, or a fixed range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeWindow {
    /// The last `secs` seconds up to now.
    Last { secs: i64 },
    /// From `start` (included) to `end` (excluded).
    Between { start: DateTime<Utc>, end: DateTime<Utc> },
}

impl TimeWindow {
    pub const PRESETS: [(&'static str, i64); 4] =
        [("1h", 3600), ("24h", 86_400), ("7d", 7 * 86_400), ("30d", 30 * 86_400)];

    /// For the header: `last 24h`, or `12-01 09:00 → 12-01 10:00` in the local offset.
    pub fn label(&self, tz: FixedOffset) -> String {
        match self {
            TimeWindow::Last { secs } => {
                let s = *secs;
                if s % 86_400 == 0 && s > 2 * 86_400 {
                    format!("last {}d", s / 86_400)
                } else if s % 3600 == 0 {
                    format!("last {}h", s / 3600)
                } else {
                    format!("last {}m", s / 60)
                }
            }
            TimeWindow::Between { start, end } => {
                let (a, b) = (start.with_timezone(&tz), end.with_timezone(&tz));
                let same_year = a.format("%Y").to_string() == b.format("%Y").to_string();
                let f = if same_year { "%m-%d %H:%M" } else { "%Y-%m-%d %H:%M" };
                format!("{} → {}", a.format(f), b.format(f))
            }
        }
    }

    /// What `w` → custom… takes: a duration back from now (`90m`, `6h`, `3d`, `2w`: 1 minute
    /// to 366 days, with [`crate::domain::duration::parse`]), or a range as `export --start/--end`
    /// takes its ends (`2026-12-01T09:00Z..2026-12-01T10:00Z`, `today`, `yesterday`, with
    /// [`crate::domain::timerange`]).
    pub fn parse(s: &str, now: DateTime<Utc>, tz: FixedOffset) -> Result<TimeWindow, String> {
        let s = s.trim();
        if let Some(range) = crate::domain::timerange::parse_range(s, now, tz) {
            let (start, end) = range?;
            return Ok(TimeWindow::Between { start, end });
        }
        let d = crate::domain::duration::parse(s).map_err(|e| {
            format!(
                "{e} (a window: e.g. 90m, 6h, 3d or 2w, or a range: today, yesterday, 2026-12-01T09:00Z..2026-12-01T10:00Z)"
            )
        })?;
        let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        if !(60..=366 * 86_400).contains(&secs) {
            return Err(format!("{s:?}: a window must be between 1 minute and 366 days"));
        }
        Ok(TimeWindow::Last { secs })
    }

    pub fn range(&self, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        match self {
            TimeWindow::Last { secs } => (now - TimeDelta::seconds(*secs), now),
            TimeWindow::Between { start, end } => (*start, *end),
        }
    }

    /// Whether a call that started at `t` belongs in the window (a fixed range takes no new calls).
    pub fn holds(&self, t: Option<DateTime<Utc>>) -> bool {
        match self {
            TimeWindow::Last { .. } => true,
            TimeWindow::Between { start, end } => t.is_some_and(|t| *start <= t && t < *end),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection {
    Connecting,
    Connected,
    Retrying,
    /// No answer at all (network, timeout).
    Offline,
    /// The API answers, but refuses what this configuration asks (key, project/account id, host).
    Refused,
    /// The API answers with server errors (5xx, or 429 after the retries).
    Failing,
}

impl Connection {
    /// The header's state after a failed request: it says what the last answer was, so a
    /// configuration every request fails with never shows "● connected".
    pub fn after_error(e: &ApiError) -> Connection {
        match e.kind {
            ErrorKind::Network | ErrorKind::Timeout => Connection::Offline,
            _ if e.wrong_id().is_some() => Connection::Refused,
            ErrorKind::Unauthorized
            | ErrorKind::Forbidden
            | ErrorKind::WrongHost
            | ErrorKind::Redirected
            | ErrorKind::Malformed => Connection::Refused,
            ErrorKind::Server | ErrorKind::RateLimited | ErrorKind::Other => Connection::Failing,
            // An answer about this one request (an id that is not there, a page too big, a
            // cursor loop, a refused parameter): the API itself is fine.
            ErrorKind::NotFound | ErrorKind::BadRequest | ErrorKind::TooLarge | ErrorKind::CursorRepeated => {
                Connection::Connected
            }
        }
    }
}

/// A line of text being typed at the bottom of the screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputKind {
    /// `/` in the list: searches transcripts (the cache as you type, the server on Enter).
    ListSearch,
    /// `:`: the filter in its text syntax (`voice handoff duration:>60 unreviewed …`).
    Filter,
    /// `/` in the detail pane: searches the transcript as you type.
    Search,
    /// Custom time window.
    Window,
    /// `a`: the selected conversation's review note.
    Note,
    /// After `b`: the comment of the rating just chosen.
    TurnComment(PendingComment),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub kind: InputKind,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overlay {
    None,
    Help {
        scroll: usize,
    },
    /// `w`: presets and "custom…".
    WindowPicker {
        sel: usize,
    },
    /// `!`: the flag reason picker (`review::FLAG_REASONS`).
    FlagPicker {
        sel: usize,
    },
    /// `b`: the rating picker for one turn (`rating::CHOICES`).
    RatePicker {
        sel: usize,
        target: RateTarget,
    },
    /// `v`: "all conversations" and the saved views of `[views]`.
    ViewPicker {
        sel: usize,
    },
    /// `H`: the selected call's mark history (`app::history`).
    History {
        scroll: usize,
    },
    /// `W`: the review queues of the team database (`app::queue`).
    QueuePicker {
        sel: usize,
    },
}

/// A transcript search that is the list (`/`): results from the cache as you type, then
/// from the server (`query_type=transcript`) once submitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListSearch {
    /// The words, without a `user:`/`agent:` prefix.
    pub text: String,
    pub speaker: Option<Speaker>,
    /// Enter was pressed: the server is asked too.
    pub submitted: bool,
}

impl ListSearch {
    /// `user: refund`, `agent: transfer you` or just words.
    pub fn parse(input: &str, submitted: bool) -> ListSearch {
        let t = input.trim_start();
        let (speaker, rest) = if let Some(r) = strip_prefix_ci(t, "user:") {
            (Some(Speaker::User), r)
        } else if let Some(r) = strip_prefix_ci(t, "agent:") {
            (Some(Speaker::Agent), r)
        } else {
            (None, t)
        };
        ListSearch {
            text: rest.trim().to_string(),
            speaker,
            submitted,
        }
    }

    /// As typed: the input line shows this when `/` is pressed again.
    pub fn input_text(&self) -> String {
        match self.speaker {
            Some(sp) => format!("{}: {}", sp.as_str(), self.text),
            None => self.text.clone(),
        }
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    s.get(..prefix.len())
        .filter(|p| p.eq_ignore_ascii_case(prefix))
        .map(|_| &s[prefix.len()..])
}

/// The list settings a view overrode, as they were before it (`None`: the view left it alone).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BeforeView {
    pub client_env: Option<String>,
    pub channel: Option<ChannelFilter>,
}

/// The header's fixed facts.
#[derive(Debug, Clone, Default)]
pub struct Identity {
    pub account: String,
    pub project: String,
    pub region: String,
}

/// The status area: a persistent error banner plus a transient note.
#[derive(Debug, Clone, Default)]
pub struct Status {
    /// Sanitized `ApiError::headline()` (or another problem), until the next success.
    pub error: Option<String>,
    /// "copied id", "mouse capture on", … shown on the status line until the next key.
    pub note: Option<String>,
    /// "rate limited — waiting 3s", until the next answer arrives.
    pub retry: Option<String>,
}

/// Full conversations (with turns) for the detail pane, least recently used first out.
#[derive(Debug, Default)]
pub struct ConversationCache {
    entries: VecDeque<Arc<Conversation>>,
}

impl ConversationCache {
    pub const CAPACITY: usize = 256;

    pub fn get(&mut self, id: &str) -> Option<Arc<Conversation>> {
        let i = self.entries.iter().position(|c| c.id == id)?;
        let c = self.entries.remove(i)?;
        self.entries.push_back(c.clone());
        Some(c)
    }

    pub fn contains(&self, id: &str) -> bool {
        self.entries.iter().any(|c| c.id == id)
    }

    pub fn insert(&mut self, c: Conversation) {
        if let Some(i) = self.entries.iter().position(|e| e.id == c.id) {
            self.entries.remove(i);
        }
        if self.entries.len() >= Self::CAPACITY {
            self.entries.pop_front();
        }
        self.entries.push_back(Arc::new(c));
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The list pane.
#[derive(Debug, Default)]
pub struct ListState {
    /// The rows on screen: from the API, or from the local cache (`paging.source`).
    pub paging: Paging,
    /// While cached rows are on screen: the API walk that replaces them once it has a screenful.
    pub incoming: Option<Paging>,
    pub sel: usize,
    /// First visible position.
    pub offset: usize,
    /// Newest first (default) or the server's order; `o` toggles.
    pub order: Order,
    /// A jump (`u`, `'`, `J`…) still looking beyond the loaded rows.
    pub seek: Option<Seek>,
    /// Under a filter or view: how many loaded rows are reviewed, of how many.
    pub progress: Option<Progress>,
}

/// `reviewed 7/11` in the list title.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub reviewed: usize,
    pub of: usize,
    /// Some rows' marks are still to come from the store.
    pub partial: bool,
}

impl ListState {
    pub fn visible_len(&self) -> usize {
        self.paging.len()
    }

    pub fn row_at(&self, pos: usize) -> Option<&Row> {
        self.paging.rows.get(pos)
    }

    /// The API walk: hidden behind the cached rows while they are shown, else the list itself.
    pub fn api(&self) -> &Paging {
        self.incoming.as_ref().unwrap_or(&self.paging)
    }

    pub fn api_mut(&mut self) -> &mut Paging {
        self.incoming.as_mut().unwrap_or(&mut self.paging)
    }

    /// Cached rows are on screen because the API failed (offline, or an error banner).
    pub fn from_cache_only(&self) -> bool {
        self.paging.source == Source::Cache && self.incoming.as_ref().is_none_or(|p| p.failed.is_some())
    }

    pub fn selected(&self) -> Option<&Row> {
        self.row_at(self.sel)
    }
}

/// The detail pane.
#[derive(Debug, Default)]
pub struct DetailState {
    pub cache: ConversationCache,
    /// The debounce timer that must fire for the current selection to be fetched.
    pub debounce: Option<RequestId>,
    /// The one fetch whose answer is still wanted (latest wins).
    pub pending: Option<(RequestId, String)>,
    /// Layout of the selected conversation, when loaded.
    pub view: Option<View>,
    pub scroll: usize,
    pub toggles: Toggles,
    /// The search query (lowercase, without its `user:`/`agent:` scope) and the line indices
    /// that match it.
    pub search: String,
    /// The scope of `search`: only this speaker's words (`None`: every line).
    pub search_speaker: Option<Speaker>,
    pub matches: Vec<usize>,
    pub match_idx: usize,
    /// Why the selected conversation could not be loaded.
    pub error: Option<String>,
    /// `n`/`N` moved to another conversation: go to its first (or last) match once laid out.
    pub jump_on_load: Option<bool>,
}

/// The whole app.
#[derive(Debug)]
pub struct State {
    pub keymap: KeyMap,
    pub identity: Identity,
    pub client_env: String,
    pub window: TimeWindow,
    pub channel: ChannelFilter,
    /// `:` / `v`: the combinable filter (applied to the cache in SQL and to API pages by the store).
    pub filter: Filter,
    /// The saved view the filter came from, while unchanged.
    pub view_name: Option<String>,
    /// `[views]` of the config file.
    pub views: Vec<(String, Filter)>,
    /// What the current view changed besides the filter (its environment, the `c` channel),
    /// as it was before: leaving the view puts it back.
    pub before_view: BeforeView,
    /// `/` in the list: a transcript search that replaces the list.
    pub search: Option<ListSearch>,
    /// A local store answers: the list opens from the cache and works offline from it.
    pub cache_first: bool,
    /// The clock, as last reported by the runner.
    pub now: DateTime<Utc>,
    /// The local timezone, supplied by the runner (tests pin it).
    pub tz: FixedOffset,
    pub width: u16,
    pub height: u16,
    pub focus: Pane,
    pub list: ListState,
    pub detail: DetailState,
    pub overlay: Overlay,
    pub input: Option<Input>,
    pub player: PlayerState,
    /// Review marks (from the local store).
    pub review: ReviewState,
    /// Who changed the marks: the `H` overlay and the latest authors (`app::history`).
    pub history: super::history_state::HistoryState,
    pub status: Status,
    pub connection: Connection,
    /// Calls arriving while the list is open (webhooks, polling).
    pub live: LiveState,
    pub mouse: bool,
    pub quit: bool,
    pub(crate) next_req: RequestId,
    /// Agent Studio links for the configured region (`None`: region unknown, no links).
    pub studio: Option<crate::studio::StudioLinks>,
    /// The stats view (`%`).
    pub stats: StatsView,
    /// Scorecards: the forms, the reviewer and the open form (`Q`).
    pub scorecards: super::scorecard_state::ScorecardForms,
    /// The review queue worked here (`W`, `C`), with `[team] database`.
    pub queue: super::queue_state::QueueState,
    /// The team store's sync (`app::team_sync`); stays at its default without one.
    pub team: super::team_state::TeamSync,
}

/// Page size of list requests.
pub const PAGE_LIMIT: u32 = 100;

impl State {
    pub fn new(
        keymap: KeyMap,
        identity: Identity,
        client_env: &str,
        now: DateTime<Utc>,
        tz: FixedOffset,
        (width, height): (u16, u16),
    ) -> Self {
        State {
            keymap,
            identity,
            client_env: client_env.to_string(),
            window: TimeWindow::Last { secs: 86_400 },
            channel: ChannelFilter::All,
            filter: Filter::default(),
            view_name: None,
            views: Vec::new(),
            before_view: BeforeView::default(),
            search: None,
            cache_first: false,
            now,
            tz,
            width,
            height,
            focus: Pane::List,
            list: ListState::default(),
            detail: DetailState::default(),
            overlay: Overlay::None,
            input: None,
            player: PlayerState::default(),
            review: ReviewState::default(),
            history: Default::default(),
            status: Status::default(),
            connection: Connection::Connecting,
            live: LiveState::default(),
            mouse: false,
            quit: false,
            next_req: 1,
            studio: None,
            stats: Default::default(),
            scorecards: Default::default(),
            queue: Default::default(),
            team: Default::default(),
        }
    }

    /// Lines the error banner takes at the current width (at most 3).
    pub fn banner_lines(&self) -> u16 {
        match &self.status.error {
            Some(e) => wrap(&sanitize_line(e), self.width.saturating_sub(2).max(10) as usize)
                .len()
                .min(3) as u16,
            None => 0,
        }
    }

    pub fn panes(&self) -> Panes {
        Panes::compute(
            ratatui::layout::Rect::new(0, 0, self.width, self.height),
            self.banner_lines(),
        )
    }

    /// The list query for `[start, end)` under the current environment and channel filter:
    /// the same shape for list pages and live polls, so both see the same calls.
    pub(crate) fn list_query(&self, start: DateTime<Utc>, end: DateTime<Utc>, cursor: Option<String>) -> ListQuery {
        let filter = self.effective_filter();
        ListQuery {
            start_time: Some(start),
            end_time: Some(end),
            limit: Some(PAGE_LIMIT),
            cursor,
            client_env: Some(self.client_env.clone()),
            channels: api_channels(&filter.channels),
            in_progress: filter.in_progress,
            include_latency: true,
            search: self.search.as_ref().map(|q| TranscriptSearch {
                query: q.text.clone(),
                turn_type: q.speaker.map(|s| s.as_str().to_string()),
            }),
            ..ListQuery::default()
        }
    }

    /// The filter with the `c` channel choice folded in (what the cache and the server see).
    pub fn effective_filter(&self) -> Filter {
        let mut f = self.filter.clone();
        if f.channels.is_empty() && self.channel != ChannelFilter::All {
            f.channels = vec![self.channel.label().to_string()];
        }
        f
    }

    pub(crate) fn take_req(&mut self) -> RequestId {
        let r = self.next_req;
        self.next_req += 1;
        r
    }
}

/// What a jump looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JumpKind {
    /// Status is not reviewed; rows whose marks are not loaded yet count too.
    Unreviewed,
    /// Has at least one review flag (the store is asked for marks not loaded yet).
    Flagged,
    /// The call was handed off to a human.
    Handoff,
}

/// A jump still looking: what for, from which row, and how far it got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seek {
    pub kind: JumpKind,
    pub forward: bool,
    /// The row the jump started from (found again by id: live calls may arrive above it).
    pub from: String,
    /// Rows judged so far, in visiting order (after `from`, then from the other end).
    pub judged: usize,
    /// The rows' source when judged: cached rows replaced by the API's are judged again.
    pub source: Source,
}

impl JumpKind {
    pub fn label(self) -> &'static str {
        match self {
            JumpKind::Unreviewed => "unreviewed",
            JumpKind::Flagged => "flagged",
            JumpKind::Handoff => "handoff",
        }
    }
}

/// The turn being rated: which conversation, which turn (index into its turns).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateTarget {
    pub id: String,
    pub turn: u32,
}

/// A rating chosen in the picker, waiting for its comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingComment {
    pub target: RateTarget,
    pub thumbs: Thumbs,
    pub reason: Option<RatingReason>,
}
