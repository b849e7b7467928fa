//! `callscope webhooks register|list|delete|rotate`: their flags and dispatch to
//! [`crate::webhook::commands`].

use std::path::PathBuf;

use anyhow::Result;

use crate::config::ConnectionArgs;
use crate::webhook::commands::{self, RegisterOptions};

#[derive(Debug, Clone, clap::Args)]
pub struct WebhooksArgs {
    #[command(subcommand)]
    pub command: WebhooksCommand,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum WebhooksCommand {
    /// Register an endpoint (POST /v1/webhook-endpoints; the quickstart's /v1/webhooks/endpoints
    /// where that route is missing or for its call events); prints its signing secret once.
    Register(RegisterArgs),
    /// List registered endpoints (GET /v1/webhook-endpoints, else /v1/webhooks/endpoints).
    List(ConnOnly),
    /// Delete an endpoint (DELETE /v1/webhook-endpoints/{id}, else /v1/webhooks/endpoints/{id}).
    Delete(DeleteArgs),
    /// Replace an endpoint's signing secret (POST …/{id}/rotate-secret); the old one stops
    /// working at once.
    Rotate(RotateArgs),
}

#[derive(Debug, Clone, clap::Args)]
pub struct RegisterArgs {
    /// Where PolyAI should POST events (https://, or http:// to loopback for the stand-in).
    #[arg(long)]
    pub url: String,
    /// Event type to subscribe to; repeat for several. The reference documents
    /// `alerts.triggered` and `alerts.resolved`; the quickstart's `conversation.completed` and
    /// `handoff.created` are registered on the quickstart's route.
    #[arg(long = "event", value_name = "TYPE", default_values_t = ["alerts.triggered".to_string(), "alerts.resolved".to_string()])]
    pub events: Vec<String>,
    /// The endpoint's name (required by the reference; 1–255 characters).
    #[arg(long, default_value = "callscope")]
    pub name: String,
    /// The quickstart route's `description` (default: the name).
    #[arg(long)]
    pub description: Option<String>,
    /// Write the signing secret to this file (mode 600) instead of printing it.
    #[arg(long, value_name = "PATH")]
    pub save_secret: Option<PathBuf>,
    #[command(flatten)]
    pub conn: ConnectionArgs,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ConnOnly {
    #[command(flatten)]
    pub conn: ConnectionArgs,
}

#[derive(Debug, Clone, clap::Args)]
pub struct DeleteArgs {
    /// Endpoint id (`whe_…`).
    pub id: String,
    #[command(flatten)]
    pub conn: ConnectionArgs,
}

#[derive(Debug, Clone, clap::Args)]
pub struct RotateArgs {
    /// Endpoint id (`whe_…`).
    pub id: String,
    /// Write the new signing secret to this file (mode 600) instead of printing it.
    #[arg(long, value_name = "PATH")]
    pub save_secret: Option<PathBuf>,
    #[command(flatten)]
    pub conn: ConnectionArgs,
}

impl WebhooksArgs {
    /// The connection flags of whichever subcommand it is.
    pub fn conn(&self) -> &ConnectionArgs {
        match &self.command {
            WebhooksCommand::Register(r) => &r.conn,
            WebhooksCommand::List(l) => &l.conn,
            WebhooksCommand::Delete(d) => &d.conn,
            WebhooksCommand::Rotate(r) => &r.conn,
        }
    }
}

impl From<RegisterArgs> for RegisterOptions {
    fn from(a: RegisterArgs) -> Self {
        RegisterOptions {
            url: a.url,
            events: a.events,
            name: a.name,
            description: a.description,
            save_secret: a.save_secret,
            conn: a.conn,
        }
    }
}

pub async fn run(args: WebhooksArgs) -> Result<i32> {
    match args.command {
        WebhooksCommand::Register(a) => commands::register(a.into()).await,
        WebhooksCommand::List(a) => commands::list(&a.conn).await,
        WebhooksCommand::Delete(a) => commands::delete(&a.conn, &a.id).await,
        WebhooksCommand::Rotate(a) => commands::rotate(&a.conn, &a.id, a.save_secret.as_deref()).await,
    }
}
