//! `timestamp` subcommand: add an archive-timestamp renewal to a package (see [`crate::renew`]).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;

use crate::config::Config;
use crate::renew::{RenewOptions, renew};
use crate::sign::TsaClient;
use crate::sign::tsa::HashAlg;
use crate::verify::VerifyOptions;

/// Arguments of `dora-evidence timestamp`.
#[derive(Debug, Args)]
#[command(after_help = "Renew before the TSA certificate of the newest timestamp expires (`verify` says \
    when), and with --hash sha512 before SHA-256 weakens. Exit codes: 0 renewed and verified; 2 the \
    package does not verify, the TSA fails, or nothing could be written.")]
pub(super) struct TimestampArgs {
    /// The package folder, or an archived package: s3://bucket/prefix/…/<package-id>/.
    #[arg(value_name = "DIR|S3_URL")]
    package: String,
    /// The RFC 3161 TSA (default: `[signing] tsa` of --config).
    #[arg(long, value_name = "URL")]
    tsa: Option<String>,
    /// Trust anchors (PEM) for TSAs: the new token's and the package's earlier ones.
    #[arg(long, value_name = "FILE")]
    tsa_ca: Option<PathBuf>,
    /// Trust anchor(s), PEM, for the package's signer (the verification before and after).
    #[arg(long, value_name = "FILE")]
    ca: Vec<PathBuf>,
    /// Renew an unsigned package.
    #[arg(long)]
    allow_unsigned: bool,
    /// Hash algorithm of the renewal: sha256, sha384 or sha512.
    #[arg(long, default_value = "sha256", value_name = "ALG")]
    hash: String,
    /// Settings file with a `[signing]` section (TSA URL, CA, credentials).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Seconds to wait for the TSA.
    #[arg(long, value_name = "SECONDS")]
    tsa_timeout: Option<u32>,
    /// Path-style S3 addressing (automatic when AWS_ENDPOINT_URL[_S3] is set).
    #[arg(long)]
    path_style: bool,
}

/// Runs `timestamp`.
pub(super) fn run(args: TimestampArgs) -> anyhow::Result<ExitCode> {
    let config = match &args.config {
        Some(p) => Config::load(p)?,
        None => Config::default(),
    };
    let c = &config.signing;
    let url = args.tsa.clone().or_else(|| c.tsa.clone()).context("no TSA: pass --tsa URL or set [signing] tsa")?;
    let tsa_ca = args.tsa_ca.clone().or_else(|| c.tsa_ca.clone());
    let options = super::build::tsa_options(url, tsa_ca.as_ref(), c, args.tsa_timeout)?;
    let hash =
        HashAlg::parse(&args.hash).with_context(|| format!("--hash {}: use sha256, sha384 or sha512", args.hash))?;
    let opts = RenewOptions {
        tsa: TsaClient::new(options)?,
        hash,
        verify: VerifyOptions {
            anchors: super::verify::anchors(&args.ca)?,
            allow_unsigned: args.allow_unsigned,
            tsa_anchors: super::verify::anchors(&tsa_ca.into_iter().collect::<Vec<_>>())?,
        },
        path_style: args.path_style,
    };
    let s = renew(&args.package, &opts)?;
    println!("renewal {:04}: {} files covered, proven at {} ({})", s.sequence, s.covered, s.proven, hash.name());
    for f in &s.added {
        println!("added: {f}");
    }
    print!("{}", s.report.to_text());
    Ok(ExitCode::SUCCESS)
}
