//! Bounded answers over real loopback HTTP: a page over `max_page_bytes` (claimed or streamed,
//! endless or not) is refused with a clear error, an error body is read only so far, and a
//! server that never answers (or stalls after its headers) is reported as "no answer within
//! N s", not as a malformed answer.

use crate::support::net as net_support;

use std::time::{Duration, Instant};

use callscope::api::{Client, ErrorKind, ListQuery, RetryPolicy, Timeouts};
use callscope::config::{Config, ConnectionArgs, FileConfig};
use net_support::{Reply, answer, page_json, serve};

fn client(base: &str, max_page_bytes: Option<&str>) -> Client {
    let mut env = vec![("POLYAI_API_KEY", "secret-key")];
    env.extend(max_page_bytes.map(|cap| ("CALLSCOPE_MAX_PAGE_BYTES", cap)));
    let cfg = crate::support::scripted_config(base, Some(base), &env);
    Client::new(&cfg)
        .unwrap()
        .with_retry_policy(RetryPolicy {
            max_retries: 0,
            ..Default::default()
        })
        .with_timeouts(Timeouts {
            connect: Duration::from_secs(2),
            read: Duration::from_millis(400),
            total: Duration::from_secs(3),
        })
        .unwrap()
}

/// A page of `n` conversations, about 200 bytes each.
fn big_page(n: usize) -> String {
    let ids: Vec<String> = (0..n).map(|i| format!("CA{i:08}")).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    page_json(&refs, None)
}

#[tokio::test]
async fn a_page_under_the_cap_is_read_and_one_over_it_is_refused() {
    let body = big_page(100); // ≈ 15 KB
    let len = body.len();
    let b = body.clone();
    let s = serve(move |_| net_support::json(&b)).await;
    let page = client(&s.url, Some(&(len + 10).to_string()))
        .list_page(&ListQuery::default())
        .await
        .unwrap();
    assert_eq!(page.conversations.len(), 100);

    let e = client(&s.url, Some("4096"))
        .list_page(&ListQuery::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::TooLarge);
    let h = e.headline();
    assert!(
        h.contains("the server sent more than 4096 bytes for one page; not read further")
            && h.contains("max_page_bytes"),
        "{h}"
    );
}

#[tokio::test]
async fn a_streamed_page_without_a_length_is_cut_at_the_cap() {
    // Chunked, no content-length: the cap is found while reading.
    let s = serve(|_| Reply::Stream {
        content_length: None,
        chunks: Box::new((0..100).map(|_| vec![b' '; 10_000])),
    })
    .await;
    let e = client(&s.url, Some("50000"))
        .list_page(&ListQuery::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::TooLarge, "{e}");
}

#[tokio::test]
async fn an_endless_body_ends_at_the_default_cap() {
    let s = serve(|_| Reply::Endless).await;
    let started = Instant::now();
    let c = client(&s.url, None)
        .with_timeouts(Timeouts {
            total: Duration::from_secs(60),
            ..Timeouts::default()
        })
        .unwrap();
    let e = c.list_page(&ListQuery::default()).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::TooLarge, "{e}");
    assert!(
        e.headline().contains("more than 64 MB for one page"),
        "{}",
        e.headline()
    );
    assert!(started.elapsed() < Duration::from_secs(50));
}

#[tokio::test]
async fn an_endless_error_body_is_read_only_so_far() {
    let s = serve(|_| {
        let mut head =
            b"HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n"
                .to_vec();
        // 20 MB of error text, then silence: read whole, this would take the full timeout.
        for _ in 0..320 {
            head.extend_from_slice(format!("{:x}\r\n", 65_536).as_bytes());
            head.extend(std::iter::repeat_n(b'e', 65_536));
            head.extend_from_slice(b"\r\n");
        }
        Reply::Stall(head)
    })
    .await;
    let c = client(&s.url, None)
        .with_timeouts(Timeouts {
            read: Duration::from_secs(20),
            total: Duration::from_secs(30),
            ..Timeouts::default()
        })
        .unwrap();
    let started = Instant::now();
    let e = c.list_page(&ListQuery::default()).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Server);
    assert!(e.message.len() <= 64 * 1024, "{}", e.message.len());
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the error came without waiting for the rest of the body ({:?})",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_server_that_never_answers_is_a_timeout() {
    let s = serve(|_| Reply::Silence).await;
    let e = client(&s.url, None).list_page(&ListQuery::default()).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Timeout, "{e}");
    let h = e.headline();
    assert!(h.starts_with("no answer within 0."), "{h}");
    assert!(!h.contains("malformed"), "{h}");
}

#[tokio::test]
async fn headers_then_silence_is_a_timeout_not_a_malformed_answer() {
    let s = serve(|_| {
        Reply::Stall(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 5000\r\n\r\n{\"conversations\":["
                .to_vec(),
        )
    })
    .await;
    let e = client(&s.url, None).list_page(&ListQuery::default()).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Timeout, "{e}");
    assert!(e.headline().starts_with("no answer within "), "{}", e.headline());
    assert!(e.is_transient(), "a stalled page is retried like any timeout");
}

#[tokio::test]
async fn a_stalled_page_is_retried_and_then_read() {
    let first = std::sync::atomic::AtomicBool::new(true);
    let s = serve(move |_| {
        if first.swap(false, std::sync::atomic::Ordering::SeqCst) {
            Reply::Stall(b"HTTP/1.1 200 OK\r\ncontent-length: 900\r\n\r\n{".to_vec())
        } else {
            answer("200 OK", "", &page_json(&["CA1"], None))
        }
    })
    .await;
    let c = client(&s.url, None).with_retry_policy(RetryPolicy {
        max_retries: 2,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(20),
        max_retry_after: Duration::from_secs(1),
    });
    let page = c.list_page(&ListQuery::default()).await.unwrap();
    assert_eq!(page.conversations.len(), 1);
    assert_eq!(s.hits(), 2);
}

#[test]
fn the_cap_is_configurable_and_checked() {
    let file = FileConfig::parse("max_page_bytes = 1000000").unwrap();
    let cfg = Config::resolve_with_file(&ConnectionArgs::default(), &|_| None, file).unwrap();
    assert_eq!(cfg.max_page_bytes, 1_000_000);
    let cfg = Config::resolve_with_file(&ConnectionArgs::default(), &|_| None, FileConfig::default()).unwrap();
    assert_eq!(cfg.max_page_bytes, 64 * 1024 * 1024);
    assert!(FileConfig::parse("max_page_bytes = 0").is_err());
    let bad = Config::resolve_with_file(
        &ConnectionArgs::default(),
        &|k| (k == "CALLSCOPE_MAX_PAGE_BYTES").then(|| "lots".into()),
        FileConfig::default(),
    );
    assert!(bad.unwrap_err().to_string().contains("CALLSCOPE_MAX_PAGE_BYTES"));
}
