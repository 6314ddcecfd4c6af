//! Fuzz target: `ingest::parse` on bytes named like a real report csv (Backup/111122223333/eu-central-1/2026/07/14/plan/BACKUP_JOB_REPORT_plan_2026-07-13T00:00:00Z_2026-07-14T00:00:00Z.csv).
#![no_main]

#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    common::parse_as(data, "Backup/111122223333/eu-central-1/2026/07/14/plan/BACKUP_JOB_REPORT_plan_2026-07-13T00:00:00Z_2026-07-14T00:00:00Z.csv");
});
