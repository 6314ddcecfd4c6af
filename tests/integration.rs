//! End-to-end and per-stage tests, one binary (`cargo test --test integration`).
//!
//! `util` holds the helpers; each other module tests one stage against the fixtures in
//! `tests/fixtures/` (described in `tests/fixtures/README.md`).

mod integration {
    pub mod accounts;
    pub mod archive;
    pub mod aws_errors;
    pub mod build;
    pub mod charts;
    pub mod collect;
    pub mod collect_history;
    pub mod collect_policy_calls;
    pub mod collect_shards;
    pub mod deploy;
    pub mod detection;
    pub mod fault_proxy;
    pub mod findings;
    pub mod flaky_s3;
    pub mod ingest;
    pub mod layers;
    pub mod logs;
    pub mod malformed;
    pub mod malware;
    pub mod order;
    pub mod oscal;
    pub mod output_safety;
    pub mod pades_lta;
    pub mod policy;
    pub mod rebuild;
    pub mod replay;
    pub mod report;
    pub mod s3_input;
    pub mod samples;
    pub mod semantics_v2;
    pub mod sign;
    pub mod tamper;
    pub mod test_tsa;
    pub mod timestamps;
    pub mod trend;
    pub mod util;
    pub mod vault_protection;
    pub mod zip_safety;
}
