//! End to end: two real `callscope` TUIs (each with its own home and local store, both on the
//! same stand-in API and the same team database) in private tmux servers. Alice flags the first
//! call; Bob's screen shows the flag without a key pressed.

use crate::support::team::TestDb;
use crate::support::tmux::{Tmux, shell_quote, tmux_available};

use std::time::{Duration, Instant};

fn flags_on(screen: &str) -> usize {
    screen.lines().skip(1).filter(|l| l.contains('⚑')).count()
}

#[test]
fn alices_flag_shows_on_bobs_screen() {
    if !tmux_available() {
        eprintln!("SKIPPED: tmux is not installed, so the end-to-end TUI test cannot run");
        return;
    }
    let Some(db) = TestDb::initialised("team_tui_e2e") else {
        return;
    };
    let (_standin, vars) = crate::support::serve_demo(&[]);
    let mut env: Vec<String> = vars.iter().map(|(k, v)| format!("{k}={v}")).collect();
    env.push(format!("PGPASSWORD={}", std::env::var("PGPASSWORD").unwrap()));
    let env = env.join(" ");
    let start = |name: &str| {
        let home = db.dir.path().join(name);
        std::fs::create_dir_all(&home).unwrap();
        let config = home.join("config.toml");
        std::fs::write(
            &config,
            format!("reviewer = \"{name}@acme\"\n\n[team]\ndatabase = \"{}\"\n", db.url()),
        )
        .unwrap();
        let t = Tmux::callscope(name, &home, &env, &format!("browse --config {}", shell_quote(&config)));
        t.wait_for("the list", 30, |s| s.contains(" loaded, ") && s.contains('☎'));
        t
    };
    let alice = start("alice");
    let bob = start("bob");
    let before = flags_on(&bob.screen());
    let alice_before = flags_on(&alice.screen());
    // Bob's listener is connected a moment after his list shows.
    std::thread::sleep(Duration::from_millis(500));

    alice.keys(&["!"]);
    // From the key press (tmux's send-keys, then a 150 ms pause) to Bob's screen.
    let t0 = Instant::now();
    alice.keys(&["1"]);
    alice.wait_for("alice's flag", 10, |s| flags_on(s) > alice_before);
    let screen = bob.wait_for("alice's flag on bob's screen", 10, |s| flags_on(s) > before);
    let took = t0.elapsed();
    eprintln!("alice's flag on bob's screen after {took:?} (from the key press; the screen is polled every 100 ms)");
    assert!(took < Duration::from_secs(2), "{took:?}\n{screen}");
    assert!(!screen.contains("unsynced"), "{screen}");
    for t in [&alice, &bob] {
        t.keys(&["q"]);
        let after = t.wait_for("the exit", 15, |s| s.contains("callscope-exit="));
        assert!(after.contains("callscope-exit=0"), "{after}");
    }
}
