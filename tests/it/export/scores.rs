//! Saved scorecards in the store export: `export --filter "qa<70"` (and `scored`) through the
//! binary, from a real store file, in JSONL, CSV and Markdown; the API is never contacted.

use std::process::Command;

use callscope::domain::Origin;
use callscope::store::Store;

use crate::support::scores::correct_information_save;

#[test]
fn qa_filtered_exports_carry_the_current_scores_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("review.db");
    let origin = Origin::new("ws-x", "P-x", "live");
    let mut store = Store::open(&db).unwrap();
    let calls: Vec<callscope::api::Conversation> = ["CA1", "CA2", "CA3"]
        .iter()
        .enumerate()
        .map(|(i, id)| {
            serde_json::from_str(&format!(
                r#"{{"id":"{id}","channel":"VOICE-SIP","environment":"live","started_at":"2026-11-0{}T10:00:00Z","turns":[{{"user_input":"hi","agent_response":"hello"}}]}}"#,
                i + 1
            ))
            .unwrap()
        })
        .collect();
    store.cache(&origin, &calls).unwrap();
    // CA1: ann 40 then 85 (current 85) and bob 0 (auto-fail). CA2: ann 95. CA3: never scored.
    store
        .save_score(&origin.key("CA1"), &correct_information_save("ann", 1_000, 40.0))
        .unwrap();
    store
        .save_score(&origin.key("CA1"), &correct_information_save("bob", 2_000, 0.0))
        .unwrap();
    store
        .save_score(&origin.key("CA1"), &correct_information_save("ann", 3_000, 85.0))
        .unwrap();
    store
        .save_score(&origin.key("CA2"), &correct_information_save("ann", 4_000, 95.0))
        .unwrap();
    drop(store);
    let run = |filter: &str, format: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_callscope"))
            .args(["export", "--filter", filter, "--format", format, "--since", "36600d"])
            .args([
                "--account-id",
                "ws-x",
                "--project-id",
                "P-x",
                "--store",
                db.to_str().unwrap(),
            ])
            .env_remove("POLYAI_API_KEY")
            .env("POLYAI_BASE_URL", "http://127.0.0.1:9") // never contacted
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };

    let jsonl = run("qa<70", "jsonl");
    let lines: Vec<serde_json::Value> = jsonl.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 1, "only CA1 has a current score below 70: {jsonl}");
    assert_eq!(lines[0]["id"], "CA1");
    let scores = lines[0]["scores"].as_array().unwrap();
    assert_eq!(scores.len(), 2, "ann's older 40 is not current");
    assert_eq!(
        (scores[0]["reviewer"].as_str(), scores[0]["score"].as_f64()),
        (Some("ann"), Some(85.0))
    );
    assert_eq!(scores[1]["auto_failed"], true);
    assert_eq!(scores[1]["answers"]["correct_information"]["answer"], "no");
    assert_eq!(scores[1]["at"], "1970-01-01T00:00:02Z");

    let csv = run("scored", "csv");
    let mut rows = csv.lines();
    assert!(
        rows.next()
            .unwrap()
            .ends_with(",note,qa_score,qa_auto_failed,qa_scores")
    );
    let rows: Vec<&str> = rows.collect();
    assert_eq!(rows.len(), 2, "{csv}");
    assert!(
        rows.iter()
            .any(|r| r.starts_with("CA2,") && r.ends_with(",95,false,voice-qa/ann=95")),
        "{csv}"
    );
    assert!(
        rows.iter()
            .any(|r| r.starts_with("CA1,") && r.ends_with(",0,true,voice-qa/ann=85;voice-qa/bob=0")),
        "{csv}"
    );
    assert_eq!(run("unscored", "csv").lines().count(), 2, "header and CA3");

    let md = run("qa>=90", "md");
    assert!(md.contains("## CA2") && !md.contains("## CA1"), "{md}");
    let section = md.find("**Scorecards**").expect("a scorecards section");
    assert!(section < md.find("**Transcript**").unwrap(), "before the transcript");
    assert!(
        md.contains("- `voice-qa` by ann at 1970-01-01T00:00:04Z: **95**"),
        "{md}"
    );
    assert!(
        md.contains("  - correct_information: yes (turn 2) — quoted the old price"),
        "{md}"
    );
}

