//! The PolyAI Conversations API: models, errors with diagnoses, and the HTTP client.

pub mod client;
pub mod error;
pub mod lenient;
pub mod model;

pub use client::{AudioDirection, Client, ListQuery, Pager, RetryNotice, RetryPolicy, TranscriptSearch};
pub use error::{ApiError, ErrorKind, HostFamily};
pub use lenient::{OddField, RawPage, ReadReport};
pub use model::{Conversation, ConversationPage, Entity, Turn};
