//! `verify s3://…`: an archived package checked in its bucket.
//!
//! [`verify_s3`] downloads the current versions of the objects the receipt
//! (`archive-receipt.json`, written by `archive`) lists, runs the local checks on them, and adds
//! three of the bucket's own: objects match the receipt (no missing, no extra), versions match
//! it (nothing written over, no delete markers), and every object is still locked. The bucket
//! is read through an [`ObjectStore`], so these checks are unit-tested on an in-memory store.
//! A bucket that cannot be read is an error, not a failed check: nothing is known about the
//! package then.

use std::collections::BTreeMap;
use std::path::Path;

use futures_util::StreamExt as _;

use super::{Check, CheckId, Report, VerifyOptions, verify_dir};
use crate::package::layout::{self, RECEIPT};
use crate::package::receipt::{Receipt, ReceiptObject};
use crate::s3::{Dest, ObjectStore, S3Location, S3Store, StoreError, get_verified};

/// Verifies an archived package in its bucket: the local checks on the downloaded current
/// versions, plus `bucket-objects`, `bucket-versions` and `bucket-lock`.
///
/// # Errors
/// When the bucket cannot be read (no Region or credentials, unreachable, access denied, a
/// read that still fails after its retries): nothing is known about
/// the package then, which is not the same as a package that fails a check.
pub fn verify_s3(location: &S3Location, opts: &VerifyOptions, path_style: bool) -> Result<Report, StoreError> {
    let tmp = tempfile::tempdir().map_err(|e| StoreError::Io {
        path: std::env::temp_dir(),
        message: format!("cannot make a download folder: {e}"),
    })?;
    verify_s3_into(location, opts, path_style, tmp.path())
}

/// [`verify_s3`], downloading into `dir` (an empty folder), which keeps the package for a
/// caller that reads it after verifying it (`diff`, `build --previous`).
///
/// # Errors
/// As [`verify_s3`].
pub fn verify_s3_into(
    location: &S3Location,
    opts: &VerifyOptions,
    path_style: bool,
    dir: &Path,
) -> Result<Report, StoreError> {
    let checks = crate::s3::runtime()?.block_on(async {
        let store = S3Store::connect(path_style).await?;
        bucket_checks(&store, location, dir).await
    })?;
    Ok(report(location, dir, opts, checks))
}

/// The local checks on what was downloaded into `dir`, then the bucket's.
fn report(location: &S3Location, dir: &Path, opts: &VerifyOptions, bucket_checks: Vec<Check>) -> Report {
    let mut report = verify_dir(dir, opts);
    report.target = format!("s3://{}/{}/", location.bucket, location.prefix);
    report.checks.extend(bucket_checks);
    report
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

/// Problems found, by check.
#[derive(Default)]
struct Problems {
    objects: Vec<String>,
    versions: Vec<String>,
    lock: Vec<String>,
}

impl Problems {
    fn add(&mut self, finding: Finding) {
        match finding {
            Finding::Object(p) => self.objects.push(p),
            Finding::Version(p) => self.versions.push(p),
            Finding::Lock(p) => self.lock.push(p),
        }
    }
}

fn fail(check: CheckId, detail: String) -> Check {
    Check::fail(check, detail)
}

/// Downloads the package under `location` into `into` and returns the bucket checks.
async fn bucket_checks<S: ObjectStore>(
    store: &S,
    location: &S3Location,
    into: &Path,
) -> Result<Vec<Check>, StoreError> {
    let bucket = location.bucket.as_str();
    let prefix = location.key_prefix();
    let receipt_key = format!("{prefix}{RECEIPT}");
    let mut receipt_bytes = Vec::new();
    if get_verified(store, bucket, &receipt_key, Dest::Memory(&mut receipt_bytes)).await?.is_none() {
        let detail = format!("no {RECEIPT} under s3://{bucket}/{prefix}: not an archived package");
        return Ok(vec![fail(CheckId::BucketObjects, detail)]);
    }
    let receipt: Receipt = match serde_json::from_slice(&receipt_bytes) {
        Ok(r) => r,
        Err(e) => return Ok(vec![fail(CheckId::BucketObjects, format!("{RECEIPT} is unreadable: {e}"))]),
    };
    std::fs::write(into.join(RECEIPT), &receipt_bytes).map_err(|e| StoreError::io(&into.join(RECEIPT), e))?;
    let mut problems = Problems::default();
    let versions = store.list_versions(bucket, &prefix).await?;
    // Renewals (`timestamp`) add objects with a receipt of their own; the package's stays.
    let mut all = receipt.clone();
    let mut receipt_keys = vec![receipt_key];
    for key in renewal_receipts(&versions, &prefix) {
        let path = &key[prefix.len()..];
        let mut bytes = Vec::new();
        if get_verified(store, bucket, &key, Dest::Memory(&mut bytes)).await?.is_none() {
            continue;
        }
        match serde_json::from_slice::<Receipt>(&bytes) {
            Ok(r) if r.objects.iter().all(|o| layout::parse_renewal_path(&o.path).is_some()) => {
                all.objects.extend(r.objects);
                let local = into.join(path);
                if let Some(parent) = local.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| StoreError::io(parent, e))?;
                }
                std::fs::write(&local, &bytes).map_err(|e| StoreError::io(&local, e))?;
            }
            _ => problems.objects.push(format!("{key}: not a renewal receipt")),
        }
        receipt_keys.push(key);
    }
    version_problems(versions, &receipt_keys, &all, &mut problems);
    download_all(store, bucket, &all, into, &mut problems).await?;
    Ok(checks(&all, problems))
}

