//! Assessment: from the merged evidence of a period to the numbers a supervisor reads.
//!
//! The bulky records arrive once, in key order, from the merge ([`crate::evidence::assemble`]);
//! [`MetricsAccumulator::observe`] keeps only what the metrics need (counts, each resource's
//! completion times, one small fact per restore test). [`MetricsAccumulator::finish`] then
//! applies the user's targets, which need the tag inventory, and returns [`Metrics`]. The
//! definitions (DESIGN §3, §6) are a contract documented in README.md; every one is pinned by
//! a unit test on a hand-computed fixture below.

pub mod checks;
pub mod mapping;
pub mod overview;
pub mod scopes;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use crate::config::Config;
use crate::evidence::model::{ControlResult, Job, JobKind, JobState, MalwareScan, RecoveryPoint, TaggedResource};
use crate::evidence::{Evidence, Record};
use crate::time::{Period, Timestamp};

/// `metrics.json`: a flat object, keys in this order; counts are integers, rates are in 0..1
/// rounded to 4 places, minutes rounded to 2 places, `null` where the set is empty.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[allow(missing_docs)] // each key is defined in README.md, "Metrics"
pub struct Metrics {
    pub period: String,
    pub backup_jobs_total: u64,
    pub backup_jobs_completed: u64,
    pub backup_jobs_failed: u64,
    pub backup_jobs_aborted: u64,
    pub backup_jobs_expired: u64,
    pub backup_jobs_partial: u64,
    pub backup_jobs_not_finished: u64,
    pub backup_success_rate: Option<f64>,
    pub copy_jobs_total: u64,
    pub copy_jobs_completed: u64,
    pub copy_jobs_failed: u64,
    pub restore_jobs_total: u64,
    pub restore_tests_total: u64,
    pub restore_tests_passed: u64,
    pub restore_test_pass_rate: Option<f64>,
    pub restore_test_duration_minutes_p95: Option<f64>,
    pub restore_test_duration_minutes_max: Option<f64>,
    pub rto_breaches: u64,
    pub resources_considered: u64,
    pub resources_with_rpo_target: u64,
    pub resources_with_rpo_breach: u64,
    pub restore_test_candidates: u64,
    pub untested_candidates: u64,
}

/// What one restore test contributes.
#[derive(Debug, Clone)]
pub(crate) struct TestFact {
    pub(crate) job_id: String,
    pub(crate) created: Option<Timestamp>,
    pub(crate) resource_arn: Option<String>,
    pub(crate) resource_type: Option<String>,
    pub(crate) state: String,
    pub(crate) validation: Option<String>,
    pub(crate) passed: bool,
    /// Minutes, for COMPLETED tests with both times.
    pub(crate) duration: Option<f64>,
    /// Its account and Region: an index into [`MetricsAccumulator::scope_tallies`].
    pub(crate) scope: usize,
}

#[derive(Debug, Default, Clone)]
struct ResourceFacts {
    resource_type: Option<String>,
    /// Whether a backup job of this resource was created in the period.
    job_in_period: bool,
    /// Completion times (ms) of COMPLETED backups completed inside the period.
    completions: Vec<i64>,
    /// The latest completion (ms) before the period start: where the age of the newest
    /// recovery point runs from at the period start (DESIGN §6, v2).
    before: Option<i64>,
    /// The account and Region of its first in-period backup job (an index into
    /// [`MetricsAccumulator::scope_tallies`]).
    scope: Option<usize>,
}

/// Folds merged records into what the metrics need.
#[derive(Debug)]
pub struct MetricsAccumulator {
    pub(crate) period: Period,
    pub(crate) backup: BTreeMap<String, u64>,
    pub(crate) copy: BTreeMap<String, u64>,
    pub(crate) restore_jobs: u64,
    pub(crate) tests: Vec<TestFact>,
    resources: foldhash::HashMap<String, ResourceFacts>,
    /// In-period backup jobs that ended without completing.
    pub(crate) failures: Vec<Failure>,
    /// (account, Region) of in-period backup jobs: the scope in use.
    pub(crate) scopes: scopes::ScopeSet,
    /// (account, Region) of in-period copy jobs and of in-period restore jobs.
    pub(crate) copy_scopes: scopes::ScopeSet,
    pub(crate) restore_scopes: scopes::ScopeSet,
    /// Vaults written by in-period backup jobs.
    pub(crate) vaults_used: BTreeSet<String>,
    /// In-period COMPLETED backup jobs and recovery points that are not encrypted.
    pub(crate) unencrypted: Vec<Unencrypted>,
    /// In-period COMPLETED backup jobs and recovery points that say whether they are encrypted.
    pub(crate) encryption_known: u64,
    /// Per source resource: where COMPLETED copy jobs of the period copied it.
    pub(crate) copies: HashMap<String, CopyReach>,
    /// In-period copy jobs that failed.
    pub(crate) copy_failures: Vec<String>,
    /// Vaults written in the period: vault ARN → the resources whose recovery points it
    /// received (COMPLETED backups and copies, recovery points created in the period).
    pub(crate) held: BTreeMap<String, BTreeSet<String>>,
    /// Per source resource: the vaults COMPLETED copy jobs of the period copied it to, each
    /// with whether that vault is in another account than the copy's source vault.
    pub(crate) copied_to: BTreeMap<String, BTreeSet<(String, bool)>>,
    /// Latest in-period evaluation per control and scope.
    pub(crate) controls: BTreeMap<String, ControlFact>,
    /// Artifacts behind each kind of evidence.
    pub(crate) support: Support,
    /// Backup outcomes per week (Monday 00:00 UTC, ms): completed, failed (any other
    /// terminal state), not finished.
    pub(crate) weekly: BTreeMap<i64, [u64; 3]>,
    /// Per (account, Region) of in-period backup, copy and restore jobs (else of their
    /// resource ARN): what the jobs add up to, for the per-account view ([`scopes`]).
    pub(crate) scope_tallies: Vec<((String, String), scopes::ScopeTally)>,
    /// Where each scope is in `scope_tallies`.
    scope_ix: scopes::ScopeIndex<usize>,
    /// What the malware-scan check needs from the period's scans.
    pub(crate) scans: ScanFacts,
}

/// Where a resource was copied to, by COMPLETED copy jobs of the period.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CopyReach {
    /// To a vault in another Region.
    pub(crate) other_region: bool,
    /// To a vault in another account.
    pub(crate) other_account: bool,
}

impl CopyReach {
    /// Whether a copy left the source's account or Region.
    pub(crate) fn off_site(self) -> bool {
        self.other_region || self.other_account
    }
}

/// A backup job that ended without completing.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    /// The job.
    pub(crate) job_id: String,
    /// Its terminal state (FAILED, ABORTED, EXPIRED, PARTIAL).
    pub(crate) state: String,
    /// The resource it was to back up (empty when unknown).
    pub(crate) resource_arn: String,
    /// AWS's status message (empty when none).
    pub(crate) message: String,
    /// `MessageCategory`, else a cause read from the message ([`category_of`]).
    pub(crate) category: String,
    /// When the job was created.
    pub(crate) created: Option<Timestamp>,
}

/// A completed backup or recovery point of the period that is not encrypted.
#[derive(Debug, Clone)]
pub(crate) struct Unencrypted {
    /// `backup job <id> (<resource>)`, or the recovery point ARN.
    pub(crate) text: String,
    /// The resource backed up (empty when unknown).
    pub(crate) resource: String,
    /// When the job or recovery point was created.
    pub(crate) at: Option<Timestamp>,
}

/// The latest evaluation of one control in one scope.
#[derive(Debug, Clone)]
pub(crate) struct ControlFact {
    /// `control in account/Region`.
    pub(crate) label: String,
    /// Compliance status (`UNKNOWN` when absent).
    pub(crate) status: String,
    /// When it was evaluated (ms).
    pub(crate) time: i64,
    /// Resources found non-compliant.
    pub(crate) non_compliant: u64,
}

