//! Keys while an overlay is open: the help's scrolling and the window, flag and view pickers.

use crossterm::event::{KeyCode, KeyEvent};

use crate::domain::Filter;

use super::help;
use super::keymap::Action;
use super::list::{reload, set_filter};
use super::msg::Effect;
use super::picker::{PickerMove, picker_move};
use super::review;
use super::state::{Input, InputKind, Overlay, State, TimeWindow};

pub(super) fn on_help_key(s: &mut State, k: KeyEvent) {
    let (max, rows) = (help::max_scroll(s), help::rows(s).max(1));
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

pub(super) fn on_window_picker_key(s: &mut State, k: KeyEvent, fx: &mut Vec<Effect>) {
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

pub(super) fn on_flag_picker_key(s: &mut State, k: KeyEvent, fx: &mut Vec<Effect>) {
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

pub(super) fn on_view_picker_key(s: &mut State, k: KeyEvent, fx: &mut Vec<Effect>) {
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
