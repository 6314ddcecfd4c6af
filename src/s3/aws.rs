//! [`S3Store`]: the [`ObjectStore`] on AWS S3 (and S3-compatible servers), the only code that
//! touches `aws-sdk-s3` types. Also the client set-up shared with `collect` and the
//! translation of SDK errors into [`StoreError`]s.

use std::path::Path;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::{ByteStream, DateTime};
use aws_sdk_s3::types::{
    BucketVersioningStatus, ChecksumAlgorithm, ChecksumMode, CompletedMultipartUpload, CompletedPart,
    ObjectLockEnabled, ObjectLockMode, ObjectLockRetention, ObjectLockRetentionMode,
};
use sha2::Digest as _;
use tokio::io::AsyncReadExt as _;

use super::{
    BucketLock, FailureKind, GetOutput, GetRequest, Head, KeyPage, ListPage, ListRequest, Lock, LockMode, ObjectStore,
    Put, PutBody, PutRequest, RetentionRequest, StoreError, VersionEntry, VersionMarker, VersionPage, b64, chain,
};

/// An S3 client from the default AWS chain. Path-style addressing when asked, or when a
/// custom endpoint is configured (S3-compatible stores and test servers rarely have
/// per-bucket DNS).
///
/// # Errors
/// [`StoreError::Setup`] when no Region or no credentials are configured (see [`check_setup`]).
pub async fn client(path_style: bool) -> Result<aws_sdk_s3::Client, StoreError> {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
    check_setup(&config, "").await.map_err(StoreError::Setup)?;
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
        Err(e) => Err(format!("{hint}: {}", chain(&e))),
    }
}

/// [`client`] for an AWS configuration already loaded (a profile, an assumed role, …).
pub fn client_for(config: &aws_config::SdkConfig, path_style: bool) -> aws_sdk_s3::Client {
    let custom_endpoint =
        std::env::var_os("AWS_ENDPOINT_URL_S3").is_some() || std::env::var_os("AWS_ENDPOINT_URL").is_some();
    let conf = aws_sdk_s3::config::Builder::from(config).force_path_style(path_style || custom_endpoint).build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// `s3://bucket/key: Code: message (Operation)`, classified.
fn s3_err<E>(bucket: &str, key: &str, operation: &'static str, e: &SdkError<E>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
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
        None if e.code().is_none() => format!(": {}", chain(e)),
        None => String::new(),
    };
    let status = e.raw_response().map(|r| r.status().as_u16());
    let kind = if e.code() == Some("PreconditionFailed") || status == Some(412) {
        FailureKind::PreconditionFailed
    } else if is_transient(e) {
        FailureKind::Transient
    } else if matches!(e.code(), Some("NoSuchKey" | "NotFound")) || status == Some(404) {
        FailureKind::NotFound
    } else {
        FailureKind::Other
    };
    StoreError::s3(bucket, key, operation, code, message, kind)
}

/// Whether an S3 call failed in a way that a later attempt may not: no connection, a timeout,
/// an unreadable response, HTTP 5xx, throttling.
fn is_transient<E: ProvideErrorMetadata>(e: &SdkError<E>) -> bool {
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

/// The Object Lock headers of an upload: mode and retain-until, or neither.
fn lock_headers(lock: &Lock) -> (Option<ObjectLockMode>, Option<DateTime>) {
    match lock.mode {
        Some(mode) => (Some(ObjectLockMode::from(mode.as_str())), Some(DateTime::from_secs(lock.retain_until))),
        None => (None, None),
    }
}

/// `Put::Exists` when a conditional write found the key taken.
fn put_outcome<T, E>(
    result: Result<T, SdkError<E>>,
    bucket: &str,
    key: &str,
    operation: &'static str,
) -> Result<Put, StoreError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match result.map_err(|e| s3_err(bucket, key, operation, &e)) {
        Ok(_) => Ok(Put::Written),
        Err(e) if e.kind() == FailureKind::PreconditionFailed => Ok(Put::Exists),
        Err(e) => Err(e),
    }
}

/// The [`ObjectStore`] on S3.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
}

impl S3Store {
    /// A store on `client`.
    pub fn new(client: aws_sdk_s3::Client) -> S3Store {
        S3Store { client }
    }

    /// A store on a client from the default AWS chain ([`client`]).
    ///
    /// # Errors
    /// [`StoreError::Setup`] when no Region or no credentials are configured.
    pub async fn connect(path_style: bool) -> Result<S3Store, StoreError> {
        Ok(S3Store::new(client(path_style).await?))
    }

