//! Webhooks as the API reference documents them, over loopback: each signature scheme and
//! payload shape (the quickstart's call events, the reference's alerts) through the real
//! receiver, `listen` and the TUI's status line; the reference's retry policy at a scripted
//! receiver; `webhooks register/list/rotate/delete` on both route families of the stand-in,
//! with the fallback taken only when a route (not an endpoint) is missing.

use crate::support as common;
use crate::support::scripted;
use crate::support::webhooks;

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use callscope::api::HostFamily;
use callscope::standin::webhooks::deliver::{DeliveryAttempt, EVENT_ID_HEADER};
use callscope::standin::webhooks::registry::NewEndpoint;
use callscope::standin::webhooks::{AttemptOutcome, Deliverer, DeliveryConfig, Registry, WebhookRoutes};
use callscope::standin::{self, Standin, StandinOptions};
use callscope::webhook::signature::{SignatureScheme, sign};
use callscope::webhook::{Alert, EventData, EventType, ReceiverConfig, WebhookEvent, receiver};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::broadcast;

const ALL_EVENTS: [&str; 4] = [
    "conversation.completed",
    "handoff.created",
    "alerts.triggered",
    "alerts.resolved",
];

/// The reference's alert example (polyai-api.md §6.3), verbatim.
const REFERENCE_ALERT: &str = r#"{"event_type":"alerts.triggered","alert":{"id":"ar_0Kx4mNpQ8rWvYb2dFgHjLs","name":"High turn latency (p95)","project_id":"proj_abc123","metric":"turn_latency_p95","operator":">=","threshold_value":1500,"current_value":1823,"previous_state":"ok","triggered_at":"2024-03-15T10:30:00Z"}}"#;

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

fn subscribe_all(registry: &Registry, url: String) -> callscope::webhook::SigningSecret {
    registry
        .create(NewEndpoint {
            name: "all".into(),
            url,
            event_types: ALL_EVENTS.map(String::from).to_vec(),
            ..Default::default()
        })
        .unwrap()
        .1
}

async fn next_attempt(rx: &mut broadcast::Receiver<DeliveryAttempt>) -> DeliveryAttempt {
    tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .expect("a delivery attempt in time")
        .unwrap()
}

/// Delivers `event` with the stand-in's deliverer, signed under `scheme`, to the real receiver:
/// what the receiver emitted, and the attempt (with the signature sent).
async fn through_the_receiver(scheme: SignatureScheme, event: &WebhookEvent) -> (WebhookEvent, DeliveryAttempt) {
    let mut rx = receiver(ReceiverConfig::new(vec![]));
    let addr = serve(rx.router.clone()).await;
    let registry = Registry::new();
    let secret = subscribe_all(&registry, format!("http://{addr}/polyai-events"));
    rx.handle.set_secrets(vec![secret.clone()]);
    let config = DeliveryConfig::scaled(0.001).unwrap().with_scheme(scheme);
    let deliverer = Deliverer::new(registry, config).unwrap();
    let mut attempts = deliverer.subscribe();
    assert_eq!(deliverer.deliver(event), 1);
    let attempt = next_attempt(&mut attempts).await;
    assert_eq!(
        attempt.outcome,
        AttemptOutcome::Delivered { status: 204 },
        "{attempt:?}"
    );
    // The signature is the scheme's: over "{timestamp}.{body}" or over the body alone.
    assert_eq!(
        attempt.signature,
        sign(&secret, scheme, attempt.timestamp, &event.to_body())
    );
    let other = match scheme {
        SignatureScheme::Body => SignatureScheme::Timestamped,
        SignatureScheme::Timestamped => SignatureScheme::Body,
    };
    assert_ne!(
        attempt.signature,
        sign(&secret, other, attempt.timestamp, &event.to_body())
    );
    let got = tokio::time::timeout(Duration::from_secs(5), rx.events.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.raw, event.raw, "the payload arrives as sent");
    (got, attempt)
}

