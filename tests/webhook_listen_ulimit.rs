//! `callscope listen` as users run it, under the common `ulimit -n 1024`, with 1,050 idle
//! connections held open against it: valid signed deliveries still get a 2xx within 5 s, each
//! is printed once, and the receiver stops cleanly on Ctrl-C (SIGINT).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use callscope::webhook::signature::SignatureScheme;

#[path = "support/webhooks.rs"]
mod webhooks;

const SECRET: &str = "whsec_ulimit_test";
const IDLE: usize = 1050;
const DELIVERIES: usize = 20;

/// Kills the child when dropped, so a failing test leaves no receiver behind.
struct Guard(std::process::Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_under_ulimit_1024_serves_deliveries_while_1050_connections_idle() {
    // This test's own side needs more than 1,050 descriptors.
    callscope::webhook::server::raise_descriptor_limit();
    let home = tempfile::tempdir().unwrap();
    let mut child = Guard(
        Command::new("sh")
            .arg("-c")
            .arg(r#"ulimit -n 1024 && exec "$0" listen --addr 127.0.0.1:0"#)
            .arg(env!("CARGO_BIN_EXE_callscope"))
            .env("POLYAI_WEBHOOK_SECRET", SECRET)
            .env("HOME", home.path())
            .env("XDG_CONFIG_HOME", home.path().join("config"))
            .env("XDG_DATA_HOME", home.path().join("data"))
            .env("XDG_STATE_HOME", home.path().join("state"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run callscope listen"),
    );
    let pid = child.0.id();
    let mut stderr = BufReader::new(child.0.stderr.take().unwrap()).lines();
    let first = stderr.next().expect("a listening line").unwrap();
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {first:?}"))
        .to_string();
    let addr: SocketAddr = url["http://".len()..url.len() - "/polyai-events".len()]
        .parse()
        .unwrap();
    let stderr_rest = std::thread::spawn(move || stderr.map_while(Result::ok).collect::<Vec<_>>());
    #[cfg(target_os = "linux")]
    {
        let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
        let line = limits.lines().find(|l| l.starts_with("Max open files")).unwrap();
        assert_eq!(line.split_whitespace().nth(3), Some("1024"), "{line}");
    }
    let (line_tx, line_rx) = std::sync::mpsc::channel();
    let stdout = BufReader::new(child.0.stdout.take().unwrap());
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            if line_tx.send(line).is_err() {
                break;
            }
        }
    });

    // The abuse: 1,050 connections that never send a byte.
    let idle = webhooks::open_idle(addr, IDLE).await;
    assert_eq!(idle.len(), IDLE, "every idle connection was accepted by the kernel");

    let mut sent = Vec::new();
    for n in 0..DELIVERIES {
        let event = webhooks::completed(&format!("CA-ulimit-{n}"));
        let (status, took) = webhooks::post_signed(&url, SECRET, SignatureScheme::Timestamped, &event).await;
        assert!(
            matches!(status, Ok(200..=299)),
            "delivery {n} of {DELIVERIES} with {IDLE} idle connections open: {status:?} after {took:?}"
        );
        assert!(took < Duration::from_secs(5), "delivery {n} took {took:?}");
        sent.push(event.id);
    }
    // Each accepted event printed once, in order.
    for id in &sent {
        let line = line_rx
            .recv_timeout(Duration::from_secs(5))
            .expect("the event is printed");
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["id"], id.as_str(), "{line}");
    }
    drop(idle);

    // Ctrl-C: the receiver stops and reports what it took.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGINT) }, 0);
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.0.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "listen did not stop on SIGINT");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    let log = stderr_rest.join().unwrap().join("\n");
    assert!(log.contains(&format!("stopped: {DELIVERIES} accepted")), "{log}");
}
