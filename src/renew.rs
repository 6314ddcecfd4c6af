//! `timestamp`: renews a package's proof of existence with a new archive timestamp.
//!
//! A signature timestamp proves when a package was signed only as long as its TSA's
//! certificate and hash algorithm hold. Before either weakens, [`renew`] adds renewal N: a
//! JSON file listing every file of the package and every earlier renewal with its digest
//! ([`crate::package::renewal`]), and an RFC 3161 token over that JSON — in the spirit of RFC
//! 4998 archive timestamps. It first verifies the package (a package that fails is refused),
//! writes only new files (`create_new`; no earlier byte changes, so the old `SHA256SUMS` and
//! signatures still verify), and verifies again. For an archived package (`s3://…`) it works
//! on a verified download and stores the two new files as new, locked objects beside the
//! package with a renewal receipt of their own; the package's receipt stays valid.

use std::path::Path;

use crate::archive::{self, ArchiveError};
use crate::package::Manifest;
use crate::package::layout::{self, RenewalPart};
use crate::package::renewal::{Covered, RENEWAL_FORMAT, Renewal};
use crate::s3::{S3Location, StoreError};
use crate::sign::SignError;
use crate::sign::tsa::{HashAlg, Token, TsaClient};
use crate::verify::{Report, VerifyOptions, verify_dir, verify_s3_into};

