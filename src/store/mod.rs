//! The local store: a SQLite file (WAL) caching every conversation the app fetched, with
//! full-text search over transcripts, list queries with filters, and review marks.
//!
//! One `Store` owns one connection; it is `Send`, so the TUI keeps it on a blocking worker.

mod cache;
pub mod error;
pub mod export;
pub mod filter;
pub mod list;
pub mod marks;
mod marks_io;
mod migrate;
mod origins;
pub mod outbox;
pub mod pushed;
pub mod review;
mod schema;
pub mod scores;
pub mod search;
pub mod stats;
mod stats_covered;
mod stats_hours;
mod stats_qa;
mod text;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

pub use cache::CacheBatch;
pub use error::{StoreError, StoreErrorKind, StoreResult};
pub use export::Matching;
pub use list::{ListCursor, ListOrder, ListPage, ListRow, NextKind};
pub use marks_io::{ConversationMerge, MARKS_FORMAT, MARKS_VERSION, MarksImport, check_marks_file};
pub use migrate::CURRENT_VERSION;
pub use pushed::{PushKind, Pushed, content_hash};
pub use review::{AppStore, ConversationCache, LocalStore, ReviewStore};
pub use search::{SearchHit, SearchOrder, SearchQuery, Snippet, TurnHit, fts_query};

use crate::api::Conversation;
use crate::domain::{ConversationKey, Origin};

impl ConversationKey {
    /// Reads `account, project, environment, id` from four consecutive columns from `first`.
    pub(crate) fn from_row(r: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<Self> {
        Ok(ConversationKey {
            account: r.get(first)?,
            project: r.get(first + 1)?,
            environment: r.get(first + 2)?,
            id: r.get(first + 3)?,
        })
    }
}

#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// How long a write waits for another process's lock before failing with `StoreErrorKind::Locked`.
    pub busy_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            busy_timeout: Duration::from_secs(5),
        }
    }
}

pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// Who this store's mark changes are recorded as (`set_reviewer`; "unknown" until set).
    reviewer: String,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// `callscope.db` in the platform's data dir (`~/.local/share/callscope/` on Linux).
