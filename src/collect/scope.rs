//! One account × Region: the operations, in the order their results feed each other
//! (vault names before vault descriptions, plan names before selections, vault
//! notifications, alarm actions and EventBridge targets before the SNS subscriptions of the
//! topics they name, …), and the rules that keep re-runs from adding copies.
//!
//! - State listings (vaults, recovery points, legal holds, plans, alarms, tags, …) are written
//!   when they differ from the newest stored snapshot of the same file.
//! - Job listings (backup, copy, restore, report jobs) ask for what was created or completed
//!   since the last snapshot minus an overlap (or `--since`), and keep only the jobs that are
//!   not already stored byte for byte. Malware scan jobs can only be filtered by completion:
//!   a scan still running is listed once it has ended. Restore jobs reach back at least 8 days: a restore
//!   test's validation can end up to 168 h after the restore completed.
//! - A job stored in a non-final state (RUNNING, a restore test still VALIDATING, …) that
//!   the listings no longer return — a job created before the window that ends without a
//!   completion date matches neither filter — is re-read with Describe*Job every run until
//!   it is final or 30 days old (`describe-backup-job-<id>.json`, …).
//! - The APIs keep about 30 days of job history: when the newest snapshot of a scope is older
//!   than 29 days, the scope is collected as far as the APIs still reach, a
//!   `collection-gap.json` names the window that is lost, and the run ends non-zero.
//! - Job listings run first, and a failed listing does not stop the next one; only an
//!   endpoint that cannot be connected to at all ends the scope's remaining Backup calls.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use aws_config::SdkConfig;
use aws_smithy_types::DateTime;
use serde_json::Value;

use super::capture::{Capture, FailureKind, OpError, client, one, pages, token_pages};
use super::store::{Store, Stored, Written};
use super::{CollectOptions, Service};
use crate::time::Timestamp;

/// What happened in one scope.
#[derive(Debug, Clone, Default)]
pub struct ScopeSummary {
    /// The account.
    pub account: String,
    /// The Region.
    pub region: String,
    /// Snapshot files written (each is logged with its path or URL; only the count is kept,
    /// so a run's memory does not grow with what it writes).
    pub written: usize,
    /// Operations whose result was already stored.
    pub unchanged: usize,
    /// Failed operations.
    pub failures: Vec<OpError>,
    /// Things worth knowing that are not failures (a service not in use here, …).
    pub notes: Vec<String>,
}

pub(crate) struct Scope<'a> {
    pub opts: &'a CollectOptions,
    pub store: &'a Store,
    pub cfg: SdkConfig,
    pub summary: ScopeSummary,
    /// The snapshot folder name (scope start, RFC 3339 UTC, seconds).
    ts: String,
    stored: Vec<Stored>,
    /// The Backup endpoint could not be connected to: skip its remaining calls.
    backup_down: bool,
    /// ListBackupJobs with `ByAccountId="*"` (the caller's own scope, when it may).
    pub organization_jobs: bool,
    /// Every account × Region of this run (copy destinations outside them are noted).
    collected: &'a BTreeSet<(String, String)>,
    /// SNS topics the alert paths name (vault notifications, alarm actions, EventBridge
    /// targets), whose subscriptions are read last.
    topics: BTreeSet<String>,
}

const DAY_MS: i64 = 86_400_000;

/// How long the job APIs keep history (AWS Backup: about 30 days).
const HISTORY_DAYS: i64 = 30;

/// A scope whose newest snapshot is older than this may have lost jobs for good.
const GAP_DAYS: i64 = 29;

/// How far back restore-job listings reach: the longest validation window (168 h) + a day.
const RESTORE_VALIDATION_HOURS: u32 = 192;

fn json_bytes(doc: &Value) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(doc).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// A file-name-safe form of an AWS name (vault, plan, legal hold id, …).
fn safe(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' }).collect()
}

/// The `field` of every item of the list `list` in `doc` (names to describe next).
fn strings(doc: &Value, list: &str, field: &str) -> Vec<String> {
    doc.get(list)
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(|i| i.get(field).and_then(Value::as_str).map(str::to_owned)).collect())
        .unwrap_or_default()
}

/// The error code of a Backup resource that does not exist (a vault without notifications
/// or access policy).
const NOT_FOUND: &str = "ResourceNotFoundException";

/// An SNS topic ARN (an alarm action or rule target may also be an automation or Lambda).
fn is_topic(arn: &str) -> bool {
    arn.starts_with("arn:") && arn.split(':').nth(2) == Some("sns")
}

/// A subscription in the AWS CLI's shape, its endpoint masked
/// ([`mask_endpoint`](crate::evidence::alerts::mask_endpoint)).
fn subscription_json(s: &aws_sdk_sns::types::Subscription) -> Value {
    let mut item = serde_json::Map::new();
    for (key, value) in [
        ("SubscriptionArn", s.subscription_arn()),
        ("Owner", s.owner()),
        ("Protocol", s.protocol()),
        ("Endpoint", s.endpoint().map(crate::evidence::alerts::mask_endpoint).as_deref()),
        ("TopicArn", s.topic_arn()),
    ] {
        if let Some(v) = value {
            item.insert(key.to_owned(), Value::String(v.to_owned()));
        }
    }
    Value::Object(item)
}

/// SHA-256 of an item's compact JSON: what "already stored byte for byte" compares.
fn digest(item: &Value) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(item.to_string().as_bytes()).into()
}

/// A failure of the snapshot store itself (not of an AWS call).
fn store_error(code: &str, message: String) -> OpError {
    OpError { action: "store", kind: FailureKind::Other, code: code.into(), message }
}

/// A listing written as a state snapshot, then one `get`/`describe` per item it names
/// (`<prefix>-<name>.json`); Backup failures as in [`Scope::backup_fail`]. Evaluates to the
/// names the listing gave (none when it failed).
macro_rules! list_and_get {
    ($self:ident, $list:expr, $file:expr, ($key:literal, $field:literal), |$n:ident| $get:expr, $prefix:expr) => {
        match $list {
            Ok(doc) => {
                let names: Vec<String> = strings(&doc, $key, $field);
                $self.state($file, doc).await;
                for $n in &names {
                    if $self.backup_down {
                        break;
                    }
                    match $get {
                        Ok(doc) => $self.state(&format!("{}-{}.json", $prefix, safe($n)), doc).await,
                        Err(e) => $self.backup_fail(e),
                    }
                }
                names
            }
            Err(e) => {
                $self.backup_fail(e);
                Vec::new()
            }
        }
    };
}

