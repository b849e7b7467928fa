//! The stand-in's `redacted=true`: where the caller says an entity value (the PII of the turn),
//! the WAV holds a steady tone instead of speech; the rest of the recording is unchanged. And
//! per-turn audio (`/v1/agents/{project}/conversations/{id}/turns/{n}/audio`): one caller
//! utterance alone, found through the by-id object's relative `user_input_audio_url`.
//! Real WAV bytes over loopback HTTP, read with hound.

use crate::support as common;

use callscope::api::model::Conversation;
use callscope::api::{AudioDirection, AudioRequest, Client, ErrorKind};
use callscope::standin::Standin;
use callscope::standin::generate::{ASR_DELAY, speech_secs};
use callscope::standin::wav::BLEEP_HZ;

const RATE: f64 = 8000.0;

/// A finished voice call, one of its caller turns and the sample span of an entity value the
/// caller says in it, at least `min` samples long (from the transcript: speech runs at an even
/// pace through the text, ending `ASR_DELAY` before `user_input_datetime`).
fn call_with_pii(s: &Standin, min: usize) -> (Conversation, usize, (usize, usize)) {
    let data = s.dataset();
    let entries = data.read(|d| d.entries().to_vec());
    for e in entries.iter().filter(|e| e.is_voice() && !e.in_progress) {
        let c = data.expand(e);
        let start = c.started_at.unwrap();
        for (n, t) in c.turns.iter().enumerate() {
            let Some(said) = t.user_input_datetime.filter(|_| !t.user_input.is_empty()) else {
                continue;
            };
            let end = (said - start).num_milliseconds() as f64 / 1000.0 - ASR_DELAY;
            let begin = end - speech_secs(&t.user_input);
            let len = t.user_input.len() as f64;
            for v in t.entities.iter().flat_map(|e| e.values.iter()) {
                let Some(i) = t.user_input.find(v.as_str()).filter(|_| !v.is_empty()) else {
                    continue;
                };
                let at = |byte: usize| ((begin + (end - begin) * byte as f64 / len) * RATE) as usize;
                let span = (at(i), at(i + v.len()));
                if span.1 - span.0 >= min {
                    return (c, n, span);
                }
            }
        }
    }
    panic!("no voice call with a spoken entity value long enough");
}

async fn wav(c: &Client, id: &str, request: AudioRequest) -> Vec<i16> {
    let r = c.audio(id, request, None).await.unwrap();
    assert_eq!(r.status(), 200);
    let body = r.bytes().await.unwrap().to_vec();
    let reader = hound::WavReader::new(std::io::Cursor::new(body)).unwrap();
    assert_eq!(reader.spec().sample_rate, 8000);
    reader.into_samples::<i16>().map(Result::unwrap).collect()
}

fn request(redacted: bool) -> AudioRequest {
    AudioRequest {
        direction: AudioDirection::Combined,
        redacted: Some(redacted),
        utterance: None,
    }
}

