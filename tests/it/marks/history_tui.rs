//! `H` and the detail pane's authors: snapshots from pinned messages, and the real store worker
//! recording the configured reviewer.

use std::time::{Duration, Instant};

use crate::support::tui as tui_support;

use callscope::app::review::StoreRequest;
use callscope::app::state::Overlay;
use callscope::app::{Effect, IoEffect, Msg, State, update};
use callscope::domain::{MarkChange, MarkField, Stamp};
use callscope::domain::{Marks, ReviewStatus};
use callscope::store::Store;
use callscope::tui::store_worker::StoreWorker;
use crossterm::event::KeyCode;
use insta::assert_snapshot;
use tui_support::*;

fn ms(minutes_before_now: i64) -> i64 {
    (now() - chrono::Duration::minutes(minutes_before_now)).timestamp_millis()
}

fn change(field: MarkField, before: Option<&str>, after: Option<&str>, who: &str, minutes_ago: i64) -> MarkChange {
    MarkChange {
        field,
        before: before.map(String::from),
        after: after.map(String::from),
        reviewer: who.into(),
        at_ms: ms(minutes_ago),
    }
}

/// The first call marked by two reviewers: its marks, their authors, and `H` answered.
fn marked(w: u16, h: u16) -> State {
    let mut s = state(w, h);
    started_with(&mut s, page(0..12, None, true));
    let id = conv(0, false).id;
    let m = Marks {
        status: ReviewStatus::Reviewed,
        flags: ["latency".to_string()].into(),
        note: "agent quoted the old price".into(),
        ..Marks::default()
    };
    update(
        &mut s,
        Msg::Marks {
            origin: origin(),
            marks: vec![(id.clone(), m)],
        },
    );
    let stamp = |who: &str, minutes_ago| Stamp {
        reviewer: who.into(),
        at_ms: ms(minutes_ago),
    };
    let authors = [
        (MarkField::Status, stamp("alice@acme", 120)),
        (MarkField::Flag("latency".into()), stamp("bob@acme", 3 * 24 * 60)),
        (MarkField::Note, stamp("alice@acme", 5)),
    ]
    .into();
    update(
        &mut s,
        Msg::Authors {
            origin: origin(),
            authors: vec![(id, authors)],
        },
    );
    s
}

fn open_history(s: &mut State) {
    let fx = update(s, key('H'));
    let key = fx
        .iter()
        .find_map(|e| match e {
            Effect::Io(IoEffect::Store(StoreRequest::History { key })) => Some(key.clone()),
            _ => None,
        })
        .expect("H asks the store for the history");
    assert_eq!(key, origin().key(conv(0, false).id.as_str()));
    assert!(matches!(s.overlay, Overlay::History { scroll: 0 }));
    let mut changes = vec![
        change(
            MarkField::Note,
            Some("check the price"),
            Some("agent quoted the old price"),
            "alice@acme",
            5,
        ),
        change(
            MarkField::Status,
            Some("needs_follow_up"),
            Some("reviewed"),
            "alice@acme",
            120,
        ),
        change(MarkField::Note, None, Some("check the price"), "bob@acme", 200),
        change(
            MarkField::Status,
            None,
            Some("needs_follow_up"),
            "bob@acme",
            3 * 24 * 60,
        ),
        change(
            MarkField::Flag("latency".into()),
            None,
            Some("set"),
            "bob@acme",
            3 * 24 * 60,
        ),
        change(
            MarkField::TurnRating(1),
            None,
            Some(r#"{"thumbs":"down","reason":"latency","comment":"slow \u001b[31m"}"#),
            "bob\u{1b}[2J@acme",
            4 * 24 * 60,
        ),
    ];
    // Enough older ones to scroll at 80×24.
    for i in 0..20 {
        let flag = MarkField::Flag(format!("code{i}"));
        changes.push(change(flag, None, Some("set"), "carol@acme", 5 * 24 * 60 + i));
    }
    update(
        s,
        Msg::History {
            key,
            result: Ok(changes),
        },
    );
}

#[test]
fn the_detail_pane_names_the_latest_authors() {
    let s = marked(160, 45);
    let screen = render(&s);
    assert!(screen.contains("review    reviewed · alice@acme · 2h ago"), "{screen}");
    assert!(screen.contains("flags     latency · bob@acme · 3d ago"), "{screen}");
    assert!(
        screen.contains("note      agent quoted the old price · alice@acme · 5m ago"),
        "{screen}"
    );
    assert_snapshot!("history_detail_authors_160x45", screen);
}

#[test]
fn history_overlay_snapshots_scrolls_and_closes() {
    let mut s = marked(80, 24);
    assert_snapshot!("history_detail_authors_80x24", render(&s));
    open_history(&mut s);
    let screen = render(&s);
    assert!(!screen.contains('\u{1b}'), "escapes from the store are made visible");
    assert_snapshot!("history_overlay_80x24", screen);
    update(&mut s, key('G'));
    let Overlay::History { scroll } = s.overlay else {
        panic!("still open")
    };
    assert!(scroll > 0, "G scrolls to the oldest change");
    assert_snapshot!("history_overlay_80x24_bottom", render(&s));
    update(&mut s, code(KeyCode::Esc));
    assert_eq!(s.overlay, Overlay::None);

    let mut wide = marked(160, 45);
    open_history(&mut wide);
    assert_snapshot!("history_overlay_160x45", render(&wide));
    update(&mut wide, key('H'));
    assert_eq!(wide.overlay, Overlay::None, "H closes it again");
}

/// Drives `fx` through the real worker until `done` holds for a message.
fn pump_until(
    s: &mut State,
    w: &StoreWorker,
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<Msg>,
    fx: Vec<Effect>,
    done: impl Fn(&State) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut queue = fx;
    loop {
        for e in std::mem::take(&mut queue) {
            if let Effect::Io(IoEffect::Store(req)) = e {
                w.send(req);
            }
        }
        if done(s) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out");
        match rx.try_recv() {
            Ok(m) => queue = update(s, m),
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

#[test]
fn the_worker_records_the_configured_reviewer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("callscope.db");
    let mut store = Store::open(&path).unwrap();
    store.set_reviewer("alice@acme");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let worker = StoreWorker::spawn(store, tx).unwrap();
    let mut s = state(120, 40);
    s.now = chrono::Utc::now();
    let fx = started_with(&mut s, page(0..5, None, true));
    pump_until(&mut s, &worker, &mut rx, fx, |s| !s.review.requested.is_empty());
    let id = s.list.selected().unwrap().id.to_string();
    let fx = update(&mut s, key('R'));
    pump_until(&mut s, &worker, &mut rx, fx, |s| s.history.authors.contains_key(&id));
    assert_eq!(s.history.authors[&id][&MarkField::Status].reviewer, "alice@acme");
    assert!(
        render(&s).contains("review    reviewed · alice@acme · just now"),
        "{}",
        render(&s)
    );
    let fx = update(&mut s, key('H'));
    pump_until(&mut s, &worker, &mut rx, fx, |s| s.history.changes.is_some());
    let lines = callscope::app::history::lines(&s);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains("alice@acme") && lines[0].contains("status: new → reviewed"),
        "{lines:?}"
    );
    let _ = worker.finish(Duration::from_secs(2));
}
