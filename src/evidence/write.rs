//! The `evidence/*.csv` files and `artifacts.csv`.
//!
//! One row per merged record, columns fixed (documented in README.md), rows in key order,
//! times in RFC 3339 UTC: the same evidence always gives the same bytes. The `sources`
//! column lists every observation behind a row as `<artifact>@<locator>`, where `<artifact>`
//! is the first 16 hex digits of the artifact's SHA-256 (the full digest is in
//! `artifacts.csv`) and the locator is `line N` (CSV), a JSON pointer, or `/` (whole file).
//!
//! Semantics v2 (DESIGN §3): `is_parent` in `backup_jobs.csv` / `copy_jobs.csv` means *flagged
//! or named as parent*: `true` when an observation flags the job (`isParentJob` / `IsParent`)
//! or another job names it in `parentJobId`; such jobs are not counted in the metrics.
//! `conflicts.csv` lists every tie the merge settled by a rule (see [`super::merge`]): one row
//! per job and field, with the distinct values seen (`;`-joined), the observation time they
//! share (empty: untimed), the value taken, the rule that chose it, and the sources as
//! `<full sha256>@<locator>=<value>`, winner first.

use std::fmt::Write as _;
use std::io;
use std::path::Path;

use super::model::{
    Alarm, AssessmentReport, BackupRule, BackupSelection, CollectionGap, ControlResult, EventRule, Job, JobKind,
    JobState, LegalHold, MalwareScan, ProtectedResource, Provenance, RecoveryPoint, ReportIntegrity,
    ResourceCompliance, RestoreTestingPlan, RestoreTestingSelection, ScanResultStatus, ScanState, SnsSubscription,
    TaggedResource, ValidationStatus, Vault, VaultAccessPolicy, VaultNotification, ZipMember,
};
use super::table::View;
use super::{ArtifactEntry, Evidence, Record};
use crate::artifact::{HashingWriter, Sha256Digest};
use crate::direct::DirectFile;
use crate::time::{Period, Timestamp};

/// Column names of `artifacts.csv`.
pub(crate) const ARTIFACT_COLUMNS: &[&str] =
    &["sha256", "size", "origin", "fetched_at", "kind", "format", "parse_status", "records", "errors", "error"];

/// The parse errors' file.
const ERRORS_FILE: &str = "parse_errors.csv";
/// Column names of `parse_errors.csv`.
const ERROR_COLUMNS: &[&str] = &["artifact_sha256", "origin", "locator", "message"];

/// The conflicts' file.
const CONFLICTS_FILE: &str = "conflicts.csv";
/// Column names of `conflicts.csv`.
pub(crate) const CONFLICT_COLUMNS: &[&str] =
    &["job_id", "job_kind", "field", "values", "observed_at", "taken", "rule", "sources"];

/// What a column may need besides its record: the artifact digests that provenance indices
/// point to, and the reporting period.
pub(crate) struct Cx {
    shas: Vec<Sha256Digest>,
    short: Vec<String>,
    period: Option<Period>,
}

impl Cx {
    fn new(artifacts: &[ArtifactEntry], period: Option<Period>) -> Self {
        Cx {
            shas: artifacts.iter().map(|a| a.artifact.sha256).collect(),
            short: artifacts.iter().map(|a| a.artifact.sha256.short()).collect(),
            period,
        }
    }

    /// Whether `t` falls in the reporting period (unknown without a time or a period).
    pub(crate) fn in_period(&self, t: Option<Timestamp>) -> Option<bool> {
        Some(self.period.as_ref()?.contains(t?))
    }

    /// The full SHA-256 of the artifact `p` points to (empty for none).
    pub(crate) fn artifact_hex(&self, p: Option<&Provenance>) -> String {
        p.and_then(|p| self.shas.get(p.artifact as usize)).map(Sha256Digest::hex).unwrap_or_default()
    }
}

/// An open CSV file, written one cell at a time, hashed while it is written and written
/// around the page cache ([`DirectFile`]).
pub(crate) struct Row {
    w: csv::Writer<HashingWriter<DirectFile>>,
    /// Reused for formatted fields, so writing a row allocates nothing.
    scratch: String,
}

