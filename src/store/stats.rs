//! The stats of a window (see `crate::stats` for what each figure means), in two paths that
//! merge the same exact [`Cell`]s: from the rows (any filter, any offset), or from per-hour
//! aggregates (`stats_hours`) for the window's whole UTC hours plus the rows of its partial
//! first and last hours. The aggregates answer the empty filter at whole-hour offsets.

use std::collections::HashMap;

use super::Store;
use super::error::StoreResult;
use super::filter::{Compile, MARK_JOIN, SqlWhere};
use super::stats_hours::{self, HOUR_MS};
use crate::domain::{Filter, Scope};
use crate::stats::{
    Bucket, BucketFigures, Count, Difference, Group, LATENCY_EDGES, NO_REASON, Percentiles, Qa, Review, Split, SplitBy,
    Stats, StatsRequest, TOP_N, coalesce, latency_bin, mean_of_counts,
};

/// What the calls of one time slot, environment and variant add to the figures. Merging cells
/// is exact: counts add, and values are kept as multisets (`(value, how many)`).
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Cell {
    pub calls: u64,
    pub voice: u64,
    pub handoffs: u64,
    pub in_progress: u64,
    pub hidden: u64,
    pub with_transcript: u64,
    /// Handoffs per reason (`NO_REASON` for none).
    pub reasons: HashMap<String, u64>,
    /// PolyScores and turn latencies (seconds): sorted and coalesced once a scan ends.
    pub scores: Vec<(f64, u64)>,
    pub latencies: Vec<(f64, u64)>,
    /// Calls per intent, and per topic keyed by its ASCII-lowercased name (topics compare
    /// without case, like the label table): (the binary-least spelling, calls).
    pub intents: HashMap<String, u64>,
    pub topics: HashMap<String, (String, u64)>,
}

impl Cell {
    fn add_counts(&mut self, o: &Cell) {
        self.calls += o.calls;
        self.voice += o.voice;
        self.handoffs += o.handoffs;
        self.in_progress += o.in_progress;
        self.hidden += o.hidden;
        self.with_transcript += o.with_transcript;
    }

    /// Everything but the latencies (the window takes those per bucket).
    fn add_all_but_latencies(&mut self, o: &Cell) {
        self.add_counts(o);
        for (k, n) in &o.reasons {
            add_name(&mut self.reasons, k, *n);
        }
        self.scores.extend_from_slice(&o.scores);
        for (k, n) in &o.intents {
            add_name(&mut self.intents, k, *n);
        }
        for (k, (name, n)) in &o.topics {
            add_topic(&mut self.topics, k, name, *n);
        }
    }

    pub(super) fn normalize(&mut self) {
        coalesce(&mut self.scores);
        coalesce(&mut self.latencies);
    }
}

fn add_name(map: &mut HashMap<String, u64>, name: &str, n: u64) {
    match map.get_mut(name) {
        Some(c) => *c += n,
        None => {
            map.insert(name.to_string(), n);
        }
    }
}

pub(super) fn add_topic(map: &mut HashMap<String, (String, u64)>, key: &str, name: &str, n: u64) {
    match map.get_mut(key) {
        Some((kept, c)) => {
            *c += n;
            if name < kept.as_str() {
                *kept = name.to_string();
            }
        }
        None => {
            map.insert(key.to_string(), (name.to_string(), n));
        }
    }
}

/// A cell's place: the start of its time slot (unix ms), environment and variant.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct CellKey {
    pub slot_ms: i64,
    pub environment: String,
    pub variant: String,
}

/// Time slots of `size` ms aligned `offset` ms east of UTC; the same floor in Rust and SQL.
#[derive(Debug, Clone, Copy)]
pub(super) struct Slots {
    pub size: i64,
    pub offset: i64,
}

impl Slots {
    fn floor(self, t: i64) -> i64 {
        (t + self.offset).div_euclid(self.size) * self.size - self.offset
    }

    fn sql(self, col: &str) -> String {
        let (o, s) = (self.offset, self.size);
        format!("(({col} + {o}) - ((({col} + {o}) % {s}) + {s}) % {s} - {o})")
    }
}

/// Interns environment and variant names so the per-row lookups hash integers.
#[derive(Default)]
struct Cells {
    names: HashMap<String, u32>,
    cells: HashMap<(i64, u32, u32), Cell>,
}

