//! S3 prefixes as inputs: list every page, keep the keys that can matter for the period,
//! download them with bounded concurrency into a local folder, hashing while streaming, and
//! check what S3 gave back (content length; `x-amz-checksum-sha256` when the object has one).
//! A downloaded file's `relative` path is its **whole key**, prefix included, so path hints
//! (observation time, account, Region) see a time that sits in the input prefix
//! (`s3://bucket/exports/2026-07-08T06:00:00Z/`).
//!
//! Which keys can matter (DESIGN §3 v2, "what can matter for a period"), first rule that
//! applies:
//! * a report-plan output whose file name carries its report period
//!   (`…_2026-06-26T00:00:00Z_2026-06-27T00:00:00Z.csv`): kept when that period overlaps
//!   [period start − 1 day, period end + 8 days) — a monthly or weekly report delivered early
//!   in the quarter may cover only days before it;
//! * a report-plan output in the day layout `…/yyyy/mm/dd/…`: kept when that day lies in the
//!   same window. Jobs that run for days, and restore validations that finish up to 168 h
//!   later, report their final state after the quarter: a 70 h backup started on the last
//!   evening completes in the report dated three days after the quarter;
//! * a snapshot, observed at the last path component that is an RFC 3339 UTC timestamp
//!   (`collected/<account>/<region>/<ts>/…`, `exports/<ts>/…`): kept from the day before the
//!   period on, with no upper bound, because a snapshot taken after the period holds the final
//!   state of jobs created in it (on the sample quarter, dropping the snapshot of 7 October
//!   loses the validation results of two restore tests);
//! * anything else (Audit Manager zips, notes) is kept.

use std::path::{Path, PathBuf};

use futures_util::{StreamExt as _, TryStreamExt as _};

use super::{SourceError, SourceFile};
use crate::ingest::PathHint;
use crate::s3::{Dest, ObjectStore, S3Location, S3Store, StoreError, get_verified};
use crate::time::{Period, Timestamp};

/// What [`fetch`] did.
#[derive(Debug, Clone, Default)]
pub(crate) struct Fetched {
    /// The downloaded files, as build inputs.
    pub files: Vec<SourceFile>,
    /// Keys listed under the prefixes.
    pub listed: usize,
    /// Keys left out by date.
    pub skipped: usize,
    /// Bytes downloaded.
    pub bytes: u64,
    /// Packages of ours found under the prefixes (`s3://bucket/folder`), not read.
    pub packages: Vec<super::Skipped>,
}

const DAY_MS: i64 = 86_400_000;

/// Days after the period end during which report-plan outputs are still read.
const REPORT_DAYS_AFTER: i64 = 8;

/// Whether a key can hold evidence for `period` (see the module docs).
pub(crate) fn in_window(key: &str, period: Period) -> bool {
    let from = period.start.millis() - DAY_MS;
    let to = period.end.millis() + REPORT_DAYS_AFTER * DAY_MS;
    let parts: Vec<&str> = key.split('/').collect();
    if let Some((start, end)) = parts.last().and_then(|name| report_period(name)) {
        return end.millis() > from && start.millis() < to;
    }
    if let Some(day) = day_folder(&parts) {
        return day + DAY_MS > from && day < to;
    }
    if let Some(observed) = PathHint::from_path(key).observed_at {
        return observed.millis() >= from;
    }
    true
}

/// Start (ms) of the first `yyyy/mm/dd` run of folders in a key.
fn day_folder(parts: &[&str]) -> Option<i64> {
    parts.windows(3).find_map(|w| {
        if !(w[0].len() == 4 && w[1].len() == 2 && w[2].len() == 2) {
            return None;
        }
        let d = chrono::NaiveDate::parse_from_str(&format!("{}-{}-{}", w[0], w[1], w[2]), "%Y-%m-%d").ok()?;
        Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis())
    })
}

/// The report period in a report file name: the last two RFC 3339 UTC timestamps
/// (`YYYY-MM-DDTHH:MM:SSZ`) in it, in order.
fn report_period(name: &str) -> Option<(Timestamp, Timestamp)> {
    let b = name.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i + 20 <= b.len() {
        let c = &b[i..i + 20];
        let shape = c[4] == b'-' && c[7] == b'-' && c[10] == b'T' && c[13] == b':' && c[16] == b':' && c[19] == b'Z';
        // `get`: a window that starts or ends inside a multi-byte character is no timestamp.
        if shape && let Some(Ok(t)) = name.get(i..i + 20).map(Timestamp::parse) {
            found.push(t);
            i += 20;
        } else {
            i += 1;
        }
    }
    match found.as_slice() {
        [.., start, end] if start <= end => Some((*start, *end)),
        _ => None,
    }
}

