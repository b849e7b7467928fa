//! The seam between the app (TUI worker, CLI commands) and whatever stores its data, in two
//! parts so that a shared team store can take one of them:
//!
//! - [`ConversationCache`]: what was fetched, listed, searched and filtered (always local).
//! - [`ReviewStore`]: review marks, saved scorecards and what of the marks was pushed to Agent
//!   Studio (local, or shared on PostgreSQL by the team store, `team::store`).
//!
//! [`AppStore`] is both, as the TUI's store worker and the CLI hold them; the SQLite [`Store`]
//! implements every part. Every implementation keeps the cache and its copy of the marks in a
//! local [`Store`] ([`LocalStore`]): those methods default to it and are written once, here.
//! Errors are [`StoreError`]s: their kinds (locked, read-only, invalid input, …) are what
//! callers act on, whichever store raised them. A review store is opened with its reviewer:
//! every change it takes is recorded as theirs in an append-only history.

use std::collections::BTreeMap;
use std::io::Read;

use super::error::StoreResult;
use super::{
    ConversationMerge, ListCursor, ListOrder, ListPage, ListRow, MarksImport, PushKind, Pushed, SearchQuery, Store,
};
use crate::api::Conversation;
use crate::domain::{
    ConversationKey, Filter, MarkChange, MarkField, Marks, Origin, ReviewStatus, Scope, ScoreRecord, Stamp, TurnRating,
};

/// The local SQLite store inside an implementation of the seam. The cache and the review reads
/// are local in every implementation, so the traits default them through this accessor and an
/// implementation writes only what it does differently (a team store: the writes it shares).
pub trait LocalStore {
    fn local(&self) -> &Store;
    fn local_mut(&mut self) -> &mut Store;
}

impl LocalStore for Store {
    fn local(&self) -> &Store {
        self
    }

    fn local_mut(&mut self) -> &mut Store {
        self
    }
}

/// The local cache of conversations and the queries over it.
pub trait ConversationCache: LocalStore + Send {
    /// Caches conversations fetched from `origin`; how many were stored (those without an id are skipped).
    fn cache(&mut self, origin: &Origin, conversations: &[Conversation]) -> StoreResult<usize> {
        Store::cache(self.local_mut(), origin, conversations)
    }

    /// The cached conversation, with its transcript when one was fetched.
    fn conversation(&self, key: &ConversationKey) -> StoreResult<Option<Conversation>> {
        Store::conversation(self.local(), key)
    }

    /// One page of the list: up to `limit` rows after `after` (from the previous page's `next`).
    fn list_page(
        &self,
        scope: &Scope,
        filter: &Filter,
        order: ListOrder,
        after: Option<&ListCursor>,
        limit: usize,
    ) -> StoreResult<ListPage> {
        Store::list_page(self.local(), scope, filter, order, after, limit)
    }

    /// How many cached conversations match.
    fn count(&self, scope: &Scope, filter: &Filter) -> StoreResult<u64> {
        Store::count(self.local(), scope, filter)
    }

    /// Of `ids` (cached under `scope`), those that match `filter`.
    fn matching_ids(&self, scope: &Scope, filter: &Filter, ids: &[String]) -> StoreResult<Vec<String>> {
        Store::matching_ids(self.local(), scope, filter, ids)
    }

    /// Conversations whose transcript matches `query`, newest first, at most `max`.
    fn search_conversations(&self, query: &SearchQuery, max: usize) -> StoreResult<Vec<ListRow>> {
        Store::search_conversations(self.local(), query, max)
    }

    /// The stats view's figures of `req`'s window for what `scope` and `filter` select.
    fn stats(
        &self,
        scope: &Scope,
        filter: &Filter,
        req: &crate::stats::StatsRequest,
    ) -> StoreResult<crate::stats::Stats> {
        Store::stats(self.local(), scope, filter, req)
    }
}

/// Review marks: one conversation's status, flags, note and turn ratings, and what was pushed.
/// Reads default to the local store (a shared store keeps its copy there); the writes a
/// shared store must also send have no default.
pub trait ReviewStore: LocalStore + Send {
    /// The marks of one conversation (defaults when none were recorded).
    fn marks(&self, key: &ConversationKey) -> StoreResult<Marks> {
        Store::marks(self.local(), key)
    }

