//! `rebuild` subcommand: re-perform a package from its own artifacts and compare (see
//! [`crate::rebuild`]).

use std::process::ExitCode;

use clap::Args;

use crate::rebuild::{Comparison, Outcome, RebuildOptions, rebuild};

/// Arguments of `dora-evidence rebuild`.
#[derive(Debug, Args)]
#[command(after_help = "Exit codes: 0 re-performed: identical; 1 the package fails verification, or its \
    re-performance differs (the files and the first differing finding and metric are named); 2 it cannot be \
    re-performed here (another tool version or semantics, no recorded configuration, an earlier package \
    needed), or the package cannot be read. Nothing is written to the package or its bucket.")]
pub(super) struct RebuildArgs {
    /// The package folder, or an archived package: s3://bucket/prefix/…/<package-id>/.
    #[arg(value_name = "DIR|S3_URL")]
    package: String,
    /// The earlier package the package was compared with (`build --previous`).
    #[arg(long, value_name = "DIR|S3_URL")]
    previous: Option<String>,
    /// Whom to trust in the verification that runs first.
    #[command(flatten)]
    trust: super::verify::TrustArgs,
    /// Cores to use: parse workers (one more) and merge workers up to 4 (default: all
    /// cores); the result does not depend on it.
    #[arg(long)]
    threads: Option<usize>,
    /// Path-style S3 addressing (automatic when AWS_ENDPOINT_URL[_S3] is set).
    #[arg(long)]
    path_style: bool,
}

/// Runs `rebuild`.
pub(super) fn run(args: RebuildArgs) -> anyhow::Result<ExitCode> {
    let opts = RebuildOptions {
        target: args.package,
        verify: args.trust.options()?,
        previous: args.previous,
        path_style: args.path_style,
        threads: args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        renderer: crate::render::Renderer::child_of_current_exe(),
    };
    crate::output::remove_work_on_signals().map_err(|e| anyhow::anyhow!("cannot install the signal handler: {e}"))?;
    match rebuild(&opts)? {
        Outcome::Unverified(report) => {
            print!("{}", report.to_text());
            println!("not re-performed: the package fails verification ({})", report.failed().join(", "));
            Ok(ExitCode::from(1))
        }
        Outcome::Compared(c) => {
            print!("{}", to_text(&c));
            Ok(if c.identical() { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
    }
}

/// The comparison for a reader.
fn to_text(c: &Comparison) -> String {
    use std::fmt::Write as _;
    let mut out = format!(
        "verified; re-performed {} ({}) from its {} artifacts, recorded configuration and mapping\n\
         compared {} files byte for byte (report.pdf up to its signatures; SHA256SUMS but for report.pdf's line; \
         signatures, timestamps and receipt not re-made)\n",
        c.package_id, c.period, c.artifacts, c.compared
    );
    if c.identical() {
        out.push_str("re-performed: identical\n");
        return out;
    }
    let _ = writeln!(out, "re-performed: DIFFERENT in {} file(s):", c.differences.len());
    for d in &c.differences {
        let _ = writeln!(out, "  {}: {}", d.path, d.what);
    }
    if !c.manifest_members.is_empty() {
        let _ = writeln!(out, "manifest members that differ: {}", c.manifest_members.join(", "));
    }
    if let Some(f) = &c.first_finding {
        let _ = writeln!(out, "first differing finding: {f}");
    }
    if let Some(m) = &c.first_metric {
        let _ = writeln!(out, "first differing metric: {m}");
    }
    out
}
