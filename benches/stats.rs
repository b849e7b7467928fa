//! Stats benchmark: every figure of the stats view over 10⁶ cached conversations.
//!
//! `cargo bench --bench stats` — 10⁶ calls over 30 days in one environment (10 % with a cached
//! transcript of 8 turns: latencies, intents, topics), 2 % marked, 2 % scored (20,000 saves of
//! the built-in scorecard by three reviewers: the QA figures); then the figures for a 24 h,
//! 7 d and 30 d window (the last covers all 10⁶), each 15 times: median and p95 (the first
//! call of each window also recomputes its hours' aggregates after the bulk load; it is shown
//! apart). Then 1000 new calls and the 30-day figures once more, and the rows path for
//! comparison. A temporary directory holds the store. `CALLSCOPE_BENCH_SCALE=0.01` shrinks it.

use std::time::{Duration, Instant};

use callscope::api::{Conversation, Turn};
use callscope::domain::{Filter, Origin, ReviewStatus, Scope};
use callscope::stats::{SplitBy, StatsRequest};
use callscope::store::Store;
use callscope::store::stats::StatsPath;
use chrono::{DateTime, Utc};

/// xorshift64*: deterministic randomness for the generated data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const REASONS: [&str; 6] = ["billing", "complaint", "manager", "booking_change", "refund", "other"];
const INTENTS: [&str; 8] = [
    "book_table",
    "cancel",
    "hours",
    "refund",
    "menu",
    "parking",
    "transfer",
    "bill",
];
const TOPICS: [&str; 5] = ["Opening hours", "Refund policy", "Parking", "Allergens", "Gift cards"];

