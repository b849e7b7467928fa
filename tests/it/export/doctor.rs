//! `callscope export` and `callscope doctor` against the stand-in over loopback.

use crate::support as common;

use std::collections::HashSet;
use std::process::Command;

use callscope::api::ListQuery;
use callscope::doctor::{Verdict, diagnose};
use callscope::export::{ExportOptions, Format, export};
use callscope::standin::{self, StandinOptions};

fn args(format: Format) -> ExportOptions {
    ExportOptions {
        page_size: 37,
        ..crate::support::export_args(format)
    }
}

#[tokio::test]
async fn jsonl_export_is_every_call_of_the_window_once_and_lossless() {
    let s = standin::start(StandinOptions::default()).await.unwrap();
    let client = common::client(&s);
    let mut out = Vec::new();
    let a = args(Format::Jsonl);
    let summary = export(&client, &a, "live", &mut out).await.unwrap();
    let text = String::from_utf8(out).unwrap();
    let ids = crate::support::jsonl_ids(&text);
    let unique: HashSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "no duplicates");
    assert_eq!(ids.len() as u64, summary.conversations);
    assert!(summary.conversations >= 100, "{summary:?}");
    assert!(summary.pages >= summary.conversations / 37);
    // Same set as a plain walk of the same window.
    let end = chrono::Utc::now();
    let mut pager = client.pages(ListQuery {
        start_time: Some(end - chrono::Duration::hours(25)),
        end_time: Some(end),
        limit: Some(500),
        client_env: Some("live".into()),
        ..Default::default()
    });
    let mut walked = HashSet::new();
    while let Some(p) = pager.next_page().await {
        walked.extend(p.unwrap().conversations.into_iter().map(|c| c.id));
    }
    assert!(unique.iter().all(|id| walked.contains(*id)));
}

#[tokio::test]
async fn csv_and_markdown_exports() {
    let s = standin::start(StandinOptions::default()).await.unwrap();
    let client = common::client(&s);
    let mut csv = Vec::new();
    let n = export(&client, &args(Format::Csv), "sandbox", &mut csv)
        .await
        .unwrap()
        .conversations;
    let csv = String::from_utf8(csv).unwrap();
    assert_eq!(csv.lines().count() as u64, n + 1);
    assert!(csv.starts_with(&callscope::export::format::csv_header().unwrap()));
    assert!(csv.lines().skip(1).all(|l| l.contains(",sandbox,")));
    let mut md = Vec::new();
    let mut a = args(Format::Md);
    a.channel = vec!["VOICE-SIP".into()];
    export(&client, &a, "live", &mut md).await.unwrap();
    let md = String::from_utf8(md).unwrap();
    assert!(md.contains("**Agent:**") && md.contains("— VOICE-SIP ·"));
    assert!(!md.contains("— WEBCHAT ·"));
}

#[tokio::test]
async fn export_with_audio_saves_voice_recordings_and_resumes() {
    let s = crate::support::standin_with(400).await;
    let dir = tempfile::tempdir().unwrap();
    let audio = dir.path().join("rec");
    let out = dir.path().join("calls.jsonl");
    let env = common::env_for(&s);
    let (out_arg, audio_arg) = (out.clone(), audio.clone());
    let run = move || {
        Command::new(env!("CARGO_BIN_EXE_callscope"))
            .args(["export", "--since", "30d", "--out"])
            .arg(&out_arg)
            .arg("--with-audio")
            .arg(&audio_arg)
            .envs(env.clone())
            .output()
            .unwrap()
    };
    let first = tokio::task::spawn_blocking(run.clone()).await.unwrap();
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(first.status.success(), "{stderr}");
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let voice: Vec<&str> = lines
        .iter()
        .filter(|c| c["channel"] == "VOICE-SIP" && c["in_progress"] == false)
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert!(!voice.is_empty());
    for id in &voice {
        let r = hound::WavReader::open(audio.join(format!("{id}.wav"))).unwrap();
        assert!(r.duration() > 0);
    }
    assert_eq!(
        std::fs::read_dir(&audio).unwrap().count(),
        voice.len(),
        "no chat recordings, no partial files"
    );
    assert!(
        stderr.contains(&format!(
            "recordings: {} saved, 0 already complete, 0 failed",
            voice.len()
        )),
        "{stderr}"
    );

    // Damage one recording: the rerun fetches only that one again.
    let victim = audio.join(format!("{}.wav", voice[0]));
    let len = std::fs::metadata(&victim).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&victim)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    let second = tokio::task::spawn_blocking(run).await.unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains(&format!(
            "recordings: 1 saved, {} already complete, 0 failed",
            voice.len() - 1
        )),
        "{stderr}"
    );
    assert_eq!(std::fs::metadata(&victim).unwrap().len(), len);
}

