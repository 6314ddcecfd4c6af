//! The per-account × Region view (after AWS Backup's cross-account monitoring): one row per
//! account and Region where the period has backup, copy or restore jobs or a resource with an
//! RPO target, worst first.
//!
//! The job counts are tallied while the records stream through [`MetricsAccumulator`] (one
//! [`ScopeTally`] per scope, found through a [`ScopeIndex`] that allocates only for a new
//! scope); the RPO and RTO results come from [`Derived`], and whether failed backups reach a
//! person from the `failure_detection` check's per-scope verdict ([`AlertScope`]). Each column
//! counts exactly what its metric counts, so a column's sum over the rows is the metric: a job
//! without account or Region takes them from its resource ARN, else the row `unknown`.
//! [`rows`] is the one place the rows are made; `account_regions.csv` and the report's section
//! "Per account and Region" both read them.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::checks::AlertScope;
use super::{Derived, MetricsAccumulator, TestFact, ratio};
use crate::evidence::model::{Job, TaggedResource};

/// The account or Region of a job or resource that names neither.
const UNKNOWN: &str = "unknown";
/// Failure categories and resource types named per row; the rest are summed as `other`.
const TOP: usize = 4;

/// What the in-period jobs of one account and Region add up to.
#[derive(Debug, Clone, Default)]
pub(crate) struct ScopeTally {
    /// Backup jobs: completed, ended otherwise (failed, aborted, expired, partial), not ended.
    backups: [u64; 3],
    /// Backups that ended without completing, per failure category.
    categories: BTreeMap<String, u64>,
    /// Backups that ended without completing, per resource type.
    failed_types: BTreeMap<String, u64>,
    /// Copy jobs, and those FAILED (as `copy_jobs_failed` counts them).
    copies: u64,
    copies_failed: u64,
}

/// One row of the per-account × Region view: a line of `account_regions.csv` (columns in
/// field order) and of the report's table. Every count is over the period, as the metric of
/// the same meaning (README, "Metrics") counts it, so each column sums to its metric.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScopeRow {
    /// The account (`unknown` when neither the job nor its resource ARN names it).
    pub account_id: String,
    /// The Region (`unknown` likewise).
    pub region: String,
    /// `attention` when a backup, copy or restore test failed, an RPO or RTO was breached,
    /// or failed backups may reach nobody; else `ok`.
    pub status: String,
    /// Backup jobs created in the period (parents excluded): sums to `backup_jobs_total`.
    pub backup_jobs: u64,
    /// Of them COMPLETED: sums to `backup_jobs_completed`.
    pub backup_completed: u64,
    /// Of them FAILED, ABORTED, EXPIRED or PARTIAL: sums to `backup_jobs_failed` +
    /// `backup_jobs_aborted` + `backup_jobs_expired` + `backup_jobs_partial`.
    pub backup_failed: u64,
    /// Of them not ended at the last observation: sums to `backup_jobs_not_finished`.
    pub backup_not_finished: u64,
    /// Completed ÷ ended backup jobs, as `backup_success_rate` (empty when none ended).
    pub backup_success_rate: Option<f64>,
    /// Backups that ended without completing by `MessageCategory` (else the cause read from
    /// the message), most first: `AccessDenied 12, StartWindowExpired 3`.
    pub failure_categories: String,
    /// The same backups by resource type, most first: `EC2 3, RDS 1`.
    pub failure_resource_types: String,
    /// Copy jobs created in the period (by source account and Region): sums to
    /// `copy_jobs_total`.
    pub copy_jobs: u64,
    /// Of them FAILED: sums to `copy_jobs_failed`.
    pub copy_jobs_failed: u64,
    /// Restore tests created in the period: sums to `restore_tests_total`.
    pub restore_tests: u64,
    /// Of them passed: sums to `restore_tests_passed`.
    pub restore_tests_passed: u64,
    /// Resources with an RPO target: sums to `resources_with_rpo_target`.
    pub resources_with_rpo_target: u64,
    /// Of them breaching it: sums to `resources_with_rpo_breach`.
    pub resources_with_rpo_breach: u64,
    /// Completed restore tests longer than their RTO: sums to `rto_breaches`.
    pub rto_breaches: u64,
    /// Whether failed backups reach a person (the `failure_detection` check's verdict for the
    /// scope): `yes`, `no`, `unknown` (only topics whose subscribers were not collected),
    /// `no jobs` (no backup job), or `not assessed` (the check did not judge the scope).
    pub failures_reach_person: String,
}

