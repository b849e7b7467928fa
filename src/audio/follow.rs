//! Transcript follow: which turn is being spoken at a playback position, and where a turn
//! starts (for Enter on a turn). Turn times are the API's datetimes relative to `started_at`.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::api::Turn;

/// Who speaks in the part of a turn that is playing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Speaker {
    User,
    Agent,
}

/// Offset of `t` from the start of the call (times before the start count as 0).
fn offset(started_at: DateTime<Utc>, t: Option<DateTime<Utc>>) -> Option<Duration> {
    let t = t?;
    Some((t - started_at).to_std().unwrap_or(Duration::ZERO))
}

/// When turn `turn` starts: its user input if it has one, else the agent's response.
pub fn turn_start(turns: &[Turn], started_at: DateTime<Utc>, turn: usize) -> Option<Duration> {
    let t = turns.get(turn)?;
    let user = (!t.user_input.is_empty() || !t.user_input_dtmf.is_empty())
        .then(|| offset(started_at, t.user_input_datetime))
        .flatten();
    user.or_else(|| offset(started_at, t.agent_response_datetime))
        .or_else(|| offset(started_at, t.user_input_datetime))
}

/// The turn being spoken at `position`, and by whom: the last turn (or turn part) that started
/// at or before `position`. `None` before the first timed turn. Turns without times are skipped.
pub fn spoken_at(turns: &[Turn], started_at: DateTime<Utc>, position: Duration) -> Option<(usize, Speaker)> {
    let mut best: Option<(Duration, usize, Speaker)> = None;
    for (i, t) in turns.iter().enumerate() {
        let parts = [
            (
                t.user_input_datetime,
                Speaker::User,
                !t.user_input.is_empty() || !t.user_input_dtmf.is_empty(),
            ),
            (t.agent_response_datetime, Speaker::Agent, true),
        ];
        for (time, who, present) in parts {
            let Some(at) = offset(started_at, time).filter(|_| present) else {
                continue;
            };
            // Later turns win ties, so equal timestamps resolve to the newest turn.
            if at <= position && best.is_none_or(|(b, _, _)| at >= b) {
                best = Some((at, i, who));
            }
        }
    }
    best.map(|(_, i, who)| (i, who))
}

/// Index of the turn being spoken at `position` (see [`spoken_at`]).
pub fn turn_at(turns: &[Turn], started_at: DateTime<Utc>, position: Duration) -> Option<usize> {
    spoken_at(turns, started_at, position).map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> Option<DateTime<Utc>> {
        Some(DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap())
    }

    fn turns() -> (DateTime<Utc>, Vec<Turn>) {
        let mk = |user: &str, u: i64, a: i64| Turn {
            user_input: user.into(),
            user_input_datetime: at(u),
            agent_response: "ok".into(),
            agent_response_datetime: at(a),
            ..Default::default()
        };
        // Turn 0 is the greeting: no user input, agent speaks at 1 s.
        (at(0).unwrap(), vec![mk("", 0, 1), mk("hello", 5, 7), mk("bye", 12, 13)])
    }

    #[test]
    fn position_maps_to_turn_and_speaker() {
        let (start, t) = turns();
        assert_eq!(spoken_at(&t, start, Duration::from_millis(500)), None);
        assert_eq!(spoken_at(&t, start, Duration::from_secs(1)), Some((0, Speaker::Agent)));
        assert_eq!(spoken_at(&t, start, Duration::from_secs(6)), Some((1, Speaker::User)));
        assert_eq!(spoken_at(&t, start, Duration::from_secs(8)), Some((1, Speaker::Agent)));
        assert_eq!(turn_at(&t, start, Duration::from_secs(600)), Some(2));
    }

    #[test]
    fn turn_start_prefers_user_input_and_round_trips() {
        let (start, t) = turns();
        assert_eq!(turn_start(&t, start, 0), Some(Duration::from_secs(1)));
        assert_eq!(turn_start(&t, start, 1), Some(Duration::from_secs(5)));
        assert_eq!(turn_start(&t, start, 9), None);
        for i in 0..t.len() {
            assert_eq!(turn_at(&t, start, turn_start(&t, start, i).unwrap()), Some(i));
        }
    }

    #[test]
    fn untimed_turns_are_skipped() {
        let (start, mut t) = turns();
        t[1].user_input_datetime = None;
        t[1].agent_response_datetime = None;
        assert_eq!(turn_at(&t, start, Duration::from_secs(8)), Some(0));
        assert_eq!(turn_start(&t, start, 1), None);
    }
}
