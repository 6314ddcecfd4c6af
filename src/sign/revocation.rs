//! Revocation data for long-term validation (PAdES B-LT, issue 17): CRLs and OCSP responses
//! for the certificates of a chain (the signer's and the TSA's), from files the user gives
//! (`--crl`, `--ocsp-response`) and from the certificates' CRL distribution points (HTTP GET,
//! short timeout).
//!
//! Nothing is invented: a certificate for which no data could be had is *reported* (one line
//! per certificate, saying why), and data that does not belong to the chain is refused. A
//! CRL must be issued by a certificate of the chain and its signature must verify with that
//! certificate's key; an OCSP response must be a successful basic response naming a serial
//! number of the chain (its signature is left to the verifier, as its responder may be a
//! delegate outside the chain). Self-signed certificates are trust anchors and need none.
//! When no CRL covers a certificate, its OCSP responders (authority information access) are
//! asked over HTTP POST (RFC 6960, one request, a SHA-1 CertID as RFC 5019 responders
//! expect); the answer must be a successful basic response naming that certificate.

use std::path::PathBuf;
use std::time::Duration;

use der::asn1::{GeneralizedTime, OctetString};
use der::{Any, Decode as _, Encode as _, Sequence};
use spki::{AlgorithmIdentifierOwned, ObjectIdentifier};
use x509_cert::Certificate;
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{AuthorityInfoAccessSyntax, CrlDistributionPoints};
use x509_cert::serial_number::SerialNumber;

use super::SignError;
use super::check::verify_signature;

/// Where revocation data may come from.
#[derive(Debug, Clone, Default)]
pub struct RevocationSources {
    /// CRL files (DER or PEM), `--crl`.
    pub crl_files: Vec<PathBuf>,
    /// OCSP response files (DER), `--ocsp-response`.
    pub ocsp_files: Vec<PathBuf>,
    /// Fetch CRLs from the certificates' distribution points over HTTP.
    pub fetch: bool,
}

/// Revocation data for a chain, and what could not be had.
#[derive(Debug, Clone, Default)]
pub struct RevocationData {
    /// DER CRLs, each issued by a certificate of the chain (signature checked).
    pub crls: Vec<Vec<u8>>,
    /// DER OCSP responses (successful, basic, naming a certificate of the chain).
    pub ocsps: Vec<Vec<u8>>,
    /// One line per certificate without data: `no revocation data for <subject>: <why>`.
    pub missing: Vec<String>,
}

/// How long one CRL download may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest CRL we download.
const MAX_CRL: u64 = 16 << 20;
const ID_AD_OCSP: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1");
const ID_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const ID_PKIX_OCSP_BASIC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.1");

/// Revocation data for every certificate of `chain` (duplicates ignored) from `sources`.
///
/// # Errors
/// When a given file cannot be read, does not parse, or does not belong to the chain (a CRL
/// from another issuer or with a bad signature; an OCSP response for no certificate of it).
/// Failed downloads are not errors: they are reported in [`RevocationData::missing`].
pub fn collect(chain: &[Certificate], sources: &RevocationSources) -> Result<RevocationData, SignError> {
    let mut chain: Vec<&Certificate> = chain.iter().collect();
    chain.dedup_by(|a, b| a == b);
    let mut out = RevocationData::default();
    let mut crls: Vec<CertificateList> = Vec::new();
    for path in &sources.crl_files {
        let file_err = |message: String| SignError::File { path: path.display().to_string(), message };
        let bytes = std::fs::read(path).map_err(|e| file_err(e.to_string()))?;
        let (crl, der) = parse_crl(&bytes).map_err(file_err)?;
        check_crl_issuer(&crl, &chain).map_err(file_err)?;
        crls.push(crl);
        out.crls.push(der);
    }
    let mut ocsp_serials: Vec<SerialNumber> = Vec::new();
    for path in &sources.ocsp_files {
        let file_err = |message: String| SignError::File { path: path.display().to_string(), message };
        let bytes = std::fs::read(path).map_err(|e| file_err(e.to_string()))?;
        let serials = ocsp_serials_of(&bytes).map_err(file_err)?;
        if !serials.iter().any(|s| chain.iter().any(|c| c.tbs_certificate().serial_number() == s)) {
            return Err(file_err("the OCSP response names no certificate of the signing or TSA chain".into()));
        }
        ocsp_serials.extend(serials);
        out.ocsps.push(bytes);
    }
    for cert in &chain {
        let tbs = cert.tbs_certificate();
        if tbs.issuer() == tbs.subject() {
            continue; // a trust anchor
        }
        let covered = |crls: &[CertificateList]| crls.iter().any(|c| &c.tbs_cert_list.issuer == tbs.issuer());
        if covered(&crls) || ocsp_serials.contains(tbs.serial_number()) {
            continue;
        }
        let why = if sources.fetch { fetch_for(cert, &chain, &mut crls, &mut out.crls) } else { None };
        if covered(&crls) {
            continue;
        }
        let why = match (sources.fetch, issuer_in(cert, &chain)) {
            (true, Some(issuer)) if !ocsp_urls(cert).is_empty() => match ask_ocsp(cert, issuer) {
                Ok(response) => {
                    ocsp_serials.push(tbs.serial_number().clone());
                    out.ocsps.push(response);
                    continue;
                }
                Err(e) => Some(why.map_or(e.clone(), |w| format!("{w}; {e}"))),
            },
            _ => why,
        };
        let why = why.unwrap_or_else(|| no_source_reason(cert, sources.fetch));
        out.missing.push(format!("no revocation data for {}: {why}", tbs.subject()));
    }
    Ok(out)
}

