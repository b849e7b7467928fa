//! What `callscope export --reviewed/--flagged/--filter` needs: cached conversations matching a
//! filter with their marks (rendered by [`crate::export::markdown`]).

use std::collections::VecDeque;

use super::error::StoreResult;
use super::filter::Filter;
use super::list::{ListCursor, ListOrder, ListRow, Scope};
use super::marks::Marks;
use super::{ConversationKey, Store, cache};
use crate::api::Conversation;

const PAGE: usize = 256;

/// Iterates matching cached conversations (newest first) with their marks, a page at a time,
/// so memory stays flat however large the cache is.
pub struct Matching<'s> {
    store: &'s Store,
    scope: Scope,
    filter: Filter,
    after: Option<ListCursor>,
    buffered: VecDeque<ListRow>,
    done: bool,
}

impl Iterator for Matching<'_> {
    type Item = StoreResult<(ConversationKey, Conversation, Marks)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.buffered.is_empty() && !self.done {
            match self.store.query_rows(
                &self.scope,
                &self.filter,
                ListOrder::NewestFirst,
                self.after.as_ref(),
                PAGE,
            ) {
                Ok(rows) => {
                    self.done = rows.len() < PAGE;
                    self.after = rows.last().map(ListRow::cursor);
                    self.buffered = rows.into();
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        let row = self.buffered.pop_front()?;
        Some(self.load(row.key))
    }
}

impl Matching<'_> {
    fn load(&self, key: ConversationKey) -> StoreResult<(ConversationKey, Conversation, Marks)> {
        let conversation = cache::load(self.store.conn(), &key)?.unwrap_or_default();
        let marks = self.store.marks(&key)?;
        Ok((key, conversation, marks))
    }
}

impl Store {
    /// Cached conversations in `scope` matching `filter`, newest first, each with its marks.
    /// E.g. `--reviewed` is `Filter { status: Some(ReviewStatus::Reviewed), .. }`, `--flagged` is `flagged: Some(true)`.
    pub fn conversations_matching(&self, scope: &Scope, filter: &Filter) -> Matching<'_> {
        Matching {
            store: self,
            scope: scope.clone(),
            filter: filter.clone(),
            after: None,
            buffered: VecDeque::new(),
            done: false,
        }
    }
}
