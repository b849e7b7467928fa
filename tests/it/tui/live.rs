//! Live calls, headless: webhook events fetched by id and inserted at the top without moving
//! the selection, the "N new" counter, duplicates, handoffs, and `--poll`.

use crate::support::tui as tui_support;

use std::time::Duration;

use callscope::api::{ApiError, Conversation, ConversationPage};
use callscope::app::live::LiveEvent;
use callscope::app::paging::{HANDOFF, IN_PROGRESS, LIVE};
use callscope::app::{Effect, IoEffect, Msg, State, start, update};
use tui_support::*;

/// A call that started a minute ago (newer than every fixture row).
fn fresh(n: usize) -> Conversation {
    let mut c = conv(200 + n, true);
    c.id = format!("CAlive{n:04}0000000000000000000000000000");
    c.started_at = Some(now() - chrono::Duration::minutes(1));
    c.in_progress = false;
    c.handoff = false;
    c.handoff_reason.clear();
    c
}

fn completed(id: &str) -> Msg {
    Msg::Live(LiveEvent::Completed {
        id: id.into(),
        environment: "live".into(),
    })
}

fn live_fetches(fx: &[Effect]) -> Vec<(u64, String)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Io(IoEffect::FetchLive { req, id }) => Some((*req, id.clone())),
            _ => None,
        })
        .collect()
}

/// Delivers `c` the way the runner would: the event, then the fetched conversation.
fn arrive(s: &mut State, c: &Conversation) -> Vec<Effect> {
    let fx = update(s, completed(&c.id));
    let (req, id) = live_fetches(&fx).pop().expect("the event fetches the call by id");
    assert_eq!(id, c.id);
    update(
        s,
        Msg::LiveConversation {
            req,
            result: Ok(c.clone()),
        },
    )
}

fn selected_id(s: &State) -> String {
    s.list.selected().unwrap().id.to_string()
}

#[test]
fn new_calls_go_on_top_and_the_selection_stays_on_its_row_and_screen_line() {
    let mut s = state(120, 40);
    started_with(&mut s, page(0..100, Some("c"), true));
    for _ in 0..40 {
        update(&mut s, key('j'));
    }
    let (id, line) = (selected_id(&s), s.list.sel - s.list.offset);
    assert!(s.list.offset > 0, "scrolled");
    arrive(&mut s, &fresh(1));
    arrive(&mut s, &fresh(2));
    assert_eq!(s.list.paging.rows[0].id.as_ref(), fresh(2).id);
    assert_eq!(s.list.paging.rows[1].id.as_ref(), fresh(1).id);
    assert!(s.list.paging.rows[0].has(LIVE));
    assert_eq!(selected_id(&s), id, "same conversation selected");
    assert_eq!(s.list.sel - s.list.offset, line, "on the same screen line");
    assert_eq!(s.list.paging.len(), 102);
    assert_eq!(s.live.new_count, 2);
    assert!(render(&s).contains("● connected · 2 new"));
    // The detail pane still shows the selected conversation.
    assert_eq!(s.detail.view.as_ref().unwrap().id, id);
    // `g` goes to the top, where the new calls are: the counter resets.
    update(&mut s, key('g'));
    assert_eq!(selected_id(&s), fresh(2).id);
    assert_eq!(s.live.new_count, 0);
    // At the top, with the first row selected, a new call still does not take the selection.
    arrive(&mut s, &fresh(3));
    assert_eq!(selected_id(&s), fresh(2).id);
    assert_eq!((s.list.sel, s.list.offset), (1, 1));
    assert_eq!(s.live.new_count, 1);
    // Scrolling up to it counts as seeing it.
    update(&mut s, key('k'));
    assert_eq!(s.live.new_count, 0);
    // A reload starts the count over, too.
    arrive(&mut s, &fresh(4));
    update(&mut s, key('r'));
    assert_eq!(s.live.new_count, 0);
}

