//! `build` subcommand.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;

use crate::assess::mapping::Mapping;
use crate::build::{self, BuildOptions};
use crate::config::{Config, SigningConfig};
use crate::sign::revocation::RevocationSources;
use crate::sign::{Identity, KeySource, TsaClient, TsaOptions, load_certificates};
use crate::time::{Period, Timestamp};
use std::sync::Arc;
use std::time::Duration;

/// Arguments of `dora-evidence build`.
#[derive(Debug, Args)]
pub(super) struct BuildArgs {
    /// Input folder, file or s3://bucket/prefix (repeatable). Every file below it becomes an
    /// artifact (S3 keys outside the period's window are not downloaded).
    #[arg(long = "input", short = 'i', required = true, value_name = "DIR|S3_URL")]
    inputs: Vec<String>,
    /// Reporting period, e.g. 2026-Q3.
    #[arg(long, value_parser = parse_period)]
    period: Period,
    /// Package folder to create.
    #[arg(long, short = 'o', value_name = "DIR")]
    out: PathBuf,
    /// Exit 0 even when some inputs could not be parsed (the package is marked partial).
    #[arg(long)]
    allow_partial: bool,
    /// Build even when no input is recognised or the period has no backup job (the package and
    /// its cover then say it is empty); without it such a run exits 2.
    #[arg(long)]
    allow_empty: bool,
    /// Replace OUT when it holds a dora-evidence package (and nothing else); any other
    /// non-empty folder is refused, nothing deleted.
    #[arg(long)]
    force: bool,
    /// Time the package claims to be generated at (RFC 3339); fix it for reproducible output.
    #[arg(long, value_parser = parse_time, value_name = "TIME")]
    generated_at: Option<Timestamp>,
    /// Targets and settings (dora-evidence.toml); without it no RPO/RTO targets apply.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// DORA mapping file (default: the built-in report-templates/dora-mapping.toml).
    #[arg(long, value_name = "FILE")]
    mapping: Option<PathBuf>,
    /// Folder with your own copy of report.typ (default: the built-in template).
    #[arg(long, value_name = "DIR")]
    templates: Option<PathBuf>,
    /// Exit 1 when any requirement has this status (for schedulers).
    #[arg(long, value_name = "STATUS", value_parser = ["not_satisfied"])]
    fail_on: Option<String>,
    /// Cores to use: parse workers (one more, to fill the waits for disk writes) and merge
    /// workers up to 4 (default: all cores); the package does not depend on it.
    #[arg(long)]
    threads: Option<usize>,
    /// Signing key, PEM (ECDSA P-256 or RSA; PKCS#8, SEC1 or PKCS#1). An encrypted PKCS#8
    /// key takes its passphrase from DORA_EVIDENCE_SIGN_KEY_PASSPHRASE.
    #[arg(long, value_name = "FILE", conflicts_with = "sign_kms_key_id")]
    sign_key: Option<PathBuf>,
    /// Sign with this AWS KMS key (ECC_NIST_P256 or RSA, SIGN_VERIFY) instead of a key file.
    #[arg(long, value_name = "KEY_ID")]
    sign_kms_key_id: Option<String>,
    /// Certificate chain of the signing key, PEM, signer first.
    #[arg(long, value_name = "FILE")]
    sign_cert: Option<PathBuf>,
    // issue 17, PDF side (revocation data for the report's /DSS).
    /// A CRL (DER or PEM) for the signer's or the TSA's chain, put into the report's /DSS
    /// (repeatable); it must be issued by a certificate of those chains.
    #[arg(long = "crl", value_name = "FILE")]
    crls: Vec<PathBuf>,
    /// An OCSP response (DER) for a certificate of those chains, put into the report's /DSS
    /// (repeatable).
    #[arg(long = "ocsp-response", value_name = "FILE")]
    ocsp_responses: Vec<PathBuf>,
    /// Do not download CRLs from the certificates' distribution points.
    #[arg(long)]
    no_crl_download: bool,
    /// Accept a key file readable by group or others.
    #[arg(long)]
    insecure_key_permissions: bool,
    /// RFC 3161 time-stamping authority: both signatures get a trusted time (CAdES-T, PAdES
    /// B-T/B-LT/B-LTA). Overrides `[signing] tsa`. HTTP basic auth: `[signing] tsa_user` (or
    /// DORA_EVIDENCE_TSA_USER) with DORA_EVIDENCE_TSA_PASSWORD; mTLS: `[signing]
    /// tsa_client_cert`/`tsa_client_key` (or DORA_EVIDENCE_TSA_CLIENT_CERT/_KEY); a private
    /// root for the TSA's HTTPS certificate: `tsa_tls_ca` (or DORA_EVIDENCE_TSA_TLS_CA).
    #[arg(long, value_name = "URL")]
    tsa: Option<String>,
    /// Trust anchors (PEM) the TSA's certificate must chain to. Overrides `[signing] tsa_ca`.
    #[arg(long, value_name = "FILE")]
    tsa_ca: Option<PathBuf>,
    /// When the TSA fails, build an untimestamped package (the manifest and cover say so)
    /// instead of failing.
    #[arg(long)]
    tsa_optional: bool,
    /// Seconds to wait for the TSA (default 30, or `[signing] tsa_timeout_seconds`).
    #[arg(long, value_name = "SECONDS")]
    tsa_timeout: Option<u32>,
    /// Parallel S3 downloads.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Path-style S3 addressing (automatic when AWS_ENDPOINT_URL[_S3] is set).
    #[arg(long)]
    path_style: bool,
    /// An earlier quarter's package (folder or s3://bucket/prefix/…/<package-id>/) to compare
    /// with: it is verified first (hashes, and signatures when present; a package that fails
    /// is refused, exit 2); the new package then holds changes.json, names it in its
    /// manifest, and its report gets "Changes since <period>" (as `diff` prints them).
    #[arg(long, value_name = "DIR|S3_URL")]
    previous: Option<String>,
}

