//! The one parser for typed durations (`90s`, `30m`, `24h`, `7d`, `2w`): `export --since`, the
//! TUI's custom window, `--poll`. Checked arithmetic throughout: any input gives a value or a
//! clear error, never a panic or an overflowed date.

use std::time::Duration;

/// The longest duration anything accepts: far beyond any call history, far below where date
/// arithmetic overflows.
pub const MAX_SECS: u64 = 100 * 366 * 86_400;

/// Parses `<number><unit>` with unit `s`, `m`/`min`, `h`, `d` or `w` (spaces around are fine),
/// at most [`MAX_SECS`]. A bare number is refused: say which unit.
pub fn parse(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    if num.is_empty() {
        return Err(format!(
            "{t:?}: expected a number and a unit, e.g. 90s, 30m, 24h, 7d or 2w"
        ));
    }
    let unit_secs: u64 = match unit.trim() {
        "s" => 1,
        "m" | "min" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        "" => return Err(format!("{t:?}: add a unit: s, m, h, d or w (e.g. {num}h)")),
        _ => return Err(format!("{t:?}: the unit must be s, m, h, d or w")),
    };
    let too_long = || format!("{t:?} is too long: at most {} days", MAX_SECS / 86_400);
    // Digits only, so a parse failure means the number does not fit.
    let n: u64 = num.parse().map_err(|_| too_long())?;
    let secs = n
        .checked_mul(unit_secs)
        .filter(|&s| s <= MAX_SECS)
        .ok_or_else(too_long)?;
    Ok(Duration::from_secs(secs))
}

/// [`parse`], also taking a bare number as seconds (for intervals like `--poll 45`).
pub fn parse_or_secs(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return parse(&format!("{t}s"));
    }
    parse(t)
}

/// [`parse`] as a positive `chrono` span, for subtracting from a date.
pub fn parse_span(s: &str) -> Result<chrono::TimeDelta, String> {
    let d = parse(s)?;
    if d.is_zero() {
        return Err(format!("{:?}: must be more than zero", s.trim()));
    }
    // MAX_SECS keeps this in range; the fallback is unreachable but not a panic.
    chrono::TimeDelta::from_std(d).map_err(|_| format!("{:?} is too long", s.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_spaces() {
        assert_eq!(parse("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse(" 2 min "), Ok(Duration::from_secs(120)));
        assert_eq!(parse("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse("2w"), Ok(Duration::from_secs(14 * 86_400)));
        assert_eq!(parse_or_secs("45"), Ok(Duration::from_secs(45)));
        assert_eq!(parse_or_secs("1h"), Ok(Duration::from_secs(3600)));
    }

    #[test]
    fn huge_numbers_are_errors_not_panics() {
        for s in [
            "99999999d",
            "200000000000d",
            "18446744073709551615s",
            "99999999999999999999999w",
            "36700d",
        ] {
            let e = parse(s).unwrap_err();
            assert!(e.contains("too long") && e.contains("36600 days"), "{s}: {e}");
            assert!(parse_span(s).is_err());
        }
        assert!(parse("36600d").is_ok());
        assert_eq!(parse_span("36600d").unwrap().num_days(), 36_600);
    }

    #[test]
    fn every_user_takes_the_same_parser() {
        use crate::app::state::TimeWindow;
        let (now, tz) = (chrono::Utc::now(), chrono::FixedOffset::east_opt(0).unwrap());
        use clap::Parser;
        let since = |cmd: &[&str], v: &str| {
            let args = [&["callscope"], cmd, &["--since", v]].concat();
            crate::cli::Cli::try_parse_from(args).map_err(|e| e.to_string())
        };
        for huge in ["99999999d", "200000000000d"] {
            for cmd in [&["export"][..], &["stats"], &["queue", "create", "q"]] {
                assert!(since(cmd, huge).unwrap_err().contains("too long"), "{cmd:?}");
            }
            assert!(TimeWindow::parse(huge, now, tz).unwrap_err().contains("too long"));
            assert!(crate::tui::live::parse_poll(huge).unwrap_err().contains("too long"));
        }
        match since(&["export"], "2w").map(|c| c.command) {
            Ok(Some(crate::cli::Command::Export(a))) => assert_eq!(a.window.since.map(|d| d.num_days()), Some(14)),
            other => panic!("{other:?}"),
        }
        assert_eq!(TimeWindow::parse("90m", now, tz), Ok(TimeWindow::Last { secs: 5400 }));
        assert!(
            TimeWindow::parse("30s", now, tz)
                .unwrap_err()
                .contains("between 1 minute")
        );
        assert_eq!(crate::tui::live::parse_poll("45"), Ok(Duration::from_secs(45)));
    }

    #[test]
    fn malformed_input_says_what_to_write() {
        assert!(parse("soon").unwrap_err().contains("e.g. 90s"));
        assert!(parse("5").unwrap_err().contains("add a unit"));
        assert!(parse("5y").unwrap_err().contains("must be s, m, h, d or w"));
        assert!(parse("-5d").unwrap_err().contains("expected a number"));
        assert!(parse("").is_err());
        assert!(parse_span("0h").unwrap_err().contains("more than zero"));
        assert_eq!(parse("0s"), Ok(Duration::ZERO));
    }
}
