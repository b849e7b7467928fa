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
const DEFAULT_REBUFFER: Duration = Duration::from_millis(200);

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
    /// The raw bytes of the frames in `cache` (reused, so refills do not allocate).
    raw: Vec<u8>,
    cache: Vec<f32>,
    next: usize,
    silence_owed: u16,
    last_wanted: u64,
    /// Frames that must be downloaded ahead before playing on after an underrun.
    rebuffer: u64,
    rebuffering: bool,
    /// The last refill found the buffer locked (not a lack of data).
    contended: bool,
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
            raw: Vec::new(),
            cache: Vec::new(),
            next: 0,
            silence_owed: 0,
            last_wanted: u64::MAX,
            rebuffer: fmt.frames_in(DEFAULT_REBUFFER),
            rebuffering: false,
            contended: false,
        }
    }

    /// Audio to collect after an underrun before playing on (default 200 ms).
    pub fn with_rebuffer(mut self, d: Duration) -> Self {
        self.rebuffer = self.fmt.frames_in(d);
        self
    }

    pub fn controls(&self) -> Arc<PlayControls> {
        self.ctl.clone()
    }

    /// Decodes the next run of downloaded frames. `None`: nothing there yet; `Some(false)`:
    /// nothing there and nothing coming (end).
    fn refill(&mut self) -> Option<bool> {
        let from = self.fmt.byte_of(self.frame);
        let left = self.fmt.total_frames() - self.frame;
        // Contended (the download is copying a chunk in): play a frame of silence, retry next.
        let Some(s) = self.buf.try_lock() else {
            self.contended = true;
            return None;
        };
        let held = (s.covered.run_end(from).unwrap_or(from) - from) / self.fmt.block_align();
        if held == 0 && s.finished {
            return Some(false);
        }
        // After an underrun, wait for a little audio to pile up instead of stuttering
        // through every chunk as it lands.
        let need = if self.rebuffering { self.rebuffer.min(left) } else { 1 };
        if held < need.max(1) && !s.finished {
            return None;
        }
        self.rebuffering = false;
        let frames = held.min(CHUNK_FRAMES);
        self.raw.resize((frames * self.fmt.block_align()) as usize, 0);
        self.cache.clear();
        self.next = 0;
        if self.buf.read(&s, from, &mut self.raw).is_err() {
            // The temporary file failed under us: end rather than play noise.
            return Some(false);
        }
        self.fmt.decode_all(&self.raw, &mut self.cache);
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
            // Frame boundary: apply a posted seek.
            let seek = self.ctl.seek_to.swap(NO_SEEK, Ordering::AcqRel);
            if seek != NO_SEEK {
                self.frame = seek.min(self.fmt.total_frames());
                self.cache.clear();
                self.next = 0;
                self.ctl.ended.store(false, Ordering::Release);
                self.ctl.frame.store(self.frame, Ordering::Release);
            }
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
                    if !std::mem::take(&mut self.contended) {
                        let byte = self.fmt.byte_of(self.frame);
                        if self.last_wanted != byte {
                            self.last_wanted = byte;
                            self.buf.request(byte);
                        }
                        self.rebuffering = true;
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
            self.ctl.frame.store(self.frame, Ordering::Release);
        }
        Some(s)
    }
}

impl Source for StreamSource {
    fn current_span_len(&self) -> Option<usize> {
        None // the format never changes
    }
    // Cannot fail: WavFormat::parse refuses zero channels.
    #[allow(clippy::expect_used)]
    fn channels(&self) -> ChannelCount {
        NonZero::new(self.fmt.channels).expect("format checks channels > 0")
    }
    // Cannot fail: WavFormat::parse refuses a zero rate.
    #[allow(clippy::expect_used)]
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

// Real WAV bytes from the tests' support code (plain std + hound, no crate paths).
#[cfg(test)]
#[path = "../../tests/support/wav.rs"]
#[allow(dead_code)]
mod test_wav;

#[cfg(test)]
mod tests {
    use super::test_wav::tone_wav;
    use super::*;

    fn setup(have: usize) -> (Arc<SharedBuffer>, WavFormat, Vec<u8>, Vec<i16>) {
        let (wav, samples) = tone_wav(1_000, 1, 1.0); // 1000 frames
        let fmt = WavFormat::parse(&wav, true).unwrap().unwrap();
        // A small memory window, so these bytes straddle memory and the temporary file.
        let buf = Arc::new(SharedBuffer::with_memory_window(300));
        buf.write(0, &wav[..have]).unwrap();
        buf.update(|s| s.format = Some(fmt));
        (buf, fmt, wav, samples)
    }

    fn as_i16(s: f32) -> i16 {
        (s * 32768.0).round() as i16
    }

    #[test]
    fn underrun_plays_silence_asks_for_the_byte_and_rebuffers() {
        let (buf, fmt, wav, samples) = setup(44 + 2 * 10);
        let mut src = StreamSource::new(buf.clone(), fmt, 0).with_rebuffer(Duration::from_millis(50));
        let first: Vec<i16> = (0..10).map(|_| as_i16(src.next().unwrap())).collect();
        assert_eq!(first, samples[..10]);
        assert_eq!(src.next(), Some(0.0), "no data: silence, not a wait");
        assert!(src.controls().starving());
        assert_eq!(buf.take_wanted(), Some(44 + 20));
        // 20 more frames arrive: fewer than the 50 ms (50 frames) rebuffer, keep waiting.
        buf.write(64, &wav[64..104]).unwrap();
        assert_eq!(src.next(), Some(0.0));
        buf.write(104, &wav[104..200]).unwrap();
        assert_eq!(as_i16(src.next().unwrap()), samples[10]);
        assert!(!src.controls().starving());
        assert_eq!(src.controls().frame(), 11);
    }

    #[test]
    fn seek_is_posted_and_the_end_of_a_finished_download_ends_the_source() {
        let (buf, fmt, _, samples) = setup(44 + 2 * 600);
        let mut src = StreamSource::new(buf.clone(), fmt, 0);
        let ctl = src.controls();
        ctl.seek(590);
        assert_eq!(ctl.frame(), 590, "a posted seek is the position at once");
        let got: Vec<i16> = (0..10).map(|_| as_i16(src.next().unwrap())).collect();
        assert_eq!(got, samples[590..600]);
        buf.update(|s| s.finished = true); // truncated: nothing more will come
        assert_eq!(src.next(), None);
        assert!(ctl.ended());
        src.try_seek(Duration::from_millis(100)).unwrap(); // back into the data: plays again
        assert_eq!(as_i16(src.next().unwrap()), samples[100]);
    }
}
