//! Ground truth: facts counted from the generator's own model while it runs, never read
//! back from the files, written to `ground-truth.json` for tests of the reader.
//!
//! Every job is seen here exactly once (on the day it is generated). Per-resource figures
//! (completed backups, RPO exposure, restore tests) are kept in one small record per
//! resource; the latest completions and restore tests are also what the compliance reports
//! evaluate.
//!
//! The figures follow the v2 evidence semantics (DESIGN §3, §6): parents are the jobs flagged
//! as parents or named as a parent by another job; RPO exposure runs from the latest completion
//! the written files hold before the period, between the completions inside it, and to its end.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::jobs::{Backup, Copy, Dest, Job, Restore, State, Timing, Validation};
use super::model::{ACCOUNTS, Kind, Lock, Model, REGIONS};
use super::out::{DAY, HOUR, MIN, TsStyle, guid, ts};
use super::quarter::{Planted, Quarter};
use super::reports::{REPORT_HOUR, Template, Variant};
use super::snapshots::{
    ALARMS, FIRST_SNAPSHOT_DAY, LAST_SNAPSHOT_DAY, LEGAL_HOLDS, SNAPSHOT_HOUR, WINDOW_DAYS, legal_hold_id,
    legal_hold_texts,
};

/// First and last report delivery days.
pub(crate) const FIRST_REPORT_DAY: i64 = super::model::FIRST_DAY + 1;
pub(crate) const LAST_REPORT_DAY: i64 = super::model::LAST_DAY + 2;

const STATES: [State; 8] = [
    State::Created,
    State::Pending,
    State::Running,
    State::Completed,
    State::Failed,
    State::Expired,
    State::Aborted,
    State::Partial,
];

/// Job counts, total and by final state.
#[derive(Default, Clone)]
struct Counts {
    total: u64,
    by_state: [u64; 8],
}

impl Counts {
    fn add(&mut self, s: State) {
        self.total += 1;
        self.by_state[s as usize] += 1;
    }

    fn json(&self) -> Value {
        let by: BTreeMap<&str, u64> = STATES
            .iter()
            .filter(|s| self.by_state[**s as usize] > 0)
            .map(|s| (s.as_str(), self.by_state[*s as usize]))
            .collect();
        json!({ "total": self.total, "by_state": by })
    }
}

/// What is known per resource.
#[derive(Default, Clone)]
pub(crate) struct ResStats {
    /// Backup jobs created in the period that completed.
    completed_in_period: u32,
    /// Recovery points: completions of COMPLETED non-parent backups inside the period,
    /// whatever the creation time of their job.
    completions_in_period: u32,
    first_completion_in_period: Option<i64>,
    last_completion_in_period: Option<i64>,
    /// Largest gap between consecutive completions inside the period.
    max_inner_gap: i64,
    /// (completion, job id) of the latest completion before the period that the input files hold.
    latest_before_period: Option<(i64, u128)>,
    /// Completion times of the latest completed backups (ring).
    recent: [i64; 4],
    recent_next: usize,
    /// (completion, minutes) of the latest completed restore tests (ring).
    recent_tests: [(i64, f64); 3],
    recent_tests_next: usize,
    tests_in_period: u32,
    passing_tests_in_period: u32,
    /// The period `[start, end)` in model milliseconds (see `Quarter::model_period`).
    period: (i64, i64),
}

impl ResStats {
    /// Records the completion of a COMPLETED non-parent backup (DESIGN §6, v2). Completions of
    /// one resource arrive in time order (one scheduled backup a day at most, each done well
    /// within a day), which the gaps rely on.
    fn add_completion(&mut self, t: &Timing, id: u128) {
        let end = t.end;
        if end < self.period.0 {
            if held_by_inputs(t) && self.latest_before_period.is_none_or(|(e, _)| end > e) {
                self.latest_before_period = Some((end, id));
            }
        } else if end < self.period.1 {
            if let Some(last) = self.last_completion_in_period {
                assert!(end >= last, "backup completions of one resource out of order: {end} after {last}");
                self.max_inner_gap = self.max_inner_gap.max(end - last);
            } else {
                self.first_completion_in_period = Some(end);
            }
            self.last_completion_in_period = Some(end);
            self.completions_in_period += 1;
        }
    }