/// The period's malware scans, folded for the `malware_scans` check.
#[derive(Debug, Default, Clone)]
pub(crate) struct ScanFacts {
    /// Scans created (or completed) in the period.
    pub(crate) in_period: u64,
    /// Resources with a clean scan in the period.
    pub(crate) clean: BTreeSet<String>,
    /// The period's scans of a named resource that found malware, failed, were canceled or
    /// ended with issues, in scan job id order (few, and each is reported).
    pub(crate) notable: Vec<MalwareScan>,
    /// Artifacts behind the period's scans.
    pub(crate) artifacts: BTreeSet<u32>,
}

/// Artifact indices behind each kind of evidence (for `evidence_artifacts`).
#[derive(Debug, Default, Clone)]
pub(crate) struct Support {
    pub(crate) backups: BTreeSet<u32>,
    pub(crate) copies: BTreeSet<u32>,
    pub(crate) restores: BTreeSet<u32>,
    pub(crate) controls: BTreeSet<u32>,
    pub(crate) recovery_points: BTreeSet<u32>,
}

impl MetricsAccumulator {
    /// An empty accumulator for a period.
    pub fn new(period: Period) -> Self {
        MetricsAccumulator {
            period,
            backup: BTreeMap::new(),
            copy: BTreeMap::new(),
            restore_jobs: 0,
            tests: Vec::new(),
            resources: foldhash::HashMap::default(),
            failures: Vec::new(),
            scopes: scopes::ScopeSet::default(),
            copy_scopes: scopes::ScopeSet::default(),
            restore_scopes: scopes::ScopeSet::default(),
            vaults_used: BTreeSet::new(),
            unencrypted: Vec::new(),
            encryption_known: 0,
            copies: HashMap::new(),
            copy_failures: Vec::new(),
            held: BTreeMap::new(),
            copied_to: BTreeMap::new(),
            controls: BTreeMap::new(),
            support: Support::default(),
            weekly: BTreeMap::new(),
            scope_tallies: Vec::new(),
            scope_ix: scopes::ScopeIndex::default(),
            scans: ScanFacts::default(),
        }
    }

    /// Takes one merged record (records other than jobs, recovery points and control
    /// evaluations are ignored).
    pub fn observe(&mut self, record: &Record) {
        match record {
            Record::Job(job) => self.job(job),
            Record::RecoveryPoint(rp) => self.recovery_point(rp),
            Record::Control(c) => self.control(c),
            Record::MalwareScan(s) => self.scan(s),
            _ => {}
        }
    }

    /// A malware scan: counted when created (or completed) in the period; kept whole only when
    /// it found malware or did not end cleanly, so memory follows the estate, not the scans.
    fn scan(&mut self, s: &MalwareScan) {
        if !s.creation_date.or(s.completion_date).is_some_and(|t| self.period.contains(t)) {
            return;
        }
        let facts = &mut self.scans;
        facts.in_period += 1;
        facts.artifacts.extend(s.provenance.iter().map(|p| p.artifact));
        use crate::evidence::model::ScanState::{Canceled, CompletedWithIssues, Failed};
        match &s.resource_arn {
            Some(_) if s.infected() || matches!(s.state, Some(Failed | Canceled | CompletedWithIssues)) => {
                facts.notable.push(s.clone());
            }
            Some(resource) if s.clean() => {
                facts.clean.insert(resource.clone());
            }
            _ => {}
        }
    }

    /// A recovery point created in the period that says whether it is encrypted.
    fn recovery_point(&mut self, rp: &RecoveryPoint) {
        if let (Some(vault), Some(arn)) = (&rp.backup_vault_arn, &rp.resource_arn)
            && rp.status.as_deref() == Some("COMPLETED")
            && rp.creation_date.is_some_and(|t| self.period.contains(t))
        {
            hold(&mut self.held, vault, arn);
        }
        if rp.is_encrypted.is_none() || !rp.creation_date.is_some_and(|t| self.period.contains(t)) {
            return;
        }
        self.encryption_known += 1;
        if rp.is_encrypted == Some(false) {
            self.unencrypted.push(Unencrypted {
                text: rp.recovery_point_arn.clone(),
                resource: rp.resource_arn.clone().unwrap_or_default(),
                at: rp.creation_date,
            });
        }
        self.support.recovery_points.extend(rp.provenance.iter().map(|p| p.artifact));
    }

    /// A control evaluation in the period: the latest per control, scope and framework wins.
    fn control(&mut self, c: &ControlResult) {
        let Some(time) = c.last_evaluation_time.filter(|t| self.period.contains(*t)) else { return };
        let scope = format!(
            "{} in {}/{}",
            c.control_name,
            c.account_id.as_deref().unwrap_or("?"),
            c.region.as_deref().unwrap_or("?")
        );
        let key = format!("{scope}|{}", c.framework_name.as_deref().unwrap_or(""));
        let fact = ControlFact {
            label: scope,
            status: c.compliance_status.clone().unwrap_or_else(|| "UNKNOWN".into()),
            time: time.millis(),
            non_compliant: c.resources_non_compliant.unwrap_or(0),
        };
        if self.controls.get(&key).is_none_or(|old| old.time <= fact.time) {
            self.controls.insert(key, fact);
        }
        self.support.controls.extend(c.provenance.iter().map(|p| p.artifact));
    }

    fn job(&mut self, j: &Job) {
        // Parent jobs are not counted; their children are (DESIGN §3).
        if j.is_parent == Some(true) {
            return;
        }
        let state = j.state.clone().unwrap_or_else(|| JobState::from("UNKNOWN"));
        let in_period = j.creation_date.is_some_and(|t| self.period.contains(t));
        match j.kind {
            Some(JobKind::Backup) => {
                self.recovery_point_of(j, &state, in_period);
                if in_period {
                    self.in_period_backup(j, &state);
                    self.scope_backup(j, &state);
                    match self.backup.get_mut(state.as_str()) {
                        Some(n) => *n += 1,
                        None => {
                            self.backup.insert(String::from(state), 1);
                        }
                    }
                }
            }
            Some(JobKind::Copy) if in_period => {
                let scope = self.scope_index(j);
                self.scope_tallies[scope].1.copy(state == JobState::Failed);
                self.copy_job(j, state)
            }
            Some(JobKind::Restore) if in_period => {
                self.restore_jobs += 1;
                note_scope(&mut self.restore_scopes, j);
                let scope = self.scope_index(j);
                if j.is_restore_test() {
                    self.restore_test(j, state, scope);
                }
            }
            _ => {}
        }
    }

    /// What a backup job tells about its resource: that it was backed up in the period, and
    /// the completion that made a recovery point, whatever the job's creation time (DESIGN §6,
    /// v2).
    fn recovery_point_of(&mut self, j: &Job, state: &JobState, in_period: bool) {
        let Some(arn) = &j.resource_arn else { return };
        if !self.resources.contains_key(arn) {
            self.resources.insert(arn.clone(), ResourceFacts::default());
        }
        let Some(facts) = self.resources.get_mut(arn) else { return };
        if facts.resource_type.is_none() {
            facts.resource_type.clone_from(&j.resource_type);
        }
        facts.job_in_period |= in_period;
        match j.completion_date.filter(|_| *state == JobState::Completed) {
            Some(done) if self.period.contains(done) => facts.completions.push(done.millis()),
            Some(done) if done < self.period.start => {
                facts.before = facts.before.max(Some(done.millis()));
            }
            _ => {}
        }
    }

