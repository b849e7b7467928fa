//! Recordings: stream a call's WAV from the API to the speakers while it downloads, follow the
//! transcript as it plays, save it to disk.
//!
//! - [`engine`]: the [`AudioEngine`] thread the TUI talks to with [`AudioCommand`]s, answered by
//!   [`AudioEvent`]s. No sound device is normal: it reports `NoDevice` and plays silently
//!   (paced in real time, so position and transcript follow still work).
//! - [`download`] → [`buffer`] → [`source`]: HTTP body → sparse shared bytes (the first 4 MiB
//!   in memory, the rest in an anonymous temporary file) → rodio `Source` that never blocks the
//!   audio thread; far seeks use HTTP Range requests.
//! - [`save`]: atomic WAV download and a streaming completeness check (`s`, `export
//!   --with-audio`); [`follow`]: position ↔ turn;
//!   [`envelope`]: waveform levels.
//!
//! Speed (0.5×–2×) resamples, so the pitch rises and falls with it (no time-stretching).
//!
//! From the TUI (inside its tokio runtime):
//!
//! ```text
//! let (tx, mut audio_events) = tokio::sync::mpsc::unbounded_channel();
//! let audio = AudioEngine::start(client.clone(), tx); // device opened on the first Play
//! audio.send(AudioCommand::Play {
//!     conversation_id: conv.id.clone(),
//!     direction: AudioDirection::Combined,
//!     total_duration_hint: conv.total_duration.map(|s| Duration::from_secs(s.into())),
//!     start_at: Duration::ZERO,
//! });
//! // in the event loop: match audio_events.recv() => State / NoDevice / Format / Position /
//! // Download / Levels / Error; highlight `turn_at(&conv.turns, started_at, position)`;
//! // Enter on a turn: audio.send(AudioCommand::Seek(turn_start(&conv.turns, started_at, i)?)).
//! ```

pub mod buffer;
pub mod device;
pub mod download;
pub mod engine;
pub mod envelope;
pub mod follow;
pub mod format;
pub mod messages;
pub mod save;
pub mod source;
#[doc(hidden)]
pub use engine::AudioEngine;
pub use envelope::{BUCKET, fit_width, level_envelope, level_of, sparkline};
pub use follow::{Speaker, spoken_at, turn_at, turn_start};
pub use format::WavFormat;
pub use messages::{AudioCommand, AudioEvent, EngineOptions, PlaybackState};
pub use save::{SaveOutcome, check_complete_wav, save_recording};
