//! The alert paths of the estate as the AWS CLI prints them: `get-backup-vault-notifications`
//! per vault that notifies, `list-rules` (with `list-targets-by-rule-<rule>` for each rule on
//! `aws.backup` events) and `list-subscriptions-by-topic-<topic>` for every SNS topic an alarm,
//! rule or notification names — with endpoints masked, as `collect` stores them. Written once
//! per account and Region in the first snapshot of the quarter, like the plans: `collect`
//! stores a document again only when it changes.
//!
//! Planted: shared-services eu-west-1 alerts only through an EventBridge rule whose topic has
//! a subscription still pending confirmation, so its failed jobs reach nobody. The other
//! Regions reach a confirmed subscriber: core-banking and payments eu-west-1 (whose alarm has
//! no action) through vault notifications, payments eu-central-1 and shared-services
//! eu-central-1 (which has no alarm) through EventBridge rules.

use std::io;

use serde::Serialize;
use serde_json::{Value, json};

use super::model::{ACCOUNTS, Model, REGIONS};
use super::out::Out;
use super::quarter::{Planted, Quarter};
use super::snapshots::ALARMS;

/// Vault notifications: (account, Region, events) for every vault there, to the scope's
/// `nordhafen-backup-alerts` topic.
pub(crate) const VAULT_NOTIFICATIONS: &[(usize, usize, &[&str])] = &[
    (0, 0, &["BACKUP_JOB_COMPLETED", "COPY_JOB_FAILED", "RESTORE_JOB_COMPLETED"]),
    (0, 1, &["BACKUP_JOB_COMPLETED", "COPY_JOB_FAILED", "RESTORE_JOB_COMPLETED"]),
    (1, 1, &["BACKUP_JOB_COMPLETED", "COPY_JOB_FAILED", "RESTORE_JOB_COMPLETED", "RESTORE_JOB_STARTED"]),
];

/// EventBridge rules on failed AWS Backup jobs: (account, Region, rule, topic, also a Lambda
/// target).
pub(crate) const RULES: &[(usize, usize, &str, &str, bool)] = &[
    (1, 0, "nordhafen-backup-job-failed", "nordhafen-backup-alerts", false),
    (2, 0, "nordhafen-platform-backup-failed", "nordhafen-platform-alerts", true),
    (2, 1, "nordhafen-platform-backup-failed", "nordhafen-platform-alerts", false),
];

/// A subscription: protocol, endpoint (masked), confirmed.
type Sub = (&'static str, &'static str, bool);

/// The topics' subscriptions: (account, Region, topic, subscriptions). Every topic an alarm,
/// rule or notification above names is here.
pub(crate) const TOPICS: &[(usize, usize, &str, &[Sub])] = &[
    (
        0,
        0,
        "nordhafen-backup-alerts",
        &[("email", "b***@nordhafen.example", true), ("https", "https://events.pagerduty.com", true)],
    ),
    (0, 1, "nordhafen-backup-alerts", &[("email", "b***@nordhafen.example", true)]),
    (1, 0, "nordhafen-backup-alerts", &[("email", "p***@nordhafen.example", true)]),
    (1, 1, "nordhafen-backup-alerts", &[("email", "p***@nordhafen.example", true)]),
    (2, 0, "nordhafen-platform-alerts", &[("email", "p***@nordhafen.example", true)]),
    (2, 1, "nordhafen-platform-alerts", &[("email", "p***@nordhafen.example", false)]),
];

/// The event pattern of every rule above: failed backup and copy jobs (`state`) and failed
/// restore jobs (`status`).
const FAILED_JOBS_PATTERN: &str = r#"{"source":["aws.backup"],"detail-type":["Backup Job State Change","Copy Job State Change","Restore Job State Change"],"$or":[{"detail":{"state":["FAILED","ABORTED","EXPIRED"]}},{"detail":{"status":["FAILED"]}}]}"#;

