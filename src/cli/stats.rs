//! `callscope stats`: the stats view's figures for a window of the local cache, as a table
//! (sparklines when stdout is a terminal), JSON or CSV. Same definitions as the TUI (`crate::stats`).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Result, bail};
use chrono::DateTime;
use clap::{Args, ValueEnum};
use serde::Serialize;

use super::window::{WindowArgs, since_help};
use crate::config::{Config, ConnectionArgs, process_env};
use crate::domain::{Filter, Scope};
use crate::export::csv_rows::{self, Text};
use crate::stats::{self, Bucket, SplitBy, Stats, StatsRequest, percent, seconds, sparkline};
use crate::store::Store;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatsFormat {
    Table,
    Json,
    Csv,
}

#[derive(Debug, Args)]
#[command(mut_args(since_help(
    "How far back from --end (or now): e.g. 24h, 7d, 30d (hourly buckets up to 48h, daily beyond)",
    Some("7d")
)))]
pub struct StatsArgs {
    #[command(flatten)]
    pub conn: ConnectionArgs,
    #[command(flatten)]
    pub window: WindowArgs,
    /// Only calls matching this filter (the TUI's `:` syntax, e.g. "voice handoff unreviewed").
    #[arg(long)]
    pub filter: Option<String>,
    /// Compare groups side by side: by agent variant (A/B) or by environment (all of them).
    #[arg(long, value_enum, default_value = "none")]
    pub split: SplitBy,
    #[arg(long, value_enum, default_value = "table")]
    pub format: StatsFormat,
    /// The local store [default: ~/.local/share/callscope/callscope.db].
    #[arg(long, value_name = "PATH")]
    pub store: Option<PathBuf>,
}