/// The share of the window's energy at `hz` (Goertzel): about 1 for a pure tone, small for the
/// stand-in's voices (harmonics of a 120 Hz pitch with moving formants) and for noise.
fn tone_share(x: &[i16], hz: f64) -> f64 {
    let n = x.len() as f64;
    let w = 2.0 * std::f64::consts::PI * hz / RATE;
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &v in x {
        let s0 = v as f64 + 2.0 * w.cos() * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2;
    let energy: f64 = x.iter().map(|&v| (v as f64).powi(2)).sum();
    if energy == 0.0 { 0.0 } else { 2.0 * power / (n * energy) }
}

fn rms(x: &[i16]) -> f64 {
    (x.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / x.len().max(1) as f64).sqrt()
}

#[tokio::test]
async fn redacted_recordings_hold_a_tone_where_the_caller_says_an_entity_value() {
    let s = crate::support::standin_with(300).await;
    let c = common::client(&s);
    let (call, _, (a, b)) = call_with_pii(&s, 1600);
    let plain = wav(&c, &call.id, request(false)).await;
    let muted = wav(&c, &call.id, request(true)).await;
    assert_eq!(plain.len(), muted.len());
    // The middle of the span, away from the fades and the rounding of its ends.
    let inner = (a + 120, b - 120);
    let (p, m) = (&plain[inner.0..inner.1], &muted[inner.0..inner.1]);
    assert!(
        tone_share(m, BLEEP_HZ as f64) > 0.9,
        "redacted: {}",
        tone_share(m, BLEEP_HZ as f64)
    );
    assert!(rms(m) > 2000.0, "an audible tone, not silence: {}", rms(m));
    assert!(
        tone_share(p, BLEEP_HZ as f64) < 0.2,
        "unredacted: {}",
        tone_share(p, BLEEP_HZ as f64)
    );
    assert!(rms(p) > 500.0, "speech there: {}", rms(p));
    // Before the first redacted span nothing differs.
    let first = muted
        .iter()
        .zip(&plain)
        .position(|(x, y)| x != y)
        .expect("the recordings differ");
    assert!(first <= a + 80, "changed at {first}, the span starts at {a}");
    assert_eq!(plain[..first], muted[..first]);

    // The default (no `redacted` sent) is the unredacted recording, as the reference says.
    let default = wav(&c, &call.id, AudioDirection::Combined.into()).await;
    assert_eq!(default, plain);

    // A value that is not a boolean is refused.
    let url = format!(
        "{}/v1/agents/{}/conversations/{}/audio?redacted=maybe",
        s.platform_url, s.project_id, call.id
    );
    let r = reqwest::Client::new()
        .get(url)
        .header("x-api-key", &s.api_key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    s.shutdown().await;
}

#[tokio::test]
async fn one_caller_utterance_alone_from_its_user_input_audio_url() {
    let s = crate::support::standin_with(300).await;
    let c = common::client(&s);
    let (call, n, (a, b)) = call_with_pii(&s, 1600);
    let by_id = c.conversation_via_agents(&call.id).await.unwrap();
    let turn = &by_id.turns[n];
    assert_eq!(
        turn.user_input_audio_url,
        format!("conversations/{}/turns/{n}/audio", call.id),
        "relative, as the platform host sends it"
    );
    let one = AudioRequest {
        utterance: Some(turn.user_input_audio_url.clone()),
        ..AudioDirection::Combined.into()
    };
    let plain = wav(
        &c,
        &call.id,
        AudioRequest {
            redacted: Some(false),
            ..one.clone()
        },
    )
    .await;
    // The utterance and 0.1 s either side.
    let speech = (speech_secs(&turn.user_input) * RATE) as i64;
    assert!(
        (plain.len() as i64 - speech - 1600).abs() <= 2,
        "{} samples for {speech} of speech",
        plain.len()
    );
    assert!(rms(&plain[800..plain.len() - 800]) > 1000.0, "the caller speaks");
    assert!(rms(&plain[..400]) < 100.0, "quiet before the utterance");

    // Redacted, the entity value's span (shifted to the utterance) is the tone.
    let muted = wav(
        &c,
        &call.id,
        AudioRequest {
            redacted: Some(true),
            ..one
        },
    )
    .await;
    let start = {
        let t0 = call.started_at.unwrap();
        let end = (turn.user_input_datetime.unwrap() - t0).num_milliseconds() as f64 / 1000.0 - ASR_DELAY;
        ((end - speech_secs(&turn.user_input)) * RATE) as usize - 800
    };
    let inner = (a - start + 120, b - start - 120);
    let m = &muted[inner.0..inner.1];
    assert!(
        tone_share(m, BLEEP_HZ as f64) > 0.9,
        "{}",
        tone_share(m, BLEEP_HZ as f64)
    );
    assert!(tone_share(&plain[inner.0..inner.1], BLEEP_HZ as f64) < 0.2);

    // A turn without caller audio, and a turn that is not a number.
    let agent_only = by_id
        .turns
        .iter()
        .position(|t| t.user_input.is_empty() && t.user_input_dtmf.is_empty())
        .expect("the greeting turn has no caller audio");
    let e = c
        .audio(
            &call.id,
            AudioRequest {
                utterance: Some(format!("conversations/{}/turns/{agent_only}/audio", call.id)),
                ..AudioDirection::Combined.into()
            },
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert_eq!(e.code.as_deref(), Some("CONVERSATIONS_RECORDING_NOT_FOUND"));
    let e = c
        .audio(
            &call.id,
            AudioRequest {
                utterance: Some(format!("conversations/{}/turns/x/audio", call.id)),
                ..AudioDirection::Combined.into()
            },
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(e.status, Some(400));
    // An absolute URL on another host is never fetched (the key stays home).
    let e = c
        .audio(
            &call.id,
            AudioRequest {
                utterance: Some("http://127.0.0.1:9/steal".into()),
                ..AudioDirection::Combined.into()
            },
            None,
        )
        .await
        .unwrap_err();
    assert!(e.message.contains("neither configured host"), "{e}");
    s.shutdown().await;
}