    /// Largest age of the newest recovery point at any instant of the period (DESIGN §6, v2):
    /// from the latest completion before the period the inputs hold (else the period start) to
    /// the first completion inside it, between completions, and from the last one to the period
    /// end. `None` when nothing completed inside the period (a breach of any RPO).
    pub(crate) fn max_exposure_ms(&self) -> Option<i64> {
        let first = self.first_completion_in_period?;
        let last = self.last_completion_in_period?;
        let from = self.latest_before_period.map_or(self.period.0, |(e, _)| e);
        Some((first - from).max(self.max_inner_gap).max(self.period.1 - last))
    }

    /// The latest backup completion before `t`.
    pub(crate) fn last_completion_before(&self, t: i64) -> Option<i64> {
        self.recent.iter().copied().filter(|&e| e > 0 && e < t).max()
    }

    /// Duration in minutes of the latest restore test completed before `t`.
    pub(crate) fn last_test_minutes_before(&self, t: i64) -> Option<f64> {
        self.recent_tests.iter().filter(|x| x.0 > 0 && x.0 < t).max_by_key(|x| x.0).map(|x| x.1)
    }
}

/// A few ids, plus the count.
#[derive(Default)]
struct Examples {
    count: u64,
    ids: Vec<String>,
}

impl Examples {
    fn add(&mut self, id: u128) {
        self.count += 1;
        if self.ids.len() < 20 {
            self.ids.push(guid(id, true));
        }
    }

    fn json(&self) -> Value {
        json!({ "count": self.count, "examples": self.ids })
    }
}

/// The running tally.
pub(crate) struct Truth {
    backups_all: Counts,
    backups_period: Counts,
    backups_period_counted: Counts,
    completed_with_message_period: u64,
    parents_all: u64,
    parents_period: u64,
    /// Parents that no written observation flags (known only through a child's parent id).
    parents_by_reference_only: u64,
    children_all: u64,
    children_period: u64,
    copies_all: Counts,
    copies_period: Counts,
    copies_period_by_dest: [u64; 2],
    restores_all: Counts,
    restores_period: Counts,
    tests_all: u64,
    tests_period: Counts,
    tests_validation_period: BTreeMap<&'static str, u64>,
    tests_passed_period: u64,
    test_minutes_period: Vec<f64>,
    running_then_completed_reports: [Examples; 3],
    running_then_completed_snapshots: [Examples; 3],
    validating_then_final_snapshots: Examples,
    scenarios: BTreeMap<&'static str, Vec<Value>>,
    pub(crate) res: Vec<ResStats>,
    /// The period `[start, end)` in model milliseconds.
    period: (i64, i64),
}

impl Truth {
    pub(crate) fn new(m: &Model) -> Truth {
        Truth {
            backups_all: Counts::default(),
            backups_period: Counts::default(),
            backups_period_counted: Counts::default(),
            completed_with_message_period: 0,
            parents_all: 0,
            parents_period: 0,
            parents_by_reference_only: 0,
            children_all: 0,
            children_period: 0,
            copies_all: Counts::default(),
            copies_period: Counts::default(),
            copies_period_by_dest: [0; 2],
            restores_all: Counts::default(),
            restores_period: Counts::default(),
            tests_all: 0,
            tests_period: Counts::default(),
            tests_validation_period: BTreeMap::new(),
            tests_passed_period: 0,
            test_minutes_period: Vec::new(),
            running_then_completed_reports: Default::default(),
            running_then_completed_snapshots: Default::default(),
            validating_then_final_snapshots: Examples::default(),
            scenarios: BTreeMap::new(),
            res: vec![ResStats { period: m.quarter.model_period(), ..ResStats::default() }; m.resources.len()],
            period: m.quarter.model_period(),
        }
    }

    pub(crate) fn backup_jobs(&self) -> u64 {
        self.backups_all.total
    }

    pub(crate) fn copy_jobs(&self) -> u64 {
        self.copies_all.total
    }

    pub(crate) fn restore_jobs(&self) -> u64 {
        self.restores_all.total
    }

    pub(crate) fn restore_tests(&self) -> u64 {
        self.tests_all
    }

