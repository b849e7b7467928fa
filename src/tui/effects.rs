//! Runs the effects `update` asks for: API calls on spawned tasks whose answers come back as
//! messages tagged with their request id, and timers.

use std::sync::Arc;

use tokio::sync::mpsc::UnboundedSender;

use crate::api::Client;
use crate::app::{Effect, Msg};

/// Spawns network work; cheap to clone.
#[derive(Clone)]
pub struct Runner {
    client: Client,
    tx: UnboundedSender<Msg>,
}

impl Runner {
    /// `client` gets a retry observer that reports waits as [`Msg::Retrying`].
    pub fn new(client: Client, tx: UnboundedSender<Msg>) -> Self {
        let obs_tx = tx.clone();
        let client = client.with_retry_observer(Arc::new(move |n| {
            let _ = obs_tx.send(Msg::Retrying(n.clone()));
        }));
        Runner { client, tx }
    }

    /// Handles the effects that need no terminal; returns the others to the caller.
    pub fn spawn(&self, effect: Effect) -> Option<Effect> {
        let tx = self.tx.clone();
        match effect {
            Effect::FetchPage { req, query } => {
                let client = self.client.clone();
                tokio::spawn(async move {
                    tracing::debug!(req, cursor = ?query.cursor, "page");
                    let result = client.list_page(&query).await;
                    if let Err(e) = &result {
                        tracing::warn!(req, "page failed: {}", e.headline());
                    }
                    let _ = tx.send(Msg::Page { req, result });
                });
                None
            }
            Effect::FetchConversation { req, id } => {
                let client = self.client.clone();
                tokio::spawn(async move {
                    tracing::debug!(req, "conversation");
                    let result = client.conversation(&id).await;
                    let _ = tx.send(Msg::Conversation { req, result });
                });
                None
            }
            Effect::After { delay, msg } => {
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    let _ = tx.send(*msg);
                });
                None
            }
            other => Some(other),
        }
    }
}
