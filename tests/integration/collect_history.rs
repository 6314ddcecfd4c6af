//! `collect` where a real organisation differs from a tidy one, against the replay server:
//! where `ByAccountId="*"` goes, jobs followed to their final state when the listings no
//! longer return them, a store older than the APIs' 30-day history, composite and Metrics
//! Insights alarms, Audit Manager not in use. Each run's request log is what is checked.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::Datelike as _;

use super::collect::{ACCOUNT, aws_env, collect, files_under, moto_conf, organization_member};
use super::replay::{Replay, Req, Resp};
use super::util::{col, read_csv, run, stderr, stdout};

const DAY: f64 = 86_400.0;

fn now() -> f64 {
    chrono::Utc::now().timestamp() as f64
}

/// `2026-Q4` for a time in epoch seconds.
fn quarter_of(secs: f64) -> String {
    let t = chrono::DateTime::from_timestamp(secs as i64, 0).unwrap();
    format!("{}-Q{}", t.year(), (t.month() - 1) / 3 + 1)
}

fn vault(account: &str, region: &str) -> String {
    format!("arn:aws:backup:{region}:{account}:backup-vault:central")
}

/// A backup job in a given state (no completion date unless given).
fn backup_job(id: &str, state: &str, created: f64, completed: Option<f64>) -> String {
    let completion = completed.map(|c| format!(r#""CompletionDate":{c},"#)).unwrap_or_default();
    format!(
        r#"{{"AccountId":"{ACCOUNT}","BackupJobId":"{id}","BackupVaultName":"central","BackupVaultArn":"{}","ResourceArn":"arn:aws:rds:eu-west-1:{ACCOUNT}:db:{id}","ResourceType":"RDS","CreationDate":{created},{completion}"State":"{state}","IsParent":false}}"#,
        vault(ACCOUNT, "eu-west-1")
    )
}

/// Every Backup listing's path and the member that holds its items.
const LISTINGS: &[(&str, &str)] = &[
    ("/backup-vaults", "BackupVaultList"),
    ("/backup-jobs", "BackupJobs"),
    ("/copy-jobs", "CopyJobs"),
    ("/restore-jobs", "RestoreJobs"),
    ("/scan/jobs", "ScanJobs"),
    ("/legal-holds", "LegalHolds"),
    ("/restore-testing/plans", "RestoreTestingPlans"),
    ("/backup/plans", "BackupPlansList"),
    ("/audit/report-plans", "ReportPlans"),
    ("/audit/report-jobs", "ReportJobs"),
    ("/audit/frameworks", "Frameworks"),
    ("/resources", "Results"),
];

/// Empty answers for every Backup listing, an empty alarm page; `None` for anything else.
fn quiet(r: &Req) -> Option<Resp> {
    if r.method == "POST" && r.path == "/service/GraniteServiceVersion20100801/operation/DescribeAlarms" {
        return Some(Resp::cbor(alarms(&[], &[])));
    }
    let (_, member) = LISTINGS.iter().find(|(path, _)| r.method == "GET" && r.path == *path)?;
    Some(Resp::json(format!(r#"{{"{member}":[]}}"#)))
}

fn unknown(r: &Req) -> Resp {
    Resp::error(404, "UnknownOperationException", &format!("replay has no answer for {} {}", r.method, r.path))
}

/// A metric alarm in DescribeAlarms CBOR: (name, metric on AWS/Backup or a Metrics Insights
/// query, with an SNS action?).
struct Metric<'a>(&'a str, &'a str, bool);
/// A composite alarm: (name, rule, with an SNS action?).
struct Composite<'a>(&'a str, &'a str, bool);

fn alarms(metric: &[Metric<'_>], composite: &[Composite<'_>]) -> Vec<u8> {
    let arn = |name: &str| format!("arn:aws:cloudwatch:eu-west-1:{ACCOUNT}:alarm:{name}");
    let sns = format!("arn:aws:sns:eu-west-1:{ACCOUNT}:backup-alerts");
    let mut e = aws_smithy_cbor::Encoder::new(Vec::new());
    e.begin_map();
    e.str("MetricAlarms").begin_array();
    for Metric(name, what, action) in metric {
        e.begin_map();
        e.str("AlarmName").str(name).str("AlarmArn").str(&arn(name));
        e.str("ActionsEnabled").boolean(true).str("StateValue").str("OK");
        if *action {
            e.str("AlarmActions").array(1).str(&sns);
        }
        if what.starts_with("SELECT") {
            e.str("Metrics").array(1).begin_map().str("Id").str("q1").str("Expression").str(what);
            e.str("Period").integer(3600).str("ReturnData").boolean(true).end();
        } else {
            e.str("Namespace").str("AWS/Backup").str("MetricName").str(what).str("Statistic").str("Sum");
            e.str("Period").integer(300);
        }
        e.str("EvaluationPeriods").integer(1).str("Threshold").double(0.0);
        e.str("ComparisonOperator").str("GreaterThanThreshold");
        e.end();
    }
    e.end();
    e.str("CompositeAlarms").begin_array();
    for Composite(name, rule, action) in composite {
        e.begin_map();
        e.str("AlarmName").str(name).str("AlarmArn").str(&arn(name)).str("AlarmRule").str(rule);
        e.str("ActionsEnabled").boolean(true).str("StateValue").str("OK");
        if *action {
            e.str("AlarmActions").array(1).str(&sns);
        }
        e.end();
    }
    e.end();
    e.end();
    e.into_writer()
}

#[test]
fn organization_wide_listing_goes_only_to_list_backup_jobs_from_the_management_account() {
    let conf = moto_conf();
    let member = organization_member(&conf, "ledger-prod");
    let replay = Replay::start(|r: &Req, _| quiet(r).unwrap_or_else(|| unknown(r)));
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let accounts = format!("{ACCOUNT},{member}");
    let args = ["--out", store.to_str().unwrap(), "--regions", "eu-west-1", "--accounts", &accounts];
    let more = ["--assume-role-name", "DoraEvidenceCollector", "--organization-jobs", "--skip", "audit-manager,tags"];
    let out = collect(&replay, &[&args[..], &more[..]].concat());
    let (so, se) = (stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(0), "{so}\n{se}");
    assert!(so.contains(&format!("account {ACCOUNT} is the organization's management account")), "{so}");
    // The request log: `*` only on ListBackupJobs, only with the caller's own credentials.
    let log = replay.requests();
    let jobs = |path: &str| log.iter().filter(|r| r.path == path).cloned().collect::<Vec<Req>>();
    let caller: Vec<Req> = jobs("/backup-jobs").into_iter().filter(|r| r.access_key == "testing").collect();
    let members: Vec<Req> = jobs("/backup-jobs").into_iter().filter(|r| r.access_key != "testing").collect();
    assert!(!caller.is_empty() && caller.iter().all(|r| r.query.get("accountId").map(String::as_str) == Some("*")));
    assert!(!members.is_empty() && members.iter().all(|r| !r.query.contains_key("accountId")), "{members:?}");
    for path in ["/copy-jobs", "/restore-jobs"] {
        let calls = jobs(path);
        assert_eq!(calls.len(), 2, "{path}: one call per account: {calls:?}");
        assert!(calls.iter().all(|r| !r.query.contains_key("accountId")), "{path}: {calls:?}");
    }

    // An account that is neither management nor delegated administrator sends no `*` at all.
    let replay = Replay::start(|r: &Req, _| {
        if r.method == "POST" && r.path == "/" {
            // Organizations (JSON 1.1): DescribeOrganization from an account outside any organization.
            return Resp::error(
                400,
                "AWSOrganizationsNotInUseException",
                "Your account is not a member of an organization.",
            );
        }
        quiet(r).unwrap_or_else(|| unknown(r))
    });
    let mut cmd = super::util::bin();
    cmd.args(["collect", "--out", store.to_str().unwrap(), "--regions", "eu-west-1", "--organization-jobs"]);
    cmd.args(["--skip", "audit-manager,tags"]);
    aws_env(&mut cmd, &replay.url);
    cmd.env("AWS_ENDPOINT_URL_ORGANIZATIONS", &replay.url);
    let out = cmd.output().unwrap();
    let so = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{so}\n{}", stderr(&out));
    assert!(so.contains("cannot tell the caller's standing") && so.contains("jobs listed per account only"), "{so}");
    assert!(replay.requests().iter().all(|r| !r.query.contains_key("accountId")));
}

#[test]
fn jobs_stored_in_a_non_final_state_are_re_read_until_final_and_build_counts_the_final_state() {
    let t0 = now() - 3600.0;
    let phase = Arc::new(AtomicUsize::new(0));
    let p = Arc::clone(&phase);
    let replay = Replay::start(move |r: &Req, _| {
        let first = p.load(Ordering::SeqCst) == 0;
        let copy = |state: &str, done: &str| {
            format!(
                r#"{{"AccountId":"{ACCOUNT}","CopyJobId":"COPY-R","SourceBackupVaultArn":"{}","SourceRecoveryPointArn":"arn:aws:backup:eu-west-1:{ACCOUNT}:recovery-point:rp-1","DestinationBackupVaultArn":"{}","ResourceArn":"arn:aws:rds:eu-west-1:{ACCOUNT}:db:ledger","ResourceType":"RDS","CreationDate":{t0},{done}"State":"{state}"}}"#,
                vault(ACCOUNT, "eu-west-1"),
                vault("999988887777", "eu-south-2")
            )
        };
        let restore = |validation: &str| {
            format!(
                r#"{{"AccountId":"{ACCOUNT}","RestoreJobId":"RESTORE-V","RecoveryPointArn":"arn:aws:backup:eu-west-1:{ACCOUNT}:recovery-point:rp-1","CreationDate":{t0},"CompletionDate":{},"Status":"COMPLETED","ResourceType":"RDS","CreatedBy":{{"RestoreTestingPlanArn":"arn:aws:backup:eu-west-1:{ACCOUNT}:restore-testing-plan:weekly-1"}},"ValidationStatus":"{validation}"}}"#,
                t0 + 900.0
            )
        };
        match (r.method.as_str(), r.path.as_str()) {
            ("GET", "/backup-jobs") if first => {
                Resp::json(format!(r#"{{"BackupJobs":[{}]}}"#, backup_job("JOB-R", "RUNNING", t0, None)))
            }
            ("GET", "/copy-jobs") if first => Resp::json(format!(r#"{{"CopyJobs":[{}]}}"#, copy("RUNNING", ""))),
            ("GET", "/restore-jobs") if first => {
                Resp::json(format!(r#"{{"RestoreJobs":[{}]}}"#, restore("VALIDATING")))
            }
            // Later: the listings no longer return them (created before the window, no
            // completion date since); only Describe*Job knows how they ended.
            ("GET", "/backup-jobs/JOB-R") => Resp::json(backup_job("JOB-R", "EXPIRED", t0, None)),
            ("GET", "/copy-jobs/COPY-R") => Resp::json(format!(
                r#"{{"CopyJob":{}}}"#,
                copy("COMPLETED", &format!(r#""CompletionDate":{},"#, t0 + 600.0))
            )),
            ("GET", "/restore-jobs/RESTORE-V") => Resp::json(restore("SUCCESSFUL")),
            _ => quiet(r).unwrap_or_else(|| unknown(r)),
        }
    });
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let args = ["--out", store.to_str().unwrap(), "--regions", "eu-west-1", "--skip", "audit-manager,tags,alarms"];
    let out = collect(&replay, &args);
    let so = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{so}\n{}", stderr(&out));
    // Copies leave the collected scopes: said, not failed.
    assert!(
        so.contains("1 copy job(s) copy to account 999988887777 Region eu-south-2, which this run does not collect"),
        "{so}"
    );
    // Job listings come before everything else of the scope.
    let paths: Vec<String> = replay.requests().iter().map(|r| r.path.clone()).collect();
    let at = |p: &str| paths.iter().position(|x| x == p).unwrap();
    assert!(at("/restore-jobs") < at("/backup-vaults"), "{paths:?}");

    // Snapshot folders are named by the second: the next run must start in a later one.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    phase.store(1, Ordering::SeqCst);
    let out = collect(&replay, &args);
    assert_eq!(out.status.code(), Some(0), "{}\n{}", stdout(&out), stderr(&out));
    let described = |path: &str| replay.requests().iter().filter(|r| r.path == path).count();
    for path in ["/backup-jobs/JOB-R", "/copy-jobs/COPY-R", "/restore-jobs/RESTORE-V"] {
        assert_eq!(described(path), 1, "{path} re-read once");
    }
    let names: Vec<String> = files_under(&store).iter().map(|f| f.rsplit('/').next().unwrap().to_owned()).collect();
    for f in ["describe-backup-job-JOB-R.json", "describe-copy-job-COPY-R.json", "describe-restore-job-RESTORE-V.json"]
    {
        assert!(names.iter().any(|n| n == f), "{f} missing: {names:?}");
    }
    // Final now: a third run re-reads nothing.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let out = collect(&replay, &args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for path in ["/backup-jobs/JOB-R", "/copy-jobs/COPY-R", "/restore-jobs/RESTORE-V"] {
        assert_eq!(described(path), 1, "{path} is final and not read again");
    }

    // `build` reads the re-read answers: the later observation is the job's state.
    let pkg = tmp.path().join("pkg");
    let q = quarter_of(t0);
    let b = run(&["build", "--input", store.to_str().unwrap(), "--period", &q, "--out", pkg.to_str().unwrap()]);
    assert!(matches!(b.status.code(), Some(0 | 1)), "build: {}", stderr(&b));
    let state_of = |file: &str, id: &str, column: &str| {
        let (h, rows) = read_csv(&pkg.join("evidence").join(file));
        let row = rows.iter().find(|r| col(&h, r, "job_id") == id).unwrap_or_else(|| panic!("{id} not in {file}"));
        col(&h, row, column).to_owned()
    };
    assert_eq!(state_of("backup_jobs.csv", "JOB-R", "state"), "EXPIRED");
    assert_eq!(state_of("copy_jobs.csv", "COPY-R", "state"), "COMPLETED");
    assert_eq!(state_of("restore_jobs.csv", "RESTORE-V", "validation_status"), "SUCCESSFUL");
    let (h, rows) = read_csv(&pkg.join("artifacts.csv"));
    for (name, kind) in [
        ("describe-backup-job-JOB-R.json", "snapshot:BackupJobs"),
        ("describe-copy-job-COPY-R.json", "snapshot:CopyJobs"),
        ("describe-restore-job-RESTORE-V.json", "snapshot:RestoreJobs"),
    ] {
        let row = rows.iter().find(|r| col(&h, r, "origin").ends_with(name)).expect(name);
        assert_eq!((col(&h, row, "kind"), col(&h, row, "parse_status")), (kind, "parsed"), "{name}");
    }
    let metrics: serde_json::Value = serde_json::from_slice(&std::fs::read(pkg.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(metrics["backup_jobs_expired"], 1, "counted as expired, not as still running: {metrics}");
    assert_eq!(metrics["backup_jobs_not_finished"], 0, "{metrics}");
    assert_eq!(metrics["restore_tests_passed"], 1, "{metrics}");
}

#[test]
fn a_store_older_than_the_api_history_makes_collect_exit_1_and_the_package_name_the_gap() {
    let replay = Replay::start(|r: &Req, _| quiet(r).unwrap_or_else(|| unknown(r)));
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let old = now() - 40.0 * DAY;
    let folder = chrono::DateTime::from_timestamp(old as i64, 0).unwrap().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let scope = store.join("collected").join(ACCOUNT).join("eu-west-1").join(&folder);
    std::fs::create_dir_all(&scope).unwrap();
    std::fs::write(scope.join("list-backup-jobs.json"), r#"{"BackupJobs":[]}"#).unwrap();

    let args = ["--out", store.to_str().unwrap(), "--regions", "eu-west-1", "--skip", "audit-manager,tags,alarms"];
    let out = collect(&replay, &args);
    let (so, se) = (stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(1), "{so}\n{se}");
    assert!(
        se.contains(&format!("account {ACCOUNT} Region eu-west-1: collect: HistoryGap: the newest job listing"))
            && se.contains(&format!("is from {folder} (40 days ago)"))
            && se.contains(&format!("between {folder} and ")),
        "{se}"
    );
    // What the APIs still hold was collected anyway.
    assert!(replay.requests().iter().any(|r| r.path == "/restore-jobs"));
    let gap = files_under(&store).into_iter().find(|f| f.ends_with("/collection-gap.json")).expect("gap written down");
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(store.join(&gap)).unwrap()).unwrap();
    assert_eq!(doc["CollectionGap"]["LostFrom"], folder.as_str());
    // A second run right after has nothing more to say about it.
    let again = collect(&replay, &args);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));

    let pkg = tmp.path().join("pkg");
    let q = quarter_of(old + 5.0 * DAY);
    let b = run(&[
        "build",
        "--input",
        store.to_str().unwrap(),
        "--period",
        &q,
        "--out",
        pkg.to_str().unwrap(),
        "--allow-empty",
    ]);
    assert!(matches!(b.status.code(), Some(0 | 1)), "build: {}", stderr(&b));
    let (h, rows) = read_csv(&pkg.join("evidence/collection_gaps.csv"));
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(col(&h, &rows[0], "lost_from"), folder);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(pkg.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["evidence_gaps"][0]["account_id"], ACCOUNT, "{}", manifest["evidence_gaps"]);
    let text = std::process::Command::new("pdftotext").arg(pkg.join("report.pdf")).arg("-").output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout).split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        text.contains("Evidence gaps") && text.contains("Job history could not be collected") && text.contains(ACCOUNT),
        "{text}"
    );
}

#[test]
fn a_composite_alarm_with_an_action_over_a_failed_jobs_alarm_makes_the_alarm_check_pass() {
    let t0 = now() - 7200.0;
    let replay = Replay::start(move |r: &Req, _| match (r.method.as_str(), r.path.as_str()) {
        ("GET", "/backup-jobs") => {
            Resp::json(format!(r#"{{"BackupJobs":[{}]}}"#, backup_job("JOB-OK", "COMPLETED", t0, Some(t0 + 600.0))))
        }
        ("POST", "/service/GraniteServiceVersion20100801/operation/DescribeAlarms") => Resp::cbor(alarms(
            &[
                Metric("backup-failed", "NumberOfBackupJobsFailed", false),
                Metric("insights-failed", r#"SELECT SUM(NumberOfBackupJobsFailed) FROM "AWS/Backup""#, false),
            ],
            &[
                Composite("backup-page", r#"ALARM("backup-failed") AND NOT ALARM("maintenance-window")"#, true),
                Composite("unrelated", r#"ALARM("cpu-high")"#, true),
            ],
        )),
        // Audit Manager never set up here (closed to new customers since 30 April 2026).
        ("GET", "/account/status") => Resp::error(
            403,
            "AccessDeniedException",
            "Please complete AWS Audit Manager setup from home page to enable this action in this account.",
        ),
        _ => quiet(r).unwrap_or_else(|| unknown(r)),
    });
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let out = collect(&replay, &["--out", store.to_str().unwrap(), "--regions", "eu-west-1", "--skip", "tags"]);
    let so = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "Audit Manager not in use is a note: {so}\n{}", stderr(&out));
    assert!(so.contains("note: Audit Manager not in use here"), "{so}");
    let file = files_under(&store).into_iter().find(|f| f.ends_with("/describe-alarms.json")).unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(store.join(file)).unwrap()).unwrap();
    let names = |list: &str| -> Vec<String> {
        doc[list].as_array().unwrap().iter().map(|a| a["AlarmName"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(names("MetricAlarms"), ["backup-failed", "insights-failed"], "Metrics Insights alarm kept");
    assert_eq!(names("CompositeAlarms"), ["backup-page"], "only the composite alarm over a kept alarm");
    let asked = replay.requests().into_iter().find(|r| r.path.ends_with("/DescribeAlarms")).unwrap();
    assert!(asked.body.contains("CompositeAlarm") && asked.body.contains("MetricAlarm"), "both alarm types asked for");

    let pkg = tmp.path().join("pkg");
    let q = quarter_of(t0);
    let b = run(&["build", "--input", store.to_str().unwrap(), "--period", &q, "--out", pkg.to_str().unwrap()]);
    assert!(matches!(b.status.code(), Some(0 | 1)), "build: {}", stderr(&b));
    let findings: serde_json::Value =
        serde_json::from_slice(&std::fs::read(pkg.join("findings.json")).unwrap()).unwrap();
    let check = findings["checks"].as_array().unwrap().iter().find(|c| c["id"] == "failure_alarms").unwrap();
    assert_eq!(check["status"], "pass", "{check}");
    let (h, rows) = read_csv(&pkg.join("evidence/alarms.csv"));
    let row = rows.iter().find(|r| col(&h, r, "alarm_name") == "insights-failed").unwrap();
    assert_eq!(col(&h, row, "backup_metrics"), "NumberOfBackupJobsFailed");
    let row = rows.iter().find(|r| col(&h, r, "alarm_name") == "backup-page").unwrap();
    assert_eq!(col(&h, row, "alarm_type"), "composite");
}
