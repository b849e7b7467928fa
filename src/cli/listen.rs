//! `callscope listen`: its flags, as [`crate::webhook::commands::ListenOptions`].

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Result;

use crate::webhook::commands::ListenOptions;

#[derive(Debug, Clone, clap::Args)]
pub struct ListenArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8787")]
    pub addr: SocketAddr,
    /// Path deliveries are posted to.
    #[arg(long, default_value = "/polyai-events")]
    pub path: String,
    /// File with the signing secret(s), one per line (besides POLYAI_WEBHOOK_SECRET).
    #[arg(long, value_name = "PATH")]
    pub secret_file: Option<PathBuf>,
    /// Largest accepted body in bytes (larger → 413).
    #[arg(long, default_value_t = 1 << 20)]
    pub max_body_bytes: usize,
}

impl From<ListenArgs> for ListenOptions {
    fn from(a: ListenArgs) -> Self {
        ListenOptions {
            addr: a.addr,
            path: a.path,
            secret_file: a.secret_file,
            max_body_bytes: a.max_body_bytes,
        }
    }
}

pub async fn run(args: ListenArgs) -> Result<i32> {
    crate::webhook::commands::listen(args.into()).await
}
