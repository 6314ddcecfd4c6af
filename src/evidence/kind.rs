//! The vocabulary parsers and the model share: what an artifact is ([`ArtifactKind`]), its
//! container [`Format`], and the [`Sink`] parsers report records and problems through.
//!
//! It lives here, with the model, so that `ingest` depends on `evidence` and never the
//! other way round; `ingest` re-exports it for its callers.

use super::Record;

/// Receives what a parser finds.
pub trait Sink {
    /// A parsed record.
    fn record(&mut self, record: Record);
    /// A problem at `locator` (e.g. `line 17`, `/BackupJobs/3/CreationDate`).
    fn error(&mut self, locator: String, message: String);
}

/// A sink that keeps everything in memory: for tests, and for tools that want the records of
/// one artifact (never for a quarter, which is streamed).
#[derive(Debug, Default)]
pub struct VecSink {
    /// Records in the order they were reported.
    pub records: Vec<Record>,
    /// `(locator, message)` per problem.
    pub errors: Vec<(String, String)>,
}

impl Sink for VecSink {
    fn record(&mut self, record: Record) {
        self.records.push(record);
    }
    fn error(&mut self, locator: String, message: String) {
        self.errors.push((locator, message));
    }
}

impl VecSink {
    /// The job records among them.
    pub fn jobs(&self) -> Vec<&super::model::Job> {
        self.records.iter().filter_map(|r| if let Record::Job(j) = r { Some(j) } else { None }).collect()
    }

    /// Copies of the records of one kind (`sink.of::<Vault>()`).
    pub fn of<T: TryFrom<Record>>(&self) -> Vec<T> {
        self.records.iter().cloned().filter_map(|r| T::try_from(r).ok()).collect()
    }
}

/// What an artifact turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[allow(missing_docs)]
pub enum ArtifactKind {
    BackupJobReport,
    CopyJobReport,
    RestoreJobReport,
    ControlComplianceReport,
    ResourceComplianceReport,
    ScanJobReport,
    BackupJobsSnapshot,
    CopyJobsSnapshot,
    RestoreJobsSnapshot,
    RecoveryPointsSnapshot,
    BackupVaultsSnapshot,
    LegalHoldsSnapshot,
    RestoreTestingPlansSnapshot,
    RestoreTestingSelectionsSnapshot,
    /// `list-backup-plans`: an index of the plans, kept and hashed; the rules come from
    /// `get-backup-plan`.
    BackupPlansListSnapshot,
    /// `get-backup-plan`: one plan version and its rules.
    BackupPlanSnapshot,
    /// `list-backup-selections`: an index of a plan's selections, kept and hashed; the
    /// criteria come from `get-backup-selection`.
    BackupSelectionsListSnapshot,
    /// `get-backup-selection`: one selection and its criteria.
    BackupSelectionSnapshot,
    /// `get-backup-vault-notifications`: a vault's SNS topic and events.
    VaultNotificationsSnapshot,
    /// `get-backup-vault-access-policy`: a vault's access policy.
    VaultAccessPolicySnapshot,
    /// `aws events list-rules`: EventBridge rules.
    EventRulesSnapshot,
    /// `aws events list-targets-by-rule`: one rule's targets (the rule from the file name).
    EventRuleTargetsSnapshot,
    /// `aws sns list-subscriptions-by-topic`: a topic's subscriptions.
    SnsSubscriptionsSnapshot,
    /// `list-protected-resources`: resources AWS Backup has backed up, with their latest backup.
    ProtectedResourcesSnapshot,
    /// `list-scan-jobs` / `describe-scan-job`: malware scans of recovery points.
    ScanJobsSnapshot,
    MetricAlarmsSnapshot,
    TagInventorySnapshot,
    ReportIntegritySnapshot,
    /// `collection-gap.json`: a window of job history `collect` could no longer reach.
    CollectionGapRecord,
    AssessmentReport,
    Unclassified,
}

impl ArtifactKind {
    /// Name used in `artifacts.csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            ArtifactKind::BackupJobReport => "BACKUP_JOB_REPORT",
            ArtifactKind::CopyJobReport => "COPY_JOB_REPORT",
            ArtifactKind::RestoreJobReport => "RESTORE_JOB_REPORT",
            ArtifactKind::ControlComplianceReport => "CONTROL_COMPLIANCE_REPORT",
            ArtifactKind::ResourceComplianceReport => "RESOURCE_COMPLIANCE_REPORT",
            ArtifactKind::ScanJobReport => "SCAN_JOB_REPORT",
            ArtifactKind::BackupJobsSnapshot => "snapshot:BackupJobs",
            ArtifactKind::CopyJobsSnapshot => "snapshot:CopyJobs",
            ArtifactKind::RestoreJobsSnapshot => "snapshot:RestoreJobs",
            ArtifactKind::RecoveryPointsSnapshot => "snapshot:RecoveryPoints",
            ArtifactKind::BackupVaultsSnapshot => "snapshot:BackupVaults",
            ArtifactKind::LegalHoldsSnapshot => "snapshot:LegalHolds",
            ArtifactKind::RestoreTestingPlansSnapshot => "snapshot:RestoreTestingPlans",
            ArtifactKind::RestoreTestingSelectionsSnapshot => "snapshot:RestoreTestingSelections",
            ArtifactKind::BackupPlansListSnapshot => "snapshot:BackupPlansList",
            ArtifactKind::BackupPlanSnapshot => "snapshot:BackupPlan",
            ArtifactKind::BackupSelectionsListSnapshot => "snapshot:BackupSelectionsList",
            ArtifactKind::BackupSelectionSnapshot => "snapshot:BackupSelection",
            ArtifactKind::VaultNotificationsSnapshot => "snapshot:BackupVaultNotifications",
            ArtifactKind::VaultAccessPolicySnapshot => "snapshot:BackupVaultAccessPolicy",
            ArtifactKind::EventRulesSnapshot => "snapshot:EventRules",
            ArtifactKind::EventRuleTargetsSnapshot => "snapshot:EventRuleTargets",
            ArtifactKind::SnsSubscriptionsSnapshot => "snapshot:SnsSubscriptions",
            ArtifactKind::ProtectedResourcesSnapshot => "snapshot:ProtectedResources",
            ArtifactKind::ScanJobsSnapshot => "snapshot:ScanJobs",
            ArtifactKind::MetricAlarmsSnapshot => "snapshot:MetricAlarms",
            ArtifactKind::TagInventorySnapshot => "snapshot:ResourceTagMappingList",
            ArtifactKind::ReportIntegritySnapshot => "snapshot:AssessmentReportIntegrity",
            ArtifactKind::CollectionGapRecord => "collect:CollectionGap",
            ArtifactKind::AssessmentReport => "AUDIT_MANAGER_ASSESSMENT_REPORT",
            ArtifactKind::Unclassified => "unclassified",
        }
    }
}

/// The container format of an artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Format {
    Csv,
    Json,
    Zip,
    Other,
}

impl Format {
    /// Name used in `artifacts.csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Zip => "zip",
            Format::Other => "other",
        }
    }
}
