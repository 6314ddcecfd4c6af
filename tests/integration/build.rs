//! `dora-evidence build` end to end: merge, provenance, atomic output, determinism.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::util::{col, dir_with_file, fixture, read_csv, run, stderr, stdout};

fn build(inputs: &[PathBuf], out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args: Vec<String> = vec!["build".into()];
    for i in inputs {
        args.push("--input".into());
        args.push(i.display().to_string());
    }
    args.extend(
        ["--period", "2026-Q3", "--out", out.to_str().unwrap(), "--generated-at", "2026-10-05T08:00:00Z"]
            .map(String::from),
    );
    args.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    run(&refs)
}

fn valid_inputs() -> Vec<PathBuf> {
    vec![fixture("reports"), fixture("api")]
}

fn rows_by(path: &Path, key: &str) -> (Vec<String>, BTreeMap<String, Vec<String>>) {
    let (h, rows) = read_csv(path);
    let map = rows.into_iter().map(|r| (col(&h, &r, key).to_owned(), r)).collect();
    (h, map)
}

#[test]
fn merges_one_job_seen_in_reports_and_snapshots() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("pkg");
    let o = build(&valid_inputs(), &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("backup_jobs: 7"), "{}", stdout(&o));

    let (h, jobs) = rows_by(&out.join("evidence/backup_jobs.csv"), "job_id");
    // RUNNING in the 14 July JSON report, COMPLETED in the 15 July CSV report and the snapshot.
    let j = &jobs["0D5F2F4C-1B0E-4C1B-9B8D-7A1E2F3C4D5E"];
    assert_eq!(col(&h, j, "state"), "COMPLETED");
    assert_eq!(col(&h, j, "completion_date"), "2026-07-15T04:55:10Z", "the later observation's value");
    assert_eq!(col(&h, j, "backup_plan_name"), "daily-gold", "filled from the snapshot");
    assert_eq!(col(&h, j, "observations"), "3");
    assert_eq!(col(&h, j, "duration_minutes"), "345.17");
    // Seen once: failed S3 backup in the CSV report and the epoch snapshot.
    let f = &jobs["7F3E2D1C-0B9A-4876-A5B4-C3D2E1F0A9B8"];
    assert_eq!(col(&h, f, "state"), "FAILED");
    assert_eq!(col(&h, f, "message_category"), "ACCESS_DENIED");
    assert_eq!(col(&h, f, "observations"), "2");
    assert_eq!(col(&h, &jobs["PARENT-1"], "is_parent"), "true");

    let (h, restores) = rows_by(&out.join("evidence/restore_jobs.csv"), "job_id");
    // In a report without its plan ARN and in a snapshot with it: one restore test.
    let r = &restores["5E7A3B21-AAAA-BBBB-CCCC-DDDDEEEEFFFF"];
    assert_eq!(col(&h, r, "restore_test"), "true");
    assert_eq!(col(&h, r, "validation_status"), "SUCCESSFUL");
    assert_eq!(col(&h, r, "observations"), "2");
    assert_eq!(col(&h, r, "duration_minutes"), "41.50");
    // FAILED in the report, COMPLETED (TIMED_OUT validation) in a snapshot: both terminal,
    // so the later observation wins — the snapshot has no time, the report's period end does.
    let r = &restores["6F8B4C32-AAAA-BBBB-CCCC-DDDDEEEEFFFF"];
    assert_eq!(col(&h, r, "state"), "FAILED");
    assert_eq!(col(&h, r, "validation_status"), "TIMED_OUT", "gap filled");

    let (h, vaults) = rows_by(&out.join("evidence/vaults.csv"), "vault_name");
    assert_eq!(col(&h, &vaults["core-vault"], "lock_mode"), "compliance");
    assert_eq!(col(&h, &vaults["gov-vault"], "lock_mode"), "governance");
    assert_eq!(col(&h, &vaults["dev-vault"], "lock_mode"), "none");
    // The logically air-gapped vault, from its own listing (`--by-vault-type`).
    assert_eq!(col(&h, &vaults["core-airgap"], "vault_type"), "LOGICALLY_AIR_GAPPED_BACKUP_VAULT");
    assert_eq!(vaults.len(), 5);
}

