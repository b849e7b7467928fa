//! `callscope marks push`: review marks go back to Agent Studio (the stand-in's note and
//! annotation endpoints) once, failures are reported and retried, `--dry-run` sends nothing.

use crate::support as common;
use crate::support::scripted;
use crate::support::text;

use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use callscope::api::{Client, RetryPolicy};
use callscope::domain::{ConversationKey, Marks, Origin, RatingReason, Thumbs, TurnRating};
use callscope::standin::studio::ReceivedMark;
use callscope::standin::{self, Standin};
use callscope::store::Store;
use callscope::studio::{Annotation, AnnotationRole, AnnotationType, push};

fn rating(thumbs: Thumbs, reason: Option<RatingReason>) -> TurnRating {
    TurnRating {
        thumbs,
        reason,
        comment: "a comment that stays local".into(),
    }
}

fn key(id: &str) -> ConversationKey {
    crate::support::tui::origin().key(id)
}

/// Two conversations of the stand-in with at least three turns.
fn two_calls(s: &Standin) -> (String, String) {
    let data = s.dataset();
    let ids: Vec<String> = data.read(|d| d.entries().iter().map(|e| e.id.to_string()).collect());
    let mut long = ids
        .into_iter()
        .filter(|id| data.get(id).is_some_and(|c| c.turns.len() >= 3));
    (long.next().unwrap(), long.next().unwrap())
}

