//! `archive` subcommand: a verified package into an S3 Object Lock bucket.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;

use crate::archive::{ArchiveOptions, archive};
use crate::config::Config;
use crate::s3::{LockMode, S3Location};

/// Arguments of `dora-evidence archive`.
#[derive(Debug, Args)]
pub(super) struct ArchiveArgs {
    /// The package folder (it must pass `verify`).
    #[arg(value_name = "DIR")]
    package: PathBuf,
    /// Destination `s3://bucket/prefix` (default: `[archive] to` in the config).
    #[arg(long, value_name = "S3_URL")]
    to: Option<String>,
    /// Object Lock mode: compliance (default) or governance.
    #[arg(long, value_parser = ["compliance", "governance", "COMPLIANCE", "GOVERNANCE"])]
    mode: Option<String>,
    /// Keep the objects locked for this many years (default: config, else 7).
    #[arg(long, conflicts_with = "retain_until")]
    retain_years: Option<u32>,
    /// Keep the objects locked until this date (YYYY-MM-DD or RFC 3339).
    #[arg(long, value_name = "DATE")]
    retain_until: Option<String>,
    /// Settings file with an `[archive]` section (dora-evidence.toml).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Whom to trust in the verification that runs first.
    #[command(flatten)]
    trust: super::verify::TrustArgs,
    /// Archive to a bucket without Object Lock or versioning (the objects are NOT protected).
    #[arg(long)]
    allow_unlocked: bool,
    /// Parallel uploads.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Files this large or larger go up in parts of this many MiB (5 or more).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(5..=5120))]
    part_size_mib: u32,
    /// Path-style S3 addressing (automatic when AWS_ENDPOINT_URL[_S3] is set).
    #[arg(long)]
    path_style: bool,
}

fn years_from_now(years: u32) -> anyhow::Result<i64> {
    let then = chrono::Utc::now()
        .checked_add_months(chrono::Months::new(years.saturating_mul(12)))
        .context("retention too far in the future")?;
    Ok(then.timestamp())
}

fn parse_until(s: &str) -> anyhow::Result<i64> {
    let t = crate::time::Timestamp::parse_date_or_time(s).map_err(|e| anyhow::anyhow!("--retain-until {s}: {e}"))?;
    Ok(t.millis().div_euclid(1000))
}

/// Runs `archive`.
pub(super) fn run(args: ArchiveArgs) -> anyhow::Result<ExitCode> {
    let config = match &args.config {
        Some(p) => Config::load(p)?,
        None => Config::default(),
    };
    let a = &config.archive;
    let to = args
        .to
        .clone()
        .or_else(|| a.to.clone())
        .context("no destination: pass --to s3://bucket/prefix or set [archive] to")?;
    let to: S3Location = to.parse().map_err(anyhow::Error::msg)?;
    let mode = match args.mode.as_deref().or(a.mode.as_deref()).map(str::to_ascii_uppercase).as_deref() {
        Some("GOVERNANCE") => LockMode::Governance,
        _ => LockMode::Compliance,
    };
    let retain_until = match (&args.retain_until, args.retain_years) {
        (Some(u), _) => parse_until(u)?,
        (None, Some(y)) => years_from_now(y)?,
        (None, None) => years_from_now(a.retain_years.unwrap_or(7))?,
    };
    let policy_min_until = a.min_retain_years.map(years_from_now).transpose()?;
    let opts = ArchiveOptions {
        to,
        mode,
        retain_until,
        policy_min_until,
        allow_unlocked: args.allow_unlocked,
        verify: args.trust.options()?,
        concurrency: args.concurrency,
        part_size: args.part_size_mib as usize * 1024 * 1024,
        path_style: args.path_style,
        progress: true,
    };
    let summary = archive(&args.package, &opts)?;
    println!("archived: {}", summary.url);
    println!(
        "objects: {} uploaded ({} bytes), {} already there; receipt {}",
        summary.uploaded,
        summary.bytes,
        summary.present,
        if summary.receipt_written { "written" } else { "already there" }
    );
    match &summary.receipt.mode {
        Some(m) => println!("locked: {m} until {}", summary.receipt.retain_until),
        None => println!("locked: NO (bucket without Object Lock, --allow-unlocked)"),
    }
    println!("receipt: {}", args.package.join(crate::archive::RECEIPT).display());
    Ok(ExitCode::SUCCESS)
}