fn conversation(rng: &mut Rng, i: usize, start: DateTime<Utc>, with_turns: bool) -> Conversation {
    let handoff = rng.below(100) < 15;
    let turns = if with_turns {
        (0..8)
            .map(|t| Turn {
                user_input: "I'd like to change my booking".into(),
                agent_response: "Of course, what is the new time?".into(),
                latency: Some(0.2 + rng.below(4000) as f64 / 1000.0),
                intents: vec![INTENTS[(i + t) % INTENTS.len()].into()],
                retrieved_topics: vec![TOPICS[(i + t) % TOPICS.len()].into()],
                ..Turn::default()
            })
            .collect()
    } else {
        Vec::new()
    };
    Conversation {
        id: format!("CA{i:010}"),
        account_id: "ws-bench".into(),
        project_id: "PROJECT-bench".into(),
        environment: "live".into(),
        variant_id: if i.is_multiple_of(2) { "variant-a" } else { "variant-b" }.into(),
        started_at: Some(start),
        channel: if rng.below(4) == 0 { "WEBCHAT" } else { "VOICE-SIP" }.into(),
        in_progress: false,
        num_turns: Some(8),
        total_duration: Some(30 + rng.below(400) as u32),
        handoff,
        handoff_reason: if handoff {
            REASONS[rng.below(REASONS.len() as u64) as usize].into()
        } else {
            String::new()
        },
        poly_score: (rng.below(3) > 0).then(|| 1.0 + rng.below(5) as f64),
        turns,
        ..Conversation::default()
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let scale: f64 = std::env::var("CALLSCOPE_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let n = ((1_000_000.0 * scale) as usize).max(1000);
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = Store::open(&dir.path().join("bench.db")).expect("store");
    let origin = Origin::new("ws-bench", "PROJECT-bench", "live");
    let now = Utc::now();
    let span_ms = 30 * 86_400_000i64;
    let mut rng = Rng(0x5EED_57A7);
    let t = Instant::now();
    for chunk in (0..n).collect::<Vec<_>>().chunks(50_000) {
        let mut batch = store.batch().expect("batch");
        for &i in chunk {
            // Oldest first, spread evenly over the 30 days.
            let start = now - chrono::Duration::milliseconds(span_ms - (i as i64 * span_ms / n as i64));
            let c = conversation(&mut rng, i, start, i.is_multiple_of(10));
            batch.upsert(&origin, &c).expect("upsert");
        }
        batch.commit().expect("commit");
    }
    println!(
        "cached {n} conversations ({} with transcripts) in {:.1} s",
        n / 10,
        t.elapsed().as_secs_f64()
    );
    for i in (0..n).step_by(50) {
        let status = if i.is_multiple_of(100) {
            ReviewStatus::Reviewed
        } else {
            ReviewStatus::NeedsFollowUp
        };
        store
            .set_status(&origin.key(format!("CA{i:010}")), status)
            .expect("mark");
    }
    // 2 % scored with the built-in form, by one of three reviewers (who also mark).
    let card = callscope::domain::scorecard::all(&toml::Table::new())
        .expect("scorecards")
        .remove(0);
    let t = Instant::now();
    let mut saves = 0;
    for i in (25..n).step_by(50) {
        let k = i / 50;
        let words = [
            format!("greeting={}", ["yes", "no", "na", "yes"][k % 4]),
            format!("identification={}", if k % 5 == 0 { "no" } else { "yes" }),
            format!("understood_request={}", 1 + k % 5),
            format!("correct_information={}", if k % 11 == 0 { "no" } else { "yes" }),
            format!("handoff_appropriate={}", if k % 2 == 0 { "yes" } else { "na" }),
            format!("resolution={}", ["resolved", "partly", "not_resolved"][k % 3]),
            format!("closing={}", if k % 7 == 0 { "no" } else { "yes" }),
        ];
        let answers = card.parse_answers(words.iter().map(String::as_str)).expect("answers");
        let who = ["ann", "bob", "cy"][k % 3];
        let (record, _) = callscope::domain::ScoreRecord::of(&card, who, 1_000, &answers, &Default::default());
        store.set_reviewer(who);
        store
            .save_score(&origin.key(format!("CA{i:010}")), &record)
            .expect("score");
        saves += 1;
    }
    println!("saved {saves} scorecards in {:.1} s", t.elapsed().as_secs_f64());
    let scope = Scope::env("ws-bench", "PROJECT-bench", "live");
    let timed = |store: &Store, filter: &Filter, req: &StatsRequest, path: Option<StatsPath>, runs: usize| {
        let mut times = Vec::new();
        let (mut calls, mut taken) = (0, StatsPath::Rows);
        for _ in 0..runs {
            let t = Instant::now();
            let (s, p) = store.stats_by(&scope, filter, req, path).expect("stats");
            times.push(ms(t.elapsed()));
            (calls, taken) = (s.calls, p);
        }
        (times, calls, taken)
    };
    let summary = |times: &mut Vec<f64>| {
        // The first call is shown apart (it may recompute dirty hours); the rest are the figures.
        let first = times.remove(0);
        times.sort_by(f64::total_cmp);
        let p95 = times[(95 * times.len()).div_ceil(100) - 1];
        format!(
            "median {:.1} ms, p95 {:.1} ms, first {:.1} ms",
            times[times.len() / 2],
            p95,
            first
        )
    };
    let windows = [
        ("24h", 86_400_000i64, "", SplitBy::None),
        ("7d", 7 * 86_400_000, "", SplitBy::None),
        ("30d (all 10⁶)", span_ms + 60_000, "", SplitBy::None),
        ("30d, split by variant", span_ms + 60_000, "", SplitBy::Variant),
        (
            "7d, filter `voice handoff`",
            7 * 86_400_000,
            "voice handoff",
            SplitBy::None,
        ),
        ("7d, filter `qa<70`", 7 * 86_400_000, "qa<70", SplitBy::None),
    ];
    // The first call of a window recomputes its dirty hours (every hour, after the bulk load).
    for (label, window_ms, filter, split) in windows {
        let filter = Filter::parse(filter).expect("filter");
        let req = StatsRequest::new(now.timestamp_millis() - window_ms, now.timestamp_millis() + 1, 0, split);
        let (mut times, calls, path) = timed(&store, &filter, &req, None, 15);
        let qa = store.stats(&scope, &filter, &req).expect("stats").qa;
        println!(
            "stats {label} [{path:?}]: {calls} calls in the window ({} QA scores), {} (target ≤ 200 ms)",
            qa.scores,
            summary(&mut times)
        );
    }
    // What the TUI sees after a page arrives: 1000 new calls in the last hours, then the 30-day figures.
    let mut batch = store.batch().expect("batch");
    for i in 0..1000 {
        let start = now - chrono::Duration::milliseconds(i as i64 * 7_000);
        let c = conversation(&mut rng, n + i, start, i % 10 == 0);
        batch.upsert(&origin, &c).expect("upsert");
    }
    batch.commit().expect("commit");
    let req = StatsRequest::new(
        now.timestamp_millis() - span_ms - 60_000,
        now.timestamp_millis() + 1,
        0,
        SplitBy::None,
    );
    let (times, calls, path) = timed(&store, &Filter::default(), &req, None, 1);
    println!(
        "stats 30d after 1000 new calls [{path:?}]: {calls} calls, {:.1} ms (dirty hours recomputed)",
        times[0]
    );
    // The rows path for comparison (what filters and non-whole-hour offsets take).
    for (label, window_ms) in [("24h", 86_400_000i64), ("30d", span_ms + 60_000)] {
        let req = StatsRequest::new(
            now.timestamp_millis() - window_ms,
            now.timestamp_millis() + 1,
            0,
            SplitBy::None,
        );
        let (mut times, calls, _) = timed(&store, &Filter::default(), &req, Some(StatsPath::Rows), 6);
        println!("stats {label} from the rows: {calls} calls, {}", summary(&mut times));
    }
}
