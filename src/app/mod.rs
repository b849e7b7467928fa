//! The app core: pure state, messages, effects and `update` (design.md §2).
//!
//! Nothing here does I/O or reads a clock: time and answers arrive as [`Msg`]s, and every
//! side effect leaves as an [`Effect`] for the runner in `crate::tui`.

pub mod actions;
pub mod detail;
pub mod detail_view;
pub mod help;
pub mod history;
pub mod history_state;
pub mod ids;
pub mod input;
pub mod jumps;
pub mod keymap;
pub mod layout;
pub mod line;
pub mod list;
pub mod live;
pub mod live_state;
pub mod mouse;
pub mod msg;
pub mod noop;
pub mod overlays;
pub mod pages;
pub mod paging;
pub mod picker;
pub mod player;
pub mod player_state;
pub mod queue;
pub mod queue_live;
pub mod queue_state;
pub mod rating;
pub mod review;
pub mod review_state;
pub mod score;
pub mod scorecard_form;
pub mod scorecard_state;
pub mod search;
pub mod state;
pub mod stats;
pub mod stats_view;
pub mod studio;
pub mod team_state;
pub mod team_sync;
pub mod transcript;
pub mod turn_extras;
pub mod turns;
pub mod update;

pub use keymap::{Action, KeyMap};
pub use msg::{Effect, IoEffect, Msg, RequestId, TerminalEffect};
pub use state::{Identity, Pane, State};
pub use update::{Step, start, step, update};
