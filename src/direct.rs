//! Files written (and read back) around the page cache (`O_DIRECT`), where the file system
//! takes it.
//!
//! What a build writes in bulk and does not read back — the package's copies of the inputs,
//! the evidence CSVs and the OSCAL results, hashed while they are written — goes straight to
//! the device.
//! A buffered write first needs a free page-cache page for every new byte. On the machine
//! measured (a VM whose free memory the host takes back: virtio balloon with free page
//! reporting) getting one costs about 8 s per GB: `dd` wrote a new 1 GiB file at 133 MB/s
//! buffered and 2.0 GB/s direct (BENCHMARKS.md). Writing direct also leaves the page cache to
//! the inputs.
//!
//! A direct write must start at an aligned offset, come from an aligned buffer and span whole
//! blocks. [`DirectFile`] stages bytes in an aligned buffer, writes whole blocks direct and
//! the last partial block buffered when it is finished. Where the file system refuses
//! `O_DIRECT` (`EINVAL`: tmpfs on older kernels, some FUSE file systems) or a write comes back
//! short, it goes on buffered; the bytes in the file are the same either way. The spill, which
//! the merge reads back once, is read the same way ([`DirectReader`]): a buffered read of
//! bytes not in the page cache would need the fresh pages that direct writing saved.

use std::cell::RefCell;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::Path;

/// Alignment of direct writes: the page size, a multiple of every device's logical block.
const ALIGN: usize = 4096;
/// Bytes staged per direct write.
const CHUNK: usize = 1 << 20;
/// Files smaller than this are written buffered by [`write_new`]: a direct write waits for the
/// device, which costs more than the few pages it saves.
const DIRECT_MIN: usize = 64 * 1024;

thread_local! {
    /// The staging buffer of [`write_new`], kept per thread between files.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// An open file and whether its reads and writes still go direct.
#[derive(Debug)]
struct Handle {
    file: File,
    direct: bool,
}

impl Handle {
    /// Turns `O_DIRECT` on where the file system takes it. Set after opening, so a refusal
    /// leaves no half-made file behind.
    fn new(file: File) -> io::Result<Self> {
        let direct = set_direct(&file, true)?;
        Ok(Handle { file, direct })
    }

    /// Goes on buffered.
    fn buffered(&mut self) -> io::Result<()> {
        if self.direct {
            self.direct = false;
            set_direct(&self.file, false)?;
        }
        Ok(())
    }

    /// Whether `e` is the file system refusing a direct transfer (then go on buffered).
    fn refused(&self, e: &io::Error) -> bool {
        self.direct && e.raw_os_error() == Some(rustix::io::Errno::INVAL.raw_os_error())
    }
}

/// A buffer of `cap` bytes (whole blocks) at an aligned address, inside a `Vec` with room to
/// spare.
#[derive(Debug)]
struct Aligned {
    buf: Vec<u8>,
    start: usize,
    cap: usize,
}

impl Aligned {
    /// At least `cap` bytes (rounded up to whole blocks), reusing `buf`'s allocation.
    fn new(mut buf: Vec<u8>, cap: usize) -> Self {
        let cap = cap.max(1).div_ceil(ALIGN) * ALIGN;
        if buf.len() < cap + ALIGN {
            buf.resize(cap + ALIGN, 0);
        }
        let start = (ALIGN - buf.as_ptr() as usize % ALIGN) % ALIGN;
        Aligned { buf, start, cap }
    }

    fn get(&self, range: std::ops::Range<usize>) -> &[u8] {
        &self.buf[self.start + range.start..self.start + range.end]
    }

    fn get_mut(&mut self, range: std::ops::Range<usize>) -> &mut [u8] {
        &mut self.buf[self.start + range.start..self.start + range.end]
    }
}

/// A new file written direct through an aligned staging buffer; see the module doc.
/// Call [`DirectFile::finish`]: dropped unfinished, it writes the rest and ignores errors,
/// as `BufWriter` does.
#[derive(Debug)]
pub(crate) struct DirectFile {
    io: Handle,
    /// [`CHUNK`] bytes; the first `len` are staged.
    buf: Aligned,
    len: usize,
    finished: bool,
}

impl DirectFile {
    /// Creates (or truncates) `path`.
    ///
    /// # Errors
    /// When the file cannot be created.
    pub(crate) fn create(path: &Path) -> io::Result<Self> {
        Self::open(OpenOptions::new().write(true).create(true).truncate(true).open(path)?, Vec::new())
    }

    /// Creates `path`, which must not exist (`AlreadyExists` otherwise), staging in `buf`.
    fn create_new(path: &Path, buf: Vec<u8>) -> io::Result<Self> {
        Self::open(OpenOptions::new().write(true).create_new(true).open(path)?, buf)
    }

    fn open(file: File, buf: Vec<u8>) -> io::Result<Self> {
        Ok(DirectFile { io: Handle::new(file)?, buf: Aligned::new(buf, CHUNK), len: 0, finished: false })
    }

    /// Writes what is staged and closes the file; returns the staging buffer for reuse.
    ///
    /// # Errors
    /// On write errors.
    pub(crate) fn finish(mut self) -> io::Result<Vec<u8>> {
        self.complete()?;
        Ok(std::mem::take(&mut self.buf.buf))
    }

    fn complete(&mut self) -> io::Result<()> {
        self.finished = true;
        self.write_blocks()?;
        self.io.buffered()?;
        let rest = self.buf.get(0..std::mem::take(&mut self.len));
        self.io.file.write_all(rest)
    }

    /// Writes the whole blocks staged (direct, or all of it once buffered) and moves the rest
    /// to the front.
    fn write_blocks(&mut self) -> io::Result<()> {
        let mut done = 0;
        loop {
            let upto = if self.io.direct { self.len / ALIGN * ALIGN } else { self.len };
            if done >= upto {
                break;
            }
            match self.io.file.write(self.buf.get(done..upto)) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    done += n;
                    if n % ALIGN != 0 {
                        self.io.buffered()?; // the file offset is no longer aligned
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if self.io.refused(&e) => self.io.buffered()?,
                Err(e) => return Err(e),
            }
        }
        let start = self.buf.start;
        self.buf.buf.copy_within(start + done..start + self.len, start);
        self.len -= done;
        Ok(())
    }
}

impl Write for DirectFile {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let n = bytes.len().min(CHUNK - self.len);
        self.buf.get_mut(self.len..self.len + n).copy_from_slice(&bytes[..n]);
        self.len += n;
        if self.len == CHUNK {
            self.write_blocks()?;
        }
        Ok(n)
    }

    /// Writes the whole blocks staged; the last partial block waits for [`DirectFile::finish`].
    fn flush(&mut self) -> io::Result<()> {
        self.write_blocks()
    }
}

