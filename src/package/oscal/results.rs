//! `oscal/assessment-results.json`: the period's findings, checks and artifacts as OSCAL
//! assessment results (the mapping is in the parent module's doc).
//!
//! OSCAL requires an `import-ap` (the assessment plan the results follow). We have no plan in
//! OSCAL: the assessment is the mapping and the checks, so `import-ap` points at the back-matter
//! resource of the catalog and says so in its remarks.

use std::collections::BTreeMap;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::catalog::statement_id;
use super::{Hash, Metadata, OSCAL_VERSION, Party, Prop, Resource, Rlink, is_token, line, line_or, uuid};
use crate::artifact::Sha256Digest;
use crate::assess::checks::CheckStatus;
use crate::assess::mapping::Status;
use crate::evidence::{ArtifactEntry, Format};
use crate::package::findings::{CheckEntry, FindingsDoc, RequirementEntry};
use crate::package::{Manifest, layout};

/// Resources named in a risk's statement, most exceptions first; the rest are counted.
const RISK_RESOURCES: usize = 20;

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct ResultsDoc<'a> {
    assessment_results: AssessmentResults<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct AssessmentResults<'a> {
    uuid: String,
    metadata: Metadata,
    import_ap: ImportAp,
    results: Vec<AssessmentResult>,
    back_matter: BackMatterOut<'a>,
}

