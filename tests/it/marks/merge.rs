//! `marks import` merges field by field through the real binary: a colleague's older file
//! leaves newer marks in place, `--dry-run` lists exactly the changes and writes nothing,
//! version-1 files still import, and a round trip keeps marks and their authors.

use std::path::Path;
use std::time::Duration;

use callscope::domain::{ConversationKey, ReviewStatus, Thumbs, TurnRating};
use callscope::domain::{MarkField, Stamp};
use callscope::store::Store;

use super::{export, import, live};

fn open_as(path: &Path, reviewer: &str) -> Store {
    let mut s = Store::open(path).unwrap();
    s.set_reviewer(reviewer);
    s
}

/// Milliseconds apart, so "newer" never depends on two writes sharing a millisecond.
fn tick() {
    std::thread::sleep(Duration::from_millis(5));
}

/// Everything the store holds about `key`, to compare before and after.
fn snapshot(db: &Path, key: &ConversationKey) -> (callscope::domain::Marks, usize) {
    let s = Store::open(db).unwrap();
    (s.marks(key).unwrap(), s.history(key).unwrap().len())
}

/// Bob marks CA1 and CA2 and exports; later, I mark CA1 differently. His file is older.
fn bobs_older_file(h: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let bob_db = h.join("bob.db");
    let mine = h.join("mine.db");
    {
        let mut bob = open_as(&bob_db, "bob@acme");
        bob.set_status(&live("CA1"), ReviewStatus::Reviewed).unwrap();
        bob.set_note(&live("CA1"), "bob: fine").unwrap();
        bob.toggle_flag(&live("CA1"), "compliance").unwrap();
        bob.set_status(&live("CA2"), ReviewStatus::NeedsFollowUp).unwrap();
    }
    let file = h.join("bob.json");
    export(h, &bob_db, &file);
    tick();
    let mut me = open_as(&mine, "alice@acme");
    me.set_status(&live("CA1"), ReviewStatus::NeedsFollowUp).unwrap();
    me.set_note(&live("CA1"), "alice: call back").unwrap();
    (file, mine)
}

#[test]
fn a_colleagues_older_file_leaves_my_newer_marks_in_place() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let (file, mine) = bobs_older_file(h);
    let (lines, summary) = import(h, &file, &mine, false);
    let s = Store::open(&mine).unwrap();
    let ca1 = s.marks(&live("CA1")).unwrap();
    assert_eq!(ca1.status, ReviewStatus::NeedsFollowUp, "my newer status stays");
    assert_eq!(ca1.note, "alice: call back", "my newer note stays");
    assert!(
        ca1.flags.contains("compliance"),
        "his flag, which I never touched, is taken"
    );
    assert_eq!(s.marks(&live("CA2")).unwrap().status, ReviewStatus::NeedsFollowUp);
    // The taken changes keep bob as their author.
    let stamps = s.stamps(&live("CA1")).unwrap();
    assert_eq!(stamps[&MarkField::Flag("compliance".into())].reviewer, "bob@acme");
    assert_eq!(stamps[&MarkField::Status].reviewer, "alice@acme");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("CA1 [live] kept status: needs follow-up (alice@acme, ")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("CA1 [live] kept note: \"alice: call back\"")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("CA1 [live] changed flag compliance: cleared → set (bob@acme, ")),
        "{lines:?}"
    );
    assert!(
        summary.contains("2 fields changed in 2 conversations, 2 kept (newer here), 0 already equal"),
        "{summary}"
    );

    // Importing the same file again changes nothing more.
    let (_, again) = import(h, &file, &mine, false);
    assert!(
        again.contains("0 fields changed in 0 conversations, 2 kept (newer here), 2 already equal"),
        "{again}"
    );
}

