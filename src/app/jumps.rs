//! lnav-style jumps for reviewers: move the list selection to the next (or previous) loaded
//! row that still needs attention, wrapping at the ends.

use crate::store::ReviewStatus;

use super::msg::Effect;
use super::paging::{HANDOFF, Row};
use super::state::State;
use super::update::select;

/// What a jump looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JumpKind {
    /// Status is not reviewed; rows whose marks are not loaded yet count too.
    Unreviewed,
    /// Has at least one review flag (only known once its marks are loaded).
    Flagged,
    /// The call was handed off to a human.
    Handoff,
}

impl JumpKind {
    fn label(self) -> &'static str {
        match self {
            JumpKind::Unreviewed => "unreviewed",
            JumpKind::Flagged => "flagged",
            JumpKind::Handoff => "handoff",
        }
    }

    fn matches(self, s: &State, row: &Row) -> bool {
        match self {
            JumpKind::Unreviewed => s.review.get(&row.id).is_none_or(|m| m.status != ReviewStatus::Reviewed),
            JumpKind::Flagged => s.review.get(&row.id).is_some_and(|m| m.is_flagged()),
            JumpKind::Handoff => row.has(HANDOFF),
        }
    }
}

/// Selects the next (`forward`) or previous visible row of `kind`, as a cursor move would.
pub fn jump(s: &mut State, kind: JumpKind, forward: bool, fx: &mut Vec<Effect>) {
    let len = s.list.visible_len();
    let sel = s.list.sel.min(len.saturating_sub(1));
    let hit = |pos: usize| s.list.row_at(pos).is_some_and(|r| kind.matches(s, r));
    // Candidates in visiting order, the current row excluded; `true` once past the end.
    let found = if forward {
        (sel + 1..len)
            .map(|p| (p, false))
            .chain((0..sel).map(|p| (p, true)))
            .find(|&(p, _)| hit(p))
    } else {
        (0..sel)
            .rev()
            .map(|p| (p, false))
            .chain((sel + 1..len).rev().map(|p| (p, true)))
            .find(|&(p, _)| hit(p))
    };
    match found {
        Some((pos, wrapped)) => {
            select(s, pos, false, fx);
            if wrapped {
                let end = if forward { "top" } else { "bottom" };
                s.status.note = Some(format!("wrapped to {end}"));
            }
        }
        None if len > 0 && hit(sel) => {
            s.status.note = Some(format!("no other {} calls loaded", kind.label()));
        }
        None => s.status.note = Some(format!("no {} calls loaded", kind.label())),
    }
}
