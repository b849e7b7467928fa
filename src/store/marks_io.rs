//! Sharing review marks as a versioned JSON file. Import reads the file one entry at a time
//! (memory stays flat for millions of entries) inside one transaction: a bad entry anywhere rolls
//! it all back, so a bad file changes nothing.
//!
//! Version 2 gives each entry `fields`: who made the latest change of each field and when
//! (`{"field": "note", "reviewer": "alice@acme", "at_ms": …}`); a field stamped but absent from
//! the entry's marks was cleared then. Import merges field by field, the newest change winning
//! (`domain::history::incoming_wins`). Version 1 files still import: their fields count as
//! changed by "unknown" at the file's `exported_at` (time 0 without one, so any local change wins).
//!
//! Version 3 adds each conversation's scorecard saves (`scores`: every save, as the store keeps
//! them append-only). Import adds the saves the store does not have yet, a save being the same
//! when its scorecard, reviewer and `saved_at` (`at_ms`) are; the newest save of a (scorecard,
//! reviewer) stays the current one whichever store it came from. Versions 1 and 2 have none.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::Store;
use super::error::{StoreError, StoreResult};
use super::marks;
use crate::domain::history::{self, FieldMerge, FieldOutcome, MarkField, Side, Stamp};
use crate::domain::marks::validate;
use crate::domain::scores::ScoreRecord;
use crate::domain::{ConversationKey, Marks, RatingReason, ReviewStatus, Scope, Thumbs, TurnRating};

pub const MARKS_FORMAT: &str = "callscope.marks";
/// The version export writes; import also reads every version from [`OLDEST_VERSION`].
pub const MARKS_VERSION: u64 = 3;
const OLDEST_VERSION: u64 = 1;

#[derive(Serialize)]
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
    /// The latest change of each field (version 2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    fields: Vec<FieldEntry>,
    /// Every scorecard save, oldest first (version 3).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    scores: Vec<ScoreRecord>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldEntry {
    field: String,
    reviewer: String,
    at_ms: i64,
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
    /// Fields taken from the file (its change was newer), in how many conversations.
    pub changed_fields: usize,
    pub changed_conversations: usize,
    /// Fields where the two differ and the local change is newer, so it stayed.
    pub kept_fields: usize,
    /// Fields already equal on both sides.
    pub same_fields: usize,
    /// Scorecard saves added from the file, and those the store had already.
    pub scores_added: usize,
    pub scores_present: usize,
}

/// What the import decided for one conversation of the file: its fields that were taken or kept
/// (fields equal on both sides are left out).
#[derive(Debug, Clone, PartialEq)]
pub struct ConversationMerge {
    pub key: ConversationKey,
    pub outcomes: Vec<FieldOutcome>,
    /// The file's scorecard saves this store did not have (added, or with a dry run: would be).
    pub new_scores: Vec<ScoreRecord>,
}

impl ConversationMerge {
    pub fn changed(&self) -> impl Iterator<Item = &FieldOutcome> {
        self.outcomes.iter().filter(|o| o.merge == FieldMerge::Take)
    }

    pub fn kept(&self) -> impl Iterator<Item = &FieldOutcome> {
        self.outcomes.iter().filter(|o| o.merge == FieldMerge::Keep)
    }
}

impl MarksImport {
    fn add(&mut self, m: &Marks) {
        self.conversations += 1;
        self.reviewed += usize::from(m.status == ReviewStatus::Reviewed);
        self.follow_up += usize::from(m.status == ReviewStatus::NeedsFollowUp);
        self.flagged += usize::from(m.is_flagged());
        self.notes += usize::from(!m.note.trim().is_empty());
        self.turn_ratings += m.turns.len();
    }
}

fn invalid(detail: String) -> StoreError {
    StoreError::invalid(format!("marks file rejected: {detail}"))
}

/// A reviewer name from a file: what `team::reviewer` accepts.
fn check_reviewer(name: &str) -> Result<(), String> {
    if name.trim().is_empty() || name.len() > 200 || name.chars().any(char::is_control) {
        return Err(format!("reviewer {name:?} must be 1–200 printable characters"));
    }
    Ok(())
}

