//! JSON artifacts: Backup Audit Manager JSON reports and AWS CLI-shaped API snapshots.
//!
//! The top-level object is read member by member; a list we know (`reportItems`,
//! `BackupJobs`, `RecoveryPoints`, `BackupVaultList`, …) is read item by item, so a large
//! snapshot is never held in memory. Job, recovery-point and compliance items — the bulk of
//! a quarter — go straight from the JSON tokens into records; the small lists (vaults,
//! alarms, tags, …) go through `serde_json::Value` first. A `describe-*` output holding one
//! object (`describe-backup-vault`, `describe-restore-job`, …) is recognised by its keys; one
//! whose records are the items of a list inside it (`get-backup-plan`: a record per rule,
//! each with the plan's ids, name and version) is read by [`emit_rows`]. Index listings
//! whose items hold nothing the `get-*` outputs lack (`list-backup-plans`,
//! `list-backup-selections`) are recognised, kept and hashed, and give no records. Vault
//! notifications and access policies are told from `describe-backup-vault` by their own
//! members; `list-targets-by-rule` gives one partial rule record named by its file name
//! ([`rule_targets`]). A scan (`describe-scan-job`, or a MALWARE_JOB_REPORT item, which AWS
//! publishes as one bare object) is told from a recovery point by its scan job id.
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
use crate::evidence::model::{
    Alarm, BackupSelection, CollectionGap, ControlResult, EventRule, Job, LegalHold, ListKey, Locator, MalwareScan,
    NestedList, ProtectedResource, RecoveryPoint, ReportIntegrity, ResourceCompliance, RestoreTestingPlan,
    RestoreTestingSelection, SnsSubscription, TaggedResource, Vault, VaultAccessPolicy, VaultNotification,
};
use crate::evidence::{Record, alerts};

/// Parses a JSON artifact held in memory (BOM already removed).
///
/// The whole file is checked as UTF-8 once, so that serde_json need not check each string on
/// its own: most strings are short, and checked one at a time they cost ten times the
/// instructions of one check over the file (callgrind, bench scale 5). A file that is not
/// UTF-8 is parsed from its bytes, so the error names the string at fault.
pub(crate) fn parse_slice(bytes: &[u8], ctx: &Context, sink: &mut dyn Sink) -> ArtifactKind {
    match std::str::from_utf8(bytes) {
        Ok(text) => run(&mut serde_json::Deserializer::from_str(text), ctx, sink),
        Err(_) => run(&mut serde_json::Deserializer::from_slice(bytes), ctx, sink),
    }
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
    let has = |k: &str| doc.get(k).is_some();
    // `get-backup-plan` / `get-backup-selection`: the resource's ids sit beside its object.
    if doc.get("BackupPlan").is_some_and(Value::is_object) && (has("BackupPlanId") || has("BackupPlanArn")) {
        state.set_kind(ArtifactKind::BackupPlanSnapshot);
        return emit_rows(state, doc, NestedList::BackupPlanRules, Record::BackupRule);
    }
    if doc.get("BackupSelection").is_some_and(Value::is_object) && has("SelectionId") {
        state.set_kind(ArtifactKind::BackupSelectionSnapshot);
        return Shape::BackupSelection.emit_value(state, doc, "", Locator::Document);
    }
    // Vault notifications and access policies carry the vault's ARN, like
    // `describe-backup-vault`: told apart by their own members first.
    if has("BackupVaultEvents") || has("SNSTopicArn") {
        state.set_kind(ArtifactKind::VaultNotificationsSnapshot);
        return Shape::VaultNotification.emit_value(state, doc, "", Locator::Document);
    }
    if has("Policy") && (has("BackupVaultArn") || has("BackupVaultName")) {
        state.set_kind(ArtifactKind::VaultAccessPolicySnapshot);
        return Shape::VaultAccessPolicy.emit_value(state, doc, "", Locator::Document);
    }
    if doc.get("Targets").is_some() {
        state.set_kind(ArtifactKind::EventRuleTargetsSnapshot);
        return rule_targets(state, doc);
    }
    document_at(state, doc, "");
}

