//! The trend between two packages: what changed from an earlier quarter to a later one.
//!
//! [`compare`] is pure: two [`Snapshot`]s (a package's `manifest.json` head, `findings.json`
//! and `metrics.json`, parsed) in, a typed [`Changes`] out. It is what `dora-evidence diff`
//! prints, what `build --previous` writes as `changes.json` and what the report's "Changes
//! since …" section shows, so the three can never disagree. Reading a package folder and
//! verifying it first are the edge ([`Snapshot::read`], [`load_verified`]).
//!
//! The rules:
//! - a requirement's status moves along not_satisfied < no_evidence < partially_satisfied <
//!   satisfied; up is `improved`, down `worsened`; a move to or from `not_applicable` is
//!   `changed` (it is neither better nor worse);
//! - a check's status likewise along fail < no_data < warn < pass;
//! - every numeric member of `metrics.json` gives old, new and delta; rates (`*_rate`, 0..1)
//!   give their delta in percentage points;
//! - an exception is identified by (check, resource) when both packages group exceptions by
//!   resource (`findings.json` → `checks[].resources`), else by its text.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::assess::checks::{CheckId, CheckStatus};
use crate::assess::mapping::Status;
pub use crate::package::changes::{
    Changes, CheckChange, CheckExceptions, DeltaUnit, Direction, ExceptionItem, ExceptionKey, MetricDelta, PackageRef,
    RequirementChange, RequirementRef,
};
use crate::package::findings::{CheckEntry, FindingsDoc};
use crate::package::layout;
use crate::package::manifest::{Manifest, PreviousPackage};
use crate::time::Period;

/// The metrics the report's trend table shows (all are in `changes.json`).
pub const HEADLINE_METRICS: [&str; 10] = [
    "backup_success_rate",
    "backup_jobs_failed",
    "copy_jobs_failed",
    "restore_tests_total",
    "restore_test_pass_rate",
    "rto_breaches",
    "restore_test_duration_minutes_p95",
    "resources_with_rpo_breach",
    "untested_candidates",
    "resources_considered",
];

/// Why two packages cannot be compared.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CompareError {
    /// A package file could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A package file is not what this version reads.
    #[error("cannot parse {path}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// The periods are the same, out of order, or unreadable.
    #[error("{0}")]
    Periods(String),
    /// The earlier package failed verification.
    #[error("{target} failed verification ({failed}): {detail}")]
    Unverified {
        /// The package as named.
        target: String,
        /// The checks that failed.
        failed: String,
        /// The first failed check's detail.
        detail: String,
    },
    /// An archived package could not be downloaded.
    #[error("could not read {location}: {message}")]
    Download {
        /// The S3 location.
        location: String,
        /// The cause.
        message: String,
    },
}

/// What [`compare`] reads of a package.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// The package's id, period and manifest digest.
    pub package: PackageRef,
    /// `findings.json`.
    pub findings: FindingsDoc,
    /// `metrics.json`, member by member.
    pub metrics: BTreeMap<String, Value>,
}

impl Snapshot {
    /// Reads `manifest.json`, `findings.json` and `metrics.json` of the package in `dir`
    /// (not verifying it: see [`load_verified`]).
    ///
    /// # Errors
    /// When a file is missing or not what this version reads.
    pub fn read(dir: &Path) -> Result<Self, CompareError> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read(&path).map(|b| (path.clone(), b)).map_err(|source| CompareError::Read { path, source })
        };
        let parse = |path: PathBuf| move |source| CompareError::Parse { path, source };
        let (path, bytes) = read(layout::MANIFEST)?;
        let manifest = Manifest::from_slice(&bytes).map_err(parse(path))?;
        let manifest_sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
        let (path, bytes) = read(layout::FINDINGS_JSON)?;
        let findings = serde_json::from_slice(&bytes).map_err(parse(path))?;
        let (path, bytes) = read(layout::METRICS_JSON)?;
        let metrics = serde_json::from_slice(&bytes).map_err(parse(path))?;
        let package = PackageRef {
            package_id: manifest.package_id,
            period: manifest.period,
            manifest_sha256: Some(manifest_sha256),
        };
        Ok(Snapshot { package, findings, metrics })
    }

    /// What a new manifest records of this (earlier) package.
    pub fn as_previous(&self) -> PreviousPackage {
        PreviousPackage {
            package_id: self.package.package_id.clone(),
            period: self.package.period.clone(),
            manifest_sha256: self.package.manifest_sha256.clone().unwrap_or_default(),
        }
    }
}

