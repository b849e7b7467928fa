//! Builds one full conversation (summary, transcript, metrics) from a compact plan.
//!
//! The data set stores only a plan per conversation (a seed and the fields the list filters on);
//! this module expands it on demand, deterministically, so 60,000 conversations cost a few MB and
//! start-up is instant. The timeline is built turn by turn: the agent speaks, the caller answers
//! after a short gap, ASR finishes, the agent responds after its latency, and so on, so every
//! timestamp lies within `[started_at, started_at + total_duration]`.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::rng::Rng;
use super::scenarios::{Scenario, Scripts, scripts};
use crate::api::model::{Conversation, Entity, Turn};

/// The channel of a generated conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Voice,
    Webchat,
    Chat,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Voice => "VOICE-SIP",
            Channel::Webchat => "WEBCHAT",
            Channel::Chat => "CHAT",
        }
    }
}

/// Everything needed to expand one generated conversation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plan {
    pub seed: u64,
    pub channel: Channel,
    pub in_progress: bool,
    /// Transcript visibility off: `turns: []` with the real `num_turns`.
    pub hidden: bool,
    /// A caller in another language (translations filled in).
    pub foreign: bool,
    /// Index into `VARIANTS`.
    pub variant: u8,
}

/// `(variant_id, variant_name)`.
pub const VARIANTS: [(&str, &str); 2] = [("default", "Default"), ("friendly-v2", "Friendly tone v2")];

/// Identity of one conversation in the data set.
pub struct Identity<'a> {
    pub id: &'a str,
    pub account_id: &'a str,
    pub project_id: &'a str,
    pub environment: &'a str,
    pub started_at: DateTime<Utc>,
    /// The data set's clock: in-progress calls are cut at this instant.
    pub now: DateTime<Utc>,
}

/// Seconds a line takes to say at a natural pace (~3 words/s); the recording uses the same rule.
pub fn speech_secs(text: &str) -> f64 {
    let words = text.split_whitespace().count();
    if words == 0 { 0.0 } else { 0.3 + words as f64 * 0.32 }
}

/// Seconds of keypad tones for `digits`.
pub fn dtmf_secs(digits: &str) -> f64 {
    digits.chars().filter(|c| !c.is_whitespace()).count() as f64 * 0.25
}

/// Gap between the end of the caller's speech and the ASR result (`user_input_datetime`).
pub const ASR_DELAY: f64 = 0.15;

/// Chosen slot values for one conversation.
struct Slots {
    /// One per `Scripts::slots`, in order.
    values: Vec<&'static str>,
    company: &'static str,
    topic: &'static str,
}

impl Slots {
    fn pick(rng: &mut Rng, company: &'static str, topic: &'static str) -> Self {
        let values = scripts().slots.iter().map(|s| rng.pick_str(&s.values)).collect();
        Slots { values, company, topic }
    }

    fn get(&self, name: &str) -> &'static str {
        match name {
            "company" => self.company,
            "topic" => self.topic,
            _ => scripts()
                .slots
                .iter()
                .position(|s| s.name == name)
                .map(|i| self.values[i])
                .unwrap_or(""),
        }
    }

    fn fill(&self, template: &str) -> String {
        let mut out = String::with_capacity(template.len() + 16);
        let mut rest = template;
        while let Some(i) = rest.find('{') {
            out.push_str(&rest[..i]);
            match rest[i..].find('}') {
                Some(j) => {
                    out.push_str(self.get(&rest[i + 1..i + j]));
                    rest = &rest[i + j + 1..];
                }
                None => {
                    rest = &rest[i..];
                    break;
                }
            }
        }
        out.push_str(rest);
        out
    }

    /// Entities NLU would find in `said`: the named slots whose value the caller spoke.
    fn entities(&self, names: &[String], said: &str) -> Vec<Entity> {
        names
            .iter()
            .filter(|n| said.contains(self.get(n)))
            .map(|n| Entity {
                name: n.clone(),
                values: vec![self.get(n).to_string()],
            })
            .collect()
    }
}

