//! The live data set: conversations sorted by `(started_at, id)`, generated or inserted.
//!
//! Generated conversations are stored as a compact plan and expanded on request
//! (`generate::build`); inserted ones (tests, live-call simulation) are stored whole.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Duration, Timelike, Utc};

use super::generate::{self, Channel, Identity, Plan};
use super::rng::Rng;
use crate::api::model::Conversation;

#[derive(Debug, Clone)]
pub enum Body {
    Generated(Plan),
    Stored(Arc<Conversation>),
}

/// A filter field: static for generated conversations (no allocation), owned for inserted ones.
pub type Label = Cow<'static, str>;

/// One conversation's sort key, filter fields and body.
#[derive(Debug, Clone)]
pub struct Entry {
    pub started_ms: i64,
    pub id: Box<str>,
    pub environment: Label,
    pub channel: Label,
    pub in_progress: bool,
    pub variant_id: Label,
    pub variant_name: Label,
    pub body: Body,
    /// The v3 JSON of a finished call, built on first use (without / with latency): a
    /// finished call never changes, and replacing it makes a new `Entry`.
    pub json: JsonCache,
}

/// Serialized forms of one finished conversation, filled lazily.
#[derive(Debug, Clone, Default)]
pub struct JsonCache([std::sync::OnceLock<Arc<str>>; 2]);

impl JsonCache {
    /// The cached JSON for `with_latency`, building it with `build` the first time.
    pub fn get_or_build(&self, with_latency: bool, build: impl FnOnce() -> String) -> Arc<str> {
        self.0[usize::from(with_latency)].get_or_init(|| build().into()).clone()
    }
}

impl Entry {
    fn key(&self) -> (i64, &str) {
        (self.started_ms, &self.id)
    }

    pub fn is_voice(&self) -> bool {
        self.channel.to_ascii_uppercase().starts_with("VOICE")
    }
}

/// Project identity and clock shared by every conversation.
#[derive(Debug, Clone)]
pub struct Scope {
    pub account_id: String,
    pub project_id: String,
    /// Fixed at start-up: the generated data is relative to it.
    pub now: DateTime<Utc>,
    pub seed: u64,
}

#[derive(Debug, Default)]
pub struct Dataset {
    entries: Vec<Arc<Entry>>,
    by_id: HashMap<Box<str>, i64>,
}

/// How the generated set is spread (documented in the README of `serve-demo`).
const RECENT_SHARE: f64 = 0.3;
const VOICE_SHARE: f64 = 0.7;
const HIDDEN_SHARE: f64 = 0.03;
const FOREIGN_SHARE: f64 = 0.06;
/// Completed calls start at least this long before `now`, so they have ended by then.
const MIN_AGE_COMPLETED_S: i64 = 20 * 60;

fn hex_id(rng: &mut Rng) -> String {
    format!("CA{:016x}{:016x}", rng.next_u64(), rng.next_u64())
}

/// Relative call volume by hour of day (UTC): quiet at night, busy in office hours.
fn hour_weight(hour: u32) -> f64 {
    const W: [f64; 24] = [
        0.15, 0.1, 0.1, 0.1, 0.15, 0.25, 0.4, 0.6, 0.85, 1.0, 1.0, 0.95, 0.9, 0.95, 1.0, 1.0, 0.95, 0.85, 0.7, 0.55,
        0.45, 0.35, 0.25, 0.2,
    ];
    W[hour as usize % 24]
}

fn pick_env(rng: &mut Rng, recent: bool) -> &'static str {
    let x = rng.f64();
    let (live, sandbox) = if recent { (0.65, 0.25) } else { (0.85, 0.10) };
    if x < live {
        "live"
    } else if x < live + sandbox {
        "sandbox"
    } else {
        "pre-release"
    }
}

fn pick_channel(rng: &mut Rng) -> Channel {
    let x = rng.f64();
    if x < VOICE_SHARE {
        Channel::Voice
    } else if x < VOICE_SHARE + 0.2 {
        Channel::Webchat
    } else {
        Channel::Chat
    }
}

