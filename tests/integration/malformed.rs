//! The malformed-input corpus: every bad file gives an error naming the place, the good
//! records around it are kept, and nothing panics.
//!
//! Committed files (`tests/fixtures/invalid/`, listed in [`CORPUS`] with what each must give)
//! plus inputs too large for git, generated here: a 200 000-column row, JSON nested 200 000
//! deep, a symbolic-link loop in an input folder, and a crafted PDF cross-reference for
//! `verify`. The zip bomb and the 150 000-member zip are in `zip_safety.rs`.

use std::path::Path;

use dora_evidence::ingest::ArtifactKind as K;

use super::util::{build_q3, col, fixture, parse_bytes, parse_fixture, read_csv, run, stderr};

/// What a corpus file must give.
#[derive(Debug, Clone, Copy)]
enum Want {
    /// Marked failed: the first error starts with `locator` and its message contains `word`;
    /// `kept` records survive.
    Failed { locator: &'static str, word: &'static str, kept: usize },
    /// Parsed without error into this many records (a header-only report: a day without jobs).
    Parsed(usize),
    /// Not evidence we know: kept and hashed, listed as unclassified, no error (an empty file:
    /// nothing to misread, and empty placeholders such as `.gitkeep` are common in folders).
    Unclassified,
}

use Want::{Failed, Parsed, Unclassified};

const fn failed(locator: &'static str, word: &'static str, kept: usize) -> Want {
    Failed { locator, word, kept }
}

/// (file, expected kind, what it must give).
/// Semantics v2: only a bad id, state or creation time drops a record; other bad fields are
/// left empty and the record kept.
const CORPUS: &[(&str, K, Want)] = &[
    ("truncated-report.json", K::BackupJobReport, failed("line 1 column", "EOF", 1)),
    ("bad-date-report.json", K::BackupJobReport, failed("/reportItems/0/creationDate", "yesterday", 1)),
    (
        "negative-size-snapshot.json",
        K::BackupJobsSnapshot,
        failed("/BackupJobs/0/BackupSizeInBytes", "non-negative", 1),
    ),
    ("missing-job-id-snapshot.json", K::BackupJobsSnapshot, failed("/BackupJobs/0", "no job id", 1)),
    ("short-row.csv", K::BackupJobReport, failed("line 3", "expected 4 fields", 1)),
    ("bad-date.csv", K::BackupJobReport, failed("line 2", "Creation Date", 0)),
    ("invalid-utf8.csv", K::BackupJobReport, failed("line 2", "UTF-8", 0)),
    ("bad-boolean.csv", K::BackupJobReport, failed("line 2", "maybe", 1)),
    ("trailing-garbage.json", K::BackupJobsSnapshot, failed("line 1 column", "trailing characters", 1)),
    ("list-is-a-string.json", K::Unclassified, failed("line 1 column", "invalid type", 0)),
    ("item-not-object.json", K::RestoreJobsSnapshot, failed("line 1 column", "invalid type", 0)),
    ("bad-report-period.json", K::RestoreJobReport, failed("/reportItems/0/reportTimePeriod", "start - end", 1)),
    ("epoch-out-of-range.json", K::CopyJobsSnapshot, failed("/CopyJobs/0/CreationDate", "out of range", 0)),
    ("unterminated-quote.csv", K::CopyJobReport, failed("line 2", "never closed", 0)),
    ("alarm-actions-not-strings.json", K::MetricAlarmsSnapshot, failed("/MetricAlarms/0/AlarmActions", "strings", 1)),
    ("tag-without-value.json", K::TagInventorySnapshot, failed("/ResourceTagMappingList/0/Tags", "Key and Value", 1)),
    ("vault-bad-retention.json", K::BackupVaultsSnapshot, failed("/BackupVaultList/0/", "expected", 1)),
    ("control-bad-count.csv", K::ControlComplianceReport, failed("line 2", "12.5", 1)),
    ("corrupt.zip", K::Unclassified, failed("zip", "zip", 0)),
    // Excel "Unicode Text" with an unpaired surrogate in row 3: the row is dropped.
    ("utf16-unpaired-surrogate.txt", K::BackupJobReport, failed("line 3", "UTF-16", 1)),
    ("nul-bytes.csv", K::BackupJobReport, failed("line 3", "NUL", 1)),
    ("nul-padded.json", K::BackupJobsSnapshot, failed("line 2 column", "trailing characters", 1)),
    ("time-1e400.json", K::BackupJobsSnapshot, failed("line 2 column", "number out of range", 1)),
    ("time-1e400.csv", K::BackupJobReport, failed("line 2", "1e400", 1)),
    // The last value wins (as in serde_json and JavaScript); the repetition is reported.
    ("duplicate-keys.json", K::BackupJobsSnapshot, failed("/BackupJobs/0/State", "twice", 1)),
    ("invalid-utf8.json", K::BackupJobsSnapshot, failed("line 1 column", "unicode", 1)),
    // Item 0's `{"$date": …}` is flattened like any nested object: its member is no field we
    // know, so the job is kept without a creation time (reported by the checks, not here).
    ("date-wrong-type.json", K::BackupJobsSnapshot, failed("/BackupJobs/1/CreationDate", "true", 1)),
    ("size-overflows-u64.json", K::BackupJobsSnapshot, failed("/BackupJobs/0/BackupSizeInBytes", "", 1)),
    ("header-only.csv", K::BackupJobReport, Parsed(0)),
    ("empty.csv", K::Unclassified, Unclassified),
    // For `verify` (see `crafted_pdf_xref_fails_verify_cleanly`); to `build` just a file.
    ("crafted-xref-overflow.pdf", K::Unclassified, Unclassified),
];

