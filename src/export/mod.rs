//! `callscope export`: the quickstart's post-call pipeline as one command.
//!
//! Walks every page of a time window with the cursor, in time shards walked concurrently
//! ([`shard`]), and writes the pages in time order (JSONL is passed through byte for byte, so
//! fields this version does not know survive; a call the local store has scores for gets a
//! `scores` member appended, see [`scores::StoreScores`]); a file export can be resumed.
//! `--with-audio DIR` also saves the recordings of voice calls, several at a time.

pub mod csv_rows;
pub mod format;
pub mod markdown;
pub mod progress;
pub mod reviewed;
pub mod scores;
pub mod shard;

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use chrono::{Duration as ChronoDuration, Utc};

use crate::api::{Client, ReadReport};
use crate::config::{Config, ConnectionArgs, process_env};
use crate::domain::timerange::Window;
pub use format::Format;

/// What an export does: `callscope export`'s flags as plain data; `Default` is the command's
/// defaults.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    pub conn: ConnectionArgs,
    /// The window (default: the last 24 h; with `reviewed`/`flagged`/`filter`: no limit).
    pub window: Window,
    /// client_env [default: the config's].
    pub client_env: Option<String>,
    /// Only these channels (see [`parse_channel`]); empty = all.
    pub channel: Vec<String>,
    pub format: Format,
    /// A file (atomically, on success) instead of stdout.
    pub out: Option<PathBuf>,
    /// Also save the recordings of voice calls here.
    pub with_audio: Option<PathBuf>,
    /// Recordings downloaded at once.
    pub audio_concurrency: u32,
    /// From the local store: the conversations marked reviewed / flagged / matching a filter.
    pub reviewed: bool,
    pub flagged: bool,
    pub filter: Option<String>,
    /// The local store for `reviewed`/`flagged`/`filter` [default: `crate::store::default_path`];
    /// a plain export adds the scores saved there (the library's [`export`] only when it is given).
    pub store: Option<PathBuf>,
    pub page_size: u32,
    pub shards: ShardOptions,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            conn: ConnectionArgs::default(),
            window: Window::default(),
            client_env: None,
            channel: Vec::new(),
            format: Format::Jsonl,
            out: None,
            with_audio: None,
            audio_concurrency: 4,
            reviewed: false,
            flagged: false,
            filter: None,
            store: None,
            page_size: 200,
            shards: ShardOptions::default(),
        }
    }
}

/// How the window is walked: in time shards, several pages at once (see [`shard`]).
#[derive(Debug, Clone, Default)]
pub struct ShardOptions {
    /// Page requests out at once; `None` = adaptive (8 up to 32, halved on a 429 or timeout).
    pub concurrency: Option<u32>,
    /// Write pages as they arrive instead of in time order (not with `resume`).
    pub unordered: bool,
    /// Resumable export to `out` through part files and a checkpoint beside it.
    pub resume: bool,
}

/// A window's default span, when neither a start nor a span is given.
pub const DEFAULT_SINCE: ChronoDuration = ChronoDuration::hours(24);

/// The API's channel values (polyai-api.md §2.3).
pub const API_CHANNELS: [&str; 3] = ["VOICE-SIP", "WEBCHAT", "CHAT"];

/// `--channel`: the TUI's `voice`/`chat` (kept as kinds: `chat` is WEBCHAT and CHAT) or one of
/// the API's names (as the API spells it); anything else is refused with the valid names.
pub fn parse_channel(s: &str) -> Result<String, String> {
    let t = s.trim();
    if let Some(api) = API_CHANNELS.iter().find(|c| **c == t) {
        return Ok(api.to_string());
    }
    let lower = t.to_ascii_lowercase();
    if lower == "voice" || lower == "chat" {
        return Ok(lower);
    }
    if let Some(api) = API_CHANNELS.iter().find(|c| c.eq_ignore_ascii_case(t)) {
        return Ok(api.to_string());
    }
    Err(format!(
        "unknown channel {t:?}: use voice or chat (the TUI's channel filter), or one of the API's {}",
        API_CHANNELS.join(", ")
    ))
}

/// What the export did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ExportSummary {
    pub conversations: u64,
    pub pages: u64,
    pub recordings_saved: u64,
    pub recordings_skipped: u64,
    pub recordings_failed: u64,
    /// CSV/Markdown: the fields that could not be read and the records skipped without an id
    /// (JSONL passes records through unread).
    pub read: ReadReport,
    /// The most page requests out at once, and how often a 429 or timeout halved that.
    pub concurrency_peak: usize,
    pub concurrency_cuts: u64,
}

