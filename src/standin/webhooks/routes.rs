//! The Webhooks API routes the stand-in serves on its platform (`api.{region}.poly.ai`) listener.
//!
//! - Reference (polyai-api.md §6.1): `/v1/webhook-endpoints` list/create/get/patch/delete and
//!   `{id}/rotate-secret`. Create needs `name`, `url`, `event_types` from the documented enum
//!   (`alerts.triggered`, `alerts.resolved`); unknown properties are refused (400).
//! - Quickstart: `POST /v1/webhooks/endpoints` with `{url, description, events}` (any event
//!   type the stand-in delivers, `conversation.completed` and `handoff.created` included). The
//!   quickstart shows only the create; list, get, delete and `{id}/rotate-secret` under the same
//!   prefix are served by analogy, so a client falling back to this family can do everything.
//!
//! [`WebhookRoutes`] picks the families served; a missing family answers the stand-in's bare
//! route-missing 404, as a host without those routes does. Every route needs a valid
//! `x-api-key`; errors use the 6-field envelope of polyai-api.md §5.1.

// The same error envelope (and correlation header) as the rest of the stand-in.
use crate::standin::errors::ApiFailure;
use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::registry::{
    EndpointPatch, NewEndpoint, REFERENCE_EVENT_TYPES, Registry, RegistryError, check_event_types_in, is_valid_id,
};

/// Which webhook route families a stand-in serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum WebhookRoutes {
    /// Both `/v1/webhook-endpoints` (reference) and `/v1/webhooks/endpoints` (quickstart).
    #[default]
    Both,
    /// Only the reference's `/v1/webhook-endpoints`.
    Reference,
    /// Only the quickstart's `/v1/webhooks/endpoints`.
    Quickstart,
}

/// What the routes need: the registry (shared with the `Deliverer`) and the accepted API keys.
#[derive(Clone)]
pub struct WebhookState {
    pub registry: Registry,
    /// `None`: an outer layer (the stand-in's key check) has already authenticated.
    api_keys: Option<Arc<Vec<String>>>,
}

impl std::fmt::Debug for WebhookState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookState")
            .field("registry", &self.registry)
            .field(
                "api_keys",
                &format_args!("<{} redacted>", self.api_keys.as_ref().map_or(0, |k| k.len())),
            )
            .finish()
    }
}

impl WebhookState {
    /// Routes that check `x-api-key` themselves against `api_keys`.
    pub fn new(registry: Registry, api_keys: impl IntoIterator<Item = String>) -> Self {
        WebhookState {
            registry,
            api_keys: Some(Arc::new(api_keys.into_iter().collect())),
        }
    }

    /// Routes mounted behind a layer that already checks the key (the stand-in's
    /// `platform_router` does): they do not check it again.
    pub fn behind_auth(registry: Registry) -> Self {
        WebhookState {
            registry,
            api_keys: None,
        }
    }
}

/// The router to mount (or `merge`) on the platform listener, with both route families.
/// Generic over the outer router's state, so it merges into a `Router<S>` of any `S`.
pub fn router<S: Clone + Send + Sync + 'static>(state: WebhookState) -> Router<S> {
    router_for(state, WebhookRoutes::Both)
}

/// The router with only the families `routes` names.
pub fn router_for<S: Clone + Send + Sync + 'static>(state: WebhookState, routes: WebhookRoutes) -> Router<S> {
    let mut r = Router::new();
    if routes != WebhookRoutes::Reference {
        r = r
            .route("/v1/webhooks/endpoints", get(quickstart_list).post(quickstart_create))
            .route("/v1/webhooks/endpoints/{id}", get(quickstart_get).delete(delete))
            .route("/v1/webhooks/endpoints/{id}/rotate-secret", post(rotate));
    }
    if routes != WebhookRoutes::Quickstart {
        r = r
            .route("/v1/webhook-endpoints", get(list).post(create))
            .route("/v1/webhook-endpoints/{id}", get(get_one).patch(update).delete(delete))
            .route("/v1/webhook-endpoints/{id}/rotate-secret", post(rotate));
    }
    r.with_state(state)
}

