//! `browse --listen`'s receiver (the TUI's `live::start`) in a process limited to 1,024
//! descriptors (this test binary, re-run as a child), with 1,050 idle connections held open
//! against it: signed deliveries still get a 2xx within 5 s and reach the live list.

use std::time::Duration;

use callscope::app::Msg;
use callscope::app::live::LiveEvent;
use callscope::tui::live::{self, LiveSetup};
use callscope::webhook::SigningSecret;
use callscope::webhook::signature::SignatureScheme;

#[path = "support/webhooks.rs"]
mod webhooks;

const CHILD_ENV: &str = "CALLSCOPE_TUI_LIVE_ABUSE_CHILD";
const SECRET: &str = "whsec_tui_abuse";
const IDLE: usize = 1050;

/// Run only as the child of `browse_listen_under_ulimit_1024_serves_deliveries_while_1050_idle`.
#[test]
#[ignore = "helper process for browse_listen_under_ulimit_1024_serves_deliveries_while_1050_idle"]
fn live_receiver_child() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let rt = webhooks::runtime_with_descriptor_limit(1024);
    rt.block_on(async {
        let client = webhooks::unused_client();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let receiver = live::start(
            LiveSetup {
                addr: ([127, 0, 0, 1], 0).into(),
                secrets: vec![SigningSecret::new(SECRET)],
                register: false,
            },
            &client,
            tx,
        )
        .await
        .unwrap();
        println!("\nURL={}", receiver.url);
        while let Some(msg) = rx.recv().await {
            if let Msg::Live(LiveEvent::Completed { id, .. }) = msg {
                println!("LIVE={id}");
            }
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browse_listen_under_ulimit_1024_serves_deliveries_while_1050_idle() {
    callscope::webhook::server::raise_descriptor_limit();
    let (_child, url, lines) = webhooks::spawn_child_test("live_receiver_child", CHILD_ENV, "URL=");
    let addr: std::net::SocketAddr = url["http://".len()..url.len() - "/polyai-events".len()]
        .parse()
        .unwrap();
    let (live_tx, live_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if let Some((_, id)) = line.split_once("LIVE=") {
                let _ = live_tx.send(id.trim().to_string());
            }
        }
    });

    let idle = webhooks::open_idle(addr, IDLE).await;
    assert_eq!(idle.len(), IDLE);

    for n in 0..10 {
        let event = webhooks::completed(&format!("CA-tui-{n}"));
        let (status, took) = webhooks::post_signed(&url, SECRET, SignatureScheme::Body, &event).await;
        assert!(
            matches!(status, Ok(200..=299)),
            "delivery {n} with {IDLE} idle connections: {status:?} after {took:?}"
        );
        let got = live_rx
            .recv_timeout(Duration::from_secs(5))
            .expect("the live list hears of it");
        assert_eq!(got, format!("CA-tui-{n}"));
    }
    drop(idle);
}
