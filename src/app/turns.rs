//! Turn by turn in the transcript: next / previous turn, next / previous caller turn, and the
//! slowest turns, slowest first. A move puts the turn at the top of the pane, which makes it the
//! current turn (▸): the one Enter plays from and `b` rates.

use super::state::{Pane, State};
use super::transcript::View;

/// The turn moves are a group of actions: `TurnMove::Slowest` is the slowest turn, and from a
/// slow turn at the top, the next slowest.
pub use super::keymap::TurnMove;

/// The laid-out transcript of the selected call, if that is what the pane shows.
fn shown(s: &State) -> Option<&View> {
    let view = s.detail.view.as_ref()?;
    (s.list.selected()?.id.as_ref() == view.id).then_some(view)
}

/// Where the top of the pane is: the turn whose first line is at or above it, and whether the
/// pane starts exactly there. `None`: the top shows the call's details above the first turn.
fn position(view: &View, scroll: usize) -> Option<(usize, bool)> {
    let i = view.turn_starts.iter().rposition(|&l| l <= scroll)?;
    Some((i, view.turn_starts[i] == scroll))
}

/// `1st`, `2nd`, `3rd`, `11th`, `22nd`.
fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// Turns with a latency, slowest first (ties: the earlier turn first).
fn by_latency(view: &View) -> Vec<(usize, f64)> {
    let mut v: Vec<(usize, f64)> = view
        .turn_facts
        .iter()
        .enumerate()
        .filter_map(|(i, f)| f.latency.map(|l| (i, l)))
        .collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

/// The turn a move goes to and what the status line says (a note alone: nowhere to go).
/// `again` is the key that repeats the slowest-turn move, for its note.
fn target(view: &View, scroll: usize, m: TurnMove, again: &str) -> (Option<usize>, Option<String>) {
    let n = view.turn_starts.len();
    let at = position(view, scroll);
    // The first turn a forward move may reach, and the end of the range a backward one searches.
    let ahead = at.map_or(0, |(i, _)| i + 1);
    let behind = match at {
        None => 0,
        // Scrolled into a turn: back goes to its start first.
        Some((i, false)) => i + 1,
        Some((i, true)) => i,
    };
    let caller = |i: &usize| view.turn_facts.get(*i).is_some_and(|f| f.caller);
    match m {
        TurnMove::Next if ahead < n => (Some(ahead), None),
        TurnMove::Next => (None, Some("last turn".into())),
        TurnMove::Prev if behind > 0 => (Some(behind - 1), None),
        TurnMove::Prev => (None, Some("first turn".into())),
        TurnMove::NextCaller => match (ahead..n).find(caller) {
            Some(i) => (Some(i), None),
            None => (None, Some("no later turn where the caller speaks".into())),
        },
        TurnMove::PrevCaller => match (0..behind).rev().find(caller) {
            Some(i) => (Some(i), None),
            None => (None, Some("no earlier turn where the caller speaks".into())),
        },
        TurnMove::Slowest => {
            let ranked = by_latency(view);
            if ranked.is_empty() {
                return (None, Some("no turn of this call has a latency".into()));
            }
            // From the k-th slowest at the top, on to the (k+1)-th, round to the slowest.
            let k = match at {
                Some((i, true)) => ranked
                    .iter()
                    .position(|(t, _)| *t == i)
                    .map_or(0, |p| (p + 1) % ranked.len()),
                _ => 0,
            };
            let (turn, secs) = ranked[k];
            let rank = if k == 0 {
                "the slowest".to_string()
            } else {
                format!("{} slowest", ordinal(k + 1))
            };
            let note = format!(
                "turn {}: {secs:.2}s, {rank} of {} · {again} again: next slowest",
                turn + 1,
                ranked.len()
            );
            (Some(turn), Some(note))
        }
    }
}

/// Moves the transcript so the chosen turn is at the top (the list hands focus to it).
pub fn go(s: &mut State, m: TurnMove) {
    let Some(view) = shown(s) else {
        s.status.note = Some("no transcript loaded".into());
        return;
    };
    if view.turn_starts.is_empty() {
        s.status.note = Some("no turns".into());
        return;
    }
    let again = s
        .keymap
        .first(super::keymap::Action::Turn(TurnMove::Slowest))
        .unwrap_or_else(|| "slowest_turn".into());
    let (turn, note) = target(view, s.detail.scroll, m, &again);
    let line = turn.and_then(|t| view.turn_starts.get(t).copied());
    s.focus = Pane::Detail;
    if let Some(line) = line {
        s.detail.scroll = line;
    }
    s.status.note = note;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::transcript::{Toggles, TurnFacts};

    /// Turns start every 3 lines after 5 lines of details.
    fn view(facts: &[(bool, Option<f64>)]) -> View {
        View {
            id: "CA1".into(),
            cols: 60,
            toggles: Toggles::default(),
            lines: vec![Default::default(); 5 + 3 * facts.len()],
            turn_starts: (0..facts.len()).map(|i| 5 + 3 * i).collect(),
            turn_facts: facts
                .iter()
                .map(|&(caller, latency)| TurnFacts { caller, latency })
                .collect(),
        }
    }

    #[test]
    fn next_and_previous_turn() {
        let v = view(&[(false, None), (true, Some(0.5)), (false, None), (true, Some(2.0))]);
        assert_eq!(
            target(&v, 0, TurnMove::Next, "L").0,
            Some(0),
            "from the details to the first turn"
        );
        assert_eq!(target(&v, 5, TurnMove::Next, "L").0, Some(1));
        assert_eq!(target(&v, 9, TurnMove::Next, "L").0, Some(2), "from inside turn 1");
        assert_eq!(target(&v, 14, TurnMove::Next, "L"), (None, Some("last turn".into())));
        assert_eq!(target(&v, 8, TurnMove::Prev, "L").0, Some(0));
        assert_eq!(
            target(&v, 9, TurnMove::Prev, "L").0,
            Some(1),
            "inside a turn: back to its start"
        );
        assert_eq!(target(&v, 5, TurnMove::Prev, "L").1.as_deref(), Some("first turn"));
        assert_eq!(target(&v, 2, TurnMove::Prev, "L").0, None);
    }

    #[test]
    fn caller_turns_skip_agent_only_turns() {
        let v = view(&[(false, None), (true, None), (false, None), (false, None), (true, None)]);
        assert_eq!(target(&v, 0, TurnMove::NextCaller, "L").0, Some(1));
        assert_eq!(target(&v, 8, TurnMove::NextCaller, "L").0, Some(4));
        assert_eq!(target(&v, 17, TurnMove::NextCaller, "L").0, None);
        assert_eq!(target(&v, 17, TurnMove::PrevCaller, "L").0, Some(1));
        assert_eq!(
            target(&v, 18, TurnMove::PrevCaller, "L").0,
            Some(4),
            "inside the caller turn"
        );
        assert_eq!(target(&v, 8, TurnMove::PrevCaller, "L").0, None);
    }

    #[test]
    fn slowest_then_the_next_slowest_round_to_the_slowest() {
        let v = view(&[
            (false, None),
            (true, Some(1.0)),
            (true, Some(3.0)),
            (true, Some(1.0)),
            (true, Some(2.0)),
        ]);
        let (t, note) = target(&v, 0, TurnMove::Slowest, "L");
        assert_eq!(t, Some(2));
        assert_eq!(note.unwrap(), "turn 3: 3.00s, the slowest of 4 · L again: next slowest");
        let order: Vec<usize> =
            std::iter::successors(Some(2), |&t| target(&v, v.turn_starts[t], TurnMove::Slowest, "L").0)
                .take(6)
                .collect();
        // Ties keep the earlier turn first.
        assert_eq!(order, [2, 4, 1, 3, 2, 4]);
        assert!(
            target(&v, v.turn_starts[2], TurnMove::Slowest, "L")
                .1
                .unwrap()
                .contains("turn 5: 2.00s, 2nd slowest of 4")
        );
        // Inside a turn (not at its start), the slowest again.
        assert_eq!(target(&v, v.turn_starts[4] + 1, TurnMove::Slowest, "L").0, Some(2));
        let none = view(&[(false, None)]);
        assert_eq!(target(&none, 0, TurnMove::Slowest, "L").0, None);
    }

    #[test]
    fn ordinals() {
        let got: Vec<String> = [1, 2, 3, 4, 11, 12, 13, 21, 22, 103, 111]
            .into_iter()
            .map(ordinal)
            .collect();
        assert_eq!(
            got,
            [
                "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "103rd", "111th"
            ]
        );
    }
}
