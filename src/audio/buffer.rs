//! The recording's bytes as they arrive: a sparse copy of the file shared by the download task
//! (writer), the playing source (reader, on the audio thread) and the engine.
//!
//! Sparse because a seek past the downloaded part restarts the download at that offset with an
//! HTTP Range request; the gap behind it is filled later.
//!
//! Memory is bounded whatever the server claims or sends: the first [`MEMORY_WINDOW`] bytes (the
//! header and the first minutes of a call) stay in memory, every byte past them goes to an
//! anonymous temporary file (deleted by the OS when closed, even after a crash), created only
//! when the recording is that long. 1 hour of 8 kHz 16-bit mono is 58 MB; a header claiming
//! 4 GiB costs no memory, and disk only for the bytes that really arrive.

use std::fs::File;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};

use super::format::WavFormat;

/// Bytes of the file kept in memory (from its start); the rest spills to a temporary file.
pub const MEMORY_WINDOW: u64 = 4 << 20;

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
    /// Bytes `[0, head.len())` of the file (never more than the memory window).
    head: Vec<u8>,
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
    /// Length of the whole file, once known.
    pub fn file_len(&self) -> Option<u64> {
        self.format.map(|f| f.file_len()).or(self.content_len)
    }
}

/// Shared between the download task, the source and the engine.
#[derive(Debug)]
pub struct SharedBuffer {
    state: Mutex<BufState>,
    /// Bytes `[0, window)` live in `BufState::head`, the rest in `spill`.
    window: u64,
    /// Byte `window + i` of the recording is byte `i` of this file; created on the first such
    /// byte. Written outside the state lock (so a slow disk never holds up the audio thread),
    /// then marked covered under it: covered bytes are in place for any reader.
    spill: OnceLock<File>,
    /// Bumped after every change, for async waiters.
    changed: tokio::sync::watch::Sender<u64>,
    /// The byte the player is starving for (`u64::MAX`: none); the download task reads it.
    wanted: AtomicU64,
    /// Wakes the download task when `wanted` changes. `notify_one` never blocks.
    pub(crate) want: tokio::sync::Notify,
}

impl Default for SharedBuffer {
    fn default() -> Self {
        Self::with_memory_window(MEMORY_WINDOW)
    }
}

impl SharedBuffer {
    /// A buffer that keeps the first `window` bytes in memory (tests use a small one).
    pub fn with_memory_window(window: u64) -> Self {
        SharedBuffer {
            state: Mutex::default(),
            window,
            spill: OnceLock::new(),
            changed: tokio::sync::watch::Sender::new(0),
            wanted: AtomicU64::new(u64::MAX),
            want: tokio::sync::Notify::new(),
        }
    }
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

    /// Stores `bytes` at file offset `at`, marks them held and wakes waiters. Memory use does
    /// not depend on `at` or on any length the server claimed.
    pub fn write(&self, at: u64, bytes: &[u8]) -> Result<(), String> {
        let in_memory = (self.window.saturating_sub(at) as usize).min(bytes.len());
        let (mem, disk) = bytes.split_at(in_memory);
        if !disk.is_empty() {
            let offset = at + in_memory as u64 - self.window;
            write_at(self.spill_file()?, disk, offset)
                .map_err(|e| format!("could not keep the recording in a temporary file: {e}"))?;
        }
        self.update(|s| {
            if !mem.is_empty() {
                let (from, to) = (at as usize, at as usize + mem.len());
                if s.head.len() < to {
                    if s.head.capacity() == 0 {
                        // One allocation, so the head never reallocates under the lock the
                        // audio thread reads through; the claim is capped by the window.
                        let hint = s.file_len().unwrap_or(self.window).clamp(to as u64, self.window);
                        s.head.reserve_exact(hint as usize);
                    }
                    s.head.resize(to, 0);
                }
                s.head[from..to].copy_from_slice(mem);
            }
            s.covered.insert(at, at + bytes.len() as u64);
        });
        Ok(())
    }

    fn spill_file(&self) -> Result<&File, String> {
        if let Some(f) = self.spill.get() {
            return Ok(f);
        }
        let f = tempfile::tempfile().map_err(|e| {
            format!(
                "could not create a temporary file for the recording in {}: {e}",
                std::env::temp_dir().display()
            )
        })?;
        // Only the download task writes, so there is no race to lose; if there were, the
        // losing file would just be closed (and so deleted).
        Ok(self.spill.get_or_init(|| f))
    }

