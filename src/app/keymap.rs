//! Key bindings as data: one table handles keys, draws the help overlay and the hints line.
//!
//! Defaults are vim-style plus arrows; `[keys]` in the config file maps action names to a
//! key string or a list of them and replaces that action's defaults. Unknown actions or
//! keys are startup errors that say what to write.

use std::collections::HashMap;
use std::fmt;

use anyhow::{Result, bail};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// `actions! { Down => "down"; … Player(PlayerAction) { PlayPause => "play_pause"; … } … }`:
/// the [`Action`] enum, its groups (one enum per feature that handles all of its actions, so the
/// compiler checks each is handled) and [`Action::ALL`] in the written order, which is the
/// order of `assets/keys.toml`, the help and the README.
macro_rules! actions {
    (@emit [$($flat:ident)*] [$($group:ident($genum:ident) { $($gv:ident)* })*] [$(($($pat:tt)*) $name:literal)*]) => {
        /// Everything a key can do. Descriptions and default keys are data: `assets/keys.toml`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Action { $($flat,)* $($group($genum),)* }

        $(
            /// A group of [`Action`]s handled by one feature.
            #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
            pub enum $genum { $($gv),* }
        )*

        impl Action {
            pub const ALL: &'static [Action] = &[$($($pat)*),*];
            /// The name used in `[keys]` and in `assets/keys.toml`.
            pub fn name(self) -> &'static str {
                match self { $($($pat)* => $name),* }
            }
            pub fn from_name(name: &str) -> Option<Action> {
                match name { $($name => Some($($pat)*),)* _ => None }
            }
        }
    };
    (@acc $flat:tt $groups:tt $all:tt) => { actions!(@emit $flat $groups $all); };
    (@acc [$($flat:ident)*] $groups:tt [$($all:tt)*] $v:ident => $n:literal; $($rest:tt)*) => {
        actions!(@acc [$($flat)* $v] $groups [$($all)* (Action::$v) $n] $($rest)*);
    };
    (@acc $flat:tt [$($groups:tt)*] [$($all:tt)*] $g:ident($ge:ident) { $($gv:ident => $gn:literal;)* } $($rest:tt)*) => {
        actions!(@acc $flat [$($groups)* $g($ge) { $($gv)* }] [$($all)* $((Action::$g($ge::$gv)) $gn)*] $($rest)*);
    };
    ($($body:tt)*) => { actions!(@acc [] [] [] $($body)*); };
}

/// The default keymap, embedded so the binary stays self-contained.
const KEYS_TOML: &str = include_str!("../../assets/keys.toml");

/// One entry of `assets/keys.toml`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    keys: Vec<String>,
    description: String,
}

/// `assets/keys.toml` in `Action::ALL` order. Checked by the unit tests below, so a mismatch
/// between the enum and the file fails `cargo test`, not a user's start-up.
fn parse_defaults(text: &str) -> Result<Vec<Entry>> {
    let mut table: toml::Table = toml::from_str(text)?;
    let mut out = Vec::with_capacity(Action::ALL.len());
    for &a in Action::ALL {
        let Some(value) = table.remove(a.name()) else {
            bail!("assets/keys.toml has no entry for action `{}`", a.name());
        };
        let entry: Entry = value
            .try_into()
            .map_err(|e| anyhow::anyhow!("assets/keys.toml, action `{}`: {e}", a.name()))?;
        out.push(entry);
    }
    if let Some(name) = table.keys().next() {
        bail!("assets/keys.toml names `{name}`, which is not an action");
    }
    Ok(out)
}

// The asset is embedded in the binary and parsed by a unit test: it cannot fail here.
#[allow(clippy::expect_used)]
fn defaults() -> &'static [Entry] {
    static DEFAULTS: std::sync::OnceLock<Vec<Entry>> = std::sync::OnceLock::new();
    DEFAULTS.get_or_init(|| parse_defaults(KEYS_TOML).expect("assets/keys.toml is valid (unit-tested)"))
}

impl Action {
    /// Where the action is in [`Action::ALL`] (and so in `assets/keys.toml`).
    fn index(self) -> usize {
        // The macro lists every action once in ALL: the fallback is never taken.
        Action::ALL.iter().position(|a| *a == self).unwrap_or(0)
    }
    fn entry(self) -> &'static Entry {
        &defaults()[self.index()]
    }
    pub fn description(self) -> &'static str {
        &self.entry().description
    }
    /// The keys bound when `[keys]` does not rebind the action (as written in the README).
    pub fn default_keys(self) -> &'static [String] {
        &self.entry().keys
    }
}

