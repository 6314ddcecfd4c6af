//! Raw artifacts: bytes, SHA-256, origin, and the content-addressed store.
//!
//! Every input file becomes an [`Artifact`]. Its bytes are kept verbatim under
//! `artifacts/sha256/<hex>` — the same bytes twice are stored once — and every input byte is
//! read once ([`ArtifactStore::put_file`]). Where the file system has reflinks (XFS, Btrfs;
//! `FICLONE`) the input is cloned into the store without copying a byte, and the clone is read
//! to hash and parse it, so the digest is that of the stored bytes even if the input changes
//! meanwhile. Elsewhere (ext4) the input is read into memory, hashed (SHA-NI where the CPU has
//! it), parsed from there and written: from 64 KiB up around the page cache
//! ([`crate::direct`]), as nothing in the build reads the copy again. A file too large to hold
//! ([`IN_MEMORY_LIMIT`]) is copied in chunks, buffered, because the parser then streams the
//! copy. Parsing is left to [`crate::ingest`]; this module only moves and hashes bytes.

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

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
#[derive(Debug)]
pub struct ArtifactStore {
    dir: PathBuf,
    /// Whether reflinks into the store still look possible.
    reflink: AtomicBool,
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
        Ok(ArtifactStore { dir, reflink: AtomicBool::new(true) })
    }

    /// Path of the stored copy of a digest.
    pub fn path_of(&self, sha: &Sha256Digest) -> PathBuf {
        self.dir.join(sha.hex())
    }

    /// Stores a file and leaves its bytes in `buf` (whole, for parsing from memory); returns
    /// the digest. The input's bytes are read once: by the reflink, whose copy is then read,
    /// or into `buf`, which is hashed and written.
    ///
    /// # Errors
    /// On read or write errors.
    pub fn put_file(&self, src: &Path, buf: &mut Vec<u8>) -> io::Result<Sha256Digest> {
        buf.clear();
        if let Some(mut clone) = self.clone_in(src)? {
            clone.as_file_mut().read_to_end(buf)?;
            let sha = Sha256Digest::of(buf);
            self.keep(clone, &sha)?;
            return Ok(sha);
        }
        File::open(src)?.read_to_end(buf)?;
        let sha = Sha256Digest::of(buf);
        let path = self.path_of(&sha);
        match crate::direct::write_new(&path, buf) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            other => other.map_err(storing)?,
        }
        Ok(sha)
    }

    /// As [`Self::put_file`] for a file too large to hold: hashed in chunks while it is read
    /// (from the reflink, or from the input while writing the copy); the parser then streams
    /// the stored copy. Returns digest and size.
    ///
    /// # Errors
    /// On read or write errors.
    pub fn put_file_streamed(&self, src: &Path) -> io::Result<(Sha256Digest, u64)> {
        let (mut tmp, from, cloned) = match self.clone_in(src)? {
            Some(clone) => {
                let reader = clone.reopen()?;
                (clone, reader, true)
            }
            None => (tempfile::NamedTempFile::new_in(&self.dir).map_err(storing)?, File::open(src)?, false),
        };
        let (size, sha) =
            if cloned { copy_hashed(from, io::sink())? } else { copy_hashed(from, Storing(tmp.as_file_mut()))? };
        self.keep(tmp, &sha)?;
        Ok((sha, size))
    }

    /// A reflink of `src` in the store (XFS, Btrfs: no byte copied), or `None` where the file
    /// systems cannot (then reflinks are not tried again).
    fn clone_in(&self, src: &Path) -> io::Result<Option<tempfile::NamedTempFile>> {
        if !self.reflink.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let from = File::open(src)?;
        let tmp = tempfile::NamedTempFile::new_in(&self.dir).map_err(storing)?;
        if reflink(&from, tmp.as_file()) {
            return Ok(Some(tmp));
        }
        self.reflink.store(false, Ordering::Relaxed);
        Ok(None)
    }

    /// Names a private copy by its digest, or drops it when the store has those bytes already.
    fn keep(&self, tmp: tempfile::NamedTempFile, sha: &Sha256Digest) -> io::Result<()> {
        match tmp.persist_noclobber(self.path_of(sha)) {
            Ok(_) => Ok(()),
            Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(storing(e.error)),
        }
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
        let (copied, _) = self.put_file_streamed(path)?;
        if copied != sha {
            return Err(io::Error::other(format!("{}: changed since it was downloaded", path.display())));
        }
        fs::remove_file(path)
    }
}

