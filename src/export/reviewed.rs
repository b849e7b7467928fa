//! `callscope export --reviewed | --flagged | --filter "…"`: what was reviewed, from the local
//! store (no API call), each conversation with its review marks.

use std::io::Write;

use anyhow::{Result, bail};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};

use super::csv_rows::{self, Text};
use super::format::{self, ConversationRow, Format};
use super::scores::ScoreCells;
use crate::api::Conversation;
use crate::domain::{Filter, Marks, ReviewStatus, Scope};
use crate::store::{AppStore, Matching};

/// The filter the flags ask for; `None` when the export should come from the API instead.
pub fn filter_from_flags(reviewed: bool, flagged: bool, filter: Option<&str>) -> Result<Option<Filter>> {
    if !reviewed && !flagged && filter.is_none() {
        return Ok(None);
    }
    let mut f = match filter {
        Some(text) => Filter::parse(text).map_err(|e| anyhow::anyhow!("--filter {text:?}: {}", e.detail))?,
        None => Filter::default(),
    };
    if reviewed {
        if f.status.is_some_and(|s| s != ReviewStatus::Reviewed) {
            bail!("--reviewed contradicts the status in --filter");
        }
        f.status = Some(ReviewStatus::Reviewed);
    }
    if flagged {
        f.flagged = Some(true);
    }
    Ok(Some(f))
}

/// The review marks as JSON (the shape of the marks file's entries).
pub fn marks_json(m: &Marks) -> Value {
    json!({
        "status": m.status.as_str(),
        "flags": m.flags,
        "note": m.note,
        "turns": m.turns.iter().map(|(i, r)| (i.to_string(), serde_json::to_value(r).unwrap_or(Value::Null))).collect::<serde_json::Map<_, _>>(),
    })
}

/// The review marks' cells, after the conversation's in `export --reviewed` CSV.
#[derive(Debug, Default, Serialize)]
struct ReviewCells<'a> {
    review_status: &'a str,
    flags: Text<'a>,
    note: Text<'a>,
}

impl<'a> ReviewCells<'a> {
    fn new(m: &'a Marks) -> Self {
        let flags: Vec<&str> = m.flags.iter().map(String::as_str).collect();
        ReviewCells {
            review_status: m.status.as_str(),
            flags: flags.join(";").into(),
            note: m.note.as_str().into(),
        }
    }
}

type ReviewedRow<'a> = (ConversationRow<'a>, ReviewCells<'a>, ScoreCells);

