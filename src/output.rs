//! The one way the commands print: every line for stdout or stderr goes through
//! [`crate::sanitize`] here, because any of it may carry server text (error messages,
//! correlation ids, conversation ids, URLs) and a terminal obeys the escape sequences in it.
//!
//! Use [`outln!`](crate::outln) and [`errln!`](crate::errln) instead of `println!`/`eprintln!`
//! (clippy's `print_stdout`/`print_stderr` lints hold the rest of the crate to it). Data written
//! as data (an export to stdout) is made safe by its format instead: see `export::format`.

use std::fmt;
use std::io::{self, Write};

use crate::sanitize::sanitize_text;

/// Text safe for a terminal: escape sequences and controls made visible, `\n` kept.
pub fn terminal_text(s: &str) -> String {
    sanitize_text(s)
}

/// `1 page`, `2 pages`: a count with its noun (a regular plural).
pub fn count(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Prints one sanitized line to stdout. A closed stdout (`| head`) is not an error worth a panic.
pub fn out_line(args: fmt::Arguments<'_>) {
    let line = terminal_text(&args.to_string());
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|_| out.flush());
}

/// Prints one sanitized line to stderr.
pub fn err_line(args: fmt::Arguments<'_>) {
    let line = terminal_text(&args.to_string());
    let _ = writeln!(io::stderr().lock(), "{line}");
}

/// `error: …` with the whole cause chain, sanitized: the last thing a failing command prints.
pub fn print_error(e: &anyhow::Error) {
    err_line(format_args!("error: {e:#}"));
}

/// `println!`, sanitized.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => { $crate::output::out_line(format_args!($($arg)*)) };
}

/// `eprintln!`, sanitized.
#[macro_export]
macro_rules! errln {
    ($($arg:tt)*) => { $crate::output::err_line(format_args!($($arg)*)) };
}

/// A writer that sanitizes what passes through it, for loggers (`tracing` writes one whole
/// event per call, so a sequence is never split across writes).
pub struct Sanitized<W: Write>(pub W);

impl<W: Write> Write for Sanitized<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let clean = terminal_text(&String::from_utf8_lossy(buf));
        self.0.write_all(clean.as_bytes())?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_logger_writer_passes_no_escapes_and_keeps_lines() {
        let mut w = Sanitized(Vec::new());
        w.write_all(b"WARN recording \x1b]52;c;ZXZpbA==\x07CA1 failed\n")
            .unwrap();
        w.write_all("id \u{9b}2J\u{1b}[2J done\n".as_bytes()).unwrap();
        let text = String::from_utf8(w.0).unwrap();
        assert_eq!(text, "WARN recording ␛CA1 failed\nid ␛␛ done\n");
    }
}
