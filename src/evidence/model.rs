//! The record types of the evidence model.
//!
//! Plain data, no I/O. Every record carries the provenances it was built from, so a number
//! in a report can be traced to an artifact's SHA-256 and a row or JSON pointer.

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// Where one observation came from: an artifact (by index into the build's artifact table)
/// and a place inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Provenance {
    /// Index of the artifact in [`crate::evidence::Evidence::artifacts`].
    pub artifact: u32,
    /// The row or item inside it.
    pub locator: Locator,
}

/// A place inside an artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Locator {
    /// A CSV record, by the line it starts on (the header is line 1).
    Line(u64),
    /// An item of a top-level JSON list: `/<list>/<index>`.
    Item(ListKey, u32),
    /// The whole document (a `describe-*` output holding one object).
    Document,
    /// A member of a zip archive, by its index in the central directory.
    ZipMember(u32),
}

impl std::fmt::Display for Locator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Locator::Line(n) => write!(f, "line {n}"),
            Locator::Item(list, i) => write!(f, "/{}/{i}", list.as_str()),
            Locator::Document => f.write_str("/"),
            Locator::ZipMember(i) => write!(f, "zip member {i}"),
        }
    }
}

/// The top-level JSON lists we read, by their key in AWS CLI / report output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum ListKey {
    ReportItems,
    Root,
    BackupJobs,
    CopyJobs,
    RestoreJobs,
    RecoveryPoints,
    BackupVaultList,
    LegalHolds,
    RestoreTestingPlans,
    RestoreTestingSelections,
    MetricAlarms,
    CompositeAlarms,
    ResourceTagMappingList,
    AssessmentReportIntegrity,
}

impl ListKey {
    /// All keys, for lookups.
    pub const ALL: [ListKey; 14] = [
        ListKey::ReportItems,
        ListKey::Root,
        ListKey::BackupJobs,
        ListKey::CopyJobs,
        ListKey::RestoreJobs,
        ListKey::RecoveryPoints,
        ListKey::BackupVaultList,
        ListKey::LegalHolds,
        ListKey::RestoreTestingPlans,
        ListKey::RestoreTestingSelections,
        ListKey::MetricAlarms,
        ListKey::CompositeAlarms,
        ListKey::ResourceTagMappingList,
        ListKey::AssessmentReportIntegrity,
    ];

    /// The JSON key (empty for a top-level array).
    pub fn as_str(self) -> &'static str {
        match self {
            ListKey::ReportItems => "reportItems",
            ListKey::Root => "",
            ListKey::BackupJobs => "BackupJobs",
            ListKey::CopyJobs => "CopyJobs",
            ListKey::RestoreJobs => "RestoreJobs",
            ListKey::RecoveryPoints => "RecoveryPoints",
            ListKey::BackupVaultList => "BackupVaultList",
            ListKey::LegalHolds => "LegalHolds",
            ListKey::RestoreTestingPlans => "RestoreTestingPlans",
            ListKey::RestoreTestingSelections => "RestoreTestingSelections",
            ListKey::MetricAlarms => "MetricAlarms",
            ListKey::CompositeAlarms => "CompositeAlarms",
            ListKey::ResourceTagMappingList => "ResourceTagMappingList",
            ListKey::AssessmentReportIntegrity => "AssessmentReportIntegrity",
        }
    }

    /// The key for a JSON member name, if it is one we read.
    pub fn from_key(key: &str) -> Option<ListKey> {
        ListKey::ALL.into_iter().find(|k| *k != ListKey::Root && k.as_str() == key)
    }
}

/// Which kind of AWS Backup job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum JobKind {
    /// A backup job.
    Backup,
    /// A copy job.
    Copy,
    /// A restore job (restore tests included).
    Restore,
}

impl JobKind {
    /// Whether `state` ends the job (DESIGN §3).
    pub fn is_terminal(self, state: &str) -> bool {
        match self {
            JobKind::Backup => matches!(state, "COMPLETED" | "FAILED" | "ABORTED" | "EXPIRED" | "PARTIAL"),
            JobKind::Copy => matches!(state, "COMPLETED" | "FAILED" | "PARTIAL" | "ABORTED"),
            JobKind::Restore => matches!(state, "COMPLETED" | "FAILED" | "ABORTED"),
        }
    }

    /// Lower-case name (`backup`, `copy`, `restore`).
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Backup => "backup",
            JobKind::Copy => "copy",
            JobKind::Restore => "restore",
        }
    }
}

