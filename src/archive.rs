//! `archive`: a verified package into an S3 Object Lock bucket, and `verify` of it there.
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
//! [`verify_s3`] downloads the current versions, runs the local checks on them, and adds
//! three of the bucket's own: objects match the receipt (no missing, no extra), versions match
//! it (nothing written over, no delete markers), and every object is still locked.

mod s3;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use aws_sdk_s3::types::ObjectLockMode;
use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};

pub use s3::{
    Dest, Failed, Got, READ_ATTEMPTS, S3Location, b64, check_setup, client as s3_client, client_for as s3_client_for,
    describe, get_verified, with_retry,
};

use crate::verify::{Check, CheckId, Report, Status, VerifyOptions, verify_dir};

/// Name of the receipt, in the package folder and under the package's key prefix.
pub const RECEIPT: &str = crate::package::layout::RECEIPT;

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
    /// An S3 call failed.
    #[error("{url}: {code}{message} ({operation})")]
    S3 {
        /// `s3://bucket/key`.
        url: String,
        /// The S3 operation.
        operation: &'static str,
        /// The S3 error code.
        code: String,
        /// The service's message.
        message: String,
    },
    /// No AWS Region or credentials.
    #[error("{0}")]
    Setup(String),
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
    pub mode: ObjectLockMode,
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

/// One archived object, as the receipt records it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReceiptObject {
    /// The package-relative path.
    pub path: String,
    /// The key.
    pub key: String,
    /// Bytes.
    pub size: u64,
    /// SHA-256, hex (ours).
    pub sha256: String,
    /// The checksum S3 reports (base64; `-N` for multipart).
    pub checksum_sha256: Option<String>,
    /// Version id.
    pub version_id: Option<String>,
    /// ETag.
    pub etag: Option<String>,
    /// Lock mode in the bucket.
    pub lock_mode: Option<String>,
    /// Retain-until in the bucket (RFC 3339).
    pub retain_until: Option<String>,
}

/// `archive-receipt.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Receipt {
    /// Format id.
    pub format: String,
    /// The package id.
    pub package_id: String,
    /// The bucket.
    pub bucket: String,
    /// Key prefix of the package (ends with `/`).
    pub prefix: String,
    /// When the objects were checked (RFC 3339).
    pub archived_at: String,
    /// Lock mode asked for.
    pub mode: Option<String>,
    /// Retain-until asked for (RFC 3339).
    pub retain_until: String,
    /// Every object.
    pub objects: Vec<ReceiptObject>,
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
fn package_prefix(to: &S3Location, manifest: &serde_json::Value) -> Result<(String, String), String> {
    let get = |k: &str| manifest.get(k).and_then(|v| v.as_str());
    let id = get("package_id").ok_or("manifest.json has no package_id")?;
    let period = get("period").ok_or("manifest.json has no period")?;
    let entity = slug(get("entity").unwrap_or(""));
    let base = if to.prefix.is_empty() { String::new() } else { format!("{}/", to.prefix) };
    Ok((format!("{base}{entity}/{}/{id}/", period.to_ascii_lowercase()), id.to_owned()))
}

fn runtime() -> Result<tokio::runtime::Runtime, ArchiveError> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| ArchiveError::Io {
        path: PathBuf::from("."),
        message: format!("cannot start the async runtime: {e}"),
    })
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
    let manifest: serde_json::Value = std::fs::read(dir.join("manifest.json"))
        .map_err(io)
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| io(std::io::Error::other(e))))?;
    let (prefix, package_id) = package_prefix(&opts.to, &manifest).map_err(|m| io(std::io::Error::other(m)))?;
    let files = package_files(dir, &manifest, &prefix, opts.part_size)?;
    let summary = runtime()?.block_on(archive_async(opts, &prefix, &package_id, &files))?;
    let text = serde_json::to_string_pretty(&summary.receipt).unwrap_or_default() + "\n";
    std::fs::write(dir.join(RECEIPT), text).map_err(io)?;
    Ok(summary)
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

