//! Field names and values shared by every format.
//!
//! AWS spells one field many ways: `backupJobId` in JSON reports, `Backup Job ID` or
//! `"Backup Job ID [..]"` in CSV reports, `backup_job_id` in Athena exports, `BackupJobId` in
//! the API. All of them normalise to one key (`backupjobid`): ASCII letters and digits only,
//! lower-cased, anything from a `[` on dropped. Each record type then maps normalised keys to
//! its fields in one `match`, so a new spelling needs no code, and unknown columns (such as
//! `path_to_root`) are ignored.
//!
//! Bad values (DESIGN §3 v2): only a record's essential fields — its id, its state, its
//! creation time ([`FieldSink::essential`]) — make it unreadable. Any other bad value (a size
//! `"N/A"`, a flag `"maybe"`, an auxiliary date) leaves its field empty and is reported by the
//! caller, and the record is kept. Flags read `true`/`false` as JSON booleans or as text in any
//! case (`"TRUE"`).

use std::borrow::Cow;

use crate::evidence::model::{
    Alarm, CollectionGap, ControlResult, Job, JobKind, LegalHold, RecoveryPoint, ReportIntegrity, ResourceCompliance,
    RestoreTestingPlan, RestoreTestingSelection, TaggedResource, Vault,
};
use crate::time::Timestamp;

/// A normalised field name, kept on the stack.
#[derive(Clone, Copy)]
pub struct NormKey {
    buf: [u8; 48],
    len: u8,
}

impl NormKey {
    /// Normalises a raw field name.
    pub fn new(raw: &str) -> Self {
        let mut k = NormKey { buf: [0; 48], len: 0 };
        for b in raw.bytes() {
            if b == b'[' {
                break;
            }
            if b.is_ascii_alphanumeric() && (k.len as usize) < k.buf.len() {
                k.buf[k.len as usize] = b.to_ascii_lowercase();
                k.len += 1;
            }
        }
        k
    }

    /// The normalised name (ASCII).
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len as usize]
    }
}

/// A field value as a format gives it, before conversion.
#[derive(Debug, Clone, Copy)]
pub enum Scalar<'a> {
    /// JSON null or an empty CSV cell.
    Null,
    /// Text.
    Str(&'a str),
    /// An unsigned JSON number.
    U64(u64),
    /// A negative JSON number.
    I64(i64),
    /// A JSON number with a fraction or exponent.
    F64(f64),
    /// A JSON boolean.
    Bool(bool),
}

