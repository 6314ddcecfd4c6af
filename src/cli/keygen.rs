//! `keygen` subcommand: a throw-away test identity for trials and the demo.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::sign::keygen::{KeygenOptions, keygen};

/// Arguments of `dora-evidence keygen`.
#[derive(Debug, Args)]
pub(super) struct KeygenArgs {
    /// Folder for ca.pem, signer.pem and signer.key.
    #[arg(long, short = 'o', value_name = "DIR")]
    out: PathBuf,
    /// Common name of the signer certificate.
    #[arg(long, default_value = "dora-evidence demo signer")]
    name: String,
    /// Validity of both certificates, in days.
    #[arg(long, default_value_t = 3650)]
    days: u32,
    /// Issue the signer certificate for this AWS KMS key (ECC_NIST_P256) instead of a new local key.
    #[arg(long, value_name = "KEY_ID")]
    kms_key_id: Option<String>,
    /// Replace existing files.
    #[arg(long)]
    force: bool,
}

/// Runs `keygen`.
pub(super) fn run(args: KeygenArgs) -> anyhow::Result<ExitCode> {
    let out = keygen(&KeygenOptions {
        out: &args.out,
        common_name: &args.name,
        days: args.days,
        kms_key_id: args.kms_key_id.as_deref(),
        force: args.force,
    })?;
    eprintln!("warning: this is a TEST identity, NOT for production evidence: its CA is known to nobody but you");
    println!("ca:          {}", out.ca.display());
    println!("certificate: {}", out.signer_cert.display());
    match &out.signer_key {
        Some(k) => println!("key:         {} (mode 0600)", k.display()),
        None => println!("key:         in AWS KMS ({})", args.kms_key_id.as_deref().unwrap_or("")),
    }
    Ok(ExitCode::SUCCESS)
}
