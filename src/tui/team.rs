//! The TUI with `[team] database`: the store worker gets a [`TeamStore`] around the local store,
//! and a listener task `LISTEN`s on the team database so a teammate's change reaches the screen
//! within a second: a mark (`Msg::TeamChanged` → the worker syncs → the changed marks are loaded
//! again) or a claim (`Msg::QueuesChanged` → the team worker re-reads the open queue's progress).
//! A dropped listener connection is made again every [`RETRY`](crate::team::store::RETRY); each
//! (re)connection also asks for both, for what was announced while it was down.

use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;
use tokio_postgres::AsyncMessage;

use super::store_worker::{StoreWorker, WRITE_WAIT};
use crate::app::Msg;
use crate::store::Store;
use crate::team::TeamSection;
use crate::team::claims::{CLAIMS_CHANNEL, parse_claims_payload};
use crate::team::store::{CHANNEL, RETRY, TeamStore, parse_payload};

/// How long a burst of notifications (an import, a teammate's outbox coming back) is gathered
/// before it becomes one message per kind.
const BURST: Duration = Duration::from_millis(20);

/// At most this many queue ids per message; more in one burst is "any queue" (a re-read each).
const MAX_QUEUES: usize = 32;

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

/// What one burst of notifications announced.
#[derive(Debug, Default, PartialEq)]
struct Burst {
    marks: bool,
    /// Queues whose claims changed; `None`: too many to name (any may have).
    queues: Option<Vec<i64>>,
    claims: bool,
}

impl Burst {
    fn new() -> Burst {
        Burst {
            queues: Some(Vec::new()),
            ..Burst::default()
        }
    }

    /// Takes one notification; anything not ours (another channel, a payload that does not
    /// parse) is ignored.
    fn take(&mut self, channel: &str, payload: &str) {
        if channel == CHANNEL {
            self.marks |= parse_payload(payload).is_some();
        } else if channel == CLAIMS_CHANNEL
            && let Some(id) = parse_claims_payload(payload)
        {
            self.claims = true;
            if let Some(ids) = self.queues.as_mut()
                && !ids.contains(&id)
            {
                ids.push(id);
                if ids.len() > MAX_QUEUES {
                    self.queues = None;
                }
            }
        }
    }

    /// The messages for the app, marks first; empty when nothing was ours.
    fn messages(self) -> Vec<Msg> {
        let mut out = Vec::new();
        if self.marks {
            out.push(Msg::TeamChanged);
        }
        if self.claims {
            out.push(Msg::QueuesChanged { queues: self.queues });
        }
        out
    }
}

/// One connection's life: `LISTEN` on both channels, then one message per kind per burst.
async fn listen_once(section: &TeamSection, tx: &UnboundedSender<Msg>) -> anyhow::Result<()> {
    let (client, mut connection) = crate::team::conn::connect_raw(section, &crate::config::process_env)?.await?;
    let (note_tx, mut notes) = tokio::sync::mpsc::channel::<(String, String)>(256);
    let pump = tokio::spawn(async move {
        loop {
            match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(AsyncMessage::Notification(n))) => {
                    // A full channel means a burst is being handled: one message covers it.
                    let _ = note_tx.try_send((n.channel().to_string(), n.payload().to_string()));
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
    client
        .batch_execute(&format!("LISTEN {CHANNEL}; LISTEN {CLAIMS_CHANNEL}"))
        .await?;
    // What was written while this connection was down (or before the app started).
    let catch_up = [Msg::TeamChanged, Msg::QueuesChanged { queues: None }];
    if catch_up.into_iter().any(|m| tx.send(m).is_err()) {
        pump.abort();
        return Ok(());
    }
    'bursts: while let Some((channel, payload)) = notes.recv().await {
        let mut burst = Burst::new();
        burst.take(&channel, &payload);
        tokio::time::sleep(BURST).await;
        while let Ok((channel, payload)) = notes.try_recv() {
            burst.take(&channel, &payload);
        }
        for m in burst.messages() {
            if tx.send(m).is_err() {
                break 'bursts;
            }
        }
    }
    pump.abort();
    drop(client);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn burst(notes: &[(&str, &str)]) -> Vec<Msg> {
        let mut b = Burst::new();
        for (c, p) in notes {
            b.take(c, p);
        }
        b.messages()
    }

    #[test]
    fn a_burst_becomes_one_message_per_kind_and_ignores_what_is_not_ours() {
        let mark = r#"["ws","p","live","CA1"]"#;
        let msgs = burst(&[
            (CHANNEL, mark),
            (CLAIMS_CHANNEL, "7"),
            (CHANNEL, mark),
            (CLAIMS_CHANNEL, "7"),
            (CLAIMS_CHANNEL, "9"),
        ]);
        assert!(matches!(&msgs[..], [Msg::TeamChanged, Msg::QueuesChanged { queues: Some(q) }] if q == &[7, 9]));
        // A payload that is no queue id, or an escape sequence, is nobody's.
        assert!(burst(&[(CLAIMS_CHANNEL, "daily"), (CLAIMS_CHANNEL, "\u{1b}[2J"), ("other", "7")]).is_empty());
        let many: Vec<(String, String)> = (0..40).map(|i| (CLAIMS_CHANNEL.to_string(), i.to_string())).collect();
        let many: Vec<(&str, &str)> = many.iter().map(|(c, p)| (c.as_str(), p.as_str())).collect();
        assert!(matches!(&burst(&many)[..], [Msg::QueuesChanged { queues: None }]));
    }
}
