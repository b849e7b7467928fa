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
        Connection::Refused => "✕ refused",
        Connection::Failing => "✕ server failing",
    }
}

fn connection_text(s: &State) -> String {
    match s.live.new_count {
        0 => connection_label(s).to_string(),
        n => format!("{} · {n} new", connection_label(s)),
    }
}

/// Mark changes the store has not confirmed (at risk), then whether the team database answers,
/// the changes kept locally that it has not taken yet and teammates' changes still to be read,
/// beside the connection. (Why it does not answer goes to the status line: the header keeps to a word.)
fn pending_text(s: &State) -> String {
    let mut out = String::new();
    if let n @ 1.. = s.review.unsaved() {
        out.push_str(&format!("{} {n} unsaved · ", crate::ui::list::UNSAVED));
    }
    if s.team.error.is_some() {
        out.push_str("team offline · ");
    }
    if s.team.unsynced > 0 {
        out.push_str(&format!("{} unsynced · ", s.team.unsynced));
    }
    if s.team.behind > 0 {
        out.push_str(&format!("reading {} from the team · ", s.team.behind));
    }
    out
}

pub fn render(buf: &mut Buffer, area: Rect, s: &State, theme: &Theme) {
    if area.height == 0 {
        return;
    }
    let id = &s.identity;
    let filter = (!s.filter.is_empty()).then(|| match &s.view_name {
        Some(v) => format!("view {v}: {}", s.filter.summary()),
        None => s.filter.summary(),
    });
    // Facts after the account/project, most important first; the least important are dropped
    // whole when the line is too narrow (all of them, if need be), instead of cutting the line mid-word.
    let mut facts: Vec<(String, Style)> = Vec::new();
    let who = sanitize_line(&format!("{}/{}", id.account, id.project));
    // The queue being worked takes the place of the account/project: it is what the list shows
    // and it must stay whole; the account/project becomes a fact that may be dropped.
    let queue = s.queue.header().map(|q| sanitize_line(&q));
    if let Some(f) = filter {
        // The filter, where the eye looks for "why is my list short".
        facts.push((format!("filter: {}", sanitize_line(&f)), Theme::fg(theme.accent)));
    }
    if queue.is_some() {
        facts.push((who.clone(), Style::default()));
    }
    // A queue's list is its items: the window, channel and order do not apply to it.
    let list_facts = match queue {
        Some(_) => Vec::new(),
        None => vec![
            s.window.label(s.tz),
            s.channel.label().to_string(),
            s.list.order.label().to_string(),
        ],
    };
    facts.extend(
        [s.client_env.clone()]
            .into_iter()
            .chain(list_facts)
            .chain([sanitize_line(&id.region)])
            .map(|t| (t, Style::default())),
    );
    let (main, main_style) = match queue {
        Some(q) => (q, Theme::fg(theme.accent).add_modifier(Modifier::BOLD)),
        None => (who, Style::default().add_modifier(Modifier::BOLD)),
    };
    let conn = connection_text(s);
    let unsaved_w = width(&pending_text(s));
    let conn_w = width(&conn) + 2 + unsaved_w;
    let room = (area.width as usize).saturating_sub(conn_w);
    let fixed = width(" callscope · ") + width(&main);
    while !facts.is_empty() && fixed + facts.iter().map(|(t, _)| width(t) + 3).sum::<usize>() > room {
        facts.pop();
    }
    let mut left = vec![
        Span::styled(" callscope ", theme.tag(crate::app::transcript::Tag::Title)),
        Span::raw("· "),
        Span::styled(main, main_style),
    ];
    for (t, style) in facts {
        left.push(Span::raw(" · "));
        left.push(Span::styled(t, style));
    }
    let conn = conn.as_str();
    let conn_style = match s.connection {
        Connection::Connected => Theme::fg(theme.latency_ok),
        Connection::Offline | Connection::Refused | Connection::Failing => Theme::fg(theme.error),
        _ => Theme::fg(theme.warn),
    };
    let unsaved = pending_text(s);
    let uw = width(&unsaved) as u16;
    let cw = width(conn) as u16 + 1;
    buf.set_line(
        area.x,
        area.y,
        &Line::from(left),
        area.width.saturating_sub(cw + uw + 1),
    );
    if area.width > cw + uw + 20 {
        buf.set_stringn(area.right() - cw, area.y, conn, cw as usize, conn_style);
        if uw > 0 {
            let style = Theme::fg(theme.warn).add_modifier(Modifier::BOLD);
            buf.set_stringn(area.right() - cw - uw, area.y, &unsaved, uw as usize, style);
        }
    }
}
