//! `callscope export` puts each conversation's Agent Studio link in CSV (`studio_url`, before
//! `unread_fields`) and Markdown, for the region in the config file.

use crate::support as common;

use std::process::Command;

use callscope::export::format::csv_header;

#[tokio::test(flavor = "multi_thread")]
async fn csv_and_markdown_carry_the_studio_link_of_the_configured_region() {
    let s = crate::support::standin_with(40).await;
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config.toml");
    std::fs::write(&config, "region = \"uk\"\n").unwrap();
    let run = |format: &str| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_callscope"));
        cmd.args(["export", "--since", "30d", "--format", format, "--config"])
            .arg(&config)
            .env("HOME", home.path())
            .env("XDG_DATA_HOME", home.path().join("data"));
        for (k, v) in common::env_for(&s) {
            cmd.env(k, v);
        }
        tokio::task::spawn_blocking(move || cmd.output().unwrap())
    };
    let csv = run("csv").await.unwrap();
    assert!(csv.status.success(), "{}", String::from_utf8_lossy(&csv.stderr));
    let csv = String::from_utf8(csv.stdout).unwrap();
    let header_line = csv_header().unwrap();
    let header: Vec<&str> = header_line.split(',').collect();
    assert_eq!(header[header.len() - 2..], ["studio_url", "unread_fields"]);
    let mut rows = 0;
    for line in csv.lines().skip(1) {
        // Read from both ends: quoted fields in between may hold commas; ids and the last two
        // columns (a URL, `;`-separated names) do not.
        let id = line.split(',').next().unwrap();
        assert_eq!(
            line.rsplit(',').nth(1).unwrap(),
            format!(
                "https://studio.uk.poly.ai/{}/{}/conversations/{id}",
                s.account_id, s.project_id
            ),
            "{line}"
        );
        rows += 1;
    }
    assert!(rows > 0, "{csv}");

    let md = run("md").await.unwrap();
    assert!(md.status.success());
    let md = String::from_utf8(md.stdout).unwrap();
    let links = md
        .lines()
        .filter(|l| {
            l.starts_with("- [open in Agent Studio](https://studio.uk.poly.ai/ws-demo/PROJECT-demo/conversations/")
        })
        .count();
    assert_eq!(links, rows, "one link line per conversation");
}