/// A backup, copy or restore job. Field names follow the AWS Backup API.
///
/// For copy jobs `backup_vault_arn` / `recovery_point_arn` are the *source* vault and
/// recovery point; for restore jobs `resource_arn` is the *source* resource
/// (`SourceResourceArn`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct Job {
    pub kind: Option<JobKind>,
    pub job_id: String,
    pub account_id: Option<String>,
    pub region: Option<String>,
    pub state: Option<String>,
    pub status_message: Option<String>,
    pub message_category: Option<String>,
    pub resource_arn: Option<String>,
    pub resource_type: Option<String>,
    pub resource_name: Option<String>,
    pub creation_date: Option<Timestamp>,
    pub completion_date: Option<Timestamp>,
    pub initiation_date: Option<Timestamp>,
    pub expected_completion_date: Option<Timestamp>,
    pub backup_vault_name: Option<String>,
    pub backup_vault_arn: Option<String>,
    pub destination_vault_arn: Option<String>,
    pub recovery_point_arn: Option<String>,
    pub destination_recovery_point_arn: Option<String>,
    pub backup_size_bytes: Option<u64>,
    pub iam_role_arn: Option<String>,
    pub backup_plan_arn: Option<String>,
    pub backup_plan_name: Option<String>,
    pub backup_rule_id: Option<String>,
    pub backup_rule_name: Option<String>,
    pub is_parent: Option<bool>,
    pub parent_job_id: Option<String>,
    pub vault_type: Option<String>,
    pub vault_lock_state: Option<String>,
    pub is_encrypted: Option<bool>,
    pub job_run_time: Option<String>,
    pub percent_done: Option<String>,
    pub restore_testing_plan_arn: Option<String>,
    pub validation_status: Option<String>,
    pub validation_status_message: Option<String>,
    pub deletion_status: Option<String>,
    pub created_resource_arn: Option<String>,
    pub recovery_point_creation_date: Option<Timestamp>,
    /// When this observation was made (report period end, snapshot time).
    pub observed_at: Option<Timestamp>,
    /// Every observation this record was merged from.
    pub provenance: Vec<Provenance>,
}

impl Job {
    /// A restore job started by a restore testing plan.
    pub fn is_restore_test(&self) -> bool {
        self.kind == Some(JobKind::Restore) && self.restore_testing_plan_arn.is_some()
    }

    /// Whether the state is terminal for this job's kind.
    pub fn is_terminal(&self) -> bool {
        match (self.kind, self.state.as_deref()) {
            (Some(k), Some(s)) => k.is_terminal(s),
            _ => false,
        }
    }
}

/// A recovery point (`list-recovery-points-by-backup-vault`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct RecoveryPoint {
    pub recovery_point_arn: String,
    pub account_id: Option<String>,
    pub region: Option<String>,
    pub backup_vault_name: Option<String>,
    pub backup_vault_arn: Option<String>,
    pub resource_arn: Option<String>,
    pub resource_type: Option<String>,
    pub resource_name: Option<String>,
    pub status: Option<String>,
    pub creation_date: Option<Timestamp>,
    pub completion_date: Option<Timestamp>,
    pub backup_size_bytes: Option<u64>,
    pub is_encrypted: Option<bool>,
    pub encryption_key_arn: Option<String>,
    pub storage_class: Option<String>,
    pub delete_at: Option<Timestamp>,
    pub move_to_cold_storage_at: Option<Timestamp>,
    pub last_restore_time: Option<Timestamp>,
    pub vault_type: Option<String>,
    pub observed_at: Option<Timestamp>,
    pub provenance: Vec<Provenance>,
}

/// One evaluation of a Backup Audit Manager control (CONTROL_COMPLIANCE_REPORT row).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct ControlResult {
    pub account_id: Option<String>,
    pub region: Option<String>,
    pub framework_name: Option<String>,
    pub control_name: String,
    pub compliance_status: Option<String>,
    pub last_evaluation_time: Option<Timestamp>,
    pub resources_compliant: Option<u64>,
    pub resources_non_compliant: Option<u64>,
    pub control_parameters: Option<String>,
    pub observed_at: Option<Timestamp>,
    pub provenance: Vec<Provenance>,
}

/// One resource's evaluation against a control (RESOURCE_COMPLIANCE_REPORT row).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct ResourceCompliance {
    pub account_id: Option<String>,
    pub region: Option<String>,
    pub framework_name: Option<String>,
    pub control_name: Option<String>,
    pub resource_id: String,
    pub resource_type: Option<String>,
    pub compliance_status: Option<String>,
    pub last_evaluation_time: Option<Timestamp>,
    pub observed_at: Option<Timestamp>,
    pub provenance: Vec<Provenance>,
}

/// A backup vault and its lock configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct Vault {
    pub vault_arn: String,
    pub vault_name: Option<String>,
    pub account_id: Option<String>,
    pub region: Option<String>,
    pub vault_type: Option<String>,
    pub vault_state: Option<String>,
    pub encryption_key_arn: Option<String>,
    pub creation_date: Option<Timestamp>,
    pub number_of_recovery_points: Option<u64>,
    pub locked: Option<bool>,
    pub min_retention_days: Option<u64>,
    pub max_retention_days: Option<u64>,
    pub lock_date: Option<Timestamp>,
    pub observed_at: Option<Timestamp>,
    pub provenance: Vec<Provenance>,
}

impl Vault {
    /// Vault Lock mode as of the observation: `none`, `governance` (locked, no lock date),
    /// `compliance` (lock date reached: immutable), `compliance_grace` (lock date still
    /// ahead, so the lock can still be removed), or `unknown`.
    pub fn lock_mode(&self) -> &'static str {
        match (self.locked, self.lock_date) {
            (Some(false), _) => "none",
            (Some(true), None) => "governance",
            (Some(true), Some(d)) => match self.observed_at {
                Some(o) if o < d => "compliance_grace",
                _ => "compliance",
            },
            (None, _) => "unknown",
        }
    }
}

