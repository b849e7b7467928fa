//! Why a key changed nothing on screen. The loop renders before and after each key; when the
//! two screens are the same it shows [`why_no_effect`] in the status line, so a key is never
//! swallowed in silence ("j: already at the last row").

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::keymap::{Action, KeyChord, PlayerAction, StatsAction, TurnMove};
use super::state::{Overlay, Pane, State};

/// The status line's answer to a key that changed nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoEffect {
    pub text: String,
    /// No rule below knows this case: the text only names the action. The randomized key
    /// test treats it as a missing reason.
    pub generic: bool,
}

/// Status-line text for a key that left the screen as it was, read from the state after the
/// key was handled.
pub fn why_no_effect(s: &State, k: &KeyEvent) -> NoEffect {
    let key = KeyChord::from_event(k).to_string();
    let said = |why: &str| NoEffect {
        text: format!("{key}: {why}"),
        generic: false,
    };
    if let Some(input) = &s.input {
        return said(match k.code {
            KeyCode::Backspace => "nothing left to delete",
            KeyCode::Char(_) if !k.modifiers.contains(KeyModifiers::CONTROL) => {
                "the input holds at most 200 characters"
            }
            _ if input.text.is_empty() => "not used while typing — type text, esc closes",
            _ => "not used while typing — enter applies, esc closes",
        });
    }
    if s.overlay == Overlay::None
        && let Some(why) = super::scorecard_form::why_no_effect(s, k)
    {
        return said(why);
    }
    let action = s.keymap.action(k);
    match &s.overlay {
        Overlay::None => {}
        Overlay::Help { .. } => {
            return said(match action {
                Some(Action::Down | Action::PageDown | Action::HalfDown | Action::Bottom) => {
                    "already at the end of the help"
                }
                Some(Action::Up | Action::PageUp | Action::HalfUp | Action::Top) => "already at the top of the help",
                _ => "not a help key — j/k g/G scroll, esc closes",
            });
        }
        Overlay::WindowPicker { .. }
        | Overlay::FlagPicker { .. }
        | Overlay::RatePicker { .. }
        | Overlay::ViewPicker { .. }
        | Overlay::QueuePicker { .. } => {
            return said(match k.code {
                KeyCode::Char('0'..='9') => "no entry with that number",
                _ => "not a picker key — a number or j/k and enter choose, esc closes",
            });
        }
        Overlay::History { .. } => return said(super::history::why_no_effect(s, action)),
    }
    let Some(action) = action else {
        return said("not bound to anything (? lists the keys)");
    };
    if s.stats.open {
        // The stats view takes every key; what it does not use is said once here.
        return said(match action {
            Action::Down | Action::Up | Action::Top | Action::Bottom => "this chart has no other bar",
            Action::Open => "no bar selected to list its calls",
            _ => "not a stats key — tab chart, j/k bar, enter its calls, V split, ctrl-r fetch, esc closes",
        });
    }
    let list_len = s.list.visible_len();
    let loading = s.list.paging.in_flight.is_some() || s.list.incoming.is_some();
    let no_rows = if loading {
        "no rows yet — the list is loading"
    } else {
        "the list is empty"
    };
    let in_list = s.focus == Pane::List;
    let no_view = s.detail.view.is_none();
    let no_transcript = if s.detail.pending.is_some() || s.detail.debounce.is_some() {
        "the transcript is still loading"
    } else if s.detail.error.is_some() {
        "the transcript could not be loaded (see the pane)"
    } else {
        "no transcript shown"
    };
    let down = matches!(
        action,
        Action::Down | Action::PageDown | Action::HalfDown | Action::Bottom
    );
    let up = matches!(action, Action::Up | Action::PageUp | Action::HalfUp | Action::Top);
    if down || up {
        return said(match (in_list, down) {
            (true, _) if list_len == 0 => no_rows,
            (true, true) if loading => "already at the last loaded row — more are loading",
            (true, true) => "already at the last row",
            (true, false) => "already at the first row",
            (false, _) if no_view => no_transcript,
            (false, true) => "already at the end of the transcript",
            (false, false) => "already at the top of the transcript",
        });
    }
    if let Some(why) = super::queue::why_no_effect(s, action) {
        return said(why);
    }
    let needs_row = list_len == 0 && !matches!(action, Action::Quit | Action::Help | Action::Reload);
    if needs_row {
        return said(no_rows);
    }
    if let Action::Jump(_) = action {
        // Pressed again while the first one still looks, a jump restarts the same search: the
        // screen ("⟳ searching for …") stays as it was. A jump that ends always sets a note.
        return said(if s.list.seek.is_some() {
            "already looking — esc stops"
        } else {
            "no row of that kind to move to"
        });
    }
    said(match action {
        Action::Back if in_list => "nothing to close or clear",
        Action::NextMatch | Action::PrevMatch if s.detail.search.is_empty() => "no search (/ searches)",
        Action::NextMatch | Action::PrevMatch => "no other match",
        Action::CopyId | Action::CopyTranscript | Action::CopyStudioLink => "nothing to copy here",
        Action::Turn(TurnMove::Next)
        | Action::Turn(TurnMove::Prev)
        | Action::Turn(TurnMove::NextCaller)
        | Action::Turn(TurnMove::PrevCaller)
        | Action::Turn(TurnMove::Slowest)
        | Action::RateTurn
        | Action::ExportMarkdown
            if no_view =>
        {
            no_transcript
        }
        Action::Turn(TurnMove::Next) | Action::Turn(TurnMove::NextCaller) => "no further turn of that kind",
        Action::Turn(TurnMove::Prev) | Action::Turn(TurnMove::PrevCaller) => "no earlier turn of that kind",
        Action::Open if !in_list && no_view => no_transcript,
        Action::Open if in_list => "the transcript is already open",
        Action::MarkHistory if s.review.unavailable.is_some() => "no mark history: the local store is unavailable",
        // Outside the stats view (`%`) its own keys have nothing to act on.
        Action::Stats(StatsAction::Split | StatsAction::Fetch) => "only in the stats view (% opens it)",
        Action::Player(
            PlayerAction::PlayPause
            | PlayerAction::Stop
            | PlayerAction::SeekBack
            | PlayerAction::SeekForward
            | PlayerAction::SeekBackLong
            | PlayerAction::SeekForwardLong
            | PlayerAction::SeekStart
            | PlayerAction::SeekEnd
            | PlayerAction::PlayUtterance
            | PlayerAction::SaveRecording,
        )
        | Action::Open => {
            if s.player.is_loaded() {
                "the player is already there"
            } else {
                "nothing is playing (space plays the selected call)"
            }
        }
        _ => {
            return NoEffect {
                text: format!("{key}: {} — nothing to do here", action.description()),
                generic: true,
            };
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::KeyMap;
    use crate::app::state::{Identity, Input, InputKind};

    fn state() -> State {
        State::new(
            KeyMap::default(),
            Identity::default(),
            "live",
            chrono::Utc::now(),
            chrono::FixedOffset::east_opt(0).unwrap(),
            (120, 40),
        )
    }

    fn key(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    #[test]
    fn every_state_class_has_its_own_reason() {
        let mut s = state();
        assert_eq!(why_no_effect(&s, &key('j')).text, "j: the list is empty");
        assert_eq!(
            why_no_effect(&s, &key('§')).text,
            "§: not bound to anything (? lists the keys)"
        );
        s.overlay = Overlay::Help { scroll: 0 };
        assert_eq!(why_no_effect(&s, &key('k')).text, "k: already at the top of the help");
        s.overlay = Overlay::FlagPicker { sel: 0 };
        assert_eq!(why_no_effect(&s, &key('9')).text, "9: no entry with that number");
        s.overlay = Overlay::None;
        s.input = Some(Input {
            kind: InputKind::Note,
            text: String::new(),
        });
        let bs = KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE);
        assert_eq!(why_no_effect(&s, &bs).text, "backspace: nothing left to delete");
        assert!(!why_no_effect(&s, &KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE)).generic);
        s.input = None;
        // A jump needs a row to start from (a repeated one with rows: tests/it/tui/jumps.rs).
        assert_eq!(why_no_effect(&s, &key('"')).text, "\": the list is empty");
    }
}
