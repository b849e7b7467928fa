//! Everything the screen shows, owned by the event loop and changed only by `update`.

use std::collections::VecDeque;
use std::sync::Arc;

use chrono::{DateTime, Duration as TimeDelta, FixedOffset, Utc};

use crate::api::{Conversation, ListQuery};
use crate::sanitize::{sanitize_line, wrap};

use super::keymap::KeyMap;
use super::layout::Panes;
use super::live::LiveState;
use super::msg::RequestId;
use super::paging::{Order, Paging, Row};
use super::player::PlayerState;
use super::review::ReviewState;
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

/// How far back the list reaches from "now".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeWindow {
    pub secs: i64,
}

impl TimeWindow {
    pub const PRESETS: [(&'static str, i64); 4] =
        [("1h", 3600), ("24h", 86_400), ("7d", 7 * 86_400), ("30d", 30 * 86_400)];

    pub fn label(&self) -> String {
        let s = self.secs;
        if s % 86_400 == 0 && s > 2 * 86_400 {
            format!("{}d", s / 86_400)
        } else if s % 3600 == 0 {
            format!("{}h", s / 3600)
        } else {
            format!("{}m", s / 60)
        }
    }

    /// Parses `90m`, `6h`, `3d`, `2w` (1 minute to 366 days).
    pub fn parse(s: &str) -> Result<TimeWindow, String> {
        let s = s.trim();
        let err = || format!("{s:?} is not a window: write e.g. 90m, 6h, 3d or 2w");
        let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).ok_or_else(err)?);
        let n: i64 = num.parse().map_err(|_| err())?;
        let mult = match unit.trim() {
            "m" | "min" => 60,
            "h" => 3600,
            "d" => 86_400,
            "w" => 7 * 86_400,
            _ => return Err(err()),
        };
        let secs = n.checked_mul(mult).ok_or_else(err)?;
        if !(60..=366 * 86_400).contains(&secs) {
            return Err(format!("{s:?}: a window must be between 1 minute and 366 days"));
        }
        Ok(TimeWindow { secs })
    }

    pub fn range(&self, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        (now - TimeDelta::seconds(self.secs), now)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection {
    Connecting,
    Connected,
    Retrying,
    Offline,
}

/// A line of text being typed at the bottom of the screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputKind {
    /// `/` in the list: filters loaded rows as you type.
    Filter,
    /// `/` in the detail pane: searches the transcript as you type.
    Search,
    /// Custom time window.
    Window,
    /// `a`: the selected conversation's review note.
    Note,
    /// After `b`: the comment of the rating just chosen.
    TurnComment(super::rating::PendingComment),
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
        target: super::rating::RateTarget,
    },
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
    pub paging: Paging,
    /// Position in the visible rows (the filtered view when a filter is set).
    pub sel: usize,
    /// First visible position.
    pub offset: usize,
    /// Lowercased `/` filter over loaded rows; empty = none.
    pub filter: String,
    /// Row indices matching `filter` (only when `filter` is set).
    pub view: Vec<u32>,
    /// Newest first (default) or the server's order; `o` toggles.
    pub order: Order,
}

impl ListState {
    pub fn visible_len(&self) -> usize {
        if self.filter.is_empty() {
            self.paging.len()
        } else {
            self.view.len()
        }
    }

    pub fn row_at(&self, pos: usize) -> Option<&Row> {
        if self.filter.is_empty() {
            self.paging.rows.get(pos)
        } else {
            self.view.get(pos).and_then(|&i| self.paging.rows.get(i as usize))
        }
    }

    pub fn selected(&self) -> Option<&Row> {
        self.row_at(self.sel)
    }
}

/// The detail pane.
#[derive(Debug)]
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
    /// The search query (lowercase) and the line indices that match it.
    pub search: String,
    pub matches: Vec<usize>,
    pub match_idx: usize,
    /// Why the selected conversation could not be loaded.
    pub error: Option<String>,
}

impl Default for DetailState {
    fn default() -> Self {
        DetailState {
            cache: ConversationCache::default(),
            debounce: None,
            pending: None,
            view: None,
            scroll: 0,
            toggles: Toggles {
                intents: true,
                translation: false,
            },
            search: String::new(),
            matches: Vec::new(),
            match_idx: 0,
            error: None,
        }
    }
}

/// The whole app.
#[derive(Debug)]
pub struct State {
    pub keymap: KeyMap,
    pub identity: Identity,
    pub client_env: String,
    pub window: TimeWindow,
    pub channel: ChannelFilter,
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
    pub status: Status,
    pub connection: Connection,
    /// Calls arriving while the list is open (webhooks, polling).
    pub live: LiveState,
    pub mouse: bool,
    pub quit: bool,
    pub(crate) next_req: RequestId,
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
            window: TimeWindow { secs: 86_400 },
            channel: ChannelFilter::All,
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
            status: Status::default(),
            connection: Connection::Connecting,
            live: LiveState::default(),
            mouse: false,
            quit: false,
            next_req: 1,
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
        ListQuery {
            start_time: Some(start),
            end_time: Some(end),
            limit: Some(PAGE_LIMIT),
            cursor,
            client_env: Some(self.client_env.clone()),
            channels: self.channel.api_values(),
            include_latency: true,
            ..ListQuery::default()
        }
    }

    pub(crate) fn take_req(&mut self) -> RequestId {
        let r = self.next_req;
        self.next_req += 1;
        r
    }
}
