//! Tampering with a signed package, at random: every change must be caught, and by the check
//! that should catch it. 1,200 trials on a small package (a few seconds), every mutation
//! undone after its trial so all run on the same package.

use std::collections::BTreeMap;
use std::path::PathBuf;

use dora_evidence::sign::{Identity, KeySource, load_certificates, sign_detached};
use dora_evidence::time::Timestamp;
use dora_evidence::verify::{VerifyOptions, verify_dir};

use super::sign::{keygen, sign_flags, small_input};
use super::util::{build_q3, files_under, stderr};

const TRIALS: usize = 1200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Mutation {
    FlipByte,
    RemoveFile,
    AddFile,
    RenameFile,
    TruncateSignature,
    OtherSigner,
    AppendToPdf,
}

const MUTATIONS: [Mutation; 7] = [
    Mutation::FlipByte,
    Mutation::RemoveFile,
    Mutation::AddFile,
    Mutation::RenameFile,
    Mutation::TruncateSignature,
    Mutation::OtherSigner,
    Mutation::AppendToPdf,
];

/// The kind of a package file, for choosing one of each evenly.
fn kind(rel: &str) -> &'static str {
    match rel {
        r if r.starts_with("artifacts/sha256/") => "artifact",
        r if r.starts_with("evidence/") => "evidence",
        "manifest.json" => "manifest",
        "manifest.json.p7s" => "signature",
        "report.pdf" => "report",
        "SHA256SUMS" => "sha256sums",
        "artifacts.csv" => "artifacts.csv",
        r if r.starts_with("findings") => "findings",
        "metrics.json" => "metrics",
        _ => "other",
    }
}

/// Checks allowed to be the ones that catch a change to a file of this kind.
fn catchers(kind: &str) -> &'static [&'static str] {
    match kind {
        "manifest" => &["manifest", "files", "manifest-signature", "sha256sums"],
        "signature" => &["manifest-signature"],
        "report" => &["report-signature", "report-coverage", "sha256sums"],
        "sha256sums" => &["sha256sums"],
        _ => &["files"],
    }
}

