//! The store on its own thread: `Store` is synchronous, so caching and marks run here and
//! answers go back to the event loop as messages. The thread ends when the worker is dropped.

use std::collections::{HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;

use crate::app::Msg;
use crate::app::msg::CachedPage;
use crate::app::paging::Row;
use crate::app::review::{MarkChange, StoreRequest};
use crate::domain::{ConversationKey, Marks, Origin, Scope};
use crate::store::{AppStore, Store, StoreError, StoreErrorKind};

/// How long one write waits for another process's lock: the worker retries marks itself, and a
/// longer wait would hold up everything queued behind the write (and the exit).
pub const WRITE_WAIT: Duration = Duration::from_millis(500);
/// Retries of unsaved marks: 0.5 s, 1 s, 2 s … then every 8 s for as long as the app runs.
const FIRST_RETRY: Duration = Duration::from_millis(500);
const LAST_RETRY: Duration = Duration::from_secs(8);
/// With a team store: how often the worker exchanges changes with the team database unasked
/// (sends what waits, takes what a missed notification announced).
pub const TEAM_SYNC_EVERY: Duration = Duration::from_secs(2);
/// While the team store catches up a page at a time: jobs served between two pages at most.
const JOBS_BETWEEN_PAGES: usize = 32;

/// The wait before retry number `failures` (1 = after the first failure).
pub fn backoff(failures: u32) -> Duration {
    FIRST_RETRY
        .saturating_mul(1 << failures.saturating_sub(1).min(16))
        .min(LAST_RETRY)
}

// Moved once through the channel; boxing requests would add an allocation to each.
#[allow(clippy::large_enum_variant)]
enum Job {
    Request(StoreRequest),
    /// Write the unsaved marks now and answer how many are still unsaved.
    Finish(mpsc::Sender<usize>),
}

#[derive(Clone)]
pub struct StoreWorker {
    tx: mpsc::Sender<Job>,
    /// Set by `finish`: only marks are worth the time left before the exit.
    closing: Arc<AtomicBool>,
}

impl StoreWorker {
    /// Starts the thread that owns the SQLite `store`.
    pub fn spawn(store: Store, answers: UnboundedSender<Msg>) -> std::io::Result<Self> {
        if let Err(e) = store.set_busy_timeout(WRITE_WAIT) {
            tracing::warn!("cannot shorten the store's lock wait: {}", describe(&e));
        }
        Self::spawn_store(Box::new(store), answers)
    }

    /// Starts the thread that owns `store`, whichever implementation it is.
    pub fn spawn_store(store: Box<dyn AppStore>, answers: UnboundedSender<Msg>) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel();
        let closing = Arc::new(AtomicBool::new(false));
        let worker = Worker {
            store,
            answers,
            unsaved: VecDeque::new(),
            failures: 0,
            retry_at: None,
            last_error: String::new(),
            closing: closing.clone(),
            team_reported: None,
            // At once: a team store opens without reading, so the worker catches up from here.
            next_team_sync: Instant::now(),
        };
        std::thread::Builder::new()
            .name("callscope-store".into())
            .spawn(move || worker.serve(rx))?;
        Ok(StoreWorker { tx, closing })
    }

    pub fn send(&self, req: StoreRequest) {
        // The thread only stops when every sender is dropped, so a send cannot fail here.
        let _ = self.tx.send(Job::Request(req));
    }

    /// Before the app exits: writes the mark changes not written yet, skipping other queued
    /// work, waiting at most `wait`. How many changes are still unsaved (`None`: no answer in
    /// time, so some may be).
    pub fn finish(&self, wait: Duration) -> Option<usize> {
        self.closing.store(true, Ordering::SeqCst);
        let (tx, rx) = mpsc::channel();
        self.tx.send(Job::Finish(tx)).ok()?;
        rx.recv_timeout(wait).ok()
    }
}

fn describe(e: &StoreError) -> String {
    format!("{} — {}", e.headline(), e.hint())
}

/// A mark change the store has not taken yet.
struct Unsaved {
    key: ConversationKey,
    change: MarkChange,
    seq: u64,
}

