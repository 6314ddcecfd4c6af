//! The evidence model: normalised, merged records with provenance.
//!
//! Parsers hand records to a [`Collector`] (one per worker). Bulky records, those that grow
//! with the quarter (jobs, recovery points, compliance rows, the tag inventory, malware
//! scans), are spilled to disk in sorted runs; small tables, which grow with the estate
//! (vaults, legal holds, alarms, restore-testing plans, backup plan rules and selections,
//! vault notifications and access policies, EventBridge rules, SNS subscriptions, Audit
//! Manager reports), stay in memory.
//! [`assemble`] merges each key's observations into one record (rules in [`merge`]) and
//! returns [`Evidence`], which later stages read: small tables directly, bulky ones as
//! streams in key order. [`write`](mod@write) turns it into the `evidence/*.csv` files.
//!
//! Semantics v2 (DESIGN §3) at this level: a job is a parent if it is flagged (`isParentJob` /
//! `IsParent`) **or** another job names it in `parentJobId`. The collectors gather the named
//! parent ids while parsing (a small set), and [`assemble`] marks each such merged job
//! `is_parent = Some(true)` before handing it on, so the metrics (which skip parents) and
//! `evidence/backup_jobs.csv` agree. Ties the merge settles by a rule ([`merge::Conflict`])
//! come back in [`Evidence::conflicts`] and go to `evidence/conflicts.csv`.

pub(crate) mod alerts;
pub(crate) mod kind;
pub(crate) mod merge;
pub mod model;
pub(crate) mod recognise;
pub(crate) mod store;
pub(crate) mod table;
pub(crate) mod write;

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::ablation::{self, Stage};
use crate::artifact::{Artifact, Sha256Digest};
pub use kind::{ArtifactKind, Format, Sink, VecSink};
use merge::Conflict;
use model::{
    Alarm, AssessmentReport, BackupRule, BackupSelection, CollectionGap, ControlResult, EventRule, Job, JobKind,
    LegalHold, MalwareScan, ProtectedResource, RecoveryPoint, ReportIntegrity, ResourceCompliance, RestoreTestingPlan,
    RestoreTestingSelection, SnsSubscription, TaggedResource, Vault, VaultAccessPolicy, VaultNotification, ZipMember,
};
use store::{Bulk, BulkCounts, SpillWriter};

/// Declares [`Record`] with one variant per record kind, and the conversions between each
/// kind and it (`From<T> for Record`, `TryFrom<Record> for T`), so code generic over kinds
/// (the spill merge) needs no match per kind.
macro_rules! records {
    ($(#[$meta:meta])* pub enum Record { $($variant:ident($ty:ty)),* $(,)? }) => {
        $(#[$meta])*
        pub enum Record {
            $($variant($ty)),*
        }
        $(
            impl From<$ty> for Record {
                fn from(r: $ty) -> Self {
                    Record::$variant(r)
                }
            }
            impl TryFrom<Record> for $ty {
                type Error = Record;
                fn try_from(r: Record) -> Result<Self, Record> {
                    if let Record::$variant(x) = r { Ok(x) } else { Err(r) }
                }
            }
        )*
    };
}

records! {
    /// Any record a parser can produce.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[allow(missing_docs, clippy::large_enum_variant)] // short-lived; boxing would cost an allocation per row
    pub enum Record {
        Job(Job),
        RecoveryPoint(RecoveryPoint),
        Control(ControlResult),
        ResourceCompliance(ResourceCompliance),
        Vault(Vault),
        LegalHold(LegalHold),
        Alarm(Alarm),
        TaggedResource(TaggedResource),
        Plan(RestoreTestingPlan),
        Selection(RestoreTestingSelection),
        AssessmentReport(AssessmentReport),
        ZipMember(ZipMember),
        Integrity(ReportIntegrity),
        Gap(CollectionGap),
        BackupRule(BackupRule),
        BackupSelection(BackupSelection),
        VaultNotification(VaultNotification),
        VaultAccessPolicy(VaultAccessPolicy),
        EventRule(EventRule),
        SnsSubscription(SnsSubscription),
        ProtectedResource(ProtectedResource),
        MalwareScan(MalwareScan),
    }
}

/// One input artifact and what parsing it gave.
#[derive(Debug, Clone)]
pub struct ArtifactEntry {
    /// The artifact (digest, size, origin, fetched-at).
    pub artifact: Artifact,
    /// What it is.
    pub kind: ArtifactKind,
    /// Its container format.
    pub format: Format,
    /// Records taken from it.
    pub records: u64,
    /// Problems found in it.
    pub errors: u64,
    /// The first problem, as `<locator>: <message>`.
    pub first_error: Option<String>,
    /// When a snapshot was taken (from its path, DESIGN §3), if known.
    pub observed_at: Option<crate::time::Timestamp>,
}

impl ArtifactEntry {
    /// `parsed`, `failed` (at least one problem: see `parse_errors.csv`) or `unclassified`.
    pub fn parse_status(&self) -> &'static str {
        if self.errors > 0 {
            "failed"
        } else if self.kind == ArtifactKind::Unclassified {
            "unclassified"
        } else {
            "parsed"
        }
    }
}

/// A problem found while parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Index of the artifact.
    pub artifact: u32,
    /// Where in it (`line 17`, `/BackupJobs/3/CreationDate`, `line 4 column 10`).
    pub locator: String,
    /// What is wrong.
    pub message: String,
}

