//! The detail pane's view model: metadata and the transcript laid out turn by turn for one
//! width. Built once per (conversation, width, toggles) in `update`; rendering only slices it.

use chrono::{DateTime, FixedOffset, Utc};

use super::turn_extras;
use crate::api::{Conversation, Turn};
use crate::domain::Speaker;
use crate::domain::clock::clock;
use crate::sanitize::{sanitize_line, sanitize_text, width, wrap};

pub use super::line::{Line, Tag};

/// What the transcript shows besides the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Toggles {
    pub intents: bool,
    pub translation: bool,
    /// Function calls under their turn: on by default (a reviewer needs them).
    pub functions: bool,
    /// The ASR correction, n-best hypotheses and retrieved topics: off by default.
    pub asr: bool,
}

impl Default for Toggles {
    fn default() -> Self {
        Toggles {
            intents: true,
            translation: false,
            functions: true,
            asr: false,
        }
    }
}

/// Latency thresholds (seconds): below OK is green, below WARN yellow, else red.
pub const LATENCY_OK: f64 = 1.0;
pub const LATENCY_WARN: f64 = 2.0;

pub fn latency_tag(secs: f64) -> Tag {
    if secs < LATENCY_OK {
        Tag::LatencyOk
    } else if secs < LATENCY_WARN {
        Tag::LatencyWarn
    } else {
        Tag::LatencyBad
    }
}

/// `👎 wrong information`, `👍 good`: a turn rating in words (the transcript and the `b` picker).
pub fn rating_summary(thumbs: crate::domain::Thumbs, reason: Option<crate::domain::RatingReason>) -> String {
    let what = match (thumbs, reason) {
        (_, Some(r)) => r.label(),
        (crate::domain::Thumbs::Up, None) => "good",
        (crate::domain::Thumbs::Down, None) => "bad",
    };
    format!("{} {what}", thumbs.emoji())
}

/// Inserts the review marks: status, flags, note (and a count of turn ratings) as metadata
/// lines at the end of the metadata block, each turn's rating under that turn; keeps
/// `turn_starts` pointing at their turns. `unsaved` (marks not in the store yet) comes first,
/// in the warning colour.
pub fn insert_marks(view: &mut View, marks: &crate::domain::Marks, unsaved: Option<&str>) {
    if marks.is_empty() && unsaved.is_none() {
        return;
    }
    insert_ratings(view, marks);
    insert_meta(view, |b| {
        if let Some(text) = unsaved {
            let from = b.lines.len();
            b.meta("unsaved", text);
            for line in &mut b.lines[from..] {
                if let Some(value) = line.spans.get_mut(1) {
                    value.0 = Tag::Warn;
                }
            }
        }
        if !marks.is_empty() {
            b.meta("review", marks.status.label());
        }
        let flags: Vec<&str> = marks.flags.iter().map(String::as_str).collect();
        b.meta("flags", &flags.join(", "));
        b.meta("note", &marks.note);
        b.meta("ratings", &rating_counts(marks));
    });
}

/// The `qa` line under the marks: each current save, `76.8 voice-qa by ann@acme`, lowest
/// score first (what `qa<N` is about); nothing for a call never scored.
pub fn insert_scores(view: &mut View, records: &[crate::domain::ScoreRecord]) {
    if records.is_empty() {
        return;
    }
    let mut sorted: Vec<&crate::domain::ScoreRecord> = records.iter().collect();
    sorted.sort_by(|a, b| {
        let key = |r: &crate::domain::ScoreRecord| if r.auto_failed { Some(0.0) } else { r.score };
        match (key(a), key(b)) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            (x, y) => y.is_some().cmp(&x.is_some()),
        }
    });
    let text: Vec<String> = sorted
        .iter()
        .map(|r| {
            format!(
                "{} {} by {}",
                crate::domain::scores::score_text(r.score, r.auto_failed),
                r.scorecard,
                r.reviewer
            )
        })
        .collect();
    insert_meta(view, |b| b.meta("qa", &text.join(" · ")));
}

