//! `p` plays the current caller turn's utterance alone (its `user_input_audio_url`), `P`
//! toggles PII-redacted recordings (shown in the player bar, applied to playback and `s`).
//! Headless `update` + render.

use crate::support::tui as tui_support;

use callscope::app::{Effect, IoEffect, Msg, State, update};
use callscope::audio::{AudioCommand, AudioEvent, PlaybackState};
use crossterm::event::KeyCode;
use tui_support::*;

fn audio(fx: &[Effect]) -> Vec<AudioCommand> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Audio(c) => Some(c.clone()),
            _ => None,
        })
        .collect()
}

/// Ten conversations whose caller turns carry a relative `user_input_audio_url` (except
/// conversation 2's), row 1 selected, the transcript focused.
fn loaded() -> State {
    let mut s = state(120, 40);
    let mut p = page(0..10, None, true);
    for c in p.conversations.iter_mut().filter(|c| !c.id.starts_with("CA0002")) {
        for (n, t) in c.turns.iter_mut().enumerate() {
            if !t.user_input.is_empty() {
                t.user_input_audio_url = format!("conversations/{}/turns/{n}/audio", c.id);
            }
        }
    }
    started_with(&mut s, p);
    update(&mut s, key('j'));
    update(&mut s, code(KeyCode::Tab));
    s
}

/// Scrolls the transcript with `j` until turn `t` is at the top.
fn scroll_to_turn(s: &mut State, t: usize) {
    let target = s.detail.view.as_ref().unwrap().turn_starts[t];
    for _ in 0..200 {
        if s.detail.scroll >= target {
            return;
        }
        update(s, key('j'));
    }
    panic!("could not scroll to turn {t}");
}

/// The player line (second from the bottom).
fn player_line(s: &State) -> String {
    let screen = render(s);
    let lines: Vec<&str> = screen.trim_end_matches('\n').lines().collect();
    lines[lines.len() - 2].to_string()
}

#[test]
fn p_plays_the_caller_turn_at_the_top_alone() {
    let mut s = loaded();
    let id = conv(1, false).id;
    // Turn 1 is the greeting: the agent only.
    let fx = update(&mut s, key('p'));
    assert!(audio(&fx).is_empty(), "{fx:?}");
    assert_eq!(s.status.note.as_deref(), Some("turn 1 has no caller utterance"));

    scroll_to_turn(&mut s, 1);
    let fx = update(&mut s, key('p'));
    assert_eq!(
        audio(&fx),
        vec![AudioCommand::PlayUtterance {
            conversation_id: id.clone(),
            url: format!("conversations/{id}/turns/1/audio"),
            duration_hint: None,
        }]
    );
    assert_eq!(s.player.utterance, Some(1));
    update(&mut s, Msg::Audio(AudioEvent::State(PlaybackState::Playing)));
    update(
        &mut s,
        Msg::Audio(AudioEvent::Position {
            position: std::time::Duration::from_secs(1),
            duration: Some(std::time::Duration::from_secs(2)),
        }),
    );
    assert_eq!(s.player.spoken, Some(1), "the utterance's turn stays highlighted");
    let bar = player_line(&s);
    assert!(bar.contains("playing") && bar.contains("turn 2"), "{bar}");

    // `space` on the whole call replaces the utterance with the call.
    let fx = update(&mut s, code(KeyCode::Tab));
    assert!(audio(&fx).is_empty());
    update(&mut s, Msg::Audio(AudioEvent::State(PlaybackState::Idle)));
    let fx = update(&mut s, key(' '));
    assert!(matches!(audio(&fx)[..], [AudioCommand::Play { .. }]), "{fx:?}");
    assert_eq!(s.player.utterance, None);
}

#[test]
fn p_says_so_where_the_api_offers_no_utterance_audio() {
    let mut s = loaded();
    update(&mut s, code(KeyCode::Tab));
    update(&mut s, key('j')); // row 2: conversation 2, without utterance URLs
    assert_eq!(s.list.selected().unwrap().id.as_ref(), conv(2, false).id);
    update(&mut s, code(KeyCode::Tab));
    scroll_to_turn(&mut s, 1);
    let fx = update(&mut s, key('p'));
    assert!(audio(&fx).is_empty(), "{fx:?}");
    let note = s.status.note.clone().unwrap();
    assert!(note.contains("offers no audio for this utterance"), "{note}");
}

#[test]
fn shift_p_toggles_redacted_recordings_for_playback_and_saving() {
    let mut s = loaded();
    let fx = update(&mut s, key('P'));
    assert_eq!(audio(&fx), vec![AudioCommand::SetRedacted(Some(true))]);
    assert_eq!(s.player.redacted, Some(true));
    update(&mut s, key(' '));
    update(&mut s, Msg::Audio(AudioEvent::State(PlaybackState::Playing)));
    let bar = player_line(&s);
    assert!(bar.contains("redacted"), "{bar}");
    let fx = update(&mut s, key('s'));
    assert!(
        fx.iter().any(|e| matches!(
            e,
            Effect::Io(IoEffect::SaveRecording {
                redacted: Some(true),
                ..
            })
        )),
        "{fx:?}"
    );
    update(
        &mut s,
        Msg::SaveDone {
            id: conv(1, false).id,
            result: Ok("saved".into()),
        },
    );
    let fx = update(&mut s, key('P'));
    assert_eq!(audio(&fx), vec![AudioCommand::SetRedacted(Some(false))]);
    assert!(!player_line(&s).contains("redacted"), "{}", player_line(&s));
}
