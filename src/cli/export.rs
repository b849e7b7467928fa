//! `callscope export`: its flags, as [`crate::export::ExportOptions`].

use std::path::PathBuf;

use anyhow::Result;

use super::window::{WindowArgs, since_help};
use crate::config::ConnectionArgs;
use crate::export::{ExportOptions, Format, ShardOptions, parse_channel};

#[derive(Debug, Clone, clap::Args)]
#[command(
    after_help = "Records are read field by field: a field sent in a shape callscope cannot read is left \
empty in CSV/Markdown (named in the unread_fields column and in the log), and the export ends with a count \
of such fields; a record without a usable id is skipped and counted. JSONL is passed through unread.\n\n\
Exit status: 0 = everything in the window was written (possibly with unread fields); 2 = written but \
incomplete (a recording failed, or a record without a usable id was skipped); 1 = the export failed.",
    mut_args(since_help(
        "How far back to go: e.g. 30m, 24h, 7d, at most 36600d (ignored when --start is given) \
[default: 24h; with --reviewed/--flagged/--filter: no limit]",
        None
    ))
)]
pub struct ExportArgs {
    #[command(flatten)]
    pub conn: ConnectionArgs,
    #[command(flatten)]
    pub window: WindowArgs,
    /// Only these channels (repeatable): voice or chat (the TUI's names), or the API's VOICE-SIP,
    /// WEBCHAT, CHAT.
    #[arg(long, value_parser = parse_channel)]
    pub channel: Vec<String>,
    #[arg(long, value_enum, default_value = "jsonl")]
    pub format: Format,
    /// Write here (atomically, on success) instead of stdout; a FIFO or device is written in place.
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
    /// Export the cached conversations matching a filter, e.g. "voice handoff latency>2 polyscore<3 tag:vip
    /// topic:NAME function:NAME safety status:needs_follow_up".
    #[arg(long, value_name = "FILTER")]
    pub filter: Option<String>,
    /// The local store for --reviewed/--flagged/--filter, and whose saved scores a plain export adds
    /// [default: ~/.local/share/callscope/callscope.db].
    #[arg(long, value_name = "PATH")]
    pub store: Option<PathBuf>,
    /// Page size (1–1000).
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub page_size: u32,
    #[command(flatten)]
    pub shards: ShardArgs,
}

/// How the window is walked: in time shards, several pages at once (`crate::export::shard`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ShardArgs {
    /// Page requests out at once, over time shards of the window [default: adaptive — from 8 up
    /// to 32 while answers stay fast, halved on a 429 or a timeout]. 1 walks the window in one
    /// sequence.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=64))]
    pub concurrency: Option<u32>,
    /// Write pages as they arrive instead of in time order (not with --resume).
    #[arg(long, conflicts_with = "resume")]
    pub unordered: bool,
    /// Make the export to --out FILE resumable: progress is kept beside it in .FILE.export/ (part
    /// files and a checkpoint); when an export is interrupted, the same command continues it,
    /// and the finished file is the same as an uninterrupted run's.
    #[arg(long, requires = "out")]
    pub resume: bool,
}

impl From<ExportArgs> for ExportOptions {
    fn from(a: ExportArgs) -> Self {
        ExportOptions {
            window: a.window.window(),
            client_env: a.window.client_env,
            conn: a.conn,
            channel: a.channel,
            format: a.format,
            out: a.out,
            with_audio: a.with_audio,
            audio_concurrency: a.audio_concurrency,
            reviewed: a.reviewed,
            flagged: a.flagged,
            filter: a.filter,
            store: a.store,
            page_size: a.page_size,
            shards: ShardOptions {
                concurrency: a.shards.concurrency,
                unordered: a.shards.unordered,
                resume: a.shards.resume,
            },
        }
    }
}

pub async fn run(args: ExportArgs) -> Result<i32> {
    crate::export::run(args.into()).await
}
