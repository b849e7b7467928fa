mod catch_up;
mod queue;
mod sync;
mod tls;
mod tui_e2e;
mod tui_queue;
