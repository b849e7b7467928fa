//! Webhook event envelopes, both shapes:
//! - the quickstart's `{id, type, created_at, data: {conversation_id, environment, …}}`
//!   (`conversation.completed`, `handoff.created`);
//! - the reference's `{event_type, alert: {id, name, metric, operator, threshold_value, …}}`
//!   (`alerts.triggered`, `alerts.resolved`), whose event id travels only in
//!   `X-PolyAI-Event-ID`.
//!
//! Parsed leniently (the payload is undocumented upstream, polyai-api.md §6.3): unknown event
//! types are kept as `Other`, unknown data fields are kept, a field of an odd type is skipped
//! rather than failing the event, and the raw JSON travels along.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The reference's `WebhookEventType` enum: what `/v1/webhook-endpoints` accepts.
pub const REFERENCE_EVENT_TYPES: [&str; 2] = ["alerts.triggered", "alerts.resolved"];

/// An event type: the two the quickstart promises, the reference's two alert events, or
/// anything else a server sends.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EventType {
    ConversationCompleted,
    HandoffCreated,
    AlertsTriggered,
    AlertsResolved,
    Other(String),
}

impl EventType {
    pub fn as_str(&self) -> &str {
        match self {
            EventType::ConversationCompleted => "conversation.completed",
            EventType::HandoffCreated => "handoff.created",
            EventType::AlertsTriggered => "alerts.triggered",
            EventType::AlertsResolved => "alerts.resolved",
            EventType::Other(s) => s,
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "conversation.completed" => EventType::ConversationCompleted,
            "handoff.created" => EventType::HandoffCreated,
            "alerts.triggered" => EventType::AlertsTriggered,
            "alerts.resolved" => EventType::AlertsResolved,
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

/// `alert` of an `alerts.*` event: the reference's (since removed) `WebhookAlert` schema.
/// Every field may be missing or odd on the wire; such a field stays empty.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Alert {
    /// `ar_…`.
    pub id: String,
    pub name: String,
    pub project_id: String,
    /// `turn_latency_p95`, `api_errors`, …
    pub metric: String,
    /// `>=`, `>`, …
    pub operator: String,
    /// Numbers as the server wrote them (integers per the schema; kept as text).
    pub threshold_value: String,
    pub current_value: String,
    /// `ok`, `alert`, `no_data`, `unknown`.
    pub previous_state: String,
    pub triggered_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
}

impl Alert {
    /// Reads an `alert` object field by field, so one odd field never loses the rest.
    pub fn from_value(v: &serde_json::Value) -> Self {
        let text = |k: &str| match v.get(k) {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Number(n)) => n.to_string(),
            Some(serde_json::Value::Bool(b)) => b.to_string(),
            _ => String::new(),
        };
        let time = |k: &str| v.get(k).and_then(time_of);
        Alert {
            id: text("id"),
            name: text("name"),
            project_id: text("project_id"),
            metric: text("metric"),
            operator: text("operator"),
            threshold_value: text("threshold_value"),
            current_value: text("current_value"),
            previous_state: text("previous_state"),
            triggered_at: time("triggered_at"),
            resolved_at: time("resolved_at"),
        }
    }

    /// The JSON object as the reference example writes it (numbers as numbers).
    pub fn to_value(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        let mut put = |k: &str, v: &str, number: bool| {
            if v.is_empty() {
                return;
            }
            let value = match v.parse::<i64>() {
                Ok(n) if number => n.into(),
                _ => v.into(),
            };
            m.insert(k.into(), value);
        };
        put("id", &self.id, false);
        put("name", &self.name, false);
        put("project_id", &self.project_id, false);
        put("metric", &self.metric, false);
        put("operator", &self.operator, false);
        put("threshold_value", &self.threshold_value, true);
        put("current_value", &self.current_value, true);
        put("previous_state", &self.previous_state, false);
        let stamp = |t: &DateTime<Utc>| serde_json::Value::from(t.to_rfc3339_opts(SecondsFormat::Secs, true));
        if let Some(t) = &self.triggered_at {
            m.insert("triggered_at".into(), stamp(t));
        }
        if let Some(t) = &self.resolved_at {
            m.insert("resolved_at".into(), stamp(t));
        }
        serde_json::Value::Object(m)
    }

    /// One terminal-safe line: `High turn latency (p95): turn_latency_p95 1823 (>= 1500)`.
    /// The text comes from the network, so it is sanitized here.
    pub fn summary(&self) -> String {
        let name = if self.name.is_empty() { &self.id } else { &self.name };
        let mut line = if name.is_empty() {
            "unnamed alert".to_string()
        } else {
            name.clone()
        };
        if !self.metric.is_empty() {
            line.push_str(&format!(": {}", self.metric));
            if !self.current_value.is_empty() {
                line.push_str(&format!(" {}", self.current_value));
            }
            if !self.threshold_value.is_empty() {
                let op = if self.operator.is_empty() {
                    "threshold"
                } else {
                    &self.operator
                };
                line.push_str(&format!(" ({op} {})", self.threshold_value));
            }
        }
        crate::sanitize::truncate(&crate::sanitize::sanitize_line(&line), 160)
    }
}

/// The quickstart's envelope as the stand-in sends it.
#[derive(Debug, Clone, PartialEq, Serialize)]
struct Wire {
    id: String,
    #[serde(rename = "type")]
    event_type: EventType,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_at: Option<DateTime<Utc>>,
    data: EventData,
}

/// One webhook event, with the JSON it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEvent {
    pub id: String,
    pub event_type: EventType,
    pub created_at: Option<DateTime<Utc>>,
    pub data: EventData,
    /// The reference shape's `alert` object (`alerts.*` events), when the payload has one.
    pub alert: Option<Alert>,
    /// The whole payload as received (or as it will be sent).
    pub raw: serde_json::Value,
}

