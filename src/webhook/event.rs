//! The webhook event envelope `{id, type, created_at, data: {conversation_id, environment, …}}`.
//!
//! Parsed leniently (the payload is undocumented upstream, polyai-api.md §6.3): unknown event
//! types are kept as `Other`, unknown data fields are kept, and the raw JSON travels along.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An event type: the two the quickstart promises, or anything else a server sends.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EventType {
    ConversationCompleted,
    HandoffCreated,
    Other(String),
}

impl EventType {
    pub fn as_str(&self) -> &str {
        match self {
            EventType::ConversationCompleted => "conversation.completed",
            EventType::HandoffCreated => "handoff.created",
            EventType::Other(s) => s,
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "conversation.completed" => EventType::ConversationCompleted,
            "handoff.created" => EventType::HandoffCreated,
            other => EventType::Other(other.to_string()),
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for EventType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EventType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(EventType::parse(&String::deserialize(d)?))
    }
}

/// `data` of a call event. Every field is optional on the wire; unknown ones are kept.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EventData {
    pub conversation_id: String,
    /// `live`, `sandbox` or `pre-release`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub environment: String,
    /// `VOICE-SIP`, `WEBCHAT`, …
    #[serde(skip_serializing_if = "String::is_empty")]
    pub channel: String,
    #[serde(deserialize_with = "lenient_time", skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    pub handoff: bool,
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "text")]
    pub handoff_reason: String,
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "text")]
    pub handoff_destination: String,
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl EventData {
    /// The event data for a finished conversation (what the stand-in sends when a call ends).
    pub fn from_conversation(c: &crate::api::Conversation) -> Self {
        let mut extra = BTreeMap::new();
        if let Some(n) = c.num_turns {
            extra.insert("num_turns".into(), n.into());
        }
        if let Some(d) = c.total_duration {
            extra.insert("total_duration".into(), d.into());
        }
        EventData {
            conversation_id: c.id.clone(),
            environment: c.environment.clone(),
            channel: c.channel.clone(),
            started_at: c.started_at,
            handoff: c.handoff,
            handoff_reason: c.handoff_reason.clone(),
            handoff_destination: c.handoff_destination.clone(),
            extra,
        }
    }
}

/// The envelope as sent on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Wire {
    #[serde(default)]
    id: String,
    /// The alerts payload of the reference docs spells it `event_type`.
    #[serde(rename = "type", alias = "event_type")]
    event_type: EventType,
    #[serde(default, deserialize_with = "lenient_time", skip_serializing_if = "Option::is_none")]
    created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    data: EventData,
}

/// One webhook event, with the JSON it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEvent {
    pub id: String,
    pub event_type: EventType,
    pub created_at: Option<DateTime<Utc>>,
    pub data: EventData,
    /// The whole payload as received (or as it will be sent).
    pub raw: serde_json::Value,
}

impl WebhookEvent {
    /// A new event with a fresh `evt_…` id, stamped now.
    pub fn new(event_type: EventType, data: EventData) -> Self {
        Self::with_id(super::ids::event_id(), event_type, Utc::now(), data)
    }

    pub fn with_id(id: String, event_type: EventType, created_at: DateTime<Utc>, data: EventData) -> Self {
        let wire = Wire {
            id,
            event_type,
            created_at: Some(created_at),
            data,
        };
        let mut raw = serde_json::to_value(&wire).expect("events serialize");
        // Keep the wire timestamp in the usual second-precision Z form.
        raw["created_at"] = created_at.to_rfc3339_opts(SecondsFormat::Secs, true).into();
        WebhookEvent {
            id: wire.id,
            event_type: wire.event_type,
            created_at: wire.created_at,
            data: wire.data,
            raw,
        }
    }

    /// Parses a delivery body. `header_id` (`X-PolyAI-Event-ID`) fills in a missing body `id`.
    pub fn from_slice(body: &[u8], header_id: Option<&str>) -> Result<Self, serde_json::Error> {
        let raw: serde_json::Value = serde_json::from_slice(body)?;
        let mut wire: Wire = serde_json::from_value(raw.clone())?;
        if wire.id.is_empty() {
            wire.id = header_id.unwrap_or_default().to_string();
        }
        Ok(WebhookEvent {
            id: wire.id,
            event_type: wire.event_type,
            created_at: wire.created_at,
            data: wire.data,
            raw,
        })
    }

