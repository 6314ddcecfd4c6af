//! S3 prefixes as inputs: list every page, keep the keys that can matter for the period,
//! download them with bounded concurrency into a local folder, hashing while streaming, and
//! check what S3 gave back (content length; `x-amz-checksum-sha256` when the object has one).
//!
//! Which keys can matter, from the conventional layouts (DESIGN §2):
//! * report-plan outputs `…/yyyy/mm/dd/…` cover one day: kept from the day before the period
//!   to the day after it; when the file name carries the report period
//!   (`…_2026-06-26T00:00:00Z_2026-06-27T00:00:00Z.csv`), that period must overlap the
//!   quarter with a day of slack at both ends instead (a monthly or weekly report delivered
//!   early in the quarter may cover only days before it);
//! * snapshots `collected/<account>/<region>/<timestamp>/…` observe jobs at that time: kept
//!   from the day before the period on, with no upper bound, because a snapshot taken after
//!   the period holds the final state of jobs created in it (on the sample quarter, dropping
//!   the snapshot of 7 October loses the validation results of two restore tests);
//! * anything else (Audit Manager zips, notes) is kept.

use std::path::{Path, PathBuf};

use aws_sdk_s3::types::ChecksumMode;
use futures_util::StreamExt as _;
use sha2::Digest as _;
use tokio::io::AsyncWriteExt as _;

use super::{SourceError, SourceFile};
use crate::archive::S3Location;
use crate::time::{Period, Timestamp};

/// What [`fetch`] did.
#[derive(Debug, Clone, Default)]
pub struct Fetched {
    /// The downloaded files, as build inputs.
    pub files: Vec<SourceFile>,
    /// Keys listed under the prefixes.
    pub listed: usize,
    /// Keys left out by date.
    pub skipped: usize,
    /// Bytes downloaded.
    pub bytes: u64,
}

const DAY_MS: i64 = 86_400_000;

/// Whether a key can hold evidence for `period` (see the module docs).
pub fn in_window(key: &str, period: Period) -> bool {
    let (from, to) = (period.start.millis() - DAY_MS, period.end.millis() + DAY_MS);
    let parts: Vec<&str> = key.split('/').collect();
    for (i, p) in parts.iter().enumerate() {
        if *p == "collected"
            && let Some(ts) = parts.get(i + 3).and_then(|t| Timestamp::parse(t).ok())
        {
            return ts.millis() >= from;
        }
    }
    if let Some((start, end)) = parts.last().and_then(|name| report_period(name)) {
        return end.millis() > from && start.millis() < to;
    }
    for w in parts.windows(3) {
        let date = (w[0].len() == 4 && w[1].len() == 2 && w[2].len() == 2)
            .then(|| chrono::NaiveDate::parse_from_str(&format!("{}-{}-{}", w[0], w[1], w[2]), "%Y-%m-%d").ok())
            .flatten();
        if let Some(d) = date {
            let start = d.and_hms_opt(0, 0, 0).map_or(0, |t| t.and_utc().timestamp_millis());
            return start + DAY_MS > from && start < to;
        }
    }
    true
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
        if shape && let Ok(t) = Timestamp::parse(&name[i..i + 20]) {
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
pub fn fetch(
    locations: &[S3Location],
    period: Period,
    dest: &Path,
    concurrency: usize,
    path_style: bool,
) -> Result<Fetched, SourceError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| s3_err("async runtime".into(), e))?;
    rt.block_on(async {
        let client = crate::archive::s3_client(path_style).await;
        let mut keys = Vec::new();
        let mut listed = 0;
        for loc in locations {
            let prefix = if loc.prefix.is_empty() { String::new() } else { format!("{}/", loc.prefix) };
            let mut pages = client.list_objects_v2().bucket(&loc.bucket).prefix(&prefix).into_paginator().send();
            while let Some(page) = pages.next().await {
                let page =
                    page.map_err(|e| s3_err(format!("s3://{}/{prefix}", loc.bucket), crate::archive::describe(&e)))?;
                for o in page.contents() {
                    let Some(key) = o.key() else { continue };
                    listed += 1;
                    if !key.ends_with('/') && in_window(key, period) {
                        keys.push((loc.bucket.clone(), key.to_owned()));
                    }
                }
            }
        }
        keys.sort();
        keys.dedup();
        let skipped = listed - keys.len();
        tracing::info!("s3: {listed} keys listed, {} to fetch, {skipped} outside the period", keys.len());
        let client = &client;
        let bar = crate::progress::bar("fetch {bar:40} {pos}/{len} objects {eta}", keys.len() as u64);
        let done = std::sync::atomic::AtomicUsize::new(0);
        let (bar, done, total) = (&bar, &done, keys.len());
        let results: Vec<Result<SourceFile, SourceError>> =
            futures_util::stream::iter(keys.iter().enumerate().map(|(i, (bucket, key))| async move {
                let r = download(client, bucket, key, &dest.join(format!("{i:08}"))).await;
                let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                match bar {
                    Some(b) => b.set_position(n as u64),
                    None if n % 500 == 0 || n == total => eprintln!("s3: fetched {n}/{total} objects"),
                    None => {}
                }
                r
            }))
            .buffered(concurrency.max(1))
            .collect()
            .await;
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        let files = results.into_iter().collect::<Result<Vec<_>, _>>()?;
        let bytes = files.iter().map(|f| f.size).sum();
        Ok(Fetched { files, listed, skipped, bytes })
    })
}