/// Plans and their selections (restore-testing plans, backup plans): the plan listing
/// (`<list>.json`) and one `get` per plan (`<get>-<plan>.json`), then per plan its selection
/// listing (`<list>-<plan>.json`) and one `get` per selection (`<get>-<plan>-<selection>.json`).
macro_rules! plans_and_selections {
    (
        $self:ident,
        plans: ($list:expr, $file:literal, ($key:literal, $field:literal), |$p:ident| $get:expr, $prefix:literal),
        selections: (
            |$pp:ident| $slist:expr,
            $sfile:literal,
            ($skey:literal, $sfield:literal),
            |$ps:ident, $s:ident| $sget:expr,
            $sprefix:literal
        )
    ) => {
        let plans = list_and_get!($self, $list, concat!($file, ".json"), ($key, $field), |$p| $get, $prefix);
        for $pp in &plans {
            if $self.backup_down {
                break;
            }
            let $ps = $pp;
            list_and_get!(
                $self,
                $slist,
                &format!("{}-{}.json", $sfile, safe($pp)),
                ($skey, $sfield),
                |$s| $sget,
                format!("{}-{}", $sprefix, safe($pp))
            );
        }
    };
}

fn dt(t: Timestamp) -> DateTime {
    DateTime::from_millis(t.millis())
}

/// A string member of a JSON object.
fn str_of<'v>(item: &'v Value, key: &str) -> Option<&'v str> {
    item.get(key).and_then(Value::as_str)
}

/// A time member as AWS sends it (epoch seconds) or as the CLI may print it (RFC 3339).
fn time_of(item: &Value, key: &str) -> Option<Timestamp> {
    match item.get(key)? {
        Value::Number(n) => n.as_f64().and_then(Timestamp::from_epoch),
        Value::String(s) => Timestamp::parse(s).ok(),
        _ => None,
    }
}

/// The three job listings, and how each job is re-read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Backup = 0,
    Copy = 1,
    Restore = 2,
}

/// How a job listing and its re-reads are named (the AWS CLI's commands and members).
struct Names {
    /// `list-backup-jobs.json`, …
    file: &'static str,
    /// `BackupJobs`, …
    list: &'static str,
    /// `BackupJobId`, …
    id: &'static str,
    /// `describe-backup-job-` (then `<id>.json`), …
    re_read: &'static str,
}

/// [`Names`] in the order of [`Kind`]'s variants.
const NAMES: [Names; 3] = [
    Names { file: "list-backup-jobs.json", list: "BackupJobs", id: "BackupJobId", re_read: "describe-backup-job-" },
    Names { file: "list-copy-jobs.json", list: "CopyJobs", id: "CopyJobId", re_read: "describe-copy-job-" },
    Names { file: "list-restore-jobs.json", list: "RestoreJobs", id: "RestoreJobId", re_read: "describe-restore-job-" },
];

impl Kind {
    const ALL: [Kind; 3] = [Kind::Backup, Kind::Copy, Kind::Restore];

    /// The listing's file, list member and id member, and the Describe*Job files' prefix.
    fn names(self) -> &'static Names {
        &NAMES[self as usize]
    }

    /// The job object of a stored document: a listing item, or a Describe*Job answer
    /// (DescribeCopyJob wraps it in `CopyJob`).
    fn job_of(self, doc: &Value) -> &Value {
        match (self, doc.get("CopyJob")) {
            (Kind::Copy, Some(inner)) => inner,
            _ => doc,
        }
    }

    /// Whether the job may still change: not in a final state, or a restore test whose
    /// validation or clean-up is still running.
    fn pending(self, job: &Value) -> bool {
        let state = |k: &str| str_of(job, k).unwrap_or("");
        match self {
            Kind::Backup | Kind::Copy => {
                !state("State").is_empty()
                    && !matches!(state("State"), "COMPLETED" | "FAILED" | "ABORTED" | "EXPIRED" | "PARTIAL")
            }
            Kind::Restore => {
                (!state("Status").is_empty() && !matches!(state("Status"), "COMPLETED" | "ABORTED" | "FAILED"))
                    || state("ValidationStatus") == "VALIDATING"
                    || state("DeletionStatus") == "DELETING"
            }
        }
    }
}

impl<'a> Scope<'a> {
    /// This scope's retry partition (`account/region`; see `capture::client!`).
    fn partition(&self) -> String {
        format!("{}/{}", self.summary.account, self.summary.region)
    }

    pub(crate) fn new(
        opts: &'a CollectOptions,
        store: &'a Store,
        cfg: SdkConfig,
        account: &str,
        region: &str,
        collected: &'a BTreeSet<(String, String)>,
    ) -> Self {
        let now = opts.run_time;
        let ts = Timestamp(now.millis() - now.millis().rem_euclid(1000)).to_rfc3339();
        Scope {
            opts,
            store,
            cfg,
            summary: ScopeSummary { account: account.to_owned(), region: region.to_owned(), ..Default::default() },
            ts,
            stored: Vec::new(),
            backup_down: false,
            organization_jobs: false,
            collected,
            topics: BTreeSet::new(),
        }
    }

    fn fail(&mut self, e: OpError) {
        tracing::warn!(account = %self.summary.account, region = %self.summary.region, "{e}");
        self.summary.failures.push(e);
    }

    /// Records a failed Backup call. Only an endpoint that cannot be connected to stops the
    /// remaining Backup calls; a call that timed out (a huge listing) stops nothing else.
    fn backup_fail(&mut self, e: OpError) {
        if e.kind == FailureKind::Unreachable && e.code == "DispatchFailure" {
            self.backup_down = true;
        }
        self.fail(e);
    }

    async fn write(&mut self, name: &str, doc: &Value) {
        let bytes = json_bytes(doc);
        let (account, region) = (self.summary.account.clone(), self.summary.region.clone());
        match self.store.create(&account, &region, &self.ts, name, &bytes).await {
            Ok(Written::New(at)) => {
                tracing::info!("wrote {at}");
                self.summary.written += 1;
            }
            Ok(Written::Same(_)) => self.summary.unchanged += 1,
            Err(message) => self.fail(store_error("WriteFailed", message)),
        }
    }

