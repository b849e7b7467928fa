//! `callscope export`: the quickstart's post-call pipeline as one command.
//!
//! Walks every page of a time window with the cursor and writes each page as it arrives
//! (JSONL is passed through byte for byte, so fields this version does not know survive).
//! `--with-audio DIR` also saves the recordings of voice calls, several at a time.

pub mod format;
pub mod progress;
pub mod reviewed;

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Duration as ChronoDuration, Utc};

use crate::api::{Client, ListQuery, RawPage, ReadReport};
use crate::config::{Config, ConnectionArgs, process_env};
pub use format::Format;

#[derive(Debug, Clone, clap::Args)]
#[command(
    after_help = "Records are read field by field: a field sent in a shape callscope cannot read is left \
empty in CSV/Markdown (named in the unread_fields column and in the log), and the export ends with a count \
of such fields; a record without a usable id is skipped and counted. JSONL is passed through unread.\n\n\
Exit status: 0 = everything in the window was written (possibly with unread fields); 2 = written but \
incomplete (a recording failed, or a record without a usable id was skipped); 1 = the export failed."
)]
pub struct ExportArgs {
    #[command(flatten)]
    pub conn: ConnectionArgs,
    /// How far back to go: e.g. 30m, 24h, 7d (ignored when --start is given) [default: 24h;
    /// with --reviewed/--flagged/--filter: no limit].
    #[arg(long, value_parser = parse_span)]
    pub since: Option<ChronoDuration>,
    /// Window start (RFC 3339, e.g. 2026-11-27T00:00:00Z).
    #[arg(long, value_parser = parse_instant)]
    pub start: Option<DateTime<Utc>>,
    /// Window end (RFC 3339); default now.
    #[arg(long, value_parser = parse_instant)]
    pub end: Option<DateTime<Utc>>,
    /// client_env: live, sandbox or pre-release [default: the config's, else live].
    #[arg(long = "env", value_parser = ["live", "sandbox", "pre-release"])]
    pub client_env: Option<String>,
    /// Only these channels (repeatable): VOICE-SIP, WEBCHAT, CHAT.
    #[arg(long)]
    pub channel: Vec<String>,
    #[arg(long, value_enum, default_value = "jsonl")]
    pub format: Format,
    /// Write here (atomically, on success) instead of stdout.
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Also save the recordings of voice calls into DIR as <id>.wav (complete ones are skipped on rerun).
    #[arg(long, value_name = "DIR")]
    pub with_audio: Option<PathBuf>,
    /// Recordings downloaded at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=32))]
    pub audio_concurrency: u32,
    /// Export the conversations marked reviewed, from the local store, with their marks.
    #[arg(long)]
    pub reviewed: bool,
    /// Export the flagged conversations, from the local store, with their marks.
    #[arg(long)]
    pub flagged: bool,
    /// Export the cached conversations matching a filter, e.g. "voice handoff latency>2 status:needs_follow_up".
    #[arg(long, value_name = "FILTER")]
    pub filter: Option<String>,
    /// The local store for --reviewed/--flagged/--filter [default: ~/.local/share/callscope/callscope.db].
    #[arg(long, value_name = "PATH")]
    pub store: Option<PathBuf>,
    /// Page size (1–1000).
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub page_size: u32,
}

/// `30m`, `24h`, `7d`, `90s`, `2w`.
pub fn parse_span(s: &str) -> Result<ChronoDuration, String> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = num
        .parse()
        .map_err(|_| format!("{s:?}: expected a number and a unit, e.g. 24h or 7d"))?;
    let d = match unit {
        "s" => ChronoDuration::seconds(n),
        "m" | "min" => ChronoDuration::minutes(n),
        "h" => ChronoDuration::hours(n),
        "d" => ChronoDuration::days(n),
        "w" => ChronoDuration::weeks(n),
        _ => return Err(format!("{s:?}: unit must be s, m, h, d or w")),
    };
    if n <= 0 {
        return Err(format!("{s:?}: must be more than zero"));
    }
    Ok(d)
}

pub fn parse_instant(s: &str) -> Result<DateTime<Utc>, String> {
    crate::api::model::parse_time(s).ok_or_else(|| format!("{s:?} is not an RFC 3339 time like 2026-11-27T09:00:00Z"))
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
}

