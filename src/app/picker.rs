//! What a key does in the small pickers (`w`, `!`, `v`, `b`) and their entries: shared by the
//! overlay handlers and the rating picker.

use crossterm::event::{KeyCode, KeyEvent};

use super::keymap::Action;
use super::state::{State, TimeWindow};

/// Entries of the `v` picker: no filter, then the saved views.
pub fn view_entries(s: &State) -> Vec<String> {
    let mut v = vec!["all conversations (no filter)".to_string()];
    v.extend(s.views.iter().map(|(name, f)| format!("{name} — {}", f.summary())));
    v
}

/// Entries of the `w` picker: the presets, then "custom…".
pub fn picker_entries() -> Vec<String> {
    let mut v: Vec<String> = TimeWindow::PRESETS.iter().map(|(l, _)| format!("last {l}")).collect();
    v.push("custom…".into());
    v
}

/// What a key does in a small picker of `n` entries with `sel` highlighted.
pub(super) enum PickerMove {
    Choose(usize),
    Close,
    Highlight(usize),
    Nothing,
}

pub(super) fn picker_move(s: &State, k: &KeyEvent, sel: usize, n: usize, toggle: Action) -> PickerMove {
    if let KeyCode::Char(c @ '1'..='9') = k.code
        && let Some(i) = Some(c as usize - '1' as usize).filter(|&i| i < n)
    {
        return PickerMove::Choose(i);
    }
    match (k.code, s.keymap.action(k)) {
        (KeyCode::Enter, _) => PickerMove::Choose(sel),
        (KeyCode::Esc, _) | (_, Some(Action::Quit | Action::Back)) => PickerMove::Close,
        (_, Some(a)) if a == toggle => PickerMove::Close,
        (_, Some(Action::Down)) => PickerMove::Highlight((sel + 1) % n),
        (_, Some(Action::Up)) => PickerMove::Highlight((sel + n - 1) % n),
        _ => PickerMove::Nothing,
    }
}
