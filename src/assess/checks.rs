//! Checks: each a question the evidence answers, with its status, key figures, a sentence a
//! risk officer understands, and the records that support it.
//!
//! A check is `pass`, `warn` (partly met), `fail`, or `no_data` (the evidence needed was not
//! collected — never read as a pass). The DORA mapping ([`super::mapping`]) turns check
//! results into requirement statuses.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{Derived, MetricsAccumulator, nearest_rank, round2};
use crate::config::Config;
use crate::evidence::ArtifactKind;
use crate::evidence::Evidence;
use crate::evidence::model::{Alarm, AssessmentReport, ReportIntegrity};
use crate::time::{Period, Timestamp};

/// Outcome of a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
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

/// One check's result.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    /// Stable id, used by the mapping file.
    pub id: &'static str,
    /// What it asks.
    pub title: &'static str,
    /// Outcome.
    pub status: CheckStatus,
    /// One sentence with the key figures.
    pub summary: String,
    /// Key figures as name → value.
    pub figures: BTreeMap<&'static str, String>,
    /// The records behind a non-pass status (job ids, ARNs, scopes), sorted.
    pub exceptions: Vec<String>,
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
            return format!("{}: no data", self.id.replace('_', " "));
        }
        let f = |k: &str| self.figures.get(k).map_or("?", String::as_str);
        let n = |k: &str| f(k).parse::<usize>().unwrap_or(0);
        match self.id {
            "backup_success" => format!("{}/{} backups completed", f("completed"), f("finished")),
            "rpo" => format!("{}/{} resources over RPO", f("breaches"), f("resources_with_rpo")),
            "candidates_tested" => format!("{}/{} candidates untested", f("untested"), f("candidates")),
            "restore_testing_in_scope" => format!("{}/{} scopes without plan", f("without_plan"), f("scopes")),
            "restore_test_results" => format!("{}/{} restore tests passed", f("passed"), f("tests")),
            "rto" => format!("{}/{} restores over RTO", f("breaches"), f("tests_with_rto")),
            "vault_lock" => format!("{}/{} vaults compliance-locked", f("compliance"), f("vaults")),
            "legal_holds" => format!("{} active legal holds", f("active")),
            "copy_coverage" => format!("{}/{} copied off-site", n("targeted") - self.exceptions.len(), f("targeted")),
            "failure_alarms" => format!("{}/{} scopes alerting", f("alerting"), f("scopes")),
            "backup_controls" => format!("{}/{} controls non-compliant", f("non_compliant"), f("controls")),
            "encryption" => format!("{} unencrypted", f("unencrypted")),
            _ => format!("{} reports", f("reports")),
        }
    }
}

/// Every check id, in report order.
pub const CHECK_IDS: &[&str] = &[
    "backup_success",
    "rpo",
    "candidates_tested",
    "restore_testing_in_scope",
    "restore_test_results",
    "rto",
    "vault_lock",
    "legal_holds",
    "copy_coverage",
    "failure_alarms",
    "backup_controls",
    "encryption",
    "audit_manager_reports",
];

fn pct(x: f64) -> String {
    format!("{:.2} %", x * 100.0)
}

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

/// Whether a snapshot observed at `t` can speak for the period: taken from the day before the
/// period on (DESIGN §3). An untimed snapshot could be from any year, so it cannot.
fn current(t: Option<Timestamp>, period: Period) -> bool {
    t.is_some_and(|t| t.millis() >= period.start.millis() - DAY_MS)
}

/// Whether a clean snapshot of `kind` from the period was read (it may list nothing: an empty
/// alarm list is evidence too).
fn collected(ev: &Evidence, kind: ArtifactKind, period: Period) -> bool {
    ev.artifacts.iter().any(|a| a.kind == kind && a.errors == 0 && current(a.observed_at, period))
}

const DAY_MS: i64 = 86_400_000;

