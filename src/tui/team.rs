//! The TUI with `[team] database`: the store worker gets a [`TeamStore`] around the local store,
//! and a listener task `LISTEN`s on the team database so a teammate's change reaches the screen
//! within a second (`Msg::TeamChanged` → the worker syncs → the changed marks are loaded again).
//! A dropped listener connection is made again every [`RETRY`](crate::team::store::RETRY); each
//! (re)connection also asks for a sync, for what was announced while it was down.

use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;
use tokio_postgres::AsyncMessage;

use super::store_worker::{StoreWorker, WRITE_WAIT};
use crate::app::Msg;
use crate::store::Store;
use crate::team::TeamSection;
use crate::team::store::{CHANNEL, RETRY, TeamStore, parse_payload};

/// The store worker for `store`: around a [`TeamStore`] when `team` names a database. The team
/// store is opened on a thread of its own (it runs its own runtime, which cannot start inside
/// the event loop's); an error is one the user must act on (e.g. run `callscope team init`).
/// Opening waits a second at most and reads nothing: the worker's first sync starts at once
/// and catches up a page at a time, the screen's requests served between pages.
pub fn spawn_worker(
    store: Store,
    team: Option<&TeamSection>,
    answers: UnboundedSender<Msg>,
) -> Result<StoreWorker, String> {
    if let Err(e) = store.set_busy_timeout(WRITE_WAIT) {
        tracing::warn!("cannot shorten the store's lock wait: {e}");
    }
    let Some(section) = team.filter(|t| t.database.is_some()).cloned() else {
        return StoreWorker::spawn(store, answers).map_err(|e| format!("cannot start the store thread: {e}"));
    };
    let opened = std::thread::Builder::new()
        .name("callscope-team-open".into())
        .spawn(move || TeamStore::open(store, &section, &crate::config::process_env))
        .map_err(|e| format!("cannot start the team store: {e}"))?
        .join()
        .map_err(|_| "opening the team store failed".to_string())?;
    let team_store = opened.map_err(|e| format!("{e:#}"))?;
    StoreWorker::spawn_store(Box::new(team_store), answers).map_err(|e| format!("cannot start the store thread: {e}"))
}

/// Starts the listener on the event loop's runtime; it runs until the app exits.
pub fn listen(section: TeamSection, tx: UnboundedSender<Msg>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match listen_once(&section, &tx).await {
                Ok(()) => tracing::info!("team notifications: the connection ended"),
                Err(e) => tracing::debug!("team notifications: {e:#}"),
            }
            if tx.is_closed() {
                return;
            }
            tokio::time::sleep(RETRY).await;
        }
    })
}

/// One connection's life: `LISTEN`, then one `Msg::TeamChanged` per burst of notifications.
async fn listen_once(section: &TeamSection, tx: &UnboundedSender<Msg>) -> anyhow::Result<()> {
    let (client, mut connection) = crate::team::conn::connect_raw(section, &crate::config::process_env)?.await?;
    let (note_tx, mut notes) = tokio::sync::mpsc::channel::<String>(256);
    let pump = tokio::spawn(async move {
        loop {
            match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(AsyncMessage::Notification(n))) => {
                    // A full channel means a burst is being handled: one sync covers it.
                    let _ = note_tx.try_send(n.payload().to_string());
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    tracing::debug!("team notifications: {e}");
                    return;
                }
                None => return,
            }
        }
    });
    client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
    // What was written while this connection was down (or before the app started).
    if tx.send(Msg::TeamChanged).is_err() {
        pump.abort();
        return Ok(());
    }
    while let Some(first) = notes.recv().await {
        let mut ours = parse_payload(&first).is_some();
        // Coalesce a burst (an import, a teammate's outbox coming back) into one sync.
        tokio::time::sleep(Duration::from_millis(20)).await;
        while let Ok(more) = notes.try_recv() {
            ours |= parse_payload(&more).is_some();
        }
        if ours && tx.send(Msg::TeamChanged).is_err() {
            break;
        }
    }
    pump.abort();
    drop(client);
    Ok(())
}