impl WebhookEvent {
    /// A new event with a fresh `evt_…` id, stamped now.
    pub fn new(event_type: EventType, data: EventData) -> Self {
        Self::with_id(super::ids::event_id(), event_type, Utc::now(), data)
    }

    // Cannot fail: a struct of strings and JSON values always serializes.
    #[allow(clippy::expect_used)]
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
            alert: None,
            raw,
        }
    }

    /// An alert event in the reference's shape, `{"event_type", "alert"}`, with a fresh
    /// `evt_…` id for the `X-PolyAI-Event-ID` header (the body carries none).
    pub fn alert(event_type: EventType, alert: Alert) -> Self {
        let raw = serde_json::json!({ "event_type": event_type.as_str(), "alert": alert.to_value() });
        WebhookEvent {
            id: super::ids::event_id(),
            event_type,
            created_at: None,
            data: EventData::default(),
            alert: Some(alert),
            raw,
        }
    }

    /// Whether this is one of the reference's alert events.
    pub fn is_alert(&self) -> bool {
        matches!(self.event_type, EventType::AlertsTriggered | EventType::AlertsResolved)
    }

    /// Parses a delivery body. `header_id` (`X-PolyAI-Event-ID`) fills in a missing body `id`.
    pub fn from_slice(body: &[u8], header_id: Option<&str>) -> Result<Self, serde_json::Error> {
        use serde::de::Error as _;
        let raw: serde_json::Value = serde_json::from_slice(body)?;
        let Some(obj) = raw.as_object() else {
            return Err(serde_json::Error::custom("the payload is not a JSON object"));
        };
        // Read field by field: the quickstart's `type` or the reference's `event_type` (either,
        // or both), and an odd `id`, `created_at` or `data` never loses the event.
        let event_type = ["type", "event_type"]
            .iter()
            .find_map(|k| obj.get(*k).and_then(serde_json::Value::as_str))
            .map(EventType::parse)
            .ok_or_else(|| serde_json::Error::missing_field("type"))?;
        let mut id = match obj.get("id") {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Number(n)) => n.to_string(),
            _ => String::new(),
        };
        if id.is_empty() {
            id = header_id.unwrap_or_default().to_string();
        }
        let data = match obj.get("data") {
            Some(d @ serde_json::Value::Object(_)) => serde_json::from_value(d.clone()).unwrap_or_else(|e| {
                tracing::warn!("webhook event: odd `data` ({e}); only its conversation_id is used");
                EventData {
                    conversation_id: d["conversation_id"].as_str().unwrap_or_default().to_string(),
                    ..Default::default()
                }
            }),
            _ => EventData::default(),
        };
        let alert = obj.get("alert").filter(|a| a.is_object()).map(Alert::from_value);
        Ok(WebhookEvent {
            id,
            event_type,
            created_at: obj.get("created_at").and_then(time_of),
            data,
            alert,
            raw,
        })
    }

    /// The body to send: the raw JSON, compact.
    // Cannot fail: a serde_json::Value always serializes.
    #[allow(clippy::expect_used)]
    pub fn to_body(&self) -> Vec<u8> {
        serde_json::to_vec(&self.raw).expect("JSON values serialize")
    }
}

