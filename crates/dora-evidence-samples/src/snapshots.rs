//! Weekly API snapshots: what `aws backup list-…` and friends printed, saved under
//! `input/collected/<account>/<region>/<timestamp>/<operation>.json`.
//!
//! Each snapshot lists the jobs created in the 8 days before it (so consecutive weekly
//! snapshots overlap by a day) in their state at snapshot time, plus vaults, legal holds,
//! restore-testing plans, recovery points, CloudWatch alarms and the tag inventory. Times are
//! AWS CLI v2 ISO strings, or epoch-second floats (CLI v1) for the accounts so marked.
//! Job lists are written one item per line; small documents are pretty-printed like the CLI.

use std::io::{self, Write};

use serde::Serialize;

use super::jobs::{Backup, Copy, Dest, Job, JobCore, Restore, State, Validation, jobs_of_day};
use super::model::{ACCOUNTS, FIRST_DAY, Kind, Lock, Model, REGIONS, Resource, Tier, Vault};
use super::out::{DAY, HOUR, MIN, Out, Sink, Ts, TsStyle, guid, mix, ts};
use super::quarter::Quarter;
use super::reports::{Seen, composite_rp_arn};

/// First snapshot (2026-07-01, a Wednesday) and the last (2026-10-07).
pub(crate) const FIRST_SNAPSHOT_DAY: i64 = 20_635;
pub(crate) const LAST_SNAPSHOT_DAY: i64 = 20_733;
/// Snapshots are taken at 06:00 UTC.
pub(crate) const SNAPSHOT_HOUR: i64 = 6;
/// Days of job history each snapshot lists.
pub(crate) const WINDOW_DAYS: i64 = 8;

pub(crate) fn is_snapshot_day(day: i64) -> bool {
    (FIRST_SNAPSHOT_DAY..=LAST_SNAPSHOT_DAY).contains(&day) && (day - FIRST_SNAPSHOT_DAY) % 7 == 0
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct CreatedBy<'a> {
    backup_plan_id: &'a str,
    backup_plan_arn: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    backup_plan_name: Option<&'a str>,
    backup_plan_version: &'a str,
    backup_rule_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    backup_rule_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    backup_rule_cron: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    backup_rule_timezone: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Lifecycle {
    #[serde(skip_serializing_if = "Option::is_none")]
    move_to_cold_storage_after_days: Option<u32>,
    delete_after_days: u32,
    opt_in_to_archive_for_supported_resources: bool,
}

#[derive(Serialize)]
struct WindowsVss {
    #[serde(rename = "WindowsVSS")]
    windows_vss: &'static str,
}

/// Where list-backup-jobs and list-copy-jobs say how far a job got (the same fields, in the
/// same place of both).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Progress<'a> {
    resource_arn: &'a str,
    creation_date: Ts,
    #[serde(skip_serializing_if = "Option::is_none")]
    completion_date: Option<Ts>,
    state: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_message: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ApiBackupJob<'a> {
    account_id: &'a str,
    backup_job_id: String,
    backup_vault_name: &'a str,
    backup_vault_arn: &'a str,
    vault_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    vault_lock_state: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    recovery_point_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    recovery_point_lifecycle: Option<Lifecycle>,
    #[serde(skip_serializing_if = "Option::is_none")]
    encryption_key_arn: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_encrypted: Option<bool>,
    #[serde(flatten)]
    progress: Progress<'a>,
    percent_done: String,
    backup_size_in_bytes: u64,
    iam_role_arn: String,
    created_by: CreatedBy<'a>,
    expected_completion_date: Ts,
    start_by: Ts,
    resource_type: &'a str,
    bytes_transferred: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    backup_options: Option<WindowsVss>,
    #[serde(skip_serializing_if = "Option::is_none")]
    backup_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_job_id: Option<String>,
    is_parent: bool,
    resource_name: &'a str,
    initiation_date: Ts,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_category: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ApiCopyJob<'a> {
    account_id: &'a str,
    copy_job_id: String,
    source_backup_vault_arn: &'a str,
    source_recovery_point_arn: String,
    destination_backup_vault_arn: &'a str,
    destination_vault_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    destination_vault_lock_state: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    destination_recovery_point_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    destination_encryption_key_arn: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    destination_recovery_point_lifecycle: Option<Lifecycle>,
    #[serde(flatten)]
    progress: Progress<'a>,
    backup_size_in_bytes: u64,
    iam_role_arn: String,
    created_by: CreatedBy<'a>,
    created_by_backup_job_id: String,
    resource_type: &'a str,
    is_parent: bool,
    resource_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_category: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct RestoreCreatedBy<'a> {
    restore_testing_plan_arn: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ApiRestoreJob<'a> {
    account_id: &'a str,
    restore_job_id: String,
    recovery_point_arn: String,
    source_resource_arn: &'a str,
    backup_vault_arn: &'a str,
    creation_date: Ts,
    #[serde(skip_serializing_if = "Option::is_none")]
    completion_date: Option<Ts>,
    status: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_message: Option<String>,
    percent_done: String,
    backup_size_in_bytes: u64,
    iam_role_arn: &'a str,
    expected_completion_time_minutes: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_resource_arn: Option<String>,
    resource_type: &'a str,
    recovery_point_creation_date: Ts,
    is_parent: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_by: Option<RestoreCreatedBy<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    validation_status: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    validation_status_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    deletion_status: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    deletion_status_message: Option<&'a str>,
}

