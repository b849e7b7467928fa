//! Terminal setup, the event loop, `callscope browse` and `callscope demo`.

use anyhow::Result;

use crate::config::ConnectionArgs;

#[derive(Debug, Clone, Default, clap::Args)]
pub struct BrowseArgs {
    #[command(flatten)]
    pub conn: ConnectionArgs,
}

#[derive(Debug, Clone, Default, clap::Args)]
pub struct DemoArgs {
    /// Seed of the generated data set.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

pub async fn browse(_args: BrowseArgs) -> Result<i32> {
    anyhow::bail!("the TUI is not built yet")
}

pub async fn demo(_args: DemoArgs) -> Result<i32> {
    anyhow::bail!("the TUI is not built yet")
}
