//! The DORA mapping file: requirements, the checks that evidence them, and the rule that
//! turns check results into a status.
//!
//! The default is `report-templates/dora-mapping.toml`, compiled in; `--mapping FILE` takes
//! an edited copy. Unknown keys, unknown check ids, duplicate ids and unknown rules are errors
//! naming the line.

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::checks::{CheckId, CheckResult, CheckStatus};
use crate::config::{ConfigError, Framework};

/// The mapping shipped with the tool.
pub const DEFAULT_MAPPING: &str = include_str!("../../report-templates/dora-mapping.toml");

/// A requirement's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Every check with data passes (rule `all`), or one does (rule `any`).
    Satisfied,
    /// Mixed results.
    PartiallySatisfied,
    /// Every check with data fails.
    NotSatisfied,
    /// No check has data, or our data cannot evidence the requirement.
    NoEvidence,
    /// The requirement applies only to entities of another kind (`applies_to` in the mapping
    /// against `ict_risk_framework` in the config).
    NotApplicable,
}

impl Status {
    /// Name in outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Satisfied => "satisfied",
            Status::PartiallySatisfied => "partially_satisfied",
            Status::NotSatisfied => "not_satisfied",
            Status::NoEvidence => "no_evidence",
            Status::NotApplicable => "not_applicable",
        }
    }
}

/// How a requirement's checks combine into its status ([`status_of`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Every check must have data and pass (the default).
    #[default]
    All,
    /// Alternative evidence: any one passing check suffices.
    Any,
}

impl Rule {
    /// Name in the mapping file.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::All => "all",
            Rule::Any => "any",
        }
    }

    fn parse(s: &str) -> Option<Rule> {
        [Rule::All, Rule::Any].into_iter().find(|r| r.as_str() == s)
    }
}

/// One requirement of the mapping.
#[derive(Debug, Clone, Serialize)]
pub struct Requirement {
    /// Stable id (`dora-12-6`).
    pub id: String,
    /// Article and paragraph.
    pub citation: String,
    /// One line in our words.
    pub paraphrase: String,
    /// The checks that evidence it.
    pub checks: Vec<CheckId>,
    /// How their results combine.
    pub rule: Rule,
    /// What the auditor should attach.
    pub attach: Option<String>,
    /// The ICT risk-management framework the requirement belongs to (`None`: every entity).
    pub applies_to: Option<Framework>,
}

/// The parsed mapping.
#[derive(Debug, Clone)]
pub struct Mapping {
    /// Requirements in file order.
    pub requirements: Vec<Requirement>,
    /// SHA-256 of the file.
    pub sha256: String,
    /// The file's text, recorded verbatim in the package (`config/dora-mapping.toml`).
    pub text: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMapping {
    requirement: Vec<RawRequirement>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequirement {
    id: Spanned<String>,
    citation: String,
    paraphrase: String,
    checks: Vec<Spanned<String>>,
    rule: Option<Spanned<String>>,
    attach: Option<String>,
    applies_to: Option<Spanned<String>>,
}

impl Mapping {
    /// The built-in mapping.
    pub fn builtin() -> Mapping {
        // The built-in file is checked by a unit test, so this cannot fail in a release.
        Mapping::parse(DEFAULT_MAPPING).unwrap_or_else(|_| Mapping {
            requirements: Vec::new(),
            sha256: String::new(),
            text: String::new(),
        })
    }

    /// Reads a mapping file.
    ///
    /// # Errors
    /// When it cannot be read or is invalid (the error names the line).
    pub fn load(path: &Path) -> Result<Mapping, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: path.to_path_buf(),
            line: None,
            message: e.to_string(),
        })?;
        Mapping::parse(&text).map_err(|(line, message)| ConfigError { path: path.to_path_buf(), line, message })
    }

    /// Parses mapping text; errors are (line, message).
    ///
    /// # Errors
    /// As for [`Mapping::load`].
    pub fn parse(text: &str) -> Result<Mapping, (Option<usize>, String)> {
        let line_of = |offset: usize| text[..offset.min(text.len())].bytes().filter(|&b| b == b'\n').count() + 1;
        let raw: RawMapping =
            toml::from_str(text).map_err(|e| (e.span().map(|s| line_of(s.start)), e.message().to_owned()))?;
        let mut seen = BTreeSet::new();
        let mut requirements = Vec::new();
        for r in raw.requirement {
            if !seen.insert(r.id.get_ref().clone()) {
                return Err((
                    Some(line_of(r.id.span().start)),
                    format!("duplicate requirement id {:?}", r.id.get_ref()),
                ));
            }
            requirements.push(r.validate(&line_of)?);
        }
        Ok(Mapping {
            requirements,
            sha256: crate::artifact::Sha256Digest::of(text.as_bytes()).hex(),
            text: text.to_owned(),
        })
    }
}

