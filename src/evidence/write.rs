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
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use super::model::{ControlResult, Job, JobKind, Provenance, RecoveryPoint, ResourceCompliance};
use super::{ArtifactEntry, Evidence, Record};
use crate::time::{Period, Timestamp};

/// Column names of `artifacts.csv`.
pub const ARTIFACT_COLUMNS: &[&str] =
    &["sha256", "size", "origin", "fetched_at", "kind", "format", "parse_status", "records", "errors", "error"];

struct Row<W: Write> {
    w: csv::Writer<W>,
    short: Vec<String>,
    /// Reused for formatted fields, so writing a row allocates nothing.
    scratch: String,
}

impl<W: Write> Row<W> {
    fn s(&mut self, v: &str) -> io::Result<()> {
        self.w.write_field(v).map_err(into_io)
    }
    fn o(&mut self, v: &Option<String>) -> io::Result<()> {
        self.s(v.as_deref().unwrap_or(""))
    }
    fn t(&mut self, v: Option<Timestamp>) -> io::Result<()> {
        match v {
            Some(t) => {
                let mut buf = [0u8; 32];
                self.w.write_field(t.write_rfc3339(&mut buf)).map_err(into_io)
            }
            None => self.s(""),
        }
    }
    fn n(&mut self, v: Option<u64>) -> io::Result<()> {
        match v {
            Some(n) => {
                self.scratch.clear();
                let _ = write!(self.scratch, "{n}");
                self.w.write_field(&self.scratch).map_err(into_io)
            }
            None => self.s(""),
        }
    }
    fn b(&mut self, v: Option<bool>) -> io::Result<()> {
        self.s(match v {
            Some(true) => "true",
            Some(false) => "false",
            None => "",
        })
    }
    fn sources(&mut self, provs: &[Provenance]) -> io::Result<()> {
        self.scratch.clear();
        for (i, p) in provs.iter().enumerate() {
            if i > 0 {
                self.scratch.push(';');
            }
            self.scratch.push_str(self.short.get(p.artifact as usize).map_or("?", String::as_str));
            let _ = write!(self.scratch, "@{}", p.locator);
        }
        self.w.write_field(&self.scratch).map_err(into_io)
    }
    /// The closing columns of every row: observed_at, observations, sources; ends the row.
    fn tail(&mut self, observed_at: Option<Timestamp>, provs: &[Provenance]) -> io::Result<()> {
        self.t(observed_at)?;
        self.n(Some(provs.len() as u64))?;
        self.sources(provs)?;
        self.end()
    }
    fn end(&mut self) -> io::Result<()> {
        self.w.write_record(None::<&[u8]>).map_err(into_io)
    }
}

fn into_io(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => io::Error::other(format!("{other:?}")),
    }
}

fn open(path: &Path, header: &[&str], short: &[String]) -> io::Result<Row<BufWriter<File>>> {
    let mut w =
        csv::WriterBuilder::new().flexible(true).from_writer(BufWriter::with_capacity(1 << 20, File::create(path)?));
    w.write_record(header).map_err(into_io)?;
    Ok(Row { w, short: short.to_vec(), scratch: String::new() })
}

fn close<W: Write>(row: Row<W>) -> io::Result<()> {
    let mut inner = row.w.into_inner().map_err(|e| io::Error::other(e.to_string()))?;
    inner.flush()
}

fn in_period(period: &Period, t: Option<Timestamp>) -> Option<bool> {
    t.map(|t| period.contains(t))
}

fn minutes_between(a: Option<Timestamp>, b: Option<Timestamp>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b >= a => format!("{:.2}", (b.millis() - a.millis()) as f64 / 60_000.0),
        _ => String::new(),
    }
}

/// Writes `artifacts.csv`.
///
/// # Errors
/// On write errors.
pub fn write_artifacts(path: &Path, artifacts: &[ArtifactEntry]) -> io::Result<()> {
    let mut r = open(path, ARTIFACT_COLUMNS, &[])?;
    for a in artifacts {
        r.s(&a.artifact.sha256.hex())?;
        r.n(Some(a.artifact.size))?;
        r.s(&a.artifact.origin)?;
        r.t(Some(a.artifact.fetched_at))?;
        r.s(a.kind.as_str())?;
        r.s(a.format.as_str())?;
        r.s(a.parse_status())?;
        r.n(Some(a.records))?;
        r.n(Some(a.errors))?;
        r.o(&a.first_error)?;
        r.end()?;
    }
    close(r)
}

