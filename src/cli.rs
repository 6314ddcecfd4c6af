//! Command line: clap types and one small `run` per subcommand.
//!
//! Exit codes (DESIGN §7): 0 ok; 1 findings or verification failed; 2 usage or input error,
//! including a package built from inputs that did not all parse unless `--allow-partial`.

mod archive;
mod build;
mod catalog;
mod collect;
mod completions;
mod csr;
mod diff;
mod keygen;
mod log_json;
mod rebuild;
mod samples;
mod timestamp;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Turns AWS Backup and Audit Manager records into a hashed, DORA-mapped evidence package.
#[derive(Debug, Parser)]
#[command(name = "dora-evidence", version, about, long_about = None)]
pub struct Cli {
    /// More log output (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Log lines on stderr: `text`, or `json` (one object per line: time, level, target,
    /// message, fields). The progress and summary lines the commands print stay text.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true, value_name = "FORMAT")]
    log_format: LogFormat,
    /// What to do.
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build an evidence package from input folders and S3 prefixes.
    Build(Box<build::BuildArgs>),
    /// Snapshot the AWS Backup, Audit Manager, CloudWatch, EventBridge, SNS and tagging APIs into the evidence store.
    Collect(collect::CollectArgs),
    /// Check a package: files against the manifest, SHA256SUMS, both signatures, trust.
    Verify(verify::VerifyArgs),
    /// Compare two verified packages of different quarters: status changes, metric deltas,
    /// exceptions new, resolved and persisting.
    Diff(diff::DiffArgs),
    /// Upload a verified package to an S3 Object Lock bucket and check it there.
    Archive(archive::ArchiveArgs),
    /// Renew a package's proof of existence: a new RFC 3161 archive timestamp over every file
    /// and every earlier timestamp, added without changing a byte (also in the bucket).
    Timestamp(timestamp::TimestampArgs),
    /// Re-perform a package from its own artifacts, configuration and mapping, and compare
    /// every file byte for byte (signatures excepted).
    Rebuild(rebuild::RebuildArgs),
    /// Make a certificate request for a signing key (local or in AWS KMS).
    Csr(csr::CsrArgs),
    /// Make a throw-away test CA and signing certificate (NOT for production).
    Keygen(keygen::KeygenArgs),
    /// Write a fictional sample quarter in the real AWS formats.
    Samples(samples::SamplesArgs),
    /// Write the DORA catalog of a mapping in OSCAL 1.2.1 (the controls the packages'
    /// `oscal/assessment-results.json` targets).
    Catalog(catalog::CatalogArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell).
    Completions(completions::CompletionsArgs),
    /// Internal: lay out a report sent on stdin (the build's render child process).
    #[command(name = "render-report", hide = true)]
    RenderReport,
}

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Parses the command line, runs it, and maps the outcome to an exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    init_logging(cli.verbose, cli.log_format);
    no_huge_pages();
    let result = match cli.command {
        Command::Build(args) => build::run(*args),
        Command::Collect(args) => collect::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Diff(args) => diff::run(args),
        Command::Keygen(args) => keygen::run(args),
        Command::Archive(args) => archive::run(args),
        Command::Timestamp(args) => timestamp::run(args),
        Command::Rebuild(args) => rebuild::run(args),
        Command::Csr(args) => csr::run(args),
        Command::Samples(args) => samples::run(args),
        Command::Catalog(args) => catalog::run(args),
        Command::Completions(args) => completions::run(args),
        Command::RenderReport => return ExitCode::from(crate::render::child::serve()),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Turns transparent huge pages off for this process and its render child. The allocator
/// asks for them, and each first touch of a huge page zeroes 2 MiB: 15–20 % of a build's time
/// went to zeroing pages it barely used (perf, BENCHMARKS.md).
fn no_huge_pages() {
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::thread::disable_transparent_huge_pages(true) {
        tracing::debug!("cannot turn transparent huge pages off: {e}");
    }
}

fn init_logging(verbose: u8, format: LogFormat) {
    // Off EC2 every AWS call first probes the instance metadata service and aws-config
    // warns about it; that is noise unless asked for (-vv or RUST_LOG).
    let default = match verbose {
        0 => "warn,aws_config::imds=error",
        1 => "info,aws_config::imds=error",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    if format == LogFormat::Json {
        let json = tracing_subscriber::fmt().with_ansi(false).event_format(log_json::JsonLines);
        let _ = json.with_env_filter(filter).with_writer(std::io::stderr).try_init();
        return;
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}
