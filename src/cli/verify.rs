//! `verify` subcommand: one line per check, a verdict, exit 0 only if every check passes.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::sign::load_certificates;
use crate::verify::{VerifyOptions, verify_dir};

/// Arguments of `dora-evidence verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The package folder.
    #[arg(value_name = "DIR")]
    package: PathBuf,
    /// Trust anchor(s), PEM: the CA certificate(s) the signer must chain to.
    #[arg(long, value_name = "FILE")]
    ca: Vec<PathBuf>,
    /// Accept a package without signatures (integrity is still checked).
    #[arg(long)]
    allow_unsigned: bool,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `verify`.
pub fn run(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    if !args.package.is_dir() {
        anyhow::bail!("{} is not a package folder", args.package.display());
    }
    let anchors = if args.ca.is_empty() {
        None
    } else {
        let mut all = Vec::new();
        for path in &args.ca {
            all.extend(load_certificates(path)?);
        }
        Some(all)
    };
    let report = verify_dir(&args.package, &VerifyOptions { anchors, allow_unsigned: args.allow_unsigned });
    if args.json {
        print!("{}", report.to_json());
    } else {
        print!("{}", report.to_text());
    }
    Ok(if report.passed() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
