//! The audio player in the TUI, headless: keys → `Effect::Audio` commands, engine events →
//! the player bar and the transcript follow. Snapshots of the bar and of a followed screen.

use crate::support::tui as tui_support;

use std::time::Duration;

use callscope::api::AudioDirection;
use callscope::app::player::{NO_CHAT_RECORDING, bar_rect, turn_at_top};
use callscope::app::{Effect, IoEffect, Msg, State, update};
use callscope::audio::{AudioCommand, AudioEvent, PlaybackState};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use insta::assert_snapshot;
use tui_support::*;

fn audio(fx: &[Effect]) -> Vec<AudioCommand> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Audio(c) => Some(c.clone()),
            _ => None,
        })
        .collect()
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn ev(s: &mut State, e: AudioEvent) {
    assert!(audio(&update(s, Msg::Audio(e))).is_empty());
}

/// Ten conversations with their turns (row 0 is in progress, row 3 a chat), row 1 selected.
fn loaded(w: u16, h: u16) -> State {
    let mut s = state(w, h);
    started_with(&mut s, page(0..10, None, true));
    update(&mut s, key('j'));
    s
}

/// Plays the selected call and reports it playing with a format, as the engine would.
fn playing(s: &mut State) {
    let fx = update(s, key(' '));
    assert!(matches!(audio(&fx)[..], [AudioCommand::Play { .. }]), "{fx:?}");
    engine_started(s);
}

/// What the engine reports once the header is in and the prebuffer filled.
fn engine_started(s: &mut State) {
    ev(
        s,
        AudioEvent::Format {
            channels: 1,
            sample_rate: 8000,
            bits_per_sample: 16,
            duration: secs(40),
            envelope_len: 400,
        },
    );
    ev(s, AudioEvent::State(PlaybackState::Playing));
}

#[test]
fn space_on_a_voice_call_plays_it_with_its_duration_hint() {
    let mut s = loaded(120, 40);
    let fx = update(&mut s, key(' '));
    assert_eq!(
        audio(&fx),
        vec![AudioCommand::Play {
            conversation_id: conv(1, false).id,
            direction: AudioDirection::Combined,
            total_duration_hint: Some(secs(57)),
            start_at: Duration::ZERO,
        }]
    );
    assert_eq!(s.player.playing_id(), Some(conv(1, false).id.as_str()));
    assert_eq!(s.player.state, PlaybackState::Buffering);
    assert!(render(&s).contains("buffering"));
}

#[test]
fn chat_calls_have_no_recording_and_call_nothing() {
    let mut s = loaded(120, 40);
    for _ in 0..2 {
        update(&mut s, key('j'));
    }
    assert_eq!(s.list.selected().unwrap().id.as_ref(), conv(3, false).id);
    let fx = update(&mut s, key(' '));
    assert!(audio(&fx).is_empty(), "{fx:?}");
    assert_eq!(s.status.note.as_deref(), Some(NO_CHAT_RECORDING));
    assert!(render(&s).contains("no recording for chat"));
    let fx = update(&mut s, key('s'));
    assert!(
        !fx.iter()
            .any(|e| matches!(e, Effect::Io(IoEffect::SaveRecording { .. })))
    );
    assert_eq!(s.status.note.as_deref(), Some(NO_CHAT_RECORDING));
}

#[test]
fn space_toggles_the_playing_call_and_replaces_it_on_another() {
    let mut s = loaded(120, 40);
    playing(&mut s);
    assert_eq!(audio(&update(&mut s, key(' '))), vec![AudioCommand::TogglePause]);
    // Moving to another call stops the old stream (and its download), and says which.
    let fx = update(&mut s, key('j'));
    assert_eq!(audio(&fx), vec![AudioCommand::Stop]);
    assert!(render(&s).contains(&format!("stopped {}", &conv(1, false).id[..11])));
    // Space on the new selection plays it.
    let fx = update(&mut s, key(' '));
    match &audio(&fx)[..] {
        [AudioCommand::Play { conversation_id, .. }] => assert_eq!(*conversation_id, conv(2, false).id),
        other => panic!("expected one Play, got {other:?}"),
    }
    assert_eq!(s.player.playing_id(), Some(conv(2, false).id.as_str()));
    assert!(s.player.levels.is_empty(), "the old call's waveform is gone");
    // Stop.
    let fx = update(&mut s, key('S'));
    assert_eq!(audio(&fx), vec![AudioCommand::Stop]);
    assert_eq!(s.player.state, PlaybackState::Idle);
}

