//! The review domain, free of I/O: what a filter, a scope, a mark, a time window and a duration
//! are, and the pure renderings of them (clock, safe file names, Markdown). The app, the CLI and
//! every store build on these; this module imports none of them.

pub mod clock;
pub mod duration;
pub mod file_name;
pub mod filter;
pub mod history;
pub mod markdown;
pub mod marks;
pub mod scope;
pub mod scorecard;
pub mod scores;
pub mod speaker;
pub mod timerange;

pub use filter::Filter;
pub use history::{MarkChange, MarkField, Stamp};
pub use marks::{Marks, RatingReason, ReviewStatus, Thumbs, TurnRating};
pub use scope::{ConversationKey, Origin, Scope};
pub use scores::{ScoreAnswer, ScoreRecord};
pub use speaker::Speaker;

/// Input the domain refuses (a filter word, a view table), with the reason a person can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub detail: String,
}

impl Invalid {
    pub fn new(detail: impl Into<String>) -> Self {
        Invalid { detail: detail.into() }
    }
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail)
    }
}

impl std::error::Error for Invalid {}