#[derive(Debug, Default)]
struct Small {
    vaults: Vec<Vault>,
    legal_holds: Vec<LegalHold>,
    alarms: Vec<Alarm>,
    plans: Vec<RestoreTestingPlan>,
    selections: Vec<RestoreTestingSelection>,
    assessment_reports: Vec<AssessmentReport>,
    zip_members: Vec<ZipMember>,
    integrity: Vec<ReportIntegrity>,
    gaps: Vec<CollectionGap>,
    backup_rules: Vec<BackupRule>,
    backup_selections: Vec<BackupSelection>,
    vault_notifications: Vec<VaultNotification>,
    vault_access_policies: Vec<VaultAccessPolicy>,
    event_rules: Vec<EventRule>,
    sns_subscriptions: Vec<SnsSubscription>,
    protected_resources: Vec<ProtectedResource>,
}

impl Small {
    /// Adds another worker's tables. `other` is taken apart field by field, so a table added
    /// to `Small` does not build until it is added here too.
    fn absorb(&mut self, other: Small) {
        let Small {
            vaults,
            legal_holds,
            alarms,
            plans,
            selections,
            assessment_reports,
            zip_members,
            integrity,
            gaps,
            backup_rules,
            backup_selections,
            vault_notifications,
            vault_access_policies,
            event_rules,
            sns_subscriptions,
            protected_resources,
        } = other;
        self.vaults.extend(vaults);
        self.legal_holds.extend(legal_holds);
        self.alarms.extend(alarms);
        self.plans.extend(plans);
        self.selections.extend(selections);
        self.assessment_reports.extend(assessment_reports);
        self.zip_members.extend(zip_members);
        self.integrity.extend(integrity);
        self.gaps.extend(gaps);
        self.backup_rules.extend(backup_rules);
        self.backup_selections.extend(backup_selections);
        self.vault_notifications.extend(vault_notifications);
        self.vault_access_policies.extend(vault_access_policies);
        self.event_rules.extend(event_rules);
        self.sns_subscriptions.extend(sns_subscriptions);
        self.protected_resources.extend(protected_resources);
    }
}

/// Job ids that another job names as its parent (`parentJobId`), by job kind.
#[derive(Debug, Default)]
pub struct ParentIds([HashSet<String>; 3]);

impl ParentIds {
    fn slot(kind: JobKind) -> usize {
        match kind {
            JobKind::Backup => 0,
            JobKind::Copy => 1,
            JobKind::Restore => 2,
        }
    }

