//! Colours by role. The palettes are data (`assets/themes/{auto,dark,light}.toml`, embedded):
//! the default uses mid-tone 256-colour indices that read on both dark and light backgrounds
//! (at least 3:1 on black and on white); `[theme] mode = "dark" | "light"` picks brighter or
//! darker ones that reach WCAG AA (4.5:1) on their background, and any role can be overridden
//! (`agent = "#5f87af"`, `"blue"`, `"33"`).

use std::str::FromStr;
use std::sync::OnceLock;

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
            /// Every role unset (`Reset`): the start of a palette read from an asset.
            fn blank(mode: Mode) -> Theme {
                Theme { mode, $($role: Color::Reset,)* }
            }
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
    /// The built-in palette of a mode, from `assets/themes/`.
    // The asset is embedded in the binary and parsed by a unit test: it cannot fail here.
    #[allow(clippy::expect_used)]
    pub fn for_mode(mode: Mode) -> Theme {
        static PALETTES: OnceLock<[Theme; 3]> = OnceLock::new();
        let [auto, dark, light] = PALETTES.get_or_init(|| {
            [Mode::Auto, Mode::Dark, Mode::Light]
                .map(|m| Theme::from_asset(m).expect("assets/themes are valid (unit-tested)"))
        });
        match mode {
            Mode::Auto => auto.clone(),
            Mode::Dark => dark.clone(),
            Mode::Light => light.clone(),
        }
    }

    /// The asset text of a mode's palette, embedded so the binary stays self-contained.
    fn asset(mode: Mode) -> (&'static str, &'static str) {
        match mode {
            Mode::Auto => ("assets/themes/auto.toml", include_str!("../../assets/themes/auto.toml")),
            Mode::Dark => ("assets/themes/dark.toml", include_str!("../../assets/themes/dark.toml")),
            Mode::Light => (
                "assets/themes/light.toml",
                include_str!("../../assets/themes/light.toml"),
            ),
        }
    }

    /// A palette file: every role, nothing else.
    fn from_asset(mode: Mode) -> Result<Theme> {
        let (path, text) = Theme::asset(mode);
        Theme::parse_palette(mode, path, text)
    }

    fn parse_palette(mode: Mode, path: &str, text: &str) -> Result<Theme> {
        let table: toml::Table = toml::from_str(text).map_err(|e| anyhow::anyhow!("{path}: {e}"))?;
        let mut theme = Theme::blank(mode);
        theme.apply(path, &table)?;
        if let Some(missing) = ROLE_NAMES.iter().find(|r| !table.contains_key(**r)) {
            bail!("{path} has no colour for `{missing}`");
        }
        Ok(theme)
    }

    /// Sets the roles a table names (`what` says where the table came from, for errors).
    fn apply(&mut self, what: &str, table: &toml::Table) -> Result<()> {
        for (k, v) in table {
            let toml::Value::String(text) = v else {
                bail!("{what} {k}: expected a colour string such as \"blue\", \"#5f87af\" or \"33\"");
            };
            let colour = Color::from_str(text).map_err(|_| {
                anyhow::anyhow!("{what} {k} = {text:?}: not a colour; use a name (blue), #rrggbb or 0–255")
            })?;
            if !self.set(k, colour) {
                bail!("unknown {what} key `{k}`; known: mode, {}", ROLE_NAMES.join(", "));
            }
        }
        Ok(())
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
        let mut roles = table.clone();
        roles.remove("mode");
        theme.apply("[theme]", &roles)?;
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
    fn palettes_name_every_role_and_nothing_else() {
        for m in [Mode::Auto, Mode::Dark, Mode::Light] {
            Theme::from_asset(m).unwrap();
        }
        let (path, text) = Theme::asset(Mode::Dark);
        let missing = text.replace("\nagent = ", "\n# agent = ");
        let err = Theme::parse_palette(Mode::Dark, path, &missing)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no colour for `agent`"), "{err}");
        let extra = format!("{text}agnet = \"blue\"\n");
        let err = Theme::parse_palette(Mode::Dark, path, &extra).unwrap_err().to_string();
        assert!(err.contains("unknown assets/themes/dark.toml key `agnet`"), "{err}");
    }

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
