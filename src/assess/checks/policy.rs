//! The backup policy, evaluated: is every resource with a target selected by a backup plan
//! whose schedule meets its RPO, keeping recovery points long enough and copying them where
//! `[policy]` asks (DORA Art. 12(1)(a))?
//!
//! Selection follows AWS's documented rules for a `BackupSelection`: `Resources` (ARNs, `*`
//! wildcards) match any, `ListOfTags` match any, `Conditions` must all match, `NotResources`
//! exclude. Where AWS's documentation leaves the combination open (`Resources` together with
//! tags), a resource must pass every part that is given — the reading that never claims a
//! resource is protected when AWS might not protect it. Condition operators behave as IAM's: a
//! resource without the tag fails `StringEquals` / `StringLike` and passes `StringNotEquals` /
//! `StringNotLike`. A tag condition on a resource missing from the tag inventory cannot be
//! decided, so it does not select it; the exception says so.
//!
//! Several rules selecting one resource: the RPO is judged on the most frequent rule alone
//! (the runs of all rules together are at least as frequent, so this never flatters).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::{CheckId, CheckResult, CheckStatus, Inputs, prov_set};
use crate::evidence::ArtifactKind;
use crate::evidence::model::{BackupRule, BackupSelection, TagCondition, TaggedResource};
use crate::schedule::{Cadence, Schedule};
use crate::time::Period;

/// How one resource stands against the policy.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Verdict {
    /// Selected by a rule that meets everything asked.
    Meets,
    /// Selected, meets its RPO, but retention or copies fall short (named).
    Short(String),
    /// Selected, but no rule runs often enough (or the schedules cannot be read).
    RpoUnmet(String),
    /// In no plan (with why, when tags were missing).
    NoPlan(String),
    /// No plan listing or plan from its account and Region in the period: cannot be told.
    Unknown,
}

/// `policy_covers_targets`: every targeted resource in a plan that can meet its RPO, keeps
/// its points `min_retention_days` and copies where `copy_to` asks. `fail` when a resource is
/// in no plan or no plan meets its RPO; `warn` when only retention or copies fall short;
/// `no_data` when no targeted resource's account and Region has plan evidence from the period.
/// A resource whose account and Region has none is not evidenced: it keeps the check from
/// `pass` (`warn`) and is named, but is not reported as in no plan.
pub(super) fn policy_covers_targets(cx: &Inputs<'_>) -> CheckResult {
    let Evaluation { rules, selections, targets } = evaluate(cx);
    let verdicts: Vec<(&str, &Verdict)> = targets.iter().map(|t| (t.arn, &t.verdict)).collect();
    let count = |f: fn(&Verdict) -> bool| verdicts.iter().filter(|(_, v)| f(v)).count();
    let (meets, no_plan) = (count(|v| *v == Verdict::Meets), count(|v| matches!(v, Verdict::NoPlan(_))));
    let rpo_unmet = count(|v| matches!(v, Verdict::RpoUnmet(_)));
    let unknown = count(|v| *v == Verdict::Unknown);
    let status = if unknown == verdicts.len() {
        CheckStatus::NoData
    } else if no_plan + rpo_unmet > 0 {
        CheckStatus::Fail
    } else if meets < verdicts.len() {
        CheckStatus::Warn
    } else {
        CheckStatus::Pass
    };
    let exceptions: Vec<String> = verdicts
        .iter()
        .filter(|_| status != CheckStatus::NoData)
        .filter_map(|(arn, v)| match *v {
            Verdict::Meets => None,
            Verdict::Unknown => Some(format!("{arn} no backup plan listing of its account and Region from the period")),
            Verdict::Short(why) | Verdict::RpoUnmet(why) | Verdict::NoPlan(why) => Some(format!("{arn} {why}")),
        })
        .collect();
    let summary = if status == CheckStatus::NoData {
        "No backup plans or plan listing from the period for the accounts and Regions of the resources with a \
         target (or no such resource): the backup policy cannot be checked (collect list-backup-plans, \
         get-backup-plan, get-backup-selection)."
            .to_owned()
    } else {
        format!(
            "{meets} of {} with a target are selected by a backup plan that meets their policy \
             (in no plan: {no_plan}; in a plan whose schedule cannot meet their RPO: {rpo_unmet}; in an \
             account and Region without plan evidence from the period: {unknown}).",
            super::count(verdicts.len(), "resource", "resources")
        )
    };
    CheckResult {
        resources: Vec::new(),
        id: CheckId::PolicyCoversTargets,
        title: "Backup plans cover every targeted resource at its RPO",
        status,
        summary,
        key_figure: format!("{meets}/{} targeted resources covered by policy", verdicts.len()),
        figures: BTreeMap::from([
            ("targeted", verdicts.len().to_string()),
            ("meets", meets.to_string()),
            ("in_no_plan", no_plan.to_string()),
            ("rpo_unmet", rpo_unmet.to_string()),
            ("without_plan_evidence", unknown.to_string()),
            ("rules", rules.len().to_string()),
            ("selections", selections.len().to_string()),
        ]),
        exceptions,
        records: (rules.len() + selections.len()) as u64,
        artifacts: prov_set(
            rules.iter().flat_map(|r| &r.rule.provenance).chain(selections.iter().flat_map(|s| &s.provenance)),
        ),
    }
}

