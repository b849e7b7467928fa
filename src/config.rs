//! Configuration: the quickstart's env vars, an optional TOML file, and flags that override both.
//!
//! Precedence, lowest first: built-in defaults (US region) → config file → environment →
//! command-line flags. The API key is only read from the environment or a key file, never
//! from a plain flag (process arguments are visible to every user of the machine).

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

/// The API key. Never printed: `Debug`/`Display` show a redacted marker.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }
    /// The raw key, for the `x-api-key` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// Reads a key file: the first non-empty line, trimmed.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the API key file {}", path.display()))?;
        match text.lines().map(str::trim).find(|l| !l.is_empty()) {
            Some(k) => Ok(Self(k.to_string())),
            None => bail!("the API key file {} is empty", path.display()),
        }
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A PolyAI region: each one names a host in both families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Region {
    Us,
    Uk,
    #[value(alias = "eu")]
    #[serde(alias = "eu")]
    Euw,
}

impl Region {
    /// Runtime/data family: conversations.
    pub fn runtime_url(self) -> &'static str {
        match self {
            Region::Us => "https://api.us-1.platform.polyai.app",
            Region::Uk => "https://api.uk-1.platform.polyai.app",
            Region::Euw => "https://api.euw-1.platform.polyai.app",
        }
    }
    /// Build/monitoring family: webhooks, agents.
    pub fn platform_url(self) -> &'static str {
        match self {
            Region::Us => "https://api.us.poly.ai",
            Region::Uk => "https://api.uk.poly.ai",
            Region::Euw => "https://api.eu.poly.ai",
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Region::Us => "us",
            Region::Uk => "uk",
            Region::Euw => "euw",
        }
    }
    /// The region a known PolyAI host belongs to (either family), if any.
    pub fn of_url(url: &str) -> Option<Region> {
        [Region::Us, Region::Uk, Region::Euw]
            .into_iter()
            .find(|r| url.starts_with(r.runtime_url()) || url.starts_with(r.platform_url()))
    }
}

/// `client_env` values the API knows.
pub const CLIENT_ENVS: [&str; 3] = ["live", "sandbox", "pre-release"];

/// The config file (`config.toml` in the platform's config dir). Every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FileConfig {
    pub region: Option<Region>,
    pub base_url: Option<String>,
    pub platform_url: Option<String>,
    pub account_id: Option<String>,
    pub project_id: Option<String>,
    pub client_env: Option<String>,
    /// Path of a file holding the API key (the key itself never goes in this file).
    pub api_key_file: Option<PathBuf>,
    /// Largest JSON answer (one list page) read from the API, in bytes [default: 64 MB].
    pub max_page_bytes: Option<u64>,
    /// Ask for PII-redacted recordings (`redacted=true`); unset sends nothing and gets the API's
    /// default (not redacted, unless the key lacks PII access). The TUI toggles it with `P`.
    pub redacted_audio: Option<bool>,
    /// Key bindings: action name → key(s). Interpreted by the TUI.
    pub keys: toml::Table,
    /// Colours: interpreted by the TUI.
    pub theme: toml::Table,
    /// Saved views: name → filter settings. Interpreted by the TUI.
    pub views: toml::Table,
    /// How the TUI's review keys behave.
    pub review: ReviewConfig,
    /// Who you are in a review team (claims, scores) [default: user@host].
    pub reviewer: Option<String>,
    /// The shared team store on PostgreSQL; without `database` everything stays local.
    pub team: TeamSection,
    /// Scorecards: name → form (see `assets/scorecards/`). Interpreted by the team module's scorecards.
    pub scorecards: toml::Table,
}

/// `[review]`: the reviewer's flow in the TUI.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReviewConfig {
    /// After `R` marks a call reviewed, select the next unreviewed one [default: false].
    pub advance_after_mark: Option<bool>,
}

/// `[team]` in the config file. Without `database` there is no team store.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TeamSection {
    /// `postgres://user@host:port/db?sslmode=…` (no password in it; sslmode and sslrootcert as libpq, see `team::tls`).
    pub database: Option<String>,
    /// A file whose first line is the database password (instead of PGPASSWORD or ~/.pgpass).
    pub password_file: Option<std::path::PathBuf>,
    /// How long a claimed queue item stays yours without renewal [default: 15m].
    pub lease: Option<String>,
}

/// The documented example config (commented, every key): what `callscope config init` writes.
pub const EXAMPLE: &str = include_str!("../assets/config.example.toml");

impl FileConfig {
    /// The file `--config PATH` names (an error if it cannot be read), else the default path's
    /// file if there is one, else no file.
    pub fn load_at(explicit: Option<&Path>) -> Result<Self> {
        match (explicit, default_config_path()) {
            (Some(p), _) => Self::load(p),
            (None, Some(p)) if p.exists() => Self::load(&p),
            _ => Ok(FileConfig::default()),
        }
    }

