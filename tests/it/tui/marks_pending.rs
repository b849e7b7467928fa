//! A mark is shown as saved only once the store has it: with the SQLite file locked by another
//! connection (`BEGIN EXCLUSIVE`), a change made in the TUI stays visibly pending, the real
//! store worker retries it, and it is written (and shown ✓) once the lock is released. A quit
//! while marks are pending saves them first, or warns and asks.

use crate::support::tui as tui_support;

use std::path::Path;
use std::time::{Duration, Instant};

use callscope::app::review::{QuitRequest, StoreRequest};
use callscope::app::{Effect, IoEffect, Msg, State, TerminalEffect, update};
use callscope::store::Store;
use callscope::tui::store_worker::StoreWorker;
use insta::assert_snapshot;
use tokio::sync::mpsc::UnboundedReceiver;
use tui_support::*;

/// Another process's connection holding the write lock until `release`.
struct Lock(rusqlite::Connection);

impl Lock {
    fn take(path: &Path) -> Lock {
        let c = rusqlite::Connection::open(path).unwrap();
        c.busy_timeout(Duration::from_secs(5)).unwrap();
        c.execute_batch("BEGIN EXCLUSIVE").unwrap();
        Lock(c)
    }

    fn release(self) {
        self.0.execute_batch("ROLLBACK").unwrap();
    }
}

/// The status stored in the file, read by a connection of its own.
fn stored_status(path: &Path, id: &str) -> Option<String> {
    let c = rusqlite::Connection::open(path).unwrap();
    c.query_row("SELECT status FROM conversation_marks WHERE id = ?1", [id], |r| {
        r.get(0)
    })
    .ok()
}

fn selected_row(screen: &str) -> String {
    screen.lines().find(|l| l.contains('▶')).unwrap_or_default().to_string()
}

fn header(screen: &str) -> String {
    screen.lines().next().unwrap_or_default().to_string()
}

fn send_store(worker: &StoreWorker, fx: Vec<Effect>) {
    for e in fx {
        if let Effect::Io(IoEffect::Store(r)) = e {
            worker.send(r);
        }
    }
}