    /// The body to send: the raw JSON, compact.
    pub fn to_body(&self) -> Vec<u8> {
        serde_json::to_vec(&self.raw).expect("JSON values serialize")
    }
}

fn lenient_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(v.and_then(|v| match v {
        serde_json::Value::String(s) => DateTime::parse_from_rfc3339(&s).ok().map(|t| t.with_timezone(&Utc)),
        serde_json::Value::Number(n) => n.as_i64().and_then(|s| DateTime::from_timestamp(s, 0)),
        _ => None,
    }))
}

/// `null` and `""` both mean empty (design.md §3 "Models").
fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_envelope_and_keeps_unknown_fields() {
        let body = br#"{"id":"evt_1","type":"handoff.created","created_at":"2026-11-28T09:15:00Z",
            "data":{"conversation_id":"CA7f","environment":"live","channel":"VOICE-SIP",
                    "started_at":"2026-11-28T09:13:00Z","handoff":true,"handoff_reason":null,
                    "handoff_destination":"billing","num_turns":12}}"#;
        let e = WebhookEvent::from_slice(body, None).unwrap();
        assert_eq!(e.id, "evt_1");
        assert_eq!(e.event_type, EventType::HandoffCreated);
        assert_eq!(e.data.conversation_id, "CA7f");
        assert!(e.data.handoff);
        assert_eq!(e.data.handoff_reason, "");
        assert_eq!(e.data.handoff_destination, "billing");
        assert_eq!(e.data.extra["num_turns"], 12);
        assert_eq!(e.raw["data"]["num_turns"], 12);
        assert_eq!(e.created_at.unwrap().to_rfc3339(), "2026-11-28T09:15:00+00:00");
    }

    #[test]
    fn unknown_types_and_the_alerts_shape_are_kept() {
        let e = WebhookEvent::from_slice(
            br#"{"event_type":"alerts.triggered","alert":{"id":"ar_1"}}"#,
            Some("evt_hdr"),
        )
        .unwrap();
        assert_eq!(e.event_type, EventType::Other("alerts.triggered".into()));
        assert_eq!(e.id, "evt_hdr");
        assert_eq!(e.raw["alert"]["id"], "ar_1");
        assert!(WebhookEvent::from_slice(b"{not json", None).is_err());
        assert!(WebhookEvent::from_slice(br#"{"id":"x"}"#, None).is_err());
    }

    #[test]
    fn data_from_a_conversation() {
        let c: crate::api::Conversation = serde_json::from_value(serde_json::json!({
            "id": "CA9", "environment": "sandbox", "channel": "VOICE-SIP",
            "started_at": "2026-11-28T09:00:00Z", "handoff": true,
            "handoff_destination": "billing", "num_turns": 7, "total_duration": 94
        }))
        .unwrap();
        let d = EventData::from_conversation(&c);
        assert_eq!(
            (d.conversation_id.as_str(), d.environment.as_str(), d.channel.as_str()),
            ("CA9", "sandbox", "VOICE-SIP")
        );
        assert!(d.handoff);
        assert_eq!(d.handoff_destination, "billing");
        assert_eq!(d.started_at, c.started_at);
        assert_eq!(d.extra["num_turns"], 7);
        assert_eq!(d.extra["total_duration"], 94);
    }

    #[test]
    fn new_events_round_trip_through_the_wire() {
        let data = EventData {
            conversation_id: "CA1".into(),
            environment: "live".into(),
            channel: "WEBCHAT".into(),
            ..Default::default()
        };
        let e = WebhookEvent::new(EventType::ConversationCompleted, data);
        assert!(e.id.starts_with("evt_"), "{}", e.id);
        let back = WebhookEvent::from_slice(&e.to_body(), None).unwrap();
        assert_eq!(back.id, e.id);
        assert_eq!(back.event_type, EventType::ConversationCompleted);
        assert_eq!(back.data, e.data);
        assert_eq!(back.raw["type"], "conversation.completed");
    }
}
