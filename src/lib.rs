//! callscope: a terminal app for reviewing PolyAI conversations.
//!
//! The binary is a thin shell over this library so that tests and benchmarks drive the same code.

pub mod api;
pub mod app;
pub mod audio;
pub mod cli;
pub mod config;
pub mod doctor;
pub mod export;
pub mod logging;
pub mod sanitize;
pub mod standin;
pub mod store;
pub mod tui;
pub mod ui;
pub mod webhook;
