//! CloudWatch metric and composite alarms as `aws cloudwatch describe-alarms` prints them.
//!
//! CloudWatch answers the Rust SDK in CBOR (Smithy RPC v2), not JSON, so unlike the other
//! services its snapshot is written from the SDK's typed output, field by field, with the
//! AWS CLI's member names and epoch-second timestamps like the other snapshots.

use std::collections::BTreeSet;

use aws_sdk_cloudwatch::types::{CompositeAlarm, Dimension, MetricAlarm, MetricDataQuery};
use aws_smithy_types::DateTime;
use serde_json::{Map, Value, json};

const NAMESPACE: &str = "AWS/Backup";

/// Whether the alarm watches an `AWS/Backup` metric: directly, inside metric math, or in a
/// Metrics Insights query (`SELECT … FROM "AWS/Backup"` / `SCHEMA("AWS/Backup", …)`).
pub(crate) fn on_backup(a: &MetricAlarm) -> bool {
    a.namespace() == Some(NAMESPACE)
        || a.metrics().iter().any(|q| {
            q.metric_stat().and_then(|s| s.metric()).and_then(|m| m.namespace()) == Some(NAMESPACE)
                || q.expression().is_some_and(|e| e.contains(NAMESPACE))
        })
}

/// The composite alarms whose rule names a kept metric alarm, directly or through another
/// kept composite alarm, in the order given.
pub(crate) fn over_kept(metric: &[MetricAlarm], composite: Vec<CompositeAlarm>) -> Vec<CompositeAlarm> {
    let mut names: BTreeSet<String> = metric.iter().filter_map(|a| a.alarm_name().map(str::to_owned)).collect();
    let mut keep = vec![false; composite.len()];
    loop {
        let mut grew = false;
        for (i, c) in composite.iter().enumerate() {
            if keep[i] {
                continue;
            }
            let refs = crate::alarm_rule::references(c.alarm_rule().unwrap_or(""));
            if refs.iter().any(|r| names.contains(&r.name)) {
                keep[i] = true;
                grew = true;
                names.extend(c.alarm_name().map(str::to_owned));
            }
        }
        if !grew {
            break;
        }
    }
    composite.into_iter().zip(keep).filter_map(|(c, k)| k.then_some(c)).collect()
}

fn time(t: Option<&DateTime>) -> Value {
    t.and_then(|t| t.to_millis().ok()).map(|ms| json!(ms as f64 / 1000.0)).unwrap_or(Value::Null)
}

fn dims(d: &[Dimension]) -> Value {
    Value::Array(d.iter().map(|d| json!({ "Name": d.name(), "Value": d.value() })).collect())
}

fn query(q: &MetricDataQuery) -> Value {
    let stat = q.metric_stat().map(|s| {
        json!({
            "Metric": s.metric().map(|m| json!({
                "Namespace": m.namespace(),
                "MetricName": m.metric_name(),
                "Dimensions": dims(m.dimensions()),
            })),
            "Period": s.period(),
            "Stat": s.stat(),
            "Unit": s.unit().map(|u| u.as_str()),
        })
    });
    strip(json!({
        "Id": q.id(),
        "MetricStat": stat,
        "Expression": q.expression(),
        "Label": q.label(),
        "ReturnData": q.return_data(),
        "Period": q.period(),
        "AccountId": q.account_id(),
    }))
}

/// Drops members without a value, as the AWS CLI does.
fn strip(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k, strip(v))).collect::<Map<_, _>>(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(strip).collect()),
        other => other,
    }
}

/// The members metric and composite alarms share (the SDK gives them no common type), merged
/// with the kind's own members. The JSON maps keep keys sorted, so the order is irrelevant.
macro_rules! alarm_json {
    ($a:expr, $own:expr) => {{
        let a = $a;
        let mut common = json!({
            "AlarmName": a.alarm_name(),
            "AlarmArn": a.alarm_arn(),
            "AlarmDescription": a.alarm_description(),
            "AlarmConfigurationUpdatedTimestamp": time(a.alarm_configuration_updated_timestamp()),
            "ActionsEnabled": a.actions_enabled(),
            "OKActions": a.ok_actions(),
            "AlarmActions": a.alarm_actions(),
            "InsufficientDataActions": a.insufficient_data_actions(),
            "StateValue": a.state_value().map(|s| s.as_str()),
            "StateReason": a.state_reason(),
            "StateReasonData": a.state_reason_data(),
            "StateUpdatedTimestamp": time(a.state_updated_timestamp()),
            "StateTransitionedTimestamp": time(a.state_transitioned_timestamp()),
        });
        if let (Value::Object(all), Value::Object(own)) = (&mut common, $own) {
            all.extend(own);
        }
        strip(common)
    }};
}

