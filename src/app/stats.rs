//! The stats view (`%`): charts of the current window, environment and filter, computed by the
//! store worker (so opening it never blocks input). Each chart is navigable; Enter on a bar lists
//! exactly its calls (a drill-down filter word), and `esc` in the list comes back here.

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent};

use super::keymap::{Action, StatsAction};
use super::list::set_filter;
use super::msg::{Effect, IoEffect, RequestId, StoreRequest};
use super::state::{Overlay, State};
pub use super::stats_view::{Chart, Fetch, StatsView};
use chrono::{DateTime, Utc};

use crate::domain::{Filter, Scope};
use crate::stats::{SplitBy, Stats, StatsRequest, latency_bin_bounds, qa_bucket_bounds};

/// Pages of the window fetch: the API's largest page, to take as few requests as possible.
const FETCH_PAGE: u32 = 1000;

/// `ctrl-r`: walks the window's pages from the API (under the list's environment and channel
/// filter) and caches them, then computes the figures again; again (or `esc`) cancels.
pub fn toggle_fetch(s: &mut State, fx: &mut Vec<Effect>) {
    if s.stats.fetch.take().is_some() {
        s.stats.fetch_note = Some("fetch cancelled; the figures cover what was cached".into());
        request(s, fx);
        return;
    }
    let (start, end) = s.window.range(s.now);
    start_fetch(s, start, end, fx);
}

/// Walks `[start, end)`'s pages from the API into the cache (the progress bar shows it).
fn start_fetch(s: &mut State, start: DateTime<Utc>, end: DateTime<Utc>, fx: &mut Vec<Effect>) {
    let mut query = s.list_query(start, end, None);
    query.search = None;
    query.limit = Some(FETCH_PAGE);
    let unfiltered = query.channels.is_empty() && query.in_progress.is_none();
    let (start, end) = (start.timestamp_millis(), end.timestamp_millis());
    let req = s.take_req();
    s.stats.fetch_note = None;
    s.stats.fetch = Some(Fetch {
        req,
        pages: 0,
        calls: 0,
        window: (start, end),
        seen: None,
        record: unfiltered.then(|| (start, end.min(s.now.timestamp_millis()))),
        query: query.clone(),
    });
    // Not `FetchPage`: that would abort the list's own page in flight.
    fx.push(Effect::Io(IoEffect::FetchPoll { req, query }));
}

/// A page of the window fetch (true), or someone else's (false).
pub fn on_fetch_page(
    s: &mut State,
    req: RequestId,
    result: &Result<crate::api::ConversationPage, crate::api::ApiError>,
    fx: &mut Vec<Effect>,
) -> bool {
    if s.stats.fetch.as_ref().is_none_or(|f| f.req != req) {
        return false;
    }
    let origin = crate::domain::Origin::new(&s.identity.account, &s.identity.project, &s.client_env);
    let page = match result {
        Ok(page) => page,
        Err(e) => {
            s.stats.fetch = None;
            s.stats.fetch_note = Some(format!("fetch stopped: {}", e.headline()));
            request(s, fx);
            return true;
        }
    };
    let next_req = s.take_req();
    let Some(f) = s.stats.fetch.as_mut() else { return true };
    f.pages += 1;
    f.calls += page.conversations.len() as u64;
    for t in page.conversations.iter().filter_map(|c| c.started_at) {
        let t = t.timestamp_millis();
        f.seen = Some(f.seen.map_or((t, t), |(lo, hi)| (lo.min(t), hi.max(t))));
    }
    if !page.conversations.is_empty() {
        fx.push(Effect::Io(IoEffect::Store(StoreRequest::Cache {
            origin,
            conversations: page.conversations.clone(),
        })));
    }
    match page.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(cursor) if !page.conversations.is_empty() => {
            f.req = next_req;
            f.query.cursor = Some(cursor.to_string());
            fx.push(Effect::Io(IoEffect::FetchPoll {
                req: next_req,
                query: f.query.clone(),
            }));
        }
        _ => {
            s.stats.fetch_note = Some(format!(
                "fetched {} in {}",
                crate::output::count(f.calls, "call"),
                crate::output::count(f.pages, "page")
            ));
            s.stats.walked = f.record;
            s.stats.fetch = None;
            // Queued behind the caching on the one store worker, so it sees every page.
            request(s, fx);
        }
    }
    true
}

