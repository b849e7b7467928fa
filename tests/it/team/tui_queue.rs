//! Review queues in the TUI, headless: the pure `step` core with the real team worker on a
//! real PostgreSQL. Two reviewers pick a queue (`W`), claim (`C`) different items, a renewal
//! moves the lease, finishing (`R`, or the queue's scorecard `Q`) moves the progress, and
//! moving to another row gives the claim back. Without `[team]` and with a dead database the
//! TUI says why.

use crate::support::team as team_support;
use crate::support::tui as tui_support;

use std::time::Duration;

use callscope::app::queue_state::{TeamEvent, TeamRequest};
use callscope::app::state::{Overlay, Pane};
use callscope::app::{Effect, IoEffect, Msg, State, step};
use callscope::team::TeamSection;
use callscope::tui::team_worker::{TeamSetup, TeamWorker};
use crossterm::event::KeyCode;
use insta::assert_snapshot;
use team_support::{TestDb, new_queue, runtime};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tui_support::{code, key, page, render, started_with, state};

const LEASE: Duration = Duration::from_secs(120);

/// One reviewer's TUI: its state and a real worker with its own connection.
struct Reviewer {
    s: State,
    worker: TeamWorker,
    rx: UnboundedReceiver<Msg>,
    rt: tokio::runtime::Runtime,
    /// Renewal timers asked for (fired by hand).
    timers: Vec<Msg>,
    /// Conversations asked for by id (request, id).
    fetches: Vec<(u64, String)>,
}

impl Reviewer {
    fn new(section: TeamSection, name: &str) -> Reviewer {
        let (tx, rx) = unbounded_channel();
        let worker = TeamWorker::spawn(
            TeamSetup {
                section,
                reviewer: name.into(),
            },
            tx,
        )
        .unwrap();
        let mut s = state(80, 24);
        s.scorecards.reviewer = name.into();
        s.queue.enabled = true;
        s.queue.lease = LEASE;
        started_with(&mut s, page(0..10, None, true));
        Reviewer {
            s,
            worker,
            rx,
            rt: runtime(),
            timers: Vec::new(),
            fetches: Vec::new(),
        }
    }

    /// Steps `msg`, then every answer the worker owes, until none is owed.
    fn send(&mut self, msg: Msg) {
        let fx = step(&mut self.s, msg).effects;
        let mut owed = self.forward(fx);
        while owed > 0 {
            let msg = self
                .next()
                .expect("the team worker answers within 20 s")
                .expect("the worker is running");
            owed -= 1;
            let fx = step(&mut self.s, msg).effects;
            owed += self.forward(fx);
        }
    }

    fn next(&mut self) -> Result<Option<Msg>, tokio::time::error::Elapsed> {
        let rx = &mut self.rx;
        self.rt
            .block_on(async { tokio::time::timeout(Duration::from_secs(20), rx.recv()).await })
    }

    /// Team work goes to the worker (how many answers it owes); renewal timers are kept.
    fn forward(&mut self, fx: Vec<Effect>) -> usize {
        let mut owed = 0;
        for e in fx {
            match e {
                Effect::Io(IoEffect::Team(r)) => {
                    owed += usize::from(!matches!(r, TeamRequest::Release { .. }));
                    self.worker.send(r);
                }
                Effect::Io(IoEffect::After { msg, .. }) if matches!(*msg, Msg::Team(_)) => self.timers.push(*msg),
                Effect::Io(IoEffect::FetchLive { req, id }) => self.fetches.push((req, id)),
                _ => {}
            }
        }
        owed
    }

    fn press(&mut self, c: char) {
        self.send(key(c));
    }

    /// Waits until the worker did everything sent so far (a release is unanswered).
    fn settle(&mut self) {
        self.worker.send(TeamRequest::ListQueues);
        let msg = self.next().unwrap().unwrap();
        assert!(matches!(msg, Msg::Team(TeamEvent::Queues(Ok(_)))), "{msg:?}");
    }

    fn selected(&self) -> String {
        self.s.list.selected().unwrap().id.to_string()
    }

    fn claimed(&self) -> Option<String> {
        self.s.queue.claimed().map(str::to_string)
    }

    fn header(&self) -> String {
        render(&self.s).lines().next().unwrap().to_string()
    }

