//! Checks on compliance reports: Backup Audit Manager control evaluations, and AWS Audit
//! Manager assessment reports with AWS's own integrity check of them.

use std::collections::{BTreeMap, BTreeSet};

use super::{CheckId, CheckResult, CheckStatus, Inputs, count, prov_set, status_by_share};
use crate::evidence::Evidence;
use crate::evidence::model::{AssessmentReport, ReportIntegrity};

/// Backup Audit Manager controls at their latest evaluation in the period.
pub(super) fn backup_controls(cx: &Inputs<'_>) -> CheckResult {
    let controls = &cx.acc.controls;
    let non_compliant: Vec<String> = controls
        .values()
        .filter(|c| c.status != "COMPLIANT")
        .map(|c| {
            let n = count(c.non_compliant as usize, "resource", "resources");
            format!("{} {} ({n} non-compliant)", c.label, c.status)
        })
        .collect();
    let summary = if controls.is_empty() {
        "No Backup Audit Manager control evaluation in the period (CONTROL_COMPLIANCE_REPORT).".to_owned()
    } else {
        format!(
            "{} of {} Backup Audit Manager controls were compliant at their latest evaluation in the period.",
            controls.len() - non_compliant.len(),
            controls.len()
        )
    };
    CheckResult {
        resources: Vec::new(),
        id: CheckId::BackupControls,
        title: "Backup Audit Manager controls are compliant",
        status: status_by_share(controls.len() - non_compliant.len(), controls.len()),
        summary,
        key_figure: format!("{}/{} controls non-compliant", non_compliant.len(), controls.len()),
        figures: BTreeMap::from([
            ("controls", controls.len().to_string()),
            ("non_compliant", non_compliant.len().to_string()),
        ]),
        exceptions: non_compliant,
        records: controls.len() as u64,
        artifacts: cx.acc.support.controls.clone(),
    }
}

/// What the assessment reports and their integrity results amount to.
#[derive(Default)]
struct ReportReview {
    /// Reports whose signature AWS confirmed.
    validated: usize,
    /// Reports lacking their summary PDF or digest.
    lacking: usize,
    /// One line per problem.
    problems: Vec<String>,
    /// Whether some integrity result did not confirm a signature.
    unconfirmed: bool,
}

/// Each report with its integrity result (matched by S3 URL, else by file name), and the
/// failed integrity results of zips that are not among the inputs.
fn review(ev: &Evidence) -> ReportReview {
    let failure = |i: &ReportIntegrity| i.validation_errors.clone().unwrap_or_else(|| "signature not valid".into());
    let mut out = ReportReview::default();
    let mut matched = BTreeSet::new();
    for r in &ev.assessment_reports {
        if !(r.has_summary_pdf && r.has_digest) {
            out.lacking += 1;
            out.problems.push(format!("{} lacks its summary PDF or digest", r.assessment_folder));
        }
        if let Some(i) = integrity_of(ev, r) {
            matched.insert(i.s3_path.as_str());
            if i.signature_valid == Some(true) {
                out.validated += 1;
            } else {
                out.problems.push(format!(
                    "{}: AWS Audit Manager's integrity check failed ({})",
                    i.s3_path,
                    failure(i)
                ));
            }
        }
    }
    // A report AWS found tampered with counts even when its zip is not in the package.
    for i in ev.report_integrity.iter().filter(|i| i.signature_valid != Some(true)) {
        out.unconfirmed = true;
        if !matched.contains(i.s3_path.as_str()) {
            out.problems.push(format!(
                "{}: AWS Audit Manager's integrity check failed ({}); the zip is not among the inputs",
                i.s3_path,
                failure(i)
            ));
        }
    }
    out
}

/// AWS's integrity result for a report: the one for its S3 URL, else the only one with its
/// file name (a zip downloaded by hand).
fn integrity_of<'a>(ev: &'a Evidence, r: &AssessmentReport) -> Option<&'a ReportIntegrity> {
    let origin = r.provenance.first().map(|p| ev.artifacts[p.artifact as usize].artifact.origin.as_str())?;
    let url = origin.split('?').next().unwrap_or(origin);
    let name = |p: &str| p.rsplit(['/', '\\']).next().unwrap_or(p).to_owned();
    ev.report_integrity.iter().find(|i| i.s3_path == url).or_else(|| {
        let mut same = ev.report_integrity.iter().filter(|i| name(&i.s3_path) == name(url));
        let first = same.next();
        if same.next().is_some() { None } else { first }
    })
}

/// Audit Manager assessment reports, and AWS's own integrity check of them where `collect`
/// recorded one.
pub(super) fn audit_manager_reports(cx: &Inputs<'_>) -> CheckResult {
    let (reports, integrity) = (&cx.ev.assessment_reports, &cx.ev.report_integrity);
    let review = review(cx.ev);
    // A report whose signature AWS did not confirm fails the check outright.
    let status = if review.unconfirmed {
        CheckStatus::Fail
    } else {
        status_by_share(reports.len() - review.lacking, reports.len())
    };
    let summary = if reports.is_empty() && integrity.is_empty() {
        "No AWS Audit Manager assessment report was supplied.".to_owned()
    } else {
        let evidence: u64 = reports.iter().map(|r| r.evidence_files).sum();
        let mut s = format!(
            "{} kept and hashed member by member ({evidence} evidence files).",
            count(reports.len(), "Audit Manager assessment report", "Audit Manager assessment reports")
        );
        if !integrity.is_empty() {
            s.push_str(&format!(
                " AWS Audit Manager confirmed the signature of {} of them (ValidateAssessmentReportIntegrity, \
                 recorded by collect).",
                review.validated
            ));
        }
        s
    };
    let provenance = reports.iter().flat_map(|r| r.provenance.iter());
    CheckResult {
        resources: Vec::new(),
        id: CheckId::AuditManagerReports,
        title: "Audit Manager assessment reports are kept",
        status,
        summary,
        key_figure: count(reports.len(), "report", "reports"),
        figures: BTreeMap::from([
            ("reports", reports.len().to_string()),
            ("aws_validated", review.validated.to_string()),
        ]),
        exceptions: review.problems,
        records: reports.len().max(integrity.len()) as u64,
        artifacts: prov_set(provenance.chain(integrity.iter().flat_map(|i| i.provenance.iter()))),
    }
}
