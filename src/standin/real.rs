//! The platform by-id object as live projects serve it (real-api-shapes.md), next to the
//! documented one in `agents`: camelCase around snake_case turns, with the observed variants.
//!
//! Two steps, both deterministic from the stand-in seed and the conversation id:
//! - `realize` adds what the documented data lacks to a *generated* call: tags, a note,
//!   PolyScore (1–5), direction, turn ids, per-utterance audio URLs, ASR corrections and n-best,
//!   retrieved topics, safety filters and function calls. Inserted calls are served as given.
//! - `detail` writes a conversation in the wire shape, choosing per call (or per turn/metric):
//!   `shortSummary` as a string, a JSON-encoded string, `{heading, content}` or null; metric
//!   values as a string, a list or a list of `{timestamp, value}` (no offset); `latency` as a
//!   number or `{label, perceived_latency, perceived_latency_percentile_1d}`; nulls for empty
//!   fields; function events keyed by turn index at the top (`functionEvents`) or in the turns'
//!   `metadata.function_events`; relative `audioUrl`/`user_input_audio_url`; timestamps with
//!   microseconds and `+00:00` (a few calls use `Z`); HTTP dates in function events.
//!
//! Nothing here runs for the documented shapes, so `--shape v3` costs what it always did.

use chrono::{DateTime, Duration, SubsecRound, Utc};
use serde_json::{Map, Value, json};

use super::data::{Body, DatasetHandle, Entry};
use super::rng::Rng;
use super::shape::id_hash;
use crate::api::model::{Conversation, Entity, FunctionEvent, Turn};

const SALT_CONTENT: u64 = 0x00C0_47E7;
const SALT_WIRE: u64 = 0x0003_14E5;

fn rng_for(seed: u64, id: &str, salt: u64) -> Rng {
    Rng::fork(seed ^ salt, id_hash(id))
}

/// The conversation to serve in the real shape: expanded, and realized if generated.
pub fn expand(data: &DatasetHandle, e: &Entry) -> Conversation {
    let mut c = data.expand(e);
    if matches!(e.body, Body::Generated(_)) {
        realize(&mut c, data.scope().seed);
    }
    c
}

const TAGS: &[&str] = &[
    "vip",
    "complaint",
    "callback_requested",
    "repeat_caller",
    "billing",
    "qa_sample",
];
const NOTES: &[&str] = &[
    "Caller asked for a callback tomorrow morning.",
    "Reviewed: the agent handled this well.",
    "Booking system failed twice during the call; check the logs.",
    "Escalated to the team lead.",
];
/// Knowledge-base topics a retrieval step can return.
pub const TOPICS: &[&str] = &[
    "opening_hours",
    "cancellation_policy",
    "card_replacement",
    "delivery_times",
    "refund_policy",
    "parking",
    "dietary_requirements",
    "fraud_process",
];
/// Safety filters (providers) that can fire on a caller turn.
pub const SAFETY_FILTERS: &[&str] = &["azure_content_safety", "openai_moderation", "prompt_shield"];
/// What an ASR correction changes (first match wins).
const CORRECTIONS: &[(&str, &str)] = &[
    ("Um, ", ""),
    ("Uh, ", ""),
    ("Yeah ", "Yes "),
    ("I'd ", "I would "),
    ("I'm ", "I am "),
    ("It's ", "It is "),
    ("it's ", "it is "),
    ("can't ", "cannot "),
    (" two", " 2"),
    (" four", " 4"),
];
/// Intents that trigger a function call, and its name.
const FUNCTIONS: &[(&str, &str)] = &[
    ("book_table", "check_availability"),
    ("provide_datetime", "check_availability"),
    ("provide_name", "create_booking"),
    ("confirm_identity", "verify_caller"),
    ("confirm_card", "freeze_card"),
    ("check_transactions", "list_transactions"),
    ("provide_order_number", "lookup_order"),
    ("change_delivery", "update_delivery"),
    ("provide_digits", "verify_digits"),
];

