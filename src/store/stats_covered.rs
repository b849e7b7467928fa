//! Which time ranges of an environment completed, unfiltered API walks cached (schema v6
//! `stats_covered`): what the stats view does not need to fetch again. Ranges are kept merged.

use rusqlite::{Connection, Transaction, TransactionBehavior, params};

use super::error::StoreResult;
use crate::domain::Scope;

/// An account, project and environment: the scope a walk covers.
pub struct EnvKey<'a> {
    pub account: &'a str,
    pub project: &'a str,
    pub environment: &'a str,
}

impl<'a> EnvKey<'a> {
    pub fn of(scope: &'a Scope) -> Option<EnvKey<'a>> {
        Some(EnvKey {
            account: scope.account.as_deref()?,
            project: scope.project.as_deref()?,
            environment: scope.environment.as_deref()?,
        })
    }
}

fn ranges(conn: &Connection, k: &EnvKey) -> StoreResult<Vec<(i64, i64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT since_ms, until_ms FROM stats_covered WHERE account = ?1 AND project = ?2 AND environment = ?3
         ORDER BY since_ms",
    )?;
    let rows = stmt.query_map(params![k.account, k.project, k.environment], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Adds `[since, until)` to `k`'s covered ranges (merging touching ones).
pub fn record(conn: &Connection, k: &EnvKey, since: i64, until: i64) -> StoreResult<()> {
    if since >= until || conn.is_readonly(rusqlite::MAIN_DB)? {
        return Ok(());
    }
    let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
    let mut all = ranges(&tx, k)?;
    all.push((since, until));
    all.sort_unstable();
    let mut merged: Vec<(i64, i64)> = Vec::with_capacity(all.len());
    for (a, b) in all {
        match merged.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    tx.prepare_cached("DELETE FROM stats_covered WHERE account = ?1 AND project = ?2 AND environment = ?3")?
        .execute(params![k.account, k.project, k.environment])?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO stats_covered (account, project, environment, since_ms, until_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for (a, b) in merged {
        insert.execute(params![k.account, k.project, k.environment, a, b])?;
    }
    drop(insert);
    tx.commit()?;
    Ok(())
}

/// The parts of `[since, until)` no recorded walk covers, oldest first.
pub fn uncovered(conn: &Connection, k: &EnvKey, since: i64, until: i64) -> StoreResult<Vec<(i64, i64)>> {
    let mut gaps = Vec::new();
    let mut at = since;
    for (a, b) in ranges(conn, k)? {
        if b <= at || a >= until {
            continue;
        }
        if a > at {
            gaps.push((at, a));
        }
        at = at.max(b);
    }
    if at < until {
        gaps.push((at, until));
    }
    Ok(gaps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_merge_and_leave_gaps() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(&dir.path().join("s.db")).unwrap();
        let scope = Scope::env("a", "p", "live");
        let k = EnvKey::of(&scope).unwrap();
        let conn = store.conn();
        assert_eq!(uncovered(conn, &k, 0, 100).unwrap(), [(0, 100)]);
        record(conn, &k, 10, 20).unwrap();
        record(conn, &k, 40, 60).unwrap();
        record(conn, &k, 20, 30).unwrap();
        assert_eq!(uncovered(conn, &k, 0, 100).unwrap(), [(0, 10), (30, 40), (60, 100)]);
        assert_eq!(uncovered(conn, &k, 12, 28).unwrap(), Vec::<(i64, i64)>::new());
        record(conn, &k, 0, 100).unwrap();
        assert!(uncovered(conn, &k, 0, 100).unwrap().is_empty());
        let other = Scope::env("a", "p", "sandbox");
        assert_eq!(
            uncovered(conn, &EnvKey::of(&other).unwrap(), 0, 100).unwrap(),
            [(0, 100)],
            "per environment"
        );
    }
}
