//! End to end, offline: the demo fills its local cache; then `browse` against an API that
//! cannot be reached opens from that cache, says so, searches the cached transcripts and
//! opens them — in the real binary, in a private tmux server.

use crate::support::tmux;

use tmux::{Tmux, shell_quote, tmux_available};

#[test]
fn browse_without_network_works_from_the_cache() {
    if !tmux_available() {
        eprintln!("SKIPPED: tmux is not installed, so the end-to-end TUI test cannot run");
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let h = home.path();

    // 1. The demo caches what it lists.
    let t = Tmux::demo("offline-fill", h, "--new-call-every 0");
    t.wait_for("the first page", 30, |s| s.contains(" loaded, ") && s.contains("AGENT"));
    t.keys(&["G"]); // pages further down are cached too
    t.wait_for("more rows", 15, |s| s.contains(" loaded, "));
    std::thread::sleep(std::time::Duration::from_millis(500));
    t.keys(&["q"]);
    t.wait_for("the demo to exit", 15, |s| s.contains("callscope-exit=0"));
    drop(t);
    let db = h.join("data/callscope/demo.db");
    assert!(db.exists());

    // 2. Nothing listens on port 9: the list comes from the cache and says so.
    let vars = "POLYAI_API_KEY=test-key POLYAI_BASE_URL=http://127.0.0.1:9 POLYAI_PLATFORM_URL=http://127.0.0.1:9 \
                POLYAI_ACCOUNT_ID=ws-demo POLYAI_PROJECT_ID=PROJECT-demo";
    let t = Tmux::callscope("offline", h, vars, &format!("browse --store {}", shell_quote(&db)));
    let screen = t.wait_for("the cached list, marked as such", 30, |s| {
        s.contains("cache only") && s.contains("— working") && s.contains("☎")
    });
    assert!(
        screen.contains("○ offline") || screen.contains("◐ retrying"),
        "{screen}"
    );
    // A finished call's transcript opens from the cache (the first rows are in progress).
    let in_progress = screen.lines().skip(2).take_while(|l| l.contains('●')).count();
    for _ in 0..in_progress {
        t.keys(&["j"]);
    }
    let opened = t.wait_for("a cached transcript", 15, |s| {
        s.contains("AGENT") && !s.contains("in progress") && !s.contains("loading transcript")
    });
    assert!(opened.contains("completed") || opened.contains("USER"), "{opened}");

    // 3. `/` searches the cached transcripts as you type.
    t.keys(&["/"]);
    for k in ["r", "e", "f", "u", "n", "d"] {
        t.keys(&[k]);
    }
    let found = t.wait_for("cached search results", 15, |s| {
        s.contains("“refund”") && s.contains("cache only")
    });
    assert!(
        found.lines().filter(|l| l.contains("☎") || l.contains("✉")).count() >= 1,
        "{found}"
    );
    t.keys(&["Escape", "q"]);
    let after = t.wait_for("the process to exit", 15, |s| s.contains("callscope-exit="));
    assert!(after.contains("callscope-exit=0"), "{after}");
}
