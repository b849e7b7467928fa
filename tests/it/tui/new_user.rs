//! A new user's findings (issue 12), headless through `update`: a view's environment ends with
//! the view, playback stops when the call changes, and `user:`/`agent:` searches stay in their
//! speaker's words.

use crate::support::tui as tui_support;

use std::time::Duration;

use callscope::app::state::ChannelFilter;
use callscope::app::{Effect, IoEffect, Msg, Pane, State, update};
use callscope::audio::{AudioCommand, AudioEvent, PlaybackState};
use callscope::domain::Filter;
use crossterm::event::KeyCode;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tui_support::*;

fn fetch_envs(fx: &[Effect]) -> Vec<String> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Io(IoEffect::FetchPage { query, .. }) => query.client_env.clone(),
            _ => None,
        })
        .collect()
}

fn header(s: &State) -> String {
    render(s).lines().next().unwrap_or_default().to_string()
}

fn with_views(toml_text: &str) -> State {
    let mut s = state(140, 40);
    let table: toml::Table = toml::from_str(toml_text).unwrap();
    s.views = Filter::views(&table).unwrap().into_iter().collect();
    started_with(&mut s, page(0..12, None, true));
    s
}

#[test]
fn leaving_a_view_gives_back_the_environment_and_channel_it_changed() {
    let mut s = with_views(
        r#"
        sandbox = "env:sandbox handoff"
        voice = "voice"
        "#,
    );
    assert_eq!(s.client_env, "live");
    update(&mut s, key('c')); // channel: voice
    assert_eq!(s.channel, ChannelFilter::Voice);
    update(&mut s, key('v'));
    let fx = update(&mut s, key('2'));
    assert_eq!(fetch_envs(&fx), ["sandbox"]);
    assert!(header(&s).contains("sandbox"), "{}", header(&s));
    // `v` → no filter: the environment before the view is back, in the header and the query.
    update(&mut s, key('v'));
    let fx = update(&mut s, key('1'));
    assert_eq!(s.client_env, "live");
    assert_eq!(fetch_envs(&fx), ["live"], "the next list is not the view's environment");
    assert!(!header(&s).contains("sandbox"), "{}", header(&s));
    assert_eq!(s.channel, ChannelFilter::Voice, "the view left the channel alone");

    // A view with channels resets `c`; another view puts it back before applying its own.
    update(&mut s, key('v'));
    update(&mut s, key('3'));
    assert_eq!(s.channel, ChannelFilter::All);
    update(&mut s, key('v'));
    let fx = update(&mut s, key('2'));
    assert_eq!(s.channel, ChannelFilter::Voice);
    assert_eq!(fetch_envs(&fx), ["sandbox"]);
    // Leaving through `:` (an edited filter is no longer the view) restores it too.
    update(&mut s, key(':'));
    for c in " unreviewed".chars() {
        update(&mut s, key(c));
    }
    let fx = update(&mut s, code(KeyCode::Enter));
    assert!(s.view_name.is_none());
    assert_eq!(fetch_envs(&fx), ["live"]);
}

#[test]
fn an_environment_chosen_with_e_inside_a_view_is_kept_when_leaving_it() {
    let mut s = with_views(r#"sandbox = "env:sandbox""#);
    update(&mut s, key('v'));
    update(&mut s, key('2'));
    update(&mut s, key('e')); // sandbox → the next environment, chosen by hand
    let chosen = s.client_env.clone();
    assert_ne!(chosen, "sandbox");
    update(&mut s, key('v'));
    update(&mut s, key('1'));
    assert_eq!(s.client_env, chosen);
}

// ---- playback follows the selected call ----

fn audio(fx: &[Effect]) -> Vec<AudioCommand> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Audio(c) => Some(c.clone()),
            _ => None,
        })
        .collect()
}

