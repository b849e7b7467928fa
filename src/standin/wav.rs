//! Call recordings: RIFF PCM16 mono 8 kHz WAV synthesized from the transcript's timeline.
//!
//! The caller and the agent "speak" where their turns are: harmonic tones with vowel-like
//! formants, amplitude-modulated at a syllable rate, a low voice for the caller and a higher one
//! for the agent; keypad turns are real DTMF tone pairs; everything else is a low noise floor.
//! Every sample is a pure function of its index, so any byte range is computed directly and the
//! body is streamed in chunks without ever holding the whole file.

use std::f32::consts::PI;
use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;

use super::auth::{Caller, project_for};
use super::data::DatasetHandle;
use super::errors::ApiFailure;
use super::generate::{ASR_DELAY, dtmf_secs, speech_secs};
use super::rng::mix;
use super::state::SharedState;
use crate::api::model::Conversation;

pub const SAMPLE_RATE: u32 = 8000;
pub const HEADER_LEN: u64 = 44;
const CHUNK: u64 = 16 * 1024;
const TABLE: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Combined,
    User,
    Agent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Speaker {
    User,
    Agent,
}

#[derive(Debug, Clone, Copy)]
enum Sound {
    Speech {
        seed: u64,
    },
    /// A DTMF digit: its low and high frequencies.
    Tone {
        low: f32,
        high: f32,
    },
}

#[derive(Debug, Clone, Copy)]
struct Segment {
    start: u64,
    end: u64,
    speaker: Speaker,
    sound: Sound,
    /// The turn it belongs to (per-turn audio cuts one caller turn out).
    turn: usize,
}

/// A recording: its length and where each speaker is heard.
#[derive(Debug, Clone)]
pub struct Recording {
    total_samples: u64,
    segments: Vec<Segment>,
    direction: Direction,
    noise_seed: u64,
    /// `redacted=true`: sample spans (absolute) where the caller said an entity value; they hold
    /// the redaction tone instead of any voice.
    bleeps: Vec<(u64, u64)>,
    /// Where sample 0 sits in the call (per-turn audio is a window of it).
    offset: u64,
}

/// The tone that replaces redacted speech: a steady 1 kHz sine, unlike any voice here.
pub const BLEEP_HZ: f32 = 1000.0;
const BLEEP_AMPLITUDE: f32 = 6000.0;

/// Byte ranges of `text` where one of `values` is said (each occurrence; empty values ignored).
fn value_spans(text: &str, values: &[&str]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    for v in values.iter().filter(|v| !v.trim().is_empty()) {
        let mut from = 0;
        while let Some(i) = text[from..].find(v) {
            spans.push((from + i, from + i + v.len()));
            from += i + v.len();
        }
    }
    spans
}

fn dtmf_freqs(digit: char) -> Option<(f32, f32)> {
    let (row, col) = match digit {
        '1' => (0, 0),
        '2' => (0, 1),
        '3' => (0, 2),
        '4' => (1, 0),
        '5' => (1, 1),
        '6' => (1, 2),
        '7' => (2, 0),
        '8' => (2, 1),
        '9' => (2, 2),
        '*' => (3, 0),
        '0' => (3, 1),
        '#' => (3, 2),
        _ => return None,
    };
    Some(([697.0, 770.0, 852.0, 941.0][row], [1209.0, 1336.0, 1477.0][col]))
}

/// One pitch period of a vowel for a speaker, normalized to peak 1.
fn wavetables() -> &'static [[Vec<f32>; 5]; 2] {
    static TABLES: OnceLock<[[Vec<f32>; 5]; 2]> = OnceLock::new();
    TABLES.get_or_init(|| {
        // Formants (F1, F2, F3) of a, i, u, e, o.
        const VOWELS: [[f32; 3]; 5] = [
            [730.0, 1090.0, 2440.0],
            [270.0, 2290.0, 3010.0],
            [300.0, 870.0, 2240.0],
            [530.0, 1840.0, 2480.0],
            [570.0, 840.0, 2410.0],
        ];
        let table = |f0: f32, formant_scale: f32, vowel: [f32; 3]| {
            let harmonics = (3600.0 / f0) as usize;
            let mut t: Vec<f32> = (0..TABLE)
                .map(|i| {
                    let x = i as f32 / TABLE as f32;
                    (1..=harmonics)
                        .map(|h| {
                            let f = h as f32 * f0;
                            let gain: f32 = vowel
                                .iter()
                                .zip([1.0, 0.6, 0.3])
                                .map(|(&formant, g)| {
                                    let d = (f - formant * formant_scale) / 110.0;
                                    g / (1.0 + d * d)
                                })
                                .sum::<f32>()
                                / (h as f32).sqrt();
                            gain * (2.0 * PI * h as f32 * x + h as f32 * 0.7).sin()
                        })
                        .sum()
                })
                .collect();
            let peak = t.iter().fold(1e-6f32, |m, v| m.max(v.abs()));
            t.iter_mut().for_each(|v| *v /= peak);
            t
        };
        [
            VOWELS.map(|v| table(SpeakerVoice::USER.f0, 1.0, v)),
            VOWELS.map(|v| table(SpeakerVoice::AGENT.f0, 1.15, v)),
        ]
    })
}

