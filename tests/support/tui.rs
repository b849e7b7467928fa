//! Shared by the TUI tests: deterministic conversations, a pinned clock and timezone,
//! and helpers to drive `update` and render to text.
#![allow(dead_code)]

use callscope::api::{ApiError, Conversation, ConversationPage, Entity, HostFamily, Turn};
use callscope::app::paging::Order;
use callscope::app::{Effect, Identity, IoEffect, KeyMap, Msg, State, start, update};
use chrono::{DateTime, Duration, FixedOffset, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap()
}

/// UTC+1, so snapshots prove the offset is applied and never depend on the machine.
pub fn tz() -> FixedOffset {
    FixedOffset::east_opt(3600).unwrap()
}

/// The store origin of `state`'s account, project and environment: the stand-in's demo
/// project in `live`.
pub fn origin() -> callscope::domain::Origin {
    callscope::domain::Origin::new("ws-demo", "PROJECT-demo", "live")
}

pub fn state(w: u16, h: u16) -> State {
    State::new(
        KeyMap::default(),
        Identity {
            account: "ws-demo".into(),
            project: "PROJECT-demo".into(),
            region: "us".into(),
        },
        "live",
        now(),
        tz(),
        (w, h),
    )
}

/// A state as a fresh start against a real server sees it: no identity yet, `live`, the real
/// clock in UTC, 120×40.
pub fn live_state() -> State {
    State::new(
        KeyMap::default(),
        Identity::default(),
        "live",
        Utc::now(),
        FixedOffset::east_opt(0).unwrap(),
        (120, 40),
    )
}

/// Selects the row `id` (from the top, moving down); fails the test when it is not listed.
pub fn select_id(s: &mut State, id: &str) {
    update(s, code(KeyCode::Home));
    for _ in 0..s.list.visible_len() {
        if s.list.selected().is_some_and(|r| &*r.id == id) {
            return;
        }
        update(s, key('j'));
    }
    panic!("{id} is not in the list");
}

/// Performs the store requests in `fx` (and those their answers cause) on `store`, the way the
/// store worker would; returns the other effects.
pub fn run_store(s: &mut State, store: &mut callscope::store::Store, fx: Vec<Effect>) -> Vec<Effect> {
    let mut queue = fx;
    let mut rest = Vec::new();
    while !queue.is_empty() {
        let mut next = Vec::new();
        for e in queue {
            match e {
                Effect::Io(IoEffect::Store(req)) => {
                    if let Some(msg) = callscope::tui::store_worker::handle(store, req) {
                        next.extend(update(s, msg));
                    }
                }
                other => rest.push(other),
            }
        }
        queue = next;
    }
    rest
}

const USER: [&str; 4] = [
    "I'd like to book a table for four",
    "Seven tonight if possible",
    "Can I pay my bill over the phone?",
    "Actually, make that 東京 style sushi 🍣 for five",
];
const AGENT: [&str; 4] = [
    "Sure — what time would suit you?",
    "Let me check availability for seven o'clock this evening.",
    "I'll transfer you to billing, one moment please.",
    "Of course. Anything else I can help with?",
];

