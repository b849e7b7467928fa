//! Newest first: the window walked backwards in time slices, each shown reversed once its
//! cursor ends; Δ adapts; `o` switches to the server's order and drops stale answers.

use crate::support::tui as tui_support;

use callscope::api::ListQuery;
use callscope::app::paging::Order;
use callscope::app::{Effect, IoEffect, Msg, start, update};
use chrono::Duration;
use tui_support::*;

fn queries(fx: &[Effect]) -> Vec<(u64, ListQuery)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Io(IoEffect::FetchPage { req, query, .. }) => Some((*req, query.clone())),
            _ => None,
        })
        .collect()
}

fn one_query(fx: &[Effect]) -> (u64, ListQuery) {
    let q = queries(fx);
    assert_eq!(q.len(), 1, "exactly one page request: {fx:?}");
    q[0].clone()
}

/// Conversations `range` in the server's (ascending) order.
fn ascending(range: std::ops::Range<usize>, cursor: Option<&str>) -> callscope::api::ConversationPage {
    let mut p = page(range, cursor, true);
    p.conversations.reverse();
    p
}

/// Answers page request `req` with `p`.
fn answer(s: &mut callscope::app::State, req: u64, p: callscope::api::ConversationPage) -> Vec<Effect> {
    update(s, Msg::Page { req, result: Ok(p) })
}

fn ids(s: &callscope::app::State) -> Vec<String> {
    s.list.paging.rows.iter().map(|r| r.id.to_string()).collect()
}

#[test]
fn slices_walk_back_in_time_and_show_reversed_only_when_complete() {
    let mut s = state(120, 40);
    let (req, q) = one_query(&start(&mut s));
    assert_eq!(q.end_time, Some(now()));
    assert_eq!(q.start_time, Some(now() - Duration::hours(1)));
    assert_eq!(q.cursor, None);
    // A one-page slice: its rows appear at once, newest first.
    let fx = answer(&mut s, req, ascending(0..3, None));
    let want: Vec<String> = (0..3).map(|i| conv(i, true).id).collect();
    assert_eq!(ids(&s), want);
    assert_eq!(s.list.selected().unwrap().id.as_ref(), conv(0, true).id);
    // 3 rows < half a page: the next slice is twice as long and ends where this one started.
    let (req, q2) = one_query(&fx);
    assert_eq!(q2.end_time, Some(now() - Duration::hours(1)));
    assert_eq!(q2.start_time, Some(now() - Duration::hours(3)));
    assert_eq!(q2.cursor, None);
    // Its first page: held back, the walk continues with the slice's cursor.
    let fx = answer(&mut s, req, ascending(9..12, Some("c1")));
    assert_eq!(ids(&s), want, "a slice shows only when complete");
    let (req, q3) = one_query(&fx);
    assert_eq!((q3.start_time, q3.end_time), (q2.start_time, q2.end_time));
    assert_eq!(q3.cursor.as_deref(), Some("c1"));
    // Its last page: all its rows appear below, newest first.
    let fx = answer(&mut s, req, ascending(3..9, None));
    let want: Vec<String> = (0..12).map(|i| conv(i, true).id).collect();
    assert_eq!(ids(&s), want);
    assert_eq!(s.list.sel, 0, "the selection did not move");
    // The next slice's rows go below again; duplicates are dropped.
    let (req, q4) = one_query(&fx);
    assert_eq!(q4.end_time, Some(now() - Duration::hours(3)));
    answer(&mut s, req, ascending(11..14, None));
    let want: Vec<String> = (0..14).map(|i| conv(i, true).id).collect();
    assert_eq!(ids(&s), want);
}

