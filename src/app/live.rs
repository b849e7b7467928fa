//! Calls that arrive while the list is open: webhook events (each fetched by id) and `--poll`.
//!
//! New rows go to the top in newest-first order (the bottom in oldest-first) without moving
//! the selection: the selected row stays the same conversation on the same screen line, and
//! the header counts what arrived until the user looks (`g` / scrolling to the top).

use chrono::{DateTime, Utc};

use crate::api::{ApiError, Conversation, ConversationPage, CursorGuard};
use crate::sanitize::sanitize_line;

use super::detail_view::rebuild_view;
use super::list::place_live_row;
pub use super::live_state::{LiveState, PollWalk};
pub use super::msg::LiveEvent;
use super::msg::{Effect, IoEffect, Msg, RequestId};
use super::paging::{HANDOFF, LIVE, Order, Row};
use super::review;
use super::state::{Connection, State};

/// Bounds on what untrusted senders can make the app hold.
const MAX_FETCHING: usize = 64;
const MAX_PENDING_HANDOFFS: usize = 256;
const MAX_ID_LEN: usize = 200;
const MAX_HELD: usize = 10_000;
/// Longest alert summary shown in the status line.
const MAX_ALERT_CHARS: usize = 160;

/// Schedules the first poll (with `--poll`).
pub(super) fn start(s: &mut State, fx: &mut Vec<Effect>) {
    if let Some(every) = s.live.poll_every {
        fx.push(Effect::Io(IoEffect::After {
            delay: every,
            msg: Box::new(Msg::PollDue),
        }));
    }
}

/// Whether an event for `environment` belongs to the list's `client_env` (empty = unknown: yes).
fn same_env(s: &State, environment: &str) -> bool {
    environment.is_empty() || environment == s.client_env
}

fn short(id: &str) -> String {
    let id = sanitize_line(id);
    if id.chars().count() > 14 {
        format!("{}…", id.chars().take(13).collect::<String>())
    } else {
        id
    }
}

pub(super) fn on_event(s: &mut State, ev: LiveEvent, fx: &mut Vec<Effect>) {
    match ev {
        LiveEvent::Receiver { up } => s.live.listening = up,
        LiveEvent::Alert { resolved, summary } => {
            let summary = crate::sanitize::truncate(&sanitize_line(&summary), MAX_ALERT_CHARS);
            s.status.note = Some(if resolved {
                format!("✓ alert resolved: {summary}")
            } else {
                format!("⚠ alert: {summary}")
            });
        }
        LiveEvent::Completed { id, environment } => {
            if id.is_empty() || id.len() > MAX_ID_LEN || !same_env(s, &environment) {
                return;
            }
            if s.live.fetching.iter().any(|(_, f)| *f == id) || s.live.fetching.len() >= MAX_FETCHING {
                return;
            }
            let req = s.take_req();
            s.live.fetching.push((req, id.clone()));
            fx.push(Effect::Io(IoEffect::FetchLive { req, id }));
        }
        LiveEvent::Handoff {
            id,
            environment,
            reason,
        } => {
            if id.is_empty() || id.len() > MAX_ID_LEN || !same_env(s, &environment) {
                return;
            }
            let reason = sanitize_line(&reason);
            s.status.note = Some(if reason.is_empty() {
                format!("⇄ handoff on {}", short(&id))
            } else {
                format!("⇄ handoff on {} → {reason}", short(&id))
            });
            match s.list.paging.position(&sanitize_line(&id)) {
                Some(i) => flag_handoff(&mut s.list.paging.rows[i], &reason),
                None => {
                    if s.live.pending_handoffs.len() >= MAX_PENDING_HANDOFFS {
                        s.live.pending_handoffs.pop_front();
                    }
                    s.live.pending_handoffs.push_back((id, reason));
                }
            }
        }
    }
}

fn flag_handoff(row: &mut Row, reason: &str) {
    row.flags |= HANDOFF;
    if row.handoff_reason.is_empty() && !reason.is_empty() {
        row.handoff_reason = reason.into();
    }
}

pub(super) fn on_conversation(
    s: &mut State,
    req: RequestId,
    result: Result<Conversation, ApiError>,
    fx: &mut Vec<Effect>,
) {
    let Some(i) = s.live.fetching.iter().position(|(r, _)| *r == req) else {
        return; // for a list that was reloaded since
    };
    let (_, id) = s.live.fetching.swap_remove(i);
    match result {
        Ok(mut c) => {
            if c.id.is_empty() {
                c.id = id;
            }
            review::cache(s, std::slice::from_ref(&c), fx);
            if accepts(s, &c) {
                insert(s, &c, fx);
            } else {
                // A review queue's item, fetched by id when the queue opened.
                super::queue::on_item(s, &c);
            }
        }
        Err(e) => {
            s.connection = Connection::after_error(&e);
            s.status.note = Some(format!("live call {}: {}", short(&id), sanitize_line(&e.headline())));
        }
    }
}