/// Row 1 (a finished voice call) playing, as the engine reports it.
fn playing_row_1() -> State {
    let mut s = state(140, 40);
    started_with(&mut s, page(0..12, None, true));
    update(&mut s, key('j'));
    let fx = update(&mut s, key(' '));
    assert!(matches!(audio(&fx)[..], [AudioCommand::Play { .. }]), "{fx:?}");
    for ev in [
        AudioEvent::Format {
            channels: 1,
            sample_rate: 8000,
            bits_per_sample: 16,
            duration: Duration::from_secs(40),
            envelope_len: 400,
        },
        AudioEvent::State(PlaybackState::Playing),
        AudioEvent::Position {
            position: Duration::from_secs(12),
            duration: None,
        },
    ] {
        assert!(audio(&update(&mut s, Msg::Audio(ev))).is_empty());
    }
    assert!(player_line(&s).contains("playing"), "{}", player_line(&s));
    s
}

fn player_line(s: &State) -> String {
    let p = s.panes().player;
    render(s).lines().nth(p.y as usize).unwrap_or_default().to_string()
}

fn status_text(s: &State) -> String {
    render(s).lines().rev().take(3).collect::<Vec<_>>().join("\n")
}

fn assert_stopped_by(mut s: State, what: &str, keys: &[Msg]) {
    let playing = conv(1, false).id;
    let mut fx = Vec::new();
    for k in keys {
        fx.extend(update(&mut s, k.clone()));
    }
    assert_ne!(
        s.list.selected().map(|r| r.id.to_string()),
        Some(playing.clone()),
        "{what}"
    );
    assert_eq!(audio(&fx), [AudioCommand::Stop], "{what}: the old stream stops");
    assert_eq!(s.player.playing_id(), None, "{what}");
    assert!(
        status_text(&s).contains(&format!("stopped {}", &playing[..15])),
        "{what}: {}",
        status_text(&s)
    );
    assert!(!player_line(&s).contains("playing"), "{what}: {}", player_line(&s));
    // The engine's last words about the old stream change nothing.
    let fx = update(
        &mut s,
        Msg::Audio(AudioEvent::Position {
            position: Duration::from_secs(13),
            duration: None,
        }),
    );
    assert!(audio(&fx).is_empty());
    update(&mut s, Msg::Audio(AudioEvent::State(PlaybackState::Idle)));
    assert!(!render(&s).contains('▌'), "{what}: no spoken turn on another call");
}

#[test]
fn every_way_of_changing_call_stops_the_old_stream_and_says_so() {
    assert_stopped_by(playing_row_1(), "j in the list", &[key('j')]);
    assert_stopped_by(playing_row_1(), "u to the next unreviewed", &[key('u')]);
    assert_stopped_by(playing_row_1(), "G to the bottom", &[key('G')]);
    // With the transcript focused j scrolls it; the list moves with tab then j.
    let mut s = playing_row_1();
    update(&mut s, code(KeyCode::Tab));
    assert_eq!(s.focus, Pane::Detail);
    assert!(audio(&update(&mut s, key('j'))).is_empty(), "scrolling the same call");
    assert_eq!(s.player.playing_id(), Some(conv(1, false).id.as_str()));
    assert_stopped_by(s, "tab j", &[code(KeyCode::Tab), key('j')]);
    // A new window, order or environment is another list: what played is not on it yet.
    assert_stopped_by(playing_row_1(), "e (another environment)", &[key('e')]);
    assert_stopped_by(playing_row_1(), "o (another order)", &[key('o')]);
}

#[test]
fn staying_on_the_call_keeps_it_playing() {
    let mut s = playing_row_1();
    for k in [
        key('i'),
        key('t'),
        code(KeyCode::Tab),
        key('j'),
        key('k'),
        code(KeyCode::Tab),
    ] {
        assert!(audio(&update(&mut s, k)).is_empty());
    }
    assert_eq!(s.player.state, PlaybackState::Playing);
    assert!(
        player_line(&s).contains(&conv(1, false).id[..11]),
        "{}",
        player_line(&s)
    );
}

// ---- scoped search ----

