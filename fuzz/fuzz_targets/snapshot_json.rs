//! Fuzz target: `ingest::parse` on bytes named like a real snapshot json (collected/111122223333/eu-central-1/2026-07-08T06:00:00Z/list-backup-jobs.json).
#![no_main]

#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    common::parse_as(data, "collected/111122223333/eu-central-1/2026-07-08T06:00:00Z/list-backup-jobs.json");
});
