//! Concurrent recording downloads for `export --with-audio`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use serde::Deserialize;

use crate::api::model::{is_voice_channel, null_default};
use crate::api::{AudioDirection, Client};

/// Where the recording of `id` is saved: the one id → file-name rule
/// ([`crate::domain::file_name`]), the same as the TUI's `s`.
pub fn recording_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(crate::domain::file_name::safe_file_name(id, "wav"))
}

/// The fields of a conversation that decide whether and where its recording is saved.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CallRef {
    #[serde(deserialize_with = "null_default")]
    pub id: String,
    #[serde(deserialize_with = "null_default")]
    pub channel: String,
    #[serde(deserialize_with = "null_default")]
    pub in_progress: bool,
}

#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct AudioOutcome {
    pub saved: u64,
    pub skipped: u64,
    pub failed: u64,
}

pub struct AudioJobs {
    client: Client,
    dir: PathBuf,
    limit: Arc<Semaphore>,
    tasks: JoinSet<()>,
    submitted: u64,
    done: Arc<AtomicU64>,
    saved: Arc<AtomicU64>,
    skipped: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
}

impl AudioJobs {
    pub fn new(client: Client, dir: PathBuf, concurrency: usize) -> Self {
        AudioJobs {
            client,
            dir,
            limit: Arc::new(Semaphore::new(concurrency.max(1))),
            tasks: JoinSet::new(),
            submitted: 0,
            done: Default::default(),
            saved: Default::default(),
            skipped: Default::default(),
            failed: Default::default(),
        }
    }

    /// Queues the recording of a finished voice call; chat and in-progress calls have none.
    pub fn submit(&mut self, c: CallRef) {
        if !is_voice_channel(&c.channel) || c.in_progress || c.id.is_empty() {
            return;
        }
        let path = recording_path(&self.dir, &c.id);
        let (client, id) = (self.client.clone(), c.id);
        let (limit, done, saved, skipped, failed) = (
            self.limit.clone(),
            self.done.clone(),
            self.saved.clone(),
            self.skipped.clone(),
            self.failed.clone(),
        );
        self.submitted += 1;
        self.tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            match crate::audio::save_recording(&client, &id, AudioDirection::Combined, &path, |_, _| {}).await {
                Ok(crate::audio::SaveOutcome::AlreadyComplete { .. }) => skipped.fetch_add(1, Ordering::Relaxed),
                Ok(_) => saved.fetch_add(1, Ordering::Relaxed),
                Err(e) => {
                    tracing::warn!("recording of {id} failed: {e:#}");
                    crate::errln!("\nrecording {id}: {e:#}");
                    failed.fetch_add(1, Ordering::Relaxed)
                }
            };
            done.fetch_add(1, Ordering::Relaxed);
        });
    }

    /// (finished, submitted)
    pub fn counts(&self) -> (u64, u64) {
        (self.done.load(Ordering::Relaxed), self.submitted)
    }

    /// Waits for every download, reporting progress after each.
    pub async fn finish(mut self, mut on_progress: impl FnMut(u64, u64)) -> AudioOutcome {
        while self.tasks.join_next().await.is_some() {
            on_progress(self.done.load(Ordering::Relaxed), self.submitted);
        }
        AudioOutcome {
            saved: self.saved.load(Ordering::Relaxed),
            skipped: self.skipped.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
        }
    }
}
