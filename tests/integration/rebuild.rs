//! `rebuild`: a package re-performed from its own artifacts and recorded configuration gives
//! the same bytes (signed, unsigned, built from S3, archived under Object Lock and read back
//! without a write); a changed artifact byte fails at verify; an edited recorded
//! configuration names the differing files, finding and metric; another tool version and a
//! missing earlier package cannot be re-performed (exit 2).

use std::path::Path;
use std::process::Output;

use super::archive::{bucket, client, dora, rt};
use super::sign::{keygen, sign_flags};
use super::util::{build_q3, build_sample, run, sample_package, samples, stderr, stdout};

const AT: &str = "2026-10-05T08:00:00Z";

fn rebuild(args: &[&str]) -> Output {
    run(&[&["rebuild"], args].concat())
}

/// Asserts that `rebuild` of `what` exited 0 and said the re-performance is identical.
fn assert_identical(o: &Output, what: &str) {
    assert_eq!(o.status.code(), Some(0), "{what}: {}{}", stdout(o), stderr(o));
    assert!(stdout(o).contains("re-performed: identical"), "{what}: {}", stdout(o));
}

/// Copies a package so a test may change it.
fn copy(pkg: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(pkg).into_iter().filter_map(Result::ok).filter(|e| e.file_type().is_file()) {
        let dest = to.join(e.path().strip_prefix(pkg).unwrap());
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(e.path(), dest).unwrap();
    }
}

/// Rewrites `file` of an unsigned package and fixes its manifest entry and `SHA256SUMS`, as
/// someone with write access could: the package still verifies.
fn rewrite_consistently(pkg: &Path, file: &str, edit: impl FnOnce(String) -> String) {
    let path = pkg.join(file);
    std::fs::write(&path, edit(std::fs::read_to_string(&path).unwrap())).unwrap();
    let sha = |p: &Path| hex::encode(<sha2::Sha256 as sha2::Digest>::digest(std::fs::read(p).unwrap()));
    if file != "manifest.json" {
        let mut m: serde_json::Value =
            serde_json::from_slice(&std::fs::read(pkg.join("manifest.json")).unwrap()).unwrap();
        let entry = m["files"].as_array_mut().unwrap().iter_mut().find(|f| f["path"] == file).unwrap();
        entry["sha256"] = sha(&path).into();
        entry["size"] = std::fs::metadata(&path).unwrap().len().into();
        std::fs::write(pkg.join("manifest.json"), serde_json::to_vec_pretty(&m).unwrap()).unwrap();
    }
    let sums = std::fs::read_to_string(pkg.join("SHA256SUMS")).unwrap();
    let fixed: String =
        sums.lines().map(|l| l.split_once("  ").unwrap().1).map(|p| format!("{}  {p}\n", sha(&pkg.join(p)))).collect();
    std::fs::write(pkg.join("SHA256SUMS"), fixed).unwrap();
}

