//! `verify` subcommand: one line per check, a verdict, exit 0 only if every check passes.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::s3::S3Location;
use crate::sign::load_certificates;
use crate::verify::{VerifyOptions, verify_dir, verify_s3};

/// Arguments of `dora-evidence verify`.
#[derive(Debug, Args)]
pub(super) struct VerifyArgs {
    /// The package folder, or an archived package: s3://bucket/prefix/…/<package-id>/.
    #[arg(value_name = "DIR|S3_URL")]
    package: String,
    /// Whom to trust.
    #[command(flatten)]
    trust: TrustArgs,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
    /// Path-style S3 addressing (automatic when AWS_ENDPOINT_URL[_S3] is set).
    #[arg(long)]
    path_style: bool,
}

/// Runs `verify`.
pub(super) fn run(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let opts = args.trust.options()?;
    let report = if args.package.starts_with("s3://") {
        let location: S3Location = args.package.parse().map_err(anyhow::Error::msg)?;
        // Not reaching the bucket says nothing about the package: exit 2, not a failed check.
        verify_s3(&location, &opts, args.path_style).map_err(|e| anyhow::anyhow!("could not read {location}: {e}"))?
    } else {
        let dir = PathBuf::from(&args.package);
        if !dir.is_dir() {
            anyhow::bail!("{} is not a package folder", dir.display());
        }
        if !looks_like_package(&dir) {
            anyhow::bail!("{} is not a dora-evidence package (no manifest.json)", dir.display());
        }
        verify_dir(&dir, &opts)
    };
    if args.json {
        print!("{}", report.to_json());
    } else {
        print!("{}", report.to_text());
    }
    Ok(if report.passed() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Whether `dir` is (what is left of) a package: it has a `manifest.json`, or, with that
/// removed, the `SHA256SUMS` or signature written beside one. An ordinary folder has none
/// and is a usage error; a package missing its manifest is a failed verification.
fn looks_like_package(dir: &std::path::Path) -> bool {
    use crate::package::layout;
    [layout::MANIFEST, layout::SHA256SUMS, layout::MANIFEST_SIGNATURE].iter().any(|f| dir.join(f).exists())
}

/// How a package is verified (`verify`, and before `archive` and `rebuild`): the trust
/// anchors for its signer and its TSAs, and whether an unsigned package is accepted.
#[derive(Debug, Args)]
pub(super) struct TrustArgs {
    /// Trust anchor(s), PEM: the CA certificate(s) the signer must chain to.
    #[arg(long, value_name = "FILE")]
    ca: Vec<PathBuf>,
    /// Trust anchor(s), PEM, for time-stamping authorities: the TSA of every RFC 3161 token
    /// must chain to one of them (without, tokens are checked but their TSA is not trusted).
    #[arg(long, value_name = "FILE")]
    tsa_ca: Vec<PathBuf>,
    /// Accept a package without signatures (integrity is still checked).
    #[arg(long)]
    allow_unsigned: bool,
}

impl TrustArgs {
    /// The verification options these arguments ask for.
    pub(super) fn options(&self) -> anyhow::Result<VerifyOptions> {
        Ok(VerifyOptions {
            anchors: anchors(&self.ca)?,
            allow_unsigned: self.allow_unsigned,
            tsa_anchors: anchors(&self.tsa_ca)?,
        })
    }
}

/// Reads `--ca` files into trust anchors.
pub(crate) fn anchors(paths: &[PathBuf]) -> anyhow::Result<Option<Vec<x509_cert::Certificate>>> {
    if paths.is_empty() {
        return Ok(None);
    }
    let mut all = Vec::new();
    for p in paths {
        all.extend(load_certificates(p)?);
    }
    Ok(Some(all))
}
