//! One account × Region: the operations, in the order their results feed each other
//! (vault names before vault descriptions, plan names before selections, …), and the rules
//! that keep re-runs from adding copies.
//!
//! - State listings (vaults, recovery points, legal holds, plans, alarms, tags, …) are written
//!   when they differ from the newest stored snapshot of the same file.
//! - Job listings (backup, copy, restore, report jobs) ask for what was created or completed
//!   since the last snapshot minus an overlap (or `--since`), and keep only the jobs that are
//!   not already stored byte for byte — so a job's every state change is recorded once.
//!   Restore jobs reach back at least 8 days: a restore test's validation can end up to
//!   168 h after the restore completed, and its final status is the evidence.

use std::collections::HashSet;

use aws_config::SdkConfig;
use aws_smithy_types::DateTime;
use serde_json::Value;

use super::capture::{Capture, FailureKind, OpError, client, one, pages};
use super::store::{Store, Stored, Written};
use super::{CollectOptions, Service};
use crate::time::Timestamp;

/// What happened in one scope.
#[derive(Debug, Clone, Default)]
pub struct ScopeSummary {
    /// The account.
    pub account: String,
    /// The Region.
    pub region: String,
    /// Snapshot files written (paths or URLs).
    pub written: Vec<String>,
    /// Operations whose result was already stored.
    pub unchanged: usize,
    /// Failed operations.
    pub failures: Vec<OpError>,
    /// Things worth knowing that are not failures (a service not in use here, …).
    pub notes: Vec<String>,
}

pub(crate) struct Scope<'a> {
    pub opts: &'a CollectOptions,
    pub store: &'a Store,
    pub cfg: SdkConfig,
    pub summary: ScopeSummary,
    /// The snapshot folder name (scope start, RFC 3339 UTC, seconds).
    ts: String,
    stored: Vec<Stored>,
    /// The Backup endpoint did not answer: skip its remaining calls.
    backup_down: bool,
}

const DAY_MS: i64 = 86_400_000;

/// How far back restore-job listings reach: the longest validation window (168 h) + a day.
const RESTORE_VALIDATION_HOURS: u32 = 192;

fn json_bytes(doc: &Value) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(doc).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// A file-name-safe form of an AWS name (vault, plan, legal hold id, …).
fn safe(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' }).collect()
}

/// The `field` of every item of the list `list` in `doc` (names to describe next).
fn strings(doc: &Value, list: &str, field: &str) -> Vec<String> {
    doc.get(list)
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(|i| i.get(field).and_then(Value::as_str).map(str::to_owned)).collect())
        .unwrap_or_default()
}

/// SHA-256 of an item's compact JSON: what "already stored byte for byte" compares.
fn digest(item: &Value) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(item.to_string().as_bytes()).into()
}

/// A failure of the snapshot store itself (not of an AWS call).
fn store_error(code: &str, message: String) -> OpError {
    OpError { action: "store", kind: FailureKind::Other, code: code.into(), message }
}

/// A listing written as a state snapshot, then one `get`/`describe` per item it names
/// (`<prefix>-<name>.json`); Backup failures as in [`Scope::backup_fail`].
macro_rules! list_and_get {
    ($self:ident, $list:expr, $file:literal, ($key:literal, $field:literal), |$n:ident| $get:expr, $prefix:literal) => {
        match $list {
            Ok(doc) => {
                let names: Vec<String> = strings(&doc, $key, $field);
                $self.state($file, doc).await;
                for $n in &names {
                    if $self.backup_down {
                        break;
                    }
                    match $get {
                        Ok(doc) => $self.state(&format!("{}-{}.json", $prefix, safe($n)), doc).await,
                        Err(e) => $self.backup_fail(e),
                    }
                }
            }
            Err(e) => $self.backup_fail(e),
        }
    };
}

fn dt(t: Timestamp) -> DateTime {
    DateTime::from_millis(t.millis())
}

impl<'a> Scope<'a> {
    pub(crate) fn new(opts: &'a CollectOptions, store: &'a Store, cfg: SdkConfig, account: &str, region: &str) -> Self {
        let now = Timestamp::now();
        let ts = Timestamp(now.millis() - now.millis().rem_euclid(1000)).to_rfc3339();
        Scope {
            opts,
            store,
            cfg,
            summary: ScopeSummary { account: account.to_owned(), region: region.to_owned(), ..Default::default() },
            ts,
            stored: Vec::new(),
            backup_down: false,
        }
    }

    fn fail(&mut self, e: OpError) {
        tracing::warn!(account = %self.summary.account, region = %self.summary.region, "{e}");
        self.summary.failures.push(e);
    }

