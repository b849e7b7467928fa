//! The stand-in API over real loopback HTTP: paging, filters, auth, errors, rate limits, by-id.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use callscope::api::model::Conversation;
use callscope::api::{Client, ListQuery, error::ErrorKind};
use callscope::config::{Config, ConnectionArgs, FileConfig};
use callscope::standin::{self, Standin, StandinOptions};
use chrono::Utc;
use serde_json::Value;

async fn standin(conversations: usize, rate_limit: u32) -> Standin {
    standin::start(StandinOptions {
        conversations,
        rate_limit,
        ..Default::default()
    })
    .await
    .expect("stand-in starts")
}

fn client_for(s: &Standin, base_url: &str, project: &str, key: Option<&str>) -> Client {
    let args = ConnectionArgs {
        base_url: Some(base_url.to_string()),
        platform_url: Some(s.platform_url.clone()),
        account_id: Some(s.account_id.clone()),
        project_id: Some(project.to_string()),
        ..Default::default()
    };
    let key = key.map(str::to_string);
    let cfg = Config::resolve_with_file(
        &args,
        &|k| (k == "POLYAI_API_KEY").then(|| key.clone()).flatten(),
        FileConfig::default(),
    )
    .unwrap();
    Client::new(&cfg).unwrap()
}

fn client(s: &Standin) -> Client {
    client_for(s, &s.runtime_url, &s.project_id, Some(&s.api_key))
}

fn list_url(s: &Standin) -> String {
    format!("{}/v3/{}/{}/conversations", s.runtime_url, s.account_id, s.project_id)
}

async fn json(r: reqwest::Response) -> Value {
    serde_json::from_slice(&r.bytes().await.unwrap()).unwrap()
}

async fn walk(c: &Client, query: ListQuery) -> Vec<Conversation> {
    let mut pager = c.pages(query);
    let mut out = Vec::new();
    while let Some(page) = pager.next_page().await {
        out.extend(page.expect("page").conversations);
    }
    out
}

#[tokio::test]
async fn page_sizes_1_7_200_yield_the_same_ids_without_duplicates() {
    let s = standin(400, 0).await;
    let c = client(&s);
    let expected: HashSet<String> = s.dataset().read(|d| {
        d.entries()
            .iter()
            .filter(|e| &*e.environment == "live")
            .map(|e| e.id.to_string())
            .collect()
    });
    assert!(expected.len() > 250);
    for limit in [1, 7, 200] {
        let all = walk(
            &c,
            ListQuery {
                limit: Some(limit),
                ..Default::default()
            },
        )
        .await;
        let ids: Vec<String> = all.iter().map(|c| c.id.clone()).collect();
        let set: HashSet<String> = ids.iter().cloned().collect();
        assert_eq!(set.len(), ids.len(), "duplicates with limit {limit}");
        assert_eq!(set, expected, "limit {limit}");
        assert!(
            all.windows(2).all(|w| w[0].started_at <= w[1].started_at),
            "ascending by started_at"
        );
    }
}

#[tokio::test]
async fn inserting_while_paging_neither_breaks_nor_repeats_the_walk() {
    let s = standin(300, 0).await;
    let c = client(&s);
    let mut pager = c.pages(ListQuery {
        limit: Some(25),
        ..Default::default()
    });
    let mut ids = Vec::new();
    let first = pager.next_page().await.unwrap().unwrap();
    ids.extend(first.conversations.iter().map(|c| c.id.clone()));
    let data = s.dataset();
    // One call that happens after everything seen so far, one before the cursor.
    let late = data.synthesize(1, Utc::now(), "live", false);
    let early = data.synthesize(2, data.now() - chrono::Duration::days(40), "live", false);
    let (late_id, early_id) = (data.insert(late), s.insert(early));
    while let Some(page) = pager.next_page().await {
        ids.extend(page.unwrap().conversations.into_iter().map(|c| c.id));
    }
    let set: HashSet<&String> = ids.iter().collect();
    assert_eq!(set.len(), ids.len(), "no conversation twice");
    assert!(ids.contains(&late_id), "a new call after the cursor shows up");
    assert!(!ids.contains(&early_id), "a call before the cursor is not replayed");
    assert_eq!(
        ids.len(),
        s.dataset()
            .read(|d| d.entries().iter().filter(|e| &*e.environment == "live").count())
            - 1
    );
}

