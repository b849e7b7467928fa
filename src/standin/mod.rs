//! The embedded stand-in PolyAI API (axum on loopback) and its deterministic data generator.
//!
//! Two listeners, as the real API has two host families: the runtime one serves
//! `/v3/{account}/{project}/conversations[/{id}[/audio]]`, the platform one
//! `/v1/agents/{project}/conversations/{id}[/audio]` (camelCase) plus merged routes (webhooks).
//! The contract is design.md §3. Choices where the reference docs leave room:
//!
//! - `limit` defaults to 100 (1–1000 accepted); `start_time` is inclusive, `end_time` exclusive;
//!   order is ascending by `(started_at, id)`; the cursor is a keyset position, so inserts never
//!   shift a walk; `cursor` wins over `offset`; `next_offset` accompanies offset paging.
//! - `query_type` (transcript = case-insensitive substring, semantic = any word) and
//!   `sample=random` need both `start_time` and `end_time`, as the reference says.
//! - List items carry `latency` only with `include_latency=true`; by-id answers always do.
//! - Keys: `Standin::api_key` for `PROJECT-demo`, `other_api_key` for the empty `PROJECT-other`
//!   (403 on the demo project). Rate limit: token bucket per key, burst = rate, 429 with
//!   integer `Retry-After`.
//! - Recordings: PCM16 mono 8 kHz, exactly `total_duration` seconds, byte ranges honoured.
//! - `sample=random` is uniform over the filtered range; `seed=N` (our extension, not in the
//!   reference) makes it reproducible, else it follows the stand-in seed and the range.
//! - The platform list `/v1/agents/{project}/conversations` (polyai-api.md §8: `limit` default
//!   50, `offset`, `{conversations, count, limit, offset}`, items without turns) is newest first
//!   over every environment; `client_env` narrows it (both our choices).
//! - `StandinOptions::shape` / `--shape` picks the documented or the live shapes (`shape`, `real`).
//!
//! Submodules: `data` (the live set, `DatasetHandle`), `generate` + `scenarios` (expanding a
//! compact plan into a call), `query` + `cursor` (the list endpoint), `auth` (keys, scoping,
//! rate limit), `routes` + `agents` (HTTP), `shape` + `real` (the live API's shapes), `wav`
//! (recordings), `errors` (envelope).

pub mod agents;
pub mod auth;
pub mod cursor;
pub mod data;
pub mod errors;
pub mod generate;
pub mod live;
pub mod query;
pub mod real;
pub mod rng;
pub mod routes;
pub mod scenarios;
pub mod shape;
pub mod state;
pub mod studio;
pub mod wav;
pub mod webhooks;

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use anyhow::{Context, Result};
use axum::Router;
use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use auth::Caller;
pub use data::DatasetHandle;
pub use shape::Shape;
pub use state::{SharedState, StandinState};

use crate::api::model::Conversation;
use crate::webhook::SignatureScheme;
use webhooks::{Deliverer, DeliveryConfig, LiveCalls, Registry, WebhookRoutes, WebhookState};

/// Options of an in-process stand-in.
#[derive(Debug, Clone)]
pub struct StandinOptions {
    pub runtime_addr: SocketAddr,
    pub platform_addr: SocketAddr,
    pub seed: u64,
    pub conversations: usize,
    /// Requests per second per key; 0 = unlimited.
    pub rate_limit: u32,
    /// The data set's clock; `None` = the current time. Generated calls are relative to it.
    pub now: Option<DateTime<Utc>>,
    /// Start a new call this often, completing calls as their end arrives (`None` = static data).
    pub new_call_every: Option<std::time::Duration>,
    /// How deliveries are signed: the reference's `"{timestamp}.{body}"` (default) or the
    /// quickstart's raw body.
    pub signature_scheme: SignatureScheme,
    /// Response shapes (default `v3`, the documented ones, which the tests are written against).
    pub shape: Shape,
    /// Scales the documented retry schedule (1 min, 5 min, 15 min, 1 h, 4 h); 1 = as documented.
    pub retry_scale: f64,
    /// Which Webhooks API route families the platform listener serves.
    pub webhook_routes: WebhookRoutes,
}