/// Feeds the worker's answers into `update` (their store work back to the worker) until one
/// matches `want`; panics after `secs`.
fn until(
    s: &mut State,
    worker: &StoreWorker,
    rx: &mut UnboundedReceiver<Msg>,
    secs: u64,
    what: &str,
    want: impl Fn(&Msg) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        match rx.try_recv() {
            Ok(msg) => {
                let hit = want(&msg);
                let fx = update(s, msg);
                send_store(worker, fx);
                if hit {
                    return;
                }
            }
            Err(_) => {
                assert!(Instant::now() < deadline, "timed out waiting for {what}");
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

fn is_pending(m: &Msg) -> bool {
    matches!(m, Msg::MarksPending { .. })
}

fn is_saved(m: &Msg) -> bool {
    matches!(m, Msg::MarksSaved { .. })
}

/// A started app on a real store file with its worker; the first rows' marks loaded.
fn started(path: &Path) -> (State, StoreWorker, UnboundedReceiver<Msg>) {
    let (worker, mut rx) = store_worker(path);
    let mut s = state(120, 40);
    let fx = started_with(&mut s, page(0..10, None, true));
    pump(&mut s, &worker, &mut rx, fx);
    (s, worker, rx)
}

#[test]
fn a_mark_on_a_locked_store_is_pending_until_the_retry_writes_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("callscope.db");
    let (mut s, worker, mut rx) = started(&path);
    let id = s.list.selected().unwrap().id.to_string();
    let lock = Lock::take(&path);

    let fx = update(&mut s, key('R'));
    send_store(&worker, fx);
    // Pending from the key press: ⧗, not ✓, and counted in the header.
    let screen = render(&s);
    assert!(selected_row(&screen).contains('⧗'), "{screen}");
    assert!(!selected_row(&screen).contains('✓'), "{screen}");
    assert!(header(&screen).contains("⧗ 1 unsaved"), "{screen}");
    // The worker tried; the store refused: still pending, and the detail pane says why.
    until(&mut s, &worker, &mut rx, 10, "the refused write", is_pending);
    let screen = render(&s);
    assert!(!selected_row(&screen).contains('✓'), "{screen}");
    assert!(
        screen.contains("unsaved   ⧗ change not saved yet: the local store is locked"),
        "{screen}"
    );
    assert!(
        screen.contains("review    reviewed"),
        "the intended mark is in the detail:\n{screen}"
    );
    assert_eq!(stored_status(&path, &id), None, "nothing written while locked");

    // A flag on another row meanwhile queues behind it.
    update(&mut s, key('j'));
    let other = s.list.selected().unwrap().id.to_string();
    update(&mut s, key('!'));
    let fx = update(&mut s, key('1'));
    send_store(&worker, fx);
    assert_eq!(s.review.unsaved(), 2);
    assert!(header(&render(&s)).contains("⧗ 2 unsaved"));
    // The worker keeps retrying while the lock is held (backoff: 0.5 s, 1 s …).
    until(&mut s, &worker, &mut rx, 10, "a retry", is_pending);
    until(&mut s, &worker, &mut rx, 10, "another retry", is_pending);
    assert_eq!(stored_status(&path, &id), None);

    lock.release();
    until(&mut s, &worker, &mut rx, 15, "the first write", is_saved);
    until(&mut s, &worker, &mut rx, 15, "the second write", is_saved);
    assert_eq!(
        stored_status(&path, &id).as_deref(),
        Some("reviewed"),
        "written to the file"
    );
    let back = Store::open(&path).unwrap();
    assert!(
        back.marks(&origin().key(other.as_str()))
            .unwrap()
            .flags
            .contains("wrong_info")
    );
    assert_eq!(s.review.unsaved(), 0);
    // Shown as saved now: ✓ on its row, no ⧗, no count.
    update(&mut s, key('k'));
    let screen = render(&s);
    assert!(selected_row(&screen).contains('✓'), "{screen}");
    assert!(!screen.contains('⧗'), "{screen}");
    assert!(!header(&screen).contains("unsaved"), "{screen}");
}

#[test]
fn a_quit_while_marks_are_pending_saves_them_first_or_asks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("callscope.db");
    let (mut s, worker, mut rx) = started(&path);
    let id = s.list.selected().unwrap().id.to_string();
    let lock = Lock::take(&path);
    let fx = update(&mut s, key('F'));
    send_store(&worker, fx);
    until(&mut s, &worker, &mut rx, 10, "the refused write", is_pending);

    // q: not gone yet; the worker is asked to save now.
    let fx = update(&mut s, key('q'));
    assert!(!s.quit, "a quit with unsaved marks waits for them");
    assert!(!fx.iter().any(|e| matches!(e, Effect::Terminal(TerminalEffect::Quit))));
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Io(IoEffect::Store(StoreRequest::FlushMarks))))
    );
    assert!(
        s.status
            .note
            .as_deref()
            .unwrap()
            .starts_with("saving 1 mark before quitting")
    );
    send_store(&worker, fx);
    // Still locked: the quit warns and asks.
    until(&mut s, &worker, &mut rx, 10, "the flush to fail", is_pending);
    assert!(!s.quit);
    assert_eq!(s.review.quit, QuitRequest::Warned);
    let screen = render(&s);
    assert!(
        screen.contains("⧗ 1 mark not saved — q again to quit anyway")
            && screen.contains("· the local store is locked"),
        "{screen}"
    );
    // Any other key means "stay".
    update(&mut s, key('j'));
    assert_eq!(s.review.quit, QuitRequest::None);
    update(&mut s, key('k'));

    // Asked again and confirmed: q q quits with the mark unsaved; the exit's last try (what
    // the event loop does on every way out) reports it.
    let fx = update(&mut s, key('q'));
    send_store(&worker, fx);
    assert!(!s.quit);
    let fx = update(&mut s, key('q'));
    assert!(s.quit && fx.iter().any(|e| matches!(e, Effect::Terminal(TerminalEffect::Quit))));
    assert_eq!(worker.finish(Duration::from_secs(5)), Some(1), "still locked at exit");
    assert_eq!(stored_status(&path, &id), None);
    // The store comes back before the process ends: the exit's try writes it.
    lock.release();
    assert_eq!(worker.finish(Duration::from_secs(5)), Some(0));
    assert_eq!(stored_status(&path, &id).as_deref(), Some("needs_follow_up"));
}

