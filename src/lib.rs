//! dora-evidence turns what AWS Backup and AWS Audit Manager record into a hashed,
//! DORA-mapped evidence package.
//!
//! The modules form layers; each imports only from the rows below it (in the foundation row,
//! from the modules listed after it; the test
//! `layers` in `tests/integration` holds the code to this table):
//!
//! ```text
//! cli                              the command line: one small file per subcommand
//! rebuild                          re-perform a package from its own artifacts and compare
//! build · collect · renew          the jobs: build a package, snapshot the AWS APIs, renew a
//!                                  package's archive timestamps (`timestamp`)
//! archive · compare                keep a verified package in an S3 Object Lock bucket; compare two
//!                                  verified packages (`changes.json`, `diff`)
//! verify · source                  check a package offline or in its bucket; list and fetch inputs
//! output                           where a package may go; never destroy what is not ours
//! package                          the contract: layout, manifest, findings, report data, receipt,
//!                                  the OSCAL catalog and assessment results
//! render · sign                    the PDF/A-3b report (Typst); CMS and PAdES signatures
//! assess                           metrics, checks (`CheckId`), the DORA mapping
//! ingest                           parsers: an artifact's bytes → evidence records
//! evidence                         record kinds (one `table!` each), merge, spill store, CSVs
//! config · artifact · s3 · pdf · arn · alarm_rule · schedule · time · progress · direct · ablation
//!                                  the foundation
//! ```
//!
//! * [`source`] walks input folders and S3 prefixes and lists the files to read;
//! * [`artifact`] hashes every raw file (SHA-256) and keeps it verbatim in a
//!   content-addressed store;
//! * [`ingest`] recognises each artifact by its content and parses it, streaming, into
//!   evidence records that point back to the artifact and the row or JSON pointer;
//! * [`evidence`] declares every record kind once (struct, field spellings, merge policy, CSV
//!   columns), merges the observations of one job (or recovery point, control result …) into
//!   one record and writes the evidence CSVs;
//! * [`assess`] measures the period against the targets ([`config`]) and the DORA mapping:
//!   one function per check, named by a [`assess::checks::CheckId`]; [`schedule`] evaluates
//!   AWS cron and rate expressions (how often a backup rule runs, in its time zone);
//! * [`render`] writes the PDF/A-3b report (Typst embedded); [`package`] names every file of
//!   a package ([`package::layout`]) and holds its documents as types (manifest, findings,
//!   report data, archive receipt) and writes the findings in OSCAL for auditors' tools;
//! * [`sign`] signs the manifest (CMS) and the report (PAdES, through [`pdf`]) with a local key
//!   or an AWS KMS key; [`verify`] checks a package offline or in its bucket;
//! * [`compare`] compares two verified packages of different quarters (`diff`,
//!   `build --previous`: `changes.json`);
//! * [`archive`] keeps a verified package in an S3 Object Lock bucket; [`s3`] is the S3
//!   toolkit below every stage that touches S3, with the object store behind a trait;
//! * [`collect`] snapshots the AWS Backup (and Audit Manager, CloudWatch, tagging) APIs
//!   into the evidence store, account by account and Region by Region;
//! * [`build`] ties the stages together for `dora-evidence build`; [`rebuild`] runs them again
//!   on a package's own artifacts and recorded configuration and compares; [`output`] keeps it from
//!   destroying anything it did not create (where a package may go, marked work folders);
//! * the sample-quarter generator behind `dora-evidence samples` lives in
//!   `crates/dora-evidence-samples`.
//!
//! The binary (`src/main.rs`) only parses the command line ([`cli`]). Where to add a kind of
//! evidence, a check or a package file: `ARCHITECTURE.md`.
#![warn(missing_docs)]
#![forbid(unsafe_code)]
#![warn(unreachable_pub)]

mod ablation;
pub mod alarm_rule;
pub mod archive;
pub mod arn;
pub mod artifact;
pub mod assess;
pub mod build;
pub mod cli;
pub mod collect;
pub mod compare;
pub mod config;
mod direct;
pub mod evidence;
pub mod ingest;
pub mod output;
pub mod package;
pub mod pdf;
mod progress;
pub mod rebuild;
pub mod render;
pub mod renew;
pub mod s3;
pub mod schedule;
pub mod sign;
pub mod source;
pub mod time;
pub mod verify;