struct SpeakerVoice {
    f0: f32,
    syllables_per_s: f32,
    amplitude: f32,
}

impl SpeakerVoice {
    const USER: SpeakerVoice = SpeakerVoice {
        f0: 120.0,
        syllables_per_s: 3.8,
        amplitude: 9000.0,
    };
    const AGENT: SpeakerVoice = SpeakerVoice {
        f0: 205.0,
        syllables_per_s: 4.4,
        amplitude: 8000.0,
    };
}

impl Recording {
    /// The recording of a (voice) conversation, from its turns' timestamps.
    pub fn of(c: &Conversation, direction: Direction) -> Recording {
        Self::with_redaction(c, direction, false)
    }

    /// Like [`Recording::of`]; with `redacted`, every entity value the caller says (and keypad
    /// digits that are an entity value) is replaced by the [`BLEEP_HZ`] tone.
    pub fn with_redaction(c: &Conversation, direction: Direction, redacted: bool) -> Recording {
        let total_samples = c.total_duration.unwrap_or(0) as u64 * SAMPLE_RATE as u64;
        let Some(start) = c.started_at else {
            return Recording {
                total_samples,
                segments: Vec::new(),
                direction,
                noise_seed: 0,
                bleeps: Vec::new(),
                offset: 0,
            };
        };
        let pos = |t: Option<chrono::DateTime<chrono::Utc>>, shift: f64| -> Option<f64> {
            t.map(|t| (t - start).num_milliseconds() as f64 / 1000.0 + shift)
        };
        let sample = |secs: f64| ((secs.max(0.0) * SAMPLE_RATE as f64) as u64).min(total_samples);
        let mut segments = Vec::new();
        let mut bleeps = Vec::new();
        let seed = mix(c.id.bytes().fold(0u64, |h, b| mix(h ^ b as u64)));
        for (i, t) in c.turns.iter().enumerate() {
            let k = i as u64 * 4;
            let values: Vec<&str> = t
                .entities
                .iter()
                .flat_map(|e| e.values.iter().map(String::as_str))
                .collect();
            if let Some(end) = pos(t.user_input_datetime, -ASR_DELAY) {
                if !t.user_input.is_empty() {
                    let (a, b) = (end - speech_secs(&t.user_input), end);
                    segments.push(Segment {
                        start: sample(a),
                        end: sample(b),
                        speaker: Speaker::User,
                        sound: Sound::Speech { seed: mix(seed ^ k) },
                        turn: i,
                    });
                    if redacted {
                        // Speech runs at an even pace through the text: a value's share of the
                        // characters is its share of the utterance.
                        let len = t.user_input.len().max(1) as f64;
                        for (x, y) in value_spans(&t.user_input, &values) {
                            let at = |byte: usize| sample(a + (b - a) * byte as f64 / len);
                            bleeps.push((at(x), at(y)));
                        }
                    }
                }
                let digits: Vec<char> = t.user_input_dtmf.chars().filter(|d| dtmf_freqs(*d).is_some()).collect();
                let secret_digits = redacted && values.contains(&t.user_input_dtmf.as_str());
                let mut at = end - dtmf_secs(&t.user_input_dtmf);
                for d in digits {
                    let (low, high) = dtmf_freqs(d).unwrap_or((697.0, 1209.0));
                    segments.push(Segment {
                        start: sample(at),
                        end: sample(at + 0.15),
                        speaker: Speaker::User,
                        sound: Sound::Tone { low, high },
                        turn: i,
                    });
                    if secret_digits {
                        bleeps.push((sample(at), sample(at + 0.15)));
                    }
                    at += 0.25;
                }
            }
            if let Some(begin) = pos(t.agent_response_datetime, 0.0)
                && !t.agent_response.is_empty()
            {
                segments.push(Segment {
                    start: sample(begin),
                    end: sample(begin + speech_secs(&t.agent_response)),
                    speaker: Speaker::Agent,
                    sound: Sound::Speech {
                        seed: mix(seed ^ (k + 1)),
                    },
                    turn: i,
                });
            }
        }
        segments.retain(|s| s.end > s.start);
        segments.sort_by_key(|s| s.start);
        bleeps.retain(|(a, b)| b > a);
        Recording {
            total_samples,
            segments,
            direction,
            noise_seed: seed ^ direction as u64,
            bleeps,
            offset: 0,
        }
    }

