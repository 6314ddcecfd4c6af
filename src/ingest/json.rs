//! JSON artifacts: Backup Audit Manager JSON reports and AWS CLI-shaped API snapshots.
//!
//! The top-level object is read member by member; a list we know (`reportItems`,
//! `BackupJobs`, `RecoveryPoints`, `BackupVaultList`, …) is read item by item, so a large
//! snapshot is never held in memory. Job, recovery-point and compliance items — the bulk of
//! a quarter — go straight from the JSON tokens into records; the small lists (vaults,
//! alarms, tags, …) go through `serde_json::Value` first. A `describe-*` output holding one
//! object (`describe-backup-vault`, `describe-restore-job`, …) is recognised by its keys.
//!
//! Problems inside an item are reported at their JSON pointer. An item is dropped only when
//! an essential field (its id, its state, its creation time) cannot be read; any other bad
//! field is left empty and the item kept (DESIGN §3 v2). A syntax error (for instance a
//! truncated file) ends the parse and is reported at its line and column, keeping the items
//! read before it.

use std::borrow::Cow;
use std::fmt;
use std::io::Read;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::fields::{FieldSink, NormKey, Scalar, feed_value};
use super::report_csv::{Template, template_of};
use super::{ArtifactKind, Context, Sink, complete};
use crate::evidence::Record;
use crate::evidence::model::{
    Alarm, CollectionGap, ControlResult, Job, LegalHold, ListKey, Locator, RecoveryPoint, ReportIntegrity,
    ResourceCompliance, RestoreTestingPlan, RestoreTestingSelection, TaggedResource, Vault,
};

/// Parses a JSON artifact held in memory (BOM already removed).
pub(crate) fn parse_slice(bytes: &[u8], ctx: &Context, sink: &mut dyn Sink) -> ArtifactKind {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    run(&mut de, ctx, sink)
}

/// Parses a JSON artifact from a reader (BOM already removed).
pub(crate) fn parse_reader<R: Read>(reader: R, ctx: &Context, sink: &mut dyn Sink) -> ArtifactKind {
    let mut de = serde_json::Deserializer::from_reader(reader);
    run(&mut de, ctx, sink)
}

struct State<'c, 's> {
    ctx: &'c Context,
    sink: &'s mut dyn Sink,
    kind: Option<ArtifactKind>,
    /// Top-level members that are not lists we know (a `describe-*` object, `NextToken`, …).
    rest: serde_json::Map<String, Value>,
}

impl State<'_, '_> {
    fn emit(&mut self, mut record: Record, locator: Locator) {
        complete(&mut record, self.ctx, locator);
        self.sink.record(record);
    }

    fn set_kind(&mut self, kind: ArtifactKind) {
        if self.kind.is_none() || self.kind == Some(ArtifactKind::Unclassified) {
            self.kind = Some(kind);
        }
    }
}

fn run<'de, R: serde_json::de::Read<'de>>(
    de: &mut serde_json::Deserializer<R>,
    ctx: &Context,
    sink: &mut dyn Sink,
) -> ArtifactKind {
    let mut state = State { ctx, sink, kind: None, rest: serde_json::Map::new() };
    let result = de.deserialize_any(Top(&mut state)).and_then(|()| de.end());
    if let Err(e) = result {
        let message = e.to_string();
        state.sink.error(format!("line {} column {}", e.line(), e.column()), message);
    }
    if state.kind.is_none() && !state.rest.is_empty() {
        let doc = Value::Object(std::mem::take(&mut state.rest));
        document(&mut state, &doc);
    }
    state.kind.unwrap_or(ArtifactKind::Unclassified)
}

/// A top-level object that is one resource (`describe-backup-vault`, `describe-restore-job` …).
fn document(state: &mut State<'_, '_>, doc: &Value) {
    // `describe-copy-job` wraps the job; `collect`'s history-gap record wraps its fields.
    if let Some(inner @ Value::Object(_)) = doc.get("CopyJob") {
        return document_at(state, inner, "/CopyJob");
    }
    if let Some(inner @ Value::Object(_)) = doc.get("CollectionGap") {
        state.set_kind(ArtifactKind::CollectionGapRecord);
        return Shape::Gap.emit_value(state, inner, "/CollectionGap", Locator::Document);
    }
    document_at(state, doc, "");
}

