//! Who changed which mark when: marks seen field by field, the append-only history of changes,
//! and the field-level merge of two reviewers' marks (newest change wins). No I/O.

use std::collections::BTreeMap;

use super::marks::{Marks, ReviewStatus, TurnRating};

/// The reviewer of changes whose author is not known (marks from before history, v1 files).
pub const UNKNOWN_REVIEWER: &str = "unknown";

/// One independently merged part of a conversation's marks.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MarkField {
    Status,
    /// A flag code: set or not.
    Flag(String),
    Note,
    /// The rating of turn N.
    TurnRating(u32),
    /// A scorecard's score (written by the scorecard store, keyed by scorecard name).
    Score(String),
}

impl MarkField {
    /// The stored spelling: `status`, `note`, `flag:CODE`, `turn:N`, `score:CARD`.
    pub fn as_key(&self) -> String {
        match self {
            MarkField::Status => "status".into(),
            MarkField::Note => "note".into(),
            MarkField::Flag(c) => format!("flag:{c}"),
            MarkField::TurnRating(n) => format!("turn:{n}"),
            MarkField::Score(c) => format!("score:{c}"),
        }
    }

    pub fn parse(s: &str) -> Result<MarkField, String> {
        let bad = || format!("unknown mark field {s:?} (status, note, flag:CODE, turn:N or score:CARD)");
        match s.split_once(':') {
            None if s == "status" => Ok(MarkField::Status),
            None if s == "note" => Ok(MarkField::Note),
            Some(("flag", c)) if !c.is_empty() => Ok(MarkField::Flag(c.into())),
            Some(("score", c)) if !c.is_empty() => Ok(MarkField::Score(c.into())),
            Some(("turn", n)) => n.parse().map(MarkField::TurnRating).map_err(|_| bad()),
            _ => Err(bad()),
        }
    }

    /// How a person reads it: `status`, `flag wrong_info`, `turn 3 rating`, `score quick`.
    pub fn label(&self) -> String {
        match self {
            MarkField::Status => "status".into(),
            MarkField::Note => "note".into(),
            MarkField::Flag(c) => format!("flag {c}"),
            MarkField::TurnRating(n) => format!("turn {n} rating"),
            MarkField::Score(c) => format!("score {c}"),
        }
    }
}

/// Who made a field's latest change, and when (unix ms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    pub reviewer: String,
    pub at_ms: i64,
}

/// One entry of the history: `field` went from `before` to `after` (`None`: unset, i.e. status
/// new, no note, flag off, turn unrated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkChange {
    pub field: MarkField,
    pub before: Option<String>,
    pub after: Option<String>,
    pub reviewer: String,
    pub at_ms: i64,
}

impl MarkChange {
    pub fn stamp(&self) -> Stamp {
        Stamp {
            reviewer: self.reviewer.clone(),
            at_ms: self.at_ms,
        }
    }
}

/// A field's value as stored in history: the status word, the note, `set` for a flag, the
/// rating as JSON. A field at its default has no value.
pub type FieldValues = BTreeMap<MarkField, String>;

/// `marks` field by field (fields at their default are left out).
pub fn fields(marks: &Marks) -> FieldValues {
    let mut out = FieldValues::new();
    if marks.status != ReviewStatus::New {
        out.insert(MarkField::Status, marks.status.as_str().to_string());
    }
    if !marks.note.is_empty() {
        out.insert(MarkField::Note, marks.note.clone());
    }
    for code in &marks.flags {
        out.insert(MarkField::Flag(code.clone()), "set".into());
    }
    for (turn, r) in &marks.turns {
        out.insert(MarkField::TurnRating(*turn), rating_value(r));
    }
    out
}

/// A rating's stored value (serde's JSON of it, which cannot fail for this type).
pub fn rating_value(r: &TurnRating) -> String {
    serde_json::to_string(r).unwrap_or_default()
}

/// Sets one field of `marks` (scores are not part of `Marks` and are left alone).
pub fn set_field(marks: &mut Marks, field: &MarkField, value: Option<&str>) -> Result<(), String> {
    match (field, value) {
        (MarkField::Status, None) => marks.status = ReviewStatus::New,
        (MarkField::Status, Some(v)) => marks.status = ReviewStatus::parse(v)?,
        (MarkField::Note, v) => marks.note = v.unwrap_or_default().to_string(),
        (MarkField::Flag(c), None) => {
            marks.flags.remove(c);
        }
        (MarkField::Flag(c), Some(_)) => {
            marks.flags.insert(c.clone());
        }
        (MarkField::TurnRating(n), None) => {
            marks.turns.remove(n);
        }
        (MarkField::TurnRating(n), Some(v)) => {
            let r: TurnRating = serde_json::from_str(v).map_err(|e| format!("turn {n} rating: {e}"))?;
            marks.turns.insert(*n, r);
        }
        (MarkField::Score(_), _) => {}
    }
    Ok(())
}

