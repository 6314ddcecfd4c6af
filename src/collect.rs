//! `collect`: snapshots of the AWS Backup (and Audit Manager, CloudWatch, tagging) APIs into
//! the evidence store, so a quarterly build has more than the APIs' 30-day window.
//!
//! For every account × Region it writes `collected/<account>/<region>/<timestamp>/<operation>.json`
//! in the shape the AWS CLI prints for that operation (DESIGN §2), to a folder or an S3 prefix,
//! never overwriting. Re-runs add only what changed (see [`scope`]). Accounts are the caller's
//! own, `--accounts`, or — with `--assume-role-name` — every active account Organizations lists;
//! other accounts are entered by `sts:AssumeRole` when their first scope starts, and left after
//! their last, so a run never holds every account's role at once. A failing account, Region
//! or call is recorded and the run goes on; the summary lists every failure and the command
//! ends non-zero.

mod alarm;
pub(crate) mod capture;
pub(crate) mod scope;
mod shard;
mod store;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use futures_util::StreamExt as _;

pub use capture::{FailureKind, OpError};
pub use scope::ScopeSummary;
pub use shard::{Shard, parse_account_list};
pub use store::Store;

use crate::s3::{S3Location, S3Store};
use crate::time::Timestamp;

/// Where snapshots go.
#[derive(Debug, Clone)]
pub enum Destination {
    /// A local folder.
    Local(PathBuf),
    /// An S3 prefix.
    S3(S3Location),
}

/// Which Regions to collect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Regions {
    /// The configured Region (profile, `AWS_REGION`).
    Configured,
    /// These Regions.
    List(Vec<String>),
    /// Every Region enabled in the account (`account:ListRegions`).
    All,
}

/// A group of calls that can be left out with `--skip`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// AWS Backup (vaults, jobs, legal holds, restore testing, report plans, frameworks).
    Backup,
    /// Recovery-point listings per vault (part of Backup; large in big accounts).
    RecoveryPoints,
    /// CloudWatch alarms on `AWS/Backup`, then the other alert paths: EventBridge rules on
    /// `aws.backup` events with their targets, and the subscriptions of every SNS topic the
    /// alarms, those targets and the vault notifications name.
    Alarms,
    /// The Resource Groups Tagging API inventory.
    Tags,
    /// AWS Audit Manager.
    AuditManager,
}

impl std::str::FromStr for Service {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "backup" => Service::Backup,
            "recovery-points" => Service::RecoveryPoints,
            "alarms" => Service::Alarms,
            "tags" => Service::Tags,
            "audit-manager" => Service::AuditManager,
            other => {
                return Err(format!(
                    "unknown service {other:?} (backup, recovery-points, alarms, tags, audit-manager)"
                ));
            }
        })
    }
}

/// What to collect, from where, to where.
#[derive(Debug, Clone)]
pub struct CollectOptions {
    /// The store.
    pub out: Destination,
    /// A named AWS profile.
    pub profile: Option<String>,
    /// Regions.
    pub regions: Regions,
    /// Accounts (default: the caller's, or all of the organization with a role name).
    pub accounts: Option<Vec<String>>,
    /// Where to read the accounts from instead (`--accounts-from FILE|s3://bucket/key`):
    /// one id per line, or the JSON of `aws organizations list-accounts`.
    pub accounts_from: Option<String>,
    /// Collect only this shard's scopes (`--shard I/N`; see [`Shard`]).
    pub shard: Option<Shard>,
    /// The time this run's snapshots are stamped with and its windows are measured from
    /// (`--run-time`; default now). The shards of one run pass the same.
    pub run_time: Timestamp,
    /// Role to assume in each account other than the caller's.
    pub assume_role_name: Option<String>,
    /// ListBackupJobs with `ByAccountId="*"` in the caller's own scope, when the caller is
    /// the organization's management account or a delegated administrator for AWS Backup.
    pub organization_jobs: bool,
    /// Jobs from this time instead of "since the last snapshot".
    pub since: Option<Timestamp>,
    /// How far before the last snapshot job listings start again.
    pub overlap_hours: u32,
    /// Services left out.
    pub skip: Vec<Service>,
    /// Account × Region scopes collected at once.
    pub concurrency: usize,
    /// Attempts per call (standard retry, throttling included).
    pub max_attempts: u32,
    /// Path-style S3 addressing.
    pub path_style: bool,
}

