//! CloudWatch metric alarms as `aws cloudwatch describe-alarms` prints them.
//!
//! CloudWatch answers the Rust SDK in CBOR (Smithy RPC v2), not JSON, so unlike the other
//! services its snapshot is written from the SDK's typed output, field by field, with the
//! AWS CLI's member names and epoch-second timestamps like the other snapshots.

use aws_sdk_cloudwatch::types::{Dimension, MetricAlarm, MetricDataQuery};
use aws_smithy_types::DateTime;
use serde_json::{Map, Value, json};

const NAMESPACE: &str = "AWS/Backup";

/// Whether the alarm watches an `AWS/Backup` metric, directly or inside metric math.
pub(crate) fn on_backup(a: &MetricAlarm) -> bool {
    a.namespace() == Some(NAMESPACE)
        || a.metrics()
            .iter()
            .any(|q| q.metric_stat().and_then(|s| s.metric()).and_then(|m| m.namespace()) == Some(NAMESPACE))
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

/// One `MetricAlarms` item.
pub(crate) fn to_json(a: &MetricAlarm) -> Value {
    strip(json!({
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
    }))
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
    }
}
