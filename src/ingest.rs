//! Ingest: recognise an artifact by its content and parse it into evidence records.
//!
//! One parser per format family: Backup Audit Manager CSV reports ([`report_csv`]), JSON
//! reports and AWS CLI-shaped API snapshots ([`json`]), and Audit Manager assessment-report
//! zips ([`assessment_zip`]). Parsers stream: records go to a [`Sink`] as they are read, so a
//! file's size does not bound memory. Bad input never panics: each problem goes to
//! [`Sink::error`] with the place it was found (CSV line, JSON pointer or line/column), and
//! parsing carries on where the format allows.
//!
//! Classification is by content, never by path (DESIGN §2); the path only supplies hints
//! ([`PathHint`]): a snapshot is observed at the last path component that is an RFC 3339 UTC
//! timestamp, whatever the layout (`collected/<account>/<region>/<ts>/…`,
//! `exports/<ts>/<account>-<region>/…`, an S3 prefix); account and Region come from the
//! conventional layouts. The whole location is read: the full S3 key, the absolute local path.
//!
//! Semantics v2 (DESIGN §3), bad fields: a record is dropped only when its id, its state or its
//! creation time cannot be read ([`fields::FieldSink::essential`]). Any other unreadable field
//! is left empty and reported to [`Sink::error`] at its place (CSV: `line N` and the column;
//! JSON: the pointer), and the record is still emitted — so the job still counts, and the
//! artifact is marked as having problems.

pub mod assessment_zip;
pub(crate) mod fields;
pub(crate) mod json;
pub(crate) mod report_csv;
pub(crate) mod utf16;

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use crate::ablation::{self, Stage};
use crate::evidence::Record;
pub use crate::evidence::kind::{ArtifactKind, Format, Sink, VecSink};
use crate::evidence::model::Provenance;
use crate::evidence::table::Observed;
use crate::time::Timestamp;

/// The bytes of an artifact: in memory, or a stored file to stream.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    /// The whole artifact in memory.
    Bytes(&'a [u8]),
    /// A file to stream (large artifacts).
    File(&'a Path),
}

/// Hints taken from an artifact's path (never its classification).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathHint {
    /// Account id from `collected/<account>/…`, `Backup/<account>/…` or `<account>-<region>`.
    pub account: Option<String>,
    /// Region from the same layouts.
    pub region: Option<String>,
    /// Snapshot time: the last path component that is an RFC 3339 UTC timestamp.
    pub observed_at: Option<Timestamp>,
}

impl PathHint {
    /// Reads a `/`-separated path (DESIGN §2, §3 v2). The observation time is the **last**
    /// component that is an RFC 3339 UTC timestamp, whatever the layout. Account and Region
    /// come from `collected/<account>/<region>/…`, `Backup/<account|crossaccount>/<region|
    /// crossregion>/…` or a component `<account>-<region>` (`exports/<ts>/<account>-<region>/…`);
    /// the layout nearest the file wins.
    pub fn from_path(path: &str) -> Self {
        let parts: Vec<&str> = path.split('/').collect();
        let observed_at = parts.iter().rev().find_map(|p| utc_component(p));
        let mut hint = PathHint { observed_at, ..PathHint::default() };
        for (i, p) in parts.iter().enumerate() {
            let next = |k: usize| parts.get(i + k).copied().unwrap_or("");
            let scope = if *p == "collected" && is_account(next(1)) {
                Some((Some(next(1)), is_region(next(2)).then(|| next(2))))
            } else if *p == "Backup"
                && (is_account(next(1)) || next(1) == "crossaccount")
                && (is_region(next(2)) || next(2) == "crossregion")
            {
                Some((is_account(next(1)).then(|| next(1)), is_region(next(2)).then(|| next(2))))
            } else {
                p.split_once('-').filter(|(a, r)| is_account(a) && is_region(r)).map(|(a, r)| (Some(a), Some(r)))
            };
            if let Some((account, region)) = scope {
                hint.account = account.map(str::to_owned);
                hint.region = region.map(str::to_owned);
            }
        }
        hint
    }

