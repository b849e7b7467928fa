//! The app core: pure state, messages, effects and `update` (design.md §2).
//!
//! Nothing here does I/O or reads a clock: time and answers arrive as [`Msg`]s, and every
//! side effect leaves as an [`Effect`] for the runner in `crate::tui`.

pub mod help;
pub mod history;
pub mod jumps;
pub mod keymap;
pub mod layout;
pub mod live;
pub mod msg;
pub mod noop;
pub mod paging;
pub mod player;
pub mod rating;
pub mod review;
pub mod score;
pub mod scorecard_form;
pub mod state;
pub mod stats;
pub mod studio;
pub mod transcript;
pub mod turn_extras;
pub mod turns;
pub mod update;

pub use keymap::{Action, KeyMap};
pub use msg::{Effect, Msg, RequestId};
pub use state::{Identity, Pane, State};
pub use update::{start, update};
