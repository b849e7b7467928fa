//! The detail pane's layout in state: the transcript built for the selected conversation, its
//! scroll, the search matches in it and the turn at its top. Shared by every feature that moves
//! the selection or changes what the transcript shows; it imports no feature handler.

use crate::audio::turn_at;

use super::msg::{Effect, IoEffect, StoreRequest};
use super::review;
use super::state::{ListSearch, State};
use super::transcript::{self, build};

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
    if let Some(scores) = s.scorecards.shown.get(&review::origin(s).key(id.as_str())) {
        transcript::insert_scores(&mut view, scores);
    }
    super::history::annotate(&mut view, s, &id);
    s.detail.view = Some(view);
    recompute_matches(s);
    clamp_detail_scroll(s);
    sync_follow(s, false);
}

/// Asks the store for the saved scores of call `id` (for the pane's `qa` line and `x`) unless
/// they are known; `Msg::Scores` answers (`app::detail::on_scores`).
pub(super) fn load_scores(s: &State, id: &str, fx: &mut Vec<Effect>) {
    let key = review::origin(s).key(id);
    if s.review.unavailable.is_none() && !s.scorecards.shown.contains_key(&key) {
        fx.push(Effect::Io(IoEffect::Store(StoreRequest::LoadScores { key })));
    }
}

/// The transcript scrolls until its last turn is at the top, so every turn can become the
/// current one (for Enter's playback and `b`'s rating), however short the call.
pub(super) fn detail_max_scroll(s: &State) -> usize {
    let last_turn = s.detail.view.as_ref().and_then(|v| v.turn_starts.last().copied());
    detail_fill_scroll(s).max(last_turn.unwrap_or(0))
}

/// The largest scroll that still fills the pane: jumps (search) go no further.
pub(super) fn detail_fill_scroll(s: &State) -> usize {
    let lines = s.detail.view.as_ref().map_or(0, |v| v.lines.len());
    lines.saturating_sub(s.panes().detail_rows())
}

pub(super) fn clamp_detail_scroll(s: &mut State) {
    s.detail.scroll = s.detail.scroll.min(detail_max_scroll(s));
}

/// The turn at the top of the transcript and how many of its lines are above the top (none
/// while the call's details are at the top).
pub(super) fn top_turn(s: &State) -> Option<(usize, usize)> {
    let scroll = s.detail.scroll;
    let v = s.detail.view.as_ref()?;
    let t = v.turn_starts.iter().rposition(|&l| l <= scroll)?;
    Some((t, scroll - v.turn_starts[t]))
}

/// After a new layout: the same turn at the top (as far into it as it still reaches).
pub(super) fn back_to_turn(s: &mut State, anchor: Option<(usize, usize)>) {
    let Some((t, offset)) = anchor else { return };
    let Some(v) = s.detail.view.as_ref() else { return };
    let Some(&start) = v.turn_starts.get(t) else { return };
    let end = v.turn_starts.get(t + 1).copied().unwrap_or(v.lines.len());
    s.detail.scroll = start + offset.min(end.saturating_sub(start + 1));
    clamp_detail_scroll(s);
}

fn words(q: &str) -> impl Iterator<Item = &str> {
    q.split_whitespace()
}

pub(super) fn recompute_matches(s: &mut State) {
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

pub(super) fn jump_to_match(s: &mut State) {
    if let Some(&line) = s.detail.matches.get(s.detail.match_idx) {
        s.detail.scroll = line.saturating_sub(2).min(detail_fill_scroll(s));
    }
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

/// The current turn of the shown transcript (none without turns).
pub fn current_turn(s: &State) -> Option<usize> {
    let view = s.detail.view.as_ref()?;
    let selected = s.list.selected()?;
    if *selected.id != view.id {
        return None;
    }
    turn_at_top(s)
}

/// The turn whose lines are at the top of the detail pane (the first turn while the
/// metadata above the transcript is in view).
pub fn turn_at_top(s: &State) -> Option<usize> {
    let v = s.detail.view.as_ref()?;
    if v.turn_starts.is_empty() {
        return None;
    }
    Some(v.turn_starts.iter().rposition(|&l| l <= s.detail.scroll).unwrap_or(0))
}

/// Updates the spoken turn for the position; with follow on, scrolls the transcript so the
/// turn is in view when it changes (or always, when `force`), so reading elsewhere between
/// turn changes is not fought.
pub fn sync_follow(s: &mut State, force: bool) {
    let Some(playing) = s.player.playing.clone() else {
        return;
    };
    // One utterance alone: its position says nothing about the call's timeline.
    if let Some(turn) = s.player.utterance {
        s.player.spoken = Some(turn);
        return;
    }
    let Some(c) = s.detail.cache.get(&playing.id) else {
        return;
    };
    let Some(started) = c.started_at.or(playing.started_at) else {
        return;
    };
    let spoken = turn_at(&c.turns, started, s.player.position);
    let changed = spoken != s.player.spoken;
    s.player.spoken = spoken;
    if !s.player.follow || !(changed || force) {
        return;
    }
    let rows = s.panes().detail_rows().max(1);
    let Some(v) = s.detail.view.as_ref().filter(|v| v.id == playing.id) else {
        return;
    };
    let Some(turn) = spoken else { return };
    let Some(&start) = v.turn_starts.get(turn) else { return };
    let end = v.turn_starts.get(turn + 1).copied().unwrap_or(v.lines.len());
    let max = v.lines.len().saturating_sub(rows);
    let mut scroll = s.detail.scroll;
    if start < scroll || start >= scroll + rows {
        scroll = start;
    } else if end > scroll + rows {
        scroll = start.min(end - rows);
    }
    s.detail.scroll = scroll.min(max);
}
