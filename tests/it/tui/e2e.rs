//! End to end: the real binary in a private tmux server, driven by keys, read back from the
//! screen. Skips (with a message) only when tmux is not installed.

use crate::support::tmux;

use std::process::Command;

use tmux::{Tmux, tmux_available};

#[test]
fn demo_in_tmux() {
    if !tmux_available() {
        eprintln!("SKIPPED: tmux is not installed, so the end-to-end TUI test cannot run");
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let t = Tmux::demo("e2e", h, "--new-call-every 1");

    // The list loads (newest first) and the first transcript shows.
    let first = t.wait_for("the first page", 30, |s| s.contains(" loaded, ") && s.contains("AGENT"));
    assert!(first.contains("callscope · ws-demo"), "{first}");
    assert!(first.contains("· newest first ·"), "{first}");
    assert_eq!(t.format("#{alternate_on}"), "1", "the TUI uses the alternate screen");

    // Moving selects another conversation; its transcript follows.
    let title = |s: &str| s.lines().nth(1).unwrap_or_default().to_string();
    let before = title(&first);
    t.keys(&["j", "j", "j"]);
    let moved = t.wait_for("another transcript", 10, |s| title(s) != before && s.contains("USER"));
    assert!(moved.lines().any(|l| l.contains("▶")), "{moved}");

    // Help overlay, then close it.
    t.keys(&["?"]);
    t.wait_for("the help overlay", 10, |s| {
        s.contains("Keys · esc closes") && s.contains("move down")
    });
    t.keys(&["?"]);
    t.wait_for("the help to close", 10, |s| !s.contains("Keys · esc closes"));

    // Live: the demo's receiver is up and simulated calls arrive by webhook (one starts every
    // second and completes a few seconds later): the header counts them.
    let new_count = |s: &str| -> u32 {
        let header = s.lines().next().unwrap_or_default();
        header
            .strip_suffix(" new")
            .and_then(|h| h.rsplit(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    let live = t.wait_for("a new-call counter in the header", 15, |s| new_count(s) > 0);
    assert!(live.lines().next().unwrap().contains("● live ·"), "{live}");

    // Quit: the process ends with 0 and the terminal is back to normal.
    t.keys(&["q"]);
    let after = t.wait_for("the process to exit", 15, |s| s.contains("callscope-exit="));
    assert!(after.contains("callscope-exit=0"), "{after}");
    assert!(!after.contains("Conversations ("), "the TUI left the screen:\n{after}");
    assert_eq!(t.format("#{alternate_on}"), "0", "alternate screen left");
    assert_eq!(t.format("#{cursor_flag}"), "1", "cursor shown again");
    assert_eq!(t.format("#{mouse_any_flag}"), "0", "mouse reporting off");

    // Logs went to the temp data dir, not the screen.
    let log = h.join("data/callscope/callscope.log");
    assert!(log.exists(), "log file at {}", log.display());
}

#[test]
fn bad_keys_in_the_config_fail_before_the_terminal_is_touched() {
    let home = tempfile::tempdir().unwrap();
    let cfg_dir = home.path().join("config/callscope");
    std::fs::create_dir_all(&cfg_dir).unwrap();
    std::fs::write(cfg_dir.join("config.toml"), "[keys]\njump = \"j\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_callscope"))
        .arg("demo")
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("XDG_DATA_HOME", home.path().join("data"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown action `jump`"), "{err}");
    assert!(err.contains("known actions: down, up"), "{err}");
    // No escape sequences: the terminal was never switched to the TUI.
    assert!(
        !out.stdout.contains(&0x1b),
        "{:?}",
        String::from_utf8_lossy(&out.stdout)
    );
}
