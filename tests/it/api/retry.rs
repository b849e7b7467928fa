//! Retries over real loopback HTTP: 5xx backs off and recovers, 429 honours Retry-After,
//! a refused connection ends as a network error with its diagnosis, a malformed page is an error.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use callscope::api::{Client, ErrorKind, ListQuery, RetryNotice, RetryPolicy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A tiny HTTP/1.1 server answering the n-th request with `answers[n]` (the last one repeats).
async fn scripted_server(answers: Vec<String>) -> (String, Arc<AtomicUsize>, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let heads = Arc::new(Mutex::new(Vec::new()));
    let (h, seen) = (hits.clone(), heads.clone());
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let n = h.fetch_add(1, Ordering::SeqCst);
            let answer = answers[n.min(answers.len() - 1)].clone();
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let len = sock.read(&mut buf).await.unwrap_or(0);
                seen.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&buf[..len]).into_owned());
                let _ = sock.write_all(answer.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    (format!("http://{addr}"), hits, heads)
}

fn response(status: &str, extra: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\nconnection: close\r\n{extra}content-length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn client(base: &str) -> Client {
    let cfg = crate::support::scripted_config(base, Some(base), &[("POLYAI_API_KEY", "secret-key")]);
    Client::new(&cfg).unwrap().with_retry_policy(RetryPolicy {
        max_retries: 3,
        base_delay: Duration::from_millis(40),
        max_delay: Duration::from_millis(200),
        max_retry_after: Duration::from_secs(5),
    })
}

const PAGE: &str = r#"{"conversations":[{"id":"CA1","channel":"VOICE-SIP"}],"cursor":null}"#;

#[tokio::test]
async fn server_errors_back_off_then_succeed_and_are_reported() {
    let err = response(
        "503 Service Unavailable",
        "x-polyai-correlation-id: c-1\r\n",
        r#"{"error_message":"busy"}"#,
    );
    let (base, hits, heads) = scripted_server(vec![err.clone(), err, response("200 OK", "", PAGE)]).await;
    let notices = Arc::new(Mutex::new(Vec::<RetryNotice>::new()));
    let n2 = notices.clone();
    let c = client(&base).with_retry_observer(Arc::new(move |n: &RetryNotice| n2.lock().unwrap().push(n.clone())));
    let page = c.list_page(&ListQuery::default()).await.unwrap();
    assert_eq!(page.conversations[0].id, "CA1");
    assert_eq!(hits.load(Ordering::SeqCst), 3);
    let notices = notices.lock().unwrap();
    assert_eq!(notices.len(), 2);
    assert!(
        notices
            .iter()
            .all(|n| n.reason == ErrorKind::Server && n.status == Some(503))
    );
    // Every attempt carried the key in the header and never in the URL.
    for head in heads.lock().unwrap().iter() {
        assert!(head.to_ascii_lowercase().contains("x-api-key: secret-key"), "{head}");
        assert!(!head.lines().next().unwrap().contains("secret-key"));
    }
}

#[tokio::test]
async fn retry_after_is_waited_for_in_seconds() {
    let limited = response(
        "429 Too Many Requests",
        "retry-after: 1\r\n",
        r#"{"error_code":"RATE_LIMITED","error_message":"slow down"}"#,
    );
    let (base, hits, _) = scripted_server(vec![limited, response("200 OK", "", PAGE)]).await;
    let t = Instant::now();
    client(&base).list_page(&ListQuery::default()).await.unwrap();
    assert!(t.elapsed() >= Duration::from_secs(1), "waited only {:?}", t.elapsed());
    assert_eq!(hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn persistent_failure_gives_up_with_diagnosis() {
    let (base, hits, _) = scripted_server(vec![response(
        "500 Internal Server Error",
        "x-polyai-correlation-id: corr-9\r\n",
        r#"{"success":false,"error":"boom","error_id":"corr-9","error_code":"INTERNAL","error_message":"boom","data":null}"#,
    )])
    .await;
    let e = client(&base).list_page(&ListQuery::default()).await.unwrap_err();
    assert_eq!(hits.load(Ordering::SeqCst), 4, "first try + 3 retries");
    assert_eq!(e.kind, ErrorKind::Server);
    assert_eq!(e.correlation_id.as_deref(), Some("corr-9"));
    assert!(e.to_string().contains("correlation id: corr-9"));
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let (base, hits, _) =
        scripted_server(vec![response("401 Unauthorized", "", r#"{"error_message":"bad key"}"#)]).await;
    let e = client(&base).list_page(&ListQuery::default()).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert!(!format!("{e} {e:?}").contains("secret-key"));
}

#[tokio::test]
async fn refused_connection_is_a_network_error_after_retries() {
    // Bind then drop: the port is (almost certainly) closed now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let e = client(&format!("http://127.0.0.1:{port}"))
        .list_page(&ListQuery::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Network);
    assert!(e.diagnosis().contains("Cannot reach 127.0.0.1"), "{}", e.diagnosis());
}

#[tokio::test]
async fn malformed_page_is_a_clear_error() {
    let (base, _, _) = scripted_server(vec![response("200 OK", "", "<html>login</html>")]).await;
    let e = client(&base).list_page(&ListQuery::default()).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Malformed);
    assert!(e.message.contains("<html>login"), "{}", e.message);
    assert!(e.diagnosis().contains("expected JSON"));
}
