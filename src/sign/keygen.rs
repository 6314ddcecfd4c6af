//! `keygen`: a throw-away test CA and signing certificate, for trials and the demo. The names
//! say "TEST" and "NOT FOR PRODUCTION" so nobody mistakes a package signed with them for
//! real evidence. The CA's private key is discarded once the signer certificate is issued.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::str::FromStr as _;
use std::time::Duration;

use der::{Decode as _, EncodePem as _};
use p256::elliptic_curve::Generate as _;
use pkcs8::EncodePrivateKey as _;
use spki::{SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef};
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder as _, CertificateBuilder};
use x509_cert::certificate::TbsCertificate;
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, BasicConstraints, KeyUsage, KeyUsages, SubjectKeyIdentifier};
use x509_cert::ext::{Extension, ToExtension as _};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Validity;

use super::identity::{Identity, RawSignature};
use super::{SignError, kms::KmsKey};

/// What `keygen` wrote.
#[derive(Debug, Clone)]
pub(crate) struct KeygenOutput {
    /// The test CA certificate (the trust anchor for `verify --ca`, `openssl -CAfile`, `pdfsig`).
    pub ca: PathBuf,
    /// The signer certificate.
    pub signer_cert: PathBuf,
    /// The signer's private key (PKCS#8 PEM, mode 0600); `None` for a KMS key.
    pub signer_key: Option<PathBuf>,
}

/// Options for [`keygen`].
#[derive(Debug, Clone)]
pub(crate) struct KeygenOptions<'a> {
    /// Folder to write into (created when missing).
    pub out: &'a Path,
    /// Common name of the signer certificate.
    pub common_name: &'a str,
    /// Validity in days of both certificates.
    pub days: u32,
    /// Issue the signer certificate for this KMS key's public key instead of a new local key.
    pub kms_key_id: Option<&'a str>,
    /// Replace existing files.
    pub force: bool,
}

struct Profile {
    subject: Name,
    issuer: Option<Name>,
    ca: bool,
}

impl BuilderProfile for Profile {
    fn get_issuer(&self, subject: &Name) -> Name {
        self.issuer.clone().unwrap_or_else(|| subject.clone())
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        spk: SubjectPublicKeyInfoRef<'_>,
        issuer_spk: SubjectPublicKeyInfoRef<'_>,
        tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        let mut ext = Vec::new();
        let ski = SubjectKeyIdentifier::try_from(spk)?;
        let aki = SubjectKeyIdentifier::try_from(issuer_spk)?;
        ext.push(
            BasicConstraints { ca: self.ca, path_len_constraint: self.ca.then_some(0) }
                .to_extension(tbs.subject(), &ext)?,
        );
        let usage = if self.ca {
            KeyUsages::KeyCertSign | KeyUsages::CRLSign
        } else {
            KeyUsages::DigitalSignature | KeyUsages::NonRepudiation
        };
        ext.push(KeyUsage(usage).to_extension(tbs.subject(), &ext)?);
        ext.push(ski.to_extension(tbs.subject(), &ext)?);
        ext.push(
            AuthorityKeyIdentifier { key_identifier: Some(aki.0), ..Default::default() }
                .to_extension(tbs.subject(), &ext)?,
        );
        Ok(ext)
    }
}

fn build_err(e: impl std::fmt::Display) -> SignError {
    SignError::Build(e.to_string())
}

fn serial(seed: &[u8]) -> Result<SerialNumber, SignError> {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let mut input = seed.to_vec();
    input.extend_from_slice(&nanos.to_be_bytes());
    let mut bytes = crate::artifact::Sha256Digest::of(&input).0[..16].to_vec();
    bytes[0] &= 0x7f;
    bytes[0] |= 0x01;
    SerialNumber::new(&bytes).map_err(build_err)
}

/// From 1 January of the previous year (so recent quarters can be rebuilt and signed with a
/// fixed `--generated-at`) to `days` from now.
fn validity(days: u32) -> Result<Validity, SignError> {
    use chrono::Datelike as _;
    let now = std::time::SystemTime::now();
    let year = chrono::Utc::now().year() - 1;
    let start = chrono::NaiveDate::from_ymd_opt(year, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc().timestamp())
        .and_then(|s| u64::try_from(s).ok())
        .ok_or_else(|| SignError::Build("cannot compute the validity start".into()))?;
    let from = std::time::UNIX_EPOCH + Duration::from_secs(start);
    let to = now + Duration::from_secs(u64::from(days) * 86_400);
    let t = |st| x509_cert::time::Time::try_from(st).map_err(build_err);
    Ok(Validity::new(t(from)?, t(to)?))
}

