//! Sample quarter generator (placeholder until the generator lands).
#![allow(missing_docs)]
use std::path::PathBuf;
pub struct SampleOptions {
    pub scale: u32,
    pub seed: u64,
    pub out: PathBuf,
}
pub struct SampleSummary {
    pub files: u64,
    pub bytes: u64,
    pub backup_jobs: u64,
    pub copy_jobs: u64,
    pub restore_jobs: u64,
    pub restore_tests: u64,
    pub resources: u64,
    pub job_rows: u64,
}
pub fn generate(_opts: &SampleOptions) -> std::io::Result<SampleSummary> {
    Err(std::io::Error::other("not yet"))
}
