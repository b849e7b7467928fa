//! `callscope webhooks …` and `callscope listen`.

use anyhow::Result;

#[derive(Debug, Clone, clap::Args)]
pub struct WebhooksArgs {}

#[derive(Debug, Clone, clap::Args)]
pub struct ListenArgs {}

pub async fn webhooks(_args: WebhooksArgs) -> Result<i32> {
    anyhow::bail!("webhooks commands are not built yet")
}

pub async fn listen(_args: ListenArgs) -> Result<i32> {
    anyhow::bail!("listen is not built yet")
}
