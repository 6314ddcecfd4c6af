//! The detection check: failed backup, copy and restore jobs reach a person, in every account
//! and Region in use, through any alert path the evidence shows.
//!
//! An *alert path* is a CloudWatch alarm on a failed-jobs metric whose ALARM state reaches an
//! enabled action (see [`super::alarms`]), an enabled EventBridge rule matching failed jobs
//! (rules in [`crate::evidence::alerts::failure_kinds`]) with its targets, or a vault
//! notification for the failure events ([`FailureKind::vault_event`]). Each path ends at
//! destinations; only an SNS topic with at least one confirmed subscription in a snapshot of
//! the period is evidence that a person is told. A topic whose subscriptions are all pending
//! does not count, nor does one whose listing from the period lists nobody (an empty
//! `list-subscriptions-by-topic` output carries no topic ARN: the topic comes from the file's
//! name and folder, as `collect` stores it), nor one whose subscriptions were not collected,
//! nor a Lambda function, queue or automation. The rows are
//! also the package's `evidence/alert_paths.csv` and the report's "Alert paths" table.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::alarms::{AlarmKey, alarm_destinations, failure_metric, watches};
use super::{CheckId, CheckResult, CheckStatus, Inputs, count, prov_set};
use crate::assess::csv_of;
use crate::evidence::ArtifactKind;
use crate::evidence::alerts::{FailureKind, join_kinds, notified_failures};
use crate::evidence::model::{Alarm, EventRule, Provenance, SnsSubscription, VaultNotification};

/// One alert path to one destination, in one account and Region: a row of
/// `evidence/alert_paths.csv` (columns in field order) and of the report's table.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AlertPath {
    /// The path's account.
    pub account_id: String,
    /// The path's Region.
    pub region: String,
    /// `alarm`, `event_rule` or `vault_notification`.
    pub path_kind: String,
    /// The alarm's, rule's or vault's name.
    pub path_name: String,
    /// Which failed jobs it tells of: `backup`, `copy`, `restore`, `;`-joined.
    pub failure_kinds: String,
    /// The action, target or topic ARN (empty when the path has none).
    pub destination: String,
    /// The destination's service from its ARN (`sns`, `lambda`, `sqs`, …).
    pub destination_kind: String,
    /// Confirmed subscriptions of an SNS destination.
    pub confirmed_subscribers: u64,
    /// Subscriptions of an SNS destination still pending confirmation (or deleted).
    pub pending_subscribers: u64,
    /// Whether failures told of here reach a person.
    pub reaches: bool,
    /// Why it does or does not.
    pub reason: String,
}

/// `alert_paths.csv`'s columns: [`AlertPath`]'s fields, in order.
const CSV_HEADER: [&str; 11] = [
    "account_id",
    "region",
    "path_kind",
    "path_name",
    "failure_kinds",
    "destination",
    "destination_kind",
    "confirmed_subscribers",
    "pending_subscribers",
    "reaches",
    "reason",
];

/// Why a topic destination does not count, when its subscribers were read but none confirmed.
const NO_CONFIRMED: &str = "no confirmed subscriber";
/// Why a topic destination does not count, when its subscribers were not read.
const NOT_COLLECTED: &str = "subscribers not collected";

/// `alert_paths.csv`: a header and one row per path and destination.
pub(crate) fn alert_paths_csv(rows: &[AlertPath]) -> Vec<u8> {
    csv_of(&CSV_HEADER, rows)
}

/// What the subscription snapshots of the period say about the SNS topics.
struct Topics<'a> {
    /// Per topic ARN: (confirmed, pending) subscriptions.
    subscribers: BTreeMap<&'a str, (u64, u64)>,
    /// Topics whose `list-subscriptions-by-topic` output from the period lists nobody.
    empty: &'a BTreeSet<String>,
}

