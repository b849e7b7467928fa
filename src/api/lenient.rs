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

use super::model::{Conversation, Entity, Turn, parse_time};
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

/// `shortSummary`: a string, a JSON-encoded string or object, `{heading, content}`, or null.
fn summary(raw: &RawValue) -> Option<String> {
    fn of(v: Value, depth: u8) -> Option<String> {
        match v {
            Value::Null => Some(String::new()),
            Value::String(s) => {
                let t = s.trim_start();
                if depth == 0
                    && (t.starts_with('{') || t.starts_with('"'))
                    && let Ok(inner) = serde_json::from_str::<Value>(t)
                {
                    return of(inner, 1).or(Some(s));
                }
                Some(s)
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
                Some(match (heading.is_empty(), content.is_empty()) {
                    (false, false) => format!("{heading}: {content}"),
                    (false, true) => heading,
                    _ => content,
                })
            }
            _ => None,
        }
    }
    of(value(raw)?, 0)
}

/// The texts in a value: a string, each element of a list, the `value` of `{timestamp, value}`;
/// anything else as its JSON text.
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
            _ => {}
        }
    }
    t
}

/// Reads one record. `None` when it is not a JSON object; a record whose id is missing or
/// unusable comes back with an empty `id` (callers that need one skip it). Odd fields are
/// in `odd_fields` and logged.
pub fn read_record(raw: &RawValue) -> Option<Conversation> {
    let Members(items) = members(raw)?;
    let mut c = Conversation::default();
    let mut odd = Odd::default();
    let mut id_seen: Option<&RawValue> = None;
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
            "short_summary" => odd.read(&mut c.short_summary, "short_summary", raw, summary),
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
