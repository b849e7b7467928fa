//! Peak memory (VmHWM) of the real `callscope` binary against a recording whose WAV header and
//! Content-Length claim 4 GiB while the server sends 1 GiB of silence and hangs up:
//!
//! 1. the TUI (`browse` in a private tmux server) playing it with `space`, no sound device
//!    (ALSA's default pointed at a card that does not exist), until the download has ended;
//! 2. `export --with-audio` on that call (the download fails as truncated);
//! 3. `export --with-audio` on a complete 1 GiB recording, then the rerun that only checks the
//!    saved file.
//!
//! A loopback front server answers the played call's recording itself and forwards every other
//! request to the embedded stand-in. Target: the TUI stays under 300 MB.
//!
//! Run: `cargo bench --bench memory_audio` (needs tmux; `CALLSCOPE_BENCH_SEND_MB` changes the
//! 1024 MB sent).

#[path = "../tests/support/tmux.rs"]
mod tmux;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
#[path = "../tests/support/wav.rs"]
#[allow(dead_code)]
mod wav;
use callscope::standin::{self, StandinOptions};
use chrono::Timelike;
use tmux::Tmux;
use wav::wav_header;

const TARGET_MB: f64 = 300.0;
static ZEROS: [u8; 256 * 1024] = [0; 256 * 1024];

/// The recording the front server makes up, for the first conversation whose audio is asked for.
#[derive(Default)]
struct Big {
    id: Mutex<Option<String>>,
    /// Data bytes the header and Content-Length claim, and how many of them are sent.
    claim: AtomicU64,
    send: AtomicU64,
    sent: AtomicU64,
    done: AtomicBool,
}

#[derive(Clone)]
struct Front {
    big: Arc<Big>,
    upstream: String,
    http: reqwest::Client,
}