    /// Multipart upload of `path` with a SHA-256 checksum per part; aborted on any failure.
    async fn put_multipart(&self, req: PutRequest<'_>, path: &Path, part_size: usize) -> Result<Put, StoreError> {
        let (bucket, key) = (req.bucket, req.key);
        let (mode, until) = lock_headers(req.lock);
        let create = self.client.create_multipart_upload().bucket(bucket).key(key);
        let created = create
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .set_object_lock_mode(mode)
            .set_object_lock_retain_until_date(until)
            .set_content_type(req.content_type.map(str::to_owned))
            .send()
            .await
            .map_err(|e| s3_err(bucket, key, "CreateMultipartUpload", &e))?;
        let upload_id = created.upload_id().unwrap_or_default().to_owned();
        let result = match self.upload_parts(bucket, key, path, part_size, &upload_id).await {
            Ok(parts) => {
                let done = self
                    .client
                    .complete_multipart_upload()
                    .bucket(bucket)
                    .key(key)
                    .upload_id(&upload_id)
                    .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
                    .if_none_match("*")
                    .send()
                    .await;
                put_outcome(done, bucket, key, "CompleteMultipartUpload")
            }
            Err(e) => Err(e),
        };
        if !matches!(result, Ok(Put::Written)) {
            let _ = self.client.abort_multipart_upload().bucket(bucket).key(key).upload_id(&upload_id).send().await;
        }
        result
    }

