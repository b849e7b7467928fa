//! The reference by-id shape (`GET /v1/agents/{project}/conversations/{id}`): camelCase fields
//! around snake_case turns, as polyai-api.md §3.1 documents.

use serde_json::{Map, Value, json};

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
