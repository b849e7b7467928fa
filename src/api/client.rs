//! The PolyAI HTTP client: list pages, walk the cursor, get one conversation, stream a recording.
//!
//! Every request carries the key in the `x-api-key` header (never in the URL), has timeouts,
//! and is retried when the failure is transient: 429 waits `Retry-After`, 5xx and network
//! errors back off exponentially with jitter. Each wait is reported to an optional observer
//! so a UI can say "rate limited, waiting 3s".

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode, Url};

use super::cursor::CursorGuard;
use super::error::{ApiError, ErrorKind, HostFamily, parse_retry_after};
use super::model::{Conversation, ConversationPage};
use crate::config::{ApiKey, Config};
use crate::sanitize::{sanitize_line, truncate};

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

/// What to fetch from a recording route: the whole call in one direction, or one caller
/// utterance (`user_input_audio_url`), optionally PII-redacted.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AudioRequest {
    pub direction: AudioDirection,
    /// `redacted=true|false`; `None` takes the config's `redacted_audio`, and without it sends
    /// nothing (the API's default: not redacted, except for users without PII access, who
    /// always get the redacted recording).
    pub redacted: Option<bool>,
    /// One utterance: the turn's `user_input_audio_url` (relative to the platform host's
    /// `/v1/agents/{project}/`, or absolute on a configured host).
    pub utterance: Option<String>,
}

impl From<AudioDirection> for AudioRequest {
    fn from(direction: AudioDirection) -> Self {
        AudioRequest {
            direction,
            ..Default::default()
        }
    }
}

/// The two path families a conversation is served on (real-api-shapes.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathFamily {
    /// `/v3/{account}/{project}/conversations/{id}[/audio]` on the runtime host (POLYAI_BASE_URL).
    V3,
    /// `/v1/agents/{project}/conversations/{id}[/audio]` on the platform host (POLYAI_PLATFORM_URL).
    Agents,
}

impl PathFamily {
    pub fn other(self) -> PathFamily {
        match self {
            PathFamily::V3 => PathFamily::Agents,
            PathFamily::Agents => PathFamily::V3,
        }
    }
    pub fn host(self) -> HostFamily {
        match self {
            PathFamily::V3 => HostFamily::Runtime,
            PathFamily::Agents => HostFamily::Platform,
        }
    }
    /// How `doctor` and errors name it.
    pub fn describe(self) -> &'static str {
        match self {
            PathFamily::V3 => "v3 (/v3/{account}/{project}/conversations on POLYAI_BASE_URL)",
            PathFamily::Agents => "platform (/v1/agents/{project}/conversations on POLYAI_PLATFORM_URL)",
        }
    }
    /// The environment variable that picks this family's host.
    pub fn variable(self) -> &'static str {
        match self {
            PathFamily::V3 => "POLYAI_BASE_URL",
            PathFamily::Agents => "POLYAI_PLATFORM_URL",
        }
    }
    fn code(self) -> u8 {
        match self {
            PathFamily::V3 => 1,
            PathFamily::Agents => 2,
        }
    }
    fn from_code(c: u8) -> Option<PathFamily> {
        match c {
            1 => Some(PathFamily::V3),
            2 => Some(PathFamily::Agents),
            _ => None,
        }
    }
}

/// The routes whose family is remembered separately (a host may serve one and lack another).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    ById,
    Audio,
    List,
}

/// Which family answered each route, shared by every clone of a [`Client`] while the app runs.
#[derive(Debug, Default)]
struct FamilyMemory {
    by_id: AtomicU8,
    audio: AtomicU8,
    list: AtomicU8,
}

impl FamilyMemory {
    fn slot(&self, route: Route) -> &AtomicU8 {
        match route {
            Route::ById => &self.by_id,
            Route::Audio => &self.audio,
            Route::List => &self.list,
        }
    }
    fn get(&self, route: Route) -> Option<PathFamily> {
        PathFamily::from_code(self.slot(route).load(Ordering::Relaxed))
    }
    fn set(&self, route: Route, family: PathFamily) {
        let old = self.slot(route).swap(family.code(), Ordering::Relaxed);
        if old != family.code() {
            tracing::info!(?route, ?family, "path family in use");
        }
    }
}

/// A 404 that says the host has no such route: a bare `NOT_FOUND`, a body that is not the error
/// envelope, or a code that names nothing. A 404 that names what is missing (the conversation,
/// its recording, the project or the account: `…_NOT_FOUND`, or the server's "Project … does not
/// exist" wording) is the answer itself. Only a missing route makes the client try the other family.
pub fn route_missing(e: &ApiError) -> bool {
    let names_a_thing = e
        .code
        .as_deref()
        .is_some_and(|c| c != "NOT_FOUND" && c.ends_with("_NOT_FOUND"));
    e.status == Some(404) && !names_a_thing && e.wrong_id().is_none()
}