impl Cells {
    fn id(&mut self, name: &str) -> u32 {
        if let Some(id) = self.names.get(name) {
            return *id;
        }
        let id = self.names.len() as u32;
        self.names.insert(name.to_string(), id);
        id
    }

    fn at(&mut self, slot: i64, env: &str, variant: &str) -> &mut Cell {
        let key = (slot, self.id(env), self.id(variant));
        self.cells.entry(key).or_default()
    }

    fn into_vec(self) -> Vec<(CellKey, Cell)> {
        let mut names = vec![String::new(); self.names.len()];
        for (n, id) in self.names {
            names[id as usize] = n;
        }
        let mut v: Vec<(CellKey, Cell)> = self
            .cells
            .into_iter()
            .map(|((slot_ms, e, va), mut cell)| {
                cell.normalize();
                (
                    CellKey {
                        slot_ms,
                        environment: names[e as usize].clone(),
                        variant: names[va as usize].clone(),
                    },
                    cell,
                )
            })
            .collect();
        v.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        v
    }
}

/// Runs a `slot, environment, variant, name, count` query and hands each row's cell, name and
/// count to `add` (the intents and the topics are counted alike).
fn per_name(
    conn: &rusqlite::Connection,
    sql: &str,
    w: &SqlWhere,
    cells: &mut Cells,
    mut add: impl FnMut(&mut Cell, &str, u64),
) -> StoreResult<()> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(w.params.iter()))?;
    while let Some(r) = rows.next()? {
        let n = r.get::<_, i64>(4)? as u64;
        let name = r.get_ref(3)?.as_str().unwrap_or("").to_string();
        let cell = cells.at(
            r.get(0)?,
            r.get_ref(1)?.as_str().unwrap_or(""),
            r.get_ref(2)?.as_str().unwrap_or(""),
        );
        add(cell, &name, n);
    }
    Ok(())
}

/// The cells of the rows `w` selects (over `conversations c`), by `slots`.
pub(super) fn scan(conn: &rusqlite::Connection, w: &SqlWhere, slots: Slots) -> StoreResult<Vec<(CellKey, Cell)>> {
    let mut cells = Cells::default();
    let params = || rusqlite::params_from_iter(w.params.iter());
    // Per call: one pass over the covering index (`conversations_list`).
    let sql = format!(
        "SELECT c.started_at, c.environment, c.variant, c.channel LIKE 'VOICE%', c.handoff, c.in_progress,
                c.transcript_hidden, c.has_transcript, c.handoff_reason, c.poly_score
         FROM conversations c WHERE {}",
        w.sql()
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params())?;
    while let Some(r) = rows.next()? {
        let slot = slots.floor(r.get(0)?);
        let env = r.get_ref(1)?.as_str().unwrap_or("");
        let variant = r.get_ref(2)?.as_str().unwrap_or("");
        let cell = cells.at(slot, env, variant);
        cell.calls += 1;
        cell.voice += r.get::<_, bool>(3)? as u64;
        if r.get::<_, bool>(4)? {
            cell.handoffs += 1;
            let reason = r.get_ref(8)?.as_str().unwrap_or("");
            add_name(&mut cell.reasons, if reason.is_empty() { NO_REASON } else { reason }, 1);
        }
        cell.in_progress += r.get::<_, bool>(5)? as u64;
        cell.hidden += r.get::<_, bool>(6)? as u64;
        cell.with_transcript += r.get::<_, bool>(7)? as u64;
        if let Some(s) = r.get::<_, Option<f64>>(9)? {
            cell.scores.push((s, 1));
        }
    }
    drop(rows);

    // Per turn: latencies of the cached transcripts.
    let sql = format!(
        "SELECT c.started_at, c.environment, c.variant, t.latency
         FROM conversations c JOIN turn_latencies t ON t.conv = c.pk WHERE c.has_transcript AND {}",
        w.sql()
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params())?;
    while let Some(r) = rows.next()? {
        let slot = slots.floor(r.get(0)?);
        let env = r.get_ref(1)?.as_str().unwrap_or("");
        let variant = r.get_ref(2)?.as_str().unwrap_or("");
        let l: f64 = r.get(3)?;
        cells.at(slot, env, variant).latencies.push((l, 1));
    }
    drop(rows);

    // Calls per intent / topic (one row per call and name: the tables' keys).
    let slot_sql = slots.sql("c.started_at");
    let sql = format!(
        "SELECT {slot_sql}, c.environment, c.variant, x.intent, count(*)
         FROM conversations c JOIN conversation_intents x ON x.conv = c.pk
         WHERE c.has_transcript AND {} GROUP BY 1, 2, 3, 4",
        w.sql()
    );
    per_name(conn, &sql, w, &mut cells, |cell, name, n| {
        add_name(&mut cell.intents, name, n)
    })?;
    // Topics are v4's labels (kind 1, see `cache::LabelKind::Topic`), NOCASE: grouped without
    // case, named by the binary-least spelling.
    let sql = format!(
        "SELECT {slot_sql}, c.environment, c.variant, min(x.label COLLATE BINARY), count(*)
         FROM conversations c JOIN conversation_labels x ON x.conv = c.pk AND x.kind = 1
         WHERE c.has_transcript AND {} GROUP BY 1, 2, 3, x.label",
        w.sql()
    );
    per_name(conn, &sql, w, &mut cells, |cell, name, n| {
        add_topic(&mut cell.topics, &name.to_ascii_lowercase(), name, n)
    })?;
    Ok(cells.into_vec())
}

