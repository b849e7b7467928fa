//! Full-text search (unicode, punctuation, speakers, in-conversation hits) and filter combinations.

use crate::support::store_origin as origin;
use callscope::api::Conversation;
use callscope::domain::{Filter, ReviewStatus, Scope, Speaker};
use callscope::store::{ListOrder, NextKind, SearchOrder, SearchQuery, Store};
use serde_json::json;

fn scope() -> Scope {
    Scope::env("ws-1", "PROJECT-1", "live")
}

struct Spec<'a> {
    id: &'a str,
    minute: u32,
    channel: &'a str,
    duration: u32,
    handoff: bool,
    in_progress: bool,
    latency: f64,
    intent: &'a str,
    turns: &'a [(&'a str, &'a str)],
}

const BASE: Spec<'static> = Spec {
    id: "",
    minute: 0,
    channel: "VOICE-SIP",
    duration: 60,
    handoff: false,
    in_progress: false,
    latency: 0.5,
    intent: "greeting",
    turns: &[],
};

fn conv(s: Spec) -> Conversation {
    let turns: Vec<_> = s
        .turns
        .iter()
        .map(|(u, a)| json!({"user_input": u, "agent_response": a, "latency": s.latency, "intents": [s.intent]}))
        .collect();
    serde_json::from_value(json!({
        "id": s.id, "started_at": format!("2026-04-01T10:{:02}:00Z", s.minute), "channel": s.channel,
        "num_turns": turns.len(), "total_duration": s.duration, "handoff": s.handoff,
        "in_progress": s.in_progress, "turns": turns,
    }))
    .unwrap()
}

fn sample_store(dir: &std::path::Path) -> Store {
    let mut store = Store::open(&dir.join("s.db")).unwrap();
    let convs = vec![
        conv(Spec {
            id: "FR",
            minute: 1,
            turns: &[(
                "Je voudrais réserver une table à Zürich",
                "Très bien, pour combien de personnes ?",
            )],
            ..BASE
        }),
        conv(Spec {
            id: "JA",
            minute: 2,
            channel: "WEBCHAT",
            turns: &[("東京駅の近くで予約したいです", "かしこまりました 🙂 何名様ですか？")],
            ..BASE
        }),
        conv(Spec {
            id: "EN",
            minute: 3,
            handoff: true,
            latency: 3.2,
            intent: "refund",
            duration: 300,
            turns: &[
                (
                    "I want a refund: order #123 (urgent) -- NOT happy",
                    "I'm sorry to hear that",
                ),
                ("refund now please", "Let me transfer you to billing"),
                ("thanks", "You're welcome 😀"),
            ],
            ..BASE
        }),
        conv(Spec {
            id: "EN2",
            minute: 4,
            channel: "SMS",
            in_progress: true,
            latency: 1.0,
            intent: "refund",
            duration: 30,
            turns: &[("refundable ticket?", "Yes, it is refundable")],
            ..BASE
        }),
        // A summary without a transcript: listed and filterable, never a search hit.
        conv(Spec {
            id: "SUM",
            minute: 5,
            handoff: true,
            ..BASE
        }),
    ];
    store.cache(&origin(), &convs).unwrap();
    store
}

fn ids(hits: &[callscope::store::SearchHit]) -> Vec<String> {
    let mut v: Vec<_> = hits.iter().map(|h| h.key.id.clone()).collect();
    v.dedup();
    v
}

#[test]
fn accents_fold_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let store = sample_store(dir.path());
    for q in ["reserver", "réserver", "ZURICH", "zürich", "tres bien"] {
        let hits = store.search(&SearchQuery::new(q)).unwrap();
        assert_eq!(ids(&hits), ["FR"], "{q}");
    }
    let hit = &store.search(&SearchQuery::new("reserver")).unwrap()[0];
    assert_eq!((hit.turn, hit.speaker), (0, Speaker::User));
    let h = &hit.snippet;
    assert_eq!(
        &h.text[h.highlights[0].clone()],
        "réserver",
        "highlight covers the original accented word"
    );
}

#[test]
fn cjk_and_emoji_are_searchable() {
    let dir = tempfile::tempdir().unwrap();
    let store = sample_store(dir.path());
    let hits = store.search(&SearchQuery::new("東京")).unwrap();
    assert_eq!(ids(&hits), ["JA"]);
    let s = &hits[0].snippet;
    assert!(!s.text.contains('\u{200B}'), "separators never leak: {:?}", s.text);
    assert_eq!(s.highlights.len(), 1);
    assert_eq!(&s.text[s.highlights[0].clone()], "東京");
    assert_eq!(ids(&store.search(&SearchQuery::new("予約")).unwrap()), ["JA"]);
    let smile = store.search(&SearchQuery::new("🙂")).unwrap();
    assert_eq!(ids(&smile), ["JA"]);
    assert_eq!(smile[0].speaker, Speaker::Agent);
    assert_eq!(ids(&store.search(&SearchQuery::new("😀")).unwrap()), ["EN"]);
}

