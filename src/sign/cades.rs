//! Detached CMS SignedData (RFC 5652) with the CAdES signed attributes: content-type,
//! message-digest, ESS signing-certificate-v2 (RFC 5035) and, for the manifest, signing-time.

use cms::builder::{SignedDataBuilder, SignerInfoBuilder};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::signed_data::{EncapsulatedContentInfo, SignerIdentifier};
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Encode as _, Sequence};
use spki::{AlgorithmIdentifierOwned, ObjectIdentifier};
use x509_cert::Certificate;
use x509_cert::attr::{Attribute, AttributeValue};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::serial_number::SerialNumber;

use super::identity::RawSignature;
use super::{Identity, SignError};
use crate::time::Timestamp;

// Object identifiers from const-oid's database, under the names this module's callers use.
pub(crate) use const_oid::db::rfc5911::{
    ID_AA_SIGNING_CERTIFICATE_V_2 as SIGNING_CERTIFICATE_V2, ID_CONTENT_TYPE as CONTENT_TYPE, ID_DATA,
    ID_MESSAGE_DIGEST as MESSAGE_DIGEST, ID_SIGNED_DATA, ID_SIGNING_TIME as SIGNING_TIME,
};
pub(crate) use const_oid::db::rfc5912::{
    ECDSA_WITH_SHA_256 as ECDSA_SHA256, ECDSA_WITH_SHA_384 as ECDSA_SHA384, ID_SHA_256 as SHA256, RSA_ENCRYPTION,
    SHA_256_WITH_RSA_ENCRYPTION as RSA_SHA256, SHA_384_WITH_RSA_ENCRYPTION as RSA_SHA384,
};

/// `SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2, policies … OPTIONAL }`.
#[derive(Clone, Debug, Sequence)]
pub(crate) struct SigningCertificateV2 {
    pub certs: Vec<EssCertIdV2>,
    #[asn1(optional = "true")]
    pub policies: Option<Any>,
}

/// `ESSCertIDv2 ::= SEQUENCE { hashAlgorithm DEFAULT sha256, certHash, issuerSerial OPTIONAL }`.
#[derive(Clone, Debug, Sequence)]
pub(crate) struct EssCertIdV2 {
    #[asn1(optional = "true")]
    pub hash_algorithm: Option<AlgorithmIdentifierOwned>,
    pub cert_hash: OctetString,
    #[asn1(optional = "true")]
    pub issuer_serial: Option<IssuerSerial>,
}

/// `IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber }`.
#[derive(Clone, Debug, Sequence)]
pub(crate) struct IssuerSerial {
    pub issuer: Vec<GeneralName>,
    pub serial_number: SerialNumber,
}

pub(crate) fn sha256_algorithm() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned { oid: SHA256, parameters: None }
}

fn build_err(e: impl std::fmt::Display) -> SignError {
    SignError::Build(e.to_string())
}

fn attribute(oid: ObjectIdentifier, value_der: &[u8]) -> Result<Attribute, SignError> {
    let value = <AttributeValue as der::Decode>::from_der(value_der).map_err(build_err)?;
    let mut values = SetOfVec::new();
    values.insert(value).map_err(build_err)?;
    Ok(Attribute { oid, values })
}

/// The ESS signing-certificate-v2 attribute for `cert` (SHA-256, the default, so omitted).
fn signing_certificate_attribute(cert: &Certificate) -> Result<Attribute, SignError> {
    let cert_der = cert.to_der().map_err(build_err)?;
    let hash = crate::artifact::Sha256Digest::of(&cert_der);
    let tbs = cert.tbs_certificate();
    let value = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            hash_algorithm: None,
            cert_hash: OctetString::new(hash.0.to_vec()).map_err(build_err)?,
            issuer_serial: Some(IssuerSerial {
                issuer: vec![GeneralName::DirectoryName(tbs.issuer().clone())],
                serial_number: tbs.serial_number().clone(),
            }),
        }],
        policies: None,
    };
    attribute(SIGNING_CERTIFICATE_V2, &value.to_der().map_err(build_err)?)
}