    /// A copy job of the period: where a completed one copied its resource, or its failure.
    fn copy_job(&mut self, j: &Job, state: JobState) {
        self.support.copies.extend(j.provenance.iter().map(|p| p.artifact));
        note_scope(&mut self.copy_scopes, j);
        if state == JobState::Completed
            && let Some(arn) = &j.resource_arn
        {
            let source = j.backup_vault_arn.as_deref().map(crate::arn::account_region);
            let destination = j.destination_vault_arn.as_deref().map(crate::arn::account_region);
            if let (Some((sa, sr)), Some((da, dr))) = (source, destination) {
                let reach = self.copies.entry(arn.clone()).or_default();
                reach.other_region |= sr != dr;
                reach.other_account |= sa != da;
            }
            if let Some(to) = &j.destination_vault_arn {
                hold(&mut self.held, to, arn);
                let other_account = source.zip(destination).is_some_and(|((sa, _), (da, _))| sa != da);
                self.copied_to.entry(arn.clone()).or_default().insert((to.clone(), other_account));
            }
        } else if state == JobState::Failed {
            self.copy_failures.push(j.job_id.clone());
        }
        *self.copy.entry(String::from(state)).or_default() += 1
    }

    /// A restore test of the period: it passes iff COMPLETED and validated SUCCESSFUL or not
    /// validated (DESIGN §3).
    fn restore_test(&mut self, j: &Job, state: JobState, scope: usize) {
        let completed = state == JobState::Completed;
        let validation_ok = matches!(j.validation_status.as_deref(), None | Some("SUCCESSFUL"));
        let duration = match (completed, j.creation_date, j.completion_date) {
            (true, Some(a), Some(b)) if b >= a => Some((b.millis() - a.millis()) as f64 / 60_000.0),
            _ => None,
        };
        self.tests.push(TestFact {
            job_id: j.job_id.clone(),
            created: j.creation_date,
            resource_arn: j.resource_arn.clone(),
            resource_type: j.resource_type.clone(),
            state: state.to_string(),
            validation: j.validation_status.as_deref().map(str::to_owned),
            passed: completed && validation_ok,
            duration,
            scope,
        });
        self.support.restores.extend(j.provenance.iter().map(|p| p.artifact));
    }

    /// In-period backup jobs in `state`.
    pub(crate) fn backup_count(&self, state: &str) -> u64 {
        self.backup.get(state).copied().unwrap_or(0)
    }

    /// In-period backup jobs in a terminal state.
    pub(crate) fn backups_finished(&self) -> u64 {
        BACKUP_TERMINAL.iter().map(|s| self.backup_count(s)).sum()
    }

    /// In-period backup jobs.
    pub(crate) fn backups_total(&self) -> u64 {
        self.backup.values().sum()
    }
}

/// The terminal states of a backup job (DESIGN §3).
const BACKUP_TERMINAL: [&str; 5] = ["COMPLETED", "FAILED", "ABORTED", "EXPIRED", "PARTIAL"];

impl MetricsAccumulator {
    fn in_period_backup(&mut self, j: &Job, state: &str) {
        if let Some(created) = j.creation_date {
            let slot = match state {
                "COMPLETED" => 0,
                _ if j.is_terminal() => 1,
                _ => 2,
            };
            self.weekly.entry(monday_of(created.millis()) * DAY_MS).or_default()[slot] += 1;
        }
        self.support.backups.extend(j.provenance.iter().map(|p| p.artifact));
        note_scope(&mut self.scopes, j);
        if let Some(v) = &j.backup_vault_arn {
            if !self.vaults_used.contains(v) {
                self.vaults_used.insert(v.clone());
            }
            if let (true, Some(arn)) = (state == "COMPLETED", &j.resource_arn) {
                hold(&mut self.held, v, arn);
            }
        }
        if state == "COMPLETED" && j.is_encrypted.is_some() {
            self.encryption_known += 1;
        }
        if state == "COMPLETED" && j.is_encrypted == Some(false) {
            self.unencrypted.push(Unencrypted {
                text: format!("backup job {} ({})", j.job_id, j.resource_arn.as_deref().unwrap_or("?")),
                resource: j.resource_arn.clone().unwrap_or_default(),
                at: j.creation_date,
            });
        }
        let terminal = j.is_terminal();
        if terminal && state != "COMPLETED" {
            let message = j.status_message.clone().unwrap_or_default();
            let category = failure_category(j, &message, state);
            self.failures.push(Failure {
                job_id: j.job_id.clone(),
                state: state.to_owned(),
                resource_arn: j.resource_arn.clone().unwrap_or_default(),
                message,
                category,
                created: j.creation_date,
            });
        }
    }

    /// The per-account tally of an in-period backup job, and the resource's scope when first
    /// backed up in the period.
    fn scope_backup(&mut self, j: &Job, state: &str) {
        let scope = self.scope_index(j);
        let (completed, ended) = (state == "COMPLETED", j.is_terminal());
        let message = j.status_message.as_deref().unwrap_or_default();
        let category = (ended && !completed).then(|| failure_category(j, message, state));
        self.scope_tallies[scope].1.backup(j, completed, ended, category.as_deref());
        if let Some(facts) = j.resource_arn.as_ref().and_then(|arn| self.resources.get_mut(arn)) {
            facts.scope.get_or_insert(scope);
        }
    }
}

/// A failed job's `MessageCategory`, else a cause read from its message ([`category_of`]).
fn failure_category(j: &Job, message: &str, state: &str) -> String {
    j.message_category.clone().unwrap_or_else(|| category_of(message, state))
}

/// A cause for a failed job without `MessageCategory`, from its message.
fn category_of(message: &str, state: &str) -> String {
    let m = message.to_ascii_lowercase();
    let c = if m.contains("access denied") || m.contains("accessdenied") || m.contains("not authorized") {
        "AccessDenied"
    } else if m.contains("start window") {
        "StartWindowExpired"
    } else if m.contains("kms") || m.contains("key policy") {
        "KmsKey"
    } else if m.contains("invaliddbinstancestate")
        || m.contains("not in available state")
        || m.contains("resourceinuse")
        || m.contains("is being updated")
    {
        "ResourceState"
    } else if m.contains("throttl") || m.contains("rate exceeded") {
        "Throttling"
    } else if m.contains("was stopped by") {
        "StoppedByUser"
    } else if message.is_empty() {
        state
    } else {
        "Other"
    };
    c.to_owned()
}

/// What the targets make of the accumulated facts: per-resource RPO results, per-test RTO
/// results, candidates. Metrics and checks are both read from it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Derived {
    /// Resources with a backup job in the period, plus the tag inventory, sorted.
    pub(crate) considered: Vec<String>,
    /// Considered resources some target applies to.
    pub(crate) targeted: Vec<String>,
    /// The target (index into the config's targets) of each targeted resource.
    pub(crate) target_of: HashMap<String, usize>,
    /// Considered resources with an RPO target.
    pub(crate) rpo: Vec<RpoResult>,
    /// COMPLETED restore tests of resources with an RTO target, by job id.
    pub(crate) rto: Vec<RtoResult>,
    /// Durations of COMPLETED tests, ascending.
    pub(crate) durations: Vec<f64>,
    /// Resources with the candidate tag, sorted.
    pub(crate) candidates: Vec<String>,
    /// Candidates without a passing restore test in the period.
    pub(crate) untested: Vec<String>,
}

/// A resource measured against its RPO.
#[derive(Debug, Clone)]
pub(crate) struct RpoResult {
    /// The resource ARN.
    pub(crate) resource: String,
    /// Longest age of its newest recovery point during the period, in hours; `None` without a
    /// completion in the period.
    pub(crate) exposure_hours: Option<f64>,
    /// Its RPO target in hours.
    pub(crate) rpo_hours: f64,
}

impl RpoResult {
    /// Whether the exposure exceeded the RPO (always, without a completion in the period).
    pub(crate) fn breached(&self) -> bool {
        self.exposure_hours.is_none_or(|g| g > self.rpo_hours)
    }
}

