//! `callscope queue create|list|status|export|claim|done`: review queues in the team database.
//! A queue is a uniform random sample of a window (the API's `sample=random`, or with a seed, a
//! filter or strata a walk of the window: same seed, same sample); reviewers claim
//! items with a lease, so nobody takes an item someone else holds.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use chrono::Duration as ChronoDuration;
use clap::{Args, Subcommand, ValueEnum};

use super::team::{ConfigArg, section};
use super::window::{WindowArgs, since_help};
use crate::api::{Client, CursorGuard, ListQuery, RawPage};
use crate::config::{Config, ConnectionArgs, FileConfig, process_env};
use crate::team::{self, NewQueue, Team, sample, scorecard};

/// Exit status of `queue claim` when nothing is left to claim.
pub const NOTHING_LEFT: i32 = 3;

#[derive(Debug, Args)]
pub struct QueueArgs {
    #[command(subcommand)]
    pub command: QueueCommand,
}

#[derive(Debug, Subcommand)]
pub enum QueueCommand {
    /// Sample a window into a new queue: a uniform random sample, by the API (`sample=random`) or,
    /// with --seed, --filter or --stratify, over a full walk of the list.
    Create(Box<CreateArgs>),
    /// The queues in the team database, with their progress.
    List(ListArgs),
    /// Progress per reviewer, and agreement per question where an item has two or more reviews.
    Status(StatusArgs),
    /// The queue's items with every review (reviewer, time, score, answers) as JSONL.
    Export(ExportArgs),
    /// Claim the next item nobody holds; prints its conversation id (exit 3: nothing left for you).
    Claim(ClaimArgs),
    /// Finish your claim on an item, with the scorecard's answers (QUESTION=ANSWER).
    Done(DoneArgs),
}

