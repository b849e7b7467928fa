//! Reading conversation records field by field: one odd field never costs the rest of its
//! record, and one odd record never costs its page.
//!
//! A page is first split into its records as raw JSON, each record into its members, and each
//! member is then read with typed fallbacks (an id sent as a number is its decimal string,
//! `handoff: "yes"` is true, `latency` may be an object, …). serde_json skips over a raw value
//! without recursing, so nesting depth can only fail the one field that is nested too deep
//! (its 128-level limit applies when that field is read), never the page. A field that cannot
//! be read stays empty, is named in the record's `odd_fields` and logged; a record without a
//! usable id is skipped and counted by [`ReadReport`].

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

use super::model::{Conversation, Entity, FunctionEvent, Turn, parse_time};
use crate::sanitize::sanitize_line;

/// A field that could not be read: its name and the start of what the server sent there.
#[derive(Debug, Clone, PartialEq)]
pub struct OddField {
    /// The canonical (snake_case) name; a turn's field is `turns.NAME`.
    pub field: &'static str,
    /// At most [`RAW_PREVIEW`] bytes of the JSON as sent (not sanitized: sanitize to show it).
    pub raw: String,
}

/// How much of an odd field's JSON is kept (bounded, whatever the server sends).
pub const RAW_PREVIEW: usize = 120;

fn preview(json: &str) -> String {
    let mut end = json.len().min(RAW_PREVIEW);
    while !json.is_char_boundary(end) {
        end -= 1;
    }
    if end < json.len() {
        format!("{}…", &json[..end])
    } else {
        json.to_string()
    }
}

/// A JSON object's members as raw values, in the order sent.
struct Members<'a>(Vec<(Key<'a>, &'a RawValue)>);

/// An object key, borrowed from the input unless it had escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<Key<'de>, &'de RawValue>()? {
                    out.push((k, v));
                }
                Ok(Members(out))
            }
        }
        d.deserialize_map(V)
    }
}

fn members(raw: &RawValue) -> Option<Members<'_>> {
    serde_json::from_str(raw.get()).ok()
}

/// `conversationId` → `conversation_id`; snake_case keys are returned as they are.
fn snake(key: &str) -> Cow<'_, str> {
    if !key.bytes().any(|b| b.is_ascii_uppercase()) {
        return Cow::Borrowed(key);
    }
    let mut out = String::with_capacity(key.len() + 4);
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            if !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The value, or `None` when it is nested deeper than serde_json's limit.
fn value(raw: &RawValue) -> Option<Value> {
    serde_json::from_str(raw.get()).ok()
}

/// A JSON string read straight into a `String` (the common case, without a `Value` tree).
fn string(raw: &RawValue) -> Option<String> {
    raw.get()
        .starts_with('"')
        .then(|| serde_json::from_str(raw.get()).ok())
        .flatten()
}

/// Text: a string; `null` is empty; a number or boolean is its JSON text.
fn text(raw: &RawValue) -> Option<String> {
    if let Some(s) = string(raw) {
        return Some(s);
    }
    match value(raw)? {
        Value::String(s) => Some(s),
        Value::Null => Some(String::new()),
        v @ (Value::Number(_) | Value::Bool(_)) => Some(v.to_string()),
        _ => None,
    }
}

/// An id: a non-empty string, or an integer (its decimal string).
fn id(raw: &RawValue) -> Option<String> {
    match value(raw)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) if n.is_u64() || n.is_i64() => Some(n.to_string()),
        _ => None,
    }
}

