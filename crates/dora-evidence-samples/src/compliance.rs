//! Backup Audit Manager compliance reports: CONTROL_COMPLIANCE_REPORT (one row per control
//! and account/Region) and RESOURCE_COMPLIANCE_REPORT (one row per resource and control).
//!
//! core-banking eu-central-1 delivers JSON (control report daily, resource report weekly);
//! the organisation delivers both as weekly cross-account CSVs per Region. Verdicts follow
//! the model: e.g. `BACKUP_LAST_RECOVERY_POINT_CREATED` turns NON_COMPLIANT while the
//! `core-customer-db` backups fail, `RESTORE_TIME_FOR_RESOURCES_MEET_TARGET` when the latest
//! restore test of a resource took longer than `maxRestoreTime`.

use std::io;

use super::model::{ACCOUNTS, Kind, Lock, Model, REGIONS, Resource, Tier, weekday};
use super::out::{DAY, HOUR, MIN, Out};
use super::reports::{Cell, CsvReport, JsonReport, period_texts, report_key};
use super::truth::Truth;

/// A control of the framework: name, parameters (JSON in a string), scope text, frequency.
struct Control {
    name: &'static str,
    params: &'static str,
    scope: &'static str,
    frequency: Option<&'static str>,
}

const CONTROLS: [Control; 7] = [
    Control {
        name: "BACKUP_RESOURCES_PROTECTED_BY_BACKUP_PLAN",
        params: "{}",
        scope: "{ComplianceResourceTypes: [],}",
        frequency: Some("Twelve_Hours"),
    },
    Control {
        name: "BACKUP_RECOVERY_POINT_ENCRYPTED",
        params: "{}",
        scope: "{ComplianceResourceTypes: [],}",
        frequency: Some("Twelve_Hours"),
    },
    Control {
        name: "BACKUP_RESOURCES_PROTECTED_BY_BACKUP_VAULT_LOCK",
        params: "{}",
        scope: "{ComplianceResourceTypes: [],}",
        frequency: Some("Twelve_Hours"),
    },
    Control {
        name: "RESTORE_TIME_FOR_RESOURCES_MEET_TARGET",
        params: "{\"maxRestoreTime\":\"120\"}",
        scope: "{ComplianceResourceTypes: [],}",
        frequency: None,
    },
    Control {
        name: "BACKUP_RESOURCES_PROTECTED_BY_CROSS_REGION",
        params: "",
        scope: "{ComplianceResourceTypes: [RDS, Aurora],}",
        frequency: Some("Twelve_Hours"),
    },
    Control {
        name: "BACKUP_LAST_RECOVERY_POINT_CREATED",
        params: "{\"recoveryPointAgeUnit\":\"hours\",\"recoveryPointAgeValue\":\"26\"}",
        scope: "{ComplianceResourceTypes: [], Tags: {tier=gold},}",
        frequency: Some("Twelve_Hours"),
    },
    Control {
        name: "BACKUP_PLAN_MIN_FREQUENCY_AND_MIN_RETENTION_CHECK",
        params: "{\"requiredFrequencyValue\":\"24\",\"requiredRetentionDays\":\"35\",\"requiredFrequencyUnit\":\"hours\"}",
        scope: "{ComplianceResourceTypes: [],}",
        frequency: Some("Twelve_Hours"),
    },
];

const FRAMEWORK: &str = "nordhafen_dora_backup";
const FRAMEWORK_DESCRIPTION: &str = "Backup and restore controls mapped to DORA Art. 11 and 12 (Nordhafen Bank AG)";

/// `Some(compliant)` when resource `r` is in scope of control `c` at time `t`.
fn verdict(m: &Model, truth: &Truth, c: usize, r: usize, t: i64) -> Option<bool> {
    let res: &Resource = &m.resources[r];
    if res.kind == Kind::Stack {
        return None;
    }
    let name = CONTROLS[c].name;
    if name == "BACKUP_RESOURCES_PROTECTED_BY_BACKUP_PLAN" {
        return Some(res.plan.is_some());
    }
    // The other controls evaluate protected resources only.
    let plan = &m.plans[res.plan?];
    let stats = &truth.res[r];
    match name {
        "BACKUP_RECOVERY_POINT_ENCRYPTED" => Some(res.encrypted),
        "BACKUP_RESOURCES_PROTECTED_BY_BACKUP_VAULT_LOCK" => Some(m.vaults[plan.vault].lock != Lock::None),
        "RESTORE_TIME_FOR_RESOURCES_MEET_TARGET" => stats.last_test_minutes_before(t).map(|minutes| minutes <= 120.0),
        "BACKUP_RESOURCES_PROTECTED_BY_CROSS_REGION" => {
            matches!(res.kind, Kind::Rds | Kind::Aurora).then_some(plan.copy_region_vault.is_some())
        }
        "BACKUP_LAST_RECOVERY_POINT_CREATED" => {
            (res.tier == Tier::Gold).then(|| stats.last_completion_before(t).is_some_and(|e| t - e <= 26 * HOUR))
        }
        _ => Some(plan.schedule.weekday.is_none() && plan.delete_after_days >= 35),
    }
}

