//! The stored form of a conversation's JSON (schema v8): each fact is kept once.
//!
//! `conversations.wire` holds the compact JSON (see `compact_wire`) without the members the
//! row's own columns hold (`id`, `channel`, `started_at`, …) and without the turn texts that
//! `turn_text` (the search index's content) holds verbatim. The stored form is told from
//! the earlier ones by its missing `id` (every earlier writer kept it); `restore` puts the
//! members back before the lenient reader sees them, so a row of either form loads the same.

use serde_json::Value;

use crate::api::Conversation;
use crate::domain::ConversationKey;
use crate::domain::scope::Origin;

/// Members of a conversation that are also columns of its row.
#[derive(Debug, Clone, PartialEq)]
pub struct Columns {
    /// Unix ms, 0 when unknown.
    pub started_ms: i64,
    pub channel: String,
    pub total_duration: Option<u32>,
    pub num_turns: Option<u32>,
    pub handoff: bool,
    pub in_progress: bool,
    pub poly_score: Option<f64>,
    pub handoff_reason: String,
    pub variant: String,
}

impl Columns {
    pub fn of(c: &Conversation) -> Self {
        Columns {
            started_ms: c.started_at.map_or(0, |t| t.timestamp_millis()),
            channel: c.channel.clone(),
            total_duration: c.total_duration,
            num_turns: c.num_turns,
            handoff: c.handoff,
            in_progress: c.in_progress,
            poly_score: c.poly_score.filter(|s| s.is_finite()),
            handoff_reason: c.handoff_reason.clone(),
            variant: c.variant_id.clone(),
        }
    }
}

/// Members that the row's columns always hold (`handoff_reason` stays: the list reads it from the JSON).
const ALWAYS_COLUMNS: [&str; 7] = [
    "id",
    "channel",
    "total_duration",
    "num_turns",
    "handoff",
    "in_progress",
    "variant_id",
];

/// Whether a JSON value reads back as its field's default (so it need not be stored).
fn is_default(v: &Value) -> bool {
    match v {
        Value::Null | Value::Bool(false) => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// The compact JSON as a map: the wire shape without the members that read back as their defaults
/// (`state` is kept whatever it holds: it is the API's own value).
#[cfg(test)]
pub fn compact_map(c: &Conversation) -> serde_json::Result<serde_json::Map<String, Value>> {
    let Value::Object(mut top) = serde_json::to_value(c)? else {
        return Ok(serde_json::Map::new());
    };
    top.retain(|k, v| k == "id" || k == "state" || !is_default(v));
    if let Some(Value::Array(turns)) = top.get_mut("turns") {
        for turn in turns {
            if let Value::Object(t) = turn {
                t.retain(|_, v| !is_default(v));
            }
        }
    }
    Ok(top)
}

/// The member names of a turn side's text.
pub fn text_member(agent: bool) -> &'static str {
    if agent { "agent_response" } else { "user_input" }
}

/// The stored JSON of `c` cached from `origin`; `verbatim` lists the (turn, agent?) texts that
/// `turn_text` holds exactly as sent.
///
/// Byte for byte what `compact_map` trimmed and written out gives (members in key order, nested
/// objects as a `Value` writes them), but from each member's serialized text (see `members`)
/// instead of a `Value` tree (building that tree was a third of a summary write).
pub fn stored(origin: &Origin, c: &Conversation, verbatim: &[(usize, bool)]) -> serde_json::Result<String> {
    // The column keeps milliseconds; a finer (or zero) time stays in the JSON.
    let start_in_column = c
        .started_at
        .is_some_and(|t| t.timestamp_millis() != 0 && t.timestamp_subsec_nanos() % 1_000_000 == 0);
    let same_origin = |k: &str| match k {
        "account_id" => c.account_id == origin.account,
        "project_id" => c.project_id == origin.project,
        "environment" => c.environment == origin.environment,
        _ => false,
    };
    // Members the row holds anyway are not even written. A non-finite score is not JSON (it
    // was written as null and dropped): its column is NULL too.
    let top = super::members::Members::of(c, |k| {
        ALWAYS_COLUMNS.contains(&k) || k == "poly_score" || (k == "started_at" && start_in_column) || same_origin(k)
    })?;
    let mut out = ObjectWriter::with_capacity(top.text_len());
    for (k, v) in top.by_name() {
        match k {
            // An origin member unlike the key's is kept, even empty.
            "account_id" | "project_id" | "environment" => out.member(k, v),
            _ if k != "state" && is_default_text(v) => {}
            "turns" => out.member(k, &stored_turns(v, verbatim)?),
            _ => out.member(k, &canonical(v)?),
        }
    }
    Ok(out.finish())
}

/// An object's members as slices of its text, in the order a `Map` keeps them.
type RawMembers<'a> = std::collections::BTreeMap<&'a str, &'a serde_json::value::RawValue>;

/// The turns without their default members and without the texts `turn_text` holds verbatim.
fn stored_turns(turns: &str, verbatim: &[(usize, bool)]) -> serde_json::Result<String> {
    let turns: Vec<RawMembers<'_>> = serde_json::from_str(turns)?;
    let mut out = String::with_capacity(turns.len() * 64 + 2);
    out.push('[');
    for (i, turn) in turns.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let mut t = ObjectWriter::with_capacity(64);
        for (&k, raw) in turn {
            let v = raw.get();
            let held_verbatim = [false, true]
                .into_iter()
                .any(|agent| k == text_member(agent) && verbatim.contains(&(i, agent)));
            if !held_verbatim && !is_default_text(v) {
                t.member(k, &canonical(v)?);
            }
        }
        out.push_str(&t.finish());
    }
    out.push(']');
    Ok(out)
}

