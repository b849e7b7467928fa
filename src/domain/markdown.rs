//! The one Markdown rendering of a conversation, used by `export --format md` (without marks),
//! `export --reviewed/--flagged/--filter --format md` and the TUI's `x` (with marks); each with
//! the call's saved scores when the local store has some.
//!
//! Layout: a heading, the call's facts, the review marks (when given), the summary, then the
//! transcript with one list item per line said: the caller's intents, entities, barge-in and
//! silences on the caller's line; the agent's latency only after something the caller said;
//! function calls and ratings under the turn they belong to.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::clock::clock;
use super::marks::Marks;
use super::scores::{ScoreRecord, current, saved_at_text, score_text};
use crate::api::Conversation;
use crate::api::model::{FunctionEvent, Turn};

/// One line of untrusted text, safe inside Markdown prose: escape sequences and controls made
/// visible (the TUI's sanitizer), whitespace runs (line breaks included) as one space, no raw
/// HTML, no table breaks.
pub fn inline(text: &str) -> String {
    crate::sanitize::sanitize_line(text)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('<', "&lt;")
        .replace('|', "\\|")
}

fn offset(start: Option<DateTime<Utc>>, at: Option<DateTime<Utc>>) -> String {
    match (start, at) {
        (Some(s), Some(a)) => format!("`{}`", clock((a - s).num_seconds())),
        _ => "`--:--`".into(),
    }
}

/// The conversation as Markdown; `marks` adds the review status, flags, note and per-turn ratings;
/// `studio_url` the call's link in Agent Studio (`crate::studio` builds it; rendering stays pure).
pub fn render(c: &Conversation, marks: Option<&Marks>, studio_url: Option<&str>) -> String {
    render_scored(c, marks, &[], studio_url)
}

/// As [`render`], with the call's saved scorecards ([`scores_section`]) just before the
/// transcript.
pub fn render_scored(
    c: &Conversation,
    marks: Option<&Marks>,
    scores: &[ScoreRecord],
    studio_url: Option<&str>,
) -> String {
    let mut md = String::new();
    let started = c
        .started_at
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| "unknown start".into());
    let channel = if c.channel.is_empty() {
        "unknown channel"
    } else {
        &c.channel
    };
    let _ = writeln!(md, "## {} — {} · {started}\n", inline(&c.id), inline(channel));
    facts(&mut md, c);
    if let Some(url) = studio_url {
        let _ = writeln!(md, "- [open in Agent Studio]({url})");
    }
    if let Some(m) = marks {
        review(&mut md, m);
    }
    summary(&mut md, c);
    md.push_str(&scores_section(scores));
    let _ = writeln!(md, "\n**Transcript**\n");
    if c.turns.is_empty() {
        let why = if c.is_odd("turns") {
            "could not be read (see the log)"
        } else if c.transcript_hidden() {
            "hidden: transcript visibility is off for this project (enable **Conversation transcript** \
             under **API Keys > Configuration** in Agent Studio)"
        } else {
            "not fetched"
        };
        let _ = writeln!(md, "_Transcript {why}._");
    }
    for (i, t) in c.turns.iter().enumerate() {
        turn(&mut md, c, i, t, marks);
    }
    md
}

fn facts(md: &mut String, c: &Conversation) {
    let mut facts = Vec::new();
    for (label, v) in [("project", &c.project_id), ("env", &c.environment)] {
        if !v.is_empty() {
            facts.push(format!("{label} {}", inline(v)));
        }
    }
    for v in [&c.direction, &c.language] {
        if !v.is_empty() {
            facts.push(inline(v));
        }
    }
    if let Some(d) = c.total_duration {
        facts.push(format!("duration {}", clock(d.into())));
    }
    if c.num_turns.is_some() || !c.is_odd("turns") {
        let n = c.turn_count();
        facts.push(format!("{n} turn{}", if n == 1 { "" } else { "s" }));
    }
    if c.in_progress {
        facts.push("in progress".into());
    }
    if !facts.is_empty() {
        let _ = writeln!(md, "- {}", facts.join(" · "));
    }
    if !c.from_number.is_empty() || !c.to_number.is_empty() {
        let _ = writeln!(md, "- from {} to {}", inline(&c.from_number), inline(&c.to_number));
    }
    if c.handoff {
        let mut h = String::from("- **Handoff**");
        if !c.handoff_reason.is_empty() {
            let _ = write!(h, ": {}", inline(&c.handoff_reason));
        }
        if !c.handoff_destination.is_empty() {
            let _ = write!(h, " → {}", inline(&c.handoff_destination));
        }
        let _ = writeln!(md, "{h}");
    }
    if let Some(score) = c.poly_score {
        let scale = c
            .poly_score_scale()
            .map(|s| format!(" (scale {s})"))
            .unwrap_or_default();
        let _ = writeln!(md, "- **PolyScore:** {score}{scale}");
    }
    if !c.tags.is_empty() {
        let tags: Vec<String> = c
            .tags
            .iter()
            .map(|t| format!("`{}`", inline(t).replace('`', "'")))
            .collect();
        let _ = writeln!(md, "- **Tags:** {}", tags.join(", "));
    }
    if !c.note.trim().is_empty() {
        let _ = writeln!(md, "- **Note in Agent Studio:** {}", inline(&c.note));
    }
    if !c.odd_fields.is_empty() {
        let names: Vec<&str> = c.odd_fields.iter().map(|o| o.field).collect();
        let _ = writeln!(md, "- could not be read (left out, see the log): {}", names.join(", "));
    }
}

