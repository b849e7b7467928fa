//! The stats view: tabs of charts (ratatui `BarChart` and `Chart`) over one `Stats`. The cost
//! depends on the figures (buckets, top-N), never on how many rows are cached or loaded.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Axis, Bar, BarChart, Block, Borders, Chart as LineChart, Dataset, GraphType, LineGauge, Paragraph, Widget, Wrap,
};

use crate::app::State;
use crate::app::stats::Chart;
use crate::sanitize::{fit, sanitize_line};
use crate::stats::{Bucket, Count, SplitBy, Stats, latency_bin_bounds, percent, qa_bucket_bounds, seconds};

use super::Theme;

pub fn render(buf: &mut Buffer, area: Rect, s: &State, theme: &Theme) {
    if area.height < 3 || area.width < 20 {
        return;
    }
    let v = &s.stats;
    let mut title = vec![Span::styled(
        " Stats ",
        Theme::fg(theme.accent).add_modifier(Modifier::BOLD),
    )];
    for c in Chart::ALL {
        let style = if c == v.chart { theme.selected() } else { theme.dim() };
        title.push(Span::styled(format!(" {} ", c.title()), style));
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(Theme::fg(theme.border_focus))
        .title(Line::from(title));
    let inner = block.inner(area);
    block.render(area, buf);
    let Some(st) = &v.stats else {
        let text = match (&v.error, v.pending) {
            (Some(e), _) => format!("the store could not compute the figures: {}", sanitize_line(e)),
            (None, Some(_)) => "computing the figures from the local cache…".to_string(),
            (None, None) => "no figures yet".to_string(),
        };
        Paragraph::new(text).wrap(Wrap { trim: true }).render(inner, buf);
        return;
    };
    let [summary, body, foot] =
        Layout::vertical([Constraint::Length(2), Constraint::Min(1), Constraint::Length(1)]).areas(inner);
    render_summary(buf, summary, s, st, theme);
    match v.chart {
        Chart::Calls => {
            let values: Vec<u64> = st.buckets.iter().map(|b| b.calls).collect();
            let (bars, line) = split_body(body);
            columns(buf, bars, &values, None, v.sel, theme);
            if let Some(line) = line {
                let handoff: Vec<f64> = st
                    .buckets
                    .iter()
                    .map(|b| b.handoff_rate().unwrap_or(0.0) * 100.0)
                    .collect();
                lines(buf, line, s, &[("handoff %", &handoff, theme.warn)], "%", theme);
            }
        }
        Chart::Handoffs => {
            let (bars, line) = split_body(body);
            rows(buf, bars, &st.handoff_reasons, v.sel, theme);
            if let Some(line) = line {
                let handoff: Vec<f64> = st
                    .buckets
                    .iter()
                    .map(|b| b.handoff_rate().unwrap_or(0.0) * 100.0)
                    .collect();
                lines(buf, line, s, &[("handoff %", &handoff, theme.warn)], "%", theme);
            }
        }
        Chart::Latency => {
            let (bars, line) = split_body(body);
            let labels: Vec<String> = (0..st.latency_histogram.len())
                .map(|i| match latency_bin_bounds(i) {
                    (lo, Some(hi)) => format!("{lo}–{hi}s"),
                    (lo, None) => format!("≥{lo}s"),
                })
                .collect();
            columns(buf, bars, &st.latency_histogram, Some(&labels), v.sel, theme);
            if let Some(line) = line {
                let series = |f: fn(&crate::stats::Percentiles) -> Option<f64>| -> Vec<f64> {
                    st.buckets.iter().map(|b| f(&b.latency).unwrap_or(0.0)).collect()
                };
                let (p50, p95, p99) = (series(|p| p.p50), series(|p| p.p95), series(|p| p.p99));
                lines(
                    buf,
                    line,
                    s,
                    &[
                        ("p50", &p50, theme.latency_ok),
                        ("p95", &p95, theme.latency_warn),
                        ("p99", &p99, theme.latency_bad),
                    ],
                    "s",
                    theme,
                );
            }
        }
        Chart::Intents => rows(buf, body, &st.intents, v.sel, theme),
        Chart::Topics => rows(buf, body, &st.topics, v.sel, theme),
        Chart::Qa => render_qa(buf, body, st, v.sel, theme),
        Chart::Review => render_review(buf, body, st, theme),
    }
    render_foot(buf, foot, s, st, theme);
}

/// The selection and keys, or the fetch's progress bar while the window is being fetched.
fn render_foot(buf: &mut Buffer, foot: Rect, s: &State, st: &Stats, theme: &Theme) {
    if let Some(f) = &s.stats.fetch {
        LineGauge::default()
            .ratio(f.progress())
            .label(format!(
                "fetching the window: page {} · {} calls · esc cancels ",
                f.pages + 1,
                f.calls
            ))
            .filled_style(Theme::fg(theme.accent))
            .unfilled_style(theme.dim())
            .render(foot, buf);
        return;
    }
    let hint = match &s.stats.fetch_note {
        Some(note) => format!("{} · {}", sanitize_line(note), selection_text(s, st)),
        None => selection_text(s, st),
    };
    buf.set_stringn(
        foot.x,
        foot.y,
        fit(&hint, foot.width as usize),
        foot.width as usize,
        theme.dim(),
    );
}

fn split_body(body: Rect) -> (Rect, Option<Rect>) {
    if body.height >= 12 {
        let [a, b] = Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(body);
        (a, Some(b))
    } else {
        (body, None)
    }
}

fn render_summary(buf: &mut Buffer, area: Rect, s: &State, st: &Stats, theme: &Theme) {
    let mut parts = vec![
        format!("{} calls", st.calls),
        format!("voice {} · chat {}", st.voice, st.chat),
        format!(
            "handoff {} (contained {})",
            percent(st.handoff_rate()),
            percent(st.containment_rate())
        ),
        format!(
            "latency p50 {} p95 {} p99 {}",
            seconds(st.latency.p50),
            seconds(st.latency.p95),
            seconds(st.latency.p99)
        ),
        format!("{} turns of {} transcripts", st.latency.n, st.with_transcript),
        format!("in progress {}", st.in_progress),
        format!("hidden {}", st.hidden_transcripts),
        format!(
            "reviewed {} · follow-up {} · flagged {}",
            st.review.reviewed, st.review.follow_up, st.review.flagged
        ),
    ];
    match s.stats.split {
        SplitBy::None => {}
        SplitBy::Variant => parts.push("split: variant".into()),
        SplitBy::Env => parts.push("split: environment".into()),
    }
    if s.stats.pending.is_some() {
        parts.push("updating…".into());
    }
    // Greedy fill: whole parts per line, what does not fit in the lines there are is left out.
    let w = area.width as usize;
    let mut lines: Vec<String> = vec![String::new()];
    for p in parts {
        let Some(cur) = lines.last_mut() else {
            break;
        };
        if cur.is_empty() {
            *cur = p;
        } else if crate::sanitize::width(cur) + 3 + crate::sanitize::width(&p) <= w {
            cur.push_str(" · ");
            cur.push_str(&p);
        } else if lines.len() < area.height as usize {
            lines.push(p);
        }
    }
    for (i, l) in lines.iter().enumerate() {
        let style = if i == 0 { Style::default() } else { theme.dim() };
        buf.set_stringn(area.x, area.y + i as u16, fit(l, w), w, style);
    }
}

/// Vertical bars (buckets, latency bins); the selected one in the accent colour.
fn columns(buf: &mut Buffer, area: Rect, values: &[u64], labels: Option<&[String]>, sel: usize, theme: &Theme) {
    let n = values.len().max(1) as u16;
    let gap = if area.width >= n * 2 { 1 } else { 0 };
    let width = ((area.width + gap).saturating_sub(n * gap) / n).max(1);
    let show_values = width >= 3;
    let bars: Vec<Bar> = values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let color = if i == sel { theme.matched } else { theme.accent };
            let bar = Bar::new(v).style(Theme::fg(color));
            let bar = if show_values {
                bar.text_value(v.to_string())
                    .value_style(Style::default().add_modifier(Modifier::REVERSED))
            } else {
                bar.text_value(String::new())
            };
            let label = match labels.and_then(|l| l.get(i)) {
                // Bin names when they fit under the bar, else a mark under the selected one.
                Some(l) if crate::sanitize::width(l) <= width as usize => Line::from(l.clone()),
                _ if i == sel => Line::from("▲"),
                _ => Line::default(),
            };
            let label = if i == sel {
                label.style(Theme::fg(theme.matched).add_modifier(Modifier::BOLD))
            } else {
                label.style(theme.dim())
            };
            bar.label(label)
        })
        .collect();
    BarChart::vertical(bars).bar_width(width).bar_gap(gap).render(area, buf);
}