/// Whether a serialized value reads back as its field's default (`is_default` on the text).
fn is_default_text(v: &str) -> bool {
    matches!(v, "null" | "false" | "\"\"" | "[]" | "{}")
}

/// A value as a `Value` writes it: objects within it get their members in key order (a struct or
/// the metrics list serializes in its own order). Text without an object is already that.
fn canonical(v: &str) -> serde_json::Result<std::borrow::Cow<'_, str>> {
    if !v.contains('{') {
        return Ok(v.into());
    }
    Ok(serde_json::to_string(&serde_json::from_str::<Value>(v)?)?.into())
}

/// Writes a JSON object member by member.
struct ObjectWriter(String);

impl ObjectWriter {
    fn with_capacity(bytes: usize) -> Self {
        let mut s = String::with_capacity(bytes);
        s.push('{');
        ObjectWriter(s)
    }

    /// `key` is a field name (no character to escape); `value` is JSON text.
    fn member(&mut self, key: &str, value: &str) {
        if self.0.len() > 1 {
            self.0.push(',');
        }
        self.0.push('"');
        self.0.push_str(key);
        self.0.push_str("\":");
        self.0.push_str(value);
    }

    fn finish(mut self) -> String {
        self.0.push('}');
        self.0
    }
}

/// The stored JSON as the `Value` tree wrote it before `stored` read the serialized text: the
/// reference `stored` must match byte for byte.
#[cfg(test)]
pub fn stored_via_value(origin: &Origin, c: &Conversation, verbatim: &[(usize, bool)]) -> serde_json::Result<String> {
    let mut top = compact_map(c)?;
    for k in ALWAYS_COLUMNS {
        top.remove(k);
    }
    top.remove("poly_score");
    if let Some(t) = c.started_at
        && t.timestamp_millis() != 0
        && t.timestamp_subsec_nanos() % 1_000_000 == 0
    {
        top.remove("started_at");
    }
    for (k, mine, row) in [
        ("account_id", &c.account_id, &origin.account),
        ("project_id", &c.project_id, &origin.project),
        ("environment", &c.environment, &origin.environment),
    ] {
        if mine == row {
            top.remove(k);
        } else {
            top.insert(k.into(), Value::String(mine.clone()));
        }
    }
    if let Some(Value::Array(turns)) = top.get_mut("turns") {
        for &(i, agent) in verbatim {
            if let Some(Value::Object(t)) = turns.get_mut(i) {
                t.remove(text_member(agent));
            }
        }
    }
    serde_json::to_string(&top)
}

/// The stored JSON `wire` of the row `key` with `cols` as the JSON the reader takes: members the
/// columns hold put back (stored form only), and turn texts missing from the JSON taken from
/// `text_of(turn, agent?)` (either form: a text is in one place or the other).
pub fn restore(
    wire: &str,
    key: &ConversationKey,
    cols: &Columns,
    text_of: impl Fn(usize, bool) -> Option<String>,
) -> serde_json::Result<String> {
    let mut v: Value = serde_json::from_str(wire)?;
    let Value::Object(top) = &mut v else {
        return Ok(wire.to_string());
    };
    if !top.contains_key("id") {
        let mut put = |k: &str, v: Value| {
            if !is_default(&v) {
                top.entry(k).or_insert(v);
            }
        };
        put("id", Value::from(key.id.as_str()));
        put("account_id", Value::from(key.account.as_str()));
        put("project_id", Value::from(key.project.as_str()));
        put("environment", Value::from(key.environment.as_str()));
        if cols.started_ms != 0
            && let Some(t) = chrono::DateTime::from_timestamp_millis(cols.started_ms)
        {
            put("started_at", serde_json::to_value(t)?);
        }
        put("channel", Value::from(cols.channel.as_str()));
        put("total_duration", cols.total_duration.map_or(Value::Null, Value::from));
        put("num_turns", cols.num_turns.map_or(Value::Null, Value::from));
        put("handoff", Value::Bool(cols.handoff));
        put("in_progress", Value::Bool(cols.in_progress));
        put("poly_score", cols.poly_score.map_or(Value::Null, Value::from));
        put("variant_id", Value::from(cols.variant.as_str()));
    }
    if let Some(Value::Array(turns)) = top.get_mut("turns") {
        for (i, turn) in turns.iter_mut().enumerate() {
            let Value::Object(t) = turn else { continue };
            for agent in [false, true] {
                let k = text_member(agent);
                if !t.contains_key(k)
                    && let Some(s) = text_of(i, agent)
                {
                    t.insert(k.into(), Value::String(s));
                }
            }
        }
    }
    serde_json::to_string(&v)
}
