//! Audio: streaming recordings to the speakers, and saving them.
//! (Placeholder save until the streaming engine lands.)

use std::path::Path;

use anyhow::{Context, Result, bail};
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use crate::api::{AudioDirection, Client};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SaveOutcome {
    /// A complete recording was already at the path.
    pub skipped: bool,
    pub bytes: u64,
}

/// Downloads a recording into `path` atomically; skips it when a complete WAV is already there.
pub async fn save_recording(
    client: &Client,
    id: &str,
    direction: AudioDirection,
    path: &Path,
    progress: impl Fn(u64, Option<u64>),
) -> Result<SaveOutcome> {
    if let Ok(meta) = std::fs::metadata(path)
        && wav_is_complete(path)
    {
        return Ok(SaveOutcome {
            skipped: true,
            bytes: meta.len(),
        });
    }
    let resp = client.audio(id, direction, None).await?;
    let total = resp.content_length();
    let tmp = path.with_extension("wav.partial");
    let mut file = tokio::fs::File::create(&tmp)
        .await
        .with_context(|| format!("cannot create {}", tmp.display()))?;
    let mut body = resp.bytes_stream();
    let mut got = 0u64;
    let result: Result<()> = async {
        while let Some(chunk) = body.next().await {
            let chunk = chunk.context("the recording download broke off")?;
            file.write_all(&chunk).await?;
            got += chunk.len() as u64;
            progress(got, total);
        }
        file.flush().await?;
        if total.is_some_and(|t| t != got) {
            bail!("the recording is truncated: {got} of {} bytes", total.unwrap_or(0));
        }
        if !wav_is_complete(&tmp) {
            bail!("the recording is not a complete WAV file");
        }
        Ok(())
    }
    .await;
    drop(file);
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(SaveOutcome {
        skipped: false,
        bytes: got,
    })
}

/// A readable WAV whose data chunk is as long as its header says.
fn wav_is_complete(path: &Path) -> bool {
    let Ok(reader) = hound::WavReader::open(path) else {
        return false;
    };
    let spec = reader.spec();
    let expected = reader.duration() as u64 * spec.channels as u64 * (spec.bits_per_sample as u64).div_ceil(8);
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    meta.len() >= expected + 44
}
