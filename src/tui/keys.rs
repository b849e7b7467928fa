//! The input path from the terminal to `update`.
//!
//! Two guarantees, both structural (issue 12, item 7: keys read from the terminal that had no
//! effect, with nothing on screen saying why):
//! - [`spawn_reader`]: one thread blocks in crossterm's `read` and hands every event to an
//!   unbounded channel. Delivery needs no waker hand-off between threads (crossterm's
//!   `EventStream` registers the task's waker with a helper thread on each pending poll), and
//!   the send never waits, so the reader can neither lose a wake-up nor block on a full queue.
//! - [`KeyFeedback`]: each key is handled between two off-screen renders; when the screens are
//!   the same, the status line says why the key did nothing ([`crate::app::noop`]).

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use tokio::sync::mpsc::UnboundedSender;

use crate::app::noop::{NoEffect, why_no_effect};
use crate::app::{self, Effect, Msg, State, TerminalEffect};
use crate::ui::{self, Theme};

/// Forwards what `read` returns to `tx` until the receiver is gone or reading fails (the
/// error is forwarded too). Never waits on the receiver.
pub fn forward(mut read: impl FnMut() -> std::io::Result<Event>, tx: &UnboundedSender<std::io::Result<Event>>) {
    loop {
        let ev = read();
        let failed = ev.is_err();
        if tx.send(ev).is_err() || failed {
            return;
        }
    }
}

/// Starts the terminal reader thread. It lives until the process ends: it sits in a blocking
/// read, and the channel closing ends it at the next event.
pub fn spawn_reader(tx: UnboundedSender<std::io::Result<Event>>) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("callscope-keys".into())
        .spawn(move || forward(crossterm::event::read, &tx))
        .map(drop)
}

/// Handles keys so that none changes nothing in silence.
pub struct KeyFeedback {
    theme: Theme,
    /// The reason shown for the last key that changed nothing (for tests).
    pub last: Option<NoEffect>,
}

impl KeyFeedback {
    pub fn new(theme: Theme) -> Self {
        KeyFeedback { theme, last: None }
    }

    /// The screen as [`ui::draw`] paints it for `s`.
    pub fn render(&self, s: &State) -> Buffer {
        let mut term = Terminal::new(TestBackend::new(s.width, s.height)).expect("an in-memory terminal");
        term.draw(|f| ui::draw(f, s, &self.theme))
            .expect("drawing into memory cannot fail");
        term.backend().buffer().clone()
    }

    /// `update` for a key; when the screen is then the same as before (the previous status
    /// note aside, which every key clears), the status line says why.
    pub fn key(&mut self, s: &mut State, k: KeyEvent) -> Vec<Effect> {
        // Esc and a key right behind it can arrive in one read, which crossterm reports as an
        // Alt chord: typed into an input, the Esc would be lost and the input would keep every
        // key after it. Unbound, it is the two keys it was.
        if let KeyCode::Char(_) = k.code
            && k.modifiers.contains(KeyModifiers::ALT)
            && s.keymap.action(&k).is_none()
        {
            let mut fx = self.key(s, KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
            if s.quit {
                return fx;
            }
            fx.extend(self.key(s, KeyEvent::new(k.code, k.modifiers - KeyModifiers::ALT)));
            return fx;
        }
        let note = s.status.note.take();
        let before = self.render(s);
        s.status.note = note;
        let fx = app::update(s, Msg::Key(k));
        self.last = None;
        if s.quit
            || fx.iter().any(|e| {
                matches!(
                    e,
                    Effect::Terminal(TerminalEffect::Quit) | Effect::Terminal(TerminalEffect::Suspend)
                )
            })
        {
            return fx;
        }
        if self.render(s) == before {
            let why = why_no_effect(s, &k);
            s.status.note = Some(why.text.clone());
            self.last = Some(why);
        }
        fx
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::state::{Input, InputKind, Overlay};

    #[test]
    fn the_reader_never_waits_for_the_loop() {
        // The loop is busy (nothing drains the channel): the reader still hands over every
        // event at once and in order.
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut n = 0u32;
        forward(
            || {
                n += 1;
                if n > 100_000 {
                    Err(std::io::Error::other("end of input"))
                } else {
                    Ok(Event::Key(KeyEvent::new(KeyCode::Char('j'), KeyModifiers::NONE)))
                }
            },
            &tx,
        );
        let mut got = 0;
        while let Ok(ev) = rx.try_recv() {
            match ev {
                Ok(_) => got += 1,
                Err(e) => assert_eq!(e.to_string(), "end of input"),
            }
        }
        assert_eq!(got, 100_000);
    }

    fn state() -> State {
        State::new(
            crate::app::KeyMap::default(),
            crate::app::Identity::default(),
            "live",
            chrono::Utc::now(),
            chrono::FixedOffset::east_opt(0).unwrap(),
            (100, 30),
        )
    }

    #[test]
    fn esc_and_a_key_read_together_are_both_keys() {
        // Before: alt-? was typed into the note as "?" and the input stayed open.
        let mut s = state();
        s.input = Some(Input {
            kind: InputKind::Note,
            text: "late".into(),
        });
        let mut kf = KeyFeedback::new(Theme::default());
        kf.key(&mut s, KeyEvent::new(KeyCode::Char('?'), KeyModifiers::ALT));
        assert!(s.input.is_none(), "{:?}", s.input);
        assert!(matches!(s.overlay, Overlay::Help { .. }), "{:?}", s.overlay);
    }

    #[test]
    fn a_key_that_changes_nothing_says_why() {
        let mut s = State::new(
            crate::app::KeyMap::default(),
            crate::app::Identity::default(),
            "live",
            chrono::Utc::now(),
            chrono::FixedOffset::east_opt(0).unwrap(),
            (100, 30),
        );
        let mut kf = KeyFeedback::new(Theme::default());
        kf.key(&mut s, KeyEvent::new(KeyCode::Char('j'), KeyModifiers::NONE));
        let why = kf.last.clone().expect("j on an empty list changes nothing");
        assert_eq!(s.status.note.as_deref(), Some(why.text.as_str()));
        assert!(!why.generic, "{why:?}");
        // The same key again: the reason stays on screen.
        kf.key(&mut s, KeyEvent::new(KeyCode::Char('j'), KeyModifiers::NONE));
        assert!(kf.last.is_some());
        assert!(ui::buffer_text(&kf.render(&s)).contains(&why.text));
        // A key that does something needs no reason.
        kf.key(&mut s, KeyEvent::new(KeyCode::Char('?'), KeyModifiers::NONE));
        assert!(kf.last.is_none());
    }
}
