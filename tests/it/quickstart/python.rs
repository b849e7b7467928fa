//! The quickstart's own Python snippets for steps 1–4 run unchanged against `callscope serve-demo`.

use crate::support as common;

use std::process::Command;

fn snippet(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/quickstart/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn quickstart_python_steps_1_to_4_work_unchanged() {
    let Some(python) = common::python_with_requests() else {
        return;
    };
    let (_server, vars) = common::serve_demo(&[]);
    let names: Vec<&str> = vars.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "POLYAI_BASE_URL",
            "POLYAI_PLATFORM_URL",
            "POLYAI_API_KEY",
            "POLYAI_ACCOUNT_ID",
            "POLYAI_PROJECT_ID"
        ]
    );

    let step3 = snippet("step3_transcript.py");
    assert!(step3.starts_with("conv_id = \"your_conversation_id\"\n"));
    let script = [
        snippet("step1_first_call.py"),
        snippet("step2_page.py"),
        // The quickstart's placeholder, filled in: a finished voice call from step 2's walk.
        "conv_id = next(c['id'] for c in iter_conversations(start.isoformat().replace('+00:00', 'Z'), end.isoformat().replace('+00:00', 'Z')) if c['channel'] == 'VOICE-SIP' and not c['in_progress'] and c['turns'])\nprint('CONV_ID', conv_id)\n".to_string(),
        step3.replacen("conv_id = \"your_conversation_id\"\n", "", 1),
        snippet("step4_audio.py"),
    ]
    .join("\n");
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(python)
        .arg("-c")
        .arg(&script)
        .current_dir(dir.path())
        .envs(vars.iter().cloned())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "python failed:\n{}\n{}",
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );

    // Step 1 printed the JSON with conversations and a cursor; step 2 one line per call.
    assert!(stdout.lines().next().unwrap().contains("'conversations'"), "{stdout}");
    let conv_id = stdout
        .lines()
        .find_map(|l| l.strip_prefix("CONV_ID "))
        .unwrap()
        .to_string();
    let walked = stdout
        .lines()
        .filter(|l| l.starts_with("CA") && l.split_whitespace().count() == 3)
        .count();
    assert!(walked >= 100, "step 2 walked {walked} live calls of the last 24h");
    // Step 3: the transcript with speakers.
    assert!(stdout.contains("  AGENT  ") && stdout.contains("  USER   "), "{stdout}");
    // Step 4: a WAV that hound reads, 8 kHz mono.
    let wav = hound::WavReader::open(dir.path().join(format!("{conv_id}.wav"))).unwrap();
    assert_eq!(wav.spec().sample_rate, 8000);
    assert!(wav.duration() > 8000, "{} samples", wav.duration());
}
