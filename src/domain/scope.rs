//! Which conversations a query covers, and the key of one conversation.

use chrono::{DateTime, Utc};

/// Where a conversation was fetched from: part of its cache key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    pub account: String,
    pub project: String,
    pub environment: String,
}

impl Origin {
    pub fn new(account: impl Into<String>, project: impl Into<String>, environment: impl Into<String>) -> Self {
        Origin {
            account: account.into(),
            project: project.into(),
            environment: environment.into(),
        }
    }

    pub fn key(&self, id: impl Into<String>) -> ConversationKey {
        ConversationKey {
            account: self.account.clone(),
            project: self.project.clone(),
            environment: self.environment.clone(),
            id: id.into(),
        }
    }
}

/// Identifies one cached conversation (and its marks).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct ConversationKey {
    pub account: String,
    pub project: String,
    pub environment: String,
    pub id: String,
}

impl ConversationKey {
    pub fn origin(&self) -> Origin {
        Origin::new(&self.account, &self.project, &self.environment)
    }
}

/// Which cached conversations a query covers. The TUI sets all three; export may leave some open.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub account: Option<String>,
    pub project: Option<String>,
    pub environment: Option<String>,
    /// Conversations that started in `[since, until)`, unix ms (the TUI's time window).
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
}

impl Scope {
    /// One account/project/environment: what the list shows.
    pub fn env(account: impl Into<String>, project: impl Into<String>, environment: impl Into<String>) -> Self {
        Scope {
            account: Some(account.into()),
            project: Some(project.into()),
            environment: Some(environment.into()),
            ..Scope::default()
        }
    }

    /// The same scope, narrowed to conversations that started in `[start, end)`.
    pub fn started_between(mut self, start: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        self.since_ms = Some(start.timestamp_millis());
        self.until_ms = Some(end.timestamp_millis());
        self
    }

    /// Every environment of one project.
    pub fn project(account: impl Into<String>, project: impl Into<String>) -> Self {
        Scope {
            account: Some(account.into()),
            project: Some(project.into()),
            ..Scope::default()
        }
    }

    /// The whole store.
    pub fn everything() -> Self {
        Scope::default()
    }

    pub fn contains(&self, k: &ConversationKey) -> bool {
        self.account.as_ref().is_none_or(|a| *a == k.account)
            && self.project.as_ref().is_none_or(|p| *p == k.project)
            && self.environment.as_ref().is_none_or(|e| *e == k.environment)
    }
}
