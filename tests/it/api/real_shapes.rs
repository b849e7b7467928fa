//! The shapes the live PolyAI API sends (tests/fixtures/real, written from real-api-shapes.md)
//! served over loopback HTTP by a scripted server: the real binary's CSV has their values,
//! JSONL passes their bytes through, `--filter` words match them in the store, and the TUI
//! (headless `update` + TestBackend) shows the list, the summary and the latency.

use crate::support::scripted;
use crate::support::tui as tui_support;

use std::collections::HashMap;
use std::process::{Command, Output};

use callscope::api::{Client, ConversationPage, ListQuery, RawPage};
use callscope::config::{Config, ConnectionArgs, FileConfig};
use callscope::domain::Origin;
use callscope::store::Store;
use scripted::{Reply, Request};
use tui_support::*;

const KEY: &str = "real-shapes-key";
const BY_ID: &str = include_str!("../../fixtures/real/by_id_platform.json");
const LIST_V3: &str = include_str!("../../fixtures/real/list_v3_camel.json");
const LIST_AGENTS: &str = include_str!("../../fixtures/real/list_agents_platform.json");
const BY_ID_ID: &str = "CA5f1e0c9a7b3d4e2f8a6b0c1d2e3f4a5b";

/// The list page's records as the server sends them.
fn list_records() -> Vec<String> {
    let page: RawPage = serde_json::from_str(LIST_V3).unwrap();
    page.records.iter().map(|r| r.get().to_string()).collect()
}

/// Both path families: the v3 list and by-id on the runtime host, `/v1/agents/…` on the
/// platform host (one server plays both hosts).
fn serve() -> scripted::Scripted {
    let records: Vec<(String, String)> = list_records()
        .into_iter()
        .map(|r| {
            let id = serde_json::from_str::<serde_json::Value>(&r).unwrap()["conversationId"]
                .as_str()
                .unwrap()
                .to_string();
            (id, r)
        })
        .collect();
    scripted::serve(move |req: &Request| {
        let path = req.path().to_string();
        if path.starts_with("/v1/agents/") && path.ends_with("/conversations") {
            return Reply::json(200, LIST_AGENTS);
        }
        if path.ends_with("/conversations") {
            return Reply::json(200, LIST_V3);
        }
        let id = path.rsplit('/').next().unwrap_or("");
        if path.contains("/conversations/") {
            if id == BY_ID_ID {
                return Reply::json(200, BY_ID);
            }
            if let Some((_, r)) = records.iter().find(|(i, _)| i == id) {
                return Reply::json(200, r.clone());
            }
        }
        Reply::json(404, r#"{"error":{"message":"not found"}}"#)
    })
}

fn callscope(base: &str, args: &[&str]) -> Output {
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_callscope"))
        .args(args)
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path())
        .env("XDG_DATA_HOME", home.path())
        .env("POLYAI_BASE_URL", base)
        .env("POLYAI_PLATFORM_URL", base)
        .env("POLYAI_ACCOUNT_ID", "ws-real")
        .env("POLYAI_PROJECT_ID", "PROJECT-real")
        .env("POLYAI_API_KEY", KEY)
        .env_remove("CALLSCOPE_LOG")
        .output()
        .unwrap();
    assert!(
        out.status.code().is_some_and(|c| c == 0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// One CSV line into its cells (quotes and doubled quotes undone).
fn cells(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                out.last_mut().unwrap().push('"');
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(String::new()),
            c => out.last_mut().unwrap().push(c),
        }
    }
    out
}

/// Rows by id, each a map from column name to cell.
fn csv_rows(csv: &str) -> HashMap<String, HashMap<String, String>> {
    let mut lines = csv.lines();
    let header = cells(lines.next().unwrap());
    lines
        .map(|l| {
            let row = cells(l);
            assert_eq!(row.len(), header.len(), "{l}");
            let row: HashMap<String, String> = header.iter().cloned().zip(row).collect();
            (row["id"].clone(), row)
        })
        .collect()
}

#[test]
fn csv_export_has_the_values_of_every_shape() {
    let server = serve();
    let out = callscope(&server.url, &["export", "--since", "36600d", "--format", "csv"]);
    let csv = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("exported 5 conversations"), "{stderr}");
    let rows = csv_rows(&csv);
    assert_eq!(rows.len(), 5, "{csv}");
    assert!(
        csv.lines().next().unwrap().ends_with(",unread_fields"),
        "stays the last column"
    );
    let a = &rows["CAlist01"];
    assert_eq!(a["summary"], "Caller confirmed a delivery window.");
    assert_eq!((a["max_latency"].as_str(), a["poly_score"].as_str()), ("1.8", "2.5"));
    assert_eq!(
        (a["tags"].as_str(), a["direction"].as_str(), a["language"].as_str()),
        ("vip", "outbound", "en-US")
    );
    assert_eq!(
        (a["from_number"].as_str(), a["channel"].as_str()),
        ("REDACTED", "VOICE-SIP")
    );
    assert_eq!(a["started_at"], "2026-11-28T11:50:00Z");
    let b = &rows["CAlist02"];
    assert_eq!(
        (b["summary"].as_str(), b["max_latency"].as_str()),
        ("Caller asked for opening hours.", "0.4")
    );
    assert_eq!((b["poly_score"].as_str(), b["total_duration"].as_str()), ("", "45"));
    let c = &rows["CAlist03"];
    assert_eq!(
        (c["summary_heading"].as_str(), c["summary_content"].as_str()),
        ("Refund", "A refund was issued for a cancelled order.")
    );
    assert_eq!(
        (c["functions"].as_str(), c["server_note"].as_str()),
        ("issue_refund", "Refund approved by supervisor")
    );
    assert_eq!(
        (c["tags"].as_str(), c["poly_score"].as_str()),
        ("refund;escalated", "8")
    );
    let d = &rows["CAlist04"];
    assert!(
        d["summary"].is_empty() && d["unread_fields"].is_empty(),
        "nulls are empty, not odd"
    );
    let e = &rows["CAlist05"];
    assert_eq!((e["unread_fields"].as_str(), e["handoff"].as_str()), ("handoff", ""));
    assert_eq!(
        (e["max_latency"].as_str(), e["summary_heading"].as_str()),
        ("0.9", "Wrong number")
    );
    assert!(!stderr.contains("could not load"), "{stderr}");
}