/// A fresh `X-PolyAI-Correlation-Id`: 128 random bits as a UUID v4. The bits come from std's
/// per-process random hasher keys (seeded by the OS), mixed with a counter and the clock; not
/// a secret, only unique enough to find one request in PolyAI's logs.
pub fn new_correlation_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    static KEYS: std::sync::OnceLock<std::collections::hash_map::RandomState> = std::sync::OnceLock::new();
    let keys = KEYS.get_or_init(std::collections::hash_map::RandomState::new);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let word = |salt: u64| {
        let mut h = keys.build_hasher();
        h.write_u64(n);
        h.write_u64(nanos);
        h.write_u64(salt);
        h.finish()
    };
    let (a, b) = (word(0x5eed_0001), word(0x5eed_0002));
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | ((b >> 48) & 0x3fff),
        b & 0xffff_ffff_ffff
    )
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

/// How long a request may take; tests shorten them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timeouts {
    pub connect: Duration,
    /// Longest silence while waiting for headers or between body chunks.
    pub read: Duration,
    /// A whole JSON request (recordings stream without this limit).
    pub total: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            read: Duration::from_secs(30),
            total: Duration::from_secs(60),
        }
    }
}

/// Error bodies only feed a one-line message: more than this is not read.
const MAX_ERROR_BODY: usize = 64 * 1024;

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
    max_page_bytes: u64,
    /// Which path family answered each route (shared by clones).
    families: Arc<FamilyMemory>,
    /// `redacted=` when a request leaves it open (config `redacted_audio`).
    redacted_audio: Option<bool>,
    /// Shared by clones: after a 429 with `Retry-After`, no clone sends before it has passed, so
    /// concurrent walkers (a sharded export) wait together instead of each earning its own 429.
    rate_gate: Arc<std::sync::Mutex<Option<Instant>>>,
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

/// The JSON pool (asks for gzip, br or zstd; HTTP/2 when TLS offers it) and the streaming pool.
/// Neither follows redirects: reqwest would carry the
/// custom `x-api-key` header to whatever host a 3xx names (it strips only `Authorization`),
/// and a 307 would replay a POST body there.
fn http_clients(t: &Timeouts) -> reqwest::Result<(reqwest::Client, reqwest::Client)> {
    let mut headers = HeaderMap::new();
    headers.insert(
        reqwest::header::USER_AGENT,
        HeaderValue::from_static(concat!("callscope/", env!("CARGO_PKG_VERSION"))),
    );
    let build = |total: Option<Duration>| {
        let mut b = reqwest::Client::builder()
            .default_headers(headers.clone())
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(t.connect)
            .read_timeout(t.read)
            .pool_idle_timeout(Duration::from_secs(60));
        match total {
            Some(total) => b = b.timeout(total),
            // Recordings: identity encoding, so a resumed download's byte range means WAV offsets
            // (and WAV barely compresses anyway).
            None => b = b.no_gzip().no_brotli().no_zstd(),
        }
        b.build()
    };
    Ok((build(Some(t.total))?, build(None)?))
}

impl Client {
    pub fn new(cfg: &Config) -> anyhow::Result<Self> {
        let (http, streaming) = http_clients(&Timeouts::default())?;
        Ok(Client {
            http,
            streaming,
            key: cfg.api_key.clone(),
            base_url: parse_base(&cfg.base_url, "POLYAI_BASE_URL")?,
            platform_url: parse_base(&cfg.platform_url, "POLYAI_PLATFORM_URL")?,
            account_id: cfg.account_id.clone(),
            project_id: cfg.project_id.clone(),
            retry: RetryPolicy::default(),
            observer: None,
            max_page_bytes: cfg.max_page_bytes.max(1),
            families: Arc::default(),
            redacted_audio: cfg.file.redacted_audio,
            rate_gate: Arc::default(),
        })
    }

    /// Replaces the timeouts (a new connection pool).
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> anyhow::Result<Self> {
        (self.http, self.streaming) = http_clients(&timeouts)?;
        Ok(self)
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
    // Cannot fail: http(s) URLs (the only ones a Client builds) always have paths.
    #[allow(clippy::expect_used)]
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
        self.list_page_raw(query).await?.parse()
    }

