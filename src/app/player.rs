//! The audio player's state and its part of `update`: player keys become
//! [`Effect::Audio`] commands, engine events ([`AudioEvent`]) update [`PlayerState`], and the
//! transcript follows the position (the spoken turn is highlighted and kept in view).
//!
//! Playback belongs to the selected call: whatever changes the selection to another call (a
//! move, a jump, a search hit, a view change, a reload) stops the old stream, in one place
//! ([`stop_if_elsewhere`], after every message), and the status line names what stopped.

use std::time::Duration;

use ratatui::layout::Rect;

use crate::api::AudioDirection;
use crate::audio::{AudioCommand, AudioEvent, PlaybackState, turn_start};
use crate::sanitize::sanitize_line;

use super::detail_view::current_turn;
pub use super::detail_view::{sync_follow, turn_at_top};
use super::keymap::PlayerAction;
use super::msg::{Effect, IoEffect};
use super::paging::{IN_PROGRESS, VOICE};
pub use super::player_state::{PlayerState, Playing};
use super::state::{Pane, State};
use crate::domain::clock::clock;

pub const SPEED_STEP: f32 = 0.25;
pub const SPEED_RANGE: (f32, f32) = (0.5, 2.0);
pub const VOLUME_STEP: f32 = 0.1;
pub const VOLUME_RANGE: (f32, f32) = (0.0, 2.0);
/// Columns the waveform/progress bar needs to be worth drawing.
pub const MIN_BAR: usize = 16;
pub const NO_CHAT_RECORDING: &str = "no recording for chat";
pub const IN_PROGRESS_RECORDING: &str = "call still in progress: its recording is available once it ends";

/// Why the row has no recording to fetch (chat, or a call still going on), if so.
fn no_recording(row: &super::paging::Row) -> Option<&'static str> {
    if !row.has(VOICE) {
        Some(NO_CHAT_RECORDING)
    } else if row.has(IN_PROGRESS) {
        Some(IN_PROGRESS_RECORDING)
    } else {
        None
    }
}

/// Stops the recording of a call that is no longer the selected one (README: switching calls
/// stops the old stream and cancels its download) and says so on the status line.
pub fn stop_if_elsewhere(s: &mut State, fx: &mut Vec<Effect>) {
    let Some(id) = s.player.playing_id() else {
        return;
    };
    if s.list.selected().is_some_and(|r| *r.id == *id) {
        return;
    }
    let id = id.to_string();
    let audible = matches!(
        s.player.state,
        PlaybackState::Playing | PlaybackState::Buffering | PlaybackState::Paused
    );
    if s.player.is_loaded() {
        fx.push(Effect::Audio(AudioCommand::Stop));
    }
    s.player.playing = None;
    s.player.state = PlaybackState::Idle;
    s.player.position = Duration::ZERO;
    s.player.spoken = None;
    s.player.utterance = None;
    s.player.levels.clear();
    s.player.error = None;
    if audible {
        let stopped = format!(
            "■ stopped {} (another call is selected)",
            crate::sanitize::truncate(&id, 16)
        );
        s.status.note = Some(match s.status.note.take() {
            Some(n) => format!("{n} · {stopped}"),
            None => stopped,
        });
    }
}

/// Next recording direction for `d`.
pub fn next_direction(d: AudioDirection) -> AudioDirection {
    match d {
        AudioDirection::Combined => AudioDirection::User,
        AudioDirection::User => AudioDirection::Agent,
        AudioDirection::Agent => AudioDirection::Combined,
    }
}

/// Where `s` saves the recording of `id`: the one id → file-name rule
/// ([`crate::domain::file_name`]), the same as `export --with-audio`.
pub fn recording_path(dir: &std::path::Path, id: &str) -> std::path::PathBuf {
    dir.join(crate::domain::file_name::safe_file_name(id, "wav"))
}

