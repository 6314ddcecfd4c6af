//! The generator behind `dora-evidence samples`: writes a realistic, entirely fictional
//! quarter of AWS Backup and AWS Audit Manager records, in the formats AWS delivers, so the
//! reader can be tested, demonstrated and benchmarked without an AWS account.
//!
//! It is a crate of its own because it shares no code with the product: it writes the AWS
//! formats with its own small writers, so when `dora-evidence build` reads the sample back
//! into the counts of `ground-truth.json`, the agreement is a real check. The product's
//! `samples` subcommand only parses the command line and calls [`generate`].
//!
//! The bank is "Nordhafen Bank AG": three accounts (core-banking 111122223333, payments
//! 444455556666, shared-services 777788889999) in eu-central-1 and eu-west-1, 45 resources
//! at scale 1 (EC2, EBS, RDS, Aurora, DynamoDB, EFS, S3 and one CloudFormation stack), jobs
//! from 2026-06-26 to 2026-10-04 around the period 2026-Q3. Under `out/` it writes:
//!
//! * `input/Backup/<account>/<region>/<yyyy>/<mm>/<dd>/<plan>/…json` — daily current-account
//!   JSON job reports (core-banking), and the daily control / weekly resource compliance
//!   reports (core-banking, eu-central-1);
//! * `input/Backup/crossaccount/<region>/…csv` — daily organisation-wide CSV job reports and
//!   weekly compliance CSVs, with the schema drift listed in `ground-truth.json`
//!   (`schema_drift`): BOM + CRLF, quoted headers, `[...]` suffixes, a snake_case month,
//!   the old single `reportTimePeriod`, missing `vaultType`, `Path To Root`;
//! * `input/collected/<account>/<region>/<timestamp>/<operation>.json` — weekly AWS CLI
//!   snapshots (jobs of the last 8 days, vaults, legal holds, restore testing, recovery
//!   points, alarms, tags), ISO times or epoch floats (payments);
//! * `input/audit-manager/<assessment>-<id>.zip` — an Audit Manager assessment report;
//! * `input/notes.txt`, `input/collected/.keep` — files a reader should list as unclassified;
//! * `ground-truth.json` — facts counted from the generator's model (not from the files);
//! * `README.md` — what the sample contains.
//!
//! With [`Quarter::Q2`] (`dora-evidence samples --quarter 2026-Q2`) it writes the quarter before,
//! for trend reports (`build --previous`, `dora-evidence diff`): the same estate and jobs written
//! 91 days (13 weeks) earlier, with four of Q3's problems not yet present and four others that
//! Q3 no longer has (`quarter.rs`; listed in the README and in `ground-truth.json` →
//! `quarter_differences`). The default, Q3, is the bundled `samples/` tree, unchanged.
//!
//! Design: jobs are a pure function of (seed, resource, day) (see `jobs.rs`), so
//! each writer regenerates the few days it needs and nothing is held in memory beyond one
//! day's jobs and one small record per resource; rows are written as they are generated.
//! Output is byte-identical for the same scale and seed (fixed times, ordered iteration,
//! fixed zip entry times).
//!
//! Volume: scale N has 45·N resources (same accounts and Regions), and every job count grows
//! linearly with N: about 4 330·N distinct jobs and 12 130·N job rows (report rows + snapshot
//! items). Scale 1 writes 2 489 files; each step of N adds 18 (the malware scans that come one
//! bare JSON object per file, as in AWS's published example) while the other files grow.
//! Measured before the policy, alert-path and scan files were added (release build, shared
//! 2-core VM):
//!
//! | scale | distinct jobs | job rows | size | time | peak RSS |
//! |---|---|---|---|---|---|
//! | 1 | 4 518 | 12 671 | 19.9 MB (2.0 MB as .tgz) | 0.45 s | 4 MB |
//! | 120 | 519 000 (≈ 0.5 M) | 1.46 M | 2.2 GB | 7.8 s | 9 MB |
//! | 825 | 3.57 M | 10.0 M | 14.9 GB | 52 s (33 s CPU) | 43 MB |

#![warn(missing_docs)]
#![forbid(unsafe_code)]
#![warn(unreachable_pub)]

use std::fs;
use std::io;
use std::path::PathBuf;

mod alerts;
mod audit_manager;
mod compliance;
mod jobs;
mod model;
mod out;
mod plans;
mod protection;
mod quarter;
mod reports;
mod scans;
pub mod scratch;
mod snapshots;
mod truth;

use model::{FIRST_DAY, LAST_DAY, Model};
use out::Out;
pub use quarter::Quarter;
use truth::{LAST_REPORT_DAY, Truth};

/// What to generate.
#[derive(Debug, Clone)]
pub struct SampleOptions {
    /// Size multiplier: scale N has N times the resources (and jobs) of scale 1. 0 counts as 1.
    pub scale: u32,
    /// Seed of every random choice; same scale and seed give a byte-identical tree.
    pub seed: u64,
    /// Output folder; must not exist or be empty.
    pub out: PathBuf,
    /// The quarter to write: 2026-Q3 (the bundled sample) or 2026-Q2 (the quarter before, for
    /// trend reports and `dora-evidence diff`).
    pub quarter: Quarter,
}

/// What was written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SampleSummary {
    /// Files written (all of them, including `ground-truth.json` and `README.md`).
    pub files: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Distinct backup jobs (parent jobs of composite backups included).
    pub backup_jobs: u64,
    /// Distinct copy jobs.
    pub copy_jobs: u64,
    /// Distinct restore jobs (restore tests included).
    pub restore_jobs: u64,
    /// Restore jobs started by a restore testing plan.
    pub restore_tests: u64,
    /// Resources of the estate (including the one not in any backup plan).
    pub resources: u64,
    /// Job rows and items written over all job reports and job snapshots.
    pub job_rows: u64,
}