impl CollectOptions {
    pub(crate) fn wants(&self, s: Service) -> bool {
        !self.skip.contains(&s)
    }
}

/// A failure that ended an account or Region before its calls (assume role, list Regions).
#[derive(Debug, Clone)]
pub struct ScopeFailure {
    /// The account.
    pub account: String,
    /// The Region, when the failure is Region-specific.
    pub region: Option<String>,
    /// What went wrong.
    pub error: OpError,
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct CollectSummary {
    /// The caller (`sts:GetCallerIdentity`).
    pub caller_arn: String,
    /// One entry per account × Region collected.
    pub scopes: Vec<ScopeSummary>,
    /// Accounts or Regions that could not be entered at all.
    pub unreached: Vec<ScopeFailure>,
    /// Where the snapshots went.
    pub store: String,
    /// What `--organization-jobs` found the caller to be, and what it did about it.
    pub organization_role: Option<String>,
    /// Scopes of the whole run, every shard's (with `--shard`, more than `scopes`).
    pub scopes_in_run: usize,
}

impl CollectSummary {
    /// Every failure, as `account Region: error` lines.
    pub fn failures(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .unreached
            .iter()
            .map(|f| match &f.region {
                Some(r) => format!("account {} Region {r}: {}", f.account, f.error),
                None => format!("account {}: {}", f.account, f.error),
            })
            .collect();
        for s in &self.scopes {
            out.extend(s.failures.iter().map(|e| format!("account {} Region {}: {e}", s.account, s.region)));
        }
        out
    }
}

/// Errors that stop the run before anything is collected.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// No caller identity: no or bad credentials.
    #[error("cannot identify the caller (sts:GetCallerIdentity): {0}")]
    Identity(String),
    /// No Region configured.
    #[error("no AWS Region: pass --regions or set AWS_REGION / the profile's region")]
    NoRegion,
    /// No credentials (or another setup problem [`crate::s3::check_setup`] names).
    #[error("{0}")]
    Setup(String),
    /// Bad option.
    #[error("{0}")]
    Usage(String),
    /// The async runtime.
    #[error("cannot start the async runtime: {0}")]
    Runtime(String),
}

/// Accounts whose credentials the identity cache keeps (an organisation has at most a few
/// thousand; a task of a sharded run enters a fraction of them). An entry outlives its account's
/// configuration, and a full cache evicts at random, also accounts still in use: with 256 entries
/// 1 000 accounts made 8 954 STS calls instead of 2 001, in 71 s instead of 29 s. An entry is
/// small: the same run's peak RSS differed by 1 MiB.
const IDENTITY_PARTITIONS: usize = 20_000;

async fn base_config(opts: &CollectOptions) -> SdkConfig {
    // A hung endpoint must not hang a scheduled run: bounded connect and per-attempt times.
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(10))
        .operation_attempt_timeout(Duration::from_secs(120))
        .build();
    // Standard retries (exponential back-off with jitter), each scope in its own retry partition
    // (`capture::client!`): AWS throttles per account and Region. The adaptive mode's
    // client-side limiter starts every partition at a measured rate of 0 and then sleeps up to
    // 20 s on the first throttle (BENCHMARKS.md, "collect at organisation scale").
    // One identity per account entered: the SDK's default cache keeps 64 and evicts at random,
    // so an organisation's accounts would assume their roles again and again.
    let identities = aws_config::identity::IdentityCache::lazy().max_partitions(IDENTITY_PARTITIONS).build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .identity_cache(identities)
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(opts.max_attempts.max(1))
                .with_initial_backoff(Duration::from_millis(250)),
        )
        .timeout_config(timeouts);
    if let Some(p) = &opts.profile {
        loader = loader.profile_name(p);
    }
    let config = loader.load().await;
    match (&opts.regions, config.region()) {
        (Regions::List(list), None) if !list.is_empty() => {
            config.to_builder().region(aws_config::Region::new(list[0].clone())).build()
        }
        _ => config,
    }
}

