//! Per-hour aggregates of the stats figures: one [`Cell`] per UTC hour, environment and variant
//! (schema v6 `stats_hours`), so a 30-day window reads ~720 cells per variant instead of every
//! call and turn. The cache's write path marks the hours a batch touches in `stats_dirty`
//! (once per hour and batch, schema v11; v9–v10 did it with triggers per row); the stats view
//! recomputes the dirty hours of its window from the rows when it asks, and stores them when
//! the store is writable.
//!
//! Exactness: a cell keeps latencies and PolyScores as multisets of the stored `f64` values
//! (no binning), so merged percentiles and means equal those computed from the rows.

use std::collections::HashSet;

use rusqlite::{Connection, Transaction, TransactionBehavior, params};

use super::error::{StoreError, StoreErrorKind, StoreResult};
use super::filter::{Compile, SqlWhere};
use super::stats::{Cell, CellKey, Slots, add_topic, scan};
use crate::domain::Filter;
use crate::domain::Scope;
use crate::stats::StatsRequest;

pub const HOUR_MS: i64 = 3_600_000;

/// What the aggregates answer of a window: whole UTC hours `[h0, h1)`, and the partial edges
/// left to the rows. Only the empty filter, over an account and project, at an offset of whole
/// hours (so no UTC hour straddles a local bucket); anything else takes the rows path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub since_ms: i64,
    pub until_ms: i64,
    pub hours: (i64, i64),
}

impl Plan {
    pub fn of(scope: &Scope, filter: &Filter, req: &StatsRequest) -> Option<Plan> {
        if !filter.is_empty()
            || scope.account.is_none()
            || scope.project.is_none()
            || req.offset_ms.rem_euclid(HOUR_MS) != 0
        {
            return None;
        }
        let h0 = req.since_ms.div_euclid(HOUR_MS) * HOUR_MS
            + if req.since_ms.rem_euclid(HOUR_MS) == 0 {
                0
            } else {
                HOUR_MS
            };
        let h1 = req.until_ms.div_euclid(HOUR_MS) * HOUR_MS;
        (h0 < h1).then_some(Plan {
            since_ms: req.since_ms,
            until_ms: req.until_ms,
            hours: (h0, h1),
        })
    }

    /// The partial first and last hours, `[since, until)` each.
    pub fn edges(&self) -> impl Iterator<Item = (i64, i64)> {
        let (h0, h1) = self.hours;
        [(self.since_ms, h0), (h1, self.until_ms)]
            .into_iter()
            .filter(|(a, b)| a < b)
    }
}

/// Calls `f` with every cell of `scope`'s hours in `[h0, h1)`, dirty ones recomputed first.
pub(super) fn for_each(
    conn: &Connection,
    scope: &Scope,
    (h0, h1): (i64, i64),
    mut f: impl FnMut(&CellKey, &Cell),
) -> StoreResult<()> {
    let (Some(account), Some(project)) = (scope.account.as_deref(), scope.project.as_deref()) else {
        return Ok(());
    };
    let key = Key {
        account,
        project,
        environment: scope.environment.as_deref(),
    };
    let mut skip = HashSet::new();
    if conn.is_readonly(rusqlite::MAIN_DB)? {
        // Computed here, not stored: the stored copies of these hours are stale.
        for run in dirty_runs(conn, &key, h0, h1)? {
            for (k, cell) in run_cells(conn, &key, &run)? {
                f(&k, &cell);
            }
            for h in (run.since..run.until).step_by(HOUR_MS as usize) {
                skip.insert((run.environment.clone(), h));
            }
        }
    } else if !dirty_runs(conn, &key, h0, h1)?.is_empty() {
        // Rows read and dirty marks cleared under one write lock: no write slips between.
        let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
        for run in dirty_runs(&tx, &key, h0, h1)? {
            let cells = run_cells(&tx, &key, &run)?;
            store_run(&tx, &key, &run, &cells)?;
        }
        tx.commit()?;
    }
    let sql = format!(
        "SELECT environment, hour, variant, cell FROM stats_hours
         WHERE account = ?1 AND project = ?2 AND hour >= ?3 AND hour < ?4{}",
        if key.environment.is_some() {
            " AND environment = ?5"
        } else {
            ""
        }
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = match key.environment {
        Some(env) => stmt.query(params![account, project, h0, h1, env])?,
        None => stmt.query(params![account, project, h0, h1])?,
    };
    while let Some(r) = rows.next()? {
        let k = CellKey {
            environment: r.get(0)?,
            slot_ms: r.get(1)?,
            variant: r.get(2)?,
        };
        if !skip.is_empty() && skip.contains(&(k.environment.clone(), k.slot_ms)) {
            continue;
        }
        let cell = decode(r.get_ref(3)?.as_blob().map_err(|_| corrupt())?)?;
        f(&k, &cell);
    }
    Ok(())
}

struct Key<'a> {
    account: &'a str,
    project: &'a str,
    environment: Option<&'a str>,
}

