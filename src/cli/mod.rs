//! Command-line interface: `callscope [browse] | demo | serve-demo | export | doctor | webhooks |
//! listen | marks | stats | queue | team | config init | completions | man`.
//!
//! One file per command: its clap arguments and the wiring to the library, which takes plain
//! option types and knows nothing of this module. Here: [`Cli`], [`Command`] and the dispatch.

pub mod browse;
mod config_init;
pub mod demo;
pub mod doctor;
pub mod export;
pub mod listen;
mod marks;
pub mod queue;
pub mod serve_demo;
mod shell;
pub mod stats;
mod team;
pub mod webhooks;
pub mod window;

use std::ffi::OsString;

use clap::{CommandFactory, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "callscope",
    version,
    about = "Review PolyAI conversations in the terminal: transcripts, recordings, live calls.",
    after_help = "Options before a command apply to that command, as if written after it: \
`callscope --region uk doctor` is `callscope doctor --region uk`. A command refuses an option it does not take."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// With no command: browse the configured API (same flags as `callscope browse`).
    #[command(flatten)]
    pub browse: browse::BrowseArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open the TUI against the configured PolyAI API (the default).
    Browse(browse::BrowseArgs),
    /// Open the TUI against an embedded stand-in API with generated calls (no account needed).
    Demo(demo::DemoArgs),
    /// Run the stand-in PolyAI API on loopback until Ctrl-C; prints `export …` lines to paste.
    ServeDemo(serve_demo::ServeDemoArgs),
    /// Export conversations (and recordings) as JSONL, CSV or Markdown: the quickstart's pipeline in one command.
    Export(export::ExportArgs),
    /// Check the configuration against the API, one line per troubleshooting case.
    Doctor(doctor::DoctorArgs),
    /// Manage webhook endpoints on the platform host.
    Webhooks(webhooks::WebhooksArgs),
    /// Receive signed webhook deliveries and print one JSON line per accepted event.
    Listen(listen::ListenArgs),
    /// Figures of a window from the local cache (calls, handoffs, latency percentiles, intents,
    /// review progress) as a table, JSON or CSV: the TUI's stats view for scripts.
    Stats(stats::StatsArgs),
    /// Export or import review marks (status, flags, notes, per-turn ratings) as a JSON file, or push them to Agent Studio.
    Marks(marks::MarksArgs),
    /// Review queues in the team database: sample a window, claim items, record scores, see agreement.
    Queue(queue::QueueArgs),
    /// The team database (`[team]` in the config): `team init` creates or migrates its schema.
    Team(team::TeamArgs),
    /// The config file: `config init` writes the documented example.
    Config(config_init::ConfigArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to stdout.
    Completions(shell::CompletionsArgs),
    /// Print the man page (roff) to stdout: `callscope man | man -l -`.
    Man(shell::ManArgs),
}

/// `callscope --region uk doctor` means `callscope doctor --region uk`: options written before
/// the command move after it (after the innermost command named: `webhooks delete`), so the
/// command's own parser takes them, or refuses one it does not take (exit 2), instead of the
/// top level reading them for a browse that never runs. Anything it cannot read as leading
/// options (an unknown option, `--help`, no command after them) is left for clap to report.
pub fn leading_options_after_command(args: Vec<OsString>) -> Vec<OsString> {
    let cmd = Cli::command();
    let mut i = 1;
    while let Some(word) = args.get(i).and_then(|a| a.to_str()) {
        let Some(long) = word.strip_prefix("--").filter(|l| !l.is_empty()) else {
            break;
        };
        let (name, inline_value) = match long.split_once('=') {
            Some((n, _)) => (n, true),
            None => (long, false),
        };
        let Some(arg) = cmd.get_arguments().find(|a| a.get_long() == Some(name)) else {
            return args;
        };
        i += if arg.get_action().takes_values() && !inline_value {
            2
        } else {
            1
        };
    }
    let leading_end = i.min(args.len());
    let mut sub = &cmd;
    let mut end = leading_end;
    while let Some(found) = args
        .get(end)
        .and_then(|a| a.to_str())
        .and_then(|n| sub.find_subcommand(n))
    {
        sub = found;
        end += 1;
    }
    if leading_end == 1 || end == leading_end {
        return args;
    }
    let mut out = Vec::with_capacity(args.len());
    out.push(args[0].clone());
    out.extend_from_slice(&args[leading_end..end]);
    out.extend_from_slice(&args[1..leading_end]);
    out.extend_from_slice(&args[end..]);
    out
}

/// The command line as clap reads it, leading options moved after their command; exits on
/// `--help`, `--version` or a usage error, as clap does.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Cli {
    Cli::parse_from(leading_options_after_command(args.into_iter().collect()))
}