/// Evaluation time of control `c` for the report delivered on `day` (late the day before).
fn evaluated(day: i64, c: usize) -> i64 {
    (day - 1) * DAY + 23 * HOUR + 40 * MIN + c as i64 * 37_000 + 213
}

fn params(c: usize, region: usize) -> String {
    if CONTROLS[c].params.is_empty() {
        format!("{{\"crossRegionList\":\"{}\"}}", REGIONS[1 - region])
    } else {
        CONTROLS[c].params.to_string()
    }
}

/// One row of the control report for account `a`, Region `region`.
struct ControlRow {
    status: &'static str,
    compliant: i64,
    non_compliant: i64,
}

fn control_row(m: &Model, truth: &Truth, a: usize, region: usize, c: usize, t: i64) -> ControlRow {
    let (mut yes, mut no) = (0, 0);
    for &r in &m.by_ar[a][region] {
        match verdict(m, truth, c, r as usize, t) {
            Some(true) => yes += 1,
            Some(false) => no += 1,
            None => {}
        }
    }
    ControlRow { status: if no > 0 { "NON_COMPLIANT" } else { "COMPLIANT" }, compliant: yes, non_compliant: no }
}

/// CSV headers of the columns both reports start with.
const LEADING_HEADERS: [&str; 6] =
    ["Account ID", "Region", "Path To Root", "Framework Name", "Framework Description", "Control Name"];
/// CSV headers of the columns that follow in the control report.
const CONTROL_HEADERS: [&str; 7] = [
    "Control Compliance Status",
    "Last Evaluation Time",
    "Num Resources Compliant",
    "Num Resources Non Compliant",
    "Control Frequency",
    "Control Scope",
    "Control Parameters",
];
/// CSV headers of the columns that follow in the resource report.
const RESOURCE_HEADERS: [&str; 4] =
    ["Resource ID", "Resource Type", "Resource Compliance Status", "Last Evaluation Time"];

impl Level {
    /// CSV headers of the report.
    fn headers(self) -> Vec<&'static str> {
        let rest: &[&str] = if self == Level::Control { &CONTROL_HEADERS } else { &RESOURCE_HEADERS };
        LEADING_HEADERS.iter().chain(rest).copied().collect()
    }
}

/// The JSON key of a CSV header (`Account ID` → `accountId`); `None` for `Path To Root`,
/// which only the cross-account CSVs have.
fn json_key(header: &str) -> Option<String> {
    if header == "Path To Root" {
        return None;
    }
    let mut key = String::new();
    for (i, word) in header.split(' ').enumerate() {
        let lower = word.to_ascii_lowercase();
        if i == 0 {
            key.push_str(&lower);
        } else {
            key.push_str(&lower[..1].to_ascii_uppercase());
            key.push_str(&lower[1..]);
        }
    }
    Some(key)
}

fn control_cells<'a>(a: usize, region: usize, c: usize, row: &ControlRow, t: i64, params: &'a str) -> [Cell<'a>; 13] {
    [
        Cell::Str(ACCOUNTS[a].id),
        Cell::Str(REGIONS[region]),
        Cell::Str(ACCOUNTS[a].path_to_root),
        Cell::Str(FRAMEWORK),
        Cell::Str(FRAMEWORK_DESCRIPTION),
        Cell::Str(CONTROLS[c].name),
        Cell::Str(row.status),
        Cell::Ts(t),
        Cell::Int(row.compliant),
        Cell::Int(row.non_compliant),
        CONTROLS[c].frequency.map_or(Cell::Skip, Cell::Str),
        Cell::Str(CONTROLS[c].scope),
        Cell::Str(params),
    ]
}

fn resource_cells<'a>(m: &'a Model, r: usize, c: usize, ok: bool, t: i64, id: &'a str) -> [Cell<'a>; 10] {
    let res = &m.resources[r];
    [
        Cell::Str(ACCOUNTS[res.account].id),
        Cell::Str(REGIONS[res.region]),
        Cell::Str(ACCOUNTS[res.account].path_to_root),
        Cell::Str(FRAMEWORK),
        Cell::Str(FRAMEWORK_DESCRIPTION),
        Cell::Str(CONTROLS[c].name),
        Cell::Str(id),
        Cell::Str(res.kind.config_type()),
        Cell::Str(if ok { "COMPLIANT" } else { "NON_COMPLIANT" }),
        Cell::Ts(t),
    ]
}

/// Every evaluation of the report delivered on `day`: (account, Region, control, time), by
/// account/Region pair, then control.
fn evaluations(day: i64, pairs: &[(usize, usize)]) -> impl Iterator<Item = (usize, usize, usize, i64)> + '_ {
    pairs.iter().flat_map(move |&(a, region)| (0..CONTROLS.len()).map(move |c| (a, region, c, evaluated(day, c))))
}

/// The two compliance reports: one row per control, or one per resource and control.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Control,
    Resource,
}