    /// One caller utterance alone (`…/turns/{n}/audio`): the caller's audio from the start of
    /// turn `turn`'s speech (or keypad digits) to its end, with 0.1 s either side; `None` when
    /// the turn has no caller audio.
    pub fn utterance(c: &Conversation, turn: usize, redacted: bool) -> Option<Recording> {
        let mut rec = Self::with_redaction(c, Direction::User, redacted);
        let pad = SAMPLE_RATE as u64 / 10;
        let (a, b) = rec
            .segments
            .iter()
            .filter(|s| s.turn == turn && s.speaker == Speaker::User)
            .fold(None, |acc: Option<(u64, u64)>, s| {
                Some(acc.map_or((s.start, s.end), |(a, b)| (a.min(s.start), b.max(s.end))))
            })?;
        let (a, b) = (a.saturating_sub(pad), (b + pad).min(rec.total_samples.max(b)));
        rec.segments.retain(|s| s.turn == turn);
        rec.offset = a;
        rec.total_samples = b - a;
        Some(rec)
    }

    /// Sample spans (relative to this recording) that hold the redaction tone.
    pub fn redacted_spans(&self) -> Vec<(u64, u64)> {
        self.bleeps
            .iter()
            .filter(|(a, b)| *b > self.offset && *a < self.offset + self.total_samples)
            .map(|(a, b)| (a.saturating_sub(self.offset), (b - self.offset).min(self.total_samples)))
            .collect()
    }

    pub fn total_samples(&self) -> u64 {
        self.total_samples
    }

    /// Size of the whole WAV file in bytes.
    pub fn len(&self) -> u64 {
        HEADER_LEN + self.total_samples * 2
    }

    pub fn is_empty(&self) -> bool {
        self.total_samples == 0
    }

    fn header(&self) -> [u8; HEADER_LEN as usize] {
        let data = (self.total_samples * 2).min(u32::MAX as u64 - 36) as u32;
        let mut h = [0u8; HEADER_LEN as usize];
        h[0..4].copy_from_slice(b"RIFF");
        h[4..8].copy_from_slice(&(36 + data).to_le_bytes());
        h[8..12].copy_from_slice(b"WAVE");
        h[12..16].copy_from_slice(b"fmt ");
        h[16..20].copy_from_slice(&16u32.to_le_bytes());
        h[20..22].copy_from_slice(&1u16.to_le_bytes()); // PCM
        h[22..24].copy_from_slice(&1u16.to_le_bytes()); // mono
        h[24..28].copy_from_slice(&SAMPLE_RATE.to_le_bytes());
        h[28..32].copy_from_slice(&(SAMPLE_RATE * 2).to_le_bytes());
        h[32..34].copy_from_slice(&2u16.to_le_bytes());
        h[34..36].copy_from_slice(&16u16.to_le_bytes());
        h[36..40].copy_from_slice(b"data");
        h[40..44].copy_from_slice(&data.to_le_bytes());
        h
    }

    fn heard(&self, s: &Segment) -> bool {
        match self.direction {
            Direction::Combined => true,
            Direction::User => s.speaker == Speaker::User,
            Direction::Agent => s.speaker == Speaker::Agent,
        }
    }

