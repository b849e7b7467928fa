//! Agent Studio: deep links to a conversation, and review marks sent back as Studio's notes and
//! turn annotations (`callscope marks push`, the TUI's push key).
//!
//! - [`link`]: the Studio URL of a conversation, for the configured region.
//! - [`annotation`]: which per-turn ratings map onto Studio's annotation types (the wire shape
//!   the client sends and the stand-in validates).
//! - [`push`]: what is still to push, sending it, and recording what was sent.

pub mod annotation;
pub mod link;
pub mod push;

pub use annotation::{Annotation, AnnotationRole, AnnotationType, Skip, to_annotation};
pub use link::StudioLinks;