impl<'a> Topics<'a> {
    fn new(subs: &[&'a SnsSubscription], empty: &'a BTreeSet<String>) -> Self {
        let mut subscribers: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
        for s in subs {
            let counts = subscribers.entry(s.topic_arn.as_str()).or_default();
            match s.confirmed {
                Some(true) => counts.0 += 1,
                _ => counts.1 += 1,
            }
        }
        Topics { subscribers, empty }
    }

    /// The row for `destination` of a path that tells of failures: counts, verdict, reason.
    fn judge(&self, mut row: AlertPath) -> AlertPath {
        row.destination_kind = service_of(&row.destination).to_owned();
        if row.destination_kind != "sns" {
            row.reason = format!("a {} target is no evidence that a person is told", row.destination_kind);
            return row;
        }
        match self.subscribers.get(row.destination.as_str()) {
            Some(&(confirmed, pending)) => {
                (row.confirmed_subscribers, row.pending_subscribers) = (confirmed, pending);
                row.reaches = confirmed > 0;
                row.reason = if row.reaches {
                    format!("{confirmed} confirmed subscriber(s)")
                } else {
                    format!("{NO_CONFIRMED} ({pending} pending)")
                };
            }
            None if self.empty.contains(&row.destination) => row.reason = format!("{NO_CONFIRMED} (0 pending)"),
            None => row.reason = NOT_COLLECTED.to_owned(),
        }
        row
    }
}

/// The service of an ARN (`arn:aws:sns:…` → `sns`); `unknown` for anything else.
fn service_of(arn: &str) -> &str {
    let mut parts = arn.splitn(4, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("arn"), Some(_), Some(service)) if !service.is_empty() => service,
        _ => "unknown",
    }
}

/// A path before its destinations are judged.
fn path(account: Option<&str>, region: Option<&str>, kind: &str, name: &str, kinds: &[FailureKind]) -> AlertPath {
    AlertPath {
        account_id: account.unwrap_or_default().to_owned(),
        region: region.unwrap_or_default().to_owned(),
        path_kind: kind.to_owned(),
        path_name: name.to_owned(),
        failure_kinds: join_kinds(kinds),
        ..AlertPath::default()
    }
}

/// One row per destination of `base`, judged; one row with `why` when it has none.
fn fan_out<'s>(
    base: AlertPath,
    destinations: impl IntoIterator<Item = &'s str>,
    why: &str,
    topics: &Topics<'_>,
) -> Vec<AlertPath> {
    let rows: Vec<AlertPath> = destinations
        .into_iter()
        .filter(|d| !d.is_empty())
        .map(|d| topics.judge(AlertPath { destination: d.to_owned(), ..base.clone() }))
        .collect();
    if rows.is_empty() { vec![AlertPath { reason: why.to_owned(), ..base }] } else { rows }
}

/// The evidence the paths are read from: the period's snapshots.
struct Sources<'a> {
    alarms: Vec<&'a Alarm>,
    rules: Vec<&'a EventRule>,
    notifications: Vec<&'a VaultNotification>,
    subscriptions: Vec<&'a SnsSubscription>,
    empty_topics: BTreeSet<String>,
}

/// The topics whose subscription listing from the period is clean and lists nobody. Such a
/// file gives no record, so the topic comes from where `collect` put it:
/// `<account>/<region>/…/list-subscriptions-by-topic-<topic name>.json`.
fn empty_topics(cx: &Inputs<'_>) -> BTreeSet<String> {
    let listings = cx.ev.artifacts.iter().filter(|a| {
        a.kind == ArtifactKind::SnsSubscriptionsSnapshot && a.errors == 0 && a.records == 0 && cx.current(a.observed_at)
    });
    listings
        .filter_map(|a| {
            let origin = &a.artifact.origin;
            let file = origin.rsplit('/').next()?;
            let name = file.strip_prefix("list-subscriptions-by-topic-")?.strip_suffix(".json")?;
            let hint = crate::ingest::PathHint::from_path(origin);
            Some(format!("arn:aws:sns:{}:{}:{name}", hint.region?, hint.account?))
        })
        .collect()
}

impl<'a> Sources<'a> {
    fn of(cx: &Inputs<'a>) -> Self {
        let ev = cx.ev;
        Sources {
            alarms: ev.alarms.iter().filter(|a| cx.current(a.observed_at)).collect(),
            rules: ev.event_rules.iter().filter(|r| cx.current(r.observed_at)).collect(),
            notifications: ev.vault_notifications.iter().filter(|n| cx.current(n.observed_at)).collect(),
            subscriptions: ev.sns_subscriptions.iter().filter(|s| cx.current(s.observed_at)).collect(),
            empty_topics: empty_topics(cx),
        }
    }

    fn records(&self) -> usize {
        self.alarms.len() + self.rules.len() + self.notifications.len() + self.subscriptions.len()
    }

    fn provenance(&self) -> impl Iterator<Item = &'a Provenance> + '_ {
        let alarms = self.alarms.iter().flat_map(|a| a.provenance.iter());
        let rules = self.rules.iter().flat_map(|r| r.provenance.iter());
        let notes = self.notifications.iter().flat_map(|n| n.provenance.iter());
        alarms.chain(rules).chain(notes).chain(self.subscriptions.iter().flat_map(|s| s.provenance.iter()))
    }