    /// Counts one job (called once per job, in generation order).
    pub(crate) fn add(&mut self, m: &Model, job: &Job) {
        let t = job.time();
        let in_period = (self.period.0..self.period.1).contains(&t.created);
        let kind = match job {
            Job::Backup(_) => 0,
            Job::Copy(_) => 1,
            Job::Restore(_) => 2,
        };
        if t.state == State::Completed {
            if seen_running_in_report(t) {
                self.running_then_completed_reports[kind].add(job.core().id);
            }
            if seen_running_in_snapshot(t) {
                self.running_then_completed_snapshots[kind].add(job.core().id);
            }
        }
        match job {
            Job::Backup(b) => self.add_backup(m, b, in_period),
            Job::Copy(c) => self.add_copy(c, in_period),
            Job::Restore(r) => self.add_restore(r, in_period),
        }
        if let Some(sc) = job.core().scenario {
            self.scenarios.entry(sc.key()).or_default().push(describe(m, job));
        }
    }

    /// Counts a backup job: states, parents and children, and its resource's completions.
    fn add_backup(&mut self, m: &Model, b: &Backup, in_period: bool) {
        let t = &b.core.time;
        self.backups_all.add(t.state);
        // v2: a parent is flagged, or named by another job as its parent. The model's
        // parents are exactly the jobs its children name; count those no file flags.
        let parent = b.is_parent;
        if parent {
            self.parents_all += 1;
            if !parent_flag_written(m, b) {
                self.parents_by_reference_only += 1;
            }
        }
        if b.parent.is_some() {
            self.children_all += 1;
        }
        if in_period {
            self.backups_period.add(t.state);
            if parent {
                self.parents_period += 1;
            } else {
                self.backups_period_counted.add(t.state);
                if t.state == State::Completed && b.core.msg != super::jobs::Msg::None {
                    self.completed_with_message_period += 1;
                }
            }
            if b.parent.is_some() {
                self.children_period += 1;
            }
        }
        if t.state == State::Completed && !parent {
            let s = &mut self.res[b.core.res as usize];
            s.recent[s.recent_next] = t.end;
            s.recent_next = (s.recent_next + 1) % s.recent.len();
            if in_period {
                s.completed_in_period += 1;
            }
            s.add_completion(t, b.core.id);
        }
    }

    /// Counts a copy job.
    fn add_copy(&mut self, c: &Copy, in_period: bool) {
        let t = &c.core.time;
        self.copies_all.add(t.state);
        if in_period {
            self.copies_period.add(t.state);
            self.copies_period_by_dest[usize::from(c.dest == Dest::CrossAccount)] += 1;
        }
    }

    /// Counts a restore job and, for a restore test, its validation, duration and resource.
    fn add_restore(&mut self, r: &Restore, in_period: bool) {
        let t = &r.core.time;
        self.restores_all.add(t.state);
        if in_period {
            self.restores_period.add(t.state);
        }
        if let Some(test) = r.test {
            self.tests_all += 1;
            let minutes = (t.end - t.created) as f64 / MIN as f64;
            if t.state == State::Completed {
                let s = &mut self.res[r.core.res as usize];
                s.recent_tests[s.recent_tests_next] = (t.end, minutes);
                s.recent_tests_next = (s.recent_tests_next + 1) % s.recent_tests.len();
                if let Some((_, at)) = test.validation
                    && validating_in_snapshot(t.end, at)
                {
                    self.validating_then_final_snapshots.add(r.core.id);
                }
            }
            if in_period {
                self.tests_period.add(t.state);
                let v = match (t.state, test.validation) {
                    (State::Completed, Some((v, _))) => v.as_str(),
                    (State::Completed, None) => "ABSENT",
                    _ => "NONE_RESTORE_NOT_COMPLETED",
                };
                *self.tests_validation_period.entry(v).or_default() += 1;
                let passed =
                    t.state == State::Completed && matches!(test.validation, None | Some((Validation::Successful, _)));
                let s = &mut self.res[r.core.res as usize];
                s.tests_in_period += 1;
                if passed {
                    self.tests_passed_period += 1;
                    s.passing_tests_in_period += 1;
                }
                if t.state == State::Completed {
                    self.test_minutes_period.push(minutes);
                }
            }
        }
    }