#[test]
fn seek_speed_volume_and_direction_keys_emit_clamped_commands() {
    let mut s = loaded(120, 40);
    // Nothing playing: seeking explains itself and sends nothing.
    assert!(audio(&update(&mut s, key(']'))).is_empty());
    assert!(s.status.note.as_deref().unwrap().contains("nothing is playing"));
    playing(&mut s);
    let one = |s: &mut State, c: char| {
        let mut v = audio(&update(s, key(c)));
        assert_eq!(v.len(), 1, "{c}: {v:?}");
        v.remove(0)
    };
    assert_eq!(one(&mut s, ']'), AudioCommand::SeekBy(5));
    assert_eq!(one(&mut s, '['), AudioCommand::SeekBy(-5));
    assert_eq!(one(&mut s, '}'), AudioCommand::SeekBy(30));
    assert_eq!(one(&mut s, '{'), AudioCommand::SeekBy(-30));
    assert_eq!(one(&mut s, '0'), AudioCommand::Seek(Duration::ZERO));
    assert_eq!(one(&mut s, '$'), AudioCommand::Seek(secs(40)));
    assert_eq!(one(&mut s, '>'), AudioCommand::SetSpeed(1.25));
    for _ in 0..10 {
        one(&mut s, '>');
    }
    assert_eq!(one(&mut s, '>'), AudioCommand::SetSpeed(2.0));
    for _ in 0..10 {
        one(&mut s, '<');
    }
    assert_eq!(one(&mut s, '<'), AudioCommand::SetSpeed(0.5));
    assert_eq!(one(&mut s, '-'), AudioCommand::SetVolume(0.9));
    for _ in 0..20 {
        one(&mut s, '-');
    }
    assert_eq!(one(&mut s, '-'), AudioCommand::SetVolume(0.0));
    assert_eq!(one(&mut s, '='), AudioCommand::SetVolume(0.1));
    for _ in 0..30 {
        one(&mut s, '+');
    }
    assert_eq!(one(&mut s, '+'), AudioCommand::SetVolume(2.0));
    assert_eq!(one(&mut s, 'd'), AudioCommand::SetDirection(AudioDirection::User));
    assert_eq!(one(&mut s, 'd'), AudioCommand::SetDirection(AudioDirection::Agent));
    assert_eq!(one(&mut s, 'd'), AudioCommand::SetDirection(AudioDirection::Combined));
}

/// Conversation 4 (7 turns; turn t's user input at 1 + 9t s) in a short terminal, playing.
fn long_call_playing(h: u16) -> State {
    let mut s = loaded(100, h);
    for _ in 0..3 {
        update(&mut s, key('j'));
    }
    assert_eq!(s.list.selected().unwrap().id.as_ref(), conv(4, false).id);
    assert!(s.detail.view.is_some());
    playing(&mut s);
    s
}

fn pos(s: &mut State, at: u64) {
    ev(
        s,
        AudioEvent::Position {
            position: secs(at),
            duration: Some(secs(70)),
        },
    );
}

#[test]
fn position_moves_the_spoken_turn_and_follow_keeps_it_in_view() {
    let mut s = long_call_playing(16);
    let rows = s.panes().detail_rows();
    pos(&mut s, 5);
    assert_eq!(s.player.spoken, Some(0));
    pos(&mut s, 11);
    assert_eq!(s.player.spoken, Some(1));
    pos(&mut s, 57);
    assert_eq!(s.player.spoken, Some(6));
    let start = s.detail.view.as_ref().unwrap().turn_starts[6];
    assert!(start >= rows, "the last turn starts below the first screen");
    assert!(
        (s.detail.scroll..s.detail.scroll + rows).contains(&start),
        "scroll {} keeps line {start} in view",
        s.detail.scroll
    );
}