/// One exchange before timing: the caller's part, then the agent's.
#[derive(Default)]
struct Exchange {
    user: String,
    dtmf: String,
    agent: String,
    translated_user: String,
    english_agent: String,
    intents: Vec<String>,
    entities: Vec<Entity>,
    silence: bool,
    ood: bool,
}

struct Script {
    exchanges: Vec<Exchange>,
    handoff: Option<(&'static str, &'static str)>,
    scenario: &'static str,
    company: &'static str,
    language: &'static str,
    summary: String,
}

fn greeting(rng: &mut Rng, company: &str, channel: Channel) -> String {
    let lines: &[&str] = if channel == Channel::Voice {
        &[
            "Hi, thanks for calling {c}. How can I help you today?",
            "Hello, you're through to {c}. What can I do for you?",
            "Thanks for calling {c}, this call may be recorded. How can I help?",
        ]
    } else {
        &[
            "Hi! Welcome to {c}. How can I help you today?",
            "Hello, you're chatting with the {c} assistant. What can I do for you?",
        ]
    };
    rng.pick_str(lines).replace("{c}", company)
}

fn english_script(rng: &mut Rng, plan: &Plan) -> Script {
    let all: &'static Scripts = scripts();
    let sc: &'static Scenario = rng.pick(&all.scenarios);
    let company = rng.pick_str(&sc.companies);
    let slots = Slots::pick(rng, company, &sc.topic);
    let voice = plan.channel == Channel::Voice;
    let mut ex = vec![Exchange {
        agent: greeting(rng, company, plan.channel),
        intents: Vec::new(),
        ..Default::default()
    }];
    // Sometimes the caller stops early: drop the optional last step.
    let steps = if sc.steps.len() > 3 && rng.chance(0.35) {
        &sc.steps[..sc.steps.len() - 1]
    } else {
        &sc.steps
    };
    let keypad = sc.keypad.as_ref().filter(|k| voice && rng.chance(k.chance));
    for (i, st) in steps.iter().enumerate() {
        if voice && rng.chance(0.07) {
            ex.push(Exchange {
                agent: rng.pick_str(&all.reprompts).to_string(),
                silence: true,
                ..Default::default()
            });
        }
        if rng.chance(0.05) {
            ex.push(Exchange {
                user: rng.pick_str(&all.ood_user).to_string(),
                agent: slots.fill(rng.pick_str(&all.ood_agent)),
                ood: true,
                ..Default::default()
            });
        }
        let user = slots.fill(rng.pick_str(&st.user));
        ex.push(Exchange {
            entities: slots.entities(&st.entities, &user),
            user,
            agent: slots.fill(rng.pick_str(&st.agent)),
            intents: vec![st.intent.clone()],
            ..Default::default()
        });
        if i == 0
            && let Some(k) = keypad
        {
            ex.push(Exchange {
                user: rng.pick_str(&["Sure.", "Okay.", "Yes.", "Go ahead."]).to_string(),
                agent: rng.pick_str(&k.prompt).to_string(),
                intents: vec!["affirm".into()],
                ..Default::default()
            });
            let digits: String = if k.entity == "card_last4" {
                slots.get("last4").to_string()
            } else {
                (0..k.digits).map(|_| char::from(b'0' + rng.below(10) as u8)).collect()
            };
            ex.push(Exchange {
                entities: vec![Entity {
                    name: k.entity.clone(),
                    values: vec![digits.clone()],
                }],
                dtmf: digits,
                agent: rng.pick_str(&k.confirm).to_string(),
                intents: vec!["provide_digits".into()],
                ..Default::default()
            });
        }
    }
    let handoff = sc.handoff.as_ref().filter(|h| rng.chance(h.chance));
    let summary = match handoff {
        Some(h) => {
            ex.push(Exchange {
                user: slots.fill(rng.pick_str(&h.user)),
                agent: slots.fill(rng.pick_str(&h.agent)),
                intents: vec!["request_handoff".into()],
                ..Default::default()
            });
            format!(
                "Caller contacted {company} about {}; handed off to {} ({}).",
                sc.topic, h.destination, h.reason
            )
        }
        None => {
            if let Some(last) = ex.last_mut() {
                last.agent.push_str(rng.pick_str(&all.anything_else));
            }
            ex.push(Exchange {
                user: rng.pick_str(&all.closing_user).to_string(),
                agent: rng.pick_str(&all.closing_agent).to_string(),
                intents: vec!["goodbye".into()],
                ..Default::default()
            });
            format!("Caller contacted {company} about {}; resolved by the agent.", sc.topic)
        }
    };
    Script {
        exchanges: ex,
        handoff: handoff.map(|h| (h.reason.as_str(), h.destination.as_str())),
        scenario: &sc.name,
        company,
        language: "en-US",
        summary,
    }
}

