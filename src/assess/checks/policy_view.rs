//! The backup policy as the risk officer reads it: every plan rule of the period (schedule,
//! runs, longest gap, retention, copies) and every targeted resource against its RPO, from the
//! same [`Evaluation`] the `policy_covers_targets` check judges, so the report's "Backup
//! policy" section, `backup_policy.csv` and the check never disagree.

use serde::{Deserialize, Serialize};

use super::Inputs;
use super::policy::{Evaluation, Rule, Target, Verdict, evaluate, rule_name};
use crate::assess::csv_of;

/// The period's backup policy: its rules and how each targeted resource stands.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BackupPolicy {
    /// Every rule of the period's plans, by account, Region, plan and rule.
    pub rules: Vec<PolicyRuleRow>,
    /// Every targeted resource, by account, Region and ARN.
    pub targets: Vec<PolicyTargetRow>,
}

/// One backup plan rule over the period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyRuleRow {
    /// Account id.
    pub account_id: String,
    /// Region.
    pub region: String,
    /// `plan/rule` by name (ids when unnamed).
    pub rule: String,
    /// The schedule as AWS writes it.
    pub schedule: String,
    /// Its time zone (`UTC` when none is set).
    pub timezone: String,
    /// Continuous backup (point-in-time recovery) is on.
    pub continuous: bool,
    /// Scheduled runs in the period (empty: the schedule cannot be read).
    pub runs: Option<u64>,
    /// Longest time between runs over the period, hours, one decimal (empty: never runs or
    /// cannot be read).
    pub longest_gap_hours: Option<f64>,
    /// `Lifecycle.DeleteAfterDays` (empty: kept until deleted by hand).
    pub retention_days: Option<u64>,
    /// Copy destinations as `account/Region/vault`, `;`-joined.
    pub copies: String,
    /// The vault the rule writes to.
    pub target_vault: String,
    /// How many targeted resources it selects.
    pub targets_selected: usize,
}

/// One targeted resource against the policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyTargetRow {
    /// Resource ARN.
    pub resource_arn: String,
    /// Account id (empty when unknown).
    pub account_id: String,
    /// Region (empty when unknown).
    pub region: String,
    /// Its RPO from the targets, hours.
    pub rpo_hours: Option<f64>,
    /// The rules selecting it, `plan/rule`, `;`-joined.
    pub rules: String,
    /// The shortest longest-gap of those rules, hours (0 with continuous backup).
    pub longest_gap_hours: Option<f64>,
    /// The longest retention among those rules, days (empty: one keeps points indefinitely,
    /// or none selects it).
    pub retention_days: Option<u64>,
    /// Copy destinations of those rules as `account/Region/vault`, `;`-joined.
    pub copies: String,
    /// `meets`, `short` (retention or copies), `rpo_unmet`, `no_plan` or `unknown` (no plan
    /// evidence from its account and Region).
    pub verdict: String,
    /// Why, for every verdict but `meets`.
    pub reason: String,
}

/// The period's backup policy, from the same evaluation as `policy_covers_targets`.
pub(crate) fn backup_policy(cx: &Inputs<'_>) -> BackupPolicy {
    let ev = evaluate(cx);
    let mut rules: Vec<PolicyRuleRow> = ev.rules.iter().enumerate().map(|(i, r)| rule_row(&ev, i, r)).collect();
    rules.sort_by(|a, b| (&a.account_id, &a.region, &a.rule).cmp(&(&b.account_id, &b.region, &b.rule)));
    let mut targets: Vec<PolicyTargetRow> = ev.targets.iter().map(|t| target_row(&ev, t)).collect();
    targets
        .sort_by(|a, b| (&a.account_id, &a.region, &a.resource_arn).cmp(&(&b.account_id, &b.region, &b.resource_arn)));
    BackupPolicy { rules, targets }
}

fn rule_row(ev: &Evaluation<'_>, i: usize, r: &Rule<'_>) -> PolicyRuleRow {
    let b = r.rule;
    PolicyRuleRow {
        account_id: b.account_id.clone().unwrap_or_default(),
        region: b.region.clone().unwrap_or_default(),
        rule: rule_name(b),
        schedule: b.schedule_expression.clone().unwrap_or_default(),
        timezone: b.schedule_expression_timezone.clone().unwrap_or_else(|| "UTC".to_owned()),
        continuous: b.enable_continuous_backup == Some(true),
        runs: r.runs,
        longest_gap_hours: r.gap_hours.as_ref().ok().copied().filter(|g| g.is_finite()).map(tenth),
        retention_days: b.delete_after_days,
        copies: destinations(b.copy_destinations.as_deref().unwrap_or("")),
        target_vault: b.target_backup_vault_name.clone().unwrap_or_default(),
        targets_selected: ev.targets.iter().filter(|t| t.selecting.contains(&i)).count(),
    }
}

