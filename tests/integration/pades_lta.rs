//! Issue 17, PDF side: the sample quarter built with the test TSA carries a PAdES B-LTA
//! signature (signature timestamp, `/DSS` with both chains and the CA's CRL, document
//! timestamp). Checked by tools that are not ours: pyHanko's ETSI long-term validation
//! (`scripts/pyhanko_level.py`, offline, revocation data required), `pdfsig` and
//! `qpdf --check`; and our own `verify` catches a damaged document timestamp and bytes
//! changed after it. `scripts/test.sh` installs pyHanko; a missing module fails the test.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::test_tsa::TestTsa;
use super::util::{build_q3, require_python_module, run, samples, shared_dir, stderr, stdout, tool};

struct Lta {
    tsa: TestTsa,
    pkg: PathBuf,
    out: String,
}

/// Build flags for the test TSA's signer and the TSA itself.
fn tsa_flags(tsa: &TestTsa) -> Vec<String> {
    let (key, chain) = tsa.signer();
    let config = samples().join("dora-evidence.toml");
    vec![
        "--config".into(),
        config.display().to_string(),
        "--sign-key".into(),
        key.display().to_string(),
        "--sign-cert".into(),
        chain.display().to_string(),
        "--tsa".into(),
        tsa.url.clone(),
    ]
}

fn build_with(tsa: &TestTsa, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = tsa_flags(tsa);
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    build_q3(&samples().join("input"), out, &args)
}

/// The sample quarter at B-LTA (CRLs downloaded from the test CA's distribution point).
fn lta_sample() -> &'static Lta {
    static PKG: OnceLock<Lta> = OnceLock::new();
    PKG.get_or_init(|| {
        let tsa = TestTsa::shared("lta-tsa");
        let pkg = shared_dir("lta-package").join("pkg");
        let o = build_with(&tsa, &pkg, &[]);
        assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
        Lta { tsa, pkg, out: format!("{}{}", stdout(&o), stderr(&o)) }
    })
}

/// `verify` with the test CA as the signer's and the TSA's trust anchor.
fn verify(pkg: &Path, ca: &Path) -> (Option<i32>, String) {
    let ca = ca.to_str().unwrap();
    let o = run(&["verify", pkg.to_str().unwrap(), "--ca", ca, "--tsa-ca", ca]);
    (o.status.code(), format!("{}{}", stdout(&o), stderr(&o)))
}

#[test]
fn build_with_a_tsa_reaches_b_lta_with_revocation_data_and_verifies() {
    let s = lta_sample();
    assert!(s.out.contains("report.pdf: PAdES B-LTA"), "{}", s.out);
    assert!(!s.out.contains("no revocation data"), "{}", s.out);
    let (code, out) = verify(&s.pkg, &s.tsa.ca());
    assert_eq!(code, Some(0), "{out}");
    let level = out.lines().find(|l| l.contains("report-level")).unwrap_or_default();
    assert!(level.starts_with("PASS") && level.contains("PAdES B-LTA"), "{out}");
    assert!(level.contains("signature timestamped") && level.contains("document timestamp"), "{out}");
    let ca = s.tsa.ca();
    let o = run(&["verify", s.pkg.to_str().unwrap(), "--json", "--ca", ca.to_str().unwrap()]);
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["report_timestamps"]["level"], "B-LTA", "{json}");
    assert!(json["report_timestamps"]["document_timestamp_time"].as_str().is_some_and(|t| t.ends_with('Z')), "{json}");
    // The times list carries the report's proven times too; without --tsa-ca the level warns.
    let times = json["times"].as_array().unwrap();
    assert!(times.iter().any(|t| t["what"] == "report.pdf" && t["proven"].is_string()), "{json}");
    assert!(times.iter().any(|t| t["what"] == "report.pdf (document timestamp)"), "{json}");
    let level = json["checks"].as_array().unwrap().iter().find(|c| c["check"] == "report-level").unwrap();
    assert_eq!(level["status"], "warn", "{json}");
}