fn foreign_script(rng: &mut Rng) -> Script {
    let f = rng.pick(&scripts().foreign);
    let slots = Slots::pick(rng, &f.company, "");
    let exchanges = f
        .steps
        .iter()
        .map(|st| Exchange {
            entities: slots.entities(&st.entities, &slots.fill(&st.user.0)),
            user: slots.fill(&st.user.0),
            translated_user: slots.fill(&st.user.1),
            agent: slots.fill(&st.agent.0),
            english_agent: slots.fill(&st.agent.1),
            intents: if st.intent == "greeting" {
                Vec::new()
            } else {
                vec![st.intent.clone()]
            },
            ..Default::default()
        })
        .collect();
    Script {
        exchanges,
        handoff: None,
        scenario: f.steps.get(1).map(|s| s.intent.as_str()).unwrap_or("other"),
        company: &f.company,
        language: &f.language,
        summary: format!("{} caller contacted {}; resolved.", f.language, f.company),
    }
}

/// Agent latency: mostly 0.4–1.5 s with a slow tail above 2 s.
fn latency(rng: &mut Rng) -> f64 {
    let l = if rng.chance(0.06) {
        rng.range_f64(2.0, 4.5)
    } else {
        rng.range_f64(0.4, 1.5)
    };
    (l * 100.0).round() / 100.0
}

fn phone(rng: &mut Rng) -> String {
    format!(
        "+1{}555{:04}",
        rng.pick_str(&["415", "212", "312", "617", "206", "512"]),
        rng.below(10_000)
    )
}