#[test]
fn follow_off_leaves_the_scroll_alone() {
    let mut s = long_call_playing(16);
    update(&mut s, key('f'));
    assert!(!s.player.follow);
    pos(&mut s, 57);
    assert_eq!(s.player.spoken, Some(6), "the highlight still moves");
    assert_eq!(s.detail.scroll, 0, "but the reader's scroll stays");
    // Turning follow back on brings the spoken turn into view at once.
    update(&mut s, key('f'));
    assert!(s.detail.scroll > 0);
}

/// Scrolls the detail pane with `j` until turn `t` starts at the top (or it cannot go further).
fn scroll_to_turn(s: &mut State, t: usize) {
    let target = s.detail.view.as_ref().unwrap().turn_starts[t];
    for _ in 0..200 {
        if s.detail.scroll >= target {
            return;
        }
        update(s, key('j'));
    }
}

#[test]
fn enter_in_the_transcript_seeks_to_the_turn_at_the_top() {
    let mut s = long_call_playing(16);
    update(&mut s, key('f')); // follow off, so the scroll stays where we put it
    update(&mut s, code(KeyCode::Tab));
    scroll_to_turn(&mut s, 3);
    assert_eq!(turn_at_top(&s), Some(3));
    let fx = update(&mut s, code(KeyCode::Enter));
    // Turn 3: user input at 1 + 9·3 = 28 s.
    assert_eq!(audio(&fx), vec![AudioCommand::Seek(secs(28))]);
    // On a call that is not playing, Enter starts it there.
    let mut s = loaded(100, 16);
    for _ in 0..3 {
        update(&mut s, key('j'));
    }
    update(&mut s, code(KeyCode::Tab));
    scroll_to_turn(&mut s, 2);
    assert_eq!(turn_at_top(&s), Some(2));
    match &audio(&update(&mut s, code(KeyCode::Enter)))[..] {
        [
            AudioCommand::Play {
                conversation_id,
                start_at,
                ..
            },
        ] => {
            assert_eq!(*conversation_id, conv(4, false).id);
            assert_eq!(*start_at, secs(19));
        }
        other => panic!("expected Play, got {other:?}"),
    }
}

#[test]
fn a_click_on_the_bar_seeks_when_the_mouse_is_on() {
    let mut s = loaded(120, 40);
    playing(&mut s);
    let r = bar_rect(&s).expect("the bar has room at 120 columns");
    let click = |col| {
        Msg::Mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column: col,
            row: r.y,
            modifiers: KeyModifiers::NONE,
        })
    };
    assert!(
        audio(&update(&mut s, click(r.x + r.width / 2))).is_empty(),
        "mouse is off"
    );
    update(&mut s, key('m'));
    match &audio(&update(&mut s, click(r.x + r.width / 2)))[..] {
        [AudioCommand::Seek(t)] => assert!((t.as_secs_f64() - 20.0).abs() < 1.0, "{t:?}"),
        other => panic!("expected Seek, got {other:?}"),
    }
    assert_eq!(
        audio(&update(&mut s, click(r.x))),
        vec![AudioCommand::Seek(Duration::ZERO)]
    );
}