/// Who is reviewing.
#[derive(Debug, Clone, Default, Args)]
pub struct Who {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Reviewer name [env: CALLSCOPE_REVIEWER; default: `reviewer` in the config, else user@host].
    #[arg(long, value_name = "NAME")]
    pub reviewer: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
#[command(mut_args(since_help("The window: how far back from --end (e.g. 30m, 24h, 7d) [default: 24h]", None)))]
pub struct CreateArgs {
    /// The queue's name (letters, digits, `-`, `_`, `.`).
    pub name: String,
    #[command(flatten)]
    pub conn: ConnectionArgs,
    #[command(flatten)]
    pub window: WindowArgs,
    /// How many conversations to sample (1–10000).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=10000))]
    pub sample: u32,
    /// Only conversations matching this filter (the TUI's `:` syntax, e.g. "voice handoff latency>2";
    /// review terms such as `unreviewed` see every call as not yet marked).
    #[arg(long, value_name = "FILTER")]
    pub filter: Option<String>,
    /// Split the sample across the values of a field in proportion to their counts.
    #[arg(long, value_parser = ["channel"])]
    pub stratify: Option<String>,
    /// Seed of the sample: the window is walked, and the same seed over it gives the same sample
    /// [default: the API samples, in one request].
    #[arg(long)]
    pub seed: Option<u64>,
    /// The scorecard reviewers answer [default: voice-qa].
    #[arg(long, value_name = "NAME")]
    pub scorecard: Option<String>,
    /// Reviews wanted per item (for agreement figures, 2 or more).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub reviewers_per_item: u32,
    /// Only these reviewers may claim (comma-separated) [default: anyone].
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    pub assign: Vec<String>,
    /// Reviewer name recorded as the queue's creator [env: CALLSCOPE_REVIEWER].
    #[arg(long, value_name = "NAME")]
    pub reviewer: Option<String>,
    /// Page size of the walk (1–1000).
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub page_size: u32,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutFormat,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    pub name: String,
    #[command(flatten)]
    pub config: ConfigArg,
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutFormat,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    pub name: String,
    #[command(flatten)]
    pub config: ConfigArg,
    /// Write here (atomically) instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ClaimArgs {
    pub name: String,
    #[command(flatten)]
    pub who: Who,
    /// How long the claim holds without renewal, e.g. 15m, 90s [default: [team] lease, else 15m].
    #[arg(long, value_parser = crate::domain::duration::parse)]
    pub lease: Option<std::time::Duration>,
}

#[derive(Debug, Args)]
pub struct DoneArgs {
    pub name: String,
    /// The conversation id `queue claim` printed.
    pub id: String,
    #[command(flatten)]
    pub who: Who,
    /// An answer to the queue's scorecard, QUESTION=ANSWER (repeatable; all required ones, or none).
    #[arg(long = "answer", value_name = "Q=A")]
    pub answers: Vec<String>,
}

impl QueueArgs {
    /// The config file this command reads.
    pub fn config(&self) -> Option<PathBuf> {
        match &self.command {
            QueueCommand::Create(a) => a.conn.config.clone(),
            QueueCommand::List(a) => a.config.config.clone(),
            QueueCommand::Status(a) => a.config.config.clone(),
            QueueCommand::Export(a) => a.config.config.clone(),
            QueueCommand::Claim(a) => a.who.config.config.clone(),
            QueueCommand::Done(a) => a.who.config.config.clone(),
        }
    }
}

async fn open(config: Option<&std::path::Path>) -> Result<(Team, FileConfig)> {
    let file = section(config)?;
    let team = Team::open(&file.team, &process_env).await?;
    Ok((team, file))
}

fn who(w: &Who, file: &FileConfig) -> Result<String> {
    team::reviewer(w.reviewer.as_deref(), &process_env, file.reviewer.as_deref())
}

pub async fn run(args: QueueArgs) -> Result<i32> {
    match args.command {
        QueueCommand::Create(a) => create(*a).await,
        QueueCommand::List(a) => {
            let (team, _) = open(a.config.config.as_deref()).await?;
            let queues = team.queues().await?;
            match a.format {
                OutFormat::Json => crate::outln!("{}", serde_json::to_string(&queues)?),
                OutFormat::Text if queues.is_empty() => {
                    crate::errln!("no queues yet: callscope queue create NAME --since 24h --sample 50")
                }
                OutFormat::Text => {
                    for q in queues {
                        let wanted = q.items * i64::from(q.reviewers_per_item);
                        crate::outln!(
                            "{}\t{}/{} reviews done\t{} items × {}\tscorecard {}\tby {} at {}\t{}",
                            q.name,
                            q.reviews_done,
                            wanted,
                            q.items,
                            q.reviewers_per_item,
                            q.scorecard,
                            q.created_by,
                            q.created_at,
                            q.recipe
                        );
                    }
                }
            }
            Ok(0)
        }
        QueueCommand::Status(a) => {
            let (team, _) = open(a.config.config.as_deref()).await?;
            let queue = team.queue(&a.name).await?;
            let status = team.status(&queue).await?;
            match a.format {
                OutFormat::Json => crate::outln!("{}", serde_json::to_string(&status)?),
                OutFormat::Text => print_status(&status),
            }
            Ok(0)
        }
        QueueCommand::Export(a) => {
            let (team, _) = open(a.config.config.as_deref()).await?;
            let queue = team.queue(&a.name).await?;
            let n = match &a.out {
                Some(path) => {
                    let mut file = crate::fsutil::AtomicFile::create(path)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    let n = team.export(&queue, &mut file).await?;
                    file.commit()
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    n
                }
                None => team.export(&queue, &mut std::io::stdout().lock()).await?,
            };
            crate::errln!("exported {} of queue {}", crate::output::count(n, "item"), queue.name);
            Ok(0)
        }
        QueueCommand::Claim(a) => {
            let (team, file) = open(a.who.config.config.as_deref()).await?;
            let reviewer = who(&a.who, &file)?;
            let lease = match a.lease {
                Some(l) => l,
                None => file.team.lease()?,
            };
            if lease.is_zero() {
                bail!("--lease must be more than 0, e.g. 15m");
            }
            let queue = team.queue(&a.name).await?;
            match team.claim(&queue, &reviewer, lease).await? {
                Some(id) => {
                    crate::outln!("{id}");
                    Ok(0)
                }
                None => {
                    crate::errln!("nothing left to claim in queue {} for {reviewer}", queue.name);
                    Ok(NOTHING_LEFT)
                }
            }
        }
        QueueCommand::Done(a) => {
            let (mut team, file) = open(a.who.config.config.as_deref()).await?;
            let reviewer = who(&a.who, &file)?;
            let queue = team.queue(&a.name).await?;
            let answers = queue
                .scorecard
                .parse_answers(a.answers.iter().map(String::as_str))
                .map_err(|e| anyhow!(e))?;
            let score = team.done(&queue, &a.id, &reviewer, &answers).await?;
            match score {
                Some(s) => crate::errln!("done: {} in queue {} (score {s:.1})", a.id, queue.name),
                None => crate::errln!("done: {} in queue {}", a.id, queue.name),
            }
            Ok(0)
        }
    }
}

fn print_status(s: &team::Status) {
    crate::outln!(
        "queue {} · scorecard {} · {}/{} items done · {}/{} reviews done ({} per item)",
        s.queue,
        s.scorecard,
        s.items_done,
        s.items,
        s.reviews_done,
        s.reviews_wanted,
        s.reviewers_per_item
    );
    if s.reviewers.is_empty() {
        crate::outln!("no reviews yet");
    }
    for r in &s.reviewers {
        crate::outln!("  {}\t{} done\t{} in progress", r.reviewer, r.done, r.in_progress);
    }
    let compared: Vec<_> = s.questions.iter().filter(|q| q.agreement.is_some()).collect();
    if compared.is_empty() {
        crate::outln!("agreement: no item has two reviews yet");
        return;
    }
    crate::outln!("agreement (items with two or more reviews):");
    for q in compared {
        let Some(a) = q.agreement.as_ref() else {
            continue;
        };
        let kappa = a
            .kappa
            .map_or("n/a (one answer only)".to_string(), |k| format!("{k:.2}"));
        crate::outln!(
            "  {}\t{:.0} % agree\tkappa {kappa}\t{} pairs",
            q.question,
            a.percent,
            a.pairs
        );
    }
}

/// The most the API samples in one request (its page limit).
const API_SAMPLE_MAX: u32 = 1000;

fn random_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    nanos ^ u64::from(std::process::id()).rotate_left(32)
}