/// A `{"Key":[` … `]}` job list written one item per line.
struct ListFile {
    sink: Sink,
    items: u64,
}

impl ListFile {
    fn open(out: &Out, rel: &str, key: &str) -> io::Result<ListFile> {
        let mut sink = out.create(rel)?;
        write!(sink, "{{\n    \"{key}\": [")?;
        Ok(ListFile { sink, items: 0 })
    }

    fn item<T: Serialize>(&mut self, item: &T) -> io::Result<()> {
        self.sink.write_all(if self.items == 0 { b"\n        " } else { b",\n        " })?;
        serde_json::to_writer(&mut self.sink, item).map_err(io::Error::other)?;
        self.items += 1;
        Ok(())
    }

    fn finish(mut self, out: &mut Out) -> io::Result<()> {
        self.sink.write_all(if self.items == 0 { b"]\n}\n" } else { b"\n    ]\n}\n" })?;
        out.finish(self.sink)
    }
}

/// Snapshot context: account, Region, time, timestamp style.
struct Snap<'a> {
    m: &'a Model,
    acct: usize,
    region: usize,
    at: i64,
    style: TsStyle,
    /// Taken with AWS CLI v1 and an older botocore model: epoch times, and none of the job
    /// attributes AWS added on 2025-10-14 (plan/rule names, lifecycle, encryption, lock state).
    legacy: bool,
    dir: String,
}

