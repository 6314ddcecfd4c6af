//! RFC 3161 trusted timestamps: the client that asks a time-stamping authority (TSA) for a
//! token, the strict check of a token, and CAdES-T (a token over a CMS signature value as the
//! `signatureTimeStampToken` unsigned attribute).
//!
//! A signer's own `signingTime` is a claim. A token is a third party's signed statement that a
//! hash existed at `genTime`, so it proves when a signature was made — which is what lets a
//! signature outlive its certificate. Every token we accept, from the network or from a
//! package, is checked the same way: status granted, nonce and message imprint as asked,
//! imprint hash SHA-256 or stronger, a token signature that verifies with the TSA
//! certificate it names (ESS signing-certificate), and that certificate carrying the
//! critical `timeStamping` extended key usage and nothing else (RFC 3161 §2.3); its chain
//! to the configured TSA CA when one is given.
//!
//! Credentials (HTTP basic password, mTLS key) come from the environment or files, never
//! from the URL, and never appear in messages or logs.

use std::path::PathBuf;
use std::time::Duration;

use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerInfo, SignerInfos};
use der::asn1::{Int, OctetString, SetOfVec};
use der::{Any, Decode as _, Encode as _, Sequence};
use sha2::Digest as _;
use spki::{AlgorithmIdentifierOwned, ObjectIdentifier};
use x509_cert::Certificate;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::ExtendedKeyUsage;
use x509_cert::ext::pkix::name::GeneralName;

use super::SignError;
use super::cades::{CONTENT_TYPE, ID_SIGNED_DATA, MESSAGE_DIGEST, SIGNING_CERTIFICATE_V2, SigningCertificateV2};

/// `id-ct-TSTInfo`: the content type of a timestamp token.
pub const ID_CT_TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
/// `id-aa-signatureTimeStampToken`: the CAdES-T unsigned attribute.
pub const SIGNATURE_TIME_STAMP_TOKEN: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.14");
/// `id-kp-timeStamping`.
const ID_KP_TIME_STAMPING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");
/// `id-aa-signingCertificate` (ESS v1, SHA-1): accepted on tokens, the hash is not checked.
const SIGNING_CERTIFICATE_V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.12");
const SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");

/// The hash algorithms a token's imprint (and a renewal) may use: SHA-256 or stronger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashAlg {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlg {
    /// `SHA-256`, `SHA-384`, `SHA-512`.
    pub fn name(self) -> &'static str {
        match self {
            HashAlg::Sha256 => "SHA-256",
            HashAlg::Sha384 => "SHA-384",
            HashAlg::Sha512 => "SHA-512",
        }
    }

    /// From a name as written by [`HashAlg::name`] or as `sha512`.
    pub fn parse(name: &str) -> Option<HashAlg> {
        match name.to_ascii_uppercase().replace('-', "").as_str() {
            "SHA256" => Some(HashAlg::Sha256),
            "SHA384" => Some(HashAlg::Sha384),
            "SHA512" => Some(HashAlg::Sha512),
            _ => None,
        }
    }

    fn oid(self) -> ObjectIdentifier {
        match self {
            HashAlg::Sha256 => super::cades::SHA256,
            HashAlg::Sha384 => SHA384,
            HashAlg::Sha512 => SHA512,
        }
    }

    fn from_algorithm(alg: &AlgorithmIdentifierOwned) -> Option<HashAlg> {
        let null_or_absent =
            alg.parameters.as_ref().is_none_or(|p| der::Tagged::tag(p) == der::Tag::Null && p.value().is_empty());
        [HashAlg::Sha256, HashAlg::Sha384, HashAlg::Sha512].into_iter().find(|h| h.oid() == alg.oid && null_or_absent)
    }

    /// A streaming hasher.
    pub fn hasher(self) -> Box<dyn sha2::digest::DynDigest + Send> {
        match self {
            HashAlg::Sha256 => Box::new(sha2::Sha256::new()),
            HashAlg::Sha384 => Box::new(sha2::Sha384::new()),
            HashAlg::Sha512 => Box::new(sha2::Sha512::new()),
        }
    }

    /// The digest of the concatenation of `parts`.
    pub fn digest(self, parts: &[&[u8]]) -> Vec<u8> {
        let mut h = self.hasher();
        parts.iter().for_each(|p| h.update(p));
        h.finalize().to_vec()
    }
}

