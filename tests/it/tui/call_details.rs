//! What the real by-id object adds to the detail pane: the summary, PolyScore on its scale,
//! tags, Studio's note, direction and language in the header; function calls (with handoff and
//! state changes), the ASR correction and n-best, retrieved topics and safety filters at their
//! turn; the `T` / `I` toggles and turn-by-turn keys (`)` `(` `.` `,` `L`).

use crate::support::tui as tui_support;

use callscope::api::model::FunctionEvent;
use callscope::api::{Conversation, OddField, Turn};
use callscope::app::player::turn_at_top;
use callscope::app::state::Pane;
use callscope::app::{State, update};
use callscope::ui::theme::{Mode, Theme};
use chrono::Duration;
use crossterm::event::KeyCode;
use insta::assert_snapshot;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use serde_json::json;
use tui_support::*;

/// A voice call with everything the real object carries, laid out over four turns.
fn rich() -> Conversation {
    let mut c = conv(1, true);
    let start = c.started_at.unwrap();
    let at = |s: i64| Some(start + Duration::seconds(s));
    c.poly_score = Some(4.5);
    c.tags = vec!["vip".into(), "refund\u{1b}[2J".into()];
    c.note = "Customer wants a call back on Monday".into();
    c.short_summary = "Table booking: Caller booked a table for four at seven, asked about parking and was \
                       handed to billing for a refund."
        .into();
    c.direction = "inbound".into();
    c.language = "en-GB".into();
    c.handoff = true;
    c.handoff_reason = "billing_question".into();
    c.odd_fields = vec![OddField {
        field: "metrics",
        raw: r#"{"CSAT":{"score":[1,2]}}"#.into(),
    }];
    c.num_turns = Some(4);
    c.turns = vec![
        Turn {
            agent_response: "Hi, thanks for calling Bella's, how can I help?".into(),
            agent_response_datetime: at(1),
            ..Turn::default()
        },
        Turn {
            user_input: "I'd like to book a table for four".into(),
            user_input_datetime: at(6),
            agent_response: "Sure, what time would suit you?".into(),
            agent_response_datetime: at(8),
            latency: Some(0.42),
            retrieved_topics: vec!["table_booking".into(), "parking".into()],
            function_events: vec![FunctionEvent {
                name: "check_availability".into(),
                arguments: json!({"party_size": 4}),
                duration: Some(320.0),
                ..Default::default()
            }],
            ..Turn::default()
        },
        Turn {
            user_input: "heaven tonight if possible".into(),
            user_input_datetime: at(15),
            agent_response: "Booked for seven tonight.".into(),
            agent_response_datetime: at(17),
            latency: Some(1.35),
            asr_corrected_user_input: "Seven tonight if possible".into(),
            top_transcripts: vec![
                "heaven tonight if possible".into(),
                "seven tonight if possible".into(),
                "Kevin tonight".into(),
            ],
            function_events: vec![FunctionEvent {
                name: "book_table".into(),
                arguments: json!({"party_size": 4, "time": "19:00", "name": "Ada Lovelace", "notes": "window seat"}),
                duration: Some(812.0),
                state_changes: json!({"added": {"booking_ref": "BK-1042"}, "updated": {"party_size": 4}}),
                ..Default::default()
            }],
            ..Turn::default()
        },
        Turn {
            user_input: "Can I get a refund, you useless lot".into(),
            user_input_datetime: at(24),
            agent_response: "I'll transfer you to billing, one moment please.".into(),
            agent_response_datetime: at(28),
            latency: Some(2.8),
            safety_filters: vec!["azure_content_safety".into()],
            function_events: vec![FunctionEvent {
                name: "transfer_to_billing".into(),
                arguments: json!({}),
                duration: Some(95.0),
                handoff_reason: "billing_question".into(),
                handoff_type: "warm".into(),
                state_changes: json!({"removed": ["hold"]}),
                ..Default::default()
            }],
            ..Turn::default()
        },
    ];
    c
}

/// The app showing the rich call (the only row) with its transcript laid out.
fn showing(w: u16, h: u16) -> State {
    let mut s = state(w, h);
    let mut p = page(0..0, None, true);
    p.conversations.push(rich());
    started_with(&mut s, p);
    assert!(s.detail.view.is_some(), "the row's turns are laid out at once");
    s
}

