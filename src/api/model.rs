//! Wire models of the Conversations API.
//!
//! Reading is lenient and field by field (see [`super::lenient`]): one struct serves the v3
//! list/by-id objects (snake_case) and the reference `/v1/agents/...` by-id object (camelCase);
//! `""`, `null` and a missing field all mean "empty"; unknown fields are ignored; a field of an
//! unexpected type is left empty and named in `odd_fields`, never failing its record or page.
//! Writing gives the documented snake_case shape (the stand-in and the local cache use it).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use super::lenient::{OddField, RawPage, ReadReport, read_record};

/// One page of `GET /v3/{account}/{project}/conversations`.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ConversationPage {
    /// The records that have a usable id (the others are skipped and logged).
    pub conversations: Vec<Conversation>,
    /// Opaque; `None` (or `""`) when there are no more pages.
    pub cursor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_offset: Option<u64>,
    /// Records left out for want of a usable id (each logged).
    #[serde(skip)]
    pub skipped: u64,
    /// How many conversations the project holds in all, where the API says (the Data API
    /// list's `count`; the v3 list does not).
    #[serde(skip)]
    pub total: Option<u64>,
}

impl<'de> Deserialize<'de> for ConversationPage {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawPage::deserialize(d)?;
        let mut report = ReadReport::default();
        Ok(ConversationPage {
            conversations: raw.records.iter().filter_map(|r| report.read(r)).collect(),
            cursor: raw.cursor,
            next_offset: raw.next_offset,
            skipped: report.skipped,
            total: raw.total,
        })
    }
}

/// A conversation: the list's summary, or the by-id object with its transcript.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Conversation {
    pub id: String,
    pub account_id: String,
    pub project_id: String,
    pub variant_id: String,
    pub variant_name: String,
    pub environment: String,
    pub started_at: Option<DateTime<Utc>>,
    pub channel: String,
    pub from_number: String,
    pub to_number: String,
    pub in_progress: bool,
    pub num_turns: Option<u32>,
    /// Seconds.
    pub total_duration: Option<u32>,
    /// Seconds handled by the PolyAI agent.
    pub polyai_duration: Option<u32>,
    pub handoff: bool,
    pub handoff_reason: String,
    pub handoff_destination: String,
    pub num_silences: Option<u32>,
    pub num_ood: Option<u32>,
    /// Custom metrics: name → value (a repeated metric's values joined in order).
    #[serde(serialize_with = "metrics_wire")]
    pub metrics: Vec<(String, Vec<String>)>,
    #[serde(skip_serializing_if = "Value::is_null")]
    pub state: Value,
    pub turns: Vec<Turn>,
    // Only on the camelCase by-id object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub language: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub direction: String,
    /// A string, or a `{heading, content}` object read as "heading: content".
    #[serde(skip_serializing_if = "String::is_empty")]
    pub short_summary: String,
    /// The recording's path as sent (`audioUrl`): often relative (`conversations/{id}/audio`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub audio_url: String,
    /// PolyAI's quality score: 1–5 since July 2026, 0–10 before; `None` when not scored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub poly_score: Option<f64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// The server-side note (Agent Studio's), not callscope's own review note.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub note: String,
    /// The fields the server sent in a shape that could not be read (left empty above).
    #[serde(skip)]
    pub odd_fields: Vec<OddField>,
    /// `shortSummary`'s heading and content when it was sent as `{heading, content}` (empty
    /// for a plain-string summary, which is `short_summary` alone).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub summary_heading: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub summary_content: String,
}

/// Read field by field (see [`super::lenient`]); fails only when the value is not an object.
/// A missing or unusable id reads as `""` (a page skips such records).
impl<'de> Deserialize<'de> for Conversation {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        read_record(&raw).ok_or_else(|| serde::de::Error::custom("a conversation must be a JSON object"))
    }
}

