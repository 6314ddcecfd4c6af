//! Findings never flatter (DESIGN §5, semantics v2), end to end: over the `findings.json` of
//! several real packages a requirement is `satisfied` only when every one of its checks has
//! data and passes; missing targets never raise a status; inputs with nothing to assess are
//! refused unless `--allow-empty`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::util::{build_q3, dir_with_file, fixture, read_csv, stderr, stdout};

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

fn findings(out: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(out.join("findings.json")).unwrap()).unwrap()
}

/// Requirement id → status.
fn statuses(f: &Value) -> BTreeMap<String, String> {
    f["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].as_str().unwrap().to_owned(), r["status"].as_str().unwrap().to_owned()))
        .collect()
}

/// Every `satisfied` requirement has checks, and each of them has data and passes; every
/// requirement lists exactly its checks without data.
fn assert_never_flatters(f: &Value, what: &str) {
    let check: BTreeMap<&str, &str> = f["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_str().unwrap(), c["status"].as_str().unwrap()))
        .collect();
    for r in f["requirements"].as_array().unwrap() {
        let ids: Vec<&str> = r["checks"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
        let status = r["status"].as_str().unwrap();
        if status == "satisfied" {
            assert!(!ids.is_empty(), "{what}: {} satisfied without checks", r["id"]);
            for id in &ids {
                assert_eq!(check[id], "pass", "{what}: {} satisfied but {id} is {}", r["id"], check[id]);
            }
        }
        if status != "not_applicable" {
            let lacking: Vec<&str> = ids.iter().copied().filter(|id| check[id] == "no_data").collect();
            let listed: Vec<&str> =
                r["checks_without_data"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
            assert_eq!(listed, lacking, "{what}: {}", r["id"]);
        }
    }
}

/// `manifest.json` and `findings.json` read into the package contract's types and written
/// again give the same bytes: the types describe the files completely.
fn assert_typed_documents_round_trip(out: &Path) {
    use dora_evidence::package::{findings::FindingsDoc, manifest::Manifest};
    let bytes = std::fs::read(out.join("manifest.json")).unwrap();
    let manifest = Manifest::from_slice(&bytes).unwrap();
    assert!(!manifest.files.is_empty() && manifest.signature.is_none());
    assert_eq!(manifest.to_bytes().unwrap(), bytes, "manifest.json");
    let bytes = std::fs::read(out.join("findings.json")).unwrap();
    let doc: FindingsDoc = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(doc.checks.len(), dora_evidence::assess::checks::CheckId::ALL.len());
    assert_eq!(doc.to_bytes(), bytes, "findings.json");
}

#[test]
fn satisfied_only_when_every_check_has_data_and_passes() {
    // The built-in mapping uses rule "all" throughout, so the rule above is exact for it.
    let mapping = dora_evidence::assess::mapping::Mapping::builtin();
    assert!(mapping.requirements.iter().all(|r| r.rule == dora_evidence::assess::mapping::Rule::All));
    let tmp = tempfile::tempdir().unwrap();
    let config = samples().join("dora-evidence.toml");

    // The sample quarter with and without targets: leaving the config out can only lower
    // statuses (v1 raised "satisfied" from 3 to 6 that way).
    let with = tmp.path().join("with");
    let o = build_q3(&samples().join("input"), &with, &["--config", config.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let without = tmp.path().join("without");
    let o = build_q3(&samples().join("input"), &without, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (fw, fo) = (findings(&with), findings(&without));
    assert_typed_documents_round_trip(&with);
    assert_never_flatters(&fw, "sample with config");
    assert_never_flatters(&fo, "sample without config");
    let count = |m: &BTreeMap<String, String>| m.values().filter(|s| *s == "satisfied").count();
    let (sw, so) = (statuses(&fw), statuses(&fo));
    assert!(count(&so) <= count(&sw), "without targets {} satisfied, with {}", count(&so), count(&sw));
    for r in fo["requirements"].as_array().unwrap() {
        let needs_targets = r["checks"].as_array().unwrap().iter().any(|c| c == "rpo" || c == "rto");
        assert!(!(needs_targets && r["status"] == "satisfied"), "{} satisfied without any target", r["id"]);
    }
    // RTS Art. 40 binds only the simplified framework: not applicable for this bank.
    assert_eq!(sw["rts-40"], "not_applicable");

    // A nearly empty input in AWS's own report shapes: one backup job report, one copy job
    // report, one restore report, the control reports; no restore test, no targets.
    let small = tmp.path().join("small-in");
    for rel in [
        "reports/backup_job_report/valid-account.json",
        "reports/copy_job_report/valid.json",
        "reports/restore_job_report/valid-old-period.json",
        "reports/control_compliance_report/valid.json",
    ] {
        let to = small.join(rel.replace('/', "_"));
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(fixture(rel), &to).unwrap();
    }
    let out = tmp.path().join("small");
    let o = build_q3(&small, &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let f = findings(&out);
    assert_never_flatters(&f, "nearly empty input");
    let s = statuses(&f);
    assert_ne!(s["dora-12-2"], "satisfied", "no restore test, so Art. 12(2) cannot be satisfied");
    assert_eq!(s["rts-40"], "not_applicable");

    // The same input for an entity under the simplified framework: RTS Art. 40 applies and the
    // standard-framework requirements do not.
    let cfg = tmp.path().join("simplified.toml");
    std::fs::write(&cfg, "ict_risk_framework = \"simplified\"\n").unwrap();
    let out = tmp.path().join("simplified");
    let o = build_q3(&small, &out, &["--config", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let f = findings(&out);
    assert_never_flatters(&f, "simplified");
    let s = statuses(&f);
    assert_ne!(s["rts-40"], "not_applicable");
    assert_eq!(s["dora-12-6"], "not_applicable");
    let (h, rows) = read_csv(&out.join("findings.csv"));
    let row = rows.iter().find(|r| r[0] == "dora-12-6").unwrap();
    let summary = &row[h.iter().position(|c| c == "summary").unwrap()];
    assert!(summary.starts_with("Not applicable: applies only to entities under the standard"), "{summary}");
}

#[test]
fn inputs_with_nothing_to_assess_are_refused_unless_allowed() {
    let tmp = tempfile::tempdir().unwrap();
    // Nothing recognised.
    let junk = dir_with_file(tmp.path(), "junk", "notes.txt", "minutes of the backup review\n");
    let o = build_q3(&junk, &tmp.path().join("p1"), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("none of the 1 input files was recognised"), "{}", stderr(&o));
    assert!(stderr(&o).contains("--allow-empty"), "{}", stderr(&o));
    assert!(!tmp.path().join("p1").exists(), "no package written");

    // Recognised, but no backup job in the period (a vault snapshot only).
    let vaults = tmp.path().join("vaults");
    std::fs::create_dir_all(&vaults).unwrap();
    let page = std::fs::read_dir(fixture("api/list-backup-vaults")).unwrap().next().unwrap().unwrap().path();
    std::fs::copy(page, vaults.join("list-backup-vaults.json")).unwrap();
    let o = build_q3(&vaults, &tmp.path().join("p2"), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("no backup job created in 2026-Q3"), "{}", stderr(&o));

    // With --allow-empty the package is built and says it is empty, on the cover too.
    let out = tmp.path().join("p3");
    let o = build_q3(&vaults, &out, &["--allow-empty", "--generated-at", "2026-10-05T08:00:00Z"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let manifest: Value = serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert!(manifest["empty"].as_str().unwrap().contains("no backup job"), "{manifest}");
    assert_eq!(manifest["semantics"], 2);
    let f = findings(&out);
    assert_never_flatters(&f, "empty");
    assert!(statuses(&f).values().all(|s| s != "satisfied"));
    let text = std::process::Command::new("pdftotext").arg(out.join("report.pdf")).arg("-").output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("Empty package"), "cover does not say the package is empty");
    assert!(text.contains("semantics version 2"), "cover does not name the semantics version");
}