fn main() {
    if !tmux::tmux_available() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("tmux is not installed: the memory_audio bench drives the TUI through it");
        }
        eprintln!("SKIPPED: tmux is not installed");
        return;
    }
    let send_mb: u64 = std::env::var("CALLSCOPE_BENCH_SEND_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let standin = rt
        .block_on(standin::start(StandinOptions::default()))
        .expect("stand-in");
    let big = Arc::new(Big::default());
    big.claim.store(u32::MAX as u64 - 1, Ordering::Relaxed); // 4 GiB, whole frames
    big.send.store(send_mb << 20, Ordering::Relaxed);
    let front = rt.block_on(serve_front(Front {
        big: big.clone(),
        upstream: standin.runtime_url.clone(),
        http: reqwest::Client::new(),
    }));

    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let key = h.join("key");
    std::fs::write(&key, &standin.api_key).unwrap();
    set_private(&key);
    std::fs::create_dir_all(h.join("config/callscope")).unwrap();
    std::fs::write(
        h.join("config/callscope/config.toml"),
        format!(
            "base_url = {:?}\nplatform_url = {:?}\naccount_id = {:?}\nproject_id = {:?}\napi_key_file = {:?}\n",
            front,
            standin.platform_url,
            standin.account_id,
            standin.project_id,
            key.display().to_string()
        ),
    )
    .unwrap();
    let conf = h.join("asound.conf");
    std::fs::write(
        &conf,
        "pcm.!default { type hw; card 99 }\nctl.!default { type hw; card 99 }\n",
    )
    .unwrap();

    println!(
        "recording: header and Content-Length claim {} bytes; the server sends {send_mb} MB of silence, then hangs up",
        44 + big.claim.load(Ordering::Relaxed)
    );
    let tui = tui_peak(h, &conf, &big);
    println!(
        "  TUI (browse, space, no sound device): peak RSS {:.1} MB after {:.0} MB served in {:.1} s; player: {}",
        tui.peak_mb,
        mb(big.sent.load(Ordering::Relaxed)),
        tui.secs,
        tui.player_line.trim()
    );
    println!(
        "    target < {TARGET_MB} MB: {}",
        if tui.peak_mb < TARGET_MB { "met" } else { "MISSED" }
    );

    // The played call, alone in an export window.
    let id = big.id.lock().unwrap().clone().expect("the TUI asked for a recording");
    let started = standin
        .dataset()
        .get(&id)
        .and_then(|c| c.started_at)
        .expect("the played call has a start time");
    let start = started.with_nanosecond(0).unwrap();
    let window = [
        start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        (start + chrono::Duration::seconds(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    ];
    let audio = h.join("recordings");
    big.sent.store(0, Ordering::Relaxed);
    let e = export_peak(h, &window, &audio);
    println!(
        "  export --with-audio, the same 4 GiB claim: peak RSS {:.1} MB, {:.0} MB served, {:.1} s, exit {}; {}",
        e.peak_mb,
        mb(big.sent.load(Ordering::Relaxed)),
        e.secs,
        e.code,
        e.last_line
    );

    big.claim.store(send_mb << 20, Ordering::Relaxed);
    big.sent.store(0, Ordering::Relaxed);
    let e = export_peak(h, &window, &audio);
    println!(
        "  export --with-audio, a complete {send_mb} MB recording: peak RSS {:.1} MB, {:.0} MB served, {:.1} s, exit {}; {}",
        e.peak_mb,
        mb(big.sent.load(Ordering::Relaxed)),
        e.secs,
        e.code,
        e.last_line
    );
    big.sent.store(0, Ordering::Relaxed);
    let e = export_peak(h, &window, &audio);
    println!(
        "  export --with-audio rerun (checks the saved {send_mb} MB file, downloads nothing): peak RSS {:.1} MB, {:.0} MB served, {:.1} s, exit {}; {}",
        e.peak_mb,
        mb(big.sent.load(Ordering::Relaxed)),
        e.secs,
        e.code,
        e.last_line
    );
    rt.block_on(standin.shutdown());
}

struct TuiRun {
    peak_mb: f64,
    secs: f64,
    player_line: String,
}

fn tui_peak(home: &Path, conf: &Path, big: &Big) -> TuiRun {
    let vars = format!(
        "ALSA_CONFIG_PATH={}",
        tmux::shell_quote(Path::new(&format!("/usr/share/alsa/alsa.conf:{}", conf.display())))
    );
    let t = Tmux::callscope("memaudio", home, &vars, "browse");
    // The first completed voice call (☎ without the in-progress ●) on the list.
    let voice_row = |s: &str| {
        s.lines()
            .skip(2)
            .map(|l| l.split('┃').nth(1).unwrap_or_default())
            .position(|l| l.contains('☎') && !l.contains('●'))
    };
    let first_page = t.wait_for("a completed voice call", 60, |s| voice_row(s).is_some());
    let row = voice_row(&first_page).expect("checked");
    for _ in 0..row {
        t.keys(&["j"]);
    }
    t.wait_for("a voice transcript", 20, |s| {
        s.lines().nth(1).is_some_and(|l| l.contains("voice"))
    });
    let pid = callscope_pid(&t).expect("the callscope process");
    let t0 = Instant::now();
    t.keys(&["Space"]);
    t.wait_for("playback", 30, |s| player_line(s).contains("no audio device"));
    // Served, and the app has seen the end of the body (its error shows on the player line).
    let deadline = Instant::now() + Duration::from_secs(600);
    while !big.done.load(Ordering::Relaxed) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    let end = t.wait_for("the download's end to show", 120, |s| {
        s.contains("broke off") || s.contains("truncated")
    });
    std::thread::sleep(Duration::from_secs(1));
    let peak = vm_hwm_kb(pid).expect("VmHWM of the TUI");
    let secs = t0.elapsed().as_secs_f64();
    t.keys(&["q"]);
    t.wait_for("the TUI to exit", 20, |s| s.contains("callscope-exit="));
    TuiRun {
        peak_mb: peak as f64 / 1024.0,
        secs,
        player_line: player_line(&end),
    }
}

struct ExportRun {
    peak_mb: f64,
    secs: f64,
    code: i32,
    last_line: String,
}

/// Runs `callscope export --with-audio` and reads its peak RSS from `wait4`.
#[allow(clippy::zombie_processes)] // reaped by the `wait4` below, which also gives its rusage
fn export_peak(home: &Path, window: &[String; 2], audio: &Path) -> ExportRun {
    let t0 = Instant::now();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_callscope"))
        .args(["export", "--start", &window[0], "--end", &window[1], "--with-audio"])
        .arg(audio)
        .arg("--out")
        .arg(home.join("export.jsonl"))
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("callscope export");
    let mut stderr = child.stderr.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut s);
        s
    });
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(waited, child.id() as i32, "wait4");
    let err = reader.join().unwrap();
    let last_line = err
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    ExportRun {
        peak_mb: usage.ru_maxrss as f64 / 1024.0,
        secs: t0.elapsed().as_secs_f64(),
        code: if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            -1
        },
        last_line,
    }
}

