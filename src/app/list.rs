//! The list in state: which rows are loaded (from the cache and the API), which one is
//! selected, and asking for more. Shared by every feature that moves the selection or changes
//! what the list shows (reload, filter, search); it imports no feature handler.

use std::time::Duration;

use crate::config::CLIENT_ENVS;
use crate::domain::{Filter, Scope};
use crate::store::{ListOrder, SearchOrder, SearchQuery};

use super::detail_view::{back_to_turn, clamp_detail_scroll, rebuild_view, top_turn};
use super::msg::{Effect, IoEffect, Msg, PageFilter, StoreRequest};
use super::paging::{FIRST_SLICE_SECS, LIVE, Order, Paging, Row, Slice, Source};
use super::review;
use super::state::{ChannelFilter, ListSearch, State};

/// How long the selection must rest before its transcript is fetched.
pub const DETAIL_DEBOUNCE: Duration = Duration::from_millis(150);

pub const EMPTY_HINT: &str =
    "No conversations in this window — try `w` for a wider window or `e` for another client_env";

/// Rows per store page, and at most this many conversations in a cached search result.
const CACHE_PAGE: usize = 200;
const SEARCH_MAX: usize = 500;

pub(super) fn reload(s: &mut State, fx: &mut Vec<Effect>) {
    let generation = s.list.paging.generation + 1;
    let window = s.window.range(s.now);
    let fresh = |source| {
        let mut p = Paging::default();
        p.generation = generation;
        p.delta_secs = FIRST_SLICE_SECS;
        p.window = Some(window);
        p.source = source;
        p
    };
    // With a store, cached rows show at once and the API walk replaces them from behind.
    if s.cache_first {
        s.list.paging = fresh(Source::Cache);
        s.list.incoming = (!typing_search(s)).then(|| fresh(Source::Api));
    } else {
        s.list.paging = fresh(Source::Api);
        s.list.incoming = None;
    }
    s.live.forget_list();
    review::on_reload(s);
    s.list.sel = 0;
    s.list.offset = 0;
    s.list.seek = None;
    s.detail.view = None;
    s.detail.pending = None;
    s.detail.debounce = None;
    s.detail.error = None;
    s.detail.scroll = 0;
    s.status.error = None;
    request_cached(s, fx);
    request_page(s, fx);
}

/// A search being typed is answered from the cache only; Enter asks the server.
fn typing_search(s: &State) -> bool {
    s.search.as_ref().is_some_and(|q| !q.submitted)
}

/// Asks the store for the next page of cached rows, when the list shows the cache.
fn request_cached(s: &mut State, fx: &mut Vec<Effect>) {
    let p = &s.list.paging;
    if p.source != Source::Cache || p.in_flight.is_some() || p.end {
        return;
    }
    let (start, end) = p.window.unwrap_or_else(|| s.window.range(s.now));
    let after = p.cache_after.clone();
    let o = review::origin(s);
    let scope = Scope::env(o.account, o.project, o.environment).started_between(start, end);
    let filter = s.effective_filter();
    let req = s.take_req();
    let request = match &s.search {
        Some(q) => StoreRequest::Search {
            req,
            query: SearchQuery {
                text: q.text.clone(),
                speaker: q.speaker,
                scope,
                filter,
                order: SearchOrder::Newest,
                limit: SEARCH_MAX,
            },
            max: SEARCH_MAX,
        },
        None => StoreRequest::List {
            req,
            scope,
            filter,
            order: match s.list.order {
                Order::NewestFirst => ListOrder::NewestFirst,
                Order::OldestFirst => ListOrder::OldestFirst,
            },
            after,
            limit: CACHE_PAGE,
        },
    };
    s.list.paging.in_flight = Some(req);
    fx.push(Effect::Io(IoEffect::Store(request)));
}

/// Replaces the cached rows with the API's once the walk behind them fills the screen (or the
/// cache had nothing): the selected conversation keeps its screen line when the API has it.
pub(super) fn swap_when_ready(s: &mut State, fx: &mut Vec<Effect>) -> bool {
    let Some(api) = &s.list.incoming else {
        return false;
    };
    let shown = &s.list.paging;
    let screen = s.panes().list_rows().max(1);
    let ready = api.end || (shown.is_empty() && (shown.end || !api.is_empty())) || api.len() > s.list.sel + screen;
    if !ready || api.failed.is_some() {
        return false;
    }
    let Some(incoming) = s.list.incoming.take() else {
        return false;
    };
    let old = std::mem::replace(&mut s.list.paging, incoming);
    // Calls that arrived live while the cache was shown started after the walk's window.
    let arrived: Vec<Row> = old.rows.iter().filter(|r| r.has(LIVE)).cloned().collect();
    match s.list.order {
        Order::NewestFirst => arrived.into_iter().rev().for_each(|r| {
            s.list.paging.push_front(r);
        }),
        Order::OldestFirst => {
            s.list.paging.append_rows(arrived);
        }
    }
    let line = s.list.sel.saturating_sub(s.list.offset);
    let selected = old.rows.get(s.list.sel).map(|r| r.id.clone());
    match selected.as_deref().and_then(|id| s.list.paging.position(id)) {
        Some(pos) => {
            s.list.sel = pos;
            s.list.offset = pos.saturating_sub(line);
            ensure_visible(s);
        }
        None if s.list.paging.is_empty() => {
            s.list.sel = 0;
            s.list.offset = 0;
            on_selection(s, fx);
        }
        None => select(s, s.list.sel, true, fx),
    }
    true
}