impl Snap<'_> {
    fn ts(&self, t: i64) -> Ts {
        Ts(self.m.quarter.at(t), self.style)
    }

    fn created_by<'b>(&'b self, res: &Resource) -> CreatedBy<'b> {
        let plan = &self.m.plans[res.plan.unwrap_or(0)];
        CreatedBy {
            backup_plan_id: &plan.id,
            backup_plan_arn: &plan.arn,
            backup_plan_name: (!self.legacy).then_some(plan.name.as_str()),
            backup_plan_version: &plan.version,
            backup_rule_id: &plan.rule_id,
            backup_rule_name: (!self.legacy).then_some(plan.rule_name),
            backup_rule_cron: (!self.legacy).then_some(plan.schedule.cron),
            backup_rule_timezone: (!self.legacy).then_some("UTC"),
        }
    }

    fn lifecycle(&self, res: &Resource) -> Lifecycle {
        let plan = &self.m.plans[res.plan.unwrap_or(0)];
        Lifecycle {
            move_to_cold_storage_after_days: plan.move_to_cold_days,
            delete_after_days: plan.delete_after_days,
            opt_in_to_archive_for_supported_resources: false,
        }
    }

    /// How far `job` of `res` got at the snapshot (`seen`), and why it ended if it did.
    fn progress<'b>(&self, job: &JobCore, seen: &Seen, res: &'b Resource) -> Progress<'b> {
        Progress {
            resource_arn: &res.arn,
            creation_date: self.ts(job.time.created),
            completion_date: seen.end.map(|e| self.ts(e)),
            state: seen.state.as_str(),
            status_message: if seen.end.is_some() { job.msg.text(self.m, res) } else { None },
        }
    }

    fn backup_item<'b>(&'b self, b: &Backup, res: &'b Resource, vault: &'b Vault) -> ApiBackupJob<'b> {
        let m = self.m;
        let seen = Seen::of(&b.core.time, self.at, State::Created);
        let done = seen.end.is_some();
        let completed = done && b.core.time.state == State::Completed;
        let rp = if b.is_parent { composite_rp_arn(res, b.rp) } else { m.rp_arn(res, b.rp, m.vault_of(res)) };
        let plan = &m.plans[res.plan.unwrap_or(0)];
        let size = if done { b.core.size } else { (b.core.size as f64 * seen.percent(&b.core.time) / 100.0) as u64 };
        ApiBackupJob {
            account_id: ACCOUNTS[res.account].id,
            backup_job_id: guid(b.core.id, true),
            backup_vault_name: &vault.name,
            backup_vault_arn: &vault.arn,
            vault_type: "BACKUP_VAULT",
            vault_lock_state: (!self.legacy).then_some(vault.lock_status()),
            recovery_point_arn: (completed || !done).then_some(rp),
            recovery_point_lifecycle: (!self.legacy).then(|| self.lifecycle(res)),
            encryption_key_arn: (res.encrypted && !self.legacy).then_some(vault.key_arn.as_str()),
            is_encrypted: (!self.legacy).then_some(res.encrypted),
            progress: self.progress(&b.core, &seen, res),
            percent_done: format!("{:.1}", seen.percent(&b.core.time)),
            backup_size_in_bytes: size,
            iam_role_arn: m.backup_role(res),
            created_by: self.created_by(res),
            expected_completion_date: self.ts(b.core.time.created + (res.backup_min * 1.2) as i64 * MIN),
            start_by: self.ts(b.core.time.created + plan.start_window_min * MIN),
            resource_type: res.kind.label(),
            bytes_transferred: size,
            backup_options: res.windows.then_some(WindowsVss { windows_vss: "enabled" }),
            backup_type: res.windows.then_some("WINDOWS_VSS"),
            parent_job_id: b.parent.map(|p| guid(p, true)),
            is_parent: b.is_parent,
            resource_name: &res.name,
            initiation_date: self.ts(b.core.time.created),
            message_category: if done { b.core.msg.category(b.core.time.state) } else { None },
        }
    }

    fn copy_item<'b>(&'b self, c: &Copy, res: &'b Resource) -> ApiCopyJob<'b> {
        let m = self.m;
        let seen = Seen::of(&c.core.time, self.at, State::Created);
        let done = seen.end.is_some();
        let src = m.vault_of(res);
        let dest = &m.vaults[c.dest_vault];
        ApiCopyJob {
            account_id: ACCOUNTS[res.account].id,
            copy_job_id: guid(c.core.id, true),
            source_backup_vault_arn: &m.vaults[src].arn,
            source_recovery_point_arn: m.rp_arn(res, c.src_rp, src),
            destination_backup_vault_arn: &dest.arn,
            destination_vault_type: super::protection::vault_type(c.dest_vault),
            destination_vault_lock_state: (!self.legacy).then_some(dest.lock_status()),
            destination_recovery_point_arn: (done && c.core.time.state == State::Completed)
                .then(|| m.rp_arn(res, c.dest_rp, c.dest_vault)),
            destination_encryption_key_arn: (res.encrypted && !self.legacy).then_some(dest.key_arn.as_str()),
            destination_recovery_point_lifecycle: (!self.legacy).then(|| self.lifecycle(res)),
            progress: self.progress(&c.core, &seen, res),
            backup_size_in_bytes: c.core.size,
            iam_role_arn: m.backup_role(res),
            created_by: self.created_by(res),
            created_by_backup_job_id: guid(c.backup_id, true),
            resource_type: res.kind.label(),
            is_parent: false,
            resource_name: &res.name,
            message_category: if done { c.core.msg.category(c.core.time.state) } else { None },
        }
    }

    fn restore_item<'b>(&'b self, r: &Restore, res: &'b Resource) -> ApiRestoreJob<'b> {
        let m = self.m;
        let at = self.at;
        let seen = Seen::of(&r.core.time, at, State::Pending);
        let done = seen.end.is_some();
        let completed = done && r.core.time.state == State::Completed;
        let vault = m.vault_of(res);
        let plan = r.test.map(|t| &m.restore_plans[t.plan]);
        let validation = r.test.and_then(|t| t.validation).filter(|_| completed).map(|(v, when)| {
            if at >= when {
                (v.as_str(), Some(validation_message(res, v, plan.map_or(4, |p| p.validation_window_hours))))
            } else {
                ("VALIDATING", None)
            }
        });
        let deletion = r.test.and_then(|t| t.deletion).filter(|&(start, _)| at >= start).map(|(_, end)| {
            if at >= end {
                ("SUCCESSFUL", Some("Restored resource deleted after the validation window."))
            } else {
                ("DELETING", None)
            }
        });
        ApiRestoreJob {
            account_id: ACCOUNTS[res.account].id,
            restore_job_id: guid(r.core.id, true),
            recovery_point_arn: m.rp_arn(res, r.rp, vault),
            source_resource_arn: &res.arn,
            backup_vault_arn: &m.vaults[vault].arn,
            creation_date: self.ts(r.core.time.created),
            completion_date: seen.end.map(|e| self.ts(e)),
            status: seen.state.as_str(),
            status_message: if done { r.core.msg.text(m, res) } else { None },
            percent_done: format!("{:.2}%", seen.percent(&r.core.time)),
            backup_size_in_bytes: r.core.size,
            iam_role_arn: plan.map_or(&m.default_role[res.account], |p| &p.iam_role),
            expected_completion_time_minutes: res.restore_min.round() as i64,
            created_resource_arn: completed.then(|| m.restored_arn(res, r.created_resource, r.test.is_some())),
            resource_type: res.kind.label(),
            recovery_point_creation_date: self.ts(r.rp_created),
            is_parent: false,
            created_by: plan.map(|p| RestoreCreatedBy { restore_testing_plan_arn: &p.arn }),
            validation_status: validation.as_ref().map(|v| v.0),
            validation_status_message: validation.and_then(|v| v.1),
            deletion_status: deletion.map(|d| d.0),
            deletion_status_message: deletion.and_then(|d| d.1),
        }
    }
}

fn validation_message(res: &Resource, v: Validation, window_hours: i64) -> String {
    match v {
        Validation::Successful => {
            format!("Validation passed: {} answered the health check and row counts match.", res.name)
        }
        Validation::Failed => format!(
            "Validation failed: nordhafen-restore-validator found 0 rows in the restored copy of {} (expected > 0).",
            res.name
        ),
        Validation::TimedOut => {
            format!("No validation result was received within the validation window of {window_hours} hours.")
        }
    }
}

