//! The detection check end to end: alert paths as the AWS CLI prints them (EventBridge rules
//! and their targets, vault notifications, SNS subscriptions), the verdict in `findings.json`
//! and the rows of `evidence/alert_paths.csv`; and on the committed sample quarter, the
//! exceptions name exactly the planted problem.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::util::{build_q3, col, read_csv, stderr};

const SCOPE: &str = "collected/111122223333/eu-central-1/2026-09-30T06:00:00Z";
const TOPIC: &str = "arn:aws:sns:eu-central-1:111122223333:backup-alerts";

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

/// The `failure_detection` check of a built package.
fn check(pkg: &Path) -> Value {
    let findings: Value = serde_json::from_slice(&std::fs::read(pkg.join("findings.json")).unwrap()).unwrap();
    findings["checks"].as_array().unwrap().iter().find(|c| c["id"] == "failure_detection").unwrap().clone()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|e| e.as_str().unwrap().to_owned()).collect()
}

/// One backup job in 111122223333/eu-central-1, alerting only through an EventBridge rule
/// on failed jobs whose targets are an SNS topic (with `subscription_arn` as its one
/// subscription's ARN) and a Lambda function.
fn eventbridge_only(dir: &Path, subscription_arn: &str) {
    let scope = dir.join(SCOPE);
    std::fs::create_dir_all(&scope).unwrap();
    let pattern = r#"{\"source\":[\"aws.backup\"],\"detail-type\":[\"Backup Job State Change\"],\"detail\":{\"state\":[\"FAILED\"]}}"#;
    let files = [
        (
            "list-backup-jobs.json",
            r#"{"BackupJobs":[{"BackupJobId":"J1","State":"COMPLETED","AccountId":"111122223333",
                "ResourceArn":"arn:aws:rds:eu-central-1:111122223333:db:ledger","ResourceType":"RDS",
                "BackupVaultArn":"arn:aws:backup:eu-central-1:111122223333:backup-vault:core",
                "CreationDate":"2026-08-01T01:00:00Z","CompletionDate":"2026-08-01T01:30:00Z"}]}"#
                .to_owned(),
        ),
        (
            "list-rules.json",
            format!(
                r#"{{"Rules":[{{"Name":"backup-failed","Arn":"arn:aws:events:eu-central-1:111122223333:rule/backup-failed",
                "EventPattern":"{pattern}","State":"ENABLED","EventBusName":"default"}}]}}"#
            ),
        ),
        (
            "list-targets-by-rule-backup-failed.json",
            format!(
                r#"{{"Targets":[{{"Id":"1","Arn":"{TOPIC}"}},
                {{"Id":"2","Arn":"arn:aws:lambda:eu-central-1:111122223333:function:ticket"}}]}}"#
            ),
        ),
        (
            "list-subscriptions-by-topic-backup-alerts.json",
            format!(
                r#"{{"Subscriptions":[{{"SubscriptionArn":"{subscription_arn}","Owner":"111122223333",
                "Protocol":"email","Endpoint":"oncall@example.com","TopicArn":"{TOPIC}"}}]}}"#
            ),
        ),
    ];
    for (name, text) in files {
        std::fs::write(scope.join(name), text).unwrap();
    }
}

