//! Jobs of the fictional quarter, generated as a pure function of (seed, resource, day).
//!
//! Nothing is stored: every writer (daily reports, weekly snapshots, the ground-truth pass)
//! regenerates the few days it needs and gets the very same jobs, ids and times. This keeps
//! memory flat however large the scale, and makes "the same job in a report and a snapshot"
//! true by construction.
//!
//! The scenarios the brief asks for are fixed outcomes on fixed days of scale-1 resources
//! ([`Scenario`]); everything else is drawn at low background rates.

use fastrand::Rng;

use super::model::{FIRST_DAY, Kind, LAST_DAY, Model, Resource, names, weekday};
use super::out::{DAY, HOUR, MIN, mix, u128_of};
use super::quarter::Planted;

/// Day numbers of scenario dates.
pub(crate) mod days {
    pub(crate) const JUL_07: i64 = 20_641;
    pub(crate) const JUL_14: i64 = 20_648;
    pub(crate) const JUL_20: i64 = 20_654;
    pub(crate) const JUL_21: i64 = 20_655;
    pub(crate) const JUL_23: i64 = 20_657;
    pub(crate) const AUG_04: i64 = 20_669;
    pub(crate) const AUG_06: i64 = 20_671;
    pub(crate) const AUG_10: i64 = 20_675;
    pub(crate) const AUG_11: i64 = 20_676;
    pub(crate) const AUG_12: i64 = 20_677;
    pub(crate) const AUG_16: i64 = 20_681;
    pub(crate) const AUG_19: i64 = 20_684;
    pub(crate) const AUG_18: i64 = 20_683;
    pub(crate) const AUG_23: i64 = 20_688;
    pub(crate) const AUG_24: i64 = 20_689;
    pub(crate) const AUG_26: i64 = 20_691;
    pub(crate) const SEP_03: i64 = 20_699;
    pub(crate) const SEP_08: i64 = 20_704;
    pub(crate) const SEP_09: i64 = 20_705;
    pub(crate) const SEP_15: i64 = 20_711;
}
use days::*;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum State {
    Created,
    Pending,
    Running,
    Completed,
    Failed,
    Expired,
    Aborted,
    Partial,
}

impl State {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            State::Created => "CREATED",
            State::Pending => "PENDING",
            State::Running => "RUNNING",
            State::Completed => "COMPLETED",
            State::Failed => "FAILED",
            State::Expired => "EXPIRED",
            State::Aborted => "ABORTED",
            State::Partial => "PARTIAL",
        }
    }
}

/// Named scenarios; their job ids go to `ground-truth.json`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Scenario {
    S3AccessDenied,
    RdsRpoMiss,
    Aborted,
    CompletedWithIssues,
    AcrossMidnight,
    CopyFailed,
    ParentPartial,
    RestoreValidationFailed,
    RestoreValidationTimedOut,
    RestoreFailed,
    RestoreOverRto,
    RestoreValidatingThenSuccessful,
    RestoreInReportAndSnapshot,
    AdhocRestore,
    /// 2026-Q2 only (see `quarter.rs`).
    BackupKmsAccessDenied,
    CandidateRestoresFail,
    CandidateValidationFails,
    RestoreOverSilverRto,
}

impl Scenario {
    pub(crate) fn key(self) -> &'static str {
        match self {
            Scenario::S3AccessDenied => "s3_backup_access_denied",
            Scenario::RdsRpoMiss => "rds_rpo_miss",
            Scenario::Aborted => "backup_aborted",
            Scenario::CompletedWithIssues => "backup_completed_with_issues",
            Scenario::AcrossMidnight => "backup_running_across_midnight",
            Scenario::CopyFailed => "cross_account_copy_failed",
            Scenario::ParentPartial => "parent_job_partial",
            Scenario::RestoreValidationFailed => "restore_test_validation_failed",
            Scenario::RestoreValidationTimedOut => "restore_test_validation_timed_out",
            Scenario::RestoreFailed => "restore_test_restore_failed",
            Scenario::RestoreOverRto => "restore_test_over_2h_rto",
            Scenario::RestoreValidatingThenSuccessful => "restore_test_validating_then_successful",
            Scenario::RestoreInReportAndSnapshot => "restore_test_in_report_and_snapshot",
            Scenario::AdhocRestore => "operator_restores",
            Scenario::BackupKmsAccessDenied => "backup_kms_access_denied",
            Scenario::CandidateRestoresFail => "restore_tests_of_candidate_failed",
            Scenario::CandidateValidationFails => "restore_tests_of_candidate_validation_failed",
            Scenario::RestoreOverSilverRto => "restore_test_over_4h_rto",
        }
    }
}