    pub fn load(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("cannot read the config file {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("invalid config file {}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Self> {
        let cfg: FileConfig = toml::from_str(text)?;
        if let Some(env) = &cfg.client_env {
            check_client_env(env)?;
        }
        if cfg.max_page_bytes == Some(0) {
            bail!("max_page_bytes must be more than 0 (default 67108864, 64 MB)");
        }
        Ok(cfg)
    }
}

/// `A`, `A and B`, `A, B and C`.
pub fn and_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

pub fn check_client_env(env: &str) -> Result<()> {
    if CLIENT_ENVS.contains(&env) {
        Ok(())
    } else {
        bail!("client_env must be one of live, sandbox, pre-release (got {env:?})")
    }
}

/// Where the config file lives by default (`~/.config/callscope/config.toml` on Linux).
pub fn default_config_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "callscope").map(|d| d.config_dir().join("config.toml"))
}

/// Where logs and local data go by default (`~/.local/share/callscope` on Linux).
pub fn default_data_dir() -> PathBuf {
    directories::ProjectDirs::from("", "", "callscope")
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| std::env::temp_dir().join("callscope"))
}

/// Connection flags shared by every command that talks to the API.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ConnectionArgs {
    /// Region: sets both host families (us → api.us-1.platform.polyai.app + api.us.poly.ai).
    #[arg(long, value_enum)]
    pub region: Option<Region>,
    /// Runtime/data API base URL [env: POLYAI_BASE_URL].
    #[arg(long)]
    pub base_url: Option<String>,
    /// Platform (webhooks) API base URL [env: POLYAI_PLATFORM_URL].
    #[arg(long)]
    pub platform_url: Option<String>,
    /// Account (workspace) id [env: POLYAI_ACCOUNT_ID].
    #[arg(long)]
    pub account_id: Option<String>,
    /// Project id [env: POLYAI_PROJECT_ID].
    #[arg(long)]
    pub project_id: Option<String>,
    /// Read the API key from this file instead of POLYAI_API_KEY.
    #[arg(long, value_name = "PATH")]
    pub api_key_file: Option<PathBuf>,
    /// Config file [default: ~/.config/callscope/config.toml].
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
}

/// Everything needed to reach the API.
#[derive(Debug, Clone)]
pub struct Config {
    pub api_key: Option<ApiKey>,
    pub base_url: String,
    pub platform_url: String,
    pub account_id: String,
    pub project_id: String,
    pub region: Option<Region>,
    pub client_env: String,
    /// Largest JSON answer read from the API (`CALLSCOPE_MAX_PAGE_BYTES`, `max_page_bytes`).
    pub max_page_bytes: u64,
    pub file: std::sync::Arc<FileConfig>,
}

/// A page bigger than this is refused unread: memory stays bounded whatever a server sends.
pub const DEFAULT_MAX_PAGE_BYTES: u64 = 64 * 1024 * 1024;

