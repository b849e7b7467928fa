//! `callscope export` against the quickstart's Python `iter_conversations` loop, on the same
//! stand-in in the same run, at the same page size (200).
//!
//! Run: `cargo bench --bench export` (needs python3 with requests). Prints summaries/s for
//! each, the ratio, and the stand-in's own serving rate (raw pages, no parsing).

use std::process::{Command, Stdio};
use std::time::Instant;

use callscope::standin::{self, StandinOptions};

const CONVERSATIONS: usize = 70_000; // ~80 % live → ≥ 50,000 summaries in the window
const ROUNDS: usize = 3;

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let t = Instant::now();
    let s = rt
        .block_on(standin::start(StandinOptions {
            conversations: CONVERSATIONS,
            ..Default::default()
        }))
        .unwrap();
    println!(
        "stand-in with {CONVERSATIONS} conversations started in {:.2?}",
        t.elapsed()
    );
    let end = chrono::Utc::now();
    let start = end - chrono::Duration::days(31);
    let (start_s, end_s) = (
        start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    );
    let env = [
        ("POLYAI_BASE_URL", s.runtime_url.clone()),
        ("POLYAI_PLATFORM_URL", s.platform_url.clone()),
        ("POLYAI_API_KEY", s.api_key.clone()),
        ("POLYAI_ACCOUNT_ID", s.account_id.clone()),
        ("POLYAI_PROJECT_ID", s.project_id.clone()),
    ];

    // The stand-in alone: raw page bodies over one keep-alive connection, no parsing of turns.
    // The first walk builds each call's JSON; later ones reuse it (finished calls never change).
    for pass in ["cold", "warm"] {
        let (n, secs) = rt.block_on(raw_walk(&s, &start_s, &end_s));
        println!(
            "stand-in serving ({pass}): {n} summaries in {secs:.2}s = {:.0} summaries/s",
            n as f64 / secs
        );
    }

    let step1 = include_str!("../tests/quickstart/step1_first_call.py");
    let step2 = include_str!("../tests/quickstart/step2_page.py");
    // The quickstart's own code; its loop prints every conversation (to /dev/null here).
    let python = format!(
        "{}\n{}\n",
        step1.split("\nend = ").next().unwrap(),
        step2.replace(
            "for conv in iter_conversations(start.isoformat(), end.isoformat()):",
            &format!("for conv in iter_conversations({start_s:?}, {end_s:?}):")
        )
    );
    // Warm the stand-in's cache for the export's `include_latency=true` pages too.
    let warm = Command::new(env!("CARGO_BIN_EXE_callscope"))
        .args(["export", "--page-size", "200", "--start", &start_s, "--end", &end_s])
        .envs(env.iter().cloned())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(warm.success());
    let mut rust_rates = Vec::new();
    let mut py_rates = Vec::new();
    for round in 0..ROUNDS {
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
            .envs(env.iter().cloned())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let secs = t.elapsed().as_secs_f64();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        let n: f64 = stderr.split_whitespace().nth(1).and_then(|w| w.parse().ok()).unwrap();
        rust_rates.push(n / secs);
        println!(
            "round {round}: callscope export   {n:.0} summaries in {secs:.2}s = {:.0}/s",
            n / secs
        );

        let t = Instant::now();
        let out = Command::new("python3")
            .arg("-c")
            .arg(&python)
            .envs(env.iter().cloned())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let secs = t.elapsed().as_secs_f64();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let n = String::from_utf8_lossy(&out.stdout).lines().count() as f64 - 1.0; // minus step 1's print
        py_rates.push(n / secs);
        println!(
            "round {round}: python quickstart  {n:.0} summaries in {secs:.2}s = {:.0}/s",
            n / secs
        );
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v[v.len() / 2]
    };
    let (r, p) = (median(&mut rust_rates), median(&mut py_rates));
    println!(
        "median: callscope export {r:.0}/s, python loop {p:.0}/s, ratio {:.2}x",
        r / p
    );
}

async fn raw_walk(s: &standin::Standin, start: &str, end: &str) -> (usize, f64) {
    let http = reqwest::Client::new();
    let base = format!("{}/v3/{}/{}/conversations", s.runtime_url, s.account_id, s.project_id);
    let t = Instant::now();
    let mut cursor: Option<String> = None;
    let mut n = 0;
    loop {
        let mut url = reqwest::Url::parse(&base).unwrap();
        url.query_pairs_mut()
            .append_pair("start_time", start)
            .append_pair("end_time", end)
            .append_pair("limit", "200");
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
        // Split the page into its items without parsing them: this measures the server.
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
    (n, t.elapsed().as_secs_f64())
}