    /// Copies bytes `[at, at + out.len())` into `out`. `s` is this buffer's state (held by the
    /// caller, who checked `s.covered`); bytes not held are an error, never a panic.
    pub fn read(&self, s: &BufState, at: u64, out: &mut [u8]) -> std::io::Result<()> {
        let in_memory = (self.window.saturating_sub(at) as usize).min(out.len());
        let (mem, disk) = out.split_at_mut(in_memory);
        let not_held = || std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "bytes not downloaded");
        if !mem.is_empty() {
            let held = s.head.get(at as usize..at as usize + mem.len()).ok_or_else(not_held)?;
            mem.copy_from_slice(held);
        }
        if !disk.is_empty() {
            let offset = at + in_memory as u64 - self.window;
            read_at(self.spill.get().ok_or_else(not_held)?, disk, offset)?;
        }
        Ok(())
    }

    /// [`SharedBuffer::read`] into a new vector.
    pub fn read_vec(&self, s: &BufState, at: u64, len: usize) -> std::io::Result<Vec<u8>> {
        let mut v = vec![0; len];
        self.read(s, at, &mut v)?;
        Ok(v)
    }

    /// Bytes of the recording held in memory (at most the window).
    pub fn memory_bytes(&self) -> usize {
        self.lock().head.capacity()
    }

    /// Some bytes live in the temporary file.
    pub fn spilled(&self) -> bool {
        self.spill.get().is_some()
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

// Positional file I/O: no shared cursor, so the writer and readers never race on one.
#[cfg(unix)]
fn write_at(f: &File, bytes: &[u8], at: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(f, bytes, at)
}

#[cfg(unix)]
fn read_at(f: &File, out: &mut [u8], at: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(f, out, at)
}

#[cfg(windows)]
fn write_at(f: &File, mut bytes: &[u8], mut at: u64) -> std::io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !bytes.is_empty() {
        match f.seek_write(bytes, at)? {
            0 => return Err(std::io::ErrorKind::WriteZero.into()),
            n => (bytes, at) = (&bytes[n..], at + n as u64),
        }
    }
    Ok(())
}

#[cfg(windows)]
fn read_at(f: &File, mut out: &mut [u8], mut at: u64) -> std::io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !out.is_empty() {
        match f.seek_read(out, at)? {
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            n => (out, at) = (&mut std::mem::take(&mut out)[n..], at + n as u64),
        }
    }
    Ok(())
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

    /// Bytes written in any order, across the memory window, read back exactly.
    #[test]
    fn bytes_past_the_window_spill_to_a_file_and_read_back_across_the_boundary() {
        let file: Vec<u8> = (0..10_000u32).map(|i| (i * 31 % 251) as u8).collect();
        let buf = SharedBuffer::with_memory_window(4_096);
        // A Range jump first (all past the window), then the start, then the gap across it.
        buf.write(6_000, &file[6_000..]).unwrap();
        assert!(buf.spilled());
        assert_eq!(buf.memory_bytes(), 0, "nothing in memory yet");
        buf.write(0, &file[..1_000]).unwrap();
        buf.write(1_000, &file[1_000..6_000]).unwrap();
        let s = buf.lock();
        assert_eq!(s.covered.first_gap(0, 10_000), None);
        assert_eq!(buf.read_vec(&s, 0, 10_000).unwrap(), file);
        assert_eq!(buf.read_vec(&s, 4_000, 200).unwrap(), file[4_000..4_200]);
        drop(s);
        assert!(buf.memory_bytes() <= 4_096, "{}", buf.memory_bytes());
    }

    /// A far offset (a header claiming 4 GiB, a Range answer near its end) costs no memory, and
    /// bytes that never arrived are an error to read, not garbage or a panic.
    #[test]
    fn a_far_write_costs_no_memory_and_missing_bytes_are_an_error() {
        let buf = SharedBuffer::default();
        buf.write(0, &[7; 44]).unwrap();
        buf.write(4 << 30, &[1, 2, 3, 4]).unwrap();
        assert!(buf.memory_bytes() <= MEMORY_WINDOW as usize);
        let s = buf.lock();
        assert_eq!(buf.read_vec(&s, 4 << 30, 4).unwrap(), [1, 2, 3, 4]);
        assert!(buf.read_vec(&s, 40, 10).is_err(), "past the held head");
        drop(s);
        let fresh = SharedBuffer::default();
        assert!(fresh.read_vec(&fresh.lock(), MEMORY_WINDOW, 4).is_err(), "no file yet");
    }
}
