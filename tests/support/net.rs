//! Hostile HTTP servers on loopback for the client's tests and the memory bench: each request
//! is answered by a script (redirects, stalls, endless bodies, cursor cycles), and a recorder
//! listener notes every request that reaches it.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request as received.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    /// The request line and headers, as sent.
    pub head: String,
    pub body: Vec<u8>,
}

impl Request {
    /// A query parameter's (percent-decoded) value.
    pub fn query(&self, name: &str) -> Option<String> {
        let url = reqwest::Url::parse(&format!("http://x{}", self.target)).ok()?;
        url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
    }

    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
}

/// How to answer.
pub enum Reply {
    /// Bytes written as they are (status line, headers, body), then the connection closes.
    Raw(Vec<u8>),
    /// Reads the request and never answers.
    Silence,
    /// Sends this head (and any body start), then goes quiet with the connection open.
    Stall(Vec<u8>),
    /// `200` with a chunked body that never ends.
    Endless,
    /// `200` with this content length, the body streamed from `chunks` (not held whole).
    Stream {
        content_length: Option<u64>,
        chunks: Box<dyn Iterator<Item = Vec<u8>> + Send>,
    },
}

/// An HTTP answer with a body and `connection: close`.
pub fn answer(status: &str, extra_headers: &str, body: &str) -> Reply {
    Reply::Raw(
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\nconnection: close\r\n{extra_headers}content-length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

pub fn json(body: &str) -> Reply {
    answer("200 OK", "", body)
}

/// A 3xx (302, 307, …) pointing at `location`.
pub fn redirect(status: u16, location: &str) -> Reply {
    let reason = match status {
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        _ => "Redirect",
    };
    answer(
        &format!("{status} {reason}"),
        &format!("location: {location}\r\n"),
        r#"{"moved":true}"#,
    )
}

pub type Script = Arc<dyn Fn(&Request) -> Reply + Send + Sync>;

/// A scripted server; every request is kept.
pub struct Server {
    pub url: String,
    pub port: u16,
    pub requests: Arc<Mutex<Vec<Request>>>,
    /// Connections accepted (a request that never completes its head still counts).
    pub connections: Arc<AtomicUsize>,
}

impl Server {
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
    pub fn hits(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// Starts a server on 127.0.0.1 answering each request with `script`. Runs on the current
/// tokio runtime.
pub async fn serve(script: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let connections = Arc::new(AtomicUsize::new(0));
    let script: Script = Arc::new(script);
    let (reqs, conns) = (requests.clone(), connections.clone());
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            conns.fetch_add(1, Ordering::SeqCst);
            let (script, reqs) = (script.clone(), reqs.clone());
            tokio::spawn(async move {
                let _ = handle(sock, script, reqs).await;
            });
        }
    });
    Server {
        url: format!("http://127.0.0.1:{port}"),
        port,
        requests,
        connections,
    }
}

/// A listener that answers nothing useful (404) and records whatever reaches it: the
/// "other origin" of the redirect tests.
pub async fn recorder() -> Server {
    serve(|_| answer("404 Not Found", "", "{}")).await
}

async fn read_request(sock: &mut TcpStream) -> Option<Request> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() > 1 << 20 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut line = head.lines().next()?.split_whitespace();
    let method = line.next()?.to_string();
    let target = line.next()?.to_string();
    let mut req = Request {
        method,
        target,
        head,
        body: buf[head_end..].to_vec(),
    };
    let len: usize = req.header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    while req.body.len() < len {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        req.body.extend_from_slice(&chunk[..n]);
    }
    Some(req)
}

