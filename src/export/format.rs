//! Output formats of `callscope export`: JSONL (lossless), CSV (one row per call), Markdown (readable).

use std::io::{self, Write};

use serde::Serialize;
use serde_json::value::RawValue;

use super::csv_rows::{self, Text};
use super::scores::ScoreCells;
use crate::api::Conversation;
use crate::domain::ScoreRecord;
use crate::studio::StudioLinks;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One JSON object per line, exactly as the API sent it (unknown fields kept).
    Jsonl,
    /// One row per conversation: the summary fields, no transcript.
    Csv,
    /// A readable document: metadata and the transcript of every conversation.
    Md,
}

/// Writes the part before the first record.
pub fn write_header(out: &mut impl Write, format: Format) -> io::Result<()> {
    match format {
        Format::Jsonl => Ok(()),
        Format::Csv => csv_rows::write_header::<ConversationRow>(out),
        Format::Md => writeln!(out, "# PolyAI conversations\n"),
    }
}

/// As [`write_header`] for an export that carries the local store's scores: CSV has the score
/// columns (`qa_score`, `qa_auto_failed`, `qa_scores`) after the conversation's, as
/// `export --reviewed` has them.
pub fn write_header_scored(out: &mut impl Write, format: Format, scored: bool) -> io::Result<()> {
    match format {
        Format::Csv if scored => csv_rows::write_header::<(ConversationRow, ScoreCells)>(out),
        f => write_header(out, f),
    }
}

/// As [`write_parsed`] with the call's saved scores (possibly none): CSV gets the score cells,
/// Markdown the **Scorecards** section; JSONL takes [`super::scores::with_scores_member`].
pub fn write_parsed_scored(
    out: &mut impl Write,
    format: Format,
    c: &Conversation,
    studio: Option<&StudioLinks>,
    records: &[ScoreRecord],
) -> io::Result<()> {
    match format {
        Format::Csv => csv_rows::write_rows(out, [(ConversationRow::new(c, studio), ScoreCells::new(records))]),
        Format::Md => writeln!(out, "{}", super::markdown::render_with_scores(c, None, records, studio)),
        Format::Jsonl => write_parsed(out, format, c, studio),
    }
}

/// Writes one conversation as the API sent it, on one line. JSON already escapes C0 controls;
/// C1 and bidi controls, which it lets through raw, become `\u` escapes (the same JSON value).
pub fn write_raw(out: &mut impl Write, raw: &RawValue) -> io::Result<()> {
    write_json_line(out, raw.get())
}

/// One JSON document on one line, with [`crate::sanitize::escape_json_line`].
pub fn write_json_line(out: &mut impl Write, json: &str) -> io::Result<()> {
    out.write_all(crate::sanitize::escape_json_line(json).as_bytes())?;
    out.write_all(b"\n")
}

/// Writes one parsed conversation as CSV or Markdown (JSONL takes `write_raw`), with its Agent
/// Studio link where the region is known.
pub fn write_parsed(
    out: &mut impl Write,
    format: Format,
    c: &Conversation,
    studio: Option<&StudioLinks>,
) -> io::Result<()> {
    match format {
        Format::Jsonl => write_raw(out, &serde_json::value::to_raw_value(c).map_err(io::Error::other)?),
        Format::Csv => write_csv_row(out, c, studio),
        Format::Md => write_markdown(out, c, studio),
    }
}

/// The names of the fields that could not be read, `;`-separated (the `unread_fields` column).
fn unread(c: &Conversation) -> String {
    let names: Vec<&str> = c.odd_fields.iter().map(|o| o.field).collect();
    names.join(";")
}

/// A flag's cell: empty (not a made-up `false`) when the field could not be read.
fn flag(c: &Conversation, field: &str, v: bool) -> Option<bool> {
    (!c.is_odd(field)).then_some(v)
}

/// A float as Rust prints it (`1.42`, `4`), not the csv crate's `4.0`.
fn float(v: Option<f64>) -> Option<String> {
    v.map(|v| v.to_string())
}

