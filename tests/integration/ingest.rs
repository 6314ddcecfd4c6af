//! Every format and drift variant parses into the right records with the right provenance.

use dora_evidence::evidence::Record;
use dora_evidence::evidence::model::{JobKind, ListKey, Locator, NestedList};
use dora_evidence::ingest::{ArtifactKind, Format};
use dora_evidence::time::Timestamp;

use super::util::{parse_bytes, parse_clean, parse_fixture};

fn ts(s: &str) -> Option<Timestamp> {
    Some(Timestamp::parse(s).unwrap())
}

#[test]
fn backup_job_report_json() {
    let (kind, format, sink) = parse_fixture("reports/backup_job_report/valid-account.json");
    assert_eq!((kind, format), (ArtifactKind::BackupJobReport, Format::Json));
    assert!(sink.errors.is_empty(), "{:?}", sink.errors);
    let jobs = sink.jobs();
    assert_eq!(jobs.len(), 3);
    let j = jobs[0];
    assert_eq!(j.kind, Some(JobKind::Backup));
    assert_eq!(j.job_id, "FCCB040A-9426-2A49-2EA9-5EAFFAC656AC");
    assert_eq!(j.state.as_deref(), Some("COMPLETED"));
    assert_eq!(j.creation_date, ts("2026-07-14T05:00:01.229Z"));
    assert_eq!(j.completion_date, ts("2026-07-14T05:22:21.282Z"));
    assert_eq!(j.backup_size_bytes, Some(8_589_934_592));
    assert_eq!(j.observed_at, ts("2026-07-15T00:00:00Z"), "report period end");
    assert_eq!(j.is_parent, Some(false));
    assert_eq!(j.vault_lock_state.as_deref(), Some("LOCKED"));
    assert_eq!(j.provenance[0].locator, Locator::Item(ListKey::ReportItems, 0));
    // RUNNING job with a timestamp-shaped jobRunTime (AWS quirk) and null completion.
    assert_eq!(jobs[1].state.as_deref(), Some("RUNNING"));
    assert_eq!(jobs[1].completion_date, None);
    assert_eq!(jobs[1].job_run_time.as_deref(), Some("2026-07-15T00:00:00.010Z"));
    assert_eq!(jobs[2].state.as_deref(), Some("FAILED"));
}

#[test]
fn backup_job_report_csv_title_case_quoted_suffix_bom_crlf_extra_column() {
    let (kind, format, sink) = parse_fixture("reports/backup_job_report/valid-crossaccount-bom-crlf.csv");
    assert_eq!((kind, format), (ArtifactKind::BackupJobReport, Format::Csv));
    assert!(sink.errors.is_empty(), "{:?}", sink.errors);
    let jobs = sink.jobs();
    assert_eq!(jobs.len(), 2);
    assert_eq!(jobs[0].job_id, "0D5F2F4C-1B0E-4C1B-9B8D-7A1E2F3C4D5E");
    assert_eq!(jobs[0].job_run_time.as_deref(), Some("05:45:10"), "`[HH:MM:SS]` suffix ignored");
    assert_eq!(
        jobs[0].iam_role_arn.as_deref(),
        Some("arn:aws:iam::111122223333:role/service-role/AWSBackupDefaultServiceRole"),
        "no CR left on the last column"
    );
    assert_eq!(jobs[0].provenance[0].locator, Locator::Line(2), "the header is line 1 even with CRLF");
    assert_eq!(jobs[1].provenance[0].locator, Locator::Line(3));
    assert_eq!(jobs[1].backup_size_bytes, None, "empty field stays empty");
    assert!(jobs[1].status_message.as_deref().unwrap().starts_with("Access Denied to S3 bucket"));
    assert_eq!(jobs[1].account_id.as_deref(), Some("444455556666"));
}

