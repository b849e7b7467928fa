//! Live traffic for the demo: calls start, progress and complete in real time, and each
//! completion (and handoff) is written to the data set and delivered to the webhook endpoints.
//!
//! One call starts per tick. Its timestamps are real: it started `d - w` seconds ago (`d` its
//! length, `w` a short in-progress window of a few ticks), is listed as in progress for `w`
//! seconds, and completes exactly when its end time arrives — so a reviewer sees calls appear
//! within seconds, with start times and durations that add up.

use std::collections::VecDeque;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::data::DatasetHandle;
use super::webhooks::{Deliverer, LiveCalls};
use crate::webhook::EventData;

/// Calls of this simulation that are in progress, oldest end first.
struct Pending {
    n: u64,
    id: String,
    started_at: DateTime<Utc>,
    environment: &'static str,
    ends_at: DateTime<Utc>,
}

/// Starts the simulation; dropping the returned handle stops it.
pub fn spawn(data: DatasetHandle, deliverer: Deliverer, every: Duration) -> LiveCalls {
    let window = chrono::Duration::from_std(every * 3).unwrap_or(chrono::Duration::seconds(15));
    let mut pending: VecDeque<Pending> = VecDeque::new();
    // Numbering continues from a time-based offset so restarts do not replay the same calls.
    let mut n = Utc::now().timestamp() as u64 * 1000;
    LiveCalls::spawn(deliverer, every, move || {
        let now = Utc::now();
        n += 1;
        // Mostly production traffic, some test calls.
        let environment = if n.is_multiple_of(5) { "sandbox" } else { "live" };
        let length = data.synthesize(n, now, environment, false).total_duration.unwrap_or(60);
        let length = chrono::Duration::seconds(length.into());
        let in_progress_for = length.min(window);
        let started_at = now - (length - in_progress_for);
        let id = data.insert(data.synthesize(n, started_at, environment, true));
        let ends_at = started_at + length;
        let at = pending.partition_point(|p| p.ends_at <= ends_at);
        pending.insert(
            at,
            Pending {
                n,
                id,
                started_at,
                environment,
                ends_at,
            },
        );
        // At most one completion per tick; one call starts per tick, so nothing piles up.
        if pending.front().is_some_and(|p| p.ends_at <= now) {
            let done = pending.pop_front()?;
            let full = data.synthesize(done.n, done.started_at, done.environment, false);
            debug_assert_eq!(full.id, done.id);
            data.insert(full.clone());
            return Some(EventData::from_conversation(&full));
        }
        None
    })
}
