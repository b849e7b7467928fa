//! `serve-demo --shape v3|platform|mixed` over real loopback HTTP: which v3 routes are missing,
//! the platform by-id object's shape, the platform list's paging, `sample=random`, and
//! `callscope export` against the mixed shape.

use crate::support as common;

use std::collections::{HashMap, HashSet};
use std::process::Command;

use callscope::standin::{self, Shape, Standin, StandinOptions};
use serde_json::Value;

const N: usize = 200;

async fn standin(shape: Shape) -> Standin {
    standin::start(StandinOptions {
        conversations: N,
        shape,
        ..Default::default()
    })
    .await
    .expect("stand-in starts")
}

thread_local! {
    /// One client per test (its pool belongs to that test's runtime): building one per request
    /// costs more than the request.
    static CLIENT: reqwest::Client = reqwest::Client::new();
}

fn http() -> reqwest::Client {
    CLIENT.with(Clone::clone)
}

async fn get(s: &Standin, url: String) -> (u16, Value) {
    let r = http().get(url).header("x-api-key", &s.api_key).send().await.unwrap();
    let status = r.status().as_u16();
    let body = r.bytes().await.unwrap();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn v3_url(s: &Standin, tail: &str) -> String {
    format!(
        "{}/v3/{}/{}/conversations{tail}",
        s.runtime_url, s.account_id, s.project_id
    )
}

fn agents_url(s: &Standin, tail: &str) -> String {
    format!("{}/v1/agents/{}/conversations{tail}", s.platform_url, s.project_id)
}

/// (id, is voice) of every conversation, in data-set order.
fn all_ids(s: &Standin) -> Vec<(String, bool)> {
    s.dataset()
        .read(|d| d.entries().iter().map(|e| (e.id.to_string(), e.is_voice())).collect())
}

/// The ids whose v3 by-id answer was the route-missing 404; checks every other answer is a 200
/// conversation, and that the audio route is missing exactly where the by-id one is.
async fn v3_by_id_missing(s: &Standin) -> HashSet<String> {
    let mut missing = HashSet::new();
    let mut audio_checked = 0;
    for (id, voice) in all_ids(s) {
        let (status, body) = get(s, v3_url(s, &format!("/{id}"))).await;
        let gone = match status {
            404 => {
                assert_eq!(body["error_code"], "NOT_FOUND", "the route-missing envelope: {body}");
                true
            }
            200 => {
                assert_eq!(
                    body["id"].as_str(),
                    Some(id.as_str()),
                    "the documented snake_case object"
                );
                assert!(body.get("conversationId").is_none());
                false
            }
            other => panic!("{id}: {other} {body}"),
        };
        if gone {
            missing.insert(id.clone());
        }
        if voice && audio_checked < 25 {
            audio_checked += 1;
            let r = http()
                .get(v3_url(s, &format!("/{id}/audio")))
                .header("x-api-key", &s.api_key)
                .header("range", "bytes=0-99")
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            if gone {
                assert_eq!(status, 404, "{id}: audio missing with by-id");
                let body: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
                assert_eq!(body["error_code"], "NOT_FOUND");
            } else {
                assert!(matches!(status, 200 | 206), "{id}: audio {status}");
            }
        }
    }
    missing
}

#[tokio::test]
async fn each_shape_has_its_v3_routes() {
    let v3 = standin(Shape::V3).await;
    assert_eq!(v3_by_id_missing(&v3).await.len(), 0, "v3: every route present");
    let platform = standin(Shape::Platform).await;
    assert_eq!(
        v3_by_id_missing(&platform).await.len(),
        N,
        "platform: v3 by-id always missing"
    );
    let mixed = standin(Shape::Mixed).await;
    let missing = v3_by_id_missing(&mixed).await;
    assert!(
        (35..=85).contains(&missing.len()),
        "mixed: ~30% of {N} missing, got {}",
        missing.len()
    );
    // Deterministic from the seed and the id: the same calls on every run.
    let seed = StandinOptions::default().seed;
    let expected: HashSet<String> = all_ids(&mixed)
        .into_iter()
        .map(|(id, _)| id)
        .filter(|id| Shape::Mixed.v3_by_id_missing(seed, id))
        .collect();
    assert_eq!(missing, expected);

    // The v3 list is the documented one in every shape.
    for s in [&v3, &platform, &mixed] {
        let (status, page) = get(s, v3_url(s, "?limit=5")).await;
        assert_eq!(status, 200);
        assert!(page["conversations"][0]["id"].is_string() && page["cursor"].is_string());
        assert!(page["conversations"][0].get("conversationId").is_none());
    }
}

#[tokio::test]
async fn the_platform_by_id_takes_the_real_shape_outside_v3() {
    for shape in [Shape::V3, Shape::Platform, Shape::Mixed] {
        let s = standin(shape).await;
        let (mut relative, mut object_latency, mut turn_ids) = (0, 0, 0);
        for (id, voice) in all_ids(&s).into_iter().take(60) {
            let (status, c) = get(&s, agents_url(&s, &format!("/{id}"))).await;
            assert_eq!(status, 200, "{shape:?} {id}: {c}");
            assert_eq!(c["conversationId"].as_str(), Some(id.as_str()));
            assert!(c["turns"].is_array() && c["functionEvents"].is_object());
            let audio = c["audioUrl"].as_str().unwrap_or_default();
            relative += usize::from(voice && audio == format!("conversations/{id}/audio"));
            let turns = c["turns"].as_array().unwrap();
            object_latency += turns
                .iter()
                .filter(|t| t["latency"]["perceived_latency"].is_f64())
                .count();
            turn_ids += turns.iter().filter(|t| t["turn_id"].is_u64()).count();
        }
        if shape == Shape::V3 {
            assert_eq!((relative, object_latency, turn_ids), (0, 0, 0), "documented shape");
        } else {
            assert!(relative > 10 && object_latency > 10 && turn_ids > 10, "{shape:?}");
        }
        let (status, e) = get(&s, agents_url(&s, "/CA0000")).await;
        assert_eq!(
            (status, e["error_code"].as_str()),
            (404, Some("CONVERSATIONS_NOT_FOUND"))
        );
    }
}

#[tokio::test]
async fn the_platform_list_pages_with_count_limit_and_offset_in_every_shape() {
    for shape in [Shape::V3, Shape::Platform, Shape::Mixed] {
        let s = standin(shape).await;
        let (status, first) = get(&s, agents_url(&s, "")).await;
        assert_eq!(status, 200);
        assert_eq!(
            (
                first["count"].as_u64(),
                first["limit"].as_u64(),
                first["offset"].as_u64()
            ),
            (Some(N as u64), Some(50), Some(0))
        );
        assert_eq!(
            first["conversations"].as_array().unwrap().len(),
            50,
            "count is the total, not the page"
        );

        let mut seen = Vec::new();
        let mut offset = 0;
        loop {
            let (status, page) = get(&s, agents_url(&s, &format!("?limit=70&offset={offset}"))).await;
            assert_eq!(status, 200);
            assert_eq!(
                (page["count"].as_u64(), page["limit"].as_u64(), page["offset"].as_u64()),
                (Some(N as u64), Some(70), Some(offset as u64))
            );
            let items = page["conversations"].as_array().unwrap();
            for item in items {
                assert!(
                    item.get("turns").is_none() && item.get("functionEvents").is_none(),
                    "{shape:?}: no turns in the list"
                );
                seen.push(item["conversationId"].as_str().unwrap().to_string());
            }
            if items.is_empty() {
                break;
            }
            offset += items.len();
        }
        let unique: HashSet<&String> = seen.iter().collect();
        assert_eq!((seen.len(), unique.len()), (N, N), "{shape:?}: every conversation once");
        let ids: HashSet<String> = all_ids(&s).into_iter().map(|(id, _)| id).collect();
        assert!(seen.iter().all(|id| ids.contains(id)));
        // Newest first.
        let newest = s.dataset().read(|d| d.entries().last().unwrap().id.to_string());
        assert_eq!(seen[0], newest);

        let (_, sandbox) = get(&s, agents_url(&s, "?client_env=sandbox&limit=1000")).await;
        let n = sandbox["count"].as_u64().unwrap();
        assert!(n > 0 && n < N as u64);
        assert!(
            sandbox["conversations"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["clientEnv"] == "sandbox")
        );
        for bad in ["limit=0", "limit=1001", "offset=-1", "limit=x"] {
            let (status, e) = get(&s, agents_url(&s, &format!("?{bad}"))).await;
            assert_eq!(
                (status, e["error_code"].as_str()),
                (400, Some("CONVERSATIONS_VALIDATION_FAILED")),
                "{bad}"
            );
        }
    }
}

#[tokio::test]
async fn sample_random_is_reproducible_per_seed_and_uniform_over_the_filtered_window() {
    // The sampling is the same code in every shape: reproducibility is checked in each, the
    // distribution once.
    for shape in [Shape::Mixed, Shape::V3, Shape::Platform] {
        let s = standin::start(StandinOptions {
            conversations: 600,
            shape,
            ..Default::default()
        })
        .await
        .unwrap();
        let now = s.dataset().now();
        let (start, end) = (now - chrono::Duration::days(20), now - chrono::Duration::days(2));
        let fmt = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
        let window = format!("start_time={}&end_time={}&client_env=live", fmt(start), fmt(end));
        let (s_ms, e_ms) = (start.timestamp_millis(), end.timestamp_millis());
        let eligible: Vec<String> = s.dataset().read(|d| {
            d.entries()
                .iter()
                .filter(|e| e.started_ms >= s_ms && e.started_ms < e_ms && *e.environment == *"live")
                .map(|e| e.id.to_string())
                .collect()
        });
        // The data set is generated around the present, so the window's count moves with the
        // clock (198 seen in one run); 150 still gives each call ~8 draws over 60 seeds below.
        assert!(eligible.len() > 150, "{}", eligible.len());
        let sample = |seed: u64| {
            let url = v3_url(&s, &format!("?sample=random&limit=20&seed={seed}&{window}"));
            let s = &s;
            async move {
                let (status, page) = get(s, url).await;
                assert_eq!(status, 200, "{page}");
                page["conversations"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c["id"].as_str().unwrap().to_string())
                    .collect::<Vec<_>>()
            }
        };
        let a = sample(5).await;
        assert_eq!(a.len(), 20);
        assert_eq!(a, sample(5).await, "same seed, same sample");
        assert_ne!(a, sample(6).await, "another seed, another sample");
        if shape != Shape::Mixed {
            continue;
        }

        // Uniform-ish: over many seeds, each fifth of the window (in time order) is drawn about
        // equally often, and nothing outside the filtered window ever is.
        let position: HashMap<&str, usize> = eligible.iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect();
        let mut fifths = [0usize; 5];
        let mut distinct = HashSet::new();
        for seed in 0..60 {
            for id in sample(seed).await {
                let i = *position
                    .get(id.as_str())
                    .unwrap_or_else(|| panic!("{id} is outside the filtered window"));
                fifths[i * 5 / eligible.len()] += 1;
                distinct.insert(id);
            }
        }
        let expected = 60 * 20 / 5;
        assert!(
            fifths.iter().all(|&f| f * 4 > expected * 3 && f * 4 < expected * 5),
            "{shape:?}: {fifths:?} (expected ~{expected} each)"
        );
        assert!(
            distinct.len() * 10 > eligible.len() * 9,
            "{shape:?}: most eligible calls drawn at least once"
        );
        let (status, e) = get(&s, v3_url(&s, &format!("?sample=random&seed=minus&{window}"))).await;
        assert_eq!(
            (status, e["error_code"].as_str()),
            (400, Some("CONVERSATIONS_VALIDATION_FAILED"))
        );
    }
}

#[test]
fn export_jsonl_works_against_the_mixed_shape() {
    let (_server, vars) = common::serve_demo(&["--shape", "mixed", "--conversations", "400"]);
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_callscope"))
        .args(["export", "--since", "24h", "--format", "jsonl", "--page-size", "50"])
        .envs(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("XDG_DATA_HOME", home.path().join("data"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert!(lines.len() >= 50, "{} lines; {stderr}", lines.len());
    assert!(
        stderr.contains(&format!("exported {} conversations", lines.len())),
        "{stderr}"
    );
    let ids: HashSet<&str> = lines.iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), lines.len(), "no duplicates");
    assert!(
        lines
            .iter()
            .all(|l| l["environment"] == "live" && l["turns"].is_array())
    );
}
