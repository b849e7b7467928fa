//! What the real by-id object adds under a turn, laid out for the transcript's text column:
//! function calls (name, arguments, duration, handoff, state changes), the ASR correction and
//! n-best hypotheses where they differ from what the caller said, retrieved topics, and the
//! safety filters that fired. Everything from the server is sanitized here.

use serde_json::Value;

use super::line::{Line, Tag};
use crate::api::Turn;
use crate::api::model::FunctionEvent;
use crate::sanitize::{sanitize_line, truncate, width, wrap};

/// At most this many n-best hypotheses are listed (the rest are counted).
pub const MAX_HYPOTHESES: usize = 4;

/// Where the annotation lines go: `indent` columns in, `cols` wide in all.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub indent: usize,
    pub cols: usize,
}

impl Column {
    fn text_cols(self) -> usize {
        self.cols.saturating_sub(self.indent).max(10)
    }

    /// `label text…` wrapped under the text (not under the label).
    fn labelled(self, label: (Tag, &str), text: (Tag, &str), out: &mut Vec<Line>) {
        let label_w = width(label.1);
        let parts = wrap(text.1, self.text_cols().saturating_sub(label_w).max(8));
        for (i, part) in parts.into_iter().enumerate() {
            let mut line = Line::default().push(Tag::Plain, " ".repeat(self.indent));
            line = if i == 0 {
                line.push(label.0, label.1)
            } else {
                line.push(Tag::Plain, " ".repeat(label_w))
            };
            out.push(line.push(text.0, part));
        }
    }

    /// One line of spans, cut with `…` to the width.
    fn one_line(self, spans: Vec<(Tag, String)>, out: &mut Vec<Line>) {
        let mut line = Line::default().push(Tag::Plain, " ".repeat(self.indent));
        let mut room = self.text_cols();
        for (tag, text) in spans {
            if room == 0 {
                break;
            }
            let t = truncate(&text, room);
            room -= width(&t);
            line = line.push(tag, t);
        }
        out.push(line);
    }
}

/// Words compared without case, punctuation or spacing: "Seven tonight." is what "seven
/// tonight" said.
fn same_words(a: &str, b: &str) -> bool {
    let norm = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_alphanumeric() {
                    c.to_lowercase().next().unwrap_or(c)
                } else {
                    ' '
                }
            })
            .collect::<String>()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    norm(a) == norm(b)
}

/// The corrected input, when it says something else than the transcript shows.
pub fn correction(t: &Turn) -> Option<String> {
    let c = sanitize_line(&t.asr_corrected_user_input);
    (!c.trim().is_empty() && !same_words(&c, &t.user_input)).then_some(c)
}

/// The n-best hypotheses that differ from the caller's words, with their 1-based rank.
pub fn hypotheses(t: &Turn) -> Vec<(usize, String)> {
    t.top_transcripts
        .iter()
        .enumerate()
        .filter(|(_, h)| !h.trim().is_empty() && !same_words(h, &t.user_input))
        .map(|(i, h)| (i + 1, sanitize_line(h)))
        .collect()
}