fn parse_period(s: &str) -> Result<Period, String> {
    s.parse()
}

fn parse_time(s: &str) -> Result<Timestamp, String> {
    Timestamp::parse(s)
}

/// The signing identity from flags, else from `[signing]` in the config.
fn signing(args: &BuildArgs, config: &Config) -> anyhow::Result<Option<build::Signing>> {
    let c = &config.signing;
    let from_flags = args.sign_key.is_some() || args.sign_kms_key_id.is_some();
    let (key, kms) = if from_flags {
        (args.sign_key.clone(), args.sign_kms_key_id.clone())
    } else {
        (c.key.clone(), c.kms_key_id.clone())
    };
    let cert = args.sign_cert.clone().or_else(|| c.cert.clone());
    let source = match (&key, &kms) {
        (None, None) => {
            if cert.is_some() {
                anyhow::bail!("a signing certificate was given without a key (--sign-key or --sign-kms-key-id)");
            }
            if args.tsa.is_some() || c.tsa.is_some() {
                anyhow::bail!("a TSA timestamps signatures: give a signing key too (--sign-key or --sign-kms-key-id)");
            }
            return Ok(None);
        }
        (Some(path), _) => KeySource::File { path, insecure_permissions: args.insecure_key_permissions },
        (None, Some(id)) => KeySource::Kms(id),
    };
    let Some(cert) = cert else {
        anyhow::bail!("a signing key was given without its certificate (--sign-cert FILE)");
    };
    let identity = Identity::load(source, &cert)?;
    let (tsa, timestamp_missing) = timestamping(args, c)?;
    Ok(Some(build::Signing {
        identity: Arc::new(identity),
        reason: c.reason.clone().or_else(|| Some("DORA ICT backup and restore evidence".into())),
        location: c.location.clone(),
        contact_info: c.contact_info.clone(),
        tsa: tsa.map(Arc::new),
        timestamp_missing,
        revocation: RevocationSources {
            crl_files: args.crls.clone(),
            ocsp_files: args.ocsp_responses.clone(),
            fetch: !args.no_crl_download,
        },
    }))
}

/// The TSA to use, or the TSA that failed and why (`--tsa-optional`).
type Timestamping = (Option<TsaClient>, Option<(String, String)>);

