//! The engine's message API: what the TUI sends ([`AudioCommand`]) and receives ([`AudioEvent`]).

use std::time::Duration;

use crate::api::AudioDirection;

#[derive(Debug, Clone, PartialEq)]
pub enum AudioCommand {
    /// Streams a recording from `start_at`; replaces (and cancels the download of) any other.
    /// `total_duration_hint` (the conversation's `total_duration`) is shown until the header is in.
    Play {
        conversation_id: String,
        direction: AudioDirection,
        total_duration_hint: Option<Duration>,
        start_at: Duration,
    },
    Pause,
    Resume,
    /// Pause when playing, resume otherwise (restarts from the top after the end).
    TogglePause,
    /// Stops playback and cancels the download.
    Stop,
    /// Absolute position (clamped to the recording).
    Seek(Duration),
    /// Relative seek in seconds (e.g. ±5, ±30).
    SeekBy(i64),
    /// 0.5–2.0. rodio resamples, so the pitch changes with the speed (no time-stretching).
    SetSpeed(f32),
    /// 0.0–2.0 (1.0 = as recorded).
    SetVolume(f32),
    /// Switches to the combined/user/agent recording at the same position.
    SetDirection(AudioDirection),
    /// Plays one caller utterance alone: `url` is the turn's `user_input_audio_url`.
    PlayUtterance {
        conversation_id: String,
        url: String,
        duration_hint: Option<Duration>,
    },
    /// `redacted=true|false` (`None`: the API's default) for what is fetched from now on; the
    /// playing recording is fetched again at the same position.
    SetRedacted(Option<bool>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum PlaybackState {
    Idle,
    /// Waiting for bytes: the header, the prebuffer, or data after a seek/underrun.
    Buffering,
    Playing,
    Paused,
    Ended,
    Error(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum AudioEvent {
    State(PlaybackState),
    /// No output device (sent once, on the first Play). Playback continues silently, paced in
    /// real time, so position/follow/controls keep working; show "no audio device".
    NoDevice(String),
    /// The recording's header arrived.
    Format {
        channels: u16,
        sample_rate: u32,
        bits_per_sample: u16,
        duration: Duration,
        /// Length of the level envelope (one value per [`BUCKET`](super::BUCKET)); see `Levels`.
        envelope_len: usize,
    },
    /// ~10 Hz while playing, and after every seek.
    Position {
        position: Duration,
        duration: Option<Duration>,
    },
    Download {
        bytes: u64,
        total: Option<u64>,
    },
    /// Envelope values for buckets `first..first + values.len()`, 0..=1, as samples download.
    Levels {
        first: usize,
        values: Vec<f32>,
    },
    /// Something went wrong (404 with diagnosis, truncated/not-WAV body); what arrived still plays.
    Error(String),
}

/// Output selection and tuning.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// `false` skips the device and always uses the silent real-time output (tests, `--no-audio`).
    pub use_device: bool,
    /// Audio buffered before playback starts (hides network jitter).
    pub prebuffer: Duration,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            use_device: true,
            prebuffer: Duration::from_millis(200),
        }
    }
}
