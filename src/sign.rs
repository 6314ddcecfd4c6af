//! `sign`: who signs a package, and the two signatures it carries.
//!
//! A signing [`Identity`] is a private key with its X.509 certificate chain — a local PEM key
//! (ECDSA P-256 or RSA) or an AWS KMS asymmetric key whose private half never leaves KMS.
//! With it the package gets:
//!
//! * `manifest.json.p7s`: a detached CMS SignedData over `manifest.json` ([`sign_detached`]),
//!   which `openssl cms -verify` checks;
//! * a PAdES B-B signature inside `report.pdf` ([`sign_pdf`]): `ETSI.CAdES.detached`, an
//!   invisible field, appended as an incremental update after the PDF/A-3b bytes, which
//!   `pdfsig` checks.
//!
//! Both CMS structures carry the ESS `signing-certificate-v2` attribute binding the signer's
//! certificate. The KMS signer signs the DER of the signed attributes with `MessageType=RAW`
//! (always well under KMS's 4096-byte limit): KMS hashes it with SHA-256 exactly as CMS
//! requires, so the result is an ordinary CMS signature that openssl verifies — no DIGEST
//! mode (which moto lacks) and no side file are needed.
//!
//! Nothing here prints or logs key material; errors name files and operations only.

pub(crate) mod cades;
pub(crate) mod check;
pub(crate) mod csr;
mod identity;
pub(crate) mod keygen;
mod kms;
pub mod revocation;
pub mod tsa;

pub use identity::{Identity, KeySource, load_certificates};
pub use tsa::{TsaClient, TsaOptions};

use crate::pdf;
use crate::time::Timestamp;

/// Why signing failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// A key or certificate file problem.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: String,
        /// What is wrong (never the key itself).
        message: String,
    },
    /// The private key file is readable by others.
    #[error(
        "{path}: private key is readable by others (mode {mode:o}); run `chmod 600 {path}` or pass --insecure-key-permissions"
    )]
    KeyPermissions {
        /// The file.
        path: String,
        /// Its permission bits.
        mode: u32,
    },
    /// The certificate does not belong to the key, or is not valid when signing.
    #[error("{0}")]
    Mismatch(String),
    /// A bad value given by the user (a subject name, say).
    #[error("{0}")]
    Usage(String),
    /// AWS KMS refused or failed.
    #[error("AWS KMS {operation} on {key_id}: {message}")]
    Kms {
        /// The KMS operation.
        operation: &'static str,
        /// The key id or ARN.
        key_id: String,
        /// The service's message.
        message: String,
    },
    /// Building a signature structure failed.
    #[error("cannot build the signature: {0}")]
    Build(String),
    /// The time-stamping authority failed, refused or answered with a token that fails a check.
    #[error("timestamp: {0}")]
    Timestamp(String),
    /// The PDF could not be prepared for signing.
    #[error("report.pdf: {0}")]
    Pdf(#[from] pdf::PdfError),
}

/// What the PDF signature says besides the signature itself.
#[derive(Debug, Clone)]
pub struct SignatureInfo {
    /// The claimed signing time (`/M`, and `signing-time` in the manifest signature).
    pub signing_time: Timestamp,
    /// `/Reason`.
    pub reason: Option<String>,
    /// `/Location`.
    pub location: Option<String>,
    /// `/ContactInfo`.
    pub contact_info: Option<String>,
}

/// The PAdES sub-filter we write.
pub const PDF_SUB_FILTER: &str = "ETSI.CAdES.detached";

/// A detached CMS SignedData (DER) over `content`, with `signing-time` set; with a TSA, a
/// CAdES-T signature (an RFC 3161 token over the signature value as an unsigned attribute).
///
/// # Errors
/// When the signer fails (KMS errors included) or the TSA fails or answers wrongly.
pub fn sign_detached(
    identity: &Identity,
    content: &[u8],
    signing_time: Timestamp,
    tsa: Option<&TsaClient>,
) -> Result<Vec<u8>, SignError> {
    let digest = sha2_digest(&[content]);
    let cms = cades::signed_data(identity, &digest, Some(signing_time))?;
    match tsa {
        Some(tsa) => Ok(tsa::add_signature_timestamp(&cms, tsa)?.0),
        None => Ok(cms),
    }
}

