//! `callscope marks export|import`: share review marks (status, flags, notes, per-turn
//! ratings) between reviewers and machines as the store's versioned JSON file.
//! `callscope marks push`: send notes and the ratings Studio has a type for to Agent Studio.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};

use crate::domain::Scope;
use crate::domain::history::{FieldOutcome, describe_value};
use crate::store::{AppStore, ConversationMerge, MarksImport, ReviewStore, Store, StoreError};

#[derive(Debug, Args)]
pub struct MarksArgs {
    #[command(subcommand)]
    pub command: MarksCommand,
}

#[derive(Debug, Subcommand)]
pub enum MarksCommand {
    /// Write every recorded mark (or one scope's) as JSON to stdout or --out.
    Export(ExportMarksArgs),
    /// Merge a marks file field by field: where the file's change of a field is newer than this
    /// store's, it is taken (with its author); otherwise this store's stays. Prints what changed
    /// and what was kept. Conversations not in the file are untouched; a malformed file changes nothing.
    Import(ImportMarksArgs),
    /// Send notes and the turn ratings Studio has an annotation type for to Agent Studio (platform
    /// host). What was sent is remembered: a second push sends only what is new or changed.
    #[command(
        after_help = "Ratings → Studio annotations: 👎 wrong information → wrong_info (agent turn); \
👎 wrong transcription → wrong_transcript (caller turn); 👎 missing intent → missing_topic (caller turn). \
👍, 👎 latency and 👎 without a reason have no Studio type and are not pushed (counted in the summary); \
status, flags and rating comments stay local.\n\n\
Exit status: 0 = everything was sent (or nothing was due); 2 = some conversations failed (retried on the \
next push); 1 = nothing could be sent."
    )]
    Push(PushMarksArgs),
}

