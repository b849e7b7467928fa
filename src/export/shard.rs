//! The export's walk: the window's first page, then the rest split into time shards walked
//! concurrently (issue 16).
//!
//! The first page is an ordinary page of the whole window, so a window that fits in one page is
//! one request; only when it says there is more is the rest cut into shards ([`Setup::first`]).
//! Every shard is walked with the cursor, one page at a time, unless a page of it shows that the
//! rest holds several pages: then the rest is cut into shards again ([`Walk::split`]; not with a
//! checkpoint, which keeps its first plan). [`Concurrency`] decides how many
//! page requests are out at once (fixed, or adaptive: grow while answers stay fast, halve on a 429
//! or a timeout) and the client's shared rate gate makes every shard honour a `Retry-After`.
//! The list is ascending by `(started_at, id)` with `start_time` inclusive and `end_time`
//! exclusive, so the shards' outputs put end to end are the sequential export, byte for byte.
//!
//! Where pages go:
//! - **stdout / a writer, in time order**: each shard has a small channel and only a few shards
//!   past the one being written may run ([`LOOKAHEAD_PER_SLOT`]), plus the shards cut on the way
//!   ([`SPLIT_PER_SLOT`]), so memory is bounded by pages, not by the window.
//! - **`--unordered`**: one channel, pages written as they come.
//! - **`--resume --out FILE`**: each shard appends to its own part file in a hidden directory
//!   beside the target, with a checkpoint (via [`crate::fsutil::write_atomic`]) after every page;
//!   the file is assembled in time order when all shards are done. Run again, the export
//!   continues from the checkpoint: part files are cut back to what it vouches for, so only the
//!   pages that were in flight are fetched again. (Without `--resume` a file is written through
//!   [`crate::fsutil::AtomicFile`] as before, and an interruption leaves nothing behind.)

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::{AbortHandle, JoinSet};

use super::audio_jobs::{AudioJobs, CallRef};
use super::{ExportOptions, ExportSummary, Format, format, progress};
use crate::api::{Client, CursorGuard, ErrorKind, JsonBody, ListQuery, PathFamily, RawPage, ReadReport, Route};
use crate::studio::StudioLinks;

/// Adaptive concurrency starts here and grows to [`ADAPTIVE_MAX`] (by one per fast answer, so
/// doubling per round of them). Far from the server every round costs a round trip, and every
/// step up a handshake more, so it starts wide: 8 requests before any `Retry-After` can be known
/// is a burst any rate limit allows.
const ADAPTIVE_START: usize = 8;
const ADAPTIVE_MAX: usize = 32;
/// Shards per unit of the concurrency ceiling: enough that a slow shard does not leave the
/// others idle at the end, few enough that splitting adds only a page or so per shard.
const SHARDS_PER_SLOT: usize = 4;
/// In time order without a file: planned shards past the one being written that may be walked
/// at once. Memory: at most (lookahead + 1 + split budget) × (queue + 1) pages, each at most
/// `max_page_bytes`.
const LOOKAHEAD_PER_SLOT: usize = 1;
/// Shards cut from shards on the way (see [`Walk::split`]) that may be unwritten at once, per
/// unit of the concurrency ceiling.
const SPLIT_PER_SLOT: usize = 1;
/// Pages a shard may have fetched and not yet handed over.
const SHARD_QUEUE: usize = 1;
/// An answer counts as fast within this factor of the fastest one seen: an answer on a new
/// connection waited a round trip more for its handshake, and the limit only grows by opening
/// new ones.
const FAST_FACTOR: f64 = 3.0;
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
    /// In time order to a writer: the shards the rest of this one was cut into, to be written
    /// after this page and before the shards that follow (see [`Walk::split`]).
    children: Vec<Queue>,
}

/// One shard's pages as the time-ordered writer reads them.
struct Queue {
    rx: mpsc::Receiver<Result<PageOut>>,
    /// For a shard cut on the way: its place in [`Walk::split`]'s budget, given back once it
    /// has been written.
    _child: Option<ChildToken>,
}