async fn handle(mut sock: TcpStream, script: Script, reqs: Arc<Mutex<Vec<Request>>>) -> std::io::Result<()> {
    let Some(req) = read_request(&mut sock).await else {
        return Ok(());
    };
    let reply = script(&req);
    reqs.lock().unwrap().push(req);
    match reply {
        Reply::Raw(bytes) => {
            sock.write_all(&bytes).await?;
            sock.shutdown().await?;
        }
        Reply::Silence => hold(sock).await,
        Reply::Stall(bytes) => {
            sock.write_all(&bytes).await?;
            sock.flush().await?;
            hold(sock).await;
        }
        Reply::Endless => {
            sock.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n")
                .await?;
            let piece = vec![b' '; 64 * 1024];
            let mut chunk = format!("{:x}\r\n", piece.len()).into_bytes();
            chunk.extend_from_slice(&piece);
            chunk.extend_from_slice(b"\r\n");
            sock.write_all(b"a\r\n{\"conversa\r\n").await?;
            // Until the client hangs up.
            loop {
                sock.write_all(&chunk).await?;
            }
        }
        Reply::Stream { content_length, chunks } => {
            let framing = match content_length {
                Some(n) => format!("content-length: {n}\r\n"),
                None => "transfer-encoding: chunked\r\n".into(),
            };
            sock.write_all(
                format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n{framing}\r\n")
                    .as_bytes(),
            )
            .await?;
            for c in chunks {
                if content_length.is_some() {
                    sock.write_all(&c).await?;
                } else if !c.is_empty() {
                    sock.write_all(format!("{:x}\r\n", c.len()).as_bytes()).await?;
                    sock.write_all(&c).await?;
                    sock.write_all(b"\r\n").await?;
                }
            }
            if content_length.is_none() {
                sock.write_all(b"0\r\n\r\n").await?;
            }
            sock.shutdown().await?;
        }
    }
    Ok(())
}

/// Keeps the connection open, reading nothing, until the peer goes away (or a minute).
async fn hold(mut sock: TcpStream) {
    let mut b = [0u8; 1];
    let _ = tokio::time::timeout(Duration::from_secs(60), sock.read(&mut b)).await;
}

/// A list page with these ids (voice calls) and cursor (`None` → `null`).
pub fn page_json(ids: &[&str], cursor: Option<&str>) -> String {
    let convs: Vec<String> = ids
        .iter()
        .map(|id| {
            format!(
                r#"{{"id":"{id}","channel":"VOICE-SIP","started_at":"2026-11-28T11:00:00Z","in_progress":false,"num_turns":0,"turns":[]}}"#
            )
        })
        .collect();
    let cursor = cursor.map_or("null".to_string(), |c| format!("\"{c}\""));
    format!(r#"{{"conversations":[{}],"cursor":{cursor}}}"#, convs.join(","))
}

/// The env for running the binary against `runtime` and `platform` with key `key` (passed in
/// the environment, never as an argument).
pub fn env_vars(runtime: &str, platform: &str, key: &str, home: &std::path::Path) -> Vec<(String, String)> {
    [
        ("POLYAI_BASE_URL", runtime.to_string()),
        ("POLYAI_PLATFORM_URL", platform.to_string()),
        ("POLYAI_API_KEY", key.to_string()),
        ("POLYAI_ACCOUNT_ID", "ws-1".to_string()),
        ("POLYAI_PROJECT_ID", "PROJECT-1".to_string()),
        ("HOME", home.display().to_string()),
        ("XDG_CONFIG_HOME", home.join("config").display().to_string()),
        ("XDG_DATA_HOME", home.join("data").display().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Runs `callscope ARGS` with `env` (and nothing inherited that names PolyAI), killing it
/// after `limit`; returns (exit code or `None` if it had to be killed, stdout, stderr).
pub async fn run_bin(args: &[&str], env: &[(String, String)], limit: Duration) -> (Option<i32>, String, String) {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let env = env.to_vec();
    tokio::task::spawn_blocking(move || run_bin_blocking(&args, &env, limit))
        .await
        .unwrap()
}

pub fn run_bin_blocking(args: &[String], env: &[(String, String)], limit: Duration) -> (Option<i32>, String, String) {
    use std::io::Read;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_callscope"))
        .args(args)
        .env_remove("POLYAI_WEBHOOK_SECRET")
        .env_remove("CALLSCOPE_MAX_PAGE_BYTES")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run callscope");
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = Vec::new();
            let _ = r.read_to_end(&mut s);
            String::from_utf8_lossy(&s).into_owned()
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let deadline = std::time::Instant::now() + limit;
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let (out, mut err) = (out.join().unwrap(), err.join().unwrap());
    if code.is_none() {
        err.push_str("\n[killed: still running after the limit]");
    }
    (code, out, err)
}