/// The certificates of `chain` (self-signed ones left out) for which neither a CRL from
/// their issuer nor an OCSP response naming their serial number is in `crls` / `ocsps`
/// (unreadable items count for nothing), one line each.
pub(crate) fn uncovered(chain: &[Certificate], crls: &[Vec<u8>], ocsps: &[Vec<u8>]) -> Vec<String> {
    let crls: Vec<CertificateList> = crls.iter().filter_map(|d| CertificateList::from_der(d).ok()).collect();
    let serials: Vec<SerialNumber> = ocsps.iter().filter_map(|d| ocsp_serials_of(d).ok()).flatten().collect();
    chain
        .iter()
        .filter(|c| {
            let tbs = c.tbs_certificate();
            tbs.issuer() != tbs.subject()
                && !crls.iter().any(|l| &l.tbs_cert_list.issuer == tbs.issuer())
                && !serials.contains(tbs.serial_number())
        })
        .map(|c| format!("no revocation data for {}", c.tbs_certificate().subject()))
        .collect()
}

/// Tries each HTTP CRL distribution point of `cert`; returns why none worked (or `None`
/// when there is none to try).
fn fetch_for(
    cert: &Certificate,
    chain: &[&Certificate],
    crls: &mut Vec<CertificateList>,
    ders: &mut Vec<Vec<u8>>,
) -> Option<String> {
    let mut problems = Vec::new();
    for url in crl_urls(cert) {
        match fetch(&url).and_then(|b| parse_crl(&b)).and_then(|(crl, der)| {
            if &crl.tbs_cert_list.issuer != cert.tbs_certificate().issuer() {
                return Err("the CRL there is from another issuer".into());
            }
            check_crl_issuer(&crl, chain).map(|()| (crl, der))
        }) {
            Ok((crl, der)) => {
                if !ders.contains(&der) {
                    crls.push(crl);
                    ders.push(der);
                }
                return None;
            }
            Err(e) => problems.push(format!("{url}: {e}")),
        }
    }
    (!problems.is_empty()).then(|| format!("CRL download failed ({})", problems.join("; ")))
}

fn no_source_reason(cert: &Certificate, fetch: bool) -> String {
    let ocsp = ocsp_urls(cert);
    match (crl_urls(cert).is_empty(), ocsp.is_empty(), fetch) {
        (true, true, _) => "the certificate names no CRL distribution point or OCSP responder".into(),
        (false, _, false) => "CRL downloads are off and no --crl was given for its issuer".into(),
        (_, false, false) => {
            format!("downloads are off; OCSP responder {} not asked (give --ocsp-response FILE)", ocsp.join(", "))
        }
        (_, false, true) => {
            format!("its issuer is not in the chain, so OCSP responder {} cannot be asked", ocsp.join(", "))
        }
        (false, true, true) => "no CRL could be had".into(),
    }
}

/// The `http://` URIs of the certificate's CRL distribution points.
fn crl_urls(cert: &Certificate) -> Vec<String> {
    let Ok(Some((_, dps))) = cert.tbs_certificate().get_extension::<CrlDistributionPoints>() else { return Vec::new() };
    dps.0
        .iter()
        .filter_map(|dp: &DistributionPoint| match &dp.distribution_point {
            Some(DistributionPointName::FullName(names)) => Some(names),
            _ => None,
        })
        .flatten()
        .filter_map(|n| match n {
            GeneralName::UniformResourceIdentifier(u) if u.as_str().starts_with("http://") => Some(u.to_string()),
            _ => None,
        })
        .collect()
}