/// `MessageImprint ::= SEQUENCE { hashAlgorithm, hashedMessage OCTET STRING }`.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
struct MessageImprint {
    hash_algorithm: AlgorithmIdentifierOwned,
    hashed_message: OctetString,
}

/// `TimeStampReq` (RFC 3161 §2.4.1), without policy and extensions.
#[derive(Clone, Debug, Sequence)]
struct TimeStampReq {
    version: u8,
    message_imprint: MessageImprint,
    #[asn1(optional = "true")]
    nonce: Option<Int>,
    cert_req: bool,
}

/// `PKIStatusInfo`: the status, its text and failure bits.
#[derive(Clone, Debug, Sequence)]
struct PkiStatusInfo {
    status: u8,
    #[asn1(optional = "true")]
    status_string: Option<Vec<String>>,
    #[asn1(optional = "true")]
    fail_info: Option<der::asn1::BitString>,
}

/// `TimeStampResp ::= SEQUENCE { status, timeStampToken ContentInfo OPTIONAL }`.
#[derive(Clone, Debug, Sequence)]
struct TimeStampResp {
    status: Any,
    #[asn1(optional = "true")]
    token: Option<ContentInfo>,
}

/// `Accuracy ::= SEQUENCE { seconds INTEGER OPTIONAL, millis [0], micros [1] }`.
#[derive(Clone, Debug, Sequence)]
struct Accuracy {
    #[asn1(optional = "true")]
    seconds: Option<u32>,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    millis: Option<u16>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    micros: Option<u16>,
}

/// `TSTInfo` (RFC 3161 §2.4.2). `genTime` is kept raw: TSAs may add fractional seconds,
/// which `der`'s `GeneralizedTime` does not take.
#[derive(Clone, Debug, Sequence)]
struct TstInfo {
    version: u8,
    policy: Any,
    message_imprint: MessageImprint,
    serial_number: Int,
    gen_time: Any,
    #[asn1(optional = "true")]
    accuracy: Option<Accuracy>,
    #[asn1(default = "Default::default")]
    ordering: bool,
    #[asn1(optional = "true")]
    nonce: Option<Int>,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    tsa: Option<GeneralName>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", constructed = "true", optional = "true")]
    extensions: Option<x509_cert::ext::Extensions>,
}

/// How to reach a TSA. Built from `build --tsa` / `[signing] tsa` and the environment.
#[derive(Clone, Default)]
pub struct TsaOptions {
    /// `http://` or `https://` URL, without credentials.
    pub url: String,
    /// Trust anchors for the TSA's certificate (`tsa_ca`); empty: the chain is not checked.
    pub ca: Vec<Certificate>,
    /// HTTP basic auth: user and password (from `DORA_EVIDENCE_TSA_PASSWORD`).
    pub basic_auth: Option<(String, zeroize::Zeroizing<String>)>,
    /// mTLS: client certificate chain and key, PEM files.
    pub client_identity: Option<(PathBuf, PathBuf)>,
    /// Roots (PEM) for the TSA's HTTPS certificate, instead of the public web roots.
    pub tls_roots: Option<PathBuf>,
    /// Whole-request timeout.
    pub timeout: Duration,
}

impl std::fmt::Debug for TsaOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TsaOptions")
            .field("url", &self.url)
            .field("ca", &self.ca.len())
            .field("basic_auth", &self.basic_auth.as_ref().map(|(u, _)| u))
            .field("client_identity", &self.client_identity)
            .field("tls_roots", &self.tls_roots)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// A TSA client: asks for tokens and checks each before returning it.
#[derive(Debug)]
pub struct TsaClient {
    options: TsaOptions,
    agent: ureq::Agent,
}