/// Lines `fill` writes, inserted at the end of the metadata block (before the first blank
/// line); keeps `turn_starts` pointing at their turns.
fn insert_meta(view: &mut View, fill: impl FnOnce(&mut Builder<'_>)) {
    let mut extra = Vec::new();
    fill(&mut Builder {
        cols: view.cols.max(20) as usize,
        tz: chrono::Offset::fix(&Utc),
        start: None,
        lines: &mut extra,
    });
    let at = view
        .lines
        .iter()
        .position(|l| l.spans.is_empty())
        .unwrap_or(view.lines.len());
    let n = extra.len();
    view.lines.splice(at..at, extra);
    for t in &mut view.turn_starts {
        if *t >= at {
            *t += n;
        }
    }
}

/// `2 👍 · 1 👎`, empty without ratings.
fn rating_counts(marks: &crate::domain::Marks) -> String {
    use crate::domain::Thumbs;
    let count = |t: Thumbs| marks.turns.values().filter(|r| r.thumbs == t).count();
    [Thumbs::Up, Thumbs::Down]
        .into_iter()
        .map(|t| (count(t), t))
        .filter(|(n, _)| *n > 0)
        .map(|(n, t)| format!("{n} {}", t.emoji()))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// Each rating as lines at the end of its turn, under the text column: `👎 wrong information
/// — comment…`, the comment sanitized and wrapped. Ratings of turns the view lacks are skipped.
fn insert_ratings(view: &mut View, marks: &crate::domain::Marks) {
    let cols = view.cols.max(20) as usize;
    // From the last turn back, so the positions still to use do not move.
    for (&turn, r) in marks.turns.iter().rev() {
        let turn = turn as usize;
        if turn >= view.turn_starts.len() {
            continue;
        }
        let end = view.turn_starts.get(turn + 1).copied().unwrap_or(view.lines.len());
        let lines = rating_lines(r, cols);
        let n = lines.len();
        view.lines.splice(end..end, lines);
        for t in &mut view.turn_starts[turn + 1..] {
            *t += n;
        }
    }
}

fn rating_lines(r: &crate::domain::TurnRating, cols: usize) -> Vec<Line> {
    let indent = if cols >= 70 { 21 } else { 12 };
    let tag = match r.thumbs {
        crate::domain::Thumbs::Up => Tag::RatedUp,
        crate::domain::Thumbs::Down => Tag::RatedDown,
    };
    let head = rating_summary(r.thumbs, r.reason);
    let comment = sanitize_line(&r.comment);
    let text = if comment.is_empty() {
        head.clone()
    } else {
        format!("{head} — {comment}")
    };
    wrap(&text, cols.saturating_sub(indent).max(10))
        .into_iter()
        .enumerate()
        .map(|(i, part)| {
            // The verdict in its colour, the comment plain.
            let mut line = Line::new().push(Tag::Plain, " ".repeat(indent));
            match part.strip_prefix(head.as_str()).filter(|_| i == 0) {
                Some(rest) => {
                    line = line.push(tag, head.clone());
                    if !rest.is_empty() {
                        line = line.push(Tag::Plain, rest);
                    }
                }
                None => line = line.push(Tag::Plain, part),
            }
            line
        })
        .collect()
}

/// `["a", "b"]` sanitized and joined, blanks left out.
fn list(items: &[String], sep: &str) -> String {
    items
        .iter()
        .map(|s| sanitize_line(s))
        .filter(|s| !s.trim().is_empty())
        .collect::<Vec<_>>()
        .join(sep)
}

/// Splits the model's `heading: content` summary. A plain summary that happens to hold a colon
/// is left whole unless what precedes it reads as a heading (a few words, no sentence end).
pub fn split_summary(text: &str) -> Option<(&str, &str)> {
    let (heading, content) = text.split_once(": ")?;
    let (heading, content) = (heading.trim(), content.trim());
    let heading_like =
        !heading.is_empty() && heading.split_whitespace().count() <= 8 && !heading.contains(['.', '?', '!', ':']);
    (heading_like && !content.is_empty()).then_some((heading, content))
}

/// The quickstart's diagnosis for `num_turns > 0` with no turns.
pub const HIDDEN_DIAGNOSIS: [&str; 2] = [
    "Transcript hidden: the API returned no turns for a conversation that has some.",
    "Transcript visibility is off for this API key: in Agent Studio, enable Conversation transcript under API Keys > Configuration, then press r.",
];

/// The laid-out detail pane.
#[derive(Debug, Clone, PartialEq)]
pub struct View {
    pub id: String,
    pub cols: u16,
    pub toggles: Toggles,
    pub lines: Vec<Line>,
    /// Line index where each turn starts (for highlighting the spoken turn during playback).
    pub turn_starts: Vec<usize>,
    /// Per turn, what turn-by-turn moves look for (same index as `turn_starts`).
    pub turn_facts: Vec<TurnFacts>,
}

/// What the turn keys need of a turn, kept with the layout so they never walk the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TurnFacts {
    /// The caller said or keyed something.
    pub caller: bool,
    /// The latency shown for it (a greeting has none).
    pub latency: Option<f64>,
}

impl TurnFacts {
    pub fn of(t: &Turn) -> TurnFacts {
        let caller = !t.user_input.is_empty() || !t.user_input_dtmf.is_empty();
        // Latency measures the answer to a user input; the greeting has none.
        let answered = caller || t.is_silence;
        TurnFacts {
            caller,
            latency: t.latency.filter(|l| answered && l.is_finite()),
        }
    }
}

struct Builder<'a> {
    cols: usize,
    tz: FixedOffset,
    start: Option<DateTime<Utc>>,
    lines: &'a mut Vec<Line>,
}

