//! The TUI over the network: time to the first rows, and the longest "loading more…" while
//! scrolling 1,000 rows at key-repeat speed. The real `update`, the real effect runner (one
//! HTTP client) and the embedded stand-in; no terminal.
//!
//! Each run goes through the project's shaping proxy (`benches/support/shaping_proxy.rs`) at
//! 80 ms RTT / 100 Mbit/s and at 20 ms / 1 Gbit/s. Targets (issue 16): first rows within three
//! round trips plus the transfer; no wait for more rows longer than one round trip.
//!
//! `cargo bench --bench tui_net`. `CALLSCOPE_BENCH_KEY_MS` sets the key-repeat interval
//! (default 33 ms, 30 keys/s).

#[path = "support/shaping_proxy.rs"]
mod shaping_proxy;

use std::time::{Duration, Instant};

use callscope::api::Client;
use callscope::app::state::TimeWindow;
use callscope::app::{Effect, Identity, IoEffect, KeyMap, Msg, State, start, update};
use callscope::config::{Config, ConnectionArgs, FileConfig};
use callscope::standin::{self, StandinOptions};
use callscope::tui::effects::Runner;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tokio::sync::mpsc;

const ROWS_SCROLLED: usize = 1000;

fn spawn_all(runner: &Runner, fx: Vec<Effect>) {
    spawn_logged(runner, fx, None);
}

/// The variant's name of a `Debug` print (`FetchPage { … }` → `FetchPage`), without printing
/// the rest (a page of calls would take a while).
fn kind(value: &impl std::fmt::Debug) -> String {
    struct Head(String);
    impl std::fmt::Write for Head {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0.push_str(s);
            // Stop the print once past the name.
            if self.0.contains(|c: char| !c.is_alphanumeric() && c != '_') {
                Err(std::fmt::Error)
            } else {
                Ok(())
            }
        }
    }
    let mut head = Head(String::new());
    let _ = std::fmt::write(&mut head, format_args!("{value:?}"));
    head.0
        .split(|c: char| !c.is_alphanumeric() && c != '_')
        .next()
        .unwrap_or_default()
        .to_string()
}

/// How long each list page took, from its request to its answer reaching `update`: beside the
/// RTT, this tells the network's share of a wait from the server's and the client's.
#[derive(Default)]
struct PageTimes {
    sent: std::collections::HashMap<u64, Instant>,
    took: Vec<Duration>,
}

impl PageTimes {
    fn sent(&mut self, fx: &[Effect]) {
        for e in fx {
            if let Effect::Io(IoEffect::FetchPage { req, .. }) = e {
                self.sent.insert(*req, Instant::now());
            }
        }
    }
    fn answered(&mut self, msg: &Msg) {
        if let Msg::Page { req, .. } = msg
            && let Some(t) = self.sent.remove(req)
        {
            self.took.push(t.elapsed());
        }
    }
    fn describe(&self) -> String {
        let mut t = self.took.clone();
        t.sort();
        match (t.get(t.len() / 2), t.last()) {
            (Some(median), Some(max)) => format!(
                "{} pages, each {:.0} ms median, {:.0} ms at most",
                t.len(),
                ms(*median),
                ms(*max)
            ),
            _ => "no pages".into(),
        }
    }
}

