//! Signing identities: a local PEM key or an AWS KMS key, each with its certificate chain,
//! and the small adapter that lets RustCrypto's CMS and X.509 builders sign through either.

use std::path::Path;

use der::asn1::BitString;
use der::{Decode as _, Encode as _};
use pkcs8::DecodePrivateKey as _;
use signature::Keypair;
use spki::{AlgorithmIdentifierOwned, DynSignatureAlgorithmIdentifier, EncodePublicKey, SignatureBitStringEncoding};
use x509_cert::Certificate;

use super::SignError;
use super::kms::KmsKey;

use super::cades::{ECDSA_SHA256, RSA_SHA256};

/// Environment variable holding the passphrase of an encrypted PKCS#8 key.
pub(super) const PASSPHRASE_ENV: &str = "DORA_EVIDENCE_SIGN_KEY_PASSPHRASE";

/// Where the private key is.
#[derive(Debug, Clone)]
pub enum KeySource<'a> {
    /// A PEM file (PKCS#8, possibly encrypted; SEC1; PKCS#1).
    File {
        /// The file.
        path: &'a Path,
        /// Accept a key file readable by group or others.
        insecure_permissions: bool,
    },
    /// An AWS KMS key id, alias or ARN (`ECC_NIST_P256` or RSA, `SIGN_VERIFY`).
    Kms(&'a str),
}

pub(crate) enum Key {
    P256(p256::ecdsa::SigningKey),
    Rsa(Box<rsa::pkcs1v15::SigningKey<sha2::Sha256>>),
    Kms(KmsKey),
}

/// A private key (or a handle to one in KMS) and its certificate chain, signer first.
pub struct Identity {
    pub(crate) key: Key,
    /// The signer's certificate, then any intermediates given with it.
    pub chain: Vec<Certificate>,
    spki_der: Vec<u8>,
}

impl std::fmt::Debug for Identity {
    // Never print key material.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity").field("subject", &self.subject()).finish_non_exhaustive()
    }
}

impl Identity {
    /// Loads a key and its certificate chain (PEM) and checks that they belong together.
    ///
    /// # Errors
    /// When a file cannot be read or parsed, the key file is readable by others, KMS fails,
    /// or the certificate is for another key.
    pub fn load(key: KeySource<'_>, cert: &Path) -> Result<Identity, SignError> {
        let chain = load_certificates(cert)?;
        let Identity { key, spki_der, .. } = Identity::load_key_only(key)?;
        let cert_spki = chain[0]
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .map_err(|e| file_err(cert, format!("bad public key in certificate: {e}")))?;
        if cert_spki != spki_der {
            return Err(SignError::Mismatch(format!(
                "{}: the certificate ({}) is not for this signing key",
                cert.display(),
                chain[0].tbs_certificate().subject()
            )));
        }
        Ok(Identity { key, chain, spki_der })
    }

    /// A key without a certificate yet (for a certificate request).
    ///
    /// # Errors
    /// As [`Identity::load`], but no certificate is read.
    pub fn load_key_only(key: KeySource<'_>) -> Result<Identity, SignError> {
        let (key, spki_der) = match key {
            KeySource::File { path, insecure_permissions } => {
                let key = load_key(path, insecure_permissions)?;
                let spki = public_key_der(&key).map_err(|m| file_err(path, m))?;
                (key, spki)
            }
            KeySource::Kms(id) => {
                let (kms, spki) = KmsKey::connect(id)?;
                (Key::Kms(kms), spki)
            }
        };
        Ok(Identity { key, chain: Vec::new(), spki_der })
    }

    /// An identity from an in-memory P-256 key (for `keygen` and tests).
    pub(crate) fn from_p256(key: p256::ecdsa::SigningKey, chain: Vec<Certificate>) -> Result<Identity, SignError> {
        let key = Key::P256(key);
        let spki_der = public_key_der(&key).map_err(SignError::Build)?;
        Ok(Identity { key, chain, spki_der })
    }

    /// Checks that every certificate of the chain is valid at `t` (the claimed signing time).
    ///
    /// # Errors
    /// Naming the certificate and its validity.
    pub fn check_valid_at(&self, t: crate::time::Timestamp) -> Result<(), SignError> {
        let at = std::time::Duration::from_millis(u64::try_from(t.millis()).unwrap_or(0));
        for c in &self.chain {
            let v = c.tbs_certificate().validity();
            if at < v.not_before.to_unix_duration() || at > v.not_after.to_unix_duration() {
                return Err(SignError::Mismatch(format!(
                    "certificate {} is valid from {} to {}, not at the signing time {} (the package's generated-at)",
                    c.tbs_certificate().subject(),
                    v.not_before,
                    v.not_after,
                    t
                )));
            }
        }
        Ok(())
    }