/// Horizontal bars of names (reasons, intents, topics): untrusted text, sanitized and cut.
fn rows(buf: &mut Buffer, area: Rect, counts: &[Count], sel: usize, theme: &Theme) {
    if counts.is_empty() {
        buf.set_stringn(area.x, area.y, "none in this window", area.width as usize, theme.dim());
        return;
    }
    let label_w = (area.width as usize / 3).clamp(8, 32);
    let shown = counts.len().min(area.height as usize);
    let first = sel.saturating_sub(shown.saturating_sub(1));
    let bars: Vec<Bar> = counts
        .iter()
        .enumerate()
        .skip(first)
        .take(shown)
        .map(|(i, c)| {
            let mark = if i == sel { "▸" } else { " " };
            let color = if i == sel { theme.matched } else { theme.accent };
            Bar::new(c.calls)
                .label(Line::from(format!("{mark}{}", fit(&sanitize_line(&c.name), label_w))))
                .style(Theme::fg(color))
                .text_value(c.calls.to_string())
        })
        .collect();
    BarChart::horizontal(bars).bar_width(1).bar_gap(0).render(area, buf);
}

/// Line series over the buckets (handoff rate, latency percentiles).
fn lines(
    buf: &mut Buffer,
    area: Rect,
    s: &State,
    series: &[(&str, &[f64], ratatui::style::Color)],
    unit: &str,
    theme: &Theme,
) {
    let Some(st) = s.stats.stats.as_deref() else { return };
    let points: Vec<Vec<(f64, f64)>> = series
        .iter()
        .map(|(_, v, _)| v.iter().enumerate().map(|(i, y)| (i as f64, *y)).collect())
        .collect();
    let max = series
        .iter()
        .flat_map(|(_, v, _)| v.iter().copied())
        .fold(0.0f64, f64::max)
        .max(if unit == "%" { 10.0 } else { 0.5 });
    let datasets: Vec<Dataset> = series
        .iter()
        .zip(&points)
        .map(|((name, _, color), pts)| {
            Dataset::default()
                .name(*name)
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(Theme::fg(*color))
                .data(pts)
        })
        .collect();
    let n = st.buckets.len().max(2) as f64 - 1.0;
    let fmt = match st.bucket {
        Bucket::Hour => "%m-%d %H:00",
        Bucket::Day => "%m-%d",
    };
    let label = |b: Option<&crate::stats::BucketFigures>| {
        b.and_then(|b| chrono::DateTime::from_timestamp_millis(b.start_ms))
            .map(|t| t.with_timezone(&s.tz).format(fmt).to_string())
            .unwrap_or_default()
    };
    let y_label = |v: f64| {
        if unit == "%" {
            format!("{v:.0}%")
        } else {
            format!("{v:.1}s")
        }
    };
    LineChart::new(datasets)
        .x_axis(
            Axis::default()
                .bounds([0.0, n])
                .labels([label(st.buckets.first()), label(st.buckets.last())])
                .style(theme.dim()),
        )
        .y_axis(
            Axis::default()
                .bounds([0.0, max])
                .labels([y_label(0.0), y_label(max)])
                .style(theme.dim()),
        )
        .render(area, buf);
}