async fn callscope(s: &Standin, home: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_callscope"));
    cmd.args(["marks", "push", "--store"])
        .arg(home.join("s.db"))
        .args(args)
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"));
    for (k, v) in common::env_for(s) {
        cmd.env(k, v);
    }
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

fn annotations_for(received: &[ReceivedMark], id: &str) -> Vec<Annotation> {
    received
        .iter()
        .filter_map(|r| match r {
            ReceivedMark::Annotations {
                conversation,
                annotations,
                ..
            } if conversation == id => Some(annotations.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

fn notes_for(received: &[ReceivedMark], id: &str) -> Vec<String> {
    received
        .iter()
        .filter_map(|r| match r {
            ReceivedMark::Note { conversation, note, .. } if conversation == id => Some(note.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn push_sends_each_mark_once_reports_failures_and_retries_them() {
    let s = crate::support::standin_with(60).await;
    let (a, b) = two_calls(&s);
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    {
        let mut store = Store::open(&h.join("s.db")).unwrap();
        let marks_a = Marks {
            note: "agent quoted the old price".into(),
            turns: [
                (0, rating(Thumbs::Down, Some(RatingReason::WrongTranscription))),
                (1, rating(Thumbs::Down, Some(RatingReason::WrongInformation))),
                (2, rating(Thumbs::Up, None)),
            ]
            .into(),
            ..Marks::default()
        };
        store.set_marks(&key(&a), &marks_a).unwrap();
        let marks_b = Marks {
            turns: [
                (1, rating(Thumbs::Down, Some(RatingReason::MissingIntent))),
                (2, rating(Thumbs::Down, Some(RatingReason::Latency))),
            ]
            .into(),
            ..Marks::default()
        };
        store.set_marks(&key(&b), &marks_b).unwrap();
        // Unknown to the server: 404 until it appears.
        store.set_note(&key("CA-not-yet"), "call back tomorrow").unwrap();
        // Another project's marks are not this key's to push.
        let elsewhere = Origin::new(standin::ACCOUNT_ID, standin::OTHER_PROJECT_ID, "live").key(&a);
        store.set_note(&elsewhere, "not for this project").unwrap();
    }

    // A dry run says what would go and sends nothing.
    let out = callscope(&s, h, &["--dry-run"]).await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains(&format!("would push {a} [live]: note \"agent quoted the old price\"; wrong_transcript on turn 0 (user); wrong_info on turn 1 (agent)")), "{stdout}");
    assert!(
        stdout.contains(&format!("would push {b} [live]: missing_topic on turn 1 (user)")),
        "{stdout}"
    );
    assert!(stderr.contains("would push 2 notes and 3 annotations"), "{stderr}");
    assert!(s.received_marks().is_empty(), "a dry run sends nothing");

    // The first push: everything but the unknown conversation.
    let out = callscope(&s, h, &[]).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "some failed: {stderr}");
    assert!(
        stderr.contains("CA-not-yet [live]: note not pushed: 404 Not Found"),
        "{stderr}"
    );
    assert!(
        stderr.contains("server said: Conversation ID does not exist"),
        "{stderr}"
    );
    assert!(stderr.contains("correlation id: "), "{stderr}");
    assert!(stderr.contains("pushed 1 notes and 3 annotations"), "{stderr}");
    assert!(
        stderr.contains("1 conversations failed and will be retried"),
        "{stderr}"
    );
    assert!(
        stderr.contains("2 ratings not pushed (no Studio annotation type): 1 👍 good, 1 👎 latency"),
        "{stderr}"
    );
    let got = s.received_marks();
    assert_eq!(notes_for(&got, &a), vec!["agent quoted the old price".to_string()]);
    let ann = |turn_id, role, annotation_type| Annotation {
        turn_id,
        role,
        annotation_type,
    };
    assert_eq!(
        annotations_for(&got, &a),
        vec![
            ann(0, AnnotationRole::User, AnnotationType::WrongTranscript),
            ann(1, AnnotationRole::Agent, AnnotationType::WrongInfo)
        ]
    );
    assert_eq!(
        annotations_for(&got, &b),
        vec![ann(1, AnnotationRole::User, AnnotationType::MissingTopic)]
    );
    assert_eq!(got.len(), 3, "{got:?}");

    // The conversation now exists: the next push retries it, and only it.
    let mut late: callscope::api::Conversation = serde_json::from_str(
        r#"{"id":"CA-not-yet","channel":"VOICE-SIP","turns":[{"user_input":"hi","agent_response":"hello"}]}"#,
    )
    .unwrap();
    late.environment = "live".into();
    s.insert(late);
    let out = callscope(&s, h, &[]).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("pushed 1 notes and 0 annotations"), "{stderr}");
    let got = s.received_marks();
    assert_eq!(got.len(), 4, "{got:?}");
    assert_eq!(notes_for(&got, "CA-not-yet"), vec!["call back tomorrow".to_string()]);

    // Run again: nothing is sent twice.
    let out = callscope(&s, h, &[]).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("pushed 0 notes and 0 annotations"), "{stderr}");
    assert!(stderr.contains("5 already pushed and unchanged"), "{stderr}");
    assert_eq!(s.received_marks().len(), 4);

    // A changed note goes again; the annotations do not.
    Store::open(&h.join("s.db"))
        .unwrap()
        .set_note(&key(&a), "agent quoted the 2025 price")
        .unwrap();
    let out = callscope(&s, h, &["--since", "1h"]).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("pushed 1 notes and 0 annotations"), "{stderr}");
    assert!(stderr.contains("changed in the last 1h"), "{stderr}");
    let got = s.received_marks();
    assert_eq!(got.len(), 5);
    assert_eq!(
        notes_for(&got, &a),
        vec![
            "agent quoted the old price".to_string(),
            "agent quoted the 2025 price".to_string()
        ]
    );
    assert!(
        notes_for(&got, &a).iter().all(|n| n != "not for this project"),
        "another project's note stays local"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_standin_refuses_what_studio_would() {
    let s = crate::support::standin_with(20).await;
    let (a, _) = two_calls(&s);
    let http = reqwest::Client::new();
    let post = |path: String, body: serde_json::Value| {
        http.post(format!(
            "{}/v1/agents/{}/conversations/{path}",
            s.platform_url, s.project_id
        ))
        .header("x-api-key", &s.api_key)
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&body).unwrap())
        .send()
    };
    let expect = async |resp: reqwest::Response, status: u16, code: &str| {
        assert_eq!(resp.status().as_u16(), status);
        assert!(resp.headers().contains_key("x-polyai-correlation-id"));
        let v: serde_json::Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
        assert_eq!(v["error_code"], code, "{v}");
        assert_eq!(v["success"], false);
    };
    let one = |role: &str, kind: &str, turn: i64| serde_json::json!({"annotations": [{"turnId": turn, "role": role, "annotationType": kind}]});
    for body in [
        one("caller", "wrong_info", 0),
        one("agent", "hallucination", 0),
        one("agent", "wrong_info", -1),
        one("agent", "wrong_info", 99),
        serde_json::json!({"annotations": []}),
        serde_json::json!({"annotations": [{"turnId": 0, "role": "agent", "annotationType": "wrong_info", "x": 1}]}),
    ] {
        let r = post(format!("{a}/annotation"), body.clone()).await.unwrap();
        expect(r, 400, "SCHEMA_VALIDATION_FAILED").await;
    }
    let r = post(format!("{a}/note"), serde_json::json!({"note": "x", "extra": 1}))
        .await
        .unwrap();
    expect(r, 400, "SCHEMA_VALIDATION_FAILED").await;
    let r = post("CA-unknown/note".into(), serde_json::json!({"note": "x"}))
        .await
        .unwrap();
    expect(r, 404, "CONVERSATIONS_NOT_FOUND").await;
    let r = post("CA-unknown/annotation".into(), one("user", "missing_topic", 0))
        .await
        .unwrap();
    expect(r, 404, "CONVERSATIONS_NOT_FOUND").await;
    assert!(s.received_marks().is_empty(), "nothing refused is kept");
    let r = post(format!("{a}/annotation"), one("user", "missing_topic", 0))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let v: serde_json::Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(v["success"], true);
    assert_eq!(s.received_marks().len(), 1);
}

/// A server error is reported with its message and correlation id, nothing is recorded, and the
/// next push sends it again.
#[tokio::test(flavor = "multi_thread")]
async fn a_server_error_is_retried_on_the_next_push() {
    let failing = Arc::new(AtomicBool::new(true));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (f, log) = (failing.clone(), seen.clone());
    let server = scripted::serve(move |req| {
        log.lock().unwrap().push(req.clone());
        if f.load(Ordering::SeqCst) {
            scripted::Reply::json(
                500,
                r#"{"success":false,"error":"boom","error_id":"cid-500","error_code":"INTERNAL","error_message":"annotation store down","data":null}"#,
            )
            .header("x-polyai-correlation-id", "cid-500")
        } else {
            scripted::Reply::json(201, r#"{"success":true}"#)
        }
    });
    let cfg = crate::support::scripted_config(
        "http://127.0.0.1:9",
        Some(&server.url),
        &[("POLYAI_API_KEY", "sk-test")],
    );
    let client = Client::new(&cfg).unwrap().with_retry_policy(RetryPolicy {
        max_retries: 1,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(10),
        max_retry_after: Duration::from_secs(1),
    });
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("s.db")).unwrap();
    let k = common::store_origin().key("CA 1/x");
    store
        .rate_turn(&k, 3, Some(rating(Thumbs::Down, Some(RatingReason::WrongInformation))))
        .unwrap();

    let plans = push::plan_all(&store, "ws-1", "PROJECT-1", None).unwrap();
    let summary = push::push(&client, &mut store, plans).await.unwrap();
    assert_eq!(summary.exit_status(), 1, "nothing could be sent");
    let (what, e) = summary.failed[0].errors().next().unwrap();
    assert_eq!(what, "annotations");
    let shown = e.to_string();
    assert!(
        shown.contains("annotation store down") && shown.contains("cid-500"),
        "{shown}"
    );
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2, "one retry of the 5xx");
        let r = &seen[0];
        assert_eq!(r.method, "POST");
        assert_eq!(r.path(), "/v1/agents/PROJECT-1/conversations/CA%201%2Fx/annotation");
        assert!(r.headers.iter().any(|(k, v)| k == "x-api-key" && v == "sk-test"));
        assert_eq!(
            String::from_utf8_lossy(&r.body),
            r#"{"annotations":[{"annotationType":"wrong_info","role":"agent","turnId":3}]}"#
        );
    }

    failing.store(false, Ordering::SeqCst);
    let plans = push::plan_all(&store, "ws-1", "PROJECT-1", None).unwrap();
    let summary = push::push(&client, &mut store, plans).await.unwrap();
    assert_eq!((summary.exit_status(), summary.annotations), (0, 1));
    let plans = push::plan_all(&store, "ws-1", "PROJECT-1", None).unwrap();
    assert!(plans.iter().all(push::Plan::is_empty), "recorded: {plans:?}");
    assert_eq!(seen.lock().unwrap().len(), 3);
}

/// `serve-demo` shows what it received, one line per request, with escape sequences defused.
#[tokio::test(flavor = "multi_thread")]
async fn serve_demo_prints_a_sanitized_line_per_received_mark() {
    use std::io::{BufRead, BufReader};
    let (mut guard, vars) = common::serve_demo_reporting(&["--conversations", "20"]);
    let stderr = guard.0.stderr.take().unwrap();
    let var = |name: &str| vars.iter().find(|(k, _)| k == name).unwrap().1.clone();
    // Any conversation of the demo project: the first row of the list.
    let client = reqwest::Client::new();
    let list = client
        .get(format!(
            "{}/v3/{}/{}/conversations?limit=1",
            var("POLYAI_BASE_URL"),
            var("POLYAI_ACCOUNT_ID"),
            var("POLYAI_PROJECT_ID")
        ))
        .header("x-api-key", var("POLYAI_API_KEY"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let list: serde_json::Value = serde_json::from_slice(&list).unwrap();
    let id = list["conversations"][0]["id"].as_str().unwrap().to_string();
    let resp = client
        .post(format!(
            "{}/v1/agents/{}/conversations/{id}/note",
            var("POLYAI_PLATFORM_URL"),
            var("POLYAI_PROJECT_ID")
        ))
        .header("x-api-key", var("POLYAI_API_KEY"))
        .header("content-type", "application/json")
        .body(r#"{"note":"price \u001b]52;c;ZXZpbA==\u0007 wrong"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let reader = tokio::task::spawn_blocking(move || {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .find(|l| l.starts_with("received a note"))
    });
    // On a timeout the guard kills the server, which ends the reader.
    let line = tokio::time::timeout(Duration::from_secs(20), reader)
        .await
        .expect("serve-demo printed no line for the note")
        .unwrap()
        .expect("a line for the note");
    assert!(line.contains(&id), "{line}");
    assert!(line.contains("price") && line.contains("wrong"), "{line}");
    assert!(!line.chars().any(|c| c.is_control()), "{line:?}");
    drop(guard);
}

/// A redirect from the platform host is not followed: the key never reaches the other host, and
/// the conversation is reported and left for the next push.
#[tokio::test(flavor = "multi_thread")]
async fn a_redirect_is_refused_and_the_key_stays_home() {
    let elsewhere = scripted::serve(|_| scripted::Reply::json(201, r#"{"success":true}"#));
    let target = format!("{}/steal", elsewhere.url);
    let platform = scripted::serve(move |_| scripted::Reply::json(307, "").header("location", target.clone()));
    let cfg = crate::support::scripted_config(
        "http://127.0.0.1:9",
        Some(&platform.url),
        &[("POLYAI_API_KEY", "sk-test")],
    );
    let client = Client::new(&cfg).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("s.db")).unwrap();
    let k = common::store_origin().key("CA1");
    store.set_note(&k, "hello").unwrap();
    let plans = push::plan_all(&store, "ws-1", "PROJECT-1", None).unwrap();
    let summary = push::push(&client, &mut store, plans).await.unwrap();
    assert_eq!(summary.exit_status(), 1);
    let (_, e) = summary.failed[0].errors().next().unwrap();
    assert!(e.to_string().contains("not followed"), "{e}");
    assert_eq!(elsewhere.hits(), 0, "nothing went to the other host");
    let plans = push::plan_all(&store, "ws-1", "PROJECT-1", None).unwrap();
    assert_eq!(plans[0].note.as_deref(), Some("hello"), "still to push");
}