fn sample_item(c: &crate::api::Conversation, stratum: String) -> sample::Item {
    sample::Item {
        id: c.id.clone(),
        stratum,
        started_at: c
            .started_at
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default(),
    }
}

/// One `sample=random` request for `n` conversations of the window. `None` when the server does
/// not serve it: a 400 (it refused the parameter), or an answer that is a list page rather than a
/// sample (a next cursor, or more than asked: the parameter was ignored, and its first page is not
/// random) — then the caller walks.
async fn sample_by_api(
    client: &Client,
    start: chrono::DateTime<chrono::Utc>,
    end: chrono::DateTime<chrono::Utc>,
    env: &str,
    n: u32,
) -> Result<Option<Vec<sample::Item>>> {
    let query = ListQuery {
        start_time: Some(start),
        end_time: Some(end),
        limit: Some(n),
        client_env: Some(env.to_string()),
        sample_random: true,
        ..Default::default()
    };
    let body = match client.list_page_raw(&query).await {
        Ok(body) => body,
        Err(e) if e.kind == crate::api::ErrorKind::BadRequest => {
            crate::errln!("the API did not take sample=random ({e}); walking the window instead");
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    };
    let page: RawPage = body.parse()?;
    if page.cursor.is_some() || page.records.len() > n as usize {
        crate::errln!("the API answered sample=random with a list page; walking the window instead");
        return Ok(None);
    }
    let mut seen = std::collections::HashSet::new();
    let items = page
        .records
        .iter()
        .filter_map(|raw| crate::api::lenient::read_record(raw))
        .filter(|c| !c.id.is_empty() && seen.insert(c.id.clone()))
        .map(|c| sample_item(&c, String::new()))
        .collect();
    Ok(Some(items))
}

/// A bottom-k reservoir over a full walk of the window: uniform, bounded memory, and the same
/// seed over the same window gives the same sample. Returns the sample and how many matched.
async fn sample_by_walk(
    client: &Client,
    a: &CreateArgs,
    start: chrono::DateTime<chrono::Utc>,
    end: chrono::DateTime<chrono::Utc>,
    env: &str,
    filter: Option<&crate::domain::Filter>,
    seed: u64,
) -> Result<(Vec<sample::Item>, u64)> {
    let mut sampler = sample::Sampler::new(a.sample as usize, seed);
    let mut query = ListQuery {
        start_time: Some(start),
        end_time: Some(end),
        limit: Some(a.page_size),
        client_env: Some(env.to_string()),
        ..Default::default()
    };
    let mut cursors = CursorGuard::default();
    loop {
        let body = client.list_page_raw(&query).await?;
        let page: RawPage = body.parse()?;
        for raw in &page.records {
            let Some(c) = crate::api::lenient::read_record(raw) else {
                continue;
            };
            if c.id.is_empty() || filter.is_some_and(|f| !f.matches(&c, None)) {
                continue;
            }
            let stratum = match a.stratify.as_deref() {
                Some("channel") => c.channel.clone(),
                _ => String::new(),
            };
            sampler.offer(sample_item(&c, stratum)).map_err(|e| anyhow!(e))?;
        }
        match cursors.follow(page.cursor)? {
            Some(c) => query.cursor = Some(c),
            None => break,
        }
    }
    let matched = sampler.seen();
    Ok((sampler.finish(), matched))
}

fn check_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > 100
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        bail!("a queue name is 1–100 letters, digits, `-`, `_` or `.` (got {name:?})");
    }
    Ok(())
}

