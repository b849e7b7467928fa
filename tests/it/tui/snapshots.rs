//! Whole screens rendered with `TestBackend` and compared as text (insta).

use crate::support::tui as tui_support;

use callscope::api::{ErrorKind, RetryNotice};
use callscope::app::{Effect, IoEffect, Msg, update};
use crossterm::event::KeyCode;
use insta::assert_snapshot;
use tui_support::*;

fn fetch_detail(s: &mut callscope::app::State, fx: Vec<Effect>) -> Option<(u64, String)> {
    // Fire the debounce timer, then return the fetch it asks for.
    for e in fx {
        if let Effect::Io(IoEffect::After { msg, .. }) = e
            && matches!(*msg, Msg::DetailDue { .. })
        {
            for e in update(s, *msg) {
                if let Effect::Io(IoEffect::FetchConversation { req, id }) = e {
                    return Some((req, id));
                }
            }
        }
    }
    None
}

#[test]
fn first_page() {
    let mut s = state(120, 40);
    started_with(&mut s, page(0..100, Some("c1"), true));
    assert_snapshot!("first_page_120x40", render(&s));
}

#[test]
fn paging_to_the_end() {
    let mut s = state(120, 40);
    started_with(&mut s, page(0..100, Some("c1"), true));
    // Walk down until the next page is requested, answer it with the last page.
    let mut req = None;
    for _ in 0..100 {
        let fx = update(&mut s, key('j'));
        if let Some(r) = page_reqs(&fx).first() {
            req = Some(*r);
            break;
        }
    }
    let req = req.expect("a page request when nearing the end");
    assert_snapshot!("paging_loading_more", render(&s));
    answer_slices(&mut s, req, page(100..130, None, true));
    // At the bottom the older slices are asked for; the window holds nothing more.
    let fx = update(&mut s, key('G'));
    drain_empty(&mut s, fx);
    assert_snapshot!("paging_end_of_results", render(&s));
}

#[test]
fn transcript_with_intents_and_latency() {
    let mut s = state(120, 40);
    started_with(&mut s, page(0..20, None, true));
    update(&mut s, key('j'));
    update(&mut s, key('j'));
    update(&mut s, code(KeyCode::Tab));
    assert_snapshot!("transcript_intents_latency", render(&s));
    update(&mut s, key('i'));
    update(&mut s, key('t'));
    assert_snapshot!("transcript_translation_no_intents", render(&s));
}

#[test]
fn transcript_search_highlights_and_counts() {
    let mut s = state(120, 40);
    started_with(&mut s, page(0..20, None, true));
    update(&mut s, code(KeyCode::Tab));
    update(&mut s, key('/'));
    for c in "table".chars() {
        update(&mut s, key(c));
    }
    update(&mut s, code(KeyCode::Enter));
    assert_snapshot!("transcript_search", render(&s));
}

#[test]
fn hidden_transcript_diagnosis() {
    let mut s = state(120, 40);
    let fx = started_with(&mut s, page(0..20, None, false));
    let (req, id) = fetch_detail(&mut s, fx).expect("rows without turns are fetched by id");
    let mut by_id = conv(0, false);
    by_id.id = id;
    update(&mut s, Msg::Conversation { req, result: Ok(by_id) });
    assert_snapshot!("hidden_transcript", render(&s));
}

#[test]
fn error_401() {
    let mut s = state(120, 40);
    let fx = callscope::app::start(&mut s);
    let req = page_reqs(&fx)[0];
    let e = api_error(
        401,
        r#"{"error_code":"UNAUTHORIZED","error_message":"bad key"}"#,
        "api.us-1.platform.polyai.app",
    );
    update(&mut s, Msg::Page { req, result: Err(e) });
    assert_snapshot!("error_401", render(&s));
}

#[test]
fn error_404_wrong_host_family() {
    let mut s = state(120, 40);
    let fx = callscope::app::start(&mut s);
    let req = page_reqs(&fx)[0];
    let e = api_error(404, "", "api.us.poly.ai");
    update(&mut s, Msg::Page { req, result: Err(e) });
    assert_snapshot!("error_404_wrong_host", render(&s));
}

#[test]
fn rate_limited_waiting() {
    let mut s = state(120, 40);
    let fx = started_with(&mut s, page(0..100, Some("c1"), true));
    assert!(page_reqs(&fx).is_empty());
    update(
        &mut s,
        Msg::Retrying(RetryNotice {
            attempt: 1,
            wait: std::time::Duration::from_secs(3),
            reason: ErrorKind::RateLimited,
            status: Some(429),
        }),
    );
    assert_snapshot!("rate_limited_waiting", render(&s));
}

#[test]
fn empty_first_page() {
    let mut s = state(120, 40);
    started_with(&mut s, page(0..0, None, true));
    assert_snapshot!("empty_first_page", render(&s));
}

#[test]
fn help_overlay() {
    let mut s = state(120, 40);
    started_with(&mut s, page(0..30, None, true));
    update(&mut s, key('?'));
    assert_snapshot!("help_overlay", render(&s));
}