/// Why a job ended the way it did; text in [`Msg::text`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Msg {
    None,
    VssRetry,
    S3AccessDenied,
    KmsAccessDenied,
    RdsNotAvailable,
    StartWindowExpired,
    StorageFullExpired,
    UserAborted,
    ChildFailed,
    Throttled,
    ResourceInUse,
    CopyKmsDenied,
    CopyFailed,
    RestoreSubnet,
    RestoreCapacity,
}

impl Msg {
    /// Status message as AWS would word it for this resource.
    pub(crate) fn text(self, m: &Model, res: &Resource) -> Option<String> {
        let acct = super::model::ACCOUNTS[res.account].id;
        Some(match self {
            Msg::None => return None,
            Msg::VssRetry => "Windows VSS Backup Job Error encountered, trying for regular backup".into(),
            Msg::S3AccessDenied => format!(
                "Access Denied to S3 bucket {}: the IAM role {} is missing s3:GetObject, s3:GetObjectVersion, \
                 s3:GetBucketTagging and s3:ListBucketVersions permissions required for S3 backups",
                res.name,
                m.backup_role(res)
            ),
            Msg::KmsAccessDenied => format!(
                "Access Denied: the IAM role {} is not authorized to perform kms:CreateGrant on the KMS key of \
                 backup vault {}",
                m.backup_role(res),
                m.vaults[m.vault_of(res)].name
            ),
            Msg::RdsNotAvailable => format!(
                "An error occurred (InvalidDBInstanceState) when calling the CreateDBSnapshot operation: \
                 Cannot create a snapshot because the database instance {} is not currently in the available state.",
                res.name
            ),
            Msg::StartWindowExpired => {
                "Backup job expired because it could not start before the end of the start window.".into()
            }
            Msg::StorageFullExpired => format!(
                "Backup job expired because it could not start before the end of the start window. \
                 The DB instance {} was in the storage-full state.",
                res.name
            ),
            Msg::UserAborted => format!(
                "Backup job was stopped by arn:aws:sts::{acct}:assumed-role/NordhafenOpsAdmin/j.keller during an incident change."
            ),
            Msg::ChildFailed => "Composite backup completed partially: 1 of 2 child jobs failed.".into(),
            Msg::Throttled => format!(
                "Backup job failed: the request to back up {} was throttled (ThrottlingException). Rate exceeded.",
                res.name
            ),
            Msg::ResourceInUse => format!(
                "An error occurred (ResourceInUseException): {} {} is being updated; try again later.",
                res.kind.label(),
                res.name
            ),
            Msg::CopyKmsDenied => format!(
                "Access denied: the KMS key of the destination vault nordhafen-central-vault does not grant \
                 kms:CreateGrant and kms:Decrypt to {}",
                m.backup_role(res)
            ),
            Msg::CopyFailed => "Copy job failed because the source recovery point was being deleted.".into(),
            Msg::RestoreSubnet => format!(
                "Restore failed: DBSubnetGroupNotFoundFault: DB subnet group 'nordhafen-restore-test' does not exist \
                 in account {acct}."
            ),
            Msg::RestoreCapacity => {
                "Restore failed: InsufficientInstanceCapacity: there is not enough capacity for the requested instance type \
                 in the Availability Zone."
                    .into()
            }
        })
    }

    /// `MessageCategory` for the API, where the category is one AWS documents.
    pub(crate) fn category(self, state: State) -> Option<&'static str> {
        match self {
            Msg::S3AccessDenied | Msg::KmsAccessDenied | Msg::CopyKmsDenied => Some("AccessDenied"),
            Msg::None if state == State::Completed => Some("SUCCESS"),
            Msg::VssRetry => Some("SUCCESS"),
            _ => None,
        }
    }
}

/// Common timing of a job: created, started (if it ever ran), and when it ended.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timing {
    pub(crate) created: i64,
    pub(crate) started: Option<i64>,
    pub(crate) end: i64,
    pub(crate) state: State,
}