/// The period's plans and every targeted resource's standing against them: what the check
/// and the report's "Backup policy" section ([`super::policy_view`]) both read.
pub(super) struct Evaluation<'a> {
    /// The period's rules, each with its cadence over the period.
    pub(super) rules: Vec<Rule<'a>>,
    /// The period's selections.
    pub(super) selections: Vec<&'a BackupSelection>,
    /// One entry per targeted resource, in the order of `derived.targeted`.
    pub(super) targets: Vec<Target<'a>>,
}

/// A targeted resource, the rules that select it (indices into [`Evaluation::rules`]) and
/// its verdict.
pub(super) struct Target<'a> {
    pub(super) arn: &'a str,
    pub(super) account: Option<&'a str>,
    pub(super) region: Option<&'a str>,
    pub(super) rpo_hours: Option<f64>,
    pub(super) selecting: Vec<usize>,
    pub(super) verdict: Verdict,
}

/// Reads the period's rules (each schedule walked once, whatever the number of resources it
/// selects) and selections, and judges every targeted resource.
pub(super) fn evaluate<'a>(cx: &'a Inputs<'_>) -> Evaluation<'a> {
    let period = cx.period();
    let mut cadences = Cadences::new();
    let rules: Vec<Rule<'a>> = cx
        .ev
        .backup_rules
        .iter()
        .filter(|r| cx.current(r.observed_at))
        .map(|r| Rule::with(r, period, &mut cadences))
        .collect();
    let selections: Vec<&'a BackupSelection> =
        cx.ev.backup_selections.iter().filter(|s| cx.current(s.observed_at)).collect();
    let scopes = plan_scopes(cx, &rules, &selections);
    let rpo: HashMap<&str, f64> = cx.derived.rpo.iter().map(|r| (r.resource.as_str(), r.rpo_hours)).collect();
    let inventory: HashMap<&str, &TaggedResource> =
        cx.ev.tagged_resources.iter().map(|t| (t.resource_arn.as_str(), t)).collect();
    let plans = Plans { rules: &rules, selections: &selections, scopes, period, policy: &cx.config.policy };
    let targets = cx
        .derived
        .targeted
        .iter()
        .map(|arn| {
            let known = inventory.get(arn.as_str()).copied();
            // S3 ARNs name no account or Region: the tag inventory's scope stands in.
            let (account, region) = match crate::arn::account_region(arn) {
                (Some(a), Some(r)) => (Some(a), Some(r)),
                _ => (known.and_then(|t| t.account_id.as_deref()), known.and_then(|t| t.region.as_deref())),
            };
            let resource = Resource { arn, account, region, tags: known.map(|t| t.tags.as_slice()) };
            let rpo_hours = rpo.get(arn.as_str()).copied();
            let (selecting, verdict) = plans.judge(&resource, rpo_hours);
            Target { arn, account, region, rpo_hours, selecting, verdict }
        })
        .collect();
    Evaluation { rules, selections, targets }
}

