//! `callscope serve-demo`: its flags, as [`crate::standin::StandinOptions`].

use std::net::SocketAddr;

use anyhow::Result;

use crate::standin::webhooks::WebhookRoutes;
use crate::standin::{Shape, StandinOptions};
use crate::webhook::SignatureScheme;

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
    /// Simulate live traffic: start a call every SECS seconds; each completion is delivered to the
    /// registered webhook endpoints as `conversation.completed` (+ `handoff.created`). 0 = off.
    #[arg(long, value_name = "SECS", default_value_t = 0.0)]
    pub new_call_every: f64,
    /// How deliveries are signed: `timestamped` (HMAC of "{X-PolyAI-Timestamp}.{body}", as the
    /// reference docs describe) or `body` (HMAC of the raw body, as the quickstart verifies).
    #[arg(long, value_enum, default_value = "timestamped")]
    pub signature_scheme: SignatureScheme,
    /// Response shapes: `v3` (documented; the quickstart's paths all work), `platform` (the
    /// live platform objects; v3 by-id and audio missing) or `mixed` (the v3 list in snake_case
    /// carrying the live content, live platform by-id, v3 by-id and audio missing for 30% of
    /// conversations).
    #[arg(long, value_enum, default_value = "v3")]
    pub shape: Shape,
    /// Scales the documented webhook retry schedule (1 min, 5 min, 15 min, 1 h, 4 h):
    /// 0.01 retries after 0.6 s, 3 s, 9 s, 36 s, 144 s. 0 retries at once.
    #[arg(long, value_name = "FACTOR", default_value_t = 1.0)]
    pub retry_scale: f64,
    /// Which Webhooks API routes the platform listener serves: `both`, `reference`
    /// (`/v1/webhook-endpoints`) or `quickstart` (`/v1/webhooks/endpoints`).
    #[arg(long, value_enum, default_value = "both")]
    pub webhook_routes: WebhookRoutes,
}

impl TryFrom<ServeDemoArgs> for StandinOptions {
    type Error = anyhow::Error;

    fn try_from(a: ServeDemoArgs) -> Result<Self> {
        Ok(StandinOptions {
            runtime_addr: a.runtime_addr,
            platform_addr: a.platform_addr,
            seed: a.seed,
            conversations: a.conversations,
            rate_limit: a.rate_limit,
            new_call_every: super::demo::new_call_every(a.new_call_every)?,
            signature_scheme: a.signature_scheme,
            shape: a.shape,
            retry_scale: a.retry_scale,
            webhook_routes: a.webhook_routes,
            ..StandinOptions::default()
        })
    }
}

pub async fn run(args: ServeDemoArgs) -> Result<i32> {
    crate::standin::serve_demo(args.try_into()?).await
}
