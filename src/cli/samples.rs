//! `samples` subcommand.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;

use dora_evidence_samples::{self as samples, SampleOptions};

/// Arguments of `dora-evidence samples`.
#[derive(Debug, Args)]
pub(super) struct SamplesArgs {
    /// Size multiplier: 1 is the bundled sample quarter; larger values write more resources
    /// and jobs (for benchmarks).
    #[arg(long, default_value_t = 1)]
    scale: u32,
    /// Random seed; the same scale and seed give byte-identical output.
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// Quarter to write: 2026-Q3 (the bundled sample) or 2026-Q2 (the quarter before it, with
    /// some of Q3's problems not yet present and others Q3 no longer has: for `build --previous`
    /// and `diff`).
    #[arg(long, default_value = "2026-Q3", value_name = "YYYY-Qn")]
    quarter: samples::Quarter,
    /// Folder to create (must not exist or be empty).
    #[arg(long, short = 'o', value_name = "DIR")]
    out: PathBuf,
}

/// Runs `samples`.
pub(super) fn run(args: SamplesArgs) -> anyhow::Result<ExitCode> {
    let opts = SampleOptions { scale: args.scale, seed: args.seed, out: args.out.clone(), quarter: args.quarter };
    let s = samples::generate(&opts).with_context(|| format!("cannot write samples to {}", args.out.display()))?;
    println!(
        "wrote {} files ({} bytes) of {} to {}: {} resources, {} backup / {} copy / {} restore jobs ({} restore tests), {} job rows",
        s.files,
        s.bytes,
        opts.quarter,
        args.out.display(),
        s.resources,
        s.backup_jobs,
        s.copy_jobs,
        s.restore_jobs,
        s.restore_tests,
        s.job_rows
    );
    Ok(ExitCode::SUCCESS)
}
