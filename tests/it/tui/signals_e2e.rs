//! End to end: the real binary (`callscope demo`) in a private tmux server, ended by real
//! signals (`kill -TERM/-HUP/-INT/-QUIT`): the pane's terminal is restored every time (primary
//! screen, cursor shown, mouse reporting off, cooked mode), and a mark made just before a
//! SIGTERM, while another process held the store's lock, is in the store afterwards.
//! Skips (with a message) only when tmux is not installed, and never under CI.

use crate::support::tmux;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use tmux::{Tmux, shell_quote, tmux_available};

fn kill(sig: &str, pid: i32) {
    let ok = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .expect("kill runs")
        .success();
    assert!(ok, "kill -{sig} {pid}");
}

fn selected_row(screen: &str) -> String {
    screen.lines().find(|l| l.contains('▶')).unwrap_or_default().to_string()
}

/// The full id from the transcript's metadata (`id        CA…`).
fn shown_id(screen: &str) -> Option<String> {
    screen.lines().find_map(|l| {
        let (_, rest) = l.split_once("id        ")?;
        rest.split_whitespace().next().map(str::to_string)
    })
}

/// Polls a tmux format variable until it has `want`; panics after a few seconds.
fn wait_format(t: &Tmux, var: &str, want: &str) {
    for _ in 0..100 {
        if t.format(var) == want {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{var} never became {want}; screen:\n{}", t.screen());
}

/// After the exit: what the pane's terminal looks like.
fn assert_restored(t: &Tmux, after: &str) {
    assert_eq!(t.format("#{alternate_on}"), "0", "back on the primary screen:\n{after}");
    assert_eq!(t.format("#{cursor_flag}"), "1", "cursor shown");
    assert_eq!(t.format("#{mouse_any_flag}"), "0", "mouse motion reporting off");
    assert_eq!(t.format("#{mouse_button_flag}"), "0", "mouse button reporting off");
    assert_eq!(t.format("#{mouse_standard_flag}"), "0", "mouse reporting off");
    assert_eq!(t.format("#{mouse_sgr_flag}"), "0", "SGR mouse mode off");
    let stty = t.stty();
    let words: Vec<&str> = stty.split_whitespace().collect();
    for mode in ["icanon", "echo", "isig", "icrnl", "opost"] {
        assert!(words.contains(&mode), "{mode} (cooked mode) after the exit:\n{stty}");
    }
    assert!(!after.contains("Conversations ("), "the TUI left the screen:\n{after}");
}

/// Starts the demo, waits for its list, turns mouse capture on (so the exit must turn it off),
/// sends `sig`, and checks the exit status and the terminal.
fn signal_ends_the_tui_cleanly(sig: &str, status: i32) {
    if !tmux_available() {
        eprintln!("SKIPPED: tmux is not installed, so the end-to-end signal test cannot run");
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let t = Tmux::demo(&format!("sig{sig}"), home.path(), "--new-call-every 0");
    t.wait_for("the first page", 30, |s| s.contains(" loaded, ") && s.contains("AGENT"));
    assert_eq!(t.format("#{alternate_on}"), "1", "the TUI uses the alternate screen");
    t.keys(&["m"]);
    wait_format(&t, "#{mouse_any_flag}", "1");
    kill(sig, t.pid());
    let after = t.wait_for("the process to exit", 15, |s| s.contains("callscope-exit="));
    assert!(
        after.contains(&format!("callscope-exit={status}")),
        "SIG{sig} ends with {status}:\n{after}"
    );
    assert_restored(&t, &after);
}

#[test]
fn sigterm_restores_the_terminal() {
    signal_ends_the_tui_cleanly("TERM", 143);
}

#[test]
fn sighup_restores_the_terminal() {
    signal_ends_the_tui_cleanly("HUP", 129);
}

#[test]
fn sigint_restores_the_terminal() {
    signal_ends_the_tui_cleanly("INT", 130);
}

#[test]
fn sigquit_restores_the_terminal() {
    signal_ends_the_tui_cleanly("QUIT", 131);
}

fn stored_status(path: &Path, id: &str) -> Option<String> {
    let c = rusqlite::Connection::open(path).unwrap();
    c.query_row("SELECT status FROM conversation_marks WHERE id = ?1", [id], |r| {
        r.get(0)
    })
    .ok()
}

/// The demo on a store that another process holds locked (`BEGIN EXCLUSIVE`), after `R` on
/// the first call: its temp home (dropped after the session), the session, the store, the call's id, the locking
/// connection and the screen showing the mark pending.
fn pending_mark_on_a_locked_store(
    name: &str,
) -> (tempfile::TempDir, Tmux, PathBuf, String, rusqlite::Connection, String) {
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join("marks.db");
    let args = format!("--store {} --new-call-every 0", shell_quote(&store));
    let t = Tmux::demo(name, home.path(), &args);
    let s = t.wait_for("a transcript", 30, |s| s.contains(" loaded, ") && shown_id(s).is_some());
    let id = shown_id(&s).unwrap();
    let lock = rusqlite::Connection::open(&store).unwrap();
    lock.busy_timeout(Duration::from_secs(10)).unwrap();
    lock.execute_batch("BEGIN EXCLUSIVE").unwrap();
    t.keys(&["R"]);
    let s = t.wait_for("the pending mark", 10, |s| {
        selected_row(s).contains('⧗') && s.lines().next().is_some_and(|h| h.contains("⧗ 1 unsaved"))
    });
    (home, t, store, id, lock, s)
}

#[test]
fn a_mark_made_just_before_sigterm_is_in_the_store() {
    if !tmux_available() {
        eprintln!("SKIPPED: tmux is not installed, so the end-to-end signal test cannot run");
        return;
    }
    // Another process holds the store's write lock: the mark cannot be written yet.
    let (_home, t, store, id, lock, s) = pending_mark_on_a_locked_store("sigmark");
    assert!(!selected_row(&s).contains('✓'), "not shown as saved:\n{s}");
    assert_eq!(stored_status(&store, &id), None);

    // SIGTERM, and the lock goes away while the TUI is on its way out.
    kill("TERM", t.pid());
    std::thread::sleep(Duration::from_millis(300));
    lock.execute_batch("ROLLBACK").unwrap();
    let after = t.wait_for("the process to exit", 15, |s| s.contains("callscope-exit="));
    assert!(after.contains("callscope-exit=143"), "{after}");
    assert_restored(&t, &after);
    assert_eq!(
        stored_status(&store, &id).as_deref(),
        Some("reviewed"),
        "written before the exit"
    );
}

#[test]
fn a_signal_while_the_store_stays_locked_exits_in_bounded_time_and_says_what_was_lost() {
    if !tmux_available() {
        eprintln!("SKIPPED: tmux is not installed, so the end-to-end signal test cannot run");
        return;
    }
    let (_home, t, store, id, lock, _) = pending_mark_on_a_locked_store("siglocked");
    let sent = std::time::Instant::now();
    kill("TERM", t.pid());
    // The exit waits for the store a bounded time (2.5 s), then gives the terminal back.
    let after = t.wait_for("the process to exit", 15, |s| s.contains("callscope-exit="));
    assert!(sent.elapsed() < Duration::from_secs(10), "{:?}", sent.elapsed());
    assert!(after.contains("callscope-exit=143"), "{after}");
    assert_restored(&t, &after);
    assert!(
        after.contains("1 review mark change could not be saved"),
        "the loss is said on the terminal:\n{after}"
    );
    lock.execute_batch("ROLLBACK").unwrap();
    assert_eq!(stored_status(&store, &id), None);
}