impl<'a> Scalar<'a> {
    /// Text, or `None` for null / empty. Numbers and booleans are printed.
    pub fn text(self) -> Option<Cow<'a, str>> {
        match self {
            Scalar::Null => None,
            Scalar::Str(s) => {
                let padded = s.as_bytes().first().is_some_and(u8::is_ascii_whitespace)
                    || s.as_bytes().last().is_some_and(u8::is_ascii_whitespace);
                let t = if padded { s.trim() } else { s };
                (!t.is_empty()).then_some(Cow::Borrowed(t))
            }
            Scalar::U64(v) => Some(Cow::Owned(v.to_string())),
            Scalar::I64(v) => Some(Cow::Owned(v.to_string())),
            Scalar::F64(v) => Some(Cow::Owned(v.to_string())),
            Scalar::Bool(v) => Some(Cow::Borrowed(if v { "true" } else { "false" })),
        }
    }

    fn string(self) -> Option<String> {
        self.text().map(Cow::into_owned)
    }

    /// Upper-cased text, for states and statuses.
    fn upper(self) -> Option<String> {
        self.text().map(|t| t.to_ascii_uppercase())
    }

    /// A timestamp: ISO 8601 text or epoch seconds.
    pub fn timestamp(self) -> Result<Option<Timestamp>, String> {
        match self {
            Scalar::Null => Ok(None),
            Scalar::Str(s) if s.trim().is_empty() => Ok(None),
            Scalar::Str(s) => Timestamp::parse(s).map(Some),
            Scalar::U64(v) => {
                Timestamp::from_epoch(v as f64).map(Some).ok_or_else(|| format!("timestamp out of range: {v}"))
            }
            Scalar::I64(v) => {
                Timestamp::from_epoch(v as f64).map(Some).ok_or_else(|| format!("timestamp out of range: {v}"))
            }
            Scalar::F64(v) => Timestamp::from_epoch(v).map(Some).ok_or_else(|| format!("timestamp out of range: {v}")),
            Scalar::Bool(v) => Err(format!("expected a timestamp, found {v}")),
        }
    }

    /// A non-negative integer (numbers may come as text; `"12.0"` is fine, `"12.5"` is not).
    pub fn count(self) -> Result<Option<u64>, String> {
        match self {
            Scalar::Null => Ok(None),
            Scalar::U64(v) => Ok(Some(v)),
            Scalar::I64(v) => Err(format!("expected a non-negative integer, found {v}")),
            Scalar::F64(v) if v >= 0.0 && v.fract() == 0.0 && v < 1.8e19 => Ok(Some(v as u64)),
            Scalar::F64(v) => Err(format!("expected a non-negative integer, found {v}")),
            Scalar::Bool(v) => Err(format!("expected a non-negative integer, found {v}")),
            Scalar::Str(s) => {
                let t = s.trim();
                if t.is_empty() {
                    return Ok(None);
                }
                if let Ok(v) = t.parse::<u64>() {
                    return Ok(Some(v));
                }
                match t.parse::<f64>() {
                    Ok(v) if v >= 0.0 && v.fract() == 0.0 && v < 1.8e19 => Ok(Some(v as u64)),
                    _ => Err(format!("expected a non-negative integer, found {t:?}")),
                }
            }
        }
    }

    /// A number.
    pub fn number(self) -> Result<Option<f64>, String> {
        match self {
            Scalar::Null => Ok(None),
            Scalar::U64(v) => Ok(Some(v as f64)),
            Scalar::I64(v) => Ok(Some(v as f64)),
            Scalar::F64(v) => Ok(Some(v)),
            Scalar::Bool(v) => Err(format!("expected a number, found {v}")),
            Scalar::Str(s) if s.trim().is_empty() => Ok(None),
            Scalar::Str(s) => s.trim().parse::<f64>().map(Some).map_err(|_| format!("expected a number, found {s:?}")),
        }
    }

    /// A boolean (`true`/`false` in any case; JSON booleans).
    pub fn flag(self) -> Result<Option<bool>, String> {
        match self {
            Scalar::Null => Ok(None),
            Scalar::Bool(v) => Ok(Some(v)),
            Scalar::Str(s) => {
                let t = s.trim();
                if t.is_empty() {
                    Ok(None)
                } else if t.eq_ignore_ascii_case("true") {
                    Ok(Some(true))
                } else if t.eq_ignore_ascii_case("false") {
                    Ok(Some(false))
                } else {
                    Err(format!("expected true or false, found {t:?}"))
                }
            }
            other => Err(format!("expected true or false, found {other:?}")),
        }
    }
}

/// A record that takes fields by normalised name.
pub trait FieldSink {
    /// Sets one field. Unknown keys are ignored; a bad value is an error message.
    ///
    /// # Errors
    /// When the value cannot be read as the field's type.
    fn set(&mut self, key: &[u8], value: Scalar<'_>) -> Result<(), String>;

    /// Whether a bad value of `key` makes the record unreadable: its id, its state, its
    /// creation time (DESIGN §3 v2). A bad value of any other field leaves that field empty;
    /// the caller reports it and keeps the record.
    fn essential(&self, key: &[u8]) -> bool;

    /// Receives a JSON array field (tags, alarm actions). Ignored by default.
    ///
    /// # Errors
    /// When the array's items have the wrong shape.
    fn set_array(&mut self, _key: &[u8], _items: &[serde_json::Value]) -> Result<(), String> {
        Ok(())
    }

    /// Called once all fields are in; checks required fields.
    ///
    /// # Errors
    /// When a required field is missing.
    fn finish(&mut self) -> Result<(), String>;
}

/// The end of a `"start - end"` report period.
fn period_end(v: Scalar<'_>) -> Result<Option<Timestamp>, String> {
    let Some(text) = v.text() else { return Ok(None) };
    match text.rsplit_once(" - ") {
        Some((_, end)) => Timestamp::parse(end).map(Some),
        None => Err(format!("expected \"start - end\", found {text:?}")),
    }
}

fn set_kind(job: &mut Job, kind: JobKind, v: Scalar<'_>) -> Result<(), String> {
    if let Some(k) = job.kind
        && k != kind
    {
        return Err(format!("row has both a {} and a {} job id", k.as_str(), kind.as_str()));
    }
    job.kind = Some(kind);
    job.job_id = v.string().ok_or("empty job id")?;
    Ok(())
}

impl FieldSink for Job {
    fn essential(&self, key: &[u8]) -> bool {
        matches!(
            key,
            b"backupjobid" | b"copyjobid" | b"restorejobid" | b"jobstatus" | b"state" | b"status" | b"creationdate"
        )
    }

