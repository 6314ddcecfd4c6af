//! Backup Audit Manager reports in CSV.
//!
//! Columns are matched by normalised name ([`super::fields::NormKey`]), so Title Case,
//! quoted, `[...]`-suffixed and snake_case headers all work, extra columns (such as
//! `path_to_root`) are ignored and missing optional ones stay empty. A UTF-8 BOM and CRLF line
//! ends are accepted. The template is recognised from the header: the job-id column for job
//! reports (`scanJobId` for MALWARE_JOB_REPORT), the compliance-status column for compliance
//! reports.
//!
//! Problems are reported at `line N` with the column named in the message. A row is dropped
//! only when its id, its state or its creation time cannot be read (or it is not a row of the
//! header's shape); any other bad cell is left empty, reported, and the row still gives its
//! record (DESIGN §3 v2).

use std::io::Read;

use super::fields::{FieldSink, NormKey, Scalar};
use super::{ArtifactKind, Context, Sink, complete};
use crate::evidence::Record;
use crate::evidence::model::{ControlResult, Job, JobKind, Locator, MalwareScan, ResourceCompliance};

/// Which report template a header belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Template {
    /// Backup, copy or restore job report (the job-id column tells which).
    Jobs(ArtifactKind),
    /// CONTROL_COMPLIANCE_REPORT.
    Control,
    /// RESOURCE_COMPLIANCE_REPORT.
    Resource,
    /// MALWARE_JOB_REPORT (also named SCAN_JOB_REPORT): malware scans of recovery points.
    Scan,
}

/// Recognises a report template from the first line of a file, and its delimiter: a comma,
/// or a tab (Excel's "Unicode Text" and other tab-separated exports) when the header has tabs
/// and no commas outside them. A header cut by the end of `head` is read as far as it goes.
pub(crate) fn detect(head: &[u8]) -> Option<(Template, u8)> {
    let end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
    let line = match std::str::from_utf8(&head[..end]) {
        Ok(line) => line,
        // The head may end inside a multi-byte character.
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&head[..e.valid_up_to()]).ok()?,
        Err(_) => return None,
    };
    [b',', b'\t'].into_iter().find_map(|delimiter| {
        if !line.contains(char::from(delimiter)) {
            return None;
        }
        let keys: Vec<NormKey> = line.split(char::from(delimiter)).map(NormKey::new).collect();
        template_of(keys.iter().map(NormKey::as_bytes)).map(|t| (t, delimiter))
    })
}

pub(crate) fn template_of<'a>(keys: impl Iterator<Item = &'a [u8]> + Clone) -> Option<Template> {
    let has = |k: &str| keys.clone().any(|x| x == k.as_bytes());
    if has("scanjobid") {
        Some(Template::Scan)
    } else if has("restorejobid") {
        Some(Template::Jobs(ArtifactKind::RestoreJobReport))
    } else if has("copyjobid") {
        Some(Template::Jobs(ArtifactKind::CopyJobReport))
    } else if has("backupjobid") {
        Some(Template::Jobs(ArtifactKind::BackupJobReport))
    } else if has("resourcecompliancestatus") {
        Some(Template::Resource)
    } else if has("controlcompliancestatus") {
        Some(Template::Control)
    } else {
        None
    }
}

/// Parses a CSV report (BOM already removed; UTF-16 already decoded) with the `delimiter`
/// [`detect`] found, streaming rows into `sink`.
pub(crate) fn parse<R: Read>(
    reader: R,
    template: Template,
    delimiter: u8,
    ctx: &Context,
    sink: &mut dyn Sink,
) -> ArtifactKind {
    let kind = template.kind();
    // Records end at `\n` only, so line numbers stay right for CRLF files; a trailing `\r`
    // is cut from the last field instead.
    let quotes = std::cell::Cell::new(0u64);
    let counted = QuoteCounter { inner: reader, quotes: &quotes };
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_reader(counted);
    let mut row = csv::ByteRecord::new();
    let Some(header) = read_header(&mut rdr, &mut row, sink) else { return kind };
    let parse_row = template.row_parser();
    let mut soft = Vec::new();
    // A row is sent one row late, so the last one can be dropped if the file ends inside a
    // quoted field (the csv reader would otherwise take the rest of the file as its value).
    let mut pending: Option<(Record, u64)> = None;
    loop {
        match rdr.read_byte_record(&mut row) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                sink.error(format!("line {line}"), format!("unreadable CSV: {e}"));
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    break;
                }
                continue;
            }
        }
        let line = row.position().map_or(0, |p| p.line());
        if row.len() <= 1 && row.get(0).is_none_or(|f| f.iter().all(u8::is_ascii_whitespace)) {
            continue; // a blank line
        }
        if row.len() != header.columns.len() {
            sink.error(
                format!("line {line}"),
                format!("expected {} fields as in the header, found {}", header.columns.len(), row.len()),
            );
            continue;
        }
        let at = format!("line {line}");
        if let Some(mut record) = row_record(&mut row, &header, parse_row, &mut soft, &at, sink) {
            if let Err(e) = job_of_its_report(&record, kind) {
                sink.error(at, e);
                continue;
            }
            complete(&mut record, ctx, Locator::Line(line));
            if let Some((prev, _)) = pending.replace((record, line)) {
                sink.record(prev);
            }
        }
    }
    if quotes.get() % 2 == 1 {
        let line = pending.take().map_or(0, |(_, l)| l);
        sink.error(
            format!("line {line}"),
            "a quoted field is never closed: the row runs to the end of the file".into(),
        );
    }
    if let Some((last, _)) = pending {
        sink.record(last);
    }
    kind
}

