//! Untrusted text (transcripts, metadata, error bodies) made safe to draw.
//!
//! A terminal obeys whatever escape sequences reach it: colour, window title, clipboard
//! (OSC 52), hyperlinks, even key rebinding on some terminals. Everything from the network
//! goes through [`sanitize_line`] or [`sanitize_text`] before it is rendered, so that:
//! - ESC/CSI/OSC/DCS/SOS/PM/APC sequences (7-bit and 8-bit forms) become one visible `␛`;
//! - other C0 controls become their control picture (`␀`…`␟`, `␡`), C1 controls `�`;
//! - bidi overrides/isolates/marks are removed (they reorder what the user reads);
//! - tabs become spaces (to the next multiple of [`TAB_WIDTH`]);
//! - a combining mark with no base gets a dotted circle `◌`, so it cannot merge with a border.
//!
//! Widths use `unicode-width`, the same tables ratatui uses, so wide (CJK, emoji) and
//! zero-width characters keep columns aligned.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Columns per tab stop.
pub const TAB_WIDTH: usize = 4;
/// Stands for a removed escape sequence.
pub const ESCAPE_PLACEHOLDER: char = '␛';
/// Stands for a C1 control.
pub const C1_PLACEHOLDER: char = '�';

/// One line: newlines become spaces.
pub fn sanitize_line(s: &str) -> String {
    sanitize(s, false)
}

/// Multi-line text: `\n` (and `\r\n`) are kept as line breaks, a lone `\r` becomes one.
pub fn sanitize_text(s: &str) -> String {
    sanitize(s, true)
}

/// Display width in terminal columns.
pub fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// The string terminator of OSC/DCS-like sequences: BEL, `ESC \` or 8-bit ST.
fn skip_to_string_terminator(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' | '\u{9C}' => return,
            '\u{1b}' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                return;
            }
            _ => {}
        }
    }
}

/// CSI: parameters and intermediates, then one final byte in `@`..=`~`.
fn skip_csi(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    for c in chars.by_ref() {
        if ('\u{40}'..='\u{7e}').contains(&c) {
            return;
        }
        if !('\u{20}'..='\u{3f}').contains(&c) {
            // Not a well-formed CSI; stop so real text is not swallowed.
            return;
        }
    }
}

fn sanitize(s: &str, multiline: bool) -> String {
    let mut out = String::with_capacity(s.len());
    let mut col = 0usize;
    let mut has_base = false;
    let mut chars = s.chars().peekable();
    let push = |out: &mut String, c: char, col: &mut usize, has_base: &mut bool| {
        out.push(c);
        *col += c.width().unwrap_or(0);
        *has_base = true;
    };
    while let Some(c) = chars.next() {
        match c {
            '\t' => {
                let n = TAB_WIDTH - col % TAB_WIDTH;
                for _ in 0..n {
                    push(&mut out, ' ', &mut col, &mut has_base);
                }
            }
            '\r' | '\n' => {
                if c == '\r' && chars.peek() == Some(&'\n') {
                    chars.next();
                }
                if multiline {
                    out.push('\n');
                    col = 0;
                    has_base = false;
                } else {
                    push(&mut out, ' ', &mut col, &mut has_base);
                }
            }
            '\u{1b}' => {
                match chars.next() {
                    Some('[') => skip_csi(&mut chars),
                    Some(']' | 'P' | 'X' | '^' | '_') => skip_to_string_terminator(&mut chars),
                    // Two-character escapes (ESC 7, ESC c, ESC ( B …): the next char goes too.
                    Some(_) | None => {}
                }
                push(&mut out, ESCAPE_PLACEHOLDER, &mut col, &mut has_base);
            }
            '\u{9b}' => {
                skip_csi(&mut chars);
                push(&mut out, ESCAPE_PLACEHOLDER, &mut col, &mut has_base);
            }
            '\u{90}' | '\u{98}' | '\u{9d}' | '\u{9e}' | '\u{9f}' => {
                skip_to_string_terminator(&mut chars);
                push(&mut out, ESCAPE_PLACEHOLDER, &mut col, &mut has_base);
            }
            '\u{0}'..='\u{1f}' => {
                let picture = char::from_u32(0x2400 + c as u32).unwrap_or(C1_PLACEHOLDER);
                push(&mut out, picture, &mut col, &mut has_base);
            }
            '\u{7f}' => push(&mut out, '␡', &mut col, &mut has_base),
            '\u{80}'..='\u{9f}' => push(&mut out, C1_PLACEHOLDER, &mut col, &mut has_base),
            c if is_bidi_control(c) => {}
            c => {
                let w = c.width().unwrap_or(0);
                if w == 0 && !has_base && c != '\u{200D}' {
                    // A combining mark must sit on something of ours, not on a border.
                    push(&mut out, '◌', &mut col, &mut has_base);
                }
                push(&mut out, c, &mut col, &mut has_base);
            }
        }
    }
    out
}

