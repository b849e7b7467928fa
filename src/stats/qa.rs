//! The QA figures of a window, from saved scorecards (`store::scores`). One definition each:
//!
//! - A **save** is the current (newest) score of one (call, scorecard, reviewer); the QA figures
//!   count saves of the window's calls (narrowed to `scorecard:NAME` when the filter names one).
//! - **Scored** counts calls with a current save (the `scored` filter word).
//! - The **score distribution** counts saves with a score (a save of n.a. answers only has
//!   none) per ten-point bucket `[10·i, 10·i + 10)`, the last one `[90, 100]`; Enter on a
//!   bucket lists the calls with a score there (`qa>=LO qa<HI`). **Mean** and **median**
//!   (nearest rank, like the other percentiles) are over the same scores; **auto-failed**
//!   counts saves an auto-fail question failed.
//! - **Per question** (per scorecard): each save answering it is one answer, kept as the text
//!   the form writes (`yes`, `no`, `na`, `1`–`5`, a choice label). Pass rate = yes / (yes + no),
//!   n.a. left out; a scale question's mean is over its `1`–`5` answers. The kind is read from
//!   the answers (the store does not know the config's forms): only yes/no/na is yes-no, only
//!   1–5 (and na) is a scale, anything else a choice.
//! - **Per reviewer**: *reviewed* counts calls marked reviewed whose latest status change was
//!   theirs; *flagged* calls with a flag whose latest change was theirs; *scored* their saves
//!   and *mean* over those saves' scores.

use serde::Serialize;

use super::{Count, Percentiles, mean_of_counts, rate};

/// Ten ten-point buckets.
pub const QA_BUCKETS: usize = 10;

/// The bucket of a score 0–100 (100 falls in the last). Compared against the edges rather than
/// divided, so a score just under an edge (69.99…) lands where `qa<70` puts it.
pub fn qa_bucket(score: f64) -> usize {
    (1..QA_BUCKETS).filter(|k| score >= (10 * k) as f64).count()
}

/// A bucket's bounds `[lo, hi)`; `hi` is `None` for the last (it holds 100).
pub fn qa_bucket_bounds(i: usize) -> (u32, Option<u32>) {
    let lo = 10 * i as u32;
    (lo, (i + 1 < QA_BUCKETS).then_some(lo + 10))
}

/// How a question was answered (read from its answers, see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AnswerKind {
    #[default]
    YesNo,
    Scale,
    Choice,
}

/// One question of one scorecard.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct QuestionFigures {
    pub id: String,
    pub kind: AnswerKind,
    /// Saves answering it (n.a. included).
    pub answered: u64,
    pub yes: u64,
    pub no: u64,
    pub na: u64,
    /// Scale questions: the mean of the 1–5 answers.
    pub mean: Option<f64>,
    /// Saves per answer text, most first (ties by text): every answer, choices included.
    pub answers: Vec<Count>,
}

impl QuestionFigures {
    /// yes / (yes + no): n.a. is left out.
    pub fn pass_rate(&self) -> Option<f64> {
        rate(self.yes, self.yes + self.no)
    }

    /// Builds one question's figures from `(answer text, saves)` pairs.
    pub fn of(id: &str, counts: &[(String, u64)]) -> QuestionFigures {
        let mut q = QuestionFigures {
            id: id.to_string(),
            ..QuestionFigures::default()
        };
        let mut scale: Vec<(f64, u64)> = Vec::new();
        let (mut yes_no, mut numeric) = (true, true);
        for (text, n) in counts {
            q.answered += n;
            match text.as_str() {
                "yes" => q.yes += n,
                "no" => q.no += n,
                "na" => q.na += n,
                _ => yes_no = false,
            }
            match text.as_str() {
                "na" => {}
                "1" | "2" | "3" | "4" | "5" => scale.push((f64::from(text.as_bytes()[0] - b'0'), *n)),
                _ => numeric = false,
            }
        }
        q.kind = if yes_no {
            AnswerKind::YesNo
        } else if numeric {
            AnswerKind::Scale
        } else {
            AnswerKind::Choice
        };
        if q.kind == AnswerKind::Scale {
            super::coalesce(&mut scale);
            q.mean = mean_of_counts(&scale);
        }
        q.answers = counts
            .iter()
            .map(|(name, calls)| Count {
                name: name.clone(),
                calls: *calls,
            })
            .collect();
        q.answers
            .sort_unstable_by(|a, b| b.calls.cmp(&a.calls).then_with(|| a.name.cmp(&b.name)));
        q
    }
}

/// One scorecard's saves and questions (by question id).
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct CardFigures {
    pub name: String,
    pub saves: u64,
    pub questions: Vec<QuestionFigures>,
}

