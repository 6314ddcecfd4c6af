//! `archive`: a verified package into an S3 Object Lock bucket.
//!
//! [`archive`] refuses a package that does not verify, and a bucket without Object Lock and
//! versioning (unless allowed) or whose default retention outlasts ours. Every file goes to
//! `<prefix>/<entity>/<period>/<package-id>/<path>` with a SHA-256 checksum we computed, the
//! lock mode and retain-until date, and `If-None-Match: *`, so nothing is ever overwritten;
//! large files go up in parts, each with its own checksum. Afterwards every key is read back
//! (HeadObject) and compared — size, our SHA-256, lock mode, retention — because a store may
//! accept checksums without checking them. The result is `archive-receipt.json`, kept in the
//! package folder and beside the objects. Re-running uploads only what is missing; a key
//! holding other content is a conflict, reported and never replaced.
//!
//! The bucket work runs against an [`ObjectStore`](crate::s3::ObjectStore) (`upload.rs`), so
//! conflicts, resumes, retention and read-back are unit-tested on an in-memory store;
//! [`archive`] itself uses [`S3Store`]. Checking an archived package is `verify`'s
//! ([`crate::verify::verify_s3`]); the receipt format lives there too.

mod upload;

use std::path::{Path, PathBuf};

pub use crate::package::layout::RECEIPT;
pub use crate::package::receipt::{Receipt, ReceiptObject};
use crate::package::{FileEntry, Manifest, layout};

use crate::s3::{LockMode, S3Location, S3Store, StoreError};
use crate::verify::{VerifyOptions, verify_dir};

/// Why archiving failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArchiveError {
    /// The package did not verify.
    #[error("{dir} does not verify ({failed}); run `dora-evidence verify {dir}` — only intact packages are archived")]
    Unverified {
        /// The package folder.
        dir: String,
        /// The failed checks.
        failed: String,
    },
    /// The bucket does not lock objects.
    #[error(
        "s3://{bucket}: {what}; evidence needs a WORM store (create the bucket with Object Lock) or pass --allow-unlocked"
    )]
    Unlocked {
        /// The bucket.
        bucket: String,
        /// What is missing.
        what: String,
    },
    /// The retention asked for is too short.
    #[error("{0}")]
    Retention(String),
    /// An S3 call failed, or no AWS Region or credentials are configured.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Keys already hold other content.
    #[error("{} object(s) already exist with different content and were left untouched: {}", .0.len(), .0.join(", "))]
    Conflict(Vec<String>),
    /// What the bucket holds after upload is not what we sent.
    #[error("the bucket does not hold what was uploaded: {}", .0.join("; "))]
    Mismatch(Vec<String>),
    /// A local file problem.
    #[error("{}: {message}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

/// How to archive.
#[derive(Debug, Clone)]
pub struct ArchiveOptions {
    /// Where.
    pub to: S3Location,
    /// COMPLIANCE (default) or GOVERNANCE.
    pub mode: LockMode,
    /// Retain-until, Unix seconds.
    pub retain_until: i64,
    /// The shortest retention the entity's policy allows, Unix seconds (config).
    pub policy_min_until: Option<i64>,
    /// Archive to a bucket without Object Lock or versioning.
    pub allow_unlocked: bool,
    /// What the local verification trusts.
    pub verify: VerifyOptions,
    /// Parallel uploads.
    pub concurrency: usize,
    /// Files at least this large go up in parts of this size (≥ 5 MiB).
    pub part_size: usize,
    /// Force path-style S3 addressing.
    pub path_style: bool,
    /// Show a progress bar.
    pub progress: bool,
}

/// What [`archive`] did.
#[derive(Debug, Clone)]
pub struct ArchiveSummary {
    /// `s3://bucket/prefix/` of the package.
    pub url: String,
    /// Objects uploaded in this run.
    pub uploaded: usize,
    /// Objects that were already there with the same content.
    pub present: usize,
    /// Bytes uploaded in this run.
    pub bytes: u64,
    /// The receipt (also written to the package folder and the bucket).
    pub receipt: Receipt,
    /// Whether the receipt object was written in this run.
    pub receipt_written: bool,
}