    /// The signer certificate's subject (RFC 4514 text).
    pub fn subject(&self) -> String {
        self.chain.first().map(|c| c.tbs_certificate().subject().to_string()).unwrap_or_default()
    }

    /// The signer's common name, or the whole subject when it has none.
    pub fn subject_common_name(&self) -> String {
        let subject = self.subject();
        subject.split(',').find_map(|part| part.trim().strip_prefix("CN=").map(str::to_owned)).unwrap_or(subject)
    }

    /// SHA-256 of the signer certificate (DER), hex.
    pub fn certificate_sha256(&self) -> String {
        let der = self.chain.first().and_then(|c| c.to_der().ok()).unwrap_or_default();
        crate::artifact::Sha256Digest::of(&der).hex()
    }

    /// Where the key lives, for the manifest and log lines.
    pub fn key_kind(&self) -> &'static str {
        match self.key {
            Key::P256(_) => "local ECDSA P-256 key",
            Key::Rsa(_) => "local RSA key",
            Key::Kms(_) => "AWS KMS key",
        }
    }

    /// The signature algorithm (ECDSA or RSA PKCS#1 v1.5, both with SHA-256).
    pub(crate) fn algorithm(&self) -> AlgorithmIdentifierOwned {
        let is_rsa = match &self.key {
            Key::P256(_) => false,
            Key::Rsa(_) => true,
            Key::Kms(k) => k.is_rsa(),
        };
        if is_rsa {
            AlgorithmIdentifierOwned { oid: RSA_SHA256, parameters: Some(der::asn1::Null.into()) }
        } else {
            AlgorithmIdentifierOwned { oid: ECDSA_SHA256, parameters: None }
        }
    }

    /// Signs `message` (hashed with SHA-256 by the signer): DER ECDSA or raw RSA bytes.
    pub(crate) fn sign_message(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        use signature::{SignatureEncoding as _, Signer as _};
        match &self.key {
            Key::P256(k) => {
                let sig: p256::ecdsa::DerSignature =
                    k.try_sign(message).map_err(|e| SignError::Build(format!("ECDSA signing failed: {e}")))?;
                Ok(sig.to_vec())
            }
            Key::Rsa(k) => {
                let sig = k.try_sign(message).map_err(|e| SignError::Build(format!("RSA signing failed: {e}")))?;
                Ok(sig.to_vec())
            }
            Key::Kms(k) => k.sign(message),
        }
    }

    /// This identity as a signer for the RustCrypto builders.
    pub(crate) fn builder_signer(&self) -> BuilderSigner<'_> {
        BuilderSigner { identity: self, error: std::sync::Mutex::new(None) }
    }
}

fn file_err(path: &Path, message: impl Into<String>) -> SignError {
    SignError::File { path: path.display().to_string(), message: message.into() }
}

fn public_key_der(key: &Key) -> Result<Vec<u8>, String> {
    let doc = match key {
        Key::P256(k) => k.verifying_key().to_public_key_der(),
        Key::Rsa(k) => k.verifying_key().to_public_key_der(),
        Key::Kms(_) => return Err("KMS keys give their public key on connect".into()),
    };
    doc.map(|d| d.as_bytes().to_vec()).map_err(|e| format!("cannot encode the public key: {e}"))
}

/// Reads one or more PEM certificates (signer first).
///
/// # Errors
/// When the file cannot be read or holds no certificate.
pub fn load_certificates(path: &Path) -> Result<Vec<Certificate>, SignError> {
    let bytes = std::fs::read(path).map_err(|e| file_err(path, e.to_string()))?;
    let chain =
        Certificate::load_pem_chain(&bytes).map_err(|e| file_err(path, format!("not a PEM certificate: {e}")))?;
    if chain.is_empty() {
        return Err(file_err(path, "no certificate in the file"));
    }
    Ok(chain)
}

