//! The Webhooks API routes over loopback: both route families, limits, auth, the secret's
//! one-time display, `Client::request_json`, and the `callscope webhooks`/`listen` binary.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use axum::Router;
use callscope::api::{Client, ErrorKind, HostFamily};
use callscope::config::{Config, ConnectionArgs, FileConfig};
use callscope::standin::webhooks::{Deliverer, DeliveryConfig, Registry, WebhookState, router};
use callscope::webhook::{EventData, EventType, WebhookEvent};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const KEY: &str = "test-platform-key";

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

async fn platform() -> (SocketAddr, Registry) {
    let registry = Registry::new();
    let addr = serve(router(WebhookState::new(registry.clone(), [KEY.to_string()]))).await;
    (addr, registry)
}

struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("x-api-key", KEY);
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b.to_string());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

fn create_body(name: &str) -> Value {
    json!({
        "name": name,
        "url": "https://example.com/webhooks/polyai",
        "event_types": ["alerts.triggered", "alerts.resolved"],
        "headers": {"X-Custom-Header": "my-value"},
        "timeout_ms": 5000,
        "enabled": true
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_family_crud_limits_and_secret_visibility() {
    let (addr, _) = platform().await;
    let api = Api {
        base: format!("http://{addr}"),
        http: reqwest::Client::new(),
    };
    let (s, created) = api
        .call(Method::POST, "/v1/webhook-endpoints", Some(create_body("one")))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    let secret = created["signing_secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(created["timeout_ms"], 5000);
    assert_eq!(created["headers"]["X-Custom-Header"], "my-value");

    let (s, list) = api.call(Method::GET, "/v1/webhook-endpoints", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert!(!list.to_string().contains(&secret), "list never shows the secret");
    let (s, one) = api
        .call(Method::GET, &format!("/v1/webhook-endpoints/{id}"), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(one["name"], "one");
    assert!(one.get("signing_secret").is_none());

    let (s, patched) = api
        .call(
            Method::PATCH,
            &format!("/v1/webhook-endpoints/{id}"),
            Some(json!({"enabled": false, "name": "renamed"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{patched}");
    assert_eq!(
        (patched["enabled"].clone(), patched["name"].clone()),
        (json!(false), json!("renamed"))
    );
    let (_, enabled_only) = api.call(Method::GET, "/v1/webhook-endpoints?enabled=true", None).await;
    assert_eq!(enabled_only["data"].as_array().unwrap().len(), 0);

    let (s, rotated) = api
        .call(Method::POST, &format!("/v1/webhook-endpoints/{id}/rotate-secret"), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let new_secret = rotated["signing_secret"].as_str().unwrap();
    assert_ne!(new_secret, secret);

    // Refusals, each in the error envelope.
    let checks = [
        (
            Method::GET,
            "/v1/webhook-endpoints/not-an-id".to_string(),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::DELETE,
            "/v1/webhook-endpoints/whe_".to_string(),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::GET,
            "/v1/webhook-endpoints/whe_missing1".to_string(),
            None,
            StatusCode::NOT_FOUND,
        ),
        (
            Method::POST,
            "/v1/webhook-endpoints".to_string(),
            Some(
                json!({"name": "x", "url": "https://a.example/", "event_types": ["alerts.triggered"], "colour": "red"}),
            ),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::PATCH,
            format!("/v1/webhook-endpoints/{id}"),
            Some(json!({"secret": "mine"})),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            "/v1/webhook-endpoints".to_string(),
            Some(json!({"name": "x", "url": "http://evil.example/", "event_types": ["alerts.triggered"]})),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (method, path, body, want) in checks {
        let (s, err) = api.call(method.clone(), &path, body).await;
        assert_eq!(s, want, "{method} {path}: {err}");
        assert_eq!(err["success"], false);
        assert!(err["error_code"].as_str().is_some_and(|c| !c.is_empty()), "{err}");
        assert!(err["error_message"].is_string() && err["error_id"].is_string() && err["data"].is_null());
    }

    // Ten endpoints at most.
    for i in 2..=10 {
        let (s, _) = api
            .call(
                Method::POST,
                "/v1/webhook-endpoints",
                Some(create_body(&format!("n{i}"))),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let (s, err) = api
        .call(Method::POST, "/v1/webhook-endpoints", Some(create_body("eleven")))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{err}");

    let (s, _) = api
        .call(Method::DELETE, &format!("/v1/webhook-endpoints/{id}"), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = api
        .call(Method::GET, &format!("/v1/webhook-endpoints/{id}"), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_needs_the_api_key() {
    let (addr, _) = platform().await;
    let http = reqwest::Client::new();
    for (method, path) in [
        (Method::GET, "/v1/webhook-endpoints"),
        (Method::POST, "/v1/webhook-endpoints"),
        (Method::POST, "/v1/webhooks/endpoints"),
        (Method::DELETE, "/v1/webhook-endpoints/whe_abc"),
    ] {
        for key in [None, Some("wrong-key")] {
            let mut req = http.request(method.clone(), format!("http://{addr}{path}"));
            if let Some(k) = key {
                req = req.header("x-api-key", k);
            }
            let resp = req.send().await.unwrap();
            assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{method} {path} {key:?}");
            assert!(resp.headers().contains_key("x-polyai-correlation-id"));
            let body: Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
            assert_eq!(body["error_code"], "AUTH_USER_UNAUTHORISED");
        }
    }
}

fn config_for(platform_url: String, runtime_url: String) -> Config {
    let env = move |k: &str| match k {
        "POLYAI_API_KEY" => Some(KEY.to_string()),
        "POLYAI_PLATFORM_URL" => Some(platform_url.clone()),
        "POLYAI_BASE_URL" => Some(runtime_url.clone()),
        "POLYAI_ACCOUNT_ID" => Some("ws-test".into()),
        "POLYAI_PROJECT_ID" => Some("PROJECT-test".into()),
        _ => None,
    };
    Config::resolve_with_file(&ConnectionArgs::default(), &env, FileConfig::default()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quickstart_registration_through_the_client_and_a_wrong_host_diagnosis() {
    let (addr, registry) = platform().await;
    // A host of the other family: serves none of the webhook routes.
    let runtime = serve(Router::new()).await;
    let cfg = config_for(format!("http://{addr}"), format!("http://{runtime}"));
    let client = Client::new(&cfg).unwrap();
    let body = json!({
        "url": "http://127.0.0.1:8787/polyai-events",
        "description": "Post-call ingestion",
        "events": ["conversation.completed", "handoff.created"]
    });
    let url = client.url(HostFamily::Platform, &["v1", "webhooks", "endpoints"]);
    let endpoint: Value = client
        .request_json(Method::POST, HostFamily::Platform, url, Some(&body))
        .await
        .unwrap();
    let id = endpoint["id"].as_str().unwrap();
    assert!(endpoint["signing_secret"].as_str().unwrap().starts_with("whsec_"));
    assert_eq!(endpoint["events"], json!(["conversation.completed", "handoff.created"]));
    let stored = registry.get(id).unwrap();
    assert_eq!(stored.description, "Post-call ingestion");
    assert_eq!(registry.targets("handoff.created").len(), 1);

    // The same call sent to the runtime host: a 404 whose diagnosis names the right host.
    let wrong = client.url(HostFamily::Runtime, &["v1", "webhooks", "endpoints"]);
    let err = client
        .request_json::<Value>(Method::POST, HostFamily::Platform, wrong, Some(&body))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::WrongHost);
    assert!(err.diagnosis().contains("api.{region}.poly.ai"), "{}", err.diagnosis());
}

fn cli(args: &[&str], platform_url: &str, home: &std::path::Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_callscope"))
        .args(args)
        .env_clear()
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home)
        .env("POLYAI_API_KEY", KEY)
        .env("POLYAI_PLATFORM_URL", platform_url)
        .env("POLYAI_ACCOUNT_ID", "ws-test")
        .env("POLYAI_PROJECT_ID", "PROJECT-test")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_register_list_rotate_delete_against_a_loopback_platform() {
    let (addr, registry) = platform().await;
    let home = tempfile::tempdir().unwrap();
    let base = format!("http://{addr}");
    let run = |args: Vec<String>| {
        let base = base.clone();
        let home = home.path().to_path_buf();
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            cli(&args, &base, &home)
        })
    };
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();

    let (code, out, err) = run(s(&[
        "webhooks",
        "register",
        "--url",
        "http://127.0.0.1:8787/polyai-events",
        "--event",
        "handoff.created",
    ]))
    .await
    .unwrap();
    assert_eq!(code, 0, "{out}{err}");
    let ep = registry.list().pop().unwrap();
    assert_eq!(ep.event_types, ["handoff.created"]);
    assert!(out.contains(&ep.id), "{out}");
    let secret = registry.targets("handoff.created")[0].secret.clone();
    assert_eq!(out.matches(secret.expose()).count(), 1, "secret printed once: {out}");
    assert!(err.contains("shown only once"), "{err}");
    assert!(!out.contains(KEY) && !err.contains(KEY), "the API key is never printed");

    let (code, out, _) = run(s(&["webhooks", "list"])).await.unwrap();
    assert_eq!(code, 0);
    assert!(out.contains(&ep.id) && !out.contains(secret.expose()), "{out}");

    let secret_file = home.path().join("secret");
    let (code, out, err) = run(vec![
        "webhooks".into(),
        "rotate".into(),
        ep.id.clone(),
        "--save-secret".into(),
        secret_file.display().to_string(),
    ])
    .await
    .unwrap();
    assert_eq!(code, 0, "{out}{err}");
    let rotated = registry.targets("handoff.created")[0].secret.clone();
    assert_ne!(rotated, secret);
    assert_eq!(std::fs::read_to_string(&secret_file).unwrap().trim(), rotated.expose());
    assert!(!out.contains(rotated.expose()), "saved, not printed");

    let (code, _, err) = run(s(&["webhooks", "delete", "whe-bad"])).await.unwrap();
    assert_ne!(code, 0);
    assert!(err.contains("not a webhook endpoint id"), "{err}");
    let (code, _, err) = run(s(&["webhooks", "delete", "whe_doesnotexist"])).await.unwrap();
    assert_ne!(code, 0);
    assert!(err.contains("404"), "{err}");
    let (code, out, err) = run(vec!["webhooks".into(), "delete".into(), ep.id.clone()])
        .await
        .unwrap();
    assert_eq!(code, 0, "{out}{err}");
    assert!(registry.list().is_empty());

    // The runtime host (no webhook routes) gives the wrong-host diagnosis.
    let runtime = serve(Router::new()).await;
    let (code, _, err) = tokio::task::spawn_blocking({
        let home = home.path().to_path_buf();
        move || {
            cli(
                &["webhooks", "register", "--url", "https://x.example/h"],
                &format!("http://{runtime}"),
                &home,
            )
        }
    })
    .await
    .unwrap();
    assert_ne!(code, 0);
    assert!(err.contains("Wrong host for webhooks"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_prints_one_json_line_per_accepted_event() {
    let home = tempfile::tempdir().unwrap();
    let secret_file = home.path().join("secret");
    let registry = Registry::new();
    // Register first with a placeholder URL to learn the secret, then point it at `listen`.
    let (ep, secret) = registry
        .create(callscope::standin::webhooks::registry::NewEndpoint {
            name: "listen".into(),
            url: "http://127.0.0.1:1/x".into(),
            event_types: vec!["conversation.completed".into()],
            ..Default::default()
        })
        .unwrap();
    std::fs::write(&secret_file, format!("{}\n", secret.expose())).unwrap();
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
    let guard = crate::support::ChildGuard(child);
    let banner = tokio::task::spawn_blocking(move || {
        let mut reader = BufReader::new(stderr);
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        (line, reader)
    });
    let (banner, mut stderr) = tokio::time::timeout(Duration::from_secs(10), banner)
        .await
        .unwrap()
        .unwrap();
    let url = banner
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {banner:?}"))
        .to_string();
    registry
        .update(
            &ep.id,
            callscope::standin::webhooks::registry::EndpointPatch {
                url: Some(url),
                ..Default::default()
            },
        )
        .unwrap();

    let deliverer = Deliverer::new(registry, DeliveryConfig::scaled(0.001).unwrap()).unwrap();
    let mut attempts = deliverer.subscribe();
    let event = WebhookEvent::new(
        EventType::ConversationCompleted,
        EventData {
            conversation_id: "CA-listen\u{1b}[2J".into(),
            ..Default::default()
        },
    );
    deliverer.deliver(&event);
    deliverer.deliver(&event); // a duplicate delivery of the same event id
    for _ in 0..2 {
        let a = tokio::time::timeout(Duration::from_secs(10), attempts.recv())
            .await
            .unwrap()
            .unwrap();
        assert!(a.outcome.is_success(), "{a:?}");
    }
    // Ctrl-C: `listen` stops, prints its counters, and exits 0; stdout then holds exactly
    // one line for the two deliveries.
    let status = Command::new("kill").args(["-INT", &pid.to_string()]).status().unwrap();
    assert!(status.success());
    let finished = tokio::task::spawn_blocking(move || {
        let mut guard = guard;
        let mut out = String::new();
        std::io::Read::read_to_string(&mut BufReader::new(stdout), &mut out).unwrap();
        let mut err = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut err).unwrap();
        (guard.0.wait().unwrap(), out, err)
    });
    let (exit, out, err) = tokio::time::timeout(Duration::from_secs(10), finished)
        .await
        .expect("listen stops within 10 s of Ctrl-C")
        .unwrap();
    assert!(exit.success(), "{exit:?} {err}");
    assert!(err.contains("stopped: 1 accepted, 1 duplicates"), "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "{out}");
    let printed: Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(printed, event.raw);
    assert!(!out.contains('\u{1b}'), "control characters arrive escaped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merges_into_a_stateful_router_behind_an_outer_key_check() {
    // Like the stand-in's platform router: its own state type, and it checks keys itself.
    #[derive(Clone)]
    struct Outer;
    let registry = Registry::new();
    let outer: Router<Outer> = Router::new()
        .route("/v1/agents/ping", axum::routing::get(|| async { "pong" }))
        .merge(router::<Outer>(WebhookState::behind_auth(registry.clone())));
    let addr = serve(outer.with_state(Outer)).await;
    let resp = reqwest::Client::new()
        .post(format!("http://{addr}/v1/webhooks/endpoints"))
        .header("content-type", "application/json")
        .body(r#"{"url":"https://x.example/h","events":["handoff.created"]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(registry.targets("handoff.created").len(), 1);
}