fn rfc3339(secs: i64) -> String {
    crate::time::Timestamp(secs * 1000).to_rfc3339()
}

fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-').to_owned();
    if out.is_empty() { "unnamed-entity".into() } else { out }
}

/// The key prefix of a package: `<prefix>/<entity>/<period>/<package-id>/`.
fn package_prefix(to: &S3Location, manifest: &Manifest) -> String {
    let entity = slug(manifest.entity.as_deref().unwrap_or(""));
    let base = if to.prefix.is_empty() { String::new() } else { format!("{}/", to.prefix) };
    format!("{base}{entity}/{}/{}/", manifest.period.to_ascii_lowercase(), manifest.package_id)
}

/// Archives the package in `dir`.
///
/// # Errors
/// See [`ArchiveError`]; objects uploaded before an error stay (they are locked) and a re-run
/// continues from them.
pub fn archive(dir: &Path, opts: &ArchiveOptions) -> Result<ArchiveSummary, ArchiveError> {
    let report = verify_dir(dir, &opts.verify);
    if !report.passed() {
        return Err(ArchiveError::Unverified { dir: dir.display().to_string(), failed: report.failed().join(", ") });
    }
    let io = |e: std::io::Error| ArchiveError::Io { path: dir.to_path_buf(), message: e.to_string() };
    let manifest = std::fs::read(dir.join(layout::MANIFEST))
        .map_err(io)
        .and_then(|b| Manifest::from_slice(&b).map_err(|e| io(std::io::Error::other(e))))?;
    let prefix = package_prefix(&opts.to, &manifest);
    let package_id = manifest.package_id.clone();
    let files = package_files(dir, &manifest, &prefix, opts.part_size)?;
    let summary = crate::s3::runtime()?.block_on(async {
        let store = S3Store::connect(opts.path_style).await?;
        upload::store_package(&store, opts, &prefix, &package_id, &files, RECEIPT).await
    })?;
    let text = serde_json::to_string_pretty(&summary.receipt).unwrap_or_default() + "\n";
    std::fs::write(dir.join(RECEIPT), text).map_err(io)?;
    Ok(summary)
}

/// The renewals' JSON and token files in `dir` (not their receipts, which are the bucket's).
fn renewal_files(dir: &Path) -> std::io::Result<Vec<String>> {
    let Ok(entries) = std::fs::read_dir(dir.join(layout::TIMESTAMPS_DIR)) else { return Ok(Vec::new()) };
    let mut found = Vec::new();
    for e in entries {
        let path = format!("{}/{}", layout::TIMESTAMPS_DIR, e?.file_name().to_string_lossy());
        if layout::parse_renewal_path(&path).is_some_and(|(_, part)| part != layout::RenewalPart::Receipt) {
            found.push(path);
        }
    }
    Ok(found)
}

/// Stores renewal `sequence` of the archived package downloaded into `dir` (which holds its
/// `archive-receipt.json`) beside the package's objects: new objects only, locked in the
/// package's mode until its retain-until date, read back, then the renewal's receipt. The
/// package's own receipt and objects are not touched.
///
/// # Errors
/// See [`ArchiveError`].
pub fn store_renewal(dir: &Path, sequence: u32, path_style: bool) -> Result<Receipt, ArchiveError> {
    let io = |e: std::io::Error| ArchiveError::Io { path: dir.join(RECEIPT), message: e.to_string() };
    let bytes = std::fs::read(dir.join(RECEIPT)).map_err(io)?;
    let receipt: Receipt = serde_json::from_slice(&bytes).map_err(|e| io(std::io::Error::other(e)))?;
    let until = crate::time::Timestamp::parse(&receipt.retain_until).map_err(|e| io(std::io::Error::other(e)))?;
    let mode = match receipt.mode.as_deref() {
        Some(m) => LockMode::parse(m).ok_or_else(|| io(std::io::Error::other(format!("lock mode {m:?}"))))?,
        None => LockMode::Compliance,
    };
    let opts = ArchiveOptions {
        to: S3Location { bucket: receipt.bucket.clone(), prefix: receipt.prefix.trim_end_matches('/').to_owned() },
        mode,
        retain_until: until.millis().div_euclid(1000),
        policy_min_until: None,
        allow_unlocked: receipt.mode.is_none(),
        verify: VerifyOptions::default(),
        concurrency: 2,
        part_size: 64 << 20,
        path_style,
        progress: false,
    };
    let paths = [layout::RenewalPart::Covers, layout::RenewalPart::Token].map(|p| layout::renewal_path(sequence, p));
    let mut entries = Vec::new();
    for path in paths {
        let (size, sha256) = crate::package::hash_file(&dir.join(&path)).map_err(io)?;
        entries.push(FileEntry { path, size, sha256 });
    }
    let files = to_package_files(dir, entries, &receipt.prefix, opts.part_size)?;
    let receipt_path = layout::renewal_path(sequence, layout::RenewalPart::Receipt);
    let summary = crate::s3::runtime()?.block_on(async {
        let store = S3Store::connect(path_style).await?;
        upload::store_package(&store, &opts, &receipt.prefix, &receipt.package_id, &files, &receipt_path).await
    })?;
    let text = serde_json::to_string_pretty(&summary.receipt).unwrap_or_default() + "\n";
    std::fs::write(dir.join(&receipt_path), text).map_err(io)?;
    Ok(summary.receipt)
}

