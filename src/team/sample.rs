//! A uniform random sample of a stream of unknown length, in bounded memory: every item offered
//! gets a random key from a seeded generator, and the `n` smallest keys are kept (a bottom-k
//! reservoir). The same seed over the same stream gives the same sample. With strata (e.g. by
//! channel) each stratum keeps its own reservoir and the sample is split between strata in
//! proportion to their sizes (largest remainder), so every stratum is represented fairly.

use std::collections::{BTreeMap, BinaryHeap};

use rand_core::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;

/// Strata beyond this many are refused: the key comes from the network, memory must stay bounded.
pub const MAX_STRATA: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Item {
    pub id: String,
    pub stratum: String,
    /// Extra text kept with the item (its channel and start time, for the queue's listing).
    pub started_at: String,
}

#[derive(Default)]
struct Stratum {
    seen: u64,
    /// Max-heap on the key: the largest kept key is evicted first.
    kept: BinaryHeap<(u64, Item)>,
}

pub struct Sampler {
    n: usize,
    rng: Pcg64Mcg,
    strata: BTreeMap<String, Stratum>,
}

impl Sampler {
    pub fn new(n: usize, seed: u64) -> Sampler {
        Sampler {
            n,
            rng: Pcg64Mcg::seed_from_u64(seed),
            strata: BTreeMap::new(),
        }
    }

    /// Offers one item of the stream (in the stream's order). Errs past [`MAX_STRATA`] strata.
    pub fn offer(&mut self, item: Item) -> Result<(), String> {
        // Drawn for every item, kept or not, so the sample depends only on the seed and the stream.
        let key = self.rng.next_u64();
        if !self.strata.contains_key(&item.stratum) && self.strata.len() >= MAX_STRATA {
            return Err(format!(
                "more than {MAX_STRATA} strata (at {:?}): stratify by a field with fewer values",
                item.stratum
            ));
        }
        let s = self.strata.entry(item.stratum.clone()).or_default();
        if s.kept.iter().any(|(_, kept)| kept.id == item.id) {
            // The same conversation listed twice (pages shifted under the walk): count it once.
            return Ok(());
        }
        s.seen += 1;
        if s.kept.len() < self.n {
            s.kept.push((key, item));
        } else if s.kept.peek().is_some_and(|(top, _)| key < *top) {
            s.kept.pop();
            s.kept.push((key, item));
        }
        Ok(())
    }

    /// How many items were offered (distinct within each reservoir).
    pub fn seen(&self) -> u64 {
        self.strata.values().map(|s| s.seen).sum()
    }

    /// The sample, in random (key) order: `min(n, seen)` items split across strata by size.
    pub fn finish(self) -> Vec<Item> {
        let sizes: Vec<u64> = self.strata.values().map(|s| s.seen).collect();
        let alloc = allocate(self.n as u64, &sizes);
        let mut out: Vec<(u64, Item)> = Vec::new();
        for (stratum, take) in self.strata.into_values().zip(alloc) {
            let mut kept = stratum.kept.into_sorted_vec();
            kept.truncate(take as usize);
            out.extend(kept);
        }
        out.sort();
        out.into_iter().map(|(_, item)| item).collect()
    }
}

/// Splits `n` between strata of these sizes in proportion (largest remainder; ties to the
/// earlier stratum), never more than a stratum holds.
pub fn allocate(n: u64, sizes: &[u64]) -> Vec<u64> {
    let total: u64 = sizes.iter().sum();
    if total <= n {
        return sizes.to_vec();
    }
    let mut alloc: Vec<u64> = sizes.iter().map(|s| n * s / total).collect();
    let mut left = n - alloc.iter().sum::<u64>();
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    // Remainder of n·s/total, compared exactly as integers.
    order.sort_by_key(|&i| std::cmp::Reverse((n * sizes[i]) % total));
    for i in order {
        if left == 0 {
            break;
        }
        if alloc[i] < sizes[i] {
            alloc[i] += 1;
            left -= 1;
        }
    }
    alloc
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(i: usize, stratum: &str) -> Item {
        Item {
            id: format!("c{i}"),
            stratum: stratum.into(),
            started_at: String::new(),
        }
    }

    fn sample(n: usize, seed: u64, len: usize) -> Vec<String> {
        let mut s = Sampler::new(n, seed);
        for i in 0..len {
            s.offer(item(i, "")).unwrap();
        }
        s.finish().into_iter().map(|i| i.id).collect()
    }

    #[test]
    fn same_seed_same_sample_other_seed_other_sample() {
        let a = sample(50, 7, 1000);
        assert_eq!(a.len(), 50);
        assert_eq!(a, sample(50, 7, 1000));
        assert_ne!(a, sample(50, 8, 1000));
        let mut distinct = a.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), 50);
    }

    #[test]
    fn a_short_stream_is_taken_whole() {
        let mut got = sample(50, 1, 10);
        got.sort();
        let mut want: Vec<String> = (0..10).map(|i| format!("c{i}")).collect();
        want.sort();
        assert_eq!(got, want);
    }

    #[test]
    fn every_item_is_equally_likely() {
        // 10 of 40 over 400 seeds: each item is expected 100 times; a biased reservoir (say,
        // toward the start of the stream) would leave whole quarters far off that.
        let mut hits = [0u32; 40];
        for seed in 0..400 {
            for id in sample(10, seed, 40) {
                hits[id[1..].parse::<usize>().unwrap()] += 1;
            }
        }
        for quarter in hits.chunks(10) {
            let sum: u32 = quarter.iter().sum();
            assert!((850..=1150).contains(&sum), "{hits:?}");
        }
    }

    #[test]
    fn strata_get_proportional_shares() {
        assert_eq!(allocate(10, &[60, 30, 10]), [6, 3, 1]);
        // 7 of (5, 3, 2): 3.5, 2.1, 1.4 → 3, 2, 1 and the one left to the largest remainder.
        assert_eq!(allocate(7, &[5, 3, 2]), [4, 2, 1]);
        assert_eq!(allocate(50, &[3, 4]), [3, 4]);
        let mut s = Sampler::new(10, 3);
        for i in 0..90 {
            s.offer(item(i, if i % 3 == 0 { "chat" } else { "voice" })).unwrap();
        }
        let got = s.finish();
        let chat = got.iter().filter(|i| i.stratum == "chat").count();
        assert_eq!((got.len(), chat), (10, 3));
    }

    #[test]
    fn too_many_strata_are_refused_and_duplicates_count_once() {
        let mut s = Sampler::new(5, 0);
        for i in 0..MAX_STRATA {
            s.offer(item(i, &format!("s{i}"))).unwrap();
        }
        assert!(s.offer(item(999, "one-more")).unwrap_err().contains("strata"));
        let mut s = Sampler::new(5, 0);
        s.offer(item(1, "")).unwrap();
        s.offer(item(1, "")).unwrap();
        assert_eq!((s.seen(), s.finish().len()), (1, 1));
    }
}
