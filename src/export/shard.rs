//! The export's walk: the window split into time shards walked concurrently (issue 16).
//!
//! Every shard is walked with the cursor, one page at a time; [`Concurrency`] decides how many
//! page requests are out at once (fixed, or adaptive: grow while answers stay fast, halve on a 429
//! or a timeout) and the client's shared rate gate makes every shard honour a `Retry-After`.
//! The list is ascending by `(started_at, id)` with `start_time` inclusive and `end_time`
//! exclusive, so the shards' outputs put end to end are the sequential export, byte for byte.
//!
//! Where pages go:
//! - **stdout / a writer, in time order**: each shard has a small channel and only a few shards
//!   past the one being written may run ([`LOOKAHEAD_PER_SLOT`]), so memory is bounded by pages,
//!   not by the window.
//! - **`--unordered`**: one channel, pages written as they come.
//! - **`--resume --out FILE`**: each shard appends to its own part file in a hidden directory
//!   beside the target, with a checkpoint (via [`crate::fsutil::write_atomic`]) after every page;
//!   the file is assembled in time order when all shards are done. Run again, the export
//!   continues from the checkpoint: part files are cut back to what it vouches for, so only the
//!   pages that were in flight are fetched again. (Without `--resume` a file is written through
//!   [`crate::fsutil::AtomicFile`] as before, and an interruption leaves nothing behind.)

use std::collections::BTreeMap;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::JoinSet;

use super::audio_jobs::{AudioJobs, CallRef};
use super::{ExportOptions, ExportSummary, Format, format, progress};
use crate::api::{Client, CursorGuard, ErrorKind, ListQuery, PathFamily, RawPage, ReadReport, Route};
use crate::studio::StudioLinks;

/// Adaptive concurrency starts here and grows to [`ADAPTIVE_MAX`].
const ADAPTIVE_START: usize = 2;
const ADAPTIVE_MAX: usize = 16;
/// Shards per unit of the concurrency ceiling: enough that a slow shard does not leave the
/// others idle at the end, few enough that splitting adds only a page or so per shard.
const SHARDS_PER_SLOT: usize = 4;
/// In time order without a file: shards past the one being written that may be walked at once.
/// Memory: at most (lookahead + 1) × (queue + 1) pages, each at most `max_page_bytes`.
const LOOKAHEAD_PER_SLOT: usize = 1;
/// Pages a shard may have fetched and not yet handed over.
const SHARD_QUEUE: usize = 1;
/// An answer counts as fast within this factor of the fastest one seen.
const FAST_FACTOR: f64 = 2.0;
/// After halving, no further halving or growth for this long (a burst of 429s is one signal).
const BACKOFF_QUIET: Duration = Duration::from_millis(500);
const CHECKPOINT_VERSION: u32 = 1;

/// How many page requests may be out at once.
pub struct Concurrency {
    state: Mutex<Ctl>,
    changed: Notify,
    adaptive: bool,
    max: usize,
}

#[derive(Debug)]
struct Ctl {
    limit: usize,
    in_flight: usize,
    fastest: Option<Duration>,
    quiet_until: Option<Instant>,
    peak: usize,
    cuts: u64,
}

impl Concurrency {
    pub fn fixed(n: usize) -> Concurrency {
        Self::new(n.max(1), n.max(1), false)
    }

    pub fn adaptive() -> Concurrency {
        Self::new(ADAPTIVE_START, ADAPTIVE_MAX, true)
    }