/// A checked token.
#[derive(Debug, Clone)]
pub struct Token {
    /// The `TimeStampToken`: a CMS `ContentInfo`, DER.
    pub der: Vec<u8>,
    /// The proven time, Unix.
    pub gen_time: Duration,
    /// The certificates the token carries (the TSA's first).
    pub certificates: Vec<Certificate>,
}

/// What a verified token says.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    /// The proven time (`genTime`), Unix.
    pub gen_time: Duration,
    /// The TSA's certificate.
    pub tsa: Certificate,
    /// Every certificate the token carries.
    pub certificates: Vec<Certificate>,
    /// The trust anchor the TSA chains to, when anchors were given.
    pub anchor: Option<String>,
    /// The imprint's hash algorithm (`SHA-256`, …).
    pub hash: &'static str,
    /// The token's serial number, hex.
    pub serial: String,
}

impl VerifiedToken {
    /// The TSA's subject.
    pub fn tsa_subject(&self) -> String {
        self.tsa.tbs_certificate().subject().to_string()
    }
}

fn tsa_err(url: &str, message: impl std::fmt::Display) -> SignError {
    SignError::Timestamp(format!("TSA {url}: {message}"))
}

impl TsaClient {
    /// A client for `options`.
    ///
    /// # Errors
    /// When the URL carries credentials or is not HTTP(S), or the mTLS files are unreadable.
    pub fn new(options: TsaOptions) -> Result<TsaClient, SignError> {
        let url = &options.url;
        let rest = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://"));
        let Some(rest) = rest else {
            return Err(SignError::Usage(format!("TSA URL {url}: give an http:// or https:// URL")));
        };
        if rest.split('/').next().is_some_and(|host| host.contains('@')) {
            return Err(SignError::Usage(
                "the TSA URL holds credentials: give the user as [signing] tsa_user and the password in DORA_EVIDENCE_TSA_PASSWORD".into(),
            ));
        }
        let mut tls = ureq::tls::TlsConfig::builder();
        if let Some(roots) = &options.tls_roots {
            tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&pem_certificates(roots)?));
        }
        if let Some((cert, key)) = &options.client_identity {
            let read = |p: &PathBuf| {
                std::fs::read(p).map_err(|e| SignError::File { path: p.display().to_string(), message: e.to_string() })
            };
            let certs = pem_certificates(cert)?;
            let key = ureq::tls::PrivateKey::from_pem(&read(key)?).map_err(|_| SignError::File {
                path: key.display().to_string(),
                message: "no PEM private key".into(),
            })?;
            tls = tls.client_cert(Some(ureq::tls::ClientCert::new_with_certs(&certs, key)));
        }
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(options.timeout))
            .http_status_as_error(false)
            .tls_config(tls.build())
            .user_agent(concat!("dora-evidence/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(TsaClient { agent: ureq::Agent::new_with_config(config), options })
    }

    /// The TSA's URL.
    pub fn url(&self) -> &str {
        &self.options.url
    }

    /// A checked token over SHA-256 of `message`.
    ///
    /// # Errors
    /// When the TSA cannot be reached, refuses, or answers with a token that fails a check.
    pub fn timestamp(&self, message: &[u8]) -> Result<Token, SignError> {
        self.timestamp_hashed(HashAlg::Sha256, &HashAlg::Sha256.digest(&[message]))
    }

    /// A checked token over a SHA-256 digest.
    ///
    /// # Errors
    /// As [`TsaClient::timestamp`].
    pub fn timestamp_digest(&self, sha256: &[u8; 32]) -> Result<Token, SignError> {
        self.timestamp_hashed(HashAlg::Sha256, sha256)
    }

    /// A checked token over `digest`, made with `alg`.
    ///
    /// # Errors
    /// As [`TsaClient::timestamp`].
    pub fn timestamp_hashed(&self, alg: HashAlg, digest: &[u8]) -> Result<Token, SignError> {
        let url = &self.options.url;
        let nonce = new_nonce()?;
        let request = TimeStampReq {
            version: 1,
            message_imprint: MessageImprint {
                hash_algorithm: AlgorithmIdentifierOwned { oid: alg.oid(), parameters: None },
                hashed_message: OctetString::new(digest.to_vec()).map_err(|e| tsa_err(url, e))?,
            },
            nonce: Some(nonce.clone()),
            cert_req: true,
        };
        let body = self.post(&request.to_der().map_err(|e| tsa_err(url, e))?)?;
        let resp = TimeStampResp::from_der(&body)
            .map_err(|e| tsa_err(url, format!("the answer is not an RFC 3161 TimeStampResp ({e})")))?;
        let status: PkiStatusInfo =
            resp.status.decode_as().map_err(|e| tsa_err(url, format!("bad PKIStatusInfo ({e})")))?;
        if status.status > 1 {
            let text: Vec<String> = status.status_string.iter().flatten().cloned().collect();
            return Err(tsa_err(url, format!("refused the request (status {}): {}", status.status, text.join("; "))));
        }
        let token = resp.token.ok_or_else(|| tsa_err(url, "granted, but sent no token"))?;
        let der = token.to_der().map_err(|e| tsa_err(url, e))?;
        let checked = check_token(&der, &[], Some((alg, digest)), &self.options.ca).map_err(|e| tsa_err(url, e))?;
        if checked.nonce.as_ref() != Some(&nonce) {
            return Err(tsa_err(url, "the token does not carry the nonce we sent (a replayed or foreign token)"));
        }
        let v = checked.verified;
        let mut certificates = vec![v.tsa.clone()];
        certificates.extend(v.certificates.into_iter().filter(|c| c != &v.tsa));
        Ok(Token { der, gen_time: v.gen_time, certificates })
    }

    fn post(&self, query: &[u8]) -> Result<Vec<u8>, SignError> {
        let url = &self.options.url;
        let mut req = self.agent.post(url).header("Content-Type", "application/timestamp-query");
        if let Some((user, password)) = &self.options.basic_auth {
            use base64::Engine as _;
            let pair = zeroize::Zeroizing::new(format!("{user}:{}", password.as_str()));
            let header = zeroize::Zeroizing::new(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(pair.as_bytes())
            ));
            req = req.header("Authorization", header.as_str());
        }
        let mut resp = req.send(query).map_err(|e| tsa_err(url, describe_transport(&e, self.options.timeout)))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(tsa_err(url, format!("answered HTTP {status}")));
        }
        resp.body_mut()
            .with_config()
            .limit(1 << 20)
            .read_to_vec()
            .map_err(|e| tsa_err(url, format!("reading the answer: {}", describe_transport(&e, self.options.timeout))))
    }
}