/// One CSV row of `callscope export`; the header is these field names, in order.
/// New columns go before `unread_fields`, which stays last.
#[derive(Debug, Default, Serialize)]
pub struct ConversationRow<'a> {
    id: Text<'a>,
    started_at: Option<String>,
    environment: Text<'a>,
    channel: Text<'a>,
    total_duration: Option<u32>,
    polyai_duration: Option<u32>,
    num_turns: Option<u32>,
    in_progress: Option<bool>,
    handoff: Option<bool>,
    handoff_reason: Text<'a>,
    handoff_destination: Text<'a>,
    from_number: Text<'a>,
    to_number: Text<'a>,
    variant_name: Text<'a>,
    num_silences: Option<u32>,
    num_ood: Option<u32>,
    direction: Text<'a>,
    language: Text<'a>,
    summary: Text<'a>,
    summary_heading: Text<'a>,
    summary_content: Text<'a>,
    poly_score: Option<String>,
    tags: Text<'a>,
    /// Agent Studio's note; `export --reviewed` adds callscope's own review `note` after it.
    server_note: Text<'a>,
    max_latency: Option<String>,
    functions: Text<'a>,
    studio_url: Option<Text<'a>>,
    unread_fields: Text<'a>,
}

impl<'a> ConversationRow<'a> {
    /// A field that could not be read is an empty cell (not a made-up `false` or `0`) and is
    /// named in the last column.
    pub fn new(c: &'a Conversation, studio: Option<&StudioLinks>) -> Self {
        let functions: Vec<&str> = c
            .turns
            .iter()
            .flat_map(|t| t.function_events.iter().map(|e| e.name.as_str()))
            .collect();
        ConversationRow {
            id: c.id.as_str().into(),
            started_at: c
                .started_at
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            environment: c.environment.as_str().into(),
            channel: c.channel.as_str().into(),
            total_duration: c.total_duration,
            polyai_duration: c.polyai_duration,
            num_turns: (c.num_turns.is_some() || !c.is_odd("turns")).then(|| c.turn_count()),
            in_progress: flag(c, "in_progress", c.in_progress),
            handoff: flag(c, "handoff", c.handoff),
            handoff_reason: c.handoff_reason.as_str().into(),
            handoff_destination: c.handoff_destination.as_str().into(),
            from_number: c.from_number.as_str().into(),
            to_number: c.to_number.as_str().into(),
            variant_name: c.variant_name.as_str().into(),
            num_silences: c.num_silences,
            num_ood: c.num_ood,
            direction: c.direction.as_str().into(),
            language: c.language.as_str().into(),
            summary: c.short_summary.as_str().into(),
            summary_heading: c.summary_heading.as_str().into(),
            summary_content: c.summary_content.as_str().into(),
            poly_score: float(c.poly_score),
            tags: c.tags.join(";").into(),
            server_note: c.note.as_str().into(),
            max_latency: float(c.max_latency()),
            functions: functions.join(";").into(),
            studio_url: studio.map(|l| l.conversation_url(&c.id).into()),
            unread_fields: unread(c).into(),
        }
    }
}

/// The header line (without its line break).
pub fn csv_header() -> io::Result<String> {
    csv_rows::header::<ConversationRow>()
}

/// One CSV row (see [`ConversationRow`]).
pub fn write_csv_row(out: &mut impl Write, c: &Conversation, studio: Option<&StudioLinks>) -> io::Result<()> {
    csv_rows::write_rows(out, [ConversationRow::new(c, studio)])
}

