//! The Webhooks API as a client sees it: the reference's `/v1/webhook-endpoints` first, the
//! quickstart's `/v1/webhooks/endpoints` when the host lacks the reference route.
//!
//! Only a route-missing 404 (`ErrorKind::WrongHost`: a bare 404 that names nothing) moves to the
//! other family; a 404 naming the endpoint (`WEBHOOK_ENDPOINT_NOT_FOUND`) is the answer. Event
//! types outside the reference's enum (`alerts.*`) exist only on the quickstart's route, so a
//! registration asking for them goes there directly. Bodies carry only each family's documented
//! properties: the reference refuses unknown ones.

use reqwest::Method;
use serde_json::{Value, json};

use super::event::REFERENCE_EVENT_TYPES;
use crate::api::{ApiError, Client, ErrorKind, HostFamily};

/// Which route family answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteFamily {
    /// `/v1/webhook-endpoints` (the API reference).
    Reference,
    /// `/v1/webhooks/endpoints` (the quickstart).
    Quickstart,
}

impl RouteFamily {
    fn segments<'a>(self, rest: &[&'a str]) -> Vec<&'a str> {
        let mut v: Vec<&str> = match self {
            RouteFamily::Reference => vec!["v1", "webhook-endpoints"],
            RouteFamily::Quickstart => vec!["v1", "webhooks", "endpoints"],
        };
        v.extend_from_slice(rest);
        v
    }

    /// The path, for messages.
    pub fn path(self) -> &'static str {
        match self {
            RouteFamily::Reference => "/v1/webhook-endpoints",
            RouteFamily::Quickstart => "/v1/webhooks/endpoints",
        }
    }
}

/// What a registration asks for.
#[derive(Debug, Clone)]
pub struct Registration {
    /// The reference's required `name` (the quickstart's `description` when none is given).
    pub name: String,
    pub url: String,
    pub events: Vec<String>,
    /// The quickstart's `description`.
    pub description: Option<String>,
}

impl Registration {
    /// Whether every event is in the reference's enum, so the reference route can take it.
    pub fn fits_the_reference(&self) -> bool {
        self.events.iter().all(|e| REFERENCE_EVENT_TYPES.contains(&e.as_str()))
    }

    fn reference_body(&self) -> Value {
        json!({ "name": self.name, "url": self.url, "event_types": self.events })
    }

    fn quickstart_body(&self) -> Value {
        let description = self.description.clone().unwrap_or_else(|| self.name.clone());
        json!({ "url": self.url, "description": description, "events": self.events })
    }
}

/// A listed endpoint, in either family's spelling (every field may be missing).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listed {
    pub id: String,
    pub name: String,
    pub url: String,
    pub enabled: bool,
    pub events: Vec<String>,
}

impl Listed {
    fn from_value(v: &Value) -> Self {
        let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
        let events = v
            .get("event_types")
            .or_else(|| v.get("events"))
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default();
        let name = Some(s("name"))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| s("description"));
        Listed {
            id: s("id"),
            name,
            url: s("url"),
            enabled: v.get("enabled").and_then(Value::as_bool).unwrap_or(true),
            events,
        }
    }
}

/// The endpoints of a list answer: `{"data": [...]}` (documented), `{"endpoints": [...]}` or a
/// bare array.
fn listed(answer: &Value) -> Vec<Listed> {
    let items = answer
        .get("data")
        .or_else(|| answer.get("endpoints"))
        .unwrap_or(answer)
        .as_array();
    items
        .map(|a| a.iter().map(Listed::from_value).collect())
        .unwrap_or_default()
}

/// Whether `e` says the route (not the endpoint) is missing on this host.
pub fn route_missing(e: &ApiError) -> bool {
    e.kind == ErrorKind::WrongHost
}

/// The Webhooks API of one platform host.
pub struct Endpoints<'a> {
    client: &'a Client,
}

impl<'a> Endpoints<'a> {
    pub fn new(client: &'a Client) -> Self {
        Endpoints { client }
    }