    /// Every alert path, one row per destination, sorted.
    fn paths(&self) -> Vec<AlertPath> {
        let topics = Topics::new(&self.subscriptions, &self.empty_topics);
        let mut rows = self.alarm_paths(&topics);
        rows.extend(self.rule_paths(&topics));
        rows.extend(self.notification_paths(&topics));
        rows.sort();
        rows.dedup();
        rows
    }

    /// Alarms on failed-jobs metrics, with the actions their ALARM state reaches.
    fn alarm_paths(&self, topics: &Topics<'_>) -> Vec<AlertPath> {
        let destinations = alarm_destinations(&self.alarms);
        let mut rows = Vec::new();
        for a in &self.alarms {
            let kinds: Vec<FailureKind> =
                FailureKind::ALL.into_iter().filter(|k| watches(a, failure_metric(*k))).collect();
            if kinds.is_empty() {
                continue;
            }
            let name = a.alarm_name.as_deref().unwrap_or(&a.alarm_arn);
            let base = path(a.account_id.as_deref(), a.region.as_deref(), "alarm", name, &kinds);
            let actions = destinations.get(&AlarmKey::of(a));
            let dests = actions.into_iter().flatten().map(String::as_str);
            rows.extend(fan_out(base, dests, "no enabled action", topics));
        }
        rows
    }

    /// EventBridge rules matching failed jobs, with their targets.
    fn rule_paths(&self, topics: &Topics<'_>) -> Vec<AlertPath> {
        let mut rows = Vec::new();
        for r in &self.rules {
            let kinds: Vec<FailureKind> = FailureKind::ALL
                .into_iter()
                .filter(|k| r.failure_kinds.as_deref().is_some_and(|f| f.split(';').any(|x| x == k.as_str())))
                .collect();
            if kinds.is_empty() {
                continue;
            }
            let base = path(r.account_id.as_deref(), r.region.as_deref(), "event_rule", &r.rule_name, &kinds);
            if r.state.as_deref() != Some("ENABLED") {
                let state = r.state.as_deref().unwrap_or("unknown");
                rows.push(AlertPath { reason: format!("rule state {state}"), ..base });
                continue;
            }
            let why = if r.targets.is_none() { "targets not collected" } else { "no target" };
            rows.extend(fan_out(base, r.targets.as_deref().unwrap_or("").split(';'), why, topics));
        }
        rows
    }

    /// Vault notifications; those for no failure event are kept, and never reach.
    fn notification_paths(&self, topics: &Topics<'_>) -> Vec<AlertPath> {
        let mut rows = Vec::new();
        for n in &self.notifications {
            let events = n.events.as_deref().unwrap_or("");
            let kinds = notified_failures(events);
            let name = n.vault_name.as_deref().unwrap_or(&n.vault_arn);
            let base = path(n.account_id.as_deref(), n.region.as_deref(), "vault_notification", name, &kinds);
            let topic = n.sns_topic_arn.as_deref().unwrap_or("");
            if kinds.is_empty() {
                let why =
                    format!("notifies no job failure (events: {})", if events.is_empty() { "none" } else { events });
                rows.push(AlertPath {
                    destination: topic.to_owned(),
                    destination_kind: service_of(topic).to_owned(),
                    reason: why,
                    ..base
                });
            } else {
                rows.extend(fan_out(base, [topic], "no SNS topic", topics));
            }
        }
        rows
    }
}

/// How far one kind of failure in one scope gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Reach {
    /// To at least one confirmed subscriber.
    Person,
    /// Only to topics whose subscribers were not collected.
    Unknown,
    /// Nowhere a person is told.
    Nobody,
}

/// How far failures of `kind` get in `scope`, over its paths.
fn reach(paths: &[AlertPath], scope: &(String, String), kind: FailureKind) -> Reach {
    let of_kind = paths.iter().filter(|p| {
        (&p.account_id, &p.region) == (&scope.0, &scope.1) && p.failure_kinds.split(';').any(|k| k == kind.as_str())
    });
    of_kind
        .map(|p| match (p.reaches, p.reason == NOT_COLLECTED) {
            (true, _) => Reach::Person,
            (false, true) => Reach::Unknown,
            (false, false) => Reach::Nobody,
        })
        .min()
        .unwrap_or(Reach::Nobody)
}

/// The kinds of failure that must reach someone in `scope`: backups always (the scope is
/// where backups ran), copies and restores where such jobs ran.
fn kinds_in(cx: &Inputs<'_>, scope: &(String, String)) -> Vec<FailureKind> {
    let mut kinds = vec![FailureKind::Backup];
    if cx.acc.copy_scopes.contains(scope) {
        kinds.push(FailureKind::Copy);
    }
    if cx.acc.restore_scopes.contains(scope) {
        kinds.push(FailureKind::Restore);
    }
    kinds
}

