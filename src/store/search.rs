//! Full-text search over cached transcripts (FTS5, unicode61 with diacritics removed).
//!
//! User input is free text: every word is quoted for FTS5 (so `"`, `*`, `-`, `:`, `(`, AND/OR/NOT
//! are just text), words are ANDed, and the last word matches as a prefix (search as you type).

use std::collections::HashMap;
use std::ops::Range;

use rusqlite::types::Value;
use rusqlite::{OptionalExtension, params};

use super::Store;
use super::cache::{TURN_BITS, fts_range};
use super::error::StoreResult;
use super::filter::{Compile, SqlWhere};
use super::text::{self, SEPARATOR};
use crate::domain::{ConversationKey, Filter, Scope, Speaker};

/// Even FTS rowids hold what the user said, odd ones the agent (see `cache::fts_rowid`).
fn speaker_of_rowid(rowid: i64) -> Speaker {
    if rowid & 1 == 0 { Speaker::User } else { Speaker::Agent }
}

fn turn_of_rowid(rowid: i64) -> u32 {
    ((rowid & ((1 << TURN_BITS) - 1)) >> 1) as u32
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SearchOrder {
    /// Best match first (FTS5 bm25) among the newest `RELEVANCE_WINDOW` matching turns: exact for
    /// rare words, and bounded in time for words found in half the transcripts.
    #[default]
    Relevance,
    /// Newest conversation first (turns of one conversation in reverse order).
    Newest,
}

/// How many of the newest matches `SearchOrder::Relevance` ranks.
pub const RELEVANCE_WINDOW: usize = 2000;

#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    pub text: String,
    pub speaker: Option<Speaker>,
    pub scope: Scope,
    pub filter: Filter,
    pub order: SearchOrder,
    pub limit: usize,
}

impl SearchQuery {
    pub fn new(text: impl Into<String>) -> Self {
        SearchQuery {
            text: text.into(),
            limit: 50,
            ..Default::default()
        }
    }
}

/// Text with the matched words marked by byte ranges (into `text`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snippet {
    pub text: String,
    pub highlights: Vec<Range<usize>>,
}

