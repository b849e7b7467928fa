//! The PolyAI HTTP client: list pages, walk the cursor, get one conversation, stream a recording.
//!
//! Every request carries the key in the `x-api-key` header (never in the URL), has timeouts,
//! and is retried when the failure is transient: 429 waits `Retry-After`, 5xx and network
//! errors back off exponentially with jitter. Each wait is reported to an optional observer
//! so a UI can say "rate limited, waiting 3s".

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode, Url};

use super::error::{ApiError, ErrorKind, HostFamily, parse_retry_after};
use super::model::{Conversation, ConversationPage};
use crate::config::{ApiKey, Config};

/// Parameters of `GET /v3/{account}/{project}/conversations` (design.md §3).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListQuery {
    pub start_time: Option<DateTime<Utc>>,
    pub end_time: Option<DateTime<Utc>>,
    /// 1–1000; `None` lets the server choose.
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    pub offset: Option<u64>,
    /// `live` (server default), `sandbox` or `pre-release`; `None` sends nothing.
    pub client_env: Option<String>,
    /// Repeated as `channel=A&channel=B`.
    pub channels: Vec<String>,
    pub in_progress: Option<bool>,
    pub include_latency: bool,
    pub variant_id: Option<String>,
    pub variant_name: Option<String>,
    /// Server-side transcript search (`query_type=transcript&query=…`).
    pub search: Option<TranscriptSearch>,
    /// `sample=random`.
    pub sample_random: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TranscriptSearch {
    pub query: String,
    /// `user` or `agent`; `None` searches both.
    pub turn_type: Option<String>,
}

impl ListQuery {
    /// The query string pairs, in a stable order.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let ts = |t: &DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
        let mut p = Vec::new();
        if let Some(t) = &self.start_time {
            p.push(("start_time", ts(t)));
        }
        if let Some(t) = &self.end_time {
            p.push(("end_time", ts(t)));
        }
        if let Some(l) = self.limit {
            p.push(("limit", l.to_string()));
        }
        if let Some(c) = &self.cursor {
            p.push(("cursor", c.clone()));
        }
        if let Some(o) = self.offset {
            p.push(("offset", o.to_string()));
        }
        if let Some(e) = &self.client_env {
            p.push(("client_env", e.clone()));
        }
        for c in &self.channels {
            p.push(("channel", c.clone()));
        }
        if let Some(b) = self.in_progress {
            p.push(("in_progress", b.to_string()));
        }
        if self.include_latency {
            p.push(("include_latency", "true".into()));
        }
        if let Some(v) = &self.variant_id {
            p.push(("variant_id", v.clone()));
        }
        if let Some(v) = &self.variant_name {
            p.push(("variant_name", v.clone()));
        }
        if let Some(s) = &self.search {
            p.push(("query_type", "transcript".into()));
            p.push(("query", s.query.clone()));
            if let Some(t) = &s.turn_type {
                p.push(("turn_type", t.clone()));
            }
        }
        if self.sample_random {
            p.push(("sample", "random".into()));
        }
        p
    }
}

/// Which recording to fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum AudioDirection {
    #[default]
    Combined,
    User,
    Agent,
}

impl AudioDirection {
    pub fn as_str(self) -> &'static str {
        match self {
            AudioDirection::Combined => "combined",
            AudioDirection::User => "user",
            AudioDirection::Agent => "agent",
        }
    }
}

/// Something the client is waiting for before retrying.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryNotice {
    pub attempt: u32,
    pub wait: Duration,
    pub reason: ErrorKind,
    pub status: Option<u16>,
}

pub type RetryObserver = Arc<dyn Fn(&RetryNotice) + Send + Sync>;

/// How hard to try before giving up.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// Longest `Retry-After` honoured; a longer one fails at once with a 429.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 5,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// Exponential backoff with "full jitter" between half and all of the step.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let step = self
            .base_delay
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.max_delay);
        let jitter = jitter_fraction();
        step.mul_f64(0.5 + 0.5 * jitter)
    }
}