#[test]
fn save_writes_under_the_recordings_dir_and_reports() {
    let mut s = loaded(120, 40);
    s.player.recordings_dir = "/data/recordings".into();
    let id = conv(1, false).id;
    let fx = update(&mut s, key('s'));
    let saves: Vec<_> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::Io(IoEffect::SaveRecording { id, path, .. }) => Some((id.clone(), path.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(saves, vec![(id.clone(), format!("/data/recordings/{id}.wav").into())]);
    // A second `s` while saving does not start another download.
    assert!(update(&mut s, key('s')).is_empty());
    update(
        &mut s,
        Msg::SaveProgress {
            id: id.clone(),
            bytes: 500_000,
            total: Some(1_000_000),
        },
    );
    assert!(render(&s).contains("saving CA0001"), "{}", render(&s));
    assert!(s.status.note.as_deref().unwrap().contains("50%"));
    update(
        &mut s,
        Msg::SaveDone {
            id: id.clone(),
            result: Err("HTTP 404: no recording".into()),
        },
    );
    assert!(s.status.note.as_deref().unwrap().starts_with("could not save"));
    assert!(s.player.saving.is_none());
}

// ---- snapshots ----

/// The player bar (second line from the bottom).
fn bar(s: &State) -> String {
    let screen = render(s);
    let lines: Vec<&str> = screen.lines().collect();
    lines[lines.len() - 2].to_string()
}

fn with_waveform(s: &mut State) {
    let values: Vec<f32> = (0..400).map(|i| (i as f32 / 9.0).sin().abs() * 0.8).collect();
    ev(s, AudioEvent::Levels { first: 0, values });
    ev(
        s,
        AudioEvent::Download {
            bytes: 384_000,
            total: Some(640_044),
        },
    );
    pos(s, 12);
}

#[test]
fn snapshot_bar_states() {
    let mut s = loaded(120, 40);
    assert_snapshot!("bar_idle", bar(&s));
    update(&mut s, key(' '));
    assert_snapshot!("bar_buffering", bar(&s));
    engine_started(&mut s);
    with_waveform(&mut s);
    update(&mut s, key('>'));
    assert_snapshot!("bar_playing_waveform_download", bar(&s));
    ev(&mut s, AudioEvent::State(PlaybackState::Paused));
    assert_snapshot!("bar_paused", bar(&s));
    ev(
        &mut s,
        AudioEvent::NoDevice("no audio device (Unknown PCM default)".into()),
    );
    ev(&mut s, AudioEvent::State(PlaybackState::Playing));
    assert_snapshot!("bar_no_device", bar(&s));
    ev(
        &mut s,
        AudioEvent::Error("the recording ended early: 384000 of 640044 bytes (truncated)".into()),
    );
    assert_snapshot!("bar_error", bar(&s));
    assert!(
        render(&s).contains("audio: the recording ended early"),
        "status line says it too"
    );
}

#[test]
fn snapshot_screen_with_the_spoken_turn() {
    let mut s = long_call_playing(30);
    with_waveform(&mut s);
    pos(&mut s, 29);
    assert_eq!(s.player.spoken, Some(3));
    let screen = render(&s);
    assert!(screen.contains("no audio device") || !screen.contains("ALSA"));
    assert_snapshot!("screen_spoken_turn", screen);
}

#[test]
fn no_device_is_shown_and_playback_keys_still_work() {
    let mut s = loaded(120, 40);
    update(&mut s, key(' '));
    ev(
        &mut s,
        AudioEvent::NoDevice("no audio device: Unknown PCM default".into()),
    );
    assert!(bar(&s).contains("no audio device"), "{}", bar(&s));
    ev(&mut s, AudioEvent::State(PlaybackState::Playing));
    assert_eq!(audio(&update(&mut s, key(']'))), vec![AudioCommand::SeekBy(5)]);
    // The list still works.
    update(&mut s, key('j'));
    assert_eq!(s.list.sel, 2);
    let _ = KeyEvent::new(KeyCode::Char('x'), KeyModifiers::NONE);
}

#[test]
fn snapshot_bar_at_80_columns_keeps_the_essentials() {
    let mut s = loaded(80, 24);
    playing(&mut s);
    with_waveform(&mut s);
    ev(&mut s, AudioEvent::NoDevice("no audio device".into()));
    let b = bar(&s);
    assert!(
        b.contains("no audio device") && b.contains("00:12/") && b.contains("↓59%"),
        "{b}"
    );
    assert!(bar_rect(&s).is_some(), "a bar to click still fits");
    assert_snapshot!("bar_80_columns", b);
}

#[test]
fn a_call_in_progress_has_no_recording_yet() {
    let mut s = loaded(120, 40);
    update(&mut s, key('k'));
    assert_eq!(s.list.selected().unwrap().id.as_ref(), conv(0, false).id);
    for k in [' ', 's'] {
        let fx = update(&mut s, key(k));
        assert!(fx.is_empty(), "{k}: {fx:?}");
        assert!(s.status.note.as_deref().unwrap().contains("still in progress"));
    }
}
