//! Load test of the webhook receiver on loopback: signed deliveries at full speed from a
//! bounded pool of keep-alive connections, 5% of them replays of an earlier event id.
//!
//! Targets: ≥ 2,000 deliveries/s, p99 answer time ≤ 20 ms, and no loss: every accepted
//! event id is emitted on the queue exactly once, no replay is emitted.
//!
//! `cargo bench --bench webhook` (env `DELIVERIES`, `CONCURRENCY` override the defaults).
//! Stops by itself after `DELIVERIES` requests or 60 s, whichever comes first.
//!
//! Under abuse: `IDLE_CONNECTIONS=N` holds N connections open that never send a byte (each
//! reconnects when the server closes it), `SLOWLORIS=M` adds M that send one header byte a
//! second. `RECEIVER_ULIMIT=L` runs the receiver as `callscope listen` in a child process
//! under `ulimit -n L` (events counted from its stdout), as a user would run it:
//! `RECEIVER_ULIMIT=1024 IDLE_CONNECTIONS=1050 cargo bench --bench webhook`.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use callscope::standin::webhooks::deliver::{EVENT_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use callscope::webhook::receiver::StatsSnapshot;
use callscope::webhook::server::{ServeLimits, raise_descriptor_limit, serve};
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
    let abuse = Abuse {
        idle: env_or("IDLE_CONNECTIONS", 0),
        slowloris: env_or("SLOWLORIS", 0),
        receiver_ulimit: std::env::var("RECEIVER_ULIMIT").ok().and_then(|v| v.parse().ok()),
    };
    let deadline = Duration::from_secs(60);
    // The abusive connections live in this process too.
    raise_descriptor_limit();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let code = runtime.block_on(run(total, concurrency, deadline, abuse));
    std::process::exit(code);
}

/// What one request came to.
struct Sample {
    id: String,
    replay: bool,
    status: u16,
    latency: Duration,
}

#[derive(Debug, Clone, Copy)]
struct Abuse {
    idle: usize,
    slowloris: usize,
    receiver_ulimit: Option<u64>,
}

/// Where the receiver runs: in this process, or as `callscope listen` in a child.
enum Target {
    InProcess(callscope::webhook::ReceiverHandle),
    Child(std::process::Child, std::thread::JoinHandle<Vec<String>>),
}

/// Counts the ids the receiver emits.
type Emitted = Arc<Mutex<HashMap<String, u32>>>;

async fn start_in_process(emitted: Emitted) -> (SocketAddr, Target) {
    let mut config = ReceiverConfig::new(vec![SigningSecret::new(SECRET)]);
    config.queue_capacity = 8192;
    let rx = receiver(config);
    let handle = rx.handle.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let limits = ServeLimits::for_this_process();
    tokio::spawn(serve(listener, rx.router, limits, std::future::pending()));
    let mut events = rx.events;
    tokio::spawn(async move {
        while let Some(e) = events.recv().await {
            *emitted.lock().unwrap().entry(e.id).or_default() += 1;
        }
    });
    (addr, Target::InProcess(handle))
}

/// `callscope listen` under `ulimit -n limit`; emitted ids come from its JSON lines.
fn start_child(limit: u64, emitted: Emitted) -> (SocketAddr, Target) {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!(r#"ulimit -n {limit} && exec "$0" listen --addr 127.0.0.1:0"#))
        .arg(env!("CARGO_BIN_EXE_callscope"))
        .env("POLYAI_WEBHOOK_SECRET", SECRET)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run callscope listen");
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let first = stderr.next().expect("a listening line").expect("stderr");
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {first:?}"));
    let addr = url["http://".len()..url.len() - "/polyai-events".len()]
        .parse()
        .expect("address");
    let rest = std::thread::spawn(move || stderr.map_while(Result::ok).collect());
    let stdout = BufReader::new(child.stdout.take().unwrap());
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
                let id = v["id"].as_str().unwrap_or_default().to_string();
                *emitted.lock().unwrap().entry(id).or_default() += 1;
            }
        }
    });
    (addr, Target::Child(child, rest))
}