    /// Reads, changes and writes back one conversation's marks as one step; refuses (with
    /// `InvalidInput`) marks that break the domain's limits. Each changed field is appended to
    /// the history as [`reviewer`](Self::reviewer)'s, in the same step; a change that changes
    /// nothing records nothing.
    fn update_marks(&mut self, key: &ConversationKey, change: &mut dyn FnMut(&mut Marks)) -> StoreResult<Marks>;

    /// Who this store records changes as.
    fn reviewer(&self) -> &str {
        Store::reviewer(self.local())
    }

    /// Every recorded change of one conversation's marks, newest first (never rewritten).
    fn history(&self, key: &ConversationKey) -> StoreResult<Vec<MarkChange>> {
        Store::history(self.local(), key)
    }

    /// The latest change of each field of one conversation that has one (cleared fields too).
    fn stamps(&self, key: &ConversationKey) -> StoreResult<BTreeMap<MarkField, Stamp>> {
        Store::stamps(self.local(), key)
    }

    /// The conversations of `account`/`project` with marks changed at or after `since_ms`, oldest first.
    fn marked_since(&self, account: &str, project: &str, since_ms: Option<i64>) -> StoreResult<Vec<ConversationKey>> {
        Store::marked_since(self.local(), account, project, since_ms)
    }

    /// The marks and what was already pushed of one conversation.
    fn marks_and_pushed(&self, key: &ConversationKey) -> StoreResult<(Marks, Pushed)> {
        Store::marks_and_pushed(self.local(), key)
    }

    /// Records that `hashes` of `kind` were sent for `key` (a note replaces the one before).
    /// What was pushed to Agent Studio from this machine: local in every store.
    fn record_pushed(&mut self, key: &ConversationKey, kind: PushKind, hashes: &[String]) -> StoreResult<()> {
        Store::record_pushed(self.local_mut(), key, kind, hashes)
    }

    /// Every mark in `scope` (all when `None`) as the shareable JSON file.
    fn export_marks(&self, scope: Option<&Scope>) -> StoreResult<String> {
        Store::export_marks(self.local(), scope)
    }

    /// Merges a marks file field by field (the newer change wins), all or nothing, telling
    /// `on_conversation` what was decided for each of its conversations. `dry_run` writes nothing.
    fn merge_marks_from(
        &mut self,
        reader: &mut dyn Read,
        dry_run: bool,
        on_conversation: &mut dyn FnMut(&ConversationMerge),
    ) -> StoreResult<MarksImport>;

    /// [`merge_marks_from`](Self::merge_marks_from), writing, without the per-conversation report.
    fn import_marks_from(&mut self, reader: &mut dyn Read) -> StoreResult<MarksImport> {
        self.merge_marks_from(reader, false, &mut |_| {})
    }

    /// Appends one save of a scorecard (append-only: earlier saves stay); refuses (with
    /// `InvalidInput`) a record that breaks the domain's limits.
    fn save_score(&mut self, key: &ConversationKey, record: &ScoreRecord) -> StoreResult<()>;

    /// Every save of a scorecard for one conversation, oldest first; the newest of each
    /// (scorecard, reviewer) is current (`crate::domain::scores::current`).
    fn scores(&self, key: &ConversationKey) -> StoreResult<Vec<ScoreRecord>> {
        Store::scores(self.local(), key)
    }

    /// Exchanges changes with a shared store, if there is one: sends what waits and takes
    /// teammates' changes, a bounded part of them per call ([`behind`](Self::behind) says
    /// whether more wait). The conversations whose marks or scores changed here; an error when
    /// the shared store cannot be reached (the changes wait). A local store has nothing to do.
    fn sync(&mut self) -> StoreResult<Vec<ConversationKey>> {
        Ok(Vec::new())
    }

    /// How many changes wait for the shared store (`None`: there is none).
    fn unsynced(&self) -> Option<u64> {
        None
    }

    /// How many teammates' changes the last [`sync`](Self::sync) left for the next ones (0:
    /// caught up). Counted up to a bound, so past it a lower bound.
    fn behind(&self) -> u64 {
        0
    }

