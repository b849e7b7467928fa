//! Answers to the list's page requests: API pages (newest-first slices or an oldest-first
//! cursor walk), cached pages from the store, and the retry notices in between.

use std::time::Duration;

use crate::api::{ApiError, Conversation, ConversationPage, ErrorKind, RetryNotice};
use crate::sanitize::sanitize_line;

use super::list::{after_rows, maybe_more, request_page, select, swap_when_ready};
use super::msg::{CachedPage, Effect, IoEffect, Msg, RequestId};
use super::paging::{MIN_SLICE_SECS, Order, Paging, Row, Source, adapt_delta};
use super::review;
use super::state::{Connection, ConversationCache, PAGE_LIMIT, State};

/// When a page failed with a transient error, try it again after this long.
pub const PAGE_RETRY: Duration = Duration::from_secs(5);

/// `Msg::RetryPage`: the page that failed is asked for again, unless the list was reloaded.
pub(super) fn on_retry_page(s: &mut State, generation: u64, fx: &mut Vec<Effect>) {
    if generation == s.list.paging.generation && s.list.api().failed.is_some() {
        s.list.api_mut().failed = None;
        request_page(s, fx);
    }
}

pub(super) fn on_cached_page(s: &mut State, req: RequestId, result: Result<CachedPage, String>, fx: &mut Vec<Effect>) {
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

pub(super) fn on_page(s: &mut State, req: RequestId, result: Result<ConversationPage, ApiError>, fx: &mut Vec<Effect>) {
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
            s.connection = Connection::after_error(&e);
            let headline = sanitize_line(&e.headline_with_id());
            s.status.error = Some(if s.list.paging.source == Source::Cache {
                format!("{headline} — working from the local cache")
            } else {
                headline
            });
            if e.is_transient() {
                fx.push(Effect::Io(IoEffect::After {
                    delay: PAGE_RETRY,
                    msg: Box::new(Msg::RetryPage {
                        generation: s.list.paging.generation,
                    }),
                }));
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

pub(super) fn on_retrying(s: &mut State, n: &RetryNotice) {
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