/// A value that fills one CSV cell.
pub(crate) trait Cell {
    /// Writes the cell.
    fn put(&self, row: &mut Row) -> io::Result<()>;
}

impl Row {
    fn create(path: &Path, header: impl IntoIterator<Item = &'static str>) -> io::Result<Row> {
        // Strict: every row must have as many cells as the header, or writing fails.
        let mut w = csv::WriterBuilder::new().from_writer(HashingWriter::new(DirectFile::create(path)?));
        w.write_record(header).map_err(into_io)?;
        Ok(Row { w, scratch: String::new() })
    }

    /// Writes one cell.
    pub(crate) fn put<C: Cell + ?Sized>(&mut self, value: &C) -> io::Result<()> {
        value.put(self)
    }

    fn text(&mut self, v: &str) -> io::Result<()> {
        self.w.write_field(v).map_err(into_io)
    }

    fn scratch(&mut self, fill: impl FnOnce(&mut String)) -> io::Result<()> {
        self.scratch.clear();
        fill(&mut self.scratch);
        self.w.write_field(&self.scratch).map_err(into_io)
    }

    /// The `sources` cell: every observation as `<short sha256>@<locator>`, `;`-joined.
    pub(crate) fn sources(&mut self, provs: &[Provenance], cx: &Cx) -> io::Result<()> {
        self.scratch(|s| {
            for (i, p) in provs.iter().enumerate() {
                if i > 0 {
                    s.push(';');
                }
                s.push_str(cx.short.get(p.artifact as usize).map_or("?", String::as_str));
                let _ = write!(s, "@{}", p.locator);
            }
        })
    }

    /// Ends the row.
    pub(crate) fn end(&mut self) -> io::Result<()> {
        self.w.write_record(None::<&[u8]>).map_err(into_io)
    }

    /// Writes the rest and closes the file; returns its size and digest.
    fn close(self) -> io::Result<(u64, Sha256Digest)> {
        let inner = self.w.into_inner().map_err(|e| io::Error::other(e.to_string()))?;
        let (file, size, sha256) = inner.finish();
        file.finish()?;
        Ok((size, sha256))
    }
}

impl Cell for str {
    fn put(&self, row: &mut Row) -> io::Result<()> {
        row.text(self)
    }
}

impl Cell for String {
    fn put(&self, row: &mut Row) -> io::Result<()> {
        row.text(self)
    }
}

impl<T: Cell + ?Sized> Cell for &T {
    fn put(&self, row: &mut Row) -> io::Result<()> {
        (**self).put(row)
    }
}

impl Cell for Option<String> {
    fn put(&self, row: &mut Row) -> io::Result<()> {
        row.text(self.as_deref().unwrap_or(""))
    }
}

/// States (`aws_state!` enums) are written as AWS wrote them.
macro_rules! state_cells {
    ($($state:ty),*) => {
        $(impl Cell for Option<$state> {
            fn put(&self, row: &mut Row) -> io::Result<()> {
                row.text(self.as_deref().unwrap_or(""))
            }
        })*
    };
}
state_cells!(JobState, ValidationStatus, ScanState, ScanResultStatus);

impl Cell for Option<Timestamp> {
    fn put(&self, row: &mut Row) -> io::Result<()> {
        match self {
            Some(t) => {
                let mut buf = [0u8; 32];
                row.text(t.write_rfc3339(&mut buf))
            }
            None => row.text(""),
        }
    }
}

impl Cell for u64 {
    fn put(&self, row: &mut Row) -> io::Result<()> {
        row.scratch(|s| {
            let _ = write!(s, "{self}");
        })
    }
}

impl Cell for Option<u64> {
    fn put(&self, row: &mut Row) -> io::Result<()> {
        match self {
            Some(n) => n.put(row),
            None => row.text(""),
        }
    }
}

impl Cell for bool {
    fn put(&self, row: &mut Row) -> io::Result<()> {
        row.text(if *self { "true" } else { "false" })
    }
}

