//! End to end on a machine without a sound device: the real binary in a private tmux
//! server plays a demo call silently (the position advances, "no audio device" shows),
//! the list keeps working, `s` saves a WAV that hound opens, and no ALSA chatter reaches
//! the screen. Skips (with a message) only when tmux is not installed.

use crate::support::tmux;

use tmux::Tmux;

/// The player line (second from the bottom).
fn player_line(screen: &str) -> String {
    let lines: Vec<&str> = screen.trim_end_matches('\n').lines().collect();
    lines
        .get(lines.len().saturating_sub(2))
        .copied()
        .unwrap_or_default()
        .to_string()
}

/// Seconds of the `mm:ss/` position on the player line.
fn position(screen: &str) -> Option<u64> {
    let line = player_line(screen);
    let slash = line.find('/')?;
    let mmss = line.get(slash.checked_sub(5)?..slash)?;
    let (m, s) = mmss.split_once(':')?;
    Some(m.parse::<u64>().ok()? * 60 + s.parse::<u64>().ok()?)
}

#[test]
fn plays_silently_without_a_device_and_saves_a_wav() {
    if !tmux::tmux_available() {
        eprintln!("SKIPPED: tmux is not installed, so the end-to-end player test cannot run");
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    // ALSA's default device is a card that does not exist, whatever this machine has.
    let conf = h.join("asound.conf");
    std::fs::write(
        &conf,
        "pcm.!default { type hw; card 99 }\nctl.!default { type hw; card 99 }\n",
    )
    .unwrap();
    let vars = format!(
        "ALSA_CONFIG_PATH={}",
        tmux::shell_quote(std::path::Path::new(&format!(
            "/usr/share/alsa/alsa.conf:{}",
            conf.display()
        )))
    );
    let t = Tmux::callscope("player", h, &vars, "demo --new-call-every 0");
    let first_page = t.wait_for("the first page", 30, |s| s.contains(" loaded, ") && s.contains("AGENT"));

    // Select the first completed voice call (☎ without the in-progress ●) and play it.
    let row = first_page
        .lines()
        .skip(2)
        .map(|l| l.split('┃').nth(1).unwrap_or_default())
        .position(|l| l.contains('☎') && !l.contains('●'))
        .expect("a completed voice call on the first screen");
    for _ in 0..row {
        t.keys(&["j"]);
    }
    t.wait_for("a voice transcript", 10, |s| {
        s.lines().nth(1).is_some_and(|l| l.contains("voice"))
    });
    t.keys(&["Space"]);
    let first = t.wait_for("silent playback", 15, |s| {
        player_line(s).contains("no audio device") && player_line(s).contains("playing")
    });
    let p1 = position(&first).expect("a position on the player line");
    let second = t.wait_for("the position to advance", 10, |s| position(s).is_some_and(|p| p > p1));
    assert!(player_line(&second).contains("no audio device"), "{second}");

    // The list still works while it plays: another call is selected, the old stream stops.
    // The detail pane's title (the list's half of the line counts pages as they load).
    let title = |s: &str| {
        let l = s.lines().nth(1).unwrap_or_default();
        l.split_once('┌').map_or(l, |(_, t)| t).to_string()
    };
    let before = title(&second);
    t.keys(&["j"]);
    let moved = t.wait_for("another transcript", 10, |s| title(s) != before);
    assert!(player_line(&moved).contains("no audio device"), "{moved}");
    t.keys(&["k"]);
    t.wait_for("back on the playing call", 10, |s| title(s) == before);

    // Save the selected (playing) call.
    t.keys(&["s"]);
    let saved = t.wait_for("the save to finish", 30, |s| {
        s.contains(" saved ") || s.contains("could not save")
    });
    assert!(!saved.contains("could not save"), "{saved}");
    let dir = h.join("data/callscope/recordings");
    let wavs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(wavs.len(), 1, "{wavs:?}");
    assert_eq!(wavs[0].extension().unwrap(), "wav");
    let reader = hound::WavReader::open(&wavs[0]).expect("hound opens the saved recording");
    assert!(reader.duration() > 0);

    // Nothing from ALSA (or any other stderr writer) reached the screen at any point.
    for screen in [&first, &second, &moved, &saved] {
        assert!(!screen.contains("ALSA"), "{screen}");
    }

    t.keys(&["q"]);
    let after = t.wait_for("the process to exit", 15, |s| s.contains("callscope-exit="));
    assert!(after.contains("callscope-exit=0"), "{after}");
    assert!(!after.contains("ALSA lib"), "stderr was restored clean:\n{after}");
}
