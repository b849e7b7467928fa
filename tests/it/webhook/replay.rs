//! Replays and signature formats over real loopback HTTP: a signed body without an `id`,
//! replayed with fresh (unsigned) `X-PolyAI-Event-ID` values, is taken once (and reaches the
//! TUI's live list once); `sha256=`-prefixed and comma-separated signatures verify.

use std::net::SocketAddr;
use std::time::Duration;

use callscope::app::Msg;
use callscope::app::live::LiveEvent;
use callscope::standin::webhooks::deliver::{EVENT_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use callscope::tui::live::{self, LiveSetup};
use callscope::webhook::server::{ServeLimits, serve};
use callscope::webhook::signature::{SignatureScheme, sign};
use callscope::webhook::{ReceiverConfig, ReceiverHandle, SigningSecret, WebhookEvent, receiver};
use tokio::sync::mpsc;

use crate::support::webhooks;

const SECRET: &str = "whsec_replay";

async fn start() -> (String, mpsc::Receiver<WebhookEvent>, ReceiverHandle) {
    let rx = receiver(ReceiverConfig::new(vec![SigningSecret::new(SECRET)]));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(serve(
        listener,
        rx.router,
        ServeLimits::default(),
        std::future::pending(),
    ));
    (format!("http://{addr}/polyai-events"), rx.events, rx.handle)
}

/// A body with no `id`: only the header names the event.
fn body_without_id(conversation: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "type": "conversation.completed",
        "data": { "conversation_id": conversation, "environment": "live" }
    }))
    .unwrap()
}

async fn post(url: &str, signature: &str, ts: i64, event_id: &str, body: &[u8]) -> u16 {
    reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header(SIGNATURE_HEADER, signature)
        .header(TIMESTAMP_HEADER, ts.to_string())
        .header(EVENT_ID_HEADER, event_id)
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replays_with_fresh_event_id_headers_are_taken_once() {
    let (url, mut events, handle) = start().await;
    let secret = SigningSecret::new(SECRET);
    let now = chrono::Utc::now().timestamp();
    for (n, scheme) in [SignatureScheme::Timestamped, SignatureScheme::Body]
        .into_iter()
        .enumerate()
    {
        let body = body_without_id(&format!("CA-replayed-{n}"));
        let sig = sign(&secret, scheme, now, &body);
        assert_eq!(
            post(&url, &sig, now, &format!("evt_first_{n}"), &body).await,
            204,
            "{scheme:?}"
        );
        for i in 0..5 {
            let status = post(&url, &sig, now, &format!("evt_fresh_{n}_{i}"), &body).await;
            assert_eq!(status, 200, "{scheme:?} replay {i} is a duplicate");
        }
        if scheme == SignatureScheme::Body {
            // The body-only signature does not cover the timestamp: a fresh one changes nothing.
            assert_eq!(post(&url, &sig, now - 30, "evt_fresh_ts", &body).await, 200);
        }
        let e = tokio::time::timeout(Duration::from_secs(5), events.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(e.data.conversation_id, format!("CA-replayed-{n}"));
        assert_eq!(e.id, format!("evt_first_{n}"), "the header id is still shown");
    }
    assert!(events.try_recv().is_err(), "no replay was emitted");
    let stats = handle.stats();
    assert_eq!((stats.accepted, stats.duplicates), (2, 11));

    // A sender's own retry, re-signed with a new timestamp under the same header id, is a
    // duplicate too; a new header id with a new signed payload is a new event.
    let body = body_without_id("CA-retried");
    let sig = |ts| sign(&secret, SignatureScheme::Timestamped, ts, &body);
    assert_eq!(post(&url, &sig(now), now, "evt_retry", &body).await, 204);
    assert_eq!(post(&url, &sig(now + 1), now + 1, "evt_retry", &body).await, 200);
    assert_eq!(post(&url, &sig(now + 2), now + 2, "evt_other", &body).await, 204);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefixed_and_comma_separated_signatures_verify_over_http() {
    let (url, mut events, _handle) = start().await;
    let now = chrono::Utc::now().timestamp();
    let secret = SigningSecret::new(SECRET);
    let wrong = SigningSecret::new("whsec_retired");
    let other = SigningSecret::new("whsec_other");

    let body = body_without_id("CA-prefixed");
    let sig = sign(&secret, SignatureScheme::Timestamped, now, &body);
    assert_eq!(post(&url, &format!("sha256={sig}"), now, "evt_p", &body).await, 204);

    let body = body_without_id("CA-rotation");
    let old = sign(&wrong, SignatureScheme::Timestamped, now, &body);
    let good = sign(&secret, SignatureScheme::Timestamped, now, &body);
    assert_eq!(
        post(&url, &format!("sha256={old}, sha256={good}"), now, "evt_r", &body).await,
        204,
        "one valid signature among several accepts"
    );

    let body = body_without_id("CA-none-match");
    let a = sign(&wrong, SignatureScheme::Timestamped, now, &body);
    let b = sign(&other, SignatureScheme::Body, now, &body);
    assert_eq!(
        post(&url, &format!("{a},{b}"), now, "evt_n", &body).await,
        401,
        "none matches"
    );

    for want in ["CA-prefixed", "CA-rotation"] {
        let e = tokio::time::timeout(Duration::from_secs(5), events.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(e.data.conversation_id, want);
    }
    assert!(events.try_recv().is_err());
}

/// `browse --listen`: the live list gets one message for a delivery replayed with fresh ids.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_list_hears_of_a_replayed_delivery_once() {
    let client = webhooks::unused_client();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let receiver = live::start(
        LiveSetup {
            addr: ([127, 0, 0, 1], 0).into(),
            secrets: vec![SigningSecret::new(SECRET)],
            register: false,
        },
        &client,
        tx,
    )
    .await
    .unwrap();
    assert!(matches!(
        rx.recv().await,
        Some(Msg::Live(LiveEvent::Receiver { up: true }))
    ));
    let now = chrono::Utc::now().timestamp();
    let body = body_without_id("CA-live-once");
    let sig = sign(&SigningSecret::new(SECRET), SignatureScheme::Timestamped, now, &body);
    let mut statuses = Vec::new();
    for i in 0..6 {
        statuses.push(post(&receiver.url, &sig, now, &format!("evt_live_{i}"), &body).await);
    }
    assert_eq!(statuses, [204, 200, 200, 200, 200, 200]);
    let first = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await.unwrap();
    assert!(
        matches!(&first, Some(Msg::Live(LiveEvent::Completed { id, .. })) if id == "CA-live-once"),
        "{first:?}"
    );
    // Nothing else arrives.
    let more = tokio::time::timeout(Duration::from_millis(500), rx.recv()).await;
    assert!(more.is_err(), "a second message: {more:?}");
}
