//! The webhook receiver: verify, parse, dedupe, enqueue, answer — in that order, in microseconds.
//!
//! Nothing slow happens in the handler (the quickstart: "keep the handler thin and offload work
//! to a queue"). Accepted events go to a bounded `mpsc` queue; when it is full the answer is
//! 503 so the sender retries later, and the event id is not marked as seen.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use tokio::sync::mpsc;

use super::deliver::{EVENT_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use super::event::WebhookEvent;
use super::signature::{DEFAULT_TOLERANCE_SECS, SigningSecret, verify};

#[derive(Debug, Clone)]
pub struct ReceiverConfig {
    /// Every secret accepted (more than one while rotating).
    pub secrets: Vec<SigningSecret>,
    /// The route, e.g. `/polyai-events`.
    pub path: String,
    /// Larger bodies get 413.
    pub max_body_bytes: usize,
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

/// Recently seen event ids: a set plus a ring that evicts the oldest.
struct Seen {
    set: HashSet<String>,
    order: VecDeque<String>,
    capacity: usize,
}

impl Seen {
    fn insert(&mut self, id: String) {
        if self.order.len() == self.capacity
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        self.set.insert(id.clone());
        self.order.push_back(id);
    }
}

struct Shared {
    secrets: RwLock<Vec<SigningSecret>>,
    seen: Mutex<Seen>,
    queue: mpsc::Sender<WebhookEvent>,
    stats: ReceiverStats,
    tolerance_secs: i64,
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
        seen: Mutex::new(Seen {
            set: HashSet::new(),
            order: VecDeque::new(),
            capacity: config.dedupe_capacity.max(1),
        }),
        queue: tx,
        stats: ReceiverStats::default(),
        tolerance_secs: config.tolerance_secs,
    });
    let router = Router::new()
        .route(&config.path, post(handle))
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
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

async fn handle(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let stats = &shared.stats;
    let count = |c: &AtomicU64| c.fetch_add(1, Ordering::Relaxed);
    let body = match body {
        Ok(b) => b,
        Err(rejection) => {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                count(&stats.too_large);
            } else {
                count(&stats.bad_request);
            }
            return rejection.into_response();
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
    if let Err(e) = verdict {
        count(&stats.unauthorized);
        tracing::warn!("webhook refused: {e}");
        return refuse(StatusCode::UNAUTHORIZED, &e.to_string());
    }
    let event = match WebhookEvent::from_slice(&body, header(EVENT_ID_HEADER)) {
        Ok(e) if !e.id.is_empty() => e,
        Ok(_) => {
            count(&stats.bad_request);
            return refuse(
                StatusCode::BAD_REQUEST,
                "no event id (neither a body `id` nor X-PolyAI-Event-ID)",
            );
        }
        Err(e) => {
            count(&stats.bad_request);
            return refuse(StatusCode::BAD_REQUEST, &format!("body is not a webhook event: {e}"));
        }
    };
    // Check, enqueue and remember under one lock so that two copies racing in cannot both
    // pass. The body `id` (signed) is preferred to the header (unsigned) as the dedupe key.
    let mut seen = shared.seen.lock().unwrap_or_else(|p| p.into_inner());
    if seen.set.contains(&event.id) {
        count(&stats.duplicates);
        return (StatusCode::OK, "duplicate\n").into_response();
    }
    let id = event.id.clone();
    match shared.queue.try_send(event) {
        Ok(()) => {
            seen.insert(id);
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
        let mut s = Seen {
            set: HashSet::new(),
            order: VecDeque::new(),
            capacity: 2,
        };
        s.insert("a".into());
        s.insert("b".into());
        s.insert("c".into());
        assert!(!s.set.contains("a"));
        assert!(s.set.contains("b") && s.set.contains("c"));
        assert_eq!(s.set.len(), 2);
    }
}