/// The TSA from flags, config and environment, asked once before anything is built so a
/// TSA that is down fails the build at once (or, with `--tsa-optional`, is recorded).
fn timestamping(args: &BuildArgs, c: &SigningConfig) -> anyhow::Result<Timestamping> {
    let Some(url) = args.tsa.clone().or_else(|| c.tsa.clone()) else { return Ok((None, None)) };
    let client = TsaClient::new(tsa_options(url.clone(), args.tsa_ca.as_ref(), c, args.tsa_timeout)?)?;
    match client.timestamp(b"dora-evidence: is the TSA there?") {
        Ok(_) => Ok((Some(client), None)),
        Err(e) if args.tsa_optional || c.tsa_optional => {
            eprintln!("warning: NOT TIMESTAMPED: {e}; building without trusted time (--tsa-optional)");
            Ok((None, Some((url, e.to_string()))))
        }
        Err(e) => Err(e.into()),
    }
}

/// How to reach the TSA at `url`: its CA (flag, else config), basic auth and mTLS from the
/// config or the environment, the timeout (flag, else config, else 30 s).
pub(super) fn tsa_options(
    url: String,
    tsa_ca: Option<&PathBuf>,
    c: &SigningConfig,
    timeout: Option<u32>,
) -> anyhow::Result<TsaOptions> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let ca = match tsa_ca.or(c.tsa_ca.as_ref()) {
        Some(path) => load_certificates(path)?,
        None => Vec::new(),
    };
    let user = c.tsa_user.clone().or_else(|| env("DORA_EVIDENCE_TSA_USER"));
    let basic_auth = match (user, env("DORA_EVIDENCE_TSA_PASSWORD")) {
        (Some(u), Some(p)) => Some((u, zeroize::Zeroizing::new(p))),
        (Some(_), None) => anyhow::bail!("a TSA user is set but DORA_EVIDENCE_TSA_PASSWORD is empty"),
        (None, _) => None,
    };
    let cert = c.tsa_client_cert.clone().or_else(|| env("DORA_EVIDENCE_TSA_CLIENT_CERT").map(PathBuf::from));
    let key = c.tsa_client_key.clone().or_else(|| env("DORA_EVIDENCE_TSA_CLIENT_KEY").map(PathBuf::from));
    let client_identity = match (cert, key) {
        (Some(c), Some(k)) => Some((c, k)),
        (None, None) => None,
        _ => anyhow::bail!("mTLS to the TSA needs both a client certificate and its key"),
    };
    let tls_roots = c.tsa_tls_ca.clone().or_else(|| env("DORA_EVIDENCE_TSA_TLS_CA").map(PathBuf::from));
    let timeout = Duration::from_secs(u64::from(timeout.or(c.tsa_timeout_seconds).unwrap_or(30)));
    Ok(TsaOptions { url, ca, basic_auth, client_identity, tls_roots, timeout })
}

/// Runs `build`.
pub(super) fn run(args: BuildArgs) -> anyhow::Result<ExitCode> {
    let (allow_partial, fail_on) = (args.allow_partial, args.fail_on.is_some());
    let opts = options(args)?;
    // SIGINT/SIGTERM remove this run's work folders (DESIGN §8).
    crate::output::remove_work_on_signals().context("cannot install the signal handler")?;
    let summary = build::run(&opts).context("build failed")?;
    print_summary(&summary);
    Ok(outcome(&summary, allow_partial, fail_on))
}

