//! Keys outside an input line or overlay: the keymap turns them into [`Action`]s and each
//! action goes to the feature that handles it.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::config::CLIENT_ENVS;
use crate::domain::ReviewStatus;

use super::detail::toggle;
use super::detail_view::{clamp_detail_scroll, detail_max_scroll, detail_search_text};
use super::input;
use super::jumps;
use super::keymap::Action;
use super::list::{reload, select, set_list_search};
use super::msg::{Effect, TerminalEffect};
use super::overlays;
use super::player;
use super::rating;
use super::review;
use super::search::step_match;
use super::state::{Input, InputKind, ListSearch, Overlay, Pane, State, TimeWindow};
use super::stats;
use super::studio;
use super::transcript;
use super::turns;

pub(super) fn on_key(s: &mut State, k: KeyEvent, fx: &mut Vec<Effect>) {
    if k.kind == KeyEventKind::Release {
        return;
    }
    s.status.note = None;
    if s.review.quit != review::QuitRequest::None && s.keymap.action(&k) != Some(Action::Quit) {
        review::cancel_quit(s);
    }
    if k.code == KeyCode::Char('z') && k.modifiers.contains(KeyModifiers::CONTROL) {
        fx.push(Effect::Terminal(TerminalEffect::Suspend));
        return;
    }
    if s.input.is_some() {
        input::on_input_key(s, k, fx);
        return;
    }
    if k.code == KeyCode::Esc && s.list.seek.is_some() && s.overlay == Overlay::None {
        jumps::cancel(s);
        return;
    }
    match s.overlay {
        Overlay::Help { .. } => return overlays::on_help_key(s, k),
        Overlay::WindowPicker { .. } => return overlays::on_window_picker_key(s, k, fx),
        Overlay::FlagPicker { .. } => return overlays::on_flag_picker_key(s, k, fx),
        Overlay::RatePicker { .. } => return rating::on_picker_key(s, k, fx),
        Overlay::ViewPicker { .. } => return overlays::on_view_picker_key(s, k, fx),
        Overlay::History { .. } => return super::history::on_key(s, k, fx),
        Overlay::QueuePicker { .. } => return super::queue::on_picker_key(s, k, fx),
        Overlay::None => {}
    }
    // The scorecard form takes every key while open.
    if super::scorecard_form::on_key(s, &k, fx) {
        return;
    }
    if stats::on_key(s, &k, fx) {
        return;
    }
    if let Some(action) = s.keymap.action(&k) {
        do_action(s, action, fx);
    }
}

fn move_by(s: &mut State, delta: isize, fx: &mut Vec<Effect>) {
    match s.focus {
        Pane::List => {
            let pos = s.list.sel.saturating_add_signed(delta);
            select(s, pos, false, fx);
        }
        Pane::Detail => {
            s.detail.scroll = s.detail.scroll.saturating_add_signed(delta);
            clamp_detail_scroll(s);
        }
    }
}

fn screen(s: &State) -> isize {
    let p = s.panes();
    let rows = match s.focus {
        Pane::List => p.list_rows(),
        Pane::Detail => p.detail_rows(),
    };
    rows.max(1) as isize
}