/// Checks one entry and turns it into a key, marks, and each field's side of the merge
/// (fields the entry does not stamp get `default_stamp`).
fn entry_marks(i: usize, e: Entry, default_stamp: &Stamp) -> StoreResult<Parsed> {
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
    let mut saves = BTreeSet::new();
    for r in &e.scores {
        r.validate()
            .map_err(|v| at(format!("score by {:?}: {}", r.reviewer, v.detail)))?;
        if !saves.insert((r.scorecard.as_str(), r.reviewer.as_str(), r.at_ms)) {
            return Err(at(format!(
                "score {} by {} at {} appears twice",
                r.scorecard, r.reviewer, r.at_ms
            )));
        }
    }
    drop(saves);
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
    validate(&m).map_err(at)?;
    let mut values = history::fields(&m);
    let mut sides = Sides::new();
    for f in e.fields {
        let field = MarkField::parse(&f.field).map_err(at)?;
        check_reviewer(&f.reviewer).map_err(at)?;
        // Scores are merged by the scorecard store, not with the marks.
        if matches!(field, MarkField::Score(_)) {
            continue;
        }
        let side = Side {
            value: values.remove(&field),
            stamp: Stamp {
                reviewer: f.reviewer,
                at_ms: f.at_ms,
            },
        };
        if sides.insert(field, side).is_some() {
            return Err(at(format!("field {} stamped twice", f.field)));
        }
    }
    for (field, value) in values {
        let stamp = default_stamp.clone();
        sides.insert(
            field,
            Side {
                value: Some(value),
                stamp,
            },
        );
    }
    Ok(Parsed {
        key,
        marks: m,
        sides,
        scores: e.scores,
    })
}

type Sides = BTreeMap<MarkField, Side>;

/// One checked entry of a file.
struct Parsed {
    key: ConversationKey,
    marks: Marks,
    sides: Sides,
    scores: Vec<ScoreRecord>,
}

/// Called with each valid entry, in file order, with its index; an error stops the parse.
type OnEntry<'a> = dyn FnMut(usize, Parsed) -> StoreResult<()> + 'a;

/// Reads a marks file from `reader` one entry at a time (memory does not grow with the file),
/// handing each checked entry to `on_entry`. Duplicates are `on_entry`'s to find.
fn parse_stream(reader: impl Read, on_entry: &mut OnEntry<'_>) -> StoreResult<()> {
    let mut state = ParseState {
        on_entry,
        failure: None,
        at_entry: None,
        default_stamp: Stamp {
            reviewer: history::UNKNOWN_REVIEWER.into(),
            at_ms: 0,
        },
    };
    let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::with_capacity(64 * 1024, reader));
    let parsed = FileSeed(&mut state).deserialize(&mut de).and_then(|()| de.end());
    match parsed {
        Ok(()) => Ok(()),
        Err(e) => Err(match (state.failure.take(), state.at_entry) {
            (Some(failure), _) => failure,
            (None, _) if e.is_io() => invalid(format!("cannot read it: {e}")),
            (None, _) if e.is_syntax() || e.is_eof() => invalid(format!("not valid JSON: {e}")),
            (None, Some(i)) => invalid(format!("conversations[{i}]: {e}")),
            (None, None) => invalid(e.to_string()),
        }),
    }
}

struct ParseState<'s, 'a> {
    on_entry: &'s mut OnEntry<'a>,
    /// A refusal of ours (not serde's), reported as is.
    failure: Option<StoreError>,
    /// The entry being read when serde failed.
    at_entry: Option<usize>,
    /// The stamp of fields the file does not stamp: "unknown" at its `exported_at` (read before
    /// the entries, where export writes it).
    default_stamp: Stamp,
}

impl ParseState<'_, '_> {
    fn fail<E: serde::de::Error>(&mut self, e: StoreError) -> E {
        self.failure = Some(e);
        E::custom("marks file rejected")
    }
}

struct FileSeed<'p, 's, 'a>(&'p mut ParseState<'s, 'a>);

impl<'de> DeserializeSeed<'de> for FileSeed<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

const FIELDS: &[&str] = &["format", "version", "exported_at", "conversations"];

