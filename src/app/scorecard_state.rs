//! The scorecard forms' state: the forms, the reviewer and the one being filled in (handled
//! in `app::scorecard_form`), and the shown calls' saved scores (`app::detail`).

use std::collections::{BTreeMap, HashMap};

use crate::domain::ConversationKey;
use crate::domain::scorecard::{Answer, Outcome, Question, Scorecard};
use crate::domain::scores::{Notes, ScoreRecord};

/// The forms the reviewer can open, who they are, and the open form.
#[derive(Debug, Default)]
pub struct ScorecardForms {
    /// The config's forms (built-in first, `scorecard::all`); empty: the built-in ones.
    pub cards: Vec<Scorecard>,
    /// Who saves the scores (`team::reviewer`); empty: saving is refused with what to set.
    pub reviewer: String,
    pub form: Option<Form>,
    /// The current saves of the calls the detail pane showed, for its `qa` line and `x`'s
    /// Markdown (at most [`SHOWN_CAPACITY`] calls; reloaded on demand).
    pub shown: HashMap<ConversationKey, Vec<ScoreRecord>>,
}

/// Calls whose scores are kept for the detail pane.
pub const SHOWN_CAPACITY: usize = 256;

/// One form being filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct Form {
    pub key: ConversationKey,
    pub card: Scorecard,
    /// The highlighted question.
    pub sel: usize,
    pub answers: BTreeMap<String, Answer>,
    /// Per question: comment and cited turn.
    pub notes: Notes,
    /// The comment being typed for the highlighted question.
    pub editing: Option<String>,
    /// Something changed since it opened (or was filled from the last save).
    pub dirty: bool,
    /// Esc was pressed once with changes: the next esc discards them.
    pub confirm_close: bool,
    /// Enter sent the record; waiting for the store.
    pub saving: bool,
    /// The saved scores are still being read.
    pub loading: bool,
    /// The current saves of this form by the reviewer and the others (from the store).
    pub saved: Vec<ScoreRecord>,
}

impl Form {
    pub fn outcome(&self) -> Outcome {
        self.card.score(&self.answers)
    }

    pub fn question(&self) -> Option<&Question> {
        self.card.questions.get(self.sel)
    }
}
