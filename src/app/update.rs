//! `update(&mut State, Msg) -> Vec<Effect>`: the whole behaviour of the app, without I/O.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};

use crate::api::{ApiError, Conversation, ConversationPage, ErrorKind, RetryNotice};
use crate::config::CLIENT_ENVS;
use crate::sanitize::sanitize_line;
use crate::store::{Filter, ListOrder, ReviewStatus, Scope, SearchOrder, SearchQuery};

use super::jumps::{self, JumpKind};
use super::keymap::Action;
use super::layout::contains;
use super::live;
use super::msg::{CachedPage, Effect, Msg, PageFilter, RequestId};
use super::paging::{FIRST_SLICE_SECS, LIVE, MIN_SLICE_SECS, Order, Paging, Row, Slice, Source, adapt_delta};
use super::player;
use super::rating;
use super::review;
use super::review::StoreRequest;
use super::state::{
    ChannelFilter, Connection, ConversationCache, Input, InputKind, ListSearch, Overlay, PAGE_LIMIT, Pane, State,
    TimeWindow,
};
use super::transcript::{self, Toggles, build};
use super::turns::{self, TurnMove};

/// How long the selection must rest before its transcript is fetched.
pub const DETAIL_DEBOUNCE: Duration = Duration::from_millis(150);
/// When a page failed with a transient error, try it again after this long.
pub const PAGE_RETRY: Duration = Duration::from_secs(5);

pub const EMPTY_HINT: &str =
    "No conversations in this window — try `w` for a wider window or `e` for another client_env";

/// Loads the first page. Call once after creating the state.
pub fn start(s: &mut State) -> Vec<Effect> {
    let mut fx = Vec::new();
    reload(s, &mut fx);
    live::start(s, &mut fx);
    fx
}

enum MsgKind {
    Quiet,
    Other,
}

pub fn update(s: &mut State, msg: Msg) -> Vec<Effect> {
    let mut fx = Vec::new();
    // Messages that cannot move the list need no marks loaded.
    let msg_kind = if matches!(
        msg,
        Msg::Tick(_) | Msg::DetailDue { .. } | Msg::Audio(_) | Msg::SaveProgress { .. }
    ) {
        MsgKind::Quiet
    } else {
        MsgKind::Other
    };
    match msg {
        Msg::Tick(now) => s.now = now,
        Msg::Resize(w, h) => {
            s.width = w;
            s.height = h;
            relayout(s, &mut fx);
        }
        Msg::Key(k) => on_key(s, k, &mut fx),
        Msg::Mouse(m) => on_mouse(s, m, &mut fx),
        Msg::Page { req, result } => on_page(s, req, result, &mut fx),
        Msg::Conversation { req, result } => on_conversation(s, req, result, &mut fx),
        Msg::DetailDue { req } => on_detail_due(s, req, &mut fx),
        Msg::Retrying(n) => on_retrying(s, &n),
        Msg::RetryPage { generation } => {
            if generation == s.list.paging.generation && s.list.api().failed.is_some() {
                s.list.api_mut().failed = None;
                request_page(s, &mut fx);
            }
        }
        Msg::CachedPage { req, result } => on_cached_page(s, req, result, &mut fx),
        Msg::CachedConversation { req, conversation } => on_cached_conversation(s, req, conversation, &mut fx),
        Msg::Audio(ev) => player::on_audio(s, ev),
        Msg::SaveProgress { id, bytes, total } => player::on_save_progress(s, &id, bytes, total),
        Msg::SaveDone { id, result } => player::on_save_done(s, &id, result),
        Msg::Live(ev) => live::on_event(s, ev, &mut fx),
        Msg::LiveConversation { req, result } => live::on_conversation(s, req, result, &mut fx),
        Msg::PollDue => live::on_poll_due(s, &mut fx),
        Msg::PollPage { req, result } => {
            if !super::stats::on_fetch_page(s, req, &result, &mut fx) {
                live::on_poll_page(s, req, result, &mut fx)
            }
        }
        Msg::Marks { origin, marks } => {
            let selected = s.list.selected().map(|r| r.id.to_string());
            let touches = selected.is_some_and(|id| marks.iter().any(|(m, _)| *m == id));
            if review::on_marks(s, &origin, marks) && touches {
                rebuild_view(s);
            }
        }
        Msg::MarksSaved { key, seq, result } => {
            if review::on_saved(s, &key, seq, result, &mut fx) && s.list.selected().is_some_and(|r| *r.id == key.id) {
                rebuild_view(s);
            }
        }
        Msg::MarksPending { error, retry_in } => {
            review::on_pending(s, error, retry_in);
            // The detail pane says why the selected conversation's marks are not saved.
            if s.list
                .selected()
                .is_some_and(|r| review::pending_of(s, &r.id).is_some())
            {
                rebuild_view(s);
            }
        }
        Msg::Exported { result } => review::on_exported(s, result),
        Msg::MarksPushed { key, result } => super::studio::on_pushed(s, &key, result),
        Msg::Stats { req, result } => super::stats::on_result(s, req, result, &mut fx),
    }
    jumps::go_on(s, &mut fx);
    player::stop_if_elsewhere(s, &mut fx);
    if !matches!(msg_kind, MsgKind::Quiet) {
        review::load_visible(s, &mut fx);
        review::count_progress(s);
    }
    fx
}

// ---- paging ----

