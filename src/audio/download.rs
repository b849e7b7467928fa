//! Downloads a recording into a [`SharedBuffer`] while it plays.
//!
//! One task per recording. It reads the body as a stream, parses the WAV header as soon as it
//! is in, computes the level envelope as samples arrive, and serves "I need byte N" requests
//! from the player: a far-ahead seek aborts the current body and restarts with
//! `Range: bytes=N-` when the server advertised `Accept-Ranges: bytes`; otherwise the player
//! waits (Buffering) until the bytes arrive. Dropping the [`Stream`] aborts the download.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;

use super::buffer::{BufState, SharedBuffer};
use super::envelope::{BUCKET, level_of};
use super::format::{MAX_HEADER_BYTES, WavFormat};
use crate::api::{AudioRequest, Client};

/// What the download reports while it runs.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamNotice {
    Format(WavFormat),
    /// Bytes held so far and the file length, when known.
    Progress {
        bytes: u64,
        total: Option<u64>,
    },
    /// Levels for envelope buckets `first..first + values.len()` (one per [`BUCKET`] of audio).
    Levels {
        first: usize,
        values: Vec<f32>,
    },
    /// A `Range` request was sent (after a seek past the downloaded part).
    RangeRequest {
        from_byte: u64,
    },
    Error(String),
}

pub type Observer = Arc<dyn Fn(StreamNotice) + Send + Sync>;