fn document_at(state: &mut State<'_, '_>, doc: &Value, pointer: &str) {
    let has = |k: &str| doc.get(k).is_some();
    // A scan names its recovery point and vault too: told apart first. AWS publishes the
    // MALWARE_JOB_REPORT example as one bare camelCase object; `describe-scan-job` is PascalCase.
    let (kind, shape) = if has("scanJobId") {
        (ArtifactKind::ScanJobReport, Shape::Scan)
    } else if has("ScanJobId") {
        (ArtifactKind::ScanJobsSnapshot, Shape::Scan)
    } else if has("BackupJobId") {
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

/// `list-targets-by-rule`: the targets of the rule its file name gives
/// (`list-targets-by-rule-<rule name>.json`, as `collect` stores it) or a `Rule` member added
/// beside `Targets`, as one partial [`EventRule`] that the merge joins to the rule `list-rules`
/// gave. The AWS CLI's output does not name the rule: a file that names it nowhere is still
/// read (a row with no rule name) and reported.
fn rule_targets(state: &mut State<'_, '_>, doc: &Value) {
    let Some(Value::Array(items)) = doc.get("Targets") else {
        return state.sink.error("/Targets".into(), "expected a list".into());
    };
    let inside = doc.get("Rule").and_then(Value::as_str).filter(|n| !n.is_empty());
    let name = inside.or_else(|| alerts::rule_of_targets_file(&state.ctx.file_name));
    if name.is_none() {
        state.sink.error(
            "/".into(),
            "the targets' rule is not known: name the file list-targets-by-rule-<rule name>.json \
             or add \"Rule\": \"<rule name>\" beside Targets"
                .into(),
        );
    }
    match alerts::targets_of(name, items) {
        Ok(rule) => state.emit(Record::EventRule(rule), Locator::Document),
        Err((at, msg)) => state.sink.error(at, msg),
    }
}

/// A document whose records are the items of one of its lists (`get-backup-plan`: one per
/// rule). The document's other fields (the plan's ids, name, version) are read once and each
/// item's fields laid over them, so every record carries its parent's and a bad parent field
/// is reported once. Members [`NestedList::opaque`] names are not read.
fn emit_rows<T: FieldSink + Default + Clone>(
    state: &mut State<'_, '_>,
    doc: &Value,
    list: NestedList,
    wrap: fn(T) -> Record,
) {
    let at = list.pointer();
    let mut parent = doc.clone();
    let Some(Value::Array(items)) = parent.pointer_mut(at).map(Value::take) else {
        return state.sink.error(at.to_owned(), "expected a list".into());
    };
    let mut soft = Vec::new();
    let mut base = T::default();
    let fed = feed_value(&mut base, &parent, "", &mut soft);
    for (p, msg) in soft.drain(..) {
        state.sink.error(p, msg);
    }
    if let Err((p, msg)) = fed {
        return state.sink.error(p, msg);
    }
    for (i, mut item) in items.into_iter().enumerate() {
        let pointer = format!("{at}/{i}");
        if let Value::Object(members) = &mut item {
            for name in list.opaque() {
                members.remove(*name);
            }
        }
        let mut rec = base.clone();
        let result = feed_value(&mut rec, &item, &pointer, &mut soft)
            .and_then(|()| rec.finish().map_err(|e| (pointer.clone(), e)));
        for (p, msg) in soft.drain(..) {
            state.sink.error(p, msg);
        }
        match result {
            Ok(()) => state.emit(wrap(rec), Locator::Nested(list, i as u32)),
            Err((p, msg)) => state.sink.error(p, msg),
        }
    }
}

/// How the items of a list become records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Job,
    RecoveryPoint,
    Control,
    Resource,
    /// Recognised, kept and hashed; the items are not read (index listings such as
    /// `list-backup-plans`).
    Skip,
    Vault,
    LegalHold,
    Alarm,
    Tagged,
    Plan,
    Selection,
    BackupSelection,
    VaultNotification,
    VaultAccessPolicy,
    EventRule,
    Subscription,
    ProtectedResource,
    Integrity,
    Gap,
    Scan,
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
            ListKey::BackupPlansList => (Shape::Skip, ArtifactKind::BackupPlansListSnapshot),
            ListKey::BackupSelectionsList => (Shape::Skip, ArtifactKind::BackupSelectionsListSnapshot),
            ListKey::Rules => (Shape::EventRule, ArtifactKind::EventRulesSnapshot),
            ListKey::Subscriptions => (Shape::Subscription, ArtifactKind::SnsSubscriptionsSnapshot),
            ListKey::Results => (Shape::ProtectedResource, ArtifactKind::ProtectedResourcesSnapshot),
            ListKey::ScanJobs => (Shape::Scan, ArtifactKind::ScanJobsSnapshot),
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
            Shape::BackupSelection => one::<BackupSelection>(value, p, soft, Record::BackupSelection),
            Shape::VaultNotification => one::<VaultNotification>(value, p, soft, Record::VaultNotification),
            Shape::VaultAccessPolicy => one::<VaultAccessPolicy>(value, p, soft, Record::VaultAccessPolicy),
            Shape::EventRule => one::<EventRule>(value, p, soft, Record::EventRule),
            Shape::Subscription => one::<SnsSubscription>(value, p, soft, Record::SnsSubscription),
            Shape::ProtectedResource => one::<ProtectedResource>(value, p, soft, Record::ProtectedResource),
            Shape::Scan => one::<MalwareScan>(value, p, soft, Record::MalwareScan),
            Shape::Skip => return,
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
                Some(Shape::Skip) => {
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
    keys.start_item();
    if seq.next_element_seed(Item { rec: &mut rec, problems: &mut problems, keys: &mut *keys })?.is_none() {
        return Ok(false);
    }
    keys.end_item();
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
        // and the repetition is reported, since another reader may take the first. Where the
        // item so far is the previous one, a name cannot repeat (`KeyCache::same`), so a
        // regular list costs no search per member.
        let mut seen = std::mem::take(&mut self.keys.item);
        seen.clear();
        while let Some(key) = map.next_key_seed(Key(&mut *self.keys))? {
            if !self.keys.same(&key) && seen.iter().any(|k| k.as_bytes() == key.norm.as_bytes()) {
                self.keys.first_repeat.get_or_insert(key.pos);
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
    /// Its position in the item (nested members counted).
    pos: usize,
    /// Whether the previous item had this name at this position and depth.
    hit: bool,
}

/// Member names seen at each position of the previous item of the same list (one cache per
/// list). Items of one list almost always spell their members alike and in the same order, so
/// a name is usually recognised with one comparison instead of being normalised again.
#[derive(Default)]
struct KeyCache {
    seen: Vec<Seen>,
    pos: usize,
    /// The member names of the item being read (reused, to find repeated ones).
    item: Vec<NormKey>,
    /// Nesting depth of the object being read (nested objects are flattened into the item).
    depth: u8,
    /// Members of the previous item before its first repeated name (all when none).
    distinct: usize,
    /// The position of this item's first repeated name.
    first_repeat: Option<usize>,
    /// Whether every member of this item so far had the previous item's name and depth at its
    /// position, before that item's first repeat: then the two items are the same tree so
    /// far (names and depths in reading order fix it), and this one repeats no name either.
    same: bool,
}

/// A member name at one position: as written, its depth, normalised, and the field it sets
/// (a slot, see `FieldSink::slot`; one kind of record per cache, as a list's items are all
/// read as the shape its first item or name fixed).
struct Seen {
    raw: Box<[u8]>,
    depth: u8,
    norm: NormKey,
    slot: Option<u16>,
}

impl KeyCache {
    fn start_item(&mut self) {
        (self.pos, self.depth, self.first_repeat, self.same) = (0, 0, None, true);
    }

    fn end_item(&mut self) {
        self.distinct = self.first_repeat.unwrap_or(self.pos);
    }

    /// Whether the item so far, `key` included, is the previous item (see `same`).
    fn same(&mut self, key: &RawKey<'_>) -> bool {
        self.same &= key.hit && key.pos < self.distinct;
        self.same
    }

    /// The normalised name at the next position, and whether it is the cached one.
    fn norm(&mut self, raw: &str) -> (NormKey, usize, bool) {
        let pos = self.pos;
        self.pos += 1;
        if let Some(seen) = self.seen.get(pos)
            && *seen.raw == *raw.as_bytes()
            && seen.depth == self.depth
        {
            return (seen.norm, pos, true);
        }
        let norm = NormKey::new(raw);
        let fresh = Seen { raw: raw.as_bytes().into(), depth: self.depth, norm, slot: None };
        if pos < self.seen.len() {
            self.seen[pos] = fresh;
        } else if pos == self.seen.len() && pos < 256 {
            self.seen.push(fresh);
        }
        (norm, pos, false)
    }

    /// The slot of the name just read at `pos` in `rec`, found once per position. `norm` put
    /// that name at `pos`, unless the item is too long to cache.
    fn slot(&mut self, pos: usize, norm: &NormKey, rec: &dyn FieldSink) -> u16 {
        match self.seen.get_mut(pos) {
            Some(seen) => {
                debug_assert_eq!(seen.norm.as_bytes(), norm.as_bytes());
                *seen.slot.get_or_insert_with(|| rec.slot(norm.as_bytes()))
            }
            None => rec.slot(norm.as_bytes()),
        }
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
        let (norm, pos, hit) = self.0.norm(v);
        Ok(RawKey { norm, raw: Cow::Borrowed(v), pos, hit })
    }

    fn visit_str<E>(self, v: &str) -> Result<RawKey<'de>, E> {
        let (norm, pos, hit) = self.0.norm(v);
        Ok(RawKey { norm, raw: Cow::Owned(v.to_owned()), pos, hit })
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
        let slot = self.keys.slot(self.key.pos, &self.key.norm, self.rec);
        if let Err(msg) = self.rec.set_slot(slot, key, v) {
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
        self.keys.depth = self.keys.depth.saturating_add(1);
        Item { rec: self.rec, problems: self.problems, keys: &mut *self.keys }.visit_map(map)?;
        self.keys.depth -= 1;
        Ok(())
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
    use crate::evidence::model::{BackupRule, TagCondition};

    /// Parses from memory and from a reader; both must agree.
    fn parse_text(text: &str) -> VecSink {
        let (mut a, mut b) = (VecSink::default(), VecSink::default());
        let kind = parse_slice(text.as_bytes(), &Context::default(), &mut a);
        assert_eq!(kind, parse_reader(text.as_bytes(), &Context::default(), &mut b));
        assert_eq!((&a.records, &a.errors), (&b.records, &b.errors));
        a
    }

    #[test]
    fn a_byte_that_is_not_utf8_is_reported_where_it_stands_after_the_items_before_it() {
        let text = b"{\"BackupJobs\": [\n {\"BackupJobId\": \"a\", \"State\": \"COMPLETED\"},\n {\"BackupJobId\": \"b\xff\"}\n]}";
        let (mut from_bytes, mut from_reader) = (VecSink::default(), VecSink::default());
        let kind = parse_slice(text, &Context::default(), &mut from_bytes);
        assert_eq!(kind, parse_reader(&text[..], &Context::default(), &mut from_reader));
        assert_eq!((&from_bytes.records, &from_bytes.errors), (&from_reader.records, &from_reader.errors));
        assert_eq!(from_bytes.records.len(), 1, "the first job stands");
        let [(locator, message)] = &from_bytes.errors[..] else { panic!("one error: {:?}", from_bytes.errors) };
        assert!(message.contains("line 3 column"), "{locator}: {message}");
        // Valid UTF-8 takes the other path; the same text without the bad byte reads both jobs.
        let fixed: Vec<u8> = text.iter().copied().filter(|&b| b != 0xff).collect();
        let mut sink = VecSink::default();
        parse_slice(&fixed, &Context::default(), &mut sink);
        assert_eq!((sink.records.len(), sink.errors.len()), (2, 0));
    }

    #[test]
    fn member_names_cached_per_position_give_what_each_item_alone_gives() {
        // Items of one list that repeat, drop, reorder, nest and repeat again their members:
        // read together (names, slots and "no repeat" carried from item to item) each must
        // give the records and messages it gives read alone.
        let items = [
            r#"{"BackupJobId":"j1","State":"COMPLETED","CreationDate":"2026-07-01T00:00:00Z","ResourceArn":"a"}"#,
            r#"{"BackupJobId":"j2","State":"COMPLETED","CreationDate":"2026-07-01T00:00:00Z","ResourceArn":"b","State":"FAILED"}"#,
            r#"{"BackupJobId":"j3","State":"COMPLETED","CreationDate":"2026-07-01T00:00:00Z","ResourceArn":"c","State":"FAILED"}"#,
            r#"{"BackupJobId":"j4","CreatedBy":{"BackupPlanArn":"p","ResourceArn":"n"},"ResourceArn":"d","State":"RUNNING","CreationDate":"2026-07-01T00:00:00Z"}"#,
            r#"{"BackupJobId":"j5","CreatedBy":"x","BackupPlanArn":"p","ResourceArn":"e","ResourceArn":"f","State":"RUNNING","CreationDate":"2026-07-01T00:00:00Z"}"#,
            r#"{"BackupJobId":"j6","State":"COMPLETED","CreationDate":"2026-07-01T00:00:00Z","ResourceArn":"g"}"#,
            r#"{"BackupJobId":"j7","BackupJobId":"j8","State":"COMPLETED","CreationDate":"2026-07-01T00:00:00Z"}"#,
            r#"{"CopyJobId":"c1","State":"COMPLETED","CreationDate":"2026-07-01T00:00:00Z","ResourceArn":"h"}"#,
        ];
        let together = parse_text(&format!(r#"{{"BackupJobs":[{}]}}"#, items.join(",")));
        let mut records = Vec::new();
        let mut errors = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let alone = parse_text(&format!(r#"{{"BackupJobs":[{item}]}}"#));
            records.extend(alone.records);
            errors.extend(alone.errors.into_iter().map(|(at, msg)| (at.replace("/0", &format!("/{i}")), msg)));
        }
        let strip = |r: &Record| match r {
            Record::Job(j) => Record::Job(Job { provenance: Vec::new(), ..j.clone() }),
            other => other.clone(),
        };
        let (a, b): (Vec<_>, Vec<_>) =
            (together.records.iter().map(strip).collect(), records.iter().map(strip).collect());
        assert_eq!(a, b);
        assert_eq!(together.errors, errors);
        let twice = together.errors.iter().filter(|(_, m)| m.contains("appears twice")).count();
        assert_eq!(twice, 4, "{:?}", together.errors);
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

    #[test]
    fn a_backup_plan_gives_a_record_per_rule_carrying_the_plans_fields() {
        let plan_arn = "arn:aws:backup:eu-west-1:111122223333:backup-plan:p-1";
        let sink = parse_text(&format!(
            r#"{{"BackupPlan":{{"BackupPlanName":"gold","Rules":[
                {{"RuleName":"daily","RuleId":"r-1","ScheduleExpression":"cron(0 3 ? * * *)",
                  "ScheduleExpressionTimezone":"Europe/Berlin","Lifecycle":{{"DeleteAfterDays":35}},
                  "RecoveryPointTags":{{"RuleName":"spoof","RuleId":"spoof"}},
                  "CopyActions":[{{"DestinationBackupVaultArn":"arn:b","Lifecycle":{{"DeleteAfterDays":90}}}},
                                 {{"DestinationBackupVaultArn":"arn:a","Lifecycle":{{"DeleteAfterDays":30}}}},
                                 {{"DestinationBackupVaultArn":"arn:c"}}]}},
                {{"RuleName":"hourly","RuleId":"r-2","StartWindowMinutes":"soon","CopyActions":[{{"Lifecycle":{{}}}}]}},
                {{"RuleName":"no-id"}}]}},
              "BackupPlanId":"p-1","BackupPlanArn":"{plan_arn}","VersionId":"v-1",
              "CreationDate":"2026-07-01T00:00:00Z"}}"#
        ));
        let rules: Vec<&BackupRule> =
            sink.records.iter().filter_map(|r| if let Record::BackupRule(x) = r { Some(x) } else { None }).collect();
        assert_eq!(rules.len(), 2, "{:?}", sink.errors);
        let r = rules[0];
        assert_eq!(
            (r.backup_plan_id.as_str(), r.rule_id.as_str(), r.rule_name.as_deref()),
            ("p-1", "r-1", Some("daily"))
        );
        assert_eq!((r.backup_plan_name.as_deref(), r.version_id.as_deref()), (Some("gold"), Some("v-1")));
        assert_eq!((r.account_id.as_deref(), r.region.as_deref()), (Some("111122223333"), Some("eu-west-1")));
        assert_eq!(r.schedule_expression_timezone.as_deref(), Some("Europe/Berlin"));
        assert_eq!(r.delete_after_days, Some(35), "the rule's own lifecycle, not a copy's");
        assert_eq!(r.copy_destinations.as_deref(), Some("arn:a;arn:b;arn:c"));
        assert_eq!(r.copy_delete_after_days, Some(30), "the shortest-kept copy");
        assert_eq!(r.provenance[0].locator, Locator::Nested(NestedList::BackupPlanRules, 0));
        assert_eq!(r.provenance[0].locator.to_string(), "/BackupPlan/Rules/0");
        // The second rule keeps its plan's fields; its bad window and copy actions are left empty.
        let r = rules[1];
        assert_eq!((r.rule_id.as_str(), r.backup_plan_name.as_deref()), ("r-2", Some("gold")));
        assert_eq!((r.start_window_minutes, r.copy_destinations.as_deref()), (None, None));
        let places: Vec<&str> = sink.errors.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(
            places,
            ["/BackupPlan/Rules/1/CopyActions", "/BackupPlan/Rules/1/StartWindowMinutes", "/BackupPlan/Rules/2"]
        );
        assert!(sink.errors[2].1.contains("RuleId"), "{:?}", sink.errors[2]);
        let kind = parse_slice(
            br#"{"BackupPlan":{"Rules":{}},"BackupPlanId":"p"}"#,
            &Context::default(),
            &mut VecSink::default(),
        );
        assert_eq!(kind, ArtifactKind::BackupPlanSnapshot);
        let sink = parse_text(r#"{"BackupPlan":{"Rules":{}},"BackupPlanId":"p"}"#);
        assert_eq!((sink.records.len(), sink.errors[0].0.as_str()), (0, "/BackupPlan/Rules"));
    }

    #[test]
    fn a_backup_selection_keeps_its_lists_sorted_and_each_condition_typed() {
        let sink = parse_text(
            r#"{"BackupSelection":{"SelectionName":"s","IamRoleArn":"arn:aws:iam::111122223333:role/b",
                "Resources":["arn:z","arn:a*"],"NotResources":[],
                "ListOfTags":[{"ConditionType":"STRINGEQUALS","ConditionKey":"tier","ConditionValue":"gold"}],
                "Conditions":{"StringNotLike":[{"ConditionKey":"aws:ResourceTag/x","ConditionValue":"t*"}],
                              "StringEquals":[{"ConditionKey":"aws:ResourceTag/env","ConditionValue":"prod"}],
                              "StringLike":[]}},
              "SelectionId":"sel-1","BackupPlanId":"p-1","CreationDate":1783000000}"#,
        );
        assert!(sink.errors.is_empty(), "{:?}", sink.errors);
        let Some(Record::BackupSelection(s)) = sink.records.first() else { panic!("{:?}", sink.records) };
        assert_eq!((s.selection_id.as_str(), s.backup_plan_id.as_str()), ("sel-1", "p-1"));
        assert_eq!((s.account_id.as_deref(), s.region.as_deref()), (Some("111122223333"), None));
        assert_eq!(s.resources, ["arn:a*", "arn:z"]);
        assert!(s.not_resources.is_empty());
        let c = |t: &str, k: &str, v: &str| TagCondition {
            condition_type: t.into(),
            condition_key: k.into(),
            condition_value: v.into(),
        };
        assert_eq!(s.list_of_tags, [c("STRINGEQUALS", "tier", "gold")]);
        assert_eq!(
            s.conditions,
            [c("StringEquals", "aws:ResourceTag/env", "prod"), c("StringNotLike", "aws:ResourceTag/x", "t*")]
        );
        assert_eq!(s.provenance[0].locator, Locator::Document);
        // A bad list is left empty and reported at its pointer; the selection is kept.
        let sink = parse_text(
            r#"{"BackupSelection":{"ListOfTags":[{"ConditionKey":"tier"}],"Resources":["arn:a",7]},
                "SelectionId":"sel-2","BackupPlanId":"p-1"}"#,
        );
        let Some(Record::BackupSelection(s)) = sink.records.first() else { panic!("{:?}", sink.errors) };
        assert!(s.list_of_tags.is_empty() && s.resources.is_empty());
        let mut places: Vec<&str> = sink.errors.iter().map(|e| e.0.as_str()).collect();
        places.sort_unstable();
        assert_eq!(places, ["/BackupSelection/ListOfTags", "/BackupSelection/Resources"]);
        // No plan id: dropped, named.
        let sink = parse_text(r#"{"BackupSelection":{"SelectionName":"s"},"SelectionId":"sel-3"}"#);
        assert!(sink.records.is_empty());
        assert_eq!(sink.errors, [("/".to_owned(), "no SelectionId or BackupPlanId".to_owned())]);
    }

    #[test]
    fn plan_and_selection_index_listings_are_recognised_and_give_no_records() {
        for (text, kind) in [
            (
                r#"{"BackupPlansList":[{"BackupPlanId":"p-1","BackupPlanName":"gold"}]}"#,
                ArtifactKind::BackupPlansListSnapshot,
            ),
            (r#"{"BackupSelectionsList":[]}"#, ArtifactKind::BackupSelectionsListSnapshot),
        ] {
            let mut sink = VecSink::default();
            assert_eq!(parse_slice(text.as_bytes(), &Context::default(), &mut sink), kind);
            assert!(sink.records.is_empty() && sink.errors.is_empty(), "{sink:?}");
        }
    }

    #[test]
    fn vault_notifications_and_policies_are_not_taken_for_vault_descriptions() {
        let vault = "arn:aws:backup:eu-west-1:111122223333:backup-vault:central";
        let sink = parse_text(&format!(
            r#"{{"BackupVaultName":"central","BackupVaultArn":"{vault}",
                "SNSTopicArn":"arn:aws:sns:eu-west-1:111122223333:backup-alerts",
                "BackupVaultEvents":["RESTORE_JOB_COMPLETED","BACKUP_JOB_FAILED","COPY_JOB_FAILED"]}}"#
        ));
        let n: Vec<crate::evidence::model::VaultNotification> = sink.of();
        assert_eq!(n.len(), 1, "{sink:?}");
        assert_eq!(n[0].events.as_deref(), Some("BACKUP_JOB_FAILED;COPY_JOB_FAILED;RESTORE_JOB_COMPLETED"));
        assert_eq!((n[0].account_id.as_deref(), n[0].region.as_deref()), (Some("111122223333"), Some("eu-west-1")));
        assert_eq!(
            parse_slice(
                br#"{"BackupVaultArn":"a","BackupVaultEvents":[]}"#,
                &Context::default(),
                &mut VecSink::default()
            ),
            ArtifactKind::VaultNotificationsSnapshot
        );
        let policy = r#"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\",\"Principal\":{\"AWS\":\"*\"},\"Action\":[\"backup:DeleteRecoveryPoint\"],\"Resource\":\"*\"}]}"#;
        let sink =
            parse_text(&format!(r#"{{"BackupVaultName":"central","BackupVaultArn":"{vault}","Policy":"{policy}"}}"#));
        let p: Vec<crate::evidence::model::VaultAccessPolicy> = sink.of();
        assert_eq!(p.len(), 1, "{sink:?}");
        assert_eq!((p[0].denies_recovery_point_deletion, p[0].deletion_deny_conditional), (Some(true), Some(false)));
        assert_eq!(p[0].policy.as_deref(), Some(policy.replace('\\', "").as_str()));
        // An unreadable policy: kept as given, derived columns empty, the error at its pointer.
        let sink = parse_text(&format!(r#"{{"BackupVaultArn":"{vault}","Policy":"{{not json"}}"#));
        let p: Vec<crate::evidence::model::VaultAccessPolicy> = sink.of();
        assert_eq!((p[0].policy.as_deref(), p[0].denies_recovery_point_deletion), (Some("{not json"), None));
        assert_eq!(sink.errors.len(), 1);
        assert_eq!(sink.errors[0].0, "/Policy");
        assert!(sink.errors[0].1.starts_with("Policy is not JSON"), "{:?}", sink.errors);
        // A vault description is still a vault.
        let sink = parse_text(&format!(r#"{{"BackupVaultName":"central","BackupVaultArn":"{vault}","Locked":true}}"#));
        assert!(matches!(sink.records.as_slice(), [Record::Vault(_)]), "{sink:?}");
    }

    #[test]
    fn rules_keep_their_pattern_compact_and_say_whether_it_catches_failures() {
        let arn = |n: &str| format!("arn:aws:events:eu-west-1:111122223333:rule/{n}");
        let sink = parse_text(&format!(
            r#"{{"Rules":[
              {{"Name":"failed","Arn":"{}","State":"ENABLED","EventBusName":"default",
                "EventPattern":"{{\"source\": [\"aws.backup\"], \"detail-type\": [\"Backup Job State Change\"], \"detail\": {{\"state\": [\"FAILED\"]}}}}"}},
              {{"Name":"done","Arn":"{}","State":"DISABLED","EventPattern":"{{\"source\":[\"aws.backup\"],\"detail\":{{\"state\":[\"COMPLETED\"],\"status\":[\"COMPLETED\"]}}}}"}},
              {{"Name":"broken","Arn":"{}","EventPattern":"{{source"}},
              {{"Name":"nightly","Arn":"{}","ScheduleExpression":"cron(0 2 * * ? *)"}},
              {{"Arn":"{}"}}]}}"#,
            arn("failed"),
            arn("done"),
            arn("broken"),
            arn("nightly"),
            arn("nameless")
        ));
        let rules: Vec<EventRule> = sink.of();
        let got: Vec<(&str, Option<&str>, Option<bool>)> =
            rules.iter().map(|r| (r.rule_name.as_str(), r.state.as_deref(), r.matches_backup_failures)).collect();
        assert_eq!(
            got,
            [
                ("failed", Some("ENABLED"), Some(true)),
                ("done", Some("DISABLED"), Some(false)),
                ("broken", None, None),
                ("nightly", None, None)
            ]
        );
        assert_eq!(
            rules[0].event_pattern.as_deref(),
            Some(
                r#"{"source":["aws.backup"],"detail-type":["Backup Job State Change"],"detail":{"state":["FAILED"]}}"#
            )
        );
        assert_eq!(rules[2].event_pattern.as_deref(), Some("{source"), "kept as given");
        assert_eq!(rules[0].provenance[0].locator.to_string(), "/Rules/0");
        let places: Vec<&str> = sink.errors.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(places, ["/Rules/2/EventPattern", "/Rules/4"]);
    }

    #[test]
    fn targets_take_their_rule_from_the_file_name_and_are_kept_without_one() {
        let text = br#"{"Targets":[{"Id":"sns","Arn":"arn:aws:sns:eu-west-1:111122223333:backup-alerts"},
            {"Id":"log","Arn":"arn:aws:logs:eu-west-1:111122223333:log-group:backup"}]}"#;
        let ctx = Context { file_name: "list-targets-by-rule-failed.json".into(), ..Context::default() };
        let mut sink = VecSink::default();
        assert_eq!(parse_slice(text, &ctx, &mut sink), ArtifactKind::EventRuleTargetsSnapshot);
        assert!(sink.errors.is_empty(), "{sink:?}");
        let rules: Vec<EventRule> = sink.of();
        assert_eq!((rules[0].rule_name.as_str(), rules[0].target_count), ("failed", Some(2)));
        assert_eq!(
            rules[0].targets.as_deref(),
            Some(
                "arn:aws:logs:eu-west-1:111122223333:log-group:backup;arn:aws:sns:eu-west-1:111122223333:backup-alerts"
            )
        );
        // Made by hand under another name: the targets are kept, the missing rule said.
        let sink = parse_text(std::str::from_utf8(text).unwrap());
        let rules: Vec<EventRule> = sink.of();
        assert_eq!((rules[0].rule_name.as_str(), rules[0].target_count), ("", Some(2)));
        assert_eq!(sink.errors.len(), 1);
        assert!(sink.errors[0].1.contains("list-targets-by-rule-<rule name>.json"), "{:?}", sink.errors);
        let sink = parse_text(r#"{"Rule":"by-hand","Targets":[]}"#);
        let rules: Vec<EventRule> = sink.of();
        assert_eq!((rules[0].rule_name.as_str(), rules[0].target_count), ("by-hand", Some(0)));
        assert!(sink.errors.is_empty(), "{sink:?}");
        let sink = parse_text(r#"{"Targets":[{"Id":"x"}]}"#);
        assert!(sink.records.is_empty());
        assert!(sink.errors.iter().any(|e| e.0 == "/Targets/0"), "{:?}", sink.errors);
    }

    #[test]
    fn subscriptions_are_masked_and_pending_ones_unconfirmed() {
        let topic = "arn:aws:sns:eu-west-1:111122223333:backup-alerts";
        let sink = parse_text(&format!(
            r#"{{"Subscriptions":[
              {{"SubscriptionArn":"{topic}:0b1f","Owner":"111122223333","Protocol":"email","Endpoint":"oncall.lead@example.com","TopicArn":"{topic}"}},
              {{"SubscriptionArn":"PendingConfirmation","Owner":"111122223333","Protocol":"sms","Endpoint":"+353861234567","TopicArn":"{topic}"}},
              {{"SubscriptionArn":"{topic}:77aa","Protocol":"https","Endpoint":"https://hooks.example.com/T0/secret-path","TopicArn":"{topic}"}},
              {{"SubscriptionArn":"Deleted","Protocol":"email","Endpoint":"x@example.com"}}]}}"#
        ));
        let subs: Vec<SnsSubscription> = sink.of();
        let got: Vec<(Option<&str>, Option<bool>)> =
            subs.iter().map(|s| (s.endpoint.as_deref(), s.confirmed)).collect();
        assert_eq!(
            got,
            [
                (Some("o***@example.com"), Some(true)),
                (Some("***67"), Some(false)),
                (Some("https://hooks.example.com"), Some(true))
            ]
        );
        assert_eq!(
            (subs[0].account_id.as_deref(), subs[0].region.as_deref()),
            (Some("111122223333"), Some("eu-west-1"))
        );
        assert_eq!(sink.errors, [("/Subscriptions/3".to_owned(), "no TopicArn".to_owned())]);
        let debug = format!("{sink:?}");
        for secret in ["oncall.lead", "1234567", "secret-path", "x@example.com"] {
            assert!(!debug.contains(secret), "{secret} reached a record or error: {debug}");
        }
    }
}
