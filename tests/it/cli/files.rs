//! What `export`, `marks export` and `webhooks register --save-secret` leave on disk, through the
//! real binary: special files written in place (a FIFO from mkfifo, a device node from mknod, both
//! in a temp dir — never the machine's own /dev/null), no `.partial` file after SIGINT/SIGTERM,
//! a private secret file, a read-only store, and out-of-range `--since` values.

use crate::support::scripted;
use crate::support::text;

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use callscope::domain::{Origin, ReviewStatus};
use callscope::store::Store;
use scripted::{Reply, Request};

const ACCOUNT: &str = "ws-files";
const PROJECT: &str = "PROJECT-files";

fn conversation(i: usize) -> String {
    format!(
        r#"{{"id":"CA{i:04}","channel":"WEBCHAT","environment":"live","started_at":"2026-11-30T10:00:00Z","num_turns":0,"turns":[]}}"#
    )
}

/// A page of 50 conversations; the page after it (cursor `c2`) comes only after `slow`.
fn pages(slow: Duration) -> impl Fn(&Request) -> Reply {
    move |req: &Request| {
        if req.path().contains("/webhooks/endpoints") || req.path().contains("/webhook-endpoints") {
            return Reply::json(
                201,
                r#"{"id":"whe_1","url":"https://example.com/h","signing_secret":"whsec_fresh"}"#,
            );
        }
        match req.query("cursor").as_deref() {
            None => {
                let convs: Vec<String> = (0..50).map(conversation).collect();
                Reply::json(
                    200,
                    format!(r#"{{"conversations":[{}],"cursor":"c2"}}"#, convs.join(",")),
                )
            }
            _ => Reply::json(200, r#"{"conversations":[],"cursor":null}"#).after(slow),
        }
    }
}

fn command(server: &str, home: &Path, args: &[&str]) -> Command {
    command_at(Path::new(env!("CARGO_BIN_EXE_callscope")), server, home, args)
}

fn command_at(exe: &Path, server: &str, home: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(exe);
    c.args(args)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("POLYAI_API_KEY", "sk-test")
        .env("POLYAI_ACCOUNT_ID", ACCOUNT)
        .env("POLYAI_PROJECT_ID", PROJECT)
        .env("POLYAI_BASE_URL", server)
        .env("POLYAI_PLATFORM_URL", server);
    c
}

fn run(server: &str, home: &Path, args: &[&str]) -> Output {
    command(server, home, args).output().unwrap()
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn cpath(p: &Path) -> CString {
    CString::new(p.as_os_str().as_bytes()).unwrap()
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// A store with one reviewed conversation of ACCOUNT/PROJECT.
fn seeded_store(path: &Path) {
    let mut store = Store::open(path).unwrap();
    let origin = Origin::new(ACCOUNT, PROJECT, "live");
    let c: callscope::api::Conversation = serde_json::from_str(&conversation(7)).unwrap();
    store.cache(&origin, &[c]).unwrap();
    store.set_status(&origin.key("CA0007"), ReviewStatus::Reviewed).unwrap();
}

/// Reads `path` (a FIFO) to the end on another thread.
fn fifo_reader(path: &Path) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    let path = path.to_path_buf();
    std::thread::spawn(move || {
        let _ = tx.send(std::fs::read_to_string(path).unwrap_or_default());
    });
    rx
}

#[test]
fn export_and_marks_export_into_a_fifo_feed_its_reader_and_keep_it_a_fifo() {
    let server = scripted::serve(pages(Duration::ZERO));
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    // SAFETY: a valid C string and mode.
    assert_eq!(unsafe { libc::mkfifo(cpath(&fifo).as_ptr(), 0o600) }, 0);

    let read = fifo_reader(&fifo);
    let out = run(&server.url, home.path(), &["export", "--out", fifo.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let got = read
        .recv_timeout(Duration::from_secs(10))
        .expect("the FIFO's reader got an end of file: the export wrote into the FIFO");
    assert_eq!(got.lines().count(), 50, "{got}");
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo(), "still a FIFO");
    assert_eq!(entries(dir.path()), ["pipe"], "no partial file beside it");

    let db = home.path().join("marks.db");
    seeded_store(&db);
    let read = fifo_reader(&fifo);
    let out = run(
        &server.url,
        home.path(),
        &[
            "marks",
            "export",
            "--store",
            db.to_str().unwrap(),
            "--out",
            fifo.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let got = read
        .recv_timeout(Duration::from_secs(10))
        .expect("marks reached the reader");
    assert!(got.contains("\"CA0007\""), "{got}");
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    assert_eq!(entries(dir.path()), ["pipe"]);
}

#[test]
fn export_and_marks_export_write_a_device_node_in_place() {
    if !is_root() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "mknod needs root: CI must run this test as root"
        );
        eprintln!("skipped: mknod needs root");
        return;
    }
    let server = scripted::serve(pages(Duration::ZERO));
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    // A null device of our own (major 1, minor 3), inside the temp dir.
    let dev = dir.path().join("null");
    let rdev = libc::makedev(1, 3);
    // SAFETY: a valid C string, mode and device number.
    assert_eq!(
        unsafe { libc::mknod(cpath(&dev).as_ptr(), libc::S_IFCHR | 0o666, rdev) },
        0
    );
    let check = |what: &str| {
        let m = std::fs::metadata(&dev).unwrap();
        assert!(m.file_type().is_char_device(), "{what}: the device node was replaced");
        assert_eq!(m.rdev(), rdev, "{what}");
        assert_eq!(entries(dir.path()), ["null"], "{what}: no partial file");
    };

    let out = run(
        &server.url,
        home.path(),
        &["export", "--format", "csv", "--out", dev.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    check("export");

    let db = home.path().join("marks.db");
    seeded_store(&db);
    let out = run(
        &server.url,
        home.path(),
        &[
            "marks",
            "export",
            "--store",
            db.to_str().unwrap(),
            "--out",
            dev.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    check("marks export");
}

#[test]
fn sigint_or_sigterm_during_an_export_leaves_no_partial_file() {
    let server = scripted::serve(pages(Duration::from_secs(60)));
    let home = tempfile::tempdir().unwrap();
    for signal in [libc::SIGINT, libc::SIGTERM] {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.jsonl");
        let before = server.hits();
        let mut child = command(&server.url, home.path(), &["export", "--out", target.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Mid-way: page 1 is written to the partial file and page 2 is being waited for.
        let deadline = Instant::now() + Duration::from_secs(20);
        while server.hits() < before + 2 {
            assert!(Instant::now() < deadline, "the export never asked for page 2");
            std::thread::sleep(Duration::from_millis(20));
        }
        let partial: Vec<String> = entries(dir.path())
            .into_iter()
            .filter(|n| n.contains(".partial-"))
            .collect();
        assert_eq!(
            partial.len(),
            1,
            "the export writes through a partial file: {partial:?}"
        );
        // SAFETY: signalling our own child.
        assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            assert!(Instant::now() < deadline, "signal {signal} did not end the export");
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(status.signal(), Some(signal), "ends by the signal it got: {status:?}");
        assert_eq!(
            entries(dir.path()),
            Vec::<String>::new(),
            "signal {signal} left files behind"
        );
    }
}

#[test]
fn since_out_of_range_is_a_clear_error_not_a_panic() {
    let server = scripted::serve(pages(Duration::ZERO));
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("s.db");
    seeded_store(&db);
    let store = db.to_str().unwrap();
    for args in [
        vec!["export", "--since", "99999999d"],
        vec!["export", "--since", "200000000000d"],
        vec!["export", "--reviewed", "--store", store, "--since", "99999999d"],
        vec![
            "export",
            "--reviewed",
            "--store",
            store,
            "--since",
            "18446744073709551616s",
        ],
    ] {
        let out = run(&server.url, home.path(), &args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("too long") && err.contains("--since"), "{args:?}: {err}");
    }
    // The longest accepted span works, from the store and from the API.
    let out = run(
        &server.url,
        home.path(),
        &["export", "--reviewed", "--store", store, "--since", "36600d"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("CA0007"));
    let out = run(&server.url, home.path(), &["export", "--since", "36600d"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn save_secret_makes_the_file_private_even_when_it_existed() {
    let server = scripted::serve(pages(Duration::ZERO));
    let home = tempfile::tempdir().unwrap();
    let existing = home.path().join("secret");
    std::fs::write(&existing, "an old secret\n").unwrap();
    std::fs::set_permissions(&existing, std::fs::Permissions::from_mode(0o644)).unwrap();
    let fresh = home.path().join("fresh-secret");
    for path in [&existing, &fresh] {
        let out = run(
            &server.url,
            home.path(),
            &[
                "webhooks",
                "register",
                "--url",
                "https://example.com/h",
                "--save-secret",
                path.to_str().unwrap(),
            ],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(!text(&out.stdout).contains("whsec_fresh"), "the secret is not printed");
        let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", path.display());
        assert_eq!(std::fs::read_to_string(path).unwrap(), "whsec_fresh\n");
    }
    assert_eq!(entries(home.path()), ["fresh-secret", "secret"], "no partial file");
}

/// A store the user can only read: file 0444 in a directory 0555. Root ignores permission bits,
/// so as root the commands run as `nobody` (a real permission check by the kernel).
#[test]
fn a_read_only_store_can_be_exported_from() {
    let server = scripted::serve(pages(Duration::ZERO));
    let top = tempfile::tempdir().unwrap();
    std::fs::set_permissions(top.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let ro: PathBuf = top.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    let db = ro.join("callscope.db");
    seeded_store(&db);
    assert_eq!(entries(&ro), ["callscope.db"], "closed cleanly: no -wal/-shm");
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o444)).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    // The build may sit under a folder `nobody` cannot enter (such as /root): run a copy from here.
    let exe = top.path().join("callscope");
    std::fs::copy(env!("CARGO_BIN_EXE_callscope"), &exe).unwrap();
    let as_reader = |args: &[&str]| {
        let mut c = command_at(&exe, &server.url, &ro, args);
        if is_root() {
            c.uid(65534).gid(65534);
        }
        c.output().unwrap()
    };
    // The check is real: this user cannot write there.
    let probe = {
        let mut c = Command::new("sh");
        c.args(["-c", &format!("touch {}/probe", ro.display())]);
        if is_root() {
            c.uid(65534).gid(65534);
        }
        c.output().unwrap()
    };
    assert!(
        !probe.status.success(),
        "the store directory must not be writable for the test user"
    );

    let store = db.to_str().unwrap();
    let out = as_reader(&["export", "--reviewed", "--store", store, "--format", "csv"]);
    assert!(out.status.success(), "export --reviewed: {}", text(&out.stderr));
    assert!(text(&out.stdout).contains("CA0007"), "{}", text(&out.stdout));
    let out = as_reader(&["marks", "export", "--store", store]);
    assert!(out.status.success(), "marks export: {}", text(&out.stderr));
    assert!(text(&out.stdout).contains("\"CA0007\""));
    assert_eq!(entries(&ro), ["callscope.db"], "nothing was written beside the store");
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// `marks import` streams: entries may come before the header, stdin works, and one bad entry
/// after thousands of good ones still changes nothing.
#[test]
fn marks_import_streams_from_stdin_and_stays_all_or_nothing() {
    use std::io::Write as _;
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("m.db");
    let entry = |i: usize| {
        format!(
            r#"{{"account":"{ACCOUNT}","project":"{PROJECT}","environment":"live","id":"CA{i:06}","status":"reviewed"}}"#
        )
    };
    let good: Vec<String> = (0..5000).map(entry).collect();
    let import = |body: String| {
        let mut child = command(
            "http://127.0.0.1:9",
            home.path(),
            &["marks", "import", "-", "--store", db.to_str().unwrap()],
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
        child.stdin.take().unwrap().write_all(body.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    };
    // A bad last entry: refused, and the store it would have created is not left behind.
    let bad = format!(
        r#"{{"conversations":[{},{{"account":"a","project":"p","environment":"live","id":"x","status":"done"}}],"format":"callscope.marks","version":1}}"#,
        good.join(",")
    );
    let out = import(bad);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("conversations[5000]") && err.contains("unknown variant `done`"),
        "{err}"
    );
    assert!(!db.exists(), "a refused file creates no store");
    // The header after the entries is fine.
    let out = import(format!(
        r#"{{"conversations":[{}],"version":1,"format":"callscope.marks"}}"#,
        good.join(",")
    ));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("imported marks of 5000 conversations"),
        "{}",
        text(&out.stdout)
    );
    // A duplicate far apart is found without holding the keys in memory.
    let dup = format!(
        r#"{{"format":"callscope.marks","version":1,"conversations":[{},{}]}}"#,
        good.join(","),
        entry(3)
    );
    let out = import(dup);
    assert!(
        text(&out.stderr).contains("conversations[5000]: conversation CA000003 appears twice"),
        "{}",
        text(&out.stderr)
    );
    let store = Store::open_read_only(&db).unwrap();
    let marks = store
        .marks(&Origin::new(ACCOUNT, PROJECT, "live").key("CA004999"))
        .unwrap();
    assert_eq!(marks.status, ReviewStatus::Reviewed, "the good import stayed");
}
