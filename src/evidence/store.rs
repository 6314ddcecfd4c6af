//! Disk-backed merge of the bulky records (jobs, recovery points, compliance rows, the tag
//! inventory, malware scans): every table that grows with the quarter.
//!
//! A quarter can hold millions of job observations, more than should sit in memory. Each
//! parse worker appends observations, encoded with `postcard`, to an in-memory arena; when the
//! arena is full it is sorted by (record type, key) and written out as a run. After parsing,
//! the runs are merged k-way: observations of one key arrive together, are merged
//! ([`super::merge`]) and handed, one record per key and in key order, to a consumer (the
//! evidence writer; later the assessment) in the same pass. Memory stays bounded by the
//! arena size and the number of runs, whatever the size of the quarter; the few ties the
//! merge settles by a rule ([`super::merge::Conflict`]) are collected on the side.
//!
//! A run is a sequence of LZ4 blocks of about 32 KiB of whole observations each (`[raw
//! length][compressed length][bytes]`, lengths as little-endian `u32`). Sorted observations
//! repeat their ARNs and names, so a run shrinks about 5×: the spill is the build's largest
//! write after the artifact copies (about 1.4 GB at 0.5 M jobs and 9.5 GB at 10 M job rows,
//! reckoned from the bytes written), and on the machine measured a written byte cost more than
//! compressing it (BENCHMARKS.md). Blocks are independent so that the merge holds one
//! decompressed block per run. Runs are written and read back around the page cache
//! ([`crate::direct`]), each run read in pieces of 16–256 KiB (8 MiB for all runs together).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use super::Record;
use super::merge::{Conflict, Merge, control_key, merge_group, resource_compliance_key};
use super::model::{ControlResult, Job, JobKind, MalwareScan, RecoveryPoint, ResourceCompliance, TaggedResource};
use crate::artifact::Sha256Digest;
use crate::direct::{DirectFile, DirectReader};

/// Record types kept on disk, in output order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub(crate) enum Bulk {
    /// Backup jobs.
    BackupJobs = 0,
    /// Copy jobs.
    CopyJobs = 1,
    /// Restore jobs.
    RestoreJobs = 2,
    /// Recovery points.
    RecoveryPoints = 3,
    /// Control compliance results.
    Controls = 4,
    /// Resource compliance results.
    ResourceCompliance = 5,
    /// Tag inventory entries: few resources, but one observation per resource per snapshot.
    TaggedResources = 6,
    /// Malware scans: one per recovery point scanned, so they grow with the quarter.
    MalwareScans = 7,
}

impl Bulk {
    const ALL: [Bulk; 8] = [
        Bulk::BackupJobs,
        Bulk::CopyJobs,
        Bulk::RestoreJobs,
        Bulk::RecoveryPoints,
        Bulk::Controls,
        Bulk::ResourceCompliance,
        Bulk::TaggedResources,
        Bulk::MalwareScans,
    ];

    fn from_u8(v: u8) -> Option<Bulk> {
        Bulk::ALL.get(usize::from(v)).copied()
    }

    /// Type and merge key of a record, if it is a bulk one.
    pub(crate) fn of(record: &Record) -> Option<(Bulk, String)> {
        Some(match record {
            Record::Job(j) => {
                let t = match j.kind? {
                    JobKind::Backup => Bulk::BackupJobs,
                    JobKind::Copy => Bulk::CopyJobs,
                    JobKind::Restore => Bulk::RestoreJobs,
                };
                (t, j.job_id.clone())
            }
            Record::RecoveryPoint(r) => (Bulk::RecoveryPoints, r.recovery_point_arn.clone()),
            Record::Control(c) => (Bulk::Controls, control_key(c)),
            Record::ResourceCompliance(r) => (Bulk::ResourceCompliance, resource_compliance_key(r)),
            Record::TaggedResource(t) => (Bulk::TaggedResources, t.resource_arn.clone()),
            Record::MalwareScan(m) => (Bulk::MalwareScans, m.scan_job_id.clone()),
            _ => return None,
        })
    }
}

/// Where one worker's observations go: an arena flushed to sorted runs.
#[derive(Debug)]
pub(crate) struct SpillWriter {
    dir: PathBuf,
    name: String,
    arena: Vec<u8>,
    index: Vec<Entry>,
    runs: Vec<PathBuf>,
    budget: usize,
}

