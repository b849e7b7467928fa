//! What reading records field by field costs: pages of the stand-in (200 calls with their
//! transcripts) decoded as the TUI does (`ConversationPage`) and as the CSV export does
//! (raw records, then each read with a `ReadReport`), against serde_json's own full parse into
//! a `Value` tree as the yardstick; then the same page with an odd field in every record.
//!
//! Run: `cargo bench --bench decode`. Prints MB/s and records/s for each.

use std::time::{Duration, Instant};

use callscope::api::{Client, ConversationPage, HostFamily, ListQuery, RawPage, ReadReport};
use callscope::standin::{self, StandinOptions};
use serde_json::value::RawValue;

const ROUNDS: usize = 40;

fn measure(name: &str, body: &str, records: usize, mut decode: impl FnMut(&str) -> usize) {
    assert_eq!(decode(body), records, "{name}: every record decoded");
    let t = Instant::now();
    for _ in 0..ROUNDS {
        std::hint::black_box(decode(std::hint::black_box(body)));
    }
    let per = t.elapsed() / ROUNDS as u32;
    let secs = per.max(Duration::from_nanos(1)).as_secs_f64();
    println!(
        "{name:<44} {:>8.2?}/page  {:>7.1} MB/s  {:>9.0} records/s",
        per,
        body.len() as f64 / secs / 1e6,
        records as f64 / secs
    );
}

fn run(label: &str, body: &str) {
    let records = serde_json::from_str::<RawPage>(body).unwrap().records.len();
    println!("\n{label}: {records} records, {:.2} MB", body.len() as f64 / 1e6);
    measure("serde_json::Value (yardstick)", body, records, |b| {
        serde_json::from_str::<serde_json::Value>(b).unwrap()["conversations"]
            .as_array()
            .map_or(0, Vec::len)
    });
    measure("ConversationPage (TUI, field by field)", body, records, |b| {
        serde_json::from_str::<ConversationPage>(b).unwrap().conversations.len()
    });
    measure("RawPage + ReadReport (CSV/Markdown export)", body, records, |b| {
        let page: RawPage = serde_json::from_str(b).unwrap();
        let mut report = ReadReport::default();
        page.records.iter().filter_map(|r| report.read(r)).count()
    });
}

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = rt
        .block_on(standin::start(StandinOptions {
            conversations: 400,
            ..Default::default()
        }))
        .unwrap();
    let client = standin_client(&s);
    let end = chrono::Utc::now();
    let query = ListQuery {
        start_time: Some(end - chrono::Duration::days(31)),
        end_time: Some(end),
        limit: Some(200),
        include_latency: true,
        ..Default::default()
    };
    let raw: Box<RawValue> = rt.block_on(client.list_page_as(&query)).unwrap();
    // The summaries have no turns: give each record the transcript its by-id answer has.
    let page: serde_json::Value = serde_json::from_str(raw.get()).unwrap();
    let mut full = Vec::new();
    for c in page["conversations"].as_array().unwrap() {
        let id = c["id"].as_str().unwrap();
        let by_id: Box<RawValue> = rt
            .block_on(client.request_json(
                reqwest::Method::GET,
                HostFamily::Runtime,
                client.url(
                    HostFamily::Runtime,
                    &["v3", client.account_id(), client.project_id(), "conversations", id],
                ),
                None,
            ))
            .unwrap();
        full.push(by_id.get().to_string());
    }
    let clean = format!(r#"{{"conversations":[{}],"cursor":null}}"#, full.join(","));
    run("clean page (stand-in, with transcripts)", &clean);
    // Each record gets an odd handoff, and each turn an odd latency.
    let odd = clean
        .replace(r#""handoff":false"#, r#""handoff":"sometimes""#)
        .replace(r#""latency":"#, r#""latency":"fast","was":"#);
    run("every record with odd fields", &odd);
}

fn standin_client(s: &standin::Standin) -> Client {
    let cfg = callscope::config::Config::resolve_with_file(
        &callscope::config::ConnectionArgs {
            base_url: Some(s.runtime_url.clone()),
            platform_url: Some(s.platform_url.clone()),
            account_id: Some(s.account_id.clone()),
            project_id: Some(s.project_id.clone()),
            ..Default::default()
        },
        &|k| (k == "POLYAI_API_KEY").then(|| s.api_key.clone()),
        Default::default(),
    )
    .unwrap();
    Client::new(&cfg).unwrap()
}
