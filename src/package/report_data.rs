//! The report's `data.json` as a type: what the Typst template (`report-templates/report.typ`)
//! reads. It lives only inside the PDF's build (not a package file), so its members follow
//! the template; the PDF's bytes depend on them, so it is written through a
//! `serde_json::Value` (keys sorted at every level), compact.

use serde::{Deserialize, Serialize};

use super::findings::RequirementEntry;
use super::manifest::{EvidenceGap, Manifest};
use crate::assess::checks::{AlertPath, AlertScope, CheckId, CheckStatus, ResourceException};
use crate::assess::mapping::Status;
use crate::assess::{Assessment, DurationRow, Metrics};
use crate::config::{Config, ReportConfig};
use crate::evidence::Evidence;
use crate::render::Attachment;

/// Exceptions listed per check in the PDF (all are in findings.json).
const MAX_EXCEPTIONS: usize = 25;
/// Rows of each backup-policy table in the report.
const MAX_POLICY_ROWS: usize = 200;
/// Failed artifacts listed in the PDF's appendix (all are in artifacts.csv): laying out tens
/// of thousands of lines costs gigabytes.
const MAX_LISTED: usize = 2_000;
/// Resources named per check in the attention list.
const WORST: usize = 3;
/// Tested resources in the restore-test summary (all tests are in `evidence/restore_jobs.csv`).
const MAX_RESTORE_RESOURCES: usize = 200;
/// Rows of the per-account × Region table in the report, the worst (all are in
/// `account_regions.csv`). With this and [`MAX_ALERT_SCOPES`] at 500, an organisation's report
/// (1 600 scopes) peaked at 265–271 MiB in the render child; at 250, 204–205 MiB
/// (BENCHMARKS.md).
const MAX_SCOPE_ROWS: usize = 250;
/// Alert paths carried into the report's data (all are in `evidence/alert_paths.csv`).
const MAX_ALERT_PATHS: usize = 2_000;
/// At most this many account × Region rows in the report's alert-path table: an organisation
/// has tens of thousands, and laying each out costs the render memory (all are in
/// `evidence/alert_paths.csv`).
const MAX_ALERT_SCOPES: usize = 250;

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
    /// The period's backup plan rules and targeted resources (the first [`MAX_POLICY_ROWS`]
    /// of each; all in `backup_policy*.csv`).
    pub backup_policy: crate::assess::checks::BackupPolicy,
    pub backup_policy_rules_total: usize,
    pub backup_policy_targets_total: usize,
    /// Per account and Region in use: whether failed jobs reach a person, and through what
    /// (at most [`MAX_ALERT_SCOPES`], see [`alert_scopes_first`]).
    pub alert_scopes: Vec<AlertScope>,
    /// How many account × Region pairs there are in all.
    #[serde(default)]
    pub alert_scopes_total: usize,
    /// The rows of `evidence/alert_paths.csv`, the first [`MAX_ALERT_PATHS`].
    pub alert_paths: Vec<AlertPath>,
    /// The artifacts that failed to parse, the first [`MAX_LISTED`].
    pub artifacts: Vec<ArtifactRow>,
    pub artifacts_total: usize,
    pub artifacts_failed: usize,
    pub artifacts_unclassified: usize,
    pub attachments: Vec<AttachmentRow>,
    pub omitted_attachments: Vec<String>,
    /// The signer's subject, when the package is signed.
    pub signed_by: Option<String>,
    /// Whether the signatures carry RFC 3161 timestamps, and from which TSA (signed packages).
    pub timestamp: Option<TimestampRow>,
    /// Prepared / reviewed / approved, in that order (`[report]` in the config).
    pub sign_off: Vec<SignOffRow>,
    /// The estate the figures cover.
    pub scope: crate::assess::overview::Scope,
    /// The configured targets with the resources each covers.
    pub targets: Vec<crate::assess::overview::TargetRow>,
    /// The pass marks and policy settings the checks use.
    pub thresholds: Vec<ThresholdRow>,
    /// Failing, then warning checks, most serious first.
    pub attention: Vec<AttentionItem>,
    /// Restore tests per tested resource, the first [`MAX_RESTORE_RESOURCES`].
    pub restore_resources: Vec<crate::assess::overview::RestoreResourceRow>,
    pub restore_resources_total: usize,
    /// Artifacts per kind and parse status.
    pub artifact_kinds: Vec<KindCount>,
    /// What changed since the previous package (`build --previous`); the section "Changes
    /// since …" is absent without it.
    pub changes: Option<super::changes::Changes>,
    /// The per-account × Region view, worst first: the first [`MAX_SCOPE_ROWS`] (all in
    /// `account_regions.csv`).
    pub account_regions: Vec<crate::assess::scopes::ScopeRow>,
    pub account_regions_total: usize,
}