#[test]
fn pyhanko_validates_the_report_at_b_lta() {
    require_python_module("pyhanko", "pyhanko==0.38.0");
    let s = lta_sample();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/pyhanko_level.py");
    let ca = s.tsa.ca();
    let (ok, out) = tool("python3", &[script.to_str().unwrap(), "report.pdf", ca.to_str().unwrap()], &s.pkg);
    assert!(ok, "{out}");
    for want in [
        "signatures: 1",
        "document_timestamps: 1",
        "ades_status: PASSED",
        "intact: True",
        "valid: True",
        "trusted: True",
        "signature_timestamp: True",
        "dss: True",
        "level: B-LTA",
    ] {
        assert!(out.lines().any(|l| l == want), "pyHanko did not say '{want}':\n{out}");
    }
}

#[test]
fn pdfsig_shows_the_signature_and_the_document_timestamp_and_qpdf_accepts_the_file() {
    let s = lta_sample();
    let (_, out) = tool("pdfsig", &["-nocert", "report.pdf"], &s.pkg);
    let (first, second) = out.split_once("Signature #2:").unwrap_or_else(|| panic!("one signature only:\n{out}"));
    // The signature: valid (pdfsig exits 0 even on a mismatch: read what it says), and no
    // longer the whole file, since the /DSS and the document timestamp follow it.
    assert!(first.contains("Signature Type: ETSI.CAdES.detached"), "{out}");
    assert!(first.contains("Signature Validation: Signature is Valid."), "{out}");
    assert!(first.contains("Not total document signed"), "{out}");
    // The document timestamp: signed by the TSA over the whole file. (Poppler 22 names its
    // type "unknown" and does not check RFC 3161 tokens; pyHanko does, above.)
    assert!(second.contains("Signer Certificate Common Name: dora-evidence TEST TSA"), "{out}");
    assert!(second.contains("Total document signed") && !second.contains("Not total"), "{out}");
    let (ok, out) = tool("qpdf", &["--check", "report.pdf"], &s.pkg);
    assert!(ok, "{out}");
}

/// A copy of the package with `report.pdf` changed by `f`.
fn tampered(f: impl FnOnce(&mut Vec<u8>)) -> (tempfile::TempDir, PathBuf) {
    let s = lta_sample();
    let tmp = tempfile::tempdir().unwrap();
    let pkg = tmp.path().join("pkg");
    let (ok, out) = tool("cp", &["-r", s.pkg.to_str().unwrap(), pkg.to_str().unwrap()], tmp.path());
    assert!(ok, "{out}");
    let mut pdf = std::fs::read(pkg.join("report.pdf")).unwrap();
    f(&mut pdf);
    std::fs::write(pkg.join("report.pdf"), pdf).unwrap();
    (tmp, pkg)
}

/// Where `needle` last occurs in `hay`.
fn rfind(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).rposition(|w| w == needle).unwrap_or_else(|| panic!("{:?} not found", needle))
}

/// Where the `/Contents` hex of the last signature dictionary (the document timestamp) starts.
fn last_contents(pdf: &[u8]) -> usize {
    let at = rfind(pdf, b"/SubFilter /ETSI.RFC3161");
    at + rfind(&pdf[at..], b"/Contents <") + b"/Contents <".len()
}

fn check_line<'a>(out: &'a str, check: &str) -> &'a str {
    out.lines().find(|l| l.split_whitespace().nth(1) == Some(check)).unwrap_or_default()
}

#[test]
fn a_damaged_document_timestamp_is_caught() {
    // A hex digit early in the token (its TSTInfo) changed.
    let (_tmp, pkg) = tampered(|pdf| {
        let i = last_contents(pdf) + 200;
        pdf[i] = if pdf[i] == b'0' { b'1' } else { b'0' };
    });
    let (code, out) = verify(&pkg, &lta_sample().tsa.ca());
    assert_eq!(code, Some(1), "{out}");
    assert!(check_line(&out, "report-level").starts_with("FAIL"), "{out}");
    assert!(check_line(&out, "report-level").contains("document timestamp"), "{out}");
}