/// The files of a package that just verified: the manifest's entries (whose digests were
/// checked a moment ago, so they are not read again) plus the files written after it.
fn package_files(
    dir: &Path,
    manifest: &serde_json::Value,
    prefix: &str,
    part_size: usize,
) -> Result<Vec<PackageFile>, ArchiveError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |e: std::io::Error| ArchiveError::Io { path, message: e.to_string() }
    };
    let mut entries: Vec<(String, u64, String)> = manifest
        .get("files")
        .and_then(|f| f.as_array())
        .into_iter()
        .flatten()
        .filter_map(|f| {
            Some((f.get("path")?.as_str()?.to_owned(), f.get("size")?.as_u64()?, f.get("sha256")?.as_str()?.to_owned()))
        })
        .collect();
    for late in ["manifest.json", "report.pdf", "SHA256SUMS", "manifest.json.p7s"] {
        let local = dir.join(late);
        if local.is_file() {
            let (size, sha) = crate::package::hash_file(&local).map_err(io(&local))?;
            entries.push((late.to_owned(), size, sha));
        }
    }
    entries.sort();
    entries
        .into_iter()
        .map(|(path, size, sha256)| {
            let local = dir.join(&path);
            let checksum = if size >= part_size as u64 {
                s3::composite_checksum(&local, part_size).map_err(io(&local))?
            } else {
                s3::b64(&hex::decode(&sha256).unwrap_or_default())
            };
            Ok(PackageFile { key: format!("{prefix}{path}"), path, local, size, sha256, checksum })
        })
        .collect()
}