impl ScopeTally {
    /// An in-period backup job in `state` (`ended`: a terminal state); `category` for one
    /// that ended without completing.
    pub(crate) fn backup(&mut self, j: &Job, completed: bool, ended: bool, category: Option<&str>) {
        let slot = match (completed, ended) {
            (true, _) => 0,
            (false, true) => 1,
            (false, false) => 2,
        };
        self.backups[slot] += 1;
        if let Some(category) = category {
            bump(&mut self.categories, category);
            bump(&mut self.failed_types, &resource_type(j));
        }
    }

    /// An in-period copy job.
    pub(crate) fn copy(&mut self, failed: bool) {
        self.copies += 1;
        self.copies_failed += u64::from(failed);
    }
}

/// Adds one to `key`'s count, allocating only for a new key.
fn bump(counts: &mut BTreeMap<String, u64>, key: &str) {
    match counts.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            counts.insert(key.to_owned(), 1);
        }
    }
}

/// The job's resource type, else the one its ARN implies, else `unknown`.
fn resource_type(j: &Job) -> String {
    j.resource_type
        .as_deref()
        .or_else(|| j.resource_arn.as_deref().and_then(crate::arn::backup_resource_type))
        .unwrap_or(UNKNOWN)
        .to_owned()
}

/// The job's account and Region, each else from its resource ARN.
fn job_scope(j: &Job) -> (&str, &str) {
    let (a, r) = j.resource_arn.as_deref().map(crate::arn::account_region).unwrap_or((None, None));
    (j.account_id.as_deref().or(a).unwrap_or(UNKNOWN), j.region.as_deref().or(r).unwrap_or(UNKNOWN))
}

impl MetricsAccumulator {
    /// The index of the job's scope in `scope_tallies`, added when new.
    pub(crate) fn scope_index(&mut self, j: &Job) -> usize {
        let (account, region) = job_scope(j);
        if let Some(i) = self.scope_ix.get(account, region) {
            return i;
        }
        let i = self.scope_tallies.len();
        self.scope_tallies.push(((account.to_owned(), region.to_owned()), ScopeTally::default()));
        self.scope_ix.insert(account, region, i);
        i
    }
}

/// Account → Region → value, looked up with borrowed names: every job meets it, an
/// organisation has tens of thousands of pairs, and a linear search over them made the
/// assessment quadratic (BENCHMARKS.md, "Assessment at organisation scale").
#[derive(Debug, Clone, Default)]
pub(crate) struct ScopeIndex<V>(foldhash::HashMap<String, foldhash::HashMap<String, V>>);

impl<V: Copy> ScopeIndex<V> {
    pub(crate) fn get(&self, account: &str, region: &str) -> Option<V> {
        self.0.get(account)?.get(region).copied()
    }

    pub(crate) fn insert(&mut self, account: &str, region: &str, v: V) {
        match self.0.get_mut(account) {
            Some(regions) => {
                regions.insert(region.to_owned(), v);
            }
            None => {
                self.0.insert(account.to_owned(), std::iter::once((region.to_owned(), v)).collect());
            }
        }
    }
}

/// A set of (account, Region) pairs, in order, that a job can be checked against without
/// allocating. Reads go through the set itself ([`Deref`](std::ops::Deref)); pairs are added
/// only by [`ScopeSet::note`], which keeps the index in step.
#[derive(Debug, Clone, Default)]
pub(crate) struct ScopeSet {
    pairs: BTreeSet<(String, String)>,
    index: ScopeIndex<()>,
}

impl ScopeSet {
    /// Adds the pair when new.
    pub(crate) fn note(&mut self, account: &str, region: &str) {
        if self.index.get(account, region).is_none() {
            self.index.insert(account, region, ());
            self.pairs.insert((account.to_owned(), region.to_owned()));
        }
    }
}

impl std::ops::Deref for ScopeSet {
    type Target = BTreeSet<(String, String)>;

    fn deref(&self) -> &Self::Target {
        &self.pairs
    }
}