    fn set(&mut self, key: &[u8], v: Scalar<'_>) -> Result<(), String> {
        match key {
            b"backupjobid" => set_kind(self, JobKind::Backup, v)?,
            b"copyjobid" => set_kind(self, JobKind::Copy, v)?,
            b"restorejobid" => set_kind(self, JobKind::Restore, v)?,
            b"accountid" => self.account_id = v.string(),
            b"region" => self.region = v.string(),
            b"jobstatus" | b"state" | b"status" => self.state = v.upper(),
            b"statusmessage" => self.status_message = v.string(),
            b"messagecategory" => self.message_category = v.string(),
            b"resourcearn" | b"sourceresourcearn" => self.resource_arn = v.string(),
            b"resourcetype" => self.resource_type = v.string(),
            b"resourcename" => self.resource_name = v.string(),
            b"creationdate" => self.creation_date = v.timestamp()?,
            b"completiondate" => self.completion_date = v.timestamp()?,
            b"initiationdate" => self.initiation_date = v.timestamp()?,
            b"expectedcompletiondate" => self.expected_completion_date = v.timestamp()?,
            b"backupvaultname" => self.backup_vault_name = v.string(),
            b"backupvaultarn" | b"sourcebackupvaultarn" => self.backup_vault_arn = v.string(),
            b"destinationbackupvaultarn" => self.destination_vault_arn = v.string(),
            b"recoverypointarn" | b"sourcerecoverypointarn" => self.recovery_point_arn = v.string(),
            b"destinationrecoverypointarn" => self.destination_recovery_point_arn = v.string(),
            b"backupsizeinbytes" => self.backup_size_bytes = v.count()?,
            b"iamrolearn" => self.iam_role_arn = v.string(),
            b"backupplanarn" => self.backup_plan_arn = v.string(),
            b"backupplanname" => self.backup_plan_name = v.string(),
            b"backupruleid" => self.backup_rule_id = v.string(),
            b"backuprulename" => self.backup_rule_name = v.string(),
            b"isparentjob" | b"isparent" => self.is_parent = v.flag()?,
            b"parentjobid" => self.parent_job_id = v.string(),
            b"vaulttype" | b"destinationvaulttype" => self.vault_type = v.string(),
            b"vaultlockstatus" | b"vaultlockstate" | b"destinationvaultlockstate" => self.vault_lock_state = v.upper(),
            b"isencrypted" => self.is_encrypted = v.flag()?,
            b"jobruntime" => self.job_run_time = v.string(),
            b"percentdone" => self.percent_done = v.string(),
            b"restoretestingplanarn" => self.restore_testing_plan_arn = v.string(),
            b"validationstatus" => self.validation_status = v.upper(),
            b"validationstatusmessage" => self.validation_status_message = v.string(),
            b"deletionstatus" => self.deletion_status = v.upper(),
            b"createdresourcearn" => self.created_resource_arn = v.string(),
            b"recoverypointcreationdate" => self.recovery_point_creation_date = v.timestamp()?,
            b"reporttimeperiodend" => self.observed_at = v.timestamp()?,
            b"reporttimeperiod" => self.observed_at = period_end(v)?,
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), String> {
        if self.kind.is_none() || self.job_id.is_empty() {
            return Err("no job id (backupJobId, copyJobId or restoreJobId)".into());
        }
        Ok(())
    }
}

impl FieldSink for RecoveryPoint {
    fn essential(&self, key: &[u8]) -> bool {
        matches!(key, b"recoverypointarn" | b"status" | b"creationdate")
    }

    fn set(&mut self, key: &[u8], v: Scalar<'_>) -> Result<(), String> {
        match key {
            b"recoverypointarn" => self.recovery_point_arn = v.string().unwrap_or_default(),
            b"accountid" => self.account_id = v.string(),
            b"region" => self.region = v.string(),
            b"backupvaultname" => self.backup_vault_name = v.string(),
            b"backupvaultarn" => self.backup_vault_arn = v.string(),
            b"resourcearn" => self.resource_arn = v.string(),
            b"resourcetype" => self.resource_type = v.string(),
            b"resourcename" => self.resource_name = v.string(),
            b"status" => self.status = v.upper(),
            b"creationdate" => self.creation_date = v.timestamp()?,
            b"completiondate" => self.completion_date = v.timestamp()?,
            b"backupsizeinbytes" => self.backup_size_bytes = v.count()?,
            b"isencrypted" => self.is_encrypted = v.flag()?,
            b"encryptionkeyarn" => self.encryption_key_arn = v.string(),
            b"storageclass" => self.storage_class = v.upper(),
            b"deleteat" => self.delete_at = v.timestamp()?,
            b"movetocoldstorageat" => self.move_to_cold_storage_at = v.timestamp()?,
            b"lastrestoretime" => self.last_restore_time = v.timestamp()?,
            b"vaulttype" => self.vault_type = v.string(),
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), String> {
        if self.recovery_point_arn.is_empty() {
            return Err("no RecoveryPointArn".into());
        }
        Ok(())
    }
}

impl FieldSink for ControlResult {
    fn essential(&self, key: &[u8]) -> bool {
        matches!(key, b"controlname" | b"lastevaluationtime")
    }