async fn archive_async(
    opts: &ArchiveOptions,
    prefix: &str,
    package_id: &str,
    files: &[PackageFile],
) -> Result<ArchiveSummary, ArchiveError> {
    let client = s3::client(opts.path_style).await?;
    let bucket = opts.to.bucket.as_str();
    let lock = s3::bucket_lock(&client, bucket).await?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    let mode = if lock.lock && lock.versioning {
        Some(opts.mode.clone())
    } else if opts.allow_unlocked {
        tracing::warn!("s3://{bucket} has no Object Lock (or no versioning): objects are NOT write-protected");
        None
    } else {
        let what = if lock.lock { "versioning is not enabled" } else { "Object Lock is not enabled" };
        return Err(ArchiveError::Unlocked { bucket: bucket.into(), what: what.into() });
    };
    if let Some((default_mode, days)) = &lock.default_retention
        && mode.is_some()
    {
        let default_until = now + days * 86_400;
        if opts.retain_until < default_until {
            return Err(ArchiveError::Retention(format!(
                "retention until {} is shorter than the bucket's default retention ({days} days, {}: until {})",
                rfc3339(opts.retain_until),
                default_mode.as_str(),
                rfc3339(default_until)
            )));
        }
        if default_mode.as_str() == "COMPLIANCE" && opts.mode == ObjectLockMode::Governance {
            return Err(ArchiveError::Retention(
                "GOVERNANCE mode is weaker than the bucket's default COMPLIANCE retention".into(),
            ));
        }
    }
    if let Some(min) = opts.policy_min_until
        && opts.retain_until < min
    {
        return Err(ArchiveError::Retention(format!(
            "retention until {} is shorter than the configured policy (until {} at least)",
            rfc3339(opts.retain_until),
            rfc3339(min)
        )));
    }
    if opts.retain_until <= now {
        return Err(ArchiveError::Retention(format!("retain-until {} is in the past", rfc3339(opts.retain_until))));
    }
    let lock_spec = s3::Lock { mode: mode.clone(), retain_until: opts.retain_until };

    let total: u64 = files.iter().map(|f| f.size).sum();
    let bar =
        if opts.progress { crate::progress::bar("archive {bar:40} {bytes}/{total_bytes} {eta}", total) } else { None };
    let done_bytes = AtomicU64::new(0);
    let done_files = AtomicUsize::new(0);
    let uploaded = AtomicUsize::new(0);
    let uploaded_bytes = AtomicU64::new(0);
    let results: Vec<Result<UploadOutcome, ArchiveError>> = futures_util::stream::iter(files.iter().map(|f| {
        let (client, lock_spec, bar, done_bytes, done_files, uploaded, uploaded_bytes) =
            (&client, &lock_spec, &bar, &done_bytes, &done_files, &uploaded, &uploaded_bytes);
        async move {
            let (path, key, size) = (&f.path, &f.key, f.size);
            let outcome = upload_one(client, bucket, f, lock_spec, opts.part_size).await;
            let b = done_bytes.fetch_add(size, Ordering::Relaxed) + size;
            let n = done_files.fetch_add(1, Ordering::Relaxed) + 1;
            match &bar {
                Some(bar) => bar.set_position(b),
                None if n % 200 == 0 || n == files.len() => {
                    eprintln!("archive: {n}/{} files, {b}/{total} bytes", files.len())
                }
                None => {}
            }
            match outcome {
                Ok(Uploaded::New) => {
                    uploaded.fetch_add(1, Ordering::Relaxed);
                    uploaded_bytes.fetch_add(size, Ordering::Relaxed);
                    tracing::info!("uploaded s3://{bucket}/{key}");
                    Ok((path.clone(), None, None))
                }
                Ok(Uploaded::Present(h)) => Ok((path.clone(), None, Some(h))),
                Ok(Uploaded::Conflict) => Ok((path.clone(), Some(format!("s3://{bucket}/{key}")), None)),
                Err(e) => Err(e),
            }
        }
    }))
    .buffer_unordered(opts.concurrency.max(1))
    .collect()
    .await;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let mut conflicts = Vec::new();
    // Objects found already there were just read; the read-back reuses what HeadObject said.
    let mut known: std::collections::HashMap<String, s3::Head> = std::collections::HashMap::new();
    for r in results {
        match r? {
            (_, Some(c), _) => conflicts.push(c),
            (path, None, Some(h)) => {
                known.insert(path, h);
            }
            _ => {}
        }
    }
    if !conflicts.is_empty() {
        conflicts.sort();
        return Err(ArchiveError::Conflict(conflicts));
    }

    // Read every key back and compare with what we sent.
    let checked: Vec<Result<(ReceiptObject, Vec<String>), ArchiveError>> =
        futures_util::stream::iter(files.iter().map(|f| {
            let (client, mode) = (&client, &mode);
            let seen = known.get(&f.path).cloned();
            async move { read_back(client, bucket, f, seen, mode.as_ref(), opts).await }
        }))
        .buffered(opts.concurrency.max(1))
        .collect()
        .await;
    let mut objects = Vec::new();
    let mut problems = Vec::new();
    for c in checked {
        let (object, p) = c?;
        objects.push(object);
        problems.extend(p);
    }
    if !problems.is_empty() {
        return Err(ArchiveError::Mismatch(problems));
    }
    let receipt = Receipt {
        format: "dora-evidence-archive-receipt/1".into(),
        package_id: package_id.to_owned(),
        bucket: bucket.to_owned(),
        prefix: prefix.to_owned(),
        archived_at: rfc3339(now),
        mode: mode.as_ref().map(|m| m.as_str().to_owned()),
        retain_until: rfc3339(opts.retain_until),
        objects,
    };
    let receipt_written = put_receipt(&client, &receipt, &lock_spec).await?;
    let uploaded = uploaded.load(Ordering::Relaxed);
    Ok(ArchiveSummary {
        url: format!("s3://{bucket}/{prefix}"),
        uploaded,
        present: files.len() - uploaded,
        bytes: uploaded_bytes.load(Ordering::Relaxed),
        receipt,
        receipt_written,
    })
}

