//! The top line: who, where, which window, and whether the API answers.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use crate::app::State;
use crate::app::state::Connection;
use crate::sanitize::{sanitize_line, width};

use super::Theme;

pub fn connection_label(s: &State) -> &'static str {
    match s.connection {
        Connection::Connecting => "◌ connecting",
        Connection::Connected if s.live.listening => "● live",
        Connection::Connected => "● connected",
        Connection::Retrying => "◐ retrying",
        Connection::Offline => "○ offline",
    }
}

pub fn render(buf: &mut Buffer, area: Rect, s: &State, theme: &Theme) {
    if area.height == 0 {
        return;
    }
    let id = &s.identity;
    let who = sanitize_line(&format!("{}/{}", id.account, id.project));
    let mut left = vec![
        Span::styled(" callscope ", theme.tag(crate::app::transcript::Tag::Title)),
        Span::raw("· "),
        Span::styled(who, Style::default().add_modifier(Modifier::BOLD)),
        Span::raw(format!(
            " · {} · last {} · {} · {} · {}",
            s.client_env,
            s.window.label(),
            s.channel.label(),
            s.list.order.label(),
            sanitize_line(&id.region)
        )),
    ];
    // The filter, where the eye looks for "why is my list short".
    if !s.filter.is_empty() {
        let what = match &s.view_name {
            Some(v) => format!("view {v}: {}", s.filter.summary()),
            None => s.filter.summary(),
        };
        left.insert(
            3,
            Span::styled(format!(" · filter: {}", sanitize_line(&what)), Theme::fg(theme.accent)),
        );
    }
    let conn = match s.live.new_count {
        0 => connection_label(s).to_string(),
        n => format!("{} · {n} new", connection_label(s)),
    };
    let conn = conn.as_str();
    let conn_style = match s.connection {
        Connection::Connected => Theme::fg(theme.latency_ok),
        Connection::Offline => Theme::fg(theme.error),
        _ => Theme::fg(theme.warn),
    };
    let cw = width(conn) as u16 + 1;
    buf.set_line(area.x, area.y, &Line::from(left), area.width.saturating_sub(cw + 1));
    if area.width > cw + 20 {
        buf.set_stringn(area.right() - cw, area.y, conn, cw as usize, conn_style);
    }
}
