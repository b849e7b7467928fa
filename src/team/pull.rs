//! Reading teammates' changes from the team database a page at a time: the mark changes and
//! score saves after this store's read positions, not its own, in sequence order. A page is
//! bounded ([`PAGE`] rows of each), so one exchange never holds the store worker for a whole
//! team history; what is left is counted (up to [`COUNTED`]) for the progress the app shows.

use anyhow::Result;
use tokio_postgres::{Client, Row};

use crate::domain::history::MarkField;
use crate::domain::{ConversationKey, MarkChange, Origin, ScoreRecord};
use crate::store::outbox::TeamChange;

/// Rows of each table read per exchange.
pub const PAGE: usize = 5_000;
/// Past this many rows left, the count stops (it is for progress, and must stay cheap).
pub const COUNTED: usize = 100_000;

/// Where reading starts: the last sequence numbers read of each table.
#[derive(Debug, Clone, Copy, Default)]
pub struct After {
    pub marks: i64,
    pub scores: i64,
}

/// One page of teammates' changes.
#[derive(Debug, Default)]
pub struct Page {
    pub changes: Vec<TeamChange>,
    pub scores: Vec<(ConversationKey, ScoreRecord)>,
    /// The new read positions (`None`: nothing read of that table).
    pub marks_to: Option<i64>,
    pub scores_to: Option<i64>,
    /// Teammates' rows left after this page (at most [`COUNTED`]); 0 when the page was not full.
    pub behind: u64,
}

/// Reads the page after `after`, leaving out `origin`'s own rows.
pub async fn read_page(client: &Client, after: After, origin: &str) -> Result<Page> {
    let limit = PAGE as i64;
    let marks = client
        .query(
            "SELECT seq, account, project, environment, conversation_id, field, before, after, reviewer, at_ms
             FROM mark_changes WHERE seq > $1 AND origin <> $2 ORDER BY seq LIMIT $3",
            &[&after.marks, &origin, &limit],
        )
        .await?;
    let scores = client
        .query(
            "SELECT seq, account, project, environment, conversation_id, scorecard, reviewer, at_ms,
                    answers, score, auto_failed
             FROM scores WHERE seq > $1 AND origin <> $2 ORDER BY seq LIMIT $3",
            &[&after.scores, &origin, &limit],
        )
        .await?;
    let behind = if marks.len() == PAGE || scores.len() == PAGE {
        let counted = (PAGE + COUNTED) as i64;
        let row = client
            .query_one(
                "SELECT (SELECT count(*) FROM (SELECT 1 FROM mark_changes WHERE seq > $1 AND origin <> $3 LIMIT $4) m),
                        (SELECT count(*) FROM (SELECT 1 FROM scores WHERE seq > $2 AND origin <> $3 LIMIT $4) s)",
                &[&after.marks, &after.scores, &origin, &counted],
            )
            .await?;
        let left = |total: i64, read: usize| (total as u64).saturating_sub(read as u64);
        (left(row.get(0), marks.len()) + left(row.get(1), scores.len())).min(COUNTED as u64)
    } else {
        0
    };
    Ok(Page {
        changes: marks.iter().filter_map(mark_change).collect(),
        scores: scores.iter().map(score).collect(),
        marks_to: marks.last().map(|r| r.get(0)),
        scores_to: scores.last().map(|r| r.get(0)),
        behind,
    })
}

fn key(r: &Row) -> ConversationKey {
    Origin::new(r.get::<_, &str>(1), r.get::<_, &str>(2), r.get::<_, &str>(3)).key(r.get::<_, &str>(4))
}

/// A mark change row; `None` (said in the log) for a field this build does not know.
fn mark_change(r: &Row) -> Option<TeamChange> {
    let field = match MarkField::parse(r.get(5)) {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!("team database: skipping a change: {e}");
            return None;
        }
    };
    Some(TeamChange {
        key: key(r),
        change: MarkChange {
            field,
            before: r.get(6),
            after: r.get(7),
            reviewer: r.get(8),
            at_ms: r.get(9),
        },
    })
}

fn score(r: &Row) -> (ConversationKey, ScoreRecord) {
    (
        key(r),
        ScoreRecord {
            scorecard: r.get(5),
            reviewer: r.get(6),
            at_ms: r.get(7),
            answers: serde_json::from_str(r.get(8)).unwrap_or_default(),
            score: r.get(9),
            auto_failed: r.get(10),
        },
    )
}