/// Handles the player's actions (every one: the compiler checks the match).
pub fn on_action(s: &mut State, action: PlayerAction, fx: &mut Vec<Effect>) {
    match action {
        PlayerAction::PlayPause => play_pause(s, fx),
        PlayerAction::Stop => {
            if s.player.is_loaded() {
                fx.push(Effect::Audio(AudioCommand::Stop));
                s.player.state = PlaybackState::Idle;
                s.player.position = Duration::ZERO;
                s.player.spoken = None;
            } else {
                s.status.note = Some("nothing is playing".into());
            }
        }
        PlayerAction::SeekBack => seek_by(s, -5, fx),
        PlayerAction::SeekForward => seek_by(s, 5, fx),
        PlayerAction::SeekBackLong => seek_by(s, -30, fx),
        PlayerAction::SeekForwardLong => seek_by(s, 30, fx),
        PlayerAction::SeekStart => seek_to(s, Duration::ZERO, fx),
        PlayerAction::SeekEnd => {
            // The engine clamps to the recording; seeking to its very end ends playback.
            let end = s.player.duration.unwrap_or(Duration::from_secs(24 * 3600));
            seek_to(s, end, fx)
        }
        PlayerAction::SpeedDown | PlayerAction::SpeedUp => {
            let step = if action == PlayerAction::SpeedUp {
                SPEED_STEP
            } else {
                -SPEED_STEP
            };
            let speed = (s.player.speed + step).clamp(SPEED_RANGE.0, SPEED_RANGE.1);
            s.player.speed = speed;
            s.status.note = Some(format!("speed {speed:.2}× (pitch follows the speed)"));
            fx.push(Effect::Audio(AudioCommand::SetSpeed(speed)));
        }
        PlayerAction::VolumeDown | PlayerAction::VolumeUp => {
            let step = if action == PlayerAction::VolumeUp {
                VOLUME_STEP
            } else {
                -VOLUME_STEP
            };
            // Rounded to whole percents so repeated steps land on 0 % and 200 % exactly.
            let volume = ((s.player.volume + step) * 100.0).round() / 100.0;
            let volume = volume.clamp(VOLUME_RANGE.0, VOLUME_RANGE.1);
            s.player.volume = volume;
            s.status.note = Some(format!("volume {:.0} %", volume * 100.0));
            fx.push(Effect::Audio(AudioCommand::SetVolume(volume)));
        }
        PlayerAction::CycleDirection => {
            let d = next_direction(s.player.direction);
            s.player.direction = d;
            s.status.note = Some(format!("recording: {}", d.as_str()));
            if s.player.is_loaded() {
                s.player.levels.clear();
                s.player.downloaded = 0;
                fx.push(Effect::Audio(AudioCommand::SetDirection(d)));
            }
        }
        PlayerAction::Follow => {
            s.player.follow = !s.player.follow;
            s.status.note = Some(if s.player.follow {
                "follow on: the transcript keeps the spoken turn in view".into()
            } else {
                "follow off: scroll freely (f to follow again)".into()
            });
            if s.player.follow {
                sync_follow(s, true);
            }
        }
        PlayerAction::SaveRecording => save(s, fx),
        PlayerAction::PlayUtterance => play_utterance(s, fx),
        PlayerAction::ToggleRedacted => {
            let on = !s.player.redacted.unwrap_or(false);
            s.player.redacted = Some(on);
            s.status.note = Some(if on {
                "recordings: PII-redacted (the caller's personal details are muted)".into()
            } else {
                "recordings: unredacted (keys without PII access still get the redacted one)".into()
            });
            fx.push(Effect::Audio(AudioCommand::SetRedacted(Some(on))));
            if s.player.is_loaded() {
                s.player.levels.clear();
                s.player.downloaded = 0;
            }
        }
    }
}

fn play_pause(s: &mut State, fx: &mut Vec<Effect>) {
    let Some(row) = s.list.selected() else {
        s.status.note = Some("select a voice call to play".into());
        return;
    };
    let id = row.id.to_string();
    let resumable = !matches!(s.player.state, PlaybackState::Idle | PlaybackState::Error(_));
    if s.player.playing_id() == Some(id.as_str()) && resumable {
        fx.push(Effect::Audio(AudioCommand::TogglePause));
        return;
    }
    if let Some(why) = no_recording(row) {
        s.status.note = Some(why.into());
        return;
    }
    start(s, Duration::ZERO, fx);
}

