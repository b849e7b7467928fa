//! The conversation list: keyset-paginated pages over the cache, filtered, newest or oldest first,
//! and "next unreviewed / flagged / handoff after this one" in the same order.

use chrono::{DateTime, Utc};
use rusqlite::types::Value;

use super::Store;
use super::error::StoreResult;
use super::filter::{Compile, MARK_JOIN, SqlWhere};
use crate::domain::{ConversationKey, Filter, ReviewStatus, Scope};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ListOrder {
    #[default]
    NewestFirst,
    OldestFirst,
}

/// Where a page ends: the next page starts strictly after this row in list order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListCursor {
    pub started_at_ms: i64,
    pub id: String,
}

/// One list row, read from indexed columns (no JSON parsing).
#[derive(Debug, Clone, PartialEq)]
pub struct ListRow {
    pub key: ConversationKey,
    /// `None` when the API gave no usable start time.
    pub started_at: Option<DateTime<Utc>>,
    pub channel: String,
    pub total_duration: Option<u32>,
    pub num_turns: Option<u32>,
    pub handoff: bool,
    pub in_progress: bool,
    pub transcript_hidden: bool,
    pub has_transcript: bool,
    pub max_latency: Option<f64>,
    pub status: ReviewStatus,
    pub flagged: bool,
    /// Empty without a handoff.
    pub handoff_reason: String,
    started_at_ms: i64,
}