#[derive(Serialize)]
struct ImportAp {
    href: String,
    remarks: String,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct AssessmentResult {
    uuid: String,
    title: String,
    description: String,
    start: String,
    end: String,
    props: Vec<Prop>,
    #[serde(skip_serializing_if = "Option::is_none")]
    local_definitions: Option<LocalDefinitions>,
    reviewed_controls: ReviewedControls,
    observations: Vec<Observation>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    risks: Vec<Risk>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    findings: Vec<Finding>,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct LocalDefinitions {
    inventory_items: Vec<InventoryItem>,
}

#[derive(Serialize)]
struct InventoryItem {
    uuid: String,
    description: String,
    props: Vec<Prop>,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct ReviewedControls {
    control_selections: Vec<ControlSelection>,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct ControlSelection {
    /// Only when the mapping has no requirement (`include-controls` may not be empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    include_all: Option<IncludeAll>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    include_controls: Vec<ControlRef>,
}

/// `include-all`: `{}`.
#[derive(Serialize)]
struct IncludeAll {}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct ControlRef {
    control_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct Observation {
    uuid: String,
    title: String,
    description: String,
    props: Vec<Prop>,
    methods: [&'static str; 1],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    subjects: Vec<SubjectRef>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    relevant_evidence: Vec<RelevantEvidence>,
    collected: String,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct SubjectRef {
    subject_uuid: String,
    #[serde(rename = "type")]
    kind: &'static str,
    title: String,
}

#[derive(Serialize)]
struct RelevantEvidence {
    href: String,
    description: String,
    props: Vec<Prop>,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct Risk {
    uuid: String,
    title: String,
    description: String,
    statement: String,
    status: &'static str,
    related_observations: Vec<RelatedObservation>,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct RelatedObservation {
    observation_uuid: String,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct RelatedRisk {
    risk_uuid: String,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct Finding {
    uuid: String,
    title: String,
    description: String,
    props: Vec<Prop>,
    target: Target,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    related_observations: Vec<RelatedObservation>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    related_risks: Vec<RelatedRisk>,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct Target {
    #[serde(rename = "type")]
    kind: &'static str,
    target_id: String,
    title: String,
    status: TargetStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    implementation_status: Option<State>,
}

#[derive(Serialize)]
struct TargetStatus {
    state: &'static str,
    reason: &'static str,
}

#[derive(Serialize)]
struct State {
    state: &'static str,
}

/// What the UUIDs of the result's parts are made from: the package, so that two packages'
/// observations never share one, and the UUIDs of the things they point at.
struct Ids {
    package: String,
    /// Back-matter resource of each artifact digest (the first artifact with those bytes).
    artifacts: BTreeMap<String, String>,
    /// Inventory item of each resource a check names.
    items: BTreeMap<String, String>,
}

impl Ids {
    fn of(&self, kind: &str, id: &str) -> String {
        uuid(&[kind, &self.package, id])
    }
}

/// Writes `oscal/assessment-results.json` for a package to `out`: its manifest header (entity,
/// period, times, tool, package id), findings, artifacts and the bytes of its
/// `oscal/dora-catalog.json`. Streamed, because it holds ~2 KB per artifact.
///
/// # Errors
/// When `out` fails.
pub(crate) fn assessment_results(
    meta: &Manifest,
    findings: &FindingsDoc,
    artifacts: &[ArtifactEntry],
    catalog: &[u8],
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let by_sha = resource_by_sha(artifacts);
    let catalog_resource = catalog_resource(catalog);
    let import_ap = ImportAp {
        href: format!("#{}", catalog_resource.uuid),
        remarks: "dora-evidence has no OSCAL assessment plan: the assessment is the DORA mapping and its checks. \
                  This points at the back-matter resource of the DORA catalog (dora-catalog.json, beside this file), \
                  whose controls the findings target."
            .into(),
    };
    let (inventory, items) = inventory(findings);
    let ids = Ids { package: meta.package_id.clone(), artifacts: by_sha, items };
    let observations = findings.checks.iter().map(|c| observation(c, meta, &ids)).collect();
    let risks: Vec<Risk> =
        findings.checks.iter().filter(|c| c.status == CheckStatus::Fail).map(|c| risk(c, &ids)).collect();
    let result = AssessmentResult {
        uuid: uuid(&["result", &meta.package_id]),
        title: format!("DORA backup and recovery assessment, {}", meta.period),
        description: format!(
            "What dora-evidence {} found for {} in the artifacts of package {}: one finding per requirement of the \
             DORA mapping, one observation per check, one risk per failing check.",
            meta.tool.version, meta.period, meta.package_id
        ),
        start: meta.period_start.clone(),
        end: meta.period_end.clone(),
        props: Prop::ours("period", &meta.period).into_iter().collect(),
        local_definitions: (!inventory.is_empty()).then_some(LocalDefinitions { inventory_items: inventory }),
        reviewed_controls: reviewed_controls(findings),
        observations,
        findings: findings.requirements.iter().map(|r| finding(r, findings, &ids)).collect(),
        risks,
    };
    let doc = AssessmentResults {
        uuid: uuid(&["assessment-results", &meta.package_id, &meta.generated_at, &meta.tool.version]),
        metadata: metadata(meta),
        import_ap,
        results: vec![result],
        back_matter: BackMatterOut { resources: Resources { artifacts, catalog: catalog_resource } },
    };
    serde_json::to_writer_pretty(&mut *out, &ResultsDoc { assessment_results: doc })?;
    out.write_all(b"\n")
}

/// Every control of the catalog: the requirements of the mapping.
fn reviewed_controls(findings: &FindingsDoc) -> ReviewedControls {
    let include_controls: Vec<ControlRef> =
        findings.requirements.iter().map(|r| ControlRef { control_id: r.id.clone() }).collect();
    let include_all = include_controls.is_empty().then_some(IncludeAll {});
    ReviewedControls { control_selections: vec![ControlSelection { include_all, include_controls }] }
}

fn metadata(meta: &Manifest) -> Metadata {
    let entity = meta.entity.as_deref().and_then(line);
    let title = match &entity {
        Some(e) => format!("DORA backup and recovery evidence of {e}, {}", meta.period),
        None => format!("DORA backup and recovery evidence, {}", meta.period),
    };
    let props = [
        entity.as_deref().and_then(|e| Prop::ours("entity", e)),
        Prop::ours("period", &meta.period),
        Prop::ours("tool", &meta.tool.name),
        Prop::ours("tool-version", &meta.tool.version),
        Prop::ours("package-id", &meta.package_id),
    ];
    Metadata {
        title,
        last_modified: meta.generated_at.clone(),
        version: meta.package_id.clone(),
        oscal_version: OSCAL_VERSION,
        props: props.into_iter().flatten().collect(),
        links: Vec::new(),
        parties: entity
            .map(|name| Party { uuid: uuid(&["party", &name]), kind: "organization", name })
            .into_iter()
            .collect(),
        remarks: Some(
            "Generated by dora-evidence from the evidence package named by version; every artifact is a back-matter \
             resource whose rlink is its stored copy in the package, relative to this file, with its SHA-256."
                .into(),
        ),
    }
}

/// One back-matter resource per artifact, then the catalog's, made while they are written:
/// an organisation's quarter has hundreds of thousands of artifacts (46 MB of resources for
/// 144 000 when they were collected first).
#[derive(Serialize)]
struct BackMatterOut<'a> {
    resources: Resources<'a>,
}

struct Resources<'a> {
    artifacts: &'a [ArtifactEntry],
    catalog: Resource,
}

impl Serialize for Resources<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = serializer.serialize_seq(Some(self.artifacts.len() + 1))?;
        // Artifacts with each digest so far.
        let mut seen: BTreeMap<Sha256Digest, usize> = BTreeMap::new();
        for a in self.artifacts {
            let n = seen.entry(a.artifact.sha256).or_default();
            let sha = a.artifact.sha256.hex();
            seq.serialize_element(&artifact_resource(a, &sha, artifact_id(&sha, *n)))?;
            *n += 1;
        }
        seq.serialize_element(&self.catalog)?;
        seq.end()
    }
}

/// The UUID of the `n`-th artifact (from 0) with the bytes of digest `sha`: made from the
/// digest and how many artifacts with those bytes came before it, not from the origin, so where
/// the inputs lay changes the titles, never the links.
fn artifact_id(sha: &str, n: usize) -> String {
    uuid(&["artifact", sha, &n.to_string()])
}

/// The resource of each digest: the first artifact with those bytes.
fn resource_by_sha(artifacts: &[ArtifactEntry]) -> BTreeMap<String, String> {
    let mut by_sha = BTreeMap::new();
    for a in artifacts {
        by_sha.entry(a.artifact.sha256.hex()).or_insert_with_key(|sha| artifact_id(sha, 0));
    }
    by_sha
}

fn artifact_resource(a: &ArtifactEntry, sha: &str, id: String) -> Resource {
    let props = [
        Prop::ours("kind", a.kind.as_str()),
        Prop::ours("format", a.format.as_str()),
        Prop::ours("parse-status", a.parse_status()),
        Prop::ours("size", &a.artifact.size.to_string()),
    ];
    let media_type = match a.format {
        Format::Csv => Some("text/csv"),
        Format::Json => Some("application/json"),
        Format::Zip => Some("application/zip"),
        Format::Other => None,
    };
    Resource {
        uuid: id,
        title: line_or(&[&a.artifact.origin, sha]),
        description: None,
        props: props.into_iter().flatten().collect(),
        rlinks: vec![Rlink {
            href: format!("../{}/sha256/{sha}", layout::ARTIFACTS_DIR),
            media_type,
            hashes: Hash::sha256(sha),
        }],
    }
}

/// The catalog's resource: `dora-catalog.json` beside this file, with its digest.
fn catalog_resource(catalog: &[u8]) -> Resource {
    let sha = hex::encode(Sha256::digest(catalog));
    let name = layout::OSCAL_CATALOG.rsplit('/').next().unwrap_or(layout::OSCAL_CATALOG);
    Resource {
        uuid: uuid(&["catalog-resource", &sha]),
        title: "DORA catalog: the requirements of the mapping as OSCAL controls (dora-evidence paraphrases)".into(),
        description: Some("The controls the findings target (statement parts `<requirement id>_smt`).".into()),
        props: Vec::new(),
        rlinks: vec![Rlink { href: name.into(), media_type: Some("application/json"), hashes: Hash::sha256(&sha) }],
    }
}

/// One inventory item per distinct resource the checks name, and the item of each.
fn inventory(findings: &FindingsDoc) -> (Vec<InventoryItem>, BTreeMap<String, String>) {
    let mut items = Vec::new();
    let mut by_name = BTreeMap::new();
    for r in findings.checks.iter().flat_map(|c| &c.resources) {
        let Some(name) = line(&r.resource) else { continue };
        if by_name.contains_key(&name) {
            continue;
        }
        let id = uuid(&["inventory-item", &name]);
        let props =
            [Prop::ours("resource", &name), Prop::ours("account-id", &r.account_id), Prop::ours("region", &r.region)];
        items.push(InventoryItem {
            uuid: id.clone(),
            description: name.clone(),
            props: props.into_iter().flatten().collect(),
        });
        by_name.insert(name, id);
    }
    (items, by_name)
}

/// A check as an observation: its status and figures, the resources it names, the artifacts
/// it read.
fn observation(c: &CheckEntry, meta: &Manifest, ids: &Ids) -> Observation {
    let mut props: Vec<Prop> = [Prop::ours("check", c.id.as_str()), Prop::ours("check-status", c.status.as_str())]
        .into_iter()
        .flatten()
        .collect();
    props.extend(Prop::ours("records", &c.records.to_string()));
    props.extend(c.figures.iter().filter_map(|(k, v)| figure(k, v)));
    let subjects = c
        .resources
        .iter()
        .filter_map(|r| line(&r.resource))
        .filter_map(|name| {
            let id = ids.items.get(&name)?;
            Some(SubjectRef { subject_uuid: id.clone(), kind: "inventory-item", title: name })
        })
        .collect();
    let relevant_evidence = c
        .artifacts
        .iter()
        .filter_map(|sha| {
            let id = ids.artifacts.get(sha)?;
            Some(RelevantEvidence {
                href: format!("#{id}"),
                description: format!("Artifact with SHA-256 {sha}, read by the check"),
                props: Prop::ours("sha256", sha).into_iter().collect(),
            })
        })
        .collect();
    Observation {
        uuid: ids.of("observation", c.id.as_str()),
        title: line_or(&[&c.title, c.id.as_str()]),
        description: line_or(&[&c.summary, &c.title]),
        props,
        methods: ["TEST"],
        subjects,
        relevant_evidence,
        collected: meta.generated_at.clone(),
    }
}

/// A figure as our property named after it (`figure` with `name: value` when the name is no
/// OSCAL token).
fn figure(name: &str, value: &str) -> Option<Prop> {
    let mut p =
        if is_token(name) { Prop::ours(name, value)? } else { Prop::ours("figure", &format!("{name}: {value}"))? };
    p.class = Some("figure");
    Some(p)
}

/// A failing check's risk: its exceptions by resource.
fn risk(c: &CheckEntry, ids: &Ids) -> Risk {
    let mut statement = format!("{} exception(s), every one in findings.json (check `{}`).", c.exceptions.len(), c.id);
    for r in c.resources.iter().take(RISK_RESOURCES) {
        statement.push_str(&format!("\n- {}: {} (×{})", line_or(&[&r.resource]), line_or(&[&r.what]), r.count));
    }
    if c.resources.len() > RISK_RESOURCES {
        statement.push_str(&format!("\n- and {} more resources", c.resources.len() - RISK_RESOURCES));
    }
    Risk {
        uuid: ids.of("risk", c.id.as_str()),
        title: format!("{}: failed", line_or(&[&c.title, c.id.as_str()])),
        description: line_or(&[&c.summary, &c.title]),
        statement,
        status: "open",
        related_observations: vec![RelatedObservation { observation_uuid: ids.of("observation", c.id.as_str()) }],
    }
}

/// A requirement's finding: `satisfied` only when ours is; its checks' observations and
/// their risks.
fn finding(r: &RequirementEntry, findings: &FindingsDoc, ids: &Ids) -> Finding {
    let (state, reason) = match r.status {
        Status::Satisfied => ("satisfied", "pass"),
        Status::NotSatisfied | Status::PartiallySatisfied => ("not-satisfied", "fail"),
        Status::NoEvidence | Status::NotApplicable => ("not-satisfied", "other"),
    };
    let ran = |id| findings.checks.iter().find(|c: &&CheckEntry| c.id == id);
    let failing = |id| ran(id).is_some_and(|c| c.status == CheckStatus::Fail);
    let props = [
        Prop::ours("dora-status", r.status.as_str()),
        Prop::ours("evidence-records", &r.evidence_records.to_string()),
        Prop::ours("evidence-artifacts", &r.evidence_artifacts.to_string()),
    ];
    Finding {
        uuid: ids.of("finding", &r.id),
        title: format!("{}: {}", line_or(&[&r.requirement, &r.id]), r.status.as_str()),
        description: line_or(&[&r.summary, r.status.as_str()]),
        props: props.into_iter().flatten().collect(),
        target: Target {
            kind: "statement-id",
            target_id: statement_id(&r.id),
            title: line_or(&[&r.paraphrase, &r.id]),
            status: TargetStatus { state, reason },
            implementation_status: (r.status == Status::NotApplicable).then_some(State { state: "not-applicable" }),
        },
        related_observations: r
            .checks
            .iter()
            .filter(|c| ran(**c).is_some())
            .map(|c| RelatedObservation { observation_uuid: ids.of("observation", c.as_str()) })
            .collect(),
        related_risks: r
            .checks
            .iter()
            .filter(|c| failing(**c))
            .map(|c| RelatedRisk { risk_uuid: ids.of("risk", c.as_str()) })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn requirement(status: Status) -> RequirementEntry {
        RequirementEntry {
            id: "dora-12-6".into(),
            requirement: "DORA Art. 12(6)".into(),
            paraphrase: "Recovery objectives are set and met.".into(),
            status,
            summary: " two\nlines ".into(),
            checks: vec![crate::assess::checks::CheckId::Rpo],
            checks_without_data: Vec::new(),
            evidence_records: 3,
            evidence_artifacts: 1,
            attach: None,
        }
    }

    #[test]
    fn only_satisfied_is_satisfied_and_our_status_is_kept() {
        let doc = FindingsDoc { period: "2026-Q3".into(), requirements: Vec::new(), checks: Vec::new() };
        let ids = Ids { package: "p".into(), artifacts: BTreeMap::new(), items: BTreeMap::new() };
        for (status, state, reason) in [
            (Status::Satisfied, "satisfied", "pass"),
            (Status::PartiallySatisfied, "not-satisfied", "fail"),
            (Status::NotSatisfied, "not-satisfied", "fail"),
            (Status::NoEvidence, "not-satisfied", "other"),
            (Status::NotApplicable, "not-satisfied", "other"),
        ] {
            let f = finding(&requirement(status), &doc, &ids);
            assert_eq!((f.target.status.state, f.target.status.reason), (state, reason), "{status:?}");
            assert_eq!(f.target.target_id, "dora-12-6_smt");
            assert_eq!(f.target.implementation_status.is_some(), status == Status::NotApplicable);
            assert!(f.props.iter().any(|p| p.name == "dora-status" && p.value == status.as_str()));
            assert_eq!(f.description, "two lines");
            // The check did not run here: no observation is pointed at.
            assert!(f.related_observations.is_empty());
        }
    }
}
