//! The trend against last quarter (issue 16, item 7): `diff OLD NEW`, `build --previous`,
//! `changes.json`, the manifest's `previous` and the report's "Changes since …" section, on
//! two sample quarters.
//!
//! The earlier package is 2026-Q2 built from `dora-evidence samples --quarter 2026-Q2` (written
//! once into a temporary folder): the Q3 estate 13 weeks earlier, in which four of Q3's
//! problems are not yet present and four others exist that Q3 no longer has (its
//! `ground-truth.json` → `quarter_differences`). Every other exception persists.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::util::{run, shared_dir, stderr, stdout, tool};

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

/// Builds `period` into `out` with `extra` arguments, from the bundled Q3 sample or, for
/// 2026-Q2, from the generated Q2 sample in `q2_samples` (with the bundled config either way).
fn build(period: &str, out: &Path, extra: &[&str]) -> std::process::Output {
    let input = if period == "2026-Q2" { q2_samples().join("input") } else { samples().join("input") };
    let config = samples().join("dora-evidence.toml");
    let mut args = vec![
        "build",
        "--input",
        input.to_str().unwrap(),
        "--period",
        period,
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run(&args)
}

/// The 2026-Q2 sample tree, written once by `dora-evidence samples --quarter 2026-Q2`.
fn q2_samples() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let out = shared_dir("samples-2026-Q2").join("samples-2026-Q2");
        let o = run(&["samples", "--quarter", "2026-Q2", "--out", out.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert!(stdout(&o).contains("of 2026-Q2 to"), "{}", stdout(&o));
        out
    })
}