/// Verifies the package at `target` (a folder or `s3://bucket/prefix/`) as `verify` does,
/// signatures optional, then reads it. An archived package is downloaded into `scratch`.
///
/// # Errors
/// When the package fails a check ([`CompareError::Unverified`]), cannot be downloaded, or
/// its files cannot be read.
pub fn load_verified(
    target: &str,
    anchors: Option<Vec<x509_cert::Certificate>>,
    path_style: bool,
    scratch: &Path,
) -> Result<Snapshot, CompareError> {
    let opts = crate::verify::VerifyOptions { anchors, allow_unsigned: true, tsa_anchors: None };
    let (dir, report) = crate::verify::verify_target(target, &opts, path_style, scratch).map_err(|e| match e {
        crate::verify::ReachError::NotAPackage => {
            CompareError::Unverified { target: target.into(), failed: "manifest".into(), detail: e.to_string() }
        }
        e => CompareError::Download { location: target.into(), message: e.to_string() },
    })?;
    if let Some(bad) = report.checks.iter().find(|c| c.status == crate::verify::Status::Fail) {
        return Err(CompareError::Unverified {
            target: target.into(),
            failed: report.failed().join(", "),
            detail: bad.detail.clone(),
        });
    }
    Snapshot::read(&dir)
}

/// Checks that `previous` is a quarter strictly before `current`.
///
/// # Errors
/// When either is not a quarter, they are the same, or `previous` is the later one.
pub fn check_periods(previous: &str, current: &str) -> Result<(), CompareError> {
    let parse = |p: &str| p.parse::<Period>().map_err(CompareError::Periods);
    let (old, new) = (parse(previous)?, parse(current)?);
    if old.start >= new.start {
        let why = if old.start == new.start { "the same period as" } else { "a later period than" };
        return Err(CompareError::Periods(format!(
            "the previous package covers {previous}, {why} {current}: it must be an earlier quarter"
        )));
    }
    Ok(())
}

/// What changed from `old` to `new`.
///
/// # Errors
/// When `old`'s period is not strictly before `new`'s ([`check_periods`]).
pub fn compare(old: &Snapshot, new: &Snapshot) -> Result<Changes, CompareError> {
    check_periods(&old.package.period, &new.package.period)?;
    let (requirements, requirements_added, requirements_removed) = requirement_changes(&old.findings, &new.findings);
    Ok(Changes {
        previous: old.package.clone(),
        current: new.package.clone(),
        requirements,
        requirements_added,
        requirements_removed,
        metrics: metric_deltas(&old.metrics, &new.metrics),
        checks: check_changes(&old.findings, &new.findings),
        exceptions: exception_changes(&old.findings, &new.findings),
    })
}

/// A requirement status's place in the order (`None`: not applicable).
fn status_rank(s: Status) -> Option<u8> {
    match s {
        Status::NotSatisfied => Some(0),
        Status::NoEvidence => Some(1),
        Status::PartiallySatisfied => Some(2),
        Status::Satisfied => Some(3),
        Status::NotApplicable => None,
    }
}

/// A check status's place in the order.
fn check_rank(s: CheckStatus) -> u8 {
    match s {
        CheckStatus::Fail => 0,
        CheckStatus::NoData => 1,
        CheckStatus::Warn => 2,
        CheckStatus::Pass => 3,
    }
}

type RequirementLists = (Vec<RequirementChange>, Vec<RequirementRef>, Vec<RequirementRef>);