#[derive(Debug, Args)]
pub struct StoreArg {
    /// The local store [default: ~/.local/share/callscope/callscope.db; the demo's is demo.db beside it].
    #[arg(long, value_name = "PATH")]
    pub store: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ExportMarksArgs {
    /// Write here (atomically) instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub store: StoreArg,
    /// Only this account's marks.
    #[arg(long, value_name = "ID")]
    pub account: Option<String>,
    /// Only this project's marks.
    #[arg(long, value_name = "ID")]
    pub project: Option<String>,
    /// Only this client_env's marks (live, sandbox, pre-release).
    #[arg(long = "env", value_name = "ENV")]
    pub environment: Option<String>,
    /// With `[team] database` in it, teammates' marks are read from the team database first.
    #[command(flatten)]
    pub config: super::team::ConfigArg,
}

#[derive(Debug, Args)]
pub struct ImportMarksArgs {
    /// The marks file (from `callscope marks export`); `-` reads stdin.
    pub file: PathBuf,
    #[command(flatten)]
    pub store: StoreArg,
    /// Print what the import would change and keep; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// With `[team] database` in it, what the import takes is sent to the team database too.
    #[command(flatten)]
    pub config: super::team::ConfigArg,
}

#[derive(Debug, Args)]
pub struct PushMarksArgs {
    #[command(flatten)]
    pub conn: crate::config::ConnectionArgs,
    #[command(flatten)]
    pub store: StoreArg,
    /// Only marks changed within this span, e.g. 30m, 24h, 7d [default: all].
    #[arg(long, value_parser = crate::domain::duration::parse_span)]
    pub since: Option<chrono::Duration>,
    /// Say what would be sent, send nothing, record nothing.
    #[arg(long)]
    pub dry_run: bool,
}

pub async fn run(args: MarksArgs) -> Result<i32> {
    crate::logging::init_stderr();
    match args.command {
        MarksCommand::Export(a) => export(&a),
        MarksCommand::Import(a) => import(&a),
        MarksCommand::Push(a) => push(&a).await,
    }
}

fn store_path(a: &StoreArg) -> PathBuf {
    a.store.clone().unwrap_or_else(crate::store::default_path)
}

fn store_error(e: StoreError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

/// Opens an existing store for reading: exporting from a mistyped path should say so, not
/// silently create an empty database, and a store the user may only read is fine.
fn open_existing(path: &Path) -> Result<Box<dyn AppStore>> {
    if !path.exists() {
        bail!(
            "no local store at {}: review calls in the TUI first, or pass --store PATH",
            path.display()
        );
    }
    let store = Store::open_read_only(path).map_err(store_error)?;
    Ok(Box::new(store))
}

fn export(a: &ExportMarksArgs) -> Result<i32> {
    let path = store_path(&a.store);
    let team = crate::settings::load_file(a.config.config.as_deref())?.team;
    if team.database.is_some() && path.exists() {
        catch_up_with_team(&path, &team)?;
    }
    let store = open_existing(&path)?;
    let scope = Scope {
        account: a.account.clone(),
        project: a.project.clone(),
        environment: a.environment.clone(),
        ..Scope::default()
    };
    let scoped = scope != Scope::everything();
    let json = store.export_marks(scoped.then_some(&scope)).map_err(store_error)?;
    // Notes and comments may hold C1 or bidi controls: escaped, the same JSON value.
    let json = crate::sanitize::escape_json_controls(&json).into_owned();
    let n = serde_json::from_str::<serde_json::Value>(&json)
        .ok()
        .and_then(|v| v["conversations"].as_array().map(Vec::len))
        .unwrap_or(0);
    match &a.out {
        Some(out) => {
            crate::fsutil::remove_partials_on_signals();
            crate::fsutil::write_atomic(out, json.as_bytes())
                .with_context(|| format!("cannot write {}", out.display()))?;
            crate::errln!(
                "exported marks of {n} conversations from {} to {}",
                path.display(),
                out.display()
            );
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(json.as_bytes())
                .and_then(|_| stdout.write_all(b"\n"))
                .and_then(|_| stdout.flush())
                .context("cannot write to stdout")?;
            crate::errln!("exported marks of {n} conversations from {}", path.display());
        }
    }
    Ok(0)
}

/// Reads teammates' changes from the team database into the local store, a page at a time until
/// none is left, so an export with `[team]` carries the team's marks. An unreachable database is
/// said and the local copy exported (the outbox and the read positions make the next try exact).
fn catch_up_with_team(path: &Path, team: &crate::team::TeamSection) -> Result<()> {
    // The team store runs its own runtime, which cannot block inside this command's.
    std::thread::scope(|s| {
        s.spawn(|| -> Result<()> {
            let store = Store::open(path).map_err(store_error)?;
            let mut shared = crate::team::store::TeamStore::open(store, team, &crate::config::process_env)?;
            let stale = "exporting this store's copy, which may lack teammates' latest marks";
            loop {
                if let Err(e) = shared.sync() {
                    crate::errln!("{e}: {stale}");
                    return Ok(());
                }
                if shared.behind() == 0 {
                    if !shared.online() {
                        crate::errln!("team database: no answer yet: {stale}");
                    }
                    return Ok(());
                }
            }
        })
        .join()
        .unwrap_or_else(|_| Err(anyhow::anyhow!("reading the team's marks failed unexpectedly")))
    })
}

fn open_input(file: &Path) -> Result<Box<dyn Read>> {
    Ok(if file.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))?)
    })
}

fn import(a: &ImportMarksArgs) -> Result<i32> {
    let team = crate::settings::load_file(a.config.config.as_deref())?.team;
    if team.database.is_some() && !a.dry_run {
        return import_shared(a, &team);
    }
    let mut input = open_input(&a.file)?;
    let path = store_path(&a.store);
    // Importing is how a new machine gets its marks, so the store may not exist yet; if this
    // import made it and then refused the file (or only tried it), it goes again.
    let created = !path.exists();
    let mut report = Vec::new();
    let imported = Store::open(&path)
        .map_err(store_error)
        .and_then(|mut store| import_into(&mut store, &mut input, a.dry_run, &mut report));
    if created && (a.dry_run || imported.is_err()) {
        remove_store_files(&path);
    }
    let done = imported?;
    // Printed only now: a file refused halfway changed nothing, so its lines would mislead.
    for line in String::from_utf8_lossy(&report).lines() {
        crate::outln!("{line}");
    }
    crate::outln!("{}", summary(&done, &path, a.dry_run));
    Ok(0)
}