#[test]
fn every_tampering_is_detected_by_the_right_check() {
    let tmp = tempfile::tempdir().unwrap();
    let id = keygen(tmp.path(), &[]);
    let pkg = tmp.path().join("pkg");
    let mut args = vec!["--allow-partial".to_owned(), "--generated-at".into(), "2026-10-05T08:00:00Z".into()];
    args.extend(sign_flags(&id));
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = build_q3(&small_input(), &pkg, &a);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    let opts = VerifyOptions {
        anchors: Some(load_certificates(&id.join("ca.pem")).unwrap()),
        allow_unsigned: false,
        tsa_anchors: None,
    };
    let clean = verify_dir(&pkg, &opts);
    assert!(clean.passed(), "{}", clean.to_text());

    // Another signer's signature over the very same manifest.
    let other = tempfile::tempdir().unwrap();
    let other_id = keygen(other.path(), &[]);
    let other_identity = Identity::load(
        KeySource::File { path: &other_id.join("signer.key"), insecure_permissions: false },
        &other_id.join("signer.pem"),
    )
    .unwrap();
    let manifest = std::fs::read(pkg.join("manifest.json")).unwrap();
    let foreign =
        sign_detached(&other_identity, &manifest, Timestamp::parse("2026-10-05T08:00:00Z").unwrap(), None).unwrap();

    let pristine_p7s = std::fs::read(pkg.join("manifest.json.p7s")).unwrap();
    let pristine_pdf = std::fs::read(pkg.join("report.pdf")).unwrap();
    // An empty file (the recorded configuration of a build without --config) has no byte to
    // flip or cut; its deletion and growth are covered by the other files' trials.
    let all: Vec<String> =
        files_under(&pkg).into_iter().filter(|f| std::fs::metadata(pkg.join(f)).unwrap().len() > 0).collect();
    let mut by_kind: BTreeMap<&str, Vec<&String>> = BTreeMap::new();
    for f in &all {
        by_kind.entry(kind(f)).or_default().push(f);
    }
    let kinds: Vec<&str> = by_kind.keys().copied().collect();
    assert!(kinds.len() >= 9, "{kinds:?}");

    let mut rng = fastrand::Rng::with_seed(0x0d0a_2554);
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for trial in 0..TRIALS {
        let m = MUTATIONS[trial % MUTATIONS.len()];
        let k = kinds[rng.usize(..kinds.len())];
        let target: PathBuf = pkg.join(by_kind[k][rng.usize(..by_kind[k].len())]);
        let rel = target.strip_prefix(&pkg).unwrap().to_string_lossy().into_owned();
        let original = std::fs::read(&target).unwrap();
        let (label, expected): (String, Vec<&str>) = match m {
            Mutation::FlipByte => {
                let mut b = original.clone();
                let i = rng.usize(..b.len());
                b[i] ^= rng.u8(1..);
                std::fs::write(&target, b).unwrap();
                (format!("flip a byte in {k}"), catchers(k).to_vec())
            }
            Mutation::RemoveFile => {
                std::fs::remove_file(&target).unwrap();
                let expected = match k {
                    "signature" => vec!["manifest-signature"],
                    "manifest" => vec!["manifest"],
                    "report" => vec!["report-signature"],
                    "sha256sums" => vec!["sha256sums"],
                    _ => vec!["files"],
                };
                (format!("remove {k}"), expected)
            }
            Mutation::AddFile => {
                let name = if rng.bool() { "evidence/extra.csv".to_owned() } else { format!("notes-{trial}.txt") };
                std::fs::write(pkg.join(&name), b"planted\n").unwrap();
                ("add a file".into(), vec!["no-extra-files"])
            }
            Mutation::RenameFile => {
                std::fs::rename(&target, target.with_extension("renamed")).unwrap();
                let expected = match k {
                    "signature" => vec!["manifest-signature"],
                    "manifest" => vec!["manifest"],
                    "report" => vec!["report-signature"],
                    "sha256sums" => vec!["sha256sums"],
                    _ => vec!["files", "no-extra-files"],
                };
                (format!("rename {k}"), expected)
            }
            Mutation::TruncateSignature => {
                let p = pkg.join("manifest.json.p7s");
                let b = std::fs::read(&p).unwrap();
                std::fs::write(&p, &b[..rng.usize(..b.len())]).unwrap();
                ("truncate the signature".into(), vec!["manifest-signature"])
            }
            Mutation::OtherSigner => {
                std::fs::write(pkg.join("manifest.json.p7s"), &foreign).unwrap();
                ("another signer's signature".into(), vec!["manifest-signature"])
            }
            Mutation::AppendToPdf => {
                let p = pkg.join("report.pdf");
                let mut b = std::fs::read(&p).unwrap();
                let extra: Vec<u8> = (0..rng.usize(1..64)).map(|_| rng.u8(..)).collect();
                b.extend_from_slice(&extra);
                std::fs::write(&p, b).unwrap();
                ("append bytes to the PDF".into(), vec!["report-coverage"])
            }
        };
        let report = verify_dir(&pkg, &opts);
        let failed = report.failed();
        assert!(!report.passed(), "trial {trial}: {label} ({rel}) went unnoticed:\n{}", report.to_text());
        assert!(
            failed.iter().any(|f| expected.contains(f)),
            "trial {trial}: {label} ({rel}) caught by {failed:?}, expected one of {expected:?}:\n{}",
            report.to_text()
        );
        *seen.entry(label).or_default() += 1;

        // Undo.
        match m {
            Mutation::AddFile => {
                let _ = std::fs::remove_file(pkg.join("evidence/extra.csv"));
                let _ = std::fs::remove_file(pkg.join(format!("notes-{trial}.txt")));
            }
            Mutation::RenameFile => std::fs::rename(target.with_extension("renamed"), &target).unwrap(),
            Mutation::TruncateSignature | Mutation::OtherSigner => {
                std::fs::write(pkg.join("manifest.json.p7s"), &pristine_p7s).unwrap();
            }
            Mutation::AppendToPdf => std::fs::write(pkg.join("report.pdf"), &pristine_pdf).unwrap(),
            _ => std::fs::write(&target, &original).unwrap(),
        }
    }
    let again = verify_dir(&pkg, &opts);
    assert!(again.passed(), "package not restored: {}", again.to_text());
    for m in ["truncate the signature", "another signer's signature", "append bytes to the PDF", "add a file"] {
        assert!(seen.get(m).copied().unwrap_or(0) > 50, "{m}: {seen:?}");
    }
    for k in &kinds {
        assert!(seen.get(&format!("flip a byte in {k}")).copied().unwrap_or(0) > 0, "no flip in {k}: {seen:?}");
    }
}