    /// Notes the parent `job` names, if any (not itself).
    pub fn note(&mut self, job: &Job) {
        if let (Some(kind), Some(parent)) = (job.kind, job.parent_job_id.as_deref())
            && !parent.is_empty()
            && parent != job.job_id
        {
            let set = &mut self.0[Self::slot(kind)];
            if !set.contains(parent) {
                set.insert(parent.to_owned());
            }
        }
    }

    /// Whether some job of this kind names `id` as its parent.
    pub fn contains(&self, kind: JobKind, id: &str) -> bool {
        self.0[Self::slot(kind)].contains(id)
    }

    fn extend(&mut self, other: ParentIds) {
        for (mine, theirs) in self.0.iter_mut().zip(other.0) {
            mine.extend(theirs);
        }
    }
}

/// A parse worker's sink: spills bulky records, keeps small ones, notes named parents, counts
/// per artifact.
#[derive(Debug)]
pub struct Collector {
    spill: SpillWriter,
    small: Small,
    parents: ParentIds,
    errors: Vec<ParseError>,
    artifact: u32,
    records: u64,
    n_errors: u64,
    first_error: Option<String>,
    io_error: Option<io::Error>,
}

/// What one collector gathered.
#[derive(Debug)]
pub struct Collected {
    runs: Vec<PathBuf>,
    small: Small,
    parents: ParentIds,
    errors: Vec<ParseError>,
}

impl Collector {
    /// A collector spilling to `dir` with run files named after `name`; `budget` bytes of
    /// observations are held before a run is written.
    pub fn new(dir: &Path, name: &str, budget: usize) -> Self {
        Collector {
            spill: SpillWriter::new(dir, name, budget),
            small: Small::default(),
            parents: ParentIds::default(),
            errors: Vec::new(),
            artifact: 0,
            records: 0,
            n_errors: 0,
            first_error: None,
            io_error: None,
        }
    }

    /// Starts counting for another artifact.
    pub fn start(&mut self, artifact: u32) {
        self.artifact = artifact;
        self.records = 0;
        self.n_errors = 0;
        self.first_error = None;
    }

    /// Counts for the current artifact: (records, errors, first error).
    ///
    /// # Errors
    /// When spilling failed while the artifact was parsed.
    pub fn end(&mut self) -> io::Result<(u64, u64, Option<String>)> {
        if let Some(e) = self.io_error.take() {
            return Err(e);
        }
        Ok((self.records, self.n_errors, self.first_error.take()))
    }

    /// Flushes the spill.
    ///
    /// # Errors
    /// On write errors.
    pub fn finish(self) -> io::Result<Collected> {
        Ok(Collected { runs: self.spill.finish()?, small: self.small, parents: self.parents, errors: self.errors })
    }
}

impl Sink for Collector {
    fn record(&mut self, record: Record) {
        self.records += 1;
        if let Record::Job(j) = &record {
            self.parents.note(j);
        }
        if let Some((bulk, key)) = Bulk::of(&record) {
            if ablation::left_out(Stage::Spill) {
                return;
            }
            if let Err(e) = self.spill.push(bulk, &key, &record) {
                self.io_error.get_or_insert(e);
            }
            return;
        }
        let s = &mut self.small;
        match record {
            Record::Vault(r) => s.vaults.push(r),
            Record::LegalHold(r) => s.legal_holds.push(r),
            Record::Alarm(r) => s.alarms.push(r),
            Record::Plan(r) => s.plans.push(r),
            Record::Selection(r) => s.selections.push(r),
            Record::AssessmentReport(r) => s.assessment_reports.push(r),
            Record::ZipMember(r) => s.zip_members.push(r),
            Record::Integrity(r) => s.integrity.push(r),
            Record::Gap(r) => s.gaps.push(r),
            Record::BackupRule(r) => s.backup_rules.push(r),
            Record::BackupSelection(r) => s.backup_selections.push(r),
            Record::VaultNotification(r) => s.vault_notifications.push(r),
            Record::VaultAccessPolicy(r) => s.vault_access_policies.push(r),
            Record::EventRule(r) => s.event_rules.push(r),
            Record::SnsSubscription(r) => s.sns_subscriptions.push(r),
            Record::ProtectedResource(r) => s.protected_resources.push(r),
            Record::Job(_)
            | Record::RecoveryPoint(_)
            | Record::Control(_)
            | Record::ResourceCompliance(_)
            | Record::TaggedResource(_)
            | Record::MalwareScan(_) => {}
        }
    }