impl Dataset {
    /// `n` conversations over the 30 days before `now`, deterministic from `seed`.
    pub fn generate(seed: u64, n: usize, now: DateTime<Utc>) -> Dataset {
        let now_ms = now.timestamp_millis();
        let in_progress = if n == 0 { 0 } else { (n / 500).clamp(3, 40).min(n) };
        let recent = ((n as f64 * RECENT_SHARE) as usize).max(in_progress);
        let mut entries = Vec::with_capacity(n);
        for i in 0..n {
            let mut rng = Rng::fork(seed, i as u64);
            let id = hex_id(&mut rng);
            let live_now = i < in_progress;
            let (started_ms, env) = if live_now {
                let env = if i == 1 { "sandbox" } else { "live" };
                (now_ms - rng.between(30_000, 8 * 60_000) as i64, env)
            } else {
                let is_recent = i < recent;
                let (lo, hi) = if is_recent {
                    (MIN_AGE_COMPLETED_S * 1000, 24 * 3600 * 1000i64)
                } else {
                    (24 * 3600 * 1000i64, 30 * 24 * 3600 * 1000i64)
                };
                // Rejection sampling on the hour of day; a few tries keep it cheap.
                let mut ms = now_ms - rng.between(lo as u64, hi as u64 - 1) as i64;
                for _ in 0..6 {
                    let hour = DateTime::from_timestamp_millis(ms).map_or(12, |t| t.hour());
                    if rng.chance(hour_weight(hour)) {
                        break;
                    }
                    ms = now_ms - rng.between(lo as u64, hi as u64 - 1) as i64;
                }
                (ms, pick_env(&mut rng, is_recent))
            };
            let channel = if live_now && !rng.chance(0.2) {
                Channel::Voice
            } else {
                pick_channel(&mut rng)
            };
            let plan = Plan {
                seed: rng.next_u64(),
                channel,
                in_progress: live_now,
                hidden: rng.chance(HIDDEN_SHARE),
                foreign: rng.chance(FOREIGN_SHARE),
                variant: u8::from(rng.chance(0.2)),
            };
            let (variant_id, variant_name) = generate::VARIANTS[plan.variant as usize];
            entries.push(Arc::new(Entry {
                started_ms,
                id: id.into(),
                environment: Cow::Borrowed(env),
                channel: Cow::Borrowed(channel.as_str()),
                in_progress: live_now,
                variant_id: Cow::Borrowed(variant_id),
                variant_name: Cow::Borrowed(variant_name),
                body: Body::Generated(plan),
                json: JsonCache::default(),
            }));
        }
        entries.sort_by(|a, b| a.key().cmp(&b.key()));
        let by_id = entries.iter().map(|e| (e.id.clone(), e.started_ms)).collect();
        Dataset { entries, by_id }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn entries(&self) -> &[Arc<Entry>] {
        &self.entries
    }

    /// Index of the first entry whose key is `>= (ms, id)`.
    pub fn lower_bound(&self, ms: i64, id: &str) -> usize {
        self.entries.partition_point(|e| e.key() < (ms, id))
    }

    pub fn get(&self, id: &str) -> Option<Arc<Entry>> {
        let ms = *self.by_id.get(id)?;
        let i = self.lower_bound(ms, id);
        self.entries.get(i).filter(|e| &*e.id == id).cloned()
    }

    /// Adds a conversation, replacing any with the same id.
    pub fn upsert(&mut self, entry: Entry) {
        if let Some(ms) = self.by_id.remove(&*entry.id) {
            let i = self.lower_bound(ms, &entry.id);
            if self.entries.get(i).is_some_and(|e| e.id == entry.id) {
                self.entries.remove(i);
            }
        }
        let i = self.lower_bound(entry.started_ms, &entry.id);
        self.by_id.insert(entry.id.clone(), entry.started_ms);
        self.entries.insert(i, Arc::new(entry));
    }
}

/// A cloneable handle on the live data set: read it, insert into it.
#[derive(Debug, Clone)]
pub struct DatasetHandle {
    data: Arc<RwLock<Dataset>>,
    scope: Arc<Scope>,
}

impl DatasetHandle {
    pub fn new(data: Dataset, scope: Scope) -> Self {
        DatasetHandle {
            data: Arc::new(RwLock::new(data)),
            scope: Arc::new(scope),
        }
    }

    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// The data set's clock (start-up time).
    pub fn now(&self) -> DateTime<Utc> {
        self.scope.now
    }