    /// Hints for a listed input file, read from its whole location: the full S3 key (its
    /// `relative` path, prefix included), or the local path made absolute — the time may sit
    /// in the S3 prefix or in the input folder the user named (`…/2026-07-08T06:00:00Z/`).
    pub fn for_file(origin: &str, relative: &str) -> Self {
        if origin.starts_with("s3://") {
            return PathHint::from_path(relative);
        }
        let full = std::path::absolute(origin).map_or_else(|_| origin.to_owned(), |p| p.to_string_lossy().into_owned());
        PathHint::from_path(&full.replace('\\', "/"))
    }
}

fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// `eu-central-1`, `us-gov-west-1`: lower-case words, the first letters, the last digits.
fn is_region(s: &str) -> bool {
    let words: Vec<&str> = s.split('-').collect();
    words.len() >= 3
        && words[0].bytes().all(|b| b.is_ascii_lowercase())
        && words.iter().all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
        && words[words.len() - 1].bytes().all(|b| b.is_ascii_digit())
}

/// A path component that is exactly an RFC 3339 UTC timestamp (`2026-08-01T00:00:00Z`,
/// fractions allowed).
fn utc_component(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    let shape = b.len() >= 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10].eq_ignore_ascii_case(&b'T')
        && b[13] == b':'
        && b[16] == b':'
        && b[b.len() - 1].eq_ignore_ascii_case(&b'Z');
    if shape { Timestamp::parse(s).ok() } else { None }
}

/// What the parser needs to know about the artifact besides its bytes.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Index of the artifact in the build's table (goes into every provenance).
    pub artifact: u32,
    /// File name (template hints such as `BACKUP_JOB_REPORT_…`).
    pub file_name: String,
    /// Hints from the path.
    pub hint: PathHint,
}

/// Parses one artifact, sending records and errors to `sink`.
///
/// Returns what the artifact is. I/O errors reading a stored file are returned; everything
/// wrong with the content goes to the sink.
///
/// # Errors
/// Only when a stored file cannot be read.
pub fn parse(input: Input<'_>, ctx: &Context, sink: &mut dyn Sink) -> io::Result<(ArtifactKind, Format)> {
    if ablation::left_out(Stage::Parse) {
        return Ok((ArtifactKind::Unclassified, Format::Other));
    }
    let mut head = [0u8; 512];
    let head_len = match input {
        Input::Bytes(b) => {
            let n = b.len().min(head.len());
            head[..n].copy_from_slice(&b[..n]);
            n
        }
        Input::File(p) => read_head(p, &mut head)?,
    };
    if let Some(endian) = utf16::bom(&head[..head_len]) {
        return parse_utf16(input, endian, &head[..head_len], ctx, sink);
    }
    let head = strip_bom(&head[..head_len]);
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        let kind = match input {
            Input::Bytes(b) => assessment_zip::parse(io::Cursor::new(b), ctx, sink),
            Input::File(p) => assessment_zip::parse(BufReader::new(File::open(p)?), ctx, sink),
        };
        return Ok((kind, Format::Zip));
    }
    let first = head.iter().copied().find(|b| !b.is_ascii_whitespace());
    if matches!(first, Some(b'{') | Some(b'[')) {
        let kind = match input {
            Input::Bytes(b) => json::parse_slice(strip_bom(b), ctx, sink),
            Input::File(p) => {
                let mut r = BufReader::with_capacity(1 << 20, File::open(p)?);
                skip_bom(&mut r)?;
                json::parse_reader(r, ctx, sink)
            }
        };
        return Ok((kind, Format::Json));
    }
    if let Some((template, delimiter)) = report_csv::detect(head) {
        let kind = match input {
            Input::Bytes(b) => report_csv::parse(strip_bom(b), template, delimiter, ctx, sink),
            Input::File(p) => {
                let mut r = BufReader::with_capacity(1 << 20, File::open(p)?);
                skip_bom(&mut r)?;
                report_csv::parse(r, template, delimiter, ctx, sink)
            }
        };
        return Ok((kind, Format::Csv));
    }
    Ok((ArtifactKind::Unclassified, Format::Other))
}

