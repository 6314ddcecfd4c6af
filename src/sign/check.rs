//! Checking signatures and certificate chains: the primitives both signing (a TSA's token is
//! checked before it is used) and `verify` need.
//!
//! Chain checking covers issuer names, signatures, CA flags and validity at a given time; it
//! does not fetch revocation data.

use std::time::Duration;

use der::Encode as _;
use sha2::Digest as _;
use signature::hazmat::PrehashVerifier as _;
use spki::{AlgorithmIdentifierOwned, ObjectIdentifier, SubjectPublicKeyInfoOwned};
use x509_cert::Certificate;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages};

use super::cades::{ECDSA_SHA256, ECDSA_SHA384, RSA_ENCRYPTION, RSA_SHA256, RSA_SHA384};

const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");

/// Verifies `sig` over `msg` with the key in `spki` under algorithm `alg`.
///
/// # Errors
/// When the algorithm is unsupported, the key unreadable or the signature wrong.
pub fn verify_signature(
    spki: &SubjectPublicKeyInfoOwned,
    alg: &AlgorithmIdentifierOwned,
    msg: &[u8],
    sig: &[u8],
) -> Result<(), String> {
    let spki_der = spki.to_der().map_err(|e| e.to_string())?;
    let hash: Vec<u8> = match alg.oid {
        o if o == ECDSA_SHA256 || o == RSA_SHA256 => sha2::Sha256::digest(msg).to_vec(),
        o if o == ECDSA_SHA384 || o == RSA_SHA384 => sha2::Sha384::digest(msg).to_vec(),
        o => return Err(format!("unsupported signature algorithm {o}")),
    };
    let key_alg = spki.algorithm.oid;
    if alg.oid == ECDSA_SHA256 || alg.oid == ECDSA_SHA384 {
        if key_alg != EC_PUBLIC_KEY {
            return Err("an ECDSA signature with a non-EC key".into());
        }
        let curve = spki.algorithm.parameters.as_ref().and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
        use spki::DecodePublicKey as _;
        match curve {
            Some(c) if c == P256 => {
                let key = p256::ecdsa::VerifyingKey::from_public_key_der(&spki_der).map_err(|e| e.to_string())?;
                let sig = p256::ecdsa::Signature::from_der(sig).map_err(|_| "malformed ECDSA signature".to_owned())?;
                key.verify_prehash(&hash, &sig).map_err(|_| "ECDSA signature mismatch".to_owned())
            }
            Some(c) if c == P384 => {
                let key = p384::ecdsa::VerifyingKey::from_public_key_der(&spki_der).map_err(|e| e.to_string())?;
                let sig = p384::ecdsa::Signature::from_der(sig).map_err(|_| "malformed ECDSA signature".to_owned())?;
                key.verify_prehash(&hash, &sig).map_err(|_| "ECDSA signature mismatch".to_owned())
            }
            _ => Err("unsupported elliptic curve (P-256 and P-384 are supported)".into()),
        }
    } else {
        if key_alg != RSA_ENCRYPTION {
            return Err("an RSA signature with a non-RSA key".into());
        }
        use rsa::pkcs8::DecodePublicKey as _;
        let key = rsa::PublicKey::from_public_key_der(&spki_der).map_err(|e| e.to_string())?;
        let scheme = if alg.oid == RSA_SHA256 {
            rsa::Pkcs1v15Sign::new::<sha2::Sha256>()
        } else {
            rsa::Pkcs1v15Sign::new::<sha2::Sha384>()
        };
        key.verify(scheme, &hash, sig).map_err(|_| "RSA signature mismatch".to_owned())
    }
}

fn valid_at(cert: &Certificate, at: Duration) -> Result<(), String> {
    let v = cert.tbs_certificate().validity();
    let (from, to) = (v.not_before.to_unix_duration(), v.not_after.to_unix_duration());
    if at < from || at > to {
        return Err(format!(
            "certificate {} is not valid then (valid {} to {})",
            cert.tbs_certificate().subject(),
            v.not_before,
            v.not_after
        ));
    }
    Ok(())
}

fn is_ca(cert: &Certificate) -> bool {
    matches!(cert.tbs_certificate().get_extension::<BasicConstraints>(), Ok(Some((_, bc))) if bc.ca)
}

fn issued_by(cert: &Certificate, issuer: &Certificate) -> bool {
    let tbs = cert.tbs_certificate();
    tbs.issuer() == issuer.tbs_certificate().subject()
        && cert.signature_algorithm() == tbs.signature()
        && tbs.to_der().is_ok_and(|der| {
            verify_signature(
                issuer.tbs_certificate().subject_public_key_info(),
                cert.signature_algorithm(),
                &der,
                cert.signature().as_bytes().unwrap_or_default(),
            )
            .is_ok()
        })
}

/// Checks that `signer` chains, through `intermediates`, to one of `anchors`, every
/// certificate valid at `at`, and that the signer may sign documents. Returns the anchor's
/// subject.
///
/// # Errors
/// A sentence saying where the chain breaks.
pub fn check_chain(
    signer: &Certificate,
    intermediates: &[Certificate],
    anchors: &[Certificate],
    at: Duration,
) -> Result<String, String> {
    if let Ok(Some((_, ku))) = signer.tbs_certificate().get_extension::<KeyUsage>()
        && !(ku.0.contains(KeyUsages::DigitalSignature) || ku.0.contains(KeyUsages::NonRepudiation))
    {
        return Err("the signer's certificate does not allow digital signatures (key usage)".into());
    }
    let mut current = signer.clone();
    for _ in 0..8 {
        valid_at(&current, at)?;
        if anchors.contains(&current) {
            return Ok(current.tbs_certificate().subject().to_string());
        }
        if let Some(anchor) = anchors.iter().find(|a| issued_by(&current, a)) {
            valid_at(anchor, at)?;
            return Ok(anchor.tbs_certificate().subject().to_string());
        }
        match intermediates.iter().find(|c| *c != &current && is_ca(c) && issued_by(&current, c)) {
            Some(next) => current = next.clone(),
            None => {
                return Err(format!(
                    "not issued by a trusted CA: {} was issued by {}, which is not in the trust anchors",
                    current.tbs_certificate().subject(),
                    current.tbs_certificate().issuer()
                ));
            }
        }
    }
    Err("certificate chain too long".into())
}

/// The certificate among `certs` that a CMS signer identifier names (issuer and serial, or
/// subject key identifier).
pub(crate) fn find_signer(certs: &[Certificate], sid: &cms::signed_data::SignerIdentifier) -> Option<Certificate> {
    use cms::signed_data::SignerIdentifier;
    certs
        .iter()
        .find(|c| {
            let tbs = c.tbs_certificate();
            match sid {
                SignerIdentifier::IssuerAndSerialNumber(ias) => {
                    tbs.issuer() == &ias.issuer && tbs.serial_number() == &ias.serial_number
                }
                SignerIdentifier::SubjectKeyIdentifier(ski) => tbs
                    .get_extension::<x509_cert::ext::pkix::SubjectKeyIdentifier>()
                    .ok()
                    .flatten()
                    .is_some_and(|(_, k)| &k == ski),
            }
        })
        .cloned()
}
