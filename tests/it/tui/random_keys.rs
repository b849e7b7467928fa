//! Random key sequences over the whole keymap (issue 12, item 7), against the real flow: the
//! embedded stand-in over loopback with live calls arriving by webhook, the effect runner, the
//! store worker on a real SQLite file and the audio engine (silent output) feeding their
//! messages back. Keys go through `KeyFeedback`, as in the terminal.
//!
//! After every key: the screen changed, or the status line says why not with a reason the
//! app knows for that state (`noop::why_no_effect`, never its generic fallback); an open
//! input or picker is on screen; nothing panicked.
//!
//! Fixed seed and a few hundred keys by default (CI). Longer:
//! `CALLSCOPE_RANDOM_KEYS=20000 CALLSCOPE_RANDOM_SEED=42 cargo test --test it tui::random_keys::every_key`.
//! A failure prints the seed and a shortened key sequence; replay one with
//! `CALLSCOPE_RANDOM_REPLAY='j enter space ...'`.

use crate::support as common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use callscope::app::keymap::{Action, KeyChord};
use callscope::app::state::Overlay;
use callscope::app::{self, Effect, Identity, KeyMap, Msg, State, TerminalEffect};
use callscope::audio::{AudioEngine, AudioEvent, EngineOptions};
use callscope::standin::{self, Standin, StandinOptions};
use callscope::store::Store;
use callscope::tui::effects::Runner;
use callscope::tui::keys::KeyFeedback;
use callscope::tui::live::{self, LiveReceiver, LiveSetup};
use callscope::tui::store_worker::StoreWorker;
use callscope::ui::{Theme, buffer_text};
use chrono::{FixedOffset, Utc};
use crossterm::event::KeyEvent;
use tokio::runtime::Runtime;
use tokio::sync::mpsc::UnboundedReceiver;

const DEFAULT_STEPS: usize = 250;
const DEFAULT_SEED: u64 = 0x12_0007;

/// splitmix64: a fixed seed gives the same keys on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Key names as `KeyChord::parse` reads them: every default key of every action, the keys
/// inputs and pickers take, and a few bound to nothing.
fn keymap_keys() -> Vec<String> {
    let mut keys: Vec<String> = Action::ALL
        .iter()
        .flat_map(|a| a.default_keys().iter().map(|k| k.to_string()))
        .collect();
    keys.extend(
        [
            "esc",
            "enter",
            "backspace",
            "tab",
            "1",
            "2",
            "3",
            "4",
            "5",
            "6",
            "7",
            "9",
            "f5",
            "§",
            "ctrl-x",
            "delete",
            "alt-!",
            "alt-j",
        ]
        .map(String::from),
    );
    keys
}

/// What a reviewer types into inputs: words, filter words, digits, a few symbols.
const TEXT: &str = "abcdefghijklmnopqrstuvwxyz  0123456789:<>.!-_é";

fn pick_key(rng: &mut Rng, keys: &[String], typing: bool) -> String {
    if typing && rng.below(10) < 7 {
        let chars: Vec<char> = TEXT.chars().collect();
        let c = chars[rng.below(chars.len())];
        return if c == ' ' { "space".into() } else { c.to_string() };
    }
    keys[rng.below(keys.len())].clone()
}

fn parse(name: &str) -> KeyEvent {
    let chord = KeyChord::parse(name).unwrap_or_else(|| panic!("{name:?} is not a key name"));
    KeyEvent::new(chord.code, chord.mods)
}

struct Rig {
    rt: Runtime,
    _standin: Standin,
    _receiver: LiveReceiver,
    runner: Runner,
    worker: StoreWorker,
    audio: AudioEngine,
    rx: UnboundedReceiver<Msg>,
    audio_rx: UnboundedReceiver<AudioEvent>,
    _dir: tempfile::TempDir,
}