/// A completed restore test measured against its resource's RTO.
#[derive(Debug, Clone)]
pub(crate) struct RtoResult {
    /// The restore job id.
    pub(crate) job_id: String,
    /// The tested resource ARN.
    pub(crate) resource: String,
    /// How long the restore took, in minutes.
    pub(crate) minutes: f64,
    /// The resource's RTO target in minutes.
    pub(crate) rto_minutes: f64,
    /// When the test started.
    pub(crate) created: Option<Timestamp>,
}

impl RtoResult {
    /// Whether the restore took longer than the RTO.
    pub(crate) fn breached(&self) -> bool {
        self.minutes > self.rto_minutes
    }
}

impl Derived {
    pub(crate) fn rpo_breaches(&self) -> impl Iterator<Item = &RpoResult> {
        self.rpo.iter().filter(|r| r.breached())
    }

    pub(crate) fn rto_breaches(&self) -> impl Iterator<Item = &RtoResult> {
        self.rto.iter().filter(|r| r.breached())
    }
}

impl MetricsAccumulator {
    /// Applies the targets (which need the merged tag inventory) to the facts.
    pub(crate) fn derive(&self, config: &Config, tags: &[TaggedResource]) -> Derived {
        let period = self.period;
        let no_tags: &[(String, String)] = &[];
        let tags_of: HashMap<&str, &[(String, String)]> =
            tags.iter().map(|t| (t.resource_arn.as_str(), t.tags.as_slice())).collect();
        let tags_for = |arn: &str| tags_of.get(arn).copied().unwrap_or(no_tags);
        let mut d = Derived::default();

        // Resources considered: those with a backup job in the period, plus the tag inventory.
        let mut considered: BTreeSet<&str> =
            self.resources.iter().filter(|(_, f)| f.job_in_period).map(|(a, _)| a.as_str()).collect();
        considered.extend(tags.iter().map(|t| t.resource_arn.as_str()));
        let empty = ResourceFacts::default();
        for arn in &considered {
            let facts = self.resources.get(*arn).unwrap_or(&empty);
            let rtype =
                facts.resource_type.clone().or_else(|| crate::arn::backup_resource_type(arn).map(str::to_owned));
            let Some(index) = config.targets.iter().position(|t| t.matches(rtype.as_deref(), arn, tags_for(arn)))
            else {
                continue;
            };
            let target = &config.targets[index];
            d.targeted.push((*arn).to_owned());
            d.target_of.insert((*arn).to_owned(), index);
            if let Some(rpo) = target.rpo_hours {
                let exposure_hours = max_exposure_hours(&facts.completions, facts.before, period);
                d.rpo.push(RpoResult { resource: (*arn).to_owned(), exposure_hours, rpo_hours: rpo });
            }
        }
        d.considered = considered.iter().map(|a| (*a).to_owned()).collect();

        for t in &self.tests {
            let (Some(dur), Some(arn)) = (t.duration, t.resource_arn.as_deref()) else { continue };
            let rtype = t.resource_type.clone().or_else(|| crate::arn::backup_resource_type(arn).map(str::to_owned));
            if let Some(rto) = config.target_for(rtype.as_deref(), arn, tags_for(arn)).and_then(|x| x.rto_minutes) {
                d.rto.push(RtoResult {
                    job_id: t.job_id.clone(),
                    resource: arn.to_owned(),
                    minutes: dur,
                    rto_minutes: rto,
                    created: t.created,
                });
            }
        }
        d.rto.sort_by(|a, b| a.job_id.cmp(&b.job_id));
        d.durations = self.tests.iter().filter_map(|t| t.duration).collect();
        d.durations.sort_by(f64::total_cmp);

        let passed: BTreeSet<&str> =
            self.tests.iter().filter(|t| t.passed).filter_map(|t| t.resource_arn.as_deref()).collect();
        let (key, value) = (&config.candidate_tag.0, &config.candidate_tag.1);
        d.candidates = tags
            .iter()
            .filter(|t| t.tags.iter().any(|(k, v)| k == key && v == value))
            .map(|t| t.resource_arn.clone())
            .collect();
        d.candidates.sort();
        d.untested = d.candidates.iter().filter(|c| !passed.contains(c.as_str())).cloned().collect();
        d
    }

    /// The metrics (DESIGN §6) from the facts and what the targets made of them.
    pub(crate) fn metrics(&self, d: &Derived) -> Metrics {
        let b = |s: &str| self.backup_count(s);
        let copies = |s: &str| self.copy.get(s).copied().unwrap_or(0);
        let (terminal, total) = (self.backups_finished(), self.backups_total());
        let tests_passed = self.tests.iter().filter(|t| t.passed).count() as u64;
        Metrics {
            period: self.period.to_string(),
            backup_jobs_total: total,
            backup_jobs_completed: b("COMPLETED"),
            backup_jobs_failed: b("FAILED"),
            backup_jobs_aborted: b("ABORTED"),
            backup_jobs_expired: b("EXPIRED"),
            backup_jobs_partial: b("PARTIAL"),
            backup_jobs_not_finished: total - terminal,
            backup_success_rate: ratio(b("COMPLETED"), terminal),
            copy_jobs_total: self.copy.values().sum(),
            copy_jobs_completed: copies("COMPLETED"),
            copy_jobs_failed: copies("FAILED"),
            restore_jobs_total: self.restore_jobs,
            restore_tests_total: self.tests.len() as u64,
            restore_tests_passed: tests_passed,
            restore_test_pass_rate: ratio(tests_passed, self.tests.len() as u64),
            restore_test_duration_minutes_p95: nearest_rank(&d.durations, 95).map(round2),
            restore_test_duration_minutes_max: d.durations.last().copied().map(round2),
            rto_breaches: d.rto_breaches().count() as u64,
            resources_considered: d.considered.len() as u64,
            resources_with_rpo_target: d.rpo.len() as u64,
            resources_with_rpo_breach: d.rpo_breaches().count() as u64,
            restore_test_candidates: d.candidates.len() as u64,
            untested_candidates: d.untested.len() as u64,
        }
    }

    /// Applies the targets and computes the metrics. `tags` is the merged tag inventory.
    pub fn finish(self, config: &Config, tags: &[TaggedResource]) -> Metrics {
        let d = self.derive(config, tags);
        self.metrics(&d)
    }
}

/// The columns of `findings.csv` (README.md, "Checks and findings").
const FINDINGS_CSV_HEADER: &str =
    "id,requirement,status,summary,checks,checks_without_data,evidence_records,evidence_artifacts,attach";

/// Everything the assessment produced.
#[derive(Debug, Clone)]
pub struct Assessment {
    /// `metrics.json`.
    pub metrics: Metrics,
    /// Every check's result.
    pub checks: Vec<checks::CheckResult>,
    /// One finding per mapped requirement.
    pub findings: Vec<mapping::Finding>,
    /// Backup outcomes of every week that overlaps the period, in order.
    pub weekly: Vec<WeekOutcomes>,
    /// Per tested resource: its completed tests' durations against its RTO (the 25 first by
    /// tests over the RTO, then by longest test).
    pub restore_durations: Vec<DurationRow>,
    /// The period's backup plan rules and every targeted resource against them.
    pub backup_policy: checks::BackupPolicy,
    /// Every alert path of the period, one row per destination (`evidence/alert_paths.csv`).
    pub alert_paths: Vec<checks::AlertPath>,
    /// Every account and Region in use with how its failed jobs get to a person.
    pub alert_scopes: Vec<checks::AlertScope>,
    /// The estate the figures cover.
    pub scope: overview::Scope,
    /// The configured targets with the resources each covers.
    pub targets: Vec<overview::TargetRow>,
    /// Restore tests per tested resource, those with breaches or failures first.
    pub restore_resources: Vec<overview::RestoreResourceRow>,
    /// One row per account and Region with jobs or RPO targets in the period, worst first
    /// (`account_regions.csv`, the report's "Per account and Region").
    pub account_regions: Vec<scopes::ScopeRow>,
}