#[test]
fn a_dense_first_slice_starts_again_shorter_so_the_first_rows_come_soon() {
    let mut s = state(120, 40);
    let (req, _) = one_query(&start(&mut s));
    // The first hour holds more than a page; this one spans 14 minutes (conversations 7 → 5).
    let fx = answer(&mut s, req, ascending(5..8, Some("c1")));
    assert!(s.list.paging.is_empty());
    let (req, q) = one_query(&fx);
    assert_eq!(q.cursor, None, "not the rest of the dense slice…");
    assert_eq!(q.end_time, Some(now()));
    assert_eq!(
        q.start_time,
        Some(now() - Duration::minutes(14)),
        "…but a slice about one page long"
    );
    answer(&mut s, req, ascending(0..2, None));
    let want: Vec<String> = (0..2).map(|i| conv(i, true).id).collect();
    assert_eq!(ids(&s), want);
    // Once rows are on screen, a dense slice is walked to its end as usual.
    assert_eq!(s.list.paging.next_end, Some(now() - Duration::minutes(14)));
}

#[test]
fn slice_length_halves_after_a_dense_slice_and_never_drops_below_a_minute() {
    let mut s = state(120, 40);
    let (req, _) = one_query(&start(&mut s));
    // One call in the first hour: the next slice is two hours.
    let fx = answer(&mut s, req, ascending(0..1, None));
    let (mut req, q) = one_query(&fx);
    assert_eq!(q.start_time, Some(now() - Duration::hours(3)));
    // Four full pages in those two hours.
    for (n, cursor) in [(0, Some("a")), (1, Some("b")), (2, Some("c")), (3, None)] {
        let fx = answer(&mut s, req, ascending(1 + n * 100..1 + n * 100 + 100, cursor));
        if cursor.is_some() {
            req = one_query(&fx).0;
        }
    }
    assert_eq!(s.list.paging.len(), 401);
    assert_eq!(s.list.paging.delta_secs, 3600);
    // Near the end of what is loaded: the next slice is an hour.
    let (_, q) = one_query(&update(&mut s, key('G')));
    assert_eq!(q.end_time, Some(now() - Duration::hours(3)));
    assert_eq!(q.start_time, Some(now() - Duration::hours(4)));
    assert_eq!(callscope::app::paging::adapt_delta(61, 1000, 10, 100), 60);
}

#[test]
fn the_walk_ends_at_the_window_start_with_end_of_results() {
    let mut s = state(120, 40);
    let (mut req, _) = one_query(&start(&mut s));
    let mut starts = Vec::new();
    // Empty slices: Δ doubles each time, clamped at the window start (24 h).
    loop {
        let fx = answer(&mut s, req, page(0..0, None, true));
        match queries(&fx).first() {
            Some((r, q)) => {
                starts.push(now() - q.start_time.unwrap());
                req = *r;
            }
            None => break,
        }
    }
    let hours: Vec<i64> = starts.iter().map(|d| d.num_hours()).collect();
    assert_eq!(hours, [3, 7, 15, 24]);
    assert!(s.list.paging.end);
    assert!(render(&s).contains("0 loaded, all"));
    assert!(queries(&update(&mut s, key('G'))).is_empty());
}

#[test]
fn toggling_the_order_reloads_and_drops_stale_answers() {
    let mut s = state(120, 40);
    let (old, _) = one_query(&start(&mut s));
    assert!(render(&s).contains("· newest first ·"));
    // `o` while the first slice is in flight: oldest first, one cursor walk over the window.
    let fx = update(&mut s, key('o'));
    assert_eq!(s.list.order, Order::OldestFirst);
    let (new, q) = one_query(&fx);
    assert_eq!(q.start_time, Some(now() - Duration::hours(24)));
    assert_eq!(q.end_time, Some(now()));
    // The stale newest-first answer arrives late: dropped.
    answer(&mut s, old, ascending(0..5, None));
    assert!(s.list.paging.is_empty());
    answer(&mut s, new, ascending(0..5, None));
    let want: Vec<String> = (0..5).rev().map(|i| conv(i, true).id).collect();
    assert_eq!(ids(&s), want, "oldest first: the server's order");
    let screen = render(&s);
    assert!(screen.contains("· oldest first ·"), "{screen}");
    // And back: the newest-first walk starts again from the window's end.
    let (_, q) = one_query(&update(&mut s, key('o')));
    assert_eq!(q.start_time, Some(now() - Duration::hours(1)));
    // The key is in the help generated from the keymap.
    update(&mut s, key('?'));
    assert!(render(&s).contains("newest first ⇄ oldest first"));
}