/// Active accounts of the organization, or `None` when the caller may not list them.
async fn organization_accounts(cfg: &SdkConfig) -> Result<Vec<String>, OpError> {
    let c = aws_sdk_organizations::Client::new(cfg);
    let mut pages = c.list_accounts().into_paginator().send();
    let mut ids = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| capture::op_error("organizations:ListAccounts", &e))?;
        for a in page.accounts() {
            use aws_sdk_organizations::types::{AccountState, AccountStatus};
            #[allow(deprecated)]
            let active = match a.state() {
                Some(s) => *s == AccountState::Active,
                None => a.status() == Some(&AccountStatus::Active),
            };
            if active && let Some(id) = a.id() {
                ids.push(id.to_owned());
            }
        }
    }
    ids.sort();
    Ok(ids)
}

/// The caller's standing in its organization, for `ByAccountId="*"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OrgStanding {
    /// The organization's management account.
    Management,
    /// A delegated administrator for AWS Backup (`backup.amazonaws.com`).
    DelegatedAdministrator,
    /// Neither (or the caller may not ask).
    Member,
}

/// Whether the caller's account may list the organization's backup jobs: AWS documents
/// `ByAccountId="*"` for ListBackupJobs from the management account, and cross-account
/// monitoring for a delegated administrator of AWS Backup.
async fn organization_standing(cfg: &SdkConfig, caller_account: &str) -> (OrgStanding, String) {
    let c = aws_sdk_organizations::Client::new(cfg);
    let management = match c.describe_organization().send().await {
        Ok(out) => out.organization().and_then(|o| o.master_account_id()).map(str::to_owned),
        Err(e) => {
            let e = capture::op_error("organizations:DescribeOrganization", &e);
            return (OrgStanding::Member, format!("cannot tell the caller's standing in the organization ({e})"));
        }
    };
    if management.as_deref() == Some(caller_account) {
        return (OrgStanding::Management, format!("account {caller_account} is the organization's management account"));
    }
    let mut pages = c.list_delegated_administrators().service_principal("backup.amazonaws.com").into_paginator().send();
    while let Some(page) = pages.next().await {
        match page {
            Ok(out) => {
                if out.delegated_administrators().iter().any(|d| d.id() == Some(caller_account)) {
                    return (
                        OrgStanding::DelegatedAdministrator,
                        format!("account {caller_account} is a delegated administrator for AWS Backup"),
                    );
                }
            }
            Err(e) => {
                let e = capture::op_error("organizations:ListDelegatedAdministrators", &e);
                return (
                    OrgStanding::Member,
                    format!(
                        "account {caller_account} is not the management account, and its delegated-administrator standing is unknown ({e})"
                    ),
                );
            }
        }
    }
    (
        OrgStanding::Member,
        format!(
            "account {caller_account} is neither the management account nor a delegated administrator for AWS Backup"
        ),
    )
}

/// Enabled Regions of the account (`account:ListRegions`), sorted.
async fn enabled_regions(cfg: &SdkConfig) -> Result<Vec<String>, OpError> {
    use aws_sdk_account::types::RegionOptStatus;
    let c = aws_sdk_account::Client::new(cfg);
    let mut regions = Vec::new();
    let mut pages = c
        .list_regions()
        .region_opt_status_contains(RegionOptStatus::Enabled)
        .region_opt_status_contains(RegionOptStatus::EnabledByDefault)
        .max_results(50)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let out = page.map_err(|e| capture::op_error("account:ListRegions", &e))?;
        regions.extend(out.regions().iter().filter_map(|r| r.region_name().map(str::to_owned)));
    }
    regions.sort();
    regions.dedup();
    Ok(regions)
}

