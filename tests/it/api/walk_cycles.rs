//! No endless walk: a server whose cursor goes round (A→B→A) or repeats on every page stops
//! every cursor walk with "the server repeated cursor …; stopped after N pages" after a
//! bounded number of requests: `export` (the real binary), the library's `Pager`, the TUI's
//! list in both orders (through the real effect runner over loopback), and `--poll` walks.

use crate::support::net as net_support;
use crate::support::tui as tui_support;

use std::time::Duration;

use callscope::api::{Client, ConversationPage, ErrorKind, ListQuery};
use callscope::app::paging::Order;
use callscope::app::{self, Effect, IoEffect, Msg, State};
use callscope::tui::effects::Runner;
use net_support::{Server, env_vars, json, page_json, run_bin, serve};
use tokio::sync::mpsc;

/// How the server hands out cursors.
#[derive(Clone, Copy, Debug)]
enum Cycle {
    /// none → A → B → A …
    AB,
    /// The same cursor on every page.
    Same,
}

impl Cycle {
    fn next(self, sent: Option<&str>) -> &'static str {
        match (self, sent) {
            (Cycle::Same, _) => "S",
            (Cycle::AB, Some("A")) => "B",
            (Cycle::AB, _) => "A",
        }
    }
    /// The cursor the error names and the pages walked when it is found.
    fn expected(self) -> (&'static str, usize) {
        match self {
            Cycle::AB => ("A", 3),
            Cycle::Same => ("S", 2),
        }
    }
}

async fn cycling_server(cycle: Cycle) -> Server {
    serve(move |req| {
        let sent = req.query("cursor");
        let id = format!("CA-{}", sent.as_deref().unwrap_or("first"));
        json(&page_json(&[&id], Some(cycle.next(sent.as_deref()))))
    })
    .await
}

fn message(cycle: Cycle) -> String {
    let (c, n) = cycle.expected();
    format!("the server repeated cursor \"{c}\"; stopped after {n} pages")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_stops_on_a_repeated_cursor() {
    let home = tempfile::tempdir().unwrap();
    for cycle in [Cycle::AB, Cycle::Same] {
        let s = cycling_server(cycle).await;
        let out = home.path().join("calls.jsonl");
        let out_arg = out.display().to_string();
        let (code, stdout, stderr) = run_bin(
            &["export", "--since", "1h", "--out", &out_arg],
            &env_vars(&s.url, &s.url, "k-1", home.path()),
            Duration::from_secs(30),
        )
        .await;
        assert!(
            code.is_some_and(|c| c != 0),
            "{cycle:?}: exit {code:?} after {} requests\n{stdout}\n{stderr}",
            s.hits()
        );
        assert!(stderr.contains(&message(cycle)), "{cycle:?}: {stderr}");
        // One request per page: the window's first page is an ordinary page (no probe first).
        assert_eq!(s.hits(), cycle.expected().1, "{cycle:?}: one request per page");
        assert!(!out.exists(), "{cycle:?}: no partial export is left as if complete");
    }
}

fn client(base: &str) -> Client {
    let cfg = crate::support::scripted_config(base, None, &[("POLYAI_API_KEY", "k")]);
    Client::new(&cfg).unwrap()
}

#[tokio::test]
async fn the_pager_stops_on_a_repeated_cursor() {
    for cycle in [Cycle::AB, Cycle::Same] {
        let s = cycling_server(cycle).await;
        let mut pager = client(&s.url).pages(ListQuery::default());
        let mut ok = 0;
        let err = loop {
            match pager.next_page().await {
                Some(Ok(_)) => ok += 1,
                Some(Err(e)) => break e,
                None => panic!("{cycle:?}: the walk ended without an error"),
            }
            assert!(ok < 10, "{cycle:?}: still walking");
        };
        assert_eq!(err.kind, ErrorKind::CursorRepeated);
        assert!(err.headline().starts_with(&message(cycle)), "{}", err.headline());
        assert!(pager.next_page().await.is_none(), "the walk is over");
        assert_eq!(s.hits(), cycle.expected().1);
    }
}

/// Runs the app against `s` through the real runner until it goes quiet (or asks too much).
async fn run_tui(s: &Server, order: Order) -> State {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let runner = Runner::new(client(&s.url), tx);
    let mut state = crate::support::tui::live_state();
    state.list.order = order;
    let mut fx = app::start(&mut state);
    loop {
        for e in fx.drain(..) {
            if let Effect::Io(work) = e {
                runner.spawn(work);
            }
        }
        assert!(
            s.hits() <= 40,
            "{order:?}: the list keeps asking ({} requests)",
            s.hits()
        );
        match tokio::time::timeout(Duration::from_millis(1500), rx.recv()).await {
            Ok(Some(msg)) => fx = app::update(&mut state, msg),
            _ => return state, // quiet: nothing more is asked for
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tui_list_stops_on_a_repeated_cursor_in_both_orders() {
    for order in [Order::OldestFirst, Order::NewestFirst] {
        for cycle in [Cycle::AB, Cycle::Same] {
            let s = cycling_server(cycle).await;
            let state = run_tui(&s, order).await;
            let what = format!("{order:?}/{cycle:?}");
            let shown = state.status.error.clone().unwrap_or_default();
            assert!(shown.contains(&message(cycle)), "{what}: status {shown:?}");
            let api = state.list.api();
            assert!(api.in_flight.is_none(), "{what}: nothing in flight");
            assert!(
                api.failed.as_ref().is_some_and(|e| e.kind == ErrorKind::CursorRepeated),
                "{what}: the walk is stopped, not retried"
            );
            let screen = tui_support::render(&state);
            assert!(
                screen.contains("the server repeated cursor"),
                "{what}: on screen\n{screen}"
            );
            // Oldest first walks one cursor chain; newest first first narrows its slice once.
            let expected = cycle.expected().1 + usize::from(order == Order::NewestFirst);
            assert_eq!(s.hits(), expected, "{what}: requests");
        }
    }
}

fn poll_request(fx: &[Effect]) -> Option<(u64, Option<String>)> {
    fx.iter().find_map(|e| match e {
        Effect::Io(IoEffect::FetchPoll { req, query }) => Some((*req, query.cursor.clone())),
        _ => None,
    })
}

#[test]
fn a_poll_walk_stops_on_a_repeated_cursor() {
    use tui_support::*;
    for cycle in [Cycle::AB, Cycle::Same] {
        let mut s = state(120, 40);
        s.live.poll_every = Some(Duration::from_secs(30));
        let fx = app::start(&mut s);
        answer_slices(&mut s, page_reqs(&fx)[0], page(0..5, None, true));
        app::update(&mut s, Msg::Tick(now() + chrono::Duration::minutes(1)));
        let mut fx = app::update(&mut s, Msg::PollDue);
        let mut asked = 0;
        while let Some((req, sent)) = poll_request(&fx) {
            asked += 1;
            assert!(asked < 10, "{cycle:?}: the poll keeps walking");
            let next = cycle.next(sent.as_deref());
            let page = ConversationPage {
                conversations: vec![],
                cursor: Some(next.into()),
                next_offset: None,
                skipped: 0,
                total: None,
            };
            fx = app::update(&mut s, Msg::PollPage { req, result: Ok(page) });
        }
        assert_eq!(asked, cycle.expected().1, "{cycle:?}");
        let note = s.status.note.clone().unwrap_or_default();
        assert!(note.contains(&message(cycle)), "{cycle:?}: {note}");
        // The next poll is a new walk, so it may ask again.
        let fx = app::update(&mut s, Msg::PollDue);
        assert!(poll_request(&fx).is_some());
    }
}
