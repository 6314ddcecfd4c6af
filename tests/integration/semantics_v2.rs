//! Evidence semantics v2 (DESIGN §3) end to end, from a folder and from `--input s3://` on
//! moto: a 70 h backup created on the last evening of the quarter ends COMPLETED from a report
//! dated three days after it; a COMPLETED/FAILED tie at one observation time takes FAILED and
//! is listed in `evidence/conflicts.csv`; a FAILED job whose size is `N/A` still counts as
//! failed; a parent known only from its child's `parentJobId` is not counted; a snapshot is
//! observed at a time that sits in the input root / S3 prefix; a final validation status
//! observed before a VALIDATING one wins.

use std::path::Path;

use aws_sdk_s3::primitives::ByteStream;

use super::util::{bin, col, moto_endpoint, read_csv, stderr};

const HEADER: &str = "\"Report Time Period Start\",\"Report Time Period End\",\"Account ID\",\"Region\",\
\"Backup Job ID\",\"Job Status\",\"Resource Type\",\"Resource ARN\",\"Is Parent Job\",\"Parent Job ID\",\
\"Creation Date\",\"Completion Date\",\"Backup Size in Bytes [Bytes]\"";

const VOL: &str = "arn:aws:ec2:eu-central-1:111122223333:volume";

/// A backup job report row for the report period `(from, to)`; the volume is named after the job.
fn row(period: (&str, &str), id: &str, state: &str, parent: &str, times: (&str, &str), size: &str) -> String {
    let ((from, to), (created, completed), vol) = (period, times, id.to_ascii_lowercase());
    format!(
        "{from},{to},111122223333,eu-central-1,{id},{state},EBS,{VOL}/{vol},,{parent},{created},{completed},{size}\n"
    )
}

/// (path below an input root, content).
type Files = Vec<(String, String)>;

/// The input files, by path below the input root; the second list goes below a root that is
/// itself a time folder (`…/2026-10-02T06:00:00Z/`).
fn inputs() -> (Files, Files) {
    let (d30, o1) = ("2026-09-30T00:00:00Z", "2026-10-01T00:00:00Z");
    let sep30 = |id, state, parent, times, size| row((d30, o1), id, state, parent, times, size);
    // Lines 2..6: the long job, the tie, the N/A size, the parent without a flag, its child.
    let account = [
        HEADER.to_owned() + "\n",
        sep30("LONG-70H", "RUNNING", "", ("2026-09-30T22:00:00Z", ""), ""),
        sep30("TIE-1", "COMPLETED", "", ("2026-09-30T10:00:00Z", "2026-09-30T11:00:00Z"), "100"),
        sep30("NA-1", "FAILED", "", ("2026-09-30T12:00:00Z", "2026-09-30T12:30:00Z"), "N/A"),
        sep30("PARENT-X", "COMPLETED", "", ("2026-09-30T05:00:00Z", "2026-09-30T06:00:00Z"), "10"),
        sep30("CHILD-1", "COMPLETED", "PARENT-X", ("2026-09-30T05:00:00Z", "2026-09-30T05:40:00Z"), "10"),
    ]
    .concat();
    // The organisation's report of the same day says FAILED: a tie at 1 October 00:00.
    let org =
        HEADER.to_owned() + "\n" + &sep30("TIE-1", "FAILED", "", ("2026-09-30T10:00:00Z", "2026-09-30T11:00:00Z"), "");
    // The report of 3 October, delivered on the 4th: 70 h after 30 September 22:00.
    let (o3, o4) = ("2026-10-03T00:00:00Z", "2026-10-04T00:00:00Z");
    let times = ("2026-09-30T22:00:00Z", "2026-10-03T20:00:00Z");
    let done = HEADER.to_owned() + "\n" + &row((o3, o4), "LONG-70H", "COMPLETED", "", times, "5000");
    let restore = |validation: &str| {
        format!(
            r#"{{"RestoreJobs":[{{"AccountId":"111122223333","RestoreJobId":"R-1","Status":"COMPLETED",
            "RecoveryPointArn":"arn:aws:ec2:eu-central-1::snapshot/snap-1","ResourceType":"EBS",
            "CreationDate":"2026-09-20T10:00:00Z","CompletionDate":"2026-09-20T10:30:00Z",
            "CreatedBy":{{"RestoreTestingPlanArn":"arn:aws:backup:eu-central-1:111122223333:restore-testing-plan:w"}},
            "ValidationStatus":"{validation}"}}]}}"#
        )
    };
    let report = |scope: &str, day: &str, from: &str, to: &str| {
        format!("Backup/{scope}/eu-central-1/2026/{day}/daily/BACKUP_JOB_REPORT_daily_{from}_{to}.csv")
    };
    let main = vec![
        (report("111122223333", "10/01", d30, o1), account),
        (report("crossaccount", "10/01", d30, o1), org),
        (report("111122223333", "10/04", o3, o4), done),
        // A final validation status seen on 2 October, VALIDATING seen later.
        ("exports/2026-10-02T06:00:00Z/111122223333-eu-central-1/list-restore-jobs.json".into(), restore("SUCCESSFUL")),
        ("exports/2026-10-05T06:00:00Z/111122223333-eu-central-1/list-restore-jobs.json".into(), restore("VALIDATING")),
    ];
    let snapshot = r#"{"BackupJobs":[{"AccountId":"111122223333","BackupJobId":"SNAP-1","State":"COMPLETED",
        "ResourceArn":"arn:aws:ec2:eu-central-1:111122223333:volume/vol-snap","ResourceType":"EBS",
        "CreationDate":"2026-09-29T10:00:00Z","CompletionDate":"2026-09-29T11:00:00Z"}]}"#;
    (main, vec![("list-backup-jobs.json".into(), snapshot.into())])
}

