//! Markdown as exported (`export --format md`, the TUI's `x`): the one renderer,
//! [`crate::domain::markdown`], with the call's Agent Studio link filled in.

use crate::api::Conversation;
use crate::domain::marks::Marks;
use crate::studio::StudioLinks;

/// The conversation as Markdown; `marks` adds the review lines, `studio` the Agent Studio link.
pub fn render(c: &Conversation, marks: Option<&Marks>, studio: Option<&StudioLinks>) -> String {
    let url = studio.map(|l| l.conversation_url(&c.id));
    crate::domain::markdown::render(c, marks, url.as_deref())
}

/// As [`render`], with the call's saved scorecards just before the transcript.
pub fn render_with_scores(
    c: &Conversation,
    marks: Option<&Marks>,
    scores: &[crate::domain::ScoreRecord],
    studio: Option<&StudioLinks>,
) -> String {
    let url = studio.map(|l| l.conversation_url(&c.id));
    crate::domain::markdown::render_scored(c, marks, scores, url.as_deref())
}