fn document_at(state: &mut State<'_, '_>, doc: &Value, pointer: &str) {
    let has = |k: &str| doc.get(k).is_some();
    let (kind, shape) = if has("BackupJobId") {
        (ArtifactKind::BackupJobsSnapshot, Shape::Job)
    } else if has("CopyJobId") {
        (ArtifactKind::CopyJobsSnapshot, Shape::Job)
    } else if has("RestoreJobId") {
        (ArtifactKind::RestoreJobsSnapshot, Shape::Job)
    } else if has("RecoveryPointArn") {
        (ArtifactKind::RecoveryPointsSnapshot, Shape::RecoveryPoint)
    } else if has("BackupVaultArn") {
        (ArtifactKind::BackupVaultsSnapshot, Shape::Vault)
    } else if has("LegalHoldId") {
        (ArtifactKind::LegalHoldsSnapshot, Shape::LegalHold)
    } else if has("RestoreTestingSelectionName") {
        (ArtifactKind::RestoreTestingSelectionsSnapshot, Shape::Selection)
    } else if has("RestoreTestingPlanArn") {
        (ArtifactKind::RestoreTestingPlansSnapshot, Shape::Plan)
    } else {
        return;
    };
    state.set_kind(kind);
    shape.emit_value(state, doc, pointer, Locator::Document);
}

/// How the items of a list become records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Job,
    RecoveryPoint,
    Control,
    Resource,
    Scan,
    Vault,
    LegalHold,
    Alarm,
    Tagged,
    Plan,
    Selection,
    Integrity,
    Gap,
}

impl Shape {
    fn of_list(list: ListKey) -> Option<(Shape, ArtifactKind)> {
        Some(match list {
            ListKey::BackupJobs => (Shape::Job, ArtifactKind::BackupJobsSnapshot),
            ListKey::CopyJobs => (Shape::Job, ArtifactKind::CopyJobsSnapshot),
            ListKey::RestoreJobs => (Shape::Job, ArtifactKind::RestoreJobsSnapshot),
            ListKey::RecoveryPoints => (Shape::RecoveryPoint, ArtifactKind::RecoveryPointsSnapshot),
            ListKey::BackupVaultList => (Shape::Vault, ArtifactKind::BackupVaultsSnapshot),
            ListKey::LegalHolds => (Shape::LegalHold, ArtifactKind::LegalHoldsSnapshot),
            ListKey::RestoreTestingPlans => (Shape::Plan, ArtifactKind::RestoreTestingPlansSnapshot),
            ListKey::RestoreTestingSelections => (Shape::Selection, ArtifactKind::RestoreTestingSelectionsSnapshot),
            ListKey::MetricAlarms | ListKey::CompositeAlarms => (Shape::Alarm, ArtifactKind::MetricAlarmsSnapshot),
            ListKey::ResourceTagMappingList => (Shape::Tagged, ArtifactKind::TagInventorySnapshot),
            ListKey::AssessmentReportIntegrity => (Shape::Integrity, ArtifactKind::ReportIntegritySnapshot),
            ListKey::ReportItems | ListKey::Root => return None,
        })
    }

    fn of_template(t: Template) -> (Shape, ArtifactKind) {
        match t {
            Template::Jobs(k) => (Shape::Job, k),
            Template::Control => (Shape::Control, ArtifactKind::ControlComplianceReport),
            Template::Resource => (Shape::Resource, ArtifactKind::ResourceComplianceReport),
            Template::Scan => (Shape::Scan, ArtifactKind::ScanJobReport),
        }
    }

