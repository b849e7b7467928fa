//! callscope: a terminal app for reviewing PolyAI conversations.
//!
//! The binary is a thin shell over this library so that tests and benchmarks drive the same code.

// Everything printed goes through `output` (sanitized): no raw println!/eprintln! anywhere else.
#![warn(clippy::print_stdout, clippy::print_stderr)]

pub mod api;
pub mod app;
pub mod audio;
pub mod cli;
pub mod config;
pub mod doctor;
pub mod duration;
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
pub mod timerange;
pub mod tui;
pub mod ui;
pub mod webhook;
