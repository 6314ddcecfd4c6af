//! `build --input s3://…` through the fault-injecting proxy ([`super::fault_proxy`]): a flaky
//! network gives the same package as a clean one, and a network that always fails gives exit 2
//! naming what could not be read, after the bounded attempts.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;

use super::fault_proxy::{Fault, FaultProxy, Plan};
use super::util::{bin_on_moto, build_q3, moto_endpoint, read_csv, stderr};

/// Attempts per read (`READ_ATTEMPTS` in src/archive/s3.rs).
const ATTEMPTS: u32 = 5;

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

const GENERATED_AT: &str = "2026-10-05T08:00:00Z";

fn build_from(endpoint: &str, url: &str, out: &Path) -> Output {
    let config = samples().join("dora-evidence.toml");
    bin_on_moto(endpoint)
        .env("DORA_EVIDENCE_S3_RETRY_BASE_MS", "5")
        .env("AWS_MAX_ATTEMPTS", "1")
        .args(["build", "--input", url, "--period", "2026-Q3", "--generated-at", GENERATED_AT, "--config"])
        .arg(config)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

/// The SHA-256 column of artifacts.csv, as a set.
fn artifact_shas(pkg: &Path) -> BTreeSet<String> {
    let (h, rows) = read_csv(&pkg.join("artifacts.csv"));
    let i = h.iter().position(|c| c == "sha256").unwrap();
    rows.into_iter().map(|r| r[i].clone()).collect()
}

/// (requirement id, status) of findings.csv.
fn statuses(pkg: &Path) -> Vec<(String, String)> {
    let (h, rows) = read_csv(&pkg.join("findings.csv"));
    let (id, st) = (h.iter().position(|c| c == "id").unwrap(), h.iter().position(|c| c == "status").unwrap());
    rows.iter().map(|r| (r[id].clone(), r[st].clone())).collect()
}

#[test]
fn a_flaky_network_gives_the_same_package_as_a_clean_one() {
    let endpoint = moto_endpoint();
    super::util::upload_sample_quarter(&endpoint, "flaky-quarter");
    let tmp = tempfile::tempdir().unwrap();

    // The local folder, S3 directly, and S3 through a proxy that breaks 15 % of the requests
    // (at most twice in a row for the same request line).
    let config = samples().join("dora-evidence.toml");
    let o = build_q3(
        &samples().join("input"),
        &tmp.path().join("local"),
        &["--config", config.to_str().unwrap(), "--generated-at", GENERATED_AT],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = build_from(&endpoint, "s3://flaky-quarter/quarter", &tmp.path().join("clean"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let proxy = FaultProxy::start(&endpoint, Plan::flaky(0x000d_07a5_3ed5, 150, 2));
    let o = build_from(&proxy.url(), "s3://flaky-quarter/quarter", &tmp.path().join("flaky"));
    let t = proxy.tally();
    eprintln!("fault proxy: {t:?}");
    assert_eq!(o.status.code(), Some(0), "{t:?}\n{}", stderr(&o));

    // Every kind of fault was injected, and survived.
    assert!(t.slow_down > 0 && t.internal > 0 && t.reset > 0 && t.truncated > 0, "{t:?}");
    assert_eq!(t.requests, t.forwarded + t.faults(), "{t:?}");
    assert!(stderr(&o).contains("retrying"), "the body retries are logged:\n{}", stderr(&o));

    let read = |dir: &str, f: &str| String::from_utf8(std::fs::read(tmp.path().join(dir).join(f)).unwrap()).unwrap();
    // The flaky download is the clean one: same figures, same findings, the same artifacts.
    assert_eq!(read("clean", "metrics.json"), read("flaky", "metrics.json"));
    assert_eq!(read("clean", "findings.json"), read("flaky", "findings.json"));
    let shas = artifact_shas(&tmp.path().join("flaky"));
    assert_eq!(artifact_shas(&tmp.path().join("clean")), shas);
    // And the local folder: same figures and statuses; every artifact fetched is one of its files
    // (S3 leaves out keys outside the period's window, so it has fewer).
    assert_eq!(read("local", "metrics.json"), read("flaky", "metrics.json"));
    assert_eq!(statuses(&tmp.path().join("local")), statuses(&tmp.path().join("flaky")));
    let local = artifact_shas(&tmp.path().join("local"));
    assert!(shas.is_subset(&local) && shas.len() > 1000, "{} of {}", shas.len(), local.len());
}

#[test]
fn a_network_that_always_fails_gives_exit_2_after_the_bounded_attempts() {
    let endpoint = moto_endpoint();
    super::util::upload_sample_quarter(&endpoint, "failing-quarter");
    let tmp = tempfile::tempdir().unwrap();

    // Every object body is cut off halfway: the listing works, every download breaks.
    let proxy = FaultProxy::start(&endpoint, Plan { objects_only: true, ..Plan::always(Fault::Truncate) });
    let o = build_from(&proxy.url(), "s3://failing-quarter/quarter", &tmp.path().join("cut"));
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    let line = err.lines().find(|l| l.starts_with("error:")).unwrap_or_else(|| panic!("no error line:\n{err}"));
    assert!(line.contains("s3://failing-quarter/quarter/"), "{line}");
    assert!(line.contains("the body broke off") && line.contains("gave up after 5 attempts"), "{line}");
    // The key named was asked for exactly ATTEMPTS times (a body error is not retried by the SDK).
    let key = line.split("s3://failing-quarter/").nth(1).unwrap().split(": ReadError").next().unwrap();
    assert_eq!(proxy.requests_matching(&format!("/failing-quarter/{key}?")), ATTEMPTS, "{key}\n{line}");
    assert!(!tmp.path().join("cut").exists(), "no package after a failed download");
    drop(proxy);

    // Every request answers 503 SlowDown: the listing gives up, naming the prefix.
    let proxy = FaultProxy::start(&endpoint, Plan::always(Fault::SlowDown));
    let o = bin_on_moto(&proxy.url())
        .env("DORA_EVIDENCE_S3_RETRY_BASE_MS", "1")
        .env("AWS_MAX_ATTEMPTS", "1")
        .args(["build", "--input", "s3://failing-quarter/quarter", "--period", "2026-Q3", "--out"])
        .arg(tmp.path().join("slow"))
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(
            "s3://failing-quarter/quarter/: SlowDown: Please reduce your request rate.; gave up after 5 attempts"
        ),
        "{err}"
    );
    assert_eq!(proxy.tally().slow_down, u64::from(ATTEMPTS), "{:?}", proxy.tally());
}