/// A split group's counts, and its latencies per bucket.
type GroupCells = (Cell, Vec<Vec<(f64, u64)>>);

/// A window being filled from cells.
struct Window {
    req: StatsRequest,
    bucket: Bucket,
    first: i64,
    buckets: Vec<(BucketFigures, Vec<(f64, u64)>)>,
    total: Cell,
    /// Each group's counts, and its latencies per bucket (merged like the total's).
    groups: HashMap<String, GroupCells>,
}

impl Window {
    fn new(req: &StatsRequest) -> Window {
        let bucket = Bucket::for_window(req.since_ms, req.until_ms);
        let first = bucket.floor(req.since_ms, req.offset_ms);
        let size = bucket.millis();
        let n = ((req.until_ms - first).max(1) + size - 1) / size;
        Window {
            req: *req,
            bucket,
            first,
            buckets: (0..n)
                .map(|i| {
                    (
                        BucketFigures {
                            start_ms: first + i * size,
                            ..BucketFigures::default()
                        },
                        Vec::new(),
                    )
                })
                .collect(),
            total: Cell::default(),
            groups: HashMap::new(),
        }
    }

    /// Adds a cell whose slot lies inside one bucket.
    fn add(&mut self, key: &CellKey, cell: &Cell) {
        let n = self.buckets.len() as i64;
        let i = ((key.slot_ms - self.first).div_euclid(self.bucket.millis())).clamp(0, n - 1) as usize;
        let (b, lat) = &mut self.buckets[i];
        b.calls += cell.calls;
        b.voice += cell.voice;
        b.handoffs += cell.handoffs;
        lat.extend_from_slice(&cell.latencies);
        self.total.add_all_but_latencies(cell);
        let group = match self.req.split {
            SplitBy::None => return,
            SplitBy::Variant => &key.variant,
            SplitBy::Env => &key.environment,
        };
        let (g, per_bucket) = match self.groups.get_mut(group.as_str()) {
            Some(g) => g,
            None => self.groups.entry(group.clone()).or_default(),
        };
        g.add_counts(cell);
        g.scores.extend_from_slice(&cell.scores);
        if per_bucket.is_empty() {
            per_bucket.resize(n as usize, Vec::new());
        }
        per_bucket[i].extend_from_slice(&cell.latencies);
    }