/// Collects every account × Region; see the module docs.
///
/// # Errors
/// Only when nothing can start (no identity, no Region, no runtime). Failures of single
/// accounts, Regions or calls are in the summary.
pub fn collect(opts: &CollectOptions) -> Result<CollectSummary, CollectError> {
    if opts.concurrency == 0 {
        return Err(CollectError::Usage("--concurrency must be at least 1".into()));
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CollectError::Runtime(e.to_string()))?;
    rt.block_on(run(opts))
}

async fn run(opts: &CollectOptions) -> Result<CollectSummary, CollectError> {
    let base = base_config(opts).await;
    if base.region().is_none() {
        return Err(CollectError::NoRegion);
    }
    crate::s3::check_setup(&base, ", or pass --profile NAME").await.map_err(CollectError::Setup)?;
    let me = aws_sdk_sts::Client::new(&base)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| CollectError::Identity(capture::op_error("sts:GetCallerIdentity", &e).to_string()))?;
    let caller_account = me.account().unwrap_or_default().to_owned();
    let caller_arn = me.arn().unwrap_or_default().to_owned();
    let partition = caller_arn.split(':').nth(1).filter(|p| !p.is_empty()).unwrap_or("aws").to_owned();
    tracing::info!("collecting as {caller_arn}");

    let store = match &opts.out {
        Destination::Local(dir) => Store::Local(dir.clone()),
        Destination::S3(location) => {
            Store::S3 { store: S3Store::new(crate::s3::client_for(&base, opts.path_style)), location: location.clone() }
        }
    };
    let mut summary = CollectSummary { caller_arn, store: store.describe(), ..Default::default() };
    let org_jobs = opts.organization_jobs && organization_jobs(&base, &caller_account, &mut summary).await;
    let accounts = match &opts.accounts_from {
        Some(source) => accounts_from(source, &base, opts.path_style).await?,
        None => target_accounts(opts, &base, &caller_account, &mut summary).await,
    };
    let role = opts.assume_role_name.as_deref();
    let entry = Entry { base: &base, caller_account: &caller_account, partition: &partition, role };
    let (scopes, all) = scopes(opts, &entry, &accounts, &mut summary).await;
    summary.scopes_in_run = all.len();
    let (mut done, unreached) = run_scopes(opts, &store, &entry, scopes, &all, org_jobs).await;
    done.sort_by(|a, b| (&a.account, &a.region).cmp(&(&b.account, &b.region)));
    summary.scopes = done;
    summary.unreached.extend(unreached);
    Ok(summary)
}

/// Whether `--organization-jobs` may list the organization's backup jobs from the caller's
/// account (management account or delegated administrator); says which in the summary.
async fn organization_jobs(base: &SdkConfig, caller_account: &str, summary: &mut CollectSummary) -> bool {
    let (standing, said) = organization_standing(base, caller_account).await;
    let org = standing != OrgStanding::Member;
    let what = if org {
        "ListBackupJobs with ByAccountId=\"*\" in its own scopes; copy and restore jobs per account"
    } else {
        "jobs listed per account only"
    };
    tracing::info!("--organization-jobs: {said}: {what}");
    summary.organization_role = Some(format!("{said}: {what}"));
    org
}

/// The accounts to collect: `--accounts`, the organization's with `--assume-role-name`
/// (the caller's own, with a recorded failure, when it may not list them), else the caller's.
async fn target_accounts(
    opts: &CollectOptions,
    base: &SdkConfig,
    caller_account: &str,
    summary: &mut CollectSummary,
) -> Vec<String> {
    match (&opts.accounts, &opts.assume_role_name) {
        (Some(list), _) => list.clone(),
        (None, Some(_)) => match organization_accounts(base).await {
            Ok(ids) if !ids.is_empty() => ids,
            Ok(_) => vec![caller_account.to_owned()],
            Err(e) => {
                tracing::warn!(
                    "cannot list the organization's accounts ({e}); collecting account {caller_account} only"
                );
                summary.unreached.push(ScopeFailure { account: caller_account.to_owned(), region: None, error: e });
                vec![caller_account.to_owned()]
            }
        },
        (None, None) => vec![caller_account.to_owned()],
    }
}

