//! Fuzz target: `ingest::parse` on bytes named like a real assessment zip (audit-manager/DORA/report.zip).
#![no_main]

#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    common::parse_as(data, "audit-manager/DORA/report.zip");
});