impl Timing {
    /// The job's state as seen at `t` (`waiting` is CREATED or PENDING, by job type).
    pub(crate) fn state_at(&self, t: i64, waiting: State) -> State {
        if t >= self.end {
            self.state
        } else if self.started.is_some_and(|s| t >= s) {
            State::Running
        } else {
            waiting
        }
    }
}

/// What every job has, whatever its type.
#[derive(Clone, Debug)]
pub(crate) struct JobCore {
    /// Job id (printed upper-case).
    pub(crate) id: u128,
    /// The resource backed up, copied or restored (index into the model's resources).
    pub(crate) res: u32,
    /// Created, started, ended, final state.
    pub(crate) time: Timing,
    /// Why it ended that way.
    pub(crate) msg: Msg,
    /// Bytes backed up or copied (0 unless completed), or restored.
    pub(crate) size: u64,
    /// The scenario it plays, if any.
    pub(crate) scenario: Option<Scenario>,
}

/// A backup job (a composite stack backup is a parent job and one child job per resource).
#[derive(Clone, Debug)]
pub(crate) struct Backup {
    pub(crate) core: JobCore,
    /// Id of the recovery point it creates.
    pub(crate) rp: u128,
    /// A composite job whose children do the work.
    pub(crate) is_parent: bool,
    /// The parent job of a child job.
    pub(crate) parent: Option<u128>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Dest {
    CrossRegion,
    CrossAccount,
}

#[derive(Clone, Debug)]
pub(crate) struct Copy {
    pub(crate) core: JobCore,
    pub(crate) backup_id: u128,
    pub(crate) src_rp: u128,
    pub(crate) dest: Dest,
    pub(crate) dest_vault: usize,
    pub(crate) dest_rp: u128,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Validation {
    Successful,
    Failed,
    TimedOut,
}

impl Validation {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Validation::Successful => "SUCCESSFUL",
            Validation::Failed => "FAILED",
            Validation::TimedOut => "TIMED_OUT",
        }
    }
}

/// What a restore-testing plan adds to a restore job.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Test {
    pub(crate) plan: usize,
    /// Final validation status and when it was posted.
    pub(crate) validation: Option<(Validation, i64)>,
    /// When deletion of the restored resource started and finished.
    pub(crate) deletion: Option<(i64, i64)>,
}

#[derive(Clone, Debug)]
pub(crate) struct Restore {
    pub(crate) core: JobCore,
    /// The recovery point restored: its backup job's rp id and completion time.
    pub(crate) rp: u128,
    pub(crate) rp_created: i64,
    pub(crate) created_resource: u128,
    pub(crate) test: Option<Test>,
}

#[derive(Clone, Debug)]
pub(crate) enum Job {
    Backup(Backup),
    Copy(Copy),
    Restore(Restore),
}

impl Job {
    pub(crate) fn core(&self) -> &JobCore {
        match self {
            Job::Backup(b) => &b.core,
            Job::Copy(c) => &c.core,
            Job::Restore(r) => &r.core,
        }
    }

    pub(crate) fn time(&self) -> &Timing {
        &self.core().time
    }
}

const TAG_BACKUP: u64 = 11;
const TAG_TEST: u64 = 12;
const TAG_ADHOC: u64 = 13;

fn jitter(rng: &mut Rng, min_ms: i64, max_ms: i64) -> i64 {
    rng.i64(min_ms..max_ms)
}

/// Backup jobs (and the copies they trigger) of resource `r` scheduled on `day`.
pub(crate) fn backups(m: &Model, r: u32, day: i64, out: &mut Vec<Job>) {
    let res = &m.resources[r as usize];
    let Some(plan_ix) = res.plan else { return };
    let plan = &m.plans[plan_ix];
    if res.stack_child || !plan.schedule.runs_on(day) || !(FIRST_DAY..=LAST_DAY).contains(&day) {
        return;
    }
    let mut rng = Rng::with_seed(mix(&[m.seed, TAG_BACKUP, u64::from(r), day as u64]));
    let created = day * DAY + plan.schedule.hour * HOUR + jitter(&mut rng, 0, 2 * MIN);
    if res.kind == Kind::Stack {
        stack_jobs(m, r, created, day, &mut rng, out);
        return;
    }
    let b = one_backup(m, r, created, day, None, &mut rng);
    // Completed backups are copied: daily to the other Region, on Sundays to the central vault.
    let completed = b.core.time.state == State::Completed;
    let copies = [
        plan.copy_region_vault.map(|v| (Dest::CrossRegion, v)),
        plan.copy_account_vault.filter(|_| weekday(day) == 0).map(|v| (Dest::CrossAccount, v)),
    ];
    let copies: Vec<Copy> = copies
        .into_iter()
        .flatten()
        .filter(|_| completed)
        .map(|(dest, vault)| copy_job(res, &b, dest, vault, day, &mut rng))
        .collect();
    out.push(Job::Backup(b));
    out.extend(copies.into_iter().map(Job::Copy));
}

