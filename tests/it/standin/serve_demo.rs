//! `callscope serve-demo` as a user runs it: the five export lines, a working API behind them,
//! and a clean exit on Ctrl-C (SIGINT).

use std::process::Command;
use std::time::Duration;

#[test]
fn prints_exports_serves_and_stops_on_ctrl_c() {
    let (mut guard, exports) = crate::support::serve_demo_reporting(&["--conversations", "200"]);
    let child = &mut guard.0;
    let names: Vec<&str> = exports.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "POLYAI_BASE_URL",
            "POLYAI_PLATFORM_URL",
            "POLYAI_API_KEY",
            "POLYAI_ACCOUNT_ID",
            "POLYAI_PROJECT_ID"
        ],
        "the five exports, in this order"
    );
    let vars: Vec<String> = exports.into_iter().map(|(_, v)| v).collect();
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
