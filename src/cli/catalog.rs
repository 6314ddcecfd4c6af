//! `catalog` subcommand: the DORA catalog of a mapping in OSCAL, as every package holds it
//! (`oscal/dora-catalog.json`); `report-templates/dora-catalog.json` is its output for the
//! built-in mapping.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use crate::assess::mapping::Mapping;
use crate::package::oscal;

/// Arguments of `dora-evidence catalog`.
#[derive(Debug, Args)]
pub(super) struct CatalogArgs {
    /// DORA mapping file (default: the built-in report-templates/dora-mapping.toml).
    #[arg(long, value_name = "FILE")]
    mapping: Option<PathBuf>,
    /// Where to write the catalog (default: standard output).
    #[arg(long, short = 'o', value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Runs `catalog`.
pub(super) fn run(args: CatalogArgs) -> anyhow::Result<ExitCode> {
    let mapping = match &args.mapping {
        Some(path) => Mapping::load(path)?,
        None => Mapping::builtin(),
    };
    let bytes = oscal::catalog(&mapping);
    match &args.out {
        Some(path) => std::fs::write(path, &bytes).with_context(|| path.display().to_string())?,
        None => std::io::stdout().lock().write_all(&bytes).context("standard output")?,
    }
    Ok(ExitCode::SUCCESS)
}
