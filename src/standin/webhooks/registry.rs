//! The stand-in's webhook endpoint registry: at most ten endpoints, each with its own secret.
//!
//! Validation lives here so that both route families (the quickstart's `/v1/webhooks/endpoints`
//! and the reference `/v1/webhook-endpoints`) and the deliverer see the same rules.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::webhook::ids;
use crate::webhook::signature::SigningSecret;

/// "At most 10 endpoints per account" (polyai-api.md §6.1).
pub const MAX_ENDPOINTS: usize = 10;
/// Event types the stand-in can deliver (the quickstart's two and the reference docs' two).
pub const KNOWN_EVENT_TYPES: [&str; 4] = [
    "conversation.completed",
    "handoff.created",
    "alerts.triggered",
    "alerts.resolved",
];
pub use crate::webhook::event::REFERENCE_EVENT_TYPES;
pub const DEFAULT_TIMEOUT_MS: u64 = 5000;
const TIMEOUT_RANGE_MS: std::ops::RangeInclusive<u64> = 1000..=30000;

/// A registered endpoint as the API shows it (never with its secret).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Endpoint {
    pub id: String,
    pub name: String,
    pub url: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    pub enabled: bool,
    pub event_types: Vec<String>,
    pub headers: BTreeMap<String, String>,
    pub timeout_ms: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a create request asks for (already decoded from either route family).
#[derive(Debug, Clone, Default)]
pub struct NewEndpoint {
    pub name: String,
    pub url: String,
    pub description: String,
    pub event_types: Vec<String>,
    pub headers: BTreeMap<String, String>,
    pub timeout_ms: Option<u64>,
    pub enabled: Option<bool>,
}