/// An endpoint as the quickstart family shows it: the reference fields plus `events`.
// Cannot fail: an Endpoint (strings, numbers, lists) always serializes.
#[allow(clippy::expect_used)]
fn quickstart_view(endpoint: &super::registry::Endpoint) -> Value {
    let mut v = serde_json::to_value(endpoint).expect("endpoints serialize");
    v["events"] = v["event_types"].clone();
    v
}

impl From<RegistryError> for ApiFailure {
    fn from(e: RegistryError) -> Self {
        let (status, code) = match &e {
            RegistryError::LimitReached => (StatusCode::CONFLICT, "WEBHOOK_ENDPOINT_LIMIT_REACHED"),
            RegistryError::NotFound => (StatusCode::NOT_FOUND, "WEBHOOK_ENDPOINT_NOT_FOUND"),
            RegistryError::Invalid(_) => (StatusCode::BAD_REQUEST, "SCHEMA_VALIDATION_FAILED"),
        };
        ApiFailure::new(status, code, e.to_string())
    }
}

type Answer = Result<Response, ApiFailure>;

fn authorize(state: &WebhookState, headers: &HeaderMap) -> Result<(), ApiFailure> {
    let Some(keys) = &state.api_keys else {
        return Ok(());
    };
    let given = headers.get("x-api-key").map(|v| v.as_bytes());
    let ok = given.is_some_and(|g| keys.iter().any(|k| ct_eq(k.as_bytes(), g)));
    if ok {
        Ok(())
    } else {
        Err(ApiFailure::new(
            StatusCode::UNAUTHORIZED,
            "AUTH_USER_UNAUTHORISED",
            "Missing, expired, or invalid API key (x-api-key header).",
        ))
    }
}

/// Equal-length comparison that does not stop at the first differing byte.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn checked_id(id: &str) -> Result<&str, ApiFailure> {
    if is_valid_id(id) {
        Ok(id)
    } else {
        Err(ApiFailure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "INVALID_RESOURCE_ID",
            "endpoint_id must match ^whe_[A-Za-z0-9]+$",
        ))
    }
}

/// Decodes a JSON body: broken JSON and schema violations (unknown fields included) → 400.
fn decode<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, ApiFailure> {
    serde_json::from_slice(body).map_err(|e| {
        let code = if e.is_data() {
            "SCHEMA_VALIDATION_FAILED"
        } else {
            "INVALID_JSON"
        };
        ApiFailure::new(
            StatusCode::BAD_REQUEST,
            code,
            format!("Request body failed schema validation: {e}"),
        )
    })
}

// Cannot fail: an Endpoint (strings, numbers, lists) always serializes.
#[allow(clippy::expect_used)]
fn with_secret(endpoint: &impl serde::Serialize, secret: &str) -> Value {
    let mut v = serde_json::to_value(endpoint).expect("endpoints serialize");
    v["signing_secret"] = secret.into();
    v
}

/// The quickstart's body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QuickstartCreate {
    url: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    events: Vec<String>,
    /// Tolerated so clients may send the reference names too.
    #[serde(default)]
    name: Option<String>,
}

async fn quickstart_create(State(state): State<WebhookState>, headers: HeaderMap, body: Bytes) -> Answer {
    authorize(&state, &headers)?;
    let req: QuickstartCreate = decode(&body)?;
    let name = req
        .name
        .or_else(|| Some(req.description.clone()).filter(|d| !d.trim().is_empty()))
        .unwrap_or_else(|| req.url.clone());
    let (endpoint, secret) = state.registry.create(NewEndpoint {
        name,
        url: req.url,
        description: req.description,
        event_types: req.events,
        ..Default::default()
    })?;
    let mut v = quickstart_view(&endpoint);
    v["signing_secret"] = secret.expose().into();
    Ok((StatusCode::CREATED, axum::Json(v)).into_response())
}

async fn quickstart_list(State(state): State<WebhookState>, headers: HeaderMap) -> Answer {
    authorize(&state, &headers)?;
    let data: Vec<Value> = state.registry.list().iter().map(quickstart_view).collect();
    Ok(axum::Json(json!({ "data": data })).into_response())
}