    /// One page's body, read (at most `max_page_bytes`) but not decoded, so the caller can
    /// decode it borrowing from the bytes instead of copying them.
    ///
    /// From the v3 list; when the runtime host lacks that route (and the query needs no
    /// server-side search or sampling), from the Data API's `/v1/agents/{project}/conversations`
    /// on the platform host instead, paged by offset behind a cursor of callscope's own and
    /// kept to the query's window, environment and channels. The family is remembered.
    pub async fn list_page_raw(&self, query: &ListQuery) -> Result<JsonBody, ApiError> {
        let data_offset = query
            .cursor
            .as_deref()
            .and_then(|c| c.strip_prefix(DATA_CURSOR))
            .and_then(|n| n.parse::<u64>().ok());
        let data_can_answer = query.search.is_none() && !query.sample_random;
        let mut v3_error = None;
        if data_offset.is_none() && (self.families.get(Route::List) != Some(PathFamily::Agents) || !data_can_answer) {
            match self.v3_list_raw(query).await {
                Ok(body) => {
                    self.families.set(Route::List, PathFamily::V3);
                    return Ok(body);
                }
                Err(e) if route_missing(&e) && data_can_answer => {
                    tracing::info!("list: no v3 route on {}; trying the Data API", e.host);
                    v3_error = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        let offset = data_offset.or(query.offset).unwrap_or(0);
        let limit = query.limit.unwrap_or(DATA_DEFAULT_LIMIT).clamp(1, 1000);
        match self.data_list_raw(limit, offset).await {
            Ok(body) => {
                self.families.set(Route::List, PathFamily::Agents);
                body.into_cursor_page(query, offset)
            }
            Err(e) if route_missing(&e) => Err(match v3_error {
                Some(v3) => ApiError {
                    message: format!(
                        "list: neither path family has the route — v3 on {} and the Data API (/v1/agents/{{project}}/conversations) on {} both answered 404; check POLYAI_BASE_URL, POLYAI_PLATFORM_URL and the region (the server said: {})",
                        v3.host, e.host, v3.message
                    ),
                    ..v3
                },
                None => e,
            }),
            Err(e) => Err(e),
        }
    }

    /// One page of the Data API list: `GET /v1/agents/{project}/conversations?limit&offset` →
    /// `{conversations, count, limit, offset}` (`count` is the total, not the page size).
    pub async fn data_list_raw(&self, limit: u32, offset: u64) -> Result<JsonBody, ApiError> {
        let mut url = self.url(
            HostFamily::Platform,
            &["v1", "agents", &self.project_id, "conversations"],
        );
        url.query_pairs_mut()
            .append_pair("limit", &limit.to_string())
            .append_pair("offset", &offset.to_string());
        self.json_body(Method::GET, HostFamily::Platform, url, None, "page")
            .await
    }

    /// The Data API's page and its total.
    pub async fn data_list_page(&self, limit: u32, offset: u64) -> Result<(ConversationPage, Option<u64>), ApiError> {
        let body = self.data_list_raw(limit, offset).await?;
        let total = body.parse::<DataEnvelope>()?.count;
        Ok((body.parse()?, total))
    }

    async fn v3_list_raw(&self, query: &ListQuery) -> Result<JsonBody, ApiError> {
        let mut url = self.conversations_url(&[]);
        {
            let mut q = url.query_pairs_mut();
            for (k, v) in query.pairs() {
                q.append_pair(k, &v);
            }
        }
        self.json_body(Method::GET, HostFamily::Runtime, url, None, "page")
            .await
    }

    /// Walks every page of `query` with the opaque cursor.
    pub fn pages(&self, query: ListQuery) -> Pager {
        Pager {
            client: self.clone(),
            query,
            guard: CursorGuard::default(),
            done: false,
        }
    }

    /// The family that last answered `route` (`None` until one has).
    pub fn family_in_use(&self, route: Route) -> Option<PathFamily> {
        self.families.get(route)
    }

    /// Runs `call` on the family that answered `route` before (v3 first when none has); when
    /// that family lacks the route (see [`route_missing`]), on the other one. Which one answered
    /// is remembered for every clone. A conversation that is not found is not asked for twice.
    async fn on_families<T, F, Fut>(&self, route: Route, what: &str, mut call: F) -> Result<T, ApiError>
    where
        F: FnMut(PathFamily) -> Fut,
        Fut: std::future::Future<Output = Result<T, ApiError>>,
    {
        let first = self.families.get(route).unwrap_or(PathFamily::V3);
        let missed = match call(first).await {
            Ok(v) => {
                self.families.set(route, first);
                return Ok(v);
            }
            Err(e) if route_missing(&e) => e,
            Err(e) => return Err(e),
        };
        let second = first.other();
        tracing::info!(
            correlation_id = missed.correlation_id.as_deref().unwrap_or(""),
            "{what}: no route on the {first:?} family ({}); trying the {second:?} family",
            missed.host
        );
        match call(second).await {
            Ok(v) => {
                self.families.set(route, second);
                Ok(v)
            }
            Err(e) if route_missing(&e) => Err(ApiError {
                message: format!(
                    "{what}: neither path family has the route — {} on {} and {} on {} both answered 404 without a conversation-not-found code; set POLYAI_BASE_URL (v3) or POLYAI_PLATFORM_URL / --region (platform) to your region's hosts (the server said: {})",
                    first.describe(),
                    missed.host,
                    second.describe(),
                    e.host,
                    e.message
                ),
                ..e
            }),
            Err(e) => Err(e),
        }
    }

    fn by_id_url(&self, family: PathFamily, id: &str, extra: &[&str]) -> Url {
        match family {
            PathFamily::V3 => {
                let mut segs = vec![id];
                segs.extend_from_slice(extra);
                self.conversations_url(&segs)
            }
            PathFamily::Agents => {
                let mut segs = vec!["v1", "agents", self.project_id.as_str(), "conversations", id];
                segs.extend_from_slice(extra);
                self.url(HostFamily::Platform, &segs)
            }
        }
    }

    /// One conversation with its transcript, from whichever family serves by-id:
    /// `GET /v3/{account}/{project}/conversations/{id}` or `/v1/agents/{project}/conversations/{id}`.
    pub async fn conversation(&self, id: &str) -> Result<Conversation, ApiError> {
        self.on_families(Route::ById, "by-id", |family| self.conversation_on(family, id))
            .await
    }

    /// One conversation from one family only (no fallback).
    pub async fn conversation_on(&self, family: PathFamily, id: &str) -> Result<Conversation, ApiError> {
        let url = self.by_id_url(family, id, &[]);
        self.get_json(family.host(), url).await
    }

    /// The reference by-id path on the platform host (`/v1/agents/{project}/conversations/{id}`, camelCase).
    pub async fn conversation_via_agents(&self, id: &str) -> Result<Conversation, ApiError> {
        self.conversation_on(PathFamily::Agents, id).await
    }

    /// `user_input_audio_url` or `audioUrl` as a URL: a relative one resolves against the
    /// platform host's `/v1/agents/{project}/`; an absolute one must be on a configured host
    /// (the key never goes anywhere else).
    pub fn resolve_api_url(&self, raw: &str) -> Result<(Url, HostFamily), ApiError> {
        let refuse = |why: String| {
            ApiError::transport(
                ErrorKind::Other,
                why,
                HostFamily::Platform,
                &host_of(&self.platform_url),
            )
        };
        let same_origin = |a: &Url, b: &Url| a.origin() == b.origin();
        if let Ok(abs) = Url::parse(raw) {
            return if same_origin(&abs, &self.platform_url) {
                Ok((abs, HostFamily::Platform))
            } else if same_origin(&abs, &self.base_url) {
                Ok((abs, HostFamily::Runtime))
            } else {
                Err(refuse(format!(
                    "the audio URL points at {}, which is neither configured host: not fetched, so the API key stays with POLYAI_BASE_URL / POLYAI_PLATFORM_URL",
                    truncate(&sanitize_line(&host_of(&abs)), 80)
                )))
            };
        }
        let base = self.url(HostFamily::Platform, &["v1", "agents", &self.project_id, ""]);
        let url = base.join(raw.trim()).map_err(|e| {
            refuse(format!(
                "the audio URL {:?} cannot be resolved: {e}",
                truncate(&sanitize_line(raw), 80)
            ))
        })?;
        if !same_origin(&url, &self.platform_url) {
            return Err(refuse("the audio URL resolves to another host: not fetched".into()));
        }
        Ok((url, HostFamily::Platform))
    }

    /// Starts the recording download; the body is then read as a stream by the caller.
    /// `from_byte` asks for `Range: bytes=N-` (answered with 206 where supported).
    // Cannot fail: digits and ASCII only.
    #[allow(clippy::expect_used)]
    pub async fn audio(
        &self,
        id: &str,
        request: impl Into<AudioRequest>,
        from_byte: Option<u64>,
    ) -> Result<reqwest::Response, ApiError> {
        let request = request.into();
        let mut extra = HeaderMap::new();
        extra.insert(reqwest::header::ACCEPT, HeaderValue::from_static("audio/wav"));
        if let Some(n) = from_byte.filter(|n| *n > 0) {
            extra.insert(
                reqwest::header::RANGE,
                HeaderValue::from_str(&format!("bytes={n}-")).expect("ascii"),
            );
        }
        // One utterance is the caller's audio by definition: no direction goes with it.
        let with_query = |mut url: Url| {
            {
                let mut q = url.query_pairs_mut();
                if request.direction != AudioDirection::Combined && request.utterance.is_none() {
                    q.append_pair("direction", request.direction.as_str());
                }
                if let Some(r) = request.redacted.or(self.redacted_audio) {
                    q.append_pair("redacted", if r { "true" } else { "false" });
                }
            }
            if url.query() == Some("") {
                url.set_query(None);
            }
            url
        };
        if let Some(raw) = &request.utterance {
            let (url, family) = self.resolve_api_url(raw)?;
            let url = with_query(url);
            return self.send(&self.streaming, Method::GET, family, url, extra, None).await;
        }
        self.on_families(Route::Audio, "audio", |family| {
            let url = with_query(self.by_id_url(family, id, &["audio"]));
            let extra = extra.clone();
            async move {
                self.send(&self.streaming, Method::GET, family.host(), url, extra, None)
                    .await
            }
        })
        .await
    }

    /// The recording from one family only (no fallback, nothing remembered): `doctor`'s probe.
    pub async fn audio_on(&self, family: PathFamily, id: &str) -> Result<reqwest::Response, ApiError> {
        let mut extra = HeaderMap::new();
        extra.insert(reqwest::header::ACCEPT, HeaderValue::from_static("audio/wav"));
        let url = self.by_id_url(family, id, &["audio"]);
        self.send(&self.streaming, Method::GET, family.host(), url, extra, None)
            .await
    }

    /// A JSON request to either host family (used by the webhooks commands too).
    // Cannot fail: a serde_json::Value always serializes.
    #[allow(clippy::expect_used)]
    pub async fn request_json<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        family: HostFamily,
        url: Url,
        body: Option<&serde_json::Value>,
    ) -> Result<T, ApiError> {
        let body = body.map(|b| serde_json::to_vec(b).expect("JSON values serialize"));
        self.json_body(method, family, url, body, "answer").await?.parse()
    }

    /// A request whose answer has no body to decode (`DELETE` answers 204).
    pub async fn request_empty(&self, method: Method, family: HostFamily, url: Url) -> Result<(), ApiError> {
        self.send(&self.http, method, family, url, HeaderMap::new(), None)
            .await
            .map(drop)
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, family: HostFamily, url: Url) -> Result<T, ApiError> {
        self.request_json(Method::GET, family, url, None).await
    }

    /// Sends with retries and reads the whole JSON body (bounded), retrying a body that
    /// stalls or breaks off when the request is a `GET`.
    async fn json_body(
        &self,
        method: Method,
        family: HostFamily,
        url: Url,
        body: Option<Vec<u8>>,
        what: &'static str,
    ) -> Result<JsonBody, ApiError> {
        let host = host_of(&url);
        let (method, url, host, extra, body) = (&method, &url, host.as_str(), &HeaderMap::new(), body.as_deref());
        let cap = self.max_page_bytes;
        self.with_retries(url, || async move {
            let started = Instant::now();
            let resp = self
                .try_send(&self.http, method, family, url, host, extra, body)
                .await?;
            read_json(resp, cap, family, host, started, what)
                .await
                .map_err(|err| Failure {
                    retryable: *method == Method::GET,
                    err,
                    retry_after: None,
                })
        })
        .await
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
        let host = host_of(&url);
        let (method, url, host, extra, body) = (&method, &url, host.as_str(), &extra, body.as_deref());
        self.with_retries(url, || self.try_send(http, method, family, url, host, extra, body))
            .await
    }

    /// Runs `attempt` until it succeeds, fails for good, or the retries run out; each wait
    /// is reported to the observer.
    async fn with_retries<T, F, Fut>(&self, url: &Url, mut attempt_once: F) -> Result<T, ApiError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, Failure>>,
    {
        let mut attempt = 0;
        loop {
            let gate = *self.rate_gate.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(until) = gate.filter(|t| *t > Instant::now()) {
                tokio::time::sleep_until(until.into()).await;
            }
            let Failure {
                err,
                retry_after,
                retryable,
            } = match attempt_once().await {
                Ok(v) => return Ok(v),
                Err(f) => f,
            };
            if !retryable || !err.is_transient() || attempt >= self.retry.max_retries {
                let cid = err.correlation_id.as_deref().unwrap_or("");
                let msg = sanitize_line(&err.message);
                // A missing route is how the other path family gets its turn: not a failure yet.
                if route_missing(&err) {
                    tracing::debug!(status = ?err.status, correlation_id = cid, "{} has no route: {msg}", url.path());
                } else {
                    tracing::warn!(status = ?err.status, kind = ?err.kind, correlation_id = cid, "{} failed: {msg}", url.path());
                }
                return Err(err);
            }
            let wait = match (err.kind.clone(), retry_after) {
                (ErrorKind::RateLimited, Some(w)) if w > self.retry.max_retry_after => {
                    return Err(err);
                }
                (ErrorKind::RateLimited, Some(w)) => {
                    let mut gate = self.rate_gate.lock().unwrap_or_else(|e| e.into_inner());
                    let until = Instant::now() + w;
                    *gate = Some(gate.map_or(until, |g| g.max(until)));
                    w
                }
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

    /// One attempt: the 2xx response, or the error a non-2xx answer (read at most
    /// [`MAX_ERROR_BODY`]) or the transport makes.
    #[allow(clippy::too_many_arguments)]
    // Cannot fail: hex digits and dashes only.
    #[allow(clippy::expect_used)]
    async fn try_send(
        &self,
        http: &reqwest::Client,
        method: &Method,
        family: HostFamily,
        url: &Url,
        host: &str,
        extra: &HeaderMap,
        body: Option<&[u8]>,
    ) -> Result<reqwest::Response, Failure> {
        let started = Instant::now();
        // A fresh id per attempt, as PolyAI's own CLI sends: an error quotes the server's id,
        // else this one, so a support ticket can name the request.
        let ours = new_correlation_id();
        let tag = |mut f: Failure| {
            if f.err.correlation_id.is_none() {
                f.err.correlation_id = Some(ours.clone());
            }
            f
        };
        let mut req = http.request(method.clone(), url.clone()).headers(extra.clone()).header(
            CORRELATION_HEADER,
            HeaderValue::from_str(&ours).expect("hex and dashes"),
        );
        if let Some(k) = &self.key {
            let mut v = HeaderValue::from_str(k.expose()).map_err(|_| {
                Failure::from(ApiError::transport(
                    ErrorKind::Unauthorized,
                    "the API key contains characters that cannot go in a header",
                    family,
                    host,
                ))
            })?;
            v.set_sensitive(true);
            req = req.header("x-api-key", v);
        }
        if let Some(b) = body {
            req = req
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(b.to_vec());
        }
        let mut resp = match req.send().await {
            Ok(resp) if resp.status().is_success() => return Ok(resp),
            Ok(resp) => resp,
            Err(e) => return Err(tag(transport_error(&e, family, host, started).into())),
        };
        let status = resp.status();
        let cid = correlation_id(resp.headers());
        if status.is_redirection() {
            let target = redirect_target(url, resp.headers().get(reqwest::header::LOCATION));
            let var = match family {
                HostFamily::Runtime => "POLYAI_BASE_URL",
                HostFamily::Platform => "POLYAI_PLATFORM_URL",
            };
            return Err(tag(ApiError {
                kind: ErrorKind::Redirected,
                status: Some(status.as_u16()),
                code: None,
                message: format!(
                    "the API redirected to {target} (HTTP {}); not followed — set {var} to the final host",
                    status.as_u16()
                ),
                correlation_id: cid,
                family,
                host: host.to_string(),
            }
            .into()));
        }
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, Utc::now()));
        let body = read_error_body(&mut resp).await;
        Err(tag(Failure {
            err: ApiError::from_response(status.as_u16(), &body, cid, family, host),
            retry_after,
            retryable: true,
        }))
    }
}

/// Why one attempt failed, and whether another may be made.
struct Failure {
    err: ApiError,
    /// The server's `Retry-After`.
    retry_after: Option<Duration>,
    /// `false` when a retry could repeat what the server already did (a `POST` whose answer
    /// broke off).
    retryable: bool,
}

impl From<ApiError> for Failure {
    fn from(err: ApiError) -> Self {
        Failure {
            err,
            retry_after: None,
            retryable: true,
        }
    }
}

/// `host[:port]` of a URL, for error messages.
fn host_of(url: &Url) -> String {
    url.host_str().unwrap_or_default().to_string() + &url.port().map(|p| format!(":{p}")).unwrap_or_default()
}

/// Where a 3xx pointed, fit to show: resolved against the request, without credentials,
/// query or fragment (they may carry tokens), sanitized and cut short.
fn redirect_target(request: &Url, location: Option<&HeaderValue>) -> String {
    let Some(raw) = location.map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()) else {
        return "an unnamed location (no Location header)".into();
    };
    let shown = match request.join(raw.trim()) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        }
        Err(_) => raw,
    };
    truncate(&sanitize_line(&shown), 200)
}

