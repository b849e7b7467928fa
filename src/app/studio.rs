//! Agent Studio from the TUI: copy the selected conversation's Studio link (OSC 52), and push its
//! note and ratings to Studio (the same push as `callscope marks push`, for one conversation,
//! run by the runner; the answer comes back as [`Msg::MarksPushed`](super::Msg::MarksPushed)).

use crate::domain::ConversationKey;
use crate::sanitize::sanitize_line;
use crate::studio::push::PushReport;

use super::msg::{Effect, IoEffect, TerminalEffect};
use super::review;
use super::state::State;

/// `O`: the selected conversation's Studio URL goes to the clipboard.
pub fn copy_link(s: &mut State, fx: &mut Vec<Effect>) {
    let Some(id) = s.list.selected().map(|r| r.id.to_string()) else {
        s.status.note = Some("no conversation selected".into());
        return;
    };
    match &s.studio {
        Some(links) => {
            let url = links.conversation_url(&id);
            s.status.note = Some(format!("copied the Agent Studio link {} (OSC 52)", sanitize_line(&url)));
            fx.push(Effect::Terminal(TerminalEffect::Copy(url)));
        }
        None => {
            s.status.note = Some(
                "no Agent Studio link: the region is unknown — set region = \"us\", \"uk\" or \"euw\" in the config file (or --region)"
                    .into(),
            );
        }
    }
}

/// `A`: push the selected conversation's stored note and ratings to Studio.
pub fn push(s: &mut State, fx: &mut Vec<Effect>) {
    let Some(key) = review::selected_key(s) else { return };
    if review::pending_of(s, &key.id).is_some() {
        s.status.note = Some("marks not saved yet: push again once they are (no ⧗ on the row)".into());
        return;
    }
    if !s.review.pushing.insert(key.clone()) {
        s.status.note = Some("already pushing this conversation's marks…".into());
        return;
    }
    s.status.note = Some(format!(
        "pushing the marks of {} to Agent Studio…",
        sanitize_line(&key.id)
    ));
    fx.push(Effect::Io(IoEffect::PushMarks { key }));
}

/// The push finished: what went, what was skipped, or what failed (server message and correlation id).
pub fn on_pushed(s: &mut State, key: &ConversationKey, result: Result<PushReport, String>) {
    s.review.pushing.remove(key);
    let id = sanitize_line(&key.id);
    s.status.note = Some(match result {
        Err(e) => format!("push of {id} failed: {}", sanitize_line(&e)),
        Ok(r) if !r.failures.is_empty() => {
            let failures: Vec<String> = r.failures.iter().map(|f| sanitize_line(f)).collect();
            format!(
                "push of {id} failed (retried on the next push): {}",
                failures.join(" | ")
            )
        }
        Ok(r) => {
            let mut parts = Vec::new();
            if r.notes > 0 {
                parts.push("the note".to_string());
            }
            if r.annotations > 0 {
                parts.push(format!(
                    "{} annotation{}",
                    r.annotations,
                    if r.annotations == 1 { "" } else { "s" }
                ));
            }
            let mut t = if parts.is_empty() {
                format!("nothing new to push for {id}")
            } else {
                format!("pushed {} of {id} to Agent Studio", parts.join(" and "))
            };
            if r.unchanged > 0 {
                t.push_str(&format!(" · {} already there", r.unchanged));
            }
            if let Some(skipped) = r.skipped {
                t.push_str(&format!(" · {skipped}"));
            }
            t
        }
    });
}
