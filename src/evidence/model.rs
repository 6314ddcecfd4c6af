//! The record types of the evidence model.
//!
//! Plain data, no I/O. Every record carries the provenances it was built from, so a number
//! in a report can be traced to an artifact's SHA-256 and a row or JSON pointer.

use serde::{Deserialize, Serialize};

use super::table::table;
use super::{alerts, merge, recognise};
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
    /// An item of a list inside a single-resource document (a rule of `get-backup-plan`):
    /// `<list pointer>/<index>`.
    Nested(NestedList, u32),
    /// A member of a zip archive, by its index in the central directory.
    ZipMember(u32),
}

impl std::fmt::Display for Locator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Locator::Line(n) => write!(f, "line {n}"),
            Locator::Item(list, i) => write!(f, "/{}/{i}", list.as_str()),
            Locator::Document => f.write_str("/"),
            Locator::Nested(list, i) => write!(f, "{}/{i}", list.pointer()),
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
    BackupPlansList,
    BackupSelectionsList,
    /// `aws events list-rules`.
    Rules,
    /// `aws sns list-subscriptions-by-topic`.
    Subscriptions,
    /// `aws backup list-protected-resources`.
    Results,
    /// `aws backup list-scan-jobs`.
    ScanJobs,
}

impl ListKey {
    /// All keys, for lookups.
    pub const ALL: [ListKey; 20] = [
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
        ListKey::BackupPlansList,
        ListKey::BackupSelectionsList,
        ListKey::Rules,
        ListKey::Subscriptions,
        ListKey::Results,
        ListKey::ScanJobs,
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
            ListKey::BackupPlansList => "BackupPlansList",
            ListKey::BackupSelectionsList => "BackupSelectionsList",
            ListKey::Rules => "Rules",
            ListKey::Subscriptions => "Subscriptions",
            ListKey::Results => "Results",
            ListKey::ScanJobs => "ScanJobs",
        }
    }

    /// The key for a JSON member name, if it is one we read.
    pub fn from_key(key: &str) -> Option<ListKey> {
        ListKey::ALL.into_iter().find(|k| *k != ListKey::Root && k.as_str() == key)
    }
}

/// The lists inside a single-resource document whose items are records of their own (one
/// row per item, each carrying the document's other fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum NestedList {
    /// The rules of a backup plan (`get-backup-plan`).
    BackupPlanRules,
}