/// One turn: a user input and/or the agent's response.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Turn {
    pub user_input: String,
    pub user_input_dtmf: String,
    pub user_input_datetime: Option<DateTime<Utc>>,
    pub agent_response: String,
    pub agent_response_datetime: Option<DateTime<Utc>>,
    /// Seconds between the user input and the agent's response (present with `include_latency`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency: Option<f64>,
    pub translated_user_input: String,
    pub english_agent_response: String,
    pub intents: Vec<String>,
    #[serde(serialize_with = "entities_wire")]
    pub entities: Vec<Entity>,
    pub is_ood: bool,
    pub is_silence: bool,
    pub barge_in: bool,
    /// The server's 0-based turn id, where sent (annotations refer to it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub turn_id: Option<u32>,
    /// One utterance's audio (`conversations/{id}/turns/{n}/audio`, relative), where offered.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub user_input_audio_url: String,
    /// `metadata.asr_corrected_user_input`: what the ASR correction made of the caller's words.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub asr_corrected_user_input: String,
    /// `metadata.top_transcripts`: the ASR n-best hypotheses' texts, best first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub top_transcripts: Vec<String>,
    /// `metadata.retrieved_topics`: knowledge-base topics retrieved for this turn.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub retrieved_topics: Vec<String>,
    /// `metadata.safety.filters_triggered`: the safety filters that fired (names).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub safety_filters: Vec<String>,
    /// Function calls made at this turn (from `functionEvents` keyed by turn index, or the
    /// turn's `metadata.function_events`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub function_events: Vec<FunctionEvent>,
    /// `metadata.current_node`: the flow node the agent was in.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub current_node: String,
}

