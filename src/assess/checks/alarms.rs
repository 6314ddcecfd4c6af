//! The alerting check: an alarm on failed backup jobs, reaching a person, in every account and
//! Region in use.
//!
//! An alarm reaches a person through its own enabled action or through a composite alarm whose
//! rule fires on its ALARM state (directly or through further composite alarms).

use std::collections::{BTreeMap, BTreeSet};

use super::{CheckId, CheckResult, CheckStatus, Inputs, prov_set};
use crate::evidence::ArtifactKind;
use crate::evidence::alerts::FailureKind;
use crate::evidence::model::Alarm;

/// The `AWS/Backup` metric whose alarm makes an account and Region alerting.
const BACKUP_JOBS_FAILED: &str = "NumberOfBackupJobsFailed";

/// The `AWS/Backup` metrics that count failed jobs.
const FAILURE_METRICS: [&str; 3] = [BACKUP_JOBS_FAILED, "NumberOfCopyJobsFailed", "NumberOfRestoreJobsFailed"];

/// The `AWS/Backup` metric that counts failed jobs of a kind.
pub(super) fn failure_metric(kind: FailureKind) -> &'static str {
    match kind {
        FailureKind::Backup => FAILURE_METRICS[0],
        FailureKind::Copy => FAILURE_METRICS[1],
        FailureKind::Restore => FAILURE_METRICS[2],
    }
}

/// Whether an alarm watches this `AWS/Backup` metric (directly, in metric math or in a
/// Metrics Insights query).
pub(super) fn watches(a: &Alarm, metric: &str) -> bool {
    a.backup_metrics.as_deref().is_some_and(|m| m.split(';').any(|x| x == metric))
        || (a.namespace.as_deref() == Some("AWS/Backup") && a.metric_name.as_deref() == Some(metric))
}

/// How a composite alarm's rule names an alarm: by name, within its own account and Region.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct AlarmKey {
    account: String,
    region: String,
    name: String,
}

impl AlarmKey {
    /// The key of an alarm: its account, Region and name (else the end of its ARN).
    pub(super) fn of(a: &Alarm) -> AlarmKey {
        let name = a.alarm_name.clone().unwrap_or_else(|| a.alarm_arn.rsplit(':').next().unwrap_or("").to_owned());
        AlarmKey {
            account: a.account_id.clone().unwrap_or_default(),
            region: a.region.clone().unwrap_or_default(),
            name,
        }
    }
}

/// Alarms on failed jobs, with an action, in every account and Region in use.
pub(super) fn failure_alarms(cx: &Inputs<'_>) -> CheckResult {
    let scopes = &cx.acc.scopes;
    let alarms: Vec<&Alarm> = cx.ev.alarms.iter().filter(|a| cx.current(a.observed_at)).collect();
    let reaching = alarm_destinations(&alarms);
    let reaches = |a: &Alarm| reaching.contains_key(&AlarmKey::of(a));
    let alerting: BTreeSet<(String, String)> = alarms
        .iter()
        .filter(|a| watches(a, BACKUP_JOBS_FAILED) && reaches(a))
        .filter_map(|a| Some((a.account_id.clone()?, a.region.clone()?)))
        .collect();
    let on_failures: Vec<&Alarm> =
        alarms.iter().copied().filter(|a| FAILURE_METRICS.iter().any(|m| watches(a, m))).collect();
    let without_action: Vec<String> = on_failures
        .iter()
        .filter(|a| !reaches(a))
        .map(|a| format!("alarm {} has no enabled action", a.alarm_name.as_deref().unwrap_or(&a.alarm_arn)))
        .collect();
    let unalerted: Vec<String> = scopes
        .iter()
        .filter(|s| !alerting.contains(*s))
        .map(|(a, r)| format!("{a}/{r} has no failed-backup alarm with an action"))
        .collect();
    let status = cx.status_over_scopes(ArtifactKind::MetricAlarmsSnapshot, unalerted.len());
    let alerting_count = scopes.len() - unalerted.len();
    let summary = if status == CheckStatus::NoData {
        "No CloudWatch alarm snapshot from the period was collected (describe-alarms), or no backup job \
         names its account and Region."
            .to_owned()
    } else {
        format!(
            "{alerting_count} of {} account/Region pairs with backups alarm on failed backup jobs with an action; \
             {} failure alarms have no enabled action.",
            scopes.len(),
            without_action.len()
        )
    };
    let figures = BTreeMap::from([
        ("scopes", scopes.len().to_string()),
        ("alerting", alerting_count.to_string()),
        ("alarms_on_failures", on_failures.len().to_string()),
        ("without_action", without_action.len().to_string()),
    ]);
    CheckResult {
        resources: Vec::new(),
        id: CheckId::FailureAlarms,
        title: "Failed jobs raise an alert",
        status,
        summary,
        key_figure: format!("{alerting_count}/{} scopes alerting", scopes.len()),
        figures,
        exceptions: unalerted.into_iter().chain(without_action).collect(),
        records: alarms.len() as u64,
        artifacts: prov_set(alarms.iter().flat_map(|a| a.provenance.iter())),
    }
}

/// The alarms whose ALARM state reaches an enabled action — their own, or that of a composite
/// alarm (in the same account and Region) whose rule fires on it, however deeply nested —
/// each with those actions (an alarm with enabled but empty actions is present, with none).
pub(super) fn alarm_destinations(alarms: &[&Alarm]) -> BTreeMap<AlarmKey, BTreeSet<String>> {
    let acts = |a: &Alarm| a.actions_enabled != Some(false) && a.alarm_actions.is_some();
    let actions = |a: &Alarm| -> BTreeSet<String> {
        a.alarm_actions.as_deref().unwrap_or("").split(';').filter(|x| !x.is_empty()).map(str::to_owned).collect()
    };
    let mut reaching: BTreeMap<AlarmKey, BTreeSet<String>> =
        alarms.iter().filter(|a| acts(a)).map(|a| (AlarmKey::of(a), actions(a))).collect();
    // Walk down from alarms with an action: whatever a reaching composite fires on reaches
    // too, with the composite's actions; sets only grow, so the walk ends.
    loop {
        let mut grew = false;
        for c in alarms.iter().filter(|a| a.alarm_rule.is_some()) {
            let key = AlarmKey::of(c);
            let Some(carried) = reaching.get(&key).cloned() else { continue };
            for r in
                crate::alarm_rule::references(c.alarm_rule.as_deref().unwrap_or("")).into_iter().filter(|r| r.on_alarm)
            {
                let fired = AlarmKey { account: key.account.clone(), region: key.region.clone(), name: r.name };
                let new = !reaching.contains_key(&fired);
                let known = reaching.entry(fired).or_default();
                let before = known.len();
                known.extend(carried.iter().cloned());
                grew |= new || known.len() > before;
            }
        }
        if !grew {
            return reaching;
        }
    }
}
