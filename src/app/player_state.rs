//! The player sub-state: the recording loaded in the audio engine and how it plays. Plain
//! data under `State` (the handlers are in `player`).

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::api::AudioDirection;
use crate::audio::PlaybackState;

/// The call whose recording is loaded in the engine.
#[derive(Debug, Clone, PartialEq)]
pub struct Playing {
    pub id: String,
    /// Turn times are relative to this (follow and Enter-to-seek).
    pub started_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct PlayerState {
    pub playing: Option<Playing>,
    pub state: PlaybackState,
    pub position: Duration,
    /// The header's duration, or the conversation's `total_duration` until it arrives.
    pub duration: Option<Duration>,
    pub speed: f32,
    pub volume: f32,
    pub direction: AudioDirection,
    pub downloaded: u64,
    pub download_total: Option<u64>,
    /// Level envelope (one value per `audio::BUCKET`), filled in as samples download.
    pub levels: Vec<f32>,
    /// Why there is no sound (playback continues silently).
    pub no_device: Option<String>,
    /// The transcript scrolls to the spoken turn.
    pub follow: bool,
    /// The last engine error for the playing call (truncated or malformed audio, 404, …).
    pub error: Option<String>,
    /// The turn of `playing` being spoken at `position`.
    pub spoken: Option<usize>,
    /// The id being saved with `s`, if any.
    pub saving: Option<String>,
    /// Where `s` writes `<id>.wav` (`<data dir>/recordings`, set by the runner).
    pub recordings_dir: PathBuf,
    /// `redacted=` for recordings (`P` toggles; `None`: config/API default, not redacted).
    pub redacted: Option<bool>,
    /// The caller turn playing alone (`p`), if that is what is loaded.
    pub utterance: Option<usize>,
}

impl Default for PlayerState {
    fn default() -> Self {
        PlayerState {
            playing: None,
            state: PlaybackState::Idle,
            position: Duration::ZERO,
            duration: None,
            speed: 1.0,
            volume: 1.0,
            direction: AudioDirection::Combined,
            downloaded: 0,
            download_total: None,
            levels: Vec::new(),
            no_device: None,
            follow: true,
            error: None,
            spoken: None,
            saving: None,
            recordings_dir: PathBuf::from("recordings"),
            redacted: None,
            utterance: None,
        }
    }
}

impl PlayerState {
    /// Whether the engine holds a recording that TogglePause/seek apply to.
    pub fn is_loaded(&self) -> bool {
        self.playing.is_some() && !matches!(self.state, PlaybackState::Idle)
    }

    pub fn playing_id(&self) -> Option<&str> {
        self.playing.as_ref().map(|p| p.id.as_str())
    }
}
