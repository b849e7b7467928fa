//! Drives `update` headlessly with scripted messages: keys, pages out of order and duplicated,
//! stale detail answers, and the one-page-in-flight rule.

use crate::support::tui as tui_support;

use callscope::api::{ErrorKind, HostFamily};
use callscope::app::state::{ChannelFilter, Connection, Overlay};
use callscope::app::{Effect, IoEffect, KeyMap, Msg, Pane, TerminalEffect, start, update};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use tui_support::*;

fn page_queries(fx: &[Effect]) -> Vec<(u64, callscope::api::ListQuery)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Io(IoEffect::FetchPage { req, query, .. }) => Some((*req, query.clone())),
            _ => None,
        })
        .collect()
}

fn ids(s: &callscope::app::State) -> Vec<String> {
    s.list.paging.rows.iter().map(|r| r.id.to_string()).collect()
}

#[test]
fn first_request_uses_the_window_env_limit_and_latency() {
    let mut s = oldest_first_state(120, 40);
    let fx = start(&mut s);
    let q = page_queries(&fx);
    assert_eq!(q.len(), 1);
    let query = &q[0].1;
    assert_eq!(query.limit, Some(100));
    assert!(query.include_latency);
    assert_eq!(query.client_env.as_deref(), Some("live"));
    assert_eq!(query.end_time, Some(now()));
    assert_eq!(query.start_time, Some(now() - chrono::Duration::hours(24)));
    assert_eq!(query.cursor, None);
    assert!(query.channels.is_empty());
}

#[test]
fn at_most_one_page_in_flight_and_next_page_near_the_end() {
    let mut s = oldest_first_state(120, 40);
    let fx = started_with(&mut s, page(0..100, Some("cur-1"), true));
    assert!(page_reqs(&fx).is_empty(), "first screen is far from the end");
    // Jump to the last row: one request, with the cursor.
    let fx = update(&mut s, key('G'));
    let q = page_queries(&fx);
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].1.cursor.as_deref(), Some("cur-1"));
    let in_flight = q[0].0;
    // More movement while it is in flight asks for nothing.
    for m in [key('k'), key('j'), key('G'), code(KeyCode::PageDown)] {
        assert!(page_reqs(&update(&mut s, m)).is_empty());
    }
    // Its answer arrives twice: the duplicate is ignored.
    let p2 = page(100..200, Some("cur-2"), true);
    update(
        &mut s,
        Msg::Page {
            req: in_flight,
            result: Ok(p2.clone()),
        },
    );
    assert_eq!(s.list.paging.len(), 200);
    update(
        &mut s,
        Msg::Page {
            req: in_flight,
            result: Ok(p2),
        },
    );
    assert_eq!(s.list.paging.len(), 200);
}

#[test]
fn selection_within_a_screen_of_the_end_requests_the_next_page() {
    let mut s = oldest_first_state(120, 40);
    started_with(&mut s, page(0..100, Some("c"), true));
    let screen = s.panes().list_rows();
    let mut requested_at = None;
    for i in 1..100 {
        if !page_reqs(&update(&mut s, key('j'))).is_empty() {
            requested_at = Some(i);
            break;
        }
    }
    assert_eq!(requested_at, Some(100 - screen));
}

#[test]
fn duplicate_ids_across_pages_are_dropped() {
    let mut s = oldest_first_state(120, 40);
    started_with(&mut s, page(0..100, Some("c"), true));
    let req = page_reqs(&update(&mut s, key('G')))[0];
    // The server repeats the last 10 rows (new calls shifted the window).
    update(
        &mut s,
        Msg::Page {
            req,
            result: Ok(page(90..150, None, true)),
        },
    );
    assert_eq!(s.list.paging.len(), 150);
    let all = ids(&s);
    let mut dedup = all.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(dedup.len(), all.len());
    assert!(s.list.paging.end);
    // At the end nothing more is requested.
    assert!(page_reqs(&update(&mut s, key('G'))).is_empty());
}