/// A place in the budget of shards cut on the way; freed on drop.
struct ChildToken(Arc<AtomicUsize>);

impl Drop for ChildToken {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Whether a shard whose first page shows it holds more may cut the rest of it into shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Split {
    /// To part files with a checkpoint: the plan stays the one the checkpoint holds.
    Off,
    /// In time order: each new shard has its own queue, written after the page it was cut from.
    Ordered,
    /// As pages come: new shards share the one channel.
    Unordered,
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
    /// The local store's saved scores, when it has some for this project and environment.
    scores: Option<super::scores::StoreScores>,
    split: Split,
    /// Shards cut on the way and not yet written (ordered) or not yet done (unordered), at most
    /// `split_budget`: memory stays bounded by pages however often shards are cut.
    split_alive: Arc<AtomicUsize>,
    split_budget: usize,
    /// Their tasks, aborted when the export ends ([`AbortSplits`]).
    split_tasks: Mutex<Vec<AbortHandle>>,
}

/// Ends the tasks of shards cut on the way when the export returns, as dropping the
/// [`JoinSet`] ends the planned ones.
struct AbortSplits(Arc<Walk>);

impl Drop for AbortSplits {
    fn drop(&mut self) {
        let tasks = std::mem::take(&mut *self.0.split_tasks.lock().unwrap_or_else(|e| e.into_inner()));
        for t in tasks {
            t.abort();
        }
    }
}

/// Where one shard's walk begins.
#[derive(Debug, Clone)]
struct ShardPlan {
    index: usize,
    window: (DateTime<Utc>, DateTime<Utc>),
    /// The next page's cursor; `None` = the shard's start.
    cursor: Option<String>,
    /// The cursors its walk has followed (shard 0 continues the first page's walk).
    cursors: CursorGuard,
    /// Ids its first page repeats from the first page of the window (see [`Setup::first`]).
    skip: Vec<String>,
}

impl ShardPlan {
    fn new(index: usize, window: (DateTime<Utc>, DateTime<Utc>), cursor: Option<String>) -> ShardPlan {
        ShardPlan {
            index,
            window,
            cursor,
            cursors: CursorGuard::default(),
            skip: Vec::new(),
        }
    }
}

impl Walk {
    /// Walks one shard from its plan, handing each page to `tx`.
    async fn shard(self: Arc<Self>, plan: ShardPlan, tx: mpsc::Sender<Result<PageOut>>) {
        let ShardPlan {
            index: shard,
            window,
            cursor,
            mut cursors,
            skip,
        } = plan;
        let mut query = self.query.clone();
        (query.start_time, query.end_time, query.cursor) = (Some(window.0), Some(window.1), cursor);
        // Only its first page can repeat the window's first page.
        let mut skip: HashSet<String> = skip.into_iter().collect();
        // Shard 0 is the window's own walk; the others are checked to keep to their window.
        let check = (shard > 0).then_some(window);
        // Only a planned shard may cut the rest of it (shard 0's rest was cut by
        // [`Setup::first`], or is walked in one sequence).
        let mut first = query.cursor.is_none();
        loop {
            self.concurrency.acquire().await;
            let started = Instant::now();
            let mut page = match self.fetch(&query).await {
                Ok(body) => self.page(shard, &body, &mut cursors, &skip, check).map(|mut p| {
                    if check.is_some() && p.next.is_some() {
                        self.split(shard, window, first, &body, &tx, &mut p);
                    }
                    p
                }),
                Err(e) => Err(e),
            };
            skip.clear();
            first = false;
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

    /// A planned shard's page says there is more: the rest of the shard, from the second that
    /// page ended in, is cut into shards as [`Setup::first`] cuts the window's, from how dense
    /// this page was. The window's first page only tells how dense its start is; calls are rarely
    /// spread evenly (the last day of a window is often the busiest), and a shard that holds many
    /// pages would otherwise walk them one round trip after the other. Cut only when the budget
    /// has room, the page shows the server keeping to the shard's window, and the page began in
    /// an earlier second than it ended (the shard's start for its `first` page): then every call
    /// of that second already written is on this page, and the rest is never the shard again.
    /// Otherwise the shard follows its cursor as before.
    #[allow(clippy::too_many_arguments)]
    fn split(
        self: &Arc<Self>,
        shard: usize,
        window: (DateTime<Utc>, DateTime<Utc>),
        first: bool,
        body: &JsonBody,
        tx: &mpsc::Sender<Result<PageOut>>,
        page: &mut PageOut,
    ) {
        if self.split == Split::Off {
            return;
        }
        let Ok(raw) = body.parse::<RawPage>() else {
            return;
        };
        let page_size = self.query.limit.unwrap_or(100);
        let budget_left = self
            .split_budget
            .saturating_sub(self.split_alive.load(Ordering::SeqCst));
        // The span this page's density is judged over.
        let began = if first {
            Some(window.0)
        } else {
            raw.records
                .first()
                .and_then(|r| crate::api::lenient::read_record(r))
                .and_then(|c| c.started_at)
        };
        let Some(began) = began else {
            return;
        };
        let Some(rest) = rest_after(
            &raw,
            window,
            began,
            page_size,
            budget_left.min(self.concurrency.ceiling()),
        ) else {
            return;
        };
        if rest.shards < 2 || rest.start <= whole_second(began) || !self.reserve(rest.shards) {
            return;
        }
        tracing::debug!(shard, shards = rest.shards, "export: cutting the rest of a shard");
        let mut skip = rest.skip;
        for (i, w) in plan(rest.start, window.1, rest.shards).into_iter().enumerate() {
            let plan = ShardPlan {
                skip: if i == 0 { std::mem::take(&mut skip) } else { Vec::new() },
                ..ShardPlan::new(shard, w, None)
            };
            let token = ChildToken(self.split_alive.clone());
            if self.split == Split::Ordered {
                let (tx, rx) = mpsc::channel(SHARD_QUEUE);
                self.spawn_split(plan, tx, None);
                page.children.push(Queue {
                    rx,
                    _child: Some(token),
                });
            } else {
                self.spawn_split(plan, tx.clone(), Some(token));
            }
        }
        page.next = None;
    }

    /// Takes `n` places in the budget of shards cut on the way, if there are that many.
    fn reserve(&self, n: usize) -> bool {
        self.split_alive
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |alive| {
                (alive + n <= self.split_budget).then_some(alive + n)
            })
            .is_ok()
    }

    fn spawn_split(self: &Arc<Self>, plan: ShardPlan, tx: mpsc::Sender<Result<PageOut>>, token: Option<ChildToken>) {
        let task = tokio::spawn(self.clone().shard_boxed(plan, tx, token));
        let mut tasks = self.split_tasks.lock().unwrap_or_else(|e| e.into_inner());
        tasks.retain(|t| !t.is_finished());
        tasks.push(task.abort_handle());
    }

    /// [`Walk::shard`] boxed, so a shard can spawn the shards it is cut into.
    fn shard_boxed(
        self: Arc<Self>,
        plan: ShardPlan,
        tx: mpsc::Sender<Result<PageOut>>,
        token: Option<ChildToken>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        Box::pin(async move {
            self.shard(plan, tx).await;
            drop(token);
        })
    }

    async fn fetch(&self, query: &ListQuery) -> Result<JsonBody> {
        Ok(self.client.list_page_raw(query).await?)
    }

    /// One answered page in the export's format. Records whose id is in `skip` were written
    /// already; with `check`, a page whose first or last call lies outside that window is an
    /// error (a server that ignores the window would have every shard repeat the same calls).
    fn page(
        &self,
        shard: usize,
        body: &JsonBody,
        cursors: &mut CursorGuard,
        skip: &HashSet<String>,
        check: Option<(DateTime<Utc>, DateTime<Utc>)>,
    ) -> Result<PageOut> {
        let page: RawPage = body.parse()?;
        if let Some((start, end)) = check.map(|(s, e)| (whole_second(s), whole_second(e))) {
            for raw in [page.records.first(), page.records.last()].into_iter().flatten() {
                let at = crate::api::lenient::read_record(raw).and_then(|c| c.started_at);
                if !at.is_some_and(|t| t >= start && t < end) {
                    bail!(
                        "the server answered a call outside the window asked for ({} to {}), so the window cannot be walked in shards: run the export with --concurrency 1",
                        ts(start),
                        ts(end)
                    );
                }
            }
        }
        let mut out = PageOut {
            shard,
            bytes: Vec::with_capacity(body.bytes().len() + 64),
            conversations: 0,
            read: ReadReport::default(),
            audio: Vec::new(),
            next: None,
            written: None,
            children: Vec::new(),
        };
        for raw in &page.records {
            if !skip.is_empty() && crate::api::lenient::read_record(raw).is_some_and(|c| skip.contains(&c.id)) {
                continue;
            }
            let conversation = match (self.format, &self.scores) {
                // Passed through as sent: read only when its recording is wanted.
                (Format::Jsonl, None) => {
                    format::write_raw(&mut out.bytes, raw)?;
                    self.want_audio.then(|| crate::api::lenient::read_record(raw)).flatten()
                }
                // The store has scores: each record is read for its id, and a scored call's line
                // gets a `scores` member after the API's own.
                (Format::Jsonl, Some(scores)) => {
                    let c = crate::api::lenient::read_record(raw);
                    let records = c.as_ref().map(|c| scores.of(&c.id)).unwrap_or_default();
                    if records.is_empty() {
                        format::write_raw(&mut out.bytes, raw)?;
                    } else {
                        let line = super::scores::with_scores_member(raw.get(), &records);
                        format::write_json_line(&mut out.bytes, &line)?;
                    }
                    c.filter(|_| self.want_audio)
                }
                // Read field by field: an odd field is left empty, a record without an id skipped.
                (f, scores) => {
                    let Some(c) = out.read.read(raw) else {
                        continue;
                    };
                    match scores {
                        None => format::write_parsed(&mut out.bytes, f, &c, self.studio.as_ref())?,
                        Some(scores) => {
                            let records = scores.of(&c.id);
                            format::write_parsed_scored(&mut out.bytes, f, &c, self.studio.as_ref(), &records)?
                        }
                    }
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
    let split = match (acked, args.shards.unordered) {
        (true, _) => Split::Off,
        (false, false) => Split::Ordered,
        (false, true) => Split::Unordered,
    };
    let (start, end) = args
        .window
        .resolve(Utc::now(), super::DEFAULT_SINCE)
        .map_err(anyhow::Error::msg)?;
    let concurrency = Arc::new(match args.shards.concurrency {
        Some(n) => Concurrency::fixed(n as usize),
        None => Concurrency::adaptive(),
    });
    let ceiling = concurrency.ceiling();
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
    let origin = crate::domain::Origin {
        account: client.account_id().to_string(),
        project: client.project_id().to_string(),
        environment: env.to_string(),
    };
    let scores = match args
        .store
        .as_deref()
        .map(|p| super::scores::StoreScores::open(p, origin))
    {
        None | Some(Ok(None)) => None,
        Some(Ok(Some(s))) => Some(s),
        // The API export does not depend on the store: it goes on without the scores.
        Some(Err(e)) => {
            crate::errln!("warning: exporting without saved scores: {e}");
            None
        }
    };
    Ok(Setup {
        window: (start, end),
        walk: Arc::new(Walk {
            scores,
            client,
            query,
            format: args.format,
            studio: studio.cloned(),
            want_audio: args.with_audio.is_some(),
            concurrency,
            acked,
            split,
            split_alive: Arc::default(),
            split_budget: ceiling * SPLIT_PER_SLOT,
            split_tasks: Mutex::default(),
        }),
    })
}

impl Setup {
    /// The window's first page, walked as an ordinary page of shard 0 (the whole window), and
    /// the shards that follow it. A window that fits in one page is one request. When there is
    /// more, the rest of the window, from the second the first page ended in, is cut into
    /// shards walked concurrently (their count from how dense the first page was), and the first
    /// of them skips the calls of that second the first page already held. The rest stays one
    /// sequence (shard 0 follows its cursor) when walking sequentially, unless the list comes
    /// from v3 (the Data API's is newest first over every window), or unless the first page
    /// shows that the server keeps to the window: every call inside it, in ascending order.
    async fn first(&self) -> Result<(PageOut, Vec<ShardPlan>)> {
        let (start, end) = self.window;
        let mut query = self.walk.query.clone();
        (query.start_time, query.end_time) = (Some(start), Some(end));
        let mut cursors = CursorGuard::default();
        self.walk.concurrency.acquire().await;
        let started = Instant::now();
        let body = self.walk.fetch(&query).await;
        self.walk.concurrency.release(body.is_ok().then(|| started.elapsed()));
        let body = body?;
        let mut first = self.walk.page(0, &body, &mut cursors, &HashSet::new(), None)?;
        let Some(next) = first.next.clone() else {
            return Ok((first, Vec::new()));
        };
        let sequential = |cursor: String, cursors: CursorGuard| {
            vec![ShardPlan {
                cursors,
                ..ShardPlan::new(0, (start, end), Some(cursor))
            }]
        };
        let ceiling = self.walk.concurrency.ceiling();
        if ceiling <= 1 || self.walk.client.family_in_use(Route::List) != Some(PathFamily::V3) {
            return Ok((first, sequential(next, cursors)));
        }
        let page: RawPage = body.parse()?;
        let Some(Rest {
            start: rest_start,
            skip,
            shards: n,
        }) = rest_after(
            &page,
            (start, end),
            start,
            self.walk.query.limit.unwrap_or(100),
            ceiling * SHARDS_PER_SLOT,
        )
        else {
            tracing::info!(
                "export: the first page had calls outside the window asked for, or out of order; walking it in one sequence"
            );
            return Ok((first, sequential(next, cursors)));
        };
        let mut rest: Vec<ShardPlan> = plan(rest_start, end, n)
            .into_iter()
            .enumerate()
            .map(|(i, w)| ShardPlan::new(i + 1, w, None))
            .collect();
        if let Some(r) = rest.first_mut() {
            r.skip = skip;
        }
        first.next = None;
        Ok((first, rest))
    }
}

/// Where the rest of a window goes after a page of it with more to come.
struct Rest {
    /// The second the page ended in (the API takes whole seconds).
    start: DateTime<Utc>,
    /// The page's calls of that second: the first shard of the rest repeats them.
    skip: Vec<String>,
    /// How many shards the rest is cut into ([`rest_shards`]).
    shards: usize,
}

/// The rest of `window` after `page`, its density judged from `began` to its last call, or
/// `None` unless the page shows that the server keeps to the window: every call inside it, in
/// ascending order.
fn rest_after(
    page: &RawPage,
    window: (DateTime<Utc>, DateTime<Utc>),
    began: DateTime<Utc>,
    page_size: u32,
    cap: usize,
) -> Option<Rest> {
    let (start, end) = window;
    let calls: Vec<(String, Option<DateTime<Utc>>)> = page
        .records
        .iter()
        .filter_map(|raw| crate::api::lenient::read_record(raw).map(|c| (c.id, c.started_at)))
        .collect();
    // As the server sees the window: in whole seconds.
    let (from, to) = (whole_second(start), whole_second(end));
    let keeps_window = calls.len() == page.records.len()
        && calls.iter().all(|(_, t)| t.is_some_and(|t| t >= from && t < to))
        && calls.windows(2).all(|w| w[0].1 <= w[1].1);
    let last = calls.last().and_then(|(_, t)| *t);
    let (true, Some(last)) = (keeps_window, last) else {
        return None;
    };
    let rest_start = whole_second(last);
    let skip = calls
        .iter()
        .filter(|(_, t)| t.is_some_and(|t| t >= rest_start))
        .map(|(id, _)| id.clone())
        .collect();
    let shards = rest_shards(
        calls.len(),
        (last - began).num_seconds(),
        (end - rest_start).num_seconds(),
        page_size,
        cap,
    );
    Some(Rest {
        start: rest_start,
        skip,
        shards,
    })
}

/// `t` as the API reads it (times are sent in whole seconds).
fn whole_second(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}

/// How many shards the rest of the window gets: about one per page it is expected to hold (from
/// the first page's `calls` over `first_secs`), at most `cap`. Fewer shards than pages would
/// chain pages within a shard; many more would make each request return a sliver.
fn rest_shards(calls: usize, first_secs: i64, rest_secs: i64, page_size: u32, cap: usize) -> usize {
    let per_sec = calls as f64 / first_secs.max(1) as f64;
    let pages = per_sec * rest_secs.max(1) as f64 / page_size.max(1) as f64;
    (pages.ceil() as usize).clamp(1, cap.max(1))
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
    let _splits = AbortSplits(setup.walk.clone());
    let mut absorb = Absorb::new(client, args)?;
    let (mut first, shards) = setup.first().await?;
    format::write_header_scored(out, args.format, setup.walk.scores.is_some())?;
    out.write_all(&first.bytes)?;
    absorb.page(&mut first);
    let mut walkers = JoinSet::new();
    let ceiling = setup.walk.concurrency.ceiling();
    if args.shards.unordered {
        let (tx, mut rx) = mpsc::channel(ceiling * SHARD_QUEUE);
        for plan in shards {
            walkers.spawn(setup.walk.clone().shard(plan, tx.clone()));
        }
        drop(tx);
        while let Some(page) = rx.recv().await {
            let mut page = page?;
            out.write_all(&page.bytes)?;
            absorb.page(&mut page);
        }
    } else {
        let lookahead = ceiling * LOOKAHEAD_PER_SLOT;
        let mut plans = shards.into_iter();
        // The shards started and not yet written, in time order.
        let mut queues: VecDeque<Queue> = VecDeque::new();
        loop {
            // Start the planned shards up to `lookahead` past the one being written.
            while queues.len() <= lookahead {
                let Some(plan) = plans.next() else { break };
                let (tx, rx) = mpsc::channel(SHARD_QUEUE);
                walkers.spawn(setup.walk.clone().shard(plan, tx));
                queues.push_back(Queue { rx, _child: None });
            }
            let Some(mut head) = queues.pop_front() else { break };
            while let Some(page) = head.rx.recv().await {
                let mut page = page?;
                out.write_all(&page.bytes)?;
                absorb.page(&mut page);
                // The rest of this shard, cut on the way: it comes next.
                for child in page.children.drain(..).rev() {
                    queues.push_front(child);
                }
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
    /// Ids its first page repeats from the window's first page (until that page is written).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    skip: Vec<String>,
}

impl ShardState {
    fn new(window: (DateTime<Utc>, DateTime<Utc>), skip: Vec<String>) -> ShardState {
        ShardState {
            start: ts(window.0),
            end: ts(window.1),
            cursor: None,
            done: false,
            bytes: 0,
            pages: 0,
            conversations: 0,
            skip,
        }
    }
}

/// With `scored` (the store has scores), a CSV's header has the score columns: a checkpoint made
/// without them cannot be continued with them, nor the other way round.
fn key(args: &ExportOptions, env: &str, scored: bool) -> String {
    format!(
        "format={:?} env={env} channels={:?} page_size={}{}",
        args.format,
        args.channel,
        args.page_size,
        if scored && args.format == Format::Csv {
            " scores"
        } else {
            ""
        }
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

/// A resumable export's part files and log of recordings asked for.
struct Files<'a> {
    dir: &'a Path,
    parts: &'a mut [std::fs::File],
    audio_log: &'a mut std::fs::File,
}

impl Files<'_> {
    /// Puts one page on disk and in the checkpoint, then lets its walker go on.
    fn record(&mut self, ck: &mut Checkpoint, absorb: &mut Absorb, mut page: PageOut) -> Result<()> {
        let i = page.shard;
        let Some(part) = self.parts.get_mut(i) else {
            bail!("a page of shard {i}, which the checkpoint does not have");
        };
        part.write_all(&page.bytes)?;
        for c in &page.audio {
            let line = serde_json::json!({"id": c.id, "channel": c.channel, "in_progress": c.in_progress});
            writeln!(self.audio_log, "{line}")?;
            ck.audio_bytes += line.to_string().len() as u64 + 1;
        }
        let Some(s) = ck.shards.get_mut(i) else {
            bail!("a page of shard {i}, which the checkpoint does not have");
        };
        s.bytes += page.bytes.len() as u64;
        s.pages += 1;
        s.conversations += page.conversations;
        s.done = page.next.is_none();
        s.cursor = page.next.clone();
        s.skip.clear();
        ck.skipped += page.read.skipped;
        for (k, v) in &page.read.odd {
            *ck.odd.entry(k.to_string()).or_default() += v;
        }
        ck.save(self.dir)?;
        if let Some(w) = page.written.take() {
            let _ = w.send(());
        }
        absorb.page(&mut page);
        Ok(())
    }
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
    let key = key(args, env, setup.walk.scores.is_some());
    // A new export's first page and the shards after it (see [`Setup::first`]).
    let mut fresh = None;
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
            let (page, plans) = setup.first().await?;
            std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
            // Shard 0 is the whole window: its first page, then its cursor when not sharded.
            let mut shards = vec![ShardState::new(setup.window, Vec::new())];
            shards.extend(
                plans
                    .iter()
                    .filter(|p| p.index > 0)
                    .map(|p| ShardState::new(p.window, p.skip.clone())),
            );
            let ck = Checkpoint {
                version: CHECKPOINT_VERSION,
                key,
                start: ts(setup.window.0),
                end: ts(setup.window.1),
                shards,
                audio_bytes: 0,
                skipped: 0,
                odd: BTreeMap::new(),
            };
            // Saved with the first page in it (a checkpoint without it would walk shard 0 again).
            fresh = Some((page, plans));
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
    let mut files = Files {
        dir: &dir,
        parts: &mut parts,
        audio_log: &mut audio_log,
    };
    let plans = match fresh {
        Some((page, plans)) => {
            files.record(&mut ck, &mut absorb, page)?;
            plans
        }
        None => ck
            .shards
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.done)
            .map(|(i, s)| {
                Ok(ShardPlan {
                    skip: s.skip.clone(),
                    ..ShardPlan::new(i, (parse_ts(&s.start)?, parse_ts(&s.end)?), s.cursor.clone())
                })
            })
            .collect::<Result<Vec<_>>>()?,
    };
    let ceiling = setup.walk.concurrency.ceiling();
    let (tx, mut rx) = mpsc::channel(ceiling * SHARD_QUEUE);
    let mut walkers = JoinSet::new();
    for plan in plans {
        walkers.spawn(setup.walk.clone().shard(plan, tx.clone()));
    }
    drop(tx);
    while let Some(page) = rx.recv().await {
        files.record(&mut ck, &mut absorb, page?)?;
    }
    drop(walkers);

    // Assemble: the header, then every shard in time order.
    let mut file =
        crate::fsutil::AtomicFile::create(target).with_context(|| format!("cannot write {}", target.display()))?;
    format::write_header_scored(&mut file, args.format, setup.walk.scores.is_some())?;
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
    fn the_rest_gets_about_one_shard_per_expected_page() {
        // 200 calls in the first hour, 23 h to go at page size 200: 23 pages' worth.
        assert_eq!(rest_shards(200, 3600, 23 * 3600, 200, 64), 23);
        // A week of them: capped.
        assert_eq!(rest_shards(200, 3600, 7 * 86_400, 200, 64), 64);
        // Sparse, or a first page that ended at once: at least one, never a division by zero.
        assert_eq!(rest_shards(3, 86_400, 60, 200, 64), 1);
        assert_eq!(rest_shards(200, 0, 0, 200, 64), 1);
        assert_eq!(rest_shards(200, 0, 3600, 200, 64), 64);
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
