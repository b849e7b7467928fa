//! Review marks in the TUI: status, flags and a note per conversation, kept in the local
//! store by a worker (`tui::store_worker`). `update` only asks for store work with
//! [`Effect::Io(IoEffect::Store)`] and folds the answers ([`Msg::Marks`], [`Msg::MarksSaved`],
//! [`Msg::MarksPending`]) into state.
//!
//! A change is *pending* from the key press until the store confirms it: the row keeps its
//! saved icons plus `⧗`, the header counts the unsaved changes, and the worker retries them
//! (with backoff) while the store is locked or unwritable. Quitting with changes pending
//! first tries to save them and asks before giving up on them.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::api::Conversation;
use crate::domain::{ConversationKey, Marks, Origin, ReviewStatus};
use crate::sanitize::sanitize_line;

pub use super::msg::StoreRequest;
use super::msg::{Effect, IoEffect, TerminalEffect};
use super::review_state::MARKS_CAPACITY;
pub use super::review_state::{FLAG_REASONS, MarkChange, PendingMarks, QuitRequest, ReviewState};
use super::state::{Input, InputKind, Overlay, State};

/// The pending changes of conversation `id` of the current origin.
pub fn pending_of<'a>(s: &'a State, id: &str) -> Option<&'a PendingMarks> {
    if s.review.pending.is_empty() {
        return None;
    }
    let o = origin(s);
    s.review.pending.iter().find_map(|(k, p)| {
        (k.id == id && k.account == o.account && k.project == o.project && k.environment == o.environment).then_some(p)
    })
}

/// The detail pane's line for a conversation whose changes the store refused (while they are
/// only in flight the row's ⧗ says enough, and the transcript does not shift for a moment).
pub fn unsaved_text(s: &State, p: &PendingMarks) -> Option<String> {
    let e = s.review.store_error.as_ref()?;
    let n = p.changes.len();
    let what = if n == 1 {
        "change".to_string()
    } else {
        format!("{n} changes")
    };
    Some(format!("⧗ {what} not saved yet: {} — retrying", sanitize_line(e)))
}

pub fn origin(s: &State) -> Origin {
    Origin::new(&s.identity.account, &s.identity.project, &s.client_env)
}

/// Caches fetched conversations in the background (nothing without a store).
pub fn cache(s: &State, conversations: &[Conversation], fx: &mut Vec<Effect>) {
    if s.review.unavailable.is_some() || conversations.is_empty() {
        return;
    }
    cache_owned(s, conversations.to_vec(), fx);
}

/// [`cache`] for conversations the caller no longer needs: moved, not copied.
pub fn cache_owned(s: &State, conversations: Vec<Conversation>, fx: &mut Vec<Effect>) {
    if s.review.unavailable.is_some() || conversations.is_empty() {
        return;
    }
    fx.push(Effect::Io(IoEffect::Store(StoreRequest::Cache {
        origin: origin(s),
        conversations,
    })));
}

/// Forgets marks of another origin (after `e` or a reload).
pub fn on_reload(s: &mut State) {
    s.review.marks.clear();
    s.review.requested.clear();
}

/// Under a filter or view, the marks of every loaded row are asked for (the title counts the
/// reviewed ones) while the list is at most this long; past it, those of the visible rows.
const PROGRESS_ROWS: usize = MARKS_CAPACITY / 2;

/// Asks for the marks of the visible rows not asked for yet, in one batch.
pub fn load_visible(s: &mut State, fx: &mut Vec<Effect>) {
    if s.review.unavailable.is_some() {
        return;
    }
    if s.review.requested.len() > MARKS_CAPACITY {
        on_reload(s); // the visible rows are asked for again just below
    }
    let rows = s.panes().list_rows().max(1);
    let counted = progress_shown(s) && s.list.visible_len() <= PROGRESS_ROWS;
    let (start, end) = if counted {
        (0, s.list.visible_len())
    } else {
        (s.list.offset, (s.list.offset + rows).min(s.list.visible_len()))
    };
    let ids: Vec<String> = (start..end)
        .filter_map(|pos| s.list.row_at(pos))
        .filter(|r| !s.review.requested.contains(&*r.id))
        .map(|r| r.id.to_string())
        .collect();
    if ids.is_empty() {
        return;
    }
    s.review.requested.extend(ids.iter().cloned());
    fx.push(Effect::Io(IoEffect::Store(StoreRequest::LoadMarks {
        origin: origin(s),
        ids,
    })));
}