fn jitter_fraction() -> f64 {
    // Not for security: a cheap per-call spread so that many clients do not retry in step.
    use std::sync::atomic::{AtomicU64, Ordering};
    static STATE: AtomicU64 = AtomicU64::new(0x9E37_79B9_7F4A_7C15);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    let mut x = STATE.fetch_add(nanos | 1, Ordering::Relaxed) ^ nanos;
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// Cheap to clone: one connection pool shared by all clones.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    /// A second pool without a total timeout, for recordings that stream for minutes.
    streaming: reqwest::Client,
    key: Option<ApiKey>,
    base_url: Url,
    platform_url: Url,
    account_id: String,
    project_id: String,
    retry: RetryPolicy,
    observer: Option<RetryObserver>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.base_url.as_str())
            .field("platform_url", &self.platform_url.as_str())
            .field("account_id", &self.account_id)
            .field("project_id", &self.project_id)
            .field("key", &self.key)
            .finish()
    }
}

fn parse_base(url: &str, what: &str) -> anyhow::Result<Url> {
    let mut u = Url::parse(url).map_err(|e| {
        anyhow::anyhow!("{what} {url:?} is not a URL ({e}); expected e.g. https://api.us-1.platform.polyai.app")
    })?;
    if !matches!(u.scheme(), "http" | "https") {
        anyhow::bail!("{what} {url:?} must start with https://");
    }
    if !u.path().ends_with('/') {
        let p = format!("{}/", u.path());
        u.set_path(&p);
    }
    Ok(u)
}

