//! Store benchmark: bulk caching, time to the first screen, full-text search latency.
//!
//! `cargo bench --bench store` — 10⁶ cached summaries and 10⁵ transcripts (~20 turns each) in a
//! temporary directory that is removed afterwards. `CALLSCOPE_BENCH_SCALE=0.01` shrinks it for a smoke run.

use std::time::{Duration, Instant};

use callscope::api::{Conversation, Turn};
use callscope::domain::{Filter, Origin, Scope};
use callscope::store::{ListOrder, SearchOrder, SearchQuery, Store};

/// xorshift64*: deterministic, dependency-free randomness for the generated data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const ENVS: [&str; 3] = ["live", "sandbox", "pre-release"];
const CHANNELS: [&str; 4] = ["VOICE-SIP", "VOICE-SIP", "WEBCHAT", "SMS"];
const NAMES: [&str; 12] = [
    "Olivia", "Liam", "Amélie", "José", "Zoë", "Mateo", "Sakura", "Noah", "Björn", "Chloé", "Aarav", "Fatima",
];
const CITIES: [&str; 8] = [
    "London",
    "Zürich",
    "München",
    "Lyon",
    "Kraków",
    "Dublin",
    "São Paulo",
    "東京",
];
const DISHES: [&str; 8] = [
    "lasagne",
    "risotto",
    "paella",
    "ramen",
    "tacos",
    "crème brûlée",
    "sushi",
    "pho",
];
const USER: [&str; 16] = [
    "Hi, I'd like to book a table for {n} tonight at {t}",
    "Can I change my reservation to {day}?",
    "My bill shows a charge of {p} pounds that I don't recognise",
    "I want a refund for order {o}, it arrived cold",
    "Do you have gluten free {dish} on the menu?",
    "Is the {city} branch open on {day}?",
    "My name is {name}, spelled {spell}",
    "Yes that's right",
    "No, the other one please",
    "Could you transfer me to a manager?",
    "The delivery driver never arrived, order {o}",
    "What time do you close on {day}?",
    "I was charged twice for my booking",
    "Can I bring my dog to the terrace?",
    "We'll be {n} adults and two children",
    "Sorry, could you repeat that?",
];
const AGENT: [&str; 16] = [
    "Thanks for calling Bella's, how can I help you today?",
    "Sure, what time would suit you?",
    "I have a table for {n} at {t}, shall I book it?",
    "Could I take your name please?",
    "Thanks {name}, and a phone number in case we need to reach you?",
    "I'm sorry to hear about the charge of {p} pounds, let me check that for you",
    "I've found order {o}; I can offer a refund or a voucher",
    "Our {city} branch is open until 11pm on {day}",
    "Yes, we have a gluten free {dish}",
    "Let me transfer you to a colleague who can help with billing",
    "Your reservation is confirmed for {day} at {t}",
    "Dogs are welcome on the terrace 🐶",
    "Is there anything else I can help with?",
    "I didn't quite catch that, could you say it again?",
    "The refund will take three to five working days",
    "Thank you for calling, goodbye!",
];
const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const INTENTS: [&str; 8] = [
    "book_table",
    "change_booking",
    "billing",
    "refund",
    "menu_question",
    "opening_hours",
    "delivery_issue",
    "speak_to_human",
];

fn fill(rng: &mut Rng, template: &str) -> String {
    let mut s = template.to_string();
    let n = (2 + rng.below(8)).to_string();
    let t = format!("{}:{:02}pm", 5 + rng.below(5), rng.below(4) * 15);
    let p = format!("{}.{:02}", 10 + rng.below(190), rng.below(100));
    let o = format!("{}-{}", 100 + rng.below(900), 1000 + rng.below(9000));
    let name = rng.pick(&NAMES);
    let spell: String = name
        .chars()
        .map(|c| c.to_uppercase().to_string())
        .collect::<Vec<_>>()
        .join(" ");
    for (k, v) in [
        ("{n}", n),
        ("{t}", t),
        ("{p}", p),
        ("{o}", o),
        ("{day}", rng.pick(&DAYS).to_string()),
        ("{dish}", rng.pick(&DISHES).to_string()),
        ("{city}", rng.pick(&CITIES).to_string()),
        ("{name}", name.to_string()),
        ("{spell}", spell),
    ] {
        s = s.replace(k, &v);
    }
    s
}

