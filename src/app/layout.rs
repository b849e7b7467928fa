//! Screen geometry, shared by `update` (scrolling, wrap width, mouse hits) and the renderer.

use ratatui::layout::Rect;

/// A `w`×`h` box centred in `area` (shrunk to fit it): overlays and pickers.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// Where each part of the screen goes (design.md §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Panes {
    pub header: Rect,
    /// The list block, borders included.
    pub list: Rect,
    /// The detail block, borders included.
    pub detail: Rect,
    /// Error banner (height 0 without an error).
    pub banner: Rect,
    pub player: Rect,
    pub status: Rect,
}

impl Panes {
    pub fn compute(area: Rect, banner_lines: u16) -> Panes {
        let h = area.height;
        let banner_h = banner_lines.min(h.saturating_sub(6));
        let header = Rect {
            height: 1.min(h),
            ..area
        };
        let status = Rect {
            y: area.y + h.saturating_sub(1),
            height: 1.min(h),
            ..area
        };
        let player = Rect {
            y: area.y + h.saturating_sub(2),
            height: u16::from(h >= 2),
            ..area
        };
        let banner = Rect {
            y: area.y + h.saturating_sub(2 + banner_h),
            height: banner_h,
            ..area
        };
        let body_h = h.saturating_sub(3 + banner_h);
        let list_w = (area.width * 2 / 5).clamp(30.min(area.width), 60.min(area.width));
        let list = Rect {
            x: area.x,
            y: area.y + 1.min(h),
            width: list_w,
            height: body_h,
        };
        let detail = Rect {
            x: area.x + list_w,
            y: list.y,
            width: area.width - list_w,
            height: body_h,
        };
        Panes {
            header,
            list,
            detail,
            banner,
            player,
            status,
        }
    }

    /// Rows of the list inside its border.
    pub fn list_rows(&self) -> usize {
        self.list.height.saturating_sub(2) as usize
    }

    /// Lines of the detail pane inside its border.
    pub fn detail_rows(&self) -> usize {
        self.detail.height.saturating_sub(2) as usize
    }

    /// Columns of the detail pane inside its border (the transcript wrap width).
    pub fn detail_cols(&self) -> u16 {
        self.detail.width.saturating_sub(2)
    }
}

pub fn contains(r: Rect, x: u16, y: u16) -> bool {
    x >= r.x && x < r.x + r.width && y >= r.y && y < r.y + r.height
}