/// Writes `ca.pem`, `signer.pem` and (for a local key) `signer.key` into `opts.out`.
///
/// # Errors
/// When files exist (without `force`), cannot be written, or KMS fails.
pub(crate) fn keygen(opts: &KeygenOptions<'_>) -> Result<KeygenOutput, SignError> {
    let io_err =
        |path: &Path, e: std::io::Error| SignError::File { path: path.display().to_string(), message: e.to_string() };
    std::fs::create_dir_all(opts.out).map_err(|e| io_err(opts.out, e))?;
    let ca_path = opts.out.join("ca.pem");
    let cert_path = opts.out.join("signer.pem");
    let key_path = opts.out.join("signer.key");
    if !opts.force {
        for p in [&ca_path, &cert_path, &key_path] {
            if p.exists() {
                return Err(SignError::File {
                    path: p.display().to_string(),
                    message: "exists; pass --force to replace it".into(),
                });
            }
        }
    }
    let validity = validity(opts.days)?;

    let ca_key = p256::ecdsa::SigningKey::try_generate().map_err(build_err)?;
    let ca_identity = Identity::from_p256(ca_key, Vec::new())?;
    let ca_signer = ca_identity.builder_signer();
    let ca_spki = SubjectPublicKeyInfoOwned::from_key(&ca_signer_key(&ca_identity)?).map_err(build_err)?;
    let ca_name = Name::from_str("CN=dora-evidence TEST CA - NOT FOR PRODUCTION,O=dora-evidence test identity")
        .map_err(build_err)?;
    let ca_profile = Profile { subject: ca_name.clone(), issuer: None, ca: true };
    let ca_cert = CertificateBuilder::new(ca_profile, serial(b"ca")?, validity, ca_spki)
        .map_err(build_err)?
        .build::<_, RawSignature>(&ca_signer)
        .map_err(|e| ca_signer.take_error(e))?;

    let (signer_spki, signer_key) = match opts.kms_key_id {
        Some(id) => (SubjectPublicKeyInfoOwned::from_der(&KmsKey::public_key(id)?).map_err(build_err)?, None),
        None => {
            let key = p256::ecdsa::SigningKey::try_generate().map_err(build_err)?;
            let spki = SubjectPublicKeyInfoOwned::from_key(key.verifying_key()).map_err(build_err)?;
            (spki, Some(key))
        }
    };
    let cn = opts.common_name.replace([',', '+', '"', '\\', '<', '>', ';', '='], " ");
    let subject = Name::from_str(&format!("CN={cn} (TEST - NOT FOR PRODUCTION),O=dora-evidence test identity"))
        .map_err(build_err)?;
    let profile = Profile { subject, issuer: Some(ca_name), ca: false };
    let signer_cert = CertificateBuilder::new(profile, serial(b"signer")?, validity, signer_spki)
        .map_err(build_err)?
        .build::<_, RawSignature>(&ca_signer)
        .map_err(|e| ca_signer.take_error(e))?;

    let pem = |c: &x509_cert::Certificate| c.to_pem(der::pem::LineEnding::LF).map_err(build_err);
    std::fs::write(&ca_path, pem(&ca_cert)?).map_err(|e| io_err(&ca_path, e))?;
    std::fs::write(&cert_path, pem(&signer_cert)?).map_err(|e| io_err(&cert_path, e))?;
    let signer_key = match signer_key {
        Some(key) => {
            let text = key.to_pkcs8_pem(der::pem::LineEnding::LF).map_err(build_err)?;
            write_private(&key_path, text.as_bytes()).map_err(|e| io_err(&key_path, e))?;
            Some(key_path)
        }
        None => None,
    };
    Ok(KeygenOutput { ca: ca_path, signer_cert: cert_path, signer_key })
}

fn ca_signer_key(identity: &Identity) -> Result<p256::ecdsa::VerifyingKey, SignError> {
    match &identity.key {
        super::identity::Key::P256(k) => Ok(*k.verifying_key()),
        _ => Err(SignError::Build("test CA key must be P-256".into())),
    }
}

/// Writes a file only its owner can read (created 0600, not chmod-ed afterwards).
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let _ = std::fs::remove_file(path);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}