    /// Writes a state document unless the newest stored one of that name is the same.
    async fn state(&mut self, name: &str, doc: Value) {
        let newest = self.stored.iter().filter(|s| s.name == name).max_by_key(|s| s.ts).map(|s| s.key.clone());
        if let Some(key) = newest {
            match self.store.read(&key).await {
                Ok(bytes) if serde_json::from_slice::<Value>(&bytes).ok().as_ref() == Some(&doc) => {
                    self.summary.unchanged += 1;
                    return;
                }
                Ok(_) => {}
                Err(message) => {
                    return self.fail(store_error("ReadFailed", message));
                }
            }
        }
        self.write(name, &doc).await;
    }

    /// The time job listings start from for `name`: `--since`, else the newest stored
    /// snapshot of it minus the overlap, else nothing (everything the API still holds).
    fn since(&self, name: &str) -> Option<Timestamp> {
        self.since_at_least(name, 0)
    }

    /// [`Self::since`] reaching back at least `min_hours` before the last snapshot.
    fn since_at_least(&self, name: &str, min_hours: u32) -> Option<Timestamp> {
        if let Some(s) = self.opts.since {
            return Some(s);
        }
        let newest = self.stored.iter().filter(|s| s.name == name).map(|s| s.ts).max()?;
        let hours = i64::from(self.opts.overlap_hours.max(min_hours));
        Some(Timestamp(newest.millis() - hours * 3_600_000))
    }

    /// Writes the jobs of `items` (from `list` of a listing named `name`) not already stored.
    async fn delta(&mut self, name: &str, list: &str, id: &str, items: Vec<Value>, since: Option<Timestamp>) {
        let mut seen = HashSet::new();
        let floor = since.map(|s| s.millis() - DAY_MS);
        let keys: Vec<String> = self
            .stored
            .iter()
            .filter(|s| s.name == name && floor.is_none_or(|f| s.ts.millis() >= f))
            .map(|s| s.key.clone())
            .collect();
        for key in keys {
            match self.store.read(&key).await {
                Ok(bytes) => {
                    if let Ok(doc) = serde_json::from_slice::<Value>(&bytes)
                        && let Some(Value::Array(old)) = doc.get(list)
                    {
                        seen.extend(old.iter().map(digest));
                    }
                }
                Err(message) => {
                    return self.fail(store_error("ReadFailed", message));
                }
            }
        }
        let mut fresh: Vec<Value> = Vec::new();
        let mut ids = HashSet::new();
        for item in items {
            let key = item.get(id).and_then(Value::as_str).map(str::to_owned).unwrap_or_else(|| item.to_string());
            if ids.insert(key) && !seen.contains(&digest(&item)) {
                fresh.push(item);
            }
        }
        // An empty listing is written the first time and then at most once a day: the call
        // was made and found nothing new (what the history-gap check reads).
        let newest = self.stored.iter().filter(|s| s.name == name).map(|s| s.ts).max();
        let due = newest.is_none_or(|t| self.opts.run_time.millis() - t.millis() >= DAY_MS);
        if fresh.is_empty() && !due {
            self.summary.unchanged += 1;
            return;
        }
        fresh.sort_by(|a, b| {
            let k = |v: &Value| v.get(id).and_then(Value::as_str).map(str::to_owned).unwrap_or_default();
            k(a).cmp(&k(b))
        });
        let mut doc = serde_json::Map::new();
        doc.insert(list.to_owned(), Value::Array(fresh));
        self.write(name, &Value::Object(doc)).await;
    }

    /// Runs every operation of the scope; failures are recorded and the next one runs.
    pub(crate) async fn run(mut self) -> ScopeSummary {
        match self.store.list(&self.summary.account, &self.summary.region).await {
            Ok(s) => self.stored = s,
            Err(message) => {
                self.fail(store_error("ListFailed", message));
                return self.summary;
            }
        }
        if self.opts.wants(Service::Backup) {
            self.check_gap().await;
            self.backup().await;
        }
        if self.opts.wants(Service::Alarms) {
            self.alarms().await;
            self.alert_paths().await;
        }
        if self.opts.wants(Service::Tags) {
            self.tags().await;
        }
        if self.opts.wants(Service::AuditManager) {
            self.audit_manager().await;
        }
        self.summary
    }