    /// Builds a record from a parsed value and emits it (or the error).
    fn emit_value(self, state: &mut State<'_, '_>, value: &Value, pointer: &str, locator: Locator) {
        type Soft = Vec<(String, String)>;
        fn one<T: FieldSink + Default>(
            value: &Value,
            pointer: &str,
            soft: &mut Soft,
            wrap: fn(T) -> Record,
        ) -> Result<Record, (String, String)> {
            let mut rec = T::default();
            feed_value(&mut rec, value, pointer, soft)?;
            rec.finish().map_err(|e| (pointer_or_root(pointer), e))?;
            Ok(wrap(rec))
        }
        let (p, soft) = (pointer, &mut Vec::new());
        let result = match self {
            Shape::Job => one::<Job>(value, p, soft, Record::Job),
            Shape::RecoveryPoint => one::<RecoveryPoint>(value, p, soft, Record::RecoveryPoint),
            Shape::Control => one::<ControlResult>(value, p, soft, Record::Control),
            Shape::Resource => one::<ResourceCompliance>(value, p, soft, Record::ResourceCompliance),
            Shape::Vault => one::<Vault>(value, p, soft, Record::Vault),
            Shape::LegalHold => one::<LegalHold>(value, p, soft, Record::LegalHold),
            Shape::Alarm => one::<Alarm>(value, p, soft, Record::Alarm),
            Shape::Tagged => one::<TaggedResource>(value, p, soft, Record::TaggedResource),
            Shape::Plan => one::<RestoreTestingPlan>(value, p, soft, Record::Plan),
            Shape::Selection => one::<RestoreTestingSelection>(value, p, soft, Record::Selection),
            Shape::Integrity => one::<ReportIntegrity>(value, p, soft, Record::Integrity),
            Shape::Gap => one::<CollectionGap>(value, p, soft, Record::Gap),
            Shape::Scan => return,
        };
        for (at, msg) in soft.drain(..) {
            state.sink.error(at, msg);
        }
        match result {
            Ok(record) => state.emit(record, locator),
            Err((at, msg)) => state.sink.error(at, msg),
        }
    }
}

fn pointer_or_root(p: &str) -> String {
    if p.is_empty() { "/".into() } else { p.to_owned() }
}

fn item_pointer(list: ListKey, index: u32) -> String {
    match list {
        ListKey::Root => format!("/{index}"),
        _ => format!("/{}/{index}", list.as_str()),
    }
}

struct Top<'a, 'c, 's>(&'a mut State<'c, 's>);

impl<'de> Visitor<'de> for Top<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object or array")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if let Some(list) = ListKey::from_key(&key) {
                map.next_value_seed(List { state: self.0, list })?;
                continue;
            }
            // Single-object wrappers of `describe-*` / `get-*` outputs.
            let wrapped = match key.as_str() {
                "CopyJob" => Some((Shape::Job, ArtifactKind::CopyJobsSnapshot)),
                "RestoreTestingPlan" => Some((Shape::Plan, ArtifactKind::RestoreTestingPlansSnapshot)),
                "RestoreTestingSelection" => Some((Shape::Selection, ArtifactKind::RestoreTestingSelectionsSnapshot)),
                _ => None,
            };
            let value: Value = map.next_value()?;
            match wrapped {
                Some((shape, kind)) if value.is_object() => {
                    self.0.set_kind(kind);
                    shape.emit_value(self.0, &value, &format!("/{key}"), Locator::Document);
                }
                _ => {
                    self.0.rest.insert(key, value);
                }
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        List { state: self.0, list: ListKey::Root }.visit_seq(seq)
    }
}

struct List<'a, 'c, 's> {
    state: &'a mut State<'c, 's>,
    list: ListKey,
}