/// Writes the rows of the report at `level` for the given account/Region pairs.
fn write_rows(
    (m, truth, day): (&Model, &Truth, i64),
    pairs: &[(usize, usize)],
    level: Level,
    emit: &mut dyn FnMut(&[Cell<'_>]) -> io::Result<()>,
) -> io::Result<()> {
    for (a, region, c, t) in evaluations(day, pairs) {
        if level == Level::Control {
            let row = control_row(m, truth, a, region, c, t);
            emit(&control_cells(a, region, c, &row, t, &params(c, region)))?;
            continue;
        }
        for &r in &m.by_ar[a][region] {
            let Some(ok) = verdict(m, truth, c, r as usize, t) else { continue };
            let res = &m.resources[r as usize];
            let id = format!("{}/{}", res.kind.config_type(), res.config_id);
            emit(&resource_cells(m, r as usize, c, ok, t, &id))?;
        }
    }
    Ok(())
}

fn json_file(
    out: &mut Out,
    rel: &str,
    level: Level,
    write: impl FnOnce(&mut dyn FnMut(&[Cell<'_>]) -> io::Result<()>) -> io::Result<()>,
) -> io::Result<()> {
    let keys: Vec<Option<String>> = level.headers().into_iter().map(json_key).collect();
    let mut j = JsonReport::open(out, rel)?;
    write(&mut |cells: &[Cell<'_>]| {
        j.begin_item()?;
        let mut first = true;
        for (key, cell) in keys.iter().zip(cells) {
            if let Some(key) = key {
                j.field(&mut first, key, cell)?;
            }
        }
        j.end_item()
    })?;
    j.finish(out)
}

fn csv_file(
    out: &mut Out,
    rel: &str,
    level: Level,
    bom_crlf: bool,
    write: impl FnOnce(&mut dyn FnMut(&[Cell<'_>]) -> io::Result<()>) -> io::Result<()>,
) -> io::Result<()> {
    let headers: Vec<String> = level.headers().into_iter().map(String::from).collect();
    let mut w = CsvReport::open(out, rel, &headers, bom_crlf, &["Control Parameters"])?;
    write(&mut |cells: &[Cell<'_>]| {
        for cell in cells {
            w.field(cell)?;
        }
        w.end_row()
    })?;
    w.finish(out)
}

/// Writes the compliance reports delivered on `day` (report rows are not job rows).
pub(crate) fn write_compliance(m: &Model, truth: &Truth, out: &mut Out, day: i64) -> io::Result<()> {
    let ctx = (m, truth, day);
    let core = ACCOUNTS[0].id;
    let core_pair = [(0usize, 0usize)];
    let (period, written) = (period_texts(m.quarter, day, 1), m.quarter.day(day));
    let rel =
        report_key(core, REGIONS[0], written, "daily_control_compliance", "CONTROL_COMPLIANCE_REPORT", &period, "json");
    json_file(out, &rel, Level::Control, |emit| write_rows(ctx, &core_pair, Level::Control, emit))?;
    if weekday(day) != 1 {
        return Ok(());
    }
    // Mondays: weekly resource report (JSON) and the cross-account CSVs.
    let week = period_texts(m.quarter, day, 7);
    let rel = report_key(
        core,
        REGIONS[0],
        written,
        "weekly_resource_compliance",
        "RESOURCE_COMPLIANCE_REPORT",
        &week,
        "json",
    );
    json_file(out, &rel, Level::Resource, |emit| write_rows(ctx, &core_pair, Level::Resource, emit))?;
    for (region, region_name) in REGIONS.iter().enumerate() {
        let pairs: Vec<(usize, usize)> = (0..ACCOUNTS.len()).map(|a| (a, region)).collect();
        let bom = region == 1;
        let rel = |plan, template| report_key("crossaccount", region_name, written, plan, template, &week, "csv");
        let control = rel("org_control_compliance", "CONTROL_COMPLIANCE_REPORT");
        csv_file(out, &control, Level::Control, bom, |emit| write_rows(ctx, &pairs, Level::Control, emit))?;
        let resource = rel("org_resource_compliance", "RESOURCE_COMPLIANCE_REPORT");
        csv_file(out, &resource, Level::Resource, bom, |emit| write_rows(ctx, &pairs, Level::Resource, emit))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_keys_are_the_camel_case_csv_headers_without_path_to_root() {
        let keys = |level: Level| level.headers().into_iter().filter_map(json_key).collect::<Vec<_>>().join(",");
        assert_eq!(
            keys(Level::Control),
            "accountId,region,frameworkName,frameworkDescription,controlName,controlComplianceStatus,\
             lastEvaluationTime,numResourcesCompliant,numResourcesNonCompliant,controlFrequency,controlScope,\
             controlParameters"
        );
        assert_eq!(
            keys(Level::Resource),
            "accountId,region,frameworkName,frameworkDescription,controlName,resourceId,resourceType,\
             resourceComplianceStatus,lastEvaluationTime"
        );
        assert_eq!(Level::Control.headers().len(), 13);
    }
}
