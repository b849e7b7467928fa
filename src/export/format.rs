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

pub const CSV_HEADER: &str = "id,started_at,environment,channel,total_duration,polyai_duration,num_turns,in_progress,handoff,handoff_reason,handoff_destination,from_number,to_number,variant_name,num_silences,num_ood,studio_url,unread_fields";

/// Writes the part before the first record.
pub fn write_header(out: &mut impl Write, format: Format) -> io::Result<()> {
    match format {
        Format::Jsonl => Ok(()),
        Format::Csv => writeln!(out, "{CSV_HEADER}"),
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

/// One CSV row. A field that could not be read is an empty cell (not a made-up `false` or `0`)
/// and is named in the last column.
pub fn write_csv_row(out: &mut impl Write, c: &Conversation, studio: Option<&StudioLinks>) -> io::Result<()> {
    let started = c
        .started_at
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default();
    let flag = |field: &str, v: bool| if c.is_odd(field) { String::new() } else { v.to_string() };
    let turns = if c.num_turns.is_none() && c.is_odd("turns") {
        String::new()
    } else {
        c.turn_count().to_string()
    };
    let fields = [
        csv_field(&c.id),
        started,
        csv_field(&c.environment),
        csv_field(&c.channel),
        opt(c.total_duration),
        opt(c.polyai_duration),
        turns,
        flag("in_progress", c.in_progress),
        flag("handoff", c.handoff),
        csv_field(&c.handoff_reason),
        csv_field(&c.handoff_destination),
        csv_field(&c.from_number),
        csv_field(&c.to_number),
        csv_field(&c.variant_name),
        opt(c.num_silences),
        opt(c.num_ood),
        studio
            .map(|l| csv_field(&l.conversation_url(&c.id)))
            .unwrap_or_default(),
        csv_field(&unread(c)),
    ];
    writeln!(out, "{}", fields.join(","))
}

/// Markdown-safe single line: escape sequences and controls made visible (the TUI's sanitizer),
/// no raw HTML, no table breaks.
fn md(s: &str) -> String {
    crate::sanitize::sanitize_line(s)
        .replace('<', "&lt;")
        .replace('|', "\\|")
}

fn mmss(secs: i64) -> String {
    format!("{:02}:{:02}", secs / 60, secs % 60)
}

/// One conversation as Markdown: a heading, its metadata, the transcript.
pub fn write_markdown(out: &mut impl Write, c: &Conversation, studio: Option<&StudioLinks>) -> io::Result<()> {
    let started = c
        .started_at
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| "unknown start".into());
    writeln!(out, "## {} — {} · {}\n", md(&c.id), md(&c.channel), started)?;
    writeln!(out, "- environment: {}", md(&c.environment))?;
    if let Some(l) = studio {
        writeln!(out, "- [open in Agent Studio]({})", l.conversation_url(&c.id))?;
    }
    if let Some(d) = c.total_duration {
        writeln!(out, "- duration: {}", mmss(d as i64))?;
    }
    if c.num_turns.is_some() || !c.is_odd("turns") {
        writeln!(out, "- turns: {}", c.turn_count())?;
    }
    if !c.from_number.is_empty() || !c.to_number.is_empty() {
        writeln!(out, "- from {} to {}", md(&c.from_number), md(&c.to_number))?;
    }
    if c.handoff {
        writeln!(
            out,
            "- handoff: {} → {}",
            md(&c.handoff_reason),
            md(&c.handoff_destination)
        )?;
    }
    if c.in_progress {
        writeln!(out, "- in progress")?;
    }
    if !c.odd_fields.is_empty() {
        writeln!(
            out,
            "- could not be read (left out, see the log): {}",
            md(&unread(c).replace(';', ", "))
        )?;
    }
    writeln!(out)?;
    if c.transcript_hidden() {
        writeln!(
            out,
            "_Transcript hidden: enable **Conversation transcript** under **API Keys > Configuration** in Agent Studio._\n"
        )?;
        return Ok(());
    }
    for t in &c.turns {
        let offset = |at: Option<chrono::DateTime<chrono::Utc>>| match (at, c.started_at) {
            (Some(a), Some(s)) => mmss((a - s).num_seconds().max(0)),
            _ => "--:--".into(),
        };
        if !t.user_input.is_empty() || !t.user_input_dtmf.is_empty() || t.is_silence {
            let mut text = md(&t.user_input);
            if !t.user_input_dtmf.is_empty() {
                text = format!("{text} [DTMF {}]", md(&t.user_input_dtmf)).trim().to_string();
            }
            if t.is_silence && text.is_empty() {
                text = "_(silence)_".into();
            }
            let mut notes = Vec::new();
            if !t.intents.is_empty() {
                notes.push(format!("intents: {}", md(&t.intents.join(", "))));
            }
            for e in &t.entities {
                notes.push(format!("{}={}", md(&e.name), md(&e.values.join("|"))));
            }
            if t.is_ood {
                notes.push("out of domain".into());
            }
            let notes = if notes.is_empty() {
                String::new()
            } else {
                format!(" _({})_", notes.join("; "))
            };
            writeln!(out, "- `{}` **USER**: {text}{notes}", offset(t.user_input_datetime))?;
            if !t.translated_user_input.is_empty() {
                writeln!(out, "  - translated: {}", md(&t.translated_user_input))?;
            }
        }
        if !t.agent_response.is_empty() {
            let latency = t
                .latency
                .filter(|l| *l > 0.0)
                .map(|l| format!(" _({l:.2}s)_"))
                .unwrap_or_default();
            writeln!(
                out,
                "- `{}` **AGENT**: {}{latency}",
                offset(t.agent_response_datetime),
                md(&t.agent_response)
            )?;
            if !t.english_agent_response.is_empty() {
                writeln!(out, "  - in English: {}", md(&t.english_agent_response))?;
            }
        }
    }
    writeln!(out)
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
            CSV_HEADER.split(',').count(),
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
            text.contains("- `00:05` **USER**: hi &lt;b>\\|x␛ _(intents: greet)_"),
            "{text}"
        );
        assert!(text.contains("- `01:02` **AGENT**: hello _(0.80s)_"), "{text}");
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
        CSV_HEADER
            .split(',')
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
        assert_eq!(CSV_HEADER.split(',').count(), line.trim_end().split(',').count());
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
        assert!(text.contains("- duration: 00:12"), "{text}");
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
    fn csv_and_markdown_carry_the_studio_link() {
        let links = StudioLinks::new(crate::config::Region::Uk, "ws-1", "P 1");
        let url = "https://studio.uk.poly.ai/ws-1/P%201/conversations/CA1";
        let mut out = Vec::new();
        write_csv_row(&mut out, &conv(), Some(&links)).unwrap();
        let line = String::from_utf8(out).unwrap();
        // `conv()` has a comma inside a quoted field: read from the end.
        assert_eq!(line.trim_end().rsplit(',').nth(1), Some(url));
        assert_eq!(CSV_HEADER.rsplit(',').next(), Some("unread_fields"), "stays last");
        let mut out = Vec::new();
        write_markdown(&mut out, &conv(), Some(&links)).unwrap();
        assert!(
            String::from_utf8(out)
                .unwrap()
                .contains(&format!("- [open in Agent Studio]({url})"))
        );
    }
}
