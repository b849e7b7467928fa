//! Overlays: the help page (drawn from the keymap that handles keys) and the small pickers
//! (time window, flag reason, saved view, turn rating).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::{Block, BorderType, Clear, Widget};

use crate::app::state::{Overlay, State};
use crate::app::update::{picker_entries, view_entries};
use crate::sanitize::{fit, sanitize_line};

use super::Theme;

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// The help page's lines: every action with its keys, then the fixed ones.
pub fn help_lines(s: &State) -> Vec<String> {
    let mut lines: Vec<String> = s
        .keymap
        .help_rows()
        .into_iter()
        .map(|(keys, desc)| format!("{keys:>19}  {desc}"))
        .collect();
    lines.push(String::new());
    lines.push(format!("{:>19}  seek (mouse on): click the player's waveform", "click"));
    lines.push(format!("{:>19}  suspend (fg to resume)", "ctrl-z"));
    lines.push(format!("{:>19}  remap in [keys] of config.toml", ""));
    lines
}

pub fn render_overlays(buf: &mut Buffer, area: Rect, s: &State, theme: &Theme) {
    match &s.overlay {
        Overlay::None => {}
        Overlay::Help { scroll } => {
            let lines = help_lines(s);
            let r = centered(area, 72, lines.len() as u16 + 2);
            Clear.render(r, buf);
            let inner_h = r.height.saturating_sub(2) as usize;
            let max_scroll = lines.len().saturating_sub(inner_h);
            let scroll = (*scroll).min(max_scroll);
            let mut block = Block::bordered()
                .border_type(BorderType::Thick)
                .border_style(Theme::fg(theme.accent))
                .title(" Keys · esc closes ");
            if max_scroll > 0 {
                block = block.title_bottom(" j/k scroll ");
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
            let entries = crate::app::review::FLAG_REASONS;
            let flags = s.list.selected().and_then(|r| s.review.get(&r.id)).map(|m| &m.flags);
            let r = centered(area, 34, entries.len() as u16 + 2);
            Clear.render(r, buf);
            Block::bordered()
                .border_type(BorderType::Thick)
                .border_style(Theme::fg(theme.accent))
                .title(" Flag: reason ")
                .render(r, buf);
            let w = r.width.saturating_sub(2) as usize;
            for (i, e) in entries.iter().enumerate() {
                let on = flags.is_some_and(|f| f.contains(*e));
                let text = fit(&format!(" {} {} {e}", i + 1, if on { '⚑' } else { ' ' }), w);
                let style = if i == *sel {
                    theme.selected()
                } else {
                    ratatui::style::Style::default()
                };
                buf.set_stringn(r.x + 1, r.y + 1 + i as u16, text, w, style);
            }
        }
        Overlay::ViewPicker { sel } => {
            let entries: Vec<String> = view_entries(s).iter().map(|e| sanitize_line(e)).collect();
            let widest = entries.iter().map(|e| crate::sanitize::width(e)).max().unwrap_or(0) as u16;
            let r = centered(area, (widest + 6).clamp(30, 90), entries.len() as u16 + 2);
            Clear.render(r, buf);
            Block::bordered()
                .border_type(BorderType::Thick)
                .border_style(Theme::fg(theme.accent))
                .title(" Views · enter applies ")
                .render(r, buf);
            let w = r.width.saturating_sub(2) as usize;
            let rows = r.height.saturating_sub(2) as usize;
            // Keep the highlighted entry in the box when there are more views than rows.
            let skip = (*sel + 1).saturating_sub(rows);
            for (i, e) in entries.iter().enumerate().skip(skip).take(rows) {
                let key = if i < 9 { (b'1' + i as u8) as char } else { ' ' };
                let text = fit(&format!(" {key} {e}"), w);
                let style = if i == *sel {
                    theme.selected()
                } else {
                    ratatui::style::Style::default()
                };
                buf.set_stringn(r.x + 1, r.y + 1 + (i - skip) as u16, text, w, style);
            }
        }
        Overlay::RatePicker { sel, target } => {
            use crate::app::rating::CHOICES;
            let current = s.review.get(&target.id).and_then(|m| m.turns.get(&target.turn));
            let r = centered(area, 34, CHOICES.len() as u16 + 2);
            Clear.render(r, buf);
            Block::bordered()
                .border_type(BorderType::Thick)
                .border_style(Theme::fg(theme.accent))
                .title(format!(" Rate turn {} ", target.turn + 1))
                .render(r, buf);
            let w = r.width.saturating_sub(2) as usize;
            for (i, c) in CHOICES.iter().enumerate() {
                let on = current.is_some_and(|r| *c == crate::app::rating::RateChoice::Rate(r.thumbs, r.reason));
                let text = fit(&format!(" {} {} {}", i + 1, if on { '•' } else { ' ' }, c.label()), w);
                let style = if i == *sel {
                    theme.selected()
                } else {
                    ratatui::style::Style::default()
                };
                buf.set_stringn(r.x + 1, r.y + 1 + i as u16, text, w, style);
            }
        }
        Overlay::WindowPicker { sel } => {
            let entries = picker_entries();
            let r = centered(area, 30, entries.len() as u16 + 2);
            Clear.render(r, buf);
            Block::bordered()
                .border_type(BorderType::Thick)
                .border_style(Theme::fg(theme.accent))
                .title(" Time window ")
                .render(r, buf);
            let w = r.width.saturating_sub(2) as usize;
            for (i, e) in entries.iter().enumerate() {
                let text = fit(&format!(" {} {e}", i + 1), w);
                let style = if i == *sel {
                    theme.selected()
                } else {
                    ratatui::style::Style::default()
                };
                buf.set_stringn(r.x + 1, r.y + 1 + i as u16, text, w, style);
            }
        }
    }
}
