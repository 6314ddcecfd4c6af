//! `collect` subcommand: snapshots of the AWS Backup APIs into the evidence store.

use std::process::ExitCode;

use clap::Args;

use crate::collect::{CollectOptions, Destination, Regions, Service, collect};

/// Arguments of `dora-evidence collect`.
#[derive(Debug, Args)]
pub(super) struct CollectArgs {
    /// The evidence store: a folder or `s3://bucket/prefix` (`collected/…` is written inside).
    #[arg(long, value_name = "DIR|S3_URL")]
    out: String,
    /// AWS profile (default: the default credential chain).
    #[arg(long)]
    profile: Option<String>,
    /// Regions: `eu-west-1,eu-central-1`, or `all` for every Region enabled in each account
    /// (default: the configured Region).
    #[arg(long, alias = "region", value_name = "LIST|all", value_delimiter = ',')]
    regions: Vec<String>,
    /// Accounts to collect (default: the caller's; with --assume-role-name, every active
    /// account of the organization when the caller may list them).
    #[arg(long, value_name = "IDS", value_delimiter = ',')]
    accounts: Vec<String>,
    /// Read the accounts from a file or S3 object: one id per line (`#` comments), or the
    /// JSON of `aws organizations list-accounts` (active accounts).
    #[arg(long, value_name = "FILE|S3_URL", conflicts_with = "accounts")]
    accounts_from: Option<String>,
    /// Collect only shard I of N (1-based): the account × Region scopes whose hash falls in
    /// it. N tasks with the same --run-time together write exactly what one run writes.
    #[arg(long, value_name = "I/N")]
    shard: Option<crate::collect::Shard>,
    /// Stamp this run's snapshots with this time and measure its windows from it (default:
    /// now). Give every shard of one run the same (e.g. the Step Functions execution's start).
    #[arg(long, value_name = "TIME")]
    run_time: Option<String>,
    /// Role to assume in each account other than the caller's (sts:AssumeRole).
    #[arg(long, value_name = "ROLE")]
    assume_role_name: Option<String>,
    /// ListBackupJobs with ByAccountId="*" from the caller's own account when it is the
    /// organization's management account or a delegated administrator for AWS Backup (checked
    /// with organizations:DescribeOrganization / ListDelegatedAdministrators). Copy and restore
    /// jobs are always listed per account.
    #[arg(long)]
    organization_jobs: bool,
    /// Jobs created or completed since this time (YYYY-MM-DD or RFC 3339) instead of since
    /// the last snapshot.
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
    /// Hours before the last snapshot that job listings start again.
    #[arg(long, default_value_t = 24)]
    overlap_hours: u32,
    /// Leave out: backup (all of AWS Backup but recovery points), recovery-points, alarms (with EventBridge rules and SNS
    /// subscriptions), tags, audit-manager (comma-separated).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    skip: Vec<Service>,
    /// Account × Region scopes collected at once.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Attempts per call, throttling included (standard retry mode, per account and Region).
    #[arg(long, default_value_t = 10)]
    max_attempts: u32,
    /// Path-style S3 addressing (automatic when AWS_ENDPOINT_URL[_S3] is set).
    #[arg(long)]
    path_style: bool,
}

/// `--run-time`, refused in the future (later runs measure their windows from the newest
/// snapshot, so a future stamp would hide jobs); default now.
fn run_time(arg: Option<&str>) -> anyhow::Result<crate::time::Timestamp> {
    let now = crate::time::Timestamp::now();
    let Some(t) = arg else { return Ok(now) };
    let at = crate::time::Timestamp::parse(t).map_err(|e| anyhow::anyhow!("--run-time {t}: {e}"))?;
    if at.millis() > now.millis() + 5 * 60_000 {
        anyhow::bail!("--run-time {t} is in the future");
    }
    Ok(at)
}

/// Runs `collect`.
pub(super) fn run(args: CollectArgs) -> anyhow::Result<ExitCode> {
    let out = if args.out.starts_with("s3://") {
        Destination::S3(args.out.parse().map_err(anyhow::Error::msg)?)
    } else {
        Destination::Local(args.out.clone().into())
    };
    let regions = match args.regions.as_slice() {
        [] => Regions::Configured,
        [all] if all == "all" => Regions::All,
        list if list.iter().any(|r| r == "all") => anyhow::bail!("--regions all cannot be mixed with named Regions"),
        list => Regions::List(list.to_vec()),
    };
    if let Some(bad) = args.accounts.iter().find(|a| a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit())) {
        anyhow::bail!("--accounts: {bad:?} is not a 12-digit account id");
    }
    let opts = CollectOptions {
        out,
        profile: args.profile,
        regions,
        accounts: (!args.accounts.is_empty()).then_some(args.accounts),
        accounts_from: args.accounts_from,
        shard: args.shard,
        run_time: run_time(args.run_time.as_deref())?,
        assume_role_name: args.assume_role_name,
        organization_jobs: args.organization_jobs,
        since: args
            .since
            .as_deref()
            .map(|s| crate::time::Timestamp::parse_date_or_time(s).map_err(|e| anyhow::anyhow!("--since {s}: {e}")))
            .transpose()?,
        overlap_hours: args.overlap_hours,
        skip: args.skip,
        concurrency: args.concurrency,
        max_attempts: args.max_attempts,
        path_style: args.path_style,
    };
    let summary = collect(&opts)?;
    println!("collected as {} into {}", summary.caller_arn, summary.store);
    if let Some(shard) = &opts.shard {
        println!(
            "  shard {shard}: {} of the run's {} account × Region scopes",
            summary.scopes.len(),
            summary.scopes_in_run
        );
    }
    if let Some(role) = &summary.organization_role {
        println!("  --organization-jobs: {role}");
    }
    for s in &summary.scopes {
        let status = if s.failures.is_empty() { "ok" } else { "INCOMPLETE" };
        println!(
            "  {} {}: {} written, {} unchanged, {} failed — {status}",
            s.account,
            s.region,
            s.written,
            s.unchanged,
            s.failures.len()
        );
        for note in &s.notes {
            println!("      note: {note}");
        }
    }
    let failures = summary.failures();
    if failures.is_empty() {
        println!("collect: {} account/Region scope(s) complete", summary.scopes.len());
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("collect: {} failure(s); everything else was collected and kept:", failures.len());
    for f in &failures {
        eprintln!("  {f}");
    }
    Ok(ExitCode::from(1))
}