/// Writes the CSVs of the small tables and `parse_errors.csv` into `dir`; the bulky ones come
/// from [`BulkWriter`] as the merge produces them. Returns the file names written.
///
/// # Errors
/// On write errors.
pub fn write_small(ev: &Evidence, dir: &Path) -> io::Result<Vec<&'static str>> {
    let short: Vec<String> = ev.artifacts.iter().map(|a| a.artifact.sha256.short()).collect();
    let mut written = Vec::new();

    const VAULTS: &[&str] = &[
        "vault_arn",
        "vault_name",
        "account_id",
        "region",
        "vault_type",
        "vault_state",
        "locked",
        "lock_mode",
        "min_retention_days",
        "max_retention_days",
        "lock_date",
        "number_of_recovery_points",
        "encryption_key_arn",
        "creation_date",
        "observed_at",
        "observations",
        "sources",
    ];
    let mut r = open(&dir.join("vaults.csv"), VAULTS, &short)?;
    for v in &ev.vaults {
        r.s(&v.vault_arn)?;
        r.o(&v.vault_name)?;
        r.o(&v.account_id)?;
        r.o(&v.region)?;
        r.o(&v.vault_type)?;
        r.o(&v.vault_state)?;
        r.b(v.locked)?;
        r.s(v.lock_mode())?;
        r.n(v.min_retention_days)?;
        r.n(v.max_retention_days)?;
        r.t(v.lock_date)?;
        r.n(v.number_of_recovery_points)?;
        r.o(&v.encryption_key_arn)?;
        r.t(v.creation_date)?;
        r.tail(v.observed_at, &v.provenance)?;
    }
    close(r)?;
    written.push("vaults.csv");

    const HOLDS: &[&str] = &[
        "legal_hold_id",
        "legal_hold_arn",
        "account_id",
        "region",
        "title",
        "status",
        "description",
        "creation_date",
        "cancellation_date",
        "observed_at",
        "observations",
        "sources",
    ];
    let mut r = open(&dir.join("legal_holds.csv"), HOLDS, &short)?;
    for h in &ev.legal_holds {
        r.s(&h.legal_hold_id)?;
        r.o(&h.legal_hold_arn)?;
        r.o(&h.account_id)?;
        r.o(&h.region)?;
        r.o(&h.title)?;
        r.o(&h.status)?;
        r.o(&h.description)?;
        r.t(h.creation_date)?;
        r.t(h.cancellation_date)?;
        r.tail(h.observed_at, &h.provenance)?;
    }
    close(r)?;
    written.push("legal_holds.csv");

    const ALARMS: &[&str] = &[
        "alarm_arn",
        "alarm_name",
        "account_id",
        "region",
        "namespace",
        "metric_name",
        "dimensions",
        "statistic",
        "comparison_operator",
        "threshold",
        "evaluation_periods",
        "actions_enabled",
        "alarm_actions",
        "state_value",
        "alarm_type",
        "backup_metrics",
        "alarm_rule",
        "observed_at",
        "observations",
        "sources",
    ];
    let mut r = open(&dir.join("alarms.csv"), ALARMS, &short)?;
    for a in &ev.alarms {
        r.s(&a.alarm_arn)?;
        r.o(&a.alarm_name)?;
        r.o(&a.account_id)?;
        r.o(&a.region)?;
        r.o(&a.namespace)?;
        r.o(&a.metric_name)?;
        r.o(&a.dimensions)?;
        r.o(&a.statistic)?;
        r.o(&a.comparison_operator)?;
        r.s(&a.threshold.map(|t| t.to_string()).unwrap_or_default())?;
        r.n(a.evaluation_periods)?;
        r.b(a.actions_enabled)?;
        r.o(&a.alarm_actions)?;
        r.o(&a.state_value)?;
        r.o(&a.alarm_type)?;
        r.o(&a.backup_metrics)?;
        r.o(&a.alarm_rule)?;
        r.tail(a.observed_at, &a.provenance)?;
    }
    close(r)?;
    written.push("alarms.csv");

    const TAGS: &[&str] = &["resource_arn", "account_id", "region", "tags", "observed_at", "observations", "sources"];
    let mut r = open(&dir.join("tagged_resources.csv"), TAGS, &short)?;
    for t in &ev.tagged_resources {
        r.s(&t.resource_arn)?;
        r.o(&t.account_id)?;
        r.o(&t.region)?;
        r.s(&t.tags.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(";"))?;
        r.tail(t.observed_at, &t.provenance)?;
    }
    close(r)?;
    written.push("tagged_resources.csv");

    const PLANS: &[&str] = &[
        "plan_arn",
        "plan_name",
        "account_id",
        "region",
        "schedule_expression",
        "creation_time",
        "last_execution_time",
        "observed_at",
        "observations",
        "sources",
    ];
    let mut r = open(&dir.join("restore_testing_plans.csv"), PLANS, &short)?;
    for p in &ev.restore_testing_plans {
        r.s(&p.plan_arn)?;
        r.o(&p.plan_name)?;
        r.o(&p.account_id)?;
        r.o(&p.region)?;
        r.o(&p.schedule_expression)?;
        r.t(p.creation_time)?;
        r.t(p.last_execution_time)?;
        r.tail(p.observed_at, &p.provenance)?;
    }
    close(r)?;
    written.push("restore_testing_plans.csv");

    const SELECTIONS: &[&str] = &[
        "plan_name",
        "selection_name",
        "account_id",
        "region",
        "protected_resource_type",
        "iam_role_arn",
        "validation_window_hours",
        "creation_time",
        "observed_at",
        "observations",
        "sources",
    ];
    let mut r = open(&dir.join("restore_testing_selections.csv"), SELECTIONS, &short)?;
    for s in &ev.restore_testing_selections {
        r.s(&s.plan_name)?;
        r.s(&s.selection_name)?;
        r.o(&s.account_id)?;
        r.o(&s.region)?;
        r.o(&s.protected_resource_type)?;
        r.o(&s.iam_role_arn)?;
        r.n(s.validation_window_hours)?;
        r.t(s.creation_time)?;
        r.tail(s.observed_at, &s.provenance)?;
    }
    close(r)?;
    written.push("restore_testing_selections.csv");

    const REPORTS: &[&str] = &[
        "artifact_sha256",
        "assessment_folder",
        "report_folder",
        "controls",
        "evidence_files",
        "members",
        "uncompressed_bytes",
        "has_summary_pdf",
        "has_digest",
    ];
    let mut r = open(&dir.join("assessment_reports.csv"), REPORTS, &short)?;
    for a in &ev.assessment_reports {
        let sha =
            a.provenance.first().map(|p| ev.artifacts[p.artifact as usize].artifact.sha256.hex()).unwrap_or_default();
        r.s(&sha)?;
        r.s(&a.assessment_folder)?;
        r.o(&a.report_folder)?;
        r.n(Some(a.controls))?;
        r.n(Some(a.evidence_files))?;
        r.n(Some(a.members))?;
        r.n(Some(a.uncompressed_bytes))?;
        r.b(Some(a.has_summary_pdf))?;
        r.b(Some(a.has_digest))?;
        r.end()?;
    }
    close(r)?;
    written.push("assessment_reports.csv");

    const MEMBERS: &[&str] = &["artifact_sha256", "member_index", "name", "size", "sha256"];
    let mut r = open(&dir.join("assessment_report_members.csv"), MEMBERS, &short)?;
    for m in &ev.zip_members {
        r.s(&ev.artifacts[m.provenance.artifact as usize].artifact.sha256.hex())?;
        let index = match m.provenance.locator {
            super::model::Locator::ZipMember(i) => u64::from(i),
            _ => 0,
        };
        r.n(Some(index))?;
        r.s(&m.name)?;
        r.n(Some(m.size))?;
        r.s(&m.sha256)?;
        r.end()?;
    }
    close(r)?;
    written.push("assessment_report_members.csv");

    const INTEGRITY: &[&str] = &[
        "s3_path",
        "account_id",
        "region",
        "signature_valid",
        "signature_algorithm",
        "signature_date_time",
        "signature_key_id",
        "validation_errors",
        "observed_at",
        "observations",
        "sources",
    ];
    let mut r = open(&dir.join("assessment_report_integrity.csv"), INTEGRITY, &short)?;
    for i in &ev.report_integrity {
        r.s(&i.s3_path)?;
        r.o(&i.account_id)?;
        r.o(&i.region)?;
        r.b(i.signature_valid)?;
        r.o(&i.signature_algorithm)?;
        r.o(&i.signature_date_time)?;
        r.o(&i.signature_key_id)?;
        r.o(&i.validation_errors)?;
        r.tail(i.observed_at, &i.provenance)?;
    }
    close(r)?;
    written.push("assessment_report_integrity.csv");

    const GAPS: &[&str] = &[
        "account_id",
        "region",
        "lost_from",
        "lost_to",
        "detected_at",
        "listings",
        "observed_at",
        "observations",
        "sources",
    ];
    let mut r = open(&dir.join("collection_gaps.csv"), GAPS, &short)?;
    for g in &ev.collection_gaps {
        r.o(&g.account_id)?;
        r.o(&g.region)?;
        r.t(g.lost_from)?;
        r.t(g.lost_to)?;
        r.t(g.detected_at)?;
        r.o(&g.listings)?;
        r.tail(g.observed_at, &g.provenance)?;
    }
    close(r)?;
    written.push("collection_gaps.csv");

    const ERRORS: &[&str] = &["artifact_sha256", "origin", "locator", "message"];
    let mut r = open(&dir.join("parse_errors.csv"), ERRORS, &short)?;
    for e in &ev.errors {
        let a = &ev.artifacts[e.artifact as usize].artifact;
        r.s(&a.sha256.hex())?;
        r.s(&a.origin)?;
        r.s(&e.locator)?;
        r.s(&e.message)?;
        r.end()?;
    }
    close(r)?;
    written.push("parse_errors.csv");

    write_conflicts(ev, dir)?;
    written.push("conflicts.csv");

    Ok(written)
}