/// Spawns `fx`; with a log, notes each effect's kind and when it started (ms since `t0`).
fn spawn_logged(runner: &Runner, fx: Vec<Effect>, log: Option<(&mut Vec<String>, Instant)>) {
    let mut log = log;
    for e in fx {
        if let Some((log, t0)) = log.as_mut() {
            log.push(format!("{} @{:.0}", kind(&e), ms(t0.elapsed())));
        }
        // Terminal effects (clipboard, quit) do not occur while scrolling.
        if let Effect::Io(work) = e {
            runner.spawn(work);
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let key_every = Duration::from_millis(
        std::env::var("CALLSCOPE_BENCH_KEY_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(33),
    );
    let now = chrono::Utc::now();
    let stand_in = standin::start(StandinOptions {
        conversations: 19_000,
        now: Some(now),
        ..Default::default()
    })
    .await
    .expect("stand-in");
    let upstream: std::net::SocketAddr = stand_in
        .runtime_url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .expect("the stand-in listens on an address");
    for (rtt_ms, bits) in [(80, 100_000_000), (20, 1_000_000_000)] {
        let rtt = Duration::from_millis(rtt_ms);
        let shape = shaping_proxy::Shape::rtt(rtt, bits);
        let proxy = shaping_proxy::ShapingProxy::start(upstream, shape)
            .await
            .expect("proxy");
        let r = run(&stand_in, &proxy.url_for(&stand_in.runtime_url), now, key_every).await;
        let rtts = |d: Duration| d.as_secs_f64() / rtt.as_secs_f64();
        println!(
            "{}: first rows {:.0} ms ({:.1} RTT; target ≤ 3 RTT + transfer) · scrolled {} rows at one key per {} ms: \
             {} waits for more rows, longest \"loading more…\" {:.0} ms ({:.2} RTT; target ≤ 1 RTT) · {:.1} MB down",
            shape.describe(),
            ms(r.first_rows),
            rtts(r.first_rows),
            r.scrolled,
            key_every.as_millis(),
            r.waits,
            ms(r.longest_wait),
            rtts(r.longest_wait),
            proxy.down_bytes() as f64 / 1e6
        );
        println!(
            "  before the first rows: {} · {} · {} connections in all",
            r.timeline.join(", "),
            r.pages,
            proxy.connections()
        );
    }
}

struct Run {
    first_rows: Duration,
    /// Effects started (`Kind @ms`) and messages answered (`→Kind @ms`) before the first rows.
    timeline: Vec<String>,
    /// Every list page of the run, first rows and scrolling.
    pages: String,
    scrolled: usize,
    waits: usize,
    longest_wait: Duration,
}

async fn run(stand_in: &standin::Standin, base: &str, now: chrono::DateTime<chrono::Utc>, key_every: Duration) -> Run {
    let args = ConnectionArgs {
        base_url: Some(base.to_string()),
        platform_url: Some(stand_in.platform_url.clone()),
        account_id: Some(stand_in.account_id.clone()),
        project_id: Some(stand_in.project_id.clone()),
        ..Default::default()
    };
    let key = stand_in.api_key.clone();
    let cfg = Config::resolve_with_file(
        &args,
        &move |k| (k == "POLYAI_API_KEY").then(|| key.clone()),
        FileConfig::default(),
    )
    .expect("config");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let runner = Runner::new(Client::new(&cfg).expect("client"), tx);
    let identity = Identity {
        account: stand_in.account_id.clone(),
        project: stand_in.project_id.clone(),
        region: "us".into(),
    };
    let tz = chrono::FixedOffset::east_opt(0).unwrap();
    let mut s = State::new(KeyMap::default(), identity, "live", now, tz, (120, 40));
    s.window = TimeWindow::Last { secs: 7 * 86_400 };

    // 1. Time to the first rows, with what was asked and answered on the way (ms since start).
    let t0 = Instant::now();
    let mut timeline = Vec::new();
    let mut times = PageTimes::default();
    let fx = start(&mut s);
    times.sent(&fx);
    spawn_logged(&runner, fx, Some((&mut timeline, t0)));
    while s.list.visible_len() == 0 {
        let Some(msg) = rx.recv().await else { break };
        timeline.push(format!("→{} @{:.0}", kind(&msg), ms(t0.elapsed())));
        times.answered(&msg);
        let fx = update(&mut s, msg);
        times.sent(&fx);
        spawn_logged(&runner, fx, Some((&mut timeline, t0)));
        assert!(t0.elapsed() < Duration::from_secs(60), "no rows within a minute");
    }
    let first_rows = t0.elapsed();

    // 2. Scroll 1,000 rows, one `j` per key-repeat interval: a press that finds the selection
    // on the last loaded row (with more to come) waits; the wait ends when rows arrive below.
    let j = Msg::Key(KeyEvent::new(KeyCode::Char('j'), KeyModifiers::NONE));
    let mut waits: Vec<Duration> = Vec::new();
    let mut waiting_since: Option<Instant> = None;
    let mut next_key = Instant::now();
    let scroll_start = Instant::now();
    while s.list.sel < ROWS_SCROLLED {
        // Fold in answers until the next key; a wait ends the moment rows arrive below.
        while let Ok(Some(msg)) = tokio::time::timeout_at(next_key.into(), rx.recv()).await {
            times.answered(&msg);
            let fx = update(&mut s, msg);
            times.sent(&fx);
            spawn_all(&runner, fx);
            if let Some(since) = waiting_since
                && s.list.sel + 1 < s.list.visible_len()
            {
                waits.push(since.elapsed());
                waiting_since = None;
            }
        }
        let at_end = s.list.sel + 1 >= s.list.visible_len();
        if at_end && s.list.paging.end {
            println!("the window ended after {} rows", s.list.visible_len());
            break;
        }
        if at_end && waiting_since.is_none() {
            waiting_since = Some(Instant::now());
        }
        let fx = update(&mut s, j.clone());
        times.sent(&fx);
        spawn_all(&runner, fx);
        next_key += key_every;
        assert!(scroll_start.elapsed() < Duration::from_secs(300), "scrolling stalled");
    }
    Run {
        first_rows,
        timeline,
        pages: times.describe(),
        scrolled: s.list.sel,
        waits: waits.len(),
        longest_wait: waits.iter().max().copied().unwrap_or_default(),
    }
}
