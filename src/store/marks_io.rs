//! Sharing review marks as a versioned JSON file. Import validates the whole file before writing,
//! then applies it in one transaction: a bad file changes nothing.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::error::{StoreError, StoreResult};
use super::list::Scope;
use super::marks::{self, Marks, RatingReason, ReviewStatus, Thumbs, TurnRating};
use super::{ConversationKey, Store};

pub const MARKS_FORMAT: &str = "callscope.marks";
pub const MARKS_VERSION: u64 = 1;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MarksFile {
    format: String,
    version: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exported_at: Option<String>,
    conversations: Vec<Entry>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    account: String,
    project: String,
    environment: String,
    id: String,
    #[serde(default)]
    status: ReviewStatus,
    #[serde(default)]
    flags: Vec<String>,
    #[serde(default)]
    note: String,
    #[serde(default)]
    turns: Vec<TurnEntry>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TurnEntry {
    turn: u32,
    thumbs: Thumbs,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<RatingReason>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    comment: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MarksImport {
    /// Conversations whose marks were replaced by the file's.
    pub conversations: usize,
    /// Of those: marked reviewed, needing follow-up, flagged, with a note.
    pub reviewed: usize,
    pub follow_up: usize,
    pub flagged: usize,
    pub notes: usize,
    /// Turn ratings in the file.
    pub turn_ratings: usize,
}

impl MarksImport {
    fn count(entries: &[(ConversationKey, Marks)]) -> Self {
        let n = |f: &dyn Fn(&Marks) -> bool| entries.iter().filter(|(_, m)| f(m)).count();
        MarksImport {
            conversations: entries.len(),
            reviewed: n(&|m| m.status == ReviewStatus::Reviewed),
            follow_up: n(&|m| m.status == ReviewStatus::NeedsFollowUp),
            flagged: n(&|m| m.is_flagged()),
            notes: n(&|m| !m.note.trim().is_empty()),
            turn_ratings: entries.iter().map(|(_, m)| m.turns.len()).sum(),
        }
    }
}

fn invalid(detail: String) -> StoreError {
    StoreError::invalid(format!("marks file rejected: {detail}"))
}

/// Parses and validates a marks file completely; nothing touches the database here.
fn parse(json: &str) -> StoreResult<Vec<(ConversationKey, Marks)>> {
    // Check format and version first so an old or foreign file says so, not "unknown field".
    let head: serde_json::Value = serde_json::from_str(json).map_err(|e| invalid(format!("not valid JSON: {e}")))?;
    let Some(obj) = head.as_object() else {
        return Err(invalid("expected a JSON object".into()));
    };
    if obj.get("format").and_then(|f| f.as_str()) != Some(MARKS_FORMAT) {
        return Err(invalid(format!(
            "not a callscope marks file (\"format\" must be {MARKS_FORMAT:?})"
        )));
    }
    match obj.get("version").and_then(|v| v.as_u64()) {
        Some(MARKS_VERSION) => {}
        Some(v) => {
            return Err(invalid(format!(
                "unsupported version {v}; this callscope reads version {MARKS_VERSION}"
            )));
        }
        None => return Err(invalid("missing or non-numeric \"version\"".into())),
    }
    let file: MarksFile = serde_json::from_value(head).map_err(|e| invalid(e.to_string()))?;
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(file.conversations.len());
    for (i, e) in file.conversations.into_iter().enumerate() {
        let at = |what: String| invalid(format!("conversations[{i}]: {what}"));
        for (name, v) in [
            ("account", &e.account),
            ("project", &e.project),
            ("environment", &e.environment),
            ("id", &e.id),
        ] {
            if v.trim().is_empty() {
                return Err(at(format!("empty {name}")));
            }
        }
        let key = ConversationKey {
            account: e.account,
            project: e.project,
            environment: e.environment,
            id: e.id,
        };
        if !seen.insert(key.clone()) {
            return Err(at(format!("conversation {} appears twice", key.id)));
        }
        let mut turns = BTreeMap::new();
        for t in e.turns {
            let rating = TurnRating {
                thumbs: t.thumbs,
                reason: t.reason,
                comment: t.comment,
            };
            if turns.insert(t.turn, rating).is_some() {
                return Err(at(format!("turn {} rated twice", t.turn)));
            }
        }
        let m = Marks {
            status: e.status,
            flags: e.flags.into_iter().collect(),
            note: e.note,
            turns,
        };
        marks::validate(&m).map_err(at)?;
        out.push((key, m));
    }
    Ok(out)
}

/// Validates a marks file without touching any store: what `import_marks` would do with it.
pub fn check_marks_file(json: &str) -> StoreResult<MarksImport> {
    parse(json).map(|entries| MarksImport::count(&entries))
}

impl Store {
    /// All recorded marks (optionally of one scope) as a versioned JSON document.
    pub fn export_marks(&self, scope: Option<&Scope>) -> StoreResult<String> {
        let keys = self.marked_keys(scope)?;
        let mut conversations = Vec::with_capacity(keys.len());
        for key in keys {
            let m = self.marks(&key)?;
            if m.is_empty() {
                continue;
            }
            conversations.push(Entry {
                account: key.account,
                project: key.project,
                environment: key.environment,
                id: key.id,
                status: m.status,
                flags: m.flags.into_iter().collect(),
                note: m.note,
                turns: m
                    .turns
                    .into_iter()
                    .map(|(turn, r)| TurnEntry {
                        turn,
                        thumbs: r.thumbs,
                        reason: r.reason,
                        comment: r.comment,
                    })
                    .collect(),
            });
        }
        let file = MarksFile {
            format: MARKS_FORMAT.into(),
            version: MARKS_VERSION,
            exported_at: Some(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            conversations,
        };
        Ok(serde_json::to_string_pretty(&file)?)
    }

    /// Replaces the marks of every conversation in the file with the file's; others are untouched.
    /// The file is validated completely first and applied in one transaction.
    pub fn import_marks(&mut self, json: &str) -> StoreResult<MarksImport> {
        let entries = parse(json)?;
        let now = super::now_ms();
        let tx = self.write_tx()?;
        for (key, m) in &entries {
            marks::replace(&tx, key, m, now)?;
        }
        tx.commit()?;
        Ok(MarksImport::count(&entries))
    }

    /// Keys that have any mark row, sorted.
    fn marked_keys(&self, scope: Option<&Scope>) -> StoreResult<BTreeSet<ConversationKey>> {
        let mut keys = BTreeSet::new();
        for table in ["conversation_marks", "conversation_flags", "turn_ratings"] {
            let mut stmt = self.conn().prepare(&format!(
                "SELECT DISTINCT account, project, environment, id FROM {table}"
            ))?;
            let rows = stmt.query_map([], |r| {
                Ok(ConversationKey {
                    account: r.get(0)?,
                    project: r.get(1)?,
                    environment: r.get(2)?,
                    id: r.get(3)?,
                })
            })?;
            for k in rows {
                let k = k?;
                if scope.is_none_or(|s| s.contains(&k)) {
                    keys.insert(k);
                }
            }
        }
        Ok(keys)
    }
}
