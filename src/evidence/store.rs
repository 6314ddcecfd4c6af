//! Disk-backed merge of the bulky records (jobs, recovery points, compliance rows).
//!
//! A quarter can hold millions of job observations, more than should sit in memory. Each
//! parse worker appends observations, encoded with `postcard`, to an in-memory arena; when the
//! arena is full it is sorted by (record type, key) and written out as a run. After parsing,
//! the runs are merged k-way: observations of one key arrive together, are merged
//! ([`super::merge`]) and written, one record per key, to a file per record type that later
//! stages read back in key order. Memory stays bounded by the arena size and the number of
//! runs, whatever the size of the quarter.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use super::Record;
use super::merge::{Merge, control_key, merge_group, resource_compliance_key};
use super::model::{ControlResult, Job, JobKind, RecoveryPoint, ResourceCompliance};
use crate::artifact::Sha256Digest;

/// Record types kept on disk, in output order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Bulk {
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
}

impl Bulk {
    const ALL: [Bulk; 6] = [
        Bulk::BackupJobs,
        Bulk::CopyJobs,
        Bulk::RestoreJobs,
        Bulk::RecoveryPoints,
        Bulk::Controls,
        Bulk::ResourceCompliance,
    ];

    fn from_u8(v: u8) -> Option<Bulk> {
        Bulk::ALL.get(usize::from(v)).copied()
    }

    /// Type and merge key of a record, if it is a bulk one.
    pub fn of(record: &Record) -> Option<(Bulk, String)> {
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
            _ => return None,
        })
    }
}

/// Where one worker's observations go: an arena flushed to sorted runs.
#[derive(Debug)]
pub struct SpillWriter {
    dir: PathBuf,
    name: String,
    arena: Vec<u8>,
    index: Vec<Entry>,
    runs: Vec<PathBuf>,
    budget: usize,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    tag: u8,
    key: (u32, u32),
    rec: (u32, u32),
}

impl SpillWriter {
    /// A writer whose runs go to `dir/<name>-<n>.run`, flushing at `budget` bytes.
    pub fn new(dir: &Path, name: &str, budget: usize) -> Self {
        SpillWriter {
            dir: dir.to_path_buf(),
            name: name.to_owned(),
            arena: Vec::new(),
            index: Vec::new(),
            runs: Vec::new(),
            budget,
        }
    }

    /// Adds one observation.
    ///
    /// # Errors
    /// When a full arena cannot be written out.
    pub fn push(&mut self, tag: Bulk, key: &str, record: &Record) -> io::Result<()> {
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
        let mut w = BufWriter::with_capacity(1 << 20, File::create(&path)?);
        for e in &self.index {
            w.write_all(&[e.tag])?;
            w.write_all(&e.key.1.to_le_bytes())?;
            w.write_all(key(e))?;
            w.write_all(&e.rec.1.to_le_bytes())?;
            w.write_all(&arena[e.rec.0 as usize..(e.rec.0 + e.rec.1) as usize])?;
        }
        w.flush()?;
        self.runs.push(path);
        self.arena.clear();
        self.index.clear();
        Ok(())
    }

    /// Writes what is left and returns the runs.
    ///
    /// # Errors
    /// On write errors.
    pub fn finish(mut self) -> io::Result<Vec<PathBuf>> {
        self.flush()?;
        Ok(self.runs)
    }
}

struct RunReader {
    r: BufReader<File>,
}

type RunEntry = (u8, Vec<u8>, Vec<u8>);

impl RunReader {
    fn next(&mut self) -> io::Result<Option<RunEntry>> {
        let mut tag = [0u8; 1];
        match self.r.read_exact(&mut tag) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e),
        }
        let key = read_chunk(&mut self.r)?;
        let rec = read_chunk(&mut self.r)?;
        Ok(Some((tag[0], key, rec)))
    }
}

fn read_chunk(r: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len)?;
    let mut v = vec![0u8; u32::from_le_bytes(len) as usize];
    r.read_exact(&mut v)?;
    Ok(v)
}

/// Merged bulk records, one file per type, in key order.
#[derive(Debug)]
pub struct MergedStore {
    files: Vec<(Bulk, PathBuf, u64)>,
}

/// Merges all runs into one file per record type in `dir`, handing every merged record to
/// `consume` in (type, key) order; returns the store.
///
/// The k-way merge runs on its own thread and `consume` on the caller's, so writing the
/// evidence CSVs overlaps with merging.
///
/// # Errors
/// On I/O errors, an error from `consume`, or a corrupt run (a bug: runs are written by us).
pub fn merge_runs(
    runs: &[PathBuf],
    dir: &Path,
    shas: &[Sha256Digest],
    consume: &mut dyn FnMut(&Record) -> io::Result<()>,
) -> io::Result<MergedStore> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Vec<u8>>>(16);
    std::thread::scope(|scope| {
        let producer = scope.spawn(move || produce(runs, dir, shas, tx));
        let mut failed = None;
        'batches: for batch in rx.iter() {
            for bytes in batch {
                let result = postcard::from_bytes::<Record>(&bytes)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
                    .and_then(|r| consume(&r));
                if let Err(e) = result {
                    failed = Some(e);
                    break 'batches;
                }
            }
        }
        drop(rx); // stops the producer if we bailed out
        let store = producer.join().map_err(|_| io::Error::other("merge thread panicked"))?;
        match failed {
            Some(e) => Err(e),
            None => store,
        }
    })
}