#[test]
fn jsonl_keeps_every_field_of_the_fixture_byte_for_byte() {
    let server = serve();
    let out = callscope(&server.url, &["export", "--since", "36600d", "--format", "jsonl"]);
    let jsonl = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = jsonl.lines().collect();
    // The one change: a line break between tokens (the fixture is pretty-printed) is a space,
    // so that each record stays on its line.
    let sent: Vec<String> = list_records().iter().map(|r| r.replace('\n', " ")).collect();
    assert_eq!(lines, sent, "the server's bytes");
    for (line, record) in lines.iter().zip(list_records()) {
        let (got, want): (serde_json::Value, serde_json::Value) = (
            serde_json::from_str(line).unwrap(),
            serde_json::from_str(&record).unwrap(),
        );
        assert_eq!(got, want, "every field");
    }
}

#[test]
fn markdown_export_shows_the_summary_and_the_function_calls() {
    let server = serve();
    let out = callscope(&server.url, &["export", "--since", "36600d", "--format", "md"]);
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(
        md.contains("**Summary:** **Refund** — A refund was issued for a cancelled order."),
        "{md}"
    );
    let call = md.lines().find(|l| l.contains("function **issue_refund**")).expect(&md);
    assert!(
        call.contains("980 ms")
            && call.contains("handoff refund (cold)")
            && call.contains("state: added refund=\"O-77\""),
        "{call}"
    );
    assert!(md.contains("- **PolyScore:** 2.5 (scale 1–5)"), "{md}");
    assert!(md.contains("- **PolyScore:** 8 (scale 0–10)"), "{md}");
}

fn config(base: &str) -> Config {
    Config::resolve_with_file(
        &ConnectionArgs {
            base_url: Some(base.into()),
            platform_url: Some(base.into()),
            account_id: Some("ws-real".into()),
            project_id: Some("PROJECT-real".into()),
            ..Default::default()
        },
        &|k| (k == "POLYAI_API_KEY").then(|| KEY.into()),
        FileConfig::default(),
    )
    .unwrap()
}

/// The fixtures fetched by the real client over loopback: the list page and the by-id object.
async fn fetched(base: &str) -> (ConversationPage, callscope::api::Conversation) {
    let client = Client::new(&config(base)).unwrap();
    let page = client.list_page(&ListQuery::default()).await.unwrap();
    let by_id = client.conversation(BY_ID_ID).await.unwrap();
    (page, by_id)
}

