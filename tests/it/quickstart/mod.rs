//! Integration tests: quickstart.
mod python;
mod webhooks;