/// The rows of the view, worst first ([`worst_first`]).
pub(crate) fn rows(
    acc: &MetricsAccumulator,
    derived: &Derived,
    alerts: &[AlertScope],
    tags: &[TaggedResource],
) -> Vec<ScopeRow> {
    let mut by_scope: BTreeMap<(String, String), ScopeRow> = BTreeMap::new();
    let scope_of =
        |i: usize| acc.scope_tallies.get(i).map_or((UNKNOWN, UNKNOWN), |((a, r), _)| (a.as_str(), r.as_str()));
    for ((a, r), t) in &acc.scope_tallies {
        jobs(row(&mut by_scope, (a, r)), t);
    }
    let test_scope: HashMap<&str, usize> = acc.tests.iter().map(|t| (t.job_id.as_str(), t.scope)).collect();
    for t in &acc.tests {
        tests(row(&mut by_scope, scope_of(t.scope)), t);
    }
    let rto = derived.rto.iter().filter(|x| x.breached());
    for x in rto.filter_map(|x| test_scope.get(x.job_id.as_str())) {
        row(&mut by_scope, scope_of(*x)).rto_breaches += 1;
    }
    let tag_scope: HashMap<&str, (Option<&str>, Option<&str>)> =
        tags.iter().map(|t| (t.resource_arn.as_str(), (t.account_id.as_deref(), t.region.as_deref()))).collect();
    for x in &derived.rpo {
        let scope = match acc.resources.get(&x.resource).and_then(|f| f.scope) {
            Some(i) => scope_of(i),
            None => resource_scope(&x.resource, tag_scope.get(x.resource.as_str()).copied()),
        };
        let r = row(&mut by_scope, scope);
        r.resources_with_rpo_target += 1;
        r.resources_with_rpo_breach += u64::from(x.breached());
    }
    let mut rows: Vec<ScopeRow> = by_scope.into_values().collect();
    for r in &mut rows {
        r.failures_reach_person = reach(r, alerts);
        r.status = status(r).to_owned();
    }
    rows.sort_by(worst_first);
    rows
}

/// The row of a scope, added when new.
fn row<'m>(rows: &'m mut BTreeMap<(String, String), ScopeRow>, (a, r): (&str, &str)) -> &'m mut ScopeRow {
    rows.entry((a.to_owned(), r.to_owned())).or_insert_with(|| ScopeRow {
        account_id: a.to_owned(),
        region: r.to_owned(),
        ..ScopeRow::default()
    })
}

/// A resource's account and Region from its ARN, else from the tag inventory.
fn resource_scope<'a>(arn: &'a str, tagged: Option<(Option<&'a str>, Option<&'a str>)>) -> (&'a str, &'a str) {
    let (a, r) = crate::arn::account_region(arn);
    let (ta, tr) = tagged.unwrap_or((None, None));
    (a.or(ta).unwrap_or(UNKNOWN), r.or(tr).unwrap_or(UNKNOWN))
}

/// The job columns of a row from its tally.
fn jobs(row: &mut ScopeRow, t: &ScopeTally) {
    let [completed, failed, open] = t.backups;
    row.backup_jobs = completed + failed + open;
    row.backup_completed = completed;
    row.backup_failed = failed;
    row.backup_not_finished = open;
    row.backup_success_rate = ratio(completed, completed + failed);
    row.failure_categories = top(&t.categories);
    row.failure_resource_types = top(&t.failed_types);
    row.copy_jobs = t.copies;
    row.copy_jobs_failed = t.copies_failed;
}

/// A restore test's contribution to its row.
fn tests(row: &mut ScopeRow, t: &TestFact) {
    row.restore_tests += 1;
    row.restore_tests_passed += u64::from(t.passed);
}

/// The [`TOP`] largest counts, most first (ties by name), the rest summed as `other`.
fn top(counts: &BTreeMap<String, u64>) -> String {
    let mut v: Vec<(&String, &u64)> = counts.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    let mut parts: Vec<String> = v.iter().take(TOP).map(|(k, n)| format!("{k} {n}")).collect();
    let rest: u64 = v.iter().skip(TOP).map(|(_, n)| **n).sum();
    if rest > 0 {
        parts.push(format!("other {rest}"));
    }
    parts.join(", ")
}

/// The `failure_detection` verdict for failed backups of the row's scope.
fn reach(row: &ScopeRow, alerts: &[AlertScope]) -> String {
    let verdict = alerts.iter().find(|s| s.account_id == row.account_id && s.region == row.region);
    match verdict.and_then(|s| s.reach.first()) {
        Some(r) => r.clone(),
        None if row.backup_jobs == 0 => "no jobs".to_owned(),
        None => "not assessed".to_owned(),
    }
}