    /// `qa_groups`: each split group's QA scores (`stats_qa::ScoresByGroup`).
    fn finish(mut self, review: Review, qa: Qa, qa_groups: HashMap<String, Vec<(f64, u64)>>) -> Stats {
        let mut stats = Stats {
            since_ms: self.req.since_ms,
            until_ms: self.req.until_ms,
            bucket: self.bucket,
            latency_histogram: vec![0; LATENCY_EDGES.len()],
            qa,
            review,
            ..Stats::default()
        };
        let mut buckets = Vec::with_capacity(self.buckets.len());
        let t = &mut self.total;
        for (mut b, mut lat) in self.buckets {
            coalesce(&mut lat);
            b.chat = b.calls - b.voice;
            b.latency = Percentiles::of_counts(&lat);
            // Coalesced buckets hold few distinct values each: merging them is cheap.
            t.latencies.extend_from_slice(&lat);
            buckets.push(b);
        }
        t.normalize();
        for &(l, n) in &t.latencies {
            stats.latency_histogram[latency_bin(l)] += n;
        }
        stats.latency = Percentiles::of_counts(&t.latencies);
        stats.calls = t.calls;
        stats.voice = t.voice;
        stats.chat = t.calls - t.voice;
        stats.handoffs = t.handoffs;
        stats.in_progress = t.in_progress;
        stats.hidden_transcripts = t.hidden;
        stats.with_transcript = t.with_transcript;
        stats.buckets = buckets;
        stats.handoff_reasons = top(std::mem::take(&mut t.reasons), |a, b| a.cmp(b));
        stats.intents = top(std::mem::take(&mut t.intents), |a, b| a.cmp(b));
        let topics: HashMap<String, u64> = std::mem::take(&mut t.topics).into_values().collect();
        stats.topics = top(topics, |a, b| {
            a.to_ascii_lowercase()
                .cmp(&b.to_ascii_lowercase())
                .then_with(|| a.cmp(b))
        });
        let mut scores: Vec<(i64, u64)> = Vec::new();
        for &(s, n) in &t.scores {
            let r = s.round() as i64;
            match scores.last_mut() {
                Some((k, c)) if *k == r => *c += n,
                _ => scores.push((r, n)),
            }
        }
        stats.poly_scored = scores.iter().map(|(_, n)| n).sum();
        stats.poly_score = scores;
        stats.review.unreviewed = stats
            .calls
            .saturating_sub(stats.review.reviewed + stats.review.follow_up);
        if self.req.split != SplitBy::None {
            stats.split = Some(split(self.req.split, self.groups, qa_groups));
        }
        stats
    }
}

/// Which path answered (for tests and the bench).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatsPath {
    Rows,
    Hours,
}

impl Store {
    /// Every figure of `req`'s window for the calls `scope` and `filter` select (the scope's own
    /// time bounds are replaced by the request's): from the per-hour aggregates when they can
    /// answer, else from the rows. Records `req.record_walk` first.
    pub fn stats(&self, scope: &Scope, filter: &Filter, req: &StatsRequest) -> StoreResult<Stats> {
        Ok(self.stats_by(scope, filter, req, None)?.0)
    }

    /// [`Store::stats`] on a chosen path (`None`: the fastest that can answer), and the path taken.
    pub fn stats_by(
        &self,
        scope: &Scope,
        filter: &Filter,
        req: &StatsRequest,
        path: Option<StatsPath>,
    ) -> StoreResult<(Stats, StatsPath)> {
        if let (Some((since, until)), Some(env)) = (req.record_walk, scope_env(scope)) {
            super::stats_covered::record(self.conn(), &env, since, until)?;
        }
        let hours = stats_hours::Plan::of(scope, filter, req);
        let (mut stats, path) = match (hours, path) {
            (Some(plan), None | Some(StatsPath::Hours)) => {
                (self.stats_from_hours(scope, req, &plan)?, StatsPath::Hours)
            }
            _ => (self.stats_from_rows(scope, filter, req)?, StatsPath::Rows),
        };
        if let Some(env) = scope_env(scope) {
            stats.uncovered = super::stats_covered::uncovered(self.conn(), &env, req.since_ms, req.until_ms)?;
        }
        Ok((stats, path))
    }

    fn window_where(scope: &Scope, filter: &Filter, since_ms: i64, until_ms: i64) -> SqlWhere {
        let scope = Scope {
            since_ms: Some(since_ms),
            until_ms: Some(until_ms),
            ..scope.clone()
        };
        let mut w = SqlWhere::default();
        scope.compile_into(&mut w);
        filter.compile_into(&mut w);
        w
    }

    fn stats_from_rows(&self, scope: &Scope, filter: &Filter, req: &StatsRequest) -> StoreResult<Stats> {
        let w = Self::window_where(scope, filter, req.since_ms, req.until_ms);
        let bucket = Bucket::for_window(req.since_ms, req.until_ms);
        let slots = Slots {
            size: bucket.millis(),
            offset: req.offset_ms,
        };
        let mut window = Window::new(req);
        for (key, cell) in scan(self.conn(), &w, slots)? {
            window.add(&key, &cell);
        }
        self.finish_window(window, &w, filter.scorecard.as_deref())
    }

