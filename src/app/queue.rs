//! Review queues in the TUI: `W` picks a queue of the team database and the list shows its
//! items; `C` claims the next item nobody holds, selects it and opens its transcript. The
//! claim is renewed every third of the lease while the item stays selected, released when the
//! reviewer moves to another row, claims again, leaves the queue or quits, and finished when the
//! queue's scorecard is saved (`Q`) or the item is marked reviewed (`R`). The database work is the team
//! worker's: this module only sends [`TeamRequest`]s and handles the [`TeamEvent`]s it answers.

use std::collections::BTreeMap;
use std::time::Duration;

use crossterm::event::KeyEvent;

use crate::domain::scorecard::{Answer, Scorecard};
use crate::sanitize::sanitize_line;

use super::keymap::Action;
use super::list;
use super::msg::{Effect, IoEffect, Msg, TerminalEffect};
use super::paging::{Paging, Row, Source};
use super::picker::{PickerMove, picker_move};
use super::queue_state::{ActiveQueue, Claim, OpenedQueue, QueueLine, TeamEvent, TeamRequest};
use super::review;
use super::state::{Overlay, Pane, State};

pub const NO_TEAM: &str = "no team database — set [team] database in config.toml to work review queues";
pub const NO_QUEUE: &str = "no queue open — W picks one";

/// A failed renewal is tried again this soon (or at the next third of the lease, if sooner).
const RENEW_RETRY: Duration = Duration::from_secs(30);

fn team(fx: &mut Vec<Effect>, r: TeamRequest) {
    fx.push(Effect::Io(IoEffect::Team(r)));
}

/// `W`: the picker, and the queues asked for. Without `[team]` nothing happens (the status
/// line says why: [`why_no_effect`]).
pub fn open_picker(s: &mut State, fx: &mut Vec<Effect>) {
    if !s.queue.enabled {
        return;
    }
    s.queue.lines = None;
    s.overlay = Overlay::QueuePicker { sel: 0 };
    team(fx, TeamRequest::ListQueues);
}

/// The picker's entries: the queues, then "leave" while one is open.
pub fn picker_entries(s: &State) -> Vec<String> {
    let mut v: Vec<String> = match &s.queue.lines {
        None => vec!["loading queues…".into()],
        Some(Err(e)) => vec![format!("✕ {}", sanitize_line(e))],
        Some(Ok(lines)) if lines.is_empty() => {
            vec!["no queues yet — callscope queue create NAME --since 24h --sample 50".into()]
        }
        Some(Ok(lines)) => lines
            .iter()
            .map(|l| {
                let p = l.progress;
                format!(
                    "{} — {}/{} done · you {} · {}",
                    sanitize_line(&l.name),
                    p.items_done,
                    p.items,
                    p.mine,
                    sanitize_line(&l.scorecard)
                )
            })
            .collect(),
    };
    if let Some(q) = &s.queue.active {
        v.push(format!(
            "leave queue {} (back to the window's calls)",
            sanitize_line(&q.name)
        ));
    }
    v
}

fn lines(s: &State) -> &[QueueLine] {
    match &s.queue.lines {
        Some(Ok(l)) => l,
        _ => &[],
    }
}

pub(super) fn on_picker_key(s: &mut State, k: KeyEvent, fx: &mut Vec<Effect>) {
    let Overlay::QueuePicker { sel } = s.overlay else {
        return;
    };
    let n = picker_entries(s).len();
    match picker_move(s, &k, sel, n, Action::Queues) {
        PickerMove::Choose(i) => {
            s.overlay = Overlay::None;
            if let Some(line) = lines(s).get(i) {
                let name = line.name.clone();
                s.status.note = Some(format!("opening queue {}…", sanitize_line(&name)));
                s.queue.opening = Some(name.clone());
                team(fx, TeamRequest::Open { queue: name });
            } else if i == n - 1 && s.queue.active.is_some() {
                leave(s, fx);
            }
        }
        PickerMove::Close => s.overlay = Overlay::None,
        PickerMove::Highlight(sel) => s.overlay = Overlay::QueuePicker { sel },
        PickerMove::Nothing => {}
    }
}

/// Back to the window's calls: the claim is given back.
fn leave(s: &mut State, fx: &mut Vec<Effect>) {
    release(s, fx);
    if let Some(q) = s.queue.active.take() {
        s.status.note = Some(format!("left queue {}", sanitize_line(&q.name)));
    }
    list::reload(s, fx);
}

