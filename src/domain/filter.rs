//! Combinable list filters: the syntax, the in-memory test, the header summary, and the text or TOML
//! form saved views use in the config's `[views]`. Each store compiles them to its own queries
//! (SQLite: `crate::store::filter`).
//!
//! Text syntax (whitespace-separated, any order):
//! `voice` `chat` `channel:VOICE-SIP,SMS` `env:live` `duration:60..300` `duration:>60` `duration:<300`
//! `handoff` `!handoff` `in-progress` `!in-progress` `intent:book_table` `latency>2.5`
//! `polyscore<3` `polyscore>4` `tag:vip` `topic:"Refund policy"` `function:lookup_booking`
//! `safety` `!safety` `unreviewed` `reviewed` `follow-up` (or `status:…`) `flagged` `!flagged`.
//! Drill-down from the stats view: `handoff-reason:REASON` (`(none)`: handed off without one),
//! `started:START..END` (RFC 3339, end excluded), `turn-latency:MIN..MAX` (a turn's latency in
//! `[MIN, MAX)` seconds; `MAX` may be left out).
//! Scorecards: `qa<70` (also `qa<=`, `qa>`, `qa>=`, `qa=`; some current score of the call, of
//! `scorecard:NAME` when given), `scored`, `unscored`, `scorecard:NAME` (scored with that form).

use serde::{Deserialize, Deserializer};

use super::Invalid;
use super::clock::clock;
use super::marks::{Marks, ReviewStatus};
use super::scores::{ScoreRecord, current, one_decimal};

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Filter {
    /// Any of these: `voice` / `chat` match the channel kind, anything else the exact channel name.
    #[serde(alias = "channel")]
    pub channels: Vec<String>,
    #[serde(alias = "env")]
    pub environment: Option<String>,
    /// Seconds, inclusive.
    pub min_duration: Option<u32>,
    pub max_duration: Option<u32>,
    pub handoff: Option<bool>,
    pub in_progress: Option<bool>,
    /// Exact intent name, matched against every turn's intents.
    pub intent: Option<String>,
    /// Some agent response slower than this many seconds.
    pub latency_above: Option<f64>,
    #[serde(deserialize_with = "status_de")]
    pub status: Option<ReviewStatus>,
    pub flagged: Option<bool>,
    /// PolyScore below / above this (calls without a score match neither).
    #[serde(alias = "polyscore_below")]
    pub poly_score_below: Option<f64>,
    #[serde(alias = "polyscore_above")]
    pub poly_score_above: Option<f64>,
    /// One of the conversation's tags (ASCII case ignored, as for the next three).
    pub tag: Option<String>,
    /// A knowledge-base topic retrieved at some turn.
    pub topic: Option<String>,
    /// The name of a function the agent called at some turn.
    pub function: Option<String>,
    /// Some safety filter fired at some turn (`false`: none did).
    pub safety: Option<bool>,
    /// Handed off with exactly this reason ([`NO_REASON`]: without one).
    pub handoff_reason: Option<String>,
    /// Started in `[start, end)`, unix ms.
    pub started: Option<(i64, i64)>,
    /// Some turn's latency in `[min, max)` seconds (`max` `None`: no upper bound).
    pub turn_latency: Option<(f64, Option<f64>)>,
    /// Some current scorecard score (of `scorecard` when set) meets every bound. In a view
    /// table: `qa = "<70"` or `qa = [">=50", "<70"]`.
    #[serde(deserialize_with = "qa_de")]
    pub qa: Vec<QaBound>,
    /// Scored with some scorecard (of `scorecard` when set), or (`false`) not.
    pub scored: Option<bool>,
    /// Scored with this scorecard; narrows `qa`, `scored` and `qa_answer` to it.
    pub scorecard: Option<String>,
    /// Some current save (of `scorecard` when set) gave this answer to this question. In a
    /// view table: `qa_answer = "greeting=no"`.
    #[serde(deserialize_with = "qa_answer_de")]
    pub qa_answer: Option<QaAnswer>,
}

/// `qa-answer:QUESTION=ANSWER` (the stats view's drill-down into a question's answers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QaAnswer {
    /// A question id (letters, digits, `_`, `-`: what a scorecard allows).
    pub question: String,
    /// As a save writes it (`yes`, `no`, `na`, `1`–`5`, a choice label); ASCII case is ignored.
    pub answer: String,
}

impl QaAnswer {
    pub fn parse(text: &str) -> Result<QaAnswer, String> {
        const USE: &str = "use qa-answer:QUESTION=ANSWER, e.g. qa-answer:greeting=no";
        let (q, a) = text.split_once('=').ok_or(USE)?;
        let (q, a) = (q.trim(), a.trim());
        if q.is_empty() || a.is_empty() {
            return Err(USE.into());
        }
        if !q.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            return Err(format!("question id {q:?}: letters, digits, _ or - only"));
        }
        Ok(QaAnswer {
            question: q.to_string(),
            answer: a.to_string(),
        })
    }

    /// `greeting=no`, as the filter word writes it after `qa-answer:`.
    pub fn text(&self) -> String {
        format!("{}={}", self.question, self.answer)
    }

    pub fn holds(&self, record: &ScoreRecord) -> bool {
        record
            .answers
            .get(&self.question)
            .is_some_and(|a| a.answer.eq_ignore_ascii_case(&self.answer))
    }
}

