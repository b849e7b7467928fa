//! Who changed the marks, and when. `H` opens the selected call's history (newest first,
//! scrollable, esc closes); the detail pane's review lines name the latest author of each
//! ("reviewed · alice@acme · 2h ago"). The store worker answers [`Msg::History`] and sends
//! [`Msg::Authors`] after loading or writing marks; nothing here does I/O.
//!
//! [`Msg::History`]: super::Msg::History
//! [`Msg::Authors`]: super::Msg::Authors

use chrono::{DateTime, FixedOffset, Utc};
use crossterm::event::{KeyCode, KeyEvent};

use crate::domain::history::describe_value;
use crate::domain::{ConversationKey, Origin};
use crate::domain::{MarkChange, MarkField};
use crate::sanitize::{sanitize_line, truncate};

use super::keymap::Action;
use super::msg::StoreRequest;
use super::msg::{Effect, IoEffect};
use super::review::{origin, pending_of};
use super::state::{Overlay, State};
use super::transcript::{Line, Tag, View};

/// At most this many conversations' authors are kept (like the marks, reloaded on demand).
const AUTHORS_CAPACITY: usize = 2048;

pub use super::history_state::{Authors, HistoryState};

/// `H`: opens the history of the selected call and asks the store for it.
pub fn open(s: &mut State, fx: &mut Vec<Effect>) {
    let Some(id) = s.list.selected().map(|r| r.id.to_string()) else {
        return;
    };
    if let Some(why) = &s.review.unavailable {
        s.status.note = Some(format!("no mark history: {why}"));
        return;
    }
    let key = origin(s).key(id.as_str());
    s.history.key = Some(key.clone());
    s.history.changes = None;
    s.overlay = Overlay::History { scroll: 0 };
    fx.push(Effect::Io(IoEffect::Store(StoreRequest::History { key })));
}

/// The store's answer to [`open`]; ignored when the overlay moved on to another call.
pub fn on_history(s: &mut State, key: &ConversationKey, result: Result<Vec<MarkChange>, String>) {
    if s.history.key.as_ref() == Some(key) {
        s.history.changes = Some(result);
    }
}

/// Latest authors from the store; whether they are for the current origin.
pub fn on_authors(s: &mut State, from: &Origin, authors: Vec<(String, Authors)>) -> bool {
    if *from != origin(s) {
        return false;
    }
    if s.history.authors.len() + authors.len() > AUTHORS_CAPACITY {
        s.history.authors.clear();
    }
    s.history.authors.extend(authors);
    true
}

/// Keys while the overlay is open: j/k, page and g/G scroll; esc, `H` or q close.
pub fn on_key(s: &mut State, k: KeyEvent, _fx: &mut Vec<Effect>) {
    let rows = overlay_rows(s);
    let max = max_scroll(s, rows);
    let action = s.keymap.action(&k);
    let Overlay::History { scroll } = &mut s.overlay else {
        return;
    };
    let page = rows.max(1);
    *scroll = match action {
        Some(Action::Down) => *scroll + 1,
        Some(Action::Up) => scroll.saturating_sub(1),
        Some(Action::PageDown) => *scroll + page,
        Some(Action::PageUp) => scroll.saturating_sub(page),
        Some(Action::HalfDown) => *scroll + page / 2,
        Some(Action::HalfUp) => scroll.saturating_sub(page / 2),
        Some(Action::Top) => 0,
        Some(Action::Bottom) => max,
        Some(Action::MarkHistory | Action::Back | Action::Quit) => {
            s.overlay = Overlay::None;
            return;
        }
        _ if k.code == KeyCode::Esc => {
            s.overlay = Overlay::None;
            return;
        }
        _ => *scroll,
    }
    .min(max);
}

/// Why a key did nothing in the overlay.
pub fn why_no_effect(s: &State, action: Option<Action>) -> &'static str {
    let at_top = matches!(s.overlay, Overlay::History { scroll: 0 });
    match action {
        _ if s.history.changes.is_none() => "the history is still loading — esc closes",
        Some(Action::Down | Action::PageDown | Action::HalfDown | Action::Bottom) => {
            "already at the end of the history"
        }
        Some(Action::Up | Action::PageUp | Action::HalfUp | Action::Top) if at_top => {
            "already at the top of the history"
        }
        _ => "not a history key — j/k g/G scroll, esc closes",
    }
}

/// Rows of text the overlay shows at the current size.
pub fn overlay_rows(s: &State) -> usize {
    (s.height as usize).saturating_sub(6).max(3)
}

fn max_scroll(s: &State, rows: usize) -> usize {
    lines(s).len().saturating_sub(rows)
}

/// The overlay's lines: one per change, `2026-12-01 09:00  alice@acme  status: new → reviewed`
/// (local time, newest first), sanitized.
pub fn lines(s: &State) -> Vec<String> {
    match &s.history.changes {
        None => vec!["⟳ loading the history…".into()],
        Some(Err(e)) => vec![format!("✖ {}", sanitize_line(e))],
        Some(Ok(changes)) if changes.is_empty() => vec!["no marks recorded for this call yet".into()],
        Some(Ok(changes)) => changes.iter().map(|c| change_line(c, s.tz)).collect(),
    }
}

