//! Compression (issue 16): the client asks for gzip, br and zstd; the stand-in compresses JSON
//! when asked (and never a recording, whose byte ranges must stay WAV offsets). Bytes on the wire
//! are counted by the benches' proxy: a page and a transcript, before and after.

use crate::support as common;

use std::time::Duration;

use crate::support::shaping_proxy::{Link, Shape, ShapingProxy};
use callscope::api::{Client, ListQuery};
use callscope::config::{Config, ConnectionArgs, FileConfig};
use callscope::standin::{self, Standin, StandinOptions};

const OPEN: Link = Link {
    delay: Duration::ZERO,
    bytes_per_sec: None,
};

async fn proxy(s: &Standin) -> ShapingProxy {
    let upstream = s.runtime_url.trim_start_matches("http://").parse().unwrap();
    ShapingProxy::start(upstream, Shape { up: OPEN, down: OPEN })
        .await
        .unwrap()
}

fn client_via(s: &Standin, p: &ShapingProxy) -> Client {
    let key = s.api_key.clone();
    let args = ConnectionArgs {
        base_url: Some(format!("http://{}", p.addr)),
        ..common::conn_args(s)
    };
    let cfg = Config::resolve_with_file(
        &args,
        &move |k| (k == "POLYAI_API_KEY").then(|| key.clone()),
        FileConfig::default(),
    )
    .unwrap();
    Client::new(&cfg).unwrap()
}

/// A client that decodes nothing, so the `Accept-Encoding` it sends is only the one given.
fn plain() -> reqwest::Client {
    reqwest::Client::builder()
        .no_gzip()
        .no_brotli()
        .no_zstd()
        .build()
        .unwrap()
}

#[tokio::test]
async fn pages_and_transcripts_travel_compressed_and_decode_to_the_same_bytes() {
    let s = standin::start(StandinOptions::default()).await.unwrap();
    let query = ListQuery {
        limit: Some(200),
        include_latency: true,
        ..Default::default()
    };

    // After: callscope's client, which asks for compression.
    let p = proxy(&s).await;
    let body = client_via(&s, &p).list_page_raw(&query).await.unwrap();
    let page_wire = p.down_bytes();
    let page: serde_json::Value = serde_json::from_slice(body.bytes()).unwrap();
    let id = page["conversations"][0]["id"].as_str().unwrap().to_string();
    let p2 = proxy(&s).await;
    let transcript = client_via(&s, &p2).conversation(&id).await.unwrap();
    assert!(!transcript.turns.is_empty());
    let transcript_wire = p2.down_bytes();

    // Before: the same requests without Accept-Encoding.
    let raw = |p: &ShapingProxy, path: String| {
        let url = format!("http://{}{path}", p.addr);
        let key = s.api_key.clone();
        async move {
            let r = plain().get(url).header("x-api-key", key).send().await.unwrap();
            assert!(r.status().is_success());
            assert!(r.headers().get("content-encoding").is_none());
            r.bytes().await.unwrap()
        }
    };
    let base = format!("/v3/{}/{}/conversations", s.account_id, s.project_id);
    let p3 = proxy(&s).await;
    let identity_page = raw(&p3, format!("{base}?limit=200&include_latency=true")).await;
    let page_identity_wire = p3.down_bytes();
    assert!(identity_page == body.bytes(), "decoded page = identity page");
    let p4 = proxy(&s).await;
    raw(&p4, format!("{base}/{id}")).await;
    let transcript_identity_wire = p4.down_bytes();

    println!(
        "page of 200: {page_identity_wire} → {page_wire} bytes on the wire ({:.1}x); transcript: {transcript_identity_wire} → {transcript_wire} bytes ({:.1}x)",
        page_identity_wire as f64 / page_wire as f64,
        transcript_identity_wire as f64 / transcript_wire as f64
    );
    assert!(
        page_wire * 3 < page_identity_wire,
        "{page_wire} vs {page_identity_wire}"
    );
    assert!(
        transcript_wire * 2 < transcript_identity_wire,
        "{transcript_wire} vs {transcript_identity_wire}"
    );
}

#[tokio::test]
async fn the_stand_in_answers_each_asked_encoding_and_leaves_recordings_alone() {
    let s = standin::start(StandinOptions::default()).await.unwrap();
    let base = format!("{}/v3/{}/{}/conversations", s.runtime_url, s.account_id, s.project_id);
    let get = |url: String, enc: &'static str| {
        let key = s.api_key.clone();
        async move {
            plain()
                .get(url)
                .header("x-api-key", key)
                .header("accept-encoding", enc)
                .send()
                .await
                .unwrap()
        }
    };
    for enc in ["gzip", "br", "zstd"] {
        let r = get(format!("{base}?limit=20"), enc).await;
        assert_eq!(r.headers().get("content-encoding").unwrap(), enc);
    }
    let r = get(format!("{base}?limit=20"), "identity").await;
    assert!(r.headers().get("content-encoding").is_none());
    let page: serde_json::Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    let voice = page["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["channel"] == "VOICE-SIP")
        .expect("a voice call in 20")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let audio = get(format!("{base}/{voice}/audio"), "gzip, br, zstd").await;
    assert!(audio.status().is_success(), "{}", audio.status());
    assert!(
        audio.headers().get("content-encoding").is_none(),
        "a recording stays identity-encoded"
    );
}
