//! The PolyAI Conversations API: models, errors with diagnoses, and the HTTP client.

pub mod client;
pub mod cursor;
pub mod error;
pub mod lenient;
pub mod model;
pub mod score;

pub use client::{
    AudioDirection, AudioRequest, CORRELATION_HEADER, Client, JsonBody, ListQuery, Pager, PathFamily, RetryNotice,
    RetryPolicy, Route, Timeouts, TranscriptSearch, new_correlation_id, route_missing,
};
pub use cursor::CursorGuard;
pub use error::{ApiError, ErrorKind, HostFamily};
pub use lenient::{OddField, RawPage, ReadReport};
pub use model::{Conversation, ConversationPage, Entity, Turn};