impl<'de> DeserializeSeed<'de> for List<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for List<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a list for {}", self.list.as_str())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(()) // `"BackupJobs": null`
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let state = self.state;
        let list = self.list;
        let mut shape = Shape::of_list(list).map(|(shape, kind)| {
            state.set_kind(kind);
            shape
        });
        if shape.is_none() {
            // A report: the template shows in the file name or the first item's keys.
            if let Some(t) = template_in_name(&state.ctx.file_name) {
                let (s, kind) = Shape::of_template(t);
                state.set_kind(kind);
                shape = Some(s);
            } else {
                state.set_kind(ArtifactKind::Unclassified);
            }
        }
        let mut index = 0u32;
        let mut keys = KeyCache::default();
        loop {
            let locator = Locator::Item(list, index);
            match shape {
                None => {
                    let Some(value) = seq.next_element::<Value>()? else { break };
                    let pointer = item_pointer(list, index);
                    let keys: Vec<NormKey> =
                        value.as_object().map(|m| m.keys().map(|k| NormKey::new(k)).collect()).unwrap_or_default();
                    match template_of(keys.iter().map(NormKey::as_bytes)) {
                        Some(t) => {
                            let (s, kind) = Shape::of_template(t);
                            state.kind = Some(kind);
                            shape = Some(s);
                            s.emit_value(state, &value, &pointer, locator);
                        }
                        None => state.sink.error(pointer, "report item has no job id or compliance status".into()),
                    }
                }
                Some(Shape::Job) => {
                    if !stream_item::<Job, _>(&mut seq, state, &mut keys, list, index, Record::Job)? {
                        break;
                    }
                }
                Some(Shape::RecoveryPoint) => {
                    if !stream_item::<RecoveryPoint, _>(&mut seq, state, &mut keys, list, index, Record::RecoveryPoint)?
                    {
                        break;
                    }
                }
                Some(Shape::Control) => {
                    if !stream_item::<ControlResult, _>(&mut seq, state, &mut keys, list, index, Record::Control)? {
                        break;
                    }
                }
                Some(Shape::Resource) => {
                    if !stream_item::<ResourceCompliance, _>(
                        &mut seq,
                        state,
                        &mut keys,
                        list,
                        index,
                        Record::ResourceCompliance,
                    )? {
                        break;
                    }
                }
                Some(Shape::Scan) => {
                    if seq.next_element::<IgnoredAny>()?.is_none() {
                        break;
                    }
                }
                Some(small) => {
                    let Some(value) = seq.next_element::<Value>()? else { break };
                    small.emit_value(state, &value, &item_pointer(list, index), locator);
                }
            }
            index = index.saturating_add(1);
        }
        Ok(())
    }
}

fn template_in_name(name: &str) -> Option<Template> {
    let upper = name.to_ascii_uppercase();
    let t = if upper.contains("BACKUP_JOB_REPORT") {
        Template::Jobs(ArtifactKind::BackupJobReport)
    } else if upper.contains("COPY_JOB_REPORT") {
        Template::Jobs(ArtifactKind::CopyJobReport)
    } else if upper.contains("RESTORE_JOB_REPORT") {
        Template::Jobs(ArtifactKind::RestoreJobReport)
    } else if upper.contains("CONTROL_COMPLIANCE_REPORT") {
        Template::Control
    } else if upper.contains("RESOURCE_COMPLIANCE_REPORT") {
        Template::Resource
    } else if upper.contains("SCAN_JOB_REPORT") || upper.contains("MALWARE_JOB_REPORT") {
        Template::Scan
    } else {
        return None;
    };
    Some(t)
}

/// Reads one list item straight into a record; returns false at the end of the list.
fn stream_item<'de, T, A>(
    seq: &mut A,
    state: &mut State<'_, '_>,
    keys: &mut KeyCache,
    list: ListKey,
    index: u32,
    wrap: fn(T) -> Record,
) -> Result<bool, A::Error>
where
    T: FieldSink + Default,
    A: SeqAccess<'de>,
{
    let mut rec = T::default();
    let mut problems = Problems::default();
    keys.pos = 0;
    if seq.next_element_seed(Item { rec: &mut rec, problems: &mut problems, keys })?.is_none() {
        return Ok(false);
    }
    let pointer = || item_pointer(list, index);
    for (field, msg) in problems.soft {
        state.sink.error(format!("{}/{field}", pointer()), msg);
    }
    match problems.fatal {
        Some((field, msg)) => state.sink.error(format!("{}/{field}", pointer()), msg),
        None => match rec.finish() {
            Ok(()) => state.emit(wrap(rec), Locator::Item(list, index)),
            Err(msg) => state.sink.error(pointer(), msg),
        },
    }
    Ok(true)
}

