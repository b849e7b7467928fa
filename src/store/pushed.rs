//! What `marks push` already sent to Agent Studio: a content hash per note and per annotation,
//! so a second push sends only what is new or changed.

use std::collections::HashSet;

use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};

use super::Store;
use super::error::StoreResult;
use crate::domain::{ConversationKey, Marks};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushKind {
    /// The conversation's note: one row, replaced when a changed note is sent.
    Note,
    /// One turn annotation per row.
    Annotation,
}

impl PushKind {
    fn as_str(self) -> &'static str {
        match self {
            PushKind::Note => "note",
            PushKind::Annotation => "annotation",
        }
    }
}

/// What was sent for one conversation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pushed {
    /// The hash of the note last sent.
    pub note: Option<String>,
    pub annotations: HashSet<String>,
}

/// SHA-256 (hex) of what is sent.
pub fn content_hash(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

const KEY_WHERE: &str = "account = ?1 AND project = ?2 AND environment = ?3 AND id = ?4";

impl Store {
    /// The conversations of `account`/`project` (every environment) with marks changed at or
    /// after `since_ms` (all when `None`), oldest change first.
    pub fn marked_since(
        &self,
        account: &str,
        project: &str,
        since_ms: Option<i64>,
    ) -> StoreResult<Vec<ConversationKey>> {
        let mut stmt = self.conn().prepare(
            "SELECT account, project, environment, id FROM conversation_marks
             WHERE account = ?1 AND project = ?2 AND updated_at >= ?3 ORDER BY updated_at, id",
        )?;
        let rows = stmt.query_map(params![account, project, since_ms.unwrap_or(i64::MIN)], |r| {
            ConversationKey::from_row(r, 0)
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The marks and what was already pushed of one conversation.
    pub fn marks_and_pushed(&self, key: &ConversationKey) -> StoreResult<(Marks, Pushed)> {
        let marks = self.marks(key)?;
        let kp = [&key.account, &key.project, &key.environment, &key.id];
        let note = self
            .conn()
            .prepare_cached(&format!(
                "SELECT content_hash FROM pushed_marks WHERE {KEY_WHERE} AND kind = 'note'"
            ))?
            .query_row(kp, |r| r.get::<_, String>(0))
            .optional()?;
        let mut stmt = self.conn().prepare_cached(&format!(
            "SELECT content_hash FROM pushed_marks WHERE {KEY_WHERE} AND kind = 'annotation'"
        ))?;
        let annotations = stmt
            .query_map(kp, |r| r.get::<_, String>(0))?
            .collect::<Result<_, _>>()?;
        Ok((marks, Pushed { note, annotations }))
    }

    /// Records that `hashes` of `kind` were sent for `key` (a note replaces the one before).
    pub fn record_pushed(&mut self, key: &ConversationKey, kind: PushKind, hashes: &[String]) -> StoreResult<()> {
        let now = super::now_ms();
        let tx = self.write_tx()?;
        let kp = [&key.account, &key.project, &key.environment, &key.id];
        if kind == PushKind::Note {
            tx.prepare_cached(&format!("DELETE FROM pushed_marks WHERE {KEY_WHERE} AND kind = 'note'"))?
                .execute(kp)?;
        }
        {
            let mut insert = tx.prepare_cached(
                "INSERT OR REPLACE INTO pushed_marks (account, project, environment, id, kind, content_hash, pushed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for h in hashes {
                insert.execute(params![kp[0], kp[1], kp[2], kp[3], kind.as_str(), h, now])?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Origin;

    #[test]
    fn a_changed_note_replaces_the_record_and_annotations_accumulate() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("s.db")).unwrap();
        let key = Origin::new("ws", "p", "live").key("CA1");
        s.set_note(&key, "first").unwrap();
        assert_eq!(s.marked_since("ws", "p", None).unwrap(), vec![key.clone()]);
        assert!(s.marked_since("ws", "other", None).unwrap().is_empty());
        assert!(s.marked_since("ws", "p", Some(i64::MAX)).unwrap().is_empty());
        s.record_pushed(&key, PushKind::Note, &[content_hash(b"first")])
            .unwrap();
        s.record_pushed(&key, PushKind::Note, &[content_hash(b"second")])
            .unwrap();
        s.record_pushed(&key, PushKind::Annotation, &["a".into()]).unwrap();
        s.record_pushed(&key, PushKind::Annotation, &["b".into(), "a".into()])
            .unwrap();
        let (marks, pushed) = s.marks_and_pushed(&key).unwrap();
        assert_eq!(marks.note, "first");
        assert_eq!(pushed.note, Some(content_hash(b"second")));
        assert_eq!(pushed.annotations, ["a".to_string(), "b".to_string()].into());
        assert_eq!(content_hash(b"").len(), 64);
    }
}