fn change_line(c: &MarkChange, tz: FixedOffset) -> String {
    let when = match DateTime::from_timestamp_millis(c.at_ms) {
        Some(t) if c.at_ms > 0 => t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string(),
        _ => "unknown time    ".into(),
    };
    let value = |v: Option<&str>| truncate(&sanitize_line(&describe_value(&c.field, v)), 40);
    format!(
        "{when}  {:<16}  {}: {} → {}",
        truncate(&sanitize_line(&c.reviewer), 16),
        sanitize_line(&c.field.label()),
        value(c.before.as_deref()),
        value(c.after.as_deref())
    )
}

/// The overlay's title: which call, and how many changes.
pub fn title(s: &State) -> String {
    let id = s.history.key.as_ref().map_or("", |k| k.id.as_str());
    let n = match &s.history.changes {
        Some(Ok(c)) => format!(" · {}", crate::output::count(c.len() as u64, "change")),
        _ => String::new(),
    };
    format!(" History of {}{n} · esc closes ", truncate(&sanitize_line(id), 20))
}

/// `2h ago`, `just now`, `3d ago`, or the date for older (or future) times.
pub fn ago(at_ms: i64, now: DateTime<Utc>) -> String {
    let secs = (now.timestamp_millis() - at_ms) / 1000;
    match secs {
        s if s < 0 || at_ms <= 0 => match DateTime::from_timestamp_millis(at_ms) {
            Some(t) if at_ms > 0 => t.format("%Y-%m-%d").to_string(),
            _ => "some time ago".into(),
        },
        s if s < 60 => "just now".into(),
        s if s < 3600 => format!("{}m ago", s / 60),
        s if s < 86_400 => format!("{}h ago", s / 3600),
        s if s < 30 * 86_400 => format!("{}d ago", s / 86_400),
        _ => DateTime::from_timestamp_millis(at_ms).map_or_else(String::new, |t| t.format("%Y-%m-%d").to_string()),
    }
}

/// Adds the latest author to the detail pane's `review`, `flags` and `note` lines of call `id`
/// (not while it has unsaved changes: the stored author is not theirs yet).
pub fn annotate(view: &mut View, s: &State, id: &str) {
    if pending_of(s, id).is_some() {
        return;
    }
    let Some(authors) = s.history.authors.get(id) else {
        return;
    };
    let Some(marks) = s.review.get(id) else {
        return;
    };
    let flag_stamp = marks
        .flags
        .iter()
        .filter_map(|c| authors.get(&MarkField::Flag(c.clone())))
        .max_by_key(|st| st.at_ms);
    let cols = view.cols.max(20) as usize;
    for (label, stamp) in [
        ("review", authors.get(&MarkField::Status)),
        ("flags", flag_stamp),
        ("note", authors.get(&MarkField::Note)),
    ] {
        let Some(stamp) = stamp else { continue };
        let Some(at) = view.lines.iter().position(|l| is_meta(l, label)) else {
            continue;
        };
        let text = format!(
            " · {} · {}",
            truncate(&sanitize_line(&stamp.reviewer), 32),
            ago(stamp.at_ms, s.now)
        );
        let used: usize = view.lines[at]
            .spans
            .iter()
            .map(|(_, t)| crate::sanitize::width(t))
            .sum();
        if used + crate::sanitize::width(&text) <= cols && !continues(view, at) {
            view.lines[at].spans.push((Tag::Dim, text));
        } else {
            // Beside a wrapped or long value: on a line of its own, under the value.
            let mut end = at + 1;
            while end < view.lines.len() && continues(view, end - 1) {
                end += 1;
            }
            let line = Line::default()
                .push(Tag::Key, " ".repeat(10))
                .push(Tag::Dim, text.trim_start_matches(" · ").to_string());
            view.lines.insert(end, line);
            for t in &mut view.turn_starts {
                if *t >= end {
                    *t += 1;
                }
            }
        }
    }
}

/// A metadata line of `label` (its key column, padded to 10).
fn is_meta(l: &Line, label: &str) -> bool {
    l.spans
        .first()
        .is_some_and(|(tag, t)| *tag == Tag::Key && t.trim_end() == label)
}

/// Whether line `at + 1` continues the value of line `at` (a wrapped metadata value).
fn continues(view: &View, at: usize) -> bool {
    view.lines
        .get(at + 1)
        .and_then(|l| l.spans.first())
        .is_some_and(|(tag, t)| *tag == Tag::Key && t.trim().is_empty() && t.len() == 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ago_reads_like_a_person() {
        let now = DateTime::from_timestamp_millis(10 * 86_400_000).unwrap();
        let at = |secs: i64| now.timestamp_millis() - secs * 1000;
        assert_eq!(ago(at(5), now), "just now");
        assert_eq!(ago(at(300), now), "5m ago");
        assert_eq!(ago(at(7200), now), "2h ago");
        assert_eq!(ago(at(3 * 86_400), now), "3d ago");
        assert_eq!(ago(at(-60), now), "1970-01-11", "a clock ahead of ours: the date");
        assert_eq!(ago(0, now), "some time ago");
    }
}
