//! The webhooks mounted in the real stand-in, end to end: register through the platform
//! listener with `Client`, simulated live calls inserted into the stand-in's data set and
//! delivered to a receiver, then fetched back from the runtime listener.

use crate::support as common;

use std::time::Duration;

use callscope::api::{ErrorKind, HostFamily};
use callscope::standin::{self, StandinOptions};
use callscope::webhook::{EventType, ReceiverConfig, SigningSecret, receiver};
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_calls_through_the_standin_reach_the_receiver_and_can_be_fetched() {
    // The stand-in's own live traffic: a call starts every 50 ms and completes a few ticks later.
    let s = standin::start(StandinOptions {
        conversations: 50,
        new_call_every: Some(Duration::from_millis(50)),
        retry_scale: 0.003,
        ..Default::default()
    })
    .await
    .unwrap();
    let client = common::client(&s);

    // The receiver the TUI would run, on loopback.
    let mut rx = receiver(ReceiverConfig::new(vec![]));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_url = format!("http://{}/polyai-events", listener.local_addr().unwrap());
    let app = rx.router.clone();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    // The quickstart's registration, on the platform listener.
    let body = json!({"url": hook_url, "description": "callscope live", "events": ["conversation.completed", "handoff.created"]});
    let url = client.url(HostFamily::Platform, &["v1", "webhooks", "endpoints"]);
    let created: Value = client
        .request_json(Method::POST, HostFamily::Platform, url, Some(&body))
        .await
        .unwrap();
    let secret = created["signing_secret"].as_str().unwrap();
    rx.handle.set_secrets(vec![SigningSecret::new(secret)]);

    // Same call on the runtime listener: 404 with the wrong-host diagnosis.
    let wrong = client.url(HostFamily::Runtime, &["v1", "webhooks", "endpoints"]);
    let err = client
        .request_json::<Value>(Method::POST, HostFamily::Platform, wrong, Some(&body))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::WrongHost, "{err}");
    // Without the key, the stand-in's own check refuses the webhook routes.
    let status = reqwest::Client::new()
        .get(format!("{}/v1/webhook-endpoints", s.platform_url))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 401);

    // Live calls: written to the stand-in's data set as they complete, announced by webhook.
    let event = loop {
        let e = tokio::time::timeout(Duration::from_secs(10), rx.events.recv())
            .await
            .expect("a live call within 10 s")
            .unwrap();
        if e.event_type == EventType::ConversationCompleted {
            break e;
        }
    };
    assert_eq!(event.data.environment, "live");
    let fetched = client.conversation(&event.data.conversation_id).await.unwrap();
    assert_eq!(fetched.id, event.data.conversation_id);
    assert_eq!(fetched.channel, event.data.channel);
    assert!(!fetched.in_progress && fetched.turn_count() > 0);
    // Its times add up: it ended (started + duration) no later than the event.
    let ended = fetched.started_at.unwrap() + chrono::Duration::seconds(fetched.total_duration.unwrap().into());
    assert!(ended <= chrono::Utc::now() + chrono::Duration::seconds(1), "{ended}");
    // The deliverer records its attempt when the receiver's answer is back, which can be just
    // after the receiver hands the event on.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !s.deliverer.attempts().iter().any(|a| a.event_id == event.id) {
        assert!(std::time::Instant::now() < deadline, "the delivery was recorded");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    s.shutdown().await;
}