    fn set(&mut self, key: &[u8], v: Scalar<'_>) -> Result<(), String> {
        match key {
            b"accountid" => self.account_id = v.string(),
            b"region" => self.region = v.string(),
            b"frameworkname" => self.framework_name = v.string(),
            b"controlname" => self.control_name = v.string().unwrap_or_default(),
            b"controlcompliancestatus" => self.compliance_status = v.upper(),
            b"lastevaluationtime" => self.last_evaluation_time = v.timestamp()?,
            b"numresourcescompliant" => self.resources_compliant = v.count()?,
            b"numresourcesnoncompliant" => self.resources_non_compliant = v.count()?,
            b"controlparameters" => self.control_parameters = v.string(),
            b"reporttimeperiodend" => self.observed_at = v.timestamp()?,
            b"reporttimeperiod" => self.observed_at = period_end(v)?,
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), String> {
        if self.control_name.is_empty() {
            return Err("no controlName".into());
        }
        Ok(())
    }
}

impl FieldSink for ResourceCompliance {
    fn essential(&self, key: &[u8]) -> bool {
        matches!(key, b"resourceid" | b"lastevaluationtime")
    }

    fn set(&mut self, key: &[u8], v: Scalar<'_>) -> Result<(), String> {
        match key {
            b"accountid" => self.account_id = v.string(),
            b"region" => self.region = v.string(),
            b"frameworkname" => self.framework_name = v.string(),
            b"controlname" => self.control_name = v.string(),
            b"resourceid" => self.resource_id = v.string().unwrap_or_default(),
            b"resourcetype" => self.resource_type = v.string(),
            b"resourcecompliancestatus" => self.compliance_status = v.upper(),
            b"lastevaluationtime" => self.last_evaluation_time = v.timestamp()?,
            b"reporttimeperiodend" => self.observed_at = v.timestamp()?,
            b"reporttimeperiod" => self.observed_at = period_end(v)?,
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), String> {
        if self.resource_id.is_empty() {
            return Err("no resourceId".into());
        }
        Ok(())
    }
}

impl FieldSink for Vault {
    fn essential(&self, key: &[u8]) -> bool {
        matches!(key, b"backupvaultarn")
    }

    fn set(&mut self, key: &[u8], v: Scalar<'_>) -> Result<(), String> {
        match key {
            b"backupvaultarn" => self.vault_arn = v.string().unwrap_or_default(),
            b"backupvaultname" => self.vault_name = v.string(),
            b"vaulttype" => self.vault_type = v.string(),
            b"vaultstate" => self.vault_state = v.upper(),
            b"encryptionkeyarn" => self.encryption_key_arn = v.string(),
            b"creationdate" => self.creation_date = v.timestamp()?,
            b"numberofrecoverypoints" => self.number_of_recovery_points = v.count()?,
            b"locked" => self.locked = v.flag()?,
            b"minretentiondays" => self.min_retention_days = v.count()?,
            b"maxretentiondays" => self.max_retention_days = v.count()?,
            b"lockdate" => self.lock_date = v.timestamp()?,
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), String> {
        if self.vault_arn.is_empty() {
            return Err("no BackupVaultArn".into());
        }
        Ok(())
    }
}

impl FieldSink for LegalHold {
    fn essential(&self, key: &[u8]) -> bool {
        matches!(key, b"legalholdid")
    }

    fn set(&mut self, key: &[u8], v: Scalar<'_>) -> Result<(), String> {
        match key {
            b"legalholdid" => self.legal_hold_id = v.string().unwrap_or_default(),
            b"legalholdarn" => self.legal_hold_arn = v.string(),
            b"title" => self.title = v.string(),
            b"status" => self.status = v.upper(),
            b"description" => self.description = v.string(),
            b"creationdate" => self.creation_date = v.timestamp()?,
            b"cancellationdate" => self.cancellation_date = v.timestamp()?,
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), String> {
        if self.legal_hold_id.is_empty() {
            return Err("no LegalHoldId".into());
        }
        Ok(())
    }
}

impl FieldSink for ReportIntegrity {
    fn essential(&self, key: &[u8]) -> bool {
        matches!(key, b"s3relativepath")
    }

