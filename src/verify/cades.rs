//! Strict verification of our detached CMS signatures and of the signer's certificate chain.
//!
//! Strict, because the input may have been tampered with: the CMS must be canonical DER (so
//! no byte outside the signed attributes can change unnoticed), hold exactly one signer with
//! SHA-256, and its `signing-certificate-v2` attribute must bind the very certificate used.
//! Chain checking covers issuer names, signatures, CA flags and validity at the signing time;
//! it does not fetch revocation data (the README says how to check that with openssl).

use std::time::Duration;

use cms::cert::CertificateChoices;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{SignedData, SignerIdentifier};
use der::{Decode as _, Encode as _};
use sha2::Digest as _;
use spki::{AlgorithmIdentifierOwned, ObjectIdentifier};
use x509_cert::Certificate;

use crate::sign::cades::{
    CONTENT_TYPE, ID_DATA, ID_SIGNED_DATA, MESSAGE_DIGEST, RSA_ENCRYPTION, RSA_SHA256, SHA256, SIGNING_CERTIFICATE_V2,
    SIGNING_TIME, SigningCertificateV2,
};
pub use crate::sign::check::{check_chain, verify_signature};

/// A CMS signature that verified: who signed, with what certificates, when (as claimed).
#[derive(Debug, Clone)]
pub struct Verified {
    /// The signer's certificate.
    pub signer: Certificate,
    /// Every certificate the CMS carries (the signer's included).
    pub certificates: Vec<Certificate>,
    /// The `signing-time` attribute, as Unix time.
    pub signing_time: Option<Duration>,
    /// The CAdES-T `signatureTimeStampToken` (DER), not yet checked: see
    /// [`crate::sign::tsa::verify_token`] over [`Verified::signature_value`].
    pub timestamp_token: Option<Vec<u8>>,
    /// The signature value the token must be over.
    pub signature_value: Vec<u8>,
    /// Revocation data the CMS carries (`crls`: CRLs and OCSP responses, DER), unchecked.
    pub revocation: Vec<Vec<u8>>,
}

impl Verified {
    /// The signer's subject.
    pub fn subject(&self) -> String {
        self.signer.tbs_certificate().subject().to_string()
    }

    /// SHA-256 of the signer's certificate, hex.
    pub fn certificate_sha256(&self) -> String {
        hex::encode(sha2::Sha256::digest(self.signer.to_der().unwrap_or_default()))
    }
}

/// Length of the DER element at the start of `bytes` (tag + length + value).
pub fn der_element_len(bytes: &[u8]) -> Option<usize> {
    let first = *bytes.get(1)?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let len = bytes.get(2..2 + n)?.iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, 2 + n)
    };
    header.checked_add(len).filter(|&total| total <= bytes.len())
}

/// Verifies a detached CMS SignedData over content whose SHA-256 is `digest`.
///
/// # Errors
/// A sentence saying what does not hold.
pub fn verify_detached(cms_der: &[u8], digest: &[u8; 32]) -> Result<Verified, String> {
    let sd = decode_detached(cms_der)?;
    let (revocation, certificates) = embedded(&sd)?;
    let si = only_signer(&sd)?;
    let timestamp_token = timestamp_token(si)?;
    let attrs = si.signed_attrs.as_ref().ok_or("no signed attributes")?;
    let (signer, signing_time) = check_signed_attributes(si, attrs, digest, &certificates)?;
    let signed = attrs.to_der().map_err(|e| e.to_string())?;
    let spki = signer.tbs_certificate().subject_public_key_info();
    let alg = &si.signature_algorithm;
    let alg = if alg.oid == RSA_ENCRYPTION {
        // CMS allows rsaEncryption with the digest given separately (openssl writes this).
        AlgorithmIdentifierOwned { oid: RSA_SHA256, parameters: None }
    } else {
        alg.clone()
    };
    verify_signature(spki, &alg, &signed, si.signature.as_bytes())
        .map_err(|e| format!("the signature does not verify with the signer's key: {e}"))?;
    let signature_value = si.signature.as_bytes().to_vec();
    Ok(Verified { signer, certificates, signing_time, timestamp_token, signature_value, revocation })
}

/// The SignedData of a canonical-DER ContentInfo that signs detached data.
fn decode_detached(cms_der: &[u8]) -> Result<SignedData, String> {
    let info = ContentInfo::from_der(cms_der).map_err(|e| format!("not a DER CMS ContentInfo: {e}"))?;
    if info.content_type != ID_SIGNED_DATA {
        return Err(format!("content type {} is not signedData", info.content_type));
    }
    let sd: SignedData = info.content.decode_as().map_err(|e| format!("bad SignedData: {e}"))?;
    // Canonical DER all the way down: every byte not covered by the signature is fixed by
    // the decoded values, so a changed byte cannot go unnoticed.
    let canonical = ContentInfo {
        content_type: info.content_type,
        content: der::Any::encode_from(&sd).map_err(|e| e.to_string())?,
    };
    if canonical.to_der().map_err(|e| e.to_string())? != cms_der {
        return Err("the CMS is not canonical DER".into());
    }
    if sd.encap_content_info.econtent_type != ID_DATA || sd.encap_content_info.econtent.is_some() {
        return Err("not a detached signature over data".into());
    }
    Ok(sd)
}

