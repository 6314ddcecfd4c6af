//! The bucket side of [`archive`](super::archive), on any [`ObjectStore`]: check that the bucket
//! locks objects at least as long as asked, upload what is missing (`If-None-Match: *`, never
//! replacing a key that holds other bytes), read every key back and compare it with what was
//! sent (fixing a retention a store did not apply), then write the receipt beside the objects.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use futures_util::StreamExt as _;

use super::{ArchiveError, ArchiveOptions, ArchiveSummary, PackageFile, Receipt, ReceiptObject, rfc3339};
use crate::s3::{
    BucketLock, Dest, Head, Lock, LockMode, ObjectStore, Put, PutBody, PutRequest, RetentionRequest, get_verified,
};

fn now_secs() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// Uploads `files` under `prefix`, reads them back and writes the receipt.
///
/// # Errors
/// See [`ArchiveError`]; what was uploaded before an error stays.
pub(super) async fn store_package<S: ObjectStore>(
    store: &S,
    opts: &ArchiveOptions,
    prefix: &str,
    package_id: &str,
    files: &[PackageFile],
    receipt_path: &str,
) -> Result<ArchiveSummary, ArchiveError> {
    let bucket = opts.to.bucket.as_str();
    let now = now_secs();
    let mode = lock_mode(&store.bucket_lock(bucket).await?, opts, now)?;
    let lock = Lock { mode, retain_until: opts.retain_until };
    let uploads = upload_all(store, bucket, files, &lock, opts).await?;
    let objects = read_back_all(store, bucket, files, &uploads.present, mode, opts).await?;
    let receipt = Receipt {
        format: "dora-evidence-archive-receipt/1".into(),
        package_id: package_id.to_owned(),
        bucket: bucket.to_owned(),
        prefix: prefix.to_owned(),
        archived_at: rfc3339(now),
        mode: mode.map(|m| m.as_str().to_owned()),
        retain_until: rfc3339(opts.retain_until),
        objects,
    };
    let receipt_written = put_receipt(store, &receipt, receipt_path, &lock).await?;
    Ok(ArchiveSummary {
        url: format!("s3://{bucket}/{prefix}"),
        uploaded: uploads.uploaded,
        present: files.len() - uploads.uploaded,
        bytes: uploads.bytes,
        receipt,
        receipt_written,
    })
}

