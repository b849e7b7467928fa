//! `save_recording`: atomic WAV download, skip when complete, nothing left behind on failure.

use std::sync::Mutex;

use bytes::Bytes;
use callscope::api::AudioDirection;
#[path = "support/testserver.rs"]
#[allow(dead_code)]
mod testserver;
use callscope::audio::{SaveOutcome, check_complete_wav, save_recording};
use testserver::{Reply, ServerConfig, TestServer, tone_wav};

async fn server() -> TestServer {
    let (wav, _) = tone_wav(8_000, 1, 1.5);
    let cut = Bytes::from(wav.clone());
    TestServer::start(ServerConfig {
        replies: [
            ("call".to_string(), Reply::Wav(wav.clone().into())),
            ("cut".to_string(), Reply::CutShort(cut, 5_000)),
            (
                "short".to_string(),
                Reply::Raw("audio/wav", Bytes::copy_from_slice(&wav[..5_000])),
            ),
            (
                "html".to_string(),
                Reply::Raw("text/html", Bytes::from_static(b"<html>oops</html>")),
            ),
            (
                "chat".to_string(),
                Reply::Status(404, r#"{"error_code":"CONVERSATIONS_RECORDING_NOT_FOUND"}"#.into()),
            ),
        ]
        .into(),
        chunk: 4096,
        ..Default::default()
    })
    .await
}

fn names(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saves_atomically_and_skips_a_complete_file() {
    let server = server().await;
    let client = server.client();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("call.wav");
    let calls = Mutex::new(Vec::new());
    let out = save_recording(&client, "call", AudioDirection::Combined, &path, |b, t| {
        calls.lock().unwrap().push((b, t))
    })
    .await
    .unwrap();
    let (wav, samples) = tone_wav(8_000, 1, 1.5);
    assert_eq!(
        out,
        SaveOutcome::Saved {
            bytes: wav.len() as u64,
            duration: std::time::Duration::from_millis(1500)
        }
    );
    assert_eq!(std::fs::read(&path).unwrap(), wav);
    let read: Vec<i16> = hound::WavReader::open(&path)
        .unwrap()
        .samples()
        .map(Result::unwrap)
        .collect();
    assert_eq!(read, samples);
    let calls = calls.into_inner().unwrap();
    assert_eq!(calls.last(), Some(&(wav.len() as u64, Some(wav.len() as u64))));
    assert!(calls.len() > 2, "progress reported per chunk: {calls:?}");
    assert_eq!(names(dir.path()), vec!["call.wav"]);

    // Again: the complete file is kept, no second download.
    let before = server.seen().len();
    let out = save_recording(&client, "call", AudioDirection::Combined, &path, |_, _| {})
        .await
        .unwrap();
    assert!(matches!(out, SaveOutcome::AlreadyComplete { .. }), "{out:?}");
    assert_eq!(server.seen().len(), before);

    // A truncated file at the path is replaced.
    std::fs::write(&path, &wav[..3000]).unwrap();
    assert!(check_complete_wav(&path).is_err());
    let out = save_recording(&client, "call", AudioDirection::Combined, &path, |_, _| {})
        .await
        .unwrap();
    assert!(matches!(out, SaveOutcome::Saved { .. }));
    assert_eq!(std::fs::read(&path).unwrap(), wav);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_downloads_leave_no_file() {
    let server = server().await;
    let client = server.client();
    let dir = tempfile::tempdir().unwrap();
    for (id, expect) in [
        ("cut", "broke off"),
        ("short", "truncated"),
        ("html", "not a playable WAV"),
        ("chat", "only finished voice calls"),
    ] {
        let path = dir.path().join(format!("{id}.wav"));
        let err = save_recording(&client, id, AudioDirection::Combined, &path, |_, _| {})
            .await
            .unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains(expect), "{id}: {msg}");
        assert!(names(dir.path()).is_empty(), "{id} left {:?}", names(dir.path()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_save_leaves_no_file() {
    let (wav, _) = tone_wav(8_000, 1, 10.0);
    let server = TestServer::start(ServerConfig {
        replies: [("slow".to_string(), Reply::Wav(wav.into()))].into(),
        chunk: 1024,
        pause: std::time::Duration::from_millis(20),
        ..Default::default()
    })
    .await;
    let client = server.client();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("slow.wav");
    let started = std::sync::atomic::AtomicBool::new(false);
    let save = save_recording(&client, "slow", AudioDirection::Combined, &path, |b, _| {
        if b > 0 {
            started.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    });
    // Gives up long before the ~3 s download ends (e.g. the user quit).
    let r = tokio::time::timeout(std::time::Duration::from_millis(300), save).await;
    assert!(r.is_err(), "the save was still running");
    assert!(started.load(std::sync::atomic::Ordering::Relaxed));
    assert!(names(dir.path()).is_empty(), "left {:?}", names(dir.path()));
}

const CHECK_CHILD: &str = "CALLSCOPE_CHECK_WAV_CHILD";

/// The check that a saved recording is complete (run on every file by `export --with-audio`
/// and before `s` replaces one) streams the file: a complete 4 GiB WAV passes in a child
/// process whose data segment is capped at 256 MiB, and the same file one byte short is
/// called truncated. Reading it whole would need the 4 GiB.
#[test]
fn the_completeness_check_streams_a_4_gib_file() {
    if let Some(path) = std::env::var_os(CHECK_CHILD) {
        let limit = libc::rlimit {
            rlim_cur: 256 << 20,
            rlim_max: 256 << 20,
        };
        // SAFETY: plain syscall on this process, with a valid struct.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_DATA, &limit) }, 0);
        let path = std::path::Path::new(&path);
        let fmt = check_complete_wav(path).unwrap();
        println!("complete: {} bytes of audio", fmt.data_len);
        let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
        f.set_len(fmt.file_len() - 1).unwrap();
        println!("short: {:#}", check_complete_wav(path).unwrap_err());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.wav");
    let data_len = u32::MAX - 1;
    std::fs::write(&path, testserver::wav_header(8_000, 1, data_len)).unwrap();
    // Sparse: the silence takes no disk.
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(44 + data_len as u64).unwrap();
    drop(f);
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["the_completeness_check_streams_a_4_gib_file", "--exact", "--nocapture"])
        .env(CHECK_CHILD, &path)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&child.stdout);
    assert!(
        child.status.success(),
        "child failed:\n{out}\n{}",
        String::from_utf8_lossy(&child.stderr)
    );
    assert!(out.contains(&format!("complete: {data_len} bytes of audio")), "{out}");
    assert!(out.contains("short:") && out.contains("is truncated"), "{out}");
}
