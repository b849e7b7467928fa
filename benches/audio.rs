//! Time from "play" to the first sample handed to the output, streaming vs download-then-play,
//! for 2-minute and 60-minute 8 kHz mono 16-bit recordings served over loopback HTTP.
//!
//! Run: `cargo bench --bench audio`

use std::time::{Duration, Instant};

use callscope::api::AudioDirection;
use callscope::audio::download::Stream;
use callscope::audio::source::StreamSource;
#[path = "../tests/support/testserver.rs"]
#[allow(dead_code)]
mod testserver;
use testserver::{Reply, ServerConfig, TestServer, tone_wav};

const RUNS: usize = 7;
const PREBUFFER: Duration = Duration::from_millis(200);

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let lengths = [("2 min", 120.0f32), ("60 min", 3600.0)];
    let replies = lengths
        .iter()
        .map(|(name, secs)| (name.replace(' ', ""), Reply::Wav(tone_wav(8_000, 1, *secs).0.into())))
        .collect();
    let server = rt.block_on(TestServer::start(ServerConfig {
        replies,
        ..Default::default()
    }));
    let client = server.client();
    let dir = std::env::temp_dir().join(format!("callscope-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    println!("play -> first sample handed to the output (median / min / max of {RUNS} runs, loopback HTTP)");
    for (name, _) in lengths {
        let id = name.replace(' ', "");
        // Warm the connection pool once, as the app's shared Client would be.
        rt.block_on(first_sample_streaming(&rt, &client, &id));
        let streaming: Vec<Duration> = (0..RUNS)
            .map(|_| rt.block_on(first_sample_streaming(&rt, &client, &id)))
            .collect();
        let whole: Vec<Duration> = (0..RUNS)
            .map(|_| rt.block_on(first_sample_after_download(&client, &id, &dir)))
            .collect();
        println!("  {name:>6}  streaming:           {}", stats(streaming));
        println!("  {name:>6}  download-then-play:  {}", stats(whole));
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// The engine's path: request, header, prebuffer, then a Player pulled by a "device" thread.
async fn first_sample_streaming(rt: &tokio::runtime::Runtime, client: &callscope::api::Client, id: &str) -> Duration {
    let t0 = Instant::now();
    let stream = Stream::open(
        rt.handle(),
        client.clone(),
        id.into(),
        AudioDirection::Combined,
        std::sync::Arc::new(|_| {}),
    );
    let fmt = stream.ready(Duration::ZERO, PREBUFFER).await.unwrap();
    let (player, mut out) = rodio::Player::new();
    player.append(StreamSource::new(stream.buf.clone(), fmt, 0));
    let device = std::thread::spawn(move || {
        // The queue plays 0.0 until the source starts: wait for real audio.
        while out.next().is_some_and(|s| s == 0.0) {}
        t0.elapsed()
    });
    let took = tokio::task::spawn_blocking(move || device.join().unwrap())
        .await
        .unwrap();
    drop(player);
    drop(stream); // cancels the rest of the download
    took
}

/// The quickstart's step 4: download everything, write it to disk, open it with hound.
async fn first_sample_after_download(client: &callscope::api::Client, id: &str, dir: &std::path::Path) -> Duration {
    let t0 = Instant::now();
    let bytes = client
        .audio(id, AudioDirection::Combined, None)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let path = dir.join(format!("{id}.wav"));
    tokio::fs::write(&path, &bytes).await.unwrap();
    let mut r = hound::WavReader::open(&path).unwrap();
    let first: i16 = r.samples().next().unwrap().unwrap();
    std::hint::black_box(first);
    t0.elapsed()
}

fn stats(mut v: Vec<Duration>) -> String {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!(
        "{:8.2} ms  ({:.2} – {:.2})",
        ms(v[v.len() / 2]),
        ms(v[0]),
        ms(v[v.len() - 1])
    )
}