struct Worker {
    store: Box<dyn AppStore>,
    answers: UnboundedSender<Msg>,
    /// In the order they were made: a later change is never written before an earlier one.
    unsaved: VecDeque<Unsaved>,
    failures: u32,
    retry_at: Option<Instant>,
    last_error: String,
    closing: Arc<AtomicBool>,
    /// The team sync last told to the app (unsynced, behind, error); `None`: nothing told yet.
    team_reported: Option<(u64, u64, Option<String>)>,
    next_team_sync: Instant,
}

impl Worker {
    /// Exchanges changes with the team database (a store without one has nothing to do) and
    /// tells the app what changed; the counts and error only when they changed. While the
    /// store is behind, the next exchange comes right after the next job: a long history is
    /// read a page at a time, with the user's requests served in between.
    fn team_sync(&mut self) {
        if self.store.unsynced().is_none() {
            return;
        }
        let (touched, error) = match self.store.sync() {
            Ok(t) => (t, None),
            Err(e) => (Vec::new(), Some(e.headline())),
        };
        let wait = if self.store.behind() > 0 {
            Duration::ZERO
        } else {
            TEAM_SYNC_EVERY
        };
        self.next_team_sync = Instant::now() + wait;
        self.report_team(touched, error);
    }

    fn report_team(&mut self, touched: Vec<ConversationKey>, error: Option<String>) {
        let Some(unsynced) = self.store.unsynced() else {
            return;
        };
        // A write says nothing about the database: the last known reason stays while changes wait.
        let error = error.or_else(|| {
            (unsynced > 0)
                .then(|| self.team_reported.as_ref().and_then(|r| r.2.clone()))
                .flatten()
        });
        let now = (unsynced, self.store.behind(), error);
        if touched.is_empty() && self.team_reported.as_ref() == Some(&now) {
            return;
        }
        let _ = self.answers.send(Msg::TeamSynced {
            touched,
            unsynced: now.0,
            behind: now.1,
            error: now.2.clone(),
        });
        self.team_reported = Some(now);
    }

