//! Runs the effects `update` asks for: API calls on spawned tasks whose answers come back as
//! messages tagged with their request id, and timers.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc::UnboundedSender;
use tokio::task::AbortHandle;

use crate::api::{AudioRequest, Client};
use crate::app::msg::PageFilter;
use crate::app::review::StoreRequest;
use crate::app::{IoEffect, Msg};
use crate::audio::{SaveOutcome, save_recording};
use crate::domain::clock::clock;

use super::store_worker::StoreWorker;

/// Spawns network work; cheap to clone.
#[derive(Clone)]
pub struct Runner {
    client: Client,
    tx: UnboundedSender<Msg>,
    /// `update` asks for a new page only when the previous one is answered or obsolete, and
    /// for a transcript only when the previous one is no longer wanted: an older task still
    /// running is aborted so the server sees one request of each kind at a time.
    page_task: Arc<Mutex<Option<AbortHandle>>>,
    detail_task: Arc<Mutex<Option<AbortHandle>>>,
    /// Where `IoEffect::Store` goes; without one (no store) those effects are dropped.
    store: Option<StoreWorker>,
    /// The store file `IoEffect::PushMarks` opens its own connection to.
    store_path: Option<std::path::PathBuf>,
    /// Where `IoEffect::Team` goes; without `[team]` those effects are dropped.
    team: Option<super::team_worker::TeamWorker>,
}

fn replace_task(slot: &Mutex<Option<AbortHandle>>, task: AbortHandle) {
    let mut slot = slot.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(old) = slot.replace(task) {
        old.abort();
    }
}

impl Runner {
    /// `client` gets a retry observer that reports waits as [`Msg::Retrying`].
    pub fn new(client: Client, tx: UnboundedSender<Msg>) -> Self {
        let obs_tx = tx.clone();
        let client = client.with_retry_observer(Arc::new(move |n| {
            let _ = obs_tx.send(Msg::Retrying(n.clone()));
        }));
        Runner {
            client,
            tx,
            page_task: Arc::default(),
            detail_task: Arc::default(),
            store: None,
            store_path: None,
            team: None,
        }
    }

    /// Sends `IoEffect::Store` work to `worker`.
    pub fn with_store(mut self, worker: StoreWorker) -> Self {
        self.store = Some(worker);
        self
    }

    /// Sends `IoEffect::Team` work (review queues) to `worker`.
    pub fn with_team(mut self, worker: super::team_worker::TeamWorker) -> Self {
        self.team = Some(worker);
        self
    }

    /// Pushes to Agent Studio read and record marks in the store at `path`.
    pub fn with_store_path(mut self, path: std::path::PathBuf) -> Self {
        self.store_path = Some(path);
        self
    }

