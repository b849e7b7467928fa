//! callscope: a terminal app for reviewing PolyAI conversations.
//!
//! The binary is a thin shell over this library so that tests and benchmarks drive the same code.

// Everything printed goes through `output` (sanitized): no raw println!/eprintln! anywhere else.
#![warn(clippy::print_stdout, clippy::print_stderr)]
// No unwrap/expect in the library outside tests (clippy.toml allows them in tests): bad input is
// an error the user can act on. The few that cannot fail carry an `#[allow]` saying why. Set
// here rather than in Cargo.toml's [lints], which would also reach tests/ and benches/, whose
// helpers clippy's allow-unwrap-in-tests does not cover (rust-clippy#13981).
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod api;
pub mod app;
pub mod audio;
pub mod cli;
pub mod config;
pub mod doctor;
pub mod domain;
pub mod export;
pub mod fsutil;
pub mod logging;
#[allow(clippy::print_stdout, clippy::print_stderr)]
pub mod output;
pub mod sanitize;
pub mod settings;
pub mod standin;
pub mod stats;
pub mod store;
pub mod studio;
pub mod team;
pub mod tui;
pub mod ui;
pub mod webhook;
