//! Key bindings as data: one table handles keys, draws the help overlay and the hints line.
//!
//! Defaults are vim-style plus arrows; `[keys]` in the config file maps action names to a
//! key string or a list of them and replaces that action's defaults. Unknown actions or
//! keys are startup errors that say what to write.

use std::collections::HashMap;
use std::fmt;

use anyhow::{Result, bail};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

macro_rules! actions {
    ($($variant:ident => $name:literal, $desc:literal, [$($key:literal),*];)*) => {
        /// Everything a key can do.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Action { $($variant),* }

        impl Action {
            pub const ALL: &'static [Action] = &[$(Action::$variant),*];
            /// The name used in `[keys]`.
            pub fn name(self) -> &'static str {
                match self { $(Action::$variant => $name),* }
            }
            pub fn description(self) -> &'static str {
                match self { $(Action::$variant => $desc),* }
            }
            /// The keys bound when `[keys]` does not rebind the action (as written in the README).
            pub fn default_keys(self) -> &'static [&'static str] {
                match self { $(Action::$variant => &[$($key),*]),* }
            }
            pub fn from_name(name: &str) -> Option<Action> {
                match name { $($name => Some(Action::$variant),)* _ => None }
            }
        }
    };
}

actions! {
    Down => "down", "move down", ["j", "down"];
    Up => "up", "move up", ["k", "up"];
    Top => "top", "go to the first row / turn", ["g", "home"];
    Bottom => "bottom", "go to the last row / turn", ["G", "end"];
    PageDown => "page_down", "one screen down", ["pgdn", "ctrl-f"];
    PageUp => "page_up", "one screen up", ["pgup", "ctrl-b"];
    HalfDown => "half_down", "half a screen down", ["ctrl-d"];
    HalfUp => "half_up", "half a screen up", ["ctrl-u"];
    SwitchPane => "switch_pane", "switch between list and transcript", ["tab", "backtab"];
    Open => "open", "open the transcript · in it: play from top turn", ["enter", "l", "right"];
    Back => "back", "back to the list / close / clear", ["esc", "h", "left"];
    Search => "search", "search transcripts (list) / in the transcript", ["/"];
    EditFilter => "filter", "filter the list (e.g. voice handoff latency>2 unreviewed)", [":"];
    Views => "views", "saved views ([views] in the config) / no filter", ["v"];
    NextMatch => "next_match", "next search match", ["n"];
    PrevMatch => "prev_match", "previous search match", ["N"];
    CycleEnv => "cycle_env", "client_env: live → sandbox → pre-release", ["e"];
    Window => "window", "time window (1h, 24h, 7d, 30d, custom)", ["w"];
    Channel => "channel", "channel filter: all → voice → chat", ["c"];
    Reload => "reload", "reload from the first page", ["r"];
    ToggleOrder => "toggle_order", "order: newest first ⇄ oldest first", ["o"];
    CopyId => "copy_id", "copy the conversation id (OSC 52)", ["y"];
    CopyTranscript => "copy_transcript", "copy the transcript (OSC 52)", ["Y"];
    CopyStudioLink => "copy_studio_link", "copy the conversation's Agent Studio link (OSC 52)", ["O"];
    ToggleIntents => "toggle_intents", "show/hide intents and entities", ["i"];
    ToggleTranslation => "toggle_translation", "show/hide translations", ["t"];
    ToggleMouse => "toggle_mouse", "mouse capture on/off (off keeps text selection)", ["m"];
    ToggleFunctions => "toggle_functions", "show/hide function calls", ["T"];
    ToggleAsr => "toggle_asr", "show/hide ASR corrections, n-best and topics", ["I"];
    PlayPause => "play_pause", "play the selected voice call / pause / resume", ["space"];
    Stop => "stop", "stop playback and its download", ["S"];
    SeekBack => "seek_back", "seek back 5 s", ["["];
    SeekForward => "seek_forward", "seek forward 5 s", ["]"];
    SeekBackLong => "seek_back_long", "seek back 30 s", ["{"];
    SeekForwardLong => "seek_forward_long", "seek forward 30 s", ["}"];
    SeekStart => "seek_start", "jump to the start of the recording", ["0"];
    SeekEnd => "seek_end", "jump to the end of the recording", ["$"];
    SpeedDown => "speed_down", "speed −0.25× (0.5×–2×; the pitch changes too)", ["<"];
    SpeedUp => "speed_up", "speed +0.25× (0.5×–2×; the pitch changes too)", [">"];
    VolumeDown => "volume_down", "volume −10 %", ["-"];
    VolumeUp => "volume_up", "volume +10 % (up to 200 %)", ["+", "="];
    CycleDirection => "direction", "recording: combined → user → agent", ["d"];
    Follow => "follow", "transcript follows playback on/off", ["f"];
    SaveRecording => "save_recording", "save the WAV to <data dir>/recordings/<id>.wav", ["s"];
    PlayUtterance => "play_utterance", "play the current caller turn's utterance alone (where the API offers it)", ["p"];
    ToggleRedacted => "toggle_redacted", "recordings: PII-redacted ⇄ unredacted (redacted_audio)", ["P"];
    MarkReviewed => "mark_reviewed", "review: reviewed ⇄ new (✓)", ["R"];
    MarkFollowUp => "mark_follow_up", "review: needs follow-up ⇄ new (↻)", ["F"];
    Flag => "flag", "review: flag/unflag with a reason (⚑)", ["!"];
    EditNote => "edit_note", "review: edit the note", ["a"];
    RateTurn => "rate_turn", "review: rate the current turn ▸ 👍/👎 + comment", ["b"];
    PushMarks => "push_marks", "review: push the note and ratings to Agent Studio", ["A"];
    NextUnreviewed => "next_unreviewed", "jump to the next call not marked reviewed", ["u"];
    PrevUnreviewed => "prev_unreviewed", "jump to the previous call not marked reviewed", ["U"];
    NextFlagged => "next_flagged", "jump to the next flagged call", ["'"];
    PrevFlagged => "prev_flagged", "jump to the previous flagged call", ["\""];
    NextHandoff => "next_handoff", "jump to the next handed-off call", ["J"];
    PrevHandoff => "prev_handoff", "jump to the previous handed-off call", ["K"];
    NextTurn => "next_turn", "transcript: next turn", [")"];
    PrevTurn => "prev_turn", "transcript: previous turn", ["("];
    NextCallerTurn => "next_caller_turn", "transcript: next turn where the caller speaks", ["."];
    PrevCallerTurn => "prev_caller_turn", "transcript: previous turn where the caller speaks", [","];
    SlowestTurn => "slowest_turn", "transcript: the slowest turn; again: the next slowest", ["L"];
    ExportMarkdown => "export_markdown", "export with marks to <data dir>/exports/<id>.md and copy", ["x"];
    Stats => "stats", "stats view: charts of the window · Tab chart, j/k bar, Enter its calls", ["%"];
    StatsSplit => "stats_split", "stats view: split by variant → environment → none", ["V"];
    StatsFetch => "stats_fetch", "stats view: fetch the window from the API into the cache / cancel", ["ctrl-r"];
    Help => "help", "this help", ["?"];
    Quit => "quit", "quit", ["q", "ctrl-c"];
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
            Some(Action::PlayPause)
        );
        assert_eq!(
            km.action(&ev(KeyCode::Char('S'), KeyModifiers::SHIFT)),
            Some(Action::Stop)
        );
        assert_eq!(
            km.action(&ev(KeyCode::Char('s'), KeyModifiers::NONE)),
            Some(Action::SaveRecording)
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
    fn help_rows_follow_the_table() {
        let km = KeyMap::default();
        let rows = km.help_rows();
        assert_eq!(rows.len(), Action::ALL.len());
        assert_eq!(rows[0], ("j/↓".to_string(), "move down", "down"));
    }
}