/// Writes every snapshot taken on `day` (one per account and Region).
pub(crate) fn write_snapshots(m: &Model, out: &mut Out, day: i64, buf: &mut Vec<Job>) -> io::Result<()> {
    let at = day * DAY + SNAPSHOT_HOUR * HOUR;
    for (ai, acct) in ACCOUNTS.iter().enumerate() {
        for (region, region_name) in REGIONS.iter().enumerate() {
            let snap = Snap {
                m,
                acct: ai,
                region,
                at,
                style: if acct.epoch_times { TsStyle::Epoch } else { TsStyle::CliV2 },
                legacy: acct.epoch_times,
                dir: format!(
                    "input/collected/{}/{}/{}",
                    acct.id,
                    region_name,
                    ts(m.quarter.at(at), TsStyle::Seconds).as_str()
                ),
            };
            write_jobs(&snap, out, buf)?;
            write_static(&snap, out)?;
            if day == FIRST_SNAPSHOT_DAY {
                super::plans::write_plans(m, out, &snap.dir, ai, region)?;
                super::protection::write_access_policies(m, out, &snap.dir, ai, region)?;
                super::alerts::write_alert_paths(m, out, &snap.dir, ai, region)?;
            }
            if day == LAST_SNAPSHOT_DAY {
                super::protection::write_protected_resources(m, out, &snap.dir, (ai, region), at, snap.style)?;
            }
            if ai == 0 {
                write_recovery_points(&snap, out, buf)?;
            }
        }
    }
    Ok(())
}

