//! The API key never leaves its origin: a 302 or 307 from the API to another loopback port is
//! not followed by any command or by the TUI's requests, the second listener never sees a
//! request (so never the key, nor a replayed POST body), and the user is told where the API
//! pointed and what to configure instead.

use crate::support::net as net_support;

use std::time::Duration;

use callscope::api::{AudioDirection, Client, ErrorKind, ListQuery, RetryPolicy};
use callscope::app::{self, Effect, IoEffect, Msg};
use callscope::tui::effects::Runner;
use net_support::{Server, env_vars, json, page_json, recorder, redirect, run_bin, serve};
use tokio::sync::mpsc;

const KEY: &str = "sk-redirect-test-0123456789";

/// A redirector whose every answer is a `status` to `target`/elsewhere, except the routes
/// `pass` answers itself.
async fn redirector(status: u16, target: &Server, pass: fn(&net_support::Request) -> Option<String>) -> Server {
    let location = format!("{}/elsewhere?token=t0p", target.url);
    serve(move |req| match pass(req) {
        Some(body) => json(&body),
        None => redirect(status, &location),
    })
    .await
}

fn nothing(_: &net_support::Request) -> Option<String> {
    None
}

/// The redirect was seen by the configured host (with the key), never followed, and named.
fn assert_not_followed(what: &str, red: &Server, rec: &Server, code: Option<i32>, out: &str) {
    assert!(red.hits() > 0, "{what}: the configured host got no request\n{out}");
    assert!(
        red.requests()
            .iter()
            .all(|r| r.header("x-api-key").as_deref() == Some(KEY)),
        "{what}: the configured host gets the key"
    );
    let leaked: Vec<String> = rec.requests().iter().map(|r| r.head.clone()).collect();
    assert_eq!(
        rec.connections(),
        0,
        "{what}: the other origin was contacted: {leaked:?}\n{out}"
    );
    assert!(code.is_some_and(|c| c != 0), "{what}: exit {code:?}\n{out}");
    let shown = format!("redirected to {}/elsewhere", rec.url);
    assert!(
        out.contains(&shown) && out.contains("not followed"),
        "{what}: the user is told where it pointed\n{out}"
    );
    assert!(
        !out.contains("t0p"),
        "{what}: the Location's query is not echoed\n{out}"
    );
    assert!(!out.contains(KEY), "{what}: the key is never printed\n{out}");
}

