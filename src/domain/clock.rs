//! The one clock formatter for durations and offsets: the list, the detail pane, the player, the
//! Markdown export and the filter summary all write `mm:ss` (`02:14`), or `h:mm:ss` from an hour.

/// `mm:ss`, or `h:mm:ss` from an hour on; negative seconds count as zero.
pub fn clock(secs: i64) -> String {
    let s = secs.max(0);
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s % 3600 / 60, s % 60)
    } else {
        format!("{:02}:{:02}", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::clock;

    #[test]
    fn minutes_are_padded_hours_are_not() {
        for (secs, want) in [
            (-5, "00:00"),
            (0, "00:00"),
            (5, "00:05"),
            (74, "01:14"),
            (599, "09:59"),
            (3599, "59:59"),
            (3600, "1:00:00"),
            (3661, "1:01:01"),
            (36_000, "10:00:00"),
        ] {
            assert_eq!(clock(secs), want, "{secs}");
        }
        assert_eq!(clock(i64::MAX).split(':').count(), 3);
    }
}