/// The certificates of a PEM file, for TLS.
fn pem_certificates(path: &PathBuf) -> Result<Vec<ureq::tls::Certificate<'static>>, SignError> {
    let file_err = |message: String| SignError::File { path: path.display().to_string(), message };
    let bytes = std::fs::read(path).map_err(|e| file_err(e.to_string()))?;
    let certs: Vec<_> = ureq::tls::parse_pem(&bytes)
        .filter_map(|item| match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
            _ => None,
        })
        .collect();
    if certs.is_empty() {
        return Err(file_err("no PEM certificate".into()));
    }
    Ok(certs)
}

fn describe_transport(e: &ureq::Error, timeout: Duration) -> String {
    match e {
        ureq::Error::Timeout(_) => format!("no answer within {} s (the TSA is slow or unreachable)", timeout.as_secs()),
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            "connection refused (the TSA is down)".into()
        }
        ureq::Error::HostNotFound => "host not found".into(),
        other => other.to_string(),
    }
}

/// A positive, minimally encoded 64-bit random nonce.
fn new_nonce() -> Result<Int, SignError> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| SignError::Timestamp(format!("no random nonce: {e}")))?;
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    Int::new(&bytes).map_err(|e| SignError::Timestamp(e.to_string()))
}

/// A token checked by [`check_token`], with its nonce for the client.
struct Checked {
    verified: VerifiedToken,
    nonce: Option<Int>,
}

