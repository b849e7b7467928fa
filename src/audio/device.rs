//! The output device, or a silent stand-in when there is none.
//!
//! No sound device is normal (servers, containers, SSH): opening fails fast (a few ms) and the
//! engine keeps going with a silent output that pulls samples at the real-time rate, so the
//! position, transcript follow and controls still work.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rodio::queue::SourcesQueueOutput;
use rodio::{ChannelCount, MixerDeviceSink, SampleRate, Source};

/// Opens the default output without writing to stderr (alsa-lib's messages would smear over
/// the TUI); the error says why, for a status line. Device errors while playing (e.g. the
/// device vanished) go to `on_error` instead of rodio's default `eprintln!`.
pub fn open_default_output(on_error: impl FnMut(String) + Clone + Send + 'static) -> Result<MixerDeviceSink, String> {
    #[cfg(target_os = "linux")]
    let alsa_log = alsa::Output::local_error_handler().ok();
    let mut report = on_error;
    let callback = move |e: rodio::cpal::Error| report(format!("audio device: {e}"));
    let opened = rodio::DeviceSinkBuilder::from_default_device()
        .map(|b| b.with_error_callback(callback))
        .and_then(|b| b.open_sink_or_fallback())
        // Other devices than the default one (rodio skips "null" ones).
        .or_else(|_| rodio::DeviceSinkBuilder::open_default_sink());
    match opened {
        Ok(mut sink) => {
            sink.log_on_drop(false);
            Ok(sink)
        }
        Err(e) => {
            #[allow(unused_mut)]
            let mut msg = format!("no audio device ({e})");
            #[cfg(target_os = "linux")]
            if let Some(last) = alsa_log.and_then(|l| l.borrow().to_string().lines().last().map(str::to_string)) {
                msg += &format!(": {}", last.trim());
            }
            Err(msg)
        }
    }
}

/// Where a player's samples go.
pub enum Output {
    Device(MixerDeviceSink),
    /// No device: a thread pulls samples in real time and discards them.
    Silent,
}

/// Connects a player's queue output to `output`. Dropping the guard disconnects it
/// (the mixer drops the source; the silent thread exits).
// Allowed: without a thread the output device cannot be opened; failing loudly at start-up is the only option.
#[allow(clippy::expect_used)]
pub fn connect(output: &Output, queue: SourcesQueueOutput) -> OutputGuard {
    let stop = Arc::new(AtomicBool::new(false));
    let src = EndWhen {
        inner: queue,
        stop: stop.clone(),
    };
    match output {
        Output::Device(sink) => sink.mixer().add(src),
        Output::Silent => {
            std::thread::Builder::new()
                .name("callscope-silent-output".into())
                .spawn(move || pull_in_real_time(src))
                .expect("spawning a thread");
        }
    }
    OutputGuard { stop }
}

pub struct OutputGuard {
    stop: Arc<AtomicBool>,
}

impl Drop for OutputGuard {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}

/// Pulls 10 ms of samples every 10 ms at the source's current rate (which includes the
/// player's speed factor), like a sound card would.
fn pull_in_real_time(mut src: EndWhen<SourcesQueueOutput>) {
    const TICK: Duration = Duration::from_millis(10);
    let mut next = Instant::now();
    let mut owed = 0.0f64;
    loop {
        owed += src.sample_rate().get() as f64 * src.channels().get() as f64 * TICK.as_secs_f64();
        while owed >= 1.0 {
            owed -= 1.0;
            if src.next().is_none() {
                return;
            }
        }
        next += TICK;
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
}

/// A source that ends as soon as `stop` is set, so a finished player's queue (which would
/// otherwise play silence forever) leaves the mixer.
struct EndWhen<S> {
    inner: S,
    stop: Arc<AtomicBool>,
}

impl<S: Source> Iterator for EndWhen<S> {
    type Item = rodio::Sample;
    fn next(&mut self) -> Option<rodio::Sample> {
        if self.stop.load(Ordering::Relaxed) {
            return None;
        }
        self.inner.next()
    }
}

impl<S: Source> Source for EndWhen<S> {
    fn current_span_len(&self) -> Option<usize> {
        self.inner.current_span_len()
    }
    fn channels(&self) -> ChannelCount {
        self.inner.channels()
    }
    fn sample_rate(&self) -> SampleRate {
        self.inner.sample_rate()
    }
    fn total_duration(&self) -> Option<Duration> {
        self.inner.total_duration()
    }
}