    fn new(limit: usize, max: usize, adaptive: bool) -> Concurrency {
        Concurrency {
            state: Mutex::new(Ctl {
                limit,
                in_flight: 0,
                fastest: None,
                quiet_until: None,
                peak: limit,
                cuts: 0,
            }),
            changed: Notify::new(),
            adaptive,
            max,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ctl> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The most requests that may ever be out at once (sizes the shard plan).
    pub fn ceiling(&self) -> usize {
        self.max
    }

    pub fn limit(&self) -> usize {
        self.lock().limit
    }

    /// The highest limit reached and how many times it was halved.
    pub fn stats(&self) -> (usize, u64) {
        let c = self.lock();
        (c.peak, c.cuts)
    }

    /// Waits for a free slot.
    pub async fn acquire(&self) {
        loop {
            // Created before the check, so a release between the check and the wait is not missed.
            let changed = self.changed.notified();
            {
                let mut c = self.lock();
                if c.in_flight < c.limit {
                    c.in_flight += 1;
                    return;
                }
            }
            changed.await;
        }
    }

    /// Frees a slot; a successful answer within [`FAST_FACTOR`] of the fastest grows the limit by one
    /// (so it doubles per round of answers while they stay fast).
    pub fn release(&self, took: Option<Duration>) {
        let mut c = self.lock();
        c.in_flight = c.in_flight.saturating_sub(1);
        if let (true, Some(took)) = (self.adaptive, took) {
            let fastest = *c.fastest.get_or_insert(took);
            c.fastest = Some(fastest.min(took));
            let quiet = c.quiet_until.is_some_and(|t| Instant::now() < t);
            if !quiet && took.as_secs_f64() <= fastest.as_secs_f64() * FAST_FACTOR && c.limit < self.max {
                c.limit += 1;
                c.peak = c.peak.max(c.limit);
            }
        }
        drop(c);
        self.changed.notify_waiters();
    }

    /// A 429 or a timeout: halve (adaptive only; at least one).
    pub fn back_off(&self) {
        if !self.adaptive {
            return;
        }
        let mut c = self.lock();
        let now = Instant::now();
        if c.quiet_until.is_some_and(|t| now < t) {
            return;
        }
        c.limit = (c.limit / 2).max(1);
        c.cuts += 1;
        c.quiet_until = Some(now + BACKOFF_QUIET);
        tracing::info!(limit = c.limit, "export: backing off");
    }
}

/// `n` shards of `[start, end)` on whole-second boundaries (the API takes seconds), the last
/// ending exactly at `end`.
pub fn plan(start: DateTime<Utc>, end: DateTime<Utc>, n: usize) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let secs = (end - start).num_seconds().max(1);
    let n = (n as i64).clamp(1, secs);
    let at = |i: i64| {
        if i == n {
            end
        } else {
            start + chrono::Duration::seconds(secs * i / n)
        }
    };
    (0..n).map(|i| (at(i), at(i + 1))).collect()
}

/// What one page of one shard became.
struct PageOut {
    shard: usize,
    bytes: Vec<u8>,
    conversations: u64,
    read: ReadReport,
    audio: Vec<CallRef>,
    /// The cursor of the shard's next page; `None` when this was its last.
    next: Option<String>,
    /// To a file: answered once the page is on disk and in the checkpoint. Until then the walker
    /// keeps its slot, so at most `limit` pages are ever fetched and not yet vouched for.
    written: Option<oneshot::Sender<()>>,
}

/// What every shard walker shares.
struct Walk {
    client: Client,
    query: ListQuery,
    format: Format,
    studio: Option<StudioLinks>,
    want_audio: bool,
    concurrency: Arc<Concurrency>,
    /// Wait for [`PageOut::written`] before the next request.
    acked: bool,
}

impl Walk {
    /// Walks one shard from `cursor` (its start when `None`), handing each page to `tx`.
    async fn shard(
        self: Arc<Self>,
        shard: usize,
        window: (DateTime<Utc>, DateTime<Utc>),
        cursor: Option<String>,
        tx: mpsc::Sender<Result<PageOut>>,
    ) {
        let mut query = self.query.clone();
        (query.start_time, query.end_time, query.cursor) = (Some(window.0), Some(window.1), cursor);
        let mut cursors = CursorGuard::default();
        loop {
            self.concurrency.acquire().await;
            let started = Instant::now();
            let mut page = self.page(shard, &query, &mut cursors).await;
            // Only a success says how fast the server is.
            let took = page.is_ok().then(|| started.elapsed());
            let next = page.as_ref().ok().and_then(|p| p.next.clone());
            let failed = page.is_err();
            let written = match (&mut page, self.acked) {
                (Ok(p), true) => {
                    let (tx, rx) = oneshot::channel();
                    p.written = Some(tx);
                    Some(rx)
                }
                _ => None,
            };
            if written.is_none() {
                self.concurrency.release(took);
            }
            let sent = tx.send(page).await.is_ok();
            if let Some(rx) = written {
                let ok = rx.await.is_ok();
                self.concurrency.release(took);
                if !ok {
                    return;
                }
            }
            if !sent || failed {
                return;
            }
            match next {
                Some(c) => query.cursor = Some(c),
                None => return,
            }
        }
    }

