mod queue;
mod sync;
mod tui_e2e;