/// One conversation as Markdown (see [`super::markdown`]), without review marks.
pub fn write_markdown(out: &mut impl Write, c: &Conversation, studio: Option<&StudioLinks>) -> io::Result<()> {
    writeln!(out, "{}", super::markdown::render(c, None, studio))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv() -> Conversation {
        serde_json::from_str(
            r#"{"id":"CA1","channel":"VOICE-SIP","environment":"live","started_at":"2026-01-01T10:00:00Z",
            "total_duration":65,"num_turns":1,"handoff":true,"handoff_reason":"billing, \"urgent\"",
            "from_number":"=HYPERLINK(1)","turns":[{"user_input":"hi <b>|x\u001b[31m","user_input_datetime":"2026-01-01T10:00:05Z",
            "agent_response":"hello","agent_response_datetime":"2026-01-01T10:01:02Z","latency":0.8,"intents":["greet"]}]}"#,
        )
        .unwrap()
    }

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let mut out = Vec::new();
        write_csv_row(&mut out, &conv(), None).unwrap();
        let line = String::from_utf8(out).unwrap();
        assert!(
            line.starts_with("CA1,2026-01-01T10:00:00Z,live,VOICE-SIP,65,,1,false,true,\"billing, \"\"urgent\"\"\""),
            "{line}"
        );
        assert!(line.contains(",'=HYPERLINK(1),"), "{line}");
        assert_eq!(
            csv_header().unwrap().split(',').count(),
            line.trim_end().split(',').count() - 1,
            "one comma inside a quoted field"
        );
    }

    #[test]
    fn markdown_has_offsets_and_no_escapes() {
        let mut out = Vec::new();
        write_markdown(&mut out, &conv(), None).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("- `00:05` **User:** hi &lt;b>\\|x␛ _(intent greet)_"),
            "{text}"
        );
        assert!(text.contains("- `01:02` **Agent:** hello _(0.80s)_"), "{text}");
        assert!(!text.contains('\u{1b}'));
    }

    fn odd_conv() -> Conversation {
        serde_json::from_str(
            r#"{"id":7,"channel":"WEBCHAT","environment":"live","handoff":"sometimes","in_progress":[1],
            "handoff_reason":"billing","turns":{"0":{}},"total_duration":"12"}"#,
        )
        .unwrap()
    }

    fn cells(line: &str) -> std::collections::HashMap<String, String> {
        csv_header()
            .unwrap()
            .split(',')
            .map(String::from)
            .zip(line.trim_end().split(','))
            .map(|(k, v)| (k, v.to_string()))
            .collect()
    }

    #[test]
    fn csv_leaves_unread_fields_empty_and_names_them() {
        let mut out = Vec::new();
        write_csv_row(&mut out, &odd_conv(), None).unwrap();
        let line = String::from_utf8(out).unwrap();
        let row = cells(&line);
        assert_eq!(
            csv_header().unwrap().split(',').count(),
            line.trim_end().split(',').count()
        );
        assert_eq!(row["id"], "7");
        assert_eq!(row["total_duration"], "12");
        assert_eq!(row["handoff_reason"], "billing");
        assert_eq!(row["handoff"], "", "not a made-up false");
        assert_eq!(row["in_progress"], "");
        assert_eq!(row["num_turns"], "", "no count and no readable turns");
        assert_eq!(row["unread_fields"], "handoff;in_progress;turns");
        // A clean record has an empty last column and real values.
        let mut out = Vec::new();
        write_csv_row(&mut out, &conv(), None).unwrap();
        let row = cells(std::str::from_utf8(&out).unwrap());
        assert_eq!((row["handoff"].as_str(), row["unread_fields"].as_str()), ("true", ""));
    }

    #[test]
    fn markdown_names_unread_fields_and_keeps_the_rest() {
        let mut out = Vec::new();
        write_markdown(&mut out, &odd_conv(), None).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("## 7 — WEBCHAT · unknown start"), "{text}");
        assert!(text.contains("- env live · duration 00:12\n"), "{text}");
        assert!(
            text.contains("- could not be read (left out, see the log): handoff, in_progress, turns"),
            "{text}"
        );
        assert!(
            !text.contains("- turns: 0"),
            "an unread transcript is not 0 turns: {text}"
        );
        assert!(!text.contains("Transcript hidden"), "{text}");
    }

    #[test]
    fn csv_has_the_real_objects_values_and_unread_fields_stays_last() {
        let c: Conversation =
            serde_json::from_str(include_str!("../../tests/fixtures/real/by_id_platform.json")).unwrap();
        let mut out = Vec::new();
        write_csv_row(&mut out, &c, None).unwrap();
        let line = String::from_utf8(out).unwrap();
        let row = cells(&line);
        assert_eq!(
            csv_header().unwrap().split(',').count(),
            line.trim_end().split(',').count(),
            "{line}"
        );
        assert_eq!(row["summary_heading"], "Double charge");
        assert_eq!(
            row["summary_content"],
            "Caller was charged twice for one booking and was handed to billing."
        );
        assert!(row["summary"].starts_with("Double charge: Caller"));
        assert_eq!((row["poly_score"].as_str(), row["tags"].as_str()), ("4", "billing;vip"));
        assert_eq!(row["server_note"], "Caller disputes a double charge");
        assert_eq!(
            (row["direction"].as_str(), row["language"].as_str()),
            ("inbound", "en-GB")
        );
        assert_eq!(row["max_latency"], "1.42");
        assert_eq!(row["functions"], "lookup_booking;transfer_to_billing");
        assert_eq!(row["from_number"], "REDACTED");
        assert!(csv_header().unwrap().ends_with(",unread_fields"));
    }
}