pub async fn run(args: ExportOptions) -> Result<i32> {
    crate::logging::init_stderr();
    let cfg = Config::resolve(&args.conn, &process_env)?;
    let env = args.client_env.clone().unwrap_or_else(|| cfg.client_env.clone());
    if let Some(mut filter) = reviewed::filter_from_flags(args.reviewed, args.flagged, args.filter.as_deref())? {
        // --channel narrows a store export too, with the same names; the filter's channels are
        // "any of", so two lists would widen it instead.
        if !args.channel.is_empty() {
            if !filter.channels.is_empty() {
                bail!("give the channels once: in --filter (voice, chat, channel:NAME) or with --channel");
            }
            filter.channels = args.channel.clone();
        }
        return run_from_store(&args, &cfg, &env, &filter);
    }
    cfg.require_complete()?;
    // The local store's saved scores go into the export when it has some for these calls.
    let mut args = args;
    if args.store.is_none() {
        args.store = Some(crate::store::default_path());
    }
    let client = Client::new(&cfg)?;
    let studio = crate::studio::StudioLinks::from_config(&cfg);
    let summary = match args.out.as_deref() {
        // Resumable: through part files and a checkpoint beside the file.
        Some(path) if args.shards.resume => {
            if !shard::resumable_target(path) {
                bail!("--resume needs --out FILE to be a regular file (a FIFO or device cannot be resumed)");
            }
            crate::fsutil::remove_partials_on_signals();
            shard::export_to_file(&client, &args, &env, path, studio.as_ref()).await?
        }
        out => {
            let mut sink = Sink::open(out)?;
            let result = export_linked(&client, &args, &env, &mut sink, studio.as_ref()).await;
            sink.finish(result)?
        }
    };
    crate::errln!(
        "exported {} in {}{}",
        crate::output::count(summary.conversations, "conversation"),
        crate::output::count(summary.pages, "page"),
        if args.with_audio.is_some() {
            format!(
                "; recordings: {} saved, {} already complete, {} failed",
                summary.recordings_saved, summary.recordings_skipped, summary.recordings_failed
            )
        } else {
            String::new()
        }
    );
    if summary.concurrency_cuts > 0 {
        crate::errln!(
            "note: the server slowed the export down (429 or timeout): concurrency was halved {} (peak {})",
            crate::output::count(summary.concurrency_cuts, "time"),
            summary.concurrency_peak
        );
    }
    for warning in summary.read.warnings() {
        crate::errln!("warning: {warning}");
    }
    if summary.conversations == 0 && summary.read.skipped == 0 {
        crate::errln!("hint: the window had no conversations for client_env={env}; widen --since or try --env sandbox");
    }
    Ok(exit_status(&summary))
}

/// 0: everything the window held was written (fields that could not be read are left empty,
/// named in the log and counted, but the record is there); 2: written, but incomplete — a
/// recording failed or a record without a usable id was left out.
pub fn exit_status(summary: &ExportSummary) -> i32 {
    if summary.recordings_failed > 0 || summary.read.skipped > 0 {
        2
    } else {
        0
    }
}

/// The reviewed-calls export: from the local store, no API call (so no key needed).
fn run_from_store(args: &ExportOptions, cfg: &Config, env: &str, filter: &crate::domain::Filter) -> Result<i32> {
    if cfg.account_id.is_empty() || cfg.project_id.is_empty() {
        bail!("set POLYAI_ACCOUNT_ID and POLYAI_PROJECT_ID (or --account-id/--project-id): marks are kept per project");
    }
    let path = args.store.clone().unwrap_or_else(crate::store::default_path);
    if !path.exists() {
        bail!(
            "no local store at {}: review calls in the TUI first, or pass --store PATH",
            path.display()
        );
    }
    // Exporting only reads: a store the user may only read (a shared or archived copy) is fine.
    let store = crate::store::Store::open_read_only(&path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let scope = crate::domain::Scope::env(&cfg.account_id, &cfg.project_id, env);
    let window = match args.window.is_open() {
        true => None,
        false => Some(
            args.window
                .resolve(Utc::now(), DEFAULT_SINCE)
                .map_err(anyhow::Error::msg)?,
        ),
    };
    let mut sink = Sink::open(args.out.as_deref())?;
    let studio = crate::studio::StudioLinks::from_config(cfg);
    let result = reviewed::export_reviewed(&store, &scope, filter, window, args.format, studio.as_ref(), &mut sink);
    let n = sink.finish(result)?;
    crate::errln!(
        "exported {} matching `{}` from {}",
        crate::output::count(n, "conversation"),
        filter.summary(),
        path.display()
    );
    Ok(0)
}

/// Where an export goes: a file (see [`crate::fsutil::AtomicFile`]: renamed into place on
/// success, written in place when it is a FIFO or device) or stdout.
enum Sink {
    File(crate::fsutil::AtomicFile),
    Stdout(std::io::BufWriter<std::io::Stdout>),
}

impl Sink {
    fn open(out: Option<&std::path::Path>) -> Result<Sink> {
        Ok(match out {
            Some(path) => {
                // Ctrl-C or a kill must not leave the temporary file behind either.
                crate::fsutil::remove_partials_on_signals();
                Sink::File(
                    crate::fsutil::AtomicFile::create(path)
                        .with_context(|| format!("cannot write {}", path.display()))?,
                )
            }
            None => Sink::Stdout(std::io::BufWriter::new(std::io::stdout())),
        })
    }

    /// Keeps the output when `ok`, otherwise removes the partial file; returns `result`.
    fn finish<T>(self, result: Result<T>) -> Result<T> {
        match self {
            Sink::Stdout(mut w) => {
                w.flush()?;
                result
            }
            // Dropping the file on error removes the temporary file.
            Sink::File(file) => result.and_then(|v| {
                let path = file.target().to_path_buf();
                file.commit()
                    .with_context(|| format!("cannot write {}", path.display()))?;
                Ok(v)
            }),
        }
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::File(w) => w.write(buf),
            Sink::Stdout(w) => w.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::File(w) => w.flush(),
            Sink::Stdout(w) => w.flush(),
        }
    }
}

/// The export itself, writing to any sink (stdout, a file, a test buffer); Studio links where the
/// client's hosts name a region.
pub async fn export(client: &Client, args: &ExportOptions, env: &str, out: &mut impl Write) -> Result<ExportSummary> {
    let studio = crate::studio::StudioLinks::from_client(client);
    export_linked(client, args, env, out, studio.as_ref()).await
}

/// [`export`] with the Studio links to put in CSV and Markdown (`None`: the region is unknown).
pub async fn export_linked(
    client: &Client,
    args: &ExportOptions,
    env: &str,
    out: &mut impl Write,
    studio: Option<&crate::studio::StudioLinks>,
) -> Result<ExportSummary> {
    shard::export_stream(client, args, env, out, studio).await
}

pub mod audio_jobs;
