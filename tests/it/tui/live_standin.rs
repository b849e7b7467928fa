//! The TUI's live plumbing over loopback, without a terminal: the stand-in simulates calls
//! every 200 ms, the TUI's receiver registers itself through the Webhooks API, each completion
//! is fetched by id through the effect runner, and the app state gains the calls at the top.

use crate::support as common;

use std::time::Duration;

use callscope::api::Client;
use callscope::app::paging::LIVE;
use callscope::app::{self, Effect, Identity, KeyMap, State};
use callscope::config::{Config, ConnectionArgs, FileConfig};
use callscope::standin::{self, StandinOptions};
use callscope::tui::effects::Runner;
use callscope::tui::live::{self, LiveSetup};
use chrono::{FixedOffset, Utc};
use tokio::sync::mpsc;

fn run_effects(runner: &Runner, fx: Vec<Effect>) {
    for e in fx {
        // Copy/quit/mouse effects need a terminal; none are expected here.
        match e {
            Effect::Io(work) => runner.spawn(work),
            other => panic!("unexpected terminal or audio effect {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_calls_from_the_standin_appear_at_the_top() {
    let s = standin::start(StandinOptions {
        conversations: 300,
        new_call_every: Some(Duration::from_millis(200)),
        ..Default::default()
    })
    .await
    .unwrap();
    let client = common::client(&s);

    let (tx, mut rx) = mpsc::unbounded_channel();
    let receiver = live::start(
        LiveSetup {
            addr: ([127, 0, 0, 1], 0).into(),
            secrets: Vec::new(),
            register: true,
        },
        &client,
        tx.clone(),
    )
    .await
    .unwrap();
    assert_eq!(s.webhooks.list().len(), 1, "the receiver registered itself");
    let runner = Runner::new(client, tx);
    let mut state = State::new(
        KeyMap::default(),
        Identity::default(),
        "live",
        Utc::now(),
        FixedOffset::east_opt(0).unwrap(),
        (120, 40),
    );
    let fx = app::start(&mut state);
    run_effects(&runner, fx);

    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut first_selected: Option<String> = None;
    loop {
        let msg = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "timed out: {} rows, {} new, listening {}",
                    state.list.paging.len(),
                    state.live.new_count,
                    state.live.listening
                )
            })
            .expect("the channel stays open");
        let fx = app::update(&mut state, msg);
        run_effects(&runner, fx);
        if first_selected.is_none() {
            first_selected = state.list.selected().map(|r| r.id.to_string());
        }
        if state.live.new_count >= 2 {
            break;
        }
    }
    assert!(state.live.listening, "the receiver reported it is up");
    let first = first_selected.unwrap();
    assert_eq!(
        state.list.selected().map(|r| r.id.to_string()),
        Some(first),
        "the selection stayed on the row selected before the calls arrived"
    );
    // The new calls are the top rows, flagged, and really in the stand-in's data set.
    let top: Vec<_> = state.list.paging.rows.iter().take(2).collect();
    for row in top {
        assert!(row.has(LIVE), "{row:?}");
        assert!(s.dataset().get(&row.id).is_some(), "{} is a stand-in call", row.id);
    }
    assert!(state.list.sel >= 2);
    drop(receiver);
    s.shutdown().await;
}

/// `browse --listen`: the secret is configured (not registered); only signed deliveries
/// become messages, and the receiver reports itself up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_secret_accepts_signed_deliveries_only() {
    use callscope::app::live::LiveEvent;
    use callscope::webhook::signature::sign;
    use callscope::webhook::{EventData, EventType, SignatureScheme, SigningSecret, WebhookEvent};

    let cfg = Config::resolve_with_file(
        &ConnectionArgs::default(),
        &|k| match k {
            "POLYAI_API_KEY" => Some("unused".into()),
            "POLYAI_ACCOUNT_ID" => Some("a".into()),
            "POLYAI_PROJECT_ID" => Some("p".into()),
            _ => None,
        },
        FileConfig::default(),
    )
    .unwrap();
    let client = Client::new(&cfg).unwrap();
    let secret = SigningSecret::new("whsec_test_secret");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let receiver = live::start(
        LiveSetup {
            addr: ([127, 0, 0, 1], 0).into(),
            secrets: vec![secret.clone()],
            register: false,
        },
        &client,
        tx,
    )
    .await
    .unwrap();
    assert!(matches!(
        rx.recv().await,
        Some(callscope::app::Msg::Live(LiveEvent::Receiver { up: true }))
    ));
    let event = WebhookEvent::new(
        EventType::ConversationCompleted,
        EventData {
            conversation_id: "CAsigned".into(),
            environment: "live".into(),
            ..Default::default()
        },
    );
    let body = event.to_body();
    let ts = Utc::now().timestamp();
    let post = |sig: String| {
        reqwest::Client::new()
            .post(&receiver.url)
            .header("content-type", "application/json")
            .header("X-PolyAI-Signature", sig)
            .header("X-PolyAI-Timestamp", ts.to_string())
            .header("X-PolyAI-Event-ID", event.id.clone())
            .body(body.clone())
            .send()
    };
    let bad = post(sign(&SigningSecret::new("wrong"), SignatureScheme::Body, ts, &body))
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    let good = post(sign(&secret, SignatureScheme::Body, ts, &body)).await.unwrap();
    assert!(good.status().is_success(), "{}", good.status());
    let msg = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await.unwrap();
    assert!(
        matches!(&msg, Some(callscope::app::Msg::Live(LiveEvent::Completed { id, .. })) if id == "CAsigned"),
        "{msg:?}"
    );
}
