//! Teammates' claims in every open TUI: two headless TUIs (`update` with real team workers and
//! the real notification listener) on one PostgreSQL work one queue. Bob claims and finishes an
//! item in his TUI, then through the CLI (`queue claim`, `queue done`); Ann's header shows the
//! new done count within a second each time, without a key pressed. His claims and releases are
//! announced to her as well.

use crate::support::team::{TestDb, new_queue, runtime};
use crate::support::tui::{code, key, page, render, started_with, state};

use std::process::Command;
use std::time::{Duration, Instant};

use callscope::app::state::Pane;
use callscope::app::{Effect, IoEffect, Msg, State, update};
use callscope::team::TeamSection;
use callscope::tui::team_worker::{TeamSetup, TeamWorker};
use crossterm::event::KeyCode;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

/// The bound: a teammate's change on the screen within a second.
const LIVE: Duration = Duration::from_secs(1);

/// One reviewer's TUI without the terminal: state, team worker, listener.
struct Reviewer {
    s: State,
    worker: TeamWorker,
    rx: UnboundedReceiver<Msg>,
    _listener: tokio::runtime::Runtime,
    /// Every `Msg::QueuesChanged` seen (the listener's catch-up after connecting is `None`).
    announced: Vec<Option<Vec<i64>>>,
}

impl Reviewer {
    fn new(section: TeamSection, name: &str) -> Reviewer {
        let (tx, rx) = unbounded_channel();
        let setup = TeamSetup {
            section: section.clone(),
            reviewer: name.into(),
        };
        let worker = TeamWorker::spawn(setup, tx.clone()).unwrap();
        let rt = crate::support::team::listening(&section, tx);
        let mut s = state(80, 24);
        s.scorecards.reviewer = name.into();
        s.queue.enabled = true;
        started_with(&mut s, page(0..10, None, true));
        Reviewer {
            s,
            worker,
            rx,
            _listener: rt,
            announced: Vec::new(),
        }
    }

    /// Team work goes to the worker; everything else (no store, no API here) is dropped.
    fn forward(&self, fx: Vec<Effect>) {
        for e in fx {
            if let Effect::Io(IoEffect::Team(r)) = e {
                self.worker.send(r);
            }
        }
    }

    fn send(&mut self, msg: Msg) {
        let fx = update(&mut self.s, msg);
        self.forward(fx);
    }

    /// Feeds the worker's and the listener's messages into `update` until `want` holds of this
    /// reviewer; how long that took. Panics after `secs`.
    fn until(&mut self, secs: u64, what: &str, want: impl Fn(&Reviewer) -> bool) -> Duration {
        let start = Instant::now();
        loop {
            if want(self) {
                return start.elapsed();
            }
            match self.rx.try_recv() {
                Ok(msg) => {
                    if let Msg::QueuesChanged { queues } = &msg {
                        self.announced.push(queues.clone());
                    }
                    self.send(msg);
                }
                Err(_) => {
                    assert!(
                        start.elapsed() < Duration::from_secs(secs),
                        "timed out waiting for {what}; header: {}",
                        self.header()
                    );
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
        }
    }

    fn header(&self) -> String {
        render(&self.s).lines().next().unwrap_or_default().to_string()
    }

    fn done(&self) -> Option<i64> {
        self.s.queue.active.as_ref().map(|q| q.progress.items_done)
    }

    fn queue_id(&self) -> i64 {
        self.s.queue.active.as_ref().expect("a queue is open").id
    }

    /// Listening (its catch-up came), then `W` and Enter on the first queue.
    fn open_first_queue(&mut self) {
        self.until(10, "the listener's first message", |r| r.announced.contains(&None));
        self.send(key('W'));
        self.until(10, "the queue picker's entries", |r| r.s.queue.lines.is_some());
        self.send(code(KeyCode::Enter));
        self.until(10, "the queue open", |r| r.s.queue.active.is_some());
    }
}

fn cli(db: &TestDb, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_callscope"))
        .args(args)
        .args(["--reviewer", "bob@acme", "--config"])
        .arg(&db.config)
        .env_remove("CALLSCOPE_REVIEWER")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        out.status.success(),
        "{args:?}: {text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

#[test]
fn a_teammates_claims_and_finishes_move_the_open_queues_header_within_a_second() {
    let Some(db) = TestDb::initialised("team_live_claims") else {
        return;
    };
    runtime().block_on(async {
        let mut team = db.team().await;
        team.create_queue(&new_queue("daily", 5, 1)).await.unwrap();
    });
    let mut ann = Reviewer::new(db.section(), "ann@acme");
    let mut bob = Reviewer::new(db.section(), "bob@acme");
    ann.open_first_queue();
    bob.open_first_queue();
    assert!(
        ann.header().contains("queue daily · 0/5 done · you 0"),
        "{}",
        ann.header()
    );
    let daily = ann.queue_id();

    // Bob's claim in his TUI is announced to Ann, naming the queue.
    ann.announced.clear();
    bob.send(key('C'));
    bob.until(10, "bob's claim", |r| r.s.queue.claimed().is_some());
    ann.until(5, "bob's claim announced", |r| {
        r.announced
            .iter()
            .any(|q| q.as_ref().is_some_and(|ids| ids.contains(&daily)))
    });

    // Bob finishes it (R, marked reviewed): Ann's header moves without a key.
    let t0 = Instant::now();
    bob.send(key('R'));
    bob.until(10, "bob's finish", |r| r.done() == Some(1));
    ann.until(5, "bob's finish on ann's screen", |r| r.done() == Some(1));
    let in_tui = t0.elapsed();
    eprintln!("bob's finish in his TUI on ann's state after {in_tui:?} (from bob's key)");
    assert!(
        ann.header().contains("queue daily · 1/5 done · you 0"),
        "{}",
        ann.header()
    );

    // The same through the CLI: `queue claim`, then `queue done` (timed from the command's start).
    let id = cli(&db, &["queue", "claim", "daily"]);
    let t0 = Instant::now();
    cli(&db, &["queue", "done", "daily", &id]);
    ann.until(5, "the CLI's finish on ann's screen", |r| r.done() == Some(2));
    let by_cli = t0.elapsed();
    eprintln!("`queue done` on ann's state after {by_cli:?} (from the command's start)");
    assert!(
        ann.header().contains("queue daily · 2/5 done · you 0"),
        "{}",
        ann.header()
    );
    // Bob's own TUI follows his CLI too.
    bob.until(5, "the CLI's finish on bob's screen", |r| r.done() == Some(2));

    // Bob claims again and moves to another row: the release is announced to Ann too.
    bob.send(key('C'));
    bob.until(10, "bob's second claim", |r| r.s.queue.claimed().is_some());
    ann.until(5, "the second claim announced", |r| !r.announced.is_empty());
    ann.announced.clear();
    bob.s.focus = Pane::List;
    bob.send(key('j'));
    assert_eq!(bob.s.queue.claimed(), None, "moved on: released");
    ann.until(5, "bob's release announced", |r| {
        r.announced
            .iter()
            .any(|q| q.as_ref().is_some_and(|ids| ids.contains(&daily)))
    });
    assert!(
        in_tui < LIVE && by_cli < LIVE,
        "ann saw bob's finishes after {in_tui:?} (TUI) and {by_cli:?} (CLI)"
    );
}