/// The cover's "Trusted time" line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimestampRow {
    /// The TSA asked, if any.
    pub tsa: Option<String>,
    /// Why it gave nothing (`--tsa-optional`), if so.
    pub missing: Option<String>,
}

impl TimestampRow {
    fn of(s: &crate::package::manifest::SignatureDecl) -> TimestampRow {
        TimestampRow { tsa: s.timestamp_authority.clone(), missing: s.timestamp_missing.clone() }
    }
}

/// One line of the sign-off block; `name` empty when it is to be signed by hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct SignOffRow {
    pub step: String,
    pub name: String,
    pub role: String,
    pub date: String,
}

/// A setting a check is judged by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct ThresholdRow {
    pub setting: String,
    pub value: String,
    pub used_by: String,
}

/// A failing or warning check on the attention page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct AttentionItem {
    pub id: CheckId,
    pub title: String,
    pub status: CheckStatus,
    pub key_figure: String,
    /// Resources (or vaults, scopes) with exceptions.
    pub resources_total: usize,
    /// The same with its noun: `13 vaults`.
    pub subjects: String,
    /// The first [`WORST`] of them, most exceptions first.
    pub worst: Vec<ResourceException>,
    /// Short citations of the requirements it is mapped to, e.g. `Art. 12(3)`.
    pub requirements: Vec<String>,
}

/// Artifacts of one kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct KindCount {
    pub kind: String,
    pub total: usize,
    pub failed: usize,
    pub unclassified: usize,
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
    /// The citation without the regulation's name, for the matrix (`12(1)(a)`, `RTS 24(1)`).
    pub short: String,
    /// Which checks decided the status.
    pub reason: String,
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
    /// The exceptions by resource, the first [`MAX_EXCEPTIONS`].
    pub resources: Vec<ResourceException>,
    pub resources_total: usize,
    /// `13 vaults`, `1 resource`: how many subjects have exceptions, with their noun.
    pub subjects: String,
}

/// Backup jobs of one week by outcome ([`crate::assess::WeekOutcomes`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct Week {
    /// `MM-DD` of its Monday.
    pub week: String,
    pub completed: u64,
    pub failed: u64,
    /// Not finished.
    pub other: u64,
    /// 7, or fewer for a first or last week the period cuts (the chart marks those).
    pub days_in_period: u8,
}

impl From<&crate::assess::WeekOutcomes> for Week {
    fn from(w: &crate::assess::WeekOutcomes) -> Self {
        Week {
            week: w.monday.to_rfc3339()[5..10].to_owned(),
            completed: w.completed,
            failed: w.failed,
            other: w.not_finished,
            days_in_period: w.days_in_period,
        }
    }
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
    /// Targets, thresholds and the sign-off block.
    pub config: &'a Config,
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
            weekly: a.weekly.iter().map(Week::from).collect(),
            restore_durations: a.restore_durations.clone(),
            backup_policy: crate::assess::checks::BackupPolicy {
                rules: a.backup_policy.rules.iter().take(MAX_POLICY_ROWS).cloned().collect(),
                targets: policy_targets_first(&a.backup_policy.targets),
            },
            backup_policy_rules_total: a.backup_policy.rules.len(),
            backup_policy_targets_total: a.backup_policy.targets.len(),
            alert_scopes: alert_scopes_first(&a.alert_scopes),
            alert_scopes_total: a.alert_scopes.len(),
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
            signed_by: m.signature.as_ref().map(|s| s.signer.clone()),
            timestamp: m.signature.as_ref().map(TimestampRow::of),
            sign_off: sign_off(&r.config.report),
            scope: a.scope.clone(),
            targets: a.targets.clone(),
            thresholds: thresholds(r.config),
            attention: attention(a),
            restore_resources: a.restore_resources.iter().take(MAX_RESTORE_RESOURCES).cloned().collect(),
            restore_resources_total: a.restore_resources.len(),
            artifact_kinds: kind_counts(ev),
            changes: None,
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
/// The account × Region rows the report shows: all of them up to [`MAX_ALERT_SCOPES`]; beyond,
/// those where failed jobs of some kind reach nobody first, then the others, kept in their
/// order.
fn alert_scopes_first(scopes: &[AlertScope]) -> Vec<AlertScope> {
    if scopes.len() <= MAX_ALERT_SCOPES {
        return scopes.to_vec();
    }
    let unreached = |s: &AlertScope| s.reach.iter().any(|r| r != "yes" && r != "no jobs");
    let (short, reached): (Vec<usize>, Vec<usize>) = (0..scopes.len()).partition(|&i| unreached(&scopes[i]));
    let mut shown: Vec<usize> = short.into_iter().chain(reached).take(MAX_ALERT_SCOPES).collect();
    shown.sort_unstable();
    shown.into_iter().map(|i| scopes[i].clone()).collect()
}

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
    ReportFinding {
        requirement: RequirementEntry::new(f, f.evidence_artifacts.len()),
        key_figure,
        short: short_citation(&f.requirement),
        reason: f.reason.clone(),
    }
}