/// A targeted resource: its ARN, account and Region, and its tags when the inventory has it.
struct Resource<'a> {
    arn: &'a str,
    account: Option<&'a str>,
    region: Option<&'a str>,
    tags: Option<&'a [(String, String)]>,
}

/// A rule of the period, its runs in the period and the longest gap between runs over it,
/// in hours (infinite when it does not run; the error when its schedule cannot be read).
pub(super) struct Rule<'a> {
    pub(super) rule: &'a BackupRule,
    pub(super) runs: Option<u64>,
    pub(super) gap_hours: Result<f64, String>,
}

/// Schedules already walked over the period, by expression and time zone. An organisation's
/// thousands of rules share a few schedules, and a walk visits every run of the quarter
/// (1.4 G instructions for 800 rules before; BENCHMARKS.md, "Assessment at organisation scale").
pub(super) type Cadences = HashMap<(String, Option<String>), Result<Cadence, String>>;

impl<'a> Rule<'a> {
    #[cfg(test)]
    pub(super) fn new(rule: &'a BackupRule, period: Period) -> Rule<'a> {
        Self::with(rule, period, &mut Cadences::new())
    }

    /// As [`Rule::new`], walking each schedule once per `cadences`.
    pub(super) fn with(rule: &'a BackupRule, period: Period, cadences: &mut Cadences) -> Rule<'a> {
        let expr = rule.schedule_expression.as_deref().unwrap_or("");
        let zone = rule.schedule_expression_timezone.as_deref();
        let cadence = cadences.entry((expr.to_owned(), zone.map(str::to_owned))).or_insert_with(|| {
            Schedule::parse(expr, zone).map(|s| s.cadence(period.start, period.end)).map_err(|e| e.to_string())
        });
        match cadence {
            Ok(c) => {
                let gap = c.longest_gap_ms.map_or(f64::INFINITY, |ms| ms as f64 / 3.6e6);
                Rule { rule, runs: Some(c.runs), gap_hours: Ok(gap) }
            }
            Err(e) => Rule { rule, runs: None, gap_hours: Err(format!("{}: {e}", rule_name(rule))) },
        }
    }
}

/// Account/Region pairs with plan evidence from the period: a clean `list-backup-plans`
/// snapshot (which may list none: then every resource there is in no plan), or a plan or
/// selection read from it.
fn plan_scopes<'a>(cx: &'a Inputs<'_>, rules: &[Rule<'a>], selections: &[&'a BackupSelection]) -> BTreeSet<Scope> {
    let listed = cx
        .ev
        .artifacts
        .iter()
        .filter(|a| a.kind == ArtifactKind::BackupPlansListSnapshot && a.errors == 0 && cx.current(a.observed_at));
    let listed = listed.map(|a| crate::ingest::PathHint::from_path(&a.artifact.origin)).map(|h| (h.account, h.region));
    let read = rules.iter().map(|r| (r.rule.account_id.clone(), r.rule.region.clone()));
    let read = read.chain(selections.iter().map(|s| (s.account_id.clone(), s.region.clone())));
    listed.chain(read).filter_map(|(a, r)| Some((a?, r?))).collect()
}

/// An account and a Region.
type Scope = (String, String);

/// The period's plans and what `[policy]` asks of them.
struct Plans<'a> {
    rules: &'a [Rule<'a>],
    selections: &'a [&'a BackupSelection],
    scopes: BTreeSet<Scope>,
    period: Period,
    policy: &'a crate::config::PolicyConfig,
}

