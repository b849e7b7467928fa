//! Text preparation for the full-text index.
//!
//! SQLite's unicode61 tokenizer splits on spaces and punctuation, which leaves CJK text (written
//! without spaces) as one giant token and drops emoji entirely. Indexing each ideograph, kana and
//! emoji as its own token (separated by U+200B, which unicode61 treats as a separator and which
//! renders as nothing) makes "東京" find "東京駅" and "🙂" find a turn that contains it.
//! The same preparation is applied to queries, and U+200B is removed again from snippets.

use std::borrow::Cow;

pub const SEPARATOR: char = '\u{200B}';

/// Characters indexed one per token.
pub fn is_single_char_token(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF        // Hiragana, Katakana
        | 0x31F0..=0x31FF      // Katakana phonetic extensions
        | 0x3400..=0x4DBF      // CJK extension A
        | 0x4E00..=0x9FFF      // CJK unified ideographs
        | 0xF900..=0xFAFF      // CJK compatibility ideographs
        | 0x20000..=0x3134F    // CJK extensions B–G
        | 0x2600..=0x27BF      // Miscellaneous symbols, dingbats
        | 0x1F000..=0x1FAFF    // Emoji and pictographs
    )
}

/// Surrounds each single-char token with separators; borrows when there is nothing to do.
pub fn segment(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_single_char_token) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_single_char_token(c) {
            out.push(SEPARATOR);
            out.push(c);
            out.push(SEPARATOR);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Removes C0/C1 control characters (terminal escapes from untrusted text) except newline and tab.
pub fn strip_controls(text: &str) -> Cow<'_, str> {
    let bad = |c: char| (c.is_control() && c != '\n' && c != '\t') || c == SEPARATOR;
    if !text.chars().any(bad) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.chars().filter(|c| !bad(*c)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_cjk_and_emoji_only() {
        assert!(matches!(segment("plain café text"), Cow::Borrowed(_)));
        assert_eq!(
            segment("東京駅"),
            "\u{200B}東\u{200B}\u{200B}京\u{200B}\u{200B}駅\u{200B}"
        );
        assert_eq!(segment("ok🙂"), "ok\u{200B}🙂\u{200B}");
    }

    #[test]
    fn strips_escapes_keeps_newlines() {
        assert_eq!(strip_controls("a\u{1b}[31mb\nc\u{200B}d"), "a[31mb\ncd");
    }
}
