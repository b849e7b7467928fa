//! Real WAV bytes for tests and benchmarks: a header claiming any length, and a tone whose
//! samples are known. Plain std + hound, so the library's own unit tests can include it too.

/// The 44-byte header of a 16-bit PCM WAV whose data chunk claims `data_len` bytes (hound
/// only writes headers for samples it was given, so a claim is spelled out by hand).
pub fn wav_header(sample_rate: u32, channels: u16, data_len: u32) -> Vec<u8> {
    let block = channels * 2;
    let mut h = Vec::with_capacity(44);
    h.extend_from_slice(b"RIFF");
    h.extend_from_slice(&data_len.saturating_add(36).to_le_bytes());
    h.extend_from_slice(b"WAVEfmt ");
    h.extend_from_slice(&16u32.to_le_bytes());
    h.extend_from_slice(&1u16.to_le_bytes()); // PCM
    h.extend_from_slice(&channels.to_le_bytes());
    h.extend_from_slice(&sample_rate.to_le_bytes());
    h.extend_from_slice(&(sample_rate * block as u32).to_le_bytes());
    h.extend_from_slice(&block.to_le_bytes());
    h.extend_from_slice(&16u16.to_le_bytes());
    h.extend_from_slice(b"data");
    h.extend_from_slice(&data_len.to_le_bytes());
    h
}

/// An in-memory 16-bit WAV of a 440 Hz tone with a DC offset, so no sample is exactly 0
/// (tests drop the silence of underruns by filtering zeros). Returns the bytes and samples.
pub fn tone_wav(sample_rate: u32, channels: u16, secs: f32) -> (Vec<u8>, Vec<i16>) {
    let spec = hound::WavSpec {
        channels,
        sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut cur = std::io::Cursor::new(Vec::new());
    let mut samples = Vec::new();
    {
        let mut w = hound::WavWriter::new(&mut cur, spec).expect("in-memory WAV");
        for i in 0..(sample_rate as f32 * secs) as usize {
            let t = i as f32 / sample_rate as f32;
            for c in 0..channels {
                let v = 9000 + (8000.0 * (2.0 * std::f32::consts::PI * 440.0 * t).sin()) as i16 + c as i16 * 100;
                w.write_sample(v).expect("in-memory WAV");
                samples.push(v);
            }
        }
        w.finalize().expect("in-memory WAV");
    }
    (cur.into_inner(), samples)
}