/// An error of writing an input's copy into the package, told apart from one of reading the
/// input (a full disk is not a bad input).
fn storing(e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("cannot write its copy into the package: {e}"))
}

/// A writer whose errors are [`storing`] errors.
struct Storing<W>(W);

impl<W: Write> Write for Storing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf).map_err(storing)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush().map_err(storing)
    }
}

/// A writer that hashes (SHA-256) and counts what passes through it.
#[derive(Debug)]
pub(crate) struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    size: u64,
}

impl<W: Write> HashingWriter<W> {
    /// Wraps `inner`.
    pub(crate) fn new(inner: W) -> Self {
        HashingWriter { inner, hasher: Sha256::new(), size: 0 }
    }

    /// The inner writer, the size and the digest of all written.
    pub(crate) fn finish(self) -> (W, u64, Sha256Digest) {
        (self.inner, self.size, Sha256Digest(self.hasher.finalize().into()))
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(bytes)?;
        self.hasher.update(&bytes[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Makes `to` share `from`'s extents (`FICLONE`); false where the file systems cannot.
#[cfg(target_os = "linux")]
fn reflink(from: &File, to: &File) -> bool {
    rustix::fs::ioctl_ficlone(to, from).is_ok()
}

#[cfg(not(target_os = "linux"))]
fn reflink(_from: &File, _to: &File) -> bool {
    false
}

/// Reads `from` to the end in 1 MiB pieces and writes it to `to` (`io::sink()` to only hash);
/// returns the size and SHA-256 of what passed.
///
/// # Errors
/// On read or write errors.
pub(crate) fn copy_hashed(from: impl Read, to: impl Write) -> io::Result<(u64, Sha256Digest)> {
    let mut out = HashingWriter::new(to);
    io::copy(&mut io::BufReader::with_capacity(1 << 20, from), &mut out)?;
    let (_, size, sha) = out.finish();
    Ok((size, sha))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer that always fails, as a full disk does; as a reader, a failing disk.
    struct Full;

    impl Read for Full {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::other("bad sector"))
        }
    }

    impl Write for Full {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::from(io::ErrorKind::StorageFull))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_failed_copy_is_told_from_a_failed_read() {
        let e = copy_hashed(&b"bytes"[..], Storing(Full)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::StorageFull);
        assert!(e.to_string().starts_with("cannot write its copy into the package: "), "{e}");
        let e = copy_hashed(Full, io::sink()).unwrap_err();
        assert_eq!(e.to_string(), "bad sector");
    }

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

    /// Both ways in: a reflink where the test's file system has them (run with TMPDIR on XFS
    /// or Btrfs to take that path), and read + write everywhere.
    #[test]
    fn files_are_copied_in_once_and_hashed_as_stored() {
        for try_reflink in [true, false] {
            let dir = tempfile::tempdir().unwrap();
            let store = ArtifactStore::create(&dir.path().join("store")).unwrap();
            store.reflink.store(try_reflink, Ordering::Relaxed);
            let (a, b, c) = (dir.path().join("a"), dir.path().join("b"), dir.path().join("c"));
            fs::write(&a, b"abc").unwrap();
            fs::write(&b, b"abc").unwrap();
            let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
            fs::write(&c, &big).unwrap();
            let mut buf = b"left over".to_vec();
            let sha = store.put_file(&a, &mut buf).unwrap();
            assert_eq!(buf, b"abc", "the stored bytes, for the parser");
            assert_eq!(sha.hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
            assert_eq!(store.put_file(&b, &mut buf).unwrap(), sha);
            let (big_sha, size) = store.put_file_streamed(&c).unwrap();
            assert_eq!((big_sha, size), (Sha256Digest::of(&big), big.len() as u64));
            assert_eq!(fs::read(store.path_of(&big_sha)).unwrap(), big);
            assert_eq!(fs::read(store.path_of(&sha)).unwrap(), b"abc");
            assert_eq!(fs::read(&a).unwrap(), b"abc", "inputs untouched");
            let names: Vec<_> =
                fs::read_dir(dir.path().join("store/sha256")).unwrap().map(|e| e.unwrap().file_name()).collect();
            assert_eq!(names.len(), 2, "same bytes stored once, no copy left behind: {names:?}");
            let err = store.put_file(&dir.path().join("missing"), &mut buf).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::NotFound);
        }
    }
}
