//! The sharded export (issue 16): in time order it is the sequential export byte for byte in
//! every format; a SIGKILLed export resumes to the same file without fetching pages twice beyond
//! the ones in flight; a server answering 429 for a while slows it down, and everything still
//! arrives once. Requests are counted at a forwarding server in front of the stand-in.

use crate::support as common;

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use callscope::cli::window::parse_instant;
use callscope::domain::timerange::Window;
use callscope::export::{ExportOptions, Format, ShardOptions, export};
use callscope::standin::{self, Standin, StandinOptions};

/// A request the forwarder saw: when, the list page it asked for, what it answered.
#[derive(Debug, Clone)]
struct Seen {
    at: Instant,
    /// Path and query: the same page asked twice has the same target.
    target: String,
    /// 0: held and never answered (see [`Forwarder::hold_from`]).
    status: u16,
}

/// Forwards every request to the stand-in's runtime host, logging it; while `throttle(list
/// requests so far, time since the first)` says so, list requests get a 429 with `Retry-After: 1`.
struct Forwarder {
    upstream: String,
    http: reqwest::Client,
    delay: Duration,
    log: Mutex<Vec<Seen>>,
    throttle: Box<dyn Fn(usize, Duration) -> bool + Send + Sync>,
    /// List requests by arrival.
    arrivals: AtomicUsize,
    /// The list request (by arrival, from 0) from which on requests are held: logged at once
    /// with status 0, never answered until [`Forwarder::release`] (then a 503). `usize::MAX`: none.
    hold_from: AtomicUsize,
    released: tokio::sync::watch::Sender<bool>,
}

impl Forwarder {
    /// Requests held so far.
    fn held(&self) -> usize {
        self.list_requests().iter().filter(|s| s.status == 0).count()
    }

    /// Stops holding: the held requests get a 503, new ones are forwarded.
    fn release(&self) {
        self.hold_from.store(usize::MAX, Ordering::SeqCst);
        self.released.send_replace(true);
    }

    fn list_requests(&self) -> Vec<Seen> {
        let log = self.log.lock().unwrap();
        log.iter()
            .filter(|s| s.target.contains("/conversations?"))
            .cloned()
            .collect()
    }
}

