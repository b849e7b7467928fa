//! The WAV header as the streaming player needs it: where the samples start, how many
//! there are, and how to turn the bytes of one sample into an `f32`.
//!
//! hound parses the header (from whatever prefix of the file has arrived); decoding the
//! samples ourselves lets the player read from a sparse buffer at any byte offset.

use std::io::Cursor;
use std::time::Duration;

/// Longest prefix we wait for before calling a body "not a WAV" (headers are ~44 bytes;
/// LIST/metadata chunks can add a few KB).
pub const MAX_HEADER_BYTES: usize = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WavFormat {
    pub channels: u16,
    pub sample_rate: u32,
    /// Bits used per sample (8, 16, 24, 32).
    pub bits_per_sample: u16,
    /// Bytes each sample is stored in.
    pub bytes_per_sample: u16,
    pub float: bool,
    /// Byte offset of the first sample in the file.
    pub data_start: u64,
    /// Length of the data chunk in bytes (whole frames).
    pub data_len: u64,
}

/// Why a body is not a playable WAV recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatError(pub String);

impl std::fmt::Display for FormatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not a playable WAV recording: {}", self.0)
    }
}
impl std::error::Error for FormatError {}

impl WavFormat {
    /// Parses the header from the first bytes of a file. `Ok(None)`: not enough bytes yet.
    /// `complete` says the body has ended (so a short prefix is final).
    // Cannot fail: a 4-byte slice always converts to [u8; 4].
    #[allow(clippy::unwrap_used)]
    pub fn parse(prefix: &[u8], complete: bool) -> Result<Option<WavFormat>, FormatError> {
        let mut cur = EofWatch {
            inner: Cursor::new(prefix),
            hit_end: false,
        };
        let parsed = hound::WavReader::new(&mut cur).map(|r| (r.spec(), r.len() as u64));
        let (spec, samples) = match parsed {
            Ok(p) => p,
            // hound reports a short read as a generic error: ask the reader whether it ran dry.
            Err(_) if cur.hit_end => {
                if complete {
                    return Err(FormatError(format!(
                        "the body ended after {} bytes, inside the WAV header",
                        prefix.len()
                    )));
                }
                if prefix.len() > MAX_HEADER_BYTES {
                    return Err(FormatError("no audio data after 1 MB of header".into()));
                }
                return Ok(None);
            }
            Err(e) => return Err(FormatError(describe_hound_error(e, prefix))),
        };
        let data_start = cur.inner.position();
        // The data chunk's size field sits just before the first sample.
        let size_at = data_start as usize - 4;
        let data_len = u32::from_le_bytes(prefix[size_at..size_at + 4].try_into().unwrap()) as u64;
        let bytes_per_sample = data_len
            .checked_div(samples)
            .map_or(spec.bits_per_sample.div_ceil(8), |b| b as u16);
        if spec.channels == 0 || spec.sample_rate == 0 || !(1..=4).contains(&bytes_per_sample) {
            return Err(FormatError(format!(
                "unsupported layout: {} channels, {} Hz, {} bytes per sample",
                spec.channels, spec.sample_rate, bytes_per_sample
            )));
        }
        let float = spec.sample_format == hound::SampleFormat::Float;
        if float && bytes_per_sample != 4 {
            return Err(FormatError("only 32-bit float samples are supported".into()));
        }
        Ok(Some(WavFormat {
            channels: spec.channels,
            sample_rate: spec.sample_rate,
            bits_per_sample: spec.bits_per_sample,
            bytes_per_sample,
            float,
            data_start,
            data_len,
        }))
    }

    /// Bytes per frame (one sample of every channel).
    pub fn block_align(&self) -> u64 {
        self.bytes_per_sample as u64 * self.channels as u64
    }
    pub fn total_frames(&self) -> u64 {
        self.data_len / self.block_align()
    }
    /// Byte length of the whole file as the header describes it.
    /// Number of envelope buckets (one per `bucket` of audio, the last one partial).
    pub fn buckets(&self, bucket: Duration) -> usize {
        self.total_frames().div_ceil(self.frames_in(bucket).max(1)) as usize
    }
    pub fn file_len(&self) -> u64 {
        self.data_start + self.data_len
    }
    pub fn duration(&self) -> Duration {
        self.time_of(self.total_frames())
    }
    pub fn time_of(&self, frame: u64) -> Duration {
        Duration::from_secs_f64(frame as f64 / self.sample_rate as f64)
    }
    /// The frame playing at `t`, clamped to the end.
    pub fn frame_at(&self, t: Duration) -> u64 {
        ((t.as_secs_f64() * self.sample_rate as f64) as u64).min(self.total_frames())
    }
    /// File offset of `frame` (what a `Range: bytes=N-` request asks for).
    pub fn byte_of(&self, frame: u64) -> u64 {
        self.data_start + frame * self.block_align()
    }
    /// Bytes that hold `d` of audio.
    pub fn bytes_for(&self, d: Duration) -> u64 {
        self.frames_in(d) * self.block_align()
    }
    /// Frames that hold `t` of audio (not clamped to the recording).
    pub fn frames_in(&self, t: Duration) -> u64 {
        (t.as_secs_f64() * self.sample_rate as f64) as u64
    }