/// Every alert path of the period, one row per destination, sorted.
pub(crate) fn alert_paths(cx: &Inputs<'_>) -> Vec<AlertPath> {
    Sources::of(cx).paths()
}

/// An account and Region in use, with how far each kind of failure that must reach someone
/// gets there.
type Verdict<'a> = (&'a (String, String), Vec<(FailureKind, Reach)>);

/// The verdict of every scope in use.
fn verdicts<'a>(cx: &Inputs<'a>, paths: &[AlertPath]) -> Vec<Verdict<'a>> {
    let scopes = cx.acc.scopes.iter();
    scopes.map(|s| (s, kinds_in(cx, s).into_iter().map(|k| (k, reach(paths, s, k))).collect())).collect()
}

/// One account and Region in use, for the report's "Alert paths" table: whether failed jobs
/// of each kind reach a person, and through what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertScope {
    /// The account.
    pub account_id: String,
    /// The Region.
    pub region: String,
    /// Per kind (`backup`, `copy`, `restore`, in that order): `yes`, `no`, `unknown` (only
    /// topics whose subscribers were not collected), or `no jobs` (none of that kind ran).
    pub reach: Vec<String>,
    /// The paths that reach a confirmed subscriber: `event_rule r → topic (2 confirmed)`.
    pub through: Vec<String>,
    /// The paths that tell of failures but reach nobody, with why.
    pub not_counted: Vec<String>,
}

/// The last part of an ARN (a topic's or function's name).
fn last(arn: &str) -> &str {
    arn.rsplit(':').next().unwrap_or(arn)
}

/// Reaching paths grouped by topic, for a reader: `topic (2 confirmed) from alarms a, b;
/// EventBridge rules r`.
fn by_topic<'a>(paths: impl Iterator<Item = &'a AlertPath>) -> Vec<String> {
    let mut topics: BTreeMap<(&str, u64), BTreeMap<&str, Vec<&str>>> = BTreeMap::new();
    for p in paths {
        let kind = match p.path_kind.as_str() {
            "alarm" => "alarms",
            "event_rule" => "EventBridge rules",
            _ => "notifications of vaults",
        };
        let names = topics.entry((last(&p.destination), p.confirmed_subscribers)).or_default().entry(kind).or_default();
        names.push(&p.path_name);
    }
    topics
        .into_iter()
        .map(|((topic, confirmed), kinds)| {
            let from: Vec<String> = kinds.iter().map(|(k, names)| format!("{k} {}", names.join(", "))).collect();
            format!("{topic} ({confirmed} confirmed) from {}", from.join("; "))
        })
        .collect()
}

/// Every scope in use with how its failures get to a person.
pub(crate) fn alert_scopes(cx: &Inputs<'_>, paths: &[AlertPath]) -> Vec<AlertScope> {
    verdicts(cx, paths)
        .into_iter()
        .map(|((account, region), reaches)| {
            let here: Vec<&AlertPath> =
                paths.iter().filter(|p| (&p.account_id, &p.region) == (account, region)).collect();
            let describe = |p: &AlertPath| match p.destination.as_str() {
                "" => format!("{} {} ({})", p.path_kind, p.path_name, p.reason),
                to => format!("{} {} → {} ({})", p.path_kind, p.path_name, last(to), p.reason),
            };
            let reach = FailureKind::ALL.iter().map(|k| match reaches.iter().find(|(x, _)| x == k) {
                None => "no jobs",
                Some((_, Reach::Person)) => "yes",
                Some((_, Reach::Unknown)) => "unknown",
                Some((_, Reach::Nobody)) => "no",
            });
            AlertScope {
                account_id: account.clone(),
                region: region.clone(),
                reach: reach.map(str::to_owned).collect(),
                through: by_topic(here.iter().copied().filter(|p| p.reaches)),
                not_counted: here
                    .iter()
                    .filter(|p| !p.reaches && !p.failure_kinds.is_empty())
                    .map(|p| describe(p))
                    .collect(),
            }
        })
        .collect()
}

/// What the scopes' verdicts add up to.
#[derive(Debug, Default)]
struct Tally {
    /// Some scope's backup failures reach nobody.
    fail: bool,
    /// Some failure that must reach someone does not, or only maybe.
    warn: bool,
    /// Scopes whose every failure reaches a person.
    reaching: usize,
    /// One line per scope and shortfall.
    exceptions: Vec<String>,
}

