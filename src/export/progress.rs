//! A one-line progress display on stderr, drawn only when stderr is a terminal.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

pub struct Progress {
    enabled: bool,
    started: Instant,
    last_draw: Option<Instant>,
}

impl Progress {
    pub fn new() -> Self {
        Progress {
            enabled: std::io::stderr().is_terminal(),
            started: Instant::now(),
            last_draw: None,
        }
    }

    /// Redraws at most 10 times a second unless `force`.
    pub fn update(&mut self, conversations: u64, audio: Option<(u64, u64)>, force: bool) {
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        if !force && self.last_draw.is_some_and(|t| now - t < Duration::from_millis(100)) {
            return;
        }
        self.last_draw = Some(now);
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        let mut line = format!(
            "exported {conversations} conversations ({:.0}/s)",
            conversations as f64 / secs
        );
        if let Some((done, total)) = audio {
            line += &format!(" · recordings {done}/{total}");
        }
        let _ = write!(std::io::stderr(), "\r\x1b[2K{line}");
    }

    pub fn finish(&mut self) {
        if self.enabled && self.last_draw.is_some() {
            let _ = writeln!(std::io::stderr());
        }
    }
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}