async fn quickstart_get(State(state): State<WebhookState>, headers: HeaderMap, Path(id): Path<String>) -> Answer {
    authorize(&state, &headers)?;
    let endpoint = state.registry.get(checked_id(&id)?).ok_or(RegistryError::NotFound)?;
    Ok(axum::Json(quickstart_view(&endpoint)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReferenceCreate {
    name: String,
    url: String,
    event_types: Vec<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    timeout_ms: Option<u64>,
    enabled: Option<bool>,
}

async fn create(State(state): State<WebhookState>, headers: HeaderMap, body: Bytes) -> Answer {
    authorize(&state, &headers)?;
    let req: ReferenceCreate = decode(&body)?;
    check_event_types_in(&req.event_types, &REFERENCE_EVENT_TYPES)?;
    let (endpoint, secret) = state.registry.create(NewEndpoint {
        name: req.name,
        url: req.url,
        description: String::new(),
        event_types: req.event_types,
        headers: req.headers,
        timeout_ms: req.timeout_ms,
        enabled: req.enabled,
    })?;
    Ok((StatusCode::CREATED, axum::Json(with_secret(&endpoint, secret.expose()))).into_response())
}

#[derive(Default)]
struct ListFilter {
    enabled: Option<bool>,
    event_type: Option<String>,
}

async fn list(State(state): State<WebhookState>, headers: HeaderMap, query: axum::extract::RawQuery) -> Answer {
    authorize(&state, &headers)?;
    let filter: ListFilter = match query.0.as_deref() {
        None | Some("") => ListFilter::default(),
        Some(q) => parse_filter(q)?,
    };
    let data: Vec<_> = state
        .registry
        .list()
        .into_iter()
        .filter(|e| filter.enabled.is_none_or(|want| e.enabled == want))
        .filter(|e| filter.event_type.as_ref().is_none_or(|t| e.event_types.contains(t)))
        .collect();
    Ok(axum::Json(json!({ "data": data })).into_response())
}

fn parse_filter(query: &str) -> Result<ListFilter, ApiFailure> {
    let mut f = ListFilter::default();
    for (k, v) in reqwest::Url::parse(&format!("http://q/?{query}"))
        .map_err(|_| ApiFailure::new(StatusCode::BAD_REQUEST, "INVALID_QUERY", "bad query"))?
        .query_pairs()
    {
        match k.as_ref() {
            "enabled" => {
                f.enabled = Some(v.parse().map_err(|_| {
                    ApiFailure::new(
                        StatusCode::BAD_REQUEST,
                        "INVALID_QUERY",
                        "enabled must be true or false",
                    )
                })?)
            }
            "event_type" => f.event_type = Some(v.into_owned()),
            _ => {}
        }
    }
    Ok(f)
}

async fn get_one(State(state): State<WebhookState>, headers: HeaderMap, Path(id): Path<String>) -> Answer {
    authorize(&state, &headers)?;
    let id = checked_id(&id)?;
    let endpoint = state.registry.get(id).ok_or(RegistryError::NotFound)?;
    Ok(axum::Json(endpoint).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReferencePatch {
    name: Option<String>,
    url: Option<String>,
    event_types: Option<Vec<String>>,
    headers: Option<BTreeMap<String, String>>,
    timeout_ms: Option<u64>,
    enabled: Option<bool>,
}

async fn update(State(state): State<WebhookState>, headers: HeaderMap, Path(id): Path<String>, body: Bytes) -> Answer {
    authorize(&state, &headers)?;
    let id = checked_id(&id)?;
    let p: ReferencePatch = decode(&body)?;
    if let Some(types) = &p.event_types {
        check_event_types_in(types, &REFERENCE_EVENT_TYPES)?;
    }
    let endpoint = state.registry.update(
        id,
        EndpointPatch {
            name: p.name,
            url: p.url,
            event_types: p.event_types,
            headers: p.headers,
            timeout_ms: p.timeout_ms,
            enabled: p.enabled,
        },
    )?;
    Ok(axum::Json(endpoint).into_response())
}

async fn delete(State(state): State<WebhookState>, headers: HeaderMap, Path(id): Path<String>) -> Answer {
    authorize(&state, &headers)?;
    state.registry.delete(checked_id(&id)?)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn rotate(State(state): State<WebhookState>, headers: HeaderMap, Path(id): Path<String>) -> Answer {
    authorize(&state, &headers)?;
    let secret = state.registry.rotate(checked_id(&id)?)?;
    Ok(axum::Json(json!({ "signing_secret": secret.expose() })).into_response())
}