/// One backup job; `parent` is set for the children of a composite job.
fn one_backup(m: &Model, r: u32, created: i64, day: i64, parent: Option<u128>, rng: &mut Rng) -> Backup {
    use names::*;
    let res = &m.resources[r as usize];
    let plan = &m.plans[res.plan.unwrap_or(0)];
    let id = u128_of(rng);
    let rp = u128_of(rng);
    let started = created + jitter(rng, 20_000, 2 * MIN);
    // Little day-to-day variation: a daily backup's gaps stay within 24 h ± 1 h.
    let mut minutes = res.backup_min * (0.92 + 0.16 * rng.f64());
    let u = rng.f64();
    let (mut state, mut msg) = match u {
        _ if u < 0.0006 => {
            (State::Failed, if res.kind == Kind::DynamoDb { Msg::ResourceInUse } else { Msg::Throttled })
        }
        _ if u < 0.0009 => (State::Expired, Msg::StartWindowExpired),
        _ if u < 0.0011 => (State::Aborted, Msg::UserAborted),
        _ if res.windows && u < 0.06 => (State::Completed, Msg::VssRetry),
        _ => (State::Completed, Msg::None),
    };
    let mut scenario = None;
    if res.is(STATEMENTS_BUCKET) && (day == JUL_20 || day == JUL_21) {
        (state, msg, scenario) = (State::Failed, Msg::S3AccessDenied, Some(Scenario::S3AccessDenied));
    } else if res.is(CUSTOMER_DB) && (AUG_10..=AUG_12).contains(&day) {
        let expired = day == AUG_11;
        state = if expired { State::Expired } else { State::Failed };
        msg = if expired { Msg::StorageFullExpired } else { Msg::RdsNotAvailable };
        scenario = Some(Scenario::RdsRpoMiss);
    } else if m.quarter.has(Planted::BatchFsAccessDenied)
        && res.is(PAYMENTS_BATCH_FS)
        && (AUG_24..=AUG_26).contains(&day)
    {
        (state, msg, scenario) = (State::Failed, Msg::KmsAccessDenied, Some(Scenario::BackupKmsAccessDenied));
    } else if res.is(GW_01) && day == SEP_03 {
        (state, msg, scenario) = (State::Aborted, Msg::UserAborted, Some(Scenario::Aborted));
    } else if res.is(AD_DC_01) && day == AUG_19 {
        (state, msg, scenario) = (State::Completed, Msg::VssRetry, Some(Scenario::CompletedWithIssues));
    } else if res.is(SHARED_FS) && day == AUG_06 {
        (state, msg, scenario) = (State::Completed, Msg::None, Some(Scenario::AcrossMidnight));
        minutes = 250.0;
    } else if res.is(BATCH_STATE) && day == AUG_23 {
        (state, msg, scenario) = (State::Failed, Msg::ResourceInUse, Some(Scenario::ParentPartial));
    }
    let (started, end, size) = match state {
        State::Expired => (None, created + plan.start_window_min * MIN, 0),
        State::Failed => (Some(started), started + jitter(rng, MIN, 12 * MIN), 0),
        State::Aborted => (Some(started), started + (minutes * 0.4 * 60_000.0) as i64, 0),
        _ => {
            let size = (res.size_bytes as f64 * (0.97 + 0.06 * rng.f64())) as u64;
            (Some(started), started + (minutes * 60_000.0) as i64, size)
        }
    };
    Backup {
        core: JobCore { id, res: r, time: Timing { created, started, end, state }, msg, size, scenario },
        rp,
        is_parent: false,
        parent,
    }
}

