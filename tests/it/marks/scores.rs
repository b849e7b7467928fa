//! Marks file version 3 carries scorecard saves, through the real binary and real stores:
//! `marks export` writes every save, `marks import` adds those the store lacks (a save is the
//! same when its scorecard, reviewer and time are), `--dry-run` lists exactly those and writes
//! nothing, an older save never displaces a newer current one, and version 2 files still import.

use std::path::Path;

use callscope::domain::scores::current;
use callscope::domain::{ConversationKey, Origin, ScoreAnswer, ScoreRecord};
use callscope::store::Store;

use super::{export, import, live};
use crate::support::scores::voice_qa_save;
use crate::support::{callscope_in, text};

fn save(who: &str, at_ms: i64, score: f64) -> ScoreRecord {
    let answer = ScoreAnswer {
        answer: "yes".into(),
        comment: format!("{who} at {at_ms}"),
        turn: None,
    };
    voice_qa_save(who, at_ms, score, "greeting", answer)
}

/// (reviewer, at_ms, score) of every save, oldest first.
type All = Vec<(String, i64, f64)>;
/// (reviewer, score) of the current saves.
type Current = Vec<(String, f64)>;

/// Every save of `key` and the current ones.
fn saves(db: &Path, key: &ConversationKey) -> (All, Current) {
    let all = Store::open(db).unwrap().scores(key).unwrap();
    let cur = current(&all)
        .into_iter()
        .map(|r| (r.reviewer.clone(), r.score.unwrap()))
        .collect();
    (
        all.iter()
            .map(|r| (r.reviewer.clone(), r.at_ms, r.score.unwrap()))
            .collect(),
        cur,
    )
}

