//! Checks on restoring: are the candidates tested, is restore testing set up everywhere
//! backups run, do the tests pass, and do restores finish within the RTO.

use std::collections::{BTreeMap, BTreeSet};

use super::{CheckId, CheckResult, CheckStatus, Inputs, pct, prov_set, status_by_breaches, status_by_share};
use crate::assess::{RtoResult, TestFact, nearest_rank, round2};
use crate::evidence::ArtifactKind;

/// Resources with the candidate tag that had a passing restore test in the period.
pub(super) fn candidates_tested(cx: &Inputs<'_>) -> CheckResult {
    let d = cx.derived;
    let (candidates, untested) = (d.candidates.len(), d.untested.len());
    let summary = if candidates == 0 {
        format!("No resource carries the candidate tag {}={}.", cx.config.candidate_tag.0, cx.config.candidate_tag.1)
    } else {
        format!(
            "{} of {candidates} restore-testing candidates had a passing restore test in the period; {untested} had none.",
            candidates - untested
        )
    };
    CheckResult {
        resources: Vec::new(),
        id: CheckId::CandidatesTested,
        title: "Every restore-testing candidate was restored successfully",
        status: status_by_share(candidates - untested, candidates),
        summary,
        key_figure: format!("{untested}/{candidates} candidates untested"),
        figures: BTreeMap::from([("candidates", candidates.to_string()), ("untested", untested.to_string())]),
        exceptions: d.untested.clone(),
        records: candidates as u64,
        artifacts: cx.acc.support.restores.clone(),
    }
}

/// A restore testing plan in every account and Region in use, per a snapshot from the period.
pub(super) fn restore_testing_in_scope(cx: &Inputs<'_>) -> CheckResult {
    let (scopes, plans) = (&cx.acc.scopes, &cx.ev.restore_testing_plans);
    let planned: BTreeSet<(String, String)> = plans
        .iter()
        .filter(|p| cx.current(p.observed_at))
        .filter_map(|p| Some((p.account_id.clone()?, p.region.clone()?)))
        .collect();
    let missing: Vec<String> =
        scopes.iter().filter(|s| !planned.contains(*s)).map(|(a, r)| format!("{a}/{r}")).collect();
    let status = cx.status_over_scopes(ArtifactKind::RestoreTestingPlansSnapshot, missing.len());
    let summary = if status == CheckStatus::NoData {
        "No restore-testing plan snapshot from the period was collected (list-restore-testing-plans, under a \
         folder named with the RFC 3339 time it was taken), or no backup job names its account and Region."
            .to_owned()
    } else {
        format!(
            "{} of {} account/Region pairs with backups have a restore testing plan{}.",
            scopes.len() - missing.len(),
            scopes.len(),
            if missing.is_empty() { String::new() } else { format!("; none in {}", missing.join(", ")) }
        )
    };
    CheckResult {
        resources: Vec::new(),
        id: CheckId::RestoreTestingInScope,
        title: "Restore testing is set up in every account and Region in use",
        status,
        summary,
        key_figure: format!("{}/{} scopes without plan", missing.len(), scopes.len()),
        figures: BTreeMap::from([("scopes", scopes.len().to_string()), ("without_plan", missing.len().to_string())]),
        exceptions: missing,
        records: plans.len() as u64,
        artifacts: prov_set(plans.iter().flat_map(|p| p.provenance.iter())),
    }
}

/// Restore tests that completed and whose validation succeeded, against the threshold.
pub(super) fn restore_test_results(cx: &Inputs<'_>) -> CheckResult {
    let (all, threshold) = (&cx.acc.tests, cx.config.thresholds.restore_test_pass_rate);
    let (tests, passed) = (all.len(), all.iter().filter(|t| t.passed).count());
    let failed: Vec<String> = all.iter().filter(|t| !t.passed).map(describe_failed).collect();
    let (status, summary) = if tests == 0 {
        (CheckStatus::NoData, "No restore test ran in the period.".to_owned())
    } else {
        let rate = passed as f64 / tests as f64;
        let status = if rate >= threshold { CheckStatus::Pass } else { CheckStatus::Fail };
        let not_passed =
            if failed.is_empty() { String::new() } else { format!("; {} failed or were not validated", failed.len()) };
        let summary = format!(
            "{passed} of {tests} restore tests passed ({}; threshold {}): restored and validated successfully{not_passed}.",
            pct(rate),
            pct(threshold)
        );
        (status, summary)
    };
    CheckResult {
        resources: Vec::new(),
        id: CheckId::RestoreTestResults,
        title: "Restore tests succeed and their data is validated",
        status,
        summary,
        key_figure: format!("{passed}/{tests} restore tests passed"),
        figures: BTreeMap::from([("tests", tests.to_string()), ("passed", passed.to_string())]),
        exceptions: failed,
        records: tests as u64,
        artifacts: cx.acc.support.restores.clone(),
    }
}

/// `job resource state validation …` for a test that did not pass.
fn describe_failed(t: &TestFact) -> String {
    format!(
        "{} {} {} validation {}",
        t.job_id,
        t.resource_arn.as_deref().unwrap_or("?"),
        t.state,
        t.validation.as_deref().unwrap_or("-")
    )
}

/// Completed restore tests of resources with an RTO target that took longer than it.
pub(super) fn rto(cx: &Inputs<'_>) -> CheckResult {
    let d = cx.derived;
    let breaches: Vec<&RtoResult> = d.rto_breaches().collect();
    let mut durations: Vec<f64> = d.rto.iter().map(|r| r.minutes).collect();
    durations.sort_by(f64::total_cmp);
    let fmt = |v: Option<f64>| v.map(|x| format!("{:.2}", round2(x))).unwrap_or_default();
    let (p50, p95, max) =
        (fmt(nearest_rank(&durations, 50)), fmt(nearest_rank(&durations, 95)), fmt(durations.last().copied()));
    let summary = if d.rto.is_empty() {
        "No completed restore test of a resource with an RTO target (set rto_minutes).".to_owned()
    } else {
        format!(
            "{} of {} completed restore tests took longer than their RTO; durations p50 {p50} min, p95 {p95} min, \
             max {max} min.",
            breaches.len(),
            d.rto.len()
        )
    };
    CheckResult {
        resources: Vec::new(),
        id: CheckId::Rto,
        title: "Restores finish within the RTO",
        status: status_by_breaches(!d.rto.is_empty(), breaches.len()),
        summary,
        key_figure: format!("{}/{} restores over RTO", breaches.len(), d.rto.len()),
        figures: BTreeMap::from([
            ("tests_with_rto", d.rto.len().to_string()),
            ("breaches", breaches.len().to_string()),
            ("p50_minutes", p50),
            ("p95_minutes", p95),
            ("max_minutes", max),
        ]),
        exceptions: breaches
            .iter()
            .map(|r| format!("{} {} {:.2} min > RTO {} min", r.job_id, r.resource, r.minutes, r.rto_minutes))
            .collect(),
        records: d.rto.len() as u64,
        artifacts: cx.acc.support.restores.clone(),
    }
}