/// Writes every cached conversation of `scope` matching `filter` (and started in `window`, if
/// given), newest first; returns how many.
pub fn export_reviewed(
    store: &dyn AppStore,
    scope: &Scope,
    filter: &Filter,
    window: Option<(DateTime<Utc>, DateTime<Utc>)>,
    fmt: Format,
    studio: Option<&crate::studio::StudioLinks>,
    out: &mut impl Write,
) -> Result<u64> {
    match fmt {
        Format::Csv => csv_rows::write_header::<ReviewedRow>(out)?,
        Format::Md => writeln!(out, "# Reviewed PolyAI conversations\n")?,
        Format::Jsonl => {}
    }
    let in_window = |c: &Conversation| match (window, c.started_at) {
        (None, _) => true,
        (Some((start, end)), Some(t)) => t >= start && t < end,
        (Some(_), None) => false,
    };
    let mut n = 0;
    for item in Matching::new(store, scope, filter) {
        let (key, conversation, marks) = item.map_err(|e| anyhow::anyhow!("{}; {}", e.headline(), e.hint()))?;
        if !in_window(&conversation) {
            continue;
        }
        let scores = store
            .scores(&key)
            .map_err(|e| anyhow::anyhow!("{}; {}", e.headline(), e.hint()))?;
        match fmt {
            Format::Jsonl => {
                let mut v = serde_json::to_value(&conversation)?;
                v["review"] = marks_json(&marks);
                v["scores"] = super::scores::scores_json(&scores);
                format::write_json_line(out, &serde_json::to_string(&v)?)?;
            }
            Format::Csv => {
                let row: ReviewedRow = (
                    ConversationRow::new(&conversation, studio),
                    ReviewCells::new(&marks),
                    ScoreCells::new(&scores),
                );
                csv_rows::write_rows(out, [row])?;
            }
            Format::Md => writeln!(
                out,
                "{}",
                super::markdown::render_with_scores(&conversation, Some(&marks), &scores, studio)
            )?,
        }
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ConversationKey, Origin};
    use crate::store::Store;

    fn conv(id: &str, minutes_ago: i64) -> Conversation {
        let mut c: Conversation = serde_json::from_str(&format!(
            r#"{{"id":"{id}","channel":"VOICE-SIP","environment":"live","total_duration":40,"num_turns":1,
            "turns":[{{"user_input":"hello, my card is lost","agent_response":"Sorry to hear that"}}]}}"#
        ))
        .unwrap();
        c.started_at = Some(Utc::now() - chrono::Duration::minutes(minutes_ago));
        c
    }

    #[test]
    fn exports_only_what_was_reviewed_or_flagged_with_marks() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let origin = Origin::new("ws-1", "P-1", "live");
        store
            .cache(&origin, &[conv("CA1", 5), conv("CA2", 10), conv("CA3", 60 * 48)])
            .unwrap();
        let key = |id: &str| ConversationKey {
            account: "ws-1".into(),
            project: "P-1".into(),
            environment: "live".into(),
            id: id.into(),
        };
        store.set_status(&key("CA1"), ReviewStatus::Reviewed).unwrap();
        store.set_note(&key("CA1"), "caller, \"upset\"").unwrap();
        store.toggle_flag(&key("CA2"), "wrong_info").unwrap();
        store.set_status(&key("CA3"), ReviewStatus::Reviewed).unwrap();
        let scope = Scope::env("ws-1", "P-1", "live");

        let reviewed = filter_from_flags(true, false, None).unwrap().unwrap();
        let mut out = Vec::new();
        assert_eq!(
            export_reviewed(&store, &scope, &reviewed, None, Format::Jsonl, None, &mut out).unwrap(),
            2
        );
        let lines: Vec<Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[0]["id"], "CA1", "newest first");
        assert_eq!(lines[0]["review"]["status"], "reviewed");
        assert_eq!(lines[0]["review"]["note"], "caller, \"upset\"");

        // A window keeps only the recent one.
        let now = Utc::now();
        let mut out = Vec::new();
        let window = Some((now - chrono::Duration::hours(24), now));
        assert_eq!(
            export_reviewed(&store, &scope, &reviewed, window, Format::Csv, None, &mut out).unwrap(),
            1
        );
        let csv = String::from_utf8(out).unwrap();
        assert!(
            csv.lines()
                .next()
                .unwrap()
                .ends_with(",review_status,flags,note,qa_score,qa_auto_failed,qa_scores")
        );
        assert!(
            csv.lines()
                .nth(1)
                .unwrap()
                .ends_with(",reviewed,,\"caller, \"\"upset\"\"\",,,"),
            "{csv}"
        );

        let flagged = filter_from_flags(false, true, Some("voice")).unwrap().unwrap();
        let mut out = Vec::new();
        assert_eq!(
            export_reviewed(&store, &scope, &flagged, None, Format::Md, None, &mut out).unwrap(),
            1
        );
        let md = String::from_utf8(out).unwrap();
        assert!(md.contains("CA2") && md.contains("wrong_info"), "{md}");

        assert!(filter_from_flags(false, false, None).unwrap().is_none());
        assert!(
            filter_from_flags(true, false, Some("status:follow-up"))
                .unwrap_err()
                .to_string()
                .contains("contradicts")
        );
        assert!(filter_from_flags(false, false, Some("latency>")).is_err());
    }
}
