//! The engine as the TUI uses it: commands in, events out, on a machine without a sound card
//! (the engine reports NoDevice and plays through its silent real-time output). The NoDevice
//! test makes ALSA see no device whatever the machine has.

use std::time::Duration;

use callscope::api::AudioDirection;
#[path = "support/testserver.rs"]
#[allow(dead_code)]
mod testserver;
use callscope::audio::{AudioCommand, AudioEngine, AudioEvent, EngineOptions, PlaybackState};
use testserver::{Reply, ServerConfig, TestServer, tone_wav};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

/// Waits for the first event matching `pred` (the timeout only guards against a hang).
async fn wait_for(
    rx: &mut UnboundedReceiver<AudioEvent>,
    log: &mut Vec<AudioEvent>,
    pred: impl Fn(&AudioEvent) -> bool,
) -> AudioEvent {
    let found = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(e) = rx.recv().await {
            log.push(e.clone());
            if pred(&e) {
                return e;
            }
        }
        panic!("engine stopped");
    })
    .await;
    found.unwrap_or_else(|_| panic!("no matching event; saw {log:#?}"))
}

fn is_state(s: PlaybackState) -> impl Fn(&AudioEvent) -> bool {
    move |e| *e == AudioEvent::State(s.clone())
}

fn play(id: &str, start_at: Duration) -> AudioCommand {
    AudioCommand::Play {
        conversation_id: id.into(),
        direction: AudioDirection::Combined,
        total_duration_hint: Some(Duration::from_secs(3)),
        start_at,
    }
}

async fn server() -> TestServer {
    let (combined, _) = tone_wav(8_000, 1, 3.0);
    let (user, _) = tone_wav(16_000, 1, 3.0);
    TestServer::start(ServerConfig {
        replies: [
            ("call".to_string(), Reply::Wav(combined.into())),
            ("call?direction=user".to_string(), Reply::Wav(user.into())),
            (
                "chat".to_string(),
                Reply::Status(
                    404,
                    r#"{"error_code":"CONVERSATIONS_RECORDING_NOT_FOUND","error_message":"Recording not found"}"#
                        .into(),
                ),
            ),
        ]
        .into(),
        ..Default::default()
    })
    .await
}

