//! The list endpoint's query: parsing, validation (400s) and selection over the data set.

use std::sync::Arc;

use super::cursor::Cursor;
use super::data::{DatasetHandle, Entry};
use super::errors::ApiFailure;
use crate::api::model::{Conversation, parse_time};

/// Page size when `limit` is absent (the reference spec says 1000; the prose said 5; we pick a
/// middle ground that keeps a default page fast).
pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 1000;
const ENVS: [&str; 3] = ["live", "sandbox", "pre-release"];

#[derive(Debug, Clone, PartialEq)]
pub enum SearchMode {
    /// Case-insensitive substring of a turn's text.
    Transcript,
    /// Stand-in for vector search: any query word occurs in a turn.
    Semantic,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    pub mode: SearchMode,
    /// Lower-cased.
    pub query: String,
    /// `Some(true)` = user turns only, `Some(false)` = agent turns only.
    pub user_turns: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListParams {
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
    pub limit: usize,
    pub cursor: Option<Cursor>,
    pub offset: u64,
    pub env: String,
    /// Upper-cased.
    pub channels: Vec<String>,
    pub in_progress: Option<bool>,
    pub include_latency: bool,
    pub variant_id: Option<String>,
    pub variant_name: Option<String>,
    pub search: Option<Search>,
    pub sample: bool,
    /// `seed=N` with `sample=random` (a stand-in extension, not in the reference): the same N
    /// gives the same sample. Without it the sample depends on the stand-in seed and the range.
    pub sample_seed: Option<u64>,
}

fn bool_param(name: &str, v: &str) -> Result<bool, ApiFailure> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(ApiFailure::validation(format!(
            "{name} must be true or false (got {}).",
            super::sanitize_echo(v)
        ))),
    }
}

fn time_param(name: &str, v: &str) -> Result<i64, ApiFailure> {
    parse_time(v).map(|t| t.timestamp_millis()).ok_or_else(|| {
        ApiFailure::validation(format!(
            "{name} must be an ISO 8601 date-time such as 2026-04-01T09:15:00Z (got {}).",
            super::sanitize_echo(v)
        ))
    })
}