impl Client {
    pub fn new(cfg: &Config) -> anyhow::Result<Self> {
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::USER_AGENT,
            HeaderValue::from_static(concat!("callscope/", env!("CARGO_PKG_VERSION"))),
        );
        let build = |total: Option<Duration>| {
            let mut b = reqwest::Client::builder()
                .default_headers(headers.clone())
                .connect_timeout(Duration::from_secs(10))
                .read_timeout(Duration::from_secs(30))
                .pool_idle_timeout(Duration::from_secs(60));
            if let Some(t) = total {
                b = b.timeout(t);
            }
            b.build()
        };
        Ok(Client {
            http: build(Some(Duration::from_secs(60)))?,
            streaming: build(None)?,
            key: cfg.api_key.clone(),
            base_url: parse_base(&cfg.base_url, "POLYAI_BASE_URL")?,
            platform_url: parse_base(&cfg.platform_url, "POLYAI_PLATFORM_URL")?,
            account_id: cfg.account_id.clone(),
            project_id: cfg.project_id.clone(),
            retry: RetryPolicy::default(),
            observer: None,
        })
    }

    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Called before every wait, so a UI can show "waiting 3s (429)".
    pub fn with_retry_observer(mut self, observer: RetryObserver) -> Self {
        self.observer = Some(observer);
        self
    }

    pub fn account_id(&self) -> &str {
        &self.account_id
    }
    pub fn project_id(&self) -> &str {
        &self.project_id
    }
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }
    pub fn platform_url(&self) -> &Url {
        &self.platform_url
    }

    /// `base` + path segments, each percent-encoded (ids come from the network).
    pub fn url(&self, family: HostFamily, segments: &[&str]) -> Url {
        let mut u = match family {
            HostFamily::Runtime => self.base_url.clone(),
            HostFamily::Platform => self.platform_url.clone(),
        };
        {
            let mut p = u.path_segments_mut().expect("http(s) URLs have paths");
            p.pop_if_empty();
            p.extend(segments);
        }
        u
    }

    fn conversations_url(&self, extra: &[&str]) -> Url {
        let mut segs = vec![
            "v3",
            self.account_id.as_str(),
            self.project_id.as_str(),
            "conversations",
        ];
        segs.extend_from_slice(extra);
        self.url(HostFamily::Runtime, &segs)
    }

    /// One page of conversations.
    pub async fn list_page(&self, query: &ListQuery) -> Result<ConversationPage, ApiError> {
        self.list_page_as(query).await
    }

    /// One page decoded as `T` (e.g. a page of raw JSON values for a lossless export).
    pub async fn list_page_as<T: serde::de::DeserializeOwned>(&self, query: &ListQuery) -> Result<T, ApiError> {
        let mut url = self.conversations_url(&[]);
        {
            let mut q = url.query_pairs_mut();
            for (k, v) in query.pairs() {
                q.append_pair(k, &v);
            }
        }
        self.get_json(HostFamily::Runtime, url).await
    }

    /// Walks every page of `query` with the opaque cursor.
    pub fn pages(&self, query: ListQuery) -> Pager {
        Pager {
            client: self.clone(),
            query,
            done: false,
        }
    }

    /// One conversation with its transcript (`GET /v3/{account}/{project}/conversations/{id}`).
    pub async fn conversation(&self, id: &str) -> Result<Conversation, ApiError> {
        let url = self.conversations_url(&[id]);
        self.get_json(HostFamily::Runtime, url).await
    }

    /// The reference by-id path on the platform host (`/v1/agents/{project}/conversations/{id}`, camelCase).
    pub async fn conversation_via_agents(&self, id: &str) -> Result<Conversation, ApiError> {
        let url = self.url(
            HostFamily::Platform,
            &["v1", "agents", &self.project_id, "conversations", id],
        );
        self.get_json(HostFamily::Platform, url).await
    }

    /// Starts the recording download; the body is then read as a stream by the caller.
    /// `from_byte` asks for `Range: bytes=N-` (answered with 206 where supported).
    pub async fn audio(
        &self,
        id: &str,
        direction: AudioDirection,
        from_byte: Option<u64>,
    ) -> Result<reqwest::Response, ApiError> {
        let mut url = self.conversations_url(&[id, "audio"]);
        if direction != AudioDirection::Combined {
            url.query_pairs_mut().append_pair("direction", direction.as_str());
        }
        let mut extra = HeaderMap::new();
        extra.insert(reqwest::header::ACCEPT, HeaderValue::from_static("audio/wav"));
        if let Some(n) = from_byte.filter(|n| *n > 0) {
            extra.insert(
                reqwest::header::RANGE,
                HeaderValue::from_str(&format!("bytes={n}-")).expect("ascii"),
            );
        }
        self.send(&self.streaming, Method::GET, HostFamily::Runtime, url, extra, None)
            .await
    }

    /// A JSON request to either host family (used by the webhooks commands too).
    pub async fn request_json<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        family: HostFamily,
        url: Url,
        body: Option<&serde_json::Value>,
    ) -> Result<T, ApiError> {
        let body = body.map(|b| serde_json::to_vec(b).expect("JSON values serialize"));
        let resp = self
            .send(&self.http, method, family, url, HeaderMap::new(), body)
            .await?;
        decode_json(resp, family).await
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, family: HostFamily, url: Url) -> Result<T, ApiError> {
        self.request_json(Method::GET, family, url, None).await
    }

    /// Sends with retries; returns the first success (2xx) or the final error.
    async fn send(
        &self,
        http: &reqwest::Client,
        method: Method,
        family: HostFamily,
        url: Url,
        extra: HeaderMap,
        body: Option<Vec<u8>>,
    ) -> Result<reqwest::Response, ApiError> {
        let host =
            url.host_str().unwrap_or_default().to_string() + &url.port().map(|p| format!(":{p}")).unwrap_or_default();
        let mut attempt = 0;
        loop {
            let mut req = http.request(method.clone(), url.clone()).headers(extra.clone());
            if let Some(k) = &self.key {
                let mut v = HeaderValue::from_str(k.expose()).map_err(|_| {
                    ApiError::transport(
                        ErrorKind::Unauthorized,
                        "the API key contains characters that cannot go in a header",
                        family,
                        &host,
                    )
                })?;
                v.set_sensitive(true);
                req = req.header("x-api-key", v);
            }
            if let Some(b) = &body {
                req = req
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(b.clone());
            }
            let outcome = match req.send().await {
                Ok(resp) if resp.status().is_success() => return Ok(resp),
                Ok(resp) => {
                    let status = resp.status();
                    let retry_after = resp
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| parse_retry_after(v, Utc::now()));
                    let cid = correlation_id(resp.headers());
                    let body = resp.bytes().await.unwrap_or_default();
                    (
                        ApiError::from_response(status.as_u16(), &body, cid, family, &host),
                        retry_after,
                    )
                }
                Err(e) => (transport_error(&e, family, &host), None),
            };
            let (err, retry_after) = outcome;
            if !err.is_transient() || attempt >= self.retry.max_retries {
                return Err(err);
            }
            let wait = match (err.kind.clone(), retry_after) {
                (ErrorKind::RateLimited, Some(w)) if w > self.retry.max_retry_after => {
                    return Err(err);
                }
                (ErrorKind::RateLimited, Some(w)) => w,
                _ => self.retry.backoff(attempt),
            };
            if let Some(obs) = &self.observer {
                obs(&RetryNotice {
                    attempt: attempt + 1,
                    wait,
                    reason: err.kind.clone(),
                    status: err.status,
                });
            }
            tracing::info!(status = ?err.status, kind = ?err.kind, wait_ms = wait.as_millis() as u64, attempt, "retrying {}", url.path());
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}

