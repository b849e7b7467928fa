//! The stand-in's sender: posts each event to every subscribed endpoint, signed, with retries.
//!
//! Every delivery runs on its own tokio task, so `deliver` returns at once. A failed attempt is
//! retried as the reference's retry policy says (polyai-api.md §6.5): a timeout, a network
//! error, 408, 429 or 5xx is retried after 1 min, 5 min, 15 min, 1 h and 4 h (times a scale
//! factor, for demos and tests); any other 4xx is final. Retries carry the same body and event
//! id; the timestamp and signature are fresh per attempt ("when the webhook was sent"). Before each retry the endpoint is looked up again, so a
//! deleted, disabled or unsubscribed endpoint stops receiving and a rotated secret is used.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::broadcast;

use super::registry::{Registry, Target};
use crate::webhook::event::WebhookEvent;
use crate::webhook::signature::{SignatureScheme, sign};

pub use crate::webhook::signature::{EVENT_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};

/// How many attempts the inspection log keeps.
const LOG_CAPACITY: usize = 10_000;

/// The reference's schedule: attempt 1 at once, then these waits before attempts 2–6.
pub const DOCUMENTED_RETRY_DELAYS: [Duration; 5] = [
    Duration::from_secs(60),
    Duration::from_secs(5 * 60),
    Duration::from_secs(15 * 60),
    Duration::from_secs(3600),
    Duration::from_secs(4 * 3600),
];

/// The largest retry scale (the last wait is then 4000 h).
pub const MAX_RETRY_SCALE: f64 = 1000.0;

/// How deliveries are signed and retried.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    pub scheme: SignatureScheme,
    /// Wait before attempt 2, 3, …; its length + 1 is the number of attempts.
    pub retry_delays: Vec<Duration>,
}

impl Default for DeliveryConfig {
    /// The reference's: timestamped signatures, the documented schedule.
    fn default() -> Self {
        DeliveryConfig {
            scheme: SignatureScheme::default(),
            retry_delays: DOCUMENTED_RETRY_DELAYS.to_vec(),
        }
    }
}

impl DeliveryConfig {
    /// The documented schedule times `scale` (`0.001`: 60 ms, 300 ms, 900 ms, 3.6 s, 14.4 s),
    /// to the nearest nanosecond. `scale` must be within 0–[`MAX_RETRY_SCALE`].
    pub fn scaled(scale: f64) -> anyhow::Result<Self> {
        if !(0.0..=MAX_RETRY_SCALE).contains(&scale) {
            anyhow::bail!("the retry scale must be a number from 0 to {MAX_RETRY_SCALE} (got {scale})");
        }
        let retry_delays = DOCUMENTED_RETRY_DELAYS
            .iter()
            .map(|d| Duration::from_nanos((d.as_nanos() as f64 * scale).round() as u64))
            .collect();
        Ok(DeliveryConfig {
            retry_delays,
            ..Self::default()
        })
    }

    pub fn with_scheme(mut self, scheme: SignatureScheme) -> Self {
        self.scheme = scheme;
        self
    }

    pub fn max_attempts(&self) -> u32 {
        self.retry_delays.len() as u32 + 1
    }
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// 2xx: done.
    Delivered {
        status: u16,
    },
    /// Any other status.
    Failed {
        status: u16,
    },
    Timeout,
    Network(String),
}

impl AttemptOutcome {
    pub fn is_success(&self) -> bool {
        matches!(self, AttemptOutcome::Delivered { .. })
    }

    /// Whether another attempt may follow: timeouts, network errors, 408, 429 and 5xx are
    /// retried; other 4xx (the receiver refused the event itself) are not, nor is success.
    pub fn is_retryable(&self) -> bool {
        match self {
            AttemptOutcome::Delivered { .. } => false,
            AttemptOutcome::Failed { status } => !(400..500).contains(status) || matches!(status, 408 | 429),
            AttemptOutcome::Timeout | AttemptOutcome::Network(_) => true,
        }
    }
}

/// One attempt, for tests and inspection.
#[derive(Debug, Clone)]
pub struct DeliveryAttempt {
    pub event_id: String,
    pub event_type: String,
    pub endpoint_id: String,
    pub url: String,
    /// 1-based.
    pub attempt: u32,
    /// True when no further attempt will follow (success, a final 4xx, or out of attempts).
    pub last: bool,
    pub outcome: AttemptOutcome,
    pub timestamp: i64,
    pub signature: String,
    pub sent_at: DateTime<Utc>,
    pub elapsed: Duration,
}

/// Sends events to the registry's endpoints. Cheap to clone; clones share the log.
#[derive(Clone)]
pub struct Deliverer {
    registry: Registry,
    http: reqwest::Client,
    config: Arc<DeliveryConfig>,
    log: Arc<Mutex<VecDeque<DeliveryAttempt>>>,
    events: broadcast::Sender<DeliveryAttempt>,
}

