//! The HTTP/1 accept loop the webhook receiver runs on (`callscope listen`, `browse --listen`):
//! a public listener that abusive clients cannot shut.
//!
//! `axum::serve` has no read timeouts and no connection cap, so idle and slowloris
//! connections pile up until the descriptor limit stops every delivery. Here:
//! - request headers must arrive within `header_timeout` of the connection opening or of the
//!   previous answer (hyper's header-read timer, which also closes idle keep-alive connections);
//! - a request (reading its body included) must be answered within `request_timeout`, else 408
//!   and the connection closes;
//! - at most `max_connections` are open, fitted under the descriptor limit (raised to the hard
//!   limit first); when full, the connection quiet the longest is closed to make room, so a
//!   fresh delivery gets in at once instead of queueing behind idle sockets;
//! - accept errors (EMFILE, …) back off briefly and free a slot; they never end the loop.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode, header};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::Service as _;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore, watch};

/// Most connections open at once when the descriptor limit allows more. With the read buffer
/// cap and the receiver's body budget, this bounds the receiver's memory to ~150 MB whatever
/// clients send.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// Descriptors left for everything else the process opens (store, logs, API requests, audio).
const RESERVED_DESCRIPTORS: u64 = 128;
/// Per-connection read buffer cap: bounds header size (larger → 431) and memory per connection.
const MAX_BUF_BYTES: usize = 16 * 1024;
/// How long a full server waits for an evicted connection to let go of its slot.
const EVICTION_WAIT: Duration = Duration::from_secs(1);
/// Pause after an accept error that is not about one connection (EMFILE, ENFILE, ENOMEM).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);
/// In-flight requests get this long to finish on shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Timeouts and the connection cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeLimits {
    /// From connection open (or the previous answer) to a complete request head: covers slow
    /// headers and idle keep-alive connections alike.
    pub header_timeout: Duration,
    /// From a complete request head to the answer: covers a slow body.
    pub request_timeout: Duration,
    pub max_connections: usize,
}

impl Default for ServeLimits {
    fn default() -> Self {
        ServeLimits {
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(10),
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

impl ServeLimits {
    /// The defaults, with the soft descriptor limit raised to the hard one and the cap fitted
    /// under what it allows.
    pub fn for_this_process() -> Self {
        let limit = raise_descriptor_limit();
        let limits = ServeLimits {
            max_connections: connection_cap(limit),
            ..Default::default()
        };
        tracing::info!(
            descriptor_limit = ?limit,
            max_connections = limits.max_connections,
            "webhook receiver limits"
        );
        limits
    }
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; returns the soft limit now in force.
#[cfg(unix)]
pub fn raise_descriptor_limit() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return None;
    }
    if lim.rlim_cur < lim.rlim_max {
        // macOS reports an unlimited hard limit but refuses a soft one above OPEN_MAX.
        for target in [lim.rlim_max, lim.rlim_max.min(10_240)] {
            let raised = libc::rlimit {
                rlim_cur: target,
                rlim_max: lim.rlim_max,
            };
            if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
                lim.rlim_cur = target;
                break;
            }
        }
    }
    #[allow(clippy::unnecessary_cast)] // rlim_t is not u64 on every unix
    Some(lim.rlim_cur as u64)
}

#[cfg(not(unix))]
pub fn raise_descriptor_limit() -> Option<u64> {
    None
}

/// The connection cap for a descriptor limit: the limit minus a reserve, at most
/// [`DEFAULT_MAX_CONNECTIONS`].
pub fn connection_cap(descriptor_limit: Option<u64>) -> usize {
    let Some(limit) = descriptor_limit else {
        return DEFAULT_MAX_CONNECTIONS;
    };
    let room = if limit > RESERVED_DESCRIPTORS * 4 {
        limit - RESERVED_DESCRIPTORS
    } else {
        limit * 3 / 4
    };
    (room.min(DEFAULT_MAX_CONNECTIONS as u64) as usize).max(1)
}

/// One open connection, as the eviction policy sees it.
struct Slot {
    /// When it last started or finished a request (or opened), in ms since the server began.
    active_ms: AtomicU64,
    /// Asks the connection's task to drop it.
    close: Notify,
    /// Its task has dropped it: the descriptor is free.
    closed: Notify,
}

/// The open connections, for eviction.
struct Connections {
    epoch: Instant,
    next_id: AtomicU64,
    open: Mutex<HashMap<u64, Arc<Slot>>>,
}

impl Connections {
    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    fn add(&self) -> (u64, Arc<Slot>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let slot = Arc::new(Slot {
            active_ms: AtomicU64::new(self.now_ms()),
            close: Notify::new(),
            closed: Notify::new(),
        });
        self.lock().insert(id, slot.clone());
        (id, slot)
    }

    fn remove(&self, id: u64) {
        self.lock().remove(&id);
    }

    fn touch(&self, slot: &Slot) {
        slot.active_ms.store(self.now_ms(), Ordering::Relaxed);
    }

