//! Inter-reviewer agreement on one question: percent agreement and Cohen's kappa. Pure.
//!
//! Each item scored by two or more reviewers gives one pair per two reviewers; in a pair the
//! reviewer whose name sorts first is "rater 1". With the same two reviewers on every item this is
//! the textbook Cohen's kappa; with rotating reviewers it is the usual pairwise generalisation.

use std::collections::BTreeMap;

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Agreement {
    /// Pairs of answers compared.
    pub pairs: u64,
    /// Share of pairs that agree, 0–100.
    pub percent: f64,
    /// Cohen's kappa; `None` when chance agreement is already 1 (every answer the same category),
    /// where kappa is undefined.
    pub kappa: Option<f64>,
}

/// `items`: per item, (reviewer, answer) for each reviewer who answered. Items with fewer than
/// two answers are left out; `None` when no item has two.
pub fn agreement<'a>(items: impl IntoIterator<Item = &'a [(String, String)]>) -> Option<Agreement> {
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    for item in items {
        let mut sorted: Vec<&(String, String)> = item.iter().collect();
        sorted.sort();
        for i in 0..sorted.len() {
            for j in i + 1..sorted.len() {
                pairs.push((&sorted[i].1, &sorted[j].1));
            }
        }
    }
    if pairs.is_empty() {
        return None;
    }
    let n = pairs.len() as f64;
    let agree = pairs.iter().filter(|(a, b)| a == b).count() as f64;
    let mut first: BTreeMap<&str, f64> = BTreeMap::new();
    let mut second: BTreeMap<&str, f64> = BTreeMap::new();
    for (a, b) in &pairs {
        *first.entry(a).or_default() += 1.0;
        *second.entry(b).or_default() += 1.0;
    }
    let p_o = agree / n;
    let p_e: f64 = first
        .iter()
        .map(|(cat, c1)| c1 / n * second.get(cat).copied().unwrap_or(0.0) / n)
        .sum();
    let kappa = ((1.0 - p_e).abs() > 1e-12).then(|| (p_o - p_e) / (1.0 - p_e));
    Some(Agreement {
        pairs: pairs.len() as u64,
        percent: 100.0 * p_o,
        kappa,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two(a: &[&str], b: &[&str]) -> Vec<Vec<(String, String)>> {
        a.iter()
            .zip(b)
            .map(|(x, y)| vec![("alice".to_string(), x.to_string()), ("bob".to_string(), y.to_string())])
            .collect()
    }

    fn run(items: &[Vec<(String, String)>]) -> Option<Agreement> {
        agreement(items.iter().map(Vec::as_slice))
    }

    #[test]
    fn textbook_two_by_two() {
        // 50 items: both yes 20, alice yes/bob no 5, alice no/bob yes 10, both no 15.
        // p_o = 35/50 = 0.7; alice yes 25/50, bob yes 30/50;
        // p_e = 0.5·0.6 + 0.5·0.4 = 0.5; kappa = (0.7 − 0.5)/(1 − 0.5) = 0.4.
        let mut a = Vec::new();
        let mut b = Vec::new();
        for (x, y, n) in [
            ("yes", "yes", 20),
            ("yes", "no", 5),
            ("no", "yes", 10),
            ("no", "no", 15),
        ] {
            for _ in 0..n {
                a.push(x);
                b.push(y);
            }
        }
        let got = run(&two(&a, &b)).unwrap();
        assert_eq!(got.pairs, 50);
        assert!((got.percent - 70.0).abs() < 1e-9);
        assert!((got.kappa.unwrap() - 0.4).abs() < 1e-9, "{got:?}");
    }

    #[test]
    fn three_categories_by_hand() {
        // alice: 1 1 2 2 3 3, bob: 1 2 2 2 3 1 → agree on 4 of 6 (p_o = 2/3).
        // alice marginals 2/6 each; bob: 1→2/6, 2→3/6, 3→1/6;
        // p_e = (1/3)(2/6 + 3/6 + 1/6) = 1/3; kappa = (2/3 − 1/3)/(2/3) = 0.5.
        let got = run(&two(&["1", "1", "2", "2", "3", "3"], &["1", "2", "2", "2", "3", "1"])).unwrap();
        assert!((got.kappa.unwrap() - 0.5).abs() < 1e-9, "{got:?}");
        assert!((got.percent - 400.0 / 6.0).abs() < 1e-9);
    }

    #[test]
    fn perfect_disagreement_is_negative_and_one_category_is_undefined() {
        let got = run(&two(&["yes", "no"], &["no", "yes"])).unwrap();
        assert_eq!(got.percent, 0.0);
        assert!((got.kappa.unwrap() + 1.0).abs() < 1e-9);
        let same = run(&two(&["yes", "yes"], &["yes", "yes"])).unwrap();
        assert_eq!((same.percent, same.kappa), (100.0, None));
    }

    #[test]
    fn items_with_one_answer_are_left_out_and_three_reviewers_give_three_pairs() {
        let single = vec![vec![("alice".to_string(), "yes".to_string())]];
        assert_eq!(run(&single), None);
        let three = vec![vec![
            ("carol".to_string(), "no".to_string()),
            ("alice".to_string(), "yes".to_string()),
            ("bob".to_string(), "yes".to_string()),
        ]];
        let got = run(&three).unwrap();
        // Pairs (alice,bob) agree, (alice,carol) and (bob,carol) do not.
        assert_eq!(got.pairs, 3);
        assert!((got.percent - 100.0 / 3.0).abs() < 1e-9);
    }
}