/// Observations per spill block: enough for LZ4 to find the repeats between neighbours, small
/// enough that the merge's one block per run stays cheap.
const BLOCK: usize = 32 * 1024;

#[derive(Debug, Clone, Copy)]
struct Entry {
    tag: u8,
    key: (u32, u32),
    rec: (u32, u32),
}

impl SpillWriter {
    /// A writer whose runs go to `dir/<name>-<n>.run`, flushing at `budget` bytes.
    ///
    /// The arena is reserved once, with room for the record that crosses the budget: grown by
    /// doubling it would reach up to twice the budget, and a reallocation keeps the old and the
    /// new block resident at once (measured: 54 MiB for a 32 MiB budget).
    pub(crate) fn new(dir: &Path, name: &str, budget: usize) -> Self {
        SpillWriter {
            dir: dir.to_path_buf(),
            name: name.to_owned(),
            arena: Vec::with_capacity(budget + budget / 16 + 64 * 1024),
            index: Vec::new(),
            runs: Vec::new(),
            budget,
        }
    }

    /// Adds one observation.
    ///
    /// # Errors
    /// When a full arena cannot be written out.
    pub(crate) fn push(&mut self, tag: Bulk, key: &str, record: &Record) -> io::Result<()> {
        let k0 = self.arena.len();
        self.arena.extend_from_slice(key.as_bytes());
        let r0 = self.arena.len();
        let arena = std::mem::take(&mut self.arena);
        self.arena = postcard::to_extend(record, arena).map_err(io::Error::other)?;
        let r1 = self.arena.len();
        self.index.push(Entry {
            tag: tag as u8,
            key: (k0 as u32, (r0 - k0) as u32),
            rec: (r0 as u32, (r1 - r0) as u32),
        });
        if self.arena.len() >= self.budget {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.index.is_empty() {
            return Ok(());
        }
        let arena = &self.arena;
        let key = |e: &Entry| &arena[e.key.0 as usize..(e.key.0 + e.key.1) as usize];
        self.index.sort_unstable_by(|a, b| a.tag.cmp(&b.tag).then_with(|| key(a).cmp(key(b))));
        let path = self.dir.join(format!("{}-{}.run", self.name, self.runs.len()));
        let mut w = BlockWriter::new(DirectFile::create(&path)?);
        for e in &self.index {
            w.push(e.tag, key(e), &arena[e.rec.0 as usize..(e.rec.0 + e.rec.1) as usize])?;
        }
        w.finish()?.finish()?;
        self.runs.push(path);
        self.arena.clear();
        self.index.clear();
        Ok(())
    }

    /// Writes what is left and returns the runs.
    ///
    /// # Errors
    /// On write errors.
    pub(crate) fn finish(mut self) -> io::Result<Vec<PathBuf>> {
        self.flush()?;
        Ok(self.runs)
    }
}

/// Writes observations into LZ4 blocks of about [`BLOCK`] bytes.
struct BlockWriter<W: Write> {
    w: W,
    block: Vec<u8>,
    packed: Vec<u8>,
}

impl<W: Write> BlockWriter<W> {
    fn new(w: W) -> Self {
        BlockWriter { w, block: Vec::with_capacity(2 * BLOCK), packed: Vec::new() }
    }

    /// Adds one observation (`tag`, length-prefixed key and record), writing the block once
    /// it holds [`BLOCK`] bytes.
    fn push(&mut self, tag: u8, key: &[u8], rec: &[u8]) -> io::Result<()> {
        self.block.push(tag);
        for chunk in [key, rec] {
            self.block.extend_from_slice(&len_u32(chunk.len())?.to_le_bytes());
            self.block.extend_from_slice(chunk);
        }
        if self.block.len() >= BLOCK { self.emit() } else { Ok(()) }
    }

    /// Compresses and writes the observations gathered so far as one block.
    fn emit(&mut self) -> io::Result<()> {
        if self.block.is_empty() {
            return Ok(());
        }
        self.packed.resize(lz4_flex::block::get_maximum_output_size(self.block.len()), 0);
        let n = lz4_flex::block::compress_into(&self.block, &mut self.packed).map_err(io::Error::other)?;
        self.w.write_all(&len_u32(self.block.len())?.to_le_bytes())?;
        self.w.write_all(&len_u32(n)?.to_le_bytes())?;
        self.w.write_all(&self.packed[..n])?;
        self.block.clear();
        Ok(())
    }