    /// The APIs keep about 30 days of job history: a job listing whose newest snapshot is
    /// older than 29 days may have missed jobs for good. Written down in the store
    /// (`collection-gap.json`, read by `build`) and reported as a failure.
    async fn check_gap(&mut self) {
        let now = self.opts.run_time;
        let mut stale: Vec<(Timestamp, &'static str)> = Kind::ALL
            .iter()
            .filter_map(|k| {
                self.stored.iter().filter(|s| s.name == k.names().file).map(|s| s.ts).max().map(|t| (t, k.names().file))
            })
            .filter(|(t, _)| now.millis() - t.millis() > GAP_DAYS * DAY_MS)
            .collect();
        stale.sort();
        let Some(&(from, _)) = stale.first() else { return };
        let horizon = Timestamp(now.millis() - HISTORY_DAYS * DAY_MS);
        let to = if horizon > from { horizon } else { from };
        let listings: Vec<&str> = stale.iter().map(|(_, f)| *f).collect();
        let doc = serde_json::json!({
            "CollectionGap": {
                "AccountId": self.summary.account,
                "Region": self.summary.region,
                "LostFrom": from.to_rfc3339(),
                "LostTo": to.to_rfc3339(),
                "DetectedAt": self.ts,
                "HistoryDays": HISTORY_DAYS,
                "Listings": listings,
            }
        });
        self.write("collection-gap.json", &doc).await;
        let days = (now.millis() - from.millis()) / DAY_MS;
        self.fail(OpError {
            action: "collect",
            kind: FailureKind::Other,
            code: "HistoryGap".into(),
            message: format!(
                "the newest job listing ({}) is from {} ({days} days ago) and AWS keeps about {HISTORY_DAYS} days of \
                 job history: jobs created or completed between {} and {} may be lost for good. What the APIs \
                 still hold was collected; packages built over this store name the gap on their cover",
                listings.join(", "),
                from.to_rfc3339(),
                from.to_rfc3339(),
                to.to_rfc3339()
            ),
        });
    }

    /// Notes copy jobs whose destination account/Region this run does not collect.
    fn note_outside_copies(&mut self, items: &[Value]) {
        let mut outside: BTreeMap<(String, String), usize> = BTreeMap::new();
        for item in items {
            // arn:aws:backup:<region>:<account>:backup-vault:<name>
            let Some(arn) = str_of(item, "DestinationBackupVaultArn") else { continue };
            let parts: Vec<&str> = arn.split(':').collect();
            if parts.len() < 6 {
                continue;
            }
            let scope = (parts[4].to_owned(), parts[3].to_owned());
            if !self.collected.contains(&scope) {
                *outside.entry(scope).or_default() += 1;
            }
        }
        for ((account, region), n) in outside {
            let note = format!(
                "{n} copy job(s) copy to account {account} Region {region}, which this run does not collect: \
                 the copies there are not evidenced (add the account/Region to the collection)"
            );
            tracing::warn!(account = %self.summary.account, region = %self.summary.region, "{note}");
            self.summary.notes.push(note);
        }
    }

    /// The jobs of `kind` whose latest state in the store (listings and re-reads of the last
    /// 31 days, oldest first) is not final, by id. `None` when the store cannot be read.
    async fn stored_pending(&mut self, kind: Kind) -> Option<BTreeMap<String, Value>> {
        let now = self.opts.run_time.millis();
        let mut files: Vec<(Timestamp, String)> = self
            .stored
            .iter()
            .filter(|s| now - s.ts.millis() <= (HISTORY_DAYS + 1) * DAY_MS)
            .filter(|s| s.name == kind.names().file || s.name.starts_with(kind.names().re_read))
            .map(|s| (s.ts, s.key.clone()))
            .collect();
        files.sort();
        // Latest stored state per job, kept only while it is non-final.
        let mut pending: BTreeMap<String, Value> = BTreeMap::new();
        for (_, key) in files {
            let bytes = match self.store.read(&key).await {
                Ok(b) => b,
                Err(message) => {
                    self.fail(store_error("ReadFailed", message));
                    return None;
                }
            };
            let Ok(doc) = serde_json::from_slice::<Value>(&bytes) else { continue };
            let jobs: Vec<&Value> = match doc.get(kind.names().list) {
                Some(Value::Array(items)) => items.iter().collect(),
                _ => vec![kind.job_of(&doc)],
            };
            for job in jobs {
                let Some(id) = str_of(job, kind.names().id) else { continue };
                if kind.pending(job) {
                    pending.insert(id.to_owned(), job.clone());
                } else {
                    pending.remove(id);
                }
            }
        }
        Some(pending)
    }

    /// Re-reads every job last stored in a non-final state that this run's listing did not
    /// return (`listed`), until it is final or older than the APIs' history.
    async fn reread_pending(
        &mut self,
        c: &aws_sdk_backup::Client,
        cap: &Capture,
        kind: Kind,
        listed: &HashSet<String>,
    ) {
        let Some(pending) = self.stored_pending(kind).await else { return };
        let now = self.opts.run_time.millis();
        for (id, job) in pending {
            if listed.contains(&id) || self.backup_down {
                continue;
            }
            if time_of(&job, "CreationDate").is_some_and(|t| now - t.millis() > HISTORY_DAYS * DAY_MS) {
                continue;
            }
            let answer = match kind {
                Kind::Backup => one!(cap, "backup:DescribeBackupJob", c.describe_backup_job().backup_job_id(&id)),
                Kind::Copy => one!(cap, "backup:DescribeCopyJob", c.describe_copy_job().copy_job_id(&id)),
                Kind::Restore => one!(cap, "backup:DescribeRestoreJob", c.describe_restore_job().restore_job_id(&id)),
            };
            match answer {
                Ok(doc) => self.state(&format!("{}{}.json", kind.names().re_read, safe(&id)), doc).await,
                Err(e) if e.code == "ResourceNotFoundException" => self.summary.notes.push(format!(
                    "{} {id} was last stored in a non-final state and AWS Backup no longer knows it: its final \
                     state is not in the evidence",
                    kind.names().list.trim_end_matches('s')
                )),
                Err(e) => self.backup_fail(e),
            }
        }
    }

    async fn backup(&mut self) {
        let cap = Capture::default();
        let c = client!(aws_sdk_backup, &self.cfg, cap, self.partition());

        // Jobs first: they are what ages out of the APIs.
        self.jobs(&c, &cap).await;
        self.scan_jobs(&c, &cap).await;
        self.vaults(&c, &cap).await;
        self.protected_resources(&c, &cap).await;
        self.legal_holds(&c, &cap).await;
        self.restore_testing(&c, &cap).await;
        self.backup_plans(&c, &cap).await;
        self.reports(&c, &cap).await;
    }

    /// Job listings, then the re-reads of jobs stored in a non-final state.
    async fn jobs(&mut self, c: &aws_sdk_backup::Client, cap: &Capture) {
        if self.backup_down {
            return;
        }
        // Jobs first: the evidence that ages out of the APIs. Created or completed since the
        // last snapshot; ByAccountId="*" only for backup jobs, and only where AWS documents it.
        macro_rules! jobs {
            ($name:literal, $list:literal, $action:literal, $op:ident, $min_hours:expr, $org:expr) => {{
                let since = self.since_at_least($name, $min_hours);
                let account = $org.then_some("*");
                let mut items = Vec::new();
                let mut failed = None;
                let windows: Vec<(Option<DateTime>, Option<DateTime>)> = match since {
                    None => vec![(None, None)],
                    Some(s) => vec![(Some(dt(s)), None), (None, Some(dt(s)))],
                };
                for (created, completed) in windows {
                    if self.backup_down {
                        break;
                    }
                    let r = pages!(
                        cap,
                        $action,
                        c.$op()
                            .set_by_created_after(created)
                            .set_by_complete_after(completed)
                            .set_by_account_id(account.map(str::to_owned))
                            .max_results(1000)
                    );
                    match r {
                        Ok(mut doc) => {
                            if let Some(Value::Array(list)) = doc.get_mut($list) {
                                items.append(list);
                            }
                        }
                        Err(e) => {
                            failed = Some(e);
                            break;
                        }
                    }
                }
                match failed {
                    Some(e) => {
                        self.backup_fail(e);
                        None
                    }
                    None if self.backup_down => None,
                    None => Some((items, since)),
                }
            }};
        }
        let org = self.organization_jobs;
        let backup_jobs =
            jobs!("list-backup-jobs.json", "BackupJobs", "backup:ListBackupJobs", list_backup_jobs, 0, org);
        let copy_jobs = jobs!("list-copy-jobs.json", "CopyJobs", "backup:ListCopyJobs", list_copy_jobs, 0, false);
        // A restore test's validation may finish up to 168 h (ValidationWindowHours) after
        // the restore completed: look back far enough to see its final status.
        let restore_jobs = jobs!(
            "list-restore-jobs.json",
            "RestoreJobs",
            "backup:ListRestoreJobs",
            list_restore_jobs,
            RESTORE_VALIDATION_HOURS,
            false
        );
        for (kind, listed) in Kind::ALL.into_iter().zip([backup_jobs, copy_jobs, restore_jobs]) {
            let Some((items, since)) = listed else { continue };
            if kind == Kind::Copy {
                self.note_outside_copies(&items);
            }
            let seen: HashSet<String> =
                items.iter().filter_map(|i| str_of(i, kind.names().id)).map(str::to_owned).collect();
            self.delta(kind.names().file, kind.names().list, kind.names().id, items, since).await;
            self.reread_pending(c, cap, kind, &seen).await;
        }
    }

    /// Malware scans of recovery points (`list-scan-jobs.json`): those completed since the last
    /// snapshot minus the overlap (or `--since`; the first time, all the API still holds),
    /// stored like the other job listings.
    async fn scan_jobs(&mut self, c: &aws_sdk_backup::Client, cap: &Capture) {
        const FILE: &str = "list-scan-jobs.json";
        if self.backup_down {
            return;
        }
        let since = self.since(FILE);
        let listed = pages!(
            cap,
            "backup:ListScanJobs",
            c.list_scan_jobs().set_by_complete_after(since.map(dt)).max_results(1000)
        );
        match listed {
            Ok(mut doc) => {
                let items = match doc.get_mut("ScanJobs") {
                    Some(Value::Array(list)) => std::mem::take(list),
                    _ => Vec::new(),
                };
                self.delta(FILE, "ScanJobs", "ScanJobId", items, since).await;
            }
            Err(e) => self.backup_fail(e),
        }
    }

    /// Vaults, their lock state, and what is in them.
    async fn vaults(&mut self, c: &aws_sdk_backup::Client, cap: &Capture) {
        if self.backup_down {
            return;
        }
        // Vaults, their lock state, and what is in them.
        let all = c.list_backup_vaults().max_results(1000);
        let mut names = self.list_vaults(cap, "list-backup-vaults.json", all).await;
        // Logically air-gapped vaults, listed on their own: the API reference documents
        // `ByVaultType` but not whether an unfiltered ListBackupVaults includes them, so they
        // are asked for by type and stored apart, which evidences their `VaultType` either way.
        let air_gapped = aws_sdk_backup::types::VaultType::LogicallyAirGappedBackupVault;
        let lag = c.list_backup_vaults().by_vault_type(air_gapped).max_results(1000);
        for name in self.list_vaults(cap, "list-backup-vaults-logically-air-gapped.json", lag).await {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        for vault in &names {
            if self.backup_down {
                return;
            }
            match one!(cap, "backup:DescribeBackupVault", c.describe_backup_vault().backup_vault_name(vault)) {
                Ok(doc) => self.state(&format!("describe-backup-vault-{}.json", safe(vault)), doc).await,
                Err(e) => self.backup_fail(e),
            }
            if self.opts.wants(Service::RecoveryPoints) {
                let r = pages!(
                    cap,
                    "backup:ListRecoveryPointsByBackupVault",
                    c.list_recovery_points_by_backup_vault().backup_vault_name(vault).max_results(1000)
                );
                match r {
                    Ok(doc) => {
                        self.state(&format!("list-recovery-points-by-backup-vault-{}.json", safe(vault)), doc).await
                    }
                    Err(e) => self.backup_fail(e),
                }
            }
        }
        self.vault_protection(c, cap, &names).await;
    }

    /// Every page of a ListBackupVaults `request`, stored as `file`; the vault names.
    async fn list_vaults(
        &mut self,
        cap: &Capture,
        file: &str,
        request: aws_sdk_backup::operation::list_backup_vaults::builders::ListBackupVaultsFluentBuilder,
    ) -> Vec<String> {
        match pages!(cap, "backup:ListBackupVaults", request) {
            Ok(doc) => {
                let names = strings(&doc, "BackupVaultList", "BackupVaultName");
                self.state(file, doc).await;
                names
            }
            Err(e) => {
                self.backup_fail(e);
                Vec::new()
            }
        }
    }

    /// The resources AWS Backup has backed up, each with its latest backup and vault
    /// (`list-protected-resources.json`, the CLI's `{"Results": [...]}`).
    async fn protected_resources(&mut self, c: &aws_sdk_backup::Client, cap: &Capture) {
        if self.backup_down {
            return;
        }
        match pages!(cap, "backup:ListProtectedResources", c.list_protected_resources().max_results(1000)) {
            Ok(doc) => self.state("list-protected-resources.json", doc).await,
            Err(e) => self.backup_fail(e),
        }
    }

    /// Each vault's notifications (their SNS topic joins the alert paths) and access policy.
    /// A vault without either answers `ResourceNotFoundException`: nothing is stored and one
    /// note names those vaults.
    async fn vault_protection(&mut self, c: &aws_sdk_backup::Client, cap: &Capture, names: &[String]) {
        let (mut silent, mut open) = (Vec::new(), Vec::new());
        for vault in names {
            if self.backup_down {
                return;
            }
            let r = one!(
                cap,
                "backup:GetBackupVaultNotifications",
                c.get_backup_vault_notifications().backup_vault_name(vault)
            );
            match r {
                Ok(doc) => {
                    self.topics.extend(str_of(&doc, "SNSTopicArn").map(str::to_owned));
                    self.state(&format!("get-backup-vault-notifications-{}.json", safe(vault)), doc).await;
                }
                Err(e) if e.code == NOT_FOUND => silent.push(vault.as_str()),
                Err(e) => self.backup_fail(e),
            }
            let r = one!(
                cap,
                "backup:GetBackupVaultAccessPolicy",
                c.get_backup_vault_access_policy().backup_vault_name(vault)
            );
            match r {
                Ok(doc) => self.state(&format!("get-backup-vault-access-policy-{}.json", safe(vault)), doc).await,
                Err(e) if e.code == NOT_FOUND => open.push(vault.as_str()),
                Err(e) => self.backup_fail(e),
            }
        }
        for (vaults, what) in [(silent, "no notifications"), (open, "no access policy")] {
            if !vaults.is_empty() {
                self.summary.notes.push(format!("{} vault(s) with {what}: {}", vaults.len(), vaults.join(", ")));
            }
        }
    }

    /// Legal holds and each hold's details.
    async fn legal_holds(&mut self, c: &aws_sdk_backup::Client, cap: &Capture) {
        if self.backup_down {
            return;
        }
        // Legal holds.
        list_and_get!(
            self,
            pages!(cap, "backup:ListLegalHolds", c.list_legal_holds()),
            "list-legal-holds.json",
            ("LegalHolds", "LegalHoldId"),
            |id| one!(cap, "backup:GetLegalHold", c.get_legal_hold().legal_hold_id(id)),
            "get-legal-hold"
        );
    }

    /// Restore-testing plans and their selections.
    async fn restore_testing(&mut self, c: &aws_sdk_backup::Client, cap: &Capture) {
        if self.backup_down {
            return;
        }
        plans_and_selections!(
            self,
            plans: (
                pages!(cap, "backup:ListRestoreTestingPlans", c.list_restore_testing_plans()),
                "list-restore-testing-plans",
                ("RestoreTestingPlans", "RestoreTestingPlanName"),
                |p| one!(cap, "backup:GetRestoreTestingPlan", c.get_restore_testing_plan().restore_testing_plan_name(p)),
                "get-restore-testing-plan"
            ),
            selections: (
                |p| pages!(
                    cap,
                    "backup:ListRestoreTestingSelections",
                    c.list_restore_testing_selections().restore_testing_plan_name(p)
                ),
                "list-restore-testing-selections",
                ("RestoreTestingSelections", "RestoreTestingSelectionName"),
                |p, s| one!(
                    cap,
                    "backup:GetRestoreTestingSelection",
                    c.get_restore_testing_selection().restore_testing_plan_name(p).restore_testing_selection_name(s)
                ),
                "get-restore-testing-selection"
            )
        );
    }

    /// Backup plans (the rules of each plan's current version) and the selections that say
    /// what each plan protects, by plan id and selection id.
    async fn backup_plans(&mut self, c: &aws_sdk_backup::Client, cap: &Capture) {
        if self.backup_down {
            return;
        }
        plans_and_selections!(
            self,
            plans: (
                pages!(cap, "backup:ListBackupPlans", c.list_backup_plans()),
                "list-backup-plans",
                ("BackupPlansList", "BackupPlanId"),
                |p| one!(cap, "backup:GetBackupPlan", c.get_backup_plan().backup_plan_id(p)),
                "get-backup-plan"
            ),
            selections: (
                |p| pages!(cap, "backup:ListBackupSelections", c.list_backup_selections().backup_plan_id(p)),
                "list-backup-selections",
                ("BackupSelectionsList", "SelectionId"),
                |p, s| one!(cap, "backup:GetBackupSelection", c.get_backup_selection().backup_plan_id(p).selection_id(s)),
                "get-backup-selection"
            )
        );
    }

    /// Backup Audit Manager: report plans, report jobs (with their S3 keys), frameworks.
    async fn reports(&mut self, c: &aws_sdk_backup::Client, cap: &Capture) {
        if self.backup_down {
            return;
        }
        // Backup Audit Manager: report plans, recent report jobs (with their S3 keys), frameworks.
        match pages!(cap, "backup:ListReportPlans", c.list_report_plans()) {
            Ok(doc) => self.state("list-report-plans.json", doc).await,
            Err(e) => self.backup_fail(e),
        }
        let since = self.since("list-report-jobs.json");
        let jobs = pages!(cap, "backup:ListReportJobs", c.list_report_jobs().set_by_creation_after(since.map(dt)));
        match jobs {
            Ok(mut doc) => {
                let mut items = match doc.get_mut("ReportJobs") {
                    Some(Value::Array(list)) => std::mem::take(list),
                    _ => Vec::new(),
                };
                for item in &mut items {
                    let has_keys = item
                        .pointer("/ReportDestination/S3Keys")
                        .and_then(Value::as_array)
                        .is_some_and(|k| !k.is_empty());
                    let id = item.get("ReportJobId").and_then(Value::as_str).map(str::to_owned);
                    let done = item.get("Status").and_then(Value::as_str) == Some("COMPLETED");
                    if let (false, true, Some(id)) = (has_keys, done, id) {
                        match one!(cap, "backup:DescribeReportJob", c.describe_report_job().report_job_id(&id)) {
                            Ok(described) => {
                                if let Some(job) = described.get("ReportJob") {
                                    *item = job.clone();
                                }
                            }
                            Err(e) => self.backup_fail(e),
                        }
                    }
                }
                self.delta("list-report-jobs.json", "ReportJobs", "ReportJobId", items, since).await;
            }
            Err(e) => self.backup_fail(e),
        }
        list_and_get!(
            self,
            pages!(cap, "backup:ListFrameworks", c.list_frameworks()),
            "list-frameworks.json",
            ("Frameworks", "FrameworkName"),
            |name| one!(cap, "backup:DescribeFramework", c.describe_framework().framework_name(name)),
            "describe-framework"
        );
    }

    /// CloudWatch alarms on `AWS/Backup`: metric alarms on a Backup metric (directly, in
    /// metric math, or in a Metrics Insights query), and the composite alarms whose rule
    /// names one of them (directly or through another composite alarm).
    async fn alarms(&mut self) {
        use aws_sdk_cloudwatch::types::AlarmType;
        let c = client!(aws_sdk_cloudwatch, &self.cfg, self.partition());
        let mut metric = Vec::new();
        let mut composite = Vec::new();
        let mut pages = c
            .describe_alarms()
            .alarm_types(AlarmType::MetricAlarm)
            .alarm_types(AlarmType::CompositeAlarm)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            match page {
                Ok(out) => {
                    metric.extend(out.metric_alarms().iter().filter(|a| super::alarm::on_backup(a)).cloned());
                    composite.extend(out.composite_alarms().iter().cloned());
                }
                Err(e) => return self.fail(super::capture::op_error("cloudwatch:DescribeAlarms", &e)),
            }
        }
        let composite = super::alarm::over_kept(&metric, composite);
        let actions =
            metric.iter().flat_map(|a| a.alarm_actions()).chain(composite.iter().flat_map(|a| a.alarm_actions()));
        self.topics.extend(actions.filter(|a| is_topic(a)).cloned());
        let doc = serde_json::json!({
            "MetricAlarms": metric.iter().map(super::alarm::to_json).collect::<Vec<_>>(),
            "CompositeAlarms": composite.iter().map(super::alarm::composite_to_json).collect::<Vec<_>>(),
        });
        self.state("describe-alarms.json", doc).await;
    }

    /// EventBridge rules, the targets of each rule whose pattern names `aws.backup`
    /// (`list-targets-by-rule-<rule>.json`: the file name says which rule), then the
    /// subscriptions of every SNS topic an alert path names.
    async fn alert_paths(&mut self) {
        let cap = Capture::default();
        let c = client!(aws_sdk_eventbridge, &self.cfg, cap, self.partition());
        match token_pages!(cap, "events:ListRules", c.list_rules()) {
            Ok(doc) => {
                let on_backup: Vec<String> = doc
                    .get("Rules")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter(|r| str_of(r, "EventPattern").is_some_and(|p| p.contains("aws.backup")))
                    .filter_map(|r| str_of(r, "Name").map(str::to_owned))
                    .collect();
                self.state("list-rules.json", doc).await;
                for rule in on_backup {
                    match token_pages!(cap, "events:ListTargetsByRule", c.list_targets_by_rule().rule(&rule)) {
                        Ok(doc) => {
                            let targets = doc.get("Targets").and_then(Value::as_array).into_iter().flatten();
                            let topics: Vec<String> = targets
                                .filter_map(|t| str_of(t, "Arn"))
                                .filter(|a| is_topic(a))
                                .map(str::to_owned)
                                .collect();
                            self.topics.extend(topics);
                            self.state(&format!("list-targets-by-rule-{}.json", safe(&rule)), doc).await;
                        }
                        Err(e) => self.fail(e),
                    }
                }
            }
            Err(e) => self.fail(e),
        }
        self.subscriptions().await;
    }

    /// `ListSubscriptionsByTopic` for each topic of this account and Region the alert paths
    /// name (`list-subscriptions-by-topic-<topic name>.json`). SNS answers in XML, so the file
    /// is written from the typed response with the CLI's member names, each `Endpoint` masked
    /// (subscriber addresses are personal data, and the package keeps every artifact). A
    /// topic elsewhere, or one that no longer exists, is noted.
    async fn subscriptions(&mut self) {
        let c = client!(aws_sdk_sns, &self.cfg, self.partition());
        let here = (Some(self.summary.account.as_str()), Some(self.summary.region.as_str()));
        let (local, elsewhere): (Vec<String>, Vec<String>) = std::mem::take(&mut self.topics)
            .into_iter()
            .partition(|t| crate::arn::account_region(t) == (here.0, here.1));
        if !elsewhere.is_empty() {
            let list = elsewhere.join(", ");
            self.summary.notes.push(format!("SNS topic(s) in another account or Region, not read here: {list}"));
        }
        for topic in local {
            let mut items = Vec::new();
            let mut pages = c.list_subscriptions_by_topic().topic_arn(&topic).into_paginator().send();
            let failed = loop {
                match pages.next().await {
                    None => break None,
                    Some(Ok(out)) => items.extend(out.subscriptions().iter().map(subscription_json)),
                    Some(Err(e)) => break Some(super::capture::op_error("sns:ListSubscriptionsByTopic", &e)),
                }
            };
            match failed {
                None => {
                    let name = topic.rsplit(':').next().unwrap_or(&topic);
                    let doc = serde_json::json!({ "Subscriptions": items });
                    self.state(&format!("list-subscriptions-by-topic-{}.json", safe(name)), doc).await;
                }
                Some(e) if e.code == "NotFound" => {
                    self.summary.notes.push(format!("SNS topic {topic} named by an alert path does not exist"))
                }
                Some(e) => self.fail(e),
            }
        }
    }

    /// The tag inventory (Resource Groups Tagging API).
    async fn tags(&mut self) {
        let cap = Capture::default();
        let c = client!(aws_sdk_resourcegroupstagging, &self.cfg, cap, self.partition());
        let r = pages!(cap, "tag:GetResources", c.get_resources().resources_per_page(100));
        match r {
            Ok(doc) => self.state("get-resources.json", doc).await,
            Err(e) => self.fail(e),
        }
    }

    /// Audit Manager, where it is active: assessments, their reports, and AWS's integrity
    /// check of each report zip ListAssessmentReports names. Audit Manager is closed to new
    /// customers since 30 April 2026: an account that is not registered or inactive gets a
    /// note, not a failure.
    async fn audit_manager(&mut self) {
        let cap = Capture::default();
        let c = client!(aws_sdk_auditmanager, &self.cfg, cap, self.partition());
        match c.get_account_status().send().await {
            Ok(out) if out.status() == Some(&aws_sdk_auditmanager::types::AccountStatus::Active) => {}
            Ok(out) => {
                let status = out.status().map(|s| s.as_str().to_owned()).unwrap_or_else(|| "unknown".into());
                return self.summary.notes.push(format!("Audit Manager not active here (status {status})"));
            }
            Err(e) => {
                let e = super::capture::op_error("auditmanager:GetAccountStatus", &e);
                if e.kind == FailureKind::Unreachable {
                    return self.summary.notes.push(format!("Audit Manager not reachable here: {}", e.message));
                }
                return self.audit_manager_fail(e);
            }
        }
        let list = pages!(cap, "auditmanager:ListAssessments", c.list_assessments());
        let ids: Vec<String> = match list {
            Ok(doc) => {
                let ids = strings(&doc, "assessmentMetadata", "id");
                self.state("list-assessments.json", doc).await;
                ids
            }
            Err(e) => return self.audit_manager_fail(e),
        };
        for id in &ids {
            match one!(cap, "auditmanager:GetAssessment", c.get_assessment().assessment_id(id)) {
                Ok(doc) => self.state(&format!("get-assessment-{}.json", safe(id)), doc).await,
                Err(e) => self.fail(e),
            }
        }
        let reports = match pages!(cap, "auditmanager:ListAssessmentReports", c.list_assessment_reports()) {
            Ok(doc) => {
                let reports = doc.get("assessmentReports").and_then(Value::as_array).cloned().unwrap_or_default();
                self.state("list-assessment-reports.json", doc).await;
                reports
            }
            Err(e) => return self.fail(e),
        };
        self.validate_reports(&c, &cap, &reports).await;
    }

    /// AWS's integrity check of each completed report `reports` (ListAssessmentReports) names,
    /// created since the last such snapshot.
    async fn validate_reports(&mut self, c: &aws_sdk_auditmanager::Client, cap: &Capture, reports: &[Value]) {
        let since = self.since("validate-assessment-report-integrity.json");
        let mut checks = Vec::new();
        for report in reports {
            let (Some(id), Some(assessment)) = (str_of(report, "id"), str_of(report, "assessmentId")) else {
                continue;
            };
            let created = time_of(report, "creationTime");
            if str_of(report, "status") != Some("COMPLETE")
                || since.is_some_and(|s| created.is_some_and(|t| t.millis() < s.millis()))
            {
                continue;
            }
            let url = match report_location(c, id, assessment).await {
                Ok(u) => u,
                Err(e) => {
                    self.fail(e);
                    continue;
                }
            };
            let r = one!(
                cap,
                "auditmanager:ValidateAssessmentReportIntegrity",
                c.validate_assessment_report_integrity().s3_relative_path(&url)
            );
            match r {
                Ok(Value::Object(mut doc)) => {
                    doc.insert("s3RelativePath".into(), Value::String(url));
                    doc.insert("assessmentReportId".into(), Value::String(id.to_owned()));
                    checks.push(Value::Object(doc));
                }
                Ok(_) => {}
                Err(e) => self.fail(e),
            }
        }
        self.delta(
            "validate-assessment-report-integrity.json",
            "AssessmentReportIntegrity",
            "s3RelativePath",
            checks,
            since,
        )
        .await;
    }

    /// An Audit Manager failure; "not registered / not set up" is a note (the service is
    /// closed to new customers), anything else a failure.
    fn audit_manager_fail(&mut self, e: OpError) {
        let text = e.message.to_ascii_lowercase();
        let unused = ["not registered", "setup", "set up", "not enabled", "inactive", "closed to new customers"]
            .iter()
            .any(|m| text.contains(m));
        if unused {
            self.summary.notes.push(format!("Audit Manager not in use here ({}: {})", e.code, e.message));
        } else {
            self.fail(e);
        }
    }
}

/// Where a report zip is (`s3://bucket/key`), from its download link. The link is a
/// presigned URL — a credential — so it is read from the typed answer and neither stored nor
/// logged.
async fn report_location(c: &aws_sdk_auditmanager::Client, id: &str, assessment: &str) -> Result<String, OpError> {
    const ACTION: &str = "auditmanager:GetAssessmentReportUrl";
    let out = c
        .get_assessment_report_url()
        .assessment_report_id(id)
        .assessment_id(assessment)
        .send()
        .await
        .map_err(|e| super::capture::op_error(ACTION, &e))?;
    out.pre_signed_url()
        .and_then(|u| u.link())
        .and_then(s3_url_of_link)
        .ok_or_else(|| OpError::internal(ACTION, format!("report {id}: the answer holds no S3 link")))
}

/// `s3://bucket/key` of a presigned S3 download link (virtual-hosted or path-style), without
/// its query (the signature).
fn s3_url_of_link(link: &str) -> Option<String> {
    let rest = link.split_once("://")?.1;
    let rest = rest.split(['?', '#']).next()?;
    let (host, path) = rest.split_once('/')?;
    let host = host.split(':').next()?;
    let path = percent_encoding::percent_decode_str(path).decode_utf8().ok()?;
    // bucket.s3.region.amazonaws.com/key, bucket.s3.amazonaws.com/key, or s3…/bucket/key
    let virtual_hosted = host.rfind(".s3.").or_else(|| host.rfind(".s3-")).filter(|&at| at > 0);
    let (bucket, key) = match virtual_hosted {
        Some(at) => (host[..at].to_owned(), path.into_owned()),
        None => {
            let (bucket, key) = path.split_once('/')?;
            (bucket.to_owned(), key.to_owned())
        }
    };
    (!bucket.is_empty() && !key.is_empty()).then(|| format!("s3://{bucket}/{key}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presigned_links_give_the_s3_object_without_the_signature() {
        let v = "https://am-reports.s3.eu-west-1.amazonaws.com/dora/dora%20q3_r-0001.zip?X-Amz-Signature=abc&X-Amz-Credential=AKIA";
        assert_eq!(s3_url_of_link(v).as_deref(), Some("s3://am-reports/dora/dora q3_r-0001.zip"));
        let old = "https://my.s3data.s3.amazonaws.com/a/b.zip?sig";
        assert_eq!(s3_url_of_link(old).as_deref(), Some("s3://my.s3data/a/b.zip"));
        let path = "https://s3.eu-west-1.amazonaws.com/am-reports/dora/r.zip?X-Amz-Signature=abc";
        assert_eq!(s3_url_of_link(path).as_deref(), Some("s3://am-reports/dora/r.zip"));
        let local = "http://127.0.0.1:5000/am-reports/dora/r.zip?X-Amz-Signature=abc";
        assert_eq!(s3_url_of_link(local).as_deref(), Some("s3://am-reports/dora/r.zip"));
        assert_eq!(s3_url_of_link("not a link"), None);
        assert_eq!(s3_url_of_link("https://am-reports.s3.amazonaws.com/"), None);
    }

    #[test]
    fn pending_states_by_job_kind() {
        let j = |v: serde_json::Value| v;
        assert!(Kind::Backup.pending(&j(serde_json::json!({"State": "RUNNING"}))));
        assert!(Kind::Backup.pending(&j(serde_json::json!({"State": "ABORTING"}))));
        assert!(!Kind::Backup.pending(&j(serde_json::json!({"State": "EXPIRED"}))));
        assert!(!Kind::Copy.pending(&j(serde_json::json!({"State": "PARTIAL"}))));
        assert!(
            Kind::Restore.pending(&j(serde_json::json!({"Status": "COMPLETED", "ValidationStatus": "VALIDATING"})))
        );
        assert!(Kind::Restore.pending(&j(serde_json::json!({"Status": "COMPLETED", "DeletionStatus": "DELETING"}))));
        assert!(
            !Kind::Restore.pending(&j(serde_json::json!({"Status": "COMPLETED", "ValidationStatus": "SUCCESSFUL"})))
        );
        let described = serde_json::json!({"CopyJob": {"CopyJobId": "c1", "State": "RUNNING"}});
        assert!(Kind::Copy.pending(Kind::Copy.job_of(&described)));
    }
}
