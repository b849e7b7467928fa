//! Integration tests: cli.
mod files;
mod no_escapes;
mod options;
mod window;