/// `attention` or `ok` (see [`ScopeRow::status`]).
fn status(r: &ScopeRow) -> &'static str {
    let failed = r.backup_failed + r.copy_jobs_failed + (r.restore_tests - r.restore_tests_passed);
    let breached = r.resources_with_rpo_breach + r.rto_breaches;
    let alerting = matches!(r.failures_reach_person.as_str(), "yes" | "no jobs");
    if failed + breached > 0 || !alerting { "attention" } else { "ok" }
}

/// Worst first: the larger share of ended backups that did not complete, then more
/// resources with an RPO breach, then more restore tests over their RTO, then failed backups
/// that reach no person (`no`, then `unknown` / `not assessed`, then `yes`), then more failed
/// copies and restore tests; ties by account and Region.
pub(crate) fn worst_first(a: &ScopeRow, b: &ScopeRow) -> Ordering {
    // Shares compared exactly: fa / ea against fb / eb as fa · eb against fb · ea, a scope
    // without ended backups counting as 0.
    let share = |r: &ScopeRow| (u128::from(r.backup_failed), u128::from(r.backup_failed + r.backup_completed).max(1));
    let ((fa, ea), (fb, eb)) = (share(a), share(b));
    let alert_rank = |r: &ScopeRow| match r.failures_reach_person.as_str() {
        "no" => 0,
        "unknown" | "not assessed" => 1,
        _ => 2,
    };
    let other_failures = |r: &ScopeRow| r.copy_jobs_failed + r.restore_tests - r.restore_tests_passed;
    (fb * ea)
        .cmp(&(fa * eb))
        .then_with(|| b.resources_with_rpo_breach.cmp(&a.resources_with_rpo_breach))
        .then_with(|| b.rto_breaches.cmp(&a.rto_breaches))
        .then_with(|| alert_rank(a).cmp(&alert_rank(b)))
        .then_with(|| other_failures(b).cmp(&other_failures(a)))
        .then_with(|| (&a.account_id, &a.region).cmp(&(&b.account_id, &b.region)))
}

/// `account_regions.csv`: a header of [`ScopeRow`]'s field names, then one line per row,
/// worst first.
pub(crate) fn csv(rows: &[ScopeRow]) -> Vec<u8> {
    super::csv_of(COLUMNS, rows)
}

