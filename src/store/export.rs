//! What `callscope export --reviewed/--flagged/--filter` and the TUI's `x` need: cached
//! conversations matching a filter with their marks, and a Markdown rendering for tickets.

use std::collections::VecDeque;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::error::StoreResult;
use super::filter::Filter;
use super::list::{ListCursor, ListOrder, ListRow, Scope};
use super::marks::Marks;
use super::{ConversationKey, Store, cache};
use crate::api::Conversation;

const PAGE: usize = 256;

/// Iterates matching cached conversations (newest first) with their marks, a page at a time,
/// so memory stays flat however large the cache is.
pub struct Matching<'s> {
    store: &'s Store,
    scope: Scope,
    filter: Filter,
    after: Option<ListCursor>,
    buffered: VecDeque<ListRow>,
    done: bool,
}

impl Iterator for Matching<'_> {
    type Item = StoreResult<(ConversationKey, Conversation, Marks)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.buffered.is_empty() && !self.done {
            match self.store.query_rows(
                &self.scope,
                &self.filter,
                ListOrder::NewestFirst,
                self.after.as_ref(),
                PAGE,
            ) {
                Ok(rows) => {
                    self.done = rows.len() < PAGE;
                    self.after = rows.last().map(ListRow::cursor);
                    self.buffered = rows.into();
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        let row = self.buffered.pop_front()?;
        Some(self.load(row.key))
    }
}

impl Matching<'_> {
    fn load(&self, key: ConversationKey) -> StoreResult<(ConversationKey, Conversation, Marks)> {
        let conversation = cache::load(self.store.conn(), &key)?.unwrap_or_default();
        let marks = self.store.marks(&key)?;
        Ok((key, conversation, marks))
    }
}

impl Store {
    /// Cached conversations in `scope` matching `filter`, newest first, each with its marks.
    /// E.g. `--reviewed` is `Filter { status: Some(ReviewStatus::Reviewed), .. }`, `--flagged` is `flagged: Some(true)`.
    pub fn conversations_matching(&self, scope: &Scope, filter: &Filter) -> Matching<'_> {
        Matching {
            store: self,
            scope: scope.clone(),
            filter: filter.clone(),
            after: None,
            buffered: VecDeque::new(),
            done: false,
        }
    }
}

fn clock(secs: u64) -> String {
    if secs >= 3600 {
        format!("{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
    } else {
        format!("{}:{:02}", secs / 60, secs % 60)
    }
}

/// One line of untrusted text, safe inside Markdown prose: no controls, no line breaks.
fn inline(text: &str) -> String {
    // The TUI's sanitizer: a whole escape sequence goes, not only its ESC byte.
    crate::sanitize::sanitize_line(text)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn offset(start: Option<DateTime<Utc>>, at: Option<DateTime<Utc>>) -> String {
    match (start, at) {
        (Some(s), Some(a)) if a >= s => format!("[{}] ", clock((a - s).num_seconds() as u64)),
        _ => String::new(),
    }
}

/// The conversation as Markdown ready to paste into a ticket: summary, review status, flags,
/// note, then the transcript with per-turn ratings under the turns they rate.
pub fn markdown_with_notes(c: &Conversation, marks: &Marks) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "### Conversation `{}`", inline(&c.id));
    let mut facts = Vec::new();
    if let Some(t) = c.started_at {
        facts.push(format!("started {}", t.format("%Y-%m-%d %H:%M:%S UTC")));
    }
    for (label, v) in [
        ("project", &c.project_id),
        ("env", &c.environment),
        ("channel", &c.channel),
    ] {
        if !v.is_empty() {
            facts.push(format!("{label} {}", inline(v)));
        }
    }
    if let Some(d) = c.total_duration {
        facts.push(format!("duration {}", clock(d.into())));
    }
    facts.push(format!("{} turns", c.turn_count()));
    if c.in_progress {
        facts.push("in progress".into());
    }
    let _ = writeln!(md, "- {}", facts.join(" · "));
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
    let _ = writeln!(md, "- **Review status:** {}", marks.status.label());
    if !marks.flags.is_empty() {
        let flags: Vec<String> = marks.flags.iter().map(|f| format!("`{}`", inline(f))).collect();
        let _ = writeln!(md, "- **Flags:** {}", flags.join(", "));
    }
    if !marks.note.trim().is_empty() {
        let _ = writeln!(md, "\n**Note:**");
        for line in crate::sanitize::sanitize_text(&marks.note).lines() {
            let _ = writeln!(md, "> {line}");
        }
    }
    let _ = writeln!(md, "\n**Transcript**\n");
    if c.turns.is_empty() {
        let why = if c.transcript_hidden() {
            "hidden: transcript visibility is off for this project"
        } else {
            "not fetched"
        };
        let _ = writeln!(md, "_Transcript {why}._");
    }
    for (i, t) in c.turns.iter().enumerate() {
        if !t.user_input.trim().is_empty() {
            let _ = writeln!(
                md,
                "{}**User:** {}  ",
                offset(c.started_at, t.user_input_datetime),
                inline(&t.user_input)
            );
        }
        if !t.agent_response.trim().is_empty() {
            let mut extra = Vec::new();
            if let Some(l) = t.latency {
                extra.push(format!("{l:.2}s"));
            }
            if !t.intents.is_empty() {
                extra.push(format!("intent {}", inline(&t.intents.join(", "))));
            }
            let extra = if extra.is_empty() {
                String::new()
            } else {
                format!(" _({})_", extra.join("; "))
            };
            let _ = writeln!(
                md,
                "{}**Agent:** {}{extra}  ",
                offset(c.started_at, t.agent_response_datetime),
                inline(&t.agent_response)
            );
        }
        if let Some(r) = u32::try_from(i).ok().and_then(|i| marks.turns.get(&i)) {
            let mut line = format!("> {} turn {}", r.thumbs.emoji(), i + 1);
            if let Some(reason) = r.reason {
                let _ = write!(line, ": {}", reason.label());
            }
            if !r.comment.trim().is_empty() {
                let _ = write!(line, " — {}", inline(&r.comment));
            }
            let _ = writeln!(md, "\n{line}\n");
        }
    }
    md
}
