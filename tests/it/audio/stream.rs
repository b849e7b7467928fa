//! The streaming pipeline over real loopback HTTP, without a sound device: the download fills
//! the shared buffer, `StreamSource` is pulled through rodio's `Player` queue the way a device
//! would pull it, and the output is compared sample for sample with the WAV that was served.

use std::time::Duration;

use crate::support::stream::{open_stream, serve_recording, stream_errors};
use crate::support::testserver::{Reply, tone_wav};
use bytes::Bytes;
use callscope::audio::download::StreamNotice;
use callscope::audio::source::StreamSource;
use rodio::Source;

/// Pulls everything a `Player` plays, about 30x faster than real time (faster than the
/// throttled downloads below, so underruns happen), then drops the underrun silence.
async fn play_through_player(src: StreamSource) -> Vec<i16> {
    let (player, out) = rodio::Player::new();
    player.append(src);
    tokio::task::spawn_blocking(move || {
        let mut got = Vec::new();
        for s in out {
            got.push(s);
            if got.len() % 1024 == 0 {
                if player.empty() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        got.iter()
            .filter(|s| **s != 0.0)
            .map(|s| (s * 32768.0).round() as i16)
            .collect()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_stream_plays_sample_exact_through_rodio_player() {
    let (wav, want) = tone_wav(16_000, 2, 2.0); // 128 KB
    // 4 KB every 10 ms ≈ 6x real time; the puller runs ~30x: it must outrun the download.
    let server = serve_recording("call-1", Reply::Wav(wav.into()), true, 4096, 10).await;
    let (stream, notices) = open_stream(&server, "call-1");
    let fmt = stream.ready(Duration::ZERO, Duration::from_millis(200)).await.unwrap();
    assert!(!stream.buf.lock().finished, "playback starts before the download ends");
    assert_eq!((fmt.channels, fmt.sample_rate), (2, 16_000));
    let src = StreamSource::new(stream.buf.clone(), fmt, 0);
    assert_eq!(src.total_duration(), Some(Duration::from_secs(2)));
    let ctl = src.controls();
    let got = play_through_player(src).await;
    assert_eq!(got.len(), want.len());
    assert!(got == want, "streamed samples differ from the served WAV");
    assert!(ctl.underruns() > 0, "the consumer outran the download, as intended");
    assert!(stream_errors(&notices).is_empty(), "{:?}", stream_errors(&notices));
    // The envelope arrived while downloading: 20 buckets of 100 ms, all loud.
    let mut levels = vec![None; fmt.buckets(callscope::audio::BUCKET)];
    for n in notices.lock().unwrap().iter() {
        if let StreamNotice::Levels { first, values } = n {
            for (i, v) in values.iter().enumerate() {
                levels[first + i] = Some(*v);
            }
        }
    }
    assert_eq!(levels.len(), 20);
    assert!(levels.iter().all(|l| l.is_some_and(|v| v > 0.2)), "{levels:?}");
    // One request: no Range needed.
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seek_past_the_download_uses_a_range_request() {
    let (wav, want) = tone_wav(8_000, 1, 20.0); // 320 KB at 1 KB per 20 ms ≈ 6.4 s to download
    let server = serve_recording("long", Reply::Wav(wav.into()), true, 1024, 20).await;
    let (stream, notices) = open_stream(&server, "long");
    let fmt = stream.ready(Duration::ZERO, Duration::from_millis(200)).await.unwrap();
    let mut src = StreamSource::new(stream.buf.clone(), fmt, 0);
    let first: Vec<i16> = (0..100)
        .map(|_| (src.next().unwrap() * 32768.0).round() as i16)
        .collect();
    assert_eq!(first, want[..100]);

    // 15 s in: far beyond what has arrived.
    src.try_seek(Duration::from_secs(15)).unwrap();
    let ctl = src.controls();
    assert_eq!(ctl.frame(), 120_000);
    let got = play_through_player(src).await;
    assert_eq!(
        got,
        want[120_000..],
        "after the seek the source plays from 15 s to the end"
    );

    let ranged: Vec<_> = server.seen().into_iter().filter_map(|s| s.range_from).collect();
    assert_eq!(ranged.first(), Some(&(fmt.data_start + 120_000 * 2)), "{ranged:?}");
    assert!(
        notices
            .lock()
            .unwrap()
            .iter()
            .any(|n| matches!(n, StreamNotice::RangeRequest { .. }))
    );
    // Backwards into the part that was skipped: served too (gap filled by another range).
    let mut src = StreamSource::new(stream.buf.clone(), fmt, 0);
    src.try_seek(Duration::from_secs(10)).unwrap();
    let got = play_through_player(src).await;
    assert_eq!(got, want[80_000..]);
    assert!(stream_errors(&notices).is_empty(), "{:?}", stream_errors(&notices));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_range_support_a_far_seek_waits_for_the_bytes() {
    let (wav, want) = tone_wav(8_000, 1, 4.0); // 64 KB, 2 KB per 10 ms ≈ 0.3 s
    let server = serve_recording("norange", Reply::Wav(wav.into()), false, 2048, 10).await;
    let (stream, _) = open_stream(&server, "norange");
    let fmt = stream.ready(Duration::ZERO, Duration::from_millis(200)).await.unwrap();
    let mut src = StreamSource::new(stream.buf.clone(), fmt, 0);
    src.try_seek(Duration::from_secs(3)).unwrap();
    let got = play_through_player(src).await;
    assert_eq!(got, want[24_000..]);
    assert!(server.seen().iter().all(|s| s.range_from.is_none()));
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_position_beyond_the_prebuffer_is_fetched_by_range() {
    let (wav, want) = tone_wav(8_000, 1, 30.0);
    let server = serve_recording("mid", Reply::Wav(wav.into()), true, 1024, 20).await;
    let (stream, _) = open_stream(&server, "mid");
    let fmt = stream
        .ready(Duration::from_secs(25), Duration::from_millis(200))
        .await
        .unwrap();
    let src = StreamSource::new(stream.buf.clone(), fmt, fmt.frame_at(Duration::from_secs(25)));
    let got = play_through_player(src).await;
    assert_eq!(got, want[200_000..]);
    assert!(server.seen().iter().any(|s| s.range_from == Some(fmt.byte_of(200_000))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_breaks_off_plays_what_arrived_then_reports() {
    let (wav, want) = tone_wav(8_000, 1, 2.0);
    let cut = 44 + 10_000 * 2; // header + 10 000 samples
    let server = serve_recording("cut", Reply::CutShort(Bytes::from(wav), cut), true, 4096, 0).await;
    let (stream, notices) = open_stream(&server, "cut");
    let fmt = stream.ready(Duration::ZERO, Duration::from_millis(200)).await.unwrap();
    let got = play_through_player(StreamSource::new(stream.buf.clone(), fmt, 0)).await;
    assert_eq!(got, want[..10_000]);
    let errs = stream_errors(&notices);
    assert!(errs.iter().any(|e| e.contains("broke off after")), "{errs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_body_is_reported_as_truncated() {
    let (wav, want) = tone_wav(8_000, 1, 2.0);
    // Content-Length matches the short body, but the WAV header promises 2 s.
    let short = Bytes::copy_from_slice(&wav[..44 + 6_000 * 2]);
    let server = serve_recording("short", Reply::Raw("audio/wav", short), true, 4096, 0).await;
    let (stream, notices) = open_stream(&server, "short");
    let fmt = stream.ready(Duration::ZERO, Duration::from_millis(200)).await.unwrap();
    let got = play_through_player(StreamSource::new(stream.buf.clone(), fmt, 0)).await;
    assert_eq!(got, want[..6_000]);
    let errs = stream_errors(&notices);
    assert!(errs.iter().any(|e| e.contains("truncated")), "{errs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_wav_and_tiny_bodies_are_clear_errors() {
    for (body, expect) in [
        (&b"<html><body>502 Bad Gateway</body></html>"[..], "<html>"),
        (&b"RIFF"[..], "inside the WAV header"),
        (&b""[..], "after 0 bytes"),
    ] {
        let server = serve_recording("x", Reply::Raw("text/html", Bytes::from_static(body)), true, 4096, 0).await;
        let (stream, notices) = open_stream(&server, "x");
        let err = stream
            .ready(Duration::ZERO, Duration::from_millis(200))
            .await
            .unwrap_err();
        assert!(err.contains(expect), "{err}");
        assert_eq!(stream_errors(&notices), vec![err]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_conversation_404_carries_the_diagnosis() {
    let body = r#"{"error_code":"CONVERSATIONS_RECORDING_NOT_FOUND","error_message":"Recording not found for the given conversation"}"#;
    let server = serve_recording("chat-1", Reply::Status(404, body.into()), true, 4096, 0).await;
    let (stream, _) = open_stream(&server, "chat-1");
    let err = stream
        .ready(Duration::ZERO, Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(err.contains("404"), "{err}");
    assert!(err.contains("only finished voice calls"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_body_is_truncated_without_asking_for_more() {
    let (wav, _) = tone_wav(8_000, 1, 2.0);
    let short = Bytes::copy_from_slice(&wav[..44 + 6_000 * 2]);
    let server = serve_recording("short", Reply::Raw("audio/wav", short), true, 4096, 0).await;
    let (stream, notices) = open_stream(&server, "short");
    stream.ready(Duration::ZERO, Duration::from_millis(200)).await.unwrap();
    stream.buf.wait_for(|s| s.finished).await;
    assert_eq!(server.seen().len(), 1, "{:?}", server.seen());
    let errs = stream_errors(&notices);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].contains("sent 12044 of 32044 bytes"), "{errs:?}");
}

/// 24-bit and 32-bit float, stereo, 44.1 kHz: the streamed samples equal hound's decoding.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_sample_formats_stream_exactly() {
    for (bits, float) in [(24u16, false), (32, true), (8, false)] {
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 44_100,
            bits_per_sample: bits,
            sample_format: if float {
                hound::SampleFormat::Float
            } else {
                hound::SampleFormat::Int
            },
        };
        let mut cur = std::io::Cursor::new(Vec::new());
        let mut w = hound::WavWriter::new(&mut cur, spec).unwrap();
        let max = ((1i64 << (bits - 1)) - 1) as f64;
        for i in 0..44_100 {
            let v = 0.55 + 0.4 * (i as f64 * 0.0627).sin(); // never 0: underrun silence is dropped
            for c in 0..2 {
                let v = v - 0.1 * c as f64;
                if float {
                    w.write_sample(v as f32).unwrap();
                } else if bits == 8 {
                    w.write_sample((v * 127.0) as i8).unwrap();
                } else {
                    w.write_sample((v * max) as i32).unwrap();
                }
            }
        }
        w.finalize().unwrap();
        let wav = cur.into_inner();
        let mut r = hound::WavReader::new(std::io::Cursor::new(&wav)).unwrap();
        let want: Vec<f32> = if float {
            r.samples::<f32>().map(Result::unwrap).collect()
        } else {
            r.samples::<i32>()
                .map(|s| s.unwrap() as f32 / (1i64 << (bits - 1)) as f32)
                .collect()
        };
        let server = serve_recording("f", Reply::Wav(wav.into()), true, 8192, 2).await;
        let (stream, _) = open_stream(&server, "f");
        let fmt = stream.ready(Duration::ZERO, Duration::from_millis(200)).await.unwrap();
        let (player, out) = rodio::Player::new();
        player.append(StreamSource::new(stream.buf.clone(), fmt, 0));
        let n = want.len();
        let got: Vec<f32> = tokio::task::spawn_blocking(move || {
            let mut got = Vec::new();
            // The queue plays silence forever after the end: stop at the expected length,
            // or when the player is empty.
            for s in out {
                if s != 0.0 {
                    got.push(s);
                }
                if got.len() >= n || player.empty() {
                    break;
                }
            }
            got
        })
        .await
        .unwrap();
        assert_eq!(got.len(), 88_200, "{bits} bits");
        assert!(got == want, "{bits} bits, float {float}");
    }
}
