//! The webhook receiver under abusive clients, over real loopback sockets: idle connections,
//! slowloris headers and slow bodies are closed by the server within its timeouts, a full
//! server makes room, and valid signed deliveries keep getting a 2xx within 5 s meanwhile.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use callscope::webhook::server::{ServeLimits, serve};
use callscope::webhook::signature::SignatureScheme;
use callscope::webhook::{ReceiverConfig, SigningSecret, WebhookEvent, receiver};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use crate::support::webhooks;

const SECRET: &str = "whsec_abuse";

async fn start(limits: ServeLimits) -> (SocketAddr, mpsc::Receiver<WebhookEvent>) {
    let rx = receiver(ReceiverConfig::new(vec![SigningSecret::new(SECRET)]));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, rx.router, limits, std::future::pending()));
    (addr, rx.events)
}

/// Posts one signed event on a fresh connection; the status (0 for none) and how long it took.
async fn deliver(addr: SocketAddr, n: usize) -> (u16, Duration) {
    let event = webhooks::completed(&format!("CA-valid-{n}"));
    let url = format!("http://{addr}/polyai-events");
    let (status, took) = webhooks::post_signed(&url, SECRET, SignatureScheme::Timestamped, &event).await;
    (status.unwrap_or(0), took)
}

/// Reads until the server closes the connection (EOF or reset); what it sent, and when.
async fn until_closed(mut s: TcpStream, within: Duration) -> Option<(Vec<u8>, Instant)> {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some((got, Instant::now())),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// Sends one more header byte every 300 ms, forever (until the server closes).
fn slowloris(mut s: TcpStream) -> tokio::task::JoinHandle<TcpStream> {
    tokio::spawn(async move {
        let _ = s.write_all(b"POST /polyai-events HTTP/1.1\r\nHost: x\r\n").await;
        loop {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if s.write_all(b"X").await.is_err() {
                return s;
            }
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_slowloris_and_slow_body_connections_are_closed_while_deliveries_go_through() {
    let limits = ServeLimits {
        header_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_secs(1),
        max_connections: 1000,
    };
    let (addr, mut events) = start(limits).await;
    let opened = Instant::now();
    let mut idle = Vec::new();
    for _ in 0..200 {
        idle.push(TcpStream::connect(addr).await.unwrap());
    }
    let mut lorises = Vec::new();
    for _ in 0..30 {
        lorises.push(slowloris(TcpStream::connect(addr).await.unwrap()));
    }
    // Complete headers, then a body that trickles in: answered 408, then closed.
    let mut slow_bodies = Vec::new();
    for _ in 0..10 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"POST /polyai-events HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{")
            .await
            .unwrap();
        slow_bodies.push(tokio::spawn(async move {
            let (mut r, mut w) = s.into_split();
            let trickle = tokio::spawn(async move {
                while w.write_all(b" ").await.is_ok() {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
            });
            let mut got = Vec::new();
            let _ = tokio::time::timeout(Duration::from_secs(4), r.read_to_end(&mut got)).await;
            trickle.abort();
            String::from_utf8_lossy(&got).into_owned()
        }));
    }
    // A keep-alive connection that made one valid request, then went quiet.
    let mut keep_alive = TcpStream::connect(addr).await.unwrap();
    keep_alive
        .write_all(b"GET /polyai-events HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();

    // Valid deliveries meanwhile.
    for n in 0..10 {
        let (status, took) = deliver(addr, n).await;
        assert!((200..300).contains(&status), "delivery {n}: status {status}");
        assert!(took < Duration::from_secs(5), "delivery {n} took {took:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for n in 0..10 {
        let e = tokio::time::timeout(Duration::from_secs(5), events.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(e.data.conversation_id, format!("CA-valid-{n}"));
    }

    // Every abusive connection is closed by the server: 1 s timeouts, generous slack.
    let slack = Duration::from_secs(4);
    for (i, s) in idle.into_iter().enumerate() {
        let (sent, _) = until_closed(s, slack)
            .await
            .unwrap_or_else(|| panic!("idle connection {i} still open"));
        assert!(
            sent.is_empty() || sent.starts_with(b"HTTP/1.1 408"),
            "{:?}",
            String::from_utf8_lossy(&sent)
        );
    }
    for (i, l) in lorises.into_iter().enumerate() {
        let s = tokio::time::timeout(slack, l)
            .await
            .unwrap_or_else(|_| panic!("slowloris {i} still being read"))
            .unwrap();
        drop(s);
    }
    for b in slow_bodies {
        let answer = b.await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 408"), "slow body answered {answer:?}");
    }
    let (sent, closed_at) = until_closed(keep_alive, slack)
        .await
        .expect("the idle keep-alive connection is closed");
    assert!(String::from_utf8_lossy(&sent).starts_with("HTTP/1.1 405"), "{sent:?}");
    assert!(closed_at - opened < Duration::from_secs(8), "{:?}", closed_at - opened);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_server_closes_the_quietest_connection_to_let_a_delivery_in() {
    // Timeouts far beyond the test: only the cap and eviction can make room.
    let limits = ServeLimits {
        header_timeout: Duration::from_secs(120),
        request_timeout: Duration::from_secs(120),
        max_connections: 32,
    };
    let (addr, mut events) = start(limits).await;
    let mut idle = Vec::new();
    for _ in 0..100 {
        idle.push(TcpStream::connect(addr).await.unwrap());
    }
    let mut lorises = Vec::new();
    for _ in 0..20 {
        lorises.push(slowloris(TcpStream::connect(addr).await.unwrap()));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    for n in 0..20 {
        let (status, took) = deliver(addr, n).await;
        assert!((200..300).contains(&status), "delivery {n}: status {status}");
        assert!(took < Duration::from_secs(5), "delivery {n} took {took:?}");
    }
    for n in 0..20 {
        let e = tokio::time::timeout(Duration::from_secs(5), events.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(e.data.conversation_id, format!("CA-valid-{n}"));
    }
    // No more than the cap stayed open: the oldest idle ones were closed to make room.
    let mut closed = 0;
    for s in idle {
        if until_closed(s, Duration::from_millis(50)).await.is_some() {
            closed += 1;
        }
    }
    assert!(closed >= 100 + 20 - 32, "only {closed} of 100 idle connections closed");
    for l in lorises {
        l.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_bodies_share_a_memory_budget_and_deliveries_never_wait_on_it() {
    let mut config = ReceiverConfig::new(vec![SigningSecret::new(SECRET)]);
    config.body_budget_bytes = 200_000;
    let rx = receiver(config);
    let handle = rx.handle.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(
        listener,
        rx.router,
        ServeLimits::default(),
        std::future::pending(),
    ));
    let mut events = rx.events;

    // Three bodies of 500 kB declared, 150 kB sent, the rest never: each holds 150 kB minus
    // its free 64 KiB of the budget, and the budget fits two.
    let mut large = Vec::new();
    for _ in 0..3 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"POST /polyai-events HTTP/1.1\r\nHost: x\r\nContent-Length: 500000\r\n\r\n")
            .await
            .unwrap();
        s.write_all(&vec![b' '; 150_000]).await.unwrap();
        large.push(s);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (mut refused, mut still_reading) = (0, 0);
    for s in large {
        match until_closed(s, Duration::from_millis(500)).await {
            Some((sent, _)) => {
                assert!(
                    sent.starts_with(b"HTTP/1.1 503"),
                    "{:?}",
                    String::from_utf8_lossy(&sent)
                );
                refused += 1;
            }
            None => still_reading += 1,
        }
    }
    assert_eq!(
        (refused, still_reading),
        (1, 2),
        "one over the budget, two still reading"
    );
    assert_eq!(handle.stats().overloaded, 1);
    // A delivery meanwhile is a few kB: it never touches the budget.
    let (status, _) = deliver(addr, 0).await;
    assert_eq!(status, 204);
    assert!(events.recv().await.is_some());
}