/// The OCSP responder URIs of the certificate's authority information access.
fn ocsp_urls(cert: &Certificate) -> Vec<String> {
    let Ok(Some((_, aia))) = cert.tbs_certificate().get_extension::<AuthorityInfoAccessSyntax>() else {
        return Vec::new();
    };
    aia.0
        .iter()
        .filter(|a| a.access_method == ID_AD_OCSP)
        .filter_map(|a| match &a.access_location {
            GeneralName::UniformResourceIdentifier(u) => Some(u.to_string()),
            _ => None,
        })
        .collect()
}

fn fetch(url: &str) -> Result<Vec<u8>, String> {
    let config = ureq::Agent::config_builder().timeout_global(Some(FETCH_TIMEOUT)).build();
    let agent = ureq::Agent::new_with_config(config);
    let mut resp = agent.get(url).call().map_err(|e| e.to_string())?;
    resp.body_mut().with_config().limit(MAX_CRL).read_to_vec().map_err(|e| e.to_string())
}

/// A CRL from DER or PEM bytes, with its DER.
fn parse_crl(bytes: &[u8]) -> Result<(CertificateList, Vec<u8>), String> {
    let der = if bytes.starts_with(b"-----BEGIN") {
        let (label, der) = pem_rfc7468_decode(bytes)?;
        if label != "X509 CRL" {
            return Err(format!("PEM block is '{label}', not 'X509 CRL'"));
        }
        der
    } else {
        bytes.to_vec()
    };
    let crl = CertificateList::from_der(&der).map_err(|e| format!("not a DER CRL: {e}"))?;
    Ok((crl, der))
}

fn pem_rfc7468_decode(bytes: &[u8]) -> Result<(String, Vec<u8>), String> {
    let (label, der) = der::pem::decode_vec(bytes).map_err(|e| format!("bad PEM: {e}"))?;
    Ok((label.to_owned(), der))
}

/// The CRL's issuer is a certificate of the chain and its signature verifies with its key.
fn check_crl_issuer(crl: &CertificateList, chain: &[&Certificate]) -> Result<(), String> {
    let issuer = &crl.tbs_cert_list.issuer;
    let candidates: Vec<&&Certificate> = chain.iter().filter(|c| c.tbs_certificate().subject() == issuer).collect();
    if candidates.is_empty() {
        return Err(format!("the CRL's issuer {issuer} is not a certificate of the signing or TSA chain"));
    }
    let tbs = crl.tbs_cert_list.to_der().map_err(|e| e.to_string())?;
    let sig = crl.signature.as_bytes().ok_or("the CRL's signature is not whole bytes")?;
    let alg = &crl.signature_algorithm;
    if candidates
        .iter()
        .any(|c| verify_signature(c.tbs_certificate().subject_public_key_info(), alg, &tbs, sig).is_ok())
    {
        Ok(())
    } else {
        Err(format!("the CRL's signature does not verify with the key of {issuer}"))
    }
}

/// The certificate of `chain` that issued `cert` (by name and signature).
fn issuer_in<'a>(cert: &Certificate, chain: &[&'a Certificate]) -> Option<&'a Certificate> {
    let tbs = cert.tbs_certificate();
    chain.iter().copied().find(|c| {
        c.tbs_certificate().subject() == tbs.issuer()
            && tbs.to_der().is_ok_and(|der| {
                let key = c.tbs_certificate().subject_public_key_info();
                let sig = cert.signature().as_bytes().unwrap_or_default();
                verify_signature(key, cert.signature_algorithm(), &der, sig).is_ok()
            })
    })
}

/// Asks each OCSP responder of `cert` in turn; returns the first successful basic response
/// that names `cert`, or why none did.
fn ask_ocsp(cert: &Certificate, issuer: &Certificate) -> Result<Vec<u8>, String> {
    let request = ocsp_request(cert, issuer)?;
    let serial = cert.tbs_certificate().serial_number();
    let mut problems = Vec::new();
    for url in ocsp_urls(cert).into_iter().filter(|u| u.starts_with("http://") || u.starts_with("https://")) {
        let config = ureq::Agent::config_builder().timeout_global(Some(FETCH_TIMEOUT)).build();
        let answer = ureq::Agent::new_with_config(config)
            .post(&url)
            .header("Content-Type", "application/ocsp-request")
            .send(&request[..])
            .map_err(|e| e.to_string())
            .and_then(|mut r| r.body_mut().with_config().limit(1 << 20).read_to_vec().map_err(|e| e.to_string()))
            .and_then(|bytes| match ocsp_serials_of(&bytes)?.contains(serial) {
                true => Ok(bytes),
                false => Err("the response does not name the certificate".into()),
            });
        match answer {
            Ok(bytes) => return Ok(bytes),
            Err(e) => problems.push(format!("OCSP {url}: {e}")),
        }
    }
    Err(problems.join("; "))
}