fn correct(said: &str) -> String {
    for (from, to) in CORRECTIONS {
        if said.contains(from) {
            return said.replacen(from, to, 1);
        }
    }
    said.to_string()
}

/// ASR n-best after the best hypothesis: lower-cased without punctuation, then one word short.
fn alternatives(said: &str) -> Vec<String> {
    let plain: String = said
        .chars()
        .filter(|c| c.is_alphanumeric() || c.is_whitespace())
        .collect::<String>()
        .to_lowercase();
    let shorter = plain.rsplit_once(' ').map(|(a, _)| a.to_string()).unwrap_or_default();
    let mut out = vec![said.to_string()];
    for alt in [plain, shorter] {
        if !alt.is_empty() && !out.contains(&alt) {
            out.push(alt);
        }
    }
    out
}

fn arguments(entities: &[Entity]) -> Value {
    Value::Object(
        entities
            .iter()
            .map(|e| (e.name.clone(), Value::String(e.values.join(" "))))
            .collect(),
    )
}

fn function_event(rng: &mut Rng, turn: &Turn, name: &str, handoff: Option<(&str, &str)>) -> FunctionEvent {
    let at = turn.user_input_datetime.or(turn.agent_response_datetime);
    let (arguments, handoff_reason, handoff_type, state_changes) = match handoff {
        Some((reason, destination)) => (
            json!({ "destination": destination }),
            reason.to_string(),
            rng.pick_str(&["warm_transfer", "sip_refer"]).to_string(),
            json!({"added": {"handoff_destination": destination}, "removed": [], "updated": {}}),
        ),
        None => {
            let intent = turn.intents.first().map(String::as_str).unwrap_or("");
            let changes = if rng.chance(0.6) {
                json!({"added": {}, "removed": [], "updated": {"last_step": intent}})
            } else {
                Value::Null
            };
            (arguments(&turn.entities), String::new(), String::new(), changes)
        }
    };
    FunctionEvent {
        name: name.to_string(),
        function_id: format!("fn-{:08x}", rng.next_u64() as u32),
        arguments,
        duration: Some(rng.between(35, 2400) as f64),
        // An HTTP date has whole seconds.
        start_time: at.map(|t| (t + Duration::milliseconds(40)).trunc_subsecs(0)),
        handoff_reason,
        handoff_type,
        state_changes,
        ..FunctionEvent::default()
    }
}

