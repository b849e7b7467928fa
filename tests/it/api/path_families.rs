//! Both path families: a loopback proxy stands in as the runtime host and answers the stand-in's
//! own route-missing 404 for the v3 by-id and v3 audio paths (forwarding everything else to the
//! stand-in, list items without their turns), while the platform host is the stand-in's. The TUI (headless `update` + the
//! effect runner + the audio engine) opens the transcript, `space` plays, `s` saves;
//! `export --with-audio` saves; `doctor` names the family in use; and a conversation that does
//! not exist is reported as not found, not as a missing route.

use crate::support as common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use callscope::api::{AudioDirection, Client, ErrorKind, PathFamily, Route};
use callscope::app::paging::{IN_PROGRESS, VOICE};
use callscope::app::{self, Effect, Msg, State};
use callscope::audio::{AudioEngine, AudioEvent, PlaybackState};
use callscope::config::Config;
use callscope::doctor::{Verdict, diagnose};
use callscope::export::{ExportOptions, Format, export};
use callscope::standin::Standin;
use callscope::standin::errors::ApiFailure;
use callscope::tui::effects::Runner;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

/// A runtime host that lacks the v3 by-id and audio routes.
struct Proxy {
    url: String,
    /// Paths answered with the route-missing 404.
    refused: Arc<Mutex<Vec<String>>>,
    /// Every request's path and query, in order.
    seen: Arc<Mutex<Vec<String>>>,
}

/// `/v3/{account}/{project}/conversations/{id}` and `…/{id}/audio`.
fn is_v3_by_id_or_audio(path: &str) -> bool {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    segs.first() == Some(&"v3")
        && segs.get(3) == Some(&"conversations")
        && (segs.len() == 5 || (segs.len() == 6 && segs[5] == "audio"))
}