    /// Samples `[from, from + out.len())`.
    pub fn render(&self, from: u64, out: &mut [i16]) {
        let (from, to) = (from + self.offset, from + self.offset + out.len() as u64);
        let mut acc: Vec<f32> = (from..to)
            .map(|n| {
                // About -55 dBFS of line noise.
                let r = mix(self.noise_seed ^ n);
                ((r & 0xff) as f32 - 127.5) * 0.45
            })
            .collect();
        for seg in self
            .segments
            .iter()
            .filter(|s| s.start < to && s.end > from && self.heard(s))
        {
            let lo = seg.start.max(from);
            let hi = seg.end.min(to);
            for n in lo..hi {
                acc[(n - from) as usize] += voice(seg, n);
            }
        }
        for &(a, b) in self.bleeps.iter().filter(|(a, b)| *a < to && *b > from) {
            for n in a.max(from)..b.min(to) {
                let local = (n - a) as f32 / SAMPLE_RATE as f32;
                let edge = ((n - a).min(b - 1 - n) as f32 / 80.0).min(1.0);
                let r = mix(self.noise_seed ^ n);
                acc[(n - from) as usize] =
                    ((r & 0xff) as f32 - 127.5) * 0.45 + edge * BLEEP_AMPLITUDE * (2.0 * PI * BLEEP_HZ * local).sin();
            }
        }
        for (o, a) in out.iter_mut().zip(acc) {
            *o = a.clamp(i16::MIN as f32, i16::MAX as f32) as i16;
        }
    }

    /// The file's bytes `[offset, offset + out.len())` (header included).
    pub fn read_at(&self, offset: u64, out: &mut [u8]) {
        let mut pos = offset;
        let mut written = 0;
        if pos < HEADER_LEN {
            let h = self.header();
            let n = ((HEADER_LEN - pos) as usize).min(out.len());
            out[..n].copy_from_slice(&h[pos as usize..pos as usize + n]);
            written = n;
            pos += n as u64;
        }
        if written == out.len() {
            return;
        }
        let first = (pos - HEADER_LEN) / 2;
        let last = (pos - HEADER_LEN + (out.len() - written) as u64).div_ceil(2);
        let mut samples = vec![0i16; (last - first) as usize];
        self.render(first, &mut samples);
        let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
        let skip = ((pos - HEADER_LEN) % 2) as usize;
        let n = out.len() - written;
        out[written..].copy_from_slice(&bytes[skip..skip + n]);
    }
}

/// One sample of a segment's sound (no noise).
fn voice(seg: &Segment, n: u64) -> f32 {
    let local = (n - seg.start) as f32 / SAMPLE_RATE as f32;
    let edge = ((n - seg.start).min(seg.end - 1 - n) as f32 / 80.0).min(1.0); // 10 ms fades
    match seg.sound {
        Sound::Tone { low, high } => edge * 5000.0 * ((2.0 * PI * low * local).sin() + (2.0 * PI * high * local).sin()),
        Sound::Speech { seed } => {
            let (v, table) = match seg.speaker {
                Speaker::User => (&SpeakerVoice::USER, 0),
                Speaker::Agent => (&SpeakerVoice::AGENT, 1),
            };
            let syl = local * v.syllables_per_s;
            let k = syl as u64;
            let p = syl - k as f32;
            let h = mix(seed ^ k);
            // Every few syllables a short pause between words.
            if h.is_multiple_of(6) && k > 0 {
                return 0.0;
            }
            let amp = v.amplitude * (0.55 + 0.45 * ((h >> 8) & 0xff) as f32 / 255.0);
            let env = (PI * p).sin();
            let dur = (seg.end - seg.start) as f32 / SAMPLE_RATE as f32;
            let f0 = v.f0 * (0.92 + 0.16 * ((h >> 16) & 0xff) as f32 / 255.0) * (1.0 - 0.08 * local / dur.max(0.1));
            let vowel = ((h >> 24) % 5) as usize;
            let t = &wavetables()[table][vowel];
            let phase = (f0 * local).fract() * TABLE as f32;
            let i = phase as usize % TABLE;
            let frac = phase - phase.floor();
            let s = t[i] * (1.0 - frac) + t[(i + 1) % TABLE] * frac;
            edge * amp * env * env * s
        }
    }
}

/// A parsed `Range` header against a file of `len` bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum RangeAsk {
    /// No (usable) Range: serve everything with 200.
    Full,
    /// Inclusive byte range: 206.
    Part(u64, u64),
    /// 416.
    Unsatisfiable,
}

/// `bytes=a-b`, `bytes=a-`, `bytes=-n`; anything else (including several ranges) is ignored,
/// as RFC 9110 allows.
pub fn parse_range(value: Option<&str>, len: u64) -> RangeAsk {
    let Some(spec) = value.and_then(|v| v.trim().strip_prefix("bytes=")) else {
        return RangeAsk::Full;
    };
    if spec.contains(',') {
        return RangeAsk::Full;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return RangeAsk::Full;
    };
    let (a, b) = (a.trim(), b.trim());
    match (a.parse::<u64>().ok(), b.parse::<u64>().ok()) {
        (None, Some(n)) if a.is_empty() => {
            if n == 0 || len == 0 {
                RangeAsk::Unsatisfiable
            } else {
                RangeAsk::Part(len.saturating_sub(n), len - 1)
            }
        }
        (Some(first), None) if b.is_empty() => {
            if first >= len {
                RangeAsk::Unsatisfiable
            } else {
                RangeAsk::Part(first, len - 1)
            }
        }
        (Some(first), Some(last)) if first <= last => {
            if first >= len {
                RangeAsk::Unsatisfiable
            } else {
                RangeAsk::Part(first, last.min(len - 1))
            }
        }
        _ => RangeAsk::Full,
    }
}

