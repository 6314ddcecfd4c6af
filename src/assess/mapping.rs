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

use super::checks::{CHECK_IDS, CheckResult, CheckStatus};
use crate::config::ConfigError;

/// The mapping shipped with the tool.
pub const DEFAULT_MAPPING: &str = include_str!("../../report-templates/dora-mapping.toml");

/// A requirement's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
}

impl Status {
    /// Name in outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Satisfied => "satisfied",
            Status::PartiallySatisfied => "partially_satisfied",
            Status::NotSatisfied => "not_satisfied",
            Status::NoEvidence => "no_evidence",
        }
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
    /// Check ids.
    pub checks: Vec<String>,
    /// `all` or `any`.
    pub rule: String,
    /// What the auditor should attach.
    pub attach: Option<String>,
}

/// The parsed mapping.
#[derive(Debug, Clone)]
pub struct Mapping {
    /// Requirements in file order.
    pub requirements: Vec<Requirement>,
    /// SHA-256 of the file.
    pub sha256: String,
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
}

impl Mapping {
    /// The built-in mapping.
    pub fn builtin() -> Mapping {
        // The built-in file is checked by a unit test, so this cannot fail in a release.
        Mapping::parse(DEFAULT_MAPPING).unwrap_or_else(|_| Mapping { requirements: Vec::new(), sha256: String::new() })
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
            let at = |s: std::ops::Range<usize>| Some(line_of(s.start));
            if !seen.insert(r.id.get_ref().clone()) {
                return Err((at(r.id.span()), format!("duplicate requirement id {:?}", r.id.get_ref())));
            }
            for c in &r.checks {
                if !CHECK_IDS.contains(&c.get_ref().as_str()) {
                    return Err((
                        at(c.span()),
                        format!("unknown check {:?}; known: {}", c.get_ref(), CHECK_IDS.join(", ")),
                    ));
                }
            }
            let rule = match r.rule {
                Some(s) if s.get_ref() != "all" && s.get_ref() != "any" => {
                    return Err((at(s.span()), format!("rule must be \"all\" or \"any\", got {:?}", s.get_ref())));
                }
                Some(s) => s.into_inner(),
                None => "all".to_owned(),
            };
            requirements.push(Requirement {
                id: r.id.into_inner(),
                citation: r.citation,
                paraphrase: r.paraphrase,
                checks: r.checks.into_iter().map(Spanned::into_inner).collect(),
                rule,
                attach: r.attach,
            });
        }
        Ok(Mapping { requirements, sha256: crate::artifact::Sha256Digest::of(text.as_bytes()).hex() })
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
    /// (check id, status) pairs.
    pub checks: Vec<(String, CheckStatus)>,
    /// Evidence records the checks read.
    pub evidence_records: u64,
    /// Artifacts those records came from (indices into the artifact table).
    #[serde(skip)]
    pub evidence_artifacts: BTreeSet<u32>,
    /// What to attach.
    pub attach: Option<String>,
}

/// The status of a requirement from its checks' statuses.
pub fn status_of(rule: &str, statuses: &[CheckStatus]) -> Status {
    let with_data: Vec<CheckStatus> = statuses.iter().copied().filter(|s| *s != CheckStatus::NoData).collect();
    if with_data.is_empty() {
        return Status::NoEvidence;
    }
    let passes = with_data.iter().filter(|s| **s == CheckStatus::Pass).count();
    let fails = with_data.iter().filter(|s| **s == CheckStatus::Fail).count();
    match rule {
        "any" if passes > 0 => Status::Satisfied,
        "any" if fails == with_data.len() => Status::NotSatisfied,
        "any" => Status::PartiallySatisfied,
        _ if passes == with_data.len() => Status::Satisfied,
        _ if fails == with_data.len() => Status::NotSatisfied,
        _ => Status::PartiallySatisfied,
    }
}

/// Evaluates every requirement against the check results.
pub fn evaluate(mapping: &Mapping, checks: &[CheckResult]) -> Vec<Finding> {
    mapping
        .requirements
        .iter()
        .map(|r| {
            let used: Vec<&CheckResult> =
                r.checks.iter().filter_map(|id| checks.iter().find(|c| c.id == id.as_str())).collect();
            let statuses: Vec<CheckStatus> = used.iter().map(|c| c.status).collect();
            let status = if r.checks.is_empty() { Status::NoEvidence } else { status_of(&r.rule, &statuses) };
            let summary = if used.is_empty() {
                format!(
                    "AWS Backup data cannot evidence this requirement. Attach: {}",
                    r.attach.as_deref().unwrap_or("the entity's own documentation.")
                )
            } else {
                used.iter().map(|c| c.summary.as_str()).collect::<Vec<_>>().join(" ")
            };
            let mut evidence_artifacts = BTreeSet::new();
            for c in &used {
                evidence_artifacts.extend(c.artifacts.iter().copied());
            }
            Finding {
                id: r.id.clone(),
                requirement: r.citation.clone(),
                paraphrase: r.paraphrase.clone(),
                status,
                summary,
                checks: used.iter().map(|c| (c.id.to_owned(), c.status)).collect(),
                evidence_records: used.iter().map(|c| c.records).sum(),
                evidence_artifacts,
                attach: r.attach.clone(),
            }
        })
        .collect()
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
    fn statuses_from_check_results() {
        assert_eq!(status_of("all", &[Pass, Pass, NoData]), Status::Satisfied);
        assert_eq!(status_of("all", &[Pass, Fail]), Status::PartiallySatisfied);
        assert_eq!(status_of("all", &[Pass, Warn]), Status::PartiallySatisfied);
        assert_eq!(status_of("all", &[Fail, Fail, NoData]), Status::NotSatisfied);
        assert_eq!(status_of("all", &[Warn]), Status::PartiallySatisfied);
        assert_eq!(status_of("all", &[NoData, NoData]), Status::NoEvidence);
        assert_eq!(status_of("all", &[]), Status::NoEvidence);
        assert_eq!(status_of("any", &[Fail, Pass]), Status::Satisfied);
        assert_eq!(status_of("any", &[Fail, Warn]), Status::PartiallySatisfied);
        assert_eq!(status_of("any", &[Fail, NoData]), Status::NotSatisfied);
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
