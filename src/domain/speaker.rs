//! Who said a turn.

/// Who said a turn's text; matches the server's `turn_type=user|agent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i64)]
pub enum Speaker {
    User = 0,
    Agent = 1,
}

impl Speaker {
    pub fn as_str(self) -> &'static str {
        match self {
            Speaker::User => "user",
            Speaker::Agent => "agent",
        }
    }
}