fn s3_err(url: String, e: impl std::fmt::Display) -> SourceError {
    SourceError::Input { path: PathBuf::from(url), source: std::io::Error::other(e.to_string()) }
}

/// Lists and downloads every key under `locations` that can matter for `period` into `dest`.
///
/// # Errors
/// When listing or a download fails, or S3 returns other bytes than it announced.
pub(crate) fn fetch(
    locations: &[S3Location],
    period: Period,
    dest: &Path,
    concurrency: usize,
    path_style: bool,
) -> Result<Fetched, SourceError> {
    let rt = crate::s3::runtime().map_err(|e| s3_err("async runtime".into(), e))?;
    rt.block_on(async {
        let first = locations.first().map(ToString::to_string).unwrap_or_default();
        let store = S3Store::connect(path_style).await.map_err(|e| s3_err(first, e))?;
        fetch_from(&store, locations, period, dest, concurrency).await
    })
}

/// [`fetch`] from any store.
async fn fetch_from<S: ObjectStore>(
    store: &S,
    locations: &[S3Location],
    period: Period,
    dest: &Path,
    concurrency: usize,
) -> Result<Fetched, SourceError> {
    let mut keys = Vec::new();
    let (mut listed, mut packages) = (0, Vec::new());
    for loc in locations {
        let prefix = loc.key_prefix();
        let all = store
            .list(&loc.bucket, &prefix)
            .await
            .map_err(|e| s3_err(format!("s3://{}/{prefix}", loc.bucket), e.detail()))?;
        listed += all.len();
        let ours = packages_among(store, &loc.bucket, &all).await?;
        let inside = |key: &str| ours.iter().any(|dir| key.starts_with(&format!("{dir}/")));
        for key in all.into_iter().filter(|k| !k.ends_with('/') && !inside(k) && in_window(k, period)) {
            keys.push((loc.bucket.clone(), key));
        }
        packages.extend(ours.into_iter().map(|dir| super::Skipped {
            path: format!("s3://{}/{dir}", loc.bucket),
            kind: crate::output::Ours::Package,
        }));
    }
    keys.sort();
    keys.dedup();
    let skipped = listed - keys.len();
    tracing::info!("s3: {listed} keys listed, {} to fetch, {skipped} outside the period", keys.len());
    let files = download_all(store, &keys, dest, concurrency).await?;
    let bytes = files.iter().map(|f| f.size).sum();
    packages.sort();
    Ok(Fetched { files, listed, skipped, bytes, packages })
}

/// Downloads `keys` into numbered files under `dest`, `concurrency` at a time, in order. The
/// first download that fails for good ends the run (the others are dropped).
async fn download_all<S: ObjectStore>(
    store: &S,
    keys: &[(String, String)],
    dest: &Path,
    concurrency: usize,
) -> Result<Vec<SourceFile>, SourceError> {
    let bar = crate::progress::bar("fetch {bar:40} {pos}/{len} objects {eta}", keys.len() as u64);
    let done = std::sync::atomic::AtomicUsize::new(0);
    let (bar, done, total) = (&bar, &done, keys.len());
    let results: Result<Vec<SourceFile>, SourceError> =
        futures_util::stream::iter(keys.iter().enumerate().map(|(i, (bucket, key))| async move {
            let r = download(store, bucket, key, &dest.join(format!("{i:08}"))).await;
            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            match bar {
                Some(b) => b.set_position(n as u64),
                None if n % 500 == 0 || n == total => eprintln!("s3: fetched {n}/{total} objects"),
                None => {}
            }
            r
        }))
        .buffered(concurrency.max(1))
        .try_collect()
        .await;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    results
}