type RowParser = fn(&Header, &csv::StringRecord, &mut Vec<String>) -> Result<Record, String>;

impl Template {
    /// The artifact kind of a report of this template.
    fn kind(self) -> ArtifactKind {
        match self {
            Template::Jobs(k) => k,
            Template::Control => ArtifactKind::ControlComplianceReport,
            Template::Resource => ArtifactKind::ResourceComplianceReport,
            Template::Scan => ArtifactKind::ScanJobReport,
        }
    }

    /// How one of its rows becomes a record.
    fn row_parser(self) -> RowParser {
        match self {
            Template::Jobs(_) => |h, r, soft| fill::<Job>(h, r, soft).map(Record::Job),
            Template::Control => |h, r, soft| fill::<ControlResult>(h, r, soft).map(Record::Control),
            Template::Resource => |h, r, soft| fill::<ResourceCompliance>(h, r, soft).map(Record::ResourceCompliance),
            Template::Scan => |h, r, soft| fill::<MalwareScan>(h, r, soft).map(Record::MalwareScan),
        }
    }
}

/// A job row of a job report must carry that report's kind of job id (a copy job report's
/// row, a copy job id).
fn job_of_its_report(record: &Record, kind: ArtifactKind) -> Result<(), String> {
    let Record::Job(job) = record else { return Ok(()) };
    let expected = match kind {
        ArtifactKind::CopyJobReport => JobKind::Copy,
        ArtifactKind::RestoreJobReport => JobKind::Restore,
        _ => JobKind::Backup,
    };
    if job.kind == Some(expected) { Ok(()) } else { Err(format!("no {} job id in this row", expected.as_str())) }
}

/// The header row of one file: each column's normalised key, with its raw name for messages,
/// and the record field each column sets, found when the first row is read (one record kind
/// per file, so once per file and not per cell).
struct Header {
    columns: Vec<(NormKey, String)>,
    slots: std::cell::OnceCell<Vec<u16>>,
}

/// The header row, normalised; `None` after reporting an empty or unreadable header.
fn read_header<R: Read>(rdr: &mut csv::Reader<R>, row: &mut csv::ByteRecord, sink: &mut dyn Sink) -> Option<Header> {
    match rdr.read_byte_record(row) {
        Ok(true) => Some(Header {
            columns: row
                .iter()
                .map(|f| {
                    let raw = String::from_utf8_lossy(f.strip_suffix(b"\r").unwrap_or(f)).into_owned();
                    (NormKey::new(&raw), raw)
                })
                .collect(),
            slots: std::cell::OnceCell::new(),
        }),
        Ok(false) => {
            sink.error("line 1".into(), "empty file: no header row".into());
            None
        }
        Err(e) => {
            sink.error("line 1".into(), format!("unreadable header: {e}"));
            None
        }
    }
}

/// The record of one data row, or `None` after reporting why there is none (NUL bytes,
/// invalid UTF-8, a bad essential cell). Bad non-essential cells are reported at `at` and
/// left empty. `row` keeps its buffer for the next row.
fn row_record(
    row: &mut csv::ByteRecord,
    header: &Header,
    parse_row: RowParser,
    soft: &mut Vec<String>,
    at: &str,
    sink: &mut dyn Sink,
) -> Option<Record> {
    // NUL bytes are valid UTF-8 but never in a report: a file cut or padded by a crash.
    if let Some(i) = row.iter().position(|f| f.contains(&0)) {
        let column = header.columns.get(i).map_or("?", |h| h.1.as_str());
        sink.error(at.to_owned(), format!("column {column:?}: NUL bytes (0x00); the row is left out"));
        return None;
    }
    // One UTF-8 check per row rather than per field; the buffer is handed back after.
    let text = match csv::StringRecord::from_byte_record(std::mem::take(row)) {
        Ok(text) => text,
        Err(e) => {
            let column = header.columns.get(e.utf8_error().field()).map_or("?", |h| h.1.as_str());
            sink.error(at.to_owned(), format!("column {column:?}: not valid UTF-8"));
            *row = e.into_byte_record();
            return None;
        }
    };
    let result = parse_row(header, &text, soft);
    *row = text.into_byte_record();
    for msg in soft.drain(..) {
        sink.error(at.to_owned(), msg);
    }
    result.map_err(|msg| sink.error(at.to_owned(), msg)).ok()
}

