//! Recordings from the stand-in over real loopback HTTP: WAV validity, exact length, where the
//! speech is, directions, byte ranges, and the 404s.

use callscope::api::model::Conversation;
use callscope::api::{AudioDirection, Client, error::ErrorKind};
use callscope::config::{Config, ConnectionArgs, FileConfig};
use callscope::standin::Standin;
use callscope::standin::generate::{ASR_DELAY, speech_secs};

async fn standin() -> Standin {
    crate::support::standin_with(300).await
}

fn client(s: &Standin) -> Client {
    let args = ConnectionArgs {
        base_url: Some(s.runtime_url.clone()),
        platform_url: Some(s.platform_url.clone()),
        account_id: Some(s.account_id.clone()),
        project_id: Some(s.project_id.clone()),
        ..Default::default()
    };
    let key = s.api_key.clone();
    let cfg = Config::resolve_with_file(
        &args,
        &|k| (k == "POLYAI_API_KEY").then(|| key.clone()),
        FileConfig::default(),
    )
    .unwrap();
    Client::new(&cfg).unwrap()
}

/// A completed voice call with a visible transcript of at least `turns` turns.
fn voice_call(s: &Standin, turns: usize) -> Conversation {
    let data = s.dataset();
    let entries = data.read(|d| d.entries().to_vec());
    entries
        .iter()
        .filter(|e| e.is_voice() && !e.in_progress)
        .map(|e| data.expand(e))
        .find(|c| c.turns.len() >= turns && !c.handoff)
        .expect("a voice call")
}

async fn fetch(c: &Client, id: &str, dir: AudioDirection) -> Vec<u8> {
    let r = c.audio(id, dir, None).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "audio/wav");
    assert_eq!(r.headers()["accept-ranges"], "bytes");
    let len: usize = r.headers()["content-length"].to_str().unwrap().parse().unwrap();
    let body = r.bytes().await.unwrap().to_vec();
    assert_eq!(body.len(), len);
    body
}

fn samples(wav: &[u8]) -> Vec<i16> {
    let reader = hound::WavReader::new(std::io::Cursor::new(wav.to_vec())).unwrap();
    let spec = reader.spec();
    assert_eq!((spec.channels, spec.sample_rate, spec.bits_per_sample), (1, 8000, 16));
    reader.into_samples::<i16>().map(Result::unwrap).collect()
}

fn rms(s: &[i16]) -> f64 {
    if s.is_empty() {
        return 0.0;
    }
    (s.iter().map(|&x| (x as f64).powi(2)).sum::<f64>() / s.len() as f64).sqrt()
}

/// `(start, end)` sample windows of each speaker's speech, from the transcript.
type Windows = Vec<(usize, usize)>;

fn windows(c: &Conversation) -> (Windows, Windows) {
    let start = c.started_at.unwrap();
    let secs = |t: chrono::DateTime<chrono::Utc>| (t - start).num_milliseconds() as f64 / 1000.0;
    let (mut user, mut agent) = (Vec::new(), Vec::new());
    for t in &c.turns {
        if !t.user_input.is_empty() {
            let end = secs(t.user_input_datetime.unwrap()) - ASR_DELAY;
            user.push((
                ((end - speech_secs(&t.user_input)) * 8000.0) as usize,
                (end * 8000.0) as usize,
            ));
        }
        if !t.agent_response.is_empty() {
            let b = secs(t.agent_response_datetime.unwrap());
            agent.push((
                (b * 8000.0) as usize,
                ((b + speech_secs(&t.agent_response)) * 8000.0) as usize,
            ));
        }
    }
    (user, agent)
}

fn energy_in(s: &[i16], w: &[(usize, usize)]) -> f64 {
    let picked: Vec<i16> = w
        .iter()
        .flat_map(|&(a, b)| s[a.min(s.len())..b.min(s.len())].iter().copied())
        .collect();
    rms(&picked)
}

#[tokio::test]
async fn recording_has_exact_length_speech_at_the_turns_and_quiet_between() {
    let s = standin().await;
    let c = client(&s);
    let call = voice_call(&s, 4);
    let wav = fetch(&c, &call.id, AudioDirection::Combined).await;
    let pcm = samples(&wav);
    assert_eq!(pcm.len(), call.total_duration.unwrap() as usize * 8000);

    let (user, agent) = windows(&call);
    let mut speech = vec![false; pcm.len()];
    for &(a, b) in user.iter().chain(&agent) {
        speech[a.min(pcm.len())..b.min(pcm.len())].fill(true);
    }
    let quiet: Vec<i16> = pcm.iter().zip(&speech).filter(|(_, s)| !**s).map(|(x, _)| *x).collect();
    assert!(quiet.len() > 8000, "there are gaps between turns");
    let (loud_user, loud_agent, floor) = (energy_in(&pcm, &user), energy_in(&pcm, &agent), rms(&quiet));
    assert!(loud_user > 1000.0 && loud_agent > 1000.0, "{loud_user} {loud_agent}");
    assert!(floor < 100.0 && floor > 0.0, "low noise, not digital silence: {floor}");

    // Direction: each side hears only its own speaker.
    let only_user = samples(&fetch(&c, &call.id, AudioDirection::User).await);
    let only_agent = samples(&fetch(&c, &call.id, AudioDirection::Agent).await);
    assert_eq!(only_user.len(), pcm.len());
    assert!(energy_in(&only_user, &user) > 1000.0 && energy_in(&only_user, &agent) < 200.0);
    assert!(energy_in(&only_agent, &agent) > 1000.0 && energy_in(&only_agent, &user) < 200.0);
    assert_ne!(only_user, only_agent);

    // Deterministic: the same bytes again.
    assert_eq!(fetch(&c, &call.id, AudioDirection::Combined).await, wav);
}

