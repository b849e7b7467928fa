//! Saving a recording to a WAV file, atomically: download into a temporary file next to the
//! target, check it with hound, then rename. A broken download never leaves a file at `path`.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use super::format::WavFormat;
use crate::api::{AudioDirection, Client};

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
    direction: AudioDirection,
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
        .audio(id, direction, None)
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
pub fn check_complete_wav(path: &Path) -> Result<WavFormat> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let fmt = WavFormat::parse(&bytes, true)?.expect("complete input never asks for more");
    if (bytes.len() as u64) < fmt.file_len() {
        bail!(
            "{} is truncated: the header promises {} bytes of audio, the file has {}",
            path.display(),
            fmt.data_len,
            bytes.len() as u64 - fmt.data_start.min(bytes.len() as u64)
        );
    }
    // hound must read the last sample too.
    let mut r = hound::WavReader::new(std::io::Cursor::new(&bytes))?;
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