/// Bad fields of one item, as (raw key, message).
#[derive(Default)]
struct Problems {
    /// The first bad essential field: the item is dropped.
    fatal: Option<(String, String)>,
    /// Other bad fields: left empty, reported, the item kept.
    soft: Vec<(String, String)>,
}

/// One object, its fields set on a record as they are read; nested objects are flattened.
struct Item<'a> {
    rec: &'a mut dyn FieldSink,
    keys: &'a mut KeyCache,
    problems: &'a mut Problems,
}

impl<'de> DeserializeSeed<'de> for Item<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Item<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        // Members named twice: the last value wins (as in `serde_json::Value` and JavaScript),
        // and the repetition is reported, since another reader may take the first.
        let mut seen = std::mem::take(&mut self.keys.item);
        seen.clear();
        while let Some(key) = map.next_key_seed(Key(&mut *self.keys))? {
            if seen.iter().any(|k| k.as_bytes() == key.norm.as_bytes()) {
                self.problems.soft.push((
                    key.raw.clone().into_owned(),
                    format!("member {:?} appears twice in this object; the last value is used", key.raw),
                ));
            } else if seen.len() < 256 {
                seen.push(key.norm);
            }
            let (rec, problems, keys) = (&mut *self.rec, &mut *self.problems, &mut *self.keys);
            map.next_value_seed(Field { key, rec, problems, keys })?;
        }
        self.keys.item = seen;
        Ok(())
    }
}

/// A member name: normalised, plus the raw spelling for error messages — borrowed from the
/// input when it can be, so reading a field from memory allocates nothing.
struct RawKey<'de> {
    norm: NormKey,
    raw: Cow<'de, str>,
}

/// Member names seen at each position of the previous item of the same list. Items of one
/// list almost always spell their members alike and in the same order, so a name is usually
/// recognised with one comparison instead of being normalised again.
#[derive(Default)]
struct KeyCache {
    seen: Vec<(Box<[u8]>, NormKey)>,
    pos: usize,
    /// The member names of the item being read (reused, to find repeated ones).
    item: Vec<NormKey>,
}

impl KeyCache {
    fn norm(&mut self, raw: &str) -> NormKey {
        let pos = self.pos;
        self.pos += 1;
        if let Some((cached, norm)) = self.seen.get(pos)
            && **cached == *raw.as_bytes()
        {
            return *norm;
        }
        let norm = NormKey::new(raw);
        if pos < self.seen.len() {
            self.seen[pos] = (raw.as_bytes().into(), norm);
        } else if pos == self.seen.len() && pos < 256 {
            self.seen.push((raw.as_bytes().into(), norm));
        }
        norm
    }
}

struct Key<'a>(&'a mut KeyCache);

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = RawKey<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<RawKey<'de>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = RawKey<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<RawKey<'de>, E> {
        Ok(RawKey { norm: self.0.norm(v), raw: Cow::Borrowed(v) })
    }

    fn visit_str<E>(self, v: &str) -> Result<RawKey<'de>, E> {
        Ok(RawKey { norm: self.0.norm(v), raw: Cow::Owned(v.to_owned()) })
    }
}

struct Field<'a, 'de> {
    key: RawKey<'de>,
    keys: &'a mut KeyCache,
    rec: &'a mut dyn FieldSink,
    problems: &'a mut Problems,
}

