//! Issue 12, item 7, end to end: the reported key sequence typed into the real `callscope
//! demo` at 160×45 with a fresh HOME, then the TUI must still answer keys (`?` shows help,
//! `q` quits and the terminal is restored). Skips only when tmux is missing (fails under CI).

use crate::support::tmux;

use std::time::Duration;

use tmux::{Tmux, tmux_available};

/// Sends `key` and waits for `expect`; again (up to three times) when a live call's notice took
/// the status line before the reply could be read (the demo keeps calls arriving).
fn answered(t: &Tmux, key: &str, what: &str, expect: &str) {
    for _ in 0..3 {
        t.keys(&[key]);
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            if t.screen().contains(expect) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    t.wait_for(what, 1, |s| s.contains(expect));
}

/// tmux key names, `n` times.
fn repeat(t: &Tmux, key: &str, n: usize) {
    t.keys(&vec![key; n]);
}

#[test]
fn the_reported_sequence_leaves_the_tui_answering() {
    if !tmux_available() {
        eprintln!("SKIPPED: tmux is not installed, so the end-to-end TUI test cannot run");
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let t = Tmux::demo("freeze", home.path(), "");
    t.run(&["resize-window", "-t", "e2e", "-x", "160", "-y", "45"]);
    t.wait_for("the first page at 160×45", 30, |s| {
        s.contains(" loaded, ") && s.contains("AGENT") && s.lines().next().is_some_and(|l| l.chars().count() > 130)
    });

    t.keys(&["?", "G", "Escape", "?"]);
    repeat(&t, "j", 20);
    t.keys(&["Escape", "J", "Enter", "Space"]);
    // The reported 20 s pause, with the call playing (or saying why it cannot).
    std::thread::sleep(Duration::from_secs(20));
    t.keys(&["]", "}", "[", "{", "0"]);
    repeat(&t, ">", 5);
    repeat(&t, "<", 8);
    repeat(&t, ">", 2);
    repeat(&t, "-", 2);
    repeat(&t, "+", 15);
    repeat(&t, "d", 3);
    t.keys(&["Space", "f"]);
    repeat(&t, "j", 14);
    t.keys(&["b"]);
    t.wait_for("the rating picker", 10, |s| s.contains("Rate turn"));
    t.keys(&["2"]);
    t.wait_for("the comment input", 10, |s| s.contains(" comment: "));
    t.run(&["send-keys", "-t", "e2e", "-l", "agent read the wrong opening hours"]);
    t.wait_for("the typed comment", 10, |s| s.contains("wrong opening hours"));
    t.keys(&["Enter"]);
    t.wait_for("the comment saved", 10, |s| s.contains("comment saved"));
    t.keys(&["!"]);
    t.wait_for("the flag picker", 10, |s| s.contains("Flag: reason"));
    t.keys(&["Escape", "!"]);
    t.wait_for("the flag picker again", 10, |s| s.contains("Flag: reason"));
    // Keys the picker does not take say so.
    answered(&t, "R", "R answered in the picker", "R: not a picker key");
    t.keys(&["j", "k"]);
    answered(&t, "?", "? answered in the picker", "?: not a picker key");
    t.keys(&["q", "Enter"]);
    t.wait_for("the picker closed by q", 10, |s| !s.contains("Flag: reason"));
    t.keys(&["?"]);
    let help = t.wait_for("the help after the whole sequence", 10, |s| {
        s.contains("Keys · esc closes")
    });
    assert!(help.contains("move down"), "{help}");

    // Still answering: help closes, and q quits (a second q if marks are still being saved).
    t.keys(&["Escape"]);
    t.wait_for("the help to close", 10, |s| !s.contains("Keys · esc closes"));
    t.keys(&["q"]);
    std::thread::sleep(Duration::from_millis(500));
    if !t.screen().contains("callscope-exit=") {
        t.keys(&["q"]);
    }
    let after = t.wait_for("the process to exit", 15, |s| s.contains("callscope-exit="));
    assert!(after.contains("callscope-exit=0"), "{after}");
    assert_eq!(t.format("#{alternate_on}"), "0", "alternate screen left");
    assert_eq!(t.format("#{cursor_flag}"), "1", "cursor shown again");
    let stty = t.stty();
    let words: Vec<&str> = stty.split_whitespace().collect();
    for mode in ["icanon", "echo", "isig"] {
        assert!(words.contains(&mode), "{mode} (cooked mode) after the exit:\n{stty}");
    }
}
