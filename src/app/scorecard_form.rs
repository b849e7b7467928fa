//! The scorecard form (`Q`) on the selected call: one key per answer, a comment and a cited
//! turn per question, the running score; Enter saves a new record through the store worker
//! ([`StoreRequest::SaveScore`]), which answers [`Msg::ScoreSaved`](super::Msg::ScoreSaved).
//! Opening it asks for the call's saved scores ([`StoreRequest::LoadScores`]) so the
//! reviewer's last save of the form is filled in.

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::domain::ConversationKey;
use crate::domain::scorecard::{self, Answer, Kind, Question, Scorecard};
use crate::domain::scores::{ScoreRecord, current, score_text};
use crate::sanitize::sanitize_line;

use super::keymap::Action;
use super::msg::StoreRequest;
use super::msg::{Effect, IoEffect};
use super::review;
use super::state::State;
use super::turns;

/// Longest comment typed in the form, in characters.
pub const COMMENT_MAX: usize = 500;

/// The form's key hints, most useful first (its own keys are fixed: they are the answers).
const HINTS: [&str; 9] = [
    "y/n/a 1-5 answer",
    "enter save",
    "esc close",
    "j/k question",
    "c comment",
    "t cite turn",
    "( ) turn",
    "backspace clear",
    "tab next form",
];

/// As many hints as fit in `cols` columns.
pub fn hints(cols: usize) -> String {
    let mut used = 1;
    let mut parts = Vec::new();
    for h in HINTS {
        if used + h.len() + 3 > cols {
            break;
        }
        used += h.len() + 3;
        parts.push(h);
    }
    format!(" {}", parts.join(" · "))
}

pub use super::scorecard_state::{Form, ScorecardForms};

fn cards(s: &State) -> Vec<Scorecard> {
    if s.scorecards.cards.is_empty() {
        // The built-in forms are embedded and unit-tested.
        scorecard::all(&toml::Table::new()).unwrap_or_default()
    } else {
        s.scorecards.cards.clone()
    }
}

/// `Q`: opens the first form on the selected call.
pub fn open(s: &mut State, fx: &mut Vec<Effect>) {
    let Some(key) = review::selected_key(s) else { return };
    // On a claimed queue item, the queue's own copy of its form: saving it finishes the claim.
    if let Some(card) = super::queue::card_for(s, &key.id) {
        return open_with(s, key, card, fx);
    }
    let Some(card) = cards(s).into_iter().next() else {
        s.status.note = Some("no scorecard: add one under [scorecards] in config.toml".into());
        return;
    };
    open_with(s, key, card, fx);
}

fn open_with(s: &mut State, key: ConversationKey, card: Scorecard, fx: &mut Vec<Effect>) {
    s.status.note = Some(format!("scorecard {} · {}", card.name, sanitize_line(&card.title)));
    s.scorecards.form = Some(Form {
        key: key.clone(),
        card,
        sel: 0,
        answers: BTreeMap::new(),
        notes: BTreeMap::new(),
        editing: None,
        dirty: false,
        confirm_close: false,
        saving: false,
        loading: true,
        saved: Vec::new(),
    });
    fx.push(Effect::Io(IoEffect::Store(StoreRequest::LoadScores { key })));
}

/// The saved scores of `key` arrived: the reviewer's last save fills an untouched form.
pub fn on_scores(s: &mut State, key: &ConversationKey, result: Result<Vec<ScoreRecord>, String>) {
    let reviewer = s.scorecards.reviewer.clone();
    let Some(form) = s.scorecards.form.as_mut().filter(|f| f.key == *key) else {
        return;
    };
    form.loading = false;
    let records = match result {
        Ok(r) => r,
        Err(e) => {
            s.status.note = Some(format!("saved scores unavailable: {}", sanitize_line(&e)));
            return;
        }
    };
    form.saved = current(&records)
        .into_iter()
        .filter(|r| r.scorecard == form.card.name)
        .cloned()
        .collect();
    if form.dirty {
        return;
    }
    if let Some(mine) = form.saved.iter().find(|r| r.reviewer == reviewer) {
        let (answers, notes) = mine.answers_for(&form.card);
        form.answers = answers;
        form.notes = notes;
    }
}