impl Default for StandinOptions {
    fn default() -> Self {
        StandinOptions {
            runtime_addr: ([127, 0, 0, 1], 0).into(),
            platform_addr: ([127, 0, 0, 1], 0).into(),
            seed: 7,
            conversations: 3000,
            rate_limit: 0,
            now: None,
            new_call_every: None,
            shape: Shape::V3,
            signature_scheme: SignatureScheme::default(),
            retry_scale: 1.0,
            webhook_routes: WebhookRoutes::default(),
        }
    }
}

/// The demo workspace and projects.
pub const ACCOUNT_ID: &str = "ws-demo";
pub const PROJECT_ID: &str = "PROJECT-demo";
/// A second project in the same account: its key is valid but gets 403 on `PROJECT_ID`.
pub const OTHER_PROJECT_ID: &str = "PROJECT-other";

/// A running stand-in: its URLs and credentials. Dropping it stops the servers.
pub struct Standin {
    pub runtime_url: String,
    pub platform_url: String,
    /// Demo credential for `PROJECT_ID` (not a user secret, but still never logged per request).
    pub api_key: String,
    pub account_id: String,
    pub project_id: String,
    /// A valid key of another project (`other_project_id`): 403 on this project's paths.
    pub other_api_key: String,
    pub other_project_id: String,
    /// Webhook endpoints registered on the platform listener.
    pub webhooks: Registry,
    /// Sends signed events to `webhooks` (live calls use it; tests may too).
    pub deliverer: Deliverer,
    state: SharedState,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    _live: Option<LiveCalls>,
}

impl std::fmt::Debug for Standin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Standin")
            .field("runtime_url", &self.runtime_url)
            .field("platform_url", &self.platform_url)
            .field("account_id", &self.account_id)
            .field("project_id", &self.project_id)
            .field("conversations", &self.dataset().len())
            .finish_non_exhaustive()
    }
}

impl Standin {
    /// The live data set of the demo project (cloneable; insert into it while serving).
    pub fn dataset(&self) -> DatasetHandle {
        self.state.projects[0].data.clone()
    }

    /// Adds (or replaces, by id) a conversation in the demo project; returns its id.
    pub fn insert(&self, conversation: Conversation) -> String {
        self.dataset().insert(conversation)
    }

    /// The notes and annotations the platform host accepted, oldest first.
    pub fn received_marks(&self) -> Vec<studio::ReceivedMark> {
        self.state.studio.all()
    }

    /// The state the handlers share (to build extra routes against).
    pub fn state(&self) -> SharedState {
        self.state.clone()
    }

    /// Stops both listeners and waits for in-flight requests to finish (up to 2 s).
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        let tasks = std::mem::take(&mut self.tasks);
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), async {
            for t in tasks {
                let _ = t.await;
            }
        })
        .await;
    }
}

impl Drop for Standin {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// The demo project's key for a seed: stable across runs so pasted exports keep working.
fn demo_key(seed: u64, salt: u64) -> String {
    format!(
        "sk-standin-{:016x}{:08x}",
        rng::mix(seed ^ salt),
        rng::mix(rng::mix(seed ^ salt)) >> 32
    )
}

/// Echoes untrusted input inside an error message: printable ASCII only, at most 80 chars.
pub(crate) fn sanitize_echo(s: &str) -> String {
    let clean: String = s
        .chars()
        .take(80)
        .map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '?' })
        .collect();
    format!("{clean:?}")
}

/// Starts the stand-in on the current tokio runtime.
pub async fn start(opts: StandinOptions) -> Result<Standin> {
    start_with_platform_routes(opts, |_| Router::new()).await
}