#[test]
fn duplicates_stale_answers_and_other_environments_are_ignored() {
    let mut s = state(120, 40);
    started_with(&mut s, page(0..50, None, true));
    // The same event twice while its fetch runs: one fetch.
    let fx1 = update(&mut s, completed(&fresh(1).id));
    let fx2 = update(&mut s, completed(&fresh(1).id));
    assert_eq!(live_fetches(&fx1).len(), 1);
    assert!(live_fetches(&fx2).is_empty());
    let (req, _) = live_fetches(&fx1)[0].clone();
    update(
        &mut s,
        Msg::LiveConversation {
            req,
            result: Ok(fresh(1)),
        },
    );
    // A retried delivery after the fetch: fetched again, but not listed twice.
    arrive(&mut s, &fresh(1));
    assert_eq!(s.list.paging.len(), 51);
    assert_eq!(s.live.new_count, 1);
    // An answer nobody asked for is dropped.
    update(
        &mut s,
        Msg::LiveConversation {
            req: 9999,
            result: Ok(fresh(2)),
        },
    );
    assert_eq!(s.list.paging.len(), 51);
    // A call of another client_env is not fetched.
    let fx = update(
        &mut s,
        Msg::Live(LiveEvent::Completed {
            id: "CAsandbox".into(),
            environment: "sandbox".into(),
        }),
    );
    assert!(live_fetches(&fx).is_empty());
    // A listed call that was in progress completes: its row is refreshed in place.
    assert!(s.list.paging.rows[1].has(IN_PROGRESS), "conv 0 is in progress");
    let mut done = conv(0, true);
    done.in_progress = false;
    let sel = selected_id(&s);
    arrive(&mut s, &done);
    assert!(!s.list.paging.rows[1].has(IN_PROGRESS));
    assert_eq!(s.list.paging.len(), 51);
    assert_eq!(s.live.new_count, 1);
    assert_eq!(selected_id(&s), sel);
    // A failed fetch is a note, not a crash.
    let fx = update(&mut s, completed("CAgone"));
    let (req, _) = live_fetches(&fx)[0].clone();
    let err = ApiError::from_response(404, b"{}", None, callscope::api::HostFamily::Runtime, "h");
    update(&mut s, Msg::LiveConversation { req, result: Err(err) });
    assert!(s.status.note.as_deref().unwrap().starts_with("live call CAgone"));
    // Answers for the list before a reload are dropped.
    let fx = update(&mut s, completed(&fresh(5).id));
    let (req, _) = live_fetches(&fx)[0].clone();
    update(&mut s, key('r'));
    update(
        &mut s,
        Msg::LiveConversation {
            req,
            result: Ok(fresh(5)),
        },
    );
    assert!(s.list.paging.position(&fresh(5).id).is_none());
}

#[test]
fn handoffs_are_flagged_before_or_after_the_call_is_listed() {
    let mut s = state(120, 40);
    started_with(&mut s, page(0..10, None, true));
    // A listed call (conv 1 has no handoff).
    assert!(!s.list.paging.rows[1].has(HANDOFF));
    update(
        &mut s,
        Msg::Live(LiveEvent::Handoff {
            id: conv(1, true).id,
            environment: "live".into(),
            reason: "refund\u{1b}[31m".into(),
        }),
    );
    assert!(s.list.paging.rows[1].has(HANDOFF));
    let reason = &s.list.paging.rows[1].handoff_reason;
    assert!(reason.starts_with("refund") && !reason.contains('\u{1b}'), "{reason:?}");
    assert!(s.status.note.as_deref().unwrap().contains("handoff on"));
    // The stand-in sends the handoff first, then the completion.
    let c = fresh(1);
    update(
        &mut s,
        Msg::Live(LiveEvent::Handoff {
            id: c.id.clone(),
            environment: "live".into(),
            reason: "billing".into(),
        }),
    );
    arrive(&mut s, &c);
    let row = &s.list.paging.rows[0];
    assert_eq!(row.id.as_ref(), c.id);
    assert!(row.has(HANDOFF));
    assert_eq!(&*row.handoff_reason, "billing");
    update(&mut s, key('g'));
    assert!(render(&s).contains("✦ ⇄ billing"), "{}", render(&s));
}