impl ListParams {
    /// Validates the raw query pairs; the first problem becomes a 400.
    pub fn parse(pairs: &[(String, String)]) -> Result<ListParams, ApiFailure> {
        let mut p = ListParams {
            limit: DEFAULT_LIMIT,
            env: "live".into(),
            ..Default::default()
        };
        let (mut query_type, mut query, mut turn_type, mut offset_given) = (None, None, None, false);
        for (k, v) in pairs {
            match k.as_str() {
                "start_time" => p.start_ms = Some(time_param(k, v)?),
                "end_time" => p.end_ms = Some(time_param(k, v)?),
                "limit" => {
                    p.limit = v
                        .parse::<usize>()
                        .ok()
                        .filter(|l| (1..=MAX_LIMIT).contains(l))
                        .ok_or_else(|| {
                            ApiFailure::validation(format!(
                                "limit must be an integer from 1 to {MAX_LIMIT} (got {}).",
                                super::sanitize_echo(v)
                            ))
                        })?
                }
                "cursor" => {
                    p.cursor = Some(Cursor::decode(v).ok_or_else(|| {
                        ApiFailure::validation(
                            "cursor is malformed: pass back the exact `cursor` value from the previous page, with the same filters.",
                        )
                    })?)
                }
                "offset" => {
                    offset_given = true;
                    p.offset = v.parse().map_err(|_| {
                        ApiFailure::validation(format!(
                            "offset must be a non-negative integer (got {}).",
                            super::sanitize_echo(v)
                        ))
                    })?
                }
                "client_env" => {
                    if !ENVS.contains(&v.as_str()) {
                        return Err(ApiFailure::validation(format!(
                            "client_env must be one of live, sandbox, pre-release (got {}).",
                            super::sanitize_echo(v)
                        )));
                    }
                    p.env = v.clone();
                }
                "channel" => p.channels.extend(
                    v.split(',')
                        .map(|c| c.trim().to_ascii_uppercase())
                        .filter(|c| !c.is_empty()),
                ),
                "in_progress" => p.in_progress = Some(bool_param(k, v)?),
                "include_latency" => p.include_latency = bool_param(k, v)?,
                "variant_id" => p.variant_id = Some(v.clone()),
                "variant_name" => p.variant_name = Some(v.clone()),
                "query_type" => query_type = Some(v.to_ascii_lowercase()),
                "query" => query = Some(v.clone()),
                "turn_type" => turn_type = Some(v.to_ascii_lowercase()),
                "sample" => {
                    if v != "random" {
                        return Err(ApiFailure::validation("sample must be `random`."));
                    }
                    p.sample = true;
                }
                "seed" => {
                    p.sample_seed = Some(v.parse().map_err(|_| {
                        ApiFailure::validation(format!(
                            "seed must be a non-negative integer (got {}).",
                            super::sanitize_echo(v)
                        ))
                    })?)
                }
                // Unknown parameters are ignored, as most HTTP APIs do.
                _ => {}
            }
        }
        if let (Some(s), Some(e)) = (p.start_ms, p.end_ms)
            && s > e
        {
            return Err(ApiFailure::validation("start_time must not be after end_time."));
        }
        if p.variant_id.is_some() && p.variant_name.is_some() {
            return Err(ApiFailure::validation(
                "Specify either variant_id or variant_name, not both.",
            ));
        }
        if p.cursor.is_some() && offset_given {
            // The cursor takes precedence (documented); the offset is ignored.
            p.offset = 0;
        }
        let mode = match query_type.as_deref() {
            None => None,
            Some("transcript") => Some(SearchMode::Transcript),
            Some("semantic") => Some(SearchMode::Semantic),
            Some(other) => {
                return Err(ApiFailure::validation(format!(
                    "query_type must be transcript or semantic (got {}).",
                    super::sanitize_echo(other)
                )));
            }
        };
        let user_turns = match turn_type.as_deref() {
            None => None,
            Some("user") => Some(true),
            Some("agent") => Some(false),
            Some(other) => {
                return Err(ApiFailure::validation(format!(
                    "turn_type must be user or agent (got {}).",
                    super::sanitize_echo(other)
                )));
            }
        };
        match (mode, query) {
            (None, Some(_)) => {
                return Err(ApiFailure::validation(
                    "query needs query_type=transcript or query_type=semantic.",
                ));
            }
            (Some(_), None) => {
                return Err(ApiFailure::validation("query_type needs a non-empty query."));
            }
            (Some(_), Some(q)) if q.trim().is_empty() => {
                return Err(ApiFailure::validation("query_type needs a non-empty query."));
            }
            (Some(mode), Some(q)) => {
                p.search = Some(Search {
                    mode,
                    query: q.trim().to_lowercase(),
                    user_turns,
                })
            }
            (None, None) => {
                if user_turns.is_some() {
                    return Err(ApiFailure::validation(
                        "turn_type only applies to query_type=transcript.",
                    ));
                }
            }
        }
        if (p.search.is_some() || p.sample) && (p.start_ms.is_none() || p.end_ms.is_none()) {
            return Err(ApiFailure::validation(
                "start_time and end_time are required with query_type or sample.",
            ));
        }
        if p.search.is_some() && p.sample {
            return Err(ApiFailure::validation("query_type and sample cannot be combined."));
        }
        Ok(p)
    }

    fn matches_meta(&self, e: &Entry) -> bool {
        let env = if e.environment.is_empty() {
            "live"
        } else {
            &e.environment
        };
        env == self.env
            && (self.channels.is_empty() || self.channels.iter().any(|c| c.eq_ignore_ascii_case(&e.channel)))
            && self.in_progress.is_none_or(|b| b == e.in_progress)
            && self.variant_id.as_deref().is_none_or(|v| v == &*e.variant_id)
            && self
                .variant_name
                .as_deref()
                .is_none_or(|v| v.eq_ignore_ascii_case(&e.variant_name))
    }
}

impl Search {
    pub fn matches(&self, c: &Conversation) -> bool {
        let words: Vec<&str> = match self.mode {
            SearchMode::Transcript => vec![self.query.as_str()],
            SearchMode::Semantic => self
                .query
                .split(|ch: char| !ch.is_alphanumeric())
                .filter(|w| w.len() > 2)
                .collect(),
        };
        let hit = |text: &str| {
            !text.is_empty() && {
                let lower = text.to_lowercase();
                words.iter().any(|w| lower.contains(w))
            }
        };
        c.turns.iter().any(|t| {
            let user = || hit(&t.user_input) || hit(&t.translated_user_input);
            let agent = || hit(&t.agent_response) || hit(&t.english_agent_response);
            match self.user_turns {
                Some(true) => user(),
                Some(false) => agent(),
                None => user() || agent(),
            }
        })
    }
}

/// One selected page: conversations (expanded) and the keyset position for the next page.
pub struct Selection {
    /// The page, in order; expand (or take the cached JSON of) each entry to answer.
    pub entries: Vec<Arc<Entry>>,
    pub next: Option<Cursor>,
    pub next_offset: Option<u64>,
}

