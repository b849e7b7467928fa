//! Integration tests: webhook.
mod abuse;
mod api;
mod flow;
mod reference;
mod replay;
mod standin;
