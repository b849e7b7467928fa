//! The stats of a window, computed in SQL over the cached rows (see `crate::stats` for what each
//! figure means). Per-call figures are one scan of the `conversations_stats` covering index;
//! latencies, intents and topics come from the tables the upsert fills (`cache::Prepared::write`).

use std::collections::HashMap;

use super::Store;
use super::error::StoreResult;
use super::filter::{Compile, SqlWhere};
use crate::domain::{Filter, Scope};
use crate::stats::{
    Bucket, BucketFigures, Count, Difference, Group, LATENCY_EDGES, NO_REASON, Percentiles, QA_WAITING, Qa, Review,
    Split, SplitBy, Stats, StatsRequest, TOP_N, latency_bin,
};

fn group_column(split: SplitBy) -> &'static str {
    match split {
        SplitBy::None => "''",
        SplitBy::Variant => "c.variant",
        SplitBy::Env => "c.environment",
    }
}

#[derive(Default)]
struct GroupAcc {
    calls: u64,
    handoffs: u64,
    latencies: Vec<f64>,
    scored: u64,
    score_sum: f64,
}

impl Store {
    /// Every figure of `req`'s window for the calls `scope` and `filter` select (the scope's own
    /// time bounds are replaced by the request's).
    pub fn stats(&self, scope: &Scope, filter: &Filter, req: &StatsRequest) -> StoreResult<Stats> {
        let scope = Scope {
            since_ms: Some(req.since_ms),
            until_ms: Some(req.until_ms),
            ..scope.clone()
        };
        let mut w = SqlWhere::default();
        scope.compile_into(&mut w);
        filter.compile_into(&mut w);
        let conn = self.conn();
        let bucket = Bucket::for_window(req.since_ms, req.until_ms);
        let first = bucket.floor(req.since_ms, req.offset_ms);
        let size = bucket.millis();
        let n_buckets = ((req.until_ms - first).max(1) + size - 1) / size;
        let mut buckets: Vec<BucketFigures> = (0..n_buckets)
            .map(|i| BucketFigures {
                start_ms: first + i * size,
                ..BucketFigures::default()
            })
            .collect();
        let slot = |t: i64| (((t - first) / size).clamp(0, n_buckets - 1)) as usize;
        let group_col = group_column(req.split);

        let mut stats = Stats {
            since_ms: req.since_ms,
            until_ms: req.until_ms,
            bucket,
            latency_histogram: vec![0; LATENCY_EDGES.len()],
            qa: Qa { waiting_on: QA_WAITING },
            ..Stats::default()
        };
        let mut reasons: HashMap<String, u64> = HashMap::new();
        let mut scores: HashMap<i64, u64> = HashMap::new();
        let mut groups: HashMap<String, GroupAcc> = HashMap::new();

        // Per call: one pass over the covering index.
        let sql = format!(
            "SELECT c.started_at, c.channel LIKE 'VOICE%', c.handoff, c.in_progress, c.transcript_hidden,
                    c.has_transcript, c.handoff_reason, {group_col}, c.poly_score
             FROM conversations c WHERE {}",
            w.sql()
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(w.params.iter()))?;
        while let Some(r) = rows.next()? {
            let b = &mut buckets[slot(r.get(0)?)];
            let voice: bool = r.get(1)?;
            let handoff: bool = r.get(2)?;
            b.calls += 1;
            if voice {
                b.voice += 1;
            } else {
                b.chat += 1;
            }
            if handoff {
                b.handoffs += 1;
                let reason = r.get_ref(6)?.as_str().unwrap_or("");
                let reason = if reason.is_empty() { NO_REASON } else { reason };
                match reasons.get_mut(reason) {
                    Some(n) => *n += 1,
                    None => {
                        reasons.insert(reason.to_string(), 1);
                    }
                }
            }
            stats.in_progress += r.get::<_, bool>(3)? as u64;
            stats.hidden_transcripts += r.get::<_, bool>(4)? as u64;
            stats.with_transcript += r.get::<_, bool>(5)? as u64;
            let score: Option<f64> = r.get(8)?;
            if let Some(s) = score {
                *scores.entry(s.round() as i64).or_default() += 1;
            }
            if req.split != SplitBy::None {
                let g = group_entry(&mut groups, r.get_ref(7)?.as_str().unwrap_or(""));
                g.calls += 1;
                g.handoffs += handoff as u64;
                if let Some(s) = score {
                    g.scored += 1;
                    g.score_sum += s;
                }
            }
        }
        drop(rows);

        // Per turn: latencies of the cached transcripts.
        let sql = format!(
            "SELECT c.started_at, {group_col}, t.latency FROM conversations c JOIN turn_latencies t ON t.conv = c.pk
             WHERE c.has_transcript AND {}",
            w.sql()
        );
        let mut per_bucket: Vec<Vec<f64>> = vec![Vec::new(); buckets.len()];
        let mut stmt = conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(w.params.iter()))?;
        while let Some(r) = rows.next()? {
            let l: f64 = r.get(2)?;
            per_bucket[slot(r.get(0)?)].push(l);
            stats.latency_histogram[latency_bin(l)] += 1;
            if req.split != SplitBy::None {
                group_entry(&mut groups, r.get_ref(1)?.as_str().unwrap_or(""))
                    .latencies
                    .push(l);
            }
        }
        drop(rows);
        let mut all: Vec<f64> = Vec::with_capacity(per_bucket.iter().map(Vec::len).sum());
        for (b, mut values) in buckets.iter_mut().zip(per_bucket) {
            all.extend_from_slice(&values);
            b.latency = Percentiles::of(&mut values);
        }
        stats.latency = Percentiles::of(&mut all);