    /// Records a failed Backup call; an unreachable endpoint stops the remaining Backup calls.
    fn backup_fail(&mut self, e: OpError) {
        if e.kind == FailureKind::Unreachable {
            self.backup_down = true;
        }
        self.fail(e);
    }

    async fn write(&mut self, name: &str, doc: &Value) {
        let bytes = json_bytes(doc);
        let (account, region) = (self.summary.account.clone(), self.summary.region.clone());
        match self.store.create(&account, &region, &self.ts, name, &bytes).await {
            Ok(Written::New(at)) => {
                tracing::info!("wrote {at}");
                self.summary.written.push(at);
            }
            Ok(Written::Same(_)) => self.summary.unchanged += 1,
            Err(message) => self.fail(store_error("WriteFailed", message)),
        }
    }

    /// Writes a state document unless the newest stored one of that name is the same.
    async fn state(&mut self, name: &str, doc: Value) {
        let newest = self.stored.iter().filter(|s| s.name == name).max_by_key(|s| s.ts).map(|s| s.key.clone());
        if let Some(key) = newest {
            match self.store.read(&key).await {
                Ok(bytes) if serde_json::from_slice::<Value>(&bytes).ok().as_ref() == Some(&doc) => {
                    self.summary.unchanged += 1;
                    return;
                }
                Ok(_) => {}
                Err(message) => {
                    return self.fail(store_error("ReadFailed", message));
                }
            }
        }
        self.write(name, &doc).await;
    }

    /// The time job listings start from for `name`: `--since`, else the newest stored
    /// snapshot of it minus the overlap, else nothing (everything the API still holds).
    fn since(&self, name: &str) -> Option<Timestamp> {
        self.since_at_least(name, 0)
    }

    /// [`Self::since`] reaching back at least `min_hours` before the last snapshot.
    fn since_at_least(&self, name: &str, min_hours: u32) -> Option<Timestamp> {
        if let Some(s) = self.opts.since {
            return Some(s);
        }
        let newest = self.stored.iter().filter(|s| s.name == name).map(|s| s.ts).max()?;
        let hours = i64::from(self.opts.overlap_hours.max(min_hours));
        Some(Timestamp(newest.millis() - hours * 3_600_000))
    }

    /// Writes the jobs of `items` (from `list` of a listing named `name`) not already stored.
    async fn delta(&mut self, name: &str, list: &str, id: &str, items: Vec<Value>, since: Option<Timestamp>) {
        let mut seen = HashSet::new();
        let floor = since.map(|s| s.millis() - DAY_MS);
        let keys: Vec<String> = self
            .stored
            .iter()
            .filter(|s| s.name == name && floor.is_none_or(|f| s.ts.millis() >= f))
            .map(|s| s.key.clone())
            .collect();
        for key in keys {
            match self.store.read(&key).await {
                Ok(bytes) => {
                    if let Ok(doc) = serde_json::from_slice::<Value>(&bytes)
                        && let Some(Value::Array(old)) = doc.get(list)
                    {
                        seen.extend(old.iter().map(digest));
                    }
                }
                Err(message) => {
                    return self.fail(store_error("ReadFailed", message));
                }
            }
        }
        let mut fresh: Vec<Value> = Vec::new();
        let mut ids = HashSet::new();
        for item in items {
            let key = item.get(id).and_then(Value::as_str).map(str::to_owned).unwrap_or_else(|| item.to_string());
            if ids.insert(key) && !seen.contains(&digest(&item)) {
                fresh.push(item);
            }
        }
        // An empty listing is written once (the call was made and found nothing), not again.
        let first = !self.stored.iter().any(|s| s.name == name);
        if fresh.is_empty() && !first {
            self.summary.unchanged += 1;
            return;
        }
        fresh.sort_by(|a, b| {
            let k = |v: &Value| v.get(id).and_then(Value::as_str).map(str::to_owned).unwrap_or_default();
            k(a).cmp(&k(b))
        });
        let mut doc = serde_json::Map::new();
        doc.insert(list.to_owned(), Value::Array(fresh));
        self.write(name, &Value::Object(doc)).await;
    }

    /// Runs every operation of the scope; failures are recorded and the next one runs.
    pub(crate) async fn run(mut self) -> ScopeSummary {
        match self.store.list(&self.summary.account, &self.summary.region).await {
            Ok(s) => self.stored = s,
            Err(message) => {
                self.fail(store_error("ListFailed", message));
                return self.summary;
            }
        }
        if self.opts.wants(Service::Backup) {
            self.backup().await;
        }
        if self.opts.wants(Service::Alarms) {
            self.alarms().await;
        }
        if self.opts.wants(Service::Tags) {
            self.tags().await;
        }
        if self.opts.wants(Service::AuditManager) {
            self.audit_manager().await;
        }
        self.summary
    }