/// Every `sources` entry points at an artifact whose bytes, at that line or JSON pointer,
/// hold the record's id.
#[test]
fn provenance_resolves_to_the_exact_row_or_item() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("pkg");
    assert_eq!(build(&valid_inputs(), &out, &[]).status.code(), Some(0));
    let (ah, artifacts) = read_csv(&out.join("artifacts.csv"));
    let by_prefix: BTreeMap<String, String> =
        artifacts.iter().map(|r| (col(&ah, r, "sha256")[..16].to_owned(), col(&ah, r, "sha256").to_owned())).collect();
    let mut checked = 0;
    for file in ["backup_jobs.csv", "copy_jobs.csv", "restore_jobs.csv"] {
        let (h, rows) = read_csv(&out.join("evidence").join(file));
        for row in &rows {
            let id = col(&h, row, "job_id");
            for source in col(&h, row, "sources").split(';') {
                let (prefix, locator) = source.split_once('@').unwrap();
                let sha = &by_prefix[prefix];
                let bytes = std::fs::read(out.join("artifacts/sha256").join(sha)).unwrap();
                if let Some(line) = locator.strip_prefix("line ") {
                    let n: usize = line.parse().unwrap();
                    let text = String::from_utf8_lossy(&bytes);
                    let l = text.lines().nth(n - 1).unwrap();
                    assert!(l.contains(id), "{file} {id}: {source} is {l:?}");
                } else {
                    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                    let item = v.pointer(locator).unwrap_or_else(|| panic!("{source}: no such pointer"));
                    assert!(item.to_string().contains(id), "{file} {id}: {source}");
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 15, "checked {checked}");
}

#[test]
fn same_inputs_give_identical_evidence_whatever_the_thread_count() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    assert_eq!(build(&valid_inputs(), &a, &["--threads", "1"]).status.code(), Some(0));
    assert_eq!(build(&valid_inputs(), &b, &["--threads", "2"]).status.code(), Some(0));
    let mut names: Vec<_> = std::fs::read_dir(a.join("evidence"))
        .unwrap()
        .map(|e| Path::new("evidence").join(e.unwrap().file_name()))
        .collect();
    assert!(names.len() >= 14);
    names.extend(["metrics.json", "findings.csv", "findings.json"].map(PathBuf::from));
    for name in names {
        let x = std::fs::read(a.join(&name)).unwrap();
        let y = std::fs::read(b.join(&name)).unwrap();
        assert!(x == y, "{name:?} differs between runs");
    }
}

#[test]
fn identical_bytes_are_stored_once_but_every_file_is_listed() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    std::fs::create_dir_all(input.join("x")).unwrap();
    let src = std::fs::read(fixture("api/list-legal-holds/page-1.json")).unwrap();
    std::fs::write(input.join("a.json"), &src).unwrap();
    std::fs::write(input.join("x/b.json"), &src).unwrap();
    std::fs::write(input.join("notes.txt"), "operator notes").unwrap();
    let out = tmp.path().join("pkg");
    // Legal holds and notes only: no backup job to assess, so the package must be asked for.
    let o = build(&[input], &out, &["--allow-empty"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (h, rows) = read_csv(&out.join("artifacts.csv"));
    assert_eq!(rows.len(), 3);
    assert_eq!(col(&h, &rows[0], "sha256"), col(&h, &rows[2], "sha256"));
    assert_eq!(col(&h, &rows[1], "parse_status"), "unclassified");
    assert_eq!(std::fs::read_dir(out.join("artifacts/sha256")).unwrap().count(), 2);
    let (_, holds) = read_csv(&out.join("evidence/legal_holds.csv"));
    assert_eq!(holds.len(), 2, "the duplicate file does not double the records");
    // The manifest lists every file of the package with its digest.
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["partial"], false);
    assert_eq!(m["period"], "2026-Q3");
    let files = m["files"].as_array().unwrap();
    assert!(files.iter().any(|f| f["path"] == "evidence/backup_jobs.csv"));
    for f in files {
        let bytes = std::fs::read(out.join(f["path"].as_str().unwrap())).unwrap();
        assert_eq!(f["sha256"].as_str().unwrap(), hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes)));
    }
}