/// A package file to archive: where it is, where it goes, and what S3 must report for it.
struct PackageFile {
    /// Package-relative path.
    path: String,
    /// Object key.
    key: String,
    /// Local file.
    local: PathBuf,
    /// Bytes.
    size: u64,
    /// SHA-256, hex.
    sha256: String,
    /// The checksum S3 reports once uploaded: base64 SHA-256, or the `-N` composite of the
    /// parts' digests for multipart uploads.
    checksum: String,
}

/// An I/O error on `path`, for `map_err`.
fn io_at(path: &Path) -> impl FnOnce(std::io::Error) -> ArchiveError {
    let path = path.to_path_buf();
    move |e| ArchiveError::Io { path, message: e.to_string() }
}

/// The files of a package that just verified: the manifest's entries (whose digests were
/// checked a moment ago, so they are not read again) plus the files written after it.
fn package_files(
    dir: &Path,
    manifest: &Manifest,
    prefix: &str,
    part_size: usize,
) -> Result<Vec<PackageFile>, ArchiveError> {
    let mut entries = manifest.files.clone();
    let renewals = renewal_files(dir).map_err(io_at(dir))?;
    for late in layout::late_names(|f| f.archived).map(str::to_owned).chain(renewals) {
        let local = dir.join(&late);
        if local.is_file() {
            let (size, sha256) = crate::package::hash_file(&local).map_err(io_at(&local))?;
            entries.push(FileEntry { path: late, size, sha256 });
        }
    }
    entries.sort();
    to_package_files(dir, entries, prefix, part_size)
}

/// The upload plan for `entries` of `dir` under `prefix`.
fn to_package_files(
    dir: &Path,
    entries: Vec<FileEntry>,
    prefix: &str,
    part_size: usize,
) -> Result<Vec<PackageFile>, ArchiveError> {
    entries
        .into_iter()
        .map(|FileEntry { path, size, sha256 }| {
            let local = dir.join(&path);
            let checksum = if size >= part_size as u64 {
                crate::s3::composite_checksum(&local, part_size).map_err(io_at(&local))?
            } else {
                crate::s3::b64(&hex::decode(&sha256).unwrap_or_default())
            };
            Ok(PackageFile { key: format!("{prefix}{path}"), path, local, size, sha256, checksum })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_prefixes() {
        let l: S3Location = "s3://evidence-bucket/dora/archive/".parse().unwrap();
        let mut m = Manifest::header("dora-2026-q3-abc".into(), "2026-Q3".into());
        m.entity = Some("Nordhafen Bank AG".into());
        assert_eq!(package_prefix(&l, &m), "dora/archive/nordhafen-bank-ag/2026-q3/dora-2026-q3-abc/");
        let root: S3Location = "s3://b".parse().unwrap();
        let m = Manifest { entity: None, ..Manifest::header("p".into(), "2026-Q3".into()) };
        assert_eq!(package_prefix(&root, &m), "unnamed-entity/2026-q3/p/");
    }
}