#[test]
fn punctuation_and_operators_are_plain_text() {
    let dir = tempfile::tempdir().unwrap();
    let store = sample_store(dir.path());
    for q in [
        "\"refund",
        "refund\"",
        "refund*",
        "-- NOT happy",
        "order #123 (urgent",
        "refund: order",
        "AND",
        "OR refund",
        "NEAR(refund order)",
        "(",
        "\"",
        "*",
        "-",
        "^refund",
        "refund OR",
        "col:refund",
    ] {
        let r = store.search(&SearchQuery::new(q));
        assert!(r.is_ok(), "{q:?}: {}", r.unwrap_err());
    }
    assert_eq!(ids(&store.search(&SearchQuery::new("NOT happy")).unwrap()), ["EN"]);
    assert_eq!(
        ids(&store.search(&SearchQuery::new("order #123 (urgent)")).unwrap()),
        ["EN"]
    );
    assert!(store.search(&SearchQuery::new("\" * ( -")).unwrap().is_empty());
}

#[test]
fn last_word_is_a_prefix_and_speakers_filter() {
    let dir = tempfile::tempdir().unwrap();
    let store = sample_store(dir.path());
    // "refun" as the last word finds refund and refundable; earlier words must match whole.
    let all = store.search(&SearchQuery::new("refun")).unwrap();
    assert_eq!(all.len(), 4, "{all:?}");
    assert!(store.search(&SearchQuery::new("refun now")).unwrap().is_empty());
    let user_only = store
        .search(&SearchQuery {
            speaker: Some(Speaker::User),
            ..SearchQuery::new("refund")
        })
        .unwrap();
    assert!(user_only.iter().all(|h| h.speaker == Speaker::User));
    assert_eq!(user_only.len(), 3);
    let agent_only = store
        .search(&SearchQuery {
            speaker: Some(Speaker::Agent),
            ..SearchQuery::new("refund")
        })
        .unwrap();
    assert_eq!(ids(&agent_only), ["EN2"]);
    // Recency order and limit.
    let newest = store
        .search(&SearchQuery {
            order: SearchOrder::Newest,
            limit: 2,
            ..SearchQuery::new("refund")
        })
        .unwrap();
    assert_eq!(newest.len(), 2);
    assert_eq!(newest[0].key.id, "EN2");
    // Newest-first walks the index backwards and stops at the limit: no sort of all matches.
    let plan = store
        .explain_search(&SearchQuery {
            order: SearchOrder::Newest,
            scope: scope(),
            ..SearchQuery::new("refund")
        })
        .unwrap();
    assert!(
        plan.contains("VIRTUAL TABLE") && !plan.contains("TEMP B-TREE"),
        "{plan}"
    );
    // Search combined with a filter and a scope.
    let handoffs = store
        .search(&SearchQuery {
            filter: Filter::parse("handoff").unwrap(),
            scope: scope(),
            ..SearchQuery::new("refund")
        })
        .unwrap();
    assert_eq!(ids(&handoffs), ["EN"]);
    let other_project = SearchQuery {
        scope: Scope::project("ws-1", "OTHER"),
        ..SearchQuery::new("refund")
    };
    assert!(store.search(&other_project).unwrap().is_empty());
}

#[test]
fn hits_within_one_conversation_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = sample_store(dir.path());
    let hits = store.hits_in(&origin().key("EN"), "refund", None).unwrap();
    let at: Vec<_> = hits.iter().map(|h| (h.turn, h.speaker)).collect();
    assert_eq!(at, [(0, Speaker::User), (1, Speaker::User)]);
    let t = &hits[1].text;
    assert_eq!(t.text, "refund now please", "the whole turn, not a snippet");
    assert_eq!(t.highlights, vec![0..6]);
    let agent = store.hits_in(&origin().key("EN"), "you", Some(Speaker::Agent)).unwrap();
    assert_eq!(
        agent.iter().map(|h| h.turn).collect::<Vec<_>>(),
        [1, 2],
        "transfer you, You're"
    );
    assert!(
        store
            .hits_in(&origin().key("missing"), "refund", None)
            .unwrap()
            .is_empty()
    );
}

fn list_ids(store: &Store, filter: &str) -> Vec<String> {
    let f = Filter::parse(filter).unwrap();
    store
        .list_page(&scope(), &f, ListOrder::OldestFirst, None, 100)
        .unwrap()
        .rows
        .into_iter()
        .map(|r| r.key.id)
        .collect()
}