/// Column names of `conflicts.csv`.
pub const CONFLICT_COLUMNS: &[&str] =
    &["job_id", "job_kind", "field", "values", "observed_at", "taken", "rule", "sources"];

fn write_conflicts(ev: &Evidence, dir: &Path) -> io::Result<()> {
    let hex: Vec<String> = ev.artifacts.iter().map(|a| a.artifact.sha256.hex()).collect();
    let mut r = open(&dir.join("conflicts.csv"), CONFLICT_COLUMNS, &[])?;
    for c in &ev.conflicts {
        r.s(&c.job_id)?;
        r.s(c.job_kind)?;
        r.s(c.field)?;
        r.s(&c.values().join(";"))?;
        r.t(c.observed_at)?;
        r.s(&c.taken)?;
        r.s(c.rule)?;
        let sources: Vec<String> = c
            .seen
            .iter()
            .map(|(p, v)| format!("{}@{}={v}", hex.get(p.artifact as usize).map_or("?", String::as_str), p.locator))
            .collect();
        r.s(&sources.join(";"))?;
        r.end()?;
    }
    close(r)
}

const BACKUP: &[&str] = &[
    "job_id",
    "account_id",
    "region",
    "state",
    "in_period",
    "is_parent",
    "parent_job_id",
    "resource_type",
    "resource_arn",
    "resource_name",
    "creation_date",
    "completion_date",
    "duration_minutes",
    "backup_vault_name",
    "backup_vault_arn",
    "vault_type",
    "vault_lock_state",
    "recovery_point_arn",
    "backup_size_bytes",
    "backup_plan_arn",
    "backup_plan_name",
    "backup_rule_name",
    "iam_role_arn",
    "status_message",
    "message_category",
    "observed_at",
    "observations",
    "sources",
];

