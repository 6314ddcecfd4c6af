//! Raw artifacts: bytes, SHA-256, origin, and the content-addressed store.
//!
//! Every input file becomes an [`Artifact`]. Its bytes are kept verbatim under
//! `artifacts/sha256/<hex>` — the same bytes twice are stored once — and its SHA-256 is
//! computed while the bytes are read (SHA-NI where the CPU has it). Parsing is left to
//! [`crate::ingest`]; this module only moves and hashes bytes.

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::time::Timestamp;

/// A SHA-256 digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sha256Digest(pub [u8; 32]);

impl Sha256Digest {
    /// Digest of a byte slice.
    pub fn of(bytes: &[u8]) -> Self {
        Sha256Digest(Sha256::digest(bytes).into())
    }

    /// Lower-case hex, 64 characters.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The first 16 hex digits, used to point at an artifact from evidence rows.
    pub fn short(&self) -> String {
        hex::encode(&self.0[..8])
    }
}

impl fmt::Display for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex())
    }
}

/// One raw input, hashed and stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// SHA-256 of the bytes.
    pub sha256: Sha256Digest,
    /// Size in bytes.
    pub size: u64,
    /// Where it came from: a local path, later `s3://bucket/key?versionId=…`.
    pub origin: String,
    /// When we read it (real time; recorded, never used for verdicts).
    pub fetched_at: Timestamp,
}

/// Content-addressed store rooted at `<package>/artifacts`.
#[derive(Debug, Clone)]
pub struct ArtifactStore {
    dir: PathBuf,
}

/// Files up to this size are read whole (one read, hash and parse from memory); larger ones
/// are streamed so a quarter never has to fit in memory.
pub const IN_MEMORY_LIMIT: u64 = 32 * 1024 * 1024;

impl ArtifactStore {
    /// A store writing into `<root>/sha256/`.
    ///
    /// # Errors
    /// When the folder cannot be created.
    pub fn create(root: &Path) -> io::Result<Self> {
        let dir = root.join("sha256");
        fs::create_dir_all(&dir)?;
        Ok(ArtifactStore { dir })
    }

    /// Path of the stored copy of a digest.
    pub fn path_of(&self, sha: &Sha256Digest) -> PathBuf {
        self.dir.join(sha.hex())
    }

    /// Stores bytes already in memory; returns their digest.
    ///
    /// # Errors
    /// On write errors.
    pub fn put_bytes(&self, bytes: &[u8]) -> io::Result<Sha256Digest> {
        let sha = Sha256Digest::of(bytes);
        let path = self.path_of(&sha);
        match File::create_new(&path) {
            Ok(mut f) => f.write_all(bytes)?,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        Ok(sha)
    }

    /// Takes over a file whose digest is already known (a private download): moved into
    /// the store, or dropped when the store has those bytes already. Falls back to copying
    /// when it cannot be moved (another file system).
    ///
    /// # Errors
    /// On I/O errors.
    pub fn adopt(&self, path: &Path, sha: Sha256Digest) -> io::Result<()> {
        let target = self.path_of(&sha);
        if target.exists() {
            return fs::remove_file(path);
        }
        if fs::rename(path, &target).is_ok() {
            return Ok(());
        }
        let (copied, _) = self.put_reader(File::open(path)?)?;
        if copied != sha {
            return Err(io::Error::other(format!("{}: changed since it was downloaded", path.display())));
        }
        fs::remove_file(path)
    }

    /// Streams a reader into the store, hashing as it goes; returns digest and size.
    ///
    /// # Errors
    /// On read or write errors.
    pub fn put_reader(&self, mut reader: impl Read) -> io::Result<(Sha256Digest, u64)> {
        let mut tmp = tempfile::NamedTempFile::new_in(&self.dir)?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut size = 0u64;
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            hasher.update(&buf[..n]);
            tmp.write_all(&buf[..n])?;
            size += n as u64;
        }
        let sha = Sha256Digest(hasher.finalize().into());
        let path = self.path_of(&sha);
        if path.exists() {
            return Ok((sha, size));
        }
        tmp.persist(&path).map_err(|e| e.error)?;
        Ok((sha, size))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adopted_downloads_are_moved_in_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = ArtifactStore::create(&dir.path().join("store")).unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        fs::write(&a, b"download").unwrap();
        fs::write(&b, b"download").unwrap();
        let sha = Sha256Digest::of(b"download");
        store.adopt(&a, sha).unwrap();
        assert_eq!(fs::read(store.path_of(&sha)).unwrap(), b"download");
        assert!(!a.exists(), "moved, not copied");
        store.adopt(&b, sha).unwrap();
        assert!(!b.exists(), "a second copy of stored bytes is dropped");
        assert_eq!(fs::read_dir(dir.path().join("store/sha256")).unwrap().count(), 1);
    }

    #[test]
    fn same_bytes_stored_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = ArtifactStore::create(dir.path()).unwrap();
        let a = store.put_bytes(b"abc").unwrap();
        let b = store.put_bytes(b"abc").unwrap();
        let (c, size) = store.put_reader(&b"abc"[..]).unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(size, 3);
        assert_eq!(a.hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(fs::read_dir(dir.path().join("sha256")).unwrap().count(), 1);
        assert_eq!(fs::read(store.path_of(&a)).unwrap(), b"abc");
    }
}