/// At 80×24 the help page scrolls to its last line with `G`, back with `g`, and no
/// description is cut: every word of every action's description is on some line.
#[test]
fn help_scrolls_and_wraps_at_80x24() {
    let mut s = state(80, 24);
    started_with(&mut s, page(0..30, None, true));
    update(&mut s, key('?'));
    let top = render(&s);
    assert!(top.contains("move down  [down]"), "{top}");
    assert!(!top.contains('…'), "a help line was cut:\n{top}");
    update(&mut s, key('G'));
    let bottom = render(&s);
    assert!(bottom.contains("remap any action"), "{bottom}");
    assert_snapshot!("help_overlay_80x24_bottom", bottom);
    // At the bottom, `j` stays put: the page does not scroll past its last line.
    update(&mut s, key('j'));
    assert_eq!(render(&s), bottom);
    update(&mut s, key('g'));
    assert_eq!(render(&s), top);

    let all = callscope::app::help::lines(&s, 78).join(" ");
    let words: String = all.split_whitespace().collect::<Vec<_>>().join(" ");
    for (_, desc, name) in callscope::app::KeyMap::default().help_rows() {
        for w in desc.split_whitespace() {
            assert!(words.contains(w), "help lost {w:?} of {desc:?}");
        }
        assert!(words.contains(&format!("[{name}]")), "help lacks [{name}]");
    }
}

#[test]
fn window_picker() {
    let mut s = state(120, 40);
    started_with(&mut s, page(0..30, None, true));
    update(&mut s, key('w'));
    assert_snapshot!("window_picker", render(&s));
}

#[test]
fn narrow_80x24() {
    let mut s = state(80, 24);
    started_with(&mut s, page(0..100, Some("c1"), true));
    update(&mut s, key('j'));
    assert_snapshot!("narrow_80x24", render(&s));
}

#[test]
fn wide_200x50() {
    let mut s = state(200, 50);
    started_with(&mut s, page(0..100, Some("c1"), true));
    update(&mut s, key('j'));
    update(&mut s, key('j'));
    assert_snapshot!("wide_200x50", render(&s));
}

#[test]
fn hostile_text_is_neutralized_on_screen() {
    let mut s = state(100, 30);
    let mut p = page(0..3, None, true);
    p.conversations[0].turns[0].agent_response =
        "\u{1b}]52;c;cHduZWQ=\u{7}Hello \u{1b}[31mred\u{1b}[0m \u{202E}desrever\u{202C} tab\there".into();
    p.conversations[0].handoff = true;
    p.conversations[0].handoff_reason = "evil\u{1b}]0;title\u{7}".into();
    started_with(&mut s, p);
    let text = render(&s);
    assert!(!text.contains('\u{1b}'));
    assert!(!text.contains('\u{202E}'));
    assert_snapshot!("hostile_text", text);
}

#[test]
fn filter_input_on_the_status_line() {
    let mut s = state(100, 24);
    started_with(&mut s, page(0..30, None, true));
    update(&mut s, key(':'));
    for c in "voice handoff".chars() {
        update(&mut s, key(c));
    }
    assert_snapshot!("filter_input", render(&s));
}

#[test]
fn latency_is_coloured_by_threshold() {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    let mut s = state(120, 40);
    started_with(&mut s, page(0..5, None, true));
    update(&mut s, key('j'));
    for mode in ["dark", "light", "auto"] {
        let theme = callscope::ui::Theme::from_config(&toml::from_str(&format!("mode = \"{mode}\"")).unwrap()).unwrap();
        let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
        term.draw(|f| callscope::ui::draw(f, &s, &theme)).unwrap();
        let buf = term.backend().buffer();
        let fg_of = |needle: &str| {
            let text = callscope::ui::buffer_text(buf);
            let (y, line) = text
                .lines()
                .enumerate()
                .find(|(_, l)| l.contains(needle))
                .unwrap_or_else(|| panic!("{needle} on screen:\n{text}"));
            let col = line[..line.find(needle).unwrap()].chars().count() as u16;
            buf[(col, y as u16)].fg
        };
        // Conversation 1: turn 1 has 1.35s (warn), turn 2 has 2.80s (bad), turn 3 0.42s (ok).
        assert_eq!(fg_of("1.35s"), theme.latency_warn, "{mode}");
        assert_eq!(fg_of("2.80s"), theme.latency_bad, "{mode}");
        assert_eq!(fg_of("0.42s"), theme.latency_ok, "{mode}");
    }
}

#[test]
fn live_call_arrives_while_the_selection_stays_put() {
    use callscope::app::live::LiveEvent;
    let mut s = state(120, 40);
    started_with(&mut s, page(0..100, Some("c1"), true));
    update(&mut s, Msg::Live(LiveEvent::Receiver { up: true }));
    for _ in 0..3 {
        update(&mut s, key('j'));
    }
    assert_snapshot!("live_before", render(&s));
    let mut c = conv(300, true);
    c.id = "CAlive00010000000000000000000000000".into();
    c.started_at = Some(now() - chrono::Duration::minutes(1));
    let fx = update(
        &mut s,
        Msg::Live(LiveEvent::Completed {
            id: c.id.clone(),
            environment: "live".into(),
        }),
    );
    let req = fx
        .iter()
        .find_map(|e| match e {
            Effect::Io(IoEffect::FetchLive { req, .. }) => Some(*req),
            _ => None,
        })
        .expect("the event fetches the call");
    update(&mut s, Msg::LiveConversation { req, result: Ok(c) });
    // Same conversation on the same line; "1 new" in the header, the new row above the view.
    assert_snapshot!("live_new_call_above_the_selection", render(&s));
    update(&mut s, key('g'));
    assert_snapshot!("live_after_g", render(&s));
}
