//! The backup policy check end to end: backup plans, selections and the tag inventory as the
//! AWS CLI writes them, targets and `[policy]` from the config, the verdict in `findings.json`.

use std::path::Path;

use serde_json::Value;

use super::util::{build_q3, read_csv, stderr};

const SCOPE: &str = "collected/111122223333/eu-central-1/2026-09-30T06:00:00Z";
const LEDGER: &str = "arn:aws:rds:eu-central-1:111122223333:db:ledger";
const ORDERS: &str = "arn:aws:rds:eu-central-1:111122223333:db:orders";
const VOLUME: &str = "arn:aws:ec2:eu-central-1:111122223333:volume/vol-0a1b2c3d";
/// In a Region whose plans were not collected.
const REPLICA: &str = "arn:aws:rds:eu-west-1:111122223333:db:ledger-replica";

/// One plan (daily at 03:00 Berlin, kept 35 days, copied to eu-west-1), a selection by tag
/// `tier=gold` that leaves out EBS volumes, one by condition `tier=platinum`, and three
/// resources: a gold database, a platinum database, a gold volume, and a gold database in
/// eu-west-1, whose plans were not collected (and a backup job, so that the quarter is not empty).
fn quarter(dir: &Path) {
    let scope = dir.join(SCOPE);
    std::fs::create_dir_all(&scope).unwrap();
    let tagged =
        |arn: &str, tier: &str| format!(r#"{{"ResourceARN":"{arn}","Tags":[{{"Key":"tier","Value":"{tier}"}}]}}"#);
    let tags = [tagged(LEDGER, "gold"), tagged(ORDERS, "platinum"), tagged(VOLUME, "gold"), tagged(REPLICA, "gold")];
    let tags = tags.join(",");
    let files = [
        ("get-resources.json", format!(r#"{{"ResourceTagMappingList":[{tags}]}}"#)),
        (
            "list-backup-jobs.json",
            format!(
                r#"{{"BackupJobs":[{{"BackupJobId":"J1","State":"COMPLETED","ResourceArn":"{LEDGER}","ResourceType":"RDS",
                "CreationDate":"2026-08-01T01:00:00Z","CompletionDate":"2026-08-01T01:30:00Z"}}]}}"#
            ),
        ),
        (
            "get-backup-plan-daily.json",
            r#"{"BackupPlan":{"BackupPlanName":"daily","Rules":[{"RuleName":"daily-0300","RuleId":"r-1",
                "TargetBackupVaultName":"core","ScheduleExpression":"cron(0 3 ? * * *)",
                "ScheduleExpressionTimezone":"Europe/Berlin","Lifecycle":{"DeleteAfterDays":35},
                "CopyActions":[{"DestinationBackupVaultArn":"arn:aws:backup:eu-west-1:111122223333:backup-vault:dr"}]}]},
                "BackupPlanId":"p-daily","VersionId":"v1",
                "BackupPlanArn":"arn:aws:backup:eu-central-1:111122223333:backup-plan:p-daily"}"#
                .to_owned(),
        ),
        (
            "get-backup-selection-gold.json",
            r#"{"BackupSelection":{"SelectionName":"gold","IamRoleArn":"arn:aws:iam::111122223333:role/backup",
                "Resources":[],"NotResources":["arn:aws:ec2:*:*:volume/*"],
                "ListOfTags":[{"ConditionType":"STRINGEQUALS","ConditionKey":"tier","ConditionValue":"gold"}]},
                "SelectionId":"s-gold","BackupPlanId":"p-daily"}"#
                .to_owned(),
        ),
        (
            "get-backup-selection-platinum.json",
            r#"{"BackupSelection":{"SelectionName":"platinum","IamRoleArn":"arn:aws:iam::111122223333:role/backup",
                "Resources":["arn:aws:rds:*:*:db:*"],
                "Conditions":{"StringEquals":[{"ConditionKey":"aws:ResourceTag/tier","ConditionValue":"platinum"}]}},
                "SelectionId":"s-platinum","BackupPlanId":"p-daily"}"#
                .to_owned(),
        ),
    ];
    for (name, body) in files {
        std::fs::write(scope.join(name), body).unwrap();
    }
}