/// A CloudFormation stack backup: a parent job and one child job per stack resource.
fn stack_jobs(m: &Model, r: u32, created: i64, day: i64, rng: &mut Rng, out: &mut Vec<Job>) {
    let res = &m.resources[r as usize];
    let id = u128_of(rng);
    let rp = u128_of(rng);
    let children: Vec<Backup> = res
        .children
        .iter()
        .map(|&c| one_backup(m, c, created + jitter(rng, 5_000, 40_000), day, Some(id), rng))
        .collect();
    let done: Vec<&Backup> = children.iter().filter(|c| c.core.time.state == State::Completed).collect();
    let last_child_end = children.iter().map(|c| c.core.time.end).fold(created, i64::max);
    let state = match done.len() {
        n if n == children.len() => State::Completed,
        0 => State::Failed,
        _ => State::Partial,
    };
    let failed_child = children.iter().any(|c| c.core.scenario == Some(Scenario::ParentPartial));
    out.push(Job::Backup(Backup {
        core: JobCore {
            id,
            res: r,
            time: Timing {
                created,
                started: Some(created + 5_000),
                end: last_child_end + jitter(rng, 30_000, 90_000),
                state,
            },
            msg: if done.len() < children.len() { Msg::ChildFailed } else { Msg::None },
            size: done.iter().map(|c| c.core.size).sum(),
            scenario: failed_child.then_some(Scenario::ParentPartial),
        },
        rp,
        is_parent: true,
        parent: None,
    }));
    out.extend(children.into_iter().map(Job::Backup));
}

/// The copy of completed backup `b` of `res` to `dest_vault`.
fn copy_job(res: &Resource, b: &Backup, dest: Dest, dest_vault: usize, day: i64, rng: &mut Rng) -> Copy {
    let size = b.core.size;
    let created = b.core.time.end + jitter(rng, 40_000, 5 * MIN);
    let started = created + jitter(rng, 5_000, 60_000);
    let minutes = (5.0 + size as f64 / 1_073_741_824.0 / 25.0).min(110.0) * (0.8 + 0.5 * rng.f64());
    let mut state = State::Completed;
    let mut msg = Msg::None;
    let mut scenario = None;
    if rng.f64() < 0.003 {
        (state, msg) = (State::Failed, Msg::CopyFailed);
    }
    if dest == Dest::CrossAccount && res.is(names::SEPA_DB) && day == AUG_16 {
        (state, msg, scenario) = (State::Failed, Msg::CopyKmsDenied, Some(Scenario::CopyFailed));
    }
    let end = if state == State::Completed {
        started + (minutes * 60_000.0) as i64
    } else {
        started + jitter(rng, 20_000, 3 * MIN)
    };
    Copy {
        core: JobCore {
            id: u128_of(rng),
            res: b.core.res,
            time: Timing { created, started: Some(started), end, state },
            msg,
            size: if state == State::Completed { size } else { 0 },
            scenario,
        },
        backup_id: b.core.id,
        src_rp: b.rp,
        dest,
        dest_vault,
        dest_rp: u128_of(rng),
    }
}

/// The latest completed backup of `r` that ended before `t` (looking back up to ten days).
fn latest_recovery_point(m: &Model, r: u32, t: i64, scratch: &mut Vec<Job>) -> Option<(u128, i64)> {
    let day = t.div_euclid(DAY);
    let mut best: Option<(u128, i64)> = None;
    for d in (day - 10).max(FIRST_DAY - 10)..=day {
        scratch.clear();
        backups(m, r, d, scratch);
        for j in scratch.iter() {
            if let Job::Backup(b) = j
                && b.core.res == r
                && b.core.time.state == State::Completed
                && b.core.time.end < t
                && best.is_none_or(|(_, e)| b.core.time.end > e)
            {
                best = Some((b.rp, b.core.time.end));
            }
        }
    }
    best
}