    fn set_marks(&mut self, key: &ConversationKey, marks: &Marks) -> StoreResult<()> {
        self.update_marks(key, &mut |m| *m = marks.clone()).map(drop)
    }

    fn set_status(&mut self, key: &ConversationKey, status: ReviewStatus) -> StoreResult<()> {
        self.update_marks(key, &mut |m| m.status = status).map(drop)
    }

    fn set_note(&mut self, key: &ConversationKey, note: &str) -> StoreResult<()> {
        self.update_marks(key, &mut |m| m.note = note.to_string()).map(drop)
    }

    /// Adds the flag code, or removes it when already set; returns whether it is now set.
    fn toggle_flag(&mut self, key: &ConversationKey, code: &str) -> StoreResult<bool> {
        crate::domain::marks::check_flag_code(code).map_err(super::StoreError::invalid)?;
        let marks = self.update_marks(key, &mut |m| {
            if !m.flags.remove(code) {
                m.flags.insert(code.to_string());
            }
        })?;
        Ok(marks.flags.contains(code))
    }

    /// Sets (or with `None` clears) the rating of one turn.
    fn rate_turn(&mut self, key: &ConversationKey, turn: u32, rating: Option<TurnRating>) -> StoreResult<()> {
        self.update_marks(key, &mut |m| match &rating {
            Some(r) => {
                m.turns.insert(turn, r.clone());
            }
            None => {
                m.turns.remove(&turn);
            }
        })
        .map(drop)
    }
}

/// Both parts, as the TUI's store worker and the CLI hold them (e.g. `Box<dyn AppStore>`). A
/// team setup pairs the local cache with a shared [`ReviewStore`] in one type implementing both.
pub trait AppStore: ConversationCache + ReviewStore {}

impl<T: ConversationCache + ReviewStore> AppStore for T {}

impl ConversationCache for Store {}

impl ReviewStore for Store {
    fn update_marks(&mut self, key: &ConversationKey, change: &mut dyn FnMut(&mut Marks)) -> StoreResult<Marks> {
        Store::update_marks(self, key, change)
    }

    fn merge_marks_from(
        &mut self,
        reader: &mut dyn Read,
        dry_run: bool,
        on_conversation: &mut dyn FnMut(&ConversationMerge),
    ) -> StoreResult<MarksImport> {
        Store::merge_marks_from(self, reader, dry_run, on_conversation)
    }

    fn save_score(&mut self, key: &ConversationKey, record: &ScoreRecord) -> StoreResult<()> {
        Store::save_score(self, key, record)
    }
}

/// The behaviour every implementation must show, run against the trait objects only, so a
/// second store (the team store) runs the same checks by calling these with its own instance.
#[cfg(test)]
pub(crate) mod contract {
    use super::*;
    use crate::domain::Thumbs;
    use crate::store::StoreErrorKind;

    fn call(id: &str, minutes: i64, channel: &str, handoff: bool) -> Conversation {
        serde_json::from_value(serde_json::json!({
            "id": id,
            "channel": channel,
            "environment": "live",
            "handoff": handoff,
            "total_duration": 60,
            "started_at": format!("2026-04-01T09:{minutes:02}:00Z"),
            "turns": [{"user_input": format!("hello from {id} about a refund"), "agent_response": "Sure"}],
        }))
        .unwrap()
    }

