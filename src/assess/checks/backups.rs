//! Checks on the backups themselves: do they complete, keep each resource within its RPO, get
//! copied off-site, and say that they are encrypted.

use std::collections::BTreeMap;

use super::{CheckId, CheckResult, CheckStatus, Inputs, count, pct, status_by_breaches, status_by_share};
use crate::assess::{Failure, RpoResult};

/// Completed / finished backup jobs against the threshold; failures grouped by cause.
pub(super) fn backup_success(cx: &Inputs<'_>) -> CheckResult {
    let acc = cx.acc;
    let threshold = cx.config.thresholds.backup_success_rate;
    let (completed, finished, total) = (acc.backup_count("COMPLETED"), acc.backups_finished(), acc.backups_total());
    let causes = causes(&acc.failures);
    let (status, summary) = if finished == 0 {
        (CheckStatus::NoData, "No finished backup job in the period.".to_owned())
    } else {
        let rate = completed as f64 / finished as f64;
        let status = if rate >= threshold { CheckStatus::Pass } else { CheckStatus::Fail };
        let mut s = format!(
            "{completed} of {finished} finished backup jobs completed ({}; threshold {})",
            pct(rate),
            pct(threshold)
        );
        if acc.failures.is_empty() {
            s.push('.');
        } else {
            s.push_str(&format!("; {} did not complete, by cause: {causes}.", acc.failures.len()));
        }
        (status, s)
    };
    CheckResult {
        resources: Vec::new(),
        id: CheckId::BackupSuccess,
        title: "Backups run and complete",
        status,
        summary,
        key_figure: format!("{completed}/{finished} backups completed"),
        figures: BTreeMap::from([
            ("jobs_in_period", total.to_string()),
            ("completed", completed.to_string()),
            ("finished", finished.to_string()),
            ("not_completed", acc.failures.len().to_string()),
            ("causes", causes),
        ]),
        exceptions: acc
            .failures
            .iter()
            .map(|f| format!("{} {} {} [{}] {}", f.job_id, f.state, f.resource_arn, f.category, f.message))
            .collect(),
        records: total,
        artifacts: acc.support.backups.clone(),
    }
}

/// `Cause ×n, …` over the failures, causes in name order.
fn causes(failures: &[Failure]) -> String {
    let mut causes: BTreeMap<&str, u64> = BTreeMap::new();
    for f in failures {
        *causes.entry(f.category.as_str()).or_default() += 1;
    }
    causes.iter().map(|(c, n)| format!("{c} ×{n}")).collect::<Vec<_>>().join(", ")
}

/// Resources whose newest recovery point grew older than their RPO during the period.
pub(super) fn rpo(cx: &Inputs<'_>) -> CheckResult {
    let d = cx.derived;
    let breaches: Vec<&RpoResult> = d.rpo_breaches().collect();
    let summary = if d.rpo.is_empty() {
        "No resource has an RPO target (set rpo_hours in dora-evidence.toml).".to_owned()
    } else {
        format!(
            "{} of {} with an RPO target let the age of their newest recovery point exceed their RPO \
             during the period{}.",
            breaches.len(),
            count(d.rpo.len(), "resource", "resources"),
            if breaches.iter().any(|b| b.exposure_hours.is_none()) {
                " (including resources with no completed backup)"
            } else {
                ""
            }
        )
    };
    CheckResult {
        resources: Vec::new(),
        id: CheckId::Rpo,
        title: "Recovery points meet the RPO",
        status: status_by_breaches(!d.rpo.is_empty(), breaches.len()),
        summary,
        key_figure: format!("{}/{} resources over RPO", breaches.len(), d.rpo.len()),
        figures: BTreeMap::from([
            ("resources_with_rpo", d.rpo.len().to_string()),
            ("breaches", breaches.len().to_string()),
        ]),
        exceptions: breaches
            .iter()
            .map(|b| match b.exposure_hours {
                Some(g) => format!("{} longest exposure {g:.1} h > RPO {} h", b.resource, b.rpo_hours),
                None => format!("{} no completed backup in the period (RPO {} h)", b.resource, b.rpo_hours),
            })
            .collect(),
        records: d.rpo.len() as u64,
        artifacts: cx.acc.support.backups.clone(),
    }
}

/// Targeted resources copied to another Region or account by a completed copy job.
pub(super) fn copy_coverage(cx: &Inputs<'_>) -> CheckResult {
    let (acc, targeted) = (cx.acc, &cx.derived.targeted);
    let reach = |arn: &str| acc.copies.get(arn).copied().unwrap_or_default();
    let uncovered: Vec<String> = targeted.iter().filter(|arn| !reach(arn).off_site()).cloned().collect();
    let covered = targeted.len() - uncovered.len();
    let cross_region = targeted.iter().filter(|a| reach(a).other_region).count();
    let cross_account = targeted.iter().filter(|a| reach(a).other_account).count();
    let summary = if targeted.is_empty() {
        "No resource has a target, so copy coverage is not measured.".to_owned()
    } else {
        format!(
            "{covered} of {} targeted resources were copied to another Region or account in the period \
             ({cross_region} cross-Region, {cross_account} cross-account); {} copy jobs failed.",
            targeted.len(),
            acc.copy_failures.len()
        )
    };
    CheckResult {
        resources: Vec::new(),
        id: CheckId::CopyCoverage,
        title: "Targeted resources have a copy in another Region or account",
        status: status_by_share(covered, targeted.len()),
        summary,
        key_figure: format!("{covered}/{} copied off-site", targeted.len()),
        figures: BTreeMap::from([
            ("targeted", targeted.len().to_string()),
            ("cross_region", cross_region.to_string()),
            ("cross_account", cross_account.to_string()),
            ("copy_jobs_failed", acc.copy_failures.len().to_string()),
        ]),
        exceptions: uncovered,
        records: acc.copy.values().sum(),
        artifacts: acc.support.copies.clone(),
    }
}

/// Encryption of backups: only records that say whether they are encrypted are evidence.
pub(super) fn encryption(cx: &Inputs<'_>) -> CheckResult {
    let acc = cx.acc;
    let (known, unencrypted) = (acc.encryption_known, acc.unencrypted.len());
    let summary = if known == 0 {
        "No completed backup or recovery point of the period says whether it is encrypted (IsEncrypted).".to_owned()
    } else if unencrypted == 0 {
        format!("All {known} completed backups and recovery points of the period that state it are encrypted.")
    } else {
        format!(
            "{unencrypted} of {known} completed backups and recovery points of the period that state it are not encrypted."
        )
    };
    let mut artifacts = acc.support.backups.clone();
    artifacts.extend(acc.support.recovery_points.iter().copied());
    CheckResult {
        resources: Vec::new(),
        id: CheckId::Encryption,
        title: "Backups are encrypted",
        status: status_by_breaches(known > 0, unencrypted),
        summary,
        key_figure: format!("{unencrypted} unencrypted"),
        figures: BTreeMap::from([("unencrypted", unencrypted.to_string()), ("stating_encryption", known.to_string())]),
        exceptions: acc.unencrypted.iter().map(|u| u.text.clone()).collect(),
        records: known,
        artifacts,
    }
}
