//! Writing output files: atomically when the target is a regular file, directly when it is a
//! special one, and never a temporary file left behind.
//!
//! A missing or regular target is written through a hidden `.NAME.partial-PID-N` beside it and
//! renamed over it on [`AtomicFile::commit`]: a reader never sees half a file and a failed run keeps
//! the old one. A target that exists and is not a regular file (a FIFO, a device node, a terminal)
//! is opened and written in place: renaming over it would replace the node (`/dev/null` as root)
//! or leave a FIFO's reader with nothing.
//!
//! The temporary file goes away when the [`AtomicFile`] is dropped (an error, a panic, a cancelled
//! future) and, in commands that call [`remove_partials_on_signals`], when SIGINT, SIGTERM or
//! SIGHUP ends the process.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Temporary files that exist right now, so a signal can remove them before the process ends.
static PARTIALS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
static NEXT: AtomicU64 = AtomicU64::new(0);

fn register(p: &Path) {
    PARTIALS.lock().unwrap_or_else(|e| e.into_inner()).push(p.to_path_buf());
}

fn unregister(p: &Path) {
    let mut all = PARTIALS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(i) = all.iter().position(|q| q == p) {
        all.swap_remove(i);
    }
}

/// Removes every temporary file still being written (for a signal or exit path).
pub fn remove_partials() {
    let all = PARTIALS.lock().unwrap_or_else(|e| e.into_inner());
    for p in all.iter() {
        let _ = std::fs::remove_file(p);
    }
}

/// On SIGINT, SIGTERM or SIGHUP: removes the temporary files, then ends the process by the same
/// signal (so the parent sees what happened). Call once, inside the Tokio runtime, from commands
/// that own the process (export, marks export) — not from the TUI, which handles signals itself.
#[cfg(unix)]
pub fn remove_partials_on_signals() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(watch_signals);
}

#[cfg(unix)]
fn watch_signals() {
    use tokio::signal::unix::{SignalKind, signal};
    let kinds = [SignalKind::interrupt(), SignalKind::terminate(), SignalKind::hangup()];
    let mut streams = Vec::new();
    for kind in kinds {
        match signal(kind) {
            Ok(s) => streams.push((kind.as_raw_value(), s)),
            Err(e) => tracing::warn!("cannot watch signal {}: {e}", kind.as_raw_value()),
        }
    }
    tokio::spawn(async move {
        let waits = streams.iter_mut().map(|(n, s)| {
            let n = *n;
            Box::pin(async move {
                s.recv().await;
                n
            })
        });
        let (signo, _, _) = futures_util::future::select_all(waits).await;
        remove_partials();
        // SAFETY: resetting a handler and raising a signal have no memory-safety preconditions.
        unsafe {
            libc::signal(signo, libc::SIG_DFL);
            libc::raise(signo);
        }
        std::process::exit(128 + signo);
    });
}

#[cfg(not(unix))]
pub fn remove_partials_on_signals() {}

/// An output file being written; see the module docs.
pub struct AtomicFile {
    target: PathBuf,
    /// The temporary file while writing through one; `None` when writing the target in place.
    partial: Option<PathBuf>,
    out: BufWriter<File>,
}

impl AtomicFile {
    /// Starts writing `target`. A replaced regular file keeps its permission bits.
    pub fn create(target: &Path) -> io::Result<AtomicFile> {
        Self::open(target, None)
    }

    /// Like [`create`](Self::create), but the file ends up mode 0600 whatever was there before
    /// (for secrets).
    pub fn create_private(target: &Path) -> io::Result<AtomicFile> {
        Self::open(target, Some(0o600))
    }