    async fn backup(&mut self) {
        let cap = Capture::default();
        let c = client!(aws_sdk_backup, &self.cfg, cap);
        let org = self.opts.organization_jobs;

        // Vaults, their lock state, and what is in them.
        let vaults = pages!(cap, "backup:ListBackupVaults", c.list_backup_vaults().max_results(1000));
        let names: Vec<String> = match vaults {
            Ok(doc) => {
                let names = strings(&doc, "BackupVaultList", "BackupVaultName");
                self.state("list-backup-vaults.json", doc).await;
                names
            }
            Err(e) => {
                self.backup_fail(e);
                Vec::new()
            }
        };
        for vault in &names {
            if self.backup_down {
                return;
            }
            match one!(cap, "backup:DescribeBackupVault", c.describe_backup_vault().backup_vault_name(vault)) {
                Ok(doc) => self.state(&format!("describe-backup-vault-{}.json", safe(vault)), doc).await,
                Err(e) => self.backup_fail(e),
            }
            if self.opts.wants(Service::RecoveryPoints) {
                let r = pages!(
                    cap,
                    "backup:ListRecoveryPointsByBackupVault",
                    c.list_recovery_points_by_backup_vault().backup_vault_name(vault).max_results(1000)
                );
                match r {
                    Ok(doc) => {
                        self.state(&format!("list-recovery-points-by-backup-vault-{}.json", safe(vault)), doc).await
                    }
                    Err(e) => self.backup_fail(e),
                }
            }
        }

        // Jobs: created or completed since the last snapshot.
        macro_rules! jobs {
            ($name:literal, $list:literal, $id:literal, $action:literal, $op:ident, $min_hours:expr) => {
                if !self.backup_down {
                    let since = self.since_at_least($name, $min_hours);
                    let account = org.then_some("*");
                    let mut items = Vec::new();
                    let mut failed = None;
                    let windows: Vec<(Option<DateTime>, Option<DateTime>)> = match since {
                        None => vec![(None, None)],
                        Some(s) => vec![(Some(dt(s)), None), (None, Some(dt(s)))],
                    };
                    for (created, completed) in windows {
                        let r = pages!(
                            cap,
                            $action,
                            c.$op()
                                .set_by_created_after(created)
                                .set_by_complete_after(completed)
                                .set_by_account_id(account.map(str::to_owned))
                                .max_results(1000)
                        );
                        match r {
                            Ok(mut doc) => {
                                if let Some(Value::Array(list)) = doc.get_mut($list) {
                                    items.append(list);
                                }
                            }
                            Err(e) => {
                                failed = Some(e);
                                break;
                            }
                        }
                    }
                    match failed {
                        Some(e) => self.backup_fail(e),
                        None => self.delta($name, $list, $id, items, since).await,
                    }
                }
            };
        }
        jobs!("list-backup-jobs.json", "BackupJobs", "BackupJobId", "backup:ListBackupJobs", list_backup_jobs, 0);
        jobs!("list-copy-jobs.json", "CopyJobs", "CopyJobId", "backup:ListCopyJobs", list_copy_jobs, 0);
        // A restore test's validation may finish up to 168 h (ValidationWindowHours) after
        // the restore completed: look back far enough to see its final status.
        jobs!(
            "list-restore-jobs.json",
            "RestoreJobs",
            "RestoreJobId",
            "backup:ListRestoreJobs",
            list_restore_jobs,
            RESTORE_VALIDATION_HOURS
        );
        if self.backup_down {
            return;
        }

        // Legal holds.
        list_and_get!(
            self,
            pages!(cap, "backup:ListLegalHolds", c.list_legal_holds()),
            "list-legal-holds.json",
            ("LegalHolds", "LegalHoldId"),
            |id| one!(cap, "backup:GetLegalHold", c.get_legal_hold().legal_hold_id(id)),
            "get-legal-hold"
        );
        if self.backup_down {
            return;
        }

        // Restore testing: plans and their selections.
        match pages!(cap, "backup:ListRestoreTestingPlans", c.list_restore_testing_plans()) {
            Ok(doc) => {
                let plans: Vec<String> = strings(&doc, "RestoreTestingPlans", "RestoreTestingPlanName");
                self.state("list-restore-testing-plans.json", doc).await;
                for plan in plans {
                    match one!(
                        cap,
                        "backup:GetRestoreTestingPlan",
                        c.get_restore_testing_plan().restore_testing_plan_name(&plan)
                    ) {
                        Ok(doc) => self.state(&format!("get-restore-testing-plan-{}.json", safe(&plan)), doc).await,
                        Err(e) => self.backup_fail(e),
                    }
                    let sel = pages!(
                        cap,
                        "backup:ListRestoreTestingSelections",
                        c.list_restore_testing_selections().restore_testing_plan_name(&plan)
                    );
                    match sel {
                        Ok(doc) => {
                            let names: Vec<String> =
                                strings(&doc, "RestoreTestingSelections", "RestoreTestingSelectionName");
                            self.state(&format!("list-restore-testing-selections-{}.json", safe(&plan)), doc).await;
                            for name in names {
                                let r = one!(
                                    cap,
                                    "backup:GetRestoreTestingSelection",
                                    c.get_restore_testing_selection()
                                        .restore_testing_plan_name(&plan)
                                        .restore_testing_selection_name(&name)
                                );
                                match r {
                                    Ok(doc) => {
                                        let file = format!(
                                            "get-restore-testing-selection-{}-{}.json",
                                            safe(&plan),
                                            safe(&name)
                                        );
                                        self.state(&file, doc).await;
                                    }
                                    Err(e) => self.backup_fail(e),
                                }
                            }
                        }
                        Err(e) => self.backup_fail(e),
                    }
                }
            }
            Err(e) => self.backup_fail(e),
        }
        if self.backup_down {
            return;
        }

        // Backup Audit Manager: report plans, recent report jobs (with their S3 keys), frameworks.
        match pages!(cap, "backup:ListReportPlans", c.list_report_plans()) {
            Ok(doc) => self.state("list-report-plans.json", doc).await,
            Err(e) => self.backup_fail(e),
        }
        let since = self.since("list-report-jobs.json");
        let jobs = pages!(cap, "backup:ListReportJobs", c.list_report_jobs().set_by_creation_after(since.map(dt)));
        match jobs {
            Ok(mut doc) => {
                let mut items = match doc.get_mut("ReportJobs") {
                    Some(Value::Array(list)) => std::mem::take(list),
                    _ => Vec::new(),
                };
                for item in &mut items {
                    let has_keys = item
                        .pointer("/ReportDestination/S3Keys")
                        .and_then(Value::as_array)
                        .is_some_and(|k| !k.is_empty());
                    let id = item.get("ReportJobId").and_then(Value::as_str).map(str::to_owned);
                    let done = item.get("Status").and_then(Value::as_str) == Some("COMPLETED");
                    if let (false, true, Some(id)) = (has_keys, done, id) {
                        match one!(cap, "backup:DescribeReportJob", c.describe_report_job().report_job_id(&id)) {
                            Ok(described) => {
                                if let Some(job) = described.get("ReportJob") {
                                    *item = job.clone();
                                }
                            }
                            Err(e) => self.backup_fail(e),
                        }
                    }
                }
                self.delta("list-report-jobs.json", "ReportJobs", "ReportJobId", items, since).await;
            }
            Err(e) => self.backup_fail(e),
        }
        list_and_get!(
            self,
            pages!(cap, "backup:ListFrameworks", c.list_frameworks()),
            "list-frameworks.json",
            ("Frameworks", "FrameworkName"),
            |name| one!(cap, "backup:DescribeFramework", c.describe_framework().framework_name(name)),
            "describe-framework"
        );
    }