fn qa_answer_de<'de, D: Deserializer<'de>>(d: D) -> Result<Option<QaAnswer>, D::Error> {
    Option::<String>::deserialize(d)?
        .map(|w| QaAnswer::parse(&w).map_err(serde::de::Error::custom))
        .transpose()
}

/// How a `qa` bound compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
}

impl Cmp {
    /// As written in the filter word, and in SQL (the same comparison as [`QaBound::holds`]).
    pub fn symbol(self) -> &'static str {
        match self {
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
            Cmp::Eq => "=",
        }
    }
}

/// `qa<70`: a score bound, 0–100.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QaBound {
    pub op: Cmp,
    pub value: f64,
}

impl QaBound {
    /// Reads `<70`, `<=70`, `>50`, `>=50`, `=100`.
    pub fn parse(text: &str) -> Result<QaBound, String> {
        let (op, rest) = [
            ("<=", Cmp::Le),
            (">=", Cmp::Ge),
            ("<", Cmp::Lt),
            (">", Cmp::Gt),
            ("=", Cmp::Eq),
        ]
        .into_iter()
        .find_map(|(p, op)| text.strip_prefix(p).map(|r| (op, r)))
        .ok_or("use qa<N, qa<=N, qa>N, qa>=N or qa=N (a score 0–100)")?;
        match rest.trim().parse::<f64>() {
            Ok(v) if (0.0..=100.0).contains(&v) => Ok(QaBound { op, value: v }),
            _ => Err("expected a score 0–100, e.g. qa<70".into()),
        }
    }

    pub fn holds(&self, score: f64) -> bool {
        match self.op {
            Cmp::Lt => score < self.value,
            Cmp::Le => score <= self.value,
            Cmp::Gt => score > self.value,
            Cmp::Ge => score >= self.value,
            Cmp::Eq => score == self.value,
        }
    }

    /// `<70`, as the filter word writes it after `qa`.
    pub fn text(&self) -> String {
        format!("{}{}", self.op.symbol(), self.value)
    }
}

fn qa_de<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<QaBound>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    let words = match OneOrMany::deserialize(d)? {
        OneOrMany::One(w) => vec![w],
        OneOrMany::Many(ws) => ws,
    };
    words
        .iter()
        .map(|w| QaBound::parse(w.trim_start_matches("qa")).map_err(serde::de::Error::custom))
        .collect()
}

/// What the filter syntax knows, for errors and help.
pub const FILTER_WORDS: &str = "words: voice chat handoff in-progress flagged safety (the last four negatable with !) \
unreviewed reviewed follow-up; keys: channel: env: duration: intent: tag: topic: function: status:; \
comparisons: latency>SECONDS polyscore<N polyscore>N; scorecards: qa<N (or <= > >= =) scored unscored \
scorecard: qa-answer:QUESTION=ANSWER; drill-down: handoff-reason: started:START..END \
turn-latency:MIN..MAX";

/// How a handoff without a reason is named (in the stats view and `handoff-reason:`).
pub const NO_REASON: &str = "(none)";

fn status_de<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ReviewStatus>, D::Error> {
    let s = Option::<String>::deserialize(d)?;
    s.map(|s| ReviewStatus::parse(&s).map_err(serde::de::Error::custom))
        .transpose()
}