pub async fn run(args: ExportArgs) -> Result<i32> {
    crate::logging::init_stderr();
    let cfg = Config::resolve(&args.conn, &process_env)?;
    let env = args.client_env.clone().unwrap_or_else(|| cfg.client_env.clone());
    if let Some(filter) = reviewed::filter_from_flags(args.reviewed, args.flagged, args.filter.as_deref())? {
        return run_from_store(&args, &cfg, &env, &filter);
    }
    cfg.require_complete()?;
    let client = Client::new(&cfg)?;
    let mut sink = Sink::open(args.out.as_deref())?;
    let result = export(&client, &args, &env, &mut sink).await;
    let summary = sink.finish(result)?;
    eprintln!(
        "exported {} conversations in {} pages{}",
        summary.conversations,
        summary.pages,
        if args.with_audio.is_some() {
            format!(
                "; recordings: {} saved, {} already complete, {} failed",
                summary.recordings_saved, summary.recordings_skipped, summary.recordings_failed
            )
        } else {
            String::new()
        }
    );
    for warning in summary.read.warnings() {
        eprintln!("warning: {warning}");
    }
    if summary.conversations == 0 && summary.read.skipped == 0 {
        eprintln!("hint: the window had no conversations for client_env={env}; widen --since or try --env sandbox");
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
fn run_from_store(args: &ExportArgs, cfg: &Config, env: &str, filter: &crate::store::Filter) -> Result<i32> {
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
    let store = crate::store::Store::open(&path).map_err(|e| anyhow::anyhow!("{}; {}", e.headline(), e.hint()))?;
    let scope = crate::store::Scope::env(&cfg.account_id, &cfg.project_id, env);
    let window = match (args.start, args.since) {
        (None, None) => None,
        (start, since) => {
            let end = args.end.unwrap_or_else(Utc::now);
            Some((
                start.unwrap_or(end - since.unwrap_or_else(|| ChronoDuration::hours(24))),
                end,
            ))
        }
    };
    let mut sink = Sink::open(args.out.as_deref())?;
    let result = reviewed::export_reviewed(&store, &scope, filter, window, args.format, &mut sink);
    let n = sink.finish(result)?;
    eprintln!(
        "exported {n} reviewed conversations from {} ({})",
        path.display(),
        filter.summary()
    );
    Ok(0)
}

/// Where an export goes: a file written atomically (temp file, renamed on success) or stdout.
enum Sink {
    File {
        tmp: PathBuf,
        path: PathBuf,
        w: std::io::BufWriter<std::fs::File>,
    },
    Stdout(std::io::BufWriter<std::io::Stdout>),
}

impl Sink {
    fn open(out: Option<&std::path::Path>) -> Result<Sink> {
        Ok(match out {
            Some(path) => {
                let tmp = tmp_path(path);
                let file = std::fs::File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
                Sink::File {
                    tmp,
                    path: path.to_path_buf(),
                    w: std::io::BufWriter::new(file),
                }
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
            Sink::File { tmp, path, mut w } => {
                let result = result.and_then(|v| {
                    w.flush()?;
                    std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
                    Ok(v)
                });
                if result.is_err() {
                    let _ = std::fs::remove_file(&tmp);
                }
                result
            }
        }
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::File { w, .. } => w.write(buf),
            Sink::Stdout(w) => w.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::File { w, .. } => w.flush(),
            Sink::Stdout(w) => w.flush(),
        }
    }
}

fn tmp_path(path: &std::path::Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "export".into());
    path.with_file_name(format!(".{name}.partial-{}", std::process::id()))
}

/// The export itself, writing to any sink (stdout, a file, a test buffer).
pub async fn export(client: &Client, args: &ExportArgs, env: &str, out: &mut impl Write) -> Result<ExportSummary> {
    let end = args.end.unwrap_or_else(Utc::now);
    let start = args
        .start
        .unwrap_or(end - args.since.unwrap_or_else(|| ChronoDuration::hours(24)));
    if start >= end {
        bail!("the window is empty: --start must be before --end");
    }
    let mut query = ListQuery {
        start_time: Some(start),
        end_time: Some(end),
        limit: Some(args.page_size),
        client_env: Some(env.to_string()),
        channels: args.channel.clone(),
        include_latency: true,
        ..Default::default()
    };
    let mut summary = ExportSummary::default();
    let mut progress = progress::Progress::new();
    let mut audio = args
        .with_audio
        .as_ref()
        .map(|dir| audio_jobs::AudioJobs::new(client.clone(), dir.clone(), args.audio_concurrency as usize));
    if let Some(dir) = &args.with_audio {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    format::write_header(out, args.format)?;
    loop {
        let page: RawPage = client.list_page_as(&query).await?;
        summary.pages += 1;
        for raw in &page.records {
            let conversation = match args.format {
                // Passed through as sent: read only when its recording is wanted.
                Format::Jsonl => {
                    format::write_raw(out, raw)?;
                    audio.as_ref().and_then(|_| crate::api::lenient::read_record(raw))
                }
                // Read field by field: an odd field is left empty, a record without an id skipped.
                f => {
                    let Some(c) = summary.read.read(raw) else {
                        continue;
                    };
                    format::write_parsed(out, f, &c)?;
                    Some(c)
                }
            };
            summary.conversations += 1;
            if let (Some(a), Some(c)) = (&mut audio, conversation) {
                a.submit(audio_jobs::CallRef {
                    id: c.id,
                    channel: c.channel,
                    in_progress: c.in_progress,
                });
            }
        }
        progress.update(summary.conversations, audio.as_ref().map(|a| a.counts()), false);
        match page.cursor.filter(|c| !c.is_empty()) {
            Some(c) if Some(&c) != query.cursor.as_ref() => query.cursor = Some(c),
            _ => break,
        }
    }
    out.flush()?;
    if let Some(a) = audio {
        let outcome = a
            .finish(|done, total| progress.update(summary.conversations, Some((done, total)), false))
            .await;
        summary.recordings_saved = outcome.saved;
        summary.recordings_skipped = outcome.skipped;
        summary.recordings_failed = outcome.failed;
    }
    progress.update(summary.conversations, None, true);
    progress.finish();
    Ok(summary)
}

pub mod audio_jobs;
