//! Integration tests: misc.
mod module_graph;
