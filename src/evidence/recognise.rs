//! Recognising fields: the values parsers hand over ([`Scalar`]), the conversions a
//! declaration names (`text`, `upper`, `timestamp`, …, in [`conv`]), the [`FieldSink`] trait
//! that [`super::table::table!`] implements for every record kind, and the few hooks a
//! declaration needs beyond one key → one field (job ids, JSON arrays, final checks).
//!
//! AWS spells one field many ways (`backupJobId`, `Backup Job ID`, `backup_job_id`,
//! `BackupJobId`); the parsers normalise them all to one key (`backupjobid`: ASCII letters
//! and digits, lower-cased, anything from a `[` dropped), and the declarations list those
//! keys. Bad values (DESIGN §3 v2): only a record's essential fields — its id, its state, its
//! creation time ([`FieldSink::essential`]) — make it unreadable. Any other bad value leaves
//! its field empty and is reported by the caller, and the record is kept. Flags read
//! `true`/`false` as JSON booleans or as text in any case (`"TRUE"`).
//!
//! This lives with the model, below `ingest`, so the declarations can name it without the
//! model importing the parsers.

use std::borrow::Cow;

use super::model::{
    Alarm, BackupRule, BackupSelection, CollectionGap, Job, JobKind, ReportIntegrity, TagCondition, TaggedResource,
};
use crate::time::Timestamp;