/// The Lambda function some rules also target (no evidence that a person is told).
fn ticket_function(acct: usize, region: usize) -> String {
    format!("arn:aws:lambda:{}:{}:function:nordhafen-ticket-from-event", REGIONS[region], ACCOUNTS[acct].id)
}

fn topic_arn(acct: usize, region: usize, name: &str) -> String {
    format!("arn:aws:sns:{}:{}:{name}", REGIONS[region], ACCOUNTS[acct].id)
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Notifications<'a> {
    backup_vault_name: &'a str,
    backup_vault_arn: &'a str,
    #[serde(rename = "SNSTopicArn")]
    sns_topic_arn: String,
    backup_vault_events: &'a [&'a str],
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ApiRule {
    name: String,
    arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    event_pattern: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    schedule_expression: Option<&'static str>,
    state: &'static str,
    description: &'static str,
    event_bus_name: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Target {
    id: String,
    arn: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Subscription<'a> {
    subscription_arn: String,
    owner: &'a str,
    protocol: &'a str,
    endpoint: &'a str,
    topic_arn: String,
}

/// Writes the alert paths of account `acct` in Region `region` into the snapshot folder `dir`.
pub(crate) fn write_alert_paths(m: &Model, out: &mut Out, dir: &str, acct: usize, region: usize) -> io::Result<()> {
    for &(_, _, events) in VAULT_NOTIFICATIONS.iter().filter(|n| (n.0, n.1) == (acct, region)) {
        for v in m.vaults.iter().filter(|v| (v.account, v.region) == (acct, region)) {
            let doc = Notifications {
                backup_vault_name: &v.name,
                backup_vault_arn: &v.arn,
                sns_topic_arn: topic_arn(acct, region, "nordhafen-backup-alerts"),
                backup_vault_events: events,
            };
            out.write_json(&format!("{dir}/get-backup-vault-notifications-{}.json", v.name), &doc)?;
        }
    }
    write_rules(out, dir, acct, region)?;
    for &(_, _, topic, subs) in TOPICS.iter().filter(|t| (t.0, t.1) == (acct, region)) {
        let arn = topic_arn(acct, region, topic);
        let subscriptions: Vec<Subscription<'_>> = subs
            .iter()
            .enumerate()
            .map(|(i, &(protocol, endpoint, confirmed))| Subscription {
                // A pending subscription has no ARN of its own yet.
                subscription_arn: if confirmed || !m.quarter.has(Planted::PendingSubscription) {
                    format!("{arn}:5f0c{i}e1a-7b2d-4c3e-9f4a-{:012x}", acct * 100 + region * 10 + i)
                } else {
                    "PendingConfirmation".into()
                },
                owner: ACCOUNTS[acct].id,
                protocol,
                endpoint,
                topic_arn: arn.clone(),
            })
            .collect();
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct List<'a> {
            subscriptions: Vec<Subscription<'a>>,
        }
        out.write_json(&format!("{dir}/list-subscriptions-by-topic-{topic}.json"), &List { subscriptions })?;
    }
    Ok(())
}

/// `list-rules` (every scope; core-banking eu-central-1 also has a scheduled rule that is no
/// alert path) and the targets of each rule on `aws.backup` events.
fn write_rules(out: &mut Out, dir: &str, acct: usize, region: usize) -> io::Result<()> {
    let (id, region_name) = (ACCOUNTS[acct].id, REGIONS[region]);
    let rule_arn = |name: &str| format!("arn:aws:events:{region_name}:{id}:rule/{name}");
    let mut rules: Vec<ApiRule> = Vec::new();
    if (acct, region) == (0, 0) {
        rules.push(ApiRule {
            name: "nordhafen-nightly-report".into(),
            arn: rule_arn("nordhafen-nightly-report"),
            event_pattern: None,
            schedule_expression: Some("cron(0 5 * * ? *)"),
            state: "ENABLED",
            description: "Starts the nightly reconciliation report",
            event_bus_name: "default",
        });
    }
    for &(_, _, name, topic, lambda) in RULES.iter().filter(|r| (r.0, r.1) == (acct, region)) {
        rules.push(ApiRule {
            name: name.into(),
            arn: rule_arn(name),
            event_pattern: Some(FAILED_JOBS_PATTERN),
            schedule_expression: None,
            state: "ENABLED",
            description: "Failed AWS Backup jobs to the on-call topic",
            event_bus_name: "default",
        });
        let mut targets = vec![Target { id: "on-call".into(), arn: topic_arn(acct, region, topic) }];
        if lambda {
            targets.push(Target { id: "ticket".into(), arn: ticket_function(acct, region) });
        }
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Targets {
            targets: Vec<Target>,
        }
        out.write_json(&format!("{dir}/list-targets-by-rule-{name}.json"), &Targets { targets })?;
    }
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Rules {
        rules: Vec<ApiRule>,
    }
    out.write_json(&format!("{dir}/list-rules.json"), &Rules { rules })
}

