//! Checks: each a question the evidence answers, with its status, key figures, a sentence a
//! risk officer understands, and the records that support it.
//!
//! A check is `pass`, `warn` (partly met), `fail`, or `no_data` (the evidence needed was not
//! collected — never read as a pass). The DORA mapping ([`super::mapping`]) turns check
//! results into requirement statuses.
//!
//! Every check is one function from `Inputs` (the accumulated facts, the targets applied to
//! them, the config and the merged evidence) to a [`CheckResult`], named once in the `checks!`
//! table below, which declares [`CheckId`] (the stable id in findings and the mapping file),
//! [`CheckId::ALL`] (report order) and the dispatch. **Adding a check** is one
//! line in that table plus its function in the submodule of its subject (`backups`, `restores`,
//! `vaults`, `vault_protection`, `alarms`, `detection`, `reports`, `policy`, `scans`); then name
//! its id in `report-templates/dora-mapping.toml` (a unit test fails until every id is mapped or
//! listed as informational). Per-item views the report and CSVs show (`policy_view`, the alert
//! paths in `detection`) come from the same evaluation as their check.

mod alarms;
mod backups;
mod by_resource;
mod detection;
mod policy;
mod policy_view;
mod reports;
mod restores;
mod scans;
mod vault_protection;
mod vaults;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::Serialize;

pub use by_resource::{ResourceException, subject_noun};
pub(crate) use detection::alert_paths_csv;
pub use detection::{AlertPath, AlertScope};
pub use policy_view::{BackupPolicy, PolicyRuleRow, PolicyTargetRow};

use super::{Derived, MetricsAccumulator};
use crate::config::Config;
use crate::evidence::ArtifactKind;
use crate::evidence::Evidence;
use crate::evidence::model::Provenance;
use crate::time::{Period, Timestamp};

/// Outcome of a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    /// Met.
    Pass,
    /// Partly met.
    Warn,
    /// Not met.
    Fail,
    /// The evidence needed was not collected.
    NoData,
}

impl CheckStatus {
    /// Name in outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Pass => "pass",
            CheckStatus::Warn => "warn",
            CheckStatus::Fail => "fail",
            CheckStatus::NoData => "no_data",
        }
    }
}

/// Declares [`CheckId`] from a table of `Variant = "stable_id" => function;` rows, so that a
/// check's id, its place in the report order and the function that runs it are written once.
macro_rules! checks {
    ($($variant:ident = $id:literal => $run:path;)+) => {
        /// A check. Its string form ([`CheckId::as_str`], also its serde form) is the stable id
        /// used in `findings.json`, `findings.csv`, the mapping file and the report.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
        pub enum CheckId {
            $(#[doc = concat!("The `", $id, "` check.")] #[serde(rename = $id)] $variant,)+
        }

        impl CheckId {
            /// Every check, in report order.
            pub const ALL: &'static [CheckId] = &[$(CheckId::$variant),+];

            /// The stable id.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(CheckId::$variant => $id,)+
                }
            }

            /// The function that runs this check.
            fn runner(self) -> fn(&Inputs<'_>) -> CheckResult {
                match self {
                    $(CheckId::$variant => $run,)+
                }
            }
        }
    };
}

// The checks in report order: variant, stable id (never renamed: users' mapping files name
// it), and the function that runs it (its doc says what the check asks).
checks! {
    BackupSuccess = "backup_success" => backups::backup_success;
    Rpo = "rpo" => backups::rpo;
    PolicyCoversTargets = "policy_covers_targets" => policy::policy_covers_targets;
    CandidatesTested = "candidates_tested" => restores::candidates_tested;
    RestoreTestingInScope = "restore_testing_in_scope" => restores::restore_testing_in_scope;
    RestoreTestResults = "restore_test_results" => restores::restore_test_results;
    Rto = "rto" => restores::rto;
    VaultLock = "vault_lock" => vaults::vault_lock;
    VaultProtection = "vault_protection" => vault_protection::vault_protection;
    LegalHolds = "legal_holds" => vaults::legal_holds;
    CopyCoverage = "copy_coverage" => backups::copy_coverage;
    FailureAlarms = "failure_alarms" => alarms::failure_alarms;
    FailureDetection = "failure_detection" => detection::failure_detection;
    BackupControls = "backup_controls" => reports::backup_controls;
    Encryption = "encryption" => backups::encryption;
    MalwareScans = "malware_scans" => scans::malware_scans;
    AuditManagerReports = "audit_manager_reports" => reports::audit_manager_reports;
}

