//! The player bar: state, call, position/duration, a waveform that doubles as the clickable
//! progress bar (played part in the accent colour, not yet downloaded part dotted), speed,
//! volume, direction, download progress and follow. Geometry comes from `app::player` so
//! mouse clicks hit what is drawn.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};

use crate::app::keymap::{Action, PlayerAction};
use crate::app::player::{bar_rect, bar_texts};
use crate::app::state::State;
use crate::audio::{PlaybackState, fit_width, sparkline};

use super::Theme;

/// One character per column: the envelope where it has downloaded, `·` where it has not.
fn waveform(s: &State, width: usize) -> Vec<char> {
    let p = &s.player;
    if p.levels.is_empty() {
        return vec!['·'; width];
    }
    // Scaled to the loudest bucket so quiet recordings still show their shape.
    let peak = p.levels.iter().copied().fold(0.0f32, f32::max);
    let scaled: Vec<f32> = fit_width(&p.levels, width)
        .into_iter()
        .map(|l| if peak > 0.0 { l / peak } else { 0.0 })
        .collect();
    let wave: Vec<char> = sparkline(&scaled).chars().collect();
    let known = match p.download_total {
        Some(t) if t > 0 => ((p.downloaded.min(t) as f64 / t as f64) * width as f64).ceil() as usize,
        _ => width,
    };
    wave.into_iter()
        .enumerate()
        .map(|(i, c)| if i < known { c } else { '·' })
        .collect()
}

fn idle_line<'a>(s: &State, theme: &Theme) -> Line<'a> {
    let km = &s.keymap;
    let key = |a| km.first(a).unwrap_or_else(|| "?".into());
    let mut spans = vec![
        Span::styled(" ▷ ", Theme::fg(theme.accent)),
        Span::styled(
            format!(
                "{} play · {} save · recordings of voice calls",
                key(Action::Player(PlayerAction::PlayPause)),
                key(Action::Player(PlayerAction::SaveRecording))
            ),
            theme.dim(),
        ),
    ];
    if s.player.no_device.is_some() {
        spans.push(Span::styled(" · no audio device", Theme::fg(theme.warn)));
    }
    Line::from(spans)
}

pub fn render(buf: &mut Buffer, area: Rect, s: &State, theme: &Theme) {
    if area.height == 0 || area.width == 0 {
        return;
    }
    let Some(texts) = bar_texts(s) else {
        buf.set_line(area.x, area.y, &idle_line(s, theme), area.width);
        return;
    };
    let p = &s.player;
    let state_style = match p.state {
        PlaybackState::Playing => Theme::fg(theme.accent).add_modifier(Modifier::BOLD),
        PlaybackState::Buffering | PlaybackState::Paused => Theme::fg(theme.warn),
        PlaybackState::Error(_) => Theme::fg(theme.error).add_modifier(Modifier::BOLD),
        _ => theme.dim(),
    };
    let mut spans = vec![Span::styled(texts.left, state_style)];
    if let Some(bar) = bar_rect(s) {
        let w = bar.width as usize;
        let played = match p.duration {
            Some(d) if !d.is_zero() => ((p.position.as_secs_f64() / d.as_secs_f64()) * w as f64).round() as usize,
            _ => 0,
        };
        let played = played.min(w.saturating_sub(1));
        let wave = waveform(s, w);
        // Played part in the accent colour, the playhead as a bar, the rest dim.
        let before: String = wave[..played].iter().collect();
        let after: String = wave[played + 1..].iter().collect();
        spans.push(Span::styled(before, Theme::fg(theme.accent)));
        spans.push(Span::styled("┃", Theme::fg(theme.accent).add_modifier(Modifier::BOLD)));
        spans.push(Span::styled(after, theme.dim()));
    }
    spans.push(Span::styled(texts.right, theme.dim()));
    if let Some(alert) = texts.alert {
        let style = if p.error.is_some() { theme.error } else { theme.warn };
        spans.push(Span::styled(alert, Theme::fg(style)));
    }
    buf.set_line(area.x, area.y, &Line::from(spans), area.width);
}
