//! `collect` on the policy and alert-path calls, each paginated and each refused once: every
//! page of `ListBackupSelections`, `ListTargetsByRule` and `ListSubscriptionsByTopic` is read
//! into one AWS CLI-shaped document, and a 403 on `GetBackupPlan`, `ListBackupSelections`,
//! `GetBackupSelection`, `GetBackupVaultNotifications`, `GetBackupVaultAccessPolicy`,
//! `ListRules`, `ListTargetsByRule` or `ListSubscriptionsByTopic` is reported naming that action
//! (what to grant), while the calls after it still run.

use serde_json::{Value, json};

use super::collect::{
    ACCOUNT, assert_refusal_named, aws_env, files_under, sns_member, sns_refused, sns_request, sns_subscriptions,
};
use super::replay::{Replay, Req, Resp};
use super::util::{bin, stderr, stdout};

fn denied(action: &str) -> Resp {
    let message = format!("User: arn:aws:iam::{ACCOUNT}:user/collector is not authorized to perform: {action}");
    Resp::error(403, "AccessDeniedException", &message)
}

/// AWS Backup (REST): three plans — `plan-a` refused, `plan-b` with two pages of selections
/// (`sel-2` refused), `plan-c` whose selections are refused — and a vault whose notifications
/// and access policy are refused. eu-central-1 has no vaults and no plans.
fn backup(r: &Req) -> Resp {
    let region = r.region.as_str();
    let west = region == "eu-west-1";
    let plan_item = |id: &str| {
        json!({"BackupPlanArn": format!("arn:aws:backup:{region}:{ACCOUNT}:backup-plan:{id}"), "BackupPlanId": id,
               "BackupPlanName": id, "VersionId": format!("v-{id}"), "CreationDate": 1768035600.0})
    };
    let selection = |id: &str| json!({"SelectionId": id, "SelectionName": id, "BackupPlanId": "plan-b"});
    let page = |r: &Req| r.query.get("nextToken").cloned();
    match (r.method.as_str(), r.path.as_str()) {
        ("GET", "/backup-vaults") if west => Resp::json(
            json!({"BackupVaultList": [{"BackupVaultName": "central",
                "BackupVaultArn": format!("arn:aws:backup:{region}:{ACCOUNT}:backup-vault:central")}]})
            .to_string(),
        ),
        ("GET", "/backup-vaults/central/notification-configuration") => denied("backup:GetBackupVaultNotifications"),
        ("GET", "/backup-vaults/central/access-policy") => denied("backup:GetBackupVaultAccessPolicy"),
        ("GET", "/backup/plans") if west => Resp::json(
            json!({"BackupPlansList": [plan_item("plan-a"), plan_item("plan-b"), plan_item("plan-c")]}).to_string(),
        ),
        ("GET", "/backup/plans/plan-a") => denied("backup:GetBackupPlan"),
        ("GET", "/backup/plans/plan-b" | "/backup/plans/plan-c") => Resp::json(
            json!({"BackupPlan": {"BackupPlanName": "b", "Rules": [{"RuleName": "daily", "RuleId": "r1",
                "TargetBackupVaultName": "central", "ScheduleExpression": "cron(0 3 ? * * *)"}]},
                "BackupPlanId": r.path.rsplit('/').next().unwrap(), "VersionId": "v"})
            .to_string(),
        ),
        ("GET", "/backup/plans/plan-b/selections") => match page(r).as_deref() {
            None => Resp::json(json!({"BackupSelectionsList": [selection("sel-1")], "NextToken": "sel-2"}).to_string()),
            Some("sel-2") => Resp::json(json!({"BackupSelectionsList": [selection("sel-2")]}).to_string()),
            Some(other) => Resp::error(400, "InvalidParameterValueException", &format!("bad token {other}")),
        },
        ("GET", "/backup/plans/plan-c/selections") => denied("backup:ListBackupSelections"),
        ("GET", "/backup/plans/plan-b/selections/sel-1") => Resp::json(
            json!({"BackupSelection": {"SelectionName": "sel-1", "IamRoleArn": "arn:aws:iam::1:role/b",
                "Resources": ["*"]}, "SelectionId": "sel-1", "BackupPlanId": "plan-b"})
            .to_string(),
        ),
        ("GET", "/backup/plans/plan-b/selections/sel-2") => denied("backup:GetBackupSelection"),
        ("GET", "/backup-vaults") => Resp::json(r#"{"BackupVaultList":[]}"#),
        ("GET", "/backup/plans") => Resp::json(r#"{"BackupPlansList":[]}"#),
        (m, p) => Resp::error(404, "UnknownOperationException", &format!("replay has no answer for {m} {p}")),
    }
}

/// EventBridge: eu-west-1 has two rules on `aws.backup`; `backup-failed`'s targets come on two
/// pages, `copy-failed`'s are refused. eu-central-1 refuses `ListRules`.
fn events(r: &Req) -> Resp {
    let region = r.region.as_str();
    let body: Value = serde_json::from_str(&r.body).unwrap_or_default();
    let topic = |name: &str| format!("arn:aws:sns:{region}:{ACCOUNT}:{name}");
    let rule = |name: &str| {
        json!({"Name": name, "Arn": format!("arn:aws:events:{region}:{ACCOUNT}:rule/{name}"), "State": "ENABLED",
               "EventPattern": json!({"source": ["aws.backup"], "detail": {"state": ["FAILED"]}}).to_string()})
    };
    match (r.target.as_str(), body["Rule"].as_str(), body["NextToken"].as_str()) {
        ("AWSEvents.ListRules", ..) if region == "eu-central-1" => denied("events:ListRules"),
        ("AWSEvents.ListRules", ..) => {
            Resp::json(json!({"Rules": [rule("backup-failed"), rule("copy-failed")]}).to_string())
        }
        ("AWSEvents.ListTargetsByRule", Some("backup-failed"), None) => {
            Resp::json(json!({"Targets": [{"Id": "a", "Arn": topic("team-a")}], "NextToken": "targets-2"}).to_string())
        }
        ("AWSEvents.ListTargetsByRule", Some("backup-failed"), Some("targets-2")) => {
            Resp::json(json!({"Targets": [{"Id": "b", "Arn": topic("team-b")}]}).to_string())
        }
        ("AWSEvents.ListTargetsByRule", Some("copy-failed"), _) => denied("events:ListTargetsByRule"),
        (target, rule, token) => {
            Resp::error(400, "ValidationException", &format!("replay has no answer for {target} {rule:?} {token:?}"))
        }
    }
}

/// SNS (AWS Query, XML): `team-a` has two subscriptions on two pages; `team-b` is refused.
fn sns(r: &Req) -> Resp {
    let (topic, token) = sns_request(r);
    if topic.ends_with(":team-b") {
        return sns_refused(&topic);
    }
    let member = |id: &str, endpoint: &str| sns_member(&topic, &format!("{topic}:{id}"), "email", endpoint);
    match token {
        None => sns_subscriptions(&member("s1", "first@nordhafen.example"), "<NextToken>subs-2</NextToken>"),
        Some(_) => sns_subscriptions(&member("s2", "second@nordhafen.example"), ""),
    }
}

fn handler(r: &Req, _n: usize) -> Resp {
    if r.target.starts_with("AWSEvents.") {
        events(r)
    } else if r.body.contains("Action=ListSubscriptionsByTopic") {
        sns(r)
    } else {
        backup(r)
    }
}

/// The one collected file whose name ends with `name`, parsed.
fn collected(store: &std::path::Path, name: &str) -> Value {
    let files = files_under(store);
    let file = files.iter().find(|f| f.ends_with(&format!("/{name}"))).unwrap_or_else(|| panic!("{name}: {files:?}"));
    serde_json::from_slice(&std::fs::read(store.join(file)).unwrap()).unwrap()
}

#[test]
fn policy_and_alert_path_calls_follow_every_page_and_name_each_refused_action() {
    let replay = Replay::start(handler);
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let mut cmd = bin();
    cmd.args(["collect", "--out", store.to_str().unwrap(), "--regions", "eu-west-1,eu-central-1"]);
    aws_env(&mut cmd, &replay.url);
    cmd.env("AWS_ENDPOINT_URL_EVENTBRIDGE", &replay.url).env("AWS_ENDPOINT_URL_SNS", &replay.url);
    let out = cmd.output().expect("binary runs");
    let (so, se) = (stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(1), "{so}\n{se}");

    for (region, action) in [
        ("eu-west-1", "backup:GetBackupPlan"),
        ("eu-west-1", "backup:ListBackupSelections"),
        ("eu-west-1", "backup:GetBackupSelection"),
        ("eu-west-1", "backup:GetBackupVaultNotifications"),
        ("eu-west-1", "backup:GetBackupVaultAccessPolicy"),
        ("eu-west-1", "events:ListTargetsByRule"),
        ("eu-west-1", "sns:ListSubscriptionsByTopic"),
        ("eu-central-1", "events:ListRules"),
    ] {
        assert_refusal_named(&se, region, action);
    }

    // Every page read into one document without NextToken; what was refused is not written.
    let selections = collected(&store, "list-backup-selections-plan-b.json");
    let ids: Vec<&str> = selections["BackupSelectionsList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["SelectionId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["sel-1", "sel-2"]);
    assert!(selections.get("NextToken").is_none());
    let targets = collected(&store, "list-targets-by-rule-backup-failed.json");
    let arns: Vec<&str> = targets["Targets"].as_array().unwrap().iter().map(|t| t["Arn"].as_str().unwrap()).collect();
    assert_eq!(
        arns,
        [format!("arn:aws:sns:eu-west-1:{ACCOUNT}:team-a"), format!("arn:aws:sns:eu-west-1:{ACCOUNT}:team-b")]
    );
    let subs = collected(&store, "list-subscriptions-by-topic-team-a.json");
    let endpoints: Vec<&str> =
        subs["Subscriptions"].as_array().unwrap().iter().map(|s| s["Endpoint"].as_str().unwrap()).collect();
    assert_eq!(endpoints, ["f***@nordhafen.example", "s***@nordhafen.example"], "both pages, masked");
    let names: Vec<String> = files_under(&store).iter().map(|f| f.rsplit('/').next().unwrap().to_owned()).collect();
    for (written, name) in [
        (true, "get-backup-plan-plan-b.json"),
        (true, "get-backup-selection-plan-b-sel-1.json"),
        (false, "get-backup-plan-plan-a.json"),
        (false, "get-backup-selection-plan-b-sel-2.json"),
        (false, "list-backup-selections-plan-c.json"),
        (false, "list-targets-by-rule-copy-failed.json"),
        (false, "list-subscriptions-by-topic-team-b.json"),
    ] {
        assert_eq!(names.iter().any(|n| n == name), written, "{name}: {names:?}");
    }
    assert!(!so.contains("testing-secret") && !se.contains("testing-secret"), "a secret was printed");
}