impl ListRow {
    pub fn cursor(&self) -> ListCursor {
        ListCursor {
            started_at_ms: self.started_at_ms,
            id: self.key.id.clone(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListPage {
    pub rows: Vec<ListRow>,
    /// Pass to the next `list_page` call; `None` on the last page.
    pub next: Option<ListCursor>,
}

/// Targets of the review "jump to next" keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextKind {
    Unreviewed,
    Flagged,
    Handoff,
}

pub(crate) fn row_columns() -> String {
    format!(
        "c.account, c.project, c.environment, c.id, c.started_at, c.channel, c.total_duration, c.num_turns,
         c.handoff, c.in_progress, c.transcript_hidden, c.has_transcript, c.max_latency,
         coalesce((SELECT m.status FROM conversation_marks m WHERE {MARK_JOIN}), 'new'),
         EXISTS (SELECT 1 FROM conversation_flags m WHERE {MARK_JOIN}),
         CASE WHEN c.handoff THEN coalesce(c.wire ->> '$.handoff_reason', '') ELSE '' END"
    )
}

pub(crate) fn read_row(r: &rusqlite::Row) -> rusqlite::Result<ListRow> {
    let started_at_ms: i64 = r.get(4)?;
    let status: String = r.get(13)?;
    Ok(ListRow {
        key: ConversationKey {
            account: r.get(0)?,
            project: r.get(1)?,
            environment: r.get(2)?,
            id: r.get(3)?,
        },
        started_at: (started_at_ms != 0)
            .then(|| DateTime::from_timestamp_millis(started_at_ms))
            .flatten(),
        channel: r.get(5)?,
        total_duration: r.get(6)?,
        num_turns: r.get(7)?,
        handoff: r.get(8)?,
        in_progress: r.get(9)?,
        transcript_hidden: r.get(10)?,
        has_transcript: r.get(11)?,
        max_latency: r.get(12)?,
        // The schema's CHECK constraint admits only known statuses.
        status: ReviewStatus::parse(&status).unwrap_or_default(),
        flagged: r.get(14)?,
        handoff_reason: r.get(15)?,
        started_at_ms,
    })
}

impl Store {
    /// One page of the list: up to `limit` rows after `after` (from the previous page's `next`).
    pub fn list_page(
        &self,
        scope: &Scope,
        filter: &Filter,
        order: ListOrder,
        after: Option<&ListCursor>,
        limit: usize,
    ) -> StoreResult<ListPage> {
        let mut rows = self.query_rows(scope, filter, order, after, limit.saturating_add(1))?;
        let next = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(ListRow::cursor)
        } else {
            None
        };
        Ok(ListPage { rows, next })
    }

    /// The first row after `after` (or from the top) in list order that is unreviewed / flagged / a handoff.
    pub fn next_after(
        &self,
        scope: &Scope,
        filter: &Filter,
        order: ListOrder,
        after: Option<&ListCursor>,
        kind: NextKind,
    ) -> StoreResult<Option<ListRow>> {
        let mut f = filter.clone();
        match kind {
            NextKind::Unreviewed => f.status = Some(ReviewStatus::New),
            NextKind::Flagged => f.flagged = Some(true),
            NextKind::Handoff => f.handoff = Some(true),
        }
        Ok(self.query_rows(scope, &f, order, after, 1)?.into_iter().next())
    }

    /// How many cached conversations match (for the header).
    pub fn count(&self, scope: &Scope, filter: &Filter) -> StoreResult<u64> {
        let mut w = SqlWhere::default();
        scope.compile_into(&mut w);
        filter.compile_into(&mut w);
        let sql = format!("SELECT count(*) FROM conversations c WHERE {}", w.sql());
        let n: i64 = self
            .conn()
            .prepare_cached(&sql)?
            .query_row(rusqlite::params_from_iter(w.params), |r| r.get(0))?;
        Ok(n as u64)
    }

    /// The rows of these conversations, in the order given (those not cached are left out).
    pub fn rows_for(&self, keys: &[ConversationKey]) -> StoreResult<Vec<ListRow>> {
        let mut stmt = self.conn().prepare_cached(&format!(
            "SELECT {} FROM conversations c WHERE c.{}",
            row_columns(),
            super::origins::ROW_BY_KEY
        ))?;
        let mut rows = Vec::with_capacity(keys.len());
        for k in keys {
            let mut found = stmt.query_map(rusqlite::params![k.account, k.project, k.environment, k.id], read_row)?;
            if let Some(row) = found.next() {
                rows.push(row?);
            }
        }
        Ok(rows)
    }

    /// Which of `ids` (cached under `scope`) match `filter`: the filter's whole meaning, review
    /// marks included, lives in SQL, so pages from the API are judged exactly like the cache.
    pub fn matching_ids(&self, scope: &Scope, filter: &Filter, ids: &[String]) -> StoreResult<Vec<String>> {
        let mut w = SqlWhere::default();
        w.push(
            "c.id IN (SELECT value FROM json_each(?))",
            [Value::Text(serde_json::to_string(ids)?)],
        );
        scope.compile_into(&mut w);
        filter.compile_into(&mut w);
        let sql = format!("SELECT c.id FROM conversations c WHERE {}", w.sql());
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let found = stmt.query_map(rusqlite::params_from_iter(w.params), |r| r.get::<_, String>(0))?;
        Ok(found.collect::<Result<_, _>>()?)
    }

    pub(crate) fn query_rows(
        &self,
        scope: &Scope,
        filter: &Filter,
        order: ListOrder,
        after: Option<&ListCursor>,
        limit: usize,
    ) -> StoreResult<Vec<ListRow>> {
        let mut w = SqlWhere::default();
        scope.compile_into(&mut w);
        let (cmp, dir) = match order {
            ListOrder::NewestFirst => ("<", "DESC"),
            ListOrder::OldestFirst => (">", "ASC"),
        };
        if let Some(c) = after {
            w.push(
                &format!("(c.started_at, c.id) {cmp} (?, ?)"),
                [Value::Integer(c.started_at_ms), Value::Text(c.id.clone())],
            );
        }
        filter.compile_into(&mut w);
        let sql = format!(
            "SELECT {} FROM conversations c WHERE {} ORDER BY c.started_at {dir}, c.id {dir} LIMIT {}",
            row_columns(),
            w.sql(),
            limit.min(i64::MAX as usize)
        );
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(w.params), read_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// SQLite's plan for the list query (for tests and the benchmark: the list must use an index).
    pub fn explain_list(&self, scope: &Scope, filter: &Filter) -> StoreResult<String> {
        let mut w = SqlWhere::default();
        scope.compile_into(&mut w);
        filter.compile_into(&mut w);
        let sql = format!(
            "EXPLAIN QUERY PLAN SELECT {} FROM conversations c WHERE {} ORDER BY c.started_at DESC, c.id DESC LIMIT 50",
            row_columns(),
            w.sql()
        );
        let mut stmt = self.conn().prepare(&sql)?;
        let lines = stmt.query_map(rusqlite::params_from_iter(w.params), |r| r.get::<_, String>(3))?;
        Ok(lines.collect::<Result<Vec<_>, _>>()?.join("\n"))
    }
}