/// Where a chart's selection starts: the latest bucket for calls over time, else the largest.
fn default_sel(v: &StatsView) -> usize {
    match v.chart {
        Chart::Calls => v.bars().saturating_sub(1),
        _ => 0,
    }
}

/// The store request for the current window, environment and filter.
pub fn request(s: &mut State, fx: &mut Vec<Effect>) {
    let (start, end) = s.window.range(s.now);
    let req = s.take_req();
    s.stats.pending = Some(req);
    s.stats.error = None;
    let scope = match s.stats.split {
        SplitBy::Env => Scope::project(&s.identity.account, &s.identity.project),
        _ => Scope::env(&s.identity.account, &s.identity.project, &s.client_env),
    };
    fx.push(Effect::Io(IoEffect::Store(StoreRequest::Stats {
        req,
        scope,
        filter: s.effective_filter(),
        request: StatsRequest {
            since_ms: start.timestamp_millis(),
            until_ms: end.timestamp_millis(),
            offset_ms: i64::from(s.tz.local_minus_utc()) * 1000,
            split: s.stats.split,
            record_walk: s.stats.walked.take(),
        },
    })));
}

/// The stats keys reaching the list (the view, while open, takes them first in `on_key`).
pub fn on_action(s: &mut State, action: StatsAction, fx: &mut Vec<Effect>) {
    match action {
        StatsAction::View => open(s, fx),
        // Split and fetch act inside the view only (`on_key` takes them while it is open);
        // outside it they leave the list alone and `noop` says why.
        StatsAction::Split | StatsAction::Fetch => {}
    }
}

/// `%`: opens the view and asks for the figures.
pub fn open(s: &mut State, fx: &mut Vec<Effect>) {
    if !s.cache_first {
        s.status.note = Some("the stats view needs the local store (it is unavailable)".into());
        return;
    }
    s.stats.open = true;
    s.stats.auto_fetched = false;
    request(s, fx);
}

/// On the first figures of an opening: fetch the part of the window no walk covered yet
/// (from its oldest gap to its newest), unless a fetch runs already.
fn fetch_what_is_lacking(s: &mut State, stats: &Stats, fx: &mut Vec<Effect>) {
    if !s.stats.open || s.stats.auto_fetched || s.stats.fetch.is_some() {
        return;
    }
    s.stats.auto_fetched = true;
    let (Some(first), Some(last)) = (stats.uncovered.first(), stats.uncovered.last()) else {
        return;
    };
    let (Some(start), Some(end)) = (
        DateTime::from_timestamp_millis(first.0),
        DateTime::from_timestamp_millis(last.1),
    ) else {
        return;
    };
    start_fetch(s, start, end, fx);
}

pub fn on_result(s: &mut State, req: RequestId, result: Result<Arc<Stats>, String>, fx: &mut Vec<Effect>) {
    if s.stats.pending != Some(req) {
        return;
    }
    s.stats.pending = None;
    match result {
        Ok(stats) => {
            fetch_what_is_lacking(s, &stats, fx);
            let first = s.stats.stats.is_none();
            s.stats.stats = Some(stats);
            if first {
                s.stats.sel = default_sel(&s.stats);
            }
            s.stats.sel = s.stats.sel.min(s.stats.bars().saturating_sub(1));
        }
        Err(e) => s.stats.error = Some(e),
    }
}

