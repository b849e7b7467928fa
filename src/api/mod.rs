//! The PolyAI Conversations API: models, errors with diagnoses, and the HTTP client.

pub mod client;
pub mod error;
pub mod model;

pub use client::{AudioDirection, Client, ListQuery, Pager, RetryNotice, RetryPolicy, TranscriptSearch};
pub use error::{ApiError, ErrorKind, HostFamily};
pub use model::{Conversation, ConversationPage, Entity, Turn};
