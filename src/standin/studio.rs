//! The platform host's note and annotation endpoints, validated as strictly as the real API, and
//! a record of what they received (for tests, and `serve-demo` prints one line per item).
//!
//! `POST /v1/agents/{project}/conversations/{id}/note` `{"note": "…"}` and
//! `POST …/{id}/annotation` `{"annotations": [{turnId, role, annotationType}]}` answer 201
//! `{"success": true}`; a body that is not exactly that shape (unknown role or type, unknown or
//! missing fields) is a 400 with the envelope, an unknown conversation a 404.

use std::collections::VecDeque;
use std::sync::Mutex;

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use tokio::sync::broadcast;

use super::auth::{Caller, project_for};
use super::errors::ApiFailure;
use super::state::SharedState;
use crate::studio::annotation::{Annotation, AnnotationBody, NoteBody};

/// The longest note accepted (Studio's limit is not documented; callscope's own is 64 KiB).
const MAX_NOTE_BYTES: usize = 64 * 1024;
/// Received items kept for inspection; older ones are dropped, so memory stays bounded.
const KEEP: usize = 10_000;

/// One note or annotation request the stand-in accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceivedMark {
    Note {
        project: String,
        conversation: String,
        note: String,
    },
    Annotations {
        project: String,
        conversation: String,
        annotations: Vec<Annotation>,
    },
}

impl ReceivedMark {
    /// One line for `serve-demo` (the caller prints it through the sanitizing output).
    pub fn line(&self) -> String {
        match self {
            ReceivedMark::Note { conversation, note, .. } => {
                format!(
                    "received a note for {conversation}: {:?}",
                    crate::sanitize::truncate(note, 80)
                )
            }
            ReceivedMark::Annotations {
                conversation,
                annotations,
                ..
            } => {
                let list: Vec<String> = annotations
                    .iter()
                    .map(|a| {
                        format!(
                            "{} turn {} ({})",
                            a.annotation_type.as_str(),
                            a.turn_id,
                            a.role.as_str()
                        )
                    })
                    .collect();
                format!("received annotations for {conversation}: {}", list.join(", "))
            }
        }
    }
}

/// What the endpoints accepted, oldest first (at most [`KEEP`]), and a feed of each new one.
#[derive(Debug)]
pub struct Received {
    items: Mutex<VecDeque<ReceivedMark>>,
    feed: broadcast::Sender<ReceivedMark>,
}

impl Default for Received {
    fn default() -> Self {
        Received {
            items: Mutex::new(VecDeque::new()),
            feed: broadcast::channel(256).0,
        }
    }
}

impl Received {
    fn add(&self, item: ReceivedMark) {
        let mut items = self.items.lock().unwrap_or_else(|p| p.into_inner());
        if items.len() >= KEEP {
            items.pop_front();
        }
        items.push_back(item.clone());
        let _ = self.feed.send(item);
    }

    pub fn all(&self) -> Vec<ReceivedMark> {
        self.items
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// Every item accepted from now on (a slow reader skips what it lagged behind on).
    pub fn subscribe(&self) -> broadcast::Receiver<ReceivedMark> {
        self.feed.subscribe()
    }
}

fn body_failure(e: JsonRejection) -> ApiFailure {
    ApiFailure::new(
        StatusCode::BAD_REQUEST,
        "SCHEMA_VALIDATION_FAILED",
        format!(
            "Request body failed schema validation: {}",
            crate::sanitize::truncate(&e.body_text(), 200)
        ),
    )
}

fn created() -> Response {
    (StatusCode::CREATED, Json(serde_json::json!({"success": true}))).into_response()
}

/// The conversation's turn count, or the 404 the real API gives for an unknown id.
fn turns_of(project: &super::auth::Project, id: &str) -> Result<usize, ApiFailure> {
    let c = project
        .data
        .get(id)
        .ok_or_else(|| ApiFailure::conversation_not_found(id))?;
    Ok(c.turns.len())
}

async fn note(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Result<Json<NoteBody>, JsonRejection>,
) -> Result<Response, ApiFailure> {
    let Path((project, id)) = path.map_err(|e| ApiFailure::validation(format!("Invalid path: {}", e.body_text())))?;
    let p = project_for(&state, &caller, None, &project)?;
    let Json(body) = body.map_err(body_failure)?;
    turns_of(p, &id)?;
    if body.note.len() > MAX_NOTE_BYTES {
        return Err(ApiFailure::new(
            StatusCode::BAD_REQUEST,
            "SCHEMA_VALIDATION_FAILED",
            format!("note is longer than {MAX_NOTE_BYTES} bytes"),
        ));
    }
    state.studio.add(ReceivedMark::Note {
        project,
        conversation: id,
        note: body.note,
    });
    Ok(created())
}

async fn annotation(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Result<Json<AnnotationBody>, JsonRejection>,
) -> Result<Response, ApiFailure> {
    let Path((project, id)) = path.map_err(|e| ApiFailure::validation(format!("Invalid path: {}", e.body_text())))?;
    let p = project_for(&state, &caller, None, &project)?;
    let Json(body) = body.map_err(body_failure)?;
    let turns = turns_of(p, &id)?;
    let invalid = |m: String| ApiFailure::new(StatusCode::BAD_REQUEST, "SCHEMA_VALIDATION_FAILED", m);
    if body.annotations.is_empty() {
        return Err(invalid("annotations must not be empty".into()));
    }
    if let Some(a) = body.annotations.iter().find(|a| a.turn_id as usize >= turns) {
        return Err(invalid(format!(
            "turnId {} is out of range: the conversation has {turns} turns",
            a.turn_id
        )));
    }
    state.studio.add(ReceivedMark::Annotations {
        project,
        conversation: id,
        annotations: body.annotations,
    });
    Ok(created())
}

/// The two routes, for `routes::platform_router`.
pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/v1/agents/{project}/conversations/{id}/note", post(note))
        .route("/v1/agents/{project}/conversations/{id}/annotation", post(annotation))
}
