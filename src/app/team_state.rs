//! The team store as the app sees it (`app::team_sync`): how many changes wait for the team
//! database, how many of teammates' are still to be read, and why it is unreachable when it is.

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TeamSync {
    /// Changes kept locally that the team database has not taken yet (the header's "N unsynced").
    pub unsynced: u64,
    /// Teammates' changes the store has still to read (the header's "reading N from the team"),
    /// while it catches up with a long history a page at a time.
    pub behind: u64,
    /// Why the last exchange with the team database failed; `None` while it answers.
    pub error: Option<String>,
}
