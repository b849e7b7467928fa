//! The command line as a user types it, through the binary against the embedded stand-in:
//! options before the command, config files, channel names, and the words the commands print.

use crate::support as common;
use crate::support::text;

use std::path::Path;
use std::process::{Command, Output};

use callscope::standin::{self, Standin, StandinOptions};

/// The stand-in on a runtime that lives as long as the test.
fn standin() -> (tokio::runtime::Runtime, Standin) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = rt
        .block_on(standin::start(StandinOptions {
            conversations: 60,
            ..Default::default()
        }))
        .unwrap();
    (rt, s)
}

/// The binary with `home` as its whole world (config and data dirs), the stand-in's variables
/// when given, and nothing else of the machine's POLYAI_* settings.
fn run(home: &Path, s: Option<&Standin>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_callscope"));
    cmd.args(args)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"));
    for var in [
        "POLYAI_BASE_URL",
        "POLYAI_PLATFORM_URL",
        "POLYAI_API_KEY",
        "POLYAI_ACCOUNT_ID",
        "POLYAI_PROJECT_ID",
    ] {
        cmd.env_remove(var);
    }
    if let Some(s) = s {
        cmd.envs(common::env_for(s));
    }
    cmd.output().unwrap()
}

fn default_config(home: &Path) -> std::path::PathBuf {
    home.join("config/callscope/config.toml")
}

