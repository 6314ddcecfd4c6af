//! The S3 side of archiving: client set-up, object-lock facts of a bucket, and single or
//! multipart uploads with SHA-256 checksums and conditional writes. Errors name the bucket,
//! key and S3 error code.

use std::path::Path;

use aws_sdk_s3::error::ProvideErrorMetadata as _;
use aws_sdk_s3::primitives::{ByteStream, DateTime};
use aws_sdk_s3::types::{
    BucketVersioningStatus, ChecksumAlgorithm, ChecksumMode, CompletedMultipartUpload, CompletedPart,
    ObjectLockEnabled, ObjectLockMode, ObjectLockRetention, ObjectLockRetentionMode,
};
use base64::Engine as _;
use sha2::Digest as _;
use tokio::io::AsyncReadExt as _;

use super::ArchiveError;

/// An `s3://bucket/prefix` location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    /// The bucket.
    pub bucket: String,
    /// Key prefix without leading or trailing `/` (may be empty).
    pub prefix: String,
}

impl std::str::FromStr for S3Location {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let rest = s.strip_prefix("s3://").ok_or_else(|| format!("{s}: not an s3://bucket/prefix location"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(format!("{s}: no bucket name"));
        }
        Ok(S3Location { bucket: bucket.to_owned(), prefix: prefix.trim_matches('/').to_owned() })
    }
}

impl std::fmt::Display for S3Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

/// An S3 client from the default AWS chain. Path-style addressing when asked, or when a
/// custom endpoint is configured (S3-compatible stores and test servers rarely have
/// per-bucket DNS).
pub async fn client(path_style: bool) -> aws_sdk_s3::Client {
    client_for(&aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await, path_style)
}

/// [`client`] for an AWS configuration already loaded (a profile, an assumed role, …).
pub fn client_for(config: &aws_config::SdkConfig, path_style: bool) -> aws_sdk_s3::Client {
    let custom_endpoint =
        std::env::var_os("AWS_ENDPOINT_URL_S3").is_some() || std::env::var_os("AWS_ENDPOINT_URL").is_some();
    let conf = aws_sdk_s3::config::Builder::from(config).force_path_style(path_style || custom_endpoint).build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// `Code: message` of an S3 error (the HTTP status or a transport cause when there is no code).
pub fn describe<E>(e: &aws_sdk_s3::error::SdkError<E>) -> String
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    match s3_err("", "", "", e) {
        ArchiveError::S3 { code, message, .. } => format!("{code}{message}"),
        other => other.to_string(),
    }
}

/// `s3://bucket/key: Code: message (Operation)`.
pub(crate) fn s3_err<E>(
    bucket: &str,
    key: &str,
    operation: &'static str,
    e: &aws_sdk_s3::error::SdkError<E>,
) -> ArchiveError
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    let code = e.code().map(str::to_owned).unwrap_or_else(|| match e {
        aws_sdk_s3::error::SdkError::DispatchFailure(_) => "DispatchFailure (endpoint unreachable?)".into(),
        aws_sdk_s3::error::SdkError::TimeoutError(_) => "Timeout".into(),
        other => {
            other.raw_response().map(|r| format!("HTTP {}", r.status().as_u16())).unwrap_or_else(|| "Unknown".into())
        }
    });
    let message = match e.message() {
        Some(m) => format!(": {m}"),
        None if e.code().is_none() => format!(": {}", aws_sdk_s3::error::DisplayErrorContext(e)),
        None => String::new(),
    };
    ArchiveError::S3 { url: format!("s3://{bucket}/{key}"), operation, code, message }
}

/// What a bucket enforces.
#[derive(Debug, Clone)]
pub struct BucketLock {
    /// Versioning is enabled.
    pub versioning: bool,
    /// Object Lock is enabled.
    pub lock: bool,
    /// The default retention rule: mode and length in days (years counted as 365 days).
    pub default_retention: Option<(ObjectLockRetentionMode, i64)>,
}