impl Plans<'_> {
    /// The rules selecting `res` (indices into `self.rules`) and its verdict.
    fn judge(&self, res: &Resource<'_>, rpo_hours: Option<f64>) -> (Vec<usize>, Verdict) {
        let (arn, account, region, tags) = (res.arn, res.account, res.region, res.tags);
        let (Some(a), Some(r)) = (account, region) else { return (Vec::new(), Verdict::Unknown) };
        if !self.scopes.contains(&(a.to_owned(), r.to_owned())) {
            return (Vec::new(), Verdict::Unknown);
        }
        let mut undecided = false;
        let mut selecting: BTreeSet<usize> = BTreeSet::new();
        for s in self.selections.iter().filter(|s| s.account_id.as_deref() == account) {
            match selects(s, arn, tags) {
                Some(true) => {
                    selecting.extend(self.rules.iter().enumerate().filter_map(|(i, Rule { rule: r, .. })| {
                        let live = r.backup_plan_id == s.backup_plan_id
                            && r.account_id.as_deref() == account
                            && r.region.as_deref() == region
                            && r.deletion_date.is_none_or(|d| d >= self.period.end);
                        live.then_some(i)
                    }))
                }
                Some(false) => {}
                None => undecided = true,
            }
        }
        let selecting: Vec<usize> = selecting.into_iter().collect();
        let rules: Vec<&Rule<'_>> = selecting.iter().map(|&i| &self.rules[i]).collect();
        if rules.is_empty() {
            let why = if undecided { " (its tags are not in the tag inventory)" } else { "" };
            return (selecting, Verdict::NoPlan(format!("in no backup plan{why}")));
        }
        if let Some(rpo) = rpo_hours
            && let Err(why) = self.meets_rpo(&rules, rpo)
        {
            return (selecting, Verdict::RpoUnmet(why));
        }
        let short: Vec<String> = self.shortfalls(&rules, account, region);
        let verdict = if short.is_empty() { Verdict::Meets } else { Verdict::Short(short.join("; ")) };
        (selecting, verdict)
    }

    /// Whether the most frequent rule runs at least every `rpo` hours (continuous backup does).
    fn meets_rpo(&self, rules: &[&Rule<'_>], rpo: f64) -> Result<(), String> {
        if rules.iter().any(|r| r.rule.enable_continuous_backup == Some(true)) {
            return Ok(());
        }
        let readable = rules.iter().filter_map(|r| r.gap_hours.as_ref().ok().map(|g| (*g, r.rule)));
        match readable.min_by(|a, b| a.0.total_cmp(&b.0)) {
            Some((gap, _)) if gap <= rpo => Ok(()),
            Some((gap, r)) if gap.is_finite() => {
                Err(format!("most frequent rule {} runs at most every {gap:.1} h > RPO {rpo} h", rule_name(r)))
            }
            Some((_, r)) => Err(format!("rule {} does not run in the period (RPO {rpo} h)", rule_name(r))),
            None => {
                let unreadable: Vec<&str> =
                    rules.iter().filter_map(|r| r.gap_hours.as_ref().err()).map(String::as_str).collect();
                Err(format!("no readable schedule: {}", unreadable.join("; ")))
            }
        }
    }

    /// What the selecting rules lack of `[policy]`: retention, copies to another Region/account.
    fn shortfalls(&self, rules: &[&Rule<'_>], account: Option<&str>, region: Option<&str>) -> Vec<String> {
        let mut short = Vec::new();
        if let Some(min) = self.policy.min_retention_days
            && !rules.iter().any(|r| r.rule.delete_after_days.is_none_or(|d| d >= u64::from(min)))
        {
            let longest = rules.iter().filter_map(|r| r.rule.delete_after_days).max().unwrap_or(0);
            short.push(format!("kept at most {longest} days < {min} days"));
        }
        let destinations: Vec<&str> =
            rules.iter().filter_map(|r| r.rule.copy_destinations.as_deref()).flat_map(|d| d.split(';')).collect();
        let copied = |other: fn(&str, Option<&str>, Option<&str>) -> bool| {
            destinations.iter().any(|d| other(d, account, region))
        };
        if self.policy.copy_to_other_region && !copied(|d, _, r| crate::arn::account_region(d).1 != r) {
            short.push("no copy to another Region".to_owned());
        }
        if self.policy.copy_to_other_account && !copied(|d, a, _| crate::arn::account_region(d).0 != a) {
            short.push("no copy to another account".to_owned());
        }
        short
    }
}

pub(super) fn rule_name(r: &BackupRule) -> String {
    format!(
        "{}/{}",
        r.backup_plan_name.as_deref().unwrap_or(&r.backup_plan_id),
        r.rule_name.as_deref().unwrap_or(&r.rule_id)
    )
}

/// Whether selection `s` selects the resource `arn` with `tags`; `None` when a tag condition
/// decides and the resource's tags are unknown.
fn selects(s: &BackupSelection, arn: &str, tags: Option<&[(String, String)]>) -> Option<bool> {
    if s.not_resources.iter().any(|p| wildcard(p, arn)) {
        return Some(false);
    }
    if !s.resources.is_empty() && !s.resources.iter().any(|p| wildcard(p, arn)) {
        return Some(false);
    }
    if s.list_of_tags.is_empty() && s.conditions.is_empty() {
        // Resources alone (or nothing: AWS then selects every supported resource).
        return Some(true);
    }
    let tags = tags?;
    let any_tag = s.list_of_tags.is_empty() || s.list_of_tags.iter().any(|c| condition(c, tags));
    Some(any_tag && s.conditions.iter().all(|c| condition(c, tags)))
}

/// One tag condition (`ListOfTags` keys are plain; `Conditions` keys are `aws:ResourceTag/…`).
/// A negated condition holds for a resource without the tag, as IAM's operators do (how
/// "everything except what is tagged …" selections work).
fn condition(c: &TagCondition, tags: &[(String, String)]) -> bool {
    let key = c.condition_key.strip_prefix("aws:ResourceTag/").unwrap_or(&c.condition_key);
    let value = tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    match c.condition_type.to_ascii_uppercase().as_str() {
        "STRINGEQUALS" => value == Some(c.condition_value.as_str()),
        "STRINGNOTEQUALS" => value != Some(c.condition_value.as_str()),
        "STRINGLIKE" => value.is_some_and(|v| wildcard(&c.condition_value, v)),
        "STRINGNOTLIKE" => value.is_none_or(|v| !wildcard(&c.condition_value, v)),
        _ => false,
    }
}

/// `*` matches any run of characters (AWS's only wildcard in selections); all else literally.
fn wildcard(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = text.strip_prefix(first) else { return false };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else { return rest.is_empty() };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Timestamp;

    const DB: &str = "arn:aws:rds:eu-central-1:111122223333:db:core-ledger";

    fn selection(
        resources: &[&str],
        not: &[&str],
        list: &[(&str, &str)],
        conds: &[(&str, &str, &str)],
    ) -> BackupSelection {
        let cond = |t: &str, k: &str, v: &str| TagCondition {
            condition_type: t.to_owned(),
            condition_key: k.to_owned(),
            condition_value: v.to_owned(),
        };
        BackupSelection {
            selection_id: "s".into(),
            backup_plan_id: "p".into(),
            account_id: Some("111122223333".into()),
            resources: resources.iter().map(|r| (*r).to_owned()).collect(),
            not_resources: not.iter().map(|r| (*r).to_owned()).collect(),
            list_of_tags: list.iter().map(|(k, v)| cond("STRINGEQUALS", k, v)).collect(),
            conditions: conds.iter().map(|(t, k, v)| cond(t, k, v)).collect(),
            ..BackupSelection::default()
        }
    }

    fn tags(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn wildcards_match_runs_of_characters() {
        assert!(wildcard("*", DB));
        assert!(wildcard("arn:aws:rds:*:*:db:*", DB));
        assert!(wildcard("arn:aws:rds:eu-central-1:111122223333:db:core-ledger", DB));
        assert!(!wildcard("arn:aws:ec2:*:*:volume/*", DB));
        assert!(wildcard("*ledger", DB) && !wildcard("*ledge", DB));
        assert!(wildcard("prod*", "production") && wildcard("*rod*", "production") && !wildcard("dev*", "production"));
        assert!(wildcard("a*b*c", "abc") && !wildcard("a*b*c", "acb"));
    }

    #[test]
    fn resources_and_not_resources() {
        let gold = tags(&[("tier", "gold")]);
        assert_eq!(selects(&selection(&["arn:aws:rds:*:*:db:*"], &[], &[], &[]), DB, None), Some(true));
        assert_eq!(selects(&selection(&["arn:aws:ec2:*:*:volume/*"], &[], &[], &[]), DB, None), Some(false));
        assert_eq!(selects(&selection(&["*"], &["*:db:core-*"], &[], &[]), DB, Some(&gold)), Some(false));
        // Nothing given: AWS selects every supported resource.
        assert_eq!(selects(&selection(&[], &[], &[], &[]), DB, None), Some(true));
    }

    #[test]
    fn list_of_tags_is_any_conditions_are_all() {
        let t = tags(&[("tier", "gold"), ("env", "production")]);
        let list = selection(&[], &[], &[("tier", "silver"), ("tier", "gold")], &[]);
        assert_eq!(selects(&list, DB, Some(&t)), Some(true));
        let all = selection(
            &[],
            &[],
            &[],
            &[("StringEquals", "aws:ResourceTag/tier", "gold"), ("StringLike", "aws:ResourceTag/env", "prod*")],
        );
        assert_eq!(selects(&all, DB, Some(&t)), Some(true));
        let one_fails = selection(
            &[],
            &[],
            &[],
            &[("StringEquals", "aws:ResourceTag/tier", "gold"), ("StringNotLike", "aws:ResourceTag/env", "prod*")],
        );
        assert_eq!(selects(&one_fails, DB, Some(&t)), Some(false));
        // A resource without the tag satisfies a negated condition on it, not a positive one.
        let not_dev = selection(&[], &[], &[], &[("StringNotEquals", "aws:ResourceTag/stage", "dev")]);
        assert_eq!(selects(&not_dev, DB, Some(&t)), Some(true));
        let dev = selection(&[], &[], &[], &[("StringLike", "aws:ResourceTag/stage", "*")]);
        assert_eq!(selects(&dev, DB, Some(&t)), Some(false));
        let prod_not_dev = selection(&[], &[], &[], &[("StringNotLike", "aws:ResourceTag/env", "prod*")]);
        assert_eq!(selects(&prod_not_dev, DB, Some(&t)), Some(false));
        // Resources narrowed by tags: both must hold.
        let both = selection(&["arn:aws:ec2:*:*:volume/*"], &[], &[("tier", "gold")], &[]);
        assert_eq!(selects(&both, DB, Some(&t)), Some(false));
        // Tags decide but are unknown.
        assert_eq!(selects(&list, DB, None), None);
    }

    fn rule(schedule: &str, f: impl FnOnce(&mut BackupRule)) -> BackupRule {
        let mut r = BackupRule {
            backup_plan_id: "p".into(),
            rule_id: "r".into(),
            account_id: Some("111122223333".into()),
            region: Some("eu-central-1".into()),
            schedule_expression: Some(schedule.into()),
            delete_after_days: Some(35),
            ..BackupRule::default()
        };
        f(&mut r);
        r
    }

    #[test]
    fn rules_sharing_a_schedule_walk_it_once_and_keep_their_own_names() {
        let period: Period = "2026-Q3".parse().unwrap();
        let mut cadences = Cadences::new();
        let daily = [rule("cron(0 5 ? * * *)", |_| ()), rule("cron(0 5 ? * * *)", |r| r.rule_id = "r2".into())];
        let walked: Vec<Rule<'_>> = daily.iter().map(|r| Rule::with(r, period, &mut cadences)).collect();
        assert_eq!(cadences.len(), 1);
        assert_eq!((walked[0].runs, walked[1].runs), (Some(92), Some(92)));
        assert_eq!(walked[1].runs, Rule::new(&daily[1], period).runs);
        let bad =
            [rule("cron(nonsense)", |r| r.rule_id = "a".into()), rule("cron(nonsense)", |r| r.rule_id = "b".into())];
        let errors: Vec<String> =
            bad.iter().map(|r| Rule::with(r, period, &mut cadences).gap_hours.unwrap_err()).collect();
        assert_eq!(cadences.len(), 2);
        assert!(errors[0].starts_with("p/a: ") && errors[1].starts_with("p/b: "), "{errors:?}");
    }

    /// The verdict on [`DB`] (tagged `tags`, RPO `rpo`) with `rules` and one selection by
    /// `tier=gold`, its account and Region having plan evidence when `listed`.
    fn verdict_in(rules: &[BackupRule], tags: Option<&[(String, String)]>, rpo: f64, listed: bool) -> Verdict {
        let gold = selection(&[], &[], &[("tier", "gold")], &[]);
        let period: Period = "2026-Q3".parse().unwrap();
        let rules: Vec<Rule<'_>> = rules.iter().map(|r| Rule::new(r, period)).collect();
        let policy = crate::config::PolicyConfig::default();
        let (account, region) = crate::arn::account_region(DB);
        let scopes =
            if listed { BTreeSet::from([("111122223333".into(), "eu-central-1".into())]) } else { BTreeSet::new() };
        let res = Resource { arn: DB, account, region, tags };
        Plans { rules: &rules, selections: &[&gold], scopes, period, policy: &policy }.judge(&res, Some(rpo)).1
    }

    fn verdict(rules: &[BackupRule], tags: Option<&[(String, String)]>, rpo: f64) -> Verdict {
        verdict_in(rules, tags, rpo, true)
    }

    #[test]
    fn verdicts_weigh_schedules_deletions_regions_and_unknown_tags() {
        let gold = tags(&[("tier", "gold")]);
        let t = Some(gold.as_slice());
        let daily = rule("cron(0 5 ? * * *)", |_| {});
        assert_eq!(verdict(std::slice::from_ref(&daily), t, 24.0), Verdict::Meets);
        assert!(
            matches!(verdict(std::slice::from_ref(&daily), t, 12.0), Verdict::RpoUnmet(w) if w.contains("24.0 h > RPO 12 h"))
        );
        // The most frequent of several rules decides; continuous backup meets any RPO.
        let hourly = rule("cron(0 * ? * * *)", |_| {});
        assert_eq!(verdict(&[daily.clone(), hourly], t, 2.0), Verdict::Meets);
        let pitr = rule("cron(0 5 ? * * *)", |r| r.enable_continuous_backup = Some(true));
        assert_eq!(verdict(&[pitr], t, 1.0), Verdict::Meets);
        // A plan deleted during the period, or in another Region, protects nothing.
        let deleted =
            rule("cron(0 5 ? * * *)", |r| r.deletion_date = Some(Timestamp::parse("2026-08-01T00:00:00Z").unwrap()));
        assert_eq!(verdict(&[deleted], t, 24.0), Verdict::NoPlan("in no backup plan".into()));
        let elsewhere = rule("cron(0 5 ? * * *)", |r| r.region = Some("eu-west-1".into()));
        assert_eq!(verdict(&[elsewhere], t, 24.0), Verdict::NoPlan("in no backup plan".into()));
        // Tags decide and are unknown; a schedule that cannot be read is named.
        assert_eq!(
            verdict(std::slice::from_ref(&daily), None, 24.0),
            Verdict::NoPlan("in no backup plan (its tags are not in the tag inventory)".into())
        );
        // No plan evidence from its account and Region: not told, not "in no plan".
        assert_eq!(verdict_in(std::slice::from_ref(&daily), t, 24.0, false), Verdict::Unknown);
        let bad = rule("cron(0 5 * * * *)", |_| {});
        assert!(
            matches!(verdict(&[bad], t, 24.0), Verdict::RpoUnmet(w) if w.contains("no readable schedule") && w.contains("exactly one"))
        );
    }
}
