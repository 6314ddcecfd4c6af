//! An AWS KMS asymmetric key as a signer. The private key never leaves KMS: we send the DER
//! of the CMS signed attributes (a few hundred bytes) with `MessageType=RAW`, KMS hashes it
//! with SHA-256 and returns the signature — DER ECDSA for `ECDSA_SHA_256`, raw bytes for
//! `RSASSA_PKCS1_V1_5_SHA_256` — which is exactly what CMS stores.
//!
//! Credentials, Region and endpoint come from the AWS SDK's default chain (environment,
//! profiles, SSO, instance roles; `AWS_ENDPOINT_URL_KMS` / `AWS_ENDPOINT_URL` honoured). A
//! key ARN also names its Region, which is used when none is configured.

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{KeyUsageType, MessageType, SigningAlgorithmSpec};

use super::SignError;

/// KMS accepts RAW messages up to this many bytes.
const MAX_RAW_MESSAGE: usize = 4096;

/// A connected KMS signing key.
pub(crate) struct KmsKey {
    runtime: tokio::runtime::Runtime,
    client: aws_sdk_kms::Client,
    key_id: String,
    algorithm: SigningAlgorithmSpec,
}

fn kms_err(operation: &'static str, key_id: &str, e: impl std::error::Error) -> SignError {
    SignError::Kms {
        operation,
        key_id: key_id.to_owned(),
        message: aws_sdk_kms::error::DisplayErrorContext(e).to_string(),
    }
}

impl KmsKey {
    /// Connects, reads the key's public half and checks it can sign.
    pub(crate) fn connect(key_id: &str) -> Result<(KmsKey, Vec<u8>), SignError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| SignError::Kms { operation: "connect", key_id: key_id.to_owned(), message: e.to_string() })?;
        let config = runtime.block_on(async {
            let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
            // arn:aws:kms:<region>:<account>:key/<id>
            let arn_region = key_id.strip_prefix("arn:").and_then(|r| r.split(':').nth(2)).filter(|r| !r.is_empty());
            if let Some(region) = arn_region {
                loader = loader.region(aws_config::Region::new(region.to_owned()));
            }
            loader.load().await
        });
        if config.region().is_none() {
            return Err(SignError::Kms {
                operation: "connect",
                key_id: key_id.to_owned(),
                message: "no AWS Region configured (set AWS_REGION, a profile Region, or use the key ARN)".into(),
            });
        }
        let client = aws_sdk_kms::Client::new(&config);
        let out = runtime
            .block_on(client.get_public_key().key_id(key_id).send())
            .map_err(|e| kms_err("GetPublicKey", key_id, e))?;
        if out.key_usage().is_some_and(|u| *u != KeyUsageType::SignVerify) {
            return Err(SignError::Kms {
                operation: "GetPublicKey",
                key_id: key_id.to_owned(),
                message: format!("key usage is {:?}, not SIGN_VERIFY", out.key_usage()),
            });
        }
        // The algorithms the key offers decide (some KMS implementations leave KeySpec out).
        let offered = out.signing_algorithms();
        let algorithm = if offered.contains(&SigningAlgorithmSpec::EcdsaSha256) {
            SigningAlgorithmSpec::EcdsaSha256
        } else if offered.contains(&SigningAlgorithmSpec::RsassaPkcs1V15Sha256) {
            SigningAlgorithmSpec::RsassaPkcs1V15Sha256
        } else {
            return Err(SignError::Kms {
                operation: "GetPublicKey",
                key_id: key_id.to_owned(),
                message: format!(
                    "key spec {:?} offers {offered:?}; need ECDSA_SHA_256 (ECC_NIST_P256) or RSASSA_PKCS1_V1_5_SHA_256 (RSA)",
                    out.key_spec()
                ),
            });
        };
        let spki = out.public_key().map(|b| b.as_ref().to_vec()).ok_or_else(|| SignError::Kms {
            operation: "GetPublicKey",
            key_id: key_id.to_owned(),
            message: "no public key in the response".into(),
        })?;
        tracing::info!("signing with AWS KMS key {key_id} ({algorithm:?})");
        Ok((KmsKey { runtime, client, key_id: key_id.to_owned(), algorithm }, spki))
    }

    pub(crate) fn is_rsa(&self) -> bool {
        self.algorithm == SigningAlgorithmSpec::RsassaPkcs1V15Sha256
    }

    /// Signs `message` (KMS hashes it with SHA-256).
    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        if message.len() > MAX_RAW_MESSAGE {
            return Err(SignError::Kms {
                operation: "Sign",
                key_id: self.key_id.clone(),
                message: format!("message of {} bytes is over KMS's {MAX_RAW_MESSAGE}-byte RAW limit", message.len()),
            });
        }
        let out = self
            .runtime
            .block_on(
                self.client
                    .sign()
                    .key_id(&self.key_id)
                    .message(Blob::new(message))
                    .message_type(MessageType::Raw)
                    .signing_algorithm(self.algorithm.clone())
                    .send(),
            )
            .map_err(|e| kms_err("Sign", &self.key_id, e))?;
        out.signature().map(|b| b.as_ref().to_vec()).ok_or_else(|| SignError::Kms {
            operation: "Sign",
            key_id: self.key_id.clone(),
            message: "no signature in the response".into(),
        })
    }

    /// Fetches a KMS key's public key (SPKI DER) without keeping a signer (for `keygen`).
    pub(crate) fn public_key(key_id: &str) -> Result<Vec<u8>, SignError> {
        KmsKey::connect(key_id).map(|(_, spki)| spki)
    }
}