const START_MS: i64 = 1_767_225_600_000; // 2026-01-01
const SPAN_MS: u64 = 90 * 24 * 3600 * 1000;

fn summary(rng: &mut Rng, i: u64) -> (usize, Conversation) {
    let env = match rng.below(10) {
        0 => 1,
        1 => 2,
        _ => 0,
    };
    let turns = 2 + rng.below(40) as u32;
    let c = Conversation {
        id: format!("CA{i:010x}"),
        account_id: "ws-bench".into(),
        project_id: "PROJECT-bench".into(),
        environment: ENVS[env].into(),
        started_at: chrono::DateTime::from_timestamp_millis(START_MS + rng.below(SPAN_MS) as i64),
        channel: rng.pick(&CHANNELS).into(),
        from_number: format!("+4420{:08}", rng.below(100_000_000)),
        to_number: "+442000000000".into(),
        in_progress: rng.chance(1),
        num_turns: Some(turns),
        total_duration: Some(turns * (5 + rng.below(10) as u32)),
        polyai_duration: Some(turns * 5),
        handoff: rng.chance(15),
        handoff_reason: if rng.chance(15) {
            "billing_question".into()
        } else {
            String::new()
        },
        ..Default::default()
    };
    (env, c)
}

fn with_transcript(rng: &mut Rng, mut c: Conversation) -> Conversation {
    let n = 16 + rng.below(9) as usize;
    let start = c.started_at.unwrap_or_default();
    c.turns = (0..n)
        .map(|k| {
            let at = start + chrono::Duration::seconds(k as i64 * 7);
            Turn {
                user_input: if k == 0 {
                    String::new()
                } else {
                    let template = rng.pick(&USER);
                    fill(rng, template)
                },
                user_input_datetime: (k > 0).then_some(at),
                agent_response: {
                    let template = rng.pick(&AGENT);
                    fill(rng, template)
                },
                agent_response_datetime: Some(at + chrono::Duration::seconds(2)),
                latency: Some(0.3 + rng.below(3000) as f64 / 1000.0),
                intents: if rng.chance(40) {
                    vec![rng.pick(&INTENTS).to_string()]
                } else {
                    Vec::new()
                },
                ..Default::default()
            }
        })
        .collect();
    c.num_turns = Some(n as u32);
    c
}

