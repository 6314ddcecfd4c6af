//! The PDF and the package, checked with independent tools: qpdf, pdftotext, pdfinfo,
//! pdfdetach (poppler) and sha256sum. `scripts/test.sh` installs them; a missing tool fails
//! the test rather than skipping it.

use std::path::Path;

use sha2::{Digest, Sha256};

use super::util::{build_q3, build_sample, dir_with_file, sample_package, samples, stderr, tool};

#[test]
fn qpdf_finds_no_structural_error() {
    let (ok, out) = tool("qpdf", &["--check", "report.pdf"], sample_package());
    assert!(ok, "{out}");
    assert!(out.contains("No syntax or stream encoding errors"), "{out}");
}

#[test]
fn the_text_names_entity_period_every_requirement_and_known_exceptions() {
    let (ok, text) = tool("pdftotext", &["-layout", "report.pdf", "-"], sample_package());
    assert!(ok, "{text}");
    assert!(text.contains("Nordhafen Bank AG"));
    assert!(text.contains("2026-Q3"));
    let findings = std::fs::read_to_string(sample_package().join("findings.csv")).unwrap();
    let mut ids = 0;
    for line in findings.lines().skip(1) {
        let id = line.split(',').next().unwrap();
        assert!(text.contains(id), "requirement {id} not in the PDF");
        ids += 1;
    }
    assert!(ids >= 21);
    // Known exceptions: an untested candidate and an RTO breach the sample was built with.
    assert!(text.contains("core-sessions"), "untested candidate missing");
    assert!(text.contains("core-accounts-aurora"), "RTO breach missing");
    // The cover cites the manifest's digest.
    let manifest = std::fs::read(sample_package().join("manifest.json")).unwrap();
    assert!(text.contains(&hex::encode(Sha256::digest(&manifest))), "manifest SHA-256 not on the cover");
}

#[test]
fn it_is_pdf_a_3b_with_the_csvs_attached() {
    let (ok, meta) = tool("pdfinfo", &["-meta", "report.pdf"], sample_package());
    assert!(ok, "{meta}");
    // poppler finds nothing to complain about (it used to misread Typst's `/Suspects false`).
    let (_, info) = tool("pdfinfo", &["report.pdf"], sample_package());
    assert!(!info.contains("Error") && !info.contains("Warning"), "{info}");
    assert!(meta.contains("<pdfaid:part>3</pdfaid:part>"), "{meta}");
    assert!(meta.contains("<pdfaid:conformance>B</pdfaid:conformance>"), "{meta}");
    let (ok, list) = tool("pdfdetach", &["-list", "report.pdf"], sample_package());
    assert!(ok, "{list}");
    for name in
        ["findings.csv", "findings.json", "metrics.json", "artifacts.csv", "backup_jobs.csv", "restore_jobs.csv"]
    {
        assert!(list.lines().any(|l| l.trim().ends_with(&format!(": {name}"))), "{name} not attached: {list}");
    }
    // An attachment comes out byte for byte.
    let tmp = tempfile::tempdir().unwrap();
    let n = list
        .lines()
        .find(|l| l.trim().ends_with(": findings.csv"))
        .unwrap()
        .trim()
        .split(':')
        .next()
        .unwrap()
        .to_owned();
    let saved = tmp.path().join("f.csv");
    let (ok, out) = tool("pdfdetach", &["-save", &n, "-o", saved.to_str().unwrap(), "report.pdf"], sample_package());
    assert!(ok, "{out}");
    assert_eq!(std::fs::read(saved).unwrap(), std::fs::read(sample_package().join("findings.csv")).unwrap());
}

#[test]
fn sha256sum_accepts_the_sample_package() {
    let (ok, out) = tool("sha256sum", &["-c", "--strict", "SHA256SUMS"], sample_package());
    assert!(ok, "{out}");
    let sums = std::fs::read_to_string(sample_package().join("SHA256SUMS")).unwrap();
    for needed in [
        "  report.pdf",
        "  manifest.json",
        "  findings.csv",
        "  metrics.json",
        "  evidence/backup_jobs.csv",
        "  artifacts/sha256/",
    ] {
        assert!(sums.contains(needed), "{needed} not in SHA256SUMS");
    }
    // The manifest lists every file but itself, the report and SHA256SUMS, with sizes.
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sample_package().join("manifest.json")).unwrap()).unwrap();
    let paths: Vec<&str> = m["files"].as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert!(paths.contains(&"findings.csv") && !paths.contains(&"report.pdf") && !paths.contains(&"manifest.json"));
    assert_eq!(paths.len() + 2, sums.lines().count(), "SHA256SUMS = manifest files + manifest.json + report.pdf");
    assert!(m["package_id"].as_str().unwrap().starts_with("dora-2026-q3-"));
    assert_eq!(m["partial"], false);
}