    /// Caching, reading back, listing (filtered, paged), counting, filtering ids and search.
    pub fn conversation_cache(store: &mut dyn ConversationCache) {
        let origin = Origin::new("ws", "p", "live");
        let calls = [
            call("CA1", 1, "VOICE-SIP", false),
            call("CA2", 2, "WEBCHAT", true),
            call("CA3", 3, "VOICE-SIP", true),
            Conversation::default(),
        ];
        assert_eq!(
            store.cache(&origin, &calls).unwrap(),
            3,
            "the one without an id is skipped"
        );
        let back = store.conversation(&origin.key("CA2")).unwrap().unwrap();
        assert_eq!((back.id.as_str(), back.channel.as_str()), ("CA2", "WEBCHAT"));
        assert!(store.conversation(&origin.key("nope")).unwrap().is_none());

        let scope = Scope::env("ws", "p", "live");
        let all = Filter::default();
        let first = store.list_page(&scope, &all, ListOrder::NewestFirst, None, 2).unwrap();
        let ids = |rows: &[ListRow]| rows.iter().map(|r| r.key.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&first.rows), ["CA3", "CA2"]);
        let rest = store
            .list_page(&scope, &all, ListOrder::NewestFirst, first.next.as_ref(), 2)
            .unwrap();
        assert_eq!((ids(&rest.rows), rest.next), (vec!["CA1".to_string()], None));
        let oldest = store.list_page(&scope, &all, ListOrder::OldestFirst, None, 10).unwrap();
        assert_eq!(ids(&oldest.rows), ["CA1", "CA2", "CA3"]);

        let voice_handoff = Filter::parse("voice handoff").unwrap();
        assert_eq!(store.count(&scope, &voice_handoff).unwrap(), 1);
        assert_eq!(store.count(&Scope::env("ws", "p", "sandbox"), &all).unwrap(), 0);
        let asked = ["CA1", "CA2", "CA3", "CA9"].map(String::from);
        let mut kept = store
            .matching_ids(&scope, &Filter::parse("handoff").unwrap(), &asked)
            .unwrap();
        kept.sort();
        assert_eq!(kept, ["CA2", "CA3"]);