impl Target {
    /// Stops the receiver and reads its counters.
    fn finish(self) -> StatsSnapshot {
        match self {
            Target::InProcess(handle) => handle.stats(),
            Target::Child(mut child, stderr) => {
                // SAFETY: signals our own child.
                unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
                let _ = child.wait();
                let log = stderr.join().unwrap_or_default().join("\n");
                // "stopped: N accepted, N duplicates, N refused (signature), ..."
                let count = |word: &str| {
                    let words: Vec<&str> = log.split([' ', ',']).filter(|w| !w.is_empty()).collect();
                    words
                        .windows(2)
                        .rev()
                        .find(|w| w[1] == word)
                        .and_then(|w| w[0].parse().ok())
                        .unwrap_or(0)
                };
                StatsSnapshot {
                    accepted: count("accepted"),
                    duplicates: count("duplicates"),
                    unauthorized: count("refused"),
                    ..Default::default()
                }
            }
        }
    }
}

/// Connections that hold a slot without ever finishing a request; each reconnects when the
/// server closes it. Returns (open now, closed by the server so far).
fn start_abuse(addr: SocketAddr, abuse: Abuse) -> (Arc<AtomicUsize>, Arc<AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let open = Arc::new(AtomicUsize::new(0));
    let closed = Arc::new(AtomicUsize::new(0));
    for n in 0..abuse.idle + abuse.slowloris {
        let slowloris = n >= abuse.idle;
        let (open, closed) = (open.clone(), closed.clone());
        tokio::spawn(async move {
            loop {
                let connect = tokio::time::timeout(Duration::from_secs(5), tokio::net::TcpStream::connect(addr)).await;
                let Ok(Ok(mut s)) = connect else {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                };
                open.fetch_add(1, Ordering::Relaxed);
                if slowloris {
                    let _ = s.write_all(b"POST /polyai-events HTTP/1.1\r\nHost: x\r\n").await;
                    while s.write_all(b"X").await.is_ok() {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                } else {
                    let mut buf = [0u8; 256];
                    while matches!(s.read(&mut buf).await, Ok(n) if n > 0) {}
                }
                open.fetch_sub(1, Ordering::Relaxed);
                closed.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
    }
    (open, closed)
}

async fn run(total: usize, concurrency: usize, deadline: Duration, abuse: Abuse) -> i32 {
    let emitted: Emitted = Arc::default();
    let (addr, target) = match abuse.receiver_ulimit {
        Some(limit) => start_child(limit, emitted.clone()),
        None => start_in_process(emitted.clone()).await,
    };
    let (abusers_open, abusers_closed) = start_abuse(addr, abuse);
    let wanted = abuse.idle + abuse.slowloris;
    let wait_until = Instant::now() + Duration::from_secs(10);
    while abusers_open.load(Ordering::Relaxed) < wanted && Instant::now() < wait_until {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let abusers_at_start = abusers_open.load(Ordering::Relaxed);

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
    let abusers_closed = abusers_closed.load(Ordering::Relaxed);
    let abusers_open = abusers_open.load(Ordering::Relaxed);
    // Give the consumer a moment to drain what was accepted (every 204).
    let taken = samples.iter().filter(|s| s.status == 204).count() as u64;
    let drained = |m: &HashMap<String, u32>| m.values().map(|&n| n as u64).sum::<u64>();
    let wait_until = Instant::now() + Duration::from_secs(5);
    while drained(&emitted.lock().unwrap()) < taken && Instant::now() < wait_until {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let stats = target.finish();
    let emitted = emitted.lock().unwrap().clone();
    if wanted > 0 {
        println!(
            "abuse: {} idle + {} slowloris connections wanted, {abusers_at_start} open when the load began, {abusers_open} at its end; the server closed {abusers_closed} (each reopened)",
            abuse.idle, abuse.slowloris
        );
    }
    if let Some(limit) = abuse.receiver_ulimit {
        println!("receiver: `callscope listen` in a child process under ulimit -n {limit}");
    }
    report(&samples, elapsed, stats, &emitted, total, concurrency)
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