    fn set(&mut self, key: &[u8], v: Scalar<'_>) -> Result<(), String> {
        match key {
            b"s3relativepath" => self.s3_path = v.string().unwrap_or_default(),
            b"signaturevalid" => self.signature_valid = v.flag()?,
            b"signaturealgorithm" => self.signature_algorithm = v.string(),
            b"signaturedatetime" => self.signature_date_time = v.string(),
            b"signaturekeyid" => self.signature_key_id = v.string(),
            _ => {}
        }
        Ok(())
    }

    fn set_array(&mut self, key: &[u8], items: &[serde_json::Value]) -> Result<(), String> {
        if key == b"validationerrors" {
            let errors = items
                .iter()
                .map(|v| v.as_str().map(str::to_owned).ok_or("validationErrors must hold strings"))
                .collect::<Result<Vec<_>, _>>()?;
            self.validation_errors = (!errors.is_empty()).then(|| errors.join("; "));
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), String> {
        if !self.s3_path.to_ascii_lowercase().starts_with("s3://") {
            return Err("no s3RelativePath (s3://bucket/key)".into());
        }
        Ok(())
    }
}

impl FieldSink for CollectionGap {
    fn essential(&self, key: &[u8]) -> bool {
        matches!(key, b"lostfrom" | b"lostto")
    }

    fn set(&mut self, key: &[u8], v: Scalar<'_>) -> Result<(), String> {
        match key {
            b"accountid" => self.account_id = v.string(),
            b"region" => self.region = v.string(),
            b"lostfrom" => self.lost_from = v.timestamp()?,
            b"lostto" => self.lost_to = v.timestamp()?,
            b"detectedat" => self.detected_at = v.timestamp()?,
            _ => {}
        }
        Ok(())
    }

    fn set_array(&mut self, key: &[u8], items: &[serde_json::Value]) -> Result<(), String> {
        if key == b"listings" {
            let names =
                items.iter().map(|v| v.as_str().ok_or("Listings must hold strings")).collect::<Result<Vec<_>, _>>()?;
            self.listings = (!names.is_empty()).then(|| names.join(";"));
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), String> {
        match (self.lost_from, self.lost_to) {
            (Some(_), Some(_)) => Ok(()),
            _ => Err("a collection gap needs LostFrom and LostTo".into()),
        }
    }
}

impl FieldSink for Alarm {
    fn essential(&self, key: &[u8]) -> bool {
        matches!(key, b"alarmarn")
    }

    fn set(&mut self, key: &[u8], v: Scalar<'_>) -> Result<(), String> {
        match key {
            b"alarmarn" => self.alarm_arn = v.string().unwrap_or_default(),
            b"alarmname" => self.alarm_name = v.string(),
            b"namespace" => self.namespace = v.string(),
            b"metricname" => self.metric_name = v.string(),
            b"statistic" => self.statistic = v.string(),
            b"comparisonoperator" => self.comparison_operator = v.string(),
            b"threshold" => self.threshold = v.number()?,
            b"evaluationperiods" => self.evaluation_periods = v.count()?,
            b"actionsenabled" => self.actions_enabled = v.flag()?,
            b"statevalue" => self.state_value = v.upper(),
            b"alarmrule" => self.alarm_rule = v.string(),
            _ => {}
        }
        Ok(())
    }

