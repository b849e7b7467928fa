//! The call scripts the generator draws from, as data: `assets/standin/*.toml` holds a dozen
//! everyday support scenarios, each a sequence of steps with several natural wordings, plus shared
//! openings, closings, re-prompts and out-of-domain lines. `{slot}` placeholders are filled per
//! conversation (see `Scripts::slots`). Embedded, parsed once; the order of every list is part of
//! the generated demo data (the generator picks by index), so reordering changes the demo.

use std::sync::OnceLock;

use serde::Deserialize;

/// One exchange: what the caller says, what the agent answers, and what NLU detected.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub intent: String,
    pub user: Vec<String>,
    pub agent: Vec<String>,
    /// Slots whose values are reported as this turn's entities.
    pub entities: Vec<String>,
}

/// A hand-off to a human at the end of the scripted part.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Handoff {
    pub chance: f64,
    pub reason: String,
    pub destination: String,
    pub user: Vec<String>,
    pub agent: Vec<String>,
}

/// A keypad step: the agent asks for digits and the caller types them.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Keypad {
    pub chance: f64,
    pub prompt: Vec<String>,
    pub digits: usize,
    pub entity: String,
    pub confirm: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    pub companies: Vec<String>,
    /// What the agent can help with, for out-of-domain redirects.
    pub topic: String,
    #[serde(rename = "step")]
    pub steps: Vec<Step>,
    pub keypad: Option<Keypad>,
    pub handoff: Option<Handoff>,
}

/// A script in another language: each line is (spoken, English).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForeignStep {
    pub intent: String,
    pub user: (String, String),
    pub agent: (String, String),
    pub entities: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForeignScenario {
    pub language: String,
    pub company: String,
    #[serde(rename = "step")]
    pub steps: Vec<ForeignStep>,
}

/// Values for one `{slot}` placeholder.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slot {
    pub name: String,
    pub values: Vec<String>,
}

/// `assets/standin/lines.toml`: slot values and the lines every scenario shares.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Lines {
    slot: Vec<Slot>,
    closing_user: Vec<String>,
    closing_agent: Vec<String>,
    anything_else: Vec<String>,
    reprompts: Vec<String>,
    ood_user: Vec<String>,
    ood_agent: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct English {
    scenario: Vec<Scenario>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Foreign {
    foreign: Vec<ForeignScenario>,
}

/// Everything the generator draws from.
#[derive(Debug)]
pub struct Scripts {
    /// In file order: one value of each is drawn per conversation, in this order.
    pub slots: Vec<Slot>,
    pub closing_user: Vec<String>,
    pub closing_agent: Vec<String>,
    pub anything_else: Vec<String>,
    pub reprompts: Vec<String>,
    pub ood_user: Vec<String>,
    pub ood_agent: Vec<String>,
    pub scenarios: Vec<Scenario>,
    /// Callers in other languages: the agent answers in kind and the API adds English translations.
    pub foreign: Vec<ForeignScenario>,
}

const LINES: (&str, &str) = (
    "assets/standin/lines.toml",
    include_str!("../../assets/standin/lines.toml"),
);
const SCENARIOS: (&str, &str) = (
    "assets/standin/scenarios.toml",
    include_str!("../../assets/standin/scenarios.toml"),
);
const FOREIGN: (&str, &str) = (
    "assets/standin/foreign.toml",
    include_str!("../../assets/standin/foreign.toml"),
);

fn parse<T: serde::de::DeserializeOwned>((path, text): (&str, &str)) -> anyhow::Result<T> {
    toml::from_str(text).map_err(|e| anyhow::anyhow!("{path}: {e}"))
}

impl Scripts {
    fn load() -> anyhow::Result<Scripts> {
        let lines: Lines = parse(LINES)?;
        let English { scenario } = parse(SCENARIOS)?;
        let Foreign { foreign } = parse(FOREIGN)?;
        Ok(Scripts {
            slots: lines.slot,
            closing_user: lines.closing_user,
            closing_agent: lines.closing_agent,
            anything_else: lines.anything_else,
            reprompts: lines.reprompts,
            ood_user: lines.ood_user,
            ood_agent: lines.ood_agent,
            scenarios: scenario,
            foreign,
        })
    }

    /// The values of one slot.
    pub fn slot_values(&self, name: &str) -> &[String] {
        self.slots
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.values.as_slice())
            .unwrap_or(&[])
    }
}

/// The embedded scripts, parsed on first use.
// The asset is embedded in the binary and parsed by a unit test: it cannot fail here.
#[allow(clippy::expect_used)]
pub fn scripts() -> &'static Scripts {
    static SCRIPTS: OnceLock<Scripts> = OnceLock::new();
    SCRIPTS.get_or_init(|| Scripts::load().expect("assets/standin are valid (unit-tested)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `{slot}` used in a script has values, so no placeholder can leak into a transcript;
    /// and every list the generator picks from is non-empty.
    #[test]
    fn every_placeholder_has_values() {
        let s = Scripts::load().unwrap();
        let mut lines: Vec<&str> = Vec::new();
        for sc in &s.scenarios {
            assert!(!sc.companies.is_empty() && !sc.steps.is_empty(), "{}", sc.name);
            for st in &sc.steps {
                assert!(!st.user.is_empty() && !st.agent.is_empty(), "{}", st.intent);
                lines.extend(st.user.iter().chain(st.agent.iter()).map(String::as_str));
                for e in &st.entities {
                    assert!(!s.slot_values(e).is_empty(), "entity slot {e}");
                }
            }
            if let Some(h) = &sc.handoff {
                assert!(!h.user.is_empty() && !h.agent.is_empty(), "{}", sc.name);
                lines.extend(h.user.iter().chain(h.agent.iter()).map(String::as_str));
            }
            if let Some(k) = &sc.keypad {
                assert!(!k.prompt.is_empty() && !k.confirm.is_empty(), "{}", sc.name);
            }
        }
        for f in &s.foreign {
            for st in &f.steps {
                lines.extend([&st.user.0, &st.user.1, &st.agent.0, &st.agent.1].map(String::as_str));
            }
        }
        for list in [
            &s.closing_user,
            &s.closing_agent,
            &s.anything_else,
            &s.reprompts,
            &s.ood_user,
            &s.ood_agent,
        ] {
            assert!(!list.is_empty());
        }
        lines.extend(s.ood_agent.iter().map(String::as_str));
        for line in lines {
            let mut rest = line;
            while let Some(i) = rest.find('{') {
                let j = rest[i..].find('}').expect("closed placeholder") + i;
                let name = &rest[i + 1..j];
                assert!(
                    name == "company" || name == "topic" || !s.slot_values(name).is_empty(),
                    "{name} in {line}"
                );
                rest = &rest[j + 1..];
            }
        }
        assert!(s.scenarios.len() >= 12);
        assert!(s.slots.iter().all(|sl| !sl.values.is_empty()));
    }

    #[test]
    fn a_typo_in_an_asset_is_an_error_naming_the_file() {
        let bad = LINES.1.replacen("closing_user", "closing_usr", 1);
        let err = parse::<Lines>((LINES.0, &bad)).unwrap_err().to_string();
        assert!(err.contains("assets/standin/lines.toml"), "{err}");
    }
}
