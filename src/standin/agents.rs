//! The reference by-id shape (`GET /v1/agents/{project}/conversations/{id}`): camelCase fields
//! around snake_case turns, as polyai-api.md §3.1 documents; and the platform list
//! (`GET /v1/agents/{project}/conversations?limit&offset`, polyai-api.md §8) in every shape.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::data::{DatasetHandle, Entry};
use super::errors::ApiFailure;
use super::shape::Shape;
use crate::api::model::Conversation;

fn metrics_value(metrics: &[(String, Vec<String>)]) -> Value {
    let mut m = Map::new();
    for (k, v) in metrics {
        let value = match v.as_slice() {
            [one] => Value::String(one.clone()),
            many => Value::Array(many.iter().cloned().map(Value::String).collect()),
        };
        m.insert(k.clone(), value);
    }
    Value::Object(m)
}

/// The camelCase document for one conversation.
pub fn detail(c: &Conversation, audio_url: &str) -> Value {
    let ts = |t: &Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)))
            .unwrap_or(Value::Null)
    };
    let poly_score = if c.in_progress {
        Value::Null
    } else {
        // A plausible quality score derived from the call (no randomness needed).
        let penalty = c.num_silences.unwrap_or(0) + c.num_ood.unwrap_or(0) + u32::from(c.handoff);
        json!(((0.95 - 0.07 * penalty as f64).max(0.3) * 100.0).round() / 100.0)
    };
    json!({
        "conversationId": c.id,
        "accountId": c.account_id,
        "projectId": c.project_id,
        "createdAt": ts(&c.started_at),
        "startedAt": ts(&c.started_at),
        "finishedAt": ts(&c.finished_at),
        "channel": c.channel,
        "fromNumber": c.from_number,
        "toNumber": c.to_number,
        "language": c.language,
        "variantId": c.variant_id,
        "clientEnv": c.environment,
        "totalDuration": c.total_duration,
        "polyaiDuration": c.polyai_duration,
        "duration": c.total_duration,
        "inProgress": c.in_progress,
        "handoff": c.handoff,
        "handoffDestination": c.handoff_destination,
        "handoffReason": c.handoff_reason,
        "direction": c.direction,
        "tags": [],
        "polyScore": poly_score,
        "shortSummary": c.short_summary,
        "deploymentId": "dep_standin",
        "note": "",
        "audioUrl": if c.is_voice() { Value::String(audio_url.to_string()) } else { Value::String(String::new()) },
        "turns": c.turns,
        "metrics": metrics_value(&c.metrics),
        "functionEvents": {},
    })
}

/// A documented list item: the by-id object without turns, metrics or function events.
pub fn summary(c: &Conversation, audio_url: &str) -> Value {
    let mut v = detail(c, audio_url);
    if let Value::Object(m) = &mut v {
        for k in ["turns", "metrics", "functionEvents"] {
            m.remove(k);
        }
    }
    v
}

/// `limit` when absent (polyai-api.md §8) and the largest accepted (ours).
pub const LIST_DEFAULT_LIMIT: usize = 50;
pub const LIST_MAX_LIMIT: usize = 1000;

/// The platform list's query: `limit`, `offset` and (a stand-in extension) `client_env`.
#[derive(Debug, Clone, PartialEq)]
pub struct ListPage {
    pub limit: usize,
    pub offset: usize,
    pub env: Option<String>,
}

impl ListPage {
    pub fn parse(pairs: &[(String, String)]) -> Result<ListPage, ApiFailure> {
        let mut p = ListPage {
            limit: LIST_DEFAULT_LIMIT,
            offset: 0,
            env: None,
        };
        for (k, v) in pairs {
            match k.as_str() {
                "limit" => {
                    p.limit = v
                        .parse()
                        .ok()
                        .filter(|l| (1..=LIST_MAX_LIMIT).contains(l))
                        .ok_or_else(|| {
                            ApiFailure::validation(format!(
                                "limit must be an integer from 1 to {LIST_MAX_LIMIT} (got {}).",
                                super::sanitize_echo(v)
                            ))
                        })?
                }
                "offset" => {
                    p.offset = v.parse().map_err(|_| {
                        ApiFailure::validation(format!(
                            "offset must be a non-negative integer (got {}).",
                            super::sanitize_echo(v)
                        ))
                    })?
                }
                "client_env" => p.env = Some(v.clone()),
                _ => {}
            }
        }
        Ok(p)
    }
}

/// One page of the platform list: every environment (unless `client_env`), newest first,
/// `count` = all matching conversations. Items are in `shape`'s platform form, without turns.
pub fn list_page(data: &DatasetHandle, shape: Shape, audio_base: &str, p: &ListPage) -> Value {
    let (count, page): (usize, Vec<Arc<Entry>>) = data.read(|d| {
        let matching = || {
            d.entries()
                .iter()
                .rev()
                .filter(|e| p.env.as_deref().is_none_or(|env| *e.environment == *env))
        };
        let count = matching().count();
        (count, matching().skip(p.offset).take(p.limit).cloned().collect())
    });
    let seed = data.scope().seed;
    let items: Vec<Value> = page
        .iter()
        .map(|e| {
            if shape.real_platform_objects() {
                super::real::summary(&super::real::expand(data, e), seed)
            } else {
                let c = data.expand(e);
                summary(&c, &format!("{audio_base}/{}/audio", c.id))
            }
        })
        .collect();
    json!({"conversations": items, "count": count, "limit": p.limit, "offset": p.offset})
}
