//! The per-account × Region view on the sample (issue 16, item 4): `account_regions.csv`
//! adds up to `metrics.json`, agrees with the generator's ground truth, and its rows are in
//! the report's text.

use std::collections::BTreeMap;

use super::util::{col, read_csv, sample_package, samples, tool};

/// `account_regions.csv` as header and rows.
fn rows() -> (Vec<String>, Vec<Vec<String>>) {
    read_csv(&sample_package().join("account_regions.csv"))
}

fn ground_truth() -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(samples().join("ground-truth.json")).unwrap()).unwrap()
}

#[test]
fn the_csv_has_its_header_and_one_row_per_account_and_region() {
    let (header, rows) = rows();
    assert_eq!(header[..3], ["account_id", "region", "status"]);
    assert!(header.iter().any(|h| h == "failures_reach_person"), "{header:?}");
    // Three accounts, two Regions each, all with jobs in the sample.
    let gt = ground_truth();
    let n = gt["accounts"].as_array().unwrap().len() * gt["regions"].as_array().unwrap().len();
    assert_eq!((rows.len(), n), (6, 6));
    // It is listed in SHA256SUMS and the manifest.
    let sums = std::fs::read_to_string(sample_package().join("SHA256SUMS")).unwrap();
    assert!(sums.lines().any(|l| l.ends_with("  account_regions.csv")), "{sums}");
    let manifest = std::fs::read_to_string(sample_package().join("manifest.json")).unwrap();
    assert!(manifest.contains("\"account_regions.csv\""));
}

#[test]
fn every_column_sums_to_its_metric() {
    let (header, rows) = rows();
    let metrics: BTreeMap<String, serde_json::Value> =
        serde_json::from_slice(&std::fs::read(sample_package().join("metrics.json")).unwrap()).unwrap();
    let metric = |k: &str| metrics[k].as_u64().unwrap();
    let sum = |c: &str| rows.iter().map(|r| col(&header, r, c).parse::<u64>().unwrap()).sum::<u64>();
    let failed = ["failed", "aborted", "expired", "partial"].map(|s| metric(&format!("backup_jobs_{s}"))).iter().sum();
    for (column, expected) in [
        ("backup_jobs", metric("backup_jobs_total")),
        ("backup_completed", metric("backup_jobs_completed")),
        ("backup_failed", failed),
        ("backup_not_finished", metric("backup_jobs_not_finished")),
        ("copy_jobs", metric("copy_jobs_total")),
        ("copy_jobs_failed", metric("copy_jobs_failed")),
        ("restore_tests", metric("restore_tests_total")),
        ("restore_tests_passed", metric("restore_tests_passed")),
        ("resources_with_rpo_target", metric("resources_with_rpo_target")),
        ("resources_with_rpo_breach", metric("resources_with_rpo_breach")),
        ("rto_breaches", metric("rto_breaches")),
    ] {
        assert_eq!(sum(column), expected, "{column}");
    }
    assert_eq!(metric("backup_jobs_total"), 2472, "the sample's count (ground-truth.json)");
}

#[test]
fn restore_tests_per_scope_agree_with_the_ground_truth() {
    // The generator lists each resource's restore tests; summed per account and Region.
    let mut expected: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
    for r in ground_truth()["resources"]["list"].as_array().unwrap() {
        let key = (r["account"].as_str().unwrap().to_owned(), r["region"].as_str().unwrap().to_owned());
        let e = expected.entry(key).or_default();
        e.0 += r["passing_restore_tests_in_period"].as_u64().unwrap_or(0);
        e.1 += r["restore_tests_in_period"].as_u64().unwrap_or(0);
    }
    let (header, rows) = rows();
    let got: BTreeMap<(String, String), (u64, u64)> = rows
        .iter()
        .map(|r| {
            let n = |c| col(&header, r, c).parse::<u64>().unwrap();
            let key = (col(&header, r, "account_id").to_owned(), col(&header, r, "region").to_owned());
            (key, (n("restore_tests_passed"), n("restore_tests")))
        })
        .collect();
    assert_eq!(got, expected);
}

#[test]
fn the_report_shows_every_row_worst_first() {
    let (ok, text) = tool("pdftotext", &["-layout", "report.pdf", "-"], sample_package());
    assert!(ok, "{text}");
    let page = text.split('\u{c}').find(|p| p.contains("Per account and Region") && p.contains("Worst first"));
    let page = page.unwrap_or_else(|| panic!("no per-account section: {text}"));
    let (header, rows) = rows();
    let mut at = 0;
    for r in &rows {
        // Each row's account and Region, below the previous row's.
        let (account, region) = (col(&header, r, "account_id"), col(&header, r, "region"));
        let line = page[at..].find(account).map(|i| at + i).unwrap_or_else(|| panic!("{account} not in order"));
        assert!(page[line..].lines().take(2).any(|l| l.contains(region)), "{region} not beside {account}");
        at = line + account.len();
    }
    // core-banking eu-central-1 as the ground truth counts it: 52 restore tests, 50 passed
    // (the figures are the report's, laid out as "passed / all").
    let core = page.lines().find(|l| l.contains("111122223333") && l.contains("50 / 52"));
    assert!(core.is_some(), "core-banking eu-central-1 row: {page}");
    // Shared services in eu-west-1: the rule's topic has no confirmed subscriber.
    let shared = page.lines().find(|l| l.contains("777788889999") && l.trim_end().ends_with(" no"));
    assert!(shared.is_some(), "777788889999 eu-west-1 reaches nobody: {page}");
}

#[test]
fn whether_failures_reach_a_person_agrees_with_the_ground_truth() {
    let (header, rows) = rows();
    for s in ground_truth()["alert_paths"]["scopes"].as_array().unwrap() {
        let (account, region) = (s["account"].as_str().unwrap(), s["region"].as_str().unwrap());
        let row = rows.iter().find(|r| col(&header, r, "account_id") == account && col(&header, r, "region") == region);
        let row = row.unwrap_or_else(|| panic!("no row for {account} {region}"));
        let expected = if s["reaches_confirmed_subscriber"].as_bool().unwrap() { "yes" } else { "no" };
        assert_eq!(col(&header, row, "failures_reach_person"), expected, "{account} {region}");
    }
}