impl Rig {
    fn new() -> Rig {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let _guard = rt.enter();
        let standin = rt
            .block_on(standin::start(StandinOptions {
                conversations: 400,
                new_call_every: Some(Duration::from_millis(300)),
                shape: standin::Shape::Mixed,
                ..Default::default()
            }))
            .unwrap();
        let client = common::client(&standin);
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let receiver = rt
            .block_on(live::start(
                LiveSetup {
                    addr: ([127, 0, 0, 1], 0).into(),
                    secrets: Vec::new(),
                    register: true,
                },
                &client,
                tx.clone(),
            ))
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("demo.db");
        let worker = StoreWorker::spawn(Store::open(&path).unwrap(), tx.clone()).unwrap();
        let (audio_tx, audio_rx) = tokio::sync::mpsc::unbounded_channel();
        let audio = AudioEngine::start_with(
            client.clone(),
            audio_tx,
            EngineOptions {
                use_device: false,
                ..Default::default()
            },
        );
        let runner = Runner::new(client, tx).with_store(worker.clone()).with_store_path(path);
        drop(_guard);
        Rig {
            rt,
            _standin: standin,
            _receiver: receiver,
            runner,
            worker,
            audio,
            rx,
            audio_rx,
            _dir: dir,
        }
    }

    fn fresh_state(&self) -> State {
        let mut s = State::new(
            KeyMap::default(),
            Identity {
                account: "ws-demo".into(),
                project: "PROJECT-demo".into(),
                region: "demo stand-in".into(),
            },
            "live",
            Utc::now(),
            FixedOffset::east_opt(0).unwrap(),
            (160, 45),
        );
        s.cache_first = true;
        let dir = self._dir.path();
        s.player.recordings_dir = dir.join("recordings");
        s.review.exports_dir = dir.join("exports");
        s
    }

    /// Performs effects as the loop does; `true` when the app quit.
    fn perform(&self, fx: Vec<Effect>) -> bool {
        let _guard = self.rt.enter();
        let mut quit = false;
        for e in fx {
            match e {
                Effect::Io(work) => self.runner.spawn(work),
                Effect::Audio(cmd) => self.audio.send(cmd),
                Effect::Terminal(TerminalEffect::Quit) => quit = true,
                Effect::Terminal(
                    TerminalEffect::Copy(_) | TerminalEffect::SetMouseCapture(_) | TerminalEffect::Suspend,
                ) => {}
            }
        }
        quit
    }

    /// Feeds back what arrived until the channels are quiet for a moment (bounded): how many
    /// messages, and whether the app quit.
    fn settle(&mut self, s: &mut State) -> (usize, bool) {
        let deadline = Instant::now() + Duration::from_millis(150);
        let mut quit = false;
        let mut handled = 0;
        while Instant::now() < deadline {
            let (rx, audio_rx) = (&mut self.rx, &mut self.audio_rx);
            let msg = self.rt.block_on(async {
                tokio::select! {
                    Some(m) = rx.recv() => Some(m),
                    Some(a) = audio_rx.recv() => Some(Msg::Audio(a)),
                    _ = tokio::time::sleep(Duration::from_millis(4)) => None,
                }
            });
            let Some(msg) = msg else { break };
            handled += 1;
            let fx = app::update(s, msg);
            quit |= self.perform(fx) || s.quit;
        }
        (handled, quit)
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        let _ = self.worker.finish(Duration::from_secs(2));
    }
}