/// An error body, read up to [`MAX_ERROR_BODY`] (the rest is dropped with the connection).
async fn read_error_body(resp: &mut reqwest::Response) -> Vec<u8> {
    let mut buf = Vec::new();
    while buf.len() < MAX_ERROR_BODY {
        match resp.chunk().await {
            Ok(Some(chunk)) => buf.extend_from_slice(&chunk[..chunk.len().min(MAX_ERROR_BODY - buf.len())]),
            _ => break,
        }
    }
    buf
}

/// `64 MB` for whole mebibytes, else bytes.
fn size_text(bytes: u64) -> String {
    const MB: u64 = 1024 * 1024;
    if bytes >= MB && bytes.is_multiple_of(MB) {
        format!("{} MB", bytes / MB)
    } else {
        format!("{bytes} bytes")
    }
}

/// `2.5 s` under ten seconds, else whole seconds.
fn secs_text(d: Duration) -> String {
    if d < Duration::from_secs(10) {
        format!("{:.1} s", d.as_secs_f64())
    } else {
        format!("{} s", d.as_secs())
    }
}

/// Reads a 2xx JSON body in chunks, refusing it once it passes `cap` bytes (or says it will).
async fn read_json(
    mut resp: reqwest::Response,
    cap: u64,
    family: HostFamily,
    host: &str,
    started: Instant,
    what: &str,
) -> Result<JsonBody, ApiError> {
    let cid = correlation_id(resp.headers());
    let too_large = || {
        let mut e = ApiError::transport(
            ErrorKind::TooLarge,
            format!(
                "the server sent more than {} for one {what}; not read further — raise max_page_bytes in the config file (or CALLSCOPE_MAX_PAGE_BYTES) if such pages are expected",
                size_text(cap)
            ),
            family,
            host,
        );
        e.correlation_id = cid.clone();
        e
    };
    let claimed = resp.content_length();
    if claimed.is_some_and(|n| n > cap) {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(claimed.unwrap_or(0).min(cap) as usize);
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if (bytes.len() + chunk.len()) as u64 > cap {
                    return Err(too_large());
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) if e.is_timeout() => {
                tracing::debug!("body read timed out: {e}");
                let mut err = ApiError::transport(
                    ErrorKind::Timeout,
                    format!(
                        "no answer within {} (the answer stalled after {} bytes)",
                        secs_text(started.elapsed()),
                        bytes.len()
                    ),
                    family,
                    host,
                );
                err.correlation_id = cid.clone();
                return Err(err);
            }
            Err(e) => {
                let mut err = ApiError::transport(
                    ErrorKind::Network,
                    format!("the answer broke off after {} bytes: {}", bytes.len(), error_chain(&e)),
                    family,
                    host,
                );
                err.correlation_id = cid.clone();
                return Err(err);
            }
        }
    }
    Ok(JsonBody {
        bytes,
        correlation_id: cid,
        family,
        host: host.to_string(),
    })
}

