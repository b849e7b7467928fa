//! Deliveries and the receiver over real loopback HTTP: signatures checked by the quickstart's
//! own algorithm (and its Flask snippet), retries with the same event id, and every way the
//! receiver refuses a request.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use callscope::standin::webhooks::deliver::{DeliveryAttempt, EVENT_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use callscope::standin::webhooks::registry::NewEndpoint;
use callscope::standin::webhooks::{AttemptOutcome, Deliverer, DeliveryConfig, Registry};
use callscope::webhook::signature::{SignatureScheme, sign};
use callscope::webhook::{EventData, EventType, ReceiverConfig, SigningSecret, WebhookEvent, receiver};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::sync::{broadcast, mpsc};

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

/// One captured request: headers and raw body.
type Captured = (HeaderMap, Bytes);

/// A server that records every request and answers with `statuses` in turn (then the last).
async fn capture_server(statuses: Vec<StatusCode>) -> (SocketAddr, mpsc::UnboundedReceiver<Captured>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let counter = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let router = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: Bytes| {
            let tx = tx.clone();
            let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let status = statuses[n.min(statuses.len() - 1)];
            async move {
                tx.send((headers, body)).unwrap();
                status
            }
        }),
    );
    (serve(router).await, rx)
}

fn register(registry: &Registry, url: String) -> SigningSecret {
    let mut headers = std::collections::BTreeMap::new();
    headers.insert("X-Custom-Header".to_string(), "my-value".to_string());
    registry
        .create(NewEndpoint {
            name: "test".into(),
            url,
            event_types: vec!["conversation.completed".into(), "handoff.created".into()],
            headers,
            ..Default::default()
        })
        .unwrap()
        .1
}

fn completed(conversation_id: &str) -> WebhookEvent {
    WebhookEvent::new(
        EventType::ConversationCompleted,
        EventData {
            conversation_id: conversation_id.into(),
            environment: "live".into(),
            channel: "VOICE-SIP".into(),
            ..Default::default()
        },
    )
}

async fn next_final(rx: &mut broadcast::Receiver<DeliveryAttempt>) -> Vec<DeliveryAttempt> {
    let mut seen = Vec::new();
    loop {
        let a = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("a delivery attempt within 10 s")
            .unwrap();
        let last = a.last;
        seen.push(a);
        if last {
            return seen;
        }
    }
}

/// The quickstart's check, line for line:
/// `hmac.compare_digest(sig, hmac.new(SIGNING_SECRET, body, hashlib.sha256).hexdigest())`.
fn quickstart_accepts(secret: &str, body: &[u8], sig: &str) -> bool {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    let expected: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    expected == sig
}