/// The merge itself: runs in, merged files and batches of encoded records out.
fn produce(
    runs: &[PathBuf],
    dir: &Path,
    shas: &[Sha256Digest],
    tx: std::sync::mpsc::SyncSender<Vec<Vec<u8>>>,
) -> io::Result<MergedStore> {
    let mut readers = runs
        .iter()
        .map(|p| Ok(RunReader { r: BufReader::with_capacity(64 * 1024, File::open(p)?) }))
        .collect::<io::Result<Vec<_>>>()?;
    let mut heap = BinaryHeap::new();
    let mut heads: Vec<Option<Vec<u8>>> = vec![None; readers.len()];
    for (i, r) in readers.iter_mut().enumerate() {
        if let Some((tag, key, rec)) = r.next()? {
            heap.push(Reverse((tag, key, i)));
            heads[i] = Some(rec);
        }
    }
    let mut writers: Vec<Option<(BufWriter<File>, PathBuf, u64)>> = (0..Bulk::ALL.len()).map(|_| None).collect();
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
            if let Some((t, k, rec)) = readers[i].next()? {
                heap.push(Reverse((t, k, i)));
                heads[i] = Some(rec);
            }
        }
        let bulk =
            Bulk::from_u8(tag).ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "bad record tag in run"))?;
        // A key seen once needs no merge: its encoded bytes are already the output.
        let bytes = if group.len() == 1 {
            std::mem::take(&mut group[0])
        } else {
            let records = group
                .iter()
                .map(|b| postcard::from_bytes(b).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e)))
                .collect::<io::Result<Vec<Record>>>()?;
            match merge_records(bulk, records, shas)? {
                Some(m) => postcard::to_allocvec(&m).map_err(io::Error::other)?,
                None => continue,
            }
        };
        let slot = &mut writers[bulk as usize];
        if slot.is_none() {
            let path = dir.join(format!("merged-{}.bin", bulk as u8));
            *slot = Some((BufWriter::with_capacity(1 << 20, File::create(&path)?), path, 0));
        }
        if let Some((w, _, n)) = slot.as_mut() {
            w.write_all(&(bytes.len() as u32).to_le_bytes())?;
            w.write_all(&bytes)?;
            *n += 1;
        }
        batch.push(bytes);
        if batch.len() == BATCH {
            tx.send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH))).map_err(|_| stopped())?;
        }
    }
    if !batch.is_empty() {
        tx.send(batch).map_err(|_| stopped())?;
    }
    let mut files = Vec::new();
    for (i, slot) in writers.into_iter().enumerate() {
        if let Some((mut w, path, n)) = slot {
            w.flush()?;
            files.push((Bulk::ALL[i], path, n));
        }
    }
    Ok(MergedStore { files })
}

/// Merged records handed over per channel message.
const BATCH: usize = 512;

fn merge_records(bulk: Bulk, group: Vec<Record>, shas: &[Sha256Digest]) -> io::Result<Option<Record>> {
    fn typed<T: Merge>(
        group: Vec<Record>,
        shas: &[Sha256Digest],
        pick: fn(Record) -> Option<T>,
        wrap: fn(T) -> Record,
    ) -> io::Result<Option<Record>> {
        let items = group.into_iter().map(pick).collect::<Option<Vec<T>>>();
        let items =
            items.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "mixed record types under one key"))?;
        Ok(merge_group(items, shas).map(wrap))
    }
    match bulk {
        Bulk::BackupJobs | Bulk::CopyJobs | Bulk::RestoreJobs => {
            typed::<Job>(group, shas, |r| if let Record::Job(j) = r { Some(j) } else { None }, Record::Job)
        }
        Bulk::RecoveryPoints => typed::<RecoveryPoint>(
            group,
            shas,
            |r| if let Record::RecoveryPoint(j) = r { Some(j) } else { None },
            Record::RecoveryPoint,
        ),
        Bulk::Controls => typed::<ControlResult>(
            group,
            shas,
            |r| if let Record::Control(j) = r { Some(j) } else { None },
            Record::Control,
        ),
        Bulk::ResourceCompliance => typed::<ResourceCompliance>(
            group,
            shas,
            |r| if let Record::ResourceCompliance(j) = r { Some(j) } else { None },
            Record::ResourceCompliance,
        ),
    }
}

impl MergedStore {
    /// Number of merged records of a type.
    pub fn count(&self, bulk: Bulk) -> u64 {
        self.files.iter().find(|f| f.0 == bulk).map_or(0, |f| f.2)
    }

    /// Reads the merged records of a type back, in key order.
    ///
    /// # Errors
    /// When the file cannot be opened.
    pub fn iter(&self, bulk: Bulk) -> io::Result<MergedIter> {
        let r = match self.files.iter().find(|f| f.0 == bulk) {
            Some((_, p, _)) => Some(BufReader::with_capacity(256 * 1024, File::open(p)?)),
            None => None,
        };
        Ok(MergedIter { r })
    }
}

/// Iterator over merged records of one type.
pub struct MergedIter {
    r: Option<BufReader<File>>,
}

impl Iterator for MergedIter {
    type Item = io::Result<Record>;

    fn next(&mut self) -> Option<io::Result<Record>> {
        let r = self.r.as_mut()?;
        let mut len = [0u8; 4];
        match r.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return None,
            Err(e) => return Some(Err(e)),
        }
        let mut buf = vec![0u8; u32::from_le_bytes(len) as usize];
        if let Err(e) = r.read_exact(&mut buf) {
            return Some(Err(e));
        }
        Some(postcard::from_bytes(&buf).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e)))
    }
}