#[test]
fn oldest_first_appends_and_a_filter_keeps_its_selection() {
    let mut s = oldest_first_state(120, 40);
    started_with(&mut s, page(0..10, None, true));
    arrive(&mut s, &fresh(1));
    assert_eq!(s.list.paging.rows.back().unwrap().id.as_ref(), fresh(1).id);
    assert_eq!(s.list.sel, 0);
    // While the walk has older pages to go, new calls wait so they land after them.
    let mut s = oldest_first_state(120, 40);
    started_with(&mut s, page(0..100, Some("c"), true));
    arrive(&mut s, &fresh(1));
    assert_eq!(s.list.paging.len(), 100);
    let req = page_reqs(&update(&mut s, key('G')))[0];
    update(
        &mut s,
        Msg::Page {
            req,
            result: Ok(page(100..110, None, true)),
        },
    );
    assert_eq!(s.list.paging.len(), 111);
    assert_eq!(s.list.paging.rows.back().unwrap().id.as_ref(), fresh(1).id);
    assert_eq!(s.live.new_count, 1);

    let mut s = state(120, 40);
    started_with(&mut s, page(0..30, None, true));
    apply_filter(&mut s, "handoff", page(0..30, None, true));
    update(&mut s, key('j'));
    let id = selected_id(&s);
    let mut h = fresh(1);
    h.handoff = true;
    arrive(&mut s, &h);
    assert_eq!(selected_id(&s), id);
    assert_eq!(s.list.visible_len(), 11);
    assert_eq!(s.list.row_at(0).unwrap().id.as_ref(), h.id);
    // Not matching the filter: not listed, not counted.
    arrive(&mut s, &fresh(2));
    assert_eq!(selected_id(&s), id);
    assert_eq!(s.list.visible_len(), 11);
    assert_eq!(s.live.new_count, 1);
    assert_eq!(s.list.paging.rows[0].id.as_ref(), h.id);
}

#[test]
fn receiver_state_shows_in_the_header() {
    let mut s = state(120, 40);
    started_with(&mut s, page(0..10, None, true));
    update(&mut s, Msg::Live(LiveEvent::Receiver { up: true }));
    assert!(render(&s).lines().next().unwrap().ends_with("● live"));
    update(&mut s, Msg::Live(LiveEvent::Receiver { up: false }));
    assert!(render(&s).lines().next().unwrap().ends_with("● connected"));
}

fn poll_queries(fx: &[Effect]) -> Vec<(u64, callscope::api::ListQuery)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Io(IoEffect::FetchPoll { req, query }) => Some((*req, query.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn polling_finds_new_calls() {
    let mut s = state(120, 40);
    s.live.poll_every = Some(Duration::from_secs(30));
    let fx = start(&mut s);
    assert!(fx.iter().any(
        |e| matches!(e, Effect::Io(IoEffect::After { delay, msg }) if *delay == Duration::from_secs(30) && matches!(**msg, Msg::PollDue))
    ));
    let req = page_reqs(&fx)[0];
    answer_slices(&mut s, req, page(0..20, None, true));
    for _ in 0..3 {
        update(&mut s, key('j'));
    }
    let sel = selected_id(&s);
    // A minute later the poll asks for [newest seen start, now].
    let later = now() + chrono::Duration::minutes(1);
    update(&mut s, Msg::Tick(later));
    let fx = update(&mut s, Msg::PollDue);
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Io(IoEffect::After { msg, .. }) if matches!(**msg, Msg::PollDue))),
        "the next poll is scheduled"
    );
    let (req, q) = poll_queries(&fx).pop().expect("a poll request");
    assert_eq!(q.start_time, conv(0, true).started_at);
    assert_eq!(q.end_time, Some(later + chrono::Duration::seconds(1)));
    assert_eq!(q.client_env.as_deref(), Some("live"));
    // Only one poll at a time.
    assert!(poll_queries(&update(&mut s, Msg::PollDue)).is_empty());
    // Ascending answer over two pages: the newest ends up on top; the known row is skipped.
    let (a, mut b) = (fresh(1), fresh(2));
    b.started_at = Some(now() + chrono::Duration::seconds(30));
    let p1 = ConversationPage {
        conversations: vec![conv(0, true), a.clone()],
        cursor: Some("p2".into()),
        next_offset: None,
        skipped: 0,
        total: None,
    };
    let fx = update(&mut s, Msg::PollPage { req, result: Ok(p1) });
    let (req, q2) = poll_queries(&fx).pop().expect("the poll walks its cursor");
    assert_eq!(q2.cursor.as_deref(), Some("p2"));
    let p2 = ConversationPage {
        conversations: vec![b.clone()],
        cursor: None,
        next_offset: None,
        skipped: 0,
        total: None,
    };
    update(&mut s, Msg::PollPage { req, result: Ok(p2) });
    assert_eq!(s.list.paging.rows[0].id.as_ref(), b.id);
    assert_eq!(s.list.paging.rows[1].id.as_ref(), a.id);
    assert_eq!(s.list.paging.len(), 22);
    assert_eq!(s.live.new_count, 2);
    assert_eq!(selected_id(&s), sel);
    // The next poll starts at the newest call seen.
    let fx = update(&mut s, Msg::PollDue);
    assert_eq!(poll_queries(&fx)[0].1.start_time, b.started_at);
}
