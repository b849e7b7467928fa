//! `callscope doctor`.

use anyhow::Result;

#[derive(Debug, Clone, clap::Args)]
pub struct DoctorArgs {}

pub async fn run(_args: DoctorArgs) -> Result<i32> {
    anyhow::bail!("doctor is not built yet")
}
