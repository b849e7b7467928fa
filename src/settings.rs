//! The config file as a whole: loaded from `--config PATH` or the default path, and every
//! section checked, the TUI's `[keys]`, `[theme]` and `[views]` too. Every command that reads
//! the file goes through here, so a bad file is refused the same way whichever command reads it
//! and wherever its path came from (`doctor` does not say "ok" to a file `browse` refuses).

use std::path::Path;

use anyhow::{Context, Result};

use crate::app::KeyMap;
use crate::config::FileConfig;
use crate::domain::Filter;
use crate::ui::Theme;

/// The TUI's sections, interpreted.
pub struct Settings {
    pub keymap: KeyMap,
    pub theme: Theme,
    /// Saved views in the order the config file lists them.
    pub views: Vec<(String, Filter)>,
}

impl Settings {
    pub fn from_file(file: &FileConfig) -> Result<Settings> {
        let keymap = KeyMap::from_config(&file.keys).context("invalid [keys] in the config file")?;
        let views = Filter::views(&file.views)
            .map_err(|e| anyhow::anyhow!("{}", e.detail))
            .context("invalid [views] in the config file")?;
        let theme = Theme::from_config(&file.theme).context("invalid [theme] in the config file")?;
        // The team sections are checked here, not in `config`, which sits below `team`.
        file.team.check().context("invalid [team]")?;
        crate::team::scorecard::all(&file.scorecards).map_err(anyhow::Error::msg)?;
        if let Some(r) = &file.reviewer {
            crate::team::reviewer(Some(r), &|_| None, None)?;
        }
        Ok(Settings { keymap, theme, views })
    }
}

/// [`FileConfig::load_at`], with every section checked; the error names the file.
pub fn load_file(explicit: Option<&Path>) -> Result<FileConfig> {
    let file = FileConfig::load_at(explicit)?;
    let path = explicit
        .map(Path::to_path_buf)
        .or_else(crate::config::default_config_path);
    Settings::from_file(&file).with_context(|| match path {
        Some(p) => format!("config file {}", p.display()),
        None => "config file".into(),
    })?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_config_is_valid_and_names_every_key_the_loader_knows() {
        let file = FileConfig::parse(crate::config::EXAMPLE).expect("the example parses");
        Settings::from_file(&file).expect("its sections are valid");
        assert!(
            file.account_id.is_none() && file.keys.is_empty(),
            "as written, it changes nothing"
        );
        // Every commented-out setting, uncommented, is valid too.
        let setting = |l: &str| {
            l.strip_prefix("# ")
                .filter(|rest| rest.split_once(" = ").is_some_and(|(k, _)| !k.contains(' ')))
                .map(str::to_string)
        };
        let uncommented: String = crate::config::EXAMPLE
            .lines()
            .map(|l| setting(l).unwrap_or_else(|| l.to_string()) + "\n")
            .collect();
        let file = FileConfig::parse(&uncommented).expect("the uncommented example parses");
        let settings = Settings::from_file(&file).expect("its uncommented sections are valid");
        assert!(file.project_id.is_some() && settings.views.len() >= 3);
        assert!(file.team.database.is_some() && file.scorecards.contains_key("quick"));
        // Each loader's own list of what it knows, from its refusal of an unknown name.
        let known = |text: &str| -> Vec<String> {
            let err = FileConfig::parse(text)
                .and_then(|f| Settings::from_file(&f).map(|_| ()))
                .map(|_| ())
                .expect_err("an unknown name is refused");
            let msg = format!("{err:#}");
            let list = msg
                .rsplit_once("expected one of ")
                .or_else(|| msg.rsplit_once("known actions: "))
                .or_else(|| msg.rsplit_once("known: "))
                .or_else(|| msg.rsplit_once("expected "))
                .unwrap_or_else(|| panic!("no list of known names in {msg:?}"))
                .1;
            list.split(',')
                .map(|w| {
                    w.trim()
                        .trim_matches(|c: char| c == '`' || c.is_whitespace())
                        .to_string()
                })
                .filter(|w| !w.is_empty())
                .collect()
        };
        let top = known("zz_unknown = 1");
        let actions = known("[keys]\nzz_unknown = \"j\"");
        let roles = known("[theme]\nzz_unknown = \"red\"");
        let review = known("[review]\nzz_unknown = true");
        assert!(review.contains(&"advance_after_mark".to_string()), "{review:?}");
        let team = known("[team]\nzz_unknown = 1");
        assert!(top.contains(&"max_page_bytes".to_string()), "{top:?}");
        assert!(actions.contains(&"quit".to_string()), "{actions:?}");
        assert!(roles.contains(&"accent".to_string()), "{roles:?}");
        assert!(team.contains(&"database".to_string()), "{team:?}");
        let example = crate::config::EXAMPLE;
        let mentioned = |name: &str| {
            example.lines().any(|l| {
                let l = l.trim_start_matches(['#', ' ']);
                l.starts_with(&format!("{name} =")) || l.starts_with(&format!("[{name}]"))
            })
        };
        for name in top.iter().chain(&actions).chain(&roles).chain(&review).chain(&team) {
            assert!(mentioned(name), "the example config does not mention `{name}`");
        }
    }

    #[test]
    fn views_keep_the_config_order() {
        let file = FileConfig::parse("[views]\nzeta = \"voice\"\nalpha = \"chat\"\nmid = \"handoff\"\n").unwrap();
        let names: Vec<_> = Settings::from_file(&file)
            .unwrap()
            .views
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, ["zeta", "alpha", "mid"]);
    }

    #[test]
    fn a_bad_tui_section_is_refused_by_the_common_loader() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "[theme]\nmode = \"neon\"\n").unwrap();
        let e = format!("{:#}", load_file(Some(&path)).unwrap_err());
        assert!(e.contains("c.toml") && e.contains("[theme]"), "{e}");
        let e = format!("{:#}", load_file(Some(&dir.path().join("missing.toml"))).unwrap_err());
        assert!(e.contains("cannot read the config file"), "{e}");
    }
}