#[test]
fn same_inputs_and_time_give_a_byte_identical_report() {
    let tmp = tempfile::tempdir().unwrap();
    let again = tmp.path().join("pkg");
    build_sample(&again);
    for f in
        ["report.pdf", "manifest.json", "findings.csv", "findings.json", "metrics.json", "SHA256SUMS", "artifacts.csv"]
    {
        let a = std::fs::read(sample_package().join(f)).unwrap();
        let b = std::fs::read(again.join(f)).unwrap();
        assert!(a == b, "{f} differs between two builds");
    }
}

#[test]
fn a_broken_template_is_reported_with_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    let templates = dir_with_file(
        tmp.path(),
        "templates",
        "report.typ",
        "#let data = json(\"data.json\")\n\n#data.no_such_field\n",
    );
    let out = tmp.path().join("pkg");
    let input = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/api");
    let o = build_q3(&input, &out, &["--templates", templates.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("report.typ:3:"), "{}", stderr(&o));
    assert!(!out.exists(), "no half package");
}

#[test]
fn the_appendix_summarises_artifacts_by_kind_and_lists_every_failed_one() {
    // The sample quarter plus one truncated snapshot, which sorts last by name.
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("input");
    for e in walkdir::WalkDir::new(samples().join("input")).into_iter().filter_map(Result::ok) {
        let rel = e.path().strip_prefix(samples().join("input")).unwrap();
        if e.file_type().is_dir() {
            std::fs::create_dir_all(input.join(rel)).unwrap();
        } else {
            std::fs::copy(e.path(), input.join(rel)).unwrap();
        }
    }
    std::fs::write(input.join("zz-truncated.json"), br#"{"BackupJobs": [{"BackupJobId": "x", "State": "COMPL"#)
        .unwrap();
    let total =
        walkdir::WalkDir::new(&input).into_iter().filter_map(Result::ok).filter(|e| e.file_type().is_file()).count();
    let out = tmp.path().join("pkg");
    let o = build_q3(&input, &out, &["--allow-partial", "--generated-at", "2026-10-05T08:00:00Z"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (ok, text) = tool("pdftotext", &["report.pdf", "-"], &out);
    assert!(ok, "{text}");
    let text = text.replace('\u{200b}', "");
    assert!(text.contains(&format!("{total} artifacts (1 could not be fully parsed")), "no summary");
    assert!(text.contains("Artifacts that could not be fully parsed"), "no failed list");
    assert!(text.contains("zz-truncated.json"), "the failed artifact must be listed");
    // Only the failed artifact is listed by name; the others are in the attached artifacts.csv.
    assert!(!text.contains("list-backup-jobs-"), "clean artifacts are not listed one by one");
    let csv = std::fs::read_to_string(out.join("artifacts.csv")).unwrap();
    assert_eq!(csv.lines().count(), total + 1);
}

/// The text of pages `first..=last` of the sample report.
fn pages_text(first: u32, last: u32) -> String {
    let (f, l) = (first.to_string(), last.to_string());
    let (ok, text) = tool("pdftotext", &["-layout", "-f", &f, "-l", &l, "report.pdf", "-"], sample_package());
    assert!(ok, "{text}");
    text.replace('\u{200b}', "")
}

#[test]
fn the_cover_gives_scope_signature_state_and_a_sign_off_block() {
    let cover = pages_text(1, 1);
    let metrics: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sample_package().join("metrics.json")).unwrap()).unwrap();
    let considered = metrics["resources_considered"].as_u64().unwrap();
    assert!(cover.contains("3 AWS accounts (111122223333, 444455556666, 777788889999)"), "{cover}");
    assert!(cover.contains(&format!("{considered} resources considered")), "{cover}");
    assert!(cover.contains("Not signed"), "the test package is unsigned: {cover}");
    for step in ["Prepared by", "Reviewed by", "Approved by"] {
        assert!(cover.contains(step), "{step}: {cover}");
    }
    // From [report] in the sample config; approval is left blank to sign by hand.
    assert!(cover.contains("Anna Weber") && cover.contains("Jonas Brandt"), "{cover}");
}

#[test]
fn page_two_puts_the_check_behind_most_failing_requirements_first() {
    // Recomputed from findings.json: among failing checks, the one most requirements rest on.
    let findings: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sample_package().join("findings.json")).unwrap()).unwrap();
    let bearing = |id: &str| {
        let reqs = findings["requirements"].as_array().unwrap();
        reqs.iter()
            .filter(|r| r["status"] != "not_applicable" && r["checks"].as_array().unwrap().iter().any(|c| c == id))
            .count()
    };
    let checks = findings["checks"].as_array().unwrap();
    let failing: Vec<&serde_json::Value> = checks.iter().filter(|c| c["status"] == "fail").collect();
    let most = failing.iter().map(|c| bearing(c["id"].as_str().unwrap())).max().unwrap();
    let top = failing.iter().find(|c| bearing(c["id"].as_str().unwrap()) == most).unwrap();
    let title = top["title"].as_str().unwrap();
    let page = pages_text(2, 2);
    assert!(page.contains("What needs attention"), "{page}");
    let first = page.split(" 1. ").nth(1).expect("a numbered attention list");
    let first_item = first.split(" 2. ").next().unwrap();
    let words: Vec<&str> = title.split_whitespace().take(3).collect();
    assert!(first_item.contains("fail") && first_item.contains(&words.join(" ")), "{title} first? {first_item}");
    // Its worst resource is named with account and Region.
    let worst = &top["resources"][0];
    assert!(first_item.contains(worst["account_id"].as_str().unwrap()), "{first_item}");
}

