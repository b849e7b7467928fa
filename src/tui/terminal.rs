//! Terminal setup and teardown: raw mode + alternate screen, restored on exit, error, panic
//! and around Ctrl-Z.

use std::io::{self, Stdout, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI32, Ordering};

use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use crossterm::terminal::{EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub type Term = Terminal<CrosstermBackend<Stdout>>;

/// Where stderr goes while the TUI owns the screen (set once by `stderr_to`).
static STDERR_LOG: OnceLock<PathBuf> = OnceLock::new();
/// The terminal's stderr, saved by `dup` while fd 2 points at the log; -1 when not redirected.
static SAVED_STDERR: AtomicI32 = AtomicI32::new(-1);

/// From the next `enter` on, fd 2 is pointed at `log` until `restore` (alsa-lib and other C
/// code write there directly, which would smear the screen).
pub fn stderr_to(log: &Path) {
    let _ = STDERR_LOG.set(log.to_path_buf());
}

#[cfg(unix)]
fn redirect_stderr() {
    use std::os::fd::AsRawFd;
    let Some(path) = STDERR_LOG.get() else { return };
    if SAVED_STDERR.load(Ordering::SeqCst) >= 0 {
        return;
    }
    let Ok(file) = std::fs::OpenOptions::new().create(true).append(true).open(path) else {
        return;
    };
    // SAFETY: dup/dup2 on fd 2 and on a file we own; on failure nothing changes.
    unsafe {
        let saved = libc::dup(2);
        if saved < 0 {
            return;
        }
        if libc::dup2(file.as_raw_fd(), 2) < 0 {
            libc::close(saved);
            return;
        }
        SAVED_STDERR.store(saved, Ordering::SeqCst);
    }
}

#[cfg(unix)]
fn restore_stderr() {
    let saved = SAVED_STDERR.swap(-1, Ordering::SeqCst);
    if saved >= 0 {
        // SAFETY: `saved` is the dup of the terminal's stderr made by `redirect_stderr`.
        unsafe {
            libc::dup2(saved, 2);
            libc::close(saved);
        }
    }
}

#[cfg(not(unix))]
fn redirect_stderr() {}
#[cfg(not(unix))]
fn restore_stderr() {}

/// Takes over the terminal.
pub fn enter() -> io::Result<Term> {
    redirect_stderr();
    enable_raw_mode()?;
    execute!(io::stdout(), EnterAlternateScreen, crossterm::cursor::Hide)?;
    Terminal::new(CrosstermBackend::new(io::stdout()))
}

/// Gives the terminal back as it was. Safe to call more than once.
pub fn restore() {
    let _ = execute!(
        io::stdout(),
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
    let _ = disable_raw_mode();
    let _ = io::stdout().flush();
    restore_stderr();
}

pub fn set_mouse_capture(on: bool) -> io::Result<()> {
    if on {
        execute!(io::stdout(), EnableMouseCapture)
    } else {
        execute!(io::stdout(), DisableMouseCapture)
    }
}

/// Restores the terminal first, then lets the previous hook report the panic readably.
pub fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
}

/// Ctrl-Z: give the terminal back, stop until `fg`, then take it again.
pub fn suspend(term: &mut Term, mouse: bool) -> io::Result<()> {
    restore();
    #[cfg(unix)]
    // SAFETY: raise() only delivers a signal to this process; SIGTSTP's default action stops
    // it until SIGCONT, after which raise returns.
    unsafe {
        libc::raise(libc::SIGTSTP);
    }
    redirect_stderr();
    enable_raw_mode()?;
    execute!(io::stdout(), EnterAlternateScreen, crossterm::cursor::Hide)?;
    if mouse {
        set_mouse_capture(true)?;
    }
    term.clear()
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn stderr_goes_to_the_log_while_redirected_and_comes_back() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("callscope.log");
        stderr_to(&log);
        let write2 = |text: &str| {
            // SAFETY: writes a valid buffer to fd 2, as alsa-lib would.
            unsafe { libc::write(2, text.as_ptr().cast(), text.len()) };
        };
        redirect_stderr();
        write2("ALSA lib pcm.c: underrun occurred\n");
        restore_stderr();
        write2(""); // fd 2 is usable again after the restore
        let logged = std::fs::read_to_string(&log).unwrap();
        assert!(logged.contains("ALSA lib pcm.c: underrun occurred"), "{logged:?}");
        assert_eq!(SAVED_STDERR.load(Ordering::SeqCst), -1);
        // A second restore is harmless.
        restore_stderr();
    }
}
