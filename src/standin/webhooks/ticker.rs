//! Simulated live traffic for the demo: every interval a call "ends", and the stand-in tells
//! the registered endpoints about it (`conversation.completed`, plus `handoff.created` when
//! the call was handed off). A simulated latency alert fires every [`ALERT_EVERY`] calls and
//! resolves [`ALERT_LASTS`] calls later (`alerts.triggered` / `alerts.resolved`, the
//! reference's events), so endpoints registered with the default alert events see traffic too.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::deliver::Deliverer;
use crate::webhook::event::{Alert, EventData, EventType, WebhookEvent};

/// Calls between simulated alerts, and how many calls one stays firing.
pub const ALERT_EVERY: u64 = 12;
pub const ALERT_LASTS: u64 = 4;

/// A running simulator. Dropping it stops the calls.
#[derive(Debug)]
pub struct LiveCalls {
    task: tokio::task::JoinHandle<()>,
    calls: Arc<AtomicU64>,
}

impl LiveCalls {
    /// Every `every`, calls `next_call`, which adds a finished conversation to the stand-in's
    /// data set and returns its event data (or `None` to skip this tick); then delivers the
    /// events for it. Must be called inside a tokio runtime.
    pub fn spawn<F>(deliverer: Deliverer, every: Duration, mut next_call: F) -> Self
    where
        F: FnMut() -> Option<EventData> + Send + 'static,
    {
        let calls = Arc::new(AtomicU64::new(0));
        let counter = calls.clone();
        let task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await; // the first tick is immediate: let the first call take `every`
            let mut alerts = AlertSimulator::default();
            loop {
                ticks.tick().await;
                let Some(data) = next_call() else { continue };
                counter.fetch_add(1, Ordering::Relaxed);
                for event in events_for(data).into_iter().chain(alerts.after_call()) {
                    deliverer.deliver(&event);
                }
            }
        });
        LiveCalls { task, calls }
    }

    /// How many calls have been simulated so far.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
}

impl Drop for LiveCalls {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The events one finished call produces: a handoff first (it happened during the call),
/// then the completion.
pub fn events_for(data: EventData) -> Vec<WebhookEvent> {
    let mut events = Vec::with_capacity(2);
    if data.handoff {
        events.push(WebhookEvent::new(EventType::HandoffCreated, data.clone()));
    }
    events.push(WebhookEvent::new(EventType::ConversationCompleted, data));
    events
}

/// A p95 turn-latency alert rule over the simulated calls: fires on every
/// [`ALERT_EVERY`]th call, resolves [`ALERT_LASTS`] calls later.
#[derive(Debug, Default)]
pub struct AlertSimulator {
    calls: u64,
    firing_since: Option<u64>,
}

impl AlertSimulator {
    const THRESHOLD_MS: i64 = 1500;

    fn alert(&self, current_ms: i64, previous_state: &str) -> Alert {
        Alert {
            id: "ar_standinTurnLatencyP95".into(),
            name: "High turn latency (p95)".into(),
            metric: "turn_latency_p95".into(),
            operator: ">=".into(),
            threshold_value: Self::THRESHOLD_MS.to_string(),
            current_value: current_ms.to_string(),
            previous_state: previous_state.into(),
            ..Default::default()
        }
    }

    /// The alert event due after one more completed call, if any.
    pub fn after_call(&mut self) -> Option<WebhookEvent> {
        self.calls += 1;
        let wobble = (self.calls * 53 % 400) as i64;
        match self.firing_since {
            Some(since) if self.calls - since >= ALERT_LASTS => {
                self.firing_since = None;
                let mut a = self.alert(Self::THRESHOLD_MS - 500 + wobble, "alert");
                a.resolved_at = Some(chrono::Utc::now());
                Some(WebhookEvent::alert(EventType::AlertsResolved, a))
            }
            None if self.calls.is_multiple_of(ALERT_EVERY) => {
                self.firing_since = Some(self.calls);
                let mut a = self.alert(Self::THRESHOLD_MS + 100 + wobble, "ok");
                a.triggered_at = Some(chrono::Utc::now());
                Some(WebhookEvent::alert(EventType::AlertsTriggered, a))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handoffs_produce_two_events_with_distinct_ids() {
        let plain = events_for(EventData {
            conversation_id: "A".into(),
            ..Default::default()
        });
        assert_eq!(plain.len(), 1);
        assert_eq!(plain[0].event_type, EventType::ConversationCompleted);
        let handed = events_for(EventData {
            conversation_id: "B".into(),
            handoff: true,
            handoff_destination: "billing".into(),
            ..Default::default()
        });
        let types: Vec<_> = handed.iter().map(|e| e.event_type.clone()).collect();
        assert_eq!(types, [EventType::HandoffCreated, EventType::ConversationCompleted]);
        assert_ne!(handed[0].id, handed[1].id);
        assert_eq!(handed[0].data.handoff_destination, "billing");
    }

    #[test]
    fn simulated_alerts_fire_and_resolve_in_turn() {
        let mut sim = AlertSimulator::default();
        let got: Vec<(u64, EventType)> = (1..=40)
            .filter_map(|n| sim.after_call().map(|e| (n, e.event_type)))
            .collect();
        assert_eq!(
            got,
            [
                (12, EventType::AlertsTriggered),
                (16, EventType::AlertsResolved),
                (24, EventType::AlertsTriggered),
                (28, EventType::AlertsResolved),
                (36, EventType::AlertsTriggered),
                (40, EventType::AlertsResolved),
            ]
        );
        let mut sim = AlertSimulator::default();
        let fired = (0..12).find_map(|_| sim.after_call()).unwrap();
        let a = fired.alert.unwrap();
        assert!(a.current_value.parse::<i64>().unwrap() >= 1500);
        assert_eq!(fired.raw["event_type"], "alerts.triggered");
        assert!(
            fired.raw.get("id").is_none(),
            "the reference shape: the id is in the header only"
        );
    }
}