fn parse_direction(pairs: &[(String, String)]) -> Result<Direction, ApiFailure> {
    match pairs
        .iter()
        .rev()
        .find(|(k, _)| k == "direction")
        .map(|(_, v)| v.to_ascii_lowercase())
        .as_deref()
    {
        None | Some("combined") => Ok(Direction::Combined),
        Some("user") => Ok(Direction::User),
        Some("agent") => Ok(Direction::Agent),
        Some(other) => Err(ApiFailure::validation(format!(
            "direction must be combined, user or agent (got {}).",
            super::sanitize_echo(other)
        ))),
    }
}

/// `redacted=true|false` (default false, as the reference documents).
fn parse_redacted(pairs: &[(String, String)]) -> Result<bool, ApiFailure> {
    match pairs
        .iter()
        .rev()
        .find(|(k, _)| k == "redacted")
        .map(|(_, v)| v.to_ascii_lowercase())
        .as_deref()
    {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(ApiFailure::validation(format!(
            "redacted must be true or false (got {}).",
            super::sanitize_echo(other)
        ))),
    }
}

/// The relative `user_input_audio_url` of every caller turn that has audio, as the platform
/// by-id object carries it (`conversations/{id}/turns/{n}/audio`).
pub fn add_utterance_urls(c: &mut Conversation) {
    if !c.is_voice() || c.in_progress {
        return;
    }
    let id = c.id.clone();
    for (n, t) in c.turns.iter_mut().enumerate() {
        if !t.user_input.is_empty() || t.user_input_dtmf.chars().any(|d| dtmf_freqs(d).is_some()) {
            t.user_input_audio_url = format!("conversations/{id}/turns/{n}/audio");
        }
    }
}

/// Bytes `[from, to)` of `rec` as a stream of chunks.
fn stream_body(rec: Arc<Recording>, from: u64, to: u64) -> Body {
    let chunks = futures_util::stream::unfold(from, move |pos| {
        let rec = rec.clone();
        async move {
            if pos >= to {
                return None;
            }
            let n = (to - pos).min(CHUNK);
            let mut buf = vec![0u8; n as usize];
            rec.read_at(pos, &mut buf);
            Some((Ok::<_, std::convert::Infallible>(Bytes::from(buf)), pos + n))
        }
    });
    Body::from_stream(chunks)
}

