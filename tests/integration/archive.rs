//! `archive` and `verify s3://…` against a real moto server on 127.0.0.1 (started by
//! scripts/test.sh, or by the tests themselves): Object Lock buckets, refused deletes,
//! idempotent re-runs, tampering in the bucket, unsafe targets.

use std::path::{Path, PathBuf};
use std::process::Output;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, DefaultRetention, ObjectLockConfiguration, ObjectLockEnabled,
    ObjectLockRetentionMode, ObjectLockRule,
};

use super::sign::{keygen, sign_flags, small_input};
use super::util::{bin, build_q3, moto_endpoint, put_object, stderr, stdout};

const REGION: &str = "eu-central-1";

pub fn env() -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", moto_endpoint()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_REGION", REGION.into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
    ]
}

pub fn dora(args: &[&str]) -> Output {
    bin().args(args).envs(env()).output().unwrap()
}

pub fn client(rt: &tokio::runtime::Runtime) -> aws_sdk_s3::Client {
    let _guard = rt.enter();
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new(REGION))
        .endpoint_url(moto_endpoint())
        .force_path_style(true)
        .credentials_provider(aws_sdk_s3::config::Credentials::new("testing", "testing", None, None, "test"))
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// A bucket; with Object Lock and a default COMPLIANCE retention of `default_days` when given.
pub fn bucket(rt: &tokio::runtime::Runtime, s3: &aws_sdk_s3::Client, name: &str, lock_days: Option<i32>) {
    rt.block_on(async {
        let cfg =
            CreateBucketConfiguration::builder().location_constraint(BucketLocationConstraint::from(REGION)).build();
        s3.create_bucket()
            .bucket(name)
            .create_bucket_configuration(cfg)
            .object_lock_enabled_for_bucket(lock_days.is_some())
            .send()
            .await
            .expect("CreateBucket");
        if let Some(days) = lock_days {
            let rule = ObjectLockRule::builder()
                .default_retention(
                    DefaultRetention::builder().mode(ObjectLockRetentionMode::Compliance).days(days).build(),
                )
                .build();
            s3.put_object_lock_configuration()
                .bucket(name)
                .object_lock_configuration(
                    ObjectLockConfiguration::builder()
                        .object_lock_enabled(ObjectLockEnabled::Enabled)
                        .rule(rule)
                        .build(),
                )
                .send()
                .await
                .expect("PutObjectLockConfiguration");
        }
    });
}

struct Fixture {
    _tmp: tempfile::TempDir,
    id: PathBuf,
    pkg: PathBuf,
}

/// A small signed package with one 6 MiB artifact, so 5 MiB parts exercise multipart upload.
fn package() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("input");
    std::fs::create_dir_all(&input).unwrap();
    for e in walkdir::WalkDir::new(small_input()).into_iter().filter_map(Result::ok).filter(|e| e.file_type().is_file())
    {
        let rel = e.path().strip_prefix(small_input()).unwrap();
        let dest = input.join(rel);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(e.path(), dest).unwrap();
    }
    let mut rng = fastrand::Rng::with_seed(42);
    let big: Vec<u8> = (0..6 * 1024 * 1024 + 123).map(|_| rng.u8(..)).collect();
    std::fs::write(input.join("console-export.bin"), big).unwrap();
    let id = keygen(tmp.path(), &[]);
    let pkg = tmp.path().join("pkg");
    let mut args = vec!["--allow-partial".to_owned()];
    args.extend(sign_flags(&id));
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = build_q3(&input, &pkg, &a);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    Fixture { _tmp: tmp, id, pkg }
}

fn package_id(pkg: &Path) -> String {
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(pkg.join("manifest.json")).unwrap()).unwrap();
    m["package_id"].as_str().unwrap().to_owned()
}