async fn download(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    path: &Path,
) -> Result<SourceFile, SourceError> {
    let url = format!("s3://{bucket}/{key}");
    let out = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .map_err(|e| s3_err(url.clone(), crate::archive::describe(&e)))?;
    let fetched_at = Timestamp::now();
    let announced = out.content_length().and_then(|l| u64::try_from(l).ok());
    let checksum = out.checksum_sha256().map(str::to_owned);
    let mut origin = url.clone();
    let mut query = Vec::new();
    if let Some(v) = out.version_id() {
        query.push(format!("versionId={v}"));
    }
    if let Some(e) = out.e_tag() {
        query.push(format!("etag={}", e.trim_matches('"')));
    }
    if !query.is_empty() {
        origin = format!("{origin}?{}", query.join("&"));
    }
    let io = |e: std::io::Error| s3_err(url.clone(), e);
    let mut file = tokio::fs::File::create(path).await.map_err(io)?;
    let mut body = out.body;
    let mut hasher = sha2::Sha256::new();
    let mut size = 0u64;
    while let Some(chunk) = body.try_next().await.map_err(|e| s3_err(url.clone(), e))? {
        hasher.update(&chunk);
        size += chunk.len() as u64;
        file.write_all(&chunk).await.map_err(io)?;
    }
    file.flush().await.map_err(io)?;
    if announced.is_some_and(|n| n != size) {
        return Err(s3_err(url, format!("S3 announced {} bytes but sent {size}", announced.unwrap_or(0))));
    }
    let digest: [u8; 32] = hasher.finalize().into();
    if let Some(c) = checksum.filter(|c| !c.contains('-')) {
        let ours = crate::archive::b64(&digest);
        if c != ours {
            return Err(s3_err(url, format!("SHA-256 {ours} of the download differs from x-amz-checksum-sha256 {c}")));
        }
    }
    Ok(SourceFile {
        origin,
        relative: key.to_owned(),
        path: path.to_path_buf(),
        size,
        fetched_at: Some(fetched_at),
        sha256: Some(crate::artifact::Sha256Digest(digest)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_by_layout() {
        let q3: Period = "2026-Q3".parse().unwrap();
        assert!(in_window("r/Backup/111122223333/eu-central-1/2026/07/15/plan/a.csv", q3));
        assert!(in_window("r/Backup/111122223333/eu-central-1/2026/06/30/plan/a.csv", q3));
        assert!(in_window("r/Backup/111122223333/eu-central-1/2026/10/01/plan/a.csv", q3));
        assert!(!in_window("r/Backup/111122223333/eu-central-1/2026/06/28/plan/a.csv", q3));
        assert!(!in_window("r/Backup/111122223333/eu-central-1/2026/10/03/plan/a.csv", q3));
        assert!(in_window("collected/111122223333/eu-central-1/2026-10-07T06:00:00Z/list-backup-jobs.json", q3));
        assert!(!in_window("collected/111122223333/eu-central-1/2026-06-01T06:00:00Z/list-backup-jobs.json", q3));
        assert!(in_window("audit-manager/report.zip", q3));
    }

    #[test]
    fn report_period_in_the_name_decides() {
        let q3: Period = "2026-Q3".parse().unwrap();
        let key = |day: &str, from: &str, to: &str| {
            format!("Backup/111122223333/eu-central-1/2026/{day}/plan/BACKUP_JOB_REPORT_plan_{from}_{to}.csv")
        };
        // Delivered in the quarter, but covering June only: left out.
        assert!(!in_window(&key("07/01", "2026-06-01T00:00:00Z", "2026-06-29T00:00:00Z"), q3));
        // A day of slack: covers 30 June → kept, ends at its start → left out; starts on
        // 1 October → kept, on 2 October → left out.
        assert!(in_window(&key("07/01", "2026-06-30T00:00:00Z", "2026-07-01T00:00:00Z"), q3));
        assert!(!in_window(&key("06/30", "2026-06-29T00:00:00Z", "2026-06-30T00:00:00Z"), q3));
        assert!(in_window(&key("10/02", "2026-10-01T00:00:00Z", "2026-10-02T00:00:00Z"), q3));
        assert!(!in_window(&key("10/03", "2026-10-02T00:00:00Z", "2026-10-03T00:00:00Z"), q3));
        // Covering the whole quarter, delivered later: kept.
        assert!(in_window(&key("10/05", "2026-07-01T00:00:00Z", "2026-10-01T00:00:00Z"), q3));
        // Not a period (one timestamp, or reversed): the folder date decides.
        assert!(in_window(&key("07/15", "2026-07-15T00:00:00Z", "x"), q3));
        assert!(report_period("a_2026-07-02T00:00:00Z_2026-07-01T00:00:00Z.csv").is_none());
        assert!(report_period("a_2026-13-02T00:00:00Z_2026-07-01T00:00:00Z.csv").is_none());
    }
}