    /// Spawns the work of one effect; its answers come back as messages.
    pub fn spawn(&self, effect: IoEffect) {
        let tx = self.tx.clone();
        match effect {
            IoEffect::FetchPage { req, query, filter } => {
                let client = self.client.clone();
                let store = self.store.clone();
                let task = tokio::spawn(async move {
                    tracing::debug!(req, cursor = ?query.cursor, "page");
                    let mut result = client.list_page(&query).await;
                    if let Err(e) = &result {
                        tracing::warn!(req, "page failed: {}", e.headline());
                    }
                    match (filter, result) {
                        // The store caches the page and answers with what the filter keeps.
                        (Some(PageFilter { origin, filter }), Ok(page)) if let Some(w) = &store => {
                            w.send(StoreRequest::FilterPage {
                                req,
                                origin,
                                filter,
                                page,
                            });
                            return;
                        }
                        (Some(PageFilter { filter, .. }), Ok(mut page)) => {
                            page.conversations.retain(|c| filter.matches(c, None));
                            result = Ok(page);
                        }
                        (_, r) => result = r,
                    }
                    let _ = tx.send(Msg::Page { req, result });
                });
                replace_task(&self.page_task, task.abort_handle());
            }
            IoEffect::FetchConversation { req, id } => {
                let client = self.client.clone();
                let task = tokio::spawn(async move {
                    tracing::debug!(req, "conversation");
                    let result = client.conversation(&id).await;
                    let _ = tx.send(Msg::Conversation { req, result });
                });
                replace_task(&self.detail_task, task.abort_handle());
            }
            IoEffect::FetchLive { req, id } => {
                // Not aborted by later ones: each announced call is fetched once.
                let client = self.client.clone();
                tokio::spawn(async move {
                    tracing::debug!(req, "live conversation");
                    let result = client.conversation(&id).await;
                    let _ = tx.send(Msg::LiveConversation { req, result });
                });
            }
            IoEffect::FetchPoll { req, query } => {
                let client = self.client.clone();
                tokio::spawn(async move {
                    tracing::debug!(req, "poll");
                    let result = client.list_page(&query).await;
                    let _ = tx.send(Msg::PollPage { req, result });
                });
            }
            IoEffect::After { delay, msg } => {
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    let _ = tx.send(*msg);
                });
            }
            IoEffect::Store(req) => {
                if let Some(w) = &self.store {
                    w.send(req);
                }
            }
            IoEffect::Team(req) => {
                if let Some(w) = &self.team {
                    w.send(req);
                }
            }
            IoEffect::WriteExport { path, markdown } => {
                tokio::task::spawn_blocking(move || {
                    let result = super::store_worker::write_atomic(&path, &markdown);
                    let _ = tx.send(Msg::Exported { result });
                });
            }
            IoEffect::PushMarks { key } => {
                let client = self.client.clone();
                let path = self.store_path.clone();
                tokio::spawn(async move {
                    let result = match path {
                        Some(p) => crate::studio::push::push_one(&client, &p, &key).await,
                        None => Err("no local store to push marks from".into()),
                    };
                    if let Err(e) = &result {
                        tracing::warn!("pushing marks of {} failed: {e}", key.id);
                    }
                    let _ = tx.send(Msg::MarksPushed { key, result });
                });
            }
            IoEffect::SaveRecording {
                id,
                direction,
                path,
                redacted,
            } => {
                let client = self.client.clone();
                tokio::spawn(async move {
                    let request = AudioRequest {
                        direction,
                        redacted,
                        utterance: None,
                    };
                    let result = save(&client, &id, request, &path, &tx).await;
                    if let Err(e) = &result {
                        tracing::warn!("saving {id} failed: {e}");
                    }
                    let _ = tx.send(Msg::SaveDone { id, result });
                });
            }
        }
    }
}

/// Saves a recording, reporting progress about once per percent; the `Ok` text is the
/// status line's summary.
async fn save(
    client: &Client,
    id: &str,
    request: AudioRequest,
    path: &Path,
    tx: &UnboundedSender<Msg>,
) -> Result<String, String> {
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let last = AtomicU64::new(u64::MAX);
    let progress = |bytes: u64, total: Option<u64>| {
        let step = total.map_or(bytes >> 18, |t| bytes * 100 / t.max(1));
        if last.swap(step, Ordering::Relaxed) != step {
            let _ = tx.send(Msg::SaveProgress {
                id: id.to_string(),
                bytes,
                total,
            });
        }
    };
    let outcome = save_recording(client, id, request, path, progress)
        .await
        .map_err(|e| format!("{e:#}"))?;
    let (verb, bytes, duration) = match outcome {
        SaveOutcome::Saved { bytes, duration } => ("saved", bytes, duration),
        SaveOutcome::AlreadyComplete { bytes, duration } => ("already saved", bytes, duration),
    };
    Ok(format!(
        "{verb} {} ({:.1} MB, {})",
        path.display(),
        bytes as f64 / 1e6,
        clock(duration.as_secs() as i64)
    ))
}
