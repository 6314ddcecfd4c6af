//! STAND-IN for the lead's RFC 3161 client (issue 17). Same signatures as the contract,
//! minimal checks; deleted when `main`'s `src/sign/tsa.rs` is merged.

use std::time::Duration;

use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerInfos};
use der::asn1::{GeneralizedTime, Int, OctetString, SetOfVec};
use der::{Any, Decode as _, Encode as _, Reader as _, Sequence};
use spki::{AlgorithmIdentifierOwned, ObjectIdentifier};
use x509_cert::Certificate;
use x509_cert::attr::Attribute;

use super::SignError;

/// `id-aa-signatureTimeStampToken`.
pub const SIGNATURE_TIME_STAMP_TOKEN: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.14");

/// An RFC 3161 client.
#[derive(Debug, Clone)]
pub struct TsaClient {
    url: String,
}

impl TsaClient {
    /// A client for `url`.
    pub fn new(url: &str) -> TsaClient {
        TsaClient { url: url.to_owned() }
    }

    /// A token over SHA-256(message).
    ///
    /// # Errors
    /// When the TSA fails.
    pub fn timestamp(&self, message: &[u8]) -> Result<Token, SignError> {
        use sha2::Digest as _;
        self.timestamp_digest(&sha2::Sha256::digest(message).into())
    }

    /// A token over a SHA-256 digest.
    ///
    /// # Errors
    /// When the TSA fails.
    pub fn timestamp_digest(&self, sha256: &[u8; 32]) -> Result<Token, SignError> {
        let e = |m: String| SignError::Build(format!("TSA {}: {m}", self.url));
        let req = TimeStampReq {
            version: 1,
            message_imprint: MessageImprint {
                hash_algorithm: super::cades::sha256_algorithm(),
                hashed_message: OctetString::new(sha256.to_vec()).map_err(|x| e(x.to_string()))?,
            },
            cert_req: true,
        };
        let body = req.to_der().map_err(|x| e(x.to_string()))?;
        let config = ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(10))).build();
        let agent = ureq::Agent::new_with_config(config);
        let mut resp = agent
            .post(self.url.as_str())
            .header("Content-Type", "application/timestamp-query")
            .send(&body[..])
            .map_err(|x| e(x.to_string()))?;
        let reply = resp.body_mut().read_to_vec().map_err(|x| e(x.to_string()))?;
        let der = token_from_reply(&reply).map_err(e)?;
        let v = parse_token(&der).map_err(e)?;
        Ok(Token { der, gen_time: v.0, certificates: v.1 })
    }
}

/// A timestamp token.
#[derive(Debug, Clone)]
pub struct Token {
    /// `TimeStampToken` DER.
    pub der: Vec<u8>,
    /// `genTime`, Unix.
    pub gen_time: Duration,
    /// Certificates in the token.
    pub certificates: Vec<Certificate>,
}

/// A verified token.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    /// `genTime`.
    pub gen_time: Duration,
    /// The TSA's certificate.
    pub tsa: Certificate,
    /// Certificates in the token.
    pub certificates: Vec<Certificate>,
    /// The anchor it chains to.
    pub anchor: Option<String>,
}

/// Checks the token's imprint (stand-in: no signature check).
///
/// # Errors
/// A sentence.
pub fn verify_token(der: &[u8], digest: &[u8; 32], _anchors: &[Certificate]) -> Result<VerifiedToken, String> {
    let (gen_time, certificates, imprint) = parse_token(der)?;
    if imprint != digest {
        return Err("the timestamp token covers another message imprint".into());
    }
    let tsa = certificates.first().cloned().ok_or("no TSA certificate in the token")?;
    Ok(VerifiedToken { gen_time, tsa, certificates, anchor: None })
}

/// CAdES-T: adds a signatureTimeStampToken over the signature value.
pub(crate) fn add_signature_timestamp(cms_der: &[u8], tsa: &TsaClient) -> Result<(Vec<u8>, Token), SignError> {
    let b = |x: der::Error| SignError::Build(x.to_string());
    let info = ContentInfo::from_der(cms_der).map_err(b)?;
    let mut sd: SignedData = info.content.decode_as().map_err(b)?;
    let mut signers = sd.signer_infos.0.into_vec();
    let si = signers.first_mut().ok_or_else(|| SignError::Build("no signer".into()))?;
    let token = tsa.timestamp(si.signature.as_bytes())?;
    let mut values = SetOfVec::new();
    values.insert(Any::from_der(&token.der).map_err(b)?).map_err(b)?;
    let mut attrs = SetOfVec::new();
    attrs.insert(Attribute { oid: SIGNATURE_TIME_STAMP_TOKEN, values }).map_err(b)?;
    si.unsigned_attrs = Some(attrs);
    sd.signer_infos = SignerInfos(SetOfVec::try_from(signers).map_err(b)?);
    let out = ContentInfo { content_type: info.content_type, content: Any::encode_from(&sd).map_err(b)? };
    Ok((out.to_der().map_err(b)?, token))
}

#[derive(Sequence)]
struct MessageImprint {
    hash_algorithm: AlgorithmIdentifierOwned,
    hashed_message: OctetString,
}

#[derive(Sequence)]
struct TimeStampReq {
    version: u8,
    message_imprint: MessageImprint,
    cert_req: bool,
}

fn token_from_reply(reply: &[u8]) -> Result<Vec<u8>, String> {
    let mut r = der::SliceReader::new(reply).map_err(|e| e.to_string())?;
    r.sequence(|r| {
        let status = Any::decode(r)?;
        let token = Any::decode(r)?;
        let _ = status;
        token.to_der()
    })
    .map_err(|e: der::Error| format!("bad TimeStampResp: {e}"))
}

/// (genTime, certificates, imprint) of a token.
fn parse_token(der: &[u8]) -> Result<(Duration, Vec<Certificate>, Vec<u8>), String> {
    let s = |e: der::Error| e.to_string();
    let info = ContentInfo::from_der(der).map_err(s)?;
    let sd: SignedData = info.content.decode_as().map_err(s)?;
    let econtent = sd.encap_content_info.econtent.ok_or("no TSTInfo")?;
    let tst = econtent.decode_as::<OctetString>().map_err(s)?;
    let mut r = der::SliceReader::new(tst.as_bytes()).map_err(s)?;
    let (imprint, time) = r
        .sequence(|r| {
            let _version = Int::decode(r)?;
            let _policy = Any::decode(r)?; // const-oid refuses 2.999.1 (the test TSA policy)
            let mi = MessageImprint::decode(r)?;
            let _serial = Int::decode(r)?;
            let t = GeneralizedTime::decode(r)?;
            while !r.is_finished() {
                let _ = Any::decode(r)?;
            }
            Ok::<_, der::Error>((mi.hashed_message.as_bytes().to_vec(), t))
        })
        .map_err(s)?;
    let certificates = sd
        .certificates
        .iter()
        .flat_map(|c| c.0.iter())
        .filter_map(|c| match c {
            cms::cert::CertificateChoices::Certificate(c) => Some(c.clone()),
            _ => None,
        })
        .collect();
    Ok((time.to_unix_duration(), certificates, imprint))
}