impl fmt::Display for CheckId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is no check's id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown check {0:?}; known: {known}", known = CheckId::known())]
pub struct UnknownCheck(pub String);

impl CheckId {
    /// Every id, comma-separated (for error messages).
    fn known() -> String {
        CheckId::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")
    }
}

impl FromStr for CheckId {
    type Err = UnknownCheck;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CheckId::ALL.iter().copied().find(|c| c.as_str() == s).ok_or_else(|| UnknownCheck(s.to_owned()))
    }
}

/// One check's result.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    /// Which check.
    pub id: CheckId,
    /// What it asks.
    pub title: &'static str,
    /// Outcome.
    pub status: CheckStatus,
    /// One sentence with the key figures.
    pub summary: String,
    /// The key figure in a few words, for the summary table (see [`CheckResult::key`]).
    #[serde(skip)]
    pub key_figure: String,
    /// Key figures as name → value.
    pub figures: BTreeMap<&'static str, String>,
    /// The records behind a non-pass status (job ids, ARNs, scopes), sorted.
    pub exceptions: Vec<String>,
    /// The exceptions grouped by resource, most first ([`by_resource`]); filled by [`run`].
    pub resources: Vec<ResourceException>,
    /// How many evidence records the check read.
    pub records: u64,
    /// Indices of the artifacts those records came from.
    #[serde(skip)]
    pub artifacts: BTreeSet<u32>,
}

impl CheckResult {
    /// The check's key figure in a few words, for the summary table.
    pub fn key(&self) -> String {
        if self.status == CheckStatus::NoData {
            format!("{}: no data", self.id.as_str().replace('_', " "))
        } else {
            self.key_figure.clone()
        }
    }
}

/// What every check reads: the accumulated facts, what the targets made of them, the config
/// and the merged evidence (snapshots, reports).
pub(crate) struct Inputs<'a> {
    /// Facts folded from the period's records.
    pub(crate) acc: &'a MetricsAccumulator,
    /// The targets applied to them.
    pub(crate) derived: &'a Derived,
    /// The user's config (thresholds, candidate tag).
    pub(crate) config: &'a Config,
    /// The merged evidence.
    pub(crate) ev: &'a Evidence,
}

impl Inputs<'_> {
    fn period(&self) -> Period {
        self.acc.period
    }

    /// Whether a snapshot observed at `t` can speak for the period: taken from the day before
    /// the period on (DESIGN §3). An untimed snapshot could be from any year, so it cannot.
    fn current(&self, t: Option<Timestamp>) -> bool {
        t.is_some_and(|t| t.millis() >= self.period().start.millis() - DAY_MS)
    }

    /// Whether a clean snapshot of `kind` from the period was read (it may list nothing: an
    /// empty alarm list is evidence too).
    fn collected(&self, kind: ArtifactKind) -> bool {
        self.ev.artifacts.iter().any(|a| a.kind == kind && a.errors == 0 && self.current(a.observed_at))
    }

    /// The status of a check over the account/Region pairs with backups, `uncovered` of which
    /// lack what it asks for; `no_data` without a clean snapshot of `kind` from the period.
    fn status_over_scopes(&self, kind: ArtifactKind, uncovered: usize) -> CheckStatus {
        if self.collected(kind) {
            let scopes = self.acc.scopes.len();
            status_by_share(scopes - uncovered, scopes)
        } else {
            CheckStatus::NoData
        }
    }
}

const DAY_MS: i64 = 86_400_000;

/// `1 resource`, `2 resources`: a count with its noun in the right number.
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn pct(x: f64) -> String {
    format!("{:.2} %", x * 100.0)
}

/// `pass` when every one of `total` items is ok, `fail` when none is, `warn` in between.
fn status_by_share(ok: usize, total: usize) -> CheckStatus {
    if total == 0 {
        CheckStatus::NoData
    } else if ok == total {
        CheckStatus::Pass
    } else if ok == 0 {
        CheckStatus::Fail
    } else {
        CheckStatus::Warn
    }
}