#[allow(clippy::too_many_arguments)]
/// HeadObject one key after upload and compare it with what was sent; fixes a missing
/// retention first (some stores ignore lock headers on multipart uploads).
async fn read_back(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    f: &PackageFile,
    seen: Option<s3::Head>,
    mode: Option<&ObjectLockMode>,
    opts: &ArchiveOptions,
) -> Result<(ReceiptObject, Vec<String>), ArchiveError> {
    let key = &f.key;
    let mut problems = Vec::new();
    let found = match seen {
        Some(h) => Some(h),
        None => s3::head(client, bucket, key).await?,
    };
    if found.is_none() {
        problems.push(format!("{key}: missing after upload"));
    }
    let mut h = found.unwrap_or_default();
    let short = |h: &s3::Head, m: &ObjectLockMode| {
        h.lock_mode.as_deref() != Some(m.as_str()) || h.retain_until.is_none_or(|t| t < opts.retain_until)
    };
    if let Some(m) = mode
        && h.version_id.is_some()
        && short(&h, m)
    {
        s3::set_retention(client, bucket, key, h.version_id.as_deref(), m, opts.retain_until).await?;
        h = s3::head(client, bucket, key).await?.unwrap_or_default();
    }
    if h.size != f.size {
        problems.push(format!("{key}: {} bytes in the bucket, {} sent", h.size, f.size));
    }
    if !checksum_matches(h.checksum_sha256.as_deref(), &f.checksum) {
        problems.push(format!("{key}: checksum {:?} in the bucket, {} expected", h.checksum_sha256, f.checksum));
    }
    if let Some(m) = mode
        && short(&h, m)
    {
        problems.push(format!(
            "{key}: locked {:?} until {:?}; {} until {} asked for",
            h.lock_mode,
            h.retain_until.map(rfc3339),
            m.as_str(),
            rfc3339(opts.retain_until)
        ));
    }
    let object = ReceiptObject {
        path: f.path.clone(),
        key: key.clone(),
        size: f.size,
        sha256: f.sha256.clone(),
        checksum_sha256: h.checksum_sha256,
        version_id: h.version_id,
        etag: h.etag,
        lock_mode: h.lock_mode,
        retain_until: h.retain_until.map(rfc3339),
    };
    Ok((object, problems))
}

/// (path, conflicting `s3://` URL, what HeadObject said of an object already there).
type UploadOutcome = (String, Option<String>, Option<s3::Head>);

enum Uploaded {
    New,
    Present(s3::Head),
    Conflict,
}

/// Composite checksums are compared with or without their `-N` (stores differ).
fn checksum_matches(found: Option<&str>, expected: &str) -> bool {
    let Some(found) = found else { return false };
    found == expected || expected.split_once('-').is_some_and(|(c, _)| c == found)
}

async fn upload_one(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    f: &PackageFile,
    lock: &s3::Lock,
    part_size: usize,
) -> Result<Uploaded, ArchiveError> {
    let key = &f.key;
    let same = |h: &s3::Head| h.size == f.size && checksum_matches(h.checksum_sha256.as_deref(), &f.checksum);
    if let Some(h) = s3::head(client, bucket, key).await? {
        return Ok(if same(&h) { Uploaded::Present(h) } else { Uploaded::Conflict });
    }
    let put = if f.size >= part_size as u64 {
        s3::put_multipart(client, bucket, key, &f.local, part_size, lock).await?
    } else {
        s3::put(client, bucket, key, &f.local, &hex::decode(&f.sha256).unwrap_or_default(), lock).await?
    };
    match put {
        s3::Put::Written => Ok(Uploaded::New),
        // Someone wrote the key between our HeadObject and PutObject.
        s3::Put::Exists => match s3::head(client, bucket, key).await? {
            Some(h) if same(&h) => Ok(Uploaded::Present(h)),
            _ => Ok(Uploaded::Conflict),
        },
    }
}

