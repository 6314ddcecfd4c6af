//! Signed packages checked with independent tools: `openssl cms -verify`, `pdfsig` (with an
//! NSS database holding the test CA, built with `certutil`), `pdfinfo -meta`, `qpdf --check`
//! and `sha256sum -c`; and the KMS signer against a real moto server on 127.0.0.1.
//! `scripts/test.sh` installs the tools and starts moto; a missing tool fails the test.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::util::{bin_on_moto, build_q3, moto_endpoint, run, shared_dir, stderr, stdout, tool};

pub fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

/// `openssl cms -verify` of a detached manifest signature (content `manifest.json` in `cwd`).
fn cms_verify(p7s: &str, ca: &str, cwd: &Path) -> (bool, String) {
    let args = [
        "cms",
        "-verify",
        "-binary",
        "-inform",
        "DER",
        "-in",
        p7s,
        "-content",
        "manifest.json",
        "-CAfile",
        ca,
        "-out",
        "/dev/null",
    ];
    tool("openssl", &args, cwd)
}

/// `dora-evidence keygen --out <dir>/id`.
pub fn keygen(dir: &Path, extra: &[&str]) -> PathBuf {
    let id = dir.join("id");
    let mut args = vec!["keygen", "--out", id.to_str().unwrap()];
    args.extend_from_slice(extra);
    let o = run(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    id
}

/// Signing flags for a keygen identity.
pub fn sign_flags(id: &Path) -> Vec<String> {
    vec![
        "--sign-key".into(),
        id.join("signer.key").display().to_string(),
        "--sign-cert".into(),
        id.join("signer.pem").display().to_string(),
    ]
}

/// An NSS database trusting `ca.pem`, for `pdfsig -nssdir`.
pub fn nss_db(dir: &Path, ca: &Path) -> String {
    let db = dir.join("nssdb");
    std::fs::create_dir_all(&db).unwrap();
    let spec = format!("sql:{}", db.display());
    let (ok, out) = tool("certutil", &["-N", "-d", &spec, "--empty-password"], dir);
    assert!(ok, "certutil -N: {out}");
    let (ok, out) =
        tool("certutil", &["-A", "-d", &spec, "-n", "dora-test-ca", "-t", "CT,C,C", "-i", ca.to_str().unwrap()], dir);
    assert!(ok, "certutil -A: {out}");
    spec
}

/// A sample-quarter package and the keygen identity that signed it.
pub(crate) struct Signed {
    pub(crate) id: PathBuf,
    pub(crate) pkg: PathBuf,
}

/// Builds the sample quarter into `dir/pkg`, signed by a keygen identity made in `dir`, at the
/// fixed generated-at time, with `extra` build flags.
pub(crate) fn build_signed_sample(dir: &Path, extra: &[String]) -> Signed {
    let id = keygen(dir, &[]);
    let pkg = dir.join("pkg");
    let config = samples().join("dora-evidence.toml");
    let mut args = vec![
        "--config".to_owned(),
        config.display().to_string(),
        "--generated-at".into(),
        "2026-10-05T08:00:00Z".into(),
    ];
    args.extend_from_slice(extra);
    args.extend(sign_flags(&id));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = build_q3(&samples().join("input"), &pkg, &args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("signed by: CN=dora-evidence demo signer"), "{}", stdout(&o));
    Signed { id, pkg }
}

/// The sample quarter, signed with a keygen identity (shared by the tests of this file).
fn signed_sample() -> &'static Signed {
    static PKG: OnceLock<Signed> = OnceLock::new();
    PKG.get_or_init(|| build_signed_sample(&shared_dir("signed-package"), &[]))
}