/// The store wrote (or refused) the record Enter sent.
pub fn on_saved(s: &mut State, key: &ConversationKey, result: Result<ScoreRecord, String>) {
    let Some(form) = s.scorecards.form.as_mut().filter(|f| f.key == *key && f.saving) else {
        return;
    };
    match result {
        Ok(r) => {
            s.status.note = Some(format!(
                "score saved: {} · {} · by {}",
                score_text(r.score, r.auto_failed),
                r.scorecard,
                sanitize_line(&r.reviewer)
            ));
            s.scorecards.form = None;
        }
        Err(e) => {
            form.saving = false;
            s.status.note = Some(format!("score not saved: {}", sanitize_line(&e)));
        }
    }
}

/// Takes every key while the form is open (true); false when it is closed.
pub fn on_key(s: &mut State, k: &KeyEvent, fx: &mut Vec<Effect>) -> bool {
    let Some(form) = s.scorecards.form.as_mut() else {
        return false;
    };
    if form.saving {
        return true;
    }
    if let Some(text) = form.editing.as_mut() {
        match k.code {
            KeyCode::Esc => form.editing = None,
            KeyCode::Enter => {
                let text = text.trim().to_string();
                form.editing = None;
                if let Some(q) = form.card.questions.get(form.sel) {
                    let id = q.id.clone();
                    let turn = form.notes.get(&id).and_then(|n| n.1);
                    set_note(form, id, text, turn);
                }
            }
            KeyCode::Backspace => {
                text.pop();
            }
            KeyCode::Char(c) if !k.modifiers.contains(KeyModifiers::CONTROL) && text.chars().count() < COMMENT_MAX => {
                text.push(c)
            }
            _ => {}
        }
        return true;
    }
    let was_confirming = std::mem::take(&mut form.confirm_close);
    let action = s.keymap.action(k);
    match (k.code, action) {
        (KeyCode::Esc, _) => {
            if form.dirty && !was_confirming {
                form.confirm_close = true;
                s.status.note = Some("unsaved answers — esc again discards them, enter saves".into());
            } else {
                s.scorecards.form = None;
                s.status.note = Some("scorecard closed, nothing saved".into());
            }
        }
        (KeyCode::Enter, _) => save(s, fx),
        (KeyCode::Down, _) | (_, Some(Action::Down)) => {
            form.sel = (form.sel + 1).min(form.card.questions.len().saturating_sub(1))
        }
        (KeyCode::Up, _) | (_, Some(Action::Up)) => form.sel = form.sel.saturating_sub(1),
        (KeyCode::Tab, _) => next_card(s, fx),
        (KeyCode::Backspace | KeyCode::Delete, _) => {
            if let Some(id) = form.question().map(|q| q.id.clone())
                && form.answers.remove(&id).is_some()
            {
                form.dirty = true;
            }
        }
        (KeyCode::Char('c'), _) => {
            let id = form.question().map(|q| q.id.clone()).unwrap_or_default();
            form.editing = Some(form.notes.get(&id).map(|n| n.0.clone()).unwrap_or_default());
        }
        (KeyCode::Char('t'), _) => cite(s),
        (_, Some(Action::Turn(m))) => turns::go(s, m),
        (KeyCode::Char(c), _) => {
            if let Some(q) = form.question()
                && let Some(a) = answer_for(q, c)
            {
                let id = q.id.clone();
                form.answers.insert(id, a);
                form.dirty = true;
                // On to the next question, as a paper form is filled in.
                form.sel = (form.sel + 1).min(form.card.questions.len().saturating_sub(1));
            }
        }
        _ => {}
    }
    true
}

