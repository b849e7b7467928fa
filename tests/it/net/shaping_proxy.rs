//! The benches' shaping proxy really delays and really caps: measured with bytes over time, within
//! wide bounds (the machine is shared; these are not speed assertions on callscope).

use std::time::{Duration, Instant};

use crate::support::shaping_proxy::{Link, Shape, ShapingProxy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Answers each byte received with `reply` bytes (so one side is small, the other large).
async fn upstream(reply: usize) -> std::net::SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let mut b = [0u8; 1];
                while let Ok(1) = s.read(&mut b).await {
                    if s.write_all(&vec![b[0]; reply]).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

async fn round_trip(s: &mut TcpStream, reply: usize) -> Duration {
    let t = Instant::now();
    s.write_all(b"x").await.unwrap();
    let mut got = vec![0u8; reply];
    s.read_exact(&mut got).await.unwrap();
    assert!(got.iter().all(|&b| b == b'x'), "bytes relayed unchanged");
    t.elapsed()
}

#[tokio::test]
async fn each_round_trip_waits_the_configured_delay() {
    let up = upstream(1).await;
    let shape = Shape {
        up: Link {
            delay: Duration::from_millis(120),
            bytes_per_sec: None,
        },
        down: Link {
            delay: Duration::from_millis(80),
            bytes_per_sec: None,
        },
    };
    let proxy = ShapingProxy::start(up, shape).await.unwrap();
    let mut s = TcpStream::connect(proxy.addr).await.unwrap();
    // Direct, the same exchange takes well under a millisecond; through the proxy ≥ 200 ms each.
    for _ in 0..3 {
        let rtt = round_trip(&mut s, 1).await;
        assert!(
            rtt >= Duration::from_millis(195),
            "round trip {rtt:?} is shorter than 120 + 80 ms"
        );
        assert!(
            rtt < Duration::from_secs(3),
            "round trip {rtt:?}: far more than the delay"
        );
    }
    assert_eq!((proxy.up_bytes(), proxy.down_bytes()), (3, 3));
}

#[tokio::test]
async fn the_rate_is_capped_per_direction() {
    // 1 byte up is answered by 400 KB down; down is capped at 2 Mbit/s (250 KB/s): ≥ 1.6 s.
    let reply = 400_000;
    let up = upstream(reply).await;
    let shape = Shape {
        up: Link {
            delay: Duration::ZERO,
            bytes_per_sec: Some(1_000_000_000),
        },
        down: Link {
            delay: Duration::ZERO,
            bytes_per_sec: Some(250_000),
        },
    };
    let proxy = ShapingProxy::start(up, shape).await.unwrap();
    let mut s = TcpStream::connect(proxy.addr).await.unwrap();
    let took = round_trip(&mut s, reply).await;
    let rate = reply as f64 / took.as_secs_f64();
    assert!(
        took >= Duration::from_millis(1500),
        "400 KB at 250 KB/s took only {took:?}"
    );
    assert!(
        rate > 50_000.0,
        "{rate:.0} B/s: far below the cap, the proxy is stalling"
    );
    assert_eq!(proxy.down_bytes(), reply as u64);

    // The same proxy shape turned around: capping only "up" leaves the large reply fast.
    let fast = Shape {
        up: shape.down,
        down: shape.up,
    };
    let proxy = ShapingProxy::start(up, fast).await.unwrap();
    let mut s = TcpStream::connect(proxy.addr).await.unwrap();
    let took = round_trip(&mut s, reply).await;
    assert!(took < Duration::from_millis(1000), "uncapped direction took {took:?}");
}

#[tokio::test]
async fn a_symmetric_shape_splits_the_rtt() {
    let s = Shape::rtt(Duration::from_millis(80), 100_000_000);
    assert_eq!(s.up.delay, Duration::from_millis(40));
    assert_eq!(s.down.bytes_per_sec, Some(12_500_000));
    assert_eq!(s.describe(), "80 ms RTT, 100 Mbit/s down / 100 Mbit/s up");
}

#[tokio::test]
async fn a_new_connection_costs_a_round_trip_and_is_counted() {
    let up = upstream(1).await;
    let proxy = ShapingProxy::start(up, Shape::rtt(Duration::from_millis(100), 1_000_000_000))
        .await
        .unwrap();
    let mut s = TcpStream::connect(proxy.addr).await.unwrap();
    // The handshake's round trip, then the request's.
    let first = round_trip(&mut s, 1).await;
    assert!(
        first >= Duration::from_millis(195),
        "first exchange {first:?} skipped the handshake"
    );
    let again = round_trip(&mut s, 1).await;
    assert!(
        again >= Duration::from_millis(95) && again < first,
        "a kept-alive exchange {again:?} vs the first {first:?}"
    );
    let _other = TcpStream::connect(proxy.addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(proxy.connections(), 2);
}

#[tokio::test]
async fn connections_share_one_link() {
    // Two connections, 200 KB down each, at 250 KB/s shared: ≥ 1.6 s for both, not 0.8 s.
    let reply = 200_000;
    let up = upstream(reply).await;
    let link = Link {
        delay: Duration::ZERO,
        bytes_per_sec: Some(250_000),
    };
    let proxy = ShapingProxy::start(up, Shape { up: link, down: link }).await.unwrap();
    let t = Instant::now();
    let one = async {
        let mut s = TcpStream::connect(proxy.addr).await.unwrap();
        round_trip(&mut s, reply).await
    };
    let (a, b) = tokio::join!(one, async {
        let mut s = TcpStream::connect(proxy.addr).await.unwrap();
        round_trip(&mut s, reply).await
    });
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(1500),
        "2 × 200 KB at 250 KB/s in {took:?} ({a:?}, {b:?}): the link is not shared"
    );
    assert!(took < Duration::from_secs(8), "{took:?}: far below the cap");
    assert_eq!(proxy.down_bytes(), 2 * reply as u64);
}