/// Consecutive dirty hours of one environment: `[since, until)`.
struct Run {
    environment: String,
    since: i64,
    until: i64,
}

fn dirty_runs(conn: &Connection, key: &Key, h0: i64, h1: i64) -> StoreResult<Vec<Run>> {
    let mut stmt = conn.prepare_cached(
        "SELECT environment, hour FROM stats_dirty WHERE account = ?1 AND project = ?2
         AND (?3 IS NULL OR environment = ?3) AND hour >= ?4 AND hour < ?5 ORDER BY environment, hour",
    )?;
    let mut rows = stmt.query(params![key.account, key.project, key.environment, h0, h1])?;
    let mut runs: Vec<Run> = Vec::new();
    while let Some(r) = rows.next()? {
        let env = r.get_ref(0)?.as_str().unwrap_or("");
        let hour: i64 = r.get(1)?;
        match runs.last_mut() {
            Some(run) if run.environment == env && run.until == hour => run.until = hour + HOUR_MS,
            _ => runs.push(Run {
                environment: env.to_string(),
                since: hour,
                until: hour + HOUR_MS,
            }),
        }
    }
    Ok(runs)
}

fn run_cells(conn: &Connection, key: &Key, run: &Run) -> StoreResult<Vec<(CellKey, Cell)>> {
    let scope = Scope {
        account: Some(key.account.to_string()),
        project: Some(key.project.to_string()),
        environment: Some(run.environment.clone()),
        since_ms: Some(run.since),
        until_ms: Some(run.until),
    };
    let mut w = SqlWhere::default();
    scope.compile_into(&mut w);
    scan(
        conn,
        &w,
        Slots {
            size: HOUR_MS,
            offset: 0,
        },
    )
}

fn store_run(tx: &Connection, key: &Key, run: &Run, cells: &[(CellKey, Cell)]) -> StoreResult<()> {
    let (a, p, e) = (key.account, key.project, run.environment.as_str());
    tx.prepare_cached(
        "DELETE FROM stats_hours WHERE account = ?1 AND project = ?2 AND environment = ?3 AND hour >= ?4 AND hour < ?5",
    )?
    .execute(params![a, p, e, run.since, run.until])?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO stats_hours (account, project, environment, hour, variant, cell) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for (k, cell) in cells {
        insert.execute(params![a, p, e, k.slot_ms, k.variant, encode(cell)])?;
    }
    tx.prepare_cached(
        "DELETE FROM stats_dirty WHERE account = ?1 AND project = ?2 AND environment = ?3 AND hour >= ?4 AND hour < ?5",
    )?
    .execute(params![a, p, e, run.since, run.until])?;
    Ok(())
}

// The cell codec: LEB128 counts, little-endian f64 values, length-prefixed UTF-8 names.

const CODEC_VERSION: u8 = 1;

pub(super) fn encode(c: &Cell) -> Vec<u8> {
    let mut b = Vec::with_capacity(32 + c.latencies.len() * 10 + c.scores.len() * 10);
    b.push(CODEC_VERSION);
    for n in [c.calls, c.voice, c.handoffs, c.in_progress, c.hidden, c.with_transcript] {
        put_u(&mut b, n);
    }
    let names = |b: &mut Vec<u8>, items: &mut dyn Iterator<Item = (&str, u64)>, len: usize| {
        put_u(b, len as u64);
        for (name, n) in items {
            put_u(b, name.len() as u64);
            b.extend_from_slice(name.as_bytes());
            put_u(b, n);
        }
    };
    let values = |b: &mut Vec<u8>, vs: &[(f64, u64)]| {
        put_u(b, vs.len() as u64);
        for (v, n) in vs {
            b.extend_from_slice(&v.to_le_bytes());
            put_u(b, *n);
        }
    };
    names(
        &mut b,
        &mut c.reasons.iter().map(|(k, n)| (k.as_str(), *n)),
        c.reasons.len(),
    );
    values(&mut b, &c.scores);
    values(&mut b, &c.latencies);
    names(
        &mut b,
        &mut c.intents.iter().map(|(k, n)| (k.as_str(), *n)),
        c.intents.len(),
    );
    names(
        &mut b,
        &mut c.topics.values().map(|(k, n)| (k.as_str(), *n)),
        c.topics.len(),
    );
    b
}

