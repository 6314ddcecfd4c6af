//! Test stores (unit tests only): [`MemoryStore`], an S3 bucket in memory — versions, delete
//! markers, Object Lock retention with S3's rules for changing it, conditional writes and
//! SHA-256 checksums checked on upload — and [`FailingStore`], which wraps another store and
//! injects faults (errors of a kind, truncated or corrupted bodies, calls that are silently
//! ignored) per operation, on every call or the Nth ones. The shape follows mountpoint-s3's
//! mock and failure clients; nothing here talks to a network.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use futures_util::TryStreamExt as _;
use sha2::Digest as _;

use super::{
    BucketLock, FailureKind, GetOutput, GetRequest, Head, KeyPage, ListPage, ListRequest, Lock, LockMode, ObjectStore,
    Put, PutBody, PutRequest, RetentionRequest, StoreError, VersionEntry, VersionMarker, VersionPage, b64,
    composite_checksum,
};

/// One stored version (or delete marker).
#[derive(Debug, Clone)]
struct Version {
    id: String,
    bytes: Vec<u8>,
    checksum: Option<String>,
    lock_mode: Option<LockMode>,
    retain_until: Option<i64>,
    delete_marker: bool,
}

impl Version {
    fn head(&self) -> Head {
        Head {
            size: self.bytes.len() as u64,
            checksum_sha256: self.checksum.clone(),
            version_id: Some(self.id.clone()),
            etag: Some(format!("\"etag-{}\"", self.id)),
            lock_mode: self.lock_mode.map(|m| m.as_str().to_owned()),
            retain_until: self.retain_until,
        }
    }
}

#[derive(Debug, Default)]
struct State {
    /// (bucket, key) → versions, oldest first.
    objects: BTreeMap<(String, String), Vec<Version>>,
    next_version: u64,
}

impl State {
    fn add(&mut self, bucket: &str, key: &str, mut version: Version) -> String {
        self.next_version += 1;
        version.id = format!("v{}", self.next_version);
        let id = version.id.clone();
        self.objects.entry((bucket.to_owned(), key.to_owned())).or_default().push(version);
        id
    }

    /// The current version, unless the key is absent or deleted.
    fn current(&self, bucket: &str, key: &str) -> Option<&Version> {
        let v = self.objects.get(&(bucket.to_owned(), key.to_owned()))?.last()?;
        (!v.delete_marker).then_some(v)
    }
}

/// An S3 bucket (or several) in memory, with the same versioning and Object Lock settings.
#[derive(Debug)]
pub(crate) struct MemoryStore {
    state: Mutex<State>,
    config: BucketLock,
    page_size: usize,
}

impl MemoryStore {
    /// Buckets with versioning and Object Lock, no default retention.
    pub(crate) fn locked() -> MemoryStore {
        MemoryStore::with_config(BucketLock { versioning: true, lock: true, default_retention: None })
    }

    /// Buckets configured as `config` says.
    pub(crate) fn with_config(config: BucketLock) -> MemoryStore {
        MemoryStore { state: Mutex::new(State::default()), config, page_size: 1000 }
    }

    /// Listings of at most `n` entries per page.
    pub(crate) fn with_page_size(mut self, n: usize) -> MemoryStore {
        self.page_size = n.max(1);
        self
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Writes a new version of `key` (whatever is there), with a full SHA-256 checksum and the
    /// retention given; returns its version id.
    pub(crate) fn insert(&self, bucket: &str, key: &str, bytes: &[u8], lock: Option<(LockMode, i64)>) -> String {
        let version = Version {
            id: String::new(),
            bytes: bytes.to_vec(),
            checksum: Some(b64(&sha2::Sha256::digest(bytes))),
            lock_mode: lock.map(|l| l.0),
            retain_until: lock.map(|l| l.1),
            delete_marker: false,
        };
        self.state().add(bucket, key, version)
    }

    /// Puts a delete marker on `key`.
    pub(crate) fn delete(&self, bucket: &str, key: &str) {
        let marker = Version {
            id: String::new(),
            bytes: Vec::new(),
            checksum: None,
            lock_mode: None,
            retain_until: None,
            delete_marker: true,
        };
        self.state().add(bucket, key, marker);
    }

    /// The current bytes and what HeadObject says of `key`.
    pub(crate) fn current(&self, bucket: &str, key: &str) -> Option<(Vec<u8>, Head)> {
        self.state().current(bucket, key).map(|v| (v.bytes.clone(), v.head()))
    }

    /// Versions and delete markers of `key`.
    pub(crate) fn version_count(&self, bucket: &str, key: &str) -> usize {
        self.state().objects.get(&(bucket.to_owned(), key.to_owned())).map_or(0, Vec::len)
    }

    /// Every key with a current version under `bucket`.
    pub(crate) fn keys(&self, bucket: &str) -> Vec<String> {
        let state = self.state();
        let all = state.objects.keys().filter(|(b, _)| b == bucket);
        all.filter(|(b, k)| state.current(b, k).is_some()).map(|(_, k)| k.clone()).collect()
    }
}

/// `NoSuchKey`, as S3 says it.
fn not_found(bucket: &str, key: &str, operation: &'static str) -> StoreError {
    StoreError::s3(bucket, key, operation, "NoSuchKey", ": The specified key does not exist.", FailureKind::NotFound)
}

fn chunked(bytes: Vec<u8>) -> futures_util::stream::BoxStream<'static, Result<bytes::Bytes, String>> {
    let chunks: Vec<Result<bytes::Bytes, String>> =
        bytes.chunks(5).map(|c| Ok(bytes::Bytes::copy_from_slice(c))).collect();
    Box::pin(futures_util::stream::iter(chunks))
}

