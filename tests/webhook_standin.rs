//! The webhooks mounted in the real stand-in, end to end: register through the platform
//! listener with `Client`, simulated live calls inserted into the stand-in's data set and
//! delivered to a receiver, then fetched back from the runtime listener.

use std::time::Duration;

use callscope::api::{Client, ErrorKind, HostFamily};
use callscope::config::{Config, ConnectionArgs, FileConfig};
use callscope::standin::{self, StandinOptions};
use callscope::webhook::{
    Deliverer, DeliveryConfig, EventData, EventType, LiveCalls, ReceiverConfig, SigningSecret, receiver,
};
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_calls_through_the_standin_reach_the_receiver_and_can_be_fetched() {
    // The stand-in mounts the Webhooks API on its platform listener itself.
    let s = standin::start(StandinOptions {
        conversations: 50,
        ..Default::default()
    })
    .await
    .unwrap();
    let registry = s.webhooks.clone();
    let env = |k: &str| match k {
        "POLYAI_API_KEY" => Some(s.api_key.clone()),
        "POLYAI_BASE_URL" => Some(s.runtime_url.clone()),
        "POLYAI_PLATFORM_URL" => Some(s.platform_url.clone()),
        "POLYAI_ACCOUNT_ID" => Some(s.account_id.clone()),
        "POLYAI_PROJECT_ID" => Some(s.project_id.clone()),
        _ => None,
    };
    let cfg = Config::resolve_with_file(&ConnectionArgs::default(), &env, FileConfig::default()).unwrap();
    let client = Client::new(&cfg).unwrap();

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

    // Live calls: inserted into the stand-in's data set, announced by webhook.
    let deliverer = Deliverer::new(registry, DeliveryConfig::compressed(Duration::from_millis(200))).unwrap();
    let dataset = s.dataset();
    let mut n = 0;
    let live = LiveCalls::spawn(deliverer, Duration::from_millis(50), move || {
        n += 1;
        let started = chrono::Utc::now() - chrono::Duration::minutes(3);
        let call = dataset.synthesize(1_000 + n, started, "live", false);
        let id = dataset.insert(call);
        dataset.get(&id).map(|c| EventData::from_conversation(&c))
    });
    let event = loop {
        let e = tokio::time::timeout(Duration::from_secs(10), rx.events.recv())
            .await
            .expect("a live call within 10 s")
            .unwrap();
        if e.event_type == EventType::ConversationCompleted {
            break e;
        }
    };
    drop(live);
    assert_eq!(event.data.environment, "live");
    let fetched = client.conversation(&event.data.conversation_id).await.unwrap();
    assert_eq!(fetched.id, event.data.conversation_id);
    assert_eq!(fetched.channel, event.data.channel);
    s.shutdown().await;
}