/// Marks a cursor as callscope's own offset into the Data API list.
const DATA_CURSOR: &str = "callscope-data-offset:";
/// The Data API's documented default page size.
const DATA_DEFAULT_LIMIT: u32 = 50;

/// The Data API list's envelope, records left undecoded.
#[derive(serde::Deserialize)]
struct DataEnvelope<'a> {
    #[serde(borrow, default)]
    conversations: Option<Vec<&'a serde_json::value::RawValue>>,
    #[serde(default)]
    count: Option<u64>,
}

/// Whether a Data API record belongs to the v3 query's selection (the Data API filters
/// nothing itself); a field the record lacks does not exclude it.
fn data_record_wanted(c: &Conversation, q: &ListQuery) -> bool {
    let in_window = c
        .started_at
        .is_none_or(|t| q.start_time.is_none_or(|s| t >= s) && q.end_time.is_none_or(|e| t < e));
    let env = q
        .client_env
        .as_deref()
        .is_none_or(|e| c.environment.is_empty() || c.environment == e);
    let channel = q.channels.is_empty()
        || c.channel.is_empty()
        || q.channels.iter().any(|ch| ch.eq_ignore_ascii_case(&c.channel));
    let progress = q.in_progress.is_none_or(|p| p == c.in_progress);
    in_window && env && channel && progress
}

