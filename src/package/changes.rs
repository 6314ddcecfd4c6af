//! `changes.json` as a type: what changed from an earlier package to this one (`build
//! --previous`), as `dora-evidence diff` prints it and the report's "Changes since …" section
//! shows it. [`crate::compare`] computes it; this module only declares the document.
//!
//! Written through a `serde_json::Value` (keys sorted at every level), pretty, with a final
//! newline; whole numbers are written as integers, as `metrics.json` writes its counts.

use serde::{Deserialize, Serialize};

use crate::assess::checks::{CheckId, CheckStatus};
use crate::assess::mapping::Status;

/// Which package a side of the comparison is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageRef {
    /// Its package id.
    pub package_id: String,
    /// Its quarter.
    pub period: String,
    /// SHA-256 of its `manifest.json` (absent for the package being built).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest_sha256: Option<String>,
}

/// Everything that changed between two packages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Changes {
    /// The earlier package.
    pub previous: PackageRef,
    /// The later package.
    pub current: PackageRef,
    /// Requirements in both packages, worst change first (worsened, changed, improved,
    /// unchanged; then by new status, worst first; then in mapping order).
    pub requirements: Vec<RequirementChange>,
    /// Requirements only the later package has.
    pub requirements_added: Vec<RequirementRef>,
    /// Requirements only the earlier package has.
    pub requirements_removed: Vec<RequirementRef>,
    /// Every numeric metric of either package, in key order.
    pub metrics: Vec<MetricDelta>,
    /// Checks in both packages, worst change first.
    pub checks: Vec<CheckChange>,
    /// Per check with exceptions in either package: new, resolved and persisting ones.
    pub exceptions: Vec<CheckExceptions>,
}

/// Which way a status moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// To a worse status.
    Worsened,
    /// To or from a status outside the order (`not_applicable`).
    Changed,
    /// To a better status.
    Improved,
    /// The same status.
    Unchanged,
}

impl Direction {
    /// Name in outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Worsened => "worsened",
            Direction::Changed => "changed",
            Direction::Improved => "improved",
            Direction::Unchanged => "unchanged",
        }
    }

    /// From the ranks of the old and new status (`None`: outside the order).
    pub(crate) fn of(old: Option<u8>, new: Option<u8>, same: bool) -> Self {
        match (old, new) {
            _ if same => Direction::Unchanged,
            (Some(o), Some(n)) if n > o => Direction::Improved,
            (Some(o), Some(n)) if n < o => Direction::Worsened,
            _ => Direction::Changed,
        }
    }
}

/// A requirement's status in both packages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequirementChange {
    /// Requirement id.
    pub id: String,
    /// Article and paragraph.
    pub requirement: String,
    /// Status in the earlier package.
    pub old: Status,
    /// Status in the later package.
    pub new: Status,
    /// Which way it moved.
    pub direction: Direction,
}

/// A requirement found in one package only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequirementRef {
    /// Requirement id.
    pub id: String,
    /// Article and paragraph.
    pub requirement: String,
    /// Its status there.
    pub status: Status,
}

/// How a metric's delta is expressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeltaUnit {
    /// In the metric's own unit (a count, minutes).
    Value,
    /// A rate's change in percentage points.
    PercentagePoints,
}

/// A metric in both packages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricDelta {
    /// The `metrics.json` key.
    pub key: String,
    /// Earlier value (`None`: null or absent).
    #[serde(serialize_with = "whole_as_integer")]
    pub old: Option<f64>,
    /// Later value.
    #[serde(serialize_with = "whole_as_integer")]
    pub new: Option<f64>,
    /// `new − old` in [`Self::unit`], when both are known.
    #[serde(serialize_with = "whole_as_integer")]
    pub delta: Option<f64>,
    /// The delta's unit.
    pub unit: DeltaUnit,
    /// One of [`crate::compare::HEADLINE_METRICS`].
    pub headline: bool,
}

/// A check's status in both packages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckChange {
    /// Which check.
    pub id: CheckId,
    /// Its title (the later package's).
    pub title: String,
    /// Earlier status.
    pub old: CheckStatus,
    /// Later status.
    pub new: CheckStatus,
    /// Which way it moved.
    pub direction: Direction,
}

/// How exceptions were matched between the packages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExceptionKey {
    /// By (check, resource): both packages group exceptions by resource.
    Resource,
    /// By the exception's text (a package without `resources`).
    Text,
}

/// One exception on one side.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ExceptionItem {
    /// The resource, or the exception's text.
    pub key: String,
    /// What failed (by resource only; the later package's when persisting).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub what: Option<String>,
    /// Account and Region, `account/region` (by resource only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// A check's exceptions across the two packages, each list sorted by key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckExceptions {
    /// Which check.
    pub id: CheckId,
    /// Its title.
    pub title: String,
    /// How exceptions were matched.
    pub keyed_by: ExceptionKey,
    /// In the later package only.
    pub new: Vec<ExceptionItem>,
    /// In the earlier package only.
    pub resolved: Vec<ExceptionItem>,
    /// In both.
    pub persisting: Vec<ExceptionItem>,
}

/// Writes a whole number as an integer (`3`, not `3.0`), as `metrics.json` writes counts.
fn whole_as_integer<S: serde::Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => s.serialize_some(&(*x as i64)),
        other => other.serialize(s),
    }
}

impl Changes {
    /// `changes.json` as written: pretty, keys sorted at every level, a final newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = serde_json::to_value(self).and_then(|v| serde_json::to_vec_pretty(&v)).unwrap_or_default();
        v.push(b'\n');
        v
    }

    /// Requirements whose status moved.
    pub fn moved(&self) -> impl Iterator<Item = &RequirementChange> {
        self.requirements.iter().filter(|r| r.direction != Direction::Unchanged)
    }
}
