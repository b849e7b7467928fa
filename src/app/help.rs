//! The help page's text and geometry, shared by `update` (scrolling) and the renderer, so the
//! scroll range always matches what is drawn.

use ratatui::layout::Rect;

use super::layout::centered;
use super::state::State;
use crate::sanitize::wrap;

/// The widest the help box gets: the key column, a description and its `[keys]` name.
const WIDTH: u16 = 84;
/// The key column, right-aligned, then two spaces.
const KEY_COL: usize = 19;

/// Where the help box goes on a `width`×`height` screen.
pub fn rect(width: u16, height: u16, lines: usize) -> Rect {
    let area = Rect::new(0, 0, width, height);
    centered(area, WIDTH, (lines as u16).saturating_add(2))
}

/// The help page's lines for a box `cols` wide inside its border: every action with its keys,
/// its description and the name `[keys]` in the config knows it by; a description that does
/// not fit wraps under itself instead of being cut.
pub fn lines(s: &State, cols: usize) -> Vec<String> {
    let text_cols = cols.saturating_sub(KEY_COL + 2).max(10);
    let mut out = Vec::new();
    let mut push = |keys: &str, text: &str| {
        for (i, part) in wrap(text, text_cols).into_iter().enumerate() {
            let keys = if i == 0 { keys } else { "" };
            out.push(format!("{keys:>KEY_COL$}  {part}"));
        }
    };
    for (keys, desc, name) in s.keymap.help_rows() {
        push(&keys, &format!("{desc}  [{name}]"));
    }
    push("", "");
    push("click", "seek (mouse on): click the player's waveform");
    push("ctrl-z", "suspend (fg to resume)");
    push(
        "",
        "remap any action under [keys] in config.toml by the name in brackets, e.g. down = [\"j\", \"down\"]",
    );
    out
}

/// The box and its lines for the current screen.
pub fn layout(s: &State) -> (Rect, Vec<String>) {
    let cols = WIDTH.min(s.width).saturating_sub(2) as usize;
    let lines = lines(s, cols);
    (rect(s.width, s.height, lines.len()), lines)
}

/// Rows of text inside the box.
pub fn rows(s: &State) -> usize {
    layout(s).0.height.saturating_sub(2) as usize
}

/// The furthest the page scrolls: the last line at the bottom of the box.
pub fn max_scroll(s: &State) -> usize {
    let (r, lines) = layout(s);
    lines.len().saturating_sub(r.height.saturating_sub(2) as usize)
}
