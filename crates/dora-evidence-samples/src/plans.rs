//! Backup plans and their selections as the AWS CLI prints them (`list-backup-plans`,
//! `get-backup-plan`, `list-backup-selections`, `get-backup-selection`), written once per
//! account and Region in the first snapshot of the quarter: `collect` stores a document again
//! only when it changes, and the plans do not change during the quarter.
//!
//! Each plan has one selection, by the `backup-plan` tag every protected resource carries, so
//! the tables in no plan stay outside every selection.

use std::io;

use serde::Serialize;

use super::model::{ACCOUNTS, Model, Plan, REGIONS};
use super::out::{Out, Ts, TsStyle, guid, mix};

/// When the plans and selections were created (2025-11-03T09:00:00Z), ms.
const CREATED: i64 = 1_762_160_400_000;

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Lifecycle {
    delete_after_days: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    move_to_cold_storage_after_days: Option<u32>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct CopyAction<'a> {
    lifecycle: Lifecycle,
    destination_backup_vault_arn: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Rule<'a> {
    rule_name: &'a str,
    target_backup_vault_name: &'a str,
    schedule_expression: &'a str,
    start_window_minutes: i64,
    completion_window_minutes: i64,
    lifecycle: Lifecycle,
    rule_id: &'a str,
    copy_actions: Vec<CopyAction<'a>>,
    schedule_expression_timezone: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PlanBody<'a> {
    backup_plan_name: &'a str,
    rules: Vec<Rule<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct GetPlan<'a> {
    backup_plan: PlanBody<'a>,
    backup_plan_id: &'a str,
    backup_plan_arn: &'a str,
    version_id: &'a str,
    creation_date: Ts,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PlanItem<'a> {
    backup_plan_arn: &'a str,
    backup_plan_id: &'a str,
    backup_plan_name: &'a str,
    creation_date: Ts,
    version_id: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Condition<'a> {
    condition_type: &'a str,
    condition_key: &'a str,
    condition_value: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct SelectionBody<'a> {
    selection_name: &'a str,
    iam_role_arn: &'a str,
    resources: [&'a str; 0],
    list_of_tags: [Condition<'a>; 1],
    not_resources: [&'a str; 0],
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct GetSelection<'a> {
    backup_selection: SelectionBody<'a>,
    selection_id: &'a str,
    backup_plan_id: &'a str,
    creation_date: Ts,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct SelectionItem<'a> {
    selection_id: &'a str,
    selection_name: &'a str,
    backup_plan_id: &'a str,
    creation_date: Ts,
    iam_role_arn: &'a str,
}

/// Writes the plans of account `acct` in Region `region` into the snapshot folder `dir`.
pub(crate) fn write_plans(m: &Model, out: &mut Out, dir: &str, acct: usize, region: usize) -> io::Result<()> {
    let scope = format!(":{}:{}:", REGIONS[region], ACCOUNTS[acct].id);
    let plans: Vec<(usize, &Plan)> = m.plans.iter().enumerate().filter(|(_, p)| p.arn.contains(&scope)).collect();
    let created = Ts(m.quarter.at(CREATED), TsStyle::CliV2);
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct PlansList<'a> {
        backup_plans_list: Vec<PlanItem<'a>>,
    }
    let list = plans
        .iter()
        .map(|(_, p)| PlanItem {
            backup_plan_arn: &p.arn,
            backup_plan_id: &p.id,
            backup_plan_name: &p.name,
            creation_date: created,
            version_id: &p.version,
        })
        .collect();
    out.write_json(&format!("{dir}/list-backup-plans.json"), &PlansList { backup_plans_list: list })?;
    for &(i, p) in &plans {
        out.write_json(&format!("{dir}/get-backup-plan-{}.json", p.id), &get_plan(m, p))?;
        write_selection(m, out, dir, i, p, &m.default_role[acct])?;
    }
    Ok(())
}

fn get_plan<'a>(m: &'a Model, p: &'a Plan) -> GetPlan<'a> {
    let lifecycle = || Lifecycle { delete_after_days: p.delete_after_days, move_to_cold_storage_after_days: None };
    let copies = [p.copy_region_vault, p.copy_account_vault].into_iter().flatten();
    let rule = Rule {
        rule_name: p.rule_name,
        target_backup_vault_name: &m.vaults[p.vault].name,
        schedule_expression: p.schedule.cron,
        start_window_minutes: p.start_window_min,
        completion_window_minutes: 10_080,
        lifecycle: Lifecycle {
            delete_after_days: p.delete_after_days,
            move_to_cold_storage_after_days: p.move_to_cold_days,
        },
        rule_id: &p.rule_id,
        copy_actions: copies
            .map(|v| CopyAction { lifecycle: lifecycle(), destination_backup_vault_arn: &m.vaults[v].arn })
            .collect(),
        schedule_expression_timezone: "Etc/UTC",
    };
    GetPlan {
        backup_plan: PlanBody { backup_plan_name: &p.name, rules: vec![rule] },
        backup_plan_id: &p.id,
        backup_plan_arn: &p.arn,
        version_id: &p.version,
        creation_date: Ts(m.quarter.at(CREATED), TsStyle::CliV2),
    }
}

/// The plan's one selection: every resource tagged `backup-plan=<plan name>`.
fn write_selection(m: &Model, out: &mut Out, dir: &str, i: usize, p: &Plan, role: &str) -> io::Result<()> {
    let id = guid(u128::from(mix(&[m.seed, 50, i as u64])) << 64 | u128::from(mix(&[m.seed, 51, i as u64])), false);
    let name = format!("{}-by-tag", p.name);
    let created = Ts(m.quarter.at(CREATED + 60_000), TsStyle::CliV2);
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct SelectionsList<'a> {
        backup_selections_list: [SelectionItem<'a>; 1],
    }
    let item = SelectionItem {
        selection_id: &id,
        selection_name: &name,
        backup_plan_id: &p.id,
        creation_date: created,
        iam_role_arn: role,
    };
    let list = SelectionsList { backup_selections_list: [item] };
    out.write_json(&format!("{dir}/list-backup-selections-{}.json", p.id), &list)?;
    let tag = Condition { condition_type: "STRINGEQUALS", condition_key: "backup-plan", condition_value: &p.name };
    let body = SelectionBody {
        selection_name: &name,
        iam_role_arn: role,
        resources: [],
        list_of_tags: [tag],
        not_resources: [],
    };
    let doc = GetSelection { backup_selection: body, selection_id: &id, backup_plan_id: &p.id, creation_date: created };
    out.write_json(&format!("{dir}/get-backup-selection-{}-{id}.json", p.id), &doc)
}