        for b in &buckets {
            stats.calls += b.calls;
            stats.voice += b.voice;
            stats.chat += b.chat;
            stats.handoffs += b.handoffs;
        }
        stats.buckets = buckets;
        stats.handoff_reasons = top(reasons);
        let mut scores: Vec<(i64, u64)> = scores.into_iter().collect();
        scores.sort_unstable();
        stats.poly_scored = scores.iter().map(|(_, n)| n).sum();
        stats.poly_score = scores;
        stats.intents = self.top_names(&w, "conversation_intents", "intent")?;
        // Topics are v4's labels (kind 1, see `cache::LabelKind::Topic`).
        stats.topics = self.top_names(
            &w,
            "(SELECT conv, label AS topic FROM conversation_labels WHERE kind = 1)",
            "topic",
        )?;
        stats.review = self.review_counts(&w, stats.calls)?;
        if req.split != SplitBy::None {
            stats.split = Some(split(req.split, groups));
        }
        Ok(stats)
    }

    /// The `TOP_N` most frequent names of `table` (calls per name), ties by name.
    fn top_names(&self, w: &SqlWhere, table: &str, column: &str) -> StoreResult<Vec<Count>> {
        let sql = format!(
            "SELECT x.{column}, count(*) FROM conversations c JOIN {table} x ON x.conv = c.pk
             WHERE c.has_transcript AND {} GROUP BY x.{column} ORDER BY 2 DESC, 1 LIMIT {TOP_N}",
            w.sql()
        );
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(w.params.iter()), |r| {
            Ok(Count {
                name: r.get(0)?,
                calls: r.get::<_, i64>(1)? as u64,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Driven from the marks tables (small next to the cache): marks of calls not in the
    /// window cost nothing but the join.
    fn review_counts(&self, w: &SqlWhere, calls: u64) -> StoreResult<Review> {
        const ON: &str =
            "c.account = m.account AND c.project = m.project AND c.environment = m.environment AND c.id = m.id";
        let sql = format!(
            "SELECT m.status, count(*) FROM conversation_marks m CROSS JOIN conversations c ON {ON}
             WHERE {} GROUP BY m.status",
            w.sql()
        );
        let mut review = Review::default();
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(w.params.iter()))?;
        while let Some(r) = rows.next()? {
            let n = r.get::<_, i64>(1)? as u64;
            match r.get_ref(0)?.as_str().unwrap_or("") {
                "reviewed" => review.reviewed = n,
                "needs_follow_up" => review.follow_up = n,
                _ => {}
            }
        }
        drop(rows);
        review.unreviewed = calls.saturating_sub(review.reviewed + review.follow_up);
        let sql = format!(
            "SELECT count(*) FROM (SELECT DISTINCT account, project, environment, id FROM conversation_flags) m
             CROSS JOIN conversations c ON {ON} WHERE {}",
            w.sql()
        );
        review.flagged =
            self.conn()
                .prepare_cached(&sql)?
                .query_row(rusqlite::params_from_iter(w.params.iter()), |r| r.get::<_, i64>(0))? as u64;
        Ok(review)
    }
}

fn group_entry<'a>(groups: &'a mut HashMap<String, GroupAcc>, name: &str) -> &'a mut GroupAcc {
    groups.entry(name.to_string()).or_default()
}

/// Most frequent first, ties by name, `TOP_N` at most.
fn top(counts: HashMap<String, u64>) -> Vec<Count> {
    let mut v: Vec<Count> = counts.into_iter().map(|(name, calls)| Count { name, calls }).collect();
    v.sort_unstable_by(|a, b| b.calls.cmp(&a.calls).then_with(|| a.name.cmp(&b.name)));
    v.truncate(TOP_N);
    v
}

fn split(by: SplitBy, groups: HashMap<String, GroupAcc>) -> Split {
    let mut groups: Vec<Group> = groups
        .into_iter()
        .map(|(name, mut g)| Group {
            name: if name.is_empty() { NO_REASON.to_string() } else { name },
            calls: g.calls,
            handoffs: g.handoffs,
            latency: Percentiles::of(&mut g.latencies),
            poly_scored: g.scored,
            poly_score_mean: (g.scored > 0).then(|| g.score_sum / g.scored as f64),
        })
        .collect();
    groups.sort_unstable_by(|a, b| b.calls.cmp(&a.calls).then_with(|| a.name.cmp(&b.name)));
    let difference = match groups.as_slice() {
        [a, b, ..] => Some(Difference::between(a, b)),
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
        let req = StatsRequest {
            since_ms: 1_764_633_600_000,
            until_ms: 1_764_633_600_000 + 2 * 3_600_000,
            offset_ms: 0,
            split: SplitBy::Variant,
        };
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
}
