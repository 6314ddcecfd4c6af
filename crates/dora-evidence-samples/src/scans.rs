//! Malware scans of recovery points (Amazon GuardDuty Malware Protection for AWS Backup):
//! on the 5th of each month of the quarter, the newest completed recovery point of every EBS
//! volume, EC2 instance and S3 bucket is scanned. One scan finds malware: the August scan of
//! `core-app-01` (the planted infected recovery point). They are written as AWS delivers them:
//!
//! * `Backup/crossaccount/<region>/…/org_malware_scans/MALWARE_JOB_REPORT_…csv`: the
//!   organisation-wide CSV report (every account) of the day after each scan day;
//! * core-banking's current-account JSON reports: in eu-central-1 one bare object per scan
//!   (the shape of AWS's published example, part-numbered `_1.json`, `_2.json`, …), in
//!   eu-west-1 one `reportItems` document per day;
//! * `list-scan-jobs.json` in shared-services' weekly snapshots (CLI v2 shape), listing the
//!   scans completed in the 8 days before each snapshot.
//!
//! Scans are a pure function of the model, so the ground truth recomputes them.

use std::io;

use serde_json::{Value, json};

use super::jobs::{self, Job, State};
use super::model::{ACCOUNTS, Kind, Model, REGIONS, Resource, SHARED, names};
use super::out::{DAY, HOUR, Out, TsStyle, date, guid, mix, ts};
use super::quarter::Planted;
use super::reports::{period_texts, report_key};
use super::snapshots::{FIRST_SNAPSHOT_DAY, LAST_SNAPSHOT_DAY, SNAPSHOT_HOUR};

/// The days scans run: 2026-07-05, 2026-08-05, 2026-09-05.
const SCAN_DAYS: [i64; 3] = [20_639, 20_670, 20_701];
/// The scan that finds malware: `core-app-01` on 2026-08-05.
const INFECTED: (&str, i64) = (names::APP_01, 20_670);
/// Salt of the scans' random choices.
const TAG_SCAN: u64 = 21;
const MINUTE: i64 = 60_000;

/// One malware scan job of a recovery point.
pub(crate) struct Scan {
    pub(crate) id: String,
    pub(crate) scan_id: String,
    pub(crate) res: u32,
    pub(crate) rp_arn: String,
    pub(crate) created: i64,
    pub(crate) completed: i64,
    pub(crate) infected: bool,
}

/// Whether GuardDuty scans this kind of resource.
fn scannable(res: &Resource) -> bool {
    matches!(res.kind, Kind::Ec2 | Kind::Ebs | Kind::S3)
}

/// Every scan of the quarter, by scan day then resource.
pub(crate) fn scans(m: &Model) -> Vec<Scan> {
    let all: Vec<u32> = (0..m.resources.len() as u32).collect();
    let mut out = Vec::new();
    let mut buf = Vec::new();
    for day in SCAN_DAYS {
        // The newest completed recovery point of each resource from the 8 days up to the scan day.
        let mut newest: Vec<Option<(i64, u128)>> = vec![None; m.resources.len()];
        for d in day - 7..=day {
            buf.clear();
            jobs::jobs_of_day(m, &all, &[], d, &mut buf);
            for job in &buf {
                let Job::Backup(b) = job else { continue };
                let (r, end) = (b.core.res as usize, b.core.time.end);
                // Scans follow their backup on the same day, so each is in that day's report.
                if !b.is_parent && b.core.time.state == State::Completed && end < day * DAY + 12 * HOUR {
                    newest[r] = newest[r].max(Some((end, b.rp)));
                }
            }
        }
        for (r, res) in m.resources.iter().enumerate() {
            let (Some((end, rp)), true) = (newest[r], scannable(res)) else { continue };
            out.push(scan(m, r as u32, day, end, rp));
        }
    }
    out
}

fn scan(m: &Model, r: u32, day: i64, rp_end: i64, rp: u128) -> Scan {
    let res = &m.resources[r as usize];
    let h = |salt: u64| mix(&[m.seed, TAG_SCAN, u64::from(r), day as u64, salt]);
    let created = rp_end.max(day * DAY + 3 * HOUR) + 10 * MINUTE + (h(0) % 20) as i64 * MINUTE;
    Scan {
        id: guid((u128::from(h(1)) << 64) | u128::from(h(2)), true),
        scan_id: format!("{:016x}{:016x}", h(3), h(4)),
        res: r,
        rp_arn: m.rp_arn(res, rp, m.vault_of(res)),
        created,
        completed: created + (15 + (h(5) % 60) as i64) * MINUTE + (h(6) % 1000) as i64,
        infected: m.quarter.has(Planted::InfectedRecoveryPoint) && res.is(INFECTED.0) && day == INFECTED.1,
    }
}