/// Runs a parsed command and returns the process exit code.
pub fn run(cli: Cli) -> i32 {
    // Commands that need no runtime, and must print nothing else.
    match &cli.command {
        Some(Command::Completions(a)) => return exit_code(shell::completions(a)),
        Some(Command::Man(a)) => return exit_code(shell::man(a)),
        Some(Command::Config(a)) => return exit_code(config_init::run(a)),
        _ => {}
    }
    // Every command that reads the config file refuses a bad one the same way, wherever its
    // path came from (`--config`, or the default path), before anything else happens.
    if let Some(path) = config_path(&cli)
        && let Err(e) = crate::settings::load_file(path.as_deref())
    {
        return exit_code(Err(e));
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            crate::errln!("error: cannot start the async runtime: {e}");
            return 1;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            None => browse::run(cli.browse).await,
            Some(Command::Browse(a)) => browse::run(a).await,
            Some(Command::Demo(a)) => demo::run(a).await,
            Some(Command::ServeDemo(a)) => serve_demo::run(a).await,
            Some(Command::Export(a)) => export::run(a).await,
            Some(Command::Doctor(a)) => doctor::run(a).await,
            Some(Command::Webhooks(a)) => webhooks::run(a).await,
            Some(Command::Listen(a)) => listen::run(a).await,
            Some(Command::Marks(a)) => marks::run(a).await,
            Some(Command::Queue(a)) => queue::run(a).await,
            Some(Command::Team(a)) => team::run(a).await,
            Some(Command::Stats(a)) => stats::run(&a),
            Some(Command::Config(_) | Command::Completions(_) | Command::Man(_)) => Ok(0),
        }
    });
    // Background tasks (downloads, servers) must not keep the process alive.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    exit_code(result)
}

/// The config file a command reads: `Some(None)` for the default path, `None` for a command
/// that reads no config file.
fn config_path(cli: &Cli) -> Option<Option<std::path::PathBuf>> {
    let conn = match &cli.command {
        None => &cli.browse.conn,
        Some(Command::Browse(a)) => &a.conn,
        Some(Command::Demo(a)) => return Some(a.config.clone()),
        Some(Command::Export(a)) => &a.conn,
        Some(Command::Doctor(a)) => &a.conn,
        Some(Command::Queue(a)) => return Some(a.config()),
        Some(Command::Team(a)) => return Some(a.config()),
        Some(Command::Stats(a)) => &a.conn,
        Some(Command::Webhooks(a)) => a.conn(),
        Some(
            Command::ServeDemo(_)
            | Command::Listen(_)
            | Command::Marks(_)
            | Command::Config(_)
            | Command::Completions(_)
            | Command::Man(_),
        ) => return None,
    };
    Some(conn.config.clone())
}

fn exit_code(result: anyhow::Result<i32>) -> i32 {
    match result {
        Ok(code) => code,
        Err(e) => {
            crate::output::print_error(&e);
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moved(args: &[&str]) -> Vec<String> {
        let args = args.iter().map(OsString::from).collect();
        leading_options_after_command(args)
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn leading_options_follow_the_innermost_command() {
        assert_eq!(
            moved(&["cs", "--project-id", "P", "--region=uk", "webhooks", "delete", "whe_1"]),
            ["cs", "webhooks", "delete", "--project-id", "P", "--region=uk", "whe_1"]
        );
        assert_eq!(
            moved(&["cs", "--config", "c.toml", "doctor", "--region", "us"]),
            ["cs", "doctor", "--config", "c.toml", "--region", "us"]
        );
    }

    #[test]
    fn anything_else_is_left_for_clap() {
        for args in [
            &["cs", "--region", "uk"][..],
            &["cs", "doctor", "--region", "uk"],
            &["cs", "--help", "doctor"],
            &["cs", "--nonsense", "x", "doctor"],
            &["cs", "--store", "x.db", "not-a-command"],
            &["cs"],
        ] {
            assert_eq!(moved(args), args, "{args:?}");
        }
    }
}
