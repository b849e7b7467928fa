//! The detail pane: a slice of the laid-out transcript, with search matches highlighted.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Widget};

use crate::app::paging::{HANDOFF, VOICE};
use crate::app::state::{Pane, State};
use crate::domain::clock::clock;
use crate::sanitize::{truncate, wrap};

use super::Theme;

fn title(s: &State, cols: usize) -> String {
    let Some(r) = s.list.selected() else {
        return " Transcript ".into();
    };
    let mut t = format!(
        " {} · {}",
        truncate(&r.id, 14),
        if r.has(VOICE) { "voice" } else { "chat" }
    );
    if r.duration != u32::MAX {
        t.push_str(&format!(" · {}", clock(r.duration as i64)));
    }
    if r.has(HANDOFF) {
        t.push_str(" · handoff");
        if !r.handoff_reason.is_empty() {
            t.push_str(&format!(" → {}", r.handoff_reason));
        }
    }
    t.push(' ');
    truncate(&t, cols)
}

/// Splits `text` so that case-insensitive occurrences of `needle` get `hit`.
fn highlight<'a>(text: &'a str, needle: &str, base: Style, hit: Style, out: &mut Vec<Span<'a>>) {
    let lower = text.to_lowercase();
    // Lowercasing can change byte lengths (e.g. 'İ'); highlight only when offsets agree.
    if needle.trim().is_empty() || lower.len() != text.len() {
        out.push(Span::styled(text, base));
        return;
    }
    // Every word of the search, wherever it occurs (a transcript search ANDs words anywhere).
    let mut ranges: Vec<(usize, usize)> = needle
        .split_whitespace()
        .flat_map(|w| lower.match_indices(w).map(move |(i, _)| (i, i + w.len())))
        .filter(|&(a, b)| text.is_char_boundary(a) && text.is_char_boundary(b))
        .collect();
    ranges.sort_unstable();
    let mut last = 0;
    for (a, b) in ranges {
        if b <= last {
            continue;
        }
        let a = a.max(last);
        if a > last {
            out.push(Span::styled(&text[last..a], base));
        }
        out.push(Span::styled(&text[a..b], hit));
        last = b;
    }
    if last < text.len() {
        out.push(Span::styled(&text[last..], base));
    }
}

/// Lines of the turn being played, when this pane shows the playing call.
fn spoken_lines(s: &State, view: &crate::app::transcript::View) -> std::ops::Range<usize> {
    let p = &s.player;
    let (Some(id), Some(turn)) = (p.playing_id(), p.spoken) else {
        return 0..0;
    };
    if view.id != id {
        return 0..0;
    }
    let Some(&start) = view.turn_starts.get(turn) else {
        return 0..0;
    };
    start..view.turn_starts.get(turn + 1).copied().unwrap_or(view.lines.len())
}

pub fn render(buf: &mut Buffer, area: Rect, s: &State, theme: &Theme) {
    if area.height < 2 || area.width < 4 {
        return;
    }
    let focused = s.focus == Pane::Detail;
    let inner = Rect {
        x: area.x + 1,
        y: area.y + 1,
        width: area.width - 2,
        height: area.height - 2,
    };
    let rows = inner.height as usize;
    let d = &s.detail;
    let mut block = Block::bordered()
        .border_type(if focused { BorderType::Thick } else { BorderType::Plain })
        .border_style(Theme::fg(if focused { theme.border_focus } else { theme.border }))
        .title(title(s, inner.width as usize));
    // The current turn (what Enter plays from and `b` rates), marked in the gutter below.
    let marked = crate::app::rating::marked_lines(s);
    if let Some(v) = &d.view {
        let mut pos = Vec::new();
        if marked.is_some()
            && let Some(t) = crate::app::rating::current_turn(s)
        {
            pos.push(format!("turn {}/{}", t + 1, v.turn_starts.len()));
        }
        if v.lines.len() > rows {
            let last = (d.scroll + rows).min(v.lines.len());
            pos.push(format!("{}–{}/{}", d.scroll + 1, last, v.lines.len()));
        }
        if !pos.is_empty() {
            block = block.title_bottom(Line::from(format!(" {} ", pos.join(" · "))).right_aligned());
        }
    }
    if !d.search.is_empty() {
        block = block.title_bottom(Line::from(format!(
            " /{} {}/{} ",
            crate::sanitize::sanitize_line(&crate::app::detail_view::detail_search_text(s)),
            if d.matches.is_empty() { 0 } else { d.match_idx + 1 },
            d.matches.len()
        )));
    }
    block.render(area, buf);

    let Some(view) = &d.view else {
        let (text, style) = if let Some(e) = &d.error {
            (format!("✖ {e}"), Theme::fg(theme.error))
        } else if s.list.selected().is_some() {
            ("⟳ loading transcript…".to_string(), theme.dim())
        } else {
            (String::new(), Style::default())
        };
        for (i, l) in wrap(&text, inner.width as usize).into_iter().take(rows).enumerate() {
            buf.set_stringn(inner.x, inner.y + i as u16, l, inner.width as usize, style);
        }
        return;
    };
    let hit = Style::default()
        .bg(theme.matched)
        .fg(ratatui::style::Color::Black)
        .add_modifier(Modifier::BOLD);
    let current = d.matches.get(d.match_idx).copied();
    let spoken = spoken_lines(s, view);
    // ▸ beside the current turn's first visible line, ▕ beside the rest of it.
    let marked_first = marked.as_ref().map(|r| r.start.max(d.scroll));
    for (i, line) in view.lines.iter().skip(d.scroll).take(rows).enumerate() {
        let idx = d.scroll + i;
        let mut spans = Vec::with_capacity(line.spans.len());
        for (i, (tag, text)) in line.spans.iter().enumerate() {
            let base = theme.tag(*tag);
            // Under a `user:`/`agent:` scope only that speaker's words light up.
            let needle = if line.span_searched(i, d.search_speaker) {
                d.search.as_str()
            } else {
                ""
            };
            highlight(text, needle, base, hit, &mut spans);
        }
        let mut l = Line::from(spans);
        if current == Some(idx) {
            l = l.patch_style(Style::default().add_modifier(Modifier::UNDERLINED));
        }
        let y = inner.y + i as u16;
        if marked_first == Some(idx) {
            buf[(area.x, y)].set_symbol("▸").set_style(Theme::fg(theme.accent));
        } else if marked.as_ref().is_some_and(|r| r.contains(&idx)) {
            buf[(area.x, y)].set_symbol("▕").set_style(Theme::fg(theme.accent));
        }
        if spoken.contains(&idx) {
            // The turn being played: a bar in the left border and bold text.
            l = l.patch_style(Style::default().add_modifier(Modifier::BOLD));
            buf[(area.x, y)].set_symbol("▌").set_style(Theme::fg(theme.accent));
        }
        buf.set_line(inner.x, y, &l, inner.width);
    }
}