/// Whether the list title counts reviewed calls: under a filter or a view, with a store.
fn progress_shown(s: &State) -> bool {
    s.review.unavailable.is_none() && (!s.filter.is_empty() || s.view_name.is_some())
}

/// Counts the reviewed rows for the title (after each message that may change rows or marks:
/// never while drawing).
pub fn count_progress(s: &mut State) {
    if !progress_shown(s) {
        s.list.progress = None;
        return;
    }
    let (mut reviewed, mut partial) = (0, false);
    for r in &s.list.paging.rows {
        match s.review.get(&r.id) {
            Some(m) if m.status == ReviewStatus::Reviewed => reviewed += 1,
            Some(_) => {}
            None => partial = true,
        }
    }
    s.list.progress = Some(super::state::Progress {
        reviewed,
        of: s.list.visible_len(),
        partial,
    });
}

/// Marks arrived from the store (for `origin`); pending changes stay on top of them.
pub fn on_marks(s: &mut State, from: &Origin, marks: Vec<(String, Marks)>) -> bool {
    if *from != origin(s) {
        return false; // for an environment the user has left
    }
    for (id, m) in marks {
        let shown = match s.review.pending.get_mut(&from.key(id.as_str())) {
            Some(p) => {
                p.saved = m;
                p.intended()
            }
            None => m,
        };
        s.review.marks.insert(id, shown);
    }
    true
}

/// Change `seq` of `key` was written (the conversation's stored marks), or refused for good
/// (invalid: it is dropped and the row shows what is stored). Whether the row's marks changed.
pub fn on_saved(
    s: &mut State,
    key: &ConversationKey,
    seq: u64,
    result: Result<Marks, String>,
    fx: &mut Vec<Effect>,
) -> bool {
    let here = key.origin() == origin(s);
    let shown = match s.review.pending.get_mut(key) {
        Some(p) => {
            match result {
                // Changes are written in order: everything up to `seq` is in the store now.
                Ok(m) => {
                    p.changes.retain(|(n, _)| *n > seq);
                    p.saved = m;
                }
                Err(e) => {
                    p.changes.retain(|(n, _)| *n != seq);
                    s.status.note = Some(format!("mark not saved: {}", sanitize_line(&e)));
                }
            }
            let shown = p.intended();
            if p.changes.is_empty() {
                s.review.pending.remove(key);
            }
            shown
        }
        None => match result {
            Ok(m) => m,
            Err(e) => {
                s.status.note = Some(format!("mark not saved: {}", sanitize_line(&e)));
                return false;
            }
        },
    };
    if s.review.pending.is_empty() {
        s.review.store_error = None;
        if s.review.quit != QuitRequest::None {
            // Everything is saved: the quit that waited for it goes ahead.
            quit_now(s, fx);
        }
    }
    if here {
        s.review.marks.insert(key.id.clone(), shown);
    }
    here
}

/// The store refused a write (it keeps the changes and retries after `retry_in`).
pub fn on_pending(s: &mut State, error: String, retry_in: Duration) {
    if s.review.pending.is_empty() {
        return; // answered meanwhile
    }
    let n = s.review.unsaved();
    let error = sanitize_line(&error);
    // Said once, not on every retry (the header keeps counting); a waiting quit is always told.
    if s.review.store_error.is_some() && s.review.quit == QuitRequest::None {
        s.review.store_error = Some(error);
        return;
    }
    // What to do first: the error (path and hint included) may not fit the line.
    s.status.note = Some(match s.review.quit {
        QuitRequest::None => format!(
            "⧗ {} not saved yet, retrying in {}s · {error}",
            marks_count(n),
            retry_in.as_secs_f64().ceil() as u64
        ),
        QuitRequest::Saving | QuitRequest::Warned => {
            s.review.quit = QuitRequest::Warned;
            let q = quit_key(s);
            format!(
                "⧗ {} not saved — {q} again to quit anyway (lost), or wait: the app quits once saved · {error}",
                marks_count(n)
            )
        }
    });
    s.review.store_error = Some(error);
}

