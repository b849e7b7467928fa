//! `--since/--start/--end/--env`: the one window flag group, flattened into `export`,
//! `queue create` and `stats`. A command words `--since` for its own default with
//! `#[command(mut_args(since_help(…)))]`; the parsing and the checks are the same everywhere.

use chrono::{DateTime, TimeDelta, Utc};

use crate::config::CLIENT_ENVS;
use crate::domain::timerange::Window;

#[derive(Debug, Clone, Default, clap::Args)]
pub struct WindowArgs {
    /// How far back from --end (or now): e.g. 30m, 24h, 7d, at most 36600d (ignored when
    /// --start is given).
    #[arg(long, value_parser = crate::domain::duration::parse_span)]
    pub since: Option<TimeDelta>,
    /// Window start: RFC 3339 (2026-11-27T09:00Z, seconds optional), a date (local midnight),
    /// today or yesterday; the same as the TUI's custom window (`w`).
    #[arg(long, value_parser = parse_instant)]
    pub start: Option<DateTime<Utc>>,
    /// Window end, written as --start (excluded); default now.
    #[arg(long, value_parser = parse_instant)]
    pub end: Option<DateTime<Utc>>,
    /// client_env: live, sandbox or pre-release [default: the config's, else live].
    #[arg(long = "env", value_parser = CLIENT_ENVS)]
    pub client_env: Option<String>,
}

impl WindowArgs {
    /// The time part, as the library takes it.
    pub fn window(&self) -> Window {
        Window {
            since: self.since,
            start: self.start,
            end: self.end,
        }
    }

    /// The window's ends now, `default_since` back when neither --start nor --since is given.
    pub fn resolve(&self, default_since: TimeDelta) -> anyhow::Result<(DateTime<Utc>, DateTime<Utc>)> {
        self.window()
            .resolve(Utc::now(), default_since)
            .map_err(anyhow::Error::msg)
    }

    /// `--env`, else the config's client_env.
    pub fn env_or(&self, configured: &str) -> String {
        self.client_env.clone().unwrap_or_else(|| configured.to_string())
    }
}

/// For `#[command(mut_args(…))]`: `--since` with one command's help (and default), the other
/// flags untouched. (`mut_arg` would move the flag to the end of the completion scripts.)
pub fn since_help(help: &'static str, default: Option<&'static str>) -> impl FnMut(clap::Arg) -> clap::Arg {
    move |a| match (a.get_id() == "since", default) {
        (false, _) => a,
        (true, None) => a.help(help),
        (true, Some(d)) => a.help(help).default_value(d),
    }
}

/// `--start`/`--end`: what the TUI's custom window takes for a range's ends
/// ([`crate::domain::timerange`]), now and in the local offset.
pub fn parse_instant(s: &str) -> Result<DateTime<Utc>, String> {
    use chrono::Offset;
    crate::domain::timerange::parse_time(s, Utc::now(), chrono::Local::now().offset().fix())
}
