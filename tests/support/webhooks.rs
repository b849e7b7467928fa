//! Webhook receiver helpers shared by the abuse, replay and descriptor-limit tests.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use callscope::config::{Config, ConnectionArgs, FileConfig};
use callscope::standin::webhooks::deliver::{EVENT_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use callscope::webhook::signature::{SignatureScheme, sign};
use callscope::webhook::{EventData, EventType, SigningSecret, WebhookEvent};

/// A `conversation.completed` event for `conversation_id` in the live environment.
pub fn completed(conversation_id: &str) -> WebhookEvent {
    WebhookEvent::new(
        EventType::ConversationCompleted,
        EventData {
            conversation_id: conversation_id.to_string(),
            environment: "live".into(),
            ..Default::default()
        },
    )
}

/// Posts `event` signed with `secret` under `scheme`, on a fresh connection with a 5 s limit:
/// the answer's status (or why there was none) and how long it took.
pub async fn post_signed(
    url: &str,
    secret: &str,
    scheme: SignatureScheme,
    event: &WebhookEvent,
) -> (Result<u16, reqwest::Error>, Duration) {
    let body = event.to_body();
    let ts = chrono::Utc::now().timestamp();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let t0 = Instant::now();
    let answer = client
        .post(url)
        .header(SIGNATURE_HEADER, sign(&SigningSecret::new(secret), scheme, ts, &body))
        .header(TIMESTAMP_HEADER, ts.to_string())
        .header(EVENT_ID_HEADER, event.id.clone())
        .body(body)
        .send()
        .await
        .map(|r| r.status().as_u16());
    (answer, t0.elapsed())
}

/// `n` connections to `addr` that never send a byte (each given 3 s to connect).
pub async fn open_idle(addr: SocketAddr, n: usize) -> Vec<tokio::net::TcpStream> {
    let connects: Vec<_> = (0..n)
        .map(|_| {
            tokio::spawn(async move {
                tokio::time::timeout(Duration::from_secs(3), tokio::net::TcpStream::connect(addr))
                    .await
                    .ok()
                    .and_then(Result::ok)
            })
        })
        .collect();
    let mut idle = Vec::new();
    for c in connects {
        idle.extend(c.await.unwrap());
    }
    idle
}

/// For a child test process: at most `n` open descriptors, then a two-thread runtime.
pub fn runtime_with_descriptor_limit(n: u64) -> tokio::runtime::Runtime {
    let limit = libc::rlimit {
        rlim_cur: n,
        rlim_max: n,
    };
    // SAFETY: setrlimit only reads the struct passed by reference.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A client for `browse --listen`'s receiver, which never calls the API in these tests.
pub fn unused_client() -> callscope::api::Client {
    let cfg = Config::resolve_with_file(
        &ConnectionArgs::default(),
        &|k| match k {
            "POLYAI_API_KEY" => Some("unused".into()),
            "POLYAI_ACCOUNT_ID" => Some("a".into()),
            "POLYAI_PROJECT_ID" => Some("p".into()),
            _ => None,
        },
        FileConfig::default(),
    )
    .unwrap();
    callscope::api::Client::new(&cfg).unwrap()
}

/// A child process, killed and reaped when dropped.
pub struct Guard(pub std::process::Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs this test binary's ignored test `name` as a child with `env_var` set: the child, and
/// its stdout read up to the first line holding `tag` (the text after the tag, and the rest).
pub fn spawn_child_test(
    name: &str,
    env_var: &str,
    tag: &str,
) -> (
    Guard,
    String,
    std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
) {
    use std::io::BufRead;
    let mut child = Guard(
        std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--ignored", "--exact", name, "--nocapture", "--test-threads=1"])
            .env(env_var, "1")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut lines = std::io::BufReader::new(child.0.stdout.take().unwrap()).lines();
    let value = loop {
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("the child prints {tag}"))
            .unwrap();
        // The harness's "test NAME ... " may precede it on the same line.
        if let Some((_, v)) = line.split_once(tag) {
            break v.trim().to_string();
        }
    };
    (child, value, lines)
}