/// A report row: the MALWARE_JOB_REPORT keys of AWS's example, in its order.
fn report_item(m: &Model, s: &Scan, period: &[String; 3]) -> Value {
    let res = &m.resources[s.res as usize];
    let vault = &m.vaults[m.vault_of(res)];
    let account = ACCOUNTS[res.account].id;
    json!({
        "reportTimePeriodStart": period[0],
        "reportTimePeriodEnd": period[1],
        "accountId": account,
        "region": REGIONS[res.region],
        "scanJobId": s.id,
        "scanId": s.scan_id,
        "malwareScanner": "GUARDDUTY",
        "jobStatus": "COMPLETED",
        "scanResultStatus": result(s),
        "statusMessage": if s.infected { "Malware detected: 1 threat (Backdoor:EC2/XORDDOS)" } else { "" },
        "resourceType": res.kind.label(),
        "resourceArn": res.arn,
        "backupPlanArn": res.plan.map(|p| m.plans[p].arn.as_str()).unwrap_or(""),
        "creationDate": ts(m.quarter.at(s.created), TsStyle::Report).as_str(),
        "recoveryPointArn": s.rp_arn,
        "backupVaultName": vault.name,
        "backupVaultArn": vault.arn,
        "iamRoleArn": m.backup_role(res),
        "scannerRoleArn": scanner_role(res),
    })
}

fn result(s: &Scan) -> &'static str {
    if s.infected { "THREATS_FOUND" } else { "NO_THREATS_FOUND" }
}

fn scanner_role(res: &Resource) -> String {
    format!("arn:aws:iam::{}:role/nordhafen-guardduty-backup-scanner", ACCOUNTS[res.account].id)
}

/// One daily report: the day it is delivered, its Region and its period texts.
struct Report<'a> {
    day: i64,
    region: usize,
    period: &'a [String; 3],
}

/// Writes every shape (see the module docs).
pub(crate) fn write_scans(m: &Model, out: &mut Out) -> io::Result<()> {
    let all = scans(m);
    for day in SCAN_DAYS.map(|d| d + 1) {
        let period = period_texts(m.quarter, day, 1);
        let reported: Vec<&Scan> = all.iter().filter(|s| s.completed.div_euclid(DAY) == day - 1).collect();
        for region in 0..REGIONS.len() {
            let here: Vec<&Scan> =
                reported.iter().copied().filter(|s| m.resources[s.res as usize].region == region).collect();
            let report = Report { day, region, period: &period };
            write_csv(m, out, &report, &here)?;
            let core: Vec<&Scan> = here.into_iter().filter(|s| m.resources[s.res as usize].account == 0).collect();
            write_json(m, out, &report, &core)?;
        }
    }
    write_listings(m, out, &all)
}

/// The organisation-wide CSV report of one Region and day (Title Case headers, as AWS names
/// the JSON keys).
fn write_csv(m: &Model, out: &mut Out, r: &Report<'_>, scans: &[&Scan]) -> io::Result<()> {
    const COLUMNS: [(&str, &str); 19] = [
        ("Report Time Period Start", "reportTimePeriodStart"),
        ("Report Time Period End", "reportTimePeriodEnd"),
        ("Account ID", "accountId"),
        ("Region", "region"),
        ("Scan Job ID", "scanJobId"),
        ("Scan ID", "scanId"),
        ("Malware Scanner", "malwareScanner"),
        ("Job Status", "jobStatus"),
        ("Scan Result Status", "scanResultStatus"),
        ("Status Message", "statusMessage"),
        ("Resource Type", "resourceType"),
        ("Resource ARN", "resourceArn"),
        ("Backup Plan ARN", "backupPlanArn"),
        ("Creation Date", "creationDate"),
        ("Recovery Point ARN", "recoveryPointArn"),
        ("Backup Vault Name", "backupVaultName"),
        ("Backup Vault ARN", "backupVaultArn"),
        ("IAM Role ARN", "iamRoleArn"),
        ("Scanner Role ARN", "scannerRoleArn"),
    ];
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(COLUMNS.map(|c| c.0)).map_err(io::Error::other)?;
    for s in scans {
        let item = report_item(m, s, r.period);
        w.write_record(COLUMNS.map(|c| item[c.1].as_str().unwrap_or(""))).map_err(io::Error::other)?;
    }
    let bytes = w.into_inner().map_err(io::Error::other)?;
    let plan = "org_malware_scans";
    let key = report_key(
        "crossaccount",
        REGIONS[r.region],
        m.quarter.day(r.day),
        plan,
        "MALWARE_JOB_REPORT",
        r.period,
        "csv",
    );
    out.write_file(&key, &bytes)
}

