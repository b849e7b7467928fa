//! The origins of cached calls (schema v12): each account, project and environment as a small
//! integer, which the cache's keys and list indexes start with instead of the three texts.

use rusqlite::{Connection, OptionalExtension, params};

use super::error::StoreResult;
use crate::domain::Origin;

/// A cached row's key over `conversation_rows`; parameters ?1–?4: account, project, environment, id.
pub(crate) const ROW_BY_KEY: &str =
    "origin = (SELECT origin FROM origins WHERE account = ?1 AND project = ?2 AND environment = ?3) AND id = ?4";

/// `conversations c` of one environment (positional parameters: account, project, environment).
/// A scalar subquery, so the list index is used whatever the planner thinks of the view's join.
pub(crate) const IN_ENVIRONMENT: &str =
    "c.origin = (SELECT origin FROM origins WHERE account = ? AND project = ? AND environment = ?)";

/// `conversations c` of every environment of one project (positional parameters: account, project).
pub(crate) const IN_PROJECT: &str =
    "c.project_no = (SELECT project_no FROM origins WHERE account = ? AND project = ? LIMIT 1)";

/// An origin's numbers in `origins`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OriginIds {
    pub origin: i64,
    /// Shared by every environment of the project: the smallest `origin` among them.
    pub project_no: i64,
}

fn find(conn: &Connection, o: &Origin) -> StoreResult<Option<OriginIds>> {
    Ok(conn
        .prepare_cached(
            "SELECT origin, project_no FROM origins WHERE account = ?1 AND project = ?2 AND environment = ?3",
        )?
        .query_row(params![o.account, o.project, o.environment], |r| {
            Ok(OriginIds {
                origin: r.get(0)?,
                project_no: r.get(1)?,
            })
        })
        .optional()?)
}

/// The origin's numbers, allocated on first use; call inside a write transaction.
pub(crate) fn ensure(conn: &Connection, o: &Origin) -> StoreResult<OriginIds> {
    if let Some(ids) = find(conn, o)? {
        return Ok(ids);
    }
    let sibling: Option<i64> = conn
        .prepare_cached("SELECT project_no FROM origins WHERE account = ?1 AND project = ?2 LIMIT 1")?
        .query_row(params![o.account, o.project], |r| r.get(0))
        .optional()?;
    conn.prepare_cached("INSERT INTO origins (account, project, environment, project_no) VALUES (?1, ?2, ?3, 0)")?
        .execute(params![o.account, o.project, o.environment])?;
    let origin = conn.last_insert_rowid();
    let project_no = sibling.unwrap_or(origin);
    conn.prepare_cached("UPDATE origins SET project_no = ?2 WHERE origin = ?1")?
        .execute(params![origin, project_no])?;
    Ok(OriginIds { origin, project_no })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environments_of_a_project_share_its_number_and_others_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(&dir.path().join("s.db")).unwrap();
        let conn = store.conn();
        let live = ensure(conn, &Origin::new("ws", "p", "live")).unwrap();
        let sandbox = ensure(conn, &Origin::new("ws", "p", "sandbox")).unwrap();
        let other = ensure(conn, &Origin::new("ws", "q", "live")).unwrap();
        let elsewhere = ensure(conn, &Origin::new("ws2", "p", "live")).unwrap();
        assert_ne!(live.origin, sandbox.origin);
        assert_eq!(live.project_no, sandbox.project_no);
        assert_eq!(live.project_no, live.origin, "the project's first environment names it");
        assert_ne!(other.project_no, live.project_no);
        assert_ne!(elsewhere.project_no, live.project_no);
        assert_eq!(
            ensure(conn, &Origin::new("ws", "p", "sandbox")).unwrap(),
            sandbox,
            "allocated once"
        );
    }
}
