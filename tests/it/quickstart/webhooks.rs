//! The quickstart's step 5 unchanged: its Python `requests` snippet registers an endpoint with
//! `callscope serve-demo --new-call-every 1 --signature-scheme body`, and its Flask handler verifies the deliveries of
//! the stand-in's live calls and processes the completed conversations.

use crate::support as common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn snippet(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/quickstart/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn has_flask() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import flask, requests"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok && std::env::var_os("CI").is_some() {
        panic!("CI must have python3 with flask and requests (see .ci/run)");
    }
    ok
}

#[test]
fn quickstart_step5_register_and_verify_work_unchanged() {
    if !has_flask() {
        eprintln!("skipped: python3 with Flask and requests is not installed");
        return;
    }
    // The quickstart's handler verifies the raw body alone: the stand-in's `body` scheme (its
    // default is the reference's timestamped one).
    let (_server, vars) = common::serve_demo(&["--new-call-every", "1", "--signature-scheme", "body"]);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let hook_url = format!("http://127.0.0.1:{port}/polyai-events");

    // Register: step 1's setup (headers from the env), then step 5's snippet with its
    // placeholder URL replaced by the handler's address.
    let step1 = snippet("step1_first_call.py");
    let setup = step1.split("\nend = ").next().unwrap();
    let register = snippet("step5_register.py");
    assert!(register.contains("https://your-service.example.com/polyai-events"));
    let script = format!(
        "{setup}\n{}",
        register.replace("https://your-service.example.com/polyai-events", &hook_url)
    );
    let out = Command::new("python3")
        .arg("-c")
        .arg(&script)
        .envs(vars.iter().cloned())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed = String::from_utf8_lossy(&out.stdout);
    let (endpoint_id, secret) = printed.trim().split_once(' ').unwrap();
    assert!(endpoint_id.starts_with("whe_"), "{printed}");

    // The handler: the quickstart's code verbatim, plus the `import os` and the
    // `process_conversation` it leaves to the reader, and a server to run it.
    let handler = format!(
        "import os\n{}\ndef process_conversation(conversation_id):\n    print(conversation_id, flush=True)\n\napp.run(host='127.0.0.1', port={port})\n",
        snippet("step5_verify.py")
    );
    let mut flask = common::ChildGuard(
        Command::new("python3")
            .arg("-c")
            .arg(&handler)
            .env("POLYAI_WEBHOOK_SECRET", secret)
            .env("PYTHONUNBUFFERED", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    // Flask logs each request on stderr: watch for accepted (204) and refused (401) deliveries.
    let stderr = BufReader::new(flask.0.stderr.take().unwrap());
    let log = std::thread::spawn(move || {
        stderr
            .lines()
            .map_while(Result::ok)
            .filter(|l| l.contains("POST /polyai-events"))
            .collect::<Vec<_>>()
    });
    let mut stdout = BufReader::new(flask.0.stdout.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(40);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stdout.by_ref().map_while(Result::ok) {
            if line.starts_with("CA") && tx.send(line).is_err() {
                break;
            }
        }
    });
    let conv_id = rx
        .recv_timeout(deadline - Instant::now())
        .expect("a completed live call reached the quickstart's handler");

    // The processed id is a real conversation of the API.
    let base = &vars.iter().find(|(k, _)| k == "POLYAI_BASE_URL").unwrap().1;
    let key = &vars.iter().find(|(k, _)| k == "POLYAI_API_KEY").unwrap().1;
    let account = &vars.iter().find(|(k, _)| k == "POLYAI_ACCOUNT_ID").unwrap().1;
    let project = &vars.iter().find(|(k, _)| k == "POLYAI_PROJECT_ID").unwrap().1;
    let check = format!(
        "import requests,sys\nr=requests.get('{base}/v3/{account}/{project}/conversations/{conv_id}',headers={{'x-api-key':sys.argv[1]}})\nr.raise_for_status()\nc=r.json()\nassert not c['in_progress'] and c['turns'], c\nprint('ok')"
    );
    let out = Command::new("python3").arg("-c").arg(&check).arg(key).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let _ = flask.0.kill();
    let _ = flask.0.wait();
    let requests = log.join().unwrap();
    assert!(requests.iter().any(|l| l.contains(" 204 ")), "{requests:?}");
    assert!(
        !requests.iter().any(|l| l.contains(" 401 ")),
        "every delivery verified: {requests:?}"
    );
}