#[test]
fn the_targets_table_lists_every_target_with_the_resources_it_covers() {
    let (ok, text) = tool("pdftotext", &["-layout", "report.pdf", "-"], sample_package());
    assert!(ok, "{text}");
    let section = text.split("Recovery targets").nth(1).expect("the targets section");
    let table = section.split("Thresholds and policy settings").next().unwrap();
    let mut covered = 0;
    for (name, tag, rpo, rto) in [
        ("gold: critical or important functions", "tag tier=gold", "26", "120"),
        ("silver", "tag tier=silver", "26", "240"),
        ("bronze: weekly backups", "tag tier=bronze", "170", "480"),
    ] {
        let line =
            table.lines().find(|l| l.trim_start().starts_with(name)).unwrap_or_else(|| panic!("{name}: {table}"));
        let cells: Vec<&str> = line.split("  ").map(str::trim).filter(|c| !c.is_empty()).collect();
        assert_eq!(&cells[1..4], [tag, rpo, rto], "{line}");
        covered += cells[4].parse::<u64>().unwrap();
    }
    let metrics: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sample_package().join("metrics.json")).unwrap()).unwrap();
    assert_eq!(Some(covered), metrics["resources_with_rpo_target"].as_u64(), "every target has an RPO here");
    assert!(text.contains("thresholds.backup_success_rate") && text.contains("95.00 %"));
    assert!(text.contains("Glossary") && text.contains("Candidate:") && text.contains("Observation:"));
}

#[test]
fn no_page_ends_with_a_heading_and_one_is_never_plural() {
    let (ok, info) = tool("pdfinfo", &["report.pdf"], sample_package());
    assert!(ok, "{info}");
    let pages: u32 = info.lines().find_map(|l| l.strip_prefix("Pages:")).unwrap().trim().parse().unwrap();
    for n in 1..=pages {
        let text = pages_text(n, n);
        let last = text.lines().rfind(|l| !l.trim().is_empty() && !l.contains("Generated 2026")).unwrap_or("");
        let words: Vec<&str> = last.split_whitespace().collect();
        // A numbered heading alone at the foot of a page: "5.3 Backup plans cover …".
        let numbered = words.first().is_some_and(|w| w.split('.').all(|p| p.parse::<u32>().is_ok()));
        assert!(!(numbered && words.len() < 12 && !last.contains(". .")), "page {n} ends with a heading: {last}");
    }
    let all = pages_text(1, pages);
    let words: Vec<&str> = all.split_whitespace().collect();
    for pair in words.windows(2) {
        let plural = ["resources", "vaults", "tests", "jobs", "artifacts", "rules", "exceptions", "reports", "scans"];
        assert!(!(pair[0] == "1" && plural.contains(&pair[1])), "'1 {}' in the report", pair[1]);
    }
}
