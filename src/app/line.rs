//! One screen line of the detail pane and what its spans are: the bottom of the transcript's
//! view model, shared by the transcript builder, its turn extras and the score label.

use crate::domain::Speaker;

/// What a span is, so the theme decides its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    Plain,
    Dim,
    Key,
    Time,
    Agent,
    User,
    Dtmf,
    Intent,
    Entity,
    LatencyOk,
    LatencyWarn,
    LatencyBad,
    Translation,
    Marker,
    Warn,
    Title,
    /// A reviewer's 👍 / 👎 under a turn.
    RatedUp,
    RatedDown,
    /// A function call's name, its handoff.
    Function,
    /// ASR details: the correction, the n-best label.
    Asr,
}

/// One screen line of the detail pane.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Line {
    pub spans: Vec<(Tag, String)>,
    /// Who said it, on the lines of an utterance (a scoped search `user:`/`agent:` looks only
    /// there); `None` on metadata, notes and marks.
    pub said_by: Option<Speaker>,
}

impl Line {
    pub(super) fn new() -> Self {
        Line::default()
    }
    pub(crate) fn push(mut self, tag: Tag, text: impl Into<String>) -> Self {
        self.spans.push((tag, text.into()));
        self
    }
    /// The text without styling (search, copy).
    pub fn text(&self) -> String {
        self.spans.iter().map(|(_, s)| s.as_str()).collect()
    }

    /// The part a search looks at: the whole line, or under a `user:`/`agent:` scope only
    /// that speaker's words (the utterance's last span; not its time or label).
    pub fn searched(&self, scope: Option<Speaker>) -> Option<String> {
        match scope {
            None => Some(self.text()),
            Some(sp) if self.said_by == Some(sp) => self.spans.last().map(|(_, s)| s.clone()),
            Some(_) => None,
        }
    }

    /// Whether span `i` is searched under `scope` (see [`Line::searched`]).
    pub fn span_searched(&self, i: usize, scope: Option<Speaker>) -> bool {
        scope.is_none() || (self.said_by == scope && i + 1 == self.spans.len())
    }
}
