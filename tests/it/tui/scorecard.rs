//! The scorecard form (`Q`): one key per answer, comments and cited turns, the running score,
//! the refusal while a required question is unanswered, snapshots at 80×24 and 160×45, and a
//! real store behind the worker keeping each save with its reviewer and time.

use crate::support::scores::correct_information_save;
use crate::support::tui as tui_support;

use callscope::app::review::StoreRequest;
use callscope::app::{Effect, IoEffect, Msg, State, update};
use callscope::domain::scorecard::Answer;
use callscope::domain::{ScoreAnswer, ScoreRecord};
use callscope::store::Store;
use callscope::tui::store_worker::StoreWorker;
use crossterm::event::KeyCode;
use insta::assert_snapshot;
use tui_support::*;

fn typed(s: &mut State, text: &str) -> Vec<Effect> {
    let mut fx = Vec::new();
    for c in text.chars() {
        fx.extend(update(s, key(c)));
    }
    fx
}

fn saves(fx: &[Effect]) -> Vec<ScoreRecord> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Io(IoEffect::Store(StoreRequest::SaveScore { record, .. })) => Some(record.clone()),
            _ => None,
        })
        .collect()
}

/// Conversation 4 (7 turns) selected, its transcript at turn 2, reviewer ann.
fn reading(w: u16, h: u16) -> State {
    let mut s = state(w, h);
    s.scorecards.reviewer = "ann@acme".into();
    started_with(&mut s, page(0..10, None, true));
    for _ in 0..4 {
        update(&mut s, key('j'));
    }
    update(&mut s, code(KeyCode::Tab));
    let target = s.detail.view.as_ref().unwrap().turn_starts[1];
    while s.detail.scroll < target {
        update(&mut s, key('j'));
    }
    s
}

/// greeting yes, identification yes, understanding 4, correct yes, handoff n.a.
fn answer_first_five(s: &mut State) -> Vec<Effect> {
    let mut fx = update(s, key('Q'));
    fx.extend(typed(s, "yy4ya"));
    fx
}

#[test]
fn answers_refuse_a_save_while_required_ones_are_missing_then_save_with_notes() {
    let mut s = reading(120, 40);
    let fx = answer_first_five(&mut s);
    let loads: Vec<_> = fx
        .iter()
        .filter(|e| matches!(e, Effect::Io(IoEffect::Store(StoreRequest::LoadScores { .. }))))
        .collect();
    assert_eq!(loads.len(), 1, "opening asks for the saved scores");
    let form = s.scorecards.form.as_ref().unwrap();
    assert_eq!(form.card.name, "voice-qa");
    assert_eq!(form.answers["understood_request"], Answer::Scale(4));
    assert_eq!(form.answers["handoff_appropriate"], Answer::Na);
    assert_eq!(form.sel, 5, "each answer moves on to the next question");
    // `resolution` is required: Enter refuses and goes to it.
    let fx = update(&mut s, code(KeyCode::Enter));
    assert!(saves(&fx).is_empty());
    assert!(
        s.status
            .note
            .as_deref()
            .unwrap()
            .contains("required resolution unanswered")
    );
    assert!(render(&s).contains("required, unanswered: resolution"));
    // A key that is no answer here changes nothing and says why.
    update(&mut s, key('y'));
    assert!(!s.scorecards.form.as_ref().unwrap().answers.contains_key("resolution"));
    update(&mut s, key('2')); // partly
    // closing: a comment, then "no".
    update(&mut s, key('c'));
    typed(&mut s, "no goodbye, hung up");
    update(&mut s, code(KeyCode::Enter));
    update(&mut s, key('n'));
    // latency: 5, citing the current turn (2) as evidence.
    update(&mut s, key('5'));
    update(&mut s, key('t'));
    assert!(
        s.status.note.as_deref().unwrap().contains("turn 2 cited"),
        "{:?}",
        s.status.note
    );
    let screen = render(&s);
    assert!(screen.contains("Score 76.8/100 · pass 70 ✓"), "{screen}");
    assert!(
        screen.contains("↳ turn 2") && screen.contains("↳ no goodbye, hung up"),
        "{screen}"
    );
    let fx = update(&mut s, code(KeyCode::Enter));
    let saved = saves(&fx);
    assert_eq!(saved.len(), 1);
    let r = &saved[0];
    assert_eq!((r.scorecard.as_str(), r.reviewer.as_str()), ("voice-qa", "ann@acme"));
    assert_eq!(r.at_ms, now().timestamp_millis());
    // 1 + 2 + 3×0.75 + 3 + 3×0.5 + 0 + 1 = 10.75 of 14 (handoff n.a. leaves the denominator).
    assert!((r.score.unwrap() - 1075.0 / 14.0).abs() < 1e-9, "{r:?}");
    assert!(!r.auto_failed);
    assert_eq!(
        r.answers["closing"],
        ScoreAnswer {
            answer: "no".into(),
            comment: "no goodbye, hung up".into(),
            turn: None
        }
    );
    assert_eq!(r.answers["latency_acceptable"].turn, Some(1));
    assert!(render(&s).contains("saving score…"));
}

