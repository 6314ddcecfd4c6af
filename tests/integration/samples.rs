//! The bundled sample quarter: it is the generator's current output, and `build` reads it
//! into the counts the generator's own model recorded (`samples/ground-truth.json`). The
//! reader and the generator share no parsing code, so agreement here is a real check.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::util::{build_q3, col, read_csv, run, stderr};

/// A quarter written by `dora-evidence samples` into a fresh temporary folder.
fn generate(scale: u32, seed: u64) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("q");
    let (scale, seed) = (scale.to_string(), seed.to_string());
    let o = run(&["samples", "--scale", &scale, "--seed", &seed, "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    (tmp, out)
}

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

fn ms(s: &str) -> i64 {
    dora_evidence::time::Timestamp::parse(s).unwrap().millis()
}

fn truth() -> Value {
    serde_json::from_slice(&std::fs::read(samples().join("ground-truth.json")).unwrap()).unwrap()
}

fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = walkdir::WalkDir::new(root)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| e.path().strip_prefix(root).unwrap().to_path_buf())
        .collect();
    v.sort();
    v
}

#[test]
fn committed_samples_are_the_generators_output() {
    let (_tmp, out) = generate(1, 2026);
    // The generator writes everything under samples/ except the hand-written example config.
    let mut ours = files_under(&samples());
    ours.retain(|f| f != Path::new("dora-evidence.toml"));
    let theirs = files_under(&out);
    assert_eq!(ours, theirs, "file lists differ: regenerate with `dora-evidence samples --out samples`");
    for f in &ours {
        assert!(
            std::fs::read(samples().join(f)).unwrap() == std::fs::read(out.join(f)).unwrap(),
            "{} differs",
            f.display()
        );
    }
    // Refuses to write over a non-empty folder.
    let o = run(&["samples", "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
}

fn by_state(h: &[String], rows: &[Vec<String>], filter: impl Fn(&[String]) -> bool) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for r in rows.iter().filter(|r| filter(r)) {
        *m.entry(col(h, r, "state").to_owned()).or_default() += 1;
    }
    m
}

fn as_counts(v: &Value) -> BTreeMap<String, u64> {
    v.as_object().unwrap().iter().map(|(k, n)| (k.clone(), n.as_u64().unwrap())).collect()
}

#[test]
fn build_on_samples_matches_the_generators_ground_truth() {
    let t = truth();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("pkg");
    let input = samples().join("input");
    let o = build_q3(&input, &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    // Every input file is an artifact; only the two operator files are unclassified; none failed.
    let (h, arts) = read_csv(&out.join("artifacts.csv"));
    assert_eq!(arts.len() as u64, t["input"]["files"].as_u64().unwrap());
    let status = |s: &str| arts.iter().filter(|r| col(&h, r, "parse_status") == s).count();
    assert_eq!((status("failed"), status("unclassified")), (0, 2));
    let total: u64 = arts.iter().map(|r| col(&h, r, "size").parse::<u64>().unwrap()).sum();
    assert_eq!(total, t["input"]["bytes"].as_u64().unwrap());

    // Backup jobs: all, in the period, parents.
    let (h, rows) = read_csv(&out.join("evidence/backup_jobs.csv"));
    let bj = &t["backup_jobs"];
    assert_eq!(rows.len() as u64, bj["all"]["total"].as_u64().unwrap());
    assert_eq!(by_state(&h, &rows, |_| true), as_counts(&bj["all"]["by_state"]));
    let in_period = |r: &[String]| col(&h, r, "in_period") == "true";
    assert_eq!(by_state(&h, &rows, in_period), as_counts(&bj["in_period"]["by_state"]));
    let not_parent = |r: &[String]| in_period(r) && col(&h, r, "is_parent") != "true";
    assert_eq!(by_state(&h, &rows, not_parent), as_counts(&bj["in_period_excluding_parents"]["by_state"]));
    let parents = rows.iter().filter(|r| col(&h, r, "is_parent") == "true").count() as u64;
    assert_eq!(parents, bj["parents"]["total"].as_u64().unwrap());
    // Jobs seen RUNNING in one daily report and COMPLETED in the next come out COMPLETED.
    let states: BTreeMap<&str, &str> = rows.iter().map(|r| (col(&h, r, "job_id"), col(&h, r, "state"))).collect();
    for place in ["in_reports", "in_snapshots"] {
        for id in t["running_then_completed"][place]["backup"]["examples"].as_array().unwrap() {
            assert_eq!(states[id.as_str().unwrap()], "COMPLETED", "{place} {id}");
        }
    }

    let (h, rows) = read_csv(&out.join("evidence/copy_jobs.csv"));
    assert_eq!(by_state(&h, &rows, |_| true), as_counts(&t["copy_jobs"]["all"]["by_state"]));
    assert_eq!(
        by_state(&h, &rows, |r| col(&h, r, "in_period") == "true"),
        as_counts(&t["copy_jobs"]["in_period"]["by_state"])
    );

    // Restore jobs and restore tests (a test seen in a report without its plan ARN and in a
    // snapshot with it is one test).
    let (h, rows) = read_csv(&out.join("evidence/restore_jobs.csv"));
    assert_eq!(by_state(&h, &rows, |_| true), as_counts(&t["restore_jobs"]["all"]["by_state"]));
    let tests: Vec<&Vec<String>> = rows.iter().filter(|r| col(&h, r, "restore_test") == "true").collect();
    assert_eq!(tests.len() as u64, t["restore_tests"]["total"].as_u64().unwrap());
    let mut validation = BTreeMap::new();
    for r in tests.iter().filter(|r| col(&h, r, "in_period") == "true") {
        let v = match (col(&h, r, "state"), col(&h, r, "validation_status")) {
            ("COMPLETED", "") => "ABSENT",
            ("COMPLETED", v) => v,
            _ => "NONE_RESTORE_NOT_COMPLETED",
        };
        *validation.entry(v.to_owned()).or_insert(0u64) += 1;
    }
    assert_eq!(validation, as_counts(&t["restore_tests"]["in_period_by_validation"]));

    // Vault lock modes and legal holds.
    let (h, rows) = read_csv(&out.join("evidence/vaults.csv"));
    let modes: BTreeMap<&str, &str> = rows.iter().map(|r| (col(&h, r, "vault_arn"), col(&h, r, "lock_mode"))).collect();
    let vaults = t["vaults"].as_array().unwrap();
    assert_eq!(modes.len(), vaults.len());
    for v in vaults {
        assert_eq!(modes[v["arn"].as_str().unwrap()], v["lock_mode"].as_str().unwrap(), "{}", v["arn"]);
    }
    let (h, rows) = read_csv(&out.join("evidence/legal_holds.csv"));
    let holds: BTreeMap<&str, &str> =
        rows.iter().map(|r| (col(&h, r, "legal_hold_id"), col(&h, r, "status"))).collect();
    for l in t["legal_holds"].as_array().unwrap() {
        assert_eq!(holds[l["id"].as_str().unwrap()], l["final_status"].as_str().unwrap());
    }

    // Restore-testing candidates from the tag inventory.
    let (h, rows) = read_csv(&out.join("evidence/tagged_resources.csv"));
    let candidates =
        rows.iter().filter(|r| col(&h, r, "tags").split(';').any(|kv| kv == "restore_testing_candidate=true")).count();
    assert_eq!(candidates as u64, t["candidates"]["total"].as_u64().unwrap());

    // The Audit Manager zip is listed and hashed member by member.
    let (h, rows) = read_csv(&out.join("evidence/assessment_reports.csv"));
    assert_eq!(rows.len(), 1);
    assert_eq!(col(&h, &rows[0], "has_summary_pdf"), "true");
}

/// Builds `input` with one catch-all target (RPO `rpo_hours`, RTO 120 min) into `dir`; metrics.json.
fn build_catch_all(input: &Path, dir: &Path, rpo_hours: f64) -> (PathBuf, Value) {
    std::fs::create_dir_all(dir).unwrap();
    let config = dir.join("targets.toml");
    std::fs::write(&config, format!("[[target]]\nname = \"all\"\nrpo_hours = {rpo_hours}\nrto_minutes = 120\n"))
        .unwrap();
    let out = dir.join("pkg");
    let o = build_q3(input, &out, &["--config", config.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let m: Value = serde_json::from_slice(&std::fs::read(out.join("metrics.json")).unwrap()).unwrap();
    (out, m)
}

/// Longest age of the newest recovery point over the period (DESIGN §6 v2), in ms, from a
/// resource's completion times: from the latest completion before the period (else, or when
/// `from_start`, the period start) to the first inside it, between them, and from the last to
/// the period end. `None` without a completion inside the period.
fn exposure_ms(completions: &[i64], start: i64, end: i64, from_start: bool) -> Option<i64> {
    let mut inside: Vec<i64> = completions.iter().copied().filter(|c| (start..end).contains(c)).collect();
    inside.sort_unstable();
    let (&first, &last) = (inside.first()?, inside.last()?);
    let before = completions.iter().copied().filter(|&c| c < start).max().filter(|_| !from_start);
    let between = inside.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);
    Some((first - before.unwrap_or(start)).max(between).max(end - last))
}

fn over(exposure: Option<i64>, rpo_hours: f64) -> bool {
    exposure.is_none_or(|e| e as f64 / 3_600_000.0 > rpo_hours)
}

/// metrics.json of a generated quarter (`root/input`) against values computed here from the
/// generator's own ground truth (`root/ground-truth.json`, not from the program's output), with
/// a catch-all target of RPO 26 h and RTO 120 min, then again with each of `more_rpo_hours`.
/// Returns the per-resource exposures (v2 and measured from the period start) recomputed here
/// from evidence/backup_jobs.csv.
fn metrics_match_ground_truth(root: &Path, more_rpo_hours: &[f64]) -> BTreeMap<String, (Option<i64>, Option<i64>)> {
    let t: Value = serde_json::from_slice(&std::fs::read(root.join("ground-truth.json")).unwrap()).unwrap();
    assert_eq!(t["semantics"], 2, "ground truth counted under the evidence semantics v2");
    let tmp = tempfile::tempdir().unwrap();
    let input = root.join("input");
    let (out, m) = build_catch_all(&input, &tmp.path().join("26"), 26.0);
    let n = |v: &Value| v.as_u64().unwrap_or(0);

    let bj = &t["backup_jobs"]["in_period_excluding_parents"];
    assert_eq!(m["backup_jobs_total"], bj["total"]);
    assert_eq!(n(&m["backup_jobs_completed"]), n(&bj["by_state"]["COMPLETED"]));
    assert_eq!(n(&m["backup_jobs_failed"]), n(&bj["by_state"]["FAILED"]));
    assert_eq!(n(&m["backup_jobs_expired"]), n(&bj["by_state"]["EXPIRED"]));
    assert_eq!(n(&m["backup_jobs_aborted"]), n(&bj["by_state"]["ABORTED"]));
    assert_eq!(m["backup_success_rate"], t["backup_jobs"]["in_period_success_rate_excluding_parents"]);

    assert_eq!(m["copy_jobs_total"], t["copy_jobs"]["in_period"]["total"]);
    assert_eq!(n(&m["copy_jobs_failed"]), n(&t["copy_jobs"]["in_period"]["by_state"]["FAILED"]));
    assert_eq!(m["restore_jobs_total"], t["restore_jobs"]["in_period"]["total"]);

    let rt = &t["restore_tests"];
    assert_eq!(m["restore_tests_total"], rt["in_period"]["total"]);
    assert_eq!(m["restore_tests_passed"], rt["in_period_passed"]);
    assert_eq!(m["restore_test_duration_minutes_p95"], rt["in_period_completed_duration_minutes_p95"]);
    assert_eq!(m["restore_test_duration_minutes_max"], rt["in_period_completed_duration_minutes_max"]);
    assert_eq!(m["rto_breaches"], rt["in_period_completed_longer_than_120_minutes"]);

    // RPO (DESIGN §6 v2), recomputed here from the evidence rows. Recovery points are the
    // completions of COMPLETED backups that are not parents (flagged, or named as a parent by
    // another job), whatever their creation time: a backup started on 30 June that completes on
    // 1 July is a recovery point inside the period, and the latest completion before 1 July is
    // where the exposure at the period start runs from. Resources considered: a backup job in
    // the period, or the tag inventory; a targeted one without a completion inside breaches.
    let (h, rows) = read_csv(&out.join("evidence/backup_jobs.csv"));
    let (start, end) = (ms("2026-07-01T00:00:00Z"), ms("2026-10-01T00:00:00Z"));
    let named: BTreeSet<&str> = rows.iter().map(|r| col(&h, r, "parent_job_id")).filter(|p| !p.is_empty()).collect();
    let mut done: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let mut resources: BTreeSet<String> = BTreeSet::new();
    for r in rows.iter().filter(|r| col(&h, r, "is_parent") != "true" && !named.contains(col(&h, r, "job_id"))) {
        let arn = col(&h, r, "resource_arn").to_owned();
        if col(&h, r, "in_period") == "true" {
            resources.insert(arn.clone());
        }
        let c = col(&h, r, "completion_date");
        if col(&h, r, "state") == "COMPLETED" && !c.is_empty() {
            done.entry(arn).or_default().push(ms(c));
        }
    }
    let (th, tags) = read_csv(&out.join("evidence/tagged_resources.csv"));
    resources.extend(tags.iter().map(|r| col(&th, r, "resource_arn").to_owned()));
    assert_eq!(n(&m["resources_considered"]), resources.len() as u64);
    assert_eq!(n(&m["resources_with_rpo_target"]), resources.len() as u64);
    let ours: BTreeMap<String, (Option<i64>, Option<i64>)> = resources
        .iter()
        .map(|a| {
            let c = done.get(a).map_or(&[][..], Vec::as_slice);
            (a.clone(), (exposure_ms(c, start, end, false), exposure_ms(c, start, end, true)))
        })
        .collect();

    // The generator's exposures, resource by resource, to the millisecond: the files hold the
    // very completions its model counted (every resource of the estate is in the tag inventory).
    let list = t["resources"]["list"].as_array().unwrap();
    let theirs: BTreeMap<String, Option<i64>> =
        list.iter().map(|r| (r["arn"].as_str().unwrap().to_owned(), r["max_exposure_ms_in_period"].as_i64())).collect();
    assert_eq!(theirs.keys().collect::<Vec<_>>(), ours.keys().collect::<Vec<_>>());
    for (arn, e) in &theirs {
        assert_eq!(ours[arn].0, *e, "exposure of {arn}");
    }

    // resources_with_rpo_breach against the generator's count, at 26 h and each further RPO.
    let truth_breaches = |rpo: f64| theirs.values().filter(|e| over(**e, rpo)).count() as u64;
    let by_hours = &t["resources"]["rpo_breaches_with_catch_all_target_of_hours"];
    assert_eq!(by_hours["26"].as_u64(), Some(truth_breaches(26.0)));
    assert_eq!(n(&m["resources_with_rpo_breach"]), truth_breaches(26.0), "RPO 26 h");
    for (i, &rpo) in more_rpo_hours.iter().enumerate() {
        let (_, m) = build_catch_all(&input, &tmp.path().join(i.to_string()), rpo);
        assert_eq!(n(&m["resources_with_rpo_breach"]), truth_breaches(rpo), "RPO {rpo} h");
        if let Some(v) = by_hours.get(rpo.to_string()) {
            assert_eq!(v.as_u64(), Some(truth_breaches(rpo)));
        }
    }

    assert_eq!(m["restore_test_candidates"], t["candidates"]["total"]);
    let untested = t["candidates"]["without_passing_test_in_period"].as_array().unwrap().len();
    assert_eq!(n(&m["untested_candidates"]), untested as u64);
    ours
}

/// metrics.json on the sample quarter against the generator's ground truth (see above).
#[test]
fn metrics_on_samples_match_the_generators_ground_truth() {
    // 24.05 h lies between ci-artifacts-db's exposure measured from the period start (24.04 h)
    // and from its last recovery point before the period (30 June 23:13, 24.07 h): a count
    // that ignored the completions before the quarter would be one short there.
    let rpo = [24.05, 168.0];
    let ours = metrics_match_ground_truth(&samples(), &rpo);
    let t = truth();
    let v1 = ours.values().filter(|e| over(e.1, 24.05)).count();
    let v2 = ours.values().filter(|e| over(e.0, 24.05)).count();
    assert_eq!(v2, v1 + 1, "24.05 h separates the v2 rule from the period-start rule");
    // A weekly resource gaps just over 7 days, so 168 h and 169 h tell weekly from failing.
    let by_hours = &t["resources"]["rpo_breaches_with_catch_all_target_of_hours"];
    assert!(by_hours["168"].as_u64().unwrap() >= 20 && by_hours["169"].as_u64().unwrap() <= 5, "{by_hours}");
    // A nightly backup created before midnight that completes after it keeps the exposure
    // under a day: core-shared-fs's 30 June backup completes on 1 July.
    let fs = t["resources"]["list"].as_array().unwrap().iter().find(|r| r["name"] == "core-shared-fs").unwrap();
    assert!(fs["latest_recovery_point_before_period"]["completed"].as_str().unwrap().starts_with("2026-06-30"));
    assert!(!over(ours[fs["arn"].as_str().unwrap()].0, 26.0));
}

/// Another quarter `dora-evidence samples` writes (other seed, scale 2): its metrics equal
/// its own ground truth too.
#[test]
fn metrics_on_another_generated_quarter_match_its_ground_truth() {
    let (_tmp, root) = generate(2, 7);
    let ours = metrics_match_ground_truth(&root, &[168.0]);
    assert_eq!(ours.len(), 90);
}

/// Findings on the sample quarter: every mapped requirement present with a valid status, and
/// the check exceptions name exactly the gaps the generator built in.
#[test]
fn findings_on_samples_name_the_built_in_gaps() {
    let t = truth();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("pkg");
    let input = samples().join("input");
    let config = samples().join("dora-evidence.toml");
    let o = build_q3(&input, &out, &["--config", config.to_str().unwrap(), "--fail-on", "not_satisfied"]);
    // The sample has RPO and RTO breaches, so a scheduler asking to fail on them gets 1.
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(out.join("findings.csv").is_file(), "the package is still written");

    let (h, rows) = read_csv(&out.join("findings.csv"));
    assert_eq!(
        h,
        [
            "id",
            "requirement",
            "status",
            "summary",
            "checks",
            "checks_without_data",
            "evidence_records",
            "evidence_artifacts",
            "attach"
        ]
    );
    let status: BTreeMap<&str, &str> = rows.iter().map(|r| (col(&h, r, "id"), col(&h, r, "status"))).collect();
    for id in [
        "dora-5-2-b",
        "dora-9-2",
        "dora-10-2",
        "dora-11-6",
        "dora-12-2",
        "dora-12-6",
        "dora-12-7",
        "dora-24-6",
        "rts-24-1",
    ] {
        assert!(["satisfied", "partially_satisfied", "not_satisfied", "no_evidence"].contains(&status[id]), "{id}");
    }
    // RTS Art. 40 binds only entities under the simplified framework; the sample bank is not one.
    assert_eq!(status["rts-40"], "not_applicable");
    // Requirements our data cannot evidence are listed, never dropped.
    assert_eq!(status["dora-13-3"], "no_evidence");
    assert!(rows.iter().all(|r| !col(&h, r, "summary").is_empty()));

    let f: Value = serde_json::from_slice(&std::fs::read(out.join("findings.json")).unwrap()).unwrap();
    let check = |id: &str| f["checks"].as_array().unwrap().iter().find(|c| c["id"] == id).unwrap().clone();
    let exceptions = |id: &str| -> Vec<String> {
        check(id)["exceptions"].as_array().unwrap().iter().map(|e| e.as_str().unwrap().to_owned()).collect()
    };
    // Untested candidates: exactly the generator's list.
    let mut want: Vec<String> = t["candidates"]["without_passing_test_in_period"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect();
    want.sort();
    assert_eq!(exceptions("candidates_tested"), want);
    // Account/Regions without a restore testing plan.
    let mut want: Vec<String> = t["restore_testing"]["account_regions_without_plan"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| format!("{}/{}", s["account"].as_str().unwrap(), s["region"].as_str().unwrap()))
        .collect();
    want.sort();
    assert_eq!(exceptions("restore_testing_in_scope"), want);
    // The account without failure alarms shows in both of its Regions.
    for account in t["alarms"]["accounts_without_backup_alarms"].as_array().unwrap() {
        let a = account.as_str().unwrap();
        assert_eq!(exceptions("failure_alarms").iter().filter(|e| e.starts_with(a)).count(), 2, "{a}");
    }
    // The backup policy: exactly the resources in no plan and those on a plan slower than
    // their tier's RPO (example config: silver 26 h).
    let policy = &t["backup_policy"];
    let mut want: Vec<String> = policy["in_no_plan"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| format!("{} in no backup plan", a.as_str().unwrap()))
        .collect();
    for r in policy["on_a_plan_slower_than_their_tier"].as_array().unwrap() {
        let (arn, plan, rule) = (r["arn"].as_str().unwrap(), r["plan"].as_str().unwrap(), r["rule"].as_str().unwrap());
        want.push(format!("{arn} most frequent rule {plan}/{rule} runs at most every 168.0 h > RPO 26 h"));
    }
    want.sort();
    assert_eq!(want.len(), 2, "one resource in no plan, one on a slower plan");
    assert_eq!(exceptions("policy_covers_targets"), want);
    // Every S3 access-denied failure is listed with its cause.
    for s in t["scenarios"]["s3_backup_access_denied"].as_array().unwrap() {
        let id = s["job_id"].as_str().unwrap();
        assert!(exceptions("backup_success").iter().any(|e| e.starts_with(id) && e.contains("AccessDenied")), "{id}");
    }
    // Artifacts behind a check are real digests from artifacts.csv.
    let (ah, arts) = read_csv(&out.join("artifacts.csv"));
    let known: std::collections::BTreeSet<&str> = arts.iter().map(|r| col(&ah, r, "sha256")).collect();
    let behind = check("backup_success")["artifacts"].as_array().unwrap().clone();
    assert!(!behind.is_empty());
    assert!(behind.iter().all(|s| known.contains(s.as_str().unwrap())));
}