    /// The parts of a multipart upload, each with its SHA-256; returns the completed parts.
    async fn upload_parts(
        &self,
        bucket: &str,
        key: &str,
        path: &Path,
        part_size: usize,
        upload_id: &str,
    ) -> Result<Vec<CompletedPart>, StoreError> {
        let io = |e: std::io::Error| StoreError::io(path, e);
        let mut f = tokio::fs::File::open(path).await.map_err(io)?;
        let mut buf = vec![0u8; part_size];
        let mut parts = Vec::new();
        for number in 1.. {
            let n = read_full(&mut f, &mut buf).await.map_err(io)?;
            if n == 0 && number > 1 {
                break;
            }
            let checksum = b64(&sha2::Sha256::digest(&buf[..n]));
            let out = self
                .client
                .upload_part()
                .bucket(bucket)
                .key(key)
                .upload_id(upload_id)
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
        Ok(parts)
    }
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

/// A GetObject body as a stream of chunks; a broken body is its cause chain.
fn body_stream(body: ByteStream) -> futures_util::stream::BoxStream<'static, Result<bytes::Bytes, String>> {
    Box::pin(futures_util::stream::unfold(Some(body), |body| async move {
        let mut body = body?;
        match body.try_next().await {
            Ok(Some(chunk)) => Some((Ok(chunk), Some(body))),
            Ok(None) => None,
            Err(e) => {
                let e: &(dyn std::error::Error + 'static) = &e;
                Some((Err(chain(e)), None))
            }
        }
    }))
}

impl ObjectStore for S3Store {
    async fn list_page(&self, req: ListRequest<'_, String>) -> Result<KeyPage, StoreError> {
        let ListRequest { bucket, prefix, from } = req;
        let list = self.client.list_objects_v2().bucket(bucket).prefix(prefix).set_continuation_token(from);
        let page = list.send().await.map_err(|e| s3_err(bucket, prefix, "ListObjectsV2", &e))?;
        let items = page.contents().iter().filter_map(|o| o.key()).map(str::to_owned).collect();
        let next = page.next_continuation_token().filter(|_| page.is_truncated() == Some(true)).map(str::to_owned);
        Ok(ListPage { items, next })
    }

    async fn list_versions_page(&self, req: ListRequest<'_, VersionMarker>) -> Result<VersionPage, StoreError> {
        let ListRequest { bucket, prefix, from } = req;
        let (km, vm) = from.map_or((None, None), |(k, v)| (Some(k), v));
        let list = self.client.list_object_versions().bucket(bucket).prefix(prefix);
        let page = list
            .set_key_marker(km)
            .set_version_id_marker(vm)
            .send()
            .await
            .map_err(|e| s3_err(bucket, prefix, "ListObjectVersions", &e))?;
        let entry = |key: Option<&str>, version: Option<&str>, latest: Option<bool>, delete_marker| VersionEntry {
            key: key.unwrap_or_default().to_owned(),
            version_id: version.unwrap_or_default().to_owned(),
            is_latest: latest.unwrap_or(false),
            delete_marker,
        };
        let mut items: Vec<VersionEntry> =
            page.versions().iter().map(|v| entry(v.key(), v.version_id(), v.is_latest(), false)).collect();
        items.extend(page.delete_markers().iter().map(|m| entry(m.key(), m.version_id(), m.is_latest(), true)));
        let next = match (page.is_truncated(), page.next_key_marker()) {
            (Some(true), Some(k)) => Some((k.to_owned(), page.next_version_id_marker().map(str::to_owned))),
            _ => None,
        };
        Ok(ListPage { items, next })
    }

    async fn head(&self, bucket: &str, key: &str) -> Result<Option<Head>, StoreError> {
        match self.client.head_object().bucket(bucket).key(key).checksum_mode(ChecksumMode::Enabled).send().await {
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

    async fn get(&self, req: GetRequest<'_>) -> Result<GetOutput, StoreError> {
        let (bucket, key) = (req.bucket, req.key);
        let out = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .checksum_mode(ChecksumMode::Enabled)
            .set_version_id(req.version_id.map(str::to_owned))
            .set_if_match(req.if_match.map(str::to_owned))
            .send()
            .await;
        let out = match out {
            Ok(out) => out,
            // Only NoSuchKey means "absent"; another 404 (NoSuchVersion, NoSuchBucket) is an error.
            Err(e) => {
                let absent = e.as_service_error().is_some_and(|s| s.is_no_such_key());
                let err = s3_err(bucket, key, "GetObject", &e);
                return Err(match err.kind() {
                    _ if absent => err.with_kind(FailureKind::NotFound),
                    FailureKind::NotFound => err.with_kind(FailureKind::Other),
                    _ => err,
                });
            }
        };
        Ok(GetOutput {
            version_id: out.version_id().map(str::to_owned),
            etag: out.e_tag().map(str::to_owned),
            lock_mode: out.object_lock_mode().map(|m| m.as_str().to_owned()),
            retain_until: out.object_lock_retain_until_date().map(DateTime::secs),
            content_length: out.content_length().and_then(|l| u64::try_from(l).ok()),
            checksum_sha256: out.checksum_sha256().map(str::to_owned),
            body: body_stream(out.body),
        })
    }

    async fn put(&self, req: PutRequest<'_>) -> Result<Put, StoreError> {
        let body = match (req.body, req.part_size) {
            (PutBody::File(path), Some(part_size)) => return self.put_multipart(req, path, part_size).await,
            (PutBody::File(path), None) => ByteStream::from_path(path).await.map_err(|e| StoreError::io(path, e))?,
            (PutBody::Bytes(bytes), _) => ByteStream::from(bytes.to_vec()),
        };
        let (mode, until) = lock_headers(req.lock);
        let put = self
            .client
            .put_object()
            .bucket(req.bucket)
            .key(req.key)
            .body(body)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .checksum_sha256(b64(req.sha256))
            .if_none_match("*")
            .set_content_type(req.content_type.map(str::to_owned))
            .set_object_lock_mode(mode)
            .set_object_lock_retain_until_date(until);
        put_outcome(put.send().await, req.bucket, req.key, "PutObject")
    }

    async fn set_retention(&self, req: RetentionRequest<'_>) -> Result<(), StoreError> {
        let retention = ObjectLockRetention::builder()
            .mode(ObjectLockRetentionMode::from(req.mode.as_str()))
            .retain_until_date(DateTime::from_secs(req.retain_until))
            .build();
        self.client
            .put_object_retention()
            .bucket(req.bucket)
            .key(req.key)
            .set_version_id(req.version.map(str::to_owned))
            .retention(retention)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .send()
            .await
            .map_err(|e| s3_err(req.bucket, req.key, "PutObjectRetention", &e))?;
        Ok(())
    }

    async fn bucket_lock(&self, bucket: &str) -> Result<BucketLock, StoreError> {
        let lock = match self.client.get_object_lock_configuration().bucket(bucket).send().await {
            Ok(out) => out.object_lock_configuration().cloned(),
            Err(e) if e.code() == Some("ObjectLockConfigurationNotFoundError") => None,
            Err(e) => return Err(s3_err(bucket, "", "GetObjectLockConfiguration", &e)),
        };
        let enabled = lock.as_ref().and_then(|c| c.object_lock_enabled()) == Some(&ObjectLockEnabled::Enabled);
        // Object Lock requires versioning (S3 turns it on and refuses to suspend it); check anyway.
        let versioning = enabled
            && match self.client.get_bucket_versioning().bucket(bucket).send().await {
                Ok(v) => v.status() == Some(&BucketVersioningStatus::Enabled),
                // Some S3-compatible servers (moto) answer with another XML root that the SDK
                // refuses; the answer itself is in the body.
                Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 200) => e
                    .raw_response()
                    .and_then(|r| r.body().bytes())
                    .is_some_and(|b| String::from_utf8_lossy(b).contains("<Status>Enabled</Status>")),
                Err(e) => return Err(s3_err(bucket, "", "GetBucketVersioning", &e)),
            };
        let default_retention =
            lock.as_ref().and_then(|c| c.rule()).and_then(|r| r.default_retention()).and_then(|d| {
                let days = i64::from(d.days().unwrap_or(0)) + 365 * i64::from(d.years().unwrap_or(0));
                d.mode().and_then(|m| LockMode::parse(m.as_str())).map(|m| (m, days))
            });
        Ok(BucketLock { versioning, lock: enabled, default_retention })
    }
}