/// [`sign_detached`] with a TSA, plus long-term validation data: the TSA's chain in
/// `certificates` and `crls` (those collected for the report's `/DSS`, so nothing is
/// downloaded twice) in `crls` (CAdES-T with its validation data).
///
/// # Errors
/// As [`sign_detached`].
pub fn sign_detached_ltv(
    identity: &Identity,
    content: &[u8],
    signing_time: Timestamp,
    tsa: &TsaClient,
    crls: &[Vec<u8>],
) -> Result<Vec<u8>, SignError> {
    let digest = sha2_digest(&[content]);
    let cms = cades::signed_data(identity, &digest, Some(signing_time))?;
    let (cms, token) = tsa::add_signature_timestamp(&cms, tsa)?;
    cades::add_validation_data(&cms, &token.certificates, crls)
}

/// Signs a PDF: returns the original bytes followed by an incremental update holding a PAdES
/// B-B signature over the whole file (everything but the signature's own `/Contents`).
///
/// # Errors
/// When the PDF cannot be prepared (no classic xref, already a form) or the signer fails.
pub fn sign_pdf(identity: &Identity, original: &[u8], info: &SignatureInfo) -> Result<Vec<u8>, SignError> {
    Ok(sign_pdf_pades(identity, original, info, &PadesOptions::default())?.0)
}

/// How far beyond B-B the PDF signature goes.
#[derive(Debug, Clone, Default)]
pub struct PadesOptions<'a> {
    /// The TSA: with it the signature is B-T, then B-LT (`/DSS`) and B-LTA (a document
    /// timestamp); without it B-B, byte for byte as before.
    pub tsa: Option<&'a tsa::TsaClient>,
    /// Where the revocation data for the `/DSS` comes from (used only with a TSA).
    pub revocation: revocation::RevocationSources,
}

/// What [`sign_pdf_pades`] reached.
#[derive(Debug, Clone)]
pub struct PadesOutcome {
    /// The PAdES level written.
    pub level: pdf::PadesLevel,
    /// The signature timestamp's time (B-T and up).
    pub signature_time: Option<std::time::Duration>,
    /// The document timestamp's time (B-LTA).
    pub document_timestamp_time: Option<std::time::Duration>,
    /// Certificates for which no revocation data went into the `/DSS`, and why.
    pub revocation_missing: Vec<String>,
    /// The CRLs that went into the `/DSS` (DER), for the manifest signature's CMS too.
    pub crls: Vec<Vec<u8>>,
}

