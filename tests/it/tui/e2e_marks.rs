//! End to end: review marks and a turn rating made in the real binary (in tmux) survive a
//! restart on the same store. Skips (with a message) only when tmux is not installed.

use crate::support::tmux;

use tmux::{Tmux, shell_quote, tmux_available};

/// The list row under the selection marker.
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

/// Waits for the list and a transcript, then moves down to the first conversation that is
/// not in progress (its turns do not change between runs); returns its id and the moves.
fn first_completed(t: &Tmux) -> (String, usize) {
    t.wait_for("the first page", 30, |s| s.contains(" loaded, ") && s.contains("AGENT"));
    for moves in 0..12 {
        let s = t.wait_for("a transcript", 10, |s| s.contains("AGENT") && shown_id(s).is_some());
        if !selected_row(&s).contains('●') {
            return (shown_id(&s).unwrap(), moves);
        }
        let before = shown_id(&s);
        t.keys(&["j"]);
        t.wait_for("the next transcript", 10, |s| {
            shown_id(s).is_some() && shown_id(s) != before
        });
    }
    panic!("no completed conversation among the first rows:\n{}", t.screen());
}

#[test]
fn marks_and_ratings_survive_a_restart() {
    if !tmux_available() {
        eprintln!("SKIPPED: tmux is not installed, so the end-to-end TUI test cannot run");
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let store = h.join("x.db");
    // No simulated traffic: the seeded data set is the same on both runs.
    let args = format!("--store {} --new-call-every 0", shell_quote(&store));

    let t = Tmux::demo("marks1", h, &args);
    let (id, moves) = first_completed(&t);
    t.keys(&["R"]);
    t.wait_for("the ✓ on the row", 10, |s| selected_row(s).contains('✓'));
    // Rate the current turn (the first, at the top of the transcript): wrong information.
    t.keys(&["Tab", "b"]);
    t.wait_for("the rating picker", 10, |s| s.contains("Rate turn 1"));
    t.keys(&["2"]);
    t.wait_for("the comment input", 10, |s| s.contains("turn 1 comment:"));
    t.keys(&["e2e check", "Enter"]);
    t.wait_for("the rating under the turn", 10, |s| {
        s.contains("👎 wrong information — e2e check")
    });
    t.keys(&["q"]);
    let after = t.wait_for("the process to exit", 15, |s| s.contains("callscope-exit="));
    assert!(after.contains("callscope-exit=0"), "{after}");
    drop(t);

    // Restart on the same store: the same conversation shows its ✓ and its rating.
    // The list now opens from the store's cache; the first transcript is drawn too.
    let t = Tmux::demo("marks2", h, &args);
    t.wait_for("the first page", 30, |s| s.contains(" loaded, ") && s.contains("AGENT"));
    for _ in 0..moves {
        t.keys(&["j"]);
    }
    let s = t.wait_for("the marks loaded from the store", 15, |s| {
        selected_row(s).contains('✓') && s.contains("👎 wrong information — e2e check")
    });
    assert_eq!(shown_id(&s).as_deref(), Some(id.as_str()), "same conversation\n{s}");
    assert!(s.contains("review    reviewed"), "{s}");
    t.keys(&["q"]);
    let after = t.wait_for("the process to exit", 15, |s| s.contains("callscope-exit="));
    assert!(after.contains("callscope-exit=0"), "{after}");
}