    /// `ground-truth.json`. Lists of resources (and ARNs) only while small (scale ≤ 44);
    /// counts always.
    pub(crate) fn to_json(&self, m: &Model, input_files: u64, input_bytes: u64) -> Value {
        let small = m.resources.len() <= 2000;
        let (candidates, untested) = self.candidates(m);
        let q = m.quarter;
        let month = if q == Quarter::Q3 { "July" } else { "April" };
        let mut truth = json!({
            "semantics": 2,
            "generator": { "command": format!("dora-evidence samples --scale {} --seed {}{} --out <dir>", m.scale, m.seed, quarter_flag(m)),
                           "scale": m.scale, "seed": m.seed },
            "period": { "id": m.quarter.id(), "start": ts(q.at(self.period.0), TsStyle::Seconds).as_str(), "end": ts(q.at(self.period.1), TsStyle::Seconds).as_str(),
                        "jobs_from": ts(q.at(super::model::FIRST_DAY * DAY), TsStyle::Seconds).as_str(),
                        "jobs_until": ts(q.at((super::model::LAST_DAY + 1) * DAY), TsStyle::Seconds).as_str() },
            "accounts": ACCOUNTS.iter().map(|a| json!({"id": a.id, "name": a.name, "path_to_root": a.path_to_root,
                        "json_reports": a.json_reports, "snapshot_times": if a.epoch_times {"epoch seconds (CLI v1)"} else {"ISO 8601 (CLI v2)"}})).collect::<Vec<_>>(),
            "regions": REGIONS,
            "input": { "files": input_files, "bytes": input_bytes },
            "resources": self.resources_section(m, small),
            "backup_jobs": {
                "all": self.backups_all.json(),
                "in_period": self.backups_period.json(),
                "in_period_excluding_parents": self.backups_period_counted.json(),
                "in_period_completed_with_status_message": self.completed_with_message_period,
                "in_period_success_rate_excluding_parents": self.success_rate(),
                "parents": { "total": self.parents_all, "in_period": self.parents_period,
                             "flagged_in_no_file_known_by_reference_only": self.parents_by_reference_only },
                "children": { "total": self.children_all, "in_period": self.children_period },
            },
            "copy_jobs": {
                "all": self.copies_all.json(),
                "in_period": self.copies_period.json(),
                "in_period_cross_region": self.copies_period_by_dest[0],
                "in_period_cross_account": self.copies_period_by_dest[1],
            },
            "restore_jobs": { "all": self.restores_all.json(), "in_period": self.restores_period.json(),
                              "note": "restore tests included" },
            "restore_tests": self.restore_tests_section(),
            "restore_testing": restore_testing_section(m, small),
            "candidates": {
                "tag": "restore_testing_candidate=true",
                "total": candidates.len(),
                "arns": if small { candidates.iter().map(|&i| m.resources[i].arn.as_str()).collect() } else { Vec::new() },
                "without_passing_test_in_period_total": untested.len(),
                "without_passing_test_in_period": if small { untested.clone() } else { Vec::new() },
            },
            "running_then_completed": {
                "in_reports": { "backup": self.running_then_completed_reports[0].json(), "copy": self.running_then_completed_reports[1].json(),
                                "restore": self.running_then_completed_reports[2].json() },
                "in_snapshots": { "backup": self.running_then_completed_snapshots[0].json(), "copy": self.running_then_completed_snapshots[1].json(),
                                  "restore": self.running_then_completed_snapshots[2].json() },
            },
            "vaults": vaults_section(m),
            "vault_protection": super::protection::truth(m),
            "legal_holds": legal_holds_section(m),
            "alarms": alarms_section(),
            "backup_policy": backup_policy_section(m),
            "malware_scans": super::scans::truth(m),
            "alert_paths": super::alerts::truth(q),
            "scenarios": self.scenarios_section(m, small, &untested),
            "schema_drift": [
                "cross-account CSVs of eu-west-1: UTF-8 BOM, CRLF line ends, every header double-quoted",
                "CSV headers 'Job Run Time [HH:MM:SS]' and 'Backup Size in Bytes [Bytes]' carry a [...] suffix; 'Account ID' and 'Status Message' are quoted",
                format!("BACKUP_JOB_REPORT CSVs covering {month}: Athena-style snake_case headers and the older column set (no resource name, no parent fields)"),
                format!("RESTORE_JOB_REPORT covering {month} (JSON and CSV): single reportTimePeriod / 'Report Time Period' = 'start - end'"),
                "eu-west-1 reports (JSON and CSV) have no vaultType",
                "jobRunTime is HH:MM:SS for finished jobs, a timestamp for active ones",
                "restore reports carry no restore-testing fields; list-restore-jobs snapshots do",
                "payments (444455556666) snapshots use epoch-second floats; the others ISO 8601 with +00:00",
                "Path To Root column in cross-account CSVs",
            ],
        });
        if q != Quarter::Q3 {
            truth["quarter_differences"] = super::quarter::truth(m);
        }
        truth
    }