    async fn page(&self, shard: usize, query: &ListQuery, cursors: &mut CursorGuard) -> Result<PageOut> {
        let body = self.client.list_page_raw(query).await?;
        let page: RawPage = body.parse()?;
        let mut out = PageOut {
            shard,
            bytes: Vec::with_capacity(body.bytes().len() + 64),
            conversations: 0,
            read: ReadReport::default(),
            audio: Vec::new(),
            next: None,
            written: None,
        };
        for raw in &page.records {
            let conversation = match self.format {
                // Passed through as sent: read only when its recording is wanted.
                Format::Jsonl => {
                    format::write_raw(&mut out.bytes, raw)?;
                    self.want_audio.then(|| crate::api::lenient::read_record(raw)).flatten()
                }
                // Read field by field: an odd field is left empty, a record without an id skipped.
                f => {
                    let Some(c) = out.read.read(raw) else {
                        continue;
                    };
                    format::write_parsed(&mut out.bytes, f, &c, self.studio.as_ref())?;
                    Some(c)
                }
            };
            out.conversations += 1;
            if let (true, Some(c)) = (self.want_audio, conversation) {
                out.audio.push(CallRef {
                    id: c.id,
                    channel: c.channel,
                    in_progress: c.in_progress,
                });
            }
        }
        out.next = cursors.follow(page.cursor)?;
        Ok(out)
    }
}

/// The window, the shard plan and the walkers' shared state for `args`.
struct Setup {
    window: (DateTime<Utc>, DateTime<Utc>),
    walk: Arc<Walk>,
}

fn setup(client: &Client, args: &ExportOptions, env: &str, studio: Option<&StudioLinks>, acked: bool) -> Result<Setup> {
    let (start, end) = args
        .window
        .resolve(Utc::now(), super::DEFAULT_SINCE)
        .map_err(anyhow::Error::msg)?;
    let concurrency = Arc::new(match args.shards.concurrency {
        Some(n) => Concurrency::fixed(n as usize),
        None => Concurrency::adaptive(),
    });
    let seen = concurrency.clone();
    // Every shard's 429 or timeout is one signal to the one controller.
    let client = client.clone().with_retry_observer(Arc::new(move |n| {
        if matches!(n.reason, ErrorKind::RateLimited | ErrorKind::Timeout) {
            seen.back_off();
        }
    }));
    let query = ListQuery {
        limit: Some(args.page_size),
        client_env: Some(env.to_string()),
        channels: crate::app::state::api_channels(&args.channel),
        include_latency: true,
        ..Default::default()
    };
    Ok(Setup {
        window: (start, end),
        walk: Arc::new(Walk {
            client,
            query,
            format: args.format,
            studio: studio.cloned(),
            want_audio: args.with_audio.is_some(),
            concurrency,
            acked,
        }),
    })
}

impl Setup {
    /// The shards to walk. One when walking sequentially, or unless the server shows that it keeps
    /// to the window: asked for the window's first second, it must answer only calls that started
    /// in it (a server that ignores `start_time`/`end_time` would have every shard repeat the
    /// same calls), and from the v3 list (the Data API's is newest first over every window, so
    /// shards would not put end to end).
    async fn plan(&self) -> Result<Vec<(DateTime<Utc>, DateTime<Utc>)>> {
        let ceiling = self.walk.concurrency.ceiling();
        if ceiling <= 1 {
            return Ok(vec![self.window]);
        }
        let (start, end) = self.window;
        let second = (start + chrono::Duration::seconds(1)).min(end);
        let mut probe = self.walk.query.clone();
        (probe.start_time, probe.end_time, probe.limit) = (Some(start), Some(second), Some(1));
        let client = &self.walk.client;
        let body = client.list_page_raw(&probe).await?;
        let page: RawPage = body.parse()?;
        let keeps_window = page.records.iter().all(|raw| {
            crate::api::lenient::read_record(raw)
                .and_then(|c| c.started_at)
                .is_some_and(|t| t >= start && t < second)
        });
        if !keeps_window {
            tracing::info!(
                "export: the server answered calls outside the window asked for; walking it in one sequence"
            );
        }
        if !keeps_window || client.family_in_use(Route::List) != Some(PathFamily::V3) {
            return Ok(vec![self.window]);
        }
        Ok(plan(start, end, ceiling * SHARDS_PER_SLOT))
    }
}

/// The running totals and side effects of pages as they are written.
struct Absorb {
    summary: ExportSummary,
    audio: Option<AudioJobs>,
    progress: progress::Progress,
}

impl Absorb {
    fn new(client: &Client, args: &ExportOptions) -> Result<Absorb> {
        if let Some(dir) = &args.with_audio {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        Ok(Absorb {
            summary: ExportSummary::default(),
            audio: args
                .with_audio
                .as_ref()
                .map(|dir| AudioJobs::new(client.clone(), dir.clone(), args.audio_concurrency as usize)),
            progress: progress::Progress::new(),
        })
    }

    fn page(&mut self, page: &mut PageOut) {
        self.summary.pages += 1;
        self.summary.conversations += page.conversations;
        merge(&mut self.summary.read, &page.read);
        if let Some(a) = &mut self.audio {
            for c in page.audio.drain(..) {
                a.submit(c);
            }
        }
        self.progress.update(
            self.summary.conversations,
            self.audio.as_ref().map(|a| a.counts()),
            false,
        );
    }

    async fn finish(mut self) -> ExportSummary {
        if let Some(a) = self.audio.take() {
            let (n, progress) = (self.summary.conversations, &mut self.progress);
            let outcome = a
                .finish(|done, total| progress.update(n, Some((done, total)), false))
                .await;
            self.summary.recordings_saved = outcome.saved;
            self.summary.recordings_skipped = outcome.skipped;
            self.summary.recordings_failed = outcome.failed;
        }
        self.progress.update(self.summary.conversations, None, true);
        self.progress.finish();
        self.summary
    }
}

fn merge(into: &mut ReadReport, from: &ReadReport) {
    into.skipped += from.skipped;
    for (k, v) in &from.odd {
        *into.odd.entry(k).or_default() += v;
    }
}

/// The export to a writer (stdout, a FIFO, a test buffer): in time order, or as pages come with
/// `--unordered`.
pub async fn export_stream(
    client: &Client,
    args: &ExportOptions,
    env: &str,
    out: &mut impl Write,
    studio: Option<&StudioLinks>,
) -> Result<ExportSummary> {
    let setup = setup(client, args, env, studio, false)?;
    let shards = setup.plan().await?;
    let mut absorb = Absorb::new(client, args)?;
    format::write_header(out, args.format)?;
    let mut walkers = JoinSet::new();
    let ceiling = setup.walk.concurrency.ceiling();
    if args.shards.unordered {
        let (tx, mut rx) = mpsc::channel(ceiling * SHARD_QUEUE);
        for (i, w) in shards.iter().enumerate() {
            walkers.spawn(setup.walk.clone().shard(i, *w, None, tx.clone()));
        }
        drop(tx);
        while let Some(page) = rx.recv().await {
            let mut page = page?;
            out.write_all(&page.bytes)?;
            absorb.page(&mut page);
        }
    } else {
        let lookahead = ceiling * LOOKAHEAD_PER_SLOT;
        let mut queues: Vec<Option<mpsc::Receiver<Result<PageOut>>>> = Vec::new();
        for head in 0..shards.len() {
            // Start the shards up to `lookahead` past the one being written.
            while queues.len() < shards.len() && queues.len() <= head + lookahead {
                let (tx, rx) = mpsc::channel(SHARD_QUEUE);
                let i = queues.len();
                walkers.spawn(setup.walk.clone().shard(i, shards[i], None, tx));
                queues.push(Some(rx));
            }
            // Each shard is written once, in order: its queue is always still there.
            let Some(mut rx) = queues[head].take() else {
                return Err(anyhow::anyhow!("shard {head} of the export was written twice"));
            };
            while let Some(page) = rx.recv().await {
                let mut page = page?;
                out.write_all(&page.bytes)?;
                absorb.page(&mut page);
            }
        }
    }
    out.flush()?;
    let mut summary = absorb.finish().await;
    (summary.concurrency_peak, summary.concurrency_cuts) = setup.walk.concurrency.stats();
    Ok(summary)
}

/// A resumable export's state, beside the target as `.NAME.export/checkpoint.json`.
#[derive(Debug, Serialize, Deserialize)]
struct Checkpoint {
    version: u32,
    /// What must be the same to continue: format, environment, channels, page size.
    key: String,
    start: String,
    end: String,
    shards: Vec<ShardState>,
    /// Bytes of `audio.jsonl` (the recordings asked for so far) vouched for.
    audio_bytes: u64,
    skipped: u64,
    odd: BTreeMap<String, u64>,
}

#[derive(Debug, Serialize, Deserialize)]
struct ShardState {
    start: String,
    end: String,
    /// The next page's cursor; `None` with `done == false` = not started.
    cursor: Option<String>,
    done: bool,
    /// Bytes of the part file vouched for.
    bytes: u64,
    pages: u64,
    conversations: u64,
}

fn key(args: &ExportOptions, env: &str) -> String {
    format!(
        "format={:?} env={env} channels={:?} page_size={}",
        args.format, args.channel, args.page_size
    )
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn parse_ts(s: &str) -> Result<DateTime<Utc>> {
    Ok(DateTime::parse_from_rfc3339(s)
        .with_context(|| format!("checkpoint time {s:?} is not RFC 3339"))?
        .with_timezone(&Utc))
}

/// The hidden directory beside `target` that holds a file export's parts and checkpoint.
pub fn state_dir(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}.export"))
}

/// Whether `--out` can be written through part files: a regular file or nothing yet (not a
/// FIFO or device, which are written in place).
pub fn resumable_target(target: &Path) -> bool {
    match std::fs::metadata(target) {
        Ok(m) => m.is_file(),
        Err(_) => true,
    }
}

impl Checkpoint {
    fn path(dir: &Path) -> PathBuf {
        dir.join("checkpoint.json")
    }

