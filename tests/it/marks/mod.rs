//! Integration tests: marks.
mod push;
