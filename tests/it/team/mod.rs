mod queue;
mod sync;