    /// Candidates (`restore_testing_candidate=true`) and the ARNs of those without a passing
    /// restore test in the period.
    fn candidates<'m>(&self, m: &'m Model) -> (Vec<usize>, Vec<&'m str>) {
        let candidates: Vec<usize> =
            (0..m.resources.len()).filter(|&i| m.resources[i].candidate == Some(true)).collect();
        let untested: Vec<&str> = candidates
            .iter()
            .filter(|&&i| self.res[i].passing_tests_in_period == 0)
            .map(|&i| m.resources[i].arn.as_str())
            .collect();
        (candidates, untested)
    }

    /// `resources`: counts, RPO breaches and exposure, and the per-resource list.
    fn resources_section(&self, m: &Model, small: bool) -> Value {
        // Only the resources that exist in this quarter (see `Model::exists`).
        let present: Vec<usize> = (0..m.resources.len()).filter(|&i| m.exists[i]).collect();
        let resources: Vec<Value> = if small {
            present.iter().map(|&i| self.resource_json(m, i, &m.resources[i])).collect()
        } else {
            Vec::new()
        };
        // Every resource of the estate is in the tag inventory, so every one is considered; with a
        // catch-all target a resource breaches RPO h when its exposure exceeds h or nothing
        // completed inside the period.
        let exposure = |i: usize| self.res[i].max_exposure_ms();
        let breaches = |h: i64| present.iter().filter(|&&i| exposure(i).is_none_or(|e| e > h * HOUR)).count();
        let without_rp: Vec<&str> =
            present.iter().filter(|&&i| exposure(i).is_none()).map(|&i| m.resources[i].arn.as_str()).collect();
        let listed = || present.iter().map(|&i| &m.resources[i]);
        json!({
            "total": present.len(),
            "by_type": count_by(listed().map(|r| r.kind.label())),
            "by_tier": count_by(listed().filter(|r| r.kind != Kind::Stack).map(|r| r.tier.label())),
            "rpo_breaches_with_catch_all_target_of_hours": {
                "24": breaches(24), "25": breaches(25), "26": breaches(26), "48": breaches(48),
                "168": breaches(168), "169": breaches(169), "192": breaches(192),
            },
            "without_recovery_point_in_period": {
                "count": without_rp.len(), "arns": if small { without_rp } else { Vec::new() },
            },
            "list": resources,
            "list_note": concat!(
                "ARN lists (resources, candidates, selections) only when there are at most 2000 resources ",
                "(scale <= 44), counts always. RPO exposure follows DESIGN §6 v2: recovery points are the ",
                "completions of COMPLETED non-parent backups whatever their creation time; ",
                "max_exposure_ms_in_period (exact; _hours rounded to 2 decimals) is the largest of: first ",
                "completion in the period - the latest completion before it that the input files hold (else ",
                "the period start), the gaps between completions in the period, period end - last completion; ",
                "null when nothing completed in the period, which breaches any RPO. Every resource is in the ",
                "tag inventory, so a catch-all target considers all of them.",
            ),
        })
    }

    /// `restore_tests`: counts, validation results and durations of the tests in the period.
    fn restore_tests_section(&self) -> Value {
        let mut minutes = self.test_minutes_period.clone();
        minutes.sort_by(f64::total_cmp);
        let p95 = if minutes.is_empty() { None } else { Some(minutes[(minutes.len() * 95).div_ceil(100) - 1]) };
        let round = |x: f64| (x * 100.0).round() / 100.0;
        json!({
            "total": self.tests_all,
            "in_period": self.tests_period.json(),
            "in_period_by_validation": self.tests_validation_period,
            "in_period_passed": self.tests_passed_period,
            "in_period_completed_duration_minutes_p95": p95.map(round),
            "in_period_completed_duration_minutes_max": minutes.last().copied().map(round),
            "in_period_completed_longer_than_120_minutes": minutes.iter().filter(|&&x| x > 120.0).count(),
            "validating_in_one_snapshot_final_in_a_later_one": self.validating_then_final_snapshots.json(),
        })
    }

    /// `scenarios`: the jobs of each scenario, and the scenarios that are facts of the estate.
    fn scenarios_section(&self, m: &Model, small: bool, untested: &[&str]) -> Value {
        use super::model::names::*;
        let mut scenarios: serde_json::Map<String, Value> =
            self.scenarios.iter().map(|(k, v)| (k.to_string(), Value::Array(v.clone()))).collect();
        let by_arn = |name: &str| m.resources.iter().find(|r| r.is(name)).map(|r| r.arn.clone());
        if m.quarter.has(Planted::TmpImportTable) {
            scenarios.insert(
                "unprotected_resource".into(),
                json!({ "arn": by_arn(TMP_IMPORT), "note": "in the tag inventory, in no backup plan: no jobs" }),
            );
        }
        scenarios.insert(
            "unencrypted_resource".into(),
            json!({ "arn": by_arn(AD_DC_03_DATA), "note": "unencrypted EBS volume: isEncrypted false, control BACKUP_RECOVERY_POINT_ENCRYPTED NON_COMPLIANT" }),
        );
        scenarios.insert(
            "never_tested_candidates".into(),
            json!({ "count": untested.len(), "arns": if small { untested.to_vec() } else { Vec::new() }, "why": "DynamoDB is not in core-banking eu-central-1's selections; payments and shared-services eu-west-1 have no restore testing plan" }),
        );

        Value::Object(scenarios)
    }

    fn success_rate(&self) -> Option<f64> {
        let c = &self.backups_period_counted;
        let done = c.by_state[State::Completed as usize];
        let terminal: u64 = [State::Completed, State::Failed, State::Expired, State::Aborted, State::Partial]
            .iter()
            .map(|s| c.by_state[*s as usize])
            .sum();
        (terminal > 0).then(|| (done as f64 / terminal as f64 * 10_000.0).round() / 10_000.0)
    }

    fn resource_json(&self, m: &Model, i: usize, r: &super::model::Resource) -> Value {
        let s = &self.res[i];
        json!({
            "arn": r.arn, "account": ACCOUNTS[r.account].id, "region": REGIONS[r.region], "type": r.kind.label(),
            "name": r.name, "tier": (r.kind != Kind::Stack).then(|| r.tier.label()), "candidate": r.candidate,
            "backup_plan": r.plan.map(|p| m.plans[p].name.as_str()),
            "schedule": r.plan.map(|p| m.plans[p].schedule.cron),
            "vault": r.plan.map(|p| m.vaults[m.plans[p].vault].name.as_str()),
            "stack_child": r.stack_child,
            "completed_backups_in_period": s.completed_in_period,
            "recovery_points_in_period": s.completions_in_period,
            "latest_recovery_point_before_period": s.latest_before_period.map(|(e, id)| json!({
                "completed": ts(m.quarter.at(e), TsStyle::Report).as_str(), "job_id": guid(id, true) })),
            "max_exposure_ms_in_period": s.max_exposure_ms(),
            "max_exposure_hours_in_period":
                s.max_exposure_ms().map(|g| (g as f64 / HOUR as f64 * 100.0).round() / 100.0),
            "restore_tests_in_period": s.tests_in_period,
            "passing_restore_tests_in_period": s.passing_tests_in_period,
        })
    }
}