#[test]
fn pages_of_an_older_query_are_dropped_even_out_of_order() {
    let mut s = oldest_first_state(120, 40);
    started_with(&mut s, page(0..100, Some("c"), true));
    let old = page_reqs(&update(&mut s, key('G')))[0];
    // Reload (different env) while page 2 of the old query is in flight.
    let fx = update(&mut s, key('e'));
    let q = page_queries(&fx);
    assert_eq!(q.len(), 1, "reload issues its own first page at once");
    let (new, query) = q[0].clone();
    assert_eq!(query.client_env.as_deref(), Some("sandbox"));
    assert_eq!(query.cursor, None);
    // The new first page arrives first, then the stale old page 2.
    update(
        &mut s,
        Msg::Page {
            req: new,
            result: Ok(page(500..510, None, true)),
        },
    );
    update(
        &mut s,
        Msg::Page {
            req: old,
            result: Ok(page(100..200, None, true)),
        },
    );
    assert_eq!(s.list.paging.len(), 10);
    assert!(ids(&s)[0].starts_with("CA01f4"));
}

#[test]
fn fast_moves_fetch_only_the_resting_row_and_stale_answers_are_dropped() {
    let mut s = state(120, 40);
    let fx = started_with(&mut s, page(0..50, None, false));
    let mut dues = detail_due(&fx);
    for _ in 0..5 {
        dues.extend(detail_due(&update(&mut s, key('j'))));
    }
    assert_eq!(dues.len(), 6, "one debounce timer per move, nothing fetched yet");
    let mut fetches = Vec::new();
    for d in dues {
        for e in update(&mut s, d) {
            if let Effect::Io(IoEffect::FetchConversation { req, id }) = e {
                fetches.push((req, id));
            }
        }
    }
    assert_eq!(fetches.len(), 1, "only the last timer fetches");
    let (req, id) = fetches.pop().unwrap();
    assert_eq!(id, conv(5, false).id);
    // The user moves on before the answer comes back: it is dropped.
    let fx = update(&mut s, key('j'));
    update(
        &mut s,
        Msg::Conversation {
            req,
            result: Ok(conv(5, true)),
        },
    );
    assert!(s.detail.view.is_none());
    assert!(s.detail.cache.get(&id).is_none());
    // The current row's answer is used.
    let due = detail_due(&fx).pop().unwrap();
    let (req, id) = match update(&mut s, due).pop() {
        Some(Effect::Io(IoEffect::FetchConversation { req, id })) => (req, id),
        other => panic!("expected a fetch, got {other:?}"),
    };
    assert_eq!(id, conv(6, false).id);
    update(
        &mut s,
        Msg::Conversation {
            req,
            result: Ok(conv(6, true)),
        },
    );
    assert_eq!(s.detail.view.as_ref().map(|v| v.id.clone()), Some(id));
}

#[test]
fn rows_with_turns_in_the_list_need_no_fetch() {
    let mut s = state(120, 40);
    let fx = started_with(&mut s, page(0..50, None, true));
    assert!(detail_due(&fx).is_empty());
    assert!(s.detail.view.is_some());
    let fx = update(&mut s, key('j'));
    assert!(detail_due(&fx).is_empty());
    assert_eq!(s.detail.view.as_ref().unwrap().id, conv(1, true).id);
}

#[test]
fn transient_page_errors_retry_automatically_and_recover() {
    let mut s = state(120, 40);
    let fx = start(&mut s);
    let req = page_reqs(&fx)[0];
    let offline = callscope::api::ApiError::transport(
        ErrorKind::Network,
        "connection refused",
        HostFamily::Runtime,
        "127.0.0.1:9",
    );
    let fx = update(
        &mut s,
        Msg::Page {
            req,
            result: Err(offline),
        },
    );
    assert_eq!(s.connection, Connection::Offline);
    assert!(
        s.status
            .error
            .as_deref()
            .unwrap()
            .starts_with("network error — Cannot reach")
    );
    let retry = fx
        .iter()
        .find_map(|e| match e {
            Effect::Io(IoEffect::After { msg, .. }) if matches!(**msg, Msg::RetryPage { .. }) => Some((**msg).clone()),
            _ => None,
        })
        .expect("an automatic retry is scheduled");
    // Nothing is requested while the page is failed…
    assert!(page_reqs(&update(&mut s, key('G'))).is_empty());
    // …until the timer fires.
    let req = page_reqs(&update(&mut s, retry.clone()))[0];
    update(
        &mut s,
        Msg::Page {
            req,
            result: Ok(page(0..10, None, true)),
        },
    );
    assert_eq!(s.connection, Connection::Connected);
    assert!(s.status.error.is_none());
    assert_eq!(s.list.paging.len(), 10);
    // A timer from before is harmless.
    assert!(page_reqs(&update(&mut s, retry)).is_empty());
}