fn check(c: &crate::assess::checks::CheckResult) -> ReportCheck {
    ReportCheck {
        id: c.id,
        title: c.title.into(),
        status: c.status,
        summary: c.summary.clone(),
        exceptions: c.exceptions.iter().take(MAX_EXCEPTIONS).cloned().collect(),
        exceptions_total: c.exceptions.len(),
        resources: c.resources.iter().take(MAX_EXCEPTIONS).cloned().collect(),
        resources_total: c.resources.len(),
        subjects: subjects(&c.resources),
    }
}

fn artifacts(ev: &Evidence) -> Vec<ArtifactRow> {
    ev.artifacts
        .iter()
        .filter(|x| x.parse_status() == "failed")
        .take(MAX_LISTED)
        .map(|x| ArtifactRow {
            origin: x.artifact.origin.clone(),
            sha256: x.artifact.sha256.hex(),
            kind: x.kind.as_str().into(),
            status: x.parse_status().into(),
        })
        .collect()
}

/// `DORA Art. 12(1)(a)` → `12(1)(a)`; `RTS 2024/1774 Art. 24(1)` → `RTS 24(1)`; any trailing
/// remark in parentheses after a space is dropped.
fn short_citation(citation: &str) -> String {
    let head = citation.split(" (").next().unwrap_or(citation);
    let article = head.rsplit("Art. ").next().unwrap_or(head);
    if head.starts_with("RTS") { format!("RTS {article}") } else { article.to_owned() }
}

fn subjects(rows: &[ResourceException]) -> String {
    let (one, many) = crate::assess::checks::subject_noun(rows);
    format!("{} {}", rows.len(), if rows.len() == 1 { one } else { many })
}

fn sign_off(r: &ReportConfig) -> Vec<SignOffRow> {
    [("Prepared by", &r.prepared_by), ("Reviewed by", &r.reviewed_by), ("Approved by", &r.approved_by)]
        .into_iter()
        .map(|(step, who)| SignOffRow {
            step: step.into(),
            name: who.as_ref().map(|w| w.name.clone()).unwrap_or_default(),
            role: who.as_ref().and_then(|w| w.role.clone()).unwrap_or_default(),
            date: who.as_ref().and_then(|w| w.date.clone()).unwrap_or_default(),
        })
        .collect()
}

fn thresholds(c: &Config) -> Vec<ThresholdRow> {
    let row = |setting: &str, value: String, used_by: &str| ThresholdRow {
        setting: setting.into(),
        value,
        used_by: used_by.into(),
    };
    let pct = |x: f64| format!("{:.2} %", x * 100.0);
    let mut rows = vec![
        row("thresholds.backup_success_rate", pct(c.thresholds.backup_success_rate), "backup_success"),
        row("thresholds.restore_test_pass_rate", pct(c.thresholds.restore_test_pass_rate), "restore_test_results"),
        row(
            "restore_testing.candidate_tag",
            format!("{}={}", c.candidate_tag.0, c.candidate_tag.1),
            "candidates_tested",
        ),
    ];
    let days = c.policy.min_retention_days.map_or_else(|| "not set".to_owned(), |d| format!("{d} days"));
    rows.push(row("policy.min_retention_days", days, "policy_covers_targets"));
    let copy: Vec<&str> =
        [(c.policy.copy_to_other_region, "other_region"), (c.policy.copy_to_other_account, "other_account")]
            .into_iter()
            .filter_map(|(on, name)| on.then_some(name))
            .collect();
    let copy = if copy.is_empty() { "not set".to_owned() } else { copy.join(", ") };
    rows.push(row("policy.copy_to", copy, "policy_covers_targets"));
    rows
}