/// Writes the sample tree under `opts.out`.
///
/// # Errors
///
/// `AlreadyExists` when `opts.out` exists and is not an empty folder; any I/O error while
/// writing (the tree is then incomplete).
pub fn generate(opts: &SampleOptions) -> io::Result<SampleSummary> {
    check_out_dir(&opts.out)?;
    fs::create_dir_all(&opts.out)?;
    let m = Model::build(opts.seed, opts.scale.max(1), opts.quarter);
    let mut out = Out::new(&opts.out, opts.quarter);
    let mut truth = Truth::new(&m);
    let all: Vec<u32> = (0..m.resources.len() as u32).collect();
    let plans: Vec<usize> = (0..m.restore_plans.len()).collect();
    let mut day_jobs = Vec::new();
    let mut scratch = Vec::new();

    for day in FIRST_DAY..=snapshots::LAST_SNAPSHOT_DAY {
        if day <= LAST_DAY {
            day_jobs.clear();
            jobs::jobs_of_day(&m, &all, &plans, day, &mut day_jobs);
            for job in &day_jobs {
                truth.add(&m, job);
            }
        }
        if (FIRST_DAY + 1..=LAST_REPORT_DAY).contains(&day) {
            reports::write_job_reports(&m, &mut out, day, &mut scratch)?;
            compliance::write_compliance(&m, &truth, &mut out, day)?;
        }
        if snapshots::is_snapshot_day(day) {
            snapshots::write_snapshots(&m, &mut out, day, &mut scratch)?;
        }
    }
    audit_manager::write_zip(&m, &mut out)?;
    snapshots::write_integrity(&mut out, &format!("{}.zip", audit_manager::assessment_folder(&m)))?;
    scans::write_scans(&m, &mut out)?;
    out.write_file("input/collected/.keep", b"")?;
    out.write_file("input/notes.txt", NOTES.as_bytes())?;

    let (input_files, input_bytes) = (out.files, out.bytes);
    let gt = truth.to_json(&m, input_files, input_bytes);
    out.write_json("ground-truth.json", &gt)?;
    let summary = SampleSummary {
        files: 0,
        bytes: 0,
        backup_jobs: truth.backup_jobs(),
        copy_jobs: truth.copy_jobs(),
        restore_jobs: truth.restore_jobs(),
        restore_tests: truth.restore_tests(),
        resources: m.exists.iter().filter(|e| **e).count() as u64,
        job_rows: out.job_rows,
    };
    out.write_file("README.md", readme(&m, &summary, input_files, input_bytes).as_bytes())?;
    Ok(SampleSummary { files: out.files, bytes: out.bytes, ..summary })
}

fn check_out_dir(dir: &std::path::Path) -> io::Result<()> {
    match fs::metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
        Ok(meta) if !meta.is_dir() => Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} exists and is not a folder; choose a new output folder", dir.display()),
        )),
        Ok(_) => {
            if fs::read_dir(dir)?.next().is_some() {
                Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!(
                        "{} exists and is not empty; samples are only written into a new or empty folder",
                        dir.display()
                    ),
                ))
            } else {
                Ok(())
            }
        }
    }
}

const NOTES: &str = "Operator notes (Backup ops, Nordhafen Bank AG)\n\n\
2026-07-21  S3 statements bucket backups failed 07-20/07-21: role nordhafen-backup-s3 lost S3 read\n\
            permissions in the IAM clean-up; fixed by J. Keller 07-21 16:40.\n\
2026-08-13  core-customer-db back to normal after the storage-full incident (INC-4471).\n\
2026-08-17  cross-account copy of payments-sepa-db failed: central vault KMS key policy; CHG-2290.\n\
These notes are not evidence; the collector keeps them as unclassified files.\n";

fn readme(m: &Model, s: &SampleSummary, input_files: u64, input_bytes: u64) -> String {
    let text = readme_q3(m, s, input_files, input_bytes);
    if m.quarter == Quarter::Q3 { text } else { quarter::readme(m, &text) }
}

