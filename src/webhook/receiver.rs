//! The webhook receiver: verify, parse, dedupe, enqueue, answer — in that order, in microseconds.
//!
//! Nothing slow happens in the handler (the quickstart: "keep the handler thin and offload work
//! to a queue"). Accepted events go to a bounded `mpsc` queue; when it is full the answer is
//! 503 so the sender retries later, and the event id is not marked as seen. Duplicates are
//! recognised by what the signature covers (see `dedupe_keys`), never by an unsigned header
//! alone. Run it with [`super::server::serve`] for read timeouts and a connection cap.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use axum::Router;
use axum::body::Body;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures_util::StreamExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use super::event::WebhookEvent;
use super::signature::{DEFAULT_TOLERANCE_SECS, SignatureScheme, SigningSecret, Verified, verify};
use super::signature::{EVENT_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};

#[derive(Debug, Clone)]
pub struct ReceiverConfig {
    /// Every secret accepted (more than one while rotating).
    pub secrets: Vec<SigningSecret>,
    /// The route, e.g. `/polyai-events`.
    pub path: String,
    /// Larger bodies get 413.
    pub max_body_bytes: usize,
    /// Bytes all bodies being read may hold together beyond their first [`FREE_BODY_BYTES`]:
    /// with many connections sending large bodies at once, the rest get 503 instead of
    /// growing memory.
    pub body_budget_bytes: usize,
    /// How many recent event ids are remembered for deduplication.
    pub dedupe_capacity: usize,
    /// Accepted events waiting for the consumer.
    pub queue_capacity: usize,
    pub tolerance_secs: i64,
}

impl ReceiverConfig {
    pub fn new(secrets: Vec<SigningSecret>) -> Self {
        ReceiverConfig {
            secrets,
            path: "/polyai-events".into(),
            max_body_bytes: 1 << 20,
            body_budget_bytes: 64 << 20,
            dedupe_capacity: 65_536,
            queue_capacity: 4096,
            tolerance_secs: DEFAULT_TOLERANCE_SECS,
        }
    }
}

/// Counters, for logs and benchmarks.
#[derive(Debug, Default)]
pub struct ReceiverStats {
    pub accepted: AtomicU64,
    pub duplicates: AtomicU64,
    pub unauthorized: AtomicU64,
    pub bad_request: AtomicU64,
    pub too_large: AtomicU64,
    pub overloaded: AtomicU64,
}

/// A plain copy of the counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    pub accepted: u64,
    pub duplicates: u64,
    pub unauthorized: u64,
    pub bad_request: u64,
    pub too_large: u64,
    pub overloaded: u64,
}

/// A dedupe key: 16 bytes of SHA-256 over a tagged value, so memory per entry is fixed
/// whatever a sender puts in ids.
type Key = [u8; 16];

fn key(tag: &str, parts: &[&[u8]]) -> Key {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(tag.as_bytes());
    h.update([0]);
    for p in parts {
        h.update(p);
    }
    let mut k = [0; 16];
    k.copy_from_slice(&h.finalize()[..16]);
    k
}

/// The keys an accepted delivery is remembered by, and checked against.
///
/// Only what the signature covers identifies a delivery: the body's `id`, or (a body without
/// one) a hash of the signed payload: the body, plus the timestamp when that is signed too (a
/// timestamped payload only replays within the tolerance window, so that is all it must be
/// remembered for). The unsigned `X-PolyAI-Event-ID` is an extra key, so a sender's retry
/// re-signed with a new timestamp is still caught; a fresh header value never makes a
/// replay new.
fn dedupe_keys(
    body_id: &str,
    header_id: Option<&str>,
    verified: Verified,
    timestamp: Option<&str>,
    body: &[u8],
) -> Vec<Key> {
    if !body_id.is_empty() {
        return vec![key("id", &[body_id.as_bytes()])];
    }
    let signed = match (verified.scheme, timestamp) {
        (SignatureScheme::Timestamped, Some(ts)) => key("ts.body", &[ts.trim().as_bytes(), b".", body]),
        _ => key("body", &[body]),
    };
    let mut keys = vec![signed];
    if let Some(h) = header_id.filter(|h| !h.is_empty()) {
        keys.push(key("header-id", &[h.as_bytes()]));
    }
    keys
}

/// Recently seen keys: a set plus a ring that evicts the oldest, so memory stays bounded.
struct Seen {
    set: HashSet<Key>,
    order: VecDeque<Key>,
    capacity: usize,
}

