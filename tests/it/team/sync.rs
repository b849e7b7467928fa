//! The team store shared by two reviewers against one real PostgreSQL: each with their own local
//! store, store worker and notification listener, as the TUI runs them. A flags a call and B's
//! state shows it within a second; with the database cut off (a loopback forwarder closed) marks
//! wait in the outbox, the header counts them, and when it is back all arrive, once.

use crate::support::team::TestDb;
use crate::support::tui::*;

use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use callscope::app::review::StoreRequest;
use callscope::app::{Effect, IoEffect, Msg, State, update};
use callscope::store::{ReviewStore, Store};
use callscope::team::TeamSection;
use callscope::team::store::TeamStore;
use callscope::tui::store_worker::{StoreWorker, handle};
use tokio::sync::mpsc::UnboundedReceiver;

/// One reviewer's TUI without the terminal: state, store worker, listener, answers.
struct Reviewer {
    s: State,
    worker: StoreWorker,
    rx: UnboundedReceiver<Msg>,
    _listener: tokio::runtime::Runtime,
}

fn reviewer(section: &TeamSection, dir: &std::path::Path, name: &str) -> Reviewer {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut local = Store::open(&dir.join(format!("{name}.db"))).unwrap();
    local.set_reviewer(name);
    let worker = callscope::tui::team::spawn_worker(local, Some(section), tx.clone()).unwrap();
    let rt = crate::support::team::listening(section, tx);
    let mut s = state(120, 40);
    let fx = started_with(&mut s, page(0..10, None, true));
    pump(&mut s, &worker, &mut rx, fx);
    Reviewer {
        s,
        worker,
        rx,
        _listener: rt,
    }
}

fn send_store(worker: &StoreWorker, fx: Vec<Effect>) {
    for e in fx {
        if let Effect::Io(IoEffect::Store(r)) = e {
            worker.send(r);
        }
    }
}

impl Reviewer {
    /// Feeds the worker's and the listener's messages into `update` until `want` holds of the
    /// state; how long that took. Panics after `secs`.
    fn until(&mut self, secs: u64, what: &str, want: impl Fn(&State) -> bool) -> Duration {
        let start = Instant::now();
        loop {
            if want(&self.s) {
                return start.elapsed();
            }
            match self.rx.try_recv() {
                Ok(msg) => {
                    let fx = update(&mut self.s, msg);
                    send_store(&self.worker, fx);
                }
                Err(_) => {
                    assert!(
                        start.elapsed() < Duration::from_secs(secs),
                        "timed out waiting for {what}"
                    );
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
        }
    }
}

fn flagged(s: &State, id: &str) -> bool {
    s.review.get(id).is_some_and(|m| m.flags.contains("wrong_info"))
}

#[test]
fn a_flag_by_one_reviewer_shows_on_the_others_screen_within_a_second() {
    let Some(db) = TestDb::initialised("team_two_reviewers") else {
        return;
    };
    let mut a = reviewer(&db.section(), db.dir.path(), "alice@acme");
    let mut b = reviewer(&db.section(), db.dir.path(), "bob@acme");
    // Both listeners are connected once each has asked for its first sync.
    std::thread::sleep(Duration::from_millis(300));
    let id = a.s.list.selected().unwrap().id.to_string();
    assert!(!flagged(&b.s, &id));

    let mut times = Vec::new();
    for (round, row) in [0usize, 3, 6].into_iter().enumerate() {
        let pick = a.s.list.row_at(row).unwrap().id.to_string();
        select_id(&mut a.s, &pick);
        let id = a.s.list.selected().unwrap().id.to_string();
        update(&mut a.s, key('!'));
        let fx = update(&mut a.s, key('1'));
        let t0 = Instant::now();
        send_store(&a.worker, fx);
        a.until(5, "alice's flag saved", |s| s.review.unsaved() == 0);
        b.until(5, "bob's screen shows alice's flag", |s| flagged(s, &id));
        let took = t0.elapsed();
        eprintln!("round {round}: alice's flag on bob's state after {took:?}");
        times.push(took);
        let screen = render(&b.s);
        assert_eq!(screen.matches('⚑').count(), round + 1, "{screen}");
    }
    let worst = times.iter().max().unwrap();
    assert!(*worst < Duration::from_secs(1), "B saw A's flags after {times:?}");
    // Bob's screen names alice as the flag's author.
    let id = a.s.list.selected().unwrap().id.to_string();
    b.until(5, "the flag's author", |s| {
        s.history
            .authors
            .get(&id)
            .and_then(|a| a.get(&callscope::domain::MarkField::Flag("wrong_info".into())))
            .is_some_and(|st| st.reviewer == "alice@acme")
    });
}

/// A loopback TCP forwarder to the database that can be cut (every connection closed, new ones
/// dropped) and restored: the database as the client sees it when the network goes.
struct Forwarder {
    port: u16,
    open: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
}

impl Forwarder {
    fn start(host: &str, port: u16) -> Forwarder {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let me = Forwarder {
            port: listener.local_addr().unwrap().port(),
            open: Arc::new(AtomicBool::new(true)),
            conns: Arc::new(Mutex::new(Vec::new())),
        };
        let (open, conns, upstream) = (me.open.clone(), me.conns.clone(), (host.to_string(), port));
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if !open.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect((upstream.0.as_str(), upstream.1)) else {
                    continue;
                };
                let pairs = [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server.try_clone().unwrap(), client.try_clone().unwrap()),
                ];
                conns.lock().unwrap().extend([client, server]);
                for (mut from, mut to) in pairs {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(Shutdown::Both);
                    });
                }
            }
        });
        me
    }

    fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        for c in self.conns.lock().unwrap().drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
    }

    fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