/// core-banking's current-account JSON: bare objects in eu-central-1, `reportItems` in eu-west-1.
fn write_json(m: &Model, out: &mut Out, r: &Report<'_>, scans: &[&Scan]) -> io::Result<()> {
    let (plan, scope) = ("daily_malware_scans", ACCOUNTS[0].id);
    let key = report_key(scope, REGIONS[r.region], m.quarter.day(r.day), plan, "MALWARE_JOB_REPORT", r.period, "json");
    if r.region == 0 {
        for (part, s) in scans.iter().enumerate() {
            out.write_json(&key.replace(".json", &format!("_{}.json", part + 1)), &report_item(m, s, r.period))?;
        }
        Ok(())
    } else {
        let items: Vec<Value> = scans.iter().map(|s| report_item(m, s, r.period)).collect();
        let bytes = serde_json::to_vec(&json!({ "reportItems": items })).map_err(io::Error::other)?;
        out.write_file(&key, &bytes)
    }
}

/// shared-services' `list-scan-jobs.json`, in each weekly snapshot that follows a scan.
fn write_listings(m: &Model, out: &mut Out, all: &[Scan]) -> io::Result<()> {
    for day in (FIRST_SNAPSHOT_DAY..=LAST_SNAPSHOT_DAY).step_by(7) {
        let at = day * DAY + SNAPSHOT_HOUR * HOUR;
        for (region, region_name) in REGIONS.iter().enumerate() {
            let listed: Vec<Value> = all
                .iter()
                .filter(|s| (at - 8 * DAY..at).contains(&s.completed))
                .filter(|s| {
                    (m.resources[s.res as usize].account, m.resources[s.res as usize].region) == (SHARED, region)
                })
                .map(|s| api_item(m, s))
                .collect();
            if listed.is_empty() {
                continue;
            }
            let dir = format!(
                "input/collected/{}/{region_name}/{}",
                ACCOUNTS[SHARED].id,
                ts(m.quarter.at(at), TsStyle::Seconds).as_str()
            );
            out.write_json(&format!("{dir}/list-scan-jobs.json"), &json!({ "ScanJobs": listed }))?;
        }
    }
    Ok(())
}

/// A `ListScanJobs` item as the AWS CLI v2 prints it.
fn api_item(m: &Model, s: &Scan) -> Value {
    let res = &m.resources[s.res as usize];
    let vault = &m.vaults[m.vault_of(res)];
    let plan = res.plan.map(|p| &m.plans[p]);
    json!({
        "AccountId": ACCOUNTS[res.account].id,
        "BackupVaultArn": vault.arn,
        "BackupVaultName": vault.name,
        "CompletionDate": ts(m.quarter.at(s.completed), TsStyle::CliV2).as_str(),
        "CreatedBy": {
            "BackupPlanArn": plan.map(|p| p.arn.as_str()),
            "BackupPlanId": plan.map(|p| p.id.as_str()),
            "BackupPlanVersion": plan.map(|p| p.version.as_str()),
            "BackupRuleId": plan.map(|p| p.rule_id.as_str()),
        },
        "CreationDate": ts(m.quarter.at(s.created), TsStyle::CliV2).as_str(),
        "IamRoleArn": m.backup_role(res),
        "MalwareScanner": "GUARDDUTY",
        "RecoveryPointArn": s.rp_arn,
        "ResourceArn": res.arn,
        "ResourceName": res.name,
        "ResourceType": res.kind.label(),
        "ScanId": s.scan_id,
        "ScanJobId": s.id,
        "ScanMode": "FULL_SCAN",
        "ScanResult": { "ScanResultStatus": result(s) },
        "ScannerRoleArn": scanner_role(res),
        "State": "COMPLETED",
    })
}

/// The planted infected recovery point, in a sentence of the samples README.
pub(crate) fn planted(m: &Model) -> String {
    let found = scans(m).into_iter().filter(|s| s.infected).map(|s| {
        let res = &m.resources[s.res as usize];
        format!(
            "GuardDuty found malware in recovery point `{}` of `{}` (`{}`), scanned {} (scan job `{}`)",
            s.rp_arn,
            res.name,
            res.arn,
            date(m.quarter.day(s.created.div_euclid(DAY))),
            s.id
        )
    });
    found.collect::<Vec<_>>().join("; ")
}

/// The `malware_scans` section of `ground-truth.json`.
pub(crate) fn truth(m: &Model) -> Value {
    let all = scans(m);
    let scanned: std::collections::BTreeSet<u32> = all.iter().map(|s| s.res).collect();
    let infected: Vec<Value> = all
        .iter()
        .filter(|s| s.infected)
        .map(|s| {
            let res = &m.resources[s.res as usize];
            json!({ "resource": res.arn, "name": res.name, "recovery_point": s.rp_arn, "scan_job_id": s.id,
                    "scan_day": date(m.quarter.day(s.created.div_euclid(DAY))) })
        })
        .collect();
    json!({
        "scan_days": SCAN_DAYS.map(|d| date(m.quarter.day(d))),
        "scans": all.len(),
        "scannable_resources": m.resources.iter().filter(|r| scannable(r)).count(),
        "scannable_resources_scanned": scanned.len(),
        "infected_recovery_points": infected,
    })
}
