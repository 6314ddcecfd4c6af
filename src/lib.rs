//! dora-evidence turns what AWS Backup and AWS Audit Manager record into a hashed,
//! DORA-mapped evidence package.
//!
//! The pipeline runs one way, one module per stage:
//!
//! ```text
//! source ──► artifact ──► ingest ──► evidence ──► assess ──► render ──► package ──► sign ──► archive
//!                                                                                  verify ◄─┘
//! ```
//!
//! * [`source`] walks input folders and lists the files to read;
//! * [`artifact`] hashes every raw file (SHA-256) and keeps it verbatim in a
//!   content-addressed store;
//! * [`ingest`] recognises each artifact by its content and parses it, streaming, into
//!   evidence records that point back to the artifact and the row or JSON pointer;
//! * [`evidence`] merges the observations of one job (or recovery point, control result …)
//!   into one record and writes the evidence CSVs;
//! * [`assess`] measures the period against the targets ([`config`]) and the DORA mapping;
//! * [`render`] writes the PDF/A-3b report (Typst embedded) and [`package`] the manifest and
//!   `SHA256SUMS`;
//! * [`sign`] signs the manifest (CMS) and the report (PAdES, through [`pdf`]) with a local key
//!   or an AWS KMS key; [`verify`] checks a package offline or in its bucket;
//! * [`archive`] keeps a verified package in an S3 Object Lock bucket;
//! * [`collect`] snapshots the AWS Backup (and Audit Manager, CloudWatch, tagging) APIs
//!   into the evidence store, account by account and Region by Region;
//! * [`build`] ties the stages together for `dora-evidence build`; [`output`] keeps it from
//!   destroying anything it did not create (where a package may go, marked work folders);
//! * the sample-quarter generator behind `dora-evidence samples` lives in `crates/dora-evidence-samples`.
//!
//! The binary (`src/main.rs`) only parses the command line ([`cli`]).
#![warn(missing_docs)]
#![forbid(unsafe_code)]
#![warn(unreachable_pub)]

pub mod alarm_rule;
pub mod archive;
pub mod arn;
pub mod artifact;
pub mod assess;
pub mod build;
pub mod cli;
pub mod collect;
pub mod config;
pub mod evidence;
pub mod ingest;
pub mod output;
pub mod package;
pub mod pdf;
mod progress;
pub mod render;
pub mod s3;
pub mod sign;
pub mod source;
pub mod time;
pub mod verify;