pub fn run(args: &StatsArgs) -> Result<i32> {
    crate::logging::init_stderr();
    let cfg = Config::resolve(&args.conn, &process_env)?;
    if cfg.account_id.is_empty() || cfg.project_id.is_empty() {
        bail!(
            "set POLYAI_ACCOUNT_ID and POLYAI_PROJECT_ID (or --account-id/--project-id): the cache is kept per project"
        );
    }
    let env = args.window.env_or(&cfg.client_env);
    let (since, until) = args.window.resolve(chrono::TimeDelta::days(7))?;
    let filter = match &args.filter {
        Some(text) => Filter::parse(text).map_err(|e| anyhow::anyhow!("--filter: {}", e.detail))?,
        None => Filter::default(),
    };
    let path = args.store.clone().unwrap_or_else(crate::store::default_path);
    if !path.exists() {
        bail!(
            "no local store at {}: browse the window in the TUI first (it caches what it shows), or pass --store PATH",
            path.display()
        );
    }
    let store = Store::open_read_only(&path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let offset_ms = i64::from(chrono::Local::now().offset().local_minus_utc()) * 1000;
    let req = StatsRequest::new(
        since.timestamp_millis(),
        until.timestamp_millis(),
        offset_ms,
        args.split,
    );
    // A split by environment compares every environment of the project.
    let scope = match args.split {
        SplitBy::Env => Scope::project(&cfg.account_id, &cfg.project_id),
        _ => Scope::env(&cfg.account_id, &cfg.project_id, &env),
    };
    let s = store.stats(&scope, &filter, &req).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut out = std::io::stdout().lock();
    let written = match args.format {
        StatsFormat::Json => {
            let json = serde_json::to_string_pretty(&s)?;
            writeln!(out, "{}", crate::sanitize::escape_json_controls(&json))
        }
        StatsFormat::Csv => write_csv(&mut out, &s),
        StatsFormat::Table => {
            let heading = format!("{} · {env} · filter: {}", cfg.project_id, filter.summary());
            let text = table(&s, &heading, offset_ms, std::io::stdout().is_terminal());
            out.write_all(crate::output::terminal_text(&text).as_bytes())
        }
    };
    match written.and_then(|_| out.flush()) {
        Ok(()) => Ok(0),
        // `| head` closed the pipe: not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
        Err(e) => Err(e.into()),
    }
}

fn local(ms: i64, offset_ms: i64, bucket: Bucket) -> String {
    let t = DateTime::from_timestamp_millis(ms + offset_ms).unwrap_or_default();
    match bucket {
        Bucket::Hour => t.format("%m-%d %H:00").to_string(),
        Bucket::Day => t.format("%Y-%m-%d").to_string(),
    }
}

/// The human table; `spark` adds sparklines (only for a terminal: they are not data).
pub fn table(s: &Stats, heading: &str, offset_ms: i64, spark: bool) -> String {
    let mut o = String::new();
    let mut line = |l: String| {
        o.push_str(&l);
        o.push('\n');
    };
    let per = match s.bucket {
        Bucket::Hour => "hour",
        Bucket::Day => "day",
    };
    line(format!(
        "{heading} · {} → {}",
        local(s.since_ms, offset_ms, Bucket::Hour),
        local(s.until_ms, offset_ms, Bucket::Hour)
    ));
    let counts: Vec<u64> = s.buckets.iter().map(|b| b.calls).collect();
    let handoffs: Vec<u64> = s.buckets.iter().map(|b| b.handoffs).collect();
    let spark_of = |v: &[u64]| {
        if spark {
            format!("  {}", sparkline(v))
        } else {
            String::new()
        }
    };
    line(format!(
        "calls            {:>8}   voice {} · chat {}{}",
        s.calls,
        s.voice,
        s.chat,
        spark_of(&counts)
    ));
    line(format!(
        "handoff rate     {:>8}   {} handed off · containment {}{}",
        percent(s.handoff_rate()),
        s.handoffs,
        percent(s.containment_rate()),
        spark_of(&handoffs)
    ));
    line(format!(
        "turn latency     p50 {} · p95 {} · p99 {} over {} turns of {} cached transcripts",
        seconds(s.latency.p50),
        seconds(s.latency.p95),
        seconds(s.latency.p99),
        s.latency.n,
        s.with_transcript
    ));
    line(format!(
        "in progress      {:>8}   hidden transcripts {}",
        s.in_progress, s.hidden_transcripts
    ));
    line(format!(
        "review           reviewed {} · follow-up {} · flagged {} · unreviewed {}",
        s.review.reviewed, s.review.follow_up, s.review.flagged, s.review.unreviewed
    ));
    line(format!(
        "QA scores        {:>8}   calls scored {} · mean {} · median {} · auto-failed {}",
        s.qa.scores,
        s.qa.scored,
        points(s.qa.mean),
        points(s.qa.median),
        s.qa.auto_failed
    ));
    line(String::new());
    line(format!(
        "{:<16} {:>6} {:>6} {:>6} {:>8} {:>7} {:>7} {:>7}",
        format!("per {per}"),
        "calls",
        "voice",
        "chat",
        "handoff",
        "p50",
        "p95",
        "p99"
    ));
    for b in &s.buckets {
        line(format!(
            "{:<16} {:>6} {:>6} {:>6} {:>8} {:>7} {:>7} {:>7}",
            local(b.start_ms, offset_ms, s.bucket),
            b.calls,
            b.voice,
            b.chat,
            percent(b.handoff_rate()),
            seconds(b.latency.p50),
            seconds(b.latency.p95),
            seconds(b.latency.p99)
        ));
    }
    line(String::new());
    line("latency histogram (turns)".into());
    for (i, n) in s.latency_histogram.iter().enumerate() {
        line(format!("  {:<12} {n:>8}", bin_label(i)));
    }
    for (title, counts) in [
        ("top handoff reasons", &s.handoff_reasons),
        ("top intents", &s.intents),
        ("top topics", &s.topics),
    ] {
        line(String::new());
        line(format!("{title} (calls)"));
        if counts.is_empty() {
            line("  –".into());
        }
        for c in counts {
            line(format!("  {:<32} {:>8}", crate::sanitize::fit(&c.name, 32), c.calls));
        }
    }
    line(String::new());
    line(format!("PolyScore (calls, {} scored)", s.poly_scored));
    if s.poly_score.is_empty() {
        line("  –".into());
    }
    for (score, n) in &s.poly_score {
        line(format!("  {score:<12} {n:>8}"));
    }
    qa_table(&mut line, &s.qa);
    if let Some(split) = &s.split {
        line(String::new());
        line(format!(
            "{:<20} {:>7} {:>8} {:>7} {:>7} {:>9} {:>6}",
            match split.by {
                SplitBy::Env => "by environment",
                _ => "by variant",
            },
            "calls",
            "handoff",
            "p50",
            "p95",
            "PolyScore",
            "QA"
        ));
        for g in &split.groups {
            line(format!(
                "{:<20} {:>7} {:>8} {:>7} {:>7} {:>9} {:>6}",
                crate::sanitize::fit(&g.name, 20),
                g.calls,
                percent(g.handoff_rate()),
                seconds(g.latency.p50),
                seconds(g.latency.p95),
                g.poly_score_mean.map_or("–".into(), |m| format!("{m:.2}")),
                points(g.qa_score_mean)
            ));
        }
        if let Some(d) = &split.difference {
            line(format!(
                "{} − {}: handoff {} (z {}), p50 {} ({}), PolyScore {}, QA {} (z {})",
                crate::sanitize::fit(&d.b, 20),
                crate::sanitize::fit(&d.a, 20),
                signed_points(d.handoff_rate),
                d.handoff_z.map_or("–".into(), |z| format!("{z:+.2}")),
                d.latency_p50.map_or("–".into(), |v| format!("{v:+.2}s")),
                d.latency_p50_relative
                    .map_or("–".into(), |v| format!("{:+.1}%", v * 100.0)),
                d.poly_score_mean.map_or("–".into(), |v| format!("{v:+.2}")),
                d.qa_score_mean.map_or("–".into(), |v| format!("{v:+.1}")),
                d.qa_z.map_or("–".into(), |z| format!("{z:+.2}"))
            ));
        }
    }
    o
}

/// `72.5` (a QA score), or `–`.
fn points(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.1}"))
}