/// A running download; dropping it cancels the download.
pub struct Stream {
    pub buf: Arc<SharedBuffer>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Stream {
    /// Starts downloading on `rt`; returns at once.
    pub fn open(
        rt: &tokio::runtime::Handle,
        client: Client,
        conversation_id: String,
        request: impl Into<AudioRequest>,
        observer: Observer,
    ) -> Stream {
        let buf = Arc::new(SharedBuffer::default());
        let task = rt.spawn(run(client, conversation_id, request.into(), buf.clone(), observer));
        Stream { buf, task }
    }

    /// Waits for the header, then for `prebuffer` of audio from `start` (or the end of the
    /// download). Asks for a Range request when `start` is beyond what has arrived.
    pub async fn ready(&self, start: Duration, prebuffer: Duration) -> Result<WavFormat, String> {
        ready(&self.buf, start, prebuffer).await
    }

    pub fn format(&self) -> Option<WavFormat> {
        self.buf.lock().format
    }
}

/// See [`Stream::ready`].
pub async fn ready(buf: &SharedBuffer, start: Duration, prebuffer: Duration) -> Result<WavFormat, String> {
    buf.wait_for(|s| s.format.is_some() || s.finished).await;
    let Some(fmt) = buf.lock().format else {
        let s = buf.lock();
        return Err(s.error.clone().unwrap_or_else(|| "the download ended".into()));
    };
    let from = fmt.byte_of(fmt.frame_at(start));
    let to = (from + fmt.bytes_for(prebuffer).max(fmt.block_align())).min(fmt.file_len());
    if !buf.lock().covered.covers(from, to) {
        buf.request(from);
    }
    buf.wait_for(|s| s.covered.covers(from, to) || s.finished).await;
    Ok(fmt)
}

/// How far ahead of the download a wanted byte may be before a Range request beats waiting.
fn lookahead(fmt: Option<WavFormat>) -> u64 {
    fmt.map_or(0, |f| f.bytes_for(Duration::from_secs(2))).max(32 * 1024)
}

async fn run(client: Client, id: String, request: AudioRequest, buf: Arc<SharedBuffer>, notify: Observer) {
    let mut from = 0u64;
    let mut reporter = Reporter::new(notify.clone());
    loop {
        match fetch(&client, &id, &request, from, &buf, &mut reporter).await {
            Fetch::Restart(at) => {
                notify(StreamNotice::RangeRequest { from_byte: at });
                from = at;
            }
            Fetch::Done => {
                // Fill any gap a Range jump left behind, so the whole recording ends up local.
                let s = buf.lock();
                let gap = match (s.file_len(), s.format) {
                    (Some(len), Some(_)) if s.accepts_ranges => s.covered.first_gap(0, len),
                    _ => None,
                };
                drop(s);
                match gap {
                    Some(g) => from = g,
                    None => break,
                }
            }
            Fetch::Failed(msg) => {
                buf.update(|s| s.error = Some(msg.clone()));
                notify(StreamNotice::Error(msg));
                break;
            }
        }
    }
    reporter.progress(&buf, true);
    buf.update(|s| s.finished = true);
}

enum Fetch {
    Done,
    Restart(u64),
    Failed(String),
}

// Cannot fail: the format was checked just above.
#[allow(clippy::expect_used)]
async fn fetch(
    client: &Client,
    id: &str,
    request: &AudioRequest,
    from: u64,
    buf: &SharedBuffer,
    reporter: &mut Reporter,
) -> Fetch {
    let resp = match client.audio(id, request.clone(), Some(from)).await {
        Ok(r) => r,
        // 416: the file is shorter than its header says; there is nothing from `from` on.
        Err(e) if from > 0 && e.status == Some(416) => {
            return Fetch::Failed(format!(
                "the recording is truncated: the server has no audio from byte {from} on"
            ));
        }
        Err(e) => return Fetch::Failed(format!("recording unavailable: {}", e.headline_with_id())),
    };
    let partial = resp.status() == reqwest::StatusCode::PARTIAL_CONTENT;
    let mut cursor = if partial { from } else { 0 };
    if !partial {
        let ranges = resp
            .headers()
            .get(reqwest::header::ACCEPT_RANGES)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("bytes"));
        let len = resp.content_length();
        buf.update(|s| {
            // A server that ignored our Range header does not really do ranges.
            s.accepts_ranges = ranges && from == 0;
            // Untrusted: it only sets where a body without a header stops and the progress
            // total; memory never depends on it (see `buffer`).
            s.content_len = len;
        });
    }
    // A range answer stops where the bytes we already hold begin; a full one runs to the end.
    let stop_at = {
        let s = buf.lock();
        let next_held = if partial {
            s.covered.next_start(cursor + 1)
        } else {
            None
        };
        next_held.into_iter().chain(s.file_len()).min()
    };
    let mut body = resp.bytes_stream();
    loop {
        let chunk = tokio::select! {
            biased;
            _ = buf.want.notified() => {
                if let Some(w) = buf.take_wanted() {
                    let s = buf.lock();
                    let far = w > cursor + lookahead(s.format) || w < cursor;
                    if far && s.accepts_ranges && !s.covered.covers(w, w + 1) {
                        let fmt = s.format;
                        // Start on a frame boundary so samples stay aligned.
                        let at = fmt.map_or(w, |f| f.byte_of((w.saturating_sub(f.data_start)) / f.block_align()));
                        return Fetch::Restart(at);
                    }
                }
                continue;
            }
            c = body.next() => c,
        };
        let chunk = match chunk {
            Some(Ok(c)) => c,
            Some(Err(e)) => {
                let s = buf.lock();
                let got = s.covered.total();
                let of = s.file_len().map(|t| format!(" of {t}")).unwrap_or_default();
                let audio = s.format.map(|f| audio_held(&f, &s)).unwrap_or_default();
                return Fetch::Failed(format!(
                    "the recording download broke off after {got}{of} bytes{audio}: {e}"
                ));
            }
            None => break,
        };
        let end = cursor + chunk.len() as u64;
        let take = stop_at.map_or(chunk.len(), |s| (s.saturating_sub(cursor) as usize).min(chunk.len()));
        if let Err(e) = buf.write(cursor, &chunk[..take]) {
            return Fetch::Failed(e);
        }
        match parse_header(buf) {
            Ok(Some(fmt)) => reporter.notify(StreamNotice::Format(fmt)),
            Ok(None) => {}
            Err(e) => return Fetch::Failed(e),
        }
        reporter.levels(buf, cursor, cursor + take as u64);
        reporter.progress(buf, false);
        cursor = end;
        if stop_at.is_some_and(|s| cursor >= s) {
            break;
        }
    }
    // The body ended (or reached bytes we hold): complete, or cut short?
    let s = buf.lock();
    // A full answer must reach the end the WAV header promises, whatever Content-Length said.
    let expected = if partial { stop_at } else { s.file_len() };
    if s.format.is_none() {
        let e = header_prefix(buf, &s).and_then(|p| WavFormat::parse(&p, true).map_err(|e| e.to_string()));
        return Fetch::Failed(match e {
            Err(e) => e,
            Ok(_) => "not a playable WAV recording: empty body".into(),
        });
    }
    if let Some(want) = expected.filter(|&e| cursor < e) {
        let audio = audio_held(&s.format.expect("checked above"), &s);
        return Fetch::Failed(format!(
            "the recording is truncated: the server sent {cursor} of {want} bytes{audio}"
        ));
    }
    Fetch::Done
}

