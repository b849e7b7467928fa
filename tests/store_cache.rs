//! The store as a file: round trips, upsert rules, migration from v1, crash safety, and clear errors.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use callscope::api::Conversation;
use callscope::domain::{Filter, Origin, Scope};
use callscope::store::{CURRENT_VERSION, ListOrder, Store, StoreErrorKind, StoreOptions};
use serde_json::json;

fn origin() -> Origin {
    Origin::new("ws-1", "PROJECT-1", "live")
}

fn conv(id: &str, minute: u32, turns: &[(&str, &str)]) -> Conversation {
    let turns: Vec<_> = turns
        .iter()
        .enumerate()
        .map(|(i, (u, a))| json!({"user_input": u, "agent_response": a, "latency": 0.5 + i as f64, "intents": ["book_table"]}))
        .collect();
    serde_json::from_value(json!({
        "id": id, "account_id": "ws-1", "project_id": "PROJECT-1", "environment": "live",
        "started_at": format!("2026-04-01T09:{minute:02}:00Z"), "channel": "VOICE-SIP",
        "num_turns": turns.len(), "total_duration": 60 + minute, "handoff": minute.is_multiple_of(2),
        "turns": turns,
    }))
    .unwrap()
}

fn summary_of(c: &Conversation) -> Conversation {
    Conversation {
        turns: Vec::new(),
        ..c.clone()
    }
}

#[test]
fn round_trip_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/callscope.db");
    let full = conv("CA1", 1, &[("I'd like a table", "Sure, for how many?")]);
    {
        let mut store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), CURRENT_VERSION);
        assert_eq!(store.cache(&origin(), &[full.clone(), conv("CA2", 2, &[])]).unwrap(), 2);
    }
    let store = Store::open(&path).unwrap();
    let back = store.conversation(&origin().key("CA1")).unwrap().unwrap();
    assert_eq!(back, full);
    assert!(store.conversation(&origin().key("nope")).unwrap().is_none());
    // Same id in another environment is another conversation.
    assert!(
        store
            .conversation(&Origin::new("ws-1", "PROJECT-1", "sandbox").key("CA1"))
            .unwrap()
            .is_none()
    );
}

#[test]
fn summary_never_erases_a_cached_transcript() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("s.db")).unwrap();
    let full = conv("CA1", 1, &[("hello", "hi there"), ("bye", "goodbye")]);
    store.cache(&origin(), std::slice::from_ref(&full)).unwrap();
    // A later list page brings the summary (no turns) with a changed field.
    let mut summary = summary_of(&full);
    summary.handoff_reason = "billing".into();
    summary.in_progress = false;
    store.cache(&origin(), &[summary]).unwrap();
    let back = store.conversation(&origin().key("CA1")).unwrap().unwrap();
    assert_eq!(back.turns, full.turns, "transcript kept");
    assert_eq!(back.handoff_reason, "billing", "summary fields refreshed");
    let row = &store
        .list_page(
            &Scope::env("ws-1", "PROJECT-1", "live"),
            &Filter::default(),
            ListOrder::NewestFirst,
            None,
            10,
        )
        .unwrap()
        .rows[0];
    assert!(row.has_transcript && !row.transcript_hidden);
    assert_eq!(row.max_latency, Some(1.5));
    // Still searchable; a full refetch replaces the transcript and its index.
    let q = callscope::store::SearchQuery::new("goodbye");
    assert_eq!(store.search(&q).unwrap().len(), 1);
    store
        .cache(&origin(), &[conv("CA1", 1, &[("hello", "see you")])])
        .unwrap();
    assert!(store.search(&q).unwrap().is_empty());
    assert_eq!(
        store
            .search(&callscope::store::SearchQuery::new("see you"))
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn keyset_pages_cover_everything_once_in_both_orders() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("s.db")).unwrap();
    let convs: Vec<_> = (0..37).map(|i| conv(&format!("CA{i:02}"), i % 10, &[])).collect();
    store.cache(&origin(), &convs).unwrap();
    let scope = Scope::env("ws-1", "PROJECT-1", "live");
    for order in [ListOrder::NewestFirst, ListOrder::OldestFirst] {
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = store
                .list_page(&scope, &Filter::default(), order, after.as_ref(), 8)
                .unwrap();
            seen.extend(page.rows.iter().map(|r| (r.started_at.unwrap(), r.key.id.clone())));
            match page.next {
                Some(c) => after = Some(c),
                None => break,
            }
        }
        assert_eq!(seen.len(), 37);
        let mut sorted = seen.clone();
        sorted.sort();
        if order == ListOrder::NewestFirst {
            sorted.reverse();
        }
        assert_eq!(seen, sorted, "{order:?}");
    }
    let plan = store.explain_list(&scope, &Filter::parse("handoff").unwrap()).unwrap();
    assert!(
        plan.contains("conversations_list"),
        "list query must use its index:\n{plan}"
    );
    assert!(!plan.contains("TEMP B-TREE"), "no sort step:\n{plan}");
}

