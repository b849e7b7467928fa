//! The scorecard form (`Q`): in the list pane when it is wide enough (the transcript stays
//! beside it), else over the list and the transcript; the current turn is quoted under the
//! questions either way, so `t` shows what it cites.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::widgets::{Block, BorderType, Clear, Widget};

use crate::app::State;
use crate::app::layout::Panes;
use crate::app::scorecard_form::{Form, answer_keys};
use crate::domain::scorecard::Kind;
use crate::domain::scores::{one_decimal, score_text};
use crate::sanitize::{fit, sanitize_line, truncate, width, wrap};

use super::Theme;

/// The list pane holds the form from this width on.
const MIN_SIDE_WIDTH: u16 = 50;

pub fn area(panes: &Panes) -> Rect {
    if panes.list.width >= MIN_SIDE_WIDTH {
        panes.list
    } else {
        panes.list.union(panes.detail)
    }
}

pub fn render(buf: &mut Buffer, panes: &Panes, s: &State, theme: &Theme) {
    let Some(form) = &s.scorecards.form else { return };
    let r = area(panes);
    if r.width < 10 || r.height < 4 {
        return;
    }
    Clear.render(r, buf);
    let title = format!(
        " Scorecard: {} ({}) · {} ",
        sanitize_line(&form.card.title),
        form.card.name,
        sanitize_line(&form.key.id)
    );
    Block::bordered()
        .border_type(BorderType::Thick)
        .border_style(Theme::fg(theme.accent))
        .title(truncate(&title, r.width.saturating_sub(2) as usize))
        .render(r, buf);
    let inner = Rect {
        x: r.x + 1,
        y: r.y + 1,
        width: r.width - 2,
        height: r.height - 2,
    };
    let w = inner.width as usize;
    let footer = footer(s, form, w, theme);
    let rows = (inner.height as usize).saturating_sub(footer.len() + 1);
    let body = questions(form, w, theme);
    // Keep the highlighted question in view.
    let sel_line = body.iter().position(|(q, _, _)| *q == Some(form.sel)).unwrap_or(0);
    let skip = (sel_line + 2).saturating_sub(rows);
    for (i, (_, text, style)) in body.iter().skip(skip).take(rows).enumerate() {
        buf.set_stringn(inner.x, inner.y + i as u16, fit(text, w), w, *style);
    }
    let top = inner.y + inner.height - footer.len() as u16;
    for (i, (text, style)) in footer.iter().enumerate() {
        buf.set_stringn(inner.x, top + i as u16, fit(text, w), w, *style);
    }
}

/// One line per question (two with a comment or cited turn): `▸ 2*! text … answer`.
fn questions(form: &Form, w: usize, theme: &Theme) -> Vec<(Option<usize>, String, Style)> {
    // As wide as the longest answer this form can take.
    let answer_w = form
        .card
        .questions
        .iter()
        .flat_map(|q| q.choices.iter().map(|c| width(&c.label)))
        .chain([3])
        .max()
        .unwrap_or(3)
        .min(16);
    let mut out = Vec::new();
    for (i, q) in form.card.questions.iter().enumerate() {
        let answer = form
            .answers
            .get(&q.id)
            .map(|a| a.as_text())
            .unwrap_or_else(|| "·".into());
        let marks = format!(
            "{}{}",
            if q.required { '*' } else { ' ' },
            if q.auto_fail { '!' } else { ' ' }
        );
        let head = format!("{}{:>2}{marks} ", if i == form.sel { '▸' } else { ' ' }, i + 1);
        let text_w = w.saturating_sub(width(&head) + answer_w + 1).max(1);
        // The highlighted question is shown whole, wrapped; the others on one line.
        let text = sanitize_line(&q.text);
        let mut wrapped = if i == form.sel {
            wrap(&text, text_w)
        } else {
            vec![truncate(&text, text_w)]
        };
        let first = if wrapped.is_empty() {
            String::new()
        } else {
            wrapped.remove(0)
        };
        let line = format!(
            "{head}{} {:>answer_w$}",
            fit(&first, text_w),
            truncate(&answer, answer_w)
        );
        let style = if i == form.sel {
            theme.selected()
        } else if form.answers.contains_key(&q.id) {
            Style::default()
        } else {
            theme.dim()
        };
        out.push((Some(i), line, style));
        let indent = " ".repeat(width(&head));
        for more in wrapped {
            out.push((None, format!("{indent}{more}"), style));
        }
        if let Some((comment, turn)) = form.notes.get(&q.id) {
            let mut note = String::from("      ↳ ");
            if let Some(t) = turn {
                note.push_str(&format!("turn {}", t + 1));
                if !comment.is_empty() {
                    note.push_str(" · ");
                }
            }
            note.push_str(&sanitize_line(comment));
            out.push((None, note, Theme::fg(theme.key)));
        }
    }
    out
}