impl ObjectStore for MemoryStore {
    async fn list_page(&self, req: ListRequest<'_, String>) -> Result<KeyPage, StoreError> {
        let after = |k: &String| req.from.as_ref().is_none_or(|t| k > t);
        let keys: Vec<String> =
            self.keys(req.bucket).into_iter().filter(|k| k.starts_with(req.prefix) && after(k)).collect();
        let more = keys.len() > self.page_size;
        let items: Vec<String> = keys.into_iter().take(self.page_size).collect();
        let next = if more { items.last().cloned() } else { None };
        Ok(ListPage { items, next })
    }

    async fn list_versions_page(&self, req: ListRequest<'_, VersionMarker>) -> Result<VersionPage, StoreError> {
        let state = self.state();
        let mut all = Vec::new();
        for ((b, key), versions) in &state.objects {
            if b != req.bucket || !key.starts_with(req.prefix) {
                continue;
            }
            for (i, v) in versions.iter().enumerate().rev() {
                let is_latest = i + 1 == versions.len();
                let (key, version_id) = (key.clone(), v.id.clone());
                all.push(VersionEntry { key, version_id, is_latest, delete_marker: v.delete_marker });
            }
        }
        let start = match &req.from {
            Some((k, v)) => {
                all.iter().position(|e| &e.key == k && Some(&e.version_id) == v.as_ref()).map_or(0, |i| i + 1)
            }
            None => 0,
        };
        let rest = &all[start..];
        let items: Vec<VersionEntry> = rest.iter().take(self.page_size).cloned().collect();
        let next = (rest.len() > self.page_size)
            .then(|| items.last().map(|e| (e.key.clone(), Some(e.version_id.clone()))))
            .flatten();
        Ok(ListPage { items, next })
    }

    async fn head(&self, bucket: &str, key: &str) -> Result<Option<Head>, StoreError> {
        Ok(self.state().current(bucket, key).map(Version::head))
    }

    async fn get(&self, req: GetRequest<'_>) -> Result<GetOutput, StoreError> {
        let (bucket, key) = (req.bucket, req.key);
        let state = self.state();
        let version = match req.version_id {
            Some(id) => {
                let versions = state.objects.get(&(bucket.to_owned(), key.to_owned()));
                let found = versions.and_then(|vs| vs.iter().find(|v| v.id == id && !v.delete_marker));
                let message = ": The specified version does not exist.";
                found.ok_or_else(|| {
                    StoreError::s3(bucket, key, "GetObject", "NoSuchVersion", message, FailureKind::Other)
                })?
            }
            None => state.current(bucket, key).ok_or_else(|| not_found(bucket, key, "GetObject"))?,
        };
        let head = version.head();
        if req.if_match.is_some_and(|m| Some(m) != head.etag.as_deref()) {
            let message = ": At least one of the pre-conditions you specified did not hold";
            return Err(StoreError::s3(
                bucket,
                key,
                "GetObject",
                "PreconditionFailed",
                message,
                FailureKind::PreconditionFailed,
            ));
        }
        Ok(GetOutput {
            version_id: head.version_id,
            etag: head.etag,
            lock_mode: head.lock_mode,
            retain_until: head.retain_until,
            content_length: Some(head.size),
            checksum_sha256: head.checksum_sha256,
            body: chunked(version.bytes.clone()),
        })
    }