/// Each mode that takes keys, and what of it must be on screen.
fn mode_on_screen(s: &State, screen: &str) -> Result<(), String> {
    let status = screen.lines().last().unwrap_or("");
    if s.input.is_some() && !status.contains('▏') {
        return Err(format!(
            "an input is open ({:?}) but the status line shows no input",
            s.input
        ));
    }
    let title = match &s.overlay {
        Overlay::None => return Ok(()),
        Overlay::Help { .. } => "Keys · esc closes".to_string(),
        Overlay::WindowPicker { .. } => "Time window".into(),
        Overlay::FlagPicker { .. } => "Flag: reason".into(),
        Overlay::ViewPicker { .. } => "Views".into(),
        Overlay::RatePicker { target, .. } => format!("Rate turn {}", target.turn + 1),
        Overlay::History { .. } => "History of".into(),
        Overlay::QueuePicker { .. } => "Review queues".into(),
    };
    if s.input.is_some() {
        return Err(format!("an input and the {title:?} overlay are open at once"));
    }
    if !screen.contains(&title) {
        return Err(format!("the {title:?} overlay takes keys but is not on screen"));
    }
    Ok(())
}

#[derive(Debug)]
struct Failure {
    step: usize,
    what: String,
    screen: String,
}

/// Runs `keys` (or `steps` random ones from `seed`); the keys pressed and the first failure.
fn run(seed: u64, steps: usize, keys: Option<&[String]>) -> (Vec<String>, Option<Failure>) {
    let mut rig = Rig::new();
    let mut s = rig.fresh_state();
    let mut kf = KeyFeedback::new(Theme::default());
    rig.perform(app::start(&mut s));
    rig.settle(&mut s);
    let pool = keymap_keys();
    let mut rng = Rng(seed);
    let mut pressed = Vec::new();
    let n = keys.map_or(steps, <[String]>::len);
    for step in 0..n {
        let name = match keys {
            Some(k) => k[step].clone(),
            None => pick_key(&mut rng, &pool, s.input.is_some()),
        };
        pressed.push(name.clone());
        if let Some(ms) = name.strip_prefix("wait:") {
            // A pause in a replayed sequence: messages keep arriving, no key.
            let until = Instant::now() + Duration::from_millis(ms.parse().expect("wait:MS"));
            while Instant::now() < until {
                rig.settle(&mut s);
                std::thread::sleep(Duration::from_millis(20));
            }
            continue;
        }
        let k = parse(&name);
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let fx = kf.key(&mut s, k);
            let mut quit = rig.perform(fx) || s.quit;
            let screen = buffer_text(&kf.render(&s));
            if let Some(why) = &kf.last {
                if why.generic {
                    return Err(format!(
                        "{name}: changed nothing and no reason is known: {:?}",
                        why.text
                    ));
                }
                if !screen.contains(&why.text) {
                    return Err(format!("{name}: the reason {:?} is not on screen", why.text));
                }
            }
            mode_on_screen(&s, &screen)?;
            if step % 25 == 0 {
                // The loop's clock (about once a second at a reviewer's pace).
                let fx = app::update(&mut s, Msg::Tick(Utc::now()));
                quit |= rig.perform(fx);
            }
            let (handled, q) = rig.settle(&mut s);
            quit |= q;
            if handled > 0 {
                // A message must not open a mode off screen either.
                mode_on_screen(&s, &buffer_text(&kf.render(&s)))?;
            }
            Ok(quit)
        }));
        let fail = |what: String, s: &State| Failure {
            step,
            what,
            screen: buffer_text(&kf.render(s)),
        };
        match outcome {
            Ok(Ok(true)) => {
                // `q`: the app ends as the loop would; the next key starts a new session.
                s = rig.fresh_state();
                rig.perform(app::start(&mut s));
                rig.settle(&mut s);
            }
            Ok(Ok(false)) => {}
            Ok(Err(what)) => return (pressed, Some(fail(what, &s))),
            Err(p) => {
                let what = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                return (pressed, Some(fail(format!("panic: {what}"), &s)));
            }
        }
    }
    (pressed, None)
}

