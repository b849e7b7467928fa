//! The cursors a walk has followed, so a server whose cursor goes round in a circle (A→B→A, or
//! the same cursor on every page) ends the walk with an error instead of looping forever.
//!
//! Every cursor walk (the export, the TUI's list and its newest-first slices, live polling,
//! [`super::Pager`]) keeps one guard per walk and passes each page's cursor through it.

use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};

use super::error::{ApiError, ErrorKind, HostFamily};
use crate::sanitize::{sanitize_line, truncate};

/// Cursors are kept as 64-bit hashes (8 bytes a page, whatever the server's cursors weigh),
/// keyed per process so a server cannot craft collisions.
#[derive(Debug, Clone, Default)]
pub struct CursorGuard {
    seen: HashSet<u64>,
    keys: RandomState,
    pages: u64,
}

impl CursorGuard {
    /// Records one answered page and its cursor. Returns the cursor to send next: `None` at
    /// the end of the walk (no cursor, or an empty one), an error if it was handed out before.
    pub fn follow(&mut self, cursor: Option<String>) -> Result<Option<String>, ApiError> {
        self.pages += 1;
        let Some(cursor) = cursor.filter(|c| !c.is_empty()) else {
            return Ok(None);
        };
        if self.seen.insert(self.keys.hash_one(&cursor)) {
            Ok(Some(cursor))
        } else {
            Err(repeated(&cursor, self.pages))
        }
    }

    /// Pages answered so far in this walk.
    pub fn pages(&self) -> u64 {
        self.pages
    }
}

fn repeated(cursor: &str, pages: u64) -> ApiError {
    let shown = truncate(&sanitize_line(cursor), 40);
    let s = if pages == 1 { "" } else { "s" };
    ApiError::transport(
        ErrorKind::CursorRepeated,
        format!("the server repeated cursor {shown:?}; stopped after {pages} page{s}"),
        HostFamily::Runtime,
        "",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cycle_is_stopped_at_its_first_repeat() {
        let mut g = CursorGuard::default();
        assert_eq!(g.follow(Some("A".into())).unwrap().as_deref(), Some("A"));
        assert_eq!(g.follow(Some("B".into())).unwrap().as_deref(), Some("B"));
        let e = g.follow(Some("A".into())).unwrap_err();
        assert_eq!(e.kind, ErrorKind::CursorRepeated);
        assert!(
            e.headline()
                .starts_with("the server repeated cursor \"A\"; stopped after 3 pages"),
            "{}",
            e.headline()
        );
    }

    #[test]
    fn the_end_of_a_walk_is_no_cursor_or_an_empty_one() {
        let mut g = CursorGuard::default();
        assert_eq!(g.follow(None).unwrap(), None);
        assert_eq!(g.follow(Some(String::new())).unwrap(), None);
        assert_eq!(g.pages(), 2);
    }

    #[test]
    fn a_hostile_cursor_is_shown_clean_and_short() {
        let mut g = CursorGuard::default();
        let evil = format!("\u{1b}]52;c;AAAA\u{7}{}", "x".repeat(500));
        g.follow(Some(evil.clone())).unwrap();
        let msg = g.follow(Some(evil)).unwrap_err().message;
        assert!(!msg.contains('\u{1b}') && msg.chars().count() < 120, "{msg:?}");
    }
}