/// The key the user quits with (the config may rebind it).
fn quit_key(s: &State) -> String {
    s.keymap
        .first(super::keymap::Action::Quit)
        .unwrap_or_else(|| "q".into())
}

fn marks_count(n: usize) -> String {
    if n == 1 { "1 mark".into() } else { format!("{n} marks") }
}

fn quit_now(s: &mut State, fx: &mut Vec<Effect>) {
    s.quit = true;
    fx.push(Effect::Terminal(TerminalEffect::Quit));
}

/// `q`: quits, unless marks are not saved yet: then they are saved first, and when the store
/// still refuses them the next `q` quits anyway.
pub fn quit(s: &mut State, fx: &mut Vec<Effect>) {
    let n = s.review.unsaved();
    if n == 0 || s.review.quit != QuitRequest::None {
        return quit_now(s, fx);
    }
    s.review.quit = QuitRequest::Saving;
    let q = quit_key(s);
    s.status.note = Some(format!(
        "saving {} before quitting… ({q} again quits anyway)",
        marks_count(n)
    ));
    fx.push(Effect::Io(IoEffect::Store(StoreRequest::FlushMarks)));
}

/// Any other key after a `q` that is waiting for the store: the user stays.
pub fn cancel_quit(s: &mut State) {
    s.review.quit = QuitRequest::None;
}

pub(super) fn selected_key(s: &mut State) -> Option<ConversationKey> {
    if let Some(why) = &s.review.unavailable {
        s.status.note = Some(format!("marks unavailable: {why}"));
        return None;
    }
    let id = s.list.selected().map(|r| r.id.to_string());
    match id {
        Some(id) => Some(origin(s).key(id)),
        None => {
            s.status.note = Some("no conversation selected".into());
            None
        }
    }
}

fn current(s: &State, id: &str) -> Marks {
    s.review.marks.get(id).cloned().unwrap_or_default()
}

/// `R` / `F`: sets `status`, or back to new when it is already set. Returns the status set
/// (`None`: nothing selected, or no store), for `jumps::advance_after_mark`.
pub fn toggle_status(s: &mut State, status: ReviewStatus, fx: &mut Vec<Effect>) -> Option<ReviewStatus> {
    let key = selected_key(s)?;
    let next = if current(s, &key.id).status == status {
        ReviewStatus::New
    } else {
        status
    };
    s.status.note = Some(format!("marked {}", next.label()));
    change(s, key, MarkChange::Status(next), fx);
    Some(next)
}

/// `!`: opens the reason picker.
pub fn open_flag_picker(s: &mut State) {
    if selected_key(s).is_some() {
        s.overlay = Overlay::FlagPicker { sel: 0 };
    }
}

/// A reason was chosen in the picker: flag, or unflag when already set.
pub fn toggle_flag(s: &mut State, reason: &str, fx: &mut Vec<Effect>) {
    let Some(key) = selected_key(s) else { return };
    let on = !current(s, &key.id).flags.contains(reason);
    s.status.note = Some(format!("{} {reason}", if on { "flagged" } else { "unflagged" }));
    change(s, key, MarkChange::ToggleFlag(reason.to_string()), fx);
}

/// `a`: a one-line input holding the current note.
pub fn edit_note(s: &mut State) {
    let Some(key) = selected_key(s) else { return };
    s.input = Some(Input {
        kind: InputKind::Note,
        text: current(s, &key.id).note,
    });
}