/// `marks import` with a team database: merged into the local store and sent (or queued in its
/// outbox while the database is unreachable, for the next session with `[team]` to send).
fn import_shared(a: &ImportMarksArgs, team: &crate::team::TeamSection) -> Result<i32> {
    let path = store_path(&a.store);
    // The team store runs its own runtime, which cannot block inside this command's.
    let (done, report, waiting) = std::thread::scope(|s| {
        s.spawn(|| -> Result<_> {
            let mut input = open_input(&a.file)?;
            let store = Store::open(&path).map_err(store_error)?;
            let mut shared = crate::team::store::TeamStore::open(store, team, &crate::config::process_env)?;
            let mut report = Vec::new();
            let done = import_into(&mut shared, &mut input, false, &mut report)?;
            Ok((done, report, shared.unsynced().unwrap_or(0)))
        })
        .join()
        .unwrap_or_else(|_| Err(anyhow::anyhow!("the import failed unexpectedly")))
    })?;
    for line in String::from_utf8_lossy(&report).lines() {
        crate::outln!("{line}");
    }
    crate::outln!("{}", summary(&done, &path, false));
    if waiting > 0 {
        crate::outln!(
            "{waiting} changes wait for the team database (unreachable now): the next callscope session with [team] sends them"
        );
    } else {
        crate::outln!("shared with the team database");
    }
    Ok(0)
}

/// Merges the marks file from `reader` into `store` (or with `dry_run` only works out what that
/// would do), writing per conversation what it changed and kept to `out`, sanitized.
pub fn import_into(
    store: &mut dyn ReviewStore,
    reader: &mut dyn Read,
    dry_run: bool,
    out: &mut dyn Write,
) -> Result<MarksImport> {
    let mut failed = None;
    let done = store
        .merge_marks_from(reader, dry_run, &mut |c| {
            for line in merge_lines(c, dry_run) {
                if let Err(e) = writeln!(out, "{line}") {
                    failed.get_or_insert(e);
                }
            }
        })
        .map_err(store_error)?;
    if let Some(e) = failed {
        return Err(anyhow::Error::new(e).context("cannot write the import report"));
    }
    Ok(done)
}

/// `CA1 [live] changed note: "…" → "…" (bob@acme, 2026-12-01 09:00:00 UTC)` and `… kept …`
/// lines of one conversation; none when the file held nothing new for it.
pub fn merge_lines(c: &ConversationMerge, dry_run: bool) -> Vec<String> {
    let who = format!("{} [{}]", clean(&c.key.id, 40), clean(&c.key.environment, 20));
    let mut lines = Vec::new();
    for o in c.changed() {
        lines.push(format!(
            "{who} {} {}: {} → {} ({})",
            if dry_run { "would change" } else { "changed" },
            clean(&o.field.label(), 80),
            value(o, o.local.as_ref().and_then(|l| l.value.as_deref())),
            value(o, o.incoming.value.as_deref()),
            stamp_text(&o.incoming.stamp),
        ));
    }
    for o in c.kept() {
        let (mine, when) = match &o.local {
            Some(l) => (value(o, l.value.as_deref()), stamp_text(&l.stamp)),
            None => (value(o, None), "unknown".into()),
        };
        lines.push(format!(
            "{who} kept {}: {mine} ({when}), newer than the file's {} ({})",
            clean(&o.field.label(), 80),
            value(o, o.incoming.value.as_deref()),
            stamp_text(&o.incoming.stamp),
        ));
    }
    for r in &c.new_scores {
        lines.push(format!(
            "{who} {} scorecard {}: {} ({})",
            if dry_run { "would add" } else { "added" },
            clean(&r.scorecard, 80),
            crate::domain::scores::score_text(r.score, r.auto_failed),
            stamp_text(&crate::domain::Stamp {
                reviewer: r.reviewer.clone(),
                at_ms: r.at_ms,
            }),
        ));
    }
    lines
}

fn clean(s: &str, max: usize) -> String {
    crate::sanitize::truncate(&crate::sanitize::sanitize_line(s), max)
}

/// A field value as the report quotes it: notes and comments quoted and cut to 60 columns.
fn value(o: &FieldOutcome, v: Option<&str>) -> String {
    let text = clean(&describe_value(&o.field, v), 60);
    match (&o.field, v) {
        (crate::domain::MarkField::Note, Some(_)) => format!("{text:?}"),
        _ => text,
    }
}

fn stamp_text(s: &crate::domain::Stamp) -> String {
    let when = match chrono::DateTime::from_timestamp_millis(s.at_ms) {
        Some(t) if s.at_ms > 0 => t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        _ => "unknown time".into(),
    };
    format!("{}, {when}", clean(&s.reviewer, 60))
}