async fn forward(State(f): State<Arc<Forwarder>>, req: Request) -> Response {
    let target = req.uri().to_string();
    let at = Instant::now();
    let is_list = target.contains("/conversations?");
    if is_list && f.arrivals.fetch_add(1, Ordering::SeqCst) >= f.hold_from.load(Ordering::SeqCst) {
        let mut released = f.released.subscribe();
        f.log.lock().unwrap().push(Seen { at, target, status: 0 });
        let _ = released.wait_for(|r| *r).await;
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let throttled = is_list && {
        let log = f.log.lock().unwrap();
        let lists: Vec<&Seen> = log.iter().filter(|s| s.target.contains("/conversations?")).collect();
        let since = lists.first().map(|s| at - s.at).unwrap_or_default();
        (f.throttle)(lists.len(), since)
    };
    if throttled {
        f.log.lock().unwrap().push(Seen {
            at,
            target,
            status: 429,
        });
        let mut r = (
            StatusCode::TOO_MANY_REQUESTS,
            r#"{"error":{"code":"RATE_LIMITED","message":"slow down"}}"#,
        )
            .into_response();
        r.headers_mut().insert("retry-after", HeaderValue::from_static("1"));
        r.headers_mut()
            .insert("content-type", HeaderValue::from_static("application/json"));
        return r;
    }
    tokio::time::sleep(f.delay).await;
    let mut up = f.http.get(format!("{}{target}", f.upstream));
    if let Some(k) = req.headers().get("x-api-key") {
        up = up.header("x-api-key", k.clone());
    }
    let resp = up.send().await.unwrap();
    let status = resp.status().as_u16();
    let body = resp.bytes().await.unwrap();
    f.log.lock().unwrap().push(Seen { at, target, status });
    let mut r = (StatusCode::from_u16(status).unwrap(), body).into_response();
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    r
}

async fn forwarder(
    s: &Standin,
    delay: Duration,
    throttle: impl Fn(usize, Duration) -> bool + Send + Sync + 'static,
) -> (String, Arc<Forwarder>) {
    let f = Arc::new(Forwarder {
        upstream: s.runtime_url.clone(),
        http: reqwest::Client::new(),
        delay,
        log: Mutex::default(),
        throttle: Box::new(throttle),
        arrivals: AtomicUsize::new(0),
        hold_from: AtomicUsize::new(usize::MAX),
        released: tokio::sync::watch::channel(false).0,
    });
    let app = axum::Router::new().fallback(forward).with_state(f.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (url, f)
}

const START: &str = "2026-11-02T00:00:00Z";
const END: &str = "2026-11-09T00:00:00Z";

fn options() -> StandinOptions {
    StandinOptions {
        conversations: 3000,
        now: Some(parse_instant("2026-11-10T00:00:00Z").unwrap()),
        ..Default::default()
    }
}

fn args(format: Format, concurrency: Option<u32>, unordered: bool) -> ExportOptions {
    ExportOptions {
        window: Window {
            start: Some(parse_instant(START).unwrap()),
            end: Some(parse_instant(END).unwrap()),
            ..Window::default()
        },
        format,
        page_size: 50,
        shards: ShardOptions {
            concurrency,
            unordered,
            resume: false,
        },
        ..crate::support::export_args(format)
    }
}

#[tokio::test]
async fn ordered_sharded_output_is_the_sequential_export_byte_for_byte() {
    let s = standin::start(options()).await.unwrap();
    for format in [Format::Jsonl, Format::Csv, Format::Md] {
        let mut sequential = Vec::new();
        let one = export(
            &common::client(&s),
            &args(format, Some(1), false),
            "live",
            &mut sequential,
        )
        .await
        .unwrap();
        assert!(one.conversations > 300, "a window worth sharding: {one:?}");
        for concurrency in [None, Some(5)] {
            let mut sharded = Vec::new();
            let many = export(
                &common::client(&s),
                &args(format, concurrency, false),
                "live",
                &mut sharded,
            )
            .await
            .unwrap();
            assert_eq!(many.conversations, one.conversations);
            assert!(
                many.pages > one.pages,
                "walked in shards: {} vs {} pages",
                many.pages,
                one.pages
            );
            assert!(
                sequential == sharded,
                "{format:?} with {concurrency:?} differs from the sequential export"
            );
        }
    }
    // --unordered: the same lines, each once, in whatever order the pages came.
    let (mut a, mut b) = (Vec::new(), Vec::new());
    export(
        &common::client(&s),
        &args(Format::Jsonl, Some(1), false),
        "live",
        &mut a,
    )
    .await
    .unwrap();
    export(&common::client(&s), &args(Format::Jsonl, Some(6), true), "live", &mut b)
        .await
        .unwrap();
    let sorted = |v: &[u8]| {
        let mut l: Vec<String> = String::from_utf8_lossy(v).lines().map(String::from).collect();
        l.sort();
        l
    };
    assert_eq!(sorted(&a), sorted(&b));
}

fn binary(url: &str, s: &Standin, extra: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_callscope"));
    c.args(["export", "--page-size", "50", "--start", START, "--end", END])
        .args(extra)
        .envs(common::env_for(s))
        .env("POLYAI_BASE_URL", url)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_export_resumes_to_the_same_file_and_fetches_only_in_flight_pages_twice() {
    let s = standin::start(options()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (reference, resumed) = (dir.path().join("reference.jsonl"), dir.path().join("out.jsonl"));

    // The uninterrupted run, straight at the stand-in, one request at a time.
    let direct = binary(&s.runtime_url, &s, &["--concurrency", "1", "--out"])
        .arg(&reference)
        .output()
        .unwrap();
    assert!(direct.status.success(), "{}", String::from_utf8_lossy(&direct.stderr));

    // The kill lands midway whatever the machine's load: the first `ANSWERED` list requests are
    // answered, the ones after are held until every one of the 3 slots waits on one, and only
    // then is the export killed. (Killing after a count of answers raced the export's end: the
    // window is only about a dozen pages.)
    const ANSWERED: usize = 4;
    const IN_FLIGHT: usize = 3;
    let (url, f) = forwarder(&s, Duration::ZERO, |_, _| false).await;
    f.hold_from.store(ANSWERED, Ordering::SeqCst);
    let mut child = binary(&url, &s, &["--concurrency", "3", "--resume", "--out"])
        .arg(&resumed)
        .spawn()
        .unwrap();
    let t = Instant::now();
    while f.held() < IN_FLIGHT {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "the export never had {IN_FLIGHT} requests out: {:?}",
            f.list_requests()
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the export finished before it could be killed"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // With every slot waiting, nothing more can be asked or written.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(f.held(), IN_FLIGHT, "never more requests out than --concurrency");
    child.kill().unwrap(); // SIGKILL: nothing runs on the way out
    child.wait().unwrap();
    f.release();
    let before = f.list_requests().len();
    assert_eq!(before, ANSWERED + IN_FLIGHT);
    assert!(!resumed.exists(), "no half file at the target");
    let state = dir.path().join(".out.jsonl.export");
    assert!(state.join("checkpoint.json").exists(), "a checkpoint beside --out");

    let out = tokio::task::spawn_blocking({
        let mut c = binary(&url, &s, &["--concurrency", "3", "--resume", "--out"]);
        c.arg(&resumed);
        move || c.output().unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("resuming the export of 2026-11-02T00:00:00Z"),
        "{stderr}"
    );
    assert!(
        std::fs::read(&resumed).unwrap() == std::fs::read(&reference).unwrap(),
        "the resumed file differs from the uninterrupted one"
    );
    assert!(!state.exists(), "the checkpoint is removed once the file is complete");

    let seen = f.list_requests();
    assert!(
        seen.len() > before + IN_FLIGHT,
        "the resumed run fetched the held pages and the rest: {seen:?}"
    );
    let mut times: HashMap<&str, usize> = HashMap::new();
    for r in &seen {
        *times.entry(r.target.as_str()).or_default() += 1;
    }
    let twice: Vec<_> = times.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.iter().all(|(_, n)| **n == 2), "{twice:?}");
    // The answered pages were all on disk before their slot was free again, so exactly the
    // held ones are asked again.
    assert_eq!(
        twice.len(),
        IN_FLIGHT,
        "pages fetched twice other than the {IN_FLIGHT} in flight: {twice:?}"
    );
    let held: Vec<&str> = seen[..before]
        .iter()
        .filter(|r| r.status == 0)
        .map(|r| r.target.as_str())
        .collect();
    assert!(
        held.iter().all(|t| times[t] == 2),
        "the held pages are the ones asked again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_answering_429_for_a_while_slows_the_export_and_everything_arrives_once() {
    let s = standin::start(options()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (reference, out_path) = (dir.path().join("reference.csv"), dir.path().join("out.csv"));
    let direct = binary(&s.runtime_url, &s, &["--format", "csv", "--concurrency", "1", "--out"])
        .arg(&reference)
        .output()
        .unwrap();
    assert!(direct.status.success(), "{}", String::from_utf8_lossy(&direct.stderr));

    // After 6 list requests, 429 for every one until 2.5 s after the first.
    let (url, f) = forwarder(&s, Duration::from_millis(20), |n, since| {
        n >= 6 && since < Duration::from_millis(2500)
    })
    .await;
    let out = tokio::task::spawn_blocking({
        let mut c = binary(&url, &s, &["--format", "csv", "--out"]);
        c.arg(&out_path);
        move || c.output().unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let seen = f.list_requests();
    let limited = seen.iter().filter(|r| r.status == 429).count();
    assert!(limited > 0, "the window of 429s was hit: {seen:?}");
    assert!(stderr.contains("concurrency was halved"), "{stderr}");
    assert!(
        std::fs::read(&out_path).unwrap() == std::fs::read(&reference).unwrap(),
        "every row once, in order"
    );
    // Each page was answered 200 exactly once.
    let mut ok: HashMap<&str, usize> = HashMap::new();
    for r in seen.iter().filter(|r| r.status == 200) {
        *ok.entry(r.target.as_str()).or_default() += 1;
    }
    assert!(ok.values().all(|n| *n == 1), "a page was fetched twice");
    // Retry-After is honoured: a page answered 429 is asked again no sooner than a second
    // later. Its retry leaves only after the export has read the 429, so this holds however
    // loaded the machine is.
    for (i, r) in seen.iter().enumerate().filter(|(_, r)| r.status == 429) {
        if let Some(again) = seen[i + 1..].iter().find(|s| s.target == r.target) {
            assert!(
                again.at >= r.at + Duration::from_millis(990),
                "{} asked again {:?} after its 429",
                r.target,
                again.at - r.at
            );
        }
    }
    // And shared: from the first 429 until its Retry-After has passed (while every answer is a
    // 429) only requests already on their way arrive. A burst sent together can reach the
    // server well after the first 429 when the machine is loaded, so they are told apart by
    // what they ask, not by when: none is a page asked before, no shard (a window) has two, and
    // there are no more of them than the export ever had out at once. A shard that went on
    // asking would repeat its page; shards that did not share the pause would outnumber it.
    let first = seen.iter().find(|r| r.status == 429).unwrap().at;
    let pause_end = (first + Duration::from_secs(1)).min(seen[0].at + Duration::from_millis(2500));
    let during: Vec<&Seen> = seen.iter().filter(|r| r.at > first && r.at < pause_end).collect();
    assert!(during.iter().all(|r| r.status == 429), "{during:?}");
    let asked_before = |r: &Seen| seen.iter().any(|s| s.at < r.at && s.target == r.target);
    assert!(
        !during.iter().any(|r| asked_before(r)),
        "a page asked again during the Retry-After of the first 429: {during:?}"
    );
    let shard = |r: &Seen| {
        let q = |k: &str| {
            r.target
                .split(['?', '&'])
                .find_map(|kv| kv.strip_prefix(k))
                .map(str::to_string)
        };
        (q("start_time="), q("end_time="))
    };
    let shards: std::collections::HashSet<_> = during.iter().map(|r| shard(r)).collect();
    assert_eq!(
        shards.len(),
        during.len(),
        "a shard asked twice during the pause: {during:?}"
    );
    let peak: usize = stderr
        .split("(peak ")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no peak concurrency in {stderr}"));
    assert!(
        during.len() <= peak,
        "{} requests during the pause, more than the {peak} ever out at once: {during:?}",
        during.len()
    );
}
