//! Webhooks as a real user runs them: signatures, events, the receiver and the CLI commands.
//! The stand-in's registry, routes, deliverer and live ticker are `crate::standin::webhooks`.
//!
//! - [`endpoints::Endpoints`] manages endpoints on the reference's route family,
//!   falling back to the quickstart's where that route is missing; [`receiver::receiver`]
//!   verifies (either signature scheme), dedupes and queues incoming events of either payload
//!   shape; [`server::serve`] runs it with read timeouts and a connection cap;
//!   `callscope listen` prints them as JSON lines (and alerts as a line on stderr).

pub mod commands;
pub mod endpoints;
pub mod event;
pub mod ids;
pub mod receiver;
pub mod server;
pub mod signature;

pub use event::{Alert, EventData, EventType, WebhookEvent};
pub use receiver::{Receiver, ReceiverConfig, ReceiverHandle, receiver};
pub use signature::{SignatureScheme, SigningSecret};
