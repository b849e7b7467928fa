//! Integration tests: api.
mod bounds;
mod correlation;
mod data_list;
mod path_families;
mod real_shapes;
mod redirect;
mod retry;
mod walk_cycles;