/// One field's change: (field, value before, value after).
pub type FieldChange = (MarkField, Option<String>, Option<String>);

/// The fields that differ between `before` and `after`, as (field, before, after).
pub fn diff(before: &Marks, after: &Marks) -> Vec<FieldChange> {
    let (mut a, b) = (fields(before), fields(after));
    let mut out = Vec::new();
    for (f, new) in &b {
        let old = a.remove(f);
        if old.as_ref() != Some(new) {
            out.push((f.clone(), old, Some(new.clone())));
        }
    }
    out.extend(a.into_iter().map(|(f, old)| (f, Some(old), None)));
    out.sort_by(|x, y| x.0.cmp(&y.0));
    out
}

/// One side of a merge for one field: its value (`None`: unset) and who set it when (`None`:
/// nobody recorded, e.g. never touched).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Side {
    pub value: Option<String>,
    pub stamp: Stamp,
}

/// What the merge decided for one field present on the incoming side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldMerge {
    /// Both sides hold the same value: nothing to do.
    Same,
    /// The incoming change is newer: take it.
    Take,
    /// Ours is newer (or wins the tie): keep it.
    Keep,
}

/// Whether the incoming side wins: the newer change wins; on equal times the larger
/// (reviewer, value) wins — by byte order, with unset below any value — so both reviewers
/// merging each other's files end with the same marks whichever imports first.
pub fn incoming_wins(local: Option<&Side>, incoming: &Side) -> FieldMerge {
    let Some(local) = local else {
        // Nothing recorded here: an unset incoming field changes nothing either.
        return if incoming.value.is_none() {
            FieldMerge::Same
        } else {
            FieldMerge::Take
        };
    };
    if local.value == incoming.value {
        return FieldMerge::Same;
    }
    let rank = |s: &Side| (s.stamp.at_ms, s.stamp.reviewer.clone(), s.value.clone());
    if rank(incoming) > rank(local) {
        FieldMerge::Take
    } else {
        FieldMerge::Keep
    }
}

/// One field's outcome in a conversation's merge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldOutcome {
    pub field: MarkField,
    pub merge: FieldMerge,
    pub local: Option<Side>,
    pub incoming: Side,
}

/// Merges `incoming` into `local`, field by field. Fields only `local` has stay as they are.
/// Returns the merged marks and, per incoming field, what was decided (in field order).
pub fn merge(
    local_marks: &Marks,
    local: &BTreeMap<MarkField, Side>,
    incoming: &BTreeMap<MarkField, Side>,
) -> Result<(Marks, Vec<FieldOutcome>), String> {
    let mut merged = local_marks.clone();
    let mut outcomes = Vec::with_capacity(incoming.len());
    for (field, inc) in incoming {
        let mine = local.get(field);
        let decision = incoming_wins(mine, inc);
        if decision == FieldMerge::Take {
            set_field(&mut merged, field, inc.value.as_deref())?;
        }
        outcomes.push(FieldOutcome {
            field: field.clone(),
            merge: decision,
            local: mine.cloned(),
            incoming: inc.clone(),
        });
    }
    Ok((merged, outcomes))
}

