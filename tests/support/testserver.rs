//! A loopback HTTP/1.1 server that answers the recording endpoint with real WAV bytes, for
//! tests and benchmarks: optional throttling, `Range`/206 support, error answers, and a log of
//! the requests it saw. Test support only: include it with
//! `#[path = "support/testserver.rs"] mod testserver;` (benches: `../tests/support/…`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use callscope::api::Client;

#[path = "wav.rs"]
mod wav;
pub use wav::{tone_wav, wav_header};

/// How the server answers one recording.
#[derive(Debug, Clone)]
pub enum Reply {
    /// `200 audio/wav` (or 206 for a Range request when ranges are on).
    Wav(Bytes),
    /// Any status with a JSON body (e.g. 404 `CONVERSATIONS_RECORDING_NOT_FOUND`).
    Status(u16, String),
    /// `200` with another content type (e.g. an HTML error page).
    Raw(&'static str, Bytes),
    /// Promises all of the bytes in Content-Length, sends `send` of them, then hangs up.
    CutShort(Bytes, usize),
    /// An 8 kHz mono 16-bit WAV whose header and Content-Length claim `claimed_data` bytes of
    /// audio; sends the header and `send_data` bytes of silence, then hangs up. Generated as
    /// it goes, so a 4 GiB claim costs the server nothing. Ignores `Range`.
    Claims { claimed_data: u32, send_data: u64 },
}

/// One request the server saw.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    pub path: String,
    /// `N` of a `Range: bytes=N-` header.
    pub range_from: Option<u64>,
}

#[derive(Clone)]
pub struct ServerConfig {
    /// Keyed by `"{conversation_id}"` (combined) or `"{conversation_id}?direction=user"`.
    pub replies: HashMap<String, Reply>,
    pub ranges: bool,
    /// Bytes per write and the pause after each (throttling); `Duration::ZERO` = full speed.
    pub chunk: usize,
    pub pause: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            replies: HashMap::new(),
            ranges: true,
            chunk: 64 * 1024,
            pause: Duration::ZERO,
        }
    }
}

pub struct TestServer {
    pub base_url: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    /// Per finished answer: the path and whether the whole body went out (false: the client
    /// hung up, e.g. a cancelled download).
    pub outcomes: Arc<Mutex<Vec<(String, bool)>>>,
}

impl TestServer {
    /// Binds 127.0.0.1:0 and serves on the current tokio runtime.
    pub async fn start(cfg: ServerConfig) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let outcomes = Arc::new(Mutex::new(Vec::new()));
        let (cfg, log, out) = (Arc::new(cfg), seen.clone(), outcomes.clone());
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let (cfg, log, out) = (cfg.clone(), log.clone(), out.clone());
                tokio::spawn(async move {
                    if let Some((path, complete)) = answer(sock, cfg, log).await {
                        out.lock().unwrap().push((path, complete));
                    }
                });
            }
        });
        TestServer {
            base_url,
            seen,
            outcomes,
        }
    }

    /// A `Client` for this server (account `ws-test`, project `proj`, a dummy key).
    pub fn client(&self) -> Client {
        let cfg = callscope::config::Config::resolve_with_file(
            &callscope::config::ConnectionArgs {
                base_url: Some(self.base_url.clone()),
                account_id: Some("ws-test".into()),
                project_id: Some("proj".into()),
                ..Default::default()
            },
            &|name| (name == "POLYAI_API_KEY").then(|| "test-key".to_string()),
            Default::default(),
        )
        .expect("test config");
        Client::new(&cfg).expect("test client")
    }

    pub fn outcomes(&self) -> Vec<(String, bool)> {
        self.outcomes.lock().unwrap().clone()
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// Answers one request; returns its path and whether the whole body was sent.
async fn answer(mut sock: TcpStream, cfg: Arc<ServerConfig>, log: Arc<Mutex<Vec<Seen>>>) -> Option<(String, bool)> {
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match sock.read(&mut buf).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
    let range_from = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        if !k.eq_ignore_ascii_case("range") {
            return None;
        }
        v.trim().strip_prefix("bytes=")?.strip_suffix('-')?.parse().ok()
    });
    log.lock().unwrap().push(Seen {
        path: path.clone(),
        range_from,
    });
    // /v3/{account}/{project}/conversations/{id}/audio[?direction=..]
    let (route, query) = path.split_once('?').unwrap_or((&path, ""));
    let id = route
        .strip_suffix("/audio")
        .and_then(|r| r.rsplit('/').next())
        .unwrap_or("");
    let key = if query.is_empty() {
        id.to_string()
    } else {
        format!("{id}?{query}")
    };
    let reply = cfg.replies.get(&key).cloned().unwrap_or(Reply::Status(
        404,
        r#"{"error_code":"CONVERSATIONS_NOT_FOUND","error_message":"Conversation not found"}"#.into(),
    ));
    if let Reply::Claims {
        claimed_data,
        send_data,
    } = reply
    {
        let complete = send_claimed(&mut sock, &cfg, claimed_data, send_data).await;
        return Some((path, complete));
    }
    let (status, ctype, body, send) = match reply {
        Reply::Wav(b) => match range_from.filter(|_| cfg.ranges) {
            Some(f) if f >= b.len() as u64 => (416, "text/plain", Bytes::new(), usize::MAX),
            Some(f) => (206, "audio/wav", b.slice(f as usize..), usize::MAX),
            None => (200, "audio/wav", b, usize::MAX),
        },
        Reply::Status(s, json) => (s, "application/json", Bytes::from(json), usize::MAX),
        Reply::Raw(ct, b) => (200, ct, b, usize::MAX),
        Reply::CutShort(b, n) => (200, "audio/wav", b, n),
        Reply::Claims { .. } => unreachable!("answered above"),
    };
    let mut h = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if cfg.ranges {
        h += "Accept-Ranges: bytes\r\n";
    }
    if status == 206 {
        let start = range_from.unwrap_or(0);
        h += &format!(
            "Content-Range: bytes {start}-{}/{}\r\n",
            start + body.len() as u64 - 1,
            start + body.len() as u64
        );
    }
    h += "\r\n";
    if sock.write_all(h.as_bytes()).await.is_err() {
        return Some((path, false));
    }
    let body = body.slice(..send.min(body.len()));
    for part in body.chunks(cfg.chunk.max(1)) {
        if sock.write_all(part).await.is_err() {
            return Some((path, false));
        }
        if !cfg.pause.is_zero() {
            tokio::time::sleep(cfg.pause).await;
        }
    }
    let _ = sock.shutdown().await;
    Some((path, true))
}

/// [`Reply::Claims`]: the header, then `send_data` zero bytes; true when all went out.
async fn send_claimed(sock: &mut TcpStream, cfg: &ServerConfig, claimed_data: u32, send_data: u64) -> bool {
    let header = wav_header(8_000, 1, claimed_data);
    let h = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: audio/wav\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        header.len() as u64 + claimed_data as u64
    );
    if sock.write_all(h.as_bytes()).await.is_err() || sock.write_all(&header).await.is_err() {
        return false;
    }
    let zeros = vec![0u8; cfg.chunk.max(1)];
    let mut left = send_data.min(claimed_data as u64);
    while left > 0 {
        let n = left.min(zeros.len() as u64) as usize;
        if sock.write_all(&zeros[..n]).await.is_err() {
            return false;
        }
        left -= n as u64;
        if !cfg.pause.is_zero() {
            tokio::time::sleep(cfg.pause).await;
        }
    }
    let _ = sock.shutdown().await;
    true
}
