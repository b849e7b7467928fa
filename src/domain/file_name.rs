//! The one rule from an id to a file name. Ids come from the network, so a name keeps only
//! `[A-Za-z0-9_-]` (anything else, `.` included, becomes `_`): no `..`, no hidden files, no
//! second extension, no path separators, the same name in the TUI and in `export --with-audio`.

/// Longest stem kept, in characters: far below every file system's name limit.
const MAX_STEM: usize = 120;

/// A file-name stem for `id`; `conversation` when nothing is left.
pub fn safe_stem(id: &str) -> String {
    let stem: String = id
        .chars()
        .take(MAX_STEM)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if stem.is_empty() { "conversation".into() } else { stem }
}

/// `safe_stem(id)` + `.` + `ext`, e.g. `CA_1.wav` for `CA.1`.
pub fn safe_file_name(id: &str, ext: &str) -> String {
    format!("{}.{ext}", safe_stem(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untrusted_ids_stay_in_the_directory() {
        for (id, want) in [
            ("CA7f3e-01", "CA7f3e-01.wav"),
            ("CA7f-3_e", "CA7f-3_e.wav"),
            ("CA.1", "CA_1.wav"),
            ("../../etc/passwd", "______etc_passwd.wav"),
            (".hidden", "_hidden.wav"),
            ("", "conversation.wav"),
            ("a/b\\c\u{1b}", "a_b_c_.wav"),
            ("é", "_.wav"),
        ] {
            assert_eq!(safe_file_name(id, "wav"), want, "{id:?}");
        }
        assert_eq!(safe_stem(&"x".repeat(500)).len(), MAX_STEM);
    }
}