    async fn put(&self, req: PutRequest<'_>) -> Result<Put, StoreError> {
        let (bucket, key) = (req.bucket, req.key);
        let bytes = match req.body {
            PutBody::File(path) => std::fs::read(path).map_err(|e| StoreError::io(path, e))?,
            PutBody::Bytes(b) => b.to_vec(),
        };
        let sha = sha2::Sha256::digest(&bytes);
        let checksum = match (req.part_size, req.body) {
            (Some(part_size), PutBody::File(path)) => {
                composite_checksum(path, part_size).map_err(|e| StoreError::io(path, e))?
            }
            _ if sha.as_slice() != req.sha256 => {
                let message = ": The SHA256 you specified did not match the calculated checksum.";
                return Err(StoreError::s3(bucket, key, "PutObject", "BadDigest", message, FailureKind::Other));
            }
            _ => b64(&sha),
        };
        let (lock_mode, retain_until) = (req.lock.mode, req.lock.mode.map(|_| req.lock.retain_until));
        let version = Version {
            id: String::new(),
            bytes,
            checksum: Some(checksum),
            lock_mode,
            retain_until,
            delete_marker: false,
        };
        if lock_mode.is_some() && !self.config.lock {
            let message = ": Bucket is missing Object Lock Configuration";
            return Err(StoreError::s3(bucket, key, "PutObject", "InvalidRequest", message, FailureKind::Other));
        }
        let mut state = self.state();
        if state.current(bucket, key).is_some() {
            return Ok(Put::Exists);
        }
        state.add(bucket, key, version);
        Ok(Put::Written)
    }

    async fn set_retention(&self, req: RetentionRequest<'_>) -> Result<(), StoreError> {
        let (bucket, key) = (req.bucket, req.key);
        let mut state = self.state();
        let versions = state.objects.get_mut(&(bucket.to_owned(), key.to_owned()));
        let target = versions.and_then(|vs| match req.version {
            Some(id) => vs.iter_mut().find(|v| v.id == id),
            None => vs.last_mut(),
        });
        let Some(v) = target.filter(|v| !v.delete_marker) else {
            return Err(not_found(bucket, key, "PutObjectRetention"));
        };
        // S3's rules without a governance bypass: a retention can be lengthened, and
        // GOVERNANCE turned into COMPLIANCE, never the reverse.
        let shorter = v.retain_until.is_some_and(|t| req.retain_until < t);
        let weaker = v.lock_mode == Some(LockMode::Compliance) && req.mode == LockMode::Governance;
        if shorter || weaker {
            return Err(StoreError::s3(
                bucket,
                key,
                "PutObjectRetention",
                "AccessDenied",
                ": Access Denied",
                FailureKind::Other,
            ));
        }
        v.lock_mode = Some(req.mode);
        v.retain_until = Some(req.retain_until);
        Ok(())
    }

    async fn bucket_lock(&self, _bucket: &str) -> Result<BucketLock, StoreError> {
        Ok(self.config.clone())
    }
}

/// An operation of [`ObjectStore`], for [`FailingStore`] rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Op {
    List,
    ListVersions,
    Head,
    Get,
    Put,
    SetRetention,
    BucketLock,
}

/// Which calls of an operation a rule hits (counted from 1, per operation).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Calls {
    /// Every call.
    All,
    /// The first `n` calls.
    First(u32),
    /// The `n`th call only.
    Nth(u32),
}

/// What happens to a call a rule hits.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Fault {
    /// It fails with an error of this kind (`SlowDown`, `AccessDenied`, …).
    Fail(FailureKind),
    /// (Get) the body ends after this many bytes; the announced length stays.
    Truncate(usize),
    /// (Get) the body's first byte is flipped; (Head) the checksum is another one.
    Corrupt,
    /// (Put, SetRetention) the call succeeds but the lock is not applied, as stores that
    /// ignore Object Lock headers do.
    IgnoreLock,
}

/// A store that injects faults into another one.
#[derive(Debug)]
pub(crate) struct FailingStore<S> {
    inner: S,
    rules: Vec<(Op, Calls, Fault)>,
    calls: Mutex<HashMap<Op, u32>>,
}

impl<S: ObjectStore> FailingStore<S> {
    /// `inner` without faults yet.
    pub(crate) fn new(inner: S) -> FailingStore<S> {
        FailingStore { inner, rules: Vec::new(), calls: Mutex::new(HashMap::new()) }
    }