/// `60–70`, `90–100`.
fn qa_label(i: usize) -> String {
    match qa_bucket_bounds(i) {
        (lo, Some(hi)) => format!("{lo}–{hi}"),
        (lo, None) => format!("{lo}–100"),
    }
}

/// `72.5`, or `–`.
fn points(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.1}"))
}

/// The score distribution (bars 0–9), the yes-no questions (rows after them, selectable), the
/// other questions and the reviewers (beside the questions when there is room, else below).
fn render_qa(buf: &mut Buffer, area: Rect, st: &Stats, sel: usize, theme: &Theme) {
    let qa = &st.qa;
    if qa.scored == 0 && qa.reviewers.is_empty() {
        buf.set_stringn(
            area.x,
            area.y,
            "no call of this window has a saved scorecard or a reviewer",
            area.width as usize,
            theme.dim(),
        );
    }
    let buckets = qa.distribution.len();
    let [head, bars, rest] =
        Layout::vertical([Constraint::Length(1), Constraint::Percentage(45), Constraint::Min(1)]).areas(area);
    if qa.scored > 0 || !qa.reviewers.is_empty() {
        buf.set_stringn(
            head.x,
            head.y,
            fit(
                &format!(
                    "{} scores of {} calls · mean {} · median {} · auto-failed {}",
                    qa.scores,
                    qa.scored,
                    points(qa.mean),
                    points(qa.median),
                    qa.auto_failed
                ),
                head.width as usize,
            ),
            head.width as usize,
            Style::default(),
        );
    }
    let labels: Vec<String> = (0..buckets).map(qa_label).collect();
    let bar_sel = if sel < buckets { sel } else { usize::MAX };
    columns(buf, bars, &qa.distribution, Some(&labels), bar_sel, theme);

    let (questions_area, reviewers_area) = if rest.width >= 120 {
        let [a, b] = Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(rest);
        (a, Some(b))
    } else {
        (rest, None)
    };
    let w = questions_area.width as usize;
    let mut text: Vec<Line> = Vec::new();
    let mut selected_line = 0;
    for (j, (card, q)) in qa.yes_no_questions().enumerate() {
        let on = sel == buckets + j;
        if on {
            selected_line = text.len();
        }
        let name = if qa.scorecards.len() > 1 {
            format!("{}/{}", sanitize_line(&card.name), sanitize_line(&q.id))
        } else {
            sanitize_line(&q.id)
        };
        let line = format!(
            "{}{} pass {:>6} · no {:>4} · n.a. {:>4} of {}",
            if on { "▸" } else { " " },
            fit(&name, (w / 3).clamp(12, 32)),
            percent(q.pass_rate()),
            q.no,
            q.na,
            q.answered
        );
        let style = if on {
            Theme::fg(theme.matched).add_modifier(Modifier::BOLD)
        } else {
            Style::default()
        };
        text.push(Line::styled(fit(&line, w), style));
    }
    for card in &qa.scorecards {
        for q in card
            .questions
            .iter()
            .filter(|q| q.kind != crate::stats::AnswerKind::YesNo)
        {
            let figure = match q.kind {
                crate::stats::AnswerKind::Scale => format!("mean {}", q.mean.map_or("–".into(), |m| format!("{m:.2}"))),
                _ => q
                    .answers
                    .iter()
                    .map(|c| format!("{} {}", sanitize_line(&c.name), c.calls))
                    .collect::<Vec<_>>()
                    .join(" · "),
            };
            let name = fit(&sanitize_line(&q.id), (w / 3).clamp(12, 32));
            text.push(Line::styled(fit(&format!(" {name} {figure}"), w), theme.dim()));
        }
    }
    let mut reviewers: Vec<Line> = vec![Line::styled(
        format!(
            "{:<16} {:>8} {:>7} {:>6} {:>5}",
            "reviewer", "reviewed", "flagged", "scored", "mean"
        ),
        theme.dim(),
    )];
    for r in &qa.reviewers {
        reviewers.push(Line::from(format!(
            "{:<16} {:>8} {:>7} {:>6} {:>5}",
            fit(&sanitize_line(&r.name), 16),
            r.reviewed,
            r.flagged,
            r.scored,
            points(r.mean_score)
        )));
    }
    match reviewers_area {
        _ if qa.reviewers.is_empty() => {}
        Some(r) => Paragraph::new(reviewers).render(r, buf),
        None => text.extend(reviewers),
    }
    // Keep the selected question in sight.
    let h = questions_area.height as usize;
    let first = selected_line.saturating_sub(h.saturating_sub(1));
    Paragraph::new(text.into_iter().skip(first).collect::<Vec<_>>()).render(questions_area, buf);
}