    fn load(dir: &Path) -> Result<Option<Checkpoint>> {
        let path = Self::path(dir);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let ck: Checkpoint = serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "{} is not a checkpoint this version can read; remove {} to start over",
                path.display(),
                dir.display()
            )
        })?;
        if ck.version != CHECKPOINT_VERSION {
            bail!(
                "{} was written by another version; remove {} to start over",
                path.display(),
                dir.display()
            );
        }
        Ok(Some(ck))
    }

    fn save(&self, dir: &Path) -> Result<()> {
        let path = Self::path(dir);
        crate::fsutil::write_atomic(&path, &serde_json::to_vec(self)?)
            .with_context(|| format!("cannot write {}", path.display()))
    }
}

fn part_path(dir: &Path, shard: usize) -> PathBuf {
    dir.join(format!("{shard:05}.part"))
}

/// Opens `path` for appending after cutting it to `len` (bytes past it were never vouched for).
fn open_cut(path: &Path, len: u64) -> Result<std::fs::File> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    let have = f.metadata()?.len();
    if have < len {
        bail!(
            "{} is shorter than its checkpoint says ({have} < {len} bytes); remove {} to start over",
            path.display(),
            path.parent().unwrap_or(path).display()
        );
    }
    f.set_len(len)?;
    f.seek(std::io::SeekFrom::End(0))?;
    Ok(f)
}