impl Field<'_, '_> {
    fn set<E>(self, v: Scalar<'_>) -> Result<(), E> {
        let key = self.key.norm.as_bytes();
        if let Err(msg) = self.rec.set(key, v) {
            if !self.rec.essential(key) {
                self.problems.soft.push((self.key.raw.into_owned(), msg));
            } else if self.problems.fatal.is_none() {
                self.problems.fatal = Some((self.key.raw.into_owned(), msg));
            }
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for Field<'_, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Field<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        self.set(Scalar::Bool(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        self.set(Scalar::U64(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        self.set(Scalar::I64(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        self.set(Scalar::F64(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        self.set(Scalar::Str(v))
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        self.set(Scalar::Null)
    }
    fn visit_none<E>(self) -> Result<(), E> {
        self.set(Scalar::Null)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        // Nested objects (`CreatedBy`, `CalculatedLifecycle`) are flattened into the record.
        Item { rec: self.rec, problems: self.problems, keys: self.keys }.visit_map(map)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::VecSink;

    /// Parses from memory and from a reader; both must agree.
    fn parse_text(text: &str) -> VecSink {
        let (mut a, mut b) = (VecSink::default(), VecSink::default());
        let kind = parse_slice(text.as_bytes(), &Context::default(), &mut a);
        assert_eq!(kind, parse_reader(text.as_bytes(), &Context::default(), &mut b));
        assert_eq!((&a.records, &a.errors), (&b.records, &b.errors));
        a
    }

    #[test]
    fn a_failed_job_with_size_na_is_kept_and_the_size_reported() {
        let sink = parse_text(
            r#"{"BackupJobs":[
              {"BackupJobId":"b-1","State":"FAILED","CreationDate":"2026-07-14T05:00:00Z","BackupSizeInBytes":"N/A",
               "IsParent":"TRUE","CreatedBy":{"BackupPlanName":"gold"}},
              {"BackupJobId":"b-2","State":"COMPLETED","CreationDate":"soon","BackupSizeInBytes":"N/A"}]}"#,
        );
        let jobs = sink.jobs();
        assert_eq!(jobs.len(), 1);
        let j = jobs[0];
        assert_eq!((j.job_id.as_str(), j.state.as_deref(), j.backup_size_bytes), ("b-1", Some("FAILED"), None));
        assert_eq!((j.is_parent, j.backup_plan_name.as_deref()), (Some(true), Some("gold")));
        let locators: Vec<&str> = sink.errors.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(
            locators,
            ["/BackupJobs/0/BackupSizeInBytes", "/BackupJobs/1/BackupSizeInBytes", "/BackupJobs/1/CreationDate"]
        );
        assert!(sink.errors[0].1.contains("\"N/A\""), "{}", sink.errors[0].1);
    }

    #[test]
    fn report_items_and_small_lists_keep_records_with_bad_auxiliary_fields() {
        let sink = parse_text(
            r#"{"reportItems":[{"backupJobId":"b-1","jobStatus":"COMPLETED","isParentJob":"maybe",
                "creationDate":"2026-07-14T05:00:00Z"}]}"#,
        );
        assert_eq!(sink.jobs().len(), 1);
        assert_eq!(sink.errors.len(), 1);
        assert_eq!(sink.errors[0].0, "/reportItems/0/isParentJob");
        let sink = parse_text(
            r#"{"BackupVaultList":[{"BackupVaultArn":"arn:aws:backup:eu-west-1:111122223333:backup-vault:v",
                "Locked":"yes","MinRetentionDays":30}]}"#,
        );
        let Some(Record::Vault(v)) = sink.records.first() else { panic!("{:?}", sink.records) };
        assert_eq!((v.locked, v.min_retention_days), (None, Some(30)));
        assert_eq!(sink.errors.len(), 1);
        assert_eq!(sink.errors[0].0, "/BackupVaultList/0/Locked");
        // An unreadable id still drops the item.
        let sink = parse_text(r#"{"BackupVaultList":[{"BackupVaultArn":null,"Locked":true}]}"#);
        assert!(sink.records.is_empty());
        assert_eq!(sink.errors.len(), 1);
    }
}