/// list-backup-jobs, list-copy-jobs, list-restore-jobs and describe-alarms (whose state
/// depends on the failures just seen).
fn write_jobs(s: &Snap<'_>, out: &mut Out, buf: &mut Vec<Job>) -> io::Result<()> {
    let m = s.m;
    let from = s.at - WINDOW_DAYS * DAY;
    let mut backups = ListFile::open(out, &format!("{}/list-backup-jobs.json", s.dir), "BackupJobs")?;
    let mut copies = ListFile::open(out, &format!("{}/list-copy-jobs.json", s.dir), "CopyJobs")?;
    let mut restores = ListFile::open(out, &format!("{}/list-restore-jobs.json", s.dir), "RestoreJobs")?;
    let plans: Vec<usize> = m.restore_plan_of(s.acct, s.region).into_iter().collect();
    let mut last_failed = [None::<i64>; 2];
    for d in from.div_euclid(DAY)..=s.at.div_euclid(DAY) {
        buf.clear();
        jobs_of_day(m, &m.by_ar[s.acct][s.region], &plans, d, buf);
        for job in buf.iter() {
            let t = job.time();
            if t.end <= s.at && t.state == State::Failed && t.end > s.at - DAY {
                let k = usize::from(matches!(job, Job::Copy(_)));
                last_failed[k] = last_failed[k].max(Some(t.end));
            }
            if t.created < from || t.created >= s.at {
                continue;
            }
            let res = &m.resources[job.core().res as usize];
            match job {
                Job::Backup(b) => backups.item(&s.backup_item(b, res, &m.vaults[m.vault_of(res)]))?,
                Job::Copy(c) => copies.item(&s.copy_item(c, res))?,
                Job::Restore(r) => restores.item(&s.restore_item(r, res))?,
            }
            out.job_rows += 1;
        }
    }
    backups.finish(out)?;
    copies.finish(out)?;
    restores.finish(out)?;
    write_alarms(s, out, last_failed)
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Dimension {
    name: &'static str,
    value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct MetricAlarm {
    alarm_name: String,
    alarm_arn: String,
    alarm_description: String,
    alarm_configuration_updated_timestamp: Ts,
    actions_enabled: bool,
    #[serde(rename = "OKActions")]
    ok_actions: Vec<String>,
    alarm_actions: Vec<String>,
    insufficient_data_actions: Vec<String>,
    state_value: &'static str,
    state_reason: String,
    state_updated_timestamp: Ts,
    metric_name: &'static str,
    namespace: &'static str,
    statistic: &'static str,
    dimensions: Vec<Dimension>,
    period: u32,
    evaluation_periods: u32,
    datapoints_to_alarm: u32,
    threshold: f64,
    comparison_operator: &'static str,
    treat_missing_data: &'static str,
    state_transitioned_timestamp: Ts,
}

/// Alarm definitions: (account, Region, name, metric, namespace, with SNS action, vault dimension).
pub(crate) const ALARMS: &[(usize, usize, &str, &str, &str, bool, bool)] = &[
    (0, 0, "nordhafen-core-backup-jobs-failed", "NumberOfBackupJobsFailed", "AWS/Backup", true, false),
    (0, 0, "nordhafen-core-copy-jobs-failed", "NumberOfCopyJobsFailed", "AWS/Backup", true, false),
    (0, 1, "nordhafen-core-dr-backup-jobs-failed", "NumberOfBackupJobsFailed", "AWS/Backup", true, false),
    (1, 0, "nordhafen-payments-gold-backup-jobs-failed", "NumberOfBackupJobsFailed", "AWS/Backup", true, true),
    (1, 1, "nordhafen-payments-dr-backup-jobs-failed", "NumberOfBackupJobsFailed", "AWS/Backup", false, false),
    (2, 0, "jenkins-cpu-high", "CPUUtilization", "AWS/EC2", true, false),
];

fn write_alarms(s: &Snap<'_>, out: &mut Out, last_failed: [Option<i64>; 2]) -> io::Result<()> {
    let acct = ACCOUNTS[s.acct].id;
    let region = REGIONS[s.region];
    let configured = FIRST_DAY * DAY - 40 * DAY + 9 * HOUR + 17 * MIN;
    let alarms: Vec<MetricAlarm> = ALARMS
        .iter()
        .filter(|a| a.0 == s.acct && a.1 == s.region)
        .map(|&(_, _, name, metric, namespace, action, vault_dim)| {
            let failed = match metric {
                "NumberOfBackupJobsFailed" => last_failed[0],
                "NumberOfCopyJobsFailed" => last_failed[1],
                _ => None,
            };
            let topic = format!("arn:aws:sns:{region}:{acct}:nordhafen-backup-alerts");
            let (state, reason, since) = match failed {
                Some(t) => (
                    "ALARM",
                    "Threshold Crossed: 1 datapoint [1.0] was greater than the threshold (0.0).".to_string(),
                    t + 5 * MIN,
                ),
                None => (
                    "OK",
                    "Threshold Crossed: 1 datapoint [0.0] was not greater than the threshold (0.0).".to_string(),
                    (s.at - 2 * DAY).max(configured),
                ),
            };
            let ec2 = namespace == "AWS/EC2";
            MetricAlarm {
                alarm_name: name.to_string(),
                alarm_arn: format!("arn:aws:cloudwatch:{region}:{acct}:alarm:{name}"),
                alarm_description: if ec2 {
                    "Jenkins controller CPU above 85 %".into()
                } else {
                    format!("AWS Backup {metric} > 0")
                },
                alarm_configuration_updated_timestamp: s.ts(configured),
                actions_enabled: true,
                ok_actions: Vec::new(),
                alarm_actions: if action { vec![topic] } else { Vec::new() },
                insufficient_data_actions: Vec::new(),
                state_value: state,
                state_reason: reason,
                state_updated_timestamp: s.ts(since),
                metric_name: metric,
                namespace,
                statistic: if ec2 { "Average" } else { "Sum" },
                dimensions: if vault_dim {
                    vec![Dimension {
                        name: "BackupVaultName",
                        value: format!("nordhafen-{}-gold", ACCOUNTS[s.acct].short),
                    }]
                } else if ec2 {
                    vec![Dimension { name: "InstanceId", value: "i-0a3c5e7f9b1d2f4a6".into() }]
                } else {
                    Vec::new()
                },
                period: if ec2 { 300 } else { 86_400 },
                evaluation_periods: 1,
                datapoints_to_alarm: 1,
                threshold: if ec2 { 85.0 } else { 0.0 },
                comparison_operator: "GreaterThanThreshold",
                treat_missing_data: "notBreaching",
                state_transitioned_timestamp: s.ts(since),
            }
        })
        .collect();
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Alarms {
        metric_alarms: Vec<MetricAlarm>,
        composite_alarms: Vec<()>,
    }
    out.write_json(
        &format!("{}/describe-alarms.json", s.dir),
        &Alarms { metric_alarms: alarms, composite_alarms: Vec::new() },
    )
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ApiVault<'a> {
    backup_vault_name: &'a str,
    backup_vault_arn: &'a str,
    vault_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    vault_state: Option<&'a str>,
    creation_date: Ts,
    encryption_key_arn: &'a str,
    creator_request_id: String,
    number_of_recovery_points: u64,
    locked: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    min_retention_days: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_retention_days: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lock_date: Option<Ts>,
    encryption_key_type: &'a str,
}

/// Legal holds (core-banking, eu-central-1): (title, description, created, canceled).
pub(crate) const LEGAL_HOLDS: [(&str, &str, i64, Option<i64>); 2] = [
    (
        "BaFin inquiry 2026-07 payments incident",
        "Preserve all recovery points of the core ledger and statements for the supervisory inquiry of July 2026.",
        20_649 * DAY + 10 * HOUR + 12 * MIN,
        None,
    ),
    (
        "Litigation hold LG-2025-118",
        "Customer dispute LG-2025-118; hold lifted after settlement.",
        20_577 * DAY + 14 * HOUR + 3 * MIN,
        Some(20_668 * DAY + 16 * HOUR + 20 * MIN),
    ),
];

/// Title and description of a legal hold as written in quarter `q` (the month the inquiry is
/// named after moves with the quarter).
pub(crate) fn legal_hold_texts(q: Quarter, title: &str, description: &str) -> (String, String) {
    match q {
        Quarter::Q2 => (title.replace("2026-07", "2026-04"), description.replace("July 2026", "April 2026")),
        _ => (title.to_string(), description.to_string()),
    }
}

/// Id of legal hold `i` (stable per seed).
pub(crate) fn legal_hold_id(m: &Model, i: usize) -> String {
    guid(u128::from(mix(&[m.seed, 31, i as u64])) << 64 | u128::from(mix(&[m.seed, 32, i as u64])), false)
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct LegalHold {
    title: String,
    status: &'static str,
    description: String,
    legal_hold_id: String,
    legal_hold_arn: String,
    creation_date: Ts,
    #[serde(skip_serializing_if = "Option::is_none")]
    cancellation_date: Option<Ts>,
}

/// Vaults, legal holds, restore-testing plans and selections, and the tag inventory.
fn write_static(s: &Snap<'_>, out: &mut Out) -> io::Result<()> {
    let m = s.m;
    let acct = &ACCOUNTS[s.acct];
    let region = REGIONS[s.region];
    let vaults: Vec<usize> =
        (0..m.vaults.len()).filter(|&v| m.vaults[v].account == s.acct && m.vaults[v].region == s.region).collect();
    let points = recovery_point_counts(m, s.at);
    let api_vault = |v: usize, describe: bool| {
        let vault = &m.vaults[v];
        ApiVault {
            backup_vault_name: &vault.name,
            backup_vault_arn: &vault.arn,
            vault_type: super::protection::vault_type(v),
            vault_state: describe.then_some("AVAILABLE"),
            creation_date: s.ts(vault.created),
            encryption_key_arn: &vault.key_arn,
            creator_request_id: guid(
                u128::from(mix(&[m.seed, 40, v as u64])) << 64 | u128::from(mix(&[m.seed, 41, v as u64])),
                false,
            ),
            number_of_recovery_points: points[v],
            locked: vault.lock != Lock::None,
            min_retention_days: vault.min_days,
            max_retention_days: vault.max_days,
            lock_date: match vault.lock {
                Lock::Compliance(t) => Some(s.ts(t)),
                _ => None,
            },
            encryption_key_type: if vault.name == "Default" { "AWS_OWNED_KMS_KEY" } else { "CUSTOMER_MANAGED_KMS_KEY" },
        }
    };
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct VaultList<'a> {
        backup_vault_list: Vec<ApiVault<'a>>,
    }
    // The air-gapped vault is listed by type, in a file of its own (as `collect` asks for it).
    let (lag, plain): (Vec<usize>, Vec<usize>) =
        vaults.iter().partition(|&&v| super::protection::vault_type(v) == super::protection::AIR_GAPPED);
    let list = VaultList { backup_vault_list: plain.iter().map(|&v| api_vault(v, false)).collect() };
    out.write_json(&format!("{}/list-backup-vaults.json", s.dir), &list)?;
    if !lag.is_empty() || s.at.div_euclid(DAY) == FIRST_SNAPSHOT_DAY {
        let list = VaultList { backup_vault_list: lag.iter().map(|&v| api_vault(v, false)).collect() };
        out.write_json(&format!("{}/list-backup-vaults-logically-air-gapped.json", s.dir), &list)?;
    }
    for &v in &vaults {
        if m.vaults[v].lock != Lock::None {
            out.write_json(&format!("{}/describe-backup-vault-{}.json", s.dir, m.vaults[v].name), &api_vault(v, true))?;
        }
    }

    let holds: Vec<LegalHold> = if (s.acct, s.region) == (0, 0) {
        LEGAL_HOLDS
            .iter()
            .enumerate()
            .filter(|(_, h)| h.2 <= s.at)
            .map(|(i, &(title, description, created, canceled))| {
                let (title, description) = legal_hold_texts(m.quarter, title, description);
                let id = legal_hold_id(m, i);
                let canceled = canceled.filter(|&c| c <= s.at);
                LegalHold {
                    title,
                    status: if canceled.is_some() { "CANCELED" } else { "ACTIVE" },
                    description,
                    legal_hold_arn: format!("arn:aws:backup:{region}:{}:legal-hold:{id}", acct.id),
                    legal_hold_id: id,
                    creation_date: s.ts(created),
                    cancellation_date: canceled.map(|c| s.ts(c)),
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Holds {
        legal_holds: Vec<LegalHold>,
    }
    out.write_json(&format!("{}/list-legal-holds.json", s.dir), &Holds { legal_holds: holds })?;

    write_restore_testing(s, out)?;
    write_tags(s, out)
}

/// Approximate recovery points per vault at `at`: retained backups plus copies received.
fn recovery_point_counts(m: &Model, at: i64) -> Vec<u64> {
    let days = ((at - FIRST_DAY * DAY) / DAY).max(0) as u64 + 30; // the estate had history before the samples
    let mut n = vec![0u64; m.vaults.len()];
    for res in &m.resources {
        let Some(p) = res.plan else { continue };
        let plan = &m.plans[p];
        let per = if plan.schedule.weekday.is_some() { 7 } else { 1 };
        let kept = u64::from(plan.delete_after_days).min(days) / per;
        n[plan.vault] += kept;
        if let Some(v) = plan.copy_region_vault {
            n[v] += kept;
        }
        if let Some(v) = plan.copy_account_vault {
            n[v] += kept / 7;
        }
    }
    n
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ApiRestorePlan<'a> {
    creation_time: Ts,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_execution_time: Option<Ts>,
    last_update_time: Ts,
    restore_testing_plan_arn: &'a str,
    restore_testing_plan_name: &'a str,
    schedule_expression: &'a str,
    schedule_expression_timezone: &'a str,
    start_window_hours: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ApiSelection<'a> {
    creation_time: Ts,
    iam_role_arn: &'a str,
    protected_resource_type: &'a str,
    restore_testing_plan_name: &'a str,
    restore_testing_selection_name: &'a str,
    validation_window_hours: i64,
}

fn write_restore_testing(s: &Snap<'_>, out: &mut Out) -> io::Result<()> {
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Plans<'a> {
        restore_testing_plans: Vec<ApiRestorePlan<'a>>,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Selections<'a> {
        restore_testing_selections: Vec<ApiSelection<'a>>,
    }
    let m = s.m;
    let Some(p) = m.restore_plan_of(s.acct, s.region) else {
        return out.write_json(
            &format!("{}/list-restore-testing-plans.json", s.dir),
            &Plans { restore_testing_plans: Vec::new() },
        );
    };
    let plan = &m.restore_plans[p];
    let last_run = (FIRST_DAY..=s.at.div_euclid(DAY))
        .rev()
        .filter(|&d| plan.schedule.runs_on(d))
        .map(|d| d * DAY + plan.schedule.hour * HOUR)
        .find(|&t| t < s.at);
    let item = ApiRestorePlan {
        creation_time: s.ts(plan.created),
        last_execution_time: last_run.map(|t| s.ts(t)),
        last_update_time: s.ts(plan.created + 2 * DAY),
        restore_testing_plan_arn: &plan.arn,
        restore_testing_plan_name: plan.name,
        schedule_expression: plan.schedule.cron,
        schedule_expression_timezone: "Etc/UTC",
        start_window_hours: 2,
    };
    out.write_json(
        &format!("{}/list-restore-testing-plans.json", s.dir),
        &Plans { restore_testing_plans: vec![item] },
    )?;
    let selections = plan
        .selections
        .iter()
        .enumerate()
        .map(|(i, sel)| ApiSelection {
            creation_time: s.ts(plan.created + (i as i64 + 1) * 7 * MIN),
            iam_role_arn: &plan.iam_role,
            protected_resource_type: sel.kind.label(),
            restore_testing_plan_name: plan.name,
            restore_testing_selection_name: &sel.name,
            validation_window_hours: plan.validation_window_hours,
        })
        .collect();
    out.write_json(
        &format!("{}/list-restore-testing-selections.json", s.dir),
        &Selections { restore_testing_selections: selections },
    )
}

/// Tags of a resource as the tag inventory lists them.
pub(crate) fn tags(m: &Model, res: &Resource) -> Vec<(&'static str, String)> {
    let mut tags = Vec::new();
    if matches!(res.kind, Kind::Ec2 | Kind::Ebs) {
        tags.push(("Name", res.name.clone()));
    }
    tags.push(("app", res.app.to_string()));
    tags.push(("environment", "prod".to_string()));
    tags.push(("owner", format!("team-{}", ACCOUNTS[res.account].short)));
    if res.kind != Kind::Stack {
        tags.push(("tier", res.tier.label().to_string()));
    }
    if let Some(p) = res.plan {
        tags.push(("backup-plan", m.plans[p].name.clone()));
    }
    if let Some(c) = res.candidate {
        tags.push(("restore_testing_candidate", c.to_string()));
    }
    tags
}

fn write_tags(s: &Snap<'_>, out: &mut Out) -> io::Result<()> {
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Tag<'a> {
        key: &'a str,
        value: &'a str,
    }
    #[derive(Serialize)]
    struct Mapping<'a> {
        #[serde(rename = "ResourceARN")]
        arn: &'a str,
        #[serde(rename = "Tags")]
        tags: Vec<Tag<'a>>,
    }
    let m = s.m;
    let mut list = ListFile::open(out, &format!("{}/get-resources.json", s.dir), "ResourceTagMappingList")?;
    for &r in &m.by_ar[s.acct][s.region] {
        let res = &m.resources[r as usize];
        let t = tags(m, res);
        list.item(&Mapping { arn: &res.arn, tags: t.iter().map(|(k, v)| Tag { key: k, value: v }).collect() })?;
    }
    list.finish(out)
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct CalculatedLifecycle {
    delete_at: Ts,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct RecoveryPoint<'a> {
    recovery_point_arn: String,
    backup_vault_name: &'a str,
    backup_vault_arn: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_backup_vault_arn: Option<&'a str>,
    resource_arn: &'a str,
    resource_type: &'a str,
    created_by: CreatedBy<'a>,
    iam_role_arn: String,
    status: &'a str,
    creation_date: Ts,
    completion_date: Ts,
    backup_size_in_bytes: u64,
    calculated_lifecycle: CalculatedLifecycle,
    lifecycle: Lifecycle,
    #[serde(skip_serializing_if = "Option::is_none")]
    encryption_key_arn: Option<&'a str>,
    is_encrypted: bool,
    resource_name: &'a str,
    vault_type: &'a str,
}

/// Recovery points created in the snapshot window in the account's gold vault of this
/// Region: its own gold backups and the cross-Region copies it received.
fn write_recovery_points(s: &Snap<'_>, out: &mut Out, buf: &mut Vec<Job>) -> io::Result<()> {
    let m = s.m;
    let Some(gold) = (0..m.vaults.len()).find(|&v| {
        let x = &m.vaults[v];
        x.account == s.acct && x.region == s.region && x.name.ends_with("-gold")
    }) else {
        return Ok(());
    };
    let vault = &m.vaults[gold];
    let from = s.at - WINDOW_DAYS * DAY;
    let mut list = ListFile::open(
        out,
        &format!("{}/list-recovery-points-by-backup-vault-{}.json", s.dir, vault.name),
        "RecoveryPoints",
    )?;
    for in_region in &m.by_ar[s.acct] {
        let rs: Vec<u32> = in_region.iter().copied().filter(|&r| m.resources[r as usize].tier == Tier::Gold).collect();
        for d in from.div_euclid(DAY)..=s.at.div_euclid(DAY) {
            buf.clear();
            for &r in &rs {
                super::jobs::backups(m, r, d, buf);
            }
            for job in buf.iter() {
                let JobCore { res, time: t, size, .. } = job.core();
                let res = &m.resources[*res as usize];
                let (rp, source) = match job {
                    Job::Backup(b) if m.vault_of(res) == gold => (b.rp, None),
                    Job::Copy(c) if c.dest == Dest::CrossRegion && c.dest_vault == gold => {
                        (c.dest_rp, Some(m.vaults[m.vault_of(res)].arn.as_str()))
                    }
                    _ => continue,
                };
                if t.state != State::Completed || t.created < from || t.end > s.at {
                    continue;
                }
                let plan = &m.plans[res.plan.unwrap_or(0)];
                list.item(&RecoveryPoint {
                    recovery_point_arn: m.rp_arn(res, rp, gold),
                    backup_vault_name: &vault.name,
                    backup_vault_arn: &vault.arn,
                    source_backup_vault_arn: source,
                    resource_arn: &res.arn,
                    resource_type: res.kind.label(),
                    created_by: s.created_by(res),
                    iam_role_arn: m.backup_role(res),
                    status: "COMPLETED",
                    creation_date: s.ts(t.created),
                    completion_date: s.ts(t.end),
                    backup_size_in_bytes: *size,
                    calculated_lifecycle: CalculatedLifecycle {
                        delete_at: s.ts(t.created + i64::from(plan.delete_after_days) * DAY),
                    },
                    lifecycle: s.lifecycle(res),
                    encryption_key_arn: res.encrypted.then_some(vault.key_arn.as_str()),
                    is_encrypted: res.encrypted,
                    resource_name: &res.name,
                    vault_type: "BACKUP_VAULT",
                })?;
            }
        }
    }
    list.finish(out)
}

/// `validate-assessment-report-integrity.json` as `dora-evidence collect` writes it: Audit
/// Manager's own signature check of the assessment-report zip in its S3 destination, in the
/// last snapshot of the first account's first Region.
pub(crate) fn write_integrity(out: &mut Out, zip_name: &str) -> io::Result<()> {
    let q = out.quarter;
    let at = LAST_SNAPSHOT_DAY * DAY + SNAPSHOT_HOUR * HOUR;
    let acct = ACCOUNTS[0].id;
    let dir = format!("input/collected/{acct}/{}/{}", REGIONS[0], ts(q.at(at), TsStyle::Seconds).as_str());
    // Signed on 2026-10-01 (model day 20 727) at 09:12:44.
    let signed = ts(q.at(20_727 * DAY + 9 * HOUR + 12 * MIN + 44_000), TsStyle::Seconds);
    #[derive(Serialize)]
    struct Check<'a> {
        #[serde(rename = "s3RelativePath")]
        s3_relative_path: String,
        #[serde(rename = "signatureAlgorithm")]
        signature_algorithm: &'a str,
        #[serde(rename = "signatureDateTime")]
        signature_date_time: &'a str,
        #[serde(rename = "signatureKeyId")]
        signature_key_id: String,
        #[serde(rename = "signatureValid")]
        signature_valid: bool,
        #[serde(rename = "validationErrors")]
        validation_errors: [&'a str; 0],
    }
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Doc<'a> {
        assessment_report_integrity: [Check<'a>; 1],
    }
    let check = Check {
        s3_relative_path: format!("s3://nordhafen-audit-manager-reports-{acct}/dora/{zip_name}"),
        signature_algorithm: "SHA256withRSA",
        signature_date_time: signed.as_str(),
        signature_key_id: format!("arn:aws:kms:{}:{acct}:key/6f1c1d3e-2f4b-4e0e-9a52-0d1c2b3a4f5e", REGIONS[0]),
        signature_valid: true,
        validation_errors: [],
    };
    out.write_json(
        &format!("{dir}/validate-assessment-report-integrity.json"),
        &Doc { assessment_report_integrity: [check] },
    )
}
