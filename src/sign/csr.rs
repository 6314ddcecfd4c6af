//! `csr`: a PKCS#10 certificate request for a signing key, signed by that key — locally or
//! inside AWS KMS — so the organisation's CA can issue the signer certificate without the
//! private key ever leaving where it lives.

use std::str::FromStr as _;

use der::EncodePem as _;
use x509_cert::builder::{Builder as _, RequestBuilder};
use x509_cert::ext::pkix::{KeyUsage, KeyUsages};
use x509_cert::name::Name;

use super::SignError;
use super::identity::{Identity, KeySource, RawSignature};

/// A PEM `CERTIFICATE REQUEST` for `key` with subject `subject` (RFC 4514, e.g.
/// `CN=Evidence signer,O=Nordhafen Bank AG,C=DE`), asking for key usage digital signature +
/// non-repudiation.
///
/// # Errors
/// When the subject does not parse, the key cannot be loaded, or signing fails.
pub(crate) fn request(key: KeySource<'_>, subject: &str) -> Result<String, SignError> {
    let name = Name::from_str(subject).map_err(|_| {
        SignError::Usage(format!(
            "--subject {subject:?} is not an RFC 4514 name (e.g. \"CN=Evidence signer,O=Nordhafen Bank AG,C=DE\")"
        ))
    })?;
    let identity = Identity::load_key_only(key)?;
    let mut builder = RequestBuilder::new(name).map_err(|e| SignError::Build(e.to_string()))?;
    builder
        .add_extension(&KeyUsage(KeyUsages::DigitalSignature | KeyUsages::NonRepudiation))
        .map_err(|e| SignError::Build(e.to_string()))?;
    let signer = identity.builder_signer();
    let req = builder.build::<_, RawSignature>(&signer).map_err(|e| signer.take_error(e))?;
    req.to_pem(der::pem::LineEnding::LF).map_err(|e| SignError::Build(e.to_string()))
}
