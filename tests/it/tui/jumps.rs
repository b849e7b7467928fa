//! Reviewer jumps (`u`/`U`, `'`/`"`, `J`/`K`): next/previous row of a kind, wrapping at the
//! ends, a note when none match, and the usual selection side effects. Looking past the
//! loaded rows: `tui_new_user.rs`.

use crate::support::tui as tui_support;

use callscope::app::keymap::JumpAction;
use callscope::app::{Action, Effect, IoEffect, KeyMap, Msg, State, update};
use callscope::domain::{Marks, Origin, ReviewStatus};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tui_support::*;

fn loaded(n: usize, h: u16) -> State {
    let mut s = state(120, h);
    // Summaries without turns, so every selection change schedules a transcript fetch.
    started_with(&mut s, page(0..n, None, false));
    assert_eq!(s.list.visible_len(), n);
    s
}

/// List position of fixture conversation `i`.
fn pos(s: &State, i: usize) -> usize {
    s.list.paging.position(&conv(i, false).id).unwrap()
}

fn give_marks(s: &mut State, marks: Vec<(usize, ReviewStatus, &[&str])>) {
    let marks = marks
        .into_iter()
        .map(|(i, status, flags)| {
            let m = Marks {
                status,
                flags: flags.iter().map(|f| f.to_string()).collect(),
                ..Marks::default()
            };
            (conv(i, false).id, m)
        })
        .collect();
    update(
        s,
        Msg::Marks {
            origin: Origin::new("ws-demo", "PROJECT-demo", "live"),
            marks,
        },
    );
}

fn note(s: &State) -> Option<&str> {
    s.status.note.as_deref()
}

/// Presses `c` and checks the selection landed on conversation `want` with `want_note`.
fn press(s: &mut State, c: char, want: usize, want_note: Option<&str>) {
    let fx = update(s, key(c));
    assert_eq!(s.list.sel, pos(s, want), "`{c}` should select conversation {want}");
    assert_eq!(note(s), want_note, "note after `{c}`");
    assert!(
        !detail_due(&fx).is_empty(),
        "`{c}` moves the selection, so the transcript fetch is scheduled"
    );
}

#[test]
fn handoff_jumps_forward_and_back_and_wrap() {
    // Fixture handoffs: every i % 3 == 2.
    let mut s = loaded(12, 40);
    assert_eq!(s.list.sel, pos(&s, 0));
    press(&mut s, 'J', 2, None);
    press(&mut s, 'J', 5, None);
    press(&mut s, 'J', 8, None);
    press(&mut s, 'J', 11, None);
    press(&mut s, 'J', 2, Some("wrapped to top"));
    press(&mut s, 'K', 11, Some("wrapped to bottom"));
    press(&mut s, 'K', 8, None);
}

#[test]
fn unreviewed_counts_rows_whose_marks_are_not_loaded() {
    let mut s = loaded(12, 40);
    let mut marks: Vec<(usize, ReviewStatus, &[&str])> =
        (0..12).map(|i| (i, ReviewStatus::Reviewed, &[][..])).collect();
    marks[4].1 = ReviewStatus::NeedsFollowUp;
    marks[9].1 = ReviewStatus::New;
    marks.remove(7); // conversation 7's marks never arrive
    give_marks(&mut s, marks);
    assert!(s.review.get(&conv(7, false).id).is_none());

    press(&mut s, 'u', 4, None);
    press(&mut s, 'u', 7, None);
    press(&mut s, 'u', 9, None);
    press(&mut s, 'u', 4, Some("wrapped to top"));
    press(&mut s, 'U', 9, Some("wrapped to bottom"));
    press(&mut s, 'U', 7, None);
}

#[test]
fn flagged_jumps_need_a_flag_whatever_the_status() {
    let mut s = loaded(12, 40);
    // The store answers for every row (unmarked ones are new, unflagged).
    give_marks(&mut s, (0..12).map(|i| (i, ReviewStatus::New, &[][..])).collect());
    give_marks(
        &mut s,
        vec![
            (1, ReviewStatus::Reviewed, &[]),
            (3, ReviewStatus::Reviewed, &["latency"]),
            (6, ReviewStatus::NeedsFollowUp, &[]),
            (10, ReviewStatus::New, &["compliance", "wrong_info"]),
        ],
    );
    press(&mut s, '\'', 3, None);
    press(&mut s, '\'', 10, None);
    press(&mut s, '\'', 3, Some("wrapped to top"));
    press(&mut s, '"', 10, Some("wrapped to bottom"));
    press(&mut s, '"', 3, None);
}

