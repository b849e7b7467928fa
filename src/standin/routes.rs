//! The two routers: runtime family (`/v3/...` conversations) and platform family
//! (`/v1/agents/...`, plus routes merged in by other modules such as webhooks). Each answers a
//! bare 404 `NOT_FOUND` for the other's paths, as the real hosts do.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Extension, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use super::auth::{Caller, project_for, require_key};
use super::errors::{ApiFailure, CORRELATION_HEADER, correlation_id};
use super::query::{ListParams, select};
use super::state::SharedState;
use super::{agents, real, wav};
use std::sync::Arc;

use super::data::Entry;
use crate::api::model::Conversation;

type Pairs = Vec<(String, String)>;

fn path_failure(e: PathRejection) -> ApiFailure {
    ApiFailure::validation(format!("Invalid path: {}", e.body_text()))
}

fn query_failure(e: QueryRejection) -> ApiFailure {
    ApiFailure::validation(format!("Invalid query string: {}", e.body_text()))
}

/// Drops the fields the documented v3 snake_case objects do not have (they exist only on the
/// camelCase by-id shape) and, unless asked for, the per-turn latency. `live_extras` keeps
/// them, as live projects' lists carry them (`--shape mixed|platform`).
fn v3_shape(mut c: Conversation, include_latency: bool, live_extras: bool) -> Conversation {
    if !live_extras {
        c.finished_at = None;
        c.language.clear();
        c.direction.clear();
        c.short_summary.clear();
    }
    if !include_latency {
        for t in &mut c.turns {
            t.latency = None;
        }
    }
    c
}

async fn list(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    path: Result<Path<(String, String)>, PathRejection>,
    query: Result<Query<Pairs>, QueryRejection>,
) -> Result<Response, ApiFailure> {
    let Path((account, project)) = path.map_err(path_failure)?;
    let project = project_for(&state, &caller, Some(&account), &project)?;
    let Query(pairs) = query.map_err(query_failure)?;
    let params = ListParams::parse(&pairs)?;
    let data = project.data.clone();
    let live_extras = state.shape.real_platform_objects();
    // Expanding and serializing a page of transcripts is CPU work: keep it off the async workers.
    // A finished call's JSON never changes, so it is built once and reused by every page.
    let body = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, serde_json::Error> {
        let sel = select(&data, &params);
        let to_json = |e: &Entry| -> Result<Arc<str>, serde_json::Error> {
            let build = || {
                let c = if live_extras {
                    real::expand(&data, e)
                } else {
                    data.expand(e)
                };
                serde_json::to_string(&v3_shape(c, params.include_latency, live_extras))
            };
            if e.in_progress {
                return Ok(build()?.into());
            }
            let mut failed = None;
            let json = e.json.get_or_build(params.include_latency, || {
                build().unwrap_or_else(|err| {
                    failed = Some(err);
                    String::new()
                })
            });
            match failed {
                Some(err) => Err(err),
                None => Ok(json),
            }
        };
        let mut out = Vec::with_capacity(sel.entries.len() * 3072 + 128);
        out.extend_from_slice(b"{\"conversations\":[");
        for (i, e) in sel.entries.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(to_json(e)?.as_bytes());
        }
        out.extend_from_slice(b"],\"cursor\":");
        serde_json::to_writer(&mut out, &sel.next.map(|c| c.encode()))?;
        if let Some(n) = sel.next_offset {
            out.extend_from_slice(format!(",\"next_offset\":{n}").as_bytes());
        }
        out.push(b'}');
        Ok(out)
    })
    .await
    .map_err(|_| ApiFailure::page_not_built())?
    .map_err(|e| {
        ApiFailure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_ERROR",
            format!("The page could not be serialized: {e}"),
        )
    })?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

async fn by_id(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    path: Result<Path<(String, String, String)>, PathRejection>,
) -> Result<Json<Conversation>, ApiFailure> {
    let Path((account, project, id)) = path.map_err(path_failure)?;
    let project = project_for(&state, &caller, Some(&account), &project)?;
    v3_route_present(&state, &project.data, &id)?;
    let live_extras = state.shape.real_platform_objects();
    let c = if live_extras {
        let e = project
            .data
            .entry(&id)
            .ok_or_else(|| ApiFailure::conversation_not_found(&id))?;
        real::expand(&project.data, &e)
    } else {
        project
            .data
            .get(&id)
            .ok_or_else(|| ApiFailure::conversation_not_found(&id))?
    };
    // The by-id object always carries latency: it is the detailed view.
    Ok(Json(v3_shape(c, true, live_extras)))
}

