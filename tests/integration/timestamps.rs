//! Trusted time (issue 17): RFC 3161 timestamps from the test TSA (`openssl ts -reply` on
//! 127.0.0.1, see `test_tsa.rs`) on the manifest signature (CAdES-T), the proven signing time
//! in `verify`, signatures that outlive their certificate, TSA faults, and renewals with
//! `dora-evidence timestamp` — checked with `openssl ts -verify` and `sha256sum -c`, and the
//! token taken out of the CMS with asn1crypto (installed with pyHanko), not with our code.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::sign::{Signed, build_signed_sample, keygen, sign_flags, small_input};
use super::test_tsa::{TestTsa, down_url};
use super::util::{build_q3, files_under, run, shared_dir, stderr, stdout, tool};

struct Stamped {
    tsa: TestTsa,
    signed: Signed,
}

/// The sample quarter, signed with a keygen identity and timestamped by the test TSA.
fn stamped_sample() -> &'static Stamped {
    static PKG: OnceLock<Stamped> = OnceLock::new();
    PKG.get_or_init(|| {
        let tsa = TestTsa::shared("stamped-tsa");
        let flags = ["--tsa".to_owned(), tsa.url.clone(), "--tsa-ca".into(), tsa.ca().display().to_string()];
        let signed = build_signed_sample(&shared_dir("stamped-package"), &flags);
        Stamped { tsa, signed }
    })
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `verify DIR --ca … --tsa-ca … [extra]`.
fn verify(pkg: &Path, ca: &Path, tsa_ca: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["verify", s(pkg), "--ca", s(ca), "--tsa-ca", s(tsa_ca)];
    args.extend_from_slice(extra);
    run(&args)
}

/// Writes the signature value and the signatureTimeStampToken of a CMS file (asn1crypto).
fn extract_token(p7s: &Path, signature_out: &Path, token_out: &Path) {
    let script = r#"
import sys
from asn1crypto import cms
si = cms.ContentInfo.load(open(sys.argv[1], 'rb').read())['content']['signer_infos'][0]
open(sys.argv[2], 'wb').write(si['signature'].native)
tokens = [a['values'][0].dump() for a in (si['unsigned_attrs'] or []) if a['type'].dotted == '1.2.840.113549.1.9.16.2.14']
assert len(tokens) == 1, 'expected one signatureTimeStampToken'
open(sys.argv[3], 'wb').write(tokens[0])
"#;
    let (ok, out) = tool("python3", &["-c", script, s(p7s), s(signature_out), s(token_out)], Path::new("."));
    assert!(ok, "asn1crypto (installed with pyHanko by scripts/test.sh) reads the CMS: {out}");
}

/// `openssl ts -verify -data DATA -in TOKEN -token_in` against the test TSA's CA.
fn openssl_ts_verify(tsa: &TestTsa, data: &Path, token: &Path) -> (bool, String) {
    let (ca, cert) = (tsa.ca(), tsa.cert());
    let args =
        ["ts", "-verify", "-data", s(data), "-in", s(token), "-token_in", "-CAfile", s(&ca), "-untrusted", s(&cert)];
    tool("openssl", &args, Path::new("."))
}

