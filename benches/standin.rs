//! Stand-in throughput: start-up with 60,000 conversations, then every conversation paged with
//! `limit=200` (all three environments), once with raw reqwest and once with `api::Client::pages`;
//! then the cost of the live platform object (`--shape platform|mixed`).
//!
//! Run: `cargo bench --bench standin` (numbers are printed, never asserted).

use std::time::Instant;

use callscope::api::{Client, ListQuery};
use callscope::config::{Config, ConnectionArgs, FileConfig};
use callscope::standin::{self, StandinOptions};
use serde::Deserialize;
use serde::de::IgnoredAny;

const CONVERSATIONS: usize = 60_000;
const ENVS: [&str; 3] = ["live", "sandbox", "pre-release"];

/// Just enough of a page to walk it: the items are counted, not decoded.
#[derive(Deserialize)]
struct Skim {
    conversations: Vec<IgnoredAny>,
    cursor: Option<String>,
}

fn report(what: &str, summaries: usize, bytes: usize, secs: f64) {
    println!(
        "{what:<34} {summaries:>6} summaries in {secs:>6.2} s = {:>8.0} summaries/s, {:>6.1} MB/s",
        summaries as f64 / secs,
        bytes as f64 / secs / 1e6
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async {
        let t = Instant::now();
        let s = standin::start(StandinOptions {
            conversations: CONVERSATIONS,
            ..Default::default()
        })
        .await
        .expect("stand-in starts");
        println!(
            "start-up with {CONVERSATIONS} conversations: {:.1} ms",
            t.elapsed().as_secs_f64() * 1e3
        );

        // In-process cost per conversation, single thread: what one page of the server costs.
        let data = s.dataset();
        let entries = data.read(|d| d.entries().to_vec());
        let t = Instant::now();
        let expanded: Vec<_> = entries.iter().map(|e| data.expand(e)).collect();
        let expand_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let json_bytes: usize = expanded.iter().map(|c| serde_json::to_vec(c).unwrap().len()).sum();
        let ser_s = t.elapsed().as_secs_f64();
        println!(
            "one thread: expand {:.0}/s, serialize {:.0}/s ({:.0} bytes each)",
            expanded.len() as f64 / expand_s,
            expanded.len() as f64 / ser_s,
            json_bytes as f64 / expanded.len() as f64
        );
        drop(expanded);

        let http = reqwest::Client::new();
        let url = format!("{}/v3/{}/{}/conversations", s.runtime_url, s.account_id, s.project_id);
        let (mut n, mut bytes) = (0usize, 0usize);
        let t = Instant::now();
        for env in ENVS {
            let mut cursor: Option<String> = None;
            loop {
                // The cursor is URL-safe by contract, so it goes in as is.
                let page_url = match &cursor {
                    Some(c) => format!("{url}?limit=200&client_env={env}&cursor={c}"),
                    None => format!("{url}?limit=200&client_env={env}"),
                };
                let body = http
                    .get(page_url)
                    .header("x-api-key", &s.api_key)
                    .send()
                    .await
                    .unwrap()
                    .bytes()
                    .await
                    .unwrap();
                bytes += body.len();
                let page: Skim = serde_json::from_slice(&body).unwrap();
                n += page.conversations.len();
                cursor = page.cursor;
                if cursor.is_none() {
                    break;
                }
            }
        }
        report("raw reqwest, limit=200", n, bytes, t.elapsed().as_secs_f64());
        assert_eq!(n, CONVERSATIONS, "every conversation exactly once");

        let args = ConnectionArgs {
            base_url: Some(s.runtime_url.clone()),
            platform_url: Some(s.platform_url.clone()),
            account_id: Some(s.account_id.clone()),
            project_id: Some(s.project_id.clone()),
            ..Default::default()
        };
        let key = s.api_key.clone();
        let cfg = Config::resolve_with_file(
            &args,
            &|k| (k == "POLYAI_API_KEY").then(|| key.clone()),
            FileConfig::default(),
        )
        .unwrap();
        let client = Client::new(&cfg).unwrap();
        let (mut n, mut turns) = (0usize, 0usize);
        let t = Instant::now();
        for env in ENVS {
            let mut pages = client.pages(ListQuery {
                limit: Some(200),
                client_env: Some(env.into()),
                ..Default::default()
            });
            while let Some(page) = pages.next_page().await {
                let page = page.unwrap();
                n += page.conversations.len();
                turns += page.conversations.iter().map(|c| c.turns.len()).sum::<usize>();
            }
        }
        // Same pages, same bytes as above.
        report("api::Client::pages, limit=200", n, bytes, t.elapsed().as_secs_f64());
        println!("({turns} turns decoded into models)");

        // The live platform object (`--shape platform|mixed` by-id), one thread: realize + write.
        let t = Instant::now();
        let some = &entries[..entries.len().min(10_000)];
        let real_bytes: usize = some
            .iter()
            .map(|e| {
                let c = standin::real::expand(&data, e);
                serde_json::to_vec(&standin::real::detail(&c, data.scope().seed))
                    .unwrap()
                    .len()
            })
            .sum();
        println!(
            "one thread: live platform objects {:.0}/s ({:.0} bytes each)",
            some.len() as f64 / t.elapsed().as_secs_f64(),
            real_bytes as f64 / some.len() as f64
        );
        s.shutdown().await;
    });
}