/// Reads a bucket's versioning and Object Lock configuration.
pub async fn bucket_lock(client: &aws_sdk_s3::Client, bucket: &str) -> Result<BucketLock, ArchiveError> {
    let lock = match client.get_object_lock_configuration().bucket(bucket).send().await {
        Ok(out) => out.object_lock_configuration().cloned(),
        Err(e) if e.code() == Some("ObjectLockConfigurationNotFoundError") => None,
        Err(e) => return Err(s3_err(bucket, "", "GetObjectLockConfiguration", &e)),
    };
    let enabled = lock.as_ref().and_then(|c| c.object_lock_enabled()) == Some(&ObjectLockEnabled::Enabled);
    // Object Lock requires versioning (S3 turns it on and refuses to suspend it); check anyway.
    let versioning = enabled
        && match client.get_bucket_versioning().bucket(bucket).send().await {
            Ok(v) => v.status() == Some(&BucketVersioningStatus::Enabled),
            // Some S3-compatible servers (moto) answer with another XML root that the SDK
            // refuses; the answer itself is in the body.
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 200) => e
                .raw_response()
                .and_then(|r| r.body().bytes())
                .is_some_and(|b| String::from_utf8_lossy(b).contains("<Status>Enabled</Status>")),
            Err(e) => return Err(s3_err(bucket, "", "GetBucketVersioning", &e)),
        };
    let default_retention = lock.as_ref().and_then(|c| c.rule()).and_then(|r| r.default_retention()).and_then(|d| {
        let days = i64::from(d.days().unwrap_or(0)) + 365 * i64::from(d.years().unwrap_or(0));
        d.mode().map(|m| (m.clone(), days))
    });
    Ok(BucketLock { versioning, lock: enabled, default_retention })
}

/// An object as HeadObject sees it.
#[derive(Debug, Clone, Default)]
pub struct Head {
    /// Size in bytes.
    pub size: u64,
    /// `x-amz-checksum-sha256` (base64; `-N` composite for multipart uploads).
    pub checksum_sha256: Option<String>,
    /// Version id.
    pub version_id: Option<String>,
    /// ETag.
    pub etag: Option<String>,
    /// Lock mode.
    pub lock_mode: Option<String>,
    /// Retain-until, Unix seconds.
    pub retain_until: Option<i64>,
}

