//! Review marks in the TUI: keys → store effects, store answers → state and screen, the
//! store-unavailable path, and a real store behind the worker surviving a restart.

use crate::support::tui as tui_support;

use callscope::app::review::{MarkChange, StoreRequest};
use callscope::app::state::Overlay;
use callscope::app::{Effect, IoEffect, Msg, State, TerminalEffect, update};
use callscope::domain::{Marks, Origin, ReviewStatus};
use callscope::store::Store;
use callscope::tui::store_worker::{StoreWorker, write_atomic};
use crossterm::event::KeyCode;
use insta::assert_snapshot;
use tui_support::*;

fn store_requests(fx: &[Effect]) -> Vec<StoreRequest> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Io(IoEffect::Store(r)) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

fn changes(fx: &[Effect]) -> Vec<(String, MarkChange)> {
    store_requests(fx)
        .into_iter()
        .filter_map(|r| match r {
            StoreRequest::Change { key, change, .. } => {
                assert_eq!(key.origin(), origin());
                Some((key.id, change))
            }
            _ => None,
        })
        .collect()
}

fn selected_id(s: &State) -> String {
    s.list.selected().unwrap().id.to_string()
}

fn marks(status: ReviewStatus, flags: &[&str], note: &str) -> Marks {
    Marks {
        status,
        flags: flags.iter().map(|f| f.to_string()).collect(),
        note: note.into(),
        ..Marks::default()
    }
}

fn typed(s: &mut State, text: &str) -> Vec<Effect> {
    let mut fx = Vec::new();
    for c in text.chars() {
        fx.extend(update(s, key(c)));
    }
    fx
}

#[test]
fn fetched_pages_are_cached_and_visible_marks_loaded() {
    let mut s = state(120, 40);
    let fx = started_with(&mut s, page(0..30, None, true));
    let reqs = store_requests(&fx);
    let cached: usize = reqs
        .iter()
        .map(|r| match r {
            StoreRequest::Cache {
                origin: o,
                conversations,
            } => {
                assert_eq!(*o, origin());
                conversations.len()
            }
            _ => 0,
        })
        .sum();
    assert_eq!(cached, 30, "every fetched conversation goes to the store");
    let loaded: Vec<String> = reqs
        .iter()
        .flat_map(|r| match r {
            StoreRequest::LoadMarks { ids, .. } => ids.clone(),
            _ => Vec::new(),
        })
        .collect();
    let rows = s.panes().list_rows();
    assert_eq!(loaded.len(), rows.min(30), "marks of the visible rows, once");
    assert!(loaded.contains(&selected_id(&s)));
    // Moving within loaded rows asks for no marks again: only the new selection's saved scores
    // (for the pane's qa line), once.
    let fx = update(&mut s, key('j'));
    let reqs = store_requests(&fx);
    assert!(
        matches!(reqs.as_slice(), [StoreRequest::LoadScores { key }] if key.id == selected_id(&s)),
        "{reqs:?}"
    );
    // A by-id transcript is cached too.
    let mut s = state(120, 40);
    let fx = started_with(&mut s, page(0..5, None, false));
    let due = fx.iter().find_map(|e| match e {
        Effect::Io(IoEffect::After { msg, .. }) => Some((**msg).clone()),
        _ => None,
    });
    let fx = update(&mut s, due.expect("detail debounce"));
    let req = fx
        .iter()
        .find_map(|e| match e {
            Effect::Io(IoEffect::FetchConversation { req, .. }) => Some(*req),
            _ => None,
        })
        .unwrap();
    let fx = update(
        &mut s,
        Msg::Conversation {
            req,
            result: Ok(conv(0, true)),
        },
    );
    assert!(matches!(
        store_requests(&fx).as_slice(),
        [StoreRequest::Cache { conversations, .. }] if conversations.len() == 1 && !conversations[0].turns.is_empty()
    ));
}