/// A file with a UTF-16 BOM (Excel's "Unicode Text", tab separated): decoded to UTF-8 while
/// streaming, then classified and parsed like any other file. What is not valid UTF-16 is
/// reported where it is (see [`utf16`]).
fn parse_utf16(
    input: Input<'_>,
    endian: utf16::Endian,
    raw_head: &[u8],
    ctx: &Context,
    sink: &mut dyn Sink,
) -> io::Result<(ArtifactKind, Format)> {
    let head = utf16::decode_head(raw_head, endian);
    let first = head.iter().copied().find(|b| !b.is_ascii_whitespace());
    fn open(input: Input<'_>, endian: utf16::Endian) -> io::Result<utf16::Utf16Reader<Box<dyn Read + '_>>> {
        let reader: Box<dyn Read + '_> = match input {
            Input::Bytes(b) => Box::new(b.get(2..).unwrap_or_default()),
            Input::File(p) => {
                let mut r = BufReader::with_capacity(1 << 20, File::open(p)?);
                r.seek_relative(2)?;
                Box::new(r)
            }
        };
        Ok(utf16::Utf16Reader::new(reader, endian))
    }
    let mut sink = Utf16Sink(sink);
    if matches!(first, Some(b'{') | Some(b'[')) {
        let kind = json::parse_reader(BufReader::new(open(input, endian)?), ctx, &mut sink);
        return Ok((kind, Format::Json));
    }
    if let Some((template, delimiter)) = report_csv::detect(&head) {
        let kind = report_csv::parse(open(input, endian)?, template, delimiter, ctx, &mut sink);
        return Ok((kind, Format::Csv));
    }
    Ok((ArtifactKind::Unclassified, Format::Other))
}

/// Names the encoding in the messages about bytes that are not text (the decoder's stand-in
/// for bad UTF-16 is a byte that is not UTF-8).
struct Utf16Sink<'a>(&'a mut dyn Sink);

impl Sink for Utf16Sink<'_> {
    fn record(&mut self, record: Record) {
        self.0.record(record);
    }
    fn error(&mut self, locator: String, message: String) {
        let message = if message.contains("UTF-8") || message.contains("unicode code point") {
            format!("{message} (in a UTF-16 file: an unpaired surrogate or an odd trailing byte)")
        } else {
            message
        };
        self.0.error(locator, message);
    }
}

fn read_head(path: &Path, buf: &mut [u8]) -> io::Result<usize> {
    let mut f = File::open(path)?;
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

fn strip_bom(b: &[u8]) -> &[u8] {
    b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b)
}

fn skip_bom<R: io::BufRead>(r: &mut R) -> io::Result<()> {
    if r.fill_buf()?.starts_with(b"\xEF\xBB\xBF") {
        r.consume(3);
    }
    Ok(())
}