/// A field value for a person: the rating as `👎 wrong information — comment`, a flag as set.
pub fn describe_value(field: &MarkField, value: Option<&str>) -> String {
    match (field, value) {
        (MarkField::Flag(_), Some(_)) => "set".into(),
        (MarkField::Flag(_), None) => "cleared".into(),
        (MarkField::Status, None) => ReviewStatus::New.label().into(),
        (MarkField::Status, Some(v)) => ReviewStatus::parse(v).map_or_else(|_| v.to_string(), |s| s.label().into()),
        (MarkField::Note, None) => "(none)".into(),
        (MarkField::TurnRating(_), None) => "(unrated)".into(),
        (MarkField::TurnRating(_), Some(v)) => match serde_json::from_str::<TurnRating>(v) {
            Ok(r) => {
                let mut t = r.thumbs.emoji().to_string();
                if let Some(reason) = r.reason {
                    t.push(' ');
                    t.push_str(reason.label());
                }
                if !r.comment.is_empty() {
                    t.push_str(" — ");
                    t.push_str(&r.comment);
                }
                t
            }
            Err(_) => v.to_string(),
        },
        (_, Some(v)) => v.to_string(),
        (MarkField::Score(_), None) => "(none)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::marks::Thumbs;

    fn side(value: Option<&str>, reviewer: &str, at_ms: i64) -> Side {
        Side {
            value: value.map(String::from),
            stamp: Stamp {
                reviewer: reviewer.into(),
                at_ms,
            },
        }
    }

    #[test]
    fn field_keys_round_trip() {
        for f in [
            MarkField::Status,
            MarkField::Note,
            MarkField::Flag("wrong:info".into()),
            MarkField::TurnRating(7),
            MarkField::Score("quick".into()),
        ] {
            assert_eq!(MarkField::parse(&f.as_key()), Ok(f));
        }
        assert!(MarkField::parse("turn:x").is_err());
        assert!(MarkField::parse("flag:").is_err());
        assert!(MarkField::parse("colour").is_err());
    }

    #[test]
    fn fields_and_set_field_are_inverse() {
        let m = Marks {
            status: ReviewStatus::Reviewed,
            flags: ["a".to_string(), "b".to_string()].into(),
            note: "n".into(),
            turns: [(
                2,
                TurnRating {
                    thumbs: Thumbs::Down,
                    reason: None,
                    comment: "c".into(),
                },
            )]
            .into(),
        };
        let mut back = Marks::default();
        for (f, v) in fields(&m) {
            set_field(&mut back, &f, Some(&v)).unwrap();
        }
        assert_eq!(back, m);
        let d = diff(&m, &Marks::default());
        assert_eq!(d.len(), 5);
        assert!(d.iter().all(|(_, before, after)| before.is_some() && after.is_none()));
        assert!(diff(&m, &m).is_empty());
    }

    #[test]
    fn newest_wins_and_ties_agree_both_ways() {
        let old = side(Some("reviewed"), "bob", 1);
        let new = side(Some("needs_follow_up"), "alice", 2);
        assert_eq!(incoming_wins(Some(&new), &old), FieldMerge::Keep);
        assert_eq!(incoming_wins(Some(&old), &new), FieldMerge::Take);
        assert_eq!(
            incoming_wins(Some(&old), &side(Some("reviewed"), "x", 9)),
            FieldMerge::Same
        );
        assert_eq!(incoming_wins(None, &old), FieldMerge::Take);
        assert_eq!(incoming_wins(None, &side(None, "bob", 5)), FieldMerge::Same);
        // A tie: exactly one side wins, the same one from either end.
        let a = side(Some("x"), "alice", 5);
        let b = side(Some("y"), "bob", 5);
        assert_eq!(incoming_wins(Some(&a), &b), FieldMerge::Take);
        assert_eq!(incoming_wins(Some(&b), &a), FieldMerge::Keep);
        // A newer clear beats an older value.
        assert_eq!(incoming_wins(Some(&old), &side(None, "bob", 3)), FieldMerge::Take);
    }

    #[test]
    fn merge_takes_only_newer_fields() {
        let mine = Marks {
            status: ReviewStatus::Reviewed,
            note: "mine".into(),
            ..Marks::default()
        };
        let local: BTreeMap<_, _> = [
            (MarkField::Status, side(Some("reviewed"), "me", 10)),
            (MarkField::Note, side(Some("mine"), "me", 10)),
        ]
        .into();
        let incoming: BTreeMap<_, _> = [
            (MarkField::Status, side(Some("needs_follow_up"), "bob", 5)),
            (MarkField::Note, side(Some("theirs"), "bob", 20)),
            (MarkField::Flag("latency".into()), side(Some("set"), "bob", 1)),
        ]
        .into();
        let (merged, outcomes) = merge(&mine, &local, &incoming).unwrap();
        assert_eq!(merged.status, ReviewStatus::Reviewed);
        assert_eq!(merged.note, "theirs");
        assert!(merged.flags.contains("latency"));
        let decisions: Vec<_> = outcomes.iter().map(|o| o.merge.clone()).collect();
        assert_eq!(decisions, [FieldMerge::Keep, FieldMerge::Take, FieldMerge::Take]);
    }
}
