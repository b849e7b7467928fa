//! Terminal setup, the event loop, `callscope browse` and `callscope demo`.

pub mod clipboard;
pub mod effects;
pub mod event_loop;
pub mod terminal;

use anyhow::{Context, Result};
use chrono::Offset;

use crate::api::Client;
use crate::app::{Identity, KeyMap, State};
use crate::config::{self, ApiKey, Config, ConnectionArgs, FileConfig};
use crate::standin::{self, StandinOptions};
use crate::ui::Theme;

#[derive(Debug, Clone, Default, clap::Args)]
pub struct BrowseArgs {
    #[command(flatten)]
    pub conn: ConnectionArgs,
}

#[derive(Debug, Clone, Default, clap::Args)]
pub struct DemoArgs {
    /// Seed of the generated data set.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

/// `callscope` / `callscope browse`: the TUI against the configured API.
pub async fn browse(args: BrowseArgs) -> Result<i32> {
    // Every configuration problem is reported before the terminal is touched.
    let cfg = Config::resolve(&args.conn, &config::process_env)?;
    cfg.require_complete()?;
    open(cfg, None).await
}

/// `callscope demo`: the TUI against an in-process stand-in on free loopback ports.
pub async fn demo(args: DemoArgs) -> Result<i32> {
    let file = match config::default_config_path() {
        Some(p) if p.exists() => FileConfig::load(&p)?,
        _ => FileConfig::default(),
    };
    let server = standin::start(StandinOptions {
        seed: args.seed,
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
    let code = open(cfg, Some("demo stand-in")).await;
    drop(server);
    code
}

/// `place` replaces the region label in the header (the demo's loopback URL says little).
async fn open(cfg: Config, place: Option<&str>) -> Result<i32> {
    let keymap = KeyMap::from_config(&cfg.file.keys).context("invalid [keys] in the config file")?;
    let theme = Theme::from_config(&cfg.file.theme).context("invalid [theme] in the config file")?;
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
    // alsa-lib can write to stderr from the audio thread at any time: while the TUI owns
    // the screen, fd 2 goes to the log file.
    terminal::stderr_to(&log);
    event_loop::run(state, theme, client).await?;
    tracing::info!(log = %log.display(), "callscope TUI done");
    Ok(0)
}