#[test]
fn an_auto_fail_no_shows_zero_and_esc_asks_before_discarding() {
    let mut s = reading(120, 40);
    update(&mut s, key('Q'));
    typed(&mut s, "yy3n");
    let screen = render(&s);
    assert!(screen.contains("auto-fail: correct_information"), "{screen}");
    update(&mut s, code(KeyCode::Esc));
    assert!(s.scorecards.form.is_some(), "the first esc asks");
    assert!(s.status.note.as_deref().unwrap().contains("esc again discards"));
    update(&mut s, code(KeyCode::Esc));
    assert!(s.scorecards.form.is_none());
    // Untouched, one esc closes.
    update(&mut s, key('Q'));
    update(&mut s, code(KeyCode::Esc));
    assert!(s.scorecards.form.is_none());
}

#[test]
fn without_a_store_the_form_does_not_open() {
    let mut s = reading(120, 40);
    s.review.unavailable = Some("the local store cannot be opened (/nope/callscope.db)".into());
    let fx = update(&mut s, key('Q'));
    assert!(fx.iter().all(|e| !matches!(e, Effect::Io(IoEffect::Store(_)))));
    assert!(s.scorecards.form.is_none());
    assert!(render(&s).contains("marks unavailable"));
}

/// The form as the snapshots show it: some answers, a comment, a cited turn, bob's save.
fn snapshot_state(w: u16, h: u16) -> State {
    let mut s = reading(w, h);
    update(&mut s, key('Q'));
    let key_of = s.scorecards.form.as_ref().unwrap().key.clone();
    update(
        &mut s,
        Msg::Scores {
            key: key_of,
            result: Ok(vec![ScoreRecord {
                scorecard: "voice-qa".into(),
                reviewer: "bob@acme".into(),
                at_ms: 0,
                answers: Default::default(),
                score: Some(92.5),
                auto_failed: false,
            }]),
        },
    );
    typed(&mut s, "y");
    update(&mut s, key('t'));
    update(&mut s, key('c'));
    typed(&mut s, "asked for the name twice");
    update(&mut s, code(KeyCode::Enter));
    typed(&mut s, "y4");
    s
}

#[test]
fn the_form_at_80x24_and_160x45() {
    assert_snapshot!("scorecard_form_80x24", render(&snapshot_state(80, 24)));
    assert_snapshot!("scorecard_form_160x45", render(&snapshot_state(160, 45)));
}

#[test]
fn a_save_through_the_worker_is_kept_with_reviewer_and_time_and_fills_the_form_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("callscope.db");
    let (worker, mut rx) = store_worker(&path);
    let mut s = reading(120, 40);
    let id = s.list.selected().unwrap().id.to_string();
    let mut fx = answer_first_five(&mut s);
    fx.extend(typed(&mut s, "1"));
    fx.extend(update(&mut s, code(KeyCode::Enter)));
    pump(&mut s, &worker, &mut rx, fx);
    assert!(s.scorecards.form.is_none(), "closed once saved");
    assert_eq!(
        s.status.note.as_deref(),
        Some("score saved: 93.8 · voice-qa · by ann@acme")
    );

    // Reopened: the last save is filled in; a second save appends.
    let fx = update(&mut s, key('Q'));
    pump(&mut s, &worker, &mut rx, fx);
    let form = s.scorecards.form.as_ref().unwrap();
    assert_eq!(form.answers.len(), 6);
    assert!(render(&s).contains("saved scores: ann@acme 93.8"));
    let mut fx = typed(&mut s, "jjjjj3"); // resolution: not resolved
    fx.extend(update(&mut s, code(KeyCode::Enter)));
    pump(&mut s, &worker, &mut rx, fx);
    drop(worker);

    let store = Store::open(&path).unwrap();
    let all = store.scores(&origin().key(id.as_str())).unwrap();
    assert_eq!(all.len(), 2, "append-only: both saves kept");
    assert!(
        all.iter()
            .all(|r| r.reviewer == "ann@acme" && r.at_ms == now().timestamp_millis())
    );
    assert_eq!(all[1].answers["resolution"].answer, "not_resolved");
    assert!(all[1].score.unwrap() < all[0].score.unwrap());
}