/// A legal hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct LegalHold {
    pub legal_hold_id: String,
    pub legal_hold_arn: Option<String>,
    pub account_id: Option<String>,
    pub region: Option<String>,
    pub title: Option<String>,
    pub status: Option<String>,
    pub description: Option<String>,
    pub creation_date: Option<Timestamp>,
    pub cancellation_date: Option<Timestamp>,
    pub observed_at: Option<Timestamp>,
    pub provenance: Vec<Provenance>,
}

/// A CloudWatch metric alarm.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct Alarm {
    pub alarm_arn: String,
    pub alarm_name: Option<String>,
    pub account_id: Option<String>,
    pub region: Option<String>,
    pub namespace: Option<String>,
    pub metric_name: Option<String>,
    pub dimensions: Option<String>,
    pub statistic: Option<String>,
    pub comparison_operator: Option<String>,
    pub threshold: Option<f64>,
    pub evaluation_periods: Option<u64>,
    pub actions_enabled: Option<bool>,
    /// `AlarmActions`, sorted, joined with `;`.
    pub alarm_actions: Option<String>,
    pub state_value: Option<String>,
    /// `metric` or `composite`.
    pub alarm_type: Option<String>,
    /// The `AWS/Backup` metrics it watches (directly, in metric math or in a Metrics
    /// Insights query), sorted, joined with `;`.
    pub backup_metrics: Option<String>,
    /// A composite alarm's rule.
    pub alarm_rule: Option<String>,
    pub observed_at: Option<Timestamp>,
    pub provenance: Vec<Provenance>,
}

/// A resource and its tags, from the tag inventory.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct TaggedResource {
    pub resource_arn: String,
    pub account_id: Option<String>,
    pub region: Option<String>,
    /// `key=value` pairs sorted by key.
    pub tags: Vec<(String, String)>,
    pub observed_at: Option<Timestamp>,
    pub provenance: Vec<Provenance>,
}

/// A restore testing plan.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct RestoreTestingPlan {
    pub plan_arn: String,
    pub plan_name: Option<String>,
    pub account_id: Option<String>,
    pub region: Option<String>,
    pub schedule_expression: Option<String>,
    pub creation_time: Option<Timestamp>,
    pub last_execution_time: Option<Timestamp>,
    pub observed_at: Option<Timestamp>,
    pub provenance: Vec<Provenance>,
}

/// A restore testing selection (which resources a plan tests).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct RestoreTestingSelection {
    pub plan_name: String,
    pub selection_name: String,
    pub account_id: Option<String>,
    pub region: Option<String>,
    pub protected_resource_type: Option<String>,
    pub iam_role_arn: Option<String>,
    pub validation_window_hours: Option<u64>,
    pub creation_time: Option<Timestamp>,
    pub observed_at: Option<Timestamp>,
    pub provenance: Vec<Provenance>,
}

/// An AWS Audit Manager assessment-report zip, summarised.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct AssessmentReport {
    pub assessment_folder: String,
    pub report_folder: Option<String>,
    pub controls: u64,
    pub evidence_files: u64,
    pub members: u64,
    pub uncompressed_bytes: u64,
    pub has_summary_pdf: bool,
    pub has_digest: bool,
    pub provenance: Vec<Provenance>,
}

/// AWS Audit Manager's own check of an assessment-report zip in S3
/// (`ValidateAssessmentReportIntegrity`, as `dora-evidence collect` records it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct ReportIntegrity {
    /// `s3://bucket/key` of the zip.
    pub s3_path: String,
    pub account_id: Option<String>,
    pub region: Option<String>,
    pub signature_valid: Option<bool>,
    pub signature_algorithm: Option<String>,
    pub signature_date_time: Option<String>,
    pub signature_key_id: Option<String>,
    /// `;`-joined.
    pub validation_errors: Option<String>,
    pub observed_at: Option<Timestamp>,
    pub provenance: Vec<Provenance>,
}

/// A window of job history `collect` could no longer reach: its newest job listing of the
/// scope was older than the APIs' ~30-day history, so jobs in the window may be missing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct CollectionGap {
    pub account_id: Option<String>,
    pub region: Option<String>,
    pub lost_from: Option<Timestamp>,
    pub lost_to: Option<Timestamp>,
    pub detected_at: Option<Timestamp>,
    /// The job listings concerned, `;`-joined.
    pub listings: Option<String>,
    pub observed_at: Option<Timestamp>,
    pub provenance: Vec<Provenance>,
}

/// One member of an assessment-report zip, hashed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct ZipMember {
    pub name: String,
    pub size: u64,
    pub sha256: String,
    pub provenance: Provenance,
}

impl Default for Provenance {
    fn default() -> Self {
        Provenance { artifact: 0, locator: Locator::Document }
    }
}