impl RawRequirement {
    /// Checks the ids, the rule and `applies_to`; errors are (line, message).
    fn validate(self, line_of: &dyn Fn(usize) -> usize) -> Result<Requirement, (Option<usize>, String)> {
        let at = |s: std::ops::Range<usize>| Some(line_of(s.start));
        let checks = self
            .checks
            .iter()
            .map(|c| c.get_ref().parse::<CheckId>().map_err(|e| (at(c.span()), e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        let rule = match self.rule {
            Some(s) => Rule::parse(s.get_ref())
                .ok_or_else(|| (at(s.span()), format!("rule must be \"all\" or \"any\", got {:?}", s.get_ref())))?,
            None => Rule::All,
        };
        let applies_to = match self.applies_to {
            Some(s) => Some(Framework::parse(s.get_ref()).ok_or_else(|| {
                (at(s.span()), format!("applies_to must be \"standard\" or \"simplified\", got {:?}", s.get_ref()))
            })?),
            None => None,
        };
        Ok(Requirement {
            id: self.id.into_inner(),
            citation: self.citation,
            paraphrase: self.paraphrase,
            checks,
            rule,
            attach: self.attach,
            applies_to,
        })
    }
}

/// A requirement with its status and what it rests on.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// Requirement id.
    pub id: String,
    /// Article and paragraph.
    pub requirement: String,
    /// Our paraphrase.
    pub paraphrase: String,
    /// The verdict.
    pub status: Status,
    /// One or more sentences with the key figures.
    pub summary: String,
    /// The summary's first sentence: which checks decided the status (the report shows it
    /// without repeating the checks' own sentences).
    #[serde(skip)]
    pub reason: String,
    /// (check, status) pairs.
    pub checks: Vec<(CheckId, CheckStatus)>,
    /// The checks that lacked data (why a requirement is not satisfied).
    pub checks_without_data: Vec<CheckId>,
    /// Evidence records the checks read.
    pub evidence_records: u64,
    /// Artifacts those records came from (indices into the artifact table).
    #[serde(skip)]
    pub evidence_artifacts: BTreeSet<u32>,
    /// What to attach.
    pub attach: Option<String>,
}

/// The status of a requirement from its checks' statuses (DESIGN §5, v2: missing evidence
/// never improves a status).
///
/// * `all`: satisfied only when every check has data and passes; not satisfied when at least
///   one fails and none passes; no evidence when no check has data; else partially satisfied.
/// * `any` (alternative evidence): satisfied when one passes; not satisfied when every check
///   with data fails; no evidence when none has data; else partially satisfied.
///
/// A requirement without checks has no evidence.
pub fn status_of(rule: Rule, statuses: &[CheckStatus]) -> Status {
    let with_data: Vec<CheckStatus> = statuses.iter().copied().filter(|s| *s != CheckStatus::NoData).collect();
    if with_data.is_empty() {
        return Status::NoEvidence;
    }
    let pass = with_data.contains(&CheckStatus::Pass);
    let fail = with_data.contains(&CheckStatus::Fail);
    match rule {
        Rule::Any if pass => Status::Satisfied,
        Rule::Any if with_data.iter().all(|s| *s == CheckStatus::Fail) => Status::NotSatisfied,
        Rule::Any => Status::PartiallySatisfied,
        Rule::All if statuses.iter().all(|s| *s == CheckStatus::Pass) => Status::Satisfied,
        Rule::All if fail && !pass => Status::NotSatisfied,
        Rule::All => Status::PartiallySatisfied,
    }
}

/// Evaluates every requirement against the check results, for an entity under `framework`.
pub fn evaluate(mapping: &Mapping, checks: &[CheckResult], framework: Framework) -> Vec<Finding> {
    mapping.requirements.iter().map(|r| finding(r, checks, framework)).collect()
}

/// One requirement's finding.
fn finding(r: &Requirement, checks: &[CheckResult], framework: Framework) -> Finding {
    let used: Vec<&CheckResult> = r.checks.iter().filter_map(|id| checks.iter().find(|c| c.id == *id)).collect();
    let statuses: Vec<CheckStatus> = used.iter().map(|c| c.status).collect();
    let applies = r.applies_to.is_none_or(|f| f == framework);
    let status = if !applies { Status::NotApplicable } else { status_of(r.rule, &statuses) };
    let reason = if !applies {
        not_applicable_reason(r.applies_to.unwrap_or_default(), framework)
    } else if used.is_empty() {
        format!(
            "AWS Backup data cannot evidence this requirement. Attach: {}",
            r.attach.as_deref().unwrap_or("the entity's own documentation.")
        )
    } else {
        reason(status, r.rule, &used)
    };
    let mut summary = reason.clone();
    for c in used.iter().filter(|_| applies) {
        summary.push(' ');
        summary.push_str(&c.summary);
    }
    let without_data = used.iter().filter(|c| applies && c.status == CheckStatus::NoData);
    Finding {
        id: r.id.clone(),
        requirement: r.citation.clone(),
        paraphrase: r.paraphrase.clone(),
        status,
        summary,
        reason,
        checks: used.iter().map(|c| (c.id, c.status)).collect(),
        checks_without_data: without_data.map(|c| c.id).collect(),
        evidence_records: used.iter().map(|c| c.records).sum(),
        evidence_artifacts: used.iter().flat_map(|c| c.artifacts.iter().copied()).collect(),
        attach: r.attach.clone(),
    }
}

/// Why a requirement does not apply.
fn not_applicable_reason(applies_to: Framework, framework: Framework) -> String {
    let regime = match applies_to {
        Framework::Simplified => "the simplified ICT risk-management framework (DORA Art. 16, RTS 2024/1774 Title III)",
        Framework::Standard => "the standard ICT risk-management framework (DORA Art. 5–15, RTS 2024/1774 Title II)",
    };
    format!(
        "Not applicable: applies only to entities under {regime}; this package is for an entity under the {} \
         framework (ict_risk_framework in dora-evidence.toml{}).",
        framework.as_str(),
        if framework == Framework::default() { ", the default" } else { "" }
    )
}

/// The first sentence of a finding's summary: which checks decided its status.
fn reason(status: Status, rule: Rule, used: &[&CheckResult]) -> String {
    let ids =
        |want: CheckStatus| -> Vec<&str> { used.iter().filter(|c| c.status == want).map(|c| c.id.as_str()).collect() };
    let (pass, warn, fail, none) =
        (ids(CheckStatus::Pass), ids(CheckStatus::Warn), ids(CheckStatus::Fail), ids(CheckStatus::NoData));
    let mut parts = Vec::new();
    for (label, list) in [("fails", &fail), ("warns", &warn), ("passes", &pass), ("no data", &none)] {
        if !list.is_empty() {
            parts.push(format!("{label}: {}", list.join(", ")));
        }
    }
    let how = match rule {
        Rule::Any => "any one check suffices",
        Rule::All => "every check must have data and pass",
    };
    let lead = match status {
        Status::Satisfied => "Satisfied",
        Status::PartiallySatisfied => "Partially satisfied",
        Status::NotSatisfied => "Not satisfied",
        Status::NoEvidence => "No evidence: none of its checks had data from the period",
        Status::NotApplicable => "Not applicable",
    };
    format!("{lead} ({how}; {}).", parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use CheckStatus::{Fail, NoData, Pass, Warn};

    #[test]
    fn builtin_mapping_is_valid_and_covers_the_required_paragraphs() {
        let m = Mapping::parse(DEFAULT_MAPPING).unwrap();
        let ids: Vec<&str> = m.requirements.iter().map(|r| r.id.as_str()).collect();
        for want in [
            "dora-5-2-b",
            "dora-9-2",
            "dora-9-3-bc",
            "dora-10-1",
            "dora-10-2",
            "dora-11-4",
            "dora-11-6",
            "dora-12-1-a",
            "dora-12-2",
            "dora-12-3",
            "dora-12-4",
            "dora-12-6",
            "dora-12-7",
            "dora-13-3",
            "dora-17-2",
            "dora-24-6",
            "dora-25-1",
            "rts-24-1",
            "rts-25",
            "rts-26",
            "rts-40",
        ] {
            assert!(ids.contains(&want), "{want} missing");
        }
        assert!(m.requirements.iter().all(|r| !r.paraphrase.is_empty() && !r.citation.is_empty()));
        assert!(m.requirements.iter().filter(|r| r.checks.is_empty()).all(|r| r.attach.is_some()));
    }

    #[test]
    fn builtin_mapping_names_every_check_but_the_informational_ones() {
        // Deliberately in no requirement: legal holds are informational (README, "Checks"),
        // the Audit Manager reports are attached evidence whose check only tells whether they
        // are complete and intact, and failure alarms are one of the alert paths that
        // `failure_detection` weighs (an estate alerting through EventBridge or vault
        // notifications alone must not fail Art. 10 for want of an alarm).
        let unmapped = [CheckId::LegalHolds, CheckId::AuditManagerReports, CheckId::FailureAlarms];
        let mapped: BTreeSet<CheckId> =
            Mapping::builtin().requirements.iter().flat_map(|r| r.checks.iter().copied()).collect();
        for id in CheckId::ALL {
            assert_ne!(mapped.contains(id), unmapped.contains(id), "{id}: mapped, or listed as unmapped, not both");
        }
        // The file names only known ids (parsing rejects any other) and they survive the trip.
        let mut text_ids = DEFAULT_MAPPING
            .lines()
            .filter(|l| l.starts_with("checks = "))
            .flat_map(|l| l.split('"').skip(1).step_by(2));
        assert!(text_ids.clone().count() > 0);
        assert!(text_ids.all(|t| mapped.iter().any(|id| id.as_str() == t)));
    }

    /// The truth table of DESIGN §5, hand-written: (pass, warn, fail, no_data present) →
    /// (status under `all`, status under `any`).
    const TRUTH: [([bool; 4], &str, &str); 16] = [
        ([false, false, false, false], "no_evidence", "no_evidence"),
        ([false, false, false, true], "no_evidence", "no_evidence"),
        ([false, false, true, false], "not_satisfied", "not_satisfied"),
        ([false, false, true, true], "not_satisfied", "not_satisfied"),
        ([false, true, false, false], "partially_satisfied", "partially_satisfied"),
        ([false, true, false, true], "partially_satisfied", "partially_satisfied"),
        ([false, true, true, false], "not_satisfied", "partially_satisfied"),
        ([false, true, true, true], "not_satisfied", "partially_satisfied"),
        ([true, false, false, false], "satisfied", "satisfied"),
        ([true, false, false, true], "partially_satisfied", "satisfied"),
        ([true, false, true, false], "partially_satisfied", "satisfied"),
        ([true, false, true, true], "partially_satisfied", "satisfied"),
        ([true, true, false, false], "partially_satisfied", "satisfied"),
        ([true, true, false, true], "partially_satisfied", "satisfied"),
        ([true, true, true, false], "partially_satisfied", "satisfied"),
        ([true, true, true, true], "partially_satisfied", "satisfied"),
    ];

    /// Every multiset of check outcomes with the given presence pattern (one or two of each
    /// present outcome, in both orders), so counts and order cannot matter.
    fn combinations(present: [bool; 4]) -> Vec<Vec<CheckStatus>> {
        let all = [Pass, Warn, Fail, NoData];
        let once: Vec<CheckStatus> = all.iter().zip(present).filter(|(_, p)| *p).map(|(s, _)| *s).collect();
        let mut twice: Vec<CheckStatus> = once.iter().flat_map(|s| [*s, *s]).collect();
        let mut reversed = once.clone();
        reversed.reverse();
        twice.reverse();
        vec![once, reversed, twice]
    }

    #[test]
    fn every_cell_of_the_truth_table() {
        for (present, all, any) in TRUTH {
            for statuses in combinations(present) {
                assert_eq!(status_of(Rule::All, &statuses).as_str(), all, "all {statuses:?}");
                assert_eq!(status_of(Rule::Any, &statuses).as_str(), any, "any {statuses:?}");
            }
        }
        // The cases the issue names: Art. 9(2) with fail, fail, warn; a restore-less Art. 12(2).
        assert_eq!(status_of(Rule::All, &[Fail, Fail, Warn]), Status::NotSatisfied);
        assert_eq!(status_of(Rule::All, &[Pass, NoData, NoData]), Status::PartiallySatisfied);
    }

    #[test]
    fn the_readme_truth_table_is_the_code() {
        let readme = include_str!("../../README.md");
        let table = readme
            .split("<!-- truth-table:start -->")
            .nth(1)
            .and_then(|t| t.split("<!-- truth-table:end -->").next())
            .expect("README.md has the truth table");
        let rows: Vec<Vec<String>> = table
            .lines()
            .filter(|l| l.starts_with("| ") && !l.starts_with("| pass"))
            .map(|l| l.split('|').map(|c| c.trim().trim_matches('`').to_owned()).filter(|c| !c.is_empty()).collect())
            .collect();
        assert_eq!(rows.len(), 16);
        for row in rows {
            let present: Vec<bool> = row[..4].iter().map(|c| c == "yes").collect();
            let present = [present[0], present[1], present[2], present[3]];
            let (_, all, any) = TRUTH.iter().find(|t| t.0 == present).expect("each pattern once");
            assert_eq!((row[4].as_str(), row[5].as_str()), (*all, *any), "README row {row:?}");
            for statuses in combinations(present) {
                assert_eq!(status_of(Rule::All, &statuses).as_str(), row[4]);
                assert_eq!(status_of(Rule::Any, &statuses).as_str(), row[5]);
            }
        }
    }

    fn result(id: CheckId, status: CheckStatus) -> CheckResult {
        CheckResult {
            resources: Vec::new(),
            id,
            title: "t",
            status,
            summary: format!("{id} said something."),
            key_figure: String::new(),
            figures: Default::default(),
            exceptions: Vec::new(),
            records: 0,
            artifacts: BTreeSet::new(),
        }
    }

    #[test]
    fn requirements_for_another_framework_are_not_applicable() {
        let m = Mapping::parse(
            "[[requirement]]\nid = \"s\"\ncitation = \"RTS 40\"\nparaphrase = \"p\"\nchecks = [\"rpo\"]\n\
             applies_to = \"simplified\"\n\n[[requirement]]\nid = \"all\"\ncitation = \"c\"\nparaphrase = \"p\"\n\
             checks = [\"rpo\"]\n",
        )
        .unwrap();
        let checks = [result(CheckId::Rpo, Pass)];
        let standard = evaluate(&m, &checks, Framework::Standard);
        assert_eq!(standard[0].status, Status::NotApplicable);
        assert!(standard[0].summary.starts_with("Not applicable: applies only to entities under the simplified"));
        assert_eq!(standard[1].status, Status::Satisfied);
        let simplified = evaluate(&m, &checks, Framework::Simplified);
        assert_eq!(simplified[0].status, Status::Satisfied);
        let bad =
            "[[requirement]]\nid = \"a\"\ncitation = \"c\"\nparaphrase = \"p\"\nchecks = []\napplies_to = \"micro\"\n";
        assert_eq!(Mapping::parse(bad).unwrap_err().0, Some(6));
        // The built-in mapping: RTS Art. 40 binds only the simplified framework.
        let builtin = Mapping::builtin();
        let rts40 = builtin.requirements.iter().find(|r| r.id == "rts-40").unwrap();
        assert_eq!(rts40.applies_to, Some(Framework::Simplified));
    }

    #[test]
    fn findings_say_which_checks_lacked_data() {
        let m = Mapping::parse(
            "[[requirement]]\nid = \"r\"\ncitation = \"c\"\nparaphrase = \"p\"\n\
             checks = [\"backup_success\", \"restore_test_results\", \"rto\"]\n",
        )
        .unwrap();
        let checks = [
            result(CheckId::BackupSuccess, Pass),
            result(CheckId::RestoreTestResults, NoData),
            result(CheckId::Rto, NoData),
        ];
        let f = &evaluate(&m, &checks, Framework::Standard)[0];
        assert_eq!(f.status, Status::PartiallySatisfied);
        assert_eq!(f.checks_without_data, [CheckId::RestoreTestResults, CheckId::Rto]);
        assert!(
            f.summary.starts_with(
                "Partially satisfied (every check must have data and pass; passes: backup_success; no data: \
                 restore_test_results, rto). backup_success said something."
            ),
            "{}",
            f.summary
        );
    }

    #[test]
    fn mapping_errors_name_the_line() {
        let bad = "[[requirement]]\nid = \"a\"\ncitation = \"c\"\nparaphrase = \"p\"\nchecks = [\"rpo\", \"nope\"]\n";
        let (line, msg) = Mapping::parse(bad).unwrap_err();
        assert_eq!(line, Some(5));
        assert!(msg.contains("unknown check \"nope\""), "{msg}");
        let dup = "[[requirement]]\nid = \"a\"\ncitation = \"c\"\nparaphrase = \"p\"\nchecks = []\n\n[[requirement]]\nid = \"a\"\ncitation = \"c\"\nparaphrase = \"p\"\nchecks = []\n";
        let (line, msg) = Mapping::parse(dup).unwrap_err();
        assert_eq!((line, msg.contains("duplicate")), (Some(8), true));
        let rule = "[[requirement]]\nid = \"a\"\ncitation = \"c\"\nparaphrase = \"p\"\nchecks = []\nrule = \"most\"\n";
        assert_eq!(Mapping::parse(rule).unwrap_err().0, Some(6));
        let typo = "[[requirement]]\nid = \"a\"\ncitation = \"c\"\nparaphrase = \"p\"\nchecks = []\nattch = \"x\"\n";
        assert_eq!(Mapping::parse(typo).unwrap_err().0, Some(6));
    }
}
