//! The figures of a time window, one definition each, shared by the TUI's stats view and
//! `callscope stats`. The store (`store::stats`) fills them from SQL over the cached rows; the
//! definitions below (what counts, how a rate and a percentile are taken) are the only ones.
//!
//! - A **call** is a cached conversation that started in the window and matches the filter.
//! - **Voice** calls have a `VOICE…` channel; every other channel is **chat**.
//! - **Handoff rate** = calls handed off / calls; **containment** = 1 − handoff rate.
//! - **Latency** figures are over turns: every turn of a cached transcript that has a latency
//!   is one value (seconds). A turn belongs to the bucket its call started in.
//! - **Percentiles** are exact, nearest rank: p of n sorted values is value number ⌈p·n/100⌉.
//! - **Top intents / topics** count calls (an intent said at three turns counts once).
//! - **PolyScore** distribution: calls with a score, by the score rounded to a whole number;
//!   a group's mean is summed in score order ([`mean_of_counts`]).
//! - Per-hour aggregates (`store::stats_hours`) hold the same values as exact multisets, so
//!   figures merged from them equal figures from the rows, at any value resolution.
//! - **Review**: calls marked reviewed / needs follow-up / flagged; unreviewed is the rest.
//!
//! - **QA**: from the saved scorecards and the reviewers of the marks ([`qa`] defines them).

use serde::Serialize;

pub mod qa;

pub use qa::{AnswerKind, CardFigures, QA_BUCKETS, Qa, QuestionFigures, ReviewerFigures, qa_bucket, qa_bucket_bounds};

/// How many names the top-N figures keep (reasons, intents, topics).
pub const TOP_N: usize = 10;

/// Latency histogram edges in seconds; the last bin is "this or slower".
pub const LATENCY_EDGES: [f64; 8] = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0];

/// A call-count bucket: an hour for windows up to two days, else a day (local time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Bucket {
    #[default]
    Hour,
    Day,
}

impl Bucket {
    pub const MAX_HOURLY_MS: i64 = 48 * 3_600_000;

    pub fn for_window(since_ms: i64, until_ms: i64) -> Bucket {
        if until_ms - since_ms <= Self::MAX_HOURLY_MS {
            Bucket::Hour
        } else {
            Bucket::Day
        }
    }

    pub fn millis(self) -> i64 {
        match self {
            Bucket::Hour => 3_600_000,
            Bucket::Day => 86_400_000,
        }
    }

    /// The start (unix ms) of the bucket holding `t`, aligned to local hours/days (`offset_ms`
    /// east of UTC).
    pub fn floor(self, t_ms: i64, offset_ms: i64) -> i64 {
        let size = self.millis();
        (t_ms + offset_ms).div_euclid(size) * size - offset_ms
    }
}

/// Which groups a split compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum SplitBy {
    #[default]
    None,
    /// The agent variant (an A/B of agent versions).
    Variant,
    /// The client environment (live, sandbox, pre-release).
    Env,
}

/// What to compute: the window, the local offset for bucket edges, and the split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatsRequest {
    pub since_ms: i64,
    pub until_ms: i64,
    pub offset_ms: i64,
    pub split: SplitBy,
    /// A walk over these API pages (`[since, until)` unix ms, unfiltered, under the scope's
    /// environment) completed before this request: the store records the range as covered
    /// first, so [`Stats::uncovered`] no longer lists it.
    pub record_walk: Option<(i64, i64)>,
}

impl StatsRequest {
    pub fn new(since_ms: i64, until_ms: i64, offset_ms: i64, split: SplitBy) -> StatsRequest {
        StatsRequest {
            since_ms,
            until_ms,
            offset_ms,
            split,
            record_walk: None,
        }
    }
}

/// Exact nearest-rank percentiles of a set of values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct Percentiles {
    pub n: u64,
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
}