const V1_SQL: &str = "
CREATE TABLE conversations (
    pk INTEGER PRIMARY KEY, account TEXT NOT NULL, project TEXT NOT NULL, environment TEXT NOT NULL,
    id TEXT NOT NULL, started_at INTEGER NOT NULL, channel TEXT NOT NULL, total_duration INTEGER,
    num_turns INTEGER, handoff INTEGER NOT NULL, in_progress INTEGER NOT NULL, wire TEXT NOT NULL,
    fetched_at INTEGER NOT NULL, UNIQUE (account, project, environment, id));
CREATE INDEX conversations_list ON conversations (account, project, environment, started_at, id);
PRAGMA user_version = 1;";

#[test]
fn migrates_a_v1_store_keeping_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let old = conv("CA7", 7, &[("Réservation pour deux", "Très bien")]);
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(V1_SQL).unwrap();
        conn.execute(
            "INSERT INTO conversations (account, project, environment, id, started_at, channel, total_duration,
             num_turns, handoff, in_progress, wire, fetched_at) VALUES ('ws-1','PROJECT-1','live','CA7',?1,'VOICE-SIP',67,1,0,0,?2,0)",
            rusqlite::params![old.started_at.unwrap().timestamp_millis(), serde_json::to_string(&old).unwrap()],
        )
        .unwrap();
        // A row whose JSON no longer parses must not block the upgrade.
        conn.execute(
            "INSERT INTO conversations (account, project, environment, id, started_at, channel, total_duration,
             num_turns, handoff, in_progress, wire, fetched_at) VALUES ('ws-1','PROJECT-1','live','BAD',1,'CHAT',1,1,0,0,'{oops',0)",
            [],
        )
        .unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), CURRENT_VERSION);
    assert_eq!(store.conversation(&origin().key("CA7")).unwrap().unwrap(), old);
    // Derived columns and the search index were backfilled.
    let hits = store
        .search(&callscope::store::SearchQuery::new("reservation"))
        .unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].key.id, "CA7");
    let slow = Filter::parse("latency>0.4 intent:book_table").unwrap();
    assert_eq!(store.count(&Scope::everything(), &slow).unwrap(), 1);
    assert_eq!(store.count(&Scope::everything(), &Filter::default()).unwrap(), 2);
}

#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("future.db");
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch("PRAGMA user_version = 99;")
        .unwrap();
    let err = Store::open(&path).err().unwrap();
    assert_eq!(err.kind, StoreErrorKind::NewerSchema);
    assert!(err.to_string().contains("schema version 99"), "{err}");
}

#[test]
fn corrupt_file_is_a_clear_error_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("junk.db");
    let junk: Vec<u8> = (0..8192u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&path, &junk).unwrap();
    let err = Store::open(&path).expect_err("random bytes must not open");
    assert_eq!(err.kind, StoreErrorKind::Corrupt, "{err}");
    let text = err.to_string();
    assert!(text.contains("junk.db") && text.contains("hint:"), "{text}");
    assert_eq!(std::fs::read(&path).unwrap(), junk, "the file is not modified");
}

#[test]
fn directory_path_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = Store::open(dir.path()).err().unwrap();
    assert_eq!(err.kind, StoreErrorKind::CannotOpen);
    assert!(err.to_string().contains("directory"), "{err}");
}

