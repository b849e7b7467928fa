//! Peak memory of the real `callscope` binary against hostile page bodies on loopback:
//! (a) one 100 MB list page, (b) an endless chunked body, (c) a 48 MB page (under the 64 MB
//! default cap, so it is parsed and shown). The TUI runs in a private tmux server; its peak
//! RSS is VmHWM from /proc/PID/status. `callscope export` runs as a child whose peak RSS comes
//! from wait4(2).
//!
//! Run: `cargo bench --bench memory_page` (needs tmux). Target: the TUI under 300 MB in (a)
//! and (b).

#[path = "../tests/support/net.rs"]
mod net_support;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use net_support::{Reply, env_vars, json, page_json, serve};

const MB: u64 = 1024 * 1024;

/// One conversation of about 5 KB (ten turns), its id `CA` + 10 digits so every one has the
/// same length.
fn conversation(i: usize) -> String {
    let turns: Vec<String> = (0..10)
        .map(|t| {
            format!(
                r#"{{"user_input":"I would like to change my booking for turn {t}, and also ask about the opening hours on the weekend please","agent_response":"Of course. I can help you change the booking; the restaurant opens at nine on Saturdays and ten on Sundays.","user_input_datetime":"2026-11-28T11:00:{t:02}Z","agent_response_datetime":"2026-11-28T11:00:{t:02}Z","latency":0.42,"intents":["change_booking","opening_hours"],"entities":[{{"name":"day","values":["saturday"]}}]}}"#
            )
        })
        .collect();
    format!(
        r#"{{"id":"CA{i:010}","channel":"VOICE-SIP","environment":"live","started_at":"2026-11-28T11:00:00Z","in_progress":false,"num_turns":10,"total_duration":180,"handoff":false,"metrics":{{"CSAT":"4"}},"turns":[{}]}}"#,
        turns.join(",")
    )
}