#[test]
fn archive_locks_every_object_verifies_in_the_bucket_and_detects_tampering() {
    let rt = rt();
    let s3 = client(&rt);
    bucket(&rt, &s3, "evidence-locked", Some(1));
    let f = package();
    let ca = f.id.join("ca.pem");
    let pkg = f.pkg.to_str().unwrap();
    let archive = |extra: &[&str]| {
        let mut args = vec![
            "archive",
            pkg,
            "--to",
            "s3://evidence-locked/dora",
            "--ca",
            ca.to_str().unwrap(),
            "--part-size-mib",
            "5",
        ];
        args.extend_from_slice(extra);
        dora(&args)
    };
    let o = archive(&["--retain-years", "7"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let files =
        walkdir::WalkDir::new(&f.pkg).into_iter().filter_map(Result::ok).filter(|e| e.file_type().is_file()).count();
    // Every package file uploaded (the receipt, written last, is not counted).
    assert!(stdout(&o).contains(&format!("objects: {} uploaded", files - 1)), "{}", stdout(&o));
    assert!(stdout(&o).contains("locked: COMPLIANCE until 20"), "{}", stdout(&o));
    assert!(f.pkg.join("archive-receipt.json").is_file());

    let prefix = format!("dora/unnamed-entity/2026-q3/{}/", package_id(&f.pkg));
    let url = format!("s3://evidence-locked/{prefix}");
    // Lock and checksum as the bucket reports them, for the report and the multipart artifact.
    let receipt: serde_json::Value =
        serde_json::from_slice(&std::fs::read(f.pkg.join("archive-receipt.json")).unwrap()).unwrap();
    let objects = receipt["objects"].as_array().unwrap();
    let big = objects.iter().find(|o| o["size"].as_u64().unwrap() > 6 * 1024 * 1024).expect("the 6 MiB artifact");
    rt.block_on(async {
        for key in [format!("{prefix}report.pdf"), big["key"].as_str().unwrap().to_owned()] {
            let h = s3
                .head_object()
                .bucket("evidence-locked")
                .key(&key)
                .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
                .send()
                .await
                .unwrap();
            assert_eq!(h.object_lock_mode().map(|m| m.as_str()), Some("COMPLIANCE"), "{key}");
            let until = h.object_lock_retain_until_date().unwrap().secs();
            let six_years = 6 * 365 * 86_400;
            assert!(until > chrono::Utc::now().timestamp() + six_years, "{key}: retained until {until}");
            assert!(h.checksum_sha256().is_some(), "{key}");
        }
        // A locked version cannot be deleted.
        let h = s3.head_object().bucket("evidence-locked").key(format!("{prefix}manifest.json")).send().await.unwrap();
        let err = s3
            .delete_object()
            .bucket("evidence-locked")
            .key(format!("{prefix}manifest.json"))
            .version_id(h.version_id().unwrap())
            .send()
            .await
            .expect_err("deleting a locked version must fail");
        assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(403), "{err:?}");
    });

    let o = dora(&["verify", &url, "--ca", ca.to_str().unwrap()]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{text}\n{}", stderr(&o));
    for check in
        ["files", "manifest-signature", "report-signature", "trust", "bucket-objects", "bucket-versions", "bucket-lock"]
    {
        assert!(text.lines().any(|l| l.starts_with("PASS") && l.contains(check)), "{check}: {text}");
    }
    // The local package still verifies with its receipt beside the files.
    let o = dora(&["verify", pkg, "--ca", ca.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));

    // Re-running is a no-op.
    let o = archive(&["--retain-years", "7"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("objects: 0 uploaded") && stdout(&o).contains("receipt already there"),
        "{}",
        stdout(&o)
    );

    // Someone writes a new version of an evidence file: verify in the bucket catches it.
    let key = objects.iter().map(|o| o["key"].as_str().unwrap()).find(|k| k.contains("/evidence/")).unwrap().to_owned();
    rt.block_on(async {
        put_object(&s3, "evidence-locked", &key, b"job_id,state\nforged,COMPLETED\n").await;
    });
    let o = dora(&["verify", &url, "--ca", ca.to_str().unwrap()]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(text.contains("FAIL  files") && text.contains("FAIL  bucket-versions"), "{text}");
    // And archive refuses to touch it: the key now holds other content.
    let o = archive(&["--retain-years", "7"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("different content") && stderr(&o).contains(&key), "{}", stderr(&o));
}

#[test]
fn unsafe_targets_and_unverified_packages_are_refused() {
    let rt = rt();
    let s3 = client(&rt);
    bucket(&rt, &s3, "evidence-plain", None);
    bucket(&rt, &s3, "evidence-long-default", Some(3650));
    let f = package();
    let ca = f.id.join("ca.pem");
    let (pkg, ca) = (f.pkg.to_str().unwrap(), ca.to_str().unwrap());

    let o = dora(&["archive", pkg, "--to", "s3://evidence-plain/x", "--ca", ca]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("s3://evidence-plain: Object Lock is not enabled"), "{}", stderr(&o));

    let o = dora(&["archive", pkg, "--to", "s3://evidence-long-default/x", "--ca", ca, "--retain-years", "5"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("shorter than the bucket's default retention"), "{}", stderr(&o));

    let config = f.pkg.parent().unwrap().join("policy.toml");
    std::fs::write(&config, "[archive]\nmin_retain_years = 12\n").unwrap();
    let o = dora(
        &["archive", pkg, "--to", "s3://evidence-long-default/x", "--ca", ca, "--retain-years", "11", "--config"]
            .into_iter()
            .chain([config.to_str().unwrap()])
            .collect::<Vec<_>>(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("shorter than the configured policy"), "{}", stderr(&o));

    let o = dora(&["archive", pkg, "--to", "s3://no-such-bucket/x", "--ca", ca]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("s3://no-such-bucket/") && stderr(&o).contains("NoSuchBucket"), "{}", stderr(&o));

    // A package that no longer verifies is not archived.
    let metrics = f.pkg.join("metrics.json");
    let original = std::fs::read(&metrics).unwrap();
    std::fs::write(&metrics, b"{}").unwrap();
    let o = dora(&["archive", pkg, "--to", "s3://evidence-long-default/x", "--ca", ca, "--retain-years", "11"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("does not verify (files"), "{}", stderr(&o));
    std::fs::write(&metrics, original).unwrap();

    // Explicitly allowed: an unlocked bucket works, and verify says the objects are not locked.
    let o = dora(&["archive", pkg, "--to", "s3://evidence-plain/x", "--ca", ca, "--allow-unlocked"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("locked: NO"), "{}", stdout(&o));
    let url = format!("s3://evidence-plain/x/unnamed-entity/2026-q3/{}/", package_id(&f.pkg));
    let o = dora(&["verify", &url, "--ca", ca]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stdout(&o).contains("FAIL  bucket-lock"), "{}", stdout(&o));
}

/// An interrupted run left some objects behind: the next run uploads only the rest.
#[test]
fn an_interrupted_archive_resumes_with_what_is_missing() {
    let rt = rt();
    let s3 = client(&rt);
    bucket(&rt, &s3, "evidence-resume", Some(1));
    let f = package();
    let prefix = format!("unnamed-entity/2026-q3/{}/", package_id(&f.pkg));
    let done = ["manifest.json", "SHA256SUMS", "findings.csv"];
    rt.block_on(async {
        for name in done {
            s3.put_object()
                .bucket("evidence-resume")
                .key(format!("{prefix}{name}"))
                .body(ByteStream::from_path(f.pkg.join(name)).await.unwrap())
                .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Sha256)
                .object_lock_mode(aws_sdk_s3::types::ObjectLockMode::Compliance)
                .object_lock_retain_until_date(aws_sdk_s3::primitives::DateTime::from_secs(
                    chrono::Utc::now().timestamp() + 8 * 365 * 86_400,
                ))
                .send()
                .await
                .unwrap();
        }
    });
    let files =
        walkdir::WalkDir::new(&f.pkg).into_iter().filter_map(Result::ok).filter(|e| e.file_type().is_file()).count();
    let ca = f.id.join("ca.pem");
    let o = dora(&["archive", f.pkg.to_str().unwrap(), "--to", "s3://evidence-resume", "--ca", ca.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let want = format!("objects: {} uploaded", files - done.len());
    assert!(stdout(&o).contains(&want) && stdout(&o).contains("3 already there"), "{}", stdout(&o));
    let url = format!("s3://evidence-resume/{prefix}");
    let o = dora(&["verify", &url, "--ca", ca.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    // An object planted under the package's prefix is caught.
    rt.block_on(async {
        put_object(&s3, "evidence-resume", &format!("{prefix}evidence/planted.csv"), b"a,b\n").await;
    });
    let o = dora(&["verify", &url, "--ca", ca.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("FAIL  bucket-objects") && stdout(&o).contains("planted.csv: not in the receipt"),
        "{}",
        stdout(&o)
    );
}
