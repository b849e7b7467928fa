//! The one parser for typed times and time ranges, beside [`crate::domain::duration`] (the one for
//! durations): `export --start/--end` and the TUI's custom window (`w` → custom…) both take
//! these, so what one accepts the other does.
//!
//! A time is RFC 3339 (`2026-12-01T09:00:00Z`, seconds optional: `2026-12-01T09:00Z`, any
//! offset), a date (`2026-12-01`, local midnight), `today` or `yesterday` (local midnight), or
//! `now`. A range is `A..B` (A included, B excluded), or a single day (`today`, `yesterday`,
//! `2026-12-01`: that whole day, up to now for today).

use chrono::{DateTime, Days, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};

/// From (included) and to (excluded).
pub type Range = (DateTime<Utc>, DateTime<Utc>);

/// What the error messages offer as examples.
pub const EXAMPLES: &str = "2026-12-01T09:00Z, 2026-12-01, today or yesterday";

/// One typed time, relative to `now` in the local offset `tz`.
pub fn parse_time(s: &str, now: DateTime<Utc>, tz: FixedOffset) -> Result<DateTime<Utc>, String> {
    let t = s.trim();
    let day = |d: NaiveDate| midnight(d, tz).ok_or_else(|| format!("{t:?} is out of range"));
    let today = now.with_timezone(&tz).date_naive();
    match t.to_ascii_lowercase().as_str() {
        "now" => return Ok(now),
        "today" => return day(today),
        "yesterday" => return day(today.checked_sub_days(Days::new(1)).ok_or("out of range")?),
        _ => {}
    }
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return day(d);
    }
    if let Some(at) = crate::api::model::parse_time(t) {
        return Ok(at);
    }
    // RFC 3339 without seconds, as people type it: 2026-12-01T09:00Z, 2026-12-01 09:00+01:00.
    for f in ["%Y-%m-%dT%H:%M%#z", "%Y-%m-%d %H:%M%#z"] {
        if let Ok(at) = DateTime::parse_from_str(&t.replace(['Z', 'z'], "+00:00"), f) {
            return Ok(at.with_timezone(&Utc));
        }
    }
    Err(format!("{t:?} is not a time: write e.g. {EXAMPLES}"))
}

/// A typed range: `A..B`, or one day. `None` when `s` is not written as a range at all (so a
/// caller can try a duration instead).
pub fn parse_range(s: &str, now: DateTime<Utc>, tz: FixedOffset) -> Option<Result<Range, String>> {
    let t = s.trim();
    let range = if let Some((a, b)) = t.split_once("..") {
        let end = if b.trim().is_empty() {
            Ok(now)
        } else {
            parse_time(b, now, tz)
        };
        parse_time(a, now, tz).and_then(|a| end.map(|b| (a, b)))
    } else if is_day(t) {
        parse_time(t, now, tz).map(|start| {
            let next_day = start.with_timezone(&tz).date_naive().checked_add_days(Days::new(1));
            let end = next_day.and_then(|d| midnight(d, tz)).map_or(now, |e| e.min(now));
            (start, end)
        })
    } else {
        return None;
    };
    Some(range.and_then(|(a, b)| {
        if a < b {
            Ok((a, b))
        } else {
            Err(format!("{t:?}: the range is empty (its start must be before its end)"))
        }
    }))
}

/// Only whole days make a range on their own; a lone instant does not.
fn is_day(t: &str) -> bool {
    let lower = t.to_ascii_lowercase();
    lower == "today" || lower == "yesterday" || NaiveDate::parse_from_str(t, "%Y-%m-%d").is_ok()
}

fn midnight(d: NaiveDate, tz: FixedOffset) -> Option<DateTime<Utc>> {
    tz.from_local_datetime(&d.and_time(NaiveTime::MIN))
        .single()
        .map(|t| t.with_timezone(&Utc))
}

/// A window as the commands take it (`--since`, `--start`, `--end`): `start` beats `since`,
/// which counts back from `end` (default now).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    pub since: Option<chrono::TimeDelta>,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
}

impl Window {
    /// Neither a start nor a span: for exports from the store, no time limit at all.
    pub fn is_open(&self) -> bool {
        self.since.is_none() && self.start.is_none()
    }