/// Backup jobs created in one week (Monday 00:00 to Monday 00:00, UTC) of the period, by outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeekOutcomes {
    /// Its Monday, 00:00 UTC (before the period start for a first week the period cuts).
    pub monday: Timestamp,
    /// Days of the week inside the period: 7, or 1–6 for a first or last week the period cuts.
    pub days_in_period: u8,
    /// COMPLETED jobs.
    pub completed: u64,
    /// Jobs in another terminal state (FAILED, ABORTED, EXPIRED, PARTIAL).
    pub failed: u64,
    /// Jobs not in a terminal state at their last observation.
    pub not_finished: u64,
}

/// Restore durations of one resource against its RTO.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct DurationRow {
    /// Resource name (last part of the ARN).
    pub resource: String,
    /// Completed tests.
    pub tests: u64,
    /// Longest completed test, minutes.
    pub max: f64,
    /// Its RTO in minutes, if a target sets one.
    pub rto: Option<f64>,
    /// Median completed test, minutes (nearest rank, as `restore_test_duration_minutes_p95`).
    pub p50: f64,
    /// 95th percentile of its completed tests, minutes (nearest rank).
    pub p95: f64,
    /// Completed tests longer than the RTO (0 without one), as counted in `rto_breaches`.
    pub over_rto: u64,
}

/// Adds the job's (account, Region) to `scopes`. Met on every job but new only a few times per
/// estate, so it allocates only for a pair not yet there.
fn note_scope(scopes: &mut scopes::ScopeSet, j: &Job) {
    if let (Some(a), Some(r)) = (&j.account_id, &j.region) {
        scopes.note(a, r);
    }
}

/// Notes that `vault` received a recovery point of `resource`, allocating only for a new pair.
fn hold(held: &mut BTreeMap<String, BTreeSet<String>>, vault: &str, resource: &str) {
    match held.get_mut(vault) {
        Some(resources) if resources.contains(resource) => {}
        Some(resources) => {
            resources.insert(resource.to_owned());
        }
        None => {
            held.insert(vault.to_owned(), BTreeSet::from([resource.to_owned()]));
        }
    }
}

/// Assesses a period: metrics, checks, and the mapping's findings. Pure: it cannot fail; what
/// the evidence lacks shows as `no_data` checks and `no_evidence` findings.
pub fn assess(acc: &MetricsAccumulator, config: &Config, mapping: &mapping::Mapping, ev: &Evidence) -> Assessment {
    let derived = acc.derive(config, &ev.tagged_resources);
    let metrics = acc.metrics(&derived);
    let checks = checks::run(acc, &derived, config, ev);
    let findings = mapping::evaluate(mapping, &checks, config.framework);
    let weekly = weeks(acc.period, &acc.weekly);
    let restore_durations = duration_rows(&acc.tests, &derived.rto);
    let backup_policy = checks::backup_policy(acc, &derived, config, ev);
    let (alert_paths, alert_scopes) = checks::alerts(acc, &derived, config, ev);
    let account_regions = scopes::rows(acc, &derived, &alert_scopes, &ev.tagged_resources);
    Assessment {
        metrics,
        checks,
        findings,
        weekly,
        restore_durations,
        backup_policy,
        alert_paths,
        alert_scopes,
        scope: overview::scope(acc, &derived),
        targets: overview::targets(config, &derived),
        restore_resources: overview::restores(&acc.tests, &derived),
        account_regions,
    }
}

/// The last part of an ARN (a resource or plan name).
fn short(arn: &str) -> String {
    arn.rsplit([':', '/']).next().unwrap_or(arn).to_owned()
}

/// Tested resources shown in the report's restore-duration chart.
const MAX_DURATION_ROWS: usize = 25;

/// Per tested resource, its completed tests' p50, p95 and max against its RTO: those with tests
/// over the RTO first (most first), then by longest test; the first [`MAX_DURATION_ROWS`].
fn duration_rows(tests: &[TestFact], rto: &[RtoResult]) -> Vec<DurationRow> {
    let mut per_resource: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for t in tests {
        if let (Some(arn), Some(d)) = (t.resource_arn.as_deref(), t.duration) {
            per_resource.entry(arn).or_default().push(d);
        }
    }
    let rto_of: HashMap<&str, f64> = rto.iter().map(|r| (r.resource.as_str(), r.rto_minutes)).collect();
    let mut rows: Vec<DurationRow> = per_resource
        .into_iter()
        .map(|(arn, mut minutes)| duration_row(arn, &mut minutes, rto_of.get(arn).copied()))
        .collect();
    rows.sort_by(|a, b| {
        b.over_rto.cmp(&a.over_rto).then(b.max.total_cmp(&a.max)).then_with(|| a.resource.cmp(&b.resource))
    });
    rows.truncate(MAX_DURATION_ROWS);
    rows
}

/// One resource's row from the durations (minutes) of its completed tests, at least one.
fn duration_row(arn: &str, minutes: &mut [f64], rto: Option<f64>) -> DurationRow {
    minutes.sort_by(f64::total_cmp);
    let rank = |p| nearest_rank(minutes, p).map(round2).unwrap_or_default();
    // The same comparison as `RtoResult::breached`, on the same unrounded minutes.
    let over_rto = rto.map_or(0, |r| minutes.iter().filter(|m| **m > r).count());
    DurationRow {
        resource: short(arn),
        tests: minutes.len() as u64,
        max: rank(100),
        rto,
        p50: rank(50),
        p95: rank(95),
        over_rto: over_rto as u64,
    }
}

/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;

/// The day number (since 1970-01-01) of the Monday of the week holding instant `ms` (UTC).
fn monday_of(ms: i64) -> i64 {
    let day = ms.div_euclid(DAY_MS);
    day - (day + 3).rem_euclid(7) // 1970-01-01 was a Thursday
}

/// Every week that overlaps the period, with its outcomes from `counts` (keyed by Monday, ms;
/// zero for a week without jobs) and how many of its days the period holds.
fn weeks(period: Period, counts: &BTreeMap<i64, [u64; 3]>) -> Vec<WeekOutcomes> {
    let (first, end) = (period.start.millis().div_euclid(DAY_MS), period.end.millis().div_euclid(DAY_MS));
    (monday_of(period.start.millis())..end)
        .step_by(7)
        .map(|monday| {
            let [completed, failed, not_finished] = counts.get(&(monday * DAY_MS)).copied().unwrap_or_default();
            let days = (monday + 7).min(end) - monday.max(first);
            WeekOutcomes {
                monday: Timestamp(monday * DAY_MS),
                days_in_period: u8::try_from(days).unwrap_or(7),
                completed,
                failed,
                not_finished,
            }
        })
        .collect()
}

/// A CSV of `rows` under `header`, the header written even when there are no rows. The
/// header names the row type's fields in order; a unit test beside each row type holds the two
/// together.
pub(crate) fn csv_of<T: Serialize>(header: &[&str], rows: &[T]) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new());
    let _ = w.write_record(header);
    for row in rows {
        let _ = w.serialize(row);
    }
    w.into_inner().unwrap_or_default()
}

impl Assessment {
    /// `metrics.json` bytes.
    pub fn metrics_json(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(&self.metrics).unwrap_or_default();
        v.push(b'\n');
        v
    }