/// Conversation `i`: starts `i * 7` minutes before `now`, voice unless `i % 4 == 3`.
pub fn conv(i: usize, with_turns: bool) -> Conversation {
    let start = now() - Duration::minutes(5 + 7 * i as i64);
    let n = 3 + i % 5;
    let turns: Vec<Turn> = (0..n)
        .map(|t| {
            let at = start + Duration::seconds(1 + 9 * t as i64);
            Turn {
                user_input: if t == 0 {
                    String::new()
                } else {
                    USER[(i + t) % 4].into()
                },
                user_input_datetime: (t > 0).then_some(at),
                agent_response: if t == 0 {
                    "Hi, thanks for calling Bella's, how can I help?".into()
                } else {
                    AGENT[(i + t) % 4].into()
                },
                agent_response_datetime: Some(at + Duration::seconds(3)),
                latency: (t > 0).then_some([0.42, 1.35, 2.8][(i + t) % 3]),
                intents: if t == 1 { vec!["book_table".into()] } else { vec![] },
                entities: if t == 1 {
                    vec![Entity {
                        name: "party_size".into(),
                        values: vec!["4".into()],
                    }]
                } else {
                    vec![]
                },
                is_ood: t == 3,
                translated_user_input: if t == 2 {
                    "Siete esta noche".into()
                } else {
                    String::new()
                },
                ..Turn::default()
            }
        })
        .collect();
    Conversation {
        id: format!("CA{:04x}e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6", i),
        account_id: "ws-demo".into(),
        project_id: "PROJECT-demo".into(),
        environment: "live".into(),
        started_at: Some(start),
        channel: if i % 4 == 3 {
            "WEBCHAT".into()
        } else {
            "VOICE-SIP".into()
        },
        from_number: "+14155550100".into(),
        to_number: "+14155550199".into(),
        in_progress: i == 0,
        num_turns: Some(n as u32),
        total_duration: Some(40 + 17 * i as u32 % 400),
        handoff: i % 3 == 2,
        handoff_reason: if i % 3 == 2 {
            "billing_question".into()
        } else {
            String::new()
        },
        handoff_destination: if i % 3 == 2 {
            "billing-queue".into()
        } else {
            String::new()
        },
        variant_name: "default".into(),
        metrics: vec![("CSAT".into(), vec!["4".into()])],
        turns: if with_turns { turns } else { vec![] },
        ..Conversation::default()
    }
}

pub fn page(range: std::ops::Range<usize>, cursor: Option<&str>, with_turns: bool) -> ConversationPage {
    ConversationPage {
        conversations: range.map(|i| conv(i, with_turns)).collect(),
        cursor: cursor.map(str::to_string),
        next_offset: None,
        skipped: 0,
        total: None,
    }
}

pub fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

pub fn code(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

/// The transcript fetches `fx` schedules: each `DetailDue` message, after checking that its
/// timer waits the selection debounce (150 ms).
pub fn detail_due(fx: &[Effect]) -> Vec<Msg> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Io(IoEffect::After { msg, delay }) if matches!(**msg, Msg::DetailDue { .. }) => {
                assert_eq!(*delay, std::time::Duration::from_millis(150));
                Some((**msg).clone())
            }
            _ => None,
        })
        .collect()
}

/// Fires the first debounce timer `fx` schedules, as if it ran out: what `update` then asks
/// for (nothing when none was scheduled).
pub fn fire_detail_due(s: &mut State, fx: &[Effect]) -> Vec<Effect> {
    detail_due(fx)
        .into_iter()
        .next()
        .map(|m| update(s, m))
        .unwrap_or_default()
}

pub fn page_reqs(fx: &[Effect]) -> Vec<u64> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Io(IoEffect::FetchPage { req, .. }) => Some(*req),
            _ => None,
        })
        .collect()
}

/// A state that walks the window in the server's order (one cursor walk), as before slices.
pub fn oldest_first_state(w: u16, h: u16) -> State {
    let mut s = state(w, h);
    s.list.order = Order::OldestFirst;
    s
}

/// Answers a newest-first slice request as the server would: `p`'s rows (the fixtures list
/// them newest first) in ascending order, as the slice's only page. `p.cursor: None` means
/// "nothing older in the window": the following slice requests are answered empty until the
/// list reaches the window start. Returns every effect produced on the way.
pub fn answer_slices(s: &mut State, req: u64, p: ConversationPage) -> Vec<Effect> {
    let older = p.cursor.is_some();
    let mut asc = p;
    asc.conversations.reverse();
    asc.cursor = None;
    let mut fx = update(s, Msg::Page { req, result: Ok(asc) });
    let mut all = fx.clone();
    while !older && let Some(&r) = page_reqs(&fx).first() {
        fx = update(
            s,
            Msg::Page {
                req: r,
                result: Ok(page(0..0, None, true)),
            },
        );
        all.extend(fx.iter().cloned());
    }
    all
}

