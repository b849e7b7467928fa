//! Overlays: the help page (drawn from the keymap that handles keys) and the small pickers
//! (time window, flag reason, saved view, turn rating).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::{Block, BorderType, Clear, Widget};

use crate::app::layout::centered;
use crate::app::picker::{picker_entries, view_entries};
use crate::app::state::{Overlay, State};
use crate::sanitize::{fit, sanitize_line, width};

use super::Theme;

pub fn render_overlays(buf: &mut Buffer, area: Rect, s: &State, theme: &Theme) {
    match &s.overlay {
        Overlay::None => {}
        Overlay::Help { scroll } => {
            let (r, lines) = crate::app::help::layout(s);
            let r = Rect {
                x: r.x + area.x,
                y: r.y + area.y,
                ..r
            };
            Clear.render(r, buf);
            let inner_h = r.height.saturating_sub(2) as usize;
            let max_scroll = lines.len().saturating_sub(inner_h);
            let scroll = (*scroll).min(max_scroll);
            let mut block = Block::bordered()
                .border_type(BorderType::Thick)
                .border_style(Theme::fg(theme.accent))
                .title(" Keys · esc closes ");
            // The box can cover the status line: a key's answer (e.g. why it did nothing)
            // goes on its bottom border instead.
            if let Some(note) = &s.status.note {
                block = block.title_bottom(format!(" {} ", sanitize_line(note)));
            } else if max_scroll > 0 {
                let last = (scroll + inner_h).min(lines.len());
                block = block.title_bottom(format!(" j/k g/G scroll · {}–{last}/{} ", scroll + 1, lines.len()));
            }
            block.render(r, buf);
            for (i, l) in lines.iter().skip(scroll).take(inner_h).enumerate() {
                let w = r.width.saturating_sub(2) as usize;
                buf.set_stringn(
                    r.x + 1,
                    r.y + 1 + i as u16,
                    fit(l, w),
                    w,
                    ratatui::style::Style::default(),
                );
            }
        }
        Overlay::FlagPicker { sel } => {
            let flags = s.list.selected().and_then(|r| s.review.get(&r.id)).map(|m| &m.flags);
            let entries: Vec<String> = crate::app::review::FLAG_REASONS
                .iter()
                .map(|e| {
                    format!(
                        "{} {e}",
                        if flags.is_some_and(|f| f.contains(*e)) {
                            '⚑'
                        } else {
                            ' '
                        }
                    )
                })
                .collect();
            render_picker(buf, area, theme, " Flag: reason ", &entries, *sel);
        }
        Overlay::ViewPicker { sel } => {
            let entries: Vec<String> = view_entries(s).iter().map(|e| sanitize_line(e)).collect();
            let title = if s.views.is_empty() {
                " Views · save some under [views] in config.toml "
            } else {
                " Views · enter applies "
            };
            render_picker(buf, area, theme, title, &entries, *sel);
        }
        Overlay::RatePicker { sel, target } => {
            use crate::app::rating::{CHOICES, RateChoice};
            let current = s.review.get(&target.id).and_then(|m| m.turns.get(&target.turn));
            let entries: Vec<String> = CHOICES
                .iter()
                .map(|c| {
                    let on = current.is_some_and(|r| *c == RateChoice::Rate(r.thumbs, r.reason));
                    format!("{} {}", if on { '•' } else { ' ' }, c.label())
                })
                .collect();
            let title = format!(" Rate turn {} ", target.turn + 1);
            render_picker(buf, area, theme, &title, &entries, *sel);
        }
        Overlay::WindowPicker { sel } => {
            render_picker(buf, area, theme, " Time window ", &picker_entries(), *sel);
        }
        Overlay::History { scroll } => render_history(buf, area, s, theme, *scroll),
        Overlay::QueuePicker { sel } => {
            let entries = crate::app::queue::picker_entries(s);
            render_picker(buf, area, theme, " Review queues · enter opens ", &entries, *sel);
        }
    }
}

/// `H`: the selected call's mark changes, newest first, in a box nearly the screen's size.
fn render_history(buf: &mut Buffer, area: Rect, s: &State, theme: &Theme, scroll: usize) {
    let lines = crate::app::history::lines(s);
    let rows = crate::app::history::overlay_rows(s).min(lines.len().max(1));
    let r = centered(area, area.width.saturating_sub(4).min(110), rows as u16 + 2);
    Clear.render(r, buf);
    let inner_h = r.height.saturating_sub(2) as usize;
    let scroll = scroll.min(lines.len().saturating_sub(inner_h));
    let mut block = Block::bordered()
        .border_type(BorderType::Thick)
        .border_style(Theme::fg(theme.accent))
        .title(crate::app::history::title(s));
    if let Some(note) = &s.status.note {
        block = block.title_bottom(format!(" {} ", sanitize_line(note)));
    } else if lines.len() > inner_h {
        let last = (scroll + inner_h).min(lines.len());
        block = block.title_bottom(format!(" j/k g/G scroll · {}–{last}/{} ", scroll + 1, lines.len()));
    }
    block.render(r, buf);
    let w = r.width.saturating_sub(2) as usize;
    for (i, l) in lines.iter().skip(scroll).take(inner_h).enumerate() {
        buf.set_stringn(
            r.x + 1,
            r.y + 1 + i as u16,
            fit(l, w),
            w,
            ratatui::style::Style::default(),
        );
    }
}

/// A small centred box of numbered entries (1–9 choose directly) with `sel` highlighted; it is
/// as wide as its widest entry (30–90 columns) and scrolls to keep `sel` inside.
fn render_picker(buf: &mut Buffer, area: Rect, theme: &Theme, title: &str, entries: &[String], sel: usize) {
    // Wide enough for the widest entry and the title.
    let widest = entries
        .iter()
        .map(|e| width(e))
        .chain([width(title).saturating_sub(4)])
        .max()
        .unwrap_or(0) as u16;
    let r = centered(area, (widest + 6).clamp(30, 90), entries.len() as u16 + 2);
    Clear.render(r, buf);
    Block::bordered()
        .border_type(BorderType::Thick)
        .border_style(Theme::fg(theme.accent))
        .title(title)
        .render(r, buf);
    let w = r.width.saturating_sub(2) as usize;
    let rows = r.height.saturating_sub(2) as usize;
    let skip = (sel + 1).saturating_sub(rows);
    for (i, e) in entries.iter().enumerate().skip(skip).take(rows) {
        let key = if i < 9 { (b'1' + i as u8) as char } else { ' ' };
        let style = if i == sel {
            theme.selected()
        } else {
            ratatui::style::Style::default()
        };
        buf.set_stringn(
            r.x + 1,
            r.y + 1 + (i - skip) as u16,
            fit(&format!(" {key} {e}"), w),
            w,
            style,
        );
    }
}
