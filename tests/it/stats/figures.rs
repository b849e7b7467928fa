//! Every figure of the store's stats against an independent computation: the stand-in serves
//! calls over loopback HTTP, the real binary exports them as JSONL, the JSONL is cached into a
//! real SQLite store (as the TUI caches what it fetches), and a plain loop over the JSONL's own
//! JSON fields computes counts, rates and exact p50/p95/p99 with nothing from `callscope::stats`.
//! The QA figures likewise: scorecards are saved through the real store, the binary exports
//! the scored calls (`export --filter scored`, the reviewed export's JSONL with its `scores`),
//! and a plain loop over those lines computes them.
//! Then the drill-downs: Enter on the top handoff reason, a QA score bucket or a question's
//! "no"s lists exactly those calls.

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
    let home = dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_callscope"));
        cmd.args(["export", "--start", "2026-10-01T00:00Z", "--end", "2026-11-28T12:00Z"])
            .envs(env)
            .env("HOME", &home);
        written_jsonl(&mut cmd, &out)
    })
    .await
    .unwrap()
}

/// The lines `cmd`, an export, wrote to `out` (given as its `--out`), once it succeeded.
fn written_jsonl(cmd: &mut Command, out: &std::path::Path) -> Vec<Value> {
    let output = cmd.arg("--out").arg(out).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    std::fs::read_to_string(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Who marked call `i` (status), and who flagged it.
fn status_reviewer(i: usize) -> &'static str {
    if i.is_multiple_of(2) { "ann" } else { "bob" }
}
fn flag_reviewer(i: usize) -> &'static str {
    if i.is_multiple_of(26) { "cy" } else { "ann" }
}

/// The answers saved for call `i` (every third call; `second`: another reviewer's).
fn answers_of(i: usize, second: bool) -> Vec<String> {
    let k = i / 3;
    let greeting = if second {
        "no"
    } else {
        ["yes", "no", "na", "yes"][k % 4]
    };
    vec![
        format!("greeting={greeting}"),
        format!("identification={}", if k.is_multiple_of(5) { "no" } else { "yes" }),
        format!("understood_request={}", 1 + k % 5),
        format!("correct_information={}", if k.is_multiple_of(7) { "no" } else { "yes" }),
        format!("handoff_appropriate={}", if k.is_multiple_of(2) { "yes" } else { "na" }),
        format!("resolution={}", ["resolved", "partly", "not_resolved"][k % 3]),
        format!("latency_acceptable={}", 1 + (k + 2) % 5),
    ]
}

/// Every third call scored with the built-in form by ann (every ninth saved twice: the first
/// save is superseded), every sixth also by bob.
fn save_scores(store: &mut Store, lines: &[Value]) {
    use callscope::domain::ScoreRecord;
    let card = callscope::domain::scorecard::all(&toml::Table::new())
        .unwrap()
        .remove(0);
    let save = |store: &mut Store, id: &str, who: &str, answers: Vec<String>| {
        let answers = card.parse_answers(answers.iter().map(String::as_str)).unwrap();
        let (record, _) = ScoreRecord::of(&card, who, 1_000, &answers, &Default::default());
        store.save_score(&tui_support::origin().key(id), &record).unwrap();
    };
    for (i, v) in lines.iter().enumerate() {
        let id = v["id"].as_str().unwrap();
        if !i.is_multiple_of(3) {
            continue;
        }
        if i.is_multiple_of(9) {
            save(store, id, "ann", answers_of(i + 3, true));
        }
        save(store, id, "ann", answers_of(i, false));
        if i.is_multiple_of(6) {
            save(store, id, "bob", answers_of(i, true));
        }
    }
}