/// Like `start`, with extra routes merged into the platform listener (they get the same key
/// check, rate limit and correlation header; `Caller` is in the request's extensions). The
/// Webhooks API route families `opts.webhook_routes` names (`/v1/webhook-endpoints…`,
/// `/v1/webhooks/endpoints…`) are always mounted there.
pub async fn start_with_platform_routes(
    opts: StandinOptions,
    extra: impl FnOnce(&SharedState) -> Router<SharedState>,
) -> Result<Standin> {
    // Checked before anything is generated or bound.
    let delivery = DeliveryConfig::scaled(opts.retry_scale)
        .context("--retry-scale")?
        .with_scheme(opts.signature_scheme);
    let now = opts.now.unwrap_or_else(Utc::now);
    let scope = |project: &str| data::Scope {
        account_id: ACCOUNT_ID.into(),
        project_id: project.into(),
        now,
        seed: opts.seed,
    };
    let main = DatasetHandle::new(
        data::Dataset::generate(opts.seed, opts.conversations, now),
        scope(PROJECT_ID),
    );
    let other = DatasetHandle::new(data::Dataset::default(), scope(OTHER_PROJECT_ID));
    let state: SharedState = Arc::new(StandinState {
        projects: vec![
            auth::Project {
                account_id: ACCOUNT_ID.into(),
                project_id: PROJECT_ID.into(),
                api_key: demo_key(opts.seed, 0xD3E0),
                data: main,
            },
            auth::Project {
                account_id: ACCOUNT_ID.into(),
                project_id: OTHER_PROJECT_ID.into(),
                api_key: demo_key(opts.seed, 0x07E5),
                data: other,
            },
        ],
        limiter: auth::RateLimiter::new(opts.rate_limit),
        platform_url: OnceLock::new(),
        shape: opts.shape,
        studio: Default::default(),
    });

    let bind = |addr: SocketAddr, what: &'static str| async move {
        tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr} ({what} listener); is the port in use? Try port 0"))
    };
    let runtime_listener = bind(opts.runtime_addr, "runtime").await?;
    let platform_listener = bind(opts.platform_addr, "platform").await?;
    let url = |l: &tokio::net::TcpListener| -> Result<String> { Ok(format!("http://{}", l.local_addr()?)) };
    let runtime_url = url(&runtime_listener)?;
    let platform_url = url(&platform_listener)?;
    let _ = state.platform_url.set(platform_url.clone());

    let (stop, stopped) = watch::channel(false);
    let serve = |listener: tokio::net::TcpListener, router: Router| {
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.wait_for(|s| *s).await;
            };
            if let Err(e) = axum::serve(listener, router).with_graceful_shutdown(shutdown).await {
                tracing::warn!("stand-in listener stopped: {e}");
            }
        })
    };
    let webhooks = Registry::new();
    let extra_routes = extra(&state).merge(webhooks::router_for(
        WebhookState::behind_auth(webhooks.clone()),
        opts.webhook_routes,
    ));
    let deliverer = Deliverer::new(webhooks.clone(), delivery)?;
    let live = opts
        .new_call_every
        .filter(|d| !d.is_zero())
        .map(|every| live::spawn(state.projects[0].data.clone(), deliverer.clone(), every));
    let tasks = vec![
        serve(runtime_listener, routes::runtime_router(state.clone())),
        serve(platform_listener, routes::platform_router(state.clone(), extra_routes)),
    ];
    Ok(Standin {
        runtime_url,
        platform_url,
        api_key: state.projects[0].api_key.clone(),
        account_id: ACCOUNT_ID.into(),
        project_id: PROJECT_ID.into(),
        other_api_key: state.projects[1].api_key.clone(),
        other_project_id: OTHER_PROJECT_ID.into(),
        webhooks,
        deliverer,
        state,
        stop,
        tasks,
        _live: live,
    })
}

