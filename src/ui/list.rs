//! The conversation list: only the visible slice is formatted.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::widgets::{Block, BorderType, Widget};

use crate::app::list::EMPTY_HINT;
use crate::app::paging::{HANDOFF, IN_PROGRESS, LIVE, NO_TURNS, Row, Source, VOICE};
use crate::app::review;
use crate::app::state::{Pane, State};
use crate::domain::Marks;
use crate::domain::clock::clock;
use crate::sanitize::{fit, wrap};

use super::Theme;

/// One row's text: `11-27 09:15 ☎ 02:14  12t ✦ ● ⊘ ⇄ billing` (✦ arrived live).
pub fn row_text(r: &Row, tz: chrono::FixedOffset) -> String {
    row_text_marked(r, tz, None, false)
}

/// Marks not in the store yet: after the saved icons, until the store confirms them.
pub const UNSAVED: char = '⧗';

/// `row_text` with review icons after the turn count: ✓ reviewed, ↻ follow-up, ⚑ flagged,
/// and ⧗ when a change is not saved yet (`marks` are then the saved ones).
pub fn row_text_marked(r: &Row, tz: chrono::FixedOffset, marks: Option<&Marks>, unsaved: bool) -> String {
    let when = r
        .started_at()
        .map(|t| t.with_timezone(&tz).format("%m-%d %H:%M").to_string())
        .unwrap_or_else(|| "--:-- --:--".into());
    let glyph = if r.has(VOICE) { '☎' } else { '✉' };
    let dur = if r.duration == u32::MAX {
        "--:--".to_string()
    } else {
        clock(r.duration as i64)
    };
    let mut t = format!("{when} {glyph} {dur:>5} {:>4}t", r.turns);
    let mut icons = marks.map(review::icons).unwrap_or_default();
    if unsaved {
        icons.push(UNSAVED);
    }
    if !icons.is_empty() {
        t.push(' ');
        t.push_str(&icons);
    }
    if r.has(LIVE) {
        t.push_str(" ✦");
    }
    if r.has(IN_PROGRESS) {
        t.push_str(" ●");
    }
    if r.has(NO_TURNS) {
        t.push_str(" ⊘");
    }
    if r.has(HANDOFF) {
        t.push_str(" ⇄");
        if !r.handoff_reason.is_empty() {
            t.push(' ');
            t.push_str(&r.handoff_reason);
        }
    }
    t
}

fn title(s: &State, cols: u16) -> String {
    let p = &s.list.paging;
    let more = if p.end { "all" } else { "more…" };
    // Where the rows come from, when not (yet) from the API.
    let from = match (p.source, s.list.from_cache_only()) {
        (Source::Cache, true) => " · cache only",
        (Source::Cache, false) => " · cached ⟳",
        (Source::Api, _) => "",
    };
    let mut what = match &s.search {
        Some(q) => format!("“{}”", crate::sanitize::sanitize_line(&q.input_text())),
        None => match &s.queue.active {
            Some(q) => format!("Queue {}", crate::sanitize::sanitize_line(&q.name)),
            None => "Conversations".into(),
        },
    };
    // Under a filter or view: how far the review got (… while marks are still coming).
    if let Some(pr) = s.list.progress {
        let more = if pr.partial { "…" } else { "" };
        what.push_str(&format!(" · reviewed {}/{}{more}", pr.reviewed, pr.of));
    }
    if !from.is_empty() {
        // Shorter, so the source fits beside the count.
        let plus = if p.end { "" } else { "+" };
        format!(" {what} ({}{plus}){from} ", p.len())
    } else if cols < 40 {
        format!(" {} loaded, {more} ", p.len())
    } else if let Some(total) = p.total {
        // The Data API's count is the whole project's, not the window's: say so.
        format!(" {what} ({} loaded of {total} in the project, {more}) ", p.len())
    } else {
        format!(" {what} ({} loaded, {more}) ", p.len())
    }
}

pub fn render(buf: &mut Buffer, area: Rect, s: &State, theme: &Theme) {
    if area.height < 2 || area.width < 4 {
        return;
    }
    let focused = s.focus == Pane::List;
    let border = Theme::fg(if focused { theme.border_focus } else { theme.border });
    Block::bordered()
        .border_type(if focused { BorderType::Thick } else { BorderType::Plain })
        .border_style(border)
        .title(title(s, area.width))
        .render(area, buf);
    let inner = Rect {
        x: area.x + 1,
        y: area.y + 1,
        width: area.width - 2,
        height: area.height - 2,
    };
    let cols = inner.width as usize;
    let len = s.list.visible_len();
    let mut y = inner.y;
    let mut pos = s.list.offset;
    while y < inner.bottom() && pos < len {
        let Some(row) = s.list.row_at(pos) else { break };
        let selected = pos == s.list.sel;
        let marker = if selected { "▶ " } else { "  " };
        // A row with unsaved changes shows its saved marks (and ⧗) until the store has them.
        let pending = review::pending_of(s, &row.id);
        let marks = pending.map(|p| &p.saved).or_else(|| s.review.get(&row.id));
        let text = fit(
            &format!("{marker}{}", row_text_marked(row, s.tz, marks, pending.is_some())),
            cols,
        );
        let style = if pending.is_some() && !selected {
            Theme::fg(theme.warn)
        } else if selected {
            if focused {
                theme.selected()
            } else {
                Style::default().add_modifier(ratatui::style::Modifier::BOLD)
            }
        } else if row.has(IN_PROGRESS) {
            Theme::fg(theme.accent)
        } else {
            Style::default()
        };
        buf.set_stringn(inner.x, y, text, cols, style);
        y += 1;
        pos += 1;
    }
    // What comes after the last loaded row.
    if y < inner.bottom() {
        let p = &s.list.paging;
        let (text, style) = if p.failed.is_some() {
            ("✖ could not load — r to retry".to_string(), Theme::fg(theme.error))
        } else if p.in_flight.is_some() {
            let t = if len == 0 {
                "⟳ loading…"
            } else {
                "⟳ loading more…"
            };
            (format!("  {t}"), theme.dim())
        } else if len == 0 && p.end && s.search.is_some() {
            let t = if s.search.as_ref().is_some_and(|q| q.submitted) {
                "  no transcript in this window matches — w widens the window"
            } else {
                "  no cached transcript matches — enter asks the server"
            };
            (t.into(), theme.dim())
        } else if len == 0 && p.end && !s.filter.is_empty() {
            ("  nothing matches the filter — v or : to change it".into(), theme.dim())
        } else if len == 0 && p.end && s.list.incoming.as_ref().is_some_and(|i| i.in_flight.is_some()) {
            ("  ⟳ loading…".into(), theme.dim())
        } else if len == 0 && p.end {
            for line in wrap(EMPTY_HINT, cols.saturating_sub(2)) {
                if y >= inner.bottom() {
                    break;
                }
                buf.set_stringn(inner.x + 1, y, line, cols, Theme::fg(theme.warn));
                y += 1;
            }
            return;
        } else if p.end {
            ("  — end of results —".into(), theme.dim())
        } else {
            (String::new(), Style::default())
        };
        buf.set_stringn(inner.x, y, text, cols, style);
    }
}
