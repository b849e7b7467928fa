//! Render cost per frame (TestBackend 200×50) with 10³ and 10⁶ loaded rows and with a
//! 2,000-turn transcript (each turn with a function call, ASR details, topics), plus bytes
//! held per loaded row.
//!
//! Run: `cargo bench --bench render`. Targets: ≤ 2 ms per frame at any list size,
//! ≤ 400 bytes per loaded summary row.

use std::time::{Duration, Instant};

use callscope::api::{Conversation, ConversationPage, Turn};
use callscope::app::{Effect, Identity, IoEffect, KeyMap, Msg, State, start, update};
use chrono::{FixedOffset, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const W: u16 = 200;
const H: u16 = 50;

fn key(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

fn new_state() -> State {
    // Oldest first: the plain cursor walk, so rows load page by page as fast as possible.
    let mut s = State::new(
        KeyMap::default(),
        Identity {
            account: "ws-bench".into(),
            project: "PROJECT-bench".into(),
            region: "us".into(),
        },
        "live",
        Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap(),
        FixedOffset::east_opt(0).unwrap(),
        (W, H),
    );
    s.list.order = callscope::app::paging::Order::OldestFirst;
    s
}

fn summary(i: usize) -> Conversation {
    let now = Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap();
    Conversation {
        id: format!("CA{i:032x}"),
        channel: if i % 4 == 3 { "WEBCHAT" } else { "VOICE-SIP" }.into(),
        started_at: Some(now - chrono::Duration::seconds(i as i64)),
        num_turns: Some(5 + (i % 20) as u32),
        total_duration: Some(30 + (i % 600) as u32),
        handoff: i.is_multiple_of(5),
        handoff_reason: if i.is_multiple_of(5) {
            "billing_question".into()
        } else {
            String::new()
        },
        ..Conversation::default()
    }
}

fn page_req(fx: &[Effect]) -> Option<u64> {
    fx.iter().find_map(|e| match e {
        Effect::Io(IoEffect::FetchPage { req, .. }) => Some(*req),
        _ => None,
    })
}

/// Loads `n` rows page by page through `update`, the way the app does.
fn load_rows(s: &mut State, n: usize) {
    const PAGE: usize = 1000;
    let mut fx = start(s);
    let mut loaded = 0;
    while loaded < n {
        let req = page_req(&fx).expect("a page request");
        let end = (loaded + PAGE).min(n);
        let page = ConversationPage {
            conversations: (loaded..end).map(summary).collect(),
            cursor: (end < n).then(|| format!("c{end}")),
            next_offset: None,
            skipped: 0,
            total: None,
        };
        update(s, Msg::Page { req, result: Ok(page) });
        loaded = end;
        fx = update(s, key(KeyCode::End));
    }
}

fn stats(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mean = samples.iter().sum::<Duration>() / samples.len() as u32;
    let at = |q: usize| samples[(samples.len() * q / 100).min(samples.len() - 1)];
    println!(
        "{name:<36} mean {:>6.3} ms  p50 {:>6.3} ms  p99 {:>6.3} ms  ({} frames)",
        ms(mean),
        ms(at(50)),
        ms(at(99)),
        samples.len()
    );
}

/// CPU time of this thread: unlike wall time, it excludes time the scheduler gave to other
/// processes, which dominates the wall-clock tail on a busy 2-core machine.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime only writes the timespec we pass.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Wall-clock and CPU time of `n` frames.
fn frames(s: &mut State, moves: &[Msg], n: usize) -> (Vec<Duration>, Vec<Duration>) {
    let mut term = Terminal::new(TestBackend::new(W, H)).unwrap();
    let theme = callscope::ui::Theme::default();
    let mut wall = Vec::with_capacity(n);
    let mut cpu = Vec::with_capacity(n);
    for i in 0..n {
        update(s, moves[i % moves.len()].clone());
        let (t, c) = (Instant::now(), thread_cpu());
        term.draw(|f| callscope::ui::draw(f, s, &theme)).unwrap();
        cpu.push(thread_cpu() - c);
        wall.push(t.elapsed());
    }
    (wall, cpu)
}

fn report(name: &str, (wall, cpu): (Vec<Duration>, Vec<Duration>)) {
    stats(&format!("{name} (wall)"), wall);
    stats(&format!("{name} (cpu)"), cpu);
}

fn list_bench(rows: usize) {
    let mut s = new_state();
    let t = Instant::now();
    load_rows(&mut s, rows);
    let load = t.elapsed();
    assert_eq!(s.list.paging.len(), rows);
    let per_row = s.list.paging.memory_bytes() as f64 / rows as f64;
    println!(
        "loaded {rows} rows through update in {:.1} ms; {per_row:.0} bytes per loaded row",
        load.as_secs_f64() * 1e3
    );
    // Move through the middle of the list so every frame draws different rows.
    update(&mut s, key(KeyCode::Home));
    let moves: Vec<Msg> = [KeyCode::PageDown, KeyCode::Down, KeyCode::Down, KeyCode::PageDown]
        .into_iter()
        .map(key)
        .collect();
    frames(&mut s, &moves, 200);
    report(&format!("frame, {rows} rows"), frames(&mut s, &moves, 3000));
    // A poll page's worth of calls arriving live on top of everything loaded.
    let fresh: Vec<_> = (0..100)
        .map(|i| {
            let mut c = summary(rows + i);
            c.id = format!("CAlive{i:06}");
            callscope::app::paging::Row::from_conversation(&c)
        })
        .collect();
    let t = Instant::now();
    for r in fresh {
        s.list.paging.push_front(r);
    }
    println!(
        "100 live rows put on top of {rows} rows: {:.3} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
}

fn transcript_bench() {
    let mut s = new_state();
    let start_at = Utc.with_ymd_and_hms(2026, 11, 28, 9, 0, 0).unwrap();
    let turns: Vec<Turn> = (0..2000)
        .map(|t| {
            let at = start_at + chrono::Duration::seconds(5 * t as i64);
            Turn {
                user_input: format!("Turn {t}: I would like to check the status of order number {} please, it was due yesterday", 1000 + t),
                user_input_datetime: Some(at),
                agent_response: "Let me look that up for you. One moment while I check the order system for the latest delivery update.".into(),
                agent_response_datetime: Some(at + chrono::Duration::seconds(2)),
                latency: Some(0.3 + (t % 30) as f64 / 10.0),
                intents: vec!["order_status".into()],
                // What the real by-id object adds: a function call, ASR details, topics, safety.
                asr_corrected_user_input: format!("Turn {t}: I would like to check the status of order {}", 1000 + t),
                top_transcripts: vec![format!("turn {t} I would like to check the status of order number {}", 1000 + t), "I would like to check the state of order".into()],
                retrieved_topics: vec!["order_status".into(), "delivery_times".into()],
                safety_filters: if t % 10 == 0 { vec!["azure_content_safety".into()] } else { vec![] },
                function_events: vec![callscope::api::model::FunctionEvent {
                    name: "lookup_order".into(),
                    arguments: serde_json::json!({"order_id": 1000 + t, "include": ["items", "delivery"]}),
                    duration: Some(240.0),
                    state_changes: serde_json::json!({"updated": {"order_status": "in_transit"}}),
                    ..Default::default()
                }],
                ..Turn::default()
            }
        })
        .collect();
    let mut c = summary(0);
    c.num_turns = Some(2000);
    c.turns = turns;
    let mut fx = start(&mut s);
    let req = page_req(&fx).unwrap();
    let t = Instant::now();
    fx.extend(update(
        &mut s,
        Msg::Page {
            req,
            result: Ok(ConversationPage {
                conversations: vec![c],
                cursor: None,
                next_offset: None,
                skipped: 0,
                total: None,
            }),
        },
    ));
    println!(
        "laid out a 2000-turn transcript ({} lines) in {:.1} ms (once per conversation/width)",
        s.detail.view.as_ref().map_or(0, |v| v.lines.len()),
        t.elapsed().as_secs_f64() * 1e3
    );
    // `I` lays the whole transcript out again, with the ASR details and topics.
    let t = Instant::now();
    update(&mut s, key(KeyCode::Char('I')));
    println!(
        "`I` (ASR details) re-laid out the 2000 turns ({} lines) in {:.1} ms",
        s.detail.view.as_ref().map_or(0, |v| v.lines.len()),
        t.elapsed().as_secs_f64() * 1e3
    );
    update(&mut s, key(KeyCode::Tab));
    let moves: Vec<Msg> = [
        KeyCode::Char(')'),
        KeyCode::Char('L'),
        KeyCode::PageDown,
        KeyCode::Down,
        KeyCode::PageDown,
        KeyCode::End,
        KeyCode::Home,
    ]
    .into_iter()
    .map(key)
    .collect();
    frames(&mut s, &moves, 200);
    report("frame, 2000 turns", frames(&mut s, &moves, 3000));
}

fn main() {
    println!("callscope render bench (TestBackend {W}×{H})");
    list_bench(1_000);
    list_bench(1_000_000);
    transcript_bench();
    println!(
        "row struct: {} bytes (+ id and handoff reason on the heap)",
        std::mem::size_of::<callscope::app::paging::Row>()
    );
}