#[test]
fn a_comment_and_a_cited_turn_on_unanswered_questions_are_saved_and_come_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("callscope.db");
    let (worker, mut rx) = store_worker(&path);
    let mut s = reading(120, 40);
    let id = s.list.selected().unwrap().id.to_string();
    let mut fx = update(&mut s, key('Q'));
    // greeting: a comment and no answer.
    fx.extend(update(&mut s, key('c')));
    fx.extend(typed(&mut s, "greeting inaudible"));
    fx.extend(update(&mut s, code(KeyCode::Enter)));
    // identification yes, understood 4, correct yes; handoff: a cited turn and no answer.
    fx.extend(typed(&mut s, "jy4y"));
    fx.extend(update(&mut s, key('t')));
    // resolution resolved, closing yes, latency 5.
    fx.extend(typed(&mut s, "j1y5"));
    let expected = s.scorecards.form.as_ref().unwrap().outcome().score;
    fx.extend(update(&mut s, code(KeyCode::Enter)));
    pump(&mut s, &worker, &mut rx, fx);
    assert!(s.scorecards.form.is_none(), "saved: {:?}", s.status.note);

    let fx = update(&mut s, key('Q'));
    pump(&mut s, &worker, &mut rx, fx);
    let form = s.scorecards.form.as_ref().unwrap();
    assert!(!form.answers.contains_key("greeting") && !form.answers.contains_key("handoff_appropriate"));
    assert_eq!(form.answers.len(), 6);
    assert_eq!(form.notes["greeting"], ("greeting inaudible".to_string(), None));
    assert_eq!(form.notes["handoff_appropriate"], (String::new(), Some(1)));
    let screen = render(&s);
    assert!(
        screen.contains("↳ greeting inaudible") && screen.contains("↳ turn 2"),
        "{screen}"
    );
    drop(worker);

    let store = Store::open(&path).unwrap();
    let all = store.scores(&origin().key(id.as_str())).unwrap();
    assert_eq!(all.len(), 1);
    let r = &all[0];
    assert_eq!(
        r.answers["greeting"],
        ScoreAnswer {
            answer: String::new(),
            comment: "greeting inaudible".into(),
            turn: None
        }
    );
    assert_eq!(r.answers["handoff_appropriate"].answer, "");
    assert_eq!(r.answers["handoff_appropriate"].turn, Some(1));
    assert_eq!(r.score, expected, "unanswered questions stay out of the score");
    assert_eq!(r.answers["resolution"].answer, "resolved");
}

#[test]
fn the_detail_pane_shows_the_saved_scores_and_x_exports_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("callscope.db");
    let id = page(0..10, None, true).conversations[4].id.clone();
    let mut store = Store::open(&path).unwrap();
    store
        .save_score(
            &origin().key(id.as_str()),
            &correct_information_save("ann@acme", 1_000, 40.0),
        )
        .unwrap();
    store
        .save_score(
            &origin().key(id.as_str()),
            &correct_information_save("bob@acme", 2_000, 0.0),
        )
        .unwrap();
    store
        .save_score(
            &origin().key(id.as_str()),
            &correct_information_save("ann@acme", 3_000, 85.0),
        )
        .unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let worker = StoreWorker::spawn(store, tx).unwrap();
    let mut s = state(140, 30);
    s.scorecards.reviewer = "ann@acme".into();
    started_with(&mut s, page(0..10, None, true));
    for _ in 0..4 {
        let fx = update(&mut s, key('j'));
        pump(&mut s, &worker, &mut rx, fx);
    }
    assert_eq!(*s.list.selected().unwrap().id, *id);
    let screen = render(&s);
    assert!(
        screen.contains("qa        0 (auto-fail) voice-qa by bob@acme · 85 voice-qa by ann@acme"),
        "ann's older 40 is not current; the lowest first:\n{screen}"
    );
    assert_snapshot!("detail_pane_scores_140x30", screen);
    // Back on a call never scored: no qa line; the scores are not asked for again on return.
    let fx = update(&mut s, key('k'));
    pump(&mut s, &worker, &mut rx, fx);
    assert!(!render(&s).contains("qa        "));
    let fx = update(&mut s, key('j'));
    assert!(
        !fx.iter()
            .any(|e| matches!(e, Effect::Io(IoEffect::Store(StoreRequest::LoadScores { .. })))),
        "known already"
    );

    let md = x_markdown(&mut s);
    let section = md.find("**Scorecards**").expect("a scorecards section");
    assert!(section < md.find("**Transcript**").unwrap(), "{md}");
    assert!(
        md.contains("- `voice-qa` by ann@acme at 1970-01-01T00:00:03Z: **85**"),
        "{md}"
    );
    assert!(
        md.contains("  - correct_information: no (turn 2) — quoted the old price"),
        "{md}"
    );

    // A save from the form replaces the reviewer's score on the pane at once.
    let mut fx = update(&mut s, key('Q'));
    pump(&mut s, &worker, &mut rx, std::mem::take(&mut fx));
    // Filled with ann's last save (correct_information only): every question answered again.
    let mut fx = typed(&mut s, "yy4ya3y5");
    fx.extend(update(&mut s, code(KeyCode::Enter)));
    pump(&mut s, &worker, &mut rx, fx);
    assert!(s.scorecards.form.is_none(), "{:?}", s.status.note);
    let screen = render(&s);
    assert!(
        screen.contains("voice-qa by bob@acme ·") && !screen.contains("85 voice-qa by ann@acme"),
        "{screen}"
    );
}