/// Restore jobs started by restore-testing plan `p` on `day`.
pub(crate) fn restore_tests(m: &Model, p: usize, day: i64, out: &mut Vec<Job>) {
    let plan = &m.restore_plans[p];
    if !plan.schedule.runs_on(day) || !(FIRST_DAY..=LAST_DAY).contains(&day) {
        return;
    }
    let run = plan.run_index(day);
    let mut scratch = Vec::new();
    for (si, sel) in plan.selections.iter().enumerate() {
        let n = sel.candidates.len() as i64;
        if n == 0 {
            continue;
        }
        // Round robin: each run tests half the candidates (rounded up), so each is tested every other run.
        let per_run = (n + 1) / 2;
        let mut chosen: Vec<u32> = (0..per_run).map(|j| sel.candidates[((run * per_run + j) % n) as usize]).collect();
        for &c in &sel.candidates {
            let res = &m.resources[c as usize];
            if res.replica == 0 && forced_test(m, res, day).is_some() && !chosen.contains(&c) {
                chosen.push(c);
            }
        }
        for (j, &c) in chosen.iter().enumerate() {
            let mut rng = Rng::with_seed(mix(&[m.seed, TAG_TEST, p as u64, day as u64, u64::from(c)]));
            let created = day * DAY
                + plan.schedule.hour * HOUR
                + (si as i64 * 3 + j as i64 % 5) * MIN
                + jitter(&mut rng, 0, 2 * MIN);
            let Some((rp, rp_created)) = latest_recovery_point(m, c, created, &mut scratch) else { continue };
            out.push(Job::Restore(test_job(m, p, c, created, rp, rp_created, &mut rng)));
        }
    }
}

/// Scenario outcome forced on a scale-1 candidate's restore test that day.
fn forced_test(m: &Model, res: &Resource, day: i64) -> Option<Scenario> {
    use names::*;
    let q = m.quarter;
    match (res.base_name, day) {
        (SHARED_FS, AUG_18) if q.has(Planted::SharedFsOverRto) => Some(Scenario::RestoreOverSilverRto),
        (LEDGER_DB, JUL_14) => Some(Scenario::RestoreInReportAndSnapshot),
        (LEDGER_DB, AUG_04) => Some(Scenario::RestoreValidationFailed),
        (ACCOUNTS_AURORA, JUL_07) => Some(Scenario::RestoreOverRto),
        (REPORTING_DB, JUL_23) => Some(Scenario::RestoreFailed),
        (CLEARING_AURORA, SEP_08) => Some(Scenario::RestoreValidationTimedOut),
        (SEPA_DB, SEP_09) => Some(Scenario::RestoreValidatingThenSuccessful),
        _ => None,
    }
}

fn test_job(m: &Model, p: usize, r: u32, created: i64, rp: u128, rp_created: i64, rng: &mut Rng) -> Restore {
    let plan = &m.restore_plans[p];
    let res = &m.resources[r as usize];
    let started = created + jitter(rng, 30_000, 3 * MIN);
    let mut minutes = res.restore_min * (0.8 + 0.45 * rng.f64());
    let u = rng.f64();
    let (mut state, mut msg, mut validation) = match u {
        _ if u < 0.01 => (State::Failed, Msg::RestoreCapacity, None),
        _ if u < 0.03 => (State::Completed, Msg::None, Some(Validation::Failed)),
        _ if u < 0.045 => (State::Completed, Msg::None, Some(Validation::TimedOut)),
        _ => (State::Completed, Msg::None, Some(Validation::Successful)),
    };
    let mut validation_delay = jitter(rng, 12 * MIN, 70 * MIN);
    let mut scenario = if res.replica == 0 { forced_test(m, res, created.div_euclid(DAY)) } else { None };
    if m.quarter.has(Planted::AdDcRestoreFails) && res.is(names::AD_DC_01) {
        scenario = Some(Scenario::CandidateRestoresFail);
    } else if m.quarter.has(Planted::SharedFsValidationFails) && res.is(names::SHARED_FS) && scenario.is_none() {
        scenario = Some(Scenario::CandidateValidationFails);
    }
    match scenario {
        Some(Scenario::RestoreInReportAndSnapshot) => validation = Some(Validation::Successful),
        Some(Scenario::RestoreValidationFailed) => validation = Some(Validation::Failed),
        Some(Scenario::RestoreValidationTimedOut) => validation = Some(Validation::TimedOut),
        Some(Scenario::RestoreOverRto) => {
            minutes = 155.0;
            validation = Some(Validation::Successful);
        }
        Some(Scenario::RestoreFailed) => (state, msg, validation) = (State::Failed, Msg::RestoreSubnet, None),
        Some(Scenario::CandidateRestoresFail) => (state, msg, validation) = (State::Failed, Msg::RestoreCapacity, None),
        Some(Scenario::CandidateValidationFails) => validation = Some(Validation::Failed),
        Some(Scenario::RestoreOverSilverRto) => {
            minutes = 290.0;
            validation = Some(Validation::Successful);
        }
        Some(Scenario::RestoreValidatingThenSuccessful) => {
            // Ends at ~05:20 and validates at ~06:40: the 06:00 snapshot sees VALIDATING.
            minutes = 78.0;
            validation = Some(Validation::Successful);
            validation_delay = 80 * MIN;
        }
        _ => {}
    }
    if state == State::Completed && !plan.validation {
        validation = None;
    }
    let end = if state == State::Completed {
        started + (minutes * 60_000.0) as i64
    } else {
        started + jitter(rng, 4 * MIN, 25 * MIN)
    };
    let validation = validation.map(|v| {
        let at =
            if v == Validation::TimedOut { end + plan.validation_window_hours * HOUR } else { end + validation_delay };
        (v, at)
    });
    let deletion = (state == State::Completed).then(|| {
        let start =
            validation.map_or(end + plan.validation_window_hours * HOUR, |(_, at)| at) + jitter(rng, 2 * MIN, 10 * MIN);
        (start, start + jitter(rng, 4 * MIN, 20 * MIN))
    });
    Restore {
        core: JobCore {
            id: u128_of(rng),
            res: r,
            time: Timing { created, started: Some(started), end, state },
            msg,
            size: res.size_bytes,
            scenario,
        },
        rp,
        rp_created,
        created_resource: u128_of(rng),
        test: Some(Test { plan: p, validation, deletion }),
    }
}