/// Starts the selected call's recording at `at` (replacing whatever plays).
fn start(s: &mut State, at: Duration, fx: &mut Vec<Effect>) {
    let Some(row) = s.list.selected() else { return };
    let id = row.id.to_string();
    let hint = (row.duration != u32::MAX).then(|| Duration::from_secs(row.duration.into()));
    let started_at = s
        .detail
        .cache
        .get(&id)
        .and_then(|c| c.started_at)
        .or_else(|| row.started_at());
    let p = &mut s.player;
    p.playing = Some(Playing {
        id: id.clone(),
        started_at,
    });
    p.state = PlaybackState::Buffering;
    p.utterance = None;
    p.position = at;
    p.duration = hint;
    p.downloaded = 0;
    p.download_total = None;
    p.levels.clear();
    p.error = None;
    p.spoken = None;
    fx.push(Effect::Audio(AudioCommand::Play {
        conversation_id: id,
        direction: p.direction,
        total_duration_hint: hint,
        start_at: at,
    }));
}

/// `p`: the current caller turn's utterance alone, from its `user_input_audio_url`.
fn play_utterance(s: &mut State, fx: &mut Vec<Effect>) {
    let Some(row) = s.list.selected() else {
        s.status.note = Some("select a voice call first".into());
        return;
    };
    if let Some(why) = no_recording(row) {
        s.status.note = Some(why.into());
        return;
    }
    let id = row.id.to_string();
    let Some(turn) = current_turn(s) else {
        s.status.note = Some("open the transcript and scroll a caller turn to the top (▸), then p".into());
        return;
    };
    let Some(c) = s.detail.cache.get(&id) else { return };
    let Some(t) = c.turns.get(turn) else { return };
    if t.user_input.is_empty() && t.user_input_dtmf.is_empty() {
        s.status.note = Some(format!("turn {} has no caller utterance", turn + 1));
        return;
    }
    if t.user_input_audio_url.is_empty() {
        s.status.note = Some(format!(
            "turn {}: the API offers no audio for this utterance (space plays the whole call)",
            turn + 1
        ));
        return;
    }
    let url = t.user_input_audio_url.clone();
    let started_at = c.started_at.or_else(|| row.started_at());
    let p = &mut s.player;
    p.playing = Some(Playing {
        id: id.clone(),
        started_at,
    });
    p.state = PlaybackState::Buffering;
    p.utterance = Some(turn);
    p.position = Duration::ZERO;
    p.duration = None;
    p.downloaded = 0;
    p.download_total = None;
    p.levels.clear();
    p.error = None;
    p.spoken = None;
    s.status.note = Some(format!("playing turn {}'s utterance alone", turn + 1));
    fx.push(Effect::Audio(AudioCommand::PlayUtterance {
        conversation_id: id,
        url,
        duration_hint: None,
    }));
}

fn seek_by(s: &mut State, secs: i64, fx: &mut Vec<Effect>) {
    if !s.player.is_loaded() {
        s.status.note = Some("nothing is playing: space plays the selected voice call".into());
        return;
    }
    fx.push(Effect::Audio(AudioCommand::SeekBy(secs)));
}

fn seek_to(s: &mut State, t: Duration, fx: &mut Vec<Effect>) {
    if !s.player.is_loaded() {
        s.status.note = Some("nothing is playing: space plays the selected voice call".into());
        return;
    }
    fx.push(Effect::Audio(AudioCommand::Seek(t)));
}

/// Enter in the transcript: play the shown call from the turn at the top of the view.
pub fn play_from_top_turn(s: &mut State, fx: &mut Vec<Effect>) {
    let Some(row) = s.list.selected() else { return };
    if let Some(why) = no_recording(row) {
        s.status.note = Some(why.into());
        return;
    }
    let id = row.id.to_string();
    let Some(turn) = turn_at_top(s) else {
        s.status.note = Some("no turns to play from".into());
        return;
    };
    let Some(c) = s.detail.cache.get(&id) else { return };
    let started = c.started_at.or_else(|| s.list.selected().and_then(|r| r.started_at()));
    let Some(at) = started.and_then(|st| turn_start(&c.turns, st, turn)) else {
        s.status.note = Some(format!("turn {} has no time to seek to", turn + 1));
        return;
    };
    s.status.note = Some(format!(
        "playing from turn {} at {}",
        turn + 1,
        clock(at.as_secs() as i64)
    ));
    if s.player.playing_id() == Some(id.as_str()) && s.player.is_loaded() {
        fx.push(Effect::Audio(AudioCommand::Seek(at)));
        if s.player.state == PlaybackState::Paused {
            fx.push(Effect::Audio(AudioCommand::Resume));
        }
    } else {
        start(s, at, fx);
    }
    s.player.position = at;
    sync_follow(s, true);
}