/// Lines with a highlighted match: cells whose background is the theme's match colour.
fn highlighted_rows(s: &State) -> Vec<String> {
    let mut term = Terminal::new(TestBackend::new(s.width, s.height)).unwrap();
    let theme = callscope::ui::Theme::default();
    term.draw(|f| callscope::ui::draw(f, s, &theme)).unwrap();
    let buf = term.backend().buffer();
    let mut rows = Vec::new();
    for y in 0..buf.area.height {
        let lit: String = (0..buf.area.width)
            .filter(|&x| buf[(x, y)].bg == theme.matched)
            .map(|x| buf[(x, y)].symbol().to_string())
            .collect();
        if !lit.is_empty() {
            rows.push(lit);
        }
    }
    rows
}

/// Conversation 2 open in the transcript: its turn 3 has the caller's "Seven tonight if
/// possible" and the agent's "… for seven o'clock this evening".
fn on_conv_2() -> State {
    let mut s = state(140, 60);
    started_with(&mut s, page(0..12, None, true));
    update(&mut s, key('j'));
    update(&mut s, key('j'));
    update(&mut s, code(KeyCode::Tab));
    s
}

fn search(s: &mut State, text: &str) {
    update(s, key('/'));
    for c in text.chars() {
        update(s, key(c));
    }
    update(s, code(KeyCode::Enter));
}

#[test]
fn a_scoped_transcript_search_counts_and_lights_only_that_speakers_words() {
    let mut s = on_conv_2();
    search(&mut s, "seven");
    assert_eq!(s.detail.matches.len(), 2, "both speakers say seven");
    let mut s = on_conv_2();
    search(&mut s, "user: seven");
    assert_eq!(s.detail.matches.len(), 1);
    let lit = highlighted_rows(&s);
    assert_eq!(lit, ["Seven"], "only the caller's word lights up");
    let line = &s.detail.view.as_ref().unwrap().lines[s.detail.matches[0]];
    assert!(line.text().contains("Seven tonight"), "{}", line.text());
    assert!(render(&s).contains("/user: seven 1/1"), "{}", render(&s));
    let mut s = on_conv_2();
    search(&mut s, "agent: seven");
    assert_eq!(s.detail.matches.len(), 1);
    assert_eq!(highlighted_rows(&s), ["seven"]);
    // Metadata is nobody's words: found unscoped, not under a scope.
    let mut s = on_conv_2();
    search(&mut s, "billing-queue");
    assert_eq!(s.detail.matches.len(), 1, "the handoff line");
    let mut s = on_conv_2();
    search(&mut s, "user: billing-queue");
    assert!(s.detail.matches.is_empty());
    assert!(highlighted_rows(&s).is_empty());
    // `/` again shows the scope as typed.
    update(&mut s, key('/'));
    assert_eq!(s.input.as_ref().unwrap().text, "user: billing-queue");
}

#[test]
fn a_scoped_list_search_opens_results_on_that_speakers_hits_only() {
    let mut s = state(140, 60);
    started_with(&mut s, page(0..12, None, true));
    update(&mut s, key('/'));
    for c in "user: seven".chars() {
        update(&mut s, key(c));
    }
    let fx = update(&mut s, code(KeyCode::Enter));
    let req = fx
        .iter()
        .find_map(|e| match e {
            Effect::Io(IoEffect::FetchPage { req, query, .. }) => {
                let q = query.search.as_ref().expect("a transcript search");
                assert_eq!((q.query.as_str(), q.turn_type.as_deref()), ("seven", Some("user")));
                Some(*req)
            }
            _ => None,
        })
        .expect("the server is asked");
    answer_slices(&mut s, req, page(2..3, None, true));
    assert_eq!(s.list.selected().map(|r| r.id.to_string()), Some(conv(2, true).id));
    assert_eq!(s.detail.matches.len(), 1, "the agent's seven o'clock is not a hit");
    assert_eq!(highlighted_rows(&s), ["Seven"]);
}

// ---- resize ----