fn header(s: &State) -> String {
    render(s).lines().next().unwrap_or_default().to_string()
}

/// The worker's sync through the app, as the TUI runs it: the header's count after it.
fn sync(s: &mut State, store: &mut TeamStore) {
    let msg = handle(store, StoreRequest::TeamSync).expect("a team store answers a sync");
    assert!(matches!(msg, Msg::TeamSynced { .. }), "{msg:?}");
    update(s, msg);
}

/// Syncs until the store has read every teammate's change (opening reads none).
fn caught_up(store: &mut TeamStore) {
    store.sync().unwrap();
    while store.behind() > 0 {
        store.sync().unwrap();
    }
}

fn count(db: &TestDb, sql: &str) -> i64 {
    crate::support::team::runtime().block_on(async {
        let c = callscope::team::conn::connect(&db.section(), &callscope::config::process_env)
            .await
            .unwrap();
        c.query_one(sql, &[]).await.unwrap().get(0)
    })
}

/// The team section reaching `db` through a loopback forwarder the test can cut and restore.
fn through_forwarder(db: &TestDb) -> (Forwarder, TeamSection) {
    let fwd = Forwarder::start(&db.server.host, db.server.port.parse().unwrap());
    let via = TeamSection {
        database: Some(format!(
            "postgres://{}@127.0.0.1:{}/{}?sslmode=disable",
            db.server.user, fwd.port, db.name
        )),
        ..Default::default()
    };
    (fwd, via)
}