fn review(md: &mut String, m: &Marks) {
    let _ = writeln!(md, "- **Review status:** {}", m.status.label());
    if !m.flags.is_empty() {
        let flags: Vec<String> = m
            .flags
            .iter()
            .map(|f| format!("`{}`", inline(f).replace('`', "'")))
            .collect();
        let _ = writeln!(md, "- **Flags:** {}", flags.join(", "));
    }
    if !m.note.trim().is_empty() {
        let _ = writeln!(md, "\n**Note:**");
        for line in crate::sanitize::sanitize_text(&m.note).lines() {
            let _ = writeln!(md, "> {}", line.replace('<', "&lt;"));
        }
    }
}

fn summary(md: &mut String, c: &Conversation) {
    let text = match (c.summary_heading.is_empty(), c.summary_content.is_empty()) {
        (false, false) => format!("**{}** — {}", inline(&c.summary_heading), inline(&c.summary_content)),
        (false, true) => format!("**{}**", inline(&c.summary_heading)),
        (true, false) => inline(&c.summary_content),
        (true, true) => inline(&c.short_summary),
    };
    if !text.is_empty() {
        let _ = writeln!(md, "\n**Summary:** {text}");
    }
}

fn turn(md: &mut String, c: &Conversation, i: usize, t: &Turn, marks: Option<&Marks>) {
    let said = !t.user_input.trim().is_empty() || !t.user_input_dtmf.is_empty();
    let mut wrote = false;
    if said || t.is_silence {
        let mut text = inline(&t.user_input);
        if !t.user_input_dtmf.is_empty() {
            text = format!("{text} [DTMF {}]", inline(&t.user_input_dtmf))
                .trim()
                .to_string();
        }
        if text.is_empty() {
            text = "_(silence)_".into();
        }
        let mut notes = Vec::new();
        if t.barge_in {
            notes.push("barge-in".to_string());
        }
        if t.is_silence && said {
            notes.push("silence".into());
        }
        if !t.intents.is_empty() {
            notes.push(format!("intent {}", inline(&t.intents.join(", "))));
        }
        for e in &t.entities {
            notes.push(format!("{}={}", inline(&e.name), inline(&e.values.join("|"))));
        }
        if t.is_ood {
            notes.push("out of domain".into());
        }
        let _ = writeln!(
            md,
            "- {} **User:** {text}{}",
            offset(c.started_at, t.user_input_datetime),
            aside(&notes)
        );
        if !t.translated_user_input.is_empty() {
            let _ = writeln!(md, "  - translated: {}", inline(&t.translated_user_input));
        }
        wrote = true;
    }
    if !t.agent_response.trim().is_empty() {
        let mut notes = Vec::new();
        // A latency measures the wait after the caller spoke: none on a greeting.
        if let Some(l) = t.latency.filter(|l| said && l.is_finite() && *l > 0.0) {
            notes.push(format!("{l:.2}s"));
        }
        if t.barge_in && !wrote {
            notes.push("barge-in".into());
        }
        let _ = writeln!(
            md,
            "- {} **Agent:** {}{}",
            offset(c.started_at, t.agent_response_datetime),
            inline(&t.agent_response),
            aside(&notes)
        );
        if !t.english_agent_response.is_empty() {
            let _ = writeln!(md, "  - in English: {}", inline(&t.english_agent_response));
        }
        wrote = true;
    }
    let indent = if wrote { "  " } else { "" };
    for e in &t.function_events {
        let _ = writeln!(md, "{indent}- {}", function_call(e));
    }
    if let Some(r) = marks.and_then(|m| u32::try_from(i).ok().and_then(|i| m.turns.get(&i))) {
        let mut line = format!("{indent}- {} turn {}", r.thumbs.emoji(), i + 1);
        if let Some(reason) = r.reason {
            let _ = write!(line, ": {}", reason.label());
        }
        if !r.comment.trim().is_empty() {
            let _ = write!(line, " — {}", inline(&r.comment));
        }
        let _ = writeln!(md, "{line}");
    }
}

fn aside(notes: &[String]) -> String {
    if notes.is_empty() {
        String::new()
    } else {
        format!(" _({})_", notes.join("; "))
    }
}