#[test]
fn growing_the_window_fills_the_list_at_once() {
    let mut s = state(120, 16);
    let fx = started_with(&mut s, page(0..30, Some("older"), true));
    let rows = s.panes().list_rows();
    assert!(rows < 30, "a short window holds fewer rows than loaded");
    let asked = page_reqs(&fx).len();
    let fx = update(&mut s, Msg::Resize(120, 60));
    let rows = s.panes().list_rows();
    assert!(rows > 30);
    let reqs = page_reqs(&fx);
    assert_eq!(
        reqs.len(),
        1,
        "the taller list asks for what it lacks ({asked} before): {fx:?}"
    );
    assert!(render(&s).contains("loading more…"), "{}", render(&s));
    answer_slices(&mut s, reqs[0], page(30..80, None, true));
    let screen = render(&s);
    let list_lines = screen.lines().filter(|l| l.contains("☎") || l.contains("✉")).count();
    assert_eq!(list_lines, rows, "every list line holds a row:\n{screen}");
}

#[test]
fn growing_the_window_at_the_end_of_the_list_shows_the_rows_above() {
    let mut s = state(120, 60);
    started_with(&mut s, page(0..40, None, true));
    update(&mut s, Msg::Resize(120, 16));
    update(&mut s, key('G'));
    assert!(s.list.offset > 0);
    update(&mut s, Msg::Resize(120, 40));
    let rows = s.panes().list_rows();
    assert_eq!(s.list.offset, 40 - rows, "no blank lines below the last row");
    assert_eq!(s.list.sel, 39);
}

#[test]
fn a_resized_transcript_keeps_the_turn_at_its_top() {
    let mut s = state(140, 30);
    started_with(&mut s, page(0..12, None, true));
    for _ in 0..4 {
        update(&mut s, key('j'));
    }
    update(&mut s, code(KeyCode::Tab));
    for _ in 0..4 {
        update(&mut s, key(')'));
    }
    let turn = callscope::app::player::turn_at_top(&s).unwrap();
    assert!(turn >= 3, "turn {turn}");
    for (w, h) in [(100, 30), (70, 24), (160, 45), (140, 30)] {
        update(&mut s, Msg::Resize(w, h));
        assert_eq!(
            callscope::app::player::turn_at_top(&s),
            Some(turn),
            "at {w}x{h}: {}",
            render(&s)
        );
    }
}

// ---- jumps look past the loaded rows ----

use callscope::app::review::StoreRequest;
use callscope::domain::Marks;

/// Answers the effects as the runner and the store worker would: list pages from `pages`
/// (then empty: the window ends), marks with a flag on the conversations in `flagged`.
/// Returns how many pages and marks requests were answered.
fn serve(
    s: &mut State,
    fx: Vec<Effect>,
    pages: &mut Vec<callscope::api::ConversationPage>,
    flagged: &[usize],
) -> (usize, usize) {
    let (mut n_pages, mut n_marks) = (0, 0);
    let mut queue = fx;
    while !queue.is_empty() {
        let mut next = Vec::new();
        for e in queue {
            match e {
                Effect::Io(IoEffect::FetchPage { req, .. }) => {
                    n_pages += 1;
                    let p = if pages.is_empty() {
                        page(0..0, None, true)
                    } else {
                        pages.remove(0)
                    };
                    next.extend(answer_slices(s, req, p));
                }
                Effect::Io(IoEffect::Store(StoreRequest::LoadMarks { origin, ids })) => {
                    n_marks += 1;
                    let marks = ids
                        .into_iter()
                        .map(|id| {
                            let mut m = Marks::default();
                            if flagged.iter().any(|&i| conv(i, true).id == id) {
                                m.flags.insert("latency".into());
                            }
                            (id, m)
                        })
                        .collect();
                    next.extend(update(s, Msg::Marks { origin, marks }));
                }
                _ => {}
            }
        }
        queue = next;
    }
    (n_pages, n_marks)
}