fn tally(verdicts: &[Verdict<'_>]) -> Tally {
    let mut t = Tally::default();
    for (scope, reaches) in verdicts {
        for (level, text) in [
            (Reach::Nobody, "reach no confirmed subscriber"),
            (Reach::Unknown, "reach only topics whose subscribers were not collected"),
        ] {
            let kinds: Vec<&str> = reaches.iter().filter(|(_, r)| *r == level).map(|(k, _)| k.as_str()).collect();
            if !kinds.is_empty() {
                t.exceptions.push(format!("{}/{}: failed {} jobs {text}", scope.0, scope.1, kinds.join(", ")));
            }
        }
        t.fail |= reaches.iter().any(|&(k, r)| k == FailureKind::Backup && r == Reach::Nobody);
        t.warn |= reaches.iter().any(|&(_, r)| r != Reach::Person);
        t.reaching += usize::from(reaches.iter().all(|&(_, r)| r == Reach::Person));
    }
    t
}

/// The exception naming a failure path whose SNS topic does not count.
fn topic_exception(p: &AlertPath) -> String {
    let what = if p.reason == NOT_COLLECTED {
        format!("subscribers of topic {} not collected", p.destination)
    } else {
        format!("topic {} has {NO_CONFIRMED} ({} pending)", p.destination, p.pending_subscribers)
    };
    format!("{} {} in {}/{}: {what}", p.path_kind, p.path_name, p.account_id, p.region)
}

/// Failed backup, copy and restore jobs reach a confirmed subscriber in every scope in use.
pub(super) fn failure_detection(cx: &Inputs<'_>) -> CheckResult {
    let sources = Sources::of(cx);
    let paths = sources.paths();
    let scopes = &cx.acc.scopes;
    let Tally { fail, warn, reaching, exceptions } = tally(&verdicts(cx, &paths));
    let topic_problems: Vec<&AlertPath> =
        paths.iter().filter(|p| !p.failure_kinds.is_empty() && p.destination_kind == "sns" && !p.reaches).collect();
    let exceptions: BTreeSet<String> =
        exceptions.into_iter().chain(topic_problems.iter().map(|p| topic_exception(p))).collect();
    let collected = [
        ArtifactKind::MetricAlarmsSnapshot,
        ArtifactKind::EventRulesSnapshot,
        ArtifactKind::VaultNotificationsSnapshot,
    ]
    .into_iter()
    .any(|k| cx.collected(k));
    let status = match (collected && !scopes.is_empty(), fail, warn) {
        (false, ..) => CheckStatus::NoData,
        (true, true, _) => CheckStatus::Fail,
        (true, false, true) => CheckStatus::Warn,
        (true, false, false) => CheckStatus::Pass,
    };
    let pending = topic_problems.iter().filter(|p| p.reason != NOT_COLLECTED).count();
    let summary = if status == CheckStatus::NoData {
        "No CloudWatch alarm, EventBridge rule or vault notification snapshot from the period was collected \
         (describe-alarms, list-rules, get-backup-vault-notifications), or no backup job names its account and Region."
            .to_owned()
    } else {
        format!(
            "In {reaching} of {} account/Region pairs with backups, failed backup jobs (and copy and restore jobs \
             where they ran) reach a confirmed SNS subscriber through an alarm, an EventBridge rule or a vault \
             notification; {} at a topic without a confirmed subscriber.",
            scopes.len(),
            count(pending, "alert path ends", "alert paths end")
        )
    };
    let figures = BTreeMap::from([
        ("scopes", scopes.len().to_string()),
        ("reaching", reaching.to_string()),
        ("paths", paths.len().to_string()),
        ("paths_reaching", paths.iter().filter(|p| p.reaches).count().to_string()),
        ("paths_without_confirmed_subscriber", pending.to_string()),
        ("paths_subscribers_not_collected", (topic_problems.len() - pending).to_string()),
        (
            "paths_to_other_than_sns",
            paths.iter().filter(|p| !p.destination.is_empty() && p.destination_kind != "sns").count().to_string(),
        ),
    ]);
    CheckResult {
        resources: Vec::new(),
        id: CheckId::FailureDetection,
        title: "Failed jobs reach a person",
        status,
        summary,
        key_figure: format!("{reaching}/{} scopes reach a person", scopes.len()),
        figures,
        exceptions: exceptions.into_iter().collect(),
        records: sources.records() as u64,
        artifacts: prov_set(sources.provenance()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::artifact;
    use super::*;
    use crate::assess::MetricsAccumulator;
    use crate::config::Config;
    use crate::evidence::model::{Job, JobKind};
    use crate::evidence::{Evidence, Record};
    use crate::time::Timestamp;

    const ACCOUNT: &str = "111122223333";
    const REGION: &str = "eu-central-1";
    const TOPIC: &str = "arn:aws:sns:eu-central-1:111122223333:backup-alerts";

    fn ts(s: &str) -> Option<Timestamp> {
        Some(Timestamp::parse(s).unwrap())
    }

    fn job(kind: JobKind) -> Record {
        Record::Job(Job {
            kind: Some(kind),
            job_id: format!("{kind:?}"),
            state: Some("COMPLETED".into()),
            account_id: Some(ACCOUNT.into()),
            region: Some(REGION.into()),
            creation_date: ts("2026-07-05T01:00:00Z"),
            ..Job::default()
        })
    }

    fn rule(kinds: &str, targets: Option<&str>) -> EventRule {
        EventRule {
            rule_name: "backup-failed".into(),
            account_id: Some(ACCOUNT.into()),
            region: Some(REGION.into()),
            state: Some("ENABLED".into()),
            matches_backup_failures: Some(!kinds.is_empty()),
            failure_kinds: Some(kinds.into()),
            targets: targets.map(str::to_owned),
            observed_at: ts("2026-09-30T06:00:00Z"),
            ..EventRule::default()
        }
    }

    fn subscriber(confirmed: bool) -> SnsSubscription {
        SnsSubscription {
            topic_arn: TOPIC.into(),
            subscription_arn: Some(if confirmed { format!("{TOPIC}:1") } else { "PendingConfirmation".into() }),
            protocol: Some("email".into()),
            confirmed: Some(confirmed),
            observed_at: ts("2026-09-30T06:00:00Z"),
            ..SnsSubscription::default()
        }
    }

    /// The check and the paths over these jobs and evidence.
    fn detect(jobs: &[JobKind], ev: &Evidence) -> (CheckResult, Vec<AlertPath>) {
        let mut acc = MetricsAccumulator::new("2026-Q3".parse().unwrap());
        for kind in jobs {
            acc.observe(&job(*kind));
        }
        let config = Config::parse("").unwrap();
        let derived = acc.derive(&config, &ev.tagged_resources);
        let cx = Inputs { acc: &acc, derived: &derived, config: &config, ev };
        (failure_detection(&cx), alert_paths(&cx))
    }

    fn with_rule(rule: EventRule, subs: Vec<SnsSubscription>) -> Evidence {
        let mut ev = Evidence::empty();
        ev.artifacts.push(artifact(ArtifactKind::EventRulesSnapshot));
        ev.event_rules = vec![rule];
        ev.sns_subscriptions = subs;
        ev
    }

    #[test]
    fn a_scope_alerting_only_through_eventbridge_passes() {
        let ev = with_rule(rule("backup;copy;restore", Some(TOPIC)), vec![subscriber(true), subscriber(false)]);
        let (check, paths) = detect(&[JobKind::Backup, JobKind::Copy, JobKind::Restore], &ev);
        assert_eq!(check.status, CheckStatus::Pass, "{check:#?}");
        assert_eq!(check.key_figure, "1/1 scopes reach a person");
        assert!(check.exceptions.is_empty(), "{:?}", check.exceptions);
        assert_eq!(paths.len(), 1);
        let p = &paths[0];
        assert_eq!((p.path_kind.as_str(), p.destination_kind.as_str(), p.reaches), ("event_rule", "sns", true));
        assert_eq!((p.confirmed_subscribers, p.pending_subscribers), (1, 1));
    }

    #[test]
    fn a_topic_with_only_pending_subscribers_fails_and_is_named() {
        let ev = with_rule(rule("backup", Some(TOPIC)), vec![subscriber(false)]);
        let (check, paths) = detect(&[JobKind::Backup], &ev);
        assert_eq!(check.status, CheckStatus::Fail);
        assert_eq!(
            check.exceptions,
            [
                "111122223333/eu-central-1: failed backup jobs reach no confirmed subscriber".to_owned(),
                format!(
                    "event_rule backup-failed in 111122223333/eu-central-1: topic {TOPIC} has no confirmed subscriber (1 pending)"
                ),
            ]
        );
        assert_eq!(check.figures["paths_without_confirmed_subscriber"], "1");
        assert_eq!(paths[0].reason, "no confirmed subscriber (1 pending)");
    }

    #[test]
    fn a_vault_notification_without_failure_events_does_not_count() {
        let mut ev = Evidence::empty();
        ev.artifacts.push(artifact(ArtifactKind::VaultNotificationsSnapshot));
        let note = |events: &str| VaultNotification {
            vault_arn: "arn:aws:backup:eu-central-1:111122223333:backup-vault:core".into(),
            vault_name: Some("core".into()),
            account_id: Some(ACCOUNT.into()),
            region: Some(REGION.into()),
            sns_topic_arn: Some(TOPIC.into()),
            events: Some(events.into()),
            observed_at: ts("2026-09-30T06:00:00Z"),
            ..VaultNotification::default()
        };
        ev.sns_subscriptions = vec![subscriber(true)];
        // BACKUP_JOB_FAILED is deprecated: AWS sends nothing for it.
        ev.vault_notifications = vec![note("BACKUP_JOB_FAILED;BACKUP_JOB_STARTED")];
        let (check, paths) = detect(&[JobKind::Backup], &ev);
        assert_eq!(check.status, CheckStatus::Fail);
        assert_eq!(check.exceptions, ["111122223333/eu-central-1: failed backup jobs reach no confirmed subscriber"]);
        assert_eq!((paths[0].failure_kinds.as_str(), paths[0].reaches), ("", false));
        assert!(paths[0].reason.starts_with("notifies no job failure"), "{}", paths[0].reason);
        // BACKUP_JOB_COMPLETED carries failed jobs: it counts.
        ev.vault_notifications = vec![note("BACKUP_JOB_COMPLETED")];
        assert_eq!(detect(&[JobKind::Backup], &ev).0.status, CheckStatus::Pass);
    }

    #[test]
    fn a_target_other_than_an_sns_topic_does_not_count() {
        let lambda = "arn:aws:lambda:eu-central-1:111122223333:function:page-oncall";
        let ev = with_rule(rule("backup", Some(lambda)), vec![]);
        let (check, paths) = detect(&[JobKind::Backup], &ev);
        assert_eq!(check.status, CheckStatus::Fail);
        assert_eq!(check.figures["paths_to_other_than_sns"], "1");
        assert_eq!((paths[0].destination_kind.as_str(), paths[0].reaches), ("lambda", false));
        assert_eq!(paths[0].reason, "a lambda target is no evidence that a person is told");
    }

    #[test]
    fn uncollected_subscribers_keep_the_check_from_pass() {
        let ev = with_rule(rule("backup", Some(TOPIC)), vec![]);
        let (check, paths) = detect(&[JobKind::Backup], &ev);
        assert_eq!(check.status, CheckStatus::Warn);
        assert_eq!(
            check.exceptions,
            [
                "111122223333/eu-central-1: failed backup jobs reach only topics whose subscribers were not collected"
                    .to_owned(),
                format!(
                    "event_rule backup-failed in 111122223333/eu-central-1: subscribers of topic {TOPIC} not collected"
                ),
            ]
        );
        assert_eq!(paths[0].reason, "subscribers not collected");
    }

    #[test]
    fn a_topic_whose_listing_is_empty_has_no_subscriber_and_fails() {
        let mut ev = with_rule(rule("backup", Some(TOPIC)), vec![]);
        let mut listing = artifact(ArtifactKind::SnsSubscriptionsSnapshot);
        listing.records = 0;
        listing.artifact.origin =
            "collected/111122223333/eu-central-1/2026-09-30T06:00:00Z/list-subscriptions-by-topic-backup-alerts.json"
                .into();
        ev.artifacts.push(listing.clone());
        let (check, paths) = detect(&[JobKind::Backup], &ev);
        assert_eq!(check.status, CheckStatus::Fail);
        assert_eq!(paths[0].reason, "no confirmed subscriber (0 pending)");
        assert!(check.exceptions.contains(&format!(
            "event_rule backup-failed in 111122223333/eu-central-1: topic {TOPIC} has no confirmed subscriber (0 pending)"
        )));
        // The same listing filed under another account says nothing about this topic.
        listing.artifact.origin =
            "collected/444455556666/eu-central-1/2026-09-30T06:00:00Z/list-subscriptions-by-topic-backup-alerts.json"
                .into();
        ev.artifacts.pop();
        ev.artifacts.push(listing);
        assert_eq!(detect(&[JobKind::Backup], &ev).0.status, CheckStatus::Warn);
    }

    #[test]
    fn copy_and_restore_failures_count_only_where_such_jobs_ran() {
        let ev = with_rule(rule("backup", Some(TOPIC)), vec![subscriber(true)]);
        assert_eq!(detect(&[JobKind::Backup], &ev).0.status, CheckStatus::Pass);
        let (check, _) = detect(&[JobKind::Backup, JobKind::Copy, JobKind::Restore], &ev);
        assert_eq!(check.status, CheckStatus::Warn);
        assert_eq!(
            check.exceptions,
            ["111122223333/eu-central-1: failed copy, restore jobs reach no confirmed subscriber"]
        );
        // A disabled rule tells nobody.
        let mut off = rule("backup", Some(TOPIC));
        off.state = Some("DISABLED".into());
        let (check, paths) = detect(&[JobKind::Backup], &with_rule(off, vec![subscriber(true)]));
        assert_eq!((check.status, paths[0].reason.as_str()), (CheckStatus::Fail, "rule state DISABLED"));
    }

    #[test]
    fn an_alarm_reaches_through_the_actions_of_a_composite_firing_on_it() {
        let alarm = |name: &str| Alarm {
            alarm_arn: format!("arn:aws:cloudwatch:eu-central-1:111122223333:alarm:{name}"),
            alarm_name: Some(name.into()),
            account_id: Some(ACCOUNT.into()),
            region: Some(REGION.into()),
            actions_enabled: Some(true),
            observed_at: ts("2026-09-30T06:00:00Z"),
            ..Alarm::default()
        };
        let mut ev = Evidence::empty();
        ev.artifacts.push(artifact(ArtifactKind::MetricAlarmsSnapshot));
        ev.alarms = vec![
            Alarm { backup_metrics: Some("NumberOfBackupJobsFailed;NumberOfCopyJobsFailed".into()), ..alarm("failed") },
            Alarm {
                alarm_rule: Some(r#"ALARM("failed")"#.into()),
                alarm_actions: Some(TOPIC.into()),
                ..alarm("composite")
            },
        ];
        ev.sns_subscriptions = vec![subscriber(true)];
        let (check, paths) = detect(&[JobKind::Backup, JobKind::Copy], &ev);
        assert_eq!(check.status, CheckStatus::Pass, "{check:#?}");
        assert_eq!(paths.len(), 1, "the composite watches no metric itself: {paths:?}");
        assert_eq!((paths[0].path_name.as_str(), paths[0].failure_kinds.as_str()), ("failed", "backup;copy"));
        assert_eq!(paths[0].destination, TOPIC);
    }

    #[test]
    fn without_an_alert_snapshot_of_the_period_there_is_no_data() {
        let mut ev = with_rule(rule("backup", Some(TOPIC)), vec![subscriber(true)]);
        ev.artifacts.clear();
        assert_eq!(detect(&[JobKind::Backup], &ev).0.status, CheckStatus::NoData);
        // An empty rule listing from the period is evidence: nobody is told.
        let ev = with_rule(rule("", None), vec![]);
        assert_eq!(detect(&[JobKind::Backup], &ev).0.status, CheckStatus::Fail);
    }

    #[test]
    fn the_report_rows_say_per_scope_and_kind_whether_and_through_what_failures_reach() {
        let lambda = "arn:aws:lambda:eu-central-1:111122223333:function:ticket";
        let ev = with_rule(rule("backup;restore", Some(&format!("{TOPIC};{lambda}"))), vec![subscriber(true)]);
        let mut acc = MetricsAccumulator::new("2026-Q3".parse().unwrap());
        for kind in [JobKind::Backup, JobKind::Copy] {
            acc.observe(&job(kind));
        }
        let config = Config::parse("").unwrap();
        let derived = acc.derive(&config, &ev.tagged_resources);
        let cx = Inputs { acc: &acc, derived: &derived, config: &config, ev: &ev };
        let scopes = alert_scopes(&cx, &alert_paths(&cx));
        assert_eq!(scopes.len(), 1);
        assert_eq!(scopes[0].reach, ["yes", "no", "no jobs"]);
        assert_eq!(scopes[0].through, ["backup-alerts (1 confirmed) from EventBridge rules backup-failed"]);
        assert_eq!(
            scopes[0].not_counted,
            ["event_rule backup-failed → ticket (a lambda target is no evidence that a person is told)"]
        );
    }

    #[test]
    fn the_csv_header_names_the_fields_in_order() {
        let row = AlertPath { account_id: "a".into(), reaches: true, ..AlertPath::default() };
        let text = String::from_utf8(alert_paths_csv(&[row])).unwrap();
        let mut w = csv::Writer::from_writer(Vec::new());
        w.serialize(AlertPath::default()).unwrap();
        let serde_header = String::from_utf8(w.into_inner().unwrap()).unwrap();
        assert_eq!(text.lines().next(), serde_header.lines().next());
        assert_eq!(text.lines().nth(1), Some("a,,,,,,,0,0,true,"));
    }
}
