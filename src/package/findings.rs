//! `findings.json` as a type: every requirement with its status, and every check with its
//! figures, exceptions and the digests of the artifacts it read.
//!
//! Written through a `serde_json::Value` (keys sorted at every level, as the file has always
//! been), pretty, with a final newline.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::assess::Assessment;
use crate::assess::checks::{CheckId, CheckStatus};
use crate::assess::mapping::{Finding, Status};

/// The whole document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingsDoc {
    /// The quarter.
    pub period: String,
    /// One entry per requirement of the mapping, in mapping order.
    pub requirements: Vec<RequirementEntry>,
    /// One entry per check, in report order.
    pub checks: Vec<CheckEntry>,
}

/// A requirement's finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequirementEntry {
    /// Requirement id.
    pub id: String,
    /// Article and paragraph.
    pub requirement: String,
    /// Our paraphrase.
    pub paraphrase: String,
    /// The verdict.
    pub status: Status,
    /// The key figures in words.
    pub summary: String,
    /// The checks it rests on.
    pub checks: Vec<CheckId>,
    /// Those that lacked data.
    pub checks_without_data: Vec<CheckId>,
    /// Evidence records the checks read.
    pub evidence_records: u64,
    /// Distinct artifacts those records came from.
    pub evidence_artifacts: usize,
    /// What to attach by hand.
    pub attach: Option<String>,
}

/// A check's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckEntry {
    /// Which check.
    pub id: CheckId,
    /// Its title.
    pub title: String,
    /// Outcome.
    pub status: CheckStatus,
    /// What was found.
    pub summary: String,
    /// Named figures.
    pub figures: BTreeMap<String, String>,
    /// Every exception, sorted.
    pub exceptions: Vec<String>,
    /// Evidence records read.
    pub records: u64,
    /// SHA-256 of each artifact those records came from, sorted.
    pub artifacts: Vec<String>,
    /// The exceptions grouped by resource, one entry per resource (absent in older packages).
    #[serde(default)]
    pub resources: Vec<ResourceException>,
}

/// A resource's exceptions under one check: what failed, where and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceException {
    /// The resource (ARN or name).
    pub resource: String,
    /// Its account.
    pub account_id: String,
    /// Its Region.
    pub region: String,
    /// The target that applies to it.
    pub target: String,
    /// What failed.
    pub what: String,
    /// First occurrence in the period (RFC 3339 or date), when dated.
    pub first: Option<String>,
    /// Last occurrence in the period, when dated.
    pub last: Option<String>,
    /// How many times.
    pub count: u64,
}

impl RequirementEntry {
    /// The entry for a finding whose records came from `artifacts` distinct artifacts.
    pub(crate) fn new(f: &Finding, artifacts: usize) -> Self {
        RequirementEntry {
            id: f.id.clone(),
            requirement: f.requirement.clone(),
            paraphrase: f.paraphrase.clone(),
            status: f.status,
            summary: f.summary.clone(),
            checks: f.checks.iter().map(|c| c.0).collect(),
            checks_without_data: f.checks_without_data.clone(),
            evidence_records: f.evidence_records,
            evidence_artifacts: artifacts,
            attach: f.attach.clone(),
        }
    }
}

impl FindingsDoc {
    /// The document for an assessment; `shas` are the artifacts' digests by index.
    pub fn new(a: &Assessment, shas: &[String]) -> Self {
        let artifacts = |set: &BTreeSet<u32>| -> Vec<String> {
            let found: BTreeSet<&String> = set.iter().filter_map(|i| shas.get(*i as usize)).collect();
            found.into_iter().cloned().collect()
        };
        let requirements =
            a.findings.iter().map(|f| RequirementEntry::new(f, artifacts(&f.evidence_artifacts).len())).collect();
        let checks = a
            .checks
            .iter()
            .map(|c| CheckEntry {
                id: c.id,
                title: c.title.into(),
                status: c.status,
                summary: c.summary.clone(),
                figures: c.figures.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect(),
                exceptions: c.exceptions.clone(),
                records: c.records,
                artifacts: artifacts(&c.artifacts),
                resources: Vec::new(),
            })
            .collect();
        FindingsDoc { period: a.metrics.period.clone(), requirements, checks }
    }

    /// The file as written.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = serde_json::to_value(self).and_then(|v| serde_json::to_vec_pretty(&v)).unwrap_or_default();
        v.push(b'\n');
        v
    }
}
