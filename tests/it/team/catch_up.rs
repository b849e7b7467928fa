//! A long team history does not stand between the user and the first screen: the team store
//! opens without reading it, the store worker reads it a page at a time from its first sync on,
//! the first list page's marks are answered between two pages, and every teammate's change
//! arrives in the end, merged as one read would have.

use crate::support::team::{TestDb, runtime};
use crate::support::tui::*;

use std::time::{Duration, Instant};

use callscope::app::{Effect, IoEffect, Msg, update};
use callscope::store::Store;
use callscope::team::pull::PAGE;

/// Bob's history: `NOTES` notes on each of `CONVERSATIONS` calls, the last of each the newest.
const CONVERSATIONS: usize = 2_000;
const NOTES: usize = 10;
const _: () = assert!(CONVERSATIONS * NOTES > 3 * PAGE, "the history takes several pages");

fn bobs_note(conversation: usize) -> String {
    format!("bob {}", (NOTES - 1) * CONVERSATIONS + conversation)
}

/// Writes bob's history straight into the team database, as his store would have sent it.
fn seed_history(db: &TestDb, ids: &[String]) {
    runtime().block_on(async {
        let c = callscope::team::conn::connect(&db.section(), &callscope::config::process_env)
            .await
            .unwrap();
        let n = (CONVERSATIONS * NOTES) as i64;
        let rows = c
            .execute(
                "INSERT INTO mark_changes (change_id, origin, account, project, environment,
                     conversation_id, field, before, after, reviewer, at_ms)
                 SELECT 'bob-' || i, 'bob-origin', 'ws-demo', 'PROJECT-demo', 'live',
                        ($1::text[])[i % array_length($1::text[], 1) + 1], 'note', NULL, 'bob ' || i,
                        'bob@acme', 1700000000000 + i
                 FROM generate_series(0, $2::bigint - 1) i",
                &[&ids, &n],
            )
            .await
            .unwrap();
        assert_eq!(rows, n as u64);
    });
}

fn send_store(worker: &callscope::tui::store_worker::StoreWorker, fx: Vec<Effect>) {
    for e in fx {
        if let Effect::Io(IoEffect::Store(r)) = e {
            worker.send(r);
        }
    }
}

#[test]
fn the_first_page_comes_while_a_long_team_history_is_still_being_read() {
    let Some(db) = TestDb::initialised("team_catch_up") else {
        return;
    };
    let ids: Vec<String> = (0..CONVERSATIONS).map(|i| conv(i, false).id).collect();
    seed_history(&db, &ids);

    let path = db.dir.path().join("alice.db");
    let mut local = Store::open(&path).unwrap();
    local.set_reviewer("alice@acme");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let t0 = Instant::now();
    let worker = callscope::tui::team::spawn_worker(local, Some(&db.section()), tx).unwrap();
    eprintln!("the team store opened in {:?}", t0.elapsed());

    let mut s = state(120, 40);
    let fx = started_with(&mut s, page(0..10, None, true));
    send_store(&worker, fx);

    // The worker's answers in its order: the first page's marks, and each sync's report.
    let mut marks_answered_behind = None;
    let mut most_behind = 0;
    let mut pages = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    let first_page_ids = &ids[..10];
    loop {
        let caught_up = pages > 0 && s.team.behind == 0;
        let shown = first_page_ids
            .iter()
            .enumerate()
            .all(|(i, id)| s.review.get(id).is_some_and(|m| m.note == bobs_note(i)));
        if caught_up && shown {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "timed out: {pages} syncs, {} still to read, first page shown: {shown}",
            s.team.behind
        );
        let Ok(msg) = rx.try_recv() else {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        };
        match &msg {
            Msg::Marks { .. } if marks_answered_behind.is_none() => {
                marks_answered_behind = Some((pages, s.team.behind));
                eprintln!(
                    "the first page's marks after {:?}, {pages} syncs in, {} still to read",
                    t0.elapsed(),
                    s.team.behind
                );
            }
            Msg::TeamSynced { behind, error, .. } => {
                assert_eq!(error, &None);
                pages += 1;
                most_behind = most_behind.max(*behind);
            }
            _ => {}
        }
        let fx = update(&mut s, msg);
        send_store(&worker, fx);
        if s.team.behind > 0 {
            let header = render(&s).lines().next().unwrap_or_default().to_string();
            let progress = format!("reading {} from the team", s.team.behind);
            assert!(header.contains(&progress), "{header}");
        }
    }
    eprintln!("caught up after {:?} and {pages} syncs", t0.elapsed());

    let (syncs_before, behind_then) = marks_answered_behind.expect("the first page's marks were answered");
    assert!(
        syncs_before < pages && behind_then > 0,
        "the first page's marks were answered after {syncs_before} of {pages} syncs, with {behind_then} left: \
         they must not wait for the whole history"
    );
    assert!(
        most_behind >= (CONVERSATIONS * NOTES - PAGE) as u64 / 2,
        "progress was reported: {most_behind}"
    );
    assert!(
        pages as usize >= CONVERSATIONS * NOTES / PAGE,
        "one page per exchange: {pages} syncs"
    );
    assert!(
        !render(&s).lines().next().unwrap().contains("reading"),
        "caught up: no progress shown"
    );

    // Every change arrived, once, and each call has bob's newest note.
    let check = Store::open(&path).unwrap();
    for (i, id) in ids.iter().enumerate() {
        let key = origin().key(id.as_str());
        assert_eq!(check.marks(&key).unwrap().note, bobs_note(i), "{id}");
        assert_eq!(check.history(&key).unwrap().len(), NOTES, "{id}");
    }
}
