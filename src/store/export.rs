//! What `callscope export --reviewed/--flagged/--filter` needs: cached conversations matching a
//! filter with their marks (rendered by [`crate::export::markdown`]).

use std::collections::VecDeque;

use super::error::StoreResult;
use super::list::{ListCursor, ListOrder, ListRow};
use super::{AppStore, Store};
use crate::api::Conversation;
use crate::domain::{ConversationKey, Filter, Marks, Scope};

const PAGE: usize = 256;

/// Iterates matching cached conversations (newest first) with their marks, a page at a time,
/// so memory stays flat however large the cache is.
pub struct Matching<'s> {
    store: &'s dyn AppStore,
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
            match self.store.list_page(
                &self.scope,
                &self.filter,
                ListOrder::NewestFirst,
                self.after.as_ref(),
                PAGE,
            ) {
                Ok(page) => {
                    self.done = page.next.is_none();
                    self.after = page.next;
                    self.buffered = page.rows.into();
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

impl<'s> Matching<'s> {
    /// Cached conversations in `scope` matching `filter`, newest first, each with its marks,
    /// from any store.
    pub fn new(store: &'s dyn AppStore, scope: &Scope, filter: &Filter) -> Self {
        Matching {
            store,
            scope: scope.clone(),
            filter: filter.clone(),
            after: None,
            buffered: VecDeque::new(),
            done: false,
        }
    }

    fn load(&self, key: ConversationKey) -> StoreResult<(ConversationKey, Conversation, Marks)> {
        let conversation = self.store.conversation(&key)?.unwrap_or_default();
        let marks = self.store.marks(&key)?;
        Ok((key, conversation, marks))
    }
}

impl Store {
    /// Cached conversations in `scope` matching `filter`, newest first, each with its marks.
    /// E.g. `--reviewed` is `Filter { status: Some(ReviewStatus::Reviewed), .. }`, `--flagged` is `flagged: Some(true)`.
    pub fn conversations_matching(&self, scope: &Scope, filter: &Filter) -> Matching<'_> {
        Matching::new(self, scope, filter)
    }
}