/// The README of the bundled 2026-Q3 sample.
fn readme_q3(m: &Model, s: &SampleSummary, input_files: u64, input_bytes: u64) -> String {
    format!(
        "# Sample evidence: Nordhafen Bank AG, 2026-Q3 (fictional)\n\n\
Generated by `dora-evidence samples --scale {scale} --seed {seed} --out samples`; the same command\n\
always writes a byte-identical tree. Every account id, ARN, name and number here is invented.\n\n\
## Contents\n\n\
- {res} resources in 3 accounts (111122223333 core-banking, 444455556666 payments,\n  \
777788889999 shared-services) × 2 Regions (eu-central-1, eu-west-1), jobs from 2026-06-26 to 2026-10-04.\n\
- {b} backup jobs, {c} copy jobs, {r} restore jobs of which {t} restore tests; {rows} job rows\n  \
over all reports and snapshots; {inf} input files, {inb} bytes.\n\n\
| path | what |\n|---|---|\n\
| `input/Backup/<account>/<region>/yyyy/mm/dd/<plan>/*.json` | current-account Backup Audit Manager reports (core-banking): daily BACKUP/COPY/RESTORE_JOB_REPORT; daily CONTROL_ and weekly RESOURCE_COMPLIANCE_REPORT (eu-central-1) |\n\
| `input/Backup/crossaccount/<region>/yyyy/mm/dd/<plan>/*.csv` | organisation-wide CSV reports: daily job reports, weekly (Monday) compliance reports |\n\
| `input/collected/<account>/<region>/<time>/<operation>.json` | weekly (Wednesday 06:00 UTC) AWS CLI output: list-backup-jobs, list-copy-jobs, list-restore-jobs (jobs of the last 8 days), list-backup-vaults, describe-backup-vault-*, list-legal-holds, list-restore-testing-plans/-selections, list-recovery-points-by-backup-vault-*, describe-alarms, get-resources; in the first snapshot only (`collect` stores a document again only when it changes): list-backup-plans, get-backup-plan-*, list-backup-selections-*, get-backup-selection-* (one selection per plan, by the `backup-plan` tag), get-backup-vault-access-policy-* (every vault but one), list-backup-vaults-logically-air-gapped (empty; in every snapshot of 777788889999/eu-central-1, which holds the air-gapped vault); in the last snapshot only: list-protected-resources |\n\
| `input/Backup/…/daily_malware_scans/*.json`, `input/Backup/crossaccount/…/org_malware_scans/*.csv`, `list-scan-jobs.json` | GuardDuty malware scans (MALWARE_JOB_REPORT) of the newest recovery point of every EBS volume, EC2 instance and S3 bucket on the 5th of July, August and September: organisation-wide CSV reports; core-banking JSON reports (eu-central-1: one bare object per scan, the shape of AWS's published example, part-numbered; eu-west-1: `reportItems`); `list-scan-jobs.json` in shared-services' weekly snapshots |
| `input/audit-manager/*.zip` | an AWS Audit Manager assessment report (summary PDF, digest, evidence); Audit Manager's own check of it (`validate-assessment-report-integrity.json`, as `collect` writes it) is in the last snapshot of 111122223333/eu-central-1 |\n\
| `input/notes.txt`, `input/collected/.keep` | not evidence: to be listed as unclassified |\n\
| `ground-truth.json` | the expected facts, counted by the generator itself |\n\n\
A daily report delivered on day D covers [D-1 00:00, D 00:00) UTC and also lists the jobs still\n\
active at 02:00 on D, so jobs running across midnight are RUNNING in one report and COMPLETED in the next.\n\n\
## Ground truth\n\n\
`ground-truth.json` is counted from the generator's model as it writes the files, never read back from them,\n\
under the evidence semantics v2 (see `../README.md`):\n\n\
- jobs by final state, all and created in the period; parent jobs (flagged `IsParent`/`isParentJob`, and named by\n  \
their children's parent job id) are listed apart and not counted, their children are;\n\
- per resource, `max_exposure_ms_in_period` (and `_hours`, rounded): the largest age of the newest recovery point\n  \
over the quarter. Recovery points are the completions of COMPLETED non-parent backups whatever their creation time;\n  \
before the first one in the quarter the age runs from the latest earlier completion the files hold\n  \
(`latest_recovery_point_before_period`; jobs start on 2026-06-26), else from the period start; after the last one\n  \
it runs to the period end; `null` when nothing completed in the quarter (the stack, whose own jobs are parents, and\n  \
the table in no backup plan), which breaches any RPO;\n\
- `resources.rpo_breaches_with_catch_all_target_of_hours`: resources over an RPO of N hours, `null` ones included\n  \
(every resource is in the tag inventory, so a catch-all target considers all of them).\n\n\
The files hold no unreadable field and no job with two different final states at one observation time, so the\n\
v2 rules on bad fields and conflicts leave every count here unchanged.\n\n\
## Scenarios (job ids in `ground-truth.json` → `scenarios`)\n\n\
- S3 backups of `nordhafen-core-statements-prod` FAILED on 07-20 and 07-21 (backup role lacks S3 permissions, `MessageCategory` AccessDenied).\n\
- `core-customer-db` (gold RDS) misses its RPO: FAILED 08-10, EXPIRED 08-11 (start window closed), FAILED 08-12.\n\
- An ABORTED backup (`payments-gw-01`, 09-03); a Windows backup COMPLETED with a VSS status message (`ad-dc-01`, 08-19).\n\
- `core-shared-fs` backup of 08-06 runs past 02:00: RUNNING in the 08-07 report, COMPLETED in the 08-08 one.\n\
- A CloudFormation stack backup (parent job + 2 child jobs) each Sunday; on 08-23 one child FAILED and the parent is PARTIAL.\n\
- Daily cross-Region copies of gold resources; weekly cross-account copies to 777788889999; the payments-sepa-db copy of 08-16 FAILED (KMS key policy).\n\
- Restore tests: validation SUCCESSFUL, FAILED (core-ledger-db 08-04), TIMED_OUT (payments-clearing-aurora 09-08), a FAILED restore\n  \
(core-reporting-db 07-23), one over 2 hours (core-accounts-aurora 07-07), one VALIDATING in a snapshot and SUCCESSFUL in the next (payments-sepa-db 09-09);\n  \
restore reports carry no restore-testing fields, snapshots do (core-ledger-db 07-14 is in both).\n\
- No restore testing plan in payments and shared-services eu-west-1; candidates (`restore_testing_candidate=true`) never tested there,\n  \
nor the DynamoDB candidate of core-banking eu-central-1 (not in any selection).\n\
- Vault locks: compliance mode (LockDate in the past), governance mode (Locked, no LockDate), unlocked vaults.\n\
- Legal holds: one ACTIVE, one CANCELED on 2026-08-03. Alarms on NumberOfBackupJobsFailed with SNS actions in core-banking and payments,\n  \
one without action (payments eu-west-1), none in shared-services.\n\
- One DynamoDB table in no backup plan; one unencrypted EBS volume; operator restores on 08-19 and 09-15.\n\
- Backup policy (`policy_covers_targets`, with the example config): the table in no backup plan (`payments-tmp-import`)\n\
  is named as in no plan, and the silver table `payments-fx-rates` (eu-west-1), selected into the bronze weekly plan,\n\
  as in a plan whose rule runs only every 168 h against its 26 h RPO; the check fails.\n\
- Vault protection (`vault_protection`, with the example config): every vault's access policy denies\n\
  `backup:DeleteRecoveryPoint` to everyone except `nordhafen-payments-standard` (444455556666, eu-central-1), which has\n\
  no access policy and no Vault Lock and holds the silver recovery points of that account and Region: it is the one\n\
  vault named, and the check fails. The shared-services `nordhafen-central-vault` of eu-central-1 is logically\n\
  air-gapped (listed by `list-backup-vaults --by-vault-type LOGICALLY_AIR_GAPPED_BACKUP_VAULT`, its own file) and\n\
  receives the weekly cross-account copies of that Region's gold and silver resources.\n\
- Malware scans (`malware_scans`): {infected}; every other scan is clean, so the check fails naming exactly that\n\
  recovery point.\n\
- Alert paths (`failure_detection`; ground truth → `alert_paths`): the first snapshot of each account and Region holds\n\
  `list-rules`, `list-targets-by-rule-*`, `get-backup-vault-notifications-*` and `list-subscriptions-by-topic-*`\n\
  (endpoints masked, as `collect` stores them). Failed jobs reach a confirmed subscriber through alarms, vault\n\
  notifications (core-banking; payments eu-west-1, whose alarm has no action) and EventBridge rules (payments\n\
  eu-central-1; shared-services eu-central-1, which has no alarm, and whose rule also targets a Lambda function that\n\
  does not count). Shared-services eu-west-1 alerts only through the rule `nordhafen-platform-backup-failed`, whose\n\
  topic `nordhafen-platform-alerts` has one subscription pending confirmation: the check fails and names exactly that\n\
  Region (`777788889999/eu-west-1: failed backup, restore jobs reach no confirmed subscriber`) and that topic\n\
  (`… has no confirmed subscriber (1 pending)`).\n",
        scale = m.scale,
        seed = m.seed,
        res = s.resources,
        b = s.backup_jobs,
        c = s.copy_jobs,
        r = s.restore_jobs,
        t = s.restore_tests,
        rows = s.job_rows,
        inf = input_files,
        inb = input_bytes,
        infected = scans::planted(m),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};
    use std::sync::OnceLock;

    use serde_json::{Value, json};

    use super::*;

    fn files(root: &Path) -> BTreeMap<String, Vec<u8>> {
        walkdir::WalkDir::new(root)
            .sort_by_file_name()
            .into_iter()
            .map(|e| e.unwrap())
            .filter(|e| e.file_type().is_file())
            .map(|e| (e.path().strip_prefix(root).unwrap().to_string_lossy().into_owned(), fs::read(e.path()).unwrap()))
            .collect()
    }

    /// One scale-1 tree shared by the content tests.
    fn sample() -> &'static (PathBuf, SampleSummary) {
        static SAMPLE: OnceLock<(PathBuf, SampleSummary)> = OnceLock::new();
        SAMPLE.get_or_init(|| {
            let out = crate::scratch::shared_dir("scale-1").unwrap().join("samples");
            let s = generate(&SampleOptions { scale: 1, seed: 2026, out: out.clone(), quarter: Quarter::Q3 }).unwrap();
            (out, s)
        })
    }

    fn root() -> PathBuf {
        sample().0.clone()
    }

    fn read(rel: &str) -> String {
        fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    /// A JSON file of the tree.
    fn json(rel: &str) -> Value {
        serde_json::from_str(&read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    fn truth() -> Value {
        json("ground-truth.json")
    }

    /// The first job of scenario `key` in the ground truth, and its id.
    fn scenario_job(key: &str) -> (Value, String) {
        let job = truth()["scenarios"][key][0].clone();
        let id = job["job_id"].as_str().unwrap_or_else(|| panic!("scenario {key} has no job")).to_string();
        (job, id)
    }

    /// All files whose relative path contains every one of `parts`.
    fn find(parts: &[&str]) -> Vec<String> {
        files(&root()).into_keys().filter(|k| parts.iter().all(|p| k.contains(p))).collect()
    }

    #[test]
    fn same_seed_same_bytes_and_a_small_tree() {
        let (_, s) = sample();
        let other = tempfile::tempdir().unwrap();
        let s2 =
            generate(&SampleOptions { scale: 1, seed: 2026, out: other.path().to_path_buf(), quarter: Quarter::Q3 })
                .unwrap();
        assert_eq!(*s, s2);
        let (a, b) = (files(&root()), files(other.path()));
        assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
        for (k, v) in &a {
            assert!(v == &b[k], "{k} differs");
        }
        assert_eq!(a.len() as u64, s.files);
        assert_eq!(a.values().map(|v| v.len() as u64).sum::<u64>(), s.bytes);
        assert!(s.bytes < 25_000_000 && s.files < 2_500, "{s:?}");
        assert!(s.resources >= 40 && s.backup_jobs > 2500 && s.restore_tests > 100, "{s:?}");
    }

    #[test]
    fn another_seed_other_ids() {
        let dir = tempfile::tempdir().unwrap();
        generate(&SampleOptions { scale: 1, seed: 7, out: dir.path().to_path_buf(), quarter: Quarter::Q3 }).unwrap();
        let a = fs::read(root().join("ground-truth.json")).unwrap();
        let b = fs::read(dir.path().join("ground-truth.json")).unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn refuses_a_non_empty_folder() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("x"), b"x").unwrap();
        let err = generate(&SampleOptions { scale: 1, seed: 1, out: dir.path().to_path_buf(), quarter: Quarter::Q3 })
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert!(err.to_string().contains("not empty"));
        let file = dir.path().join("x");
        assert_eq!(
            generate(&SampleOptions { scale: 1, seed: 1, out: file, quarter: Quarter::Q3 }).unwrap_err().kind(),
            io::ErrorKind::AlreadyExists
        );
    }

    #[test]
    fn ground_truth_names_every_scenario() {
        let t = truth();
        for key in [
            "s3_backup_access_denied",
            "rds_rpo_miss",
            "backup_aborted",
            "backup_completed_with_issues",
            "backup_running_across_midnight",
            "cross_account_copy_failed",
            "parent_job_partial",
            "restore_test_validation_failed",
            "restore_test_validation_timed_out",
            "restore_test_restore_failed",
            "restore_test_over_2h_rto",
            "restore_test_validating_then_successful",
            "restore_test_in_report_and_snapshot",
            "operator_restores",
            "unprotected_resource",
            "unencrypted_resource",
            "never_tested_candidates",
        ] {
            assert!(t["scenarios"].get(key).is_some(), "scenario {key} missing");
        }
        let rpo = t["scenarios"]["rds_rpo_miss"].as_array().unwrap();
        let states: Vec<&str> = rpo.iter().map(|j| j["final_state"].as_str().unwrap()).collect();
        assert_eq!(states, ["FAILED", "EXPIRED", "FAILED"]);
        let v = &t["restore_tests"]["in_period_by_validation"];
        for s in ["SUCCESSFUL", "FAILED", "TIMED_OUT", "ABSENT"] {
            assert!(v[s].as_u64().unwrap() > 0, "{s}");
        }
        assert_eq!(t["restore_testing"]["account_regions_without_plan"].as_array().unwrap().len(), 2);
        let untested = t["candidates"]["without_passing_test_in_period"].as_array().unwrap();
        assert!(untested.len() >= 3 && untested.len() < t["candidates"]["total"].as_u64().unwrap() as usize);
        assert!(t["restore_tests"]["in_period_completed_longer_than_120_minutes"].as_u64().unwrap() > 0);
        assert!(t["running_then_completed"]["in_reports"]["backup"]["count"].as_u64().unwrap() > 0);
        assert!(t["running_then_completed"]["in_snapshots"]["backup"]["count"].as_u64().unwrap() > 0);
        let modes: Vec<&str> =
            t["vaults"].as_array().unwrap().iter().map(|v| v["lock_mode"].as_str().unwrap()).collect();
        assert!(modes.contains(&"compliance") && modes.contains(&"governance") && modes.contains(&"none"));
        let parent = &t["scenarios"]["parent_job_partial"].as_array().unwrap();
        assert!(parent.iter().any(|j| j["final_state"] == "PARTIAL" && j["job"] == "backup (parent)"));
        let gap = t["resources"]["list"].as_array().unwrap().iter().find(|r| r["name"] == "core-customer-db").unwrap();
        assert!(gap["max_exposure_hours_in_period"].as_f64().unwrap() > 90.0);
    }

    /// Milliseconds of an AWS CLI time: ISO 8601 (CLI v2) or epoch seconds (CLI v1).
    fn cli_ms(v: &Value) -> i64 {
        match v {
            Value::String(s) => chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis(),
            Value::Number(n) => (n.as_f64().unwrap() * 1000.0).round() as i64,
            _ => panic!("not a time: {v}"),
        }
    }

    /// The ground truth's RPO exposure (DESIGN §6 v2), counted from the model, against the same
    /// rule applied here to the backup jobs the written snapshots list: recovery points are the
    /// completions of COMPLETED backups that are neither flagged as parents nor named as one.
    #[test]
    fn rpo_exposure_in_ground_truth_follows_the_written_snapshots() {
        let t = truth();
        let (start, end) = (chrono_ms("2026-07-01T00:00:00Z"), chrono_ms("2026-10-01T00:00:00Z"));
        let mut done: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
        let mut parents = std::collections::BTreeSet::new();
        for f in find(&["input/collected/", "/list-backup-jobs.json"]) {
            let v: Value = json(&f);
            for j in v["BackupJobs"].as_array().unwrap() {
                if let Some(p) = j["ParentJobId"].as_str() {
                    parents.insert(p.to_string());
                }
                if j["IsParent"] == true {
                    parents.insert(j["BackupJobId"].as_str().unwrap().to_string());
                }
                if j["State"] == "COMPLETED" {
                    let arn = j["ResourceArn"].as_str().unwrap().to_string();
                    let id = j["BackupJobId"].as_str().unwrap().to_string();
                    done.entry(arn).or_default().insert(id, cli_ms(&j["CompletionDate"]));
                }
            }
        }
        let list = t["resources"]["list"].as_array().unwrap();
        let mut before_seen = 0;
        for r in list {
            let arn = r["arn"].as_str().unwrap();
            let points: Vec<(i64, &String)> = done
                .get(arn)
                .map(|m| m.iter().filter(|(id, _)| !parents.contains(*id)).map(|(id, &e)| (e, id)).collect())
                .unwrap_or_default();
            let before = points.iter().filter(|p| p.0 < start).max();
            let mut inside: Vec<i64> = points.iter().map(|p| p.0).filter(|e| (start..end).contains(e)).collect();
            inside.sort_unstable();
            let exposure = inside.first().map(|&first| {
                let gaps = inside.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);
                (first - before.map_or(start, |b| b.0)).max(gaps).max(end - inside[inside.len() - 1])
            });
            assert_eq!(r["max_exposure_ms_in_period"].as_i64(), exposure, "{arn}");
            assert_eq!(r["recovery_points_in_period"].as_u64(), Some(inside.len() as u64), "{arn}");
            let want = before.map(|b| b.1.as_str());
            assert_eq!(r["latest_recovery_point_before_period"]["job_id"].as_str(), want, "{arn}");
            before_seen += usize::from(want.is_some());
        }
        // Daily and Sunday backups from 26 June on precede the quarter; the Wednesday ones do not.
        assert!(before_seen >= 25 && before_seen < list.len(), "{before_seen}");
        let breaches = &t["resources"]["rpo_breaches_with_catch_all_target_of_hours"];
        let none = list.iter().filter(|r| r["max_exposure_ms_in_period"].is_null()).count();
        assert_eq!(none as u64, t["resources"]["without_recovery_point_in_period"]["count"].as_u64().unwrap());
        assert_eq!(none, 2, "the stack (parent jobs only) and the table in no backup plan");
        for h in ["24", "26", "168", "192"] {
            let over = h.parse::<i64>().unwrap() * 3_600_000;
            let n = list.iter().filter(|r| r["max_exposure_ms_in_period"].as_i64().is_none_or(|e| e > over)).count();
            assert_eq!(breaches[h].as_u64(), Some(n as u64), "{h} h");
        }
        assert_eq!(t["backup_jobs"]["parents"]["flagged_in_no_file_known_by_reference_only"], 0);
    }

    fn chrono_ms(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
    }

    #[test]
    fn running_across_midnight_is_running_then_completed_in_reports() {
        let (_, id) = scenario_job("backup_running_across_midnight");
        let id = id.as_str();
        let running = find(&["crossaccount/eu-central-1/2026/08/07/org_backup_jobs"]);
        let done = find(&["crossaccount/eu-central-1/2026/08/08/org_backup_jobs"]);
        let row = |rel: &str| read(rel).lines().find(|l| l.contains(id)).unwrap().to_string();
        assert!(row(&running[0]).contains(",RUNNING,"));
        assert!(row(&done[0]).contains(",COMPLETED,"));
        // The AWS quirk: jobRunTime is a timestamp while running, HH:MM:SS when done.
        assert!(row(&running[0]).contains("2026-08-07T02:00:00.010Z"));
    }

    #[test]
    fn restore_test_without_plan_in_report_with_plan_in_snapshot() {
        let (job, id) = scenario_job("restore_test_in_report_and_snapshot");
        let id = id.as_str();
        let report = find(&["111122223333/eu-central-1/2026/07/15/daily_restore_jobs"]);
        let text = read(&report[0]);
        assert!(
            text.contains(id) && text.contains("\"reportTimePeriod\":\"2026-07-14T00:00:00Z - 2026-07-15T00:00:00Z\"")
        );
        assert!(!text.contains("restoreTestingPlanArn") && !text.contains("validationStatus"));
        let snap: Value = json("input/collected/111122223333/eu-central-1/2026-07-15T06:00:00Z/list-restore-jobs.json");
        let item = snap["RestoreJobs"].as_array().unwrap().iter().find(|j| j["RestoreJobId"] == id).unwrap();
        assert_eq!(item["CreatedBy"]["RestoreTestingPlanArn"], job["restore_testing_plan_arn"]);
        assert_eq!(item["ValidationStatus"], "SUCCESSFUL");
    }

    #[test]
    fn validating_then_successful_across_snapshots() {
        let (_, id) = scenario_job("restore_test_validating_then_successful");
        let id = id.as_str();
        let status = |at: &str| {
            let snap: Value = json(&format!("input/collected/444455556666/eu-central-1/{at}/list-restore-jobs.json"));
            let item =
                snap["RestoreJobs"].as_array().unwrap().iter().find(|j| j["RestoreJobId"] == id).unwrap().clone();
            assert!(item["CreationDate"].is_f64(), "payments snapshots use epoch seconds");
            item["ValidationStatus"].as_str().unwrap().to_string()
        };
        assert_eq!(status("2026-09-09T06:00:00Z"), "VALIDATING");
        assert_eq!(status("2026-09-16T06:00:00Z"), "SUCCESSFUL");
    }

    #[test]
    fn csv_schema_drift() {
        let west = find(&["crossaccount/eu-west-1/2026/08/20/org_copy_jobs"]);
        let bytes = fs::read(root().join(&west[0])).unwrap();
        assert!(bytes.starts_with("\u{feff}\"Report Time Period Start\"".as_bytes()));
        assert!(bytes.windows(2).any(|w| w == b"\r\n"));
        assert!(!String::from_utf8_lossy(&bytes).contains("Vault Type"));
        let july = read(&find(&["crossaccount/eu-central-1/2026/07/20/org_backup_jobs"])[0]);
        assert!(july.starts_with("report_time_period_start,report_time_period_end,path_to_root,account_id"));
        let aug = read(&find(&["crossaccount/eu-central-1/2026/08/20/org_backup_jobs"])[0]);
        assert!(aug.starts_with("Report Time Period Start,Report Time Period End,Path To Root,\"Account ID\""));
        assert!(aug.contains("\"Job Run Time [HH:MM:SS]\"") && aug.contains("Vault Type"));
        let restore = read(&find(&["crossaccount/eu-central-1/2026/07/20/org_restore_jobs"])[0]);
        assert!(restore.starts_with("Report Time Period,Path To Root"));
        let denied = read(&find(&["crossaccount/eu-central-1/2026/07/21/org_backup_jobs"])[0]);
        assert!(denied.contains("\"Access Denied to S3 bucket nordhafen-core-statements-prod: the IAM role arn:aws:iam::111122223333:role/nordhafen-backup-s3 is missing s3:GetObject,"));
    }

    #[test]
    fn snapshots_and_other_inputs() {
        let dir = "input/collected/111122223333/eu-central-1/2026-08-12T06:00:00Z";
        let jobs: Value = json(&format!("{dir}/list-backup-jobs.json"));
        let jobs = jobs["BackupJobs"].as_array().unwrap();
        assert!(jobs.iter().any(|j| j["State"] == "FAILED" && j["ResourceName"] == "core-customer-db"));
        assert!(jobs.iter().any(|j| j["IsParent"] == true));
        assert!(jobs[0]["CreationDate"].as_str().unwrap().ends_with("+00:00"));
        let vaults: Value = json(&format!("{dir}/list-backup-vaults.json"));
        let gold = vaults["BackupVaultList"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["BackupVaultName"] == "nordhafen-core-gold")
            .unwrap();
        assert_eq!(gold["Locked"], true);
        assert!(gold["LockDate"].is_string());
        let holds: Value = json(&format!("{dir}/list-legal-holds.json"));
        let statuses: Vec<&str> =
            holds["LegalHolds"].as_array().unwrap().iter().map(|h| h["Status"].as_str().unwrap()).collect();
        assert_eq!(statuses, ["ACTIVE", "CANCELED"]);
        let alarms: Value = json(&format!("{dir}/describe-alarms.json"));
        assert_eq!(alarms["MetricAlarms"][0]["Namespace"], "AWS/Backup");
        assert_eq!(alarms["MetricAlarms"][0]["StateValue"], "ALARM");
        let tags: Value = json(&format!("{dir}/get-resources.json"));
        assert!(tags["ResourceTagMappingList"][0]["Tags"].as_array().unwrap().iter().any(|t| t["Key"] == "tier"));
        assert!(fs::metadata(root().join(format!("{dir}/describe-backup-vault-nordhafen-core-gold.json"))).is_ok());
        let west_plans =
            read("input/collected/444455556666/eu-west-1/2026-08-12T06:00:00Z/list-restore-testing-plans.json");
        assert!(west_plans.contains("\"RestoreTestingPlans\": []"));

        let zips = find(&["input/audit-manager/", ".zip"]);
        assert_eq!(zips.len(), 1);
        let zip = zip::ZipArchive::new(fs::File::open(root().join(&zips[0])).unwrap()).unwrap();
        let names: Vec<String> = zip.file_names().map(|n| n.unwrap().into_owned()).collect();
        assert!(names.iter().any(|n| n.ends_with("/AssessmentReportSummary.pdf")));
        assert!(names.iter().any(|n| n.ends_with("/digest.txt")));
        assert!(names.iter().filter(|n| n.ends_with(".json")).count() >= 4);
        assert!(read("input/notes.txt").contains("not evidence"));
        assert!(read("README.md").contains("dora-evidence samples --scale 1 --seed 2026 --out samples"));
    }

    #[test]
    fn malware_scans_in_every_shape_with_one_infected_recovery_point() {
        let t = &truth()["malware_scans"];
        let infected = t["infected_recovery_points"].as_array().unwrap();
        assert_eq!(infected.len(), 1);
        assert_eq!(infected[0]["name"], "core-app-01");
        assert_eq!(t["scannable_resources"], t["scannable_resources_scanned"]);
        let rp = infected[0]["recovery_point"].as_str().unwrap();
        // The bare object AWS publishes, one scan per part-numbered file.
        let bare = find(&["111122223333/eu-central-1/2026/08/06/daily_malware_scans/", "_1.json"]);
        assert!(json(&bare[0])["scanJobId"].is_string() && json(&bare[0]).get("reportItems").is_none());
        let parts = find(&["111122223333/eu-central-1/2026/08/06/daily_malware_scans/"]);
        let hit: Vec<Value> = parts.iter().map(|p| json(p)).filter(|v| v["recoveryPointArn"] == rp).collect();
        assert_eq!(hit[0]["scanResultStatus"], "THREATS_FOUND");
        assert!(json(&find(&["111122223333/eu-west-1/2026/08/06/daily_malware_scans/"])[0])["reportItems"].is_array());
        let csv = read(&find(&["crossaccount/eu-central-1/2026/08/06/org_malware_scans/"])[0]);
        assert!(csv.starts_with("Report Time Period Start,Report Time Period End,Account ID,Region,Scan Job ID"));
        assert_eq!(csv.lines().filter(|l| l.contains("THREATS_FOUND") && !l.contains("NO_THREATS")).count(), 1);
        let listing = json("input/collected/777788889999/eu-central-1/2026-08-12T06:00:00Z/list-scan-jobs.json");
        assert!(listing["ScanJobs"][0]["ScanResult"]["ScanResultStatus"].is_string());
        assert!(read("README.md").contains(rp));
    }

    #[test]
    fn compliance_reports_follow_the_model() {
        let day =
            |d: &str| read(&find(&[&format!("111122223333/eu-central-1/2026/08/{d}/daily_control_compliance")])[0]);
        let status = |text: &str, control: &str| {
            let v: Value = serde_json::from_str(text).unwrap();
            v["reportItems"].as_array().unwrap().iter().find(|i| i["controlName"] == control).unwrap()["controlComplianceStatus"]
                .as_str()
                .unwrap()
                .to_string()
        };
        assert_eq!(status(&day("10"), "BACKUP_LAST_RECOVERY_POINT_CREATED"), "COMPLIANT");
        assert_eq!(status(&day("12"), "BACKUP_LAST_RECOVERY_POINT_CREATED"), "NON_COMPLIANT");
        assert_eq!(status(&day("16"), "BACKUP_LAST_RECOVERY_POINT_CREATED"), "COMPLIANT");
        let text = day("13");
        assert!(text.contains(r#""controlParameters":"{\"maxRestoreTime\":\"120\"}""#));
        let resources = find(&["crossaccount/eu-west-1/2026/08/17/org_resource_compliance"]);
        assert!(read(&resources[0]).contains("AWS::EC2::Volume/vol-"));
    }

    /// 2026-Q2 is the Q3 tree 91 days earlier with exactly the planted differences of
    /// `quarter.rs`: what Q3 adds is absent, what Q3 no longer has is present, the rest is equal.
    #[test]
    fn second_quarter_is_q3_thirteen_weeks_earlier_with_the_planted_differences() {
        let dir = tempfile::tempdir().unwrap();
        let opts = SampleOptions { scale: 1, seed: 2026, out: dir.path().to_path_buf(), quarter: Quarter::Q2 };
        let s = generate(&opts).unwrap();
        let (q2, q3) = (files(dir.path()), files(&root()));
        let t: Value = serde_json::from_slice(&q2["ground-truth.json"]).unwrap();
        let t3 = truth();
        let period = &t["period"];
        assert_eq!(
            (&period["id"], &period["start"], &period["end"]),
            (&json!("2026-Q2"), &json!("2026-04-01T00:00:00Z"), &json!("2026-07-01T00:00:00Z"))
        );
        assert_eq!(
            (&period["jobs_from"], &period["jobs_until"]),
            (&json!("2026-03-27T00:00:00Z"), &json!("2026-07-06T00:00:00Z"))
        );
        // The same jobs; one file more (the access policy of nordhafen-payments-standard); no Q3 date in a path.
        assert_eq!(s.backup_jobs, sample().1.backup_jobs);
        assert_eq!((s.resources, q2.len()), (sample().1.resources - 1, q3.len() + 1));
        let policy = "444455556666/eu-central-1/2026-04-01T06:00:00Z/get-backup-vault-access-policy-nordhafen-payments-standard.json";
        assert!(q2.keys().any(|k| k.ends_with(policy)));
        for k in q2.keys() {
            assert!(!["2026/08", "2026-08", "2026/09", "2026-09"].iter().any(|d| k.contains(d)), "{k}");
        }
        // Not yet present in Q2 (new in Q3).
        assert_eq!(t["malware_scans"]["infected_recovery_points"], json!([]));
        assert_eq!(t["vault_protection"]["unprotected_vault"], Value::Null);
        assert_eq!(t["vault_protection"]["vaults_with_deny_policy"], 20);
        assert_eq!(t["alert_paths"]["paths_to_topic_without_confirmed_subscriber"], json!([]));
        assert_eq!(t["backup_policy"]["in_no_plan"], json!([]));
        let tmp = "payments-tmp-import";
        let with_tmp: Vec<&String> =
            q2.iter().filter(|(_, v)| v.windows(tmp.len()).any(|w| w == tmp.as_bytes())).map(|(k, _)| k).collect();
        assert_eq!(with_tmp, ["README.md", "ground-truth.json"]);
        // Only in Q2 (resolved by Q3), with their dates 91 days before the Q3 model days.
        let jobs = |key: &str| t["scenarios"][key].as_array().unwrap_or_else(|| panic!("{key}")).clone();
        let denied = jobs("backup_kms_access_denied");
        let days: Vec<&str> = denied.iter().map(|j| &j["created"].as_str().unwrap()[..10]).collect();
        assert_eq!(days, ["2026-05-25", "2026-05-26", "2026-05-27"]);
        assert!(
            denied
                .iter()
                .all(|j| j["final_state"] == "FAILED" && j["resource_arn"].as_str().unwrap().contains(":file-system/"))
        );
        let batch_fs =
            t["resources"]["list"].as_array().unwrap().iter().find(|r| r["name"] == "payments-batch-fs").unwrap();
        assert!(batch_fs["max_exposure_hours_in_period"].as_f64().unwrap() > 90.0);
        let ad_dc = jobs("restore_tests_of_candidate_failed");
        assert!(ad_dc.len() >= 13 && ad_dc.iter().all(|j| j["final_state"] == "FAILED"));
        let untested = t["candidates"]["without_passing_test_in_period"].as_array().unwrap();
        assert!(
            untested.contains(&ad_dc[0]["resource_arn"])
                && untested.len() == t3["candidates"]["without_passing_test_in_period"].as_array().unwrap().len() + 1
        );
        let over = jobs("restore_test_over_4h_rto");
        assert_eq!(over.len(), 1);
        assert!(
            over[0]["created"].as_str().unwrap().starts_with("2026-05-19")
                && over[0]["duration_minutes"].as_f64().unwrap() > 240.0
        );
        let validation = jobs("restore_tests_of_candidate_validation_failed");
        assert!(validation.len() >= 10 && validation.iter().all(|j| j["validation_status"] == "FAILED"));
        let passed = |t: &Value| {
            t["restore_tests"]["in_period_passed"].as_f64().unwrap()
                / t["restore_tests"]["in_period"]["total"].as_f64().unwrap()
        };
        assert!(passed(&t) < 0.9 && passed(&t3) >= 0.9);
        // Q3 has none of the Q2-only scenarios; the ground truth lists both kinds.
        for key in ["backup_kms_access_denied", "restore_tests_of_candidate_failed", "restore_test_over_4h_rto"] {
            assert!(t3["scenarios"].get(key).is_none(), "{key}");
        }
        let keys = |k: &str| -> Vec<String> {
            t["quarter_differences"][k]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["subject"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(
            keys("new_in_2026_q3"),
            ["core-app-01", "nordhafen-payments-standard", tmp, "777788889999/eu-west-1"]
        );
        assert_eq!(keys("resolved_by_2026_q3"), ["payments-batch-fs", "ad-dc-01", "core-shared-fs", "core-shared-fs"]);
        assert!(t3.get("quarter_differences").is_none());
        let readme = String::from_utf8_lossy(&q2["README.md"]);
        assert!(readme.starts_with("# Sample evidence: Nordhafen Bank AG, 2026-Q2 (fictional)"));
        assert!(readme.contains("--quarter 2026-Q2") && readme.contains("## How 2026-Q2 differs from 2026-Q3"));
        assert!(readme.contains("jobs from 2026-03-27 to 2026-07-05"));
        assert!(readme.contains("(`malware_scans`): every scan is clean in this quarter; the check passes."));
        assert!(readme.contains("get-backup-vault-access-policy-* (every vault)"));
    }
}