#[tokio::test]
async fn filter_words_match_the_cached_real_shapes() {
    let server = serve();
    let (page, by_id) = fetched(&server.url).await;
    assert_eq!(by_id.turns[2].function_events[0].name, "transfer_to_billing");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("callscope.db");
    let mut store = Store::open(&db).unwrap();
    let mut all = page.conversations.clone();
    all.push(by_id);
    store
        .cache(&Origin::new("ws-real", "PROJECT-real", "live"), &all)
        .unwrap();
    drop(store);
    let db = db.to_str().unwrap();
    for (filter, want) in [
        ("latency>1", vec!["CAlist01", "CAlist03", BY_ID_ID]),
        ("polyscore<3", vec!["CAlist01"]),
        ("polyscore>4", vec!["CAlist03"]),
        ("tag:vip", vec!["CAlist01", BY_ID_ID]),
        ("topic:\"Refund policy\"", vec!["CAlist03", BY_ID_ID]),
        ("function:transfer_to_billing", vec![BY_ID_ID]),
        ("safety", vec![BY_ID_ID]),
        ("voice !handoff latency>1", vec!["CAlist01"]),
    ] {
        let out = callscope(
            &server.url,
            &["export", "--filter", filter, "--format", "csv", "--store", db],
        );
        let rows = csv_rows(&String::from_utf8(out.stdout).unwrap());
        let mut got: Vec<&str> = rows.keys().map(String::as_str).collect();
        got.sort();
        let mut want = want;
        want.sort();
        assert_eq!(got, want, "{filter}");
    }
}

#[tokio::test]
async fn the_tui_shows_the_list_the_summary_and_the_latency() {
    let server = serve();
    let (page, _) = fetched(&server.url).await;
    let mut s = oldest_first_state(150, 40);
    started_with(&mut s, page.clone());
    let screen = render(&s);
    assert!(!screen.contains("could not load"), "{screen}");
    assert!(screen.contains("Conversations (5 loaded"), "{screen}");
    assert_eq!(s.list.visible_len(), 5);
    select_id(&mut s, "CAlist01");
    let screen = render(&s);
    assert!(screen.contains("Caller confirmed a delivery window."), "{screen}");
    assert!(screen.contains("1.80s"), "the object latency:\n{screen}");
    insta::assert_snapshot!("real_shapes_detail", screen);

    // The `{heading, content}` summary sent as a JSON-encoded string, and a function call with
    // its handoff at its turn.
    select_id(&mut s, "CAlist03");
    let screen = render(&s);
    for needle in [
        "Refund",
        "A refund was issued for a cancelled order.",
        "issue_refund",
        "980 ms",
        "↪ handoff refund (cold)",
        "2.20s",
    ] {
        assert!(screen.contains(needle), "{needle}:\n{screen}");
    }
    insta::assert_snapshot!("real_shapes_function_call", screen);

    // `x` and `export --format md` lay the call out the same way (x adds the review lines).
    select_id(&mut s, "CAlist03");
    let x = x_markdown(&mut s);
    let c = page.conversations.iter().find(|c| c.id == "CAlist03").unwrap();
    let mut exported = Vec::new();
    callscope::export::format::write_markdown(&mut exported, c, None).unwrap();
    let without_review: String = x
        .lines()
        .filter(|l| !l.starts_with("- **Review status:**"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(format!("{without_review}\n"), String::from_utf8(exported).unwrap());
    assert!(x.contains("function **issue_refund**"), "{x}");
}

/// Where the v3 list route is missing, the Data API's list pages the project and its `count` is
/// the project's total: the list title says "N loaded of M in the project".
#[tokio::test]
async fn the_data_api_total_shows_in_the_list_title() {
    let server = scripted::serve(|req: &Request| {
        if req.path().starts_with("/v1/agents/") && req.path().ends_with("/conversations") {
            Reply::json(200, LIST_AGENTS)
        } else {
            Reply::json(404, r#"{"error_code":"NOT_FOUND","message":"no such route"}"#)
        }
    });
    let client = Client::new(&config(&server.url)).unwrap();
    let page = client.list_page(&ListQuery::default()).await.unwrap();
    assert_eq!(page.total, Some(57));
    let mut s = oldest_first_state(150, 40);
    started_with(&mut s, page);
    let screen = render(&s);
    assert!(screen.contains("loaded of 57 in the project"), "{screen}");
}
