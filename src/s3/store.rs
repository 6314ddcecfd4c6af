//! The object store: one method per S3 operation the stages use, taking and returning this
//! module's own types. Implementations do single calls and report failures as
//! [`StoreError`]s with a [`FailureKind`](super::FailureKind); paging and retries are written once, here
//! ([`ObjectStore::list`], [`ObjectStore::list_versions`]) and in `read.rs`.

use std::path::Path;

use futures_util::stream::BoxStream;

use super::{LockMode, StoreError, with_retry};

/// What a bucket enforces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct BucketLock {
    /// Versioning is enabled.
    pub versioning: bool,
    /// Object Lock is enabled.
    pub lock: bool,
    /// The default retention rule: mode and length in days (years counted as 365 days).
    pub default_retention: Option<(LockMode, i64)>,
}

/// An object as HeadObject sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Head {
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

/// How to lock what we upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lock {
    /// COMPLIANCE or GOVERNANCE; `None` for an unlocked bucket (`--allow-unlocked`).
    pub mode: Option<LockMode>,
    /// Retain-until, Unix seconds.
    pub retain_until: i64,
}

/// Whether a conditional write (`If-None-Match: *`) happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Put {
    /// Written.
    Written,
    /// Refused: the key exists.
    Exists,
}

/// What a PutObject sends.
#[derive(Debug, Clone, Copy)]
pub(crate) enum PutBody<'a> {
    /// A local file, streamed.
    File(&'a Path),
    /// Bytes in memory.
    Bytes(&'a [u8]),
}

/// A conditional PutObject: written only if the key is free, with a SHA-256 checksum the
/// store must check and, when `lock.mode` is set, an Object Lock retention.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PutRequest<'a> {
    /// The bucket.
    pub bucket: &'a str,
    /// The key.
    pub key: &'a str,
    /// The bytes.
    pub body: PutBody<'a>,
    /// SHA-256 of the bytes.
    pub sha256: &'a [u8],
    /// The retention to set.
    pub lock: &'a Lock,
    /// `Content-Type`, when not the store's default.
    pub content_type: Option<&'a str>,
    /// A multipart upload in parts of this size, each with its own SHA-256 (a file body;
    /// `sha256` is then not sent), aborted on any failure.
    pub part_size: Option<usize>,
}

/// PutObjectRetention on one version (the current one when `version` is `None`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RetentionRequest<'a> {
    /// The bucket.
    pub bucket: &'a str,
    /// The key.
    pub key: &'a str,
    /// The version.
    pub version: Option<&'a str>,
    /// The mode.
    pub mode: LockMode,
    /// Retain-until, Unix seconds.
    pub retain_until: i64,
}

/// One page of a listing under `prefix`, starting after `from` (the first page: `None`).
#[derive(Debug, Clone)]
pub(crate) struct ListRequest<'a, M> {
    /// The bucket.
    pub bucket: &'a str,
    /// The key prefix.
    pub prefix: &'a str,
    /// Where the page starts: the previous page's [`ListPage::next`].
    pub from: Option<M>,
}

/// A GetObject: the current version, or one version, or the current one only if its ETag
/// still matches.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GetRequest<'a> {
    /// The bucket.
    pub bucket: &'a str,
    /// The key.
    pub key: &'a str,
    /// This version.
    pub version_id: Option<&'a str>,
    /// `If-Match`.
    pub if_match: Option<&'a str>,
}

/// A GetObject's answer: the headers, and the body as it streams in (an `Err` item is the
/// body breaking off, with its cause).
pub(crate) struct GetOutput {
    /// Version id.
    pub version_id: Option<String>,
    /// ETag.
    pub etag: Option<String>,
    /// Lock mode.
    pub lock_mode: Option<String>,
    /// Retain-until, Unix seconds.
    pub retain_until: Option<i64>,
    /// The announced `Content-Length`.
    pub content_length: Option<u64>,
    /// `x-amz-checksum-sha256` (base64; `-N` composite for multipart uploads).
    pub checksum_sha256: Option<String>,
    /// The body.
    pub body: BoxStream<'static, Result<bytes::Bytes, String>>,
}