/// The SNS topics each account and Region's alert paths name: (path, topic name). Alarms count
/// when they watch a failed-jobs metric and have an action.
fn paths_of(acct: usize, region: usize) -> Vec<(String, &'static str)> {
    let here = |a: usize, r: usize| (a, r) == (acct, region);
    let alarms = ALARMS
        .iter()
        .filter(|a| here(a.0, a.1) && a.4 == "AWS/Backup" && a.5)
        .map(|a| (format!("alarm {}", a.2), "nordhafen-backup-alerts"));
    let notes = VAULT_NOTIFICATIONS
        .iter()
        .filter(|n| here(n.0, n.1))
        .map(|_| ("vault_notification (every vault)".to_owned(), "nordhafen-backup-alerts"));
    let rules = RULES.iter().filter(|r| here(r.0, r.1)).map(|r| (format!("event_rule {}", r.2), r.3));
    alarms.chain(notes).chain(rules).collect()
}

/// `alert_paths` of `ground-truth.json`: per account and Region, its alert paths and whether
/// one reaches a confirmed subscriber; the topics without one, with their pending
/// subscriptions.
pub(crate) fn truth(q: Quarter) -> Value {
    // Before the planted pending subscription (2026-Q2) every subscription is confirmed.
    let confirmed = |s: &Sub| s.2 || !q.has(Planted::PendingSubscription);
    let subscribers = |acct: usize, region: usize, topic: &str| -> (usize, usize) {
        let subs = TOPICS.iter().find(|t| (t.0, t.1, t.2) == (acct, region, topic)).map_or(&[][..], |t| t.3);
        (subs.iter().filter(|s| confirmed(s)).count(), subs.iter().filter(|s| !confirmed(s)).count())
    };
    let mut scopes = Vec::new();
    let mut unconfirmed = Vec::new();
    for (acct, account) in ACCOUNTS.iter().enumerate() {
        for (region, region_name) in REGIONS.iter().enumerate() {
            let paths = paths_of(acct, region);
            let reaches = paths.iter().any(|(_, topic)| subscribers(acct, region, topic).0 > 0);
            for (path, topic) in &paths {
                let (confirmed, pending) = subscribers(acct, region, topic);
                if confirmed == 0 {
                    unconfirmed.push(json!({"account": account.id, "region": region_name, "path": path,
                        "topic": topic_arn(acct, region, topic), "pending": pending}));
                }
            }
            let paths: Vec<&str> = paths.iter().map(|(p, _)| p.as_str()).collect();
            scopes.push(json!({"account": account.id, "region": region_name, "paths": paths,
                "reaches_confirmed_subscriber": reaches}));
        }
    }
    let lambdas: Vec<String> =
        RULES.iter().filter(|r| r.4).map(|r| format!("{}: {}", r.2, ticket_function(r.0, r.1))).collect();
    json!({ "scopes": scopes, "paths_to_topic_without_confirmed_subscriber": unconfirmed,
            "non_sns_targets_not_counted": lambdas })
}