impl Cell for Option<bool> {
    fn put(&self, row: &mut Row) -> io::Result<()> {
        match self {
            Some(b) => b.put(row),
            None => row.text(""),
        }
    }
}

impl Cell for Option<f64> {
    fn put(&self, row: &mut Row) -> io::Result<()> {
        match self {
            Some(v) => row.scratch(|s| {
                let _ = write!(s, "{v}");
            }),
            None => row.text(""),
        }
    }
}

/// Tags as `key=value`, `;`-joined.
impl Cell for Vec<(String, String)> {
    fn put(&self, row: &mut Row) -> io::Result<()> {
        row.scratch(|s| {
            for (i, (k, v)) in self.iter().enumerate() {
                if i > 0 {
                    s.push(';');
                }
                let _ = write!(s, "{k}={v}");
            }
        })
    }
}

fn into_io(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => io::Error::other(format!("{other:?}")),
    }
}

/// A CSV as written: its file name, and its size and SHA-256 taken while it was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Written {
    pub(crate) file: &'static str,
    pub(crate) size: u64,
    pub(crate) sha256: Sha256Digest,
}

impl Row {
    /// Closes the file named `file`.
    fn written(self, file: &'static str) -> io::Result<Written> {
        let (size, sha256) = self.close()?;
        Ok(Written { file, size, sha256 })
    }
}

/// Writes `artifacts.csv`; returns its size and digest.
///
/// # Errors
/// On write errors.
pub(crate) fn write_artifacts(path: &Path, artifacts: &[ArtifactEntry]) -> io::Result<(u64, Sha256Digest)> {
    let mut r = Row::create(path, ARTIFACT_COLUMNS.iter().copied())?;
    for a in artifacts {
        r.put(&a.artifact.sha256.hex())?;
        r.put(&a.artifact.size)?;
        r.put(&a.artifact.origin)?;
        r.put(&Some(a.artifact.fetched_at))?;
        r.put(a.kind.as_str())?;
        r.put(a.format.as_str())?;
        r.put(a.parse_status())?;
        r.put(&a.records)?;
        r.put(&a.errors)?;
        r.put(&a.first_error)?;
        r.end()?;
    }
    r.close()
}

/// Writes one small table: its header from the declaration, one row per record.
fn write_table<T>(dir: &Path, view: &View<T>, records: &[T], cx: &Cx) -> io::Result<Written> {
    let mut r = Row::create(&dir.join(view.file), view.header())?;
    for rec in records {
        view.write(rec, cx, &mut r)?;
    }
    r.written(view.file)
}

/// Writes the CSVs of the small tables, `parse_errors.csv` and `conflicts.csv` into `dir`;
/// the bulky ones come from [`BulkWriter`] as the merge produces them. `period` fills the
/// `in_period` columns (malware scans). Returns the files written.
///
/// # Errors
/// On write errors.
pub(crate) fn write_small(ev: &Evidence, dir: &Path, period: Period) -> io::Result<Vec<Written>> {
    let cx = Cx::new(&ev.artifacts, Some(period));
    let written = vec![
        write_table(dir, &Vault::VAULTS, &ev.vaults, &cx)?,
        write_table(dir, &LegalHold::LEGAL_HOLDS, &ev.legal_holds, &cx)?,
        write_table(dir, &Alarm::ALARMS, &ev.alarms, &cx)?,
        write_table(dir, &TaggedResource::TAGGED_RESOURCES, &ev.tagged_resources, &cx)?,
        write_table(dir, &RestoreTestingPlan::RESTORE_TESTING_PLANS, &ev.restore_testing_plans, &cx)?,
        write_table(dir, &RestoreTestingSelection::RESTORE_TESTING_SELECTIONS, &ev.restore_testing_selections, &cx)?,
        write_table(dir, &AssessmentReport::ASSESSMENT_REPORTS, &ev.assessment_reports, &cx)?,
        write_table(dir, &ZipMember::MEMBERS, &ev.zip_members, &cx)?,
        write_table(dir, &ReportIntegrity::REPORT_INTEGRITY, &ev.report_integrity, &cx)?,
        write_table(dir, &CollectionGap::COLLECTION_GAPS, &ev.collection_gaps, &cx)?,
        write_table(dir, &BackupRule::BACKUP_RULES, &ev.backup_rules, &cx)?,
        write_table(dir, &BackupSelection::BACKUP_SELECTIONS, &ev.backup_selections, &cx)?,
        write_table(dir, &VaultNotification::VAULT_NOTIFICATIONS, &ev.vault_notifications, &cx)?,
        write_table(dir, &VaultAccessPolicy::VAULT_ACCESS_POLICIES, &ev.vault_access_policies, &cx)?,
        write_table(dir, &EventRule::EVENT_RULES, &ev.event_rules, &cx)?,
        write_table(dir, &SnsSubscription::SNS_SUBSCRIPTIONS, &ev.sns_subscriptions, &cx)?,
        write_table(dir, &ProtectedResource::PROTECTED_RESOURCES, &ev.protected_resources, &cx)?,
        write_errors(ev, dir)?,
        write_conflicts(ev, dir)?,
    ];
    Ok(written)
}