/// Adds the real object's extra content to a generated conversation (see the module doc).
pub fn realize(c: &mut Conversation, seed: u64) {
    let mut rng = rng_for(seed, &c.id, SALT_CONTENT);
    let voice = c.is_voice();
    if voice && rng.chance(0.1) {
        c.direction = "outbound".into();
    }
    if !rng.chance(0.55) {
        let n = 1 + rng.below(2) as usize;
        for _ in 0..n {
            let t = rng.pick_str(TAGS).to_string();
            if !c.tags.contains(&t) {
                c.tags.push(t);
            }
        }
    }
    if c.handoff {
        c.tags.push("escalated".into());
    }
    if rng.chance(0.2) {
        c.note = rng.pick_str(NOTES).to_string();
    }
    c.poly_score = (!c.in_progress && !rng.chance(0.1)).then(|| {
        let penalty = c.num_silences.unwrap_or(0) + c.num_ood.unwrap_or(0) + u32::from(c.handoff);
        let wobble = rng.below(2) as i64;
        (5 - i64::from(penalty.min(4)) - wobble).clamp(1, 5) as f64
    });
    let handoff = c
        .handoff
        .then(|| (c.handoff_reason.clone(), c.handoff_destination.clone()));
    let last = c.turns.len().saturating_sub(1);
    for (i, t) in c.turns.iter_mut().enumerate() {
        t.turn_id = Some(i as u32);
        let speech = voice && !t.user_input.is_empty() && !t.is_silence;
        if speech {
            t.user_input_audio_url = format!("conversations/{}/turns/{i}/audio", c.id);
            t.asr_corrected_user_input = if rng.chance(0.3) {
                correct(&t.user_input)
            } else {
                t.user_input.clone()
            };
            if rng.chance(0.6) {
                t.top_transcripts = alternatives(&t.user_input);
            }
            if rng.chance(if t.is_ood { 0.3 } else { 0.02 }) {
                t.safety_filters = vec![rng.pick_str(SAFETY_FILTERS).to_string()];
            }
        }
        let intent = t.intents.first().map(String::as_str).unwrap_or("");
        if !intent.is_empty() && !matches!(intent, "goodbye" | "affirm") && rng.chance(0.35) {
            let k = 1 + rng.below(2) as usize;
            for _ in 0..k {
                let topic = rng.pick_str(TOPICS).to_string();
                if !t.retrieved_topics.contains(&topic) {
                    t.retrieved_topics.push(topic);
                }
            }
        }
        if i == last
            && intent == "request_handoff"
            && let Some((reason, destination)) = &handoff
        {
            let ev = function_event(&mut rng, t, "transfer_call", Some((reason, destination)));
            t.function_events.push(ev);
        } else if let Some((_, name)) = FUNCTIONS.iter().find(|(i, _)| *i == intent)
            && rng.chance(0.7)
        {
            let ev = function_event(&mut rng, t, name, None);
            t.function_events.push(ev);
        }
    }
}

/// How one conversation is written: chosen once per call from its id.
struct Wire {
    rng: Rng,
    /// `Z` with milliseconds instead of microseconds and `+00:00`.
    zulu: bool,
    latency_object: bool,
    /// Function events in the turns' metadata rather than top-level `functionEvents`.
    events_in_metadata: bool,
    redacted_numbers: bool,
}

impl Wire {
    fn new(seed: u64, id: &str) -> Wire {
        let mut rng = rng_for(seed, id, SALT_WIRE);
        Wire {
            zulu: rng.chance(0.15),
            latency_object: rng.chance(0.75),
            events_in_metadata: rng.chance(0.25),
            redacted_numbers: rng.chance(0.15),
            rng,
        }
    }

    fn time(&self, t: &Option<DateTime<Utc>>) -> Value {
        match t {
            Some(t) if self.zulu => Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
            Some(t) => Value::String(t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()),
            None => Value::Null,
        }
    }

    /// An empty string as `null` (always, or on a coin flip where real data mixes both).
    fn text(&mut self, s: &str, null_share: f64) -> Value {
        if s.is_empty() && self.rng.chance(null_share) {
            Value::Null
        } else {
            Value::String(s.to_string())
        }
    }
}

fn http_date(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

fn event_json(e: &FunctionEvent, utterance: Option<&str>) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(e.name));
    m.insert("function_id".into(), json!(e.function_id));
    m.insert(
        "arguments".into(),
        if e.arguments.is_null() {
            json!({})
        } else {
            e.arguments.clone()
        },
    );
    m.insert("duration".into(), json!(e.duration));
    m.insert("start_time".into(), json!(e.start_time.map(http_date)));
    if !e.handoff_reason.is_empty() || !e.handoff_type.is_empty() {
        m.insert(
            "handoff".into(),
            json!({"reason": e.handoff_reason, "type": e.handoff_type}),
        );
    }
    if !e.state_changes.is_null() {
        m.insert("state_changes".into(), e.state_changes.clone());
    }
    if let Some(u) = utterance {
        m.insert("utterance".into(), json!(u));
    }
    Value::Object(m)
}