/// Verifies a token over the concatenation of `parts` (hashed with the token's imprint
/// algorithm), its TSA chaining to `anchors` at the proven time when anchors are given.
///
/// # Errors
/// A sentence naming what does not hold.
pub fn verify_token(der: &[u8], parts: &[&[u8]], anchors: &[Certificate]) -> Result<VerifiedToken, String> {
    check_token(der, parts, None, anchors).map(|c| c.verified)
}

/// Verifies a token whose imprint must be the SHA-256 digest `sha256`.
///
/// # Errors
/// As [`verify_token`].
pub fn verify_token_digest(der: &[u8], sha256: &[u8; 32], anchors: &[Certificate]) -> Result<VerifiedToken, String> {
    check_token(der, &[], Some((HashAlg::Sha256, sha256)), anchors).map(|c| c.verified)
}

fn check_token(
    der: &[u8],
    parts: &[&[u8]],
    expected: Option<(HashAlg, &[u8])>,
    anchors: &[Certificate],
) -> Result<Checked, String> {
    let info = ContentInfo::from_der(der).map_err(|e| format!("the token is not a DER CMS ContentInfo ({e})"))?;
    if info.content_type != ID_SIGNED_DATA {
        return Err("the token is not a CMS SignedData".into());
    }
    let sd: SignedData = info.content.decode_as().map_err(|e| format!("bad SignedData in the token ({e})"))?;
    if sd.encap_content_info.econtent_type != ID_CT_TST_INFO {
        return Err("the token does not hold a TSTInfo".into());
    }
    let econtent = sd.encap_content_info.econtent.as_ref().ok_or("the token has no TSTInfo content")?;
    let tst_der = econtent.decode_as::<OctetString>().map_err(|e| format!("bad TSTInfo wrapping ({e})"))?;
    let tst = TstInfo::from_der(tst_der.as_bytes()).map_err(|e| format!("bad TSTInfo ({e})"))?;
    let hash = HashAlg::from_algorithm(&tst.message_imprint.hash_algorithm)
        .ok_or("the token's imprint uses a hash weaker than SHA-256 or unknown")?;
    let expected = match expected {
        Some((alg, d)) if alg == hash => d.to_vec(),
        Some((alg, _)) => {
            return Err(format!("the token's imprint uses {}, not the {} asked for", hash.name(), alg.name()));
        }
        None => hash.digest(parts),
    };
    if tst.message_imprint.hashed_message.as_bytes() != expected.as_slice() {
        return Err("the token's message imprint does not match: it was issued over other data".into());
    }
    let gen_time = parse_generalized_time(&tst.gen_time)?;
    let certificates: Vec<Certificate> = sd
        .certificates
        .iter()
        .flat_map(|s| s.0.iter())
        .filter_map(|c| match c {
            CertificateChoices::Certificate(c) => Some(c.clone()),
            CertificateChoices::Other(_) => None,
        })
        .collect();
    let si = single_signer(&sd.signer_infos)?;
    let tsa = super::check::find_signer(&certificates, &si.sid).ok_or("the TSA's certificate is not in the token")?;
    check_tsa_eku(&tsa)?;
    check_signed_attributes(si, tst_der.as_bytes(), &tsa)?;
    let anchor = if anchors.is_empty() {
        None
    } else {
        let at = gen_time;
        Some(
            super::check::check_chain(&tsa, &certificates, anchors, at)
                .map_err(|e| format!("the TSA's certificate does not chain to the TSA CA: {e}"))?,
        )
    };
    let serial = hex::encode(tst.serial_number.as_bytes());
    Ok(Checked {
        verified: VerifiedToken { gen_time, tsa, certificates, anchor, hash: hash.name(), serial },
        nonce: tst.nonce,
    })
}