fn write_errors(ev: &Evidence, dir: &Path) -> io::Result<Written> {
    let mut r = Row::create(&dir.join(ERRORS_FILE), ERROR_COLUMNS.iter().copied())?;
    for e in &ev.errors {
        let a = &ev.artifacts[e.artifact as usize].artifact;
        r.put(&a.sha256.hex())?;
        r.put(&a.origin)?;
        r.put(&e.locator)?;
        r.put(&e.message)?;
        r.end()?;
    }
    r.written(ERRORS_FILE)
}

fn write_conflicts(ev: &Evidence, dir: &Path) -> io::Result<Written> {
    let hex: Vec<String> = ev.artifacts.iter().map(|a| a.artifact.sha256.hex()).collect();
    let mut r = Row::create(&dir.join(CONFLICTS_FILE), CONFLICT_COLUMNS.iter().copied())?;
    for c in &ev.conflicts {
        r.put(&c.job_id)?;
        r.put(c.job_kind)?;
        r.put(c.field)?;
        r.put(&c.values().join(";"))?;
        r.put(&c.observed_at)?;
        r.put(&c.taken)?;
        r.put(c.rule)?;
        let sources: Vec<String> = c
            .seen
            .iter()
            .map(|(p, v)| format!("{}@{}={v}", hex.get(p.artifact as usize).map_or("?", String::as_str), p.locator))
            .collect();
        r.put(&sources.join(";"))?;
        r.end()?;
    }
    r.written(CONFLICTS_FILE)
}

/// Writes the bulky evidence CSVs (jobs, recovery points, compliance rows) one merged
/// record at a time, in the order the merge produces them.
pub(crate) struct BulkWriter {
    backup: Row,
    copy: Row,
    restore: Row,
    recovery_points: Row,
    controls: Row,
    resources: Row,
    scans: Row,
    cx: Cx,
}

fn open<T>(dir: &Path, view: &View<T>) -> io::Result<Row> {
    Row::create(&dir.join(view.file), view.header())
}

impl BulkWriter {
    /// Creates the seven files in `dir` with their headers. `artifacts` gives the digests that
    /// provenance indices point to.
    ///
    /// # Errors
    /// When a file cannot be created.
    pub(crate) fn create(dir: &Path, artifacts: &[ArtifactEntry], period: Period) -> io::Result<Self> {
        Ok(BulkWriter {
            backup: open(dir, &Job::BACKUP_JOBS)?,
            copy: open(dir, &Job::COPY_JOBS)?,
            restore: open(dir, &Job::RESTORE_JOBS)?,
            recovery_points: open(dir, &RecoveryPoint::RECOVERY_POINTS)?,
            controls: open(dir, &ControlResult::CONTROLS)?,
            resources: open(dir, &ResourceCompliance::RESOURCE_COMPLIANCE)?,
            scans: open(dir, &MalwareScan::MALWARE_SCANS)?,
            cx: Cx::new(artifacts, Some(period)),
        })
    }

