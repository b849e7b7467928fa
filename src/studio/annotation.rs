//! Studio's per-turn annotations and how callscope's turn ratings map onto them.
//!
//! Studio's API takes three annotation types (`POST …/conversations/{id}/annotation`):
//!
//! | callscope rating          | Studio `annotationType` | `role`  |
//! |---------------------------|-------------------------|---------|
//! | 👎 wrong information      | `wrong_info`            | `agent` |
//! | 👎 wrong transcription    | `wrong_transcript`      | `user`  |
//! | 👎 missing intent         | `missing_topic`         | `user`  |
//! | 👎 latency                | — (not pushed)          |         |
//! | 👎 with no reason         | — (not pushed)          |         |
//! | 👍                        | — (not pushed)          |         |
//!
//! Studio's UI also has Good / Bad, but its API does not take them; a rating's comment has no
//! field there either, so it stays local.

use serde::{Deserialize, Serialize};

use crate::domain::{RatingReason, Thumbs, TurnRating};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnnotationRole {
    User,
    Agent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnnotationType {
    MissingTopic,
    WrongTranscript,
    WrongInfo,
}

impl AnnotationType {
    pub fn as_str(self) -> &'static str {
        match self {
            AnnotationType::MissingTopic => "missing_topic",
            AnnotationType::WrongTranscript => "wrong_transcript",
            AnnotationType::WrongInfo => "wrong_info",
        }
    }
}

impl AnnotationRole {
    pub fn as_str(self) -> &'static str {
        match self {
            AnnotationRole::User => "user",
            AnnotationRole::Agent => "agent",
        }
    }
}

/// One entry of the annotation body, exactly as the API spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Annotation {
    /// 0-based turn id.
    pub turn_id: u32,
    pub role: AnnotationRole,
    pub annotation_type: AnnotationType,
}

/// `{"annotations": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnnotationBody {
    pub annotations: Vec<Annotation>,
}

/// `{"note": "…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoteBody {
    pub note: String,
}

/// Why a rating is not pushed: Studio's API has no annotation type for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Skip {
    /// 👍: Studio's "Good" is not in its API.
    Good,
    /// 👎 without a reason: Studio's "Bad" is not in its API.
    BadWithoutReason,
    /// 👎 latency: Studio has no latency annotation.
    Latency,
}

impl Skip {
    pub fn label(self) -> &'static str {
        match self {
            Skip::Good => "👍 good",
            Skip::BadWithoutReason => "👎 without a reason",
            Skip::Latency => "👎 latency",
        }
    }
}

/// The Studio annotation for a rating of the turn whose 0-based id is `turn_id`, or why there is none.
pub fn to_annotation(turn_id: u32, rating: &TurnRating) -> Result<Annotation, Skip> {
    let (role, annotation_type) = match (rating.thumbs, rating.reason) {
        (Thumbs::Up, _) => return Err(Skip::Good),
        (Thumbs::Down, None) => return Err(Skip::BadWithoutReason),
        (Thumbs::Down, Some(RatingReason::Latency)) => return Err(Skip::Latency),
        (Thumbs::Down, Some(RatingReason::WrongInformation)) => (AnnotationRole::Agent, AnnotationType::WrongInfo),
        (Thumbs::Down, Some(RatingReason::WrongTranscription)) => {
            (AnnotationRole::User, AnnotationType::WrongTranscript)
        }
        (Thumbs::Down, Some(RatingReason::MissingIntent)) => (AnnotationRole::User, AnnotationType::MissingTopic),
    };
    Ok(Annotation {
        turn_id,
        role,
        annotation_type,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn down(reason: Option<RatingReason>) -> TurnRating {
        TurnRating {
            thumbs: Thumbs::Down,
            reason,
            comment: "why".into(),
        }
    }

    #[test]
    fn every_rating_maps_or_says_why_not() {
        let wire = |r: &TurnRating| serde_json::to_string(&to_annotation(4, r).unwrap()).unwrap();
        assert_eq!(
            wire(&down(Some(RatingReason::WrongInformation))),
            r#"{"turnId":4,"role":"agent","annotationType":"wrong_info"}"#
        );
        assert_eq!(
            wire(&down(Some(RatingReason::WrongTranscription))),
            r#"{"turnId":4,"role":"user","annotationType":"wrong_transcript"}"#
        );
        assert_eq!(
            wire(&down(Some(RatingReason::MissingIntent))),
            r#"{"turnId":4,"role":"user","annotationType":"missing_topic"}"#
        );
        assert_eq!(to_annotation(0, &down(Some(RatingReason::Latency))), Err(Skip::Latency));
        assert_eq!(to_annotation(0, &down(None)), Err(Skip::BadWithoutReason));
        let up = TurnRating {
            thumbs: Thumbs::Up,
            reason: None,
            comment: String::new(),
        };
        assert_eq!(to_annotation(0, &up), Err(Skip::Good));
    }

    #[test]
    fn the_body_refuses_what_the_api_does_not_know() {
        let ok = r#"{"annotations":[{"turnId":0,"role":"user","annotationType":"missing_topic"}]}"#;
        assert!(serde_json::from_str::<AnnotationBody>(ok).is_ok());
        for bad in [
            r#"{"annotations":[{"turnId":0,"role":"caller","annotationType":"missing_topic"}]}"#,
            r#"{"annotations":[{"turnId":0,"role":"user","annotationType":"latency"}]}"#,
            r#"{"annotations":[{"turnId":-1,"role":"user","annotationType":"wrong_info"}]}"#,
            r#"{"annotations":[{"turnId":0,"role":"user","annotationType":"wrong_info","x":1}]}"#,
            r#"{"annotations":[{"role":"user","annotationType":"wrong_info"}]}"#,
        ] {
            assert!(serde_json::from_str::<AnnotationBody>(bad).is_err(), "{bad}");
        }
        assert!(serde_json::from_str::<NoteBody>(r#"{"note":"x","extra":true}"#).is_err());
    }
}