/// One reviewer's share of the window.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct ReviewerFigures {
    pub name: String,
    pub reviewed: u64,
    pub flagged: u64,
    pub scored: u64,
    pub mean_score: Option<f64>,
}

/// Every QA figure of one window (see the module doc).
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Qa {
    /// Calls with a current save.
    pub scored: u64,
    /// Current saves with a score.
    pub scores: u64,
    /// Saves with a score per [`qa_bucket`], `QA_BUCKETS` long.
    pub distribution: Vec<u64>,
    pub mean: Option<f64>,
    pub median: Option<f64>,
    pub auto_failed: u64,
    /// By scorecard name.
    pub scorecards: Vec<CardFigures>,
    /// By reviewer name.
    pub reviewers: Vec<ReviewerFigures>,
}

impl Qa {
    /// The yes-no questions of every scorecard, in order (the stats view's selectable rows:
    /// Enter lists the calls that answered "no").
    pub fn yes_no_questions(&self) -> impl Iterator<Item = (&CardFigures, &QuestionFigures)> {
        self.scorecards.iter().flat_map(|c| {
            c.questions
                .iter()
                .filter(|q| q.kind == AnswerKind::YesNo)
                .map(move |q| (c, q))
        })
    }

    /// Whether more than one scorecard has a question of this id.
    pub fn question_id_is_shared(&self, id: &str) -> bool {
        self.scorecards
            .iter()
            .filter(|c| c.questions.iter().any(|q| q.id == id))
            .count()
            > 1
    }

    /// The score figures of a coalesced multiset of scores.
    pub fn set_scores(&mut self, sorted: &[(f64, u64)]) {
        self.distribution = vec![0; QA_BUCKETS];
        for &(s, n) in sorted {
            self.distribution[qa_bucket(s)] += n;
        }
        self.scores = sorted.iter().map(|(_, n)| n).sum();
        self.mean = mean_of_counts(sorted);
        self.median = Percentiles::of_counts(sorted).p50;
    }
}

/// Welch's z of B's mean − A's over two coalesced multisets (sample variances): |z| ≥ 1.96 is
/// a difference unlikely to be chance. `None` below two values a side or without spread.
pub fn welch_z(a: &[(f64, u64)], b: &[(f64, u64)]) -> Option<f64> {
    let moments = |v: &[(f64, u64)]| -> Option<(f64, f64, f64)> {
        let n: u64 = v.iter().map(|(_, c)| c).sum();
        let mean = mean_of_counts(v)?;
        (n >= 2).then(|| {
            let ss: f64 = v.iter().map(|&(x, c)| (x - mean) * (x - mean) * c as f64).sum();
            (n as f64, mean, ss / (n as f64 - 1.0))
        })
    };
    let ((na, ma, va), (nb, mb, vb)) = (moments(a)?, moments(b)?);
    let se = (va / na + vb / nb).sqrt();
    (se > 0.0).then(|| (mb - ma) / se)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_ten_points_and_the_last_holds_100() {
        assert_eq!(qa_bucket(0.0), 0);
        assert_eq!(qa_bucket(9.99), 0);
        assert_eq!(qa_bucket(70.0), 7);
        assert_eq!(qa_bucket(100.0), 9);
        assert_eq!(qa_bucket(69.999_999_999_999_99), 6);
        assert_eq!(qa_bucket_bounds(6), (60, Some(70)));
        assert_eq!(qa_bucket_bounds(9), (90, None));
    }

    #[test]
    fn a_question_reads_its_kind_from_its_answers() {
        let c = |v: &[(&str, u64)]| -> Vec<(String, u64)> { v.iter().map(|(s, n)| (s.to_string(), *n)).collect() };
        let q = QuestionFigures::of("greeting", &c(&[("yes", 6), ("no", 2), ("na", 4)]));
        assert_eq!((q.kind, q.answered, q.pass_rate()), (AnswerKind::YesNo, 12, Some(0.75)));
        let q = QuestionFigures::of("understood", &c(&[("2", 1), ("5", 3)]));
        assert_eq!((q.kind, q.mean), (AnswerKind::Scale, Some(4.25)));
        let q = QuestionFigures::of("resolution", &c(&[("partly", 2), ("resolved", 5)]));
        assert_eq!(
            (q.kind, q.pass_rate(), q.answers[0].name.as_str()),
            (AnswerKind::Choice, None, "resolved")
        );
    }

    #[test]
    fn welch_z_is_large_for_a_clear_difference_only() {
        let a: Vec<(f64, u64)> = vec![(50.0, 40), (60.0, 40)];
        let b: Vec<(f64, u64)> = vec![(70.0, 40), (80.0, 40)];
        assert!(welch_z(&a, &b).unwrap() > 5.0);
        assert!(welch_z(&a, &a).unwrap().abs() < 1e-9);
        assert_eq!(welch_z(&a, &[(70.0, 1)]), None);
    }
}