impl Drop for DirectFile {
    fn drop(&mut self) {
        if !self.finished {
            let _ = self.complete();
        }
    }
}

/// A file read around the page cache through an aligned buffer (buffered where the file
/// system refuses, or after a short read leaves the offset unaligned).
#[derive(Debug)]
pub(crate) struct DirectReader {
    io: Handle,
    buf: Aligned,
    pos: usize,
    filled: usize,
}

impl DirectReader {
    /// Opens `path` to read it in pieces of `capacity` bytes (rounded up to whole blocks).
    ///
    /// # Errors
    /// When the file cannot be opened.
    pub(crate) fn open(path: &Path, capacity: usize) -> io::Result<Self> {
        Ok(DirectReader {
            io: Handle::new(File::open(path)?)?,
            buf: Aligned::new(Vec::new(), capacity),
            pos: 0,
            filled: 0,
        })
    }

    /// Reads the next piece; leaves `filled` at 0 at the end of the file.
    fn fill(&mut self) -> io::Result<()> {
        (self.pos, self.filled) = (0, 0);
        loop {
            match self.io.file.read(self.buf.get_mut(0..self.buf.cap)) {
                Ok(n) => {
                    self.filled = n;
                    if n % ALIGN != 0 {
                        // The end of the file, or a short read: either way the offset is no
                        // longer aligned.
                        self.io.buffered()?;
                    }
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if self.io.refused(&e) => self.io.buffered()?,
                Err(e) => return Err(e),
            }
        }
    }
}

impl Read for DirectReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.filled {
            self.fill()?;
        }
        let n = out.len().min(self.filled - self.pos);
        out[..n].copy_from_slice(self.buf.get(self.pos..self.pos + n));
        self.pos += n;
        Ok(n)
    }
}