/// Restores an operator started by hand on resource `r` on `day` (rare).
pub(crate) fn adhoc_restores(m: &Model, r: u32, day: i64, out: &mut Vec<Job>) {
    use names::*;
    let res = &m.resources[r as usize];
    if res.plan.is_none() || res.kind == Kind::Stack || !(FIRST_DAY..=LAST_DAY).contains(&day) {
        return;
    }
    let mut rng = Rng::with_seed(mix(&[m.seed, TAG_ADHOC, u64::from(r), day as u64]));
    let forced = (res.is(PAYMENT_FILES) && day == AUG_19) || (res.is(APP_01_DATA) && day == SEP_15);
    if !forced && rng.f64() >= 0.0015 {
        return;
    }
    let created = day * DAY + 8 * HOUR + jitter(&mut rng, 0, 9 * HOUR);
    let mut scratch = Vec::new();
    let Some((rp, rp_created)) = latest_recovery_point(m, r, created, &mut scratch) else { return };
    let started = created + jitter(&mut rng, 20_000, 2 * MIN);
    let minutes = res.restore_min * (0.7 + 0.6 * rng.f64());
    let failed = !forced && rng.f64() < 0.05;
    let end =
        if failed { started + jitter(&mut rng, 3 * MIN, 15 * MIN) } else { started + (minutes * 60_000.0) as i64 };
    out.push(Job::Restore(Restore {
        core: JobCore {
            id: u128_of(&mut rng),
            res: r,
            time: Timing {
                created,
                started: Some(started),
                end,
                state: if failed { State::Failed } else { State::Completed },
            },
            msg: if failed { Msg::RestoreCapacity } else { Msg::None },
            size: res.size_bytes,
            scenario: forced.then_some(Scenario::AdhocRestore),
        },
        rp,
        rp_created,
        created_resource: u128_of(&mut rng),
        test: None,
    }));
}

/// Every job created (or scheduled) on `day` by resources `rs` and restore plans `plans`.
pub(crate) fn jobs_of_day(m: &Model, rs: &[u32], plans: &[usize], day: i64, out: &mut Vec<Job>) {
    for &r in rs {
        backups(m, r, day, out);
        adhoc_restores(m, r, day, out);
    }
    for &p in plans {
        restore_tests(m, p, day, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_are_reproducible_and_short_enough_for_the_regeneration_windows() {
        let m = Model::build(7, 1, crate::quarter::Quarter::Q3);
        let all: Vec<u32> = (0..m.resources.len() as u32).collect();
        let plans: Vec<usize> = (0..m.restore_plans.len()).collect();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for day in FIRST_DAY..=LAST_DAY {
            a.clear();
            b.clear();
            jobs_of_day(&m, &all, &plans, day, &mut a);
            jobs_of_day(&m, &all, &plans, day, &mut b);
            assert_eq!(format!("{a:?}"), format!("{b:?}"));
            for j in &a {
                let t = j.time();
                assert!(t.created >= day * DAY && t.created < (day + 2) * DAY, "{j:?}");
                assert!(t.end > t.created && t.end < (day + 2) * DAY, "{j:?}");
            }
        }
    }
}