async fn proxy(upstream: String) -> Proxy {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let refused = Arc::new(Mutex::new(Vec::new()));
    let all = Arc::new(Mutex::new(Vec::new()));
    let log = all.clone();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let seen = refused.clone();
    let app = axum::Router::new().fallback(move |req: Request| {
        let (http, upstream, seen, log) = (http.clone(), upstream.clone(), seen.clone(), log.clone());
        async move {
            let path = req.uri().path().to_string();
            log.lock()
                .unwrap()
                .push(req.uri().path_and_query().map_or(path.clone(), |p| p.to_string()));
            if is_v3_by_id_or_audio(&path) {
                seen.lock().unwrap().push(path);
                return ApiFailure::no_route().into_response();
            }
            let target = format!(
                "{upstream}{}",
                req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/")
            );
            let mut out = http.get(target);
            for name in ["x-api-key", "range", "accept", "x-polyai-correlation-id"] {
                if let Some(v) = req.headers().get(name) {
                    out = out.header(name, v.as_bytes());
                }
            }
            let Ok(resp) = out.send().await else {
                return StatusCode::BAD_GATEWAY.into_response();
            };
            let mut builder = Response::builder().status(resp.status().as_u16());
            for (k, v) in resp.headers() {
                if k != "transfer-encoding" && k != "connection" && k != "content-length" {
                    builder = builder.header(k.as_str(), v.as_bytes());
                }
            }
            let mut body = resp.bytes().await.unwrap_or_default().to_vec();
            // List items without their turns (as the Data API's are), so the TUI asks by-id.
            if path.ends_with("/conversations")
                && let Ok(mut page) = serde_json::from_slice::<serde_json::Value>(&body)
            {
                for c in page["conversations"].as_array_mut().into_iter().flatten() {
                    c["turns"] = serde_json::json!([]);
                }
                body = serde_json::to_vec(&page).unwrap();
                builder = builder.header("content-length", body.len());
            }
            builder.body(Body::from(body)).unwrap()
        }
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Proxy {
        url,
        refused,
        seen: all,
    }
}

/// The stand-in's key and ids, the proxy as the runtime host, the stand-in's platform host.
fn config(s: &Standin, runtime: &str, platform: &str) -> Config {
    let mut cfg = common::config_with_key(s, &s.api_key);
    cfg.base_url = runtime.to_string();
    cfg.platform_url = platform.to_string();
    cfg
}

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

/// The headless TUI: `update`, the effect runner and a silent audio engine.
struct Tui {
    state: State,
    runner: Runner,
    engine: AudioEngine,
    rx: UnboundedReceiver<Msg>,
    audio_rx: UnboundedReceiver<AudioEvent>,
}

impl Tui {
    fn run(&mut self, fx: Vec<Effect>) {
        for e in fx {
            match e {
                Effect::Io(work) => self.runner.spawn(work),
                Effect::Audio(cmd) => self.engine.send(cmd),
                Effect::Terminal(other) => panic!("unexpected terminal effect {other:?}"),
            }
        }
    }

    fn send(&mut self, msg: Msg) {
        let fx = app::update(&mut self.state, msg);
        self.run(fx);
    }

    /// Feeds answers and engine events into `update` until `done` holds.
    async fn until(&mut self, what: &str, done: impl Fn(&State) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while !done(&self.state) {
            let msg = tokio::select! {
                Some(m) = self.rx.recv() => m,
                Some(e) = self.audio_rx.recv() => Msg::Audio(e),
                _ = tokio::time::sleep_until(deadline) => panic!(
                    "timed out waiting for {what}: status {:?} / {:?}, player {:?} {:?}",
                    self.state.status.error, self.state.status.note, self.state.player.state, self.state.player.error
                ),
            };
            if let Msg::Page { result: Err(e), .. } = &msg {
                panic!("a page failed: {}", e.headline());
            }
            self.send(msg);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v3_by_id_and_audio_missing_the_platform_family_serves_the_tui_export_and_doctor() {
    let s = crate::support::standin_with(400).await;
    let p = proxy(s.runtime_url.clone()).await;
    let cfg = config(&s, &p.url, &s.platform_url);
    let client = Client::new(&cfg).unwrap();

    // The TUI, headless.
    let (tx, rx) = unbounded_channel();
    let (audio_tx, audio_rx) = unbounded_channel();
    let engine = crate::support::headless_engine(client.clone(), audio_tx);
    let recordings = tempfile::tempdir().unwrap();
    let mut state = crate::support::tui::live_state();
    state.player.recordings_dir = recordings.path().to_path_buf();
    let mut tui = Tui {
        state,
        runner: Runner::new(client.clone(), tx),
        engine,
        rx,
        audio_rx,
    };
    let fx = app::start(&mut tui.state);
    tui.run(fx);
    tui.until("a finished voice call in the list", |s| {
        s.list.paging.rows.iter().any(|r| r.has(VOICE) && !r.has(IN_PROGRESS))
    })
    .await;
    let target = tui
        .state
        .list
        .paging
        .rows
        .iter()
        .position(|r| r.has(VOICE) && !r.has(IN_PROGRESS))
        .unwrap();
    for _ in 0..target {
        tui.send(key('j'));
    }
    let id = tui.state.list.selected().unwrap().id.to_string();

    // The transcript opens although v3 by-id has no route.
    tui.until("the transcript", |s| s.detail.view.as_ref().is_some_and(|v| v.id == id))
        .await;
    assert!(tui.state.status.error.is_none(), "{:?}", tui.state.status.error);
    assert!(!tui.state.detail.cache.get(&id).unwrap().turns.is_empty());
    assert_eq!(client.family_in_use(Route::ById), Some(PathFamily::Agents));

    // `space` plays, from the platform family.
    tui.send(key(' '));
    tui.until("playback", |s| s.player.state == PlaybackState::Playing)
        .await;
    assert!(tui.state.player.error.is_none(), "{:?}", tui.state.player.error);
    assert_eq!(client.family_in_use(Route::Audio), Some(PathFamily::Agents));

    // `s` saves a WAV hound reads.
    tui.send(key('s'));
    tui.until("the save", |s| s.player.saving.is_none()).await;
    let note = tui.state.status.note.clone().unwrap_or_default();
    assert!(note.starts_with("saved "), "{note}");
    let wav = recordings.path().join(format!("{id}.wav"));
    let reader = hound::WavReader::open(&wav).unwrap();
    assert!(reader.len() > 8000, "{} samples", reader.len());

    // Each v3 route was tried once: the family that answered is remembered by every clone
    // (the runner's, the engine's), so the save went straight to the platform host.
    let refused = p.refused.lock().unwrap().clone();
    let by_id = refused.iter().filter(|p| !p.ends_with("/audio")).count();
    let audio = refused.iter().filter(|p| p.ends_with("/audio")).count();
    assert_eq!((by_id, audio), (1, 1), "{refused:?}");

    // `export --with-audio`, with a fresh client that has to find the family itself.
    let dir = tempfile::tempdir().unwrap();
    let args = ExportOptions {
        with_audio: Some(dir.path().to_path_buf()),
        audio_concurrency: 2,
        ..crate::support::export_args(Format::Jsonl)
    };

    let fresh = Client::new(&cfg).unwrap();
    let mut out = Vec::new();
    let summary = export(&fresh, &args, "live", &mut out).await.unwrap();
    assert!(summary.recordings_saved > 0, "{summary:?}");
    assert_eq!(summary.recordings_failed, 0, "{summary:?}");
    let saved = std::fs::read_dir(dir.path()).unwrap().count() as u64;
    assert_eq!(saved, summary.recordings_saved);
    for f in std::fs::read_dir(dir.path()).unwrap() {
        hound::WavReader::open(f.unwrap().path()).expect("a WAV hound reads");
    }
    assert_eq!(fresh.family_in_use(Route::Audio), Some(PathFamily::Agents));

    // `doctor` names the family in use for by-id and audio, and the list's.
    let checks = diagnose(&cfg).await;
    let line = |name: &str| {
        checks
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no {name} line: {checks:#?}"))
            .clone()
    };
    for name in ["by-id", "audio"] {
        let c = line(name);
        assert_eq!(c.verdict, Verdict::Ok, "{}", c.line());
        assert!(
            c.detail.contains("family in use: platform (/v1/agents/") && c.detail.contains("v3 route missing"),
            "{}",
            c.line()
        );
    }
    assert!(line("list").detail.contains("v3"), "{}", line("list").line());
    assert!(checks.iter().all(|c| c.verdict != Verdict::Fail), "{checks:#?}");
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_conversation_is_not_found_and_a_missing_route_on_both_families_says_so() {
    let s = crate::support::standin_with(50).await;
    let p = proxy(s.runtime_url.clone()).await;

    // v3 has no by-id route, the platform family does not know the id: "not found", clearly.
    let client = Client::new(&config(&s, &p.url, &s.platform_url)).unwrap();
    let e = client.conversation("CAdoesnotexist").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound, "{e}");
    assert_eq!(e.code.as_deref(), Some("CONVERSATIONS_NOT_FOUND"));
    assert!(e.to_string().contains("does not exist"), "{e}");
    let e = client
        .audio("CAdoesnotexist", AudioDirection::Combined, None)
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound, "{e}");

    // The v3 family answers "not found" itself: the other family is not asked.
    let direct = common::client(&s);
    let before = p.refused.lock().unwrap().len();
    let e = direct.conversation("CAdoesnotexist").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert_eq!(direct.family_in_use(Route::ById), None, "nothing answered");
    assert_eq!(p.refused.lock().unwrap().len(), before);

    // Both hosts lack the route (the platform URL points at a runtime host): the error says
    // neither family has it and what to set.
    let both = Client::new(&config(&s, &p.url, &s.runtime_url)).unwrap();
    let id = s.dataset().read(|d| d.entries()[0].id.to_string());
    let e = both.conversation(&id).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::WrongHost, "{e}");
    let text = e.to_string();
    assert!(
        text.contains("neither path family") && text.contains("POLYAI_PLATFORM_URL"),
        "{text}"
    );
    assert!(e.correlation_id.is_some(), "{text}");
    let checks = diagnose(&config(&s, &p.url, &s.runtime_url)).await;
    let by_id = checks.iter().find(|c| c.name == "by-id").expect("a by-id line");
    assert_eq!(by_id.verdict, Verdict::Fail, "{checks:#?}");
    assert!(
        by_id.detail.contains("neither family") && by_id.detail.contains("POLYAI_PLATFORM_URL"),
        "{}",
        by_id.line()
    );
    s.shutdown().await;
}

/// The first engine event matching `f` (an error event fails the test).
async fn wait(rx: &mut UnboundedReceiver<AudioEvent>, what: &str, f: fn(&AudioEvent) -> bool) -> AudioEvent {
    let found = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let e = rx.recv().await.expect("the engine runs");
            assert!(!matches!(e, AudioEvent::Error(_)), "{e:?}");
            if f(&e) {
                return e;
            }
        }
    })
    .await;
    found.unwrap_or_else(|_| panic!("no {what}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_plays_one_utterance_and_fetches_it_again_redacted() {
    use callscope::audio::AudioCommand;
    use callscope::standin::generate::speech_secs;

    let s = crate::support::standin_with(100).await;
    // A recording proxy in front of the platform host (it refuses only v3 paths).
    let p = proxy(s.platform_url.clone()).await;
    let client = Client::new(&config(&s, &s.runtime_url, &p.url)).unwrap();
    let id = s.dataset().read(|d| {
        d.entries()
            .iter()
            .find(|e| e.is_voice() && !e.in_progress)
            .map(|e| e.id.to_string())
            .unwrap()
    });
    let call = client.conversation_via_agents(&id).await.unwrap();
    let (n, turn) = call
        .turns
        .iter()
        .enumerate()
        .find(|(_, t)| !t.user_input.is_empty() && !t.user_input_audio_url.is_empty())
        .expect("a spoken caller turn with its audio URL");
    let (audio_tx, mut audio_rx) = unbounded_channel();
    let engine = crate::support::headless_engine(client.clone(), audio_tx);
    engine.send(AudioCommand::PlayUtterance {
        conversation_id: id.clone(),
        url: turn.user_input_audio_url.clone(),
        duration_hint: None,
    });
    let AudioEvent::Format { duration, .. } =
        wait(&mut audio_rx, "format", |e| matches!(e, AudioEvent::Format { .. })).await
    else {
        unreachable!()
    };
    let want = speech_secs(&turn.user_input) + 0.2;
    assert!(
        (duration.as_secs_f64() - want).abs() < 0.01,
        "{duration:?} for {want} s"
    );
    wait(&mut audio_rx, "playing", |e| {
        *e == AudioEvent::State(PlaybackState::Playing)
    })
    .await;
    engine.send(AudioCommand::SetRedacted(Some(true)));
    wait(&mut audio_rx, "the redacted format", |e| {
        matches!(e, AudioEvent::Format { .. })
    })
    .await;
    let seen = p.seen.lock().unwrap().clone();
    let utterance = format!("/v1/agents/{}/conversations/{id}/turns/{n}/audio", s.project_id);
    assert!(seen.contains(&utterance), "{seen:?}");
    assert!(seen.contains(&format!("{utterance}?redacted=true")), "{seen:?}");
    assert!(
        !seen
            .iter()
            .any(|t| t.contains("/conversations/") && t.ends_with("/audio") && !t.contains("/turns/")),
        "the whole call was not fetched: {seen:?}"
    );
    drop(engine);
    s.shutdown().await;
}