fn summary(done: &MarksImport, path: &Path, dry_run: bool) -> String {
    // Files without scorecard saves (versions 1 and 2) keep the summary they always had.
    let scores = if done.scores_added + done.scores_present > 0 {
        format!(
            "; {} {}, {} already here",
            crate::output::count(done.scores_added as u64, "scorecard save"),
            if dry_run { "would be added" } else { "added" },
            done.scores_present
        )
    } else {
        String::new()
    };
    format!(
        "{} marks of {} conversations into {}: {} reviewed, {} needing follow-up, {} flagged, {} with a note, {} turn ratings; \
{} {} in {}, {} kept (newer here), {} already equal{scores}{}",
        if dry_run { "would import" } else { "imported" },
        done.conversations,
        path.display(),
        done.reviewed,
        done.follow_up,
        done.flagged,
        done.notes,
        done.turn_ratings,
        crate::output::count(done.changed_fields as u64, "field"),
        if dry_run { "would change" } else { "changed" },
        crate::output::count(done.changed_conversations as u64, "conversation"),
        done.kept_fields,
        done.same_fields,
        if dry_run { " (dry run: nothing written)" } else { "" }
    )
}

/// A SQLite store and its WAL files.
fn remove_store_files(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}

async fn push(a: &PushMarksArgs) -> Result<i32> {
    use crate::studio::push;
    let cfg = crate::config::Config::resolve(&a.conn, &crate::config::process_env)?;
    if cfg.account_id.is_empty() || cfg.project_id.is_empty() {
        bail!(
            "set POLYAI_ACCOUNT_ID and POLYAI_PROJECT_ID (or --account-id/--project-id): marks are pushed per project"
        );
    }
    if !a.dry_run {
        cfg.require_complete()?;
    }
    let path = store_path(&a.store);
    if !path.exists() {
        bail!(
            "no local store at {}: review calls in the TUI first, or pass --store PATH",
            path.display()
        );
    }
    let since_ms = match a.since {
        Some(span) => Some(
            chrono::Utc::now()
                .checked_sub_signed(span)
                .context("--since reaches before the earliest representable date")?
                .timestamp_millis(),
        ),
        None => None,
    };
    // A push records what it sent; a dry run records nothing, so a store the user may only
    // read is fine for it (opened writable where it can be, so an older schema is upgraded).
    let mut store: Box<dyn AppStore> = Box::new(
        match Store::open(&path) {
            Err(_) if a.dry_run => Store::open_read_only(&path),
            other => other,
        }
        .map_err(store_error)?,
    );
    let plans = push::plan_all(store.as_ref(), &cfg.account_id, &cfg.project_id, since_ms).map_err(store_error)?;
    let summary = if a.dry_run {
        let mut summary = push::Summary::default();
        for p in &plans {
            summary.add_plan(p);
            if p.is_empty() {
                continue;
            }
            let mut what = Vec::new();
            if let Some(note) = &p.note {
                what.push(format!("note {:?}", crate::sanitize::truncate(note, 60)));
            }
            for x in &p.annotations {
                what.push(format!(
                    "{} on turn {} ({})",
                    x.annotation_type.as_str(),
                    x.turn_id,
                    x.role.as_str()
                ));
            }
            crate::outln!("would push {} [{}]: {}", p.key.id, p.key.environment, what.join("; "));
            summary.notes += usize::from(p.note.is_some());
            summary.annotations += p.annotations.len();
        }
        summary
    } else {
        let client = crate::api::Client::new(&cfg)?;
        push::push(&client, store.as_mut(), plans).await.map_err(store_error)?
    };
    for o in &summary.failed {
        for (what, e) in o.errors() {
            crate::errln!("{} [{}]: {what} not pushed: {e}", o.key.id, o.key.environment);
        }
    }
    let verb = if a.dry_run { "would push" } else { "pushed" };
    crate::errln!(
        "{verb} {} notes and {} annotations to Agent Studio ({} conversations with marks{}; {} already pushed and unchanged){}",
        summary.notes,
        summary.annotations,
        summary.conversations,
        match a.since {
            Some(s) => format!(" changed in the last {}", span_text(s)),
            None => String::new(),
        },
        summary.unchanged,
        if summary.failed.is_empty() {
            String::new()
        } else {
            format!(
                "; {} conversations failed and will be retried on the next push",
                summary.failed.len()
            )
        }
    );
    if let Some(text) = summary.skipped_text() {
        crate::errln!("{text}");
    }
    Ok(summary.exit_status())
}

/// `7d`, `24h`, `30m`, `90s`: a span as typed.
fn span_text(d: chrono::Duration) -> String {
    let secs = d.num_seconds();
    match secs {
        s if s > 0 && s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s > 0 && s % 3600 == 0 => format!("{}h", s / 3600),
        s if s > 0 && s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}