/// HeadObject with checksums; `None` when the key does not exist.
pub async fn head(client: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Result<Option<Head>, ArchiveError> {
    match client.head_object().bucket(bucket).key(key).checksum_mode(ChecksumMode::Enabled).send().await {
        Ok(h) => Ok(Some(Head {
            size: h.content_length().and_then(|l| u64::try_from(l).ok()).unwrap_or(0),
            checksum_sha256: h.checksum_sha256().map(str::to_owned),
            version_id: h.version_id().map(str::to_owned),
            etag: h.e_tag().map(str::to_owned),
            lock_mode: h.object_lock_mode().map(|m| m.as_str().to_owned()),
            retain_until: h.object_lock_retain_until_date().map(DateTime::secs),
        })),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
        Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => Ok(None),
        Err(e) => Err(s3_err(bucket, key, "HeadObject", &e)),
    }
}

/// How to lock what we upload.
#[derive(Debug, Clone)]
pub struct Lock {
    /// COMPLIANCE or GOVERNANCE; `None` for an unlocked bucket (`--allow-unlocked`).
    pub mode: Option<ObjectLockMode>,
    /// Retain-until, Unix seconds.
    pub retain_until: i64,
}

/// Base64 SHA-256, as S3 writes checksums.
pub fn b64(digest: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(digest)
}

/// The checksum S3 reports for a multipart upload of `path` in `part_size` parts:
/// SHA-256 over the parts' SHA-256 digests, `-N`.
pub fn composite_checksum(path: &Path, part_size: usize) -> std::io::Result<String> {
    use std::io::Read as _;
    let mut f = std::fs::File::open(path)?;
    let mut outer = sha2::Sha256::new();
    let mut parts = 0usize;
    let mut buf = vec![0u8; part_size];
    loop {
        let mut filled = 0;
        while filled < buf.len() {
            match f.read(&mut buf[filled..])? {
                0 => break,
                n => filled += n,
            }
        }
        if filled == 0 {
            break;
        }
        outer.update(sha2::Sha256::digest(&buf[..filled]));
        parts += 1;
    }
    Ok(format!("{}-{parts}", b64(&outer.finalize())))
}

async fn read_full(f: &mut tokio::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        let n = f.read(&mut buf[filled..]).await?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    Ok(filled)
}

/// Whether an upload failed only because the key already exists (the conditional write).
pub enum Put {
    /// Written.
    Written,
    /// `If-None-Match: *` refused it: the key exists.
    Exists,
}

/// Uploads `path` to `key` with a SHA-256 checksum, the lock, and `If-None-Match: *`.
pub async fn put(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    path: &Path,
    sha256: &[u8],
    lock: &Lock,
) -> Result<Put, ArchiveError> {
    let body = ByteStream::from_path(path)
        .await
        .map_err(|e| ArchiveError::Io { path: path.to_path_buf(), message: e.to_string() })?;
    let mut req = client
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(body)
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
        .checksum_sha256(b64(sha256))
        .if_none_match("*");
    if let Some(mode) = &lock.mode {
        req = req.object_lock_mode(mode.clone()).object_lock_retain_until_date(DateTime::from_secs(lock.retain_until));
    }
    match req.send().await {
        Ok(_) => Ok(Put::Written),
        Err(e) if is_precondition_failed(&e) => Ok(Put::Exists),
        Err(e) => Err(s3_err(bucket, key, "PutObject", &e)),
    }
}

fn is_precondition_failed<E: aws_sdk_s3::error::ProvideErrorMetadata>(e: &aws_sdk_s3::error::SdkError<E>) -> bool {
    e.code() == Some("PreconditionFailed") || e.raw_response().is_some_and(|r| r.status().as_u16() == 412)
}

/// Multipart upload with a SHA-256 checksum per part; aborted on any failure.
pub async fn put_multipart(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    path: &Path,
    part_size: usize,
    lock: &Lock,
) -> Result<Put, ArchiveError> {
    let io = |e: std::io::Error| ArchiveError::Io { path: path.to_path_buf(), message: e.to_string() };
    let mut req =
        client.create_multipart_upload().bucket(bucket).key(key).checksum_algorithm(ChecksumAlgorithm::Sha256);
    if let Some(mode) = &lock.mode {
        req = req.object_lock_mode(mode.clone()).object_lock_retain_until_date(DateTime::from_secs(lock.retain_until));
    }
    let created = req.send().await.map_err(|e| s3_err(bucket, key, "CreateMultipartUpload", &e))?;
    let upload_id = created.upload_id().unwrap_or_default().to_owned();
    let result: Result<Put, ArchiveError> = async {
        let mut f = tokio::fs::File::open(path).await.map_err(io)?;
        let mut buf = vec![0u8; part_size];
        let mut parts = Vec::new();
        for number in 1.. {
            let n = read_full(&mut f, &mut buf).await.map_err(io)?;
            if n == 0 && number > 1 {
                break;
            }
            let checksum = b64(&sha2::Sha256::digest(&buf[..n]));
            let out = client
                .upload_part()
                .bucket(bucket)
                .key(key)
                .upload_id(&upload_id)
                .part_number(number)
                .checksum_algorithm(ChecksumAlgorithm::Sha256)
                .checksum_sha256(&checksum)
                .body(ByteStream::from(buf[..n].to_vec()))
                .send()
                .await
                .map_err(|e| s3_err(bucket, key, "UploadPart", &e))?;
            parts.push(
                CompletedPart::builder()
                    .part_number(number)
                    .set_e_tag(out.e_tag().map(str::to_owned))
                    .checksum_sha256(checksum)
                    .build(),
            );
            if n < part_size {
                break;
            }
        }
        let done = client
            .complete_multipart_upload()
            .bucket(bucket)
            .key(key)
            .upload_id(&upload_id)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
            .if_none_match("*")
            .send()
            .await;
        match done {
            Ok(_) => Ok(Put::Written),
            Err(e) if is_precondition_failed(&e) => Ok(Put::Exists),
            Err(e) => Err(s3_err(bucket, key, "CompleteMultipartUpload", &e)),
        }
    }
    .await;
    if !matches!(result, Ok(Put::Written)) {
        let _ = client.abort_multipart_upload().bucket(bucket).key(key).upload_id(&upload_id).send().await;
    }
    result
}

/// Sets the retention of one version (for stores that ignore lock headers on multipart uploads).
pub async fn set_retention(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    version: Option<&str>,
    mode: &ObjectLockMode,
    retain_until: i64,
) -> Result<(), ArchiveError> {
    let mode = ObjectLockRetentionMode::from(mode.as_str());
    let retention =
        ObjectLockRetention::builder().mode(mode).retain_until_date(DateTime::from_secs(retain_until)).build();
    client
        .put_object_retention()
        .bucket(bucket)
        .key(key)
        .set_version_id(version.map(str::to_owned))
        .retention(retention)
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
        .send()
        .await
        .map_err(|e| s3_err(bucket, key, "PutObjectRetention", &e))?;
    Ok(())
}
