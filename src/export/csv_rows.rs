//! CSV output through the `csv` crate: each CSV the CLI writes is a serde row struct, so the
//! header is the struct's field names and cannot drift from the cells. Untrusted text goes in a
//! [`Text`] cell, which defuses it; quoting is the crate's (only where a cell needs it).

use std::borrow::Cow;
use std::io::{self, Write};

use serde::{Serialize, Serializer};

/// A cell of untrusted text: escape sequences and control characters made visible (only `\n`
/// line breaks are kept, quoted), spreadsheet formulas defused (a leading `=`, `+`, `-`, `@`,
/// TAB or CR gets a `'`; numbers such as `-12.5` are left alone).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Text<'a>(pub Cow<'a, str>);

impl<'a> From<&'a str> for Text<'a> {
    fn from(s: &'a str) -> Self {
        Text(Cow::Borrowed(s))
    }
}

impl From<String> for Text<'_> {
    fn from(s: String) -> Self {
        Text(Cow::Owned(s))
    }
}

impl Serialize for Text<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&defuse(&self.0))
    }
}

/// The text a [`Text`] cell holds, before quoting.
fn defuse(s: &str) -> String {
    let formula = |t: &str| t.starts_with(['=', '+', '-', '@', '\t', '\r']) && t.parse::<f64>().is_err();
    let clean = crate::sanitize::sanitize_text(s);
    if formula(s) || formula(&clean) {
        format!("'{clean}")
    } else {
        clean
    }
}

fn writer<W: Write>(out: W, headers: bool) -> csv::Writer<W> {
    csv::WriterBuilder::new().has_headers(headers).from_writer(out)
}

/// The header line of row type `R` (its field names; a tuple of row structs gives them one after
/// the other), without the line break.
pub fn header<R: Serialize + Default>() -> io::Result<String> {
    let mut w = writer(Vec::new(), true);
    w.serialize(R::default())?;
    let bytes = w.into_inner().map_err(|e| io::Error::other(e.to_string()))?;
    let text = String::from_utf8(bytes).map_err(io::Error::other)?;
    Ok(text.lines().next().unwrap_or_default().to_string())
}

/// Writes the header line of `R`.
pub fn write_header<R: Serialize + Default>(out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "{}", header::<R>()?)
}

/// Writes rows (no header), one line each.
pub fn write_rows<R: Serialize>(out: &mut impl Write, rows: impl IntoIterator<Item = R>) -> io::Result<()> {
    let mut w = writer(out, false);
    for row in rows {
        w.serialize(row)?;
    }
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One cell as it lands in the file (quoted where needed), without the line break.
    fn cell(s: &str) -> String {
        let mut out = Vec::new();
        write_rows(&mut out, [(Text::from(s),)]).unwrap();
        String::from_utf8(out).unwrap().trim_end_matches('\n').to_string()
    }

    #[test]
    fn text_cells_lose_controls_and_defuse_tab_and_cr_formulas() {
        assert_eq!(cell("a\u{1b}]52;c;ZXZpbA==\u{7}b"), "a␛b");
        assert_eq!(cell("x\u{9b}2Jy\u{85}z\u{0}"), "x␛y�z␀");
        assert_eq!(cell("\tcmd"), "'    cmd");
        assert_eq!(cell("\r=1+1"), "\"'\n=1+1\"");
        assert_eq!(cell("=1+1"), "'=1+1");
        assert_eq!(cell("-12.5"), "-12.5", "numbers are not formulas");
        assert_eq!(cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(cell("a, \"b\""), "\"a, \"\"b\"\"\"");
        assert_eq!(cell("plain"), "plain");
        for s in ["\u{1b}[2J", "a\u{9b}31m", "\u{7}\u{8}\u{7f}"] {
            assert!(!cell(s).chars().any(|c| c.is_control()), "{s:?}");
        }
    }

    #[derive(Default, Serialize)]
    struct Left {
        a: u32,
        b: Option<bool>,
    }

    #[derive(Default, Serialize)]
    struct Right<'a> {
        c: Text<'a>,
    }

    #[test]
    fn header_comes_from_the_field_names_and_rows_follow_it() {
        assert_eq!(header::<Left>().unwrap(), "a,b");
        assert_eq!(header::<(Left, Right)>().unwrap(), "a,b,c");
        let mut out = Vec::new();
        write_rows(
            &mut out,
            [
                (Left { a: 1, b: None }, Right { c: "@x".into() }),
                (Left { a: 2, b: Some(true) }, Right { c: "y".into() }),
            ],
        )
        .unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "1,,'@x\n2,true,y\n");
    }
}
