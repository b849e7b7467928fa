//! Request ids: the bottom of the app, imported by the state, the paging and the messages.

/// Request ids tag every fetch so that late answers can be recognised and dropped.
pub type RequestId = u64;