#[test]
fn a_scope_alerting_only_through_eventbridge_passes_and_a_pending_topic_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("confirmed");
    eventbridge_only(&input, &format!("{TOPIC}:0d3c"));
    let pkg = tmp.path().join("pkg-confirmed");
    let o = build_q3(&input, &pkg, &[]);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
    let c = check(&pkg);
    assert_eq!(c["status"], "pass", "{c}");
    let (h, rows) = read_csv(&pkg.join("evidence/alert_paths.csv"));
    assert_eq!(rows.len(), 2, "{rows:?}");
    let kinds: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|r| (col(&h, r, "destination_kind"), col(&h, r, "reaches"), col(&h, r, "failure_kinds")))
        .collect();
    assert_eq!(kinds, [("lambda", "false", "backup"), ("sns", "true", "backup")]);
    assert_eq!(col(&h, &rows[0], "reason"), "a lambda target is no evidence that a person is told");

    let input = tmp.path().join("pending");
    eventbridge_only(&input, "PendingConfirmation");
    let pkg = tmp.path().join("pkg-pending");
    let o = build_q3(&input, &pkg, &[]);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
    let c = check(&pkg);
    assert_eq!(c["status"], "fail", "{c}");
    assert_eq!(
        strings(&c["exceptions"]),
        [
            "111122223333/eu-central-1: failed backup jobs reach no confirmed subscriber".to_owned(),
            format!(
                "event_rule backup-failed in 111122223333/eu-central-1: topic {TOPIC} has no confirmed subscriber (1 pending)"
            ),
        ]
    );
    // Art. 10(2) rests on this check now, not on the alarms (there is no alarm snapshot at all).
    let findings: Value = serde_json::from_slice(&std::fs::read(pkg.join("findings.json")).unwrap()).unwrap();
    let req = findings["requirements"].as_array().unwrap().iter().find(|r| r["id"] == "dora-10-2").unwrap();
    assert_eq!(req["status"], "not_satisfied", "{req}");
}

/// On the committed sample quarter the check fails and names exactly the planted Region and
/// its topic, as `ground-truth.json` records them; every other Region reaches a person.
#[test]
fn on_the_sample_quarter_failure_detection_names_exactly_the_planted_region() {
    let truth: Value = serde_json::from_slice(&std::fs::read(samples().join("ground-truth.json")).unwrap()).unwrap();
    let planted = truth["alert_paths"]["paths_to_topic_without_confirmed_subscriber"].as_array().unwrap();
    assert_eq!(planted.len(), 1, "{planted:?}");
    let (account, region) = (planted[0]["account"].as_str().unwrap(), planted[0]["region"].as_str().unwrap());
    let (path, topic) = (planted[0]["path"].as_str().unwrap(), planted[0]["topic"].as_str().unwrap());

    let tmp = tempfile::tempdir().unwrap();
    let pkg = tmp.path().join("pkg");
    let config = samples().join("dora-evidence.toml");
    let o = build_q3(&samples().join("input"), &pkg, &["--config", config.to_str().unwrap()]);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
    let c = check(&pkg);
    assert_eq!(c["status"], "fail", "{c}");
    assert_eq!(
        strings(&c["exceptions"]),
        [
            format!("{account}/{region}: failed backup, restore jobs reach no confirmed subscriber"),
            format!("{path} in {account}/{region}: topic {topic} has no confirmed subscriber (1 pending)"),
        ]
    );
    let reaching = truth["alert_paths"]["scopes"].as_array().unwrap().iter();
    let reaching = reaching.filter(|s| s["reaches_confirmed_subscriber"] == true).count();
    assert_eq!(c["figures"]["reaching"], reaching.to_string());
    assert_eq!(c["figures"]["scopes"], "6");

    // The CSV shows every path; the Lambda target is there, not counted.
    let (h, rows) = read_csv(&pkg.join("evidence/alert_paths.csv"));
    for lambda in strings(&truth["alert_paths"]["non_sns_targets_not_counted"]) {
        let (rule, arn) = lambda.split_once(": ").unwrap();
        let row = rows.iter().find(|r| col(&h, r, "path_name") == rule && col(&h, r, "destination") == arn).unwrap();
        assert_eq!(col(&h, row, "reaches"), "false");
    }
    let reaching_rows = rows.iter().filter(|r| col(&h, r, "reaches") == "true");
    let scopes: std::collections::BTreeSet<(&str, &str)> =
        reaching_rows.map(|r| (col(&h, r, "account_id"), col(&h, r, "region"))).collect();
    assert_eq!(scopes.len(), reaching);
    assert!(!scopes.contains(&(account, region)));
}
