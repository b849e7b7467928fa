//! Integration tests: store.
mod filter;
mod marks;
mod marks_cli;
mod search;