    fn error(&mut self, locator: String, message: String) {
        self.n_errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(format!("{locator}: {message}"));
        }
        self.errors.push(ParseError { artifact: self.artifact, locator, message });
    }
}

/// The merged evidence of a build.
#[derive(Debug)]
pub struct Evidence {
    /// Every artifact, in origin order (provenance indices point here).
    pub artifacts: Vec<ArtifactEntry>,
    /// Every parse problem, by artifact.
    pub errors: Vec<ParseError>,
    /// Backup vaults.
    pub vaults: Vec<Vault>,
    /// Legal holds.
    pub legal_holds: Vec<LegalHold>,
    /// CloudWatch alarms.
    pub alarms: Vec<Alarm>,
    /// Tag inventory.
    pub tagged_resources: Vec<TaggedResource>,
    /// Restore testing plans.
    pub restore_testing_plans: Vec<RestoreTestingPlan>,
    /// Restore testing selections.
    pub restore_testing_selections: Vec<RestoreTestingSelection>,
    /// Audit Manager assessment reports.
    pub assessment_reports: Vec<AssessmentReport>,
    /// Their members, hashed.
    pub zip_members: Vec<ZipMember>,
    /// Audit Manager's own integrity checks of report zips in S3.
    pub report_integrity: Vec<ReportIntegrity>,
    /// Ties the merge settled by a rule (DESIGN §3 v2), in (job type, job id) order.
    pub conflicts: Vec<Conflict>,
    /// Windows of job history `collect` could no longer reach.
    pub collection_gaps: Vec<CollectionGap>,
    /// Rules of backup plans, one per plan version and rule.
    pub backup_rules: Vec<BackupRule>,
    /// Backup selections (what each plan protects).
    pub backup_selections: Vec<BackupSelection>,
    /// Vault notifications (the SNS topic and events of each vault).
    pub vault_notifications: Vec<VaultNotification>,
    /// Vault access policies.
    pub vault_access_policies: Vec<VaultAccessPolicy>,
    /// EventBridge rules and their targets.
    pub event_rules: Vec<EventRule>,
    /// SNS subscriptions of the topics alert paths name.
    pub sns_subscriptions: Vec<SnsSubscription>,
    /// Resources AWS Backup lists as protected, with their latest backup.
    pub protected_resources: Vec<ProtectedResource>,
    bulk: BulkCounts,
}