#[test]
fn auth_errors_wait_for_reload() {
    let mut s = state(120, 40);
    let req = page_reqs(&start(&mut s))[0];
    let fx = update(
        &mut s,
        Msg::Page {
            req,
            result: Err(api_error(401, "{}", "h")),
        },
    );
    assert!(fx.is_empty(), "no automatic retry for a 401");
    assert!(s.status.error.as_deref().unwrap().starts_with("401 Unauthorized"));
    let fx = update(&mut s, key('r'));
    assert_eq!(page_reqs(&fx).len(), 1);
    assert!(s.status.error.is_none());
}

#[test]
fn window_channel_and_env_change_the_query() {
    let mut s = oldest_first_state(120, 40);
    started_with(&mut s, page(0..5, None, true));
    let fx = update(&mut s, key('c'));
    assert_eq!(s.channel, ChannelFilter::Voice);
    assert_eq!(page_queries(&fx)[0].1.channels, vec!["VOICE-SIP"]);
    update(&mut s, key('w'));
    assert!(matches!(s.overlay, Overlay::WindowPicker { sel: 1 }));
    let fx = update(&mut s, key('3'));
    assert_eq!(s.overlay, Overlay::None);
    let q = &page_queries(&fx)[0].1;
    assert_eq!(q.start_time, Some(now() - chrono::Duration::days(7)));
    // Custom: w, 5, type, enter. A bad value keeps the input open with a hint.
    update(&mut s, key('w'));
    update(&mut s, key('5'));
    assert!(s.input.is_some());
    for c in "6x".chars() {
        update(&mut s, key(c));
    }
    assert!(page_reqs(&update(&mut s, code(KeyCode::Enter))).is_empty());
    assert!(s.status.note.as_deref().unwrap().contains("e.g. 90m"));
    update(&mut s, code(KeyCode::Backspace));
    update(&mut s, key('h'));
    let fx = update(&mut s, code(KeyCode::Enter));
    assert_eq!(
        page_queries(&fx)[0].1.start_time,
        Some(now() - chrono::Duration::hours(6))
    );
    assert_eq!(s.window.label(s.tz), "last 6h");
    // The clock moves only by messages.
    let later = now() + chrono::Duration::hours(1);
    update(&mut s, Msg::Tick(later));
    let fx = update(&mut s, key('r'));
    assert_eq!(page_queries(&fx)[0].1.end_time, Some(later));
}

/// `w` → custom… takes what `export --start/--end` take: absolute ranges, today, yesterday.
#[test]
fn custom_window_takes_absolute_ranges_like_export() {
    use chrono::TimeZone;
    let utc = |h, m| chrono::Utc.with_ymd_and_hms(2026, 11, 27, h, m, 0).unwrap();
    let mut s = oldest_first_state(120, 40);
    started_with(&mut s, page(0..5, None, true));
    let custom = |s: &mut callscope::app::State, text: &str| {
        update(s, key('w'));
        update(s, key('5'));
        for c in text.chars() {
            update(s, key(c));
        }
        update(s, code(KeyCode::Enter))
    };
    let fx = custom(&mut s, "2026-11-27T09:00Z..2026-11-27T10:30Z");
    let queries = page_queries(&fx);
    let q = &queries.first().expect("the range is loaded").1;
    assert_eq!((q.start_time, q.end_time), (Some(utc(9, 0)), Some(utc(10, 30))));
    assert_eq!(
        s.window.label(s.tz),
        "11-27 10:00 → 11-27 11:30",
        "shown in local time (UTC+1)"
    );
    // The same ends through the CLI's window parser (`export --start`).
    assert_eq!(
        callscope::cli::window::parse_instant("2026-11-27T09:00Z"),
        Ok(utc(9, 0))
    );
    // yesterday and today are local days (UTC+1), today up to now.
    let fx = custom(&mut s, "yesterday");
    let q = &page_queries(&fx)[0].1;
    let local_midnight = |d| chrono::Utc.with_ymd_and_hms(2026, 11, d, 23, 0, 0).unwrap();
    assert_eq!(
        (q.start_time, q.end_time),
        (Some(local_midnight(26)), Some(local_midnight(27)))
    );
    let fx = custom(&mut s, "today");
    let q = &page_queries(&fx)[0].1;
    assert_eq!((q.start_time, q.end_time), (Some(local_midnight(27)), Some(now())));
    // A backwards range keeps the input open and says why.
    assert!(page_reqs(&custom(&mut s, "today..yesterday")).is_empty());
    assert!(
        s.status.note.as_deref().unwrap().contains("empty"),
        "{:?}",
        s.status.note
    );
}