/// Gives the held claim back (not one being finished).
fn release(s: &mut State, fx: &mut Vec<Effect>) {
    let Some(q) = s.queue.active.as_mut() else { return };
    if q.claim.as_ref().is_some_and(|c| !c.finishing)
        && let Some(c) = q.claim.take()
    {
        let queue = q.name.clone();
        team(fx, TeamRequest::Release { queue, id: c.id });
    }
}

/// `C`: claims the next item (the one held is given back first: the reviewer moves on).
pub fn next(s: &mut State, fx: &mut Vec<Effect>) {
    let lease = s.queue.lease;
    if s.queue.active.as_ref().is_none_or(|q| q.claiming) {
        return;
    }
    release(s, fx);
    let Some(q) = s.queue.active.as_mut() else { return };
    q.claiming = true;
    s.status.note = Some(format!("claiming the next item of queue {}…", sanitize_line(&q.name)));
    let queue = q.name.clone();
    team(fx, TeamRequest::Claim { queue, lease });
}

/// The queue's own form, when the selected item is the one claimed (`Q` opens it).
pub fn card_for(s: &State, id: &str) -> Option<Scorecard> {
    let q = s.queue.active.as_ref()?;
    q.claim
        .as_ref()
        .filter(|c| sanitize_line(&c.id) == id)
        .map(|_| q.scorecard.clone())
}

/// The queue's form was saved on `id` (or it was marked reviewed: no answers): the claim is
/// finished. Nothing when `id` is not the claimed item.
pub fn finish(s: &mut State, id: &str, answers: BTreeMap<String, Answer>, fx: &mut Vec<Effect>) {
    let Some(q) = s.queue.active.as_mut() else { return };
    let Some(c) = q.claim.as_mut().filter(|c| sanitize_line(&c.id) == id && !c.finishing) else {
        return;
    };
    c.finishing = true;
    let (queue, id) = (q.name.clone(), c.id.clone());
    team(fx, TeamRequest::Finish { queue, id, answers });
}

/// `R` set the selected call reviewed: finishes its claim.
pub fn on_marked_reviewed(s: &mut State, fx: &mut Vec<Effect>) {
    if let Some(id) = s.list.selected().map(|r| r.id.to_string()) {
        finish(s, &id, BTreeMap::new(), fx);
    }
}

fn row(id: &str, started_at: &str) -> Row {
    Row {
        id: sanitize_line(id).into_boxed_str(),
        started: chrono::DateTime::parse_from_rfc3339(started_at)
            .map(|t| t.timestamp())
            .unwrap_or(i64::MIN),
        duration: u32::MAX,
        turns: 0,
        flags: 0,
        handoff_reason: "".into(),
    }
}

/// The list becomes the queue's items, in sample order.
fn show(s: &mut State, q: OpenedQueue, fx: &mut Vec<Effect>) {
    release(s, fx);
    let generation = s.list.paging.generation + 1;
    let mut p = Paging::default();
    p.generation = generation;
    // Nothing to page: every item is here.
    p.end = true;
    p.source = Source::Api;
    p.append_rows(q.items.iter().map(|(id, started)| row(id, started)));
    let n = p.len();
    s.list.paging = p;
    s.list.incoming = None;
    s.list.seek = None;
    s.list.sel = 0;
    s.list.offset = 0;
    s.search = None;
    s.live.forget_list();
    review::on_reload(s);
    s.detail.view = None;
    s.detail.pending = None;
    s.detail.debounce = None;
    s.detail.error = None;
    s.focus = Pane::List;
    s.status.note = Some(format!(
        "queue {}: {n} item{} · C claims the next",
        sanitize_line(&q.name),
        if n == 1 { "" } else { "s" }
    ));
    s.queue.active = Some(ActiveQueue {
        id: q.id,
        name: q.name,
        scorecard: q.scorecard,
        progress: q.progress,
        generation,
        claim: None,
        claiming: false,
        refreshing: false,
        refresh_again: false,
    });
    list::select(s, 0, true, fx);
    prefetch(s, fx);
}

/// How many items' conversations are fetched when the queue opens (about a screen); the rest
/// fill in as they are selected.
const PREFETCH: usize = 24;

/// The first items' conversations, fetched by id like calls announced live (answered through
/// `live::on_conversation`, which hands them to [`on_item`]).
fn prefetch(s: &mut State, fx: &mut Vec<Effect>) {
    let ids: Vec<String> = s
        .list
        .paging
        .rows
        .iter()
        .take(PREFETCH)
        .map(|r| r.id.to_string())
        .filter(|id| !s.detail.cache.contains(id))
        .collect();
    for id in ids {
        let req = s.take_req();
        s.live.fetching.push((req, id.clone()));
        fx.push(Effect::Io(IoEffect::FetchLive { req, id }));
    }
}