/// `GET /v1/agents/{project}/conversations/{id}/turns/{n}/audio`: one caller utterance.
pub async fn utterance_route(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    path: Result<Path<(String, String, String)>, PathRejection>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiFailure> {
    let Path((project, id, turn)) =
        path.map_err(|e| ApiFailure::validation(format!("Invalid path: {}", e.body_text())))?;
    let project = project_for(&state, &caller, None, &project)?;
    let Query(pairs) = query.map_err(|e| ApiFailure::validation(format!("Invalid query string: {}", e.body_text())))?;
    let turn: usize = turn.parse().map_err(|_| {
        ApiFailure::validation(format!(
            "turn must be a 0-based turn number (got {}).",
            super::sanitize_echo(&turn)
        ))
    })?;
    let redacted = parse_redacted(&pairs)?;
    let conversation = recorded(&project.data, &id)?;
    let rec = Recording::utterance(&conversation, turn, redacted).ok_or_else(|| {
        ApiFailure::new(
            StatusCode::NOT_FOUND,
            "CONVERSATIONS_RECORDING_NOT_FOUND",
            format!("Recording not found: turn {turn} has no caller audio."),
        )
    })?;
    serve(rec, &headers)
}

/// The conversation behind a recording route: a finished voice call.
fn recorded(data: &DatasetHandle, id: &str) -> Result<Conversation, ApiFailure> {
    let entry = data.entry(id).ok_or_else(|| ApiFailure::conversation_not_found(id))?;
    if !entry.is_voice() {
        return Err(ApiFailure::new(
            StatusCode::NOT_FOUND,
            "CONVERSATIONS_RECORDING_NOT_FOUND",
            "Recording not found for the given conversation: only voice calls (VOICE-SIP) have recordings.",
        ));
    }
    if entry.in_progress {
        return Err(ApiFailure::new(
            StatusCode::NOT_FOUND,
            "CONVERSATIONS_RECORDING_NOT_FOUND",
            "Recording not found for the given conversation: the call is still in progress; the recording is ready when the call ends.",
        ));
    }
    Ok(data.expand_for_audio(&entry))
}

/// `GET …/conversations/{id}/audio`: the WAV, whole or a byte range.
pub fn respond(
    data: &DatasetHandle,
    id: &str,
    pairs: &[(String, String)],
    headers: &HeaderMap,
) -> Result<Response, ApiFailure> {
    let direction = parse_direction(pairs)?;
    let redacted = parse_redacted(pairs)?;
    let conversation = recorded(data, id)?;
    serve(Recording::with_redaction(&conversation, direction, redacted), headers)
}

/// `rec` whole (200) or the `Range` asked for (206).
fn serve(rec: Recording, headers: &HeaderMap) -> Result<Response, ApiFailure> {
    let rec = Arc::new(rec);
    let len = rec.len();
    let range = parse_range(headers.get(header::RANGE).and_then(|v| v.to_str().ok()), len);
    let (status, from, to) = match range {
        RangeAsk::Full => (StatusCode::OK, 0, len),
        RangeAsk::Part(a, b) => (StatusCode::PARTIAL_CONTENT, a, b + 1),
        RangeAsk::Unsatisfiable => {
            let mut f = ApiFailure::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "RANGE_NOT_SATISFIABLE",
                format!("The requested range is outside the recording ({len} bytes)."),
            );
            f.content_range = Some(format!("bytes */{len}"));
            return Err(f);
        }
    };
    let mut resp = Response::new(stream_body(rec, from, to));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("audio/wav"));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(to - from));
    if status == StatusCode::PARTIAL_CONTENT
        && let Ok(v) = HeaderValue::from_str(&format!("bytes {from}-{}/{len}", to - 1))
    {
        h.insert(header::CONTENT_RANGE, v);
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range(None, 100), RangeAsk::Full);
        assert_eq!(parse_range(Some("bytes=0-9"), 100), RangeAsk::Part(0, 9));
        assert_eq!(parse_range(Some("bytes=90-"), 100), RangeAsk::Part(90, 99));
        assert_eq!(parse_range(Some("bytes=-10"), 100), RangeAsk::Part(90, 99));
        assert_eq!(parse_range(Some("bytes=50-500"), 100), RangeAsk::Part(50, 99));
        assert_eq!(parse_range(Some("bytes=100-"), 100), RangeAsk::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=-0"), 100), RangeAsk::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=5-2"), 100), RangeAsk::Full);
        assert_eq!(parse_range(Some("bytes=0-1,5-6"), 100), RangeAsk::Full);
        assert_eq!(parse_range(Some("items=0-1"), 100), RangeAsk::Full);
    }

    #[test]
    fn any_offset_matches_the_whole_file() {
        let c: Conversation = serde_json::from_value(serde_json::json!({
            "id": "CA1", "started_at": "2026-01-01T00:00:00Z", "total_duration": 3,
            "channel": "VOICE-SIP",
            "turns": [{"agent_response": "Hello there, how can I help", "agent_response_datetime": "2026-01-01T00:00:00.300Z",
                       "user_input": "", "user_input_datetime": "2026-01-01T00:00:00Z"},
                      {"user_input": "", "user_input_dtmf": "12", "user_input_datetime": "2026-01-01T00:00:02.900Z",
                       "agent_response": "", "agent_response_datetime": null}]
        }))
        .unwrap();
        let rec = Recording::of(&c, Direction::Combined);
        let mut all = vec![0u8; rec.len() as usize];
        rec.read_at(0, &mut all);
        assert_eq!(all.len(), 44 + 3 * 8000 * 2);
        for (off, n) in [(0u64, 7usize), (43, 3), (45, 1001), (1000, 2), (47_999, 45)] {
            let mut part = vec![0u8; n];
            rec.read_at(off, &mut part);
            assert_eq!(part, all[off as usize..off as usize + n], "at {off}");
        }
        let reader = hound::WavReader::new(std::io::Cursor::new(all)).unwrap();
        assert_eq!(reader.spec().sample_rate, 8000);
        assert_eq!(reader.len(), 24_000);
    }
}