actions! {
    Down => "down";
    Up => "up";
    Top => "top";
    Bottom => "bottom";
    PageDown => "page_down";
    PageUp => "page_up";
    HalfDown => "half_down";
    HalfUp => "half_up";
    SwitchPane => "switch_pane";
    Open => "open";
    Back => "back";
    Search => "search";
    EditFilter => "filter";
    Views => "views";
    NextMatch => "next_match";
    PrevMatch => "prev_match";
    CycleEnv => "cycle_env";
    Window => "window";
    Channel => "channel";
    Reload => "reload";
    ToggleOrder => "toggle_order";
    CopyId => "copy_id";
    CopyTranscript => "copy_transcript";
    CopyStudioLink => "copy_studio_link";
    ToggleIntents => "toggle_intents";
    ToggleTranslation => "toggle_translation";
    ToggleMouse => "toggle_mouse";
    ToggleFunctions => "toggle_functions";
    ToggleAsr => "toggle_asr";
    Player(PlayerAction) {
        PlayPause => "play_pause";
        Stop => "stop";
        SeekBack => "seek_back";
        SeekForward => "seek_forward";
        SeekBackLong => "seek_back_long";
        SeekForwardLong => "seek_forward_long";
        SeekStart => "seek_start";
        SeekEnd => "seek_end";
        SpeedDown => "speed_down";
        SpeedUp => "speed_up";
        VolumeDown => "volume_down";
        VolumeUp => "volume_up";
        CycleDirection => "direction";
        Follow => "follow";
        SaveRecording => "save_recording";
        PlayUtterance => "play_utterance";
        ToggleRedacted => "toggle_redacted";
    }
    MarkReviewed => "mark_reviewed";
    MarkFollowUp => "mark_follow_up";
    Flag => "flag";
    EditNote => "edit_note";
    RateTurn => "rate_turn";
    Scorecard => "scorecard";
    Queues => "queues";
    QueueNext => "queue_next";
    PushMarks => "push_marks";
    MarkHistory => "mark_history";
    Jump(JumpAction) {
        NextUnreviewed => "next_unreviewed";
        PrevUnreviewed => "prev_unreviewed";
        NextFlagged => "next_flagged";
        PrevFlagged => "prev_flagged";
        NextHandoff => "next_handoff";
        PrevHandoff => "prev_handoff";
    }
    Turn(TurnMove) {
        Next => "next_turn";
        Prev => "prev_turn";
        NextCaller => "next_caller_turn";
        PrevCaller => "prev_caller_turn";
        Slowest => "slowest_turn";
    }
    ExportMarkdown => "export_markdown";
    Stats(StatsAction) {
        View => "stats";
        Split => "stats_split";
        Fetch => "stats_fetch";
    }
    Help => "help";
    Quit => "quit";
}

