//! Recordings longer than the memory window, over real loopback HTTP: the bytes past the first
//! `MEMORY_WINDOW` live in a temporary file, and playing, seeking across the boundary, saving
//! and reporting a cut-off download all still hold. Memory never follows what a server claims.

use std::time::{Duration, Instant};

use crate::support::stream::{open_stream, serve_recording, stream_errors};
use crate::support::testserver::{Reply, tone_wav};
use bytes::Bytes;
use callscope::api::AudioDirection;
use callscope::audio::buffer::MEMORY_WINDOW;
use callscope::audio::download::StreamNotice;
use callscope::audio::source::StreamSource;
use callscope::audio::{BUCKET, check_complete_wav, save_recording};

const PREBUFFER: Duration = Duration::from_millis(200);

/// 6 minutes of 8 kHz mono 16-bit: 5.76 MB, so the last 1.5 MB are past the window.
fn long_tone() -> (Vec<u8>, Vec<i16>) {
    tone_wav(8_000, 1, 360.0)
}

/// Pulls `n` samples the way a device would, off the async runtime, dropping the silence of
/// underruns (exact 0.0; the tone never is). Stops early at the end of what will arrive.
async fn pull(mut src: StreamSource, n: usize) -> Vec<i16> {
    tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut got = Vec::with_capacity(n);
        while got.len() < n && Instant::now() < deadline {
            match src.next() {
                Some(s) if s != 0.0 => got.push((s * 32768.0).round() as i16),
                Some(_) => std::thread::sleep(Duration::from_millis(1)),
                None => break,
            }
        }
        got
    })
    .await
    .unwrap()
}

/// The frame whose bytes straddle memory and the temporary file.
fn boundary_frame(data_start: u64) -> usize {
    ((MEMORY_WINDOW - data_start) / 2) as usize
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeking_across_the_spill_boundary_plays_the_right_samples_and_keeps_every_byte() {
    let (wav, want) = long_tone();
    // 16 KB every 10 ms ≈ 1.6 MB/s: the file takes ~4 s, so the seeks land before it arrives.
    let server = serve_recording("long", Reply::Wav(Bytes::from(wav.clone())), true, 16 * 1024, 10).await;
    let (stream, notices) = open_stream(&server, "long");

    // Start 5 minutes in: past the window, fetched by a Range request into the temporary file.
    let fmt = stream.ready(Duration::from_secs(300), PREBUFFER).await.unwrap();
    let at = fmt.frame_at(Duration::from_secs(300)) as usize;
    assert_eq!(at, 2_400_000);
    let got = pull(StreamSource::new(stream.buf.clone(), fmt, at as u64), 16_000).await;
    assert_eq!(got, want[at..at + 16_000], "5 min in, from the temporary file");
    assert!(stream.buf.spilled());

    // Back to 1 s before the boundary, playing 2 s across it (memory, then the file).
    let from = boundary_frame(fmt.data_start) - 8_000;
    let src = StreamSource::new(stream.buf.clone(), fmt, 0);
    src.controls().seek(from as u64);
    let got = pull(src, 16_000).await;
    assert_eq!(got, want[from..from + 16_000], "across the memory/file boundary");

    // The rest arrives (gaps filled by more Range requests): the held bytes are the file.
    stream.buf.wait_for(|s| s.finished).await;
    assert!(stream_errors(&notices).is_empty(), "{:?}", stream_errors(&notices));
    let ranged: Vec<u64> = server.seen().iter().filter_map(|s| s.range_from).collect();
    assert!(ranged.contains(&fmt.byte_of(at as u64)), "{ranged:?}");
    let s = stream.buf.lock();
    assert_eq!(s.covered.first_gap(0, wav.len() as u64), None);
    assert!(
        stream.buf.read_vec(&s, 0, wav.len()).unwrap() == wav,
        "every byte as served"
    );
    drop(s);
    assert!(
        stream.buf.memory_bytes() <= MEMORY_WINDOW as usize,
        "{} bytes in memory",
        stream.buf.memory_bytes()
    );
    // The waveform covers the whole recording, the spilled part included.
    let mut levels = vec![None; fmt.buckets(BUCKET)];
    for n in notices.lock().unwrap().iter() {
        if let StreamNotice::Levels { first, values } = n {
            for (i, v) in values.iter().enumerate() {
                levels[first + i] = Some(*v);
            }
        }
    }
    let missing: Vec<usize> = (0..levels.len()).filter(|&i| levels[i].is_none()).collect();
    assert!(missing.is_empty(), "buckets without a level: {missing:?}");
    assert!(
        levels.iter().all(|l| l.is_some_and(|v| v > 0.2)),
        "the tone is loud throughout"
    );
}

/// `s` (and `export --with-audio`) while a spilled recording plays: the saved file is the
/// served file byte for byte, and the streaming check accepts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn save_during_a_spilled_playback_equals_the_source_bytes() {
    let (wav, want) = long_tone();
    let server = serve_recording("long", Reply::Wav(Bytes::from(wav.clone())), true, 64 * 1024, 0).await;
    let (stream, _) = open_stream(&server, "long");
    let fmt = stream.ready(Duration::ZERO, PREBUFFER).await.unwrap();
    stream.buf.wait_for(|s| s.finished).await;
    assert!(stream.buf.spilled());
    let late = boundary_frame(fmt.data_start) + 100_000;
    let playing = tokio::spawn(pull(StreamSource::new(stream.buf.clone(), fmt, late as u64), 8_000));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.wav");
    save_recording(&server.client(), "long", AudioDirection::Combined, &path, |_, _| {})
        .await
        .unwrap();
    assert_eq!(playing.await.unwrap(), want[late..late + 8_000]);
    assert!(std::fs::read(&path).unwrap() == wav, "saved bytes equal the source");
    assert_eq!(check_complete_wav(&path).unwrap(), fmt);
}