/// The JSONL cached in a store, with review marks on a few calls (every 7th reviewed, every
/// 11th needing follow-up, every 13th flagged; see the reviewers above) and scores.
fn store_of(dir: &std::path::Path, lines: &[Value]) -> Store {
    let mut store = Store::open(&dir.join("stats.db")).unwrap();
    let convs: Vec<Conversation> = lines
        .iter()
        .map(|v| serde_json::from_value(v.clone()).unwrap())
        .collect();
    store.cache(&tui_support::origin(), &convs).unwrap();
    for (i, v) in lines.iter().enumerate() {
        let key = tui_support::origin().key(v["id"].as_str().unwrap());
        store.set_reviewer(status_reviewer(i));
        if i.is_multiple_of(7) {
            store.set_status(&key, ReviewStatus::Reviewed).unwrap();
        } else if i.is_multiple_of(11) {
            store.set_status(&key, ReviewStatus::NeedsFollowUp).unwrap();
        }
        if i.is_multiple_of(13) {
            store.set_reviewer(flag_reviewer(i));
            store.toggle_flag(&key, "wrong_info").unwrap();
        }
    }
    save_scores(&mut store, lines);
    store
}

/// The scored calls of `db` as the binary's store export writes them (JSONL with `scores`).
fn scored_export(dir: &std::path::Path, db: &std::path::Path) -> Vec<Value> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_callscope"));
    cmd.args(["export", "--filter", "scored", "--format", "jsonl", "--store"])
        .arg(db)
        .env("POLYAI_ACCOUNT_ID", "ws-demo")
        .env("POLYAI_PROJECT_ID", "PROJECT-demo")
        .env("POLYAI_CLIENT_ENV", "live")
        .env("HOME", dir);
    written_jsonl(&mut cmd, &dir.join("scored.jsonl"))
}

