//! Pushing review marks to Agent Studio: the note (`POST …/{id}/note`) and the turn ratings
//! that map onto Studio's annotation types (`POST …/{id}/annotation`), on the platform host.
//!
//! Idempotent through the store's `pushed_marks` table: what was sent is recorded by content
//! hash, so a second push sends only new annotations and a changed note. A failed request records
//! nothing, so the next push tries it again. Marks of other projects are left alone (the key is
//! project-scoped), and an empty note is never sent (clearing a note here does not clear Studio's).

use std::collections::BTreeMap;

use reqwest::Method;

use super::annotation::{Annotation, AnnotationBody, NoteBody, Skip, to_annotation};
use crate::api::{ApiError, Client, HostFamily};
use crate::domain::ConversationKey;
use crate::store::{AppStore, PushKind, ReviewStore, Store, StoreResult, content_hash};

/// What is still to send for one conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub key: ConversationKey,
    /// The note, when it was never sent or changed since.
    pub note: Option<String>,
    /// Annotations not sent before.
    pub annotations: Vec<Annotation>,
    /// Notes and annotations sent before and unchanged.
    pub unchanged: usize,
    /// Ratings without a Studio annotation type.
    pub skipped: Vec<Skip>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.note.is_none() && self.annotations.is_empty()
    }
}

// Cannot fail: structs of strings and numbers always serialize.
#[allow(clippy::expect_used)]
fn annotation_hash(a: &Annotation) -> String {
    content_hash(&serde_json::to_vec(a).expect("annotations serialize"))
}

/// What is still to send for `key`, from its stored marks and what was pushed.
pub fn plan(store: &dyn AppStore, key: &ConversationKey) -> StoreResult<Plan> {
    let (marks, pushed) = store.marks_and_pushed(key)?;
    let mut p = Plan {
        key: key.clone(),
        note: None,
        annotations: Vec::new(),
        unchanged: 0,
        skipped: Vec::new(),
    };
    let note = marks.note.trim();
    if !note.is_empty() {
        if pushed.note.as_deref() == Some(content_hash(note.as_bytes()).as_str()) {
            p.unchanged += 1;
        } else {
            p.note = Some(note.to_string());
        }
    }
    if marks.turns.is_empty() {
        return Ok(p);
    }
    // Studio names turns by the server's turn id where the cached copy has one, else by position.
    let cached = store.conversation(key)?;
    let turn_id = |index: u32| {
        cached
            .as_ref()
            .and_then(|c| c.turns.get(index as usize))
            .and_then(|t| t.turn_id)
            .unwrap_or(index)
    };
    for (index, rating) in &marks.turns {
        match to_annotation(turn_id(*index), rating) {
            Ok(a) if pushed.annotations.contains(&annotation_hash(&a)) => p.unchanged += 1,
            Ok(a) => p.annotations.push(a),
            Err(skip) => p.skipped.push(skip),
        }
    }
    Ok(p)
}

/// The plans of every conversation of `account`/`project` whose marks changed at or after
/// `since_ms`.
pub fn plan_all(store: &dyn AppStore, account: &str, project: &str, since_ms: Option<i64>) -> StoreResult<Vec<Plan>> {
    store
        .marked_since(account, project, since_ms)?
        .iter()
        .map(|k| plan(store, k))
        .collect()
}

/// What sending one plan did.
#[derive(Debug)]
pub struct Outcome {
    pub key: ConversationKey,
    /// `None` when there was no note to send.
    pub note: Option<Result<(), ApiError>>,
    /// `None` when there were no annotations to send; else how many were accepted.
    pub annotations: Option<Result<usize, ApiError>>,
}

impl Outcome {
    pub fn failed(&self) -> bool {
        matches!(self.note, Some(Err(_))) || matches!(self.annotations, Some(Err(_)))
    }

    pub fn errors(&self) -> impl Iterator<Item = (&'static str, &ApiError)> {
        let note = self.note.as_ref().and_then(|r| r.as_ref().err()).map(|e| ("note", e));
        let ann = self
            .annotations
            .as_ref()
            .and_then(|r| r.as_ref().err())
            .map(|e| ("annotations", e));
        note.into_iter().chain(ann)
    }
}

fn conversation_url(client: &Client, id: &str, what: &str) -> reqwest::Url {
    client.url(
        HostFamily::Platform,
        &["v1", "agents", client.project_id(), "conversations", id, what],
    )
}

/// Sends `plan` (the note first, then the annotations in one request): platform host only,
/// redirects refused, as every API request.
// Cannot fail: structs of strings and numbers always serialize.
#[allow(clippy::expect_used)]
pub async fn send(client: &Client, plan: &Plan) -> Outcome {
    let mut out = Outcome {
        key: plan.key.clone(),
        note: None,
        annotations: None,
    };
    if let Some(note) = &plan.note {
        let body = serde_json::to_value(NoteBody { note: note.clone() }).expect("serializes");
        let url = conversation_url(client, &plan.key.id, "note");
        let r = client
            .request_json::<serde_json::Value>(Method::POST, HostFamily::Platform, url, Some(&body))
            .await;
        out.note = Some(r.map(drop));
    }
    if !plan.annotations.is_empty() {
        let body = serde_json::to_value(AnnotationBody {
            annotations: plan.annotations.clone(),
        })
        .expect("serializes");
        let url = conversation_url(client, &plan.key.id, "annotation");
        let r = client
            .request_json::<serde_json::Value>(Method::POST, HostFamily::Platform, url, Some(&body))
            .await;
        out.annotations = Some(r.map(|_| plan.annotations.len()));
    }
    out
}