/// The revocation data (DER) and the certificates the CMS carries; SHA-256 the only digest.
fn embedded(sd: &SignedData) -> Result<(Vec<Vec<u8>>, Vec<Certificate>), String> {
    let mut revocation = Vec::new();
    for r in sd.crls.iter().flat_map(|c| c.0.iter()) {
        revocation.push(r.to_der().map_err(|e| format!("bad revocation data in the CMS: {e}"))?);
    }
    if sd.digest_algorithms.len() != 1 || sd.digest_algorithms.iter().any(|a| !is_sha256(a)) {
        return Err("digest algorithms other than SHA-256".into());
    }
    let mut certificates = Vec::new();
    for c in sd.certificates.iter().flat_map(|s| s.0.iter()) {
        match c {
            CertificateChoices::Certificate(c) => certificates.push(c.clone()),
            CertificateChoices::Other(_) => return Err("unsupported certificate format in the CMS".into()),
        }
    }
    Ok((revocation, certificates))
}

/// The one signer, with version numbers that match how it is identified and SHA-256 digests.
fn only_signer(sd: &SignedData) -> Result<&cms::signed_data::SignerInfo, String> {
    let signers: Vec<_> = sd.signer_infos.0.iter().collect();
    let [si] = signers.as_slice() else { return Err(format!("{} signers; expected exactly one", signers.len())) };
    let (expected_si, expected_sd) = match si.sid {
        SignerIdentifier::IssuerAndSerialNumber(_) => (CmsVersion::V1, CmsVersion::V1),
        SignerIdentifier::SubjectKeyIdentifier(_) => (CmsVersion::V3, CmsVersion::V3),
    };
    if si.version != expected_si || sd.version != expected_sd {
        return Err("CMS version numbers do not match its contents".into());
    }
    if !is_sha256(&si.digest_alg) {
        return Err("signer's digest algorithm is not SHA-256".into());
    }
    Ok(si)
}

/// The signed attributes `attrs` of `si` hold: content type id-data, the message digest `digest`, the
/// signer's certificate (found in `certificates`) named by signing-certificate-v2, each at
/// most once. Gives the signer's certificate and the signing time, when there is one.
fn check_signed_attributes(
    si: &cms::signed_data::SignerInfo,
    attrs: &cms::signed_data::SignedAttributes,
    digest: &[u8; 32],
    certificates: &[Certificate],
) -> Result<(Certificate, Option<Duration>), String> {
    let single = |oid: ObjectIdentifier| -> Result<Option<&der::Any>, String> {
        let found: Vec<_> = attrs.iter().filter(|a| a.oid == oid).collect();
        match found.as_slice() {
            [] => Ok(None),
            [a] if a.values.len() == 1 => Ok(a.values.get(0)),
            _ => Err(format!("attribute {oid} is repeated")),
        }
    };
    let content_type = single(CONTENT_TYPE)?.ok_or("no content-type attribute")?;
    if content_type.decode_as::<ObjectIdentifier>().ok() != Some(ID_DATA) {
        return Err("content-type attribute is not id-data".into());
    }
    let md = single(MESSAGE_DIGEST)?.ok_or("no message-digest attribute")?;
    let md = md.decode_as::<der::asn1::OctetString>().map_err(|e| format!("bad message-digest: {e}"))?;
    if md.as_bytes() != digest {
        return Err("the signed content changed: its SHA-256 does not match the signed message digest".into());
    }
    let signer =
        crate::sign::check::find_signer(certificates, &si.sid).ok_or("the signer's certificate is not in the CMS")?;
    let signer_der = signer.to_der().map_err(|e| e.to_string())?;
    let esscert = single(SIGNING_CERTIFICATE_V2)?.ok_or("no signing-certificate-v2 attribute (required by CAdES)")?;
    let esscert: SigningCertificateV2 = esscert.decode_as().map_err(|e| format!("bad signing-certificate-v2: {e}"))?;
    let first = esscert.certs.first().ok_or("empty signing-certificate-v2")?;
    if first.hash_algorithm.as_ref().is_some_and(|a| !is_sha256(a)) {
        return Err("signing-certificate-v2 uses a hash other than SHA-256".into());
    }
    if first.cert_hash.as_bytes() != sha2::Sha256::digest(&signer_der).as_slice() {
        return Err("the signer's certificate is not the one named in the signed attributes".into());
    }
    let signing_time = match single(SIGNING_TIME)? {
        Some(t) => Some(
            t.decode_as::<x509_cert::time::Time>().map_err(|e| format!("bad signing-time: {e}"))?.to_unix_duration(),
        ),
        None => None,
    };
    Ok((signer, signing_time))
}

/// The one unsigned attribute we accept: a single CAdES-T `signatureTimeStampToken`.
fn timestamp_token(si: &cms::signed_data::SignerInfo) -> Result<Option<Vec<u8>>, String> {
    let Some(attrs) = &si.unsigned_attrs else { return Ok(None) };
    let all: Vec<_> = attrs.iter().collect();
    match all.as_slice() {
        [a] if a.oid == crate::sign::tsa::SIGNATURE_TIME_STAMP_TOKEN && a.values.len() == 1 => {
            let token = a.values.get(0).ok_or("empty signatureTimeStampToken")?;
            Ok(Some(token.to_der().map_err(|e| e.to_string())?))
        }
        _ => Err("unexpected unsigned attributes (only one signatureTimeStampToken is allowed)".into()),
    }
}

fn is_sha256(a: &AlgorithmIdentifierOwned) -> bool {
    a.oid == SHA256
        && a.parameters.as_ref().is_none_or(|p| der::Tagged::tag(p) == der::Tag::Null && p.value().is_empty())
}
