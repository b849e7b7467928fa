//! A TCP proxy on loopback that makes a link look far away: a one-way delay and a bandwidth cap
//! per direction (client→server "up", server→client "down"), so benches and tests can measure
//! what a real network does to callscope (issue 16) with nothing but `cargo bench`.
//!
//! Each direction is modelled as one link that all connections share, as they share a real
//! one: a chunk read at time `t` leaves the link's queue at `max(t, link free) + len / rate` and
//! is delivered `delay` later. Chunks are at most 16 KiB and at most [`QUEUE_CHUNKS`] wait per
//! connection and direction, so memory is bounded while the queue still holds more than the
//! bandwidth-delay product of 1 Gbit/s × 40 ms.
//!
//! A new connection costs what TCP's handshake costs over the link: nothing the client sends is
//! relayed before one round trip after it connected (the proxy accepts on loopback at once).
//! [`ShapingProxy::connections`] counts the connections accepted, so a bench can tell
//! keep-alive from a connection per request.
//!
//! Shared by benches and tests with `#[path = ".../benches/support/shaping_proxy.rs"] mod ...;`.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

const CHUNK: usize = 16 * 1024;
/// 1024 × 16 KiB = 16 MiB per direction at most.
const QUEUE_CHUNKS: usize = 1024;

/// One direction of the link.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Link {
    /// One-way delay.
    pub delay: Duration,
    /// Bytes per second; `None` = not capped.
    pub bytes_per_sec: Option<u64>,
}

/// Both directions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    pub up: Link,
    pub down: Link,
}

impl Shape {
    /// A symmetric link: `rtt` split evenly between the directions, `bits_per_sec` each way.
    pub fn rtt(rtt: Duration, bits_per_sec: u64) -> Shape {
        let link = Link {
            delay: rtt / 2,
            bytes_per_sec: Some((bits_per_sec / 8).max(1)),
        };
        Shape { up: link, down: link }
    }

    pub fn describe(&self) -> String {
        let rate = |l: &Link| match l.bytes_per_sec {
            Some(b) if b * 8 >= 1_000_000_000 => format!("{:.0} Gbit/s", b as f64 * 8.0 / 1e9),
            Some(b) => format!("{:.0} Mbit/s", b as f64 * 8.0 / 1e6),
            None => "uncapped".into(),
        };
        format!(
            "{} ms RTT, {} down / {} up",
            (self.up.delay + self.down.delay).as_millis(),
            rate(&self.down),
            rate(&self.up)
        )
    }
}

/// A running proxy; dropping it stops accepting and ends every relayed connection.
pub struct ShapingProxy {
    pub addr: SocketAddr,
    /// Bytes relayed server→client and client→server so far (what went over the "wire").
    down_bytes: Arc<AtomicU64>,
    up_bytes: Arc<AtomicU64>,
    connections: Arc<AtomicU64>,
    accept: JoinHandle<()>,
}

impl ShapingProxy {
    /// Listens on 127.0.0.1 (a free port) and relays every connection to `upstream`.
    pub async fn start(upstream: SocketAddr, shape: Shape) -> std::io::Result<ShapingProxy> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let (down_bytes, up_bytes) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let connections = Arc::new(AtomicU64::new(0));
        let (down, up, accepted) = (down_bytes.clone(), up_bytes.clone(), connections.clone());
        // One link per direction for every connection.
        let (up_free, down_free) = (
            Arc::new(Mutex::new(Instant::now())),
            Arc::new(Mutex::new(Instant::now())),
        );
        let accept = tokio::spawn(async move {
            let mut conns: Vec<JoinHandle<()>> = Vec::new();
            while let Ok((client, _)) = listener.accept().await {
                accepted.fetch_add(1, Ordering::Relaxed);
                // SYN, SYN-ACK: the client's first byte leaves one round trip from now.
                let open = Instant::now() + shape.up.delay + shape.down.delay;
                conns.retain(|c| !c.is_finished());
                let (down, up) = (down.clone(), up.clone());
                let (up_free, down_free) = (up_free.clone(), down_free.clone());
                conns.push(tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let _ = client.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    let (cr, cw) = client.into_split();
                    let (sr, sw) = server.into_split();
                    let a = tokio::spawn(relay(cr, sw, shape.up, up_free, open, up));
                    let b = tokio::spawn(relay(sr, cw, shape.down, down_free, open, down));
                    let (abort_a, abort_b) = (a.abort_handle(), b.abort_handle());
                    // Either side failing ends both, as a broken connection does.
                    let _guard = AbortOnDrop(vec![abort_a, abort_b]);
                    let _ = tokio::join!(a, b);
                }));
            }
            for c in conns {
                c.abort();
            }
        });
        Ok(ShapingProxy {
            addr,
            down_bytes,
            up_bytes,
            connections,
            accept,
        })
    }

    /// `http://127.0.0.1:PORT` plus the path of `url` (which must be an http URL on loopback).
    pub fn url_for(&self, url: &str) -> String {
        let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
        let path = rest.find('/').map(|i| &rest[i..]).unwrap_or("");
        format!("http://{}{}", self.addr, path)
    }

    pub fn down_bytes(&self) -> u64 {
        self.down_bytes.load(Ordering::Relaxed)
    }

    pub fn up_bytes(&self) -> u64 {
        self.up_bytes.load(Ordering::Relaxed)
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }
}

impl Drop for ShapingProxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

struct AbortOnDrop(Vec<tokio::task::AbortHandle>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        for h in &self.0 {
            h.abort();
        }
    }
}

/// Reads from `from`, stamps each chunk, and has a second task deliver it on the link's schedule
/// (`link_free`, shared by every connection's relay in this direction); nothing is sent before
/// `open`.
async fn relay(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    link: Link,
    link_free: Arc<Mutex<Instant>>,
    open: Instant,
    counter: Arc<AtomicU64>,
) {
    // `None` = end of stream (delivered as a half-close after the same delay).
    let (tx, mut rx) = mpsc::channel::<(Instant, Option<Vec<u8>>)>(QUEUE_CHUNKS);
    let reader = tokio::spawn(async move {
        loop {
            let mut buf = vec![0u8; CHUNK];
            let n = match from.read(&mut buf).await {
                Ok(0) | Err(_) => 0,
                Ok(n) => n,
            };
            let msg = (n > 0).then(|| {
                buf.truncate(n);
                buf
            });
            let end = msg.is_none();
            if tx.send((Instant::now(), msg)).await.is_err() || end {
                return;
            }
        }
    });
    let _guard = AbortOnDrop(vec![reader.abort_handle()]);
    while let Some((arrived, chunk)) = rx.recv().await {
        let arrived = arrived.max(open);
        let Some(chunk) = chunk else {
            tokio::time::sleep_until(arrived + link.delay).await;
            let _ = to.shutdown().await;
            return;
        };
        let serialize = link
            .bytes_per_sec
            .map(|r| Duration::from_secs_f64(chunk.len() as f64 / r as f64))
            .unwrap_or_default();
        let leaves = {
            let mut free = link_free.lock().unwrap_or_else(|e| e.into_inner());
            *free = (*free).max(arrived) + serialize;
            *free
        };
        tokio::time::sleep_until(leaves + link.delay).await;
        if to.write_all(&chunk).await.is_err() {
            return;
        }
        counter.fetch_add(chunk.len() as u64, Ordering::Relaxed);
    }
}