/// The account ids of an `--accounts-from` file or S3 object ([`parse_account_list`]).
async fn accounts_from(source: &str, base: &SdkConfig, path_style: bool) -> Result<Vec<String>, CollectError> {
    let usage = |e: String| CollectError::Usage(format!("--accounts-from {source}: {e}"));
    let bytes = match source.strip_prefix("s3://") {
        Some(rest) => {
            let (bucket, key) = rest.split_once('/').ok_or_else(|| usage("expected s3://bucket/key".into()))?;
            let store = S3Store::new(crate::s3::client_for(base, path_style));
            let mut buf = Vec::new();
            let got = crate::s3::get_verified(&store, bucket, key, crate::s3::Dest::Memory(&mut buf)).await;
            match got.map_err(|e| usage(e.detail()))? {
                Some(_) => buf,
                None => return Err(usage("NoSuchKey".into())),
            }
        }
        None => std::fs::read(source).map_err(|e| usage(e.to_string()))?,
    };
    parse_account_list(&String::from_utf8_lossy(&bytes)).map_err(usage)
}

/// How accounts other than the caller's are entered.
struct Entry<'a> {
    base: &'a SdkConfig,
    caller_account: &'a str,
    partition: &'a str,
    role: Option<&'a str>,
}

impl Entry<'_> {
    /// Credentials for `account`: the caller's own, or the assumed role.
    async fn config(&self, account: &str) -> Result<SdkConfig, OpError> {
        let base = self.base;
        let Some(role) = self.role.filter(|_| account != self.caller_account) else {
            return Ok(base.clone());
        };
        let arn = format!("arn:{}:iam::{account}:role/{role}", self.partition);
        // Try once here, so a refusal names the role and account before any Backup call; the
        // provider below then keeps the credentials fresh for long runs.
        let tried = aws_sdk_sts::Client::new(base)
            .assume_role()
            .role_arn(&arn)
            .role_session_name("dora-evidence-collect")
            .send()
            .await;
        if let Err(e) = tried {
            let e = capture::op_error("sts:AssumeRole", &e);
            return Err(OpError {
                message: format!(
                    "{arn}: {}: {}; the role must exist in account {account}, trust the caller, and the caller \
                     needs sts:AssumeRole on it",
                    e.code, e.message
                ),
                code: "AssumeRoleFailed".into(),
                ..e
            });
        }
        let provider = aws_config::sts::AssumeRoleProvider::builder(&arn)
            .session_name("dora-evidence-collect")
            .configure(base)
            .build()
            .await;
        Ok(base.to_builder().credentials_provider(SharedCredentialsProvider::new(provider)).build())
    }
}

/// An account with scopes in this run. Its configuration (the assumed role, with its own STS
/// client) is made when its first scope starts and dropped when its last one ends; scopes run
/// account by account, so about `--concurrency` accounts are entered at once. Entered up front,
/// every account cost about 19 KiB until the end of the run (BENCHMARKS.md, "Memory in scopes").
struct Account {
    id: String,
    /// Position in the run's account list: failures are reported in that order.
    index: usize,
    /// This shard's scopes of the account that have not ended.
    left: AtomicUsize,
    state: tokio::sync::Mutex<Entered>,
}

enum Entered {
    NotYet,
    In(Arc<SdkConfig>),
    /// Entering failed; the first scope to try reported it.
    Failed,
    /// Every scope ended.
    Done,
}

impl Account {
    fn new(id: &str, index: usize, scopes: usize) -> Self {
        let (left, state) = (AtomicUsize::new(scopes), tokio::sync::Mutex::new(Entered::NotYet));
        Account { id: id.to_owned(), index, left, state }
    }