/// One `MetricAlarms` item.
pub(crate) fn to_json(a: &MetricAlarm) -> Value {
    alarm_json!(
        a,
        json!({
            "MetricName": a.metric_name(),
            "Namespace": a.namespace(),
            "Statistic": a.statistic().map(|s| s.as_str()),
            "ExtendedStatistic": a.extended_statistic(),
            "Dimensions": dims(a.dimensions()),
            "Period": a.period(),
            "Unit": a.unit().map(|u| u.as_str()),
            "EvaluationPeriods": a.evaluation_periods(),
            "DatapointsToAlarm": a.datapoints_to_alarm(),
            "Threshold": a.threshold(),
            "ComparisonOperator": a.comparison_operator().map(|c| c.as_str()),
            "TreatMissingData": a.treat_missing_data(),
            "EvaluateLowSampleCountPercentile": a.evaluate_low_sample_count_percentile(),
            "Metrics": Value::Array(a.metrics().iter().map(query).collect()),
            "ThresholdMetricId": a.threshold_metric_id(),
            "EvaluationState": a.evaluation_state().map(|s| s.as_str()),
            "EvaluationInterval": a.evaluation_interval(),
            "WarmUpConfiguration": a.warm_up_configuration().map(|w| json!({
                "WarmUpPeriodDurationInMinutes": w.warm_up_period_duration_in_minutes(),
                "OnlyStartEvaluatingAfterWarmUpPeriodEnds": w.only_start_evaluating_after_warm_up_period_ends(),
            })),
            "EvaluationCriteria": a.evaluation_criteria().and_then(|c| c.as_prom_ql_criteria().ok()).map(|p| json!({
                "PromQLCriteria": {
                    "Query": p.query(),
                    "PendingPeriod": p.pending_period(),
                    "RecoveryPeriod": p.recovery_period(),
                }
            })),
        })
    )
}

/// One `CompositeAlarms` item.
pub(crate) fn composite_to_json(a: &CompositeAlarm) -> Value {
    alarm_json!(
        a,
        json!({
            "AlarmRule": a.alarm_rule(),
            "ActionsSuppressedBy": a.actions_suppressed_by().map(|s| s.as_str()),
            "ActionsSuppressedReason": a.actions_suppressed_reason(),
            "ActionsSuppressor": a.actions_suppressor(),
            "ActionsSuppressorWaitPeriod": a.actions_suppressor_wait_period(),
            "ActionsSuppressorExtensionPeriod": a.actions_suppressor_extension_period(),
        })
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudwatch::types::{ComparisonOperator, Metric, MetricStat, StateValue};

    #[test]
    fn backup_alarm_in_cli_shape() {
        let a = MetricAlarm::builder()
            .alarm_name("backup-failed")
            .alarm_arn("arn:aws:cloudwatch:eu-west-1:111122223333:alarm:backup-failed")
            .namespace("AWS/Backup")
            .metric_name("NumberOfBackupJobsFailed")
            .dimensions(Dimension::builder().name("BackupVaultName").value("central").build())
            .state_value(StateValue::Ok)
            .actions_enabled(true)
            .alarm_actions("arn:aws:sns:eu-west-1:111122223333:ops")
            .threshold(0.0)
            .comparison_operator(ComparisonOperator::GreaterThanThreshold)
            .state_updated_timestamp(DateTime::from_secs(1_790_000_000))
            .build();
        assert!(on_backup(&a));
        let v = to_json(&a);
        assert_eq!(v["Namespace"], "AWS/Backup");
        assert_eq!(v["Dimensions"][0]["Value"], "central");
        assert_eq!(v["StateValue"], "OK");
        assert_eq!(v["StateUpdatedTimestamp"], 1_790_000_000.0);
        assert!(v.get("AlarmDescription").is_none());
    }

    #[test]
    fn metric_math_on_backup_counts_and_other_namespaces_do_not() {
        let math = MetricAlarm::builder()
            .alarm_name("m")
            .metrics(
                MetricDataQuery::builder()
                    .id("m1")
                    .metric_stat(
                        MetricStat::builder()
                            .metric(
                                Metric::builder().namespace("AWS/Backup").metric_name("NumberOfCopyJobsFailed").build(),
                            )
                            .period(300)
                            .stat("Sum")
                            .build(),
                    )
                    .build(),
            )
            .build();
        assert!(on_backup(&math));
        let ec2 = MetricAlarm::builder().alarm_name("cpu").namespace("AWS/EC2").build();
        assert!(!on_backup(&ec2));
        let insights = MetricAlarm::builder()
            .alarm_name("insights")
            .metrics(
                MetricDataQuery::builder()
                    .id("q1")
                    .expression(r#"SELECT SUM(NumberOfBackupJobsFailed) FROM "AWS/Backup""#)
                    .period(3600)
                    .build(),
            )
            .build();
        assert!(on_backup(&insights));
        assert_eq!(
            to_json(&insights)["Metrics"][0]["Expression"],
            r#"SELECT SUM(NumberOfBackupJobsFailed) FROM "AWS/Backup""#
        );
    }

    #[test]
    fn composite_alarms_are_kept_when_their_rule_reaches_a_kept_alarm() {
        let failed = MetricAlarm::builder().alarm_name("backup-failed").namespace("AWS/Backup").build();
        let c = |name: &str, rule: &str| CompositeAlarm::builder().alarm_name(name).alarm_rule(rule).build();
        let kept = over_kept(
            &[failed],
            vec![
                c("outer", r#"ALARM("inner") AND NOT ALARM("maintenance")"#),
                c("inner", r#"ALARM("backup-failed") OR ALARM("cpu")"#),
                c("unrelated", r#"ALARM("cpu")"#),
            ],
        );
        let names: Vec<_> = kept.iter().filter_map(|a| a.alarm_name()).collect();
        assert_eq!(names, ["outer", "inner"]);
        assert_eq!(composite_to_json(&kept[1])["AlarmRule"], r#"ALARM("backup-failed") OR ALARM("cpu")"#);
    }
}