#[test]
fn a_quit_waiting_for_the_store_goes_ahead_once_the_marks_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("callscope.db");
    let (mut s, worker, mut rx) = started(&path);
    let id = s.list.selected().unwrap().id.to_string();
    let lock = Lock::take(&path);
    send_store(&worker, update(&mut s, key('R')));
    send_store(&worker, update(&mut s, key('q')));
    until(&mut s, &worker, &mut rx, 10, "the flush to fail", is_pending);
    assert!(!s.quit);
    assert_eq!(s.review.quit, QuitRequest::Warned);
    lock.release();
    until(&mut s, &worker, &mut rx, 15, "the write", is_saved);
    assert!(s.quit, "the quit that waited goes ahead");
    assert_eq!(stored_status(&path, &id).as_deref(), Some("reviewed"));
}

#[test]
fn without_pending_marks_q_quits_at_once() {
    let mut s = state(120, 40);
    started_with(&mut s, page(0..5, None, true));
    let fx = update(&mut s, key('q'));
    assert!(s.quit && fx.iter().any(|e| matches!(e, Effect::Terminal(TerminalEffect::Quit))));
}

#[test]
fn snapshot_pending_mark() {
    let mut s = state(120, 24);
    started_with(&mut s, page(0..8, None, true));
    update(&mut s, key('R'));
    update(&mut s, key('!'));
    update(&mut s, key('4'));
    update(
        &mut s,
        Msg::MarksPending {
            error: "the local store is locked by another process (/home/me/.local/share/callscope/callscope.db)".into(),
            retry_in: Duration::from_secs(2),
        },
    );
    assert_snapshot!("pending_mark_row_detail_header", render(&s));
}

#[test]
fn answers_confirm_changes_in_order_and_loaded_marks_keep_pending_ones_on_top() {
    use callscope::domain::{Marks, ReviewStatus};
    let mut s = state(120, 40);
    started_with(&mut s, page(0..5, None, true));
    let id = s.list.selected().unwrap().id.to_string();
    let conv_key = origin().key(id.as_str());
    let seqs: Vec<u64> = [key('R'), key('F')]
        .into_iter()
        .flat_map(|m| update(&mut s, m))
        .filter_map(|e| match e {
            Effect::Io(IoEffect::Store(StoreRequest::Change { seq, .. })) => Some(seq),
            _ => None,
        })
        .collect();
    assert_eq!(seqs.len(), 2);
    assert_eq!(s.review.get(&id).unwrap().status, ReviewStatus::NeedsFollowUp);
    // Marks read before the changes were written: the changes stay on top.
    update(
        &mut s,
        Msg::Marks {
            origin: origin(),
            marks: vec![(id.clone(), Marks::default())],
        },
    );
    assert_eq!(s.review.get(&id).unwrap().status, ReviewStatus::NeedsFollowUp);
    // The first is written: the second is still pending, shown on top of the stored marks.
    let reviewed = Marks {
        status: ReviewStatus::Reviewed,
        ..Marks::default()
    };
    update(
        &mut s,
        Msg::MarksSaved {
            key: conv_key.clone(),
            seq: seqs[0],
            result: Ok(reviewed.clone()),
        },
    );
    assert_eq!(s.review.unsaved(), 1);
    assert_eq!(s.review.get(&id).unwrap().status, ReviewStatus::NeedsFollowUp);
    let row = selected_row(&render(&s));
    assert!(row.contains("✓⧗") && !row.contains('↻'), "saved ✓ and pending: {row}");
    update(
        &mut s,
        Msg::MarksSaved {
            key: conv_key,
            seq: seqs[1],
            result: Ok(Marks {
                status: ReviewStatus::NeedsFollowUp,
                ..Marks::default()
            }),
        },
    );
    assert_eq!(s.review.unsaved(), 0);
    let row = selected_row(&render(&s));
    assert!(row.contains('↻') && !row.contains('⧗'), "{row}");
}
