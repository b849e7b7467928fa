//! The team worker: one task with its own PostgreSQL connection that does the queue work the
//! app asks for ([`TeamRequest`], in order) and answers with [`Msg::Team`], so the event loop never
//! waits on the database. A dead or slow database costs a clear message, never a freeze: every
//! operation is bounded, and a lost connection is opened again at the next request.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Result, anyhow};
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};

use crate::app::Msg;
use crate::app::queue_state::{OpenedQueue, QueueLine, QueueProgress, TeamEvent, TeamRequest};
use crate::config::process_env;
use crate::team::claims::Progress;
use crate::team::{Queue, Team, TeamSection};

/// Longest wait for one operation (the connection itself gives up after 5 s).
pub const OP_TIMEOUT: Duration = Duration::from_secs(10);

/// What the worker needs: where the database is and who reviews.
#[derive(Debug, Clone)]
pub struct TeamSetup {
    pub section: TeamSection,
    pub reviewer: String,
}

/// On the way out, how long the worker may take for the requests it still holds (the
/// release of a claim: else the item waits for its lease).
pub const EXIT_WAIT: Duration = Duration::from_secs(1);

/// What the worker's channel carries.
enum Job {
    Request(TeamRequest),
    /// Answered once every earlier request is done.
    Flush(std::sync::mpsc::Sender<()>),
}

/// The handle the runner sends requests through; cheap to clone.
#[derive(Clone)]
pub struct TeamWorker {
    tx: UnboundedSender<Job>,
}

impl TeamWorker {
    /// Starts the worker on a thread of its own with a one-thread runtime (the connection's
    /// password lookup is not `Sync`, so its future cannot move between the loop's threads);
    /// it connects at the first request and ends when every handle is dropped.
    pub fn spawn(setup: TeamSetup, out: UnboundedSender<Msg>) -> std::io::Result<TeamWorker> {
        let (tx, rx) = mpsc::unbounded_channel();
        let worker = Worker {
            setup,
            team: None,
            queues: HashMap::new(),
        };
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        std::thread::Builder::new()
            .name("team-worker".into())
            .spawn(move || rt.block_on(worker.run(rx, out)))?;
        Ok(TeamWorker { tx })
    }

    pub fn send(&self, r: TeamRequest) {
        let _ = self.tx.send(Job::Request(r));
    }

    /// Waits up to `wait` for the requests sent so far to be done; whether they were.
    pub fn flush(&self, wait: Duration) -> bool {
        let (tx, rx) = std::sync::mpsc::channel();
        self.tx.send(Job::Flush(tx)).is_ok() && rx.recv_timeout(wait).is_ok()
    }
}

struct Worker {
    setup: TeamSetup,
    team: Option<Team>,
    /// Queues by name (their id and form do not change).
    queues: HashMap<String, Queue>,
}

fn progress(p: Progress) -> QueueProgress {
    QueueProgress {
        items: p.items,
        items_done: p.items_done,
        mine: p.mine,
    }
}

type Timed<T> = std::result::Result<Result<T>, tokio::time::error::Elapsed>;

impl Worker {
    async fn run(mut self, mut rx: UnboundedReceiver<Job>, out: UnboundedSender<Msg>) {
        while let Some(job) = rx.recv().await {
            let req = match job {
                Job::Request(r) => r,
                Job::Flush(done) => {
                    let _ = done.send(());
                    continue;
                }
            };
            if let Some(ev) = self.handle(req).await
                && out.send(Msg::Team(ev)).is_err()
            {
                return;
            }
        }
    }

    async fn handle(&mut self, req: TeamRequest) -> Option<TeamEvent> {
        use tokio::time::timeout;
        Some(match req {
            TeamRequest::ListQueues => {
                let r = timeout(OP_TIMEOUT, self.lines()).await;
                TeamEvent::Queues(self.settle(r))
            }
            TeamRequest::Open { queue } => {
                let r = timeout(OP_TIMEOUT, self.open(&queue)).await;
                TeamEvent::Opened(self.settle(r))
            }
            TeamRequest::Claim { queue, lease } => {
                let r = timeout(OP_TIMEOUT, self.claim(&queue, lease)).await;
                let result = self.settle(r);
                TeamEvent::Claimed { queue, result }
            }
            TeamRequest::Renew { queue, id, lease } => {
                let r = timeout(OP_TIMEOUT, self.renew(&queue, &id, lease)).await;
                let result = self.settle(r);
                TeamEvent::Renewed { queue, id, result }
            }
            TeamRequest::Progress { queue } => {
                let r = timeout(OP_TIMEOUT, self.progress(&queue)).await;
                let result = self.settle(r);
                TeamEvent::Progress { queue, result }
            }
            TeamRequest::Release { queue, id } => {
                let r = timeout(OP_TIMEOUT, self.release(&queue, &id)).await;
                // Unanswered: a release that failed only keeps the item until its lease ends.
                if let Err(e) = self.settle(r) {
                    tracing::warn!("releasing {id} in queue {queue}: {e}");
                }
                return None;
            }
            TeamRequest::Finish { queue, id, answers } => {
                let r = timeout(OP_TIMEOUT, self.finish(&queue, &id, &answers)).await;
                let result = self.settle(r);
                TeamEvent::Finished { queue, id, result }
            }
        })
    }