/// The keys of renewal receipts (`timestamps/renewal-NNNN.receipt.json`) among the current versions.
fn renewal_receipts(versions: &[crate::s3::VersionEntry], prefix: &str) -> Vec<String> {
    let mut keys: Vec<String> = versions
        .iter()
        .filter(|v| v.is_latest && !v.delete_marker)
        .filter(|v| {
            let path = v.key.strip_prefix(prefix).unwrap_or("");
            layout::parse_renewal_path(path).is_some_and(|(_, part)| part == layout::RenewalPart::Receipt)
        })
        .map(|v| v.key.clone())
        .collect();
    keys.sort();
    keys
}

/// Every version under the prefix: keys the receipts do not name, delete markers, keys
/// written more than once.
fn version_problems(
    listed: Vec<crate::s3::VersionEntry>,
    receipt_keys: &[String],
    receipt: &Receipt,
    problems: &mut Problems,
) {
    let mut versions: BTreeMap<String, Vec<(bool, bool)>> = BTreeMap::new(); // key → (latest, delete marker)
    for v in listed {
        versions.entry(v.key).or_default().push((v.is_latest, v.delete_marker));
    }
    for key in versions.keys() {
        if !receipt_keys.contains(key) && !receipt.objects.iter().any(|o| &o.key == key) {
            problems.objects.push(format!("{key}: not in the receipt"));
        }
    }
    for (key, vs) in &versions {
        if vs.iter().any(|v| v.1) {
            problems.versions.push(format!("{key}: has a delete marker"));
        }
        if vs.iter().filter(|v| !v.1).count() > 1 {
            problems.versions.push(format!("{key}: {} versions (written over after archiving)", vs.len()));
        }
    }
}

/// Downloads every object of the receipt, checking its version and lock.
async fn download_all<S: ObjectStore>(
    store: &S,
    bucket: &str,
    receipt: &Receipt,
    into: &Path,
    problems: &mut Problems,
) -> Result<(), StoreError> {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    let want_mode = receipt.mode.as_deref();
    let downloads: Vec<Result<Vec<Finding>, StoreError>> = futures_util::stream::iter(
        receipt.objects.iter().map(|o| download_one(store, bucket, o, into, want_mode, now)),
    )
    .buffer_unordered(16)
    .collect()
    .await;
    for d in downloads {
        d?.into_iter().for_each(|f| problems.add(f));
    }
    Ok(())
}

