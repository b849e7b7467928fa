//! Search inside the transcript (`/` in the detail pane, `n`/`N`): the matches of the typed
//! words, and in a search result list, stepping on to the next result's hits.

use super::detail_view::{detail_search_text, jump_to_match, recompute_matches};
use super::list::select;
use super::msg::Effect;
use super::state::{ListSearch, State};

pub(super) fn set_search(s: &mut State, text: &str) {
    let q = ListSearch::parse(text, false);
    s.detail.search = q.text.to_lowercase();
    s.detail.search_speaker = q.speaker;
    recompute_matches(s);
    if let Some(i) = s.detail.matches.iter().position(|&l| l >= s.detail.scroll) {
        s.detail.match_idx = i;
    }
    jump_to_match(s);
}

pub(super) fn step_match(s: &mut State, forward: bool, fx: &mut Vec<Effect>) {
    let n = s.detail.matches.len();
    let at_edge = if forward {
        n == 0 || s.detail.match_idx + 1 >= n
    } else {
        n == 0 || s.detail.match_idx == 0
    };
    // In a search result list, past the last hit of one call comes the next call's first.
    if s.search.is_some() && at_edge {
        let len = s.list.visible_len();
        let next = if forward {
            s.list.sel + 1
        } else {
            s.list.sel.wrapping_sub(1)
        };
        if next < len {
            s.detail.jump_on_load = Some(forward);
            select(s, next, false, fx);
            if s.detail.view.is_some() {
                recompute_matches(s);
            }
            return;
        }
        s.status.note = Some(if forward {
            "last hit of the last result — N goes back".into()
        } else {
            "first hit of the first result".into()
        });
        return;
    }
    if n == 0 {
        if !s.detail.search.is_empty() {
            s.status.note = Some(format!("no match for {:?}", detail_search_text(s)));
        }
        return;
    }
    s.detail.match_idx = if forward {
        (s.detail.match_idx + 1) % n
    } else {
        (s.detail.match_idx + n - 1) % n
    };
    jump_to_match(s);
}