impl<'de> Visitor<'de> for FileSeed<'_, '_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a callscope marks file (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let st = self.0;
        let (mut format, mut version, mut entries) = (false, false, false);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "format" => {
                    let f: serde_json::Value = map.next_value()?;
                    if f.as_str() != Some(MARKS_FORMAT) {
                        return Err(st.fail(not_marks_file()));
                    }
                    format = true;
                }
                "version" => {
                    let v: serde_json::Value = map.next_value()?;
                    match v.as_u64() {
                        Some(OLDEST_VERSION..=MARKS_VERSION) => version = true,
                        Some(v) => {
                            return Err(st.fail(invalid(format!(
                                "unsupported version {v}; this callscope reads versions {OLDEST_VERSION} to {MARKS_VERSION}"
                            ))));
                        }
                        None => return Err(st.fail(no_version())),
                    }
                }
                "exported_at" => {
                    let at = map.next_value::<Option<String>>()?;
                    if let Some(at) = at {
                        let t = chrono::DateTime::parse_from_rfc3339(&at)
                            .map_err(|e| st.fail(invalid(format!("exported_at {at:?}: {e}"))))?;
                        st.default_stamp.at_ms = t.timestamp_millis();
                    }
                }
                "conversations" => {
                    map.next_value_seed(EntriesSeed(&mut *st))?;
                    entries = true;
                }
                other => return Err(serde::de::Error::unknown_field(other, FIELDS)),
            }
        }
        // Entries before the header were applied only inside the caller's transaction.
        if !format {
            return Err(st.fail(not_marks_file()));
        }
        if !version {
            return Err(st.fail(no_version()));
        }
        if !entries {
            return Err(serde::de::Error::missing_field("conversations"));
        }
        Ok(())
    }
}

fn not_marks_file() -> StoreError {
    invalid(format!(
        "not a callscope marks file (\"format\" must be {MARKS_FORMAT:?})"
    ))
}

fn no_version() -> StoreError {
    invalid("missing or non-numeric \"version\"".into())
}

struct EntriesSeed<'p, 's, 'a>(&'p mut ParseState<'s, 'a>);

impl<'de> DeserializeSeed<'de> for EntriesSeed<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for EntriesSeed<'_, '_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a list of conversations")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let st = self.0;
        for i in 0.. {
            st.at_entry = Some(i);
            let Some(entry) = seq.next_element::<Entry>()? else {
                break;
            };
            let applied = entry_marks(i, entry, &st.default_stamp).and_then(|p| (st.on_entry)(i, p));
            if let Err(e) = applied {
                return Err(st.fail(e));
            }
        }
        st.at_entry = None;
        Ok(())
    }
}

/// Validates a marks file without touching any store: what `import_marks` would do with it.
/// (Holds every key to find duplicates; the import itself keeps them in SQLite.)
pub fn check_marks_file(json: &str) -> StoreResult<MarksImport> {
    let mut seen = BTreeSet::new();
    let mut done = MarksImport::default();
    parse_stream(json.as_bytes(), &mut |i, p| {
        if !seen.insert(p.key.clone()) {
            return Err(duplicate(i, &p.key));
        }
        done.add(&p.marks);
        Ok(())
    })?;
    Ok(done)
}

fn duplicate(i: usize, key: &ConversationKey) -> StoreError {
    invalid(format!("conversations[{i}]: conversation {} appears twice", key.id))
}