/// A key with its modifiers, normalized so `G` and `shift-g` are the same chord.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyChord {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl KeyChord {
    pub fn new(code: KeyCode, mods: KeyModifiers) -> Self {
        let mut mods = mods & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
        let code = match code {
            // Shift is already in the character itself.
            KeyCode::Char(c) => {
                mods.remove(KeyModifiers::SHIFT);
                if mods.contains(KeyModifiers::CONTROL) {
                    KeyCode::Char(c.to_ascii_lowercase())
                } else {
                    KeyCode::Char(c)
                }
            }
            KeyCode::BackTab => {
                mods.remove(KeyModifiers::SHIFT);
                KeyCode::BackTab
            }
            other => other,
        };
        KeyChord { code, mods }
    }

    pub fn from_event(ev: &KeyEvent) -> Self {
        KeyChord::new(ev.code, ev.modifiers)
    }

    /// Parses `j`, `G`, `ctrl-d`, `C-d`, `alt-x`, `enter`, `pgdn`, `shift-tab`, `f5`, `?`.
    pub fn parse(s: &str) -> Option<KeyChord> {
        let mut mods = KeyModifiers::NONE;
        let mut rest = s;
        loop {
            let lower = rest.to_ascii_lowercase();
            let prefix = ["ctrl-", "c-", "alt-", "a-", "m-", "shift-", "s-"]
                .into_iter()
                .find(|p| lower.starts_with(p) && rest.len() > p.len());
            let Some(p) = prefix else { break };
            mods |= match p {
                "ctrl-" | "c-" => KeyModifiers::CONTROL,
                "alt-" | "a-" | "m-" => KeyModifiers::ALT,
                _ => KeyModifiers::SHIFT,
            };
            rest = &rest[p.len()..];
        }
        let code = match rest.to_ascii_lowercase().as_str() {
            "enter" | "return" | "cr" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "tab" if mods.contains(KeyModifiers::SHIFT) => KeyCode::BackTab,
            "tab" => KeyCode::Tab,
            "backtab" => KeyCode::BackTab,
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pgup" | "pageup" => KeyCode::PageUp,
            "pgdn" | "pgdown" | "pagedown" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "backspace" | "bs" => KeyCode::Backspace,
            "delete" | "del" => KeyCode::Delete,
            "insert" | "ins" => KeyCode::Insert,
            "space" => KeyCode::Char(' '),
            f if f.len() >= 2 && f.starts_with('f') && f[1..].parse::<u8>().is_ok() => {
                let n: u8 = f[1..].parse().ok()?;
                if !(1..=24).contains(&n) {
                    return None;
                }
                KeyCode::F(n)
            }
            _ => {
                let mut chars = rest.chars();
                let c = chars.next()?;
                if chars.next().is_some() {
                    return None;
                }
                if mods.contains(KeyModifiers::SHIFT) && c.is_ascii_lowercase() {
                    KeyCode::Char(c.to_ascii_uppercase())
                } else {
                    KeyCode::Char(c)
                }
            }
        };
        Some(KeyChord::new(code, mods))
    }
}

