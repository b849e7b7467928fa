//! `callscope demo`: its flags, as [`crate::tui::DemoOptions`].

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::standin::Shape;
use crate::tui::DemoOptions;

#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Seed of the generated data set.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Simulated live traffic: a new call starts every SECS seconds and its completion arrives
    /// by webhook at the TUI's own receiver (0 = static data).
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    pub new_call_every: f64,
    /// The demo's own store, so demo marks never mix with real ones [default: <data dir>/demo.db].
    #[arg(long, value_name = "PATH")]
    pub store: Option<PathBuf>,
    /// The stand-in's response shapes (see `serve-demo --shape`): `mixed` shows what live
    /// projects send.
    #[arg(long, value_enum, default_value = "mixed")]
    pub shape: Shape,
    /// Config file for keys, theme and views [default: ~/.config/callscope/config.toml]; its
    /// connection settings are not used (the demo talks only to its own stand-in).
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
}

impl TryFrom<DemoArgs> for DemoOptions {
    type Error = anyhow::Error;

    fn try_from(a: DemoArgs) -> Result<Self> {
        Ok(DemoOptions {
            seed: a.seed,
            new_call_every: new_call_every(a.new_call_every)?,
            store: a.store,
            shape: a.shape,
            config: a.config,
        })
    }
}

pub async fn run(args: DemoArgs) -> Result<i32> {
    crate::tui::demo(args.try_into()?).await
}

/// `--new-call-every SECS` (demo and serve-demo) as a duration; 0 = off.
pub fn new_call_every(secs: f64) -> Result<Option<Duration>> {
    if secs == 0.0 {
        return Ok(None);
    }
    Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|d| *d >= Duration::from_millis(10))
        .map(Some)
        .context("--new-call-every takes seconds ≥ 0.01 (or 0 for no live traffic)")
}
