//! `update(&mut State, Msg) -> Vec<Effect>`: the whole behaviour of the app, without I/O.
//!
//! Only a dispatcher: each message goes to the handler of its feature, then the steps that
//! follow every message run (a jump still looking, playback of a call left, marks to load).

use super::msg::{Effect, Msg};
use super::state::State;
use super::{actions, detail, history, jumps, list, live, mouse, pages, player, review, scorecard_form, stats, studio};

/// Loads the first page. Call once after creating the state.
pub fn start(s: &mut State) -> Vec<Effect> {
    let mut fx = Vec::new();
    list::reload(s, &mut fx);
    live::start(s, &mut fx);
    fx
}

enum MsgKind {
    Quiet,
    Other,
}

pub fn update(s: &mut State, msg: Msg) -> Vec<Effect> {
    let mut fx = Vec::new();
    // Messages that cannot move the list need no marks loaded.
    let msg_kind = if matches!(
        msg,
        Msg::Tick(_) | Msg::DetailDue { .. } | Msg::Audio(_) | Msg::SaveProgress { .. }
    ) {
        MsgKind::Quiet
    } else {
        MsgKind::Other
    };
    match msg {
        Msg::Tick(now) => s.now = now,
        Msg::Resize(w, h) => {
            s.width = w;
            s.height = h;
            list::relayout(s, &mut fx);
        }
        Msg::Key(k) => actions::on_key(s, k, &mut fx),
        Msg::Mouse(m) => mouse::on_mouse(s, m, &mut fx),
        Msg::Page { req, result } => pages::on_page(s, req, result, &mut fx),
        Msg::Conversation { req, result } => detail::on_conversation(s, req, result, &mut fx),
        Msg::DetailDue { req } => detail::on_detail_due(s, req, &mut fx),
        Msg::Retrying(n) => pages::on_retrying(s, &n),
        Msg::RetryPage { generation } => pages::on_retry_page(s, generation, &mut fx),
        Msg::CachedPage { req, result } => pages::on_cached_page(s, req, result, &mut fx),
        Msg::CachedConversation { req, conversation } => detail::on_cached_conversation(s, req, conversation, &mut fx),
        Msg::Audio(ev) => player::on_audio(s, ev),
        Msg::SaveProgress { id, bytes, total } => player::on_save_progress(s, &id, bytes, total),
        Msg::SaveDone { id, result } => player::on_save_done(s, &id, result),
        Msg::Live(ev) => live::on_event(s, ev, &mut fx),
        Msg::LiveConversation { req, result } => live::on_conversation(s, req, result, &mut fx),
        Msg::PollDue => live::on_poll_due(s, &mut fx),
        Msg::PollPage { req, result } => {
            if !stats::on_fetch_page(s, req, &result, &mut fx) {
                live::on_poll_page(s, req, result, &mut fx)
            }
        }
        Msg::Marks { origin, marks } => detail::on_marks(s, &origin, marks),
        Msg::MarksSaved { key, seq, result } => detail::on_marks_saved(s, &key, seq, result, &mut fx),
        Msg::MarksPending { error, retry_in } => detail::on_marks_pending(s, error, retry_in),
        Msg::Exported { result } => review::on_exported(s, result),
        Msg::MarksPushed { key, result } => studio::on_pushed(s, &key, result),
        Msg::Stats { req, result } => stats::on_result(s, req, result, &mut fx),
        Msg::History { key, result } => history::on_history(s, &key, result),
        Msg::Authors { origin, authors } => detail::on_authors(s, &origin, authors),
        Msg::Scores { key, result } => scorecard_form::on_scores(s, &key, result),
        Msg::ScoreSaved { key, result } => scorecard_form::on_saved(s, &key, result),
    }
    jumps::go_on(s, &mut fx);
    player::stop_if_elsewhere(s, &mut fx);
    if !matches!(msg_kind, MsgKind::Quiet) {
        review::load_visible(s, &mut fx);
        review::count_progress(s);
    }
    fx
}