pub fn default_path() -> PathBuf {
    crate::config::default_data_dir().join("callscope.db")
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Store {
    /// Opens (creating if needed) the store at `path` and migrates it to the current schema.
    pub fn open(path: &Path) -> StoreResult<Store> {
        Self::open_with(path, &StoreOptions::default())
    }

    pub fn open_default() -> StoreResult<Store> {
        Self::open(&default_path())
    }

    pub fn open_with(path: &Path, options: &StoreOptions) -> StoreResult<Store> {
        Self::open_inner(path, options).map_err(|e| e.at(path))
    }

    fn open_inner(path: &Path, options: &StoreOptions) -> StoreResult<Store> {
        if path.is_dir() {
            return Err(StoreError::new(
                StoreErrorKind::CannotOpen,
                "the path is a directory, not a file",
            ));
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                let kind = if e.kind() == std::io::ErrorKind::PermissionDenied {
                    StoreErrorKind::ReadOnly
                } else {
                    StoreErrorKind::CannotOpen
                };
                StoreError::new(kind, format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(path, flags)?;
        conn.busy_timeout(options.busy_timeout)?;
        // Reading the header first turns "random bytes" into a clear Corrupt error before anything writes.
        conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get::<_, i64>(0))?;
        let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::new(
                StoreErrorKind::ReadOnly,
                format!("cannot switch to WAL journaling (got {mode})"),
            ));
        }
        // WAL + NORMAL: a committed transaction survives a killed process; only power loss may drop
        // the last commits, which for a cache and review marks is the right trade for write speed.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        // 64 MiB page cache (allocated only as used): list indexes and search postings of a large
        // cache stay in memory instead of being re-read through the OS on every query.
        conn.pragma_update(None, "cache_size", -64 * 1024)?;
        migrate::migrate(&mut conn)?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
            reviewer: crate::domain::history::UNKNOWN_REVIEWER.to_string(),
        })
    }

    /// The schema upgrade that opening the store at `path` would run, as (found, this build's)
    /// versions. `None` when there is none, no store yet, or it cannot be read (`open` says why).
    /// An upgrade can rewrite the cache (v12 did: about 8 s for 10⁶ calls), so callers say so first.
    pub fn pending_upgrade(path: &Path) -> Option<(i64, i64)> {
        if !path.is_file() {
            return None;
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).ok()?;
        let found = migrate::schema_version(&conn).ok()?;
        (found > 0 && found < CURRENT_VERSION).then_some((found, CURRENT_VERSION))
    }

    /// Opens an existing store for reading only (exports): nothing is created, migrated or
    /// written, so a store the user can only read (a read-only file, directory or mount) works.
    pub fn open_read_only(path: &Path) -> StoreResult<Store> {
        Self::open_read_only_inner(path).map_err(|e| e.at(path))
    }

    fn open_read_only_inner(path: &Path) -> StoreResult<Store> {
        if path.is_dir() {
            return Err(StoreError::new(
                StoreErrorKind::CannotOpen,
                "the path is a directory, not a file",
            ));
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let open = |conn: Connection| -> StoreResult<Connection> {
            conn.busy_timeout(StoreOptions::default().busy_timeout)?;
            conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get::<_, i64>(0))?;
            Ok(conn)
        };
        let conn = match Connection::open_with_flags(path, flags)
            .map_err(StoreError::from)
            .and_then(open)
        {
            Ok(conn) => conn,
            // A WAL store needs its -shm index, which a read-only directory cannot hold. With no
            // -wal file every committed page is in the main file, so it can be read as immutable.
            Err(e) if !wal_sidecar(path, "-wal").exists() && e.kind != StoreErrorKind::Corrupt => {
                let uri = format!("file:{}?immutable=1", uri_path(path));
                Connection::open_with_flags(uri, flags | OpenFlags::SQLITE_OPEN_URI)
                    .map_err(StoreError::from)
                    .and_then(open)?
            }
            Err(e) => return Err(e),
        };
        let found = migrate::schema_version(&conn)?;
        if found > CURRENT_VERSION {
            return Err(StoreError::new(
                StoreErrorKind::NewerSchema,
                format!("schema version {found}, this build knows up to {CURRENT_VERSION}"),
            ));
        }
        if found < CURRENT_VERSION {
            return Err(StoreError::new(
                StoreErrorKind::ReadOnly,
                format!(
                    "schema version {found} needs upgrading to {CURRENT_VERSION}, which takes a writable store: open it once with write access"
                ),
            ));
        }
        Ok(Store {
            conn,
            path: path.to_path_buf(),
            reviewer: crate::domain::history::UNKNOWN_REVIEWER.to_string(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How long a write waits from now on for another process's lock (see [`StoreOptions`]).
    pub fn set_busy_timeout(&self, timeout: Duration) -> StoreResult<()> {
        self.conn.busy_timeout(timeout)?;
        Ok(())
    }

    pub fn schema_version(&self) -> StoreResult<i64> {
        migrate::schema_version(&self.conn)
    }

    /// Caches conversations fetched from `origin` in one transaction; returns how many were stored
    /// (conversations without an id are skipped).
    pub fn cache(&mut self, origin: &Origin, conversations: &[Conversation]) -> StoreResult<usize> {
        let mut batch = self.batch()?;
        for c in conversations {
            batch.upsert(origin, c)?;
        }
        batch.commit()
    }

    /// A write transaction for many upserts (e.g. a bulk import); commit it, or drop it to roll back.
    pub fn batch(&mut self) -> StoreResult<CacheBatch<'_>> {
        CacheBatch::begin(&self.conn, now_ms()).map_err(|e| StoreError::from(e).at(&self.path))
    }

    /// The cached conversation, with its transcript when one was fetched.
    pub fn conversation(&self, key: &ConversationKey) -> StoreResult<Option<Conversation>> {
        cache::load(&self.conn, key)
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    pub(crate) fn write_tx(&mut self) -> StoreResult<rusqlite::Transaction<'_>> {
        let path = self.path.clone();
        self.conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| StoreError::from(e).at(&path))
    }
}

/// `store.db-wal`, `store.db-shm`: SQLite's files beside the database.
fn wal_sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// A path as the path part of a SQLite `file:` URI: `%`, `?` and `#` (and non-ASCII bytes) escaped.
fn uri_path(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut out = String::new();
    for &b in path.as_os_str().as_bytes() {
        if b.is_ascii_graphic() && !matches!(b, b'%' | b'?' | b'#') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
