//! Reading S3 so that what we keep is what S3 holds: [`with_retry`] repeats a call that failed
//! transiently, and [`get_verified`] streams one object, pinned to the version (else the ETag)
//! of its first response, checking the announced length and the SHA-256 checksum, and starting
//! over when the body breaks off — the SDK retries requests, but not a body cut mid-stream.

use std::path::Path;
use std::time::Duration;

use futures_util::TryStreamExt as _;
use sha2::Digest as _;

use super::{FailureKind, GetOutput, GetRequest, ObjectStore, StoreError, b64};

/// Attempts per S3 read before giving up: a GetObject whose body breaks mid-stream, or a
/// request that still fails transiently after the SDK's own retries.
pub(crate) const READ_ATTEMPTS: u32 = 5;

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
fn backoff(base: Duration, retry: u32, what: &str) -> Duration {
    let exp = base.saturating_mul(1u32 << retry.saturating_sub(1).min(16));
    let seed = what.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    let jitter = fastrand::Rng::with_seed(seed ^ u64::from(retry)).f64();
    exp + exp.mul_f64(jitter)
}

/// Runs an S3 call up to [`READ_ATTEMPTS`] times while it fails transiently (the SDK has
/// retried each attempt already), waiting [`backoff`] between attempts.
///
/// # Errors
/// The last error, with `; gave up after N attempts` when there were several.
pub(crate) async fn with_retry<T, F, Fut>(what: &str, mut call: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    let base = retry_base();
    let mut attempts = 1;
    loop {
        match call().await {
            Err(error) if attempts < READ_ATTEMPTS && error.is_transient() => {
                tracing::warn!("{what}: {} (attempt {attempts} of {READ_ATTEMPTS}); retrying", error.describe());
                tokio::time::sleep(backoff(base, attempts, what)).await;
                attempts += 1;
            }
            Ok(v) => return Ok(v),
            Err(error) => return Err(error.gave_up(attempts)),
        }
    }
}

/// Where [`get_verified`] puts an object's bytes.
pub(crate) enum Dest<'a> {
    /// A file, created (or truncated) at every attempt.
    File(&'a Path),
    /// Memory, cleared at every attempt.
    Memory(&'a mut Vec<u8>),
}

/// An object read by [`get_verified`].
#[derive(Debug, Clone)]
pub(crate) struct Got {
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
    Fatal(StoreError),
}

/// What the first response named: every later attempt must read the same object.
#[derive(Default)]
struct PinnedTo {
    pinned: bool,
    version: Option<String>,
    etag: Option<String>,
}

impl PinnedTo {
    fn request<'a>(&'a self, bucket: &'a str, key: &'a str) -> GetRequest<'a> {
        let version_id = self.version.as_deref();
        let if_match = if version_id.is_none() { self.etag.as_deref() } else { None };
        GetRequest { bucket, key, version_id, if_match }
    }
}

/// `ObjectChanged` on `s3://bucket/key`: a later attempt met another object.
fn changed(bucket: &str, key: &str, message: String) -> StoreError {
    StoreError::s3(bucket, key, "GetObject", "ObjectChanged", message, FailureKind::Other)
}