    /// `W`, then Enter on the first queue.
    fn pick_first_queue(&mut self) {
        self.press('W');
        assert!(matches!(self.s.overlay, Overlay::QueuePicker { .. }));
        self.send(code(KeyCode::Enter));
        assert_eq!(self.s.overlay, Overlay::None);
    }
}

/// The lease end of `id`'s slot held by `who`, as seconds from now (`None`: not held by them).
fn lease_left(db: &TestDb, id: &str, who: &str) -> Option<f64> {
    runtime().block_on(async {
        let c = callscope::team::conn::connect(&db.section(), &callscope::config::process_env)
            .await
            .unwrap();
        c.query_opt(
            "SELECT extract(epoch FROM lease_until - now())::float8 FROM queue_slots
             WHERE conversation_id = $1 AND reviewer = $2 AND done_at IS NULL",
            &[&id, &who],
        )
        .await
        .unwrap()
        .map(|r| r.get(0))
    })
}

fn create(db: &TestDb, name: &str, n: usize) {
    runtime().block_on(async {
        let mut team = db.team().await;
        team.create_queue(&new_queue(name, n, 1)).await.unwrap();
    });
}

#[test]
fn two_reviewers_claim_different_items_finish_them_and_moving_on_releases() {
    let Some(db) = TestDb::initialised("tui_queue") else {
        return;
    };
    create(&db, "daily", 5);
    let mut ann = Reviewer::new(db.section(), "ann@acme");
    let mut bob = Reviewer::new(db.section(), "bob@acme");

    // The picker lists the queue with its progress.
    ann.press('W');
    assert_snapshot!("queue_picker_80x24", render(&ann.s));
    assert!(render(&ann.s).contains("daily — 0/5 done · you 0 · voice-qa"));
    ann.send(code(KeyCode::Enter));
    let ids: Vec<String> = ann.s.list.paging.rows.iter().map(|r| r.id.to_string()).collect();
    assert_eq!(
        ids,
        ["c0000", "c0001", "c0002", "c0003", "c0004"],
        "the list is the queue's items"
    );
    assert!(
        ann.header().contains("queue daily · 0/5 done · you 0"),
        "{}",
        ann.header()
    );
    // The items' conversations are fetched by id; one that arrives fills its row.
    let asked: Vec<&str> = ann.fetches.iter().map(|(_, id)| id.as_str()).collect();
    assert_eq!(asked, ids);
    let (req, _) = ann.fetches[1].clone();
    let mut c = tui_support::conv(3, true);
    c.id = "c0001".into();
    ann.send(Msg::LiveConversation { req, result: Ok(c) });
    let row = ann.s.list.paging.rows[1].clone();
    assert_eq!((&*row.id, row.turns), ("c0001", 6), "{row:?}");
    assert_eq!(ann.s.list.visible_len(), 5, "an item is not a live call: no new row");

    // Next claims the first item, selects it and opens its transcript.
    ann.press('C');
    assert_eq!(ann.claimed().as_deref(), Some("c0000"));
    assert_eq!(ann.selected(), "c0000");
    assert_eq!(ann.s.focus, Pane::Detail);
    assert_snapshot!("queue_claimed_80x24", render(&ann.s));
    let left = lease_left(&db, "c0000", "ann@acme").expect("ann holds c0000");
    assert!(left > 100.0 && left <= 120.0, "{left}");

    // A second reviewer's next gets another item.
    bob.pick_first_queue();
    bob.press('C');
    assert_eq!(bob.claimed().as_deref(), Some("c0001"));

    // The renewal timer (a third of the lease) extends the lease; the next one is set.
    assert_eq!(ann.timers.len(), 1);
    std::thread::sleep(Duration::from_millis(1500));
    let before = lease_left(&db, "c0000", "ann@acme").unwrap();
    let timer = ann.timers.remove(0);
    ann.send(timer);
    let after = lease_left(&db, "c0000", "ann@acme").unwrap();
    assert!(after > before + 1.0, "renewed: {before} → {after}");
    assert_eq!(ann.timers.len(), 1, "the next renewal is due");

    // Marking it reviewed finishes the claim and moves the progress.
    ann.press('R');
    assert_eq!(ann.claimed(), None);
    assert!(
        ann.header().contains("queue daily · 1/5 done · you 1"),
        "{}",
        ann.header()
    );
    assert_eq!(lease_left(&db, "c0000", "ann@acme"), None);

    // Next again: c0002 (c0001 is bob's). Moving to another row gives it back.
    ann.s.focus = Pane::List;
    ann.press('C');
    assert_eq!(ann.claimed().as_deref(), Some("c0002"));
    ann.s.focus = Pane::List;
    ann.press('j');
    assert_eq!(ann.selected(), "c0003");
    assert_eq!(ann.claimed(), None, "moved on: released");
    assert!(ann.s.status.note.as_deref().unwrap_or("").contains("released c0002"));
    ann.settle();
    assert_eq!(lease_left(&db, "c0002", "ann@acme"), None);
    // A stale renewal timer of the released claim does nothing.
    let stale = ann.timers.pop().unwrap();
    let fx = step(&mut ann.s, stale).effects;
    assert!(fx.is_empty(), "{fx:?}");

    // Bob scores c0001 with the queue's form: that finishes it, with the answers.
    bob.press('Q');
    assert_eq!(bob.s.scorecards.form.as_ref().unwrap().card.name, "voice-qa");
    for c in "yy4ya1y4".chars() {
        bob.press(c);
    }
    bob.send(code(KeyCode::Enter));
    assert_eq!(bob.claimed(), None);
    assert!(
        bob.header().contains("queue daily · 2/5 done · you 1"),
        "{}",
        bob.header()
    );
    let answers: i64 = runtime().block_on(async {
        let c = callscope::team::conn::connect(&db.section(), &callscope::config::process_env)
            .await
            .unwrap();
        c.query_one(
            "SELECT count(*) FROM queue_answers WHERE conversation_id = 'c0001' AND reviewer = 'bob@acme'",
            &[],
        )
        .await
        .unwrap()
        .get(0)
    });
    assert_eq!(answers, 8, "every answer of the form is in the queue");

    // The item ann gave back is the next one free.
    bob.s.scorecards.form = None;
    bob.press('C');
    assert_eq!(bob.claimed().as_deref(), Some("c0002"));

    // Leaving the queue (the picker's last entry) gives the claim back and shows the window again.
    bob.press('W');
    let n = callscope::app::queue::picker_entries(&bob.s).len();
    assert!(callscope::app::queue::picker_entries(&bob.s)[n - 1].starts_with("leave queue daily"));
    bob.press(char::from_digit(n as u32, 10).unwrap());
    assert!(bob.s.queue.active.is_none());
    bob.settle();
    assert_eq!(lease_left(&db, "c0002", "bob@acme"), None);
}

