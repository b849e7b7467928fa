//! `callscope marks export|import` through the real binary, against temp stores.

use std::path::Path;

use callscope::domain::{ConversationKey, Marks, Origin, RatingReason, ReviewStatus, Thumbs, TurnRating};
use callscope::store::Store;

use crate::support::{callscope_in, text};

fn live(id: &str) -> ConversationKey {
    crate::support::tui::origin().key(id)
}

fn sandbox(id: &str) -> ConversationKey {
    Origin::new("ws-demo", "PROJECT-demo", "sandbox").key(id)
}

fn rated() -> Marks {
    Marks {
        status: ReviewStatus::Reviewed,
        flags: ["wrong_info".to_string()].into(),
        note: "agent quoted the old price".into(),
        turns: [
            (
                1,
                TurnRating {
                    thumbs: Thumbs::Down,
                    reason: Some(RatingReason::WrongInformation),
                    comment: "we close at ten".into(),
                },
            ),
            (
                3,
                TurnRating {
                    thumbs: Thumbs::Up,
                    reason: None,
                    comment: String::new(),
                },
            ),
        ]
        .into(),
    }
}

fn follow_up() -> Marks {
    Marks {
        status: ReviewStatus::NeedsFollowUp,
        ..Marks::default()
    }
}

/// A store with marks on two live conversations and one sandbox conversation.
fn seeded(path: &Path) {
    let mut s = Store::open(path).unwrap();
    s.set_marks(&live("CA1"), &rated()).unwrap();
    s.set_marks(&live("CA2"), &follow_up()).unwrap();
    s.set_marks(&sandbox("CA9"), &follow_up()).unwrap();
}

#[test]
fn export_then_import_into_a_fresh_store_round_trips() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let a = h.join("a.db");
    seeded(&a);

    // stdout by default.
    let out = callscope_in(h, &["marks", "export", "--store", a.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["format"], "callscope.marks");
    assert_eq!(doc["conversations"].as_array().unwrap().len(), 3);
    assert!(text(&out.stderr).contains("exported marks of 3 conversations"));

    // --out, scoped to one environment, written atomically (no partial file left behind).
    let file = h.join("shared/marks.json");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let out = callscope_in(
        h,
        &[
            "marks",
            "export",
            "--store",
            a.to_str().unwrap(),
            "--env",
            "live",
            "--out",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty(), "the file, not stdout");
    let entries: Vec<String> = std::fs::read_dir(file.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(entries, ["marks.json"]);

    // Import into a store that does not exist yet.
    let b = h.join("new/b.db");
    let out = callscope_in(
        h,
        &[
            "marks",
            "import",
            file.to_str().unwrap(),
            "--store",
            b.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(
        said.contains("imported marks of 2 conversations")
            && said.contains("1 reviewed, 1 needing follow-up, 1 flagged, 1 with a note, 2 turn ratings"),
        "{said}"
    );
    let b = Store::open(&b).unwrap();
    assert_eq!(b.marks(&live("CA1")).unwrap(), rated());
    assert_eq!(b.marks(&live("CA2")).unwrap(), follow_up());
    assert!(
        b.marks(&sandbox("CA9")).unwrap().is_empty(),
        "outside the exported scope"
    );
}

#[test]
fn a_malformed_file_is_refused_and_changes_nothing() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let db = h.join("b.db");
    seeded(&db);
    let good = Store::open(&db).unwrap().export_marks(None).unwrap();
    // A file that would change CA1 but carries an unknown rating reason further down.
    let bad_reason = good
        .replacen("\"agent quoted the old price\"", "\"overwritten\"", 1)
        .replacen("\"wrong_information\"", "\"rude\"", 1);
    assert_ne!(bad_reason, good);
    let cases = [
        ("not-json.json", "{ this is not json", "not valid JSON"),
        (
            "foreign.json",
            r#"{"format":"something.else","version":1,"conversations":[]}"#,
            "not a callscope marks file",
        ),
        (
            "future.json",
            r#"{"format":"callscope.marks","version":9,"conversations":[]}"#,
            "unsupported version 9",
        ),
        ("bad-reason.json", bad_reason.as_str(), "rude"),
    ];
    for (name, body, why) in cases {
        let file = h.join(name);
        std::fs::write(&file, body).unwrap();
        let out = callscope_in(
            h,
            &[
                "marks",
                "import",
                file.to_str().unwrap(),
                "--store",
                db.to_str().unwrap(),
            ],
        );
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {err}");
        assert!(
            err.contains("marks file rejected") && err.contains(why),
            "{name}: {err}"
        );
        assert!(err.contains("nothing was changed"), "{name}: {err}");
        assert!(out.stdout.is_empty());
        let store = Store::open(&db).unwrap();
        assert_eq!(store.marks(&live("CA1")).unwrap(), rated(), "{name}");
        assert_eq!(store.marks(&live("CA2")).unwrap(), follow_up(), "{name}");
        // Into a store that does not exist: not even an empty file is created.
        let fresh = h.join(format!("fresh-{name}.db"));
        let out = callscope_in(
            h,
            &[
                "marks",
                "import",
                file.to_str().unwrap(),
                "--store",
                fresh.to_str().unwrap(),
            ],
        );
        assert_eq!(out.status.code(), Some(1));
        assert!(!fresh.exists(), "{name}");
    }
}

#[test]
fn export_from_a_missing_store_says_what_to_do() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let missing = h.join("nope.db");
    let out = callscope_in(h, &["marks", "export", "--store", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("no local store at") && err.contains("--store PATH"),
        "{err}"
    );
    assert!(!missing.exists());
    // Without --store the default lives under the (temp) data dir.
    let out = callscope_in(h, &["marks", "export"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("data/callscope/callscope.db"));
}
