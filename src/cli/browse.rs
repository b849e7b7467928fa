//! `callscope browse` (and `callscope` with no command): its flags, as
//! [`crate::tui::BrowseOptions`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;

use crate::config::ConnectionArgs;
use crate::tui::BrowseOptions;

#[derive(Debug, Clone, Default, clap::Args)]
pub struct BrowseArgs {
    #[command(flatten)]
    pub conn: ConnectionArgs,
    /// Receive webhooks on ADDR (e.g. 0.0.0.0:8080): completed calls appear at the top as they
    /// happen, alerts show in the status line. Register the public URL yourself (`callscope
    /// webhooks register --url https://HOST/polyai-events --save-secret PATH`, plus `--event
    /// conversation.completed --event handoff.created` for calls where the host offers the
    /// quickstart's route); the signing secret comes from POLYAI_WEBHOOK_SECRET or
    /// --webhook-secret-file, never from a flag.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// File holding the webhook signing secret(s), one per line (with --listen).
    #[arg(long, value_name = "PATH", requires = "listen")]
    pub webhook_secret_file: Option<PathBuf>,
    /// Without webhooks: look for new calls this often (e.g. 30s, 2m) and add them at the top.
    #[arg(long, value_name = "DURATION", value_parser = crate::tui::live::parse_poll)]
    pub poll: Option<Duration>,
    /// The local store (cache and review marks) [default: <data dir>/callscope.db].
    #[arg(long, value_name = "PATH")]
    pub store: Option<PathBuf>,
}

impl From<BrowseArgs> for BrowseOptions {
    fn from(a: BrowseArgs) -> Self {
        BrowseOptions {
            conn: a.conn,
            listen: a.listen,
            webhook_secret_file: a.webhook_secret_file,
            poll: a.poll,
            store: a.store,
        }
    }
}

pub async fn run(args: BrowseArgs) -> Result<i32> {
    crate::tui::browse(args.into()).await
}
