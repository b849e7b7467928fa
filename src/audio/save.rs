//! Saving a recording to a WAV file, atomically: download into a temporary file next to the
//! target, check it with hound, then rename. A broken download never leaves a file at `path`.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use super::format::{MAX_HEADER_BYTES, WavFormat};
use crate::api::{AudioRequest, Client};

#[derive(Debug, Clone, PartialEq)]
pub enum SaveOutcome {
    Saved {
        bytes: u64,
        duration: Duration,
    },
    /// A complete WAV was already at the path; nothing was downloaded.
    AlreadyComplete {
        bytes: u64,
        duration: Duration,
    },
}

/// Downloads recording `id` to `path`; `progress(bytes, total)` is called as it arrives.
pub async fn save_recording(
    client: &Client,
    id: &str,
    request: impl Into<AudioRequest>,
    path: &Path,
    progress: impl Fn(u64, Option<u64>),
) -> Result<SaveOutcome> {
    if let Ok(fmt) = check_complete_wav(path) {
        return Ok(SaveOutcome::AlreadyComplete {
            bytes: std::fs::metadata(path)?.len(),
            duration: fmt.duration(),
        });
    }
    let resp = client
        .audio(id, request.into(), None)
        .await
        .with_context(|| format!("downloading the recording of {id}"))?;
    let total = resp.content_length();
    // Written beside `path` and renamed on success; removed on every other way out (error, the
    // future dropped, a signal in the export); a FIFO or device at `path` is written in place.
    let out = crate::fsutil::AtomicFile::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut file = tokio::fs::File::from_std(out.try_clone_file()?);
    let mut body = resp.bytes_stream();
    let mut bytes = 0u64;
    progress(0, total);
    while let Some(chunk) = body.next().await {
        let chunk = chunk.with_context(|| format!("the recording download of {id} broke off after {bytes} bytes"))?;
        file.write_all(&chunk).await?;
        bytes += chunk.len() as u64;
        progress(bytes, total);
    }
    file.flush().await?;
    drop(file);
    if let Some(t) = total.filter(|&t| t != bytes) {
        bail!("the recording of {id} is truncated: got {bytes} of {t} bytes");
    }
    // A special file cannot be read back; a regular one is checked before it replaces anything.
    let duration = if out.is_in_place() {
        Duration::ZERO
    } else {
        check_complete_wav(out.written_path())
            .with_context(|| format!("the recording of {id}"))?
            .duration()
    };
    out.commit()
        .with_context(|| format!("moving the recording to {}", path.display()))?;
    Ok(SaveOutcome::Saved { bytes, duration })
}

/// The file is a WAV hound reads whose data chunk is all there; returns its format.
///
/// Streams: reads the header (at most [`MAX_HEADER_BYTES`] and a bit), compares the file's
/// length with what the header promises, and seeks to the last sample; memory stays small
/// however large the file is.
pub fn check_complete_wav(path: &Path) -> Result<WavFormat> {
    let open = || File::open(path).with_context(|| format!("reading {}", path.display()));
    let file = open()?;
    let len = file.metadata()?.len();
    let fmt = read_header(BufReader::new(file)).with_context(|| path.display().to_string())?;
    if len < fmt.file_len() {
        bail!(
            "{} is truncated: the header promises {} bytes of audio, the file has {}",
            path.display(),
            fmt.data_len,
            len - fmt.data_start.min(len)
        );
    }
    // hound must read the last sample too.
    let mut r = hound::WavReader::new(BufReader::new(open()?))?;
    if fmt.total_frames() > 0 {
        r.seek(fmt.total_frames() as u32 - 1)?;
        let last = if fmt.float {
            r.samples::<f32>().next().map(|s| s.map(|_| ()))
        } else {
            r.samples::<i32>().next().map(|s| s.map(|_| ()))
        };
        last.context("the last sample is missing")??;
    }
    Ok(fmt)
}

/// Parses the header from a growing prefix of `r` (doubling, so a long header costs a few
/// parses, never the whole file).
fn read_header(mut r: impl Read) -> Result<WavFormat> {
    let mut prefix = Vec::new();
    let mut want = 64 * 1024;
    loop {
        let got = (&mut r).take((want - prefix.len()) as u64).read_to_end(&mut prefix)?;
        let ended = prefix.len() < want;
        if let Some(fmt) = WavFormat::parse(&prefix, ended)? {
            return Ok(fmt);
        }
        if got == 0 && ended {
            bail!("the WAV header is incomplete"); // `parse` says so first; kept as a backstop
        }
        want = (want * 2).min(MAX_HEADER_BYTES * 2);
    }
}