fn load_key(path: &Path, insecure_permissions: bool) -> Result<Key, SignError> {
    #[cfg(unix)]
    if !insecure_permissions {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path).map_err(|e| file_err(path, e.to_string()))?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(SignError::KeyPermissions { path: path.display().to_string(), mode });
        }
    }
    let text = zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(|e| file_err(path, e.to_string()))?);
    let label = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("-----BEGIN ").and_then(|r| r.strip_suffix("-----")))
        .unwrap_or("");
    let bad = |what: &str| file_err(path, format!("cannot read the {what}; expected an ECDSA P-256 or RSA key in PEM"));
    match label {
        "PRIVATE KEY" => {
            if let Ok(k) = p256::ecdsa::SigningKey::from_pkcs8_pem(&text) {
                Ok(Key::P256(k))
            } else if let Ok(k) = rsa::PrivateKey::from_pkcs8_pem(&text) {
                Ok(Key::Rsa(Box::new(rsa::pkcs1v15::SigningKey::new(k))))
            } else {
                Err(bad("PKCS#8 private key"))
            }
        }
        "ENCRYPTED PRIVATE KEY" => {
            let pass = std::env::var(PASSPHRASE_ENV).map(zeroize::Zeroizing::new).map_err(|_| {
                file_err(
                    path,
                    format!("the key is encrypted; put its passphrase in the {PASSPHRASE_ENV} environment variable"),
                )
            })?;
            if let Ok(k) = p256::ecdsa::SigningKey::from_pkcs8_encrypted_pem(&text, pass.as_bytes()) {
                Ok(Key::P256(k))
            } else if let Ok(k) = rsa::PrivateKey::from_pkcs8_encrypted_pem(&text, pass.as_bytes()) {
                Ok(Key::Rsa(Box::new(rsa::pkcs1v15::SigningKey::new(k))))
            } else {
                Err(file_err(path, "cannot decrypt the key (wrong passphrase, or not an ECDSA P-256 or RSA key)"))
            }
        }
        "EC PRIVATE KEY" => p256::SecretKey::from_sec1_pem(&text)
            .map(|k| Key::P256(k.into()))
            .map_err(|_| bad("SEC1 EC private key (only P-256 is supported)")),
        "RSA PRIVATE KEY" => {
            use rsa::pkcs1::DecodeRsaPrivateKey as _;
            rsa::PrivateKey::from_pkcs1_pem(&text)
                .map(|k| Key::Rsa(Box::new(rsa::pkcs1v15::SigningKey::new(k))))
                .map_err(|_| bad("PKCS#1 RSA private key"))
        }
        _ => Err(file_err(path, "no PEM private key found (expected -----BEGIN PRIVATE KEY-----)")),
    }
}

/// Adapts an [`Identity`] to the `Keypair + Signer` shape the CMS and X.509 builders take.
/// The builders only see `signature::Error`; the real error is kept here for the caller.
pub(crate) struct BuilderSigner<'a> {
    identity: &'a Identity,
    error: std::sync::Mutex<Option<SignError>>,
}

impl BuilderSigner<'_> {
    /// The error behind a failed builder call, or a generic one.
    pub(crate) fn take_error(&self, fallback: impl std::fmt::Display) -> SignError {
        self.error.lock().ok().and_then(|mut e| e.take()).unwrap_or_else(|| SignError::Build(fallback.to_string()))
    }
}

/// A public key known only as SPKI DER.
#[derive(Clone)]
pub(crate) struct SpkiKey(Vec<u8>);

impl EncodePublicKey for SpkiKey {
    fn to_public_key_der(&self) -> spki::Result<der::Document> {
        der::Document::from_der(&self.0).map_err(spki::Error::from)
    }
}

impl Keypair for BuilderSigner<'_> {
    type VerifyingKey = SpkiKey;
    fn verifying_key(&self) -> SpkiKey {
        SpkiKey(self.identity.spki_der.clone())
    }
}

impl DynSignatureAlgorithmIdentifier for BuilderSigner<'_> {
    fn signature_algorithm_identifier(&self) -> spki::Result<AlgorithmIdentifierOwned> {
        Ok(self.identity.algorithm())
    }
}

/// Signature bytes as the builders want them.
pub(crate) struct RawSignature(Vec<u8>);

impl SignatureBitStringEncoding for RawSignature {
    fn to_bitstring(&self) -> der::Result<BitString> {
        BitString::from_bytes(&self.0)
    }
}

impl signature::Signer<RawSignature> for BuilderSigner<'_> {
    fn try_sign(&self, msg: &[u8]) -> Result<RawSignature, signature::Error> {
        match self.identity.sign_message(msg) {
            Ok(sig) => Ok(RawSignature(sig)),
            Err(e) => {
                if let Ok(mut slot) = self.error.lock() {
                    *slot = Some(e);
                }
                Err(signature::Error::new())
            }
        }
    }
}
