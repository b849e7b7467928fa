mod queue;
mod tls;
