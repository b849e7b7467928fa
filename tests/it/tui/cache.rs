//! The list from the local store: cached rows show before the API answers, the API's rows
//! replace them, offline the cache stays and says so, the transcript comes from the cache,
//! `/` searches cached transcripts as you type, and review filters are judged in SQL.
//! `update` is driven headlessly; every store request is performed on a real SQLite store by
//! the worker's own `handle`.

use crate::support::tui as tui_support;

use callscope::api::{ApiError, ConversationPage, ErrorKind, HostFamily};
use callscope::app::paging::Source;
use callscope::app::review::StoreRequest;
use callscope::app::{Effect, IoEffect, Msg, State, start, update};
use callscope::domain::ReviewStatus;
use callscope::store::Store;
use callscope::tui::store_worker::handle;
use crossterm::event::KeyCode;
use tui_support::*;

/// A store holding fixture conversations `range` (with transcripts).
fn store_with(dir: &std::path::Path, range: std::ops::Range<usize>) -> Store {
    let mut store = Store::open(&dir.join("c.db")).unwrap();
    store.cache(&origin(), &page(range, None, true).conversations).unwrap();
    store
}

fn cached_state() -> State {
    let mut s = state(120, 40);
    s.cache_first = true;
    s
}

/// Performs the store requests in `fx` (and those their answers cause); returns the other effects.
fn run_store(s: &mut State, store: &mut Store, fx: Vec<Effect>) -> Vec<Effect> {
    let mut queue = fx;
    let mut rest = Vec::new();
    while !queue.is_empty() {
        let mut next = Vec::new();
        for e in queue {
            match e {
                Effect::Io(IoEffect::Store(req)) => {
                    if let Some(msg) = handle(store, req) {
                        next.extend(update(s, msg));
                    }
                }
                other => rest.push(other),
            }
        }
        queue = next;
    }
    rest
}

fn first_page_req(fx: &[Effect]) -> Option<u64> {
    page_reqs(fx).first().copied()
}

fn offline() -> ApiError {
    ApiError::transport(
        ErrorKind::Network,
        "connection refused",
        HostFamily::Runtime,
        "api.example",
    )
}

#[test]
fn cached_rows_show_before_the_api_answers_and_are_replaced_by_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = store_with(dir.path(), 0..25);
    let mut s = cached_state();
    let fx = start(&mut s);
    let api_req = first_page_req(&fx).expect("the API is asked at once too");
    let fx = run_store(&mut s, &mut store, fx);
    // Before any API answer: the cache's 25 rows, newest first, marked as such.
    assert_eq!(s.list.paging.source, Source::Cache);
    assert_eq!(s.list.visible_len(), 25);
    assert_eq!(&*s.list.paging.rows[0].id, conv(0, true).id);
    assert!(render(&s).contains("cached ⟳"), "{}", render(&s));
    // The first call is still in progress: its cached copy shows while the API is asked.
    assert!(conv(0, true).in_progress);
    let fx = fire_detail_due(&mut s, &fx);
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Io(IoEffect::Store(StoreRequest::LoadConversation { .. }))))
    );
    let fx = run_store(&mut s, &mut store, fx);
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Io(IoEffect::FetchConversation { .. }))),
        "{fx:?}"
    );
    assert!(s.detail.view.is_some());
    // A finished call's transcript comes from the cache alone.
    let fx = update(&mut s, key('j'));
    let due = fire_detail_due(&mut s, &fx);
    let fx = run_store(&mut s, &mut store, due);
    assert!(
        !fx.iter()
            .any(|e| matches!(e, Effect::Io(IoEffect::FetchConversation { .. }))),
        "{fx:?}"
    );
    assert!(s.detail.view.as_ref().is_some_and(|v| *v.id == *conv(1, true).id));
    // Move to row 3, then the API answers with two calls newer than the cache, and the rest.
    for _ in 0..2 {
        update(&mut s, key('j'));
    }
    let selected = s.list.selected().unwrap().id.clone();
    let line = s.list.sel - s.list.offset;
    let mut fresh = page(0..30, None, true);
    for (i, c) in fresh.conversations.iter_mut().take(2).enumerate() {
        c.id = format!("CAnew{i}");
        c.started_at = Some(now() - chrono::Duration::seconds(30 + i as i64));
    }
    fresh.conversations.rotate_left(2); // keep the fixture order: newest first …
    fresh.conversations.rotate_right(2); // … with the two new ones on top
    answer_slices(&mut s, api_req, fresh);
    assert_eq!(s.list.paging.source, Source::Api, "the API's rows replaced the cache");
    assert!(s.list.incoming.is_none());
    assert_eq!(
        s.list.selected().unwrap().id,
        selected,
        "the same conversation stays selected"
    );
    assert_eq!(s.list.sel - s.list.offset, line, "on the same screen line");
    assert!(!render(&s).contains("cache"));
}