/// `voice` and `chat` name channel kinds; the API's channel field says e.g. `VOICE-SIP` or `WEBCHAT`.
pub fn is_voice_kind(v: &str) -> bool {
    v.eq_ignore_ascii_case("voice")
}
pub fn is_chat_kind(v: &str) -> bool {
    v.eq_ignore_ascii_case("chat")
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        *self == Filter::default()
    }

    /// The same test as the SQL, on a conversation in memory (for calls that arrive live, before
    /// they reach the cache). `marks` is `None` for a conversation never marked.
    pub fn matches(&self, c: &crate::api::Conversation, marks: Option<&Marks>) -> bool {
        self.matches_scored(c, marks, &[])
    }

    /// As [`Filter::matches`], with the conversation's saved scores (oldest first, as a store
    /// returns them; none: never scored).
    pub fn matches_scored(&self, c: &crate::api::Conversation, marks: Option<&Marks>, scores: &[ScoreRecord]) -> bool {
        self.scores_match(scores) && self.call_matches(c, marks)
    }

    /// Whether `scored` holds: `scorecard:` alone means scored with it.
    pub fn wants_scored(&self) -> Option<bool> {
        self.scored
            .or_else(|| (self.scorecard.is_some() && self.qa.is_empty()).then_some(true))
    }

    fn scores_match(&self, scores: &[ScoreRecord]) -> bool {
        let of_card: Vec<&ScoreRecord> = current(scores)
            .into_iter()
            .filter(|r| self.scorecard.as_ref().is_none_or(|n| r.scorecard == *n))
            .collect();
        let scored = !of_card.is_empty();
        self.wants_scored().is_none_or(|w| w == scored)
            && self
                .qa_answer
                .as_ref()
                .is_none_or(|a| of_card.iter().any(|r| a.holds(r)))
            && (self.qa.is_empty()
                || of_card
                    .iter()
                    .any(|r| r.score.is_some_and(|s| self.qa.iter().all(|b| b.holds(s)))))
    }

    fn call_matches(&self, c: &crate::api::Conversation, marks: Option<&Marks>) -> bool {
        let voice = crate::api::model::is_voice_channel(&c.channel);
        let channel_ok = self.channels.is_empty()
            || self.channels.iter().any(|ch| {
                if is_voice_kind(ch) {
                    voice
                } else if is_chat_kind(ch) {
                    !voice
                } else {
                    ch.eq_ignore_ascii_case(&c.channel)
                }
            });
        let duration = c.total_duration;
        let in_range =
            |bound: Option<u32>, ok: fn(u32, u32) -> bool| bound.is_none_or(|b| duration.is_some_and(|d| ok(d, b)));
        let latency = c.max_latency();
        let status = marks.map(|m| m.status).unwrap_or_default();
        let flagged = marks.is_some_and(|m| m.is_flagged());
        channel_ok
            && in_range(self.min_duration, |d, b| d >= b)
            && in_range(self.max_duration, |d, b| d <= b)
            && self.handoff.is_none_or(|h| h == c.handoff)
            && self.in_progress.is_none_or(|p| p == c.in_progress)
            && self
                .intent
                .as_ref()
                .is_none_or(|i| c.turns.iter().any(|t| t.intents.iter().any(|x| x == i)))
            && self.latency_above.is_none_or(|l| latency.is_some_and(|m| m > l))
            && self.status.is_none_or(|s| s == status)
            && self.flagged.is_none_or(|f| f == flagged)
            && self
                .poly_score_below
                .is_none_or(|n| c.poly_score.is_some_and(|s| s < n))
            && self
                .poly_score_above
                .is_none_or(|n| c.poly_score.is_some_and(|s| s > n))
            && self
                .tag
                .as_ref()
                .is_none_or(|want| c.tags.iter().any(|t| t.eq_ignore_ascii_case(want)))
            && self.topic.as_ref().is_none_or(|want| {
                c.turns
                    .iter()
                    .any(|t| t.retrieved_topics.iter().any(|x| x.eq_ignore_ascii_case(want)))
            })
            && self.function.as_ref().is_none_or(|want| {
                c.turns
                    .iter()
                    .any(|t| t.function_events.iter().any(|e| e.name.eq_ignore_ascii_case(want)))
            })
            && self
                .safety
                .is_none_or(|want| want == c.turns.iter().any(|t| !t.safety_filters.is_empty()))
            && self.handoff_reason.as_ref().is_none_or(|want| {
                let want = if want == NO_REASON { "" } else { want };
                c.handoff && c.handoff_reason == want
            })
            && self
                .started
                .is_none_or(|(a, b)| c.started_at.is_some_and(|t| (a..b).contains(&t.timestamp_millis())))
            && self.turn_latency.is_none_or(|(lo, hi)| {
                c.turns
                    .iter()
                    .filter_map(|t| t.latency)
                    .any(|l| l >= lo && hi.is_none_or(|h| l < h))
            })
    }

    /// The list header's summary, e.g. `voice · handoff · >2.0s latency · unreviewed`; `all` when empty.
    pub fn summary(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        if !self.channels.is_empty() {
            parts.push(
                self.channels
                    .iter()
                    .map(|c| c.to_lowercase())
                    .collect::<Vec<_>>()
                    .join("/"),
            );
        }
        if let Some(env) = &self.environment {
            parts.push(env.clone());
        }
        match (self.min_duration, self.max_duration) {
            (Some(a), Some(b)) => parts.push(format!("{}–{}", mmss(a), mmss(b))),
            // Whole seconds: ≥5:01 is >5:00; shown in whichever form reads rounder.
            (Some(a), None) if a > 0 && roundness(a - 1) > roundness(a) => parts.push(format!(">{}", mmss(a - 1))),
            (Some(a), None) => parts.push(format!("≥{}", mmss(a))),
            (None, Some(b)) if b < u32::MAX && roundness(b + 1) > roundness(b) => {
                parts.push(format!("<{}", mmss(b + 1)))
            }
            (None, Some(b)) => parts.push(format!("≤{}", mmss(b))),
            (None, None) => {}
        }
        if let Some(h) = self.handoff {
            parts.push(if h { "handoff" } else { "no handoff" }.into());
        }
        if let Some(p) = self.in_progress {
            parts.push(if p { "in progress" } else { "completed" }.into());
        }
        if let Some(i) = &self.intent {
            parts.push(format!("intent {i}"));
        }
        if let Some(l) = self.latency_above {
            parts.push(format!(">{l:.1}s latency"));
        }
        if let Some(s) = self.status {
            parts.push(s.filter_word().replace('-', " "));
        }
        if let Some(f) = self.flagged {
            parts.push(if f { "flagged" } else { "not flagged" }.into());
        }
        match (self.poly_score_above, self.poly_score_below) {
            (Some(a), Some(b)) => parts.push(format!("PolyScore {a}–{b}")),
            (Some(a), None) => parts.push(format!("PolyScore >{a}")),
            (None, Some(b)) => parts.push(format!("PolyScore <{b}")),
            (None, None) => {}
        }
        for (label, v) in [("tag", &self.tag), ("topic", &self.topic), ("function", &self.function)] {
            if let Some(v) = v {
                parts.push(format!("{label} {v}"));
            }
        }
        if let Some(safety) = self.safety {
            parts.push(
                if safety {
                    "safety filter fired"
                } else {
                    "no safety filter"
                }
                .into(),
            );
        }
        if let Some(r) = &self.handoff_reason {
            parts.push(format!("handoff reason {r}"));
        }
        if let Some((a, b)) = self.started {
            parts.push(format!("started {}", started_text(a, b)));
        }
        if let Some((lo, hi)) = self.turn_latency {
            parts.push(match hi {
                Some(h) => format!("turn latency {lo}–{h}s"),
                None => format!("turn latency ≥{lo}s"),
            });
        }
        if !self.qa.is_empty() {
            let bounds: Vec<String> = self
                .qa
                .iter()
                .map(|b| format!("{}{}", b.op.symbol(), one_decimal(b.value)))
                .collect();
            parts.push(format!("QA {}", bounds.join(" ")));
        }
        match (self.scored, &self.scorecard) {
            (Some(false), Some(n)) => parts.push(format!("not scored with {n}")),
            (Some(false), None) => parts.push("unscored".into()),
            (_, Some(n)) => parts.push(format!("scorecard {n}")),
            (Some(true), None) => parts.push("scored".into()),
            (None, None) => {}
        }
        if let Some(a) = &self.qa_answer {
            parts.push(format!("answered {}", a.text()));
        }
        if parts.is_empty() {
            "all".into()
        } else {
            parts.join(" · ")
        }
    }

    /// Parses the text syntax (see the module docs). Unknown words are an error naming the word.
    pub fn parse(text: &str) -> Result<Filter, Invalid> {
        let mut f = Filter::default();
        for word in split_words(text)? {
            f.apply_word(&word)?;
        }
        Ok(f)
    }

    fn apply_word(&mut self, word: &str) -> Result<(), Invalid> {
        let bad = |why: &str| Invalid::new(format!("filter word {word:?}: {why}"));
        let (negated, bare) = match word.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, word),
        };
        let flag = |v: &mut Option<bool>| {
            *v = Some(!negated);
            Ok(())
        };
        match bare.to_ascii_lowercase().as_str() {
            "handoff" => return flag(&mut self.handoff),
            "in-progress" | "live-call" => return flag(&mut self.in_progress),
            "flagged" => return flag(&mut self.flagged),
            "safety" => return flag(&mut self.safety),
            "scored" if !negated => {
                self.scored = Some(true);
                return Ok(());
            }
            "unscored" if !negated => {
                self.scored = Some(false);
                return Ok(());
            }
            "voice" | "chat" if !negated => {
                self.channels.push(bare.to_ascii_lowercase());
                return Ok(());
            }
            w if !negated && ReviewStatus::parse(w).is_ok() => {
                self.status = ReviewStatus::parse(w).ok();
                return Ok(());
            }
            _ if negated => {
                return Err(bad(
                    "only handoff, in-progress, flagged and safety can be negated with !",
                ));
            }
            _ => {}
        }
        if let Some(v) = word.strip_prefix("latency>") {
            self.latency_above = Some(parse_seconds(v).map_err(|e| bad(&e))?);
            return Ok(());
        }
        let lower = word.to_ascii_lowercase();
        for (prefix, slot) in [
            ("polyscore<", &mut self.poly_score_below),
            ("polyscore>", &mut self.poly_score_above),
        ] {
            if lower.starts_with(prefix) {
                *slot = Some(parse_score(&word[prefix.len()..]).map_err(|e| bad(&e))?);
                return Ok(());
            }
        }
        if let Some(rest) = lower.strip_prefix("qa")
            && rest.starts_with(['<', '>', '='])
        {
            self.qa.push(QaBound::parse(rest).map_err(|e| bad(&e))?);
            return Ok(());
        }
        let Some((key, value)) = word.split_once(':') else {
            return Err(bad(&format!("not a filter word; {FILTER_WORDS}")));
        };
        if value.is_empty() {
            return Err(bad("missing value after ':'"));
        }
        match key.to_ascii_lowercase().as_str() {
            "channel" => self
                .channels
                .extend(value.split(',').filter(|s| !s.is_empty()).map(str::to_string)),
            "env" | "environment" => self.environment = Some(value.to_string()),
            "intent" => self.intent = Some(value.to_string()),
            "tag" => self.tag = Some(value.to_string()),
            "topic" => self.topic = Some(value.to_string()),
            "function" => self.function = Some(value.to_string()),
            "safety" => self.safety = Some(parse_yes_no(value).map_err(|e| bad(&e))?),
            "latency" => self.latency_above = Some(parse_seconds(value).map_err(|e| bad(&e))?),
            "status" => self.status = Some(ReviewStatus::parse(value).map_err(|e| bad(&e))?),
            "handoff-reason" => self.handoff_reason = Some(value.to_string()),
            "scorecard" => self.scorecard = Some(value.to_string()),
            "qa-answer" => self.qa_answer = Some(QaAnswer::parse(value).map_err(|e| bad(&e))?),
            "started" => self.started = Some(parse_started(value).map_err(|e| bad(&e))?),
            "turn-latency" => self.turn_latency = Some(parse_latency_range(value).map_err(|e| bad(&e))?),
            "handoff" => self.handoff = Some(parse_yes_no(value).map_err(|e| bad(&e))?),
            "in-progress" => self.in_progress = Some(parse_yes_no(value).map_err(|e| bad(&e))?),
            "flagged" => self.flagged = Some(parse_yes_no(value).map_err(|e| bad(&e))?),
            "duration" => {
                let secs = |s: &str| s.parse::<u32>().map_err(|_| bad("durations are whole seconds"));
                // Bounds are inclusive whole seconds: >300 is 301 and longer, <60 is 59 and shorter.
                if let Some(v) = value.strip_prefix('>') {
                    self.min_duration = Some(secs(v)?.checked_add(1).ok_or_else(|| bad("no call is that long"))?);
                } else if let Some(v) = value.strip_prefix('<') {
                    self.max_duration = Some(
                        secs(v)?
                            .checked_sub(1)
                            .ok_or_else(|| bad("no call is shorter than 0 seconds"))?,
                    );
                } else if let Some((a, b)) = value.split_once("..") {
                    self.min_duration = if a.is_empty() { None } else { Some(secs(a)?) };
                    self.max_duration = if b.is_empty() { None } else { Some(secs(b)?) };
                } else {
                    return Err(bad("use duration:MIN..MAX, duration:>MIN or duration:<MAX (seconds)"));
                }
            }
            _ => return Err(bad(&format!("unknown key; {FILTER_WORDS}"))),
        }
        Ok(())
    }

    /// The canonical text form; `Filter::parse(&f.to_text()) == f`.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let mut word = |w: String| {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&w);
        };
        if !self.channels.is_empty() {
            word(format!("channel:{}", quote(&self.channels.join(","))));
        }
        if let Some(e) = &self.environment {
            word(format!("env:{}", quote(e)));
        }
        if self.min_duration.is_some() || self.max_duration.is_some() {
            let show = |v: Option<u32>| v.map(|v| v.to_string()).unwrap_or_default();
            word(format!(
                "duration:{}..{}",
                show(self.min_duration),
                show(self.max_duration)
            ));
        }
        let yes_no = |name: &str, v: bool| if v { name.to_string() } else { format!("!{name}") };
        if let Some(h) = self.handoff {
            word(yes_no("handoff", h));
        }
        if let Some(p) = self.in_progress {
            word(yes_no("in-progress", p));
        }
        if let Some(i) = &self.intent {
            word(format!("intent:{}", quote(i)));
        }
        if let Some(l) = self.latency_above {
            word(format!("latency>{l}"));
        }
        if let Some(s) = self.status {
            word(s.filter_word().to_string());
        }
        if let Some(f) = self.flagged {
            word(yes_no("flagged", f));
        }
        if let Some(n) = self.poly_score_below {
            word(format!("polyscore<{n}"));
        }
        if let Some(n) = self.poly_score_above {
            word(format!("polyscore>{n}"));
        }
        for (key, v) in [("tag", &self.tag), ("topic", &self.topic), ("function", &self.function)] {
            if let Some(v) = v {
                word(format!("{key}:{}", quote(v)));
            }
        }
        if let Some(safety) = self.safety {
            word(yes_no("safety", safety));
        }
        if let Some(r) = &self.handoff_reason {
            word(format!("handoff-reason:{}", quote(r)));
        }
        if let Some((a, b)) = self.started {
            word(format!("started:{}", started_text(a, b)));
        }
        if let Some((lo, hi)) = self.turn_latency {
            word(format!(
                "turn-latency:{lo}..{}",
                hi.map(|h| h.to_string()).unwrap_or_default()
            ));
        }
        for b in &self.qa {
            word(format!("qa{}", b.text()));
        }
        match self.scored {
            Some(true) => word("scored".into()),
            Some(false) => word("unscored".into()),
            None => {}
        }
        if let Some(n) = &self.scorecard {
            word(format!("scorecard:{}", quote(n)));
        }
        if let Some(a) = &self.qa_answer {
            word(format!("qa-answer:{}", quote(&a.text())));
        }
        out
    }

    /// A saved view: either a text string (`"voice handoff"`) or a table (`{ channel = ["voice"], handoff = true }`).
    pub fn from_toml(value: &toml::Value) -> Result<Filter, Invalid> {
        match value {
            toml::Value::String(s) => Filter::parse(s),
            toml::Value::Table(t) => {
                let filter: Filter = t
                    .clone()
                    .try_into()
                    .map_err(|e| Invalid::new(format!("view table: {e}")))?;
                Ok(filter)
            }
            other => Err(Invalid::new(format!(
                "a view is a filter string or a table, not a {}",
                other.type_str()
            ))),
        }
    }

    /// How a view is saved in `[views]`: its text form, which `from_toml` reads back.
    pub fn to_toml(&self) -> toml::Value {
        toml::Value::String(self.to_text())
    }

    /// All saved views of the config's `[views]` table, by name; the first invalid one is an error naming it.
    /// The config's `[views]`, in the file's order (the order `v` lists them in).
    pub fn views(table: &toml::Table) -> Result<Vec<(String, Filter)>, Invalid> {
        table
            .iter()
            .map(|(name, v)| {
                Filter::from_toml(v)
                    .map(|f| (name.clone(), f))
                    .map_err(|e| Invalid::new(format!("view {name:?}: {}", e.detail)))
            })
            .collect()
    }
}