#[test]
fn options_before_the_command_apply_to_it() {
    let (_rt, s) = standin();
    let home = tempfile::tempdir().unwrap();
    // The flag beats the environment's PROJECT-demo, wherever it is written.
    for args in [
        &["--project-id", "PROJECT-dmeo", "export", "--since", "30d"][..],
        &["export", "--since", "30d", "--project-id", "PROJECT-dmeo"],
    ] {
        let out = run(home.path(), Some(&s), args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}: nothing of PROJECT-demo is exported");
        assert!(
            err.contains(r#"Project "PROJECT-dmeo" does not exist in account "ws-demo""#),
            "{args:?}: {err}"
        );
    }
    // Without the flag, the same export works: the flag was what failed it.
    let out = run(home.path(), Some(&s), &["export", "--since", "30d"]);
    assert!(out.status.success() && !out.stdout.is_empty(), "{}", text(&out.stderr));
    // An option the command does not take is refused, not ignored.
    let out = run(home.path(), Some(&s), &["--poll", "30s", "export", "--since", "1h"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("--poll"), "{}", text(&out.stderr));
}

#[test]
fn every_config_path_is_checked_the_same_way() {
    let (_rt, s) = standin();
    let home = tempfile::tempdir().unwrap();
    let typo = home.path().join("typo.toml");
    std::fs::write(&typo, "acount_id = \"ws-demo\"\n").unwrap();
    let typo = typo.to_str().unwrap();
    let good = run(home.path(), Some(&s), &["doctor"]);
    assert!(good.status.success(), "{}", text(&good.stdout));
    for args in [&["--config", typo, "doctor"][..], &["doctor", "--config", typo]] {
        let out = run(home.path(), Some(&s), args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", text(&out.stdout));
        let err = text(&out.stderr);
        assert!(
            err.contains("invalid config file") && err.contains("acount_id"),
            "{err}"
        );
    }
    // The same file at the default path: the same refusal.
    std::fs::create_dir_all(default_config(home.path()).parent().unwrap()).unwrap();
    std::fs::copy(typo, default_config(home.path())).unwrap();
    let out = run(home.path(), Some(&s), &["doctor"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("acount_id"), "{}", text(&out.stderr));
    // A section only the TUI reads is checked for every command too.
    std::fs::write(default_config(home.path()), "[theme]\nmode = \"neon\"\n").unwrap();
    for args in [&["doctor"][..], &["export", "--since", "1h"]] {
        let out = run(home.path(), Some(&s), args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = text(&out.stderr);
        assert!(
            err.contains("[theme]") && err.contains("config.toml"),
            "{args:?}: {err}"
        );
    }
    // A file given explicitly must exist.
    let missing = home.path().join("missing.toml");
    let out = run(
        home.path(),
        Some(&s),
        &["doctor", "--config", missing.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("cannot read the config file"),
        "{}",
        text(&out.stderr)
    );
    // demo takes --config too, and checks it before touching the terminal.
    let out = run(home.path(), None, &["demo", "--config", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("cannot read the config file"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_wrong_project_or_account_is_named_by_doctor() {
    let (_rt, s) = standin();
    let home = tempfile::tempdir().unwrap();
    let out = run(home.path(), Some(&s), &["--project-id", "PROJECT-dmeo", "doctor"]);
    assert_eq!(out.status.code(), Some(1));
    let report = text(&out.stdout);
    let line = report.lines().find(|l| l.starts_with("FAIL")).unwrap_or_default();
    assert!(line.contains("account / project id"), "{report}");
    assert!(
        line.contains(r#"Project "PROJECT-dmeo" does not exist in account "ws-demo""#),
        "{line}"
    );
    assert!(
        line.contains("studio.{region}.poly.ai/{account_id}/{project_id}"),
        "{line}"
    );
    assert!(
        !line.contains("does not exist in this project and environment"),
        "{line}"
    );
    let out = run(home.path(), Some(&s), &["doctor", "--account-id", "ws-dmeo"]);
    let report = text(&out.stdout);
    let line = report.lines().find(|l| l.starts_with("FAIL")).unwrap_or_default();
    assert!(
        line.contains(r#"Account "ws-dmeo" does not exist"#) && line.contains("account id is wrong"),
        "{report}"
    );
}

#[test]
fn export_takes_the_tuis_channel_names_and_refuses_unknown_ones() {
    let (_rt, s) = standin();
    let home = tempfile::tempdir().unwrap();
    let channels = |args: &[&str]| -> Vec<String> {
        let out = run(home.path(), Some(&s), args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        text(&out.stdout)
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["channel"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    let voice = channels(&["export", "--since", "30d", "--channel", "voice"]);
    assert!(!voice.is_empty() && voice.iter().all(|c| c == "VOICE-SIP"), "{voice:?}");
    let chat = channels(&["export", "--since", "30d", "--channel", "chat"]);
    assert!(
        !chat.is_empty() && chat.iter().all(|c| c == "WEBCHAT" || c == "CHAT"),
        "{chat:?}"
    );
    let api = channels(&["export", "--since", "30d", "--channel", "VOICE-SIP"]);
    assert_eq!(api, voice, "the API's name and the TUI's word are the same calls");
    let out = run(
        home.path(),
        Some(&s),
        &["export", "--since", "30d", "--channel", "phone"],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    for valid in ["\"phone\"", "voice", "chat", "VOICE-SIP", "WEBCHAT", "CHAT"] {
        assert!(err.contains(valid), "{valid}: {err}");
    }
}

#[test]
fn export_summaries_say_what_was_exported() {
    let (_rt, s) = standin();
    let home = tempfile::tempdir().unwrap();
    // One page: a window with room for all of it in one answer is one request, sharded or not.
    let out = run(
        home.path(),
        Some(&s),
        &["export", "--since", "30d", "--page-size", "1000"],
    );
    let err = text(&out.stderr);
    assert!(err.contains(" in 1 page\n") || err.ends_with(" in 1 page"), "{err}");
    assert!(!err.contains("1 pages"), "{err}");

    // From the store: a filter that is not about review says so, not "reviewed".
    use callscope::domain::Origin;
    use callscope::store::Store;
    let db = home.path().join("review.db");
    let conv: callscope::api::Conversation = serde_json::from_str(
        r#"{"id":"CA77","channel":"VOICE-SIP","environment":"live","started_at":"2026-11-01T10:00:00Z","turns":[{"user_input":"hi"}]}"#,
    )
    .unwrap();
    Store::open(&db)
        .unwrap()
        .cache(&Origin::new("ws-x", "P-x", "live"), &[conv])
        .unwrap();
    let from_store = |filter: &str| {
        let args = [
            "export",
            "--account-id",
            "ws-x",
            "--project-id",
            "P-x",
            "--store",
            db.to_str().unwrap(),
            "--filter",
            filter,
        ];
        run(home.path(), None, &args)
    };
    let out = from_store("voice");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("exported 1 conversation matching `voice`"), "{err}");
    assert!(!err.contains("reviewed"), "{err}");
    // --channel narrows it, with the same names as for the API.
    let out = run(
        home.path(),
        None,
        &[
            "export",
            "--account-id",
            "ws-x",
            "--project-id",
            "P-x",
            "--store",
            db.to_str().unwrap(),
            "--filter",
            "!flagged",
            "--channel",
            "chat",
        ],
    );
    assert!(out.status.success() && out.stdout.is_empty(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("exported 0 conversations matching `chat · not flagged`"),
        "{}",
        text(&out.stderr)
    );
    // A misspelt word is named, with the words that exist.
    let out = from_store("voice flaged");
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("\"flaged\"") && err.contains("flagged") && err.contains("unreviewed"),
        "{err}"
    );
    assert!(!err.contains("invalid input"), "{err}");
}

#[test]
fn webhooks_delete_offers_no_secret_to_save() {
    let home = tempfile::tempdir().unwrap();
    let help = |sub: &str| text(&run(home.path(), None, &["webhooks", sub, "--help"]).stdout);
    assert!(!help("delete").contains("--save-secret"), "{}", help("delete"));
    assert!(help("rotate").contains("--save-secret"));
    let out = run(
        home.path(),
        None,
        &["webhooks", "delete", "whe_1", "--save-secret", "x"],
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn config_init_writes_the_example_and_never_overwrites() {
    let home = tempfile::tempdir().unwrap();
    let path = default_config(home.path());
    let out = run(home.path(), None, &["config", "init"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(path.to_str().unwrap()),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), callscope::config::EXAMPLE);
    // What it wrote is a config every command accepts.
    let (_rt, s) = standin();
    assert!(run(home.path(), Some(&s), &["doctor"]).status.success());
    // An existing file is kept, whatever it holds, with what to do instead.
    std::fs::write(&path, "region = \"uk\"\n").unwrap();
    let out = run(home.path(), None, &["config", "init"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("already exists") && err.contains("mv "), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "region = \"uk\"\n");
    // --config names another place, before or after the command.
    let other = home.path().join("elsewhere/c.toml");
    let out = run(
        home.path(),
        None,
        &["--config", other.to_str().unwrap(), "config", "init"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(std::fs::read_to_string(&other).unwrap().contains("# project_id = "));
}

#[test]
fn completions_and_man_page_come_from_the_real_options() {
    let home = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        let out = run(home.path(), None, &["completions", shell]);
        assert!(out.status.success(), "{shell}");
        let script = text(&out.stdout);
        for word in ["callscope", "export", "project-id", "channel", "serve-demo"] {
            assert!(script.contains(word), "{shell}: {word}");
        }
    }
    assert_eq!(run(home.path(), None, &["completions", "tcsh"]).status.code(), Some(2));
    let page = text(&run(home.path(), None, &["man"]).stdout);
    assert!(page.contains(".TH callscope 1"), "{page}");
    assert!(page.contains("doctor") && page.contains("completions"), "{page}");
    let page = text(&run(home.path(), None, &["man", "export"]).stdout);
    assert!(
        page.contains(".TH callscope-export 1") && page.contains("\\-\\-channel"),
        "{page}"
    );
    let out = run(home.path(), None, &["man", "exprot"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("export"), "{}", text(&out.stderr));
}