fn python_hexdigest(secret: &str, message: &[u8]) -> Option<String> {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import hmac,hashlib,os,sys; print(hmac.new(os.environ['S'].encode(), sys.stdin.buffer.read(), hashlib.sha256).hexdigest())",
        ])
        .env("S", secret)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .ok()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take()?.write_all(message).ok()?;
            child.wait_with_output().ok()
        })?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_carry_headers_and_verify_with_the_quickstart_check() {
    let (addr, mut captured) = capture_server(vec![StatusCode::NO_CONTENT]).await;
    let registry = Registry::new();
    let secret = register(&registry, format!("http://{addr}/hook"));
    // The quickstart verifies the body alone: the stand-in's `body` scheme.
    let config = DeliveryConfig::scaled(0.001)
        .unwrap()
        .with_scheme(SignatureScheme::Body);
    let deliverer = Deliverer::new(registry, config).unwrap();
    let mut attempts = deliverer.subscribe();
    let event = completed("CA-verify");
    assert_eq!(deliverer.deliver(&event), 1);

    let (headers, body) = captured.recv().await.unwrap();
    let h = |n: &str| headers.get(n).unwrap().to_str().unwrap().to_string();
    assert_eq!(h("content-type"), "application/json");
    assert_eq!(h(EVENT_ID_HEADER), event.id);
    assert_eq!(h("x-custom-header"), "my-value");
    let ts: i64 = h(TIMESTAMP_HEADER).parse().unwrap();
    assert!((chrono::Utc::now().timestamp() - ts).abs() < 5);
    let sig = h(SIGNATURE_HEADER);
    assert!(quickstart_accepts(secret.expose(), &body, &sig));
    assert!(!quickstart_accepts("whsec_other", &body, &sig));
    if let Some(py) = python_hexdigest(secret.expose(), &body) {
        assert_eq!(py, sig, "Python's hmac agrees");
    }
    let parsed = WebhookEvent::from_slice(&body, None).unwrap();
    assert_eq!(parsed.id, event.id);
    assert_eq!(parsed.data.conversation_id, "CA-verify");

    let log = next_final(&mut attempts).await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].outcome, AttemptOutcome::Delivered { status: 204 });
    assert_eq!(deliverer.attempts().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_scheme_signs_timestamp_dot_body() {
    let (addr, mut captured) = capture_server(vec![StatusCode::OK]).await;
    let registry = Registry::new();
    let secret = register(&registry, format!("http://{addr}/hook"));
    // The reference's scheme is the default (of the stand-in too).
    let config = DeliveryConfig::scaled(0.001).unwrap();
    assert_eq!(config.scheme, SignatureScheme::Timestamped);
    assert_eq!(
        callscope::standin::StandinOptions::default().signature_scheme,
        SignatureScheme::Timestamped
    );
    let deliverer = Deliverer::new(registry, config).unwrap();
    deliverer.deliver(&completed("CA-ts"));
    let (headers, body) = captured.recv().await.unwrap();
    let ts = headers[TIMESTAMP_HEADER].to_str().unwrap();
    let sig = headers[SIGNATURE_HEADER].to_str().unwrap();
    let mut message = format!("{ts}.").into_bytes();
    message.extend_from_slice(&body);
    assert!(quickstart_accepts(secret.expose(), &message, sig));
    if let Some(py) = python_hexdigest(secret.expose(), &message) {
        assert_eq!(py, sig);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_attempt_is_retried_with_the_same_event_id_and_body() {
    let (addr, mut captured) = capture_server(vec![StatusCode::INTERNAL_SERVER_ERROR, StatusCode::NO_CONTENT]).await;
    let registry = Registry::new();
    register(&registry, format!("http://{addr}/hook"));
    let deliverer = Deliverer::new(registry, DeliveryConfig::scaled(0.001).unwrap()).unwrap();
    let mut attempts = deliverer.subscribe();
    let event = completed("CA-retry");
    deliverer.deliver(&event);
    let log = next_final(&mut attempts).await;
    let outcomes: Vec<_> = log.iter().map(|a| (a.attempt, a.outcome.clone())).collect();
    assert_eq!(
        outcomes,
        [
            (1, AttemptOutcome::Failed { status: 500 }),
            (2, AttemptOutcome::Delivered { status: 204 })
        ]
    );
    let (h1, b1) = captured.recv().await.unwrap();
    let (h2, b2) = captured.recv().await.unwrap();
    assert_eq!(h1[EVENT_ID_HEADER], event.id.as_str());
    assert_eq!(h2[EVENT_ID_HEADER], event.id.as_str());
    assert_eq!(b1, b2);
    assert!(log[1].sent_at - log[0].sent_at >= chrono::Duration::milliseconds(45));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_endpoints_are_retried_until_attempts_run_out() {
    // Bind and drop: nothing listens on this port any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let registry = Registry::new();
    register(&registry, format!("http://127.0.0.1:{port}/hook"));
    let deliverer = Deliverer::new(registry, DeliveryConfig::scaled(0.0001).unwrap()).unwrap();
    let mut attempts = deliverer.subscribe();
    deliverer.deliver(&completed("CA-down"));
    let log = next_final(&mut attempts).await;
    assert_eq!(log.len(), 6);
    assert!(
        log.iter().all(|a| matches!(a.outcome, AttemptOutcome::Network(_))),
        "{log:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsubscribed_disabled_and_deleted_endpoints_get_nothing() {
    let (addr, _captured) = capture_server(vec![StatusCode::INTERNAL_SERVER_ERROR]).await;
    let registry = Registry::new();
    let url = format!("http://{addr}/hook");
    let (ep, _) = registry
        .create(NewEndpoint {
            name: "handoffs only".into(),
            url,
            event_types: vec!["handoff.created".into()],
            ..Default::default()
        })
        .unwrap();
    let deliverer = Deliverer::new(registry.clone(), DeliveryConfig::scaled(0.002).unwrap()).unwrap();
    assert_eq!(deliverer.deliver(&completed("CA-x")), 0);
    let mut attempts = deliverer.subscribe();
    let handoff = WebhookEvent::new(EventType::HandoffCreated, EventData::default());
    assert_eq!(deliverer.deliver(&handoff), 1);
    let first = tokio::time::timeout(Duration::from_secs(5), attempts.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.outcome, AttemptOutcome::Failed { status: 500 });
    // Deleted before the retry: no second attempt.
    registry.delete(&ep.id).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(deliverer.attempts().len(), 1);
}

/// The quickstart's Flask handler, verbatim (`tests/quickstart/step5_verify.py`), plus the
/// `import os` and `process_conversation` it leaves to the reader, and `app.run`.
fn quickstart_flask() -> String {
    format!(
        "import os\n{}\ndef process_conversation(conversation_id):\n    print(conversation_id, flush=True)\n\napp.run(host=\"127.0.0.1\", port=int(os.environ[\"PORT\"]))\n",
        include_str!("../../quickstart/step5_verify.py")
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quickstarts_flask_handler_accepts_our_deliveries() {
    let has_flask = std::process::Command::new("python3")
        .args(["-c", "import flask"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_flask {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have python3 with Flask (see .ci/run)"
        );
        eprintln!("skipped: python3 with Flask is not installed");
        return;
    }
    let registry = Registry::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let secret = register(&registry, format!("http://127.0.0.1:{port}/polyai-events"));
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("handler.py");
    std::fs::write(&script, quickstart_flask()).unwrap();
    let mut child = std::process::Command::new("python3")
        .arg(&script)
        .env("POLYAI_WEBHOOK_SECRET", secret.expose())
        .env("PORT", port.to_string())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _guard = crate::support::ChildGuard(child);
    // Wait for Flask to listen.
    let mut up = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "Flask did not start");

    // The quickstart's handler checks the body alone.
    let config = DeliveryConfig::scaled(0.001)
        .unwrap()
        .with_scheme(SignatureScheme::Body);
    let deliverer = Deliverer::new(registry.clone(), config).unwrap();
    let mut attempts = deliverer.subscribe();
    deliverer.deliver(&completed("CA-flask"));
    let log = next_final(&mut attempts).await;
    assert_eq!(log[0].outcome, AttemptOutcome::Delivered { status: 204 });
    // Flask prints its banner on stdout too; the handler's line follows it.
    let reader = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .take(50)
            .any(|l| l.trim() == "CA-flask")
    });
    let found = tokio::time::timeout(Duration::from_secs(10), reader).await;
    assert!(matches!(found, Ok(Ok(true))), "the handler never processed CA-flask");

    // After a rotation our deliveries carry the new secret, which this handler refuses.
    let endpoint_id = registry.list()[0].id.clone();
    registry.rotate(&endpoint_id).unwrap();
    deliverer.deliver(&completed("CA-rotated"));
    let first = next_attempt(&mut attempts).await;
    assert_eq!(first.outcome, AttemptOutcome::Failed { status: 401 });
    assert!(first.last, "a 401 is not retried");
}

async fn next_attempt(rx: &mut broadcast::Receiver<DeliveryAttempt>) -> DeliveryAttempt {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .unwrap()
        .unwrap()
}

// ---- the receiver ----

struct Posted {
    status: StatusCode,
}

async fn post_raw(addr: SocketAddr, headers: &[(&str, String)], body: Vec<u8>) -> Posted {
    let mut req = reqwest::Client::new()
        .post(format!("http://{addr}/polyai-events"))
        .body(body);
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    Posted {
        status: req.send().await.unwrap().status(),
    }
}

fn signed(secret: &str, scheme: SignatureScheme, ts: i64, id: &str, body: &[u8]) -> Vec<(&'static str, String)> {
    vec![
        (SIGNATURE_HEADER, sign(&SigningSecret::new(secret), scheme, ts, body)),
        (TIMESTAMP_HEADER, ts.to_string()),
        (EVENT_ID_HEADER, id.to_string()),
        ("content-type", "application/json".into()),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receiver_refuses_bad_requests_and_emits_each_event_once() {
    let mut config = ReceiverConfig::new(vec![SigningSecret::new("whsec_recv")]);
    config.max_body_bytes = 4096;
    let mut rx = receiver(config);
    let addr = serve(rx.router.clone()).await;
    let now = chrono::Utc::now().timestamp();
    let event = completed("CA-recv");
    let body = event.to_body();

    for scheme in [SignatureScheme::Body, SignatureScheme::Timestamped] {
        let ok = post_raw(addr, &signed("whsec_recv", scheme, now, &event.id, &body), body.clone()).await;
        let expected = if scheme == SignatureScheme::Body {
            StatusCode::NO_CONTENT
        } else {
            StatusCode::OK
        };
        assert_eq!(ok.status, expected, "{scheme:?}: the second is a replay");
    }
    // Replays of the same id, however signed, are acknowledged and not emitted again.
    let replay = post_raw(
        addr,
        &signed("whsec_recv", SignatureScheme::Body, now, &event.id, &body),
        body.clone(),
    )
    .await;
    assert_eq!(replay.status, StatusCode::OK);

    let mut tampered = body.clone();
    tampered.extend_from_slice(b" ");
    type Case = (&'static str, Vec<(&'static str, String)>, Vec<u8>, StatusCode);
    let cases: Vec<Case> = vec![
        (
            "tampered body",
            signed("whsec_recv", SignatureScheme::Body, now, "evt_t", &body),
            tampered,
            StatusCode::UNAUTHORIZED,
        ),
        (
            "wrong secret",
            signed("whsec_nope", SignatureScheme::Body, now, "evt_w", &body),
            body.clone(),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "stale timestamp",
            signed("whsec_recv", SignatureScheme::Timestamped, now - 301, "evt_s", &body),
            body.clone(),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "future timestamp",
            signed("whsec_recv", SignatureScheme::Timestamped, now + 400, "evt_f", &body),
            body.clone(),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "no signature",
            vec![(EVENT_ID_HEADER, "evt_n".into())],
            body.clone(),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "bad JSON",
            signed("whsec_recv", SignatureScheme::Body, now, "evt_j", b"{\"id\":"),
            b"{\"id\":".to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "not an event",
            signed("whsec_recv", SignatureScheme::Body, now, "evt_e", b"[1,2]"),
            b"[1,2]".to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "oversize",
            signed("whsec_recv", SignatureScheme::Body, now, "evt_o", &[b' '; 5000]),
            vec![b' '; 5000],
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ];
    for (what, headers, body, want) in cases {
        assert_eq!(post_raw(addr, &headers, body).await.status, want, "{what}");
    }

    let got = rx.events.recv().await.unwrap();
    assert_eq!(got.id, event.id);
    assert_eq!(got.data.conversation_id, "CA-recv");
    assert!(
        rx.events.try_recv().is_err(),
        "emitted exactly once, nothing half-processed"
    );
    let stats = rx.handle.stats();
    assert_eq!((stats.accepted, stats.duplicates), (1, 2));
    assert_eq!((stats.unauthorized, stats.bad_request, stats.too_large), (5, 2, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receiver_accepts_old_and_new_secret_during_rotation_and_reports_a_full_queue() {
    let mut config = ReceiverConfig::new(vec![SigningSecret::new("whsec_old")]);
    config.queue_capacity = 1;
    let mut rx = receiver(config);
    let addr = serve(rx.router.clone()).await;
    let now = chrono::Utc::now().timestamp();
    rx.handle
        .set_secrets(vec![SigningSecret::new("whsec_old"), SigningSecret::new("whsec_new")]);
    let a = completed("CA-a");
    let b = completed("CA-b");
    let post = |secret: &'static str, e: &WebhookEvent| {
        let body = e.to_body();
        let headers = signed(secret, SignatureScheme::Body, now, &e.id, &body);
        async move { post_raw(addr, &headers, body).await.status }
    };
    assert_eq!(post("whsec_new", &a).await, StatusCode::NO_CONTENT);
    // The queue holds one event: the next is refused with 503 (so the sender retries) ...
    assert_eq!(post("whsec_old", &b).await, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(rx.events.recv().await.unwrap().id, a.id);
    // ... and, not having been marked as seen, is accepted on the retry.
    assert_eq!(post("whsec_old", &b).await, StatusCode::NO_CONTENT);
    assert_eq!(rx.events.recv().await.unwrap().id, b.id);
    rx.handle.set_secrets(vec![SigningSecret::new("whsec_new")]);
    assert_eq!(post("whsec_old", &completed("CA-c")).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliverer_to_receiver_end_to_end_with_a_retry() {
    // The receiver is down for the first attempt; the retry lands and is emitted once.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let registry = Registry::new();
    let secret = register(&registry, format!("http://{addr}/polyai-events"));
    let deliverer = Deliverer::new(registry, DeliveryConfig::scaled(0.005).unwrap()).unwrap();
    let mut attempts = deliverer.subscribe();
    let event = completed("CA-e2e");
    deliverer.deliver(&event);
    let first = next_attempt(&mut attempts).await;
    assert!(matches!(first.outcome, AttemptOutcome::Network(_)), "{first:?}");
    let mut rx = receiver(ReceiverConfig::new(vec![secret]));
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let router = rx.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let log = next_final(&mut attempts).await;
    assert_eq!(log.last().unwrap().outcome, AttemptOutcome::Delivered { status: 204 });
    let got = tokio::time::timeout(Duration::from_secs(5), rx.events.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.id, event.id);
    assert_eq!(got.raw, event.raw);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_calls_reach_a_receiver_as_completed_and_handoff_events() {
    let mut rx = receiver(ReceiverConfig::new(vec![]));
    let addr = serve(rx.router.clone()).await;
    let registry = Registry::new();
    let secret = register(&registry, format!("http://{addr}/polyai-events"));
    rx.handle.set_secrets(vec![secret]);
    let deliverer = Deliverer::new(registry, DeliveryConfig::scaled(0.001).unwrap()).unwrap();
    let inserted = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let store = inserted.clone();
    let mut n = 0;
    let live = callscope::standin::webhooks::LiveCalls::spawn(deliverer, Duration::from_millis(30), move || {
        n += 1;
        let id = format!("CA-live-{n}");
        store.lock().unwrap().push(id.clone());
        Some(EventData {
            conversation_id: id,
            handoff: n == 2,
            handoff_destination: if n == 2 { "billing".into() } else { String::new() },
            ..Default::default()
        })
    });
    let expected = [
        (EventType::ConversationCompleted, "CA-live-1".to_string()),
        (EventType::ConversationCompleted, "CA-live-2".to_string()),
        (EventType::HandoffCreated, "CA-live-2".to_string()),
    ];
    let mut got = Vec::new();
    while !expected.iter().all(|e| got.contains(e)) {
        let e = tokio::time::timeout(Duration::from_secs(10), rx.events.recv())
            .await
            .expect("the expected live events within 10 s")
            .unwrap();
        got.push((e.event_type.clone(), e.data.conversation_id.clone()));
    }
    drop(live);
    // Only call 2 was handed off.
    let handoffs = got.iter().filter(|(t, _)| *t == EventType::HandoffCreated).count();
    assert_eq!(handoffs, 1, "{got:?}");
    // Every event names a conversation the closure inserted.
    let inserted = inserted.lock().unwrap();
    assert!(got.iter().all(|(_, id)| inserted.contains(id)), "{got:?}");
}