/// The columns of `account_regions.csv`: [`ScopeRow`]'s fields in order (a unit test holds
/// them equal), written even when there is no row.
const COLUMNS: &[&str] = &[
    "account_id",
    "region",
    "status",
    "backup_jobs",
    "backup_completed",
    "backup_failed",
    "backup_not_finished",
    "backup_success_rate",
    "failure_categories",
    "failure_resource_types",
    "copy_jobs",
    "copy_jobs_failed",
    "restore_tests",
    "restore_tests_passed",
    "resources_with_rpo_target",
    "resources_with_rpo_breach",
    "rto_breaches",
    "failures_reach_person",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::evidence::Record;
    use crate::evidence::model::{JobKind, ValidationStatus};
    use crate::time::Timestamp;

    #[test]
    fn a_scope_set_keeps_each_pair_once_in_order_and_finds_it_by_name() {
        let mut set = ScopeSet::default();
        for (a, r) in [("2", "eu-west-1"), ("1", "eu-west-1"), ("2", "eu-west-1"), ("1", "eu-central-1")] {
            set.note(a, r);
        }
        let pairs: Vec<(&str, &str)> = set.iter().map(|(a, r)| (a.as_str(), r.as_str())).collect();
        assert_eq!(pairs, [("1", "eu-central-1"), ("1", "eu-west-1"), ("2", "eu-west-1")]);
        assert!(set.contains(&("2".to_owned(), "eu-west-1".to_owned())));
        let mut ix = ScopeIndex::default();
        ix.insert("1", "eu-west-1", 7usize);
        assert_eq!(
            (ix.get("1", "eu-west-1"), ix.get("1", "eu-central-1"), ix.get("2", "eu-west-1")),
            (Some(7), None, None)
        );
    }

    const DB1: &str = "arn:aws:rds:eu-central-1:111111111111:db:db1";
    const I1: &str = "arn:aws:ec2:eu-west-1:222222222222:instance/i-1";

    /// A job of the period in `scope` (`None`: the job names no account or Region).
    fn job(kind: JobKind, id: &str, state: &str, scope: Option<(&str, &str)>, arn: Option<&str>) -> Job {
        Job {
            kind: Some(kind),
            job_id: id.into(),
            state: Some(state.into()),
            account_id: scope.map(|s| s.0.into()),
            region: scope.map(|s| s.1.into()),
            resource_arn: arn.map(str::to_owned),
            creation_date: Some(Timestamp::parse("2026-08-01T01:00:00Z").unwrap()),
            completion_date: Some(Timestamp::parse("2026-08-01T01:30:00Z").unwrap()),
            ..Job::default()
        }
    }

    /// A restore test of DB1 taking `minutes`.
    fn test(id: &str, state: &str, minutes: i64) -> Job {
        let mut j = job(JobKind::Restore, id, state, Some(("111111111111", "eu-central-1")), Some(DB1));
        j.restore_testing_plan_arn = Some("arn:plan".into());
        j.validation_status = (state == "COMPLETED").then(|| ValidationStatus::from("SUCCESSFUL"));
        let start = j.creation_date.unwrap().millis();
        j.completion_date = Some(Timestamp(start + minutes * 60_000));
        j
    }

    /// Two scopes with jobs, one only in the tag inventory, one known to no ARN.
    fn fixture() -> Vec<Job> {
        let a = Some(("111111111111", "eu-central-1"));
        let rds = |id: &str, state: &str, f: fn(&mut Job)| {
            let mut j = job(JobKind::Backup, id, state, a, Some(DB1));
            j.resource_type = Some("RDS".into());
            f(&mut j);
            j
        };
        vec![
            rds("b1", "COMPLETED", |_| {}),
            rds("b2", "COMPLETED", |_| {}),
            rds("b3", "FAILED", |j| j.message_category = Some("AccessDenied".into())),
            rds("b4", "ABORTED", |j| j.status_message = Some("The start window has expired".into())),
            rds("b5", "RUNNING", |j| j.completion_date = None),
            test("t1", "COMPLETED", 30),
            test("t2", "COMPLETED", 90), // over the 60-minute RTO, yet passed
            test("t3", "FAILED", 5),
            job(JobKind::Copy, "c1", "COMPLETED", a, Some(DB1)),
            job(JobKind::Copy, "c2", "FAILED", a, Some(DB1)),
            // Account and Region from the resource ARN, the type too.
            job(JobKind::Backup, "b6", "COMPLETED", None, Some(I1)),
            job(JobKind::Backup, "b7", "EXPIRED", None, Some(I1)),
            // Neither job nor ARN names a scope.
            job(JobKind::Copy, "c3", "COMPLETED", None, None),
        ]
    }

    fn alert(account: &str, region: &str, backup: &str) -> AlertScope {
        let reach = [backup, "no jobs", "no jobs"].map(str::to_owned).to_vec();
        AlertScope { account_id: account.into(), region: region.into(), reach, through: vec![], not_counted: vec![] }
    }

    fn assessed() -> (Vec<ScopeRow>, super::super::Metrics) {
        let period = "2026-Q3".parse().unwrap();
        let mut acc = MetricsAccumulator::new(period);
        for j in fixture() {
            acc.observe(&Record::Job(j));
        }
        let config = Config::parse("[[target]]\nname = \"all\"\nrpo_hours = 24\nrto_minutes = 60\n").unwrap();
        let bucket = TaggedResource {
            resource_arn: "arn:aws:s3:::bucket".into(),
            account_id: Some("333333333333".into()),
            region: Some("eu-north-1".into()),
            ..TaggedResource::default()
        };
        let tags = [bucket];
        let derived = acc.derive(&config, &tags);
        let alerts = [alert("111111111111", "eu-central-1", "yes"), alert("222222222222", "eu-west-1", "no")];
        (rows(&acc, &derived, &alerts, &tags), acc.metrics(&derived))
    }

    #[test]
    fn rows_of_a_hand_made_estate_worst_first() {
        let (rows, _) = assessed();
        let scopes: Vec<(&str, &str)> = rows.iter().map(|r| (r.account_id.as_str(), r.region.as_str())).collect();
        // Both job scopes lost half their ended backups and one resource's RPO; the first
        // also has an RTO breach. Then the bucket's RPO breach, then the clean row.
        assert_eq!(
            scopes,
            [
                ("111111111111", "eu-central-1"),
                ("222222222222", "eu-west-1"),
                ("333333333333", "eu-north-1"),
                ("unknown", "unknown")
            ]
        );
        let a = &rows[0];
        assert_eq!((a.backup_jobs, a.backup_completed, a.backup_failed, a.backup_not_finished), (5, 2, 2, 1));
        assert_eq!(a.backup_success_rate, Some(0.5));
        assert_eq!(a.failure_categories, "AccessDenied 1, StartWindowExpired 1");
        assert_eq!(a.failure_resource_types, "RDS 2");
        assert_eq!((a.copy_jobs, a.copy_jobs_failed), (2, 1));
        assert_eq!((a.restore_tests, a.restore_tests_passed, a.rto_breaches), (3, 2, 1));
        assert_eq!((a.resources_with_rpo_target, a.resources_with_rpo_breach), (1, 1));
        assert_eq!((a.failures_reach_person.as_str(), a.status.as_str()), ("yes", "attention"));
        let b = &rows[1];
        assert_eq!((b.backup_jobs, b.backup_failed, b.failure_categories.as_str()), (2, 1, "EXPIRED 1"));
        assert_eq!((b.failure_resource_types.as_str(), b.failures_reach_person.as_str()), ("EC2 1", "no"));
        let c = &rows[2];
        assert_eq!((c.backup_jobs, c.resources_with_rpo_target, c.resources_with_rpo_breach), (0, 1, 1));
        assert_eq!((c.backup_success_rate, c.failures_reach_person.as_str()), (None, "no jobs"));
        let u = &rows[3];
        assert_eq!((u.copy_jobs, u.status.as_str(), u.failure_categories.as_str()), (1, "ok", ""));
    }

    #[test]
    fn every_column_sums_to_its_metric() {
        let (rows, m) = assessed();
        let sum = |f: fn(&ScopeRow) -> u64| rows.iter().map(f).sum::<u64>();
        assert_eq!(sum(|r| r.backup_jobs), m.backup_jobs_total);
        assert_eq!(sum(|r| r.backup_completed), m.backup_jobs_completed);
        let failed = m.backup_jobs_failed + m.backup_jobs_aborted + m.backup_jobs_expired + m.backup_jobs_partial;
        assert_eq!(sum(|r| r.backup_failed), failed);
        assert_eq!(sum(|r| r.backup_not_finished), m.backup_jobs_not_finished);
        assert_eq!((sum(|r| r.copy_jobs), sum(|r| r.copy_jobs_failed)), (m.copy_jobs_total, m.copy_jobs_failed));
        assert_eq!(sum(|r| r.restore_tests), m.restore_tests_total);
        assert_eq!(sum(|r| r.restore_tests_passed), m.restore_tests_passed);
        assert_eq!(sum(|r| r.resources_with_rpo_target), m.resources_with_rpo_target);
        assert_eq!(sum(|r| r.resources_with_rpo_breach), m.resources_with_rpo_breach);
        assert_eq!(sum(|r| r.rto_breaches), m.rto_breaches);
        // Not vacuous: the fixture has some of everything.
        assert_eq!((m.backup_jobs_total, failed, m.copy_jobs_total, m.rto_breaches), (7, 3, 3, 1));
        assert_eq!((m.resources_with_rpo_target, m.resources_with_rpo_breach), (3, 3));
    }

    #[test]
    fn top_names_four_and_sums_the_rest() {
        let counts: BTreeMap<String, u64> =
            [("a", 1), ("b", 5), ("c", 2), ("d", 2), ("e", 1), ("f", 3)].map(|(k, n)| (k.to_owned(), n)).into();
        assert_eq!(top(&counts), "b 5, f 3, c 2, d 2, other 2");
        assert_eq!(top(&BTreeMap::new()), "");
    }

    #[test]
    fn the_csv_header_is_the_row_fields_in_order() {
        // csv's own header of a serialized row names the fields in declaration order.
        let mut w = csv::Writer::from_writer(Vec::new());
        w.serialize(ScopeRow::default()).unwrap();
        let derived = String::from_utf8(w.into_inner().unwrap()).unwrap();
        assert_eq!(derived.lines().next(), Some(COLUMNS.join(",").as_str()));
        let text = String::from_utf8(csv(&[])).unwrap();
        assert_eq!(text, format!("{}\n", COLUMNS.join(",")), "the header even without rows");
    }
}