    fn finish(mut self) -> io::Result<W> {
        self.emit()?;
        self.w.flush()?;
        Ok(self.w)
    }
}

fn len_u32(n: usize) -> io::Result<u32> {
    u32::try_from(n).map_err(|_| io::Error::other("spill entry or block over 4 GiB"))
}

/// Reads a run back one block at a time.
struct RunReader<R: Read> {
    r: R,
    block: Vec<u8>,
    pos: usize,
}

type RunEntry = (u8, Vec<u8>, Vec<u8>);

impl<R: Read> RunReader<R> {
    fn new(r: R) -> Self {
        RunReader { r, block: Vec::new(), pos: 0 }
    }

    /// The next observation, or `None` at the end of the run. `packed` is scratch space for
    /// a compressed block, shared by all readers of a merge.
    fn next(&mut self, packed: &mut Vec<u8>) -> io::Result<Option<RunEntry>> {
        if self.pos == self.block.len() && !self.load(packed)? {
            return Ok(None);
        }
        let mut rest = &self.block[self.pos..];
        let tag = *rest.first().ok_or_else(|| corrupt("empty entry"))?;
        rest = &rest[1..];
        let key = take_chunk(&mut rest)?;
        let rec = take_chunk(&mut rest)?;
        self.pos = self.block.len() - rest.len();
        Ok(Some((tag, key, rec)))
    }

    /// Reads and decompresses the next block; `false` at the end of the run.
    fn load(&mut self, packed: &mut Vec<u8>) -> io::Result<bool> {
        let mut header = [0u8; 8];
        match self.r.read_exact(&mut header[..1]) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(false),
            Err(e) => return Err(e),
        }
        self.r.read_exact(&mut header[1..]).map_err(truncated)?;
        let raw = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let n = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
        // A block holds whole observations, so one as large as a record gets (lengths are u32).
        if raw == 0 || n > lz4_flex::block::get_maximum_output_size(raw) {
            return Err(corrupt("bad block length"));
        }
        packed.resize(n, 0);
        self.r.read_exact(packed).map_err(truncated)?;
        self.block.resize(raw, 0);
        let got = lz4_flex::block::decompress_into(packed, &mut self.block).map_err(|e| corrupt(&e.to_string()))?;
        if got != raw {
            return Err(corrupt("block shorter than declared"));
        }
        self.pos = 0;
        Ok(true)
    }
}

/// Splits a length-prefixed chunk off the front of `rest`.
fn take_chunk(rest: &mut &[u8]) -> io::Result<Vec<u8>> {
    let (len, tail) = rest.split_first_chunk::<4>().ok_or_else(|| corrupt("entry cut short"))?;
    let len = u32::from_le_bytes(*len) as usize;
    let chunk = tail.get(..len).ok_or_else(|| corrupt("entry cut short"))?;
    *rest = &tail[len..];
    Ok(chunk.to_vec())
}

fn corrupt(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("corrupt spill run: {what}"))
}

fn truncated(e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::UnexpectedEof { corrupt("block cut short") } else { e }
}

/// How many merged records of each bulk type a merge produced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct BulkCounts([u64; 8]);

impl BulkCounts {
    /// Number of merged records of a type.
    pub(crate) fn get(&self, bulk: Bulk) -> u64 {
        self.0[bulk as usize]
    }
}

/// A merged record on its way to the consumer: still encoded when it was seen once (no merge
/// needed), decoded when it was merged.
enum Merged {
    Encoded(Vec<u8>),
    Decoded(Box<Record>),
}

