//! Terminal setup, the event loop, `callscope browse` and `callscope demo`.

pub mod clipboard;
pub mod effects;
pub mod event_loop;
pub mod keys;
pub mod live;
pub mod store_worker;
pub mod team;
pub mod team_worker;
pub mod terminal;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::Offset;

use crate::api::Client;
use crate::app::{Identity, State};
use crate::config::{self, ApiKey, Config, ConnectionArgs};
use crate::standin::{self, StandinOptions};

/// What `callscope browse` opens.
#[derive(Debug, Clone, Default)]
pub struct BrowseOptions {
    pub conn: ConnectionArgs,
    /// Receive webhooks here: completed calls appear at the top as they happen.
    pub listen: Option<SocketAddr>,
    /// The webhook signing secret(s), one per line (with `listen`; else POLYAI_WEBHOOK_SECRET).
    pub webhook_secret_file: Option<PathBuf>,
    /// Without webhooks: look for new calls this often.
    pub poll: Option<Duration>,
    /// The local store [default: `crate::store::default_path`].
    pub store: Option<PathBuf>,
}

/// What `callscope demo` opens.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Seed of the generated data set.
    pub seed: u64,
    /// Simulated live traffic: a new call this often (`None` = static data).
    pub new_call_every: Option<Duration>,
    /// The demo's own store [default: <data dir>/demo.db].
    pub store: Option<PathBuf>,
    pub shape: standin::Shape,
    /// Config file for keys, theme and views (its connection settings are not used).
    pub config: Option<PathBuf>,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            seed: 7,
            new_call_every: Some(Duration::from_secs(5)),
            store: None,
            shape: standin::Shape::Mixed,
            config: None,
        }
    }
}

/// `callscope` / `callscope browse`: the TUI against the configured API.
pub async fn browse(args: BrowseOptions) -> Result<i32> {
    // Every configuration problem is reported before the terminal is touched.
    let cfg = Config::resolve(&args.conn, &config::process_env)?;
    cfg.require_complete()?;
    let live = match args.listen {
        Some(addr) => {
            if args.webhook_secret_file.is_none() && config::process_env("POLYAI_WEBHOOK_SECRET").is_none() {
                anyhow::bail!(
                    "--listen needs the webhook signing secret: set POLYAI_WEBHOOK_SECRET or pass --webhook-secret-file PATH\n  (`callscope webhooks register --url URL --save-secret PATH` writes it; it is not the API key)"
                );
            }
            let secrets =
                crate::webhook::commands::load_secrets(&config::process_env, args.webhook_secret_file.as_deref())
                    .context("--listen needs the webhook signing secret")?;
            Some(live::LiveSetup {
                addr,
                secrets,
                register: false,
            })
        }
        None => None,
    };
    let store = args.store.unwrap_or_else(crate::store::default_path);
    open(cfg, None, live, args.poll, &store).await
}

/// `callscope demo`: the TUI against an in-process stand-in on free loopback ports.
pub async fn demo(args: DemoOptions) -> Result<i32> {
    let file = crate::settings::load_file(args.config.as_deref())?;
    let server = standin::start(StandinOptions {
        seed: args.seed,
        new_call_every: args.new_call_every,
        shape: args.shape,
        ..StandinOptions::default()
    })
    .await
    .context("cannot start the embedded stand-in API")?;
    let conn = ConnectionArgs {
        base_url: Some(server.runtime_url.clone()),
        platform_url: Some(server.platform_url.clone()),
        account_id: Some(server.account_id.clone()),
        project_id: Some(server.project_id.clone()),
        ..ConnectionArgs::default()
    };
    // The demo ignores POLYAI_* variables: it talks only to its own stand-in.
    let mut cfg = Config::resolve_with_file(&conn, &|_| None, file)?;
    cfg.api_key = Some(ApiKey::new(server.api_key.clone()));
    // The receiver runs (and shows "● live") even without simulated traffic.
    let live = live::LiveSetup {
        addr: ([127, 0, 0, 1], 0).into(),
        secrets: Vec::new(),
        register: true,
    };
    let store = args.store.unwrap_or_else(|| config::default_data_dir().join("demo.db"));
    let code = open(cfg, Some("demo stand-in"), Some(live), None, &store).await;
    drop(server);
    code
}

