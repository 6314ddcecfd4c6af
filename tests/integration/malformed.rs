//! The malformed-input corpus: every bad file gives an error naming the place, the good
//! records around it are kept, and nothing panics.

use dora_evidence::ingest::ArtifactKind;

use super::util::{fixture, parse_fixture, read_csv, run, stderr};

/// (file, expected kind, expected error locator, a word the message must contain, records kept).
/// Semantics v2: only a bad id, state or creation time drops a record; other bad fields are
/// left empty and the record kept.
const CORPUS: &[(&str, ArtifactKind, &str, &str, usize)] = &[
    ("truncated-report.json", ArtifactKind::BackupJobReport, "line 1 column", "EOF", 1),
    ("bad-date-report.json", ArtifactKind::BackupJobReport, "/reportItems/0/creationDate", "yesterday", 1),
    (
        "negative-size-snapshot.json",
        ArtifactKind::BackupJobsSnapshot,
        "/BackupJobs/0/BackupSizeInBytes",
        "non-negative",
        1,
    ),
    ("missing-job-id-snapshot.json", ArtifactKind::BackupJobsSnapshot, "/BackupJobs/0", "no job id", 1),
    ("short-row.csv", ArtifactKind::BackupJobReport, "line 3", "expected 4 fields", 1),
    ("bad-date.csv", ArtifactKind::BackupJobReport, "line 2", "Creation Date", 0),
    ("invalid-utf8.csv", ArtifactKind::BackupJobReport, "line 2", "UTF-8", 0),
    ("bad-boolean.csv", ArtifactKind::BackupJobReport, "line 2", "maybe", 1),
    ("trailing-garbage.json", ArtifactKind::BackupJobsSnapshot, "line 1 column", "trailing characters", 1),
    ("list-is-a-string.json", ArtifactKind::Unclassified, "line 1 column", "invalid type", 0),
    ("item-not-object.json", ArtifactKind::RestoreJobsSnapshot, "line 1 column", "invalid type", 0),
    ("bad-report-period.json", ArtifactKind::RestoreJobReport, "/reportItems/0/reportTimePeriod", "start - end", 1),
    ("epoch-out-of-range.json", ArtifactKind::CopyJobsSnapshot, "/CopyJobs/0/CreationDate", "out of range", 0),
    ("unterminated-quote.csv", ArtifactKind::CopyJobReport, "line 2", "never closed", 0),
    (
        "alarm-actions-not-strings.json",
        ArtifactKind::MetricAlarmsSnapshot,
        "/MetricAlarms/0/AlarmActions",
        "strings",
        1,
    ),
    (
        "tag-without-value.json",
        ArtifactKind::TagInventorySnapshot,
        "/ResourceTagMappingList/0/Tags",
        "Key and Value",
        1,
    ),
    ("vault-bad-retention.json", ArtifactKind::BackupVaultsSnapshot, "/BackupVaultList/0/", "expected", 1),
    ("control-bad-count.csv", ArtifactKind::ControlComplianceReport, "line 2", "12.5", 1),
    ("corrupt.zip", ArtifactKind::Unclassified, "zip", "zip", 0),
];

#[test]
fn each_malformed_input_is_reported_where_it_is_wrong() {
    assert!(CORPUS.len() >= 15);
    for &(file, kind, locator, word, kept) in CORPUS {
        let (got_kind, _, sink) = parse_fixture(&format!("invalid/{file}"));
        assert_eq!(got_kind, kind, "{file}: kind");
        assert!(!sink.errors.is_empty(), "{file}: no error reported");
        let (loc, msg) = &sink.errors[0];
        assert!(loc.starts_with(locator), "{file}: locator {loc:?}, want {locator:?}");
        assert!(msg.contains(word), "{file}: message {msg:?} lacks {word:?}");
        assert_eq!(sink.records.len(), kept, "{file}: records kept");
    }
}

#[test]
fn build_keeps_failed_artifacts_marks_the_package_partial_and_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("pkg");
    let input = fixture("invalid");
    let o = run(&["build", "--input", input.to_str().unwrap(), "--period", "2026-Q3", "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("truncated-report.json: line 1 column"), "{err}");
    assert!(err.contains("--allow-partial"), "{err}");
    // The package exists, says it is partial, and holds every artifact.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["partial"], true);
    let (h, rows) = read_csv(&out.join("artifacts.csv"));
    assert_eq!(rows.len(), CORPUS.len());
    for row in &rows {
        let sha = super::util::col(&h, row, "sha256");
        assert!(out.join("artifacts/sha256").join(sha).is_file(), "artifact {sha} kept");
        assert_eq!(super::util::col(&h, row, "parse_status"), "failed", "{row:?}");
        assert!(!super::util::col(&h, row, "error").is_empty());
    }
    let (_, errors) = read_csv(&out.join("evidence/parse_errors.csv"));
    assert!(errors.len() >= CORPUS.len());

    // With --allow-partial the same inputs exit 0.
    let o = run(&[
        "build",
        "--input",
        input.to_str().unwrap(),
        "--period",
        "2026-Q3",
        "--out",
        out.to_str().unwrap(),
        "--force",
        "--allow-partial",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}