    /// One line for the app; a connection that ended or hung is dropped, to be opened again.
    fn settle<T>(&mut self, r: Timed<T>) -> std::result::Result<T, String> {
        match r {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                if self.team.as_ref().is_some_and(Team::is_closed) {
                    self.team = None;
                }
                let e = format!("{e:#}");
                tracing::warn!("team database: {e}");
                Err(e)
            }
            Err(_) => {
                self.team = None;
                let e = format!(
                    "the team database did not answer within {} s — is it up? (`callscope doctor` checks it)",
                    OP_TIMEOUT.as_secs()
                );
                tracing::warn!("{e}");
                Err(e)
            }
        }
    }

    async fn team(&mut self) -> Result<&mut Team> {
        if self.team.as_ref().is_some_and(Team::is_closed) {
            self.team = None;
        }
        if self.team.is_none() {
            self.team = Some(Team::open(&self.setup.section, &process_env).await?);
        }
        self.team.as_mut().ok_or_else(|| anyhow!("no team database connection"))
    }

    async fn queue(&mut self, name: &str) -> Result<Queue> {
        if let Some(q) = self.queues.get(name) {
            return Ok(q.clone());
        }
        let q = self.team().await?.queue(name).await?;
        self.queues.insert(name.to_string(), q.clone());
        Ok(q)
    }

    async fn lines(&mut self) -> Result<Vec<QueueLine>> {
        let reviewer = self.setup.reviewer.clone();
        let lines = self.team().await?.queue_lines(&reviewer).await?;
        Ok(lines
            .into_iter()
            .map(|l| QueueLine {
                name: l.name,
                scorecard: l.scorecard,
                progress: progress(l.progress),
            })
            .collect())
    }

    async fn open(&mut self, name: &str) -> Result<OpenedQueue> {
        let q = self.queue(name).await?;
        let reviewer = self.setup.reviewer.clone();
        let team = self.team().await?;
        let items = team.items(&q).await?;
        let p = team.progress(&q, &reviewer).await?;
        Ok(OpenedQueue {
            id: q.id,
            name: q.name.clone(),
            scorecard: q.scorecard.clone(),
            items: items.into_iter().map(|i| (i.id, i.started_at)).collect(),
            progress: progress(p),
        })
    }

    async fn progress(&mut self, name: &str) -> Result<QueueProgress> {
        let q = self.queue(name).await?;
        let reviewer = self.setup.reviewer.clone();
        Ok(progress(self.team().await?.progress(&q, &reviewer).await?))
    }

    async fn claim(&mut self, name: &str, lease: Duration) -> Result<(Option<String>, QueueProgress)> {
        let q = self.queue(name).await?;
        let reviewer = self.setup.reviewer.clone();
        let team = self.team().await?;
        let id = team.claim(&q, &reviewer, lease).await?;
        let p = team.progress(&q, &reviewer).await?;
        Ok((id, progress(p)))
    }

    async fn renew(&mut self, name: &str, id: &str, lease: Duration) -> Result<bool> {
        let q = self.queue(name).await?;
        let reviewer = self.setup.reviewer.clone();
        self.team().await?.renew(&q, id, &reviewer, lease).await
    }

    async fn release(&mut self, name: &str, id: &str) -> Result<bool> {
        let q = self.queue(name).await?;
        let reviewer = self.setup.reviewer.clone();
        self.team().await?.release(&q, id, &reviewer).await
    }

    async fn finish(
        &mut self,
        name: &str,
        id: &str,
        answers: &std::collections::BTreeMap<String, crate::domain::scorecard::Answer>,
    ) -> Result<QueueProgress> {
        let q = self.queue(name).await?;
        let reviewer = self.setup.reviewer.clone();
        let team = self.team().await?;
        team.done(&q, id, &reviewer, answers).await?;
        Ok(progress(team.progress(&q, &reviewer).await?))
    }
}
