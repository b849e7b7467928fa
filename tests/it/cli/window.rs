//! The one window flag group (`--since/--start/--end/--env`, `callscope::cli::window`) as clap
//! reads it in every command that takes it: the same parsing, the same refusals, each
//! command's own `--since` wording and default, and the flags in their old order.

use callscope::cli::window::WindowArgs;
use callscope::cli::{Cli, Command};
use chrono::{DateTime, TimeDelta, Utc};
use clap::{CommandFactory, Parser};

const COMMANDS: [&[&str]; 3] = [&["export"], &["stats"], &["queue", "create", "q1"]];

fn parse(cmd: &[&str], flags: &[&str]) -> Result<WindowArgs, String> {
    let args = [&["callscope"], cmd, flags].concat();
    let cli = Cli::try_parse_from(args).map_err(|e| e.to_string())?;
    match cli.command {
        Some(Command::Export(a)) => Ok(a.window),
        Some(Command::Stats(a)) => Ok(a.window),
        Some(Command::Queue(q)) => match q.command {
            callscope::cli::queue::QueueCommand::Create(c) => Ok(c.window),
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[test]
fn every_command_reads_the_window_flags_the_same_way() {
    let flags = [
        "--since",
        "90m",
        "--start",
        "2026-11-27T09:00Z",
        "--end",
        "2026-11-28T09:00:30+01:00",
        "--env",
        "sandbox",
    ];
    for cmd in COMMANDS {
        let w = parse(cmd, &flags).unwrap();
        assert_eq!(w.since, Some(TimeDelta::minutes(90)), "{cmd:?}");
        assert_eq!(w.start, Some(at("2026-11-27T09:00:00Z")), "{cmd:?}");
        assert_eq!(w.end, Some(at("2026-11-28T08:00:30Z")), "{cmd:?}");
        assert_eq!(w.client_env.as_deref(), Some("sandbox"), "{cmd:?}");
        assert_eq!(w.env_or("live"), "sandbox");
        // --start beats --since.
        let (start, end) = w.resolve(TimeDelta::hours(24)).unwrap();
        assert_eq!((start, end), (at("2026-11-27T09:00:00Z"), at("2026-11-28T08:00:30Z")));
    }
}

#[test]
fn every_command_refuses_the_same_bad_window_with_the_same_words() {
    for (flags, words) in [
        (&["--since", "5"][..], "add a unit"),
        (&["--since", "99999999d"], "too long"),
        (&["--since", "0h"], "more than zero"),
        (&["--start", "soon"], "is not a time"),
        (&["--end", "12:00"], "is not a time"),
        (&["--env", "prod"], "possible values: live, sandbox, pre-release"),
    ] {
        let errors: Vec<String> = COMMANDS.iter().map(|cmd| parse(cmd, flags).unwrap_err()).collect();
        let first = |e: &str| e.lines().next().unwrap_or_default().to_string();
        for (cmd, e) in COMMANDS.iter().zip(&errors) {
            assert!(e.contains(words), "{cmd:?} {flags:?}: {e}");
            assert_eq!(first(e), first(&errors[0]), "{cmd:?} {flags:?}");
        }
    }
    // An empty window is refused when it is resolved, by every command alike.
    for cmd in COMMANDS {
        let w = parse(cmd, &["--start", "2026-11-28T00:00Z", "--end", "2026-11-27T00:00Z"]).unwrap();
        let e = w.resolve(TimeDelta::hours(24)).unwrap_err().to_string();
        assert_eq!(e, "the window is empty: --start must be before --end");
    }
}

#[test]
fn each_command_words_since_for_its_own_default() {
    assert_eq!(parse(&["export"], &[]).unwrap().since, None);
    assert_eq!(parse(&["queue", "create", "q1"], &[]).unwrap().since, None);
    assert_eq!(parse(&["stats"], &[]).unwrap().since, Some(TimeDelta::days(7)));
    let root = Cli::command();
    for (path, words) in [
        (
            &["export"][..],
            "[default: 24h; with --reviewed/--flagged/--filter: no limit]",
        ),
        (&["stats"], "hourly buckets up to 48h"),
        (&["queue", "create"], "The window: how far back from --end"),
    ] {
        let cmd = path.iter().fold(&root, |c, name| c.find_subcommand(name).unwrap());
        let ids: Vec<&str> = cmd.get_arguments().map(|a| a.get_id().as_str()).collect();
        let since = cmd.get_arguments().find(|a| a.get_id() == "since").unwrap();
        let help = since.get_help().unwrap().to_string();
        assert!(help.contains(words), "{path:?}: {help}");
        // Worded in place: --since still comes right after the connection flags, before --start.
        let pos = |id: &str| ids.iter().position(|x| *x == id).unwrap();
        assert_eq!(pos("since") + 1, pos("start"), "{path:?}: {ids:?}");
        assert_eq!(pos("config") + 1, pos("since"), "{path:?}: {ids:?}");
    }
}
