//! Wire models of the Conversations API, deserialized leniently.
//!
//! One struct serves both shapes the API is known to return: the v3 list/by-id objects
//! (snake_case) and the reference `/v1/agents/...` by-id object (camelCase), via aliases.
//! `""`, `null` and a missing field all mean "empty"; unknown fields are ignored; a
//! timestamp that does not parse becomes `None` instead of failing the whole page.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// One page of `GET /v3/{account}/{project}/conversations`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
pub struct ConversationPage {
    #[serde(default, deserialize_with = "null_default")]
    pub conversations: Vec<Conversation>,
    /// Opaque; `None` (or `""`) when there are no more pages.
    #[serde(default, deserialize_with = "empty_is_none")]
    pub cursor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_offset: Option<u64>,
}

/// A conversation: the list's summary, or the by-id object with its transcript.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(default)]
pub struct Conversation {
    #[serde(alias = "conversationId", deserialize_with = "null_default")]
    pub id: String,
    #[serde(alias = "accountId", deserialize_with = "null_default")]
    pub account_id: String,
    #[serde(alias = "projectId", deserialize_with = "null_default")]
    pub project_id: String,
    #[serde(alias = "variantId", deserialize_with = "null_default")]
    pub variant_id: String,
    #[serde(alias = "variantName", deserialize_with = "null_default")]
    pub variant_name: String,
    #[serde(alias = "clientEnv", deserialize_with = "null_default")]
    pub environment: String,
    #[serde(alias = "startedAt", deserialize_with = "lenient_time")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(deserialize_with = "null_default")]
    pub channel: String,
    #[serde(alias = "fromNumber", deserialize_with = "null_default")]
    pub from_number: String,
    #[serde(alias = "toNumber", deserialize_with = "null_default")]
    pub to_number: String,
    #[serde(alias = "inProgress", deserialize_with = "null_default")]
    pub in_progress: bool,
    #[serde(alias = "numTurns", deserialize_with = "lenient_u32")]
    pub num_turns: Option<u32>,
    /// Seconds.
    #[serde(alias = "totalDuration", deserialize_with = "lenient_u32")]
    pub total_duration: Option<u32>,
    /// Seconds handled by the PolyAI agent.
    #[serde(alias = "polyaiDuration", deserialize_with = "lenient_u32")]
    pub polyai_duration: Option<u32>,
    #[serde(deserialize_with = "null_default")]
    pub handoff: bool,
    #[serde(alias = "handoffReason", deserialize_with = "null_default")]
    pub handoff_reason: String,
    #[serde(alias = "handoffDestination", deserialize_with = "null_default")]
    pub handoff_destination: String,
    #[serde(deserialize_with = "lenient_u32")]
    pub num_silences: Option<u32>,
    #[serde(deserialize_with = "lenient_u32")]
    pub num_ood: Option<u32>,
    /// Custom metrics: name → value (a repeated metric's values joined in order).
    #[serde(deserialize_with = "metrics", serialize_with = "metrics_wire")]
    pub metrics: Vec<(String, Vec<String>)>,
    #[serde(deserialize_with = "null_default", skip_serializing_if = "Value::is_null")]
    pub state: Value,
    #[serde(deserialize_with = "null_default")]
    pub turns: Vec<Turn>,
    // Only on the camelCase by-id object.
    #[serde(
        alias = "finishedAt",
        deserialize_with = "lenient_time",
        skip_serializing_if = "Option::is_none"
    )]
    pub finished_at: Option<DateTime<Utc>>,
    #[serde(deserialize_with = "null_default", skip_serializing_if = "String::is_empty")]
    pub language: String,
    #[serde(deserialize_with = "null_default", skip_serializing_if = "String::is_empty")]
    pub direction: String,
    #[serde(
        alias = "shortSummary",
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub short_summary: String,
}

