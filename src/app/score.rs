//! PolyScore as a reviewer reads it: `4.5/5` or `7/10`. PolyAI rates calls 1–5 since July 2026
//! and rated them 0–10 before, and the object does not say which: the value decides when it can
//! only be on one scale, else the call's date.

use chrono::{DateTime, Utc};

pub use crate::api::score::{Scale, five_point_since, scale};

use super::line::Tag;

/// `4`, `4.5`, `4.25`: at most two decimals, no trailing zeros.
fn number(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The score as shown, and the colour it gets (good / middling / poor on its scale).
pub fn label(score: f64, call_date: Option<DateTime<Utc>>) -> (String, Tag) {
    let n = number(score);
    let fraction = match scale(score, call_date) {
        Scale::OneToFive => return (format!("{n}/5"), tier((score - 1.0) / 4.0)),
        Scale::ZeroToTen => return (format!("{n}/10"), tier(score / 10.0)),
        Scale::Unknown if (0.0..=10.0).contains(&score) => "1–5 or 0–10: the call has no date",
        Scale::Unknown => "outside 0–10",
    };
    (format!("{n} ({fraction})"), Tag::Plain)
}

fn tier(fraction: f64) -> Tag {
    if fraction >= 0.75 {
        Tag::LatencyOk
    } else if fraction >= 0.5 {
        Tag::LatencyWarn
    } else {
        Tag::LatencyBad
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, m: u32) -> Option<DateTime<Utc>> {
        Some(Utc.with_ymd_and_hms(y, m, 2, 9, 0, 0).unwrap())
    }

    #[test]
    fn the_date_decides_between_the_scales_when_the_value_fits_both() {
        assert_eq!(label(4.5, at(2026, 8)), ("4.5/5".into(), Tag::LatencyOk));
        assert_eq!(label(4.5, at(2026, 6)), ("4.5/10".into(), Tag::LatencyBad));
        assert_eq!(label(3.0, at(2026, 7)).0, "3/5");
        assert_eq!(label(4.25, at(2026, 9)).0, "4.25/5");
    }

    #[test]
    fn a_value_only_one_scale_has_decides_it() {
        // 8 cannot be a 1–5 score, 0 neither: both are the old scale even after July 2026.
        assert_eq!(label(8.0, at(2026, 11)), ("8/10".into(), Tag::LatencyOk));
        assert_eq!(label(0.0, at(2026, 11)).0, "0/10");
        assert_eq!(label(6.0, None).0, "6/10");
        assert_eq!(scale(2.0, None), Scale::Unknown);
        assert_eq!(label(2.0, None).0, "2 (1–5 or 0–10: the call has no date)");
        assert_eq!(label(42.0, at(2026, 11)), ("42 (outside 0–10)".into(), Tag::Plain));
        assert_eq!(scale(f64::NAN, at(2026, 11)), Scale::Unknown);
        assert_eq!(scale(-1.0, at(2026, 11)), Scale::Unknown);
    }

    #[test]
    fn colours_follow_the_scale() {
        assert_eq!(label(3.0, at(2026, 8)).1, Tag::LatencyWarn);
        assert_eq!(label(1.5, at(2026, 8)).1, Tag::LatencyBad);
        assert_eq!(label(6.0, at(2026, 1)).1, Tag::LatencyWarn);
    }
}