/// One version (or delete marker) of a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VersionEntry {
    /// The key.
    pub key: String,
    /// The version id.
    pub version_id: String,
    /// Whether it is the current version.
    pub is_latest: bool,
    /// Whether it is a delete marker.
    pub delete_marker: bool,
}

/// Where a ListObjectVersions page starts: key marker and version id marker.
pub(crate) type VersionMarker = (String, Option<String>);

/// One page of a listing and where the next one starts (`None`: the last page).
#[derive(Debug, Clone)]
pub(crate) struct ListPage<T, M> {
    /// The entries.
    pub items: Vec<T>,
    /// The continuation.
    pub next: Option<M>,
}

/// A page of ListObjectsV2: keys, and the continuation token.
pub(crate) type KeyPage = ListPage<String, String>;

/// A page of ListObjectVersions.
pub(crate) type VersionPage = ListPage<VersionEntry, VersionMarker>;

/// An S3-like object store. Methods do one S3 call each (a multipart upload counts as one);
/// none retries.
///
/// # Errors
/// Every method fails with a [`StoreError`] whose [`FailureKind`](super::FailureKind) says
/// what the callers may do: [`FailureKind::Transient`](super::FailureKind::Transient) errors
/// are retried by [`with_retry`] and `get_verified`.
pub(crate) trait ObjectStore {
    /// One page of ListObjectsV2.
    async fn list_page(&self, req: ListRequest<'_, String>) -> Result<KeyPage, StoreError>;

    /// One page of ListObjectVersions.
    async fn list_versions_page(&self, req: ListRequest<'_, VersionMarker>) -> Result<VersionPage, StoreError>;

    /// HeadObject with checksums; `None` when the key does not exist.
    async fn head(&self, bucket: &str, key: &str) -> Result<Option<Head>, StoreError>;

    /// GetObject with checksums ([`FailureKind::NotFound`](super::FailureKind::NotFound) when
    /// the key does not exist).
    async fn get(&self, req: GetRequest<'_>) -> Result<GetOutput, StoreError>;

    /// A conditional PutObject or multipart upload ([`Put::Exists`] when the key is taken).
    async fn put(&self, req: PutRequest<'_>) -> Result<Put, StoreError>;

    /// PutObjectRetention.
    async fn set_retention(&self, req: RetentionRequest<'_>) -> Result<(), StoreError>;

    /// The bucket's versioning and Object Lock configuration.
    async fn bucket_lock(&self, bucket: &str) -> Result<BucketLock, StoreError>;

    /// Every key under `prefix`, page after page, each page retried ([`with_retry`]).
    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, StoreError> {
        let what = format!("s3://{bucket}/{prefix} (ListObjectsV2)");
        all_pages(&what, |from| self.list_page(ListRequest { bucket, prefix, from })).await
    }

    /// Every version and delete marker under `prefix`, page after page, each page retried.
    async fn list_versions(&self, bucket: &str, prefix: &str) -> Result<Vec<VersionEntry>, StoreError> {
        let what = format!("s3://{bucket}/{prefix} (ListObjectVersions)");
        all_pages(&what, |from| self.list_versions_page(ListRequest { bucket, prefix, from })).await
    }
}

/// The items of every page `page` returns, from the first until one has no continuation.
async fn all_pages<T, M, F, Fut>(what: &str, mut page: F) -> Result<Vec<T>, StoreError>
where
    M: Clone,
    F: FnMut(Option<M>) -> Fut,
    Fut: Future<Output = Result<ListPage<T, M>, StoreError>>,
{
    let mut all = Vec::new();
    let mut from: Option<M> = None;
    loop {
        let next = with_retry(what, || page(from.clone())).await?;
        all.extend(next.items);
        from = next.next;
        if from.is_none() {
            return Ok(all);
        }
    }
}
