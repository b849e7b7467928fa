//! The TUI never waits on a page it could have asked for: the next page (or newest-first
//! slice) is asked for a screen before the selection reaches the end of what is loaded, and a
//! call whose list row carried its turns opens without a request (counted at the server).

use crate::support::net as net_support;
use crate::support::tui as tui_support;

use std::time::Duration;

use callscope::api::Client;
use callscope::app::{Effect, Msg, start, update};
use callscope::config::{Config, ConnectionArgs, FileConfig};
use callscope::tui::effects::Runner;
use tokio::sync::mpsc;
use tui_support::*;

/// Presses `j` from the top until an effect asks for a page; returns the selected row then.
fn row_when_more_is_asked(s: &mut callscope::app::State) -> Option<usize> {
    for _ in 0..s.list.visible_len() {
        if !page_reqs(&update(s, key('j'))).is_empty() {
            return Some(s.list.sel);
        }
    }
    None
}

#[test]
fn newest_first_the_next_slice_is_asked_for_a_screen_before_the_end() {
    let mut s = state(120, 40);
    // The first slice's only page, with older calls left in the window.
    let fx = started_with(&mut s, page(0..60, Some("older"), true));
    assert!(page_reqs(&fx).is_empty(), "the first screen is far from the end");
    let screen = s.panes().list_rows();
    assert!(screen > 5 && screen < 60, "{screen}");
    assert_eq!(row_when_more_is_asked(&mut s), Some(60 - screen));
}

#[test]
fn oldest_first_the_next_page_is_asked_for_a_screen_before_the_end() {
    let mut s = oldest_first_state(120, 24);
    started_with(&mut s, page(0..80, Some("cur-1"), true));
    let screen = s.panes().list_rows();
    assert_eq!(row_when_more_is_asked(&mut s), Some(80 - screen));
}

fn client(base: &str) -> Client {
    let args = ConnectionArgs {
        base_url: Some(base.into()),
        platform_url: Some(base.into()),
        account_id: Some("ws-demo".into()),
        project_id: Some("PROJECT-demo".into()),
        ..Default::default()
    };
    let cfg = Config::resolve_with_file(
        &args,
        &|k| (k == "POLYAI_API_KEY").then(|| "secret-key".into()),
        FileConfig::default(),
    )
    .unwrap();
    Client::new(&cfg).unwrap()
}

/// Runs `fx` through the real runner (timers included) and folds every answer back into
/// `update` until nothing arrives for `quiet`.
async fn settle(
    s: &mut callscope::app::State,
    runner: &Runner,
    rx: &mut mpsc::UnboundedReceiver<Msg>,
    fx: Vec<Effect>,
    quiet: Duration,
) {
    let mut pending = fx;
    loop {
        for e in pending.drain(..) {
            if let Effect::Io(work) = e {
                runner.spawn(work);
            }
        }
        match tokio::time::timeout(quiet, rx.recv()).await {
            Ok(Some(msg)) => pending = update(s, msg),
            _ => return,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_whose_list_row_carried_its_turns_opens_without_a_request() {
    // Every request is answered with the one page of 12 calls, each with its turns.
    let convs: Vec<_> = (0..12).map(|i| conv(i, true)).collect();
    let body = serde_json::json!({ "conversations": convs, "cursor": null }).to_string();
    let server = net_support::serve(move |_| net_support::json(&body)).await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let runner = Runner::new(client(&server.url), tx);
    let mut s = state(120, 40);
    let fx = start(&mut s);
    settle(&mut s, &runner, &mut rx, fx, Duration::from_millis(400)).await;
    assert_eq!(s.list.visible_len(), 12);
    let listed = server.hits();
    assert!(listed >= 1);
    // Select every call in turn, waiting out the detail debounce each time.
    for _ in 0..11 {
        let fx = update(&mut s, key('j'));
        settle(&mut s, &runner, &mut rx, fx, Duration::from_millis(300)).await;
        let shown = s.detail.view.as_ref().map(|v| v.id.to_string());
        assert_eq!(shown.as_deref(), s.list.selected().map(|r| &*r.id));
    }
    assert_eq!(
        server.hits(),
        listed,
        "no request beyond the list: {:?}",
        server.requests().iter().map(|r| r.target.clone()).collect::<Vec<_>>()
    );
}
