//! Issue 19, OSCAL side: the sample package's `oscal/assessment-results.json` and
//! `oscal/dora-catalog.json`, checked by tools that are not ours: `scripts/oscal_check.py`
//! loads them with compliance-trestle's models, validates them against NIST's OSCAL 1.2.1 JSON
//! schemas (`tests/fixtures/oscal/`, jsonschema) and follows every link to the catalog and the
//! artifacts. `scripts/test.sh` installs the Python packages; a missing one fails the test.

use std::path::Path;

use serde_json::Value;

use super::util::{require_python_module, run, sample_package, stderr, tool};

const RESULTS: &str = "oscal/assessment-results.json";
const CATALOG: &str = "oscal/dora-catalog.json";

fn script() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/oscal_check.py").to_string_lossy().into_owned()
}

/// `scripts/oscal_check.py` on `pkg`: (exit 0, its output).
fn oscal_check(pkg: &Path) -> (bool, String) {
    for (module, install) in
        [("trestle", "compliance-trestle==5.2.0"), ("jsonschema", "jsonschema==4.26.0"), ("regex", "regex==2026.5.9")]
    {
        require_python_module(module, install);
    }
    tool("python3", &[&script(), pkg.to_str().unwrap()], Path::new("."))
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The one result of the sample's assessment results.
fn result(doc: &Value) -> &Value {
    &doc["assessment-results"]["results"][0]
}

/// A copy of the sample package's OSCAL folder, `artifacts.csv` and artifacts, with the results
/// document changed by `edit`.
fn broken_copy(edit: impl FnOnce(&mut Value)) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for e in walkdir::WalkDir::new(sample_package()).into_iter().map(Result::unwrap) {
        let rel = e.path().strip_prefix(sample_package()).unwrap();
        let keep = ["oscal", "artifacts", "artifacts.csv"].iter().any(|k| rel.starts_with(k));
        if e.file_type().is_dir() {
            std::fs::create_dir_all(tmp.path().join(rel)).unwrap();
        } else if keep {
            std::fs::copy(e.path(), tmp.path().join(rel)).unwrap();
        }
    }
    let mut doc = read_json(&tmp.path().join(RESULTS));
    edit(&mut doc);
    std::fs::write(tmp.path().join(RESULTS), serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    tmp
}

#[test]
fn the_sample_packages_oscal_passes_trestle_nists_schemas_and_its_links() {
    let (ok, out) = oscal_check(sample_package());
    assert!(ok, "{out}");
    assert!(out.contains("valid against NIST's OSCAL 1.2.1 schemas"), "{out}");
    let doc = read_json(&sample_package().join(RESULTS));
    let r = result(&doc);
    let findings = std::fs::read_to_string(sample_package().join("findings.csv")).unwrap().lines().count() - 1;
    assert_eq!(r["findings"].as_array().unwrap().len(), findings);
    assert!(out.contains(&format!("{findings} findings target {findings} catalog statements")), "{out}");
    let evidence: usize = r["observations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["relevant-evidence"].as_array().map_or(0, Vec::len))
        .sum();
    assert!(evidence > 1000, "{evidence}");
    assert!(out.contains(&format!("{evidence} relevant-evidence links resolve")), "{out}");
    let artifacts = std::fs::read_to_string(sample_package().join("artifacts.csv")).unwrap().lines().count() - 1;
    let resources = doc["assessment-results"]["back-matter"]["resources"].as_array().unwrap().len();
    assert_eq!(resources, artifacts + 1, "one resource per artifact, and the catalog");
}

#[test]
fn a_broken_evidence_link_fails_the_check_naming_it() {
    let unknown = "#00000000-0000-4000-8000-000000000000";
    let tmp = broken_copy(|doc| {
        let o = &mut doc["assessment-results"]["results"][0]["observations"][0];
        o["relevant-evidence"][0]["href"] = unknown.into();
    });
    let (ok, out) = oscal_check(tmp.path());
    assert!(!ok, "{out}");
    assert!(out.contains(&format!("relevant-evidence href {unknown} resolves to no back-matter resource")), "{out}");
}

#[test]
fn a_wrong_back_matter_hash_fails_the_check_naming_the_resource() {
    let mut uuid = String::new();
    let tmp = broken_copy(|doc| {
        let r = &mut doc["assessment-results"]["back-matter"]["resources"][0];
        uuid = r["uuid"].as_str().unwrap().to_owned();
        r["rlinks"][0]["hashes"][0]["value"] = "0".repeat(64).into();
    });
    let (ok, out) = oscal_check(tmp.path());
    assert!(!ok, "{out}");
    assert!(out.contains(&format!("back-matter resource {uuid}: rlink ../artifacts/sha256/")), "{out}");
    assert!(out.contains(&format!("SHA-256 {} stated", "0".repeat(64))), "{out}");
}

#[test]
fn the_committed_catalog_is_what_the_catalog_command_writes_and_the_package_holds() {
    let o = run(&["catalog"]);
    assert_eq!(o.status.code(), Some(0));
    let committed =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("report-templates/dora-catalog.json")).unwrap();
    assert!(o.stdout == committed, "regenerate with `dora-evidence catalog -o report-templates/dora-catalog.json`");
    assert!(
        std::fs::read(sample_package().join(CATALOG)).unwrap() == committed,
        "the sample uses the built-in mapping"
    );
    // An edited mapping gives its own catalog.
    let tmp = tempfile::tempdir().unwrap();
    let mapping = tmp.path().join("mapping.toml");
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("report-templates/dora-mapping.toml"));
    std::fs::write(&mapping, text.unwrap().replace("reconciliations", "once restored reconciliations")).unwrap();
    let out = tmp.path().join("catalog.json");
    let o = run(&["catalog", "--mapping", mapping.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let edited = std::fs::read(&out).unwrap();
    assert!(edited != committed && String::from_utf8_lossy(&edited).contains("once restored"));
}

#[test]
fn both_documents_are_in_the_manifest_the_sums_and_the_pdf() {
    let manifest = read_json(&sample_package().join("manifest.json"));
    let sums = std::fs::read_to_string(sample_package().join("SHA256SUMS")).unwrap();
    let (ok, list) = tool("pdfdetach", &["-list", "report.pdf"], sample_package());
    assert!(ok, "{list}");
    for (path, attached) in [(RESULTS, "assessment-results.json"), (CATALOG, "dora-catalog.json")] {
        let listed = manifest["files"].as_array().unwrap().iter().any(|f| f["path"] == path);
        assert!(listed, "{path} not in the manifest");
        assert!(sums.lines().any(|l| l.ends_with(&format!("  {path}"))), "{path} not in SHA256SUMS");
        assert!(list.lines().any(|l| l.trim().ends_with(&format!(": {attached}"))), "{attached} not attached: {list}");
    }
}

#[test]
fn statuses_are_never_flattered() {
    let doc = read_json(&sample_package().join(RESULTS));
    let findings = read_json(&sample_package().join("findings.json"));
    let ours = |id: &str| -> String {
        let r = findings["requirements"].as_array().unwrap().iter().find(|r| r["id"] == id).unwrap();
        r["status"].as_str().unwrap().to_owned()
    };
    let mut seen = std::collections::BTreeSet::new();
    for f in result(&doc)["findings"].as_array().unwrap() {
        let target = f["target"]["target-id"].as_str().unwrap();
        let id = target.strip_suffix("_smt").unwrap();
        let status = ours(id);
        let prop = f["props"].as_array().unwrap().iter().find(|p| p["name"] == "dora-status").unwrap();
        assert_eq!(prop["value"], status.as_str(), "{id}");
        let state = f["target"]["status"]["state"].as_str().unwrap();
        assert_eq!(state == "satisfied", status == "satisfied", "{id}: {status} is {state}");
        if status == "not_applicable" {
            assert_eq!(f["target"]["implementation-status"]["state"], "not-applicable", "{id}");
        }
        seen.insert(status);
    }
    for needed in ["satisfied", "not_satisfied", "no_evidence", "not_applicable"] {
        assert!(seen.contains(needed), "the sample has no {needed} requirement: {seen:?}");
    }
}