#[test]
fn marks_made_offline_wait_in_the_outbox_and_arrive_once() {
    let Some(db) = TestDb::initialised("team_offline") else {
        return;
    };
    let (fwd, via) = through_forwarder(&db);
    let path = db.dir.path().join("alice.db");
    let mut local = Store::open(&path).unwrap();
    local.set_reviewer("alice@acme");
    let mut alice = TeamStore::open(local, &via, &callscope::config::process_env).unwrap();
    assert!(alice.online(), "{:?}", alice.last_error());
    let mut s = state(120, 40);
    let ids: Vec<String> = (0..20).map(|i| conv(i, false).id).collect();
    // Online, each mark is written locally and sent at once (the store's own timing, loopback).
    let t0 = Instant::now();
    for id in &ids {
        alice
            .set_status(&origin().key(id.as_str()), callscope::domain::ReviewStatus::Reviewed)
            .unwrap();
    }
    eprintln!("20 marks sent to the team database one by one: {:?}", t0.elapsed());
    assert_eq!(alice.unsynced(), Some(0));
    assert_eq!(count(&db, "SELECT count(*) FROM mark_changes"), 20);

    fwd.cut();
    let t0 = Instant::now();
    for id in &ids {
        assert!(alice.toggle_flag(&origin().key(id.as_str()), "latency").unwrap());
    }
    let offline_marks = t0.elapsed();
    eprintln!("20 marks with the database cut off: {offline_marks:?}");
    assert!(
        offline_marks < Duration::from_secs(5),
        "an unreachable database must not hold up marks: {offline_marks:?}"
    );
    assert!(!alice.online());
    assert_eq!(alice.unsynced(), Some(20));
    assert!(
        alice
            .marks(&origin().key(ids[0].as_str()))
            .unwrap()
            .flags
            .contains("latency")
    );
    sync(&mut s, &mut alice);
    assert!(header(&s).contains("20 unsynced"), "{}", header(&s));
    assert!(s.team.error.is_some());
    assert_eq!(
        count(&db, "SELECT count(*) FROM mark_changes"),
        20,
        "only the online ones"
    );
    // This store's state as it is now, outbox included: sending it again later is what a
    // resend after a lost acknowledgement does.
    let copy = db.dir.path().join("alice-copy.db");
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute("VACUUM INTO ?1", [copy.to_str().unwrap()])
        .unwrap();

    fwd.restore();
    // The store tries again at most every RETRY (the worker syncs every 2 s; a connection still
    // being made is taken by the next sync).
    let back = Instant::now();
    while alice.unsynced() != Some(0) {
        assert!(back.elapsed() < Duration::from_secs(10), "{:?}", alice.last_error());
        std::thread::sleep(Duration::from_millis(100));
        sync(&mut s, &mut alice);
    }
    eprintln!("the outbox was sent {:?} after the database came back", back.elapsed());
    assert!(!header(&s).contains("unsynced"), "{}", header(&s));
    assert_eq!(s.team.error, None);
    let latency = "SELECT count(*) FROM mark_changes WHERE field = 'flag:latency'";
    assert_eq!(count(&db, latency), 20);
    assert_eq!(
        count(&db, "SELECT count(DISTINCT conversation_id) FROM mark_changes"),
        20
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM marks WHERE field = 'flag:latency' AND value = 'set'"
        ),
        20
    );

    // The same 20 sent again (the copy still holds them): recognised by their ids, applied once.
    let mut again = Store::open(&copy).unwrap();
    again.set_reviewer("alice@acme");
    let mut again = TeamStore::open(again, &db.section(), &callscope::config::process_env).unwrap();
    assert_eq!(again.unsynced(), Some(20), "opening sends nothing: the first sync does");
    again.sync().unwrap();
    assert_eq!(again.unsynced(), Some(0));
    assert_eq!(
        count(&db, "SELECT count(*) FROM mark_changes"),
        40,
        "nothing applied twice"
    );

    // A teammate sees all 20.
    let mut local = Store::open(&db.dir.path().join("bob.db")).unwrap();
    local.set_reviewer("bob@acme");
    let mut bob = TeamStore::open(local, &db.section(), &callscope::config::process_env).unwrap();
    caught_up(&mut bob);
    for id in &ids {
        let key = origin().key(id.as_str());
        let m = bob.marks(&key).unwrap();
        assert!(
            m.flags.contains("latency") && m.status == callscope::domain::ReviewStatus::Reviewed,
            "{id}"
        );
        assert_eq!(bob.history(&key).unwrap().len(), 2, "{id}: each change once");
    }
}

