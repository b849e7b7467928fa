//! lnav-style jumps for reviewers: move the list selection to the next (or previous) row that
//! still needs attention, wrapping at the ends. Rows not loaded yet count: a jump that finds
//! nothing among the loaded rows keeps looking ("searching…" on the status line, esc stops),
//! loading the pages the list would load anyway and asking the store for the marks it needs,
//! one message at a time, so input is never blocked.

use crate::domain::ReviewStatus;

use super::keymap::JumpAction;
use super::list::{load_more, select};
use super::msg::{Effect, IoEffect, StoreRequest};
use super::paging::{HANDOFF, Row};
use super::review;
use super::state::State;
pub use super::state::{JumpKind, Seek};

/// Marks asked for at once while looking.
const MARKS_BATCH: usize = 200;

/// Whether `row` is of `kind`; `None` while its marks are still to come from the store.
fn judge(kind: JumpKind, s: &State, row: &Row) -> Option<bool> {
    match kind {
        JumpKind::Unreviewed => Some(s.review.get(&row.id).is_none_or(|m| m.status != ReviewStatus::Reviewed)),
        JumpKind::Flagged => match s.review.get(&row.id) {
            Some(m) => Some(m.is_flagged()),
            // Without a store no marks will come.
            None if s.review.unavailable.is_some() => Some(false),
            None => None,
        },
        JumpKind::Handoff => Some(row.has(HANDOFF)),
    }
}

/// After `R` set `next`: with `[review] advance_after_mark`, a call marked reviewed goes on to
/// the next unreviewed one, and the note says both.
pub fn advance_after_mark(s: &mut State, next: ReviewStatus, fx: &mut Vec<Effect>) {
    if next != ReviewStatus::Reviewed || !s.review.advance_after_mark {
        return;
    }
    // The jump's own note (wrapped, none left) says where it went.
    jump(s, JumpKind::Unreviewed, true, fx);
    let marked = format!("marked {}", next.label());
    s.status.note = match s.status.note.take() {
        Some(n) if !n.starts_with("marked") => Some(format!("{marked} · {n}")),
        // Still looking: the status line says "searching…".
        _ if s.list.seek.is_some() => None,
        _ => Some(format!("{marked} · next unreviewed")),
    };
}

/// The jump keys (every one: the compiler checks the match).
pub fn on_action(s: &mut State, action: JumpAction, fx: &mut Vec<Effect>) {
    let (kind, forward) = match action {
        JumpAction::NextUnreviewed => (JumpKind::Unreviewed, true),
        JumpAction::PrevUnreviewed => (JumpKind::Unreviewed, false),
        JumpAction::NextFlagged => (JumpKind::Flagged, true),
        JumpAction::PrevFlagged => (JumpKind::Flagged, false),
        JumpAction::NextHandoff => (JumpKind::Handoff, true),
        JumpAction::PrevHandoff => (JumpKind::Handoff, false),
    };
    jump(s, kind, forward, fx);
}

/// Starts a jump to the next (`forward`) or previous row of `kind`.
pub fn jump(s: &mut State, kind: JumpKind, forward: bool, fx: &mut Vec<Effect>) {
    let Some(from) = s.list.selected().map(|r| r.id.to_string()) else {
        s.status.note = Some(format!("no {} calls in this window", kind.label()));
        return;
    };
    s.list.seek = Some(Seek {
        kind,
        forward,
        from,
        judged: 0,
        source: s.list.paging.source,
    });
    go_on(s, fx);
}

/// `esc` while looking.
pub fn cancel(s: &mut State) {
    if let Some(seek) = s.list.seek.take() {
        s.status.note = Some(format!("stopped looking for the next {} call", seek.kind.label()));
    }
}

/// The status line while a jump is looking.
pub fn searching_text(s: &State) -> Option<String> {
    let seek = s.list.seek.as_ref()?;
    let dir = if seek.forward { "next" } else { "previous" };
    Some(format!(
        "⟳ searching for the {dir} {} call… ({} rows loaded · esc stops)",
        seek.kind.label(),
        s.list.visible_len()
    ))
}

enum Step {
    At(usize, bool),
    /// Needs rows not loaded yet (the first part of the walk is done, the list is not).
    MoreRows,
    Exhausted,
}