/// CPU time this process has run (Linux): a rate that other load on the machine does not skew.
fn cpu_time() -> Duration {
    std::fs::read_to_string("/proc/self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .map_or(Duration::ZERO, Duration::from_nanos)
}

/// Calls generated at a time, outside the timed store work, in the bulk summary write.
const GENERATED_CHUNK: usize = 10_000;

/// Wall-clock and CPU time summed over the pieces of work it timed.
#[derive(Default)]
struct Stopwatch {
    wall: Duration,
    cpu: Duration,
}

impl Stopwatch {
    fn time<T>(&mut self, work: impl FnOnce() -> T) -> T {
        let (t, cpu) = (Instant::now(), cpu_time());
        let out = work();
        self.wall += t.elapsed();
        self.cpu += cpu_time() - cpu;
        out
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `start` → the store's answer → `update` → one frame; returns the rows on screen.
fn tui_first_screen(store: &mut Store) -> usize {
    use callscope::app::{Effect, Identity, IoEffect, KeyMap, State, start, update};
    let now = chrono::DateTime::from_timestamp_millis(START_MS + SPAN_MS as i64).unwrap();
    let identity = Identity {
        account: "ws-bench".into(),
        project: "PROJECT-bench".into(),
        region: "us".into(),
    };
    let tz = chrono::FixedOffset::east_opt(0).unwrap();
    let mut s = State::new(KeyMap::default(), identity, "live", now, tz, (200, 50));
    s.cache_first = true;
    s.window = callscope::app::state::TimeWindow::Last { secs: 30 * 86_400 };
    for e in start(&mut s) {
        if let Effect::Io(IoEffect::Store(req @ callscope::app::review::StoreRequest::List { .. })) = e
            && let Some(msg) = callscope::tui::store_worker::handle(store, req)
        {
            update(&mut s, msg);
        }
    }
    let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(200, 50)).unwrap();
    let theme = callscope::ui::Theme::default();
    term.draw(|f| callscope::ui::draw(f, &s, &theme)).unwrap();
    s.list.visible_len()
}

/// Bytes of the database once its WAL is folded in: the pages in use (free pages left out).
fn checkpointed_size(path: &std::path::Path) -> u64 {
    let conn = rusqlite::Connection::open(path).expect("open for size");
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .expect("checkpoint");
    let pragma = |name: &str| -> u64 {
        conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get::<_, i64>(0))
            .expect("pragma") as u64
    };
    (pragma("page_count") - pragma("freelist_count")) * pragma("page_size")
}

fn main() {
    let scale: f64 = std::env::var("CALLSCOPE_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let n_summaries = (1_000_000.0 * scale) as u64;
    let n_transcripts = (100_000.0 * scale) as u64;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bench.db");
    let origins: Vec<Origin> = ENVS
        .iter()
        .map(|e| Origin::new("ws-bench", "PROJECT-bench", *e))
        .collect();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);

    // 1. Bulk insert of summaries, one transaction.
    let mut store = Store::open(&path).expect("open");
    // The clock runs only while the store works: the calls are generated beforehand, a chunk at
    // a time (generating them took a fifteenth of the time, and it is not what is measured here).
    let mut watch = Stopwatch::default();
    let mut batch = store.batch().expect("batch");
    let mut to_transcribe = Vec::new();
    let mut chunk = Vec::with_capacity(GENERATED_CHUNK);
    for first in (0..n_summaries).step_by(GENERATED_CHUNK) {
        let last = n_summaries.min(first + GENERATED_CHUNK as u64);
        chunk.extend((first..last).map(|i| (i, summary(&mut rng, i))));
        watch.time(|| {
            for (_, (env, c)) in &chunk {
                batch.upsert(&origins[*env], c).expect("upsert");
            }
        });
        for (i, (env, c)) in chunk.drain(..) {
            if env == 0 && to_transcribe.len() < n_transcripts as usize && i % 7 == 0 {
                to_transcribe.push(c);
            }
        }
    }
    let stored = watch.time(|| batch.commit().expect("commit"));
    let (took, cpu) = (watch.wall, watch.cpu);
    println!(
        "summaries: {stored} cached in {:.1} s ({:.0} rows/s, one transaction; {:.1} s on CPU: {:.0} rows per CPU second)",
        took.as_secs_f64(),
        stored as f64 / took.as_secs_f64(),
        cpu.as_secs_f64(),
        stored as f64 / cpu.as_secs_f64()
    );
    let summaries_bytes = checkpointed_size(&path);
    println!(
        "summaries on disk: {:.0} MB, {:.0} bytes per cached summary (target ≤ 1000)",
        summaries_bytes as f64 / 1e6,
        summaries_bytes as f64 / stored.max(1) as f64
    );

    // 2. Transcripts for 10⁵ of the live conversations (the upsert path that also indexes turns).
    let mut rng2 = Rng(0xD1B5_4A32_D192_ED03);
    let (t, cpu) = (Instant::now(), cpu_time());
    let mut batch = store.batch().expect("batch");
    let mut turns = 0usize;
    let first_transcribed = to_transcribe.first().map(|c| c.id.clone()).unwrap_or_default();
    for c in to_transcribe {
        let full = with_transcript(&mut rng2, c);
        turns += full.turns.len();
        batch.upsert(&origins[0], &full).expect("upsert transcript");
    }
    let n = batch.commit().expect("commit");
    let (took, cpu) = (t.elapsed(), cpu_time() - cpu);
    println!(
        "transcripts: {n} cached ({turns} turns) in {:.1} s ({:.0} conversations/s; {:.0} per CPU second)",
        took.as_secs_f64(),
        n as f64 / took.as_secs_f64(),
        n as f64 / cpu.as_secs_f64()
    );
    // 2b. A refresh that brings nothing new (the list polled again): the first tenth of the
    // summaries once more, transcribed ones among them; rows already holding them stay as they are.
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (t, cpu) = (Instant::now(), cpu_time());
    let mut batch = store.batch().expect("batch");
    for i in 0..n_summaries / 10 {
        let (env, c) = summary(&mut rng, i);
        batch.upsert(&origins[env], &c).expect("upsert");
    }
    let again = batch.commit().expect("commit");
    let (took, cpu) = (t.elapsed(), cpu_time() - cpu);
    println!(
        "unchanged summaries again: {again} in {:.2} s ({:.0} rows/s; {:.0} per CPU second)",
        took.as_secs_f64(),
        again as f64 / took.as_secs_f64(),
        again as f64 / cpu.as_secs_f64()
    );
    drop(store);
    let size = checkpointed_size(&path);
    println!(
        "transcripts on disk: {:.0} MB, {:.0} bytes per cached transcript ({:.0} per turn) beyond its summary",
        size.saturating_sub(summaries_bytes) as f64 / 1e6,
        size.saturating_sub(summaries_bytes) as f64 / n.max(1) as f64,
        size.saturating_sub(summaries_bytes) as f64 / turns.max(1) as f64
    );
    println!("database size: {:.0} MB", size as f64 / 1e6);

    // 3. Open + first screen (50 newest rows of one account/project/env), repeated.
    let scope = Scope::env("ws-bench", "PROJECT-bench", "live");
    let mut first = Vec::new();
    for _ in 0..11 {
        let t = Instant::now();
        let store = Store::open(&path).expect("reopen");
        let page = store
            .list_page(&scope, &Filter::default(), ListOrder::NewestFirst, None, 50)
            .expect("page");
        assert_eq!(page.rows.len(), 50.min(n_summaries as usize));
        first.push(t.elapsed());
    }
    let first_open = first[0];
    first.sort();
    println!(
        "open + first screen (50 rows): first {:.2} ms, median {:.2} ms over {} runs (target ≤ 200 ms)",
        ms(first_open),
        ms(percentile(&first, 0.5)),
        first.len()
    );
    // 3b. The same through the app: open the store, start the TUI state (cache first, 30-day
    // window), perform its store request with the worker's own code, fold the answer in, draw.
    let mut tui = Vec::new();
    for _ in 0..11 {
        let t = Instant::now();
        let mut store = Store::open(&path).expect("reopen");
        let first_rows = tui_first_screen(&mut store);
        tui.push(t.elapsed());
        assert!(first_rows > 0);
    }
    let tui_first = tui[0];
    tui.sort();
    println!(
        "TUI open from the cache to the first drawn frame (200×50, 30-day window): first {:.2} ms, median {:.2} ms (target ≤ 200 ms)",
        ms(tui_first),
        ms(percentile(&tui, 0.5))
    );
    let store = Store::open(&path).expect("reopen");
    let filtered = Filter::parse("voice handoff unreviewed").unwrap();
    let t = Instant::now();
    let page = store
        .list_page(&scope, &filtered, ListOrder::NewestFirst, None, 50)
        .unwrap();
    println!(
        "first screen with filter `{}`: {:.2} ms ({} rows)",
        filtered.summary(),
        ms(t.elapsed()),
        page.rows.len()
    );
    // The real-API words read the cached JSON; none matches the generated calls, so each is
    // the worst case: every row of the scope is looked at.
    for text in [
        "polyscore<2",
        "tag:vip",
        "topic:Refund",
        "function:lookup_booking",
        "safety",
    ] {
        let filter = Filter::parse(text).unwrap();
        let t = Instant::now();
        let page = store
            .list_page(&scope, &filter, ListOrder::NewestFirst, None, 50)
            .unwrap();
        println!(
            "first screen with filter `{text}` (no match: a full scan): {:.2} ms ({} rows)",
            ms(t.elapsed()),
            page.rows.len()
        );
    }
    let t = Instant::now();
    let mut after = None;
    for _ in 0..200 {
        let p = store
            .list_page(&scope, &Filter::default(), ListOrder::NewestFirst, after.as_ref(), 50)
            .unwrap();
        after = p.next;
    }
    println!("200 further pages (keyset): {:.2} ms per page", ms(t.elapsed()) / 200.0);
    println!(
        "list plan: {}",
        store
            .explain_list(&scope, &Filter::default())
            .unwrap()
            .replace('\n', " | ")
    );

    // 4. Full-text search: ~50 varied queries, median and p95.
    let queries = [
        "refund",
        "reservation",
        "gluten free",
        "zurich",
        "Zürich",
        "東京",
        "creme brulee",
        "transfer manager",
        "charged twice",
        "delivery driver",
        "terrace dog",
        "🐶",
        "Amélie",
        "amelie",
        "bjorn",
        "voucher",
        "confirmed Saturday",
        "phone number",
        "order 512",
        "what time",
        "bill",
        "colleague billing",
        "ramen",
        "paella",
        "Krakow",
        "sao paulo",
        "repeat that",
        "working days",
        "goodbye",
        "table for 4",
        "book a table tonight",
        "gluten",
        "recognise charge",
        "arrived cold",
        "branch open Sunday",
        "\"quoted\" text",
        "NOT happy",
        "(parens)",
        "a:b -c",
        "refun",
        "reser",
        "tran",
        "xylophone",
        "children adults",
        "spelled O L I",
        "anything else",
        "pounds",
        "11pm",
        "Friday",
        "manager please",
    ];
    for order in [SearchOrder::Relevance, SearchOrder::Newest] {
        let probe = SearchQuery {
            scope: scope.clone(),
            order,
            ..SearchQuery::new("refund")
        };
        println!(
            "search plan ({order:?}): {}",
            store.explain_search(&probe).unwrap().replace('\n', " | ")
        );
        let mut times = Vec::new();
        let mut slowest = (Duration::ZERO, "");
        let mut hits = 0;
        for q in &queries {
            let query = SearchQuery {
                scope: scope.clone(),
                order,
                limit: 50,
                ..SearchQuery::new(*q)
            };
            store.search(&query).expect("warm up");
            let t = Instant::now();
            hits += store.search(&query).expect("search").len();
            let took = t.elapsed();
            if took > slowest.0 {
                slowest = (took, q);
            }
            times.push(took);
        }
        times.sort();
        println!(
            "search ({order:?}, limit 50) over {n} transcripts: median {:.2} ms, p95 {:.2} ms, max {:.2} ms, \
             {} queries, {hits} hits, slowest {:?} (target median ≤ 50 ms)",
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.95)),
            ms(*times.last().unwrap()),
            queries.len(),
            slowest.1
        );
    }
    // The TUI's `/` as you type: up to 500 distinct conversations, newest first, as list rows.
    let mut times = Vec::new();
    let mut rows = 0;
    for q in &queries {
        let query = SearchQuery {
            scope: scope.clone(),
            ..SearchQuery::new(*q)
        };
        store.search_conversations(&query, 500).expect("warm up");
        let t = Instant::now();
        rows += store.search_conversations(&query, 500).expect("search").len();
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "TUI search (≤ 500 conversations as list rows) over {n} transcripts: median {:.2} ms, p95 {:.2} ms, \
         max {:.2} ms, {rows} rows over {} queries",
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.95)),
        ms(*times.last().unwrap()),
        queries.len()
    );
    let key = Origin::new("ws-bench", "PROJECT-bench", "live").key(first_transcribed);
    let t = Instant::now();
    let inside = store.hits_in(&key, "table", None).unwrap();
    println!(
        "hits within one conversation: {:.2} ms ({} hits)",
        ms(t.elapsed()),
        inside.len()
    );
    drop(store);
    dir.close().expect("remove the bench directory");
}
