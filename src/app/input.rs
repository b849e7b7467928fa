//! Keys while a line is being typed at the bottom (search, filter, window, note, comment).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::domain::Filter;

use super::list::{reload, set_filter, set_list_search};
use super::msg::Effect;
use super::rating;
use super::review;
use super::search::set_search;
use super::state::{InputKind, ListSearch, State, TimeWindow};

pub(super) fn on_input_key(s: &mut State, k: KeyEvent, fx: &mut Vec<Effect>) {
    let Some(input) = s.input.as_mut() else {
        return;
    };
    let kind = input.kind.clone();
    match k.code {
        KeyCode::Esc => {
            s.input = None;
            match kind {
                InputKind::ListSearch => set_list_search(s, None, fx),
                InputKind::Search => set_search(s, ""),
                // The rating was saved when chosen: esc only skips the comment.
                InputKind::Filter | InputKind::Window | InputKind::Note | InputKind::TurnComment(_) => {}
            }
        }
        KeyCode::Enter => {
            let text = input.text.clone();
            match kind {
                InputKind::Note => {
                    s.input = None;
                    review::save_note(s, &text, fx);
                }
                InputKind::TurnComment(pending) => {
                    s.input = None;
                    rating::save_comment(s, pending, &text, fx);
                }
                InputKind::ListSearch => {
                    s.input = None;
                    set_list_search(s, Some(ListSearch::parse(&text, true)), fx);
                }
                InputKind::Filter => match Filter::parse(&text) {
                    Ok(f) => {
                        s.input = None;
                        let view = s.view_name.clone().filter(|_| f == s.filter);
                        set_filter(s, f, view, fx);
                    }
                    Err(e) => s.status.note = Some(e.detail),
                },
                InputKind::Search => s.input = None,
                InputKind::Window => match TimeWindow::parse(&text, s.now, s.tz) {
                    Ok(w) => {
                        s.input = None;
                        s.window = w;
                        reload(s, fx);
                    }
                    Err(e) => s.status.note = Some(e),
                },
            }
        }
        KeyCode::Backspace => {
            input.text.pop();
            live_input(s, fx);
        }
        KeyCode::Char(c) if !k.modifiers.contains(KeyModifiers::CONTROL) => {
            if input.text.chars().count() < 200 {
                input.text.push(c);
            }
            live_input(s, fx);
        }
        _ => {}
    }
}

fn live_input(s: &mut State, fx: &mut Vec<Effect>) {
    let Some(input) = &s.input else { return };
    let text = input.text.clone();
    match input.kind {
        // Without a cache there is nothing to show while typing: Enter asks the server.
        InputKind::ListSearch if s.cache_first => {
            let q = ListSearch::parse(&text, false);
            // `user:` alone is half typed: keep the results until a word follows.
            if !q.text.is_empty() || text.trim().is_empty() {
                set_list_search(s, Some(q), fx);
            }
        }
        InputKind::Search => set_search(s, &text),
        InputKind::ListSearch | InputKind::Filter | InputKind::Window | InputKind::Note | InputKind::TurnComment(_) => {
        }
    }
}
