//! The per-hour aggregates stay equal to the rows: after new calls, a summary refresh that
//! changes a cached call, a transcript arriving later, and through a read-only store (what
//! `callscope stats` opens), whose stale hours are computed from the rows without being stored.

use crate::support::tui as tui_support;

use callscope::domain::{Filter, Origin, Scope};
use callscope::stats::{SplitBy, StatsRequest};
use callscope::store::Store;
use callscope::store::stats::StatsPath;

fn origin() -> Origin {
    Origin::new("ws-demo", "PROJECT-demo", "live")
}

fn both(store: &Store, req: &StatsRequest) -> callscope::stats::Stats {
    let scope = Scope::env("ws-demo", "PROJECT-demo", "live");
    let (rows, _) = store
        .stats_by(&scope, &Filter::default(), req, Some(StatsPath::Rows))
        .unwrap();
    let (hours, path) = store.stats_by(&scope, &Filter::default(), req, None).unwrap();
    assert_eq!(path, StatsPath::Hours);
    assert_eq!(hours, rows);
    hours
}

#[test]
fn aggregates_follow_every_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db");
    let mut store = Store::open(&path).unwrap();
    let mut convs: Vec<_> = (0..150).map(|i| tui_support::conv(i, i % 3 != 0)).collect();
    store.cache(&origin(), &convs[..100]).unwrap();
    let now = tui_support::now().timestamp_millis();
    // Not hour-aligned at either end: partial first and last hours come from the rows.
    let req = StatsRequest::new(now - 20 * 3_600_000 - 17_000, now - 90_000, 0, SplitBy::Variant);
    let before = both(&store, &req);
    assert!(before.calls > 50 && before.latency.n > 0);

    // New calls, then a summary of an old one that now says it was handed off.
    store.cache(&origin(), &convs[100..]).unwrap();
    let mut changed = convs[10].clone();
    changed.turns.clear();
    changed.handoff = !changed.handoff;
    changed.handoff_reason = "late_change".into();
    store.cache(&origin(), &[changed]).unwrap();
    let after = both(&store, &req);
    assert!(after.calls > before.calls, "{} > {}", after.calls, before.calls);
    assert_ne!(after.handoffs, before.handoffs);

    // A transcript arriving for a call cached as a summary.
    let late = 0; // conv 0 had no turns (0 % 3 == 0)
    convs[late] = tui_support::conv(late, true);
    store.cache(&origin(), &convs[late..=late]).unwrap();
    let with_turns = both(&store, &req);
    assert!(with_turns.latency.n > after.latency.n);

    // Read-only: stale hours computed from the rows, the same figures.
    store.cache(&origin(), &[tui_support::conv(160, true)]).unwrap();
    let writable = both(&store, &req);
    store.cache(&origin(), &[tui_support::conv(161, true)]).unwrap();
    drop(store);
    let ro = Store::open_read_only(&path).unwrap();
    let got = both(&ro, &req);
    assert!(got.calls >= writable.calls);
    assert_eq!(got.calls, writable.calls + 1, "the call cached last counts, read-only");
}
