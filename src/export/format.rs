//! Output formats of `callscope export`: JSONL (lossless), CSV (one row per call), Markdown (readable).

use std::io::{self, Write};

use serde_json::value::RawValue;

use crate::api::Conversation;
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
        Format::Csv => writeln!(out, "{}", csv_header()),
        Format::Md => writeln!(out, "# PolyAI conversations\n"),
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

/// One CSV field of untrusted text: escape sequences and control characters made visible (only
/// `\n` line breaks are kept, inside quotes), spreadsheet formulas defused (a leading `=`, `+`,
/// `-`, `@`, TAB or CR gets a `'`), quoted when needed.
pub fn csv_field(s: &str) -> String {
    let formula = |t: &str| t.starts_with(['=', '+', '-', '@', '\t', '\r']) && t.parse::<f64>().is_err();
    let clean = crate::sanitize::sanitize_text(s);
    let s = if formula(s) || formula(&clean) {
        format!("'{clean}")
    } else {
        clean
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn opt(n: Option<u32>) -> String {
    n.map(|v| v.to_string()).unwrap_or_default()
}

/// The names of the fields that could not be read, `;`-separated (the `unread_fields` column).
fn unread(c: &Conversation) -> String {
    let names: Vec<&str> = c.odd_fields.iter().map(|o| o.field).collect();
    names.join(";")
}

/// A flag's cell: empty (not a made-up `false`) when the field could not be read.
fn flag(c: &Conversation, field: &str, v: bool) -> String {
    if c.is_odd(field) { String::new() } else { v.to_string() }
}

/// A cell from the conversation and, where the region is known, its Agent Studio link.
type Cell = fn(&Conversation, Option<&StudioLinks>) -> String;

/// The CSV columns: header name and cell, in order (one table, so they cannot drift apart).
/// New columns go before `unread_fields`, which stays last.
const COLUMNS: &[(&str, Cell)] = &[
    ("id", |c, _| csv_field(&c.id)),
    ("started_at", |c, _| {
        c.started_at
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default()
    }),
    ("environment", |c, _| csv_field(&c.environment)),
    ("channel", |c, _| csv_field(&c.channel)),
    ("total_duration", |c, _| opt(c.total_duration)),
    ("polyai_duration", |c, _| opt(c.polyai_duration)),
    ("num_turns", |c, _| {
        if c.num_turns.is_none() && c.is_odd("turns") {
            String::new()
        } else {
            c.turn_count().to_string()
        }
    }),
    ("in_progress", |c, _| flag(c, "in_progress", c.in_progress)),
    ("handoff", |c, _| flag(c, "handoff", c.handoff)),
    ("handoff_reason", |c, _| csv_field(&c.handoff_reason)),
    ("handoff_destination", |c, _| csv_field(&c.handoff_destination)),
    ("from_number", |c, _| csv_field(&c.from_number)),
    ("to_number", |c, _| csv_field(&c.to_number)),
    ("variant_name", |c, _| csv_field(&c.variant_name)),
    ("num_silences", |c, _| opt(c.num_silences)),
    ("num_ood", |c, _| opt(c.num_ood)),
    ("direction", |c, _| csv_field(&c.direction)),
    ("language", |c, _| csv_field(&c.language)),
    ("summary", |c, _| csv_field(&c.short_summary)),
    ("summary_heading", |c, _| csv_field(&c.summary_heading)),
    ("summary_content", |c, _| csv_field(&c.summary_content)),
    ("poly_score", |c, _| {
        c.poly_score.map(|s| s.to_string()).unwrap_or_default()
    }),
    ("tags", |c, _| csv_field(&c.tags.join(";"))),
    // Agent Studio's note; `export --reviewed` adds callscope's own review `note` after it.
    ("server_note", |c, _| csv_field(&c.note)),
    ("max_latency", |c, _| {
        c.max_latency().map(|l| l.to_string()).unwrap_or_default()
    }),
    ("functions", |c, _| {
        let names: Vec<&str> = c
            .turns
            .iter()
            .flat_map(|t| t.function_events.iter().map(|e| e.name.as_str()))
            .collect();
        csv_field(&names.join(";"))
    }),
    ("studio_url", |c, studio| {
        studio
            .map(|l| csv_field(&l.conversation_url(&c.id)))
            .unwrap_or_default()
    }),
    ("unread_fields", |c, _| csv_field(&unread(c))),
];

/// The header line (without its line break).
pub fn csv_header() -> String {
    COLUMNS.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(",")
}

/// One CSV row. A field that could not be read is an empty cell (not a made-up `false` or `0`)
/// and is named in the last column.
pub fn write_csv_row(out: &mut impl Write, c: &Conversation, studio: Option<&StudioLinks>) -> io::Result<()> {
    let cells: Vec<String> = COLUMNS.iter().map(|(_, cell)| cell(c, studio)).collect();
    writeln!(out, "{}", cells.join(","))
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
            csv_header().split(',').count(),
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

    #[test]
    fn csv_fields_lose_controls_and_defuse_tab_and_cr_formulas() {
        assert_eq!(csv_field("a\u{1b}]52;c;ZXZpbA==\u{7}b"), "a␛b");
        assert_eq!(csv_field("x\u{9b}2Jy\u{85}z\u{0}"), "x␛y�z␀");
        assert_eq!(csv_field("\tcmd"), "'    cmd");
        assert_eq!(csv_field("\r=1+1"), "\"'\n=1+1\"");
        assert_eq!(csv_field("=1+1"), "'=1+1");
        assert_eq!(csv_field("-12.5"), "-12.5", "numbers are not formulas");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field("plain"), "plain");
        for s in ["\u{1b}[2J", "a\u{9b}31m", "\u{7}\u{8}\u{7f}"] {
            assert!(!csv_field(s).chars().any(|c| c.is_control()), "{s:?}");
        }
    }

    fn odd_conv() -> Conversation {
        serde_json::from_str(
            r#"{"id":7,"channel":"WEBCHAT","environment":"live","handoff":"sometimes","in_progress":[1],
            "handoff_reason":"billing","turns":{"0":{}},"total_duration":"12"}"#,
        )
        .unwrap()
    }

    fn cells(line: &str) -> std::collections::HashMap<&'static str, String> {
        COLUMNS
            .iter()
            .map(|(name, _)| *name)
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
        assert_eq!(csv_header().split(',').count(), line.trim_end().split(',').count());
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
            csv_header().split(',').count(),
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
        assert!(csv_header().ends_with(",unread_fields"));
    }
}
