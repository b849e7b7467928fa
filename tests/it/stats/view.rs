//! Snapshots of the stats view at 80×24 and 200×50 in the dark and light themes, over fixture
//! calls cached in a real store. Each snapshot is the screen's text followed by the colours its
//! cells use, so the two themes are told apart (and a colour the theme lacks would show).

use crate::support::tui as tui_support;

use std::collections::BTreeMap;

use callscope::app::{Effect, IoEffect, State, update};
use callscope::domain::{Filter, ReviewStatus, Scope};
use callscope::stats::{SplitBy, StatsRequest};
use callscope::store::Store;
use callscope::tui::store_worker::handle;
use callscope::ui::Theme;
use callscope::ui::theme::Mode;
use crossterm::event::KeyCode;
use insta::assert_snapshot;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// Fixture calls of the last 24 h with several handoff reasons, variants, topics and scores.
fn store(dir: &std::path::Path) -> Store {
    let mut store = Store::open(&dir.join("v.db")).unwrap();
    let reasons = [
        "billing_question",
        "billing_question",
        "angry_caller",
        "\u{1b}[31mred\u{1b}[0m reason",
    ];
    let convs: Vec<_> = (0..190)
        .map(|i| {
            let mut c = tui_support::conv(i, i % 5 != 4);
            c.handoff_reason = if c.handoff {
                reasons[i % reasons.len()].into()
            } else {
                String::new()
            };
            c.variant_id = if i.is_multiple_of(2) { "variant-a" } else { "variant-b" }.into();
            c.poly_score = (i % 3 != 0).then_some(1.0 + (i % 5) as f64);
            for t in &mut c.turns {
                t.retrieved_topics = vec![["Opening hours", "Refund policy", "Parking"][i % 3].into()];
            }
            c
        })
        .collect();
    let origin = tui_support::origin();
    store.cache(&origin, &convs).unwrap();
    for (i, c) in convs.iter().enumerate().step_by(9) {
        store.set_reviewer(if i % 2 == 0 { "ann" } else { "bob" });
        store
            .set_status(&origin.key(c.id.as_str()), ReviewStatus::Reviewed)
            .unwrap();
    }
    // Every third call (both variants) scored with the built-in form, by ann or bob.
    let card = callscope::domain::scorecard::all(&toml::Table::new())
        .unwrap()
        .remove(0);
    for (i, c) in convs.iter().enumerate().step_by(3) {
        let k = i / 3;
        let words = [
            format!("greeting={}", ["yes", "no", "yes", "na"][k % 4]),
            format!("identification={}", if k % 5 == 0 { "no" } else { "yes" }),
            format!("understood_request={}", 1 + k % 5),
            format!("correct_information={}", if k % 9 == 0 { "no" } else { "yes" }),
            format!("resolution={}", ["resolved", "partly", "not_resolved"][k % 3]),
        ];
        let answers = card.parse_answers(words.iter().map(String::as_str)).unwrap();
        let who = if k % 3 == 0 { "bob" } else { "ann" };
        let (record, _) = callscope::domain::ScoreRecord::of(&card, who, 1_000, &answers, &Default::default());
        store.save_score(&origin.key(c.id.as_str()), &record).unwrap();
    }
    store
}

/// `store`, as if a walk of the API had covered every time: opening fetches nothing.
fn walked_store(dir: &std::path::Path) -> Store {
    let store = store(dir);
    let mut walk = StatsRequest::new(0, 1, 0, SplitBy::None);
    walk.record_walk = Some((0, i64::MAX));
    store
        .stats(
            &Scope::env("ws-demo", "PROJECT-demo", "live"),
            &Filter::default(),
            &walk,
        )
        .unwrap();
    store
}

fn opened(w: u16, h: u16, store: &mut Store) -> State {
    let mut s = tui_support::state(w, h);
    s.cache_first = true;
    let fx = callscope::app::start(&mut s);
    tui_support::run_store(&mut s, store, fx);
    let fx = update(&mut s, tui_support::key('%'));
    tui_support::run_store(&mut s, store, fx);
    s
}

fn shot(s: &State, mode: Mode) -> String {
    let theme = Theme::for_mode(mode);
    let mut term = Terminal::new(TestBackend::new(s.width, s.height)).unwrap();
    term.draw(|f| callscope::ui::draw(f, s, &theme)).unwrap();
    let buf = term.backend().buffer();
    let mut colours: BTreeMap<String, usize> = BTreeMap::new();
    for cell in buf.content() {
        if cell.fg != ratatui::style::Color::Reset {
            *colours.entry(format!("{:?}", cell.fg)).or_default() += 1;
        }
    }
    let mut out = callscope::ui::buffer_text(buf);
    out.push_str("--- foreground colours (cells)\n");
    for (c, n) in colours {
        out.push_str(&format!("{c}: {n}\n"));
    }
    out
}