#[tokio::test]
async fn auth_and_host_family_errors_map_to_client_error_kinds() {
    let s = standin(50, 0).await;
    let q = ListQuery::default();

    let no_key = client_for(&s, &s.runtime_url, &s.project_id, None);
    let e = no_key.list_page(&q).await.unwrap_err();
    assert_eq!((e.kind.clone(), e.status), (ErrorKind::Unauthorized, Some(401)));
    assert_eq!(e.code.as_deref(), Some("AUTH_USER_UNAUTHORISED"));

    let wrong = client_for(&s, &s.runtime_url, &s.project_id, Some("sk-wrong"));
    assert_eq!(wrong.list_page(&q).await.unwrap_err().kind, ErrorKind::Unauthorized);

    let other = client_for(&s, &s.runtime_url, &s.project_id, Some(&s.other_api_key));
    let e = other.list_page(&q).await.unwrap_err();
    assert_eq!((e.kind.clone(), e.status), (ErrorKind::Forbidden, Some(403)));
    assert_eq!(e.code.as_deref(), Some("ACCOUNT_INSUFFICIENT_PERMISSIONS"));
    // The other key on its own project works (and that project is empty).
    let own = client_for(&s, &s.runtime_url, &s.other_project_id, Some(&s.other_api_key));
    let page = own.list_page(&q).await.unwrap();
    assert!(page.conversations.is_empty() && page.cursor.is_none());

    let unknown = client_for(&s, &s.runtime_url, "PROJECT-nope", Some(&s.api_key));
    let e = unknown.list_page(&q).await.unwrap_err();
    assert_eq!(
        (e.kind.clone(), e.code.as_deref()),
        (ErrorKind::NotFound, Some("PROJECT_NOT_FOUND"))
    );

    // Conversations asked of the platform host, and the agents path asked of the runtime host.
    // The platform host has no v3 list: the client lists through its Data API instead (paged by
    // offset; its items carry no turns).
    let swapped = client_for(&s, &s.platform_url, &s.project_id, Some(&s.api_key));
    let page = swapped.list_page(&q).await.unwrap();
    assert!(!page.conversations.is_empty());
    assert!(page.conversations.iter().all(|c| c.turns.is_empty()));
    let id = s.dataset().read(|d| d.entries()[0].id.to_string());
    let runtime_as_platform = {
        let args = ConnectionArgs {
            base_url: Some(s.runtime_url.clone()),
            platform_url: Some(s.runtime_url.clone()),
            account_id: Some(s.account_id.clone()),
            project_id: Some(s.project_id.clone()),
            ..Default::default()
        };
        let key = s.api_key.clone();
        Client::new(
            &Config::resolve_with_file(
                &args,
                &|k| (k == "POLYAI_API_KEY").then(|| key.clone()),
                FileConfig::default(),
            )
            .unwrap(),
        )
        .unwrap()
    };
    let e = runtime_as_platform.conversation_via_agents(&id).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::WrongHost);

    let e = client(&s).conversation("CA0000").await.unwrap_err();
    assert_eq!(
        (e.kind.clone(), e.code.as_deref()),
        (ErrorKind::NotFound, Some("CONVERSATIONS_NOT_FOUND"))
    );
}