/// A header and Content-Length claiming 4 GiB, then 32 MB of silence and a hang-up: memory stays
/// at the window, the bytes that came are kept (on disk), and the error says what is missing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_4_gib_claim_costs_no_memory_and_the_cut_is_reported_clearly() {
    let claimed = u32::MAX - 1; // whole 16-bit frames
    let sent = 32u64 << 20;
    let reply = Reply::Claims {
        claimed_data: claimed,
        send_data: sent,
    };
    let server = serve_recording("huge", reply, true, 64 * 1024, 0).await;
    let (stream, notices) = open_stream(&server, "huge");
    let fmt = stream.ready(Duration::ZERO, PREBUFFER).await.unwrap();
    assert_eq!(fmt.data_len, claimed as u64);
    stream.buf.wait_for(|s| s.finished).await;

    assert!(stream.buf.memory_bytes() <= MEMORY_WINDOW as usize);
    assert_eq!(stream.buf.lock().covered.total(), 44 + sent);
    let errs = stream_errors(&notices);
    assert_eq!(errs.len(), 1, "{errs:?}");
    let e = &errs[0];
    assert!(
        e.contains(&format!(
            "broke off after {} of {} bytes",
            44 + sent,
            44 + claimed as u64
        )),
        "{e}"
    );
    assert!(e.contains("about 2097.2 s of 268435.5 s of audio"), "{e}");
    let last_progress = notices.lock().unwrap().iter().rev().find_map(|n| match n {
        StreamNotice::Progress { bytes, total } => Some((*bytes, *total)),
        _ => None,
    });
    assert_eq!(last_progress, Some((44 + sent, Some(44 + claimed as u64))));

    // Playing past what came ends instead of waiting for bytes that will never arrive.
    let mut src = StreamSource::new(stream.buf.clone(), fmt, 100_000_000);
    assert_eq!(src.next(), None);
    assert!(src.controls().ended());
}

/// A long recording cut off past the window: what arrived plays (from the file), the error
/// names how much came.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spilled_recording_cut_short_plays_what_came_and_says_so() {
    let (wav, want) = long_tone();
    let cut = 5_000_000;
    let server = serve_recording(
        "cut",
        Reply::CutShort(Bytes::from(wav.clone()), cut),
        true,
        64 * 1024,
        0,
    )
    .await;
    let (stream, notices) = open_stream(&server, "cut");
    let fmt = stream.ready(Duration::ZERO, PREBUFFER).await.unwrap();
    stream.buf.wait_for(|s| s.finished).await;
    let last_whole = ((cut as u64 - fmt.data_start) / 2) as usize;
    let from = last_whole - 8_000;
    let got = pull(StreamSource::new(stream.buf.clone(), fmt, from as u64), 20_000).await;
    assert_eq!(got, want[from..last_whole], "plays up to the cut, then ends");
    let errs = stream_errors(&notices);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].contains(&format!("broke off after {cut} of {} bytes", wav.len())),
        "{errs:?}"
    );
    assert!(errs[0].contains("about 312.5 s of 360.0 s of audio"), "{errs:?}");
}