impl Store {
    /// All recorded marks and scorecard saves (optionally of one scope) as a versioned JSON
    /// document.
    pub fn export_marks(&self, scope: Option<&Scope>) -> StoreResult<String> {
        let keys = self.marked_keys(scope)?;
        let mut conversations = Vec::with_capacity(keys.len());
        for key in keys {
            let (m, sides) = marks::local_sides(self.conn(), &key)?;
            let fields = sides
                .into_iter()
                .map(|(field, side)| FieldEntry {
                    field: field.as_key(),
                    reviewer: side.stamp.reviewer,
                    at_ms: side.stamp.at_ms,
                })
                .collect();
            let scores = self.scores(&key)?;
            conversations.push(Entry {
                fields,
                scores,
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

    /// Merges the file into the store field by field (newest change wins); others are untouched.
    /// All or nothing: the file is applied in one transaction that a bad entry rolls back.
    pub fn import_marks(&mut self, json: &str) -> StoreResult<MarksImport> {
        self.import_marks_from(json.as_bytes())
    }

    /// [`import_marks`](Self::import_marks) reading the file as it goes: memory stays flat
    /// however many entries it has. The keys seen (for duplicates) are kept in a temporary table
    /// on disk and the transaction's pages spill to the WAL, so SQLite's page caches bound it.
    pub fn import_marks_from(&mut self, reader: impl Read) -> StoreResult<MarksImport> {
        self.merge_marks_from(reader, false, &mut |_| {})
    }

    /// The import, telling `on_conversation` what it decided for each conversation of the file
    /// (in file order). With `dry_run` the same work runs and is rolled back: nothing is written.
    pub fn merge_marks_from(
        &mut self,
        reader: impl Read,
        dry_run: bool,
        on_conversation: &mut dyn FnMut(&ConversationMerge),
    ) -> StoreResult<MarksImport> {
        // A temporary table in memory would grow with the file; set before the transaction.
        self.conn().pragma_update(None, "temp_store", "FILE")?;
        let result = self.import_in_tx(reader, dry_run, on_conversation);
        let _ = self.conn().pragma_update(None, "temp_store", "DEFAULT");
        result
    }

    fn import_in_tx(
        &mut self,
        reader: impl Read,
        dry_run: bool,
        on_conversation: &mut dyn FnMut(&ConversationMerge),
    ) -> StoreResult<MarksImport> {
        let now = super::now_ms();
        let tx = self.write_tx()?;
        tx.execute_batch(
            "CREATE TEMP TABLE marks_import_seen (account TEXT, project TEXT, environment TEXT, id TEXT,
               PRIMARY KEY (account, project, environment, id)) WITHOUT ROWID",
        )?;
        let mut done = MarksImport::default();
        {
            let mut seen = tx.prepare(
                "INSERT OR IGNORE INTO temp.marks_import_seen (account, project, environment, id) VALUES (?1, ?2, ?3, ?4)",
            )?;
            parse_stream(reader, &mut |i, p| {
                let Parsed {
                    key,
                    marks: m,
                    sides: incoming,
                    scores,
                } = p;
                let fresh = seen.execute(rusqlite::params![key.account, key.project, key.environment, key.id])?;
                if fresh == 0 {
                    return Err(duplicate(i, &key));
                }
                let (local_marks, local) = marks::local_sides(&tx, &key)?;
                let at = |e: String| invalid(format!("conversations[{i}]: {e}"));
                let (merged, outcomes) = history::merge(&local_marks, &local, &incoming).map_err(at)?;
                validate(&merged).map_err(at)?;
                done.add(&m);
                let mut taken = 0;
                for o in &outcomes {
                    match o.merge {
                        FieldMerge::Take => {
                            taken += 1;
                            // The change keeps its author and time; `before` is what it replaced here.
                            let before = o.local.as_ref().and_then(|l| l.value.clone());
                            let change = [(o.field.clone(), before, o.incoming.value.clone())];
                            marks::append_history(&tx, &key, &change, &o.incoming.stamp, now)?;
                        }
                        FieldMerge::Keep => done.kept_fields += 1,
                        FieldMerge::Same => {
                            done.same_fields += 1;
                            // A clear this store never saw is kept as such, so it travels on
                            // in this store's exports (marks unchanged).
                            if o.local.is_none() && o.incoming.value.is_none() {
                                let change = [(o.field.clone(), None, None)];
                                marks::append_history(&tx, &key, &change, &o.incoming.stamp, now)?;
                            }
                        }
                    }
                }
                if taken > 0 {
                    marks::replace(&tx, &key, &merged, now)?;
                    done.changed_fields += taken;
                    done.changed_conversations += 1;
                }
                let mut new_scores = Vec::new();
                for r in scores {
                    if super::scores::add_save(&tx, &key, &r, now)? {
                        new_scores.push(r);
                    } else {
                        done.scores_present += 1;
                    }
                }
                done.scores_added += new_scores.len();
                let outcomes = outcomes.into_iter().filter(|o| o.merge != FieldMerge::Same).collect();
                on_conversation(&ConversationMerge {
                    key,
                    outcomes,
                    new_scores,
                });
                Ok(())
            })?;
        }
        tx.execute_batch("DROP TABLE temp.marks_import_seen")?;
        if dry_run {
            tx.rollback()?;
        } else {
            tx.commit()?;
        }
        Ok(done)
    }

    /// Keys that have any mark row, sorted.
    fn marked_keys(&self, scope: Option<&Scope>) -> StoreResult<BTreeSet<ConversationKey>> {
        let mut keys = BTreeSet::new();
        // With the history: a conversation whose marks were all cleared still carries the clears.
        for table in [
            "conversation_marks",
            "conversation_flags",
            "turn_ratings",
            "mark_history",
            "scores",
        ] {
            let mut stmt = self.conn().prepare(&format!(
                "SELECT DISTINCT account, project, environment, id FROM {table}"
            ))?;
            let rows = stmt.query_map([], |r| ConversationKey::from_row(r, 0))?;
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