impl Percentiles {
    /// Sorts `values` (NaN never occurs: the store keeps finite numbers only).
    pub fn of(values: &mut [f64]) -> Percentiles {
        values.sort_unstable_by(f64::total_cmp);
        Percentiles {
            n: values.len() as u64,
            p50: nearest_rank(values, 50),
            p95: nearest_rank(values, 95),
            p99: nearest_rank(values, 99),
        }
    }
}

impl Percentiles {
    /// The same figures from a sorted multiset of `(value, how many)` pairs (see [`coalesce`]):
    /// what the per-hour aggregates merge into, equal to [`Percentiles::of`] over the values.
    pub fn of_counts(sorted: &[(f64, u64)]) -> Percentiles {
        let n: u64 = sorted.iter().map(|(_, c)| c).sum();
        let at = |p: u64| -> Option<f64> {
            if n == 0 {
                return None;
            }
            let rank = (p * n).div_ceil(100).max(1);
            let mut seen = 0;
            sorted.iter().find_map(|&(v, c)| {
                seen += c;
                (seen >= rank).then_some(v)
            })
        };
        Percentiles {
            n,
            p50: at(50),
            p95: at(95),
            p99: at(99),
        }
    }
}

/// Sorts `(value, count)` pairs by value and merges equal values: the exact multiset of the
/// values, in any resolution (stable sort: concatenated sorted runs merge in linear passes).
pub fn coalesce(pairs: &mut Vec<(f64, u64)>) {
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    pairs.dedup_by(|next, kept| {
        if next.0.total_cmp(&kept.0).is_eq() {
            kept.1 += next.1;
            true
        } else {
            false
        }
    });
}

/// The mean of a coalesced multiset, summed in value order (so every path that holds the
/// same values gets the same bits): Σ v·n / Σ n.
pub fn mean_of_counts(sorted: &[(f64, u64)]) -> Option<f64> {
    let n: u64 = sorted.iter().map(|(_, c)| c).sum();
    (n > 0).then(|| sorted.iter().map(|&(v, c)| v * c as f64).sum::<f64>() / n as f64)
}

/// Value number ⌈p·n/100⌉ (1-based) of `sorted`; `None` when empty.
pub fn nearest_rank(sorted: &[f64], p: u32) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let rank = (p as usize * n).div_ceil(100).max(1);
    Some(sorted[rank.min(n) - 1])
}

/// `part / whole`, `None` for an empty whole.
pub fn rate(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// The latency histogram bin of `secs`: `i` with `LATENCY_EDGES[i] <= secs < LATENCY_EDGES[i+1]`.
pub fn latency_bin(secs: f64) -> usize {
    LATENCY_EDGES.iter().rposition(|e| secs >= *e).unwrap_or(0)
}

/// A bin's bounds `[lo, hi)`; `hi` is `None` for the last.
pub fn latency_bin_bounds(i: usize) -> (f64, Option<f64>) {
    (LATENCY_EDGES[i], LATENCY_EDGES.get(i + 1).copied())
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct BucketFigures {
    pub start_ms: i64,
    pub calls: u64,
    pub voice: u64,
    pub chat: u64,
    pub handoffs: u64,
    pub latency: Percentiles,
}

impl BucketFigures {
    pub fn handoff_rate(&self) -> Option<f64> {
        rate(self.handoffs, self.calls)
    }
}

/// A name and how many calls have it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Count {
    pub name: String,
    pub calls: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Review {
    pub reviewed: u64,
    pub follow_up: u64,
    pub unreviewed: u64,
    pub flagged: u64,
}

/// One side of a split.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Group {
    /// The variant id or environment (`(none)` when the API gave none).
    pub name: String,
    pub calls: u64,
    pub handoffs: u64,
    pub latency: Percentiles,
    pub poly_scored: u64,
    pub poly_score_mean: Option<f64>,
    /// Current scorecard saves with a score, and their mean (see [`qa`]).
    pub qa_scores: u64,
    pub qa_score_mean: Option<f64>,
}

impl Group {
    pub fn handoff_rate(&self) -> Option<f64> {
        rate(self.handoffs, self.calls)
    }
}

/// B − A for the two largest groups of a split, and how large that is.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Difference {
    pub a: String,
    pub b: String,
    /// Handoff rate difference (fraction, B − A) and its two-proportion z score: |z| ≥ 1.96 is
    /// a difference unlikely (p < 0.05) to be chance.
    pub handoff_rate: Option<f64>,
    pub handoff_z: Option<f64>,
    /// Latency p50 difference, seconds, and relative to A's.
    pub latency_p50: Option<f64>,
    pub latency_p50_relative: Option<f64>,
    pub poly_score_mean: Option<f64>,
    /// QA score mean difference (points, B − A) and its Welch z ([`qa::welch_z`]).
    pub qa_score_mean: Option<f64>,
    pub qa_z: Option<f64>,
}