/// A 2xx JSON body, read whole but not decoded.
#[derive(Debug)]
pub struct JsonBody {
    bytes: Vec<u8>,
    correlation_id: Option<String>,
    family: HostFamily,
    host: String,
}

impl JsonBody {
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// A Data API page as a v3-shaped page: the records `query` selects, passed through byte
    /// for byte, and a cursor to the next offset while the total (`count`) says there is more.
    // Cannot fail: a string always serializes.
    #[allow(clippy::expect_used)]
    fn into_cursor_page(self, query: &ListQuery, offset: u64) -> Result<JsonBody, ApiError> {
        let env: DataEnvelope = self.parse()?;
        let records = env.conversations.unwrap_or_default();
        let got = records.len() as u64;
        let more = got > 0 && env.count.is_none_or(|total| offset + got < total);
        let mut out = Vec::with_capacity(self.bytes.len() + 64);
        out.extend_from_slice(b"{\"conversations\":[");
        let mut first = true;
        for r in records {
            let keep = super::lenient::read_record(r).is_none_or(|c| data_record_wanted(&c, query));
            if !keep {
                continue;
            }
            if !first {
                out.push(b',');
            }
            first = false;
            out.extend_from_slice(r.get().as_bytes());
        }
        out.extend_from_slice(b"],\"cursor\":");
        let cursor = more.then(|| format!("{DATA_CURSOR}{}", offset + got));
        serde_json::to_writer(&mut out, &cursor).expect("a string serializes");
        if let Some(total) = env.count {
            out.extend_from_slice(format!(",\"count\":{total}").as_bytes());
        }
        out.push(b'}');
        Ok(JsonBody { bytes: out, ..self })
    }