/// A queue item's conversation arrived: its row shows its channel, duration and turns.
pub fn on_item(s: &mut State, c: &crate::api::Conversation) {
    if s.queue.active.is_none() {
        return;
    }
    let Some(i) = s.list.paging.position(&sanitize_line(&c.id)) else {
        return;
    };
    if !c.turns.is_empty() || c.num_turns.unwrap_or(0) == 0 {
        s.detail.cache.insert(c.clone());
    }
    if let Some(r) = s.list.paging.rows.get_mut(i) {
        *r = Row::from_conversation(c);
    }
    let idle = s.detail.view.is_none() && s.detail.pending.is_none() && s.detail.debounce.is_none();
    if i == s.list.sel && idle {
        super::detail_view::rebuild_view(s);
    }
}

/// `15 min`, `90 s`.
fn lease_label(d: Duration) -> String {
    match d.as_secs() {
        s if s >= 60 && s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

fn renew_after(s: &State, seq: u64, failed: bool, fx: &mut Vec<Effect>) {
    let third = s.queue.lease / 3;
    let delay = if failed { third.min(RENEW_RETRY) } else { third };
    fx.push(Effect::Io(IoEffect::After {
        delay: delay.max(Duration::from_secs(1)),
        msg: Box::new(Msg::Team(TeamEvent::RenewDue { seq })),
    }));
}

/// The named queue is the one open.
fn active_named<'a>(s: &'a mut State, name: &str) -> Option<&'a mut ActiveQueue> {
    s.queue.active.as_mut().filter(|q| q.name == name)
}

pub(super) fn on_event(s: &mut State, ev: TeamEvent, fx: &mut Vec<Effect>) {
    match ev {
        TeamEvent::Queues(result) => {
            s.queue.lines = Some(result);
            if let Overlay::QueuePicker { sel } = s.overlay {
                let n = picker_entries(s).len();
                s.overlay = Overlay::QueuePicker {
                    sel: sel.min(n.saturating_sub(1)),
                };
            }
        }
        TeamEvent::Opened(result) => match result {
            Ok(q) if s.queue.opening.as_ref() == Some(&q.name) => {
                s.queue.opening = None;
                show(s, q, fx);
            }
            Ok(_) => {}
            Err(e) => {
                s.queue.opening = None;
                s.status.note = Some(format!("queue not opened: {}", sanitize_line(&e)));
            }
        },
        TeamEvent::Claimed { queue, result } => {
            let seq = s.queue.next_seq + 1;
            let Some(q) = active_named(s, &queue).filter(|q| q.claiming) else {
                // A claim for a queue left since: give it back.
                if let Ok((Some(id), _)) = result {
                    team(fx, TeamRequest::Release { queue, id });
                }
                return;
            };
            q.claiming = false;
            match result {
                Ok((Some(id), progress)) => {
                    q.progress = progress;
                    q.claim = Some(Claim {
                        id: id.clone(),
                        seq,
                        finishing: false,
                    });
                    s.queue.next_seq = seq;
                    let shown = sanitize_line(&id);
                    let pos = match s.list.paging.position(&shown) {
                        Some(p) => p,
                        None => {
                            s.list.paging.append_rows([row(&id, "")]);
                            s.list.paging.len() - 1
                        }
                    };
                    list::select(s, pos, true, fx);
                    s.focus = Pane::Detail;
                    s.status.note = Some(format!(
                        "claimed {shown} · lease {} · Q scores it, R marks it reviewed, C the next",
                        lease_label(s.queue.lease)
                    ));
                    renew_after(s, seq, false, fx);
                }
                Ok((None, progress)) => {
                    q.progress = progress;
                    s.status.note = Some(format!(
                        "nothing left to claim in queue {} for you",
                        sanitize_line(&queue)
                    ));
                }
                Err(e) => s.status.note = Some(format!("no claim: {}", sanitize_line(&e))),
            }
        }
        TeamEvent::Progress { queue, result } => super::queue_live::on_progress(s, &queue, result, fx),
        TeamEvent::RenewDue { seq } => {
            let lease = s.queue.lease;
            let Some(q) = s.queue.active.as_ref() else { return };
            if let Some(c) = q.claim.as_ref().filter(|c| c.seq == seq && !c.finishing) {
                let (queue, id) = (q.name.clone(), c.id.clone());
                team(fx, TeamRequest::Renew { queue, id, lease });
            }
        }
        TeamEvent::Renewed { queue, id, result } => {
            let Some(q) = active_named(s, &queue) else { return };
            let Some(c) = q.claim.as_ref().filter(|c| c.id == id && !c.finishing) else {
                return;
            };
            let seq = c.seq;
            match result {
                Ok(true) => renew_after(s, seq, false, fx),
                Ok(false) => {
                    q.claim = None;
                    s.status.note = Some(format!(
                        "your claim on {} ran out and another reviewer holds it — C claims the next",
                        sanitize_line(&id)
                    ));
                }
                Err(e) => {
                    s.status.note = Some(format!("claim not renewed, trying again: {}", sanitize_line(&e)));
                    renew_after(s, seq, true, fx);
                }
            }
        }
        TeamEvent::Finished { queue, id, result } => {
            let Some(q) = active_named(s, &queue) else { return };
            if !q.claim.as_ref().is_some_and(|c| c.id == id && c.finishing) {
                return;
            }
            match result {
                Ok(progress) => {
                    q.claim = None;
                    q.progress = progress;
                    s.status.note = Some(format!(
                        "{} done · {} · C claims the next",
                        sanitize_line(&id),
                        s.queue.header().unwrap_or_default()
                    ));
                }
                Err(e) => {
                    if let Some(c) = q.claim.as_mut() {
                        c.finishing = false;
                    }
                    s.status.note = Some(format!("not finished in the queue: {}", sanitize_line(&e)));
                }
            }
        }
    }
}