fn target_row(ev: &Evaluation<'_>, t: &Target<'_>) -> PolicyTargetRow {
    let rules: Vec<&Rule<'_>> = t.selecting.iter().map(|&i| &ev.rules[i]).collect();
    let continuous = rules.iter().any(|r| r.rule.enable_continuous_backup == Some(true));
    let fastest = rules.iter().filter_map(|r| r.gap_hours.as_ref().ok().copied()).filter(|g| g.is_finite());
    let longest_gap_hours = if continuous { Some(0.0) } else { fastest.min_by(f64::total_cmp).map(tenth) };
    let keeps_forever = rules.iter().any(|r| r.rule.delete_after_days.is_none());
    let retention_days = if keeps_forever { None } else { rules.iter().filter_map(|r| r.rule.delete_after_days).max() };
    let mut copies: Vec<&str> = rules.iter().filter_map(|r| r.rule.copy_destinations.as_deref()).collect();
    copies.sort_unstable();
    copies.dedup();
    let (verdict, reason) = match &t.verdict {
        Verdict::Meets => ("meets", String::new()),
        Verdict::Short(why) => ("short", why.clone()),
        Verdict::RpoUnmet(why) => ("rpo_unmet", why.clone()),
        Verdict::NoPlan(why) => ("no_plan", why.clone()),
        Verdict::Unknown => ("unknown", "no backup plan listing of its account and Region from the period".to_owned()),
    };
    PolicyTargetRow {
        resource_arn: t.arn.to_owned(),
        account_id: t.account.unwrap_or_default().to_owned(),
        region: t.region.unwrap_or_default().to_owned(),
        rpo_hours: t.rpo_hours,
        rules: rules.iter().map(|r| rule_name(r.rule)).collect::<Vec<_>>().join(";"),
        longest_gap_hours,
        retention_days,
        copies: destinations(&copies.join(";")),
        verdict: verdict.to_owned(),
        reason,
    }
}

/// `;`-joined vault ARNs as `account/Region/vault`, sorted and without repeats.
fn destinations(arns: &str) -> String {
    let mut out: Vec<String> = arns
        .split(';')
        .filter(|a| !a.is_empty())
        .map(|arn| {
            let (account, region) = crate::arn::account_region(arn);
            let vault = arn.rsplit(':').next().unwrap_or(arn);
            format!("{}/{}/{vault}", account.unwrap_or("?"), region.unwrap_or("?"))
        })
        .collect();
    out.sort();
    out.dedup();
    out.join(";")
}