/// GetObject of `key` into `dest`, with checksums requested; `Ok(None)` when the key does not
/// exist. Up to [`READ_ATTEMPTS`] attempts with exponential back-off and jitter, each
/// rewriting `dest` from the start. Every attempt after the first asks for the version id
/// (else the ETag, `If-Match`) of the first response, so a changed object cannot slip in.
/// What is kept has the announced length and, when S3 reports a full-object
/// `x-amz-checksum-sha256`, that digest.
///
/// # Errors
/// [`StoreError::S3`] naming the key and the last error, after the attempts or at once for
/// errors that a retry cannot cure (access denied, …); [`StoreError::Io`] for `dest`.
pub(crate) async fn get_verified<S: ObjectStore>(
    store: &S,
    bucket: &str,
    key: &str,
    mut dest: Dest<'_>,
) -> Result<Option<Got>, StoreError> {
    let base = retry_base();
    let mut pin = PinnedTo::default();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let fetched_at = crate::time::Timestamp::now();
        let last = match store.get(pin.request(bucket, key)).await {
            Ok(out) => {
                if !pin.pinned {
                    pin = PinnedTo { pinned: true, version: out.version_id.clone(), etag: out.etag.clone() };
                } else if out.etag.is_some() && out.etag != pin.etag {
                    return Err(changed(
                        bucket,
                        key,
                        format!(
                            ": ETag {} on attempt {attempts}, {} on the first; the object changed while it was read",
                            out.etag.as_deref().unwrap_or("?"),
                            pin.etag.as_deref().unwrap_or("?")
                        ),
                    ));
                }
                match read_body(out, &mut dest, fetched_at).await {
                    Ok(got) => return Ok(Some(got)),
                    Err(AttemptError::Fatal(e)) => return Err(e),
                    Err(AttemptError::Transient(m)) => {
                        StoreError::s3(bucket, key, "GetObject", "ReadError", format!(": {m}"), FailureKind::Transient)
                    }
                }
            }
            Err(e) if !pin.pinned && e.kind() == FailureKind::NotFound => return Ok(None),
            Err(e) if e.is_transient() => e,
            Err(e) if e.kind() == FailureKind::PreconditionFailed => {
                return Err(changed(
                    bucket,
                    key,
                    format!(
                        ": ETag {} no longer matches on attempt {attempts}; the object changed while it was read",
                        pin.etag.as_deref().unwrap_or("?")
                    ),
                ));
            }
            Err(e) => return Err(e),
        };
        if attempts >= READ_ATTEMPTS {
            return Err(last.gave_up(attempts));
        }
        tracing::warn!("{last} (attempt {attempts} of {READ_ATTEMPTS}); retrying");
        tokio::time::sleep(backoff(base, attempts, key)).await;
    }
}

/// Opens what `dest` names for a new attempt: a file created afresh, or memory cleared.
async fn open_dest(dest: &mut Dest<'_>) -> Result<Option<tokio::fs::File>, AttemptError> {
    match dest {
        Dest::File(path) => {
            let io = |e: std::io::Error| AttemptError::Fatal(StoreError::io(path, e));
            if let Some(parent) = path.parent() {
                tokio::fs::create_dir_all(parent).await.map_err(io)?;
            }
            Ok(Some(tokio::fs::File::create(path).await.map_err(io)?))
        }
        Dest::Memory(buf) => {
            buf.clear();
            Ok(None)
        }
    }
}

/// Reads one GetObject body into `dest`, hashing it, and checks length and checksum.
async fn read_body(
    out: GetOutput,
    dest: &mut Dest<'_>,
    fetched_at: crate::time::Timestamp,
) -> Result<Got, AttemptError> {
    use tokio::io::AsyncWriteExt as _;
    let mut got = Got {
        version_id: out.version_id,
        etag: out.etag,
        lock_mode: out.lock_mode,
        retain_until: out.retain_until,
        size: 0,
        sha256: [0; 32],
        fetched_at,
    };
    let mut file = open_dest(dest).await?;
    let shown = match dest {
        Dest::File(path) => path.to_path_buf(),
        Dest::Memory(_) => std::path::PathBuf::from("memory"),
    };
    let write_err = |e: std::io::Error| AttemptError::Fatal(StoreError::io(&shown, e));
    let mut body = out.body;
    let mut hasher = sha2::Sha256::new();
    loop {
        let chunk = match body.try_next().await {
            Ok(Some(c)) => c,
            Ok(None) => break,
            Err(e) => {
                return Err(AttemptError::Transient(format!("the body broke off after {} bytes: {e}", got.size)));
            }
        };
        hasher.update(&chunk);
        got.size += chunk.len() as u64;
        match (&mut file, &mut *dest) {
            (Some(f), _) => f.write_all(&chunk).await.map_err(write_err)?,
            (None, Dest::Memory(buf)) => buf.extend_from_slice(&chunk),
            (None, Dest::File(_)) => {}
        }
    }
    if let Some(f) = &mut file {
        f.flush().await.map_err(write_err)?;
    }
    if let Some(n) = out.content_length.filter(|n| *n != got.size) {
        return Err(AttemptError::Transient(format!("S3 announced {n} bytes but sent {}", got.size)));
    }
    got.sha256 = hasher.finalize().into();
    if let Some(c) = out.checksum_sha256.filter(|c| !c.contains('-')) {
        let ours = b64(&got.sha256);
        if c != ours {
            return Err(AttemptError::Transient(format!(
                "SHA-256 {ours} of the download differs from x-amz-checksum-sha256 {c}"
            )));
        }
    }
    Ok(got)
}