#[test]
fn without_a_team_database_w_says_why() {
    let mut s = state(80, 24);
    started_with(&mut s, page(0..10, None, true));
    for c in ['W', 'C'] {
        let fx = step(&mut s, key(c)).effects;
        assert!(fx.is_empty(), "{fx:?}");
        assert_eq!(s.overlay, Overlay::None);
        let Msg::Key(k) = key(c) else { unreachable!() };
        let why = callscope::app::noop::why_no_effect(&s, &k);
        assert!(!why.generic);
        assert_eq!(
            why.text,
            format!("{c}: no team database — set [team] database in config.toml to work review queues")
        );
    }
}

#[test]
fn a_dead_database_is_a_clear_message_not_a_freeze() {
    // A port nobody listens on: refused at once.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let section = TeamSection {
        database: Some(format!("postgres://nobody@127.0.0.1:{port}/none?sslmode=disable")),
        ..Default::default()
    };
    let mut r = Reviewer::new(section, "ann@acme");
    let started = std::time::Instant::now();
    r.press('W');
    assert!(started.elapsed() < Duration::from_secs(12));
    let entries = callscope::app::queue::picker_entries(&r.s);
    assert!(
        entries[0].contains(&format!("cannot reach PostgreSQL at 127.0.0.1:{port}")),
        "{entries:?}"
    );
    // Still working: the picker closes and the list moves.
    r.send(code(KeyCode::Esc));
    assert_eq!(r.s.overlay, Overlay::None);
    r.press('j');
    assert_eq!(r.s.list.sel, 1);
}