pub(super) fn request_page(s: &mut State, fx: &mut Vec<Effect>) {
    if typing_search(s) {
        return;
    }
    let order = s.list.order;
    let default_window = s.window.range(s.now);
    let p = s.list.api_mut();
    if p.source != Source::Api || p.in_flight.is_some() || p.end || p.failed.is_some() {
        return;
    }
    let window = p.window.unwrap_or(default_window);
    let (start, end, cursor) = match order {
        Order::OldestFirst => (window.0, window.1, p.cursor.clone()),
        Order::NewestFirst => {
            let slice = p.slice.get_or_insert_with(|| {
                let end = p.next_end.unwrap_or(window.1);
                let start = (end - chrono::Duration::seconds(p.delta_secs.max(1))).max(window.0);
                Slice {
                    start,
                    end,
                    cursor: None,
                    pages: 0,
                    cursors: Default::default(),
                    rows: Vec::new(),
                }
            });
            (slice.start, slice.end, slice.cursor.clone())
        }
    };
    let query = s.list_query(start, end, cursor);
    let filter = Some(s.effective_filter())
        .filter(|f| !f.is_empty())
        .map(|filter| PageFilter {
            origin: review::origin(s),
            filter,
        });
    let req = s.take_req();
    s.list.api_mut().in_flight = Some(req);
    fx.push(Effect::Io(IoEffect::FetchPage { req, query, filter }));
}

/// Requests the next rows whatever the selection (a jump looking past the loaded rows).
pub(super) fn load_more(s: &mut State, fx: &mut Vec<Effect>) {
    if s.list.incoming.is_some() {
        if swap_when_ready(s, fx) {
            after_rows(s, fx);
        } else {
            request_page(s, fx);
        }
    }
    match s.list.paging.source {
        Source::Cache => request_cached(s, fx),
        Source::Api => request_page(s, fx),
    }
}

/// Requests more rows when the selection is within a screen of the last loaded row.
pub(super) fn maybe_more(s: &mut State, fx: &mut Vec<Effect>) {
    if s.list.incoming.is_some() {
        if swap_when_ready(s, fx) {
            after_rows(s, fx);
        } else {
            request_page(s, fx); // the walk behind the cache goes on until it can replace it
        }
    }
    let screen = s.panes().list_rows().max(1);
    if s.list.sel + screen >= s.list.visible_len() {
        match s.list.paging.source {
            Source::Cache => request_cached(s, fx),
            Source::Api => request_page(s, fx),
        }
    }
}

/// After rows arrived on screen: calls held back while an oldest-first walk was under way,
/// and the selected row's transcript if its copy just arrived.
pub(super) fn after_rows(s: &mut State, fx: &mut Vec<Effect>) {
    if s.list.order == Order::OldestFirst && s.list.paging.end && s.list.paging.source == Source::Api {
        flush_held_live_rows(s, fx);
    }
    if s.detail.view.is_none() && s.detail.pending.is_none() && s.detail.debounce.is_none() {
        rebuild_view(s);
    }
}

pub(super) fn ensure_visible(s: &mut State) {
    let rows = s.panes().list_rows().max(1);
    let len = s.list.visible_len();
    if len == 0 {
        s.list.sel = 0;
        s.list.offset = 0;
        return;
    }
    s.list.sel = s.list.sel.min(len - 1);
    if s.list.sel < s.list.offset {
        s.list.offset = s.list.sel;
    } else if s.list.sel >= s.list.offset + rows {
        s.list.offset = s.list.sel + 1 - rows;
    }
}

pub(super) fn select(s: &mut State, pos: usize, force: bool, fx: &mut Vec<Effect>) {
    let len = s.list.visible_len();
    if len == 0 {
        return;
    }
    let pos = pos.min(len - 1);
    let changed = pos != s.list.sel;
    s.list.sel = pos;
    ensure_visible(s);
    if changed || force {
        on_selection(s, fx);
    }
    note_live_rows_seen(s);
    maybe_more(s, fx);
}

fn on_selection(s: &mut State, fx: &mut Vec<Effect>) {
    s.detail.scroll = 0;
    s.detail.error = None;
    s.detail.view = None;
    s.detail.pending = None; // latest wins: an answer for the row we left is dropped
    s.detail.debounce = None;
    let Some(id) = s.list.selected().map(|r| r.id.to_string()) else {
        return;
    };
    super::detail_view::load_scores(s, &id, fx);
    // A search result opens at its first hit (`N` from the next result asks for the last).
    if s.search.is_some() && s.detail.jump_on_load.is_none() {
        s.detail.jump_on_load = Some(true);
    }
    if s.detail.cache.contains(&id) {
        rebuild_view(s);
        return;
    }
    let req = s.take_req();
    s.detail.debounce = Some(req);
    fx.push(Effect::Io(IoEffect::After {
        delay: DETAIL_DEBOUNCE,
        msg: Box::new(Msg::DetailDue { req }),
    }));
}