fn requirement_changes(old: &FindingsDoc, new: &FindingsDoc) -> RequirementLists {
    let before: BTreeMap<&str, Status> = old.requirements.iter().map(|r| (r.id.as_str(), r.status)).collect();
    let now: BTreeSet<&str> = new.requirements.iter().map(|r| r.id.as_str()).collect();
    let mut changes = Vec::new();
    let mut added = Vec::new();
    for r in &new.requirements {
        let re = || RequirementRef { id: r.id.clone(), requirement: r.requirement.clone(), status: r.status };
        match before.get(r.id.as_str()) {
            Some(&was) => changes.push(RequirementChange {
                id: r.id.clone(),
                requirement: r.requirement.clone(),
                old: was,
                new: r.status,
                direction: Direction::of(status_rank(was), status_rank(r.status), was == r.status),
            }),
            None => added.push(re()),
        }
    }
    // Worst change first; a stable sort keeps mapping order among equals.
    changes.sort_by_key(|c| (c.direction, status_rank(c.new).unwrap_or(u8::MAX)));
    let removed = old
        .requirements
        .iter()
        .filter(|r| !now.contains(r.id.as_str()))
        .map(|r| RequirementRef { id: r.id.clone(), requirement: r.requirement.clone(), status: r.status })
        .collect();
    (changes, added, removed)
}

fn check_changes(old: &FindingsDoc, new: &FindingsDoc) -> Vec<CheckChange> {
    let before: BTreeMap<CheckId, CheckStatus> = old.checks.iter().map(|c| (c.id, c.status)).collect();
    let mut changes: Vec<CheckChange> = new
        .checks
        .iter()
        .filter_map(|c| {
            let was = *before.get(&c.id)?;
            let direction = Direction::of(Some(check_rank(was)), Some(check_rank(c.status)), was == c.status);
            Some(CheckChange { id: c.id, title: c.title.clone(), old: was, new: c.status, direction })
        })
        .collect();
    changes.sort_by_key(|c| (c.direction, check_rank(c.new)));
    changes
}

/// A metric's value as a number (`None`: null, absent or not a number).
fn number(v: Option<&Value>) -> Option<f64> {
    v.and_then(Value::as_f64)
}

fn metric_deltas(old: &BTreeMap<String, Value>, new: &BTreeMap<String, Value>) -> Vec<MetricDelta> {
    // A member is a metric when it is a number (or null) in either package: `period` is not.
    let is_metric = |v: &Value| v.is_number() || v.is_null();
    let keys: BTreeSet<&String> = old.iter().chain(new.iter()).filter(|(_, v)| is_metric(v)).map(|(k, _)| k).collect();
    keys.into_iter()
        .filter(|k| old.get(*k).is_none_or(is_metric) && new.get(*k).is_none_or(is_metric))
        .map(|key| {
            let (o, n) = (number(old.get(key)), number(new.get(key)));
            let rate = key.ends_with("_rate");
            let scale = if rate { 100.0 } else { 1.0 };
            let delta = o.zip(n).map(|(o, n)| round6((n - o) * scale));
            MetricDelta {
                key: key.clone(),
                old: o,
                new: n,
                delta,
                unit: if rate { DeltaUnit::PercentagePoints } else { DeltaUnit::Value },
                headline: HEADLINE_METRICS.contains(&key.as_str()),
            }
        })
        .collect()
}

/// Rounded to 6 decimals, so `0.93 − 0.9` reads 3 points, not 3.0000000000000027.
fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

