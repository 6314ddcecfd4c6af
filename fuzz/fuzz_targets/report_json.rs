//! Fuzz target: `ingest::parse` on bytes named like a real report json (Backup/111122223333/eu-central-1/2026/07/14/plan/RESTORE_JOB_REPORT_plan.json).
#![no_main]

#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    common::parse_as(data, "Backup/111122223333/eu-central-1/2026/07/14/plan/RESTORE_JOB_REPORT_plan.json");
});