/// Records what `outcome` says was accepted (nothing for a failed request: it is retried next time).
pub fn record(store: &mut dyn ReviewStore, plan: &Plan, outcome: &Outcome) -> StoreResult<()> {
    if let (Some(note), Some(Ok(()))) = (&plan.note, &outcome.note) {
        store.record_pushed(&plan.key, PushKind::Note, &[content_hash(note.as_bytes())])?;
    }
    if let Some(Ok(_)) = &outcome.annotations {
        let hashes: Vec<String> = plan.annotations.iter().map(annotation_hash).collect();
        store.record_pushed(&plan.key, PushKind::Annotation, &hashes)?;
    }
    Ok(())
}

/// Totals of a push (or a dry run: what would be sent).
#[derive(Debug, Default)]
pub struct Summary {
    /// Conversations considered (with marks, in scope).
    pub conversations: usize,
    pub notes: usize,
    pub annotations: usize,
    /// Notes and annotations already in Studio, unchanged.
    pub unchanged: usize,
    pub skipped: BTreeMap<Skip, usize>,
    /// Conversations with a failed request, with what failed.
    pub failed: Vec<Outcome>,
}

impl Summary {
    pub fn add_plan(&mut self, p: &Plan) {
        self.conversations += 1;
        self.unchanged += p.unchanged;
        for s in &p.skipped {
            *self.skipped.entry(*s).or_default() += 1;
        }
    }

    pub fn add_outcome(&mut self, o: Outcome) {
        self.notes += usize::from(matches!(o.note, Some(Ok(()))));
        if let Some(Ok(n)) = &o.annotations {
            self.annotations += n;
        }
        if o.failed() {
            self.failed.push(o);
        }
    }

    pub fn skipped_total(&self) -> usize {
        self.skipped.values().sum()
    }

    /// `3 ratings not pushed, no Studio annotation type: 2 👍 good, 1 👎 latency`.
    pub fn skipped_text(&self) -> Option<String> {
        let n = self.skipped_total();
        (n > 0).then(|| {
            let parts: Vec<String> = self.skipped.iter().map(|(s, n)| format!("{n} {}", s.label())).collect();
            format!(
                "{n} rating{} not pushed (no Studio annotation type): {}",
                if n == 1 { "" } else { "s" },
                parts.join(", ")
            )
        })
    }

    /// Exit status: 0 everything sent, 2 some conversations failed, 1 nothing could be sent.
    pub fn exit_status(&self) -> i32 {
        match (self.failed.is_empty(), self.notes + self.annotations > 0) {
            (true, _) => 0,
            (false, true) => 2,
            (false, false) => 1,
        }
    }
}

/// Plans, sends and records each conversation in turn (the store is written after each one, so
/// an interrupted push keeps what was sent).
pub async fn push(client: &Client, store: &mut dyn AppStore, plans: Vec<Plan>) -> StoreResult<Summary> {
    let mut summary = Summary::default();
    for p in plans {
        summary.add_plan(&p);
        if p.is_empty() {
            continue;
        }
        let outcome = send(client, &p).await;
        record(store, &p, &outcome)?;
        summary.add_outcome(outcome);
    }
    Ok(summary)
}

/// A push's result as plain text parts, for the TUI's status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushReport {
    pub notes: usize,
    pub annotations: usize,
    pub unchanged: usize,
    pub skipped: Option<String>,
    /// `note: 404 Not Found — … · server said: … · correlation id …`, one per failed request.
    pub failures: Vec<String>,
}

impl PushReport {
    pub fn of(summary: &Summary) -> Self {
        let failures = summary
            .failed
            .iter()
            .flat_map(|o| o.errors())
            .map(|(what, e)| {
                let mut t = format!("{what}: {}", e.headline());
                if !e.message.is_empty() && e.status.is_some() {
                    t.push_str(&format!(" · server said: {}", e.message));
                }
                if let Some(id) = &e.correlation_id {
                    t.push_str(&format!(" · correlation id {id}"));
                }
                crate::sanitize::sanitize_line(&t)
            })
            .collect();
        PushReport {
            notes: summary.notes,
            annotations: summary.annotations,
            unchanged: summary.unchanged,
            skipped: summary.skipped_text(),
            failures,
        }
    }
}

/// Pushes one conversation's marks (the TUI's key), with its own connection to the store at
/// `store_path` so the UI's store worker is never held up by the network.
pub async fn push_one(
    client: &Client,
    store_path: &std::path::Path,
    key: &ConversationKey,
) -> Result<PushReport, String> {
    let describe = |e: crate::store::StoreError| format!("{}; {}", e.headline(), e.hint());
    let (path, k) = (store_path.to_path_buf(), key.clone());
    let (mut store, plan) = tokio::task::spawn_blocking(move || {
        let store = Store::open(&path).map_err(describe)?;
        let plan = plan(&store, &k).map_err(describe)?;
        Ok::<_, String>((store, plan))
    })
    .await
    .map_err(|e| format!("the push stopped: {e}"))??;
    let mut summary = Summary::default();
    summary.add_plan(&plan);
    if !plan.is_empty() {
        let outcome = send(client, &plan).await;
        let (store_result, outcome) = tokio::task::spawn_blocking(move || {
            let r = record(&mut store, &plan, &outcome).map_err(describe);
            (r, outcome)
        })
        .await
        .map_err(|e| format!("the push stopped: {e}"))?;
        store_result?;
        summary.add_outcome(outcome);
    }
    Ok(PushReport::of(&summary))
}