impl Seen {
    fn new(capacity: usize) -> Self {
        Seen {
            set: HashSet::new(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    fn contains_any(&self, keys: &[Key]) -> bool {
        keys.iter().any(|k| self.set.contains(k))
    }

    fn insert(&mut self, k: Key) {
        if !self.set.insert(k) {
            return;
        }
        if self.order.len() == self.capacity
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        self.order.push_back(k);
    }
}

struct Shared {
    secrets: RwLock<Vec<SigningSecret>>,
    seen: Mutex<Seen>,
    queue: mpsc::Sender<WebhookEvent>,
    stats: ReceiverStats,
    tolerance_secs: i64,
    max_body_bytes: usize,
    body_budget: Arc<Semaphore>,
}

/// Lets the owner swap secrets (rotation) and read counters while the receiver runs.
#[derive(Clone)]
pub struct ReceiverHandle {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for ReceiverHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceiverHandle").field("stats", &self.stats()).finish()
    }
}

impl ReceiverHandle {
    pub fn set_secrets(&self, secrets: Vec<SigningSecret>) {
        *self.shared.secrets.write().unwrap_or_else(|p| p.into_inner()) = secrets;
    }

    pub fn stats(&self) -> StatsSnapshot {
        let s = &self.shared.stats;
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StatsSnapshot {
            accepted: get(&s.accepted),
            duplicates: get(&s.duplicates),
            unauthorized: get(&s.unauthorized),
            bad_request: get(&s.bad_request),
            too_large: get(&s.too_large),
            overloaded: get(&s.overloaded),
        }
    }
}

/// A receiver ready to serve: mount `router`, consume `events`.
pub struct Receiver {
    pub router: Router,
    pub events: mpsc::Receiver<WebhookEvent>,
    pub handle: ReceiverHandle,
}

pub fn receiver(config: ReceiverConfig) -> Receiver {
    let (tx, rx) = mpsc::channel(config.queue_capacity.max(1));
    let shared = Arc::new(Shared {
        secrets: RwLock::new(config.secrets),
        // Up to two keys per accepted event (signed payload + header id).
        seen: Mutex::new(Seen::new(config.dedupe_capacity.saturating_mul(2))),
        queue: tx,
        stats: ReceiverStats::default(),
        tolerance_secs: config.tolerance_secs,
        max_body_bytes: config.max_body_bytes,
        body_budget: Arc::new(Semaphore::new(config.body_budget_bytes.min(Semaphore::MAX_PERMITS))),
    });
    let router = Router::new()
        .route(&config.path, post(handle))
        .with_state(shared.clone());
    Receiver {
        router,
        events: rx,
        handle: ReceiverHandle { shared },
    }
}

fn refuse(status: StatusCode, why: &str) -> Response {
    (status, format!("{why}\n")).into_response()
}

/// Every body may hold this much without touching the shared budget: deliveries are a few KB,
/// so they never wait on (or fail for) other clients' large bodies.
pub const FREE_BODY_BYTES: usize = 64 * 1024;

/// Why a body was not read.
enum BodyError {
    TooLarge,
    OverBudget,
    Broken(String),
}

/// Reads the body up to `shared.max_body_bytes`, taking budget for what goes past
/// [`FREE_BODY_BYTES`]; the permit is held until the body is dropped.
async fn read_body(
    shared: &Shared,
    headers: &HeaderMap,
    body: Body,
) -> Result<(Bytes, Option<OwnedSemaphorePermit>), BodyError> {
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > shared.max_body_bytes) {
        return Err(BodyError::TooLarge);
    }
    let mut buf = Vec::with_capacity(declared.unwrap_or(0).min(FREE_BODY_BYTES));
    let mut held: Option<OwnedSemaphorePermit> = None;
    let mut chunks = body.into_data_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|e| BodyError::Broken(e.to_string()))?;
        let len = buf.len() + chunk.len();
        if len > shared.max_body_bytes {
            return Err(BodyError::TooLarge);
        }
        let need = len.saturating_sub(FREE_BODY_BYTES) - held.as_ref().map_or(0, |p| p.num_permits());
        if need > 0 {
            let more = u32::try_from(need)
                .ok()
                .and_then(|n| shared.body_budget.clone().try_acquire_many_owned(n).ok())
                .ok_or(BodyError::OverBudget)?;
            match &mut held {
                Some(p) => p.merge(more),
                None => held = Some(more),
            }
        }
        buf.extend_from_slice(&chunk);
    }
    Ok((Bytes::from(buf), held))
}