#[test]
fn none_found_leaves_the_selection_and_says_so() {
    let mut s = loaded(12, 40);
    update(&mut s, key('j'));
    let before = s.list.sel;

    // No marks loaded yet: the jump waits for them, saying so, without moving.
    let fx = update(&mut s, key('\''));
    assert_eq!(note(&s), None);
    assert!(
        render(&s).contains("searching for the next flagged call"),
        "{}",
        render(&s)
    );
    assert_eq!(s.list.sel, before);
    assert!(detail_due(&fx).is_empty());
    // The same jump while it looks leaves the same screen: the key says why, not a generic
    // "nothing to do here".
    let mut kf = callscope::tui::keys::KeyFeedback::new(callscope::ui::Theme::default());
    kf.key(&mut s, KeyEvent::new(KeyCode::Char('\''), KeyModifiers::NONE));
    let why = kf.last.clone().expect("an unchanged screen is explained");
    assert!(!why.generic, "{why:?}");
    assert_eq!(why.text, "': already looking — esc stops");
    s.status.note = None;
    // They arrive: none flagged.
    give_marks(&mut s, (0..12).map(|i| (i, ReviewStatus::Reviewed, &[][..])).collect());
    assert_eq!(note(&s), Some("no flagged calls in this window"));
    assert_eq!(s.list.sel, before);

    let fx = update(&mut s, key('U'));
    assert_eq!(note(&s), Some("no unreviewed calls in this window"));
    assert_eq!(s.list.sel, before);
    assert!(detail_due(&fx).is_empty());

    // Only conversations 0 and 1: no handoff among them.
    let mut small = loaded(2, 40);
    update(&mut small, key('J'));
    assert_eq!(note(&small), Some("no handoff calls in this window"));

    // An empty list neither panics nor moves.
    let mut empty = loaded(0, 40);
    update(&mut empty, key('u'));
    assert_eq!(note(&empty), Some("no unreviewed calls in this window"));
}

#[test]
fn the_only_match_being_selected_is_not_a_jump() {
    let mut s = loaded(4, 40); // conversation 2 is the only handoff
    press(&mut s, 'J', 2, None);
    let fx = update(&mut s, key('J'));
    assert_eq!(s.list.sel, pos(&s, 2));
    assert_eq!(note(&s), Some("no other handoff calls in this window"));
    assert!(detail_due(&fx).is_empty());
}

#[test]
fn a_jump_scrolls_into_view_and_fetches_the_transcript() {
    let mut s = loaded(40, 12);
    let rows = s.panes().list_rows();
    assert!(rows < 30, "the list must be shorter than the jump");
    give_marks(
        &mut s,
        (0..40)
            .filter(|&i| i != 30)
            .map(|i| (i, ReviewStatus::Reviewed, &[][..]))
            .collect(),
    );
    let fx = update(&mut s, key('u'));
    let target = pos(&s, 30);
    assert_eq!(s.list.sel, target);
    assert!(
        s.list.offset <= target && target < s.list.offset + rows,
        "scrolled into view"
    );
    // The debounced fetch is the one the cursor keys schedule.
    let due = fx
        .iter()
        .find_map(|e| match e {
            Effect::Io(IoEffect::After { msg, .. }) => match **msg {
                Msg::DetailDue { req } => Some(req),
                _ => None,
            },
            _ => None,
        })
        .expect("a debounced detail fetch");
    let fx = update(&mut s, Msg::DetailDue { req: due });
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Io(IoEffect::FetchConversation { id, .. }) if *id == conv(30, false).id)),
        "the jumped-to conversation is fetched: {fx:?}"
    );
}

#[test]
fn jumps_follow_the_list_filter() {
    let mut s = loaded(12, 40);
    // Handoffs of 150–200 s: only conversation 8 (2, 5 and 11 are outside the range).
    assert_eq!(conv(8, false).total_duration, Some(176));
    apply_filter(&mut s, "handoff duration:150..200", page(0..12, None, false));
    assert_eq!(s.list.visible_len(), 1);
    update(&mut s, key('J'));
    assert_eq!(s.list.selected().unwrap().id.as_ref(), conv(8, false).id);
    assert_eq!(note(&s), Some("no other handoff calls in this window"));
}

#[test]
fn shifted_keys_arrive_with_shift_and_are_remappable() {
    let km = KeyMap::default();
    let shifted = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::SHIFT);
    assert_eq!(km.action(&shifted('"')), Some(Action::Jump(JumpAction::PrevFlagged)));
    assert_eq!(km.action(&shifted('U')), Some(Action::Jump(JumpAction::PrevUnreviewed)));
    assert_eq!(km.action(&shifted('K')), Some(Action::Jump(JumpAction::PrevHandoff)));
    let t: toml::Table = toml::from_str("next_handoff = \"ctrl-j\"").unwrap();
    let km = KeyMap::from_config(&t).unwrap();
    assert_eq!(
        km.action(&KeyEvent::new(KeyCode::Char('j'), KeyModifiers::CONTROL)),
        Some(Action::Jump(JumpAction::NextHandoff))
    );
    assert_eq!(km.action(&shifted('J')), None);
}

#[test]
fn help_lists_the_jumps() {
    let rows = KeyMap::default().help_rows();
    for (keys, desc, name) in [
        ("u", "jump to the next call not marked reviewed", "next_unreviewed"),
        ("\"", "jump to the previous flagged call", "prev_flagged"),
        ("J", "jump to the next handed-off call", "next_handoff"),
    ] {
        assert!(
            rows.contains(&(keys.to_string(), desc, name)),
            "help is missing {keys}: {rows:?}"
        );
    }
}
