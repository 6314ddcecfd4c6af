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
//! The merge is a pipeline of three stages ([`merge_runs`]): one thread merges the runs on
//! their bytes and cuts the stream into batches of whole keys; worker threads decode and merge
//! the batches, the bulk of the work; the consumer takes the results back in the order the
//! batches were cut, so what it sees does not depend on the number of workers. Memory is handed
//! back where it was allocated: a batch's buffers to the grouper, to be filled again, and its
//! records to the worker that made them, to be freed there. Freed on other threads, they were
//! reused too late: the peak at 10 M job rows rose from 244 to 301 MiB (258 MiB handed back).
//! With one thread doing all of it the merge took 3.2 s at bench scale 120; with two workers
//! 2.0–2.3 s (BENCHMARKS.md).
//!
//! A run is a sequence of LZ4 blocks of about 32 KiB of whole observations each (`[raw
//! length][compressed length][bytes]`, lengths as little-endian `u32`). Sorted observations
//! repeat their ARNs and names, so a run shrinks about 5×: the spill is the build's largest
//! write after the artifact copies (about 1.4 GB at 0.5 M jobs and 9.5 GB at 10 M job rows,
//! reckoned from the bytes written), and on the machine measured a written byte cost more than
//! compressing it (BENCHMARKS.md). Blocks are independent so that the merge holds one
//! decompressed block per run. Runs are written and read back around the page cache
//! ([`crate::direct`]), each run read in pieces of 16–256 KiB (8 MiB for all runs together).

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{self, Read, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};

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

    /// Type and merge key of a record, if it is a bulk one (borrowed where the key is a field:
    /// every observation passes here).
    pub(crate) fn of(record: &Record) -> Option<(Bulk, Cow<'_, str>)> {
        Some(match record {
            Record::Job(j) => {
                let t = match j.kind? {
                    JobKind::Backup => Bulk::BackupJobs,
                    JobKind::Copy => Bulk::CopyJobs,
                    JobKind::Restore => Bulk::RestoreJobs,
                };
                (t, Cow::Borrowed(j.job_id.as_str()))
            }
            Record::RecoveryPoint(r) => (Bulk::RecoveryPoints, Cow::Borrowed(r.recovery_point_arn.as_str())),
            Record::Control(c) => (Bulk::Controls, Cow::Owned(control_key(c))),
            Record::ResourceCompliance(r) => (Bulk::ResourceCompliance, Cow::Owned(resource_compliance_key(r))),
            Record::TaggedResource(t) => (Bulk::TaggedResources, Cow::Borrowed(t.resource_arn.as_str())),
            Record::MalwareScan(m) => (Bulk::MalwareScans, Cow::Borrowed(m.scan_job_id.as_str())),
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

/// Reads a run back one block at a time; the current observation is a view into the block.
struct RunReader<R: Read> {
    r: R,
    block: Vec<u8>,
    pos: usize,
    /// The current observation: its tag, and its key and record as ranges of `block`.
    tag: u8,
    key: Range<usize>,
    rec: Range<usize>,
}

impl<R: Read> RunReader<R> {
    fn new(r: R) -> Self {
        RunReader { r, block: Vec::new(), pos: 0, tag: 0, key: 0..0, rec: 0..0 }
    }

    /// Moves to the next observation; `false` at the end of the run. `packed` is scratch space
    /// for a compressed block, shared by all readers of a merge.
    fn advance(&mut self, packed: &mut Vec<u8>) -> io::Result<bool> {
        if self.pos == self.block.len() && !self.load(packed)? {
            return Ok(false);
        }
        self.tag = self.block[self.pos];
        let mut at = self.pos + 1;
        self.key = take_chunk(&self.block, &mut at)?;
        self.rec = take_chunk(&self.block, &mut at)?;
        self.pos = at;
        Ok(true)
    }

    fn key(&self) -> &[u8] {
        &self.block[self.key.clone()]
    }

    fn rec(&self) -> &[u8] {
        &self.block[self.rec.clone()]
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

/// The length-prefixed chunk of `block` at `*at`, moving `*at` past it.
fn take_chunk(block: &[u8], at: &mut usize) -> io::Result<Range<usize>> {
    let len = block.get(*at..*at + 4).ok_or_else(|| corrupt("entry cut short"))?;
    let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
    let chunk = *at + 4..*at + 4 + len;
    if chunk.end > block.len() {
        return Err(corrupt("entry cut short"));
    }
    *at = chunk.end;
    Ok(chunk)
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

    fn add(&mut self, other: &BulkCounts) {
        self.0.iter_mut().zip(other.0).for_each(|(n, m)| *n += m);
    }
}

/// The observations of consecutive keys, as the k-way merge hands them to a decoding worker:
/// their bytes back to back, where each ends, and each key's tag and last observation.
#[derive(Default)]
struct Groups {
    data: Vec<u8>,
    ends: Vec<usize>,
    keys: Vec<(u8, usize)>,
}

impl Groups {
    /// Emptied, keeping the room it has.
    fn cleared(mut self) -> Self {
        self.data.clear();
        self.ends.clear();
        self.keys.clear();
        self
    }
}

/// What a worker made of one [`Groups`]: the merged records in key order, the conflicts the
/// merge recorded and the records per type.
#[derive(Default)]
struct Decoded {
    records: Vec<Record>,
    conflicts: Vec<Conflict>,
    counts: BulkCounts,
}

/// A worker's result, with the way back to that worker for its records, to be freed there (a
/// free on another thread costs several times more).
type Done = io::Result<(Decoded, Sender<Vec<Record>>)>;

/// A batch of groups on its way to a worker, with where its result goes.
type Work = (Groups, SyncSender<Done>);

/// Merges all runs k-way, handing every merged record to `consume` in (type, key) order.
/// Returns the counts and the conflicts the merge recorded, in (type, key) order.
///
/// Three stages overlap: one thread merges the runs on bytes into batches of key groups,
/// `workers` threads decode and merge the batches (the bulk of the work), and `consume` runs
/// on the caller's thread, taking the batches back in the order they were made, so the
/// result does not depend on the number of workers (at most [`MAX_WORKERS`]).
///
/// # Errors
/// On I/O errors, an error from `consume`, or a corrupt run (a bug: runs are written by us).
pub(crate) fn merge_runs(
    runs: &[PathBuf],
    shas: &[Sha256Digest],
    workers: usize,
    consume: &mut dyn FnMut(&Record) -> io::Result<()>,
) -> io::Result<(BulkCounts, Vec<Conflict>)> {
    let workers = workers.clamp(1, MAX_WORKERS);
    let (work_tx, work_rx) = sync_channel::<Work>(workers);
    let (order_tx, order_rx) = sync_channel::<Receiver<Done>>(workers + 1);
    // Batches the workers are done with go back to the grouper, to be filled again.
    let (spare_tx, spare_rx) = channel::<Groups>();
    let work_rx = &Mutex::new(work_rx);
    std::thread::scope(|scope| {
        let grouper = scope.spawn(move || group_runs(runs, &work_tx, &order_tx, &spare_rx));
        let decoders: Vec<_> = (0..workers)
            .map(|_| {
                let spare = spare_tx.clone();
                scope.spawn(move || decode_batches(work_rx, shas, &spare))
            })
            .collect();
        drop(spare_tx);
        let mut counts = BulkCounts::default();
        let mut conflicts = Vec::new();
        let mut failed = None;
        for rx in order_rx.iter() {
            let batch = rx.recv().unwrap_or_else(|_| Err(io::Error::other("merge worker stopped")));
            let result = batch.and_then(|(d, home)| {
                d.records.iter().try_for_each(&mut *consume)?;
                counts.add(&d.counts);
                conflicts.extend(d.conflicts);
                let _ = home.send(d.records);
                Ok(())
            });
            if let Err(e) = result {
                failed = Some(e);
                break;
            }
        }
        drop(order_rx); // stops the grouper if we bailed out
        let grouped = grouper.join().map_err(|_| io::Error::other("merge thread panicked"))?;
        // Joined here, a worker's panic is an error, not a panic of the whole scope.
        let decoded = decoders.into_iter().map(|d| d.join()).collect::<Result<Vec<()>, _>>();
        decoded.map_err(|_| io::Error::other("merge worker panicked"))?;
        match (failed, grouped) {
            (Some(e), _) | (None, Err(e)) => Err(e),
            (None, Ok(())) => Ok((counts, conflicts)),
        }
    })
}

/// A decoding worker: takes batches until the grouper is done, hands each batch's buffers back
/// to it (`spare`), and frees the records of the batches the consumer is done with, keeping one
/// list to fill again.
fn decode_batches(work: &Mutex<Receiver<Work>>, shas: &[Sha256Digest], spare: &Sender<Groups>) {
    let (home, spent) = channel::<Vec<Record>>();
    let mut records = Vec::new();
    loop {
        while let Ok(mut done) = spent.try_recv() {
            done.clear();
            records = done;
        }
        let next = match work.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok((groups, result)) = next else { return };
        let decoded = decode(&groups, shas, std::mem::take(&mut records));
        // The grouper or the consumer may have stopped; then nobody wants these.
        let _ = spare.send(groups);
        let _ = result.send(decoded.map(|d| (d, home.clone())));
    }
}

/// Decodes each key's observations and merges them (a key seen once needs no merge), into
/// `records` (empty).
fn decode(groups: &Groups, shas: &[Sha256Digest], records: Vec<Record>) -> io::Result<Decoded> {
    let mut out = Decoded { records, ..Decoded::default() };
    let (mut obs, mut start) = (0, 0);
    // One list for the observations of every key in turn.
    let mut group = Vec::new();
    for &(tag, last) in &groups.keys {
        let bulk = Bulk::from_u8(tag).ok_or_else(|| corrupt("bad record tag"))?;
        for &end in &groups.ends[obs..last] {
            group.push(postcard::from_bytes(&groups.data[start..end]).map_err(|e| corrupt(&e.to_string()))?);
            start = end;
        }
        obs = last;
        let merged =
            if group.len() == 1 { group.pop() } else { merge_records(bulk, &mut group, shas, &mut out.conflicts)? };
        if let Some(record) = merged {
            out.counts.0[bulk as usize] += 1;
            out.records.push(record);
        }
    }
    Ok(out)
}

/// The k-way merge on bytes: observations of one key come together; every [`BATCH`] keys go
/// to a worker, and the worker's result channel to the consumer, in order.
fn group_runs(
    runs: &[PathBuf],
    work: &SyncSender<Work>,
    order: &SyncSender<Receiver<Done>>,
    spare: &Receiver<Groups>,
) -> io::Result<()> {
    let piece = (READ_BUDGET / runs.len().max(1)).clamp(16 * 1024, 256 * 1024);
    let mut readers =
        runs.iter().map(|p| Ok(RunReader::new(DirectReader::open(p, piece)?))).collect::<io::Result<Vec<_>>>()?;
    let mut packed = Vec::new();
    let mut heap = BinaryHeap::new();
    for (i, r) in readers.iter_mut().enumerate() {
        if r.advance(&mut packed)? {
            heap.push(Reverse((r.tag, r.key().to_vec(), i)));
        }
    }
    let stopped = || io::Error::other("evidence writer stopped");
    let mut batch = Groups::default();
    let mut current = Vec::new();
    while let Some(Reverse((tag, key, _))) = heap.peek() {
        let tag = *tag;
        current.clear();
        current.extend_from_slice(key);
        while heap.peek().is_some_and(|Reverse((t, k, _))| *t == tag && *k == current) {
            let Some(Reverse((_, mut key, i))) = heap.pop() else { break };
            let reader = &mut readers[i];
            batch.data.extend_from_slice(reader.rec());
            batch.ends.push(batch.data.len());
            if reader.advance(&mut packed)? {
                key.clear();
                key.extend_from_slice(reader.key());
                heap.push(Reverse((reader.tag, key, i)));
            }
        }
        batch.keys.push((tag, batch.ends.len()));
        if batch.keys.len() == BATCH || heap.is_empty() {
            let (tx, rx) = sync_channel(1);
            let next = spare.try_recv().map(Groups::cleared).unwrap_or_default();
            work.send((std::mem::replace(&mut batch, next), tx)).map_err(|_| stopped())?;
            order.send(rx).map_err(|_| stopped())?;
        }
    }
    Ok(())
}

fn typed_merge<T: Merge + serde::Serialize + Clone + TryFrom<Record> + Into<Record>>(
    group: &mut Vec<Record>,
    shas: &[Sha256Digest],
    conflicts: &mut Vec<Conflict>,
) -> io::Result<Option<Record>> {
    let items = group.drain(..).map(|r| T::try_from(r).ok()).collect::<Option<Vec<T>>>();
    let items = items.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "mixed record types under one key"))?;
    Ok(merge_group(items, shas, conflicts).map(Into::into))
}

/// Read buffers of all runs of a merge together (each run 16–256 KiB).
const READ_BUDGET: usize = 8 * 1024 * 1024;

/// Keys per batch handed to a decoding worker.
const BATCH: usize = 512;

/// Decoding workers at most, whatever `--threads` says: each holds up to two batches in
/// memory, and past a few the writer's thread bounds the merge anyway.
const MAX_WORKERS: usize = 4;

/// Merges the observations of one key, leaving `group` empty.
fn merge_records(
    bulk: Bulk,
    group: &mut Vec<Record>,
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
    use super::super::model::{Locator, Provenance};
    use super::*;
    use crate::time::Timestamp;

    type RunEntry = (u8, Vec<u8>, Vec<u8>);

    /// Entries written through a `BlockWriter`, as `flush` writes them.
    fn write_run(entries: &[RunEntry]) -> Vec<u8> {
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
        while r.advance(&mut packed)? {
            out.push((r.tag, r.key().to_vec(), r.rec().to_vec()));
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

    fn job(artifact: u32, kind: JobKind, id: &str, state: &str, at: i64) -> Record {
        Record::Job(Job {
            kind: Some(kind),
            job_id: id.into(),
            state: Some(state.into()),
            observed_at: Some(Timestamp(at)),
            provenance: vec![Provenance { artifact, locator: Locator::Line(2) }],
            ..Job::default()
        })
    }

    /// Runs of three writers with small arenas (several runs each) holding 1 000 jobs of each
    /// kind, in no order, job `i` seen `1 + i % 3` times. Every fifth job's observations share
    /// one time, and its second says FAILED: a tie the merge records as a conflict when there
    /// is a second (i = 5, 10 mod 15).
    fn spilled(dir: &Path) -> Vec<PathBuf> {
        let mut writers: Vec<SpillWriter> =
            (0..3).map(|w| SpillWriter::new(dir, &format!("w{w}"), 16 * 1024)).collect();
        for i in 0..3000u32 {
            let kind = [JobKind::Backup, JobKind::Copy, JobKind::Restore][i as usize % 3];
            let id = format!("job-{:05}", i * 7919 % 3000);
            for n in 0..=i % 3 {
                let tie = i % 5 == 0;
                let state = if tie && n == 1 { "FAILED" } else { "COMPLETED" };
                let record = job(n, kind, &id, state, if tie { 100 } else { 100 + i64::from(n) });
                let (bulk, key) = Bulk::of(&record).unwrap();
                writers[((i + n) % 3) as usize].push(bulk, &key, &record).unwrap();
            }
        }
        writers.into_iter().flat_map(|w| w.finish().unwrap()).collect()
    }

    fn merged(runs: &[PathBuf], workers: usize) -> io::Result<(Vec<Record>, BulkCounts, Vec<Conflict>)> {
        let shas: Vec<Sha256Digest> = (0..3).map(|i| Sha256Digest([i; 32])).collect();
        let mut out = Vec::new();
        let (counts, conflicts) = merge_runs(runs, &shas, workers, &mut |r| {
            out.push(r.clone());
            Ok(())
        })?;
        Ok((out, counts, conflicts))
    }

    #[test]
    fn the_merge_hands_over_each_key_once_in_order_whatever_the_number_of_workers() {
        let dir = tempfile::tempdir().unwrap();
        let runs = spilled(dir.path());
        assert!(runs.len() > 6, "several runs per writer: {}", runs.len());
        let (records, counts, conflicts) = merged(&runs, 1).unwrap();
        assert!(records.len() > 4 * BATCH, "the records span several batches");
        let keys: Vec<(Bulk, String)> =
            records.iter().map(|r| Bulk::of(r).map(|(b, k)| (b, k.into_owned())).unwrap()).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "each key once, in (type, key) order");
        let kinds = [Bulk::BackupJobs, Bulk::CopyJobs, Bulk::RestoreJobs].map(|b| counts.get(b));
        assert_eq!(kinds, [1000; 3]);
        let Some(Record::Job(once)) = records.iter().find(|r| Bulk::of(r).unwrap().1 == "job-00000") else {
            panic!("job-00000 is missing")
        };
        assert_eq!((once.state.as_deref(), once.provenance.len()), (Some("COMPLETED"), 1), "i = 0 is seen once");
        let Some(Record::Job(tied)) =
            records.iter().find(|r| Bulk::of(r).unwrap().1 == format!("job-{:05}", 10 * 7919 % 3000))
        else {
            panic!("job of i = 10 is missing")
        };
        assert_eq!((tied.state.as_deref(), tied.provenance.len()), (Some("FAILED"), 2), "the less favourable state");
        assert_eq!(conflicts.len(), 400, "i = 5, 10 (mod 15): two states at one time");
        for workers in [2, 5] {
            let again = merged(&runs, workers).unwrap();
            assert!(again == (records.clone(), counts, conflicts.clone()), "{workers} workers");
        }
    }

    #[test]
    fn an_error_of_the_consumer_or_a_cut_run_ends_the_merge_with_that_error() {
        let dir = tempfile::tempdir().unwrap();
        let runs = spilled(dir.path());
        let mut seen = 0;
        let shas = [Sha256Digest([0; 32]); 3];
        let err = merge_runs(&runs, &shas, 2, &mut |_| {
            seen += 1;
            if seen == 2 * BATCH + 7 { Err(io::Error::other("disk full")) } else { Ok(()) }
        })
        .unwrap_err();
        assert_eq!((err.to_string().as_str(), seen), ("disk full", 2 * BATCH + 7));
        let run = std::fs::read(&runs[1]).unwrap();
        std::fs::write(&runs[1], &run[..run.len() / 2]).unwrap();
        let err = merged(&runs, 2).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
        assert!(err.to_string().starts_with("corrupt spill run"), "{err}");
    }
}