/// JSON text with C1 controls, DEL and bidi controls written as `\uXXXX` escapes. JSON writers
/// escape C0 controls themselves but pass these through raw, and a terminal obeys an 8-bit CSI
/// (U+009B) like `ESC [`. In valid JSON such characters can only sit inside strings, where the
/// escape decodes to the same character: the JSON value is unchanged.
pub fn escape_json_controls(json: &str) -> std::borrow::Cow<'_, str> {
    escape_json(json, false)
}

/// [`escape_json_controls`], and line breaks (valid JSON has them only between tokens) become
/// spaces, so a document stays on one line (JSONL), with the same value.
pub fn escape_json_line(json: &str) -> std::borrow::Cow<'_, str> {
    escape_json(json, true)
}

fn escape_json(json: &str, one_line: bool) -> std::borrow::Cow<'_, str> {
    let needs =
        |c: char| matches!(c, '\u{7f}'..='\u{9f}') || is_bidi_control(c) || (one_line && matches!(c, '\n' | '\r'));
    if !json.chars().any(needs) {
        return std::borrow::Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        match c {
            '\n' | '\r' if one_line => out.push(' '),
            c if needs(c) => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Cuts `s` to at most `max` columns, ending with `…` when something was cut.
pub fn truncate(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > max - 1 {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// Pads `s` with spaces (or truncates it) to exactly `cols` columns.
pub fn fit(s: &str, cols: usize) -> String {
    let mut t = truncate(s, cols);
    let w = width(&t);
    t.extend(std::iter::repeat_n(' ', cols.saturating_sub(w)));
    t
}

/// Word-wraps sanitized text to `cols` columns; `\n` forces a break; a word longer than
/// a line is split. Never returns an empty vector (an empty text is one empty line).
pub fn wrap(s: &str, cols: usize) -> Vec<String> {
    let cols = cols.max(1);
    let mut lines = Vec::new();
    for para in s.split('\n') {
        let mut line = String::new();
        let mut used = 0usize;
        for word in para.split(' ') {
            let ww = width(word);
            let sep = usize::from(used > 0);
            if used + sep + ww <= cols {
                if sep == 1 {
                    line.push(' ');
                }
                line.push_str(word);
                used += sep + ww;
                continue;
            }
            if used > 0 {
                lines.push(std::mem::take(&mut line));
                used = 0;
            }
            if ww <= cols {
                line.push_str(word);
                used = ww;
                continue;
            }
            for c in word.chars() {
                let w = c.width().unwrap_or(0);
                if used + w > cols && used > 0 {
                    lines.push(std::mem::take(&mut line));
                    used = 0;
                }
                line.push(c);
                used += w;
            }
        }
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_keeps_its_value_but_loses_raw_c1_and_bidi() {
        let raw = "{\"id\":\"CA\\u001b[2J\",\r\n  \"note\":\"a\u{9b}31mb\u{7f}\u{202e}c\",\n\"n\":1}";
        assert!(
            escape_json_controls(raw).contains("\r\n  \"note"),
            "pretty JSON stays pretty"
        );
        let escaped = escape_json_line(raw);
        assert!(
            !escaped.contains(['\u{9b}', '\u{7f}', '\u{202e}', '\n', '\r']),
            "{escaped}"
        );
        assert!(escaped.contains("a\\u009b31mb\\u007f\\u202ec"), "{escaped}");
        let a: serde_json::Value = serde_json::from_str(raw).unwrap();
        let b: serde_json::Value = serde_json::from_str(&escaped).unwrap();
        assert_eq!(a, b);
        assert!(matches!(
            escape_json_controls("{\"a\":\"café 東京\"}"),
            std::borrow::Cow::Borrowed(_)
        ));
        // serde_json escapes C0 itself but writes C1 raw: the reason this function exists.
        let written = serde_json::to_string(&serde_json::json!({"x": "\u{1b}\u{9b}"})).unwrap();
        assert!(written.contains("\\u001b") && written.contains('\u{9b}'), "{written}");
    }

    #[test]
    fn plain_text_is_unchanged() {
        assert_eq!(sanitize_line("Hi, I'd like a table"), "Hi, I'd like a table");
        assert_eq!(sanitize_line("café 東京 🎉"), "café 東京 🎉");
    }

    #[test]
    fn csi_colour_and_cursor_sequences_are_neutralized() {
        assert_eq!(sanitize_line("\u{1b}[31mred\u{1b}[0m"), "␛red␛");
        assert_eq!(sanitize_line("a\u{1b}[2J\u{1b}[1;1Hb"), "a␛␛b");
        assert_eq!(sanitize_line("x\u{9b}31my"), "x␛y");
    }

    #[test]
    fn osc_title_clipboard_and_hyperlinks_are_neutralized() {
        assert_eq!(sanitize_line("\u{1b}]0;pwned\u{7}ok"), "␛ok");
        assert_eq!(sanitize_line("\u{1b}]52;c;ZXZpbA==\u{1b}\\ok"), "␛ok");
        assert_eq!(
            sanitize_line("\u{1b}]8;;http://evil\u{1b}\\click\u{1b}]8;;\u{1b}\\"),
            "␛click␛"
        );
        assert_eq!(sanitize_line("\u{9d}0;t\u{9c}ok"), "␛ok");
    }

    #[test]
    fn dcs_and_apc_are_neutralized() {
        assert_eq!(sanitize_line("\u{1b}P1$r\u{1b}\\z"), "␛z");
        assert_eq!(sanitize_line("\u{1b}_hidden\u{1b}\\z"), "␛z");
        assert_eq!(sanitize_line("\u{90}dcs\u{9c}z"), "␛z");
    }

    #[test]
    fn unterminated_sequences_do_not_leak() {
        assert_eq!(sanitize_line("a\u{1b}]0;never ends"), "a␛");
        assert_eq!(sanitize_line("a\u{1b}"), "a␛");
        assert_eq!(sanitize_line("a\u{1b}["), "a␛");
        // A broken CSI stops at the first non-CSI byte.
        assert_eq!(sanitize_line("a\u{1b}[1\u{1}b"), "a␛b");
    }

    #[test]
    fn c0_and_c1_controls_become_visible() {
        assert_eq!(sanitize_line("a\u{7}b\u{8}c\u{0}"), "a␇b␈c␀");
        assert_eq!(sanitize_line("a\u{7f}b"), "a␡b");
        assert_eq!(sanitize_line("a\u{85}b"), "a�b");
    }

    #[test]
    fn bidi_overrides_are_removed() {
        assert_eq!(sanitize_line("abc\u{202E}fed\u{202C}"), "abcfed");
        assert_eq!(sanitize_line("\u{2067}x\u{2069}\u{200F}"), "x");
    }

    #[test]
    fn tabs_expand_to_stops_and_newlines_depend_on_mode() {
        assert_eq!(sanitize_line("a\tb"), "a   b");
        assert_eq!(sanitize_line("abcd\tb"), "abcd    b");
        assert_eq!(sanitize_line("one\r\ntwo\nthree"), "one two three");
        assert_eq!(sanitize_text("one\r\ntwo\rthree"), "one\ntwo\nthree");
        assert_eq!(sanitize_text("x\n\ty"), "x\n    y");
    }

    #[test]
    fn stray_combining_marks_get_a_base() {
        assert_eq!(sanitize_line("\u{301}a"), "◌\u{301}a");
        assert_eq!(sanitize_line("e\u{301}"), "e\u{301}");
        assert_eq!(width(&sanitize_line("\u{301}")), 1);
    }

    #[test]
    fn widths_of_wide_and_combining_text() {
        assert_eq!(width("東京"), 4);
        assert_eq!(width("e\u{301}"), 1);
        assert_eq!(width("🎉"), 2);
    }

    #[test]
    fn truncate_and_fit_respect_columns() {
        assert_eq!(truncate("hello world", 5), "hell…");
        assert_eq!(truncate("東京タワー", 5), "東京…");
        assert_eq!(width(&truncate("東京タワー", 4)), 3);
        assert_eq!(truncate("hi", 5), "hi");
        assert_eq!(fit("東京", 5), "東京 ");
        assert_eq!(fit("abcdef", 3), "ab…");
        assert_eq!(truncate("abc", 0), "");
    }

    #[test]
    fn wrap_breaks_words_and_long_runs() {
        assert_eq!(wrap("the quick brown fox", 9), vec!["the quick", "brown fox"]);
        assert_eq!(wrap("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
        assert_eq!(wrap("東京東京東", 4), vec!["東京", "東京", "東"]);
        assert_eq!(wrap("a\nb", 10), vec!["a", "b"]);
        assert_eq!(wrap("", 10), vec![""]);
        for line in wrap("混合 text with 絵文字 🎉🎉🎉 and more words", 7) {
            assert!(width(&line) <= 7, "{line:?}");
        }
    }
}
