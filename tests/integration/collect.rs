//! `collect` end to end: the real binary against moto (STS, Organizations, CloudWatch,
//! tagging, S3) and a replay server answering the Backup, Audit Manager and Account APIs with
//! AWS-shaped JSON bodies (pagination by NextToken, a throttled page that succeeds on retry,
//! a 403). The snapshots it writes are then built into a package: a job seen only through
//! `collect` must reach evidence/backup_jobs.csv.

use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::replay::{Replay, Req, Resp};
pub(crate) use super::util::files_under;
use super::util::{bin, build_q3, col, moto_endpoint, put_object, read_csv, stderr, stdout};

pub(crate) const ACCOUNT: &str = "123456789012";

fn job(id: &str, resource: &str, created: f64, completed: f64, region: &str) -> String {
    format!(
        r#"{{"AccountId":"{ACCOUNT}","BackupJobId":"{id}","BackupVaultName":"central","BackupVaultArn":"arn:aws:backup:{region}:{ACCOUNT}:backup-vault:central","VaultType":"BACKUP_VAULT","VaultLockState":"LOCKED","RecoveryPointArn":"arn:aws:backup:{region}:{ACCOUNT}:recovery-point:{id}-rp","RecoveryPointLifecycle":{{"DeleteAfterDays":35}},"IsEncrypted":true,"ResourceArn":"arn:aws:rds:{region}:{ACCOUNT}:db:{resource}","CreationDate":{created},"CompletionDate":{completed},"State":"COMPLETED","PercentDone":"100.0","BackupSizeInBytes":5368709120,"IamRoleArn":"arn:aws:iam::{ACCOUNT}:role/service-role/AWSBackupDefaultServiceRole","CreatedBy":{{"BackupPlanId":"8a3b6a2c-1111-2222-3333-444455556666","BackupPlanArn":"arn:aws:backup:{region}:{ACCOUNT}:backup-plan:8a3b6a2c-1111-2222-3333-444455556666","BackupPlanName":"daily","BackupPlanVersion":"ZjQ2ZTI0YzEtN2M4","BackupRuleId":"0b7d1f0e-aaaa-bbbb-cccc-ddddeeeeffff","BackupRuleName":"daily-0200"}},"ResourceType":"RDS","BytesTransferred":0,"BackupType":"","IsParent":false,"ResourceName":"{resource}","InitiationDate":{created},"MessageCategory":"SUCCESS"}}"#
    )
}

/// DescribeAlarms in Smithy RPC v2 CBOR: page 1 an EC2 alarm + NextToken, page 2 a Backup one.
fn alarms_page(first: bool, region: &str) -> Vec<u8> {
    let mut e = aws_smithy_cbor::Encoder::new(Vec::new());
    let alarm = |e: &mut aws_smithy_cbor::Encoder, name: &str, ns: &str, metric: &str, dim: (&str, &str)| {
        e.begin_map();
        e.str("AlarmName").str(name);
        e.str("AlarmArn").str(&format!("arn:aws:cloudwatch:{region}:{ACCOUNT}:alarm:{name}"));
        e.str("ActionsEnabled").boolean(true);
        e.str("AlarmActions").array(1).str(&format!("arn:aws:sns:{region}:{ACCOUNT}:backup-alerts"));
        e.str("StateValue").str("OK");
        e.str("StateUpdatedTimestamp").timestamp(&aws_smithy_types::DateTime::from_secs(1_788_670_800));
        e.str("MetricName").str(metric);
        e.str("Namespace").str(ns);
        e.str("Statistic").str("Sum");
        e.str("Dimensions").array(1).begin_map().str("Name").str(dim.0).str("Value").str(dim.1).end();
        e.str("Period").integer(300);
        e.str("EvaluationPeriods").integer(1);
        e.str("Threshold").double(0.0);
        e.str("ComparisonOperator").str("GreaterThanThreshold");
        e.end();
    };
    e.begin_map();
    e.str("MetricAlarms").begin_array();
    if first {
        alarm(&mut e, "cpu-high", "AWS/EC2", "CPUUtilization", ("InstanceId", "i-0abc"));
    } else {
        alarm(&mut e, "backup-jobs-failed", "AWS/Backup", "NumberOfBackupJobsFailed", ("BackupVaultName", "central"));
    }
    e.end();
    e.str("CompositeAlarms").array(0);
    if first {
        e.str("NextToken").str("cw-page-2");
    }
    e.end();
    e.into_writer()
}

/// A `list-backup-plans` item and the `get-backup-plan` answer of plan `id` (one rule
/// copying to another account).
fn backup_plan(id: &str, name: &str, region: &str) -> (String, String) {
    let arn = format!("arn:aws:backup:{region}:{ACCOUNT}:backup-plan:{id}");
    let item = format!(
        r#"{{"BackupPlanArn":"{arn}","BackupPlanId":"{id}","CreationDate":1768035600.0,"VersionId":"v-{id}","BackupPlanName":"{name}","CreatorRequestId":"c-{id}","LastExecutionDate":1788670800.0}}"#
    );
    let plan = format!(
        r#"{{"BackupPlan":{{"BackupPlanName":"{name}","Rules":[{{"RuleName":"{name}-0300","TargetBackupVaultName":"central","ScheduleExpression":"cron(0 3 ? * * *)","StartWindowMinutes":60,"CompletionWindowMinutes":480,"Lifecycle":{{"DeleteAfterDays":35}},"RuleId":"rule-{id}","CopyActions":[{{"Lifecycle":{{"DeleteAfterDays":90}},"DestinationBackupVaultArn":"arn:aws:backup:eu-central-1:210987654321:backup-vault:isolated"}}],"ScheduleExpressionTimezone":"Europe/Dublin"}}]}},"BackupPlanId":"{id}","BackupPlanArn":"{arn}","VersionId":"v-{id}","CreatorRequestId":"c-{id}","CreationDate":1768035600.0}}"#
    );
    (item, plan)
}