#[test]
fn keys_emit_mark_changes() {
    let mut s = state(120, 40);
    started_with(&mut s, page(0..10, None, true));
    let id = selected_id(&s);
    assert_eq!(
        changes(&update(&mut s, key('R'))),
        [(id.clone(), MarkChange::Status(ReviewStatus::Reviewed))]
    );
    assert_eq!(s.status.note.as_deref(), Some("marked reviewed"));
    // R again toggles back.
    assert_eq!(
        changes(&update(&mut s, key('R'))),
        [(id.clone(), MarkChange::Status(ReviewStatus::New))]
    );
    assert_eq!(
        changes(&update(&mut s, key('F'))),
        [(id.clone(), MarkChange::Status(ReviewStatus::NeedsFollowUp))]
    );
    // `!` opens the reason picker; j + enter picks the second reason.
    assert!(changes(&update(&mut s, key('!'))).is_empty());
    assert_eq!(s.overlay, Overlay::FlagPicker { sel: 0 });
    update(&mut s, key('j'));
    assert_eq!(
        changes(&update(&mut s, code(KeyCode::Enter))),
        [(id.clone(), MarkChange::ToggleFlag("wrong_transcription".into()))]
    );
    assert_eq!(s.overlay, Overlay::None);
    // Digits choose directly; esc cancels without a change.
    update(&mut s, key('!'));
    assert_eq!(
        changes(&update(&mut s, key('5'))),
        [(id.clone(), MarkChange::ToggleFlag("compliance".into()))]
    );
    update(&mut s, key('!'));
    assert!(changes(&update(&mut s, code(KeyCode::Esc))).is_empty());
    // `a` edits the note in a one-line input; keys typed there are text, not actions.
    update(&mut s, key('a'));
    assert!(changes(&typed(&mut s, "Rx call back")).is_empty());
    assert_eq!(
        changes(&update(&mut s, code(KeyCode::Enter))),
        [(id.clone(), MarkChange::Note("Rx call back".into()))]
    );
    // Shown at once, before the store answers.
    let m = s.review.get(&id).unwrap();
    assert_eq!(m.status, ReviewStatus::NeedsFollowUp);
    assert_eq!(m.note, "Rx call back");
    assert!(m.flags.contains("compliance") && m.flags.contains("wrong_transcription"));
    // `a` again starts from the current note.
    update(&mut s, key('a'));
    assert_eq!(s.input.as_ref().unwrap().text, "Rx call back");
}

#[test]
fn store_answers_update_rows_and_detail() {
    let mut s = state(120, 40);
    started_with(&mut s, page(0..10, None, true));
    let ids: Vec<String> = (0..3).map(|i| conv(i, false).id).collect();
    let fx = update(
        &mut s,
        Msg::Marks {
            origin: origin(),
            marks: vec![
                (
                    ids[0].clone(),
                    marks(ReviewStatus::Reviewed, &["latency"], "slow reply at 00:10"),
                ),
                (ids[1].clone(), marks(ReviewStatus::NeedsFollowUp, &[], "")),
                (ids[2].clone(), marks(ReviewStatus::New, &["compliance"], "")),
            ],
        },
    );
    assert!(changes(&fx).is_empty());
    let screen = render(&s);
    assert!(screen.contains("t ✓⚑"), "{screen}");
    assert!(screen.contains("t ↻"), "{screen}");
    assert!(screen.contains("t ⚑"), "{screen}");
    assert!(screen.contains("review    reviewed"), "{screen}");
    assert!(screen.contains("flags     latency"), "{screen}");
    assert!(screen.contains("note      slow reply at 00:10"), "{screen}");
    // Marks of another environment (the user pressed `e` meanwhile) are ignored.
    update(
        &mut s,
        Msg::Marks {
            origin: Origin::new("ws-demo", "PROJECT-demo", "sandbox"),
            marks: vec![(ids[1].clone(), marks(ReviewStatus::Reviewed, &[], ""))],
        },
    );
    assert_eq!(s.review.get(&ids[1]).unwrap().status, ReviewStatus::NeedsFollowUp);
    // The store's answer to a change wins; a change refused for good says so.
    let key0 = origin().key(ids[0].as_str());
    update(
        &mut s,
        Msg::MarksSaved {
            key: key0.clone(),
            seq: 1,
            result: Ok(marks(ReviewStatus::New, &[], "")),
        },
    );
    assert!(!render(&s).contains("review    reviewed"));
    update(
        &mut s,
        Msg::MarksSaved {
            key: key0,
            seq: 2,
            result: Err("invalid input — fix the input and try again; nothing was changed".into()),
        },
    );
    assert!(render(&s).contains("mark not saved: invalid input"));
}