    /// CloudWatch metric alarms on the `AWS/Backup` namespace (directly or in metric math).
    async fn alarms(&mut self) {
        let c = aws_sdk_cloudwatch::Client::new(&self.cfg);
        let mut alarms = Vec::new();
        let mut pages =
            c.describe_alarms().alarm_types(aws_sdk_cloudwatch::types::AlarmType::MetricAlarm).into_paginator().send();
        while let Some(page) = pages.next().await {
            match page {
                Ok(out) => alarms.extend(
                    out.metric_alarms().iter().filter(|a| super::alarm::on_backup(a)).map(super::alarm::to_json),
                ),
                Err(e) => return self.fail(super::capture::op_error("cloudwatch:DescribeAlarms", &e)),
            }
        }
        let doc = serde_json::json!({ "MetricAlarms": alarms, "CompositeAlarms": [] });
        self.state("describe-alarms.json", doc).await;
    }

    /// The tag inventory (Resource Groups Tagging API).
    async fn tags(&mut self) {
        let cap = Capture::default();
        let c = client!(aws_sdk_resourcegroupstagging, &self.cfg, cap);
        let r = pages!(cap, "tag:GetResources", c.get_resources().resources_per_page(100));
        match r {
            Ok(doc) => self.state("get-resources.json", doc).await,
            Err(e) => self.fail(e),
        }
    }

