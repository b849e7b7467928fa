//! The integration tests, one binary: each area is a module (`cargo test --test it tui::`
//! runs one area). Tests that need a process of their own stay in `tests/*.rs`.

mod api;
mod architecture;
mod audio;
mod cli;
mod export;
mod marks;
mod net;
mod quickstart;
mod standin;
mod stats;
mod store;
#[path = "../support/mod.rs"]
mod support; // tests/support/: shared helpers
mod team;
mod tui;
mod webhook;