    fn set_array(&mut self, key: &[u8], items: &[serde_json::Value]) -> Result<(), String> {
        match key {
            b"metrics" => {
                let mut names: Vec<String> =
                    self.backup_metrics.iter().flat_map(|m| m.split(';')).map(str::to_owned).collect();
                names.extend(items.iter().flat_map(backup_metrics_of_query));
                names.sort();
                names.dedup();
                self.backup_metrics = (!names.is_empty()).then(|| names.join(";"));
            }
            b"alarmactions" => {
                let mut actions = items
                    .iter()
                    .map(|v| v.as_str().map(str::to_owned).ok_or("AlarmActions must hold strings"))
                    .collect::<Result<Vec<_>, _>>()?;
                actions.sort();
                self.alarm_actions = (!actions.is_empty()).then(|| actions.join(";"));
            }
            b"dimensions" => {
                let mut dims = items
                    .iter()
                    .map(|d| match (d.get("Name").and_then(|v| v.as_str()), d.get("Value").and_then(|v| v.as_str())) {
                        (Some(n), Some(v)) => Ok(format!("{n}={v}")),
                        _ => Err("Dimensions items need Name and Value".to_string()),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                dims.sort();
                self.dimensions = (!dims.is_empty()).then(|| dims.join(";"));
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), String> {
        if self.alarm_arn.is_empty() {
            return Err("no AlarmArn".into());
        }
        if self.actions_enabled.is_none() {
            self.actions_enabled = Some(true);
        }
        if self.namespace.as_deref() == Some(BACKUP_NAMESPACE)
            && let Some(m) = &self.metric_name
        {
            let mut names: Vec<&str> = self.backup_metrics.iter().flat_map(|m| m.split(';')).collect();
            names.push(m);
            names.sort_unstable();
            names.dedup();
            self.backup_metrics = Some(names.join(";"));
        }
        self.alarm_type = Some(if self.alarm_rule.is_some() { "composite" } else { "metric" }.to_owned());
        Ok(())
    }
}

const BACKUP_NAMESPACE: &str = "AWS/Backup";

/// The `AWS/Backup` metrics one `Metrics` item of an alarm watches: its `MetricStat`, or
/// the metric names (`NumberOf…`) in a Metrics Insights query on `AWS/Backup`.
fn backup_metrics_of_query(q: &serde_json::Value) -> Vec<String> {
    let metric = q.pointer("/MetricStat/Metric");
    if let Some(m) = metric
        && m.get("Namespace").and_then(|v| v.as_str()) == Some(BACKUP_NAMESPACE)
        && let Some(name) = m.get("MetricName").and_then(|v| v.as_str())
    {
        return vec![name.to_owned()];
    }
    let Some(expr) = q.get("Expression").and_then(|v| v.as_str()).filter(|e| e.contains(BACKUP_NAMESPACE)) else {
        return Vec::new();
    };
    expr.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| w.starts_with("NumberOf")).map(str::to_owned).collect()
}

impl FieldSink for TaggedResource {
    fn essential(&self, key: &[u8]) -> bool {
        matches!(key, b"resourcearn")
    }

    fn set(&mut self, key: &[u8], v: Scalar<'_>) -> Result<(), String> {
        if key == b"resourcearn" {
            self.resource_arn = v.string().unwrap_or_default();
        }
        Ok(())
    }

    fn set_array(&mut self, key: &[u8], items: &[serde_json::Value]) -> Result<(), String> {
        if key == b"tags" {
            // All or nothing: a bad item leaves the tags empty.
            let mut tags = items
                .iter()
                .map(|t| match (t.get("Key").and_then(|v| v.as_str()), t.get("Value").and_then(|v| v.as_str())) {
                    (Some(k), Some(v)) => Ok((k.to_owned(), v.to_owned())),
                    _ => Err("Tags items need Key and Value strings".to_string()),
                })
                .collect::<Result<Vec<_>, _>>()?;
            tags.sort();
            tags.dedup_by(|a, b| a.0 == b.0);
            self.tags = tags;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), String> {
        if self.resource_arn.is_empty() {
            return Err("no ResourceARN".into());
        }
        Ok(())
    }
}

impl FieldSink for RestoreTestingPlan {
    fn essential(&self, key: &[u8]) -> bool {
        matches!(key, b"restoretestingplanarn")
    }

    fn set(&mut self, key: &[u8], v: Scalar<'_>) -> Result<(), String> {
        match key {
            b"restoretestingplanarn" => self.plan_arn = v.string().unwrap_or_default(),
            b"restoretestingplanname" => self.plan_name = v.string(),
            b"scheduleexpression" => self.schedule_expression = v.string(),
            b"creationtime" => self.creation_time = v.timestamp()?,
            b"lastexecutiontime" => self.last_execution_time = v.timestamp()?,
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), String> {
        if self.plan_arn.is_empty() {
            return Err("no RestoreTestingPlanArn".into());
        }
        Ok(())
    }
}

impl FieldSink for RestoreTestingSelection {
    fn essential(&self, key: &[u8]) -> bool {
        matches!(key, b"restoretestingplanname" | b"restoretestingselectionname")
    }

    fn set(&mut self, key: &[u8], v: Scalar<'_>) -> Result<(), String> {
        match key {
            b"restoretestingplanname" => self.plan_name = v.string().unwrap_or_default(),
            b"restoretestingselectionname" => self.selection_name = v.string().unwrap_or_default(),
            b"protectedresourcetype" => self.protected_resource_type = v.string(),
            b"iamrolearn" => self.iam_role_arn = v.string(),
            b"validationwindowhours" => self.validation_window_hours = v.count()?,
            b"creationtime" => self.creation_time = v.timestamp()?,
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), String> {
        if self.plan_name.is_empty() || self.selection_name.is_empty() {
            return Err("no RestoreTestingPlanName or RestoreTestingSelectionName".into());
        }
        Ok(())
    }
}

/// Feeds a parsed JSON object into a sink, flattening nested objects
/// (`CreatedBy.RestoreTestingPlanArn` → `restoretestingplanarn`). Errors name the JSON
/// pointer below `pointer`. A bad non-essential field ([`FieldSink::essential`]) is left
/// empty and pushed to `soft` as (JSON pointer, message); reading goes on.
///
/// # Errors
/// The first essential field that cannot be read, as (JSON pointer, message).
pub fn feed_value(
    sink: &mut dyn FieldSink,
    value: &serde_json::Value,
    pointer: &str,
    soft: &mut Vec<(String, String)>,
) -> Result<(), (String, String)> {
    let serde_json::Value::Object(map) = value else {
        return Err((pointer.to_owned(), "expected an object".into()));
    };
    for (k, v) in map {
        let key = NormKey::new(k);
        let at = || format!("{pointer}/{k}");
        let result = match v {
            serde_json::Value::Null => sink.set(key.as_bytes(), Scalar::Null),
            serde_json::Value::Bool(b) => sink.set(key.as_bytes(), Scalar::Bool(*b)),
            serde_json::Value::Number(n) => sink.set(key.as_bytes(), number_scalar(n)),
            serde_json::Value::String(s) => sink.set(key.as_bytes(), Scalar::Str(s)),
            serde_json::Value::Array(items) => sink.set_array(key.as_bytes(), items),
            serde_json::Value::Object(_) => {
                feed_value(sink, v, &at(), soft)?;
                continue;
            }
        };
        match result {
            Err(e) if sink.essential(key.as_bytes()) => return Err((at(), e)),
            Err(e) => soft.push((at(), e)),
            Ok(()) => {}
        }
    }
    Ok(())
}

fn number_scalar(n: &serde_json::Number) -> Scalar<'static> {
    if let Some(u) = n.as_u64() {
        Scalar::U64(u)
    } else if let Some(i) = n.as_i64() {
        Scalar::I64(i)
    } else {
        Scalar::F64(n.as_f64().unwrap_or(f64::NAN))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_normalises_to_one_key() {
        for raw in [
            "backupJobId",
            "BackupJobId",
            "Backup Job ID",
            "\"Backup Job ID\"",
            "backup_job_id",
            "\u{feff}Backup Job Id [uuid]",
            " BACKUP-JOB-ID ",
        ] {
            assert_eq!(NormKey::new(raw).as_bytes(), b"backupjobid", "{raw}");
        }
    }

    #[test]
    fn values_convert_or_explain() {
        assert_eq!(Scalar::Str(" 42 ").count().unwrap(), Some(42));
        assert_eq!(Scalar::F64(42.0).count().unwrap(), Some(42));
        assert!(Scalar::Str("4 2").count().is_err());
        assert!(Scalar::I64(-1).count().is_err());
        assert_eq!(Scalar::Str("TRUE").flag().unwrap(), Some(true));
        assert!(Scalar::Str("yes").flag().is_err());
        assert_eq!(Scalar::Str("").timestamp().unwrap(), None);
        assert!(Scalar::Str("31/12/2026").timestamp().is_err());
        assert_eq!(Scalar::F64(1_783_000_000.5).timestamp().unwrap(), Some(Timestamp(1_783_000_000_500)));
    }

    #[test]
    fn job_fields_from_any_format() {
        let mut job = Job::default();
        let v = serde_json::json!({
            "RestoreJobId": "r-1", "Status": "Completed", "CreationDate": 1783000000,
            "CreatedBy": {"RestoreTestingPlanArn": "arn:plan"}, "SourceResourceArn": "arn:src",
            "ValidationStatus": "successful", "BackupSizeInBytes": "1024"
        });
        let mut soft = Vec::new();
        feed_value(&mut job, &v, "/RestoreJobs/0", &mut soft).unwrap();
        assert!(soft.is_empty());
        job.finish().unwrap();
        assert_eq!(job.kind, Some(JobKind::Restore));
        assert_eq!(job.state.as_deref(), Some("COMPLETED"));
        assert_eq!(job.validation_status.as_deref(), Some("SUCCESSFUL"));
        assert_eq!(job.restore_testing_plan_arn.as_deref(), Some("arn:plan"));
        assert_eq!(job.resource_arn.as_deref(), Some("arn:src"));
        assert_eq!(job.backup_size_bytes, Some(1024));
        assert!(job.is_restore_test());

        let mut bad = Job::default();
        let v = serde_json::json!({"BackupJobId": "b", "CreationDate": "soon"});
        let err = feed_value(&mut bad, &v, "/BackupJobs/7", &mut soft).unwrap_err();
        assert_eq!(err.0, "/BackupJobs/7/CreationDate");
        assert!(err.1.contains("\"soon\""), "{}", err.1);

        let mut old = Job::default();
        old.set(b"reporttimeperiod", Scalar::Str("2026-07-13T00:00:00Z - 2026-07-14T00:00:00Z")).unwrap();
        assert_eq!(old.observed_at, Some(Timestamp::parse("2026-07-14T00:00:00Z").unwrap()));
        assert!(old.set(b"reporttimeperiod", Scalar::Str("2026-07-13")).is_err());
        assert!(old.finish().is_err());
    }

    #[test]
    fn a_bad_auxiliary_field_is_left_empty_and_the_record_kept() {
        let v = serde_json::json!({
            "BackupJobId": "b-1", "State": "FAILED", "CreationDate": "2026-07-14T05:00:00Z",
            "BackupSizeInBytes": "N/A", "IsParent": "maybe", "ExpectedCompletionDate": "soon",
            "RecoveryPointLifecycle": {"DeleteAfterDays": 35}, "StatusMessage": "Access denied"
        });
        let (mut job, mut soft) = (Job::default(), Vec::new());
        feed_value(&mut job, &v, "/BackupJobs/4", &mut soft).unwrap();
        job.finish().unwrap();
        assert_eq!(job.state.as_deref(), Some("FAILED"));
        assert_eq!(job.creation_date, Some(Timestamp::parse("2026-07-14T05:00:00Z").unwrap()));
        assert_eq!((job.backup_size_bytes, job.is_parent, job.expected_completion_date), (None, None, None));
        assert_eq!(job.status_message.as_deref(), Some("Access denied"));
        soft.sort();
        let places: Vec<&str> = soft.iter().map(|(at, _)| at.as_str()).collect();
        let want =
            ["/BackupJobs/4/BackupSizeInBytes", "/BackupJobs/4/ExpectedCompletionDate", "/BackupJobs/4/IsParent"];
        assert_eq!(places, want);
        assert!(soft[0].1.contains("\"N/A\""), "{}", soft[0].1);
        // Essential fields still drop the record: an id of the wrong kind, an unreadable creation time.
        let mut soft = Vec::new();
        let v = serde_json::json!({"BackupJobId": "b", "CopyJobId": "c", "BackupSizeInBytes": "N/A"});
        assert!(feed_value(&mut Job::default(), &v, "", &mut soft).is_err());
        for key in [&b"copyjobid"[..], b"creationdate", b"status", b"state", b"jobstatus"] {
            assert!(Job::default().essential(key));
        }
        assert!(!Job::default().essential(b"backupsizeinbytes"));
        assert!(RecoveryPoint::default().essential(b"creationdate"));
        assert!(ControlResult::default().essential(b"lastevaluationtime"));
        assert!(!ControlResult::default().essential(b"numresourcescompliant"));
    }

    #[test]
    fn parent_flags_read_as_bool_or_text() {
        for v in [Scalar::Bool(true), Scalar::Str("TRUE"), Scalar::Str(" true ")] {
            let mut job = Job::default();
            job.set(b"isparentjob", v).unwrap();
            assert_eq!(job.is_parent, Some(true), "{v:?}");
        }
        let mut job = Job::default();
        job.set(b"isparent", Scalar::Str("False")).unwrap();
        assert_eq!(job.is_parent, Some(false));
        assert!(job.set(b"isparent", Scalar::Str("maybe")).is_err());
    }

    #[test]
    fn bad_tags_leave_none_behind() {
        let mut t = TaggedResource::default();
        let items = serde_json::json!([{"Key": "tier", "Value": "gold"}, {"Key": "x"}]);
        assert!(t.set_array(b"tags", items.as_array().unwrap()).is_err());
        assert!(t.tags.is_empty());
        assert!(!t.essential(b"tags"));
    }
}
