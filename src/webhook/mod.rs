//! Webhooks: signatures, the receiver, the stand-in's deliveries, and the CLI commands.

pub mod cli;