    /// One sample from its little-endian bytes (`bytes.len() == bytes_per_sample`), in -1..1.
    pub fn decode(&self, b: &[u8]) -> f32 {
        match (self.float, b.len()) {
            (true, _) => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            // 8-bit WAV is unsigned with 128 as silence.
            (false, 1) => (b[0] as i32 - 128) as f32 / 128.0,
            (false, 2) => i16::from_le_bytes([b[0], b[1]]) as f32 / 32_768.0,
            (false, 3) => (i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8) as f32 / 8_388_608.0,
            (false, _) => i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32 / 2_147_483_648.0,
        }
    }

    /// Decodes whole frames of `bytes` (starting on a frame boundary), interleaved.
    pub fn decode_all(&self, bytes: &[u8], out: &mut Vec<f32>) {
        let n = self.bytes_per_sample as usize;
        let usable = bytes.len() - bytes.len() % self.block_align() as usize;
        out.extend(bytes[..usable].chunks_exact(n).map(|s| self.decode(s)));
    }
}

/// Remembers whether a read found no more bytes.
struct EofWatch<'a> {
    inner: Cursor<&'a [u8]>,
    hit_end: bool,
}

impl std::io::Read for EofWatch<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.hit_end = true;
        }
        Ok(n)
    }
}

fn describe_hound_error(e: hound::Error, prefix: &[u8]) -> String {
    let start: String = String::from_utf8_lossy(&prefix[..prefix.len().min(40)])
        .chars()
        .map(|c| if c.is_control() { '.' } else { c })
        .collect();
    format!("{e} (the body starts {start:?})")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav(spec: hound::WavSpec, write: impl FnOnce(&mut hound::WavWriter<&mut Cursor<Vec<u8>>>)) -> Vec<u8> {
        let mut cur = Cursor::new(Vec::new());
        let mut w = hound::WavWriter::new(&mut cur, spec).unwrap();
        write(&mut w);
        w.finalize().unwrap();
        cur.into_inner()
    }

    fn spec(channels: u16, bits: u16, float: bool) -> hound::WavSpec {
        hound::WavSpec {
            channels,
            sample_rate: 8000,
            bits_per_sample: bits,
            sample_format: if float {
                hound::SampleFormat::Float
            } else {
                hound::SampleFormat::Int
            },
        }
    }

    #[test]
    fn header_needs_more_bytes_then_parses() {
        let bytes = wav(spec(2, 16, false), |w| {
            for v in [1i16, -2, 300, -32768] {
                w.write_sample(v).unwrap();
            }
        });
        assert_eq!(WavFormat::parse(&bytes[..20], false), Ok(None));
        assert!(WavFormat::parse(&bytes[..20], true).is_err());
        let f = WavFormat::parse(&bytes, true).unwrap().unwrap();
        assert_eq!((f.channels, f.data_start, f.data_len, f.total_frames()), (2, 44, 8, 2));
        let mut out = Vec::new();
        f.decode_all(&bytes[f.data_start as usize..], &mut out);
        assert_eq!(out, vec![1.0 / 32768.0, -2.0 / 32768.0, 300.0 / 32768.0, -1.0]);
    }

    #[test]
    fn decodes_8_24_32_bit_and_float_like_hound() {
        for (bits, float) in [(8, false), (24, false), (32, false), (32, true)] {
            let bytes = wav(spec(1, bits, float), |w| {
                for i in 0..50i32 {
                    if float {
                        w.write_sample(i as f32 / 60.0 - 0.4).unwrap();
                    } else {
                        let max = (1i64 << (bits - 1)) - 1;
                        w.write_sample(((i as i64 * 7919) % (2 * max) - max) as i32).unwrap();
                    }
                }
            });
            let f = WavFormat::parse(&bytes, true).unwrap().unwrap();
            let mut ours = Vec::new();
            f.decode_all(&bytes[f.data_start as usize..], &mut ours);
            let mut r = hound::WavReader::new(Cursor::new(&bytes)).unwrap();
            let theirs: Vec<f32> = if float {
                r.samples::<f32>().map(Result::unwrap).collect()
            } else {
                let scale = (1i64 << (bits - 1)) as f32;
                r.samples::<i32>().map(|s| s.unwrap() as f32 / scale).collect()
            };
            assert_eq!(ours, theirs, "{bits} bits, float {float}");
        }
    }

    #[test]
    fn rejects_non_wav_with_a_readable_reason() {
        let e = WavFormat::parse(b"<html><body>Bad gateway</body></html>", true).unwrap_err();
        assert!(e.to_string().contains("not a playable WAV"), "{e}");
        assert!(e.to_string().contains("<html>"), "{e}");
    }
}