/// One function call the agent made during a turn.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct FunctionEvent {
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub function_id: String,
    /// As sent (an object, usually).
    #[serde(skip_serializing_if = "Value::is_null")]
    pub arguments: Value,
    /// Milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<DateTime<Utc>>,
    /// `handoff.reason` / `handoff.type`, when the call handed off.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub handoff_reason: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub handoff_type: String,
    /// `state_changes {added, removed, updated}` as sent.
    #[serde(skip_serializing_if = "Value::is_null")]
    pub state_changes: Value,
    /// The caller's words that led to the call (only in a turn's `metadata.function_events`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub utterance: String,
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
    /// (Turns that were sent but could not be read are not a hidden transcript.)
    pub fn transcript_hidden(&self) -> bool {
        self.turns.is_empty() && self.num_turns.unwrap_or(0) > 0 && !self.is_odd("turns")
    }

    /// Whether `field` (e.g. `handoff`, `turns.latency`) was sent in a shape that could not be read.
    pub fn is_odd(&self, field: &str) -> bool {
        self.odd_fields.iter().any(|o| o.field == field)
    }

    /// The scale of `poly_score` (see [`super::score`]); `None` when unscored or undecidable.
    pub fn poly_score_scale(&self) -> Option<&'static str> {
        let score = self.poly_score?;
        super::score::scale(score, self.started_at.or(self.finished_at)).range()
    }

    /// The slowest agent response, in seconds (what `latency>N` compares).
    pub fn max_latency(&self) -> Option<f64> {
        self.turns
            .iter()
            .filter_map(|t| t.latency)
            .filter(|l| l.is_finite())
            .fold(None, |m: Option<f64>, l| Some(m.map_or(l, |m| m.max(l))))
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

/// Parses the API's timestamps: RFC 3339, the same without an offset (taken as UTC) or with a
/// space for the `T`, or an HTTP date (`Wed, 03 Jun 2026 13:18:09 GMT`, in function events).
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    DateTime::parse_from_rfc3339(s)
        .or_else(|_| DateTime::parse_from_rfc2822(s))
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
                .iter()
                .find_map(|f| chrono::NaiveDateTime::parse_from_str(s, f).ok())
                .map(|n| n.and_utc())
        })
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
            "brand_new_field":{"x":1},"metadata":{"asr_corrected_user_input":"hi there","retrieved_topics":["menu"],
            "top_transcripts":[{"text":"hi","intents":[]}],"current_node":"start","safety":{"filters_triggered":{"pii":true}},
            "function_events":[{"name":"greet","function_id":"f1","utterance":"hi","arguments":{"a":1}}]}}],
            "functionEvents":{"0":[{"name":"greet","function_id":"f1","duration":12,"start_time":"Wed, 03 Jun 2026 13:18:09 GMT",
            "handoff":{"reason":"r","type":"t"},"state_changes":{"added":{"k":"v"}}}]},
            "shortSummary":{"heading":"H","content":"C"},"polyScore":3,"tags":["x"]}],"next_offset":1,"cursor":"abc"}"#,
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
        assert_eq!(t.function_events.len(), 1, "one call sent in two places");
        assert_eq!(
            (t.function_events[0].utterance.as_str(), t.function_events[0].duration),
            ("hi", Some(12.0))
        );
        assert_eq!((t.safety_filters.len(), c.summary_heading.as_str()), (1, "H"));
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
            "handoffDestination":"queue","audioUrl":"conversations/CA9/audio","polyScore":4.5,
            "tags":["vip",null],"note":"call back","turns":[{"turn_id":0,
            "user_input_audio_url":"conversations/CA9/turns/0/audio"}]}"#,
        )
        .unwrap();
        assert_eq!(c.id, "CA9");
        assert_eq!(
            (c.audio_url.as_str(), c.poly_score),
            ("conversations/CA9/audio", Some(4.5))
        );
        assert_eq!(
            (c.tags.as_slice(), c.note.as_str()),
            (&["vip".to_string()][..], "call back")
        );
        assert_eq!(c.turns[0].turn_id, Some(0));
        assert_eq!(c.turns[0].user_input_audio_url, "conversations/CA9/turns/0/audio");
        assert_eq!(c.environment, "sandbox");
        assert!(c.in_progress);
        assert_eq!(c.handoff_destination, "queue");
        assert_eq!(c.started_at.unwrap().to_rfc3339(), "2023-11-07T04:31:56.126770+00:00");
    }

    #[test]
    fn a_conversation_reads_leniently_from_text_and_from_a_value() {
        let json = serde_json::json!({"id": 42, "handoff": "maybe", "channel": "VOICE-SIP", "num_turns": 1});
        for c in [
            serde_json::from_str::<Conversation>(&json.to_string()).unwrap(),
            serde_json::from_value::<Conversation>(json.clone()).unwrap(),
        ] {
            assert_eq!(
                (c.id.as_str(), c.channel.as_str(), c.handoff),
                ("42", "VOICE-SIP", false)
            );
            assert!(c.is_odd("handoff") && !c.is_odd("channel"));
        }
        assert!(serde_json::from_str::<Conversation>("[1]").is_err(), "not an object");
        // The by-id answer too: nesting past serde_json's limit fails only that field.
        let deep = format!(
            r#"{{"id":"CA1","channel":"WEBCHAT","state":{}{}}}"#,
            "[".repeat(50_000),
            "]".repeat(50_000)
        );
        let c: Conversation = serde_json::from_slice(deep.as_bytes()).unwrap();
        assert_eq!((c.channel.as_str(), c.is_odd("state")), ("WEBCHAT", true));
        // Odd fields are not written back: the wire shape stays the documented one.
        let c: Conversation = serde_json::from_value(json).unwrap();
        let back = serde_json::to_value(&c).unwrap();
        assert_eq!(back["handoff"], false);
        assert!(back.get("odd_fields").is_none());
    }

    #[test]
    fn a_page_skips_records_without_a_usable_id() {
        let page: ConversationPage =
            serde_json::from_str(r#"{"conversations":[{"id":"A"},{"channel":"x"},7,{"id":9}],"cursor":5}"#).unwrap();
        let ids: Vec<&str> = page.conversations.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["A", "9"]);
        assert_eq!(page.skipped, 2);
        assert_eq!(page.cursor.as_deref(), Some("5"));
    }
}