/// Why a renewal failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenewError {
    /// The package does not verify (before or after).
    #[error("{target} does not verify ({failed}); run `dora-evidence verify {target}`")]
    Unverified {
        /// The package.
        target: String,
        /// The failed checks.
        failed: String,
    },
    /// The TSA failed or answered wrongly.
    #[error(transparent)]
    Timestamp(#[from] SignError),
    /// A local file problem.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The bucket could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The new objects could not be stored.
    #[error(transparent)]
    Archive(#[from] ArchiveError),
}

/// How to renew.
#[derive(Debug)]
pub struct RenewOptions {
    /// The TSA.
    pub tsa: TsaClient,
    /// The digests' and imprint's algorithm (SHA-512 to renew away from SHA-256).
    pub hash: HashAlg,
    /// What the verification before and after trusts.
    pub verify: VerifyOptions,
    /// Path-style S3 addressing.
    pub path_style: bool,
}

/// What [`renew`] did.
#[derive(Debug, Clone)]
pub struct RenewSummary {
    /// The renewal's number.
    pub sequence: u32,
    /// The files added (package-relative).
    pub added: Vec<String>,
    /// Files covered.
    pub covered: usize,
    /// The proven time (RFC 3339).
    pub proven: String,
    /// The verification after the renewal.
    pub report: Report,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> RenewError + '_ {
    move |e| RenewError::Io { path: path.display().to_string(), message: e.to_string() }
}

fn require(report: Report, target: &str) -> Result<Report, RenewError> {
    if report.passed() {
        Ok(report)
    } else {
        Err(RenewError::Unverified { target: target.to_owned(), failed: report.failed().join(", ") })
    }
}

/// Renews the package at `target` (a folder or `s3://bucket/prefix/…/<package-id>/`).
///
/// # Errors
/// See [`RenewError`]; nothing is written when the package does not verify or the TSA fails.
pub fn renew(target: &str, opts: &RenewOptions) -> Result<RenewSummary, RenewError> {
    if target.starts_with("s3://") {
        let location: S3Location =
            target.parse().map_err(|e: String| RenewError::Io { path: target.into(), message: e })?;
        return renew_s3(&location, opts);
    }
    let dir = Path::new(target);
    if !dir.join(layout::MANIFEST).is_file() {
        let message = "not a dora-evidence package (no manifest.json)".to_owned();
        return Err(RenewError::Io { path: target.to_owned(), message });
    }
    require(verify_dir(dir, &opts.verify), target)?;
    let (sequence, token, covered) = add_renewal(dir, opts)?;
    let report = require(verify_dir(dir, &opts.verify), target)?;
    Ok(summary(sequence, &token, covered, report))
}

fn summary(sequence: u32, token: &Token, covered: usize, report: Report) -> RenewSummary {
    let added = [RenewalPart::Covers, RenewalPart::Token].map(|p| layout::renewal_path(sequence, p)).to_vec();
    let proven = crate::time::Timestamp(i64::try_from(token.gen_time.as_millis()).unwrap_or(i64::MAX)).to_rfc3339();
    RenewSummary { sequence, added, covered, proven, report }
}

fn renew_s3(location: &S3Location, opts: &RenewOptions) -> Result<RenewSummary, RenewError> {
    let target = location.to_string();
    let tmp = tempfile::tempdir().map_err(io_err(&std::env::temp_dir()))?;
    require(verify_s3_into(location, &opts.verify, opts.path_style, tmp.path())?, &target)?;
    let (sequence, token, covered) = add_renewal(tmp.path(), opts)?;
    archive::store_renewal(tmp.path(), sequence, opts.path_style)?;
    let again = tempfile::tempdir().map_err(io_err(&std::env::temp_dir()))?;
    let report = require(verify_s3_into(location, &opts.verify, opts.path_style, again.path())?, &target)?;
    Ok(summary(sequence, &token, covered, report))
}

/// Writes the next renewal's JSON and token into the verified package in `dir`.
fn add_renewal(dir: &Path, opts: &RenewOptions) -> Result<(u32, Token, usize), RenewError> {
    let manifest_path = dir.join(layout::MANIFEST);
    let bytes = std::fs::read(&manifest_path).map_err(io_err(&manifest_path))?;
    let manifest = Manifest::from_slice(&bytes)
        .map_err(|e| RenewError::Io { path: layout::MANIFEST.into(), message: e.to_string() })?;
    let files = package_paths(dir)?;
    let sequence = next_sequence(&files);
    let covers = covers(dir, files, opts.hash)?;
    let renewal = Renewal {
        format: RENEWAL_FORMAT.into(),
        package_id: manifest.package_id,
        sequence,
        created: crate::time::Timestamp::now().to_rfc3339(),
        tsa: opts.tsa.url().to_owned(),
        hash: opts.hash.name().into(),
        covers,
    };
    let json = renewal.to_bytes().map_err(|e| RenewError::Io { path: "renewal".into(), message: e.to_string() })?;
    let token = opts.tsa.timestamp_hashed(opts.hash, &opts.hash.digest(&[&json]))?;
    let folder = dir.join(layout::TIMESTAMPS_DIR);
    std::fs::create_dir_all(&folder).map_err(io_err(&folder))?;
    let json_path = dir.join(layout::renewal_path(sequence, RenewalPart::Covers));
    let token_path = dir.join(layout::renewal_path(sequence, RenewalPart::Token));
    write_new(&json_path, &json)?;
    if let Err(e) = write_new(&token_path, &token.der) {
        // Ours, written a moment ago: a renewal without its token would break the chain.
        let _ = std::fs::remove_file(&json_path);
        return Err(e);
    }
    Ok((sequence, token, renewal.covers.len()))
}

/// Writes a file that must not exist yet.
fn write_new(path: &Path, bytes: &[u8]) -> Result<(), RenewError> {
    use std::io::Write as _;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(path).map_err(io_err(path))?;
    f.write_all(bytes).and_then(|()| f.sync_all()).map_err(io_err(path))
}

/// Every regular file of the package (relative path, size), sorted, none read.
fn package_paths(dir: &Path) -> Result<Vec<(String, u64)>, RenewError> {
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.map_err(|e| io_err(dir)(std::io::Error::other(e)))?;
        if entry.file_type().is_file() {
            let size = entry.metadata().map_err(|e| io_err(entry.path())(std::io::Error::other(e)))?.len();
            files.push((layout::relative_path(dir, entry.path()), size));
        }
    }
    files.sort();
    Ok(files)
}

/// One more than the highest renewal among `files`.
fn next_sequence(files: &[(String, u64)]) -> u32 {
    files.iter().filter_map(|(p, _)| layout::parse_renewal_path(p)).map(|(s, _)| s).max().unwrap_or(0) + 1
}

/// Every file of `files` but the receipts, with its digest under `alg` (each read once).
fn covers(dir: &Path, files: Vec<(String, u64)>, alg: HashAlg) -> Result<Vec<Covered>, RenewError> {
    let mut covers = Vec::new();
    for (rel, size) in files {
        let receipt =
            rel == layout::RECEIPT || layout::parse_renewal_path(&rel).is_some_and(|(_, p)| p == RenewalPart::Receipt);
        if receipt {
            continue;
        }
        let path = dir.join(&rel);
        let digest = crate::verify::hash_file(&path, alg).map_err(io_err(&path))?;
        covers.push(Covered { path: rel, size, digest });
    }
    Ok(covers)
}
