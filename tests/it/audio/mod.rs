//! Integration tests: audio.
mod spill;
mod stream;
