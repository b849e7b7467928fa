//! Per-turn 👍/👎 ratings in the transcript. The turn a rating applies to is the *current turn*:
//! the one at the top of the detail pane, the same rule Enter uses to play from a turn (the
//! transcript scrolls until its last turn is at the top, so every turn can be current). `b`
//! opens a picker of ratings, then a one-line comment input; each step is saved like the other
//! marks, through the store worker, and shown at once.

use crossterm::event::KeyEvent;

use crate::domain::{RatingReason, Thumbs, TurnRating};

pub use super::detail_view::current_turn;
use super::detail_view::rebuild_view;
use super::keymap::Action;
use super::msg::Effect;
use super::picker::{PickerMove, picker_move};
use super::review::{self, MarkChange};
use super::state::{Input, InputKind, Overlay, Pane, State};
pub use super::state::{PendingComment, RateTarget};
pub use super::transcript::rating_summary as summary;

/// One entry of the `b` picker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateChoice {
    Rate(Thumbs, Option<RatingReason>),
    Clear,
}

/// The picker's entries, in order (digits 1–6 choose directly).
pub const CHOICES: [RateChoice; 6] = [
    RateChoice::Rate(Thumbs::Up, None),
    RateChoice::Rate(Thumbs::Down, Some(RatingReason::WrongInformation)),
    RateChoice::Rate(Thumbs::Down, Some(RatingReason::WrongTranscription)),
    RateChoice::Rate(Thumbs::Down, Some(RatingReason::MissingIntent)),
    RateChoice::Rate(Thumbs::Down, Some(RatingReason::Latency)),
    RateChoice::Clear,
];

impl RateChoice {
    pub fn label(self) -> String {
        match self {
            RateChoice::Rate(t, r) => summary(t, r),
            RateChoice::Clear => "clear rating".into(),
        }
    }

    fn matches(self, r: &TurnRating) -> bool {
        self == RateChoice::Rate(r.thumbs, r.reason)
    }
}

/// Line range of the current turn in the view, for the gutter marker: shown while the
/// transcript has focus or the picker is open.
pub fn marked_lines(s: &State) -> Option<std::ops::Range<usize>> {
    let showing = s.focus == Pane::Detail || matches!(s.overlay, Overlay::RatePicker { .. });
    if !showing {
        return None;
    }
    let turn = current_turn(s)?;
    let view = s.detail.view.as_ref()?;
    let start = *view.turn_starts.get(turn)?;
    let end = view.turn_starts.get(turn + 1).copied().unwrap_or(view.lines.len());
    Some(start..end)
}

fn rating_of(s: &State, target: &RateTarget) -> Option<TurnRating> {
    s.review.get(&target.id)?.turns.get(&target.turn).cloned()
}

/// `b`: in the list, focus the transcript first (the marker shows which turn `b` rates);
/// in the transcript, open the picker for the current turn.
pub fn open_picker(s: &mut State) {
    let Some(key) = review::selected_key(s) else { return };
    if s.focus == Pane::List {
        s.focus = Pane::Detail;
        s.status.note = Some("rate a turn: scroll it to the top (j/k, ▸ marks it), then b".into());
        return;
    }
    if s.detail.view.as_ref().is_none_or(|v| v.id != key.id) {
        s.status.note = Some("no transcript loaded to rate".into());
        return;
    }
    let Some(turn) = current_turn(s).and_then(|t| u32::try_from(t).ok()) else {
        s.status.note = Some("no turns to rate".into());
        return;
    };
    let target = RateTarget { id: key.id, turn };
    let sel = rating_of(s, &target)
        .and_then(|r| CHOICES.iter().position(|c| c.matches(&r)))
        .unwrap_or(0);
    s.overlay = Overlay::RatePicker { sel, target };
}

/// A key while the picker is open.
pub fn on_picker_key(s: &mut State, k: KeyEvent, fx: &mut Vec<Effect>) {
    let Overlay::RatePicker { sel, target } = s.overlay.clone() else {
        return;
    };
    match picker_move(s, &k, sel, CHOICES.len(), Action::RateTurn) {
        PickerMove::Choose(i) => {
            s.overlay = Overlay::None;
            choose(s, target, CHOICES[i], fx);
        }
        PickerMove::Close => s.overlay = Overlay::None,
        PickerMove::Highlight(sel) => s.overlay = Overlay::RatePicker { sel, target },
        PickerMove::Nothing => {}
    }
}

fn choose(s: &mut State, target: RateTarget, choice: RateChoice, fx: &mut Vec<Effect>) {
    let turn = target.turn;
    match choice {
        RateChoice::Clear => {
            s.status.note = Some(format!("turn {} rating cleared", turn + 1));
            save(s, &target, None, fx);
        }
        RateChoice::Rate(thumbs, reason) => {
            // Saved now, keeping any earlier comment; the input below may replace the comment.
            let comment = rating_of(s, &target).map(|r| r.comment).unwrap_or_default();
            let rating = TurnRating {
                thumbs,
                reason,
                comment: comment.clone(),
            };
            s.status.note = Some(format!(
                "turn {} rated {} · comment: enter saves, esc keeps it as it was",
                turn + 1,
                summary(thumbs, reason)
            ));
            save(s, &target, Some(rating), fx);
            s.input = Some(Input {
                kind: InputKind::TurnComment(PendingComment { target, thumbs, reason }),
                text: comment,
            });
        }
    }
}

/// Enter in the comment input (empty clears the comment; the rating stays).
pub fn save_comment(s: &mut State, pending: PendingComment, text: &str, fx: &mut Vec<Effect>) {
    let comment = text.trim().to_string();
    s.status.note = Some(if comment.is_empty() {
        format!("turn {} rated, no comment", pending.target.turn + 1)
    } else {
        format!("turn {} comment saved", pending.target.turn + 1)
    });
    let rating = TurnRating {
        thumbs: pending.thumbs,
        reason: pending.reason,
        comment,
    };
    save(s, &pending.target, Some(rating), fx);
}

fn save(s: &mut State, target: &RateTarget, rating: Option<TurnRating>, fx: &mut Vec<Effect>) {
    if let Some(why) = &s.review.unavailable {
        s.status.note = Some(format!("marks unavailable: {why}"));
        return;
    }
    let key = review::origin(s).key(target.id.as_str());
    let change = MarkChange::RateTurn {
        turn: target.turn,
        rating,
    };
    review::change(s, key, change, fx);
    if s.list.selected().is_some_and(|r| *r.id == target.id) {
        keep_turn_at_top(s, target.turn as usize);
    }
}

/// Redraws the transcript with the new rating while the rated turn stays where it was on
/// screen (the first mark adds metadata lines above it).
fn keep_turn_at_top(s: &mut State, turn: usize) {
    let start = |s: &State| s.detail.view.as_ref().and_then(|v| v.turn_starts.get(turn).copied());
    let before = start(s);
    rebuild_view(s);
    if let (Some(b), Some(a)) = (before, start(s))
        && a > b
        && s.detail.scroll >= b
    {
        s.detail.scroll += a - b;
    }
}