/// After every message: a list reloaded since the queue filled it has left the queue, and a
/// selection moved off the claimed item gives the claim back. The selected item's row takes its
/// duration and turns once its transcript is fetched (by id, like any transcript).
pub(super) fn after_step(s: &mut State, fx: &mut Vec<Effect>) {
    // Quitting gives the claim back first (the runner waits a moment for it on the way out).
    if let Some(at) = fx
        .iter()
        .position(|e| matches!(e, Effect::Terminal(TerminalEffect::Quit)))
        && let Some(q) = s.queue.active.as_mut()
        && let Some(c) = q.claim.take_if(|c| !c.finishing)
    {
        let queue = q.name.clone();
        fx.insert(at, Effect::Io(IoEffect::Team(TeamRequest::Release { queue, id: c.id })));
        return;
    }
    let Some(q) = s.queue.active.as_ref() else { return };
    if q.generation != s.list.paging.generation {
        if let Some(q) = s.queue.active.as_mut()
            && let Some(c) = q.claim.take().filter(|c| !c.finishing)
        {
            let queue = q.name.clone();
            team(fx, TeamRequest::Release { queue, id: c.id });
        }
        if let Some(q) = s.queue.active.take() {
            s.status
                .note
                .get_or_insert_with(|| format!("left queue {} (the list was reloaded)", sanitize_line(&q.name)));
        }
        return;
    }
    let selected = s.list.selected().map(|r| r.id.to_string());
    if let Some(c) = &q.claim
        && !c.finishing
        && selected.as_deref() != Some(sanitize_line(&c.id).as_str())
    {
        let id = sanitize_line(&c.id);
        release(s, fx);
        s.status.note.get_or_insert_with(|| format!("released {id} (moved on)"));
    }
    let Some(id) = selected else { return };
    let sel = s.list.sel;
    if s.list.paging.rows.get(sel).is_some_and(|r| r.duration == u32::MAX)
        && let Some(c) = s.detail.cache.get(&id)
        && let Some(r) = s.list.paging.rows.get_mut(sel)
    {
        *r = Row::from_conversation(&c);
    }
}

