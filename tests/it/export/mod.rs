//! Integration tests: export.
mod doctor;
mod hostile_records;
mod studio_links;