/// A field value as a format gives it, before conversion.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scalar<'a> {
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
    pub(crate) fn text(self) -> Option<Cow<'a, str>> {
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
    pub(crate) fn timestamp(self) -> Result<Option<Timestamp>, String> {
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
    pub(crate) fn count(self) -> Result<Option<u64>, String> {
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
    pub(crate) fn number(self) -> Result<Option<f64>, String> {
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
    pub(crate) fn flag(self) -> Result<Option<bool>, String> {
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

/// The slot of a key that names no field of the record (a hook may still take it).
pub(crate) const NO_SLOT: u16 = u16::MAX;

/// A record that takes fields by normalised name.
///
/// Parsers find a key's field once per CSV column or JSON member position ([`Self::slot`])
/// and set each value through it ([`Self::set_slot`]): matching a name against a table's
/// spellings for every cell was 2–3 % of a build's perf samples (BENCHMARKS.md).
pub(crate) trait FieldSink {
    /// The field `key` sets, or [`NO_SLOT`].
    fn slot(&self, key: &[u8]) -> u16;

    /// Sets the field `slot` names, which [`Self::slot`] gave for `key`; the record's hook
    /// (job ids, policies) sees `key` first. Unknown keys are ignored; a bad value is an
    /// error message.
    ///
    /// # Errors
    /// When the value cannot be read as the field's type.
    fn set_slot(&mut self, slot: u16, key: &[u8], value: Scalar<'_>) -> Result<(), String>;

    /// Sets one field by its key.
    ///
    /// # Errors
    /// When the value cannot be read as the field's type.
    fn set(&mut self, key: &[u8], value: Scalar<'_>) -> Result<(), String> {
        self.set_slot(self.slot(key), key, value)
    }

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

/// The conversions a declaration names: each reads a [`Scalar`] as the field's type
/// (`None` for null or empty) or explains why it cannot.
pub(crate) mod conv {
    use super::Scalar;
    use crate::time::Timestamp;

    /// Text as given (trimmed).
    pub(crate) fn text(v: Scalar<'_>) -> Result<Option<String>, String> {
        Ok(v.string())
    }

    /// Upper-cased text, for states and statuses.
    pub(crate) fn upper(v: Scalar<'_>) -> Result<Option<String>, String> {
        Ok(v.upper())
    }

    /// Any state AWS writes as an upper-case word (`aws_state!` enums), upper-cased; a known
    /// state already in upper case is read without allocating.
    pub(crate) fn state<T: From<String> + for<'a> From<&'a str>>(v: Scalar<'_>) -> Result<Option<T>, String> {
        Ok(v.text().map(|t| {
            if t.bytes().any(|b| b.is_ascii_lowercase()) { T::from(t.to_ascii_uppercase()) } else { T::from(&*t) }
        }))
    }

    /// ISO 8601 text or epoch seconds.
    pub(crate) fn timestamp(v: Scalar<'_>) -> Result<Option<Timestamp>, String> {
        v.timestamp()
    }

    /// A non-negative integer.
    pub(crate) fn count(v: Scalar<'_>) -> Result<Option<u64>, String> {
        v.count()
    }

    /// A number.
    pub(crate) fn number(v: Scalar<'_>) -> Result<Option<f64>, String> {
        v.number()
    }

    /// `true` / `false`.
    pub(crate) fn flag(v: Scalar<'_>) -> Result<Option<bool>, String> {
        v.flag()
    }

    /// The end of a `"start - end"` report period.
    pub(crate) fn period_end(v: Scalar<'_>) -> Result<Option<Timestamp>, String> {
        let Some(text) = v.text() else { return Ok(None) };
        match text.rsplit_once(" - ") {
            Some((_, end)) => Timestamp::parse(end).map(Some),
            None => Err(format!("expected \"start - end\", found {text:?}")),
        }
    }
}

/// The job-id keys: each sets the id and the job's kind; a row with two kinds is an error.
pub(crate) fn job_id(job: &mut Job, key: &[u8], v: Scalar<'_>) -> Option<Result<(), String>> {
    let kind = match key {
        b"backupjobid" => JobKind::Backup,
        b"copyjobid" => JobKind::Copy,
        b"restorejobid" => JobKind::Restore,
        _ => return None,
    };
    if let Some(k) = job.kind
        && k != kind
    {
        return Some(Err(format!("row has both a {} and a {} job id", k.as_str(), kind.as_str())));
    }
    job.kind = Some(kind);
    Some(v.string().map(|id| job.job_id = id).ok_or_else(|| "empty job id".to_owned()))
}

/// A JSON array of strings, or the message naming the array.
fn strings<'a>(items: &'a [serde_json::Value], what: &str) -> Result<Vec<&'a str>, String> {
    items.iter().map(|v| v.as_str().ok_or_else(|| format!("{what} must hold strings"))).collect()
}

/// `Name=Value` (or `Key=Value`) pairs of a JSON array of objects, all or nothing.
fn pairs(items: &[serde_json::Value], key: &str, what: &str) -> Result<Vec<(String, String)>, String> {
    items
        .iter()
        .map(|t| match (t.get(key).and_then(|v| v.as_str()), t.get("Value").and_then(|v| v.as_str())) {
            (Some(k), Some(v)) => Ok((k.to_owned(), v.to_owned())),
            _ => Err(what.to_owned()),
        })
        .collect()
}

/// `Metrics`, `AlarmActions` and `Dimensions` of an alarm.
pub(crate) fn alarm_arrays(alarm: &mut Alarm, key: &[u8], items: &[serde_json::Value]) -> Result<(), String> {
    match key {
        b"metrics" => {
            let mut names: Vec<String> =
                alarm.backup_metrics.iter().flat_map(|m| m.split(';')).map(str::to_owned).collect();
            names.extend(items.iter().flat_map(backup_metrics_of_query));
            names.sort();
            names.dedup();
            alarm.backup_metrics = (!names.is_empty()).then(|| names.join(";"));
        }
        b"alarmactions" => {
            let mut actions = strings(items, "AlarmActions")?;
            actions.sort_unstable();
            alarm.alarm_actions = (!actions.is_empty()).then(|| actions.join(";"));
        }
        b"dimensions" => {
            let mut dims: Vec<String> = pairs(items, "Name", "Dimensions items need Name and Value")?
                .into_iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect();
            dims.sort();
            alarm.dimensions = (!dims.is_empty()).then(|| dims.join(";"));
        }
        _ => {}
    }
    Ok(())
}

/// The final check of an alarm: actions are enabled unless said otherwise, an `AWS/Backup`
/// metric alarm watches its own metric, and the type follows from the rule.
pub(crate) fn finish_alarm(alarm: &mut Alarm) -> Result<(), String> {
    if alarm.alarm_arn.is_empty() {
        return Err("no AlarmArn".into());
    }
    if alarm.actions_enabled.is_none() {
        alarm.actions_enabled = Some(true);
    }
    if alarm.namespace.as_deref() == Some(BACKUP_NAMESPACE)
        && let Some(m) = &alarm.metric_name
    {
        let mut names: Vec<&str> = alarm.backup_metrics.iter().flat_map(|m| m.split(';')).collect();
        names.push(m);
        names.sort_unstable();
        names.dedup();
        alarm.backup_metrics = Some(names.join(";"));
    }
    alarm.alarm_type = Some(if alarm.alarm_rule.is_some() { "composite" } else { "metric" }.to_owned());
    Ok(())
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

/// `Tags` of a tagged resource: all or nothing, a bad item leaves the tags empty.
pub(crate) fn tag_arrays(r: &mut TaggedResource, key: &[u8], items: &[serde_json::Value]) -> Result<(), String> {
    if key == b"tags" {
        let mut tags = pairs(items, "Key", "Tags items need Key and Value strings")?;
        tags.sort();
        tags.dedup_by(|a, b| a.0 == b.0);
        r.tags = tags;
    }
    Ok(())
}

/// `validationErrors` of an integrity check, `; `-joined.
pub(crate) fn integrity_arrays(r: &mut ReportIntegrity, key: &[u8], items: &[serde_json::Value]) -> Result<(), String> {
    if key == b"validationerrors" {
        let errors = strings(items, "validationErrors")?;
        r.validation_errors = (!errors.is_empty()).then(|| errors.join("; "));
    }
    Ok(())
}

/// `Listings` of a collection gap, `;`-joined.
pub(crate) fn gap_arrays(r: &mut CollectionGap, key: &[u8], items: &[serde_json::Value]) -> Result<(), String> {
    if key == b"listings" {
        let names = strings(items, "Listings")?;
        r.listings = (!names.is_empty()).then(|| names.join(";"));
    }
    Ok(())
}

/// `CopyActions` of a backup rule, all or nothing: the destination vaults (sorted,
/// `;`-joined) and the shortest copy retention (the smallest `Lifecycle.DeleteAfterDays`).
pub(crate) fn rule_arrays(r: &mut BackupRule, key: &[u8], items: &[serde_json::Value]) -> Result<(), String> {
    if key != b"copyactions" {
        return Ok(());
    }
    let mut vaults = Vec::new();
    let mut shortest: Option<u64> = None;
    for item in items {
        let vault = item
            .get("DestinationBackupVaultArn")
            .and_then(serde_json::Value::as_str)
            .filter(|v| !v.is_empty())
            .ok_or("CopyActions items need a DestinationBackupVaultArn string")?;
        vaults.push(vault);
        match item.pointer("/Lifecycle/DeleteAfterDays") {
            None | Some(serde_json::Value::Null) => {}
            Some(v) => {
                let days = v.as_u64().ok_or_else(|| {
                    format!("CopyActions Lifecycle.DeleteAfterDays must be a non-negative integer, found {v}")
                })?;
                shortest = Some(shortest.map_or(days, |s| s.min(days)));
            }
        }
    }
    vaults.sort_unstable();
    vaults.dedup();
    r.copy_destinations = (!vaults.is_empty()).then(|| vaults.join(";"));
    r.copy_delete_after_days = shortest;
    Ok(())
}

/// The lists of a backup selection, each all or nothing and sorted: `Resources`,
/// `NotResources`, `ListOfTags`, and the four lists of `Conditions` (flattened to their own
/// names, so each item is typed by its list).
pub(crate) fn selection_arrays(s: &mut BackupSelection, key: &[u8], items: &[serde_json::Value]) -> Result<(), String> {
    let operator = match key {
        b"resources" => return sorted_strings(items, "Resources").map(|v| s.resources = v),
        b"notresources" => return sorted_strings(items, "NotResources").map(|v| s.not_resources = v),
        b"listoftags" => return tag_conditions(items, None).map(|v| s.list_of_tags = v),
        b"stringequals" => "StringEquals",
        b"stringnotequals" => "StringNotEquals",
        b"stringlike" => "StringLike",
        b"stringnotlike" => "StringNotLike",
        _ => return Ok(()),
    };
    s.conditions.retain(|c| c.condition_type != operator);
    s.conditions.extend(tag_conditions(items, Some(operator))?);
    s.conditions.sort();
    Ok(())
}

fn sorted_strings(items: &[serde_json::Value], what: &str) -> Result<Vec<String>, String> {
    let mut v: Vec<String> = strings(items, what)?.into_iter().map(str::to_owned).collect();
    v.sort();
    Ok(v)
}

/// `ConditionKey` / `ConditionValue` items (and `ConditionType`, unless the list gives it).
fn tag_conditions(items: &[serde_json::Value], operator: Option<&str>) -> Result<Vec<TagCondition>, String> {
    let what = operator.map_or("ListOfTags", |_| "Conditions");
    let mut v = items
        .iter()
        .map(|item| {
            let text = |k: &str| item.get(k).and_then(serde_json::Value::as_str).map(str::to_owned);
            let condition_type = operator.map(str::to_owned).or_else(|| text("ConditionType"));
            match (condition_type, text("ConditionKey"), text("ConditionValue")) {
                (Some(condition_type), Some(condition_key), Some(condition_value)) => {
                    Ok(TagCondition { condition_type, condition_key, condition_value })
                }
                _ => Err(match operator {
                    None => format!("{what} items need ConditionType, ConditionKey and ConditionValue strings"),
                    Some(_) => format!("{what} items need ConditionKey and ConditionValue strings"),
                }),
            }
        })
        .collect::<Result<Vec<_>, String>>()?;
    v.sort();
    Ok(v)
}

/// The final check of most records: the id field must be set.
pub(crate) fn require(id: &str, message: &str) -> Result<(), String> {
    require_all(&[id], message)
}

/// The final check of records keyed by several ids: every one must be set.
pub(crate) fn require_all(ids: &[&str], message: &str) -> Result<(), String> {
    if ids.iter().any(|id| id.is_empty()) { Err(message.to_owned()) } else { Ok(()) }
}