/// Merges what the collectors gathered. The small tables end up in the returned
/// [`Evidence`]; the bulky records (jobs, recovery points, compliance rows) are streamed:
/// each merged one is handed to `consume` once, in (type, key) order — jobs by job id,
/// recovery points by ARN — so a quarter never has to fit in memory. A job another job names
/// as its parent reaches `consume` with `is_parent = Some(true)`. `workers` threads decode and
/// merge the observations; the result is the same for any number.
///
/// # Errors
/// On I/O errors reading the spilled runs, or an error from `consume`.
pub fn assemble(
    artifacts: Vec<ArtifactEntry>,
    parts: Vec<Collected>,
    workers: usize,
    consume: &mut dyn FnMut(&Record) -> io::Result<()>,
) -> io::Result<Evidence> {
    let shas: Vec<Sha256Digest> = artifacts.iter().map(|a| a.artifact.sha256).collect();
    let mut small = Small::default();
    let mut runs = Vec::new();
    let mut errors = Vec::new();
    let mut parents = ParentIds::default();
    for p in parts {
        runs.extend(p.runs);
        errors.extend(p.errors);
        parents.extend(p.parents);
        small.absorb(p.small);
    }
    // Errors of one artifact come from one worker, in order; a stable sort keeps that order.
    errors.sort_by_key(|e| e.artifact);
    // The tag inventory is spilled like the bulky records (one observation per resource per
    // snapshot adds up), but its merged form is small and kept for later stages.
    let mut tagged = Vec::new();
    let (bulk, conflicts) = store::merge_runs(&runs, &shas, workers, &mut |r| match r {
        Record::TaggedResource(t) => {
            tagged.push(t.clone());
            Ok(())
        }
        Record::Job(j) if j.is_parent != Some(true) && j.kind.is_some_and(|k| parents.contains(k, &j.job_id)) => {
            let mut named = j.clone();
            named.is_parent = Some(true);
            consume(&Record::Job(named))
        }
        other => consume(other),
    })?;
    for r in &runs {
        let _ = std::fs::remove_file(r);
    }
    let by_prov = |p: &model::Provenance| (shas[p.artifact as usize], p.locator);
    let mut assessment_reports = small.assessment_reports;
    assessment_reports.sort_by_key(|r| r.provenance.first().map(by_prov));
    assessment_reports.dedup_by_key(|r| r.provenance.first().map(by_prov));
    let mut zip_members = small.zip_members;
    zip_members.sort_by_key(|m| by_prov(&m.provenance));
    zip_members.dedup_by_key(|m| by_prov(&m.provenance));
    Ok(Evidence {
        artifacts,
        errors,
        vaults: merge::merge_all(small.vaults, &shas),
        legal_holds: merge::merge_all(small.legal_holds, &shas),
        alarms: merge::merge_all(small.alarms, &shas),
        tagged_resources: tagged,
        restore_testing_plans: merge::merge_all(small.plans, &shas),
        restore_testing_selections: merge::merge_all(small.selections, &shas),
        assessment_reports,
        zip_members,
        report_integrity: merge::merge_all(small.integrity, &shas),
        conflicts,
        collection_gaps: merge::merge_all(small.gaps, &shas),
        backup_rules: merge::merge_all(small.backup_rules, &shas),
        backup_selections: merge::merge_all(small.backup_selections, &shas),
        vault_notifications: merge::merge_all(small.vault_notifications, &shas),
        vault_access_policies: merge::merge_all(small.vault_access_policies, &shas),
        event_rules: merge::merge_all(small.event_rules, &shas),
        sns_subscriptions: merge::merge_all(small.sns_subscriptions, &shas),
        protected_resources: merge::merge_all(small.protected_resources, &shas),
        bulk,
    })
}

impl Evidence {
    /// An evidence set with no records (unit tests build on it).
    #[cfg(test)]
    pub(crate) fn empty() -> Evidence {
        Evidence {
            artifacts: Vec::new(),
            errors: Vec::new(),
            vaults: Vec::new(),
            legal_holds: Vec::new(),
            alarms: Vec::new(),
            tagged_resources: Vec::new(),
            restore_testing_plans: Vec::new(),
            restore_testing_selections: Vec::new(),
            assessment_reports: Vec::new(),
            zip_members: Vec::new(),
            report_integrity: Vec::new(),
            conflicts: Vec::new(),
            collection_gaps: Vec::new(),
            backup_rules: Vec::new(),
            backup_selections: Vec::new(),
            vault_notifications: Vec::new(),
            vault_access_policies: Vec::new(),
            event_rules: Vec::new(),
            sns_subscriptions: Vec::new(),
            protected_resources: Vec::new(),
            bulk: BulkCounts::default(),
        }
    }

