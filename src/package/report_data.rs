//! The report's `data.json` as a type: what the Typst template (`report-templates/report.typ`)
//! reads. It lives only inside the PDF's build (not a package file), so its members follow
//! the template; the PDF's bytes depend on them, so it is written through a
//! `serde_json::Value` (keys sorted at every level), compact.

use serde::{Deserialize, Serialize};

use super::findings::RequirementEntry;
use super::manifest::{EvidenceGap, Manifest};
use crate::assess::checks::{AlertPath, AlertScope, CheckId, CheckStatus};
use crate::assess::mapping::Status;
use crate::assess::{Assessment, DurationRow, Metrics, RestoreTestRow};
use crate::evidence::Evidence;
use crate::render::Attachment;

/// Exceptions listed per check in the PDF (all are in findings.json).
const MAX_EXCEPTIONS: usize = 25;
/// Restore tests listed in the PDF.
const MAX_TESTS: usize = 400;
/// Rows of each backup-policy table in the report.
const MAX_POLICY_ROWS: usize = 200;
/// Artifacts listed in the PDF's appendix (all are in artifacts.csv): laying out tens of
/// thousands of lines costs gigabytes.
const MAX_LISTED: usize = 2_000;
/// Rows of the per-account × Region table in the report, the worst (all are in
/// `account_regions.csv`).
const MAX_SCOPE_ROWS: usize = 500;
/// Alert paths carried into the report's data (all are in `evidence/alert_paths.csv`).
const MAX_ALERT_PATHS: usize = 2_000;

/// The whole document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)] // members repeat the manifest's or are described on their types
pub struct ReportData {
    pub entity: String,
    pub period: String,
    pub period_start: String,
    pub period_end: String,
    pub generated_at: String,
    /// `dora-evidence <version>`.
    pub tool: String,
    pub semantics: u32,
    pub ict_risk_framework: String,
    pub empty: Option<String>,
    /// How many input folders were skipped.
    pub skipped_inputs: usize,
    pub evidence_gaps: Vec<EvidenceGap>,
    pub package_id: String,
    pub manifest_sha256: String,
    pub partial: bool,
    pub counts: StatusCounts,
    pub findings: Vec<ReportFinding>,
    pub checks: Vec<ReportCheck>,
    pub metrics: Metrics,
    pub weekly: Vec<Week>,
    pub restore_durations: Vec<DurationRow>,
    /// The first [`MAX_TESTS`].
    pub restore_tests: Vec<RestoreTestRow>,
    pub restore_tests_total: usize,
    /// The period's backup plan rules and targeted resources (the first [`MAX_POLICY_ROWS`]
    /// of each; all in `backup_policy*.csv`).
    pub backup_policy: crate::assess::checks::BackupPolicy,
    pub backup_policy_rules_total: usize,
    pub backup_policy_targets_total: usize,
    /// Per account and Region in use: whether failed jobs reach a person, and through what.
    pub alert_scopes: Vec<AlertScope>,
    /// The rows of `evidence/alert_paths.csv`, the first [`MAX_ALERT_PATHS`].
    pub alert_paths: Vec<AlertPath>,
    /// The first [`MAX_LISTED`], those that failed to parse first.
    pub artifacts: Vec<ArtifactRow>,
    pub artifacts_total: usize,
    pub artifacts_failed: usize,
    pub artifacts_unclassified: usize,
    pub attachments: Vec<AttachmentRow>,
    pub omitted_attachments: Vec<String>,
    /// The per-account × Region view, worst first: the first [`MAX_SCOPE_ROWS`] (all in
    /// `account_regions.csv`).
    pub account_regions: Vec<crate::assess::scopes::ScopeRow>,
    pub account_regions_total: usize,
}

/// Requirements per status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct StatusCounts {
    pub satisfied: usize,
    pub partially_satisfied: usize,
    pub not_satisfied: usize,
    pub no_evidence: usize,
    pub not_applicable: usize,
}

/// A requirement's row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct ReportFinding {
    /// As `findings.json` gives it.
    #[serde(flatten)]
    pub requirement: RequirementEntry,
    /// The key figures of its checks, joined with ` · `.
    pub key_figure: String,
}

/// A check's section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct ReportCheck {
    pub id: CheckId,
    pub title: String,
    pub status: CheckStatus,
    pub summary: String,
    /// The first [`MAX_EXCEPTIONS`].
    pub exceptions: Vec<String>,
    pub exceptions_total: usize,
}

/// Backup jobs of one week by outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct Week {
    /// `MM-DD` of its Monday.
    pub week: String,
    pub completed: u64,
    pub failed: u64,
    pub other: u64,
}

/// An artifact of the appendix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct ArtifactRow {
    pub origin: String,
    pub sha256: String,
    pub kind: String,
    pub status: String,
}

/// A file attached to the PDF.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct AttachmentRow {
    pub name: String,
    pub mime: String,
    pub description: String,
}

/// What the report is made of besides the manifest.
#[derive(Debug, Clone, Copy)]
pub struct ReportInputs<'a> {
    /// SHA-256 of `manifest.json`, cited on the cover.
    pub manifest_sha: &'a str,
    /// The entity's name as shown.
    pub entity: &'a str,
    /// The assessment.
    pub assessment: &'a Assessment,
    /// The evidence.
    pub evidence: &'a Evidence,
    /// Files attached to the PDF.
    pub attached: &'a [Attachment],
    /// Files left out of the PDF for size.
    pub omitted: &'a [String],
}