#[test]
fn refuses_to_overwrite_and_leaves_no_half_package() {
    let tmp = tempfile::tempdir().unwrap();
    let out = dir_with_file(tmp.path(), "pkg", "keep.txt", "mine");
    let o = build(&valid_inputs(), &out, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--force"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(out.join("keep.txt")).unwrap(), "mine");
    // --force replaces only a dora-evidence package (DESIGN §8; tests/integration/output_safety.rs).
    let o = build(&valid_inputs(), &out, &["--force"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(out.join("keep.txt")).unwrap(), "mine");
    std::fs::remove_file(out.join("keep.txt")).unwrap();
    assert_eq!(build(&valid_inputs(), &out, &[]).status.code(), Some(0), "an empty folder is fine");
    let o = build(&valid_inputs(), &out, &["--force"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Nothing but the package is left beside it (no staging or spill folders).
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, vec![std::ffi::OsString::from("pkg")]);
}

#[test]
fn usage_errors_exit_2_with_a_clear_message() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("pkg");
    let o = run(&["build", "--input", "tests/fixtures/api", "--period", "2026-Q5", "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("2026-Q3"), "{}", stderr(&o));
    let o = run(&["build", "--input", "/nonexistent/dir", "--period", "2026-Q3", "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("/nonexistent/dir"), "{}", stderr(&o));
    assert!(!out.exists());
    // A config typo names the file, the line and the key; nothing is written.
    let config = tmp.path().join("targets.toml");
    std::fs::write(&config, "[[target]]\nname = \"gold\"\nrpo_hour = 24\n").unwrap();
    let o = run(&[
        "build",
        "--input",
        "tests/fixtures/api",
        "--period",
        "2026-Q3",
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("targets.toml:3") && err.contains("rpo_hour"), "{err}");
    assert!(!out.exists());
    let o = run(&["--help"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("build"));
}

/// Streaming large files from the stored copy and merging many small sorted runs give the
/// same evidence as reading everything in memory with one run per worker.
#[test]
fn streamed_files_and_many_spill_runs_give_the_same_evidence() {
    use dora_evidence::build::{BuildOptions, SPILL_BUDGET, run};
    use dora_evidence::time::Timestamp;
    let tmp = tempfile::tempdir().unwrap();
    let input = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/input");
    let opts = |out: &str, in_memory_limit: u64, spill_budget: usize, threads: usize| BuildOptions {
        inputs: vec![input.clone()],
        period: "2026-Q3".parse().unwrap(),
        out: tmp.path().join(out),
        force: false,
        generated_at: Timestamp::parse("2026-10-05T08:00:00Z").unwrap(),
        threads,
        in_memory_limit,
        spill_budget,
        config: dora_evidence::config::Config::default(),
        allow_empty: false,
        mapping: dora_evidence::assess::mapping::Mapping::builtin(),
        templates: None,
        renderer: Default::default(),
        signing: None,
        s3_inputs: Vec::new(),
        s3_concurrency: 1,
        path_style: false,
        previous: None,
    };
    let a = run(&opts("a", dora_evidence::artifact::IN_MEMORY_LIMIT, SPILL_BUDGET, 2)).unwrap();
    // Every file streamed; runs of 64 KiB, so hundreds of runs are merged k-way.
    let b = run(&opts("b", 0, 64 * 1024, 3)).unwrap();
    assert_eq!(a.counts, b.counts);
    assert!(a.counts.iter().any(|(name, n)| *name == "backup_jobs" && *n > 2000));
    for entry in std::fs::read_dir(tmp.path().join("a/evidence")).unwrap() {
        let name = entry.unwrap().file_name();
        let x = std::fs::read(tmp.path().join("a/evidence").join(&name)).unwrap();
        let y = std::fs::read(tmp.path().join("b/evidence").join(&name)).unwrap();
        assert!(x == y, "{name:?} differs");
    }
    let (ha, ra) = read_csv(&tmp.path().join("a/artifacts.csv"));
    let (_, rb) = read_csv(&tmp.path().join("b/artifacts.csv"));
    let strip = |rows: &[Vec<String>]| -> Vec<Vec<String>> {
        rows.iter()
            .map(|r| r.iter().enumerate().filter(|(i, _)| ha[*i] != "fetched_at").map(|(_, v)| v.clone()).collect())
            .collect()
    };
    assert_eq!(strip(&ra), strip(&rb));
}

/// The command line lays the report out in a child process (`render-report`); the library
/// does it in-process by default. Both give the same report byte for byte, and the child's
/// failures read like in-process ones.
#[test]
fn the_render_child_gives_the_in_process_report() {
    use dora_evidence::build::{BuildOptions, SPILL_BUDGET, run};
    use dora_evidence::render::Renderer;
    let tmp = tempfile::tempdir().unwrap();
    let input = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/api");
    let opts = |out: &str, renderer: Renderer, templates: Option<PathBuf>| BuildOptions {
        inputs: vec![input.clone()],
        period: "2026-Q3".parse().unwrap(),
        out: tmp.path().join(out),
        force: false,
        generated_at: dora_evidence::time::Timestamp::parse("2026-10-05T08:00:00Z").unwrap(),
        threads: 2,
        in_memory_limit: dora_evidence::artifact::IN_MEMORY_LIMIT,
        spill_budget: SPILL_BUDGET,
        config: dora_evidence::config::Config::default(),
        allow_empty: true,
        mapping: dora_evidence::assess::mapping::Mapping::builtin(),
        templates,
        renderer,
        signing: None,
        s3_inputs: Vec::new(),
        s3_concurrency: 1,
        path_style: false,
        previous: None,
    };
    let child = Renderer::Child(PathBuf::from(env!("CARGO_BIN_EXE_dora-evidence")));
    run(&opts("in", Renderer::InProcess, None)).unwrap();
    run(&opts("child", child.clone(), None)).unwrap();
    let read = |dir: &str| std::fs::read(tmp.path().join(dir).join("report.pdf")).unwrap();
    assert!(read("in") == read("child"), "report.pdf differs between in-process and child rendering");

    let templates = dir_with_file(tmp.path(), "t", "report.typ", "= Title\n\n#json(\"data.json\").nothing\n");
    let in_process = run(&opts("bad-in", Renderer::InProcess, Some(templates.clone()))).unwrap_err().to_string();
    let in_child = run(&opts("bad-child", child, Some(templates))).unwrap_err().to_string();
    assert!(in_child.contains("report.typ:3:"), "{in_child}");
    assert_eq!(in_process, in_child);

    let missing = Renderer::Child(tmp.path().join("no-such-program"));
    let err = run(&opts("no-child", missing, None)).unwrap_err().to_string();
    assert!(err.contains("cannot start") && err.contains("no-such-program"), "{err}");
    assert!(!tmp.path().join("no-child").exists(), "no half package");
}

/// The program turns transparent huge pages off for itself (and so for its render child):
/// zeroing sparsely used 2 MiB pages was 15–20 % of a build (BENCHMARKS.md). Seen in the
/// kernel's own view of a running `render-report` child.
#[test]
fn the_program_runs_without_transparent_huge_pages() {
    use std::process::Stdio;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_dora-evidence"))
        .arg("render-report")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let status = format!("/proc/{}/status", child.id());
    let mut last = String::new();
    for _ in 0..100 {
        last = std::fs::read_to_string(&status).unwrap();
        if last.contains("THP_enabled:\t0") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success(), "an empty request ends the child quietly");
    assert!(last.contains("THP_enabled:\t0"), "{last}");
}

/// A backup job's KMS key (`encryptionKeyArn` in the backup job report) reaches
/// `evidence/backup_jobs.csv`; a job whose report row has none leaves the cell empty.
#[test]
fn a_backup_jobs_kms_key_reaches_the_csv() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("pkg");
    let o = build(&[fixture("reports/backup_job_report/valid-account.json")], &out, &["--allow-partial"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (h, jobs) = rows_by(&out.join("evidence/backup_jobs.csv"), "job_id");
    let key = "arn:aws:kms:eu-central-1:111122223333:key/12345678-1234-1234-1234-123456789012";
    assert_eq!(col(&h, &jobs["FCCB040A-9426-2A49-2EA9-5EAFFAC656AC"], "encryption_key_arn"), key);
    assert_eq!(col(&h, &jobs["0D5F2F4C-1B0E-4C1B-9B8D-7A1E2F3C4D5E"], "encryption_key_arn"), "");
}

/// `ROOT/in/collected/111122223333/eu-central-1/2026-08-01T06:00:00Z`, as `collect` lays out a
/// scope, holding the fixtures `files` names as (fixture, name in the scope).
fn collected_scope(root: &Path, files: &[(&str, &str)]) -> PathBuf {
    let scope = root.join("in/collected/111122223333/eu-central-1/2026-08-01T06:00:00Z");
    std::fs::create_dir_all(&scope).unwrap();
    for (from, to) in files {
        std::fs::copy(fixture(from), scope.join(to)).unwrap();
    }
    scope
}

/// Backup plan rules and selections reach `evidence/backup_rules.csv` and
/// `evidence/backup_selections.csv`: a row per rule with its plan's ids, a selection's lists
/// as sorted JSON arrays, its Region from the snapshot's path.
#[test]
fn backup_plan_rules_and_selections_reach_their_csvs() {
    let tmp = tempfile::tempdir().unwrap();
    collected_scope(
        tmp.path(),
        &[
            ("api/list-backup-plans/page-1.json", "list-backup-plans.json"),
            ("api/get-backup-plan/core-daily.json", "get-backup-plan-8c2f4e7a.json"),
            ("api/list-backup-selections/page-1.json", "list-backup-selections-8c2f4e7a.json"),
            ("api/get-backup-selection/tier-gold.json", "get-backup-selection-8c2f4e7a-3e5f7a9b.json"),
            ("api/list-backup-jobs/page-iso.json", "list-backup-jobs.json"),
        ],
    );
    let out = tmp.path().join("pkg");
    let o = build(&[tmp.path().join("in")], &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    let (h, rules) = rows_by(&out.join("evidence/backup_rules.csv"), "rule_name");
    assert_eq!(rules.len(), 2);
    let daily = &rules["daily-0300"];
    for (column, value) in [
        ("account_id", "111122223333"),
        ("region", "eu-central-1"),
        ("backup_plan_id", "8c2f4e7a-5d1b-4f3a-9e6c-2b7d8a9c0e1f"),
        ("backup_plan_name", "core-daily"),
        ("rule_id", "6f1c1a4e-2b7d-4c1e-9a55-0d3e5f6a7b81"),
        ("target_backup_vault_name", "core-vault"),
        ("schedule_expression", "cron(0 3 ? * * *)"),
        ("schedule_expression_timezone", "Europe/Berlin"),
        ("start_window_minutes", "60"),
        ("completion_window_minutes", "480"),
        ("delete_after_days", "35"),
        ("move_to_cold_storage_after_days", ""),
        ("enable_continuous_backup", ""),
        ("copy_delete_after_days", "35"),
        ("observed_at", "2026-08-01T06:00:00Z"),
    ] {
        assert_eq!(col(&h, daily, column), value, "{column}");
    }
    assert!(col(&h, daily, "copy_destinations").starts_with("arn:aws:backup:eu-central-1:444455556666:"));
    assert!(col(&h, daily, "sources").ends_with("@/BackupPlan/Rules/0"), "{}", col(&h, daily, "sources"));
    assert_eq!(col(&h, &rules["continuous-pitr"], "enable_continuous_backup"), "true");

    let (h, selections) = read_csv(&out.join("evidence/backup_selections.csv"));
    assert_eq!(selections.len(), 1);
    let s = &selections[0];
    assert_eq!((col(&h, s, "account_id"), col(&h, s, "region")), ("111122223333", "eu-central-1"));
    assert_eq!(col(&h, s, "selection_name"), "tier-gold");
    let json = |column: &str| serde_json::from_str::<serde_json::Value>(col(&h, s, column)).unwrap();
    assert_eq!(
        json("resources"),
        serde_json::json!([
            "arn:aws:dynamodb:eu-central-1:111122223333:table/*",
            "arn:aws:rds:eu-central-1:111122223333:db:payments"
        ])
    );
    assert_eq!(
        json("not_resources"),
        serde_json::json!(["arn:aws:dynamodb:eu-central-1:111122223333:table/scratch-*"])
    );
    assert_eq!(
        json("list_of_tags"),
        serde_json::json!([
            {"ConditionType": "STRINGEQUALS", "ConditionKey": "backup", "ConditionValue": "daily"},
            {"ConditionType": "STRINGEQUALS", "ConditionKey": "tier", "ConditionValue": "gold"}
        ])
    );
    assert_eq!(
        json("conditions"),
        serde_json::json!([
            {"ConditionType": "StringEquals", "ConditionKey": "aws:ResourceTag/env", "ConditionValue": "prod"},
            {"ConditionType": "StringLike", "ConditionKey": "aws:ResourceTag/owner", "ConditionValue": "core-*"},
            {"ConditionType": "StringNotLike", "ConditionKey": "aws:ResourceTag/lifecycle", "ConditionValue": "temp*"}
        ])
    );

    // Every file recognised; the index listings kept with no records; the counts in the manifest.
    let (h, artifacts) = rows_by(&out.join("artifacts.csv"), "kind");
    for kind in
        ["snapshot:BackupPlansList", "snapshot:BackupPlan", "snapshot:BackupSelectionsList", "snapshot:BackupSelection"]
    {
        assert_eq!(col(&h, &artifacts[kind], "parse_status"), "parsed", "{kind}");
    }
    assert_eq!(col(&h, &artifacts["snapshot:BackupPlansList"], "records"), "0");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(
        (manifest["records"]["backup_rules"].as_u64(), manifest["records"]["backup_selections"].as_u64()),
        (Some(2), Some(1))
    );
}

/// Alert paths and vault protection reach their CSVs: vault notifications, access policies
/// (a deny of recovery-point deletion, one only under a condition), EventBridge rules joined
/// to their targets by the targets file's name, a targets file named by no listed rule kept
/// as its own row, and SNS subscriptions with masked endpoints.
#[test]
fn alert_paths_and_vault_policies_reach_their_csvs() {
    let tmp = tempfile::tempdir().unwrap();
    let scope = collected_scope(
        tmp.path(),
        &[
            ("api/get-backup-vault-notifications/core-vault.json", "get-backup-vault-notifications-core-vault.json"),
            ("api/get-backup-vault-access-policy/core-vault.json", "get-backup-vault-access-policy-core-vault.json"),
            ("api/get-backup-vault-access-policy/dr-vault-conditional.json", "get-backup-vault-access-policy-dr.json"),
            ("api/list-rules/page-1.json", "list-rules.json"),
            (
                "api/list-targets-by-rule/list-targets-by-rule-backup-job-failed.json",
                "list-targets-by-rule-backup-job-failed.json",
            ),
            ("api/list-subscriptions-by-topic/backup-alerts.json", "list-subscriptions-by-topic-backup-alerts.json"),
            ("api/list-backup-jobs/page-iso.json", "list-backup-jobs.json"),
        ],
    );
    // Made by hand with the AWS CLI (`aws events list-targets-by-rule --rule legacy`) under a
    // name that gives no rule.
    let legacy = r#"{"Targets":[{"Id":"t","Arn":"arn:aws:sns:eu-central-1:111122223333:legacy-backup-alerts"}]}"#;
    std::fs::write(scope.join("targets.json"), legacy).unwrap();
    let out = tmp.path().join("pkg");
    let o = build(&[tmp.path().join("in")], &out, &[]);
    // The targets file that names no rule is a problem in the inputs: a partial package.
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("targets.json: /: the targets' rule is not known"), "{}", stderr(&o));

    let (h, rows) = read_csv(&out.join("evidence/vault_notifications.csv"));
    assert_eq!(rows.len(), 1);
    assert_eq!(col(&h, &rows[0], "events"), "BACKUP_JOB_FAILED;COPY_JOB_FAILED;RESTORE_JOB_COMPLETED");
    assert_eq!(col(&h, &rows[0], "sns_topic_arn"), "arn:aws:sns:eu-central-1:111122223333:backup-alerts");
    assert_eq!((col(&h, &rows[0], "account_id"), col(&h, &rows[0], "region")), ("111122223333", "eu-central-1"));

    let (h, policies) = rows_by(&out.join("evidence/vault_access_policies.csv"), "vault_name");
    let core = &policies["core-vault"];
    assert_eq!(col(&h, core, "denies_recovery_point_deletion"), "true");
    assert_eq!(col(&h, core, "deletion_deny_conditional"), "false");
    assert!(col(&h, core, "policy").starts_with(r#"{"Version":"2012-10-17","Statement":[{"Sid":"DenyRecovery"#));
    let dr = &policies["core-dr-vault"];
    assert_eq!(col(&h, dr, "region"), "eu-west-1", "from the vault's ARN, not the path");
    assert_eq!(
        (col(&h, dr, "denies_recovery_point_deletion"), col(&h, dr, "deletion_deny_conditional")),
        ("true", "true")
    );

    let (h, rules) = rows_by(&out.join("evidence/event_rules.csv"), "rule_name");
    assert_eq!(rules.len(), 4, "{rules:?}");
    let failed = &rules["backup-job-failed"];
    for (column, value) in [
        ("account_id", "111122223333"),
        ("region", "eu-central-1"),
        ("state", "ENABLED"),
        ("matches_backup_failures", "true"),
        ("failure_kinds", "backup;copy"),
        ("target_count", "2"),
        ("listed", "true"),
        ("observations", "2"),
    ] {
        assert_eq!(col(&h, failed, column), value, "{column}");
    }
    assert!(col(&h, failed, "targets").ends_with(";arn:aws:sns:eu-central-1:111122223333:backup-alerts"));
    let completed = &rules["backup-job-completed"];
    assert_eq!((col(&h, completed, "matches_backup_failures"), col(&h, completed, "target_count")), ("false", ""));
    assert_eq!(col(&h, completed, "failure_kinds"), "", "matches no failed job");
    assert_eq!(col(&h, &rules["nightly-report"], "matches_backup_failures"), "");
    // The hand-made targets file: kept, with no rule and not listed.
    let orphan = &rules[""];
    assert_eq!(col(&h, orphan, "targets"), "arn:aws:sns:eu-central-1:111122223333:legacy-backup-alerts");
    assert_eq!((col(&h, orphan, "listed"), col(&h, orphan, "region")), ("false", "eu-central-1"));
    let (h, errors) = read_csv(&out.join("evidence/parse_errors.csv"));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(col(&h, &errors[0], "origin").ends_with("targets.json"), "{errors:?}");
    assert!(col(&h, &errors[0], "message").contains("list-targets-by-rule-<rule name>.json"));

    let (h, subs) = rows_by(&out.join("evidence/sns_subscriptions.csv"), "protocol");
    assert_eq!(subs.len(), 3);
    for (protocol, endpoint, confirmed) in [
        ("email", "b***@nordhafen-bank.example", "true"),
        ("sms", "***78", "false"),
        ("https", "https://events.pagerduty.example", "true"),
    ] {
        assert_eq!(col(&h, &subs[protocol], "endpoint"), endpoint, "{protocol}");
        assert_eq!(col(&h, &subs[protocol], "confirmed"), confirmed, "{protocol}");
    }
    // No subscriber address reaches an evidence file.
    for entry in std::fs::read_dir(out.join("evidence")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(!text.contains("backup-oncall@") && !text.contains("12345678") && !text.contains("abc123secret"));
    }

    // Every file recognised; only the unnamed targets file has a problem.
    let (h, artifacts) = read_csv(&out.join("artifacts.csv"));
    let of = |file: &str| artifacts.iter().find(|a| col(&h, a, "origin").ends_with(file)).unwrap();
    for (file, kind, status) in [
        ("/get-backup-vault-notifications-core-vault.json", "snapshot:BackupVaultNotifications", "parsed"),
        ("/get-backup-vault-access-policy-dr.json", "snapshot:BackupVaultAccessPolicy", "parsed"),
        ("/list-rules.json", "snapshot:EventRules", "parsed"),
        ("/list-targets-by-rule-backup-job-failed.json", "snapshot:EventRuleTargets", "parsed"),
        ("/targets.json", "snapshot:EventRuleTargets", "failed"),
        ("/list-subscriptions-by-topic-backup-alerts.json", "snapshot:SnsSubscriptions", "parsed"),
    ] {
        assert_eq!((col(&h, of(file), "kind"), col(&h, of(file), "parse_status")), (kind, status), "{file}");
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    let count = |k: &str| manifest["records"][k].as_u64();
    assert_eq!(
        (
            count("vault_notifications"),
            count("vault_access_policies"),
            count("event_rules"),
            count("sns_subscriptions")
        ),
        (Some(1), Some(2), Some(4), Some(3))
    );
}
