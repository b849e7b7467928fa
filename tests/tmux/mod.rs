//! A private tmux server for the end-to-end tests: start the real binary, type keys, read
//! the screen back.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Tmux {
    pub socket: String,
}

impl Tmux {
    pub fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn keys(&self, keys: &[&str]) {
        for k in keys {
            self.run(&["send-keys", "-t", "e2e", k]);
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    pub fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "e2e"])
    }

    /// Polls the screen until `pred` holds; panics with the last screen after `secs`.
    pub fn wait_for(&self, what: &str, secs: u64, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn format(&self, f: &str) -> String {
        self.run(&["display-message", "-p", "-t", "e2e", f]).trim().to_string()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux").args(["-L", &self.socket, "kill-server"]).output();
    }
}

pub fn tmux_available() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

pub fn shell_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', "'\\''"))
}

impl Tmux {
    /// `callscope demo ARGS` in a private tmux server (120×40) with HOME and XDG dirs under
    /// `home`; after it exits the pane prints `callscope-exit=N` and stays open for inspection.
    pub fn demo(name: &str, home: &Path, args: &str) -> Tmux {
        Tmux::callscope(name, home, "", &format!("demo {args}"))
    }
}

impl Tmux {
    /// `env VARS callscope ARGS` like [`Tmux::demo`], for any subcommand.
    pub fn callscope(name: &str, home: &Path, vars: &str, args: &str) -> Tmux {
        let bin = Path::new(env!("CARGO_BIN_EXE_callscope"));
        let cmd = format!(
            "env HOME={home} XDG_DATA_HOME={home}/data XDG_CONFIG_HOME={home}/config {vars} {bin} {args}; echo callscope-exit=$?; sleep 120",
            home = shell_quote(home),
            bin = shell_quote(bin),
        );
        let t = Tmux {
            socket: format!("callscope-{name}-{}-{}", std::process::id(), nanos()),
        };
        t.run(&["new-session", "-d", "-s", "e2e", "-x", "120", "-y", "40", &cmd]);
        t
    }
}

fn nanos() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
}
