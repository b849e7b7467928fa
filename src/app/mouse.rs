//! Mouse input (with `m` capture on): clicks select rows, focus panes and seek the player bar;
//! the wheel scrolls the pane under the pointer.

use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};

use super::detail_view::clamp_detail_scroll;
use super::layout::contains;
use super::list::select;
use super::msg::Effect;
use super::player;
use super::state::{Overlay, Pane, State};

pub(super) fn on_mouse(s: &mut State, m: MouseEvent, fx: &mut Vec<Effect>) {
    if !s.mouse || s.overlay != Overlay::None || s.input.is_some() {
        return;
    }
    let p = s.panes();
    let in_list = contains(p.list, m.column, m.row);
    let in_detail = contains(p.detail, m.column, m.row);
    if m.kind == MouseEventKind::Down(MouseButton::Left) && player::on_click(s, m.column, m.row, fx) {
        return;
    }
    match m.kind {
        MouseEventKind::Down(MouseButton::Left) if in_list => {
            s.focus = Pane::List;
            let first = p.list.y + 1;
            if m.row >= first && ((m.row - first) as usize) < p.list_rows() {
                let pos = s.list.offset + (m.row - first) as usize;
                if pos < s.list.visible_len() {
                    select(s, pos, false, fx);
                }
            }
        }
        MouseEventKind::Down(MouseButton::Left) if in_detail => s.focus = Pane::Detail,
        MouseEventKind::ScrollDown | MouseEventKind::ScrollUp => {
            let delta = if m.kind == MouseEventKind::ScrollDown { 3 } else { -3 };
            if in_list {
                let pos = s.list.sel.saturating_add_signed(delta);
                select(s, pos, false, fx);
            } else if in_detail {
                s.detail.scroll = s.detail.scroll.saturating_add_signed(delta);
                clamp_detail_scroll(s);
            }
        }
        _ => {}
    }
}