#[test]
fn dry_run_lists_exactly_the_changes_and_writes_nothing() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let (file, mine) = bobs_older_file(h);
    let before = [snapshot(&mine, &live("CA1")), snapshot(&mine, &live("CA2"))];
    let (dry, dry_summary) = import(h, &file, &mine, true);
    assert_eq!(
        [snapshot(&mine, &live("CA1")), snapshot(&mine, &live("CA2"))],
        before,
        "nothing written"
    );
    assert!(
        dry_summary.starts_with("would import marks of 2 conversations"),
        "{dry_summary}"
    );
    assert!(dry_summary.ends_with("(dry run: nothing written)"), "{dry_summary}");
    let (real, summary) = import(h, &file, &mine, false);
    // The same lines, with "would change" for "changed": exactly what the import then did.
    let as_done: Vec<String> = dry
        .iter()
        .map(|l| l.replacen(" would change ", " changed ", 1))
        .collect();
    assert_eq!(as_done, real);
    assert_eq!(
        dry_summary
            .replacen("would import", "imported", 1)
            .replacen("would change", "changed", 1)
            .replace(" (dry run: nothing written)", ""),
        summary
    );
    let changed: Vec<&String> = real.iter().filter(|l| l.contains(" changed ")).collect();
    assert_eq!(changed.len(), 2, "{real:?}");
    assert!(
        changed
            .iter()
            .any(|l| l.starts_with("CA2 [live] changed status: new → needs follow-up (bob@acme, "))
    );
    // A dry run into a store that does not exist creates none.
    let fresh = h.join("fresh.db");
    let (lines, _) = import(h, &file, &fresh, true);
    assert_eq!(
        lines.iter().filter(|l| l.contains("would change")).count(),
        4,
        "{lines:?}"
    );
    assert!(!fresh.exists());
}

#[test]
fn version_1_files_import_as_changes_by_unknown_at_their_export_time() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let mine = h.join("mine.db");
    open_as(&mine, "alice@acme")
        .set_note(&live("CA1"), "alice: newer")
        .unwrap();
    let file = h.join("v1.json");
    // As version 1 wrote it: the header, `exported_at` included, before the entries.
    let v1 = r#"{"format": "callscope.marks", "version": 1, "exported_at": "2026-01-02T03:04:05Z",
        "conversations": [{"account": "ws-demo", "project": "PROJECT-demo", "environment": "live", "id": "CA1",
            "status": "reviewed", "note": "old note", "turns": [{"turn": 2, "thumbs": "up"}]}]}"#;
    std::fs::write(&file, v1).unwrap();
    let (lines, summary) = import(h, &file, &mine, false);
    assert!(
        summary.contains("2 fields changed in 1 conversation, 1 kept"),
        "{summary}\n{lines:?}"
    );
    let s = Store::open(&mine).unwrap();
    let m = s.marks(&live("CA1")).unwrap();
    assert_eq!((m.status, m.note.as_str()), (ReviewStatus::Reviewed, "alice: newer"));
    assert_eq!(
        m.turns[&2],
        TurnRating {
            thumbs: Thumbs::Up,
            reason: None,
            comment: String::new()
        }
    );
    let exported = chrono::DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
        .unwrap()
        .timestamp_millis();
    let stamps = s.stamps(&live("CA1")).unwrap();
    assert_eq!(
        stamps[&MarkField::Status],
        Stamp {
            reviewer: "unknown".into(),
            at_ms: exported
        }
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("changed status: new → reviewed (unknown, 2026-01-02 03:04:05 UTC)")),
        "{lines:?}"
    );
}

#[test]
fn a_round_trip_into_an_empty_store_reproduces_marks_and_authors() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let (bobs, mine) = bobs_older_file(h);
    import(h, &bobs, &mine, false);
    // A clear travels too: the flag I remove must stay removed where the file goes.
    tick();
    open_as(&mine, "alice@acme")
        .toggle_flag(&live("CA1"), "compliance")
        .unwrap();
    let file = h.join("mine.json");
    let doc = export(h, &mine, &file);
    assert_eq!(doc["version"], 3);
    let empty = h.join("empty.db");
    import(h, &file, &empty, false);
    let (a, b) = (Store::open(&mine).unwrap(), Store::open(&empty).unwrap());
    for id in ["CA1", "CA2"] {
        assert_eq!(a.marks(&live(id)).unwrap(), b.marks(&live(id)).unwrap(), "{id}");
        assert_eq!(a.stamps(&live(id)).unwrap(), b.stamps(&live(id)).unwrap(), "{id}");
    }
    // And the colleague who had the flag set loses it on importing mine (my clear is newer).
    let bob_db = h.join("bob.db");
    import(h, &file, &bob_db, false);
    assert!(
        Store::open(&bob_db)
            .unwrap()
            .marks(&live("CA1"))
            .unwrap()
            .flags
            .is_empty()
    );
}

#[test]
fn history_rows_cannot_be_changed_or_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    open_as(&db, "alice@acme")
        .set_status(&live("CA1"), ReviewStatus::Reviewed)
        .unwrap();
    let conn = rusqlite::Connection::open(&db).unwrap();
    for sql in [
        "UPDATE mark_history SET reviewer = 'mallory'",
        "DELETE FROM mark_history",
    ] {
        let e = conn.execute(sql, []).unwrap_err().to_string();
        assert!(e.contains("append-only"), "{sql}: {e}");
    }
    let n: i64 = conn
        .query_row("SELECT count(*) FROM mark_history", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
}