/// The folders among `keys` that hold a dora-evidence package: a `manifest.json` of ours beside
/// a `SHA256SUMS` (an archived package under an input prefix is not evidence, DESIGN §8).
async fn packages_among<S: ObjectStore>(store: &S, bucket: &str, keys: &[String]) -> Result<Vec<String>, SourceError> {
    let set: std::collections::BTreeSet<&str> = keys.iter().map(String::as_str).collect();
    let mut ours = Vec::new();
    for dir in keys.iter().filter_map(|k| k.strip_suffix("/manifest.json")) {
        if !set.contains(format!("{dir}/SHA256SUMS").as_str()) {
            continue;
        }
        let key = format!("{dir}/manifest.json");
        let mut bytes = Vec::new();
        let got =
            get_verified(store, bucket, &key, Dest::Memory(&mut bytes)).await.map_err(|e| read_err(bucket, &key, e))?;
        if got.is_some() && crate::output::is_package_manifest(&bytes) {
            ours.push(dir.to_owned());
        }
    }
    Ok(ours)
}

/// An error of [`get_verified`] as an input error of `s3://bucket/key`.
fn read_err(bucket: &str, key: &str, e: StoreError) -> SourceError {
    s3_err(format!("s3://{bucket}/{key}"), e.detail())
}

/// The origin a download records: `s3://bucket/key`, then `?versionId=…&etag=…` as far as
/// they are known. [`key_of_origin`] reads the key back.
fn origin(url: &str, version: Option<&str>, etag: Option<&str>) -> String {
    let mut query = Vec::new();
    if let Some(v) = version {
        query.push(format!("versionId={v}"));
    }
    if let Some(e) = etag {
        query.push(format!("etag={}", e.trim_matches('"')));
    }
    if query.is_empty() { url.to_owned() } else { format!("{url}?{}", query.join("&")) }
}

/// The key of an `s3://` origin as [`origin`] writes it, without the version and ETag (a key
/// may itself hold a `?`); `None` for an origin that is not `s3://`.
pub(crate) fn key_of_origin(origin: &str) -> Option<&str> {
    let rest = origin.strip_prefix("s3://")?;
    let key = rest.split_once('/').map_or("", |(_, k)| k);
    Some(match key.rsplit_once('?') {
        Some((k, q)) if q.split('&').all(|p| p.starts_with("versionId=") || p.starts_with("etag=")) => k,
        _ => key,
    })
}

