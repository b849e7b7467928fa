//! The loop: terminal events (from the reader thread in `keys`), signals and background
//! messages in, `update`, effects out, and a redraw only when something changed (at most ~60
//! per second).

use std::io::Write;
use std::time::Duration;

use anyhow::Result;
use crossterm::event::{Event, KeyEventKind};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::api::Client;
use crate::app::{self, Effect, Msg, State, TerminalEffect};
use crate::audio::AudioEngine;
use crate::ui::{self, Theme};

use super::clipboard::osc52;
use super::effects::Runner;
use super::keys::{KeyFeedback, spawn_reader};
use super::live::LiveSetup;
use super::store_worker::StoreWorker;
use super::terminal;
use crate::store::Store;

const FRAME: Duration = Duration::from_millis(16);
/// On the way out, how long the store may take to write the marks it still holds.
pub const EXIT_WAIT: Duration = Duration::from_millis(2500);

/// SIGTERM, SIGHUP, SIGINT and SIGQUIT end the TUI through the same exit as `q` (raw mode
/// turns Ctrl-C and Ctrl-\ into keys, but `kill` still sends the signals). Registered at
/// once; a task forwards each signal's number.
#[cfg(unix)]
fn signals() -> std::io::Result<mpsc::UnboundedReceiver<i32>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut quit = signal(SignalKind::quit())?;
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let n = tokio::select! {
                _ = term.recv() => libc::SIGTERM,
                _ = hup.recv() => libc::SIGHUP,
                _ = int.recv() => libc::SIGINT,
                _ = quit.recv() => libc::SIGQUIT,
            };
            if tx.send(n).is_err() {
                return;
            }
        }
    });
    Ok(rx)
}

#[cfg(not(unix))]
fn signals() -> std::io::Result<mpsc::UnboundedReceiver<i32>> {
    let (tx, rx) = mpsc::unbounded_channel();
    std::mem::forget(tx); // never closes, never sends
    Ok(rx)
}

/// Runs on every way out of [`run`] (quit, signal, error, panic unwinding): the store first
/// writes the marks it still holds (bounded by [`EXIT_WAIT`]), then the terminal is restored
/// and what could not be saved is said on stderr.
struct Exit {
    store: Option<StoreWorker>,
    /// Gives a held queue claim back before the process ends (bounded by its `EXIT_WAIT`).
    team: Option<super::team_worker::TeamWorker>,
    /// Mark changes the app had not seen confirmed, as of the last message.
    app_unsaved: usize,
}

impl Drop for Exit {
    fn drop(&mut self) {
        let unsaved = self.store.as_ref().map(|w| w.finish(EXIT_WAIT));
        if let Some(t) = &self.team
            && !t.flush(super::team_worker::EXIT_WAIT)
        {
            tracing::warn!("the team database did not answer on the way out: a held claim waits for its lease");
        }
        terminal::restore();
        let warning = match unsaved {
            None | Some(Some(0)) => return,
            Some(Some(n)) => format!(
                "callscope: {n} review mark change{} could not be saved: the local store refused them (see the log)",
                if n == 1 { "" } else { "s" }
            ),
            // Busy with other work, but nothing was waiting to be saved.
            Some(None) if self.app_unsaved == 0 => return,
            Some(None) => format!(
                "callscope: the local store did not answer within {} s: the last review marks may not be saved",
                EXIT_WAIT.as_secs_f64()
            ),
        };
        tracing::warn!("{warning}");
        // Not eprintln!: after a SIGHUP the terminal is gone, and that must not panic.
        let _ = writeln!(std::io::stderr(), "{warning}");
    }
}

fn to_msg(ev: Event) -> Option<Msg> {
    match ev {
        // Only presses and repeats: releases (kitty protocol) would double every key.
        Event::Key(k) if k.kind != KeyEventKind::Release => Some(Msg::Key(k)),
        Event::Mouse(m) => Some(Msg::Mouse(m)),
        Event::Resize(w, h) => Some(Msg::Resize(w, h)),
        _ => None,
    }
}