/// An event from the engine.
pub fn on_audio(s: &mut State, ev: AudioEvent) {
    let p = &mut s.player;
    match ev {
        AudioEvent::State(st) => {
            if let PlaybackState::Error(e) = &st {
                let e = sanitize_line(e);
                s.status.note = Some(format!("audio: {e}"));
                p.error = Some(e);
            }
            p.state = st;
        }
        AudioEvent::NoDevice(reason) => p.no_device = Some(sanitize_line(&reason)),
        AudioEvent::Format {
            duration, envelope_len, ..
        } => {
            p.duration = Some(duration);
            p.levels.resize(envelope_len.min(1 << 20), 0.0);
        }
        AudioEvent::Position { position, duration } => {
            p.position = position;
            if duration.is_some() {
                p.duration = duration;
            }
            sync_follow(s, false);
        }
        AudioEvent::Download { bytes, total } => {
            p.downloaded = bytes;
            p.download_total = total;
        }
        AudioEvent::Levels { first, values } => {
            let end = first.saturating_add(values.len()).min(1 << 20);
            if end > p.levels.len() {
                p.levels.resize(end, 0.0);
            }
            for (i, v) in values.into_iter().enumerate().take(end.saturating_sub(first)) {
                p.levels[first + i] = if v.is_finite() { v.clamp(0.0, 1.0) } else { 0.0 };
            }
        }
        AudioEvent::Error(e) => {
            let e = sanitize_line(&e);
            s.status.note = Some(format!("audio: {e}"));
            p.error = Some(e);
        }
    }
}

fn save(s: &mut State, fx: &mut Vec<Effect>) {
    let Some(row) = s.list.selected() else {
        s.status.note = Some("select a voice call to save".into());
        return;
    };
    if let Some(why) = no_recording(row) {
        s.status.note = Some(why.into());
        return;
    }
    if let Some(id) = &s.player.saving {
        s.status.note = Some(format!("still saving {id}…"));
        return;
    }
    let id = row.id.to_string();
    let path = recording_path(&s.player.recordings_dir, &id);
    s.player.saving = Some(id.clone());
    s.status.note = Some(format!("saving {id}…"));
    fx.push(Effect::Io(IoEffect::SaveRecording {
        id,
        direction: s.player.direction,
        path,
        redacted: s.player.redacted,
    }));
}

pub fn on_save_progress(s: &mut State, id: &str, bytes: u64, total: Option<u64>) {
    let got = format!("{:.1} MB", bytes as f64 / 1e6);
    s.status.note = Some(match total {
        Some(t) if t > 0 => format!("saving {id}… {}% ({got})", bytes * 100 / t),
        _ => format!("saving {id}… {got}"),
    });
}

pub fn on_save_done(s: &mut State, id: &str, result: Result<String, String>) {
    s.player.saving = None;
    s.status.note = Some(match result {
        Ok(summary) => summary,
        Err(e) => format!("could not save {id}: {}", sanitize_line(&e)),
    });
}

// ---- the bar's geometry, shared by the renderer and mouse clicks ----

/// The player line: text left of the waveform/progress bar, right of it, and an alert
/// (error or missing device) at the end.
#[derive(Debug, Clone, PartialEq)]
pub struct BarTexts {
    pub left: String,
    pub right: String,
    pub alert: Option<String>,
}