fn latency_json(w: &mut Wire, i: usize, latency: Option<f64>) -> Value {
    let Some(secs) = latency else {
        return Value::Null;
    };
    if !w.latency_object {
        return json!(secs);
    }
    if i == 0 {
        // The greeting answers nobody: no perceived latency.
        return Value::Null;
    }
    let label = if secs < 1.0 {
        "good"
    } else if secs < 2.0 {
        "ok"
    } else {
        "slow"
    };
    json!({
        "label": label,
        "perceived_latency": secs,
        "perceived_latency_percentile_1d": ((secs / 4.5).min(0.99) * 100.0).round(),
    })
}

fn entities_json(entities: &[Entity]) -> Value {
    Value::Array(
        entities
            .iter()
            .map(|e| {
                let v = match e.values.as_slice() {
                    [one] => json!(one),
                    many => json!(many),
                };
                Value::Object(Map::from_iter([(e.name.clone(), v)]))
            })
            .collect(),
    )
}

fn turn_json(w: &mut Wire, i: usize, t: &Turn, language: &str, voice: bool) -> Value {
    let list_or_null = |w: &mut Wire, empty: bool, v: Value| {
        if empty && w.rng.chance(0.4) { Value::Null } else { v }
    };
    let intents = list_or_null(w, t.intents.is_empty(), json!(t.intents));
    let entities = list_or_null(w, t.entities.is_empty(), entities_json(&t.entities));
    // The greeting turn has no caller input to classify.
    let flag = |b: bool| if i == 0 { Value::Null } else { json!(b) };
    let lang = if voice && !language.is_empty() {
        json!(language)
    } else {
        Value::Null
    };
    let mut metadata = Map::new();
    if !t.asr_corrected_user_input.is_empty() {
        metadata.insert("asr_corrected_user_input".into(), json!(t.asr_corrected_user_input));
    }
    metadata.insert("retrieved_topics".into(), json!(t.retrieved_topics));
    if !t.top_transcripts.is_empty() {
        let nbest: Vec<Value> = t
            .top_transcripts
            .iter()
            .enumerate()
            .map(|(k, text)| json!({"text": text, "intents": if k == 0 { json!(t.intents) } else { json!([]) }}))
            .collect();
        metadata.insert("top_transcripts".into(), Value::Array(nbest));
    }
    if w.events_in_metadata && !t.function_events.is_empty() {
        let events: Vec<Value> = t
            .function_events
            .iter()
            .map(|e| event_json(e, Some(&t.user_input)))
            .collect();
        metadata.insert("function_events".into(), Value::Array(events));
    }
    metadata.insert(
        "entities".into(),
        Value::Object(
            t.entities
                .iter()
                .map(|e| (e.name.clone(), json!(e.values.join(" "))))
                .collect(),
        ),
    );
    metadata.insert(
        "current_node".into(),
        json!(t.intents.first().map_or("start".to_string(), |n| format!("node_{n}"))),
    );
    if !t.safety_filters.is_empty() {
        let fired: Map<String, Value> = t
            .safety_filters
            .iter()
            .map(|f| (f.clone(), json!(["harassment"])))
            .collect();
        metadata.insert("safety".into(), json!({ "filters_triggered": fired }));
    }
    json!({
        "turn_id": t.turn_id.unwrap_or(i as u32),
        "user_input": t.user_input,
        "user_input_datetime": w.time(&t.user_input_datetime),
        "user_input_dtmf": w.text(&t.user_input_dtmf, 0.5),
        "user_input_dtmf_finish_key": if t.user_input_dtmf.is_empty() { Value::Null } else { json!("#") },
        "user_input_audio_url": if t.user_input_audio_url.is_empty() { Value::Null } else { json!(t.user_input_audio_url) },
        "agent_response": t.agent_response,
        "agent_response_datetime": w.time(&t.agent_response_datetime),
        "translated_user_input": w.text(&t.translated_user_input, 0.7),
        "english_agent_response": w.text(&t.english_agent_response, 0.7),
        "asr_lang_code": lang,
        "tts_lang_code": lang,
        "barge_in": t.barge_in,
        "intents": intents,
        "entities": entities,
        "is_ood": flag(t.is_ood),
        "is_silence": flag(t.is_silence),
        "llm_requests": [],
        "reviews": [],
        "latency": latency_json(w, i, t.latency),
        "metadata": Value::Object(metadata),
    })
}

