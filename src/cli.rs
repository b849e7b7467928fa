//! Command-line interface: `callscope [browse] | demo | serve-demo | export | doctor | webhooks | listen | marks`.

mod marks;

use clap::{Parser, Subcommand};

use crate::{doctor, export, standin, tui, webhook};

#[derive(Debug, Parser)]
#[command(
    name = "callscope",
    version,
    about = "Review PolyAI conversations in the terminal: transcripts, recordings, live calls."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// With no command: browse the configured API (same flags as `callscope browse`).
    #[command(flatten)]
    pub browse: tui::BrowseArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open the TUI against the configured PolyAI API (the default).
    Browse(tui::BrowseArgs),
    /// Open the TUI against an embedded stand-in API with generated calls (no account needed).
    Demo(tui::DemoArgs),
    /// Run the stand-in PolyAI API on loopback until Ctrl-C; prints `export …` lines to paste.
    ServeDemo(standin::ServeDemoArgs),
    /// Export conversations (and recordings) as JSONL, CSV or Markdown: the quickstart's pipeline in one command.
    Export(export::ExportArgs),
    /// Check the configuration against the API, one line per troubleshooting case.
    Doctor(doctor::DoctorArgs),
    /// Manage webhook endpoints on the platform host.
    Webhooks(webhook::cli::WebhooksArgs),
    /// Receive signed webhook deliveries and print one JSON line per accepted event.
    Listen(webhook::cli::ListenArgs),
    /// Export or import review marks (status, flags, notes, per-turn ratings) as a JSON file, or push them to Agent Studio.
    Marks(marks::MarksArgs),
}

/// Runs the CLI and returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            crate::errln!("error: cannot start the async runtime: {e}");
            return 1;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            None => tui::browse(cli.browse).await,
            Some(Command::Browse(a)) => tui::browse(a).await,
            Some(Command::Demo(a)) => tui::demo(a).await,
            Some(Command::ServeDemo(a)) => standin::serve_demo(a).await,
            Some(Command::Export(a)) => export::run(a).await,
            Some(Command::Doctor(a)) => doctor::run(a).await,
            Some(Command::Webhooks(a)) => webhook::cli::webhooks(a).await,
            Some(Command::Listen(a)) => webhook::cli::listen(a).await,
            Some(Command::Marks(a)) => marks::run(a).await,
        }
    });
    // Background tasks (downloads, servers) must not keep the process alive.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    match result {
        Ok(code) => code,
        Err(e) => {
            crate::output::print_error(&e);
            1
        }
    }
}
