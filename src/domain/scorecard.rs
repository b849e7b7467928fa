//! Scorecards as data: a form of questions (yes/no/n.a., a 1–5 scale, a choice) with weights,
//! required and auto-fail questions, and the pure arithmetic that turns answers into a score.
//!
//! The built-in forms live in `assets/scorecards/`; `[scorecards.NAME]` in the config adds a
//! form or replaces a built-in one of the same name. Pure data and arithmetic, so the store, the
//! app and the team store all build on it (`crate::team::scorecard` is this module).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The built-in forms: (name, TOML body).
pub const BUILTIN: [(&str, &str); 1] = [("voice-qa", include_str!("../../assets/scorecards/voice-qa.toml"))];

/// The form a queue uses when `--scorecard` is not given.
pub const DEFAULT: &str = "voice-qa";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scorecard {
    /// The form's name: its file's or its `[scorecards.NAME]` table's, not a key in it.
    #[serde(skip)]
    pub name: String,
    pub title: String,
    /// A score at or above this passes (shown beside the score); none: no pass mark.
    #[serde(default)]
    pub pass: Option<f64>,
    pub questions: Vec<Question>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    YesNo,
    Scale,
    Choice,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    pub label: String,
    /// The share of the question's weight this answer earns, 0–1.
    pub points: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    pub id: String,
    pub text: String,
    pub kind: Kind,
    #[serde(default = "one")]
    pub weight: f64,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub auto_fail: bool,
    /// Default: yes for yes_no questions, no for the others.
    #[serde(default)]
    pub allow_na: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<Choice>,
}

fn one() -> f64 {
    1.0
}

/// One answer to one question.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Yes,
    No,
    Na,
    Scale(u8),
    Choice(String),
}

impl Answer {
    /// The text kept in the store and shown in exports: `yes`, `no`, `na`, `1`–`5`, a choice label.
    pub fn as_text(&self) -> String {
        match self {
            Answer::Yes => "yes".into(),
            Answer::No => "no".into(),
            Answer::Na => "na".into(),
            Answer::Scale(n) => n.to_string(),
            Answer::Choice(c) => c.clone(),
        }
    }
}

/// What the answers add up to.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// 0–100; `None` when every answered question was n.a. (nothing to score).
    pub score: Option<f64>,
    /// An auto-fail question was answered "no" (the score is then 0).
    pub auto_failed: Vec<String>,
    /// Required questions left unanswered: the form is incomplete and has no score.
    pub missing: Vec<String>,
}

impl Question {
    pub fn na_allowed(&self) -> bool {
        self.allow_na.unwrap_or(self.kind == Kind::YesNo)
    }

    /// Reads an answer as typed (`yes`/`y`, `no`/`n`, `na`/`n.a.`, `1`–`5`, a choice label).
    pub fn parse_answer(&self, text: &str) -> Result<Answer, String> {
        let t = text.trim().to_ascii_lowercase();
        if matches!(t.as_str(), "na" | "n.a." | "n/a") {
            return if self.na_allowed() {
                Ok(Answer::Na)
            } else {
                Err(format!("{}: n.a. is not allowed for this question", self.id))
            };
        }
        match self.kind {
            Kind::YesNo => match t.as_str() {
                "yes" | "y" => Ok(Answer::Yes),
                "no" | "n" => Ok(Answer::No),
                _ => Err(format!("{}: answer yes, no or na (got {text:?})", self.id)),
            },
            Kind::Scale => match t.parse::<u8>() {
                Ok(n @ 1..=5) => Ok(Answer::Scale(n)),
                _ => Err(format!("{}: answer 1 to 5 (got {text:?})", self.id)),
            },
            Kind::Choice => self
                .choices
                .iter()
                .find(|c| c.label.eq_ignore_ascii_case(&t))
                .map(|c| Answer::Choice(c.label.clone()))
                .ok_or_else(|| {
                    let labels: Vec<&str> = self.choices.iter().map(|c| c.label.as_str()).collect();
                    format!("{}: answer one of {} (got {text:?})", self.id, labels.join(", "))
                }),
        }
    }