/// Failing checks, then warning ones; within each, those behind more requirements first, then
/// those with more resources, then in report order.
fn attention(a: &Assessment) -> Vec<AttentionItem> {
    let rank = |s: CheckStatus| match s {
        CheckStatus::Fail => 0,
        _ => 1,
    };
    let mut items: Vec<(usize, AttentionItem)> = a
        .checks
        .iter()
        .enumerate()
        .filter(|(_, c)| matches!(c.status, CheckStatus::Fail | CheckStatus::Warn))
        .map(|(i, c)| {
            let requirements: Vec<String> = a
                .findings
                .iter()
                .filter(|f| f.status != Status::NotApplicable && f.checks.iter().any(|(id, _)| *id == c.id))
                .map(|f| short_citation(&f.requirement))
                .collect();
            let item = AttentionItem {
                id: c.id,
                title: c.title.into(),
                status: c.status,
                key_figure: c.key(),
                resources_total: c.resources.len(),
                subjects: subjects(&c.resources),
                worst: c.resources.iter().take(WORST).cloned().collect(),
                requirements,
            };
            (i, item)
        })
        .collect();
    items.sort_by(|(i, x), (j, y)| {
        (rank(x.status), std::cmp::Reverse(x.requirements.len()), std::cmp::Reverse(x.resources_total), i).cmp(&(
            rank(y.status),
            std::cmp::Reverse(y.requirements.len()),
            std::cmp::Reverse(y.resources_total),
            j,
        ))
    });
    items.into_iter().map(|(_, item)| item).collect()
}

fn kind_counts(ev: &Evidence) -> Vec<KindCount> {
    let mut kinds: std::collections::BTreeMap<&str, KindCount> = std::collections::BTreeMap::new();
    for x in &ev.artifacts {
        let k = kinds.entry(x.kind.as_str()).or_insert_with(|| KindCount {
            kind: x.kind.as_str().into(),
            total: 0,
            failed: 0,
            unclassified: 0,
        });
        k.total += 1;
        match x.parse_status() {
            "failed" => k.failed += 1,
            "unclassified" => k.unclassified += 1,
            _ => {}
        }
    }
    kinds.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_organisations_alert_scopes_are_capped_with_the_unreached_ones_kept() {
        let scope = |i: usize, reach: &str| AlertScope {
            account_id: format!("{i:012}"),
            region: "eu-central-1".into(),
            reach: vec!["yes".into(), reach.into(), "no jobs".into()],
            through: Vec::new(),
            not_counted: Vec::new(),
        };
        let few: Vec<AlertScope> = (0..20).map(|i| scope(i, if i % 2 == 0 { "no" } else { "yes" })).collect();
        let shown = alert_scopes_first(&few);
        assert_eq!(
            shown.iter().map(|s| &s.account_id).collect::<Vec<_>>(),
            few.iter().map(|s| &s.account_id).collect::<Vec<_>>()
        );
        // 600 pairs, the last 50 of them with failed copies that reach nobody.
        let many: Vec<AlertScope> = (0..600).map(|i| scope(i, if i >= 550 { "no" } else { "yes" })).collect();
        let shown = alert_scopes_first(&many);
        assert_eq!(shown.len(), MAX_ALERT_SCOPES);
        assert_eq!(shown.iter().filter(|s| s.reach[1] == "no").count(), 50, "every unreached pair is shown");
        let ids: Vec<usize> = shown.iter().map(|s| s.account_id.parse().unwrap()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "kept in their order");
        assert_eq!(ids[..3], [0, 1, 2]);
        // The first reached pairs fill what the 50 unreached ones leave.
        assert_eq!(ids[MAX_ALERT_SCOPES - 50 - 1], MAX_ALERT_SCOPES - 50 - 1);
        assert_eq!(ids[MAX_ALERT_SCOPES - 50], 550);
    }

    #[test]
    fn citations_shorten_for_the_matrix() {
        assert_eq!(short_citation("DORA Art. 12(1)(a)"), "12(1)(a)");
        assert_eq!(short_citation("RTS 2024/1774 Art. 24(1)"), "RTS 24(1)");
        assert_eq!(short_citation("RTS 2024/1774 Art. 40 (simplified framework only)"), "RTS 40");
        assert_eq!(short_citation("DORA Art. 9(3)(b)-(c)"), "9(3)(b)-(c)");
    }

    #[test]
    fn an_unset_sign_off_leaves_blank_lines() {
        let r = ReportConfig {
            prepared_by: Some(crate::config::SignOff { name: "A".into(), role: Some("R".into()), date: None }),
            ..ReportConfig::default()
        };
        let rows = sign_off(&r);
        assert_eq!(
            rows.iter().map(|x| x.step.as_str()).collect::<Vec<_>>(),
            ["Prepared by", "Reviewed by", "Approved by"]
        );
        assert_eq!((rows[0].name.as_str(), rows[0].role.as_str(), rows[0].date.as_str()), ("A", "R", ""));
        assert!(rows[1].name.is_empty() && rows[2].name.is_empty());
    }
}