#[test]
fn a_flagged_jump_loads_further_pages_until_it_finds_one() {
    let mut s = state(120, 20);
    let fx = started_with(&mut s, page(0..30, Some("older"), true));
    let mut pages = vec![page(30..60, Some("older"), true), page(60..90, None, true)];
    serve(&mut s, fx, &mut Vec::new(), &[]); // the first screen's marks: nothing flagged
    assert_eq!(s.list.visible_len(), 30);
    let fx = update(&mut s, key('\''));
    assert_eq!(s.list.sel, 0, "nothing loaded is flagged yet");
    let screen = render(&s);
    assert!(screen.contains("searching for the next flagged call"), "{screen}");
    // Input goes on meanwhile: help opens and closes.
    update(&mut s, key('?'));
    update(&mut s, code(KeyCode::Esc));
    assert!(s.list.seek.is_some(), "esc closing help does not stop the search");
    let (n_pages, n_marks) = serve(&mut s, fx, &mut pages, &[71]);
    assert!(
        n_pages >= 2 && n_marks >= 2,
        "{n_pages} pages, {n_marks} marks requests"
    );
    assert_eq!(s.list.selected().map(|r| r.id.to_string()), Some(conv(71, true).id));
    assert!(s.list.seek.is_none());
    assert!(!render(&s).contains("searching"));
}

#[test]
fn a_jump_that_finds_nothing_says_so_for_the_whole_window() {
    let mut s = state(120, 20);
    let fx = started_with(&mut s, page(0..30, Some("older"), true));
    serve(&mut s, fx, &mut Vec::new(), &[]);
    let fx = update(&mut s, key('\''));
    serve(&mut s, fx, &mut vec![page(30..60, None, true)], &[]);
    assert_eq!(s.list.sel, 0);
    assert_eq!(s.status.note.as_deref(), Some("no flagged calls in this window"));
    assert_eq!(s.list.visible_len(), 60, "it walked the window");
    // `'` again knows the window and needs nothing new.
    let fx = update(&mut s, key('\''));
    assert_eq!(serve(&mut s, fx, &mut Vec::new(), &[]).0, 0);
    assert_eq!(s.status.note.as_deref(), Some("no flagged calls in this window"));
}

#[test]
fn esc_stops_a_jump_that_is_still_looking() {
    let mut s = state(120, 20);
    let fx = started_with(&mut s, page(0..30, Some("older"), true));
    serve(&mut s, fx, &mut Vec::new(), &[]);
    let fx = update(&mut s, key('u')); // conversation 1 is unreviewed: found at once
    assert_eq!(s.list.sel, 1);
    serve(&mut s, fx, &mut Vec::new(), &[]);
    let fx = update(&mut s, key('\''));
    assert!(s.list.seek.is_some());
    update(&mut s, code(KeyCode::Esc));
    assert!(s.list.seek.is_none());
    assert_eq!(
        s.status.note.as_deref(),
        Some("stopped looking for the next flagged call")
    );
    // The page it asked for arrives later and moves nothing.
    serve(&mut s, fx, &mut vec![page(30..60, None, true)], &[45]);
    assert_eq!(s.list.sel, 1);
    // Moving on also ends it.
    let fx = update(&mut s, key('\''));
    update(&mut s, key('j'));
    serve(&mut s, fx, &mut Vec::new(), &[45]);
    assert_eq!(s.list.sel, 2, "the jump gave way to j");
}

// ---- the reviewer's flow ----

use callscope::domain::ReviewStatus;

fn give_status(s: &mut State, statuses: &[(usize, ReviewStatus)]) {
    let marks = statuses
        .iter()
        .map(|&(i, status)| {
            (
                conv(i, true).id,
                Marks {
                    status,
                    ..Marks::default()
                },
            )
        })
        .collect();
    update(
        s,
        Msg::Marks {
            origin: callscope::domain::Origin::new("ws-demo", "PROJECT-demo", "live"),
            marks,
        },
    );
}

