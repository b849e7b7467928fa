//! `callscope export`.

use anyhow::Result;

#[derive(Debug, Clone, clap::Args)]
pub struct ExportArgs {}

pub async fn run(_args: ExportArgs) -> Result<i32> {
    anyhow::bail!("export is not built yet")
}