fn set_note(form: &mut Form, id: String, comment: String, turn: Option<u32>) {
    let before = form.notes.get(&id).cloned().unwrap_or_default();
    if comment.is_empty() && turn.is_none() {
        form.notes.remove(&id);
    } else {
        form.notes.insert(id, (comment.clone(), turn));
    }
    if before != (comment, turn) {
        form.dirty = true;
    }
}

/// The answer key `c` gives on `q`: y/n for yes/no, a for n.a. where allowed, 1–5 on a scale,
/// 1–9 for a choice (its place in the list).
pub fn answer_for(q: &Question, c: char) -> Option<Answer> {
    match (q.kind, c) {
        (_, 'a') if q.na_allowed() => Some(Answer::Na),
        (Kind::YesNo, 'y') => Some(Answer::Yes),
        (Kind::YesNo, 'n') => Some(Answer::No),
        (Kind::Scale, '1'..='5') => c.to_digit(10).map(|d| Answer::Scale(d as u8)),
        (Kind::Choice, '1'..='9') => {
            let i = c.to_digit(10)? as usize - 1;
            q.choices.get(i).map(|ch| Answer::Choice(ch.label.clone()))
        }
        _ => None,
    }
}

/// The keys that answer `q`, for the form and for a key that does not.
pub fn answer_keys(q: &Question) -> String {
    let na = if q.na_allowed() { " · a n.a." } else { "" };
    match q.kind {
        Kind::YesNo => format!("y yes · n no{na}"),
        Kind::Scale => format!("1–5{na}"),
        Kind::Choice => {
            let list: Vec<String> = q
                .choices
                .iter()
                .enumerate()
                .map(|(i, c)| format!("{} {}", i + 1, c.label))
                .collect();
            format!("{}{na}", list.join(" · "))
        }
    }
}

/// `t`: cites the transcript's current turn for the highlighted question (again: uncites it).
fn cite(s: &mut State) {
    let turn = super::rating::current_turn(s);
    let Some(form) = s.scorecards.form.as_mut() else { return };
    let Some(id) = form.question().map(|q| q.id.clone()) else {
        return;
    };
    let Some(turn) = turn else {
        s.status.note = Some("no transcript shown to cite — wait for it, or ( ) to pick a turn".into());
        return;
    };
    let (comment, cited) = form.notes.get(&id).cloned().unwrap_or_default();
    let turn = turn as u32;
    let next = (cited != Some(turn)).then_some(turn);
    set_note(form, id.clone(), comment, next);
    s.status.note = Some(match next {
        Some(t) => format!("{id}: turn {} cited as evidence", t + 1),
        None => format!("{id}: turn {} no longer cited", turn + 1),
    });
}

/// Tab: the next form, while nothing is answered.
fn next_card(s: &mut State, fx: &mut Vec<Effect>) {
    let all = cards(s);
    let Some(form) = s.scorecards.form.as_ref() else { return };
    if all.len() < 2 {
        s.status.note = Some("only one scorecard (add more under [scorecards] in config.toml)".into());
        return;
    }
    if form.dirty {
        s.status.note = Some("answers given — enter saves them or esc discards before another form".into());
        return;
    }
    let i = all
        .iter()
        .position(|c| c.name == form.card.name)
        .map_or(0, |i| (i + 1) % all.len());
    let key = form.key.clone();
    if let Some(card) = all.into_iter().nth(i) {
        open_with(s, key, card, fx);
    }
}