#[test]
fn backup_job_report_csv_snake_case_athena_layout() {
    let sink = parse_clean("reports/backup_job_report/valid-athena-snake.csv", ArtifactKind::BackupJobReport);
    let j = sink.jobs()[0];
    assert_eq!(j.state.as_deref(), Some("EXPIRED"));
    assert_eq!(j.region.as_deref(), Some("eu-west-1"));
    assert_eq!(j.completion_date, None);
    assert_eq!(j.status_message.as_deref(), Some("The backup job did not start within the start window (8 hours)."));
}

#[test]
fn copy_job_reports() {
    let sink = parse_clean("reports/copy_job_report/valid.json", ArtifactKind::CopyJobReport);
    let j = sink.jobs()[0];
    assert_eq!(j.kind, Some(JobKind::Copy));
    assert_eq!(j.backup_vault_arn.as_deref(), Some("arn:aws:backup:eu-central-1:111122223333:backup-vault:core-vault"));
    assert_eq!(
        j.destination_vault_arn.as_deref(),
        Some("arn:aws:backup:eu-west-1:111122223333:backup-vault:core-dr-vault")
    );
    let sink = parse_clean("reports/copy_job_report/valid.csv", ArtifactKind::CopyJobReport);
    let j = sink.jobs()[0];
    assert_eq!(j.state.as_deref(), Some("FAILED"));
    assert_eq!(j.destination_recovery_point_arn, None);
    assert_eq!(j.resource_type.as_deref(), Some("DynamoDB"));
}

#[test]
fn restore_job_reports_with_old_single_period_field() {
    let sink = parse_clean("reports/restore_job_report/valid-old-period.json", ArtifactKind::RestoreJobReport);
    let j = sink.jobs()[0];
    assert_eq!(j.kind, Some(JobKind::Restore));
    assert_eq!(j.observed_at, ts("2026-07-15T00:00:00Z"), "end of `start - end`");
    assert_eq!(
        j.resource_arn.as_deref(),
        Some("arn:aws:ec2:eu-central-1:111122223333:instance/i-0bc877aee7782ba75"),
        "sourceResourceArn"
    );
    assert!(!j.is_restore_test(), "reports carry no restore testing plan");
    let sink = parse_clean("reports/restore_job_report/valid.csv", ArtifactKind::RestoreJobReport);
    assert_eq!(sink.jobs()[0].state.as_deref(), Some("FAILED"));
    assert_eq!(sink.jobs()[0].observed_at, ts("2026-07-15T00:00:00Z"));
}