fn lenient_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(v.as_ref().and_then(time_of))
}

/// An RFC 3339 string or Unix seconds; anything else is no time.
fn time_of(v: &serde_json::Value) -> Option<DateTime<Utc>> {
    match v {
        serde_json::Value::String(s) => DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc)),
        serde_json::Value::Number(n) => n.as_i64().and_then(|s| DateTime::from_timestamp(s, 0)),
        _ => None,
    }
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
        assert_eq!(e.event_type, EventType::AlertsTriggered);
        assert!(e.is_alert());
        assert_eq!(e.id, "evt_hdr");
        assert_eq!(e.raw["alert"]["id"], "ar_1");
        assert_eq!(e.alert.as_ref().unwrap().id, "ar_1");
        let other = WebhookEvent::from_slice(br#"{"type":"call.exploded","data":{}}"#, Some("e")).unwrap();
        assert_eq!(other.event_type, EventType::Other("call.exploded".into()));
        assert!(other.alert.is_none());
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

    #[test]
    fn the_reference_alert_example_parses_and_round_trips() {
        // polyai-api.md §6.3, the reference's (removed) example, and its resolved variant.
        let body = br#"{"event_type":"alerts.triggered","alert":{"id":"ar_0Kx4mNpQ8rWvYb2dFgHjLs",
            "name":"High turn latency (p95)","project_id":"proj_abc123","metric":"turn_latency_p95",
            "operator":">=","threshold_value":1500,"current_value":1823,"previous_state":"ok",
            "triggered_at":"2024-03-15T10:30:00Z"}}"#;
        let e = WebhookEvent::from_slice(body, Some("evt_h")).unwrap();
        let a = e.alert.clone().unwrap();
        assert_eq!(
            (a.metric.as_str(), a.current_value.as_str()),
            ("turn_latency_p95", "1823")
        );
        assert_eq!(a.summary(), "High turn latency (p95): turn_latency_p95 1823 (>= 1500)");
        assert_eq!(a.triggered_at.unwrap().to_rfc3339(), "2024-03-15T10:30:00+00:00");
        let sent = WebhookEvent::alert(EventType::AlertsTriggered, a.clone());
        assert_eq!(sent.raw, serde_json::from_slice::<serde_json::Value>(body).unwrap());
        let resolved = br#"{"event_type":"alerts.resolved","alert":{"id":"ar_1","name":"x",
            "current_value":920,"previous_state":"alert","resolved_at":"2024-03-15T11:00:00Z",
            "threshold_value":{"odd":true},"metric":["odd"]}}"#;
        let r = WebhookEvent::from_slice(resolved, Some("evt_r")).unwrap();
        let a = r.alert.unwrap();
        assert_eq!(r.event_type, EventType::AlertsResolved);
        assert_eq!(
            (a.current_value.as_str(), a.threshold_value.as_str(), a.metric.as_str()),
            ("920", "", "")
        );
        assert!(a.resolved_at.is_some() && a.triggered_at.is_none());
    }

    #[test]
    fn alert_summaries_carry_no_control_characters() {
        let a =
            Alert::from_value(&serde_json::json!({"name": "evil\u{1b}]52;c;eA==\u{7}\nname", "metric": "m\u{9b}2J"}));
        let s = a.summary();
        assert!(!s.chars().any(char::is_control), "{s:?}");
        assert!(Alert::default().summary().contains("unnamed alert"));
    }

    #[test]
    fn odd_envelopes_keep_the_event() {
        // Both spellings of the type, a numeric id, a null `data`, an odd `created_at`.
        let e = WebhookEvent::from_slice(
            br#"{"type":"alerts.triggered","event_type":"alerts.triggered","id":42,"data":null,"created_at":[1],"alert":{"name":"a"}}"#,
            None,
        )
        .unwrap();
        assert_eq!(
            (e.event_type, e.id.as_str(), e.created_at),
            (EventType::AlertsTriggered, "42", None)
        );
        assert_eq!(e.alert.unwrap().name, "a");
        // An odd field inside `data` keeps the conversation id.
        let e = WebhookEvent::from_slice(
            br#"{"id":"evt_1","type":"conversation.completed","data":{"conversation_id":"CA1","handoff":"yes"}}"#,
            None,
        )
        .unwrap();
        assert_eq!(e.data.conversation_id, "CA1");
        assert!(WebhookEvent::from_slice(b"[1]", None).is_err());
        assert!(WebhookEvent::from_slice(br#"{"type":7}"#, None).is_err());
    }
}
