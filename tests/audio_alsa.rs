//! The real rodio → cpal → ALSA path on a machine without a sound card: the test re-runs
//! itself as a child process with ALSA's `default` PCM pointed at the `file` plugin (over
//! `null`) through `ALSA_CONFIG_PATH`, plays a streamed 1 s 440 Hz tone through the engine,
//! then checks the captured WAV. Needs libasound2-data (pulled in by libasound2-dev).

use std::process::Command;
use std::time::Duration;

use callscope::api::AudioDirection;
#[path = "support/testserver.rs"]
#[allow(dead_code)]
mod testserver;
use callscope::audio::{AudioCommand, AudioEngine, AudioEvent, PlaybackState};
use testserver::{Reply, ServerConfig, TestServer, tone_wav};

const CHILD: &str = "CALLSCOPE_AUDIO_ALSA_CHILD";

#[test]
fn streamed_tone_plays_through_the_alsa_file_plugin() {
    if std::env::var_os(CHILD).is_some() {
        return play_in_child();
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("captured.wav");
    let conf = dir.path().join("asound.conf");
    std::fs::write(
        &conf,
        format!(
            r#"pcm.!default {{
    type plug
    slave {{ pcm "capture_file"; format S16_LE; rate 48000; channels 2 }}
}}
pcm.capture_file {{ type file; slave.pcm "null"; file "{}"; format "wav" }}
"#,
            out.display()
        ),
    )
    .unwrap();
    let child = Command::new(std::env::current_exe().unwrap())
        .args([
            "streamed_tone_plays_through_the_alsa_file_plugin",
            "--exact",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .env(
            "ALSA_CONFIG_PATH",
            format!("/usr/share/alsa/alsa.conf:{}", conf.display()),
        )
        .output()
        .unwrap();
    assert!(
        child.status.success(),
        "child failed:\n{}\n{}",
        String::from_utf8_lossy(&child.stdout),
        String::from_utf8_lossy(&child.stderr)
    );

    // The null slave runs faster than real time, so the tone sits somewhere after a stretch
    // of silence: find it instead of assuming an offset.
    let mut r = hound::WavReader::open(&out).unwrap();
    assert_eq!((r.spec().sample_rate, r.spec().channels), (48_000, 2));
    let frames: Vec<i16> = r.samples::<i16>().map(Result::unwrap).collect();
    let (left, right): (Vec<i16>, Vec<i16>) = frames.chunks(2).map(|f| (f[0], f[1])).unzip();
    assert_eq!(left, right, "mono is played on both channels");
    let loud: Vec<usize> = (0..left.len()).filter(|&i| left[i].abs() > 500).collect();
    assert!(!loud.is_empty(), "no tone captured");
    let (first, last) = (loud[0], *loud.last().unwrap());
    let secs = (last - first) as f64 / 48_000.0;
    let seg = &left[first..=last];
    let mean = seg.iter().map(|&v| v as f64).sum::<f64>() / seg.len() as f64;
    let rising = seg
        .windows(2)
        .filter(|w| (w[0] as f64) < mean && (w[1] as f64) >= mean)
        .count();
    let hz = rising as f64 / secs;
    eprintln!("captured tone: {secs:.3} s at {hz:.1} Hz");
    assert!((secs - 1.0).abs() < 0.01, "duration {secs}");
    assert!((hz - 440.0).abs() < 5.0, "frequency {hz}");
}

fn play_in_child() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (wav, _) = tone_wav(16_000, 1, 1.0);
    let server = rt.block_on(TestServer::start(ServerConfig {
        replies: [("tone".to_string(), Reply::Wav(wav.into()))].into(),
        ..Default::default()
    }));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let engine = AudioEngine::start(server.client(), tx);
    engine.send(AudioCommand::Play {
        conversation_id: "tone".into(),
        direction: AudioDirection::Combined,
        total_duration_hint: None,
        start_at: Duration::ZERO,
    });
    rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(20), async {
            while let Some(e) = rx.recv().await {
                match e {
                    AudioEvent::NoDevice(r) => panic!("the file device did not open: {r}"),
                    AudioEvent::State(PlaybackState::Ended) => return,
                    AudioEvent::State(PlaybackState::Error(m)) => panic!("{m}"),
                    _ => {}
                }
            }
        })
        .await
        .expect("playback ended")
    });
    // Let the device drain its buffer into the file before closing it.
    std::thread::sleep(Duration::from_millis(300));
    drop(engine);
}
