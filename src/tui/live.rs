//! The webhook receiver inside the TUI: verified events become [`Msg::Live`] messages.
//!
//! `callscope demo` registers the receiver with its own stand-in and takes the signing secret
//! from the answer; `callscope browse --listen ADDR` takes the secret from
//! `POLYAI_WEBHOOK_SECRET` or `--webhook-secret-file`, and the user registers the public URL.

use std::net::SocketAddr;

use anyhow::{Context, Result, bail};
use serde_json::Value;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

use crate::api::Client;
use crate::app::Msg;
use crate::app::live::LiveEvent;
use crate::webhook::endpoints::{Endpoints, Registration};
use crate::webhook::{EventType, ReceiverConfig, ReceiverHandle, SigningSecret, WebhookEvent, receiver};

/// Where the receiver listens, and how it learns its secret.
#[derive(Debug, Clone)]
pub struct LiveSetup {
    pub addr: SocketAddr,
    pub secrets: Vec<SigningSecret>,
    /// Register `http://ADDR/polyai-events` through the API's Webhooks endpoint and use the
    /// secret it answers with (the demo's stand-in).
    pub register: bool,
}

/// The running receiver; dropping it stops it.
pub struct LiveReceiver {
    pub addr: SocketAddr,
    /// The URL deliveries go to.
    pub url: String,
    pub handle: ReceiverHandle,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for LiveReceiver {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// What the list needs of a webhook event (`None` for event types it does not use).
pub fn to_live_event(e: WebhookEvent) -> Option<LiveEvent> {
    let d = e.data;
    match e.event_type {
        EventType::ConversationCompleted => Some(LiveEvent::Completed {
            id: d.conversation_id,
            environment: d.environment,
        }),
        EventType::HandoffCreated => Some(LiveEvent::Handoff {
            id: d.conversation_id,
            environment: d.environment,
            reason: d.handoff_reason,
        }),
        EventType::AlertsTriggered | EventType::AlertsResolved => Some(LiveEvent::Alert {
            resolved: e.event_type == EventType::AlertsResolved,
            summary: e.alert.unwrap_or_default().summary(),
        }),
        EventType::Other(_) => None,
    }
}

/// Starts the receiver on `setup.addr`, registers it when asked, and forwards its events to
/// `tx`. Sends `LiveEvent::Receiver { up: true }` once deliveries can be accepted.
pub async fn start(setup: LiveSetup, client: &Client, tx: UnboundedSender<Msg>) -> Result<LiveReceiver> {
    let rx = receiver(ReceiverConfig::new(setup.secrets));
    let path = ReceiverConfig::new(vec![]).path;
    let listener = tokio::net::TcpListener::bind(setup.addr).await.with_context(|| {
        format!(
            "cannot listen for webhooks on {}; is the port in use? Try port 0",
            setup.addr
        )
    })?;
    let addr = listener.local_addr()?;
    let url = format!("http://{addr}{path}");
    let router = rx.router.clone();
    let limits = crate::webhook::server::ServeLimits::for_this_process();
    let server = tokio::spawn(crate::webhook::server::serve(
        listener,
        router,
        limits,
        std::future::pending(),
    ));
    let events_tx = tx.clone();
    let mut events = rx.events;
    let forward = tokio::spawn(async move {
        while let Some(e) = events.recv().await {
            tracing::debug!(kind = e.event_type.as_str(), "webhook event");
            if let Some(ev) = to_live_event(e)
                && events_tx.send(Msg::Live(ev)).is_err()
            {
                break;
            }
        }
        let _ = events_tx.send(Msg::Live(LiveEvent::Receiver { up: false }));
    });
    let live = LiveReceiver {
        addr,
        url,
        handle: rx.handle.clone(),
        tasks: vec![server, forward],
    };
    if setup.register {
        let secret = register(client, &live.url).await?;
        rx.handle.set_secrets(vec![secret]);
    }
    tracing::info!(%addr, "webhook receiver listening");
    let _ = tx.send(Msg::Live(LiveEvent::Receiver { up: true }));
    Ok(live)
}

/// Registers the receiver for the call events the list uses and the alerts the status line
/// shows. Call events exist only on the quickstart's route (`POST /v1/webhooks/endpoints`), so
/// that is where this goes; returns the endpoint's signing secret.
pub async fn register(client: &Client, url: &str) -> Result<SigningSecret> {
    let reg = Registration {
        name: "callscope demo".into(),
        url: url.into(),
        events: [
            "conversation.completed",
            "handoff.created",
            "alerts.triggered",
            "alerts.resolved",
        ]
        .map(String::from)
        .to_vec(),
        description: None,
    };
    let (_, created) = Endpoints::new(client)
        .create(&reg)
        .await
        .map_err(|e| anyhow::anyhow!("cannot register the webhook endpoint: {}", e.headline()))?;
    match created.get("signing_secret").and_then(Value::as_str) {
        Some(s) if !s.is_empty() => Ok(SigningSecret::new(s)),
        _ => bail!("the webhook registration answer has no signing_secret"),
    }
}

/// Parses `--poll` durations: `30s`, `2m`, `1h`, or plain seconds (at least 1 s).
pub fn parse_poll(s: &str) -> Result<std::time::Duration, String> {
    let d =
        crate::domain::duration::parse_or_secs(s).map_err(|e| format!("{e} (a poll interval, e.g. 30s, 2m or 1h)"))?;
    if d < std::time::Duration::from_secs(1) {
        return Err(format!("{s:?}: the poll interval must be at least 1s"));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::EventData;

    #[test]
    fn poll_intervals() {
        assert_eq!(parse_poll("30s"), Ok(std::time::Duration::from_secs(30)));
        assert_eq!(parse_poll("2m"), Ok(std::time::Duration::from_secs(120)));
        assert_eq!(parse_poll("45"), Ok(std::time::Duration::from_secs(45)));
        assert!(parse_poll("0s").is_err());
        assert!(parse_poll("soon").unwrap_err().contains("e.g. 30s"));
    }

    #[test]
    fn events_map_to_what_the_list_needs() {
        let data = EventData {
            conversation_id: "CA1".into(),
            environment: "live".into(),
            handoff_reason: "billing".into(),
            ..Default::default()
        };
        let done = WebhookEvent::new(EventType::ConversationCompleted, data.clone());
        assert_eq!(
            to_live_event(done),
            Some(LiveEvent::Completed {
                id: "CA1".into(),
                environment: "live".into()
            })
        );
        let h = WebhookEvent::new(EventType::HandoffCreated, data.clone());
        assert!(matches!(to_live_event(h), Some(LiveEvent::Handoff { reason, .. }) if reason == "billing"));
        let other = WebhookEvent::new(EventType::Other("alert.fired".into()), data);
        assert_eq!(to_live_event(other), None);
        let alert = WebhookEvent::from_slice(
            br#"{"event_type":"alerts.resolved","alert":{"name":"p95","metric":"turn_latency_p95","current_value":920}}"#,
            Some("evt_a"),
        )
        .unwrap();
        assert_eq!(
            to_live_event(alert),
            Some(LiveEvent::Alert {
                resolved: true,
                summary: "p95: turn_latency_p95 920".into()
            })
        );
    }
}