/// How round a number of seconds reads: a whole minute beats a half, a quarter, ten, five seconds.
fn roundness(secs: u32) -> usize {
    [1, 5, 10, 15, 30, 60]
        .iter()
        .rposition(|d| secs.is_multiple_of(*d))
        .unwrap_or(0)
}

fn mmss(secs: u32) -> String {
    clock(secs.into())
}

fn parse_seconds(v: &str) -> Result<f64, String> {
    let v = v.trim_end_matches('s');
    match v.parse::<f64>() {
        Ok(x) if x.is_finite() && x >= 0.0 => Ok(x),
        _ => Err("expected seconds, e.g. 2.5".into()),
    }
}

/// A PolyScore bound: any finite number (the scale is 1–5 since July 2026, 0–10 before).
fn parse_score(v: &str) -> Result<f64, String> {
    match v.parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(x),
        _ => Err("expected a score, e.g. polyscore<3".into()),
    }
}

/// `START..END`, both RFC 3339 (what `started_text` writes).
fn parse_started(v: &str) -> Result<(i64, i64), String> {
    let (a, b) = v
        .split_once("..")
        .ok_or("use started:START..END, e.g. started:2026-12-01T09:00:00Z..2026-12-01T10:00:00Z")?;
    let t = |s: &str| {
        chrono::DateTime::parse_from_rfc3339(s)
            .map(|t| t.timestamp_millis())
            .map_err(|e| format!("{s:?} is not an RFC 3339 time: {e}"))
    };
    let (a, b) = (t(a)?, t(b)?);
    if a >= b {
        return Err("the start must be before the end".into());
    }
    Ok((a, b))
}