async fn serve_front(front: Front) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = Router::new().fallback(handle).with_state(front);
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

async fn handle(State(front): State<Front>, req: Request) -> Response {
    let path = req.uri().path();
    let audio_id = path
        .strip_suffix("/audio")
        .and_then(|p| p.rsplit('/').next())
        .map(str::to_string);
    if let Some(id) = audio_id {
        let mine = front.big.id.lock().unwrap().get_or_insert_with(|| id.clone()) == &id;
        if mine {
            return big_recording(front.big.clone());
        }
    }
    forward(&front, req).await
}

/// The made-up recording: the header, then zeros up to `send`, then the end of the body
/// (short of the Content-Length when the claim is larger: the connection is cut).
fn big_recording(big: Arc<Big>) -> Response {
    let claim = big.claim.load(Ordering::Relaxed);
    let send = big.send.load(Ordering::Relaxed).min(claim);
    let head = Bytes::from(wav_header(8_000, 1, claim as u32));
    big.done.store(false, Ordering::Relaxed);
    let body = futures_util::stream::unfold((Some(head), 0u64), move |(head, sent)| {
        let big = big.clone();
        async move {
            if let Some(h) = head {
                return Some((Ok::<_, std::io::Error>(h), (None, sent)));
            }
            if sent >= send {
                big.done.store(true, Ordering::Relaxed);
                return None;
            }
            let n = (send - sent).min(ZEROS.len() as u64);
            big.sent.fetch_add(n, Ordering::Relaxed);
            Some((Ok(Bytes::from_static(&ZEROS[..n as usize])), (None, sent + n)))
        }
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "audio/wav")
        .header(header::CONTENT_LENGTH, 44 + claim)
        .body(Body::from_stream(body))
        .unwrap()
}

/// Everything else goes to the stand-in as it came.
async fn forward(front: &Front, req: Request) -> Response {
    let url = format!(
        "{}{}",
        front.upstream,
        req.uri().path_and_query().map_or("/", |p| p.as_str())
    );
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 16 << 20).await.unwrap_or_default();
    let mut r = front.http.request(parts.method, url).body(body);
    for (k, v) in &parts.headers {
        if k != header::HOST && k != header::CONTENT_LENGTH {
            r = r.header(k, v);
        }
    }
    let Ok(resp) = r.send().await else {
        return Response::builder()
            .status(StatusCode::BAD_GATEWAY)
            .body(Body::empty())
            .unwrap();
    };
    let mut out = Response::builder().status(resp.status());
    for (k, v) in resp.headers() {
        if k != header::CONTENT_LENGTH && k != header::TRANSFER_ENCODING && k != header::CONNECTION {
            out = out.header(k, v);
        }
    }
    out.body(Body::from_stream(resp.bytes_stream())).unwrap()
}

fn player_line(screen: &str) -> String {
    let lines: Vec<&str> = screen.trim_end_matches('\n').lines().collect();
    lines
        .get(lines.len().saturating_sub(2))
        .copied()
        .unwrap_or_default()
        .to_string()
}

/// The pane runs `sh -c "env … callscope …; echo …"`: callscope is the shell's child.
fn callscope_pid(t: &Tmux) -> Option<u32> {
    let shell: u32 = t.format("#{pane_pid}").parse().ok()?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let kids = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children")).unwrap_or_default();
        for pid in kids.split_whitespace().filter_map(|p| p.parse::<u32>().ok()) {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            if comm.trim() == "callscope" {
                return Some(pid);
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / (1 << 20) as f64
}

fn set_private(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}
