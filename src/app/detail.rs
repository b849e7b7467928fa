//! The detail pane's handlers: the debounced transcript fetch and its answers (API or cache),
//! the transcript toggles, and the marks answers that redraw the selected conversation.

use crate::api::{ApiError, Conversation};
use crate::domain::scores::{ScoreRecord, current};
use crate::domain::{ConversationKey, Marks, Origin};
use crate::sanitize::sanitize_line;

use super::detail_view::{back_to_turn, rebuild_view, top_turn};
use super::msg::{Effect, IoEffect, RequestId, StoreRequest};
use super::review;
use super::scorecard_state::SHOWN_CAPACITY;
use super::state::{Connection, State};
use super::transcript::Toggles;

pub(super) fn on_detail_due(s: &mut State, req: RequestId, fx: &mut Vec<Effect>) {
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
        fx.push(Effect::Io(IoEffect::Store(StoreRequest::LoadConversation { req, key })));
    } else {
        fx.push(Effect::Io(IoEffect::FetchConversation { req, id }));
    }
}

pub(super) fn on_cached_conversation(
    s: &mut State,
    req: RequestId,
    conversation: Option<Conversation>,
    fx: &mut Vec<Effect>,
) {
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
            fx.push(Effect::Io(IoEffect::FetchConversation { req, id }));
        }
        // Not cached, or only its summary: ask the API.
        _ => fx.push(Effect::Io(IoEffect::FetchConversation { req, id })),
    }
}

pub(super) fn on_conversation(
    s: &mut State,
    req: RequestId,
    result: Result<Conversation, ApiError>,
    fx: &mut Vec<Effect>,
) {
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
            s.connection = Connection::after_error(&e);
            let headline = sanitize_line(&e.headline_with_id());
            s.detail.error = Some(headline.clone());
            s.status.error = Some(headline);
        }
    }
}

/// A transcript toggle: flips it, lays the transcript out again with the current turn kept at
/// the top, and says what it did.
pub(super) fn toggle(s: &mut State, flag: impl Fn(&mut Toggles) -> &mut bool, what: &str) {
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

/// `Msg::Marks`: marks arrived from the store; the transcript shows them when they are the
/// selected conversation's.
pub(super) fn on_marks(s: &mut State, origin: &Origin, marks: Vec<(String, Marks)>) {
    let selected = s.list.selected().map(|r| r.id.to_string());
    let touches = selected.is_some_and(|id| marks.iter().any(|(m, _)| *m == id));
    if review::on_marks(s, origin, marks) && touches {
        rebuild_view(s);
    }
}

/// Who last changed each mark arrived (`app::history`): the selected call's pane shows them.
pub(super) fn on_authors(s: &mut State, origin: &Origin, authors: Vec<(String, super::history::Authors)>) {
    let selected = s.list.selected().map(|r| r.id.to_string());
    let touches = selected.is_some_and(|id| authors.iter().any(|(a, _)| *a == id));
    if super::history::on_authors(s, origin, authors) && touches {
        rebuild_view(s);
    }
}

/// A call's saved scores arrived (for the pane or the form): kept as its current saves; the
/// selected call's pane shows them.
pub(super) fn on_scores(s: &mut State, key: &ConversationKey, result: &Result<Vec<ScoreRecord>, String>) {
    let Ok(records) = result else { return };
    keep_scores(s, key, current(records).into_iter().cloned().collect());
}

/// The form saved a record: it replaces that reviewer's save of that form in the pane.
pub(super) fn on_score_saved(s: &mut State, key: &ConversationKey, record: &ScoreRecord) {
    let mut records = s.scorecards.shown.get(key).cloned().unwrap_or_default();
    records.push(record.clone());
    keep_scores(s, key, current(&records).into_iter().cloned().collect());
}

fn keep_scores(s: &mut State, key: &ConversationKey, records: Vec<ScoreRecord>) {
    if s.scorecards.shown.len() >= SHOWN_CAPACITY && !s.scorecards.shown.contains_key(key) {
        s.scorecards.shown.clear();
    }
    let changed = s.scorecards.shown.get(key) != Some(&records);
    s.scorecards.shown.insert(key.clone(), records);
    let selected = s.list.selected().map(|r| r.id.to_string());
    if changed && selected.as_deref() == Some(key.id.as_str()) && review::origin(s) == key.origin() {
        // The `qa` line moves the transcript down: the turn being read stays at the top.
        let anchor = top_turn(s);
        rebuild_view(s);
        back_to_turn(s, anchor);
    }
}

/// `Msg::MarksSaved`: a change was written (or refused for good).
pub(super) fn on_marks_saved(
    s: &mut State,
    key: &ConversationKey,
    seq: u64,
    result: Result<Marks, String>,
    fx: &mut Vec<Effect>,
) {
    if review::on_saved(s, key, seq, result, fx) && s.list.selected().is_some_and(|r| *r.id == key.id) {
        rebuild_view(s);
    }
}

/// `Msg::MarksPending`: the store refuses writes for now; the detail pane says why the
/// selected conversation's marks are not saved.
pub(super) fn on_marks_pending(s: &mut State, error: String, retry_in: std::time::Duration) {
    review::on_pending(s, error, retry_in);
    if s.list
        .selected()
        .is_some_and(|r| review::pending_of(s, &r.id).is_some())
    {
        rebuild_view(s);
    }
}