#[test]
fn a_v3_file_carries_the_saves_and_import_adds_only_the_missing_ones() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    // Bob's store: two saves of CA1 and one of CA3 (a call with no other mark).
    let bob_db = h.join("bob.db");
    {
        let mut bob = Store::open(&bob_db).unwrap();
        bob.set_reviewer("bob@acme");
        bob.set_status(&live("CA1"), callscope::domain::ReviewStatus::Reviewed)
            .unwrap();
        bob.save_score(&live("CA1"), &save("bob@acme", 1_000, 60.0)).unwrap();
        bob.save_score(&live("CA1"), &save("bob@acme", 3_000, 80.0)).unwrap();
        bob.save_score(&live("CA3"), &save("bob@acme", 1_500, 90.0)).unwrap();
    }
    let file = h.join("bob.json");
    let json = export(h, &bob_db, &file);
    assert_eq!(json["version"], 3);
    let entry = |id: &str| {
        json["conversations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("{id} exported"))
            .clone()
    };
    assert_eq!(entry("CA1")["scores"].as_array().unwrap().len(), 2);
    assert_eq!(
        entry("CA3")["scores"][0]["answers"]["greeting"]["comment"],
        "bob@acme at 1500"
    );

    // Mine: alice's own save, bob's first save (imported before), and a newer save by bob
    // than any in his file (made on another machine).
    let mine = h.join("mine.db");
    {
        let mut me = Store::open(&mine).unwrap();
        let calls: Vec<callscope::api::Conversation> = ["CA1", "CA3"]
            .iter()
            .map(|id| {
                serde_json::from_str(&format!(
                    r#"{{"id":"{id}","channel":"VOICE-SIP","environment":"live","started_at":"2026-11-01T10:00:00Z"}}"#
                ))
                .unwrap()
            })
            .collect();
        me.cache(&Origin::new("ws-demo", "PROJECT-demo", "live"), &calls)
            .unwrap();
        me.save_score(&live("CA1"), &save("alice@acme", 5_000, 50.0)).unwrap();
        me.save_score(&live("CA1"), &save("bob@acme", 1_000, 60.0)).unwrap();
        me.save_score(&live("CA1"), &save("bob@acme", 4_000, 20.0)).unwrap();
    }
    let before = (saves(&mine, &live("CA1")), saves(&mine, &live("CA3")));
    let (dry, dry_summary) = import(h, &file, &mine, true);
    assert_eq!(
        (saves(&mine, &live("CA1")), saves(&mine, &live("CA3"))),
        before,
        "nothing written"
    );
    let adds: Vec<&String> = dry.iter().filter(|l| l.contains(" would add ")).collect();
    assert_eq!(
        adds.len(),
        2,
        "bob's 80 on CA1 and 90 on CA3, not the 60 I have: {dry:?}"
    );
    assert!(
        adds.iter()
            .any(|l| l.starts_with("CA1 [live] would add scorecard voice-qa: 80 (bob@acme, 1970-01-01 00:00:03 UTC)")),
        "{dry:?}"
    );
    assert!(
        adds.iter()
            .any(|l| l.starts_with("CA3 [live] would add scorecard voice-qa: 90 (bob@acme, ")),
        "{dry:?}"
    );
    assert!(
        dry_summary.contains("2 scorecard saves would be added, 1 already here"),
        "{dry_summary}"
    );

    let (real, summary) = import(h, &file, &mine, false);
    let as_done: Vec<String> = dry.iter().map(|l| l.replacen(" would add ", " added ", 1)).collect();
    let real_adds: Vec<String> = real.iter().filter(|l| l.contains(" added ")).cloned().collect();
    assert_eq!(
        as_done
            .into_iter()
            .filter(|l| l.contains(" added "))
            .collect::<Vec<_>>(),
        real_adds
    );
    assert!(summary.contains("2 scorecard saves added, 1 already here"), "{summary}");
    let (all, cur) = saves(&mine, &live("CA1"));
    assert_eq!(
        all,
        [
            ("bob@acme".into(), 1_000, 60.0),
            ("bob@acme".into(), 3_000, 80.0),
            ("bob@acme".into(), 4_000, 20.0),
            ("alice@acme".into(), 5_000, 50.0)
        ]
    );
    assert_eq!(
        cur,
        [("alice@acme".into(), 50.0), ("bob@acme".into(), 20.0)],
        "bob's older 80 does not displace his newer 20"
    );
    assert_eq!(saves(&mine, &live("CA3")).1, [("bob@acme".to_string(), 90.0)]);
    // The filters read the current saves too: CA1's lowest current score is bob's 20 (his
    // older 80 from the file is not current), CA3's is 90.
    let out = callscope_in(
        h,
        &[
            "export",
            "--filter",
            "qa<30",
            "--since",
            "36600d",
            "--store",
            mine.to_str().unwrap(),
            "--account-id",
            "ws-demo",
            "--project-id",
            "PROJECT-demo",
            "--env",
            "live",
            "--format",
            "jsonl",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let ids = crate::support::jsonl_ids(&text(&out.stdout));
    assert_eq!(ids, ["CA1"]);

    // Again: nothing more.
    let (again, again_summary) = import(h, &file, &mine, false);
    assert!(!again.iter().any(|l| l.contains(" added ")), "{again:?}");
    assert!(
        again_summary.contains("0 scorecard saves added, 3 already here"),
        "{again_summary}"
    );
}

#[test]
fn a_bad_save_rejects_the_file_and_version_2_files_still_import() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let mine = h.join("mine.db");
    Store::open(&mine)
        .unwrap()
        .save_score(&live("CA1"), &save("alice@acme", 5_000, 50.0))
        .unwrap();
    let file = h.join("bad.json");
    std::fs::write(
        &file,
        r#"{"format": "callscope.marks", "version": 3, "conversations": [
            {"account": "ws-demo", "project": "PROJECT-demo", "environment": "live", "id": "CA2",
             "scores": [{"scorecard": "voice-qa", "reviewer": "bob@acme", "at_ms": 1, "answers": {}, "score": 50, "auto_failed": false}]},
            {"account": "ws-demo", "project": "PROJECT-demo", "environment": "live", "id": "CA1",
             "scores": [{"scorecard": "voice-qa", "reviewer": "bob@acme", "at_ms": 2, "answers": {}, "score": 101, "auto_failed": false}]}]}"#,
    )
    .unwrap();
    let out = callscope_in(
        h,
        &[
            "marks",
            "import",
            file.to_str().unwrap(),
            "--store",
            mine.to_str().unwrap(),
        ],
    );
    assert_ne!(out.status.code(), Some(0));
    let err = text(&out.stderr);
    assert!(err.contains("conversations[1]") && err.contains("0 to 100"), "{err}");
    assert!(
        saves(&mine, &live("CA2")).0.is_empty(),
        "the first entry was rolled back too"
    );

    // Version 2 (marks with their authors, no scores).
    let v2 = h.join("v2.json");
    std::fs::write(
        &v2,
        r#"{"format": "callscope.marks", "version": 2, "exported_at": "2026-01-02T03:04:05Z",
        "conversations": [{"account": "ws-demo", "project": "PROJECT-demo", "environment": "live", "id": "CA1",
            "note": "from v2", "fields": [{"field": "note", "reviewer": "bob@acme", "at_ms": 1767322800000}]}]}"#,
    )
    .unwrap();
    let (lines, summary) = import(h, &v2, &mine, false);
    assert!(
        summary.contains("1 field changed in 1 conversation"),
        "{summary}\n{lines:?}"
    );
    assert!(!summary.contains("scorecard"), "no scores in a v2 file: {summary}");
    assert_eq!(Store::open(&mine).unwrap().marks(&live("CA1")).unwrap().note, "from v2");
    assert_eq!(saves(&mine, &live("CA1")).0.len(), 1, "my save untouched");
}
