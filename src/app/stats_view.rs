//! The stats view's sub-state: which chart, which bar, the figures and a window fetch under
//! way. Plain data under `State` (the handlers are in `stats`).

use std::sync::Arc;

use crate::api::ListQuery;
use crate::domain::Filter;
use crate::stats::{SplitBy, Stats};

use super::ids::RequestId;

/// The charts, in Tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Chart {
    /// Calls per hour/day (bars), voice and chat.
    #[default]
    Calls,
    /// Top handoff reasons (bars) and the handoff rate over time (line).
    Handoffs,
    /// The latency histogram (bars) and p50/p95/p99 per bucket (lines).
    Latency,
    Intents,
    Topics,
    /// The QA score distribution (ten bars), then the yes-no questions (rows: their "no"s).
    Qa,
    /// Review progress, PolyScore and the split (no bars to select).
    Review,
}

impl Chart {
    pub const ALL: [Chart; 7] = [
        Chart::Calls,
        Chart::Handoffs,
        Chart::Latency,
        Chart::Intents,
        Chart::Topics,
        Chart::Qa,
        Chart::Review,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Chart::Calls => "Calls",
            Chart::Handoffs => "Handoffs",
            Chart::Latency => "Latency",
            Chart::Intents => "Intents",
            Chart::Topics => "Topics",
            Chart::Qa => "QA",
            Chart::Review => "Review & A/B",
        }
    }

    pub(super) fn step(self, by: isize) -> Chart {
        let n = Chart::ALL.len() as isize;
        let i = Chart::ALL.iter().position(|c| *c == self).unwrap_or(0) as isize;
        Chart::ALL[(i + by).rem_euclid(n) as usize]
    }
}

#[derive(Debug, Clone, Default)]
pub struct StatsView {
    pub open: bool,
    /// The request whose answer is wanted (latest wins).
    pub pending: Option<RequestId>,
    pub stats: Option<Arc<Stats>>,
    pub error: Option<String>,
    pub chart: Chart,
    /// The selected bar of the chart.
    pub sel: usize,
    pub split: SplitBy,
    /// The list's filter (and view name) before a drill-down: `esc` in the list restores it.
    pub before_drill: Option<(Filter, Option<String>)>,
    /// Fetching the window's calls from the API into the cache (`ctrl-r`, or on opening what
    /// the cache lacks).
    pub fetch: Option<Fetch>,
    /// How the last fetch ended.
    pub fetch_note: Option<String>,
    /// Whether this opening already fetched what the cache lacked (once per opening, so a
    /// window ending now does not chase its own last seconds).
    pub auto_fetched: bool,
    /// A walk that just completed, unfiltered: sent with the next figures request so the
    /// store records the range as covered.
    pub walked: Option<(i64, i64)>,
}

/// A walk over the window's API pages, each cached as it arrives.
#[derive(Debug, Clone, PartialEq)]
pub struct Fetch {
    /// The page whose answer is wanted: a cancelled walk's late pages are dropped.
    pub req: RequestId,
    pub pages: u64,
    pub calls: u64,
    /// The window, and the oldest / newest start seen: how much of the window is covered.
    pub window: (i64, i64),
    pub seen: Option<(i64, i64)>,
    /// What a completed walk covers, when it is unfiltered: the range up to the walk's start
    /// (later calls may still arrive).
    pub(super) record: Option<(i64, i64)>,
    pub(super) query: ListQuery,
}

impl Fetch {
    /// The share of the window's time span the pages so far cover (pages come in start order).
    pub fn progress(&self) -> f64 {
        let (start, end) = self.window;
        let span = (end - start).max(1) as f64;
        match self.seen {
            None => 0.0,
            Some((lo, hi)) => ((end - lo).max(hi - start) as f64 / span).clamp(0.0, 1.0),
        }
    }
}

impl StatsView {
    /// How many bars the current chart has.
    pub fn bars(&self) -> usize {
        let Some(s) = &self.stats else { return 0 };
        match self.chart {
            Chart::Calls => s.buckets.len(),
            Chart::Handoffs => s.handoff_reasons.len(),
            Chart::Latency => s.latency_histogram.len(),
            Chart::Intents => s.intents.len(),
            Chart::Topics => s.topics.len(),
            Chart::Qa => s.qa.distribution.len() + s.qa.yes_no_questions().count(),
            Chart::Review => 0,
        }
    }
}