#[test]
fn filter_combinations() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = sample_store(dir.path());
    assert_eq!(list_ids(&store, ""), ["FR", "JA", "EN", "EN2", "SUM"]);
    assert_eq!(list_ids(&store, "voice"), ["FR", "EN", "SUM"]);
    assert_eq!(list_ids(&store, "chat"), ["JA", "EN2"]);
    assert_eq!(list_ids(&store, "channel:webchat,sms"), ["JA", "EN2"]);
    assert_eq!(list_ids(&store, "voice handoff"), ["EN", "SUM"]);
    assert_eq!(list_ids(&store, "voice !handoff"), ["FR"]);
    assert_eq!(list_ids(&store, "latency>2"), ["EN"]);
    assert_eq!(list_ids(&store, "latency>0.9 intent:refund"), ["EN", "EN2"]);
    assert_eq!(
        list_ids(&store, "intent:refun"),
        Vec::<String>::new(),
        "intent is exact"
    );
    assert_eq!(list_ids(&store, "duration:31..300"), ["FR", "JA", "EN", "SUM"]);
    assert_eq!(list_ids(&store, "duration:>100 handoff"), ["EN"]);
    assert_eq!(list_ids(&store, "duration:<59"), ["EN2"]);
    assert_eq!(list_ids(&store, "in-progress"), ["EN2"]);
    assert_eq!(list_ids(&store, "env:sandbox"), Vec::<String>::new());
    // Filters over review marks.
    store.set_status(&origin().key("EN"), ReviewStatus::Reviewed).unwrap();
    store
        .set_status(&origin().key("JA"), ReviewStatus::NeedsFollowUp)
        .unwrap();
    store.toggle_flag(&origin().key("FR"), "wrong_info").unwrap();
    assert_eq!(list_ids(&store, "unreviewed"), ["FR", "EN2", "SUM"]);
    assert_eq!(list_ids(&store, "reviewed"), ["EN"]);
    assert_eq!(list_ids(&store, "follow-up chat"), ["JA"]);
    assert_eq!(list_ids(&store, "flagged"), ["FR"]);
    assert_eq!(list_ids(&store, "!flagged unreviewed voice"), ["SUM"]);
    assert_eq!(store.count(&scope(), &Filter::parse("unreviewed").unwrap()).unwrap(), 3);
    let rows = store
        .list_page(&scope(), &Filter::default(), ListOrder::OldestFirst, None, 10)
        .unwrap()
        .rows;
    assert!(rows[0].flagged && rows[0].status == ReviewStatus::New);
    assert_eq!(rows[2].status, ReviewStatus::Reviewed);
    // A value with SQL in it is just a value.
    assert!(list_ids(&store, "intent:\"x' OR 1=1 --\"").is_empty());
}

#[test]
fn next_unreviewed_flagged_handoff_in_list_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = sample_store(dir.path());
    store.set_status(&origin().key("JA"), ReviewStatus::Reviewed).unwrap();
    store.set_status(&origin().key("EN"), ReviewStatus::Reviewed).unwrap();
    store.toggle_flag(&origin().key("EN2"), "compliance").unwrap();
    let all = Filter::default();
    let rows = store
        .list_page(&scope(), &all, ListOrder::NewestFirst, None, 10)
        .unwrap()
        .rows;
    let at = |id: &str| rows.iter().find(|r| r.key.id == id).unwrap().cursor();
    let next = |after: &str, kind| {
        store
            .next_after(&scope(), &all, ListOrder::NewestFirst, Some(&at(after)), kind)
            .unwrap()
            .map(|r| r.key.id)
    };
    // Newest first: SUM, EN2, EN, JA, FR.
    assert_eq!(next("EN2", NextKind::Unreviewed).as_deref(), Some("FR"));
    assert_eq!(next("FR", NextKind::Unreviewed), None);
    assert_eq!(next("SUM", NextKind::Flagged).as_deref(), Some("EN2"));
    assert_eq!(next("EN2", NextKind::Flagged), None);
    assert_eq!(next("SUM", NextKind::Handoff).as_deref(), Some("EN"));
    let first = store
        .next_after(&scope(), &all, ListOrder::NewestFirst, None, NextKind::Handoff)
        .unwrap();
    assert_eq!(first.unwrap().key.id, "SUM");
    // Oldest first goes the other way.
    let up = store
        .next_after(
            &scope(),
            &all,
            ListOrder::OldestFirst,
            Some(&at("FR")),
            NextKind::Flagged,
        )
        .unwrap();
    assert_eq!(up.unwrap().key.id, "EN2");
}
