//! Colours by role. The default palette uses mid-tone 256-colour indices that read on both
//! dark and light backgrounds (at least 3:1 on black and on white); `[theme] mode = "dark" |
//! "light"` picks brighter or darker ones that reach WCAG AA (4.5:1) on their background, and
//! any role can be overridden (`agent = "#5f87af"`, `"blue"`, `"33"`).

use std::str::FromStr;

use anyhow::{Result, bail};
use ratatui::style::{Color, Modifier, Style};

use crate::app::transcript::Tag;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Readable on both.
    Auto,
    Dark,
    Light,
}

macro_rules! roles {
    ($($role:ident),* $(,)?) => {
        /// The colour of each role.
        #[derive(Debug, Clone, PartialEq)]
        pub struct Theme {
            pub mode: Mode,
            $(pub $role: Color,)*
        }
        const ROLE_NAMES: &[&str] = &[$(stringify!($role)),*];
        impl Theme {
            fn set(&mut self, name: &str, c: Color) -> bool {
                match name {
                    $(stringify!($role) => self.$role = c,)*
                    _ => return false,
                }
                true
            }
            #[cfg(test)]
            fn get(&self, name: &str) -> Option<Color> {
                match name {
                    $(stringify!($role) => Some(self.$role),)*
                    _ => None,
                }
            }
        }
    };
}

roles!(
    accent,
    border,
    border_focus,
    agent,
    user,
    time,
    key,
    intent,
    entity,
    latency_ok,
    latency_warn,
    latency_bad,
    translation,
    marker,
    warn,
    error,
    matched,
);

impl Theme {
    pub fn for_mode(mode: Mode) -> Theme {
        let i = Color::Indexed;
        match mode {
            Mode::Auto => Theme {
                mode,
                accent: i(31),
                border: i(244),
                border_focus: i(31),
                agent: i(31),
                user: i(133),
                time: i(244),
                key: i(244),
                intent: i(30),
                entity: i(97),
                latency_ok: i(28),
                latency_warn: i(130),
                latency_bad: i(160),
                translation: i(67),
                marker: i(244),
                warn: i(166),
                error: i(160),
                matched: i(178),
            },
            Mode::Dark => Theme {
                mode,
                accent: i(75),
                border: i(244),
                border_focus: i(75),
                agent: i(75),
                user: i(176),
                time: i(245),
                key: i(245),
                intent: i(80),
                entity: i(141),
                latency_ok: i(114),
                latency_warn: i(221),
                latency_bad: i(203),
                translation: i(110),
                marker: i(245),
                warn: i(215),
                error: i(203),
                matched: i(221),
            },
            Mode::Light => Theme {
                mode,
                accent: i(25),
                border: i(243),
                border_focus: i(25),
                agent: i(25),
                user: i(90),
                time: i(242),
                key: i(242),
                intent: i(23),
                entity: i(54),
                latency_ok: i(22),
                latency_warn: i(130),
                latency_bad: i(124),
                translation: i(24),
                marker: i(242),
                warn: i(130),
                error: i(124),
                matched: i(214),
            },
        }
    }

    /// `[theme]` from the config file; unknown keys and bad colours are errors.
    pub fn from_config(table: &toml::Table) -> Result<Theme> {
        let mode = match table.get("mode") {
            None => Mode::Auto,
            Some(toml::Value::String(m)) => match m.as_str() {
                "auto" => Mode::Auto,
                "dark" => Mode::Dark,
                "light" => Mode::Light,
                other => bail!("[theme] mode = {other:?}: use \"auto\", \"dark\" or \"light\""),
            },
            Some(_) => bail!("[theme] mode must be a string: \"auto\", \"dark\" or \"light\""),
        };
        let mut theme = Theme::for_mode(mode);
        for (k, v) in table {
            if k == "mode" {
                continue;
            }
            let toml::Value::String(text) = v else {
                bail!("[theme] {k}: expected a colour string such as \"blue\", \"#5f87af\" or \"33\"");
            };
            let colour = Color::from_str(text).map_err(|_| {
                anyhow::anyhow!("[theme] {k} = {text:?}: not a colour; use a name (blue), #rrggbb or 0–255")
            })?;
            if !theme.set(k, colour) {
                bail!("unknown [theme] key `{k}`; known: mode, {}", ROLE_NAMES.join(", "));
            }
        }
        Ok(theme)
    }

    pub fn fg(c: Color) -> Style {
        Style::default().fg(c)
    }

    pub fn dim(&self) -> Style {
        Style::default().fg(self.time)
    }

    /// The selected row: reverse video reads on any background.
    pub fn selected(&self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD)
    }

    pub fn tag(&self, tag: Tag) -> Style {
        let f = Theme::fg;
        match tag {
            Tag::Plain => Style::default(),
            Tag::Dim => self.dim(),
            Tag::Key => f(self.key),
            Tag::Time => f(self.time),
            Tag::Agent => f(self.agent).add_modifier(Modifier::BOLD),
            Tag::User => f(self.user).add_modifier(Modifier::BOLD),
            Tag::Dtmf => f(self.user),
            Tag::Intent => f(self.intent),
            Tag::Entity => f(self.entity),
            Tag::LatencyOk => f(self.latency_ok),
            Tag::LatencyWarn => f(self.latency_warn),
            Tag::LatencyBad => f(self.latency_bad).add_modifier(Modifier::BOLD),
            Tag::Translation => f(self.translation).add_modifier(Modifier::ITALIC),
            Tag::Marker => f(self.marker).add_modifier(Modifier::ITALIC),
            Tag::Warn => f(self.warn).add_modifier(Modifier::BOLD),
            Tag::Title => f(self.accent).add_modifier(Modifier::BOLD),
            Tag::RatedUp => f(self.latency_ok).add_modifier(Modifier::BOLD),
            Tag::RatedDown => f(self.latency_bad).add_modifier(Modifier::BOLD),
            Tag::Function => f(self.accent),
            Tag::Asr => f(self.translation),
        }
    }
}

