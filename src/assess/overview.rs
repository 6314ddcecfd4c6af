//! What the report's first pages need besides the checks: the scope the figures cover, how
//! many resources each configured target covers, and the restore tests summarised per
//! resource against its RTO. Computed once from the accumulated facts and the targets.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{Derived, MetricsAccumulator, TestFact, round2};
use crate::config::Config;

/// The estate the figures cover.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    /// Accounts with jobs in the period or with a considered resource.
    pub accounts: Vec<String>,
    /// Regions likewise.
    pub regions: Vec<String>,
    /// Account × Region pairs with backup, copy or restore jobs in the period.
    pub account_regions: usize,
    /// Resources considered (metric `resources_considered`).
    pub resources_considered: u64,
    /// Of those, the resources some target applies to.
    pub resources_with_target: u64,
}

/// One configured target and how many considered resources it covers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetRow {
    /// Its name.
    pub name: String,
    /// Its match keys, e.g. `tag tier=gold`, `resource_type RDS`, `arn arn:aws:rds:*`.
    pub matches: String,
    /// RPO in hours.
    pub rpo_hours: Option<f64>,
    /// RTO in minutes.
    pub rto_minutes: Option<f64>,
    /// Considered resources it is the first matching target of.
    pub resources: u64,
}

/// The restore tests of one resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestoreResourceRow {
    /// Resource name (last part of the ARN).
    pub resource: String,
    /// Its account and Region.
    pub account_id: String,
    /// See `account_id`.
    pub region: String,
    /// Tests in the period.
    pub tests: u64,
    /// Of those, passed.
    pub passed: u64,
    /// Longest completed test, minutes.
    pub max_minutes: Option<f64>,
    /// Its RTO in minutes, when a target gives one.
    pub rto_minutes: Option<f64>,
    /// Completed tests that took longer than the RTO.
    pub over_rto: u64,
}

/// The scope of the figures.
pub(crate) fn scope(acc: &MetricsAccumulator, d: &Derived) -> Scope {
    let pairs: BTreeSet<&(String, String)> =
        acc.scopes.iter().chain(acc.copy_scopes.iter()).chain(acc.restore_scopes.iter()).collect();
    let mut accounts: BTreeSet<String> = pairs.iter().map(|(a, _)| a.clone()).collect();
    let mut regions: BTreeSet<String> = pairs.iter().map(|(_, r)| r.clone()).collect();
    for arn in &d.considered {
        let (account, region) = crate::arn::account_region(arn);
        accounts.extend(account.map(str::to_owned));
        regions.extend(region.map(str::to_owned));
    }
    Scope {
        accounts: accounts.into_iter().collect(),
        regions: regions.into_iter().collect(),
        account_regions: pairs.len(),
        resources_considered: d.considered.len() as u64,
        resources_with_target: d.targeted.len() as u64,
    }
}

/// Every configured target, in file order, with the resources it covers.
pub(crate) fn targets(config: &Config, d: &Derived) -> Vec<TargetRow> {
    let mut covered = vec![0u64; config.targets.len()];
    for i in d.target_of.values() {
        covered[*i] += 1;
    }
    config
        .targets
        .iter()
        .zip(covered)
        .map(|(t, resources)| {
            let keys = [
                t.resource_type.as_ref().map(|x| format!("resource_type {x}")),
                t.tag.as_ref().map(|(k, v)| format!("tag {k}={v}")),
                t.arn.as_ref().map(|p| format!("arn {}", p.as_str())),
            ];
            let matches = keys.into_iter().flatten().collect::<Vec<_>>().join(" and ");
            TargetRow {
                name: t.name.clone(),
                matches: if matches.is_empty() { "every resource".into() } else { matches },
                rpo_hours: t.rpo_hours,
                rto_minutes: t.rto_minutes,
                resources,
            }
        })
        .collect()
}

/// Per tested resource: tests, passes, longest completed test and RTO breaches; resources
/// with a breach or a failed test first (most first), then by name.
pub(crate) fn restores(tests: &[TestFact], d: &Derived) -> Vec<RestoreResourceRow> {
    let mut rows: BTreeMap<&str, RestoreResourceRow> = BTreeMap::new();
    for t in tests {
        let arn = t.resource_arn.as_deref().unwrap_or("");
        let row = rows.entry(arn).or_insert_with(|| empty_row(arn));
        row.tests += 1;
        row.passed += u64::from(t.passed);
        if let Some(m) = t.duration {
            row.max_minutes = Some(row.max_minutes.map_or(m, |x: f64| x.max(m)));
        }
    }
    for r in &d.rto {
        if let Some(row) = rows.get_mut(r.resource.as_str()) {
            row.rto_minutes = Some(r.rto_minutes);
            row.over_rto += u64::from(r.breached());
        }
    }
    let mut rows: Vec<RestoreResourceRow> = rows.into_values().collect();
    for r in &mut rows {
        r.max_minutes = r.max_minutes.map(round2);
    }
    let trouble = |r: &RestoreResourceRow| r.over_rto + (r.tests - r.passed);
    rows.sort_by(|a, b| trouble(b).cmp(&trouble(a)).then_with(|| a.resource.cmp(&b.resource)));
    rows
}

fn empty_row(arn: &str) -> RestoreResourceRow {
    let (account, region) = crate::arn::account_region(arn);
    RestoreResourceRow {
        resource: arn.rsplit([':', '/']).next().unwrap_or(arn).to_owned(),
        account_id: account.unwrap_or_default().to_owned(),
        region: region.unwrap_or_default().to_owned(),
        tests: 0,
        passed: 0,
        max_minutes: None,
        rto_minutes: None,
        over_rto: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assess::RtoResult;
    use crate::time::Timestamp;

    fn test(arn: &str, passed: bool, minutes: Option<f64>) -> TestFact {
        TestFact {
            job_id: "j".into(),
            created: Timestamp::parse("2026-07-01T00:00:00Z").ok(),
            resource_arn: Some(arn.into()),
            resource_type: None,
            state: if passed { "COMPLETED" } else { "FAILED" }.into(),
            validation: None,
            passed,
            duration: minutes,
            scope: 0,
        }
    }

    #[test]
    fn restores_are_summarised_per_resource_troubled_first() {
        let (db, fs) = ("arn:aws:rds:eu-west-1:444455556666:db:pay", "arn:aws:efs:eu-west-1:111122223333:fs/x");
        let tests = [
            test(fs, true, Some(10.0)),
            test(db, true, Some(130.0)),
            test(db, true, Some(90.0)),
            test(db, false, None),
        ];
        let rto =
            |minutes| RtoResult { job_id: "j".into(), resource: db.into(), minutes, rto_minutes: 120.0, created: None };
        let d = Derived { rto: vec![rto(130.0), rto(90.0)], ..Derived::default() };
        let rows = restores(&tests, &d);
        assert_eq!(rows.iter().map(|r| r.resource.as_str()).collect::<Vec<_>>(), ["pay", "x"]);
        let pay = &rows[0];
        assert_eq!((pay.tests, pay.passed, pay.over_rto), (3, 2, 1));
        assert_eq!((pay.max_minutes, pay.rto_minutes), (Some(130.0), Some(120.0)));
        assert_eq!((pay.account_id.as_str(), pay.region.as_str()), ("444455556666", "eu-west-1"));
        assert_eq!((rows[1].over_rto, rows[1].rto_minutes), (0, None));
    }
}
