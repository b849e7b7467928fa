//! The team commands end to end, with the real binary, a real PostgreSQL and the stand-in API:
//! `team init` (idempotent, refuses a newer schema), `queue create` (same seed, same sample),
//! `queue claim`/`done`/`status`/`export`/`list`, and connection errors that say what to do.

use crate::support as common;
use crate::support::team as team_support;

use std::process::{Command, Output};

use callscope::standin::{self, StandinOptions};
use team_support::{TestDb, runtime};

fn callscope(db: &TestDb, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_callscope"))
        .args(args)
        .arg("--config")
        .arg(&db.config)
        .env_remove("CALLSCOPE_REVIEWER")
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn stdout(out: &Output) -> String {
    assert!(out.status.success(), "{}", text(out));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn team_init_is_idempotent_and_refuses_a_newer_schema() {
    let Some(db) = TestDb::new("team_init") else { return };
    // Before init every other command says to run it.
    let out = callscope(&db, &["queue", "list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("run `callscope team init`"), "{}", text(&out));
    assert!(stdout(&callscope(&db, &["team", "init"])).contains("created"));
    assert!(stdout(&callscope(&db, &["team", "init"])).contains("is current"));
    runtime().block_on(async {
        let section = db.section();
        let team = callscope::team::conn::connect(&section, &callscope::config::process_env)
            .await
            .unwrap();
        team.batch_execute("UPDATE schema_version SET version = 99")
            .await
            .unwrap();
    });
    for args in [&["team", "init"][..], &["queue", "list"][..]] {
        let out = callscope(&db, args);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(text(&out).contains("newer than this callscope"), "{}", text(&out));
    }
}

#[test]
fn doctor_checks_the_team_database() {
    let Some(db) = TestDb::new("team_doctor") else { return };
    let doctor = || {
        let out = Command::new(env!("CARGO_BIN_EXE_callscope"))
            .args(["doctor", "--config"])
            .arg(&db.config)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        stdout
            .lines()
            .find(|l| l.contains("team database"))
            .unwrap_or_else(|| panic!("no team line in {stdout}"))
            .to_string()
    };
    let line = doctor();
    assert!(line.starts_with("FAIL") && line.contains("team init"), "{line}");
    assert!(stdout(&callscope(&db, &["team", "init"])).contains("created"));
    let line = doctor();
    assert!(
        line.starts_with("ok") && line.contains(&format!("schema version {}", callscope::team::schema::LATEST)),
        "{line}"
    );
}

#[test]
fn connection_errors_say_what_to_do_and_never_show_the_password() {
    let Some(server) = team_support::server("team_errors") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    let run = |url: &str, password: &str| {
        std::fs::write(&config, format!("[team]\ndatabase = \"{url}\"\n")).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_callscope"))
            .args(["team", "init", "--config"])
            .arg(&config)
            .env("PGPASSWORD", password)
            .env("PGPASSFILE", dir.path().join("none"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let t = text(&out);
        assert!(!t.contains(password), "the password leaked: {t}");
        t
    };
    let good = std::env::var("PGPASSWORD").unwrap();
    // A free port: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let t = run(
        &format!("postgres://{}@127.0.0.1:{port}/x?sslmode=disable", server.user),
        "pw-not-shown-1",
    );
    assert!(
        t.contains("connection refused") && t.contains("is the server running"),
        "{t}"
    );
    let t = run(&server.url("postgres"), "pw-not-shown-2-wrong");
    assert!(t.contains("authentication failed") && t.contains("PGPASSWORD"), "{t}");
    let t = run(&server.url("cs_no_such_db"), &good);
    assert!(t.contains("does not exist") && t.contains("createdb"), "{t}");
    std::fs::write(&config, "[team]\ndatabase = \"postgres://u:secret-in-url@h/d\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_callscope"))
        .args(["team", "init", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let t = text(&out);
    assert!(
        t.contains("must not hold the password") && !t.contains("secret-in-url"),
        "{t}"
    );
}

/// A stand-in with 300 calls (kept alive by the runtime and handle returned) and a runner of
/// `callscope queue create NAME --since 30d EXTRA…` against it with `db`'s config.
fn queue_creator(
    db: &TestDb,
) -> (
    tokio::runtime::Runtime,
    standin::Standin,
    impl Fn(&str, &[&str]) -> Output + '_,
) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = rt
        .block_on(standin::start(StandinOptions {
            conversations: 300,
            ..Default::default()
        }))
        .unwrap();
    let env = common::env_for(&s);
    let create = move |name: &str, extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_callscope"))
            .args(["queue", "create", name, "--since", "30d", "--config"])
            .arg(&db.config)
            .args(extra)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .output()
            .unwrap()
    };
    (rt, s, create)
}

#[test]
fn a_queue_from_the_api_claimed_done_and_reported() {
    let Some(db) = TestDb::initialised("queue_cli") else {
        return;
    };
    let (_rt, _standin, create) = queue_creator(&db);
    let out = create("a", &["--sample", "20", "--seed", "42", "--reviewers-per-item", "2"]);
    assert!(stdout(&out).starts_with("queue a: 20 of "), "{}", text(&out));
    let out = create("b", &["--sample", "20", "--seed", "42"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = create("c", &["--sample", "20", "--seed", "43", "--stratify", "channel"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = create("a", &["--sample", "20"]);
    assert!(text(&out).contains("exists already"), "{}", text(&out));
    let ids = |name: &str| -> Vec<String> {
        stdout(&callscope(&db, &["queue", "export", name]))
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["conversation_id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    let a = ids("a");
    assert_eq!(a.len(), 20);
    assert_eq!(a, ids("b"), "same seed, same sample");
    assert_ne!(a, ids("c"), "another seed, another sample");

    // Claim, answer, finish.
    let claim = |who: &str| callscope(&db, &["queue", "claim", "a", "--reviewer", who]);
    let first = stdout(&claim("alice"));
    assert_eq!(first, a[0]);
    let out = callscope(
        &db,
        &[
            "queue",
            "done",
            "a",
            &first,
            "--reviewer",
            "alice",
            "--answer",
            "greeting=maybe",
        ],
    );
    assert!(text(&out).contains("answer yes, no or na"), "{}", text(&out));
    let out = callscope(
        &db,
        &[
            "queue",
            "done",
            "a",
            &first,
            "--reviewer",
            "alice",
            "--answer",
            "greeting=yes",
        ],
    );
    assert!(text(&out).contains("needs answers to"), "{}", text(&out));
    let full = [
        "--answer",
        "greeting=yes",
        "--answer",
        "identification=yes",
        "--answer",
        "understood_request=4",
        "--answer",
        "correct_information=yes",
        "--answer",
        "resolution=partly",
    ];
    let mut args = vec!["queue", "done", "a", first.as_str(), "--reviewer", "alice"];
    args.extend(full);
    let out = callscope(&db, &args);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("score"), "{}", text(&out));
    let out = callscope(&db, &["queue", "done", "a", &first, "--reviewer", "alice"]);
    assert!(text(&out).contains("finished"), "{}", text(&out));
    // bob gets the same item's second slot; carol holds nothing of it.
    assert_eq!(stdout(&claim("bob")), first);
    let out = callscope(&db, &["queue", "done", "a", &first, "--reviewer", "carol"]);
    assert!(text(&out).contains("hold no claim"), "{}", text(&out));
    let status: serde_json::Value =
        serde_json::from_str(&stdout(&callscope(&db, &["queue", "status", "a", "--format", "json"]))).unwrap();
    assert_eq!(status["items"], 20);
    assert_eq!(status["reviews_wanted"], 40);
    assert_eq!(status["reviews_done"], 1);
    let reviewers = status["reviewers"].as_array().unwrap();
    assert_eq!(reviewers[0]["reviewer"], "alice");
    assert_eq!(
        (reviewers[0]["done"].as_i64(), reviewers[0]["in_progress"].as_i64()),
        (Some(1), Some(0))
    );
    assert_eq!(reviewers[1]["reviewer"], "bob");
    assert_eq!(reviewers[1]["in_progress"], 1);
    let text_status = stdout(&callscope(&db, &["queue", "status", "a"]));
    assert!(
        text_status.contains("0/20 items done") && text_status.contains("alice"),
        "{text_status}"
    );
    let export = stdout(&callscope(&db, &["queue", "export", "a"]));
    let line: serde_json::Value = serde_json::from_str(export.lines().next().unwrap()).unwrap();
    assert_eq!(line["reviews"][0]["reviewer"], "alice");
    assert_eq!(line["reviews"][0]["answers"]["resolution"], "partly");
    // (1 + 2×1 + 3×0.75 + 3×1 + 3×0.5) / 12 = 9.75/12 = 81.25
    assert_eq!(line["reviews"][0]["score"], 81.25);

    // Queue b, one review per item: claim until nothing is left → exit 3.
    db.prepend_config("reviewer = \"dave@test\"\n");
    for _ in 0..20 {
        let out = callscope(&db, &["queue", "claim", "b", "--lease", "1h"]);
        assert!(out.status.success(), "{}", text(&out));
    }
    let out = callscope(&db, &["queue", "claim", "b"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("nothing left"), "{}", text(&out));
    let list = stdout(&callscope(&db, &["queue", "list"]));
    assert_eq!(list.lines().count(), 3, "{list}");
    assert!(list.contains("seed=42"), "{list}");
}

#[test]
fn an_assigned_queue_refuses_other_reviewers() {
    let Some(db) = TestDb::initialised("queue_assign") else {
        return;
    };
    runtime().block_on(async {
        let mut q = team_support::new_queue("assigned", 3, 1);
        q.assignees = vec!["alice".into(), "bob".into()];
        db.team().await.create_queue(&q).await.unwrap();
    });
    let out = callscope(&db, &["queue", "claim", "assigned", "--reviewer", "mallory"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("assigned to alice, bob"), "{}", text(&out));
    assert_eq!(
        stdout(&callscope(&db, &["queue", "claim", "assigned", "--reviewer", "bob"])),
        "c0000"
    );
    let out = callscope(&db, &["queue", "status", "nope"]);
    assert!(text(&out).contains("queues: assigned"), "{}", text(&out));
}

/// `queue create` without a seed, filter or strata: the API picks the sample (`sample=random`),
/// in one request. With a seed the same window is walked instead, so the sample can be repeated.
#[test]
fn without_a_seed_the_api_samples_and_with_one_the_window_is_walked() {
    let Some(db) = TestDb::initialised("queue_api_sample") else {
        return;
    };
    let (_rt, _standin, create) = queue_creator(&db);
    let create = |name: &str, extra: &[&str]| create(name, &[&["--sample", "15"], extra].concat());
    let out = stdout(&create("by-api", &[]));
    assert!(out.contains("15 conversations sampled by the API"), "{out}");
    let out = stdout(&create("by-walk", &["--seed", "9"]));
    assert!(out.contains("15 of ") && out.contains("seed 9"), "{out}");
    let ids = |name: &str| -> Vec<String> {
        stdout(&callscope(&db, &["queue", "export", name]))
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["conversation_id"].to_string())
            .collect()
    };
    let by_api = ids("by-api");
    let unique: std::collections::BTreeSet<_> = by_api.iter().collect();
    assert_eq!((by_api.len(), unique.len()), (15, 15), "{by_api:?}");
    let list = stdout(&callscope(&db, &["queue", "list"]));
    assert!(list.contains("sampler=api"), "{list}");
}

/// A server that refuses `sample=random` (400), or ignores it and answers a list page: the
/// window is walked, and the user is told why.
#[test]
fn a_server_without_sample_random_gets_a_walk() {
    use crate::support::scripted::{self, Reply};
    let Some(db) = TestDb::initialised("queue_no_api_sample") else {
        return;
    };
    let page = |from: usize, to: usize, cursor: Option<&str>| -> String {
        let rows: Vec<String> = (from..to)
            .map(|i| {
                format!(
                    r#"{{"id":"C{i:03}","started_at":"2026-01-01T00:{:02}:00Z","channel":"VOICE-SIP"}}"#,
                    i % 60
                )
            })
            .collect();
        let cursor = cursor.map_or("null".to_string(), |c| format!("\"{c}\""));
        format!(r#"{{"conversations":[{}],"cursor":{cursor}}}"#, rows.join(","))
    };
    let (first, second) = (page(0, 20, Some("p2")), page(20, 40, None));
    let refusing = scripted::serve(move |req| {
        if req.query("sample").is_some() {
            return Reply::json(
                400,
                r#"{"error_code":"CONVERSATIONS_VALIDATION_FAILED","message":"sample is not supported"}"#,
            );
        }
        match req.query("cursor").as_deref() {
            Some("p2") => Reply::json(200, second.clone()),
            _ => Reply::json(200, first.clone()),
        }
    });
    let ignoring_first = page(0, 20, Some("p2"));
    let ignoring_second = page(20, 40, None);
    let ignoring = scripted::serve(move |req| match req.query("cursor").as_deref() {
        Some("p2") => Reply::json(200, ignoring_second.clone()),
        _ => Reply::json(200, ignoring_first.clone()),
    });
    for (name, server, why) in [
        ("refused", &refusing, "did not take sample=random"),
        ("ignored", &ignoring, "answered sample=random with a list page"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_callscope"))
            .args(["queue", "create", name, "--since", "3650d", "--sample", "5", "--config"])
            .arg(&db.config)
            .env("POLYAI_BASE_URL", &server.url)
            .env("POLYAI_PLATFORM_URL", &server.url)
            .env("POLYAI_API_KEY", "key-for-the-scripted-server")
            .env("POLYAI_ACCOUNT_ID", "acct")
            .env("POLYAI_PROJECT_ID", "proj")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
        let (o, e) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(o.contains("5 of 40 conversations (seed "), "{name}: {}", text(&out));
        assert!(e.contains(why), "{name}: {}", text(&out));
    }
}
