//! Integration tests: export.
mod compression;
mod doctor;
mod first_page;
mod hostile_records;
mod sharded;
mod studio_links;