impl Builder<'_> {
    fn meta(&mut self, key: &str, value: &str) {
        if value.is_empty() {
            return;
        }
        let key_w = 10;
        let mut first = true;
        for part in wrap(&sanitize_line(value), self.cols.saturating_sub(key_w).max(8)) {
            let k = if first {
                format!("{key:<key_w$}")
            } else {
                " ".repeat(key_w)
            };
            first = false;
            self.lines.push(Line::new().push(Tag::Key, k).push(Tag::Plain, part));
        }
    }

    /// A metadata line of styled spans, cut to the width (short values: a score).
    fn meta_spans(&mut self, key: &str, spans: Vec<(Tag, String)>) {
        let key_w = 10;
        let mut line = Line::new().push(Tag::Key, format!("{key:<key_w$}"));
        let mut room = self.cols.saturating_sub(key_w);
        for (tag, text) in spans {
            let t = crate::sanitize::truncate(&sanitize_line(&text), room);
            room -= width(&t);
            line = line.push(tag, t);
        }
        self.lines.push(line);
    }

    /// `heading: content` (how the model keeps `{heading, content}`): the heading on its own
    /// line in the title style, the content wrapped under it.
    /// The heading and content as sent apart (`{heading, content}`), else split from a string.
    fn summary(&mut self, c: &Conversation) {
        let (heading, content) = (sanitize_line(&c.summary_heading), sanitize_line(&c.summary_content));
        if !heading.trim().is_empty() {
            self.meta_spans("summary", vec![(Tag::Title, heading)]);
            if !content.trim().is_empty() {
                self.meta("", &content);
            }
            return;
        }
        let text = sanitize_line(&c.short_summary);
        let Some((heading, content)) = split_summary(&text) else {
            self.meta("summary", &text);
            return;
        };
        self.meta_spans("summary", vec![(Tag::Title, heading.to_string())]);
        self.meta("", content);
    }

    /// Agent Studio's note, labelled so it is not taken for callscope's own review note.
    fn studio_note(&mut self, note: &str) {
        let note = sanitize_line(note);
        if note.trim().is_empty() {
            return;
        }
        let from = self.lines.len();
        self.meta("studio", &format!("note: {note}"));
        // "note:" is the label's second half: dim, like the key.
        if let Some(value) = self.lines[from].spans.get_mut(1)
            && let Some(rest) = value.1.strip_prefix("note:")
        {
            let rest = rest.to_string();
            value.0 = Tag::Key;
            value.1 = "note:".into();
            self.lines[from].spans.push((Tag::Plain, rest));
        }
    }

    /// A speaker's utterance: `00:06 09:15:08 USER  text…`, wrapped under the text column.
    fn utterance(&mut self, at: Option<DateTime<Utc>>, who: Tag, label: &str, text: &str, text_tag: Tag) {
        let offset = match (at, self.start) {
            (Some(t), Some(s)) => clock((t - s).num_seconds()),
            _ => "--:--".into(),
        };
        let wall = self.cols >= 70;
        let mut prefix = vec![(Tag::Time, format!("{offset} "))];
        if wall {
            let w = at
                .map(|t| t.with_timezone(&self.tz).format("%H:%M:%S ").to_string())
                .unwrap_or_else(|| "         ".into());
            prefix.push((Tag::Dim, w));
        }
        prefix.push((who, format!("{label:<6}")));
        let indent: usize = prefix.iter().map(|(_, s)| width(s)).sum();
        let text_cols = self.cols.saturating_sub(indent).max(10);
        for (i, part) in wrap(text, text_cols).into_iter().enumerate() {
            let mut line = Line::default();
            if i == 0 {
                line.spans.extend(prefix.iter().cloned());
            } else {
                line.spans.push((Tag::Plain, " ".repeat(indent)));
            }
            line.spans.push((text_tag, part));
            line.said_by = match who {
                Tag::User => Some(Speaker::User),
                Tag::Agent => Some(Speaker::Agent),
                _ => None,
            };
            self.lines.push(line);
        }
    }

    /// Where the text column starts: after the offset, the wall clock (from 70 columns) and
    /// the speaker.
    fn indent(&self) -> usize {
        if self.cols >= 70 { 21 } else { 12 }
    }

    /// An annotation under an utterance, aligned with the text column.
    fn note(&mut self, spans: Vec<(Tag, String)>) {
        if spans.is_empty() {
            return;
        }
        let indent = self.indent();
        let mut line = Line::new().push(Tag::Plain, " ".repeat(indent));
        let mut used = indent;
        for (tag, text) in spans {
            let w = width(&text) + 2;
            if used + w > self.cols && used > indent {
                self.lines.push(std::mem::take(&mut line));
                line = Line::new().push(Tag::Plain, " ".repeat(indent));
                used = indent;
            }
            line.spans.push((tag, text));
            line.spans.push((Tag::Plain, "  ".into()));
            used += w;
        }
        self.lines.push(line);
    }

    fn turn(&mut self, t: &Turn, toggles: Toggles) {
        let user = sanitize_text(&t.user_input);
        let dtmf = sanitize_line(&t.user_input_dtmf);
        if t.is_silence && user.is_empty() {
            self.utterance(t.user_input_datetime, Tag::User, "USER", "(silence)", Tag::Marker);
        } else if !user.is_empty() {
            self.utterance(t.user_input_datetime, Tag::User, "USER", &user, Tag::Plain);
        }
        if !dtmf.is_empty() {
            self.utterance(
                t.user_input_datetime,
                Tag::User,
                "DTMF",
                &format!("⌨ {dtmf}"),
                Tag::Dtmf,
            );
        }
        let mut notes = Vec::new();
        if toggles.translation {
            let tr = sanitize_line(&t.translated_user_input);
            if !tr.is_empty() && tr != sanitize_line(&t.user_input) {
                notes.push((Tag::Translation, format!("⇢ {tr}")));
            }
        }
        if toggles.intents {
            if !t.intents.is_empty() {
                let intents: Vec<String> = t.intents.iter().map(|i| sanitize_line(i)).collect();
                notes.push((Tag::Intent, format!("intent: {}", intents.join(", "))));
            }
            for e in &t.entities {
                let vals: Vec<String> = e.values.iter().map(|v| sanitize_line(v)).collect();
                notes.push((Tag::Entity, format!("{}={}", sanitize_line(&e.name), vals.join("|"))));
            }
        }
        if let Some(l) = TurnFacts::of(t).latency {
            notes.push((latency_tag(l), format!("{l:.2}s")));
        }
        if t.is_ood {
            notes.push((Tag::Warn, "⚠ out of domain".into()));
        }
        if t.is_silence && !user.is_empty() {
            notes.push((Tag::Marker, "… silence".into()));
        }
        if t.barge_in {
            notes.push((Tag::Marker, "↯ barge-in".into()));
        }
        // Hidden details leave a trace, so a reviewer knows a toggle would show something.
        if !toggles.functions
            && let Some(calls) = turn_extras::hidden_calls(t)
        {
            notes.push((Tag::Dim, calls));
        }
        if !toggles.asr && turn_extras::correction(t).is_some() {
            notes.push((Tag::Dim, "✎ asr".into()));
        }
        self.note(notes);
        let col = turn_extras::Column {
            indent: self.indent(),
            cols: self.cols,
        };
        turn_extras::safety_lines(t, col, self.lines);
        if toggles.asr {
            turn_extras::asr_lines(t, col, self.lines);
        }
        if toggles.functions {
            for ev in &t.function_events {
                turn_extras::function_lines(ev, col, self.lines);
            }
        }
        let agent = sanitize_text(&t.agent_response);
        if !agent.is_empty() {
            self.utterance(t.agent_response_datetime, Tag::Agent, "AGENT", &agent, Tag::Plain);
            if toggles.translation {
                let en = sanitize_line(&t.english_agent_response);
                if !en.is_empty() && en != sanitize_line(&t.agent_response) {
                    self.note(vec![(Tag::Translation, format!("⇢ {en}"))]);
                }
            }
        }
    }
}

