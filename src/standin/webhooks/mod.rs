//! The stand-in's side of webhooks: the endpoint registry and its API routes (both route
//! families), the deliverer that signs and posts events with retries, and the ticker that
//! makes the demo's live traffic. What a real user runs (signatures, events, the receiver,
//! the CLI) is `crate::webhook`, which this builds on and which never imports this.

pub mod deliver;
pub mod registry;
pub mod routes;
pub mod ticker;

pub use deliver::{AttemptOutcome, Deliverer, DeliveryAttempt, DeliveryConfig};
pub use registry::{Endpoint, Registry};
pub use routes::{WebhookRoutes, WebhookState, router, router_for};
pub use ticker::LiveCalls;