#[test]
fn filter_and_search() {
    let mut s = state(120, 40);
    started_with(&mut s, page(0..30, None, true));
    apply_filter(&mut s, "handoff", page(0..30, None, true));
    assert!(s.input.is_none());
    assert_eq!(s.filter.handoff, Some(true));
    assert_eq!(s.list.visible_len(), 10);
    assert!(s.list.selected().unwrap().handoff_reason.contains("billing"));
    assert!(render(&s).lines().next().unwrap().contains("filter: handoff"));
    // A bad filter word is explained and the input stays open.
    update(&mut s, key(':'));
    update(&mut s, key('x'));
    update(&mut s, code(KeyCode::Enter));
    assert!(s.input.is_some());
    assert!(
        s.status.note.as_deref().unwrap().contains("\"handoffx\""),
        "{:?}",
        s.status.note
    );
    update(&mut s, code(KeyCode::Esc));
    // Clearing the filter asks for the whole list again, without a filter.
    update(&mut s, key(':'));
    for _ in 0.."handoff".len() {
        update(&mut s, code(KeyCode::Backspace));
    }
    let fx = update(&mut s, code(KeyCode::Enter));
    assert!(s.filter.is_empty());
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Io(IoEffect::FetchPage { filter: None, .. })))
    );
    answer_slices(&mut s, page_reqs(&fx)[0], page(0..30, None, true));
    assert_eq!(s.list.visible_len(), 30);
    // Search in the transcript with n/N.
    update(&mut s, code(KeyCode::Tab));
    assert_eq!(s.focus, Pane::Detail);
    update(&mut s, key('/'));
    for c in "AGENT".chars() {
        update(&mut s, key(c));
    }
    update(&mut s, code(KeyCode::Enter));
    let n = s.detail.matches.len();
    assert!(n >= 3, "{n}");
    assert_eq!(s.detail.match_idx, 0);
    update(&mut s, key('n'));
    assert_eq!(s.detail.match_idx, 1);
    update(&mut s, key('N'));
    update(&mut s, key('N'));
    assert_eq!(s.detail.match_idx, n - 1);
}

#[test]
fn list_search_asks_the_server_and_n_crosses_conversations() {
    let mut s = state(120, 40);
    started_with(&mut s, page(0..30, None, true));
    update(&mut s, key('/'));
    for c in "agent: transfer billing".chars() {
        update(&mut s, key(c));
    }
    // Without a local store nothing is searched until Enter.
    assert!(s.search.is_none());
    let fx = update(&mut s, code(KeyCode::Enter));
    let q = page_queries(&fx);
    let search = q[0].1.search.clone().expect("query_type=transcript");
    assert_eq!(search.query, "transfer billing");
    assert_eq!(search.turn_type.as_deref(), Some("agent"));
    // The server's answer: the conversations whose agent said it.
    let mut hits = page(0..30, None, true);
    hits.conversations.retain(|c| {
        c.turns
            .iter()
            .any(|t| t.agent_response.to_lowercase().contains("transfer you to billing"))
    });
    let n_hits = hits.conversations.len();
    assert!(n_hits >= 3, "{n_hits}");
    answer_slices(&mut s, q[0].0, hits);
    assert_eq!(s.list.visible_len(), n_hits);
    assert!(render(&s).contains("“agent: transfer billing”"), "{}", render(&s));
    // The words are highlighted in the transcript; n past the last hit opens the next result.
    update(&mut s, code(KeyCode::Tab));
    let first = s.list.selected().unwrap().id.clone();
    let in_first = s.detail.matches.len();
    assert!(in_first >= 1);
    for _ in 0..in_first {
        update(&mut s, key('n'));
    }
    assert_ne!(s.list.selected().unwrap().id, first, "n moved on to the next result");
    assert_eq!(s.detail.match_idx, 0);
    assert!(!s.detail.matches.is_empty());
    update(&mut s, key('N'));
    assert_eq!(
        s.list.selected().unwrap().id,
        first,
        "N goes back to the last hit of the previous one"
    );
    assert_eq!(s.detail.match_idx, in_first - 1);
    // Esc in the list leaves the search and reloads the whole list.
    update(&mut s, code(KeyCode::Tab));
    let fx = update(&mut s, code(KeyCode::Esc));
    assert!(s.search.is_none());
    assert!(page_queries(&fx)[0].1.search.is_none());
}