fn single_signer(infos: &SignerInfos) -> Result<&SignerInfo, String> {
    let all: Vec<_> = infos.0.iter().collect();
    match all.as_slice() {
        [si] => Ok(si),
        _ => Err(format!("the token has {} signers; expected one", all.len())),
    }
}

/// Content type, message digest and ESS certificate binding, then the signature itself.
fn check_signed_attributes(si: &SignerInfo, tst_der: &[u8], tsa: &Certificate) -> Result<(), String> {
    let attrs = si.signed_attrs.as_ref().ok_or("the token has no signed attributes")?;
    let one = |oid: ObjectIdentifier| attrs.iter().find(|a| a.oid == oid).and_then(|a| a.values.get(0));
    let ct = one(CONTENT_TYPE).and_then(|v| v.decode_as::<ObjectIdentifier>().ok());
    if ct != Some(ID_CT_TST_INFO) {
        return Err("the token's content-type attribute is not TSTInfo".into());
    }
    let digest_alg =
        HashAlg::from_algorithm(&si.digest_alg).ok_or("the token is signed with a digest weaker than SHA-256")?;
    let md = one(MESSAGE_DIGEST).and_then(|v| v.decode_as::<OctetString>().ok()).ok_or("no message-digest")?;
    if md.as_bytes() != digest_alg.digest(&[tst_der]).as_slice() {
        return Err("the token's TSTInfo was changed after signing (message digest mismatch)".into());
    }
    let tsa_der = tsa.to_der().map_err(|e| e.to_string())?;
    if let Some(v2) = one(SIGNING_CERTIFICATE_V2) {
        let ess: SigningCertificateV2 = v2.decode_as().map_err(|e| format!("bad signing-certificate-v2 ({e})"))?;
        let first = ess.certs.first().ok_or("empty signing-certificate-v2")?;
        let alg = first.hash_algorithm.as_ref().map_or(Some(HashAlg::Sha256), HashAlg::from_algorithm);
        let alg = alg.ok_or("the token's ESS certificate hash is weaker than SHA-256")?;
        if first.cert_hash.as_bytes() != alg.digest(&[&tsa_der]).as_slice() {
            return Err("the token names another TSA certificate than the one it carries".into());
        }
    } else if one(SIGNING_CERTIFICATE_V1).is_none() {
        return Err("the token has no ESS signing-certificate attribute".into());
    }
    let signed = attrs.to_der().map_err(|e| e.to_string())?;
    let alg = if si.signature_algorithm.oid == super::cades::RSA_ENCRYPTION {
        let oid = match digest_alg {
            HashAlg::Sha384 => super::cades::RSA_SHA384,
            HashAlg::Sha256 => super::cades::RSA_SHA256,
            HashAlg::Sha512 => return Err("RSA with SHA-512 token signatures are not supported".into()),
        };
        AlgorithmIdentifierOwned { oid, parameters: None }
    } else {
        si.signature_algorithm.clone()
    };
    let spki = tsa.tbs_certificate().subject_public_key_info();
    super::check::verify_signature(spki, &alg, &signed, si.signature.as_bytes())
        .map_err(|e| format!("the token's signature does not verify with the TSA's key ({e})"))
}

/// RFC 3161 §2.3: exactly the `timeStamping` purpose, in a critical extension.
fn check_tsa_eku(tsa: &Certificate) -> Result<(), String> {
    let subject = tsa.tbs_certificate().subject();
    match tsa.tbs_certificate().get_extension::<ExtendedKeyUsage>() {
        Ok(Some((critical, eku))) => {
            if !critical {
                return Err(format!("the TSA certificate {subject} has a non-critical extended key usage"));
            }
            if eku.0 != [ID_KP_TIME_STAMPING] {
                return Err(format!("the TSA certificate {subject} is not for timeStamping only"));
            }
            Ok(())
        }
        Ok(None) => Err(format!("the TSA certificate {subject} lacks the timeStamping extended key usage")),
        Err(e) => Err(format!("the TSA certificate {subject} has a bad extended key usage ({e})")),
    }
}