/// Why `W` or `C` changed nothing (`None`: another action, or it did something).
pub fn why_no_effect(s: &State, action: Action) -> Option<&'static str> {
    match action {
        Action::Queues | Action::QueueNext if !s.queue.enabled => Some(NO_TEAM),
        Action::QueueNext => Some(match &s.queue.active {
            None if s.queue.opening.is_some() => "the queue is still opening",
            None => NO_QUEUE,
            Some(q) if q.claiming => "already claiming — waiting for the team database",
            Some(_) => "no item claimed",
        }),
        _ => None,
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::app::KeyMap;
    use crate::app::queue_state::{OpenedQueue, QueueProgress};
    use crate::app::state::Identity;

    /// A fresh 80×24 state with queues enabled (a team database configured).
    pub(in crate::app) fn state() -> State {
        let mut s = State::new(
            KeyMap::default(),
            Identity::default(),
            "live",
            chrono::Utc::now(),
            chrono::FixedOffset::east_opt(0).unwrap(),
            (80, 24),
        );
        s.queue.enabled = true;
        s
    }

    fn team_requests(fx: &[Effect]) -> Vec<TeamRequest> {
        fx.iter()
            .filter_map(|e| match e {
                Effect::Io(IoEffect::Team(r)) => Some(r.clone()),
                _ => None,
            })
            .collect()
    }

    /// Queue `q` open with items a, b, c.
    fn opened() -> State {
        let mut s = state();
        s.queue.opening = Some("q".into());
        let card = crate::domain::scorecard::all(&toml::Table::new()).unwrap().remove(0);
        let mut fx = Vec::new();
        on_event(
            &mut s,
            TeamEvent::Opened(Ok(OpenedQueue {
                id: 1,
                name: "q".into(),
                scorecard: card,
                items: ["a", "b", "c"].map(|i| (i.to_string(), String::new())).to_vec(),
                progress: QueueProgress::default(),
            })),
            &mut fx,
        );
        s
    }

    fn claimed(s: &mut State, id: &str) -> Vec<Effect> {
        let mut fx = Vec::new();
        next(s, &mut fx);
        assert!(matches!(team_requests(&fx)[..], [TeamRequest::Claim { .. }]));
        let mut fx = Vec::new();
        let result = Ok((Some(id.to_string()), QueueProgress::default()));
        on_event(
            s,
            TeamEvent::Claimed {
                queue: "q".into(),
                result,
            },
            &mut fx,
        );
        fx
    }

    #[test]
    fn a_claim_selects_its_item_schedules_a_renewal_and_moving_on_releases_it() {
        let mut s = opened();
        assert_eq!(s.list.visible_len(), 3);
        let fx = claimed(&mut s, "b");
        assert_eq!(s.list.selected().map(|r| &*r.id), Some("b"));
        assert_eq!(s.queue.claimed(), Some("b"));
        let renewal = fx.iter().find_map(|e| match e {
            Effect::Io(IoEffect::After { delay, msg }) if matches!(**msg, Msg::Team(_)) => Some(*delay),
            _ => None,
        });
        assert_eq!(renewal, Some(s.queue.lease / 3));
        // Nothing moved: the claim stays.
        let mut fx = Vec::new();
        after_step(&mut s, &mut fx);
        assert!(fx.is_empty() && s.queue.claimed() == Some("b"));
        s.list.sel = 2;
        let mut fx = Vec::new();
        after_step(&mut s, &mut fx);
        assert_eq!(
            team_requests(&fx),
            [TeamRequest::Release {
                queue: "q".into(),
                id: "b".into()
            }]
        );
        assert_eq!(s.queue.claimed(), None);
    }

    #[test]
    fn quitting_gives_the_claim_back_before_the_quit() {
        let mut s = opened();
        claimed(&mut s, "a");
        let mut fx = vec![Effect::Terminal(TerminalEffect::Quit)];
        after_step(&mut s, &mut fx);
        assert!(matches!(
            &fx[..],
            [
                Effect::Io(IoEffect::Team(TeamRequest::Release { .. })),
                Effect::Terminal(TerminalEffect::Quit)
            ]
        ));
        assert_eq!(s.queue.claimed(), None);
    }

    #[test]
    fn a_lost_lease_or_a_left_queue_ends_the_claim() {
        let mut s = opened();
        claimed(&mut s, "a");
        let mut fx = Vec::new();
        let ev = TeamEvent::Renewed {
            queue: "q".into(),
            id: "a".into(),
            result: Ok(false),
        };
        on_event(&mut s, ev, &mut fx);
        assert_eq!(s.queue.claimed(), None);
        assert!(s.status.note.as_deref().unwrap().contains("another reviewer holds it"));
        // A claim answered after the queue was left is given back at once.
        let mut fx = Vec::new();
        next(&mut s, &mut fx);
        s.queue.active = None;
        let mut fx = Vec::new();
        let result = Ok((Some("c".to_string()), QueueProgress::default()));
        on_event(
            &mut s,
            TeamEvent::Claimed {
                queue: "q".into(),
                result,
            },
            &mut fx,
        );
        assert_eq!(
            team_requests(&fx),
            [TeamRequest::Release {
                queue: "q".into(),
                id: "c".into()
            }]
        );
    }
}