    /// Adds a rule; the first rule that hits a call decides.
    pub(crate) fn on(mut self, op: Op, calls: Calls, fault: Fault) -> FailingStore<S> {
        self.rules.push((op, calls, fault));
        self
    }

    /// The wrapped store.
    pub(crate) fn inner(&self) -> &S {
        &self.inner
    }

    /// How many times `op` was called.
    pub(crate) fn count(&self, op: Op) -> u32 {
        self.calls.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&op).copied().unwrap_or(0)
    }

    /// Counts a call of `op` and returns the fault for it, if any.
    fn fault(&self, op: Op) -> Option<Fault> {
        let n = {
            let mut calls = self.calls.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let n = calls.entry(op).or_insert(0);
            *n += 1;
            *n
        };
        self.rules.iter().find_map(|(o, calls, fault)| {
            let hit = match calls {
                Calls::All => true,
                Calls::First(k) => n <= *k,
                Calls::Nth(k) => n == *k,
            };
            (*o == op && hit).then_some(*fault)
        })
    }
}

/// The error a [`Fault::Fail`] stands for.
fn injected(bucket: &str, key: &str, operation: &'static str, kind: FailureKind) -> StoreError {
    let (code, message) = match kind {
        FailureKind::Transient => ("SlowDown", ": Please reduce your request rate."),
        FailureKind::NotFound => ("NoSuchKey", ": The specified key does not exist."),
        FailureKind::PreconditionFailed => ("PreconditionFailed", ": At least one of the pre-conditions did not hold"),
        _ => ("AccessDenied", ": Access Denied"),
    };
    StoreError::s3(bucket, key, operation, code, message, kind)
}

impl<S: ObjectStore> FailingStore<S> {
    /// Counts a call of `op` on `s3://bucket/key`: an error for [`Fault::Fail`], else the
    /// fault to apply, if any.
    fn call(&self, op: Op, bucket: &str, key: &str, operation: &'static str) -> Result<Option<Fault>, StoreError> {
        match self.fault(op) {
            Some(Fault::Fail(kind)) => Err(injected(bucket, key, operation, kind)),
            other => Ok(other),
        }
    }
}

impl<S: ObjectStore> ObjectStore for FailingStore<S> {
    async fn list_page(&self, req: ListRequest<'_, String>) -> Result<KeyPage, StoreError> {
        self.call(Op::List, req.bucket, req.prefix, "ListObjectsV2")?;
        self.inner.list_page(req).await
    }

    async fn list_versions_page(&self, req: ListRequest<'_, VersionMarker>) -> Result<VersionPage, StoreError> {
        self.call(Op::ListVersions, req.bucket, req.prefix, "ListObjectVersions")?;
        self.inner.list_versions_page(req).await
    }

    async fn head(&self, bucket: &str, key: &str) -> Result<Option<Head>, StoreError> {
        let fault = self.call(Op::Head, bucket, key, "HeadObject")?;
        let head = self.inner.head(bucket, key).await?;
        Ok(head.map(|h| match fault {
            Some(Fault::Corrupt) => Head { checksum_sha256: Some(b64(&[0; 32])), ..h },
            _ => h,
        }))
    }

    async fn get(&self, req: GetRequest<'_>) -> Result<GetOutput, StoreError> {
        let fault = self.call(Op::Get, req.bucket, req.key, "GetObject")?;
        let mut out = self.inner.get(req).await?;
        let mut bytes: Vec<u8> = out
            .body
            .try_fold(Vec::new(), |mut all, chunk| async move {
                all.extend_from_slice(&chunk);
                Ok(all)
            })
            .await
            .unwrap_or_default();
        match fault {
            Some(Fault::Truncate(n)) => bytes.truncate(n),
            Some(Fault::Corrupt) if !bytes.is_empty() => bytes[0] ^= 0xff,
            _ => {}
        }
        out.body = chunked(bytes);
        Ok(out)
    }

    async fn put(&self, req: PutRequest<'_>) -> Result<Put, StoreError> {
        let fault = self.call(Op::Put, req.bucket, req.key, "PutObject")?;
        let unlocked = Lock { mode: None, retain_until: 0 };
        let lock = if matches!(fault, Some(Fault::IgnoreLock)) { &unlocked } else { req.lock };
        self.inner.put(PutRequest { lock, ..req }).await
    }

    async fn set_retention(&self, req: RetentionRequest<'_>) -> Result<(), StoreError> {
        match self.call(Op::SetRetention, req.bucket, req.key, "PutObjectRetention")? {
            Some(Fault::IgnoreLock) => Ok(()),
            _ => self.inner.set_retention(req).await,
        }
    }