/// `no_data` when nothing was `measured`, else `pass` without breaches and `fail` with any.
fn status_by_breaches(measured: bool, breaches: usize) -> CheckStatus {
    if !measured {
        CheckStatus::NoData
    } else if breaches == 0 {
        CheckStatus::Pass
    } else {
        CheckStatus::Fail
    }
}

fn prov_set<'a>(provs: impl Iterator<Item = &'a Provenance>) -> BTreeSet<u32> {
    provs.map(|p| p.artifact).collect()
}

/// Every alert path of the period (`evidence/alert_paths.csv`), sorted, and every account and
/// Region in use with how its failed jobs get to a person (the report).
pub(crate) fn alerts(
    acc: &MetricsAccumulator,
    derived: &Derived,
    config: &Config,
    ev: &Evidence,
) -> (Vec<AlertPath>, Vec<AlertScope>) {
    let cx = Inputs { acc, derived, config, ev };
    let paths = detection::alert_paths(&cx);
    let scopes = detection::alert_scopes(&cx, &paths);
    (paths, scopes)
}

/// The period's backup policy for the report and `backup_policy*.csv`, judged as
/// `policy_covers_targets` judges it.
pub(crate) fn backup_policy(
    acc: &MetricsAccumulator,
    derived: &Derived,
    config: &Config,
    ev: &Evidence,
) -> BackupPolicy {
    policy_view::backup_policy(&Inputs { acc, derived, config, ev })
}

