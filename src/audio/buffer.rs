//! The recording's bytes as they arrive: a sparse in-memory copy of the file shared by the
//! download task (writer), the playing source (reader, on the audio thread) and the engine.
//!
//! Sparse because a seek past the downloaded part restarts the download at that offset with an
//! HTTP Range request; the gap behind it is filled later. 1 hour of 8 kHz 16-bit mono is 58 MB.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use super::format::WavFormat;

/// Sorted, disjoint, non-adjacent byte ranges `[start, end)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RangeSet(Vec<(u64, u64)>);

impl RangeSet {
    pub fn insert(&mut self, start: u64, end: u64) {
        if start >= end {
            return;
        }
        let (mut s, mut e) = (start, end);
        self.0.retain(|&(a, b)| {
            if b < s || a > e {
                true
            } else {
                s = s.min(a);
                e = e.max(b);
                false
            }
        });
        let at = self.0.partition_point(|&(a, _)| a < s);
        self.0.insert(at, (s, e));
    }
    /// End of the covered run that contains `at`, if `at` is covered.
    pub fn run_end(&self, at: u64) -> Option<u64> {
        let i = self.0.partition_point(|&(a, _)| a <= at);
        let (a, b) = *self.0.get(i.checked_sub(1)?)?;
        (a <= at && at < b).then_some(b)
    }
    pub fn covers(&self, start: u64, end: u64) -> bool {
        start >= end || self.run_end(start).is_some_and(|b| b >= end)
    }
    /// Start of the first covered range at or after `at`.
    pub fn next_start(&self, at: u64) -> Option<u64> {
        self.0.iter().map(|&(a, _)| a).find(|&a| a >= at)
    }
    /// First byte in `[from, to)` that is not covered.
    pub fn first_gap(&self, from: u64, to: u64) -> Option<u64> {
        let mut at = from;
        while at < to {
            match self.run_end(at) {
                Some(b) => at = b,
                None => return Some(at),
            }
        }
        None
    }
    pub fn total(&self) -> u64 {
        self.0.iter().map(|&(a, b)| b - a).sum()
    }
}

#[derive(Debug, Default)]
pub struct BufState {
    pub data: Vec<u8>,
    pub covered: RangeSet,
    pub format: Option<WavFormat>,
    /// `Content-Length` of the first (full) answer.
    pub content_len: Option<u64>,
    /// The server answered `Accept-Ranges: bytes`.
    pub accepts_ranges: bool,
    /// The last fatal problem (request failed, body cut short, not a WAV).
    pub error: Option<String>,
    /// No more bytes will come: bytes not covered now never will be.
    pub finished: bool,
}

impl BufState {
    /// Copies `bytes` in at file offset `at`.
    pub fn write(&mut self, at: u64, bytes: &[u8]) {
        let end = at as usize + bytes.len();
        if self.data.len() < end {
            self.data.resize(end, 0);
        }
        self.data[at as usize..end].copy_from_slice(bytes);
        self.covered.insert(at, end as u64);
    }
    /// Length of the whole file, once known.
    pub fn file_len(&self) -> Option<u64> {
        self.format.map(|f| f.file_len()).or(self.content_len)
    }
}

/// Shared between the download task, the source and the engine.
#[derive(Debug)]
pub struct SharedBuffer {
    state: Mutex<BufState>,
    /// Bumped after every change, for async waiters.
    changed: tokio::sync::watch::Sender<u64>,
    /// The byte the player is starving for (`u64::MAX`: none); the download task reads it.
    wanted: AtomicU64,
    /// Wakes the download task when `wanted` changes. `notify_one` never blocks.
    pub(crate) want: tokio::sync::Notify,
}

impl Default for SharedBuffer {
    fn default() -> Self {
        SharedBuffer {
            state: Mutex::default(),
            changed: tokio::sync::watch::Sender::new(0),
            wanted: AtomicU64::new(u64::MAX),
            want: tokio::sync::Notify::new(),
        }
    }
}

impl SharedBuffer {
    pub fn lock(&self) -> MutexGuard<'_, BufState> {
        // A panic while holding the lock leaves plain bytes behind: still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
    /// The state, or `None` when someone else holds it right now (the audio thread uses this
    /// so that it never waits for the download task).
    pub fn try_lock(&self) -> Option<MutexGuard<'_, BufState>> {
        match self.state.try_lock() {
            Ok(g) => Some(g),
            Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }
    /// Runs `f` on the state, then wakes async waiters.
    pub fn update<T>(&self, f: impl FnOnce(&mut BufState) -> T) -> T {
        let out = f(&mut self.lock());
        self.changed.send_modify(|v| *v += 1);
        out
    }
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changed.subscribe()
    }
    /// Asks the download task for `byte` (e.g. after a seek); never blocks.
    pub fn request(&self, byte: u64) {
        if self.wanted.swap(byte, Ordering::AcqRel) != byte {
            self.want.notify_one();
        }
    }
    pub fn take_wanted(&self) -> Option<u64> {
        let w = self.wanted.swap(u64::MAX, Ordering::AcqRel);
        (w != u64::MAX).then_some(w)
    }
    /// Waits until `ready(state)` holds (checked after every change).
    pub async fn wait_for(&self, mut ready: impl FnMut(&BufState) -> bool) {
        let mut rx = self.subscribe();
        loop {
            if ready(&self.lock()) {
                return;
            }
            if rx.changed().await.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_merge_and_report_gaps() {
        let mut r = RangeSet::default();
        r.insert(10, 20);
        r.insert(30, 40);
        r.insert(0, 5);
        assert_eq!(r.first_gap(0, 50), Some(5));
        assert_eq!(r.run_end(12), Some(20));
        assert_eq!(r.run_end(20), None);
        r.insert(20, 30);
        assert_eq!(r.0, vec![(0, 5), (10, 40)]);
        assert!(r.covers(10, 40) && !r.covers(4, 11));
        assert_eq!(r.next_start(6), Some(10));
        r.insert(5, 10);
        assert_eq!(r.first_gap(0, 40), None);
        assert_eq!(r.total(), 40);
    }
}