/// Signs a PDF at PAdES B-B, or with a TSA at B-LTA: the CAdES signature with its
/// `signatureTimeStampToken` (B-T), then an incremental update adding the `/DSS` with the
/// signer's and the TSA's chains and their revocation data (B-LT), then one adding a
/// document timestamp over the whole file (B-LTA).
///
/// # Errors
/// When the PDF cannot be prepared, the signer or the TSA fails, or a revocation file is bad.
pub fn sign_pdf_pades(
    identity: &Identity,
    original: &[u8],
    info: &SignatureInfo,
    opts: &PadesOptions<'_>,
) -> Result<(Vec<u8>, PadesOutcome), SignError> {
    let chain_len = identity.chain.iter().map(der_len).sum::<usize>();
    // A token carries the TSA's chain: 3–8 KB for the TSAs we know; a larger one is retried.
    let token_room = if opts.tsa.is_some() { 12 * 1024 } else { 0 };
    let reserve = (chain_len + 4096 + token_room).next_multiple_of(1024).max(8192);
    let (signed, token) = match sign_cades_pdf(identity, original, info, opts.tsa, reserve)? {
        Fit::Done(signed, token) => (signed, token),
        Fit::Needs(needed) => {
            match sign_cades_pdf(identity, original, info, opts.tsa, (needed + 1024).next_multiple_of(1024))? {
                Fit::Done(signed, token) => (signed, token),
                Fit::Needs(needed) => {
                    return Err(SignError::Build(format!("the PDF signature grew to {needed} bytes on retry")));
                }
            }
        }
    };
    let Some((tsa, token)) = opts.tsa.zip(token) else {
        let outcome = PadesOutcome {
            level: pdf::PadesLevel::BB,
            signature_time: None,
            document_timestamp_time: None,
            revocation_missing: Vec::new(),
            crls: Vec::new(),
        };
        return Ok((signed, outcome));
    };
    // B-LT: both chains and their revocation data.
    let mut chain: Vec<x509_cert::Certificate> = identity.chain.clone();
    for c in &token.certificates {
        if !chain.contains(c) {
            chain.push(c.clone());
        }
    }
    let revocation = revocation::collect(&chain, &opts.revocation)?;
    let certs = chain
        .iter()
        .map(der::Encode::to_der)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| SignError::Build(e.to_string()))?;
    let dss = pdf::Dss { certs, crls: revocation.crls.clone(), ocsps: revocation.ocsps };
    let with_dss = pdf::add_dss(&signed, &dss)?;
    // B-LTA: a document timestamp over everything so far.
    let (stamped, doc_token) = document_timestamp(&with_dss, tsa)?;
    let outcome = PadesOutcome {
        level: pdf::PadesLevel::BLta,
        signature_time: Some(token.gen_time),
        document_timestamp_time: Some(doc_token.gen_time),
        revocation_missing: revocation.missing,
        crls: revocation.crls,
    };
    Ok((stamped, outcome))
}

/// The CAdES signature (with its signature timestamp when `tsa` is given) in a `/Contents`
/// of `reserve` bytes, or the room it needs instead.
fn sign_cades_pdf(
    identity: &Identity,
    original: &[u8],
    info: &SignatureInfo,
    tsa: Option<&tsa::TsaClient>,
    reserve: usize,
) -> Result<Fit, SignError> {
    let fields = pdf::SignatureFields {
        sub_filter: PDF_SUB_FILTER,
        signing_time: pdf_date(info.signing_time),
        name: Some(identity.subject_common_name()),
        reason: info.reason.clone(),
        location: info.location.clone(),
        contact_info: info.contact_info.clone(),
        reserve,
    };
    let prepared = pdf::prepare_signature(original, &fields)?;
    let digest = sha2_digest(&prepared.signed_ranges());
    // PAdES: no signing-time attribute in the CMS; the claimed time is /M.
    let cms = cades::signed_data(identity, &digest, None)?;
    let (cms, token) = match tsa {
        Some(tsa) => {
            let (cms, token) = tsa::add_signature_timestamp(&cms, tsa)?;
            (cms, Some(token))
        }
        None => (cms, None),
    };
    if cms.len() > reserve {
        return Ok(Fit::Needs(cms.len()));
    }
    Ok(Fit::Done(prepared.finish(&cms)?, token))
}

/// A signed PDF (with the signature timestamp's token), or the `/Contents` room it needs.
enum Fit {
    Done(Vec<u8>, Option<tsa::Token>),
    Needs(usize),
}

/// Appends a document timestamp (`/Type /DocTimeStamp`, `ETSI.RFC3161`) over the whole file.
fn document_timestamp(pdf_bytes: &[u8], tsa: &tsa::TsaClient) -> Result<(Vec<u8>, tsa::Token), SignError> {
    let mut reserve = 12 * 1024;
    for _ in 0..2 {
        let prepared = pdf::prepare_signature(pdf_bytes, &pdf::SignatureFields::doc_timestamp(reserve))?;
        let token = tsa.timestamp_digest(&sha2_digest(&prepared.signed_ranges()))?;
        if token.der.len() <= reserve {
            return Ok((prepared.finish(&token.der)?, token));
        }
        reserve = (token.der.len() + 1024).next_multiple_of(1024);
    }
    Err(SignError::Build("the document timestamp token keeps growing".into()))
}