pub(super) fn decode(b: &[u8]) -> StoreResult<Cell> {
    let mut r = Reader { b, at: 0 };
    if r.byte()? != CODEC_VERSION {
        return Err(corrupt());
    }
    let mut c = Cell {
        calls: r.u()?,
        voice: r.u()?,
        handoffs: r.u()?,
        in_progress: r.u()?,
        hidden: r.u()?,
        with_transcript: r.u()?,
        ..Cell::default()
    };
    for _ in 0..r.u()? {
        let (name, n) = (r.name()?, r.u()?);
        c.reasons.insert(name, n);
    }
    c.scores = r.values()?;
    c.latencies = r.values()?;
    for _ in 0..r.u()? {
        let (name, n) = (r.name()?, r.u()?);
        c.intents.insert(name, n);
    }
    for _ in 0..r.u()? {
        let (name, n) = (r.name()?, r.u()?);
        add_topic(&mut c.topics, &name.to_ascii_lowercase(), &name, n);
    }
    Ok(c)
}

fn put_u(b: &mut Vec<u8>, mut n: u64) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            b.push(byte);
            return;
        }
        b.push(byte | 0x80);
    }
}

fn corrupt() -> StoreError {
    StoreError::new(
        StoreErrorKind::Corrupt,
        "a stats aggregate does not decode (delete its stats_hours row to recompute it)",
    )
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> StoreResult<u8> {
        let v = *self.b.get(self.at).ok_or_else(corrupt)?;
        self.at += 1;
        Ok(v)
    }

    fn u(&mut self) -> StoreResult<u64> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            n |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(corrupt())
    }

    fn take(&mut self, len: usize) -> StoreResult<&[u8]> {
        let end = self
            .at
            .checked_add(len)
            .filter(|e| *e <= self.b.len())
            .ok_or_else(corrupt)?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn name(&mut self) -> StoreResult<String> {
        let len = self.u()? as usize;
        String::from_utf8(self.take(len)?.to_vec()).map_err(|_| corrupt())
    }

    fn values(&mut self) -> StoreResult<Vec<(f64, u64)>> {
        let n = self.u()? as usize;
        let mut v = Vec::with_capacity(n.min(self.b.len() / 9 + 1));
        for _ in 0..n {
            let bytes: [u8; 8] = self.take(8)?.try_into().map_err(|_| corrupt())?;
            v.push((f64::from_le_bytes(bytes), self.u()?));
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_reads_back_as_written() {
        let mut c = Cell {
            calls: 300,
            voice: 200,
            handoffs: 17,
            in_progress: 1,
            hidden: 2,
            with_transcript: 30,
            scores: vec![(1.0, 3), (4.5, 1)],
            latencies: vec![(0.25, 1), (0.8230000000000001, 2), (12.5, 1)],
            ..Cell::default()
        };
        c.reasons.insert("billing".into(), 12);
        c.reasons.insert("(none)".into(), 5);
        c.intents.insert("book_table ✓".into(), 9);
        add_topic(&mut c.topics, "hours", "Hours", 4);
        assert_eq!(decode(&encode(&c)).unwrap(), c);
        let bytes = encode(&c);
        assert!(
            decode(&bytes[..bytes.len() - 1]).is_err(),
            "truncated: corrupt, not a panic"
        );
    }

    #[test]
    fn plans_take_whole_hours_and_leave_the_edges() {
        let scope = Scope::env("a", "p", "live");
        let t = 1_764_633_600_000; // a whole hour
        let req = StatsRequest::new(t + 10, t + 3 * HOUR_MS + 5, 0, crate::stats::SplitBy::None);
        let plan = Plan::of(&scope, &Filter::default(), &req).unwrap();
        assert_eq!(plan.hours, (t + HOUR_MS, t + 3 * HOUR_MS));
        assert_eq!(
            plan.edges().collect::<Vec<_>>(),
            [(t + 10, t + HOUR_MS), (t + 3 * HOUR_MS, t + 3 * HOUR_MS + 5)]
        );
        let aligned = StatsRequest::new(t, t + 2 * HOUR_MS, 3_600_000, crate::stats::SplitBy::None);
        assert_eq!(
            Plan::of(&scope, &Filter::default(), &aligned).unwrap().edges().count(),
            0
        );
        let india = StatsRequest {
            offset_ms: 19_800_000,
            ..aligned
        };
        assert_eq!(
            Plan::of(&scope, &Filter::default(), &india),
            None,
            "half-hour offset: rows"
        );
        let voice = Filter::parse("voice").unwrap();
        assert_eq!(Plan::of(&scope, &voice, &aligned), None, "a filter: rows");
        let short = StatsRequest::new(t + 10, t + HOUR_MS + 5, 0, crate::stats::SplitBy::None);
        assert_eq!(Plan::of(&scope, &Filter::default(), &short), None, "no whole hour");
    }
}