/// The drill-down's filter is named in the header (the screen's first line).
fn header_shows(s: &callscope::app::State, text: &str) {
    let screen = tui_support::render(s);
    assert!(
        screen.lines().next().unwrap().contains(text),
        "the filter shows in the header:\n{screen}"
    );
}

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() < 1e-9,
        (None, None) => true,
        _ => false,
    }
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// The QA figures of `[since, until)` by a plain loop over the export's lines and `lines`'
/// marks (by index, as `store_of` set them), checked against `got`.
fn check_qa(got: &callscope::stats::Stats, lines: &[Value], scored: &[Value], since: i64, until: i64, label: &str) {
    let in_window = |v: &Value| started_ms(v).is_some_and(|t| t >= since && t < until);
    let (mut calls, mut auto_failed) = (0u64, 0u64);
    let mut scores: Vec<f64> = Vec::new();
    let mut buckets = [0u64; 10];
    // card -> question -> answer -> saves
    let mut answers: BTreeMap<String, BTreeMap<String, BTreeMap<String, u64>>> = BTreeMap::new();
    let mut saves_per_card: BTreeMap<String, u64> = BTreeMap::new();
    // reviewer -> (reviewed, flagged, scored, scores)
    let mut reviewers: BTreeMap<String, (u64, u64, u64, Vec<f64>)> = BTreeMap::new();
    let mut per_variant: HashMap<String, Vec<f64>> = HashMap::new();
    for v in scored.iter().filter(|v| in_window(v)) {
        let saves = v["scores"].as_array().unwrap();
        calls += !saves.is_empty() as u64;
        for save in saves {
            let card = save["scorecard"].as_str().unwrap().to_string();
            *saves_per_card.entry(card.clone()).or_default() += 1;
            let who = save["reviewer"].as_str().unwrap().to_string();
            let r = reviewers.entry(who).or_default();
            r.2 += 1;
            auto_failed += save["auto_failed"].as_bool().unwrap() as u64;
            if let Some(x) = save["score"].as_f64() {
                scores.push(x);
                buckets[(1..10).filter(|k| x >= f64::from(10 * k)).count()] += 1;
                r.3.push(x);
                let variant = v["variant_id"].as_str().unwrap_or("");
                per_variant
                    .entry(if variant.is_empty() {
                        "(none)".into()
                    } else {
                        variant.into()
                    })
                    .or_default()
                    .push(x);
            }
            for (q, a) in save["answers"].as_object().unwrap() {
                let a = a["answer"].as_str().unwrap().to_string();
                *answers
                    .entry(card.clone())
                    .or_default()
                    .entry(q.clone())
                    .or_default()
                    .entry(a)
                    .or_default() += 1;
            }
        }
    }
    for (i, v) in lines.iter().enumerate().filter(|(_, v)| in_window(v)) {
        let _ = v;
        if i.is_multiple_of(7) {
            reviewers.entry(status_reviewer(i).into()).or_default().0 += 1;
        }
        if i.is_multiple_of(13) {
            reviewers.entry(flag_reviewer(i).into()).or_default().1 += 1;
        }
    }
    let qa = &got.qa;
    assert!(calls > 5 && auto_failed > 0, "{label}: the QA data set is not trivial");
    assert_eq!(qa.scored, calls, "{label}");
    assert_eq!(qa.scores, scores.len() as u64, "{label}");
    assert_eq!(qa.auto_failed, auto_failed, "{label}");
    assert_eq!(qa.distribution, buckets, "{label}");
    assert!(
        close(qa.mean, mean(&scores)),
        "{label}: {:?} {:?}",
        qa.mean,
        mean(&scores)
    );
    let (_, median, _, _) = pcts(scores.clone());
    assert_eq!(qa.median, median, "{label}");
    // Per scorecard and question.
    let got_cards: Vec<(String, u64)> = qa.scorecards.iter().map(|c| (c.name.clone(), c.saves)).collect();
    assert_eq!(got_cards, saves_per_card.into_iter().collect::<Vec<_>>(), "{label}");
    for card in &qa.scorecards {
        let want = &answers[&card.name];
        assert_eq!(
            card.questions.iter().map(|q| q.id.clone()).collect::<Vec<_>>(),
            want.keys().cloned().collect::<Vec<_>>(),
            "{label}"
        );
        for q in &card.questions {
            let w = &want[&q.id];
            let n = |a: &str| w.get(a).copied().unwrap_or(0);
            let answered: u64 = w.values().sum();
            assert_eq!(q.answered, answered, "{label} {}", q.id);
            let got_answers: BTreeMap<String, u64> = q.answers.iter().map(|c| (c.name.clone(), c.calls)).collect();
            assert_eq!(&got_answers, w, "{label} {}", q.id);
            match q.id.as_str() {
                "greeting" | "identification" | "correct_information" | "handoff_appropriate" => {
                    assert_eq!(q.kind, callscope::stats::AnswerKind::YesNo, "{label} {}", q.id);
                    let (yes, no) = (n("yes"), n("no"));
                    assert_eq!((q.yes, q.no, q.na), (yes, no, n("na")), "{label} {}", q.id);
                    let want_rate = (yes + no > 0).then(|| yes as f64 / (yes + no) as f64);
                    assert_eq!(q.pass_rate(), want_rate, "{label} {}", q.id);
                }
                "understood_request" | "latency_acceptable" => {
                    assert_eq!(q.kind, callscope::stats::AnswerKind::Scale, "{label} {}", q.id);
                    let values: Vec<f64> = w
                        .iter()
                        .flat_map(|(a, c)| std::iter::repeat_n(a.parse::<f64>().unwrap(), *c as usize))
                        .collect();
                    assert!(close(q.mean, mean(&values)), "{label} {}", q.id);
                }
                "resolution" => assert_eq!(q.kind, callscope::stats::AnswerKind::Choice, "{label}"),
                other => panic!("{label}: unexpected question {other}"),
            }
        }
    }
    // Per reviewer.
    let got_reviewers: Vec<(String, u64, u64, u64)> = qa
        .reviewers
        .iter()
        .map(|r| (r.name.clone(), r.reviewed, r.flagged, r.scored))
        .collect();
    let want_reviewers: Vec<(String, u64, u64, u64)> = reviewers
        .iter()
        .map(|(n, (a, b, c, _))| (n.clone(), *a, *b, *c))
        .collect();
    assert_eq!(got_reviewers, want_reviewers, "{label}");
    for r in &qa.reviewers {
        assert!(close(r.mean_score, mean(&reviewers[&r.name].3)), "{label} {}", r.name);
    }
    // The QA column of the variant split.
    let split = got.split.as_ref().unwrap();
    for g in &split.groups {
        let want = per_variant.get(&g.name).cloned().unwrap_or_default();
        assert_eq!(g.qa_scores, want.len() as u64, "{label} {}", g.name);
        assert!(close(g.qa_score_mean, mean(&want)), "{label} {}", g.name);
    }
    let d = split.difference.as_ref().unwrap();
    let (a, b) = (&per_variant[&d.a], &per_variant[&d.b]);
    assert!(
        close(d.qa_score_mean, Some(mean(b).unwrap() - mean(a).unwrap())),
        "{label}"
    );
    // Welch: (mean_b - mean_a) / sqrt(var_a/n_a + var_b/n_b), sample variances.
    let var = |v: &[f64]| {
        let m = mean(v).unwrap();
        v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() as f64 - 1.0)
    };
    let z = (mean(b).unwrap() - mean(a).unwrap()) / (var(a) / a.len() as f64 + var(b) / b.len() as f64).sqrt();
    assert!(close(d.qa_z, Some(z)), "{label}: {:?} {z}", d.qa_z);
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
    let scored = scored_export(dir.path(), &dir.path().join("stats.db"));
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
            check_qa(got, &lines, &scored, since, until, &format!("QA {since}..{until}"));
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
    let scored = scored_export(dir.path(), &db);
    // A store edited by hand: names with terminal escapes (a save through the store refuses them).
    let hostile = rusqlite::Connection::open(&db).unwrap();
    hostile
        .execute(
            "INSERT INTO scores (account, project, environment, id, scorecard, reviewer, at_ms, answers, score, auto_failed)
             VALUES ('ws-demo', 'PROJECT-demo', 'live', ?1, 'card\u{1b}]0;x\u{7}', 'eve\u{1b}[2J', 5, '{\"q\u{1b}[1m\": {\"answer\": \"yes\"}}', 50, 0)",
            [lines[1]["id"].as_str().unwrap()],
        )
        .unwrap();
    drop(hostile);
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
    // The QA figures, with the hand-edited save: one more scored call and score.
    let scored_calls = scored.len() as u64 + 1;
    let scores: u64 = scored
        .iter()
        .flat_map(|v| v["scores"].as_array().unwrap())
        .filter(|s| s["score"].is_number())
        .count() as u64
        + 1;
    assert_eq!(json["qa"]["scored"], scored_calls);
    assert_eq!(json["qa"]["scores"], scores);
    assert!(csv.contains(&format!("\nqa_scored_calls,,{scored_calls}\n")), "{csv}");
    assert!(csv.contains("\nqa_question_pass_rate,voice-qa/greeting,"), "{csv}");
    assert!(
        table.contains(&format!("QA scores        {scores:>8}   calls scored {scored_calls}")),
        "{table}"
    );
    assert!(table.contains("scorecard voice-qa"), "{table}");
    assert!(
        table.contains("eve␛ "),
        "the reviewer's name, its escape shown: {table}"
    );
    assert!(!table.contains('\u{1b}') && !table.contains('\u{7}'), "{table}");
    assert!(!csv.contains('\u{1b}'), "{csv}");
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
    header_shows(&s, &format!("handoff reason {top_reason}"));

    // esc: the filter from before, and the stats view again.
    let fx = update(&mut s, tui_support::code(KeyCode::Esc));
    assert!(s.filter.is_empty() && s.stats.open);
    tui_support::run_store(&mut s, &mut store, fx);
    assert!(s.stats.stats.is_some());
}

