mod queue;
mod sync;
mod tui_e2e;
mod tui_queue;
