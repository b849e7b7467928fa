//! Teammates' changes in the open TUI: a notification from the team database (or the store
//! worker's own periodic exchange) makes the worker sync; what changed is loaded again, so a
//! teammate's flag shows within a second. Without a team store none of these messages come.

use super::msg::{Effect, IoEffect, StoreRequest};
use super::review::origin;
use super::state::State;
use super::team_state::TeamSync;
use crate::domain::ConversationKey;

/// `Msg::TeamChanged`: a teammate wrote; the worker exchanges changes with the database.
pub fn on_changed(fx: &mut Vec<Effect>) {
    fx.push(Effect::Io(IoEffect::Store(StoreRequest::TeamSync)));
}

/// `Msg::TeamSynced`: the unsynced and still-to-read counts and whether the database answers,
/// for the header; why it does not, on the status line once when that changes; and the marks of
/// changed calls this screen has loaded asked for again (with their authors).
pub fn on_synced(s: &mut State, touched: Vec<ConversationKey>, sync: TeamSync, fx: &mut Vec<Effect>) {
    let unsynced = sync.unsynced;
    let error = sync.error.map(|e| crate::sanitize::sanitize_line(&e));
    if error != s.team.error {
        s.status.note = Some(match &error {
            // The reason first: a narrow status line cuts the end.
            Some(e) => format!(
                "team offline: {} · marks wait here until it answers",
                e.strip_prefix("team database: ").unwrap_or(e)
            ),
            None if unsynced > 0 => format!("team database back — sending {unsynced} change(s)"),
            None => "team database back — every change is shared".into(),
        });
    }
    s.team = TeamSync { error, ..sync };
    let here = origin(s);
    let ids: Vec<String> = touched
        .into_iter()
        .filter(|k| k.origin() == here && s.review.requested.contains(&k.id))
        .map(|k| k.id)
        .collect();
    if !ids.is_empty() {
        fx.push(Effect::Io(IoEffect::Store(StoreRequest::LoadMarks {
            origin: here,
            ids,
        })));
    }
}
