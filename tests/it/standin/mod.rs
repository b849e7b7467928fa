//! Integration tests: standin.
mod api;
mod audio;
mod redacted_audio;
mod serve_demo;
mod shapes;
