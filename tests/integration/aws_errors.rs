//! AWS and verify errors a person can act on: no Region, no credentials, an unreachable
//! bucket, a folder that is no package — each with its message and exit code 2, without the
//! SDK's debug dumps or colour codes.

use std::path::Path;
use std::process::{Command, Output};

use super::util::{bin, bin_on_moto, stderr, stdout};

/// The binary with no AWS_* variables and an empty HOME (no ~/.aws).
fn bare(home: &Path) -> Command {
    let mut cmd = bin();
    cmd.env_clear().env("HOME", home).env("PATH", std::env::var_os("PATH").unwrap_or_default());
    cmd
}

/// An unsigned, empty package to archive.
fn empty_package(dir: &Path) -> std::path::PathBuf {
    let input = dir.join("in");
    std::fs::create_dir_all(&input).unwrap();
    std::fs::write(input.join("notes.txt"), "not evidence\n").unwrap();
    let pkg = dir.join("pkg");
    let args = ["--allow-empty", "--allow-partial", "--generated-at", "2026-10-05T08:00:00Z"];
    let o = super::util::build_q3(&input, &pkg, &args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    pkg
}

fn assert_plain(o: &Output, want: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains(want), "expected {want:?} in:\n{err}");
    for dump in ["DispatchFailure", "ConnectorError", "{ source", "endpoint unreachable?", "\x1b["] {
        assert!(!err.contains(dump), "{dump:?} in:\n{err}");
    }
}

#[test]
fn no_region_and_no_credentials_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let pkg = empty_package(tmp.path());
    let pkg = pkg.to_str().unwrap();
    let out = tmp.path().join("out");
    let runs: [&[&str]; 3] = [
        &["build", "--input", "s3://bucket/quarter", "--period", "2026-Q3", "--out", out.to_str().unwrap()],
        &["archive", pkg, "--to", "s3://bucket/archive", "--allow-unsigned"],
        &["verify", "s3://bucket/archive/p/"],
    ];
    for args in runs {
        let o = bare(&home).args(args).output().unwrap();
        assert_plain(&o, "no AWS Region configured (set AWS_REGION");
        let o = bare(&home)
            .env("AWS_REGION", "eu-central-1")
            // No instance metadata service to wait for on a developer machine or CI runner.
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .args(args)
            .output()
            .unwrap();
        assert_plain(&o, "no AWS credentials found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
        if args[0] == "verify" {
            assert!(stderr(&o).contains("could not read s3://bucket/archive/p"), "{}", stderr(&o));
        }
    }
    assert!(!out.exists());
}

#[test]
fn verify_of_an_unreachable_bucket_is_not_a_failed_verification() {
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let o = bin_on_moto(&format!("http://127.0.0.1:{port}"))
        .env("DORA_EVIDENCE_S3_RETRY_BASE_MS", "1")
        .env("AWS_MAX_ATTEMPTS", "1")
        .args(["verify", "s3://evidence/dora/entity/2026-q3/pkg/"])
        .output()
        .unwrap();
    assert_plain(
        &o,
        "error: could not read s3://evidence/dora/entity/2026-q3/pkg: s3://evidence/dora/entity/2026-q3/pkg/",
    );
    let err = stderr(&o);
    assert!(err.contains("endpoint unreachable") && err.contains("gave up after 5 attempts"), "{err}");
    assert!(!stdout(&o).contains("do not rely on this package"), "{}", stdout(&o));
}

#[test]
fn verify_of_an_ordinary_folder_says_it_is_no_package() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("notes.txt"), "hello\n").unwrap();
    std::fs::create_dir_all(tmp.path().join("sub")).unwrap();
    let o = super::util::run(&["verify", tmp.path().to_str().unwrap()]);
    assert_plain(&o, &format!("{} is not a dora-evidence package (no manifest.json)", tmp.path().display()));
    assert!(!stdout(&o).contains("FAIL"), "{}", stdout(&o));
    // A package whose manifest was removed is tampering, not a usage error: exit 1.
    let pkg = empty_package(&tmp.path().join("p"));
    std::fs::remove_file(pkg.join("manifest.json")).unwrap();
    let o = super::util::run(&["verify", pkg.to_str().unwrap(), "--allow-unsigned"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stdout(&o).contains("FAIL  manifest"), "{}", stdout(&o));
}
