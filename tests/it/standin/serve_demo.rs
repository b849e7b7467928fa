//! `callscope serve-demo` as a user runs it: the five export lines, a working API behind them,
//! and a clean exit on Ctrl-C (SIGINT).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn prints_exports_serves_and_stops_on_ctrl_c() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_callscope"))
        .args([
            "serve-demo",
            "--runtime-addr",
            "127.0.0.1:0",
            "--platform-addr",
            "127.0.0.1:0",
            "--conversations",
            "200",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs the binary");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut vars = Vec::new();
    for name in [
        "POLYAI_BASE_URL",
        "POLYAI_PLATFORM_URL",
        "POLYAI_API_KEY",
        "POLYAI_ACCOUNT_ID",
        "POLYAI_PROJECT_ID",
    ] {
        let line = lines.next().expect("a line").unwrap();
        let value = line
            .strip_prefix(&format!("export {name}="))
            .unwrap_or_else(|| panic!("{line:?} should export {name}"));
        vars.push(value.to_string());
    }
    for url in &vars[..2] {
        assert!(url.starts_with("http://127.0.0.1:") && !url.ends_with(":0"), "{url}");
    }

    let rt = tokio::runtime::Runtime::new().unwrap();
    let status = rt.block_on(async {
        reqwest::Client::new()
            .get(format!("{}/v3/{}/{}/conversations?limit=1", vars[0], vars[3], vars[4]))
            .header("x-api-key", &vars[2])
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, 200);

    let sigint = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sigint.success());
    let mut waited = Duration::ZERO;
    let exit = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(waited < Duration::from_secs(10), "serve-demo did not stop");
        std::thread::sleep(Duration::from_millis(50));
        waited += Duration::from_millis(50);
    };
    assert!(exit.success(), "{exit:?}");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(
        stderr.contains("200 conversations") && stderr.contains("Ctrl-C"),
        "{stderr}"
    );
    assert!(
        !stderr.contains(&vars[2]),
        "the demo key is printed once, on stdout only"
    );
}