    fn open(target: &Path, mode: Option<u32>) -> io::Result<AtomicFile> {
        let existing = match std::fs::metadata(target) {
            Ok(m) if m.is_dir() => {
                return Err(io::Error::new(
                    io::ErrorKind::IsADirectory,
                    format!("{} is a directory", target.display()),
                ));
            }
            Ok(m) if !m.is_file() => {
                // FIFO, device, socket, terminal: write in place, never rename over it.
                let file = OpenOptions::new().write(true).open(target)?;
                return Ok(AtomicFile {
                    target: target.to_path_buf(),
                    partial: None,
                    out: BufWriter::new(file),
                });
            }
            Ok(m) => Some(m.permissions()),
            Err(_) => None,
        };
        let partial = partial_path(target)?;
        // Registered before it exists, so no signal can slip between creating and registering.
        register(&partial);
        let mut opts = OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, mode.unwrap_or(0o666));
        let file = match opts.open(&partial) {
            Ok(f) => f,
            Err(e) => {
                unregister(&partial);
                return Err(e);
            }
        };
        let me = AtomicFile {
            target: target.to_path_buf(),
            partial: Some(partial),
            out: BufWriter::new(file),
        };
        match (mode, existing) {
            #[cfg(unix)]
            (Some(mode), _) => {
                // The umask may have taken bits away; it cannot have added any, but be exact.
                use std::os::unix::fs::PermissionsExt;
                me.out
                    .get_ref()
                    .set_permissions(std::fs::Permissions::from_mode(mode))?;
            }
            (None, Some(perms)) => me.out.get_ref().set_permissions(perms)?,
            _ => {}
        }
        Ok(me)
    }

    /// `true` when the target is a special file written in place (nothing is renamed).
    pub fn is_in_place(&self) -> bool {
        self.partial.is_none()
    }

    /// The file the bytes go to now: the temporary file, or the target itself when in place.
    pub fn written_path(&self) -> &Path {
        self.partial.as_deref().unwrap_or(&self.target)
    }

    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Another handle on the open file (e.g. for async writes); flush it before `commit`.
    pub fn try_clone_file(&self) -> io::Result<File> {
        self.out.get_ref().try_clone()
    }

    /// Finishes: flushes, syncs and renames the temporary file over the target. On error the
    /// temporary file is removed and the target is untouched.
    pub fn commit(mut self) -> io::Result<()> {
        self.out.flush()?;
        let Some(partial) = self.partial.clone() else {
            return Ok(());
        };
        self.out.get_ref().sync_all()?;
        std::fs::rename(&partial, &self.target)?;
        // Renamed: nothing left for Drop to remove.
        self.partial = None;
        unregister(&partial);
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.out.write_all(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if let Some(p) = self.partial.take() {
            let _ = std::fs::remove_file(&p);
            unregister(&p);
        }
    }
}

/// Writes `bytes` to `path` (see [`AtomicFile`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = AtomicFile::create(path)?;
    f.write_all(bytes)?;
    f.commit()
}

/// `.NAME.partial-PID-N` in the target's directory (the same file system, so the rename is atomic).
fn partial_path(target: &Path) -> io::Result<PathBuf> {
    let name = target.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not a file name", target.display()),
        )
    })?;
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    Ok(target.with_file_name(format!(
        ".{}.partial-{}-{n}",
        name.to_string_lossy(),
        std::process::id()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn regular_targets_are_replaced_on_commit_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        std::fs::write(&path, "old").unwrap();
        let mut f = AtomicFile::create(&path).unwrap();
        f.write_all(b"new").unwrap();
        assert!(!f.is_in_place());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old", "not before commit");
        f.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(names(dir.path()), ["out.csv"]);
    }

    #[test]
    fn a_dropped_file_leaves_the_target_and_no_partial() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        std::fs::write(&path, "old").unwrap();
        {
            let mut f = AtomicFile::create(&path).unwrap();
            f.write_all(b"half").unwrap();
            assert!(
                f.written_path()
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .contains(".partial-")
            );
        }
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(names(dir.path()), ["out.csv"]);
        assert!(PARTIALS.lock().unwrap().iter().all(|p| !p.starts_with(dir.path())));
    }

    #[test]
    fn a_panic_while_writing_leaves_no_partial() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.jsonl");
        let p = path.clone();
        let r = std::panic::catch_unwind(move || {
            let mut f = AtomicFile::create(&p).unwrap();
            f.write_all(b"x").unwrap();
            panic!("boom");
        });
        assert!(r.is_err());
        assert!(names(dir.path()).is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn private_files_end_up_0600_and_replaced_files_keep_their_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "old").unwrap();
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut f = AtomicFile::create_private(&secret).unwrap();
        f.write_all(b"whsec").unwrap();
        f.commit().unwrap();
        let mode = std::fs::metadata(&secret).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);

        let shared = dir.path().join("shared.csv");
        std::fs::write(&shared, "old").unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_atomic(&shared, b"new").unwrap();
        let mode = std::fs::metadata(&shared).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
    }

    #[test]
    fn a_directory_target_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = AtomicFile::create(dir.path()).err().unwrap();
        assert!(err.to_string().contains("is a directory"), "{err}");
    }
}