/// Runs every check, in report order; exceptions come out sorted.
pub(crate) fn run(acc: &MetricsAccumulator, derived: &Derived, config: &Config, ev: &Evidence) -> Vec<CheckResult> {
    let inputs = Inputs { acc, derived, config, ev };
    CheckId::ALL
        .iter()
        .map(|id| {
            let mut result = (id.runner())(&inputs);
            debug_assert_eq!(result.id, *id, "a check function reports under its own id");
            result.exceptions.sort();
            result.resources = by_resource::group(&inputs, &result);
            result
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifact::{Artifact, Sha256Digest};
    use crate::evidence::Format;
    use crate::evidence::model::{Alarm, AssessmentReport, ControlResult, Job, JobKind, Vault};
    use crate::evidence::{ArtifactEntry, Record};
    use crate::time::Timestamp;

    pub(super) fn ts(s: &str) -> Option<Timestamp> {
        Some(Timestamp::parse(s).unwrap())
    }

    /// A clean artifact of `kind` observed at the end of 2026-Q3.
    pub(super) fn artifact(kind: ArtifactKind) -> ArtifactEntry {
        ArtifactEntry {
            artifact: Artifact { sha256: Sha256Digest([1; 32]), size: 1, origin: "x".into(), fetched_at: Timestamp(0) },
            kind,
            format: Format::Json,
            records: 1,
            errors: 0,
            first_error: None,
            observed_at: ts("2026-09-30T06:00:00Z"),
        }
    }

    fn backup(account: &str, region: &str, vault: &str) -> Record {
        Record::Job(Job {
            kind: Some(JobKind::Backup),
            job_id: format!("{account}{region}{vault}"),
            state: Some("COMPLETED".into()),
            account_id: Some(account.into()),
            region: Some(region.into()),
            resource_arn: Some(format!("arn:aws:rds:{region}:{account}:db:x")),
            backup_vault_arn: Some(vault.into()),
            creation_date: ts("2026-07-05T01:00:00Z"),
            completion_date: ts("2026-07-05T01:30:00Z"),
            ..Job::default()
        })
    }

    fn run_checks(records: &[Record], ev: &Evidence, config: &str) -> Vec<CheckResult> {
        let mut acc = MetricsAccumulator::new("2026-Q3".parse().unwrap());
        for r in records {
            acc.observe(r);
        }
        let config = Config::parse(config).unwrap();
        let d = acc.derive(&config, &ev.tagged_resources);
        run(&acc, &d, &config, ev)
    }

    fn get<'a>(checks: &'a [CheckResult], id: &str) -> &'a CheckResult {
        checks.iter().find(|c| c.id.as_str() == id).unwrap()
    }

    fn vault(arn: &str, locked: Option<bool>, lock_date: Option<&str>) -> Vault {
        Vault {
            vault_arn: arn.into(),
            locked,
            lock_date: lock_date.and_then(ts),
            observed_at: ts("2026-09-30T00:00:00Z"),
            ..Vault::default()
        }
    }

    #[test]
    fn every_check_id_round_trips_through_its_stable_string() {
        // The ids in findings.json, findings.csv, the mapping file and the report: renaming one
        // breaks users' mapping files, so they are pinned here in report order.
        let stable = [
            "backup_success",
            "rpo",
            "policy_covers_targets",
            "candidates_tested",
            "restore_testing_in_scope",
            "restore_test_results",
            "rto",
            "vault_lock",
            "vault_protection",
            "legal_holds",
            "copy_coverage",
            "failure_alarms",
            "failure_detection",
            "backup_controls",
            "encryption",
            "malware_scans",
            "audit_manager_reports",
        ];
        let ids: Vec<&str> = CheckId::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(ids, stable);
        for id in CheckId::ALL {
            assert_eq!(id.as_str().parse::<CheckId>(), Ok(*id));
            assert_eq!(id.to_string(), id.as_str());
            assert_eq!(serde_json::to_value(id).unwrap(), id.as_str());
        }
        let err = "backup_sucess".parse::<CheckId>().unwrap_err().to_string();
        assert!(err.starts_with("unknown check \"backup_sucess\"; known: backup_success, rpo, "), "{err}");
        assert!("RPO".parse::<CheckId>().is_err(), "ids are case-sensitive");
    }

    #[test]
    fn every_check_runs_and_reports_missing_evidence_as_no_data() {
        let checks = run_checks(&[], &Evidence::empty(), "");
        let ids: Vec<CheckId> = checks.iter().map(|c| c.id).collect();
        assert_eq!(ids, CheckId::ALL);
        assert!(checks.iter().all(|c| c.status == CheckStatus::NoData), "{checks:#?}");
    }

    #[test]
    fn audit_manager_integrity_results_are_matched_to_the_report_zips() {
        use crate::evidence::model::{Locator, Provenance, ReportIntegrity};
        let mut ev = Evidence::empty();
        let mut zip = artifact(ArtifactKind::AssessmentReport);
        zip.artifact.origin = "s3://am-reports/dora/q3.zip?versionId=3&etag=abc".into();
        ev.artifacts.push(zip);
        ev.assessment_reports = vec![AssessmentReport {
            assessment_folder: "DORA".into(),
            has_summary_pdf: true,
            has_digest: true,
            provenance: vec![Provenance { artifact: 0, locator: Locator::Document }],
            ..AssessmentReport::default()
        }];
        let check = |ev: &Evidence, valid: Option<bool>, path: &str| {
            let mut ev2 = Evidence::empty();
            ev2.artifacts = ev.artifacts.clone();
            ev2.assessment_reports = ev.assessment_reports.clone();
            ev2.report_integrity = vec![ReportIntegrity {
                s3_path: path.into(),
                signature_valid: valid,
                validation_errors: (valid == Some(false)).then(|| "digest mismatch".to_owned()),
                ..ReportIntegrity::default()
            }];
            let c = run_checks(&[], &ev2, "");
            get(&c, "audit_manager_reports").clone()
        };
        let ok = check(&ev, Some(true), "s3://am-reports/dora/q3.zip");
        assert_eq!(ok.status, CheckStatus::Pass);
        assert!(ok.summary.contains("AWS Audit Manager confirmed the signature of 1 of them"), "{}", ok.summary);
        let bad = check(&ev, Some(false), "s3://am-reports/dora/q3.zip");
        assert_eq!(bad.status, CheckStatus::Fail);
        assert_eq!(
            bad.exceptions,
            ["s3://am-reports/dora/q3.zip: AWS Audit Manager's integrity check failed (digest mismatch)"]
        );
        // A failed check of a zip that is not among the inputs still fails the check.
        let elsewhere = check(&ev, Some(false), "s3://am-reports/dora/other.zip");
        assert_eq!(elsewhere.status, CheckStatus::Fail);
        assert!(elsewhere.exceptions[0].ends_with("the zip is not among the inputs"), "{:?}", elsewhere.exceptions);
        // Same file name, no S3 origin (downloaded by hand): matched by name.
        let mut local = ev.artifacts[0].clone();
        local.artifact.origin = "evidence/q3.zip".into();
        ev.artifacts[0] = local;
        assert_eq!(check(&ev, Some(true), "s3://am-reports/dora/q3.zip").status, CheckStatus::Pass);
        assert_eq!(check(&ev, Some(false), "s3://am-reports/dora/q3.zip").status, CheckStatus::Fail);
    }

    #[test]
    fn vault_lock_grades_only_vaults_in_use() {
        let mut ev = Evidence::empty();
        ev.vaults = vec![
            vault("v-compliance", Some(true), Some("2026-01-01T00:00:00Z")),
            vault("v-governance", Some(true), None),
            vault("v-unused-unlocked", Some(false), None),
        ];
        let records = [
            backup("111122223333", "eu-central-1", "v-compliance"),
            backup("111122223333", "eu-central-1", "v-governance"),
        ];
        let c = run_checks(&records, &ev, "");
        assert_eq!(get(&c, "vault_lock").status, CheckStatus::Warn);
        assert_eq!(get(&c, "vault_lock").exceptions, ["v-governance lock governance"]);
        ev.vaults[2].number_of_recovery_points = Some(3); // now it holds data
        let c = run_checks(&records, &ev, "");
        assert_eq!(get(&c, "vault_lock").status, CheckStatus::Fail);
    }

    #[test]
    fn failure_alarms_need_an_action_in_every_scope_in_use() {
        let mut ev = Evidence::empty();
        ev.artifacts.push(artifact(ArtifactKind::MetricAlarmsSnapshot));
        let alarm = |account: &str, actions: Option<&str>| Alarm {
            alarm_arn: format!("arn:aws:cloudwatch:eu-central-1:{account}:alarm:a"),
            alarm_name: Some(format!("a-{account}")),
            account_id: Some(account.into()),
            region: Some("eu-central-1".into()),
            namespace: Some("AWS/Backup".into()),
            metric_name: Some("NumberOfBackupJobsFailed".into()),
            actions_enabled: Some(true),
            alarm_actions: actions.map(str::to_owned),
            observed_at: ts("2026-09-30T06:00:00Z"),
            ..Alarm::default()
        };
        ev.alarms = vec![alarm("111122223333", Some("arn:sns")), alarm("444455556666", None)];
        let records = [backup("111122223333", "eu-central-1", "v"), backup("444455556666", "eu-central-1", "v")];
        let c = run_checks(&records, &ev, "");
        let check = get(&c, "failure_alarms");
        assert_eq!(check.status, CheckStatus::Warn);
        assert_eq!(
            check.exceptions,
            [
                "444455556666/eu-central-1 has no failed-backup alarm with an action",
                "alarm a-444455556666 has no enabled action"
            ]
        );
    }

    #[test]
    fn a_composite_alarm_with_an_action_carries_the_failure_alarm_under_it() {
        let mut ev = Evidence::empty();
        ev.artifacts.push(artifact(ArtifactKind::MetricAlarmsSnapshot));
        let base = |name: &str| Alarm {
            alarm_arn: format!("arn:aws:cloudwatch:eu-central-1:111122223333:alarm:{name}"),
            alarm_name: Some(name.into()),
            account_id: Some("111122223333".into()),
            region: Some("eu-central-1".into()),
            actions_enabled: Some(true),
            observed_at: ts("2026-09-30T06:00:00Z"),
            ..Alarm::default()
        };
        let failed = Alarm {
            backup_metrics: Some("NumberOfBackupJobsFailed".into()),
            alarm_type: Some("metric".into()),
            ..base("backup-failed")
        };
        let composite = |rule: &str, action: Option<&str>| Alarm {
            alarm_rule: Some(rule.into()),
            alarm_type: Some("composite".into()),
            alarm_actions: action.map(str::to_owned),
            ..base("backup-composite")
        };
        let records = [backup("111122223333", "eu-central-1", "v")];
        let status = |ev: &Evidence| get(&run_checks(&records, ev, ""), "failure_alarms").status;
        ev.alarms = vec![failed.clone()];
        assert_eq!(status(&ev), CheckStatus::Fail, "no action anywhere");
        ev.alarms =
            vec![failed.clone(), composite(r#"ALARM("backup-failed") AND NOT ALARM("maint")"#, Some("arn:sns"))];
        assert_eq!(status(&ev), CheckStatus::Pass, "the composite alarm's action alerts");
        ev.alarms = vec![failed.clone(), composite(r#"OK("backup-failed")"#, Some("arn:sns"))];
        assert_eq!(status(&ev), CheckStatus::Fail, "a rule on the OK state does not alert on failures");
        ev.alarms = vec![failed.clone(), composite(r#"ALARM("backup-failed")"#, None)];
        assert_eq!(status(&ev), CheckStatus::Fail, "a composite alarm without an action alerts nobody");
        let mut other_region = composite(r#"ALARM("backup-failed")"#, Some("arn:sns"));
        other_region.region = Some("eu-west-1".into());
        ev.alarms = vec![failed, other_region];
        assert_eq!(status(&ev), CheckStatus::Fail, "rules name alarms of their own Region");
    }

    #[test]
    fn snapshots_speak_for_the_period_only_when_taken_in_it() {
        let mut ev = Evidence::empty();
        ev.vaults = vec![vault("v", Some(true), Some("2026-01-01T00:00:00Z"))];
        let records = [backup("111122223333", "eu-central-1", "v")];
        assert_eq!(get(&run_checks(&records, &ev, ""), "vault_lock").status, CheckStatus::Pass);
        // The same vault seen only in an untimed file, or a year earlier: no evidence.
        for observed in [None, ts("2025-09-30T00:00:00Z")] {
            ev.vaults[0].observed_at = observed;
            let c = run_checks(&records, &ev, "");
            assert_eq!(get(&c, "vault_lock").status, CheckStatus::NoData, "{observed:?}");
        }
        // A compliance lock that became immutable only after the period did not protect it.
        ev.vaults = vec![vault("v", Some(true), Some("2026-10-20T00:00:00Z"))];
        ev.vaults[0].observed_at = ts("2026-11-01T00:00:00Z");
        let c = run_checks(&records, &ev, "");
        assert_eq!(get(&c, "vault_lock").status, CheckStatus::Warn);
        assert_eq!(get(&c, "vault_lock").exceptions, ["v lock compliance_grace"]);
        // A vault written in the period but absent from the snapshots keeps the check from pass.
        ev.vaults = vec![vault("v", Some(true), Some("2026-01-01T00:00:00Z"))];
        let two = [backup("111122223333", "eu-central-1", "v"), backup("111122223333", "eu-west-1", "w")];
        let c = run_checks(&two, &ev, "");
        assert_eq!(get(&c, "vault_lock").status, CheckStatus::Warn);
        // An alarm snapshot from before the period is not evidence of alerting in it.
        let mut ev = Evidence::empty();
        let mut old = artifact(ArtifactKind::MetricAlarmsSnapshot);
        old.observed_at = ts("2026-03-01T00:00:00Z");
        ev.artifacts.push(old);
        assert_eq!(get(&run_checks(&records, &ev, ""), "failure_alarms").status, CheckStatus::NoData);
        // An empty alarm snapshot from the period is evidence: nobody is alerted.
        ev.artifacts[0].observed_at = ts("2026-08-01T00:00:00Z");
        assert_eq!(get(&run_checks(&records, &ev, ""), "failure_alarms").status, CheckStatus::Fail);
    }

    #[test]
    fn legal_holds_and_encryption_pass_only_on_positive_evidence() {
        use crate::evidence::model::{LegalHold, RecoveryPoint};
        let mut ev = Evidence::empty();
        ev.artifacts.push(artifact(ArtifactKind::LegalHoldsSnapshot));
        let hold = |status: &str| LegalHold {
            legal_hold_id: "h1".into(),
            status: Some(status.into()),
            observed_at: ts("2026-09-30T06:00:00Z"),
            ..LegalHold::default()
        };
        // A snapshot that merely exists, or lists only a canceled hold, proves nothing.
        assert_eq!(get(&run_checks(&[], &ev, ""), "legal_holds").status, CheckStatus::NoData);
        ev.legal_holds = vec![hold("CANCELED")];
        assert_eq!(get(&run_checks(&[], &ev, ""), "legal_holds").status, CheckStatus::NoData);
        ev.legal_holds = vec![hold("ACTIVE")];
        assert_eq!(get(&run_checks(&[], &ev, ""), "legal_holds").status, CheckStatus::Pass);

        // Backups that do not say whether they are encrypted are no evidence of encryption.
        let plain = [backup("111122223333", "eu-central-1", "v")];
        let c = run_checks(&plain, &Evidence::empty(), "");
        assert_eq!(get(&c, "encryption").status, CheckStatus::NoData);
        let rp = |arn: &str, encrypted: bool| {
            Record::RecoveryPoint(RecoveryPoint {
                recovery_point_arn: arn.into(),
                is_encrypted: Some(encrypted),
                creation_date: ts("2026-07-05T01:00:00Z"),
                ..RecoveryPoint::default()
            })
        };
        let mut records = plain.to_vec();
        records.push(rp("rp1", true));
        let c = run_checks(&records, &Evidence::empty(), "");
        assert_eq!((get(&c, "encryption").status, get(&c, "encryption").records), (CheckStatus::Pass, 1));
        records.push(rp("rp2", false));
        let c = run_checks(&records, &Evidence::empty(), "");
        assert_eq!(get(&c, "encryption").status, CheckStatus::Fail);
        assert_eq!(get(&c, "encryption").exceptions, ["rp2"]);
    }

    #[test]
    fn copy_coverage_counts_other_regions_and_accounts() {
        let copy = |id: &str, arn: &str, from: &str, to: &str| {
            Record::Job(Job {
                kind: Some(JobKind::Copy),
                job_id: id.into(),
                state: Some("COMPLETED".into()),
                resource_arn: Some(arn.into()),
                backup_vault_arn: Some(from.into()),
                destination_vault_arn: Some(to.into()),
                creation_date: ts("2026-07-05T02:00:00Z"),
                ..Job::default()
            })
        };
        let a = "arn:aws:backup:eu-central-1:111122223333:backup-vault:a";
        let records = [
            backup("111122223333", "eu-central-1", a),
            copy(
                "c1",
                "arn:aws:rds:eu-central-1:111122223333:db:x",
                a,
                "arn:aws:backup:eu-central-1:111122223333:backup-vault:same",
            ),
        ];
        let config = "[[target]]\nname = \"all\"\nrpo_hours = 24\n";
        let c = run_checks(&records, &Evidence::empty(), config);
        assert_eq!(
            get(&c, "copy_coverage").status,
            CheckStatus::Fail,
            "a copy in the same account and Region does not count"
        );
        let mut records = records.to_vec();
        records.push(copy(
            "c2",
            "arn:aws:rds:eu-central-1:111122223333:db:x",
            a,
            "arn:aws:backup:eu-west-1:111122223333:backup-vault:dr",
        ));
        let c = run_checks(&records, &Evidence::empty(), config);
        assert_eq!(get(&c, "copy_coverage").status, CheckStatus::Pass);
        assert_eq!(get(&c, "copy_coverage").figures["cross_region"], "1");
    }

    #[test]
    fn controls_use_the_latest_evaluation_in_the_period() {
        let control = |status: &str, at: &str| {
            Record::Control(ControlResult {
                account_id: Some("111122223333".into()),
                region: Some("eu-central-1".into()),
                framework_name: Some("f".into()),
                control_name: "RESTORE_TIME_FOR_RESOURCES_MEET_TARGET".into(),
                compliance_status: Some(status.into()),
                last_evaluation_time: ts(at),
                ..ControlResult::default()
            })
        };
        let c = run_checks(
            &[
                control("NON_COMPLIANT", "2026-07-10T00:00:00Z"),
                control("COMPLIANT", "2026-09-10T00:00:00Z"),
                control("NON_COMPLIANT", "2026-10-02T00:00:00Z"),
            ],
            &Evidence::empty(),
            "",
        );
        assert_eq!(
            get(&c, "backup_controls").status,
            CheckStatus::Pass,
            "September is the latest in Q3; October is outside"
        );
    }
}