    /// The answer's value, 0–1; `None` for n.a.
    fn value(&self, answer: &Answer) -> Option<f64> {
        match answer {
            Answer::Na => None,
            Answer::Yes => Some(1.0),
            Answer::No => Some(0.0),
            Answer::Scale(n) => Some(f64::from(n.saturating_sub(1).min(4)) / 4.0),
            Answer::Choice(label) => self.choices.iter().find(|c| &c.label == label).map(|c| c.points),
        }
    }

    /// An auto-fail question fails on its lowest answer: "no", a choice worth 0, a 1 on the scale.
    fn fails(&self, answer: &Answer) -> bool {
        self.auto_fail && self.value(answer) == Some(0.0)
    }
}

impl Scorecard {
    /// Reads one form (the body of a `[scorecards.NAME]` table or a file in `assets/scorecards/`).
    pub fn parse(name: &str, text: &str) -> Result<Scorecard, String> {
        let mut card: Scorecard = toml::from_str(text).map_err(|e| format!("scorecard {name}: {e}"))?;
        card.name = name.to_string();
        card.check()?;
        Ok(card)
    }

    fn from_value(name: &str, value: &toml::Value) -> Result<Scorecard, String> {
        let mut card: Scorecard = value
            .clone()
            .try_into()
            .map_err(|e: toml::de::Error| format!("[scorecards.{name}]: {}", e.message()))?;
        card.name = name.to_string();
        card.check()?;
        Ok(card)
    }

    fn check(&self) -> Result<(), String> {
        let name = &self.name;
        if self.questions.is_empty() {
            return Err(format!("scorecard {name} has no questions"));
        }
        let mut seen = std::collections::HashSet::new();
        for q in &self.questions {
            if q.id.is_empty() || !q.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                return Err(format!(
                    "scorecard {name}: question id {:?} must be letters, digits, _ or -",
                    q.id
                ));
            }
            if !seen.insert(&q.id) {
                return Err(format!("scorecard {name}: question {} appears twice", q.id));
            }
            if !(q.weight.is_finite() && q.weight >= 0.0) {
                return Err(format!(
                    "scorecard {name}: question {} needs a weight of 0 or more",
                    q.id
                ));
            }
            match q.kind {
                Kind::Choice if q.choices.len() < 2 => {
                    return Err(format!(
                        "scorecard {name}: choice question {} needs two or more choices",
                        q.id
                    ));
                }
                Kind::Choice => {
                    if let Some(c) = q.choices.iter().find(|c| !(0.0..=1.0).contains(&c.points)) {
                        return Err(format!(
                            "scorecard {name}: choice {:?} of {} must be worth 0 to 1 points",
                            c.label, q.id
                        ));
                    }
                }
                _ if !q.choices.is_empty() => {
                    return Err(format!(
                        "scorecard {name}: only a choice question takes choices ({})",
                        q.id
                    ));
                }
                _ => {}
            }
        }
        if let Some(p) = self.pass
            && !(0.0..=100.0).contains(&p)
        {
            return Err(format!("scorecard {name}: pass must be 0 to 100"));
        }
        Ok(())
    }

    pub fn question(&self, id: &str) -> Option<&Question> {
        self.questions.iter().find(|q| q.id == id)
    }

    /// Reads `id=answer` pairs against this form: an unknown question or answer is refused.
    pub fn parse_answers<'a>(
        &self,
        pairs: impl IntoIterator<Item = &'a str>,
    ) -> Result<BTreeMap<String, Answer>, String> {
        let mut out = BTreeMap::new();
        for pair in pairs {
            let (id, text) = pair
                .split_once('=')
                .ok_or_else(|| format!("write an answer as QUESTION=ANSWER, e.g. greeting=yes (got {pair:?})"))?;
            let q = self.question(id.trim()).ok_or_else(|| {
                let ids: Vec<&str> = self.questions.iter().map(|q| q.id.as_str()).collect();
                format!(
                    "scorecard {} has no question {:?}; its questions: {}",
                    self.name,
                    id.trim(),
                    ids.join(", ")
                )
            })?;
            out.insert(q.id.clone(), q.parse_answer(text)?);
        }
        Ok(out)
    }

    /// The score of a set of answers: weighted mean of the answered questions' values (n.a.
    /// and unanswered optional questions leave the denominator), 0 on an auto-fail "no".
    pub fn score(&self, answers: &BTreeMap<String, Answer>) -> Outcome {
        let mut num = 0.0;
        let mut den = 0.0;
        let mut auto_failed = Vec::new();
        let mut missing = Vec::new();
        for q in &self.questions {
            match answers.get(&q.id) {
                None if q.required => missing.push(q.id.clone()),
                None => {}
                Some(a) => {
                    if q.fails(a) {
                        auto_failed.push(q.id.clone());
                    }
                    if let Some(v) = q.value(a) {
                        num += q.weight * v;
                        den += q.weight;
                    }
                }
            }
        }
        let score = if !missing.is_empty() {
            None
        } else if !auto_failed.is_empty() {
            Some(0.0)
        } else if den > 0.0 {
            Some(100.0 * num / den)
        } else {
            None
        };
        Outcome {
            score,
            auto_failed,
            missing,
        }
    }

    /// The form as JSON, kept with a queue so every reviewer scores against the same questions.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_json(name: &str, text: &str) -> Result<Scorecard, String> {
        let mut card: Scorecard = serde_json::from_str(text).map_err(|e| format!("scorecard {name}: {e}"))?;
        card.name = name.to_string();
        Ok(card)
    }
}