impl std::fmt::Debug for Deliverer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deliverer")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Deliverer {
    pub fn new(registry: Registry, config: DeliveryConfig) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("callscope-standin/", env!("CARGO_PKG_VERSION")))
            // A webhook URL is the whole address: following redirects would send signed
            // payloads somewhere nobody registered.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .build()?;
        Ok(Deliverer {
            registry,
            http,
            config: Arc::new(config),
            log: Arc::new(Mutex::new(VecDeque::new())),
            events: broadcast::channel(1024).0,
        })
    }

    pub fn config(&self) -> &DeliveryConfig {
        &self.config
    }

    /// Starts delivering `event` to every enabled endpoint subscribed to its type and returns
    /// how many that is. Must be called inside a tokio runtime; never waits for the network.
    pub fn deliver(&self, event: &WebhookEvent) -> usize {
        let targets = self.registry.targets(event.event_type.as_str());
        let body: Arc<[u8]> = event.to_body().into();
        for target in &targets {
            let this = self.clone();
            let body = body.clone();
            let event_id = event.id.clone();
            let event_type = event.event_type.as_str().to_string();
            let target = target.clone();
            tokio::spawn(async move { this.run(target, event_id, event_type, body).await });
        }
        targets.len()
    }

    /// Every attempt so far (the most recent 10,000), oldest first.
    pub fn attempts(&self) -> Vec<DeliveryAttempt> {
        self.lock_log().iter().cloned().collect()
    }

    /// Attempts as they happen (lagging receivers skip ahead).
    pub fn subscribe(&self) -> broadcast::Receiver<DeliveryAttempt> {
        self.events.subscribe()
    }

    fn lock_log(&self) -> std::sync::MutexGuard<'_, VecDeque<DeliveryAttempt>> {
        self.log.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn run(self, mut target: Target, event_id: String, event_type: String, body: Arc<[u8]>) {
        let max = self.config.max_attempts();
        for attempt in 1..=max {
            if attempt > 1 {
                tokio::time::sleep(self.config.retry_delays[attempt as usize - 2]).await;
                // The endpoint may have been deleted, disabled, re-pointed or rotated meanwhile.
                match self
                    .registry
                    .targets(&event_type)
                    .into_iter()
                    .find(|t| t.endpoint_id == target.endpoint_id)
                {
                    Some(t) => target = t,
                    None => return,
                }
            }
            let record = self.attempt(&target, &event_id, &body).await;
            let done = !record.outcome.is_retryable() || attempt == max;
            let record = DeliveryAttempt {
                event_id: event_id.clone(),
                event_type: event_type.clone(),
                attempt,
                last: done,
                ..record
            };
            tracing::debug!(
                event_id = %record.event_id, endpoint = %record.endpoint_id, attempt,
                outcome = ?record.outcome, "webhook delivery attempt"
            );
            {
                let mut log = self.lock_log();
                if log.len() == LOG_CAPACITY {
                    log.pop_front();
                }
                log.push_back(record.clone());
            }
            let _ = self.events.send(record);
            if done {
                return;
            }
        }
    }

    /// One signed POST. The returned record's event fields are filled in by the caller.
    async fn attempt(&self, target: &Target, event_id: &str, body: &[u8]) -> DeliveryAttempt {
        let sent_at = Utc::now();
        let timestamp = sent_at.timestamp();
        let signature = sign(&target.secret, self.config.scheme, timestamp, body);
        let mut req = self
            .http
            .post(&target.url)
            .timeout(target.timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, &signature)
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .header(EVENT_ID_HEADER, event_id);
        for (k, v) in &target.headers {
            req = req.header(k, v);
        }
        let started = Instant::now();
        let outcome = match req.body(body.to_vec()).send().await {
            Ok(resp) if resp.status().is_success() => AttemptOutcome::Delivered {
                status: resp.status().as_u16(),
            },
            Ok(resp) => AttemptOutcome::Failed {
                status: resp.status().as_u16(),
            },
            Err(e) if e.is_timeout() => AttemptOutcome::Timeout,
            Err(e) => AttemptOutcome::Network(error_chain(&e)),
        };
        DeliveryAttempt {
            event_id: String::new(),
            event_type: String::new(),
            endpoint_id: target.endpoint_id.clone(),
            url: target.url.clone(),
            attempt: 0,
            last: false,
            outcome,
            timestamp,
            signature,
            sent_at,
            elapsed: started.elapsed(),
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        msg = format!("{msg}: {s}");
        src = s.source();
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_have_six_attempts() {
        let real = DeliveryConfig::default();
        assert_eq!(real.max_attempts(), 6);
        assert_eq!(real.retry_delays[4], Duration::from_secs(4 * 3600));
        assert_eq!(real.scheme, SignatureScheme::Timestamped);
        let fast = DeliveryConfig::scaled(0.001).unwrap();
        assert_eq!(
            fast.retry_delays,
            [60, 300, 900, 3600, 14400].map(Duration::from_millis)
        );
        assert_eq!(fast.scheme, SignatureScheme::Timestamped);
        assert_eq!(DeliveryConfig::scaled(0.0).unwrap().retry_delays, [Duration::ZERO; 5]);
        for bad in [-1.0, f64::NAN, f64::INFINITY, 1e300] {
            assert!(DeliveryConfig::scaled(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_timeouts_rate_limits_server_and_network_errors_are_retried() {
        let failed = |status| AttemptOutcome::Failed { status };
        for status in [408, 429, 500, 502, 503, 504, 301] {
            assert!(failed(status).is_retryable(), "{status}");
        }
        for status in [400, 401, 403, 404, 410, 413, 422] {
            assert!(!failed(status).is_retryable(), "{status}");
        }
        assert!(AttemptOutcome::Timeout.is_retryable());
        assert!(AttemptOutcome::Network("refused".into()).is_retryable());
        assert!(!AttemptOutcome::Delivered { status: 204 }.is_retryable());
    }
}