const COPY: &[&str] = &[
    "job_id",
    "account_id",
    "region",
    "state",
    "in_period",
    "is_parent",
    "parent_job_id",
    "resource_type",
    "resource_arn",
    "resource_name",
    "creation_date",
    "completion_date",
    "duration_minutes",
    "source_vault_arn",
    "destination_vault_arn",
    "source_recovery_point_arn",
    "destination_recovery_point_arn",
    "backup_size_bytes",
    "iam_role_arn",
    "status_message",
    "message_category",
    "observed_at",
    "observations",
    "sources",
];

const RESTORE: &[&str] = &[
    "job_id",
    "account_id",
    "region",
    "state",
    "in_period",
    "restore_test",
    "restore_testing_plan_arn",
    "validation_status",
    "validation_status_message",
    "deletion_status",
    "resource_type",
    "source_resource_arn",
    "created_resource_arn",
    "recovery_point_arn",
    "recovery_point_creation_date",
    "creation_date",
    "completion_date",
    "duration_minutes",
    "backup_size_bytes",
    "iam_role_arn",
    "status_message",
    "observed_at",
    "observations",
    "sources",
];

const RP: &[&str] = &[
    "recovery_point_arn",
    "account_id",
    "region",
    "status",
    "resource_type",
    "resource_arn",
    "resource_name",
    "backup_vault_name",
    "backup_vault_arn",
    "vault_type",
    "creation_date",
    "completion_date",
    "backup_size_bytes",
    "is_encrypted",
    "encryption_key_arn",
    "storage_class",
    "move_to_cold_storage_at",
    "delete_at",
    "last_restore_time",
    "observed_at",
    "observations",
    "sources",
];