#[test]
fn stats_view_80x24_and_200x50_dark_and_light() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = walked_store(dir.path());
    for (w, h) in [(80, 24), (200, 50)] {
        let s = opened(w, h, &mut store);
        assert!(s.stats.open && s.stats.stats.is_some());
        assert_snapshot!(format!("stats_calls_{w}x{h}_dark"), shot(&s, Mode::Dark));
        assert_snapshot!(format!("stats_calls_{w}x{h}_light"), shot(&s, Mode::Light));
    }
}

#[test]
fn qa_tab_80x24_and_200x50_dark_and_light() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = walked_store(dir.path());
    for (w, h) in [(80, 24), (200, 50)] {
        let mut s = opened(w, h, &mut store);
        while s.stats.chart != callscope::app::stats::Chart::Qa {
            update(&mut s, tui_support::code(KeyCode::Tab));
        }
        // A question row selected: the second yes-no question, after the ten buckets.
        for _ in 0..11 {
            update(&mut s, tui_support::key('j'));
        }
        let screen = tui_support::render(&s);
        assert!(screen.contains("identification"), "{screen}");
        assert_snapshot!(format!("stats_qa_{w}x{h}_dark"), shot(&s, Mode::Dark));
        assert_snapshot!(format!("stats_qa_{w}x{h}_light"), shot(&s, Mode::Light));
    }
}

#[test]
fn each_chart_at_80x24() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = walked_store(dir.path());
    let mut s = opened(80, 24, &mut store);
    for name in ["handoffs", "latency", "intents", "topics"] {
        update(&mut s, tui_support::code(KeyCode::Tab));
        if name == "latency" {
            // The 1.0–1.5 s bin.
            update(&mut s, tui_support::key('j'));
            update(&mut s, tui_support::key('j'));
        }
        assert_snapshot!(format!("stats_{name}_80x24"), tui_support::render(&s));
    }
    update(&mut s, tui_support::code(KeyCode::Tab));
    assert_snapshot!("stats_qa_80x24", tui_support::render(&s));
    update(&mut s, tui_support::code(KeyCode::Tab));
    let fx = update(&mut s, tui_support::key('V'));
    tui_support::run_store(&mut s, &mut store, fx);
    assert_snapshot!("stats_review_split_80x24", tui_support::render(&s));
    let screen = tui_support::render(&s);
    assert!(!screen.contains('\u{1b}'), "reason text is sanitized");
}

#[test]
fn enter_on_a_latency_bin_lists_the_calls_with_a_turn_in_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = walked_store(dir.path());
    let mut s = opened(120, 40, &mut store);
    update(&mut s, tui_support::code(KeyCode::Tab));
    update(&mut s, tui_support::code(KeyCode::Tab));
    update(&mut s, tui_support::key('j'));
    update(&mut s, tui_support::key('j'));
    let fx = update(&mut s, tui_support::code(KeyCode::Enter));
    assert_eq!(s.filter.turn_latency, Some((1.0, Some(1.5))));
    tui_support::run_store(&mut s, &mut store, fx);
    // The fixture's latencies are 0.42, 1.35 and 2.8 s: a call is listed iff a turn took 1.35 s.
    let want: Vec<String> = (0..190)
        .map(|i| tui_support::conv(i, i % 5 != 4))
        .filter(|c| c.turns.iter().any(|t| t.latency == Some(1.35)))
        .map(|c| c.id)
        .take(s.list.visible_len().max(1))
        .collect();
    let listed: Vec<String> = (0..s.list.visible_len())
        .map(|i| s.list.row_at(i).unwrap().id.to_string())
        .collect();
    assert!(!listed.is_empty());
    assert_eq!(listed, want);
}

#[test]
fn ctrl_r_walks_the_window_into_the_cache_and_esc_cancels() {
    use callscope::app::Msg;
    use crossterm::event::{KeyEvent, KeyModifiers};
    let dir = tempfile::tempdir().unwrap();
    let mut store = walked_store(dir.path());
    let mut s = opened(80, 24, &mut store);
    let ctrl_r = Msg::Key(KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL));
    let fx = update(&mut s, ctrl_r.clone());
    let req = fx
        .iter()
        .find_map(|e| match e {
            Effect::Io(IoEffect::FetchPoll { req, query }) => {
                assert_eq!(query.limit, Some(1000));
                Some(*req)
            }
            _ => None,
        })
        .expect("ctrl-r asks for the window's first page");
    // A page with more to come: cached, and the next page asked for.
    let mut page = tui_support::page(190..250, Some("next-1"), true);
    page.conversations.truncate(60);
    let fx = update(&mut s, Msg::PollPage { req, result: Ok(page) });
    assert!(fx.iter().any(|e| matches!(e, Effect::Io(IoEffect::Store(callscope::app::review::StoreRequest::Cache { conversations, .. })) if conversations.len() == 60)));
    let next = fx
        .iter()
        .find_map(|e| match e {
            Effect::Io(IoEffect::FetchPoll { req, query }) if query.cursor.as_deref() == Some("next-1") => Some(*req),
            _ => None,
        })
        .expect("the next page");
    let f = s.stats.fetch.as_ref().unwrap();
    assert_eq!((f.pages, f.calls), (1, 60));
    assert!(f.progress() > 0.0 && f.progress() <= 1.0);
    let screen = tui_support::render(&s);
    assert!(
        screen.contains("fetching the window: page 2 · 60 calls · esc cancels"),
        "{screen}"
    );
    // esc cancels: the figures are asked for again, and the late page is not taken.
    let fx = update(&mut s, tui_support::code(KeyCode::Esc));
    assert!(s.stats.open && s.stats.fetch.is_none());
    assert!(fx.iter().any(|e| matches!(
        e,
        Effect::Io(IoEffect::Store(callscope::app::review::StoreRequest::Stats { .. }))
    )));
    let late = update(
        &mut s,
        Msg::PollPage {
            req: next,
            result: Ok(tui_support::page(250..260, None, true)),
        },
    );
    assert!(!late.iter().any(|e| matches!(
        e,
        Effect::Io(IoEffect::Store(callscope::app::review::StoreRequest::Cache { .. }))
    )));
}