impl Difference {
    /// `a_qa`, `b_qa`: the groups' QA scores as coalesced multisets (for the z).
    pub fn between(a: &Group, b: &Group, a_qa: &[(f64, u64)], b_qa: &[(f64, u64)]) -> Difference {
        let handoff_rate = a.handoff_rate().zip(b.handoff_rate()).map(|(x, y)| y - x);
        let handoff_z = (a.calls > 0 && b.calls > 0)
            .then(|| {
                let pooled = (a.handoffs + b.handoffs) as f64 / (a.calls + b.calls) as f64;
                let se = (pooled * (1.0 - pooled) * (1.0 / a.calls as f64 + 1.0 / b.calls as f64)).sqrt();
                (se > 0.0).then(|| handoff_rate.unwrap_or(0.0) / se)
            })
            .flatten();
        let latency_p50 = a.latency.p50.zip(b.latency.p50).map(|(x, y)| y - x);
        Difference {
            a: a.name.clone(),
            b: b.name.clone(),
            handoff_rate,
            handoff_z,
            latency_p50,
            latency_p50_relative: latency_p50
                .zip(a.latency.p50)
                .and_then(|(d, x)| (x > 0.0).then(|| d / x)),
            poly_score_mean: a.poly_score_mean.zip(b.poly_score_mean).map(|(x, y)| y - x),
            qa_score_mean: a.qa_score_mean.zip(b.qa_score_mean).map(|(x, y)| y - x),
            qa_z: qa::welch_z(a_qa, b_qa),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Split {
    pub by: SplitBy,
    /// Largest first.
    pub groups: Vec<Group>,
    /// Between the two largest groups, when there are two.
    pub difference: Option<Difference>,
}

/// Every figure of one window.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Stats {
    pub since_ms: i64,
    pub until_ms: i64,
    pub bucket: Bucket,
    pub calls: u64,
    pub voice: u64,
    pub chat: u64,
    pub handoffs: u64,
    pub in_progress: u64,
    pub hidden_transcripts: u64,
    /// Calls whose transcript is cached (the latency, intent and topic figures cover these).
    pub with_transcript: u64,
    /// Every bucket of the window, empty ones included, oldest first.
    pub buckets: Vec<BucketFigures>,
    pub handoff_reasons: Vec<Count>,
    pub latency: Percentiles,
    /// Turns per bin of [`LATENCY_EDGES`].
    pub latency_histogram: Vec<u64>,
    pub intents: Vec<Count>,
    pub topics: Vec<Count>,
    /// Calls per rounded PolyScore, lowest first.
    pub poly_score: Vec<(i64, u64)>,
    pub poly_scored: u64,
    pub review: Review,
    pub split: Option<Split>,
    pub qa: Qa,
    /// The parts of the window no completed walk covered (for a scope with an environment),
    /// oldest first: what opening the view fetches. Not a figure: not printed.
    #[serde(skip)]
    pub uncovered: Vec<(i64, i64)>,
}

/// The label of calls the API gave no handoff reason (filter word `handoff-reason:(none)`).
pub use crate::domain::filter::NO_REASON;

impl Stats {
    pub fn handoff_rate(&self) -> Option<f64> {
        rate(self.handoffs, self.calls)
    }

    pub fn containment_rate(&self) -> Option<f64> {
        rate(self.calls - self.handoffs.min(self.calls), self.calls)
    }
}

/// `12.3%`, or `–` without a value.
pub fn percent(r: Option<f64>) -> String {
    r.map_or("–".into(), |r| format!("{:.1}%", r * 100.0))
}

/// `0.82s`, or `–`.
pub fn seconds(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.2}s"))
}

/// Eight-level block sparkline of `values` scaled to their maximum.
pub fn sparkline(values: &[u64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = values.iter().copied().max().unwrap_or(0);
    values
        .iter()
        .map(|&v| {
            if max == 0 || v == 0 {
                ' '
            } else {
                BARS[(v * 7 / max) as usize]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut v: Vec<f64> = (1..=10).map(f64::from).collect();
        let p = Percentiles::of(&mut v);
        assert_eq!((p.p50, p.p95, p.p99), (Some(5.0), Some(10.0), Some(10.0)));
        let v: Vec<f64> = (1..=200).map(f64::from).collect();
        assert_eq!(nearest_rank(&v, 95), Some(190.0));
        assert_eq!(nearest_rank(&v, 99), Some(198.0));
        assert_eq!(nearest_rank(&[3.0], 1), Some(3.0));
        assert_eq!(nearest_rank(&[], 50), None);
    }

    #[test]
    fn counted_percentiles_equal_sorted_ones() {
        let mut values: Vec<f64> = (0..997).map(|i| f64::from((i * 7919) % 503) / 1000.0).collect();
        let mut pairs: Vec<(f64, u64)> = values.iter().map(|v| (*v, 1)).collect();
        coalesce(&mut pairs);
        assert!(pairs.len() < values.len(), "repeats merged");
        assert_eq!(Percentiles::of_counts(&pairs), Percentiles::of(&mut values));
        assert_eq!(Percentiles::of_counts(&[]), Percentiles::default());
        assert_eq!(mean_of_counts(&[(1.0, 3), (4.0, 1)]), Some(1.75));
    }

    #[test]
    fn buckets_align_to_local_hours_and_days() {
        let t = 1_764_633_600_000 + 90 * 60_000; // 2025-12-02 01:30 UTC
        assert_eq!(Bucket::Hour.floor(t, 0), 1_764_633_600_000 + 3_600_000);
        // At +05:30, 07:00 local is 01:30 UTC: the hour starts at 01:30 UTC.
        assert_eq!(Bucket::Hour.floor(t, 19_800_000), t);
        assert_eq!(Bucket::Day.floor(t, 0), 1_764_633_600_000);
        assert_eq!(Bucket::for_window(0, 48 * 3_600_000), Bucket::Hour);
        assert_eq!(Bucket::for_window(0, 49 * 3_600_000), Bucket::Day);
    }

    #[test]
    fn latency_bins_are_half_open() {
        assert_eq!(latency_bin(0.0), 0);
        assert_eq!(latency_bin(0.49), 0);
        assert_eq!(latency_bin(0.5), 1);
        assert_eq!(latency_bin(7.99), 6);
        assert_eq!(latency_bin(120.0), 7);
        assert_eq!(latency_bin_bounds(7), (8.0, None));
    }

    #[test]
    fn a_clear_ab_difference_has_a_large_z() {
        let group = |name: &str, calls, handoffs| Group {
            name: name.into(),
            calls,
            handoffs,
            ..Group::default()
        };
        let d = Difference::between(&group("A", 1000, 100), &group("B", 1000, 200), &[], &[]);
        assert!((d.handoff_rate.unwrap() - 0.1).abs() < 1e-12);
        assert!(d.handoff_z.unwrap() > 5.0);
        let same = Difference::between(&group("A", 1000, 100), &group("B", 1000, 102), &[], &[]);
        assert!(same.handoff_z.unwrap().abs() < 1.96);
    }

    #[test]
    fn sparkline_scales_to_the_maximum() {
        assert_eq!(sparkline(&[0, 1, 4, 8]), " ▁▄█");
        assert_eq!(sparkline(&[0, 0]), "  ");
    }
}
