//! No command lets server text drive the terminal: a scripted loopback server puts OSC 52
//! (clipboard), OSC 0 (title), CSI 2J and 8-bit CSI (U+009B) into error messages, correlation
//! ids, conversation ids and fields, and every command's stdout and stderr must come out without
//! a raw escape or control character.

use crate::support::scripted;

use std::process::{Command, Output};

use scripted::{Reply, Request};

/// JSON-escaped escape sequences (decoded by any JSON parser) followed by a raw C1 CSI, which
/// JSON allows unescaped inside strings.
const EVIL: &str = "\\u001b]52;c;ZXZpbA==\\u0007\\u001b]0;pwned\\u0007\\u001b[2J\\u009b31m\u{9b}2J\u{7f}";

fn evil(tag: &str) -> String {
    format!("{tag}{EVIL}")
}

fn conversation(i: usize) -> String {
    format!(
        r#"{{"id":"CA-EVIL-{i}{e}","channel":"VOICE-SIP","environment":"live","started_at":"2026-11-30T10:00:00Z",
        "in_progress":false,"total_duration":30,"num_turns":1,"handoff":true,"handoff_reason":"{r}",
        "handoff_destination":"{d}","from_number":"{f}","variant_name":"{v}",
        "turns":[{{"user_input":"{u}","agent_response":"{a}"}}]}}"#,
        e = EVIL,
        r = evil("reason"),
        d = evil("\\t=cmd"),
        f = evil("=HYPERLINK"),
        v = evil("variant"),
        u = evil("user"),
        a = evil("agent"),
    )
}

fn error_body(status: u16) -> Vec<u8> {
    format!(
        r#"{{"success":false,"error_id":"EID{e}","error_code":"CODE{e}","error_message":"MSG {status}{e}","data":null}}"#,
        e = EVIL
    )
    .into_bytes()
}