/// Every form the config knows: the built-in ones, then `[scorecards.NAME]` (which may replace
/// a built-in one by name). An invalid table is an error naming it.
pub fn all(config: &toml::Table) -> Result<Vec<Scorecard>, String> {
    let mut cards: Vec<Scorecard> = BUILTIN
        .iter()
        .map(|(name, text)| Scorecard::parse(name, text))
        .collect::<Result<_, _>>()?;
    for (name, value) in config {
        let card = Scorecard::from_value(name, value)?;
        match cards.iter_mut().find(|c| c.name == *name) {
            Some(slot) => *slot = card,
            None => cards.push(card),
        }
    }
    Ok(cards)
}

/// The form called `name`, or an error listing the known ones.
pub fn find(config: &toml::Table, name: &str) -> Result<Scorecard, String> {
    let cards = all(config)?;
    let names: Vec<String> = cards.iter().map(|c| c.name.clone()).collect();
    cards
        .into_iter()
        .find(|c| c.name == name)
        .ok_or_else(|| format!("no scorecard {name:?}; known: {}", names.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(text: &str) -> Scorecard {
        Scorecard::parse("t", text).unwrap()
    }

    fn answers(card: &Scorecard, pairs: &[&str]) -> BTreeMap<String, Answer> {
        card.parse_answers(pairs.iter().copied()).unwrap()
    }

    const FORM: &str = r#"
title = "t"
[[questions]]
id = "a"
text = "A"
kind = "yes_no"
weight = 2
[[questions]]
id = "b"
text = "B"
kind = "scale"
weight = 1
[[questions]]
id = "c"
text = "C"
kind = "choice"
weight = 1
choices = [{ label = "full", points = 1.0 }, { label = "half", points = 0.5 }, { label = "none", points = 0.0 }]
[[questions]]
id = "d"
text = "D"
kind = "yes_no"
auto_fail = true
[[questions]]
id = "e"
text = "E"
kind = "yes_no"
required = true
"#;

    #[test]
    fn weighted_mean_by_hand() {
        let f = card(FORM);
        // a yes (2×1) + b 4 → 0.75 (1×0.75) + c half (1×0.5) + d yes (1×1) + e no (1×0)
        // = 4.25 of 6 → 70.8333…
        let o = f.score(&answers(&f, &["a=yes", "b=4", "c=half", "d=yes", "e=no"]));
        assert!((o.score.unwrap() - 425.0 / 6.0).abs() < 1e-9, "{o:?}");
        assert!(o.auto_failed.is_empty() && o.missing.is_empty());
    }

    #[test]
    fn na_and_unanswered_optional_leave_the_denominator() {
        let f = card(FORM);
        // a na (out), b 1 → 0 (1×0), c full (1×1), d unanswered (out), e yes (1×1) → 2 of 3.
        let o = f.score(&answers(&f, &["a=na", "b=1", "c=full", "e=yes"]));
        assert!((o.score.unwrap() - 200.0 / 3.0).abs() < 1e-9, "{o:?}");
        // Everything n.a. or left out: nothing to score.
        let o = f.score(&answers(&f, &["a=na", "e=na"]));
        assert_eq!(o.score, None);
    }

    #[test]
    fn an_auto_fail_no_makes_the_score_zero() {
        let f = card(FORM);
        let o = f.score(&answers(&f, &["a=yes", "b=5", "c=full", "d=no", "e=yes"]));
        assert_eq!(o.score, Some(0.0));
        assert_eq!(o.auto_failed, ["d"]);
        // n.a. on an auto-fail question does not fail.
        let o = f.score(&answers(&f, &["a=yes", "d=na", "e=yes"]));
        assert_eq!(o.score, Some(100.0));
    }

    #[test]
    fn a_missing_required_answer_leaves_no_score() {
        let f = card(FORM);
        let o = f.score(&answers(&f, &["a=yes"]));
        assert_eq!((o.score, o.missing), (None, vec!["e".to_string()]));
    }

    #[test]
    fn bad_answers_are_refused_with_the_valid_ones() {
        let f = card(FORM);
        assert!(f.parse_answers(["b=6"]).unwrap_err().contains("1 to 5"));
        assert!(f.parse_answers(["b=na"]).unwrap_err().contains("n.a. is not allowed"));
        assert!(f.parse_answers(["c=most"]).unwrap_err().contains("full, half, none"));
        assert!(f.parse_answers(["zz=yes"]).unwrap_err().contains("a, b, c, d, e"));
        assert!(f.parse_answers(["a"]).unwrap_err().contains("QUESTION=ANSWER"));
    }

    #[test]
    fn the_builtin_form_parses_and_a_config_form_replaces_it_by_name() {
        let cards = all(&toml::Table::new()).unwrap();
        let qa = &cards[0];
        assert_eq!(qa.name, DEFAULT);
        for id in [
            "greeting",
            "identification",
            "correct_information",
            "handoff_appropriate",
            "closing",
        ] {
            assert!(qa.question(id).is_some(), "{id}");
        }
        let cfg: toml::Table = toml::from_str(
            "[voice-qa]\ntitle = \"mine\"\nquestions = [{ id = \"x\", text = \"X\", kind = \"yes_no\" }]",
        )
        .unwrap();
        assert_eq!(find(&cfg, "voice-qa").unwrap().title, "mine");
        assert!(find(&cfg, "nope").unwrap_err().contains("voice-qa"));
        let json = qa.to_json();
        assert_eq!(&Scorecard::from_json(DEFAULT, &json).unwrap(), qa);
    }

    #[test]
    fn the_builtin_form_documents_every_key() {
        // Each struct's own list of the keys it knows, from its refusal of an unknown one.
        let known = |text: &str| -> Vec<String> {
            let e = Scorecard::parse("x", text).unwrap_err();
            let list = e
                .rsplit_once("expected one of ")
                .or_else(|| e.rsplit_once("expected "))
                .unwrap_or_else(|| panic!("{e}"))
                .1;
            list.split([',', ' '])
                .map(|w| w.trim().trim_matches('`').to_string())
                .filter(|w| !w.is_empty() && w != "or")
                .collect()
        };
        let form = known("zz = 1");
        let question = known("title = \"t\"\n[[questions]]\nzz = 1");
        let choice =
            known("title = \"t\"\n[[questions]]\nid = \"a\"\ntext = \"A\"\nkind = \"choice\"\nchoices = [{ zz = 1 }]");
        let asset = BUILTIN[0].1;
        for key in form.iter().chain(&question).chain(&choice) {
            assert!(
                asset.contains(key.as_str()),
                "assets/scorecards/voice-qa.toml does not mention `{key}`"
            );
            assert!(
                crate::config::EXAMPLE.contains(key.as_str()),
                "the example config does not mention `{key}`"
            );
        }
        assert!(question.contains(&"auto_fail".to_string()) && choice.contains(&"points".to_string()));
    }

    #[test]
    fn invalid_forms_are_refused() {
        let bad = |t: &str| Scorecard::parse("x", t).unwrap_err();
        assert!(bad("title = \"t\"\nquestions = []").contains("no questions"));
        assert!(
            bad("title = \"t\"\n[[questions]]\nid = \"a\"\ntext = \"A\"\nkind = \"choice\"").contains("two or more")
        );
        assert!(
            bad("title = \"t\"\n[[questions]]\nid = \"a\"\ntext = \"A\"\nkind = \"yes_no\"\nwieght = 1")
                .contains("wieght")
        );
    }
}