/// Writes the receipt beside the objects once; an existing one must list the same objects.
async fn put_receipt(client: &aws_sdk_s3::Client, receipt: &Receipt, lock: &s3::Lock) -> Result<bool, ArchiveError> {
    let key = format!("{}{RECEIPT}", receipt.prefix);
    if let Some(existing) = get_object(client, &receipt.bucket, &key).await? {
        let old: Result<Receipt, _> = serde_json::from_slice(&existing);
        return match old {
            Ok(old) if same_objects(&old.objects, &receipt.objects) => Ok(false),
            _ => Err(ArchiveError::Conflict(vec![format!("s3://{}/{key} (lists other objects)", receipt.bucket)])),
        };
    }
    let text = serde_json::to_string_pretty(receipt).unwrap_or_default() + "\n";
    let tmp = tempfile::NamedTempFile::new()
        .map_err(|e| ArchiveError::Io { path: PathBuf::from(RECEIPT), message: e.to_string() })?;
    std::fs::write(tmp.path(), &text)
        .map_err(|e| ArchiveError::Io { path: tmp.path().to_path_buf(), message: e.to_string() })?;
    let sha = sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(text.as_bytes()));
    s3::put(client, &receipt.bucket, &key, tmp.path(), &sha, lock).await?;
    Ok(true)
}

fn same_objects(a: &[ReceiptObject], b: &[ReceiptObject]) -> bool {
    let key = |o: &ReceiptObject| (o.key.clone(), o.sha256.clone(), o.version_id.clone());
    a.iter().map(key).collect::<Vec<_>>() == b.iter().map(key).collect::<Vec<_>>()
}

