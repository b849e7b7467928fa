//! Simulated live traffic for the demo: every interval a call "ends", and the stand-in tells
//! the registered endpoints about it (`conversation.completed`, plus `handoff.created` when
//! the call was handed off).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::deliver::Deliverer;
use super::event::{EventData, EventType, WebhookEvent};

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
            loop {
                ticks.tick().await;
                let Some(data) = next_call() else { continue };
                counter.fetch_add(1, Ordering::Relaxed);
                for event in events_for(data) {
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
}
