//! Agent Studio from the TUI: `L` copies the selected conversation's Studio link, `P` pushes its
//! marks (through the runner, to the stand-in) and the status line says what happened.

use crate::support as common;
use crate::support::tui as tui_support;

use callscope::app::{Effect, IoEffect, Msg, TerminalEffect, update};
use callscope::config::Region;
use callscope::domain::{Marks, Origin, RatingReason, Thumbs, TurnRating};
use callscope::standin::studio::ReceivedMark;
use callscope::standin::{self, StandinOptions};
use callscope::store::Store;
use callscope::studio::StudioLinks;
use callscope::studio::push::PushReport;
use callscope::tui::effects::Runner;
use tui_support::*;

fn copies(fx: &[Effect]) -> Vec<String> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Terminal(TerminalEffect::Copy(t)) => Some(t.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn the_link_key_copies_the_studio_url_of_the_selected_call() {
    let mut s = state(120, 40);
    s.studio = Some(StudioLinks::new(Region::Euw, "ws-demo", "PROJECT-demo"));
    started_with(&mut s, page(0..5, None, true));
    update(&mut s, key('j'));
    let id = s.list.selected().unwrap().id.to_string();
    let fx = update(&mut s, key('O'));
    let url = format!("https://studio.eu.poly.ai/ws-demo/PROJECT-demo/conversations/{id}");
    assert_eq!(copies(&fx), vec![url.clone()]);
    let note = s.status.note.clone().unwrap();
    assert!(
        note.contains("copied the Agent Studio link") && note.contains(&url),
        "{note}"
    );

    // Without a known region there is no link to copy, and the status line says what to set.
    s.studio = None;
    let fx = update(&mut s, key('O'));
    assert!(copies(&fx).is_empty());
    assert!(s.status.note.clone().unwrap().contains("region"), "{:?}", s.status.note);
}

#[test]
fn the_push_key_asks_once_and_the_status_line_tells_the_outcome() {
    let mut s = state(120, 40);
    started_with(&mut s, page(0..5, None, true));
    let id = s.list.selected().unwrap().id.to_string();
    let fx = update(&mut s, key('A'));
    let keys: Vec<_> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::Io(IoEffect::PushMarks { key }) => Some(key.clone()),
            _ => None,
        })
        .collect();
    let want = Origin::new("ws-demo", "PROJECT-demo", "live").key(&id);
    assert_eq!(keys, vec![want.clone()]);
    assert!(
        s.status.note.clone().unwrap().contains("pushing"),
        "{:?}",
        s.status.note
    );
    // A second press while it runs sends nothing more.
    let fx = update(&mut s, key('A'));
    assert!(!fx.iter().any(|e| matches!(e, Effect::Io(IoEffect::PushMarks { .. }))));

    let report = PushReport {
        notes: 1,
        annotations: 2,
        unchanged: 0,
        skipped: Some("1 rating not pushed (no Studio annotation type): 1 👎 latency".into()),
        failures: vec![],
    };
    update(
        &mut s,
        Msg::MarksPushed {
            key: want.clone(),
            result: Ok(report),
        },
    );
    let note = s.status.note.clone().unwrap();
    assert!(note.contains("pushed the note and 2 annotations"), "{note}");
    assert!(note.contains("👎 latency"), "{note}");
    assert!(render(&s).contains("pushed the note"), "shown on the status line");

    // A failure shows the server's words and the correlation id; the key works again.
    let fx = update(&mut s, key('A'));
    assert!(fx.iter().any(|e| matches!(e, Effect::Io(IoEffect::PushMarks { .. }))));
    let failed = PushReport {
        notes: 0,
        annotations: 0,
        unchanged: 0,
        skipped: None,
        failures: vec!["note: 404 Not Found · server said: gone \u{1b}[2J · correlation id cid-9".into()],
    };
    update(
        &mut s,
        Msg::MarksPushed {
            key: want,
            result: Ok(failed),
        },
    );
    let note = s.status.note.clone().unwrap();
    assert!(
        note.contains("failed") && note.contains("cid-9") && note.contains("gone"),
        "{note}"
    );
    assert!(!note.contains('\u{1b}'), "{note:?}");
}

/// The runner performs the push effect against the stand-in with the store the TUI uses.
#[tokio::test(flavor = "multi_thread")]
async fn the_runner_pushes_to_the_standin_and_answers() {
    let s = standin::start(StandinOptions {
        conversations: 20,
        ..Default::default()
    })
    .await
    .unwrap();
    let data = s.dataset();
    let id = data.read(|d| {
        d.entries()
            .iter()
            .map(|e| e.id.to_string())
            .find(|id| data.get(id).is_some_and(|c| c.turns.len() >= 2))
            .unwrap()
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let key = Origin::new(&s.account_id, &s.project_id, "live").key(&id);
    let mut store = Store::open(&path).unwrap();
    store
        .set_marks(
            &key,
            &Marks {
                note: "check the refund policy".into(),
                turns: [(
                    1,
                    TurnRating {
                        thumbs: Thumbs::Down,
                        reason: Some(RatingReason::WrongInformation),
                        comment: String::new(),
                    },
                )]
                .into(),
                ..Marks::default()
            },
        )
        .unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let runner = Runner::new(common::client(&s), tx).with_store_path(path.clone());
    for round in 0..2 {
        runner.spawn(IoEffect::PushMarks { key: key.clone() });
        let report = loop {
            match rx.recv().await.unwrap() {
                Msg::MarksPushed { key: k, result } => {
                    assert_eq!(k, key);
                    break result.unwrap();
                }
                _ => continue,
            }
        };
        if round == 0 {
            assert_eq!((report.notes, report.annotations), (1, 1), "{report:?}");
        } else {
            assert_eq!(
                (report.notes, report.annotations, report.unchanged),
                (0, 0, 2),
                "{report:?}"
            );
        }
    }
    let got = s.received_marks();
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(matches!(&got[0], ReceivedMark::Note { note, .. } if note == "check the refund policy"));
}