/// Expands a plan into the full conversation.
pub fn build(plan: &Plan, who: &Identity) -> Conversation {
    let mut rng = Rng::new(plan.seed);
    let script = if plan.foreign {
        foreign_script(&mut rng)
    } else {
        english_script(&mut rng, plan)
    };
    let voice = plan.channel == Channel::Voice;
    let start = who.started_at;
    let at = |t: f64| start + Duration::milliseconds((t * 1000.0).round() as i64);

    // Timeline, in seconds from the start.
    let mut turns = Vec::with_capacity(script.exchanges.len());
    let mut t = 0.0f64;
    for (i, e) in script.exchanges.into_iter().enumerate() {
        let (user_at, lat) = if i == 0 {
            (0.0, 0.0)
        } else if voice {
            let gap = rng.range_f64(0.3, 1.2);
            let heard = if e.silence {
                // No speech: the platform gives up waiting after a few seconds.
                t + rng.range_f64(4.0, 6.0)
            } else if !e.dtmf.is_empty() {
                t + gap + 1.0 + dtmf_secs(&e.dtmf) + ASR_DELAY
            } else {
                t + gap + speech_secs(&e.user) + ASR_DELAY
            };
            (heard, latency(&mut rng))
        } else {
            // Chat: the user reads and types.
            (
                t + rng.range_f64(4.0, 25.0) + e.user.len() as f64 * 0.08,
                latency(&mut rng),
            )
        };
        let agent_at = if i == 0 { rng.range_f64(0.4, 1.0) } else { user_at + lat };
        t = agent_at + if voice { speech_secs(&e.agent) } else { 0.2 };
        turns.push(Turn {
            user_input: e.user,
            user_input_dtmf: e.dtmf,
            user_input_datetime: Some(at(user_at)),
            agent_response: e.agent,
            agent_response_datetime: Some(at(agent_at)),
            latency: Some(lat),
            translated_user_input: e.translated_user,
            english_agent_response: e.english_agent,
            intents: e.intents,
            entities: e.entities,
            is_ood: e.ood,
            is_silence: e.silence,
            barge_in: voice && i > 0 && rng.chance(0.04),
            ..Turn::default()
        });
    }
    let polyai_secs = t + rng.range_f64(0.5, 1.5);
    let mut total_secs = match script.handoff {
        // The human part of the call is not in the transcript.
        Some(_) => polyai_secs + rng.range_f64(20.0, 300.0),
        None => polyai_secs,
    };
    let mut handoff = script.handoff;
    if plan.in_progress {
        let elapsed = ((who.now - start).num_milliseconds() as f64 / 1000.0).max(0.0);
        turns.retain(|tr| {
            tr.agent_response_datetime
                .is_some_and(|a| (a - start).num_milliseconds() as f64 / 1000.0 <= elapsed)
        });
        total_secs = elapsed;
        handoff = None;
    }
    let total = total_secs.ceil() as u32;
    let polyai = if handoff.is_some() {
        polyai_secs.ceil() as u32
    } else {
        total
    };

    let mut metrics = vec![
        ("CALL_DURATION".to_string(), vec![total.to_string()]),
        ("TOPIC".to_string(), vec![script.scenario.to_string()]),
        ("BRAND".to_string(), vec![script.company.to_string()]),
    ];
    if plan.in_progress {
        metrics.push(("CALL_IN_PROGRESS".into(), vec!["true".into()]));
    } else {
        metrics.push(("CALL_COMPLETED".into(), vec!["true".into()]));
    }
    if let Some((reason, dest)) = handoff {
        metrics.push(("HANDOFF_TO".into(), vec![dest.into()]));
        metrics.push(("HANDOFF_REASON".into(), vec![reason.into()]));
    }
    let (from, to) = if voice {
        (phone(&mut rng), phone(&mut rng))
    } else {
        (String::new(), String::new())
    };
    let state = if voice {
        json!({"from_": from, "to": to, "call_sid": who.id})
    } else {
        json!({"session_id": who.id})
    };
    let num_silences = turns.iter().filter(|t| t.is_silence).count() as u32;
    let num_ood = turns.iter().filter(|t| t.is_ood).count() as u32;
    let num_turns = turns.len() as u32;
    if plan.hidden {
        turns.clear();
    }
    let (variant_id, variant_name) = VARIANTS[plan.variant as usize % VARIANTS.len()];
    Conversation {
        id: who.id.to_string(),
        account_id: who.account_id.to_string(),
        project_id: who.project_id.to_string(),
        variant_id: variant_id.into(),
        variant_name: variant_name.into(),
        environment: who.environment.to_string(),
        started_at: Some(start),
        channel: plan.channel.as_str().into(),
        from_number: from,
        to_number: to,
        in_progress: plan.in_progress,
        num_turns: Some(num_turns),
        total_duration: Some(total),
        polyai_duration: Some(polyai),
        handoff: handoff.is_some(),
        handoff_reason: handoff.map(|h| h.0.to_string()).unwrap_or_default(),
        handoff_destination: handoff.map(|h| h.1.to_string()).unwrap_or_default(),
        num_silences: Some(num_silences),
        num_ood: Some(num_ood),
        metrics,
        state,
        turns,
        finished_at: (!plan.in_progress).then(|| start + Duration::seconds(total as i64)),
        language: script.language.into(),
        direction: if voice { "inbound".into() } else { String::new() },
        short_summary: if plan.in_progress {
            String::new()
        } else {
            script.summary
        },
        ..Conversation::default()
    }
}