/// `--resume --out FILE`: through part files and a checkpoint (see the module docs), continuing
/// an earlier run's checkpoint when there is one.
pub async fn export_to_file(
    client: &Client,
    args: &ExportOptions,
    env: &str,
    target: &Path,
    studio: Option<&StudioLinks>,
) -> Result<ExportSummary> {
    let setup = setup(client, args, env, studio, true)?;
    let dir = state_dir(target);
    let key = key(args, env);
    let mut ck = match Checkpoint::load(&dir)? {
        Some(ck) => {
            if ck.key != key {
                bail!(
                    "the unfinished export in {} was made with {}, not {key}: run it with the same options, or remove that directory to start over",
                    dir.display(),
                    ck.key
                );
            }
            let (start, end) = (parse_ts(&ck.start)?, parse_ts(&ck.end)?);
            if (args.window.start.is_some() && setup.window.0 != start)
                || (args.window.end.is_some() && setup.window.1 != end)
            {
                bail!(
                    "the unfinished export in {} covers {} to {}, not the --start/--end given: run it with the same window, or remove that directory to start over",
                    dir.display(),
                    ck.start,
                    ck.end
                );
            }
            let done = ck.shards.iter().filter(|s| s.done).count();
            crate::errln!(
                "resuming the export of {} to {}: {done} of {} shards done, {} conversations written",
                ck.start,
                ck.end,
                ck.shards.len(),
                ck.shards.iter().map(|s| s.conversations).sum::<u64>()
            );
            ck
        }
        None => {
            let shards = setup.plan().await?;
            std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
            let ck = Checkpoint {
                version: CHECKPOINT_VERSION,
                key,
                start: ts(setup.window.0),
                end: ts(setup.window.1),
                shards: shards
                    .iter()
                    .map(|(s, e)| ShardState {
                        start: ts(*s),
                        end: ts(*e),
                        cursor: None,
                        done: false,
                        bytes: 0,
                        pages: 0,
                        conversations: 0,
                    })
                    .collect(),
                audio_bytes: 0,
                skipped: 0,
                odd: BTreeMap::new(),
            };
            ck.save(&dir)?;
            ck
        }
    };

    let mut absorb = Absorb::new(client, args)?;
    let mut audio_log = open_cut(&dir.join("audio.jsonl"), ck.audio_bytes)?;
    if let Some(jobs) = &mut absorb.audio {
        // The recordings asked for before the interruption: complete ones are skipped.
        let mut text = String::new();
        audio_log.rewind()?;
        audio_log.read_to_string(&mut text)?;
        audio_log.seek(std::io::SeekFrom::End(0))?;
        for line in text.lines() {
            jobs.submit(serde_json::from_str(line).context("audio.jsonl in the checkpoint")?);
        }
    }
    let mut parts = Vec::with_capacity(ck.shards.len());
    for (i, s) in ck.shards.iter().enumerate() {
        parts.push(open_cut(&part_path(&dir, i), s.bytes)?);
    }
    let ceiling = setup.walk.concurrency.ceiling();
    let (tx, mut rx) = mpsc::channel(ceiling * SHARD_QUEUE);
    let mut walkers = JoinSet::new();
    for (i, s) in ck.shards.iter().enumerate().filter(|(_, s)| !s.done) {
        let window = (parse_ts(&s.start)?, parse_ts(&s.end)?);
        walkers.spawn(setup.walk.clone().shard(i, window, s.cursor.clone(), tx.clone()));
    }
    drop(tx);
    while let Some(page) = rx.recv().await {
        let mut page = page?;
        let i = page.shard;
        parts[i].write_all(&page.bytes)?;
        for c in &page.audio {
            let line = serde_json::json!({"id": c.id, "channel": c.channel, "in_progress": c.in_progress});
            writeln!(audio_log, "{line}")?;
            ck.audio_bytes += line.to_string().len() as u64 + 1;
        }
        let s = &mut ck.shards[i];
        s.bytes += page.bytes.len() as u64;
        s.pages += 1;
        s.conversations += page.conversations;
        s.done = page.next.is_none();
        s.cursor = page.next.clone();
        ck.skipped += page.read.skipped;
        for (k, v) in &page.read.odd {
            *ck.odd.entry(k.to_string()).or_default() += v;
        }
        ck.save(&dir)?;
        if let Some(w) = page.written.take() {
            let _ = w.send(());
        }
        absorb.page(&mut page);
    }
    drop(walkers);

    // Assemble: the header, then every shard in time order.
    let mut file =
        crate::fsutil::AtomicFile::create(target).with_context(|| format!("cannot write {}", target.display()))?;
    format::write_header(&mut file, args.format)?;
    for (i, mut part) in parts.into_iter().enumerate() {
        part.rewind()?;
        std::io::copy(&mut part, &mut file).with_context(|| format!("cannot read {}", part_path(&dir, i).display()))?;
    }
    file.commit()
        .with_context(|| format!("cannot write {}", target.display()))?;
    let _ = std::fs::remove_dir_all(&dir);

    let mut summary = absorb.finish().await;
    // Totals over every run of this export, not just the part after the interruption.
    summary.pages = ck.shards.iter().map(|s| s.pages).sum();
    summary.conversations = ck.shards.iter().map(|s| s.conversations).sum();
    summary.read.skipped = ck.skipped;
    summary.read.odd = ck.odd.into_iter().map(|(k, v)| (field_name(k), v)).collect();
    (summary.concurrency_peak, summary.concurrency_cuts) = setup.walk.concurrency.stats();
    Ok(summary)
}