const CONTROLS: &[&str] = &[
    "account_id",
    "region",
    "framework_name",
    "control_name",
    "compliance_status",
    "last_evaluation_time",
    "resources_compliant",
    "resources_non_compliant",
    "control_parameters",
    "observed_at",
    "observations",
    "sources",
];

const RESOURCES: &[&str] = &[
    "account_id",
    "region",
    "framework_name",
    "control_name",
    "resource_id",
    "resource_type",
    "compliance_status",
    "last_evaluation_time",
    "observed_at",
    "observations",
    "sources",
];

/// Writes the bulky evidence CSVs (jobs, recovery points, compliance rows) one merged
/// record at a time, in the order the merge produces them.
pub struct BulkWriter {
    backup: Row<BufWriter<File>>,
    copy: Row<BufWriter<File>>,
    restore: Row<BufWriter<File>>,
    recovery_points: Row<BufWriter<File>>,
    controls: Row<BufWriter<File>>,
    resources: Row<BufWriter<File>>,
    period: Period,
}

/// The files [`BulkWriter`] writes.
pub const BULK_FILES: [&str; 6] = [
    "backup_jobs.csv",
    "copy_jobs.csv",
    "restore_jobs.csv",
    "recovery_points.csv",
    "controls.csv",
    "resource_compliance.csv",
];

impl BulkWriter {
    /// Creates the six files in `dir` with their headers. `artifacts` gives the digests that
    /// provenance indices point to.
    ///
    /// # Errors
    /// When a file cannot be created.
    pub fn create(dir: &Path, artifacts: &[ArtifactEntry], period: Period) -> io::Result<Self> {
        let short: Vec<String> = artifacts.iter().map(|a| a.artifact.sha256.short()).collect();
        Ok(BulkWriter {
            backup: open(&dir.join(BULK_FILES[0]), BACKUP, &short)?,
            copy: open(&dir.join(BULK_FILES[1]), COPY, &short)?,
            restore: open(&dir.join(BULK_FILES[2]), RESTORE, &short)?,
            recovery_points: open(&dir.join(BULK_FILES[3]), RP, &short)?,
            controls: open(&dir.join(BULK_FILES[4]), CONTROLS, &short)?,
            resources: open(&dir.join(BULK_FILES[5]), RESOURCES, &short)?,
            period,
        })
    }

    /// Writes one merged record to its file (small-table records are ignored).
    ///
    /// # Errors
    /// On write errors.
    pub fn write(&mut self, record: &Record) -> io::Result<()> {
        let period = &self.period;
        match record {
            Record::Job(j) if j.kind == Some(JobKind::Backup) => write_backup(&mut self.backup, j, period),
            Record::Job(j) if j.kind == Some(JobKind::Copy) => write_copy(&mut self.copy, j, period),
            Record::Job(j) => write_restore(&mut self.restore, j, period),
            Record::RecoveryPoint(p) => write_recovery_point(&mut self.recovery_points, p),
            Record::Control(c) => write_control(&mut self.controls, c),
            Record::ResourceCompliance(c) => write_resource(&mut self.resources, c),
            _ => Ok(()),
        }
    }

    /// Flushes all files.
    ///
    /// # Errors
    /// On write errors.
    pub fn finish(self) -> io::Result<()> {
        for row in [self.backup, self.copy, self.restore, self.recovery_points, self.controls, self.resources] {
            close(row)?;
        }
        Ok(())
    }
}

/// The columns backup and copy jobs share, in order: job_id … duration_minutes.
fn job_head(r: &mut Row<BufWriter<File>>, j: &Job, period: &Period) -> io::Result<()> {
    r.s(&j.job_id)?;
    r.o(&j.account_id)?;
    r.o(&j.region)?;
    r.o(&j.state)?;
    r.b(in_period(period, j.creation_date))?;
    r.b(j.is_parent)?;
    r.o(&j.parent_job_id)?;
    r.o(&j.resource_type)?;
    r.o(&j.resource_arn)?;
    r.o(&j.resource_name)?;
    r.t(j.creation_date)?;
    r.t(j.completion_date)?;
    r.s(&minutes_between(j.creation_date, j.completion_date))?;
    Ok(())
}