/// Downloads one key with [`get_verified`] (retried, length and checksum checked, one
/// version); the origin records its version id and ETag.
async fn download<S: ObjectStore>(store: &S, bucket: &str, key: &str, path: &Path) -> Result<SourceFile, SourceError> {
    let url = format!("s3://{bucket}/{key}");
    let got = get_verified(store, bucket, key, Dest::File(path))
        .await
        .map_err(|e| read_err(bucket, key, e))?
        .ok_or_else(|| s3_err(url.clone(), "NoSuchKey: the key was listed but is gone (GetObject)"))?;
    Ok(SourceFile {
        origin: origin(&url, got.version_id.as_deref(), got.etag.as_deref()),
        relative: key.to_owned(),
        path: path.to_path_buf(),
        size: got.size,
        fetched_at: Some(got.fetched_at),
        sha256: Some(crate::artifact::Sha256Digest(got.sha256)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_origin_gives_its_key_back() {
        for key in ["quarter/x.json", "quarter/odd?name.json", ""] {
            let url = format!("s3://b/{key}");
            for (v, e) in [(Some("v1"), Some("\"abc\"")), (Some("v1"), None), (None, Some("abc")), (None, None)] {
                let o = origin(&url, v, e);
                assert_eq!(key_of_origin(&o), Some(key), "{o}");
            }
        }
        assert_eq!(origin("s3://b/k", Some("v1"), Some("\"abc\"")), "s3://b/k?versionId=v1&etag=abc");
        assert_eq!(key_of_origin("samples/input/x.json"), None);
    }

    #[test]
    fn windows_by_layout() {
        let q3: Period = "2026-Q3".parse().unwrap();
        let day = |d: &str| format!("r/Backup/111122223333/eu-central-1/2026/{d}/plan/a.csv");
        // [30 June, 9 October): the day before the quarter, the quarter, 8 days after it.
        for kept in ["07/15", "06/30", "10/01", "10/03", "10/04", "10/08"] {
            assert!(in_window(&day(kept), q3), "{kept}");
        }
        for dropped in ["06/28", "06/29", "10/09", "10/10"] {
            assert!(!in_window(&day(dropped), q3), "{dropped}");
        }
        // Collected snapshots: from 30 June on, however late.
        let snapshot = |t: &str| format!("collected/111122223333/eu-central-1/{t}/list-backup-jobs.json");
        for (t, kept) in [
            ("2026-10-07T06:00:00Z", true),
            ("2027-03-07T06:00:00Z", true),
            ("2026-06-01T06:00:00Z", false),
            ("2026-06-30T00:00:00Z", true),
            ("2026-06-29T23:59:59Z", false),
        ] {
            assert_eq!(in_window(&snapshot(t), q3), kept, "{t}");
        }
        assert!(in_window("audit-manager/report.zip", q3));
    }

    #[test]
    fn snapshots_in_any_layout_are_windowed_by_their_path_time() {
        let q3: Period = "2026-Q3".parse().unwrap();
        assert!(in_window("exports/2026-10-20T06:00:00Z/111122223333-eu-central-1/list-backup-jobs.json", q3));
        assert!(!in_window("exports/2026-05-20T06:00:00Z/111122223333-eu-central-1/list-backup-jobs.json", q3));
        // The last time component counts.
        assert!(in_window("exports/2026-05-20T06:00:00Z/rerun/2026-07-20T06:00:00Z/jobs.json", q3));
    }

    #[test]
    fn report_period_in_the_name_decides() {
        let q3: Period = "2026-Q3".parse().unwrap();
        let key = |day: &str, from: &str, to: &str| {
            format!("Backup/111122223333/eu-central-1/2026/{day}/plan/BACKUP_JOB_REPORT_plan_{from}_{to}.csv")
        };
        // Delivered in the quarter, but covering June only: left out.
        assert!(!in_window(&key("07/01", "2026-06-01T00:00:00Z", "2026-06-29T00:00:00Z"), q3));
        // A day of slack before: covers 30 June → kept, ends at its start → left out.
        assert!(in_window(&key("07/01", "2026-06-30T00:00:00Z", "2026-07-01T00:00:00Z"), q3));
        assert!(!in_window(&key("06/30", "2026-06-29T00:00:00Z", "2026-06-30T00:00:00Z"), q3));
        // Eight days after: the report of 3 October (delivered on the 4th) and the one starting
        // 8 October are kept, one starting 9 October is not.
        assert!(in_window(&key("10/04", "2026-10-03T00:00:00Z", "2026-10-04T00:00:00Z"), q3));
        assert!(in_window(&key("10/09", "2026-10-08T00:00:00Z", "2026-10-09T00:00:00Z"), q3));
        assert!(!in_window(&key("10/10", "2026-10-09T00:00:00Z", "2026-10-10T00:00:00Z"), q3));
        // Covering the whole quarter, delivered later: kept.
        assert!(in_window(&key("10/05", "2026-07-01T00:00:00Z", "2026-10-01T00:00:00Z"), q3));
        // Not a period (one timestamp, or reversed): the folder date decides.
        assert!(in_window(&key("07/15", "2026-07-15T00:00:00Z", "x"), q3));
        assert!(!in_window(&key("10/12", "2026-07-15T00:00:00Z", "x"), q3));
        assert!(report_period("a_2026-07-02T00:00:00Z_2026-07-01T00:00:00Z.csv").is_none());
        assert!(report_period("a_2026-13-02T00:00:00Z_2026-07-01T00:00:00Z.csv").is_none());
    }

    #[test]
    fn keys_with_multi_byte_characters_never_panic() {
        let q3: Period = "2026-Q3".parse().unwrap();
        // A timestamp-shaped window that starts inside `é` (2 bytes) or ends inside `€` (3 bytes).
        for key in [
            "é123-56-89T12:45:78Z.csv",
            "xé123-56-89T12:45:78Z.csv",
            "2026-07-01T00:00:00€",
            "r/2026/07/é/ü-2026-07-01T00:00:00Z_2026-07-02T00:00:00Z€.csv",
            "é/é/é/日本語/2026-07-01T00:00:00Z/ß.json",
            "Backup/111122223333/eu-central-1/2026/07/0é/plan/a.csv",
            "€€€€€€€€€€€€€€€€€€€€€€€€",
        ] {
            let _ = in_window(key, q3);
            let _ = report_period(key);
        }
        assert!(report_period("é123-56-89T12:45:78Z.csv").is_none());
        // Real timestamps beside multi-byte characters still count.
        let name = "Bericht-Prüfung_2026-06-01T00:00:00Z_2026-06-02T00:00:00Z_é.csv";
        assert_eq!(report_period(name).map(|(s, _)| s.to_rfc3339()).as_deref(), Some("2026-06-01T00:00:00Z"));
        assert!(!in_window(&format!("r/{name}"), q3));
    }

    mod store {
        use super::super::*;
        use crate::s3::FailureKind;
        use crate::s3::testing::{Calls, FailingStore, Fault, MemoryStore, Op, block_on};

        const OLD_SNAPSHOT: &str = "quarter/collected/111122223333/eu-central-1/2026-01-01T00:00:00Z/jobs.json";

        /// Five keys that can matter for 2026-Q3 under `quarter/`, one that cannot, one elsewhere.
        fn bucket() -> MemoryStore {
            let store = MemoryStore::locked().with_page_size(2);
            for i in 0..5 {
                store.insert("b", &format!("quarter/notes-{i}.txt"), format!("note {i}\n").as_bytes(), None);
            }
            store.insert("b", OLD_SNAPSHOT, b"{}", None);
            store.insert("b", "elsewhere/x.txt", b"x", None);
            store
        }

        fn fetch<S: ObjectStore>(store: &S, dest: &Path) -> Result<Fetched, SourceError> {
            let locations = ["s3://b/quarter".parse().unwrap()];
            block_on(fetch_from(store, &locations, "2026-Q3".parse().unwrap(), dest, 3))
        }

        #[test]
        fn every_page_is_listed_and_what_can_matter_is_downloaded_and_hashed() {
            let tmp = tempfile::tempdir().unwrap();
            let store = FailingStore::new(bucket());
            let fetched = fetch(&store, tmp.path()).unwrap();
            assert_eq!((fetched.listed, fetched.skipped, fetched.files.len()), (6, 1, 5));
            assert_eq!(store.count(Op::List), 3, "six keys in pages of two");
            for (i, f) in fetched.files.iter().enumerate() {
                let bytes = std::fs::read(&f.path).unwrap();
                assert_eq!(bytes, format!("note {i}\n").as_bytes());
                assert_eq!(f.relative, format!("quarter/notes-{i}.txt"));
                let sha: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(&bytes).into();
                assert_eq!(f.sha256, Some(crate::artifact::Sha256Digest(sha)));
                assert!(f.origin.starts_with(&format!("s3://b/quarter/notes-{i}.txt?versionId=v")), "{}", f.origin);
            }
            assert_eq!(fetched.bytes, 5 * 7);
        }

        #[test]
        fn a_truncated_body_is_read_again() {
            let tmp = tempfile::tempdir().unwrap();
            let store = FailingStore::new(bucket()).on(Op::Get, Calls::First(2), Fault::Truncate(1));
            let fetched = fetch(&store, tmp.path()).unwrap();
            assert_eq!(fetched.files.len(), 5);
            for (i, f) in fetched.files.iter().enumerate() {
                assert_eq!(std::fs::read(&f.path).unwrap(), format!("note {i}\n").as_bytes());
            }
            assert_eq!(store.count(Op::Get), 7);
        }

        #[test]
        fn reads_that_keep_failing_end_the_run_loudly() {
            let tmp = tempfile::tempdir().unwrap();
            let store = FailingStore::new(bucket()).on(Op::Get, Calls::All, Fault::Truncate(2));
            let e = fetch(&store, tmp.path()).unwrap_err();
            let text = format!("{e}: {}", std::error::Error::source(&e).unwrap());
            assert!(text.starts_with("cannot read input s3://b/quarter/notes-"), "{text}");
            assert!(
                text.contains("ReadError: S3 announced 7 bytes but sent 2; gave up after 5 attempts (GetObject)"),
                "{text}"
            );

            let store = FailingStore::new(bucket()).on(Op::List, Calls::All, Fault::Fail(FailureKind::Transient));
            let e = fetch(&store, tmp.path()).unwrap_err();
            let text = format!("{e}: {}", std::error::Error::source(&e).unwrap());
            assert_eq!(
                text,
                "cannot read input s3://b/quarter/: SlowDown: Please reduce your request rate.; gave up after 5 \
                 attempts (ListObjectsV2)"
            );
        }
    }
}