/// A field name read back from a checkpoint as the `'static` name [`ReadReport`] keys by: the
/// lenient reader's own name when it is one of them (always, unless the file was edited).
fn field_name(name: String) -> &'static str {
    static NAMES: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(n) = names.iter().find(|n| **n == name) {
        return n;
    }
    // Bounded by the distinct names in one checkpoint, read once per process.
    let leaked: &'static str = Box::leak(name.into_boxed_str());
    names.push(leaked);
    leaked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_cover_the_window_end_to_end_on_whole_seconds() {
        let start = DateTime::parse_from_rfc3339("2026-11-01T00:00:00.5Z")
            .unwrap()
            .with_timezone(&Utc);
        let end = start + chrono::Duration::days(7) + chrono::Duration::milliseconds(250);
        let p = plan(start, end, 64);
        assert_eq!(p.len(), 64);
        assert_eq!(p[0].0, start);
        assert_eq!(p[63].1, end);
        for w in p.windows(2) {
            assert_eq!(w[0].1, w[1].0, "no gap, no overlap");
            assert!(w[0].0 < w[0].1);
        }
        // A window of 3 s cannot be cut into more than 3 shards.
        assert_eq!(plan(start, start + chrono::Duration::seconds(3), 64).len(), 3);
    }

    #[test]
    fn adaptive_concurrency_grows_while_fast_and_halves_on_back_off() {
        let c = Concurrency::adaptive();
        assert_eq!(c.limit(), ADAPTIVE_START);
        for _ in 0..40 {
            c.lock().in_flight += 1;
            c.release(Some(Duration::from_millis(80)));
        }
        assert_eq!(c.limit(), ADAPTIVE_MAX, "capped");
        // Slow answers hold it.
        c.lock().in_flight += 1;
        c.release(Some(Duration::from_millis(400)));
        assert_eq!(c.limit(), ADAPTIVE_MAX);
        c.back_off();
        assert_eq!(c.limit(), ADAPTIVE_MAX / 2);
        c.back_off(); // the same burst
        assert_eq!(c.limit(), ADAPTIVE_MAX / 2);
        assert_eq!(c.stats(), (ADAPTIVE_MAX, 1));
        let f = Concurrency::fixed(3);
        f.back_off();
        f.release(Some(Duration::from_millis(1)));
        assert_eq!(f.limit(), 3);
    }
}