fn correlation_id(h: &HeaderMap) -> Option<String> {
    h.get("x-polyai-correlation-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn transport_error(e: &reqwest::Error, family: HostFamily, host: &str) -> ApiError {
    let kind = if e.is_timeout() {
        ErrorKind::Timeout
    } else {
        ErrorKind::Network
    };
    // reqwest's Display includes the URL, which never holds the key, but keep it short.
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg = format!("{msg}: {s}");
        src = s.source();
    }
    ApiError::transport(kind, msg, family, host)
}

async fn decode_json<T: serde::de::DeserializeOwned>(
    resp: reqwest::Response,
    family: HostFamily,
) -> Result<T, ApiError> {
    let host = resp.url().host_str().unwrap_or_default().to_string();
    let cid = correlation_id(resp.headers());
    let body = resp.bytes().await.map_err(|e| {
        ApiError::transport(
            ErrorKind::Malformed,
            format!("the answer broke off: {e}"),
            family,
            &host,
        )
    })?;
    serde_json::from_slice(&body).map_err(|e| {
        let preview: String = String::from_utf8_lossy(&body[..body.len().min(120)])
            .chars()
            .filter(|c| !c.is_control())
            .collect();
        let mut err = ApiError::transport(
            ErrorKind::Malformed,
            format!("{e} (body starts {preview:?})"),
            family,
            &host,
        );
        err.correlation_id = cid;
        err.status = Some(StatusCode::OK.as_u16());
        err
    })
}

/// Walks pages with the cursor; stops after the page whose cursor is null.
pub struct Pager {
    client: Client,
    query: ListQuery,
    done: bool,
}

impl Pager {
    /// The next page, or `None` after the last one. An error ends the walk (the cursor is
    /// kept, so calling again retries the same page).
    pub async fn next_page(&mut self) -> Option<Result<ConversationPage, ApiError>> {
        if self.done {
            return None;
        }
        match self.client.list_page(&self.query).await {
            Ok(page) => {
                match &page.cursor {
                    Some(c) if Some(c) != self.query.cursor.as_ref() => self.query.cursor = Some(c.clone()),
                    // No cursor, or the same one again (a server bug that would loop forever).
                    _ => self.done = true,
                }
                Some(Ok(page))
            }
            Err(e) => Some(Err(e)),
        }
    }

    /// The cursor the next request will send.
    pub fn cursor(&self) -> Option<&str> {
        self.query.cursor.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_pairs_repeat_channels_and_format_times() {
        let q = ListQuery {
            start_time: Some(DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap().to_utc()),
            limit: Some(7),
            channels: vec!["VOICE-SIP".into(), "WEBCHAT".into()],
            search: Some(TranscriptSearch {
                query: "lost card".into(),
                turn_type: Some("user".into()),
            }),
            ..Default::default()
        };
        let p = q.pairs();
        assert_eq!(p[0], ("start_time", "2026-01-01T00:00:00Z".to_string()));
        assert_eq!(p.iter().filter(|(k, _)| *k == "channel").count(), 2);
        assert!(p.contains(&("query_type", "transcript".into())) && p.contains(&("turn_type", "user".into())));
    }

    #[test]
    fn urls_escape_ids_and_keep_base_path() {
        let cfg = Config::resolve_with_file(
            &crate::config::ConnectionArgs {
                base_url: Some("http://127.0.0.1:9/prefix".into()),
                account_id: Some("ws-1".into()),
                project_id: Some("P 1".into()),
                ..Default::default()
            },
            &|_| None,
            Default::default(),
        )
        .unwrap();
        let c = Client::new(&cfg).unwrap();
        assert_eq!(
            c.conversations_url(&["a/b?c"]).as_str(),
            "http://127.0.0.1:9/prefix/v3/ws-1/P%201/conversations/a%2Fb%3Fc"
        );
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy::default();
        for a in 0..20 {
            let d = p.backoff(a);
            assert!(
                d <= p.max_delay && d >= p.base_delay.mul_f64(0.5).min(p.max_delay / 2),
                "{a}: {d:?}"
            );
        }
        assert!(p.backoff(3) >= Duration::from_millis(1000));
    }
}