fn do_action(s: &mut State, action: Action, fx: &mut Vec<Effect>) {
    match action {
        Action::Player(a) => player::on_action(s, a, fx),
        Action::Quit => review::quit(s, fx),
        Action::Help => s.overlay = Overlay::Help { scroll: 0 },
        Action::Stats(a) => stats::on_action(s, a, fx),
        Action::Down => move_by(s, 1, fx),
        Action::Up => move_by(s, -1, fx),
        Action::PageDown => move_by(s, screen(s), fx),
        Action::PageUp => move_by(s, -screen(s), fx),
        Action::HalfDown => move_by(s, (screen(s) / 2).max(1), fx),
        Action::HalfUp => move_by(s, -(screen(s) / 2).max(1), fx),
        Action::Top => match s.focus {
            Pane::List => select(s, 0, false, fx),
            Pane::Detail => s.detail.scroll = 0,
        },
        Action::Bottom => match s.focus {
            Pane::List => select(s, usize::MAX, false, fx),
            Pane::Detail => s.detail.scroll = detail_max_scroll(s),
        },
        Action::SwitchPane => {
            s.focus = match s.focus {
                Pane::List => Pane::Detail,
                Pane::Detail => Pane::List,
            }
        }
        // In the transcript, Enter plays from the turn at the top of the view (help says so).
        Action::Open if player::enter_plays(s) => player::play_from_top_turn(s, fx),
        Action::Open => s.focus = Pane::Detail,
        Action::Back => back(s, fx),
        Action::Search => open_search(s),
        Action::EditFilter => edit_filter(s),
        Action::Views => open_view_picker(s),
        Action::NextMatch => step_match(s, true, fx),
        Action::PrevMatch => step_match(s, false, fx),
        Action::CycleEnv => cycle_env(s, fx),
        Action::Window => open_window_picker(s),
        Action::Channel => cycle_channel(s, fx),
        Action::Reload => reload(s, fx),
        Action::ToggleOrder => toggle_order(s, fx),
        Action::CopyId => copy_id(s, fx),
        Action::CopyTranscript => copy_transcript(s, fx),
        Action::MarkReviewed => {
            if let Some(next) = review::toggle_status(s, ReviewStatus::Reviewed, fx) {
                if next == ReviewStatus::Reviewed {
                    super::queue::on_marked_reviewed(s, fx);
                }
                jumps::advance_after_mark(s, next, fx);
            }
        }
        Action::MarkFollowUp => {
            review::toggle_status(s, ReviewStatus::NeedsFollowUp, fx);
        }
        Action::Flag => review::open_flag_picker(s),
        Action::EditNote => review::edit_note(s),
        Action::RateTurn => rating::open_picker(s),
        Action::Scorecard => super::scorecard_form::open(s, fx),
        Action::Queues => super::queue::open_picker(s, fx),
        Action::QueueNext => super::queue::next(s, fx),
        Action::MarkHistory => super::history::open(s, fx),
        Action::PushMarks => studio::push(s, fx),
        Action::CopyStudioLink => studio::copy_link(s, fx),
        Action::Jump(a) => jumps::on_action(s, a, fx),
        Action::ExportMarkdown => export_selected(s, fx),
        Action::ToggleIntents => toggle(s, |t| &mut t.intents, "intents and entities"),
        Action::ToggleTranslation => toggle(s, |t| &mut t.translation, "translations"),
        Action::ToggleFunctions => toggle(s, |t| &mut t.functions, "function calls"),
        Action::ToggleAsr => toggle(s, |t| &mut t.asr, "ASR corrections, n-best and topics"),
        Action::Turn(m) => turns::go(s, m),
        Action::ToggleMouse => toggle_mouse(s, fx),
    }
}

/// `esc`: the transcript back to the list, a search result list back to the list, a drill-down
/// back to the stats view, or else the error line cleared.
fn back(s: &mut State, fx: &mut Vec<Effect>) {
    if s.focus == Pane::Detail {
        s.focus = Pane::List;
    } else if s.search.is_some() {
        set_list_search(s, None, fx);
    } else if stats::on_back(s, fx) {
    } else {
        s.status.error = None;
    }
}

/// `/`: the search input, the list's or the transcript's, holding the current words.
fn open_search(s: &mut State) {
    let (kind, text) = match s.focus {
        Pane::List => (
            InputKind::ListSearch,
            s.search.as_ref().map(ListSearch::input_text).unwrap_or_default(),
        ),
        Pane::Detail => (InputKind::Search, detail_search_text(s)),
    };
    s.input = Some(Input { kind, text });
}