/// Runs the TUI until the user quits or a signal ends it; the exit status (0, or 128 + the
/// signal). The terminal is restored on every way out, after the store wrote what it holds.
/// With `live`, the webhook receiver is started (and registered) before the terminal is taken.
pub async fn run(
    mut state: State,
    theme: Theme,
    client: Client,
    live: Option<LiveSetup>,
    store: Option<Store>,
    team: Option<super::team_worker::TeamSetup>,
) -> Result<i32> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let store_path = store.as_ref().map(|s| s.path().to_path_buf());
    let store = match store
        .map(|s| super::team::spawn_worker(s, team.as_ref().map(|t| &t.section), tx.clone()))
        .transpose()
    {
        Ok(w) => w,
        Err(e) => {
            state.review.unavailable = Some(e);
            None
        }
    };
    // Teammates' marks and claims while the TUI is open (marks reach a team store; claims the
    // open queue, which needs no local store).
    let _team_listener = match &team {
        Some(t) if t.section.database.is_some() => Some(super::team::listen(t.section.clone(), tx.clone())),
        _ => None,
    };
    // One engine for the session, on the same HTTP client (connection pool) as the API calls.
    let (audio_tx, mut audio_rx) = mpsc::unbounded_channel();
    let audio = AudioEngine::start(client.clone(), audio_tx);
    let _receiver = match live {
        Some(setup) => Some(super::live::start(setup, &client, tx.clone()).await?),
        None => None,
    };
    let mut runner = Runner::new(client, tx.clone());
    if let (Some(w), Some(path)) = (&store, store_path) {
        runner = runner.with_store(w.clone()).with_store_path(path);
    }
    let mut team_worker = None;
    if let Some(setup) = team {
        match super::team_worker::TeamWorker::spawn(setup, tx.clone()) {
            Ok(w) => {
                team_worker = Some(w.clone());
                runner = runner.with_team(w);
            }
            Err(e) => {
                state.queue.enabled = false;
                state.status.note = Some(format!("review queues unavailable: cannot start the team thread: {e}"));
            }
        }
    }
    // Before the terminal is taken: a signal from here on goes through the exit below.
    let mut signals = signals()?;
    terminal::install_panic_hook();
    let mut exit = Exit {
        store,
        team: team_worker,
        app_unsaved: 0,
    };
    let mut term = terminal::enter()?;
    let size = term.size()?;
    state.width = size.width;
    state.height = size.height;
    let mut pending: Vec<Effect> = app::start(&mut state);
    let (events_tx, mut events) = mpsc::unbounded_channel();
    spawn_reader(events_tx)?;
    let mut keys = KeyFeedback::new(theme.clone());
    let mut clock = tokio::time::interval(Duration::from_secs(1));
    clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut dirty = true;
    let mut last_draw = Instant::now() - FRAME;
    loop {
        for effect in pending.drain(..) {
            match effect {
                Effect::Io(work) => runner.spawn(work),
                Effect::Audio(cmd) => audio.send(cmd),
                Effect::Terminal(TerminalEffect::Quit) => return Ok(0),
                Effect::Terminal(TerminalEffect::Copy(text)) => {
                    let mut out = std::io::stdout();
                    out.write_all(osc52(&text).as_bytes())?;
                    out.flush()?;
                }
                Effect::Terminal(TerminalEffect::SetMouseCapture(on)) => terminal::set_mouse_capture(on)?,
                Effect::Terminal(TerminalEffect::Suspend) => {
                    terminal::suspend(&mut term, state.mouse)?;
                    dirty = true;
                }
            }
        }
        if state.quit {
            return Ok(0);
        }
        let next_frame = last_draw + FRAME;
        let msg = tokio::select! {
            ev = events.recv() => match ev {
                Some(Ok(ev)) => to_msg(ev),
                Some(Err(e)) => return Err(e.into()),
                None => return Ok(0),
            },
            Some(sig) = signals.recv() => {
                tracing::info!(signal = sig, "signal: quitting");
                return Ok(128 + sig);
            }
            Some(msg) = rx.recv() => Some(msg),
            Some(ev) = audio_rx.recv() => Some(Msg::Audio(ev)),
            _ = clock.tick() => Some(Msg::Tick(chrono::Utc::now())),
            _ = tokio::time::sleep_until(next_frame), if dirty => {
                term.draw(|f| ui::draw(f, &state, &theme))?;
                last_draw = Instant::now();
                dirty = false;
                None
            }
        };
        if let Some(msg) = msg {
            // A key always redraws: its note or its change shows (`KeyFeedback`).
            let step = match msg {
                Msg::Key(k) => app::Step {
                    effects: keys.key(&mut state, k),
                    redraw: true,
                },
                msg => app::step(&mut state, msg),
            };
            dirty |= step.redraw;
            pending = step.effects;
            exit.app_unsaved = state.review.unsaved();
        }
    }
}