/// `OCSPRequest` for one certificate: `tbsRequest { requestList { Request { reqCert } } }`.
#[derive(Sequence)]
struct OcspRequest {
    tbs_request: TbsRequest,
}

#[derive(Sequence)]
struct TbsRequest {
    request_list: Vec<OneRequest>,
}

#[derive(Sequence)]
struct OneRequest {
    req_cert: CertId,
}

/// The DER request for `cert`, with a SHA-1 CertID of its issuer's name and key.
fn ocsp_request(cert: &Certificate, issuer: &Certificate) -> Result<Vec<u8>, String> {
    use sha1::Digest as _;
    let e = |e: der::Error| e.to_string();
    let name = issuer.tbs_certificate().subject().to_der().map_err(e)?;
    let key = issuer.tbs_certificate().subject_public_key_info().subject_public_key.raw_bytes();
    let id = CertId {
        hash_algorithm: AlgorithmIdentifierOwned { oid: ID_SHA1, parameters: None },
        issuer_name_hash: OctetString::new(sha1::Sha1::digest(&name).to_vec()).map_err(e)?,
        issuer_key_hash: OctetString::new(sha1::Sha1::digest(key).to_vec()).map_err(e)?,
        serial_number: cert.tbs_certificate().serial_number().clone(),
    };
    OcspRequest { tbs_request: TbsRequest { request_list: vec![OneRequest { req_cert: id }] } }.to_der().map_err(e)
}

/// `OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED, responseBytes [0] EXPLICIT … }`.
#[derive(Sequence)]
struct OcspResponse {
    status: Any,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    bytes: Option<ResponseBytes>,
}

#[derive(Sequence)]
struct ResponseBytes {
    response_type: ObjectIdentifier,
    response: OctetString,
}

/// `BasicOCSPResponse`, only as far as the responses.
#[derive(Sequence)]
struct BasicOcspResponse {
    tbs: ResponseData,
    signature_algorithm: AlgorithmIdentifierOwned,
    signature: der::asn1::BitString,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    certs: Option<Vec<Any>>,
}

#[derive(Sequence)]
struct ResponseData {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    version: Option<u8>,
    responder_id: Any,
    produced_at: GeneralizedTime,
    responses: Vec<SingleResponse>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    extensions: Option<Any>,
}

#[derive(Sequence)]
struct SingleResponse {
    cert_id: CertId,
    cert_status: Any,
    this_update: GeneralizedTime,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    next_update: Option<GeneralizedTime>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    extensions: Option<Any>,
}

#[derive(Sequence)]
struct CertId {
    hash_algorithm: AlgorithmIdentifierOwned,
    issuer_name_hash: OctetString,
    issuer_key_hash: OctetString,
    serial_number: SerialNumber,
}

/// The serial numbers a successful basic OCSP response speaks about.
fn ocsp_serials_of(der: &[u8]) -> Result<Vec<SerialNumber>, String> {
    let resp = OcspResponse::from_der(der).map_err(|e| format!("not a DER OCSP response: {e}"))?;
    if der::Tagged::tag(&resp.status) != der::Tag::Enumerated || resp.status.value() != [0] {
        return Err("the OCSP response's status is not 'successful'".into());
    }
    let bytes = resp.bytes.ok_or("the OCSP response holds no response")?;
    if bytes.response_type != ID_PKIX_OCSP_BASIC {
        return Err(format!("OCSP response type {} is not id-pkix-ocsp-basic", bytes.response_type));
    }
    let basic =
        BasicOcspResponse::from_der(bytes.response.as_bytes()).map_err(|e| format!("bad BasicOCSPResponse: {e}"))?;
    Ok(basic.tbs.responses.into_iter().map(|r| r.cert_id.serial_number).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_files_are_errors() {
        assert!(parse_crl(b"").is_err());
        assert!(parse_crl(b"-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n").is_err());
        assert!(ocsp_serials_of(&[0x30, 0x03, 0x0a, 0x01, 0x01]).unwrap_err().contains("successful"));
        assert!(ocsp_serials_of(&[0x30, 0x80]).is_err());
    }

    #[test]
    fn files_that_cannot_be_read_are_named() {
        let sources = RevocationSources { crl_files: vec!["/nonexistent/x.crl".into()], ..Default::default() };
        let e = collect(&[], &sources).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/x.crl"), "{e}");
    }
}
