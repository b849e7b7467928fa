//! A private tmux server for the end-to-end tests: start the real binary, type keys, read
//! the screen back.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Tmux {
    pub socket: String,
    /// Written by the pane: the pid of the callscope process.
    pid_file: PathBuf,
    /// Written by the pane after callscope exits: `stty -a` of the pane's terminal.
    stty_file: PathBuf,
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

/// Whether tmux can run; under CI (`CI` set, as .ci/run installs tmux) a missing tmux fails
/// the test instead of letting it skip.
pub fn tmux_available() -> bool {
    let ok = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok && std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "0" && v != "false") {
        panic!("CI must have tmux for the end-to-end TUI tests (see .ci/run)");
    }
    ok
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
    /// `env VARS callscope ARGS` like [`Tmux::demo`], for any subcommand. The pane records
    /// the process's pid ([`Tmux::pid`]) and, after it exits, the terminal's settings
    /// ([`Tmux::stty`]) before printing `callscope-exit=N`.
    pub fn callscope(name: &str, home: &Path, vars: &str, args: &str) -> Tmux {
        let bin = Path::new(env!("CARGO_BIN_EXE_callscope"));
        let pid_file = home.join(format!("{name}.pid"));
        let stty_file = home.join(format!("{name}.stty"));
        let script = home.join(format!("{name}.sh"));
        // `exec`: the pid written is the one of callscope itself.
        let body = format!(
            "echo $$ > {pid}\nexec env HOME={home} XDG_DATA_HOME={home}/data XDG_CONFIG_HOME={home}/config {vars} {bin} {args}\n",
            pid = shell_quote(&pid_file),
            home = shell_quote(home),
            bin = shell_quote(bin),
        );
        std::fs::write(&script, body).expect("write the pane's script");
        let cmd = format!(
            "sh {script}; code=$?; stty -a > {stty} 2>&1; echo callscope-exit=$code; sleep 120",
            script = shell_quote(&script),
            stty = shell_quote(&stty_file),
        );
        let t = Tmux {
            socket: format!("callscope-{name}-{}-{}", std::process::id(), nanos()),
            pid_file,
            stty_file,
        };
        t.run(&["new-session", "-d", "-s", "e2e", "-x", "120", "-y", "40", &cmd]);
        t
    }

    /// The callscope process's pid (waits up to 10 s for the pane to record it).
    pub fn pid(&self) -> i32 {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = std::fs::read_to_string(&self.pid_file).unwrap_or_default();
            if let Ok(pid) = text.trim().parse() {
                return pid;
            }
            assert!(Instant::now() < deadline, "no pid in {}", self.pid_file.display());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `stty -a` of the pane, taken right after callscope exited (call after `callscope-exit=`).
    pub fn stty(&self) -> String {
        std::fs::read_to_string(&self.stty_file).expect("the pane ran stty after the exit")
    }
}

fn nanos() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
}