fn write_backup(r: &mut Row<BufWriter<File>>, j: &Job, period: &Period) -> io::Result<()> {
    job_head(r, j, period)?;
    r.o(&j.backup_vault_name)?;
    r.o(&j.backup_vault_arn)?;
    r.o(&j.vault_type)?;
    r.o(&j.vault_lock_state)?;
    r.o(&j.recovery_point_arn)?;
    r.n(j.backup_size_bytes)?;
    r.o(&j.backup_plan_arn)?;
    r.o(&j.backup_plan_name)?;
    r.o(&j.backup_rule_name)?;
    r.o(&j.iam_role_arn)?;
    r.o(&j.status_message)?;
    r.o(&j.message_category)?;
    r.tail(j.observed_at, &j.provenance)
}

fn write_copy(r: &mut Row<BufWriter<File>>, j: &Job, period: &Period) -> io::Result<()> {
    job_head(r, j, period)?;
    r.o(&j.backup_vault_arn)?;
    r.o(&j.destination_vault_arn)?;
    r.o(&j.recovery_point_arn)?;
    r.o(&j.destination_recovery_point_arn)?;
    r.n(j.backup_size_bytes)?;
    r.o(&j.iam_role_arn)?;
    r.o(&j.status_message)?;
    r.o(&j.message_category)?;
    r.tail(j.observed_at, &j.provenance)
}

fn write_restore(r: &mut Row<BufWriter<File>>, j: &Job, period: &Period) -> io::Result<()> {
    r.s(&j.job_id)?;
    r.o(&j.account_id)?;
    r.o(&j.region)?;
    r.o(&j.state)?;
    r.b(in_period(period, j.creation_date))?;
    r.b(Some(j.is_restore_test()))?;
    r.o(&j.restore_testing_plan_arn)?;
    r.o(&j.validation_status)?;
    r.o(&j.validation_status_message)?;
    r.o(&j.deletion_status)?;
    r.o(&j.resource_type)?;
    r.o(&j.resource_arn)?;
    r.o(&j.created_resource_arn)?;
    r.o(&j.recovery_point_arn)?;
    r.t(j.recovery_point_creation_date)?;
    r.t(j.creation_date)?;
    r.t(j.completion_date)?;
    r.s(&minutes_between(j.creation_date, j.completion_date))?;
    r.n(j.backup_size_bytes)?;
    r.o(&j.iam_role_arn)?;
    r.o(&j.status_message)?;
    r.tail(j.observed_at, &j.provenance)
}

fn write_recovery_point(r: &mut Row<BufWriter<File>>, p: &RecoveryPoint) -> io::Result<()> {
    r.s(&p.recovery_point_arn)?;
    r.o(&p.account_id)?;
    r.o(&p.region)?;
    r.o(&p.status)?;
    r.o(&p.resource_type)?;
    r.o(&p.resource_arn)?;
    r.o(&p.resource_name)?;
    r.o(&p.backup_vault_name)?;
    r.o(&p.backup_vault_arn)?;
    r.o(&p.vault_type)?;
    r.t(p.creation_date)?;
    r.t(p.completion_date)?;
    r.n(p.backup_size_bytes)?;
    r.b(p.is_encrypted)?;
    r.o(&p.encryption_key_arn)?;
    r.o(&p.storage_class)?;
    r.t(p.move_to_cold_storage_at)?;
    r.t(p.delete_at)?;
    r.t(p.last_restore_time)?;
    r.tail(p.observed_at, &p.provenance)
}

fn write_control(r: &mut Row<BufWriter<File>>, c: &ControlResult) -> io::Result<()> {
    r.o(&c.account_id)?;
    r.o(&c.region)?;
    r.o(&c.framework_name)?;
    r.s(&c.control_name)?;
    r.o(&c.compliance_status)?;
    r.t(c.last_evaluation_time)?;
    r.n(c.resources_compliant)?;
    r.n(c.resources_non_compliant)?;
    r.o(&c.control_parameters)?;
    r.tail(c.observed_at, &c.provenance)
}

fn write_resource(r: &mut Row<BufWriter<File>>, c: &ResourceCompliance) -> io::Result<()> {
    r.o(&c.account_id)?;
    r.o(&c.region)?;
    r.o(&c.framework_name)?;
    r.o(&c.control_name)?;
    r.s(&c.resource_id)?;
    r.o(&c.resource_type)?;
    r.o(&c.compliance_status)?;
    r.t(c.last_evaluation_time)?;
    r.tail(c.observed_at, &c.provenance)
}