/// The calls of the TUI's window whose current saves (from the export) satisfy `pick`.
fn scored_ids(s: &callscope::app::State, scored: &[Value], pick: impl Fn(&Value) -> bool) -> BTreeSet<String> {
    let (since, until) = s.window.range(s.now);
    scored
        .iter()
        .filter(|v| {
            let t = started_ms(v).unwrap_or(0);
            t >= since.timestamp_millis()
                && t < until.timestamp_millis()
                && v["scores"].as_array().unwrap().iter().any(&pick)
        })
        .map(|v| v["id"].as_str().unwrap().to_string())
        .collect()
}

fn listed(s: &callscope::app::State) -> BTreeSet<String> {
    (0..s.list.visible_len())
        .map(|i| s.list.row_at(i).unwrap().id.to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enter_on_a_qa_bucket_or_a_questions_no_lists_exactly_those_calls() {
    use callscope::domain::filter::QaAnswer;
    let lines = exported_lines().await;
    let dir = tempfile::tempdir().unwrap();
    let mut store = store_of(dir.path(), &lines);
    let scored = scored_export(dir.path(), &dir.path().join("stats.db"));
    let mut s = tui_support::state(120, 40);
    s.cache_first = true;
    let fx = callscope::app::start(&mut s);
    tui_support::run_store(&mut s, &mut store, fx);
    let fx = update(&mut s, tui_support::key('%'));
    tui_support::run_store(&mut s, &mut store, fx);
    while s.stats.chart != Chart::Qa {
        update(&mut s, tui_support::code(KeyCode::Tab));
    }
    // The fullest score bucket.
    let qa = s.stats.stats.as_ref().unwrap().qa.clone();
    let (bucket, n) = qa
        .distribution
        .iter()
        .enumerate()
        .max_by_key(|(i, n)| (**n, std::cmp::Reverse(*i)))
        .unwrap();
    assert!(*n >= 2, "a bucket worth drilling into: {:?}", qa.distribution);
    for _ in 0..bucket {
        update(&mut s, tui_support::key('j'));
    }
    let fx = update(&mut s, tui_support::code(KeyCode::Enter));
    assert!(!s.stats.open, "Enter shows the list");
    let (lo, hi) = ((bucket * 10) as f64, (bucket * 10 + 10) as f64);
    assert_eq!(
        s.filter.to_text(),
        if bucket == 9 {
            "qa>=90".to_string()
        } else {
            format!("qa>={lo} qa<{hi}")
        }
    );
    tui_support::run_store(&mut s, &mut store, fx);
    let want = scored_ids(&s, &scored, |save| {
        save["score"]
            .as_f64()
            .is_some_and(|x| x >= lo && (x < hi || bucket == 9))
    });
    assert!(want.len() >= 2);
    assert_eq!(listed(&s), want);

    // esc: back to the view; then the first yes-no question with a "no".
    let fx = update(&mut s, tui_support::code(KeyCode::Esc));
    tui_support::run_store(&mut s, &mut store, fx);
    assert!(s.stats.open && s.filter.is_empty());
    let (j, question) = qa
        .yes_no_questions()
        .enumerate()
        .find(|(_, (_, q))| q.no >= 2)
        .map(|(j, (_, q))| (j, q.id.clone()))
        .expect("a question answered no");
    update(&mut s, tui_support::code(KeyCode::Home));
    for _ in 0..qa.distribution.len() + j {
        update(&mut s, tui_support::key('j'));
    }
    let fx = update(&mut s, tui_support::code(KeyCode::Enter));
    assert_eq!(
        s.filter.qa_answer,
        Some(QaAnswer {
            question: question.clone(),
            answer: "no".into()
        })
    );
    tui_support::run_store(&mut s, &mut store, fx);
    let want = scored_ids(&s, &scored, |save| save["answers"][question.as_str()]["answer"] == "no");
    assert!(want.len() >= 2, "{question}: {want:?}");
    assert_eq!(listed(&s), want);
    header_shows(&s, &format!("answered {question}=no"));
}