impl Snippet {
    /// The text with highlights wrapped in `open`/`close` (e.g. `**` for Markdown).
    pub fn marked(&self, open: &str, close: &str) -> String {
        let mut out = String::new();
        let mut at = 0;
        for r in &self.highlights {
            out.push_str(&self.text[at..r.start]);
            out.push_str(open);
            out.push_str(&self.text[r.clone()]);
            out.push_str(close);
            at = r.end;
        }
        out.push_str(&self.text[at..]);
        out
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    pub key: ConversationKey,
    /// Index into `Conversation::turns`.
    pub turn: u32,
    pub speaker: Speaker,
    /// A short excerpt around the match (`…` where cut).
    pub snippet: Snippet,
}

/// A hit inside one conversation, with the whole turn text highlighted (for `n`/`N`).
#[derive(Debug, Clone, PartialEq)]
pub struct TurnHit {
    pub turn: u32,
    pub speaker: Speaker,
    pub text: Snippet,
}

const OPEN: char = '\u{1}';
const CLOSE: char = '\u{2}';

/// A last word shorter than this matches whole: a one- or two-letter prefix matches so many words
/// that merging their postings costs more than the answer is worth.
pub const MIN_PREFIX_CHARS: usize = 3;

/// The FTS5 query for free text, or `None` when it has nothing searchable (e.g. only punctuation).
pub fn fts_query(input: &str) -> Option<String> {
    let words: Vec<&str> = input
        .split_whitespace()
        .filter(|w| w.chars().any(|c| c.is_alphanumeric() || text::is_single_char_token(c)))
        .collect();
    let last = words.last()?;
    let mut q = words
        .iter()
        .map(|w| format!("\"{}\"", text::segment(w).replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(" ");
    let last_token_len = last
        .rsplit(|c: char| !c.is_alphanumeric() || text::is_single_char_token(c))
        .next()
        .map_or(0, |t| t.chars().count());
    if last_token_len >= MIN_PREFIX_CHARS {
        q.push('*');
    }
    Some(q)
}

/// Turns FTS5 highlight output into clean text plus byte ranges; adjacent ranges merge
/// (a CJK word is several one-character tokens).
fn parse_marked(marked: &str) -> Snippet {
    let mut text = String::with_capacity(marked.len());
    let mut highlights: Vec<Range<usize>> = Vec::new();
    let mut start = None;
    for c in marked.chars() {
        match c {
            OPEN => start = Some(text.len()),
            CLOSE => {
                if let Some(s) = start.take() {
                    match highlights.last_mut() {
                        Some(last) if last.end == s => last.end = text.len(),
                        _ => highlights.push(s..text.len()),
                    }
                }
            }
            SEPARATOR => {}
            c => text.push(c),
        }
    }
    Snippet { text, highlights }
}

const SNIPPET: &str = "snippet(turn_fts, 0, char(1), char(2), '…', 12)";

/// The FTS query, the SQL and its parameters of a search; `None` when the text has nothing searchable.
fn search_sql(query: &SearchQuery) -> Option<(String, String, Vec<Value>)> {
    let fts = fts_query(&query.text)?;
    let mut w = SqlWhere::default();
    w.push("turn_fts MATCH ?", [Value::Text(fts.clone())]);
    if let Some(s) = query.speaker {
        w.push("(f.rowid & 1) = ?", [Value::Integer(s as i64)]);
    }
    query.scope.compile_into(&mut w);
    query.filter.compile_into(&mut w);
    // CROSS JOIN keeps the index as the outer loop, so "ORDER BY f.rowid DESC LIMIT n" stops
    // after n in-scope matches (rowids follow start time, see cache::allocate_pk).
    let newest = |extra: &str, limit: usize| {
        format!(
            "SELECT f.rowid AS hit, c.account, c.project, c.environment, c.id, {extra}
             FROM turn_fts f CROSS JOIN conversations c ON c.pk = (f.rowid >> {TURN_BITS})
             WHERE {} ORDER BY f.rowid DESC LIMIT {limit}",
            w.sql()
        )
    };
    let limit = query.limit.min(10_000);
    let sql = match query.order {
        // Without a sort, the snippet is computed only for the rows returned.
        SearchOrder::Newest => newest(SNIPPET, limit),
        // bm25 over every match of a common word costs O(matches); rank the newest window instead.
        SearchOrder::Relevance => newest("f.rank", RELEVANCE_WINDOW.max(limit)),
    };
    Some((fts, sql, w.params))
}

impl Store {
    /// Turns matching `query.text` across cached transcripts. Empty or punctuation-only text finds nothing.
    pub fn search(&self, query: &SearchQuery) -> StoreResult<Vec<SearchHit>> {
        let Some((fts, sql, params)) = search_sql(query) else {
            return Ok(Vec::new());
        };
        let mut stmt = self.conn().prepare_cached(&sql)?;
        // (rowid, key, snippet for Newest | bm25 for Relevance)
        let mut found = stmt
            .query_map(rusqlite::params_from_iter(params), |r| {
                let key = ConversationKey {
                    account: r.get(1)?,
                    project: r.get(2)?,
                    environment: r.get(3)?,
                    id: r.get(4)?,
                };
                Ok((r.get::<_, i64>(0)?, key, r.get::<_, Value>(5)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        if query.order == SearchOrder::Relevance {
            let score = |v: &Value| match v {
                Value::Real(x) => *x,
                _ => 0.0,
            };
            // bm25 is negative: lower is better. Ties: newer first (the window's order).
            found.sort_by(|a, b| score(&a.2).total_cmp(&score(&b.2)));
            found.truncate(query.limit);
            let snippets = self.snippets(&fts, found.iter().map(|f| f.0))?;
            for f in &mut found {
                f.2 = Value::Text(snippets.get(&f.0).cloned().unwrap_or_default());
            }
        }
        Ok(found
            .into_iter()
            .map(|(rowid, key, snippet)| SearchHit {
                key,
                turn: turn_of_rowid(rowid),
                speaker: speaker_of_rowid(rowid),
                snippet: parse_marked(match &snippet {
                    Value::Text(t) => t,
                    _ => "",
                }),
            })
            .collect())
    }

    /// The distinct conversations with a matching turn, newest first, at most `max` (for a result list).
    pub fn search_conversations(&self, query: &SearchQuery, max: usize) -> StoreResult<Vec<super::ListRow>> {
        let q = SearchQuery {
            order: SearchOrder::Newest,
            // A conversation usually matches in a few turns; ask for enough hits to fill `max`.
            limit: max.saturating_mul(4).clamp(50, 10_000),
            ..query.clone()
        };
        let Some((_, sql, params)) = search_sql(&q) else {
            return Ok(Vec::new());
        };
        let mut keys: Vec<ConversationKey> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let found = stmt.query_map(rusqlite::params_from_iter(params), |r| ConversationKey::from_row(r, 1))?;
        for key in found {
            let key = key?;
            if keys.len() < max && seen.insert(key.clone()) {
                keys.push(key);
            }
        }
        self.rows_for(&keys)
    }

    /// Snippets of the given index rows, in one pass of the FTS query (each MATCH evaluation merges
    /// the prefix term's doclists, so one query per row would repeat that work).
    fn snippets(&self, fts: &str, rowids: impl Iterator<Item = i64>) -> StoreResult<HashMap<i64, String>> {
        let rowids: Vec<i64> = rowids.collect();
        let (Some(lo), Some(hi)) = (rowids.iter().min(), rowids.iter().max()) else {
            return Ok(HashMap::new());
        };
        let wanted = serde_json::to_string(&rowids)?;
        // `+rowid` keeps the IN test out of the FTS index (which would re-run the MATCH per value).
        let mut stmt = self.conn().prepare_cached(&format!(
            "SELECT rowid, {SNIPPET} FROM turn_fts WHERE turn_fts MATCH ?1 AND rowid BETWEEN ?2 AND ?3
             AND +rowid IN (SELECT value FROM json_each(?4))"
        ))?;
        let rows = stmt.query_map(params![fts, lo, hi, wanted], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// SQLite's plan for a search (for tests and the benchmark).
    pub fn explain_search(&self, query: &SearchQuery) -> StoreResult<String> {
        let Some((_, sql, params)) = search_sql(query) else {
            return Ok(String::new());
        };
        let mut stmt = self.conn().prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
        let lines = stmt.query_map(rusqlite::params_from_iter(params), |r| r.get::<_, String>(3))?;
        Ok(lines.collect::<Result<Vec<_>, _>>()?.join("\n"))
    }

    /// Every matching turn of one conversation in transcript order, with the full turn text highlighted.
    pub fn hits_in(&self, key: &ConversationKey, text: &str, speaker: Option<Speaker>) -> StoreResult<Vec<TurnHit>> {
        let Some(fts) = fts_query(text) else {
            return Ok(Vec::new());
        };
        let pk: Option<i64> = self
            .conn()
            .prepare_cached(&format!(
                "SELECT pk FROM conversation_rows WHERE {}",
                super::origins::ROW_BY_KEY
            ))?
            .query_row(params![key.account, key.project, key.environment, key.id], |r| r.get(0))
            .optional()?;
        let Some(pk) = pk else {
            return Ok(Vec::new());
        };
        let (lo, hi) = fts_range(pk);
        let mut stmt = self.conn().prepare_cached(
            "SELECT rowid, highlight(turn_fts, 0, char(1), char(2)) FROM turn_fts
             WHERE turn_fts MATCH ?1 AND rowid BETWEEN ?2 AND ?3 ORDER BY rowid",
        )?;
        let rows = stmt.query_map(params![fts, lo, hi], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut hits = Vec::new();
        for row in rows {
            let (rowid, marked) = row?;
            let sp = speaker_of_rowid(rowid);
            if speaker.is_some_and(|s| s != sp) {
                continue;
            }
            hits.push(TurnHit {
                turn: turn_of_rowid(rowid),
                speaker: sp,
                text: parse_marked(&marked),
            });
        }
        Ok(hits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_every_word_and_prefixes_the_last() {
        assert_eq!(fts_query("refund please").unwrap(), "\"refund\" \"please\"*");
        assert_eq!(
            fts_query("say \"hi\" NOT (x) -y a:bcd *").unwrap(),
            "\"say\" \"\"\"hi\"\"\" \"NOT\" \"(x)\" \"-y\" \"a:bcd\"*"
        );
        // Short last words (and single-character CJK tokens) match whole.
        assert_eq!(fts_query("a b").unwrap(), "\"a\" \"b\"");
        assert_eq!(
            fts_query("at 東京").unwrap(),
            "\"at\" \"\u{200B}東\u{200B}\u{200B}京\u{200B}\""
        );
        assert_eq!(fts_query("  -- \" * () "), None);
        assert_eq!(fts_query(""), None);
    }

    #[test]
    fn parses_marks_into_ranges() {
        let s = parse_marked("I want a \u{1}refund\u{2} \u{1}東\u{2}\u{200B}\u{200B}\u{1}京\u{2}\u{200B}");
        assert_eq!(s.text, "I want a refund 東京");
        assert_eq!(s.highlights.len(), 2);
        assert_eq!(&s.text[s.highlights[0].clone()], "refund");
        assert_eq!(&s.text[s.highlights[1].clone()], "東京");
        assert_eq!(s.marked("[", "]"), "I want a [refund] [東京]");
    }

    #[test]
    fn rowid_layout() {
        let r = super::super::cache::fts_rowid(7, 12, Speaker::Agent);
        assert_eq!(
            (r >> TURN_BITS, turn_of_rowid(r), speaker_of_rowid(r)),
            (7, 12, Speaker::Agent)
        );
    }
}