    /// Decodes the body; `T` may borrow from it (e.g. `&RawValue` records).
    pub fn parse<'a, T: serde::Deserialize<'a>>(&'a self) -> Result<T, ApiError> {
        serde_json::from_slice(&self.bytes).map_err(|e| {
            let body = &self.bytes;
            let preview: String = String::from_utf8_lossy(&body[..body.len().min(120)])
                .chars()
                .filter(|c| !c.is_control())
                .collect();
            let mut err = ApiError::transport(
                ErrorKind::Malformed,
                format!("{e} (body starts {preview:?})"),
                self.family,
                &self.host,
            );
            err.correlation_id = self.correlation_id.clone();
            err.status = Some(StatusCode::OK.as_u16());
            err
        })
    }
}

/// The header PolyAI's responses (and our requests) carry.
pub const CORRELATION_HEADER: &str = "x-polyai-correlation-id";

fn correlation_id(h: &HeaderMap) -> Option<String> {
    h.get(CORRELATION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn transport_error(e: &reqwest::Error, family: HostFamily, host: &str, started: Instant) -> ApiError {
    if e.is_timeout() {
        tracing::debug!("request timed out: {}", error_chain(e));
        return ApiError::transport(
            ErrorKind::Timeout,
            format!("no answer within {}", secs_text(started.elapsed())),
            family,
            host,
        );
    }
    // reqwest's Display includes the URL, which never holds the key.
    ApiError::transport(ErrorKind::Network, error_chain(e), family, host)
}

/// An error with its sources, `outer: inner: innermost`.
fn error_chain(e: &reqwest::Error) -> String {
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg = format!("{msg}: {s}");
        src = s.source();
    }
    msg
}

/// Walks pages with the cursor; stops after the page whose cursor is null, and with an
/// error when the server hands out a cursor it gave before.
pub struct Pager {
    client: Client,
    query: ListQuery,
    guard: CursorGuard,
    done: bool,
}

impl Pager {
    /// The next page, or `None` after the last one. An error ends the walk (the cursor is
    /// kept, so calling again retries the same page), except a repeated cursor, which ends it
    /// for good.
    pub async fn next_page(&mut self) -> Option<Result<ConversationPage, ApiError>> {
        if self.done {
            return None;
        }
        match self.client.list_page(&self.query).await {
            Ok(page) => Some(match self.guard.follow(page.cursor.clone()) {
                Ok(Some(next)) => {
                    self.query.cursor = Some(next);
                    Ok(page)
                }
                Ok(None) => {
                    self.done = true;
                    Ok(page)
                }
                Err(e) => {
                    self.done = true;
                    Err(e)
                }
            }),
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
    fn audio_urls_resolve_against_the_agents_path_and_stay_on_configured_hosts() {
        let cfg = Config::resolve_with_file(
            &crate::config::ConnectionArgs {
                base_url: Some("http://127.0.0.1:9/rt".into()),
                platform_url: Some("http://127.0.0.1:10".into()),
                account_id: Some("ws-1".into()),
                project_id: Some("P 1".into()),
                ..Default::default()
            },
            &|_| None,
            Default::default(),
        )
        .unwrap();
        let c = Client::new(&cfg).unwrap();
        let (u, f) = c.resolve_api_url("conversations/CA1/turns/2/audio").unwrap();
        assert_eq!(
            u.as_str(),
            "http://127.0.0.1:10/v1/agents/P%201/conversations/CA1/turns/2/audio"
        );
        assert_eq!(f, HostFamily::Platform);
        let (u, f) = c.resolve_api_url("http://127.0.0.1:9/rt/x").unwrap();
        assert_eq!((u.as_str(), f), ("http://127.0.0.1:9/rt/x", HostFamily::Runtime));
        for other in ["https://evil.example/a", "http://127.0.0.1:11/a", "//evil.example/a"] {
            assert!(c.resolve_api_url(other).is_err(), "{other}");
        }
    }

    #[test]
    fn only_a_route_level_404_is_route_missing() {
        let e = |status, body: &str| ApiError::from_response(status, body.as_bytes(), None, HostFamily::Runtime, "h");
        assert!(route_missing(&e(404, r#"{"error_code":"NOT_FOUND"}"#)));
        assert!(route_missing(&e(404, "<html>nginx</html>")));
        // A wrong project or account is the answer, not a reason to ask the other host.
        assert!(!route_missing(&e(404, r#"{"error_code":"PROJECT_NOT_FOUND"}"#)));
        assert!(!route_missing(&e(
            404,
            r#"{"message":"Project \"P\" does not exist in account \"ws-1\""}"#
        )));
        assert!(!route_missing(&e(404, r#"{"error_code":"CONVERSATIONS_NOT_FOUND"}"#)));
        assert!(!route_missing(&e(
            404,
            r#"{"error_code":"CONVERSATIONS_RECORDING_NOT_FOUND"}"#
        )));
        assert!(!route_missing(&e(401, "")));
    }

    #[test]
    fn correlation_ids_are_fresh_uuid_v4s() {
        let ids: std::collections::HashSet<String> = (0..1000).map(|_| new_correlation_id()).collect();
        assert_eq!(ids.len(), 1000);
        assert!(ids.iter().all(|id| id.len() == 36 && id.as_bytes()[14] == b'4'));
    }

    #[test]
    fn a_redirect_target_is_shown_without_secrets_or_escapes() {
        let base = Url::parse("https://api.us-1.platform.polyai.app/v3/ws/p/conversations?limit=5").unwrap();
        let loc = HeaderValue::from_bytes(b"https://user:pw@evil.example:8443/steal?token=abc#frag").unwrap();
        assert_eq!(redirect_target(&base, Some(&loc)), "https://evil.example:8443/steal");
        let relative = HeaderValue::from_static("/v4/other");
        assert_eq!(
            redirect_target(&base, Some(&relative)),
            "https://api.us-1.platform.polyai.app/v4/other"
        );
        let hostile = HeaderValue::from_bytes(b"\xc2\x9b2J\xc2\x9d0;title\xc2\x9c\t://[not a url").unwrap();
        let shown = redirect_target(&base, Some(&hostile));
        assert!(!shown.chars().any(|c| c.is_control()), "{shown:?}");
        assert!(redirect_target(&base, None).contains("no Location"));
    }

    #[test]
    fn sizes_and_durations_read_well() {
        assert_eq!(size_text(64 * 1024 * 1024), "64 MB");
        assert_eq!(size_text(4096), "4096 bytes");
        assert_eq!(secs_text(Duration::from_millis(2500)), "2.5 s");
        assert_eq!(secs_text(Duration::from_secs(30)), "30 s");
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