fn texts(s: &State) -> Vec<String> {
    s.detail.view.as_ref().unwrap().lines.iter().map(|l| l.text()).collect()
}

fn has(s: &State, needle: &str) -> bool {
    texts(s).iter().any(|l| l.contains(needle))
}

fn note(s: &State) -> String {
    s.status.note.clone().unwrap_or_default()
}

#[test]
fn header_and_turn_details_120x40() {
    let mut s = showing(120, 40);
    update(&mut s, code(KeyCode::Tab));
    assert_snapshot!("call_details_120x40", render(&s));
    // The rest of the transcript, turn 3 (with the handoff and the safety filter) at the top.
    update(&mut s, key('L'));
    assert_snapshot!("call_details_120x40_slowest_turn", render(&s));
}

#[test]
fn asr_details_and_topics_120x40() {
    let mut s = showing(120, 40);
    update(&mut s, key('I'));
    update(&mut s, key(')'));
    update(&mut s, key(')'));
    assert_eq!(turn_at_top(&s), Some(1));
    assert_snapshot!("call_details_120x40_asr", render(&s));
}

#[test]
fn header_and_turn_details_80x24() {
    let mut s = showing(80, 24);
    update(&mut s, code(KeyCode::Tab));
    assert_snapshot!("call_details_80x24", render(&s));
    update(&mut s, key('I'));
    update(&mut s, key('.'));
    update(&mut s, key('.'));
    assert_eq!(turn_at_top(&s), Some(2), "the second caller turn");
    assert_snapshot!("call_details_80x24_asr_turn_3", render(&s));
    update(&mut s, key('.'));
    assert_snapshot!("call_details_80x24_turn_4", render(&s));
}

