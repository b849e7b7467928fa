//! Logging through `tracing`: to a file while the TUI owns the screen, to stderr otherwise.
//! The level comes from `CALLSCOPE_LOG` (error, warn, info, debug, trace).

use std::path::{Path, PathBuf};

use tracing_subscriber::filter::LevelFilter;

fn level(default: LevelFilter) -> LevelFilter {
    std::env::var("CALLSCOPE_LOG")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Logs to stderr at `warn` by default (for the non-TUI commands).
pub fn init_stderr() {
    let _ = tracing_subscriber::fmt()
        .with_max_level(level(LevelFilter::WARN))
        // Log lines quote server text (error bodies, ids): sanitized like everything printed.
        .with_writer(|| crate::output::Sanitized(std::io::stderr()))
        .try_init();
}

/// Logs to `dir/callscope.log` (appending) at `info` by default. Returns the log path.
/// Never writes to the terminal.
pub fn init_file(dir: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join("callscope.log");
    let file = std::fs::OpenOptions::new().create(true).append(true).open(&path)?;
    let file = std::sync::Mutex::new(crate::output::Sanitized(file));
    let _ = tracing_subscriber::fmt()
        .with_max_level(level(LevelFilter::INFO))
        .with_ansi(false)
        // Sanitized too: the log is read with `cat` and `tail -f`.
        .with_writer(file)
        .try_init();
    Ok(path)
}