/// Rounded to a tenth (hours as the report shows them).
fn tenth(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

impl BackupPolicy {
    /// `backup_policy.csv`: one row per targeted resource.
    pub fn targets_csv(&self) -> Vec<u8> {
        csv_of(TARGET_COLUMNS, &self.targets)
    }

    /// `backup_policy_rules.csv`: one row per rule of the period.
    pub fn rules_csv(&self) -> Vec<u8> {
        csv_of(RULE_COLUMNS, &self.rules)
    }
}

/// The columns of `backup_policy.csv`: [`PolicyTargetRow`]'s fields in order.
const TARGET_COLUMNS: &[&str] = &[
    "resource_arn",
    "account_id",
    "region",
    "rpo_hours",
    "rules",
    "longest_gap_hours",
    "retention_days",
    "copies",
    "verdict",
    "reason",
];

/// The columns of `backup_policy_rules.csv`: [`PolicyRuleRow`]'s fields in order.
const RULE_COLUMNS: &[&str] = &[
    "account_id",
    "region",
    "rule",
    "schedule",
    "timezone",
    "continuous",
    "runs",
    "longest_gap_hours",
    "retention_days",
    "copies",
    "target_vault",
    "targets_selected",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::model::BackupRule;

    fn rule(name: &str, schedule: &str, f: impl FnOnce(&mut BackupRule)) -> BackupRule {
        let mut r = BackupRule {
            backup_plan_id: "p".into(),
            rule_id: name.into(),
            backup_plan_name: Some("plan".into()),
            rule_name: Some(name.into()),
            schedule_expression: Some(schedule.into()),
            account_id: Some("111122223333".into()),
            region: Some("eu-central-1".into()),
            ..BackupRule::default()
        };
        f(&mut r);
        r
    }

    #[test]
    fn a_target_row_takes_the_fastest_rule_the_longest_retention_and_every_copy() {
        let period = "2026-Q3".parse::<crate::time::Period>().unwrap();
        let vault = |acct: &str, region: &str| format!("arn:aws:backup:{region}:{acct}:backup-vault:v-{region}");
        let daily = rule("daily", "cron(0 1 * * ? *)", |r| {
            r.delete_after_days = Some(35);
            r.copy_destinations = Some(vault("111122223333", "eu-west-1"));
        });
        let weekly = rule("weekly", "cron(0 1 ? * SUN *)", |r| {
            r.delete_after_days = Some(365);
            r.copy_destinations =
                Some(format!("{};{}", vault("999988887777", "eu-central-1"), vault("111122223333", "eu-west-1")));
        });
        let forever = rule("forever", "cron(0 1 1 * ? *)", |r| r.delete_after_days = None);
        let rules = [&daily, &weekly, &forever].map(|r| Rule::new(r, period));
        let ev = Evaluation { rules: rules.into(), selections: Vec::new(), targets: Vec::new() };
        let target = |selecting: Vec<usize>| Target {
            arn: "arn:aws:rds:eu-central-1:111122223333:db:x",
            account: Some("111122223333"),
            region: Some("eu-central-1"),
            rpo_hours: Some(24.0),
            selecting,
            verdict: Verdict::Meets,
        };
        let row = target_row(&ev, &target(vec![0, 1]));
        assert_eq!(row.rules, "plan/daily;plan/weekly");
        assert_eq!(row.longest_gap_hours, Some(24.0));
        assert_eq!(row.retention_days, Some(365));
        assert_eq!(row.copies, "111122223333/eu-west-1/v-eu-west-1;999988887777/eu-central-1/v-eu-central-1");
        // A rule without expiry keeps points indefinitely: no retention figure caps it.
        assert_eq!(target_row(&ev, &target(vec![1, 2])).retention_days, None);
        let none = target_row(&ev, &Target { verdict: Verdict::NoPlan("in no backup plan".into()), ..target(vec![]) });
        assert_eq!(
            (none.verdict.as_str(), none.reason.as_str(), none.longest_gap_hours),
            ("no_plan", "in no backup plan", None)
        );

        let weekly_row = rule_row(&ev, 1, &ev.rules[1]);
        assert_eq!((weekly_row.runs, weekly_row.longest_gap_hours), (Some(13), Some(168.0)));
        assert_eq!(weekly_row.timezone, "UTC");
        let csv = String::from_utf8(BackupPolicy { rules: vec![weekly_row], targets: vec![row] }.rules_csv()).unwrap();
        assert!(csv.starts_with(&(RULE_COLUMNS.join(",") + "\n")), "{csv}");
        assert_eq!(String::from_utf8(BackupPolicy::default().targets_csv()).unwrap(), TARGET_COLUMNS.join(",") + "\n");
    }

    /// The written headers name the fields in the order serde writes them.
    #[test]
    fn csv_headers_follow_the_row_fields() {
        fn header_of<T: Serialize>(row: &T) -> String {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.serialize(row).unwrap();
            String::from_utf8(w.into_inner().unwrap()).unwrap().lines().next().unwrap().to_owned()
        }
        let period = "2026-Q3".parse::<crate::time::Period>().unwrap();
        let r = rule("daily", "cron(0 1 * * ? *)", |_| {});
        let ev = Evaluation { rules: vec![Rule::new(&r, period)], selections: Vec::new(), targets: Vec::new() };
        assert_eq!(header_of(&rule_row(&ev, 0, &ev.rules[0])), RULE_COLUMNS.join(","));
        let t = Target {
            arn: "a",
            account: None,
            region: None,
            rpo_hours: None,
            selecting: vec![],
            verdict: Verdict::Unknown,
        };
        assert_eq!(header_of(&target_row(&ev, &t)), TARGET_COLUMNS.join(","));
    }
}
