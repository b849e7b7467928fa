//! The rodio `Source` that plays a recording straight from the shared download buffer.
//!
//! It runs on the audio thread and never blocks there: when the next frame has not arrived it
//! plays one frame of silence, counts an underrun and asks the download for that byte.
//! Seeks are posted through [`PlayControls`] and applied at the next frame, so they never wait
//! on the audio thread either (unlike `rodio::Player::try_seek`, which blocks until a device
//! pulls samples and so hangs forever without one).

use std::num::NonZero;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use rodio::source::SeekError;
use rodio::{ChannelCount, SampleRate, Source};

use super::buffer::SharedBuffer;
use super::format::WavFormat;

const NO_SEEK: u64 = u64::MAX;
/// Frames decoded per lock of the shared buffer.
const CHUNK_FRAMES: u64 = 1024;

/// Shared between a playing source and whoever controls it.
#[derive(Debug)]
pub struct PlayControls {
    seek_to: AtomicU64,
    /// Frames played so far (the position).
    frame: AtomicU64,
    underruns: AtomicU64,
    starving: AtomicBool,
    ended: AtomicBool,
}

impl PlayControls {
    fn new(frame: u64) -> Self {
        PlayControls {
            seek_to: AtomicU64::new(NO_SEEK),
            frame: AtomicU64::new(frame),
            underruns: AtomicU64::new(0),
            starving: AtomicBool::new(false),
            ended: AtomicBool::new(false),
        }
    }
    /// Moves playback to `frame` at the next frame the device pulls.
    pub fn seek(&self, frame: u64) {
        self.seek_to.store(frame, Ordering::Release);
    }
    /// The frame playing now (a posted seek counts as done).
    pub fn frame(&self) -> u64 {
        match self.seek_to.load(Ordering::Acquire) {
            NO_SEEK => self.frame.load(Ordering::Acquire),
            f => f,
        }
    }
    /// Frames of silence played because data had not arrived.
    pub fn underruns(&self) -> u64 {
        self.underruns.load(Ordering::Relaxed)
    }
    /// The last pull found no data: the listener hears a gap (Buffering).
    pub fn starving(&self) -> bool {
        self.starving.load(Ordering::Relaxed)
    }
    /// The source reached the end (or the end of what will ever arrive).
    pub fn ended(&self) -> bool {
        self.ended.load(Ordering::Acquire)
    }
}

pub struct StreamSource {
    buf: Arc<SharedBuffer>,
    fmt: WavFormat,
    ctl: Arc<PlayControls>,
    frame: u64,
    cache: Vec<f32>,
    next: usize,
    silence_owed: u16,
    last_wanted: u64,
}

impl StreamSource {
    /// A source starting at `frame` of the recording in `buf` (whose header is `fmt`).
    pub fn new(buf: Arc<SharedBuffer>, fmt: WavFormat, frame: u64) -> Self {
        let frame = frame.min(fmt.total_frames());
        StreamSource {
            buf,
            fmt,
            ctl: Arc::new(PlayControls::new(frame)),
            frame,
            cache: Vec::new(),
            next: 0,
            silence_owed: 0,
            last_wanted: u64::MAX,
        }
    }

    pub fn controls(&self) -> Arc<PlayControls> {
        self.ctl.clone()
    }

    /// Decodes the next run of downloaded frames. `None`: nothing there yet; `Some(false)`:
    /// nothing there and nothing coming (end).
    fn refill(&mut self) -> Option<bool> {
        let from = self.fmt.byte_of(self.frame);
        let want_end = self
            .fmt
            .byte_of((self.frame + CHUNK_FRAMES).min(self.fmt.total_frames()));
        // Contended (the download is copying a chunk in): play a frame of silence, retry next.
        let s = self.buf.try_lock()?;
        let run_end = s.covered.run_end(from).unwrap_or(from).min(want_end);
        let frames = (run_end - from) / self.fmt.block_align();
        if frames == 0 {
            return if s.finished { Some(false) } else { None };
        }
        self.cache.clear();
        let to = from + frames * self.fmt.block_align();
        self.fmt
            .decode_all(&s.data[from as usize..to as usize], &mut self.cache);
        self.next = 0;
        Some(true)
    }
}

impl Iterator for StreamSource {
    type Item = rodio::Sample;

    fn next(&mut self) -> Option<f32> {
        if self.silence_owed > 0 {
            self.silence_owed -= 1;
            return Some(0.0);
        }
        let ch = self.fmt.channels as usize;
        if self.next.is_multiple_of(ch) {
            // Frame boundary: apply a posted seek, publish the position.
            let seek = self.ctl.seek_to.swap(NO_SEEK, Ordering::AcqRel);
            if seek != NO_SEEK {
                self.frame = seek.min(self.fmt.total_frames());
                self.cache.clear();
                self.next = 0;
                self.ctl.ended.store(false, Ordering::Release);
            }
            self.ctl.frame.store(self.frame, Ordering::Release);
        }
        if self.next >= self.cache.len() {
            if self.frame >= self.fmt.total_frames() {
                self.ctl.ended.store(true, Ordering::Release);
                return None;
            }
            match self.refill() {
                Some(true) => {}
                Some(false) => {
                    self.ctl.ended.store(true, Ordering::Release);
                    return None;
                }
                None => {
                    // Not downloaded yet: one frame of silence, never a wait.
                    let byte = self.fmt.byte_of(self.frame);
                    if self.last_wanted != byte {
                        self.last_wanted = byte;
                        self.buf.request(byte);
                    }
                    self.ctl.underruns.fetch_add(1, Ordering::Relaxed);
                    self.ctl.starving.store(true, Ordering::Relaxed);
                    self.silence_owed = self.fmt.channels - 1;
                    return Some(0.0);
                }
            }
            self.ctl.starving.store(false, Ordering::Relaxed);
        }
        let s = self.cache[self.next];
        self.next += 1;
        if self.next.is_multiple_of(ch) {
            self.frame += 1;
        }
        Some(s)
    }
}

impl Source for StreamSource {
    fn current_span_len(&self) -> Option<usize> {
        None // the format never changes
    }
    fn channels(&self) -> ChannelCount {
        NonZero::new(self.fmt.channels).expect("format checks channels > 0")
    }
    fn sample_rate(&self) -> SampleRate {
        NonZero::new(self.fmt.sample_rate).expect("format checks rate > 0")
    }
    fn total_duration(&self) -> Option<Duration> {
        Some(self.fmt.duration())
    }
    /// Posts the seek (applied at the next frame); never waits for the download.
    fn try_seek(&mut self, pos: Duration) -> Result<(), SeekError> {
        self.ctl.seek(self.fmt.frame_at(pos));
        Ok(())
    }
}