#[cfg(unix)]
#[test]
fn read_only_location_is_a_clear_error() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    let path = ro.join("callscope.db");
    Store::open(&path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    // Root ignores permission bits (CI runs as root): then use a place no one can write instead.
    let root = std::fs::OpenOptions::new().append(true).open(&path).is_ok();
    let target = if root {
        std::path::PathBuf::from("/proc/callscope-test/callscope.db")
    } else {
        path.clone()
    };
    let result = Store::open(&target).and_then(|mut s| s.cache(&origin(), &[conv("CA1", 1, &[])]));
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
    let err = result.expect_err("writing to a read-only location must fail");
    assert!(
        matches!(err.kind, StoreErrorKind::ReadOnly | StoreErrorKind::CannotOpen),
        "{:?}: {err}",
        err.kind
    );
    let text = err.to_string();
    assert!(text.contains("callscope.db") && text.contains("hint:"), "{text}");
}

#[test]
fn locked_database_waits_then_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    Store::open(&path).unwrap();
    let holder = rusqlite::Connection::open(&path).unwrap();
    holder
        .execute_batch("BEGIN EXCLUSIVE; INSERT INTO conversation_flags VALUES ('a','b','c','d','x');")
        .unwrap();
    let options = StoreOptions {
        busy_timeout: Duration::from_millis(200),
    };
    let started = std::time::Instant::now();
    let err = Store::open_with(&path, &options)
        .and_then(|mut s| s.cache(&origin(), &[conv("CA1", 1, &[])]))
        .expect_err("a write must fail while another connection holds the lock");
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "the busy timeout was honoured"
    );
    assert_eq!(err.kind, StoreErrorKind::Locked, "{err}");
    assert!(err.to_string().contains("another callscope"), "{err}");
    holder.execute_batch("ROLLBACK").unwrap();
    let mut store = Store::open_with(&path, &options).unwrap();
    assert_eq!(store.cache(&origin(), &[conv("CA1", 1, &[])]).unwrap(), 1);
}

const CHILD_ENV: &str = "CALLSCOPE_STORE_CRASH_CHILD";

/// Run only as the child of `killed_writer_loses_nothing_committed`: commits 20 rows, then starts
/// a transaction with 20 more, says READY and waits to be killed.
#[test]
#[ignore = "helper process for killed_writer_loses_nothing_committed"]
fn crash_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else { return };
    let mut store = Store::open(std::path::Path::new(&path)).unwrap();
    let committed: Vec<_> = (0..20)
        .map(|i| conv(&format!("OK{i}"), i, &[("kept", "yes")]))
        .collect();
    store.cache(&origin(), &committed).unwrap();
    let mut batch = store.batch().unwrap();
    for i in 0..20 {
        batch
            .upsert(&origin(), &conv(&format!("LOST{i}"), i, &[("uncommitted", "no")]))
            .unwrap();
    }
    println!("READY");
    std::io::Write::flush(&mut std::io::stdout()).unwrap();
    std::thread::sleep(Duration::from_secs(60));
    batch.commit().unwrap();
}

#[test]
fn killed_writer_loses_nothing_committed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.db");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let ready = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .any(|l| l.contains("READY"));
    assert!(ready, "child never reached its open transaction");
    child.kill().unwrap(); // SIGKILL: no destructors, no rollback, the WAL has uncommitted frames
    child.wait().unwrap();
    let store = Store::open(&path).unwrap();
    assert_eq!(store.count(&Scope::everything(), &Filter::default()).unwrap(), 20);
    for i in 0..20 {
        assert!(store.conversation(&origin().key(format!("OK{i}"))).unwrap().is_some());
        assert!(store.conversation(&origin().key(format!("LOST{i}"))).unwrap().is_none());
    }
    assert_eq!(
        store.search(&callscope::store::SearchQuery::new("kept")).unwrap().len(),
        20
    );
    assert!(
        store
            .search(&callscope::store::SearchQuery::new("uncommitted"))
            .unwrap()
            .is_empty()
    );
}