pub fn bar_texts(s: &State) -> Option<BarTexts> {
    let p = &s.player;
    let playing = p.playing.as_ref()?;
    let (icon, label) = match &p.state {
        PlaybackState::Idle => ("■", "stopped"),
        PlaybackState::Buffering => ("⟳", "buffering"),
        PlaybackState::Playing => ("▶", "playing"),
        PlaybackState::Paused => ("⏸", "paused"),
        PlaybackState::Ended => ("■", "ended"),
        PlaybackState::Error(_) => ("✖", "error"),
    };
    let dur = p.duration.map_or("--:--".to_string(), |d| clock(d.as_secs() as i64));
    let pos = clock(p.position.as_secs() as i64);
    let download = match p.download_total {
        Some(t) if t > 0 && p.downloaded < t => format!(" ↓{}%", p.downloaded * 100 / t),
        Some(_) => String::new(),
        None if p.downloaded > 0 && p.state != PlaybackState::Ended => {
            format!(" ↓{:.1}MB", p.downloaded as f64 / 1e6)
        }
        None => String::new(),
    };
    let alert = match (&p.error, &p.no_device) {
        (Some(e), _) => Some(format!(" ✖ {}", crate::sanitize::truncate(e, 32))),
        (None, Some(_)) => Some(" · no audio device".to_string()),
        (None, None) => None,
    };
    // On narrow screens the least useful parts go first (follow, direction, volume, a long
    // id), so the state, position, download and alert always fit beside a short bar.
    let width = s.width as usize;
    let alert_w = alert.as_deref().map_or(0, crate::sanitize::width);
    let mut texts = BarTexts {
        left: String::new(),
        right: String::new(),
        alert,
    };
    for level in 0..5 {
        let id = crate::sanitize::truncate(&playing.id, if level >= 4 { 6 } else { 12 });
        texts.left = format!(" {icon} {label:<9} {id}  {pos}/{dur} ");
        texts.right = format!(
            " {:.2}×{}{}{}{}{}",
            p.speed,
            if level < 3 {
                format!(" vol {:.0}%", p.volume * 100.0)
            } else {
                String::new()
            },
            match (level < 2, p.utterance) {
                (true, Some(t)) => format!(" turn {}", t + 1),
                (true, None) => format!(" {}", p.direction.as_str()),
                (false, _) => String::new(),
            },
            if p.redacted == Some(true) { " redacted" } else { "" },
            download,
            if p.follow && level < 1 { " follow" } else { "" },
        );
        let used = crate::sanitize::width(&texts.left) + crate::sanitize::width(&texts.right) + alert_w;
        if used + MIN_BAR <= width {
            break;
        }
    }
    Some(texts)
}

/// Where the clickable waveform/progress bar is inside the player line.
pub fn bar_rect(s: &State) -> Option<Rect> {
    let area = s.panes().player;
    let t = bar_texts(s)?;
    let w = |x: &str| crate::sanitize::width(x) as u16;
    let lw = w(&t.left);
    let rw = w(&t.right) + t.alert.as_deref().map_or(0, w);
    let width = area.width.checked_sub(lw + rw)?.min(80);
    (width >= 4 && area.height > 0).then_some(Rect {
        x: area.x + lw,
        y: area.y,
        width,
        height: 1,
    })
}

/// A click on the bar: seek to the same fraction of the recording.
pub fn on_click(s: &mut State, column: u16, row: u16, fx: &mut Vec<Effect>) -> bool {
    let Some(r) = bar_rect(s) else { return false };
    if !super::layout::contains(r, column, row) {
        return false;
    }
    let Some(d) = s.player.duration.filter(|_| s.player.is_loaded()) else {
        return true;
    };
    let frac = (column - r.x) as f64 / r.width.max(1) as f64;
    fx.push(Effect::Audio(AudioCommand::Seek(d.mul_f64(frac))));
    true
}

/// Whether Enter plays from the top turn: the transcript has the focus and is laid out.
pub fn enter_plays(s: &State) -> bool {
    s.focus == Pane::Detail && s.detail.view.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_from_untrusted_ids_stay_in_the_directory() {
        let dir = std::path::Path::new("/data/recordings");
        assert_eq!(recording_path(dir, "CA7f3e-01"), dir.join("CA7f3e-01.wav"));
        assert_eq!(
            recording_path(dir, "../../etc/passwd"),
            dir.join("______etc_passwd.wav")
        );
        // The same name `export --with-audio` gives it (this was `CA.1.wav` here, `CA_1.wav` there).
        assert_eq!(recording_path(dir, "CA.1"), dir.join("CA_1.wav"));
        assert_eq!(
            recording_path(dir, "CA.1"),
            crate::export::audio_jobs::recording_path(dir, "CA.1")
        );
    }

    #[test]
    fn directions_cycle() {
        let mut d = AudioDirection::Combined;
        for _ in 0..3 {
            d = next_direction(d);
        }
        assert_eq!(d, AudioDirection::Combined);
        assert_eq!(next_direction(d), AudioDirection::User);
    }
}