#[test]
fn without_a_store_keys_say_marks_unavailable() {
    let mut s = state(120, 40);
    s.review.unavailable = Some("the local store cannot be opened (/nope/callscope.db)".into());
    let fx = started_with(&mut s, page(0..10, None, true));
    assert!(store_requests(&fx).is_empty(), "no store work without a store");
    for k in ['R', 'F', '!', 'a'] {
        let fx = update(&mut s, key(k));
        assert!(store_requests(&fx).is_empty());
        assert_eq!(s.overlay, Overlay::None);
        assert!(s.input.is_none());
        assert!(render(&s).contains("marks unavailable: the local store cannot be opened"));
    }
    // Browsing still works, and `x` exports the transcript, saying it has no marks.
    update(&mut s, key('j'));
    assert_eq!(s.list.sel, 1);
    let fx = update(&mut s, key('x'));
    assert!(fx.iter().any(|e| matches!(e, Effect::Io(IoEffect::WriteExport { .. }))));
    update(
        &mut s,
        Msg::Exported {
            result: Ok("/tmp/x.md".into()),
        },
    );
    assert!(
        s.status
            .note
            .as_deref()
            .unwrap()
            .contains("without marks: the store is unavailable"),
        "{:?}",
        s.status.note
    );
}

#[test]
fn snapshot_marks_in_list_and_detail() {
    let mut s = state(120, 30);
    started_with(&mut s, page(0..20, None, true));
    let id = |i| conv(i, false).id;
    update(
        &mut s,
        Msg::Marks {
            origin: origin(),
            marks: vec![
                (
                    id(0),
                    marks(
                        ReviewStatus::Reviewed,
                        &["wrong_info", "latency"],
                        "agent quoted the old price",
                    ),
                ),
                (id(1), marks(ReviewStatus::NeedsFollowUp, &[], "")),
                (id(3), marks(ReviewStatus::New, &["compliance"], "")),
                (id(4), marks(ReviewStatus::Reviewed, &[], "")),
            ],
        },
    );
    assert_snapshot!("review_marks_list_and_detail", render(&s));
    update(&mut s, key('!'));
    assert_snapshot!("review_flag_picker", render(&s));
}

#[test]
fn marks_through_the_worker_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("callscope.db");
    let (worker, mut rx) = store_worker(&path);
    let mut s = state(120, 40);
    s.review.exports_dir = dir.path().join("exports");
    let fx = started_with(&mut s, page(0..10, None, true));
    pump(&mut s, &worker, &mut rx, fx);
    let id = selected_id(&s);
    assert_eq!(s.review.get(&id), Some(&Marks::default()), "loaded from the store");

    let mut fx = update(&mut s, key('R'));
    fx.extend(update(&mut s, key('!')));
    fx.extend(update(&mut s, key('4')));
    fx.extend(update(&mut s, key('a')));
    fx.extend(typed(&mut s, "call back tomorrow"));
    fx.extend(update(&mut s, code(KeyCode::Enter)));
    pump(&mut s, &worker, &mut rx, fx);
    let want = marks(ReviewStatus::Reviewed, &["latency"], "call back tomorrow");
    assert_eq!(s.review.get(&id), Some(&want));

    // `x`: Markdown with the marks, copied and written atomically under exports/.
    let fx = update(&mut s, key('x'));
    let copied = fx.iter().find_map(|e| match e {
        Effect::Terminal(TerminalEffect::Copy(t)) => Some(t.clone()),
        _ => None,
    });
    let (path_md, md) = fx
        .iter()
        .find_map(|e| match e {
            Effect::Io(IoEffect::WriteExport { path, markdown }) => Some((path.clone(), markdown.clone())),
            _ => None,
        })
        .expect("an export");
    assert_eq!(copied.as_deref(), Some(md.as_str()));
    assert_eq!(path_md, dir.path().join("exports").join(format!("{id}.md")));
    assert!(md.contains("call back tomorrow") && md.contains("latency"), "{md}");
    let written = write_atomic(&path_md, &md).unwrap();
    update(
        &mut s,
        Msg::Exported {
            result: Ok(written.clone()),
        },
    );
    assert_eq!(std::fs::read_to_string(&written).unwrap(), md);
    assert!(s.status.note.as_deref().unwrap().starts_with("exported "));

    // Restart: a new worker on the reopened file, a fresh app state.
    drop(worker);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let store = Store::open(&path).unwrap();
    assert_eq!(store.marks(&origin().key(id.as_str())).unwrap(), want);
    assert!(
        store.conversation(&origin().key(id.as_str())).unwrap().is_some(),
        "cached"
    );
    let worker = StoreWorker::spawn(store, tx).unwrap();
    let mut s = state(120, 40);
    let fx = started_with(&mut s, page(0..10, None, true));
    pump(&mut s, &worker, &mut rx, fx);
    assert_eq!(s.review.get(&id), Some(&want));
    assert!(render(&s).contains("note      call back tomorrow"));
}