/// A flag, where its meaning is unambiguous: `true`/`false`, `null` (false), 1/0 and the
/// strings true/false, yes/no, y/n, 1/0, on/off (any case) or "".
fn flag(raw: &RawValue) -> Option<bool> {
    match value(raw)? {
        Value::Bool(b) => Some(b),
        Value::Null => Some(false),
        Value::Number(n) => match n.as_f64() {
            Some(1.0) => Some(true),
            Some(0.0) => Some(false),
            _ => None,
        },
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "y" | "1" | "on" => Some(true),
            "false" | "no" | "n" | "0" | "off" | "" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn count_of(v: &Value) -> Option<Option<u32>> {
    match v {
        Value::Null => Some(None),
        Value::Number(n) => {
            let f = n.as_f64().filter(|f| f.is_finite() && *f >= 0.0)?;
            Some(Some(n.as_u64().unwrap_or(f.round() as u64).min(u32::MAX as u64) as u32))
        }
        Value::String(s) if s.trim().is_empty() => Some(None),
        Value::String(s) => s.trim().parse::<u32>().ok().map(Some),
        _ => None,
    }
}

/// A count or whole seconds: a non-negative number or numeric string; `null`/"" is unknown.
fn count(raw: &RawValue) -> Option<Option<u32>> {
    count_of(&value(raw)?)
}

fn seconds_of(v: &Value) -> Option<Option<f64>> {
    match v {
        Value::Null => Some(None),
        Value::Number(n) => n.as_f64().map(Some),
        Value::String(s) if s.trim().is_empty() => Some(None),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()).map(Some),
        _ => None,
    }
}

/// Latency in seconds: a number, a numeric string, or `{"perceived_latency": …}`.
fn latency(raw: &RawValue) -> Option<Option<f64>> {
    match value(raw)? {
        Value::Object(map) => seconds_of(map.get("perceived_latency")?),
        v => seconds_of(&v),
    }
}

/// A score: a finite number or numeric string; `null`/"" is none.
fn score(raw: &RawValue) -> Option<Option<f64>> {
    seconds_of(&value(raw)?)
}

/// A time: RFC 3339 (any fraction, `Z` or an offset), without an offset (UTC), or an HTTP date.
fn time(raw: &RawValue) -> Option<Option<DateTime<Utc>>> {
    if let Some(s) = string(raw) {
        return if s.trim().is_empty() {
            Some(None)
        } else {
            parse_time(&s).map(Some)
        };
    }
    match value(raw)? {
        Value::Null => Some(None),
        Value::String(s) if s.trim().is_empty() => Some(None),
        Value::String(s) => parse_time(&s).map(Some),
        _ => None,
    }
}

/// A read `shortSummary`: the joined text, and its parts when it was `{heading, content}`.
#[derive(Default)]
struct Summary {
    text: String,
    parts: Option<(String, String)>,
}

/// `shortSummary`: a string, a JSON-encoded string or object, `{heading, content}`, or null.
fn summary(raw: &RawValue) -> Option<Summary> {
    fn of(v: Value, depth: u8) -> Option<Summary> {
        match v {
            Value::Null => Some(Summary::default()),
            Value::String(s) => {
                let t = s.trim_start();
                if depth == 0
                    && (t.starts_with('{') || t.starts_with('"'))
                    && let Ok(inner) = serde_json::from_str::<Value>(t)
                {
                    return of(inner, 1).or(Some(Summary { text: s, parts: None }));
                }
                Some(Summary { text: s, parts: None })
            }
            Value::Object(map) => {
                let part = |k: &str| match map.get(k) {
                    Some(Value::String(s)) => s.trim().to_string(),
                    _ => String::new(),
                };
                let (heading, content) = (part("heading"), part("content"));
                if !map.contains_key("heading") && !map.contains_key("content") {
                    return None;
                }
                let text = match (heading.is_empty(), content.is_empty()) {
                    (false, false) => format!("{heading}: {content}"),
                    (false, true) => heading.clone(),
                    _ => content.clone(),
                };
                Some(Summary {
                    text,
                    parts: Some((heading, content)),
                })
            }
            _ => None,
        }
    }
    of(value(raw)?, 0)
}

/// The texts in a value: a string, each element of a list, the `value` of `{timestamp, value}`;
/// anything else as its JSON text.
// Cannot fail: the key was checked to be present in the match guard.
#[allow(clippy::expect_used)]
fn value_strings(v: Value) -> Vec<String> {
    match v {
        Value::Null => Vec::new(),
        Value::String(s) => vec![s],
        Value::Array(items) => items.into_iter().flat_map(value_strings).collect(),
        Value::Object(mut map) if map.contains_key("value") => value_strings(map.remove("value").expect("checked")),
        other => vec![other.to_string()],
    }
}

/// Names: a list of strings (other elements as their JSON text), one string, or null.
fn names(raw: &RawValue) -> Option<Vec<String>> {
    match value(raw)? {
        Value::Null => Some(Vec::new()),
        v @ (Value::Array(_) | Value::String(_)) => Some(value_strings(v)),
        _ => None,
    }
}

/// Entities: `[{"name": value}, …]`, `{"name": value, …}`, or null.
fn entities(raw: &RawValue) -> Option<Vec<Entity>> {
    let mut out = Vec::new();
    let mut push_object = |map: serde_json::Map<String, Value>| {
        for (name, v) in map {
            out.push(Entity {
                name,
                values: value_strings(v),
            });
        }
    };
    match value(raw)? {
        Value::Null => {}
        Value::Array(items) => {
            for item in items {
                match item {
                    Value::Object(map) => push_object(map),
                    Value::Null => {}
                    _ => return None,
                }
            }
        }
        Value::Object(map) => push_object(map),
        _ => return None,
    }
    Some(out)
}

/// Collects the odd fields of one record, each named once.
#[derive(Default)]
struct Odd(Vec<OddField>);

impl Odd {
    fn note(&mut self, field: &'static str, raw: &RawValue) {
        if !self.0.iter().any(|o| o.field == field) {
            self.0.push(OddField {
                field,
                raw: preview(raw.get()),
            });
        }
    }

    /// Reads `raw` into `slot`; on failure `slot` keeps its (empty) value and `field` is noted.
    fn read<T>(
        &mut self,
        slot: &mut T,
        field: &'static str,
        raw: &RawValue,
        read: impl FnOnce(&RawValue) -> Option<T>,
    ) {
        match read(raw) {
            Some(v) => *slot = v,
            None => self.note(field, raw),
        }
    }
}

/// Custom metrics: each value read on its own, so one odd metric leaves the others.
fn metrics(raw: &RawValue, odd: &mut Odd) -> Vec<(String, Vec<String>)> {
    let Some(Members(items)) = members(raw) else {
        if raw.get().trim() != "null" {
            odd.note("metrics", raw);
        }
        return Vec::new();
    };
    let mut out: Vec<(String, Vec<String>)> = Vec::with_capacity(items.len());
    for (name, v) in items {
        match value(v) {
            Some(v) => out.push((name.0.into_owned(), value_strings(v))),
            None => odd.note("metrics", v),
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out.dedup_by(|later, first| later.0 == first.0);
    out
}

fn turns(raw: &RawValue, odd: &mut Odd) -> Vec<Turn> {
    let items: Vec<&RawValue> = match serde_json::from_str::<Option<Vec<&RawValue>>>(raw.get()) {
        Ok(items) => items.unwrap_or_default(),
        Err(_) => {
            odd.note("turns", raw);
            return Vec::new();
        }
    };
    items
        .into_iter()
        .map(|t| match members(t) {
            Some(m) => turn(m, odd),
            // Kept as an empty turn so the turn indices (which marks refer to) stay right.
            None => {
                odd.note("turns", t);
                Turn::default()
            }
        })
        .collect()
}

fn turn(Members(items): Members<'_>, odd: &mut Odd) -> Turn {
    let mut t = Turn::default();
    let mut from_metadata = Metadata::default();
    for (key, raw) in items {
        match snake(&key.0).as_ref() {
            "user_input" => odd.read(&mut t.user_input, "turns.user_input", raw, text),
            "user_input_dtmf" => odd.read(&mut t.user_input_dtmf, "turns.user_input_dtmf", raw, text),
            "user_input_datetime" => odd.read(&mut t.user_input_datetime, "turns.user_input_datetime", raw, time),
            "agent_response" => odd.read(&mut t.agent_response, "turns.agent_response", raw, text),
            "agent_response_datetime" => odd.read(
                &mut t.agent_response_datetime,
                "turns.agent_response_datetime",
                raw,
                time,
            ),
            "latency" => odd.read(&mut t.latency, "turns.latency", raw, latency),
            "translated_user_input" => odd.read(&mut t.translated_user_input, "turns.translated_user_input", raw, text),
            "english_agent_response" => {
                odd.read(&mut t.english_agent_response, "turns.english_agent_response", raw, text)
            }
            "intents" => odd.read(&mut t.intents, "turns.intents", raw, names),
            "entities" => odd.read(&mut t.entities, "turns.entities", raw, entities),
            "is_ood" => odd.read(&mut t.is_ood, "turns.is_ood", raw, flag),
            "is_silence" => odd.read(&mut t.is_silence, "turns.is_silence", raw, flag),
            "barge_in" => odd.read(&mut t.barge_in, "turns.barge_in", raw, flag),
            "turn_id" => odd.read(&mut t.turn_id, "turns.turn_id", raw, count),
            "user_input_audio_url" => odd.read(&mut t.user_input_audio_url, "turns.user_input_audio_url", raw, text),
            "metadata" => from_metadata = metadata(raw, odd),
            // The wire (cache) shape writes the metadata's fields on the turn itself.
            "asr_corrected_user_input" => odd.read(
                &mut t.asr_corrected_user_input,
                "turns.asr_corrected_user_input",
                raw,
                text,
            ),
            "top_transcripts" => odd.read(&mut t.top_transcripts, "turns.top_transcripts", raw, transcripts),
            "retrieved_topics" => odd.read(&mut t.retrieved_topics, "turns.retrieved_topics", raw, names),
            "safety_filters" => odd.read(&mut t.safety_filters, "turns.safety_filters", raw, names),
            "current_node" => odd.read(&mut t.current_node, "turns.current_node", raw, text),
            "function_events" => {
                let events = function_event_list(raw, "turns.function_events", odd);
                merge_events(&mut t.function_events, events);
            }
            _ => {}
        }
    }
    from_metadata.fill(&mut t);
    t
}

/// What a turn's `metadata` holds; each part fills the turn's field when that one is empty.
#[derive(Default)]
struct Metadata {
    asr_corrected_user_input: String,
    top_transcripts: Vec<String>,
    retrieved_topics: Vec<String>,
    safety_filters: Vec<String>,
    current_node: String,
    entities: Vec<Entity>,
    function_events: Vec<FunctionEvent>,
}

impl Metadata {
    fn fill(self, t: &mut Turn) {
        fn or<T: Default + PartialEq>(slot: &mut T, v: T) {
            if *slot == T::default() {
                *slot = v;
            }
        }
        or(&mut t.asr_corrected_user_input, self.asr_corrected_user_input);
        or(&mut t.top_transcripts, self.top_transcripts);
        or(&mut t.retrieved_topics, self.retrieved_topics);
        or(&mut t.safety_filters, self.safety_filters);
        or(&mut t.current_node, self.current_node);
        or(&mut t.entities, self.entities);
        merge_events(&mut t.function_events, self.function_events);
    }
}

fn metadata(raw: &RawValue, odd: &mut Odd) -> Metadata {
    let mut m = Metadata::default();
    let Some(Members(items)) = members(raw) else {
        if raw.get().trim() != "null" {
            odd.note("turns.metadata", raw);
        }
        return m;
    };
    for (key, raw) in items {
        match snake(&key.0).as_ref() {
            "asr_corrected_user_input" => odd.read(
                &mut m.asr_corrected_user_input,
                "turns.asr_corrected_user_input",
                raw,
                text,
            ),
            "top_transcripts" => odd.read(&mut m.top_transcripts, "turns.top_transcripts", raw, transcripts),
            "retrieved_topics" => odd.read(&mut m.retrieved_topics, "turns.retrieved_topics", raw, names),
            "current_node" => odd.read(&mut m.current_node, "turns.current_node", raw, node),
            "entities" => odd.read(&mut m.entities, "turns.entities", raw, entities),
            "function_events" => m.function_events = function_event_list(raw, "turns.function_events", odd),
            "safety" => match members(raw) {
                Some(Members(parts)) => {
                    for (k, v) in parts {
                        if k.0 == "filters_triggered" {
                            odd.read(&mut m.safety_filters, "turns.safety_filters", v, filters_fired);
                        }
                    }
                }
                None if raw.get().trim() == "null" => {}
                None => odd.note("turns.safety_filters", raw),
            },
            _ => {}
        }
    }
    m
}

/// `current_node`: a name, or an object with a `name` (or `id`).
fn node(raw: &RawValue) -> Option<String> {
    text(raw).or_else(|| match value(raw)? {
        Value::Object(map) => ["name", "id"]
            .iter()
            .find_map(|k| map.get(*k).and_then(Value::as_str).map(str::to_string)),
        _ => None,
    })
}

/// ASR n-best: `[{text, intents}]` (or plain strings) → the texts, best first.
fn transcripts(raw: &RawValue) -> Option<Vec<String>> {
    match value(raw)? {
        Value::Null => Some(Vec::new()),
        Value::Array(items) => Some(
            items
                .into_iter()
                .filter_map(|item| match item {
                    Value::String(s) => Some(s),
                    Value::Object(mut map) => match map.remove("text") {
                        Some(Value::String(s)) => Some(s),
                        _ => None,
                    },
                    _ => None,
                })
                .collect(),
        ),
        _ => None,
    }
}

/// `safety.filters_triggered`: an object (filter → whether/what it caught) gives the names of
/// the filters that fired (a value that is not false, 0, "", null or empty); a list gives its names.
fn filters_fired(raw: &RawValue) -> Option<Vec<String>> {
    fn fired(v: &Value) -> bool {
        match v {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
            Value::String(s) => !s.trim().is_empty() && !s.eq_ignore_ascii_case("false"),
            Value::Array(a) => !a.is_empty(),
            Value::Object(o) => !o.is_empty(),
        }
    }
    match value(raw)? {
        Value::Null => Some(Vec::new()),
        Value::Object(map) => Some(map.into_iter().filter(|(_, v)| fired(v)).map(|(k, _)| k).collect()),
        v @ Value::Array(_) => Some(value_strings(v)),
        _ => None,
    }
}

/// The most of one free-form value (function arguments, state changes) kept per event: the
/// model lives in every cached row and list page, and one line of it is shown. A larger value
/// is kept as the start of its JSON text, ending in `…`; that string reads back as itself.
pub const VALUE_CAP: usize = 2048;

fn cap_text(s: String) -> String {
    if s.len() <= VALUE_CAP {
        return s;
    }
    let mut end = VALUE_CAP - '…'.len_utf8();
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// A free-form JSON value, bounded by [`VALUE_CAP`]; `None` only when nested too deep to read.
fn bounded_value(raw: &RawValue) -> Option<Value> {
    let json = raw.get();
    if json.starts_with('"') {
        return string(raw).map(|s| Value::String(cap_text(s)));
    }
    if json.len() > 4 * VALUE_CAP {
        tracing::debug!("a function event's value of {} bytes kept as its start", json.len());
        return Some(Value::String(cap_text(json.to_string())));
    }
    let v = value(raw)?;
    let text = v.to_string();
    Some(if text.len() > VALUE_CAP {
        Value::String(cap_text(text))
    } else {
        v
    })
}

/// Milliseconds: a number or numeric string; `null`/"" is unknown.
fn millis(raw: &RawValue) -> Option<Option<f64>> {
    seconds_of(&value(raw)?)
}

/// One function event, field by field (odd parts noted under `field`); `None` when it is not
/// an object.
fn function_event(raw: &RawValue, field: &'static str, odd: &mut Odd) -> Option<FunctionEvent> {
    let Members(items) = members(raw)?;
    let mut e = FunctionEvent::default();
    for (key, raw) in items {
        match snake(&key.0).as_ref() {
            "name" | "function_name" => odd.read(&mut e.name, field, raw, text),
            "function_id" | "id" => odd.read(&mut e.function_id, field, raw, text),
            "arguments" | "args" => odd.read(&mut e.arguments, field, raw, bounded_value),
            "duration" => odd.read(&mut e.duration, field, raw, millis),
            "start_time" => odd.read(&mut e.start_time, field, raw, time),
            "state_changes" => odd.read(&mut e.state_changes, field, raw, bounded_value),
            "utterance" => odd.read(&mut e.utterance, field, raw, text),
            "handoff_reason" => odd.read(&mut e.handoff_reason, field, raw, text),
            "handoff_type" => odd.read(&mut e.handoff_type, field, raw, text),
            "handoff" => match value(raw) {
                Some(Value::Object(map)) => {
                    let part = |k: &str| {
                        map.get(k)
                            .map(|v| value_strings(v.clone()).join(", "))
                            .unwrap_or_default()
                    };
                    (e.handoff_reason, e.handoff_type) = (part("reason"), part("type"));
                }
                Some(Value::String(reason)) => e.handoff_reason = reason,
                Some(Value::Null | Value::Bool(_)) => {}
                _ => odd.note(field, raw),
            },
            _ => {}
        }
    }
    Some(e)
}

/// A list of function events (one event alone is taken as a list of one); `null` is none.
fn function_event_list(raw: &RawValue, field: &'static str, odd: &mut Odd) -> Vec<FunctionEvent> {
    if raw.get().trim_start().starts_with('{') {
        return function_event(raw, field, odd).into_iter().collect();
    }
    match serde_json::from_str::<Option<Vec<&RawValue>>>(raw.get()) {
        Ok(items) => items
            .unwrap_or_default()
            .into_iter()
            .filter_map(|e| {
                let read = function_event(e, field, odd);
                if read.is_none() && e.get().trim() != "null" {
                    odd.note(field, e);
                }
                read
            })
            .collect(),
        Err(_) => {
            odd.note(field, raw);
            Vec::new()
        }
    }
}

/// The same call sent in both places (`functionEvents` and the turn's metadata): one name, and
/// no two different ids or start times (one side may lack them).
fn same_event(a: &FunctionEvent, b: &FunctionEvent) -> bool {
    a.name == b.name
        && (a.function_id.is_empty() || b.function_id.is_empty() || a.function_id == b.function_id)
        && (a.start_time.is_none() || b.start_time.is_none() || a.start_time == b.start_time)
}

/// Adds `more` to `events`, an event already there taking what it lacks from its twin.
fn merge_events(events: &mut Vec<FunctionEvent>, more: Vec<FunctionEvent>) {
    for e in more {
        let Some(twin) = events.iter_mut().find(|x| same_event(x, &e)) else {
            events.push(e);
            continue;
        };
        fn or<T: Default + PartialEq>(slot: &mut T, v: T) {
            if *slot == T::default() {
                *slot = v;
            }
        }
        or(&mut twin.function_id, e.function_id);
        or(&mut twin.arguments, e.arguments);
        or(&mut twin.duration, e.duration);
        or(&mut twin.start_time, e.start_time);
        or(&mut twin.handoff_reason, e.handoff_reason);
        or(&mut twin.handoff_type, e.handoff_type);
        or(&mut twin.state_changes, e.state_changes);
        or(&mut twin.utterance, e.utterance);
    }
}

/// `functionEvents`: an object keyed by turn index (or a list by position), each entry the
/// events of that turn; they join the turn's own (twins merged). Events for a turn that was
/// not sent are odd when there is a transcript, and dropped from a list summary without one.
fn distribute_function_events(raw: &RawValue, turns: &mut [Turn], odd: &mut Odd) {
    const FIELD: &str = "function_events";
    let entries: Vec<(Option<usize>, &RawValue)> = if let Some(Members(items)) = members(raw) {
        items
            .into_iter()
            .map(|(k, v)| (k.0.trim().parse::<usize>().ok(), v))
            .collect()
    } else {
        match serde_json::from_str::<Option<Vec<&RawValue>>>(raw.get()) {
            Ok(items) => items
                .unwrap_or_default()
                .into_iter()
                .enumerate()
                .map(|(i, v)| (Some(i), v))
                .collect(),
            Err(_) => {
                odd.note(FIELD, raw);
                return;
            }
        }
    };
    for (index, events) in entries {
        match index.filter(|&i| i < turns.len()) {
            Some(i) => {
                let events = function_event_list(events, FIELD, odd);
                merge_events(&mut turns[i].function_events, events);
            }
            None if turns.is_empty() && index.is_some() => {}
            None => odd.note(FIELD, events),
        }
    }
}

/// Reads one record. `None` when it is not a JSON object; a record whose id is missing or
/// unusable comes back with an empty `id` (callers that need one skip it). Odd fields are
/// in `odd_fields` and logged.
pub fn read_record(raw: &RawValue) -> Option<Conversation> {
    let Members(items) = members(raw)?;
    let mut c = Conversation::default();
    let mut odd = Odd::default();
    let mut id_seen: Option<&RawValue> = None;
    // Read after the turns, which may come later in the object.
    let mut function_events_raw: Option<&RawValue> = None;
    for (key, raw) in items {
        match snake(&key.0).as_ref() {
            // The first usable one wins.
            "id" | "conversation_id" if c.id.is_empty() => match id(raw) {
                Some(v) => c.id = v,
                None => id_seen = id_seen.or(Some(raw)),
            },
            "account_id" => odd.read(&mut c.account_id, "account_id", raw, text),
            "project_id" => odd.read(&mut c.project_id, "project_id", raw, text),
            "variant_id" => odd.read(&mut c.variant_id, "variant_id", raw, text),
            "variant_name" => odd.read(&mut c.variant_name, "variant_name", raw, text),
            "environment" | "client_env" => odd.read(&mut c.environment, "environment", raw, text),
            "started_at" => odd.read(&mut c.started_at, "started_at", raw, time),
            "finished_at" => odd.read(&mut c.finished_at, "finished_at", raw, time),
            "channel" => odd.read(&mut c.channel, "channel", raw, text),
            "from_number" => odd.read(&mut c.from_number, "from_number", raw, text),
            "to_number" => odd.read(&mut c.to_number, "to_number", raw, text),
            "in_progress" => odd.read(&mut c.in_progress, "in_progress", raw, flag),
            "num_turns" => odd.read(&mut c.num_turns, "num_turns", raw, count),
            "total_duration" => odd.read(&mut c.total_duration, "total_duration", raw, count),
            "polyai_duration" => odd.read(&mut c.polyai_duration, "polyai_duration", raw, count),
            "handoff" => odd.read(&mut c.handoff, "handoff", raw, flag),
            "handoff_reason" => odd.read(&mut c.handoff_reason, "handoff_reason", raw, text),
            "handoff_destination" => odd.read(&mut c.handoff_destination, "handoff_destination", raw, text),
            "num_silences" => odd.read(&mut c.num_silences, "num_silences", raw, count),
            "num_ood" => odd.read(&mut c.num_ood, "num_ood", raw, count),
            "language" => odd.read(&mut c.language, "language", raw, text),
            "direction" => odd.read(&mut c.direction, "direction", raw, text),
            "short_summary" => match summary(raw) {
                Some(Summary { text, parts }) => {
                    c.short_summary = text;
                    if let Some((heading, content)) = parts {
                        (c.summary_heading, c.summary_content) = (heading, content);
                    }
                }
                None => odd.note("short_summary", raw),
            },
            // The wire (cache) shape keeps the parts apart from the joined text.
            "summary_heading" => odd.read(&mut c.summary_heading, "summary_heading", raw, text),
            "summary_content" => odd.read(&mut c.summary_content, "summary_content", raw, text),
            "function_events" => function_events_raw = Some(raw),
            "audio_url" => odd.read(&mut c.audio_url, "audio_url", raw, text),
            "poly_score" => odd.read(&mut c.poly_score, "poly_score", raw, score),
            "tags" => odd.read(&mut c.tags, "tags", raw, names),
            "note" => odd.read(&mut c.note, "note", raw, text),
            "state" => odd.read(&mut c.state, "state", raw, value),
            "metrics" => c.metrics = metrics(raw, &mut odd),
            "turns" => c.turns = turns(raw, &mut odd),
            _ => {}
        }
    }
    if let Some(raw) = function_events_raw {
        distribute_function_events(raw, &mut c.turns, &mut odd);
    }
    if c.id.is_empty()
        && let Some(raw) = id_seen
    {
        odd.note("id", raw);
    }
    c.odd_fields = odd.0;
    if !c.odd_fields.is_empty() && !c.id.is_empty() {
        let fields: Vec<String> = c
            .odd_fields
            .iter()
            .map(|o| format!("{} = {}", o.field, sanitize_line(&o.raw)))
            .collect();
        let (id, fields) = (sanitize_line(&c.id), fields.join("; "));
        if loud() {
            tracing::warn!(conversation = %id, "fields could not be read (left empty): {fields}");
        } else {
            tracing::debug!(conversation = %id, "fields could not be read (left empty): {fields}");
        }
    }
    Some(c)
}

/// Warnings logged per process before the rest go to `debug`: a TUI that polls the same odd
/// page all day, or an export of a million odd records, must not grow the log without bound.
const LOUD_WARNINGS: u64 = 200;

fn loud() -> bool {
    use std::sync::atomic::{AtomicU64, Ordering};
    static WARNED: AtomicU64 = AtomicU64::new(0);
    match WARNED.fetch_add(1, Ordering::Relaxed) {
        n if n < LOUD_WARNINGS => true,
        LOUD_WARNINGS => {
            tracing::warn!(
                "{LOUD_WARNINGS} records with unreadable fields logged; further ones are logged at debug level"
            );
            false
        }
        _ => false,
    }
}

/// What reading a run of records found odd: per field, the records it could not be read in;
/// and the records skipped for want of a usable id.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ReadReport {
    pub odd: BTreeMap<&'static str, u64>,
    pub skipped: u64,
}

impl ReadReport {
    /// Reads one record, counting what was odd; `None` (counted and logged) when it has no usable id.
    pub fn read(&mut self, raw: &RawValue) -> Option<Conversation> {
        match read_record(raw).filter(|c| !c.id.is_empty()) {
            Some(c) => {
                for o in &c.odd_fields {
                    *self.odd.entry(o.field).or_default() += 1;
                }
                Some(c)
            }
            None => {
                self.skipped += 1;
                let record = sanitize_line(&preview(raw.get()));
                if loud() {
                    tracing::warn!("record without a usable id skipped: {record}");
                } else {
                    tracing::debug!("record without a usable id skipped: {record}");
                }
                None
            }
        }
    }

    pub fn odd_total(&self) -> u64 {
        self.odd.values().sum()
    }

    pub fn is_clean(&self) -> bool {
        self.skipped == 0 && self.odd.is_empty()
    }

    /// One line per kind of trouble, e.g. "3 fields could not be read: handoff (2), turns (1) — see the log".
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.skipped > 0 {
            let s = if self.skipped == 1 { "" } else { "s" };
            out.push(format!("{} record{s} without a usable id skipped", self.skipped));
        }
        if !self.odd.is_empty() {
            let mut by_count: Vec<(&&str, &u64)> = self.odd.iter().collect();
            by_count.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let list: Vec<String> = by_count.iter().map(|(f, n)| format!("{f} ({n})")).collect();
            let n = self.odd_total();
            let s = if n == 1 { "" } else { "s" };
            out.push(format!(
                "{n} field{s} could not be read: {} — see the log",
                list.join(", ")
            ));
        }
        out
    }
}

/// A page of the list split into its records, left raw (JSONL passes them through as sent).
#[derive(Debug, Default)]
pub struct RawPage {
    pub records: Vec<Box<RawValue>>,
    /// Opaque; `None` (or `""`) when there are no more pages. A number is taken as its text.
    pub cursor: Option<String>,
    pub next_offset: Option<u64>,
    /// `count` of the Data API list: how many conversations the project holds in all.
    pub total: Option<u64>,
}

impl<'de> Deserialize<'de> for RawPage {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawPage;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a page object with a list of conversations")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawPage, A::Error> {
                let mut page = RawPage::default();
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    match snake(&key).as_ref() {
                        "conversations" => {
                            page.records = map
                                .next_value::<Option<Vec<Box<RawValue>>>>()
                                .map_err(|e| de::Error::custom(format!("conversations: {e}")))?
                                .unwrap_or_default()
                        }
                        "cursor" => {
                            let raw = map.next_value::<Box<RawValue>>()?;
                            page.cursor = text(&raw).filter(|c| !c.is_empty());
                            if text(&raw).is_none() {
                                tracing::warn!(
                                    "the page's cursor could not be read, so the walk ends here: {}",
                                    sanitize_line(&preview(raw.get()))
                                );
                            }
                        }
                        "next_offset" => {
                            let raw = map.next_value::<Box<RawValue>>()?;
                            page.next_offset = count(&raw).flatten().map(u64::from);
                        }
                        "count" => {
                            let raw = map.next_value::<Box<RawValue>>()?;
                            page.total = value(&raw).and_then(|v| v.as_u64());
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(page)
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_string()).unwrap()
    }

    fn read(s: &str) -> (Option<Conversation>, ReadReport) {
        let mut r = ReadReport::default();
        let c = r.read(&raw(s));
        (c, r)
    }

    fn odd_names(c: &Conversation) -> Vec<&'static str> {
        c.odd_fields.iter().map(|o| o.field).collect()
    }

    fn nested(depth: usize) -> String {
        format!("{}{}", "[".repeat(depth), "]".repeat(depth))
    }

    #[test]
    fn an_id_given_as_a_number_is_its_decimal_string() {
        let (c, r) = read(r#"{"id": 4711, "channel": "VOICE-SIP"}"#);
        let c = c.unwrap();
        assert_eq!(c.id, "4711");
        assert_eq!(c.channel, "VOICE-SIP");
        assert!(r.is_clean() && c.odd_fields.is_empty());
        assert_eq!(read(r#"{"conversationId": -12}"#).0.unwrap().id, "-12");
    }

    #[test]
    fn a_record_without_a_usable_id_is_skipped_and_counted() {
        for bad in [
            r#"{"channel": "VOICE-SIP"}"#,
            r#"{"id": null}"#,
            r#"{"id": "  "}"#,
            r#"{"id": 1.5}"#,
            r#"{"id": {"x": 1}}"#,
            r#""CA1""#,
            r#"[1, 2]"#,
        ] {
            let (c, r) = read(bad);
            assert!(c.is_none(), "{bad}");
            assert_eq!(r.skipped, 1, "{bad}");
            assert_eq!(r.warnings(), vec!["1 record without a usable id skipped"]);
        }
    }

    #[test]
    fn unambiguous_flags_are_read_and_the_rest_is_odd() {
        for (v, want) in [
            ("\"yes\"", true),
            ("\"TRUE\"", true),
            ("1", true),
            ("\"no\"", false),
            ("0", false),
            ("null", false),
        ] {
            let (c, r) = read(&format!(r#"{{"id":"CA1","handoff":{v}}}"#));
            assert_eq!(c.unwrap().handoff, want, "{v}");
            assert!(r.is_clean(), "{v}");
        }
        let (c, r) = read(r#"{"id":"CA1","handoff":"sometimes","handoff_reason":"billing"}"#);
        let c = c.unwrap();
        assert!(!c.handoff);
        assert_eq!(c.handoff_reason, "billing", "the rest of the record is read");
        assert_eq!(
            c.odd_fields,
            vec![OddField {
                field: "handoff",
                raw: "\"sometimes\"".into()
            }]
        );
        assert_eq!(
            r.warnings(),
            vec!["1 field could not be read: handoff (1) — see the log"]
        );
    }

    #[test]
    fn turns_as_an_object_or_a_string_are_odd_and_the_record_stays() {
        for turns in [r#"{"0": {"user_input": "hi"}}"#, r#""hello""#, "42"] {
            let (c, _) = read(&format!(
                r#"{{"id":"CA1","num_turns":3,"channel":"WEBCHAT","turns":{turns}}}"#
            ));
            let c = c.unwrap();
            assert_eq!(odd_names(&c), vec!["turns"], "{turns}");
            assert!(c.turns.is_empty() && c.channel == "WEBCHAT" && c.num_turns == Some(3));
            assert!(!c.transcript_hidden(), "odd turns are not a hidden transcript");
        }
    }

    #[test]
    fn a_turn_that_is_not_an_object_keeps_the_indices_of_the_others() {
        let (c, _) = read(r#"{"id":"CA1","turns":[{"user_input":"a"}, 7, {"agent_response":"c","latency":"x"}]}"#);
        let c = c.unwrap();
        assert_eq!(c.turns.len(), 3);
        assert_eq!(c.turns[2].agent_response, "c");
        assert_eq!(odd_names(&c), vec!["turns", "turns.latency"]);
    }

    #[test]
    fn deeply_nested_metrics_fail_only_that_field() {
        let deep = nested(10_000);
        let (c, r) = read(&format!(
            r#"{{"id":"CA1","channel":"VOICE-SIP","metrics":{deep},"handoff":true}}"#
        ));
        let c = c.unwrap();
        assert!(c.handoff && c.channel == "VOICE-SIP");
        assert_eq!(odd_names(&c), vec!["metrics"]);
        assert!(
            c.odd_fields[0].raw.len() <= RAW_PREVIEW + '…'.len_utf8(),
            "the raw copy is bounded"
        );
        assert_eq!(r.odd_total(), 1);
        // One deep metric among good ones: only it is lost.
        let (c, _) = read(&format!(
            r#"{{"id":"CA1","metrics":{{"CSAT":"4","DEEP":{deep},"Z":["a","b"]}}}}"#
        ));
        let c = c.unwrap();
        assert_eq!(
            c.metrics,
            vec![
                ("CSAT".into(), vec!["4".into()]),
                ("Z".into(), vec!["a".into(), "b".into()])
            ]
        );
        assert_eq!(odd_names(&c), vec!["metrics"]);
        // Deep state and entities too.
        let (c, _) = read(&format!(
            r#"{{"id":"CA1","state":{deep},"turns":[{{"entities":{deep},"user_input":"hi"}}]}}"#
        ));
        let c = c.unwrap();
        assert_eq!(c.turns[0].user_input, "hi");
        assert_eq!(odd_names(&c), vec!["state", "turns.entities"]);
    }

    #[test]
    fn a_page_with_a_deep_record_keeps_its_neighbours() {
        let deep = nested(200_000);
        let body = format!(
            r#"{{"conversations":[{{"id":"A"}},{{"id":"B","metrics":{{"m":{deep}}}}},{{"id":"C"}}],"cursor":"n"}}"#
        );
        let page: crate::api::ConversationPage = serde_json::from_str(&body).unwrap();
        let ids: Vec<&str> = page.conversations.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["A", "B", "C"]);
        assert_eq!(page.cursor.as_deref(), Some("n"));
        let raw: RawPage = serde_json::from_slice(body.as_bytes()).unwrap();
        assert_eq!(raw.records.len(), 3);
    }

    #[test]
    fn page_level_fields_are_lenient_and_a_non_list_is_an_error() {
        let p: RawPage = serde_json::from_str(r#"{"conversations":null,"cursor":123,"nextOffset":"5"}"#).unwrap();
        assert!(p.records.is_empty());
        assert_eq!(p.cursor.as_deref(), Some("123"));
        assert_eq!(p.next_offset, Some(5));
        let p: RawPage = serde_json::from_str(r#"{"cursor":""}"#).unwrap();
        assert_eq!(p.cursor, None);
        let e = serde_json::from_str::<RawPage>(r#"{"conversations":{"a":1}}"#).unwrap_err();
        assert!(e.to_string().starts_with("conversations:"), "{e}");
        assert!(serde_json::from_str::<RawPage>("[1]").is_err());
    }

    #[test]
    fn counts_and_times_of_the_wrong_type_are_odd() {
        let (c, _) = read(
            r#"{"id":"CA1","total_duration":-3,"num_turns":"many","started_at":"yesterday",
            "finished_at":17,"polyai_duration":"12","num_ood":2.6,"channel":["x"]}"#,
        );
        let c = c.unwrap();
        assert_eq!((c.polyai_duration, c.num_ood), (Some(12), Some(3)));
        assert_eq!(
            odd_names(&c),
            vec!["total_duration", "num_turns", "started_at", "finished_at", "channel"]
        );
        assert_eq!(
            (c.total_duration, c.num_turns, c.started_at, c.channel.as_str()),
            (None, None, None, "")
        );
    }

    #[test]
    fn odd_raw_values_are_bounded_and_logged_sanitized() {
        let long = format!(r#"{{"id":"CA1","handoff":"{}"}}"#, "é".repeat(500));
        let c = read(&long).0.unwrap();
        assert!(c.odd_fields[0].raw.len() <= RAW_PREVIEW + 3);
    }

    #[test]
    fn report_lists_fields_by_count() {
        let mut r = ReadReport::default();
        for s in [
            r#"{"id":"1","handoff":"x","turns":{}}"#,
            r#"{"id":"2","handoff":"perhaps"}"#,
            r#"{"id":"3","handoff":[],"handoff_reason":{}}"#,
            r#"{"nope":1}"#,
        ] {
            r.read(&raw(s));
        }
        assert_eq!(
            r.warnings(),
            vec![
                "1 record without a usable id skipped".to_string(),
                "5 fields could not be read: handoff (3), handoff_reason (1), turns (1) — see the log".to_string(),
            ]
        );
    }

    // --- The real shapes of real-api-shapes.md ---

    #[test]
    fn camel_case_object_with_real_variants() {
        let c = read(
            r#"{"conversationId":"CA9","accountId":"ws-1","projectId":"P","variantId":"v1","clientEnv":"live",
            "direction":"inbound","language":"en-GB","createdAt":"2026-06-03T13:18:00Z",
            "startedAt":"2026-06-03T14:00:38.580000+00:00","finishedAt":"2026-06-03T14:02:00Z",
            "totalDuration":82,"polyaiDuration":80,"inProgress":false,"fromNumber":"REDACTED","toNumber":null,
            "handoff":null,"handoffReason":null,"note":null,"tags":["vip"],"audioUrl":"conversations/CA9/audio",
            "polyScore":4,"shortSummary":{"heading":"Booking","content":"Caller booked a table."},
            "metrics":{"CSAT":"4","TOPICS":["a","b"],"SEEN":[{"timestamp":"2026-06-03T13:19:19.757917","value":"x"},{"timestamp":"2026-06-03T13:19:20","value":"y"}]},
            "functionEvents":{"0":[{"name":"book","start_time":"Wed, 03 Jun 2026 13:18:09 GMT"}]},
            "turns":[{"turn_id":0,"user_input":"hi","user_input_datetime":"2026-06-03T14:00:39.123456+00:00",
              "agent_response":"hello","latency":{"label":"ok","perceived_latency":1.25,"perceived_latency_percentile_1d":50},
              "intents":null,"entities":null,"is_ood":null,"is_silence":null,"barge_in":false,"llm_requests":[],
              "metadata":{"retrieved_topics":["x"]}}]}"#,
        )
        .0
        .unwrap();
        assert!(c.odd_fields.is_empty(), "{:?}", c.odd_fields);
        assert_eq!(
            (c.id.as_str(), c.environment.as_str(), c.variant_id.as_str()),
            ("CA9", "live", "v1")
        );
        assert_eq!(c.started_at.unwrap().to_rfc3339(), "2026-06-03T14:00:38.580+00:00");
        assert_eq!((c.total_duration, c.polyai_duration), (Some(82), Some(80)));
        assert_eq!(c.short_summary, "Booking: Caller booked a table.");
        assert_eq!(
            c.metrics,
            vec![
                ("CSAT".into(), vec!["4".into()]),
                ("SEEN".into(), vec!["x".into(), "y".into()]),
                ("TOPICS".into(), vec!["a".into(), "b".into()]),
            ]
        );
        let t = &c.turns[0];
        assert_eq!(t.latency, Some(1.25));
        assert!(t.intents.is_empty() && t.entities.is_empty() && !t.is_ood);
        assert_eq!(t.user_input_datetime.unwrap().timestamp_subsec_micros(), 123_456);
    }

    #[test]
    fn short_summary_in_all_its_variants() {
        for (v, want) in [
            (r#""plain words""#, "plain words"),
            (r#""\"encoded\"""#, "encoded"),
            (r#""{\"heading\":\"H\",\"content\":\"C\"}""#, "H: C"),
            (r#"{"heading":"H"}"#, "H"),
            (r#"{"content":"C"}"#, "C"),
            ("null", ""),
            (r#""{not json""#, "{not json"),
        ] {
            let c = read(&format!(r#"{{"id":"CA1","shortSummary":{v}}}"#)).0.unwrap();
            assert_eq!(c.short_summary, want, "{v}");
            assert!(c.odd_fields.is_empty(), "{v}");
        }
        let c = read(r#"{"id":"CA1","shortSummary":{"x":1}}"#).0.unwrap();
        assert_eq!(odd_names(&c), vec!["short_summary"]);
    }

    #[test]
    fn http_dates_and_offsetless_times_parse() {
        let c = read(
            r#"{"id":"CA1","started_at":"Wed, 03 Jun 2026 13:18:09 GMT","finished_at":"2026-06-03T13:19:19.757917"}"#,
        )
        .0
        .unwrap();
        assert!(c.odd_fields.is_empty());
        assert_eq!(c.started_at.unwrap().to_rfc3339(), "2026-06-03T13:18:09+00:00");
        assert_eq!(c.finished_at.unwrap().timestamp_subsec_micros(), 757_917);
    }
}

/// The fixtures written from `real-api-shapes.md` (tests/fixtures/real), every variant listed there.
#[cfg(test)]
mod real_fixtures {
    use super::*;
    use crate::api::ConversationPage;

    const BY_ID: &str = include_str!("../../tests/fixtures/real/by_id_platform.json");
    const LIST_V3: &str = include_str!("../../tests/fixtures/real/list_v3_camel.json");
    const LIST_AGENTS: &str = include_str!("../../tests/fixtures/real/list_agents_platform.json");

    fn reads_back_identically(c: &Conversation) {
        let wire = serde_json::to_string(c).unwrap();
        let again: Conversation = serde_json::from_str(&wire).unwrap();
        assert_eq!(&again, c, "{wire}");
    }

    #[test]
    fn the_platform_by_id_object_reads_whole() {
        let c: Conversation = serde_json::from_str(BY_ID).unwrap();
        assert!(c.odd_fields.is_empty(), "{:?}", c.odd_fields);
        assert_eq!(c.id, "CA5f1e0c9a7b3d4e2f8a6b0c1d2e3f4a5b");
        assert_eq!((c.direction.as_str(), c.language.as_str()), ("inbound", "en-GB"));
        assert_eq!(
            (c.from_number.as_str(), c.to_number.as_str()),
            ("REDACTED", "+44XXXXXXXXXX")
        );
        assert_eq!(c.audio_url, "conversations/CA5f1e0c9a7b3d4e2f8a6b0c1d2e3f4a5b/audio");
        assert_eq!(
            (c.poly_score, c.tags.clone()),
            (Some(4.0), vec!["billing".to_string(), "vip".into()])
        );
        assert_eq!(c.note, "Caller disputes a double charge");
        assert_eq!(
            (c.summary_heading.as_str(), c.summary_content.as_str()),
            (
                "Double charge",
                "Caller was charged twice for one booking and was handed to billing."
            )
        );
        assert!(c.short_summary.starts_with("Double charge: Caller was charged twice"));
        assert_eq!(c.metrics[1], ("CSAT".into(), vec!["4".into()]));
        assert_eq!(c.metrics[2].1, vec!["card_requested", "handed_off"]);
        assert_eq!(c.started_at.unwrap().timestamp_subsec_micros(), 580_000);
        assert_eq!(c.turns.len(), 4);

        let greeting = &c.turns[0];
        assert_eq!((greeting.latency, greeting.function_events.len()), (Some(0.0), 0));

        let t = &c.turns[1];
        assert_eq!(t.latency, Some(1.42));
        assert_eq!(
            t.user_input_audio_url,
            "conversations/CA5f1e0c9a7b3d4e2f8a6b0c1d2e3f4a5b/turns/1/audio"
        );
        assert_eq!(t.asr_corrected_user_input, "I was charged twice for booking BK-1234");
        assert_eq!(t.retrieved_topics, vec!["Refund policy", "Double charges"]);
        assert_eq!(
            t.top_transcripts,
            vec![
                "I was charged twice for booking BK 1234",
                "I was charged twice for booking back 1234"
            ]
        );
        assert_eq!(
            t.entities,
            vec![Entity {
                name: "booking_ref".into(),
                values: vec!["BK-1234".into()]
            }]
        );
        assert_eq!(t.current_node, "billing_triage");
        assert!(t.safety_filters.is_empty(), "no filter fired: {:?}", t.safety_filters);
        // Sent in both `functionEvents` and the turn's metadata: one call, with the utterance.
        assert_eq!(t.function_events.len(), 1, "{:?}", t.function_events);
        let e = &t.function_events[0];
        assert_eq!((e.name.as_str(), e.function_id.as_str()), ("lookup_booking", "fn-001"));
        assert_eq!(
            e.arguments,
            serde_json::json!({"booking_ref": "BK-1234", "channel": "phone"})
        );
        assert_eq!(e.duration, Some(412.0));
        assert_eq!(e.start_time.unwrap().to_rfc3339(), "2026-06-03T13:18:09+00:00");
        assert_eq!(e.utterance, "I was charged twice for booking BK 1234");
        assert_eq!(e.state_changes["added"]["booking_ref"], "BK-1234");

        let t = &c.turns[2];
        assert_eq!((t.latency, t.barge_in), (Some(0.85), true));
        assert_eq!(t.safety_filters, vec!["azure_content_safety"]);
        assert_eq!(t.current_node, "handoff");
        assert_eq!(
            t.entities[0].values,
            vec!["money"],
            "the turn's own entities win over metadata's null"
        );
        let e = &t.function_events[0];
        assert_eq!(
            (e.name.as_str(), e.handoff_reason.as_str(), e.handoff_type.as_str()),
            ("transfer_to_billing", "payment_dispute", "warm")
        );
        assert_eq!(e.state_changes["updated"]["stage"], "handoff");

        let t = &c.turns[3];
        assert!(t.is_silence && !t.barge_in && t.latency.is_none());
        reads_back_identically(&c);
    }

    #[test]
    fn the_v3_list_page_in_camel_case_reads_every_variant() {
        let page: ConversationPage = serde_json::from_str(LIST_V3).unwrap();
        assert_eq!(page.cursor, None);
        let ids: Vec<&str> = page.conversations.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["CAlist01", "CAlist02", "CAlist03", "CAlist04", "CAlist05"]);
        let [a, b, c, d, e] = &page.conversations[..] else {
            panic!()
        };
        // shortSummary: string, JSON-encoded string, JSON-encoded object, null, object with a heading only.
        assert_eq!(a.short_summary, "Caller confirmed a delivery window.");
        assert_eq!((a.summary_heading.as_str(), a.summary_content.as_str()), ("", ""));
        assert_eq!(b.short_summary, "Caller asked for opening hours.");
        assert_eq!(c.short_summary, "Refund: A refund was issued for a cancelled order.");
        assert_eq!(c.summary_heading, "Refund");
        assert_eq!(d.short_summary, "");
        assert_eq!(
            (e.short_summary.as_str(), e.summary_heading.as_str()),
            ("Wrong number", "Wrong number")
        );
        // Latency: object, number, numeric string, null.
        assert_eq!(a.turns[1].latency, Some(1.8));
        assert_eq!(b.turns[0].latency, Some(0.4));
        assert_eq!(c.turns[0].latency, Some(2.2));
        assert_eq!(d.turns[0].latency, None);
        // Scores on both scales, and none.
        assert_eq!(
            (a.poly_score, b.poly_score, c.poly_score, d.poly_score),
            (Some(2.5), None, Some(8.0), None)
        );
        assert_eq!(b.total_duration, Some(45));
        assert_eq!(b.metrics[0].1, vec!["hours", "address"]);
        assert_eq!(a.turns[1].retrieved_topics, vec!["Delivery windows"]);
        let refund = &c.turns[0].function_events[0];
        assert_eq!(
            (refund.name.as_str(), refund.handoff_type.as_str()),
            ("issue_refund", "cold")
        );
        assert_eq!(refund.arguments["amount"], 12.5);
        assert_eq!(c.turns[0].current_node, "refunds");
        // Nulls everywhere are empty values, not odd ones.
        assert!(d.odd_fields.is_empty(), "{:?}", d.odd_fields);
        assert!(!d.handoff && !d.in_progress && d.tags.is_empty() && d.audio_url.is_empty());
        // One odd field: kept raw, the rest of the record (and page) used.
        assert_eq!(
            e.odd_fields,
            vec![OddField {
                field: "handoff",
                raw: "\"sometimes\"".into()
            }]
        );
        assert_eq!((e.poly_score, e.tags.as_slice()), (Some(3.0), &["odd".to_string()][..]));
        for c in &page.conversations[..4] {
            assert!(c.odd_fields.is_empty(), "{}: {:?}", c.id, c.odd_fields);
        }
        let mut clean = page.clone();
        clean.conversations.pop();
        let again: ConversationPage = serde_json::from_str(&serde_json::to_string(&clean).unwrap()).unwrap();
        assert_eq!(again, clean);
    }

    #[test]
    fn the_agents_list_has_no_turns_and_a_total() {
        let page: ConversationPage = serde_json::from_str(LIST_AGENTS).unwrap();
        assert_eq!(page.conversations.len(), 2);
        let a = &page.conversations[0];
        assert!(
            a.turns.is_empty() && !a.transcript_hidden(),
            "a summary, not a hidden transcript"
        );
        assert_eq!(
            (a.summary_heading.as_str(), a.summary_content.as_str()),
            ("Booking", "Table for two booked.")
        );
        assert_eq!(a.poly_score, Some(5.0));
        assert!(page.conversations[1].in_progress);
        assert!(page.conversations.iter().all(|c| c.odd_fields.is_empty()));
        let raw: RawPage = serde_json::from_str(LIST_AGENTS).unwrap();
        assert_eq!(raw.records.len(), 2, "count (57) is the total, not the page");
    }

    #[test]
    fn odd_function_events_cost_only_themselves() {
        let c = read_record(&raw(
            r#"{"id":"CA1","functionEvents":{"0":[{"name":"ok","duration":5},7,{"name":"slow","duration":"long","function_id":"f2"}],"9":[{"name":"lost"}],"x":[]},
            "turns":[{"user_input":"hi","metadata":{"function_events":"nope","top_transcripts":[{"text":"hi"},{"text":"high"}],"safety":{"filters_triggered":["pii"]}}}]}"#,
        ))
        .unwrap();
        let t = &c.turns[0];
        let names: Vec<&str> = t.function_events.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["ok", "slow"]);
        assert_eq!(
            (t.function_events[1].duration, t.function_events[1].function_id.as_str()),
            (None, "f2")
        );
        assert_eq!(t.top_transcripts, vec!["hi", "high"]);
        assert_eq!(t.safety_filters, vec!["pii"]);
        assert_eq!(odd_names(&c), vec!["turns.function_events", "function_events"]);
        // Not an object nor a list: odd, the turns stay.
        let c = read_record(&raw(
            r#"{"id":"CA1","functionEvents":"x","turns":[{"user_input":"hi"}]}"#,
        ))
        .unwrap();
        assert_eq!(
            (odd_names(&c), c.turns[0].user_input.as_str()),
            (vec!["function_events"], "hi")
        );
        // A list summary without turns drops them quietly (the by-id object brings them).
        let c = read_record(&raw(r#"{"id":"CA1","functionEvents":{"0":[{"name":"a"}]}}"#)).unwrap();
        assert!(c.odd_fields.is_empty());
    }

    #[test]
    fn twins_merge_and_distinct_calls_stay_apart() {
        let c = read_record(&raw(r#"{"id":"CA1","functionEvents":{"0":[
                {"name":"lookup","function_id":"f1","start_time":"Wed, 03 Jun 2026 13:18:09 GMT","duration":40},
                {"name":"lookup","function_id":"f2","start_time":"Wed, 03 Jun 2026 13:18:20 GMT"}]},
            "turns":[{"user_input":"hi","metadata":{"function_events":[
                {"name":"lookup","start_time":"2026-06-03T13:18:09+00:00","utterance":"hi"},
                {"name":"other"}]}}]}"#))
        .unwrap();
        let events = &c.turns[0].function_events;
        let seen: Vec<(&str, &str, &str)> = events
            .iter()
            .map(|e| (e.name.as_str(), e.function_id.as_str(), e.utterance.as_str()))
            .collect();
        assert_eq!(seen, [("lookup", "f1", "hi"), ("other", "", ""), ("lookup", "f2", "")]);
        assert_eq!(events[0].duration, Some(40.0));
        reads_back_identically(&c);
    }

    #[test]
    fn free_form_values_are_bounded_and_read_back_as_themselves() {
        let big = format!(r#"{{"blob":"{}"}}"#, "x".repeat(50_000));
        let c = read_record(&raw(&format!(
            r#"{{"id":"CA1","turns":[{{"metadata":{{"function_events":[{{"name":"f","arguments":{big},"state_changes":"{}"}}]}}}}]}}"#,
            "é".repeat(5_000)
        )))
        .unwrap();
        let e = &c.turns[0].function_events[0];
        let args = e.arguments.as_str().expect("kept as the start of its text");
        assert!(args.len() <= VALUE_CAP && args.starts_with(r#"{"blob":"xxx"#) && args.ends_with('…'));
        assert!(e.state_changes.as_str().unwrap().len() <= VALUE_CAP);
        assert!(c.odd_fields.is_empty());
        reads_back_identically(&c);
        // A middle-sized value (short text, long when written back) is bounded too.
        let c = read_record(&raw(&format!(
            r#"{{"id":"CA1","turns":[{{"function_events":[{{"name":"f","arguments":[{}1]}}]}}]}}"#,
            "1e2,".repeat(1_500)
        )))
        .unwrap();
        assert!(c.turns[0].function_events[0].arguments.is_string());
        reads_back_identically(&c);
    }

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_string()).unwrap()
    }

    fn odd_names(c: &Conversation) -> Vec<&'static str> {
        c.odd_fields.iter().map(|o| o.field).collect()
    }
}
