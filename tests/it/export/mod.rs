//! Integration tests: export.
mod compression;
mod doctor;
mod first_page;
mod hostile_records;
mod scores;
mod sharded;
mod studio_links;