/// One turn: a user input and/or the agent's response.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(default)]
pub struct Turn {
    #[serde(deserialize_with = "null_default")]
    pub user_input: String,
    #[serde(deserialize_with = "null_default")]
    pub user_input_dtmf: String,
    #[serde(deserialize_with = "lenient_time")]
    pub user_input_datetime: Option<DateTime<Utc>>,
    #[serde(deserialize_with = "null_default")]
    pub agent_response: String,
    #[serde(deserialize_with = "lenient_time")]
    pub agent_response_datetime: Option<DateTime<Utc>>,
    /// Seconds between the user input and the agent's response (present with `include_latency`).
    #[serde(deserialize_with = "lenient_f64", skip_serializing_if = "Option::is_none")]
    pub latency: Option<f64>,
    #[serde(deserialize_with = "null_default")]
    pub translated_user_input: String,
    #[serde(deserialize_with = "null_default")]
    pub english_agent_response: String,
    #[serde(deserialize_with = "null_default")]
    pub intents: Vec<String>,
    #[serde(deserialize_with = "entities", serialize_with = "entities_wire")]
    pub entities: Vec<Entity>,
    #[serde(deserialize_with = "null_default")]
    pub is_ood: bool,
    #[serde(deserialize_with = "null_default")]
    pub is_silence: bool,
    #[serde(deserialize_with = "null_default")]
    pub barge_in: bool,
}

/// A detected entity: `name = value` (several values when the API sends a list).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Entity {
    pub name: String,
    pub values: Vec<String>,
}

impl Conversation {
    pub fn is_voice(&self) -> bool {
        self.channel.eq_ignore_ascii_case("VOICE-SIP") || self.channel.to_ascii_uppercase().starts_with("VOICE")
    }

    /// `num_turns > 0` but no turns: transcript visibility is off for the project.
    pub fn transcript_hidden(&self) -> bool {
        self.turns.is_empty() && self.num_turns.unwrap_or(0) > 0
    }

    pub fn turn_count(&self) -> u32 {
        self.num_turns.unwrap_or(self.turns.len() as u32)
    }
}

/// Voice channels (`VOICE-SIP`, and any other `VOICE…`) have recordings; chat ones do not.
pub fn is_voice_channel(channel: &str) -> bool {
    channel.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("VOICE"))
}

/// `null` → `T::default()`; any other value deserializes as `T`.
pub fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

fn empty_is_none<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.filter(|s| !s.is_empty()))
}

/// RFC 3339 with optional fraction and offset; anything unparsable is `None`.
fn lenient_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => parse_time(&s),
        _ => None,
    })
}

/// Parses the API's timestamps: RFC 3339, or the same without an offset (taken as UTC).
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|n| n.and_utc())
        })
}

fn lenient_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

fn lenient_u32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f.round() as u64))
            .map(|v| v.min(u32::MAX as u64) as u32),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

fn value_strings(v: Value) -> Vec<String> {
    match v {
        Value::Null => Vec::new(),
        Value::String(s) => vec![s],
        Value::Array(items) => items.into_iter().flat_map(value_strings).collect(),
        other => vec![other.to_string()],
    }
}

fn metrics<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, Vec<String>)>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Object(map) => map.into_iter().map(|(k, v)| (k, value_strings(v))).collect(),
        _ => Vec::new(),
    })
}

fn entities<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Entity>, D::Error> {
    let mut out = Vec::new();
    let mut push_object = |map: serde_json::Map<String, Value>| {
        for (name, v) in map {
            out.push(Entity {
                name,
                values: value_strings(v),
            });
        }
    };
    match Value::deserialize(d)? {
        Value::Array(items) => {
            for item in items {
                if let Value::Object(map) = item {
                    push_object(map);
                }
            }
        }
        Value::Object(map) => push_object(map),
        _ => {}
    }
    Ok(out)
}

