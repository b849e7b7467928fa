//! Review marks: persistence, import/export (and refusal of bad files), export helpers and Markdown.

use crate::support::store_origin as origin;
use callscope::api::Conversation;
use callscope::domain::{Filter, Marks, Origin, RatingReason, ReviewStatus, Scope, Thumbs, TurnRating};
use callscope::store::{Store, StoreErrorKind};

fn markdown_with_notes(c: &Conversation, marks: &Marks) -> String {
    callscope::export::markdown::render(c, Some(marks), None)
}
use serde_json::json;

fn conv(id: &str, minute: u32) -> Conversation {
    serde_json::from_value(json!({
        "id": id, "project_id": "PROJECT-1", "environment": "live",
        "started_at": format!("2026-04-01T09:{minute:02}:00Z"), "channel": "VOICE-SIP",
        "num_turns": 2, "total_duration": 74, "handoff": true, "handoff_reason": "billing_question",
        "handoff_destination": "billing queue",
        "turns": [
            {"user_input": "", "agent_response": "Hi, thanks for calling Bella's",
             "agent_response_datetime": format!("2026-04-01T09:{minute:02}:01Z"), "latency": 0.84},
            {"user_input": "My bill is wrong\u{1b}[31m", "user_input_datetime": format!("2026-04-01T09:{minute:02}:06Z"),
             "agent_response": "Let me transfer you", "agent_response_datetime": format!("2026-04-01T09:{minute:02}:09Z"),
             "intents": ["billing"]}
        ]
    }))
    .unwrap()
}

fn rated() -> Marks {
    let mut m = Marks {
        status: ReviewStatus::NeedsFollowUp,
        note: "Caller was charged twice.\nEscalate to finance.".into(),
        ..Marks::default()
    };
    m.flags.insert("wrong_info".into());
    m.flags.insert("compliance".into());
    m.turns.insert(
        1,
        TurnRating {
            thumbs: Thumbs::Down,
            reason: Some(RatingReason::WrongInformation),
            comment: "should ask for the invoice number".into(),
        },
    );
    m.turns.insert(
        0,
        TurnRating {
            thumbs: Thumbs::Up,
            reason: None,
            comment: String::new(),
        },
    );
    m
}

#[test]
fn marks_survive_reopen_and_cache_refresh() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let key = origin().key("CA1");
    {
        let mut store = Store::open(&path).unwrap();
        store.cache(&origin(), &[conv("CA1", 1)]).unwrap();
        assert_eq!(store.marks(&key).unwrap(), Marks::default());
        store.set_status(&key, ReviewStatus::Reviewed).unwrap();
        assert!(store.toggle_flag(&key, "compliance").unwrap());
        assert!(store.toggle_flag(&key, "wrong_info").unwrap());
        assert!(!store.toggle_flag(&key, "compliance").unwrap(), "second toggle removes");
        store.set_note(&key, "Check the refund policy").unwrap();
        let r = TurnRating {
            thumbs: Thumbs::Down,
            reason: Some(RatingReason::Latency),
            comment: "3 s of silence".into(),
        };
        store.rate_turn(&key, 1, Some(r)).unwrap();
        store.rate_turn(&key, 0, Some(rated().turns[&0].clone())).unwrap();
        store.rate_turn(&key, 0, None).unwrap();
        // Re-caching the conversation never touches its marks.
        store.cache(&origin(), &[conv("CA1", 1)]).unwrap();
    }
    let store = Store::open(&path).unwrap();
    let m = store.marks(&key).unwrap();
    assert_eq!(m.status, ReviewStatus::Reviewed);
    assert_eq!(m.flags.iter().collect::<Vec<_>>(), ["wrong_info"]);
    assert_eq!(m.note, "Check the refund policy");
    assert_eq!(m.turns.len(), 1);
    assert_eq!(m.turns[&1].reason, Some(RatingReason::Latency));
}