/// `YYYYMMDDHHMMSS[.f…]Z` to Unix time (fractions kept to the nanosecond).
fn parse_generalized_time(any: &Any) -> Result<Duration, String> {
    if der::Tagged::tag(any) != der::Tag::GeneralizedTime {
        return Err("the token's genTime is not a GeneralizedTime".into());
    }
    let text = std::str::from_utf8(any.value()).map_err(|_| "genTime is not text")?;
    let body = text.strip_suffix('Z').ok_or("genTime is not in UTC")?;
    let (whole, frac) = body.split_once('.').unwrap_or((body, ""));
    if whole.len() != 14 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("bad genTime {text}"));
    }
    let fmt = "%Y%m%d%H%M%S";
    let dt = chrono::NaiveDateTime::parse_from_str(whole, fmt).map_err(|_| format!("bad genTime {text}"))?;
    if !frac.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 9 {
        return Err(format!("bad genTime {text}"));
    }
    let nanos: u32 = if frac.is_empty() { 0 } else { format!("{frac:0<9}").parse().unwrap_or(0) };
    let secs = u64::try_from(dt.and_utc().timestamp()).map_err(|_| format!("genTime {text} is before 1970"))?;
    Ok(Duration::new(secs, nanos))
}

/// CAdES-T: `cms_der` (one signer) with a `signatureTimeStampToken` over its signature value.
///
/// # Errors
/// When the CMS is not ours or the TSA fails.
pub(crate) fn add_signature_timestamp(cms_der: &[u8], tsa: &TsaClient) -> Result<(Vec<u8>, Token), SignError> {
    let build = |e: der::Error| SignError::Build(e.to_string());
    let info = ContentInfo::from_der(cms_der).map_err(build)?;
    let mut sd: SignedData = info.content.decode_as().map_err(build)?;
    let mut signers: Vec<SignerInfo> = sd.signer_infos.0.iter().cloned().collect();
    let [si] = signers.as_mut_slice() else { return Err(SignError::Build("expected one signer".into())) };
    let token = tsa.timestamp(si.signature.as_bytes())?;
    let value = Any::from_der(&token.der).map_err(build)?;
    let mut values = SetOfVec::new();
    values.insert(value).map_err(build)?;
    let attr = Attribute { oid: SIGNATURE_TIME_STAMP_TOKEN, values };
    let mut unsigned = si.unsigned_attrs.take().unwrap_or_default();
    unsigned.insert(attr).map_err(build)?;
    si.unsigned_attrs = Some(unsigned);
    sd.signer_infos = SignerInfos::try_from(signers).map_err(build)?;
    let out = ContentInfo { content_type: info.content_type, content: Any::encode_from(&sd).map_err(build)? };
    Ok((out.to_der().map_err(build)?, token))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tsa/");

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!("{FIXTURES}{name}")).unwrap()
    }

    /// The query of `make.sh`: SHA-256 of this text.
    fn digest() -> [u8; 32] {
        sha2::Sha256::digest(b"dora-evidence TSA fixture").into()
    }

    fn token_of(reply: &[u8]) -> Vec<u8> {
        TimeStampResp::from_der(reply).unwrap().token.unwrap().to_der().unwrap()
    }

    fn anchors() -> Vec<Certificate> {
        crate::sign::load_certificates(std::path::Path::new(&format!("{FIXTURES}tsa-ca.pem"))).unwrap()
    }

    #[test]
    fn a_good_token_verifies_with_its_time_and_chain() {
        let v = verify_token_digest(&token_of(&fixture("ok.tsr")), &digest(), &anchors()).unwrap();
        assert!(v.tsa_subject().contains("TEST TSA"), "{}", v.tsa_subject());
        assert!(v.anchor.unwrap().contains("TEST TSA CA"));
        assert_eq!(v.hash, "SHA-256");
        assert!(v.gen_time > Duration::from_secs(1_700_000_000));
        let same = verify_token(&token_of(&fixture("ok.tsr")), &[b"dora-evidence ", b"TSA fixture"], &[]).unwrap();
        assert_eq!(same.gen_time, v.gen_time);
        assert!(same.anchor.is_none());
    }

    #[test]
    fn each_fault_is_named() {
        let d = digest();
        let cases = [
            ("wrong-imprint.tsr", "imprint does not match"),
            ("sha1.tsr", "weaker than SHA-256"),
            ("no-eku.tsr", "lacks the timeStamping"),
            ("bad-signature.tsr", "does not verify"),
        ];
        for (file, expected) in cases {
            let err = verify_token_digest(&token_of(&fixture(file)), &d, &anchors()).unwrap_err();
            assert!(err.contains(expected), "{file}: {err}");
        }
        // A token over other data, and one checked against an unrelated anchor.
        let other: [u8; 32] = sha2::Sha256::digest(b"other").into();
        assert!(verify_token_digest(&token_of(&fixture("ok.tsr")), &other, &[]).unwrap_err().contains("imprint"));
        let wrong_ca = crate::sign::load_certificates(std::path::Path::new(&format!("{FIXTURES}tsa.pem"))).unwrap();
        let err = verify_token_digest(&token_of(&fixture("ok.tsr")), &d, &wrong_ca);
        assert!(err.is_err() || err.unwrap().anchor.is_some());
        assert!(TimeStampResp::from_der(&fixture("garbage.tsr")).is_err());
        let reject = TimeStampResp::from_der(&fixture("reject.tsr")).unwrap();
        assert!(reject.token.is_none());
    }

    #[test]
    fn the_nonce_comes_back_in_a_good_token_and_is_absent_from_a_stripped_one() {
        let ok = check_token(&token_of(&fixture("ok.tsr")), &[], Some((HashAlg::Sha256, &digest())), &[]).unwrap();
        assert!(ok.nonce.is_some());
        let stripped =
            check_token(&token_of(&fixture("no-nonce.tsr")), &[], Some((HashAlg::Sha256, &digest())), &[]).unwrap();
        assert!(stripped.nonce.is_none());
    }

    /// Every single-byte change of a token is caught (or leaves an equal, canonical token).
    #[test]
    fn every_changed_byte_of_a_token_is_detected() {
        let token = token_of(&fixture("ok.tsr"));
        let d = digest();
        for i in 0..token.len() {
            let mut bad = token.clone();
            bad[i] ^= 0x01;
            if let Ok(v) = verify_token_digest(&bad, &d, &anchors()) {
                // Bytes outside the signed TSTInfo and attributes: the certificate set's
                // ordering or unsigned fields. The proven time must then be unchanged.
                let good = verify_token_digest(&token, &d, &anchors()).unwrap();
                assert_eq!(v.gen_time, good.gen_time, "byte {i}");
            }
        }
    }

    #[test]
    fn generalized_times_with_fractions_parse() {
        let any = |s: &str| Any::new(der::Tag::GeneralizedTime, s.as_bytes()).unwrap();
        assert_eq!(parse_generalized_time(&any("20261204230102Z")).unwrap(), Duration::from_secs(1_796_425_262));
        assert_eq!(
            parse_generalized_time(&any("20261204230102.5Z")).unwrap(),
            Duration::new(1_796_425_262, 500_000_000)
        );
        for bad in ["20261204230102", "2026120423010Z", "20261204230102.Z5", "20261204230102.1234567890Z"] {
            assert!(parse_generalized_time(&any(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn credentials_in_the_url_are_refused_without_echoing_them() {
        let opts = TsaOptions { url: "https://me:s3cret@tsa.example/".into(), ..TsaOptions::default() };
        let err = TsaClient::new(opts).unwrap_err().to_string();
        assert!(!err.contains("s3cret") && err.contains("DORA_EVIDENCE_TSA_PASSWORD"), "{err}");
        let opts = TsaOptions { url: "ftp://tsa.example/".into(), ..TsaOptions::default() };
        assert!(TsaClient::new(opts).is_err());
    }
}
