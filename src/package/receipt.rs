//! `archive-receipt.json` as a type: where `archive` stored each file of a package, which
//! version, under which lock. Written by `archive` into the package folder and beside the
//! objects; read by `verify s3://`.

use serde::{Deserialize, Serialize};

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
