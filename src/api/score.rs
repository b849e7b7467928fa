//! Which scale a PolyScore is on. PolyAI rates calls 1–5 since July 2026 and rated them 0–10
//! before, and the object does not say which: the value decides when it can only be on one
//! scale, else the call's date. One rule for the TUI, Markdown and CSV.

use chrono::{DateTime, TimeZone, Utc};

/// The scale a score is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    OneToFive,
    ZeroToTen,
    /// Outside 0–10, or 1–5 on a call without a date.
    Unknown,
}

/// When the 1–5 rating replaced the 0–10 one.
// Cannot fail: a fixed, valid UTC date.
#[allow(clippy::unwrap_used)]
pub fn five_point_since() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 7, 1, 0, 0, 0).unwrap()
}

pub fn scale(score: f64, call_date: Option<DateTime<Utc>>) -> Scale {
    if !score.is_finite() || !(0.0..=10.0).contains(&score) {
        return Scale::Unknown;
    }
    // Below 1 or above 5 exists only on the old scale, whatever the date says.
    if !(1.0..=5.0).contains(&score) {
        return Scale::ZeroToTen;
    }
    match call_date {
        Some(t) if t >= five_point_since() => Scale::OneToFive,
        Some(_) => Scale::ZeroToTen,
        None => Scale::Unknown,
    }
}

impl Scale {
    /// `1–5`, `0–10`, or `None` when unknown.
    pub fn range(self) -> Option<&'static str> {
        match self {
            Scale::OneToFive => Some("1–5"),
            Scale::ZeroToTen => Some("0–10"),
            Scale::Unknown => None,
        }
    }
}
