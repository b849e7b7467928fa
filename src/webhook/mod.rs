//! Webhooks: signatures, the receiver, the stand-in's endpoint registry and deliveries, and
//! the CLI commands.
//!
//! - Stand-in side: [`routes::router`] serves the Webhooks API over a shared [`Registry`];
//!   [`Deliverer`] posts signed events to the registered endpoints, with retries.
//! - Client side: [`endpoints::Endpoints`] manages endpoints on the reference's route family,
//!   falling back to the quickstart's where that route is missing; [`receiver::receiver`]
//!   verifies (either signature scheme), dedupes and queues incoming events of either payload
//!   shape; [`server::serve`] runs it with read timeouts and a connection cap;
//!   `callscope listen` prints them as JSON lines (and alerts as a line on stderr).

pub mod cli;
pub mod deliver;
pub mod endpoints;
pub mod event;
pub mod ids;
pub mod live;
pub mod receiver;
pub mod registry;
pub mod routes;
pub mod server;
pub mod signature;

pub use deliver::{AttemptOutcome, Deliverer, DeliveryAttempt, DeliveryConfig};
pub use event::{Alert, EventData, EventType, WebhookEvent};
pub use live::LiveCalls;
pub use receiver::{Receiver, ReceiverConfig, ReceiverHandle, receiver};
pub use registry::{Endpoint, Registry};
pub use routes::{WebhookRoutes, WebhookState, router, router_for};
pub use signature::{SignatureScheme, SigningSecret};
