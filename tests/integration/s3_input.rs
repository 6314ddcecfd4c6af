//! `build --input s3://…` against a moto server on 127.0.0.1: the sample quarter uploaded to
//! a bucket gives the same metrics as the local folder; keys outside the period's window are
//! not fetched; origins record the S3 URL, version id and ETag.

use std::path::Path;

use super::util::{build_q3, moto_endpoint, put_object, read_csv, stderr};

#[test]
fn build_from_s3_gives_the_same_metrics_as_the_local_folder() {
    let endpoint = moto_endpoint();
    super::util::upload_sample_quarter(&endpoint, "report-outputs");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let s3 = super::util::moto_s3(&endpoint);
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let input = samples.join("input");
    let files: Vec<_> =
        walkdir::WalkDir::new(&input).into_iter().filter_map(Result::ok).filter(|e| e.file_type().is_file()).collect();
    rt.block_on(async {
        // A report from March: outside the window, never fetched.
        put_object(
            &s3,
            "report-outputs",
            "quarter/Backup/111122223333/eu-central-1/2026/03/01/old-plan/BACKUP_JOB_REPORT.csv",
            b"not,evidence\n",
        )
        .await;
    });

    let tmp = tempfile::tempdir().unwrap();
    let config = samples.join("dora-evidence.toml");
    let args = ["--config", config.to_str().unwrap(), "--generated-at", "2026-10-05T08:00:00Z"];
    let o = build_q3(&input, &tmp.path().join("local"), &args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = super::util::bin_on_moto(&endpoint)
        .args(["build", "--input", "s3://report-outputs/quarter", "--period", "2026-Q3", "--out"])
        .arg(tmp.path().join("s3"))
        .args(args)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let local = std::fs::read(tmp.path().join("local/metrics.json")).unwrap();
    let remote = std::fs::read(tmp.path().join("s3/metrics.json")).unwrap();
    assert_eq!(String::from_utf8_lossy(&local), String::from_utf8_lossy(&remote));
    // The same statuses for every requirement (artifact counts differ: fewer files fetched).
    let statuses = |dir: &str| {
        let (h, rows) = read_csv(&tmp.path().join(dir).join("findings.csv"));
        let (id, st) = (h.iter().position(|c| c == "id").unwrap(), h.iter().position(|c| c == "status").unwrap());
        rows.iter().map(|r| (r[id].clone(), r[st].clone())).collect::<Vec<_>>()
    };
    assert_eq!(statuses("local"), statuses("s3"));

    let (header, rows) = read_csv(&tmp.path().join("s3/artifacts.csv"));
    let origin = header.iter().position(|h| h == "origin").unwrap();
    assert!(rows.iter().all(|r| r[origin].starts_with("s3://report-outputs/quarter/")));
    assert!(rows.iter().all(|r| r[origin].contains("?versionId=") && r[origin].contains("&etag=")), "{:?}", rows[0]);
    assert!(!rows.iter().any(|r| r[origin].contains("2026/03/01")));
    // Some daily reports of the folder fall outside the window and are not fetched either.
    assert!(rows.len() < files.len(), "{} of {}", rows.len(), files.len());
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("s3/manifest.json")).unwrap()).unwrap();
    assert_eq!(m["inputs"][0], "s3://report-outputs/quarter");
}

#[test]
fn a_large_download_is_stored_once_with_the_digest_of_its_bytes() {
    // Above the 32 MiB in-memory limit: the download is moved into the artifact store.
    let endpoint = moto_endpoint();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let s3 = super::util::moto_s3(&endpoint);
    let mut big = vec![0u8; 33 * 1024 * 1024];
    for (i, b) in big.iter_mut().enumerate() {
        *b = (i.wrapping_mul(2_654_435_761) >> 13) as u8;
    }
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&big));
    rt.block_on(async {
        super::util::create_bucket(&s3, "large-inputs").await;
        put_object(&s3, "large-inputs", "in/blob.bin", big.clone()).await;
    });
    let tmp = tempfile::tempdir().unwrap();
    let pkg = tmp.path().join("pkg");
    let o = super::util::bin_on_moto(&endpoint)
        .args(["build", "--input", "s3://large-inputs/in", "--period", "2026-Q3", "--allow-empty", "--out"])
        .arg(&pkg)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let stored = std::fs::read(pkg.join("artifacts/sha256").join(&sha)).expect("stored under its SHA-256");
    assert!(stored == big, "stored bytes differ from the object");
    let (h, rows) = read_csv(&pkg.join("artifacts.csv"));
    let col = |r: &Vec<String>, n: &str| r[h.iter().position(|c| c == n).unwrap()].clone();
    assert_eq!(rows.len(), 1);
    assert_eq!((col(&rows[0], "sha256"), col(&rows[0], "size")), (sha, big.len().to_string()));
    // Nothing of the download is left beside the package.
    let beside: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().filter_map(Result::ok).map(|e| e.file_name()).collect();
    assert_eq!(beside, [std::ffi::OsString::from("pkg")]);
}
