//! A check's exceptions grouped by the resource they are about: one row per resource (or
//! vault, or account/Region) with its target, what went wrong, how often and when first and
//! last — what a risk officer reads instead of one line per job.
//!
//! The checks that report per job (backup failures, unencrypted backups, failed restore tests,
//! restores over the RTO) are grouped from the accumulated facts, so the dates are the jobs'
//! own. Every other check names one subject per exception: its first ARN or `account/Region`,
//! else its first word (README.md, "Checks and findings").

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{CheckId, CheckResult, Inputs};
use crate::time::Timestamp;

/// One resource's exceptions under one check (`findings.json`, `checks[].resources`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceException {
    /// Resource or vault ARN, `account/Region`, or the subject the exception names.
    pub resource: String,
    /// Its account (empty when the subject names none).
    pub account_id: String,
    /// Its Region (empty when the subject names none).
    pub region: String,
    /// The target that applies to it: `name (RPO h, RTO min)`; empty without one.
    pub target: String,
    /// What went wrong, distinct causes by frequency (`FAILED ResourceState ×3; …`).
    pub what: String,
    /// Date (UTC) of the first and last dated exception, when the exceptions carry dates.
    pub first: Option<String>,
    /// See `first`.
    pub last: Option<String>,
    /// How many exceptions (jobs, tests, findings) it has.
    pub count: u64,
}

#[derive(Default)]
struct Group {
    causes: BTreeMap<String, u64>,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
    count: u64,
}

/// Collects (resource, cause, date) items into rows.
#[derive(Default)]
struct Grouper(BTreeMap<String, Group>);

impl Grouper {
    fn add(&mut self, resource: &str, cause: String, at: Option<Timestamp>) {
        let g = self.0.entry(resource.to_owned()).or_default();
        *g.causes.entry(cause).or_default() += 1;
        g.count += 1;
        if let Some(t) = at {
            g.first = Some(g.first.map_or(t, |f| f.min(t)));
            g.last = Some(g.last.map_or(t, |l| l.max(t)));
        }
    }

    /// Rows, most exceptions first, then by resource.
    fn finish(self, target: impl Fn(&str) -> String) -> Vec<ResourceException> {
        let mut rows: Vec<ResourceException> =
            self.0.into_iter().map(|(resource, g)| row(target(&resource), resource, g)).collect();
        rows.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.resource.cmp(&b.resource)));
        rows
    }
}

fn row(target: String, resource: String, g: Group) -> ResourceException {
    let (account_id, region) = account_region(&resource);
    let mut causes: Vec<(String, u64)> = g.causes.into_iter().collect();
    causes.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let what =
        causes.into_iter().map(|(c, n)| if n > 1 { format!("{c} ×{n}") } else { c }).collect::<Vec<_>>().join("; ");
    let date = |t: Option<Timestamp>| t.map(|t| t.to_rfc3339()[..10].to_owned());
    ResourceException {
        target,
        account_id,
        region,
        resource,
        what,
        first: date(g.first),
        last: date(g.last),
        count: g.count,
    }
}

/// Account and Region of an ARN or an `account/Region` subject.
fn account_region(subject: &str) -> (String, String) {
    if subject.starts_with("arn:") {
        let (a, r) = crate::arn::account_region(subject);
        return (a.unwrap_or_default().to_owned(), r.unwrap_or_default().to_owned());
    }
    match subject.split_once('/') {
        Some((a, r)) if is_account(a) => (a.to_owned(), r.to_owned()),
        _ => (String::new(), String::new()),
    }
}

fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// `name (RPO 24 h, RTO 120 min)` for a targeted resource, else empty.
fn target_label(cx: &Inputs<'_>, resource: &str) -> String {
    let Some(t) = cx.derived.target_of.get(resource).and_then(|i| cx.config.targets.get(*i)) else {
        return String::new();
    };
    let parts: Vec<String> = [t.rpo_hours.map(|h| format!("RPO {h} h")), t.rto_minutes.map(|m| format!("RTO {m} min"))]
        .into_iter()
        .flatten()
        .collect();
    if parts.is_empty() { t.name.clone() } else { format!("{} ({})", t.name, parts.join(", ")) }
}

/// The subject an exception line names and what it says about it (without the subject).
fn subject(text: &str) -> (&str, std::borrow::Cow<'_, str>) {
    let named = text
        .split_whitespace()
        .map(|w| w.trim_end_matches([':', ',', ';']))
        .find(|w| w.starts_with("arn:") || w.split_once('/').is_some_and(|(a, _)| is_account(a)));
    match named {
        Some(s) if text.starts_with(s) => (s, text[s.len()..].trim_start_matches(':').trim().into()),
        Some(s) => (s, text.replacen(&format!(" in {s}"), "", 1).into()),
        None => {
            let (s, what) = text.split_once(' ').unwrap_or((text, ""));
            (s, what.into())
        }
    }
}

/// What an exception that names only its subject means.
fn bare_cause(id: CheckId) -> &'static str {
    match id {
        CheckId::CopyCoverage => "no copy to another Region or account in the period",
        CheckId::CandidatesTested => "no passing restore test in the period",
        CheckId::RestoreTestingInScope => "no restore testing plan selects its resources",
        _ => "exception",
    }
}

