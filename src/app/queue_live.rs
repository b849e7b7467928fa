//! Teammates' claims in the open TUI: the team database announces every claim, release and
//! finish (`Msg::QueuesChanged`, from the listener in `tui::team`), and the open queue's
//! progress is read again through the team worker, so the header's "D/N done" moves without a
//! key. A burst while a re-read is under way costs one more re-read, not one per notification.

use super::msg::{Effect, IoEffect};
use super::queue_state::{QueueProgress, TeamRequest};
use super::state::{Overlay, State};

/// `Msg::QueuesChanged`: the open queue's progress is asked for when it is one of `queues`
/// (`None`: any may have changed); an open picker lists the queues again (keeping the lines it
/// shows until the answer, so it does not flicker to "loading").
pub fn on_changed(s: &mut State, queues: Option<&[i64]>, fx: &mut Vec<Effect>) {
    if matches!(s.overlay, Overlay::QueuePicker { .. }) && s.queue.lines.is_some() {
        fx.push(Effect::Io(IoEffect::Team(TeamRequest::ListQueues)));
    }
    let Some(q) = s.queue.active.as_mut() else { return };
    if queues.is_some_and(|ids| !ids.contains(&q.id)) {
        return;
    }
    if q.refreshing {
        q.refresh_again = true;
        return;
    }
    q.refreshing = true;
    fx.push(Effect::Io(IoEffect::Team(TeamRequest::Progress {
        queue: q.name.clone(),
    })));
}

/// `TeamEvent::Progress`: the re-read answered. A failure keeps the numbers shown (the team
/// database being away is said by the header's "team offline").
pub fn on_progress(s: &mut State, queue: &str, result: Result<QueueProgress, String>, fx: &mut Vec<Effect>) {
    let Some(q) = s.queue.active.as_mut().filter(|q| q.name == queue) else {
        return;
    };
    q.refreshing = false;
    if let Ok(p) = result {
        q.progress = p;
    }
    if std::mem::take(&mut q.refresh_again) {
        q.refreshing = true;
        fx.push(Effect::Io(IoEffect::Team(TeamRequest::Progress {
            queue: q.name.clone(),
        })));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::queue_state::ActiveQueue;

    fn with_queue(id: i64) -> State {
        let mut s = crate::app::queue::tests::state();
        s.queue.active = Some(ActiveQueue {
            id,
            name: "daily".into(),
            scorecard: crate::domain::scorecard::all(&toml::Table::new()).unwrap().remove(0),
            progress: QueueProgress::default(),
            generation: 0,
            claim: None,
            claiming: false,
            refreshing: false,
            refresh_again: false,
        });
        s
    }

    fn rereads(fx: &[Effect]) -> usize {
        fx.iter()
            .filter(|e| matches!(e, Effect::Io(IoEffect::Team(TeamRequest::Progress { queue })) if queue == "daily"))
            .count()
    }

    #[test]
    fn a_burst_of_changes_is_one_reread_then_one_more() {
        let mut s = with_queue(7);
        let mut fx = Vec::new();
        on_changed(&mut s, Some(&[3]), &mut fx);
        assert_eq!(rereads(&fx), 0, "another queue's change is not this one's");
        on_changed(&mut s, Some(&[3, 7]), &mut fx);
        on_changed(&mut s, None, &mut fx);
        on_changed(&mut s, Some(&[7]), &mut fx);
        assert_eq!(rereads(&fx), 1, "one re-read under way covers the burst");
        let done = QueueProgress {
            items: 5,
            items_done: 2,
            mine: 0,
        };
        let mut fx = Vec::new();
        on_progress(&mut s, "daily", Ok(done), &mut fx);
        assert_eq!(s.queue.active.as_ref().unwrap().progress, done);
        assert_eq!(rereads(&fx), 1, "changes during the re-read: one more");
        let mut fx = Vec::new();
        on_progress(&mut s, "daily", Err("gone".into()), &mut fx);
        assert_eq!(rereads(&fx), 0);
        assert_eq!(
            s.queue.active.as_ref().unwrap().progress,
            done,
            "a failure keeps the numbers"
        );
        assert!(!s.queue.active.as_ref().unwrap().refreshing);
    }

    #[test]
    fn an_open_picker_lists_the_queues_again_and_a_closed_one_does_not() {
        let mut s = with_queue(7);
        let lists = |fx: &[Effect]| {
            fx.iter()
                .filter(|e| matches!(e, Effect::Io(IoEffect::Team(TeamRequest::ListQueues))))
                .count()
        };
        let mut fx = Vec::new();
        on_changed(&mut s, Some(&[9]), &mut fx);
        assert_eq!(lists(&fx), 0, "no picker open");
        s.overlay = Overlay::QueuePicker { sel: 0 };
        s.queue.lines = Some(Ok(Vec::new()));
        let mut fx = Vec::new();
        on_changed(&mut s, Some(&[9]), &mut fx);
        assert_eq!((lists(&fx), rereads(&fx)), (1, 0), "another queue: the picker only");
        assert!(s.queue.lines.is_some(), "the shown lines stay until the answer");
    }
}