fn write_all(root: &Path, files: &Files) {
    for (rel, text) in files {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

const COMMON: [&str; 6] = ["--period", "2026-Q3", "--generated-at", "2026-10-12T08:00:00Z", "--allow-partial", "--out"];

/// Everything the v2 rules decide, checked on one package.
fn check_package(pkg: &Path) {
    let (h, rows) = read_csv(&pkg.join("evidence/backup_jobs.csv"));
    let job = |id: &str| rows.iter().find(|r| col(&h, r, "job_id") == id).unwrap_or_else(|| panic!("no {id}"));
    let long = job("LONG-70H");
    assert_eq!(col(&h, long, "state"), "COMPLETED", "the report of 3 October was read");
    assert_eq!(col(&h, long, "completion_date"), "2026-10-03T20:00:00Z");
    assert_eq!(col(&h, long, "in_period"), "true");
    assert_eq!(col(&h, job("TIE-1"), "state"), "FAILED");
    assert_eq!((col(&h, job("NA-1"), "state"), col(&h, job("NA-1"), "backup_size_bytes")), ("FAILED", ""));
    assert_eq!(col(&h, job("PARENT-X"), "is_parent"), "true", "named as parent by CHILD-1");
    assert_eq!(col(&h, job("CHILD-1"), "is_parent"), "");
    assert_eq!(col(&h, job("SNAP-1"), "observed_at"), "2026-10-02T06:00:00Z", "time of the input root");

    let (h, rows) = read_csv(&pkg.join("evidence/restore_jobs.csv"));
    assert_eq!(rows.len(), 1);
    assert_eq!(col(&h, &rows[0], "validation_status"), "SUCCESSFUL");
    assert_eq!(col(&h, &rows[0], "observed_at"), "2026-10-05T06:00:00Z");

    let (ah, artifacts) = read_csv(&pkg.join("artifacts.csv"));
    let sha_of = |tail: &str| {
        let a = artifacts.iter().find(|a| col(&ah, a, "origin").contains(tail)).unwrap_or_else(|| panic!("{tail}"));
        (col(&ah, a, "sha256").to_owned(), col(&ah, a, "parse_status").to_owned())
    };
    let (account_sha, account_status) = sha_of("111122223333/eu-central-1/2026/10/01/");
    let (org_sha, _) = sha_of("crossaccount/eu-central-1/2026/10/01/");
    assert_eq!(account_status, "failed", "the N/A size marks the artifact");

    let (h, conflicts) = read_csv(&pkg.join("evidence/conflicts.csv"));
    assert_eq!(h, ["job_id", "job_kind", "field", "values", "observed_at", "taken", "rule", "sources"]);
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    let c = &conflicts[0];
    let got: Vec<&str> = h.iter().map(|name| col(&h, c, name)).collect();
    let sources = format!("{org_sha}@line 2=FAILED;{account_sha}@line 3=COMPLETED");
    let want = ["TIE-1", "backup", "state", "COMPLETED;FAILED", "2026-10-01T00:00:00Z", "FAILED"];
    assert_eq!(got[..6], want);
    assert_eq!((got[6], got[7]), ("less favourable state", sources.as_str()));

    let (h, errors) = read_csv(&pkg.join("evidence/parse_errors.csv"));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(
        (col(&h, &errors[0], "artifact_sha256"), col(&h, &errors[0], "locator")),
        (account_sha.as_str(), "line 4")
    );
    let message = col(&h, &errors[0], "message");
    assert!(message.contains("Backup Size in Bytes") && message.contains("N/A"), "{message}");

    let metrics: serde_json::Value = serde_json::from_slice(&std::fs::read(pkg.join("metrics.json")).unwrap()).unwrap();
    // LONG-70H, TIE-1, NA-1, CHILD-1, SNAP-1; PARENT-X is a parent.
    assert_eq!(metrics["backup_jobs_total"], 5, "{metrics}");
    assert_eq!(metrics["backup_jobs_completed"], 3, "{metrics}");
    assert_eq!(metrics["backup_jobs_failed"], 2, "TIE-1 and NA-1: {metrics}");
    assert_eq!((&metrics["restore_tests_total"], &metrics["restore_tests_passed"]), (&1.into(), &1.into()));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(pkg.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["records"]["conflicts"], 1, "{}", manifest["records"]);
}

#[test]
fn v2_rules_from_a_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let (main, timed) = inputs();
    let root = tmp.path().join("in");
    let timed_root = tmp.path().join("snap/2026-10-02T06:00:00Z");
    write_all(&root, &main);
    write_all(&timed_root, &timed);
    let pkg = tmp.path().join("pkg");
    let o =
        bin().arg("build").arg("--input").arg(&root).arg("--input").arg(&timed_root).args(COMMON).arg(&pkg).output();
    let o = o.unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    check_package(&pkg);
}

#[test]
fn v2_rules_from_s3_with_the_time_in_the_prefix() {
    let endpoint = moto_endpoint();
    let s3 = super::util::moto_s3(&endpoint);
    let (main, timed) = inputs();
    let uploads = main
        .iter()
        .map(|(rel, text)| (format!("q/{rel}"), text.clone()))
        .chain(timed.iter().map(|(rel, text)| (format!("snap/2026-10-02T06:00:00Z/{rel}"), text.clone())))
        // Nine days after the quarter: outside the window, never fetched (read, its later FAILED would win).
        .chain([(
            "q/Backup/111122223333/eu-central-1/2026/10/10/daily/late.csv".to_owned(),
            HEADER.to_owned()
                + "\n"
                + &row(("2026-10-09T00:00:00Z", "2026-10-10T00:00:00Z"), "LONG-70H", "FAILED", "", ("", ""), ""),
        )]);
    // A bucket of its own, so a moto server shared by several runs never holds it already.
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    let bucket = format!("semantics-v2-{}-{nanos}", std::process::id());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        super::util::create_bucket(&s3, &bucket).await;
        for (key, text) in uploads {
            let body = ByteStream::from(text.into_bytes());
            s3.put_object().bucket(&bucket).key(key).body(body).send().await.unwrap();
        }
    });
    let tmp = tempfile::tempdir().unwrap();
    let pkg = tmp.path().join("pkg");
    let o = super::util::bin_on_moto(&endpoint)
        .args(["build", "--input", &format!("s3://{bucket}/q")])
        .args(["--input", &format!("s3://{bucket}/snap/2026-10-02T06:00:00Z")])
        .args(COMMON)
        .arg(&pkg)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    check_package(&pkg);
    let (h, artifacts) = read_csv(&pkg.join("artifacts.csv"));
    assert_eq!(artifacts.len(), 6, "the report of 10 October is not fetched");
    assert!(artifacts.iter().all(|a| !col(&h, a, "origin").contains("2026/10/10")));
}