/// `name = value` pairs of an object, else the value's JSON text.
fn pairs(v: &Value) -> String {
    match v {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", "),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `function lookup_booking(booking_ref="BK-1234") · 412 ms · handoff payment_dispute (warm) · state: added …`
fn function_call(e: &FunctionEvent) -> String {
    let name = if e.name.is_empty() { "(unnamed)" } else { &e.name };
    let mut parts = vec![format!(
        "function **{}**({})",
        inline(name),
        inline(&if e.arguments.is_null() {
            String::new()
        } else {
            pairs(&e.arguments)
        })
    )];
    if let Some(ms) = e.duration {
        parts.push(format!("{ms:.0} ms"));
    }
    if !e.handoff_reason.is_empty() || !e.handoff_type.is_empty() {
        let mut h = vec!["handoff".to_string()];
        if !e.handoff_reason.is_empty() {
            h.push(inline(&e.handoff_reason));
        }
        if !e.handoff_type.is_empty() {
            h.push(format!("({})", inline(&e.handoff_type)));
        }
        parts.push(h.join(" "));
    }
    let changes: Vec<String> = match &e.state_changes {
        Value::Object(map) => ["added", "removed", "updated"]
            .iter()
            .filter_map(|k| {
                let v = map.get(*k)?;
                let empty = v.is_null() || v.as_object().is_some_and(|o| o.is_empty());
                (!empty).then(|| format!("{k} {}", inline(&pairs(v))))
            })
            .collect(),
        Value::Null => Vec::new(),
        other => vec![inline(&other.to_string())],
    };
    if !changes.is_empty() {
        parts.push(format!("state: {}", changes.join("; ")));
    }
    parts.join(" · ")
}

/// `**Scorecards**` with each current save of a call (by scorecard, then reviewer) and its
/// answers; empty for a call never scored.
pub fn scores_section(records: &[ScoreRecord]) -> String {
    let cur = current(records);
    let mut md = String::new();
    if cur.is_empty() {
        return md;
    }
    let _ = writeln!(md, "\n**Scorecards**\n");
    for r in cur {
        let _ = writeln!(
            md,
            "- `{}` by {} at {}: **{}**",
            inline(&r.scorecard).replace('`', "'"),
            inline(&r.reviewer),
            saved_at_text(r.at_ms),
            score_text(r.score, r.auto_failed)
        );
        for (id, a) in &r.answers {
            let answer = if a.answer.is_empty() {
                "unanswered"
            } else {
                a.answer.as_str()
            };
            let mut line = format!("  - {}: {}", inline(id), inline(answer));
            if let Some(t) = a.turn {
                let _ = write!(line, " (turn {})", t + 1);
            }
            if !a.comment.trim().is_empty() {
                let _ = write!(line, " — {}", inline(&a.comment));
            }
            let _ = writeln!(md, "{line}");
        }
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::marks::{RatingReason, Thumbs, TurnRating};

    fn by_id() -> Conversation {
        serde_json::from_str(include_str!("../../tests/fixtures/real/by_id_platform.json")).unwrap()
    }

    #[test]
    fn the_real_object_as_markdown() {
        let mut marks = Marks::default();
        marks.turns.insert(
            1,
            TurnRating {
                thumbs: Thumbs::Down,
                reason: Some(RatingReason::WrongInformation),
                comment: "quote the booking".into(),
            },
        );
        insta::assert_snapshot!(render(&by_id(), Some(&marks), None));
    }

    /// Issue 12 item 5: the caller's intent on the caller's line (not the next agent line),
    /// entities, barge-in and silences shown, no latency on the greeting.
    #[test]
    fn the_callers_notes_are_on_the_callers_line() {
        let md = render(&by_id(), None, None);
        let line = |needle: &str| {
            md.lines()
                .find(|l| l.contains(needle))
                .unwrap_or_else(|| panic!("{needle}: {md}"))
        };
        let caller = line("**User:** I was charged twice");
        assert!(
            caller.contains("intent billing_dispute") && caller.contains("booking_ref=BK-1234"),
            "{caller}"
        );
        let agent = line("**Agent:** I'm sorry about that");
        assert!(agent.contains("(1.42s)") && !agent.contains("intent"), "{agent}");
        let greeting = line("**Agent:** Hello, you're through");
        assert!(!greeting.contains("0.00s") && !greeting.contains("s)_"), "{greeting}");
        assert!(line("**User:** Yes, and I want").contains("barge-in; intent refund_request; amount=money"));
        assert!(line("**User:** _(silence)_").starts_with("- `01:29`"), "{md}");
        assert!(
            line("function **lookup_booking**").starts_with("  - "),
            "under its turn"
        );
        assert!(!md.contains("Review status"), "no marks, no review lines");
    }
}
