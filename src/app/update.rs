//! `update(&mut State, Msg) -> Vec<Effect>`: the whole behaviour of the app, without I/O.
//!
//! Only a dispatcher: each message goes to the handler of its feature, then the steps that
//! follow every message run (a jump still looking, playback of a call left, marks to load).

use super::msg::{Effect, Msg};
use super::state::State;
use super::{
    actions, detail, history, jumps, list, live, mouse, pages, player, queue, review, scorecard_form, stats, studio,
};

/// Loads the first page. Call once after creating the state.
pub fn start(s: &mut State) -> Vec<Effect> {
    let mut fx = Vec::new();
    list::reload(s, &mut fx);
    live::start(s, &mut fx);
    fx
}

/// What handling a message may have changed, decided per message in [`step`]'s match (so a new
/// message has to say): whether the screen may show something new, and whether the list may
/// have moved (then the marks of the rows now visible are asked for).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct After {
    screen: bool,
    list: bool,
}

const SCREEN_AND_LIST: After = After {
    screen: true,
    list: true,
};
/// A timer or an audio/transcript update: drawn, but the list stays where it is.
const SCREEN_ONLY: After = After {
    screen: true,
    list: false,
};
/// Work started that shows only when its answer arrives (a poll's request).
const OFF_SCREEN: After = After {
    screen: false,
    list: true,
};
/// The clock moved: the next frame that draws for another reason shows it.
const QUIET: After = After {
    screen: false,
    list: false,
};

/// One message handled: the effects to run, and whether the screen may have changed (the event
/// loop draws only then).
#[derive(Debug)]
pub struct Step {
    pub effects: Vec<Effect>,
    pub redraw: bool,
}

/// [`step`] for callers that draw anyway (tests, the key path).
pub fn update(s: &mut State, msg: Msg) -> Vec<Effect> {
    step(s, msg).effects
}

pub fn step(s: &mut State, msg: Msg) -> Step {
    let mut fx = Vec::new();
    let after = match msg {
        Msg::Tick(now) => {
            s.now = now;
            QUIET
        }
        Msg::Resize(w, h) => {
            s.width = w;
            s.height = h;
            list::relayout(s, &mut fx);
            SCREEN_AND_LIST
        }
        Msg::Key(k) => {
            actions::on_key(s, k, &mut fx);
            SCREEN_AND_LIST
        }
        Msg::Mouse(m) => {
            mouse::on_mouse(s, m, &mut fx);
            SCREEN_AND_LIST
        }
        Msg::Page { req, result } => {
            pages::on_page(s, req, result, &mut fx);
            SCREEN_AND_LIST
        }
        Msg::Conversation { req, result } => {
            detail::on_conversation(s, req, result, &mut fx);
            SCREEN_AND_LIST
        }
        Msg::DetailDue { req } => {
            detail::on_detail_due(s, req, &mut fx);
            SCREEN_ONLY
        }
        Msg::Retrying(n) => {
            pages::on_retrying(s, &n);
            SCREEN_AND_LIST
        }
        Msg::RetryPage { generation } => {
            pages::on_retry_page(s, generation, &mut fx);
            SCREEN_AND_LIST
        }
        Msg::CachedPage { req, result } => {
            pages::on_cached_page(s, req, result, &mut fx);
            SCREEN_AND_LIST
        }
        Msg::CachedConversation { req, conversation } => {
            detail::on_cached_conversation(s, req, conversation, &mut fx);
            SCREEN_AND_LIST
        }
        Msg::Audio(ev) => {
            player::on_audio(s, ev);
            SCREEN_ONLY
        }
        Msg::SaveProgress { id, bytes, total } => {
            player::on_save_progress(s, &id, bytes, total);
            SCREEN_ONLY
        }
        Msg::SaveDone { id, result } => {
            player::on_save_done(s, &id, result);
            SCREEN_AND_LIST
        }
        Msg::Live(ev) => {
            live::on_event(s, ev, &mut fx);
            SCREEN_AND_LIST
        }
        Msg::LiveConversation { req, result } => {
            live::on_conversation(s, req, result, &mut fx);
            SCREEN_AND_LIST
        }
        Msg::PollDue => {
            live::on_poll_due(s, &mut fx);
            OFF_SCREEN
        }
        Msg::PollPage { req, result } => {
            if !stats::on_fetch_page(s, req, &result, &mut fx) {
                live::on_poll_page(s, req, result, &mut fx)
            }
            SCREEN_AND_LIST
        }
        Msg::Marks { origin, marks } => {
            detail::on_marks(s, &origin, marks);
            SCREEN_AND_LIST
        }
        Msg::MarksSaved { key, seq, result } => {
            detail::on_marks_saved(s, &key, seq, result, &mut fx);
            SCREEN_AND_LIST
        }
        Msg::TeamChanged => {
            super::team_sync::on_changed(&mut fx);
            QUIET
        }
        Msg::QueuesChanged { queues } => {
            super::queue_live::on_changed(s, queues.as_deref(), &mut fx);
            QUIET
        }
        Msg::TeamSynced {
            touched,
            unsynced,
            behind,
            error,
        } => {
            let sync = super::team_state::TeamSync {
                unsynced,
                behind,
                error,
            };
            super::team_sync::on_synced(s, touched, sync, &mut fx);
            SCREEN_ONLY
        }
        Msg::MarksPending { error, retry_in } => {
            detail::on_marks_pending(s, error, retry_in);
            SCREEN_AND_LIST
        }
        Msg::Exported { result } => {
            review::on_exported(s, result);
            SCREEN_AND_LIST
        }
        Msg::MarksPushed { key, result } => {
            studio::on_pushed(s, &key, result);
            SCREEN_AND_LIST
        }
        Msg::Stats { req, result } => {
            stats::on_result(s, req, result, &mut fx);
            SCREEN_AND_LIST
        }
        Msg::History { key, result } => {
            history::on_history(s, &key, result);
            SCREEN_AND_LIST
        }
        Msg::Authors { origin, authors } => {
            detail::on_authors(s, &origin, authors);
            SCREEN_AND_LIST
        }
        Msg::Scores { key, result } => {
            detail::on_scores(s, &key, &result);
            scorecard_form::on_scores(s, &key, result);
            SCREEN_AND_LIST
        }
        Msg::ScoreSaved { key, result } => {
            if let Ok(r) = &result {
                detail::on_score_saved(s, &key, r);
            }
            scorecard_form::on_saved(s, &key, result);
            SCREEN_AND_LIST
        }
        Msg::Team(ev) => {
            queue::on_event(s, ev, &mut fx);
            SCREEN_AND_LIST
        }
    };
    queue::after_step(s, &mut fx);
    jumps::go_on(s, &mut fx);
    player::stop_if_elsewhere(s, &mut fx);
    if after.list {
        review::load_visible(s, &mut fx);
        review::count_progress(s);
    }
    Step {
        effects: fx,
        redraw: after.screen,
    }
}