    /// Whole hours from the aggregates (refreshed where dirty), the partial edges from rows.
    fn stats_from_hours(&self, scope: &Scope, req: &StatsRequest, plan: &stats_hours::Plan) -> StoreResult<Stats> {
        let conn = self.conn();
        let mut window = Window::new(req);
        let edge = Slots {
            size: HOUR_MS,
            offset: 0,
        };
        for (since, until) in plan.edges() {
            let w = Self::window_where(scope, &Filter::default(), since, until);
            for (key, cell) in scan(conn, &w, edge)? {
                window.add(&key, &cell);
            }
        }
        stats_hours::for_each(conn, scope, plan.hours, |key, cell| window.add(key, cell))?;
        let w = Self::window_where(scope, &Filter::default(), req.since_ms, req.until_ms);
        self.finish_window(window, &w, None)
    }

    /// The figures from the marks and scores tables (the same on both paths), then the window's.
    fn finish_window(&self, window: Window, w: &SqlWhere, card: Option<&str>) -> StoreResult<Stats> {
        let (review, reviewed_by) = self.review_counts(w)?;
        let (qa, qa_groups) = super::stats_qa::qa(self.conn(), w, card, window.req.split, reviewed_by)?;
        Ok(window.finish(review, qa, qa_groups))
    }

    /// Driven from the marks tables (small next to the cache): marks of calls not in the
    /// window cost nothing but the join. `unreviewed` is filled in by the caller. Also who last
    /// marked each reviewed call (`None`: no history says), for the QA figures: in the same
    /// pass, since each mark's join to its call is a random read of the table.
    fn review_counts(&self, w: &SqlWhere) -> StoreResult<(Review, super::stats_qa::ReviewedBy)> {
        let sql = format!(
            "SELECT m.status, CASE WHEN m.status = 'reviewed' THEN {} END, count(*)
             FROM conversation_marks m CROSS JOIN conversations c ON {MARK_JOIN}
             WHERE {} GROUP BY 1, 2",
            super::stats_qa::latest_by("m", "'status'"),
            w.sql()
        );
        let mut review = Review::default();
        let mut reviewed_by = Vec::new();
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(w.params.iter()))?;
        while let Some(r) = rows.next()? {
            let n = r.get::<_, i64>(2)? as u64;
            match r.get_ref(0)?.as_str().unwrap_or("") {
                "reviewed" => {
                    review.reviewed += n;
                    reviewed_by.push((r.get::<_, Option<String>>(1)?, n));
                }
                "needs_follow_up" => review.follow_up += n,
                _ => {}
            }
        }
        drop(rows);
        let sql = format!(
            "SELECT count(*) FROM (SELECT DISTINCT account, project, environment, id FROM conversation_flags) m
             CROSS JOIN conversations c ON {MARK_JOIN} WHERE {}",
            w.sql()
        );
        review.flagged =
            self.conn()
                .prepare_cached(&sql)?
                .query_row(rusqlite::params_from_iter(w.params.iter()), |r| r.get::<_, i64>(0))? as u64;
        Ok((review, reviewed_by))
    }
}

fn scope_env(scope: &Scope) -> Option<super::stats_covered::EnvKey<'_>> {
    super::stats_covered::EnvKey::of(scope)
}

/// Most frequent first, ties by `by`, `TOP_N` at most.
fn top(counts: HashMap<String, u64>, by: impl Fn(&str, &str) -> std::cmp::Ordering) -> Vec<Count> {
    let mut v: Vec<Count> = counts.into_iter().map(|(name, calls)| Count { name, calls }).collect();
    v.sort_unstable_by(|a, b| b.calls.cmp(&a.calls).then_with(|| by(&a.name, &b.name)));
    v.truncate(TOP_N);
    v
}