#[test]
fn offline_the_list_works_from_the_cache_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = store_with(dir.path(), 0..300);
    let mut s = cached_state();
    s.window = callscope::app::state::TimeWindow::Last { secs: 7 * 86_400 };
    let fx = start(&mut s);
    let api_req = first_page_req(&fx).unwrap();
    run_store(&mut s, &mut store, fx);
    let fx = update(
        &mut s,
        Msg::Page {
            req: api_req,
            result: Err(offline()),
        },
    );
    assert_eq!(s.list.paging.source, Source::Cache);
    assert!(s.list.from_cache_only());
    let screen = render(&s);
    assert!(screen.contains("cache only"), "{screen}");
    assert!(screen.contains("working"), "{screen}");
    assert!(screen.contains("offline"), "{screen}");
    // A transient failure is retried later; meanwhile scrolling pages through the cache.
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Io(IoEffect::After { msg, .. }) if matches!(**msg, Msg::RetryPage { .. })))
    );
    assert_eq!(s.list.visible_len(), 200, "one store page");
    let fx = update(&mut s, key('G'));
    run_store(&mut s, &mut store, fx);
    assert_eq!(s.list.visible_len(), 300, "the next store page arrived on scrolling");
    assert!(s.list.paging.end, "the cache holds no more");
    // The transcript of a cached call opens without the network.
    let fx = update(&mut s, key('k'));
    let due = fire_detail_due(&mut s, &fx);
    let fx = run_store(&mut s, &mut store, due);
    assert!(
        !fx.iter()
            .any(|e| matches!(e, Effect::Io(IoEffect::FetchConversation { .. })))
    );
    assert!(s.detail.view.is_some());
}

#[test]
fn search_as_you_type_answers_from_cached_transcripts() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = store_with(dir.path(), 0..40);
    let mut s = cached_state();
    let fx = start(&mut s);
    run_store(&mut s, &mut store, fx);
    update(&mut s, key('/'));
    let mut fx = Vec::new();
    for c in "user: sush".chars() {
        fx = update(&mut s, key(c));
        // While typing, only the cache is asked.
        assert!(page_reqs(&fx).is_empty(), "{fx:?}");
        fx = run_store(&mut s, &mut store, fx);
    }
    // The fixture's user says "東京 style sushi" in turn t ≥ 1 when (i + t) % 4 == 3.
    let expected = (0..40usize)
        .filter(|i| (1..3 + i % 5).any(|t| (i + t) % 4 == 3))
        .count();
    assert_eq!(s.list.visible_len(), expected);
    assert!(s.search.as_ref().is_some_and(|q| !q.submitted));
    // The transcript highlights the word; Enter then asks the server too.
    let due = fire_detail_due(&mut s, &fx);
    run_store(&mut s, &mut store, due);
    assert!(!s.detail.matches.is_empty());
    let fx = update(&mut s, code(KeyCode::Enter));
    let q = fx
        .iter()
        .find_map(|e| match e {
            Effect::Io(IoEffect::FetchPage { query, .. }) => query.search.clone(),
            _ => None,
        })
        .expect("the server search");
    assert_eq!((q.query.as_str(), q.turn_type.as_deref()), ("sush", Some("user")));
    // A word nobody said: nothing cached, and the list says what to do.
    update(&mut s, key('/'));
    for _ in 0..10 {
        update(&mut s, code(KeyCode::Backspace));
    }
    for c in "zebra".chars() {
        let fx = update(&mut s, key(c));
        run_store(&mut s, &mut store, fx);
    }
    assert_eq!(s.list.visible_len(), 0);
    assert!(render(&s).contains("no cached transcript matches"), "{}", render(&s));
}

#[test]
fn review_filters_are_judged_by_the_store_for_cache_and_api_pages() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = store_with(dir.path(), 0..20);
    for i in [1, 4, 7] {
        store
            .set_status(&origin().key(conv(i, true).id), ReviewStatus::Reviewed)
            .unwrap();
    }
    let mut s = cached_state();
    let fx = start(&mut s);
    run_store(&mut s, &mut store, fx);
    update(&mut s, key(':'));
    for c in "unreviewed voice".chars() {
        update(&mut s, key(c));
    }
    let fx = update(&mut s, code(KeyCode::Enter));
    let (req, filter) = fx
        .iter()
        .find_map(|e| match e {
            Effect::Io(IoEffect::FetchPage { req, filter, .. }) => Some((*req, filter.clone())),
            _ => None,
        })
        .unwrap();
    run_store(&mut s, &mut store, fx);
    let wanted = |i: &usize| ![1, 4, 7].contains(i) && i % 4 != 3;
    assert_eq!(s.list.visible_len(), (0..20).filter(wanted).count(), "from the cache");
    // The API page goes through the store, which caches it and keeps what the filter keeps,
    // marks included, including a call the cache had never seen.
    let mut api = page(0..21, None, true);
    api.conversations.reverse(); // the server's ascending order
    let fx = handle(
        &mut store,
        StoreRequest::FilterPage {
            req,
            origin: origin(),
            filter: filter.unwrap().filter,
            page: ConversationPage { cursor: None, ..api },
        },
    );
    let Some(Msg::Page { req, result }) = fx else {
        panic!("a page")
    };
    let ids: Vec<String> = result
        .as_ref()
        .unwrap()
        .conversations
        .iter()
        .map(|c| c.id.clone())
        .collect();
    let expected: Vec<String> = (0..21).rev().filter(wanted).map(|i| conv(i, true).id).collect();
    assert_eq!(ids, expected);
    let mut fx = update(&mut s, Msg::Page { req, result });
    while let Some(r) = first_page_req(&fx) {
        fx = update(
            &mut s,
            Msg::Page {
                req: r,
                result: Ok(page(0..0, None, true)),
            },
        );
    }
    assert_eq!(s.list.paging.source, Source::Api);
    assert_eq!(s.list.visible_len(), expected.len());
    assert!(
        render(&s)
            .lines()
            .next()
            .unwrap()
            .contains("filter: voice · unreviewed")
    );
}
