//! What a reviewer working a queue in the TUI needs beyond `claim`/`done`: renewing and
//! releasing a lease, the queue's items in order, and progress (items done, mine done).
//! Every change to who holds or finished an item is announced on [`CLAIMS_CHANNEL`], in the
//! transaction that makes it, so each open TUI can re-read its queue's progress at once.

use std::time::Duration;

use anyhow::{Context, Result};

use super::{Queue, Team};

/// The channel claims, releases, finishes and new queues notify, with the queue's id as payload.
pub const CLAIMS_CHANNEL: &str = "callscope_claims";

/// The payload announcing a change to queue `id`: its decimal id (small, and no name to sanitize).
pub fn claims_payload(id: i64) -> String {
    id.to_string()
}

/// A claims notification's payload back as a queue id (`None`: not one of ours).
pub fn parse_claims_payload(text: &str) -> Option<i64> {
    if text.len() > 20 {
        return None;
    }
    text.parse().ok()
}

/// Progress of one queue: items whose every wanted review is done, of all items, and how many
/// reviews one reviewer finished.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    pub items: i64,
    pub items_done: i64,
    pub mine: i64,
}

/// A queue in the picker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueLine {
    pub name: String,
    pub scorecard: String,
    pub progress: Progress,
}

/// One item in queue order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueItem {
    pub id: String,
    /// RFC 3339 as sampled; may be empty.
    pub started_at: String,
}

/// Items done and mine, per queue (`$1` the reviewer).
const PROGRESS: &str = "(SELECT count(*) FROM queue_items i WHERE i.queue_id = q.id),
     (SELECT count(*) FROM (SELECT 1 FROM queue_slots s WHERE s.queue_id = q.id
                            GROUP BY s.conversation_id HAVING bool_and(s.done_at IS NOT NULL)) d),
     (SELECT count(*) FROM queue_slots s WHERE s.queue_id = q.id AND s.reviewer = $1 AND s.done_at IS NOT NULL)";

fn progress_of(row: &tokio_postgres::Row, at: usize) -> Progress {
    Progress {
        items: row.get(at),
        items_done: row.get(at + 1),
        mine: row.get(at + 2),
    }
}

impl Team {
    /// The connection ended (the server went away): a new one is needed.
    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// Every queue, oldest first, with its progress for `reviewer`.
    pub async fn queue_lines(&self, reviewer: &str) -> Result<Vec<QueueLine>> {
        let sql = format!("SELECT q.name, q.scorecard, {PROGRESS} FROM queues q ORDER BY q.created_at, q.id");
        let rows = self
            .client
            .query(&sql, &[&reviewer])
            .await
            .context("cannot list the queues")?;
        Ok(rows
            .iter()
            .map(|r| QueueLine {
                name: r.get(0),
                scorecard: r.get(1),
                progress: progress_of(r, 2),
            })
            .collect())
    }

    pub async fn progress(&self, queue: &Queue, reviewer: &str) -> Result<Progress> {
        let sql = format!("SELECT {PROGRESS} FROM queues q WHERE q.id = $2");
        let row = self
            .client
            .query_one(&sql, &[&reviewer, &queue.id])
            .await
            .context("cannot read the queue's progress")?;
        Ok(progress_of(&row, 0))
    }

    /// The queue's items in sample order.
    pub async fn items(&self, queue: &Queue) -> Result<Vec<QueueItem>> {
        let rows = self
            .client
            .query(
                "SELECT conversation_id, started_at FROM queue_items WHERE queue_id = $1 ORDER BY position",
                &[&queue.id],
            )
            .await
            .context("cannot read the queue's items")?;
        Ok(rows
            .iter()
            .map(|r| QueueItem {
                id: r.get(0),
                started_at: r.get(1),
            })
            .collect())
    }

    /// Extends the reviewer's unfinished claim on `id` by `lease` from now. False: the claim is
    /// gone (finished, released, or taken by another reviewer after it ran out).
    pub async fn renew(&self, queue: &Queue, id: &str, reviewer: &str, lease: Duration) -> Result<bool> {
        let n = self
            .client
            .execute(
                "UPDATE queue_slots SET lease_until = now() + make_interval(secs => $4)
                 WHERE queue_id = $1 AND conversation_id = $2 AND reviewer = $3 AND done_at IS NULL",
                &[&queue.id, &id, &reviewer, &lease.as_secs_f64()],
            )
            .await
            .context("cannot renew the claim")?;
        Ok(n > 0)
    }

    /// Gives the reviewer's unfinished claim on `id` back, so the next claim can take it at
    /// once. False: there was none.
    pub async fn release(&self, queue: &Queue, id: &str, reviewer: &str) -> Result<bool> {
        // One statement, so the release and its announcement commit together.
        let rows = self
            .client
            .query(
                "WITH released AS (
                     UPDATE queue_slots SET reviewer = NULL, claimed_at = NULL, lease_until = NULL
                     WHERE queue_id = $1 AND conversation_id = $2 AND reviewer = $3 AND done_at IS NULL
                     RETURNING 1)
                 SELECT pg_notify($4, $5) FROM released",
                &[&queue.id, &id, &reviewer, &CLAIMS_CHANNEL, &claims_payload(queue.id)],
            )
            .await
            .context("cannot release the claim")?;
        Ok(!rows.is_empty())
    }
}