    /// Number of merged records per bulk type: backup, copy, restore jobs, recovery points,
    /// control and resource evaluations, malware scans.
    pub fn bulk_counts(&self) -> [(&'static str, u64); 7] {
        [
            ("backup_jobs", self.bulk.get(Bulk::BackupJobs)),
            ("copy_jobs", self.bulk.get(Bulk::CopyJobs)),
            ("restore_jobs", self.bulk.get(Bulk::RestoreJobs)),
            ("recovery_points", self.bulk.get(Bulk::RecoveryPoints)),
            ("controls", self.bulk.get(Bulk::Controls)),
            ("resource_compliance", self.bulk.get(Bulk::ResourceCompliance)),
            ("malware_scans", self.bulk.get(Bulk::MalwareScans)),
        ]
    }

    /// Whether any artifact failed to parse cleanly.
    pub fn is_partial(&self) -> bool {
        self.artifacts.iter().any(|a| a.errors > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifact::Artifact;
    use crate::time::Timestamp;
    use model::{Locator, Provenance};

    fn entry(i: u8) -> ArtifactEntry {
        let artifact =
            Artifact { sha256: Sha256Digest([i; 32]), size: 1, origin: format!("a{i}"), fetched_at: Timestamp(0) };
        let (kind, format) = (ArtifactKind::BackupJobsSnapshot, Format::Json);
        ArtifactEntry { artifact, kind, format, records: 0, errors: 0, first_error: None, observed_at: None }
    }

    fn job(artifact: u32, kind: JobKind, id: &str, state: &str, parent: Option<&str>) -> Record {
        Record::Job(Job {
            kind: Some(kind),
            job_id: id.into(),
            state: Some(state.into()),
            parent_job_id: parent.map(str::to_owned),
            is_parent: parent.map(|_| false),
            observed_at: Some(Timestamp(100)),
            provenance: vec![Provenance { artifact, locator: Locator::Line(2) }],
            ..Job::default()
        })
    }

    #[test]
    fn a_job_named_as_parent_is_marked_and_ties_come_back_as_conflicts() {
        let dir = tempfile::tempdir().unwrap();
        // Two workers: the parent is read by one, its child by the other.
        let mut a = Collector::new(dir.path(), "w0", 1 << 20);
        a.start(0);
        a.record(job(0, JobKind::Backup, "P", "COMPLETED", None));
        a.record(job(0, JobKind::Backup, "T", "COMPLETED", None));
        a.record(job(0, JobKind::Copy, "C", "COMPLETED", None));
        let mut b = Collector::new(dir.path(), "w1", 1 << 20);
        b.start(1);
        b.record(job(1, JobKind::Backup, "K", "COMPLETED", Some("P")));
        b.record(job(1, JobKind::Backup, "T", "FAILED", None));
        b.record(job(1, JobKind::Backup, "S", "FAILED", Some("S")));
        b.record(job(1, JobKind::Restore, "X", "COMPLETED", Some("C")));
        let parts = vec![a.finish().unwrap(), b.finish().unwrap()];
        let mut seen = Vec::new();
        let ev = assemble(vec![entry(0), entry(1)], parts, 2, &mut |r| {
            if let Record::Job(j) = r {
                seen.push((j.job_id.clone(), j.is_parent, j.state.as_deref().unwrap_or_default().to_owned()));
            }
            Ok(())
        })
        .unwrap();
        let row = |id: &str, p: Option<bool>, s: &str| (id.to_owned(), p, s.to_owned());
        assert_eq!(
            seen,
            [
                row("K", Some(false), "COMPLETED"),
                row("P", Some(true), "COMPLETED"),
                row("S", Some(false), "FAILED"),
                row("T", None, "FAILED"),
                row("C", None, "COMPLETED"),
                row("X", Some(false), "COMPLETED"),
            ],
            "named parents only within their kind; naming oneself does not count"
        );
        assert_eq!(ev.conflicts.len(), 1);
        assert_eq!((ev.conflicts[0].job_id.as_str(), ev.conflicts[0].field), ("T", "state"));
        assert_eq!(ev.conflicts[0].taken, "FAILED");
    }
}
