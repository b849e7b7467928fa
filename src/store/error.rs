//! Typed store errors: what went wrong, where, and what the user can do about it.

use std::fmt;
use std::path::{Path, PathBuf};

use rusqlite::ffi::ErrorCode;

/// What kind of failure, so callers can react (e.g. the TUI can run without a cache when `Locked`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreErrorKind {
    /// The file exists but is not a SQLite database, or is damaged.
    Corrupt,
    /// Another process holds the write lock longer than the busy timeout.
    Locked,
    /// The file or its directory cannot be written.
    ReadOnly,
    /// The file or its directory cannot be opened or created.
    CannotOpen,
    /// The database was written by a newer callscope.
    NewerSchema,
    /// Input handed to the store (an import file, a filter, a query) is invalid.
    InvalidInput,
    /// Anything else SQLite reports.
    Sqlite,
}

#[derive(Debug)]
pub struct StoreError {
    pub kind: StoreErrorKind,
    pub path: Option<PathBuf>,
    pub detail: String,
}

pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    pub fn new(kind: StoreErrorKind, detail: impl Into<String>) -> Self {
        StoreError {
            kind,
            path: None,
            detail: detail.into(),
        }
    }

    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::new(StoreErrorKind::InvalidInput, detail)
    }

    pub fn at(mut self, path: &Path) -> Self {
        self.path.get_or_insert_with(|| path.to_path_buf());
        self
    }

    /// One line saying what happened.
    pub fn headline(&self) -> String {
        let what = match self.kind {
            StoreErrorKind::Corrupt => "the local store is not a valid database",
            StoreErrorKind::Locked => "the local store is locked by another process",
            StoreErrorKind::ReadOnly => "the local store cannot be written",
            StoreErrorKind::CannotOpen => "the local store cannot be opened",
            StoreErrorKind::NewerSchema => "the local store was created by a newer callscope",
            StoreErrorKind::InvalidInput => "invalid input",
            StoreErrorKind::Sqlite => "local store error",
        };
        match &self.path {
            Some(p) => format!("{what} ({})", p.display()),
            None => what.to_string(),
        }
    }

    /// What the user can do about it.
    pub fn hint(&self) -> &'static str {
        match self.kind {
            StoreErrorKind::Corrupt => {
                "move the file aside (it only caches API data and your review marks; export marks first if you can) \
                 or pass --store PATH to use another file"
            }
            StoreErrorKind::Locked => {
                "another callscope (or sqlite3 shell) is writing to it; close it and retry, or pass --store PATH"
            }
            StoreErrorKind::ReadOnly => {
                "check the file and directory permissions, or pass --store PATH to a writable place"
            }
            StoreErrorKind::CannotOpen => "check that the directory exists and is writable, or pass --store PATH",
            StoreErrorKind::NewerSchema => "upgrade callscope, or pass --store PATH to use a separate file",
            StoreErrorKind::InvalidInput => "fix the input and try again; nothing was changed",
            StoreErrorKind::Sqlite => "retry; if it persists, pass --store PATH to use a fresh file",
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}\nhint: {}", self.headline(), self.detail, self.hint())
    }
}

impl std::error::Error for StoreError {}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        let kind = match e.sqlite_error_code() {
            Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => StoreErrorKind::Corrupt,
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreErrorKind::Locked,
            Some(ErrorCode::ReadOnly | ErrorCode::PermissionDenied) => StoreErrorKind::ReadOnly,
            Some(ErrorCode::CannotOpen) => StoreErrorKind::CannotOpen,
            _ => StoreErrorKind::Sqlite,
        };
        StoreError::new(kind, e.to_string())
    }
}

impl From<crate::domain::Invalid> for StoreError {
    fn from(e: crate::domain::Invalid) -> Self {
        StoreError::invalid(e.detail)
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::new(StoreErrorKind::Sqlite, format!("cached JSON does not parse: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_has_headline_detail_and_hint() {
        let e = StoreError::new(StoreErrorKind::Locked, "database is locked").at(Path::new("/x/callscope.db"));
        let text = e.to_string();
        assert!(text.starts_with("the local store is locked by another process (/x/callscope.db): database is locked"));
        assert!(text.contains("hint: another callscope"));
    }
}
