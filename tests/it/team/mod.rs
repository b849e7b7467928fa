mod catch_up;
mod live_claims;
mod queue;
mod sync;
mod tls;
mod tui_e2e;
mod tui_queue;
