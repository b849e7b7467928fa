//! Per-turn 👍/👎 ratings in the TUI: the current turn, the `b` picker and comment input →
//! store effects, the transcript and Markdown showing them, the store-unavailable path, and a
//! real store behind the worker.

use crate::support::tui as tui_support;

use callscope::app::rating::RateTarget;
use callscope::app::review::{MarkChange, StoreRequest};
use callscope::app::state::{InputKind, Overlay, Pane};
use callscope::app::{Effect, IoEffect, Msg, State, update};
use callscope::domain::{Marks, RatingReason, Thumbs, TurnRating};
use callscope::store::Store;
use callscope::tui::store_worker::StoreWorker;
use crossterm::event::KeyCode;
use insta::assert_snapshot;
use tui_support::*;

fn ratings(fx: &[Effect]) -> Vec<(String, u32, Option<TurnRating>)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Io(IoEffect::Store(StoreRequest::Change {
                key,
                change: MarkChange::RateTurn { turn, rating },
                ..
            })) => {
                assert_eq!(key.origin(), origin());
                Some((key.id.clone(), *turn, rating.clone()))
            }
            _ => None,
        })
        .collect()
}

fn rating(thumbs: Thumbs, reason: Option<RatingReason>, comment: &str) -> TurnRating {
    TurnRating {
        thumbs,
        reason,
        comment: comment.into(),
    }
}

fn typed(s: &mut State, text: &str) -> Vec<Effect> {
    let mut fx = Vec::new();
    for c in text.chars() {
        fx.extend(update(s, key(c)));
    }
    fx
}

fn selected_id(s: &State) -> String {
    s.list.selected().unwrap().id.to_string()
}

/// Scrolls the transcript with `j` until turn `t` is at the top.
fn scroll_to_turn(s: &mut State, t: usize) {
    let target = s.detail.view.as_ref().unwrap().turn_starts[t];
    for _ in 0..200 {
        if s.detail.scroll >= target {
            break;
        }
        update(s, key('j'));
    }
    assert_eq!(s.detail.scroll, target, "turn {t} reached the top");
}

/// A state showing conversation 4 (7 turns) with the transcript focused.
fn reading(w: u16, h: u16) -> State {
    let mut s = state(w, h);
    started_with(&mut s, page(0..10, None, true));
    for _ in 0..4 {
        update(&mut s, key('j'));
    }
    update(&mut s, code(KeyCode::Tab));
    assert_eq!(s.focus, Pane::Detail);
    s
}