fn exception_changes(old: &FindingsDoc, new: &FindingsDoc) -> Vec<CheckExceptions> {
    let before: BTreeMap<CheckId, &CheckEntry> = old.checks.iter().map(|c| (c.id, c)).collect();
    let after: BTreeMap<CheckId, &CheckEntry> = new.checks.iter().map(|c| (c.id, c)).collect();
    // In the later package's check order, then checks it no longer has.
    let order =
        new.checks.iter().map(|c| c.id).chain(old.checks.iter().map(|c| c.id).filter(|id| !after.contains_key(id)));
    order
        .filter_map(|id| {
            let (o, n) = (before.get(&id).copied(), after.get(&id).copied());
            let by_resource = [o, n].iter().flatten().all(|c| !c.resources.is_empty() || c.exceptions.is_empty());
            let keyed_by = if by_resource { ExceptionKey::Resource } else { ExceptionKey::Text };
            let (was, now) = (items(o, keyed_by), items(n, keyed_by));
            if was.is_empty() && now.is_empty() {
                return None;
            }
            let title = n.or(o).map(|c| c.title.clone()).unwrap_or_default();
            let split = |a: &BTreeMap<String, ExceptionItem>, b: &BTreeMap<String, ExceptionItem>| -> Vec<_> {
                a.iter().filter(|(k, _)| !b.contains_key(*k)).map(|(_, v)| v.clone()).collect()
            };
            Some(CheckExceptions {
                id,
                title,
                keyed_by,
                new: split(&now, &was),
                resolved: split(&was, &now),
                persisting: now.iter().filter(|(k, _)| was.contains_key(*k)).map(|(_, v)| v.clone()).collect(),
            })
        })
        .collect()
}

