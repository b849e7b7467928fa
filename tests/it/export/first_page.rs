//! The export's walk starts with the window's first page as an ordinary page (issue 16): a
//! window that fits in one page is one request, with no probe before it; a bigger one has the
//! rest cut into shards from the second the first page ended in, and the calls of that second
//! come out once. A scripted v3 list on loopback (keyset cursor, `start_time` inclusive,
//! `end_time` exclusive, whole seconds) counts every request.

use crate::support::jsonl_ids;
use crate::support::net::{Request, Server, json, serve};

use std::sync::Arc;

use callscope::api::Client;
use callscope::cli::window::parse_instant;
use callscope::config::{Config, ConnectionArgs, FileConfig};
use callscope::domain::timerange::Window;
use callscope::export::{ExportOptions, ExportSummary, Format, ShardOptions, export};
use chrono::{DateTime, Duration, Utc};

const START: &str = "2026-11-02T00:00:00Z";
const END: &str = "2026-11-03T00:00:00Z";

fn at(s: &str) -> DateTime<Utc> {
    parse_instant(s).unwrap()
}

/// Calls as (id, started_at), ascending by (started_at, id) as the API orders them.
type Calls = Arc<Vec<(String, DateTime<Utc>)>>;

/// `n` calls spread over the window, and `clump` more in the second of call `clump_at`.
fn calls(n: usize, clump_at: usize, clump: usize) -> Calls {
    let (start, end) = (at(START), at(END));
    let step = (end - start).num_seconds() / n as i64;
    let mut v: Vec<(String, DateTime<Utc>)> = (0..n)
        .map(|i| (format!("CA{i:05}"), start + Duration::seconds(step * i as i64 + 7)))
        .collect();
    let second = v[clump_at].1;
    for k in 0..clump {
        v.push((
            format!("CA{clump_at:05}-{k}"),
            second + Duration::milliseconds(k as i64 * 10),
        ));
    }
    v.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
    Arc::new(v)
}

fn record(id: &str, t: DateTime<Utc>) -> String {
    format!(
        r#"{{"id":"{id}","channel":"VOICE-SIP","environment":"live","started_at":"{}","in_progress":false,"num_turns":0,"turns":[]}}"#,
        t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    )
}

/// The v3 list over `calls`; with `ignore_window` it answers every call whatever the window.
async fn list_server(calls: Calls, ignore_window: bool) -> Server {
    serve(move |req: &Request| {
        let time = |k: &str| req.query(k).map(|v| at(&v));
        let (from, to) = (time("start_time"), time("end_time"));
        let limit: usize = req.query("limit").and_then(|l| l.parse().ok()).unwrap_or(100);
        // The cursor is the index of the next call in the (filtered) order.
        let skip: usize = req.query("cursor").and_then(|c| c.parse().ok()).unwrap_or(0);
        let selected: Vec<&(String, DateTime<Utc>)> = calls
            .iter()
            .filter(|(_, t)| ignore_window || (from.is_none_or(|f| *t >= f) && to.is_none_or(|e| *t < e)))
            .collect();
        let page: Vec<String> = selected
            .iter()
            .skip(skip)
            .take(limit)
            .map(|(id, t)| record(id, *t))
            .collect();
        let next = skip + page.len();
        let cursor = if next < selected.len() {
            format!("\"{next}\"")
        } else {
            "null".into()
        };
        json(&format!(
            r#"{{"conversations":[{}],"cursor":{cursor}}}"#,
            page.join(",")
        ))
    })
    .await
}

fn client(base: &str) -> Client {
    let args = ConnectionArgs {
        base_url: Some(base.into()),
        platform_url: Some(base.into()),
        account_id: Some("ws-1".into()),
        project_id: Some("PROJECT-1".into()),
        ..Default::default()
    };
    let cfg = Config::resolve_with_file(
        &args,
        &|k| (k == "POLYAI_API_KEY").then(|| "k".into()),
        FileConfig::default(),
    )
    .unwrap();
    Client::new(&cfg).unwrap()
}

fn args(page_size: u32, concurrency: Option<u32>) -> ExportOptions {
    ExportOptions {
        window: Window {
            start: Some(at(START)),
            end: Some(at(END)),
            ..Window::default()
        },
        format: Format::Jsonl,
        page_size,
        shards: ShardOptions {
            concurrency,
            unordered: false,
            resume: false,
        },
        ..ExportOptions::default()
    }
}

async fn run(s: &Server, page_size: u32, concurrency: Option<u32>) -> anyhow::Result<(ExportSummary, String)> {
    let mut out = Vec::new();
    let summary = export(&client(&s.url), &args(page_size, concurrency), "live", &mut out).await?;
    Ok((summary, String::from_utf8(out).unwrap()))
}

#[tokio::test]
async fn a_window_that_fits_in_one_page_is_one_request() {
    let s = list_server(calls(51, 0, 0), false).await;
    let (summary, out) = run(&s, 200, None).await.unwrap();
    assert_eq!((summary.conversations, summary.pages), (51, 1), "{summary:?}");
    assert_eq!(jsonl_ids(&out).len(), 51);
    let reqs = s.requests();
    assert_eq!(
        reqs.len(),
        1,
        "one request, no probe: {:?}",
        reqs.iter().map(|r| &r.target).collect::<Vec<_>>()
    );
    // The ordinary first page: the whole window at the page size asked for.
    assert_eq!(reqs[0].query("limit").as_deref(), Some("200"));
    assert_eq!(reqs[0].query("start_time").as_deref(), Some(START));
    assert_eq!(reqs[0].query("end_time").as_deref(), Some(END));
}