#[test]
fn b_rates_the_turn_at_the_top_with_a_reason_and_comment() {
    let mut s = reading(120, 40);
    let id = selected_id(&s);
    // At the top of the transcript the current turn is the first.
    assert!(ratings(&update(&mut s, key('b'))).is_empty());
    assert_eq!(
        s.overlay,
        Overlay::RatePicker {
            sel: 0,
            target: RateTarget {
                id: id.clone(),
                turn: 0
            }
        }
    );
    assert!(render(&s).contains("Rate turn 1"));
    update(&mut s, key('k')); // wraps to "clear rating"
    update(&mut s, key('k'));
    update(&mut s, key('k')); // missing intent
    let fx = update(&mut s, code(KeyCode::Enter));
    let want = rating(Thumbs::Down, Some(RatingReason::MissingIntent), "");
    assert_eq!(ratings(&fx), [(id.clone(), 0, Some(want.clone()))], "saved when chosen");
    assert_eq!(s.overlay, Overlay::None);
    assert!(matches!(&s.input, Some(i) if matches!(i.kind, InputKind::TurnComment(_)) && i.text.is_empty()));
    assert!(render(&s).contains("turn 1 comment:"));
    // Keys typed now are the comment, not actions (`q` does not quit).
    assert!(ratings(&typed(&mut s, "greeting ignored the question")).is_empty());
    assert!(!s.quit);
    let fx = update(&mut s, code(KeyCode::Enter));
    let commented = rating(
        Thumbs::Down,
        Some(RatingReason::MissingIntent),
        "greeting ignored the question",
    );
    assert_eq!(ratings(&fx), [(id.clone(), 0, Some(commented.clone()))]);
    assert!(s.input.is_none());
    // Shown at once, before the store answers: under the turn, and counted in the metadata.
    assert_eq!(s.review.get(&id).unwrap().turns.get(&0), Some(&commented));
    let screen = render(&s);
    assert!(
        screen.contains("👎 missing intent — greeting ignored the question"),
        "{screen}"
    );
    assert!(screen.contains("ratings   1 👎"), "{screen}");

    // Scrolled so that turn 3 is at the top: `b` rates turn 3; digits choose; esc skips the
    // comment and keeps the rating.
    scroll_to_turn(&mut s, 2);
    update(&mut s, key('b'));
    assert!(matches!(&s.overlay, Overlay::RatePicker { target, .. } if target.turn == 2));
    let fx = update(&mut s, key('1'));
    assert_eq!(ratings(&fx), [(id.clone(), 2, Some(rating(Thumbs::Up, None, "")))]);
    let top = s.detail.view.as_ref().unwrap().turn_starts[2];
    assert_eq!(s.detail.scroll, top, "the rated turn stays at the top");
    assert!(ratings(&update(&mut s, code(KeyCode::Esc))).is_empty());
    assert!(s.input.is_none());
    assert_eq!(
        s.review.get(&id).unwrap().turns.get(&2),
        Some(&rating(Thumbs::Up, None, ""))
    );
    assert!(render(&s).contains("👍 good"));

    // Re-rating keeps the comment unless it is edited; the picker starts on the current rating.
    update(&mut s, key('g'));
    update(&mut s, key('b'));
    assert!(matches!(s.overlay, Overlay::RatePicker { sel: 3, .. }));
    let fx = update(&mut s, key('5'));
    let latency = rating(
        Thumbs::Down,
        Some(RatingReason::Latency),
        "greeting ignored the question",
    );
    assert_eq!(ratings(&fx), [(id.clone(), 0, Some(latency))]);
    assert_eq!(
        s.input.as_ref().unwrap().text,
        "greeting ignored the question",
        "the comment input starts from the comment"
    );
    update(&mut s, code(KeyCode::Esc));
    // "clear rating" removes it; esc in the picker changes nothing.
    update(&mut s, key('b'));
    assert!(ratings(&update(&mut s, code(KeyCode::Esc))).is_empty());
    update(&mut s, key('b'));
    let fx = update(&mut s, key('6'));
    assert_eq!(ratings(&fx), [(id.clone(), 0, None)]);
    assert!(s.input.is_none(), "no comment for a cleared rating");
    assert!(!s.review.get(&id).unwrap().turns.contains_key(&0));
    assert!(!render(&s).contains("latency —"));
}

#[test]
fn in_the_list_b_focuses_the_transcript_first() {
    let mut s = state(120, 40);
    started_with(&mut s, page(0..10, None, true));
    assert_eq!(s.focus, Pane::List);
    let fx = update(&mut s, key('b'));
    assert!(ratings(&fx).is_empty());
    assert_eq!(s.focus, Pane::Detail);
    assert_eq!(s.overlay, Overlay::None);
    let screen = render(&s);
    assert!(screen.contains("rate a turn: scroll it to the top"), "{screen}");
    // The marker shows which turn `b` rates now.
    assert!(screen.contains("▸00:04"), "{screen}");
    update(&mut s, key('b'));
    assert!(matches!(s.overlay, Overlay::RatePicker { .. }));
}

#[test]
fn every_turn_of_a_short_call_can_reach_the_top() {
    // Conversation 0 fits the pane; the transcript still scrolls until its last turn is current.
    let mut s = state(120, 40);
    started_with(&mut s, page(0..10, None, true));
    update(&mut s, code(KeyCode::Tab));
    let view = s.detail.view.as_ref().unwrap();
    assert!(view.lines.len() < s.panes().detail_rows(), "the call fits the pane");
    let last = view.turn_starts.len() - 1;
    update(&mut s, key('G'));
    assert_eq!(callscope::app::rating::current_turn(&s), Some(last));
    update(&mut s, key('b'));
    assert!(matches!(&s.overlay, Overlay::RatePicker { target, .. } if target.turn as usize == last));
}

#[test]
fn without_a_store_b_says_marks_unavailable() {
    let mut s = state(120, 40);
    s.review.unavailable = Some("the local store cannot be opened (/nope/callscope.db)".into());
    started_with(&mut s, page(0..10, None, true));
    update(&mut s, code(KeyCode::Tab));
    let fx = update(&mut s, key('b'));
    assert!(fx.iter().all(|e| !matches!(e, Effect::Io(IoEffect::Store(_)))));
    assert_eq!(s.overlay, Overlay::None);
    assert!(render(&s).contains("marks unavailable: the local store cannot be opened"));
}

