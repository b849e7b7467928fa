//! The embedded stand-in PolyAI API (axum on loopback) and its deterministic data generator.

use std::net::SocketAddr;

use anyhow::Result;

/// `callscope serve-demo` flags.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeDemoArgs {
    /// Runtime-family listener (conversations).
    #[arg(long, default_value = "127.0.0.1:8470")]
    pub runtime_addr: SocketAddr,
    /// Platform-family listener (webhooks, /v1/agents).
    #[arg(long, default_value = "127.0.0.1:8471")]
    pub platform_addr: SocketAddr,
    /// Seed of the generated data set.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// How many conversations to generate over the last 30 days.
    #[arg(long, default_value_t = 3000)]
    pub conversations: usize,
    /// Requests per second allowed per API key before 429 (0 = unlimited).
    #[arg(long, default_value_t = 0)]
    pub rate_limit: u32,
}

/// Options of an in-process stand-in.
#[derive(Debug, Clone)]
pub struct StandinOptions {
    pub runtime_addr: SocketAddr,
    pub platform_addr: SocketAddr,
    pub seed: u64,
    pub conversations: usize,
    /// Requests per second per key; 0 = unlimited.
    pub rate_limit: u32,
}

impl Default for StandinOptions {
    fn default() -> Self {
        StandinOptions {
            runtime_addr: ([127, 0, 0, 1], 0).into(),
            platform_addr: ([127, 0, 0, 1], 0).into(),
            seed: 7,
            conversations: 3000,
            rate_limit: 0,
        }
    }
}

/// A running stand-in: its URLs and credentials. Dropping it stops the servers.
#[derive(Debug)]
pub struct Standin {
    pub runtime_url: String,
    pub platform_url: String,
    pub api_key: String,
    pub account_id: String,
    pub project_id: String,
}

/// Starts the stand-in on the current tokio runtime.
pub async fn start(_opts: StandinOptions) -> Result<Standin> {
    anyhow::bail!("the stand-in is not built yet")
}

/// `callscope serve-demo`.
pub async fn serve_demo(_args: ServeDemoArgs) -> Result<i32> {
    anyhow::bail!("serve-demo is not built yet")
}