/// Runs the query over the data set, ascending by `(started_at, id)`.
pub fn select(data: &DatasetHandle, p: &ListParams) -> Selection {
    // Candidates by metadata under the lock (cheap: Arc clones); expansion happens outside it.
    let candidates: Vec<Arc<Entry>> = data.read(|d| {
        let mut lo = p.start_ms.map_or(0, |s| d.lower_bound(s, ""));
        if let Some(c) = &p.cursor {
            // Strictly after the cursor's key.
            let after = d.lower_bound(c.started_ms, &c.id);
            let after = if d
                .entries()
                .get(after)
                .is_some_and(|e| e.started_ms == c.started_ms && *e.id == *c.id)
            {
                after + 1
            } else {
                after
            };
            lo = lo.max(after);
        }
        let hi = p.end_ms.map_or(d.len(), |e| d.lower_bound(e, "")).max(lo);
        let entries = &d.entries()[lo..hi];
        let iter = entries.iter().filter(|e| p.matches_meta(e)).cloned();
        if p.search.is_some() || p.sample {
            iter.collect()
        } else {
            // Offset skipping plus one extra to know whether another page exists.
            iter.skip(p.offset as usize).take(p.limit + 1).collect()
        }
    });

    if p.sample {
        return sample(p, candidates, data.scope().seed);
    }
    let mut out = Vec::with_capacity(p.limit.min(candidates.len()));
    let mut more = false;
    let mut last: Option<Arc<Entry>> = None;
    let mut skipped = 0u64;
    for e in candidates {
        if out.len() == p.limit && p.search.is_none() {
            // The extra candidate only proves there is another page; no need to expand it.
            more = true;
            break;
        }
        if let Some(s) = &p.search {
            if !s.matches(&data.expand(&e)) {
                continue;
            }
            if skipped < p.offset {
                skipped += 1;
                continue;
            }
        }
        if out.len() == p.limit {
            more = true;
            break;
        }
        last = Some(e.clone());
        out.push(e);
    }
    let next = if more {
        last.map(|e| Cursor {
            started_ms: e.started_ms,
            id: e.id.to_string(),
        })
    } else {
        None
    };
    let next_offset = (more && p.cursor.is_none()).then(|| p.offset + out.len() as u64);
    Selection {
        entries: out,
        next,
        next_offset,
    }
}

/// `sample=random`: up to `limit` of the filtered range's conversations, each equally likely,
/// chosen reproducibly from the stand-in seed and `seed=N` (else the range).
fn sample(p: &ListParams, candidates: Vec<Arc<Entry>>, standin_seed: u64) -> Selection {
    let per_request = p
        .sample_seed
        .unwrap_or_else(|| p.start_ms.unwrap_or(0) as u64 ^ (p.end_ms.unwrap_or(0) as u64).rotate_left(17));
    let mut rng = super::rng::Rng::fork(standin_seed ^ 0x005A_3F1E, per_request);
    let mut picked: Vec<Arc<Entry>> = candidates;
    // Partial Fisher–Yates: the first `limit` items become the sample.
    let k = p.limit.min(picked.len());
    for i in 0..k {
        let j = i + rng.below((picked.len() - i) as u64) as usize;
        picked.swap(i, j);
    }
    picked.truncate(k);
    picked.sort_by(|a, b| (a.started_ms, &a.id).cmp(&(b.started_ms, &b.id)));
    Selection {
        entries: picked,
        next: None,
        next_offset: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &[(&str, &str)]) -> Vec<(String, String)> {
        q.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn validation_errors() {
        for q in [
            vec![("limit", "0")],
            vec![("limit", "1001")],
            vec![("limit", "ten")],
            vec![("cursor", "nope")],
            vec![("start_time", "yesterday")],
            vec![
                ("start_time", "2026-01-02T00:00:00Z"),
                ("end_time", "2026-01-01T00:00:00Z"),
            ],
            vec![("client_env", "prod")],
            vec![("query", "card")],
            vec![
                ("query_type", "transcript"),
                ("start_time", "2026-01-01T00:00:00Z"),
                ("end_time", "2026-01-02T00:00:00Z"),
            ],
            vec![("variant_id", "a"), ("variant_name", "b")],
            vec![("in_progress", "maybe")],
            vec![("offset", "-1")],
            vec![("query_type", "transcript"), ("query", "card")],
        ] {
            let e = ListParams::parse(&pairs(&q)).unwrap_err();
            assert_eq!(e.code, "CONVERSATIONS_VALIDATION_FAILED", "{q:?}");
        }
    }

    #[test]
    fn defaults_and_repeated_channels() {
        let p = ListParams::parse(&pairs(&[
            ("channel", "voice-sip"),
            ("channel", "WEBCHAT"),
            ("include_latency", "true"),
        ]))
        .unwrap();
        assert_eq!(p.limit, DEFAULT_LIMIT);
        assert_eq!(p.env, "live");
        assert_eq!(p.channels, vec!["VOICE-SIP", "WEBCHAT"]);
        assert!(p.include_latency);
    }
}