/// Score, what is missing, the highlighted question's keys, the current turn, the comment
/// being typed and the other saves of this form.
fn footer(s: &State, form: &Form, w: usize, theme: &Theme) -> Vec<(String, Style)> {
    let mut out = Vec::new();
    let o = form.outcome();
    let mut score = match o.score {
        Some(v) if o.missing.is_empty() => format!("Score {}/100", one_decimal(v)),
        _ => {
            // Running: what the answers so far add up to, required ones aside.
            let mut lenient = form.card.clone();
            lenient.questions.iter_mut().for_each(|q| q.required = false);
            let partial = lenient.score(&form.answers).score;
            match partial {
                Some(v) => format!("Score so far {}/100", one_decimal(v)),
                None => "Score –".into(),
            }
        }
    };
    if let (Some(pass), Some(v)) = (form.card.pass, o.score) {
        score.push_str(&format!(
            " · pass {} {}",
            one_decimal(pass),
            if v >= pass { "✓" } else { "✗" }
        ));
    }
    if !o.auto_failed.is_empty() {
        score.push_str(&format!(" · auto-fail: {}", o.auto_failed.join(", ")));
    }
    let style = if !o.auto_failed.is_empty() {
        Theme::fg(theme.error).add_modifier(Modifier::BOLD)
    } else {
        Style::default().add_modifier(Modifier::BOLD)
    };
    out.push((score, style));
    out.push(if o.missing.is_empty() {
        ("all required questions answered · enter saves".into(), theme.dim())
    } else {
        (
            format!("required, unanswered: {}", o.missing.join(", ")),
            Theme::fg(theme.warn),
        )
    });
    if let Some(q) = form.question() {
        let kind = match q.kind {
            Kind::YesNo => "yes/no",
            Kind::Scale => "scale",
            Kind::Choice => "choice",
        };
        out.push((
            format!(
                "{} · {kind} · weight {} · {}",
                q.id,
                one_decimal(q.weight),
                answer_keys(q)
            ),
            Theme::fg(theme.key),
        ));
    }
    out.push((current_turn_line(s), theme.dim()));
    if let Some(text) = &form.editing {
        // The end of a long comment stays in view, with the caret.
        let label = format!("comment on {}: ", form.question().map_or("", |q| q.id.as_str()));
        let room = w.saturating_sub(width(&label) + 1);
        let shown: String = {
            let t = sanitize_line(text);
            let chars: Vec<char> = t.chars().collect();
            let mut start = 0;
            while width(&chars[start..].iter().collect::<String>()) > room && start < chars.len() {
                start += 1;
            }
            chars[start..].iter().collect()
        };
        out.push((format!("{label}{shown}▏"), Theme::fg(theme.accent)));
    }
    let others: Vec<String> = form
        .saved
        .iter()
        .map(|r| format!("{} {}", sanitize_line(&r.reviewer), score_text(r.score, r.auto_failed)))
        .collect();
    let saved = if form.loading {
        "saved scores: loading…".to_string()
    } else if others.is_empty() {
        "saved scores: none yet for this form".to_string()
    } else {
        format!("saved scores: {}", others.join(" · "))
    };
    out.push((saved, theme.dim()));
    out
}

/// `current turn 3 ▸ agent: Let me check…`, what `t` would cite.
fn current_turn_line(s: &State) -> String {
    let (Some(turn), Some(view)) = (crate::app::rating::current_turn(s), s.detail.view.as_ref()) else {
        return "current turn: none (the transcript is not shown yet)".into();
    };
    let start = view.turn_starts.get(turn).copied().unwrap_or(0);
    let end = view.turn_starts.get(turn + 1).copied().unwrap_or(view.lines.len());
    let said = view.lines[start.min(view.lines.len())..end.min(view.lines.len())]
        .iter()
        .find(|l| l.said_by.is_some())
        .map(|l| l.spans.iter().map(|(_, t)| t.as_str()).collect::<String>())
        .unwrap_or_default();
    format!(
        "current turn {} (( ) move, t cites) ▸ {}",
        turn + 1,
        sanitize_line(said.trim())
    )
}