/// Merges all runs k-way, handing every merged record to `consume` in (type, key) order.
/// Returns the counts and the conflicts the merge recorded, in (type, key) order.
///
/// The merge runs on its own thread and `consume` on the caller's, so writing the
/// evidence out overlaps with merging.
///
/// # Errors
/// On I/O errors, an error from `consume`, or a corrupt run (a bug: runs are written by us).
pub(crate) fn merge_runs(
    runs: &[PathBuf],
    shas: &[Sha256Digest],
    consume: &mut dyn FnMut(&Record) -> io::Result<()>,
) -> io::Result<(BulkCounts, Vec<Conflict>)> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Merged>>(16);
    std::thread::scope(|scope| {
        let producer = scope.spawn(move || produce(runs, shas, tx));
        let mut failed = None;
        'batches: for batch in rx.iter() {
            for merged in batch {
                let result = match merged {
                    Merged::Decoded(r) => consume(&r),
                    Merged::Encoded(bytes) => postcard::from_bytes::<Record>(&bytes)
                        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
                        .and_then(|r| consume(&r)),
                };
                if let Err(e) = result {
                    failed = Some(e);
                    break 'batches;
                }
            }
        }
        drop(rx); // stops the producer if we bailed out
        let counts = producer.join().map_err(|_| io::Error::other("merge thread panicked"))?;
        match failed {
            Some(e) => Err(e),
            None => counts,
        }
    })
}

/// The merge itself: runs in, batches of merged records out.
fn produce(
    runs: &[PathBuf],
    shas: &[Sha256Digest],
    tx: std::sync::mpsc::SyncSender<Vec<Merged>>,
) -> io::Result<(BulkCounts, Vec<Conflict>)> {
    let piece = (READ_BUDGET / runs.len().max(1)).clamp(16 * 1024, 256 * 1024);
    let mut readers =
        runs.iter().map(|p| Ok(RunReader::new(DirectReader::open(p, piece)?))).collect::<io::Result<Vec<_>>>()?;
    let mut packed = Vec::new();
    let mut heap = BinaryHeap::new();
    let mut heads: Vec<Option<Vec<u8>>> = vec![None; readers.len()];
    for (i, r) in readers.iter_mut().enumerate() {
        if let Some((tag, key, rec)) = r.next(&mut packed)? {
            heap.push(Reverse((tag, key, i)));
            heads[i] = Some(rec);
        }
    }
    let mut counts = BulkCounts::default();
    let mut conflicts = Vec::new();
    let mut group: Vec<Vec<u8>> = Vec::new();
    let mut batch = Vec::with_capacity(BATCH);
    let stopped = || io::Error::other("evidence writer stopped");
    while let Some(Reverse((tag, key, _))) = heap.peek().cloned() {
        group.clear();
        while let Some(Reverse((t, k, i))) = heap.peek() {
            if *t != tag || *k != key {
                break;
            }
            let i = *i;
            heap.pop();
            group.push(heads[i].take().unwrap_or_default());
            if let Some((t, k, rec)) = readers[i].next(&mut packed)? {
                heap.push(Reverse((t, k, i)));
                heads[i] = Some(rec);
            }
        }
        let bulk =
            Bulk::from_u8(tag).ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "bad record tag in run"))?;
        // A key seen once needs no merge: its encoded bytes go straight to the consumer.
        let merged = if group.len() == 1 {
            Merged::Encoded(std::mem::take(&mut group[0]))
        } else {
            let records = group
                .iter()
                .map(|b| postcard::from_bytes(b).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e)))
                .collect::<io::Result<Vec<Record>>>()?;
            match merge_records(bulk, records, shas, &mut conflicts)? {
                Some(m) => Merged::Decoded(Box::new(m)),
                None => continue,
            }
        };
        counts.0[bulk as usize] += 1;
        batch.push(merged);
        if batch.len() == BATCH {
            tx.send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH))).map_err(|_| stopped())?;
        }
    }
    if !batch.is_empty() {
        tx.send(batch).map_err(|_| stopped())?;
    }
    Ok((counts, conflicts))
}

fn typed_merge<T: Merge + serde::Serialize + Clone + TryFrom<Record> + Into<Record>>(
    group: Vec<Record>,
    shas: &[Sha256Digest],
    conflicts: &mut Vec<Conflict>,
) -> io::Result<Option<Record>> {
    let items = group.into_iter().map(|r| T::try_from(r).ok()).collect::<Option<Vec<T>>>();
    let items = items.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "mixed record types under one key"))?;
    Ok(merge_group(items, shas, conflicts).map(Into::into))
}

/// Read buffers of all runs of a merge together (each run 16–256 KiB).
const READ_BUDGET: usize = 8 * 1024 * 1024;

/// Merged records handed over per channel message.
const BATCH: usize = 512;