/// The `policy_covers_targets` entry of `findings.json` built with `config`.
fn check(input: &Path, out: &Path, config: &str) -> Value {
    let config_path = out.with_extension("toml");
    std::fs::write(&config_path, config).unwrap();
    let o = build_q3(input, out, &["--config", config_path.to_str().unwrap()]);
    assert!(o.status.code().is_some_and(|c| c <= 1), "{}", stderr(&o));
    let findings: Value = serde_json::from_slice(&std::fs::read(out.join("findings.json")).unwrap()).unwrap();
    let checks = findings["checks"].as_array().unwrap();
    checks.iter().find(|c| c["id"] == "policy_covers_targets").unwrap().clone()
}

#[test]
fn a_resource_in_no_plan_and_a_plan_slower_than_the_rpo_fail_the_policy_check() {
    let tmp = tempfile::tempdir().unwrap();
    quarter(&tmp.path().join("in"));
    let config = r#"
[[target]]
name = "platinum"
tag = "tier=platinum"
rpo_hours = 4

[[target]]
name = "gold"
tag = "tier=gold"
rpo_hours = 24

[policy]
min_retention_days = 30
copy_to = ["other_region"]
"#;
    let c = check(&tmp.path().join("in"), &tmp.path().join("pkg"), config);
    assert_eq!(c["status"], "fail", "{c}");
    assert_eq!(c["figures"]["targeted"], "4");
    assert_eq!(c["figures"]["without_plan_evidence"], "1");
    assert_eq!(c["figures"]["meets"], "1", "the gold database: daily, 24 h apart all summer, kept 35 days, copied");
    let exceptions: Vec<&str> = c["exceptions"].as_array().unwrap().iter().map(|e| e.as_str().unwrap()).collect();
    assert_eq!(
        exceptions,
        [
            format!("{VOLUME} in no backup plan"),
            format!("{ORDERS} most frequent rule daily/daily-0300 runs at most every 24.0 h > RPO 4 h"),
            format!("{REPLICA} no backup plan listing of its account and Region from the period"),
        ]
    );

    // backup_policy.csv says the same per resource, with the rules and their cadence.
    let pkg = tmp.path().join("pkg");
    let (h, rows) = read_csv(&pkg.join("backup_policy.csv"));
    let col = |r: &[String], c: &str| r[h.iter().position(|x| x == c).unwrap()].clone();
    let by_arn = |arn: &str| rows.iter().find(|r| col(r, "resource_arn") == arn).unwrap().clone();
    assert_eq!(rows.len(), 4);
    let orders = by_arn(ORDERS);
    assert_eq!(
        ["rules", "longest_gap_hours", "rpo_hours", "verdict"].map(|c| col(&orders, c)),
        ["daily/daily-0300", "24.0", "4.0", "rpo_unmet"]
    );
    assert_eq!(col(&by_arn(VOLUME), "verdict"), "no_plan");
    assert_eq!(col(&by_arn(REPLICA), "verdict"), "unknown");
    let (rh, rules) = read_csv(&pkg.join("backup_policy_rules.csv"));
    assert!(rh.contains(&"runs".to_owned()) && !rules.is_empty());
    // The report's "Backup policy" section names the resource short of its RPO.
    let text = std::process::Command::new("pdftotext").arg(pkg.join("report.pdf")).arg("-").output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    let section = &text[text.find("Backup policy\n").expect("a Backup policy section")..];
    assert!(section.contains("RPO not met"), "{section}");
}

#[test]
fn retention_and_copies_short_of_the_policy_warn() {
    let tmp = tempfile::tempdir().unwrap();
    quarter(&tmp.path().join("in"));
    let config = r#"
[[target]]
name = "databases"
arn = "arn:aws:rds:*:*:db:ledger"
rpo_hours = 24

[policy]
min_retention_days = 60
copy_to = ["other_region", "other_account"]
"#;
    let c = check(&tmp.path().join("in"), &tmp.path().join("pkg"), config);
    assert_eq!(c["status"], "warn", "{c}");
    assert_eq!(
        c["exceptions"][0],
        format!("{LEDGER} kept at most 35 days < 60 days; no copy to another account").as_str()
    );
}