impl NestedList {
    /// The list's JSON pointer in its document.
    pub fn pointer(self) -> &'static str {
        match self {
            NestedList::BackupPlanRules => "/BackupPlan/Rules",
        }
    }

    /// Members of an item that are not read: maps with user-chosen keys (tags), which,
    /// flattened like other nested objects, could set a field whose name a tag happens to have.
    pub fn opaque(self) -> &'static [&'static str] {
        match self {
            NestedList::BackupPlanRules => &["RecoveryPointTags"],
        }
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
    pub fn is_terminal(self, state: &JobState) -> bool {
        use JobState::{Aborted, Completed, Expired, Failed, Partial};
        match self {
            JobKind::Backup => matches!(state, Completed | Failed | Aborted | Expired | Partial),
            JobKind::Copy => matches!(state, Completed | Failed | Partial | Aborted),
            JobKind::Restore => matches!(state, Completed | Failed | Aborted),
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

/// An enum for a state AWS writes as an upper-case word, parsed once when read. A state we
/// do not know is kept verbatim (`Other`), never dropped; [`as_str`](JobState::as_str) gives
/// back the text that was read, so the CSVs show what AWS said. Derefs to that text, and
/// (de)serialises as it, allocating only for an unknown state: every job's state passes
/// through the spill twice.
macro_rules! aws_state {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
            /// A state this version does not know, as read.
            Other(String),
        }

        impl $name {
            /// The text as read (upper case for the known states).
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)*
                    $name::Other(s) => s,
                }
            }
        }

        impl From<String> for $name {
            fn from(text: String) -> Self {
                match text.as_str() {
                    $($text => $name::$variant,)*
                    _ => $name::Other(text),
                }
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                match text {
                    $($text => $name::$variant,)*
                    _ => $name::Other(text.to_owned()),
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct Text;
                impl serde::de::Visitor<'_> for Text {
                    type Value = $name;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str("a state")
                    }
                    fn visit_str<E>(self, v: &str) -> Result<$name, E> {
                        Ok($name::from(v))
                    }
                    fn visit_string<E>(self, v: String) -> Result<$name, E> {
                        Ok($name::from(v))
                    }
                }
                d.deserialize_str(Text)
            }
        }

        impl From<$name> for String {
            fn from(state: $name) -> String {
                match state {
                    $name::Other(s) => s,
                    known => known.as_str().to_owned(),
                }
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                self.as_str()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

aws_state! {
    /// The state of a backup, copy or restore job (`State`, `Status`, `jobStatus`).
    JobState {
        /// `CREATED`.
        Created = "CREATED",
        /// `PENDING`.
        Pending = "PENDING",
        /// `RUNNING`.
        Running = "RUNNING",
        /// `ABORTING`.
        Aborting = "ABORTING",
        /// `ABORTED`.
        Aborted = "ABORTED",
        /// `COMPLETED`.
        Completed = "COMPLETED",
        /// `FAILED`.
        Failed = "FAILED",
        /// `EXPIRED`.
        Expired = "EXPIRED",
        /// `PARTIAL`.
        Partial = "PARTIAL",
    }
}

aws_state! {
    /// The validation status of a restore test (`ValidationStatus`).
    ValidationStatus {
        /// `VALIDATING`: not final.
        Validating = "VALIDATING",
        /// `SUCCESSFUL`.
        Successful = "SUCCESSFUL",
        /// `FAILED`.
        Failed = "FAILED",
        /// `TIMED_OUT`.
        TimedOut = "TIMED_OUT",
    }
}

aws_state! {
    /// The state of a malware scan job (`State` in the API, `jobStatus` in the report).
    ScanState {
        /// `CREATED`.
        Created = "CREATED",
        /// `RUNNING`.
        Running = "RUNNING",
        /// `COMPLETED`.
        Completed = "COMPLETED",
        /// `COMPLETED_WITH_ISSUES`: ended, but part of the recovery point was not scanned.
        CompletedWithIssues = "COMPLETED_WITH_ISSUES",
        /// `FAILED`.
        Failed = "FAILED",
        /// `CANCELED`.
        Canceled = "CANCELED",
    }
}

aws_state! {
    /// What a malware scan found (`ScanResult.ScanResultStatus`, `scanResultStatus`).
    ScanResultStatus {
        /// `NO_THREATS_FOUND`.
        NoThreatsFound = "NO_THREATS_FOUND",
        /// `THREATS_FOUND`: the recovery point is infected.
        ThreatsFound = "THREATS_FOUND",
        /// `UNKNOWN`.
        Unknown = "UNKNOWN",
    }
}

// The tables. Each `table!` block is the one declaration of a record kind (see
// [`super::table`]): fields with the keys that recognise them, recognition rules, merge
// policy, CSV files and their columns.

table! {
    /// A backup, copy or restore job. Field names follow the AWS Backup API.
    ///
    /// For copy jobs `backup_vault_arn` / `recovery_point_arn` are the *source* vault and
    /// recovery point; for restore jobs `resource_arn` is the *source* resource
    /// (`SourceResourceArn`).
    #[allow(missing_docs)]
    pub struct Job {
        /// Set by the job-id key (`backupJobId`, `copyJobId`, `restoreJobId`).
        kind: Option<JobKind>,
        job_id: String,
        account_id: Option<String> = text(b"accountid"),
        region: Option<String> = text(b"region"),
        state: Option<JobState> = state(b"jobstatus", b"state", b"status"),
        status_message: Option<String> = text(b"statusmessage"),
        message_category: Option<String> = text(b"messagecategory"),
        resource_arn: Option<String> = text(b"resourcearn", b"sourceresourcearn"),
        resource_type: Option<String> = text(b"resourcetype"),
        resource_name: Option<String> = text(b"resourcename"),
        creation_date: Option<Timestamp> = timestamp(b"creationdate"),
        completion_date: Option<Timestamp> = timestamp(b"completiondate"),
        initiation_date: Option<Timestamp> = timestamp(b"initiationdate"),
        expected_completion_date: Option<Timestamp> = timestamp(b"expectedcompletiondate"),
        backup_vault_name: Option<String> = text(b"backupvaultname"),
        backup_vault_arn: Option<String> = text(b"backupvaultarn", b"sourcebackupvaultarn"),
        destination_vault_arn: Option<String> = text(b"destinationbackupvaultarn"),
        recovery_point_arn: Option<String> = text(b"recoverypointarn", b"sourcerecoverypointarn"),
        destination_recovery_point_arn: Option<String> = text(b"destinationrecoverypointarn"),
        backup_size_bytes: Option<u64> = count(b"backupsizeinbytes"),
        iam_role_arn: Option<String> = text(b"iamrolearn"),
        backup_plan_arn: Option<String> = text(b"backupplanarn"),
        backup_plan_name: Option<String> = text(b"backupplanname"),
        backup_rule_id: Option<String> = text(b"backupruleid"),
        backup_rule_name: Option<String> = text(b"backuprulename"),
        is_parent: Option<bool> = flag(b"isparentjob", b"isparent"),
        parent_job_id: Option<String> = text(b"parentjobid"),
        vault_type: Option<String> = text(b"vaulttype", b"destinationvaulttype"),
        vault_lock_state: Option<String> = upper(b"vaultlockstatus", b"vaultlockstate", b"destinationvaultlockstate"),
        is_encrypted: Option<bool> = flag(b"isencrypted"),
        /// The KMS key that encrypts the backup.
        encryption_key_arn: Option<String> = text(b"encryptionkeyarn"),
        job_run_time: Option<String> = text(b"jobruntime"),
        percent_done: Option<String> = text(b"percentdone"),
        restore_testing_plan_arn: Option<String> = text(b"restoretestingplanarn"),
        validation_status: Option<ValidationStatus> = state(b"validationstatus"),
        validation_status_message: Option<String> = text(b"validationstatusmessage"),
        deletion_status: Option<String> = upper(b"deletionstatus"),
        created_resource_arn: Option<String> = text(b"createdresourcearn"),
        recovery_point_creation_date: Option<Timestamp> = timestamp(b"recoverypointcreationdate"),
        /// When this observation was made (report period end, snapshot time).
        observed_at: Option<Timestamp> = timestamp(b"reporttimeperiodend") | period_end(b"reporttimeperiod"),
        /// Every observation this record was merged from.
        provenance: Vec<Provenance>,
    }
    recognise {
        essential: [b"backupjobid", b"copyjobid", b"restorejobid", b"jobstatus", b"state", b"status", b"creationdate"],
        scope: |s| s.backup_vault_arn.as_deref().or(s.resource_arn.as_deref()),
        extra: recognise::job_id,
        finish: |j| {
            if j.kind.is_none() || j.job_id.is_empty() {
                return Err("no job id (backupJobId, copyJobId or restoreJobId)".into());
            }
            Ok(())
        },
    }
    merge {
        key: |s| s.job_id.clone(),
        terminal: |s| s.is_terminal(),
        severity: merge::state_severity,
        settle: merge::settle_job,
    }
    csv BACKUP_JOBS "backup_jobs.csv" [
        job_id, account_id, region, state,
        in_period = |j, cx| cx.in_period(j.creation_date),
        is_parent, parent_job_id, resource_type, resource_arn, resource_name, creation_date, completion_date,
        duration_minutes = |j, _cx| minutes_between(j.creation_date, j.completion_date),
        backup_vault_name, backup_vault_arn, vault_type, vault_lock_state, recovery_point_arn, backup_size_bytes,
        backup_plan_arn, backup_plan_name, backup_rule_name, iam_role_arn, status_message, message_category,
        encryption_key_arn,
    ]
    csv COPY_JOBS "copy_jobs.csv" [
        job_id, account_id, region, state,
        in_period = |j, cx| cx.in_period(j.creation_date),
        is_parent, parent_job_id, resource_type, resource_arn, resource_name, creation_date, completion_date,
        duration_minutes = |j, _cx| minutes_between(j.creation_date, j.completion_date),
        source_vault_arn = |j, _cx| j.backup_vault_arn,
        destination_vault_arn,
        source_recovery_point_arn = |j, _cx| j.recovery_point_arn,
        destination_recovery_point_arn, backup_size_bytes, iam_role_arn, status_message, message_category,
    ]
    csv RESTORE_JOBS "restore_jobs.csv" [
        job_id, account_id, region, state,
        in_period = |j, cx| cx.in_period(j.creation_date),
        restore_test = |j, _cx| j.is_restore_test(),
        restore_testing_plan_arn, validation_status, validation_status_message, deletion_status, resource_type,
        source_resource_arn = |j, _cx| j.resource_arn,
        created_resource_arn, recovery_point_arn, recovery_point_creation_date, creation_date, completion_date,
        duration_minutes = |j, _cx| minutes_between(j.creation_date, j.completion_date),
        backup_size_bytes, iam_role_arn, status_message,
    ]
}

impl Job {
    /// A restore job started by a restore testing plan.
    pub fn is_restore_test(&self) -> bool {
        self.kind == Some(JobKind::Restore) && self.restore_testing_plan_arn.is_some()
    }

    /// Whether the state is terminal for this job's kind.
    pub fn is_terminal(&self) -> bool {
        match (self.kind, &self.state) {
            (Some(k), Some(s)) => k.is_terminal(s),
            _ => false,
        }
    }
}

/// Minutes from `a` to `b` with two decimals (empty unless both are known and in order).
fn minutes_between(a: Option<Timestamp>, b: Option<Timestamp>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b >= a => format!("{:.2}", (b.millis() - a.millis()) as f64 / 60_000.0),
        _ => String::new(),
    }
}

table! {
    /// A recovery point (`list-recovery-points-by-backup-vault`).
    #[allow(missing_docs)]
    pub struct RecoveryPoint {
        recovery_point_arn: String = text(b"recoverypointarn"),
        account_id: Option<String> = text(b"accountid"),
        region: Option<String> = text(b"region"),
        backup_vault_name: Option<String> = text(b"backupvaultname"),
        backup_vault_arn: Option<String> = text(b"backupvaultarn"),
        resource_arn: Option<String> = text(b"resourcearn"),
        resource_type: Option<String> = text(b"resourcetype"),
        resource_name: Option<String> = text(b"resourcename"),
        status: Option<String> = upper(b"status"),
        creation_date: Option<Timestamp> = timestamp(b"creationdate"),
        completion_date: Option<Timestamp> = timestamp(b"completiondate"),
        backup_size_bytes: Option<u64> = count(b"backupsizeinbytes"),
        is_encrypted: Option<bool> = flag(b"isencrypted"),
        encryption_key_arn: Option<String> = text(b"encryptionkeyarn"),
        storage_class: Option<String> = upper(b"storageclass"),
        delete_at: Option<Timestamp> = timestamp(b"deleteat"),
        move_to_cold_storage_at: Option<Timestamp> = timestamp(b"movetocoldstorageat"),
        last_restore_time: Option<Timestamp> = timestamp(b"lastrestoretime"),
        vault_type: Option<String> = text(b"vaulttype"),
        observed_at: Option<Timestamp>,
        provenance: Vec<Provenance>,
    }
    recognise {
        essential: [b"recoverypointarn", b"status", b"creationdate"],
        scope: |s| Some(s.backup_vault_arn.as_deref().unwrap_or(&s.recovery_point_arn)),
        finish: |r| recognise::require(&r.recovery_point_arn, "no RecoveryPointArn"),
    }
    merge {
        key: |s| s.recovery_point_arn.clone(),
        terminal: |s| matches!(s.status.as_deref(), Some("COMPLETED" | "EXPIRED" | "PARTIAL")),
    }
    csv RECOVERY_POINTS "recovery_points.csv" [
        recovery_point_arn, account_id, region, status, resource_type, resource_arn, resource_name,
        backup_vault_name, backup_vault_arn, vault_type, creation_date, completion_date, backup_size_bytes,
        is_encrypted, encryption_key_arn, storage_class, move_to_cold_storage_at, delete_at, last_restore_time,
    ]
}

table! {
    /// A malware scan of a recovery point (Amazon GuardDuty through AWS Backup): a
    /// MALWARE_JOB_REPORT / SCAN_JOB_REPORT item, or `list-scan-jobs` / `describe-scan-job`.
    /// Merged by scan job id like jobs: a final state beats a running one, then the later
    /// observation, then the less favourable result.
    #[allow(missing_docs)]
    pub struct MalwareScan {
        scan_job_id: String = text(b"scanjobid"),
        account_id: Option<String> = text(b"accountid"),
        region: Option<String> = text(b"region"),
        state: Option<ScanState> = state(b"jobstatus", b"state"),
        /// `ScanResult.ScanResultStatus` in the API, `scanResultStatus` in the report.
        scan_result_status: Option<ScanResultStatus> = state(b"scanresultstatus"),
        status_message: Option<String> = text(b"statusmessage"),
        scan_id: Option<String> = text(b"scanid"),
        malware_scanner: Option<String> = upper(b"malwarescanner"),
        scan_mode: Option<String> = upper(b"scanmode"),
        resource_arn: Option<String> = text(b"resourcearn"),
        resource_type: Option<String> = text(b"resourcetype"),
        resource_name: Option<String> = text(b"resourcename"),
        recovery_point_arn: Option<String> = text(b"recoverypointarn"),
        backup_vault_name: Option<String> = text(b"backupvaultname"),
        backup_vault_arn: Option<String> = text(b"backupvaultarn"),
        backup_plan_arn: Option<String> = text(b"backupplanarn"),
        creation_date: Option<Timestamp> = timestamp(b"creationdate"),
        completion_date: Option<Timestamp> = timestamp(b"completiondate"),
        iam_role_arn: Option<String> = text(b"iamrolearn"),
        scanner_role_arn: Option<String> = text(b"scannerrolearn"),
        /// When this observation was made (report period end, snapshot time).
        observed_at: Option<Timestamp> = timestamp(b"reporttimeperiodend") | period_end(b"reporttimeperiod"),
        provenance: Vec<Provenance>,
    }
    recognise {
        essential: [b"scanjobid", b"jobstatus", b"state", b"creationdate"],
        scope: |s| s.backup_vault_arn.as_deref().or(s.recovery_point_arn.as_deref()).or(s.resource_arn.as_deref()),
        finish: |s| recognise::require(&s.scan_job_id, "no scan job id (scanJobId, ScanJobId)"),
    }
    merge {
        key: |s| s.scan_job_id.clone(),
        terminal: |s| s.is_terminal(),
        severity: MalwareScan::severity,
        settle: merge::keep_rank,
    }
    csv MALWARE_SCANS "malware_scans.csv" [
        scan_job_id, account_id, region, state, scan_result_status,
        in_period = |s, cx| cx.in_period(s.creation_date),
        resource_type, resource_arn, resource_name, recovery_point_arn, backup_vault_name, backup_vault_arn,
        backup_plan_arn, creation_date, completion_date, malware_scanner, scan_mode, scan_id, status_message,
        iam_role_arn, scanner_role_arn,
    ]
}

impl MalwareScan {
    /// Whether the scan has ended (COMPLETED, COMPLETED_WITH_ISSUES, FAILED, CANCELED).
    pub fn is_terminal(&self) -> bool {
        use ScanState::{Canceled, Completed, CompletedWithIssues, Failed};
        matches!(self.state, Some(Completed | CompletedWithIssues | Failed | Canceled))
    }

    /// Whether the scan found malware in its recovery point.
    pub fn infected(&self) -> bool {
        self.scan_result_status == Some(ScanResultStatus::ThreatsFound)
    }

    /// Whether the scan ran to the end and found nothing: the recovery point is known clean.
    pub fn clean(&self) -> bool {
        self.state == Some(ScanState::Completed) && self.scan_result_status == Some(ScanResultStatus::NoThreatsFound)
    }

    /// Rank of an ended scan at a merge tie, the less favourable the higher: malware found,
    /// then failed, canceled, completed with issues, completed.
    fn severity(&self) -> u8 {
        if self.infected() {
            return 6;
        }
        match self.state {
            Some(ScanState::Failed) => 5,
            Some(ScanState::Canceled) => 4,
            Some(ScanState::CompletedWithIssues) => 3,
            Some(ScanState::Completed) => 2,
            _ => u8::from(self.is_terminal()),
        }
    }
}

table! {
    /// One evaluation of a Backup Audit Manager control (CONTROL_COMPLIANCE_REPORT row).
    #[allow(missing_docs)]
    pub struct ControlResult {
        account_id: Option<String> = text(b"accountid"),
        region: Option<String> = text(b"region"),
        framework_name: Option<String> = text(b"frameworkname"),
        control_name: String = text(b"controlname"),
        compliance_status: Option<String> = upper(b"controlcompliancestatus"),
        last_evaluation_time: Option<Timestamp> = timestamp(b"lastevaluationtime"),
        resources_compliant: Option<u64> = count(b"numresourcescompliant"),
        resources_non_compliant: Option<u64> = count(b"numresourcesnoncompliant"),
        control_parameters: Option<String> = text(b"controlparameters"),
        observed_at: Option<Timestamp> = timestamp(b"reporttimeperiodend") | period_end(b"reporttimeperiod"),
        provenance: Vec<Provenance>,
    }
    recognise {
        essential: [b"controlname", b"lastevaluationtime"],
        finish: |c| recognise::require(&c.control_name, "no controlName"),
    }
    merge {
        key: |s| merge::control_key(s),
    }
    csv CONTROLS "controls.csv" [
        account_id, region, framework_name, control_name, compliance_status, last_evaluation_time,
        resources_compliant, resources_non_compliant, control_parameters,
    ]
}

table! {
    /// One resource's evaluation against a control (RESOURCE_COMPLIANCE_REPORT row).
    #[allow(missing_docs)]
    pub struct ResourceCompliance {
        account_id: Option<String> = text(b"accountid"),
        region: Option<String> = text(b"region"),
        framework_name: Option<String> = text(b"frameworkname"),
        control_name: Option<String> = text(b"controlname"),
        resource_id: String = text(b"resourceid"),
        resource_type: Option<String> = text(b"resourcetype"),
        compliance_status: Option<String> = upper(b"resourcecompliancestatus"),
        last_evaluation_time: Option<Timestamp> = timestamp(b"lastevaluationtime"),
        observed_at: Option<Timestamp> = timestamp(b"reporttimeperiodend") | period_end(b"reporttimeperiod"),
        provenance: Vec<Provenance>,
    }
    recognise {
        essential: [b"resourceid", b"lastevaluationtime"],
        finish: |r| recognise::require(&r.resource_id, "no resourceId"),
    }
    merge {
        key: |s| merge::resource_compliance_key(s),
    }
    csv RESOURCE_COMPLIANCE "resource_compliance.csv" [
        account_id, region, framework_name, control_name, resource_id, resource_type, compliance_status,
        last_evaluation_time,
    ]
}

table! {
    /// A backup vault and its lock configuration.
    #[allow(missing_docs)]
    pub struct Vault {
        vault_arn: String = text(b"backupvaultarn"),
        vault_name: Option<String> = text(b"backupvaultname"),
        account_id: Option<String>,
        region: Option<String>,
        vault_type: Option<String> = text(b"vaulttype"),
        vault_state: Option<String> = upper(b"vaultstate"),
        encryption_key_arn: Option<String> = text(b"encryptionkeyarn"),
        creation_date: Option<Timestamp> = timestamp(b"creationdate"),
        number_of_recovery_points: Option<u64> = count(b"numberofrecoverypoints"),
        locked: Option<bool> = flag(b"locked"),
        min_retention_days: Option<u64> = count(b"minretentiondays"),
        max_retention_days: Option<u64> = count(b"maxretentiondays"),
        lock_date: Option<Timestamp> = timestamp(b"lockdate"),
        observed_at: Option<Timestamp>,
        provenance: Vec<Provenance>,
    }
    recognise {
        essential: [b"backupvaultarn"],
        scope: |s| Some(s.vault_arn.as_str()),
        finish: |v| recognise::require(&v.vault_arn, "no BackupVaultArn"),
    }
    merge {
        key: |s| s.vault_arn.clone(),
    }
    csv VAULTS "vaults.csv" [
        vault_arn, vault_name, account_id, region, vault_type, vault_state, locked,
        lock_mode = |v, _cx| v.lock_mode(),
        min_retention_days, max_retention_days, lock_date, number_of_recovery_points, encryption_key_arn,
        creation_date,
    ]
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

table! {
    /// A legal hold.
    #[allow(missing_docs)]
    pub struct LegalHold {
        legal_hold_id: String = text(b"legalholdid"),
        legal_hold_arn: Option<String> = text(b"legalholdarn"),
        account_id: Option<String>,
        region: Option<String>,
        title: Option<String> = text(b"title"),
        status: Option<String> = upper(b"status"),
        description: Option<String> = text(b"description"),
        creation_date: Option<Timestamp> = timestamp(b"creationdate"),
        cancellation_date: Option<Timestamp> = timestamp(b"cancellationdate"),
        observed_at: Option<Timestamp>,
        provenance: Vec<Provenance>,
    }
    recognise {
        essential: [b"legalholdid"],
        scope: |s| s.legal_hold_arn.as_deref(),
        finish: |h| recognise::require(&h.legal_hold_id, "no LegalHoldId"),
    }
    merge {
        key: |s| s.legal_hold_id.clone(),
        terminal: |s| s.status.as_deref() == Some("CANCELED"),
    }
    csv LEGAL_HOLDS "legal_holds.csv" [
        legal_hold_id, legal_hold_arn, account_id, region, title, status, description, creation_date,
        cancellation_date,
    ]
}

table! {
    /// A CloudWatch metric or composite alarm.
    #[allow(missing_docs)]
    pub struct Alarm {
        alarm_arn: String = text(b"alarmarn"),
        alarm_name: Option<String> = text(b"alarmname"),
        account_id: Option<String>,
        region: Option<String>,
        namespace: Option<String> = text(b"namespace"),
        metric_name: Option<String> = text(b"metricname"),
        /// `Dimensions` as `Name=Value`, sorted, joined with `;`.
        dimensions: Option<String>,
        statistic: Option<String> = text(b"statistic"),
        comparison_operator: Option<String> = text(b"comparisonoperator"),
        threshold: Option<f64> = number(b"threshold"),
        evaluation_periods: Option<u64> = count(b"evaluationperiods"),
        actions_enabled: Option<bool> = flag(b"actionsenabled"),
        /// `AlarmActions`, sorted, joined with `;`.
        alarm_actions: Option<String>,
        state_value: Option<String> = upper(b"statevalue"),
        /// `metric` or `composite`.
        alarm_type: Option<String>,
        /// The `AWS/Backup` metrics it watches (directly, in metric math or in a Metrics
        /// Insights query), sorted, joined with `;`.
        backup_metrics: Option<String>,
        /// A composite alarm's rule.
        alarm_rule: Option<String> = text(b"alarmrule"),
        observed_at: Option<Timestamp>,
        provenance: Vec<Provenance>,
    }
    recognise {
        essential: [b"alarmarn"],
        scope: |s| Some(s.alarm_arn.as_str()),
        arrays: recognise::alarm_arrays,
        finish: |a| recognise::finish_alarm(a),
    }
    merge {
        key: |s| s.alarm_arn.clone(),
    }
    csv ALARMS "alarms.csv" [
        alarm_arn, alarm_name, account_id, region, namespace, metric_name, dimensions, statistic,
        comparison_operator, threshold, evaluation_periods, actions_enabled, alarm_actions, state_value,
        alarm_type, backup_metrics, alarm_rule,
    ]
}

table! {
    /// A resource and its tags, from the tag inventory.
    #[allow(missing_docs)]
    pub struct TaggedResource {
        resource_arn: String = text(b"resourcearn"),
        account_id: Option<String>,
        region: Option<String>,
        /// `key=value` pairs sorted by key.
        tags: Vec<(String, String)>,
        observed_at: Option<Timestamp>,
        provenance: Vec<Provenance>,
    }
    recognise {
        essential: [b"resourcearn"],
        scope: |s| Some(s.resource_arn.as_str()),
        arrays: recognise::tag_arrays,
        finish: |t| recognise::require(&t.resource_arn, "no ResourceARN"),
    }
    merge {
        key: |s| s.resource_arn.clone(),
    }
    csv TAGGED_RESOURCES "tagged_resources.csv" [resource_arn, account_id, region, tags]
}

table! {
    /// A restore testing plan.
    #[allow(missing_docs)]
    pub struct RestoreTestingPlan {
        plan_arn: String = text(b"restoretestingplanarn"),
        plan_name: Option<String> = text(b"restoretestingplanname"),
        account_id: Option<String>,
        region: Option<String>,
        schedule_expression: Option<String> = text(b"scheduleexpression"),
        creation_time: Option<Timestamp> = timestamp(b"creationtime"),
        last_execution_time: Option<Timestamp> = timestamp(b"lastexecutiontime"),
        observed_at: Option<Timestamp>,
        provenance: Vec<Provenance>,
    }
    recognise {
        essential: [b"restoretestingplanarn"],
        scope: |s| Some(s.plan_arn.as_str()),
        finish: |p| recognise::require(&p.plan_arn, "no RestoreTestingPlanArn"),
    }
    merge {
        key: |s| s.plan_arn.clone(),
    }
    csv RESTORE_TESTING_PLANS "restore_testing_plans.csv" [
        plan_arn, plan_name, account_id, region, schedule_expression, creation_time, last_execution_time,
    ]
}

table! {
    /// A restore testing selection (which resources a plan tests).
    #[allow(missing_docs)]
    pub struct RestoreTestingSelection {
        plan_name: String = text(b"restoretestingplanname"),
        selection_name: String = text(b"restoretestingselectionname"),
        account_id: Option<String>,
        region: Option<String>,
        protected_resource_type: Option<String> = text(b"protectedresourcetype"),
        iam_role_arn: Option<String> = text(b"iamrolearn"),
        validation_window_hours: Option<u64> = count(b"validationwindowhours"),
        creation_time: Option<Timestamp> = timestamp(b"creationtime"),
        observed_at: Option<Timestamp>,
        provenance: Vec<Provenance>,
    }
    recognise {
        essential: [b"restoretestingplanname", b"restoretestingselectionname"],
        // IAM ARNs carry no Region: the path hint is the only source for it.
        scope: |s| s.iam_role_arn.as_deref(),
        finish: |s| recognise::require_all(
            &[&s.plan_name, &s.selection_name],
            "no RestoreTestingPlanName or RestoreTestingSelectionName"
        ),
    }
    merge {
        key: |s| format!(
            "{}|{}|{}|{}",
            s.account_id.as_deref().unwrap_or(""),
            s.region.as_deref().unwrap_or(""),
            s.plan_name,
            s.selection_name
        ),
    }
    csv RESTORE_TESTING_SELECTIONS "restore_testing_selections.csv" [
        plan_name, selection_name, account_id, region, protected_resource_type, iam_role_arn,
        validation_window_hours, creation_time,
    ]
}

table! {
    /// One rule of an AWS Backup plan version (`get-backup-plan`: one record per rule, with
    /// its plan's ids, name and version). Schedules are kept as AWS writes them (`cron(…)`,
    /// `rate(…)`) with their time zone.
    #[allow(missing_docs)]
    pub struct BackupRule {
        backup_plan_id: String = text(b"backupplanid"),
        rule_id: String = text(b"ruleid"),
        account_id: Option<String>,
        region: Option<String>,
        backup_plan_arn: Option<String> = text(b"backupplanarn"),
        backup_plan_name: Option<String> = text(b"backupplanname"),
        version_id: Option<String> = text(b"versionid"),
        rule_name: Option<String> = text(b"rulename"),
        target_backup_vault_name: Option<String> = text(b"targetbackupvaultname"),
        schedule_expression: Option<String> = text(b"scheduleexpression"),
        schedule_expression_timezone: Option<String> = text(b"scheduleexpressiontimezone"),
        start_window_minutes: Option<u64> = count(b"startwindowminutes"),
        completion_window_minutes: Option<u64> = count(b"completionwindowminutes"),
        /// `Lifecycle.DeleteAfterDays` of the rule's own recovery points.
        delete_after_days: Option<u64> = count(b"deleteafterdays"),
        move_to_cold_storage_after_days: Option<u64> = count(b"movetocoldstorageafterdays"),
        enable_continuous_backup: Option<bool> = flag(b"enablecontinuousbackup"),
        /// `CopyActions[].DestinationBackupVaultArn`, sorted, `;`-joined.
        copy_destinations: Option<String>,
        /// The smallest `CopyActions[].Lifecycle.DeleteAfterDays`: how long the shortest-kept
        /// copy is kept (empty when no copy action sets one).
        copy_delete_after_days: Option<u64>,
        /// When this plan version was created.
        creation_date: Option<Timestamp> = timestamp(b"creationdate"),
        /// When the plan was deleted, for a deleted plan.
        deletion_date: Option<Timestamp> = timestamp(b"deletiondate"),
        observed_at: Option<Timestamp>,
        provenance: Vec<Provenance>,
    }
    recognise {
        essential: [b"backupplanid", b"ruleid"],
        scope: |s| s.backup_plan_arn.as_deref(),
        arrays: recognise::rule_arrays,
        finish: |r| recognise::require_all(&[&r.backup_plan_id, &r.rule_id], "no BackupPlanId or RuleId"),
    }
    merge {
        key: |s| format!("{}|{}|{}", s.backup_plan_id, s.version_id.as_deref().unwrap_or(""), s.rule_id),
    }
    csv BACKUP_RULES "backup_rules.csv" [
        account_id, region, backup_plan_id, backup_plan_arn, backup_plan_name, version_id, rule_id, rule_name,
        target_backup_vault_name, schedule_expression, schedule_expression_timezone, start_window_minutes,
        completion_window_minutes, delete_after_days, move_to_cold_storage_after_days, enable_continuous_backup,
        copy_destinations, copy_delete_after_days, creation_date, deletion_date,
    ]
}

/// One tag condition of a backup selection: an item of `ListOfTags` (its `ConditionType`
/// as given, `STRINGEQUALS`) or of one of the `Conditions` lists (the type is the list's
/// name: `StringEquals`, `StringNotEquals`, `StringLike`, `StringNotLike`). Written with
/// AWS's member names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TagCondition {
    /// How the value is compared.
    #[serde(rename = "ConditionType")]
    pub condition_type: String,
    /// The tag key (`ListOfTags`) or `aws:ResourceTag/<key>` (`Conditions`).
    #[serde(rename = "ConditionKey")]
    pub condition_key: String,
    /// The value compared with.
    #[serde(rename = "ConditionValue")]
    pub condition_value: String,
}

table! {
    /// A backup selection: which resources a backup plan protects (`get-backup-selection`).
    /// The lists are kept whole and sorted, so AWS's selection semantics can be evaluated
    /// from the record alone.
    #[allow(missing_docs)]
    pub struct BackupSelection {
        selection_id: String = text(b"selectionid"),
        backup_plan_id: String = text(b"backupplanid"),
        account_id: Option<String>,
        region: Option<String>,
        selection_name: Option<String> = text(b"selectionname"),
        iam_role_arn: Option<String> = text(b"iamrolearn"),
        /// `Resources`: ARNs or ARN patterns with `*`, sorted.
        resources: Vec<String>,
        /// `NotResources`, sorted.
        not_resources: Vec<String>,
        /// `ListOfTags`, sorted.
        list_of_tags: Vec<TagCondition>,
        /// The items of `Conditions.StringEquals`, `StringNotEquals`, `StringLike` and
        /// `StringNotLike`, typed by their list, sorted.
        conditions: Vec<TagCondition>,
        creation_date: Option<Timestamp> = timestamp(b"creationdate"),
        observed_at: Option<Timestamp>,
        provenance: Vec<Provenance>,
    }
    recognise {
        essential: [b"selectionid", b"backupplanid"],
        // IAM ARNs carry no Region: the path hint is the only source for it.
        scope: |s| s.iam_role_arn.as_deref(),
        arrays: recognise::selection_arrays,
        finish: |s| recognise::require_all(&[&s.selection_id, &s.backup_plan_id], "no SelectionId or BackupPlanId"),
    }
    merge {
        key: |s| s.selection_id.clone(),
    }
    csv BACKUP_SELECTIONS "backup_selections.csv" [
        account_id, region, backup_plan_id, selection_id, selection_name, iam_role_arn,
        resources = |s, _cx| json_text(&s.resources),
        not_resources = |s, _cx| json_text(&s.not_resources),
        list_of_tags = |s, _cx| json_text(&s.list_of_tags),
        conditions = |s, _cx| json_text(&s.conditions),
        creation_date,
    ]
}

table! {
    /// Where a vault sends its events (`get-backup-vault-notifications`): the SNS topic and
    /// the events (`BACKUP_JOB_FAILED`, `COPY_JOB_FAILED`, `RESTORE_JOB_COMPLETED`, …).
    #[allow(missing_docs)]
    pub struct VaultNotification {
        vault_arn: String = text(b"backupvaultarn"),
        vault_name: Option<String> = text(b"backupvaultname"),
        account_id: Option<String>,
        region: Option<String>,
        sns_topic_arn: Option<String> = text(b"snstopicarn"),
        /// `BackupVaultEvents`, sorted, `;`-joined.
        events: Option<String>,
        observed_at: Option<Timestamp>,
        provenance: Vec<Provenance>,
    }
    recognise {
        essential: [b"backupvaultarn"],
        scope: |s| Some(s.vault_arn.as_str()),
        arrays: alerts::notification_arrays,
        finish: |n| recognise::require(&n.vault_arn, "no BackupVaultArn"),
    }
    merge {
        key: |s| s.vault_arn.clone(),
    }
    csv VAULT_NOTIFICATIONS "vault_notifications.csv" [
        vault_name, vault_arn, account_id, region, sns_topic_arn, events,
    ]
}

table! {
    /// A vault's access policy (`get-backup-vault-access-policy`), kept compact, and whether
    /// it denies deleting recovery points to everyone (rules in
    /// [`alerts::deletion_deny`](super::alerts::deletion_deny)).
    #[allow(missing_docs)]
    pub struct VaultAccessPolicy {
        vault_arn: String = text(b"backupvaultarn"),
        vault_name: Option<String> = text(b"backupvaultname"),
        account_id: Option<String>,
        region: Option<String>,
        /// The policy document, compact JSON (as given when it cannot be parsed).
        policy: Option<String>,
        /// A `Deny` of `backup:DeleteRecoveryPoint` to every principal; empty when the
        /// policy cannot be read.
        denies_recovery_point_deletion: Option<bool>,
        /// Every statement giving that deny has a `Condition` (it may not hold for every
        /// caller); empty when there is no such deny.
        deletion_deny_conditional: Option<bool>,
        observed_at: Option<Timestamp>,
        provenance: Vec<Provenance>,
    }
    recognise {
        essential: [b"backupvaultarn"],
        scope: |s| Some(s.vault_arn.as_str()),
        extra: alerts::policy_field,
        finish: |p| recognise::require(&p.vault_arn, "no BackupVaultArn"),
    }
    merge {
        key: |s| s.vault_arn.clone(),
    }
    csv VAULT_ACCESS_POLICIES "vault_access_policies.csv" [
        vault_name, vault_arn, account_id, region, denies_recovery_point_deletion, deletion_deny_conditional, policy,
    ]
}

table! {
    /// An EventBridge rule (`list-rules`) and its targets (`list-targets-by-rule`, whose
    /// file names the rule), one record per account, Region and rule name. A targets file
    /// whose rule no `list-rules` output lists still gives a row (`listed` false); one whose
    /// file name gives no rule gives a row with no rule name.
    #[allow(missing_docs)]
    pub struct EventRule {
        rule_name: String = text(b"name"),
        rule_arn: Option<String> = text(b"arn"),
        account_id: Option<String>,
        region: Option<String>,
        state: Option<String> = upper(b"state"),
        event_bus_name: Option<String> = text(b"eventbusname"),
        schedule_expression: Option<String> = text(b"scheduleexpression"),
        /// `EventPattern`, compact JSON (as given when it cannot be parsed).
        event_pattern: Option<String>,
        /// The pattern matches failed backup, copy or restore jobs (`failure_kinds` is not
        /// empty).
        matches_backup_failures: Option<bool>,
        /// Which failed jobs the pattern matches: `backup`, `copy`, `restore`, `;`-joined
        /// (empty: none; rules in [`alerts::failure_kinds`](super::alerts::failure_kinds)).
        failure_kinds: Option<String>,
        /// How many targets `list-targets-by-rule` gave (empty: not read).
        target_count: Option<u64>,
        /// The targets' ARNs, sorted, `;`-joined.
        targets: Option<String>,
        observed_at: Option<Timestamp>,
        provenance: Vec<Provenance>,
    }
    recognise {
        essential: [b"name"],
        scope: |s| s.rule_arn.as_deref(),
        extra: alerts::rule_field,
        finish: |r| recognise::require(&r.rule_name, "no rule Name"),
    }
    merge {
        key: |s| if s.rule_name.is_empty() {
            // Targets of an unnamed rule: kept apart, one row per file.
            format!("|unnamed|{}", s.provenance.first().map_or(0, |p| p.artifact))
        } else {
            format!(
                "{}|{}|{}",
                s.account_id.as_deref().unwrap_or(""),
                s.region.as_deref().unwrap_or(""),
                s.rule_name
            )
        },
    }
    csv EVENT_RULES "event_rules.csv" [
        account_id, region, rule_name, rule_arn, state, event_bus_name, schedule_expression,
        matches_backup_failures, failure_kinds, target_count, targets,
        // Seen in a `list-rules` output (false: only its targets were read).
        listed = |r, _cx| r.rule_arn.is_some() || r.state.is_some(),
        event_pattern,
    ]
}

table! {
    /// A subscription of an SNS topic (`list-subscriptions-by-topic`). The endpoint is
    /// masked as it is read ([`alerts::mask_endpoint`](super::alerts::mask_endpoint)): the
    /// full address never reaches a record.
    #[allow(missing_docs)]
    pub struct SnsSubscription {
        topic_arn: String = text(b"topicarn"),
        subscription_arn: Option<String> = text(b"subscriptionarn"),
        account_id: Option<String>,
        region: Option<String>,
        /// The subscription's owner (an account id).
        owner: Option<String> = text(b"owner"),
        protocol: Option<String> = text(b"protocol"),
        /// The endpoint, masked.
        endpoint: Option<String>,
        /// False while `PendingConfirmation` (or `Deleted`): such a subscription delivers
        /// nothing.
        confirmed: Option<bool>,
        observed_at: Option<Timestamp>,
        provenance: Vec<Provenance>,
    }
    recognise {
        essential: [b"topicarn"],
        scope: |s| Some(s.topic_arn.as_str()),
        extra: alerts::subscription_field,
        finish: |s| alerts::finish_subscription(s),
    }
    merge {
        // Unconfirmed subscriptions have no ARN of their own: the topic, protocol and masked
        // endpoint tell them apart.
        key: |s| match s.subscription_arn.as_deref() {
            Some(arn) if arn.starts_with("arn:") => arn.to_owned(),
            other => format!(
                "{}|{}|{}|{}",
                s.topic_arn,
                s.protocol.as_deref().unwrap_or(""),
                s.endpoint.as_deref().unwrap_or(""),
                other.unwrap_or("")
            ),
        },
    }
    csv SNS_SUBSCRIPTIONS "sns_subscriptions.csv" [
        topic_arn, account_id, region, protocol, endpoint, confirmed, subscription_arn, owner,
    ]
}

table! {
    /// A resource AWS Backup has backed up, with its latest backup (`list-protected-resources`,
    /// whose items sit under `Results`). One record per resource: a later snapshot wins.
    #[allow(missing_docs)]
    pub struct ProtectedResource {
        resource_arn: String = text(b"resourcearn"),
        resource_type: Option<String> = text(b"resourcetype"),
        resource_name: Option<String> = text(b"resourcename"),
        last_backup_time: Option<Timestamp> = timestamp(b"lastbackuptime"),
        last_backup_vault_arn: Option<String> = text(b"lastbackupvaultarn"),
        last_recovery_point_arn: Option<String> = text(b"lastrecoverypointarn"),
        account_id: Option<String>,
        region: Option<String>,
        observed_at: Option<Timestamp>,
        provenance: Vec<Provenance>,
    }
    recognise {
        essential: [b"resourcearn"],
        // S3 bucket ARNs name no account or Region; the vault of the last backup does.
        scope: |s| s.last_backup_vault_arn.as_deref().or(Some(s.resource_arn.as_str())),
        finish: |r| recognise::require(&r.resource_arn, "no ResourceArn"),
    }
    merge {
        key: |s| s.resource_arn.clone(),
    }
    csv PROTECTED_RESOURCES "protected_resources.csv" [
        resource_arn, resource_type, resource_name, last_backup_time, last_backup_vault_arn, last_recovery_point_arn,
        account = |r, _cx| &r.account_id,
        region,
    ]
}

/// A list as compact JSON text (a CSV cell that keeps every item and its type unambiguous).
fn json_text<T: Serialize>(items: &[T]) -> String {
    serde_json::to_string(items).unwrap_or_default()
}

table! {
    /// AWS Audit Manager's own check of an assessment-report zip in S3
    /// (`ValidateAssessmentReportIntegrity`, as `dora-evidence collect` records it).
    #[allow(missing_docs)]
    pub struct ReportIntegrity {
        /// `s3://bucket/key` of the zip.
        s3_path: String = text(b"s3relativepath"),
        account_id: Option<String>,
        region: Option<String>,
        signature_valid: Option<bool> = flag(b"signaturevalid"),
        signature_algorithm: Option<String> = text(b"signaturealgorithm"),
        signature_date_time: Option<String> = text(b"signaturedatetime"),
        signature_key_id: Option<String> = text(b"signaturekeyid"),
        /// `; `-joined.
        validation_errors: Option<String>,
        observed_at: Option<Timestamp>,
        provenance: Vec<Provenance>,
    }
    recognise {
        essential: [b"s3relativepath"],
        arrays: recognise::integrity_arrays,
        finish: |i| {
            if !i.s3_path.to_ascii_lowercase().starts_with("s3://") {
                return Err("no s3RelativePath (s3://bucket/key)".into());
            }
            Ok(())
        },
    }
    merge {
        key: |s| s.s3_path.clone(),
    }
    csv REPORT_INTEGRITY "assessment_report_integrity.csv" [
        s3_path, account_id, region, signature_valid, signature_algorithm, signature_date_time, signature_key_id,
        validation_errors,
    ]
}

table! {
    /// A window of job history `collect` could no longer reach: its newest job listing of the
    /// scope was older than the APIs' ~30-day history, so jobs in the window may be missing.
    #[allow(missing_docs)]
    pub struct CollectionGap {
        account_id: Option<String> = text(b"accountid"),
        region: Option<String> = text(b"region"),
        lost_from: Option<Timestamp> = timestamp(b"lostfrom"),
        lost_to: Option<Timestamp> = timestamp(b"lostto"),
        detected_at: Option<Timestamp> = timestamp(b"detectedat"),
        /// The job listings concerned, `;`-joined.
        listings: Option<String>,
        observed_at: Option<Timestamp>,
        provenance: Vec<Provenance>,
    }
    recognise {
        essential: [b"lostfrom", b"lostto"],
        arrays: recognise::gap_arrays,
        finish: |g| match (g.lost_from, g.lost_to) {
            (Some(_), Some(_)) => Ok(()),
            _ => Err("a collection gap needs LostFrom and LostTo".into()),
        },
    }
    merge {
        key: |s| format!(
            "{}|{}|{}",
            s.account_id.as_deref().unwrap_or(""),
            s.region.as_deref().unwrap_or(""),
            s.lost_from.map(|t| t.to_rfc3339()).unwrap_or_default()
        ),
    }
    csv COLLECTION_GAPS "collection_gaps.csv" [account_id, region, lost_from, lost_to, detected_at, listings]
}

table! {
    /// An AWS Audit Manager assessment-report zip, summarised.
    #[allow(missing_docs)]
    pub struct AssessmentReport {
        assessment_folder: String,
        report_folder: Option<String>,
        controls: u64,
        evidence_files: u64,
        members: u64,
        uncompressed_bytes: u64,
        has_summary_pdf: bool,
        has_digest: bool,
        provenance: Vec<Provenance>,
    }
    csv ASSESSMENT_REPORTS "assessment_reports.csv" [
        artifact_sha256 = |a, cx| cx.artifact_hex(a.provenance.first()),
        assessment_folder, report_folder, controls, evidence_files, members, uncompressed_bytes, has_summary_pdf,
        has_digest,
    ]
}

table! {
    /// One member of an assessment-report zip, hashed.
    #[allow(missing_docs)]
    pub struct ZipMember {
        name: String,
        size: u64,
        sha256: String,
        provenance: Provenance,
    }
    csv MEMBERS "assessment_report_members.csv" [
        artifact_sha256 = |m, cx| cx.artifact_hex(Some(&m.provenance)),
        member_index = |m, _cx| match m.provenance.locator {
            Locator::ZipMember(i) => u64::from(i),
            _ => 0,
        },
        name, size, sha256,
    ]
}

impl Default for Provenance {
    fn default() -> Self {
        Provenance { artifact: 0, locator: Locator::Document }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_parse_once_and_unknown_ones_are_kept_verbatim() {
        assert_eq!(JobState::from("COMPLETED"), JobState::Completed);
        assert_eq!(JobState::from("ABORTED").as_str(), "ABORTED");
        let odd = JobState::from("PAUSED_FOR_AUDIT");
        assert_eq!(odd, JobState::Other("PAUSED_FOR_AUDIT".into()));
        assert_eq!((odd.as_str(), String::from(odd.clone())), ("PAUSED_FOR_AUDIT", "PAUSED_FOR_AUDIT".to_owned()));
        assert!(!JobKind::Backup.is_terminal(&odd));
        assert!(JobKind::Backup.is_terminal(&JobState::Expired) && !JobKind::Restore.is_terminal(&JobState::Expired));
        assert_eq!(ValidationStatus::from("TIMED_OUT"), ValidationStatus::TimedOut);
        assert_eq!(ValidationStatus::from("VALIDATING").as_str(), "VALIDATING");
        // The spill files store the text, so a state survives a round trip whatever it is.
        for s in [JobState::Failed, odd] {
            let bytes = postcard::to_allocvec(&s).unwrap();
            assert_eq!(postcard::from_bytes::<JobState>(&bytes).unwrap(), s);
        }
    }

    #[test]
    fn scan_observations_merge_like_jobs() {
        use crate::artifact::Sha256Digest;
        let obs = |artifact: u32, state: &str, result: Option<&str>, at: i64| MalwareScan {
            scan_job_id: "s".into(),
            state: Some(state.into()),
            scan_result_status: result.map(ScanResultStatus::from),
            observed_at: Some(Timestamp(at)),
            provenance: vec![Provenance { artifact, locator: Locator::Document }],
            ..MalwareScan::default()
        };
        let shas: Vec<Sha256Digest> = (0..3).map(|i| Sha256Digest([i; 32])).collect();
        let merge = |group: Vec<MalwareScan>| merge::merge_group(group, &shas, &mut Vec::new()).unwrap();
        // A final state beats a later running one.
        let m = merge(vec![obs(0, "RUNNING", None, 300), obs(1, "COMPLETED", Some("NO_THREATS_FOUND"), 100)]);
        assert!(m.clean() && m.provenance.len() == 2);
        // At the same time, whatever the order: malware found, then failed, then clean.
        let tied = [
            obs(0, "COMPLETED", Some("NO_THREATS_FOUND"), 100),
            obs(1, "COMPLETED", Some("THREATS_FOUND"), 100),
            obs(2, "FAILED", None, 100),
        ];
        assert!(merge(tied.to_vec()).infected());
        assert!(merge(tied.iter().rev().cloned().collect()).infected());
        assert_eq!(merge(vec![tied[0].clone(), tied[2].clone()]).state, Some(ScanState::Failed));
        assert_eq!(ScanState::from("PAUSED").as_str(), "PAUSED", "unknown states are kept");
    }
}
