//! `marks import` peak memory: 10⁶ entries through the real binary, peak RSS from wait4.
//!
//! `cargo bench --bench marks_import` — writes a marks file of 10⁶ conversations (a status each,
//! a flag, a note and a turn rating on some) in a temporary directory, imports it into a fresh
//! store with `callscope marks import`, and prints wall time and the child's peak RSS.
//! `CALLSCOPE_BENCH_SCALE=0.01` shrinks it; `CALLSCOPE_BENCH_COMPARE=/path/to/other/callscope`
//! also runs another build (e.g. an older one) on the same file.

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

fn write_file(path: &Path, n: usize) -> u64 {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    write!(
        w,
        r#"{{"format":"callscope.marks","version":1,"exported_at":"2026-12-01T00:00:00Z","conversations":["#
    )
    .unwrap();
    for i in 0..n {
        if i > 0 {
            w.write_all(b",").unwrap();
        }
        let status = ["reviewed", "needs_follow_up", "new"][i % 3];
        write!(
            w,
            r#"{{"account":"ws-bench","project":"PROJECT-bench","environment":"live","id":"CA{i:010}","status":"{status}""#
        )
        .unwrap();
        if i % 4 == 0 {
            w.write_all(br#","flags":["wrong_info"]"#).unwrap();
        }
        if i % 5 == 0 {
            write!(w, r#","note":"caller {i} asked about the refund twice""#).unwrap();
        }
        if i % 7 == 0 {
            w.write_all(br#","turns":[{"turn":1,"thumbs":"down","reason":"wrong_information","comment":"old price"}]"#)
                .unwrap();
        }
        w.write_all(b"}").unwrap();
    }
    w.write_all(b"]}").unwrap();
    w.flush().unwrap();
    std::fs::metadata(path).unwrap().len()
}

/// Runs `bin marks import FILE --store STORE`; returns (seconds, peak RSS in MiB).
#[allow(clippy::zombie_processes)] // reaped by wait4, which also reports its peak RSS
fn import(bin: &str, file: &Path, store: &Path) -> (f64, f64) {
    let started = Instant::now();
    let child = Command::new(bin)
        .args(["marks", "import"])
        .arg(file)
        .arg("--store")
        .arg(store)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("run callscope");
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as i32);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "import failed: {status}"
    );
    // ru_maxrss is in KiB on Linux.
    (started.elapsed().as_secs_f64(), usage.ru_maxrss as f64 / 1024.0)
}

fn main() {
    let scale: f64 = std::env::var("CALLSCOPE_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let n = ((1_000_000.0 * scale) as usize).max(1);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("marks.json");
    let t = Instant::now();
    let bytes = write_file(&file, n);
    println!(
        "marks file: {n} entries, {:.1} MiB, written in {:.1}s",
        bytes as f64 / 1048576.0,
        t.elapsed().as_secs_f64()
    );
    let mut bins = vec![("this build".to_string(), env!("CARGO_BIN_EXE_callscope").to_string())];
    if let Ok(other) = std::env::var("CALLSCOPE_BENCH_COMPARE") {
        bins.push((format!("compare ({other})"), other));
    }
    for (i, (name, bin)) in bins.iter().enumerate() {
        let store = dir.path().join(format!("store-{i}.db"));
        let (secs, rss) = import(bin, &file, &store);
        println!(
            "marks import {n} entries [{name}]: {secs:.1}s ({:.0} entries/s), peak RSS {rss:.0} MiB",
            n as f64 / secs
        );
    }
}