/// The five `export` lines `serve-demo` prints first, in the quickstart's variable names.
pub fn export_lines(s: &Standin) -> String {
    format!(
        "export POLYAI_BASE_URL={}\nexport POLYAI_PLATFORM_URL={}\nexport POLYAI_API_KEY={}\nexport POLYAI_ACCOUNT_ID={}\nexport POLYAI_PROJECT_ID={}\n",
        s.runtime_url, s.platform_url, s.api_key, s.account_id, s.project_id
    )
}

/// `callscope serve-demo`: a stand-in with `args` until Ctrl-C, printing the `export …` lines
/// to paste and what it receives.
pub async fn serve_demo(args: StandinOptions) -> Result<i32> {
    let started = std::time::Instant::now();
    let standin = start(args.clone()).await?;
    {
        let mut out = std::io::stdout().lock();
        out.write_all(export_lines(&standin).as_bytes())?;
        out.flush()?;
    }
    let data = standin.dataset();
    let since = data.now() - chrono::Duration::hours(24);
    let (mut by_env, mut day, mut voice, mut live_now) = ([0usize; 3], 0usize, 0usize, 0usize);
    data.read(|d| {
        for e in d.entries() {
            if let Some(i) = ["live", "sandbox", "pre-release"]
                .iter()
                .position(|x| **x == *e.environment)
            {
                by_env[i] += 1;
            }
            day += usize::from(e.started_ms >= since.timestamp_millis());
            voice += usize::from(e.is_voice());
            live_now += usize::from(e.in_progress);
        }
    });
    crate::errln!(
        "callscope stand-in ready in {:.0?}: {} conversations (live {}, sandbox {}, pre-release {}; {} in the last 24 h; {} voice; {} in progress), seed {}, shape {}{}.",
        started.elapsed(),
        data.len(),
        by_env[0],
        by_env[1],
        by_env[2],
        day,
        voice,
        live_now,
        args.seed,
        args.shape.as_str(),
        if args.rate_limit > 0 {
            format!(", rate limit {}/s per key", args.rate_limit)
        } else {
            String::new()
        }
    );
    crate::errln!(
        "Paste the export lines above into another shell. A key of another project (403 on this one): {} ({}).",
        standin.other_api_key,
        standin.other_project_id
    );
    if let Some(every) = args.new_call_every {
        crate::errln!(
            "Live traffic: a new call every {}s; `callscope webhooks register --url URL --event conversation.completed` (POST {}/v1/webhooks/endpoints) receives completions, the default alerts.* events (POST /v1/webhook-endpoints) the alerts ({} signatures).",
            every.as_secs_f64(),
            standin.platform_url,
            match args.signature_scheme {
                SignatureScheme::Body => "body",
                SignatureScheme::Timestamped => "timestamped",
            }
        );
    }
    match args.shape {
        Shape::V3 => {}
        Shape::Platform => crate::errln!(
            "Shape platform: /v1/agents/… serves the live objects; the v3 by-id and audio routes answer 404 (route missing)."
        ),
        Shape::Mixed => crate::errln!(
            "Shape mixed: /v1/agents/… serves the live objects; the v3 by-id and audio routes answer 404 (route missing) for {:.0}% of conversations.",
            shape::MIXED_V3_MISSING_SHARE * 100.0
        ),
    }
    crate::errln!("Press Ctrl-C to stop.");
    // What `callscope marks push` sends shows up here, one sanitized line per request.
    let mut received = standin.state.studio.subscribe();
    tokio::spawn(async move {
        loop {
            match received.recv().await {
                Ok(item) => crate::errln!("{}", item.line()),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    crate::errln!("({n} received notes/annotations not shown)")
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
    tokio::signal::ctrl_c().await.context("cannot wait for Ctrl-C")?;
    crate::errln!("Stopping.");
    standin.shutdown().await;
    Ok(0)
}