fn call_event(event_type: EventType, id: &str) -> WebhookEvent {
    WebhookEvent::new(
        event_type,
        EventData {
            conversation_id: id.into(),
            environment: "live".into(),
            handoff: true,
            handoff_reason: "billing question".into(),
            ..Default::default()
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timestamped_signature_and_the_quickstarts_completed_event() {
    let sent = call_event(EventType::ConversationCompleted, "CA-ts-done");
    let (got, _) = through_the_receiver(SignatureScheme::Timestamped, &sent).await;
    assert_eq!(got.event_type, EventType::ConversationCompleted);
    assert_eq!(
        (got.id.as_str(), got.data.conversation_id.as_str()),
        (sent.id.as_str(), "CA-ts-done")
    );
    assert!(got.alert.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_signature_and_the_quickstarts_handoff_event() {
    let sent = call_event(EventType::HandoffCreated, "CA-body-handoff");
    let (got, _) = through_the_receiver(SignatureScheme::Body, &sent).await;
    assert_eq!(got.event_type, EventType::HandoffCreated);
    assert_eq!(got.data.handoff_reason, "billing question");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timestamped_signature_and_the_references_alert_example() {
    let sent = WebhookEvent::from_slice(REFERENCE_ALERT.as_bytes(), Some("evt_ref1")).unwrap();
    let (got, attempt) = through_the_receiver(SignatureScheme::Timestamped, &sent).await;
    assert_eq!(got.event_type, EventType::AlertsTriggered);
    // The reference's body has no id: the receiver takes X-PolyAI-Event-ID.
    assert!(got.raw.get("id").is_none());
    assert_eq!((got.id.as_str(), attempt.event_id.as_str()), ("evt_ref1", "evt_ref1"));
    let alert = got.alert.unwrap();
    assert_eq!(
        alert.summary(),
        "High turn latency (p95): turn_latency_p95 1823 (>= 1500)"
    );
    assert_eq!(alert.previous_state, "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_signature_and_a_resolved_alert() {
    let sent = WebhookEvent::alert(
        EventType::AlertsResolved,
        Alert {
            id: "ar_9".into(),
            name: "API errors".into(),
            metric: "api_errors".into(),
            operator: ">".into(),
            threshold_value: "10".into(),
            current_value: "2".into(),
            previous_state: "alert".into(),
            resolved_at: Some(chrono::Utc::now()),
            ..Default::default()
        },
    );
    let (got, _) = through_the_receiver(SignatureScheme::Body, &sent).await;
    assert_eq!(got.event_type, EventType::AlertsResolved);
    assert_eq!(got.raw["alert"]["current_value"], 2, "numbers stay numbers on the wire");
    assert_eq!(got.alert.unwrap().summary(), "API errors: api_errors 2 (> 10)");
}

// ---- the reference's retry policy ----

/// A receiver answering `statuses` in turn (then the last), recording when each request came.
async fn scripted_receiver(statuses: Vec<u16>) -> (String, Arc<Mutex<Vec<(Instant, String)>>>) {
    let seen: Arc<Mutex<Vec<(Instant, String)>>> = Arc::default();
    let log = seen.clone();
    let router = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap| {
            let log = log.clone();
            let statuses = statuses.clone();
            async move {
                let mut log = log.lock().unwrap();
                let id = headers[EVENT_ID_HEADER].to_str().unwrap().to_string();
                log.push((Instant::now(), id));
                StatusCode::from_u16(statuses[(log.len() - 1).min(statuses.len() - 1)]).unwrap()
            }
        }),
    );
    (format!("http://{}/hook", serve(router).await), seen)
}

/// Delivers one event to a receiver answering `statuses`; the attempts until the last one.
async fn deliver_until_final(
    statuses: Vec<u16>,
    scale: f64,
) -> (Vec<DeliveryAttempt>, Arc<Mutex<Vec<(Instant, String)>>>) {
    let (url, seen) = scripted_receiver(statuses).await;
    let registry = Registry::new();
    subscribe_all(&registry, url);
    let deliverer = Deliverer::new(registry, DeliveryConfig::scaled(scale).unwrap()).unwrap();
    let mut rx = deliverer.subscribe();
    deliverer.deliver(&call_event(EventType::ConversationCompleted, "CA-retry"));
    let mut log = Vec::new();
    loop {
        let a = next_attempt(&mut rx).await;
        let last = a.last;
        log.push(a);
        if last {
            return (log, seen);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusing_4xx_is_not_retried() {
    // At this scale all six attempts would be over in ~2 s.
    let scale = 0.0001;
    let (a401, b400) = tokio::join!(
        deliver_until_final(vec![401, 204], scale),
        deliver_until_final(vec![422, 204], scale)
    );
    tokio::time::sleep(Duration::from_millis(2500)).await;
    for ((log, seen), status) in [(a401, 401), (b400, 422)] {
        assert_eq!(log.len(), 1, "{status}: {log:?}");
        assert_eq!(log[0].outcome, AttemptOutcome::Failed { status });
        assert_eq!(seen.lock().unwrap().len(), 1, "{status}: the receiver saw one attempt");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_503_is_retried_on_the_scaled_documented_schedule() {
    // 0.001: the waits are 60 ms, 300 ms, 900 ms (of 1 min, 5 min, 15 min).
    let (log, seen) = deliver_until_final(vec![503, 503, 503, 204], 0.001).await;
    let outcomes: Vec<_> = log.iter().map(|a| a.outcome.clone()).collect();
    assert_eq!(
        outcomes,
        [503, 503, 503]
            .map(|status| AttemptOutcome::Failed { status })
            .into_iter()
            .chain([AttemptOutcome::Delivered { status: 204 }])
            .collect::<Vec<_>>()
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 4);
    assert!(
        seen.iter().all(|(_, id)| *id == log[0].event_id),
        "one event id throughout"
    );
    let gaps: Vec<Duration> = seen.windows(2).map(|w| w[1].0 - w[0].0).collect();
    for (gap, want_ms) in gaps.iter().zip([60u64, 300, 900]) {
        let want = Duration::from_millis(want_ms);
        assert!(*gap >= want - Duration::from_millis(5), "{gaps:?}");
        assert!(*gap < want + Duration::from_millis(400), "{gaps:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_and_rate_limits_are_retried_and_a_failing_server_gets_six_attempts() {
    let scale = 0.0001;
    let (r408, r429, r500) = tokio::join!(
        deliver_until_final(vec![408, 204], scale),
        deliver_until_final(vec![429, 204], scale),
        deliver_until_final(vec![500], scale)
    );
    for ((log, _), status) in [(r408, 408), (r429, 429)] {
        assert_eq!(log.len(), 2, "{status}: {log:?}");
        assert_eq!(log[0].outcome, AttemptOutcome::Failed { status });
        assert!(log[1].outcome.is_success(), "{status}");
    }
    let (log, _) = r500;
    assert_eq!(log.len(), 6, "{log:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_standin_scales_its_schedule_and_serve_demo_refuses_a_bad_scale() {
    let s = standin::start(StandinOptions {
        conversations: 1,
        retry_scale: 0.01,
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(
        s.deliverer.config().retry_delays,
        [600, 3000, 9000, 36_000, 144_000].map(Duration::from_millis)
    );
    assert_eq!(s.deliverer.config().scheme, SignatureScheme::Timestamped);
    s.shutdown().await;
    let out = tokio::task::spawn_blocking(|| {
        Command::new(env!("CARGO_BIN_EXE_callscope"))
            .args([
                "serve-demo",
                "--runtime-addr",
                "127.0.0.1:0",
                "--platform-addr",
                "127.0.0.1:0",
            ])
            .args(["--conversations", "1", "--retry-scale=-1"])
            .stdin(Stdio::null())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("retry scale") && err.contains("-1"), "{err}");
}

// ---- the CLI on both route families ----

async fn standin_with(routes: WebhookRoutes) -> Standin {
    standin::start(StandinOptions {
        conversations: 1,
        webhook_routes: routes,
        ..Default::default()
    })
    .await
    .unwrap()
}

/// `callscope ARGS` pointed at `s` (or at `platform` for the platform host).
async fn cli(env: Vec<(&'static str, String)>, args: &[&str]) -> (i32, String, String) {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let home = tempfile::tempdir().unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_callscope"))
            .args(&args)
            .env_clear()
            .env("HOME", home.path())
            .env("XDG_CONFIG_HOME", home.path())
            .envs(env)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    })
    .await
    .unwrap()
}

/// register → list → rotate → delete with the default (alert) events; returns what `register`
/// printed.
async fn manage_one_endpoint(s: &Standin, route: &str) -> String {
    let env = common::env_for(s);
    let (code, out, err) = cli(
        env.clone(),
        &["webhooks", "register", "--url", "http://127.0.0.1:9/hook"],
    )
    .await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(&format!("route:  {route}")), "{out}");
    let ep = s.webhooks.list().pop().expect("registered");
    assert_eq!(ep.event_types, ["alerts.triggered", "alerts.resolved"]);
    assert_eq!(ep.name, "callscope");
    let secret = s.webhooks.targets("alerts.triggered")[0].secret.clone();
    assert_eq!(out.matches(secret.expose()).count(), 1, "{out}");

    let (code, listed, err) = cli(env.clone(), &["webhooks", "list"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(
        listed.contains(&ep.id)
            && listed.contains("[alerts.triggered,alerts.resolved]")
            && listed.contains("callscope"),
        "{listed}"
    );

    let (code, rotated, err) = cli(env.clone(), &["webhooks", "rotate", &ep.id]).await;
    assert_eq!(code, 0, "{err}");
    let new_secret = s.webhooks.targets("alerts.triggered")[0].secret.clone();
    assert_ne!(new_secret, secret, "rotated in place");
    assert_eq!(s.webhooks.list()[0].id, ep.id, "same endpoint");
    assert!(rotated.contains(new_secret.expose()), "{rotated}");

    let (code, _, err) = cli(env.clone(), &["webhooks", "delete", &ep.id]).await;
    assert_eq!(code, 0, "{err}");
    assert!(s.webhooks.list().is_empty());
    // Deleting it again: the endpoint (not the route) is missing.
    let (code, _, err) = cli(env, &["webhooks", "delete", &ep.id]).await;
    assert_ne!(code, 0);
    assert!(
        err.contains("no webhook endpoint") && err.contains("webhooks list"),
        "{err}"
    );
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_manages_endpoints_on_the_references_route() {
    let s = standin_with(WebhookRoutes::Both).await;
    manage_one_endpoint(&s, "/v1/webhook-endpoints").await;
    // Call events are not in the reference's enum: they go to the quickstart's route.
    let (code, out, err) = cli(
        common::env_for(&s),
        &[
            "webhooks",
            "register",
            "--url",
            "http://127.0.0.1:9/h",
            "--event",
            "conversation.completed",
        ],
    )
    .await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("route:  /v1/webhooks/endpoints"), "{out}");
    assert!(
        err.contains("conversation.completed are not in the reference's event enum"),
        "{err}"
    );
    assert_eq!(s.webhooks.targets("conversation.completed").len(), 1);
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_falls_back_to_the_quickstarts_route_when_the_references_is_missing() {
    let s = standin_with(WebhookRoutes::Quickstart).await;
    let client = common::client(&s);
    let url = client.url(HostFamily::Platform, &["v1", "webhook-endpoints"]);
    let err = client
        .request_json::<Value>(Method::GET, HostFamily::Platform, url, None)
        .await
        .unwrap_err();
    assert_eq!(
        err.kind,
        callscope::api::ErrorKind::WrongHost,
        "the route is missing: {err}"
    );
    manage_one_endpoint(&s, "/v1/webhooks/endpoints").await;
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_events_on_a_reference_only_host_are_explained() {
    let s = standin_with(WebhookRoutes::Reference).await;
    let (code, _, err) = cli(
        common::env_for(&s),
        &[
            "webhooks",
            "register",
            "--url",
            "http://127.0.0.1:9/h",
            "--event",
            "handoff.created",
        ],
    )
    .await;
    assert_ne!(code, 0);
    assert!(err.contains("Wrong host for webhooks"), "{err}");
    assert!(
        err.contains("documents only alerts.triggered and alerts.resolved"),
        "{err}"
    );
    assert!(s.webhooks.list().is_empty());
    // The default alert events work there.
    let (code, out, err) = cli(
        common::env_for(&s),
        &["webhooks", "register", "--url", "http://127.0.0.1:9/h", "--name", "ops"],
    )
    .await;
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(s.webhooks.list()[0].name, "ops");
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_references_route_requires_name_and_its_enum_and_refuses_unknown_properties() {
    let s = standin_with(WebhookRoutes::Both).await;
    let client = common::client(&s);
    let url = || client.url(HostFamily::Platform, &["v1", "webhook-endpoints"]);
    let create = |body: Value| {
        let url = url();
        let client = &client;
        async move {
            client
                .request_json::<Value>(Method::POST, HostFamily::Platform, url, Some(&body))
                .await
        }
    };
    let hook = "https://hooks.example/polyai";
    for (body, says) in [
        (json!({"url": hook, "event_types": ["alerts.triggered"]}), "name"),
        (
            json!({"name": "n", "url": hook, "event_types": ["conversation.completed"]}),
            "alerts.triggered",
        ),
        (
            json!({"name": "n", "url": hook, "event_types": ["alerts.triggered"], "description": "x"}),
            "description",
        ),
        (
            json!({"name": "n", "url": hook, "events": ["alerts.triggered"]}),
            "events",
        ),
    ] {
        let err = create(body.clone()).await.unwrap_err();
        assert_eq!(err.status, Some(400), "{body}: {err}");
        assert!(err.message.contains(says), "{body}: {}", err.message);
    }
    assert!(s.webhooks.list().is_empty());
    let ok = create(json!({"name": "n", "url": hook, "event_types": ["alerts.resolved"]}))
        .await
        .unwrap();
    let id = ok["id"].as_str().unwrap();
    // PATCH holds to the same enum.
    let patch = client.url(HostFamily::Platform, &["v1", "webhook-endpoints", id]);
    let err = client
        .request_json::<Value>(
            Method::PATCH,
            HostFamily::Platform,
            patch,
            Some(&json!({"event_types": ["handoff.created"]})),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status, Some(400), "{err}");
    // The quickstart's route takes its own body and events.
    let q = client.url(HostFamily::Platform, &["v1", "webhooks", "endpoints"]);
    let made: Value = client
        .request_json(
            Method::POST,
            HostFamily::Platform,
            q,
            Some(&json!({"url": hook, "description": "Post-call ingestion", "events": ["conversation.completed", "handoff.created"]})),
        )
        .await
        .unwrap();
    assert_eq!(made["events"], json!(["conversation.completed", "handoff.created"]));
    s.shutdown().await;
}

// ---- a missing endpoint is not a missing route ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_not_found_is_not_taken_for_a_missing_route() {
    // The reference route exists and says the endpoint does not; the quickstart's would say
    // yes to anything. Falling back would "succeed" against the wrong family.
    let not_found = br#"{"success":false,"error":"webhook endpoint not found","error_id":"c1","error_code":"WEBHOOK_ENDPOINT_NOT_FOUND","error_message":"webhook endpoint not found","data":null}"#;
    let server = scripted::serve(move |req| {
        if req.path().starts_with("/v1/webhook-endpoints/") {
            scripted::Reply::json(404, not_found.to_vec())
        } else if req.method == "DELETE" {
            scripted::Reply::json(204, Vec::new())
        } else {
            scripted::Reply::json(200, br#"{"signing_secret":"whsec_wrong_family"}"#.to_vec())
        }
    });
    let env = vec![
        ("POLYAI_API_KEY", "k".to_string()),
        ("POLYAI_PLATFORM_URL", server.url.clone()),
        ("POLYAI_ACCOUNT_ID", "ws-a".to_string()),
        ("POLYAI_PROJECT_ID", "PROJECT-p".to_string()),
    ];
    let (code, _, err) = cli(env.clone(), &["webhooks", "delete", "whe_gone"]).await;
    assert_ne!(code, 0);
    assert!(err.contains("no webhook endpoint whe_gone"), "{err}");
    assert_eq!(server.hits(), 1, "the quickstart's route was not tried");
    let (code, out, err) = cli(env, &["webhooks", "rotate", "whe_gone"]).await;
    assert_ne!(code, 0);
    assert!(!out.contains("whsec_wrong_family"), "{out}");
    assert!(
        err.contains("404") && err.contains("WEBHOOK_ENDPOINT_NOT_FOUND"),
        "{err}"
    );
    assert_eq!(server.hits(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bare_404_is_a_missing_route_and_the_quickstarts_route_is_tried() {
    // A host without the reference route: a 404 that names nothing (empty body).
    let server = scripted::serve(|req| {
        if req.path().starts_with("/v1/webhook-endpoints") {
            scripted::Reply::json(404, Vec::new())
        } else {
            scripted::Reply::json(204, Vec::new())
        }
    });
    let env = vec![
        ("POLYAI_API_KEY", "k".to_string()),
        ("POLYAI_PLATFORM_URL", server.url.clone()),
        ("POLYAI_ACCOUNT_ID", "ws-a".to_string()),
        ("POLYAI_PROJECT_ID", "PROJECT-p".to_string()),
    ];
    let (code, out, err) = cli(env, &["webhooks", "delete", "whe_x1"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("deleted webhook endpoint whe_x1"), "{out}");
    assert_eq!(server.hits(), 2);
}

// ---- alerts reach `listen` and the TUI's status line ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_prints_alerts_as_json_and_a_sanitized_line() {
    use std::io::{BufRead, BufReader, Read};
    let home = tempfile::tempdir().unwrap();
    let secret_file = home.path().join("secret");
    std::fs::write(&secret_file, "whsec_listen\n").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_callscope"))
        .args(["listen", "--addr", "127.0.0.1:0", "--secret-file"])
        .arg(&secret_file)
        .env_clear()
        .env("HOME", home.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let pid = child.id();
    let guard = webhooks::Guard(child);
    let (banner, mut stderr) = tokio::task::spawn_blocking(move || {
        let mut reader = BufReader::new(stderr);
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        (line, reader)
    })
    .await
    .unwrap();
    let url = banner
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {banner:?}"))
        .to_string();
    let reference = WebhookEvent::from_slice(REFERENCE_ALERT.as_bytes(), Some("evt_l1")).unwrap();
    let hostile = WebhookEvent::alert(
        EventType::AlertsResolved,
        Alert {
            name: "evil\u{1b}]52;c;ZXZpbA==\u{7}\u{9b}2J".into(),
            ..Default::default()
        },
    );
    for e in [&reference, &hostile] {
        let (status, _) = webhooks::post_signed(&url, "whsec_listen", SignatureScheme::Timestamped, e).await;
        assert_eq!(status.unwrap(), 204);
    }
    assert!(
        Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
    let (out, err) = tokio::task::spawn_blocking(move || {
        let mut guard = guard;
        let (mut out, mut err) = (String::new(), String::new());
        BufReader::new(stdout).read_to_string(&mut out).unwrap();
        stderr.read_to_string(&mut err).unwrap();
        guard.0.wait().unwrap();
        (out, err)
    })
    .await
    .unwrap();
    let lines: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines, [reference.raw.clone(), hostile.raw.clone()]);
    assert!(
        err.contains("alert triggered: High turn latency (p95): turn_latency_p95 1823 (>= 1500)"),
        "{err}"
    );
    assert!(err.contains("alert resolved: evil"), "{err}");
    assert!(
        !err.contains('\u{1b}') && !err.contains('\u{9b}') && !err.contains('\u{7}'),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standin_alert_shows_in_the_tuis_status_line() {
    use callscope::app::live::LiveEvent;
    use callscope::app::{self, Identity, KeyMap, Msg, State};
    use callscope::tui::live::{self, LiveSetup};

    // The stand-in's live traffic raises a latency alert every 12 completed calls.
    let s = standin::start(StandinOptions {
        conversations: 5,
        new_call_every: Some(Duration::from_millis(30)),
        ..Default::default()
    })
    .await
    .unwrap();
    let client = common::client(&s);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let receiver = live::start(
        LiveSetup {
            addr: ([127, 0, 0, 1], 0).into(),
            secrets: Vec::new(),
            register: true,
        },
        &client,
        tx,
    )
    .await
    .unwrap();
    let ep = s.webhooks.list().pop().unwrap();
    assert!(ep.event_types.iter().any(|t| t == "alerts.triggered"), "{ep:?}");
    let mut state = State::new(
        KeyMap::default(),
        Identity::default(),
        "live",
        chrono::Utc::now(),
        chrono::FixedOffset::east_opt(0).unwrap(),
        (120, 40),
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let msg = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .expect("an alert within 30 s")
            .unwrap();
        let is_alert = matches!(msg, Msg::Live(LiveEvent::Alert { resolved: false, .. }));
        if matches!(msg, Msg::Live(_)) {
            // Only the live messages: the list's own loading is not under test here.
            let _ = app::update(&mut state, msg);
        }
        if is_alert {
            break;
        }
    }
    let note = state.status.note.clone().unwrap_or_default();
    assert!(
        note.starts_with("⚠ alert: High turn latency (p95): turn_latency_p95 "),
        "{note}"
    );
    // Untrusted alert text is sanitized in the status line.
    let _ = app::update(
        &mut state,
        Msg::Live(LiveEvent::Alert {
            resolved: true,
            summary: "x\u{1b}[2J\u{9b}31m\nnext".into(),
        }),
    );
    let note = state.status.note.clone().unwrap();
    assert!(note.starts_with("✓ alert resolved: x"), "{note}");
    assert!(!note.chars().any(char::is_control), "{note:?}");
    drop(receiver);
    s.shutdown().await;
}