/// The environment, as a lookup function so tests need not touch the process's variables.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Config {
    /// Resolves the configuration from flags, the environment and the config file.
    pub fn resolve(args: &ConnectionArgs, env: EnvLookup) -> Result<Self> {
        Self::resolve_with_file(args, env, FileConfig::load_at(args.config.as_deref())?)
    }

    pub fn resolve_with_file(args: &ConnectionArgs, env: EnvLookup, file: FileConfig) -> Result<Self> {
        let region = args.region.or(file.region);
        // A --region flag beats host URLs from the environment: it is the more specific ask.
        let pick = |flag: &Option<String>, var: &str, from_file: &Option<String>, regional: Option<&str>| {
            flag.clone()
                .or_else(|| {
                    if args.region.is_some() {
                        regional.map(str::to_string)
                    } else {
                        None
                    }
                })
                .or_else(|| env(var))
                .or_else(|| from_file.clone())
                .or_else(|| regional.map(str::to_string))
        };
        let base_url = pick(
            &args.base_url,
            "POLYAI_BASE_URL",
            &file.base_url,
            region.map(Region::runtime_url),
        )
        .unwrap_or_else(|| Region::Us.runtime_url().to_string());
        let platform_url = pick(
            &args.platform_url,
            "POLYAI_PLATFORM_URL",
            &file.platform_url,
            region.map(Region::platform_url),
        )
        .unwrap_or_else(|| Region::Us.platform_url().to_string());
        let account_id = args
            .account_id
            .clone()
            .or_else(|| env("POLYAI_ACCOUNT_ID"))
            .or(file.account_id.clone());
        let project_id = args
            .project_id
            .clone()
            .or_else(|| env("POLYAI_PROJECT_ID"))
            .or(file.project_id.clone());
        let api_key = match (&args.api_key_file, env("POLYAI_API_KEY"), &file.api_key_file) {
            (Some(path), _, _) => Some(ApiKey::from_file(path)?),
            (None, Some(k), _) => Some(ApiKey::new(k.trim())),
            (None, None, Some(path)) => Some(ApiKey::from_file(path)?),
            _ => None,
        };
        let client_env = file.client_env.clone().unwrap_or_else(|| "live".into());
        let max_page_bytes = match env("CALLSCOPE_MAX_PAGE_BYTES") {
            Some(v) => v.trim().parse::<u64>().ok().filter(|n| *n > 0).with_context(|| {
                format!("CALLSCOPE_MAX_PAGE_BYTES must be a number of bytes, e.g. 134217728 (got {v:?})")
            })?,
            None => file.max_page_bytes.unwrap_or(DEFAULT_MAX_PAGE_BYTES),
        };
        Ok(Config {
            api_key,
            base_url: base_url.trim_end_matches('/').to_string(),
            platform_url: platform_url.trim_end_matches('/').to_string(),
            account_id: account_id.unwrap_or_default(),
            project_id: project_id.unwrap_or_default(),
            region: region.or_else(|| Region::of_url(&base_url)),
            client_env,
            max_page_bytes,
            file: std::sync::Arc::new(file),
        })
    }

    /// Fails with the fix when something the API needs is missing.
    pub fn require_complete(&self) -> Result<()> {
        let mut missing = Vec::new();
        if self.api_key.is_none() {
            missing.push("POLYAI_API_KEY (or --api-key-file)");
        }
        if self.account_id.is_empty() {
            missing.push("POLYAI_ACCOUNT_ID (or --account-id)");
        }
        if self.project_id.is_empty() {
            missing.push("POLYAI_PROJECT_ID (or --project-id)");
        }
        if missing.is_empty() {
            Ok(())
        } else {
            bail!(
                "missing configuration: {}.\n  Set {} as in the PolyAI API quickstart, e.g.\n    export POLYAI_API_KEY=…  POLYAI_ACCOUNT_ID=ws-…  POLYAI_PROJECT_ID=PROJECT-…\n  or try the embedded demo: callscope demo",
                missing.join(", "),
                if missing.len() == 1 { "it" } else { "them" }
            )
        }
    }

    /// A short label for headers: `us`, `uk`, `euw`, or the host for custom URLs.
    pub fn region_label(&self) -> String {
        match self.region {
            Some(r) => r.name().to_string(),
            None => self.base_url.split("://").nth(1).unwrap_or(&self.base_url).to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
    }

    #[test]
    fn key_is_redacted_everywhere() {
        let cfg = Config::resolve_with_file(
            &ConnectionArgs::default(),
            &env_of(&[("POLYAI_API_KEY", "sk-very-secret")]),
            FileConfig::default(),
        )
        .unwrap();
        let shown = format!("{cfg:?} {}", cfg.api_key.as_ref().unwrap());
        assert!(!shown.contains("sk-very-secret"), "{shown}");
        assert_eq!(cfg.api_key.unwrap().expose(), "sk-very-secret");
    }

    #[test]
    fn region_flag_sets_both_families_and_beats_env() {
        let args = ConnectionArgs {
            region: Some(Region::Uk),
            ..Default::default()
        };
        let cfg = Config::resolve_with_file(
            &args,
            &env_of(&[("POLYAI_BASE_URL", "https://api.us-1.platform.polyai.app")]),
            FileConfig::default(),
        )
        .unwrap();
        assert_eq!(cfg.base_url, "https://api.uk-1.platform.polyai.app");
        assert_eq!(cfg.platform_url, "https://api.uk.poly.ai");
        assert_eq!(cfg.region_label(), "uk");
    }

    #[test]
    fn env_beats_file_and_flags_beat_env() {
        let file = FileConfig::parse("account_id = \"from-file\"\nproject_id = \"p-file\"\nregion = \"eu\"").unwrap();
        let args = ConnectionArgs {
            project_id: Some("p-flag".into()),
            ..Default::default()
        };
        let cfg = Config::resolve_with_file(&args, &env_of(&[("POLYAI_ACCOUNT_ID", "ws-env")]), file).unwrap();
        assert_eq!(cfg.account_id, "ws-env");
        assert_eq!(cfg.project_id, "p-flag");
        assert_eq!(cfg.base_url, "https://api.euw-1.platform.polyai.app");
        assert!(
            cfg.require_complete()
                .unwrap_err()
                .to_string()
                .contains("POLYAI_API_KEY")
        );
    }

    #[test]
    fn key_file_is_read_and_empty_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, "\n  k-123  \n").unwrap();
        assert_eq!(ApiKey::from_file(&path).unwrap().expose(), "k-123");
        std::fs::write(&path, "\n").unwrap();
        assert!(ApiKey::from_file(&path).unwrap_err().to_string().contains("empty"));
    }

    #[test]
    fn config_file_typos_and_bad_env_are_refused() {
        assert!(FileConfig::parse("acount_id = \"x\"").is_err());
        assert!(
            FileConfig::parse("client_env = \"prod\"")
                .unwrap_err()
                .to_string()
                .contains("live")
        );
        assert!(FileConfig::parse("[keys]\nquit = \"q\"\n[theme]\nmode = \"light\"").is_ok());
    }
}