impl fmt::Display for KeyChord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mods.contains(KeyModifiers::CONTROL) {
            f.write_str("ctrl-")?;
        }
        if self.mods.contains(KeyModifiers::ALT) {
            f.write_str("alt-")?;
        }
        if self.mods.contains(KeyModifiers::SHIFT) {
            f.write_str("shift-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::BackTab => f.write_str("shift-tab"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::PageUp => f.write_str("pgup"),
            KeyCode::PageDown => f.write_str("pgdn"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::Backspace => f.write_str("backspace"),
            KeyCode::Delete => f.write_str("del"),
            KeyCode::Insert => f.write_str("ins"),
            KeyCode::F(n) => write!(f, "f{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// The bindings in use.
#[derive(Debug, Clone)]
pub struct KeyMap {
    by_key: HashMap<KeyChord, Action>,
    /// In `Action::ALL` order, for help and hints.
    by_action: Vec<(Action, Vec<KeyChord>)>,
}

impl Default for KeyMap {
    // Cannot fail: the built-in defaults are checked by a unit test; no user input reaches here.
    #[allow(clippy::expect_used)]
    fn default() -> Self {
        Self::from_config(&toml::Table::new()).expect("the default keymap is valid")
    }
}

fn key_list(action: &str, v: &toml::Value) -> Result<Vec<String>> {
    match v {
        toml::Value::String(s) => Ok(vec![s.clone()]),
        toml::Value::Array(items) => items
            .iter()
            .map(|i| match i {
                toml::Value::String(s) => Ok(s.clone()),
                other => bail!("[keys] {action}: expected key strings, found a {}", other.type_str()),
            })
            .collect(),
        other => {
            bail!(
                "[keys] {action}: expected a key string or a list of them, found a {}",
                other.type_str()
            )
        }
    }
}

impl KeyMap {
    /// Defaults, with `[keys]` from the config file merged over them.
    pub fn from_config(table: &toml::Table) -> Result<Self> {
        let mut chosen: Vec<(Action, Vec<KeyChord>)> = Vec::new();
        let mut user: HashMap<Action, Vec<KeyChord>> = HashMap::new();
        for (name, value) in table {
            let Some(action) = Action::from_name(name) else {
                let known: Vec<_> = Action::ALL.iter().map(|a| a.name()).collect();
                bail!("unknown action `{name}` in [keys]; known actions: {}", known.join(", "));
            };
            let mut keys = Vec::new();
            for k in key_list(name, value)? {
                let chord = KeyChord::parse(&k).ok_or_else(|| {
                    anyhow::anyhow!(
                        "[keys] {name} = {k:?}: unknown key; write e.g. \"j\", \"G\", \"ctrl-d\", \"pgdn\", \"enter\", \"esc\", \"tab\", \"f5\""
                    )
                })?;
                keys.push(chord);
            }
            user.insert(action, keys);
        }
        let user_keys: HashMap<KeyChord, Action> = user
            .iter()
            .flat_map(|(a, ks)| ks.iter().map(move |k| (*k, *a)))
            .collect();
        for (a, ks) in &user {
            for k in ks {
                if let Some(other) = user_keys.get(k)
                    && other != a
                {
                    bail!("[keys]: `{k}` is bound to both {} and {}", a.name(), other.name());
                }
            }
        }
        for &action in Action::ALL {
            let keys = match user.get(&action) {
                Some(ks) => ks.clone(),
                None => action
                    .default_keys()
                    .iter()
                    .filter_map(|k| KeyChord::parse(k))
                    // A default yields to a user binding of the same key.
                    .filter(|k| !user_keys.contains_key(k))
                    .collect(),
            };
            chosen.push((action, keys));
        }
        let by_key = chosen
            .iter()
            .flat_map(|(a, ks)| ks.iter().map(move |k| (*k, *a)))
            .collect();
        Ok(KeyMap {
            by_key,
            by_action: chosen,
        })
    }

    pub fn action(&self, key: &KeyEvent) -> Option<Action> {
        self.by_key.get(&KeyChord::from_event(key)).copied()
    }

    pub fn keys(&self, action: Action) -> &[KeyChord] {
        self.by_action
            .iter()
            .find(|(a, _)| *a == action)
            .map(|(_, k)| k.as_slice())
            .unwrap_or(&[])
    }

    /// `j/↓` style label of an action's keys.
    pub fn label(&self, action: Action) -> String {
        let keys: Vec<String> = self.keys(action).iter().map(|k| k.to_string()).collect();
        if keys.is_empty() {
            "(unbound)".into()
        } else {
            keys.join("/")
        }
    }

    /// The first key of an action, for the hints line.
    pub fn first(&self, action: Action) -> Option<String> {
        self.keys(action).first().map(|k| k.to_string())
    }

    /// (keys, description, `[keys]` name) rows for the help overlay, in table order.
    pub fn help_rows(&self) -> Vec<(String, &'static str, &'static str)> {
        self.by_action
            .iter()
            .map(|(a, _)| (self.label(*a), a.description(), a.name()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    /// Two actions on one default key: one of them could never be reached.
    #[test]
    fn no_default_key_serves_two_actions() {
        let mut seen: HashMap<KeyChord, Action> = HashMap::new();
        for &a in Action::ALL {
            for k in a.default_keys() {
                let chord = KeyChord::parse(k).unwrap_or_else(|| panic!("{k:?} does not parse"));
                if let Some(other) = seen.insert(chord, a) {
                    panic!("{k:?} is bound to both {} and {}", other.name(), a.name());
                }
            }
        }
    }

    #[test]
    fn defaults_cover_vim_and_arrows() {
        let km = KeyMap::default();
        assert_eq!(
            km.action(&ev(KeyCode::Char('j'), KeyModifiers::NONE)),
            Some(Action::Down)
        );
        assert_eq!(km.action(&ev(KeyCode::Down, KeyModifiers::NONE)), Some(Action::Down));
        assert_eq!(
            km.action(&ev(KeyCode::Char('G'), KeyModifiers::SHIFT)),
            Some(Action::Bottom)
        );
        assert_eq!(
            km.action(&ev(KeyCode::Char('d'), KeyModifiers::CONTROL)),
            Some(Action::HalfDown)
        );
        assert_eq!(
            km.action(&ev(KeyCode::BackTab, KeyModifiers::SHIFT)),
            Some(Action::SwitchPane)
        );
        assert_eq!(
            km.action(&ev(KeyCode::Char(' '), KeyModifiers::NONE)),
            Some(Action::Player(PlayerAction::PlayPause))
        );
        assert_eq!(
            km.action(&ev(KeyCode::Char('S'), KeyModifiers::SHIFT)),
            Some(Action::Player(PlayerAction::Stop))
        );
        assert_eq!(
            km.action(&ev(KeyCode::Char('s'), KeyModifiers::NONE)),
            Some(Action::Player(PlayerAction::SaveRecording))
        );
    }

    #[test]
    fn parses_key_names() {
        assert_eq!(
            KeyChord::parse("C-d"),
            Some(KeyChord::new(KeyCode::Char('d'), KeyModifiers::CONTROL))
        );
        assert_eq!(
            KeyChord::parse("shift-g"),
            Some(KeyChord::new(KeyCode::Char('G'), KeyModifiers::NONE))
        );
        assert_eq!(
            KeyChord::parse("shift-tab"),
            Some(KeyChord::new(KeyCode::BackTab, KeyModifiers::NONE))
        );
        assert_eq!(
            KeyChord::parse("f5"),
            Some(KeyChord::new(KeyCode::F(5), KeyModifiers::NONE))
        );
        assert_eq!(KeyChord::parse("f99"), None);
        assert_eq!(KeyChord::parse("nope"), None);
        assert_eq!(
            KeyChord::parse("-"),
            Some(KeyChord::new(KeyCode::Char('-'), KeyModifiers::NONE))
        );
    }

    #[test]
    fn user_bindings_replace_defaults_and_win_conflicts() {
        let t: toml::Table = toml::from_str("down = [\"ctrl-n\", \"J\"]\nquit = \"x\"\nreload = \"n\"").unwrap();
        let km = KeyMap::from_config(&t).unwrap();
        let n = |c| ev(KeyCode::Char(c), KeyModifiers::NONE);
        assert_eq!(km.action(&n('j')), None);
        assert_eq!(
            km.action(&ev(KeyCode::Char('n'), KeyModifiers::CONTROL)),
            Some(Action::Down)
        );
        assert_eq!(km.action(&n('x')), Some(Action::Quit));
        assert_eq!(km.action(&n('q')), None);
        // `n` moved from next_match to reload.
        assert_eq!(km.action(&n('n')), Some(Action::Reload));
        assert!(km.keys(Action::NextMatch).is_empty());
        assert_eq!(km.label(Action::Down), "ctrl-n/J");
    }

    #[test]
    fn bad_config_is_a_clear_error() {
        let err = |s: &str| {
            KeyMap::from_config(&toml::from_str(s).unwrap())
                .unwrap_err()
                .to_string()
        };
        assert!(err("jump = \"j\"").contains("unknown action `jump`"));
        assert!(err("down = \"hyper-j\"").contains("unknown key"));
        assert!(err("down = 3").contains("expected a key string"));
        assert!(err("down = \"x\"\nup = \"x\"").contains("bound to both"));
    }

    #[test]
    fn keys_toml_has_exactly_the_actions() {
        parse_defaults(KEYS_TOML).unwrap();
        let missing = KEYS_TOML.replace("\ndown = ", "\n# down = ");
        assert!(
            parse_defaults(&missing)
                .unwrap_err()
                .to_string()
                .contains("no entry for action `down`")
        );
        let unknown = format!("{KEYS_TOML}\njump = {{ keys = [\"F12\"], description = \"x\" }}\n");
        assert!(
            parse_defaults(&unknown)
                .unwrap_err()
                .to_string()
                .contains("`jump`, which is not an action")
        );
    }

    /// The file reads like the help overlay: same order as the enum.
    #[test]
    fn keys_toml_is_in_action_order() {
        let table: toml::Table = toml::from_str(KEYS_TOML).unwrap();
        let names: Vec<&str> = table.keys().map(String::as_str).collect();
        let want: Vec<&str> = Action::ALL.iter().map(|a| a.name()).collect();
        assert_eq!(names, want);
    }

    #[test]
    fn every_action_index_is_its_position() {
        for (i, a) in Action::ALL.iter().enumerate() {
            assert_eq!(a.index(), i, "{a:?} is listed once");
            assert_eq!(Action::from_name(a.name()), Some(*a));
        }
    }

    #[test]
    fn grouped_actions_keep_their_names_and_place() {
        let at = |a: Action| Action::ALL.iter().position(|x| *x == a);
        let play = Action::Player(PlayerAction::PlayPause);
        assert_eq!(play.name(), "play_pause");
        assert_eq!(at(play), at(Action::ToggleAsr).map(|i| i + 1));
        assert_eq!(
            at(Action::MarkReviewed),
            at(Action::Player(PlayerAction::ToggleRedacted)).map(|i| i + 1)
        );
    }

    #[test]
    fn help_rows_follow_the_table() {
        let km = KeyMap::default();
        let rows = km.help_rows();
        assert_eq!(rows.len(), Action::ALL.len());
        assert_eq!(rows[0], ("j/↓".to_string(), "move down", "down"));
    }
}
