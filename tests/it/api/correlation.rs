//! Every request carries a fresh `X-PolyAI-Correlation-Id`, retries included; an error quotes
//! the server's id when it sent one, else the one callscope sent, so a ticket can name it.

use crate::support::net as net_support;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use callscope::api::{Client, ListQuery, RetryPolicy};
use net_support::{Reply, answer, page_json, serve};

fn client(url: &str) -> Client {
    let cfg = crate::support::scripted_config(url, Some(url), &[("POLYAI_API_KEY", "sk-test")]);
    Client::new(&cfg).unwrap().with_retry_policy(RetryPolicy {
        max_retries: 2,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        ..Default::default()
    })
}

/// `8-4-4-4-12` lowercase hex, version 4.
fn uuid_shaped(id: &str) -> bool {
    let parts: Vec<&str> = id.split('-').collect();
    parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && id
            .chars()
            .all(|c| c == '-' || c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        && parts[2].starts_with('4')
}

#[tokio::test]
async fn every_request_and_every_retry_carries_a_fresh_id() {
    // The first attempt of each request gets a 503, the retry the page.
    let n = Arc::new(AtomicUsize::new(0));
    let seen = n.clone();
    let s = serve(move |_| {
        if seen.fetch_add(1, Ordering::SeqCst).is_multiple_of(2) {
            answer("503 Service Unavailable", "", r#"{"error_message":"busy"}"#)
        } else {
            net_support::json(&page_json(&["CA1"], None))
        }
    })
    .await;
    let c = client(&s.url);
    for _ in 0..3 {
        c.list_page(&ListQuery::default()).await.unwrap();
    }
    let ids: Vec<String> = s
        .requests()
        .iter()
        .map(|r| {
            r.header("x-polyai-correlation-id")
                .expect("the header on every request")
        })
        .collect();
    assert_eq!(ids.len(), 6);
    assert!(ids.iter().all(|id| uuid_shaped(id)), "{ids:?}");
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 6, "all distinct: {ids:?}");
}

#[tokio::test]
async fn an_error_quotes_ours_when_the_server_sends_none() {
    let s = serve(|_| answer("404 Not Found", "", r#"{"error_code":"CONVERSATIONS_NOT_FOUND"}"#)).await;
    let e = client(&s.url).conversation("CA1").await.unwrap_err();
    let sent = s.requests()[0].header("x-polyai-correlation-id").unwrap();
    assert_eq!(e.correlation_id.as_deref(), Some(sent.as_str()));
    assert!(e.to_string().contains(&format!("correlation id: {sent}")), "{e}");
    assert!(
        e.headline_with_id().ends_with(&format!("correlation id {sent}")),
        "{}",
        e.headline_with_id()
    );
}

#[tokio::test]
async fn an_error_quotes_the_servers_id_when_it_sends_one() {
    let s = serve(|_| {
        answer(
            "401 Unauthorized",
            "x-polyai-correlation-id: srv-7f3e\r\n",
            r#"{"error_message":"bad key","error_id":"env-1"}"#,
        )
    })
    .await;
    let e = client(&s.url).list_page(&ListQuery::default()).await.unwrap_err();
    assert_eq!(e.correlation_id.as_deref(), Some("srv-7f3e"));
    // The envelope's `error_id` is the same value per the docs; the header wins, then it.
    let s = serve(|_| answer("403 Forbidden", "", r#"{"error_message":"no","error_id":"env-2"}"#)).await;
    let e = client(&s.url).list_page(&ListQuery::default()).await.unwrap_err();
    assert_eq!(e.correlation_id.as_deref(), Some("env-2"));
}

#[tokio::test]
async fn a_transport_error_quotes_ours_too() {
    // A server that answers garbage: the connection breaks, nothing came back.
    let s = serve(|_| Reply::Raw(b"not http at all\r\n\r\n".to_vec())).await;
    let e = client(&s.url).list_page(&ListQuery::default()).await.unwrap_err();
    let sent: Vec<String> = s
        .requests()
        .iter()
        .filter_map(|r| r.header("x-polyai-correlation-id"))
        .collect();
    let id = e.correlation_id.clone().expect("an id on a transport error");
    assert!(sent.contains(&id), "{id} is one we sent: {sent:?}");
}