/// Issue 12's sequence (item 7), at 160×45 with a fresh store, the 20 s pause included.
fn issue_sequence() -> Vec<String> {
    let mut keys = Vec::new();
    let mut push = |k: &str, n: usize| keys.extend(std::iter::repeat_n(k.to_string(), n));
    for k in ["?", "G", "esc", "?"] {
        push(k, 1);
    }
    push("j", 20);
    for k in ["esc", "J", "enter", "space", "wait:20000", "]", "}", "[", "{", "0"] {
        push(k, 1);
    }
    push(">", 5);
    push("<", 8);
    push(">", 2);
    push("-", 2);
    push("+", 15);
    push("d", 3);
    push("space", 1);
    push("f", 1);
    push("j", 14);
    push("b", 1);
    push("2", 1);
    for c in "agent read the wrong opening hours".chars() {
        let name = if c == ' ' { "space".to_string() } else { c.to_string() };
        push(&name, 1);
    }
    for k in ["enter", "!", "esc", "!", "R", "j", "k", "?", "q", "enter", "?"] {
        push(k, 1);
    }
    keys
}

#[test]
fn the_issue_sequence_answers_every_key() {
    let keys = issue_sequence();
    let (pressed, failure) = run(0, 0, Some(&keys));
    if let Some(f) = failure {
        panic!(
            "key {} ({}) of the issue's sequence: {}\nscreen:\n{}",
            f.step + 1,
            pressed[f.step],
            f.what,
            f.screen
        );
    }
}

/// Drops chunks of the sequence while it still fails (timing can hide a failure: bounded).
fn shorten(seed: u64, mut keys: Vec<String>) -> Vec<String> {
    let mut chunk = keys.len() / 2;
    let mut tries = 0;
    while chunk >= 1 && tries < 24 {
        let mut i = 0;
        while i < keys.len() && tries < 24 {
            let mut shorter = keys.clone();
            shorter.drain(i..(i + chunk).min(keys.len()));
            tries += 1;
            if !shorter.is_empty() && run(seed, 0, Some(&shorter)).1.is_some() {
                keys = shorter;
            } else {
                i += chunk;
            }
        }
        chunk /= 2;
    }
    keys
}

fn env_number(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    Some(
        v.strip_prefix("0x")
            .map_or_else(|| v.parse(), |h| u64::from_str_radix(h, 16))
            .unwrap_or_else(|_| panic!("{name}={v:?}: expected a number")),
    )
}

#[test]
fn every_key_changes_the_screen_or_says_why() {
    let seed = env_number("CALLSCOPE_RANDOM_SEED").unwrap_or(DEFAULT_SEED);
    let steps = env_number("CALLSCOPE_RANDOM_KEYS").map_or(DEFAULT_STEPS, |n| n as usize);
    let replay: Option<Vec<String>> = std::env::var("CALLSCOPE_RANDOM_REPLAY")
        .ok()
        .map(|v| v.split_whitespace().map(String::from).collect());
    let started = Instant::now();
    let (pressed, failure) = run(seed, steps, replay.as_deref());
    let Some(f) = failure else {
        eprintln!(
            "random keys: {} keys, seed {seed:#x}, {:.1}s",
            pressed.len(),
            started.elapsed().as_secs_f64()
        );
        return;
    };
    let short = if replay.is_some() {
        pressed.clone()
    } else {
        shorten(seed, pressed.clone())
    };
    panic!(
        "random keys failed at key {} of seed {seed:#x}: {}\nscreen:\n{}\nreplay ({} keys):\n  CALLSCOPE_RANDOM_REPLAY='{}' cargo test --test it tui::random_keys::every_key\nfull sequence: {}",
        f.step + 1,
        f.what,
        f.screen,
        short.len(),
        short.join(" "),
        pressed.join(" ")
    );
}

#[test]
fn the_key_pool_covers_the_whole_keymap() {
    let pool = keymap_keys();
    for &a in Action::ALL {
        let km = KeyMap::default();
        for k in km.keys(a) {
            let ev = KeyEvent::new(k.code, k.mods);
            assert!(
                pool.iter().any(|p| parse(p) == ev),
                "{} ({k}) is never pressed",
                a.name()
            );
        }
    }
}