    /// When the worker must wake without a job: a due retry, or the next team sync.
    fn wake_at(&self) -> Option<Instant> {
        let team = self.store.unsynced().map(|_| self.next_team_sync);
        match (self.retry_at, team) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn serve(mut self, rx: mpsc::Receiver<Job>) {
        loop {
            // Due retries first, so a steady stream of other work cannot starve them.
            if self.retry_at.is_some_and(|at| Instant::now() >= at) {
                self.write_unsaved();
            }
            if self.store.unsynced().is_some() && Instant::now() >= self.next_team_sync {
                self.team_sync();
                if self.store.behind() > 0 {
                    // Catching up with the team: what the user asked for meanwhile comes before
                    // the next page (a bounded number of jobs, so the catch-up goes on too).
                    for job in rx.try_iter().take(JOBS_BETWEEN_PAGES) {
                        self.run_job(job);
                    }
                }
            }
            let job = match self.wake_at() {
                Some(at) => match rx.recv_timeout(at.saturating_duration_since(Instant::now())) {
                    Ok(job) => job,
                    Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => break,
                },
                None => match rx.recv() {
                    Ok(job) => job,
                    Err(_) => break,
                },
            };
            self.run_job(job);
        }
        // Every sender is gone: one last try, nobody to tell.
        self.write_unsaved();
    }

    /// Does one job; what a request answers goes to the app.
    fn run_job(&mut self, job: Job) {
        match job {
            Job::Finish(reply) => {
                self.write_unsaved();
                let _ = reply.send(self.unsaved.len());
            }
            Job::Request(StoreRequest::Change { key, change, seq }) => {
                let waiting = self.retry_at.is_some();
                self.unsaved.push_back(Unsaved { key, change, seq });
                if waiting {
                    // Behind changes the store refused: it waits for their retry.
                    self.report_pending();
                } else {
                    self.write_unsaved();
                }
            }
            Job::Request(StoreRequest::FlushMarks) => self.write_unsaved(),
            Job::Request(_) if self.closing.load(Ordering::SeqCst) => {}
            Job::Request(StoreRequest::TeamSync) => self.team_sync(),
            Job::Request(req) => {
                // Loaded marks come with their latest authors (app::history).
                let authors = match &req {
                    StoreRequest::LoadMarks { origin, ids } => Some(authors(self.store.as_ref(), origin, ids)),
                    _ => None,
                };
                if let Some(msg) = handle(self.store.as_mut(), req) {
                    // The event loop may be gone (exiting); marks still get written.
                    let _ = self.answers.send(msg);
                }
                if let Some(msg) = authors {
                    let _ = self.answers.send(msg);
                }
                // A saved score went to the team database too (or waits): the count may have moved.
                self.report_team(Vec::new(), None);
            }
        }
    }

    /// Writes unsaved changes in order until the store refuses one.
    fn write_unsaved(&mut self) {
        while let Some(u) = self.unsaved.front() {
            let result = match write_change(self.store.as_mut(), &u.key, &u.change) {
                Ok(m) => Ok(m),
                // Retrying cannot make an invalid change valid: it is refused for good.
                Err(e) if e.kind == StoreErrorKind::InvalidInput => Err(describe(&e)),
                Err(e) => {
                    self.failures += 1;
                    self.retry_at = Some(Instant::now() + backoff(self.failures));
                    // The headline only: the app retries, so "close it and retry" is noise there.
                    self.last_error = e.headline();
                    tracing::warn!(
                        unsaved = self.unsaved.len(),
                        failures = self.failures,
                        "saving marks failed: {}",
                        describe(&e)
                    );
                    self.report_pending();
                    return;
                }
            };
            let saved = result.is_ok();
            let _ = self.answers.send(Msg::MarksSaved {
                key: u.key.clone(),
                seq: u.seq,
                result,
            });
            if saved {
                let origin = u.key.origin();
                let _ = self
                    .answers
                    .send(authors(self.store.as_ref(), &origin, std::slice::from_ref(&u.key.id)));
            }
            self.unsaved.pop_front();
        }
        self.report_team(Vec::new(), None);
        if self.failures > 0 {
            tracing::info!(after = self.failures, "the store takes marks again");
        }
        self.failures = 0;
        self.retry_at = None;
    }

    fn report_pending(&self) {
        let retry_in = self
            .retry_at
            .map_or(Duration::ZERO, |at| at.saturating_duration_since(Instant::now()));
        let _ = self.answers.send(Msg::MarksPending {
            error: self.last_error.clone(),
            retry_in,
        });
    }
}

/// The latest author of each mark field of `ids` (a conversation the store cannot read is left out).
fn authors(store: &dyn AppStore, origin: &Origin, ids: &[String]) -> Msg {
    let mut authors = Vec::with_capacity(ids.len());
    for id in ids {
        match store.stamps(&origin.key(id.as_str())) {
            Ok(a) if !a.is_empty() => authors.push((id.clone(), a)),
            Ok(_) => {}
            Err(e) => tracing::warn!("loading mark authors failed: {}", describe(&e)),
        }
    }
    Msg::Authors {
        origin: origin.clone(),
        authors,
    }
}

fn write_change(store: &mut dyn AppStore, key: &ConversationKey, change: &MarkChange) -> Result<Marks, StoreError> {
    store.update_marks(key, &mut |m| change.clone().apply(m))
}

/// Performs one request; the answer, if the app wants one. A mark change is tried once here
/// (the worker thread keeps and retries refused ones).
pub fn handle(store: &mut dyn AppStore, req: StoreRequest) -> Option<Msg> {
    match req {
        StoreRequest::Cache { origin, conversations } => {
            // A cache failure costs nothing visible (the list works from the API); log it.
            if let Err(e) = store.cache(&origin, &conversations) {
                tracing::warn!("caching {} conversations failed: {}", conversations.len(), describe(&e));
            }
            None
        }
        StoreRequest::LoadMarks { origin, ids } => {
            let mut marks = Vec::with_capacity(ids.len());
            for id in ids {
                match store.marks(&origin.key(id.as_str())) {
                    Ok(m) => marks.push((id, m)),
                    Err(e) => tracing::warn!("loading marks failed: {}", describe(&e)),
                }
            }
            Some(Msg::Marks { origin, marks })
        }
        StoreRequest::Change { key, change, seq } => match write_change(store, &key, &change) {
            Ok(m) => Some(Msg::MarksSaved {
                key,
                seq,
                result: Ok(m),
            }),
            Err(e) if e.kind == StoreErrorKind::InvalidInput => Some(Msg::MarksSaved {
                key,
                seq,
                result: Err(describe(&e)),
            }),
            Err(e) => Some(Msg::MarksPending {
                error: e.headline(),
                retry_in: backoff(1),
            }),
        },
        StoreRequest::FlushMarks => None,
        StoreRequest::TeamSync => {
            let (touched, error) = match store.sync() {
                Ok(t) => (t, None),
                Err(e) => (Vec::new(), Some(e.headline())),
            };
            store.unsynced().map(|unsynced| Msg::TeamSynced {
                touched,
                unsynced,
                behind: store.behind(),
                error,
            })
        }
        StoreRequest::History { key } => {
            let result = store.history(&key).map_err(|e| describe(&e));
            Some(Msg::History { key, result })
        }
        StoreRequest::List {
            req,
            scope,
            filter,
            order,
            after,
            limit,
        } => {
            let result = store
                .list_page(&scope, &filter, order, after.as_ref(), limit)
                .map(|page| CachedPage {
                    rows: page.rows.iter().map(Row::from_list_row).collect(),
                    next: page.next,
                })
                .map_err(|e| describe(&e));
            Some(Msg::CachedPage { req, result })
        }
        StoreRequest::Search { req, query, max } => {
            let result = store
                .search_conversations(&query, max)
                .map(|rows| CachedPage {
                    rows: rows.iter().map(Row::from_list_row).collect(),
                    next: None,
                })
                .map_err(|e| describe(&e));
            Some(Msg::CachedPage { req, result })
        }
        StoreRequest::FilterPage {
            req,
            origin,
            filter,
            mut page,
        } => {
            let scope = Scope::env(&origin.account, &origin.project, &origin.environment);
            let ids: Vec<String> = page.conversations.iter().map(|c| c.id.clone()).collect();
            let kept = store
                .cache(&origin, &page.conversations)
                .and_then(|_| store.matching_ids(&scope, &filter, &ids));
            match kept {
                Ok(kept) => {
                    let kept: HashSet<String> = kept.into_iter().collect();
                    page.conversations.retain(|c| kept.contains(&c.id));
                }
                Err(e) => {
                    // Judge in memory rather than lose the page; only review marks go unseen.
                    tracing::warn!("filtering a page in the store failed: {}", describe(&e));
                    page.conversations.retain(|c| filter.matches(c, None));
                }
            }
            Some(Msg::Page { req, result: Ok(page) })
        }
        StoreRequest::Stats {
            req,
            scope,
            filter,
            request,
        } => {
            let result = store
                .stats(&scope, &filter, &request)
                .map(std::sync::Arc::new)
                .map_err(|e| describe(&e));
            Some(Msg::Stats { req, result })
        }
        StoreRequest::LoadScores { key } => {
            let result = store.scores(&key).map_err(|e| describe(&e));
            Some(Msg::Scores { key, result })
        }
        StoreRequest::SaveScore { key, record } => {
            let result = store
                .save_score(&key, &record)
                .map(|()| record)
                .map_err(|e| describe(&e));
            Some(Msg::ScoreSaved { key, result })
        }
        StoreRequest::LoadConversation { req, key } => {
            let conversation = store.conversation(&key).unwrap_or_else(|e| {
                tracing::warn!("reading a cached conversation failed: {}", describe(&e));
                None
            });
            Some(Msg::CachedConversation { req, conversation })
        }
    }
}

/// Writes `contents` to `path` through a temporary file in the same directory (see
/// `crate::fsutil`), so a reader never sees half a file.
pub fn write_atomic(path: &Path, contents: &str) -> Result<PathBuf, String> {
    let dir = path
        .parent()
        .ok_or_else(|| format!("{} has no directory", path.display()))?;
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    crate::fsutil::write_atomic(path, contents.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_a_steady_pace() {
        let waits: Vec<u64> = (1..=7).map(|n| backoff(n).as_millis() as u64).collect();
        assert_eq!(waits, [500, 1000, 2000, 4000, 8000, 8000, 8000]);
        assert_eq!(backoff(u32::MAX), LAST_RETRY);
    }
}