/// How to count a check's subjects: vaults, account/Region pairs or resources.
pub fn subject_noun(rows: &[ResourceException]) -> (&'static str, &'static str) {
    if !rows.is_empty() && rows.iter().all(|r| r.resource.contains(":backup-vault:")) {
        ("vault", "vaults")
    } else if !rows.is_empty() && rows.iter().all(|r| r.resource.split_once('/').is_some_and(|(a, _)| is_account(a))) {
        ("account/Region pair", "account/Region pairs")
    } else {
        ("resource", "resources")
    }
}

/// The check's exceptions, one row per resource.
pub(super) fn group(cx: &Inputs<'_>, check: &CheckResult) -> Vec<ResourceException> {
    let (acc, mut g) = (cx.acc, Grouper::default());
    match check.id {
        CheckId::BackupSuccess => {
            for f in &acc.failures {
                g.add(&f.resource_arn, format!("{} {}", f.state, f.category), f.created);
            }
        }
        CheckId::Encryption => {
            for u in &acc.unencrypted {
                g.add(&u.resource, "not encrypted".into(), u.at);
            }
        }
        CheckId::RestoreTestResults => {
            for t in acc.tests.iter().filter(|t| !t.passed) {
                let validation = t.validation.as_deref().unwrap_or("-");
                let cause = format!("{}, validation {validation}", t.state);
                g.add(t.resource_arn.as_deref().unwrap_or(""), cause, t.created);
            }
        }
        CheckId::Rto => {
            for r in cx.derived.rto_breaches() {
                g.add(&r.resource, format!("restore over the RTO of {} min", r.rto_minutes), r.created);
            }
        }
        _ => {
            for e in &check.exceptions {
                let (s, what) = subject(e);
                let what = if what.is_empty() { bare_cause(check.id).to_owned() } else { what.into_owned() };
                g.add(s, what, None);
            }
        }
    }
    g.finish(|r| target_label(cx, r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_subject_is_the_first_arn_or_scope_else_the_first_word() {
        let s = |t: &'static str| {
            let (a, b) = subject(t);
            (a, b.into_owned())
        };
        let vault = "arn:aws:backup:eu-central-1:111122223333:backup-vault:v lock none";
        assert_eq!(s(vault), ("arn:aws:backup:eu-central-1:111122223333:backup-vault:v", "lock none".into()));
        assert_eq!(
            s("111122223333/eu-west-1: failed backup jobs reach no confirmed subscriber"),
            ("111122223333/eu-west-1", "failed backup jobs reach no confirmed subscriber".into())
        );
        let control = "CHECK in 111122223333/eu-central-1 NON_COMPLIANT (4 resources non-compliant)";
        assert_eq!(s(control), ("111122223333/eu-central-1", "CHECK NON_COMPLIANT (4 resources non-compliant)".into()));
        assert_eq!(s("8e9c BaFin inquiry"), ("8e9c", "BaFin inquiry".into()));
        assert_eq!(s("arn:aws:s3:::bucket"), ("arn:aws:s3:::bucket", String::new()));
    }

    #[test]
    fn a_resource_gets_one_row_with_causes_by_frequency_dates_and_count() {
        let t = |s: &str| Some(Timestamp::parse(s).unwrap());
        let db = "arn:aws:rds:eu-central-1:111122223333:db:core";
        let mut g = Grouper::default();
        g.add(db, "FAILED ResourceState".into(), t("2026-08-03T01:00:00Z"));
        g.add("arn:aws:s3:::b", "FAILED AccessDenied".into(), t("2026-07-09T01:00:00Z"));
        g.add(db, "EXPIRED StartWindowExpired".into(), t("2026-07-02T01:00:00Z"));
        g.add(db, "FAILED ResourceState".into(), t("2026-09-30T23:00:00Z"));
        let rows = g.finish(|r| if r == db { "gold (RPO 26 h)".into() } else { String::new() });
        assert_eq!(rows.len(), 2);
        let r = &rows[0];
        assert_eq!((r.resource.as_str(), r.count, r.target.as_str()), (db, 3, "gold (RPO 26 h)"));
        assert_eq!(r.what, "FAILED ResourceState ×2; EXPIRED StartWindowExpired");
        assert_eq!((r.first.as_deref(), r.last.as_deref()), (Some("2026-07-02"), Some("2026-09-30")));
        assert_eq!((r.account_id.as_str(), r.region.as_str()), ("111122223333", "eu-central-1"));
        assert_eq!((rows[1].count, rows[1].what.as_str()), (1, "FAILED AccessDenied"));
        assert_eq!(subject_noun(&rows), ("resource", "resources"));
    }

    #[test]
    fn account_and_region_come_from_arns_and_scopes() {
        let arn = "arn:aws:rds:eu-west-1:444455556666:db:x";
        assert_eq!(account_region(arn), ("444455556666".into(), "eu-west-1".into()));
        assert_eq!(account_region("444455556666/eu-west-1"), ("444455556666".into(), "eu-west-1".into()));
        assert_eq!(account_region("8e9c/x"), (String::new(), String::new()));
        assert_eq!(account_region("arn:aws:s3:::bucket"), (String::new(), String::new()));
    }
}