/// A list page of about `bytes`, streamed one conversation at a time with an exact length.
fn big_page(bytes: u64) -> Reply {
    let one = conversation(0).len() as u64;
    let n = (bytes / (one + 1)).max(1) as usize;
    let (head, tail) = (r#"{"conversations":["#, r#"],"cursor":null}"#);
    let len = head.len() as u64 + n as u64 * one + (n as u64 - 1) + tail.len() as u64;
    let chunks = std::iter::once(head.as_bytes().to_vec())
        .chain((0..n).map(move |i| {
            let mut c = conversation(i).into_bytes();
            if i + 1 < n {
                c.push(b',');
            }
            c
        }))
        .chain(std::iter::once(tail.as_bytes().to_vec()));
    Reply::Stream {
        content_length: Some(len),
        chunks: Box::new(chunks),
    }
}

#[derive(Clone, Copy)]
enum Body {
    Page(u64),
    Endless,
}

impl Body {
    fn label(self) -> String {
        match self {
            Body::Page(b) => format!("{} MB page", b / MB),
            Body::Endless => "endless chunked body".into(),
        }
    }
    /// The first list request gets the hostile body; later ones an empty last page.
    async fn server(self) -> (net_support::Server, Arc<AtomicUsize>) {
        let served = Arc::new(AtomicUsize::new(0));
        let count = served.clone();
        let s = serve(move |req| {
            if !req.path().ends_with("/conversations") {
                return json("{}");
            }
            if count.fetch_add(1, Ordering::SeqCst) > 0 {
                return json(&page_json(&[], None));
            }
            match self {
                Body::Page(b) => big_page(b),
                Body::Endless => Reply::Endless,
            }
        })
        .await;
        (s, served)
    }
}

fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn tmux(socket: &str, args: &[&str]) -> String {
    let out = Command::new("tmux")
        .arg("-L")
        .arg(socket)
        .args(args)
        .output()
        .expect("tmux runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The TUI against `base`; returns its peak RSS in MB and the last status line seen.
fn tui_peak(base: &str, home: &Path, done: &str, settle: Duration) -> (f64, String) {
    let bin = env!("CARGO_BIN_EXE_callscope");
    let vars: Vec<String> = env_vars(base, base, "k-bench", home)
        .into_iter()
        .map(|(k, v)| format!("{k}='{v}'"))
        .collect();
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let socket = format!(
        "callscope-mem-{}-{}",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::SeqCst)
    );
    // `exec`, so the pane's process is callscope itself.
    let cmd = format!("exec env {} '{bin}'", vars.join(" "));
    tmux(
        &socket,
        &["new-session", "-d", "-s", "m", "-x", "120", "-y", "40", &cmd],
    );
    let pid: u32 = (0..50)
        .find_map(|_| {
            let pid = tmux(&socket, &["display-message", "-p", "-t", "m", "#{pane_pid}"]);
            pid.trim().parse().ok().or_else(|| {
                std::thread::sleep(Duration::from_millis(100));
                None
            })
        })
        .expect("the pane's pid");
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut screen = String::new();
    let mut peak = 0;
    while Instant::now() < deadline {
        peak = peak.max(vm_hwm_kb(pid).unwrap_or(0));
        screen = tmux(&socket, &["capture-pane", "-p", "-t", "m"]);
        if screen.contains(done) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let settled = Instant::now() + settle;
    while Instant::now() < settled {
        peak = peak.max(vm_hwm_kb(pid).unwrap_or(0));
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = Command::new("tmux").args(["-L", &socket, "kill-server"]).output();
    let status = screen
        .lines()
        .find(|l| l.contains(done))
        .unwrap_or_default()
        .trim()
        .to_string();
    if !screen.contains(done) {
        println!("  (did not see {done:?}; screen:\n{screen})");
    }
    (peak as f64 / 1024.0, status)
}

/// `callscope export` against `base`; returns (peak RSS in MB, exit code, last stderr line).
// The child is reaped by wait4(2), which also reports its peak RSS.
#[allow(clippy::zombie_processes)]
fn export_peak(base: &str, home: &Path, extra_env: &[(&str, &str)]) -> (f64, i32, String) {
    let out = home.join("export.jsonl");
    let mut child = Command::new(env!("CARGO_BIN_EXE_callscope"))
        .args(["export", "--since", "24h", "--out"])
        .arg(&out)
        .env_remove("CALLSCOPE_MAX_PAGE_BYTES")
        .envs(env_vars(base, base, "k-bench", home))
        .envs(extra_env.iter().copied())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run callscope export");
    let stderr = child.stderr.take().unwrap();
    let lines = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child, writing into the locals above.
    let r = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(r, child.id() as i32, "wait4");
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    let last = lines
        .join()
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .find(|l| l.contains("error") || l.contains("exported") || l.contains("more than"))
        .unwrap_or_default();
    let _ = std::fs::remove_file(&out);
    // ru_maxrss is in kilobytes on Linux.
    (usage.ru_maxrss as f64 / 1024.0, code, last)
}

fn main() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("memory_page needs tmux");
        std::process::exit(1);
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _guard = rt.enter();
    println!("peak RSS of the real binary (VmHWM / wait4), loopback server, default max_page_bytes = 64 MB");

    for body in [Body::Page(100 * MB), Body::Endless, Body::Page(48 * MB)] {
        let home = tempfile::tempdir().unwrap();
        let (s, served) = rt.block_on(body.server());
        let t = Instant::now();
        let (done, settle) = match body {
            Body::Page(b) if b > 64 * MB => ("more than 64 MB", Duration::from_secs(1)),
            Body::Endless => ("more than 64 MB", Duration::from_secs(1)),
            // Under the cap: wait for the rows, then for the store to cache them.
            Body::Page(_) => ("CA00000", Duration::from_secs(8)),
        };
        let (peak, status) = tui_peak(&s.url, home.path(), done, settle);
        println!(
            "TUI    {:<22} peak {peak:>7.1} MB  ({:.1}s, {} list requests)  screen: {}",
            body.label(),
            t.elapsed().as_secs_f64(),
            served.load(Ordering::SeqCst),
            status.chars().take(110).collect::<String>()
        );
    }

    for (body, env) in [
        (Body::Page(100 * MB), vec![]),
        (Body::Endless, vec![]),
        (Body::Page(100 * MB), vec![("CALLSCOPE_MAX_PAGE_BYTES", "209715200")]),
    ] {
        let home = tempfile::tempdir().unwrap();
        let (s, _) = rt.block_on(body.server());
        let t = Instant::now();
        let (peak, code, last) = export_peak(&s.url, home.path(), &env);
        let cap = if env.is_empty() {
            "default cap"
        } else {
            "cap raised to 200 MB"
        };
        println!(
            "export {:<22} peak {peak:>7.1} MB  ({:.1}s, exit {code}, {cap})  {}",
            body.label(),
            t.elapsed().as_secs_f64(),
            last.chars().take(100).collect::<String>()
        );
    }
}