/// " (about 12.0 s of 3600.0 s of audio)": how much of the recording is here.
fn audio_held(fmt: &WavFormat, s: &BufState) -> String {
    let have = fmt.time_of(s.covered.total().saturating_sub(fmt.data_start) / fmt.block_align());
    format!(
        " (about {:.1} s of {:.1} s of audio)",
        have.as_secs_f64(),
        fmt.duration().as_secs_f64()
    )
}

/// Parses the header once its bytes are in. `Ok(Some)` exactly once, when it is first known.
fn parse_header(buf: &SharedBuffer) -> Result<Option<WavFormat>, String> {
    buf.update(|s| {
        if s.format.is_some() {
            return Ok(None);
        }
        match WavFormat::parse(&header_prefix(buf, s)?, false) {
            Ok(Some(f)) => {
                s.format = Some(f);
                Ok(Some(f))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    })
}

/// The bytes held from the start of the file, enough to find the header in (parsing gives up
/// past [`MAX_HEADER_BYTES`], so more are never copied).
fn header_prefix(buf: &SharedBuffer, s: &BufState) -> Result<Vec<u8>, String> {
    let held = s.covered.run_end(0).unwrap_or(0).min(MAX_HEADER_BYTES as u64 + 1);
    buf.read_vec(s, 0, held as usize)
        .map_err(|e| format!("could not read the recording back: {e}"))
}

/// Rate-limits progress notices and computes envelope levels for buckets that became complete.
struct Reporter {
    notify: Observer,
    last_progress: Option<Instant>,
}

impl Reporter {
    fn new(notify: Observer) -> Self {
        Reporter {
            notify,
            last_progress: None,
        }
    }
    fn notify(&self, n: StreamNotice) {
        (self.notify)(n)
    }
    fn progress(&mut self, buf: &SharedBuffer, force: bool) {
        if !force
            && self
                .last_progress
                .is_some_and(|t| t.elapsed() < Duration::from_millis(100))
        {
            return;
        }
        self.last_progress = Some(Instant::now());
        let s = buf.lock();
        let (bytes, total) = (s.covered.total(), s.file_len());
        drop(s);
        self.notify(StreamNotice::Progress { bytes, total });
    }
    /// Levels of the buckets that overlap bytes `[a, b)` and are now fully downloaded.
    fn levels(&self, buf: &SharedBuffer, a: u64, b: u64) {
        let s = buf.lock();
        let Some(fmt) = s.format else { return };
        let bucket_frames = fmt.frames_in(BUCKET).max(1);
        let bucket_bytes = bucket_frames * fmt.block_align();
        let data = |byte: u64| byte.saturating_sub(fmt.data_start).min(fmt.data_len);
        let (first, last) = (data(a) / bucket_bytes, data(b).div_ceil(bucket_bytes));
        let span = |i: u64| {
            let from = fmt.data_start + i * bucket_bytes;
            (from, (from + bucket_bytes).min(fmt.file_len()))
        };
        // The first run of complete buckets, read in one go; decoded after the lock is let go
        // (the audio thread reads through it).
        let mut run: Option<(u64, u64)> = None;
        for i in first..last {
            let (from, to) = span(i);
            if !s.covered.covers(from, to) {
                if run.is_some() {
                    break;
                }
                continue;
            }
            run = Some((run.map_or(i, |r| r.0), i + 1));
        }
        let Some((i0, i1)) = run else { return };
        let (from, to) = (span(i0).0, span(i1 - 1).1);
        let Ok(bytes) = buf.read_vec(&s, from, (to - from) as usize) else {
            return;
        };
        drop(s);
        let mut samples = Vec::new();
        let values = bytes
            .chunks(bucket_bytes as usize)
            .map(|bucket| {
                samples.clear();
                fmt.decode_all(bucket, &mut samples);
                level_of(&samples)
            })
            .collect();
        self.notify(StreamNotice::Levels {
            first: i0 as usize,
            values,
        });
    }
}
