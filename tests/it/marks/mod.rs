//! Integration tests: marks.
mod history_tui;
mod merge;
mod push;
mod scores;