#[test]
fn bad_flag_codes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("s.db")).unwrap();
    let err = store.toggle_flag(&origin().key("CA1"), "").unwrap_err();
    assert_eq!(err.kind, StoreErrorKind::InvalidInput);
    assert!(store.marks(&origin().key("CA1")).unwrap().is_empty());
}

#[test]
fn export_then_import_into_another_store() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = Store::open(&dir.path().join("a.db")).unwrap();
    a.set_marks(&origin().key("CA1"), &rated()).unwrap();
    a.set_status(&Origin::new("ws-1", "OTHER", "live").key("CA9"), ReviewStatus::Reviewed)
        .unwrap();
    let json = a.export_marks(Some(&Scope::project("ws-1", "PROJECT-1"))).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["format"], "callscope.marks");
    assert_eq!(doc["version"], 3);
    assert_eq!(
        doc["conversations"].as_array().unwrap().len(),
        1,
        "scoped to the project"
    );
    assert_eq!(doc["conversations"][0]["status"], "needs_follow_up");

    // Imported marks need no cached conversation; they merge field by field, so b's newer
    // status of CA1 stays and the rest of the file's marks are taken.
    let mut b = Store::open(&dir.path().join("b.db")).unwrap();
    b.set_status(&origin().key("CA1"), ReviewStatus::Reviewed).unwrap();
    b.set_status(&origin().key("CA2"), ReviewStatus::Reviewed).unwrap();
    let done = b.import_marks(&json).unwrap();
    assert_eq!(done.conversations, 1);
    assert_eq!((done.kept_fields, done.changed_conversations), (1, 1));
    let want = Marks {
        status: ReviewStatus::Reviewed,
        ..rated()
    };
    assert_eq!(b.marks(&origin().key("CA1")).unwrap(), want);
    assert_eq!(
        b.marks(&origin().key("CA2")).unwrap().status,
        ReviewStatus::Reviewed,
        "others untouched"
    );
    let everything = a.export_marks(None).unwrap();
    assert_eq!(b.import_marks(&everything).unwrap().conversations, 2);
}

#[test]
fn malformed_marks_files_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("s.db")).unwrap();
    store.set_marks(&origin().key("CA1"), &rated()).unwrap();
    let before = store.export_marks(None).unwrap();
    let entry = |extra: serde_json::Value| {
        let mut e = json!({"account": "ws-1", "project": "PROJECT-1", "environment": "live", "id": "CA2", "status": "reviewed"});
        e.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        e
    };
    let file = |entries: Vec<serde_json::Value>| {
        json!({"format": "callscope.marks", "version": 1, "conversations": entries}).to_string()
    };
    // The first entry is valid and would change CA1: a later bad entry must still block it.
    let ok = entry(json!({"id": "CA1"}));
    let cases: Vec<(String, &str)> = vec![
        ("{not json".into(), "not valid JSON"),
        ("[]".into(), "JSON object"),
        (
            json!({"format": "something-else", "version": 1}).to_string(),
            "not a callscope marks file",
        ),
        (
            json!({"format": "callscope.marks", "version": 4, "conversations": []}).to_string(),
            "unsupported version 4",
        ),
        (
            json!({"format": "callscope.marks", "conversations": []}).to_string(),
            "version",
        ),
        (
            file(vec![ok.clone(), entry(json!({"status": "done"}))]),
            "unknown variant `done`",
        ),
        (
            file(vec![
                ok.clone(),
                json!({"account": "ws-1", "project": "P", "environment": "live"}),
            ]),
            "missing field `id`",
        ),
        (
            file(vec![ok.clone(), entry(json!({"id": " "}))]),
            "conversations[1]: empty id",
        ),
        (file(vec![ok.clone(), ok.clone()]), "appears twice"),
        (file(vec![ok.clone(), entry(json!({"flags": [""]}))]), "flag code"),
        (
            file(vec![
                ok.clone(),
                entry(json!({"turns": [{"turn": 1, "thumbs": "sideways"}]})),
            ]),
            "unknown variant `sideways`",
        ),
        (
            file(vec![
                ok.clone(),
                entry(json!({"turns": [{"turn": 1, "thumbs": "up", "reason": "rude"}]})),
            ]),
            "unknown variant `rude`",
        ),
        (
            file(vec![
                ok.clone(),
                entry(json!({"turns": [{"turn": 1, "thumbs": "up"}, {"turn": 1, "thumbs": "down"}]})),
            ]),
            "rated twice",
        ),
        (
            file(vec![ok.clone(), entry(json!({"colour": "red"}))]),
            "unknown field `colour`",
        ),
        (
            file(vec![
                ok,
                entry(json!({"id": "CA2", "turns": [{"turn": -1, "thumbs": "up"}]})),
            ]),
            "invalid value",
        ),
    ];
    for (input, needle) in cases {
        let err = store.import_marks(&input).unwrap_err();
        assert_eq!(err.kind, StoreErrorKind::InvalidInput, "{input}");
        let text = err.to_string();
        assert!(
            text.contains("marks file rejected") && text.contains(needle),
            "{input}\n→ {text}"
        );
        assert!(text.contains("nothing was changed"), "{text}");
        let now = store.export_marks(None).unwrap();
        let strip = |s: &str| {
            let mut v: serde_json::Value = serde_json::from_str(s).unwrap();
            v.as_object_mut().unwrap().remove("exported_at");
            v
        };
        assert_eq!(strip(&now), strip(&before), "{input} changed the store");
    }
}

