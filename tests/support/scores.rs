//! Scorecard saves for the tests that store, import, show and export them.

use callscope::domain::{ScoreAnswer, ScoreRecord};

/// A `voice-qa` save by `who` at `at_ms` scoring `score`, with one answer to `question`.
pub fn voice_qa_save(who: &str, at_ms: i64, score: f64, question: &str, answer: ScoreAnswer) -> ScoreRecord {
    ScoreRecord {
        scorecard: "voice-qa".into(),
        reviewer: who.into(),
        at_ms,
        answers: [(question.to_string(), answer)].into(),
        score: Some(score),
        auto_failed: false,
    }
}

/// A `voice-qa` save whose one answer, `correct_information`, cites turn 2 ("quoted the old
/// price"): "no" and an auto-fail at score 0, "yes" otherwise.
pub fn correct_information_save(who: &str, at_ms: i64, score: f64) -> ScoreRecord {
    let failed = score == 0.0;
    let answer = ScoreAnswer {
        answer: if failed { "no" } else { "yes" }.into(),
        comment: "quoted the old price".into(),
        turn: Some(1),
    };
    ScoreRecord {
        auto_failed: failed,
        ..voice_qa_save(who, at_ms, score, "correct_information", answer)
    }
}