/// `restore_testing`: the restore-testing plans and the account/Regions without one.
fn restore_testing_section(m: &Model, small: bool) -> Value {
    let no_plan: Vec<Value> = (0..ACCOUNTS.len())
        .flat_map(|a| (0..REGIONS.len()).map(move |r| (a, r)))
        .filter(|&(a, r)| m.restore_plan_of(a, r).is_none())
        .map(|(a, r)| json!({ "account": ACCOUNTS[a].id, "region": REGIONS[r] }))
        .collect();
    let plans: Vec<Value> = m
        .restore_plans
        .iter()
        .map(|p| {
            json!({
                "account": ACCOUNTS[p.account].id, "region": REGIONS[p.region], "name": p.name, "arn": p.arn,
                "schedule": p.schedule.cron, "validation": p.validation,
                "selections": p.selections.iter().map(|s| json!({"name": s.name, "resource_type": s.kind.label(),
                    "candidates": s.candidates.len(),
                    "candidate_arns": if small { s.candidates.iter().map(|&c| m.resources[c as usize].arn.as_str()).collect() } else { Vec::new() }})).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({ "plans": plans, "account_regions_without_plan": no_plan })
}

/// `vaults`: every vault with its lock.
fn vaults_section(m: &Model) -> Value {
    let vaults: Vec<Value> = m
        .vaults
        .iter()
        .map(|v| {
            let (mode, lock_date) = match v.lock {
                Lock::None => ("none", None),
                Lock::Governance => ("governance", None),
                Lock::Compliance(t) => ("compliance", Some(ts(m.quarter.at(t), TsStyle::Seconds).as_str().to_string())),
            };
            json!({ "account": ACCOUNTS[v.account].id, "region": REGIONS[v.region], "name": v.name, "arn": v.arn,
                    "lock_mode": mode, "locked": v.lock != Lock::None, "lock_date": lock_date,
                    "min_retention_days": v.min_days, "max_retention_days": v.max_days })
        })
        .collect();
    Value::from(vaults)
}

/// `legal_holds`: the legal holds with their final status.
fn legal_holds_section(m: &Model) -> Value {
    let holds: Vec<Value> = LEGAL_HOLDS
        .iter()
        .enumerate()
        .map(|(i, h)| {
            json!({ "id": legal_hold_id(m, i), "title": legal_hold_texts(m.quarter, h.0, h.1).0, "account": ACCOUNTS[0].id, "region": REGIONS[0],
                    "final_status": if h.3.is_some() { "CANCELED" } else { "ACTIVE" },
                    "created": ts(m.quarter.at(h.2), TsStyle::Seconds).as_str(), "canceled": h.3.map(|c| ts(m.quarter.at(c), TsStyle::Seconds).as_str().to_string()) })
        })
        .collect();
    Value::from(holds)
}

/// `alarms`: the failed-backup alarms with and without an action, and the accounts without one.
fn alarms_section() -> Value {
    let backup_alarms = |with_action: bool| -> Vec<Value> {
        ALARMS
            .iter()
            .filter(|a| a.3 == "NumberOfBackupJobsFailed" && a.5 == with_action)
            .map(|a| json!({"account": ACCOUNTS[a.0].id, "region": REGIONS[a.1], "alarm": a.2}))
            .collect()
    };
    let without_alarms: Vec<&str> = (0..ACCOUNTS.len())
        .filter(|&a| !ALARMS.iter().any(|x| x.0 == a && x.4 == "AWS/Backup"))
        .map(|a| ACCOUNTS[a].id)
        .collect();
    json!({ "failed_backup_alarm_with_sns_action": backup_alarms(true),
            "failed_backup_alarm_without_action": backup_alarms(false),
            "accounts_without_backup_alarms": without_alarms })
}

/// `backup_policy`: the resources in no backup plan, and those on a plan whose schedule is
/// slower than their tier's (what `policy_covers_targets` must name with the example config).
fn backup_policy_section(m: &Model) -> Value {
    let in_no_plan: Vec<&str> = m
        .resources
        .iter()
        .zip(&m.exists)
        .filter(|(r, exists)| **exists && r.plan.is_none())
        .map(|(r, _)| r.arn.as_str())
        .collect();
    let slower: Vec<Value> = m
        .resources
        .iter()
        .filter(|r| r.on_weekly_plan())
        .filter_map(|r| {
            let p = &m.plans[r.plan?];
            Some(json!({"arn": r.arn, "tier": r.tier.label(), "plan": p.name, "rule": p.rule_name, "schedule": p.schedule.cron}))
        })
        .collect();
    json!({ "in_no_plan": in_no_plan, "on_a_plan_slower_than_their_tier": slower })
}

fn count_by<'a>(items: impl Iterator<Item = &'a str>) -> BTreeMap<&'a str, u64> {
    let mut map = BTreeMap::new();
    for i in items {
        *map.entry(i).or_default() += 1;
    }
    map
}

/// ` --quarter <id>` for the generator command, empty for the default quarter.
fn quarter_flag(m: &Model) -> String {
    if m.quarter == Quarter::default() { String::new() } else { format!(" --quarter {}", m.quarter.id()) }
}

/// A scenario job as ground truth lists it.
fn describe(m: &Model, job: &Job) -> Value {
    let kind = match job {
        Job::Backup(b) if b.is_parent => "backup (parent)",
        Job::Backup(b) if b.parent.is_some() => "backup (child)",
        Job::Backup(_) => "backup",
        Job::Copy(_) => "copy",
        Job::Restore(r) if r.test.is_some() => "restore test",
        Job::Restore(_) => "restore",
    };
    let core = job.core();
    let (res, t, q) = (&m.resources[core.res as usize], &core.time, m.quarter);
    let mut v = json!({
        "job_id": guid(core.id, true), "job": kind, "resource_arn": res.arn, "account": ACCOUNTS[res.account].id,
        "region": REGIONS[res.region], "created": ts(q.at(t.created), TsStyle::Report).as_str(), "ended": ts(q.at(t.end), TsStyle::Report).as_str(),
        "final_state": t.state.as_str(), "duration_minutes": ((t.end - t.created) as f64 / MIN as f64 * 100.0).round() / 100.0,
    });
    match job {
        Job::Backup(b) => {
            v["parent_job_id"] = json!(b.parent.map(|p| guid(p, true)));
            v["running_in_report_of"] = json!(first_running_report(t).map(|d| super::out::date(q.day(d))));
        }
        Job::Copy(c) => {
            v["destination_vault"] = json!(m.vaults[c.dest_vault].arn);
        }
        Job::Restore(r) => {
            if let Some(test) = r.test {
                v["restore_testing_plan_arn"] = json!(m.restore_plans[test.plan].arn);
                v["validation_status"] = json!(test.validation.map(|x| x.0.as_str()));
                if let Some((_, at)) = test.validation
                    && validating_in_snapshot(t.end, at)
                {
                    v["validating_in_snapshot_of"] = json!(ts(q.at(snapshot_after(t.end)), TsStyle::Seconds).as_str());
                }
                let day = t.created.div_euclid(DAY);
                v["in_report_of"] = json!(super::out::date(q.day(day + 1)));
                v["in_snapshot_of"] = json!(ts(q.at(snapshot_after(t.end)), TsStyle::Seconds).as_str());
            }
        }
    }
    v["status_message"] = json!(core.msg.text(m, res));
    v
}

/// First report (delivery day) that lists the job as RUNNING, if any.
fn first_running_report(t: &Timing) -> Option<i64> {
    let started = t.started?;
    let g0 = REPORT_HOUR * HOUR;
    let day = (started - g0 + DAY - 1).div_euclid(DAY).max(FIRST_REPORT_DAY);
    let g = day * DAY + g0;
    (day <= LAST_REPORT_DAY && g >= started && g > t.created && g < t.end).then_some(day)
}

/// The daily report that lists a job in its final state (the one covering the day it ended),
/// if it was delivered.
fn final_report(t: &Timing) -> Option<i64> {
    let day = t.end.div_euclid(DAY) + 1;
    // The writer of report `day` regenerates the jobs created on days `day-2 ..= day`.
    ((FIRST_REPORT_DAY..=LAST_REPORT_DAY).contains(&day) && t.created.div_euclid(DAY) >= day - 2).then_some(day)
}

/// Whether some written file (a report or a snapshot) holds the job in its final state.
fn held_by_inputs(t: &Timing) -> bool {
    final_report(t).is_some() || in_snapshot_window(t.created, snapshot_after(t.end))
}

/// Whether some written observation of parent job `b` carries the parent flag: JSON reports and
/// snapshots always do; CSV reports unless they use the older column set (July backup reports).
fn parent_flag_written(m: &Model, b: &Backup) -> bool {
    let res = &m.resources[b.core.res as usize];
    let t = &b.core.time;
    let reports: Vec<i64> = first_running_report(t).into_iter().chain(final_report(t)).collect();
    let csv_flags = reports.iter().any(|&d| !Variant::of(Template::Backup, res.region, d).snake_old);
    let in_snapshot = in_snapshot_window(t.created, snapshot_after(t.created + 1));
    in_snapshot || csv_flags || (ACCOUNTS[res.account].json_reports && !reports.is_empty())
}

fn seen_running_in_report(t: &Timing) -> bool {
    first_running_report(t).is_some()
}

/// First snapshot time at or after `t`.
fn snapshot_after(t: i64) -> i64 {
    let first = FIRST_SNAPSHOT_DAY * DAY + SNAPSHOT_HOUR * HOUR;
    if t <= first {
        return first;
    }
    first + (t - first + 7 * DAY - 1) / (7 * DAY) * 7 * DAY
}

fn in_snapshot_window(created: i64, at: i64) -> bool {
    at <= LAST_SNAPSHOT_DAY * DAY + SNAPSHOT_HOUR * HOUR && created < at && created >= at - WINDOW_DAYS * DAY
}

fn seen_running_in_snapshot(t: &Timing) -> bool {
    let Some(started) = t.started else { return false };
    let at = snapshot_after(started);
    at < t.end && in_snapshot_window(t.created, at) && in_snapshot_window(t.created, snapshot_after(t.end))
}

/// A test that completed before a snapshot whose validation came after it.
fn validating_in_snapshot(end: i64, validated: i64) -> bool {
    let at = snapshot_after(end);
    at > end && at < validated
}