    /// `findings.csv` bytes: one row per requirement.
    pub fn findings_csv(&self) -> Vec<u8> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let _ = w.write_record(FINDINGS_CSV_HEADER.split(','));
        for f in &self.findings {
            let checks = f.checks.iter().map(|(id, s)| format!("{id}={}", s.as_str())).collect::<Vec<_>>().join(";");
            let without_data = f.checks_without_data.iter().map(|id| id.as_str()).collect::<Vec<_>>().join(";");
            let _ = w.write_record([
                f.id.as_str(),
                f.requirement.as_str(),
                f.status.as_str(),
                f.summary.as_str(),
                checks.as_str(),
                without_data.as_str(),
                f.evidence_records.to_string().as_str(),
                f.evidence_artifacts.len().to_string().as_str(),
                f.attach.as_deref().unwrap_or(""),
            ]);
        }
        w.into_inner().unwrap_or_default()
    }

    /// `evidence/alert_paths.csv`: every alert path and whether it reaches a person.
    pub fn alert_paths_csv(&self) -> Vec<u8> {
        checks::alert_paths_csv(&self.alert_paths)
    }

    /// `account_regions.csv`: the per-account × Region view ([`scopes::ScopeRow`]).
    pub fn account_regions_csv(&self) -> Vec<u8> {
        scopes::csv(&self.account_regions)
    }

    /// Whether any requirement is `not_satisfied`.
    pub fn any_not_satisfied(&self) -> bool {
        self.findings.iter().any(|f| f.status == mapping::Status::NotSatisfied)
    }
}

/// The longest age, in hours, that the newest recovery point reaches during the period
/// (DESIGN §6, v2 exposure rule): from the latest completion before the period (else the period
/// start) to the first completion inside it, between consecutive completions, and from the last
/// one to the period end. `None` when nothing completed inside the period (always a breach).
fn max_exposure_hours(completions: &[i64], before: Option<i64>, period: Period) -> Option<f64> {
    if completions.is_empty() {
        return None;
    }
    let mut times = completions.to_vec();
    times.sort_unstable();
    let mut previous = before.unwrap_or(period.start.millis()).min(period.start.millis());
    let mut max = 0i64;
    for t in times.iter().copied().chain(std::iter::once(period.end.millis())) {
        max = max.max(t - previous);
        previous = t;
    }
    Some(max as f64 / 3_600_000.0)
}

/// Whether a resource's exposure exceeds `rpo_hours` at some instant of the period.
#[cfg(test)]
fn rpo_breached(completions: &[i64], before: Option<i64>, period: Period, rpo_hours: f64) -> bool {
    max_exposure_hours(completions, before, period).is_none_or(|g| g > rpo_hours)
}

/// The ⌈p/100 · n⌉-th smallest value (nearest-rank percentile) of sorted values.
pub(crate) fn nearest_rank(sorted: &[f64], p: usize) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let rank = (p * n).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

fn ratio(a: u64, b: u64) -> Option<f64> {
    (b > 0).then(|| ((a as f64 / b as f64) * 10_000.0).round() / 10_000.0)
}