/// A PATCH: every field optional.
#[derive(Debug, Clone, Default)]
pub struct EndpointPatch {
    pub name: Option<String>,
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub headers: Option<BTreeMap<String, String>>,
    pub timeout_ms: Option<u64>,
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryError {
    /// 409: the eleventh endpoint.
    LimitReached,
    /// 404.
    NotFound,
    /// 400: a field breaks the schema; the message says which and why.
    Invalid(String),
}

impl std::fmt::Display for RegistryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RegistryError::LimitReached => write!(
                f,
                "endpoint limit reached: at most {MAX_ENDPOINTS} webhook endpoints per account; delete one first"
            ),
            RegistryError::NotFound => f.write_str("webhook endpoint not found"),
            RegistryError::Invalid(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for RegistryError {}

/// Where and how one delivery goes.
#[derive(Debug, Clone)]
pub struct Target {
    pub endpoint_id: String,
    pub url: String,
    pub secret: SigningSecret,
    pub headers: BTreeMap<String, String>,
    pub timeout: Duration,
}

struct Entry {
    endpoint: Endpoint,
    secret: SigningSecret,
}

/// Shared, cheap to clone.
#[derive(Clone, Default)]
pub struct Registry {
    entries: Arc<Mutex<Vec<Entry>>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("endpoints", &self.list().len())
            .finish()
    }
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Entry>> {
        // A panic elsewhere while holding the lock leaves plain data intact.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Creates an endpoint; the secret is returned here and on rotation only.
    pub fn create(&self, new: NewEndpoint) -> Result<(Endpoint, SigningSecret), RegistryError> {
        check_name(&new.name)?;
        check_url(&new.url)?;
        check_event_types(&new.event_types)?;
        check_headers(&new.headers)?;
        let timeout_ms = new.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS);
        check_timeout(timeout_ms)?;
        let mut entries = self.lock();
        if entries.len() >= MAX_ENDPOINTS {
            return Err(RegistryError::LimitReached);
        }
        let now = Utc::now();
        let endpoint = Endpoint {
            id: ids::endpoint_id(),
            name: new.name,
            url: new.url,
            description: new.description,
            enabled: new.enabled.unwrap_or(true),
            event_types: dedup(new.event_types),
            headers: new.headers,
            timeout_ms,
            created_at: now,
            updated_at: now,
        };
        let secret = SigningSecret::new(ids::signing_secret());
        entries.push(Entry {
            endpoint: endpoint.clone(),
            secret: secret.clone(),
        });
        Ok((endpoint, secret))
    }

    /// Every endpoint, oldest first.
    pub fn list(&self) -> Vec<Endpoint> {
        self.lock().iter().map(|e| e.endpoint.clone()).collect()
    }

    pub fn get(&self, id: &str) -> Option<Endpoint> {
        self.lock()
            .iter()
            .find(|e| e.endpoint.id == id)
            .map(|e| e.endpoint.clone())
    }

    pub fn update(&self, id: &str, patch: EndpointPatch) -> Result<Endpoint, RegistryError> {
        if let Some(n) = &patch.name {
            check_name(n)?;
        }
        if let Some(u) = &patch.url {
            check_url(u)?;
        }
        if let Some(t) = &patch.event_types {
            check_event_types(t)?;
        }
        if let Some(h) = &patch.headers {
            check_headers(h)?;
        }
        if let Some(t) = patch.timeout_ms {
            check_timeout(t)?;
        }
        let mut entries = self.lock();
        let entry = entries
            .iter_mut()
            .find(|e| e.endpoint.id == id)
            .ok_or(RegistryError::NotFound)?;
        let ep = &mut entry.endpoint;
        if let Some(v) = patch.name {
            ep.name = v;
        }
        if let Some(v) = patch.url {
            ep.url = v;
        }
        if let Some(v) = patch.event_types {
            ep.event_types = dedup(v);
        }
        if let Some(v) = patch.headers {
            ep.headers = v;
        }
        if let Some(v) = patch.timeout_ms {
            ep.timeout_ms = v;
        }
        if let Some(v) = patch.enabled {
            ep.enabled = v;
        }
        ep.updated_at = Utc::now();
        Ok(ep.clone())
    }

    pub fn delete(&self, id: &str) -> Result<(), RegistryError> {
        let mut entries = self.lock();
        let before = entries.len();
        entries.retain(|e| e.endpoint.id != id);
        if entries.len() == before {
            Err(RegistryError::NotFound)
        } else {
            Ok(())
        }
    }

    /// A new secret; the previous one stops working at once (no overlap window upstream).
    pub fn rotate(&self, id: &str) -> Result<SigningSecret, RegistryError> {
        let mut entries = self.lock();
        let entry = entries
            .iter_mut()
            .find(|e| e.endpoint.id == id)
            .ok_or(RegistryError::NotFound)?;
        entry.secret = SigningSecret::new(ids::signing_secret());
        entry.endpoint.updated_at = Utc::now();
        Ok(entry.secret.clone())
    }

    /// Enabled endpoints subscribed to `event_type`, with what a delivery needs.
    pub fn targets(&self, event_type: &str) -> Vec<Target> {
        self.lock()
            .iter()
            .filter(|e| e.endpoint.enabled && e.endpoint.event_types.iter().any(|t| t == event_type))
            .map(|e| Target {
                endpoint_id: e.endpoint.id.clone(),
                url: e.endpoint.url.clone(),
                secret: e.secret.clone(),
                headers: e.endpoint.headers.clone(),
                timeout: Duration::from_millis(e.endpoint.timeout_ms),
            })
            .collect()
    }
}

pub use crate::webhook::ids::is_valid_id;

fn dedup(mut v: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    v.retain(|t| seen.insert(t.clone()));
    v
}

fn invalid(msg: impl Into<String>) -> RegistryError {
    RegistryError::Invalid(msg.into())
}

fn check_name(name: &str) -> Result<(), RegistryError> {
    let n = name.chars().count();
    if (1..=255).contains(&n) && !name.trim().is_empty() {
        Ok(())
    } else {
        Err(invalid("name must be 1–255 characters"))
    }
}

/// `https://` as the reference schema says, and also `http://` to loopback, where the
/// stand-in and `callscope listen` run.
fn check_url(url: &str) -> Result<(), RegistryError> {
    let parsed = reqwest::Url::parse(url).map_err(|e| invalid(format!("url {url:?} is not an absolute URL ({e})")))?;
    let host = parsed.host_str().unwrap_or_default();
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match parsed.scheme() {
        "https" if parsed.host().is_some() => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(invalid(format!(
            "url {url:?} must start with https:// (plain http:// is allowed only to 127.0.0.1/localhost)"
        ))),
    }
}

fn check_event_types(types: &[String]) -> Result<(), RegistryError> {
    check_event_types_in(types, &KNOWN_EVENT_TYPES)
}

/// At least one type, each in `allowed` (a route family's enum).
pub fn check_event_types_in(types: &[String], allowed: &[&str]) -> Result<(), RegistryError> {
    if types.is_empty() {
        return Err(invalid("event_types must list at least one event type"));
    }
    match types.iter().find(|t| !allowed.contains(&t.as_str())) {
        Some(t) => Err(invalid(format!(
            "unknown event type {}; known: {}",
            crate::standin::sanitize_echo(t),
            allowed.join(", ")
        ))),
        None => Ok(()),
    }
}

fn check_headers(headers: &BTreeMap<String, String>) -> Result<(), RegistryError> {
    for (k, v) in headers {
        let name_ok = reqwest::header::HeaderName::from_bytes(k.as_bytes()).is_ok();
        let value_ok = reqwest::header::HeaderValue::from_str(v).is_ok();
        if !name_ok || !value_ok {
            return Err(invalid(format!("header {k:?} is not a valid HTTP header")));
        }
        let lower = k.to_ascii_lowercase();
        if lower.starts_with("x-polyai-") || lower == "content-type" || lower == "content-length" {
            return Err(invalid(format!(
                "header {k:?} is set by the sender and cannot be overridden"
            )));
        }
    }
    Ok(())
}

fn check_timeout(ms: u64) -> Result<(), RegistryError> {
    if TIMEOUT_RANGE_MS.contains(&ms) {
        Ok(())
    } else {
        Err(invalid(format!("timeout_ms must be 1000–30000 (got {ms})")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(url: &str) -> NewEndpoint {
        NewEndpoint {
            name: "n".into(),
            url: url.into(),
            event_types: vec!["conversation.completed".into()],
            ..Default::default()
        }
    }

    #[test]
    fn ids_follow_the_documented_pattern() {
        assert!(is_valid_id("whe_9ZtRcXw3nByK5pVqMaEfJs"));
        for bad in ["whe_", "whe_a-b", "wh_abc", "WHE_abc", "whe_abc/", ""] {
            assert!(!is_valid_id(bad), "{bad}");
        }
        let (ep, _) = Registry::new().create(new("https://x.example/h")).unwrap();
        assert!(is_valid_id(&ep.id), "{}", ep.id);
    }

    #[test]
    fn urls_must_be_https_or_loopback_http() {
        let r = Registry::new();
        assert!(r.create(new("http://127.0.0.1:8787/polyai-events")).is_ok());
        assert!(r.create(new("http://localhost/x")).is_ok());
        assert!(r.create(new("http://[::1]:9/x")).is_ok());
        for bad in ["http://example.com/x", "ftp://127.0.0.1/", "not a url", "/relative"] {
            assert!(matches!(r.create(new(bad)), Err(RegistryError::Invalid(_))), "{bad}");
        }
    }

    #[test]
    fn fields_are_validated() {
        let r = Registry::new();
        let mut n = new("https://x.example/");
        n.event_types = vec![];
        assert!(r.create(n).is_err());
        let mut n = new("https://x.example/");
        n.event_types = vec!["call.exploded".into()];
        assert!(r.create(n).unwrap_err().to_string().contains("call.exploded"));
        let mut n = new("https://x.example/");
        n.timeout_ms = Some(999);
        assert!(r.create(n).is_err());
        let mut n = new("https://x.example/");
        n.headers.insert("X-PolyAI-Signature".into(), "forged".into());
        assert!(r.create(n).is_err());
        let mut n = new("https://x.example/");
        n.name = String::new();
        assert!(r.create(n).is_err());
        assert!(r.list().is_empty());
    }

    #[test]
    fn targets_follow_subscriptions_enabled_flag_and_rotation() {
        let r = Registry::new();
        let (a, secret_a) = r.create(new("https://a.example/")).unwrap();
        let mut nb = new("https://b.example/");
        nb.event_types = vec!["handoff.created".into()];
        r.create(nb).unwrap();
        let t = r.targets("conversation.completed");
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].secret, secret_a);
        assert_eq!(t[0].timeout, Duration::from_millis(DEFAULT_TIMEOUT_MS));
        let rotated = r.rotate(&a.id).unwrap();
        assert_ne!(rotated, secret_a);
        assert_eq!(r.targets("conversation.completed")[0].secret, rotated);
        r.update(
            &a.id,
            EndpointPatch {
                enabled: Some(false),
                ..Default::default()
            },
        )
        .unwrap();
        assert!(r.targets("conversation.completed").is_empty());
        assert_eq!(r.delete(&a.id), Ok(()));
        assert_eq!(r.delete(&a.id), Err(RegistryError::NotFound));
    }
}