fn all_new_but(reviewed: &[usize]) -> Vec<(usize, ReviewStatus)> {
    (0..12)
        .map(|i| {
            let st = if reviewed.contains(&i) {
                ReviewStatus::Reviewed
            } else {
                ReviewStatus::New
            };
            (i, st)
        })
        .collect()
}

#[test]
fn advance_after_mark_goes_on_to_the_next_unreviewed_call() {
    let cfg = callscope::config::FileConfig::parse("[review]\nadvance_after_mark = true\n").unwrap();
    assert_eq!(cfg.review.advance_after_mark, Some(true));
    assert!(callscope::config::FileConfig::parse("[review]\nadvance = true\n").is_err());

    let mut s = state(140, 40);
    started_with(&mut s, page(0..12, None, true));
    give_status(&mut s, &all_new_but(&[1, 2]));
    // Off by default: R marks and stays.
    update(&mut s, key('R'));
    assert_eq!(s.list.sel, 0);
    update(&mut s, key('R')); // back to new
    s.review.advance_after_mark = true;
    update(&mut s, key('R'));
    assert_eq!(s.list.sel, 3, "1 and 2 are reviewed already");
    assert_eq!(s.status.note.as_deref(), Some("marked reviewed · next unreviewed"));
    // Unmarking does not move.
    update(&mut s, key('k'));
    update(&mut s, key('R'));
    assert_eq!(s.list.sel, 2, "R on a reviewed call marks it new and stays");
    assert_eq!(s.status.note.as_deref(), Some("marked new"));
}

fn list_title(s: &State) -> String {
    render(s).lines().nth(1).unwrap_or_default().to_string()
}

#[test]
fn the_list_title_counts_reviewed_calls_under_a_filter_or_view() {
    let mut s = state(160, 40);
    started_with(&mut s, page(0..12, None, true));
    give_status(&mut s, &all_new_but(&[1, 2]));
    assert!(
        !list_title(&s).contains("reviewed"),
        "no filter, no count: {}",
        list_title(&s)
    );
    // Voice calls: all but 3, 7 and 11.
    apply_filter(&mut s, "voice", page(0..12, None, true));
    assert_eq!(s.list.visible_len(), 9);
    assert!(
        list_title(&s).contains("reviewed 0/9…"),
        "marks still coming: {}",
        list_title(&s)
    );
    let fx = update(&mut s, Msg::Tick(now()));
    assert!(fx.is_empty());
    give_status(&mut s, &all_new_but(&[1, 2, 5]));
    assert!(list_title(&s).contains("reviewed 3/9 "), "{}", list_title(&s));
    update(&mut s, key('R'));
    assert!(list_title(&s).contains("reviewed 4/9 "), "{}", list_title(&s));
}

fn hints_line(s: &State) -> String {
    render(s).lines().last().unwrap_or_default().to_string()
}

#[test]
fn the_hints_follow_what_has_the_keys() {
    let mut s = state(200, 40);
    started_with(&mut s, page(0..12, None, true));
    let list = hints_line(&s);
    assert!(
        list.contains("/ search") && list.contains(": filter") && list.contains("q quit"),
        "{list}"
    );
    assert!(!list.contains("rate turn"), "{list}");
    update(&mut s, code(KeyCode::Tab));
    let detail = hints_line(&s);
    assert!(
        detail.contains("b rate turn") && detail.contains(". caller turn"),
        "{detail}"
    );
    assert!(detail.contains("enter play from turn"), "{detail}");
    assert!(!detail.contains(": filter"), "{detail}");
    update(&mut s, code(KeyCode::Tab));
    update(&mut s, key('j'));
    update(&mut s, key(' '));
    update(&mut s, Msg::Audio(AudioEvent::State(PlaybackState::Playing)));
    let playing = hints_line(&s);
    assert!(playing.starts_with(" space pause · [/] seek · S stop"), "{playing}");
    update(&mut s, key('w'));
    let picker = hints_line(&s);
    assert!(
        picker.contains("enter choose") && picker.contains("esc close"),
        "{picker}"
    );
    assert!(!picker.contains("quit"), "{picker}");
}