impl ReportData {
    /// The data for a package with manifest `m`.
    pub fn new(m: &Manifest, r: ReportInputs<'_>) -> Self {
        let (a, ev) = (r.assessment, r.evidence);
        let status = |s: &str| ev.artifacts.iter().filter(|x| x.parse_status() == s).count();
        ReportData {
            entity: r.entity.into(),
            period: m.period.clone(),
            period_start: m.period_start.clone(),
            period_end: m.period_end.clone(),
            generated_at: m.generated_at.clone(),
            tool: format!("{} {}", env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION")),
            semantics: m.semantics,
            ict_risk_framework: m.ict_risk_framework.clone(),
            empty: m.empty.clone(),
            skipped_inputs: m.skipped_inputs.len(),
            evidence_gaps: m.evidence_gaps.clone(),
            package_id: m.package_id.clone(),
            manifest_sha256: r.manifest_sha.into(),
            partial: ev.is_partial(),
            counts: counts(a),
            findings: a.findings.iter().map(|f| finding(a, f)).collect(),
            checks: a.checks.iter().map(check).collect(),
            metrics: a.metrics.clone(),
            weekly: a
                .weekly
                .iter()
                .map(|(week, completed, failed, other)| Week {
                    week: week.clone(),
                    completed: *completed,
                    failed: *failed,
                    other: *other,
                })
                .collect(),
            restore_durations: a.restore_durations.clone(),
            restore_tests: a.restore_tests.iter().take(MAX_TESTS).cloned().collect(),
            restore_tests_total: a.restore_tests.len(),
            backup_policy: crate::assess::checks::BackupPolicy {
                rules: a.backup_policy.rules.iter().take(MAX_POLICY_ROWS).cloned().collect(),
                targets: policy_targets_first(&a.backup_policy.targets),
            },
            backup_policy_rules_total: a.backup_policy.rules.len(),
            backup_policy_targets_total: a.backup_policy.targets.len(),
            alert_scopes: a.alert_scopes.clone(),
            alert_paths: a.alert_paths.iter().take(MAX_ALERT_PATHS).cloned().collect(),
            artifacts: artifacts(ev),
            artifacts_total: ev.artifacts.len(),
            artifacts_failed: status("failed"),
            artifacts_unclassified: status("unclassified"),
            attachments: r
                .attached
                .iter()
                .map(|x| AttachmentRow {
                    name: x.name.clone(),
                    mime: x.mime.into(),
                    description: x.description.clone(),
                })
                .collect(),
            omitted_attachments: r.omitted.to_vec(),
            account_regions: a.account_regions.iter().take(MAX_SCOPE_ROWS).cloned().collect(),
            account_regions_total: a.account_regions.len(),
        }
    }

    /// `data.json` as the template reads it.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_value(self).and_then(|v| serde_json::to_vec(&v)).unwrap_or_default()
    }
}

/// The targets the report lists: those short of the policy first (the ones a reader must
/// see), then the others, each group in the table's order.
fn policy_targets_first(
    rows: &[crate::assess::checks::PolicyTargetRow],
) -> Vec<crate::assess::checks::PolicyTargetRow> {
    let (short, meets): (Vec<_>, Vec<_>) = rows.iter().partition(|r| r.verdict != "meets");
    short.into_iter().chain(meets).take(MAX_POLICY_ROWS).cloned().collect()
}

fn counts(a: &Assessment) -> StatusCounts {
    let n = |s: Status| a.findings.iter().filter(|f| f.status == s).count();
    StatusCounts {
        satisfied: n(Status::Satisfied),
        partially_satisfied: n(Status::PartiallySatisfied),
        not_satisfied: n(Status::NotSatisfied),
        no_evidence: n(Status::NoEvidence),
        not_applicable: n(Status::NotApplicable),
    }
}

fn finding(a: &Assessment, f: &crate::assess::mapping::Finding) -> ReportFinding {
    let used: Vec<_> = f.checks.iter().filter_map(|(id, _)| a.checks.iter().find(|c| c.id == *id)).collect();
    let key_figure = if used.is_empty() {
        "not evidenced by AWS data: attach documents".to_owned()
    } else {
        used.iter().map(|c| c.key()).collect::<Vec<_>>().join(" · ")
    };
    ReportFinding { requirement: RequirementEntry::new(f, f.evidence_artifacts.len()), key_figure }
}

fn check(c: &crate::assess::checks::CheckResult) -> ReportCheck {
    ReportCheck {
        id: c.id,
        title: c.title.into(),
        status: c.status,
        summary: c.summary.clone(),
        exceptions: c.exceptions.iter().take(MAX_EXCEPTIONS).cloned().collect(),
        exceptions_total: c.exceptions.len(),
    }
}

fn artifacts(ev: &Evidence) -> Vec<ArtifactRow> {
    let failed = |x: &&crate::evidence::ArtifactEntry| x.parse_status() == "failed";
    let failed_first = ev.artifacts.iter().filter(failed).chain(ev.artifacts.iter().filter(|x| !failed(x)));
    failed_first
        .take(MAX_LISTED)
        .map(|x| ArtifactRow {
            origin: x.artifact.origin.clone(),
            sha256: x.artifact.sha256.hex(),
            kind: x.kind.as_str().into(),
            status: x.parse_status().into(),
        })
        .collect()
}
