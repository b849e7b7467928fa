mod queue;
mod tui_queue;