fn names(items: &[String]) -> String {
    items
        .iter()
        .map(|s| sanitize_line(s))
        .filter(|s| !s.trim().is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `⚠ safety: provider, filter` when a safety filter fired at this turn.
pub fn safety_lines(t: &Turn, col: Column, out: &mut Vec<Line>) {
    let fired = names(&t.safety_filters);
    if !fired.is_empty() {
        col.labelled((Tag::Warn, "⚠ safety: "), (Tag::Warn, &fired), out);
    }
}

/// The ASR correction, the differing n-best hypotheses and the retrieved topics.
pub fn asr_lines(t: &Turn, col: Column, out: &mut Vec<Line>) {
    if let Some(c) = correction(t) {
        col.labelled((Tag::Asr, "✎ corrected: "), (Tag::Plain, &c), out);
    }
    let alts = hypotheses(t);
    for (i, (rank, text)) in alts.iter().take(MAX_HYPOTHESES).enumerate() {
        let label = if i == 0 { "≈ n-best " } else { "         " };
        col.one_line(
            vec![
                (Tag::Asr, label.to_string()),
                (Tag::Dim, format!("{rank}. ")),
                (Tag::Plain, text.clone()),
            ],
            out,
        );
    }
    if alts.len() > MAX_HYPOTHESES {
        col.one_line(
            vec![(Tag::Dim, format!("         +{} more", alts.len() - MAX_HYPOTHESES))],
            out,
        );
    }
    let topics = names(&t.retrieved_topics);
    if !topics.is_empty() {
        col.labelled((Tag::Entity, "topics: "), (Tag::Entity, &topics), out);
    }
}

/// `1 function call` / `2 function calls`, for the notes line when calls are hidden.
pub fn hidden_calls(t: &Turn) -> Option<String> {
    match t.function_events.len() {
        0 => None,
        1 => Some("ƒ 1 call".into()),
        n => Some(format!("ƒ {n} calls")),
    }
}

/// A JSON value in one short line: strings quoted, objects as `{k: v}`, lists as `[a, b]`.
fn compact(v: &Value) -> String {
    match v {
        Value::Object(m) => format!("{{{}}}", pairs(m, ": ")),
        Value::Array(items) => format!("[{}]", items.iter().map(compact).collect::<Vec<_>>().join(", ")),
        Value::String(s) => format!("\"{}\"", sanitize_line(s)),
        other => other.to_string(),
    }
}

fn pairs(m: &serde_json::Map<String, Value>, sep: &str) -> String {
    m.iter()
        .map(|(k, v)| format!("{}{sep}{}", sanitize_line(k), compact(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A call's arguments as `k=v, k=v` (another shape in its compact form; none is empty).
pub fn arguments(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Object(m) => pairs(m, "="),
        other => compact(other),
    }
}

/// `state_changes {added, removed, updated}` as `+k=v · −k · ~k=v`; another shape compact.
pub fn state_changes(v: &Value) -> String {
    let Value::Object(m) = v else {
        return if v.is_null() { String::new() } else { compact(v) };
    };
    if m.is_empty() {
        return String::new();
    }
    let known = ["added", "removed", "updated"];
    if m.keys().any(|k| !known.contains(&k.as_str())) {
        return compact(v);
    }
    let mut parts = Vec::new();
    for (key, sign) in known.iter().zip(["+", "−", "~"]) {
        match m.get(*key) {
            None | Some(Value::Null) => {}
            Some(Value::Object(entries)) => parts.extend(entries.iter().map(|(k, v)| {
                if *key == "removed" {
                    format!("{sign}{}", sanitize_line(k))
                } else {
                    format!("{sign}{}={}", sanitize_line(k), compact(v))
                }
            })),
            Some(Value::Array(items)) => parts.extend(items.iter().map(|i| match i {
                Value::String(s) => format!("{sign}{}", sanitize_line(s)),
                other => format!("{sign}{}", compact(other)),
            })),
            Some(other) => parts.push(format!("{sign}{}", compact(other))),
        }
    }
    parts.join(" · ")
}

/// `320 ms`, `1.4 s`.
fn duration(ms: f64) -> String {
    if !ms.is_finite() || ms < 0.0 {
        String::new()
    } else if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.1} s", ms / 1000.0)
    }
}

/// One function call: `ƒ name(args) 320 ms`, the arguments on their own line when they do
/// not fit beside the name, then `↪ handoff reason (type)` and `state +k=v · −k`.
pub fn function_lines(ev: &FunctionEvent, col: Column, out: &mut Vec<Line>) {
    let name = match sanitize_line(&ev.name) {
        n if n.trim().is_empty() => "(unnamed)".to_string(),
        n => n,
    };
    let args = arguments(&ev.arguments);
    let took = ev.duration.map(duration).filter(|d| !d.is_empty());
    let took_w = took.as_ref().map_or(0, |d| width(d) + 1);
    let head = format!("ƒ {name}");
    let inline = width(&head) + width(&args) + 2 + took_w <= col.text_cols();
    let mut first = vec![(Tag::Function, head)];
    if inline {
        first.push((Tag::Plain, format!("({args})")));
    }
    if let Some(d) = took {
        // The duration stays visible: the name gives way first.
        let room = col.text_cols().saturating_sub(width(&d) + 1);
        let cut = fit_spans(first, room);
        first = cut;
        first.push((Tag::Dim, format!(" {d}")));
    }
    col.one_line(first, out);
    let sub = Column {
        indent: col.indent + 2,
        ..col
    };
    if !inline && !args.is_empty() {
        sub.one_line(vec![(Tag::Plain, args)], out);
    }
    let reason = sanitize_line(&ev.handoff_reason);
    let kind = sanitize_line(&ev.handoff_type);
    if !reason.is_empty() || !kind.is_empty() {
        let mut spans = vec![(Tag::Function, "↪ handoff ".to_string())];
        if !reason.is_empty() {
            spans.push((Tag::Plain, reason));
        }
        if !kind.is_empty() {
            spans.push((Tag::Dim, format!(" ({kind})")));
        }
        sub.one_line(spans, out);
    }
    let changes = state_changes(&ev.state_changes);
    if !changes.is_empty() {
        sub.one_line(vec![(Tag::Key, "state ".into()), (Tag::Plain, changes)], out);
    }
}

/// Spans cut with `…` to `room` columns.
fn fit_spans(spans: Vec<(Tag, String)>, room: usize) -> Vec<(Tag, String)> {
    let mut left = room;
    let mut out = Vec::new();
    for (tag, text) in spans {
        if left == 0 {
            break;
        }
        let t = truncate(&text, left);
        left -= width(&t);
        out.push((tag, t));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn texts(lines: &[Line]) -> Vec<String> {
        lines.iter().map(|l| l.text().trim_end().to_string()).collect()
    }

    const COL: Column = Column { indent: 4, cols: 60 };

    #[test]
    fn a_call_with_handoff_and_state_changes() {
        let ev = FunctionEvent {
            name: "transfer_call".into(),
            arguments: json!({"queue": "billing", "priority": 2}),
            duration: Some(1432.0),
            handoff_reason: "billing_question".into(),
            handoff_type: "warm".into(),
            state_changes: json!({"added": {"ticket": "T-9"}, "removed": ["hold"], "updated": {"tries": 3}}),
            ..Default::default()
        };
        let mut out = Vec::new();
        function_lines(&ev, COL, &mut out);
        assert_eq!(
            texts(&out),
            [
                "    ƒ transfer_call(priority=2, queue=\"billing\") 1.4 s",
                "      ↪ handoff billing_question (warm)",
                "      state +ticket=\"T-9\" · −hold · ~tries=3",
            ]
        );
        assert_eq!(out[0].spans[1].0, Tag::Function);
    }

    #[test]
    fn long_arguments_get_their_own_line_cut_to_the_width() {
        let ev = FunctionEvent {
            name: "lookup\u{1b}[31m".into(),
            arguments: json!({"query": "x".repeat(200)}),
            duration: Some(80.0),
            ..Default::default()
        };
        let mut out = Vec::new();
        function_lines(&ev, COL, &mut out);
        let t = texts(&out);
        assert_eq!(t[0], "    ƒ lookup␛ 80 ms");
        assert!(t[1].starts_with("      query=\"xxx") && t[1].ends_with('…'), "{t:?}");
        for l in &out {
            assert!(width(&l.text()) <= 60, "{:?}", l.text());
        }
    }

    #[test]
    fn a_very_long_name_keeps_the_duration() {
        let ev = FunctionEvent {
            name: "n".repeat(100),
            duration: Some(5.0),
            ..Default::default()
        };
        let mut out = Vec::new();
        function_lines(&ev, COL, &mut out);
        let t = texts(&out);
        assert!(t[0].ends_with("… 5 ms"), "{t:?}");
        assert!(width(&t[0]) <= 60);
    }

    #[test]
    fn odd_shapes_stay_readable() {
        assert_eq!(arguments(&json!(["a", 1])), "[\"a\", 1]");
        assert_eq!(arguments(&json!({})), "");
        assert_eq!(state_changes(&json!({"other": 1})), "{other: 1}");
        assert_eq!(state_changes(&json!("text\u{7}")), "\"text␇\"");
        assert_eq!(state_changes(&json!({"added": null})), "");
    }

    #[test]
    fn asr_details_only_where_they_differ() {
        let mut t = Turn {
            user_input: "Seven tonight if possible".into(),
            asr_corrected_user_input: "seven tonight, if possible.".into(),
            top_transcripts: vec!["Seven tonight if possible".into(), "heaven tonight if possible".into()],
            ..Default::default()
        };
        assert_eq!(correction(&t), None, "punctuation and case are not a correction");
        assert_eq!(hypotheses(&t), vec![(2, "heaven tonight if possible".to_string())]);
        t.top_transcripts.truncate(1);
        let mut out = Vec::new();
        asr_lines(&t, COL, &mut out);
        assert!(out.is_empty(), "{:?}", texts(&out));
        t.asr_corrected_user_input = "Seven tonight, if possible, for 5".into();
        t.retrieved_topics = vec!["opening_hours".into(), "".into(), "parking".into()];
        asr_lines(&t, COL, &mut out);
        assert_eq!(
            texts(&out),
            [
                "    ✎ corrected: Seven tonight, if possible, for 5",
                "    topics: opening_hours, parking",
            ]
        );
    }

    #[test]
    fn many_hypotheses_are_counted() {
        let t = Turn {
            user_input: "a".into(),
            top_transcripts: (0..7).map(|i| format!("alt {i}")).collect(),
            ..Default::default()
        };
        let mut out = Vec::new();
        asr_lines(&t, COL, &mut out);
        let t = texts(&out);
        assert_eq!(t[0], "    ≈ n-best 1. alt 0");
        assert_eq!(t[3], "             4. alt 3");
        assert_eq!(t[4], "             +3 more");
        assert_eq!(t.len(), 5);
    }

    #[test]
    fn safety_is_a_warning() {
        let t = Turn {
            safety_filters: vec!["azure_content_safety".into()],
            ..Default::default()
        };
        let mut out = Vec::new();
        safety_lines(&t, COL, &mut out);
        assert_eq!(texts(&out), ["    ⚠ safety: azure_content_safety"]);
        assert!(out[0].spans[1..].iter().all(|(tag, _)| *tag == Tag::Warn));
    }
}