async fn run(args: &[&str], runtime: &str, platform: &str, home: &std::path::Path) -> (Option<i32>, String) {
    let (code, out, err) = run_bin(args, &env_vars(runtime, platform, KEY, home), Duration::from_secs(60)).await;
    (code, format!("{out}\n{err}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_commands_follow_no_redirect() {
    let home = tempfile::tempdir().unwrap();
    for status in [302, 307] {
        let cases: [(&str, Vec<&str>, bool); 5] = [
            ("export", vec!["export", "--since", "1h"], true),
            ("doctor", vec!["doctor"], true),
            ("webhooks list", vec!["webhooks", "list"], false),
            (
                "webhooks register",
                vec!["webhooks", "register", "--url", "http://127.0.0.1:9/polyai-events"],
                false,
            ),
            ("webhooks delete", vec!["webhooks", "delete", "whe_1"], false),
        ];
        for (what, args, runtime_redirects) in cases {
            let rec = recorder().await;
            let red = redirector(status, &rec, nothing).await;
            let ok = serve(|_| json(r#"{"conversations":[],"cursor":null,"data":[]}"#)).await;
            let (runtime, platform) = if runtime_redirects {
                (red.url.clone(), red.url.clone())
            } else {
                (ok.url.clone(), red.url.clone())
            };
            let (code, out) = run(&args, &runtime, &platform, home.path()).await;
            let what = format!("{what} ({status})");
            assert_not_followed(&what, &red, &rec, code, &out);
            if what.starts_with("webhooks register") {
                let post = red
                    .requests()
                    .into_iter()
                    .find(|r| r.method == "POST")
                    .expect("the POST");
                assert!(!post.body.is_empty(), "the POST went to the configured host only");
            }
        }
    }
}

fn list_ok_audio_redirects(req: &net_support::Request) -> Option<String> {
    (!req.path().ends_with("/audio")).then(|| page_json(&["CA1"], None))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_with_audio_follows_no_redirect() {
    let home = tempfile::tempdir().unwrap();
    for status in [302, 307] {
        let rec = recorder().await;
        let red = redirector(status, &rec, list_ok_audio_redirects).await;
        let dir = home.path().join(format!("rec-{status}"));
        let dir_arg = dir.display().to_string();
        let (code, out) = run(
            &["export", "--since", "1h", "--with-audio", &dir_arg],
            &red.url,
            &red.url,
            home.path(),
        )
        .await;
        assert!(
            red.requests().iter().any(|r| r.path().ends_with("/CA1/audio")),
            "the recording was asked for\n{out}"
        );
        assert_not_followed(&format!("export --with-audio ({status})"), &red, &rec, code, &out);
        assert!(!dir.join("CA1.wav").exists(), "nothing was saved from elsewhere");
    }
}

fn client_for(base: &str) -> Client {
    let cfg = crate::support::scripted_config(base, Some(base), &[("POLYAI_API_KEY", KEY)]);
    Client::new(&cfg).unwrap().with_retry_policy(RetryPolicy {
        max_retries: 1,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(20),
        max_retry_after: Duration::from_secs(1),
    })
}

async fn next_msg(rx: &mut mpsc::UnboundedReceiver<Msg>, pred: impl Fn(&Msg) -> bool) -> Msg {
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let m = rx.recv().await.expect("the runner answers");
            if pred(&m) {
                return m;
            }
        }
    })
    .await
    .expect("an answer within 20 s")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tui_requests_follow_no_redirect() {
    for status in [302, 307] {
        let rec = recorder().await;
        let red = redirector(status, &rec, nothing).await;
        let client = client_for(&red.url);
        let (tx, mut rx) = mpsc::unbounded_channel();
        let runner = Runner::new(client.clone(), tx);
        let shown = format!("redirected to {}/elsewhere", rec.url);

        // The list: the app's first page request, answered through the runner.
        let mut state = crate::support::tui::live_state();
        for e in app::start(&mut state) {
            if let Effect::Io(work @ IoEffect::FetchPage { .. }) = e {
                runner.spawn(work);
            }
        }
        let msg = next_msg(&mut rx, |m| matches!(m, Msg::Page { .. })).await;
        app::update(&mut state, msg);
        let status_line = state.status.error.clone().unwrap_or_default();
        assert!(
            status_line.contains(&shown) && status_line.contains("POLYAI_BASE_URL"),
            "{status_line}"
        );
        assert!(
            state
                .list
                .api()
                .failed
                .as_ref()
                .is_some_and(|e| e.kind == ErrorKind::Redirected),
            "the list stops on it"
        );

        // A transcript by id.
        runner.spawn(IoEffect::FetchConversation {
            req: 9_001,
            id: "CA1".into(),
        });
        match next_msg(&mut rx, |m| matches!(m, Msg::Conversation { req: 9_001, .. })).await {
            Msg::Conversation { result: Err(e), .. } => {
                assert_eq!(e.kind, ErrorKind::Redirected);
                assert!(e.headline().contains(&shown), "{}", e.headline());
            }
            other => panic!("{other:?}"),
        }

        // Saving a recording (`s`), and the player's stream.
        let dir = tempfile::tempdir().unwrap();
        runner.spawn(IoEffect::SaveRecording {
            id: "CA1".into(),
            direction: AudioDirection::Combined,
            path: dir.path().join("CA1.wav"),
            redacted: None,
        });
        match next_msg(&mut rx, |m| matches!(m, Msg::SaveDone { .. })).await {
            Msg::SaveDone { result: Err(e), .. } => assert!(e.contains(&shown), "{e}"),
            other => panic!("{other:?}"),
        }
        let e = client
            .audio("CA1", AudioDirection::Combined, Some(1000))
            .await
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Redirected);

        // A live page (poll) and a by-id on the platform family go the same way.
        let e = client.list_page(&ListQuery::default()).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Redirected);
        let e = client.conversation_via_agents("CA1").await.unwrap_err();
        assert!(e.headline().contains("POLYAI_PLATFORM_URL"), "{}", e.headline());

        assert!(red.hits() >= 5);
        assert_eq!(rec.connections(), 0, "the other origin was contacted ({status})");
    }
}