/// Position `i` of the visiting order from `from`: forward the rows below it, then (once the
/// whole window is loaded) from the top; backward the rows above it, then from the bottom.
fn nth(forward: bool, from: usize, len: usize, complete: bool, i: usize) -> Step {
    let first = if forward { len - from - 1 } else { from };
    if i < first {
        let pos = if forward { from + 1 + i } else { from - 1 - i };
        return Step::At(pos, false);
    }
    if !complete {
        return Step::MoreRows;
    }
    let j = i - first;
    if j + first + 1 >= len {
        return Step::Exhausted;
    }
    Step::At(if forward { j } else { len - 1 - j }, true)
}

/// Whether every row of the window is loaded; `Err` with why not when no more will come.
fn complete(s: &State) -> Result<bool, &'static str> {
    let p = &s.list.paging;
    match &s.list.incoming {
        // The API's walk replaces the cached rows once it can: wait for it.
        Some(api) if api.failed.is_none() => Ok(false),
        _ if p.failed.is_some() => Err("the rest of the window could not be loaded"),
        _ => Ok(p.end),
    }
}

/// Carries a looking jump on as far as the loaded rows and marks allow. Called after every
/// message, so a page or marks arriving take it further.
pub fn go_on(s: &mut State, fx: &mut Vec<Effect>) {
    let Some(mut seek) = s.list.seek.take() else {
        return;
    };
    let Some(from) = s.list.paging.position(&seek.from) else {
        return; // the list was reloaded or replaced without that row: nothing to jump from
    };
    if from != s.list.sel {
        return; // the user moved: the jump is theirs no more
    }
    if seek.source != s.list.paging.source {
        seek.source = s.list.paging.source;
        seek.judged = 0;
    }
    let len = s.list.visible_len();
    let complete = match complete(s) {
        Ok(c) => c,
        Err(why) => return finish(s, &seek, None, Some(why), fx),
    };
    loop {
        match nth(seek.forward, from, len, complete, seek.judged) {
            Step::At(pos, wrapped) => {
                let Some(row) = s.list.row_at(pos) else { return };
                match judge(seek.kind, s, row) {
                    Some(true) => return finish(s, &seek, Some((pos, wrapped)), None, fx),
                    Some(false) => seek.judged += 1,
                    None => {
                        ask_marks(s, &seek, from, len, complete, fx);
                        s.list.seek = Some(seek);
                        return;
                    }
                }
            }
            Step::MoreRows => {
                load_more(s, fx);
                // A page the runner cannot fetch (typing a search) never comes.
                if s.list.api().in_flight.is_none() && s.list.paging.in_flight.is_none() && s.list.incoming.is_none() {
                    return finish(s, &seek, None, Some("no more rows are being loaded"), fx);
                }
                s.list.seek = Some(seek);
                return;
            }
            Step::Exhausted => return finish(s, &seek, None, None, fx),
        }
    }
}

/// Asks the store for the marks of the next rows to judge that were not asked for yet.
fn ask_marks(s: &mut State, seek: &Seek, from: usize, len: usize, complete: bool, fx: &mut Vec<Effect>) {
    let mut ids = Vec::new();
    let mut i = seek.judged;
    while ids.len() < MARKS_BATCH {
        let Step::At(pos, _) = nth(seek.forward, from, len, complete, i) else {
            break;
        };
        i += 1;
        if let Some(r) = s.list.row_at(pos)
            && !s.review.requested.contains(&*r.id)
        {
            ids.push(r.id.to_string());
        }
    }
    if ids.is_empty() {
        return; // asked already: the answer is on its way
    }
    s.review.requested.extend(ids.iter().cloned());
    fx.push(Effect::Io(IoEffect::Store(StoreRequest::LoadMarks {
        origin: review::origin(s),
        ids,
    })));
}

fn finish(s: &mut State, seek: &Seek, found: Option<(usize, bool)>, short: Option<&str>, fx: &mut Vec<Effect>) {
    s.list.seek = None;
    let kind = seek.kind.label();
    match found {
        Some((pos, wrapped)) => {
            select(s, pos, false, fx);
            if wrapped {
                let end = if seek.forward { "top" } else { "bottom" };
                s.status.note = Some(format!("wrapped to {end}"));
            }
        }
        None => {
            let from = s.list.paging.position(&seek.from);
            let itself = from
                .and_then(|p| s.list.row_at(p))
                .is_some_and(|r| judge(seek.kind, s, r) == Some(true));
            let other = if itself { "other " } else { "" };
            s.status.note = Some(match short {
                Some(why) => format!("no {other}{kind} calls in the rows loaded ({why})"),
                None => format!("no {other}{kind} calls in this window"),
            });
        }
    }
}