/// Answers every page request in `fx` (and those that follow) with an empty last page: the
/// rest of the window holds nothing.
pub fn drain_empty(s: &mut State, mut fx: Vec<Effect>) {
    while let Some(&req) = page_reqs(&fx).first() {
        fx = update(
            s,
            Msg::Page {
                req,
                result: Ok(page(0..0, None, true)),
            },
        );
    }
}

/// Starts the app and answers its first page request with `p` (in either order).
pub fn started_with(s: &mut State, p: ConversationPage) -> Vec<Effect> {
    let fx = start(s);
    let req = page_reqs(&fx)[0];
    match s.list.order {
        Order::OldestFirst => update(s, Msg::Page { req, result: Ok(p) }),
        Order::NewestFirst => answer_slices(s, req, p),
    }
}

pub fn api_error(status: u16, body: &str, host: &str) -> ApiError {
    ApiError::from_response(status, body.as_bytes(), None, HostFamily::Runtime, host)
}

pub fn render(s: &State) -> String {
    let mut term = Terminal::new(TestBackend::new(s.width, s.height)).unwrap();
    let theme = callscope::ui::Theme::default();
    term.draw(|f| callscope::ui::draw(f, s, &theme)).unwrap();
    callscope::ui::buffer_text(term.backend().buffer())
}

/// Types `:` and `text` and Enter; answers the reload's first request with `p` filtered by the
/// filter the effect carries (as the runner would, in memory: no review marks).
pub fn apply_filter(s: &mut State, text: &str, p: ConversationPage) -> Vec<Effect> {
    update(s, key(':'));
    for c in text.chars() {
        update(s, key(c));
    }
    let fx = update(s, code(KeyCode::Enter));
    let (req, filter) = fx
        .iter()
        .find_map(|e| match e {
            Effect::Io(IoEffect::FetchPage { req, filter, .. }) => Some((*req, filter.clone())),
            _ => None,
        })
        .expect("a new filter reloads the list");
    let mut p = p;
    if let Some(f) = filter {
        p.conversations.retain(|c| f.filter.matches(c, None));
    }
    match s.list.order {
        Order::OldestFirst => update(s, Msg::Page { req, result: Ok(p) }),
        Order::NewestFirst => answer_slices(s, req, p),
    }
}

/// `x` on the selected call: the Markdown it writes.
pub fn x_markdown(s: &mut State) -> String {
    update(s, key('x'))
        .into_iter()
        .find_map(|e| match e {
            Effect::Io(IoEffect::WriteExport { markdown, .. }) => Some(markdown),
            _ => None,
        })
        .expect("an export")
}

/// The store worker the TUI runs, over the store file at `path`, and where its answers arrive.
pub fn store_worker(
    path: &std::path::Path,
) -> (
    callscope::tui::store_worker::StoreWorker,
    tokio::sync::mpsc::UnboundedReceiver<Msg>,
) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let store = callscope::store::Store::open(path).unwrap();
    (callscope::tui::store_worker::StoreWorker::spawn(store, tx).unwrap(), rx)
}

/// Runs store effects through the worker and feeds its answers back, until it goes quiet.
pub fn pump(
    s: &mut State,
    worker: &callscope::tui::store_worker::StoreWorker,
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<Msg>,
    fx: Vec<Effect>,
) {
    let mut pending = fx;
    loop {
        let mut expected = 0;
        for e in pending.drain(..) {
            if let Effect::Io(IoEffect::Store(r)) = e {
                use callscope::app::review::StoreRequest;
                // Caching and a flush of nothing pending are not answered.
                if !matches!(r, StoreRequest::Cache { .. } | StoreRequest::FlushMarks) {
                    expected += 1;
                }
                worker.send(r);
            }
        }
        if expected == 0 {
            return;
        }
        // `Msg::Authors` follows loads and writes as a notice, not as the answer to a request.
        while expected > 0 {
            let msg = rx.blocking_recv().expect("the worker answers");
            // A team store's sync count is a notice too.
            if !matches!(msg, Msg::Authors { .. } | Msg::TeamSynced { .. }) {
                expected -= 1;
            }
            pending.extend(update(s, msg));
        }
    }
}