pub(crate) fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::model::ValidationStatus;
    use crate::time::Timestamp;

    fn t(s: &str) -> Option<Timestamp> {
        Some(Timestamp::parse(s).unwrap())
    }

    fn q3() -> Period {
        "2026-Q3".parse().unwrap()
    }

    fn job(kind: JobKind, id: &str, state: &str, created: &str, completed: Option<&str>) -> Job {
        Job {
            kind: Some(kind),
            job_id: id.into(),
            state: Some(state.into()),
            creation_date: t(created),
            completion_date: completed.and_then(t),
            ..Job::default()
        }
    }

    fn backup(arn: &str, state: &str, created: &str, completed: Option<&str>) -> Record {
        let mut j = job(JobKind::Backup, &format!("{arn}{created}"), state, created, completed);
        j.resource_arn = Some(arn.into());
        j.resource_type = Some("RDS".into());
        Record::Job(j)
    }

    fn test(arn: &str, state: &str, validation: Option<&str>, created: &str, completed: Option<&str>) -> Record {
        let mut j = job(JobKind::Restore, &format!("r{arn}{created}"), state, created, completed);
        j.resource_arn = Some(arn.into());
        j.resource_type = Some("RDS".into());
        j.restore_testing_plan_arn = Some("arn:plan".into());
        j.validation_status = validation.map(ValidationStatus::from);
        Record::Job(j)
    }

    fn tagged(arn: &str, tags: &[(&str, &str)]) -> TaggedResource {
        TaggedResource {
            resource_arn: arn.into(),
            tags: tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ..TaggedResource::default()
        }
    }

    fn metrics(records: &[Record], config: &str, tags: &[TaggedResource]) -> Metrics {
        let mut acc = MetricsAccumulator::new(q3());
        for r in records {
            acc.observe(r);
        }
        acc.finish(&Config::parse(config).unwrap(), tags)
    }

    #[test]
    fn backup_counts_use_creation_time_and_skip_parents() {
        let mut parent = backup("arn:stack", "COMPLETED", "2026-07-05T00:00:00Z", Some("2026-07-05T01:00:00Z"));
        if let Record::Job(j) = &mut parent {
            j.is_parent = Some(true);
        }
        let records = vec![
            backup("a", "COMPLETED", "2026-06-30T23:59:59Z", Some("2026-07-01T01:00:00Z")), // before
            backup("a", "COMPLETED", "2026-07-01T00:00:00Z", Some("2026-07-01T01:00:00Z")), // first instant
            backup("a", "FAILED", "2026-08-01T00:00:00Z", Some("2026-08-01T00:10:00Z")),
            backup("a", "EXPIRED", "2026-08-02T00:00:00Z", None),
            backup("a", "RUNNING", "2026-09-30T23:59:59.999Z", None), // last instant, not finished
            backup("a", "COMPLETED", "2026-10-01T00:00:00Z", Some("2026-10-01T01:00:00Z")), // after
            parent,
        ];
        let m = metrics(&records, "", &[]);
        assert_eq!(m.backup_jobs_total, 4);
        assert_eq!((m.backup_jobs_completed, m.backup_jobs_failed, m.backup_jobs_expired), (1, 1, 1));
        assert_eq!(m.backup_jobs_not_finished, 1);
        // completed / terminal = 1 / 3, RUNNING not in the denominator.
        assert_eq!(m.backup_success_rate, Some(0.3333));
    }

    #[test]
    fn empty_sets_give_null_rates_and_zero_counts() {
        let m = metrics(&[], "", &[]);
        assert_eq!(m.backup_success_rate, None);
        assert_eq!(m.restore_test_pass_rate, None);
        assert_eq!(m.restore_test_duration_minutes_p95, None);
        assert_eq!(m.restore_test_duration_minutes_max, None);
        assert_eq!(
            (m.backup_jobs_total, m.rto_breaches, m.resources_with_rpo_breach, m.untested_candidates),
            (0, 0, 0, 0)
        );
    }

    #[test]
    fn restore_tests_pass_only_completed_and_validated() {
        let records = vec![
            test("db1", "COMPLETED", Some("SUCCESSFUL"), "2026-07-06T05:00:00Z", Some("2026-07-06T05:30:00Z")), // 30, pass
            test("db2", "COMPLETED", None, "2026-07-06T05:00:00Z", Some("2026-07-06T06:00:00Z")), // 60, pass
            test("db3", "COMPLETED", Some("FAILED"), "2026-07-06T05:00:00Z", Some("2026-07-06T05:10:00Z")), // 10
            test("db3", "COMPLETED", Some("TIMED_OUT"), "2026-07-07T05:00:00Z", Some("2026-07-07T08:00:00Z")), // 180
            test("db4", "FAILED", None, "2026-07-06T05:00:00Z", Some("2026-07-06T05:01:00Z")),    // not completed
            test("db1", "COMPLETED", Some("SUCCESSFUL"), "2026-06-30T05:00:00Z", Some("2026-06-30T05:30:00Z")), // outside
        ];
        let mut plain =
            job(JobKind::Restore, "manual", "COMPLETED", "2026-07-08T00:00:00Z", Some("2026-07-08T00:05:00Z"));
        plain.resource_arn = Some("db1".into());
        let mut all = records;
        all.push(Record::Job(plain));
        let m = metrics(&all, "", &[]);
        assert_eq!(m.restore_jobs_total, 6, "tests included, the June one outside");
        assert_eq!((m.restore_tests_total, m.restore_tests_passed), (5, 2));
        assert_eq!(m.restore_test_pass_rate, Some(0.4));
        // Completed durations sorted: 10, 30, 60, 180 → nearest rank ⌈0.95·4⌉ = 4th = 180.
        assert_eq!(m.restore_test_duration_minutes_p95, Some(180.0));
        assert_eq!(m.restore_test_duration_minutes_max, Some(180.0));
    }

    #[test]
    fn p95_is_nearest_rank_with_ties() {
        let v: Vec<f64> = (1..=20).map(|i| if i <= 18 { 5.0 } else { 7.0 }).collect();
        // ⌈0.95·20⌉ = 19th smallest = 7 (the first of the two 7s).
        assert_eq!(nearest_rank(&v, 95), Some(7.0));
        assert_eq!(nearest_rank(&[3.0], 95), Some(3.0));
        let v: Vec<f64> = (1..=21).map(f64::from).collect();
        assert_eq!(nearest_rank(&v, 95), Some(20.0), "⌈19.95⌉ = 20");
    }

    #[test]
    fn rto_breaches_use_the_first_matching_target() {
        let config = "[[target]]\nname = \"gold\"\ntag = \"tier=gold\"\nrto_minutes = 60\n\n[[target]]\nname = \"rds\"\nresource_type = \"RDS\"\nrto_minutes = 20\n";
        let tags = vec![tagged("db1", &[("tier", "gold")])];
        let records = vec![
            test("db1", "COMPLETED", Some("SUCCESSFUL"), "2026-07-06T05:00:00Z", Some("2026-07-06T06:00:00Z")), // 60 = RTO: no breach
            test("db1", "COMPLETED", Some("SUCCESSFUL"), "2026-07-07T05:00:00Z", Some("2026-07-07T06:00:01Z")), // > 60: breach
            test("db2", "COMPLETED", Some("FAILED"), "2026-07-06T05:00:00Z", Some("2026-07-06T05:30:00Z")), // 30 > 20: breach
            test("db2", "FAILED", None, "2026-07-06T05:00:00Z", Some("2026-07-06T09:00:00Z")), // not completed: no
        ];
        assert_eq!(metrics(&records, config, &tags).rto_breaches, 2);
    }

    #[test]
    fn weeks_cover_the_period_and_count_the_days_the_period_cuts() {
        // 2026-Q3 runs from Wednesday 07-01 to Wednesday 10-01 (exclusive): the first week
        // (Monday 06-29) holds 5 of its days, the last (Monday 09-28) 3.
        let mut acc = MetricsAccumulator::new(q3());
        acc.observe(&backup("a", "COMPLETED", "2026-07-01T00:00:00Z", Some("2026-07-01T01:00:00Z")));
        acc.observe(&backup("a", "FAILED", "2026-07-05T23:59:59Z", Some("2026-07-06T00:10:00Z")));
        acc.observe(&backup("a", "RUNNING", "2026-09-30T23:59:59Z", None));
        let w = weeks(acc.period, &acc.weekly);
        assert_eq!(w.len(), 14);
        let label = |w: &WeekOutcomes| w.monday.to_rfc3339()[..10].to_owned();
        assert_eq!((label(&w[0]), w[0].days_in_period), ("2026-06-29".to_owned(), 5));
        assert_eq!((w[0].completed, w[0].failed, w[0].not_finished), (1, 1, 0));
        assert_eq!((label(&w[13]), w[13].days_in_period), ("2026-09-28".to_owned(), 3));
        assert_eq!((w[13].completed, w[13].failed, w[13].not_finished), (0, 0, 1));
        // The weeks between are whole, and listed with zeros when no job was created in them.
        assert!(w[1..13].iter().all(|x| x.days_in_period == 7));
        assert_eq!((w[1].completed, w[1].failed, w[1].not_finished), (0, 0, 0));
        // 2026-Q4 (Thursday 10-01 to Friday 2027-01-01): Monday 09-28 holds 4 days, Monday
        // 12-28 holds 4; Q1 2024 starts on a Monday, so its first week is whole.
        let q4 = weeks("2026-Q4".parse().unwrap(), &BTreeMap::new());
        let days: Vec<u8> = q4.iter().map(|x| x.days_in_period).collect();
        assert_eq!((label(&q4[0]), days.first(), days.last()), ("2026-09-28".to_owned(), Some(&4), Some(&4)));
        assert_eq!(days.iter().map(|d| u32::from(*d)).sum::<u32>(), 92);
        let q1 = weeks("2024-Q1".parse().unwrap(), &BTreeMap::new());
        assert_eq!((label(&q1[0]), q1[0].days_in_period), ("2024-01-01".to_owned(), 7));
        assert_eq!(q1.iter().map(|x| u32::from(x.days_in_period)).sum::<u32>(), 91);
    }

    /// A restore test of `arn` on July `day` that took `minutes` (COMPLETED, validated).
    fn timed_test(arn: &str, day: u32, minutes: i64) -> Record {
        let start = Timestamp::parse(&format!("2026-07-{day:02}T05:00:00Z")).unwrap();
        let end = Timestamp(start.millis() + minutes * 60_000).to_string();
        test(arn, "COMPLETED", Some("SUCCESSFUL"), &start.to_string(), Some(&end))
    }

    #[test]
    fn duration_rows_give_p50_p95_max_and_tests_over_the_rto_per_resource() {
        let config = "[[target]]\nname = \"gold\"\ntag = \"tier=gold\"\nrto_minutes = 60\n\n\
                      [[target]]\nname = \"silver\"\ntag = \"tier=silver\"\nrto_minutes = 20\n";
        let tags = vec![tagged("gold-db", &[("tier", "gold")]), tagged("silver-db", &[("tier", "silver")])];
        let mut acc = MetricsAccumulator::new(q3());
        // gold-db: 10, 20, …, 100 minutes (in shuffled order).
        for (day, m) in [(3, 70), (1, 10), (5, 100), (2, 20), (4, 60), (6, 30), (7, 40), (8, 50), (9, 80), (10, 90)] {
            acc.observe(&timed_test("gold-db", day, m));
        }
        // silver-db: 30, 5, 15 and one FAILED test, which has no duration.
        for (day, m) in [(1, 30), (2, 5), (3, 15)] {
            acc.observe(&timed_test("silver-db", day, m));
        }
        acc.observe(&test("silver-db", "FAILED", None, "2026-07-04T05:00:00Z", Some("2026-07-04T09:00:00Z")));
        // untargeted: no RTO, so nothing is over it.
        acc.observe(&timed_test("untargeted", 1, 500));
        let derived = acc.derive(&Config::parse(config).unwrap(), &tags);
        let rows = duration_rows(&acc.tests, &derived.rto);
        let got: Vec<_> =
            rows.iter().map(|r| (r.resource.as_str(), r.tests, r.p50, r.p95, r.max, r.rto, r.over_rto)).collect();
        assert_eq!(
            got,
            [
                // n = 10: p50 = ⌈5⌉-th = 50, p95 = ⌈9.5⌉-th = 100; 70, 80, 90, 100 > 60 (60 is not).
                ("gold-db", 10, 50.0, 100.0, 100.0, Some(60.0), 4),
                // n = 3 (5, 15, 30): p50 = ⌈1.5⌉-th = 15, p95 = ⌈2.85⌉-th = 30; only 30 > 20.
                ("silver-db", 3, 15.0, 30.0, 30.0, Some(20.0), 1),
                // Sorted after the resources over their RTO although its test is the longest.
                ("untargeted", 1, 500.0, 500.0, 500.0, None, 0),
            ]
        );
        // The rows' breaches are the metric's.
        assert_eq!(rows.iter().map(|r| r.over_rto).sum::<u64>(), derived.rto_breaches().count() as u64);
    }

    #[test]
    fn rpo_gaps_from_period_start_between_and_to_period_end() {
        let config = "[[target]]\nname = \"daily\"\nrpo_hours = 26\n";
        let mut records = Vec::new();
        // "ok": a completion every day at 01:00 from 07-01 to 09-30 → all gaps ≤ 24 h, the last
        // one to the period end is 23 h.
        for day in 0..92 {
            let d = Timestamp::parse("2026-07-01T01:00:00Z").unwrap().millis() + day * 86_400_000;
            let s = Timestamp(d).to_string();
            records.push(backup("ok", "COMPLETED", &s, Some(&s)));
        }
        // "gap": the same minus 08-10 and 08-11 → a 72 h gap.
        for day in (0..92).filter(|d| *d != 40 && *d != 41) {
            let d = Timestamp::parse("2026-07-01T01:00:00Z").unwrap().millis() + day * 86_400_000;
            let s = Timestamp(d).to_string();
            records.push(backup("gap", "COMPLETED", &s, Some(&s)));
        }
        // "late": first completion on 07-02 at 03:00 → 51 h from the period start.
        records.push(backup("late", "COMPLETED", "2026-07-02T03:00:00Z", Some("2026-07-02T03:00:00Z")));
        // "failed": only failures in the period → no completed backup → breach.
        records.push(backup("failed", "FAILED", "2026-07-02T03:00:00Z", Some("2026-07-02T03:05:00Z")));
        // A resource known only from the tag inventory, never backed up → breach.
        let tags = vec![tagged("arn:aws:dynamodb:eu-central-1:111122223333:table/t", &[])];
        let m = metrics(&records, config, &tags);
        assert_eq!(m.resources_considered, 5);
        assert_eq!(m.resources_with_rpo_target, 5);
        assert_eq!(m.resources_with_rpo_breach, 4, "gap, late, failed, untouched; not ok");
        // Without targets nothing is measured against an RPO.
        let m = metrics(&records, "", &tags);
        assert_eq!((m.resources_with_rpo_target, m.resources_with_rpo_breach), (0, 0));
        // Exactly the RPO is not a breach.
        let p = q3();
        let every_26h: Vec<i64> =
            (1..).map(|i| p.start.millis() + i * 26 * 3_600_000).take_while(|t| *t < p.end.millis()).collect();
        let last_gap = p.end.millis() - every_26h.last().unwrap();
        assert!(last_gap <= 26 * 3_600_000);
        assert!(!rpo_breached(&every_26h, None, p, 26.0));
        assert!(rpo_breached(&every_26h, None, p, 25.9));
    }

    /// Completions `from` .. `to` (days after 2026-07-01) at `created` + `minutes`.
    fn daily(arn: &str, days: std::ops::RangeInclusive<i64>, created: &str, minutes: i64) -> Vec<Record> {
        let base = Timestamp::parse(&format!("2026-07-01T{created}:00Z")).unwrap().millis();
        days.map(|d| {
            let c = Timestamp(base + d * 86_400_000);
            let done = Timestamp(c.millis() + minutes * 60_000);
            backup(arn, "COMPLETED", &c.to_string(), Some(&done.to_string()))
        })
        .collect()
    }

    #[test]
    fn rpo_exposure_runs_from_the_latest_completion_before_the_period() {
        let config = |rpo: f64| format!("[[target]]\nname = \"daily\"\nrpo_hours = {rpo}\n");
        // Nightly at 23:40 from 28 June to 30 September, each completing at 01:10 the next
        // day: the age peaks at exactly 24 h (30 June 01:10 → 1 July 01:10), then 22 h 50 min
        // to the period end (the 30 September backup completes on 1 October, outside).
        let nightly = daily("nightly", -3..=91, "23:40", 90);
        assert_eq!(metrics(&nightly, &config(24.0), &[]).resources_with_rpo_breach, 0);
        assert_eq!(metrics(&nightly, &config(23.9), &[]).resources_with_rpo_breach, 1);
        // Last backup 3 days before the quarter (28 June 05:00), then daily from 1 July 05:00:
        // 72 h of exposure at the start (the v1 rule measured 5 h from the period start).
        let mut stale = daily("stale", -3..=-3, "05:00", 0);
        stale.extend(daily("stale", 0..=91, "05:00", 0));
        assert_eq!(metrics(&stale, &config(24.0), &[]).resources_with_rpo_breach, 1);
        assert_eq!(metrics(&stale, &config(72.0), &[]).resources_with_rpo_breach, 0, "72 h = RPO");
        let p = q3();
        let june28 = Timestamp::parse("2026-06-28T05:00:00Z").unwrap().millis();
        let july1 = Timestamp::parse("2026-07-01T05:00:00Z").unwrap().millis();
        assert_eq!(max_exposure_hours(&[july1], Some(june28), p), Some(24.0 * 92.0 - 5.0));
        assert_eq!(max_exposure_hours(&[july1], None, p), Some(24.0 * 92.0 - 5.0));
        assert_eq!(max_exposure_hours(&[], Some(june28), p), None);
        // A parent's completion before the period is no recovery point of its own.
        let mut parent = daily("stale", -1..=-1, "05:00", 0);
        if let Record::Job(j) = &mut parent[0] {
            j.is_parent = Some(true);
        }
        stale.extend(parent);
        assert_eq!(metrics(&stale, &config(24.0), &[]).resources_with_rpo_breach, 1);
        // Only failures, or nothing completing inside the period: a breach however recent the
        // last earlier backup.
        let before_only = daily("late", -1..=-1, "23:00", 0);
        assert_eq!(metrics(&before_only, &config(24.0), &[]).resources_with_rpo_breach, 0, "not considered");
        let tags = vec![tagged("late", &[])];
        assert_eq!(metrics(&before_only, &config(24.0), &tags).resources_with_rpo_breach, 1);
    }

    #[test]
    fn failure_categories_are_read_from_messages_without_one() {
        let cases = [
            ("Access Denied to S3 bucket b", "FAILED", "AccessDenied"),
            ("An error occurred (InvalidDBInstanceState) when calling CreateDBSnapshot", "FAILED", "ResourceState"),
            ("An error occurred (ResourceInUseException): table t is being updated", "FAILED", "ResourceState"),
            ("the request was throttled (ThrottlingException). Rate exceeded.", "FAILED", "Throttling"),
            (
                "Backup job was stopped by arn:aws:sts::1:assumed-role/Ops/j during a change.",
                "ABORTED",
                "StoppedByUser",
            ),
            ("could not start before the end of the start window", "EXPIRED", "StartWindowExpired"),
            ("", "EXPIRED", "EXPIRED"),
            ("something new", "FAILED", "Other"),
        ];
        for (message, state, expected) in cases {
            assert_eq!(category_of(message, state), expected, "{message}");
        }
    }

    #[test]
    fn candidates_without_a_passing_test_in_the_period() {
        let tags = vec![
            tagged("db1", &[("restore_testing_candidate", "true")]),
            tagged("db2", &[("restore_testing_candidate", "true")]),
            tagged("db3", &[("restore_testing_candidate", "true")]),
            tagged("db4", &[("restore_testing_candidate", "false")]),
        ];
        let records = vec![
            test("db1", "COMPLETED", Some("SUCCESSFUL"), "2026-07-06T05:00:00Z", Some("2026-07-06T05:30:00Z")),
            test("db2", "COMPLETED", Some("FAILED"), "2026-07-06T05:00:00Z", Some("2026-07-06T05:30:00Z")),
            test("db3", "COMPLETED", Some("SUCCESSFUL"), "2026-06-29T05:00:00Z", Some("2026-06-29T05:30:00Z")),
        ];
        let m = metrics(&records, "", &tags);
        assert_eq!((m.restore_test_candidates, m.untested_candidates), (3, 2));
        let m = metrics(&records, "[restore_testing]\ncandidate_tag = \"restore_testing_candidate=false\"\n", &tags);
        assert_eq!((m.restore_test_candidates, m.untested_candidates), (1, 1));
    }
}