/// `/ok/...` answers with hostile data, `/fail/...` with hostile errors (4xx: not retried).
fn handler(req: &Request) -> Reply {
    let path = req.path();
    let ok = path.starts_with("/ok/");
    let fail = |status| {
        // obs-text bytes (a UTF-8 C1 CSI) are legal in a header value.
        Reply::json(status, error_body(status)).header("x-polyai-correlation-id", b"CID\xc2\x9b2J-hdr".to_vec())
    };
    if path.ends_with("/audio") {
        return fail(404);
    }
    if path.contains("/conversations") {
        if !ok {
            return fail(400);
        }
        let page = format!(
            r#"{{"conversations":[{},{}],"cursor":null}}"#,
            conversation(1),
            conversation(2)
        );
        return Reply::json(200, page);
    }
    if path.ends_with("/webhook-endpoints") && req.method == "GET" {
        if !ok {
            return fail(403);
        }
        let ep = format!(
            r#"{{"id":"whe_{e}","url":"https://x/{e}","enabled":true,"event_types":["conversation.completed{e}"],"name":"n{e}"}}"#,
            e = EVIL
        );
        return Reply::json(200, format!(r#"{{"data":[{ep}]}}"#));
    }
    if path.ends_with("/webhooks/endpoints") || path.ends_with("/rotate-secret") {
        if !ok {
            return fail(409);
        }
        return Reply::json(
            201,
            format!(
                r#"{{"id":"whe_new{e}","url":"https://x/{e}","signing_secret":"whsec_{e}"}}"#,
                e = EVIL
            ),
        );
    }
    fail(404)
}

fn run(server: &str, scenario: &str, args: &[&str]) -> Output {
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_callscope"))
        .args(args)
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env("POLYAI_API_KEY", "sk-test")
        .env("POLYAI_ACCOUNT_ID", "ws-evil")
        .env("POLYAI_PROJECT_ID", "PROJECT-evil")
        .env("POLYAI_BASE_URL", format!("{server}/{scenario}"))
        .env("POLYAI_PLATFORM_URL", format!("{server}/{scenario}"))
        .env("CALLSCOPE_LOG", "warn")
        .env_remove("POLYAI_WEBHOOK_SECRET")
        .output()
        .unwrap();
    drop(home);
    out
}

/// The first raw control character (other than `\n`, and `\t` where `tabs`) in `bytes`.
fn first_control(bytes: &[u8], tabs: bool) -> Option<(usize, char)> {
    String::from_utf8_lossy(bytes).char_indices().find(|&(_, c)| {
        let c0 = c < ' ' && c != '\n' && !(tabs && c == '\t');
        c0 || ('\u{7f}'..='\u{9f}').contains(&c)
    })
}

/// What is wrong with one command's output, if anything.
fn problem(what: &str, out: &Output, expect_in: &[&str]) -> Option<String> {
    for (name, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        if let Some((at, c)) = first_control(bytes, false) {
            let text = String::from_utf8_lossy(bytes);
            let from = text[..at].char_indices().rev().nth(40).map_or(0, |(i, _)| i);
            let mut to = (at + 8).min(text.len());
            while !text.is_char_boundary(to) {
                to += 1;
            }
            return Some(format!(
                "{what}: raw control {c:?} on {name} at byte {at}: …{:?}…",
                &text[from..to]
            ));
        }
    }
    // The server's text did get through (sanitized), so the check above meant something.
    let both = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    expect_in
        .iter()
        .find(|needle| !both.contains(**needle))
        .map(|needle| format!("{what}: {needle:?} missing in\n{both}"))
}

#[test]
fn no_command_prints_raw_escapes_from_the_server() {
    let server = scripted::serve(handler);
    let s = server.url.as_str();
    let audio = tempfile::tempdir().unwrap();
    let audio_dir = audio.path().to_str().unwrap();
    let cases: Vec<(&str, &str, Vec<&str>, Vec<&str>)> = vec![
        (
            "export jsonl",
            "ok",
            vec!["export"],
            vec!["CA-EVIL-1", "exported 2 conversations"],
        ),
        (
            "export csv",
            "ok",
            vec!["export", "--format", "csv"],
            vec!["CA-EVIL-1", "'=HYPERLINK"],
        ),
        (
            "export md",
            "ok",
            vec!["export", "--format", "md"],
            vec!["CA-EVIL-2", "reason"],
        ),
        (
            "export --with-audio",
            "ok",
            vec!["export", "--with-audio", audio_dir],
            vec!["recording CA-EVIL-1", "MSG 404", "2 failed"],
        ),
        (
            "export error",
            "fail",
            vec!["export"],
            vec!["MSG 400", "correlation id"],
        ),
        ("doctor error", "fail", vec!["doctor"], vec!["FAIL", "correlation id"]),
        ("doctor ok", "ok", vec!["doctor"], vec!["calls in last 24h"]),
        (
            "webhooks list",
            "ok",
            vec!["webhooks", "list"],
            vec!["whe_", "https://x/"],
        ),
        ("webhooks list error", "fail", vec!["webhooks", "list"], vec!["MSG 403"]),
        (
            "webhooks register",
            "ok",
            vec!["webhooks", "register", "--url", "https://example.com/h"],
            vec!["registered webhook endpoint whe_new", "signing_secret: whsec_"],
        ),
        (
            "webhooks register error",
            "fail",
            vec!["webhooks", "register", "--url", "https://example.com/h"],
            vec!["MSG 409"],
        ),
        (
            "webhooks rotate",
            "ok",
            vec!["webhooks", "rotate", "whe_abc123"],
            vec!["signing_secret: whsec_"],
        ),
    ];
    let total = cases.len();
    let mut problems = Vec::new();
    for (what, scenario, args, expect) in cases {
        let out = run(s, scenario, &args);
        assert!(out.status.code().is_some(), "{what}: killed by a signal");
        assert_ne!(out.status.code(), Some(101), "{what}: panicked");
        problems.extend(problem(what, &out, &expect));
    }
    assert!(
        problems.is_empty(),
        "{} of {total} commands let raw controls through:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(server.hits() >= total);
}

#[test]
fn jsonl_keeps_every_value_and_escapes_only_what_json_lets_through() {
    let server = scripted::serve(handler);
    let out = run(&server.url, "ok", &["export"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    // The value is exactly what the server sent, escapes and all (the bytes differ only in
    // how U+009B and U+007F are spelled).
    let sent: serde_json::Value = serde_json::from_str(&conversation(1)).unwrap();
    assert_eq!(lines[0], sent);
    assert!(lines[0]["id"].as_str().unwrap().contains("\u{1b}]52;"));
    assert!(text.contains("\\u009b2J\\u007f"), "{text}");
}

/// `listen` prints each accepted event as one JSON line: C1 controls in a signed body come out
/// as `\u` escapes (serde_json writes them raw), the value unchanged.
#[test]
fn listen_prints_events_without_raw_controls() {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::process::Stdio;

    use callscope::webhook::signature::sign;
    use callscope::webhook::{SignatureScheme, SigningSecret};

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let home = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_callscope"))
        .args(["listen", "--addr", &format!("127.0.0.1:{port}")])
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("POLYAI_WEBHOOK_SECRET", "whsec_test")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(line.contains("listening"), "{line}");

    let body = format!(
        r#"{{"id":"evt_1{EVIL}","type":"conversation.completed","created_at":"2026-12-01T00:00:00Z","data":{{"conversation_id":"CA{EVIL}"}}}}"#
    );
    let ts = chrono::Utc::now().timestamp();
    let sig = sign(
        &SigningSecret::new("whsec_test"),
        SignatureScheme::Body,
        ts,
        body.as_bytes(),
    );
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        conn,
        "POST /polyai-events HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nx-polyai-signature: {sig}\r\nx-polyai-timestamp: {ts}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    let _ = conn.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 2"), "{answer}");

    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut event = Vec::new();
    stdout.read_until(b'\n', &mut event).unwrap();
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let _ = child.wait();
    assert!(
        first_control(&event, false).is_none(),
        "{:?}",
        String::from_utf8_lossy(&event)
    );
    let got: serde_json::Value = serde_json::from_slice(&event).unwrap();
    let sent: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(got, sent, "the same value");
}