fn der_len(cert: &x509_cert::Certificate) -> usize {
    use der::Encode as _;
    cert.encoded_len().ok().and_then(|l| usize::try_from(u32::from(l)).ok()).unwrap_or(2048)
}

fn sha2_digest(parts: &[&[u8]]) -> [u8; 32] {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// `D:YYYYMMDDHHmmSSZ`.
pub fn pdf_date(t: Timestamp) -> String {
    t.to_datetime().format("D:%Y%m%d%H%M%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::verify::{check_chain, verify_detached};

    /// A keygen identity in a temporary folder: (folder, what keygen wrote, the identity).
    fn test_identity() -> (tempfile::TempDir, keygen::KeygenOutput, Identity) {
        let dir = tempfile::tempdir().unwrap();
        let out = keygen::keygen(&keygen::KeygenOptions {
            out: dir.path(),
            common_name: "unit",
            days: 30,
            kms_key_id: None,
            force: false,
        })
        .unwrap();
        let key = out.signer_key.clone().unwrap();
        let id = Identity::load(KeySource::File { path: &key, insecure_permissions: false }, &out.signer_cert).unwrap();
        (dir, out, id)
    }

    fn sha(b: &[u8]) -> [u8; 32] {
        sha2_digest(&[b])
    }

    #[test]
    fn detached_signature_binds_content_signer_and_time() {
        let (_dir, out, id) = test_identity();
        assert!(!format!("{id:?}").contains("PRIVATE"));
        let t = Timestamp::now();
        let sig = sign_detached(&id, b"manifest bytes", t, None).unwrap();
        let v = verify_detached(&sig, &sha(b"manifest bytes")).unwrap();
        assert!(v.subject().contains("unit (TEST - NOT FOR PRODUCTION)"));
        assert_eq!(v.signing_time, Some(Duration::from_secs(t.millis() as u64 / 1000)));
        assert_eq!(v.certificate_sha256(), id.certificate_sha256());
        assert!(verify_detached(&sig, &sha(b"manifest byteS")).unwrap_err().contains("changed"));
        let mut longer = sig.clone();
        longer.push(0);
        assert!(verify_detached(&longer, &sha(b"manifest bytes")).is_err());
        // Deterministic ECDSA: the same input gives the same signature.
        assert_eq!(sig, sign_detached(&id, b"manifest bytes", t, None).unwrap());
        let anchors = load_certificates(&out.ca).unwrap();
        let at = v.signing_time.unwrap();
        assert!(check_chain(&v.signer, &v.certificates, &anchors, at).unwrap().contains("TEST CA"));
        assert!(check_chain(&v.signer, &v.certificates, &anchors, Duration::from_secs(0)).is_err());
        assert!(check_chain(&v.signer, &v.certificates, &[], at).is_err());
        // A time outside the certificate is refused before signing.
        assert!(id.check_valid_at(Timestamp(0)).is_err());
    }

    /// Every single-byte change anywhere in the CMS is detected (exhaustive, not sampled).
    #[test]
    fn every_changed_byte_of_a_signature_is_detected() {
        let (_dir, _, id) = test_identity();
        let sig = sign_detached(&id, b"manifest", Timestamp::now(), None).unwrap();
        let digest = sha(b"manifest");
        assert!(verify_detached(&sig, &digest).is_ok());
        for i in 0..sig.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut bad = sig.clone();
                bad[i] ^= flip;
                assert!(verify_detached(&bad, &digest).is_err(), "byte {i} ^ {flip:#x} went unnoticed");
            }
        }
        for len in 0..sig.len() {
            assert!(verify_detached(&sig[..len], &digest).is_err());
        }
    }

    #[test]
    fn pdf_dates_are_utc() {
        assert_eq!(pdf_date(Timestamp::parse("2026-10-05T08:00:00Z").unwrap()), "D:20261005080000Z");
    }
}
