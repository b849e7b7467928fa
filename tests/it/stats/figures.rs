//! Every figure of the store's stats against an independent computation: the stand-in serves
//! calls over loopback HTTP, the real binary exports them as JSONL, the JSONL is cached into a
//! real SQLite store (as the TUI caches what it fetches), and a plain loop over the JSONL's own
//! JSON fields computes counts, rates and exact p50/p95/p99 with nothing from `callscope::stats`.
//! Then the drill-down: Enter on the top handoff reason lists exactly the calls with that reason.

use crate::support::tui as tui_support;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::process::Command;

use callscope::api::Conversation;
use callscope::app::stats::Chart;
use callscope::app::update;
use callscope::domain::{Filter, ReviewStatus, Scope};
use callscope::standin::{self, StandinOptions};
use callscope::stats::{SplitBy, StatsRequest};
use callscope::store::Store;
use callscope::store::stats::StatsPath;
use chrono::DateTime;
use crossterm::event::KeyCode;
use serde_json::Value;

use crate::support as common;

const OFFSET_MS: i64 = 3_600_000;

/// The stand-in's calls (clock pinned to the TUI tests' `now`) as the binary exports them.
async fn exported_lines() -> Vec<Value> {
    let s = standin::start(StandinOptions {
        conversations: 600,
        now: Some(tui_support::now()),
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("calls.jsonl");
    let env = common::env_for(&s);
    let (out_arg, home) = (out.clone(), dir.path().to_path_buf());
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_callscope"))
            .args([
                "export",
                "--start",
                "2026-10-01T00:00Z",
                "--end",
                "2026-11-28T12:00Z",
                "--out",
            ])
            .arg(&out_arg)
            .envs(env)
            .env("HOME", &home)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The JSONL cached in a store, with review marks on a few calls (every 7th reviewed, every
/// 11th needing follow-up, every 13th flagged).
fn store_of(dir: &std::path::Path, lines: &[Value]) -> Store {
    let mut store = Store::open(&dir.join("stats.db")).unwrap();
    let convs: Vec<Conversation> = lines
        .iter()
        .map(|v| serde_json::from_value(v.clone()).unwrap())
        .collect();
    store.cache(&tui_support::origin(), &convs).unwrap();
    for (i, v) in lines.iter().enumerate() {
        let key = tui_support::origin().key(v["id"].as_str().unwrap());
        if i.is_multiple_of(7) {
            store.set_status(&key, ReviewStatus::Reviewed).unwrap();
        } else if i.is_multiple_of(11) {
            store.set_status(&key, ReviewStatus::NeedsFollowUp).unwrap();
        }
        if i.is_multiple_of(13) {
            store.toggle_flag(&key, "wrong_info").unwrap();
        }
    }
    store
}

fn started_ms(v: &Value) -> Option<i64> {
    let t = v["started_at"].as_str()?;
    Some(DateTime::parse_from_rfc3339(t).ok()?.timestamp_millis())
}

/// Value number ceil(p*n/100) of the sorted values, by hand.
fn rank(sorted: &[f64], p: usize) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let mut k = p * sorted.len() / 100;
    if !(p * sorted.len()).is_multiple_of(100) {
        k += 1;
    }
    Some(sorted[k.max(1) - 1])
}

fn pcts(mut v: Vec<f64>) -> (u64, Option<f64>, Option<f64>, Option<f64>) {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (v.len() as u64, rank(&v, 50), rank(&v, 95), rank(&v, 99))
}

fn top(counts: HashMap<String, u64>) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v.truncate(10);
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_figure_matches_a_plain_loop_over_the_export() {
    let lines = exported_lines().await;
    let dir = tempfile::tempdir().unwrap();
    let store = store_of(dir.path(), &lines);
    // Two days: hourly buckets; then 40 days: daily ones.
    for (since, until) in [
        (tui_support::now() - chrono::Duration::hours(48), tui_support::now()),
        (tui_support::now() - chrono::Duration::days(40), tui_support::now()),
    ] {
        let (since, until) = (since.timestamp_millis(), until.timestamp_millis());
        let req = StatsRequest::new(since, until, OFFSET_MS, SplitBy::Variant);
        let scope = Scope::env("ws-demo", "PROJECT-demo", "live");
        // Both paths: from the rows, and from the per-hour aggregates (computed on first use).
        let (rows, path) = store
            .stats_by(&scope, &Filter::default(), &req, Some(StatsPath::Rows))
            .unwrap();
        assert_eq!(path, StatsPath::Rows);
        let (hours, path) = store.stats_by(&scope, &Filter::default(), &req, None).unwrap();
        assert_eq!(path, StatsPath::Hours, "the empty filter at a whole-hour offset");
        assert_eq!(hours, rows, "the two paths agree on every figure");

        // The plain loop.
        let size: i64 = if until - since <= 48 * 3_600_000 {
            3_600_000
        } else {
            86_400_000
        };
        let first = ((since + OFFSET_MS) / size) * size - OFFSET_MS;
        let (mut calls, mut voice, mut handoffs, mut in_progress, mut hidden, mut transcripts) = (0, 0, 0, 0, 0, 0);
        let mut per_bucket: BTreeMap<i64, (u64, u64, u64, Vec<f64>)> = BTreeMap::new();
        let mut reasons: HashMap<String, u64> = HashMap::new();
        let mut intents: HashMap<String, u64> = HashMap::new();
        let mut topics: HashMap<String, u64> = HashMap::new();
        let mut scores: BTreeMap<i64, u64> = BTreeMap::new();
        let mut all = Vec::new();
        let mut variants: HashMap<String, (u64, u64, Vec<f64>)> = HashMap::new();
        let (mut reviewed, mut follow_up, mut flagged) = (0, 0, 0);
        for (i, v) in lines.iter().enumerate() {
            let Some(t) = started_ms(v) else { continue };
            if t < since || t >= until {
                continue;
            }
            calls += 1;
            let is_voice = v["channel"].as_str().unwrap_or("").starts_with("VOICE");
            voice += is_voice as u64;
            let handoff = v["handoff"].as_bool().unwrap_or(false);
            handoffs += handoff as u64;
            in_progress += v["in_progress"].as_bool().unwrap_or(false) as u64;
            let turns = v["turns"].as_array().cloned().unwrap_or_default();
            hidden += (turns.is_empty() && v["num_turns"].as_u64().unwrap_or(0) > 0) as u64;
            transcripts += !turns.is_empty() as u64;
            let b = per_bucket.entry((t - first) / size).or_default();
            b.0 += 1;
            b.1 += is_voice as u64;
            b.2 += handoff as u64;
            if handoff {
                let r = v["handoff_reason"].as_str().unwrap_or("");
                *reasons
                    .entry(if r.is_empty() { "(none)".into() } else { r.into() })
                    .or_default() += 1;
            }
            let variant = v["variant_id"].as_str().unwrap_or("").to_string();
            let var = variants
                .entry(if variant.is_empty() { "(none)".into() } else { variant })
                .or_default();
            var.0 += 1;
            var.1 += handoff as u64;
            let mut said = BTreeSet::new();
            let mut retrieved = BTreeSet::new();
            for turn in &turns {
                if let Some(l) = turn["latency"].as_f64() {
                    b.3.push(l);
                    all.push(l);
                    var.2.push(l);
                }
                for x in turn["intents"].as_array().into_iter().flatten() {
                    said.insert(x.as_str().unwrap().to_string());
                }
                for x in turn["retrieved_topics"].as_array().into_iter().flatten() {
                    retrieved.insert(x.as_str().unwrap().to_string());
                }
            }
            for x in said {
                *intents.entry(x).or_default() += 1;
            }
            for x in retrieved {
                *topics.entry(x).or_default() += 1;
            }
            if let Some(s) = v["poly_score"].as_f64() {
                *scores.entry(s.round() as i64).or_default() += 1;
            }
            if i.is_multiple_of(7) {
                reviewed += 1;
            } else if i.is_multiple_of(11) {
                follow_up += 1;
            }
            flagged += (i.is_multiple_of(13)) as u64;
        }

        for got in [&rows, &hours] {
            let (mut per_bucket, mut variants) = (per_bucket.clone(), variants.clone());
            let (reasons, intents, topics, scores) = (reasons.clone(), intents.clone(), topics.clone(), scores.clone());
            let label = format!(
                "window {since}..{until} {:?}",
                if std::ptr::eq(got, &rows) {
                    StatsPath::Rows
                } else {
                    StatsPath::Hours
                }
            );
            assert!(
                calls > 20 && handoffs > 0 && !all.is_empty(),
                "{label}: the data set is not trivial"
            );
            assert_eq!(got.calls, calls, "{label}");
            assert_eq!(got.voice, voice, "{label}");
            assert_eq!(got.chat, calls - voice, "{label}");
            assert_eq!(got.handoffs, handoffs, "{label}");
            assert_eq!(got.handoff_rate(), Some(handoffs as f64 / calls as f64), "{label}");
            assert_eq!(
                got.containment_rate(),
                Some((calls - handoffs) as f64 / calls as f64),
                "{label}"
            );
            assert_eq!(got.in_progress, in_progress, "{label}");
            assert_eq!(got.hidden_transcripts, hidden, "{label}");
            assert_eq!(got.with_transcript, transcripts, "{label}");
            let (n, p50, p95, p99) = pcts(all.clone());
            assert_eq!(
                (got.latency.n, got.latency.p50, got.latency.p95, got.latency.p99),
                (n, p50, p95, p99),
                "{label}"
            );
            let got_reasons: Vec<(String, u64)> =
                got.handoff_reasons.iter().map(|c| (c.name.clone(), c.calls)).collect();
            assert_eq!(got_reasons, top(reasons), "{label}");
            let got_intents: Vec<(String, u64)> = got.intents.iter().map(|c| (c.name.clone(), c.calls)).collect();
            assert_eq!(got_intents, top(intents), "{label}");
            let got_topics: Vec<(String, u64)> = got.topics.iter().map(|c| (c.name.clone(), c.calls)).collect();
            assert_eq!(got_topics, top(topics), "{label}");
            assert_eq!(got.poly_score, scores.into_iter().collect::<Vec<_>>(), "{label}");
            assert_eq!(
                (got.review.reviewed, got.review.follow_up, got.review.flagged),
                (reviewed, follow_up, flagged),
                "{label}"
            );
            assert_eq!(got.review.unreviewed, calls - reviewed - follow_up, "{label}");
            // Buckets: every one in the window, each with its own counts and percentiles.
            assert_eq!(got.buckets.len() as i64, (until - first + size - 1) / size, "{label}");
            for (i, b) in got.buckets.iter().enumerate() {
                assert_eq!(b.start_ms, first + i as i64 * size);
                let (c, vo, h, lat) = per_bucket.remove(&(i as i64)).unwrap_or_default();
                assert_eq!(
                    (b.calls, b.voice, b.chat, b.handoffs),
                    (c, vo, c - vo, h),
                    "{label} bucket {i}"
                );
                let (n, p50, p95, p99) = pcts(lat);
                assert_eq!(
                    (b.latency.n, b.latency.p50, b.latency.p95, b.latency.p99),
                    (n, p50, p95, p99),
                    "{label} bucket {i}"
                );
            }
            assert!(per_bucket.is_empty(), "{label}: no call outside the buckets");
            let hist_total: u64 = got.latency_histogram.iter().sum();
            assert_eq!(hist_total, all.len() as u64, "{label}");
            let slow = all.iter().filter(|l| **l >= 8.0).count() as u64;
            assert_eq!(*got.latency_histogram.last().unwrap(), slow, "{label}");
            let fast = all.iter().filter(|l| **l < 0.5).count() as u64;
            assert_eq!(got.latency_histogram[0], fast, "{label}");
            // The A/B split.
            let split = got.split.as_ref().unwrap();
            assert_eq!(split.groups.len(), variants.len(), "{label}");
            for g in &split.groups {
                let (c, h, lat) = variants.remove(&g.name).unwrap();
                let (n, p50, p95, _) = pcts(lat);
                assert_eq!(
                    (g.calls, g.handoffs, g.latency.n, g.latency.p50, g.latency.p95),
                    (c, h, n, p50, p95),
                    "{label} {}",
                    g.name
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_prints_the_same_figures_as_json_and_csv() {
    let lines = exported_lines().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("stats.db");
    drop(store_of(dir.path(), &lines));
    let run_in = |window: &[&str], format: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_callscope"))
            .arg("stats")
            .args(window)
            .args(["--format", format, "--store"])
            .arg(&db)
            .env("POLYAI_ACCOUNT_ID", "ws-demo")
            .env("POLYAI_PROJECT_ID", "PROJECT-demo")
            .env("HOME", dir.path())
            .env_remove("POLYAI_CLIENT_ENV")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let run = |format: &str| run_in(&["--since", "366d"], format);
    let json: Value = serde_json::from_str(&run("json")).unwrap();
    let calls = lines.iter().filter(|v| started_ms(v).is_some()).count() as u64;
    let handoffs = lines
        .iter()
        .filter(|v| started_ms(v).is_some() && v["handoff"] == true)
        .count() as u64;
    assert_eq!(json["calls"], calls);
    assert_eq!(json["handoffs"], handoffs);
    let csv = run("csv");
    assert!(csv.starts_with("figure,key,value\n"), "{csv}");
    assert!(csv.contains(&format!("\ncalls,,{calls}\n")), "{csv}");
    let table = run("table");
    assert!(table.contains(&format!("calls            {calls:>8}")), "{table}");
    assert!(
        !table.contains('▁') && !table.contains('█'),
        "no sparklines into a pipe"
    );
    // The window flags `export` takes: --start beats --since, --end is excluded.
    let (from, to) = ("2026-11-01T00:00:00Z", "2026-11-15T00:00:00Z");
    let ms = |t: &str| DateTime::parse_from_rfc3339(t).unwrap().timestamp_millis();
    let within = lines
        .iter()
        .filter(|v| started_ms(v).is_some_and(|t| (ms(from)..ms(to)).contains(&t)))
        .count() as u64;
    assert!(within > 0 && within < calls, "{within} of {calls}");
    let window = ["--since", "1h", "--start", from, "--end", to];
    let json: Value = serde_json::from_str(&run_in(&window, "json")).unwrap();
    assert_eq!(json["calls"], within);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enter_on_the_top_handoff_reason_lists_exactly_its_calls() {
    let lines = exported_lines().await;
    let dir = tempfile::tempdir().unwrap();
    let mut store = store_of(dir.path(), &lines);
    let mut s = tui_support::state(120, 40);
    s.cache_first = true;
    let fx = callscope::app::start(&mut s);
    tui_support::run_store(&mut s, &mut store, fx);
    let fx = update(&mut s, tui_support::key('%'));
    assert!(
        s.stats.open && s.stats.pending.is_some(),
        "opening asks the worker, it does not wait"
    );
    tui_support::run_store(&mut s, &mut store, fx);
    let fx = update(&mut s, tui_support::code(KeyCode::Tab));
    assert!(fx.is_empty());
    assert_eq!(s.stats.chart, Chart::Handoffs);
    let top_reason = s.stats.stats.as_ref().unwrap().handoff_reasons[0].name.clone();

    // The calls of the last 24 h handed off with that reason, from the JSONL.
    let (since, until) = s.window.range(s.now);
    let want: BTreeSet<String> = lines
        .iter()
        .filter(|v| {
            let t = started_ms(v).unwrap_or(0);
            t >= since.timestamp_millis()
                && t < until.timestamp_millis()
                && v["handoff"] == true
                && v["handoff_reason"].as_str() == Some(top_reason.as_str())
        })
        .map(|v| v["id"].as_str().unwrap().to_string())
        .collect();
    assert!(want.len() >= 2, "a reason worth drilling into: {want:?}");

    let fx = update(&mut s, tui_support::code(KeyCode::Enter));
    assert!(!s.stats.open, "Enter shows the list");
    assert_eq!(s.filter.handoff_reason.as_deref(), Some(top_reason.as_str()));
    tui_support::run_store(&mut s, &mut store, fx);
    let listed: BTreeSet<String> = (0..s.list.visible_len())
        .map(|i| s.list.row_at(i).unwrap().id.to_string())
        .collect();
    assert_eq!(listed, want);
    let screen = tui_support::render(&s);
    assert!(
        screen
            .lines()
            .next()
            .unwrap()
            .contains(&format!("handoff reason {top_reason}")),
        "the filter shows in the header:\n{screen}"
    );

    // esc: the filter from before, and the stats view again.
    let fx = update(&mut s, tui_support::code(KeyCode::Esc));
    assert!(s.filter.is_empty() && s.stats.open);
    tui_support::run_store(&mut s, &mut store, fx);
    assert!(s.stats.stats.is_some());
}