/// Downloads one object of the receipt into `into`, and compares its version and lock with
/// the receipt's.
async fn download_one<S: ObjectStore>(
    store: &S,
    bucket: &str,
    o: &ReceiptObject,
    into: &Path,
    want_mode: Option<&str>,
    now: i64,
) -> Result<Vec<Finding>, StoreError> {
    if !super::is_safe_relative(&o.path) {
        return Ok(vec![Finding::Object(format!("{}: unsafe path in the receipt", o.key))]);
    }
    let Some(got) = get_verified(store, bucket, &o.key, Dest::File(&into.join(&o.path))).await? else {
        return Ok(vec![Finding::Object(format!("{}: missing", o.key))]);
    };
    let mut found = Vec::new();
    if got.version_id != o.version_id {
        found.push(Finding::Version(format!(
            "{}: current version {:?}, receipt {:?}",
            o.key, got.version_id, o.version_id
        )));
    }
    if let Some(want) = want_mode {
        let receipt_until = o.retain_until.as_deref().and_then(|t| crate::time::Timestamp::parse(t).ok());
        let until = got.retain_until;
        let until_ok =
            until.is_some_and(|u| u > now && receipt_until.is_some_and(|r| u >= r.millis().div_euclid(1000)));
        if got.lock_mode.as_deref() != Some(want) || !until_ok {
            found.push(Finding::Lock(format!(
                "{}: {:?} until {:?} (receipt: {want} until {})",
                o.key,
                got.lock_mode,
                until.map(|s| crate::time::Timestamp(s * 1000).to_rfc3339()),
                o.retain_until.as_deref().unwrap_or("?")
            )));
        }
    }
    Ok(found)
}

/// One check from its problems: pass with `ok`, or fail naming the first five.
fn check(name: CheckId, mut problems: Vec<String>, ok: String) -> Check {
    problems.sort();
    if problems.is_empty() {
        return Check::pass(name, ok);
    }
    let shown: Vec<_> = problems.iter().take(5).cloned().collect();
    let more = if problems.len() > 5 { format!("; … and {} more", problems.len() - 5) } else { String::new() };
    fail(name, format!("{} problem(s): {}{more}", problems.len(), shown.join("; ")))
}