#[test]
fn a_timestamped_package_verifies_with_its_proven_time_and_openssl_agrees() {
    let st = stamped_sample();
    let o = verify(&st.signed.pkg, &st.signed.id.join("ca.pem"), &st.tsa.ca(), &[]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{text}{}", stderr(&o));
    assert!(text.contains("PASS  manifest-timestamp"), "{text}");
    assert!(text.contains("signature proven to exist at"), "{text}");
    assert!(text.contains("at the proven signing time"), "{text}");
    assert!(text.contains("signing time proven by a trusted TSA"), "{text}");
    let manifest = std::fs::read_to_string(st.signed.pkg.join("manifest.json")).unwrap();
    assert!(manifest.contains(&format!("\"timestamp_authority\": \"{}\"", st.tsa.url)), "{manifest}");

    // The token, taken out of the CMS by asn1crypto, checked by openssl over the signature value.
    let work = tempfile::tempdir().unwrap();
    let (sig, token) = (work.path().join("sig.bin"), work.path().join("token.der"));
    extract_token(&st.signed.pkg.join("manifest.json.p7s"), &sig, &token);
    let (ok, out) = openssl_ts_verify(&st.tsa, &sig, &token);
    assert!(ok && out.contains("Verification: OK"), "{out}");
    // … and not over other bytes.
    std::fs::write(&sig, b"another signature value").unwrap();
    let (ok, out) = openssl_ts_verify(&st.tsa, &sig, &token);
    assert!(!ok && out.contains("message imprint mismatch"), "{out}");
    // Long-term validation data in the CMS: the TSA's certificate and the CRL its CA serves.
    let (ok, out) =
        tool("openssl", &["pkcs7", "-inform", "DER", "-in", "manifest.json.p7s", "-print_certs"], &st.signed.pkg);
    assert!(ok, "{out}");
    assert!(out.contains("subject=CN = dora-evidence TEST TSA\n"), "the TSA's certificate: {out}");
    assert!(out.contains("Certificate Revocation List"), "the TSA CA's CRL: {out}");
    // openssl still verifies the CMS itself (the unsigned attribute is not signed content).
    let args = ["cms", "-verify", "-binary", "-inform", "DER", "-in", "manifest.json.p7s", "-content", "manifest.json"];
    let ca = st.signed.id.join("ca.pem");
    let mut args = args.to_vec();
    args.extend(["-CAfile", s(&ca), "-out", "/dev/null"]);
    let (ok, out) = tool("openssl", &args, &st.signed.pkg);
    assert!(ok, "{out}");
}

#[test]
fn verify_json_carries_the_claimed_and_proven_times() {
    let st = stamped_sample();
    let o = verify(&st.signed.pkg, &st.signed.id.join("ca.pem"), &st.tsa.ca(), &["--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let times = doc["times"].as_array().unwrap();
    let manifest = times.iter().find(|t| t["what"] == "manifest.json.p7s").unwrap();
    assert_eq!(manifest["claimed"], "2026-10-05T08:00:00Z");
    let proven = manifest["proven"].as_str().unwrap();
    assert!(proven > "2026-10-05T08:00:00Z", "the TSA's time is now, not the claimed one: {proven}");
    assert!(manifest["tsa"].as_str().unwrap().contains("TEST TSA"), "{manifest}");
}

#[test]
fn without_tsa_ca_the_token_is_checked_but_the_tsa_is_not_trusted() {
    let st = stamped_sample();
    let o = run(&["verify", s(&st.signed.pkg), "--ca", s(&st.signed.id.join("ca.pem"))]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(text.contains("WARN  manifest-timestamp") && text.contains("pass --tsa-ca"), "{text}");
    // A TSA CA that did not issue the TSA's certificate: the token is refused.
    let o = verify(&st.signed.pkg, &st.signed.id.join("ca.pem"), &st.signed.id.join("ca.pem"), &[]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(text.contains("FAIL  manifest-timestamp") && text.contains("does not chain to the TSA CA"), "{text}");
}

#[test]
fn an_untimestamped_package_verifies_with_a_warning_that_its_time_is_only_claimed() {
    let tmp = tempfile::tempdir().unwrap();
    let id = keygen(tmp.path(), &[]);
    let mut args = vec!["--allow-partial".to_owned()];
    args.extend(sign_flags(&id));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let pkg = tmp.path().join("pkg");
    let o = build_q3(&small_input(), &pkg, &args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run(&["verify", s(&pkg), "--ca", s(&id.join("ca.pem"))]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(text.contains("WARN  manifest-timestamp") && text.contains("only claimed by the signer"), "{text}");
    assert!(text.contains("NOT proven by a trusted TSA"), "{text}");
}

/// Copies the stamped sample, so a test may damage its copy.
fn copy_of(st: &Stamped, into: &Path) -> PathBuf {
    let dst = into.join("copy");
    for f in files_under(&st.signed.pkg) {
        let to = dst.join(&f);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(st.signed.pkg.join(&f), to).unwrap();
    }
    dst
}

/// Replaces the manifest signature's token (asn1crypto) with `token` bytes.
fn replace_token(p7s: &Path, token: &[u8], work: &Path) {
    let script = r#"
import sys
from asn1crypto import cms
ci = cms.ContentInfo.load(open(sys.argv[1], 'rb').read())
si = ci['content']['signer_infos'][0]
attr = si['unsigned_attrs'][0]
attr['values'] = [cms.ContentInfo.load(open(sys.argv[2], 'rb').read())]
open(sys.argv[1], 'wb').write(ci.dump(force=True))
"#;
    let t = work.join("replacement.der");
    std::fs::write(&t, token).unwrap();
    let (ok, out) = tool("python3", &["-c", script, s(p7s), s(&t)], work);
    assert!(ok, "{out}");
}

#[test]
fn a_forged_or_mismatched_token_is_named() {
    let st = stamped_sample();
    let tmp = tempfile::tempdir().unwrap();
    let (sig, token) = (tmp.path().join("sig.bin"), tmp.path().join("token.der"));
    extract_token(&st.signed.pkg.join("manifest.json.p7s"), &sig, &token);
    let good = std::fs::read(&token).unwrap();

    // A genuine token of the same TSA, but over other data.
    let other = tmp.path().join("other");
    std::fs::write(&other, b"other data").unwrap();
    let query = tmp.path().join("q.tsq");
    let (ok, out) =
        tool("openssl", &["ts", "-query", "-data", s(&other), "-sha256", "-cert", "-out", s(&query)], tmp.path());
    assert!(ok, "{out}");
    let reply = curl_post(&st.tsa.url, &query);
    let reply_file = tmp.path().join("r.tsr");
    std::fs::write(&reply_file, reply).unwrap();
    let other_token = tmp.path().join("other.der");
    let args = ["ts", "-reply", "-in", s(&reply_file), "-token_out", "-out", s(&other_token)];
    let (ok, out) = tool("openssl", &args, tmp.path());
    assert!(ok, "{out}");

    let cases: [(&str, Vec<u8>, &str); 2] = [
        ("swapped", std::fs::read(&other_token).unwrap(), "imprint does not match"),
        ("forged", forged(&good), "forged or mismatched timestamp token"),
    ];
    for (name, bytes, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        let pkg = copy_of(st, dir.path());
        replace_token(&pkg.join("manifest.json.p7s"), &bytes, dir.path());
        let o = verify(&pkg, &st.signed.id.join("ca.pem"), &st.tsa.ca(), &[]);
        let text = stdout(&o);
        assert_eq!(o.status.code(), Some(1), "{name}: {text}");
        assert!(text.contains("FAIL  manifest-timestamp") && text.contains(expected), "{name}: {text}");
    }
}

/// The token with the last digit of its genTime changed (still well-formed DER).
fn forged(token: &[u8]) -> Vec<u8> {
    // genTime is the first GeneralizedTime (tag 0x18, 15 bytes `YYYYMMDDHHMMSSZ`).
    let pos = token.windows(2).position(|w| w == [0x18, 0x0f]).expect("a genTime") + 2 + 13;
    let mut bad = token.to_vec();
    bad[pos] = if bad[pos] == b'9' { b'8' } else { bad[pos] + 1 };
    bad
}

fn curl_post(url: &str, query: &Path) -> Vec<u8> {
    let o = std::process::Command::new("curl")
        .args(["-sf", "-H", "Content-Type: application/timestamp-query", "--data-binary"])
        .arg(format!("@{}", query.display()))
        .arg(url)
        .output()
        .expect("curl runs");
    assert!(o.status.success());
    o.stdout
}

#[test]
fn tsa_faults_fail_the_build_with_exit_2_and_leave_no_package() {
    let tsa = TestTsa::start_with_slow(20);
    let tmp = tempfile::tempdir().unwrap();
    let id = keygen(tmp.path(), &[]);
    let cases = [
        (down_url(), "connection refused"),
        (tsa.at("/503"), "HTTP 503"),
        (tsa.at("/slow"), "no answer within 2 s"),
        (tsa.at("/garbage"), "not an RFC 3161 TimeStampResp"),
        (tsa.at("/reject"), "refused the request"),
        (tsa.at("/wrong-imprint"), "imprint does not match"),
        (tsa.at("/no-nonce"), "does not carry the nonce"),
        (tsa.at("/no-eku"), "lacks the timeStamping"),
        (tsa.at("/sha1"), "imprint uses"),
        (tsa.at("/bad-signature"), "does not verify"),
    ];
    for (i, (url, expected)) in cases.iter().enumerate() {
        let out = tmp.path().join(format!("pkg{i}"));
        let mut args =
            vec!["--allow-partial".to_owned(), "--tsa".into(), url.clone(), "--tsa-timeout".into(), "2".into()];
        args.extend(sign_flags(&id));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = build_q3(&small_input(), &out, &args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{url}: {err}");
        assert!(err.contains(expected), "{url}: expected {expected:?} in: {err}");
        assert!(!out.exists(), "{url}: a package was left at {}", out.display());
    }
}

#[test]
fn with_tsa_optional_a_failing_tsa_gives_an_untimestamped_package_that_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let id = keygen(tmp.path(), &[]);
    let pkg = tmp.path().join("pkg");
    let mut args = vec!["--allow-partial".to_owned(), "--tsa".into(), down_url(), "--tsa-optional".into()];
    args.extend(sign_flags(&id));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = build_q3(&small_input(), &pkg, &args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("NOT TIMESTAMPED"), "{}", stderr(&o));
    let manifest = std::fs::read_to_string(pkg.join("manifest.json")).unwrap();
    assert!(manifest.contains("\"timestamp_missing\""), "{manifest}");
    let o = run(&["verify", s(&pkg), "--ca", s(&id.join("ca.pem"))]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(text.contains("WARN  manifest-timestamp") && text.contains("the TSA failed at build time"), "{text}");
    let (ok, cover) = tool("pdftotext", &["-l", "1", "report.pdf", "-"], &pkg);
    assert!(ok, "{cover}");
    let cover = cover.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(cover.contains("NOT timestamped"), "{cover}");
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// A signer certificate valid from `from` to `to` (Unix seconds), with its own CA.
fn short_lived(dir: &Path, from: u64, to: u64) -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tsa/short_lived_signer.py");
    let out = dir.join("short");
    let (ok, text) = tool("python3", &[s(&script), s(&out), &from.to_string(), &to.to_string()], Path::new("."));
    assert!(ok, "{text}");
    out
}

fn time_arg(secs: u64) -> String {
    chrono::DateTime::from_timestamp(secs as i64, 0).unwrap().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The issue's case: a certificate that expires a minute after signing still verifies,
/// by the proven time, once it has expired.
#[test]
fn a_signer_certificate_that_expired_after_the_proven_time_still_verifies() {
    let tsa = TestTsa::start();
    let tmp = tempfile::tempdir().unwrap();
    let now = unix_now();
    let expires = now + 60;
    let id = short_lived(tmp.path(), now - 300, expires);
    let pkg = tmp.path().join("pkg");
    let mut args = vec!["--allow-partial".to_owned(), "--tsa".into(), tsa.url.clone()];
    args.extend(["--generated-at".into(), time_arg(now)]);
    args.extend(sign_flags(&id));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = build_q3(&small_input(), &pkg, &args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let wait = (expires + 2).saturating_sub(unix_now());
    std::thread::sleep(Duration::from_secs(wait));
    let o = verify(&pkg, &id.join("ca.pem"), &tsa.ca(), &[]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(text.contains("PASS  trust") && text.contains("after that time; the signature stands"), "{text}");
}

#[test]
fn a_signer_certificate_not_valid_at_the_proven_time_is_refused() {
    let tsa = TestTsa::start();
    let tmp = tempfile::tempdir().unwrap();
    let now = unix_now();
    // Valid two hours ago for one hour; the signer claims a time inside that window.
    let id = short_lived(tmp.path(), now - 7200, now - 3600);
    let pkg = tmp.path().join("pkg");
    let mut args = vec!["--allow-partial".to_owned(), "--tsa".into(), tsa.url.clone()];
    args.extend(["--generated-at".into(), time_arg(now - 5400)]);
    args.extend(sign_flags(&id));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = build_q3(&small_input(), &pkg, &args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = verify(&pkg, &id.join("ca.pem"), &tsa.ca(), &[]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(text.contains("FAIL  trust") && text.contains("at the proven signing time"), "{text}");
    assert!(text.contains("not valid then"), "{text}");
}

/// `sha256sum`-style digests of every file of a package, to compare before and after.
fn snapshot(pkg: &Path) -> Vec<(String, Vec<u8>)> {
    files_under(pkg).into_iter().map(|f| (f.clone(), std::fs::read(pkg.join(&f)).unwrap())).collect()
}

#[test]
fn renewals_add_files_change_no_byte_and_chain() {
    let st = stamped_sample();
    let tmp = tempfile::tempdir().unwrap();
    let pkg = copy_of(st, tmp.path());
    let before = snapshot(&pkg);
    let (ca, tsa_ca) = (st.signed.id.join("ca.pem"), st.tsa.ca());
    let timestamp = |extra: &[&str]| {
        let mut args = vec!["timestamp", s(&pkg), "--tsa", &st.tsa.url, "--tsa-ca", s(&tsa_ca), "--ca", s(&ca)];
        args.extend_from_slice(extra);
        run(&args)
    };
    let o = timestamp(&[]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("renewal 0001"), "{}", stdout(&o));
    let after = snapshot(&pkg);
    let added: Vec<_> = after.iter().filter(|f| !before.contains(f)).map(|(p, _)| p.as_str()).collect();
    assert_eq!(added, ["timestamps/renewal-0001.json", "timestamps/renewal-0001.tsr"]);
    assert!(before.iter().all(|f| after.contains(f)), "an earlier byte changed");
    let (ok, out) = tool("sha256sum", &["-c", "--quiet", "SHA256SUMS"], &pkg);
    assert!(ok, "{out}");
    // openssl checks the renewal's token over the renewal's JSON.
    let (json, tsr) = (pkg.join("timestamps/renewal-0001.json"), pkg.join("timestamps/renewal-0001.tsr"));
    let (ok, out) = openssl_ts_verify(&st.tsa, &json, &tsr);
    assert!(ok && out.contains("Verification: OK"), "{out}");

    // A second renewal away from SHA-256 covers the first.
    let o = timestamp(&["--hash", "sha512"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let second = std::fs::read_to_string(pkg.join("timestamps/renewal-0002.json")).unwrap();
    assert!(second.contains("\"hash\": \"SHA-512\"") && second.contains("timestamps/renewal-0001.tsr"), "{second}");
    let o = verify(&pkg, &ca, &tsa_ca, &[]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(text.contains("PASS  archive-timestamps") && text.contains("2 renewal(s), chain intact"), "{text}");

    // Damage: a changed byte in an earlier renewal, then a missing token.
    let mut bytes = std::fs::read(&json).unwrap();
    let at = bytes.iter().position(|&b| b == b'0').unwrap();
    bytes[at] = b'1';
    std::fs::write(&json, &bytes).unwrap();
    let text = stdout(&verify(&pkg, &ca, &tsa_ca, &[]));
    assert!(text.contains("FAIL  archive-timestamps") && text.contains("renewal-0001.json"), "{text}");
    std::fs::remove_file(&tsr).unwrap();
    let text = stdout(&verify(&pkg, &ca, &tsa_ca, &[]));
    assert!(text.contains("FAIL  archive-timestamps") && text.contains("renewal-0001.tsr is missing"), "{text}");
}

#[test]
fn a_package_that_does_not_verify_is_not_renewed() {
    let st = stamped_sample();
    let tmp = tempfile::tempdir().unwrap();
    let pkg = copy_of(st, tmp.path());
    std::fs::write(pkg.join("findings.csv"), b"changed\n").unwrap();
    let o = run(&["timestamp", s(&pkg), "--tsa", &st.tsa.url]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(stderr(&o).contains("does not verify"), "{}", stderr(&o));
    assert!(!pkg.join("timestamps").exists());
    let empty = tempfile::tempdir().unwrap();
    let o = run(&["timestamp", s(empty.path()), "--tsa", &st.tsa.url]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not a dora-evidence package (no manifest.json)"), "{}", stderr(&o));
    assert_eq!(std::fs::read_dir(empty.path()).unwrap().count(), 0, "nothing written into a folder that is no package");
}

/// In an Object Lock bucket (moto): the renewal writes two new locked objects and a renewal
/// receipt; the package's receipt and objects stay as they were, and `verify s3://` accepts
/// the renewal and checks it.
#[test]
fn a_renewal_in_an_object_lock_bucket_adds_locked_objects_and_a_receipt() {
    use super::archive::{bucket, client, dora, rt};
    let st = stamped_sample();
    let tmp = tempfile::tempdir().unwrap();
    let pkg = copy_of(st, tmp.path());
    let (rt, ca, tsa_ca) = (rt(), st.signed.id.join("ca.pem"), st.tsa.ca());
    let s3 = client(&rt);
    bucket(&rt, &s3, "evidence-renewed", Some(1));
    let o = dora(&["archive", s(&pkg), "--to", "s3://evidence-renewed/dora", "--ca", s(&ca), "--retain-years", "7"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(pkg.join("manifest.json")).unwrap()).unwrap();
    let id = manifest["package_id"].as_str().unwrap();
    let prefix = format!("dora/nordhafen-bank-ag/2026-q3/{id}/");
    let url = format!("s3://evidence-renewed/{prefix}");
    let receipt_before = object(&rt, &s3, &format!("{prefix}archive-receipt.json"));

    let o = dora(&["timestamp", &url, "--tsa", &st.tsa.url, "--tsa-ca", s(&tsa_ca), "--ca", s(&ca)]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert_eq!(object(&rt, &s3, &format!("{prefix}archive-receipt.json")), receipt_before);
    let renewal_receipt: serde_json::Value =
        serde_json::from_slice(&object(&rt, &s3, &format!("{prefix}timestamps/renewal-0001.receipt.json"))).unwrap();
    let paths: Vec<_> = renewal_receipt["objects"].as_array().unwrap().iter().map(|o| o["path"].clone()).collect();
    assert_eq!(paths, ["timestamps/renewal-0001.json", "timestamps/renewal-0001.tsr"]);
    rt.block_on(async {
        let h = s3
            .head_object()
            .bucket("evidence-renewed")
            .key(format!("{prefix}timestamps/renewal-0001.tsr"))
            .send()
            .await
            .unwrap();
        assert_eq!(h.object_lock_mode().map(|m| m.as_str()), Some("COMPLIANCE"));
    });
    let o = dora(&["verify", &url, "--ca", s(&ca), "--tsa-ca", s(&tsa_ca)]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{text}{}", stderr(&o));
    for check in ["bucket-objects", "bucket-versions", "bucket-lock", "archive-timestamps", "manifest-timestamp"] {
        assert!(text.lines().any(|l| l.starts_with("PASS") && l.contains(check)), "{check}: {text}");
    }
}

fn object(rt: &tokio::runtime::Runtime, s3: &aws_sdk_s3::Client, key: &str) -> Vec<u8> {
    rt.block_on(async {
        let o = s3.get_object().bucket("evidence-renewed").key(key).send().await.unwrap();
        o.body.collect().await.unwrap().into_bytes().to_vec()
    })
}

/// Renewals are ours: `build --force` replaces a renewed package whole, leaving nothing of it.
#[test]
fn force_replaces_a_renewed_package_whole() {
    let tsa = TestTsa::start();
    let tmp = tempfile::tempdir().unwrap();
    let id = keygen(tmp.path(), &[]);
    let pkg = tmp.path().join("pkg");
    let mut args = vec!["--allow-partial".to_owned(), "--tsa".into(), tsa.url.clone()];
    args.extend(sign_flags(&id));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = build_q3(&small_input(), &pkg, &args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run(&["timestamp", s(&pkg), "--tsa", &tsa.url, "--ca", s(&id.join("ca.pem"))]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let mut again = args.clone();
    again.push("--force");
    let o = build_q3(&small_input(), &pkg, &again);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!pkg.join("timestamps").exists(), "the old renewal was left behind");
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(leftovers.len(), 2, "{leftovers:?}");
}

/// The token is asked for after AWS KMS signed (moto): CAdES-T works with a key that never
/// leaves KMS, and openssl confirms the token over the KMS signature value.
#[test]
fn a_kms_signature_gets_its_timestamp_too() {
    let endpoint = super::util::moto_endpoint();
    let (key_id, _) = super::sign::create_kms_key(&endpoint);
    let tsa = TestTsa::start();
    let tmp = tempfile::tempdir().unwrap();
    let id = tmp.path().join("id");
    let o = super::util::bin_on_moto(&endpoint)
        .args(["keygen", "--out", s(&id), "--kms-key-id", &key_id])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let pkg = tmp.path().join("pkg");
    let o = super::util::bin_on_moto(&endpoint)
        .args(["build", "--input", s(&small_input()), "--period", "2026-Q3", "--allow-partial", "--out", s(&pkg)])
        .args(["--sign-kms-key-id", &key_id, "--sign-cert", s(&id.join("signer.pem")), "--tsa", &tsa.url])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = verify(&pkg, &id.join("ca.pem"), &tsa.ca(), &[]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(text.contains("PASS  manifest-timestamp"), "{text}");
    let (sig, token) = (tmp.path().join("sig.bin"), tmp.path().join("token.der"));
    extract_token(&pkg.join("manifest.json.p7s"), &sig, &token);
    let (ok, out) = openssl_ts_verify(&tsa, &sig, &token);
    assert!(ok && out.contains("Verification: OK"), "{out}");
}

/// HTTP basic auth: the user and password come from the environment; a wrong password is a
/// clear failure, and the password shows nowhere (stderr, package).
#[test]
fn tsa_basic_auth_comes_from_the_environment_and_never_shows() {
    let tsa = TestTsa::start();
    let tmp = tempfile::tempdir().unwrap();
    let id = keygen(tmp.path(), &[]);
    let build = |out: &str, password: Option<&str>| {
        let mut cmd = super::util::bin();
        cmd.args(["build", "--input", s(&small_input()), "--period", "2026-Q3", "--allow-partial"])
            .args(["--out", s(&tmp.path().join(out)), "--tsa", &tsa.at("/auth")])
            .args(sign_flags(&id));
        if let Some(p) = password {
            cmd.env("DORA_EVIDENCE_TSA_USER", "tsa-user").env("DORA_EVIDENCE_TSA_PASSWORD", p);
        }
        cmd.output().unwrap()
    };
    let o = build("ok", Some("tsa-secret"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stderr(&o).contains("tsa-secret"));
    for f in files_under(&tmp.path().join("ok")) {
        let bytes = std::fs::read(tmp.path().join("ok").join(&f)).unwrap();
        assert!(!bytes.windows(10).any(|w| w == b"tsa-secret"), "{f} holds the password");
    }
    let o = run(&["verify", s(&tmp.path().join("ok")), "--ca", s(&id.join("ca.pem")), "--tsa-ca", s(&tsa.ca())]);
    assert!(stdout(&o).contains("PASS  manifest-timestamp"), "{}", stdout(&o));
    for (out, password) in [("wrong", Some("wrong-secret-123")), ("none", None)] {
        let o = build(out, password);
        assert_eq!(o.status.code(), Some(2), "{out}: {}", stderr(&o));
        assert!(stderr(&o).contains("HTTP 401"), "{out}: {}", stderr(&o));
        assert!(!stderr(&o).contains("wrong-secret-123"), "{}", stderr(&o));
        assert!(!tmp.path().join(out).exists());
    }
}

/// mTLS: a TSA behind HTTPS that requires a client certificate (Python's ssl, CERT_REQUIRED)
/// answers with the certificate and key from the environment, and refuses without them.
#[test]
fn tsa_mtls_uses_the_client_certificate_from_the_environment() {
    let tsa = TestTsa::start_tls();
    let tmp = tempfile::tempdir().unwrap();
    let id = keygen(tmp.path(), &[]);
    let build = |out: &str, with_client: bool| {
        let mut cmd = super::util::bin();
        cmd.args(["build", "--input", s(&small_input()), "--period", "2026-Q3", "--allow-partial"])
            .args([
                "--out",
                s(&tmp.path().join(out)),
                "--tsa",
                &tsa.url,
                "--tsa-ca",
                s(&tsa.ca()),
                "--tsa-timeout",
                "10",
            ])
            .args(sign_flags(&id))
            .env("DORA_EVIDENCE_TSA_TLS_CA", tsa.ca());
        if with_client {
            cmd.env("DORA_EVIDENCE_TSA_CLIENT_CERT", tsa.pki("client.pem"));
            cmd.env("DORA_EVIDENCE_TSA_CLIENT_KEY", tsa.pki("client.key"));
        }
        cmd.output().unwrap()
    };
    let o = build("ok", true);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run(&["verify", s(&tmp.path().join("ok")), "--ca", s(&id.join("ca.pem")), "--tsa-ca", s(&tsa.ca())]);
    assert!(stdout(&o).contains("PASS  manifest-timestamp"), "{}", stdout(&o));
    let o = build("refused", false);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("TSA https://127.0.0.1:"), "{}", stderr(&o));
    assert!(!tmp.path().join("refused").exists());
}

/// `--force` removes renewal files only when they are renewals: a user's file that merely
/// carries such a name keeps the old package (and itself) in place.
#[test]
fn force_keeps_a_users_file_named_like_a_renewal() {
    let tmp = tempfile::tempdir().unwrap();
    let pkg = tmp.path().join("pkg");
    let o = build_q3(&small_input(), &pkg, &["--allow-partial"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    std::fs::create_dir_all(pkg.join("timestamps")).unwrap();
    std::fs::write(pkg.join("timestamps/renewal-0001.json"), b"my notes\n").unwrap();
    let o = build_q3(&small_input(), &pkg, &["--allow-partial", "--force"]);
    assert_eq!(std::fs::read(pkg.join("timestamps/renewal-0001.json")).unwrap(), b"my notes\n", "{}", stderr(&o));
}