    /// The configuration for a scope, made by `make` for the first: `Ok(None)` when entering
    /// failed for an earlier scope, `Err` when it fails now (the caller reports it, once for
    /// the account).
    async fn enter<F>(&self, make: impl FnOnce() -> F) -> Result<Option<Arc<SdkConfig>>, OpError>
    where
        F: std::future::Future<Output = Result<SdkConfig, OpError>>,
    {
        let mut state = self.state.lock().await;
        match &*state {
            Entered::In(cfg) => Ok(Some(Arc::clone(cfg))),
            Entered::Failed | Entered::Done => Ok(None),
            Entered::NotYet => match make().await {
                Ok(cfg) => {
                    let cfg = Arc::new(cfg);
                    *state = Entered::In(Arc::clone(&cfg));
                    Ok(Some(cfg))
                }
                Err(e) => {
                    *state = Entered::Failed;
                    Err(e)
                }
            },
        }
    }

    /// One of the account's scopes ended; after the last, its configuration is dropped.
    async fn leave(&self) {
        if self.left.fetch_sub(1, Ordering::AcqRel) == 1 {
            let mut state = self.state.lock().await;
            if matches!(*state, Entered::In(_)) {
                *state = Entered::Done;
            }
        }
    }
}

/// One account × Region of this shard.
struct ScopeTask {
    account: Arc<Account>,
    region: String,
}

/// The scopes to collect (this shard's, account by account) and the names of every scope of
/// the run, all shards together. With named Regions no account is entered here, and an account
/// none of whose scopes is this shard's is never entered; with `--regions all` every account is
/// entered once to ask for its Regions, and those it cannot be are recorded in the summary.
async fn scopes(
    opts: &CollectOptions,
    entry: &Entry<'_>,
    accounts: &[String],
    summary: &mut CollectSummary,
) -> (Vec<ScopeTask>, BTreeSet<(String, String)>) {
    let mine = |account: &str, region: &str| opts.shard.is_none_or(|s| s.holds(account, region));
    let named = match &opts.regions {
        Regions::Configured => Some(vec![entry.base.region().map(|r| r.to_string()).unwrap_or_default()]),
        Regions::List(list) => Some(list.clone()),
        Regions::All => None,
    };
    let (mut scopes, mut all) = (Vec::new(), BTreeSet::new());
    for (index, account) in accounts.iter().enumerate() {
        let regions = match &named {
            Some(list) => list.clone(),
            None => match account_regions(entry, account).await {
                Ok(r) => r,
                Err(error) => {
                    tracing::warn!("account {account}: {error}");
                    summary.unreached.push(ScopeFailure { account: account.clone(), region: None, error });
                    continue;
                }
            },
        };
        all.extend(regions.iter().map(|r| (account.clone(), r.clone())));
        let regions: Vec<String> = regions.into_iter().filter(|r| mine(account, r)).collect();
        if regions.is_empty() {
            continue;
        }
        let acc = Arc::new(Account::new(account, index, regions.len()));
        scopes.extend(regions.into_iter().map(|region| ScopeTask { account: Arc::clone(&acc), region }));
    }
    (scopes, all)
}

/// An account's enabled Regions, entering it for the question only.
async fn account_regions(entry: &Entry<'_>, account: &str) -> Result<Vec<String>, OpError> {
    enabled_regions(&entry.config(account).await?).await
}

/// Runs the scopes, `--concurrency` at a time; a progress bar on a terminal, a log line per
/// finished scope otherwise. Returns the scopes that ran and the accounts that could not be
/// entered (in account-list order).
async fn run_scopes(
    opts: &CollectOptions,
    store: &Store,
    entry: &Entry<'_>,
    scopes: Vec<ScopeTask>,
    collected: &BTreeSet<(String, String)>,
    org_jobs: bool,
) -> (Vec<ScopeSummary>, Vec<ScopeFailure>) {
    let bar = crate::progress::bar("collect {bar:40} {pos}/{len} account/Region scopes {eta}", scopes.len() as u64);
    let total = scopes.len();
    let ran: Vec<Ran> = futures_util::stream::iter(scopes)
        .map(|task| run_scope(opts, store, entry, task, collected, org_jobs))
        .buffer_unordered(opts.concurrency)
        .enumerate()
        .map(|(i, s)| {
            match (&bar, &s) {
                (Some(b), _) => b.inc(1),
                // Scheduled runs log a line per scope as it ends.
                (None, Ran::Scope(s)) => eprintln!(
                    "collect: [{}/{total}] {} {}: {} written, {} unchanged, {} failed",
                    i + 1,
                    s.account,
                    s.region,
                    s.written,
                    s.unchanged,
                    s.failures.len()
                ),
                (None, _) => {}
            }
            s
        })
        .collect()
        .await;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let (mut done, mut unreached) = (Vec::new(), Vec::new());
    for r in ran {
        match r {
            Ran::Scope(s) => done.push(s),
            Ran::Skipped => {}
            Ran::Unreached(index, f) => unreached.push((index, f)),
        }
    }
    unreached.sort_by_key(|(index, _)| *index);
    (done, unreached.into_iter().map(|(_, f)| f).collect())
}