    /// Audit Manager, where it is active: assessments, their reports, and the integrity check
    /// of each report zip in the assessment's report destination.
    async fn audit_manager(&mut self) {
        let cap = Capture::default();
        let c = client!(aws_sdk_auditmanager, &self.cfg, cap);
        match c.get_account_status().send().await {
            Ok(out) if out.status() == Some(&aws_sdk_auditmanager::types::AccountStatus::Active) => {}
            Ok(out) => {
                let status = out.status().map(|s| s.as_str().to_owned()).unwrap_or_else(|| "unknown".into());
                return self.summary.notes.push(format!("Audit Manager not active here (status {status})"));
            }
            Err(e) => {
                let e = super::capture::op_error("auditmanager:GetAccountStatus", &e);
                if e.kind == FailureKind::Unreachable {
                    return self.summary.notes.push(format!("Audit Manager not reachable here: {}", e.message));
                }
                return self.fail(e);
            }
        }
        let list = pages!(cap, "auditmanager:ListAssessments", c.list_assessments());
        let ids: Vec<String> = match list {
            Ok(doc) => {
                let ids = strings(&doc, "assessmentMetadata", "id");
                self.state("list-assessments.json", doc).await;
                ids
            }
            Err(e) => return self.fail(e),
        };
        let mut destinations = Vec::new();
        for id in &ids {
            match one!(cap, "auditmanager:GetAssessment", c.get_assessment().assessment_id(id)) {
                Ok(doc) => {
                    if let Some(d) = doc
                        .pointer("/assessment/metadata/assessmentReportsDestination/destination")
                        .and_then(Value::as_str)
                        && !destinations.iter().any(|x| x == d)
                    {
                        destinations.push(d.to_owned());
                    }
                    self.state(&format!("get-assessment-{}.json", safe(id)), doc).await;
                }
                Err(e) => self.fail(e),
            }
        }
        let reports = pages!(cap, "auditmanager:ListAssessmentReports", c.list_assessment_reports());
        match reports {
            Ok(doc) => self.state("list-assessment-reports.json", doc).await,
            Err(e) => self.fail(e),
        }
        let since = self.since("validate-assessment-report-integrity.json");
        let mut checks = Vec::new();
        for destination in destinations {
            let zips = match self.report_zips(&destination, since).await {
                Ok(z) => z,
                Err(e) => {
                    self.fail(e);
                    continue;
                }
            };
            for url in zips {
                let r = one!(
                    cap,
                    "auditmanager:ValidateAssessmentReportIntegrity",
                    c.validate_assessment_report_integrity().s3_relative_path(&url)
                );
                match r {
                    Ok(Value::Object(mut doc)) => {
                        doc.insert("s3RelativePath".into(), Value::String(url));
                        checks.push(Value::Object(doc));
                    }
                    Ok(_) => {}
                    Err(e) => self.fail(e),
                }
            }
        }
        self.delta(
            "validate-assessment-report-integrity.json",
            "AssessmentReportIntegrity",
            "s3RelativePath",
            checks,
            since,
        )
        .await;
    }

    /// `s3://…` URLs of the report zips under an assessment's report destination, written
    /// since `since`.
    async fn report_zips(&self, destination: &str, since: Option<Timestamp>) -> Result<Vec<String>, OpError> {
        let loc: crate::archive::S3Location =
            destination.parse().map_err(|m: String| OpError::internal("s3:ListBucket", m))?;
        let s3 = crate::archive::s3_client_for(&self.cfg, self.opts.path_style);
        let prefix = if loc.prefix.is_empty() { String::new() } else { format!("{}/", loc.prefix) };
        let mut pages = s3.list_objects_v2().bucket(&loc.bucket).prefix(&prefix).into_paginator().send();
        let mut urls = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| super::capture::op_error("s3:ListBucket", &e))?;
            for o in page.contents() {
                let Some(key) = o.key().filter(|k| k.ends_with(".zip")) else { continue };
                let fresh = match (since, o.last_modified()) {
                    (Some(s), Some(m)) => m.to_millis().is_ok_and(|ms| ms >= s.millis()),
                    _ => true,
                };
                if fresh {
                    urls.push(format!("s3://{}/{key}", loc.bucket));
                }
            }
        }
        urls.sort();
        Ok(urls)
    }
}
