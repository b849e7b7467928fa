//! Review marks in the TUI: status, flags and a note per conversation, kept in the local
//! store by a worker (`tui::store_worker`). `update` only asks for store work with
//! [`Effect::Store`] and folds the answers ([`Msg::Marks`], [`Msg::MarksSaved`]) into state.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use crate::api::{Conversation, ConversationPage};
use crate::sanitize::sanitize_line;
use crate::store::{
    ConversationKey, Filter, ListCursor, ListOrder, Marks, Origin, ReviewStatus, Scope, SearchQuery, TurnRating,
    markdown_with_notes,
};

use super::msg::{Effect, RequestId};
use super::state::{Input, InputKind, Overlay, State};

/// Reasons offered by `!` (stored as flag codes).
pub const FLAG_REASONS: [&str; 6] = [
    "wrong_info",
    "wrong_transcription",
    "missing_intent",
    "latency",
    "compliance",
    "other",
];

/// At most this many marks are kept in memory; older entries are reloaded on demand.
const MARKS_CAPACITY: usize = 2048;

/// Work for the store worker.
#[derive(Debug, Clone)]
pub enum StoreRequest {
    Cache {
        origin: Origin,
        conversations: Vec<Conversation>,
    },
    LoadMarks {
        origin: Origin,
        ids: Vec<String>,
    },
    Change {
        key: ConversationKey,
        change: MarkChange,
    },
    /// A page of the cached list, answered by [`Msg::CachedPage`](super::Msg::CachedPage).
    List {
        req: RequestId,
        scope: Scope,
        filter: Filter,
        order: ListOrder,
        after: Option<ListCursor>,
        limit: usize,
    },
    /// Conversations whose cached transcript matches, newest first, as one [`Msg::CachedPage`](super::Msg::CachedPage).
    Search {
        req: RequestId,
        query: SearchQuery,
        max: usize,
    },
    /// An API page under a filter: cache it all, answer [`Msg::Page`](super::Msg::Page) with the
    /// conversations the filter keeps (judged in SQL, review marks included).
    FilterPage {
        req: RequestId,
        origin: Origin,
        filter: Filter,
        page: ConversationPage,
    },
    /// The cached copy of one conversation, answered by [`Msg::CachedConversation`](super::Msg::CachedConversation).
    LoadConversation {
        req: RequestId,
        key: ConversationKey,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MarkChange {
    Status(ReviewStatus),
    ToggleFlag(String),
    Note(String),
    /// Sets (or with `None` clears) the rating of turn `turn`.
    RateTurn {
        turn: u32,
        rating: Option<TurnRating>,
    },
}

impl MarkChange {
    /// Applies the change to `m`: the optimistic copy here and the stored one in the worker.
    pub fn apply(self, m: &mut Marks) {
        match self {
            MarkChange::Status(st) => m.status = st,
            MarkChange::ToggleFlag(code) => {
                if !m.flags.remove(&code) {
                    m.flags.insert(code);
                }
            }
            MarkChange::Note(n) => m.note = n,
            MarkChange::RateTurn { turn, rating: Some(r) } => {
                m.turns.insert(turn, r);
            }
            MarkChange::RateTurn { turn, rating: None } => {
                m.turns.remove(&turn);
            }
        }
    }
}

/// Review state: the marks of loaded rows, by conversation id (for the current origin).
#[derive(Debug, Default)]
pub struct ReviewState {
    /// Why the store could not be opened; `None` when marks work.
    pub unavailable: Option<String>,
    pub marks: HashMap<String, Marks>,
    /// Ids whose marks were asked for (answered or not).
    pub requested: HashSet<String>,
    /// Where `x` writes Markdown exports.
    pub exports_dir: PathBuf,
}

impl ReviewState {
    pub fn get(&self, id: &str) -> Option<&Marks> {
        self.marks.get(id)
    }
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
    fx.push(Effect::Store(StoreRequest::Cache {
        origin: origin(s),
        conversations,
    }));
}

/// Forgets marks of another origin (after `e` or a reload).
pub fn on_reload(s: &mut State) {
    s.review.marks.clear();
    s.review.requested.clear();
}

/// Asks for the marks of the visible rows not asked for yet, in one batch.
pub fn load_visible(s: &mut State, fx: &mut Vec<Effect>) {
    if s.review.unavailable.is_some() {
        return;
    }
    if s.review.requested.len() > MARKS_CAPACITY {
        on_reload(s); // the visible rows are asked for again just below
    }
    let rows = s.panes().list_rows().max(1);
    let end = (s.list.offset + rows).min(s.list.visible_len());
    let ids: Vec<String> = (s.list.offset..end)
        .filter_map(|pos| s.list.row_at(pos))
        .filter(|r| !s.review.requested.contains(&*r.id))
        .map(|r| r.id.to_string())
        .collect();
    if ids.is_empty() {
        return;
    }
    s.review.requested.extend(ids.iter().cloned());
    fx.push(Effect::Store(StoreRequest::LoadMarks { origin: origin(s), ids }));
}

/// Marks arrived from the store (for `origin`).
pub fn on_marks(s: &mut State, from: &Origin, marks: Vec<(String, Marks)>) -> bool {
    if *from != origin(s) {
        return false; // for an environment the user has left
    }
    s.review.marks.extend(marks);
    true
}

/// A change was written (or failed).
pub fn on_saved(s: &mut State, key: &ConversationKey, result: Result<Marks, String>) -> bool {
    match result {
        Ok(m) if key.origin() == origin(s) => {
            s.review.marks.insert(key.id.clone(), m);
            true
        }
        Ok(_) => false,
        Err(e) => {
            s.status.note = Some(format!("marks not saved: {}", sanitize_line(&e)));
            false
        }
    }
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

/// `R` / `F`: sets `status`, or back to new when it is already set.
pub fn toggle_status(s: &mut State, status: ReviewStatus, fx: &mut Vec<Effect>) {
    let Some(key) = selected_key(s) else { return };
    let next = if current(s, &key.id).status == status {
        ReviewStatus::New
    } else {
        status
    };
    s.status.note = Some(format!("marked {}", next.label()));
    change(s, key, MarkChange::Status(next), fx);
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
    // Shown at once; the store's answer replaces it (or the note says it failed).
    let mut m = current(s, &key.id);
    change.clone().apply(&mut m);
    s.review.marks.insert(key.id.clone(), m);
    fx.push(Effect::Store(StoreRequest::Change { key, change }));
}

/// `x`: the selected conversation with its marks as Markdown, written to
/// `<exports_dir>/<id>.md` and copied.
pub fn export(s: &mut State, conversation: Option<Arc<Conversation>>, fx: &mut Vec<Effect>) {
    let Some(c) = conversation else {
        s.status.note = Some("no transcript loaded to export".into());
        return;
    };
    let marks = current(s, &c.id);
    let md = markdown_with_notes(&c, &marks);
    let path = s.review.exports_dir.join(format!("{}.md", file_safe(&c.id)));
    s.status.note = Some(format!("exporting to {} …", path.display()));
    fx.push(Effect::Copy(md.clone()));
    fx.push(Effect::WriteExport { path, markdown: md });
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

/// An id from the network as a file name: anything but `[A-Za-z0-9._-]` becomes `_`.
pub fn file_safe(id: &str) -> String {
    let s: String = id
        .chars()
        .take(120)
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() { "conversation".into() } else { s }
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
    fn ids_become_safe_file_names() {
        assert_eq!(file_safe("CA7f-3_e"), "CA7f-3_e");
        assert_eq!(file_safe("../../etc/passwd"), "______etc_passwd");
        assert_eq!(file_safe(""), "conversation");
    }

    #[test]
    fn changes_apply_to_marks() {
        use crate::store::{Thumbs, TurnRating};
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
