//! The loop: terminal events and background messages in, `update`, effects out, and a redraw
//! only when something changed (at most ~60 per second).

use std::io::Write;
use std::time::Duration;

use anyhow::Result;
use crossterm::event::{Event, EventStream, KeyEventKind};
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::api::Client;
use crate::app::{self, Effect, Msg, State};
use crate::audio::AudioEngine;
use crate::ui::{self, Theme};

use super::clipboard::osc52;
use super::effects::Runner;
use super::live::LiveSetup;
use super::store_worker::StoreWorker;
use super::terminal;
use crate::store::Store;

const FRAME: Duration = Duration::from_millis(16);

fn to_msg(ev: Event) -> Option<Msg> {
    match ev {
        // Only presses and repeats: releases (kitty protocol) would double every key.
        Event::Key(k) if k.kind != KeyEventKind::Release => Some(Msg::Key(k)),
        Event::Mouse(m) => Some(Msg::Mouse(m)),
        Event::Resize(w, h) => Some(Msg::Resize(w, h)),
        _ => None,
    }
}

/// Runs the TUI until the user quits. The terminal is restored on every way out.
/// With `live`, the webhook receiver is started (and registered) before the terminal is taken.
pub async fn run(
    mut state: State,
    theme: Theme,
    client: Client,
    live: Option<LiveSetup>,
    store: Option<Store>,
) -> Result<()> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let store = match store.map(|s| StoreWorker::spawn(s, tx.clone())).transpose() {
        Ok(w) => w,
        Err(e) => {
            state.review.unavailable = Some(format!("cannot start the store thread: {e}"));
            None
        }
    };
    // One engine for the session, on the same HTTP client (connection pool) as the API calls.
    let (audio_tx, mut audio_rx) = mpsc::unbounded_channel();
    let audio = AudioEngine::start(client.clone(), audio_tx);
    let _receiver = match live {
        Some(setup) => Some(super::live::start(setup, &client, tx.clone()).await?),
        None => None,
    };
    let mut runner = Runner::new(client, tx.clone());
    if let Some(w) = store {
        runner = runner.with_store(w);
    }
    terminal::install_panic_hook();
    let mut term = terminal::enter()?;
    let _guard = terminal::Guard;
    let size = term.size()?;
    state.width = size.width;
    state.height = size.height;
    let mut pending: Vec<Effect> = app::start(&mut state);
    let mut events = EventStream::new();
    let mut clock = tokio::time::interval(Duration::from_secs(1));
    clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut dirty = true;
    let mut last_draw = Instant::now() - FRAME;
    loop {
        for effect in pending.drain(..) {
            match runner.spawn(effect) {
                None => {}
                Some(Effect::Quit) => return Ok(()),
                Some(Effect::Copy(text)) => {
                    let mut out = std::io::stdout();
                    out.write_all(osc52(&text).as_bytes())?;
                    out.flush()?;
                }
                Some(Effect::Audio(cmd)) => audio.send(cmd),
                Some(Effect::SetMouseCapture(on)) => terminal::set_mouse_capture(on)?,
                Some(Effect::Suspend) => {
                    terminal::suspend(&mut term, state.mouse)?;
                    dirty = true;
                }
                Some(other) => tracing::warn!("unhandled effect {other:?}"),
            }
        }
        if state.quit {
            return Ok(());
        }
        let next_frame = last_draw + FRAME;
        let msg = tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(ev)) => to_msg(ev),
                Some(Err(e)) => return Err(e.into()),
                None => return Ok(()),
            },
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
            dirty |= msg.may_change_screen();
            pending = app::update(&mut state, msg);
        }
    }
}