/// A check's exceptions by key.
fn items(check: Option<&CheckEntry>, keyed_by: ExceptionKey) -> BTreeMap<String, ExceptionItem> {
    let Some(c) = check else { return BTreeMap::new() };
    match keyed_by {
        ExceptionKey::Resource => c
            .resources
            .iter()
            .map(|r| {
                let item = ExceptionItem {
                    key: r.resource.clone(),
                    what: Some(r.what.clone()),
                    scope: (!r.account_id.is_empty()).then(|| format!("{}/{}", r.account_id, r.region)),
                };
                (r.resource.clone(), item)
            })
            .collect(),
        ExceptionKey::Text => c
            .exceptions
            .iter()
            .map(|e| (e.clone(), ExceptionItem { key: e.clone(), what: None, scope: None }))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assess::checks::ResourceException;
    use crate::package::findings::RequirementEntry;

    #[test]
    fn a_package_file_that_cannot_be_read_is_named_with_its_cause_once() {
        let dir = tempfile::tempdir().unwrap();
        let missing = Snapshot::read(dir.path()).unwrap_err();
        std::fs::write(dir.path().join(layout::MANIFEST), "{not json").unwrap();
        let garbled = Snapshot::read(dir.path()).unwrap_err();
        for (e, cause) in [(missing, "No such file"), (garbled, "key must be a string")] {
            // As `rebuild --previous` and the command line print it: the error and its causes.
            let text = crate::s3::chain(&e);
            assert!(text.contains("manifest.json") && text.contains(cause), "{text}");
            assert_eq!(text.matches(cause).count(), 1, "{text}");
        }
    }

    fn requirement(id: &str, status: Status) -> RequirementEntry {
        RequirementEntry {
            id: id.into(),
            requirement: format!("Art. {id}"),
            paraphrase: String::new(),
            status,
            summary: String::new(),
            checks: Vec::new(),
            checks_without_data: Vec::new(),
            evidence_records: 0,
            evidence_artifacts: 0,
            attach: None,
        }
    }

    fn check(id: CheckId, status: CheckStatus, exceptions: &[&str], resources: &[(&str, &str)]) -> CheckEntry {
        CheckEntry {
            id,
            title: format!("{id:?}"),
            status,
            summary: String::new(),
            figures: BTreeMap::new(),
            exceptions: exceptions.iter().map(|e| (*e).to_owned()).collect(),
            records: 0,
            artifacts: Vec::new(),
            resources: resources
                .iter()
                .map(|(r, what)| ResourceException {
                    resource: (*r).into(),
                    account_id: "111122223333".into(),
                    region: "eu-central-1".into(),
                    target: "gold".into(),
                    what: (*what).into(),
                    first: None,
                    last: None,
                    count: 1,
                })
                .collect(),
        }
    }

    fn snapshot(period: &str, requirements: Vec<RequirementEntry>, checks: Vec<CheckEntry>, metrics: &str) -> Snapshot {
        Snapshot {
            package: PackageRef {
                package_id: format!("dora-{}-x", period.to_ascii_lowercase()),
                period: period.into(),
                manifest_sha256: Some("ab".repeat(32)),
            },
            findings: FindingsDoc { period: period.into(), requirements, checks },
            metrics: serde_json::from_str(metrics).unwrap(),
        }
    }

    fn ids(items: &[ExceptionItem]) -> Vec<&str> {
        items.iter().map(|i| i.key.as_str()).collect()
    }

    #[test]
    fn requirement_statuses_move_along_the_order_worst_change_first() {
        use Status::*;
        let old = snapshot(
            "2026-Q2",
            vec![
                requirement("a", Satisfied),
                requirement("b", NoEvidence),
                requirement("c", PartiallySatisfied),
                requirement("d", NotApplicable),
                requirement("e", Satisfied),
                requirement("gone", Satisfied),
            ],
            Vec::new(),
            "{}",
        );
        let new = snapshot(
            "2026-Q3",
            vec![
                requirement("a", PartiallySatisfied),
                requirement("b", PartiallySatisfied),
                requirement("c", NotSatisfied),
                requirement("d", Satisfied),
                requirement("e", Satisfied),
                requirement("fresh", NoEvidence),
            ],
            Vec::new(),
            "{}",
        );
        let c = compare(&old, &new).unwrap();
        let got: Vec<_> = c.requirements.iter().map(|r| (r.id.as_str(), r.old, r.new, r.direction)).collect();
        assert_eq!(
            got,
            [
                ("c", PartiallySatisfied, NotSatisfied, Direction::Worsened),
                ("a", Satisfied, PartiallySatisfied, Direction::Worsened),
                ("d", NotApplicable, Satisfied, Direction::Changed),
                ("b", NoEvidence, PartiallySatisfied, Direction::Improved),
                ("e", Satisfied, Satisfied, Direction::Unchanged),
            ]
        );
        assert_eq!(c.moved().count(), 4);
        assert_eq!(c.requirements_added.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["fresh"]);
        assert_eq!(c.requirements_removed.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["gone"]);
        assert_eq!(c.previous.period, "2026-Q2");
    }

    #[test]
    fn metric_deltas_give_rates_in_points_and_skip_non_numbers() {
        let old = snapshot(
            "2026-Q2",
            Vec::new(),
            Vec::new(),
            r#"{"period":"2026-Q2","backup_jobs_failed":3,"backup_success_rate":0.9,"rto_breaches":null,"gone":1}"#,
        );
        let new = snapshot(
            "2026-Q3",
            Vec::new(),
            Vec::new(),
            r#"{"period":"2026-Q3","backup_jobs_failed":5,"backup_success_rate":0.93,"rto_breaches":2}"#,
        );
        let c = compare(&old, &new).unwrap();
        let by_key: BTreeMap<&str, &MetricDelta> = c.metrics.iter().map(|m| (m.key.as_str(), m)).collect();
        assert_eq!(
            by_key.keys().copied().collect::<Vec<_>>(),
            ["backup_jobs_failed", "backup_success_rate", "gone", "rto_breaches"]
        );
        let failed = by_key["backup_jobs_failed"];
        assert_eq!(
            (failed.old, failed.new, failed.delta, failed.unit),
            (Some(3.0), Some(5.0), Some(2.0), DeltaUnit::Value)
        );
        assert!(failed.headline);
        let rate = by_key["backup_success_rate"];
        assert_eq!((rate.delta, rate.unit), (Some(3.0), DeltaUnit::PercentagePoints));
        assert_eq!((by_key["rto_breaches"].old, by_key["rto_breaches"].delta), (None, None));
        assert_eq!((by_key["gone"].new, by_key["gone"].headline), (None, false));
    }

    #[test]
    fn exceptions_by_resource_are_new_resolved_or_persisting() {
        let vault = CheckId::ALL[0];
        let old = snapshot(
            "2026-Q2",
            Vec::new(),
            vec![check(vault, CheckStatus::Fail, &["x", "y"], &[("arn:a", "failed"), ("arn:b", "failed")])],
            "{}",
        );
        let new = snapshot(
            "2026-Q3",
            Vec::new(),
            vec![check(vault, CheckStatus::Pass, &["other text"], &[("arn:b", "expired"), ("arn:c", "failed")])],
            "{}",
        );
        let c = compare(&old, &new).unwrap();
        assert_eq!(c.checks[0].direction, Direction::Improved);
        let e = &c.exceptions[0];
        assert_eq!(e.keyed_by, ExceptionKey::Resource);
        assert_eq!((ids(&e.new), ids(&e.resolved), ids(&e.persisting)), (vec!["arn:c"], vec!["arn:a"], vec!["arn:b"]));
        assert_eq!(e.persisting[0].what.as_deref(), Some("expired"));
        assert_eq!(e.persisting[0].scope.as_deref(), Some("111122223333/eu-central-1"));
    }

    #[test]
    fn exceptions_without_resources_fall_back_to_their_text() {
        let (first, second) = (CheckId::ALL[0], CheckId::ALL[1]);
        // The earlier package predates `resources`; the later one has them: both keyed by text.
        let old = snapshot(
            "2026-Q1",
            Vec::new(),
            vec![check(first, CheckStatus::Warn, &["p", "q"], &[]), check(second, CheckStatus::Pass, &[], &[])],
            "{}",
        );
        let new = snapshot(
            "2026-Q3",
            Vec::new(),
            vec![
                check(first, CheckStatus::Fail, &["q", "r"], &[("arn:q", "q")]),
                check(second, CheckStatus::Pass, &[], &[]),
            ],
            "{}",
        );
        let c = compare(&old, &new).unwrap();
        assert_eq!(c.exceptions.len(), 1, "a check without exceptions on either side is left out");
        let e = &c.exceptions[0];
        assert_eq!(e.keyed_by, ExceptionKey::Text);
        assert_eq!((ids(&e.new), ids(&e.resolved), ids(&e.persisting)), (vec!["r"], vec!["p"], vec!["q"]));
        assert_eq!(
            c.checks.iter().map(|c| c.direction).collect::<Vec<_>>(),
            [Direction::Worsened, Direction::Unchanged]
        );
    }

    #[test]
    fn periods_must_be_earlier_then_later() {
        let q2 = snapshot("2026-Q2", Vec::new(), Vec::new(), "{}");
        let q3 = snapshot("2026-Q3", Vec::new(), Vec::new(), "{}");
        assert!(compare(&q2, &q3).is_ok());
        let later = compare(&q3, &q2).unwrap_err().to_string();
        assert!(later.contains("covers 2026-Q3, a later period than 2026-Q2"), "{later}");
        let same = compare(&q3, &q3).unwrap_err().to_string();
        assert!(same.contains("the same period as 2026-Q3"), "{same}");
        assert!(check_periods("2025-Q4", "2026-Q1").is_ok());
        assert!(check_periods("last quarter", "2026-Q1").is_err());
    }

    #[test]
    fn changes_json_is_sorted_and_stable() {
        let q2 = snapshot("2026-Q2", vec![requirement("a", Status::NoEvidence)], Vec::new(), r#"{"x":1}"#);
        let q3 = snapshot("2026-Q3", vec![requirement("a", Status::Satisfied)], Vec::new(), r#"{"x":2}"#);
        let bytes = compare(&q2, &q3).unwrap().to_bytes();
        assert_eq!(bytes, compare(&q2, &q3).unwrap().to_bytes());
        let back: Changes = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(back, compare(&q2, &q3).unwrap());
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.contains("\"direction\": \"improved\""), "{text}");
        assert!(text.find("\"current\"").unwrap() < text.find("\"previous\"").unwrap());
    }
}
