//! The bottom of the screen: error banner, the player bar, and the status/hints line.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};

use crate::app::keymap::{Action, PlayerAction, TurnMove};
use crate::app::state::{InputKind, State};
use crate::sanitize::{sanitize_line, width, wrap};

use super::Theme;

pub fn render_banner(buf: &mut Buffer, area: Rect, s: &State, theme: &Theme) {
    let Some(e) = &s.status.error else { return };
    if area.height == 0 {
        return;
    }
    let style = Theme::fg(theme.error).add_modifier(Modifier::BOLD);
    let lines = wrap(
        &format!("✖ {}", sanitize_line(e)),
        area.width.saturating_sub(1) as usize,
    );
    let n = lines.len();
    for (i, l) in lines.into_iter().take(area.height as usize).enumerate() {
        let mut l = l;
        if i + 1 == area.height as usize && n > area.height as usize {
            l = crate::sanitize::truncate(&format!("{l} …"), area.width as usize);
        }
        buf.set_stringn(area.x, area.y + i as u16, format!(" {l}"), area.width as usize, style);
    }
}

/// Hints built from the keymap, so they always show the real bindings; they follow what has
/// the keys: the list, the transcript, the player while it holds a call, or an open picker.
pub fn hints(s: &State, cols: usize) -> String {
    use crate::app::state::{Overlay, Pane};
    let km = &s.keymap;
    let key = |a| km.first(a);
    let pair = |a, b, label: &str| match (key(a), key(b)) {
        (Some(x), Some(y)) => Some(format!("{x}/{y} {label}")),
        _ => None,
    };
    let picker = || {
        vec![
            pair(Action::Down, Action::Up, "move"),
            Some("enter choose".into()),
            Some("1-9 pick".into()),
            Some("esc close".into()),
        ]
    };
    if s.scorecards.form.is_some() && s.overlay == Overlay::None {
        return crate::app::scorecard_form::hints(cols);
    }
    // Most useful first: the line keeps as many as fit.
    let mut items: Vec<Option<String>> = match &s.overlay {
        Overlay::Help { .. } | Overlay::History { .. } => vec![
            pair(Action::Down, Action::Up, "scroll"),
            pair(Action::Top, Action::Bottom, "top/bottom"),
            Some("esc close".into()),
        ],
        Overlay::WindowPicker { .. }
        | Overlay::ViewPicker { .. }
        | Overlay::QueuePicker { .. }
        | Overlay::FlagPicker { .. }
        | Overlay::RatePicker { .. } => picker(),
        Overlay::None => Vec::new(),
    };
    if s.overlay == Overlay::None {
        let labelled = |list: &[(Action, &str)]| -> Vec<Option<String>> {
            list.iter()
                .filter(|(_, l)| !l.is_empty())
                .map(|(a, l)| key(*a).map(|k| format!("{k} {l}")))
                .collect()
        };
        if s.stats.open {
            items.extend(super::stats::hints(s));
        } else if s.player.is_loaded() {
            items.push(key(Action::Player(PlayerAction::PlayPause)).map(|k| format!("{k} pause")));
            items.push(pair(
                Action::Player(PlayerAction::SeekBack),
                Action::Player(PlayerAction::SeekForward),
                "seek",
            ));
            items.extend(labelled(&[(Action::Player(PlayerAction::Stop), "stop")]));
        }
        match s.focus {
            _ if s.stats.open => {}
            Pane::List => {
                items.push(pair(Action::Down, Action::Up, "move"));
                items.extend(labelled(&[
                    (Action::SwitchPane, "pane"),
                    (Action::Search, "search"),
                    (Action::EditFilter, "filter"),
                    (Action::Views, "views"),
                    (
                        Action::Player(PlayerAction::PlayPause),
                        if s.player.is_loaded() { "" } else { "play" },
                    ),
                    (Action::MarkReviewed, "reviewed"),
                    (Action::Window, "window"),
                    (Action::CycleEnv, "env"),
                    (Action::Channel, "channel"),
                    (Action::Reload, "reload"),
                    (Action::CopyId, "copy id"),
                ]));
            }
            Pane::Detail => {
                items.push(pair(Action::Down, Action::Up, "scroll"));
                items.push(pair(Action::Turn(TurnMove::Next), Action::Turn(TurnMove::Prev), "turn"));
                items.extend(labelled(&[
                    (Action::Turn(TurnMove::NextCaller), "caller turn"),
                    (Action::Open, "play from turn"),
                    (Action::RateTurn, "rate turn"),
                    (Action::MarkReviewed, "reviewed"),
                    (Action::Search, "search"),
                    (Action::Turn(TurnMove::Slowest), "slowest"),
                    (Action::SwitchPane, "list"),
                    (Action::ToggleIntents, "intents"),
                ]));
            }
        }
    }
    // In the stats view `q` closes the view, not the app.
    let quit = if s.stats.open { "close" } else { "quit" };
    let tail: Vec<String> = [(Action::Help, "help"), (Action::Quit, quit)]
        .into_iter()
        .filter_map(|(a, label)| key(a).map(|k| format!("{k} {label}")))
        .collect();
    let mut used: usize = tail.iter().map(|t| t.len() + 3).sum::<usize>() + 1;
    let mut parts = Vec::new();
    for p in items.into_iter().flatten() {
        if used + p.len() + 3 > cols {
            break;
        }
        used += p.len() + 3;
        parts.push(p);
    }
    if s.overlay == Overlay::None {
        parts.extend(tail);
    }
    format!(" {}", parts.join(" · "))
}