#[test]
fn the_sample_package_re_performs_identically_signed_or_not() {
    let pkg = sample_package();
    let o = rebuild(&[pkg.to_str().unwrap(), "--allow-unsigned", "--threads", "1"]);
    assert_identical(&o, pkg.to_str().unwrap());
    assert!(pkg.join("config/dora-evidence.toml").is_file() && pkg.join("config/dora-mapping.toml").is_file());
    assert!(!pkg.join("config/report.typ").exists(), "the built-in template is not recorded");
    assert_eq!(
        std::fs::read(pkg.join("config/dora-evidence.toml")).unwrap(),
        std::fs::read(samples().join("dora-evidence.toml")).unwrap()
    );
    // Unsigned packages are refused unless asked, as by verify.
    let o = rebuild(&[pkg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stdout(&o).contains("not re-performed: the package fails verification"), "{}", stdout(&o));

    let tmp = tempfile::tempdir().unwrap();
    let id = keygen(tmp.path(), &[]);
    let config = samples().join("dora-evidence.toml");
    let mut args = vec!["--config".to_owned(), config.display().to_string(), "--generated-at".into(), AT.into()];
    args.extend(sign_flags(&id));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let signed = tmp.path().join("signed");
    let o = build_q3(&samples().join("input"), &signed, &args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let ca = id.join("ca.pem");
    let o = rebuild(&[signed.to_str().unwrap(), "--ca", ca.to_str().unwrap()]);
    assert_identical(&o, signed.to_str().unwrap());
}

#[test]
fn a_custom_template_is_recorded_and_used_again() {
    let tmp = tempfile::tempdir().unwrap();
    let templates = tmp.path().join("templates");
    std::fs::create_dir(&templates).unwrap();
    let builtin = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("report-templates/report.typ"));
    let custom = builtin.unwrap() + "\nCustom template marker\n";
    std::fs::write(templates.join("report.typ"), &custom).unwrap();
    let pkg = tmp.path().join("pkg");
    let args = ["--generated-at", AT, "--allow-partial", "--templates", templates.to_str().unwrap()];
    let o = build_q3(&super::sign::small_input(), &pkg, &args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(pkg.join("config/report.typ")).unwrap(), custom);
    let (ok, text) = super::util::tool("pdftotext", &["report.pdf", "-"], &pkg);
    assert!(ok && text.contains("Custom template marker"), "the custom template was rendered");
    let o = rebuild(&[pkg.to_str().unwrap(), "--allow-unsigned"]);
    assert_identical(&o, pkg.to_str().unwrap());
}

#[test]
fn one_changed_artifact_byte_fails_at_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let pkg = tmp.path().join("pkg");
    copy(sample_package(), &pkg);
    let artifact = walkdir::WalkDir::new(pkg.join("artifacts/sha256"))
        .into_iter()
        .filter_map(Result::ok)
        .find(|e| e.file_type().is_file() && e.metadata().unwrap().len() > 100)
        .unwrap()
        .into_path();
    let mut bytes = std::fs::read(&artifact).unwrap();
    bytes[50] ^= 1;
    std::fs::write(&artifact, bytes).unwrap();
    let o = rebuild(&[pkg.to_str().unwrap(), "--allow-unsigned"]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    let name = artifact.file_name().unwrap().to_str().unwrap();
    assert!(stdout(&o).contains("not re-performed: the package fails verification (files"), "{}", stdout(&o));
    assert!(stdout(&o).contains(name), "the changed artifact is named: {}", stdout(&o));
    assert!(!stdout(&o).contains("re-performed: identical"));
}

#[test]
fn an_edited_recorded_config_names_the_differing_findings() {
    let tmp = tempfile::tempdir().unwrap();
    let pkg = tmp.path().join("pkg");
    copy(sample_package(), &pkg);
    rewrite_consistently(&pkg, "config/dora-evidence.toml", |t| {
        assert!(t.contains("rto_minutes = 120"));
        t.replacen("rto_minutes = 120", "rto_minutes = 1", 1)
    });
    let o = run(&["verify", pkg.to_str().unwrap(), "--allow-unsigned"]);
    assert_eq!(o.status.code(), Some(0), "the rewritten package verifies: {}", stdout(&o));
    let o = rebuild(&[pkg.to_str().unwrap(), "--allow-unsigned"]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    for file in ["findings.json", "findings.csv", "metrics.json", "manifest.json", "report.pdf"] {
        assert!(out.contains(&format!("  {file}: differs")), "{file}: {out}");
    }
    assert!(!out.contains("  artifacts/"), "artifacts are the same: {out}");
    assert!(out.contains("manifest members that differ: config_sha256, package_id"), "{out}");
    assert!(out.contains("first differing finding: requirement dora-12-6"), "{out}");
    assert!(out.contains("first differing metric: rto_breaches: 39 in the package; 311 re-performed"), "{out}");
}

#[test]
fn another_tool_version_or_an_old_package_cannot_be_re_performed() {
    let tmp = tempfile::tempdir().unwrap();
    let pkg = tmp.path().join("pkg");
    copy(sample_package(), &pkg);
    rewrite_consistently(&pkg, "manifest.json", |t| {
        t.replacen(&format!("\"version\": \"{}\"", env!("CARGO_PKG_VERSION")), "\"version\": \"0.0.9\"", 1)
    });
    let o = rebuild(&[pkg.to_str().unwrap(), "--allow-unsigned"]);
    assert_eq!(o.status.code(), Some(2), "{}{}", stdout(&o), stderr(&o));
    assert!(stderr(&o).contains("built by dora-evidence 0.0.9 (semantics 2"), "{}", stderr(&o));
    assert!(stderr(&o).contains("Re-perform it with dora-evidence 0.0.9"), "{}", stderr(&o));

    // A package from before `config/` existed: said so, exit 2.
    let old = tmp.path().join("old");
    copy(sample_package(), &old);
    let mut m: serde_json::Value = serde_json::from_slice(&std::fs::read(old.join("manifest.json")).unwrap()).unwrap();
    m["files"].as_array_mut().unwrap().retain(|f| !f["path"].as_str().unwrap().starts_with("config/"));
    std::fs::write(old.join("manifest.json"), serde_json::to_vec_pretty(&m).unwrap()).unwrap();
    std::fs::remove_dir_all(old.join("config")).unwrap();
    let sums = std::fs::read_to_string(old.join("SHA256SUMS")).unwrap();
    std::fs::write(
        old.join("SHA256SUMS"),
        sums.lines().filter(|l| !l.contains("  config/")).map(|l| format!("{l}\n")).collect::<String>(),
    )
    .unwrap();
    rewrite_consistently(&old, "manifest.json", |t| t);
    let o = rebuild(&[old.to_str().unwrap(), "--allow-unsigned"]);
    assert_eq!(o.status.code(), Some(2), "{}{}", stdout(&o), stderr(&o));
    assert!(stderr(&o).contains("config/dora-evidence.toml"), "{}", stderr(&o));
    assert!(stderr(&o).contains("one built before cannot be re-performed"), "{}", stderr(&o));
}

#[test]
fn a_package_built_with_previous_needs_that_package() {
    let tmp = tempfile::tempdir().unwrap();
    let config = samples().join("dora-evidence.toml");
    let input = samples().join("input");
    let q2 = tmp.path().join("q2");
    let o = run(&[
        "build",
        "--input",
        input.to_str().unwrap(),
        "--period",
        "2026-Q2",
        "--out",
        q2.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
        "--generated-at",
        "2026-07-05T08:00:00Z",
        "--allow-empty",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let q3 = tmp.path().join("q3");
    let args = ["--config", config.to_str().unwrap(), "--generated-at", AT, "--previous", q2.to_str().unwrap()];
    let o = build_q3(&input, &q3, &args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    let o = rebuild(&[q3.to_str().unwrap(), "--allow-unsigned"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("pass that package with --previous"), "{}", stderr(&o));
    let o = rebuild(&[q3.to_str().unwrap(), "--allow-unsigned", "--previous", q2.to_str().unwrap()]);
    assert_identical(&o, q3.to_str().unwrap());
    // Another earlier package is refused, naming both.
    let other = tmp.path().join("other");
    build_sample(&other);
    let o = rebuild(&[q3.to_str().unwrap(), "--allow-unsigned", "--previous", other.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("the package was compared with dora-2026-q2-"), "{}", stderr(&o));
}

/// Every version of every object in `bucket`, to show nothing was written.
fn versions(rt: &tokio::runtime::Runtime, s3: &aws_sdk_s3::Client, bucket: &str) -> Vec<(String, String)> {
    rt.block_on(async {
        let out = s3.list_object_versions().bucket(bucket).max_keys(10_000).send().await.unwrap();
        let mut v: Vec<(String, String)> = out
            .versions()
            .iter()
            .map(|v| (v.key().unwrap_or("").to_owned(), v.version_id().unwrap_or("").to_owned()))
            .collect();
        v.sort();
        v
    })
}

#[test]
fn a_package_built_from_s3_and_archived_re_performs_in_its_bucket_without_a_write() {
    let endpoint = super::util::moto_endpoint();
    super::util::upload_sample_quarter(&endpoint, "rebuild-inputs");
    let tmp = tempfile::tempdir().unwrap();
    let id = keygen(tmp.path(), &[]);
    let pkg = tmp.path().join("pkg");
    let config = samples().join("dora-evidence.toml");
    let mut args: Vec<String> = ["build", "--input", "s3://rebuild-inputs/quarter", "--period", "2026-Q3"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    args.extend(["--out".into(), pkg.display().to_string(), "--config".into(), config.display().to_string()]);
    args.extend(["--generated-at".into(), AT.into()]);
    args.extend(sign_flags(&id));
    let o = dora(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let ca = id.join("ca.pem");
    let ca = ca.to_str().unwrap();
    let o = dora(&["rebuild", pkg.to_str().unwrap(), "--ca", ca]);
    assert_identical(&o, pkg.to_str().unwrap());

    let rt = rt();
    let s3 = client(&rt);
    bucket(&rt, &s3, "rebuild-locked", Some(1));
    let o = dora(&["archive", pkg.to_str().unwrap(), "--to", "s3://rebuild-locked/dora", "--ca", ca]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(pkg.join("manifest.json")).unwrap()).unwrap();
    let url = format!("s3://rebuild-locked/dora/nordhafen-bank-ag/2026-q3/{}/", m["package_id"].as_str().unwrap());
    let before = versions(&rt, &s3, "rebuild-locked");
    let o = dora(&["rebuild", &url, "--ca", ca]);
    assert_identical(&o, &url);
    assert_eq!(versions(&rt, &s3, "rebuild-locked"), before, "rebuild wrote to the bucket");
}