#[test]
fn a_changed_byte_in_the_dss_update_or_after_the_timestamp_is_caught() {
    // In the /DSS update (covered by the document timestamp only).
    let (_tmp, pkg) = tampered(|pdf| {
        let i = rfind(pdf, b"/DSS ") + 1;
        pdf[i] = b'X';
    });
    let (code, out) = verify(&pkg, &lta_sample().tsa.ca());
    assert_eq!(code, Some(1), "{out}");
    assert!(check_line(&out, "report-level").starts_with("FAIL"), "{out}");
    // Bytes appended after the document timestamp's revision.
    let (_tmp, pkg) = tampered(|pdf| pdf.extend_from_slice(b"% appended\n"));
    let (code, out) = verify(&pkg, &lta_sample().tsa.ca());
    assert_eq!(code, Some(1), "{out}");
    assert!(check_line(&out, "report-coverage").contains("after the signed range"), "{out}");
}

#[test]
fn revocation_data_absent_is_reported_and_given_crls_are_used() {
    let tsa = TestTsa::start();
    let tmp = tempfile::tempdir().unwrap();
    // No downloads, no files: every certificate is reported, the build still succeeds.
    let o = build_with(&tsa, &tmp.path().join("none"), &["--no-crl-download"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("warning: no revocation data for CN=dora-evidence TEST document signer"), "{err}");
    assert!(err.contains("warning: no revocation data for CN=dora-evidence TEST TSA"), "{err}");
    // The CA's CRL given as a file covers both.
    let crl = tsa.crl();
    let o = build_with(&tsa, &tmp.path().join("file"), &["--no-crl-download", "--crl", crl.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stderr(&o).contains("no revocation data"), "{}", stderr(&o));
    // A CRL from another issuer is refused (exit 2) and names the file.
    let other = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tsa/tsa-ca.pem");
    let o = build_with(&tsa, &tmp.path().join("bad"), &["--crl", other.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("tsa-ca.pem"), "{}", stderr(&o));
}

/// A signer whose certificate names only an OCSP responder (no CRL distribution point):
/// `build` asks the responder (RFC 6960 over HTTP POST), the response goes into the `/DSS`,
/// and pyHanko's long-term validation — revocation data required — passes with it.
#[test]
fn an_ocsp_only_signer_gets_its_response_from_the_responder() {
    require_python_module("pyhanko", "pyhanko==0.38.0");
    let tsa = TestTsa::start();
    let tmp = tempfile::tempdir().unwrap();
    let pkg = tmp.path().join("pkg");
    let (key, chain) = (tsa.pki("ocspsigner.key"), tsa.pki("ocspsigner-chain.pem"));
    let args = ["--allow-partial", "--sign-key", key.to_str().unwrap(), "--sign-cert", chain.to_str().unwrap()];
    let mut args = args.to_vec();
    args.extend(["--tsa", &tsa.url]);
    let o = build_q3(&super::sign::small_input(), &pkg, &args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stderr(&o).contains("no revocation data"), "{}", stderr(&o));
    let ca = tsa.ca();
    let o = run(&["verify", pkg.to_str().unwrap(), "--ca", ca.to_str().unwrap(), "--tsa-ca", ca.to_str().unwrap()]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(check_line(&text, "report-level").starts_with("PASS"), "{text}");
    assert!(!text.contains("no revocation data"), "{text}");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/pyhanko_level.py");
    let (ok, out) = tool("python3", &[script.to_str().unwrap(), "report.pdf", ca.to_str().unwrap()], &pkg);
    assert!(ok, "{out}");
    for want in ["ades_status: PASSED", "level: B-LTA"] {
        assert!(out.lines().any(|l| l == want), "pyHanko did not say '{want}':\n{out}");
    }
}