#[test]
fn a_plain_export_carries_the_scores_the_local_store_has_for_its_calls() {
    use callscope::standin::{self, StandinOptions};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = rt.block_on(standin::start(StandinOptions::default())).unwrap();
    let env = crate::support::env_for(&s);
    let dir = tempfile::tempdir().unwrap();
    let run = |format: &str, store: Option<&std::path::Path>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_callscope"));
        cmd.args(["export", "--format", format, "--since", "24h", "--env", "live"])
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            // No default store from the machine running the tests.
            .env("HOME", dir.path())
            .env("XDG_DATA_HOME", dir.path().join("data"));
        if let Some(p) = store {
            cmd.arg("--store").arg(p);
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let plain = run("jsonl", None);
    let ids = crate::support::jsonl_ids(&plain);
    assert!(ids.len() > 10, "{plain}");

    let db = dir.path().join("review.db");
    let origin = Origin::new(s.account_id.as_str(), s.project_id.as_str(), "live");
    let mut store = Store::open(&db).unwrap();
    let scored = &ids[3];
    store
        .save_score(
            &origin.key(scored.as_str()),
            &correct_information_save("ann", 1_000, 85.0),
        )
        .unwrap();
    store
        .save_score(
            &origin.key(scored.as_str()),
            &correct_information_save("bob", 2_000, 0.0),
        )
        .unwrap();
    // The same id in another environment is another call: not this export's.
    let sandbox = Origin::new(s.account_id.as_str(), s.project_id.as_str(), "sandbox");
    store
        .save_score(
            &sandbox.key(ids[4].as_str()),
            &correct_information_save("ann", 3_000, 50.0),
        )
        .unwrap();
    drop(store);

    // JSONL: the scored call's line is the API's record with a `scores` member appended; every
    // other line is byte for byte the plain export's.
    let jsonl = run("jsonl", Some(&db));
    assert_eq!(jsonl.lines().count(), plain.lines().count());
    for (with, without) in jsonl.lines().zip(plain.lines()) {
        let v: serde_json::Value = serde_json::from_str(with).unwrap();
        if v["id"] == scored.as_str() {
            assert!(with.starts_with(without.strip_suffix('}').unwrap()), "{with}");
            let scores = v["scores"].as_array().unwrap();
            assert_eq!(scores.len(), 2);
            assert_eq!(
                (scores[0]["reviewer"].as_str(), scores[0]["score"].as_f64()),
                (Some("ann"), Some(85.0))
            );
            assert_eq!(scores[1]["auto_failed"], true);
        } else {
            assert_eq!(with, without);
        }
    }

    // CSV: the score columns after the conversation's, empty for calls never scored.
    let csv = run("csv", Some(&db));
    let mut rows = csv.lines();
    let header = rows.next().unwrap();
    assert!(
        header.ends_with(",unread_fields,qa_score,qa_auto_failed,qa_scores"),
        "{header}"
    );
    let rows: Vec<&str> = rows.collect();
    assert_eq!(rows.len(), ids.len());
    let row = |id: &str| *rows.iter().find(|r| r.starts_with(&format!("{id},"))).unwrap();
    assert!(
        row(scored).ends_with(",0,true,voice-qa/ann=85;voice-qa/bob=0"),
        "{}",
        row(scored)
    );
    assert!(row(&ids[4]).ends_with(",,,"), "{}", row(&ids[4]));

    // Markdown: a Scorecards section in the scored call's part only.
    let md = run("md", Some(&db));
    assert_eq!(md.matches("**Scorecards**").count(), 1, "{md}");
    let part = md.split("\n## ").find(|p| p.starts_with(scored.as_str())).unwrap();
    assert!(
        part.contains("- `voice-qa` by bob at 1970-01-01T00:00:02Z: **0 (auto-fail)**"),
        "{part}"
    );

    // A store without scores for these calls changes nothing.
    let empty = dir.path().join("empty.db");
    Store::open(&empty).unwrap();
    assert_eq!(run("csv", Some(&empty)), run("csv", None));
}