/// Turns `O_DIRECT` on or off for an open file. Turning it on returns whether the file system
/// took it; turning it off cannot be refused.
#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
fn set_direct(file: &File, on: bool) -> io::Result<bool> {
    use rustix::fs::{OFlags, fcntl_getfl, fcntl_setfl};
    let flags = fcntl_getfl(file)?;
    if on {
        Ok(fcntl_setfl(file, flags | OFlags::DIRECT).is_ok())
    } else {
        fcntl_setfl(file, flags - OFlags::DIRECT)?;
        Ok(false)
    }
}

/// Elsewhere (macOS has no `O_DIRECT`) files are written and read buffered.
#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
fn set_direct(_file: &File, _on: bool) -> io::Result<bool> {
    Ok(false)
}

/// Writes `bytes` into a new file at `path` (`AlreadyExists` if there is one): direct from
/// [`DIRECT_MIN`] bytes where the file system takes it, staging through a buffer kept per
/// thread; buffered below.
///
/// # Errors
/// On create or write errors.
pub(crate) fn write_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if bytes.len() < DIRECT_MIN {
        return File::create_new(path)?.write_all(bytes);
    }
    let buf = SCRATCH.with_borrow_mut(std::mem::take);
    let mut f = DirectFile::create_new(path, buf)?;
    f.write_all(bytes)?;
    let buf = f.finish()?;
    SCRATCH.set(buf);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes that differ at every offset, so a misplaced block shows.
    fn pattern(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 31 % 251) as u8).collect()
    }

    #[test]
    fn files_hold_exactly_what_was_written_at_every_size_around_blocks_and_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let sizes = [0, 1, ALIGN - 1, ALIGN, ALIGN + 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + ALIGN + 17];
        for n in sizes {
            let bytes = pattern(n);
            let whole = dir.path().join(format!("whole-{n}"));
            write_new(&whole, &bytes).unwrap();
            assert_eq!(std::fs::read(&whole).unwrap(), bytes, "write_new, {n} bytes");
            // Streamed in odd pieces, with flushes between, as the CSV writer does.
            let streamed = dir.path().join(format!("streamed-{n}"));
            let mut f = DirectFile::create(&streamed).unwrap();
            for piece in bytes.chunks(7919) {
                f.write_all(piece).unwrap();
                f.flush().unwrap();
            }
            f.finish().unwrap();
            assert_eq!(std::fs::read(&streamed).unwrap(), bytes, "streamed, {n} bytes");
        }
    }

    #[test]
    fn a_direct_reader_reads_back_every_byte_in_any_piece_size() {
        let dir = tempfile::tempdir().unwrap();
        for n in [0, 1, ALIGN - 1, ALIGN, ALIGN + 1, 5 * ALIGN + 3, CHUNK + 17] {
            let bytes = pattern(n);
            let path = dir.path().join(format!("r-{n}"));
            write_new(&path, &bytes).unwrap();
            for (capacity, piece) in [(1, 1), (ALIGN, 4093), (3 * ALIGN + 1, 100_000)] {
                let mut r = DirectReader::open(&path, capacity).unwrap();
                let (mut back, mut part) = (Vec::new(), vec![0; piece]);
                loop {
                    match r.read(&mut part).unwrap() {
                        0 => break,
                        got => back.extend_from_slice(&part[..got]),
                    }
                }
                assert_eq!(back, bytes, "{n} bytes, capacity {capacity}, pieces of {piece}");
            }
        }
    }

    #[test]
    fn an_existing_file_is_never_overwritten_by_write_new() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kept");
        std::fs::write(&path, b"theirs").unwrap();
        let err = write_new(&path, &pattern(CHUNK)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&path).unwrap(), b"theirs");
    }

    #[test]
    fn a_file_dropped_unfinished_still_gets_its_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dropped");
        let bytes = pattern(2 * ALIGN + 5);
        let mut f = DirectFile::create(&path).unwrap();
        f.write_all(&bytes).unwrap();
        drop(f);
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
    }

    #[test]
    fn buffered_from_the_start_the_bytes_are_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("buffered");
        let bytes = pattern(CHUNK + 3 * ALIGN + 1);
        let mut f = DirectFile::create(&path).unwrap();
        f.io.buffered().unwrap();
        f.write_all(&bytes[..ALIGN + 1]).unwrap();
        f.write_all(&bytes[ALIGN + 1..]).unwrap();
        f.finish().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
    }
}