pub fn save_note(s: &mut State, text: &str, fx: &mut Vec<Effect>) {
    let Some(key) = selected_key(s) else { return };
    let note = text.trim().to_string();
    s.status.note = Some(if note.is_empty() {
        "note cleared".into()
    } else {
        "note saved".into()
    });
    change(s, key, MarkChange::Note(note), fx);
}

pub(super) fn change(s: &mut State, key: ConversationKey, change: MarkChange, fx: &mut Vec<Effect>) {
    // Shown as pending at once; saved once the store's answer confirms it.
    let before = current(s, &key.id);
    s.review.next_seq += 1;
    let seq = s.review.next_seq;
    let p = s.review.pending.entry(key.clone()).or_insert_with(|| PendingMarks {
        saved: before,
        changes: Vec::new(),
    });
    p.changes.push((seq, change.clone()));
    let shown = p.intended();
    s.review.marks.insert(key.id.clone(), shown);
    fx.push(Effect::Io(IoEffect::Store(StoreRequest::Change { key, change, seq })));
}

/// `x`: the selected conversation with its marks and saved scores as Markdown, written to
/// `<exports_dir>/<id>.md` and copied.
pub fn export(s: &mut State, conversation: Option<Arc<Conversation>>, fx: &mut Vec<Effect>) {
    let Some(c) = conversation else {
        s.status.note = Some("no transcript loaded to export".into());
        return;
    };
    let marks = current(s, &c.id);
    let url = s.studio.as_ref().map(|l| l.conversation_url(&c.id));
    let scores = s
        .scorecards
        .shown
        .get(&origin(s).key(c.id.as_str()))
        .map(Vec::as_slice)
        .unwrap_or_default();
    let md = crate::domain::markdown::render_scored(&c, Some(&marks), scores, url.as_deref());
    let path = s
        .review
        .exports_dir
        .join(crate::domain::file_name::safe_file_name(&c.id, "md"));
    s.status.note = Some(format!("exporting to {} …", path.display()));
    fx.push(Effect::Terminal(TerminalEffect::Copy(md.clone())));
    fx.push(Effect::Io(IoEffect::WriteExport { path, markdown: md }));
}

pub fn on_exported(s: &mut State, result: Result<PathBuf, String>) {
    s.status.note = Some(match result {
        Ok(p) if s.review.unavailable.is_some() => {
            format!(
                "exported {} without marks: the store is unavailable (copied, OSC 52)",
                p.display()
            )
        }
        Ok(p) => format!("exported {} (copied, OSC 52)", p.display()),
        Err(e) => format!("export failed: {}", sanitize_line(&e)),
    });
}

/// `✓` reviewed, `↻` needs follow-up, `⚑` flagged.
pub fn icons(m: &Marks) -> String {
    let mut t = String::new();
    match m.status {
        ReviewStatus::Reviewed => t.push('✓'),
        ReviewStatus::NeedsFollowUp => t.push('↻'),
        ReviewStatus::New => {}
    }
    if m.is_flagged() {
        t.push('⚑');
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_apply_to_marks() {
        use crate::domain::{Thumbs, TurnRating};
        let mut m = Marks::default();
        MarkChange::ToggleFlag("latency".into()).apply(&mut m);
        let up = TurnRating {
            thumbs: Thumbs::Up,
            reason: None,
            comment: "ok".into(),
        };
        MarkChange::RateTurn {
            turn: 2,
            rating: Some(up.clone()),
        }
        .apply(&mut m);
        assert_eq!(m.turns.get(&2), Some(&up));
        assert!(m.flags.contains("latency"));
        MarkChange::RateTurn { turn: 2, rating: None }.apply(&mut m);
        MarkChange::ToggleFlag("latency".into()).apply(&mut m);
        assert!(m.is_empty());
    }

    #[test]
    fn icons_show_status_and_flag() {
        let mut m = Marks::default();
        assert_eq!(icons(&m), "");
        m.status = ReviewStatus::Reviewed;
        m.flags.insert("latency".into());
        assert_eq!(icons(&m), "✓⚑");
        m.status = ReviewStatus::NeedsFollowUp;
        assert_eq!(icons(&m), "↻⚑");
    }
}