#[tokio::test]
async fn the_rest_is_sharded_from_the_second_the_first_page_ended_in_and_that_second_comes_out_once() {
    // Page size 50: 6 more calls share call 47's second, and the first page ends among them
    // (its last is the second of those), so the first shard after it starts with calls the
    // first page already held.
    let data = calls(400, 47, 6);
    let s = list_server(data.clone(), false).await;
    let (one, sequential) = run(&s, 50, Some(1)).await.unwrap();
    let sequential_requests = s.hits();
    let want: Vec<String> = data.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(
        jsonl_ids(&sequential),
        want,
        "the sequential walk is every call once, in order"
    );
    assert_eq!(one.pages as usize, sequential_requests);

    let s = list_server(data.clone(), false).await;
    let (many, sharded) = run(&s, 50, None).await.unwrap();
    assert!(
        sharded == sequential,
        "the sharded export differs from the sequential one"
    );
    assert_eq!(many.conversations, one.conversations);
    let reqs = s.requests();
    assert_eq!(reqs.len() as u64, many.pages, "one request per page, no probe");
    assert_eq!(
        reqs[0].query("start_time").as_deref(),
        Some(START),
        "the first page first"
    );
    // Everything after the first page starts at or after the second its last call began in.
    let boundary = data[49].1.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let starts: Vec<String> = reqs[1..].iter().filter_map(|r| r.query("start_time")).collect();
    assert!(starts.iter().all(|t| at(t) >= at(&boundary)), "{starts:?}");
    assert!(starts.contains(&boundary), "the rest starts at {boundary}: {starts:?}");
    assert!(
        reqs.len() > 2 && starts.iter().collect::<std::collections::HashSet<_>>().len() > 1,
        "the rest walked in several shards: {starts:?}"
    );
}

#[tokio::test]
async fn a_first_page_outside_the_window_keeps_the_walk_in_one_sequence() {
    // The server ignores the window and the data reaches past it: the first page shows it.
    let mut v: Vec<(String, DateTime<Utc>)> = calls(120, 0, 0).to_vec();
    v.insert(0, ("CA-early".into(), at(START) - Duration::hours(1)));
    let s = list_server(Arc::new(v.clone()), true).await;
    let (summary, out) = run(&s, 50, None).await.unwrap();
    assert_eq!(jsonl_ids(&out), v.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>());
    assert_eq!(summary.pages, 3);
    assert!(
        s.requests()
            .iter()
            .all(|r| r.query("start_time").as_deref() == Some(START)),
        "no shards"
    );
}

#[tokio::test]
async fn a_server_that_ignores_the_shards_windows_is_an_error_not_duplicates() {
    // Every call is inside the window, so the first page cannot tell; the shards can.
    let s = list_server(calls(300, 0, 0), true).await;
    let err = run(&s, 50, None).await.unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains("outside the window") && msg.contains("--concurrency 1"),
        "{msg}"
    );
    // Walked in one sequence it is every call once.
    let s = list_server(calls(300, 0, 0), true).await;
    let (summary, _) = run(&s, 50, Some(1)).await.unwrap();
    assert_eq!(summary.conversations, 300);
}

#[tokio::test]
async fn a_dense_end_of_the_window_is_cut_on_the_way_not_walked_one_page_after_another() {
    // 40 calls over the first 20 hours, then 500 over the last 4: the first page judges the
    // window sparse, so the rest is planned as one shard holding 10 pages.
    let start = at(START);
    let mut v: Vec<(String, DateTime<Utc>)> = (0..40)
        .map(|i| (format!("CA{i:05}"), start + Duration::minutes(30 * i)))
        .collect();
    let dense = start + Duration::hours(20);
    v.extend((0..500).map(|i| (format!("CB{i:05}"), dense + Duration::seconds(28 * i + 3))));
    v.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
    let data = Arc::new(v);

    let s = list_server(data.clone(), false).await;
    let (one, sequential) = run(&s, 50, Some(1)).await.unwrap();
    assert_eq!(
        jsonl_ids(&sequential),
        data.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>()
    );

    for unordered in [false, true] {
        let s = list_server(data.clone(), false).await;
        let mut out = Vec::new();
        let mut a = args(50, None);
        a.shards.unordered = unordered;
        let many = export(&client(&s.url), &a, "live", &mut out).await.unwrap();
        let sharded = String::from_utf8(out).unwrap();
        assert_eq!(many.conversations, one.conversations);
        if unordered {
            let (mut x, mut y) = (jsonl_ids(&sharded), jsonl_ids(&sequential));
            x.sort();
            y.sort();
            assert_eq!(x, y, "every call once");
        } else {
            assert!(
                sharded == sequential,
                "the sharded export differs from the sequential one"
            );
        }
        // Requests per shard (its window): the dense shard was cut into shards of about a page
        // each, instead of following its cursor page after page.
        let reqs = s.requests();
        let mut per_window: std::collections::HashMap<(Option<String>, Option<String>), usize> = Default::default();
        for r in &reqs {
            *per_window
                .entry((r.query("start_time"), r.query("end_time")))
                .or_default() += 1;
        }
        let longest = per_window.values().max().copied().unwrap_or(0);
        assert!(
            longest <= 3,
            "a shard walked {longest} pages one after another (unordered: {unordered}): {per_window:?}"
        );
        assert!(
            per_window
                .keys()
                .filter_map(|(s, _)| s.as_deref())
                .any(|s| at(s) > dense + Duration::hours(1)),
            "shards start inside the dense part: {per_window:?}"
        );
    }
}