/// The QA section: the score distribution, each scorecard's questions, each reviewer.
fn qa_table(line: &mut impl FnMut(String), qa: &stats::Qa) {
    // Names come from the store (validated on save, but a store is a file anyone can edit).
    let fit = |s: &str, cols: usize| crate::sanitize::fit(&crate::sanitize::sanitize_line(s), cols);
    line(String::new());
    line(format!("QA score distribution (scores, {} in all)", qa.scores));
    for (i, n) in qa.distribution.iter().enumerate() {
        line(format!("  {:<12} {n:>8}", qa_bin_label(i)));
    }
    for card in &qa.scorecards {
        line(String::new());
        line(format!("scorecard {} ({} saves)", fit(&card.name, 40), card.saves));
        for q in &card.questions {
            let figure = match q.kind {
                stats::AnswerKind::YesNo => format!(
                    "pass {} (yes {} · no {} · n.a. {})",
                    percent(q.pass_rate()),
                    q.yes,
                    q.no,
                    q.na
                ),
                stats::AnswerKind::Scale => format!("mean {}", q.mean.map_or("–".into(), |m| format!("{m:.2}"))),
                stats::AnswerKind::Choice => q
                    .answers
                    .iter()
                    .map(|c| format!("{} {}", fit(&c.name, 20), c.calls))
                    .collect::<Vec<_>>()
                    .join(" · "),
            };
            line(format!("  {:<28} {:>6}  {figure}", fit(&q.id, 28), q.answered));
        }
    }
    line(String::new());
    line(format!(
        "{:<28} {:>8} {:>8} {:>8} {:>6}",
        "per reviewer", "reviewed", "flagged", "scored", "mean"
    ));
    if qa.reviewers.is_empty() {
        line("  –".into());
    }
    for r in &qa.reviewers {
        line(format!(
            "{:<28} {:>8} {:>8} {:>8} {:>6}",
            fit(&r.name, 28),
            r.reviewed,
            r.flagged,
            r.scored,
            points(r.mean_score)
        ));
    }
}

/// `60–70`, `90–100`: a QA score bucket.
pub fn qa_bin_label(i: usize) -> String {
    match stats::qa_bucket_bounds(i) {
        (lo, Some(hi)) => format!("{lo}–{hi}"),
        (lo, None) => format!("{lo}–100"),
    }
}

/// `+2.5 pts`: a rate difference in percentage points.
fn signed_points(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{:+.1} pts", v * 100.0))
}

pub fn bin_label(i: usize) -> String {
    match stats::latency_bin_bounds(i) {
        (lo, Some(hi)) => format!("{lo}–{hi}s"),
        (lo, None) => format!("≥{lo}s"),
    }
}

/// One row of the long-form CSV; the header is these field names.
#[derive(Default, Serialize)]
struct StatsRow<'a> {
    figure: &'a str,
    key: Text<'a>,
    value: String,
}

