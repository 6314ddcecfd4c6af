//! Where snapshots go: a local folder or an S3 prefix, both laid out as
//! `collected/<account>/<region>/<timestamp>/<operation>.json`. Nothing is ever overwritten:
//! local files are linked into place only if the name is free, S3 objects are written with
//! `If-None-Match: *`. A name already taken by the same bytes counts as written (a re-run in
//! the same second); by other bytes it is an error.

use std::path::PathBuf;

use sha2::Digest as _;

use crate::s3::{Dest, Lock, ObjectStore as _, Put, PutBody, PutRequest, S3Location, S3Store, get_verified};
use crate::time::Timestamp;

/// The snapshot store.
#[derive(Debug, Clone)]
pub enum Store {
    /// A local folder (`collected/` is created inside it).
    Local(PathBuf),
    /// An S3 prefix (`collected/` goes below it).
    S3 {
        /// The store (a client with the caller's own credentials).
        store: S3Store,
        /// Bucket and prefix.
        location: S3Location,
    },
}

/// One stored snapshot file of a scope.
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    /// The snapshot time (its folder name).
    pub ts: Timestamp,
    /// The file name, e.g. `list-backup-jobs.json`.
    pub name: String,
    /// Where it is: a path or an S3 key.
    pub key: String,
}

/// The outcome of a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Written {
    /// Written now, at this path or URL.
    New(String),
    /// The same bytes were already there.
    Same(String),
}

impl Store {
    /// `collected/<account>/<region>/` as a path or key prefix.
    fn scope_base(&self, account: &str, region: &str) -> String {
        match self {
            Store::Local(dir) => dir.join("collected").join(account).join(region).display().to_string(),
            Store::S3 { location, .. } => {
                let base = if location.prefix.is_empty() { String::new() } else { format!("{}/", location.prefix) };
                format!("{base}collected/{account}/{region}/")
            }
        }
    }

    /// A human-readable name of the store.
    pub fn describe(&self) -> String {
        match self {
            Store::Local(dir) => dir.display().to_string(),
            Store::S3 { location, .. } => location.to_string(),
        }
    }

    /// Every snapshot file already stored for the scope (any order).
    pub(crate) async fn list(&self, account: &str, region: &str) -> Result<Vec<Stored>, String> {
        let base = self.scope_base(account, region);
        let mut found = Vec::new();
        match self {
            Store::Local(_) => {
                let dirs = match std::fs::read_dir(&base) {
                    Ok(d) => d,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(found),
                    Err(e) => return Err(format!("{base}: {e}")),
                };
                for dir in dirs {
                    let dir = dir.map_err(|e| format!("{base}: {e}"))?;
                    let Some(ts) = dir.file_name().to_str().and_then(|n| Timestamp::parse(n).ok()) else { continue };
                    let path = dir.path();
                    let files = std::fs::read_dir(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                    for file in files {
                        let file = file.map_err(|e| format!("{}: {e}", path.display()))?;
                        let Some(name) = file.file_name().to_str().map(str::to_owned) else { continue };
                        if name.ends_with(".json") && !name.starts_with('.') {
                            found.push(Stored { ts, name, key: file.path().display().to_string() });
                        }
                    }
                }
            }
            Store::S3 { store, location } => {
                let keys = store.list(&location.bucket, &base).await.map_err(|e| e.to_string())?;
                for key in keys {
                    let Some((folder, name)) = key.strip_prefix(base.as_str()).and_then(|k| k.split_once('/')) else {
                        continue;
                    };
                    let Ok(ts) = Timestamp::parse(folder) else { continue };
                    if name.ends_with(".json") && !name.contains('/') {
                        found.push(Stored { ts, name: name.to_owned(), key: key.clone() });
                    }
                }
            }
        }
        Ok(found)
    }

    /// The bytes of a stored snapshot.
    pub(crate) async fn read(&self, key: &str) -> Result<Vec<u8>, String> {
        match self {
            Store::Local(_) => std::fs::read(key).map_err(|e| format!("{key}: {e}")),
            Store::S3 { store, location } => {
                // Retried when the body breaks off, checked against its length and checksum.
                let mut bytes = Vec::new();
                match get_verified(store, &location.bucket, key, Dest::Memory(&mut bytes)).await {
                    Ok(Some(_)) => Ok(bytes),
                    Ok(None) => Err(format!("s3://{}/{key}: NoSuchKey (GetObject)", location.bucket)),
                    Err(e) => Err(e.to_string()),
                }
            }
        }
    }

    /// Writes `collected/<account>/<region>/<ts>/<name>` unless that name is taken.
    pub(crate) async fn create(
        &self,
        account: &str,
        region: &str,
        ts: &str,
        name: &str,
        bytes: &[u8],
    ) -> Result<Written, String> {
        match self {
            Store::Local(_) => {
                let dir = PathBuf::from(self.scope_base(account, region)).join(ts);
                let path = dir.join(name);
                let shown = path.display().to_string();
                std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                let mut tmp = tempfile::Builder::new()
                    .prefix(".partial-")
                    .tempfile_in(&dir)
                    .map_err(|e| format!("{}: {e}", dir.display()))?;
                std::io::Write::write_all(&mut tmp, bytes).map_err(|e| format!("{shown}: {e}"))?;
                tmp.as_file().sync_all().map_err(|e| format!("{shown}: {e}"))?;
                match tmp.persist_noclobber(&path) {
                    Ok(_) => Ok(Written::New(shown)),
                    Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
                        let have = std::fs::read(&path).map_err(|e| format!("{shown}: {e}"))?;
                        if have == bytes {
                            Ok(Written::Same(shown))
                        } else {
                            Err(format!("{shown}: already exists with other content; not overwritten"))
                        }
                    }
                    Err(e) => Err(format!("{shown}: {}", e.error)),
                }
            }
            Store::S3 { store, location } => {
                let key = format!("{}{ts}/{name}", self.scope_base(account, region));
                let url = format!("s3://{}/{key}", location.bucket);
                let sha = sha2::Sha256::digest(bytes);
                let put = store
                    .put(PutRequest {
                        bucket: &location.bucket,
                        key: &key,
                        body: PutBody::Bytes(bytes),
                        sha256: &sha,
                        lock: &Lock { mode: None, retain_until: 0 },
                        content_type: Some("application/json"),
                        part_size: None,
                    })
                    .await;
                match put {
                    Ok(Put::Written) => Ok(Written::New(url)),
                    Ok(Put::Exists) => {
                        let have = self.read(&key).await?;
                        if have == bytes {
                            Ok(Written::Same(url))
                        } else {
                            Err(format!("{url}: already exists with other content; not overwritten"))
                        }
                    }
                    Err(e) => Err(e.to_string()),
                }
            }
        }
    }
}