#[test]
fn conversations_matching_reviewed_and_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("s.db")).unwrap();
    let convs: Vec<_> = (0..600).map(|i| conv(&format!("CA{i:03}"), i % 60)).collect();
    store.cache(&origin(), &convs).unwrap();
    for i in (0..600).step_by(3) {
        store
            .set_status(&origin().key(format!("CA{i:03}")), ReviewStatus::Reviewed)
            .unwrap();
    }
    store.toggle_flag(&origin().key("CA005"), "compliance").unwrap();
    let scope = Scope::project("ws-1", "PROJECT-1");
    let reviewed: Vec<_> = store
        .conversations_matching(&scope, &Filter::parse("reviewed").unwrap())
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(reviewed.len(), 200, "pages past the internal page size");
    assert!(
        reviewed
            .iter()
            .all(|(_, c, m)| m.status == ReviewStatus::Reviewed && c.turns.len() == 2)
    );
    let flagged: Vec<_> = store
        .conversations_matching(&scope, &Filter::parse("flagged").unwrap())
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(flagged.len(), 1);
    assert_eq!(flagged[0].1.id, "CA005");
    assert!(flagged[0].2.flags.contains("compliance"));
}

#[test]
fn markdown_for_a_ticket() {
    let md = markdown_with_notes(&conv("CA1", 15), &rated());
    // One renderer for `x` and `export --format md` (issue 12): the intent on the caller's
    // line, no latency on the greeting, ratings under the turn they rate.
    insta::assert_snapshot!(md, @r"
    ## CA1 — VOICE-SIP · 2026-04-01 09:15:00 UTC

    - project PROJECT-1 · env live · duration 01:14 · 2 turns
    - **Handoff**: billing_question → billing queue
    - **Review status:** needs follow-up
    - **Flags:** `compliance`, `wrong_info`

    **Note:**
    > Caller was charged twice.
    > Escalate to finance.

    **Transcript**

    - `00:01` **Agent:** Hi, thanks for calling Bella's
      - 👍 turn 1
    - `00:06` **User:** My bill is wrong␛ _(intent billing)_
    - `00:09` **Agent:** Let me transfer you
      - 👎 turn 2: wrong information — should ask for the invoice number
    ");
    let hidden: Conversation = serde_json::from_value(json!({"id": "CA2", "num_turns": 4})).unwrap();
    let md = markdown_with_notes(&hidden, &Marks::default());
    assert!(md.contains("- **Review status:** new"), "{md}");
    assert!(
        md.contains("_Transcript hidden: transcript visibility is off for this project (enable"),
        "{md}"
    );
}