/// The Backup / Audit Manager / Account answers. `throttled` counts 429s sent.
pub(crate) fn handler(throttled: Arc<AtomicUsize>) -> impl Fn(&Req, usize) -> Resp + Send + Sync + 'static {
    move |r: &Req, _n: usize| {
        if let Some(answer) = super::vault_protection::replay(r) {
            return answer;
        }
        let region = r.region.as_str();
        let vault = format!("arn:aws:backup:{region}:{ACCOUNT}:backup-vault:central");
        let plan = format!("arn:aws:backup:{region}:{ACCOUNT}:restore-testing-plan:weekly-8e8d7a");
        let central = region == "eu-central-1";
        let (daily_item, daily) = backup_plan("plan-daily", "daily", region);
        let (weekly_item, weekly) = backup_plan("plan-weekly", "weekly", region);
        let role = format!("arn:aws:iam::{ACCOUNT}:role/service-role/AWSBackupDefaultServiceRole");
        match (r.method.as_str(), r.path.as_str()) {
            ("POST", "/listRegions") => Resp::json(
                r#"{"Regions":[{"RegionName":"eu-west-1","RegionOptStatus":"ENABLED_BY_DEFAULT"},{"RegionName":"eu-central-1","RegionOptStatus":"ENABLED_BY_DEFAULT"}]}"#,
            ),
            ("GET", "/backup-vaults") if central => Resp::json(r#"{"BackupVaultList":[]}"#),
            ("GET", "/backup-vaults") => Resp::json(format!(
                r#"{{"BackupVaultList":[{{"BackupVaultName":"central","BackupVaultArn":"{vault}","VaultType":"BACKUP_VAULT","VaultState":"AVAILABLE","CreationDate":1768035600.0,"EncryptionKeyArn":"arn:aws:kms:{region}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab","CreatorRequestId":"c1","NumberOfRecoveryPoints":2,"Locked":true,"MinRetentionDays":35,"MaxRetentionDays":3650,"LockDate":1768640400.0}}]}}"#
            )),
            ("GET", "/backup-vaults/central") => Resp::json(format!(
                r#"{{"BackupVaultName":"central","BackupVaultArn":"{vault}","VaultType":"BACKUP_VAULT","VaultState":"AVAILABLE","EncryptionKeyArn":"arn:aws:kms:{region}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab","CreationDate":1768035600.0,"CreatorRequestId":"c1","NumberOfRecoveryPoints":2,"Locked":true,"MinRetentionDays":35,"MaxRetentionDays":3650,"LockDate":1768640400.0,"EncryptionKeyType":"CUSTOMER_MANAGED_KMS_KEY"}}"#
            )),
            ("GET", "/backup-vaults/central/recovery-points") => Resp::json(format!(
                r#"{{"RecoveryPoints":[{{"RecoveryPointArn":"arn:aws:backup:{region}:{ACCOUNT}:recovery-point:JOB-A-rp","BackupVaultName":"central","BackupVaultArn":"{vault}","ResourceArn":"arn:aws:rds:{region}:{ACCOUNT}:db:payments","ResourceType":"RDS","CreationDate":1786759200.0,"CompletionDate":1786761667.0,"Status":"COMPLETED","IsEncrypted":true,"CalculatedLifecycle":{{"DeleteAt":1789783200.0}},"Lifecycle":{{"DeleteAfterDays":35}},"BackupSizeInBytes":5368709120}}]}}"#
            )),
            ("GET", "/backup-jobs") if central => Resp::error(
                403,
                "AccessDeniedException",
                "User: arn:aws:iam::123456789012:user/collector is not authorized to perform: backup:ListBackupJobs",
            ),
            ("GET", "/backup-jobs") => match r.query.get("nextToken").map(String::as_str) {
                None => Resp::json(format!(
                    r#"{{"BackupJobs":[{}],"NextToken":"page-2"}}"#,
                    job("JOB-A", "payments", 1786759200.0, 1786761667.0, region)
                )),
                Some("page-2") => {
                    if throttled.fetch_add(1, Ordering::SeqCst) == 0 {
                        return Resp::error(429, "ThrottlingException", "Rate exceeded");
                    }
                    Resp::json(format!(
                        r#"{{"BackupJobs":[{}]}}"#,
                        job("JOB-ONLY-VIA-COLLECT", "ledger", 1786845600.0, 1786847935.0, region)
                    ))
                }
                Some(other) => Resp::error(400, "InvalidParameterValueException", &format!("bad token {other}")),
            },
            ("POST", "/service/GraniteServiceVersion20100801/operation/DescribeAlarms") => {
                Resp::cbor(alarms_page(!r.body.contains("cw-page-2"), region))
            }
            ("GET", "/copy-jobs") => Resp::json(r#"{"CopyJobs":[]}"#),
            ("GET", "/restore-jobs") if central => Resp::json(r#"{"RestoreJobs":[]}"#),
            ("GET", "/restore-jobs") => Resp::json(format!(
                r#"{{"RestoreJobs":[{{"AccountId":"{ACCOUNT}","RestoreJobId":"RESTORE-1","RecoveryPointArn":"arn:aws:backup:{region}:{ACCOUNT}:recovery-point:JOB-A-rp","SourceResourceArn":"arn:aws:rds:{region}:{ACCOUNT}:db:payments","BackupVaultArn":"{vault}","CreationDate":1788670800.0,"CompletionDate":1788673632.0,"Status":"COMPLETED","PercentDone":"100.00%","BackupSizeInBytes":5368709120,"IamRoleArn":"arn:aws:iam::{ACCOUNT}:role/service-role/AWSBackupDefaultServiceRole","ExpectedCompletionTimeMinutes":60,"CreatedResourceArn":"arn:aws:rds:{region}:{ACCOUNT}:db:awsbackup-restore-test-1","ResourceType":"RDS","RecoveryPointCreationDate":1786761667.0,"CreatedBy":{{"RestoreTestingPlanArn":"{plan}"}},"ValidationStatus":"SUCCESSFUL","ValidationStatusMessage":"","DeletionStatus":"SUCCESSFUL"}}]}}"#
            )),
            ("GET", "/legal-holds") => Resp::json(r#"{"LegalHolds":[]}"#),
            ("GET", "/restore-testing/plans") if central => Resp::json(r#"{"RestoreTestingPlans":[]}"#),
            ("GET", "/restore-testing/plans") => Resp::json(format!(
                r#"{{"RestoreTestingPlans":[{{"CreationTime":1768035600.0,"LastExecutionTime":1788670800.0,"RestoreTestingPlanArn":"{plan}","RestoreTestingPlanName":"weekly","ScheduleExpression":"cron(0 5 ? * SUN *)","ScheduleExpressionTimezone":"Etc/UTC","StartWindowHours":8}}]}}"#
            )),
            ("GET", "/restore-testing/plans/weekly") => Resp::json(format!(
                r#"{{"RestoreTestingPlan":{{"CreationTime":1768035600.0,"RecoveryPointSelection":{{"Algorithm":"LATEST_WITHIN_WINDOW","IncludeVaults":["*"],"RecoveryPointTypes":["SNAPSHOT"],"SelectionWindowDays":7}},"RestoreTestingPlanArn":"{plan}","RestoreTestingPlanName":"weekly","ScheduleExpression":"cron(0 5 ? * SUN *)","StartWindowHours":8}}}}"#
            )),
            ("GET", "/restore-testing/plans/weekly/selections") => Resp::json(format!(
                r#"{{"RestoreTestingSelections":[{{"CreationTime":1768035600.0,"IamRoleArn":"arn:aws:iam::{ACCOUNT}:role/restore-testing","ProtectedResourceType":"RDS","RestoreTestingPlanName":"weekly","RestoreTestingSelectionName":"rds_all","ValidationWindowHours":4}}]}}"#
            )),
            ("GET", "/restore-testing/plans/weekly/selections/rds_all") => Resp::json(format!(
                r#"{{"RestoreTestingSelection":{{"CreationTime":1768035600.0,"IamRoleArn":"arn:aws:iam::{ACCOUNT}:role/restore-testing","ProtectedResourceArns":["*"],"ProtectedResourceType":"RDS","RestoreTestingPlanName":"weekly","RestoreTestingSelectionName":"rds_all","ValidationWindowHours":4}}}}"#
            )),
            ("GET", "/backup/plans") if central => Resp::error(
                403,
                "AccessDeniedException",
                "User: arn:aws:iam::123456789012:user/collector is not authorized to perform: backup:ListBackupPlans",
            ),
            // Two pages: one plan each.
            ("GET", "/backup/plans") => match r.query.get("nextToken").map(String::as_str) {
                None => Resp::json(format!(r#"{{"BackupPlansList":[{daily_item}],"NextToken":"plans-2"}}"#)),
                Some("plans-2") => Resp::json(format!(r#"{{"BackupPlansList":[{weekly_item}]}}"#)),
                Some(other) => Resp::error(400, "InvalidParameterValueException", &format!("bad token {other}")),
            },
            ("GET", "/backup/plans/plan-daily") => Resp::json(daily),
            ("GET", "/backup/plans/plan-weekly") => Resp::json(weekly),
            ("GET", "/backup/plans/plan-daily/selections") => Resp::json(format!(
                r#"{{"BackupSelectionsList":[{{"SelectionId":"sel-gold","SelectionName":"gold","BackupPlanId":"plan-daily","CreationDate":1768035600.0,"CreatorRequestId":"c-sel","IamRoleArn":"{role}"}}]}}"#
            )),
            ("GET", "/backup/plans/plan-weekly/selections") => Resp::json(r#"{"BackupSelectionsList":[]}"#),
            ("GET", "/backup/plans/plan-daily/selections/sel-gold") => Resp::json(format!(
                r#"{{"BackupSelection":{{"SelectionName":"gold","IamRoleArn":"{role}","Resources":["arn:aws:rds:{region}:{ACCOUNT}:db:*"],"ListOfTags":[],"NotResources":[],"Conditions":{{"StringEquals":[{{"ConditionKey":"aws:ResourceTag/tier","ConditionValue":"gold"}}],"StringNotEquals":[],"StringLike":[],"StringNotLike":[]}}}},"SelectionId":"sel-gold","BackupPlanId":"plan-daily","CreationDate":1768035600.0,"CreatorRequestId":"c-sel"}}"#
            )),
            ("GET", "/audit/report-plans") if central => Resp::json(r#"{"ReportPlans":[]}"#),
            ("GET", "/audit/report-plans") => Resp::json(format!(
                r#"{{"ReportPlans":[{{"ReportPlanArn":"arn:aws:backup:{region}:{ACCOUNT}:report-plan:daily_jobs-1a2b","ReportPlanName":"daily_jobs","ReportSetting":{{"ReportTemplate":"BACKUP_JOB_REPORT"}},"ReportDeliveryChannel":{{"S3BucketName":"backup-reports","Formats":["CSV","JSON"]}},"DeploymentStatus":"COMPLETED","CreationTime":1768035600.0}}]}}"#
            )),
            ("GET", "/audit/report-jobs") if central => Resp::json(r#"{"ReportJobs":[]}"#),
            ("GET", "/audit/report-jobs") => Resp::json(format!(
                r#"{{"ReportJobs":[{{"ReportJobId":"rj-0001","ReportPlanArn":"arn:aws:backup:{region}:{ACCOUNT}:report-plan:daily_jobs-1a2b","ReportTemplate":"BACKUP_JOB_REPORT","CreationTime":1786845600.0,"CompletionTime":1786846000.0,"Status":"COMPLETED","ReportDestination":{{"S3BucketName":"backup-reports"}}}}]}}"#
            )),
            ("GET", "/audit/report-jobs/rj-0001") => Resp::json(format!(
                r#"{{"ReportJob":{{"ReportJobId":"rj-0001","ReportPlanArn":"arn:aws:backup:{region}:{ACCOUNT}:report-plan:daily_jobs-1a2b","ReportTemplate":"BACKUP_JOB_REPORT","CreationTime":1786845600.0,"CompletionTime":1786846000.0,"Status":"COMPLETED","ReportDestination":{{"S3BucketName":"backup-reports","S3Keys":["Backup/{ACCOUNT}/{region}/2026/08/16/daily_jobs/Backup_job_report_{ACCOUNT}_{region}_20260816.csv"]}}}}}}"#
            )),
            ("GET", "/audit/frameworks") if central => Resp::json(r#"{"Frameworks":[]}"#),
            ("GET", "/audit/frameworks") => Resp::json(format!(
                r#"{{"Frameworks":[{{"FrameworkName":"dora_backup","FrameworkArn":"arn:aws:backup:{region}:{ACCOUNT}:framework:dora_backup-5c6d","NumberOfControls":1,"CreationTime":1768035600.0,"DeploymentStatus":"COMPLETED"}}]}}"#
            )),
            ("GET", "/audit/frameworks/dora_backup") => Resp::json(format!(
                r#"{{"FrameworkName":"dora_backup","FrameworkArn":"arn:aws:backup:{region}:{ACCOUNT}:framework:dora_backup-5c6d","FrameworkControls":[{{"ControlName":"BACKUP_RECOVERY_POINT_ENCRYPTED","ControlInputParameters":[]}}],"CreationTime":1768035600.0,"DeploymentStatus":"COMPLETED","FrameworkStatus":"ACTIVE"}}"#
            )),
            ("GET", "/account/status") if central => Resp::json(r#"{"status":"INACTIVE"}"#),
            ("GET", "/account/status") => Resp::json(r#"{"status":"ACTIVE"}"#),
            ("GET", "/assessments") => Resp::json(format!(
                r#"{{"assessmentMetadata":[{{"id":"0f1e2d3c-aaaa-bbbb-cccc-000011112222","name":"DORA 2026","complianceType":"DORA","status":"ACTIVE","roles":[{{"roleType":"PROCESS_OWNER","roleArn":"arn:aws:iam::{ACCOUNT}:role/audit"}}],"delegations":[],"creationTime":1768035600.0,"lastUpdated":1788670800.0}}]}}"#
            )),
            ("GET", "/assessments/0f1e2d3c-aaaa-bbbb-cccc-000011112222") => Resp::json(format!(
                r#"{{"assessment":{{"arn":"arn:aws:auditmanager:{region}:{ACCOUNT}:assessment/0f1e2d3c-aaaa-bbbb-cccc-000011112222","awsAccount":{{"id":"{ACCOUNT}"}},"metadata":{{"id":"0f1e2d3c-aaaa-bbbb-cccc-000011112222","name":"DORA 2026","status":"ACTIVE","assessmentReportsDestination":{{"destinationType":"S3","destination":"s3://am-reports/dora"}},"scope":{{"awsAccounts":[{{"id":"{ACCOUNT}"}}],"awsServices":[{{"serviceName":"backup"}}]}},"creationTime":1768035600.0,"lastUpdated":1788670800.0}},"framework":{{"id":"fw-1","metadata":{{"name":"DORA custom"}},"controlSets":[]}}}},"userRole":{{"roleType":"PROCESS_OWNER","roleArn":"arn:aws:iam::{ACCOUNT}:role/audit"}}}}"#
            )),
            ("GET", "/assessmentReports") => Resp::json(
                r#"{"assessmentReports":[{"id":"r-0001","name":"dora_q3","assessmentId":"0f1e2d3c-aaaa-bbbb-cccc-000011112222","assessmentName":"DORA 2026","author":"collector","status":"COMPLETE","creationTime":1790809200.0}]}"#,
            ),
            // The report's download link: a presigned URL (a credential), never to be stored.
            ("GET", "/assessments/0f1e2d3c-aaaa-bbbb-cccc-000011112222/reports/r-0001/url") => Resp::json(
                r#"{"preSignedUrl":{"hyperlinkName":"dora_q3","link":"https://am-reports.s3.eu-west-1.amazonaws.com/dora/dora_q3_r-0001.zip?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIAPRESIGNEDKEY%2F20260930%2Feu-west-1%2Fs3%2Faws4_request&X-Amz-Signature=presigned-signature-never-stored"}}"#,
            ),
            ("POST", "/assessmentReports/integrity") => Resp::json(
                r#"{"signatureValid":true,"signatureAlgorithm":"SHA256withRSA","signatureDateTime":"2026-09-30T23:00:00Z","signatureKeyId":"arn:aws:kms:eu-west-1:123456789012:key/0000","validationErrors":[]}"#,
            ),
            // A vault notifying a topic of its own; no access policy.
            ("GET", "/backup-vaults/central/notification-configuration") => Resp::json(format!(
                r#"{{"BackupVaultName":"central","BackupVaultArn":"{vault}","SNSTopicArn":"arn:aws:sns:{region}:{ACCOUNT}:vault-events","BackupVaultEvents":["RESTORE_JOB_COMPLETED","BACKUP_JOB_FAILED","COPY_JOB_FAILED"]}}"#
            )),
            ("GET", "/backup-vaults/central/access-policy") => {
                Resp::error(404, "ResourceNotFoundException", "Backup vault central has no access policy")
            }
            ("GET", "/scan/jobs") => super::malware::scan_jobs(r),
            ("POST", "/") if r.target.starts_with("AWSEvents.") => event_rules(r),
            ("POST", "/") if r.body.contains("Action=ListSubscriptionsByTopic") => subscriptions(r),
            (m, p) => Resp::error(404, "UnknownOperationException", &format!("replay has no answer for {m} {p}")),
        }
    }
}

/// EventBridge (JSON 1.1, the operation in `X-Amz-Target`): eu-west-1 has three rules on two
/// pages — failed backup jobs to two SNS topics, completed jobs to a Lambda function, and an
/// EC2 rule whose targets are never asked for; eu-central-1 has none.
fn event_rules(r: &Req) -> Resp {
    let region = r.region.as_str();
    let body: serde_json::Value = serde_json::from_str(&r.body).unwrap_or_default();
    let rule = |name: &str, pattern: serde_json::Value| {
        serde_json::json!({
            "Name": name, "Arn": format!("arn:aws:events:{region}:{ACCOUNT}:rule/{name}"),
            "EventPattern": pattern.to_string(), "State": "ENABLED", "EventBusName": "default"
        })
    };
    let topic = |name: &str| format!("arn:aws:sns:{region}:{ACCOUNT}:{name}");
    match (r.target.as_str(), body["NextToken"].as_str(), body["Rule"].as_str()) {
        ("AWSEvents.ListRules", _, _) if region == "eu-central-1" => Resp::json(r#"{"Rules":[]}"#),
        ("AWSEvents.ListRules", None, _) => Resp::json(
            serde_json::json!({"Rules": [rule("backup-failed", serde_json::json!({"source": ["aws.backup"],
                "detail-type": ["Backup Job State Change"], "detail": {"state": ["FAILED"]}}))], "NextToken": "rules-2"})
            .to_string(),
        ),
        ("AWSEvents.ListRules", Some("rules-2"), _) => Resp::json(
            serde_json::json!({"Rules": [
                rule("ec2-stopped", serde_json::json!({"source": ["aws.ec2"]})),
                rule("backup-completed", serde_json::json!({"source": ["aws.backup"], "detail": {"state": ["COMPLETED"]}}))
            ]})
            .to_string(),
        ),
        ("AWSEvents.ListTargetsByRule", _, Some("backup-failed")) => Resp::json(
            serde_json::json!({"Targets": [{"Id": "alerts", "Arn": topic("backup-alerts")},
                {"Id": "oncall", "Arn": topic("oncall")}]})
            .to_string(),
        ),
        ("AWSEvents.ListTargetsByRule", _, Some("backup-completed")) => Resp::json(format!(
            r#"{{"Targets":[{{"Id":"report","Arn":"arn:aws:lambda:{region}:{ACCOUNT}:function:backup-report"}}]}}"#
        )),
        (target, token, rule) => {
            Resp::error(400, "ValidationException", &format!("replay has no answer for {target} {token:?} {rule:?}"))
        }
    }
}

/// SNS (AWS Query, XML answers): in eu-west-1 `backup-alerts` has a confirmed and an
/// unconfirmed e-mail subscriber, `oncall` only an unconfirmed SMS one, `vault-events` a
/// webhook; eu-central-1 refuses the call.
fn subscriptions(r: &Req) -> Resp {
    let (topic, _) = sns_request(r);
    if r.region == "eu-central-1" {
        return sns_refused(&topic);
    }
    let members = match topic.rsplit(':').next().unwrap_or("") {
        "backup-alerts" => {
            sns_member(&topic, &format!("{topic}:0b1f"), "email", "ops.lead@nordhafen.example")
                + &sns_member(&topic, "PendingConfirmation", "email", "new.joiner@nordhafen.example")
        }
        "oncall" => sns_member(&topic, "PendingConfirmation", "sms", "+353861113579"),
        "vault-events" => {
            sns_member(&topic, &format!("{topic}:77aa"), "https", "https://hooks.nordhafen.example/backup/abc-secret")
        }
        _ => String::new(),
    };
    sns_subscriptions(&members, "")
}

/// The topic and the page token of an SNS `ListSubscriptionsByTopic` form.
pub(crate) fn sns_request(r: &Req) -> (String, Option<String>) {
    let mut form: std::collections::BTreeMap<String, String> =
        form_urlencoded::parse(r.body.as_bytes()).into_owned().collect();
    (form.remove("TopicArn").unwrap_or_default(), form.remove("NextToken"))
}

/// SNS refusing `ListSubscriptionsByTopic` on `topic` to the collector, as SNS words it.
pub(crate) fn sns_refused(topic: &str) -> Resp {
    Resp::xml(
        403,
        format!(
            "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><Error><Type>Sender</Type>\
             <Code>AuthorizationError</Code><Message>User: arn:aws:iam::{ACCOUNT}:user/collector is not authorized \
             to perform: SNS:ListSubscriptionsByTopic on resource: {topic}</Message></Error>\
             <RequestId>3</RequestId></ErrorResponse>"
        ),
    )
}

/// One subscription of `topic` in a `ListSubscriptionsByTopic` answer.
pub(crate) fn sns_member(topic: &str, arn: &str, protocol: &str, endpoint: &str) -> String {
    format!(
        "<member><TopicArn>{topic}</TopicArn><Protocol>{protocol}</Protocol><SubscriptionArn>{arn}</SubscriptionArn>\
         <Owner>{ACCOUNT}</Owner><Endpoint>{endpoint}</Endpoint></member>"
    )
}

/// A `ListSubscriptionsByTopic` page: `members`, then `next` (a `<NextToken>` element or nothing).
pub(crate) fn sns_subscriptions(members: &str, next: &str) -> Resp {
    Resp::xml(
        200,
        format!(
            "<ListSubscriptionsByTopicResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">\
             <ListSubscriptionsByTopicResult><Subscriptions>{members}</Subscriptions>{next}\
             </ListSubscriptionsByTopicResult><ResponseMetadata><RequestId>4</RequestId></ResponseMetadata>\
             </ListSubscriptionsByTopicResponse>"
        ),
    )
}

/// What `collect` made of the alert paths: EventBridge's pages followed, targets read only
/// for the rules on `aws.backup`, every topic's subscriptions stored with masked endpoints,
/// the refused SNS call named, and the CSVs the package gets from them.
fn check_alert_paths(replay: &Replay, store: &std::path::Path, pkg: &std::path::Path, so: &str, se: &str) {
    assert_refusal_named(se, "eu-central-1", "sns:ListSubscriptionsByTopic");
    assert!(so.contains("1 vault(s) with no access policy: central"), "{so}");
    let west: Vec<Req> = replay.requests().into_iter().filter(|r| r.region == "eu-west-1").collect();
    let list_rules: Vec<&Req> = west.iter().filter(|r| r.target == "AWSEvents.ListRules").collect();
    assert_eq!(list_rules.len(), 4, "two pages of rules in each of the two runs");
    assert!(!list_rules[0].body.contains("NextToken") && list_rules[1].body.contains("rules-2"));
    let mut asked: Vec<String> = west
        .iter()
        .filter(|r| r.target == "AWSEvents.ListTargetsByRule")
        .map(|r| serde_json::from_str::<serde_json::Value>(&r.body).unwrap()["Rule"].as_str().unwrap().to_owned())
        .collect();
    asked.sort();
    asked.dedup();
    assert_eq!(asked, ["backup-completed", "backup-failed"], "no targets asked for the EC2 rule");

    let files = files_under(store);
    let stored = |name: &str| {
        let f = files.iter().find(|f| f.contains("/eu-west-1/") && f.ends_with(&format!("/{name}")));
        std::fs::read_to_string(store.join(f.unwrap_or_else(|| panic!("{name} not stored: {files:?}")))).unwrap()
    };
    let rules: serde_json::Value = serde_json::from_str(&stored("list-rules.json")).unwrap();
    assert_eq!(rules["Rules"].as_array().unwrap().len(), 3);
    assert!(rules.get("NextToken").is_none());
    stored("get-backup-vault-notifications-central.json");
    stored("list-targets-by-rule-backup-completed.json");
    let alerts = stored("list-subscriptions-by-topic-backup-alerts.json");
    assert!(alerts.contains("o***@nordhafen.example") && alerts.contains("PendingConfirmation"), "{alerts}");
    for topic in ["oncall", "vault-events"] {
        stored(&format!("list-subscriptions-by-topic-{topic}.json"));
    }
    for f in &files {
        let text = std::fs::read_to_string(store.join(f)).unwrap();
        for raw in ["ops.lead@", "new.joiner@", "1113579", "abc-secret"] {
            assert!(!text.contains(raw), "{raw} stored in {f}");
        }
    }
    assert!(!files.iter().any(|f| f.contains("access-policy")), "nothing stored for a vault without a policy");

    let (h, rows) = read_csv(&pkg.join("evidence/event_rules.csv"));
    let rule = |name: &str| rows.iter().find(|r| col(&h, r, "rule_name") == name).unwrap();
    let failed = rule("backup-failed");
    assert_eq!((col(&h, failed, "matches_backup_failures"), col(&h, failed, "target_count")), ("true", "2"));
    assert_eq!((col(&h, failed, "listed"), col(&h, failed, "region")), ("true", "eu-west-1"));
    let ec2 = rule("ec2-stopped");
    assert_eq!((col(&h, ec2, "matches_backup_failures"), col(&h, ec2, "target_count")), ("false", ""));
    let (h, rows) = read_csv(&pkg.join("evidence/sns_subscriptions.csv"));
    let mut subs: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|r| (col(&h, r, "topic_arn").rsplit(':').next().unwrap(), col(&h, r, "endpoint"), col(&h, r, "confirmed")))
        .collect();
    subs.sort_unstable();
    assert_eq!(
        subs,
        [
            ("backup-alerts", "n***@nordhafen.example", "false"),
            ("backup-alerts", "o***@nordhafen.example", "true"),
            ("oncall", "***79", "false"),
            ("vault-events", "https://hooks.nordhafen.example", "true"),
        ]
    );
    let (h, rows) = read_csv(&pkg.join("evidence/vault_notifications.csv"));
    assert_eq!(rows.len(), 1);
    assert_eq!(col(&h, &rows[0], "events"), "BACKUP_JOB_FAILED;COPY_JOB_FAILED;RESTORE_JOB_COMPLETED");
}

pub(crate) fn aws_env(cmd: &mut Command, replay: &str) {
    let moto = moto_endpoint();
    for (k, v) in [
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing-secret-never-printed"),
        ("AWS_REGION", "eu-west-1"),
        ("AWS_CONFIG_FILE", "/dev/null"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_ENDPOINT_URL", moto.as_str()),
        ("AWS_ENDPOINT_URL_BACKUP", replay),
        ("AWS_ENDPOINT_URL_AUDITMANAGER", replay),
        ("AWS_ENDPOINT_URL_ACCOUNT", replay),
        // moto has no CBOR CloudWatch (the protocol the Rust SDK speaks).
        ("AWS_ENDPOINT_URL_CLOUDWATCH", replay),
    ] {
        cmd.env(k, v);
    }
    cmd.env_remove("AWS_PROFILE").env_remove("AWS_SESSION_TOKEN");
}

/// `collect`'s stderr names a refused call with account, Region and action, and says what to
/// grant.
pub(crate) fn assert_refusal_named(stderr: &str, region: &str, action: &str) {
    assert!(
        stderr.contains(&format!("account {ACCOUNT} Region {region}: {action}: access denied"))
            && stderr.contains(&format!("grant {action}")),
        "{action} in {region} not named: {stderr}"
    );
}

pub(crate) fn collect(replay: &Replay, args: &[&str]) -> Output {
    let mut cmd = bin();
    cmd.arg("collect").args(args);
    aws_env(&mut cmd, &replay.url);
    cmd.output().expect("binary runs")
}

/// [`collect`] with EventBridge and SNS answered by the replay too (elsewhere moto answers
/// them: no rules, no topics).
fn collect_alert_paths_too(replay: &Replay, args: &[&str]) -> Output {
    let mut cmd = bin();
    cmd.arg("collect").args(args);
    aws_env(&mut cmd, &replay.url);
    cmd.env("AWS_ENDPOINT_URL_EVENTBRIDGE", &replay.url).env("AWS_ENDPOINT_URL_SNS", &replay.url);
    cmd.output().expect("binary runs")
}

pub(crate) fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// Creates the moto organization (if not there yet) and a member account `name`; its id.
pub(crate) fn organization_member(conf: &aws_config::SdkConfig, name: &str) -> String {
    rt().block_on(async {
        let org = aws_sdk_organizations::Client::new(conf);
        let _ = org
            .create_organization()
            .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
            .send()
            .await;
        let created = org
            .create_account()
            .account_name(name)
            .email(format!("{name}@example.com"))
            .send()
            .await
            .expect("moto CreateAccount");
        created.create_account_status().and_then(|s| s.account_id()).expect("account id").to_owned()
    })
}

pub(crate) fn moto_conf() -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("eu-west-1"))
        .endpoint_url(moto_endpoint())
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(
            aws_credential_types::Credentials::new("testing", "testing", None, None, "test"),
        ))
        .build()
}

fn s3() -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&moto_conf()).force_path_style(true).build())
}

fn create_bucket(name: &str) {
    let s3 = s3();
    rt().block_on(async {
        let cfg = aws_sdk_s3::types::CreateBucketConfiguration::builder()
            .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
            .build();
        let r = s3.create_bucket().bucket(name).create_bucket_configuration(cfg).send().await;
        if let Err(e) = r {
            let code = aws_sdk_s3::error::ProvideErrorMetadata::code(&e).unwrap_or_default().to_owned();
            assert!(code == "BucketAlreadyOwnedByYou" || code == "BucketAlreadyExists", "create bucket {name}: {e:?}");
        }
    });
}

/// One Audit Manager report zip in moto.
fn seed_moto() {
    create_bucket("am-reports");
    rt().block_on(async {
        put_object(&s3(), "am-reports", "dora/dora_q3_r-0001.zip", b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0")
            .await;
    });
}

#[test]
fn collect_writes_cli_shaped_snapshots_that_build_reads() {
    seed_moto();
    let throttled = Arc::new(AtomicUsize::new(0));
    let replay = Replay::start(handler(Arc::clone(&throttled)));
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let out = collect_alert_paths_too(&replay, &["--out", store.to_str().unwrap(), "--regions", "all"]);
    let (so, se) = (stdout(&out), stderr(&out));

    // eu-central-1 refused ListBackupJobs: reported with action, account, Region and what to
    // grant; the run went on and ended non-zero.
    assert_eq!(out.status.code(), Some(1), "{so}\n{se}");
    assert_refusal_named(&se, "eu-central-1", "backup:ListBackupJobs");
    // …and ListBackupPlans, named the same way; the calls after it still ran.
    assert_refusal_named(&se, "eu-central-1", "backup:ListBackupPlans");
    assert!(
        !se.lines().any(|l| l.starts_with("  account") && l.contains("eu-west-1")),
        "eu-west-1 must be complete: {se}"
    );
    // Off a terminal, a line per scope as it ends (what a scheduler logs).
    assert!(se.contains("collect: [1/2] ") && se.contains("collect: [2/2] "), "{se}");
    assert!(so.contains(&format!("{ACCOUNT} eu-west-1:")) && so.contains("— ok"), "{so}");
    assert!(so.contains("Audit Manager not active here (status INACTIVE)"), "{so}");
    assert!(!so.contains("testing-secret") && !se.contains("testing-secret"), "a secret was printed");

    // Throttled page 2: retried once and answered.
    assert_eq!(throttled.load(Ordering::SeqCst), 2, "page 2 throttled once, then answered");

    let files = files_under(&store);
    let west: Vec<&String> = files.iter().filter(|f| f.contains("/eu-west-1/")).collect();
    let names: Vec<&str> = west.iter().map(|f| f.rsplit('/').next().unwrap()).collect();
    for expected in [
        "list-backup-vaults.json",
        "describe-backup-vault-central.json",
        "list-recovery-points-by-backup-vault-central.json",
        "list-backup-jobs.json",
        "list-restore-jobs.json",
        "list-legal-holds.json",
        "list-restore-testing-plans.json",
        "get-restore-testing-plan-weekly.json",
        "list-restore-testing-selections-weekly.json",
        "get-restore-testing-selection-weekly-rds_all.json",
        "list-backup-plans.json",
        "get-backup-plan-plan-daily.json",
        "get-backup-plan-plan-weekly.json",
        "list-backup-selections-plan-daily.json",
        "list-backup-selections-plan-weekly.json",
        "get-backup-selection-plan-daily-sel-gold.json",
        "list-report-plans.json",
        "list-report-jobs.json",
        "list-frameworks.json",
        "describe-framework-dora_backup.json",
        "describe-alarms.json",
        "get-resources.json",
        "list-assessments.json",
        "get-assessment-0f1e2d3c-aaaa-bbbb-cccc-000011112222.json",
        "list-assessment-reports.json",
        "validate-assessment-report-integrity.json",
    ] {
        assert!(names.contains(&expected), "{expected} missing from {names:?}");
    }
    // Layout: collected/<account>/<region>/<RFC 3339 timestamp>/<operation>.json
    let jobs_file = west.iter().find(|f| f.ends_with("/list-backup-jobs.json")).unwrap();
    let parts: Vec<&str> = jobs_file.split('/').collect();
    assert_eq!(&parts[..3], ["collected", ACCOUNT, "eu-west-1"]);
    assert!(parts[3].ends_with('Z') && parts[3].len() == 20, "timestamp folder {}", parts[3]);

    // Both pages in one AWS CLI-shaped document, no NextToken.
    let jobs: serde_json::Value = serde_json::from_slice(&std::fs::read(store.join(jobs_file)).unwrap()).unwrap();
    let ids: Vec<&str> =
        jobs["BackupJobs"].as_array().unwrap().iter().map(|j| j["BackupJobId"].as_str().unwrap()).collect();
    assert_eq!(ids, ["JOB-A", "JOB-ONLY-VIA-COLLECT"]);
    assert!(jobs.get("NextToken").is_none());
    // Backup plans: both pages in one document, no NextToken; each plan read (page 2's too).
    let plans = west.iter().find(|f| f.ends_with("/list-backup-plans.json")).unwrap();
    let plans: serde_json::Value = serde_json::from_slice(&std::fs::read(store.join(plans)).unwrap()).unwrap();
    let ids: Vec<&str> =
        plans["BackupPlansList"].as_array().unwrap().iter().map(|p| p["BackupPlanId"].as_str().unwrap()).collect();
    assert_eq!(ids, ["plan-daily", "plan-weekly"]);
    assert!(plans.get("NextToken").is_none());
    assert!(files.iter().any(|f| f.contains("/eu-central-1/") && f.ends_with("/list-report-plans.json")));
    assert!(!files.iter().any(|f| f.contains("/eu-central-1/") && f.contains("backup-plan")));
    // Report job: DescribeReportJob filled in the S3 keys the listing lacked.
    let rj = west.iter().find(|f| f.ends_with("/list-report-jobs.json")).unwrap();
    let rj: serde_json::Value = serde_json::from_slice(&std::fs::read(store.join(rj)).unwrap()).unwrap();
    assert!(rj["ReportJobs"][0]["ReportDestination"]["S3Keys"][0].as_str().unwrap().ends_with("20260816.csv"));
    // Audit Manager: the zip ListAssessmentReports names was validated, found through its
    // download link, whose signature went nowhere.
    let v = west.iter().find(|f| f.ends_with("/validate-assessment-report-integrity.json")).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(store.join(v)).unwrap()).unwrap();
    assert_eq!(v["AssessmentReportIntegrity"][0]["s3RelativePath"], "s3://am-reports/dora/dora_q3_r-0001.zip");
    assert_eq!(v["AssessmentReportIntegrity"][0]["signatureValid"], true);
    let asked = replay.requests().into_iter().find(|r| r.path == "/assessmentReports/integrity").unwrap();
    assert!(asked.body.contains(r#""s3RelativePath":"s3://am-reports/dora/dora_q3_r-0001.zip""#), "{}", asked.body);
    for f in &files {
        let text = String::from_utf8_lossy(&std::fs::read(store.join(f)).unwrap()).into_owned();
        assert!(!text.contains("presigned-signature") && !text.contains("ASIAPRESIGNEDKEY"), "{f} holds the link");
    }
    assert!(!so.contains("presigned-signature") && !se.contains("presigned-signature"));
    // CloudWatch: two CBOR pages; the EC2 alarm left out, the AWS/Backup one kept.
    let a = west.iter().find(|f| f.ends_with("/describe-alarms.json")).unwrap();
    let a: serde_json::Value = serde_json::from_slice(&std::fs::read(store.join(a)).unwrap()).unwrap();
    assert!(
        a["MetricAlarms"].as_array().unwrap().iter().any(|x| x["AlarmName"] == "backup-jobs-failed"
            && x["Namespace"] == "AWS/Backup"
            && x["Dimensions"][0]["Value"] == "central"),
        "{a}"
    );
    // eu-central-1 still got its other snapshots.
    assert!(files.iter().any(|f| f.contains("/eu-central-1/") && f.ends_with("/list-backup-vaults.json")));
    assert!(!files.iter().any(|f| f.contains("/eu-central-1/") && f.ends_with("/list-backup-jobs.json")));

    // Idempotent: a second run adds nothing (eu-central-1 still fails the same way).
    let jobs_calls = replay.count("GET", "/backup-jobs", "eu-west-1");
    let again =
        collect_alert_paths_too(&replay, &["--out", store.to_str().unwrap(), "--regions", "eu-west-1,eu-central-1"]);
    assert_eq!(again.status.code(), Some(1), "{}", stderr(&again));
    assert_eq!(files_under(&store), files, "a re-run wrote files: {}", stdout(&again));
    assert!(stdout(&again).contains(&format!("{ACCOUNT} eu-west-1: 0 written")), "{}", stdout(&again));
    // …and it asked only for jobs since the last snapshot (created or completed after it).
    let since_calls: Vec<Req> = replay
        .requests()
        .into_iter()
        .filter(|r| r.path == "/backup-jobs" && r.region == "eu-west-1")
        .skip(jobs_calls)
        .collect();
    assert!(since_calls.iter().any(|r| r.query.contains_key("createdAfter")), "{since_calls:?}");
    assert!(since_calls.iter().any(|r| r.query.contains_key("completeAfter")), "{since_calls:?}");
    // Restore jobs reach back ≥ 8 days (validations end up to 168 h after the restore).
    let now = chrono::Utc::now();
    let reach = |path: &str| {
        let r =
            replay.requests().into_iter().rfind(|r| r.path == path && r.query.contains_key("completeAfter")).unwrap();
        let t = chrono::DateTime::parse_from_rfc3339(&r.query["completeAfter"]).expect("ISO time in the query");
        (now - t.with_timezone(&chrono::Utc)).num_hours()
    };
    assert!((23..=25).contains(&reach("/backup-jobs")), "backup jobs: {} h", reach("/backup-jobs"));
    assert!((191..=193).contains(&reach("/restore-jobs")), "restore jobs: {} h", reach("/restore-jobs"));

    // The snapshots build: the job seen only through collect is in the evidence.
    let pkg = tmp.path().join("pkg");
    let b = build_q3(&store, &pkg, &[]);
    assert!(matches!(b.status.code(), Some(0 | 1)), "build failed: {}", stderr(&b));
    let (h, rows) = read_csv(&pkg.join("evidence/backup_jobs.csv"));
    let row =
        rows.iter().find(|r| col(&h, r, "job_id") == "JOB-ONLY-VIA-COLLECT").expect("job from collect in evidence");
    assert_eq!(col(&h, row, "state"), "COMPLETED");
    assert_eq!(col(&h, row, "account_id"), ACCOUNT);
    let (h, rows) = read_csv(&pkg.join("artifacts.csv"));
    assert!(rows.iter().all(|r| col(&h, r, "parse_status") != "failed"), "a collected snapshot failed to parse");
    let kind_of = |name: &str| {
        let row = rows
            .iter()
            .find(|r| col(&h, r, "origin").ends_with(&format!("/eu-west-1/{}/{name}", parts[3])))
            .unwrap_or_else(|| panic!("{name} not among the artifacts"));
        col(&h, row, "kind").to_owned()
    };
    for (name, kind) in [
        ("list-backup-jobs.json", "snapshot:BackupJobs"),
        ("list-restore-jobs.json", "snapshot:RestoreJobs"),
        ("describe-backup-vault-central.json", "snapshot:BackupVaults"),
        ("list-recovery-points-by-backup-vault-central.json", "snapshot:RecoveryPoints"),
        ("get-restore-testing-selection-weekly-rds_all.json", "snapshot:RestoreTestingSelections"),
        ("describe-alarms.json", "snapshot:MetricAlarms"),
        ("get-resources.json", "snapshot:ResourceTagMappingList"),
        ("validate-assessment-report-integrity.json", "snapshot:AssessmentReportIntegrity"),
        ("list-backup-plans.json", "snapshot:BackupPlansList"),
        ("get-backup-plan-plan-weekly.json", "snapshot:BackupPlan"),
        ("list-backup-selections-plan-daily.json", "snapshot:BackupSelectionsList"),
        ("get-backup-selection-plan-daily-sel-gold.json", "snapshot:BackupSelection"),
        ("get-backup-vault-notifications-central.json", "snapshot:BackupVaultNotifications"),
        ("list-rules.json", "snapshot:EventRules"),
        ("list-targets-by-rule-backup-failed.json", "snapshot:EventRuleTargets"),
        ("list-subscriptions-by-topic-oncall.json", "snapshot:SnsSubscriptions"),
        // Kept and hashed; no evidence records are taken from these.
        ("list-report-jobs.json", "unclassified"),
    ] {
        assert_eq!(kind_of(name), kind, "{name}");
    }
    let (h, rows) = read_csv(&pkg.join("evidence/restore_jobs.csv"));
    let restore = rows.iter().find(|r| col(&h, r, "job_id") == "RESTORE-1").expect("restore test from collect");
    assert_eq!(col(&h, restore, "validation_status"), "SUCCESSFUL");
    // One rule per plan; the selection's Region from the snapshot's path.
    let (h, rows) = read_csv(&pkg.join("evidence/backup_rules.csv"));
    let mut rules: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|r| (col(&h, r, "backup_plan_id"), col(&h, r, "region"), col(&h, r, "copy_destinations")))
        .collect();
    rules.sort_unstable();
    let isolated = "arn:aws:backup:eu-central-1:210987654321:backup-vault:isolated";
    assert_eq!(rules, [("plan-daily", "eu-west-1", isolated), ("plan-weekly", "eu-west-1", isolated)]);
    let (h, rows) = read_csv(&pkg.join("evidence/backup_selections.csv"));
    assert_eq!(rows.len(), 1);
    assert_eq!((col(&h, &rows[0], "selection_id"), col(&h, &rows[0], "region")), ("sel-gold", "eu-west-1"));
    assert_eq!(col(&h, &rows[0], "resources"), format!(r#"["arn:aws:rds:eu-west-1:{ACCOUNT}:db:*"]"#));
    let (h, rows) = read_csv(&pkg.join("evidence/assessment_report_integrity.csv"));
    assert_eq!(rows.len(), 1);
    assert_eq!(col(&h, &rows[0], "s3_path"), "s3://am-reports/dora/dora_q3_r-0001.zip");
    assert_eq!(col(&h, &rows[0], "signature_valid"), "true");
    assert_eq!(col(&h, &rows[0], "account_id"), ACCOUNT);
    check_alert_paths(&replay, &store, &pkg, &so, &se);
    super::vault_protection::check_collected(&store, &pkg, &se);
}

#[test]
fn collect_to_s3_is_idempotent_and_build_reads_it_back() {
    seed_moto();
    create_bucket("collect-store");
    let replay = Replay::start(handler(Arc::new(AtomicUsize::new(0))));
    let args = ["--out", "s3://collect-store/evidence", "--regions", "eu-west-1", "--skip", "audit-manager"];
    let first = collect(&replay, &args);
    assert_eq!(first.status.code(), Some(0), "{}\n{}", stdout(&first), stderr(&first));
    let list = || {
        rt().block_on(async {
            let out = s3().list_objects_v2().bucket("collect-store").prefix("evidence/").send().await.unwrap();
            let mut keys: Vec<String> = out.contents().iter().filter_map(|o| o.key().map(str::to_owned)).collect();
            keys.sort();
            keys
        })
    };
    let keys = list();
    assert!(
        keys.iter().any(|k| k.starts_with(&format!("evidence/collected/{ACCOUNT}/eu-west-1/"))
            && k.ends_with("/list-backup-jobs.json")),
        "{keys:?}"
    );
    assert!(!keys.iter().any(|k| k.contains("assessment")), "audit-manager was skipped: {keys:?}");
    let second = collect(&replay, &args);
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    assert_eq!(list(), keys, "a re-run added objects");

    let tmp = tempfile::tempdir().unwrap();
    let pkg = tmp.path().join("pkg");
    let mut cmd = bin();
    cmd.args(["build", "--input", "s3://collect-store/evidence", "--period", "2026-Q3", "--out"]).arg(&pkg);
    aws_env(&mut cmd, &replay.url);
    let b = cmd.output().unwrap();
    assert!(matches!(b.status.code(), Some(0 | 1)), "build failed: {}", stderr(&b));
    let (h, rows) = read_csv(&pkg.join("evidence/backup_jobs.csv"));
    assert!(rows.iter().any(|r| col(&h, r, "job_id") == "JOB-ONLY-VIA-COLLECT"));
}

#[test]
fn collect_assumes_a_role_in_each_organization_account() {
    let conf = moto_conf();
    let member = organization_member(&conf, "payments-prod");
    let replay = Replay::start(handler(Arc::new(AtomicUsize::new(0))));
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let out = collect(
        &replay,
        &[
            "--out",
            store.to_str().unwrap(),
            "--regions",
            "eu-west-1",
            "--assume-role-name",
            "DoraEvidenceCollector",
            "--skip",
            "audit-manager,tags,alarms",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}\n{}", stdout(&out), stderr(&out));
    for account in [ACCOUNT, member.as_str()] {
        assert!(store.join("collected").join(account).join("eu-west-1").is_dir(), "no snapshots for {account}");
        assert!(stdout(&out).contains(&format!("{account} eu-west-1:")), "{}", stdout(&out));
    }
    // The member account's calls were signed with other (assumed-role) credentials.
    let keys: std::collections::BTreeSet<String> =
        replay.requests().iter().filter(|r| r.path == "/backup-vaults").map(|r| r.access_key.clone()).collect();
    assert_eq!(keys.len(), 2, "one access key per account: {keys:?}");
    assert!(keys.contains("testing"), "{keys:?}");
}

#[test]
fn an_unreachable_backup_endpoint_is_reported_and_the_rest_is_collected() {
    let replay = Replay::start(handler(Arc::new(AtomicUsize::new(0))));
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let mut cmd = bin();
    cmd.args(["collect", "--out", store.to_str().unwrap(), "--regions", "eu-west-1", "--max-attempts", "2"]);
    cmd.args(["--skip", "audit-manager"]);
    aws_env(&mut cmd, &replay.url);
    // Nothing listens on this port (the listener above is gone).
    cmd.env("AWS_ENDPOINT_URL_BACKUP", format!("http://127.0.0.1:{closed}"));
    let out = cmd.output().unwrap();
    let (so, se) = (stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(1), "{so}\n{se}");
    assert!(se.contains("backup:ListBackupJobs: endpoint unreachable"), "{se}");
    // One failure for Backup (its remaining calls are not tried against a dead endpoint)…
    let summary: Vec<&str> = se.lines().filter(|l| l.starts_with("  account ")).collect();
    assert_eq!(summary.len(), 1, "{se}");
    assert!(summary[0].contains("Connection refused") && !summary[0].contains("DispatchFailure {"), "{se}");
    // …and the other services were still collected and kept.
    let names: Vec<String> = files_under(&store).iter().map(|f| f.rsplit('/').next().unwrap().to_owned()).collect();
    assert!(
        names.contains(&"describe-alarms.json".to_owned()) && names.contains(&"get-resources.json".to_owned()),
        "{names:?}"
    );
    assert!(!names.iter().any(|n| n.starts_with("list-backup")), "{names:?}");
}

#[test]
fn an_account_whose_role_cannot_be_assumed_is_reported_and_the_others_are_collected() {
    // STS from the replay server (moto grants every AssumeRole): the caller is known, the
    // role in the second account refuses.
    let inner = handler(Arc::new(AtomicUsize::new(0)));
    let replay = Replay::start(move |r: &Req, n: usize| {
        if r.method == "POST" && r.path == "/" && r.body.contains("Action=GetCallerIdentity") {
            return Resp::xml(
                200,
                format!(
                    "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult>\
                     <Arn>arn:aws:iam::{ACCOUNT}:user/collector</Arn><UserId>AIDAEXAMPLE</UserId><Account>{ACCOUNT}</Account>\
                     </GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
                ),
            );
        }
        if r.method == "POST" && r.path == "/" && r.body.contains("Action=AssumeRole") {
            return Resp::xml(
                403,
                format!(
                    "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type>\
                     <Code>AccessDenied</Code><Message>User: arn:aws:iam::{ACCOUNT}:user/collector is not authorized to \
                     perform: sts:AssumeRole on resource: arn:aws:iam::210987654321:role/DoraEvidenceCollector</Message>\
                     </Error><RequestId>2</RequestId></ErrorResponse>"
                ),
            );
        }
        inner(r, n)
    });
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let mut cmd = bin();
    cmd.args(["collect", "--out", store.to_str().unwrap(), "--regions", "eu-west-1"]);
    cmd.args(["--accounts", &format!("{ACCOUNT},210987654321"), "--assume-role-name", "DoraEvidenceCollector"]);
    cmd.args(["--skip", "audit-manager,tags,alarms"]);
    aws_env(&mut cmd, &replay.url);
    cmd.env("AWS_ENDPOINT_URL_STS", &replay.url);
    let out = cmd.output().unwrap();
    let (so, se) = (stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(1), "{so}\n{se}");
    assert!(
        se.contains("account 210987654321: sts:AssumeRole: access denied (AssumeRoleFailed: arn:aws:iam::210987654321:role/DoraEvidenceCollector: AccessDenied: User:")
            && se.contains("trust the caller")
            && !se.contains("Error {"),
        "{se}"
    );
    assert!(so.contains(&format!("{ACCOUNT} eu-west-1:")) && so.contains("— ok"), "{so}");
    assert!(store.join("collected").join(ACCOUNT).join("eu-west-1").is_dir());
    assert!(!store.join("collected").join("210987654321").exists());
}