        let found = store.search_conversations(&SearchQuery::new("refund"), 10).unwrap();
        assert_eq!(ids(&found).len(), 3);
        let found = store.search_conversations(&SearchQuery::new("from CA2"), 10).unwrap();
        assert_eq!(ids(&found), ["CA2"]);
    }

    /// Marks: defaults, changes, limits, flags and ratings, pushed records, export and import.
    pub fn review_store(store: &mut dyn ReviewStore) {
        let key = Origin::new("ws", "p", "live").key("CA1");
        assert!(store.marks(&key).unwrap().is_empty(), "never marked: defaults");

        store.set_status(&key, ReviewStatus::NeedsFollowUp).unwrap();
        store.set_note(&key, "call back").unwrap();
        assert!(store.toggle_flag(&key, "wrong_info").unwrap());
        assert!(store.toggle_flag(&key, "latency").unwrap());
        assert!(
            !store.toggle_flag(&key, "latency").unwrap(),
            "a second toggle clears it"
        );
        let up = TurnRating {
            thumbs: Thumbs::Up,
            reason: None,
            comment: "good".into(),
        };
        store.rate_turn(&key, 2, Some(up.clone())).unwrap();
        store.rate_turn(&key, 3, Some(up.clone())).unwrap();
        store.rate_turn(&key, 3, None).unwrap();
        let m = store.marks(&key).unwrap();
        assert_eq!(m.status, ReviewStatus::NeedsFollowUp);
        assert_eq!(m.note, "call back");
        assert_eq!(m.flags.iter().collect::<Vec<_>>(), ["wrong_info"]);
        assert_eq!(m.turns.into_iter().collect::<Vec<_>>(), [(2, up)]);

        // The domain's limits hold whichever store takes the marks, and a refused change changes nothing.
        let e = store.toggle_flag(&key, " spaced").unwrap_err();
        assert_eq!(e.kind, StoreErrorKind::InvalidInput);
        let e = store.set_note(&key, &"x".repeat(65 * 1024)).unwrap_err();
        assert_eq!(e.kind, StoreErrorKind::InvalidInput);
        assert_eq!(store.marks(&key).unwrap().note, "call back");

        let other = Origin::new("ws", "p", "sandbox").key("CA2");
        store.set_status(&other, ReviewStatus::Reviewed).unwrap();
        let mut since = store.marked_since("ws", "p", None).unwrap();
        since.sort();
        assert_eq!(since, [key.clone(), other.clone()]);
        assert!(store.marked_since("ws", "q", None).unwrap().is_empty());

        store.record_pushed(&key, PushKind::Note, &["n1".into()]).unwrap();
        store.record_pushed(&key, PushKind::Note, &["n2".into()]).unwrap();
        store.record_pushed(&key, PushKind::Annotation, &["a".into()]).unwrap();
        let (marks, pushed) = store.marks_and_pushed(&key).unwrap();
        assert_eq!(marks.note, "call back");
        assert_eq!(pushed.note.as_deref(), Some("n2"), "a note replaces the one before");
        assert_eq!(pushed.annotations, ["a".to_string()].into());

        // Every change is in the history, newest first, as this store's reviewer's.
        let me = store.reviewer().to_string();
        let hist = store.history(&key).unwrap();
        assert!(hist.iter().all(|c| c.reviewer == me), "{hist:?}");
        assert!(hist.windows(2).all(|w| w[0].at_ms >= w[1].at_ms), "newest first");
        let latency = MarkField::Flag("latency".into());
        let toggles: Vec<_> = hist
            .iter()
            .filter(|c| c.field == latency)
            .map(|c| c.after.clone())
            .collect();
        assert_eq!(toggles, [None, Some("set".to_string())], "set, then cleared");
        assert_eq!(hist.iter().filter(|c| c.field == MarkField::TurnRating(3)).count(), 2);
        let n = hist.len();
        store.set_note(&key, "call back").unwrap();
        assert_eq!(
            store.history(&key).unwrap().len(),
            n,
            "a change to the same value records nothing"
        );
        let stamps = store.stamps(&key).unwrap();
        assert_eq!(stamps[&MarkField::Note].reviewer, me);
        assert!(stamps.contains_key(&latency), "a cleared field keeps its stamp");

        let json = store.export_marks(Some(&Scope::env("ws", "p", "live"))).unwrap();
        assert!(json.contains("call back") && !json.contains("sandbox"), "{json}");
        store.set_marks(&key, &Marks::default()).unwrap();
        assert!(store.marks(&key).unwrap().is_empty(), "empty marks delete them");
        // The file is older than the clear: importing it keeps the clear.
        let done = store.import_marks_from(&mut json.as_bytes()).unwrap();
        assert_eq!((done.conversations, done.follow_up, done.flagged), (1, 1, 1));
        assert_eq!(done.changed_fields, 0);
        assert_eq!(done.kept_fields, 4, "status, note, flag, rating: {done:?}");
        assert_eq!(done.same_fields, 2, "the flag and rating cleared before the export");
        assert!(store.marks(&key).unwrap().is_empty(), "my newer clear stays");

        // A colleague's newer note wins, keeps its author, and a dry run writes nothing.
        let later = chrono::Utc::now().timestamp_millis() + 60_000;
        let file = serde_json::json!({
            "format": "callscope.marks", "version": 2,
            "conversations": [{"account": "ws", "project": "p", "environment": "live", "id": "CA1",
                "note": "from bob", "fields": [{"field": "note", "reviewer": "bob@acme", "at_ms": later}]}],
        })
        .to_string();
        let mut seen = Vec::new();
        let dry = store
            .merge_marks_from(&mut file.as_bytes(), true, &mut |c| seen.push(c.clone()))
            .unwrap();
        assert_eq!((dry.changed_fields, dry.changed_conversations), (1, 1));
        assert_eq!(seen.len(), 1);
        assert_eq!(
            seen[0].changed().map(|o| o.field.clone()).collect::<Vec<_>>(),
            [MarkField::Note]
        );
        assert!(store.marks(&key).unwrap().is_empty(), "a dry run writes nothing");
        let history_before = store.history(&key).unwrap().len();
        let done = store.import_marks_from(&mut file.as_bytes()).unwrap();
        assert_eq!(done, dry, "the dry run said exactly what the import did");
        assert_eq!(store.marks(&key).unwrap().note, "from bob");
        let hist = store.history(&key).unwrap();
        assert_eq!(hist.len(), history_before + 1);
        assert_eq!((hist[0].reviewer.as_str(), hist[0].at_ms), ("bob@acme", later));
        assert_eq!(hist[0].before, None);

        assert!(store.import_marks_from(&mut &b"{not json"[..]).is_err());
        assert_eq!(
            store.marks(&key).unwrap().note,
            "from bob",
            "a bad file changes nothing"
        );
    }

    fn score(card: &str, who: &str, at_ms: i64, score: Option<f64>, auto_failed: bool) -> ScoreRecord {
        use crate::domain::ScoreAnswer;
        ScoreRecord {
            scorecard: card.into(),
            reviewer: who.into(),
            at_ms,
            answers: [(
                "greeting".to_string(),
                ScoreAnswer {
                    answer: "yes".into(),
                    comment: format!("by {who}"),
                    turn: Some(2),
                },
            )]
            .into(),
            score,
            auto_failed,
        }
    }

    /// Scores: append-only saves read back oldest first, per conversation, within limits.
    pub fn score_store(store: &mut dyn ReviewStore) {
        let key = Origin::new("ws", "p", "live").key("CA1");
        let other = Origin::new("ws", "p", "sandbox").key("CA1");
        assert!(store.scores(&key).unwrap().is_empty(), "never scored");
        let first = score("voice-qa", "ann", 1_000, Some(50.0), false);
        let second = score("voice-qa", "ann", 2_000, Some(0.0), true);
        let bob = score("voice-qa", "bob", 1_500, None, false);
        for r in [&first, &bob, &second] {
            store.save_score(&key, r).unwrap();
        }
        store
            .save_score(&other, &score("quick", "ann", 3_000, Some(100.0), false))
            .unwrap();
        let saved = store.scores(&key).unwrap();
        assert_eq!(saved, [first, bob.clone(), second.clone()], "every save kept, in order");
        let current = crate::domain::scores::current(&saved);
        assert_eq!(current, [&second, &bob], "the newest of each reviewer is current");
        assert_eq!(store.scores(&other).unwrap().len(), 1, "keyed by environment too");
        let history = store.history(&key).unwrap();
        let ann: Vec<_> = history
            .iter()
            .filter(|c| c.field == MarkField::Score("voice-qa".into()) && c.reviewer == "ann")
            .map(|c| (c.before.as_deref(), c.after.as_deref()))
            .collect();
        assert_eq!(
            ann,
            [(Some("50"), Some("0 (auto-fail)")), (None, Some("50"))],
            "each save is a history entry, newest first"
        );

        let mut bad = score("voice-qa", "", 4_000, Some(10.0), false);
        let e = store.save_score(&key, &bad).unwrap_err();
        assert_eq!(e.kind, StoreErrorKind::InvalidInput);
        bad.reviewer = "ann".into();
        bad.score = Some(140.0);
        assert_eq!(
            store.save_score(&key, &bad).unwrap_err().kind,
            StoreErrorKind::InvalidInput
        );
        assert_eq!(store.scores(&key).unwrap().len(), 3, "a refused save adds nothing");
    }

    /// The filters that read marks see the marks the review side wrote.
    pub fn app_store(store: &mut dyn AppStore) {
        let origin = Origin::new("ws", "p", "live");
        store
            .cache(
                &origin,
                &[call("CA7", 7, "VOICE-SIP", false), call("CA8", 8, "VOICE-SIP", false)],
            )
            .unwrap();
        store.set_status(&origin.key("CA7"), ReviewStatus::Reviewed).unwrap();
        store.toggle_flag(&origin.key("CA8"), "compliance").unwrap();
        let scope = Scope::env("ws", "p", "live");
        let ids = ["CA7", "CA8"].map(String::from);
        assert_eq!(
            store
                .matching_ids(&scope, &Filter::parse("reviewed").unwrap(), &ids)
                .unwrap(),
            ["CA7"]
        );
        assert_eq!(
            store
                .matching_ids(&scope, &Filter::parse("flagged").unwrap(), &ids)
                .unwrap(),
            ["CA8"]
        );
    }

    #[test]
    fn the_sqlite_store_keeps_the_contract() {
        let dir = tempfile::tempdir().unwrap();
        let open = |name: &str| Store::open(&dir.path().join(name)).unwrap();
        conversation_cache(&mut open("cache.db"));
        let mut review = open("review.db");
        review.set_reviewer("alice@acme");
        review_store(&mut review);
        score_store(&mut open("scores.db"));
        let mut both: Box<dyn AppStore> = Box::new(open("both.db"));
        app_store(both.as_mut());
    }
}