/// Fills what every record gets from its context: provenance, observation time (path hint
/// when the row has none), and account/Region (from the record's ARN, else from the path;
/// which ARN is part of each table's declaration).
pub(crate) fn complete(record: &mut Record, ctx: &Context, locator: crate::evidence::model::Locator) {
    let prov = Provenance { artifact: ctx.artifact, locator };
    let observed: &mut dyn Observed = match record {
        Record::AssessmentReport(r) => return r.provenance.push(prov),
        Record::ZipMember(r) => return r.provenance = prov,
        Record::Job(r) => r,
        Record::RecoveryPoint(r) => r,
        Record::Control(r) => r,
        Record::ResourceCompliance(r) => r,
        Record::Vault(r) => r,
        Record::LegalHold(r) => r,
        Record::Alarm(r) => r,
        Record::TaggedResource(r) => r,
        Record::Plan(r) => r,
        Record::Selection(r) => r,
        Record::Integrity(r) => r,
        Record::Gap(r) => r,
        Record::BackupRule(r) => r,
        Record::BackupSelection(r) => r,
        Record::VaultNotification(r) => r,
        Record::VaultAccessPolicy(r) => r,
        Record::EventRule(r) => r,
        Record::SnsSubscription(r) => r,
        Record::ProtectedResource(r) => r,
        Record::MalwareScan(r) => r,
    };
    let hint = &ctx.hint;
    observed.observe(prov, hint.observed_at, hint.account.as_deref(), hint.region.as_deref());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_hints() {
        let h = PathHint::from_path("x/collected/111122223333/eu-central-1/2026-07-08T06:00:00Z/list-backup-jobs.json");
        assert_eq!(h.account.as_deref(), Some("111122223333"));
        assert_eq!(h.region.as_deref(), Some("eu-central-1"));
        // 2026-07-08T06:00:00Z = 20 642 days after 1970-01-01, plus 6 h.
        assert_eq!(h.observed_at, Some(Timestamp(20_642 * 86_400_000 + 6 * 3_600_000)));
        let h = PathHint::from_path("Backup/crossaccount/eu-west-1/2026/07/08/plan/r.csv");
        assert_eq!(h.account, None);
        assert_eq!(h.region.as_deref(), Some("eu-west-1"));
        assert_eq!(h.observed_at, None);
        assert_eq!(PathHint::from_path("notes.txt"), PathHint::default());
        // A folder merely named Backup higher up does not hide the layout below it.
        let h = PathHint::from_path("/mnt/Backup/old/collected/111122223333/us-gov-west-1/2026-07-08T06:00:00Z/a.json");
        assert_eq!(h.region.as_deref(), Some("us-gov-west-1"));
    }

    #[test]
    fn observation_time_is_the_last_utc_component_in_any_layout() {
        let ts = |s: &str| Some(Timestamp::parse(s).unwrap());
        let h = PathHint::from_path("exports/2026-07-08T06:00:00Z/111122223333-eu-central-1/list-backup-jobs.json");
        assert_eq!(h.observed_at, ts("2026-07-08T06:00:00Z"));
        assert_eq!(h.account.as_deref(), Some("111122223333"));
        assert_eq!(h.region.as_deref(), Some("eu-central-1"));
        // The last of several wins; fractions are fine.
        let h = PathHint::from_path("runs/2026-07-01T00:00:00Z/rerun/2026-07-02T12:30:00.5Z/jobs.json");
        assert_eq!(h.observed_at, Some(Timestamp(20_636 * 86_400_000 + 12 * 3_600_000 + 30 * 60_000 + 500)));
        // Not RFC 3339 UTC components: a date, a day folder, an offset, epoch digits, a name with a time in it.
        let h = PathHint::from_path(
            "2026-07-08/2026/07/08/2026-07-08T06:00:00+02:00/1783000000/j_2026-07-08T06:00:00Z.json",
        );
        assert_eq!(h.observed_at, None);
        // S3: the time sits in the input prefix; the hint reads the whole key.
        let key = "exports/2026-07-08T06:00:00Z/jobs.json";
        let h = PathHint::for_file(&format!("s3://bucket/{key}?versionId=3"), key);
        assert_eq!(h.observed_at, ts("2026-07-08T06:00:00Z"));
        // A local input root that is itself the time folder: the path below it has no time.
        let h = PathHint::for_file("/data/exports/2026-07-08T06:00:00Z/jobs.json", "jobs.json");
        assert_eq!(h.observed_at, ts("2026-07-08T06:00:00Z"));
        let h = PathHint::for_file("exports/2026-07-09T06:00:00Z/jobs.json", "jobs.json");
        assert_eq!(h.observed_at, ts("2026-07-09T06:00:00Z"), "a relative input is made absolute, not cut");
    }
}