/// Enter: refuses while required questions are unanswered, else sends a new record.
fn save(s: &mut State, fx: &mut Vec<Effect>) {
    let reviewer = s.scorecards.reviewer.clone();
    let at_ms = s.now.timestamp_millis();
    let Some(form) = s.scorecards.form.as_mut() else { return };
    let outcome = form.outcome();
    if form.answers.is_empty() && form.notes.is_empty() {
        s.status.note = Some("nothing answered yet — y/n/a or a number answers the question".into());
        return;
    }
    if let Some(first) = outcome.missing.first() {
        if let Some(i) = form.card.questions.iter().position(|q| q.id == *first) {
            form.sel = i;
        }
        s.status.note = Some(format!("not saved: required {} unanswered", outcome.missing.join(", ")));
        return;
    }
    if reviewer.is_empty() {
        s.status.note = Some("not saved: no reviewer name — set reviewer in config.toml or CALLSCOPE_REVIEWER".into());
        return;
    }
    let (record, _) = ScoreRecord::of(&form.card, &reviewer, at_ms, &form.answers, &form.notes);
    form.saving = true;
    s.status.note = Some("saving score…".into());
    let (key, answers) = (form.key.clone(), form.answers.clone());
    let queue_card = super::queue::card_for(s, &key.id).is_some_and(|c| c.name == record.scorecard);
    fx.push(Effect::Io(IoEffect::Store(StoreRequest::SaveScore {
        key: key.clone(),
        record,
    })));
    if queue_card {
        super::queue::finish(s, &key.id, answers, fx);
    }
}

/// Why a key changed nothing while the form is open (`None`: the form is closed).
pub fn why_no_effect(s: &State, k: &KeyEvent) -> Option<&'static str> {
    let form = s.scorecards.form.as_ref()?;
    if form.saving {
        return Some("the score is being saved — wait for the store");
    }
    if form.editing.is_some() {
        return Some(match k.code {
            KeyCode::Backspace => "nothing left to delete",
            KeyCode::Char(_) => "a comment holds at most 500 characters",
            _ => "not used while typing a comment — enter keeps it, esc drops the edit",
        });
    }
    let action = s.keymap.action(k);
    Some(match (k.code, action) {
        (KeyCode::Down, _) | (_, Some(Action::Down)) => "already at the last question",
        (KeyCode::Up, _) | (_, Some(Action::Up)) => "already at the first question",
        (KeyCode::Backspace | KeyCode::Delete, _) => "this question has no answer to clear",
        (KeyCode::Char(c), _) if form.question().is_some_and(|q| answer_for(q, c).is_some()) => {
            "that answer is already given"
        }
        (_, Some(Action::Turn(_))) => "no further turn of that kind",
        (KeyCode::Char(c), _) if c.is_ascii_alphanumeric() => match form.question().map(|q| q.kind) {
            Some(Kind::YesNo) => "not an answer here — y yes, n no, a n.a.",
            Some(Kind::Scale) => "not an answer here — 1 to 5 on this scale",
            Some(Kind::Choice) => "not an answer here — the number of a choice",
            None => "not a scorecard key",
        },
        _ => "not a scorecard key — j/k question, answer keys, c comment, t cite, enter save, esc close",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_takes_its_own_keys() {
        let card = &scorecard::all(&toml::Table::new()).unwrap()[0];
        let q = |id: &str| card.question(id).unwrap();
        assert_eq!(answer_for(q("greeting"), 'y'), Some(Answer::Yes));
        assert_eq!(answer_for(q("greeting"), 'a'), Some(Answer::Na));
        assert_eq!(answer_for(q("greeting"), '3'), None);
        assert_eq!(answer_for(q("understood_request"), '4'), Some(Answer::Scale(4)));
        assert_eq!(
            answer_for(q("understood_request"), 'a'),
            None,
            "n.a. not allowed on a scale"
        );
        assert_eq!(answer_for(q("understood_request"), '6'), None);
        assert_eq!(answer_for(q("resolution"), '2'), Some(Answer::Choice("partly".into())));
        assert_eq!(answer_for(q("resolution"), '4'), None);
        assert_eq!(answer_keys(q("resolution")), "1 resolved · 2 partly · 3 not_resolved");
    }
}