fn merge_records(
    bulk: Bulk,
    group: Vec<Record>,
    shas: &[Sha256Digest],
    conflicts: &mut Vec<Conflict>,
) -> io::Result<Option<Record>> {
    match bulk {
        Bulk::BackupJobs | Bulk::CopyJobs | Bulk::RestoreJobs => typed_merge::<Job>(group, shas, conflicts),
        Bulk::RecoveryPoints => typed_merge::<RecoveryPoint>(group, shas, conflicts),
        Bulk::Controls => typed_merge::<ControlResult>(group, shas, conflicts),
        Bulk::ResourceCompliance => typed_merge::<ResourceCompliance>(group, shas, conflicts),
        Bulk::TaggedResources => typed_merge::<TaggedResource>(group, shas, conflicts),
        Bulk::MalwareScans => typed_merge::<MalwareScan>(group, shas, conflicts),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Entries written through a `BlockWriter`, as `flush` writes them.
    fn write_run(entries: &[(u8, Vec<u8>, Vec<u8>)]) -> Vec<u8> {
        let mut w = BlockWriter::new(Vec::new());
        for (tag, key, rec) in entries {
            w.push(*tag, key, rec).unwrap();
        }
        w.finish().unwrap()
    }

    fn read_run(bytes: &[u8]) -> io::Result<Vec<RunEntry>> {
        let mut r = RunReader::new(bytes);
        let mut packed = Vec::new();
        let mut out = Vec::new();
        while let Some(e) = r.next(&mut packed)? {
            out.push(e);
        }
        Ok(out)
    }

    fn sample(n: usize) -> Vec<RunEntry> {
        (0..n)
            .map(|i| {
                let key = format!("arn:aws:backup:eu-west-1:123456789012:backup-job:{i:08}").into_bytes();
                let rec = format!("COMPLETED arn:aws:ec2:eu-west-1:123456789012:volume/vol-{:04} {i}", i % 97);
                (u8::try_from(i % 8).unwrap(), key, rec.into_bytes())
            })
            .collect()
    }

    #[test]
    fn a_run_reads_back_entry_for_entry_across_blocks() {
        let mut entries = sample(5_000);
        // An observation larger than a block gets a block of its own.
        entries.insert(2_500, (3, b"big".to_vec(), vec![b'x'; 3 * BLOCK]));
        entries.push((7, Vec::new(), Vec::new()));
        let run = write_run(&entries);
        let raw: usize = entries.iter().map(|(_, k, r)| 9 + k.len() + r.len()).sum();
        assert!(raw > 10 * BLOCK, "the sample must span many blocks");
        assert!(run.len() * 4 < raw, "sorted observations compress: {} of {raw} bytes", run.len());
        assert_eq!(read_run(&run).unwrap(), entries);
    }

    #[test]
    fn an_empty_run_has_no_entries() {
        assert!(write_run(&[]).is_empty());
        assert!(read_run(&[]).unwrap().is_empty());
    }

    #[test]
    fn a_damaged_run_is_an_error_not_a_panic() {
        let run = write_run(&sample(2_000));
        let err = |bytes: &[u8]| read_run(bytes).unwrap_err();
        for cut in [1, 7, 8, 20, run.len() - 1] {
            let e = err(&run[..cut]);
            assert_eq!(e.kind(), io::ErrorKind::InvalidData, "cut at {cut}: {e}");
            assert!(e.to_string().starts_with("corrupt spill run"), "{e}");
        }
        let mut packed_too_long = run.clone();
        packed_too_long[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(err(&packed_too_long).to_string().contains("bad block length"));
        let mut empty = run.clone();
        empty[..4].copy_from_slice(&0u32.to_le_bytes());
        assert!(err(&empty).to_string().contains("bad block length"));
        let mut flipped = run.clone();
        for b in &mut flipped[8..40] {
            *b ^= 0x5a;
        }
        assert_eq!(err(&flipped).kind(), io::ErrorKind::InvalidData);
        // A block that decodes but whose entries run past its end.
        let mut w = BlockWriter::new(Vec::new());
        w.block.extend_from_slice(&[1, 200, 0, 0, 0, b'k']);
        let short = w.finish().unwrap();
        assert!(err(&short).to_string().contains("entry cut short"));
    }
}
