//! Level envelope for a waveform: one value in 0..=1 per [`BUCKET`] of audio.
//!
//! The engine computes it from the samples as they download (see `download.rs`); these pure
//! helpers also serve `export` and tests.

use std::time::Duration;

/// Audio covered by one envelope value.
pub const BUCKET: Duration = Duration::from_millis(100);

/// Peak distance from the bucket's mean, so a DC offset does not read as loudness.
pub fn level_of(samples: &[f32]) -> f32 {
    if samples.is_empty() {
        return 0.0;
    }
    let mean = samples.iter().sum::<f32>() / samples.len() as f32;
    samples.iter().map(|s| (s - mean).abs()).fold(0.0f32, f32::max).min(1.0)
}

/// Envelope of interleaved `samples`: one level per `bucket` of audio.
pub fn level_envelope(samples: &[f32], channels: u16, sample_rate: u32, bucket: Duration) -> Vec<f32> {
    let frames = ((bucket.as_secs_f64() * sample_rate as f64) as usize).max(1);
    samples
        .chunks(frames * channels.max(1) as usize)
        .map(level_of)
        .collect()
}

/// Squeezes (max per column) or stretches an envelope to `width` columns.
pub fn fit_width(levels: &[f32], width: usize) -> Vec<f32> {
    if levels.is_empty() || width == 0 {
        return vec![0.0; width];
    }
    (0..width)
        .map(|c| {
            let a = c * levels.len() / width;
            let b = ((c + 1) * levels.len() / width).max(a + 1);
            levels[a..b.min(levels.len())].iter().copied().fold(0.0, f32::max)
        })
        .collect()
}

/// One block character per level (`▁`..`█`), for a one-line waveform.
pub fn sparkline(levels: &[f32]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    levels
        .iter()
        .map(|l| BARS[((l.clamp(0.0, 1.0) * 7.0).round()) as usize])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_follows_loudness_and_ignores_dc() {
        // 0.3 s at 10 Hz sample rate: quiet, loud, silent-with-offset.
        let s = [0.1, -0.1, 0.1, 0.9, -0.9, 0.9, 0.5, 0.5, 0.5];
        let env = level_envelope(&s, 1, 30, BUCKET);
        assert_eq!(env.len(), 3);
        assert!(env[1] > env[0] && env[0] > env[2]);
        assert_eq!(env[2], 0.0);
    }

    #[test]
    fn fit_width_keeps_peaks() {
        let env = [0.0, 1.0, 0.0, 0.0, 0.5, 0.0];
        assert_eq!(fit_width(&env, 3), vec![1.0, 0.0, 0.5]);
        assert_eq!(fit_width(&env, 12).len(), 12);
        assert_eq!(sparkline(&[0.0, 1.0]), "▁█");
    }
}