/// Whether a call that arrived live belongs in the list: a search result list takes none (the
/// server decides what matches), nor a queue's items, a filtered list those the filter keeps, a fixed window (`w` →
/// a range) those that started in it.
fn accepts(s: &State, c: &Conversation) -> bool {
    s.search.is_none()
        && s.queue.active.is_none()
        && s.window.holds(c.started_at)
        && s.effective_filter().matches(c, s.review.get(&c.id))
}

/// Adds a conversation that arrived live, or refreshes its row if it is loaded (an
/// in-progress call that completed). Returns whether a row was added.
pub fn insert(s: &mut State, c: &Conversation, fx: &mut Vec<Effect>) -> bool {
    if !c.turns.is_empty() || c.num_turns.unwrap_or(0) == 0 {
        s.detail.cache.insert(c.clone());
    }
    let mut row = Row::from_conversation(c);
    if let Some(i) = s.live.pending_handoffs.iter().position(|(id, _)| *id == c.id)
        && let Some((_, reason)) = s.live.pending_handoffs.remove(i)
    {
        flag_handoff(&mut row, &reason);
    }
    if let Some(i) = s.list.paging.position(&row.id) {
        row.flags |= s.list.paging.rows[i].flags & (LIVE | HANDOFF);
        if row.handoff_reason.is_empty() {
            row.handoff_reason = s.list.paging.rows[i].handoff_reason.clone();
        }
        s.list.paging.rows[i] = row;
        if s.list.selected().is_some_and(|r| *r.id == *c.id) || s.detail.view.is_none() {
            rebuild_view(s);
        }
        return false;
    }
    row.flags |= LIVE;
    if s.list.order == Order::OldestFirst && !s.list.paging.end {
        match s.live.held.iter().position(|h| h.id == row.id) {
            Some(i) => s.live.held[i] = row,
            None if s.live.held.len() < MAX_HELD => s.live.held.push(row),
            None => {}
        }
        return true;
    }
    place_live_row(s, row, fx);
    true
}

/// Start time of the newest loaded row.
fn newest_seen(s: &State) -> Option<DateTime<Utc>> {
    s.list
        .paging
        .rows
        .iter()
        .map(|r| r.started)
        .filter(|&t| t != i64::MIN)
        .max()
        .and_then(|t| DateTime::from_timestamp(t, 0))
}

pub(super) fn on_poll_due(s: &mut State, fx: &mut Vec<Effect>) {
    let Some(every) = s.live.poll_every else { return };
    fx.push(Effect::Io(IoEffect::After {
        delay: every,
        msg: Box::new(Msg::PollDue),
    }));
    if s.live.poll.is_some() {
        return;
    }
    let Some(start) = newest_seen(s).or(s.list.paging.window.map(|w| w.1)) else {
        return;
    };
    // One second later than the clock says, so a call that started this second is included.
    let end = s.now + chrono::Duration::seconds(1);
    if start >= end {
        return;
    }
    request_poll(s, start, end, None, CursorGuard::default(), fx);
}

fn request_poll(
    s: &mut State,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    cursor: Option<String>,
    cursors: CursorGuard,
    fx: &mut Vec<Effect>,
) {
    let req = s.take_req();
    s.live.poll = Some(PollWalk {
        req,
        start,
        end,
        cursors,
    });
    fx.push(Effect::Io(IoEffect::FetchPoll {
        req,
        query: s.list_query(start, end, cursor),
    }));
}

pub(super) fn on_poll_page(
    s: &mut State,
    req: RequestId,
    result: Result<ConversationPage, ApiError>,
    fx: &mut Vec<Effect>,
) {
    let Some(mut walk) = s.live.poll.take_if(|w| w.req == req) else {
        return;
    };
    let result = result.and_then(|mut page| {
        page.cursor = walk.cursors.follow(page.cursor.take())?;
        Ok(page)
    });
    match result {
        Ok(page) => {
            // Ascending: each one goes on top of the previous (newest first).
            review::cache(s, &page.conversations, fx);
            for c in &page.conversations {
                if accepts(s, c) {
                    insert(s, c, fx);
                }
            }
            if page.cursor.is_some() {
                request_poll(s, walk.start, walk.end, page.cursor, walk.cursors, fx);
            }
        }
        Err(e) => {
            s.connection = Connection::after_error(&e);
            s.status.note = Some(format!("poll failed: {}", sanitize_line(&e.headline())));
        }
    }
}