/// `bucket-objects`, `bucket-versions` and `bucket-lock`.
fn checks(receipt: &Receipt, problems: Problems) -> Vec<Check> {
    let n = receipt.objects.len();
    vec![
        check(
            CheckId::BucketObjects,
            problems.objects,
            format!("the {n} objects of the receipt are there, and nothing else"),
        ),
        check(
            CheckId::BucketVersions,
            problems.versions,
            "every object is the version the receipt names; none written over or deleted".into(),
        ),
        match &receipt.mode {
            Some(m) => check(
                CheckId::BucketLock,
                problems.lock,
                format!("every object locked in {m} mode until {} or later", receipt.retain_until),
            ),
            None => fail(CheckId::BucketLock, "archived without Object Lock (--allow-unlocked)".into()),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::s3::testing::{Calls, FailingStore, Fault, MemoryStore, Op, block_on};
    use crate::s3::{FailureKind, LockMode};
    use crate::verify::Status;

    const DATA: &[u8] = b"id,state\n1,COMPLETED\n";
    const UNTIL: i64 = 4_102_444_800; // 2100-01-01

    /// An archived package under `s3://b/pkg/`: a manifest listing one data file, both locked,
    /// and a receipt naming their versions.
    fn archived() -> MemoryStore {
        let store = MemoryStore::locked();
        let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(DATA));
        let mut manifest = crate::package::Manifest::header("pkg".into(), "2026-Q3".into());
        let file = crate::package::FileEntry { path: "evidence/jobs.csv".into(), size: DATA.len() as u64, sha256: sha };
        manifest.files.push(file);
        let manifest = manifest.to_bytes().unwrap();
        let lock = Some((LockMode::Compliance, UNTIL));
        let mut objects = Vec::new();
        for (path, bytes) in [("evidence/jobs.csv", DATA), ("manifest.json", &manifest[..])] {
            let key = format!("pkg/{path}");
            let version = store.insert("b", &key, bytes, lock);
            objects.push(ReceiptObject {
                path: path.into(),
                key,
                size: bytes.len() as u64,
                sha256: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes)),
                checksum_sha256: None,
                version_id: Some(version),
                etag: None,
                lock_mode: Some("COMPLIANCE".into()),
                retain_until: Some(crate::time::Timestamp(UNTIL * 1000).to_rfc3339()),
            });
        }
        let receipt = Receipt {
            format: "dora-evidence-archive-receipt/1".into(),
            package_id: "pkg".into(),
            bucket: "b".into(),
            prefix: "pkg/".into(),
            archived_at: "2026-10-01T00:00:00Z".into(),
            mode: Some("COMPLIANCE".into()),
            retain_until: crate::time::Timestamp(UNTIL * 1000).to_rfc3339(),
            objects,
        };
        store.insert("b", "pkg/archive-receipt.json", &serde_json::to_vec(&receipt).unwrap(), lock);
        store
    }

    fn verify<S: ObjectStore>(store: &S) -> Result<Report, StoreError> {
        let location: S3Location = "s3://b/pkg".parse().unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let checks = block_on(bucket_checks(store, &location, tmp.path()))?;
        Ok(report(
            &location,
            tmp.path(),
            &VerifyOptions { anchors: None, allow_unsigned: true, tsa_anchors: None },
            checks,
        ))
    }

    fn status(report: &Report, check: CheckId) -> Status {
        report.checks.iter().find(|c| c.check == check).map(|c| c.status).unwrap_or(Status::Skip)
    }

    #[test]
    fn an_intact_archived_package_passes_the_bucket_checks() {
        let report = verify(&archived()).unwrap();
        assert_eq!(report.target, "s3://b/pkg/");
        for check in [CheckId::Files, CheckId::BucketObjects, CheckId::BucketVersions, CheckId::BucketLock] {
            assert_eq!(status(&report, check), Status::Pass, "{check}: {}", report.to_text());
        }
    }

    #[test]
    fn an_object_written_over_fails_files_and_versions() {
        let store = archived();
        store.insert("b", "pkg/evidence/jobs.csv", b"id,state\n1,FAILED\n", None);
        let report = verify(&store).unwrap();
        assert_eq!(status(&report, CheckId::Files), Status::Fail, "{}", report.to_text());
        assert_eq!(status(&report, CheckId::BucketVersions), Status::Fail, "{}", report.to_text());
        assert_eq!(status(&report, CheckId::BucketLock), Status::Fail, "the new version is not locked");
        assert!(!report.passed());
    }

    #[test]
    fn extra_and_deleted_objects_fail_the_object_checks() {
        let store = archived();
        store.insert("b", "pkg/evidence/extra.csv", b"x", None);
        store.delete("b", "pkg/manifest.json");
        let report = verify(&store).unwrap();
        let objects = report.checks.iter().find(|c| c.check == CheckId::BucketObjects).unwrap();
        assert_eq!(objects.status, Status::Fail);
        assert!(objects.detail.contains("pkg/evidence/extra.csv: not in the receipt"), "{}", objects.detail);
        assert!(objects.detail.contains("pkg/manifest.json: missing"), "{}", objects.detail);
        assert_eq!(status(&report, CheckId::BucketVersions), Status::Fail);
    }

    #[test]
    fn no_receipt_is_not_an_archived_package() {
        let report = verify(&MemoryStore::locked()).unwrap();
        let objects = report.checks.iter().find(|c| c.check == CheckId::BucketObjects).unwrap();
        assert_eq!(objects.status, Status::Fail);
        assert!(objects.detail.contains("not an archived package"), "{}", objects.detail);
    }

    #[test]
    fn an_unreachable_store_is_an_error_not_a_failed_check() {
        let store = FailingStore::new(archived()).on(Op::Get, Calls::All, Fault::Fail(FailureKind::Transient));
        let e = verify(&store).unwrap_err();
        assert_eq!(
            e.to_string(),
            "s3://b/pkg/archive-receipt.json: SlowDown: Please reduce your request rate.; gave up after 5 attempts \
             (GetObject)"
        );
        // The listing too: retried, then an error.
        let store = FailingStore::new(archived()).on(Op::ListVersions, Calls::All, Fault::Fail(FailureKind::Transient));
        assert!(verify(&store).unwrap_err().to_string().contains("(ListObjectVersions)"));
        assert_eq!(store.count(Op::ListVersions), 5);
    }

    #[test]
    fn a_download_that_breaks_off_once_is_retried() {
        let store = FailingStore::new(archived()).on(Op::Get, Calls::Nth(2), Fault::Truncate(3));
        let report = verify(&store).unwrap();
        assert_eq!(status(&report, CheckId::Files), Status::Pass, "{}", report.to_text());
        assert_eq!(status(&report, CheckId::BucketVersions), Status::Pass, "{}", report.to_text());
    }
}