#[test]
fn compliance_reports() {
    for (file, n) in
        [("reports/control_compliance_report/valid.json", 2), ("reports/control_compliance_report/valid.csv", 1)]
    {
        let (kind, _, sink) = parse_fixture(file);
        assert_eq!(kind, ArtifactKind::ControlComplianceReport, "{file}");
        assert!(sink.errors.is_empty(), "{file}: {:?}", sink.errors);
        assert_eq!(sink.records.len(), n);
    }
    let (_, _, sink) = parse_fixture("reports/control_compliance_report/valid.json");
    let Record::Control(c) = &sink.records[0] else { panic!() };
    assert_eq!(c.control_name, "RESTORE_TIME_FOR_RESOURCES_MEET_TARGET");
    assert_eq!(c.compliance_status.as_deref(), Some("NON_COMPLIANT"));
    assert_eq!(c.resources_non_compliant, Some(1));
    assert_eq!(c.control_parameters.as_deref(), Some("{\"maxRestoreTime\":\"120\"}"));
    let (_, _, sink) = parse_fixture("reports/control_compliance_report/valid.csv");
    let Record::Control(c) = &sink.records[0] else { panic!() };
    assert_eq!(
        c.control_parameters.as_deref(),
        Some(r#"{"requiredFrequencyValue":"1","requiredRetentionDays":"35","requiredFrequencyUnit":"hours"}"#)
    );

    for file in ["reports/resource_compliance_report/valid.json", "reports/resource_compliance_report/valid.csv"] {
        let (kind, _, sink) = parse_fixture(file);
        assert_eq!(kind, ArtifactKind::ResourceComplianceReport, "{file}");
        assert!(sink.errors.is_empty(), "{file}: {:?}", sink.errors);
        let Record::ResourceCompliance(r) = &sink.records[0] else { panic!() };
        assert!(r.resource_id.starts_with("AWS::"));
        assert!(r.compliance_status.is_some());
    }
}

#[test]
fn scan_template_gives_malware_scans() {
    // Issue 15: scan reports are modelled (tests/integration/malware.rs covers every shape).
    let sink = parse_clean("reports/scan_job_report/valid-malware.json", ArtifactKind::ScanJobReport);
    assert!(matches!(sink.records[..], [Record::MalwareScan(_)]), "{:?}", sink.records);
    let (kind, _, sink) = parse_bytes(b"Account ID,Scan Job ID,Job Status\n1,s,COMPLETED\n", "x.csv");
    assert_eq!(kind, ArtifactKind::ScanJobReport);
    assert!(sink.errors.is_empty());
    assert_eq!(sink.records.len(), 1);
}

#[test]
fn backup_jobs_snapshot_iso_and_epoch_times() {
    let sink = parse_clean("api/list-backup-jobs/page-iso.json", ArtifactKind::BackupJobsSnapshot);
    let j = sink.jobs()[0];
    assert_eq!(j.completion_date, ts("2026-07-15T04:55:10.512Z"));
    assert_eq!(j.backup_plan_name.as_deref(), Some("daily-gold"), "from CreatedBy");
    assert_eq!(j.message_category.as_deref(), Some("SUCCESS"));
    assert_eq!(j.provenance[0].locator, Locator::Item(ListKey::BackupJobs, 0));

    let (_, _, sink) = parse_fixture("api/list-backup-jobs/page-epoch.json");
    let jobs = sink.jobs();
    assert_eq!(jobs[0].creation_date, ts("2026-07-15T05:00:00Z"));
    assert_eq!(jobs[0].completion_date, Some(Timestamp(1_784_091_641_250)));
    assert_eq!(jobs[1].is_parent, Some(true));
    assert_eq!(jobs[2].parent_job_id.as_deref(), Some("PARENT-1"));
}

#[test]
fn restore_jobs_snapshot_marks_restore_tests() {
    let sink = parse_clean("api/list-restore-jobs/page-1.json", ArtifactKind::RestoreJobsSnapshot);
    let jobs = sink.jobs();
    assert!(jobs.iter().all(|j| j.is_restore_test()));
    assert_eq!(jobs[0].validation_status.as_deref(), Some("SUCCESSFUL"));
    assert_eq!(jobs[0].deletion_status.as_deref(), Some("SUCCESSFUL"));
    assert_eq!(
        jobs[0].created_resource_arn.as_deref(),
        Some("arn:aws:ec2:eu-central-1:111122223333:instance/i-0restoretest1")
    );
    assert_eq!(jobs[0].recovery_point_creation_date, ts("2026-07-14T05:22:21Z"));
    assert_eq!(jobs[1].validation_status.as_deref(), Some("TIMED_OUT"));
    assert_eq!(jobs[1].account_id.as_deref(), Some("111122223333"));
}

#[test]
fn vaults_lock_modes() {
    let sink = parse_clean("api/list-backup-vaults/page-1.json", ArtifactKind::BackupVaultsSnapshot);
    let modes: Vec<_> =
        sink.records.iter().map(|r| if let Record::Vault(v) = r { v.lock_mode() } else { panic!() }).collect();
    assert_eq!(modes, ["compliance", "none", "governance"]);
    // describe-backup-vault: one top-level object; lock date still ahead of the snapshot.
    let bytes = std::fs::read(super::util::fixture("api/describe-backup-vault/core-dr-vault.json")).unwrap();
    let (kind, _, sink) =
        parse_bytes(&bytes, "collected/111122223333/eu-west-1/2026-08-01T00:00:00Z/describe-backup-vault.json");
    assert_eq!(kind, ArtifactKind::BackupVaultsSnapshot);
    let Record::Vault(v) = &sink.records[0] else { panic!() };
    assert_eq!(v.lock_mode(), "compliance_grace");
    assert_eq!(v.observed_at, ts("2026-08-01T00:00:00Z"), "snapshot time from the path");
    assert_eq!(v.max_retention_days, Some(2555));
    assert_eq!(v.provenance[0].locator, Locator::Document);
}

#[test]
fn small_snapshots() {
    let sink = parse_clean("api/list-legal-holds/page-1.json", ArtifactKind::LegalHoldsSnapshot);
    assert_eq!(sink.records.len(), 2);
    let Record::LegalHold(h) = &sink.records[1] else { panic!() };
    assert_eq!(h.status.as_deref(), Some("CANCELED"));
    assert_eq!(h.cancellation_date, ts("2026-07-02T10:00:00Z"));

    let sink = parse_clean("api/describe-alarms/page-1.json", ArtifactKind::MetricAlarmsSnapshot);
    let Record::Alarm(a) = &sink.records[0] else { panic!() };
    assert_eq!(a.alarm_actions.as_deref(), Some("arn:aws:sns:eu-central-1:111122223333:backup-alerts"));
    assert_eq!(a.dimensions.as_deref(), Some("BackupVaultName=core-vault"));
    assert_eq!((a.account_id.as_deref(), a.region.as_deref()), (Some("111122223333"), Some("eu-central-1")));
    let Record::Alarm(b) = &sink.records[1] else { panic!() };
    assert_eq!(b.alarm_actions, None, "an alarm with no action");

    let sink = parse_clean("api/get-resources/page-1.json", ArtifactKind::TagInventorySnapshot);
    let Record::TaggedResource(t) = &sink.records[0] else { panic!() };
    assert_eq!(
        t.tags,
        vec![("restore_testing_candidate".to_owned(), "true".to_owned()), ("tier".to_owned(), "gold".to_owned())]
    );

    let sink = parse_clean("api/list-restore-testing-plans/page-1.json", ArtifactKind::RestoreTestingPlansSnapshot);
    let Record::Plan(p) = &sink.records[0] else { panic!() };
    assert_eq!(p.plan_name.as_deref(), Some("weekly_core"));
    assert_eq!(p.region.as_deref(), Some("eu-central-1"));

    let bytes = std::fs::read(super::util::fixture("api/list-restore-testing-selections/page-1.json")).unwrap();
    let (kind, _, sink) = parse_bytes(
        &bytes,
        "collected/111122223333/eu-central-1/2026-07-08T06:00:00Z/list-restore-testing-selections.json",
    );
    assert_eq!(kind, ArtifactKind::RestoreTestingSelectionsSnapshot);
    let Record::Selection(s) = &sink.records[0] else { panic!() };
    assert_eq!((s.account_id.as_deref(), s.region.as_deref()), (Some("111122223333"), Some("eu-central-1")));

    let sink =
        parse_clean("api/list-recovery-points-by-backup-vault/page-1.json", ArtifactKind::RecoveryPointsSnapshot);
    let Record::RecoveryPoint(rp) = &sink.records[0] else { panic!() };
    assert_eq!(rp.delete_at, ts("2026-08-18T05:22:21Z"), "from CalculatedLifecycle");
    assert_eq!(rp.account_id.as_deref(), Some("111122223333"), "from the vault ARN (AMI ARNs have no account)");
    assert_eq!(rp.is_encrypted, Some(true));
}

/// `get-backup-plan`: a record per rule with its plan's ids; `get-backup-selection`: the
/// criteria whole, its Region from the path (IAM ARNs have none); the index listings are
/// recognised and give no records.
#[test]
fn backup_plans_and_selections() {
    let sink = parse_clean("api/get-backup-plan/core-daily.json", ArtifactKind::BackupPlanSnapshot);
    let rules: Vec<_> = sink.records.iter().map(|r| if let Record::BackupRule(x) = r { x } else { panic!() }).collect();
    assert_eq!(rules.len(), 2);
    let (daily, pitr) = (rules[0], rules[1]);
    assert_eq!(
        daily.rule_name.as_deref(),
        Some("daily-0300"),
        "a recovery-point tag named RuleName is not the rule's name"
    );
    assert_eq!(daily.schedule_expression.as_deref(), Some("cron(0 3 ? * * *)"));
    assert_eq!((daily.account_id.as_deref(), daily.region.as_deref()), (Some("111122223333"), Some("eu-central-1")));
    assert_eq!((daily.start_window_minutes, daily.completion_window_minutes), (Some(60), Some(480)));
    assert_eq!(
        daily.copy_destinations.as_deref(),
        Some(
            "arn:aws:backup:eu-central-1:444455556666:backup-vault:dr-isolated;\
             arn:aws:backup:eu-west-1:111122223333:backup-vault:core-dr-vault"
        )
    );
    assert_eq!((daily.delete_after_days, daily.copy_delete_after_days), (Some(35), Some(35)));
    assert_eq!(daily.creation_date, ts("2025-03-04T09:15:00.123Z"));
    assert_eq!(pitr.enable_continuous_backup, Some(true));
    assert_eq!((pitr.move_to_cold_storage_after_days, pitr.delete_after_days), (Some(30), Some(120)));
    assert_eq!((pitr.copy_destinations.as_deref(), pitr.copy_delete_after_days), (None, None));
    assert_eq!(pitr.version_id, daily.version_id);
    assert_eq!(pitr.provenance[0].locator, Locator::Nested(NestedList::BackupPlanRules, 1));

    let bytes = std::fs::read(super::util::fixture("api/get-backup-selection/tier-gold.json")).unwrap();
    let (kind, _, sink) = parse_bytes(
        &bytes,
        "collected/111122223333/eu-central-1/2026-07-08T06:00:00Z/get-backup-selection-8c2f-3e5f.json",
    );
    assert_eq!(kind, ArtifactKind::BackupSelectionSnapshot);
    assert!(sink.errors.is_empty(), "{:?}", sink.errors);
    let Record::BackupSelection(s) = &sink.records[0] else { panic!() };
    assert_eq!((s.account_id.as_deref(), s.region.as_deref()), (Some("111122223333"), Some("eu-central-1")));
    assert_eq!(s.backup_plan_id, "8c2f4e7a-5d1b-4f3a-9e6c-2b7d8a9c0e1f");
    assert_eq!(s.resources[0], "arn:aws:dynamodb:eu-central-1:111122223333:table/*", "sorted");
    assert_eq!((s.list_of_tags.len(), s.conditions.len(), s.not_resources.len()), (2, 3, 1));
    assert_eq!(s.observed_at, ts("2026-07-08T06:00:00Z"));

    for (rel, kind) in [
        ("api/list-backup-plans/page-1.json", ArtifactKind::BackupPlansListSnapshot),
        ("api/list-backup-selections/page-1.json", ArtifactKind::BackupSelectionsListSnapshot),
    ] {
        assert!(parse_clean(rel, kind).records.is_empty(), "{rel}");
        assert_ne!(kind.as_str(), "unclassified");
    }
}

#[test]
fn describe_outputs_and_wrappers() {
    let (kind, _, sink) = parse_bytes(
        br#"{"CopyJob": {"CopyJobId": "c-9", "State": "RUNNING", "CreationDate": "2026-07-01T00:00:00Z"}}"#,
        "describe-copy-job.json",
    );
    assert_eq!(kind, ArtifactKind::CopyJobsSnapshot);
    assert_eq!(sink.jobs()[0].kind, Some(JobKind::Copy));
    let (kind, _, sink) = parse_bytes(
        br#"{"RestoreJobId": "r-9", "Status": "COMPLETED", "CreatedBy": {"RestoreTestingPlanArn": "arn:p"}}"#,
        "describe-restore-job.json",
    );
    assert_eq!(kind, ArtifactKind::RestoreJobsSnapshot);
    assert!(sink.jobs()[0].is_restore_test());
}

#[test]
fn unknown_files_are_unclassified_not_errors() {
    for (bytes, name) in [
        (&b"just some notes\n"[..], "notes.txt"),
        (b"{\"Something\": [1, 2]}", "other.json"),
        (b"a,b,c\n1,2,3\n", "table.csv"),
        (b"", "empty"),
        (b"\x00\x01\x02binary", "blob.bin"),
    ] {
        let (kind, _, sink) = parse_bytes(bytes, name);
        assert_eq!(kind, ArtifactKind::Unclassified, "{name}");
        assert!(sink.errors.is_empty() && sink.records.is_empty(), "{name}");
    }
}

#[test]
fn report_template_from_first_item_when_the_name_says_nothing() {
    let (kind, _, sink) = parse_bytes(br#"{"reportItems": [{"copyJobId": "c-1", "jobStatus": "COMPLETED"}, {"copyJobId": "c-2", "jobStatus": "FAILED"}]}"#, "report.json");
    assert_eq!(kind, ArtifactKind::CopyJobReport);
    assert_eq!(sink.jobs().len(), 2);
    // An empty report is still a report when its name says which.
    let (kind, _, _) = parse_bytes(
        br#"{"reportItems": []}"#,
        "RESTORE_JOB_REPORT_plan_2026-07-01T00:00:00Z_2026-07-02T00:00:00Z.json",
    );
    assert_eq!(kind, ArtifactKind::RestoreJobReport);
}

/// Excel's "Unicode Text" (UTF-16 LE with BOM, tab separated, CRLF) and a UTF-16 BE CSV: the
/// same report as records, not `unclassified`.
#[test]
fn utf16_reports_are_decoded_and_parsed() {
    let mut all = Vec::new();
    for file in ["encodings/excel-unicode-text-utf16le.txt", "encodings/utf16be.csv"] {
        let (kind, format, sink) = parse_fixture(file);
        assert_eq!((kind, format), (ArtifactKind::BackupJobReport, Format::Csv), "{file}");
        assert!(sink.errors.is_empty(), "{file}: {:?}", sink.errors);
        let jobs = sink.jobs();
        assert_eq!(jobs.len(), 2, "{file}");
        assert_eq!(jobs[0].job_id, "A1B2C3D4-0000-4000-8000-000000000001");
        assert_eq!(jobs[0].backup_size_bytes, Some(1_073_741_824));
        assert_eq!(jobs[1].state.as_deref(), Some("FAILED"));
        let message = jobs[1].status_message.as_deref().unwrap();
        assert!(message.starts_with("Zugriff verweigert: Tresor „pay-vault“, Rolle"), "{file}: {message:?}");
        all.push(sink.records);
    }
    assert_eq!(all[0], all[1], "both encodings give the same records");
    // UTF-16 JSON is read too.
    let json = r#"{"BackupJobs":[{"BackupJobId":"B-1","State":"COMPLETED","CreationDate":"2026-07-14T05:00:00Z"}]}"#;
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(json.encode_utf16().flat_map(u16::to_le_bytes));
    let (kind, format, sink) = parse_bytes(&bytes, "jobs.json");
    assert_eq!((kind, format), (ArtifactKind::BackupJobsSnapshot, Format::Json));
    assert_eq!(sink.jobs().len(), 1);
}
