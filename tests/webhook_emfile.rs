//! The receiver out of descriptors: a child process (this test binary, re-run) serves with a
//! soft `RLIMIT_NOFILE` of 64 and a connection cap deliberately above it, so `accept` fails
//! with EMFILE once idle clients pile up. The accept loop must neither spin nor die: it
//! closes the quietest connection to take the next, and a valid delivery still gets a 2xx
//! within 5 s.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use callscope::standin::webhooks::deliver::{SIGNATURE_HEADER, TIMESTAMP_HEADER};
use callscope::webhook::server::{ServeLimits, serve};
use callscope::webhook::signature::{SignatureScheme, sign};
use callscope::webhook::{EventData, EventType, ReceiverConfig, SigningSecret, WebhookEvent, receiver};

#[path = "support/webhooks.rs"]
mod webhooks;

const CHILD_ENV: &str = "CALLSCOPE_WEBHOOK_EMFILE_CHILD";
const SECRET: &str = "whsec_emfile";

/// Run only as the child of `out_of_descriptors_the_accept_loop_neither_spins_nor_dies`.
#[test]
#[ignore = "helper process for out_of_descriptors_the_accept_loop_neither_spins_nor_dies"]
fn emfile_child() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let rt = webhooks::runtime_with_descriptor_limit(64);
    rt.block_on(async {
        let rx = receiver(ReceiverConfig::new(vec![SigningSecret::new(SECRET)]));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("ADDR={}", listener.local_addr().unwrap());
        let mut events = rx.events;
        tokio::spawn(async move {
            while let Some(e) = events.recv().await {
                println!("EVENT={}", e.data.conversation_id);
            }
        });
        // Timeouts beyond the test and a cap above the descriptor limit: only the EMFILE
        // handling can make room.
        let limits = ServeLimits {
            header_timeout: Duration::from_secs(600),
            request_timeout: Duration::from_secs(600),
            max_connections: 10_000,
        };
        serve(listener, rx.router, limits, std::future::pending()).await;
    });
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of proc(5), counted from after the name (field 3 is index 0).
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_descriptors_the_accept_loop_neither_spins_nor_dies() {
    let (mut child, addr, lines) = webhooks::spawn_child_test("emfile_child", CHILD_ENV, "ADDR=");
    let pid = child.0.id();
    let addr: SocketAddr = addr.parse().unwrap();
    let (event_tx, event_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if let Some((_, e)) = line.split_once("EVENT=") {
                let _ = event_tx.send(e.trim().to_string());
            }
        }
    });

    // 200 idle connections against a 64-descriptor process: accept runs out of descriptors.
    let mut idle = Vec::new();
    for n in 0..200 {
        let connect = tokio::time::timeout(Duration::from_secs(3), tokio::net::TcpStream::connect(addr)).await;
        match connect {
            Ok(Ok(s)) => idle.push(s),
            other => panic!("idle connection {n}: {other:?} (the listener stopped taking connections)"),
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ticks_per_sec = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
    let before = cpu_ticks(pid);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let used = cpu_ticks(pid) - before;
    assert!(
        used < ticks_per_sec / 2,
        "the receiver used {used} of {ticks_per_sec} ticks/s over 2 s with idle clients: spinning"
    );

    let secret = SigningSecret::new(SECRET);
    for n in 0..5 {
        let event = WebhookEvent::new(
            EventType::ConversationCompleted,
            EventData {
                conversation_id: format!("CA-emfile-{n}"),
                ..Default::default()
            },
        );
        let body = event.to_body();
        let ts = chrono::Utc::now().timestamp();
        let t0 = Instant::now();
        let answer = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap()
            .post(format!("http://{addr}/polyai-events"))
            .header(SIGNATURE_HEADER, sign(&secret, SignatureScheme::Timestamped, ts, &body))
            .header(TIMESTAMP_HEADER, ts.to_string())
            .body(body)
            .send()
            .await;
        assert!(
            answer.as_ref().is_ok_and(|r| r.status().is_success()),
            "delivery {n} while out of descriptors: {answer:?} after {:?}",
            t0.elapsed()
        );
        let got = event_rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(got, format!("CA-emfile-{n}"));
    }
    assert!(child.0.try_wait().unwrap().is_none(), "the receiver is still running");
    drop(idle);
}