    pub fn len(&self) -> usize {
        self.read(|d| d.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Runs `f` under the read lock (keep it short: requests wait for inserts and vice versa).
    pub fn read<T>(&self, f: impl FnOnce(&Dataset) -> T) -> T {
        let guard = self.data.read().unwrap_or_else(|p| p.into_inner());
        f(&guard)
    }

    pub fn entry(&self, id: &str) -> Option<Arc<Entry>> {
        self.read(|d| d.get(id))
    }

    /// The full conversation with this id, if any.
    pub fn get(&self, id: &str) -> Option<Conversation> {
        self.entry(id).map(|e| self.expand(&e))
    }

    /// Expands an entry into its conversation.
    pub fn expand(&self, e: &Entry) -> Conversation {
        match &e.body {
            Body::Stored(c) => (**c).clone(),
            Body::Generated(plan) => generate::build(
                plan,
                &Identity {
                    id: &e.id,
                    account_id: &self.scope.account_id,
                    project_id: &self.scope.project_id,
                    environment: &e.environment,
                    started_at: DateTime::from_timestamp_millis(e.started_ms).unwrap_or(self.scope.now),
                    now: self.scope.now,
                },
            ),
        }
    }

    /// The conversation as the recording sees it: with its turns even when the transcript is
    /// hidden from the API (visibility hides text, not audio).
    pub fn expand_for_audio(&self, e: &Entry) -> Conversation {
        match &e.body {
            Body::Generated(plan) if plan.hidden => {
                let mut visible = e.clone();
                visible.body = Body::Generated(Plan { hidden: false, ..*plan });
                self.expand(&visible)
            }
            _ => self.expand(e),
        }
    }

    /// Inserts (or replaces, by id) a conversation. Missing account/project/environment/start
    /// are filled in, so a caller can pass a bare conversation. Returns the stored id.
    pub fn insert(&self, mut c: Conversation) -> String {
        if c.account_id.is_empty() {
            c.account_id = self.scope.account_id.clone();
        }
        if c.project_id.is_empty() {
            c.project_id = self.scope.project_id.clone();
        }
        if c.environment.is_empty() {
            c.environment = "live".into();
        }
        if c.id.is_empty() {
            c.id = hex_id(&mut Rng::new(
                self.scope.seed ^ Utc::now().timestamp_nanos_opt().unwrap_or(0) as u64,
            ));
        }
        let started = *c.started_at.get_or_insert_with(Utc::now);
        let entry = Entry {
            started_ms: started.timestamp_millis(),
            id: c.id.clone().into(),
            environment: Cow::Owned(c.environment.clone()),
            channel: Cow::Owned(c.channel.clone()),
            in_progress: c.in_progress,
            variant_id: Cow::Owned(c.variant_id.clone()),
            variant_name: Cow::Owned(c.variant_name.clone()),
            body: Body::Stored(Arc::new(c)),
            json: JsonCache::default(),
        };
        let id = entry.id.to_string();
        let mut guard = self.data.write().unwrap_or_else(|p| p.into_inner());
        guard.upsert(entry);
        id
    }

    /// Ends an in-progress call: it becomes completed with its full transcript (generated
    /// calls) or just loses its in-progress flag (inserted ones). Returns the completed call,
    /// e.g. for a `conversation.completed` webhook; `None` if the id is unknown.
    pub fn complete(&self, id: &str) -> Option<Conversation> {
        let entry = self.entry(id)?;
        let mut done = (*entry).clone();
        done.in_progress = false;
        done.json = JsonCache::default();
        done.body = match &entry.body {
            Body::Generated(plan) => Body::Generated(Plan {
                in_progress: false,
                ..*plan
            }),
            Body::Stored(c) => {
                let mut c = (**c).clone();
                c.in_progress = false;
                Body::Stored(Arc::new(c))
            }
        };
        let conversation = self.expand(&done);
        let mut guard = self.data.write().unwrap_or_else(|p| p.into_inner());
        guard.upsert(done);
        Some(conversation)
    }

    /// A realistic new call (not inserted): what live-call simulation feeds to `insert`.
    /// Deterministic in `(seed, n)`; it started at `started_at` and ended before `now`
    /// unless `in_progress`.
    pub fn synthesize(&self, n: u64, started_at: DateTime<Utc>, environment: &str, in_progress: bool) -> Conversation {
        let mut rng = Rng::fork(self.scope.seed ^ 0x11fe, n);
        let id = hex_id(&mut rng);
        let plan = Plan {
            seed: rng.next_u64(),
            channel: pick_channel(&mut rng),
            in_progress,
            hidden: false,
            foreign: rng.chance(FOREIGN_SHARE),
            variant: u8::from(rng.chance(0.2)),
        };
        let now = if in_progress {
            Utc::now()
        } else {
            started_at + Duration::hours(1)
        };
        generate::build(
            &plan,
            &Identity {
                id: &id,
                account_id: &self.scope.account_id,
                project_id: &self.scope.project_id,
                environment,
                started_at,
                now,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handle(seed: u64, n: usize, now: DateTime<Utc>) -> DatasetHandle {
        DatasetHandle::new(
            Dataset::generate(seed, n, now),
            Scope {
                account_id: "ws-demo".into(),
                project_id: "PROJECT-demo".into(),
                now,
                seed,
            },
        )
    }

    fn fixed_now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-28T10:00:00Z").unwrap().to_utc()
    }

    #[test]
    fn deterministic_per_seed() {
        let all = |seed| {
            let h = handle(seed, 300, fixed_now());
            let entries = h.read(|d| d.entries().to_vec());
            serde_json::to_string(&entries.iter().map(|e| h.expand(e)).collect::<Vec<_>>()).unwrap()
        };
        assert_eq!(all(7), all(7));
        assert_ne!(all(7), all(8));
    }

    #[test]
    fn default_set_satisfies_the_invariants() {
        let now = fixed_now();
        let h = handle(7, 3000, now);
        let entries = h.read(|d| d.entries().to_vec());
        assert_eq!(entries.len(), 3000);
        assert!(entries.windows(2).all(|w| w[0].key() < w[1].key()), "sorted, unique");
        let day_ago = (now - Duration::hours(24)).timestamp_millis();
        let count = |f: &dyn Fn(&Entry) -> bool| entries.iter().filter(|e| f(e)).count();
        let live = count(&|e| &*e.environment == "live");
        assert!((2250..=2550).contains(&live), "~80% live: {live}");
        for env in ["live", "sandbox"] {
            let recent = count(&|e| &*e.environment == env && e.started_ms >= day_ago);
            assert!(recent >= 100, "{env} in the last 24 h: {recent}");
        }
        assert!(count(&|e| &*e.environment == "pre-release") > 0);
        let voice = count(&|e| e.is_voice());
        assert!((1950..=2250).contains(&voice), "~70% voice: {voice}");
        assert!(
            entries
                .iter()
                .all(|e| e.started_ms >= (now - Duration::days(30)).timestamp_millis()
                    && e.started_ms <= now.timestamp_millis())
        );

        let (mut hidden, mut in_progress, mut handoffs, mut dtmf, mut silences, mut ood, mut foreign, mut slow) =
            (0, 0, 0, 0, 0, 0, 0, 0);
        for e in &entries {
            let c = h.expand(e);
            assert!(c.id.len() == 34 && c.id.starts_with("CA"), "{}", c.id);
            assert!(c.id[2..].chars().all(|ch| ch.is_ascii_hexdigit()));
            let start = c.started_at.unwrap();
            let total = c.total_duration.unwrap() as i64;
            let end = start + Duration::seconds(total);
            if !c.in_progress {
                assert!(end <= now, "completed calls ended before now");
            }
            assert_eq!(
                c.metrics.iter().find(|(k, _)| k == "CALL_DURATION").unwrap().1,
                vec![total.to_string()]
            );
            if c.transcript_hidden() {
                hidden += 1;
            } else {
                assert_eq!(c.num_turns, Some(c.turns.len() as u32), "{}", c.id);
                assert_eq!(
                    c.num_silences,
                    Some(c.turns.iter().filter(|t| t.is_silence).count() as u32)
                );
                assert_eq!(c.num_ood, Some(c.turns.iter().filter(|t| t.is_ood).count() as u32));
            }
            for t in &c.turns {
                for at in [t.user_input_datetime, t.agent_response_datetime] {
                    let at = at.unwrap();
                    assert!(at >= start && at <= end, "{}: turn at {at} outside the call", c.id);
                }
                assert!(!t.user_input.contains('{') && !t.agent_response.contains('{'));
                dtmf += usize::from(!t.user_input_dtmf.is_empty());
                silences += usize::from(t.is_silence);
                ood += usize::from(t.is_ood);
                foreign += usize::from(!t.translated_user_input.is_empty());
                slow += usize::from(t.latency.unwrap_or(0.0) > 2.0);
            }
            in_progress += usize::from(c.in_progress);
            if c.handoff {
                handoffs += 1;
                assert!(!c.handoff_reason.is_empty() && !c.handoff_destination.is_empty());
                assert!(c.polyai_duration < c.total_duration);
            }
        }
        assert!((40..=150).contains(&hidden), "~3% hidden: {hidden}");
        assert!(in_progress >= 3, "{in_progress}");
        for (what, n) in [
            ("handoffs", handoffs),
            ("dtmf", dtmf),
            ("silences", silences),
            ("ood", ood),
            ("translations", foreign),
            ("slow turns", slow),
        ] {
            assert!(n >= 20, "{what}: {n}");
        }
    }

    #[test]
    fn upsert_keeps_order_and_replaces_by_id() {
        let now = fixed_now();
        let h = handle(1, 50, now);
        let first = h.read(|d| d.entries()[0].clone());
        let mut c = h.expand(&first);
        c.started_at = Some(now);
        c.in_progress = true;
        h.insert(c);
        assert_eq!(h.len(), 50);
        let entries = h.read(|d| d.entries().to_vec());
        assert_eq!(&*entries.last().unwrap().id, &*first.id);
        assert!(h.get(&first.id).unwrap().in_progress);
        assert!(entries.windows(2).all(|w| w[0].key() < w[1].key()));

        let live = h.read(|d| d.entries().iter().find(|e| e.in_progress).cloned());
        if let Some(live) = live {
            let before = h.get(&live.id).unwrap();
            let done = h.complete(&live.id).unwrap();
            assert!(!done.in_progress && !h.entry(&live.id).unwrap().in_progress);
            assert!(done.num_turns >= before.num_turns);
        }
        assert!(h.complete("CAnone").is_none());
    }
}