/// A small current object (the receipt) in memory, read with [`s3::get_verified`]; `None` if
/// absent.
async fn get_object(client: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, ArchiveError> {
    let mut bytes = Vec::new();
    Ok(s3::get_verified(client, bucket, key, s3::Dest::Memory(&mut bytes)).await?.map(|_| bytes))
}

/// Streams a current object to `dest` with [`s3::get_verified`]: (version id, lock mode,
/// retain-until secs); `None` if absent.
async fn download(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    dest: &Path,
) -> Result<Option<(Option<String>, Option<String>, Option<i64>)>, ArchiveError> {
    let got = s3::get_verified(client, bucket, key, s3::Dest::File(dest)).await?;
    Ok(got.map(|g| (g.version_id, g.lock_mode, g.retain_until)))
}

/// A bucket problem found for one object, by the check it fails.
enum Finding {
    /// `bucket-objects`.
    Object(String),
    /// `bucket-versions`.
    Version(String),
    /// `bucket-lock`.
    Lock(String),
}

/// Verifies an archived package in its bucket: the local checks on the downloaded current
/// versions, plus `bucket-objects`, `bucket-versions` and `bucket-lock`.
///
/// # Errors
/// When the bucket cannot be read (no Region or credentials, unreachable, access denied, a
/// read that still fails after [`READ_ATTEMPTS`]): nothing is known about the package then,
/// which is not the same as a package that fails a check.
pub fn verify_s3(location: &S3Location, opts: &VerifyOptions, path_style: bool) -> Result<Report, ArchiveError> {
    let target = format!("s3://{}/{}/", location.bucket, location.prefix);
    let tmp = tempfile::tempdir().map_err(|e| ArchiveError::Io {
        path: std::env::temp_dir(),
        message: format!("cannot make a download folder: {e}"),
    })?;
    let bucket_checks = runtime()?.block_on(verify_s3_async(location, tmp.path(), path_style))?;
    let mut report = verify_dir(tmp.path(), opts);
    report.target = target;
    report.checks.extend(bucket_checks);
    Ok(report)
}

async fn verify_s3_async(location: &S3Location, into: &Path, path_style: bool) -> Result<Vec<Check>, ArchiveError> {
    let client = s3::client(path_style).await?;
    let bucket = location.bucket.as_str();
    let prefix = if location.prefix.is_empty() { String::new() } else { format!("{}/", location.prefix) };
    let receipt_key = format!("{prefix}{RECEIPT}");
    let Some(receipt_bytes) = get_object(&client, bucket, &receipt_key).await? else {
        return Ok(vec![Check {
            check: CheckId::BucketObjects,
            status: Status::Fail,
            detail: format!("no {RECEIPT} under s3://{bucket}/{prefix}: not an archived package"),
        }]);
    };
    let receipt: Receipt = match serde_json::from_slice(&receipt_bytes) {
        Ok(r) => r,
        Err(e) => {
            return Ok(vec![Check {
                check: CheckId::BucketObjects,
                status: Status::Fail,
                detail: format!("{RECEIPT} is unreadable: {e}"),
            }]);
        }
    };
    std::fs::write(into.join(RECEIPT), &receipt_bytes)
        .map_err(|e| ArchiveError::Io { path: into.join(RECEIPT), message: e.to_string() })?;

    // Every version under the prefix.
    let mut versions: BTreeMap<String, Vec<(String, bool, bool)>> = BTreeMap::new(); // key → (version, latest, delete marker)
    let (mut key_marker, mut version_marker): (Option<String>, Option<String>) = (None, None);
    loop {
        let (km, vm) = (key_marker.take(), version_marker.take());
        let what = format!("s3://{bucket}/{prefix} (ListObjectVersions)");
        let page = s3::with_retry(&what, || {
            client
                .list_object_versions()
                .bucket(bucket)
                .prefix(&prefix)
                .set_key_marker(km.clone())
                .set_version_id_marker(vm.clone())
                .send()
        })
        .await
        .map_err(|e| e.to_archive(bucket, &prefix, "ListObjectVersions"))?;
        for v in page.versions() {
            let entry = versions.entry(v.key().unwrap_or_default().to_owned()).or_default();
            entry.push((v.version_id().unwrap_or_default().to_owned(), v.is_latest().unwrap_or(false), false));
        }
        for m in page.delete_markers() {
            let entry = versions.entry(m.key().unwrap_or_default().to_owned()).or_default();
            entry.push((m.version_id().unwrap_or_default().to_owned(), m.is_latest().unwrap_or(false), true));
        }
        if page.is_truncated() != Some(true) {
            break;
        }
        key_marker = page.next_key_marker().map(str::to_owned);
        version_marker = page.next_version_id_marker().map(str::to_owned);
        if key_marker.is_none() {
            break;
        }
    }

    let expected: BTreeMap<&str, &ReceiptObject> = receipt.objects.iter().map(|o| (o.key.as_str(), o)).collect();
    let mut object_problems = Vec::new();
    for key in versions.keys() {
        if key != &receipt_key && !expected.contains_key(key.as_str()) {
            object_problems.push(format!("{key}: not in the receipt"));
        }
    }
    let mut version_problems = Vec::new();
    for (key, vs) in &versions {
        if vs.iter().any(|v| v.2) {
            version_problems.push(format!("{key}: has a delete marker"));
        }
        if vs.iter().filter(|v| !v.2).count() > 1 {
            version_problems.push(format!("{key}: {} versions (written over after archiving)", vs.len()));
        }
    }

    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    let mut lock_problems = Vec::new();
    let want_mode = receipt.mode.as_deref();
    let downloads: Vec<Result<Vec<Finding>, ArchiveError>> =
        futures_util::stream::iter(receipt.objects.iter().map(|o| {
            let client = &client;
            async move {
                if !crate::verify::is_safe_relative(&o.path) {
                    return Ok(vec![Finding::Object(format!("{}: unsafe path in the receipt", o.key))]);
                }
                let dest = into.join(&o.path);
                let Some((version, mode, until)) = download(client, bucket, &o.key, &dest).await? else {
                    return Ok(vec![Finding::Object(format!("{}: missing", o.key))]);
                };
                let mut found = Vec::new();
                if version != o.version_id {
                    found.push(Finding::Version(format!(
                        "{}: current version {version:?}, receipt {:?}",
                        o.key, o.version_id
                    )));
                }
                if let Some(want) = want_mode {
                    let receipt_until = o.retain_until.as_deref().and_then(|t| crate::time::Timestamp::parse(t).ok());
                    let until_ok = until
                        .is_some_and(|u| u > now && receipt_until.is_some_and(|r| u >= r.millis().div_euclid(1000)));
                    if mode.as_deref() != Some(want) || !until_ok {
                        found.push(Finding::Lock(format!(
                            "{}: {:?} until {:?} (receipt: {want} until {})",
                            o.key,
                            mode,
                            until.map(rfc3339),
                            o.retain_until.as_deref().unwrap_or("?")
                        )));
                    }
                }
                Ok(found)
            }
        }))
        .buffer_unordered(16)
        .collect()
        .await;
    for d in downloads {
        for finding in d? {
            match finding {
                Finding::Object(p) => object_problems.push(p),
                Finding::Version(p) => version_problems.push(p),
                Finding::Lock(p) => lock_problems.push(p),
            }
        }
    }
    let check = |name: CheckId, problems: &mut Vec<String>, ok: String| {
        problems.sort();
        if problems.is_empty() {
            Check { check: name, status: Status::Pass, detail: ok }
        } else {
            let shown: Vec<_> = problems.iter().take(5).cloned().collect();
            let more =
                if problems.len() > 5 { format!("; … and {} more", problems.len() - 5) } else { String::new() };
            Check {
                check: name,
                status: Status::Fail,
                detail: format!("{} problem(s): {}{more}", problems.len(), shown.join("; ")),
            }
        }
    };
    let n = receipt.objects.len();
    Ok(vec![
        check(
            CheckId::BucketObjects,
            &mut object_problems,
            format!("the {n} objects of the receipt are there, and nothing else"),
        ),
        check(
            CheckId::BucketVersions,
            &mut version_problems,
            "every object is the version the receipt names; none written over or deleted".into(),
        ),
        match &receipt.mode {
            Some(m) => check(
                CheckId::BucketLock,
                &mut lock_problems,
                format!("every object locked in {m} mode until {} or later", receipt.retain_until),
            ),
            None => Check {
                check: CheckId::BucketLock,
                status: Status::Fail,
                detail: "archived without Object Lock (--allow-unlocked)".into(),
            },
        },
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_and_prefixes() {
        let l: S3Location = "s3://evidence-bucket/dora/archive/".parse().unwrap();
        assert_eq!((l.bucket.as_str(), l.prefix.as_str()), ("evidence-bucket", "dora/archive"));
        assert!("evidence-bucket/x".parse::<S3Location>().is_err());
        assert!("s3:///x".parse::<S3Location>().is_err());
        let m =
            serde_json::json!({"package_id": "dora-2026-q3-abc", "period": "2026-Q3", "entity": "Nordhafen Bank AG"});
        assert_eq!(package_prefix(&l, &m).unwrap().0, "dora/archive/nordhafen-bank-ag/2026-q3/dora-2026-q3-abc/");
        let root: S3Location = "s3://b".parse().unwrap();
        let m = serde_json::json!({"package_id": "p", "period": "2026-Q3", "entity": null});
        assert_eq!(package_prefix(&root, &m).unwrap().0, "unnamed-entity/2026-q3/p/");
    }

    #[test]
    fn composite_checksums_compare_with_or_without_part_count() {
        assert!(checksum_matches(Some("abc=-2"), "abc=-2"));
        assert!(checksum_matches(Some("abc="), "abc=-2"));
        assert!(!checksum_matches(Some("abd="), "abc=-2"));
        assert!(!checksum_matches(None, "abc="));
    }
}