#[tokio::test]
async fn caller_and_agent_voices_differ_in_pitch() {
    let s = standin().await;
    let c = client(&s);
    let call = voice_call(&s, 4);
    let (user, agent) = windows(&call);
    let pcm = samples(&fetch(&c, &call.id, AudioDirection::Combined).await);
    // Zero-crossing rate as a cheap pitch proxy: the agent's voice is higher.
    let zcr = |w: &[(usize, usize)]| {
        let (mut crossings, mut n) = (0usize, 0usize);
        for &(a, b) in w {
            let seg = &pcm[a.min(pcm.len())..b.min(pcm.len())];
            crossings += seg
                .windows(2)
                .filter(|p| (p[0] >= 0) != (p[1] >= 0) && p[0].abs() > 200)
                .count();
            n += seg.len();
        }
        crossings as f64 / n.max(1) as f64
    };
    assert!(
        zcr(&agent) > zcr(&user) * 1.2,
        "agent {} user {}",
        zcr(&agent),
        zcr(&user)
    );
}

#[tokio::test]
async fn byte_ranges_are_exact_slices_of_the_file() {
    let s = standin().await;
    let c = client(&s);
    let call = voice_call(&s, 3);
    let full = fetch(&c, &call.id, AudioDirection::Combined).await;
    let len = full.len();
    let url = format!(
        "{}/v3/{}/{}/conversations/{}/audio",
        s.runtime_url, s.account_id, s.project_id, call.id
    );
    let http = reqwest::Client::new();
    for (range, a, b) in [
        ("bytes=0-43", 0, 43),
        ("bytes=44-44", 44, 44),
        ("bytes=1001-60000", 1001, 60000),
        (&*format!("bytes={}-", len - 777), len - 777, len - 1),
        ("bytes=-500", len - 500, len - 1),
        (&*format!("bytes=100-{}", len * 2), 100, len - 1),
    ] {
        let r = http
            .get(&url)
            .header("x-api-key", &s.api_key)
            .header("range", range)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 206, "{range}");
        assert_eq!(
            r.headers()["content-range"].to_str().unwrap(),
            format!("bytes {a}-{b}/{len}")
        );
        let body = r.bytes().await.unwrap();
        assert_eq!(&body[..], &full[a..=b], "{range}");
    }
    let r = http
        .get(&url)
        .header("x-api-key", &s.api_key)
        .header("range", format!("bytes={len}-"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 416);
    assert_eq!(r.headers()["content-range"].to_str().unwrap(), format!("bytes */{len}"));

    // The client's resume-from-byte path.
    let r = c.audio(&call.id, AudioDirection::Combined, Some(5000)).await.unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(&r.bytes().await.unwrap()[..], &full[5000..]);

    // The platform-family route serves the same file.
    let r = http
        .get(format!(
            "{}/v1/agents/{}/conversations/{}/audio",
            s.platform_url, s.project_id, call.id
        ))
        .header("x-api-key", &s.api_key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(&r.bytes().await.unwrap()[..], &full[..]);
}

#[tokio::test]
async fn no_recording_for_chats_in_progress_calls_and_unknown_ids() {
    let s = standin().await;
    let c = client(&s);
    let entries = s.dataset().read(|d| d.entries().to_vec());
    let chat = entries.iter().find(|e| !e.is_voice()).unwrap();
    let e = c.audio(&chat.id, AudioDirection::Combined, None).await.unwrap_err();
    assert_eq!(
        (e.kind.clone(), e.code.as_deref()),
        (ErrorKind::NotFound, Some("CONVERSATIONS_RECORDING_NOT_FOUND"))
    );
    let live = entries.iter().find(|e| e.is_voice() && e.in_progress).unwrap();
    let e = c.audio(&live.id, AudioDirection::Combined, None).await.unwrap_err();
    assert_eq!(e.code.as_deref(), Some("CONVERSATIONS_RECORDING_NOT_FOUND"));
    assert!(e.message.contains("in progress"), "{}", e.message);
    let e = c.audio("CAnope", AudioDirection::Combined, None).await.unwrap_err();
    assert_eq!(
        (e.kind.clone(), e.code.as_deref()),
        (ErrorKind::NotFound, Some("CONVERSATIONS_NOT_FOUND"))
    );
}

#[tokio::test]
async fn inserted_and_hidden_calls_have_recordings_too() {
    let s = standin().await;
    let c = client(&s);
    let data = s.dataset();
    let mut n = 0;
    let call = loop {
        let call = data.synthesize(n, data.now() - chrono::Duration::hours(2), "live", false);
        if call.is_voice() {
            break call;
        }
        n += 1;
    };
    let id = s.insert(call.clone());
    let pcm = samples(&fetch(&c, &id, AudioDirection::Combined).await);
    assert_eq!(pcm.len(), call.total_duration.unwrap() as usize * 8000);
    let (user, agent) = windows(&call);
    assert!(energy_in(&pcm, &agent) > 1000.0 && energy_in(&pcm, &user) > 1000.0);

    let hidden = data
        .read(|d| d.entries().to_vec())
        .into_iter()
        .map(|e| data.expand(&e))
        .find(|c| c.is_voice() && !c.in_progress && c.transcript_hidden());
    if let Some(h) = hidden {
        let pcm = samples(&fetch(&c, &h.id, AudioDirection::Combined).await);
        assert!(rms(&pcm) > 300.0, "speech even though the transcript is hidden");
    }
}
