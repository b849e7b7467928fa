//! The PolyAI Conversations API: models, errors with diagnoses, and the HTTP client.

pub mod client;
pub mod cursor;
pub mod error;
pub mod model;

pub use client::{
    AudioDirection, Client, JsonBody, ListQuery, Pager, RetryNotice, RetryPolicy, Timeouts, TranscriptSearch,
};
pub use cursor::CursorGuard;
pub use error::{ApiError, ErrorKind, HostFamily};
pub use model::{Conversation, ConversationPage, Entity, Turn};
