//! Pure render functions: `draw(frame, &State, &Theme)` paints the whole screen.
//! Each pane costs O(its visible rows), never O(loaded rows).

pub mod detail;
pub mod header;
pub mod help;
pub mod list;
pub mod player;
pub mod scorecard_form;
pub mod stats;
pub mod status;
pub mod theme;

use ratatui::Frame;
use ratatui::buffer::Buffer;

use crate::app::State;
pub use theme::Theme;

pub fn draw(frame: &mut Frame, s: &State, theme: &Theme) {
    let area = frame.area();
    let panes = crate::app::layout::Panes::compute(area, s.banner_lines());
    let buf = frame.buffer_mut();
    header::render(buf, panes.header, s, theme);
    if s.stats.open {
        stats::render(buf, panes.list.union(panes.detail), s, theme);
    } else {
        list::render(buf, panes.list, s, theme);
        detail::render(buf, panes.detail, s, theme);
    }
    scorecard_form::render(buf, &panes, s, theme);
    status::render_banner(buf, panes.banner, s, theme);
    player::render(buf, panes.player, s, theme);
    status::render_status(buf, panes.status, s, theme);
    help::render_overlays(buf, area, s, theme);
}

/// The buffer as plain text, one line per row (for snapshots and the bench). Cells hidden
/// behind a wide character are skipped, so each line reads as the terminal shows it.
pub fn buffer_text(buf: &Buffer) -> String {
    let area = buf.area;
    let mut out = String::new();
    for y in area.top()..area.bottom() {
        let mut line = String::new();
        let mut skip = 0usize;
        for x in area.left()..area.right() {
            let sym = buf[(x, y)].symbol();
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let w = crate::sanitize::width(sym);
            skip = w.saturating_sub(1);
            line.push_str(sym);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use ratatui::buffer::Buffer;
    use ratatui::layout::Rect;
    use ratatui::style::Style;

    #[test]
    fn buffer_text_skips_cells_behind_wide_chars() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 8, 2));
        buf.set_string(0, 0, "東京ab", Style::default());
        buf.set_string(0, 1, "e\u{301}x", Style::default());
        assert_eq!(super::buffer_text(&buf), "東京ab\ne\u{301}x\n");
    }
}
