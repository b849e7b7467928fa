//! Newest first on a busy project, over loopback: the first rows come after a couple of
//! requests even when the last hour holds several pages (the first slice starts again about one
//! page long instead of being walked to its end).

use crate::support as common;

use std::time::Duration;

use callscope::api::ListQuery;
use callscope::app::{self, Effect, Identity, IoEffect, KeyMap, Msg, State};
use callscope::standin::{self, StandinOptions};
use callscope::tui::effects::Runner;
use chrono::{FixedOffset, Utc};
use tokio::sync::mpsc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_rows_of_a_busy_hour_come_after_two_requests() {
    // The stand-in's traffic follows the hour of day: pin its clock to a busy afternoon hour,
    // so the test means the same whenever it runs.
    let yesterday = (Utc::now() - chrono::Duration::days(1)).date_naive();
    let now = yesterday.and_hms_opt(14, 30, 0).unwrap().and_utc();
    let s = standin::start(StandinOptions {
        conversations: 50_000,
        now: Some(now),
        ..Default::default()
    })
    .await
    .unwrap();
    let client = common::client(&s);
    // How many pages the last hour really holds.
    let mut pager = client.pages(ListQuery {
        start_time: Some(now - chrono::Duration::hours(1)),
        end_time: Some(now),
        limit: Some(app::state::PAGE_LIMIT),
        client_env: Some("live".into()),
        include_latency: true,
        ..Default::default()
    });
    let mut hour_pages = 0;
    while let Some(p) = pager.next_page().await {
        p.unwrap();
        hour_pages += 1;
    }
    assert!(
        hour_pages >= 3,
        "the last hour holds {hour_pages} pages: not busy enough to tell"
    );

    let (tx, mut rx) = mpsc::unbounded_channel();
    let runner = Runner::new(client, tx);
    let mut state = State::new(
        KeyMap::default(),
        Identity::default(),
        "live",
        now,
        FixedOffset::east_opt(0).unwrap(),
        (120, 40),
    );
    let mut requests = 0;
    let run = |fx: Vec<Effect>, requests: &mut usize| {
        for e in fx {
            *requests += usize::from(matches!(e, Effect::Io(IoEffect::FetchPage { .. })));
            if let Effect::Io(work) = e {
                runner.spawn(work);
            }
        }
    };
    run(app::start(&mut state), &mut requests);
    while state.list.paging.is_empty() {
        let msg = tokio::time::timeout(Duration::from_secs(20), rx.recv())
            .await
            .expect("an answer")
            .unwrap();
        if let Msg::Page { result: Err(e), .. } = &msg {
            panic!("{}", e.headline());
        }
        run(app::update(&mut state, msg), &mut requests);
    }
    // The request that brought the rows plus, at most, the one already asking for more.
    let to_first_rows = requests - usize::from(state.list.paging.in_flight.is_some());
    eprintln!("the last hour holds {hour_pages} pages; first rows after {to_first_rows} requests");
    assert!(to_first_rows <= 3, "{to_first_rows} requests before the first rows");
    // They are the newest calls: nothing in the window started after the first row.
    let first = state.list.paging.rows[0].started;
    assert!(first >= (now - chrono::Duration::minutes(30)).timestamp(), "{first}");
    s.shutdown().await;
}
