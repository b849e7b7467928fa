//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod net;
pub mod scores;
pub mod scripted;
#[path = "../../benches/support/shaping_proxy.rs"]
pub mod shaping_proxy;
pub mod stream;
pub mod team;
pub mod testserver;
pub mod tmux;
pub mod tui;
pub mod webhooks;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use callscope::api::Client;
use callscope::config::{Config, ConnectionArgs, FileConfig};
use callscope::standin::Standin;

/// The connection flags that point at a running stand-in.
/// The origin the store tests cache and mark under.
pub fn store_origin() -> callscope::domain::Origin {
    callscope::domain::Origin::new("ws-1", "PROJECT-1", "live")
}

/// A stand-in on free loopback ports with `conversations` generated calls, otherwise as it starts.
pub async fn standin_with(conversations: usize) -> Standin {
    callscope::standin::start(callscope::standin::StandinOptions {
        conversations,
        ..Default::default()
    })
    .await
    .unwrap()
}

/// The real binary run with `home` as HOME and its XDG data/config directories beneath it.
pub fn callscope_in(home: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_callscope"))
        .args(args)
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .output()
        .unwrap()
}

/// A process's output as text (lossy: a test prints whatever came).
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The `id` of each line of a JSONL export, in order.
pub fn jsonl_ids(jsonl: &str) -> Vec<String> {
    jsonl
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

/// `export` of the last 24 hours as `format` to stdout, 100 a page; tests change what they test.
pub fn export_args(format: callscope::export::Format) -> callscope::export::ExportOptions {
    callscope::export::ExportOptions {
        window: callscope::domain::timerange::Window {
            since: Some(callscope::domain::duration::parse_span("24h").unwrap()),
            ..Default::default()
        },
        format,
        page_size: 100,
        ..Default::default()
    }
}

/// The audio engine without a sound device (what it would play is only decoded).
pub fn headless_engine(
    client: Client,
    events: tokio::sync::mpsc::UnboundedSender<callscope::audio::AudioEvent>,
) -> callscope::audio::AudioEngine {
    callscope::audio::AudioEngine::start_with(
        client,
        events,
        callscope::audio::EngineOptions {
            use_device: false,
            ..Default::default()
        },
    )
}

/// A config for scripted servers: `runtime` and `platform` as the two hosts, the store tests'
/// account and project (`ws-1`/`PROJECT-1`), and `env` as the environment (e.g. the API key).
pub fn scripted_config(runtime: &str, platform: Option<&str>, env: &[(&str, &str)]) -> Config {
    let args = ConnectionArgs {
        base_url: Some(runtime.into()),
        platform_url: platform.map(String::from),
        account_id: Some("ws-1".into()),
        project_id: Some("PROJECT-1".into()),
        ..Default::default()
    };
    let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Config::resolve_with_file(
        &args,
        &move |k| env.iter().find(|(name, _)| name == k).map(|(_, v)| v.clone()),
        FileConfig::default(),
    )
    .unwrap()
}

pub fn conn_args(s: &Standin) -> ConnectionArgs {
    ConnectionArgs {
        base_url: Some(s.runtime_url.clone()),
        platform_url: Some(s.platform_url.clone()),
        account_id: Some(s.account_id.clone()),
        project_id: Some(s.project_id.clone()),
        ..Default::default()
    }
}

/// A config for a running stand-in with `key` as its API key.
pub fn config_with_key(s: &Standin, key: &str) -> Config {
    let key = key.to_string();
    Config::resolve_with_file(
        &conn_args(s),
        &move |k| (k == "POLYAI_API_KEY").then(|| key.clone()),
        FileConfig::default(),
    )
    .unwrap()
}

pub fn client_with_key(s: &Standin, key: &str) -> Client {
    Client::new(&config_with_key(s, key)).unwrap()
}

pub fn client(s: &Standin) -> Client {
    client_with_key(s, &s.api_key)
}

/// Env vars that point the binary at a running stand-in.
pub fn env_for(s: &Standin) -> Vec<(&'static str, String)> {
    vec![
        ("POLYAI_BASE_URL", s.runtime_url.clone()),
        ("POLYAI_PLATFORM_URL", s.platform_url.clone()),
        ("POLYAI_API_KEY", s.api_key.clone()),
        ("POLYAI_ACCOUNT_ID", s.account_id.clone()),
        ("POLYAI_PROJECT_ID", s.project_id.clone()),
    ]
}

/// `callscope serve-demo` on free ports; returns the child and the five `export` values.
pub fn serve_demo(extra: &[&str]) -> (ChildGuard, Vec<(String, String)>) {
    spawn_serve_demo(extra, Stdio::null())
}

/// [`serve_demo`] with its stderr piped, for tests that read what it reports (take it from the
/// guard's child).
pub fn serve_demo_reporting(extra: &[&str]) -> (ChildGuard, Vec<(String, String)>) {
    spawn_serve_demo(extra, Stdio::piped())
}

fn spawn_serve_demo(extra: &[&str], stderr: Stdio) -> (ChildGuard, Vec<(String, String)>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_callscope"))
        .args([
            "serve-demo",
            "--runtime-addr",
            "127.0.0.1:0",
            "--platform-addr",
            "127.0.0.1:0",
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("run callscope serve-demo");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut vars = Vec::new();
    for _ in 0..5 {
        let line = lines.next().expect("five export lines").unwrap();
        let rest = line
            .strip_prefix("export ")
            .unwrap_or_else(|| panic!("not an export line: {line:?}"));
        let (k, v) = rest.split_once('=').unwrap();
        vars.push((k.to_string(), v.to_string()));
    }
    (ChildGuard(child), vars)
}

/// Kills the child when dropped, so a failing test leaves no server behind.
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Python 3 with `requests`, or `None` (a skip is only allowed outside CI).
pub fn python_with_requests() -> Option<&'static str> {
    let ok = Command::new("python3")
        .args(["-c", "import requests"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if ok {
        Some("python3")
    } else if std::env::var_os("CI").is_some() {
        panic!("CI must have python3 with requests (see .ci/run)");
    } else {
        eprintln!("skipped: python3 with requests is not installed");
        None
    }
}