    /// Closes the connection quiet the longest: an idle or slowloris one long before a
    /// delivery in progress, whose clock was just reset.
    fn evict_oldest(&self) -> Option<Arc<Slot>> {
        let mut open = self.lock();
        let oldest = open
            .iter()
            .min_by_key(|(_, s)| s.active_ms.load(Ordering::Relaxed))
            .map(|(id, _)| *id);
        let slot = oldest.and_then(|id| open.remove(&id))?;
        slot.close.notify_one();
        Some(slot)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Slot>>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Serves `router` on `listener` until `shutdown` resolves (then lets in-flight requests
/// finish, up to 2 s). Dropping the future closes every connection.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServeLimits,
    shutdown: impl Future<Output = ()> + Send,
) {
    let cap = limits.max_connections.max(1);
    let permits = Arc::new(Semaphore::new(cap));
    let conns = Arc::new(Connections {
        epoch: Instant::now(),
        next_id: AtomicU64::new(0),
        open: Mutex::new(HashMap::new()),
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true)
        .max_buf_size(MAX_BUF_BYTES);
    let mut accept_errors = AcceptErrors::default();
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    if accept_errors.note(&e) {
                        // Likely out of descriptors: free one and retry once it is closed;
                        // with nothing to close, back off. Either way the loop never spins.
                        match conns.evict_oldest() {
                            Some(victim) => {
                                let _ = tokio::time::timeout(ACCEPT_BACKOFF, victim.closed.notified()).await;
                            }
                            None => tokio::time::sleep(ACCEPT_BACKOFF).await,
                        }
                    }
                    continue;
                }
            },
        };
        let permit = match permits.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                let _ = conns.evict_oldest();
                match tokio::time::timeout(EVICTION_WAIT, permits.clone().acquire_owned()).await {
                    Ok(Ok(p)) => p,
                    _ => continue, // drops the new connection: still full
                }
            }
        };
        let (id, slot) = conns.add();
        let service = {
            let (conns, slot) = (conns.clone(), slot.clone());
            let inner = TowerToHyperService::new(router.clone());
            let request_timeout = limits.request_timeout;
            hyper::service::service_fn(move |req: Request<Incoming>| {
                conns.touch(&slot);
                let answer = inner.call(req);
                let (conns, slot) = (conns.clone(), slot.clone());
                async move {
                    let resp = match tokio::time::timeout(request_timeout, answer).await {
                        Ok(Ok(resp)) => resp,
                        Ok(Err(never)) => match never {},
                        Err(_) => too_slow(),
                    };
                    conns.touch(&slot);
                    Ok::<_, Infallible>(resp)
                }
            })
        };
        let conn = http.serve_connection(TokioIo::new(stream), service);
        let (conns, stop_rx_for_task) = (conns.clone(), stop_rx.clone());
        tokio::spawn(async move {
            // Until the connection ends, is evicted, or the server stops (then in-flight
            // requests get a grace period); leaving the block closes the socket.
            {
                let mut stop = stop_rx_for_task;
                let stopping = async move {
                    let _ = stop.wait_for(|stopped| *stopped).await;
                };
                tokio::pin!(conn);
                tokio::select! {
                    _ = conn.as_mut() => {}
                    _ = slot.close.notified() => {}
                    _ = stopping => {
                        conn.as_mut().graceful_shutdown();
                        let _ = tokio::time::timeout(SHUTDOWN_GRACE, conn.as_mut()).await;
                    }
                }
            }
            drop(permit);
            conns.remove(id);
            slot.closed.notify_one();
        });
    }
    let _ = stop_tx.send(true);
    let all = u32::try_from(cap).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, permits.acquire_many(all)).await;
}

/// The answer to a request whose body did not arrive in time.
fn too_slow() -> Response<Body> {
    let mut resp = Response::new(Body::from("request body not received in time\n"));
    *resp.status_mut() = StatusCode::REQUEST_TIMEOUT;
    resp.headers_mut()
        .insert(header::CONNECTION, header::HeaderValue::from_static("close"));
    resp
}

/// Accept errors: which call for a pause, and a log line at most every few seconds.
#[derive(Default)]
struct AcceptErrors {
    last_logged: Option<Instant>,
    since_logged: u64,
}

impl AcceptErrors {
    /// `true` when the error is about the listener or the process, not one connection.
    fn note(&mut self, e: &std::io::Error) -> bool {
        use std::io::ErrorKind::*;
        if matches!(
            e.kind(),
            ConnectionAborted | ConnectionReset | ConnectionRefused | Interrupted | WouldBlock
        ) {
            return false;
        }
        self.since_logged += 1;
        if self.last_logged.is_none_or(|t| t.elapsed() >= Duration::from_secs(5)) {
            tracing::warn!(
                "webhook receiver: cannot accept a connection ({e}; {} such errors); closing the quietest connection",
                self.since_logged
            );
            self.last_logged = Some(Instant::now());
            self.since_logged = 0;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_stays_under_the_descriptor_limit() {
        assert_eq!(connection_cap(Some(1024)), 896);
        assert_eq!(connection_cap(Some(256)), 192);
        assert_eq!(connection_cap(Some(1_048_576)), DEFAULT_MAX_CONNECTIONS);
        assert_eq!(connection_cap(Some(1)), 1);
        assert_eq!(connection_cap(None), DEFAULT_MAX_CONNECTIONS);
    }

    #[test]
    fn eviction_picks_the_connection_quiet_the_longest() {
        let conns = Connections {
            epoch: Instant::now() - Duration::from_secs(60),
            next_id: AtomicU64::new(0),
            open: Mutex::new(HashMap::new()),
        };
        let (a, slot_a) = conns.add();
        let (b, slot_b) = conns.add();
        slot_a.active_ms.store(10, Ordering::Relaxed);
        slot_b.active_ms.store(5, Ordering::Relaxed);
        assert!(conns.evict_oldest().is_some());
        assert!(!conns.lock().contains_key(&b) && conns.lock().contains_key(&a));
        assert!(conns.evict_oldest().is_some());
        assert!(conns.evict_oldest().is_none(), "nothing left");
    }

    #[test]
    fn only_listener_level_accept_errors_pause_the_loop() {
        let mut errors = AcceptErrors::default();
        let emfile = std::io::Error::from_raw_os_error(24);
        assert!(errors.note(&emfile));
        assert!(!errors.note(&std::io::Error::from(std::io::ErrorKind::ConnectionAborted)));
    }
}