fn split(by: SplitBy, groups: HashMap<String, GroupCells>, mut qa: HashMap<String, Vec<(f64, u64)>>) -> Split {
    let mut qa_of: HashMap<String, Vec<(f64, u64)>> = HashMap::new();
    let mut groups: Vec<Group> = groups
        .into_iter()
        .map(|(name, (mut g, per_bucket))| {
            let scores = qa.remove(&name).unwrap_or_default();
            for mut lat in per_bucket {
                coalesce(&mut lat);
                g.latencies.extend_from_slice(&lat);
            }
            g.normalize();
            let name = if name.is_empty() { NO_REASON.to_string() } else { name };
            let group = Group {
                name: name.clone(),
                calls: g.calls,
                handoffs: g.handoffs,
                latency: Percentiles::of_counts(&g.latencies),
                poly_scored: g.scores.iter().map(|(_, n)| n).sum(),
                poly_score_mean: mean_of_counts(&g.scores),
                qa_scores: scores.iter().map(|(_, n)| n).sum(),
                qa_score_mean: mean_of_counts(&scores),
            };
            qa_of.insert(name, scores);
            group
        })
        .collect();
    groups.sort_unstable_by(|a, b| b.calls.cmp(&a.calls).then_with(|| a.name.cmp(&b.name)));
    let difference = match groups.as_slice() {
        [a, b, ..] => {
            let of = |g: &Group| qa_of.get(&g.name).map_or(&[][..], Vec::as_slice);
            Some(Difference::between(a, b, of(a), of(b)))
        }
        _ => None,
    };
    Split { by, groups, difference }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Conversation;
    use crate::domain::Origin;
    use serde_json::json;

    fn conv(id: &str, minute: i64, handoff: Option<&str>, latencies: &[f64]) -> Conversation {
        let turns: Vec<_> = latencies
            .iter()
            .map(|l| json!({"user_input": "hi", "agent_response": "hello", "latency": l, "intents": ["greet"], "retrieved_topics": ["Hours"]}))
            .collect();
        serde_json::from_value(json!({
            "id": id, "started_at": chrono::DateTime::from_timestamp(1_764_633_600 + minute * 60, 0).unwrap(),
            "channel": if minute % 2 == 0 { "VOICE-SIP" } else { "WEBCHAT" },
            "handoff": handoff.is_some(), "handoff_reason": handoff.unwrap_or(""),
            "variant_id": if minute < 60 { "A" } else { "B" }, "turns": turns,
        }))
        .unwrap()
    }

    #[test]
    fn a_summary_refresh_keeps_the_turn_rows() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let o = Origin::new("a", "p", "live");
        let full = conv("C1", 0, Some("billing"), &[0.5, 1.5]);
        store.cache(&o, std::slice::from_ref(&full)).unwrap();
        let summary = Conversation {
            turns: Vec::new(),
            ..full
        };
        store.cache(&o, &[summary]).unwrap();
        let req = StatsRequest::new(
            1_764_633_600_000,
            1_764_633_600_000 + 2 * 3_600_000,
            0,
            SplitBy::Variant,
        );
        let s = store
            .stats(&Scope::env("a", "p", "live"), &Filter::default(), &req)
            .unwrap();
        assert_eq!(s.calls, 1);
        assert_eq!(s.latency.n, 2);
        assert_eq!(
            s.topics,
            [Count {
                name: "Hours".into(),
                calls: 1
            }]
        );
        assert_eq!(
            s.handoff_reasons,
            [Count {
                name: "billing".into(),
                calls: 1
            }]
        );
        assert_eq!(s.buckets.len(), 2);
        assert_eq!(s.split.unwrap().groups[0].name, "A");
    }

    #[test]
    fn topics_group_without_case_on_both_paths() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let o = Origin::new("a", "p", "live");
        let mut calls = vec![conv("C1", 5, None, &[0.5]), conv("C2", 70, None, &[0.7])];
        calls[1].turns[0].retrieved_topics = vec!["hours".into()];
        store.cache(&o, &calls).unwrap();
        let t0 = 1_764_633_600_000;
        let req = StatsRequest::new(t0 - 3_600_000, t0 + 3 * 3_600_000, 0, SplitBy::None);
        let scope = Scope::env("a", "p", "live");
        let (hours, path) = store.stats_by(&scope, &Filter::default(), &req, None).unwrap();
        assert_eq!(path, StatsPath::Hours);
        let (rows, _) = store
            .stats_by(&scope, &Filter::default(), &req, Some(StatsPath::Rows))
            .unwrap();
        assert_eq!(hours, rows);
        assert_eq!(
            hours.topics,
            [Count {
                name: "Hours".into(),
                calls: 2
            }]
        );
    }
}