/// Long form, one figure per row: `figure,key,value` (keys: bucket start in RFC 3339, a name,
/// a histogram bin).
pub fn write_csv(out: &mut impl Write, s: &Stats) -> std::io::Result<()> {
    let mut rows = Vec::new();
    let mut row = |figure: &'static str, key: &str, value: String| {
        rows.push(StatsRow {
            figure,
            key: key.to_string().into(),
            value,
        });
    };
    let opt = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    row("calls", "", s.calls.to_string());
    row("voice", "", s.voice.to_string());
    row("chat", "", s.chat.to_string());
    row("handoffs", "", s.handoffs.to_string());
    row("handoff_rate", "", opt(s.handoff_rate()));
    row("containment_rate", "", opt(s.containment_rate()));
    row("latency_turns", "", s.latency.n.to_string());
    row("latency_p50", "", opt(s.latency.p50));
    row("latency_p95", "", opt(s.latency.p95));
    row("latency_p99", "", opt(s.latency.p99));
    row("in_progress", "", s.in_progress.to_string());
    row("hidden_transcripts", "", s.hidden_transcripts.to_string());
    row("reviewed", "", s.review.reviewed.to_string());
    row("follow_up", "", s.review.follow_up.to_string());
    row("flagged", "", s.review.flagged.to_string());
    row("unreviewed", "", s.review.unreviewed.to_string());
    for b in &s.buckets {
        let key = DateTime::from_timestamp_millis(b.start_ms)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        row("bucket_calls", &key, b.calls.to_string());
        row("bucket_voice", &key, b.voice.to_string());
        row("bucket_chat", &key, b.chat.to_string());
        row("bucket_handoffs", &key, b.handoffs.to_string());
        row("bucket_latency_p50", &key, opt(b.latency.p50));
        row("bucket_latency_p95", &key, opt(b.latency.p95));
        row("bucket_latency_p99", &key, opt(b.latency.p99));
    }
    for (i, n) in s.latency_histogram.iter().enumerate() {
        row("latency_histogram", &bin_label(i), n.to_string());
    }
    for (figure, counts) in [
        ("handoff_reason", &s.handoff_reasons),
        ("intent", &s.intents),
        ("topic", &s.topics),
    ] {
        for c in counts {
            row(figure, &c.name, c.calls.to_string());
        }
    }
    for (score, n) in &s.poly_score {
        row("poly_score", &score.to_string(), n.to_string());
    }
    if let Some(split) = &s.split {
        for g in &split.groups {
            row("group_calls", &g.name, g.calls.to_string());
            row("group_handoff_rate", &g.name, opt(g.handoff_rate()));
            row("group_latency_p50", &g.name, opt(g.latency.p50));
            row("group_latency_p95", &g.name, opt(g.latency.p95));
            row("group_poly_score_mean", &g.name, opt(g.poly_score_mean));
            row("group_qa_scores", &g.name, g.qa_scores.to_string());
            row("group_qa_score_mean", &g.name, opt(g.qa_score_mean));
        }
        if let Some(d) = &split.difference {
            let key = format!("{}-{}", d.b, d.a);
            row("difference_qa_score_mean", &key, opt(d.qa_score_mean));
            row("difference_qa_z", &key, opt(d.qa_z));
        }
    }
    let qa = &s.qa;
    row("qa_scored_calls", "", qa.scored.to_string());
    row("qa_scores", "", qa.scores.to_string());
    row("qa_score_mean", "", opt(qa.mean));
    row("qa_score_median", "", opt(qa.median));
    row("qa_auto_failed", "", qa.auto_failed.to_string());
    for (i, n) in qa.distribution.iter().enumerate() {
        row("qa_score_bucket", &qa_bin_label(i), n.to_string());
    }
    for card in &qa.scorecards {
        row("qa_scorecard_saves", &card.name, card.saves.to_string());
        for q in &card.questions {
            let key = format!("{}/{}", card.name, q.id);
            row("qa_question_answered", &key, q.answered.to_string());
            if q.kind == stats::AnswerKind::YesNo {
                row("qa_question_pass_rate", &key, opt(q.pass_rate()));
            }
            if q.kind == stats::AnswerKind::Scale {
                row("qa_question_mean", &key, opt(q.mean));
            }
            for a in &q.answers {
                row("qa_question_answer", &format!("{key}={}", a.name), a.calls.to_string());
            }
        }
    }
    for r in &qa.reviewers {
        row("reviewer_reviewed", &r.name, r.reviewed.to_string());
        row("reviewer_flagged", &r.name, r.flagged.to_string());
        row("reviewer_scored", &r.name, r.scored.to_string());
        row("reviewer_mean_score", &r.name, opt(r.mean_score));
    }
    csv_rows::write_header::<StatsRow>(out)?;
    csv_rows::write_rows(out, rows)
}
