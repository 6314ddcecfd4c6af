//! The crate's S3 toolkit, below every stage that reads or writes S3 (`source`, `collect`,
//! `archive`, `verify`): `s3://` locations, client set-up, error description ([`StoreError`]:
//! object, operation, S3 code, whether a retry may help), retries, and the object store the
//! stages talk to.
//!
//! The stages never call the AWS SDK. They speak to an [`ObjectStore`] (one method per S3
//! operation, each returning this module's own small types and a [`StoreError`]), and the logic
//! they share sits above that trait, written once:
//!
//! * [`ObjectStore::list`] and [`ObjectStore::list_versions`] page through a listing, each page
//!   retried with [`with_retry`];
//! * [`get_verified`] streams one object, version-pinned, length- and checksum-checked, and
//!   retried when the body breaks off (`DORA_EVIDENCE_S3_RETRY_BASE_MS` shortens the back-off).
//!
//! [`S3Store`] is the AWS implementation and the only code that touches `aws-sdk-s3` types
//! (`aws.rs`). The test stores — `MemoryStore` (versions, Object Lock retention, conditional
//! writes, checksums) and `FailingStore` (errors, truncated or corrupted bodies per operation
//! and call count) — live in `testing.rs` and are compiled for unit tests only
//! (`#[cfg(test)]`): the integration tests drive the binary against moto, so nothing outside
//! the crate needs them, and the product carries no test doubles. The shape follows rustic's
//! backends and mountpoint-s3's mock and failure clients: the store does single calls, the
//! callers own the policy.

mod aws;
mod error;
mod read;
mod store;
#[cfg(test)]
pub(crate) mod testing;

pub use aws::{S3Store, check_setup, client, client_for};
pub(crate) use error::chain;
pub use error::{FailureKind, StoreError};
pub(crate) use read::{Dest, get_verified, with_retry};
pub(crate) use store::{
    BucketLock, GetOutput, GetRequest, Head, KeyPage, ListPage, ListRequest, Lock, ObjectStore, Put, PutBody,
    PutRequest, RetentionRequest, VersionEntry, VersionMarker, VersionPage,
};

use std::path::Path;

use base64::Engine as _;
use sha2::Digest as _;

/// An `s3://bucket/prefix` location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    /// The bucket.
    pub bucket: String,
    /// Key prefix without leading or trailing `/` (may be empty).
    pub prefix: String,
}

impl S3Location {
    /// The prefix as keys start with it: empty, or ending with `/`.
    pub fn key_prefix(&self) -> String {
        if self.prefix.is_empty() { String::new() } else { format!("{}/", self.prefix) }
    }
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

/// An Object Lock mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// Nobody can shorten or remove the retention, not even the root user.
    Compliance,
    /// Users with `s3:BypassGovernanceRetention` can.
    Governance,
}

impl LockMode {
    /// `COMPLIANCE` or `GOVERNANCE`, as S3 writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            LockMode::Compliance => "COMPLIANCE",
            LockMode::Governance => "GOVERNANCE",
        }
    }

    /// The mode S3 names `s` (any case); `None` for anything else.
    pub fn parse(s: &str) -> Option<LockMode> {
        match s.to_ascii_uppercase().as_str() {
            "COMPLIANCE" => Some(LockMode::Compliance),
            "GOVERNANCE" => Some(LockMode::Governance),
            _ => None,
        }
    }
}

/// Base64 SHA-256, as S3 writes checksums.
pub fn b64(digest: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(digest)
}

/// The checksum S3 reports for a multipart upload of `path` in `part_size` parts:
/// SHA-256 over the parts' SHA-256 digests, `-N`.
///
/// # Errors
/// When `path` cannot be read.
pub(crate) fn composite_checksum(path: &Path, part_size: usize) -> std::io::Result<String> {
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

/// A current-thread async runtime for one S3 step of a synchronous command.
///
/// # Errors
/// When the runtime cannot start (the message says so).
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, StoreError> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| StoreError::Io {
        path: std::path::PathBuf::from("."),
        message: format!("cannot start the async runtime: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse_and_print() {
        let l: S3Location = "s3://evidence-bucket/dora/archive/".parse().unwrap();
        assert_eq!((l.bucket.as_str(), l.prefix.as_str()), ("evidence-bucket", "dora/archive"));
        assert_eq!(l.key_prefix(), "dora/archive/");
        assert_eq!(l.to_string(), "s3://evidence-bucket/dora/archive");
        assert!("evidence-bucket/x".parse::<S3Location>().is_err());
        assert!("s3:///x".parse::<S3Location>().is_err());
        assert_eq!("s3://b".parse::<S3Location>().unwrap().key_prefix(), "");
    }

    #[test]
    fn lock_modes_round_trip() {
        for m in [LockMode::Compliance, LockMode::Governance] {
            assert_eq!(LockMode::parse(m.as_str()), Some(m));
        }
        assert_eq!(LockMode::parse("governance"), Some(LockMode::Governance));
        assert_eq!(LockMode::parse("none"), None);
    }
}