/// Lays out a conversation's metadata and transcript for `cols` columns.
pub fn build(c: &Conversation, cols: u16, toggles: Toggles, tz: FixedOffset) -> View {
    let mut lines = Vec::new();
    let mut turn_starts = Vec::with_capacity(c.turns.len());
    let mut b = Builder {
        cols: cols.max(20) as usize,
        tz,
        start: c.started_at,
        lines: &mut lines,
    };
    b.meta("id", &c.id);
    // What a reviewer reads first: PolyAI's summary and score, the tags, Studio's note.
    b.summary(c);
    if let Some(score) = c.poly_score {
        let (text, tag) = super::score::label(score, c.started_at.or(c.finished_at));
        b.meta_spans("polyscore", vec![(tag, text)]);
    }
    b.meta("tags", &list(&c.tags, " · "));
    b.studio_note(&c.note);
    let start = c
        .started_at
        .map(|t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S %:z").to_string())
        .unwrap_or_default();
    let duration = c.total_duration.map(|d| clock(d as i64)).unwrap_or_default();
    let mut channel = sanitize_line(&c.channel);
    if !c.environment.is_empty() {
        channel = format!("{channel} · {}", sanitize_line(&c.environment));
    }
    for extra in [&c.direction, &c.language] {
        let extra = sanitize_line(extra);
        if !extra.trim().is_empty() {
            channel = format!("{channel} · {extra}");
        }
    }
    if c.in_progress {
        channel.push_str(" · in progress");
    }
    b.meta("channel", &channel);
    b.meta("start", &start);
    b.meta("duration", &duration);
    if !c.from_number.is_empty() || !c.to_number.is_empty() {
        b.meta(
            "from → to",
            &format!("{} → {}", sanitize_line(&c.from_number), sanitize_line(&c.to_number)),
        );
    }
    let variant = match (c.variant_name.is_empty(), c.variant_id.is_empty()) {
        (false, false) => format!("{} ({})", c.variant_name, c.variant_id),
        (false, true) => c.variant_name.clone(),
        (true, false) => c.variant_id.clone(),
        (true, true) => String::new(),
    };
    b.meta("variant", &variant);
    if c.handoff {
        let mut h = if c.handoff_reason.is_empty() {
            "yes".to_string()
        } else {
            c.handoff_reason.clone()
        };
        if !c.handoff_destination.is_empty() {
            h = format!("{h} → {}", c.handoff_destination);
        }
        b.meta("handoff", &h);
    }
    let mut counts = crate::output::count(u64::from(c.turn_count()), "turn");
    if let Some(s) = c.num_silences {
        counts.push_str(&format!(" · {s} silence{}", if s == 1 { "" } else { "s" }));
    }
    if let Some(o) = c.num_ood {
        counts.push_str(&format!(" · {o} out of domain"));
    }
    b.meta("turns", &counts);
    if !c.metrics.is_empty() {
        let m: Vec<String> = c.metrics.iter().map(|(k, v)| format!("{k}={}", v.join("|"))).collect();
        b.meta("metrics", &m.join(" · "));
    }
    // Fields sent in a shape that could not be read: shown as sent (sanitized by `meta`).
    let unread: Vec<String> = c
        .odd_fields
        .iter()
        .map(|o| format!("{} = {}", o.field, o.raw))
        .collect();
    b.meta("unread", &unread.join(" · "));
    b.lines.push(Line::default());
    if c.transcript_hidden() {
        for (i, l) in HIDDEN_DIAGNOSIS.iter().enumerate() {
            let tag = if i == 0 { Tag::Warn } else { Tag::Plain };
            for part in wrap(l, b.cols) {
                b.lines.push(Line::new().push(tag, part));
            }
        }
    } else if c.turns.is_empty() {
        b.lines.push(Line::new().push(Tag::Dim, "(no turns)"));
    }
    for t in &c.turns {
        turn_starts.push(b.lines.len());
        b.turn(t, toggles);
    }
    View {
        id: c.id.clone(),
        cols,
        toggles,
        lines,
        turn_starts,
        turn_facts: c.turns.iter().map(TurnFacts::of).collect(),
    }
}

/// The transcript as plain text, for copying.
pub fn plain_text(c: &Conversation) -> String {
    let mut out = String::new();
    let off = |t: Option<DateTime<Utc>>| match (t, c.started_at) {
        (Some(t), Some(s)) => clock((t - s).num_seconds()),
        _ => "--:--".into(),
    };
    for t in &c.turns {
        if !t.user_input.is_empty() {
            out.push_str(&format!(
                "[{}] USER: {}\n",
                off(t.user_input_datetime),
                sanitize_line(&t.user_input)
            ));
        }
        if !t.user_input_dtmf.is_empty() {
            out.push_str(&format!(
                "[{}] DTMF: {}\n",
                off(t.user_input_datetime),
                sanitize_line(&t.user_input_dtmf)
            ));
        }
        if !t.agent_response.is_empty() {
            out.push_str(&format!(
                "[{}] AGENT: {}\n",
                off(t.agent_response_datetime),
                sanitize_line(&t.agent_response)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Option<DateTime<Utc>> {
        crate::api::model::parse_time(s)
    }

    fn sample() -> Conversation {
        Conversation {
            id: "CA1".into(),
            channel: "VOICE-SIP".into(),
            started_at: t("2026-04-01T09:15:00Z"),
            num_turns: Some(2),
            turns: vec![
                Turn {
                    agent_response: "Hi, how can I help?".into(),
                    agent_response_datetime: t("2026-04-01T09:15:01Z"),
                    ..Default::default()
                },
                Turn {
                    user_input: "Book a \u{1b}[31mtable\u{1b}[0m".into(),
                    user_input_datetime: t("2026-04-01T09:15:06Z"),
                    agent_response: "Sure".into(),
                    agent_response_datetime: t("2026-04-01T09:15:09Z"),
                    latency: Some(2.5),
                    intents: vec!["book_table".into()],
                    ..Default::default()
                },
            ],
            ..Default::default()
        }
    }

    #[test]
    fn lays_out_turns_with_offsets_and_sanitized_text() {
        let on = Toggles {
            intents: true,
            translation: true,
            ..Toggles::default()
        };
        let v = build(&sample(), 50, on, FixedOffset::east_opt(0).unwrap());
        let text: Vec<String> = v.lines.iter().map(Line::text).collect();
        assert!(
            text.iter().any(|l| l.starts_with("00:06 USER  Book a ␛table␛")),
            "{text:#?}"
        );
        assert!(
            text.iter()
                .any(|l| l.contains("intent: book_table") && l.contains("2.50s"))
        );
        assert_eq!(v.turn_starts.len(), 2);
        assert!(
            v.lines
                .iter()
                .flat_map(|l| &l.spans)
                .any(|(tag, _)| *tag == Tag::LatencyBad)
        );
        let off = Toggles {
            intents: false,
            translation: false,
            ..Toggles::default()
        };
        let v = build(&sample(), 50, off, FixedOffset::east_opt(0).unwrap());
        assert!(!v.lines.iter().any(|l| l.text().contains("intent:")));
    }

    #[test]
    fn a_summary_splits_at_its_heading_only() {
        assert_eq!(
            split_summary("Table booking: Booked for four."),
            Some(("Table booking", "Booked for four."))
        );
        assert_eq!(split_summary("The caller was upset. Reason: billing"), None);
        assert_eq!(
            split_summary("Booked a table for four at seven: all good"),
            Some(("Booked a table for four at seven", "all good"))
        );
        assert_eq!(split_summary("one two three four five six seven eight nine: x"), None);
        assert_eq!(split_summary("Heading only: "), None);
        assert_eq!(split_summary("no colon at all"), None);
    }

    #[test]
    fn hidden_transcript_shows_the_diagnosis() {
        let mut c = sample();
        c.turns.clear();
        let v = build(
            &c,
            60,
            Toggles {
                intents: true,
                translation: false,
                ..Toggles::default()
            },
            FixedOffset::east_opt(0).unwrap(),
        );
        let all: String = v.lines.iter().map(|l| l.text().trim_end().to_string() + " ").collect();
        assert!(all.contains("Conversation transcript"), "{all}");
        assert!(all.contains("API Keys > Configuration"), "{all}");
    }

    #[test]
    fn lines_fit_the_width() {
        let mut c = sample();
        c.turns[1].user_input = "東京 ".repeat(40);
        let v = build(
            &c,
            40,
            Toggles {
                intents: true,
                translation: true,
                ..Toggles::default()
            },
            FixedOffset::east_opt(0).unwrap(),
        );
        for l in &v.lines {
            assert!(width(&l.text()) <= 40, "{:?}", l.text());
        }
    }

    #[test]
    fn plain_text_for_copy() {
        assert_eq!(
            plain_text(&sample()),
            "[00:01] AGENT: Hi, how can I help?\n[00:06] USER: Book a ␛table␛\n[00:09] AGENT: Sure\n"
        );
    }

    #[test]
    fn ratings_go_under_their_turns() {
        use crate::domain::{Marks, RatingReason, Thumbs, TurnRating};
        let on = Toggles {
            intents: false,
            translation: false,
            ..Toggles::default()
        };
        let plain = build(&sample(), 50, on, FixedOffset::east_opt(0).unwrap());
        let mut v = plain.clone();
        let marks = Marks {
            turns: [
                (
                    0,
                    TurnRating {
                        thumbs: Thumbs::Down,
                        reason: Some(RatingReason::Latency),
                        comment: "slow\ngreeting".into(),
                    },
                ),
                (
                    7,
                    TurnRating {
                        thumbs: Thumbs::Up,
                        reason: None,
                        comment: String::new(),
                    },
                ),
            ]
            .into(),
            ..Marks::default()
        };
        insert_marks(&mut v, &marks, None);
        let texts: Vec<String> = v.lines.iter().map(Line::text).collect();
        // Metadata gains "review" and "ratings"; turn 0 gains one rating line; turn 7 does not exist.
        assert_eq!(v.lines.len(), plain.lines.len() + 3, "{texts:#?}");
        assert!(
            texts
                .iter()
                .any(|l| l.starts_with("ratings") && l.ends_with("1 👍 · 1 👎"))
        );
        let rating = v.turn_starts[1] - 1;
        assert_eq!(
            texts[rating].trim(),
            "👎 latency — slow greeting",
            "one line: the newline became a space"
        );
        assert_eq!(v.lines[rating].spans[1].0, Tag::RatedDown);
        assert_eq!(v.lines[v.turn_starts[1]], plain.lines[plain.turn_starts[1]]);
        // The count is of the marks; the rating of a turn the transcript lacks is not drawn.
        assert_eq!(texts.iter().filter(|l| l.contains('👍')).count(), 1);
    }

    #[test]
    fn marks_go_under_the_metadata_and_turns_shift() {
        let on = Toggles {
            intents: true,
            translation: false,
            ..Toggles::default()
        };
        let plain = build(&sample(), 50, on, FixedOffset::east_opt(0).unwrap());
        let mut v = plain.clone();
        insert_marks(&mut v, &crate::domain::Marks::default(), None);
        assert_eq!(v, plain, "no marks, no lines");
        let marks = crate::domain::Marks {
            status: crate::domain::ReviewStatus::NeedsFollowUp,
            flags: ["latency".to_string()].into(),
            note: "call back\u{1b}[2J".into(),
            ..Default::default()
        };
        insert_marks(&mut v, &marks, None);
        let blank = plain.lines.iter().position(|l| l.spans.is_empty()).unwrap();
        let texts: Vec<String> = v.lines[blank..blank + 3].iter().map(Line::text).collect();
        assert!(texts[0].starts_with("review") && texts[0].ends_with("needs follow-up"));
        assert!(texts[1].ends_with("latency"));
        assert!(
            texts[2].starts_with("note") && !texts[2].contains('\u{1b}'),
            "{}",
            texts[2]
        );
        let shifted: Vec<usize> = plain.turn_starts.iter().map(|t| t + 3).collect();
        assert_eq!(v.turn_starts, shifted);
        assert_eq!(v.lines[shifted[0]], plain.lines[plain.turn_starts[0]]);
    }
}