/// A new terminal size: the list fills the new height (asking for rows it lacks), and the
/// transcript keeps its turn at the top, not its line offset.
pub(super) fn relayout(s: &mut State, fx: &mut Vec<Effect>) {
    let rows = s.panes().list_rows().max(1);
    // Taller than the rows below the offset: show more of those above instead of blank lines.
    s.list.offset = s.list.offset.min(s.list.visible_len().saturating_sub(rows));
    ensure_visible(s);
    let cols = s.panes().detail_cols();
    if s.detail.view.as_ref().is_some_and(|v| v.cols != cols) {
        let anchor = top_turn(s);
        rebuild_view(s);
        back_to_turn(s, anchor);
    }
    clamp_detail_scroll(s);
    maybe_more(s, fx);
}

/// `/` in the list: the transcript search that becomes the list (`None` clears it).
pub(super) fn set_list_search(s: &mut State, q: Option<ListSearch>, fx: &mut Vec<Effect>) {
    let q = q.filter(|q| !q.text.is_empty());
    if s.search == q {
        return;
    }
    s.detail.search = q.as_ref().map(|q| q.text.to_lowercase()).unwrap_or_default();
    s.detail.search_speaker = q.as_ref().and_then(|q| q.speaker);
    s.search = q;
    reload(s, fx);
}

/// `:` and `v`: a new filter for the list.
pub(super) fn set_filter(s: &mut State, filter: Filter, view: Option<String>, fx: &mut Vec<Effect>) {
    let mut filter = filter;
    // The same view submitted again (`:` unchanged) stays; anything else leaves it, and what
    // it changed besides the filter comes back.
    if view.is_none() || view != s.view_name || filter.environment.is_some() {
        let before = std::mem::take(&mut s.before_view);
        if let Some(env) = before.client_env {
            s.client_env = env;
        }
        if let Some(channel) = before.channel {
            s.channel = channel;
        }
    }
    // A view may name an environment: that is the list's client_env.
    if let Some(env) = filter.environment.take() {
        match CLIENT_ENVS.iter().find(|e| e.eq_ignore_ascii_case(&env)) {
            Some(e) => {
                if *e != s.client_env {
                    s.before_view.client_env.get_or_insert_with(|| s.client_env.clone());
                }
                s.client_env = e.to_string();
            }
            None => {
                s.status.note = Some(format!(
                    "unknown environment {env:?}: use one of {}",
                    CLIENT_ENVS.join(", ")
                ))
            }
        }
    }
    if filter
        .channels
        .iter()
        .any(|c| c.eq_ignore_ascii_case("voice") || c.eq_ignore_ascii_case("chat"))
    {
        if s.channel != ChannelFilter::All {
            s.before_view.channel.get_or_insert(s.channel);
        }
        s.channel = ChannelFilter::All; // the filter says which channels
    }
    if (filter.status.is_some() || filter.flagged.is_some()) && !s.cache_first {
        s.status.note = Some("review filters need the local store: they are ignored".into());
    }
    s.filter = filter;
    s.view_name = view;
    reload(s, fx);
}

/// Oldest first: the walk reached the window's end; the calls that arrived meanwhile follow.
fn flush_held_live_rows(s: &mut State, fx: &mut Vec<Effect>) {
    for row in std::mem::take(&mut s.live.held) {
        if s.list.paging.position(&row.id).is_none() {
            place_live_row(s, row, fx);
        }
    }
}

/// Puts a new row at the top (newest first) or the bottom (oldest first), keeping the
/// selected conversation on its screen line, and counts it.
pub(super) fn place_live_row(s: &mut State, row: Row, fx: &mut Vec<Effect>) {
    let was_empty = s.list.visible_len() == 0;
    match s.list.order {
        Order::NewestFirst => {
            s.list.paging.push_front(row);
            if !was_empty {
                // Same conversation, same screen line: everything below the new row moved by one.
                s.list.sel += 1;
                s.list.offset += 1;
            }
        }
        Order::OldestFirst => {
            s.list.paging.append_rows([row]);
        }
    }
    if was_empty {
        select(s, 0, true, fx);
    }
    s.live.new_count += 1;
}

/// After the selection moved: the user has seen the new rows once the top (newest first) or
/// the bottom (oldest first) is on screen.
fn note_live_rows_seen(s: &mut State) {
    if s.live.new_count == 0 {
        return;
    }
    let seen = match s.list.order {
        Order::NewestFirst => s.list.offset == 0,
        Order::OldestFirst => s.list.offset + s.panes().list_rows() >= s.list.visible_len(),
    };
    if seen {
        s.live.new_count = 0;
    }
}