/// Counts `"` bytes as the CSV reader reads; an odd count means an unclosed quoted field.
struct QuoteCounter<'a, R> {
    inner: R,
    quotes: &'a std::cell::Cell<u64>,
}

impl<R: Read> Read for QuoteCounter<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let q = buf[..n].iter().filter(|&&b| b == b'"').count() as u64;
        self.quotes.set(self.quotes.get() + q);
        Ok(n)
    }
}

/// A record from one row. Bad non-essential cells are left empty and their messages pushed to
/// `soft`; a bad essential cell is the error.
fn fill<T: FieldSink + Default>(header: &Header, row: &csv::StringRecord, soft: &mut Vec<String>) -> Result<T, String> {
    let mut rec = T::default();
    let slots = header.slots.get_or_init(|| header.columns.iter().map(|(k, _)| rec.slot(k.as_bytes())).collect());
    let last = row.len().saturating_sub(1);
    for (i, (((key, raw), &slot), cell)) in header.columns.iter().zip(slots).zip(row.iter()).enumerate() {
        let text = if i == last { cell.strip_suffix('\r').unwrap_or(cell) } else { cell };
        let value = if text.is_empty() { Scalar::Null } else { Scalar::Str(text) };
        if let Err(e) = rec.set_slot(slot, key.as_bytes(), value) {
            let msg = format!("column {raw:?}: {e}");
            if rec.essential(key.as_bytes()) {
                return Err(msg);
            }
            soft.push(msg);
        }
    }
    rec.finish()?;
    Ok(rec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::VecSink;

    fn parse_text(text: &str) -> VecSink {
        let mut sink = VecSink::default();
        let (template, delimiter) = detect(text.as_bytes()).unwrap();
        parse(text.as_bytes(), template, delimiter, &Context::default(), &mut sink);
        sink
    }

    #[test]
    fn a_bad_size_is_reported_and_the_failed_job_still_counts() {
        let sink = parse_text(
            "Backup Job ID,Job Status,Creation Date,Backup Size In Bytes,Is Parent Job,Expected Completion Date\n\
             b-1,FAILED,2026-07-14T05:00:00Z,N/A,maybe,soon\n\
             b-2,COMPLETED,14/07/2026,10,false,\n",
        );
        let jobs = sink.jobs();
        assert_eq!(jobs.len(), 1, "b-2 has an unreadable creation time: dropped");
        assert_eq!((jobs[0].job_id.as_str(), jobs[0].state.as_deref()), ("b-1", Some("FAILED")));
        assert_eq!(
            (jobs[0].backup_size_bytes, jobs[0].is_parent, jobs[0].expected_completion_date),
            (None, None, None)
        );
        let errors: Vec<(&str, &str)> = sink.errors.iter().map(|(l, m)| (l.as_str(), m.as_str())).collect();
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(
            errors[0].0 == "line 2"
                && errors[0].1.starts_with("column \"Backup Size In Bytes\"")
                && errors[0].1.contains("N/A")
        );
        assert!(errors[1].0 == "line 2" && errors[1].1.starts_with("column \"Is Parent Job\""));
        assert!(errors[2].0 == "line 2" && errors[2].1.starts_with("column \"Expected Completion Date\""));
        assert!(errors[3].0 == "line 3" && errors[3].1.starts_with("column \"Creation Date\""));
    }

    #[test]
    fn a_bad_count_in_a_control_row_keeps_the_evaluation() {
        let sink = parse_text(
            "Control Name,Control Compliance Status,Last Evaluation Time,Num Resources Compliant\n\
             C1,COMPLIANT,2026-07-14T05:00:00Z,12.5\n\
             C2,COMPLIANT,later,3\n",
        );
        assert_eq!(sink.records.len(), 1);
        let Record::Control(c) = &sink.records[0] else { panic!("{:?}", sink.records[0]) };
        assert_eq!((c.control_name.as_str(), c.resources_compliant), ("C1", None));
        let locators: Vec<&str> = sink.errors.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(locators, ["line 2", "line 3"]);
    }
}