#[test]
fn marks_import_with_a_team_config_shares_what_it_takes() {
    let Some(db) = TestDb::initialised("team_marks_import") else {
        return;
    };
    let at = chrono::Utc::now().timestamp_millis();
    let file = db.dir.path().join("marks.json");
    let body = serde_json::json!({
        "format": "callscope.marks", "version": 3,
        "conversations": [{"account": "ws", "project": "p", "environment": "live", "id": "CA1",
            "status": "reviewed", "note": "from carol",
            "fields": [{"field": "note", "reviewer": "carol@acme", "at_ms": at},
                       {"field": "status", "reviewer": "carol@acme", "at_ms": at}],
            "scores": [{"scorecard": "voice-qa", "reviewer": "carol@acme", "at_ms": at,
                        "answers": {"greeting": {"answer": "yes"}}, "score": 100, "auto_failed": false}]}],
    });
    std::fs::write(&file, body.to_string()).unwrap();
    let store = db.dir.path().join("alice.db");
    // The binary's `marks import` of the file with the team config.
    let import = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_callscope"))
            .args(["marks", "import"])
            .arg(&file)
            .arg("--store")
            .arg(&store)
            .arg("--config")
            .arg(&db.config)
            .output()
            .unwrap()
    };
    let out = import();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("shared with the team database"), "{text}");
    assert_eq!(
        count(&db, "SELECT count(*) FROM mark_changes WHERE reviewer = 'carol@acme'"),
        2
    );
    // The file's scorecard save is shared too, not only kept here.
    assert_eq!(
        count(&db, "SELECT count(*) FROM scores WHERE reviewer = 'carol@acme'"),
        1
    );
    // Importing it again takes nothing, so sends nothing.
    let again = import();
    assert!(again.status.success());
    assert_eq!(count(&db, "SELECT count(*) FROM mark_changes"), 2);
    assert_eq!(count(&db, "SELECT count(*) FROM scores"), 1);
    // A teammate's store has carol's note, with her as its author.
    let mut local = Store::open(&db.dir.path().join("bob.db")).unwrap();
    local.set_reviewer("bob@acme");
    let mut bob = TeamStore::open(local, &db.section(), &callscope::config::process_env).unwrap();
    caught_up(&mut bob);
    let key = callscope::domain::Origin::new("ws", "p", "live").key("CA1");
    assert_eq!(bob.marks(&key).unwrap().note, "from carol");
    let scores = bob.scores(&key).unwrap();
    assert_eq!(
        (scores.len(), scores[0].reviewer.as_str(), scores[0].score),
        (1, "carol@acme", Some(100.0))
    );
    assert_eq!(
        bob.stamps(&key).unwrap()[&callscope::domain::MarkField::Note].reviewer,
        "carol@acme"
    );
    // `marks export` with the team config reads the team's marks first: a store that never
    // synced exports carol's note and save.
    let dave = db.dir.path().join("dave.db");
    drop(Store::open(&dave).unwrap());
    let export = |config: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_callscope"))
            .args(["marks", "export", "--store"])
            .arg(&dave)
            .arg("--config")
            .arg(config)
            .output()
            .unwrap()
    };
    let out = export(&db.config);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let file: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let entry = &file["conversations"][0];
    assert_eq!(
        (entry["id"].as_str(), entry["note"].as_str()),
        (Some("CA1"), Some("from carol"))
    );
    assert_eq!(entry["scores"][0]["reviewer"], "carol@acme");
    // An unreachable team database: the local copy is exported, and the user is told.
    let nowhere = db.dir.path().join("nowhere.toml");
    std::fs::write(
        &nowhere,
        "[team]\ndatabase = \"postgres://u@127.0.0.1:9/none?sslmode=disable\"\n",
    )
    .unwrap();
    let out = export(&nowhere);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("may lack teammates' latest marks"), "{err}");
}