/// `place` replaces the region label in the header (the demo's loopback URL says little).
async fn open(
    cfg: Config,
    place: Option<&str>,
    live: Option<live::LiveSetup>,
    poll: Option<Duration>,
    store_path: &std::path::Path,
) -> Result<i32> {
    let crate::settings::Settings { keymap, theme, views } = crate::settings::Settings::from_file(&cfg.file)?;
    let client = Client::new(&cfg)?;
    let log = crate::logging::init_file(&config::default_data_dir())?;
    tracing::info!(base = %cfg.base_url, "callscope TUI starting");
    let identity = Identity {
        account: cfg.account_id.clone(),
        project: cfg.project_id.clone(),
        region: place.map_or_else(|| cfg.region_label(), str::to_string),
    };
    let tz = chrono::Local::now().offset().fix();
    let mut state = State::new(keymap, identity, &cfg.client_env, chrono::Utc::now(), tz, (80, 24));
    state.player.recordings_dir = config::default_data_dir().join("recordings");
    state.player.redacted = cfg.file.redacted_audio;
    state.review.advance_after_mark = cfg.file.review.advance_after_mark.unwrap_or(false);
    // alsa-lib can write to stderr from the audio thread at any time: while the TUI owns
    // the screen, fd 2 goes to the log file.
    terminal::stderr_to(&log);
    state.live.poll_every = poll;
    state.views = views;
    state.review.exports_dir = config::default_data_dir().join("exports");
    state.studio = crate::studio::StudioLinks::from_config(&cfg);
    // Settings checked the forms and the reviewer name at start-up.
    state.scorecards.cards = crate::domain::scorecard::all(&cfg.file.scorecards).unwrap_or_default();
    state.scorecards.reviewer =
        crate::team::reviewer(None, &|k| std::env::var(k).ok(), cfg.file.reviewer.as_deref()).unwrap_or_default();
    // Without a store the TUI still works; marks say why they are unavailable.
    // Marks changed in the TUI are recorded as this reviewer's (config `reviewer`, default user@host).
    let reviewer = crate::team::reviewer(None, &config::process_env, cfg.file.reviewer.as_deref())?;
    if let Some((from, to)) = crate::store::Store::pending_upgrade(store_path) {
        // The terminal is not taken yet (stderr already goes to the log): a large cache takes
        // seconds to upgrade, which would otherwise look like a hang.
        crate::outln!(
            "callscope: upgrading the local store from schema v{from} to v{to}, once (a large cache takes a few seconds)…"
        );
    }
    let store = match crate::store::Store::open(store_path) {
        Ok(mut store) => {
            store.set_reviewer(&reviewer);
            state.cache_first = true;
            Some(store)
        }
        Err(e) => {
            tracing::warn!("store unavailable: {e}");
            state.review.unavailable = Some(e.headline());
            state.status.note = Some(format!("{} — {}", e.headline(), e.hint()));
            None
        }
    };
    // `[team] database`: marks and scores are shared on PostgreSQL (`tui::team`), and review
    // queues (`W`, `C`) are worked there; the lease is checked before the terminal is taken.
    let team = match &cfg.file.team.database {
        Some(_) => {
            state.queue.enabled = true;
            state.queue.lease = cfg.file.team.lease()?;
            Some(team_worker::TeamSetup {
                section: cfg.file.team.clone(),
                reviewer: reviewer.clone(),
            })
        }
        None => None,
    };
    let code = event_loop::run(state, theme, client, live, store, team).await?;
    tracing::info!(log = %log.display(), code, "callscope TUI done");
    Ok(code)
}