/// `:`: the filter input, holding the current filter as text.
fn edit_filter(s: &mut State) {
    s.input = Some(Input {
        kind: InputKind::Filter,
        text: s.filter.to_text(),
    });
}

/// `v`: the view picker, on the current view.
fn open_view_picker(s: &mut State) {
    let sel = s
        .view_name
        .as_ref()
        .and_then(|n| s.views.iter().position(|(v, _)| v == n))
        .map_or(0, |i| i + 1);
    s.overlay = Overlay::ViewPicker { sel };
}

/// `e`: the next client_env, and the list again.
fn cycle_env(s: &mut State, fx: &mut Vec<Effect>) {
    let i = CLIENT_ENVS
        .iter()
        .position(|e| *e == s.client_env)
        .map_or(0, |i| (i + 1) % CLIENT_ENVS.len());
    s.client_env = CLIENT_ENVS[i].to_string();
    s.before_view.client_env = None; // chosen now: leaving the view keeps it
    reload(s, fx);
}

/// `w`: the window picker, on the current window (or "custom…").
fn open_window_picker(s: &mut State) {
    let sel = TimeWindow::PRESETS
        .iter()
        .position(|(_, secs)| s.window == TimeWindow::Last { secs: *secs })
        .unwrap_or(TimeWindow::PRESETS.len());
    s.overlay = Overlay::WindowPicker { sel };
}

/// `c`: the next channel choice, replacing the filter's channels, and the list again.
fn cycle_channel(s: &mut State, fx: &mut Vec<Effect>) {
    s.channel = s.channel.next();
    s.before_view.channel = None;
    if !s.filter.channels.is_empty() {
        s.filter.channels.clear();
        s.view_name = None;
        s.status.note = Some(format!(
            "channel {} (replaces the filter's channels)",
            s.channel.label()
        ));
    }
    reload(s, fx);
}

/// `o`: newest or oldest first, and the list again.
fn toggle_order(s: &mut State, fx: &mut Vec<Effect>) {
    s.list.order = s.list.order.toggled();
    s.status.note = Some(format!("order: {}", s.list.order.label()));
    reload(s, fx);
}

/// `y`: the selected id on the clipboard.
fn copy_id(s: &mut State, fx: &mut Vec<Effect>) {
    if let Some(r) = s.list.selected() {
        let id = r.id.to_string();
        s.status.note = Some(format!("copied {id} (OSC 52)"));
        fx.push(Effect::Terminal(TerminalEffect::Copy(id)));
    }
}

/// `Y`: the loaded transcript as plain text on the clipboard.
fn copy_transcript(s: &mut State, fx: &mut Vec<Effect>) {
    let id = s.list.selected().map(|r| r.id.to_string());
    match id.and_then(|id| s.detail.cache.get(&id)) {
        Some(c) if !c.turns.is_empty() => {
            s.status.note = Some(format!(
                "copied {} (OSC 52)",
                crate::output::count(c.turns.len() as u64, "turn")
            ));
            fx.push(Effect::Terminal(TerminalEffect::Copy(transcript::plain_text(&c))));
        }
        _ => s.status.note = Some("no transcript loaded to copy".into()),
    }
}

/// `x`: the selected conversation with its marks as Markdown.
fn export_selected(s: &mut State, fx: &mut Vec<Effect>) {
    let c = s
        .list
        .selected()
        .map(|r| r.id.to_string())
        .and_then(|id| s.detail.cache.get(&id));
    review::export(s, c, fx);
}

/// `m`: mouse capture on or off.
fn toggle_mouse(s: &mut State, fx: &mut Vec<Effect>) {
    s.mouse = !s.mouse;
    s.status.note = Some(if s.mouse {
        "mouse capture on: click to select, wheel to scroll (m to turn off)".into()
    } else {
        "mouse capture off: the terminal selects text again".into()
    });
    fx.push(Effect::Terminal(TerminalEffect::SetMouseCapture(s.mouse)));
}
