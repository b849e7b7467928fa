//! The store on its own thread: `Store` is synchronous, so caching and marks run here and
//! answers go back to the event loop as messages. The thread ends when the worker is dropped.

use std::path::{Path, PathBuf};
use std::sync::mpsc;

use tokio::sync::mpsc::UnboundedSender;

use std::collections::HashSet;

use crate::app::Msg;
use crate::app::msg::CachedPage;
use crate::app::paging::Row;
use crate::app::review::StoreRequest;
use crate::store::{Scope, Store, StoreError};

#[derive(Clone)]
pub struct StoreWorker {
    tx: mpsc::Sender<StoreRequest>,
}

impl StoreWorker {
    /// Starts the thread that owns `store`.
    pub fn spawn(store: Store, answers: UnboundedSender<Msg>) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("callscope-store".into())
            .spawn(move || serve(store, rx, answers))?;
        Ok(StoreWorker { tx })
    }

    pub fn send(&self, req: StoreRequest) {
        // The thread only stops when this sender is dropped, so a send cannot fail here.
        let _ = self.tx.send(req);
    }
}

fn describe(e: &StoreError) -> String {
    format!("{} — {}", e.headline(), e.hint())
}

fn serve(mut store: Store, rx: mpsc::Receiver<StoreRequest>, answers: UnboundedSender<Msg>) {
    while let Ok(req) = rx.recv() {
        let msg = handle(&mut store, req);
        if let Some(msg) = msg
            && answers.send(msg).is_err()
        {
            return; // the event loop is gone
        }
    }
}

/// Performs one request; the answer, if the app wants one.
pub fn handle(store: &mut Store, req: StoreRequest) -> Option<Msg> {
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
        StoreRequest::Change { key, change } => {
            let result = store.update_marks(&key, |m| change.apply(m)).map_err(|e| describe(&e));
            Some(Msg::MarksSaved { key, result })
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
