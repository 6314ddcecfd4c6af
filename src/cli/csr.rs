//! `csr` subcommand: a certificate request for a signing key (local or in AWS KMS).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::sign::KeySource;
use crate::sign::csr::request;

/// Arguments of `dora-evidence csr`.
#[derive(Debug, Args)]
pub(super) struct CsrArgs {
    /// The private key, PEM.
    #[arg(long, value_name = "FILE", required_unless_present = "kms_key_id", conflicts_with = "kms_key_id")]
    key: Option<PathBuf>,
    /// An AWS KMS key (ECC_NIST_P256 or RSA, SIGN_VERIFY): the request is signed inside KMS.
    #[arg(long, value_name = "KEY_ID")]
    kms_key_id: Option<String>,
    /// Subject, RFC 4514: "CN=Evidence signer,O=Nordhafen Bank AG,C=DE".
    #[arg(long)]
    subject: String,
    /// Where to write the PEM request.
    #[arg(long, short = 'o', value_name = "FILE")]
    out: PathBuf,
    /// Accept a key file readable by group or others.
    #[arg(long)]
    insecure_key_permissions: bool,
}

/// Runs `csr`.
pub(super) fn run(args: CsrArgs) -> anyhow::Result<ExitCode> {
    let source = match (&args.key, &args.kms_key_id) {
        (Some(path), _) => KeySource::File { path, insecure_permissions: args.insecure_key_permissions },
        (None, Some(id)) => KeySource::Kms(id),
        (None, None) => anyhow::bail!("give --key FILE or --kms-key-id KEY_ID"),
    };
    let pem = request(source, &args.subject)?;
    std::fs::write(&args.out, pem).map_err(|e| anyhow::anyhow!("{}: {e}", args.out.display()))?;
    println!("request: {} (send it to your CA; build with the certificate it issues)", args.out.display());
    Ok(ExitCode::SUCCESS)
}