#[tokio::test]
async fn export_to_file_is_atomic_on_failure() {
    let s = crate::support::standin_with(50).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("calls.jsonl");
    let mut env = common::env_for(&s);
    env.retain(|(k, _)| *k != "POLYAI_API_KEY");
    env.push(("POLYAI_API_KEY", "wrong-key".into()));
    let res = tokio::task::spawn_blocking({
        let out = out.clone();
        move || {
            Command::new(env!("CARGO_BIN_EXE_callscope"))
                .args(["export", "--out"])
                .arg(&out)
                .envs(env)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(!res.status.success());
    assert!(
        stderr.contains("401 Unauthorized") && stderr.contains("POLYAI_API_KEY"),
        "{stderr}"
    );
    assert!(!stderr.contains("wrong-key"), "the key is never printed");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no partial output left behind"
    );
}

#[tokio::test]
async fn doctor_passes_on_a_good_config_and_diagnoses_bad_ones() {
    let s = standin::start(StandinOptions::default()).await.unwrap();
    let good = diagnose(&common::config_with_key(&s, &s.api_key)).await;
    assert!(good.iter().all(|c| c.verdict != Verdict::Fail), "{good:#?}");
    assert!(
        good.iter()
            .any(|c| c.name == "webhooks host" && c.verdict == Verdict::Ok),
        "{good:#?}"
    );

    let bad_key = diagnose(&common::config_with_key(&s, "nope")).await;
    let line = bad_key.iter().find(|c| c.verdict == Verdict::Fail).unwrap().line();
    assert!(line.contains("API key") && line.contains("401"), "{line}");

    // The runtime URL pointed at the webhooks (platform) host: the most common 404. The list
    // still works through the platform host's Data API, so it is a warning that says what to set.
    let mut swapped = common::config_with_key(&s, &s.api_key);
    swapped.base_url = s.platform_url.clone();
    let checks = diagnose(&swapped).await;
    let list = checks.iter().find(|c| c.name == "list").unwrap();
    assert_eq!(list.verdict, Verdict::Warn, "{}", list.line());
    assert!(
        list.line().contains("v3 list route is missing") && list.line().contains("-1 suffix"),
        "{}",
        list.line()
    );

    let no_key = diagnose(&{
        let mut c = common::config_with_key(&s, "x");
        c.api_key = None;
        c
    })
    .await;
    assert!(
        no_key[0].line().contains("POLYAI_API_KEY is not set: export it as"),
        "{:?}",
        no_key[0]
    );
}

#[test]
fn doctor_binary_exits_nonzero_when_something_is_wrong() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = rt
        .block_on(standin::start(StandinOptions {
            conversations: 50,
            ..Default::default()
        }))
        .unwrap();
    let mut env = common::env_for(&s);
    env.retain(|(k, _)| *k != "POLYAI_API_KEY");
    let out = Command::new(env!("CARGO_BIN_EXE_callscope"))
        .arg("doctor")
        .envs(env)
        .env_remove("POLYAI_API_KEY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("FAIL configuration"));
}

#[test]
fn flagged_export_reads_the_local_store_without_the_api() {
    use callscope::domain::{ConversationKey, Origin};
    use callscope::store::Store;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("review.db");
    let mut store = Store::open(&db).unwrap();
    let conv: callscope::api::Conversation = serde_json::from_str(
        r#"{"id":"CA77","channel":"VOICE-SIP","environment":"live","started_at":"2026-11-01T10:00:00Z","turns":[{"user_input":"hi"}]}"#,
    )
    .unwrap();
    store.cache(&Origin::new("ws-x", "P-x", "live"), &[conv]).unwrap();
    let key = ConversationKey {
        account: "ws-x".into(),
        project: "P-x".into(),
        environment: "live".into(),
        id: "CA77".into(),
    };
    store.toggle_flag(&key, "compliance").unwrap();
    drop(store);
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_callscope"))
            .args(["export", "--flagged", "--account-id", "ws-x", "--project-id", "P-x"])
            .args(extra)
            .env_remove("POLYAI_API_KEY")
            .env("POLYAI_BASE_URL", "http://127.0.0.1:9") // never contacted
            .output()
            .unwrap()
    };
    let out = run(&["--store", db.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["id"], "CA77");
    assert_eq!(line["review"]["flags"][0], "compliance");
    let missing = run(&["--store", dir.path().join("nope.db").to_str().unwrap()]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no local store"));
}

/// A list whose calls carry no turns (as the Data API's list does) sends `doctor` to ask by
/// id. The first call's own transcript is hidden and the second's is not: transcripts are
/// visible, not "visibility off". When every sampled call comes back without turns, it is.
#[tokio::test]
async fn doctor_samples_calls_by_id_before_it_says_visibility_is_off() {
    use crate::support::scripted::{self, Reply, Request};
    let s = standin::start(StandinOptions {
        conversations: 5,
        ..Default::default()
    })
    .await
    .unwrap();
    let started = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    for (second_has_turns, expect) in [(true, Verdict::Ok), (false, Verdict::Fail)] {
        let started = started.clone();
        let server = scripted::serve(move |req: &Request| {
            let path = req.path();
            let call = |id: &str, turns: &str| {
                format!(
                    r#"{{"id":"{id}","account_id":"ws","project_id":"p","channel":"VOICE-SIP","started_at":"{started}","num_turns":2,"turns":{turns}}}"#
                )
            };
            if path.ends_with("/conversations") && !path.starts_with("/v1/agents/") {
                let calls: Vec<String> = ["CAh1", "CAh2", "CAh3"].iter().map(|id| call(id, "[]")).collect();
                return Reply::json(
                    200,
                    format!(r#"{{"conversations":[{}],"cursor":null}}"#, calls.join(",")),
                );
            }
            let turns =
                r#"[{"user_input":"hello","agent_response":"hi there"},{"user_input":"bye","agent_response":"bye"}]"#;
            match path.rsplit('/').next() {
                Some("CAh1") if path.contains("/conversations/") => Reply::json(200, call("CAh1", "[]")),
                Some(id @ ("CAh2" | "CAh3")) if path.contains("/conversations/") => {
                    Reply::json(200, call(id, if second_has_turns { turns } else { "[]" }))
                }
                _ => Reply::json(404, r#"{"error":{"message":"not found"}}"#),
            }
        });
        let mut cfg = common::config_with_key(&s, &s.api_key);
        cfg.base_url = server.url.clone();
        cfg.platform_url = server.url.clone();
        let checks = diagnose(&cfg).await;
        let line = checks
            .iter()
            .find(|c| c.name == "transcripts")
            .unwrap_or_else(|| panic!("{checks:#?}"));
        assert_eq!(line.verdict, expect, "{}", line.line());
        if expect == Verdict::Ok {
            assert!(line.line().contains("by-id does (2 turns"), "{}", line.line());
        } else {
            assert!(line.line().contains("visibility is off"), "{}", line.line());
        }
    }
}