const NO_DEVICE_CHILD: &str = "CALLSCOPE_NO_DEVICE_CHILD";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_device_is_reported_and_playback_still_runs_to_the_end() {
    // Whatever sound hardware this machine has, the test runs again as a child process whose
    // ALSA `default` device is a card that does not exist.
    if std::env::var_os(NO_DEVICE_CHILD).is_none() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("asound.conf");
        std::fs::write(
            &conf,
            "pcm.!default { type hw; card 99 }\nctl.!default { type hw; card 99 }\n",
        )
        .unwrap();
        let child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "no_device_is_reported_and_playback_still_runs_to_the_end",
                "--exact",
                "--nocapture",
            ])
            .env(NO_DEVICE_CHILD, "1")
            .env(
                "ALSA_CONFIG_PATH",
                format!("/usr/share/alsa/alsa.conf:{}", conf.display()),
            )
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&child.stdout);
        assert!(
            child.status.success() && out.contains("1 passed"),
            "child failed:\n{out}\n{}",
            String::from_utf8_lossy(&child.stderr)
        );
        return;
    }
    let server = server().await;
    let (tx, mut rx) = unbounded_channel();
    let engine = AudioEngine::start(server.client(), tx);
    let mut log = Vec::new();
    engine.send(play("call", Duration::from_secs(2)));
    let e = wait_for(&mut rx, &mut log, |e| matches!(e, AudioEvent::NoDevice(_))).await;
    let AudioEvent::NoDevice(reason) = e else {
        unreachable!()
    };
    assert!(reason.contains("no audio device"), "{reason}");
    let e = wait_for(&mut rx, &mut log, |e| matches!(e, AudioEvent::Format { .. })).await;
    assert_eq!(
        e,
        AudioEvent::Format {
            channels: 1,
            sample_rate: 8_000,
            bits_per_sample: 16,
            duration: Duration::from_secs(3),
            envelope_len: 30,
        }
    );
    wait_for(&mut rx, &mut log, is_state(PlaybackState::Playing)).await;
    wait_for(&mut rx, &mut log, is_state(PlaybackState::Ended)).await;
    let positions: Vec<Duration> = log
        .iter()
        .filter_map(|e| match e {
            AudioEvent::Position { position, .. } => Some(*position),
            _ => None,
        })
        .collect();
    assert!(
        positions.iter().all(|p| *p >= Duration::from_secs(2)),
        "started at 2 s: {positions:?}"
    );
    assert_eq!(positions.last(), Some(&Duration::from_secs(3)));
    assert!(positions.windows(2).all(|w| w[0] <= w[1]), "{positions:?}");
    assert!(log.iter().any(|e| matches!(e, AudioEvent::Levels { .. })));
    assert!(
        log.iter()
            .any(|e| matches!(e, AudioEvent::Download { bytes, total: Some(t) } if bytes == t))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controls_seek_pause_speed_direction() {
    let server = server().await;
    let (tx, mut rx) = unbounded_channel();
    let options = EngineOptions {
        use_device: false,
        ..Default::default()
    };
    let engine = AudioEngine::start_with(server.client(), tx, options);
    let mut log = Vec::new();
    engine.send(play("call", Duration::ZERO));
    wait_for(&mut rx, &mut log, is_state(PlaybackState::Playing)).await;

    engine.send(AudioCommand::Pause);
    wait_for(&mut rx, &mut log, is_state(PlaybackState::Paused)).await;
    engine.send(AudioCommand::Seek(Duration::from_millis(1500)));
    let e = wait_for(&mut rx, &mut log, |e| matches!(e, AudioEvent::Position { .. })).await;
    assert_eq!(
        e,
        AudioEvent::Position {
            position: Duration::from_millis(1500),
            duration: Some(Duration::from_secs(3))
        }
    );
    engine.send(AudioCommand::SeekBy(-5));
    let e = wait_for(&mut rx, &mut log, |e| matches!(e, AudioEvent::Position { .. })).await;
    assert!(
        matches!(
            e,
            AudioEvent::Position {
                position: Duration::ZERO,
                ..
            }
        ),
        "{e:?}"
    );
    engine.send(AudioCommand::SeekBy(1));
    wait_for(
        &mut rx,
        &mut log,
        |e| matches!(e, AudioEvent::Position { position, .. } if *position == Duration::from_secs(1)),
    )
    .await;

    // Switch to the caller's side: same position, new download (16 kHz), still paused.
    engine.send(AudioCommand::SetDirection(AudioDirection::User));
    let e = wait_for(&mut rx, &mut log, |e| matches!(e, AudioEvent::Format { .. })).await;
    assert!(
        matches!(
            e,
            AudioEvent::Format {
                sample_rate: 16_000,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        server
            .seen()
            .iter()
            .any(|s| s.path.ends_with("/call/audio?direction=user"))
    );
    engine.send(AudioCommand::SetSpeed(2.0));
    engine.send(AudioCommand::SetVolume(0.5));
    engine.send(AudioCommand::TogglePause);
    wait_for(&mut rx, &mut log, is_state(PlaybackState::Playing)).await;
    wait_for(&mut rx, &mut log, is_state(PlaybackState::Ended)).await;
    let after_switch = log.iter().rev().find_map(|e| match e {
        AudioEvent::Position { position, .. } if *position < Duration::from_millis(1100) => Some(*position),
        _ => None,
    });
    assert!(after_switch.is_some_and(|p| p >= Duration::from_secs(1)), "{log:#?}");

    // After the end, resume plays again from the top.
    engine.send(AudioCommand::TogglePause);
    wait_for(&mut rx, &mut log, is_state(PlaybackState::Playing)).await;
    engine.send(AudioCommand::Stop);
    wait_for(&mut rx, &mut log, is_state(PlaybackState::Idle)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_recording_is_an_error_state_with_the_diagnosis() {
    let server = server().await;
    let (tx, mut rx) = unbounded_channel();
    let engine = AudioEngine::start_with(
        server.client(),
        tx,
        EngineOptions {
            use_device: false,
            ..Default::default()
        },
    );
    let mut log = Vec::new();
    engine.send(play("chat", Duration::ZERO));
    let e = wait_for(&mut rx, &mut log, |e| {
        matches!(e, AudioEvent::State(PlaybackState::Error(_)))
    })
    .await;
    let AudioEvent::State(PlaybackState::Error(msg)) = e else {
        unreachable!()
    };
    assert!(msg.contains("only finished voice calls"), "{msg}");
    assert!(log.iter().any(|e| matches!(e, AudioEvent::Error(m) if *m == msg)));
    // Switching to a good recording works after the error.
    engine.send(play("call", Duration::ZERO));
    wait_for(&mut rx, &mut log, is_state(PlaybackState::Playing)).await;
}

#[test]
fn engine_runs_without_a_tokio_runtime_and_shuts_down() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(server());
    let (tx, mut rx) = unbounded_channel();
    let engine = AudioEngine::start_with(
        server.client(),
        tx,
        EngineOptions {
            use_device: false,
            ..Default::default()
        },
    );
    engine.send(play("call", Duration::from_millis(2500)));
    let mut log = Vec::new();
    rt.block_on(wait_for(&mut rx, &mut log, is_state(PlaybackState::Ended)));
    drop(engine); // joins the thread
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_conversation_cancels_the_old_download() {
    let (long, _) = tone_wav(8_000, 1, 60.0); // 960 KB at 2 KB per 20 ms: ~10 s to download
    let (short, _) = tone_wav(8_000, 1, 0.5);
    let server = TestServer::start(ServerConfig {
        replies: [
            ("long".to_string(), Reply::Wav(long.into())),
            ("short".to_string(), Reply::Wav(short.into())),
        ]
        .into(),
        chunk: 2048,
        pause: Duration::from_millis(20),
        ..Default::default()
    })
    .await;
    let (tx, mut rx) = unbounded_channel();
    let engine = AudioEngine::start_with(
        server.client(),
        tx,
        EngineOptions {
            use_device: false,
            ..Default::default()
        },
    );
    let mut log = Vec::new();
    engine.send(play("long", Duration::ZERO));
    wait_for(&mut rx, &mut log, is_state(PlaybackState::Playing)).await;
    engine.send(play("short", Duration::ZERO));
    wait_for(&mut rx, &mut log, is_state(PlaybackState::Ended)).await;
    // The server notices the hang-up on its next write.
    let completed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Some(o) = server.outcomes().into_iter().find(|(p, _)| p.contains("/long/")) {
                return o.1;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the long download ended");
    assert!(!completed, "the old download was cancelled, not completed");
    // No events of the old recording after the switch: its last Format is before short's.
    let formats: Vec<_> = log.iter().filter(|e| matches!(e, AudioEvent::Format { .. })).collect();
    assert_eq!(formats.len(), 2, "{formats:?}");
}

fn slow_server(secs: f32, ranges: bool, chunk: usize, pause_ms: u64) -> impl Future<Output = TestServer> {
    let (wav, _) = tone_wav(8_000, 1, secs);
    TestServer::start(ServerConfig {
        replies: [("call".to_string(), Reply::Wav(wav.into()))].into(),
        ranges,
        chunk,
        pause: Duration::from_millis(pause_ms),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seek_past_the_download_resumes_from_a_range_request() {
    // 60 s of audio at 2 KB per 20 ms: ~10 s to download.
    let server = slow_server(60.0, true, 2048, 20).await;
    let (tx, mut rx) = unbounded_channel();
    let engine = AudioEngine::start_with(
        server.client(),
        tx,
        EngineOptions {
            use_device: false,
            ..Default::default()
        },
    );
    let mut log = Vec::new();
    engine.send(play("call", Duration::ZERO));
    wait_for(&mut rx, &mut log, is_state(PlaybackState::Playing)).await;
    engine.send(AudioCommand::Seek(Duration::from_secs(50)));
    // Playback goes on from 50 s (positions are only sent while moving or after a seek).
    wait_for(
        &mut rx,
        &mut log,
        |e| matches!(e, AudioEvent::Position { position, .. } if *position > Duration::from_millis(50_200)),
    )
    .await;
    let want = 44 + 50 * 8_000 * 2;
    assert!(
        server.seen().iter().any(|s| s.range_from == Some(want)),
        "{:?}",
        server.seen()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_slower_than_real_time_shows_buffering() {
    // Needs 16 KB/s; gets 1 KB per 100 ms.
    let server = slow_server(5.0, false, 1024, 100).await;
    let (tx, mut rx) = unbounded_channel();
    let engine = AudioEngine::start_with(
        server.client(),
        tx,
        EngineOptions {
            use_device: false,
            ..Default::default()
        },
    );
    let mut log = Vec::new();
    engine.send(play("call", Duration::ZERO));
    wait_for(&mut rx, &mut log, is_state(PlaybackState::Playing)).await;
    wait_for(&mut rx, &mut log, is_state(PlaybackState::Buffering)).await;
    wait_for(&mut rx, &mut log, is_state(PlaybackState::Playing)).await;
    engine.send(AudioCommand::Stop);
    wait_for(&mut rx, &mut log, is_state(PlaybackState::Idle)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seek_while_buffering_starts_at_the_new_place() {
    let server = slow_server(60.0, true, 2048, 20).await;
    let (tx, mut rx) = unbounded_channel();
    let engine = AudioEngine::start_with(
        server.client(),
        tx,
        EngineOptions {
            use_device: false,
            ..Default::default()
        },
    );
    let mut log = Vec::new();
    engine.send(play("call", Duration::ZERO));
    engine.send(AudioCommand::Seek(Duration::from_secs(40)));
    wait_for(&mut rx, &mut log, is_state(PlaybackState::Playing)).await;
    wait_for(
        &mut rx,
        &mut log,
        |e| matches!(e, AudioEvent::Position { position, .. } if *position > Duration::from_millis(40_100)),
    )
    .await;
    let early = log.iter().any(|e| {
        matches!(e, AudioEvent::Position { position, .. }
            if *position > Duration::ZERO && *position < Duration::from_secs(40))
    });
    assert!(!early, "nothing played before 40 s: {log:#?}");
}
