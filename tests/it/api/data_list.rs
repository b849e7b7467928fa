//! The Data API list (`/v1/agents/{project}/conversations?limit&offset` → `{conversations,
//! count, limit, offset}`) when the runtime host has no v3 list route: pages are walked by
//! offset behind callscope's own cursor, `count` is the total, the query's window and
//! environment are kept, records pass through byte for byte, and the family is remembered.

use crate::support::net as net_support;

use callscope::api::lenient::RawPage;
use callscope::api::{Client, ListQuery, PathFamily, Route};
use net_support::{answer, serve};

const TOTAL: usize = 7;

/// Camel-case summaries (no turns), one an hour back from 10:00, environments alternating.
fn record(i: usize) -> String {
    format!(
        r#"{{"conversationId":"CA{i}","channel":"VOICE-SIP","clientEnv":"{}","startedAt":"2026-11-28T{:02}:00:00.000000+00:00","inProgress":false,"totalDuration":60}}"#,
        if i % 3 == 2 { "sandbox" } else { "live" },
        10 - i
    )
}

fn data_page(limit: usize, offset: usize) -> String {
    let recs: Vec<String> = (offset..(offset + limit).min(TOTAL)).map(record).collect();
    format!(
        r#"{{"conversations":[{}],"count":{TOTAL},"limit":{limit},"offset":{offset}}}"#,
        recs.join(",")
    )
}

#[tokio::test]
async fn the_data_api_is_paged_by_offset_when_the_v3_list_route_is_missing() {
    let s = serve(|r| {
        if r.path() == "/v1/agents/PROJECT-1/conversations" {
            let n = |k: &str| r.query(k).and_then(|v| v.parse().ok()).unwrap();
            net_support::json(&data_page(n("limit"), n("offset")))
        } else {
            answer(
                "404 Not Found",
                "",
                r#"{"success":false,"error_code":"NOT_FOUND","error_message":"No route"}"#,
            )
        }
    })
    .await;
    let cfg = crate::support::scripted_config(&s.url, Some(&s.url), &[("POLYAI_API_KEY", "sk")]);
    let c = Client::new(&cfg).unwrap();
    let t = |h: u32| {
        chrono::DateTime::parse_from_rfc3339(&format!("2026-11-28T{h:02}:00:00Z"))
            .unwrap()
            .to_utc()
    };
    // 05:00–10:00 (end exclusive) in live: CA1, CA3, CA4 (CA0 is at 10:00, CA2/CA5 sandbox, CA6 04:00).
    let mut pager = c.pages(ListQuery {
        start_time: Some(t(5)),
        end_time: Some(t(10)),
        limit: Some(3),
        client_env: Some("live".into()),
        ..Default::default()
    });
    let mut ids = Vec::new();
    let mut pages = 0;
    while let Some(p) = pager.next_page().await {
        ids.extend(p.unwrap().conversations.into_iter().map(|c| c.id));
        pages += 1;
    }
    assert_eq!(ids, ["CA1", "CA3", "CA4"]);
    assert_eq!(pages, 3, "7 records, 3 a page");
    assert_eq!(c.family_in_use(Route::List), Some(PathFamily::Agents));
    let v3_asks = s.requests().iter().filter(|r| r.path().starts_with("/v3/")).count();
    assert_eq!(v3_asks, 1, "the v3 route is asked once, then the family is remembered");
    let offsets: Vec<String> = s.requests().iter().filter_map(|r| r.query("offset")).collect();
    assert_eq!(offsets, ["0", "3", "6"]);

    // The raw page passes records through unchanged and tells the total.
    let body = c
        .list_page_raw(&ListQuery {
            limit: Some(2),
            ..Default::default()
        })
        .await
        .unwrap();
    let raw: RawPage = body.parse().unwrap();
    assert_eq!(raw.records.len(), 2);
    assert_eq!(raw.records[0].get(), record(0));
    let v: serde_json::Value = serde_json::from_slice(body.bytes()).unwrap();
    assert_eq!(v["count"], TOTAL);
    assert_eq!(c.data_list_page(50, 0).await.unwrap().1, Some(TOTAL as u64));

    // A transcript search needs the v3 list: its missing route is reported, not papered over.
    let e = c
        .list_page(&ListQuery {
            search: Some(callscope::api::TranscriptSearch {
                query: "card".into(),
                turn_type: None,
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.status, Some(404));
}