    /// Writes one merged record to its file (small-table records are ignored).
    ///
    /// # Errors
    /// On write errors.
    pub(crate) fn write(&mut self, record: &Record) -> io::Result<()> {
        let cx = &self.cx;
        match record {
            Record::Job(j) if j.kind == Some(JobKind::Backup) => Job::BACKUP_JOBS.write(j, cx, &mut self.backup),
            Record::Job(j) if j.kind == Some(JobKind::Copy) => Job::COPY_JOBS.write(j, cx, &mut self.copy),
            Record::Job(j) => Job::RESTORE_JOBS.write(j, cx, &mut self.restore),
            Record::RecoveryPoint(p) => RecoveryPoint::RECOVERY_POINTS.write(p, cx, &mut self.recovery_points),
            Record::Control(c) => ControlResult::CONTROLS.write(c, cx, &mut self.controls),
            Record::ResourceCompliance(c) => ResourceCompliance::RESOURCE_COMPLIANCE.write(c, cx, &mut self.resources),
            Record::MalwareScan(s) => MalwareScan::MALWARE_SCANS.write(s, cx, &mut self.scans),
            _ => Ok(()),
        }
    }

    /// Writes the rest of every file; returns the files written.
    ///
    /// # Errors
    /// On write errors.
    pub(crate) fn finish(self) -> io::Result<Vec<Written>> {
        let rows = [
            (Job::BACKUP_JOBS.file, self.backup),
            (Job::COPY_JOBS.file, self.copy),
            (Job::RESTORE_JOBS.file, self.restore),
            (RecoveryPoint::RECOVERY_POINTS.file, self.recovery_points),
            (ControlResult::CONTROLS.file, self.controls),
            (ResourceCompliance::RESOURCE_COMPLIANCE.file, self.resources),
            (MalwareScan::MALWARE_SCANS.file, self.scans),
        ];
        rows.into_iter().map(|(file, row)| row.written(file)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header<T>(view: &View<T>) -> Vec<&'static str> {
        view.header().collect()
    }

    #[test]
    fn headers_come_from_the_declarations_and_close_with_the_provenance_tail() {
        let backup = header(&Job::BACKUP_JOBS);
        assert_eq!(backup[..5], ["job_id", "account_id", "region", "state", "in_period"]);
        assert_eq!(backup[backup.len() - 3..], ["observed_at", "observations", "sources"]);
        let copy = header(&Job::COPY_JOBS);
        assert!(copy.contains(&"source_vault_arn") && !copy.contains(&"backup_vault_arn"), "renamed column");
        assert_eq!(header(&ZipMember::MEMBERS), ["artifact_sha256", "member_index", "name", "size", "sha256"]);
        for h in [backup, copy, header(&Job::RESTORE_JOBS), header(&Vault::VAULTS), header(&Alarm::ALARMS)] {
            let mut unique = h.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), h.len(), "a column named twice in {h:?}");
        }
    }

    #[test]
    fn rows_are_as_wide_as_the_header_and_a_ragged_row_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let cx = Cx { shas: vec![Sha256Digest([0xab; 32])], short: vec!["abab".into()], period: None };
        let job = Job {
            kind: Some(JobKind::Copy),
            job_id: "c-1".into(),
            state: Some(JobState::from("PAUSED")),
            backup_vault_arn: Some("arn:src".into()),
            provenance: vec![Provenance { artifact: 0, locator: super::super::model::Locator::Line(2) }],
            ..Job::default()
        };
        let path = dir.path().join("copy.csv");
        let mut row = Row::create(&path, Job::COPY_JOBS.header()).unwrap();
        Job::COPY_JOBS.write(&job, &cx, &mut row).unwrap();
        row.close().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].split(',').count(), lines[1].split(',').count());
        assert!(lines[1].starts_with("c-1,,,PAUSED,,"), "an unknown state is written as read: {}", lines[1]);
        assert!(lines[1].ends_with(",1,abab@line 2"), "{}", lines[1]);
        // The writer is strict: a row one cell short fails instead of writing a ragged file.
        let mut row = Row::create(&dir.path().join("short.csv"), ["a", "b"]).unwrap();
        row.put("only one").unwrap();
        assert!(row.end().is_err());
    }
}