#[test]
fn detail_scrolls_independently_of_the_list() {
    let mut s = state(80, 24);
    started_with(&mut s, page(0..30, None, true));
    update(&mut s, code(KeyCode::Tab));
    update(&mut s, key('j'));
    update(&mut s, key('j'));
    assert_eq!(s.detail.scroll, 2);
    assert_eq!(s.list.sel, 0);
    update(&mut s, key('G'));
    // The bottom: the pane filled, or further until the last turn is at the top.
    let view = s.detail.view.as_ref().unwrap();
    let fill = view.lines.len().saturating_sub(s.panes().detail_rows());
    let max = fill.max(*view.turn_starts.last().unwrap());
    assert_eq!(s.detail.scroll, max);
    update(
        &mut s,
        Msg::Key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)),
    );
    assert!(s.detail.scroll < max);
    update(&mut s, code(KeyCode::Tab));
    update(&mut s, key('j'));
    assert_eq!(s.list.sel, 1);
    assert_eq!(s.detail.scroll, 0, "a new conversation starts at the top");
}

#[test]
fn copy_quit_suspend_and_mouse() {
    let mut s = state(120, 40);
    started_with(&mut s, page(0..30, None, true));
    let fx = update(&mut s, key('y'));
    assert!(matches!(&fx[..], [Effect::Terminal(TerminalEffect::Copy(id))] if *id == conv(0, true).id));
    let fx = update(&mut s, key('Y'));
    assert!(matches!(&fx[..], [Effect::Terminal(TerminalEffect::Copy(t))] if t.contains("AGENT: Hi, thanks")));
    let click = |row| {
        Msg::Mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column: 5,
            row,
            modifiers: KeyModifiers::NONE,
        })
    };
    update(&mut s, click(5));
    assert_eq!(s.list.sel, 0, "mouse capture is off by default");
    let fx = update(&mut s, key('m'));
    assert!(matches!(
        &fx[..],
        [Effect::Terminal(TerminalEffect::SetMouseCapture(true))]
    ));
    update(&mut s, click(5));
    assert_eq!(s.list.sel, 3, "header + border + rows 0..=3");
    let fx = update(
        &mut s,
        Msg::Key(KeyEvent::new(KeyCode::Char('z'), KeyModifiers::CONTROL)),
    );
    assert!(matches!(&fx[..], [Effect::Terminal(TerminalEffect::Suspend)]));
    let fx = update(&mut s, key('q'));
    assert!(matches!(&fx[..], [Effect::Terminal(TerminalEffect::Quit)]));
    assert!(s.quit);
}

#[test]
fn remapped_keys_drive_update() {
    let mut s = state(120, 40);
    s.keymap = KeyMap::from_config(&toml::from_str("down = \"ctrl-n\"\nquit = \"x\"").unwrap()).unwrap();
    started_with(&mut s, page(0..30, None, true));
    update(&mut s, key('j'));
    assert_eq!(s.list.sel, 0);
    update(
        &mut s,
        Msg::Key(KeyEvent::new(KeyCode::Char('n'), KeyModifiers::CONTROL)),
    );
    assert_eq!(s.list.sel, 1);
    assert!(update(&mut s, key('q')).is_empty());
    assert!(matches!(
        &update(&mut s, key('x'))[..],
        [Effect::Terminal(TerminalEffect::Quit)]
    ));
}