    /// The window's ends at `now`, with `default_since` when neither `start` nor `since` is
    /// given; refused when it is empty or reaches before the earliest date.
    pub fn resolve(&self, now: DateTime<Utc>, default_since: chrono::TimeDelta) -> Result<Range, String> {
        let end = self.end.unwrap_or(now);
        let start = match self.start {
            Some(s) => s,
            None => end
                .checked_sub_signed(self.since.unwrap_or(default_since))
                .ok_or("--since reaches before the earliest representable date")?,
        };
        if start >= end {
            return Err("the window is empty: --start must be before --end".into());
        }
        Ok((start, end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    const NOW: &str = "2026-12-01T15:30:00Z";

    #[test]
    fn times_as_typed() {
        let (now, utc) = (at(NOW), FixedOffset::east_opt(0).unwrap());
        let cet = FixedOffset::east_opt(3600).unwrap();
        assert_eq!(
            parse_time("2026-12-01T09:00Z", now, utc),
            Ok(at("2026-12-01T09:00:00Z"))
        );
        assert_eq!(
            parse_time("2026-12-01T09:00:30+01:00", now, utc),
            Ok(at("2026-12-01T08:00:30Z"))
        );
        assert_eq!(
            parse_time("2026-12-01 09:00+01:00", now, utc),
            Ok(at("2026-12-01T08:00:00Z"))
        );
        assert_eq!(parse_time("today", now, utc), Ok(at("2026-12-01T00:00:00Z")));
        assert_eq!(parse_time("yesterday", now, cet), Ok(at("2026-11-29T23:00:00Z")));
        assert_eq!(parse_time("2026-11-27", now, cet), Ok(at("2026-11-26T23:00:00Z")));
        assert_eq!(parse_time(" now ", now, utc), Ok(now));
        for bad in ["soon", "2026-13-01", "12:00", "", "2026-12-01T25:00Z"] {
            assert!(parse_time(bad, now, utc).unwrap_err().contains("e.g."), "{bad}");
        }
    }

    #[test]
    fn ranges_as_typed() {
        let (now, utc) = (at(NOW), FixedOffset::east_opt(0).unwrap());
        let range = |s| parse_range(s, now, utc);
        assert_eq!(
            range("2026-12-01T09:00Z..2026-12-01T10:00Z"),
            Some(Ok((at("2026-12-01T09:00:00Z"), at("2026-12-01T10:00:00Z"))))
        );
        assert_eq!(range("today"), Some(Ok((at("2026-12-01T00:00:00Z"), now))));
        assert_eq!(
            range("yesterday"),
            Some(Ok((at("2026-11-30T00:00:00Z"), at("2026-12-01T00:00:00Z"))))
        );
        assert_eq!(range("yesterday.."), Some(Ok((at("2026-11-30T00:00:00Z"), now))));
        assert!(range("today..yesterday").unwrap().unwrap_err().contains("empty"));
        assert!(
            range("2026-12-01T09:00Z..later")
                .unwrap()
                .unwrap_err()
                .contains("\"later\"")
        );
        assert_eq!(range("24h"), None, "a duration is not a range");
        assert_eq!(range("2026-12-01T09:00Z"), None, "nor is a single instant");
    }

    #[test]
    fn a_window_counts_back_from_its_end_unless_it_has_a_start() {
        let now = at(NOW);
        let day = chrono::TimeDelta::hours(24);
        let w = |since: Option<i64>, start: Option<&str>, end: Option<&str>| Window {
            since: since.map(chrono::TimeDelta::hours),
            start: start.map(at),
            end: end.map(at),
        };
        assert_eq!(
            w(None, None, None).resolve(now, day),
            Ok((at("2026-11-30T15:30:00Z"), now))
        );
        assert_eq!(
            w(Some(2), None, Some("2026-12-01T10:00:00Z")).resolve(now, day),
            Ok((at("2026-12-01T08:00:00Z"), at("2026-12-01T10:00:00Z")))
        );
        assert_eq!(
            w(Some(2), Some("2026-11-01T00:00:00Z"), None).resolve(now, day),
            Ok((at("2026-11-01T00:00:00Z"), now)),
            "--start beats --since"
        );
        let empty = w(None, Some(NOW), Some("2026-12-01T09:00:00Z")).resolve(now, day);
        assert!(empty.unwrap_err().contains("the window is empty"));
        let huge = Window {
            since: Some(chrono::TimeDelta::MAX),
            ..Window::default()
        };
        assert!(huge.resolve(now, day).unwrap_err().contains("earliest representable"));
        assert!(Window::default().is_open() && !w(Some(1), None, None).is_open());
    }
}