/// The lock mode to write with (`None`: an unlocked bucket, when allowed), after checking
/// that the retention asked for is neither shorter nor weaker than the bucket's default, the
/// configured policy, or now.
fn lock_mode(lock: &BucketLock, opts: &ArchiveOptions, now: i64) -> Result<Option<LockMode>, ArchiveError> {
    let bucket = &opts.to.bucket;
    let mode = if lock.lock && lock.versioning {
        Some(opts.mode)
    } else if opts.allow_unlocked {
        tracing::warn!("s3://{bucket} has no Object Lock (or no versioning): objects are NOT write-protected");
        None
    } else {
        let what = if lock.lock { "versioning is not enabled" } else { "Object Lock is not enabled" };
        return Err(ArchiveError::Unlocked { bucket: bucket.clone(), what: what.into() });
    };
    if let Some((default_mode, days)) = lock.default_retention
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
        if default_mode == LockMode::Compliance && opts.mode == LockMode::Governance {
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
    Ok(mode)
}

/// What [`upload_all`] did.
struct Uploads {
    /// Objects written in this run.
    uploaded: usize,
    /// Their bytes.
    bytes: u64,
    /// Objects found already there with the same content, by path: what HeadObject said.
    present: HashMap<String, Head>,
}

/// What became of one file.
enum Uploaded {
    New,
    Present(Head),
    Conflict,
}

/// Uploads every file that is not there yet, in parallel, with progress.
///
/// # Errors
/// [`ArchiveError::Conflict`] naming every key that holds other content (after all uploads),
/// or the first S3 error.
async fn upload_all<S: ObjectStore>(
    store: &S,
    bucket: &str,
    files: &[PackageFile],
    lock: &Lock,
    opts: &ArchiveOptions,
) -> Result<Uploads, ArchiveError> {
    let total: u64 = files.iter().map(|f| f.size).sum();
    let bar =
        if opts.progress { crate::progress::bar("archive {bar:40} {bytes}/{total_bytes} {eta}", total) } else { None };
    let (done_bytes, done_files) = (&AtomicU64::new(0), &AtomicUsize::new(0));
    let bar = &bar;
    let results: Vec<(&PackageFile, Result<Uploaded, ArchiveError>)> =
        futures_util::stream::iter(files.iter().map(|f| async move {
            let outcome = upload_one(store, bucket, f, lock, opts.part_size).await;
            let b = done_bytes.fetch_add(f.size, Ordering::Relaxed) + f.size;
            let n = done_files.fetch_add(1, Ordering::Relaxed) + 1;
            match bar {
                Some(bar) => bar.set_position(b),
                None if n % 200 == 0 || n == files.len() => {
                    eprintln!("archive: {n}/{} files, {b}/{total} bytes", files.len())
                }
                None => {}
            }
            (f, outcome)
        }))
        .buffer_unordered(opts.concurrency.max(1))
        .collect()
        .await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let mut uploads = Uploads { uploaded: 0, bytes: 0, present: HashMap::new() };
    let mut conflicts = Vec::new();
    for (f, outcome) in results {
        match outcome? {
            Uploaded::New => {
                uploads.uploaded += 1;
                uploads.bytes += f.size;
                tracing::info!("uploaded s3://{bucket}/{}", f.key);
            }
            Uploaded::Present(h) => {
                uploads.present.insert(f.path.clone(), h);
            }
            Uploaded::Conflict => conflicts.push(format!("s3://{bucket}/{}", f.key)),
        }
    }
    if !conflicts.is_empty() {
        conflicts.sort();
        return Err(ArchiveError::Conflict(conflicts));
    }
    Ok(uploads)
}

/// Composite checksums are compared with or without their `-N` (stores differ).
fn checksum_matches(found: Option<&str>, expected: &str) -> bool {
    let Some(found) = found else { return false };
    found == expected || expected.split_once('-').is_some_and(|(c, _)| c == found)
}

/// Uploads one file unless its key is taken; a taken key is the same content or a conflict.
async fn upload_one<S: ObjectStore>(
    store: &S,
    bucket: &str,
    f: &PackageFile,
    lock: &Lock,
    part_size: usize,
) -> Result<Uploaded, ArchiveError> {
    let key = &f.key;
    let same = |h: &Head| h.size == f.size && checksum_matches(h.checksum_sha256.as_deref(), &f.checksum);
    if let Some(h) = store.head(bucket, key).await? {
        return Ok(if same(&h) { Uploaded::Present(h) } else { Uploaded::Conflict });
    }
    let sha256 = hex::decode(&f.sha256).unwrap_or_default();
    let (body, part_size) = (PutBody::File(&f.local), (f.size >= part_size as u64).then_some(part_size));
    match store.put(PutRequest { bucket, key, body, sha256: &sha256, lock, content_type: None, part_size }).await? {
        Put::Written => Ok(Uploaded::New),
        // Someone wrote the key between our HeadObject and PutObject.
        Put::Exists => match store.head(bucket, key).await? {
            Some(h) if same(&h) => Ok(Uploaded::Present(h)),
            _ => Ok(Uploaded::Conflict),
        },
    }
}

/// Reads every key back ([`read_back`]) and collects the receipt's objects.
///
/// # Errors
/// [`ArchiveError::Mismatch`] listing every difference, or the first S3 error.
async fn read_back_all<S: ObjectStore>(
    store: &S,
    bucket: &str,
    files: &[PackageFile],
    present: &HashMap<String, Head>,
    mode: Option<LockMode>,
    opts: &ArchiveOptions,
) -> Result<Vec<ReceiptObject>, ArchiveError> {
    let checked: Vec<Result<(ReceiptObject, Vec<String>), ArchiveError>> =
        futures_util::stream::iter(files.iter().map(|f| {
            let seen = present.get(&f.path).cloned();
            async move { read_back(store, bucket, f, seen, mode, opts).await }
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
    Ok(objects)
}

/// HeadObject one key after upload (or reuse what the upload's HeadObject said) and compare
/// it with what was sent; fixes a missing or short retention first (some stores ignore lock
/// headers on multipart uploads).
async fn read_back<S: ObjectStore>(
    store: &S,
    bucket: &str,
    f: &PackageFile,
    seen: Option<Head>,
    mode: Option<LockMode>,
    opts: &ArchiveOptions,
) -> Result<(ReceiptObject, Vec<String>), ArchiveError> {
    let key = &f.key;
    let mut problems = Vec::new();
    let found = match seen {
        Some(h) => Some(h),
        None => store.head(bucket, key).await?,
    };
    if found.is_none() {
        problems.push(format!("{key}: missing after upload"));
    }
    let mut h = found.unwrap_or_default();
    let short = |h: &Head, m: LockMode| {
        h.lock_mode.as_deref() != Some(m.as_str()) || h.retain_until.is_none_or(|t| t < opts.retain_until)
    };
    if let Some(m) = mode
        && h.version_id.is_some()
        && short(&h, m)
    {
        let version = h.version_id.as_deref();
        store
            .set_retention(RetentionRequest { bucket, key, version, mode: m, retain_until: opts.retain_until })
            .await?;
        h = store.head(bucket, key).await?.unwrap_or_default();
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

/// Writes the receipt beside the objects once; an existing one must list the same objects.
async fn put_receipt<S: ObjectStore>(
    store: &S,
    receipt: &Receipt,
    path: &str,
    lock: &Lock,
) -> Result<bool, ArchiveError> {
    let key = format!("{}{path}", receipt.prefix);
    let mut existing = Vec::new();
    if get_verified(store, &receipt.bucket, &key, Dest::Memory(&mut existing)).await?.is_some() {
        let old: Result<Receipt, _> = serde_json::from_slice(&existing);
        return match old {
            Ok(old) if same_objects(&old.objects, &receipt.objects) => Ok(false),
            _ => Err(ArchiveError::Conflict(vec![format!("s3://{}/{key} (lists other objects)", receipt.bucket)])),
        };
    }
    let text = serde_json::to_string_pretty(receipt).unwrap_or_default() + "\n";
    let sha = sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(text.as_bytes()));
    let (bucket, body) = (receipt.bucket.as_str(), PutBody::Bytes(text.as_bytes()));
    store.put(PutRequest { bucket, key: &key, body, sha256: &sha, lock, content_type: None, part_size: None }).await?;
    Ok(true)
}

fn same_objects(a: &[ReceiptObject], b: &[ReceiptObject]) -> bool {
    let key = |o: &ReceiptObject| (o.key.clone(), o.sha256.clone(), o.version_id.clone());
    a.iter().map(key).collect::<Vec<_>>() == b.iter().map(key).collect::<Vec<_>>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::s3::testing::{Calls, FailingStore, Fault, MemoryStore, Op, block_on};
    use crate::s3::{FailureKind, S3Location, StoreError, b64};

    const YEAR: i64 = 365 * 86_400;

    fn options(to: &str) -> ArchiveOptions {
        ArchiveOptions {
            to: to.parse::<S3Location>().unwrap(),
            mode: LockMode::Compliance,
            retain_until: now_secs() + 7 * YEAR,
            policy_min_until: None,
            allow_unlocked: false,
            verify: crate::verify::VerifyOptions::default(),
            concurrency: 4,
            part_size: 5 * 1024 * 1024,
            path_style: false,
            progress: false,
        }
    }

    /// Package files `(path, bytes)` written under `dir`, going to `p/<path>`.
    fn package(dir: &std::path::Path, contents: &[(&str, &[u8])]) -> Vec<PackageFile> {
        contents
            .iter()
            .map(|(path, bytes)| {
                let local = dir.join(path.replace('/', "_"));
                std::fs::write(&local, bytes).unwrap();
                let digest = <sha2::Sha256 as sha2::Digest>::digest(bytes);
                PackageFile {
                    path: (*path).to_owned(),
                    key: format!("p/{path}"),
                    local,
                    size: bytes.len() as u64,
                    sha256: hex::encode(digest),
                    checksum: b64(&digest),
                }
            })
            .collect()
    }

    const FILES: [(&str, &[u8]); 3] = [
        ("manifest.json", b"{\"files\":[]}"),
        ("report.pdf", b"%PDF-1.7 ..."),
        ("evidence/jobs.csv", b"id,state\n1,OK\n"),
    ];

    /// An empty locked bucket `b`, options to archive under `s3://b/p`, and the package files
    /// (kept in the returned folder).
    fn case() -> (tempfile::TempDir, MemoryStore, ArchiveOptions, Vec<PackageFile>) {
        let tmp = tempfile::tempdir().unwrap();
        let files = package(tmp.path(), &FILES);
        (tmp, MemoryStore::locked(), options("s3://b/p"), files)
    }

    fn run<S: ObjectStore>(
        store: &S,
        opts: &ArchiveOptions,
        files: &[PackageFile],
    ) -> Result<ArchiveSummary, ArchiveError> {
        block_on(store_package(store, opts, "p/", "pkg-1", files, crate::package::layout::RECEIPT))
    }

    #[test]
    fn uploads_locked_objects_and_the_receipt_then_a_rerun_uploads_nothing() {
        let (_tmp, store, opts, files) = case();
        let first = run(&store, &opts, &files).unwrap();
        assert_eq!((first.uploaded, first.present, first.receipt_written), (3, 0, true));
        assert_eq!(first.bytes, FILES.iter().map(|f| f.1.len() as u64).sum::<u64>());
        for f in &files {
            let (bytes, head) = store.current("b", &f.key).unwrap();
            assert_eq!(bytes, std::fs::read(&f.local).unwrap());
            assert_eq!((head.lock_mode.as_deref(), head.retain_until), (Some("COMPLIANCE"), Some(opts.retain_until)));
        }
        let (receipt, _) = store.current("b", "p/archive-receipt.json").unwrap();
        let receipt: Receipt = serde_json::from_slice(&receipt).unwrap();
        assert_eq!(receipt.objects.len(), 3);
        assert!(receipt.objects.iter().all(|o| o.version_id.is_some() && o.lock_mode.as_deref() == Some("COMPLIANCE")));

        let again = run(&store, &opts, &files).unwrap();
        assert_eq!((again.uploaded, again.present, again.receipt_written), (0, 3, false));
        assert!(files.iter().all(|f| store.version_count("b", &f.key) == 1));
    }

    #[test]
    fn resume_uploads_only_what_is_missing() {
        let (_tmp, store, opts, files) = case();
        store.insert("b", "p/report.pdf", FILES[1].1, Some((LockMode::Compliance, opts.retain_until)));
        let summary = run(&store, &opts, &files).unwrap();
        assert_eq!((summary.uploaded, summary.present), (2, 1));
        assert_eq!(summary.bytes, (FILES[0].1.len() + FILES[2].1.len()) as u64);
        assert_eq!(store.version_count("b", "p/report.pdf"), 1);
    }

    #[test]
    fn a_key_holding_other_bytes_is_a_conflict_and_stays_untouched() {
        let (_tmp, store, opts, files) = case();
        store.insert("b", "p/evidence/jobs.csv", b"id,state\n1,FAILED\n", None);
        let Err(ArchiveError::Conflict(keys)) = run(&store, &opts, &files) else { panic!("no conflict") };
        assert_eq!(keys, ["s3://b/p/evidence/jobs.csv"]);
        assert_eq!(store.current("b", "p/evidence/jobs.csv").unwrap().0, b"id,state\n1,FAILED\n");
        assert_eq!(store.version_count("b", "p/evidence/jobs.csv"), 1);
        assert!(store.current("b", "p/archive-receipt.json").is_none(), "no receipt after a conflict");
    }

    #[test]
    fn a_receipt_listing_other_objects_is_a_conflict() {
        let (_tmp, store, opts, files) = case();
        store.insert("b", "p/archive-receipt.json", b"{\"not\": \"a receipt\"}", None);
        let Err(ArchiveError::Conflict(keys)) = run(&store, &opts, &files) else { panic!("no conflict") };
        assert_eq!(keys, ["s3://b/p/archive-receipt.json (lists other objects)"]);
    }

    #[test]
    fn existing_objects_with_a_shorter_or_weaker_retention_are_locked_as_asked() {
        let (_tmp, store, opts, files) = case();
        store.insert("b", "p/manifest.json", FILES[0].1, Some((LockMode::Compliance, now_secs() + 86_400)));
        store.insert("b", "p/report.pdf", FILES[1].1, Some((LockMode::Governance, opts.retain_until)));
        let summary = run(&store, &opts, &files).unwrap();
        assert_eq!(summary.present, 2);
        for key in ["p/manifest.json", "p/report.pdf"] {
            let head = store.current("b", key).unwrap().1;
            assert_eq!((head.lock_mode.as_deref(), head.retain_until), (Some("COMPLIANCE"), Some(opts.retain_until)));
        }
    }

    #[test]
    fn a_retention_the_store_refuses_to_change_is_an_error() {
        let (_tmp, store, mut opts, files) = case();
        opts.mode = LockMode::Governance;
        // COMPLIANCE cannot be turned into GOVERNANCE.
        store.insert("b", "p/report.pdf", FILES[1].1, Some((LockMode::Compliance, opts.retain_until)));
        let e = run(&store, &opts, &files).unwrap_err();
        assert!(
            matches!(&e, ArchiveError::Store(StoreError::S3 { operation: "PutObjectRetention", code, .. }) if code == "AccessDenied"),
            "{e}"
        );
    }

    #[test]
    fn a_store_that_ignores_lock_settings_is_a_mismatch() {
        let (_tmp, _, opts, files) = case();
        let store = FailingStore::new(MemoryStore::locked()).on(Op::Put, Calls::All, Fault::IgnoreLock).on(
            Op::SetRetention,
            Calls::All,
            Fault::IgnoreLock,
        );
        let Err(ArchiveError::Mismatch(problems)) = run(&store, &opts, &files) else { panic!("no mismatch") };
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems.iter().all(|p| p.contains("locked None until None; COMPLIANCE until")), "{problems:?}");
        assert_eq!(store.count(Op::SetRetention), 3);
    }

    #[test]
    fn read_back_of_other_bytes_is_a_mismatch() {
        let (_tmp, _, opts, files) = case();
        // Three HeadObjects before the uploads, then the read-back: the 4th answers with
        // another checksum.
        let store = FailingStore::new(MemoryStore::locked()).on(Op::Head, Calls::Nth(4), Fault::Corrupt);
        let Err(ArchiveError::Mismatch(problems)) = run(&store, &opts, &files) else { panic!("no mismatch") };
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains(": checksum Some(") && problems[0].contains("expected"), "{problems:?}");
        assert!(store.inner().current("b", "p/archive-receipt.json").is_none());
    }

    #[test]
    fn read_back_that_fails_is_an_error() {
        let (_tmp, _, opts, files) = case();
        let store =
            FailingStore::new(MemoryStore::locked()).on(Op::Head, Calls::Nth(5), Fault::Fail(FailureKind::Other));
        let e = run(&store, &opts, &files).unwrap_err();
        assert!(matches!(&e, ArchiveError::Store(StoreError::S3 { operation: "HeadObject", .. })), "{e}");
        assert!(store.inner().current("b", "p/archive-receipt.json").is_none());
    }

    #[test]
    fn buckets_that_do_not_lock_long_enough_are_refused() {
        let now = now_secs();
        let mut opts = options("s3://b/p");
        let unlocked = BucketLock::default();
        assert!(matches!(lock_mode(&unlocked, &opts, now), Err(ArchiveError::Unlocked { .. })));
        opts.allow_unlocked = true;
        assert_eq!(lock_mode(&unlocked, &opts, now).unwrap(), None);
        let locked = |default_retention| BucketLock { versioning: true, lock: true, default_retention };
        assert_eq!(lock_mode(&locked(None), &opts, now).unwrap(), Some(LockMode::Compliance));
        let ten_years = locked(Some((LockMode::Compliance, 3650)));
        assert!(
            matches!(lock_mode(&ten_years, &opts, now), Err(ArchiveError::Retention(m)) if m.contains("3650 days"))
        );
        opts.mode = LockMode::Governance;
        let one_day = locked(Some((LockMode::Compliance, 1)));
        assert!(matches!(lock_mode(&one_day, &opts, now), Err(ArchiveError::Retention(m)) if m.contains("weaker")));
        opts.mode = LockMode::Compliance;
        opts.policy_min_until = Some(opts.retain_until + 1);
        assert!(
            matches!(lock_mode(&locked(None), &opts, now), Err(ArchiveError::Retention(m)) if m.contains("policy"))
        );
        opts.policy_min_until = None;
        opts.retain_until = now - 1;
        assert!(matches!(lock_mode(&locked(None), &opts, now), Err(ArchiveError::Retention(m)) if m.contains("past")));
    }

    #[test]
    fn composite_checksums_compare_with_or_without_part_count() {
        assert!(checksum_matches(Some("abc=-2"), "abc=-2"));
        assert!(checksum_matches(Some("abc="), "abc=-2"));
        assert!(!checksum_matches(Some("abd="), "abc=-2"));
        assert!(!checksum_matches(None, "abc="));
    }
}