#[test]
fn the_header_says_what_reviewers_need() {
    let s = showing(120, 40);
    let t = texts(&s);
    let line = |key: &str| {
        t.iter()
            .find(|l| l.starts_with(key))
            .unwrap_or_else(|| panic!("no {key} line in {t:#?}"))
            .clone()
    };
    assert!(line("channel").contains("VOICE-SIP · live · inbound · en-GB"));
    assert!(
        line("polyscore").ends_with("4.5/5"),
        "a November 2026 call is on the 1–5 scale"
    );
    assert!(line("tags").ends_with("vip · refund␛"), "sanitized: {}", line("tags"));
    assert!(
        line("summary").ends_with("Table booking"),
        "the heading on its own line"
    );
    let studio = line("studio");
    assert!(
        studio.contains("note: Customer wants a call back on Monday"),
        "{studio}"
    );
    assert!(line("unread").contains(r#"metrics = {"CSAT":{"score":[1,2]}}"#));
    // The content wraps under the heading, not under the key.
    let at = t.iter().position(|l| l.starts_with("summary")).unwrap();
    assert!(t[at + 1].starts_with("          Caller booked a table"), "{t:#?}");
}

#[test]
fn an_old_score_is_out_of_ten_and_empty_fields_take_no_space() {
    let mut c = rich();
    c.started_at = Some(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 3, 2, 9, 0, 0).unwrap());
    c.poly_score = Some(7.0);
    let mut s = state(120, 40);
    let mut p = page(0..0, None, true);
    p.conversations.push(c.clone());
    started_with(&mut s, p);
    assert!(has(&s, "7/10"));
    let plain = {
        let mut c = c;
        c.poly_score = None;
        c.tags.clear();
        c.note.clear();
        c.short_summary.clear();
        c.direction.clear();
        c.language.clear();
        c.odd_fields.clear();
        c
    };
    let mut s = state(120, 40);
    let mut p = page(0..0, None, true);
    p.conversations.push(plain);
    started_with(&mut s, p);
    for key in ["polyscore", "tags", "summary", "studio", "unread"] {
        assert!(!texts(&s).iter().any(|l| l.starts_with(key)), "{key} without a value");
    }
    assert!(
        texts(&s)
            .iter()
            .any(|l| l.starts_with("channel") && l.trim_end().ends_with("VOICE-SIP · live"))
    );
}

#[test]
fn function_calls_show_by_default_and_toggle_with_confirmation() {
    let mut s = showing(120, 40);
    assert!(has(&s, "ƒ check_availability(party_size=4) 320 ms"));
    assert!(has(&s, "↪ handoff billing_question (warm)"));
    assert!(has(&s, "state +booking_ref=\"BK-1042\" · ~party_size=4"));
    assert!(has(&s, "⚠ safety: azure_content_safety"));
    update(&mut s, key('T'));
    assert_eq!(note(&s), "function calls hidden");
    assert!(!has(&s, "ƒ check_availability"));
    assert!(has(&s, "ƒ 1 call"), "a hidden call leaves a trace on its turn's notes");
    assert!(has(&s, "⚠ safety"), "safety stays visible");
    update(&mut s, key('T'));
    assert_eq!(note(&s), "function calls shown");
    assert!(has(&s, "ƒ check_availability"));
}

#[test]
fn asr_details_are_hidden_at_first_and_toggle_with_confirmation() {
    let mut s = showing(120, 40);
    assert!(!has(&s, "✎ corrected") && !has(&s, "n-best") && !has(&s, "topics:"));
    assert!(has(&s, "✎ asr"), "the hidden correction leaves a trace");
    update(&mut s, key('I'));
    assert_eq!(note(&s), "ASR corrections, n-best and topics shown");
    assert!(has(&s, "✎ corrected: Seven tonight if possible"));
    assert!(has(&s, "≈ n-best 2. seven tonight if possible"));
    assert!(has(&s, "3. Kevin tonight"));
    assert!(
        !has(&s, "1. heaven"),
        "the hypothesis the transcript shows is not repeated"
    );
    assert!(has(&s, "topics: table_booking, parking"));
    update(&mut s, key('I'));
    assert_eq!(note(&s), "ASR corrections, n-best and topics hidden");
    assert!(!has(&s, "✎ corrected"));
}

#[test]
fn intents_and_translation_toggles_confirm_themselves() {
    let mut s = showing(120, 40);
    update(&mut s, key('i'));
    assert_eq!(note(&s), "intents and entities hidden");
    update(&mut s, key('i'));
    assert_eq!(note(&s), "intents and entities shown");
    update(&mut s, key('t'));
    assert_eq!(note(&s), "translations shown");
}

#[test]
fn a_toggle_keeps_the_current_turn_at_the_top() {
    let mut s = showing(120, 40);
    update(&mut s, key('L'));
    assert_eq!(turn_at_top(&s), Some(3));
    // Turns 1 and 2 gain ASR lines above turn 3.
    update(&mut s, key('I'));
    assert_eq!(turn_at_top(&s), Some(3));
    assert_eq!(s.detail.scroll, s.detail.view.as_ref().unwrap().turn_starts[3]);
    update(&mut s, key('T'));
    assert_eq!(s.detail.scroll, s.detail.view.as_ref().unwrap().turn_starts[3]);
    // With the details at the top, a toggle leaves them there.
    update(&mut s, key('g'));
    update(&mut s, key('I'));
    assert_eq!(s.detail.scroll, 0);
}

#[test]
fn turn_keys_move_turn_by_turn_from_the_list() {
    let mut s = showing(120, 40);
    assert_eq!(s.focus, Pane::List);
    update(&mut s, key(')'));
    assert_eq!(s.focus, Pane::Detail, "a turn key focuses the transcript");
    assert_eq!(turn_at_top(&s), Some(0));
    let starts = s.detail.view.as_ref().unwrap().turn_starts.clone();
    assert_eq!(s.detail.scroll, starts[0]);
    update(&mut s, key(')'));
    assert_eq!(s.detail.scroll, starts[1]);
    update(&mut s, key('('));
    assert_eq!(s.detail.scroll, starts[0]);
    update(&mut s, key('('));
    assert_eq!(note(&s), "first turn");
    // The first caller turn is one key away from the top of the details.
    update(&mut s, key('g'));
    update(&mut s, key('.'));
    assert_eq!(s.detail.scroll, starts[1]);
    update(&mut s, key('.'));
    update(&mut s, key('.'));
    assert_eq!(s.detail.scroll, starts[3]);
    update(&mut s, key('.'));
    assert_eq!(note(&s), "no later turn where the caller speaks");
    assert_eq!(s.detail.scroll, starts[3], "nowhere to go: it stays");
    update(&mut s, key(','));
    assert_eq!(s.detail.scroll, starts[2]);
    update(&mut s, key(')'));
    update(&mut s, key(')'));
    assert_eq!(note(&s), "last turn");
    // Scrolled into a turn, `(` goes back to its start.
    update(&mut s, key('('));
    update(&mut s, key('j'));
    assert_eq!(s.detail.scroll, starts[2] + 1);
    update(&mut s, key('('));
    assert_eq!(s.detail.scroll, starts[2]);
}

#[test]
fn slowest_turn_then_the_next_slowest() {
    let mut s = showing(120, 40);
    update(&mut s, key('L'));
    assert_eq!(turn_at_top(&s), Some(3));
    assert_eq!(note(&s), "turn 4: 2.80s, the slowest of 3 · L again: next slowest");
    update(&mut s, key('L'));
    assert_eq!(turn_at_top(&s), Some(2));
    assert_eq!(note(&s), "turn 3: 1.35s, 2nd slowest of 3 · L again: next slowest");
    update(&mut s, key('L'));
    update(&mut s, key('L'));
    assert_eq!(turn_at_top(&s), Some(3), "round to the slowest");
}

#[test]
fn rating_the_third_turn_takes_four_keys() {
    let mut s = showing(120, 40);
    for k in [')', ')', ')'] {
        update(&mut s, key(k));
    }
    update(&mut s, key('b'));
    match &s.overlay {
        callscope::app::state::Overlay::RatePicker { target, .. } => assert_eq!(target.turn, 2),
        other => panic!("no rating picker: {other:?}"),
    }
}

#[test]
fn turn_keys_without_a_transcript_say_so() {
    let mut s = state(120, 40);
    started_with(&mut s, page(0..3, None, false));
    update(&mut s, key(')'));
    assert_eq!(note(&s), "no transcript loaded");
    assert_eq!(s.focus, Pane::List);
}

#[test]
fn the_current_turn_is_marked_along_its_lines() {
    let mut s = showing(120, 40);
    update(&mut s, key(')'));
    update(&mut s, key(')'));
    let screen = render(&s);
    assert!(screen.contains("turn 2/4"), "{screen}");
    let marked: Vec<&str> = screen.lines().filter(|l| l.contains("▸") || l.contains("▕")).collect();
    // Turn 1: the caller's line, its notes, the function call, the agent's line.
    assert_eq!(marked.len(), 4, "{screen}");
    assert!(marked[0].contains("▸00:06"), "{screen}");
}

fn buffer(s: &State, theme: &Theme) -> Buffer {
    let mut term = Terminal::new(TestBackend::new(s.width, s.height)).unwrap();
    term.draw(|f| callscope::ui::draw(f, s, theme)).unwrap();
    term.backend().buffer().clone()
}

/// The foreground of the first cell of the first place `text` is drawn (single-width text).
fn colour_of(buf: &Buffer, text: &str) -> ratatui::style::Color {
    let area = buf.area;
    let want: Vec<String> = text.chars().map(String::from).collect();
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right() {
            let hit = want.iter().enumerate().all(|(i, c)| {
                let x = x + i as u16;
                x < area.right() && buf[(x, y)].symbol() == c
            });
            if hit {
                return buf[(x, y)].fg;
            }
        }
    }
    panic!("{text} is not on screen");
}

#[test]
fn safety_calls_and_score_take_the_theme_colours_light_and_dark() {
    let mut s = showing(120, 40);
    update(&mut s, key('L'));
    for mode in [Mode::Light, Mode::Dark] {
        let theme = Theme::for_mode(mode);
        let buf = buffer(&s, &theme);
        assert_eq!(colour_of(&buf, "⚠"), theme.warn, "{mode:?} safety");
        assert_eq!(colour_of(&buf, "ƒ"), theme.accent, "{mode:?} function call");
        assert_eq!(colour_of(&buf, "↪"), theme.accent, "{mode:?} handoff");
    }
    let mut s = showing(120, 40);
    update(&mut s, key('I'));
    for mode in [Mode::Light, Mode::Dark] {
        let theme = Theme::for_mode(mode);
        let buf = buffer(&s, &theme);
        assert_eq!(colour_of(&buf, "✎"), theme.translation, "{mode:?} ASR");
        // 4.5/5 is a good score.
        assert_eq!(colour_of(&buf, "4.5/5"), theme.latency_ok, "{mode:?} polyscore");
    }
}