#[test]
fn hostile_comments_are_sanitized_and_wrapped() {
    let mut s = reading(80, 24);
    let id = selected_id(&s);
    let comment = format!("\u{1b}]52;c;aGk=\u{7}evil {}", "word ".repeat(30));
    update(
        &mut s,
        Msg::Marks {
            origin: origin(),
            marks: vec![(
                id,
                Marks {
                    turns: [(0, rating(Thumbs::Down, Some(RatingReason::WrongInformation), &comment))].into(),
                    ..Marks::default()
                },
            )],
        },
    );
    let view = s.detail.view.as_ref().unwrap();
    let lines: Vec<String> = view
        .lines
        .iter()
        .map(|l| l.text())
        .filter(|l| l.contains("word"))
        .collect();
    assert!(lines.len() >= 3, "wrapped: {lines:#?}");
    for l in &lines {
        assert!(!l.contains('\u{1b}') && !l.contains('\u{7}'), "{l:?}");
        assert!(callscope::sanitize::width(l) <= view.cols as usize, "{l:?}");
    }
    // The OSC 52 clipboard write is shown as one inert ␛, never sent to the terminal.
    assert!(lines[0].contains("👎 wrong information — ␛evil word"), "{lines:#?}");
}

#[test]
fn snapshot_rated_transcript() {
    let mut s = reading(120, 40);
    let id = selected_id(&s);
    update(
        &mut s,
        Msg::Marks {
            origin: origin(),
            marks: vec![(
                id,
                Marks {
                    turns: [
                        (
                            1,
                            rating(
                                Thumbs::Down,
                                Some(RatingReason::WrongInformation),
                                "we close at ten on Fridays, not nine",
                            ),
                        ),
                        (3, rating(Thumbs::Up, None, "")),
                    ]
                    .into(),
                    ..Marks::default()
                },
            )],
        },
    );
    scroll_to_turn(&mut s, 1);
    assert_snapshot!("rated_transcript", render(&s));
    update(&mut s, key('b'));
    assert_snapshot!("rate_picker", render(&s));
}

#[test]
fn ratings_through_the_worker_survive_a_restart_and_reach_the_export() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("callscope.db");
    let (worker, mut rx) = store_worker(&path);
    let mut s = state(120, 40);
    let fx = started_with(&mut s, page(0..10, None, true));
    pump(&mut s, &worker, &mut rx, fx);
    for _ in 0..4 {
        let fx = update(&mut s, key('j'));
        pump(&mut s, &worker, &mut rx, fx);
    }
    update(&mut s, code(KeyCode::Tab));
    let id = selected_id(&s);
    scroll_to_turn(&mut s, 1);
    let mut fx = update(&mut s, key('b'));
    fx.extend(update(&mut s, key('2')));
    fx.extend(typed(&mut s, "quoted last year's prices"));
    fx.extend(update(&mut s, code(KeyCode::Enter)));
    pump(&mut s, &worker, &mut rx, fx);
    let want = rating(
        Thumbs::Down,
        Some(RatingReason::WrongInformation),
        "quoted last year's prices",
    );
    assert_eq!(s.review.get(&id).unwrap().turns.get(&1), Some(&want));

    // `x` puts the rating under its turn in the Markdown.
    let md = x_markdown(&mut s);
    assert!(
        md.contains("  - 👎 turn 2: wrong information — quoted last year's prices"),
        "{md}"
    );

    // Restart: the rating is in the file and shows in a fresh app.
    drop(worker);
    let store = Store::open(&path).unwrap();
    assert_eq!(
        store.marks(&origin().key(id.as_str())).unwrap().turns.get(&1),
        Some(&want)
    );
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let worker = StoreWorker::spawn(store, tx).unwrap();
    let mut s = state(120, 40);
    let fx = started_with(&mut s, page(0..10, None, true));
    pump(&mut s, &worker, &mut rx, fx);
    for _ in 0..4 {
        let fx = update(&mut s, key('j'));
        pump(&mut s, &worker, &mut rx, fx);
    }
    assert_eq!(selected_id(&s), id);
    assert!(render(&s).contains("👎 wrong information — quoted last year's prices"));
}

#[test]
fn the_first_rating_keeps_its_turn_at_the_top() {
    // No marks yet: the first rating adds metadata lines above the turn; the view follows.
    let mut s = reading(120, 30);
    scroll_to_turn(&mut s, 3);
    let before = s.detail.view.as_ref().unwrap().turn_starts[3];
    update(&mut s, key('b'));
    update(&mut s, key('1'));
    update(&mut s, code(KeyCode::Esc));
    let view = s.detail.view.as_ref().unwrap();
    assert!(view.turn_starts[3] > before, "metadata lines were added above");
    assert_eq!(s.detail.scroll, view.turn_starts[3]);
    assert_eq!(callscope::app::rating::current_turn(&s), Some(3));
}