#[tokio::test]
async fn errors_carry_the_six_field_envelope_and_correlation_header() {
    let s = standin(50, 0).await;
    let http = reqwest::Client::new();
    let cases: &[(&str, u16, &str)] = &[
        ("limit=0", 400, "CONVERSATIONS_VALIDATION_FAILED"),
        ("limit=1001", 400, "CONVERSATIONS_VALIDATION_FAILED"),
        ("cursor=not-a-cursor", 400, "CONVERSATIONS_VALIDATION_FAILED"),
        ("start_time=yesterday", 400, "CONVERSATIONS_VALIDATION_FAILED"),
        (
            "start_time=2026-02-01T00:00:00Z&end_time=2026-01-01T00:00:00Z",
            400,
            "CONVERSATIONS_VALIDATION_FAILED",
        ),
        ("query_type=transcript", 400, "CONVERSATIONS_VALIDATION_FAILED"),
        ("client_env=prod", 400, "CONVERSATIONS_VALIDATION_FAILED"),
        ("variant_id=a&variant_name=b", 400, "CONVERSATIONS_VALIDATION_FAILED"),
    ];
    for (q, status, code) in cases {
        let r = http
            .get(format!("{}?{q}", list_url(&s)))
            .header("x-api-key", &s.api_key)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), *status, "{q}");
        let cid = r.headers()["x-polyai-correlation-id"].to_str().unwrap().to_string();
        let body: Value = json(r).await;
        let obj = body.as_object().unwrap();
        assert_eq!(obj.len(), 6, "{body}");
        assert_eq!(body["success"], false);
        assert_eq!(body["error_code"], *code, "{q}");
        assert_eq!(body["error_id"], cid);
        assert!(body["data"].is_null());
        assert!(!body["error_message"].as_str().unwrap().is_empty());
    }
    // Success answers carry a correlation id too.
    let r = http
        .get(list_url(&s))
        .header("x-api-key", &s.api_key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("x-polyai-correlation-id"));
    let e = client(&s)
        .list_page(&ListQuery {
            cursor: Some("garbage".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadRequest);
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after_and_the_client_waits() {
    let s = standin(50, 1).await;
    let http = reqwest::Client::new();
    let mut limited = None;
    for _ in 0..3 {
        let r = http
            .get(list_url(&s))
            .header("x-api-key", &s.api_key)
            .send()
            .await
            .unwrap();
        if r.status() == 429 {
            limited = Some(r);
            break;
        }
    }
    let r = limited.expect("a burst over 1 request/s is refused");
    let retry: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry >= 1);
    let body: Value = json(r).await;
    assert_eq!(body["error_code"], "RATE_LIMIT_EXCEEDED");

    // The bucket is empty now: the client's request gets a 429 first and must wait it out.
    let c = client(&s);
    let t = Instant::now();
    let page = c
        .list_page(&ListQuery {
            limit: Some(1),
            ..Default::default()
        })
        .await
        .expect("succeeds after waiting");
    assert_eq!(page.conversations.len(), 1);
    assert!(t.elapsed() >= Duration::from_secs(retry), "{:?}", t.elapsed());
}

#[tokio::test]
async fn filters_env_channel_in_progress_latency_and_variant() {
    let s = standin(1500, 0).await;
    let c = client(&s);
    let all = |q: ListQuery| walk(&c, ListQuery { limit: Some(500), ..q });

    let sandbox = all(ListQuery {
        client_env: Some("sandbox".into()),
        ..Default::default()
    })
    .await;
    assert!(!sandbox.is_empty() && sandbox.iter().all(|c| c.environment == "sandbox"));

    let chats = all(ListQuery {
        channels: vec!["webchat".into(), "Chat".into()],
        ..Default::default()
    })
    .await;
    assert!(chats.iter().any(|c| c.channel == "WEBCHAT") && chats.iter().any(|c| c.channel == "CHAT"));
    assert!(chats.iter().all(|c| c.channel == "WEBCHAT" || c.channel == "CHAT"));

    let live_now = all(ListQuery {
        in_progress: Some(true),
        ..Default::default()
    })
    .await;
    assert!(!live_now.is_empty() && live_now.iter().all(|c| c.in_progress));
    let done = all(ListQuery {
        in_progress: Some(false),
        ..Default::default()
    })
    .await;
    assert!(done.iter().all(|c| !c.in_progress));
    let everything = all(ListQuery::default()).await;
    assert_eq!(live_now.len() + done.len(), everything.len());

    let variant = all(ListQuery {
        variant_id: Some("friendly-v2".into()),
        ..Default::default()
    })
    .await;
    assert!(!variant.is_empty() && variant.iter().all(|c| c.variant_id == "friendly-v2"));

    // Latency only when asked for.
    let http = reqwest::Client::new();
    for (flag, present) in [("", false), ("&include_latency=true", true)] {
        let body = http
            .get(format!("{}?limit=20{flag}", list_url(&s)))
            .header("x-api-key", &s.api_key)
            .send()
            .await
            .unwrap();
        let body = json(body).await;
        let turns: Vec<&Value> = body["conversations"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| c["turns"].as_array().unwrap())
            .collect();
        assert!(!turns.is_empty());
        assert!(turns.iter().all(|t| t.get("latency").is_some() == present), "{flag}");
    }

    // Time window: [start, end).
    let now = s.dataset().now();
    let day = all(ListQuery {
        start_time: Some(now - chrono::Duration::hours(24)),
        end_time: Some(now),
        ..Default::default()
    })
    .await;
    assert!(day.len() >= 100, "{}", day.len());
    assert!(
        day.iter()
            .all(|c| c.started_at.unwrap() >= now - chrono::Duration::hours(24))
    );
}

#[tokio::test]
async fn transcript_search_is_case_insensitive_and_respects_turn_type() {
    let s = standin(800, 0).await;
    let c = client(&s);
    let now = s.dataset().now();
    let window = |q: &str, turn_type: Option<&str>| ListQuery {
        start_time: Some(now - chrono::Duration::days(31)),
        end_time: Some(now + chrono::Duration::minutes(1)),
        limit: Some(50),
        search: Some(callscope::api::TranscriptSearch {
            query: q.into(),
            turn_type: turn_type.map(str::to_string),
        }),
        ..Default::default()
    };
    let user_hits = walk(&c, window("TABLE", Some("user"))).await;
    assert!(!user_hits.is_empty());
    for conv in &user_hits {
        assert!(
            conv.transcript_hidden()
                || conv.turns.iter().any(|t| {
                    // Foreign-language callers match on their translation.
                    (t.user_input.clone() + &t.translated_user_input)
                        .to_lowercase()
                        .contains("table")
                }),
            "{}",
            conv.id
        );
    }
    // "transfer" is only ever said by the agent.
    let agent_only = walk(&c, window("transfer", Some("user"))).await;
    assert!(agent_only.is_empty(), "{}", agent_only.len());
    let agent = walk(&c, window("transfer", Some("agent"))).await;
    assert!(!agent.is_empty());
    let total_live = s
        .dataset()
        .read(|d| d.entries().iter().filter(|e| &*e.environment == "live").count());
    assert!(agent.len() < total_live);
}

#[tokio::test]
async fn hidden_transcripts_keep_their_turn_count() {
    let s = standin(1500, 0).await;
    let c = client(&s);
    let all = walk(
        &c,
        ListQuery {
            limit: Some(1000),
            ..Default::default()
        },
    )
    .await;
    let hidden: Vec<&Conversation> = all.iter().filter(|c| c.transcript_hidden()).collect();
    assert!(!hidden.is_empty());
    let by_id = c.conversation(&hidden[0].id).await.unwrap();
    assert!(by_id.turns.is_empty() && by_id.num_turns.unwrap() > 0);
}

#[tokio::test]
async fn by_id_routes_in_both_shapes() {
    let s = standin(200, 0).await;
    let c = client(&s);
    let page = c
        .list_page(&ListQuery {
            limit: Some(50),
            include_latency: true,
            ..Default::default()
        })
        .await
        .unwrap();
    // A finished voice call: a chat has no audio, and one still in progress has no
    // per-utterance audio yet (which call comes first depends on the hour of the day).
    let listed = page
        .conversations
        .iter()
        .find(|c| !c.turns.is_empty() && !c.in_progress && c.is_voice())
        .unwrap();
    let v3 = c.conversation(&listed.id).await.unwrap();
    assert_eq!(&v3, listed);

    let agents = c.conversation_via_agents(&listed.id).await.unwrap();
    assert_eq!(agents.id, listed.id);
    assert_eq!(agents.environment, listed.environment);
    assert_eq!(agents.started_at, listed.started_at);
    assert_eq!(agents.total_duration, listed.total_duration);
    // The platform object adds each caller turn's relative per-utterance audio URL.
    for (n, t) in agents.turns.iter().enumerate() {
        let has_audio = !t.user_input.is_empty() || !t.user_input_dtmf.is_empty();
        let want = format!("conversations/{}/turns/{n}/audio", listed.id);
        assert_eq!(
            t.user_input_audio_url,
            if has_audio { want } else { String::new() },
            "turn {n}: {t:?}"
        );
    }
    let mut without_urls = agents.turns.clone();
    without_urls.iter_mut().for_each(|t| t.user_input_audio_url.clear());
    assert_eq!(without_urls, listed.turns);

    let raw = reqwest::Client::new()
        .get(format!(
            "{}/v1/agents/{}/conversations/{}",
            s.platform_url, s.project_id, listed.id
        ))
        .header("x-api-key", &s.api_key)
        .send()
        .await
        .unwrap();
    let raw = json(raw).await;
    for key in [
        "conversationId",
        "accountId",
        "projectId",
        "clientEnv",
        "startedAt",
        "totalDuration",
    ] {
        assert!(raw.get(key).is_some(), "{key} in {raw}");
    }
    assert!(raw.get("conversation_id").is_none() && raw.get("started_at").is_none());
    assert!(raw["turns"][0].get("user_input").is_some(), "turns stay snake_case");
}

#[tokio::test]
async fn dropping_the_standin_stops_its_listeners() {
    let s = standin(10, 0).await;
    let url = list_url(&s);
    drop(s);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let r = reqwest::Client::new()
        .get(url)
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    assert!(r.is_err(), "the listener is closed");
}

async fn get_json(s: &Standin, query: &str) -> Value {
    let r = reqwest::Client::new()
        .get(format!("{}?{query}", list_url(s)))
        .header("x-api-key", &s.api_key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{query}");
    json(r).await
}

fn ids(page: &Value) -> Vec<String> {
    page["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn legacy_offset_random_sample_and_cursor_precedence() {
    let s = standin(300, 0).await;
    let first15 = get_json(&s, "limit=15").await;
    let offset = get_json(&s, "limit=5&offset=10").await;
    assert_eq!(ids(&offset), ids(&first15)[10..15]);
    assert_eq!(offset["next_offset"], 15);
    assert!(offset["cursor"].is_string());

    // With both, the cursor wins and the offset is ignored.
    let page1 = get_json(&s, "limit=5").await;
    let cursor = page1["cursor"].as_str().unwrap();
    let both = get_json(&s, &format!("limit=5&offset=100&cursor={cursor}")).await;
    assert_eq!(ids(&both), ids(&first15)[5..10]);

    // The last page says so with a JSON null cursor.
    let last = get_json(&s, "limit=1000").await;
    assert!(last["cursor"].is_null());

    let now = s.dataset().now();
    let range = format!(
        "start_time={}&end_time={}",
        (now - chrono::Duration::days(31)).format("%Y-%m-%dT%H:%M:%SZ"),
        now.format("%Y-%m-%dT%H:%M:%SZ")
    );
    let sample = get_json(&s, &format!("sample=random&limit=10&{range}")).await;
    let picked = ids(&sample);
    assert_eq!(picked.len(), 10);
    assert!(sample["cursor"].is_null());
    assert_ne!(picked, ids(&first15)[..10], "a sample, not the first page");
    assert_eq!(
        picked,
        ids(&get_json(&s, &format!("sample=random&limit=10&{range}")).await)
    );
}

#[tokio::test]
async fn merged_platform_routes_get_auth_and_the_caller() {
    use axum::extract::Extension;
    use axum::routing::get;
    let s = standin::start_with_platform_routes(
        StandinOptions {
            conversations: 10,
            ..Default::default()
        },
        |_| {
            axum::Router::new().route(
                "/v1/extra-probe",
                get(|Extension(caller): Extension<standin::Caller>| async move { caller.project_id }),
            )
        },
    )
    .await
    .unwrap();
    let http = reqwest::Client::new();
    let url = format!("{}/v1/extra-probe", s.platform_url);
    let r = http.get(&url).header("x-api-key", &s.api_key).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("x-polyai-correlation-id"));
    assert_eq!(r.text().await.unwrap(), s.project_id);
    assert_eq!(http.get(&url).send().await.unwrap().status(), 401);
    // Not on the runtime host.
    let r = http
        .get(format!("{}/v1/extra-probe", s.runtime_url))
        .header("x-api-key", &s.api_key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(json(r).await["error_code"], "NOT_FOUND");
}
