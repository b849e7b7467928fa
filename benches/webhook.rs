//! Load test of the webhook receiver on loopback: signed deliveries at full speed from a
//! bounded pool of keep-alive connections, 5% of them replays of an earlier event id.
//!
//! Targets: ≥ 2,000 deliveries/s, p99 answer time ≤ 20 ms, and no loss: every accepted
//! event id is emitted on the queue exactly once, no replay is emitted.
//!
//! `cargo bench --bench webhook` (env `DELIVERIES`, `CONCURRENCY` override the defaults).
//! Stops by itself after `DELIVERIES` requests or 60 s, whichever comes first.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use callscope::webhook::deliver::{EVENT_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use callscope::webhook::receiver::StatsSnapshot;
use callscope::webhook::signature::{SignatureScheme, sign};
use callscope::webhook::{EventData, EventType, ReceiverConfig, SigningSecret, WebhookEvent, receiver};

const SECRET: &str = "whsec_bench_secret";

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let total = env_or("DELIVERIES", 20_000);
    let concurrency = env_or("CONCURRENCY", 16);
    let deadline = Duration::from_secs(60);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let code = runtime.block_on(run(total, concurrency, deadline));
    std::process::exit(code);
}

/// What one request came to.
struct Sample {
    id: String,
    replay: bool,
    status: u16,
    latency: Duration,
}

async fn run(total: usize, concurrency: usize, deadline: Duration) -> i32 {
    let mut config = ReceiverConfig::new(vec![SigningSecret::new(SECRET)]);
    config.queue_capacity = 8192;
    let rx = receiver(config);
    let handle = rx.handle.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let router = rx.router;
    tokio::spawn(async move { axum::serve(listener, router).await });

    // The consumer: counts how often each id is emitted.
    let emitted: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    let mut events = rx.events;
    let counts = emitted.clone();
    tokio::spawn(async move {
        while let Some(e) = events.recv().await {
            *counts.lock().unwrap().entry(e.id).or_default() += 1;
        }
    });

    let url = format!("http://{addr}/polyai-events");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .expect("client");
    // Pre-build the events so the clock measures sending and answering, not JSON building.
    let bodies: Arc<Vec<(String, Vec<u8>)>> = Arc::new(
        (0..total)
            .map(|i| {
                let e = WebhookEvent::new(
                    EventType::ConversationCompleted,
                    EventData {
                        conversation_id: format!("CA{i:08}"),
                        environment: "live".into(),
                        channel: "VOICE-SIP".into(),
                        ..Default::default()
                    },
                );
                (e.id.clone(), e.to_body())
            })
            .collect(),
    );
    let next = Arc::new(AtomicUsize::new(0));
    let secret = SigningSecret::new(SECRET);
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (http, url, bodies, next, secret) =
            (http.clone(), url.clone(), bodies.clone(), next.clone(), secret.clone());
        workers.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= bodies.len() || started.elapsed() > deadline {
                    return samples;
                }
                // Every 20th request replays an earlier event (a sender retry).
                let replay = i % 20 == 19;
                let (id, body) = &bodies[if replay { i - 10 } else { i }];
                let ts = chrono::Utc::now().timestamp();
                let sig = sign(&secret, SignatureScheme::Timestamped, ts, body);
                let t0 = Instant::now();
                let resp = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .header(SIGNATURE_HEADER, sig)
                    .header(TIMESTAMP_HEADER, ts.to_string())
                    .header(EVENT_ID_HEADER, id.as_str())
                    .body(body.clone())
                    .send()
                    .await;
                let status = match resp {
                    Ok(r) => {
                        let s = r.status().as_u16();
                        let _ = r.bytes().await;
                        s
                    }
                    Err(_) => 0,
                };
                samples.push(Sample {
                    id: id.clone(),
                    replay,
                    status,
                    latency: t0.elapsed(),
                });
            }
        }));
    }
    let mut samples = Vec::with_capacity(total);
    for w in workers {
        samples.extend(w.await.expect("worker"));
    }
    let elapsed = started.elapsed();
    // Give the consumer a moment to drain what was accepted.
    let drained = |m: &HashMap<String, u32>| m.values().map(|&n| n as u64).sum::<u64>();
    let wait_until = Instant::now() + Duration::from_secs(5);
    while drained(&emitted.lock().unwrap()) < handle.stats().accepted && Instant::now() < wait_until {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let emitted = emitted.lock().unwrap().clone();
    report(&samples, elapsed, handle.stats(), &emitted, total, concurrency)
}

fn report(
    samples: &[Sample],
    elapsed: Duration,
    stats: StatsSnapshot,
    emitted: &HashMap<String, u32>,
    total: usize,
    concurrency: usize,
) -> i32 {
    let mut latencies: Vec<Duration> = samples.iter().map(|s| s.latency).collect();
    latencies.sort();
    let rate = samples.len() as f64 / elapsed.as_secs_f64();
    let (p50, p99, max) = (
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        *latencies.last().unwrap_or(&Duration::ZERO),
    );
    // Per id: answers 204 (taken) and 200 (recognised as a replay). A replay may overtake
    // its original, so which copy is taken does not matter; that exactly one is does.
    let mut per_id: HashMap<&str, (u32, u32)> = HashMap::new();
    for s in samples {
        let e = per_id.entry(s.id.as_str()).or_default();
        match s.status {
            204 => e.0 += 1,
            200 => e.1 += 1,
            _ => {}
        }
    }
    let accepted: std::collections::HashSet<&str> = per_id
        .iter()
        .filter(|(_, (taken, _))| *taken > 0)
        .map(|(id, _)| *id)
        .collect();
    let originals = per_id.len();
    let taken_twice = per_id.values().filter(|(taken, _)| *taken > 1).count();
    let replays = samples.iter().filter(|s| s.replay).count();
    let replays_ok: u32 = per_id.values().map(|(_, dup)| *dup).sum();
    let failed = samples.iter().filter(|s| !(200..300).contains(&s.status)).count();
    let lost = accepted.iter().filter(|id| !emitted.contains_key(**id)).count();
    let twice = emitted.values().filter(|&&n| n != 1).count() + taken_twice;
    let unexpected = emitted.keys().filter(|id| !accepted.contains(id.as_str())).count();

    println!("webhook receiver load test (loopback, {concurrency} connections, Timestamped signatures)");
    println!(
        "  deliveries: {} of {total} in {:.2}s → {rate:.0} deliveries/s",
        samples.len(),
        elapsed.as_secs_f64()
    );
    println!(
        "  answer time: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3
    );
    println!(
        "  distinct events: {originals}, accepted (204): {}; replays sent: {replays}, duplicates acknowledged (200): {replays_ok}; non-2xx/errors: {failed}",
        accepted.len()
    );
    println!(
        "  receiver counters: accepted {}, duplicates {}, refused {}, overloaded {}",
        stats.accepted, stats.duplicates, stats.unauthorized, stats.overloaded
    );
    println!(
        "  emitted: {} ids; lost {lost}, emitted more than once {twice}, emitted but not accepted {unexpected}",
        emitted.len()
    );
    let speed_ok = rate >= 2000.0 && p99 <= Duration::from_millis(20);
    let exact = lost == 0 && twice == 0 && unexpected == 0 && failed == 0 && accepted.len() == originals;
    println!(
        "  targets: ≥ 2000/s and p99 ≤ 20 ms: {}; every accepted id emitted exactly once: {}",
        if speed_ok { "met" } else { "MISSED" },
        if exact { "yes" } else { "NO" }
    );
    if exact { 0 } else { 1 }
}