impl Default for Theme {
    fn default() -> Self {
        Theme::for_mode(Mode::Auto)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_overrides_and_errors() {
        let t: toml::Table = toml::from_str("mode = \"light\"\nagent = \"#112233\"\nuser = \"33\"").unwrap();
        let th = Theme::from_config(&t).unwrap();
        assert_eq!(th.mode, Mode::Light);
        assert_eq!(th.agent, Color::Rgb(0x11, 0x22, 0x33));
        assert_eq!(th.user, Color::Indexed(33));
        let err = |s: &str| Theme::from_config(&toml::from_str(s).unwrap()).unwrap_err().to_string();
        assert!(err("mode = \"sepia\"").contains("auto"));
        assert!(err("agnet = \"blue\"").contains("unknown [theme] key `agnet`"));
        assert!(err("agent = \"notacolour\"").contains("not a colour"));
    }

    #[test]
    fn default_palette_avoids_extremes() {
        // Plain white/black/bright-yellow vanish on one background or the other.
        let t = Theme::default();
        for c in [t.accent, t.agent, t.user, t.intent, t.latency_warn, t.error] {
            assert!(!matches!(
                c,
                Color::White | Color::Black | Color::Yellow | Color::LightYellow
            ));
        }
    }
    /// xterm's RGB for a 256-colour index (the 16 system colours as xterm defaults them).
    fn xterm_rgb(c: Color) -> (u8, u8, u8) {
        const SYSTEM: [(u8, u8, u8); 16] = [
            (0, 0, 0),
            (205, 0, 0),
            (0, 205, 0),
            (205, 205, 0),
            (0, 0, 238),
            (205, 0, 205),
            (0, 205, 205),
            (229, 229, 229),
            (127, 127, 127),
            (255, 0, 0),
            (0, 255, 0),
            (255, 255, 0),
            (92, 92, 255),
            (255, 0, 255),
            (0, 255, 255),
            (255, 255, 255),
        ];
        match c {
            Color::Rgb(r, g, b) => (r, g, b),
            Color::Indexed(i) if i < 16 => SYSTEM[i as usize],
            Color::Indexed(i) if i < 232 => {
                let level = |v: u8| if v == 0 { 0 } else { 55 + 40 * v };
                let i = i - 16;
                (level(i / 36), level(i / 6 % 6), level(i % 6))
            }
            Color::Indexed(i) => {
                let g = 8 + 10 * (i - 232);
                (g, g, g)
            }
            Color::Black => SYSTEM[0],
            Color::White => SYSTEM[15],
            other => panic!("no palette value for {other:?} in this test"),
        }
    }

    /// WCAG 2 contrast ratio between two colours.
    fn contrast(a: Color, b: Color) -> f64 {
        let luminance = |c: Color| {
            let (r, g, b) = xterm_rgb(c);
            let lin = |v: u8| {
                let v = f64::from(v) / 255.0;
                if v <= 0.03928 {
                    v / 12.92
                } else {
                    ((v + 0.055) / 1.055).powf(2.4)
                }
            };
            0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
        };
        let (x, y) = (luminance(a), luminance(b));
        (x.max(y) + 0.05) / (x.min(y) + 0.05)
    }

    /// Every role that is drawn as text (or as a border) on the terminal's background.
    fn foreground_roles(t: &Theme) -> Vec<(&'static str, Color)> {
        ROLE_NAMES
            .iter()
            .filter(|n| **n != "matched")
            .map(|n| (*n, t.get(n).expect("every role name has a colour")))
            .collect()
    }

    #[test]
    fn dark_and_light_reach_aa_contrast_on_their_background() {
        for (mode, background) in [(Mode::Dark, Color::Black), (Mode::Light, Color::White)] {
            let t = Theme::for_mode(mode);
            for (role, colour) in foreground_roles(&t) {
                let ratio = contrast(colour, background);
                assert!(
                    ratio >= 4.5,
                    "{mode:?} {role} = {colour:?} is {ratio:.2}:1 on {background:?}"
                );
            }
            // Search hits are black text on the `matched` background.
            let ratio = contrast(Color::Black, t.matched);
            assert!(ratio >= 4.5, "{mode:?} matched is {ratio:.2}:1 under black text");
        }
    }

    #[test]
    fn auto_reads_on_black_and_on_white() {
        let t = Theme::default();
        for (role, colour) in foreground_roles(&t) {
            for background in [Color::Black, Color::White] {
                let ratio = contrast(colour, background);
                assert!(
                    ratio >= 3.0,
                    "auto {role} = {colour:?} is {ratio:.2}:1 on {background:?}"
                );
            }
        }
    }

    #[test]
    fn contrast_matches_known_values() {
        assert!((contrast(Color::Black, Color::White) - 21.0).abs() < 1e-9);
        // The light theme's old border, the reported 1.9:1.
        assert!((contrast(Color::Indexed(250), Color::White) - 1.9).abs() < 0.01);
    }
}