#[test]
fn resize_relayouts_the_transcript() {
    let mut s = state(120, 40);
    started_with(&mut s, page(0..30, None, true));
    let wide = s.detail.view.as_ref().unwrap().lines.len();
    update(&mut s, Msg::Resize(60, 20));
    let v = s.detail.view.as_ref().unwrap();
    assert_eq!(v.cols, s.panes().detail_cols());
    assert!(v.lines.len() > wide);
}

/// The stand-in's own answer to a mistyped project id, as the TUI gets it: the status line
/// carries the server's words and the diagnosis, and the header stops saying "connected".
#[test]
fn a_wrong_project_shows_the_servers_words_and_the_header_says_refused() {
    use callscope::standin::{self, StandinOptions};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let e = rt.block_on(async {
        let s = standin::start(StandinOptions::default()).await.unwrap();
        let cfg = callscope::config::Config::resolve_with_file(
            &callscope::config::ConnectionArgs {
                base_url: Some(s.runtime_url.clone()),
                platform_url: Some(s.platform_url.clone()),
                account_id: Some(s.account_id.clone()),
                project_id: Some("PROJECT-dmeo".into()),
                ..Default::default()
            },
            &|k| (k == "POLYAI_API_KEY").then(|| s.api_key.clone()),
            Default::default(),
        )
        .unwrap();
        let client = callscope::api::Client::new(&cfg).unwrap();
        client
            .list_page(&callscope::api::ListQuery::default())
            .await
            .unwrap_err()
    });
    let mut s = state(160, 40);
    let req = page_reqs(&start(&mut s))[0];
    update(&mut s, Msg::Page { req, result: Err(e) });
    let shown = s.status.error.clone().unwrap();
    assert!(
        shown.starts_with(r#"404 Not Found: Project "PROJECT-dmeo" does not exist in account "ws-demo" — "#),
        "{shown}"
    );
    assert!(shown.contains("project id or the account id is wrong"), "{shown}");
    assert_eq!(s.connection, Connection::Refused);
    let screen = render(&s);
    let header = screen.lines().next().unwrap();
    assert!(
        header.contains("✕ refused") && !header.contains("connected"),
        "{header}"
    );
    // The next good answer says connected again.
    let req = page_reqs(&update(&mut s, key('r')))[0];
    update(
        &mut s,
        Msg::Page {
            req,
            result: Ok(page(0..3, None, true)),
        },
    );
    assert_eq!(s.connection, Connection::Connected);
}

#[test]
fn server_failures_and_missing_calls_are_told_apart_in_the_header() {
    let mut s = state(160, 40);
    let req = page_reqs(&start(&mut s))[0];
    let failing = api_error(503, r#"{"error_message":"down"}"#, "h");
    update(
        &mut s,
        Msg::Page {
            req,
            result: Err(failing),
        },
    );
    assert_eq!(s.connection, Connection::Failing);
    assert!(render(&s).lines().next().unwrap().contains("✕ server failing"));
    // An answer about one missing call says nothing against the connection.
    let mut s = state(160, 40);
    let req = page_reqs(&start(&mut s))[0];
    let gone = api_error(
        404,
        r#"{"error_code":"CONVERSATIONS_NOT_FOUND","error_message":"no"}"#,
        "h",
    );
    update(&mut s, Msg::Page { req, result: Err(gone) });
    assert_eq!(s.connection, Connection::Connected);
}

#[test]
fn each_message_says_whether_the_screen_may_change() {
    // The event loop draws only on `redraw`: the clock and a poll's request alone do not; a due
    // transcript does (left out once, the first transcript stayed "loading…" on a restart with a
    // cache), and so does an answer.
    let mut s = state(120, 40);
    let fx = start(&mut s);
    assert!(!fx.is_empty());
    assert!(!callscope::app::step(&mut s, Msg::Tick(chrono::Utc::now())).redraw);
    assert!(!callscope::app::step(&mut s, Msg::PollDue).redraw);
    assert!(callscope::app::step(&mut s, Msg::DetailDue { req: 1 }).redraw);
    assert!(callscope::app::step(&mut s, Msg::Resize(100, 30)).redraw);
}