fn signing_time_attribute(t: Timestamp) -> Result<Attribute, SignError> {
    let secs = u64::try_from(t.millis().div_euclid(1000)).map_err(build_err)?;
    let dt = der::DateTime::from_unix_duration(std::time::Duration::from_secs(secs)).map_err(build_err)?;
    // RFC 5652 §11.3: UTCTime for 1950–2049, GeneralizedTime otherwise.
    let time = x509_cert::time::Time::from(dt);
    attribute(SIGNING_TIME, &time.to_der().map_err(build_err)?)
}

/// A DER `ContentInfo` holding a detached SignedData over content whose SHA-256 is `digest`.
pub(crate) fn signed_data(
    identity: &Identity,
    digest: &[u8; 32],
    signing_time: Option<Timestamp>,
) -> Result<Vec<u8>, SignError> {
    let cert = identity.chain.first().ok_or_else(|| SignError::Build("no signer certificate".into()))?;
    let tbs = cert.tbs_certificate();
    let sid = SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
        issuer: tbs.issuer().clone(),
        serial_number: tbs.serial_number().clone(),
    });
    let content = EncapsulatedContentInfo { econtent_type: ID_DATA, econtent: None };
    let mut signer_info = SignerInfoBuilder::new(sid, sha256_algorithm(), &content, Some(digest)).map_err(build_err)?;
    signer_info.add_signed_attribute(signing_certificate_attribute(cert)?).map_err(build_err)?;
    if let Some(t) = signing_time {
        signer_info.add_signed_attribute(signing_time_attribute(t)?).map_err(build_err)?;
    }
    let mut builder = SignedDataBuilder::new(&content);
    builder.add_digest_algorithm(sha256_algorithm()).map_err(build_err)?;
    for c in &identity.chain {
        builder.add_certificate(CertificateChoices::Certificate(c.clone())).map_err(build_err)?;
    }
    let signer = identity.builder_signer();
    builder.add_signer_info::<_, RawSignature>(signer_info, &signer).map_err(|e| signer.take_error(e))?;
    let info = builder.build().map_err(build_err)?;
    info.to_der().map_err(build_err)
}

/// Long-term validation data in a SignedData: the certificates it does not hold yet (the
/// TSA's chain) and CRLs in `crls` (RFC 5652 §10.2.1), neither of them signed content. OCSP
/// responses go into the PDF's `/DSS` only: this `cms` version encodes the `other` revocation
/// format with an algorithm identifier where RFC 5940 has an OID.
///
/// # Errors
/// When `cms_der` is not a SignedData or a CRL does not parse.
pub(crate) fn add_validation_data(
    cms_der: &[u8],
    certs: &[Certificate],
    crls: &[Vec<u8>],
) -> Result<Vec<u8>, SignError> {
    use cms::content_info::ContentInfo;
    use cms::revocation::{RevocationInfoChoice, RevocationInfoChoices};
    use cms::signed_data::{CertificateSet, SignedData};
    use der::Decode as _;
    let info = ContentInfo::from_der(cms_der).map_err(build_err)?;
    let mut sd: SignedData = info.content.decode_as().map_err(build_err)?;
    let mut set = sd.certificates.take().map(|s| s.0).unwrap_or_default();
    for c in certs {
        let choice = CertificateChoices::Certificate(c.clone());
        if !set.iter().any(|have| have == &choice) {
            set.insert(choice).map_err(build_err)?;
        }
    }
    sd.certificates = Some(CertificateSet(set));
    if !crls.is_empty() {
        let mut choices = sd.crls.take().map(|c| c.0).unwrap_or_default();
        for der in crls {
            let crl = x509_cert::crl::CertificateList::from_der(der).map_err(build_err)?;
            let choice = RevocationInfoChoice::Crl(crl);
            if !choices.iter().any(|have| have == &choice) {
                choices.insert(choice).map_err(build_err)?;
            }
        }
        sd.crls = Some(RevocationInfoChoices(choices));
    }
    let out = ContentInfo { content_type: info.content_type, content: Any::encode_from(&sd).map_err(build_err)? };
    out.to_der().map_err(build_err)
}
