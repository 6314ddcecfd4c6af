//! The S3 side of archiving: client set-up, object-lock facts of a bucket, and single or
//! multipart uploads with SHA-256 checksums and conditional writes. Errors name the bucket,
//! key and S3 error code.

use std::path::Path;
use std::time::Duration;

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
///
/// # Errors
/// [`ArchiveError::Setup`] when no Region or no credentials are configured (see [`check_setup`]).
pub async fn client(path_style: bool) -> Result<aws_sdk_s3::Client, ArchiveError> {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
    check_setup(&config, "").await.map_err(ArchiveError::Setup)?;
    Ok(client_for(&config, path_style))
}

/// Checks that an AWS configuration has a Region and can produce credentials, so that a
/// missing setup is named as such instead of surfacing as a dispatch failure of the first
/// call. `flags` names command-line options that also help (`" or --profile NAME"`).
///
/// # Errors
/// `no AWS Region configured (…)` or `no AWS credentials found (…): cause`.
pub async fn check_setup(config: &aws_config::SdkConfig, flags: &str) -> Result<(), String> {
    use aws_credential_types::provider::ProvideCredentials as _;
    if config.region().is_none() {
        return Err(format!(
            "no AWS Region configured (set AWS_REGION, or AWS_PROFILE to a profile with a region{flags})"
        ));
    }
    let hint = format!(
        "no AWS credentials found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE{flags}, \
         or run with an instance or task role)"
    );
    let Some(provider) = config.credentials_provider() else { return Err(hint) };
    match provider.provide_credentials().await {
        Ok(_) => Ok(()),
        Err(e) => Err(format!("{hint}: {}", crate::collect::capture::chain(&e))),
    }
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
    use aws_sdk_s3::error::SdkError;
    let code = e.code().map(str::to_owned).unwrap_or_else(|| match e {
        SdkError::DispatchFailure(d) if d.is_io() => "endpoint unreachable".into(),
        SdkError::DispatchFailure(d) if d.is_timeout() => "Timeout".into(),
        SdkError::DispatchFailure(_) => "request not sent".into(),
        SdkError::TimeoutError(_) => "Timeout".into(),
        SdkError::ResponseError(_) => "response unreadable".into(),
        other => {
            other.raw_response().map(|r| format!("HTTP {}", r.status().as_u16())).unwrap_or_else(|| "Unknown".into())
        }
    });
    // The cause chain, never the SDK's debug dump.
    let message = match e.message() {
        Some(m) => format!(": {m}"),
        None if e.code().is_none() => format!(": {}", crate::collect::capture::chain(e)),
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

/// Attempts per S3 read before giving up: a GetObject whose body breaks mid-stream, or a
/// request that still fails transiently after the SDK's own retries.
pub const READ_ATTEMPTS: u32 = 5;

/// Back-off base before the first retry; doubled for each further one. Tests shorten it with
/// `DORA_EVIDENCE_S3_RETRY_BASE_MS`.
const RETRY_BASE: Duration = Duration::from_millis(250);

fn retry_base() -> Duration {
    std::env::var("DORA_EVIDENCE_S3_RETRY_BASE_MS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .map_or(RETRY_BASE, Duration::from_millis)
}

/// The wait before retry `retry` (1, 2, …) of the read of `what`: base·2^(retry−1) plus a
/// jitter of up to as much again, drawn from a generator seeded by `what` and `retry`
/// (deterministic, yet concurrent reads of different keys do not retry in lockstep).
pub(crate) fn backoff(base: Duration, retry: u32, what: &str) -> Duration {
    let exp = base.saturating_mul(1u32 << retry.saturating_sub(1).min(16));
    let seed = what.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    let jitter = fastrand::Rng::with_seed(seed ^ u64::from(retry)).f64();
    exp + exp.mul_f64(jitter)
}

/// Whether an S3 call failed in a way that a later attempt may not: no connection, a timeout,
/// an unreadable response, HTTP 5xx, throttling.
pub(crate) fn is_transient<E: aws_sdk_s3::error::ProvideErrorMetadata>(e: &aws_sdk_s3::error::SdkError<E>) -> bool {
    use aws_sdk_s3::error::SdkError;
    match e {
        SdkError::DispatchFailure(d) => d.is_io() || d.is_timeout(),
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => true,
        _ => {
            matches!(
                e.code(),
                Some(
                    "SlowDown"
                        | "InternalError"
                        | "ServiceUnavailable"
                        | "RequestTimeout"
                        | "Throttling"
                        | "ThrottlingException"
                        | "RequestLimitExceeded"
                )
            ) || e.raw_response().is_some_and(|r| r.status().as_u16() >= 500 || r.status().as_u16() == 429)
        }
    }
}

/// An S3 call that failed, and after how many attempts.
#[derive(Debug)]
pub struct Failed<E> {
    /// The last error.
    pub error: aws_sdk_s3::error::SdkError<E>,
    /// Attempts made.
    pub attempts: u32,
}

impl<E> Failed<E>
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    /// `Code: message`, and the attempts when there were several.
    pub fn describe(&self) -> String {
        format!("{}{}", describe(&self.error), gave_up(self.attempts))
    }

    /// The error as [`ArchiveError::S3`].
    pub fn to_archive(&self, bucket: &str, key: &str, operation: &'static str) -> ArchiveError {
        match s3_err(bucket, key, operation, &self.error) {
            ArchiveError::S3 { url, operation, code, message } => {
                ArchiveError::S3 { url, operation, code, message: message + &gave_up(self.attempts) }
            }
            other => other,
        }
    }
}

fn gave_up(attempts: u32) -> String {
    if attempts > 1 { format!("; gave up after {attempts} attempts") } else { String::new() }
}

/// Runs an S3 call up to [`READ_ATTEMPTS`] times while it fails transiently (the SDK has
/// retried each attempt already), waiting [`backoff`] between attempts.
pub async fn with_retry<T, E, F, Fut>(what: &str, mut call: F) -> Result<T, Failed<E>>
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, aws_sdk_s3::error::SdkError<E>>>,
{
    let base = retry_base();
    let mut attempts = 1;
    loop {
        match call().await {
            Err(error) if attempts < READ_ATTEMPTS && is_transient(&error) => {
                tracing::warn!("{what}: {} (attempt {attempts} of {READ_ATTEMPTS}); retrying", describe(&error));
                tokio::time::sleep(backoff(base, attempts, what)).await;
                attempts += 1;
            }
            Ok(v) => return Ok(v),
            Err(error) => return Err(Failed { error, attempts }),
        }
    }
}

/// Where [`get_verified`] puts an object's bytes.
pub enum Dest<'a> {
    /// A file, created (or truncated) at every attempt.
    File(&'a Path),
    /// Memory, cleared at every attempt.
    Memory(&'a mut Vec<u8>),
}

/// An object read by [`get_verified`].
#[derive(Debug, Clone)]
pub struct Got {
    /// Version id of what was read (every attempt after the first asks for this version).
    pub version_id: Option<String>,
    /// ETag of what was read.
    pub etag: Option<String>,
    /// Object Lock mode.
    pub lock_mode: Option<String>,
    /// Object Lock retain-until, Unix seconds.
    pub retain_until: Option<i64>,
    /// Bytes read (equal to the announced Content-Length).
    pub size: u64,
    /// SHA-256 of the bytes (equal to `x-amz-checksum-sha256` when the object has a full one).
    pub sha256: [u8; 32],
    /// When the successful attempt started.
    pub fetched_at: crate::time::Timestamp,
}

/// Why one attempt of [`get_verified`] failed.
enum AttemptError {
    /// Worth another attempt: the body broke off, was shorter than announced, or did not
    /// match its checksum.
    Transient(String),
    /// Not: a local file error, the object changed between attempts.
    Fatal(ArchiveError),
}

/// GetObject of `key` into `dest`, with checksums requested; `Ok(None)` when the key does not
/// exist. The SDK retries requests but not a body that breaks off mid-stream, so this does:
/// up to [`READ_ATTEMPTS`] attempts with exponential back-off and jitter, each rewriting
/// `dest` from the start. Every attempt after the first asks for the version id (else the
/// ETag, `If-Match`) of the first response, so a changed object cannot slip in. What is kept
/// has the announced length and, when S3 reports a full-object `x-amz-checksum-sha256`, that
/// digest.
///
/// # Errors
/// [`ArchiveError::S3`] naming the key and the last error, after the attempts or at once for
/// errors that a retry cannot cure (access denied, …); [`ArchiveError::Io`] for `dest`.
pub async fn get_verified(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    mut dest: Dest<'_>,
) -> Result<Option<Got>, ArchiveError> {
    let url = format!("s3://{bucket}/{key}");
    let base = retry_base();
    // What the first response named: every later attempt must read the same object.
    let (mut version, mut etag): (Option<String>, Option<String>) = (None, None);
    let mut pinned = false;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let fetched_at = crate::time::Timestamp::now();
        let mut req = client.get_object().bucket(bucket).key(key).checksum_mode(ChecksumMode::Enabled);
        if let Some(v) = &version {
            req = req.version_id(v);
        } else if let Some(e) = &etag {
            req = req.if_match(e);
        }
        let last = match req.send().await {
            Ok(out) => {
                if !pinned {
                    pinned = true;
                    version = out.version_id().map(str::to_owned);
                    etag = out.e_tag().map(str::to_owned);
                } else if out.e_tag().is_some() && out.e_tag() != etag.as_deref() {
                    return Err(ArchiveError::S3 {
                        url,
                        operation: "GetObject",
                        code: "ObjectChanged".into(),
                        message: format!(
                            ": ETag {} on attempt {attempts}, {} on the first; the object changed while it was read",
                            out.e_tag().unwrap_or("?"),
                            etag.as_deref().unwrap_or("?")
                        ),
                    });
                }
                match read_body(out, &mut dest, fetched_at).await {
                    Ok(got) => return Ok(Some(got)),
                    Err(AttemptError::Fatal(e)) => return Err(e),
                    Err(AttemptError::Transient(m)) => ArchiveError::S3 {
                        url: url.clone(),
                        operation: "GetObject",
                        code: "ReadError".into(),
                        message: format!(": {m}"),
                    },
                }
            }
            Err(e) if !pinned && e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) if is_transient(&e) => s3_err(bucket, key, "GetObject", &e),
            Err(e) if e.code() == Some("PreconditionFailed") => {
                return Err(ArchiveError::S3 {
                    url,
                    operation: "GetObject",
                    code: "ObjectChanged".into(),
                    message: format!(
                        ": ETag {} no longer matches on attempt {attempts}; the object changed while it was read",
                        etag.as_deref().unwrap_or("?")
                    ),
                });
            }
            Err(e) => return Err(s3_err(bucket, key, "GetObject", &e)),
        };
        if attempts >= READ_ATTEMPTS {
            return Err(match last {
                ArchiveError::S3 { url, operation, code, message } => {
                    ArchiveError::S3 { url, operation, code, message: message + &gave_up(attempts) }
                }
                other => other,
            });
        }
        tracing::warn!("{last} (attempt {attempts} of {READ_ATTEMPTS}); retrying");
        tokio::time::sleep(backoff(base, attempts, key)).await;
    }
}

/// Reads one GetObject body into `dest`, hashing it, and checks length and checksum.
async fn read_body(
    out: aws_sdk_s3::operation::get_object::GetObjectOutput,
    dest: &mut Dest<'_>,
    fetched_at: crate::time::Timestamp,
) -> Result<Got, AttemptError> {
    use tokio::io::AsyncWriteExt as _;
    let announced = out.content_length().and_then(|l| u64::try_from(l).ok());
    let checksum = out.checksum_sha256().map(str::to_owned);
    let mut got = Got {
        version_id: out.version_id().map(str::to_owned),
        etag: out.e_tag().map(str::to_owned),
        lock_mode: out.object_lock_mode().map(|m| m.as_str().to_owned()),
        retain_until: out.object_lock_retain_until_date().map(DateTime::secs),
        size: 0,
        sha256: [0; 32],
        fetched_at,
    };
    let mut file = match dest {
        Dest::File(path) => {
            let path: &Path = path;
            let io = |e: std::io::Error| {
                AttemptError::Fatal(ArchiveError::Io { path: path.to_path_buf(), message: e.to_string() })
            };
            if let Some(parent) = path.parent() {
                tokio::fs::create_dir_all(parent).await.map_err(io)?;
            }
            Some((tokio::fs::File::create(path).await.map_err(io)?, path.to_path_buf()))
        }
        Dest::Memory(buf) => {
            buf.clear();
            None
        }
    };
    let mut body = out.body;
    let mut hasher = sha2::Sha256::new();
    loop {
        let chunk = match body.try_next().await {
            Ok(Some(c)) => c,
            Ok(None) => break,
            Err(e) => {
                let e: &(dyn std::error::Error + 'static) = &e;
                return Err(AttemptError::Transient(format!(
                    "the body broke off after {} bytes: {}",
                    got.size,
                    crate::collect::capture::chain(e)
                )));
            }
        };
        hasher.update(&chunk);
        got.size += chunk.len() as u64;
        match (&mut file, &mut *dest) {
            (Some((f, path)), _) => f
                .write_all(&chunk)
                .await
                .map_err(|e| AttemptError::Fatal(ArchiveError::Io { path: path.clone(), message: e.to_string() }))?,
            (None, Dest::Memory(buf)) => buf.extend_from_slice(&chunk),
            (None, Dest::File(_)) => {}
        }
    }
    if let Some((f, path)) = &mut file {
        f.flush()
            .await
            .map_err(|e| AttemptError::Fatal(ArchiveError::Io { path: path.clone(), message: e.to_string() }))?;
    }
    if let Some(n) = announced.filter(|n| *n != got.size) {
        return Err(AttemptError::Transient(format!("S3 announced {n} bytes but sent {}", got.size)));
    }
    got.sha256 = hasher.finalize().into();
    if let Some(c) = checksum.filter(|c| !c.contains('-')) {
        let ours = b64(&got.sha256);
        if c != ours {
            return Err(AttemptError::Transient(format!(
                "SHA-256 {ours} of the download differs from x-amz-checksum-sha256 {c}"
            )));
        }
    }
    Ok(got)
}