fn prov_set<'a>(provs: impl Iterator<Item = &'a crate::evidence::model::Provenance>) -> BTreeSet<u32> {
    provs.map(|p| p.artifact).collect()
}

/// Runs every check.
pub(crate) fn run(acc: &MetricsAccumulator, d: &Derived, config: &Config, ev: &Evidence) -> Vec<CheckResult> {
    let th = &config.thresholds;
    let mut out = Vec::new();
    let mut push = |id: &'static str,
                    title: &'static str,
                    status: CheckStatus,
                    summary: String,
                    figures: Vec<(&'static str, String)>,
                    exceptions: Vec<String>,
                    records: u64,
                    artifacts: BTreeSet<u32>| {
        let mut exceptions = exceptions;
        exceptions.sort();
        out.push(CheckResult {
            id,
            title,
            status,
            summary,
            figures: figures.into_iter().collect(),
            exceptions,
            records,
            artifacts,
        });
    };

    // Backup success and failures grouped by cause.
    let count = |s: &str| acc.backup.get(s).copied().unwrap_or(0);
    let terminal: u64 = ["COMPLETED", "FAILED", "ABORTED", "EXPIRED", "PARTIAL"].iter().map(|s| count(s)).sum();
    let total: u64 = acc.backup.values().sum();
    let mut causes: BTreeMap<&str, u64> = BTreeMap::new();
    for f in &acc.failures {
        *causes.entry(f.category.as_str()).or_default() += 1;
    }
    let causes_text = causes.iter().map(|(c, n)| format!("{c} ×{n}")).collect::<Vec<_>>().join(", ");
    let (status, summary) = if terminal == 0 {
        (CheckStatus::NoData, "No finished backup job in the period.".to_owned())
    } else {
        let rate = count("COMPLETED") as f64 / terminal as f64;
        let status = if rate >= th.backup_success_rate { CheckStatus::Pass } else { CheckStatus::Fail };
        let mut s = format!(
            "{} of {} finished backup jobs completed ({}; threshold {})",
            count("COMPLETED"),
            terminal,
            pct(rate),
            pct(th.backup_success_rate)
        );
        if acc.failures.is_empty() {
            s.push('.');
        } else {
            s.push_str(&format!("; {} did not complete, by cause: {causes_text}.", acc.failures.len()));
        }
        (status, s)
    };
    push(
        "backup_success",
        "Backups run and complete",
        status,
        summary,
        vec![
            ("jobs_in_period", total.to_string()),
            ("completed", count("COMPLETED").to_string()),
            ("finished", terminal.to_string()),
            ("not_completed", acc.failures.len().to_string()),
            ("causes", causes_text.clone()),
        ],
        acc.failures
            .iter()
            .map(|f| format!("{} {} {} [{}] {}", f.job_id, f.state, f.resource_arn, f.category, f.message))
            .collect(),
        total,
        acc.support.backups.clone(),
    );

    // RPO per resource.
    let breaches: Vec<_> = d.rpo_breaches().collect();
    let status = if d.rpo.is_empty() {
        CheckStatus::NoData
    } else if breaches.is_empty() {
        CheckStatus::Pass
    } else {
        CheckStatus::Fail
    };
    let summary = if d.rpo.is_empty() {
        "No resource has an RPO target (set rpo_hours in dora-evidence.toml).".to_owned()
    } else {
        format!(
            "{} of {} resources with an RPO target let the age of their newest recovery point exceed their RPO \
             during the period{}.",
            breaches.len(),
            d.rpo.len(),
            if breaches.iter().any(|b| b.1.is_none()) { " (including resources with no completed backup)" } else { "" }
        )
    };
    push(
        "rpo",
        "Recovery points meet the RPO",
        status,
        summary,
        vec![("resources_with_rpo", d.rpo.len().to_string()), ("breaches", breaches.len().to_string())],
        breaches
            .iter()
            .map(|(arn, gap, rpo)| match gap {
                Some(g) => format!("{arn} longest exposure {:.1} h > RPO {rpo} h", g),
                None => format!("{arn} no completed backup in the period (RPO {rpo} h)"),
            })
            .collect(),
        d.rpo.len() as u64,
        acc.support.backups.clone(),
    );

    // Candidates tested.
    let status = status_by_share(d.candidates.len() - d.untested.len(), d.candidates.len());
    let summary = if d.candidates.is_empty() {
        format!("No resource carries the candidate tag {}={}.", config.candidate_tag.0, config.candidate_tag.1)
    } else {
        format!(
            "{} of {} restore-testing candidates had a passing restore test in the period; {} had none.",
            d.candidates.len() - d.untested.len(),
            d.candidates.len(),
            d.untested.len()
        )
    };
    push(
        "candidates_tested",
        "Every restore-testing candidate was restored successfully",
        status,
        summary,
        vec![("candidates", d.candidates.len().to_string()), ("untested", d.untested.len().to_string())],
        d.untested.clone(),
        d.candidates.len() as u64,
        acc.support.restores.clone(),
    );

    // Restore testing configured in every account and Region in use.
    let period = acc.period;
    let planned: BTreeSet<(String, String)> = ev
        .restore_testing_plans
        .iter()
        .filter(|p| current(p.observed_at, period))
        .filter_map(|p| Some((p.account_id.clone()?, p.region.clone()?)))
        .collect();
    let missing: Vec<String> =
        acc.scopes.iter().filter(|s| !planned.contains(*s)).map(|(a, r)| format!("{a}/{r}")).collect();
    let status = if !collected(ev, ArtifactKind::RestoreTestingPlansSnapshot, period) {
        CheckStatus::NoData
    } else {
        status_by_share(acc.scopes.len() - missing.len(), acc.scopes.len())
    };
    let summary = if status == CheckStatus::NoData {
        "No restore-testing plan snapshot from the period was collected (list-restore-testing-plans, under a \
         folder named with the RFC 3339 time it was taken), or no backup job names its account and Region."
            .to_owned()
    } else {
        format!(
            "{} of {} account/Region pairs with backups have a restore testing plan{}.",
            acc.scopes.len() - missing.len(),
            acc.scopes.len(),
            if missing.is_empty() { String::new() } else { format!("; none in {}", missing.join(", ")) }
        )
    };
    push(
        "restore_testing_in_scope",
        "Restore testing is set up in every account and Region in use",
        status,
        summary,
        vec![("scopes", acc.scopes.len().to_string()), ("without_plan", missing.len().to_string())],
        missing,
        ev.restore_testing_plans.len() as u64,
        prov_set(ev.restore_testing_plans.iter().flat_map(|p| p.provenance.iter())),
    );

    // Restore-test results.
    let tests = acc.tests.len();
    let passed = acc.tests.iter().filter(|t| t.passed).count();
    let failed: Vec<String> = acc
        .tests
        .iter()
        .filter(|t| !t.passed)
        .map(|t| {
            format!(
                "{} {} {} validation {}",
                t.job_id,
                t.resource_arn.as_deref().unwrap_or("?"),
                t.state,
                t.validation.as_deref().unwrap_or("-")
            )
        })
        .collect();
    let (status, summary) = if tests == 0 {
        (CheckStatus::NoData, "No restore test ran in the period.".to_owned())
    } else {
        let rate = passed as f64 / tests as f64;
        let status = if rate >= th.restore_test_pass_rate { CheckStatus::Pass } else { CheckStatus::Fail };
        (
            status,
            format!(
                "{passed} of {tests} restore tests passed ({}; threshold {}): restored and validated successfully{}.",
                pct(rate),
                pct(th.restore_test_pass_rate),
                if failed.is_empty() {
                    String::new()
                } else {
                    format!("; {} failed or were not validated", failed.len())
                }
            ),
        )
    };
    push(
        "restore_test_results",
        "Restore tests succeed and their data is validated",
        status,
        summary,
        vec![("tests", tests.to_string()), ("passed", passed.to_string())],
        failed,
        tests as u64,
        acc.support.restores.clone(),
    );

    // RTO.
    let rto_breaches: Vec<_> = d.rto_breaches().collect();
    let mut durations: Vec<f64> = d.rto.iter().map(|r| r.2).collect();
    durations.sort_by(f64::total_cmp);
    let fmt = |v: Option<f64>| v.map(|x| format!("{:.2}", round2(x))).unwrap_or_default();
    let status = if d.rto.is_empty() {
        CheckStatus::NoData
    } else if rto_breaches.is_empty() {
        CheckStatus::Pass
    } else {
        CheckStatus::Fail
    };
    let summary = if d.rto.is_empty() {
        "No completed restore test of a resource with an RTO target (set rto_minutes).".to_owned()
    } else {
        format!(
            "{} of {} completed restore tests took longer than their RTO; durations p50 {} min, p95 {} min, max {} min.",
            rto_breaches.len(),
            d.rto.len(),
            fmt(nearest_rank(&durations, 50)),
            fmt(nearest_rank(&durations, 95)),
            fmt(durations.last().copied())
        )
    };
    push(
        "rto",
        "Restores finish within the RTO",
        status,
        summary,
        vec![
            ("tests_with_rto", d.rto.len().to_string()),
            ("breaches", rto_breaches.len().to_string()),
            ("p50_minutes", fmt(nearest_rank(&durations, 50))),
            ("p95_minutes", fmt(nearest_rank(&durations, 95))),
            ("max_minutes", fmt(durations.last().copied())),
        ],
        rto_breaches.iter().map(|(id, arn, dur, rto)| format!("{id} {arn} {:.2} min > RTO {rto} min", dur)).collect(),
        d.rto.len() as u64,
        acc.support.restores.clone(),
    );

    // Vault Lock on vaults holding recovery points, as a snapshot from the period shows them.
    let holding: Vec<_> = ev
        .vaults
        .iter()
        .filter(|v| current(v.observed_at, period))
        .filter(|v| v.number_of_recovery_points.unwrap_or(0) > 0 || acc.vaults_used.contains(&v.vault_arn))
        .collect();
    let seen: BTreeSet<&str> = holding.iter().map(|v| v.vault_arn.as_str()).collect();
    let unseen: Vec<String> = acc
        .vaults_used
        .iter()
        .filter(|v| !seen.contains(v.as_str()))
        .map(|v| format!("{v} written by backups of the period, but no snapshot of it from the period"))
        .collect();
    // A lock that became immutable only after the period did not protect it.
    let mode = |v: &&crate::evidence::model::Vault| match v.lock_date {
        Some(d) if v.locked == Some(true) && d > period.end => "compliance_grace",
        _ => v.lock_mode(),
    };
    let by_mode = |m: &str| holding.iter().filter(|v| mode(v) == m).count();
    let days = |d: Option<u64>| d.map_or("-".to_owned(), |d| d.to_string());
    let mut weak: Vec<String> = holding
        .iter()
        .filter(|v| mode(v) != "compliance")
        .map(|v| format!("{} lock {}", v.vault_arn, mode(v)))
        .collect();
    let retention: Vec<String> = holding
        .iter()
        .filter(|v| v.locked == Some(true))
        .map(|v| {
            format!(
                "{} {}–{} days",
                v.vault_name.as_deref().unwrap_or(&v.vault_arn),
                days(v.min_retention_days),
                days(v.max_retention_days)
            )
        })
        .collect();
    let shortest_min = holding.iter().filter(|v| v.locked == Some(true)).filter_map(|v| v.min_retention_days).min();
    let status = if holding.is_empty() {
        CheckStatus::NoData
    } else if by_mode("none") + by_mode("unknown") > 0 {
        CheckStatus::Fail
    } else if weak.is_empty() && unseen.is_empty() {
        CheckStatus::Pass
    } else {
        CheckStatus::Warn
    };
    let summary = if holding.is_empty() {
        "No snapshot from the period shows a vault holding recovery points (list-backup-vaults / \
         describe-backup-vault)."
            .to_owned()
    } else {
        format!(
            "Of {} vaults holding recovery points, {} are locked in compliance mode, {} in governance mode, {} still within the compliance grace time, {} not locked{}{}.",
            holding.len(),
            by_mode("compliance"),
            by_mode("governance"),
            by_mode("compliance_grace"),
            by_mode("none") + by_mode("unknown"),
            shortest_min.map(|d| format!("; locked vaults keep recovery points at least {d} days")).unwrap_or_default(),
            if unseen.is_empty() {
                String::new()
            } else {
                format!("; {} vaults written in the period have no snapshot from it", unseen.len())
            }
        )
    };
    weak.extend(unseen.iter().cloned());
    push(
        "vault_lock",
        "Backups are immutable (Vault Lock, compliance mode)",
        status,
        summary,
        vec![
            ("vaults", holding.len().to_string()),
            ("compliance", by_mode("compliance").to_string()),
            ("governance", by_mode("governance").to_string()),
            ("none", (by_mode("none") + by_mode("unknown")).to_string()),
            ("without_snapshot", unseen.len().to_string()),
            ("retention_min_max_days", retention.join("; ")),
        ],
        weak,
        holding.len() as u64,
        prov_set(holding.iter().flat_map(|v| v.provenance.iter())),
    );

    // Legal holds: informational (mapped to no requirement by default). It passes only when a
    // snapshot from the period shows an active hold; a snapshot alone proves nothing.
    let holds: Vec<_> = ev.legal_holds.iter().filter(|h| current(h.observed_at, period)).collect();
    let active: Vec<String> = holds
        .iter()
        .filter(|h| h.status.as_deref() == Some("ACTIVE"))
        .map(|h| format!("{} {}", h.legal_hold_id, h.title.as_deref().unwrap_or("")))
        .collect();
    let snapshot = collected(ev, ArtifactKind::LegalHoldsSnapshot, period);
    let status = if active.is_empty() { CheckStatus::NoData } else { CheckStatus::Pass };
    let summary = if !snapshot {
        "No legal-hold snapshot from the period was collected (list-legal-holds).".to_owned()
    } else if active.is_empty() {
        format!("No legal hold was active in the period's snapshots ({} recorded in all).", holds.len())
    } else {
        format!("{} legal holds recorded, {} active in the period's snapshots.", holds.len(), active.len())
    };
    push(
        "legal_holds",
        "Legal holds are recorded",
        status,
        summary,
        vec![("legal_holds", holds.len().to_string()), ("active", active.len().to_string())],
        active,
        holds.len() as u64,
        prov_set(holds.iter().flat_map(|h| h.provenance.iter())),
    );

    // Copies of targeted resources to another Region or account.
    let uncovered: Vec<String> = d
        .targeted
        .iter()
        .filter(|arn| acc.copies.get(*arn).is_none_or(|(region, account)| !region && !account))
        .cloned()
        .collect();
    let status = status_by_share(d.targeted.len() - uncovered.len(), d.targeted.len());
    let cross_region = d.targeted.iter().filter(|a| acc.copies.get(*a).is_some_and(|c| c.0)).count();
    let cross_account = d.targeted.iter().filter(|a| acc.copies.get(*a).is_some_and(|c| c.1)).count();
    let summary = if d.targeted.is_empty() {
        "No resource has a target, so copy coverage is not measured.".to_owned()
    } else {
        format!(
            "{} of {} targeted resources were copied to another Region or account in the period ({} cross-Region, {} cross-account); {} copy jobs failed.",
            d.targeted.len() - uncovered.len(),
            d.targeted.len(),
            cross_region,
            cross_account,
            acc.copy_failures.len()
        )
    };
    push(
        "copy_coverage",
        "Targeted resources have a copy in another Region or account",
        status,
        summary,
        vec![
            ("targeted", d.targeted.len().to_string()),
            ("cross_region", cross_region.to_string()),
            ("cross_account", cross_account.to_string()),
            ("copy_jobs_failed", acc.copy_failures.len().to_string()),
        ],
        uncovered,
        acc.copy.values().sum(),
        acc.support.copies.clone(),
    );

    // Alarms on failed jobs, with an action, in every account and Region in use. An alarm
    // reaches a person through its own enabled action or through a composite alarm whose rule
    // fires on its ALARM state (directly or through further composite alarms).
    const FAILED_METRICS: [&str; 3] =
        ["NumberOfBackupJobsFailed", "NumberOfCopyJobsFailed", "NumberOfRestoreJobsFailed"];
    let alarms: Vec<_> = ev.alarms.iter().filter(|a| current(a.observed_at, period)).collect();
    let reaching = alarms_reaching_a_person(&alarms);
    let reaches = |a: &&Alarm| reaching.contains(&alarm_key(a));
    let alerting: BTreeSet<(String, String)> = alarms
        .iter()
        .filter(|a| watches(a, "NumberOfBackupJobsFailed") && reaches(a))
        .filter_map(|a| Some((a.account_id.clone()?, a.region.clone()?)))
        .collect();
    let failure_alarms = alarms.iter().filter(|a| FAILED_METRICS.iter().any(|m| watches(a, m)));
    let without_action: Vec<String> = failure_alarms
        .clone()
        .filter(|a| !reaches(a))
        .map(|a| format!("alarm {} has no enabled action", a.alarm_name.as_deref().unwrap_or(&a.alarm_arn)))
        .collect();
    let unalerted: Vec<String> = acc
        .scopes
        .iter()
        .filter(|s| !alerting.contains(*s))
        .map(|(a, r)| format!("{a}/{r} has no failed-backup alarm with an action"))
        .collect();
    let status = if !collected(ev, ArtifactKind::MetricAlarmsSnapshot, period) {
        CheckStatus::NoData
    } else {
        status_by_share(acc.scopes.len() - unalerted.len(), acc.scopes.len())
    };
    let summary = if status == CheckStatus::NoData {
        "No CloudWatch alarm snapshot from the period was collected (describe-alarms), or no backup job \
         names its account and Region."
            .to_owned()
    } else {
        format!(
            "{} of {} account/Region pairs with backups alarm on failed backup jobs with an action; {} failure alarms have no enabled action.",
            acc.scopes.len() - unalerted.len(),
            acc.scopes.len(),
            without_action.len()
        )
    };
    let unalerted_count = unalerted.len();
    let mut exceptions = unalerted;
    exceptions.extend(without_action.iter().cloned());
    push(
        "failure_alarms",
        "Failed jobs raise an alert",
        status,
        summary,
        vec![
            ("scopes", acc.scopes.len().to_string()),
            ("alerting", (acc.scopes.len() - unalerted_count).to_string()),
            ("alarms_on_failures", failure_alarms.count().to_string()),
            ("without_action", without_action.len().to_string()),
        ],
        exceptions,
        alarms.len() as u64,
        prov_set(alarms.iter().flat_map(|a| a.provenance.iter())),
    );

    // Backup Audit Manager controls (latest evaluation in the period).
    let non_compliant: Vec<String> = acc
        .controls
        .values()
        .filter(|c| c.status != "COMPLIANT")
        .map(|c| format!("{} {} ({} resources non-compliant)", c.label, c.status, c.non_compliant))
        .collect();
    let status = status_by_share(acc.controls.len() - non_compliant.len(), acc.controls.len());
    let summary = if acc.controls.is_empty() {
        "No Backup Audit Manager control evaluation in the period (CONTROL_COMPLIANCE_REPORT).".to_owned()
    } else {
        format!(
            "{} of {} Backup Audit Manager controls were compliant at their latest evaluation in the period.",
            acc.controls.len() - non_compliant.len(),
            acc.controls.len()
        )
    };
    push(
        "backup_controls",
        "Backup Audit Manager controls are compliant",
        status,
        summary,
        vec![("controls", acc.controls.len().to_string()), ("non_compliant", non_compliant.len().to_string())],
        non_compliant,
        acc.controls.len() as u64,
        acc.support.controls.clone(),
    );

    // Encryption of backups: only records that say whether they are encrypted are evidence.
    let known = acc.encryption_known;
    let status = if known == 0 {
        CheckStatus::NoData
    } else if acc.unencrypted.is_empty() {
        CheckStatus::Pass
    } else {
        CheckStatus::Fail
    };
    let summary = if known == 0 {
        "No completed backup or recovery point of the period says whether it is encrypted (IsEncrypted).".to_owned()
    } else if acc.unencrypted.is_empty() {
        format!("All {known} completed backups and recovery points of the period that state it are encrypted.")
    } else {
        format!(
            "{} of {known} completed backups and recovery points of the period that state it are not encrypted.",
            acc.unencrypted.len()
        )
    };
    let mut arts = acc.support.backups.clone();
    arts.extend(acc.support.recovery_points.iter().copied());
    push(
        "encryption",
        "Backups are encrypted",
        status,
        summary,
        vec![("unencrypted", acc.unencrypted.len().to_string()), ("stating_encryption", known.to_string())],
        acc.unencrypted.clone(),
        known,
        arts,
    );

    // Audit Manager assessment reports, and AWS's own integrity check of them where
    // `collect` recorded one (matched by S3 URL, else by file name).
    let integrity_of = |r: &AssessmentReport| {
        let origin = r.provenance.first().map(|p| ev.artifacts[p.artifact as usize].artifact.origin.as_str())?;
        let url = origin.split('?').next().unwrap_or(origin);
        let name = |p: &str| p.rsplit(['/', '\\']).next().unwrap_or(p).to_owned();
        ev.report_integrity.iter().find(|i| i.s3_path == url).or_else(|| {
            let mut same = ev.report_integrity.iter().filter(|i| name(&i.s3_path) == name(url));
            let first = same.next();
            if same.next().is_some() { None } else { first }
        })
    };
    let failure = |i: &ReportIntegrity| i.validation_errors.clone().unwrap_or_else(|| "signature not valid".into());
    let mut incomplete: Vec<String> = Vec::new();
    let (mut validated, mut lacking) = (0usize, 0usize);
    let mut matched = BTreeSet::new();
    for r in &ev.assessment_reports {
        if !(r.has_summary_pdf && r.has_digest) {
            lacking += 1;
            incomplete.push(format!("{} lacks its summary PDF or digest", r.assessment_folder));
        }
        if let Some(i) = integrity_of(r) {
            matched.insert(i.s3_path.as_str());
            if i.signature_valid == Some(true) {
                validated += 1;
            } else {
                incomplete.push(format!("{}: AWS Audit Manager's integrity check failed ({})", i.s3_path, failure(i)));
            }
        }
    }
    // A report AWS found tampered with counts even when its zip is not in the package.
    let unconfirmed: Vec<&ReportIntegrity> =
        ev.report_integrity.iter().filter(|i| i.signature_valid != Some(true)).collect();
    for i in unconfirmed.iter().filter(|i| !matched.contains(i.s3_path.as_str())) {
        incomplete.push(format!(
            "{}: AWS Audit Manager's integrity check failed ({}); the zip is not among the inputs",
            i.s3_path,
            failure(i)
        ));
    }
    let total = ev.assessment_reports.len().max(ev.report_integrity.len());
    // A report whose signature AWS did not confirm fails the check outright.
    let status = if unconfirmed.is_empty() {
        status_by_share(ev.assessment_reports.len() - lacking, ev.assessment_reports.len())
    } else {
        CheckStatus::Fail
    };
    let summary = if ev.assessment_reports.is_empty() && ev.report_integrity.is_empty() {
        "No AWS Audit Manager assessment report was supplied.".to_owned()
    } else {
        let evidence: u64 = ev.assessment_reports.iter().map(|r| r.evidence_files).sum();
        let mut s = format!(
            "{} Audit Manager assessment reports kept and hashed member by member ({} evidence files).",
            ev.assessment_reports.len(),
            evidence
        );
        if !ev.report_integrity.is_empty() {
            s.push_str(&format!(
                " AWS Audit Manager confirmed the signature of {validated} of them (ValidateAssessmentReportIntegrity, recorded by collect)."
            ));
        }
        s
    };
    push(
        "audit_manager_reports",
        "Audit Manager assessment reports are kept",
        status,
        summary,
        vec![("reports", ev.assessment_reports.len().to_string()), ("aws_validated", validated.to_string())],
        incomplete,
        total as u64,
        prov_set(
            ev.assessment_reports
                .iter()
                .flat_map(|r| r.provenance.iter())
                .chain(ev.report_integrity.iter().flat_map(|i| i.provenance.iter())),
        ),
    );
    out
}

/// Whether an alarm watches this `AWS/Backup` metric (directly, in metric math or in a
/// Metrics Insights query).
fn watches(a: &Alarm, metric: &str) -> bool {
    a.backup_metrics.as_deref().is_some_and(|m| m.split(';').any(|x| x == metric))
        || (a.namespace.as_deref() == Some("AWS/Backup") && a.metric_name.as_deref() == Some(metric))
}

/// (account, Region, name): how a composite alarm's rule names an alarm.
fn alarm_key(a: &Alarm) -> (String, String, String) {
    let name = a.alarm_name.clone().unwrap_or_else(|| a.alarm_arn.rsplit(':').next().unwrap_or("").to_owned());
    (a.account_id.clone().unwrap_or_default(), a.region.clone().unwrap_or_default(), name)
}

/// The alarms whose ALARM state reaches an enabled action: their own, or that of a composite
/// alarm (in the same account and Region) whose rule fires on it, however deeply nested.
fn alarms_reaching_a_person(alarms: &[&Alarm]) -> BTreeSet<(String, String, String)> {
    let acts = |a: &Alarm| a.actions_enabled != Some(false) && a.alarm_actions.is_some();
    let mut reaching: BTreeSet<_> = alarms.iter().filter(|a| acts(a)).map(|a| alarm_key(a)).collect();
    // Walk down from alarms with an action: whatever a reaching composite fires on reaches too.
    loop {
        let fired: Vec<(String, String, String)> = alarms
            .iter()
            .filter(|a| a.alarm_rule.is_some() && reaching.contains(&alarm_key(a)))
            .flat_map(|c| {
                let (account, region, _) = alarm_key(c);
                crate::alarm_rule::references(c.alarm_rule.as_deref().unwrap_or(""))
                    .into_iter()
                    .filter(|r| r.on_alarm)
                    .map(move |r| (account.clone(), region.clone(), r.name))
            })
            .collect();
        let before = reaching.len();
        reaching.extend(fired);
        if reaching.len() == before {
            return reaching;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifact::{Artifact, Sha256Digest};
    use crate::evidence::Format;
    use crate::evidence::model::{Alarm, ControlResult, Job, JobKind, Vault};
    use crate::evidence::{ArtifactEntry, Record};
    use crate::time::Timestamp;

    fn ts(s: &str) -> Option<Timestamp> {
        Some(Timestamp::parse(s).unwrap())
    }

    fn artifact(kind: ArtifactKind) -> ArtifactEntry {
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
        checks.iter().find(|c| c.id == id).unwrap()
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
    fn every_check_runs_and_reports_missing_evidence_as_no_data() {
        let checks = run_checks(&[], &Evidence::empty(), "");
        let ids: Vec<&str> = checks.iter().map(|c| c.id).collect();
        assert_eq!(ids, CHECK_IDS);
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