/// The 2026-Q2 package and the 2026-Q3 one built with `--previous` it, shared by the tests.
fn packages() -> &'static (PathBuf, PathBuf) {
    static DIRS: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    DIRS.get_or_init(|| {
        let dir = shared_dir("trend-packages");
        let (q2, q3) = (dir.join("q2"), dir.join("q3"));
        let o = build("2026-Q2", &q2, &["--generated-at", "2026-07-06T08:00:00Z"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let o = build("2026-Q3", &q3, &["--generated-at", "2026-10-05T08:00:00Z", "--previous", q2.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        (q2, q3)
    })
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The exceptions of check `id` in a `Changes` document.
fn exceptions<'a>(changes: &'a Value, id: &str) -> &'a Value {
    changes["exceptions"].as_array().unwrap().iter().find(|e| e["id"] == id).unwrap_or_else(|| panic!("{id}"))
}

/// The resources the planted differences concern, by name, from the Q2 sample's ground truth.
fn planted_arns() -> std::collections::BTreeMap<String, String> {
    let truth = json(&q2_samples().join("ground-truth.json"));
    let d = &truth["quarter_differences"];
    let all = d["new_in_2026_q3"].as_array().unwrap().iter().chain(d["resolved_by_2026_q3"].as_array().unwrap());
    all.filter_map(|p| Some((p["subject"].as_str()?.to_owned(), p["arn"].as_str()?.to_owned()))).collect()
}

/// Every (check, key) in the `side` list (`new`, `resolved`) of the exceptions, in order.
fn keyed(changes: &Value, side: &str) -> Vec<(String, String)> {
    let checks = changes["exceptions"].as_array().unwrap().iter();
    let pairs = checks.flat_map(|e| {
        let check = e["id"].as_str().unwrap().to_owned();
        e[side].as_array().unwrap().iter().map(move |x| (check.clone(), x["key"].as_str().unwrap().to_owned()))
    });
    pairs.collect()
}

/// Whether an item of `list` names `needle` (by resource or in its text).
fn names(list: &Value, needle: &str) -> bool {
    list.as_array().unwrap().iter().any(|i| i.to_string().contains(needle))
}

#[test]
fn diff_json_names_the_planted_changes_and_matches_changes_json() {
    let (q2, q3) = packages();
    let o = run(&["diff", q2.to_str().unwrap(), q3.to_str().unwrap(), "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let changes: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(changes["previous"]["period"], "2026-Q2");
    assert_eq!(changes["current"]["period"], "2026-Q3");
    // Exactly the planted differences are new or resolved, keyed by (check, resource).
    let arn = planted_arns();
    let (tmp, batch_fs, ad_dc, shared_fs) =
        (&arn["payments-tmp-import"], &arn["payments-batch-fs"], &arn["ad-dc-01"], &arn["core-shared-fs"]);
    let new = [
        ("rpo", tmp),
        ("policy_covers_targets", tmp),
        ("vault_protection", &arn["nordhafen-payments-standard"]),
        ("copy_coverage", tmp),
        ("failure_detection", &"777788889999/eu-west-1".to_owned()),
        ("malware_scans", &arn["core-app-01"]),
    ];
    let resolved = [
        ("backup_success", batch_fs),
        ("rpo", batch_fs),
        ("candidates_tested", ad_dc),
        ("restore_test_results", ad_dc),
        ("restore_test_results", shared_fs),
        ("rto", shared_fs),
    ];
    assert_eq!(keyed(&changes, "new"), new.map(|(c, k)| (c.to_owned(), k.clone())).to_vec());
    assert_eq!(keyed(&changes, "resolved"), resolved.map(|(c, k)| (c.to_owned(), k.clone())).to_vec());
    // Everything else persists: the problems of both quarters.
    assert!(names(&exceptions(&changes, "backup_success")["persisting"], "nordhafen-core-statements-prod"));
    assert!(names(&exceptions(&changes, "rto")["persisting"], "core-accounts-aurora"));
    assert!(names(&exceptions(&changes, "encryption")["persisting"], "777788889999/eu-west-1"));
    assert_eq!(exceptions(&changes, "vault_lock")["persisting"].as_array().unwrap().len(), 13);
    // Check and requirement status moves that follow from them.
    let moved = |list: &str, direction: &str| -> Vec<String> {
        let items = changes[list].as_array().unwrap().iter().filter(|c| c["direction"] == direction);
        items.map(|c| c["id"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(moved("checks", "worsened"), ["vault_protection", "failure_detection", "malware_scans"]);
    assert_eq!(moved("checks", "improved"), ["restore_test_results"]);
    assert_eq!(moved("requirements", "worsened"), ["dora-5-2-b", "dora-9-3-bc", "dora-10-2", "dora-12-3", "dora-10-1"]);
    assert_eq!(moved("requirements", "improved"), ["dora-11-4", "dora-11-6", "rts-25", "rts-26", "dora-25-1"]);
    // Every metric's delta is exactly new − old of the two metrics.json.
    let (old, new) = (json(&q2.join("metrics.json")), json(&q3.join("metrics.json")));
    for m in changes["metrics"].as_array().unwrap() {
        let key = m["key"].as_str().unwrap();
        for (side, metrics) in [("old", &old), ("new", &new)] {
            assert_eq!(m[side].as_f64(), metrics[key].as_f64(), "{key} {side}");
            assert!(!metrics[key].is_u64() || m[side].is_u64(), "{key} {side}: counts stay integers");
        }
        if let (Some(o), Some(n)) = (old[key].as_f64(), new[key].as_f64()) {
            let scale = if key.ends_with("_rate") { 100.0 } else { 1.0 };
            assert!((m["delta"].as_f64().unwrap() - (n - o) * scale).abs() < 1e-6, "{key}");
        }
    }
    let metric = |key: &str| changes["metrics"].as_array().unwrap().iter().find(|m| m["key"] == key).unwrap().clone();
    // Q2 has the same background failures plus the three AccessDenied ones of payments-batch-fs.
    let failed = metric("backup_jobs_failed");
    assert_eq!(failed["old"].as_u64().unwrap(), failed["new"].as_u64().unwrap() + 3);
    let untested = metric("untested_candidates");
    assert_eq!(untested["delta"].as_f64(), Some(-1.0), "ad-dc-01 is tested in Q3");
    // `diff` and `build --previous` agree; only `diff` knows the later manifest's digest.
    let mut written = json(&q3.join("changes.json"));
    let digest = hex::encode(Sha256::digest(std::fs::read(q3.join("manifest.json")).unwrap()));
    written["current"]["manifest_sha256"] = Value::String(digest);
    assert_eq!(written, changes);
}

#[test]
fn diff_text_puts_status_changes_first() {
    let (q2, q3) = packages();
    let o = run(&["diff", q2.to_str().unwrap(), q3.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    let changes = json(&q3.join("changes.json"));
    assert!(
        text.starts_with(&format!("changes from 2026-Q2 ({})", changes["previous"]["package_id"].as_str().unwrap()))
    );
    let (status, metrics, exceptions) = (
        text.find("requirement status:").unwrap(),
        text.find("\nmetrics:").unwrap(),
        text.find("\nexceptions").unwrap(),
    );
    assert!(status < metrics && metrics < exceptions, "{text}");
    for r in changes["requirements"].as_array().unwrap().iter().filter(|r| r["direction"] != "unchanged") {
        let line = format!("{} → {}", r["old"].as_str().unwrap(), r["new"].as_str().unwrap());
        let id = r["id"].as_str().unwrap();
        assert!(text.lines().any(|l| l.contains(id) && l.contains(&line)), "{id} {line} not in\n{text}");
    }
    assert!(text.contains("worsened  malware_scans"), "{text}");
    assert!(text.contains("improved  restore_test_results"), "{text}");
    assert!(text.contains("resolved: arn:aws:ec2:eu-central-1:777788889999:instance/"), "ad-dc-01 resolved: {text}");
    assert!(text.contains("backup_jobs_failed"), "{text}");
}

#[test]
fn the_manifest_records_the_previous_package_and_lists_changes_json() {
    let (q2, q3) = packages();
    let manifest = json(&q3.join("manifest.json"));
    let q2_manifest = std::fs::read(q2.join("manifest.json")).unwrap();
    let previous = &manifest["previous"];
    assert_eq!(previous["package_id"], json(&q2.join("manifest.json"))["package_id"]);
    assert_eq!(previous["period"], "2026-Q2");
    assert_eq!(previous["manifest_sha256"], hex::encode(Sha256::digest(&q2_manifest)));
    assert!(manifest["files"].as_array().unwrap().iter().any(|f| f["path"] == "changes.json"));
    assert!(json(&q2.join("manifest.json")).get("previous").is_none(), "a package without --previous names none");
    // The comparison is part of the content, so of the id: the same inputs without it differ.
    let plain = tempfile::tempdir().unwrap();
    let o = build("2026-Q3", &plain.path().join("q3"), &["--generated-at", "2026-10-05T08:00:00Z"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let plain_id = json(&plain.path().join("q3/manifest.json"))["package_id"].clone();
    assert_ne!(manifest["package_id"], plain_id);
    assert!(plain_id.as_str().unwrap().starts_with("dora-2026-q3-"));
    assert!(!q2.join("changes.json").exists());
    let sums = std::fs::read_to_string(q3.join("SHA256SUMS")).unwrap();
    assert!(sums.lines().any(|l| l.ends_with("  changes.json")));
    let o = run(&["verify", q3.to_str().unwrap(), "--allow-unsigned"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
}

#[test]
fn the_report_shows_changes_since_q2_and_attaches_changes_json() {
    let (_, q3) = packages();
    let (ok, text) = tool("pdftotext", &["-layout", "report.pdf", "-"], q3);
    assert!(ok, "{text}");
    assert!(text.contains("Changes since 2026-Q2"), "section missing");
    let changes = json(&q3.join("changes.json"));
    let moved: Vec<&Value> =
        changes["requirements"].as_array().unwrap().iter().filter(|r| r["direction"] != "unchanged").collect();
    assert!(moved.iter().any(|r| r["direction"] == "worsened") && moved.iter().any(|r| r["direction"] == "improved"));
    for r in moved {
        let (id, word) = (r["id"].as_str().unwrap(), if r["direction"] == "worsened" { "worse" } else { "better" });
        let tag = format!("({id})");
        assert!(text.lines().any(|l| l.contains(&tag) && l.trim_end().ends_with(word)), "{id} not shown as {word}");
    }
    assert!(text.contains("Failed backup jobs"), "headline figures missing");
    assert!(text.contains("Exceptions: new, resolved, persisting"));
    let (ok, list) = tool("pdfdetach", &["-list", "report.pdf"], q3);
    assert!(ok && list.contains("changes.json"), "{list}");
    let (ok, info) = tool("pdfinfo", &["report.pdf"], q3);
    assert!(ok && !info.contains("Error") && !info.contains("Warning"), "{info}");
    let (ok, check) = tool("qpdf", &["--check", "report.pdf"], q3);
    assert!(ok, "{check}");
}

/// A copy of the package in `from` under `to`.
fn copy_package(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from).into_iter().map(Result::unwrap) {
        let dest = to.join(e.path().strip_prefix(from).unwrap());
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}

#[test]
fn a_tampered_previous_package_is_refused() {
    let (q2, q3) = packages();
    let tmp = tempfile::tempdir().unwrap();
    let tampered = tmp.path().join("q2");
    copy_package(q2, &tampered);
    let metrics = tampered.join("metrics.json");
    let mut bytes = std::fs::read(&metrics).unwrap();
    let at = bytes.iter().position(|b| b.is_ascii_digit()).unwrap();
    bytes[at] = if bytes[at] == b'9' { b'8' } else { bytes[at] + 1 };
    std::fs::write(&metrics, bytes).unwrap();
    let out = tmp.path().join("q3");
    let o = build("2026-Q3", &out, &["--previous", tampered.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("failed verification (files"), "{}", stderr(&o));
    assert!(!out.exists(), "nothing is built from a refused previous package");
    let o = run(&["diff", tampered.to_str().unwrap(), q3.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("failed verification"), "{}", stderr(&o));
}

#[test]
fn a_previous_package_of_a_later_or_the_same_quarter_is_refused() {
    let (q2, q3) = packages();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("again");
    let o = build("2026-Q2", &out, &["--previous", q3.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("covers 2026-Q3, a later period than 2026-Q2"), "{}", stderr(&o));
    let o = build("2026-Q2", &out, &["--previous", q2.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("the same period as 2026-Q2"), "{}", stderr(&o));
    assert!(!out.exists());
    let o = run(&["diff", q3.to_str().unwrap(), q2.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

/// The 2026-Q2 package counts what the Q2 sample's own ground truth counts (over its 91-day
/// period, 2026-04-01 to 2026-07-01): the shifted times land in the right quarter.
#[test]
fn the_q2_package_matches_the_q2_ground_truth() {
    let (q2, _) = packages();
    let (m, t) = (json(&q2.join("metrics.json")), json(&q2_samples().join("ground-truth.json")));
    assert_eq!(t["period"]["id"], "2026-Q2");
    let backups = &t["backup_jobs"]["in_period_excluding_parents"];
    assert_eq!(m["backup_jobs_total"], backups["total"]);
    assert_eq!(m["backup_jobs_failed"], backups["by_state"]["FAILED"]);
    assert_eq!(m["backup_success_rate"], t["backup_jobs"]["in_period_success_rate_excluding_parents"]);
    assert_eq!(m["copy_jobs_total"], t["copy_jobs"]["in_period"]["total"]);
    assert_eq!(m["restore_jobs_total"], t["restore_jobs"]["in_period"]["total"]);
    let tests = &t["restore_tests"];
    assert_eq!(m["restore_tests_total"], tests["in_period"]["total"]);
    assert_eq!(m["restore_tests_passed"], tests["in_period_passed"]);
    assert_eq!(m["restore_test_duration_minutes_max"], tests["in_period_completed_duration_minutes_max"]);
    assert_eq!(m["restore_test_candidates"], t["candidates"]["total"]);
    let untested = t["candidates"]["without_passing_test_in_period"].as_array().unwrap().len();
    assert_eq!(m["untested_candidates"].as_u64(), Some(untested as u64));
    assert_eq!(m["resources_considered"], t["resources"]["total"]);
}