#[test]
fn keygen_makes_a_labelled_test_identity_with_a_private_key_file() {
    use std::os::unix::fs::PermissionsExt as _;
    let tmp = tempfile::tempdir().unwrap();
    let id = keygen(tmp.path(), &["--name", "Nordhafen evidence run"]);
    let mode = std::fs::metadata(id.join("signer.key")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let key = std::fs::read_to_string(id.join("signer.key")).unwrap();
    assert!(key.starts_with("-----BEGIN PRIVATE KEY-----"));
    let (ok, out) =
        tool("openssl", &["x509", "-in", "signer.pem", "-noout", "-subject", "-issuer", "-ext", "keyUsage"], &id);
    assert!(ok, "{out}");
    assert!(out.contains("Nordhafen evidence run (TEST - NOT FOR PRODUCTION)"), "{out}");
    assert!(out.contains("TEST CA - NOT FOR PRODUCTION"), "{out}");
    assert!(out.contains("Digital Signature") && out.contains("Non Repudiation"), "{out}");
    let (ok, out) = tool("openssl", &["verify", "-CAfile", "ca.pem", "signer.pem"], &id);
    assert!(ok && out.contains("signer.pem: OK"), "{out}");
    let (ok, out) = tool("openssl", &["pkey", "-in", "signer.key", "-noout", "-text"], &id);
    assert!(ok && out.contains("P-256"), "{out}");
    // Refuses to overwrite.
    let o = run(&["keygen", "--out", id.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("exists"), "{}", stderr(&o));
}

#[test]
fn manifest_signature_verifies_with_openssl() {
    let s = signed_sample();
    let ca = s.id.join("ca.pem");
    let (ok, out) = cms_verify("manifest.json.p7s", ca.to_str().unwrap(), &s.pkg);
    assert!(ok && out.contains("Verification successful"), "{out}");
    // The signed attributes are the CAdES ones, with the generated-at time as signing time.
    let (ok, out) =
        tool("openssl", &["cms", "-cmsout", "-print", "-inform", "DER", "-in", "manifest.json.p7s"], &s.pkg);
    assert!(ok, "{out}");
    assert!(out.contains("id-smime-aa-signingCertificateV2"), "{out}");
    assert!(out.contains("Oct  5 08:00:00 2026 GMT"), "{out}");
    // A manifest changed by one byte no longer verifies.
    let tmp = tempfile::tempdir().unwrap();
    let mut m = std::fs::read(s.pkg.join("manifest.json")).unwrap();
    m[10] ^= 1;
    std::fs::write(tmp.path().join("manifest.json"), m).unwrap();
    let p7s = s.pkg.join("manifest.json.p7s");
    let (ok, out) = cms_verify(p7s.to_str().unwrap(), ca.to_str().unwrap(), tmp.path());
    assert!(!ok && !out.contains("Verification successful"), "{out}");
}

#[test]
fn pdf_signature_verifies_with_pdfsig_and_stays_pdf_a() {
    let s = signed_sample();
    let tmp = tempfile::tempdir().unwrap();
    let db = nss_db(tmp.path(), &s.id.join("ca.pem"));
    let (_, out) = tool("pdfsig", &["-nssdir", &db, "report.pdf"], &s.pkg);
    // pdfsig exits 0 even on a digest mismatch: read what it says.
    assert!(out.contains("Signature Validation: Signature is Valid."), "{out}");
    assert!(out.contains("Total document signed"), "{out}");
    assert!(out.contains("Certificate Validation: Certificate is Trusted."), "{out}");
    assert!(out.contains("Signature Type: ETSI.CAdES.detached"), "{out}");
    assert!(out.contains("Signing Time: Oct 05 2026 08:00:00"), "{out}");
    let (ok, meta) = tool("pdfinfo", &["-meta", "report.pdf"], &s.pkg);
    assert!(ok, "{meta}");
    assert!(
        meta.contains("<pdfaid:part>3</pdfaid:part>") && meta.contains("<pdfaid:conformance>B</pdfaid:conformance>"),
        "{meta}"
    );
    let (ok, out) = tool("qpdf", &["--check", "report.pdf"], &s.pkg);
    assert!(ok, "{out}");
    let (ok, out) = tool("pdfdetach", &["-list", "report.pdf"], &s.pkg);
    assert!(ok && out.contains("findings.csv"), "{out}");
    // Appending bytes after signing: pdfsig no longer says the whole document is signed.
    let mut pdf = std::fs::read(s.pkg.join("report.pdf")).unwrap();
    pdf.extend_from_slice(b"\n% appended\n");
    std::fs::write(tmp.path().join("appended.pdf"), pdf).unwrap();
    let (_, out) = tool("pdfsig", &["-nssdir", &db, "appended.pdf"], tmp.path());
    assert!(!out.contains("Total document signed"), "{out}");
}

#[test]
fn package_checks_with_sha256sum_and_our_verify() {
    let s = signed_sample();
    let (ok, out) = tool("sha256sum", &["-c", "--strict", "--quiet", "SHA256SUMS"], &s.pkg);
    assert!(ok, "{out}");
    let ca = s.id.join("ca.pem");
    let o = run(&["verify", s.pkg.to_str().unwrap(), "--ca", ca.to_str().unwrap()]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    for check in [
        "manifest",
        "files",
        "no-extra-files",
        "sha256sums",
        "manifest-signature",
        "report-signature",
        "report-coverage",
        "trust",
    ] {
        assert!(text.lines().any(|l| l.starts_with("PASS") && l.contains(check)), "{check}: {text}");
    }
    assert!(text.contains("verdict: VERIFIED"), "{text}");
    // Without a TSA the report is PAdES B-B: its signing time is only claimed.
    assert!(text.contains("WARN  report-level") && text.contains("PAdES B-B (no timestamp"), "{text}");
    let o = run(&["verify", s.pkg.to_str().unwrap(), "--ca", ca.to_str().unwrap(), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["passed"], true);
    // Every check but the three bucket ones.
    assert_eq!(v["checks"].as_array().unwrap().len(), dora_evidence::verify::CheckId::ALL.len() - 3);
    // Without a trust anchor: valid, signer not trusted, and said so.
    let o = run(&["verify", s.pkg.to_str().unwrap()]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(text.contains("SKIP  trust") && text.contains("signer not trusted"), "{text}");
    // With another CA as anchor: not trusted, exit 1.
    let tmp = tempfile::tempdir().unwrap();
    let other = keygen(tmp.path(), &[]);
    let o = run(&["verify", s.pkg.to_str().unwrap(), "--ca", other.join("ca.pem").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stdout(&o).contains("FAIL  trust"), "{}", stdout(&o));
    // The manifest names the signer.
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(s.pkg.join("manifest.json")).unwrap()).unwrap();
    assert!(m["signature"]["signer"].as_str().unwrap().contains("dora-evidence demo signer"));
    assert_eq!(m["signature"]["key"], "local ECDSA P-256 key");
}

/// A few fixture files: a package that builds in a second.
pub fn small_input() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/api")
}

#[test]
fn signing_with_a_local_key_is_deterministic() {
    let tmp = tempfile::tempdir().unwrap();
    let id = keygen(tmp.path(), &[]);
    let mut args = vec!["--generated-at".to_owned(), "2026-10-05T08:00:00Z".into(), "--allow-partial".into()];
    args.extend(sign_flags(&id));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    for name in ["a", "b"] {
        let o = build_q3(&small_input(), &tmp.path().join(name), &args);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    for f in ["report.pdf", "manifest.json", "manifest.json.p7s", "SHA256SUMS"] {
        let a = std::fs::read(tmp.path().join("a").join(f)).unwrap();
        let b = std::fs::read(tmp.path().join("b").join(f)).unwrap();
        assert!(a == b, "{f} differs between two signed builds");
    }
}

#[test]
fn unsafe_or_mismatched_keys_are_refused_without_leaking_them() {
    use std::os::unix::fs::PermissionsExt as _;
    let tmp = tempfile::tempdir().unwrap();
    let id = keygen(tmp.path(), &[]);
    let key = id.join("signer.key");
    let secret_line = std::fs::read_to_string(&key).unwrap().lines().nth(1).unwrap().to_owned();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut args = vec!["--allow-partial".to_owned()];
    args.extend(sign_flags(&id));
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = build_q3(&small_input(), &tmp.path().join("p1"), &a);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("readable by others") && err.contains("--insecure-key-permissions"), "{err}");
    assert!(!err.contains(&secret_line) && !stdout(&o).contains(&secret_line));
    assert!(!tmp.path().join("p1").exists());
    let mut b = a.clone();
    b.push("--insecure-key-permissions");
    let o = build_q3(&small_input(), &tmp.path().join("p2"), &b);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();

    // Another identity's certificate with this key.
    let other = tempfile::tempdir().unwrap();
    let other_id = keygen(other.path(), &[]);
    let o = build_q3(
        &small_input(),
        &tmp.path().join("p3"),
        &[
            "--allow-partial",
            "--sign-key",
            key.to_str().unwrap(),
            "--sign-cert",
            other_id.join("signer.pem").to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not for this signing key"), "{}", stderr(&o));
    // A key without a certificate.
    let o = build_q3(&small_input(), &tmp.path().join("p4"), &["--allow-partial", "--sign-key", key.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("without its certificate"), "{}", stderr(&o));
}

#[test]
fn unsigned_packages_say_so_and_verify_needs_allow_unsigned() {
    let tmp = tempfile::tempdir().unwrap();
    let pkg = tmp.path().join("pkg");
    let o = build_q3(&small_input(), &pkg, &["--allow-partial"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("UNSIGNED package"), "{}", stderr(&o));
    assert!(!pkg.join("manifest.json.p7s").exists());
    let o = run(&["verify", pkg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("FAIL  manifest-signature") && stdout(&o).contains("unsigned package"),
        "{}",
        stdout(&o)
    );
    let o = run(&["verify", pkg.to_str().unwrap(), "--allow-unsigned"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("INTACT BUT UNSIGNED"), "{}", stdout(&o));
}

#[test]
fn signing_config_section_is_used() {
    let tmp = tempfile::tempdir().unwrap();
    let id = keygen(tmp.path(), &[]);
    let config = tmp.path().join("dora-evidence.toml");
    std::fs::write(
        &config,
        "entity = \"Test AG\"\n[signing]\nkey = \"id/signer.key\"\ncert = \"id/signer.pem\"\nreason = \"Quarterly DORA evidence\"\nlocation = \"Frankfurt am Main\"\n",
    )
    .unwrap();
    let pkg = tmp.path().join("pkg");
    let o = build_q3(&small_input(), &pkg, &["--allow-partial", "--config", config.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let db = nss_db(tmp.path(), &id.join("ca.pem"));
    let (_, out) = tool("pdfsig", &["-nssdir", &db, "report.pdf"], &pkg);
    assert!(out.contains("Signature is Valid."), "{out}");
    let pdf = std::fs::read(pkg.join("report.pdf")).unwrap();
    let tail = String::from_utf8_lossy(&pdf[pdf.len().saturating_sub(40_000)..]).into_owned();
    assert!(tail.contains("/Reason (Quarterly DORA evidence)") && tail.contains("/Location (Frankfurt am Main)"));
}

/// `build` of the small input into `pkg`, signed with the moto KMS key `key_id` and `cert`.
fn kms_build(endpoint: &str, key_id: &str, cert: &Path, pkg: &Path) {
    let o = bin_on_moto(endpoint)
        .args(["build", "--input", small_input().to_str().unwrap(), "--period", "2026-Q3", "--allow-partial", "--out"])
        .arg(pkg)
        .args(["--sign-kms-key-id", key_id, "--sign-cert", cert.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// An ECC_NIST_P256 signing key in moto: (ARN, public key as DER SPKI).
pub fn create_kms_key(endpoint: &str) -> (String, Vec<u8>) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let conf = aws_sdk_kms::Config::builder()
            .behavior_version(aws_sdk_kms::config::BehaviorVersion::latest())
            .region(aws_sdk_kms::config::Region::new("eu-central-1"))
            .endpoint_url(endpoint)
            .credentials_provider(aws_sdk_kms::config::Credentials::new("testing", "testing", None, None, "test"))
            .build();
        let kms = aws_sdk_kms::Client::from_conf(conf);
        let key = kms
            .create_key()
            .key_spec(aws_sdk_kms::types::KeySpec::EccNistP256)
            .key_usage(aws_sdk_kms::types::KeyUsageType::SignVerify)
            .description("dora-evidence test signer")
            .send()
            .await
            .expect("moto CreateKey");
        let arn = key.key_metadata().unwrap().arn().unwrap().to_owned();
        let public = kms.get_public_key().key_id(&arn).send().await.unwrap();
        (arn, public.public_key().unwrap().as_ref().to_vec())
    })
}

#[test]
fn kms_key_gets_its_certificate_through_a_request_signed_in_kms() {
    let endpoint = moto_endpoint();
    let (key_id, _) = create_kms_key(&endpoint);
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let o = bin_on_moto(&endpoint)
        .args(["csr", "--kms-key-id", &key_id, "--subject", "CN=Evidence signer,O=Nordhafen Bank AG,C=DE", "--out"])
        .arg(d.join("req.pem"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (ok, out) = tool("openssl", &["req", "-in", "req.pem", "-verify", "-noout", "-subject"], d);
    assert!(ok && out.contains("verify OK") && out.contains("Nordhafen Bank AG"), "{out}");
    // The organisation's CA (here: openssl) issues the certificate from the request.
    let sh = |script: &str| {
        let (ok, out) = tool("sh", &["-c", script], d);
        assert!(ok, "{script}: {out}");
    };
    sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
        -subj '/CN=Org CA' -days 30 -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null");
    sh(
        "openssl x509 -req -in req.pem -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -copy_extensions copy -out signer.pem 2>/dev/null",
    );
    let pkg = d.join("pkg");
    kms_build(&endpoint, &key_id, &d.join("signer.pem"), &pkg);
    let o = run(&["verify", pkg.to_str().unwrap(), "--ca", d.join("ca.pem").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    // And a request for a local key.
    let id = keygen(d, &[]);
    let o = run(&[
        "csr",
        "--key",
        id.join("signer.key").to_str().unwrap(),
        "--subject",
        "CN=Local signer",
        "--out",
        d.join("local.pem").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (ok, out) = tool("openssl", &["req", "-in", "local.pem", "-verify", "-noout"], d);
    assert!(ok && out.contains("verify OK"), "{out}");
}

#[test]
fn kms_key_in_moto_signs_a_package_that_openssl_and_pdfsig_verify() {
    let endpoint = moto_endpoint();
    let (key_id, public_der) = create_kms_key(&endpoint);
    let tmp = tempfile::tempdir().unwrap();
    let id = tmp.path().join("id");
    let o = bin_on_moto(&endpoint)
        .args(["keygen", "--out", id.to_str().unwrap(), "--kms-key-id", &key_id])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!id.join("signer.key").exists());
    // The certificate holds exactly the KMS public key.
    std::fs::write(tmp.path().join("kms-public.der"), &public_der).unwrap();
    let (ok, kms_pem) = tool("openssl", &["pkey", "-pubin", "-inform", "DER", "-in", "kms-public.der"], tmp.path());
    assert!(ok, "{kms_pem}");
    let (ok, cert_pem) = tool("openssl", &["x509", "-in", "id/signer.pem", "-noout", "-pubkey"], tmp.path());
    assert!(ok && cert_pem == kms_pem, "{cert_pem} vs {kms_pem}");

    let pkg = tmp.path().join("pkg");
    kms_build(&endpoint, &key_id, &id.join("signer.pem"), &pkg);
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(pkg.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["signature"]["key"], "AWS KMS key");
    let (ok, out) = cms_verify("manifest.json.p7s", "../id/ca.pem", &pkg);
    assert!(ok && out.contains("Verification successful"), "{out}");
    // And from the KMS public key alone: the signature over the DER signed attributes.
    {
        use der::{Decode as _, Encode as _};
        let ci =
            cms::content_info::ContentInfo::from_der(&std::fs::read(pkg.join("manifest.json.p7s")).unwrap()).unwrap();
        let sd: cms::signed_data::SignedData = ci.content.decode_as().unwrap();
        let si = sd.signer_infos.0.get(0).unwrap();
        std::fs::write(tmp.path().join("attrs.der"), si.signed_attrs.as_ref().unwrap().to_der().unwrap()).unwrap();
        std::fs::write(tmp.path().join("sig.der"), si.signature.as_bytes()).unwrap();
        std::fs::write(tmp.path().join("kms-public.pem"), &kms_pem).unwrap();
        let (ok, out) = tool(
            "openssl",
            &["dgst", "-sha256", "-verify", "kms-public.pem", "-signature", "sig.der", "attrs.der"],
            tmp.path(),
        );
        assert!(ok && out.contains("Verified OK"), "{out}");
    }
    let db = nss_db(tmp.path(), &id.join("ca.pem"));
    let (_, out) = tool("pdfsig", &["-nssdir", &db, "report.pdf"], &pkg);
    assert!(out.contains("Signature is Valid.") && out.contains("Total document signed"), "{out}");
    let o = run(&["verify", pkg.to_str().unwrap(), "--ca", id.join("ca.pem").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
}

/// A CA and signer made with openssl: an RSA key (PKCS#8) and an EC P-256 key in SEC1 form.
#[test]
fn openssl_made_rsa_and_sec1_identities_sign_packages_that_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let sh = |script: &str| {
        let (ok, out) = tool("sh", &["-c", script], d);
        assert!(ok, "{script}: {out}");
    };
    sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -subj '/CN=openssl test CA' -days 30 \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null");
    sh("printf 'keyUsage=critical,digitalSignature,nonRepudiation\\n' > leaf.ext");
    sh("openssl req -newkey rsa:2048 -nodes -keyout rsa.key -out rsa.csr -subj '/CN=rsa signer' 2>/dev/null \
        && openssl x509 -req -in rsa.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out rsa.pem -days 30 -extfile leaf.ext 2>/dev/null");
    sh("openssl ecparam -name prime256v1 -genkey -noout -out ec.key \
        && openssl req -new -key ec.key -out ec.csr -subj '/CN=sec1 signer' \
        && openssl x509 -req -in ec.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out ec.pem -days 30 -extfile leaf.ext 2>/dev/null");
    sh("chmod 600 rsa.key ec.key");
    assert!(std::fs::read_to_string(d.join("rsa.key")).unwrap().contains("BEGIN PRIVATE KEY"));
    assert!(std::fs::read_to_string(d.join("ec.key")).unwrap().contains("BEGIN EC PRIVATE KEY"));
    let db = nss_db(d, &d.join("ca.pem"));
    for (name, subject) in [("rsa", "rsa signer"), ("ec", "sec1 signer")] {
        let pkg = d.join(format!("pkg-{name}"));
        let key = d.join(format!("{name}.key"));
        let cert = d.join(format!("{name}.pem"));
        let o = build_q3(
            &small_input(),
            &pkg,
            &["--allow-partial", "--sign-key", key.to_str().unwrap(), "--sign-cert", cert.to_str().unwrap()],
        );
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
        let (ok, out) = cms_verify("manifest.json.p7s", d.join("ca.pem").to_str().unwrap(), &pkg);
        assert!(ok && out.contains("Verification successful"), "{name}: {out}");
        let (_, out) = tool("pdfsig", &["-nssdir", &db, "report.pdf"], &pkg);
        assert!(out.contains("Signature is Valid.") && out.contains("Certificate is Trusted."), "{name}: {out}");
        assert!(out.contains(subject), "{name}: {out}");
        let o = run(&["verify", pkg.to_str().unwrap(), "--ca", d.join("ca.pem").to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stdout(&o));
    }
}

#[test]
fn encrypted_keys_take_their_passphrase_from_the_environment_only() {
    let tmp = tempfile::tempdir().unwrap();
    let id = keygen(tmp.path(), &[]);
    let (ok, out) = tool(
        "openssl",
        &[
            "pkcs8",
            "-topk8",
            "-v2",
            "aes-256-cbc",
            "-in",
            "signer.key",
            "-out",
            "enc.key",
            "-passout",
            "pass:correct horse",
        ],
        &id,
    );
    assert!(ok, "{out}");
    let (ok, out) = tool("chmod", &["600", "enc.key"], &id);
    assert!(ok, "{out}");
    let key = id.join("enc.key");
    let cert = id.join("signer.pem");
    let args = ["--allow-partial", "--sign-key", key.to_str().unwrap(), "--sign-cert", cert.to_str().unwrap()];
    let build = |out: &str, pass: Option<&str>| {
        let mut cmd = super::util::bin();
        cmd.args(["build", "--input", small_input().to_str().unwrap(), "--period", "2026-Q3", "--out"])
            .arg(tmp.path().join(out))
            .args(args)
            .env_remove("DORA_EVIDENCE_SIGN_KEY_PASSPHRASE");
        if let Some(p) = pass {
            cmd.env("DORA_EVIDENCE_SIGN_KEY_PASSPHRASE", p);
        }
        cmd.output().unwrap()
    };
    let o = build("a", None);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("DORA_EVIDENCE_SIGN_KEY_PASSPHRASE"), "{}", stderr(&o));
    let o = build("b", Some("wrong battery"));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot decrypt") && !stderr(&o).contains("wrong battery"), "{}", stderr(&o));
    let o = build("c", Some("correct horse"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stderr(&o).contains("correct horse") && !stdout(&o).contains("correct horse"));
    let o = run(&["verify", tmp.path().join("c").to_str().unwrap(), "--ca", id.join("ca.pem").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
}