/// How a scope's turn ended.
enum Ran {
    Scope(ScopeSummary),
    /// Its account could not be entered for an earlier scope.
    Skipped,
    /// Its account could not be entered (position in the account list, failure).
    Unreached(usize, ScopeFailure),
}

/// One scope: enters its account if no scope of it has yet, collects, and leaves.
async fn run_scope(
    opts: &CollectOptions,
    store: &Store,
    entry: &Entry<'_>,
    task: ScopeTask,
    collected: &BTreeSet<(String, String)>,
    org_jobs: bool,
) -> Ran {
    let account = &task.account;
    let entered = account.enter(|| entry.config(&account.id)).await;
    let result = match entered {
        Ok(Some(cfg)) => {
            let cfg = cfg.to_builder().region(aws_config::Region::new(task.region.clone())).build();
            let mut scope = scope::Scope::new(opts, store, cfg, &account.id, &task.region, collected);
            // ByAccountId="*" only where AWS documents it: ListBackupJobs, from the caller's own
            // account when it is the management account or a delegated administrator.
            scope.organization_jobs = org_jobs && account.id == entry.caller_account;
            Ran::Scope(scope.run().await)
        }
        Ok(None) => Ran::Skipped,
        Err(error) => {
            tracing::warn!("account {}: {error}", account.id);
            Ran::Unreached(account.index, ScopeFailure { account: account.id.clone(), region: None, error })
        }
    };
    account.leave().await;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `account.enter` with a maker that counts its calls and grants or refuses the role.
    fn enter(account: &Account, made: &AtomicUsize, grant: bool) -> Result<Option<Arc<SdkConfig>>, OpError> {
        let make = || async {
            made.fetch_add(1, Ordering::SeqCst);
            if grant {
                Ok(SdkConfig::builder().build())
            } else {
                Err(OpError::internal("sts:AssumeRole", "access denied"))
            }
        };
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(account.enter(make))
    }

    fn leave(account: &Account) {
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(account.leave());
    }

    #[test]
    fn an_account_is_entered_at_its_first_scope_and_left_after_its_last() {
        let account = Account::new("111111111111", 0, 3);
        let made = AtomicUsize::new(0);
        let first = enter(&account, &made, true).unwrap().unwrap();
        let second = enter(&account, &made, true).unwrap().unwrap();
        assert!(Arc::ptr_eq(&first, &second), "the account's scopes share one configuration");
        let held = Arc::downgrade(&first);
        drop((first, second));
        leave(&account);
        leave(&account);
        assert!(held.upgrade().is_some(), "kept while a scope is left");
        drop(enter(&account, &made, true).unwrap().unwrap());
        leave(&account);
        assert!(held.upgrade().is_none(), "dropped after the last scope");
        assert_eq!(made.load(Ordering::SeqCst), 1, "entered once");
    }

    #[test]
    fn an_account_that_cannot_be_entered_is_reported_once() {
        let account = Account::new("222222222222", 5, 3);
        let tries = AtomicUsize::new(0);
        assert_eq!(enter(&account, &tries, false).unwrap_err().message, "access denied");
        leave(&account);
        for _ in 0..2 {
            assert!(enter(&account, &tries, false).unwrap().is_none(), "later scopes are skipped, not reported");
            leave(&account);
        }
        assert_eq!(tries.load(Ordering::SeqCst), 1, "the role is not tried again");
    }
}