fn render_review(buf: &mut Buffer, area: Rect, st: &Stats, theme: &Theme) {
    let mut text: Vec<Line> = vec![
        Line::from(format!(
            "review   reviewed {} · follow-up {} · unreviewed {} · flagged {}",
            st.review.reviewed, st.review.follow_up, st.review.unreviewed, st.review.flagged
        )),
        Line::from(format!(
            "         {} of {} calls reviewed",
            percent(crate::stats::rate(st.review.reviewed, st.calls)),
            st.calls
        )),
    ];
    let scores: Vec<String> = st.poly_score.iter().map(|(s, n)| format!("{s}: {n}")).collect();
    text.push(Line::from(if scores.is_empty() {
        "PolyScore  none scored in this window".to_string()
    } else {
        format!("PolyScore  {} ({} scored)", scores.join(" · "), st.poly_scored)
    }));
    match &st.split {
        None => text.push(Line::styled(
            "A/B      V splits by variant, then by environment",
            theme.dim(),
        )),
        Some(split) => {
            text.push(Line::styled(
                format!(
                    "{:<18} {:>7} {:>8} {:>7} {:>7} {:>9} {:>6}",
                    if split.by == SplitBy::Env {
                        "environment"
                    } else {
                        "variant"
                    },
                    "calls",
                    "handoff",
                    "p50",
                    "p95",
                    "PolyScore",
                    "QA"
                ),
                theme.dim(),
            ));
            for g in split.groups.iter().take(4) {
                text.push(Line::from(format!(
                    "{:<18} {:>7} {:>8} {:>7} {:>7} {:>9} {:>6}",
                    fit(&sanitize_line(&g.name), 18),
                    g.calls,
                    percent(g.handoff_rate()),
                    seconds(g.latency.p50),
                    seconds(g.latency.p95),
                    g.poly_score_mean.map_or("–".into(), |m| format!("{m:.2}")),
                    points(g.qa_score_mean)
                )));
            }
            if let Some(d) = &split.difference {
                let z = d.handoff_z.map_or("–".into(), |z| format!("{z:+.1}"));
                let sig = if d.handoff_z.is_some_and(|z| z.abs() >= 1.96) {
                    "significant"
                } else {
                    "not significant"
                };
                let qa = match (d.qa_score_mean, d.qa_z) {
                    (Some(m), Some(z)) => format!(" · QA {m:+.1} (z {z:+.1})"),
                    (Some(m), None) => format!(" · QA {m:+.1}"),
                    _ => String::new(),
                };
                text.push(Line::from(format!(
                    "{} − {}: handoff {} (z {z}, {sig}) · p50 {} · PolyScore {}{qa}",
                    crate::sanitize::truncate(&sanitize_line(&d.b), 12),
                    crate::sanitize::truncate(&sanitize_line(&d.a), 12),
                    d.handoff_rate.map_or("–".into(), |v| format!("{:+.1} pts", v * 100.0)),
                    d.latency_p50.map_or("–".into(), |v| format!("{v:+.2}s")),
                    d.poly_score_mean.map_or("–".into(), |v| format!("{v:+.2}"))
                )));
            }
        }
    }
    text.push(Line::from(if st.qa.scored == 0 {
        "QA       no saved scorecards in this window".to_string()
    } else {
        format!(
            "QA       mean {} · median {} · {} scores of {} calls · auto-failed {}",
            points(st.qa.mean),
            points(st.qa.median),
            st.qa.scores,
            st.qa.scored,
            st.qa.auto_failed
        )
    }));
    Paragraph::new(text).wrap(Wrap { trim: false }).render(area, buf);
}