fn reload(s: &mut State, fx: &mut Vec<Effect>) {
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
    live::on_reload(s);
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

/// Rows per store page, and at most this many conversations in a cached search result.
const CACHE_PAGE: usize = 200;
const SEARCH_MAX: usize = 500;

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
    fx.push(Effect::Store(request));
}

fn on_cached_page(s: &mut State, req: RequestId, result: Result<CachedPage, String>, fx: &mut Vec<Effect>) {
    let p = &mut s.list.paging;
    if p.source != Source::Cache || p.in_flight != Some(req) {
        return; // the API's rows replaced the cache, or an older query
    }
    p.in_flight = None;
    match result {
        Ok(page) => {
            let was_empty = p.is_empty();
            p.append_rows(page.rows);
            p.end = page.next.is_none();
            p.cache_after = page.next;
            if was_empty && !p.is_empty() {
                select(s, 0, true, fx);
            }
        }
        Err(e) => {
            p.end = true;
            s.status.note = Some(format!("cache unavailable: {}", sanitize_line(&e)));
        }
    }
    if swap_when_ready(s, fx) {
        after_rows(s, fx);
    }
    maybe_more(s, fx);
}

/// Replaces the cached rows with the API's once the walk behind them fills the screen (or the
/// cache had nothing): the selected conversation keeps its screen line when the API has it.
fn swap_when_ready(s: &mut State, fx: &mut Vec<Effect>) -> bool {
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

fn request_page(s: &mut State, fx: &mut Vec<Effect>) {
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
    fx.push(Effect::FetchPage { req, query, filter });
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

fn on_page(s: &mut State, req: RequestId, result: Result<ConversationPage, ApiError>, fx: &mut Vec<Effect>) {
    if s.list.api().in_flight != Some(req) {
        return; // An answer to an older query, or a duplicate.
    }
    s.list.api_mut().in_flight = None;
    s.status.retry = None;
    let order = s.list.order;
    let result = result.and_then(|page| follow_cursor(s.list.api_mut(), order, page));
    match result {
        Ok(page) => {
            s.connection = Connection::Connected;
            s.status.error = None;
            if let Some(note) = read_note(&page) {
                s.status.note = Some(note);
            }
            // Only the last CAPACITY would stay in the detail cache: copy no more than those.
            let keep = page.conversations.len().saturating_sub(ConversationCache::CAPACITY);
            for c in &page.conversations[keep..] {
                // The list's copy is enough for the detail pane when it has its turns.
                if !c.turns.is_empty() || c.num_turns.unwrap_or(0) == 0 {
                    s.detail.cache.insert(c.clone());
                }
            }
            let was_empty = s.list.paging.is_empty();
            let api = s.list.api_mut();
            api.total = page.total.or(api.total);
            match order {
                Order::OldestFirst => {
                    api.append(&page.conversations);
                    api.end = page.cursor.is_none();
                    api.cursor = page.cursor;
                }
                Order::NewestFirst => on_slice_page(api, &page),
            }
            // Under a filter the store already cached the whole page (and judged it). The page
            // itself goes to the store: no second copy of a big page is held.
            if s.effective_filter().is_empty() {
                review::cache_owned(s, page.conversations, fx);
            }
            if s.list.incoming.is_some() && !swap_when_ready(s, fx) {
                maybe_more(s, fx);
                return;
            }
            if was_empty && s.list.visible_len() > 0 {
                select(s, 0, true, fx);
            }
            after_rows(s, fx);
            maybe_more(s, fx);
        }
        Err(e) => {
            s.connection = connection_after(&e);
            let headline = sanitize_line(&e.headline_with_id());
            s.status.error = Some(if s.list.paging.source == Source::Cache {
                format!("{headline} — working from the local cache")
            } else {
                headline
            });
            if e.is_transient() {
                fx.push(Effect::After {
                    delay: PAGE_RETRY,
                    msg: Box::new(Msg::RetryPage {
                        generation: s.list.paging.generation,
                    }),
                });
            }
            s.list.api_mut().failed = Some(e);
        }
    }
}

/// "1 record without a usable id skipped · 2 calls with fields that could not be read — see the log".
fn read_note(page: &ConversationPage) -> Option<String> {
    let unread = page.conversations.iter().filter(|c| !c.odd_fields.is_empty()).count();
    let mut parts = Vec::new();
    if page.skipped > 0 {
        let s = if page.skipped == 1 { "" } else { "s" };
        parts.push(format!("{} record{s} without a usable id skipped", page.skipped));
    }
    if unread > 0 {
        let s = if unread == 1 { "" } else { "s" };
        parts.push(format!("{unread} call{s} with fields that could not be read"));
    }
    (!parts.is_empty()).then(|| format!("{} — see the log", parts.join(" · ")))
}

/// After rows arrived on screen: calls held back while an oldest-first walk was under way,
/// and the selected row's transcript if its copy just arrived.
fn after_rows(s: &mut State, fx: &mut Vec<Effect>) {
    if s.list.order == Order::OldestFirst && s.list.paging.end && s.list.paging.source == Source::Api {
        live::flush_held(s, fx);
    }
    if s.detail.view.is_none() && s.detail.pending.is_none() && s.detail.debounce.is_none() {
        rebuild_view(s);
    }
}

/// Passes the page's cursor through its walk's guard: a cursor the walk followed before ends
/// it with an error instead of asking for the same pages forever.
fn follow_cursor(p: &mut Paging, order: Order, mut page: ConversationPage) -> Result<ConversationPage, ApiError> {
    let cursors = match (order, p.slice.as_mut()) {
        (Order::OldestFirst, _) => &mut p.cursors,
        (Order::NewestFirst, Some(slice)) => &mut slice.cursors,
        (Order::NewestFirst, None) => return Ok(page),
    };
    page.cursor = cursors.follow(page.cursor.take())?;
    Ok(page)
}

/// One page of the newest-first slice: held back until the slice's cursor ends, then shown
/// newest first; the next slice ends where this one started.
fn on_slice_page(p: &mut Paging, page: &ConversationPage) {
    let nothing_shown = p.is_empty();
    let Some(slice) = p.slice.as_mut() else {
        return;
    };
    slice.pages += 1;
    let first_page_of_many = slice.pages == 1 && page.cursor.is_some();
    if first_page_of_many && nothing_shown && p.delta_secs > MIN_SLICE_SECS {
        // Nothing is on screen yet and this slice holds several pages: rather than walk them
        // all before the first row shows, start again with a slice about one page long (as
        // dense as this page); what this page held is fetched again by the slices below.
        let started = |c: Option<&Conversation>| c.and_then(|c| c.started_at).map(|t| t.timestamp());
        let span = match (started(page.conversations.first()), started(page.conversations.last())) {
            (Some(a), Some(b)) => b - a,
            _ => 0,
        };
        p.delta_secs = span.clamp(MIN_SLICE_SECS, (p.delta_secs / 2).max(MIN_SLICE_SECS));
        p.slice = None;
        return;
    }
    slice.rows.extend(page.conversations.iter().map(Row::from_conversation));
    slice.cursor = page.cursor.clone();
    if slice.cursor.is_some() {
        return;
    }
    let Some(done) = p.slice.take() else { return };
    p.delta_secs = adapt_delta(p.delta_secs, done.rows.len(), done.pages, PAGE_LIMIT);
    p.next_end = Some(done.start);
    p.end = p.window.is_none_or(|(start, _)| done.start <= start);
    p.append_rows(done.rows.into_iter().rev());
}

/// The header's state after a failed request: it says what the last answer was, so a
/// configuration every request fails with never shows "● connected".
pub(super) fn connection_after(e: &ApiError) -> Connection {
    match e.kind {
        ErrorKind::Network | ErrorKind::Timeout => Connection::Offline,
        _ if e.wrong_id().is_some() => Connection::Refused,
        ErrorKind::Unauthorized
        | ErrorKind::Forbidden
        | ErrorKind::WrongHost
        | ErrorKind::Redirected
        | ErrorKind::Malformed => Connection::Refused,
        ErrorKind::Server | ErrorKind::RateLimited | ErrorKind::Other => Connection::Failing,
        // An answer about this one request (an id that is not there, a page too big, a cursor
        // loop, a refused parameter): the API itself is fine.
        ErrorKind::NotFound | ErrorKind::BadRequest | ErrorKind::TooLarge | ErrorKind::CursorRepeated => {
            Connection::Connected
        }
    }
}

fn on_retrying(s: &mut State, n: &RetryNotice) {
    let secs = n.wait.as_secs_f64();
    let text = match (&n.reason, n.status) {
        (ErrorKind::RateLimited, _) => {
            format!("rate limited — waiting {}s (retry {})", secs.ceil() as u64, n.attempt)
        }
        (_, Some(code)) => format!("HTTP {code} — retrying in {secs:.1}s (retry {})", n.attempt),
        _ => format!("network trouble — retrying in {secs:.1}s (retry {})", n.attempt),
    };
    s.status.retry = Some(text);
    s.connection = Connection::Retrying;
}

// ---- selection and detail ----

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
    live::on_scrolled(s);
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
    fx.push(Effect::After {
        delay: DETAIL_DEBOUNCE,
        msg: Box::new(Msg::DetailDue { req }),
    });
}

fn on_detail_due(s: &mut State, req: RequestId, fx: &mut Vec<Effect>) {
    if s.detail.debounce != Some(req) {
        return;
    }
    s.detail.debounce = None;
    let Some(id) = s.list.selected().map(|r| r.id.to_string()) else {
        return;
    };
    if s.detail.cache.contains(&id) {
        rebuild_view(s);
        return;
    }
    s.detail.pending = Some((req, id.clone()));
    if s.cache_first {
        // A finished call's cached copy is as good as the API's, and works offline.
        let key = review::origin(s).key(id);
        fx.push(Effect::Store(StoreRequest::LoadConversation { req, key }));
    } else {
        fx.push(Effect::FetchConversation { req, id });
    }
}

fn on_cached_conversation(s: &mut State, req: RequestId, conversation: Option<Conversation>, fx: &mut Vec<Effect>) {
    let Some((_, id)) = s.detail.pending.clone().filter(|(r, _)| *r == req) else {
        return; // stale: the user moved on
    };
    match conversation {
        Some(c) if !c.in_progress && (!c.turns.is_empty() || c.num_turns.unwrap_or(0) == 0) => {
            s.detail.pending = None;
            s.detail.cache.insert(c);
            rebuild_view(s);
        }
        // Still in progress: show what the cache has while the API is asked for the rest.
        Some(c) if !c.turns.is_empty() => {
            s.detail.cache.insert(c);
            rebuild_view(s);
            fx.push(Effect::FetchConversation { req, id });
        }
        // Not cached, or only its summary: ask the API.
        _ => fx.push(Effect::FetchConversation { req, id }),
    }
}

fn on_conversation(s: &mut State, req: RequestId, result: Result<Conversation, ApiError>, fx: &mut Vec<Effect>) {
    match &s.detail.pending {
        Some((r, _)) if *r == req => {}
        _ => return, // stale: the user moved on
    }
    let Some((_, id)) = s.detail.pending.take() else {
        return;
    };
    s.status.retry = None;
    match result {
        Ok(mut c) => {
            s.connection = Connection::Connected;
            if c.id.is_empty() {
                c.id = id;
            }
            review::cache(s, std::slice::from_ref(&c), fx);
            s.detail.cache.insert(c);
            rebuild_view(s);
        }
        Err(e) => {
            s.connection = connection_after(&e);
            let headline = sanitize_line(&e.headline_with_id());
            s.detail.error = Some(headline.clone());
            s.status.error = Some(headline);
        }
    }
}

/// Lays out the selected conversation for the current width and toggles (if cached).
pub(super) fn rebuild_view(s: &mut State) {
    let Some(id) = s.list.selected().map(|r| r.id.to_string()) else {
        s.detail.view = None;
        return;
    };
    let cols = s.panes().detail_cols();
    let Some(c) = s.detail.cache.get(&id) else {
        return;
    };
    let mut view = build(&c, cols, s.detail.toggles, s.tz);
    let unsaved = review::pending_of(s, &id).and_then(|p| review::unsaved_text(s, p));
    match (s.review.get(&id), unsaved.as_deref()) {
        (Some(m), unsaved) => transcript::insert_marks(&mut view, m, unsaved),
        (None, Some(unsaved)) => transcript::insert_marks(&mut view, &Default::default(), Some(unsaved)),
        (None, None) => {}
    }
    s.detail.view = Some(view);
    recompute_matches(s);
    clamp_detail_scroll(s);
    player::sync_follow(s, false);
}

/// The transcript scrolls until its last turn is at the top, so every turn can become the
/// current one (for Enter's playback and `b`'s rating), however short the call.
fn detail_max_scroll(s: &State) -> usize {
    let last_turn = s.detail.view.as_ref().and_then(|v| v.turn_starts.last().copied());
    detail_fill_scroll(s).max(last_turn.unwrap_or(0))
}

/// The largest scroll that still fills the pane: jumps (search) go no further.
fn detail_fill_scroll(s: &State) -> usize {
    let lines = s.detail.view.as_ref().map_or(0, |v| v.lines.len());
    lines.saturating_sub(s.panes().detail_rows())
}

fn clamp_detail_scroll(s: &mut State) {
    s.detail.scroll = s.detail.scroll.min(detail_max_scroll(s));
}

/// The turn at the top of the transcript and how many of its lines are above the top (none
/// while the call's details are at the top).
fn top_turn(s: &State) -> Option<(usize, usize)> {
    let scroll = s.detail.scroll;
    let v = s.detail.view.as_ref()?;
    let t = v.turn_starts.iter().rposition(|&l| l <= scroll)?;
    Some((t, scroll - v.turn_starts[t]))
}

/// After a new layout: the same turn at the top (as far into it as it still reaches).
fn back_to_turn(s: &mut State, anchor: Option<(usize, usize)>) {
    let Some((t, offset)) = anchor else { return };
    let Some(v) = s.detail.view.as_ref() else { return };
    let Some(&start) = v.turn_starts.get(t) else { return };
    let end = v.turn_starts.get(t + 1).copied().unwrap_or(v.lines.len());
    s.detail.scroll = start + offset.min(end.saturating_sub(start + 1));
    clamp_detail_scroll(s);
}

/// A new terminal size: the list fills the new height (asking for rows it lacks), and the
/// transcript keeps its turn at the top, not its line offset.
fn relayout(s: &mut State, fx: &mut Vec<Effect>) {
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

// ---- filter and search ----

/// `/` in the list: the transcript search that becomes the list (`None` clears it).
fn set_list_search(s: &mut State, q: Option<ListSearch>, fx: &mut Vec<Effect>) {
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

/// Entries of the `v` picker: no filter, then the saved views.
pub fn view_entries(s: &State) -> Vec<String> {
    let mut v = vec!["all conversations (no filter)".to_string()];
    v.extend(s.views.iter().map(|(name, f)| format!("{name} — {}", f.summary())));
    v
}

fn words(q: &str) -> impl Iterator<Item = &str> {
    q.split_whitespace()
}

fn recompute_matches(s: &mut State) {
    s.detail.matches.clear();
    s.detail.match_idx = 0;
    let (q, scope) = (&s.detail.search, s.detail.search_speaker);
    if q.is_empty() {
        return;
    }
    if let Some(v) = &s.detail.view {
        // Any of the words, as the highlight shows them (a search's words need not be adjacent);
        // under a `user:`/`agent:` scope only in that speaker's words.
        s.detail.matches = v
            .lines
            .iter()
            .enumerate()
            .filter(|(_, l)| {
                l.searched(scope)
                    .is_some_and(|t| words(q).any(|w| t.to_lowercase().contains(w)))
            })
            .map(|(i, _)| i)
            .collect();
    }
    if let Some(forward) = s.detail.jump_on_load.take()
        && !s.detail.matches.is_empty()
    {
        s.detail.match_idx = if forward { 0 } else { s.detail.matches.len() - 1 };
        jump_to_match(s);
    }
}

fn set_search(s: &mut State, text: &str) {
    let q = ListSearch::parse(text, false);
    s.detail.search = q.text.to_lowercase();
    s.detail.search_speaker = q.speaker;
    recompute_matches(s);
    if let Some(i) = s.detail.matches.iter().position(|&l| l >= s.detail.scroll) {
        s.detail.match_idx = i;
    }
    jump_to_match(s);
}

/// The transcript search as typed: `user: card`, or just the words.
pub fn detail_search_text(s: &State) -> String {
    ListSearch {
        text: s.detail.search.clone(),
        speaker: s.detail.search_speaker,
        submitted: false,
    }
    .input_text()
}

fn jump_to_match(s: &mut State) {
    if let Some(&line) = s.detail.matches.get(s.detail.match_idx) {
        s.detail.scroll = line.saturating_sub(2).min(detail_fill_scroll(s));
    }
}

fn step_match(s: &mut State, forward: bool, fx: &mut Vec<Effect>) {
    let n = s.detail.matches.len();
    let at_edge = if forward {
        n == 0 || s.detail.match_idx + 1 >= n
    } else {
        n == 0 || s.detail.match_idx == 0
    };
    // In a search result list, past the last hit of one call comes the next call's first.
    if s.search.is_some() && at_edge {
        let len = s.list.visible_len();
        let next = if forward {
            s.list.sel + 1
        } else {
            s.list.sel.wrapping_sub(1)
        };
        if next < len {
            s.detail.jump_on_load = Some(forward);
            select(s, next, false, fx);
            if s.detail.view.is_some() {
                recompute_matches(s);
            }
            return;
        }
        s.status.note = Some(if forward {
            "last hit of the last result — N goes back".into()
        } else {
            "first hit of the first result".into()
        });
        return;
    }
    if n == 0 {
        if !s.detail.search.is_empty() {
            s.status.note = Some(format!("no match for {:?}", detail_search_text(s)));
        }
        return;
    }
    s.detail.match_idx = if forward {
        (s.detail.match_idx + 1) % n
    } else {
        (s.detail.match_idx + n - 1) % n
    };
    jump_to_match(s);
}

// ---- keys ----

fn on_key(s: &mut State, k: KeyEvent, fx: &mut Vec<Effect>) {
    if k.kind == KeyEventKind::Release {
        return;
    }
    s.status.note = None;
    if s.review.quit != review::QuitRequest::None && s.keymap.action(&k) != Some(Action::Quit) {
        review::cancel_quit(s);
    }
    if k.code == KeyCode::Char('z') && k.modifiers.contains(KeyModifiers::CONTROL) {
        fx.push(Effect::Suspend);
        return;
    }
    if s.input.is_some() {
        on_input_key(s, k, fx);
        return;
    }
    if k.code == KeyCode::Esc && s.list.seek.is_some() && s.overlay == Overlay::None {
        jumps::cancel(s);
        return;
    }
    match s.overlay {
        Overlay::Help { .. } => return on_help_key(s, k),
        Overlay::WindowPicker { .. } => return on_picker_key(s, k, fx),
        Overlay::FlagPicker { .. } => return on_flag_picker_key(s, k, fx),
        Overlay::RatePicker { .. } => return rating::on_picker_key(s, k, fx),
        Overlay::ViewPicker { .. } => return on_view_picker_key(s, k, fx),
        Overlay::None => {}
    }
    if super::stats::on_key(s, &k, fx) {
        return;
    }
    if let Some(action) = s.keymap.action(&k) {
        do_action(s, action, fx);
    }
}

fn on_help_key(s: &mut State, k: KeyEvent) {
    let (max, rows) = (super::help::max_scroll(s), super::help::rows(s).max(1));
    let Overlay::Help { scroll } = &mut s.overlay else {
        return;
    };
    let to = |n: usize| n.min(max);
    match s.keymap.action(&k) {
        Some(Action::Down) => *scroll = to(*scroll + 1),
        Some(Action::Up) => *scroll = scroll.saturating_sub(1),
        Some(Action::Top) => *scroll = 0,
        Some(Action::Bottom) => *scroll = max,
        Some(Action::PageDown) => *scroll = to(*scroll + rows),
        Some(Action::PageUp) => *scroll = scroll.saturating_sub(rows),
        Some(Action::HalfDown) => *scroll = to(*scroll + rows / 2),
        Some(Action::HalfUp) => *scroll = scroll.saturating_sub(rows / 2),
        Some(Action::Help | Action::Quit | Action::Back) => s.overlay = Overlay::None,
        _ if k.code == KeyCode::Esc => s.overlay = Overlay::None,
        _ => {}
    }
}

/// Entries of the `w` picker: the presets, then "custom…".
pub fn picker_entries() -> Vec<String> {
    let mut v: Vec<String> = TimeWindow::PRESETS.iter().map(|(l, _)| format!("last {l}")).collect();
    v.push("custom…".into());
    v
}

/// What a key does in a small picker of `n` entries with `sel` highlighted.
pub(super) enum PickerMove {
    Choose(usize),
    Close,
    Highlight(usize),
    Nothing,
}

pub(super) fn picker_move(s: &State, k: &KeyEvent, sel: usize, n: usize, toggle: Action) -> PickerMove {
    if let KeyCode::Char(c @ '1'..='9') = k.code
        && let Some(i) = Some(c as usize - '1' as usize).filter(|&i| i < n)
    {
        return PickerMove::Choose(i);
    }
    match (k.code, s.keymap.action(k)) {
        (KeyCode::Enter, _) => PickerMove::Choose(sel),
        (KeyCode::Esc, _) | (_, Some(Action::Quit | Action::Back)) => PickerMove::Close,
        (_, Some(a)) if a == toggle => PickerMove::Close,
        (_, Some(Action::Down)) => PickerMove::Highlight((sel + 1) % n),
        (_, Some(Action::Up)) => PickerMove::Highlight((sel + n - 1) % n),
        _ => PickerMove::Nothing,
    }
}

fn on_picker_key(s: &mut State, k: KeyEvent, fx: &mut Vec<Effect>) {
    let Overlay::WindowPicker { sel } = s.overlay else {
        return;
    };
    match picker_move(s, &k, sel, TimeWindow::PRESETS.len() + 1, Action::Window) {
        PickerMove::Choose(i) => {
            s.overlay = Overlay::None;
            if let Some((_, secs)) = TimeWindow::PRESETS.get(i) {
                s.window = TimeWindow::Last { secs: *secs };
                reload(s, fx);
            } else {
                s.input = Some(Input {
                    kind: InputKind::Window,
                    text: String::new(),
                });
            }
        }
        PickerMove::Close => s.overlay = Overlay::None,
        PickerMove::Highlight(sel) => s.overlay = Overlay::WindowPicker { sel },
        PickerMove::Nothing => {}
    }
}

fn on_flag_picker_key(s: &mut State, k: KeyEvent, fx: &mut Vec<Effect>) {
    let Overlay::FlagPicker { sel } = s.overlay else {
        return;
    };
    match picker_move(s, &k, sel, review::FLAG_REASONS.len(), Action::Flag) {
        PickerMove::Choose(i) => {
            s.overlay = Overlay::None;
            review::toggle_flag(s, review::FLAG_REASONS[i], fx);
        }
        PickerMove::Close => s.overlay = Overlay::None,
        PickerMove::Highlight(sel) => s.overlay = Overlay::FlagPicker { sel },
        PickerMove::Nothing => {}
    }
}

fn on_view_picker_key(s: &mut State, k: KeyEvent, fx: &mut Vec<Effect>) {
    let Overlay::ViewPicker { sel } = s.overlay else {
        return;
    };
    match picker_move(s, &k, sel, s.views.len() + 1, Action::Views) {
        PickerMove::Choose(0) => {
            s.overlay = Overlay::None;
            set_filter(s, Filter::default(), None, fx);
        }
        PickerMove::Choose(i) => {
            s.overlay = Overlay::None;
            if let Some((name, f)) = s.views.get(i - 1).cloned() {
                s.status.note = Some(format!("view {name}: {}", f.summary()));
                set_filter(s, f, Some(name), fx);
            }
        }
        PickerMove::Close => s.overlay = Overlay::None,
        PickerMove::Highlight(sel) => s.overlay = Overlay::ViewPicker { sel },
        PickerMove::Nothing => {}
    }
}

fn on_input_key(s: &mut State, k: KeyEvent, fx: &mut Vec<Effect>) {
    let Some(input) = s.input.as_mut() else {
        return;
    };
    let kind = input.kind.clone();
    match k.code {
        KeyCode::Esc => {
            s.input = None;
            match kind {
                InputKind::ListSearch => set_list_search(s, None, fx),
                InputKind::Search => set_search(s, ""),
                // The rating was saved when chosen: esc only skips the comment.
                InputKind::Filter | InputKind::Window | InputKind::Note | InputKind::TurnComment(_) => {}
            }
        }
        KeyCode::Enter => {
            let text = input.text.clone();
            match kind {
                InputKind::Note => {
                    s.input = None;
                    review::save_note(s, &text, fx);
                }
                InputKind::TurnComment(pending) => {
                    s.input = None;
                    rating::save_comment(s, pending, &text, fx);
                }
                InputKind::ListSearch => {
                    s.input = None;
                    set_list_search(s, Some(ListSearch::parse(&text, true)), fx);
                }
                InputKind::Filter => match Filter::parse(&text) {
                    Ok(f) => {
                        s.input = None;
                        let view = s.view_name.clone().filter(|_| f == s.filter);
                        set_filter(s, f, view, fx);
                    }
                    Err(e) => s.status.note = Some(e.detail),
                },
                InputKind::Search => s.input = None,
                InputKind::Window => match TimeWindow::parse(&text, s.now, s.tz) {
                    Ok(w) => {
                        s.input = None;
                        s.window = w;
                        reload(s, fx);
                    }
                    Err(e) => s.status.note = Some(e),
                },
            }
        }
        KeyCode::Backspace => {
            input.text.pop();
            live_input(s, fx);
        }
        KeyCode::Char(c) if !k.modifiers.contains(KeyModifiers::CONTROL) => {
            if input.text.chars().count() < 200 {
                input.text.push(c);
            }
            live_input(s, fx);
        }
        _ => {}
    }
}

fn live_input(s: &mut State, fx: &mut Vec<Effect>) {
    let Some(input) = &s.input else { return };
    let text = input.text.clone();
    match input.kind {
        // Without a cache there is nothing to show while typing: Enter asks the server.
        InputKind::ListSearch if s.cache_first => {
            let q = ListSearch::parse(&text, false);
            // `user:` alone is half typed: keep the results until a word follows.
            if !q.text.is_empty() || text.trim().is_empty() {
                set_list_search(s, Some(q), fx);
            }
        }
        InputKind::Search => set_search(s, &text),
        InputKind::ListSearch | InputKind::Filter | InputKind::Window | InputKind::Note | InputKind::TurnComment(_) => {
        }
    }
}

fn move_by(s: &mut State, delta: isize, fx: &mut Vec<Effect>) {
    match s.focus {
        Pane::List => {
            let pos = s.list.sel.saturating_add_signed(delta);
            select(s, pos, false, fx);
        }
        Pane::Detail => {
            s.detail.scroll = s.detail.scroll.saturating_add_signed(delta);
            clamp_detail_scroll(s);
        }
    }
}

fn screen(s: &State) -> isize {
    let p = s.panes();
    let rows = match s.focus {
        Pane::List => p.list_rows(),
        Pane::Detail => p.detail_rows(),
    };
    rows.max(1) as isize
}

fn do_action(s: &mut State, action: Action, fx: &mut Vec<Effect>) {
    if player::on_action(s, action, fx) {
        return;
    }
    match action {
        Action::Quit => review::quit(s, fx),
        Action::Help => s.overlay = Overlay::Help { scroll: 0 },
        Action::Stats => super::stats::open(s, fx),
        // Only the stats view splits.
        Action::StatsSplit | Action::StatsFetch => {}
        Action::Down => move_by(s, 1, fx),
        Action::Up => move_by(s, -1, fx),
        Action::PageDown => move_by(s, screen(s), fx),
        Action::PageUp => move_by(s, -screen(s), fx),
        Action::HalfDown => move_by(s, (screen(s) / 2).max(1), fx),
        Action::HalfUp => move_by(s, -(screen(s) / 2).max(1), fx),
        Action::Top => match s.focus {
            Pane::List => select(s, 0, false, fx),
            Pane::Detail => s.detail.scroll = 0,
        },
        Action::Bottom => match s.focus {
            Pane::List => select(s, usize::MAX, false, fx),
            Pane::Detail => s.detail.scroll = detail_max_scroll(s),
        },
        Action::SwitchPane => {
            s.focus = match s.focus {
                Pane::List => Pane::Detail,
                Pane::Detail => Pane::List,
            }
        }
        // In the transcript, Enter plays from the turn at the top of the view (help says so).
        Action::Open if player::enter_plays(s) => player::play_from_top_turn(s, fx),
        Action::Open => s.focus = Pane::Detail,
        Action::Back => {
            if s.focus == Pane::Detail {
                s.focus = Pane::List;
            } else if s.search.is_some() {
                set_list_search(s, None, fx);
            } else if super::stats::on_back(s, fx) {
            } else {
                s.status.error = None;
            }
        }
        Action::Search => {
            let (kind, text) = match s.focus {
                Pane::List => (
                    InputKind::ListSearch,
                    s.search.as_ref().map(ListSearch::input_text).unwrap_or_default(),
                ),
                Pane::Detail => (InputKind::Search, detail_search_text(s)),
            };
            s.input = Some(Input { kind, text });
        }
        Action::EditFilter => {
            s.input = Some(Input {
                kind: InputKind::Filter,
                text: s.filter.to_text(),
            });
        }
        Action::Views => {
            let sel = s
                .view_name
                .as_ref()
                .and_then(|n| s.views.iter().position(|(v, _)| v == n))
                .map_or(0, |i| i + 1);
            s.overlay = Overlay::ViewPicker { sel };
        }
        Action::NextMatch => step_match(s, true, fx),
        Action::PrevMatch => step_match(s, false, fx),
        Action::CycleEnv => {
            let i = CLIENT_ENVS
                .iter()
                .position(|e| *e == s.client_env)
                .map_or(0, |i| (i + 1) % CLIENT_ENVS.len());
            s.client_env = CLIENT_ENVS[i].to_string();
            s.before_view.client_env = None; // chosen now: leaving the view keeps it
            reload(s, fx);
        }
        Action::Window => {
            let sel = TimeWindow::PRESETS
                .iter()
                .position(|(_, secs)| s.window == TimeWindow::Last { secs: *secs })
                .unwrap_or(TimeWindow::PRESETS.len());
            s.overlay = Overlay::WindowPicker { sel };
        }
        Action::Channel => {
            s.channel = s.channel.next();
            s.before_view.channel = None;
            if !s.filter.channels.is_empty() {
                s.filter.channels.clear();
                s.view_name = None;
                s.status.note = Some(format!(
                    "channel {} (replaces the filter's channels)",
                    s.channel.label()
                ));
            }
            reload(s, fx);
        }
        Action::Reload => reload(s, fx),
        Action::ToggleOrder => {
            s.list.order = s.list.order.toggled();
            s.status.note = Some(format!("order: {}", s.list.order.label()));
            reload(s, fx);
        }
        Action::CopyId => {
            if let Some(r) = s.list.selected() {
                let id = r.id.to_string();
                s.status.note = Some(format!("copied {id} (OSC 52)"));
                fx.push(Effect::Copy(id));
            }
        }
        Action::CopyTranscript => {
            let id = s.list.selected().map(|r| r.id.to_string());
            match id.and_then(|id| s.detail.cache.get(&id)) {
                Some(c) if !c.turns.is_empty() => {
                    s.status.note = Some(format!(
                        "copied {} (OSC 52)",
                        crate::output::count(c.turns.len() as u64, "turn")
                    ));
                    fx.push(Effect::Copy(transcript::plain_text(&c)));
                }
                _ => s.status.note = Some("no transcript loaded to copy".into()),
            }
        }
        Action::MarkReviewed => review::toggle_status(s, ReviewStatus::Reviewed, fx),
        Action::MarkFollowUp => review::toggle_status(s, ReviewStatus::NeedsFollowUp, fx),
        Action::Flag => review::open_flag_picker(s),
        Action::EditNote => review::edit_note(s),
        Action::RateTurn => rating::open_picker(s),
        Action::PushMarks => super::studio::push(s, fx),
        Action::CopyStudioLink => super::studio::copy_link(s, fx),
        Action::NextUnreviewed => jumps::jump(s, JumpKind::Unreviewed, true, fx),
        Action::PrevUnreviewed => jumps::jump(s, JumpKind::Unreviewed, false, fx),
        Action::NextFlagged => jumps::jump(s, JumpKind::Flagged, true, fx),
        Action::PrevFlagged => jumps::jump(s, JumpKind::Flagged, false, fx),
        Action::NextHandoff => jumps::jump(s, JumpKind::Handoff, true, fx),
        Action::PrevHandoff => jumps::jump(s, JumpKind::Handoff, false, fx),
        Action::ExportMarkdown => {
            let c = s
                .list
                .selected()
                .map(|r| r.id.to_string())
                .and_then(|id| s.detail.cache.get(&id));
            review::export(s, c, fx);
        }
        Action::ToggleIntents => toggle(s, |t| &mut t.intents, "intents and entities"),
        Action::ToggleTranslation => toggle(s, |t| &mut t.translation, "translations"),
        Action::ToggleFunctions => toggle(s, |t| &mut t.functions, "function calls"),
        Action::ToggleAsr => toggle(s, |t| &mut t.asr, "ASR corrections, n-best and topics"),
        Action::NextTurn => turns::go(s, TurnMove::Next),
        Action::PrevTurn => turns::go(s, TurnMove::Prev),
        Action::NextCallerTurn => turns::go(s, TurnMove::NextCaller),
        Action::PrevCallerTurn => turns::go(s, TurnMove::PrevCaller),
        Action::SlowestTurn => turns::go(s, TurnMove::Slowest),
        // Handled by `player::on_action` above.
        Action::PlayPause
        | Action::Stop
        | Action::SeekBack
        | Action::SeekForward
        | Action::SeekBackLong
        | Action::SeekForwardLong
        | Action::SeekStart
        | Action::SeekEnd
        | Action::SpeedDown
        | Action::SpeedUp
        | Action::VolumeDown
        | Action::VolumeUp
        | Action::CycleDirection
        | Action::Follow
        | Action::SaveRecording
        | Action::PlayUtterance
        | Action::ToggleRedacted => {}
        Action::ToggleMouse => {
            s.mouse = !s.mouse;
            s.status.note = Some(if s.mouse {
                "mouse capture on: click to select, wheel to scroll (m to turn off)".into()
            } else {
                "mouse capture off: the terminal selects text again".into()
            });
            fx.push(Effect::SetMouseCapture(s.mouse));
        }
    }
}

/// A transcript toggle: flips it, lays the transcript out again with the current turn kept at
/// the top, and says what it did.
fn toggle(s: &mut State, flag: impl Fn(&mut Toggles) -> &mut bool, what: &str) {
    let on = {
        let f = flag(&mut s.detail.toggles);
        *f = !*f;
        *f
    };
    let anchor = top_turn(s);
    rebuild_view(s);
    back_to_turn(s, anchor);
    s.status.note = Some(format!("{what} {}", if on { "shown" } else { "hidden" }));
}

// ---- mouse ----

fn on_mouse(s: &mut State, m: MouseEvent, fx: &mut Vec<Effect>) {
    if !s.mouse || s.overlay != Overlay::None || s.input.is_some() {
        return;
    }
    let p = s.panes();
    let in_list = contains(p.list, m.column, m.row);
    let in_detail = contains(p.detail, m.column, m.row);
    if m.kind == MouseEventKind::Down(MouseButton::Left) && player::on_click(s, m.column, m.row, fx) {
        return;
    }
    match m.kind {
        MouseEventKind::Down(MouseButton::Left) if in_list => {
            s.focus = Pane::List;
            let first = p.list.y + 1;
            if m.row >= first && ((m.row - first) as usize) < p.list_rows() {
                let pos = s.list.offset + (m.row - first) as usize;
                if pos < s.list.visible_len() {
                    select(s, pos, false, fx);
                }
            }
        }
        MouseEventKind::Down(MouseButton::Left) if in_detail => s.focus = Pane::Detail,
        MouseEventKind::ScrollDown | MouseEventKind::ScrollUp => {
            let delta = if m.kind == MouseEventKind::ScrollDown { 3 } else { -3 };
            if in_list {
                let pos = s.list.sel.saturating_add_signed(delta);
                select(s, pos, false, fx);
            } else if in_detail {
                s.detail.scroll = s.detail.scroll.saturating_add_signed(delta);
                clamp_detail_scroll(s);
            }
        }
        _ => {}
    }
}