#[test]
fn the_corpus_lists_every_file_in_the_folder() {
    let mut files: Vec<String> = std::fs::read_dir(fixture("invalid"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut listed: Vec<String> = CORPUS.iter().map(|c| c.0.to_owned()).collect();
    listed.sort();
    assert_eq!(files, listed);
    assert!(CORPUS.len() >= 30);
}

#[test]
fn each_malformed_input_is_reported_where_it_is_wrong() {
    for &(file, kind, want) in CORPUS {
        let (got_kind, _, sink) = parse_fixture(&format!("invalid/{file}"));
        assert_eq!(got_kind, kind, "{file}: kind");
        match want {
            Failed { locator, word, kept } => {
                assert!(!sink.errors.is_empty(), "{file}: no error reported");
                let (loc, msg) = &sink.errors[0];
                assert!(loc.starts_with(locator), "{file}: locator {loc:?}, want {locator:?} ({msg})");
                assert!(msg.contains(word), "{file}: message {msg:?} lacks {word:?}");
                assert_eq!(sink.records.len(), kept, "{file}: records kept");
            }
            Parsed(n) => {
                assert!(sink.errors.is_empty(), "{file}: {:?}", sink.errors);
                assert_eq!(sink.records.len(), n, "{file}: records");
            }
            Unclassified => assert!(sink.errors.is_empty() && sink.records.is_empty(), "{file}: {:?}", sink.errors),
        }
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
    assert!(err.contains("bad-date.csv: line 2: column \"Creation Date\""), "{err}");
    assert!(err.contains("--allow-partial"), "{err}");
    // The package exists, says it is partial, and holds every artifact.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["partial"], true);
    let (h, rows) = read_csv(&out.join("artifacts.csv"));
    assert_eq!(rows.len(), CORPUS.len());
    let mut failures = 0;
    for row in &rows {
        let sha = col(&h, row, "sha256");
        let origin = col(&h, row, "origin");
        let name = origin.rsplit('/').next().unwrap();
        let &(_, _, want) = CORPUS.iter().find(|c| c.0 == name).unwrap_or_else(|| panic!("{origin} not listed"));
        let bytes = std::fs::read(fixture("invalid").join(name)).unwrap();
        assert_eq!(sha, hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes)), "{name}: hashed");
        assert!(out.join("artifacts/sha256").join(sha).is_file(), "artifact {sha} kept");
        let status = col(&h, row, "parse_status");
        match want {
            Failed { .. } => {
                failures += 1;
                assert_eq!(status, "failed", "{row:?}");
                assert!(col(&h, row, "error").contains(':'), "{row:?}");
            }
            Parsed(_) => assert_eq!(status, "parsed", "{row:?}"),
            Unclassified => assert_eq!(status, "unclassified", "{row:?}"),
        }
    }
    let (_, errors) = read_csv(&out.join("evidence/parse_errors.csv"));
    assert!(errors.len() >= failures);

    // With --allow-partial the same inputs exit 0.
    let o = build_q3(&input, &out, &["--force", "--allow-partial"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// A folder with one valid report next to `name` holding `bytes`: the build keeps both, marks
/// the bad one failed with `word` in its error, and the good one's jobs are all there.
fn build_keeps_generated_input(name: &str, bytes: &[u8], word: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    std::fs::write(input.join(name), bytes).unwrap();
    let good = fixture("reports/backup_job_report/valid-athena-snake.csv");
    std::fs::copy(&good, input.join("good.csv")).unwrap();
    let out = tmp.path().join("pkg");
    let o = build_q3(&input, &out, &["--allow-partial"]);
    assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    let (h, rows) = read_csv(&out.join("artifacts.csv"));
    assert_eq!(rows.len(), 2, "{name}: both artifacts listed");
    for row in &rows {
        let sha = col(&h, row, "sha256");
        assert!(out.join("artifacts/sha256").join(sha).is_file(), "{name}: artifact {sha} kept");
        if col(&h, row, "origin").ends_with(name) {
            assert_eq!(sha, hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes)), "{name}: hashed");
            assert_eq!(col(&h, row, "parse_status"), "failed", "{row:?}");
            assert!(col(&h, row, "error").contains(word), "{name}: {row:?}");
        } else {
            assert_eq!(col(&h, row, "parse_status"), "parsed", "{row:?}");
        }
    }
    let (_, good_rows) = read_csv(&good);
    let (_, jobs) = read_csv(&out.join("evidence/backup_jobs.csv"));
    assert_eq!(jobs.len(), good_rows.len(), "{name}: the good report's jobs are all kept");
}

#[test]
fn a_row_of_200_000_columns_is_an_error_at_its_line() {
    let header = "Account ID,Copy Job ID,Job Status,Creation Date\n";
    let row = format!("111122223333,C-1,COMPLETED,2026-07-14T05:00:00Z{}\n", ",x".repeat(200_000 - 4));
    let text = format!("{header}{row}");
    let (kind, _, sink) = parse_bytes(text.as_bytes(), "wide.csv");
    assert_eq!(kind, K::CopyJobReport);
    assert_eq!(sink.errors.len(), 1, "{:?}", &sink.errors[..sink.errors.len().min(3)]);
    assert_eq!(sink.errors[0].0, "line 2");
    assert!(sink.errors[0].1.contains("found 200000"), "{}", sink.errors[0].1);
    build_keeps_generated_input("wide.csv", text.as_bytes(), "line 2");
}

#[test]
fn json_nested_200_000_deep_is_an_error_not_a_stack_overflow() {
    // serde_json refuses nesting beyond 128 (its recursion limit; the `unbounded_depth`
    // feature is off), in the streaming reader as in memory.
    let nest = |open: &str, close: &str| format!("{}1{}", open.repeat(200_000), close.repeat(200_000));
    let job = |x: &str| format!("{{\"BackupJobs\":[{{\"BackupJobId\":\"B-1\",\"State\":\"FAILED\",\"X\":{x}}}]}}");
    for (open, close) in [("[", "]"), ("{\"a\":", "}")] {
        let deep = nest(open, close);
        // At the top, in a small list read as a whole value, under a member we do not know.
        for doc in [
            deep.clone(),
            format!("{{\"BackupVaultList\":[{{\"BackupVaultName\":\"v\",\"X\":{deep}}}]}}"),
            format!("{{\"Unknown\":{deep}}}"),
        ] {
            let (_, _, sink) = parse_bytes(doc.as_bytes(), "deep.json");
            assert!(sink.records.is_empty(), "{:?}", &doc[..40]);
            assert!(sink.errors[0].0.starts_with("line 1 column"), "{:?}", sink.errors);
            assert!(sink.errors[0].1.contains("recursion limit"), "{:?}", sink.errors);
        }
    }
    // In a streamed job item, nested objects are flattened (so the limit applies) while an
    // array under a member we do not read is skipped by serde_json's iterative `IgnoredAny`:
    // no stack used, the job kept.
    let (_, _, sink) = parse_bytes(job(&nest("{\"a\":", "}")).as_bytes(), "deep.json");
    assert!(sink.records.is_empty() && sink.errors[0].1.contains("recursion limit"), "{:?}", sink.errors);
    let (_, _, sink) = parse_bytes(job(&nest("[", "]")).as_bytes(), "deep.json");
    assert!(sink.errors.is_empty(), "{:?}", sink.errors);
    assert_eq!(sink.jobs().len(), 1);
    build_keeps_generated_input("deep.json", nest("[", "]").as_bytes(), "recursion limit");
}

/// Decision: a link loop in an input folder stops the build with exit 2 and names the link
/// and the folder it leads back to. Skipping it would leave the package unable to say what
/// the folder held; a loop is a mistake in the input to fix, not evidence.
#[cfg(unix)]
#[test]
fn a_symlink_loop_in_an_input_folder_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    std::fs::create_dir_all(input.join("a/b")).unwrap();
    std::fs::copy(fixture("reports/copy_job_report/valid.csv"), input.join("a/good.csv")).unwrap();
    std::os::unix::fs::symlink(input.join("a"), input.join("a/b/back-up")).unwrap();
    let out = tmp.path().join("pkg");
    let started = std::time::Instant::now();
    let o = build_q3(&input, &out, &["--allow-partial"]);
    assert!(started.elapsed() < std::time::Duration::from_secs(60), "no hang");
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains("back-up: symbolic link loop: it leads back to"), "{err}");
    assert_eq!(err.matches("symbolic link loop").count(), 1, "the cause is said once: {err}");
    assert!(!out.exists(), "no package from a looping input");
}

/// `verify` on a package whose report.pdf is replaced by a PDF with a crafted xref subsection
/// (`4294967295 2`: one past the last object number) fails the report checks with the place,
/// exits 1, and does not panic.
#[test]
fn crafted_pdf_xref_fails_verify_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let pkg = tmp.path().join("pkg");
    let o = build_q3(&fixture("api"), &pkg, &["--allow-partial", "--generated-at", "2026-10-05T08:00:00Z"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    std::fs::copy(fixture("invalid/crafted-xref-overflow.pdf"), pkg.join("report.pdf")).unwrap();
    let o = run(&["verify", pkg.to_str().unwrap(), "--allow-unsigned"]);
    let text = format!("{}{}", super::util::stdout(&o), stderr(&o));
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(!text.contains("panicked"), "{text}");
    assert!(text.contains("xref subsection"), "{text}");
    assert!(Path::new(&pkg).join("manifest.json").is_file());
}