/// The footer: what the selected bar is and what Enter does.
fn selection_text(s: &State, st: &Stats) -> String {
    let i = s.stats.sel;
    let enter = "⏎ list its calls · Tab chart · V split · esc";
    let what = match s.stats.chart {
        Chart::Calls => st.buckets.get(i).map(|b| {
            let t = chrono::DateTime::from_timestamp_millis(b.start_ms)
                .map(|t| {
                    t.with_timezone(&s.tz)
                        .format(match st.bucket {
                            Bucket::Hour => "%m-%d %H:00",
                            Bucket::Day => "%Y-%m-%d",
                        })
                        .to_string()
                })
                .unwrap_or_default();
            format!(
                "{t}: {} calls (voice {} · chat {}) · handoff {} · p95 {}",
                b.calls,
                b.voice,
                b.chat,
                percent(b.handoff_rate()),
                seconds(b.latency.p95)
            )
        }),
        Chart::Handoffs => st
            .handoff_reasons
            .get(i)
            .map(|c| format!("{}: {} calls", sanitize_line(&c.name), c.calls)),
        Chart::Latency => st.latency_histogram.get(i).map(|n| {
            let range = match latency_bin_bounds(i) {
                (lo, Some(hi)) => format!("{lo}–{hi}s"),
                (lo, None) => format!("≥{lo}s"),
            };
            format!("{range}: {n} turns")
        }),
        Chart::Intents => st
            .intents
            .get(i)
            .map(|c| format!("intent {}: {} calls", sanitize_line(&c.name), c.calls)),
        Chart::Topics => st
            .topics
            .get(i)
            .map(|c| format!("topic {}: {} calls", sanitize_line(&c.name), c.calls)),
        Chart::Qa => {
            let b = st.qa.distribution.len();
            if i < b {
                st.qa
                    .distribution
                    .get(i)
                    .map(|n| format!("QA {}: {n} scores", qa_label(i)))
            } else {
                st.qa.yes_no_questions().nth(i - b).map(|(card, q)| {
                    format!(
                        "{}/{}: {} answered no of {}",
                        sanitize_line(&card.name),
                        sanitize_line(&q.id),
                        q.no,
                        q.answered
                    )
                })
            }
        }
        Chart::Review => {
            return "Tab chart · V split by variant / environment · r refresh · ctrl-r fetch the window · esc back"
                .into();
        }
    };
    match what {
        Some(w) => format!("▸ {w} · {enter}"),
        None => enter.to_string(),
    }
}

/// The stats view's keys for the hints line (from the keymap, most useful first): it takes
/// every key while open, so the list's keys would mislead.
pub fn hints(s: &State) -> Vec<Option<String>> {
    use crate::app::Action;
    use crate::app::keymap::StatsAction;
    let km = &s.keymap;
    let key = |a, label: &str| km.first(a).map(|k| format!("{k} {label}"));
    let mut items = Vec::new();
    if s.stats.fetch.is_some() {
        items.push(Some("esc cancel fetch".into()));
    }
    items.push(key(Action::SwitchPane, "chart"));
    if s.stats.bars() > 0 {
        items.push(match (km.first(Action::Down), km.first(Action::Up)) {
            (Some(d), Some(u)) => Some(format!("{d}/{u} bar")),
            _ => None,
        });
        items.push(key(Action::Open, "its calls"));
    }
    items.push(key(Action::Stats(StatsAction::Split), "split"));
    items.push(key(
        Action::Stats(StatsAction::Fetch),
        if s.stats.fetch.is_some() {
            "cancel fetch"
        } else {
            "fetch window"
        },
    ));
    items.push(key(Action::Reload, "recompute"));
    items
}