fn metrics_json(w: &mut Wire, c: &Conversation) -> Value {
    let start = c.started_at.unwrap_or_default();
    let mut m = Map::new();
    for (k, (name, values)) in c.metrics.iter().enumerate() {
        let x = w.rng.f64();
        let value = if x < 0.3 {
            let at = start + Duration::milliseconds(1000 * k as i64 + 250);
            Value::Array(
                values
                    .iter()
                    .map(|v| json!({"timestamp": at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string(), "value": v}))
                    .collect(),
            )
        } else if x < 0.5 || values.len() != 1 {
            json!(values)
        } else {
            json!(values[0])
        };
        m.insert(name.clone(), value);
    }
    Value::Object(m)
}

fn heading(c: &Conversation) -> String {
    let topic = c
        .metrics
        .iter()
        .find(|(k, _)| k == "TOPIC")
        .and_then(|(_, v)| v.first())
        .map_or("Call", String::as_str);
    let mut h = topic.replace('_', " ");
    if let Some(first) = h.get(..1) {
        h.replace_range(..1, &first.to_uppercase());
    }
    h
}

fn summary_json(w: &mut Wire, c: &Conversation) -> Value {
    if c.short_summary.is_empty() {
        return Value::Null;
    }
    let object = json!({"heading": heading(c), "content": c.short_summary});
    let x = w.rng.f64();
    if x < 0.35 {
        json!(c.short_summary)
    } else if x < 0.5 {
        json!(object.to_string())
    } else if x < 0.55 {
        json!(json!(c.short_summary).to_string())
    } else if x < 0.9 {
        object
    } else {
        Value::Null
    }
}

/// The real by-id object (see the module doc).
pub fn detail(c: &Conversation, seed: u64) -> Value {
    let mut w = Wire::new(seed, &c.id);
    let voice = c.is_voice();
    let number = |w: &Wire, n: &str| {
        if n.is_empty() {
            Value::Null
        } else if w.redacted_numbers {
            json!("REDACTED")
        } else {
            json!(n)
        }
    };
    let audio_url = if !c.audio_url.is_empty() {
        json!(c.audio_url)
    } else if voice {
        json!(format!("conversations/{}/audio", c.id))
    } else {
        Value::Null
    };
    let note = if c.note.is_empty() {
        w.text("", 0.7)
    } else {
        json!(c.note)
    };
    let summary = summary_json(&mut w, c);
    let metrics = metrics_json(&mut w, c);
    let turns: Vec<Value> = c
        .turns
        .iter()
        .enumerate()
        .map(|(i, t)| turn_json(&mut w, i, t, &c.language, voice))
        .collect();
    let mut events = Map::new();
    if !w.events_in_metadata {
        for (i, t) in c.turns.iter().enumerate() {
            if !t.function_events.is_empty() {
                let key = t.turn_id.unwrap_or(i as u32).to_string();
                let list = t.function_events.iter().map(|e| event_json(e, None)).collect();
                events.insert(key, Value::Array(list));
            }
        }
    }
    let deployment = if w.rng.chance(0.1) {
        Value::Null
    } else {
        json!("dep_standin")
    };
    json!({
        "conversationId": c.id,
        "accountId": c.account_id,
        "projectId": c.project_id,
        "variantId": c.variant_id,
        "deploymentId": deployment,
        "channel": c.channel,
        "clientEnv": c.environment,
        "direction": if c.direction.is_empty() { Value::Null } else { json!(c.direction) },
        "language": if c.language.is_empty() { Value::Null } else { json!(c.language) },
        "createdAt": w.time(&c.started_at),
        "startedAt": w.time(&c.started_at),
        "finishedAt": w.time(&c.finished_at),
        "duration": c.total_duration,
        "totalDuration": c.total_duration,
        "polyaiDuration": c.polyai_duration,
        "inProgress": c.in_progress,
        "fromNumber": number(&w, &c.from_number),
        "toNumber": number(&w, &c.to_number),
        "handoff": c.handoff,
        "handoffReason": if c.handoff_reason.is_empty() { Value::Null } else { json!(c.handoff_reason) },
        "handoffDestination": if c.handoff_destination.is_empty() { Value::Null } else { json!(c.handoff_destination) },
        "note": note,
        "tags": c.tags,
        "audioUrl": audio_url,
        "polyScore": c.poly_score,
        "shortSummary": summary,
        "metrics": metrics,
        "functionEvents": Value::Object(events),
        "turns": turns,
    })
}