/// The first `FetchPoll` of `fx`: its request id and the query's `[start, end)` in unix ms.
fn first_poll(fx: &[Effect]) -> Option<(callscope::app::RequestId, i64, i64)> {
    fx.iter().find_map(|e| match e {
        Effect::Io(IoEffect::FetchPoll { req, query }) => Some((
            *req,
            query.start_time?.timestamp_millis(),
            query.end_time?.timestamp_millis(),
        )),
        _ => None,
    })
}

/// Runs the store requests, answering each API walk page with `page` (then no more).
fn run_with_api(s: &mut State, store: &mut Store, fx: Vec<Effect>, polls: &mut Vec<(i64, i64)>) {
    use callscope::app::Msg;
    let mut queue = fx;
    while !queue.is_empty() {
        let mut next = Vec::new();
        if let Some((req, start, end)) = first_poll(&queue) {
            polls.push((start, end));
            let page = tui_support::page(190..195, None, true);
            next.extend(update(s, Msg::PollPage { req, result: Ok(page) }));
        }
        for e in queue {
            if let Effect::Io(IoEffect::Store(req)) = e
                && let Some(msg) = handle(store, req)
            {
                next.extend(update(s, msg));
            }
        }
        queue = next;
    }
}

#[test]
fn opening_fetches_what_the_cache_lacks_once_and_then_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = store(dir.path());
    let mut s = tui_support::state(100, 30);
    s.cache_first = true;
    let fx = callscope::app::start(&mut s);
    tui_support::run_store(&mut s, &mut store, fx);
    let mut polls = Vec::new();
    let fx = update(&mut s, tui_support::key('%'));
    assert!(first_poll(&fx).is_none(), "the figures come first, from the cache");
    // The figures' answer starts the walk; its progress shows, and esc would cancel it.
    let mut queue = fx;
    let mut fetching_screen = None;
    while !queue.is_empty() && first_poll(&queue).is_none() {
        let mut next = Vec::new();
        for e in queue {
            if let Effect::Io(IoEffect::Store(req)) = e
                && let Some(msg) = handle(&mut store, req)
            {
                next.extend(update(&mut s, msg));
            }
        }
        queue = next;
    }
    if s.stats.fetch.is_some() {
        fetching_screen = Some(tui_support::render(&s));
    }
    let screen = fetching_screen.expect("opening starts a fetch of the uncovered window");
    assert!(screen.contains("fetching the window: page 1"), "{screen}");
    assert!(
        screen.contains("esc cancel fetch"),
        "the hints say how to cancel:\n{screen}"
    );
    let (start, end) = s.window.range(s.now);
    run_with_api(&mut s, &mut store, queue, &mut polls);
    assert_eq!(
        polls,
        [(start.timestamp_millis(), end.timestamp_millis())],
        "the whole window, once"
    );
    assert!(s.stats.fetch.is_none() && s.stats.stats.is_some());
    let got = s.stats.stats.as_ref().unwrap();
    assert!(
        got.uncovered.is_empty(),
        "the completed walk is recorded: {:?}",
        got.uncovered
    );
    // The walk's page reached the cache and the figures.
    assert_eq!(got.calls, 190 + 5);
    // Closing and opening again: nothing is lacking, nothing is fetched.
    update(&mut s, tui_support::code(KeyCode::Esc));
    assert!(!s.stats.open);
    let fx = update(&mut s, tui_support::key('%'));
    run_with_api(&mut s, &mut store, fx, &mut polls);
    assert_eq!(polls.len(), 1, "covered: no second walk");
}

#[test]
fn the_hints_line_shows_the_stats_keys() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = walked_store(dir.path());
    let s = opened(200, 50, &mut store);
    let line = callscope::ui::status::hints(&s, 200);
    for want in [
        "tab chart",
        "j/k bar",
        "enter its calls",
        "V split",
        "ctrl-r fetch window",
        "q close",
    ] {
        assert!(line.contains(want), "{want:?} in {line:?}");
    }
    for list_only in ["search", "filter", "views", "reviewed", "q quit"] {
        assert!(
            !line.contains(list_only),
            "{list_only:?} is the list's, not in {line:?}"
        );
    }
}
