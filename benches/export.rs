//! `callscope export` over a far-away network (issue 16): through the project's shaping proxy
//! at 80 ms RTT / 100 Mbit/s and at 20 ms / 1 Gbit/s, on a 7-day window of the stand-in's live
//! calls, against the quickstart's Python `iter_conversations` loop and the sequential floor (a
//! pager that parses nothing, one uncompressed request at a time), all at page size 200.
//!
//! Run: `cargo bench --bench export` (needs python3 with requests). Prints each run's time
//! (also in round trips of the shape), bytes on the wire and TCP connections (the proxy charges
//! a round trip for each new one, and shares one link per direction between them), then the
//! ratios per shape. A quick run:
//! `CALLSCOPE_BENCH_CONVERSATIONS=20000 cargo bench --bench export`.
//! Env: `CALLSCOPE_BENCH_CONVERSATIONS` (generated over 30 days; default 100,000 ≈ 19,000 live
//! calls in 7 days), `CALLSCOPE_BENCH_DAYS` (window, default 7).

#[path = "support/shaping_proxy.rs"]
mod shaping_proxy;

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use callscope::standin::{self, StandinOptions};
use shaping_proxy::{Shape, ShapingProxy};

fn env_num(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v.parse().unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

struct Run {
    summaries: usize,
    secs: f64,
    wire: u64,
    /// TCP connections the proxy accepted: about the concurrency with keep-alive, about the
    /// requests without.
    connections: u64,
    /// Pages (requests) the export reports; `None` for the others.
    pages: Option<u64>,
    /// The shape's round trip, to tell how many of them the run took.
    rtt: Duration,
}

impl Run {
    fn line(&self, what: &str) -> String {
        format!(
            "  {what:<34} {:>6} summaries in {:>6.2}s (≈ {:>5.1} RTT) = {:>6.0}/s, {:>6.1} MB on the wire, {:>4} connections{}",
            self.summaries,
            self.secs,
            self.secs / self.rtt.as_secs_f64(),
            self.summaries as f64 / self.secs,
            self.wire as f64 / 1e6,
            self.connections,
            self.pages.map(|p| format!(", {p} pages")).unwrap_or_default()
        )
    }
}

/// What one measured run reports: summaries, seconds, pages when known.
type Outcome = (usize, f64, Option<u64>);

fn main() {
    let conversations = env_num("CALLSCOPE_BENCH_CONVERSATIONS", 100_000);
    let days = env_num("CALLSCOPE_BENCH_DAYS", 7) as i64;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let t = Instant::now();
    let s = rt
        .block_on(standin::start(StandinOptions {
            conversations,
            ..Default::default()
        }))
        .unwrap();
    println!(
        "stand-in with {conversations} conversations started in {:.2?}",
        t.elapsed()
    );
    let end = chrono::Utc::now();
    let start = end - chrono::Duration::days(days);
    let (start_s, end_s) = (
        start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    );
    let upstream: SocketAddr = s.runtime_url.trim_start_matches("http://").parse().unwrap();
    let env = |base: &str| {
        vec![
            ("POLYAI_BASE_URL", base.to_string()),
            ("POLYAI_PLATFORM_URL", s.platform_url.clone()),
            ("POLYAI_API_KEY", s.api_key.clone()),
            ("POLYAI_ACCOUNT_ID", s.account_id.clone()),
            ("POLYAI_PROJECT_ID", s.project_id.clone()),
        ]
    };

    let step1 = include_str!("../tests/quickstart/step1_first_call.py");
    let step2 = include_str!("../tests/quickstart/step2_page.py");
    // The quickstart's own code; its loop prints every conversation (counted here).
    let python = format!(
        "{}\n{}\n",
        step1.split("\nend = ").next().unwrap(),
        step2.replace(
            "for conv in iter_conversations(start.isoformat(), end.isoformat()):",
            &format!("for conv in iter_conversations({start_s:?}, {end_s:?}):")
        )
    );
    let export = |base: &str, extra: &[&str]| -> Outcome {
        let t = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_callscope"))
            .args([
                "export",
                "--page-size",
                "200",
                "--format",
                "jsonl",
                "--start",
                &start_s,
                "--end",
                &end_s,
            ])
            .args(extra)
            .envs(env(base))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let secs = t.elapsed().as_secs_f64();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        // "exported N conversations in M pages"
        let words: Vec<&str> = stderr.split_whitespace().collect();
        let pages = words
            .iter()
            .position(|w| w.starts_with("page"))
            .and_then(|i| words[i - 1].parse().ok());
        (words[1].parse().unwrap(), secs, pages)
    };
    let quickstart = |base: &str| -> Outcome {
        let t = Instant::now();
        let out = Command::new("python3")
            .arg("-c")
            .arg(&python)
            .envs(env(base))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let secs = t.elapsed().as_secs_f64();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        // Minus step 1's print (as the loopback bench counted; it may differ from the others by one).
        (String::from_utf8_lossy(&out.stdout).lines().count() - 1, secs, None)
    };

    // Warm the stand-in's JSON cache for both kinds of page (with and without latency), so every
    // measured run sees the same server.
    let (n, secs, _) = rt.block_on(raw_walk(&s.runtime_url, &s, &start_s, &end_s));
    println!("warm-up: raw pager on loopback {n} summaries in {secs:.2}s");
    let (n, secs, _) = export(&s.runtime_url, &["--concurrency", "1"]);
    println!("warm-up: export on loopback {n} summaries in {secs:.2}s");

    let shapes = [
        Shape::rtt(Duration::from_millis(80), 100_000_000),
        Shape::rtt(Duration::from_millis(20), 1_000_000_000),
    ];
    let mut table = Vec::new();
    for shape in shapes {
        println!("through the shaping proxy: {}", shape.describe());
        // A fresh proxy per run, so its byte counters are that run's.
        let through = |f: &dyn Fn(&str) -> Outcome| -> Run {
            let proxy = rt.block_on(ShapingProxy::start(upstream, shape)).unwrap();
            let base = format!("http://{}", proxy.addr);
            let (summaries, secs, pages) = f(&base);
            Run {
                summaries,
                secs,
                wire: proxy.down_bytes() + proxy.up_bytes(),
                connections: proxy.connections(),
                pages,
                rtt: shape.up.delay + shape.down.delay,
            }
        };
        let py = through(&|b| quickstart(b));
        println!("{}", py.line("python quickstart loop"));
        let floor = through(&|b| rt.block_on(raw_walk(b, &s, &start_s, &end_s)));
        println!("{}", floor.line("sequential floor (raw, identity)"));
        let seq = through(&|b| export(b, &["--concurrency", "1"]));
        println!("{}", seq.line("export --concurrency 1"));
        let ours = through(&|b| export(b, &[]));
        println!("{}", ours.line("export (adaptive shards)"));
        // Resumable, to a file: part files and a checkpoint after every page.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("calls.jsonl");
        let file_arg = file.to_str().unwrap();
        let to_file = through(&|b| export(b, &["--resume", "--out", file_arg]));
        println!("{}", to_file.line("export --resume --out FILE"));
        assert_eq!(ours.summaries, floor.summaries, "the same window");
        table.push((
            shape,
            py.secs / ours.secs,
            floor.secs / ours.secs,
            floor.wire as f64 / ours.wire as f64,
        ));
    }
    println!("\nexport's speed-up, as ratios of wall time (higher = export faster):");
    for (shape, vs_py, vs_floor, bytes) in table {
        println!(
            "  {:<40} vs python loop {vs_py:>5.2}x   vs sequential floor {vs_floor:>5.2}x   wire bytes 1/{bytes:.1}",
            shape.describe()
        );
    }
}

/// The floor: one request at a time, no compression, items split but not parsed.
async fn raw_walk(base: &str, s: &standin::Standin, start: &str, end: &str) -> Outcome {
    let http = reqwest::Client::builder()
        .no_gzip()
        .no_brotli()
        .no_zstd()
        .build()
        .unwrap();
    let base = format!("{base}/v3/{}/{}/conversations", s.account_id, s.project_id);
    let t = Instant::now();
    let mut cursor: Option<String> = None;
    let mut n = 0;
    loop {
        let mut url = reqwest::Url::parse(&base).unwrap();
        url.query_pairs_mut()
            .append_pair("start_time", start)
            .append_pair("end_time", end)
            .append_pair("limit", "200")
            .append_pair("client_env", "live");
        if let Some(c) = &cursor {
            url.query_pairs_mut().append_pair("cursor", c);
        }
        let bytes = http
            .get(url)
            .header("x-api-key", &s.api_key)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        #[derive(serde::Deserialize)]
        struct Page<'a> {
            #[serde(borrow)]
            conversations: Vec<&'a serde_json::value::RawValue>,
            cursor: Option<String>,
        }
        let page: Page = serde_json::from_slice(&bytes).unwrap();
        n += page.conversations.len();
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    (n, t.elapsed().as_secs_f64(), None)
}