    /// Runs `call` on the reference family, then on the quickstart's if the route is missing.
    async fn with_fallback<T, F, Fut>(&self, call: F) -> Result<(RouteFamily, T), ApiError>
    where
        F: Fn(RouteFamily) -> Fut,
        Fut: std::future::Future<Output = Result<T, ApiError>>,
    {
        match call(RouteFamily::Reference).await {
            Err(e) if route_missing(&e) => {
                tracing::info!(
                    "no {} on this host; trying {}",
                    RouteFamily::Reference.path(),
                    RouteFamily::Quickstart.path()
                );
                call(RouteFamily::Quickstart)
                    .await
                    .map(|v| (RouteFamily::Quickstart, v))
            }
            other => other.map(|v| (RouteFamily::Reference, v)),
        }
    }

    async fn post(&self, family: RouteFamily, rest: &[&str], body: Option<&Value>) -> Result<Value, ApiError> {
        let url = self.client.url(HostFamily::Platform, &family.segments(rest));
        self.client
            .request_json(Method::POST, HostFamily::Platform, url, body)
            .await
    }

    /// Registers an endpoint; the answer holds `id` and the one-time `signing_secret`.
    pub async fn create(&self, reg: &Registration) -> Result<(RouteFamily, Value), ApiError> {
        if !reg.fits_the_reference() {
            let body = reg.quickstart_body();
            return self
                .post(RouteFamily::Quickstart, &[], Some(&body))
                .await
                .map(|v| (RouteFamily::Quickstart, v));
        }
        self.with_fallback(|family| async move {
            let body = match family {
                RouteFamily::Reference => reg.reference_body(),
                RouteFamily::Quickstart => reg.quickstart_body(),
            };
            self.post(family, &[], Some(&body)).await
        })
        .await
    }

    pub async fn list(&self) -> Result<(RouteFamily, Vec<Listed>), ApiError> {
        self.with_fallback(|family| async move {
            let url = self.client.url(HostFamily::Platform, &family.segments(&[]));
            let answer: Value = self
                .client
                .request_json(Method::GET, HostFamily::Platform, url, None)
                .await?;
            Ok(listed(&answer))
        })
        .await
    }

    pub async fn delete(&self, id: &str) -> Result<RouteFamily, ApiError> {
        self.with_fallback(|family| async move {
            let url = self.client.url(HostFamily::Platform, &family.segments(&[id]));
            self.client
                .request_empty(Method::DELETE, HostFamily::Platform, url)
                .await
        })
        .await
        .map(|(family, ())| family)
    }

    /// The documented `POST …/{id}/rotate-secret`: a new secret, the old one invalid at once.
    /// Returns the new secret.
    pub async fn rotate(&self, id: &str) -> Result<(RouteFamily, Value), ApiError> {
        self.with_fallback(|family| async move { self.post(family, &[id, "rotate-secret"], None).await })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_carry_only_each_familys_documented_properties() {
        let reg = Registration {
            name: "callscope".into(),
            url: "https://x.example/h".into(),
            events: vec!["alerts.triggered".into()],
            description: None,
        };
        assert!(reg.fits_the_reference());
        let r = reg.reference_body();
        let keys: Vec<&String> = r.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["event_types", "name", "url"]);
        let q = reg.quickstart_body();
        assert_eq!(q["description"], "callscope");
        assert_eq!(q["events"], json!(["alerts.triggered"]));
        let calls = Registration {
            events: vec!["alerts.triggered".into(), "conversation.completed".into()],
            ..reg
        };
        assert!(!calls.fits_the_reference());
    }

    #[test]
    fn paths_of_both_families() {
        assert_eq!(
            RouteFamily::Reference.segments(&["whe_1", "rotate-secret"]),
            ["v1", "webhook-endpoints", "whe_1", "rotate-secret"]
        );
        assert_eq!(RouteFamily::Quickstart.segments(&[]), ["v1", "webhooks", "endpoints"]);
    }

    #[test]
    fn list_answers_in_either_spelling() {
        let reference = json!({"data": [{"id": "whe_1", "name": "n", "url": "u", "enabled": false, "event_types": ["alerts.resolved"]}]});
        assert_eq!(
            listed(&reference),
            [Listed {
                id: "whe_1".into(),
                name: "n".into(),
                url: "u".into(),
                enabled: false,
                events: vec!["alerts.resolved".into()],
            }]
        );
        let quickstart = json!([{"id": "whe_2", "description": "d", "events": ["handoff.created"]}]);
        let got = listed(&quickstart);
        assert_eq!(
            (got[0].name.as_str(), got[0].enabled, got[0].events.len()),
            ("d", true, 1)
        );
        assert!(listed(&json!({"data": "odd"})).is_empty());
    }
}