/// The v2 exposure rule end to end (DESIGN §6), RPO 24 h: a volume backed up nightly at 23:40
/// whose backups complete at 01:10 after midnight never breaches; one whose last backup before
/// the quarter was 3 days earlier breaches, although it is backed up every morning from 1 July.
#[test]
fn rpo_exposure_runs_from_the_last_backup_before_the_quarter() {
    use dora_evidence::time::Timestamp;
    let tmp = tempfile::tempdir().unwrap();
    let day0 = Timestamp::parse("2026-07-01T00:00:00Z").unwrap().millis();
    let at = |day: i64, minutes: i64| Timestamp(day0 + day * 86_400_000 + minutes * 60_000).to_rfc3339();
    let mut csv = HEADER.to_owned() + "\n";
    let mut add = |id: String, vol: &str, created: String, completed: String| {
        csv += &format!(
            "2026-06-27T00:00:00Z,2026-10-02T00:00:00Z,111122223333,eu-central-1,{id},COMPLETED,EBS,{VOL}/{vol},,,\
             {created},{completed},100\n"
        );
    };
    for d in -3..=91 {
        add(format!("N{d}"), "nightly", at(d, 23 * 60 + 40), at(d + 1, 70));
    }
    for d in std::iter::once(-3).chain(0..=91) {
        add(format!("S{d}"), "stale", at(d, 5 * 60), at(d, 5 * 60 + 20));
    }
    let input = tmp.path().join("in");
    write_all(&input, &vec![("BACKUP_JOB_REPORT_rpo.csv".to_owned(), csv)]);
    let config = tmp.path().join("targets.toml");
    std::fs::write(&config, format!("[[target]]\nname = \"volumes\"\narn = \"{VOL}/*\"\nrpo_hours = 24\n")).unwrap();
    let pkg = tmp.path().join("pkg");
    let o = bin()
        .args(["build", "--input", input.to_str().unwrap(), "--config", config.to_str().unwrap()])
        .args(COMMON)
        .arg(&pkg)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let metrics: serde_json::Value = serde_json::from_slice(&std::fs::read(pkg.join("metrics.json")).unwrap()).unwrap();
    assert_eq!((&metrics["resources_with_rpo_target"], &metrics["resources_with_rpo_breach"]), (&2.into(), &1.into()));
    let findings: serde_json::Value =
        serde_json::from_slice(&std::fs::read(pkg.join("findings.json")).unwrap()).unwrap();
    let rpo = findings["checks"].as_array().unwrap().iter().find(|c| c["id"] == "rpo").unwrap();
    assert_eq!(rpo["exceptions"], serde_json::json!([format!("{VOL}/stale longest exposure 72.0 h > RPO 24 h")]));
}