fn started_text(a: i64, b: i64) -> String {
    let t = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    format!("{}..{}", t(a), t(b))
}

/// `MIN..MAX` or `MIN..` seconds.
fn parse_latency_range(v: &str) -> Result<(f64, Option<f64>), String> {
    let (a, b) = v
        .split_once("..")
        .ok_or("use turn-latency:MIN..MAX or turn-latency:MIN.. (seconds)")?;
    let lo = parse_seconds(a)?;
    let hi = if b.is_empty() { None } else { Some(parse_seconds(b)?) };
    if hi.is_some_and(|h| h <= lo) {
        return Err("the upper bound must be above the lower".into());
    }
    Ok((lo, hi))
}

fn parse_yes_no(v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "yes" | "true" | "y" | "1" => Ok(true),
        "no" | "false" | "n" | "0" => Ok(false),
        _ => Err("expected yes or no".into()),
    }
}

fn quote(v: &str) -> String {
    if v.is_empty() || v.chars().any(|c| c.is_whitespace() || c == '"') {
        let mut q = String::from("\"");
        for c in v.chars() {
            if c == '"' || c == '\\' {
                q.push('\\');
            }
            q.push(c);
        }
        q.push('"');
        q
    } else {
        v.to_string()
    }
}

/// Splits on whitespace; `"…"` (with `\"` and `\\` escapes) keeps spaces inside a word.
fn split_words(text: &str) -> Result<Vec<String>, Invalid> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(e) => cur.push(e),
                            None => return Err(Invalid::new("filter ends inside a quoted value")),
                        },
                        Some(other) => cur.push(other),
                        None => return Err(Invalid::new("unclosed \" in filter")),
                    }
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_summarizes() {
        let f = Filter::parse("voice handoff latency>2 unreviewed").unwrap();
        assert_eq!(f.channels, vec!["voice"]);
        assert_eq!(f.handoff, Some(true));
        assert_eq!(f.latency_above, Some(2.0));
        assert_eq!(f.status, Some(ReviewStatus::New));
        assert_eq!(f.summary(), "voice · handoff · >2.0s latency · unreviewed");
        assert_eq!(Filter::default().summary(), "all");
    }

    #[test]
    fn text_round_trips() {
        let f = Filter {
            channels: vec!["VOICE-SIP".into(), "chat".into()],
            environment: Some("pre-release".into()),
            min_duration: Some(60),
            max_duration: None,
            handoff: Some(false),
            in_progress: Some(true),
            intent: Some("book table \"now\"".into()),
            latency_above: Some(1.25),
            status: Some(ReviewStatus::NeedsFollowUp),
            flagged: Some(false),
            poly_score_below: Some(4.5),
            poly_score_above: Some(1.0),
            tag: Some("VIP list".into()),
            topic: Some("Refund policy".into()),
            function: Some("lookup_booking".into()),
            safety: Some(false),
            handoff_reason: Some("billing dispute".into()),
            started: Some((1_764_633_600_000, 1_764_637_200_000)),
            turn_latency: Some((1.5, Some(2.0))),
            qa: vec![
                QaBound {
                    op: Cmp::Ge,
                    value: 50.0,
                },
                QaBound {
                    op: Cmp::Lt,
                    value: 72.5,
                },
            ],
            scored: Some(true),
            scorecard: Some("voice qa".into()),
            qa_answer: Some(QaAnswer {
                question: "resolution".into(),
                answer: "not resolved".into(),
            }),
        };
        let text = f.to_text();
        assert_eq!(Filter::parse(&text).unwrap(), f, "{text}");
        assert_eq!(Filter::from_toml(&f.to_toml()).unwrap(), f);
        assert_eq!(Filter::parse("").unwrap(), Filter::default());
    }

    #[test]
    fn duration_bounds_say_what_they_mean() {
        let f = Filter::parse("duration:>300").unwrap();
        assert_eq!((f.min_duration, f.summary().as_str()), (Some(301), ">05:00"));
        let f = Filter::parse("duration:<60").unwrap();
        assert_eq!((f.max_duration, f.summary().as_str()), (Some(59), "<01:00"));
        assert_eq!(Filter::parse("duration:60..").unwrap().summary(), "≥01:00");
        assert_eq!(Filter::parse("duration:..90").unwrap().summary(), "≤01:30");
        assert_eq!(Filter::parse("duration:>45").unwrap().summary(), ">00:45");
        assert!(Filter::parse("duration:<0").is_err());
        assert!(Filter::parse(&format!("duration:>{}", u32::MAX)).is_err());
        let call = |secs| crate::api::Conversation {
            total_duration: Some(secs),
            ..Default::default()
        };
        let f = Filter::parse("duration:>300").unwrap();
        assert!(!f.matches(&call(300), None) && f.matches(&call(301), None));
    }

    #[test]
    fn an_unknown_word_lists_the_valid_ones() {
        let e = Filter::parse("flaged").unwrap_err().detail;
        for word in [
            "\"flaged\"",
            "flagged",
            "unreviewed",
            "follow-up",
            "duration",
            "intent",
            "latency>",
        ] {
            assert!(e.contains(word), "{word}: {e}");
        }
        assert!(
            Filter::parse("colour:red")
                .unwrap_err()
                .detail
                .contains("channel: env:")
        );
    }

    #[test]
    fn bad_words_are_named() {
        for (input, needle) in [
            ("handof", "\"handof\""),
            ("duration:abc", "duration:MIN..MAX"),
            ("duration:1..x", "whole seconds"),
            ("latency>fast", "seconds"),
            ("status:done", "status"),
            ("!voice", "negated"),
            ("intent:\"open", "unclosed"),
        ] {
            let e = Filter::parse(input).unwrap_err();
            assert!(e.detail.contains(needle), "{input}: {}", e.detail);
        }
    }

    #[test]
    fn views_from_toml_string_or_table() {
        let t: toml::Table = toml::from_str(
            "escalations = \"voice handoff\"\n[slow]\nlatency_above = 2.5\nstatus = \"unreviewed\"\nchannel = [\"chat\"]\n",
        )
        .unwrap();
        let views: std::collections::BTreeMap<_, _> = Filter::views(&t).unwrap().into_iter().collect();
        assert_eq!(views["escalations"].handoff, Some(true));
        assert_eq!(views["slow"].status, Some(ReviewStatus::New));
        assert_eq!(views["slow"].channels, vec!["chat"]);
        let bad: toml::Table = toml::from_str("x = { colour = \"red\" }").unwrap();
        let e = Filter::views(&bad).unwrap_err();
        assert!(
            e.detail.contains("view \"x\"") && e.detail.contains("colour"),
            "{}",
            e.detail
        );
    }

    #[test]
    fn real_api_words_parse_and_an_unknown_word_lists_them() {
        let f =
            Filter::parse("polyscore<3 POLYSCORE>1.5 tag:vip topic:\"Refund policy\" function:lookup_booking safety")
                .unwrap();
        assert_eq!((f.poly_score_below, f.poly_score_above), (Some(3.0), Some(1.5)));
        assert_eq!(f.tag.as_deref(), Some("vip"));
        assert_eq!(f.topic.as_deref(), Some("Refund policy"));
        assert_eq!(f.function.as_deref(), Some("lookup_booking"));
        assert_eq!(f.safety, Some(true));
        assert_eq!(Filter::parse("!safety").unwrap().safety, Some(false));
        assert_eq!(
            f.summary(),
            "PolyScore 1.5–3 · tag vip · topic Refund policy · function lookup_booking · safety filter fired"
        );
        for (input, needle) in [
            ("polyscore<high", "expected a score"),
            ("polyscor<3", "polyscore<N"),
            ("colour:red", "tag: topic: function:"),
            ("!tag:vip", "safety"),
        ] {
            let e = Filter::parse(input).unwrap_err();
            assert!(e.detail.contains(needle), "{input}: {}", e.detail);
        }
        let t: toml::Table = toml::from_str("[low]\npolyscore_below = 2\ntag = \"vip\"\nsafety = true\n").unwrap();
        let views = Filter::views(&t).unwrap();
        let low = &views.iter().find(|(name, _)| name == "low").unwrap().1;
        assert_eq!((low.poly_score_below, low.safety), (Some(2.0), Some(true)));
    }

    #[test]
    fn qa_words_parse_match_the_current_scores_and_read_from_a_view() {
        let f = Filter::parse("qa<70 QA>=50 scorecard:voice-qa").unwrap();
        assert_eq!(
            f.qa,
            [
                QaBound {
                    op: Cmp::Lt,
                    value: 70.0
                },
                QaBound {
                    op: Cmp::Ge,
                    value: 50.0
                }
            ]
        );
        assert_eq!(f.summary(), "QA <70 >=50 · scorecard voice-qa");
        assert_eq!(Filter::parse("unscored").unwrap().scored, Some(false));
        assert_eq!(Filter::parse("scored").unwrap().summary(), "scored");
        let rec = |card: &str, who: &str, score: Option<f64>| ScoreRecord {
            scorecard: card.into(),
            reviewer: who.into(),
            at_ms: 0,
            answers: Default::default(),
            score,
            auto_failed: false,
        };
        let c = crate::api::Conversation::default();
        let m = |text: &str, scores: &[ScoreRecord]| Filter::parse(text).unwrap().matches_scored(&c, None, scores);
        // ann's newest save (80) replaced her 60: only bob's 65 is below 70.
        let scores = [
            rec("voice-qa", "ann", Some(60.0)),
            rec("voice-qa", "bob", Some(65.0)),
            rec("voice-qa", "ann", Some(80.0)),
        ];
        assert!(m("qa<70", &scores) && m("qa>=80", &scores) && !m("qa<60", &scores));
        assert!(m("qa=65", &scores) && !m("qa=60", &scores));
        assert!(!m("qa<70", &scores[2..]), "ann alone is at 80");
        assert!(m("scored", &scores) && !m("unscored", &scores) && m("unscored", &[]));
        assert!(m("scorecard:voice-qa", &scores) && !m("scorecard:quick", &scores));
        assert!(m("unscored scorecard:quick", &scores));
        assert!(!m("qa<70 scorecard:quick", &scores));
        assert!(
            !m("qa<70", &[rec("voice-qa", "ann", None)]),
            "nothing scorable matches no bound"
        );
        assert!(
            Filter::default().matches_scored(&c, None, &[]),
            "no qa word: scores do not matter"
        );
        for (input, needle) in [
            ("qa<high", "0–100"),
            ("qa<101", "0–100"),
            ("qa~3", "qa<N"),
            ("!scored", "negated"),
            ("qa-answer:greeting", "QUESTION=ANSWER"),
            ("qa-answer:=no", "QUESTION=ANSWER"),
            ("qa-answer:a.b=no", "letters, digits"),
        ] {
            let e = Filter::parse(input).unwrap_err();
            assert!(e.detail.contains(needle), "{input}: {}", e.detail);
        }
        let t: toml::Table =
            toml::from_str("[low]\nqa = \"<70\"\n[band]\nqa = [\">=50\", \"qa<70\"]\nscored = false\n").unwrap();
        let views = Filter::views(&t).unwrap();
        let view = |name: &str| views.iter().find(|(n, _)| n == name).unwrap().1.clone();
        assert_eq!(
            view("low").qa,
            [QaBound {
                op: Cmp::Lt,
                value: 70.0
            }]
        );
        assert_eq!((view("band").qa.len(), view("band").scored), (2, Some(false)));
    }
}