/// Keys while the view is open (after overlays such as help). True when the key was taken.
pub fn on_key(s: &mut State, k: &KeyEvent, fx: &mut Vec<Effect>) -> bool {
    if !s.stats.open {
        return false;
    }
    let action = s.keymap.action(k);
    if k.code == KeyCode::Esc {
        if s.stats.fetch.is_some() {
            toggle_fetch(s, fx);
        } else {
            s.stats.open = false;
        }
        return true;
    }
    let bars = s.stats.bars();
    match action {
        Some(Action::Stats(StatsAction::View) | Action::Back | Action::Quit) => s.stats.open = false,
        Some(Action::Help) => s.overlay = Overlay::Help { scroll: 0 },
        Some(Action::SwitchPane) => {
            let by = if k.code == KeyCode::BackTab { -1 } else { 1 };
            s.stats.chart = s.stats.chart.step(by);
            s.stats.sel = default_sel(&s.stats);
        }
        Some(Action::Down) if bars > 0 => s.stats.sel = (s.stats.sel + 1) % bars,
        Some(Action::Up) if bars > 0 => s.stats.sel = (s.stats.sel + bars - 1) % bars,
        Some(Action::Top) => s.stats.sel = 0,
        Some(Action::Bottom) => s.stats.sel = bars.saturating_sub(1),
        Some(Action::Open) => drill(s, fx),
        Some(Action::Stats(StatsAction::Split)) => {
            s.stats.split = match s.stats.split {
                SplitBy::None => SplitBy::Variant,
                SplitBy::Variant => SplitBy::Env,
                SplitBy::Env => SplitBy::None,
            };
            request(s, fx);
        }
        Some(Action::Reload) => request(s, fx),
        Some(Action::Stats(StatsAction::Fetch)) => toggle_fetch(s, fx),
        _ => {}
    }
    true
}

/// The list filter that selects exactly the selected bar's calls, added to the current filter.
pub fn drill_filter(s: &State) -> Option<Filter> {
    let st = s.stats.stats.as_ref()?;
    let mut f = s.filter.clone();
    let i = s.stats.sel;
    match s.stats.chart {
        Chart::Calls => {
            let b = st.buckets.get(i)?;
            let end = (b.start_ms + st.bucket.millis()).min(st.until_ms);
            f.started = Some((b.start_ms.max(st.since_ms), end));
        }
        Chart::Handoffs => f.handoff_reason = Some(st.handoff_reasons.get(i)?.name.clone()),
        Chart::Latency => {
            if i >= st.latency_histogram.len() {
                return None;
            }
            f.turn_latency = Some(latency_bin_bounds(i));
        }
        Chart::Intents => f.intent = Some(st.intents.get(i)?.name.clone()),
        Chart::Topics => f.topic = Some(st.topics.get(i)?.name.clone()),
        Chart::Qa => qa_drill(&st.qa, i, &mut f)?,
        Chart::Review => return None,
    }
    Some(f)
}

/// Bar `i` of the QA chart: a score bucket (`qa>=LO qa<HI`, added to the filter's bounds) or,
/// after the buckets, a yes-no question's "no"s (`qa-answer:Q=no`, within its scorecard when
/// another scorecard has a question of the same id and the filter names none).
fn qa_drill(qa: &crate::stats::Qa, i: usize, f: &mut Filter) -> Option<()> {
    use crate::domain::filter::{Cmp, QaAnswer, QaBound};
    if i < qa.distribution.len() {
        let (lo, hi) = qa_bucket_bounds(i);
        f.qa.push(QaBound {
            op: Cmp::Ge,
            value: f64::from(lo),
        });
        if let Some(hi) = hi {
            f.qa.push(QaBound {
                op: Cmp::Lt,
                value: f64::from(hi),
            });
        }
        return Some(());
    }
    let (card, q) = qa.yes_no_questions().nth(i - qa.distribution.len())?;
    if f.scorecard.is_none() && qa.question_id_is_shared(&q.id) {
        f.scorecard = Some(card.name.clone());
    }
    f.qa_answer = Some(QaAnswer {
        question: q.id.clone(),
        answer: "no".into(),
    });
    Some(())
}

fn drill(s: &mut State, fx: &mut Vec<Effect>) {
    let Some(filter) = drill_filter(s) else { return };
    if s.stats.before_drill.is_none() {
        s.stats.before_drill = Some((s.filter.clone(), s.view_name.clone()));
    }
    s.stats.open = false;
    set_filter(s, filter, None, fx);
}

/// `esc` in the list after a drill-down: the filter from before it, and the view again.
pub fn on_back(s: &mut State, fx: &mut Vec<Effect>) -> bool {
    let Some((filter, view)) = s.stats.before_drill.take() else {
        return false;
    };
    set_filter(s, filter, view, fx);
    s.stats.open = true;
    request(s, fx);
    true
}