/// The build's options from the flags: config and mapping loaded, the signing identity
/// checked at the generation time, inputs split into folders and S3 prefixes, and the
/// `--previous` package verified.
fn options(args: BuildArgs) -> anyhow::Result<BuildOptions> {
    let threads = args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    let mapping = match &args.mapping {
        Some(path) => Mapping::load(path)?,
        None => Mapping::builtin(),
    };
    let generated_at = args.generated_at.unwrap_or_else(Timestamp::now);
    let signing = signing(&args, &config)?;
    if let Some(s) = &signing {
        s.identity.check_valid_at(generated_at)?;
    }
    if signing.is_none() {
        eprintln!(
            "warning: UNSIGNED package: no signing identity (--sign-key/--sign-cert, --sign-kms-key-id/--sign-cert or [signing] in the config); nobody can prove who produced it"
        );
    }
    let (local, s3_inputs) = split_inputs(&args.inputs)?;
    let previous = match &args.previous {
        Some(target) => {
            let scratch = tempfile::tempdir().context("cannot make a download folder")?;
            let snapshot = crate::compare::load_verified(target, None, args.path_style, scratch.path())
                .context("--previous refused")?;
            Some(snapshot)
        }
        None => None,
    };
    Ok(BuildOptions {
        previous,
        inputs: local,
        s3_inputs,
        s3_concurrency: args.concurrency,
        path_style: args.path_style,
        allow_empty: args.allow_empty,
        period: args.period,
        out: args.out,
        force: args.force,
        generated_at,
        threads,
        in_memory_limit: crate::artifact::IN_MEMORY_LIMIT,
        spill_budget: build::SPILL_BUDGET,
        config,
        mapping,
        templates: args.templates,
        renderer: crate::render::Renderer::child_of_current_exe(),
        signing,
    })
}

/// `--input` values: local folders, and `s3://` prefixes parsed.
fn split_inputs(inputs: &[String]) -> anyhow::Result<(Vec<PathBuf>, Vec<crate::s3::S3Location>)> {
    let (mut local, mut s3) = (Vec::new(), Vec::new());
    for input in inputs {
        if input.starts_with("s3://") {
            s3.push(input.parse::<crate::s3::S3Location>().map_err(anyhow::Error::msg)?);
        } else {
            local.push(PathBuf::from(input));
        }
    }
    Ok((local, s3))
}

/// What was built: skipped inputs and removed stale folders (stderr), then the package, its
/// signer, the artifact and record counts and the findings (stdout).
fn print_summary(summary: &build::BuildSummary) {
    for s in &summary.skipped_inputs {
        eprintln!("warning: skipped {}: {}", s.path, s.kind.reason());
    }
    for dir in &summary.removed_work_folders {
        eprintln!("removed {}: a stale work folder of a killed dora-evidence run", dir.display());
    }
    println!("package: {}", summary.out.display());
    println!("report:  {}", summary.out.join("report.pdf").display());
    match &summary.signed_by {
        Some(who) => println!("signed by: {who} (manifest.json.p7s, PAdES in report.pdf)"),
        None => println!("signed by: nobody (unsigned package)"),
    }
    if let Some(p) = &summary.pades {
        println!("report.pdf: PAdES {}", p.level);
        for line in &p.revocation_missing {
            eprintln!("warning: {line}");
        }
    }
    println!(
        "artifacts: {} ({} bytes), {} unclassified, {} with problems",
        summary.artifacts, summary.bytes, summary.unclassified, summary.failed
    );
    for (name, n) in &summary.counts {
        println!("  {name}: {n}");
    }
    let count = |s: &str| summary.findings.iter().filter(|f| f.1 == s).count();
    println!(
        "findings: {} satisfied, {} partially satisfied, {} not satisfied, {} no evidence, {} not applicable \
         (findings.csv)",
        count("satisfied"),
        count("partially_satisfied"),
        count("not_satisfied"),
        count("no_evidence"),
        count("not_applicable")
    );
}

/// The exit status: 2 for a partial package without `--allow-partial` (its problems listed),
/// 1 for an unsatisfied requirement under `--fail-on`, else success.
fn outcome(summary: &build::BuildSummary, allow_partial: bool, fail_on: bool) -> ExitCode {
    if summary.is_partial() {
        eprintln!(
            "{} problem(s) in the inputs; the package is marked partial (see evidence/parse_errors.csv):",
            summary.problem_count
        );
        for p in &summary.problems {
            eprintln!("  {p}");
        }
        if summary.problem_count > summary.problems.len() {
            eprintln!("  … and {} more", summary.problem_count - summary.problems.len());
        }
        if !allow_partial {
            eprintln!("error: some inputs could not be parsed; pass --allow-partial to accept a partial package");
            return ExitCode::from(2);
        }
    }
    if fail_on && summary.not_satisfied {
        eprintln!("some requirements are not satisfied (--fail-on not_satisfied)");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