/// A `/v1/agents/{project}/conversations` item: the real object without turns or function events.
pub fn summary(c: &Conversation, seed: u64) -> Value {
    let mut v = detail(c, seed);
    if let Value::Object(m) = &mut v {
        m.remove("turns");
        m.remove("functionEvents");
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::standin::data::{Dataset, Scope};

    fn handle(n: usize) -> DatasetHandle {
        let now = DateTime::parse_from_rfc3339("2026-11-28T10:00:00Z").unwrap().to_utc();
        DatasetHandle::new(
            Dataset::generate(7, n, now),
            Scope {
                account_id: "ws-demo".into(),
                project_id: "PROJECT-demo".into(),
                now,
                seed: 7,
            },
        )
    }

    fn all(h: &DatasetHandle) -> Vec<(Conversation, Value)> {
        h.read(|d| d.entries().to_vec())
            .iter()
            .map(|e| {
                let c = expand(h, e);
                let v = detail(&c, 7);
                (c, v)
            })
            .collect()
    }

    #[test]
    fn deterministic_per_seed_and_id() {
        let h = handle(60);
        let a: Vec<String> = all(&h).iter().map(|(_, v)| v.to_string()).collect();
        let b: Vec<String> = all(&h).iter().map(|(_, v)| v.to_string()).collect();
        assert_eq!(a, b);
        let e = h.read(|d| d.entries()[5].clone());
        assert_ne!(detail(&expand(&h, &e), 7), detail(&expand(&h, &e), 8));
    }

    #[test]
    fn every_observed_variant_appears_across_a_seeded_dataset() {
        let h = handle(600);
        let docs = all(&h);
        let count = |f: &dyn Fn(&Conversation, &Value) -> bool| docs.iter().filter(|(c, v)| f(c, v)).count();
        let turns = |f: &dyn Fn(&Value) -> bool| {
            docs.iter()
                .flat_map(|(_, v)| v["turns"].as_array().cloned().unwrap_or_default())
                .filter(|t| f(t))
                .count()
        };
        let micro_offset = |s: &str| s.len() == 32 && s.ends_with("+00:00") && s.as_bytes()[19] == b'.';
        let http_date = |s: &str| s.ends_with(" GMT") && chrono::DateTime::parse_from_rfc2822(s).is_ok();
        let checks: Vec<(&str, usize)> = vec![
            (
                "camelCase top level",
                count(&|_, v| v.get("conversationId").is_some() && v.get("id").is_none()),
            ),
            (
                "summary string",
                count(&|_, v| v["shortSummary"].as_str().is_some_and(|s| !s.starts_with(['{', '"']))),
            ),
            (
                "summary JSON-encoded object",
                count(&|_, v| {
                    v["shortSummary"].as_str().is_some_and(|s| {
                        serde_json::from_str::<Value>(s)
                            .is_ok_and(|j| j["heading"].is_string() && j["content"].is_string())
                    })
                }),
            ),
            (
                "summary JSON-encoded string",
                count(&|_, v| {
                    v["shortSummary"]
                        .as_str()
                        .is_some_and(|s| serde_json::from_str::<Value>(s).is_ok_and(|j| j.is_string()))
                }),
            ),
            (
                "summary object",
                count(&|_, v| v["shortSummary"]["heading"].is_string() && v["shortSummary"]["content"].is_string()),
            ),
            (
                "summary null (finished call)",
                count(&|c, v| !c.in_progress && v["shortSummary"].is_null()),
            ),
            (
                "metric string",
                count(&|_, v| {
                    v["metrics"]
                        .as_object()
                        .is_some_and(|m| m.values().any(Value::is_string))
                }),
            ),
            (
                "metric list of strings",
                count(&|_, v| {
                    v["metrics"]
                        .as_object()
                        .is_some_and(|m| m.values().any(|x| x[0].is_string()))
                }),
            ),
            (
                "metric list of {timestamp, value}",
                count(&|_, v| {
                    v["metrics"].as_object().is_some_and(|m| {
                        m.values().any(|x| {
                            x[0]["timestamp"]
                                .as_str()
                                .is_some_and(|t| t.len() == 26 && !t.contains('+') && !t.ends_with('Z'))
                                && x[0]["value"].is_string()
                        })
                    })
                }),
            ),
            (
                "µs +00:00 timestamps",
                count(&|_, v| v["startedAt"].as_str().is_some_and(micro_offset)),
            ),
            (
                "Z timestamps",
                count(&|_, v| v["startedAt"].as_str().is_some_and(|s| s.ends_with('Z'))),
            ),
            (
                "relative audioUrl",
                count(&|c, v| v["audioUrl"] == json!(format!("conversations/{}/audio", c.id))),
            ),
            ("null audioUrl (chat)", count(&|_, v| v["audioUrl"].is_null())),
            (
                "polyScore 1-5",
                count(&|_, v| {
                    v["polyScore"]
                        .as_f64()
                        .is_some_and(|s| (1.0..=5.0).contains(&s) && s.fract() == 0.0)
                }),
            ),
            (
                "polyScore null on a finished call",
                count(&|c, v| !c.in_progress && v["polyScore"].is_null()),
            ),
            (
                "polyScore null in progress",
                count(&|c, v| c.in_progress && v["polyScore"].is_null()),
            ),
            (
                "tags",
                count(&|_, v| v["tags"].as_array().is_some_and(|t| !t.is_empty())),
            ),
            (
                "note string",
                count(&|_, v| v["note"].as_str().is_some_and(|n| !n.is_empty())),
            ),
            ("note null", count(&|_, v| v["note"].is_null())),
            ("direction outbound", count(&|_, v| v["direction"] == "outbound")),
            ("direction inbound", count(&|_, v| v["direction"] == "inbound")),
            ("language", count(&|_, v| v["language"].is_string())),
            ("null handoffReason", count(&|_, v| v["handoffReason"].is_null())),
            ("REDACTED numbers", count(&|_, v| v["fromNumber"] == "REDACTED")),
            (
                "functionEvents keyed by turn index",
                count(&|_, v| {
                    v["functionEvents"].as_object().is_some_and(|m| {
                        m.iter().all(|(k, evs)| {
                            k.parse::<usize>().is_ok_and(|i| v["turns"][i]["turn_id"] == json!(i)) && evs.is_array()
                        }) && !m.is_empty()
                    })
                }),
            ),
            (
                "handoff function event",
                count(&|_, v| {
                    v["functionEvents"].as_object().is_some_and(|m| {
                        m.values()
                            .flat_map(|e| e.as_array().unwrap())
                            .any(|e| e["handoff"]["reason"].is_string() && e["handoff"]["type"].is_string())
                    })
                }),
            ),
        ];
        let turn_checks: Vec<(&str, usize)> = vec![
            (
                "object latency",
                turns(&|t| {
                    t["latency"]["perceived_latency"].is_f64()
                        && t["latency"]["label"].is_string()
                        && t["latency"]["perceived_latency_percentile_1d"].is_number()
                }),
            ),
            ("number latency", turns(&|t| t["latency"].is_f64())),
            ("null intents", turns(&|t| t["intents"].is_null())),
            ("null entities", turns(&|t| t["entities"].is_null())),
            ("null is_ood", turns(&|t| t["is_ood"].is_null())),
            (
                "function event fields",
                turns(&|t| {
                    t["metadata"]["function_events"].as_array().is_some_and(|evs| {
                        evs.iter().any(|e| {
                            e["name"].is_string()
                                && e["function_id"].is_string()
                                && e["arguments"].is_object()
                                && e["duration"].is_f64()
                                && e["start_time"].as_str().is_some_and(http_date)
                                && e["utterance"].is_string()
                        })
                    })
                }),
            ),
            (
                "state_changes",
                turns(&|t| t["metadata"]["function_events"][0]["state_changes"]["updated"].is_object()),
            ),
            (
                "asr correction that differs",
                turns(&|t| {
                    t["metadata"]["asr_corrected_user_input"]
                        .as_str()
                        .is_some_and(|a| a != t["user_input"])
                }),
            ),
            (
                "retrieved_topics",
                turns(&|t| {
                    t["metadata"]["retrieved_topics"]
                        .as_array()
                        .is_some_and(|a| !a.is_empty())
                }),
            ),
            (
                "n-best",
                turns(&|t| {
                    t["metadata"]["top_transcripts"]
                        .as_array()
                        .is_some_and(|a| a.len() > 1 && a[0]["text"].is_string() && a[0]["intents"].is_array())
                }),
            ),
            (
                "safety filters",
                turns(&|t| {
                    t["metadata"]["safety"]["filters_triggered"]
                        .as_object()
                        .is_some_and(|m| !m.is_empty())
                }),
            ),
            (
                "per-turn audio URL",
                turns(&|t| {
                    t["user_input_audio_url"].as_str().is_some_and(|u| {
                        u.starts_with("conversations/CA") && u.ends_with(&format!("/turns/{}/audio", t["turn_id"]))
                    })
                }),
            ),
            (
                "µs +00:00 turn times",
                turns(&|t| t["agent_response_datetime"].as_str().is_some_and(micro_offset)),
            ),
        ];
        for (what, n) in checks.into_iter().chain(turn_checks) {
            assert!(n >= 3, "{what}: only {n} in 600 conversations");
        }
        // Top-level events carry HTTP dates too.
        assert!(docs.iter().any(|(_, v)| {
            v["functionEvents"]
                .as_object()
                .is_some_and(|m| m.values().any(|e| e[0]["start_time"].as_str().is_some_and(http_date)))
        }));
    }

    #[test]
    fn the_real_object_reads_back_into_the_realized_content() {
        let h = handle(200);
        for (c, v) in all(&h) {
            let back: Conversation = serde_json::from_value(v.clone()).unwrap();
            assert_eq!(back.id, c.id);
            assert_eq!(back.total_duration, c.total_duration);
            assert_eq!(back.tags, c.tags);
            assert_eq!(back.poly_score, c.poly_score);
            assert_eq!(back.turns.len(), c.turns.len());
            for (b, t) in back.turns.iter().zip(&c.turns) {
                assert_eq!((&b.user_input, &b.agent_response), (&t.user_input, &t.agent_response));
                assert_eq!(b.turn_id, t.turn_id);
                assert_eq!(b.user_input_audio_url, t.user_input_audio_url);
                assert_eq!(b.user_input_datetime, t.user_input_datetime);
            }
        }
    }

    #[test]
    fn the_list_item_has_no_turns() {
        let h = handle(20);
        let (c, _) = all(&h).remove(3);
        let s = summary(&c, 7);
        assert!(s.get("turns").is_none() && s.get("functionEvents").is_none());
        assert_eq!(s["conversationId"], json!(c.id));
    }
}