async fn create(a: CreateArgs) -> Result<i32> {
    crate::logging::init_stderr();
    check_name(&a.name)?;
    let file = section(a.conn.config.as_deref())?;
    let card_name = a.scorecard.clone().unwrap_or_else(|| scorecard::DEFAULT.to_string());
    let card = scorecard::find(&file.scorecards, &card_name).map_err(|e| anyhow!(e))?;
    let creator = team::reviewer(a.reviewer.as_deref(), &process_env, file.reviewer.as_deref())?;
    let filter = a
        .filter
        .as_deref()
        .map(crate::domain::Filter::parse)
        .transpose()
        .map_err(|e| anyhow!("--filter: {}", e.detail))?;
    let assignees: Vec<String> = a
        .assign
        .iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let mut team = Team::open(&file.team, &process_env).await?;
    let cfg = Config::resolve(&a.conn, &process_env)?;
    cfg.require_complete()?;
    let client = Client::new(&cfg)?;
    let env = a.window.env_or(&cfg.client_env);
    let (start, end) = a.window.resolve(ChronoDuration::hours(24))?;
    // Without a seed, a filter or strata, the API picks the sample in one request where it serves
    // `sample=random`; anything else (or a server without it) walks the window into a reservoir.
    let by_api = if a.seed.is_none() && filter.is_none() && a.stratify.is_none() && a.sample <= API_SAMPLE_MAX {
        sample_by_api(&client, start, end, &env, a.sample).await?
    } else {
        None
    };
    let (items, matched, seed) = match by_api {
        Some(items) => (items, None, None),
        None => {
            let seed = a.seed.unwrap_or_else(random_seed);
            let (items, matched) = sample_by_walk(&client, &a, start, end, &env, filter.as_ref(), seed).await?;
            (items, Some(matched), Some(seed))
        }
    };
    if items.is_empty() {
        bail!(
            "no conversation in the window{}: widen --since or check --env",
            if filter.is_some() { " matches --filter" } else { "" }
        );
    }
    let mut recipe: BTreeMap<&str, String> = BTreeMap::new();
    recipe.insert("start", start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    recipe.insert("end", end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    recipe.insert("env", env);
    recipe.insert("sample", a.sample.to_string());
    match seed {
        Some(seed) => recipe.insert("seed", seed.to_string()),
        None => recipe.insert("sampler", "api".to_string()),
    };
    if let Some(f) = &a.filter {
        recipe.insert("filter", f.clone());
    }
    if let Some(s) = &a.stratify {
        recipe.insert("stratify", s.clone());
    }
    let recipe_text = recipe
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ");
    let n = items.len();
    team.create_queue(&NewQueue {
        name: a.name.clone(),
        created_by: creator,
        recipe: recipe_text,
        scorecard: card,
        reviewers_per_item: a.reviewers_per_item,
        assignees,
        items,
    })
    .await?;
    let how = match (matched, seed) {
        (Some(matched), Some(seed)) => {
            format!("{n} of {matched} conversations (seed {seed}; the same seed gives the same sample)")
        }
        _ => format!("{n} conversations sampled by the API (sample=random; --seed N gives a sample you can repeat)"),
    };
    crate::outln!(
        "queue {}: {how}, scorecard {card_name}, {} per item",
        a.name,
        crate::output::count(u64::from(a.reviewers_per_item), "review")
    );
    Ok(0)
}