/// Writes metrics in the wire shape: a single value as a string, a repeated one as a list.
fn metrics_wire<S: serde::Serializer>(metrics: &[(String, Vec<String>)], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut m = s.serialize_map(Some(metrics.len()))?;
    for (k, v) in metrics {
        match v.as_slice() {
            [one] => m.serialize_entry(k, one)?,
            many => m.serialize_entry(k, many)?,
        }
    }
    m.end()
}

/// Writes entities in the wire shape: `[{"name": "value"}, {"name": ["a", "b"]}]`.
fn entities_wire<S: serde::Serializer>(entities: &[Entity], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = s.serialize_seq(Some(entities.len()))?;
    for e in entities {
        let value = match e.values.as_slice() {
            [one] => Value::String(one.clone()),
            many => Value::Array(many.iter().cloned().map(Value::String).collect()),
        };
        seq.serialize_element(&serde_json::Map::from_iter([(e.name.clone(), value)]))?;
    }
    seq.end()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_documented_list_example() {
        let page: ConversationPage = serde_json::from_str(
            r#"{"conversations":[{"id":"CA1","account_id":"ws-1","project_id":"PROJECT-1",
            "environment":"live","started_at":"2026-04-01T09:15:02Z","channel":"VOICE-SIP",
            "in_progress":false,"num_turns":2,"total_duration":74,"handoff":true,
            "handoff_reason":"billing_question","metrics":{"CALL_DURATION":"74","CALL_TURN":["a","b"]},
            "turns":[{"user_input":"","agent_response":"Hi","agent_response_datetime":"2026-04-01T09:15:03Z",
            "latency":0.84,"intents":["billing"],"entities":[{"topic":"bill"},{"dates":["a","b"]}],
            "brand_new_field":{"x":1}}]}],"next_offset":1,"cursor":"abc"}"#,
        )
        .unwrap();
        assert_eq!(page.cursor.as_deref(), Some("abc"));
        let c = &page.conversations[0];
        assert_eq!(c.total_duration, Some(74));
        assert!(c.is_voice() && c.handoff && !c.transcript_hidden());
        assert_eq!(c.metrics[1], ("CALL_TURN".into(), vec!["a".into(), "b".into()]));
        let t = &c.turns[0];
        assert_eq!(t.latency, Some(0.84));
        assert_eq!(t.entities[1].values, vec!["a", "b"]);
        // Serializing gives the wire shape back, so the stand-in can reuse these models.
        let again: ConversationPage = serde_json::from_str(&serde_json::to_string(&page).unwrap()).unwrap();
        assert_eq!(again, page);
    }

    #[test]
    fn null_empty_and_missing_all_mean_empty() {
        let page: ConversationPage = serde_json::from_str(
            r#"{"conversations":[{"id":"CA1","channel":null,"started_at":"not a time",
            "turns":null,"num_turns":"3","handoff_reason":null,"metrics":null}],"cursor":""}"#,
        )
        .unwrap();
        assert_eq!(page.cursor, None);
        let c = &page.conversations[0];
        assert_eq!(c.channel, "");
        assert_eq!(c.started_at, None);
        assert!(c.transcript_hidden());
        let page: ConversationPage = serde_json::from_str(r#"{"conversations":null,"cursor":null}"#).unwrap();
        assert!(page.conversations.is_empty());
    }

    #[test]
    fn parses_camel_case_by_id_shape() {
        let c: Conversation = serde_json::from_str(
            r#"{"conversationId":"CA9","accountId":"ws-1","projectId":"P","clientEnv":"sandbox",
            "startedAt":"2023-11-07T05:31:56.12677+01:00","totalDuration":74,"inProgress":true,
            "handoffDestination":"queue","turns":[]}"#,
        )
        .unwrap();
        assert_eq!(c.id, "CA9");
        assert_eq!(c.environment, "sandbox");
        assert!(c.in_progress);
        assert_eq!(c.handoff_destination, "queue");
        assert_eq!(c.started_at.unwrap().to_rfc3339(), "2023-11-07T04:31:56.126770+00:00");
    }
}