async fn handle(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Body) -> Response {
    let stats = &shared.stats;
    let count = |c: &AtomicU64| c.fetch_add(1, Ordering::Relaxed);
    let (body, _budget) = match read_body(&shared, &headers, body).await {
        Ok(b) => b,
        Err(BodyError::TooLarge) => {
            count(&stats.too_large);
            return refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("body larger than {} bytes", shared.max_body_bytes),
            );
        }
        Err(BodyError::OverBudget) => {
            count(&stats.overloaded);
            return refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "too many large bodies being received at once; retry later",
            );
        }
        Err(BodyError::Broken(e)) => {
            count(&stats.bad_request);
            return refuse(StatusCode::BAD_REQUEST, &format!("cannot read the body: {e}"));
        }
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let verdict = {
        let secrets = shared.secrets.read().unwrap_or_else(|p| p.into_inner());
        verify(
            &secrets,
            header(SIGNATURE_HEADER),
            header(TIMESTAMP_HEADER),
            &body,
            chrono::Utc::now().timestamp(),
            shared.tolerance_secs,
        )
    };
    let verified = match verdict {
        Ok(v) => v,
        Err(e) => {
            count(&stats.unauthorized);
            tracing::warn!("webhook refused: {e}");
            return refuse(StatusCode::UNAUTHORIZED, &e.to_string());
        }
    };
    let mut event = match WebhookEvent::from_slice(&body, None) {
        Ok(e) => e,
        Err(e) => {
            count(&stats.bad_request);
            return refuse(StatusCode::BAD_REQUEST, &format!("body is not a webhook event: {e}"));
        }
    };
    let header_id = header(EVENT_ID_HEADER).map(str::trim);
    let keys = dedupe_keys(&event.id, header_id, verified, header(TIMESTAMP_HEADER), &body);
    if event.id.is_empty() {
        // Shown and logged only; never trusted for dedupe on its own (it is not signed).
        event.id = header_id.unwrap_or_default().to_string();
    }
    if event.id.is_empty() {
        count(&stats.bad_request);
        return refuse(
            StatusCode::BAD_REQUEST,
            "no event id (neither a body `id` nor X-PolyAI-Event-ID)",
        );
    }
    // Check, enqueue and remember under one lock so that two copies racing in cannot both
    // pass.
    let mut seen = shared.seen.lock().unwrap_or_else(|p| p.into_inner());
    if seen.contains_any(&keys) {
        count(&stats.duplicates);
        return (StatusCode::OK, "duplicate\n").into_response();
    }
    match shared.queue.try_send(event) {
        Ok(()) => {
            for k in keys {
                seen.insert(k);
            }
            count(&stats.accepted);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(_) => {
            count(&stats.overloaded);
            refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "event queue full or closed; retry later",
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_ring_evicts_the_oldest() {
        let mut s = Seen::new(2);
        let [a, b, c] = [b"a", b"b", b"c"].map(|v| key("id", &[v]));
        s.insert(a);
        s.insert(b);
        s.insert(b);
        s.insert(c);
        assert!(!s.set.contains(&a));
        assert!(s.contains_any(&[b]) && s.contains_any(&[c]));
        assert_eq!((s.set.len(), s.order.len()), (2, 2));
    }

    #[test]
    fn dedupe_keys_follow_what_the_signature_covers() {
        let body_only = Verified {
            scheme: SignatureScheme::Body,
        };
        let stamped = Verified {
            scheme: SignatureScheme::Timestamped,
        };
        // A body id is the key, whatever the headers say.
        assert_eq!(
            dedupe_keys("evt_1", Some("h1"), stamped, Some("10"), b"x"),
            dedupe_keys("evt_1", Some("h2"), body_only, Some("11"), b"y")
        );
        // Without one: the signed payload, and the header id as an extra key.
        let k = dedupe_keys("", Some("h1"), body_only, Some("10"), b"x");
        let fresh_header = dedupe_keys("", Some("h2"), body_only, Some("11"), b"x");
        assert_eq!(
            k[0], fresh_header[0],
            "body-only signature: the timestamp is not covered"
        );
        assert_ne!(k[1], fresh_header[1]);
        let t10 = dedupe_keys("", None, stamped, Some("10"), b"x");
        let t11 = dedupe_keys("", None, stamped, Some("11"), b"x");
        assert_ne!(t10, t11, "a timestamped signature covers the timestamp");
        assert_ne!(t10[0], k[0]);
    }
}
