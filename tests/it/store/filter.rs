//! Filters mean the same thing in SQL (the cache, pages judged by the store) and in memory (calls
//! that arrive live): checked on stand-in conversations fetched over loopback HTTP.

use crate::support as common;

use callscope::api::{Conversation, ListQuery};
use callscope::domain::{Filter, Marks, Origin, ReviewStatus, Scope};
use callscope::store::Store;
use chrono::{Duration, Utc};

#[tokio::test]
async fn sql_and_in_memory_filters_agree_on_realistic_data() {
    let s = crate::support::standin_with(600).await;
    let client = common::client(&s);
    let now = Utc::now();
    let mut convs: Vec<Conversation> = Vec::new();
    let mut cursor = None;
    loop {
        let page = client
            .list_page(&ListQuery {
                start_time: Some(now - Duration::days(30)),
                end_time: Some(now + Duration::minutes(1)),
                limit: Some(200),
                cursor,
                include_latency: true,
                ..Default::default()
            })
            .await
            .unwrap();
        convs.extend(page.conversations);
        cursor = page.cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert!(convs.len() > 300, "{}", convs.len());

    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("s.db")).unwrap();
    let origin = Origin::new(&s.account_id, &s.project_id, "live");
    store.cache(&origin, &convs).unwrap();
    // Marks on every third and fifth conversation.
    let mut marks = std::collections::HashMap::new();
    for (i, c) in convs.iter().enumerate() {
        let mut m = Marks::default();
        if i % 3 == 0 {
            m.status = if i % 2 == 0 {
                ReviewStatus::Reviewed
            } else {
                ReviewStatus::NeedsFollowUp
            };
        }
        if i % 5 == 0 {
            m.flags.insert("latency".into());
        }
        if !m.is_empty() {
            store.set_marks(&origin.key(c.id.as_str()), &m).unwrap();
            marks.insert(c.id.clone(), m);
        }
    }
    let intent = convs
        .iter()
        .flat_map(|c| c.turns.iter().flat_map(|t| t.intents.iter()))
        .next()
        .expect("the stand-in generates intents")
        .clone();
    let filters = [
        "voice".to_string(),
        "chat".into(),
        "handoff".into(),
        "!handoff voice".into(),
        "in-progress".into(),
        "!in-progress duration:60..300".into(),
        "duration:>200".into(),
        "duration:<45 chat".into(),
        format!("intent:{intent}"),
        format!("intent:{intent} handoff"),
        "latency>1.5".into(),
        "latency>0.8 voice".into(),
        "unreviewed".into(),
        "reviewed flagged".into(),
        "follow-up !flagged".into(),
        "channel:VOICE-SIP,WEBCHAT latency>1".into(),
    ];
    let scope = Scope::env(&s.account_id, &s.project_id, "live");
    let ids: Vec<String> = convs.iter().map(|c| c.id.clone()).collect();
    let mut nonempty = 0;
    for text in &filters {
        let f = Filter::parse(text).unwrap();
        let mut sql = store.matching_ids(&scope, &f, &ids).unwrap();
        sql.sort();
        let mut mem: Vec<String> = convs
            .iter()
            .filter(|c| f.matches(c, marks.get(&c.id)))
            .map(|c| c.id.clone())
            .collect();
        mem.sort();
        assert_eq!(sql, mem, "filter {text:?}");
        nonempty += usize::from(!sql.is_empty() && sql.len() < convs.len());
    }
    assert!(nonempty >= 12, "most filters select a proper subset ({nonempty})");
}