/// The end of `s` in at most `max` columns, starting with `…` when something was cut.
fn tail(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    let mut kept = Vec::new();
    let mut used = 1;
    for c in s.chars().rev() {
        let w = width(c.encode_utf8(&mut [0; 4]));
        if used + w > max {
            break;
        }
        used += w;
        kept.push(c);
    }
    std::iter::once('…').chain(kept.into_iter().rev()).collect()
}

pub fn render_status(buf: &mut Buffer, area: Rect, s: &State, theme: &Theme) {
    if area.height == 0 {
        return;
    }
    let w = area.width as usize;
    if let Some(input) = &s.input {
        let turn_label;
        let (label, help) = match &input.kind {
            InputKind::ListSearch => (
                "search transcripts",
                "as you type: cache · enter: server too · user:/agent: prefix · esc clear",
            ),
            InputKind::Filter => (
                "filter",
                "enter apply · esc cancel · voice chat handoff !handoff in-progress duration:60..300 intent:X latency>2 polyscore<3 tag:X topic:X function:X safety unreviewed reviewed follow-up flagged",
            ),
            InputKind::Search => ("search", "enter keep · n/N next/prev · esc clear"),
            InputKind::Window => (
                "window (90m, 6h, 3d, today, yesterday, START..END)",
                "enter apply · esc cancel",
            ),
            InputKind::Note => ("note", "enter save (empty clears) · esc cancel"),
            InputKind::TurnComment(p) => {
                turn_label = format!("turn {} comment", p.target.turn + 1);
                (turn_label.as_str(), "enter save (empty clears) · esc keep as it was")
            }
        };
        // The caret and a note (why a key did nothing, a bad window) stay on the line however
        // long the text: the text shows its end.
        let note_w = s.status.note.as_deref().map_or(0, |n| width(&sanitize_line(n)) + 2);
        let room = w.saturating_sub(width(label) + 4 + note_w).max(8);
        let text = tail(&sanitize_line(&input.text), room);
        let line = Line::from(vec![
            Span::styled(
                format!(" {label}: "),
                Theme::fg(theme.accent).add_modifier(Modifier::BOLD),
            ),
            Span::raw(text.clone()),
            Span::styled("▏", Theme::fg(theme.accent)),
            Span::styled(format!("   {help}"), theme.dim()),
        ]);
        // A note (e.g. a bad window) stays visible while typing.
        let line = match &s.status.note {
            Some(n) => Line::from(vec![
                Span::styled(format!(" {label}: "), Theme::fg(theme.accent)),
                Span::raw(text),
                Span::styled("▏ ", Theme::fg(theme.accent)),
                Span::styled(sanitize_line(n), Theme::fg(theme.warn)),
            ]),
            None => line,
        };
        buf.set_line(area.x, area.y, &line, area.width);
        return;
    }
    let (text, style) = if let Some(n) = &s.status.note {
        (format!(" {}", sanitize_line(n)), Theme::fg(theme.accent))
    } else if let Some(t) = crate::app::jumps::searching_text(s) {
        (format!(" {t}"), Theme::fg(theme.accent))
    } else if let Some(r) = &s.status.retry {
        (
            format!(" ⏳ {}", sanitize_line(r)),
            Theme::fg(theme.warn).add_modifier(Modifier::BOLD),
        )
    } else {
        (hints(s, w), theme.dim())
    };
    buf.set_stringn(area.x, area.y, text, w, style);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::state::Input;

    #[test]
    fn a_long_input_keeps_its_caret_and_the_note_on_the_line() {
        // Before: 150 typed characters pushed the caret and the note off the 100 columns.
        let mut s = State::new(
            crate::app::KeyMap::default(),
            crate::app::Identity::default(),
            "live",
            chrono::Utc::now(),
            chrono::FixedOffset::east_opt(0).unwrap(),
            (100, 30),
        );
        s.input = Some(Input {
            kind: InputKind::Filter,
            text: "voice ".repeat(25) + "END",
        });
        s.status.note = Some("tab: not used while typing".into());
        let mut buf = Buffer::empty(Rect::new(0, 0, 100, 1));
        let area = buf.area;
        render_status(&mut buf, area, &s, &Theme::default());
        let line = crate::ui::buffer_text(&buf);
        assert!(line.contains("END▏"), "{line}");
        assert!(line.contains("tab: not used while typing"), "{line}");
        assert!(line.contains(" filter: …"), "{line}");
    }
}