async fn audio_v3(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    path: Result<Path<(String, String, String)>, PathRejection>,
    query: Result<Query<Pairs>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiFailure> {
    let Path((account, project, id)) = path.map_err(path_failure)?;
    let project = project_for(&state, &caller, Some(&account), &project)?;
    v3_route_present(&state, &project.data, &id)?;
    let Query(pairs) = query.map_err(query_failure)?;
    wav::respond(&project.data, &id, &pairs, &headers)
}

async fn agent_by_id(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<serde_json::Value>, ApiFailure> {
    let Path((project, id)) = path.map_err(path_failure)?;
    let project = project_for(&state, &caller, None, &project)?;
    if state.shape.real_platform_objects() {
        let e = project
            .data
            .entry(&id)
            .ok_or_else(|| ApiFailure::conversation_not_found(&id))?;
        let c = real::expand(&project.data, &e);
        return Ok(Json(real::detail(&c, project.data.scope().seed)));
    }
    let mut c = project
        .data
        .get(&id)
        .ok_or_else(|| ApiFailure::conversation_not_found(&id))?;
    wav::add_utterance_urls(&mut c);
    let audio_url = format!(
        "{}/v1/agents/{}/conversations/{}/audio",
        state.platform_url.get().map(String::as_str).unwrap_or(""),
        c.project_id,
        c.id
    );
    Ok(Json(agents::detail(&c, &audio_url)))
}

async fn agent_audio(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    path: Result<Path<(String, String)>, PathRejection>,
    query: Result<Query<Pairs>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiFailure> {
    let Path((project, id)) = path.map_err(path_failure)?;
    let project = project_for(&state, &caller, None, &project)?;
    let Query(pairs) = query.map_err(query_failure)?;
    wav::respond(&project.data, &id, &pairs, &headers)
}

/// `GET /v1/agents/{project}/conversations?limit&offset` → `{conversations, count, limit, offset}`.
async fn agent_list(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<Pairs>, QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiFailure> {
    let Path(project) = path.map_err(path_failure)?;
    let project = project_for(&state, &caller, None, &project)?;
    let Query(pairs) = query.map_err(query_failure)?;
    let page = agents::ListPage::parse(&pairs)?;
    let (data, shape) = (project.data.clone(), state.shape);
    let base = format!(
        "{}/v1/agents/{}/conversations",
        state.platform_url.get().map(String::as_str).unwrap_or(""),
        project.project_id
    );
    tokio::task::spawn_blocking(move || Json(agents::list_page(&data, shape, &base, &page)))
        .await
        .map_err(|_| ApiFailure::page_not_built())
}

/// The shape's v3 by-id/audio route is missing for this conversation: the route-missing 404.
fn v3_route_present(state: &SharedState, data: &super::data::DatasetHandle, id: &str) -> Result<(), ApiFailure> {
    if state.shape.v3_by_id_missing(data.scope().seed, id) {
        return Err(ApiFailure::no_route());
    }
    Ok(())
}

async fn no_route() -> ApiFailure {
    ApiFailure::no_route()
}

async fn method_not_allowed() -> ApiFailure {
    ApiFailure::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        "This method is not allowed on this path.",
    )
}

/// Adds `X-PolyAI-Correlation-Id` to every answer that lacks one (errors set their own).
async fn correlation(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    if !resp.headers().contains_key(CORRELATION_HEADER)
        && let Ok(v) = HeaderValue::from_str(&correlation_id())
    {
        resp.headers_mut().insert(CORRELATION_HEADER, v);
    }
    resp
}

/// Wraps routes with authentication (matched routes only), the 404/405 fallbacks and the
/// correlation header.
fn finish(state: SharedState, routes: Router<SharedState>) -> Router {
    routes
        .route_layer(middleware::from_fn_with_state(state.clone(), require_key))
        .fallback(no_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(correlation))
        .layer(compression())
        .with_state(state)
}

/// gzip, br or zstd when the request's `Accept-Encoding` asks, for JSON bodies only: a recording
/// stays identity-encoded so that byte ranges keep meaning offsets into the WAV.
fn compression() -> tower_http::compression::CompressionLayer<impl tower_http::compression::Predicate> {
    use tower_http::compression::predicate::{Predicate, SizeAbove};
    let json = |_: StatusCode, _: axum::http::Version, h: &HeaderMap, _: &axum::http::Extensions| {
        h.get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"))
    };
    tower_http::compression::CompressionLayer::new()
        .no_deflate()
        .compress_when(SizeAbove::new(256).and(json))
}

/// The runtime family: `/v3/{account}/{project}/conversations[/{id}[/audio]]`.
pub fn runtime_router(state: SharedState) -> Router {
    let routes = Router::new()
        .route("/v3/{account}/{project}/conversations", get(list))
        .route("/v3/{account}/{project}/conversations/{id}", get(by_id))
        .route("/v3/{account}/{project}/conversations/{id}/audio", get(audio_v3));
    finish(state, routes)
}

/// The platform family: `/v1/agents/{project}/conversations/{id}[/audio|/note|/annotation]`, plus `extra`
/// (e.g. the webhooks routes). `extra`'s routes get the same key check, rate limit and
/// correlation header, and can read the `Caller` extension; their own state can ride along as
/// `.layer(Extension(...))` on `extra` before it is passed in.
pub fn platform_router(state: SharedState, extra: Router<SharedState>) -> Router {
    let routes = Router::new()
        .route("/v1/agents/{project}/conversations", get(agent_list))
        .route("/v1/agents/{project}/conversations/{id}", get(agent_by_id))
        .route("/v1/agents/{project}/conversations/{id}/audio", get(agent_audio))
        .route(
            "/v1/agents/{project}/conversations/{id}/turns/{turn}/audio",
            get(wav::utterance_route),
        )
        .merge(super::studio::routes())
        .merge(extra);
    finish(state, routes)
}

/// A plain error answer with the envelope, for merged routes.
pub fn failure(status: StatusCode, code: &'static str, message: &str) -> Response {
    ApiFailure::new(status, code, message).into_response()
}