#[test]
fn a_database_without_the_schema_says_what_to_run_and_an_unreachable_one_waits() {
    let Some(db) = TestDb::new("team_store_open") else {
        return;
    };
    let open = |section: &TeamSection| {
        let mut local = Store::open(&db.dir.path().join("s.db")).unwrap();
        local.set_reviewer("alice@acme");
        TeamStore::open(local, section, &callscope::config::process_env)
    };
    let e = format!("{:#}", open(&db.section()).err().expect("no schema: refused"));
    assert!(e.contains("callscope team init"), "{e}");
    // Nothing listens on port 9: local-first, so the store opens and marks wait.
    let nowhere = TeamSection {
        database: Some(format!(
            "postgres://{}@127.0.0.1:9/{}?sslmode=disable",
            db.server.user, db.name
        )),
        ..Default::default()
    };
    let mut store = open(&nowhere).unwrap();
    assert!(!store.online());
    assert!(
        store.last_error().unwrap().contains("connection refused"),
        "{:?}",
        store.last_error()
    );
    store.set_note(&origin().key("CA1"), "offline note").unwrap();
    assert_eq!(store.unsynced(), Some(1));
    assert!(store.sync().is_err(), "a sync says the database is unreachable");
}

#[test]
fn the_header_says_when_the_team_database_is_away_and_clears_when_it_answers() {
    let Some(db) = TestDb::initialised("team_offline_shown") else {
        return;
    };
    let (fwd, via) = through_forwarder(&db);
    let mut a = reviewer(&via, db.dir.path(), "alice@acme");
    assert!(!header(&a.s).contains("team offline"), "{}", header(&a.s));

    // The database goes away; a flag set meanwhile waits, and the header and status line say so.
    fwd.cut();
    update(&mut a.s, key('!'));
    let fx = update(&mut a.s, key('1'));
    send_store(&a.worker, fx);
    a.until(10, "the header saying the team database is offline", |s| {
        header(s).contains("team offline · 1 unsynced")
    });
    let note = a.s.status.note.clone().unwrap_or_default();
    assert!(note.starts_with("team offline: "), "{note}");
    assert!(render(&a.s).contains("team offline: "), "{}", render(&a.s));

    // It answers again: the flag is sent and both clear.
    fwd.restore();
    a.until(15, "the header clear again", |s| {
        !header(s).contains("team offline") && s.team.unsynced == 0
    });
    assert_eq!(a.s.team.error, None);
    let note = a.s.status.note.clone().unwrap_or_default();
    assert!(note.starts_with("team database back"), "{note}");
    assert_eq!(
        count(&db, "SELECT count(*) FROM mark_changes WHERE field = 'flag:wrong_info'"),
        1
    );
}

/// The same screen without a database: what the store worker reports, through `update`, at 80x24.
#[test]
fn an_unreachable_team_database_is_shown_in_the_header_and_its_reason_once() {
    let mut s = state(80, 24);
    started_with(&mut s, page(0..10, None, true));
    let synced = |unsynced, error: Option<&str>| Msg::TeamSynced {
        touched: Vec::new(),
        unsynced,
        behind: 0,
        error: error.map(str::to_string),
    };
    let why = "team database: cannot reach PostgreSQL at db.example:5432 (connection refused)\u{1b}[2J";
    update(&mut s, synced(3, Some(why)));
    let screen = render(&s);
    insta::assert_snapshot!("team_offline_80x24", screen);
    assert!(
        screen.lines().next().unwrap().contains("team offline · 3 unsynced"),
        "{screen}"
    );
    let note = s.status.note.clone().unwrap();
    assert!(
        note.starts_with("team offline: cannot reach PostgreSQL at db.example:5432 (connection refused)"),
        "{note:?}"
    );
    assert!(!note.contains('\u{1b}'), "{note:?}");
    // The same reason again (every periodic exchange) leaves the status line to other news.
    s.status.note = None;
    update(&mut s, synced(4, Some(why)));
    assert_eq!(s.status.note, None);
    update(&mut s, synced(0, None));
    let screen = render(&s);
    assert!(!screen.lines().next().unwrap().contains("team offline"), "{screen}");
    assert_eq!(
        s.status.note.as_deref(),
        Some("team database back — every change is shared")
    );
}