    async fn bucket_lock(&self, bucket: &str) -> Result<BucketLock, StoreError> {
        self.call(Op::BucketLock, bucket, "", "GetObjectLockConfiguration")?;
        self.inner.bucket_lock(bucket).await
    }
}

/// Runs `f` on a current-thread runtime whose clock is paused, so retry back-offs take no
/// real time.
pub(crate) fn block_on<F: Future>(f: F) -> F::Output {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build();
    rt.expect("a test runtime").block_on(f)
}

#[cfg(test)]
mod tests {
    use super::super::{Dest, get_verified};
    use super::*;

    #[test]
    fn get_verified_retries_a_truncated_body_then_reads_the_same_version() {
        let mem = MemoryStore::locked();
        let v1 = mem.insert("b", "k", b"hello, evidence", None);
        let store = FailingStore::new(mem).on(Op::Get, Calls::First(2), Fault::Truncate(3));
        let mut bytes = Vec::new();
        let got = block_on(get_verified(&store, "b", "k", Dest::Memory(&mut bytes))).unwrap().unwrap();
        assert_eq!(bytes, b"hello, evidence");
        assert_eq!(got.version_id.as_deref(), Some(v1.as_str()));
        assert_eq!(store.count(Op::Get), 3);
    }

    #[test]
    fn get_verified_gives_up_after_the_attempts_and_says_so() {
        let mem = MemoryStore::locked();
        mem.insert("b", "k", b"hello", None);
        let store = FailingStore::new(mem).on(Op::Get, Calls::All, Fault::Corrupt);
        let mut bytes = Vec::new();
        let e = block_on(get_verified(&store, "b", "k", Dest::Memory(&mut bytes))).unwrap_err();
        let text = e.to_string();
        assert!(text.starts_with("s3://b/k: ReadError: SHA-256"), "{text}");
        assert!(text.ends_with("gave up after 5 attempts (GetObject)"), "{text}");
        assert_eq!(store.count(Op::Get), super::super::read::READ_ATTEMPTS);
    }

    #[test]
    fn get_verified_absent_key_is_none_and_denied_is_not_retried() {
        let store = FailingStore::new(MemoryStore::locked());
        let mut bytes = Vec::new();
        assert!(block_on(get_verified(&store, "b", "k", Dest::Memory(&mut bytes))).unwrap().is_none());
        let store = store.on(Op::Get, Calls::All, Fault::Fail(FailureKind::Other));
        let e = block_on(get_verified(&store, "b", "k", Dest::Memory(&mut bytes))).unwrap_err();
        assert_eq!(e.to_string(), "s3://b/k: AccessDenied: Access Denied (GetObject)");
        assert_eq!(store.count(Op::Get), 2);
    }

    #[test]
    fn listings_page_through_and_retry_a_page() {
        let mem = MemoryStore::locked().with_page_size(2);
        for k in ["p/a", "p/b", "p/c", "p/d", "p/e", "q/x"] {
            mem.insert("b", k, k.as_bytes(), None);
        }
        mem.insert("b", "p/a", b"again", None);
        mem.delete("b", "p/e");
        let store = FailingStore::new(mem).on(Op::List, Calls::Nth(2), Fault::Fail(FailureKind::Transient));
        let keys = block_on(store.list("b", "p/")).unwrap();
        assert_eq!(keys, ["p/a", "p/b", "p/c", "p/d"]);
        assert_eq!(store.count(Op::List), 3);
        let versions = block_on(store.list_versions("b", "p/")).unwrap();
        assert_eq!(versions.len(), 7);
        assert_eq!(versions.iter().filter(|v| v.delete_marker).count(), 1);
        assert_eq!(versions.iter().filter(|v| v.key == "p/a" && v.is_latest).count(), 1);
    }

    #[test]
    fn retention_can_be_lengthened_never_shortened_or_weakened() {
        let mem = MemoryStore::locked();
        mem.insert("b", "k", b"x", Some((LockMode::Compliance, 100)));
        let retention =
            |mode, retain_until| RetentionRequest { bucket: "b", key: "k", version: None, mode, retain_until };
        block_on(mem.set_retention(retention(LockMode::Compliance, 200))).unwrap();
        assert!(block_on(mem.set_retention(retention(LockMode::Compliance, 150))).is_err());
        assert!(block_on(mem.set_retention(retention(LockMode::Governance, 300))).is_err());
        assert_eq!(mem.current("b", "k").unwrap().1.retain_until, Some(200));
    }
}
