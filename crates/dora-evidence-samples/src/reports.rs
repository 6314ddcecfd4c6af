//! Backup Audit Manager daily job reports: BACKUP_JOB_REPORT, COPY_JOB_REPORT and
//! RESTORE_JOB_REPORT, as current-account JSON (`{"reportItems":[…]}`) and as cross-account
//! CSV, in the S3 key layout AWS delivers them.
//!
//! The report for day D covers `[D-1 00:00, D 00:00)` and, like AWS, also lists the jobs
//! still active when it is generated (02:00 on D). A row is a list of [`Col`]umns rendered
//! from one job; the JSON and CSV writers only differ in how they print a [`Cell`]. The
//! schema drift a reader must survive is chosen per file by [`Variant`].

use std::io::{self, Write};

use super::jobs::{Backup, Job, State, Timing, jobs_of_day};
use super::model::{ACCOUNTS, Account, Model, Plan, REGIONS, Resource, Vault};
use super::out::{DAY, HOUR, MIN, Out, Sink, TsStyle, date, guid, hms, ts};
use super::quarter::Quarter;

/// Hour (UTC) at which daily reports are generated.
pub(crate) const REPORT_HOUR: i64 = 2;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Template {
    Backup,
    Copy,
    Restore,
}

impl Template {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Template::Backup => "BACKUP_JOB_REPORT",
            Template::Copy => "COPY_JOB_REPORT",
            Template::Restore => "RESTORE_JOB_REPORT",
        }
    }

    fn of(job: &Job) -> Template {
        match job {
            Job::Backup(_) => Template::Backup,
            Job::Copy(_) => Template::Copy,
            Job::Restore(_) => Template::Restore,
        }
    }

    /// Report plan names (current-account JSON, cross-account CSV).
    fn plans(self) -> (&'static str, &'static str) {
        match self {
            Template::Backup => ("daily_backup_jobs", "org_backup_jobs"),
            Template::Copy => ("daily_copy_jobs", "org_copy_jobs"),
            Template::Restore => ("daily_restore_jobs", "org_restore_jobs"),
        }
    }
}

const TEMPLATES: [Template; 3] = [Template::Backup, Template::Copy, Template::Restore];

/// A report column, named by its JSON key.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Col {
    Period,
    PeriodStart,
    PeriodEnd,
    PathToRoot,
    AccountId,
    Region,
    BackupJobId,
    CopyJobId,
    RestoreJobId,
    JobStatus,
    StatusMessage,
    JobRunTime,
    PercentDone,
    ResourceType,
    ResourceArn,
    ResourceName,
    SourceResourceArn,
    BackupPlanArn,
    BackupRuleId,
    InitiationDate,
    BackupPlanName,
    BackupRuleName,
    BackupRuleSchedule,
    BackupRuleTimezone,
    StartWindowEnd,
    BackupOptions,
    IsParentJob,
    ParentJobId,
    CreationDate,
    CompletionDate,
    ExpectedCompletionDate,
    RecoveryPointArn,
    BackupSizeInBytes,
    BackupVaultName,
    BackupVaultArn,
    SourceRecoveryPointArn,
    SourceBackupVaultArn,
    DestinationRecoveryPointArn,
    DestinationBackupVaultArn,
    VaultType,
    VaultLockStatus,
    IsEncrypted,
    EncryptionKeyArn,
    DeleteAfterDays,
    MoveToColdAfterDays,
    EnableArchive,
    IamRoleArn,
}

use Col::*;

impl Col {
    /// The JSON key (camelCase).
    pub(crate) fn key(self) -> &'static str {
        match self {
            Period => "reportTimePeriod",
            PeriodStart => "reportTimePeriodStart",
            PeriodEnd => "reportTimePeriodEnd",
            PathToRoot => "pathToRoot",
            AccountId => "accountId",
            Region => "region",
            BackupJobId => "backupJobId",
            CopyJobId => "copyJobId",
            RestoreJobId => "restoreJobId",
            JobStatus => "jobStatus",
            StatusMessage => "statusMessage",
            JobRunTime => "jobRunTime",
            PercentDone => "percentDone",
            ResourceType => "resourceType",
            ResourceArn => "resourceArn",
            ResourceName => "resourceName",
            SourceResourceArn => "sourceResourceArn",
            BackupPlanArn => "backupPlanArn",
            BackupRuleId => "backupRuleId",
            InitiationDate => "initiationDate",
            BackupPlanName => "backupPlanName",
            BackupRuleName => "backupRuleName",
            BackupRuleSchedule => "backupRuleSchedule",
            BackupRuleTimezone => "backupRuleTimezone",
            StartWindowEnd => "startWindowEnd",
            BackupOptions => "backupOptions",
            IsParentJob => "isParentJob",
            ParentJobId => "parentJobId",
            CreationDate => "creationDate",
            CompletionDate => "completionDate",
            ExpectedCompletionDate => "expectedCompletionDate",
            RecoveryPointArn => "recoveryPointArn",
            BackupSizeInBytes => "backupSizeInBytes",
            BackupVaultName => "backupVaultName",
            BackupVaultArn => "backupVaultArn",
            SourceRecoveryPointArn => "sourceRecoveryPointArn",
            SourceBackupVaultArn => "sourceBackupVaultArn",
            DestinationRecoveryPointArn => "destinationRecoveryPointArn",
            DestinationBackupVaultArn => "destinationBackupVaultArn",
            VaultType => "vaultType",
            VaultLockStatus => "vaultLockStatus",
            IsEncrypted => "isEncrypted",
            EncryptionKeyArn => "encryptionKeyArn",
            DeleteAfterDays => "deleteAfterDays",
            MoveToColdAfterDays => "moveToColdAfterDays",
            EnableArchive => "enableArchive",
            IamRoleArn => "iamRoleArn",
        }
    }

    /// Words of the key: `backupSizeInBytes` → `["backup", "Size", "In", "Bytes"]`.
    fn words(self) -> Vec<&'static str> {
        let k = self.key();
        let mut words = Vec::new();
        let mut start = 0;
        for (i, c) in k.char_indices().skip(1) {
            if c.is_ascii_uppercase() {
                words.push(&k[start..i]);
                start = i;
            }
        }
        words.push(&k[start..]);
        words
    }

    /// Title Case CSV header: `Backup Size in Bytes`, `Account ID`, `Job Run Time [HH:MM:SS]`.
    pub(crate) fn title(self) -> String {
        let words: Vec<String> = self
            .words()
            .into_iter()
            .map(|w| match w.to_ascii_lowercase().as_str() {
                "id" => "ID".into(),
                "arn" => "ARN".into(),
                "iam" => "IAM".into(),
                "in" => "in".into(),
                lower => {
                    let mut s = lower.to_string();
                    s[..1].make_ascii_uppercase();
                    s
                }
            })
            .collect();
        let mut title = words.join(" ");
        match self {
            JobRunTime => title.push_str(" [HH:MM:SS]"),
            BackupSizeInBytes => title.push_str(" [Bytes]"),
            _ => {}
        }
        title
    }

    /// Athena-style snake_case header: `backup_size_in_bytes`.
    pub(crate) fn snake(self) -> String {
        self.words().iter().map(|w| w.to_ascii_lowercase()).collect::<Vec<_>>().join("_")
    }
}

/// One rendered value.
pub(crate) enum Cell<'a> {
    Str(&'a str),
    Int(i64),
    Bool(bool),
    Ts(i64),
    /// JSON text written as is (`backupOptions`).
    Raw(&'a str),
    Null,
    /// Absent: the JSON key is left out, the CSV field is empty.
    Skip,
}

fn opt(s: &Option<String>) -> Cell<'_> {
    s.as_deref().map_or(Cell::Null, Cell::Str)
}

#[rustfmt::skip]
const BACKUP_JSON: &[Col] = &[
    PeriodStart, PeriodEnd, AccountId, Region, BackupJobId, JobStatus, StatusMessage, ResourceType, ResourceArn,
    ResourceName, BackupPlanArn, BackupRuleId, InitiationDate, BackupPlanName, BackupRuleName, BackupRuleSchedule,
    BackupRuleTimezone, StartWindowEnd, BackupOptions, IsParentJob, ParentJobId, CreationDate, CompletionDate,
    RecoveryPointArn, JobRunTime, BackupSizeInBytes, BackupVaultName, BackupVaultArn, VaultType, VaultLockStatus,
    IsEncrypted, EncryptionKeyArn, DeleteAfterDays, MoveToColdAfterDays, EnableArchive, IamRoleArn,
];
#[rustfmt::skip]
const BACKUP_CSV: &[Col] = &[
    PeriodStart, PeriodEnd, PathToRoot, AccountId, Region, BackupJobId, JobStatus, StatusMessage, ResourceType,
    ResourceArn, ResourceName, BackupPlanArn, BackupRuleId, BackupPlanName, BackupRuleName, InitiationDate,
    IsParentJob, ParentJobId, CreationDate, CompletionDate, ExpectedCompletionDate, RecoveryPointArn, JobRunTime,
    BackupSizeInBytes, BackupVaultName, BackupVaultArn, VaultType, VaultLockStatus, IsEncrypted, EncryptionKeyArn,
    IamRoleArn,
];
/// Columns the older Athena-era backup report lacks (names, parent fields, expanded context):
/// the old column set is [`BACKUP_CSV`] without them.
const NOT_IN_OLD_BACKUP_CSV: &[Col] = &[
    ResourceName,
    BackupPlanName,
    BackupRuleName,
    InitiationDate,
    IsParentJob,
    ParentJobId,
    VaultType,
    VaultLockStatus,
    IsEncrypted,
    EncryptionKeyArn,
];
#[rustfmt::skip]
const COPY_JSON: &[Col] = &[
    PeriodStart, PeriodEnd, AccountId, Region, CopyJobId, JobStatus, StatusMessage, JobRunTime, ResourceType,
    ResourceArn, ResourceName, InitiationDate, BackupPlanName, BackupRuleName, BackupRuleSchedule,
    BackupRuleTimezone, StartWindowEnd, BackupOptions, IsParentJob, ParentJobId, CreationDate, CompletionDate,
    BackupSizeInBytes, SourceRecoveryPointArn, SourceBackupVaultArn, DestinationRecoveryPointArn,
    DestinationBackupVaultArn, VaultType, VaultLockStatus, IsEncrypted, EncryptionKeyArn, DeleteAfterDays,
    MoveToColdAfterDays, EnableArchive, IamRoleArn,
];
#[rustfmt::skip]
const COPY_CSV: &[Col] = &[
    PeriodStart, PeriodEnd, PathToRoot, AccountId, Region, CopyJobId, JobStatus, StatusMessage, ResourceType,
    ResourceArn, ResourceName, BackupPlanName, BackupRuleName, IsParentJob, ParentJobId, CreationDate,
    CompletionDate, JobRunTime, BackupSizeInBytes, SourceRecoveryPointArn, SourceBackupVaultArn,
    DestinationRecoveryPointArn, DestinationBackupVaultArn, VaultType, VaultLockStatus, IsEncrypted, IamRoleArn,
];
#[rustfmt::skip]
const RESTORE_JSON: &[Col] = &[
    PeriodStart, PeriodEnd, AccountId, Region, RestoreJobId, JobStatus, StatusMessage, RecoveryPointArn,
    ResourceName, InitiationDate, BackupPlanName, BackupRuleName, BackupRuleSchedule, BackupRuleTimezone,
    StartWindowEnd, BackupOptions, IsParentJob, ParentJobId, VaultType, VaultLockStatus, IsEncrypted,
    EncryptionKeyArn, DeleteAfterDays, MoveToColdAfterDays, EnableArchive, SourceResourceArn, BackupVaultArn,
    CreationDate, CompletionDate, BackupSizeInBytes, PercentDone, IamRoleArn,
];
#[rustfmt::skip]
const RESTORE_CSV: &[Col] = &[
    PeriodStart, PeriodEnd, PathToRoot, AccountId, Region, RestoreJobId, JobStatus, StatusMessage, RecoveryPointArn,
    ResourceName, SourceResourceArn, BackupVaultArn, BackupPlanName, CreationDate, CompletionDate,
    BackupSizeInBytes, PercentDone, VaultType, VaultLockStatus, IsEncrypted, IamRoleArn,
];

/// The schema drift of one report file.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Variant {
    /// UTF-8 BOM, CRLF line ends and every header double-quoted.
    pub(crate) bom_crlf: bool,
    /// Athena-style snake_case headers and the older column set.
    pub(crate) snake_old: bool,
    /// Old single `reportTimePeriod` ("start - end") instead of Start/End.
    pub(crate) single_period: bool,
    /// `vaultType` present (left out in Regions without logically air-gapped vaults).
    pub(crate) vault_type: bool,
}

impl Variant {
    /// Drift by template, Region and the month the report covers.
    pub(crate) fn of(t: Template, region: usize, day: i64) -> Variant {
        let july = date(day - 1)[5..7] == *"07";
        Variant {
            bom_crlf: region == 1,
            snake_old: t == Template::Backup && july,
            single_period: t == Template::Restore && july,
            vault_type: region == 0,
        }
    }

    fn columns(self, base: &[Col]) -> Vec<Col> {
        let mut cols = Vec::with_capacity(base.len());
        for &c in base {
            match c {
                c if self.snake_old && NOT_IN_OLD_BACKUP_CSV.contains(&c) => {}
                PeriodStart if self.single_period => cols.push(Period),
                PeriodEnd if self.single_period => {}
                VaultType if !self.vault_type => {}
                c => cols.push(c),
            }
        }
        cols
    }
}

/// The fields every job row shares: report period, account, resource, plan, vault.
struct Common<'a> {
    period: &'a [String; 3],
    account: &'a Account,
    region: &'static str,
    res: &'a Resource,
    plan: &'a Plan,
    vault: &'a Vault,
}

impl Common<'_> {
    fn cell(&self, col: Col) -> Cell<'_> {
        match col {
            Period => Cell::Str(&self.period[2]),
            PeriodStart => Cell::Str(&self.period[0]),
            PeriodEnd => Cell::Str(&self.period[1]),
            PathToRoot => Cell::Str(self.account.path_to_root),
            AccountId => Cell::Str(self.account.id),
            Region => Cell::Str(self.region),
            ResourceType => Cell::Str(self.res.kind.label()),
            ResourceArn | SourceResourceArn => Cell::Str(&self.res.arn),
            ResourceName => Cell::Str(&self.res.name),
            BackupPlanArn => Cell::Str(&self.plan.arn),
            BackupRuleId => Cell::Str(&self.plan.rule_id),
            BackupPlanName => Cell::Str(&self.plan.name),
            BackupRuleName => Cell::Str(self.plan.rule_name),
            BackupRuleSchedule => Cell::Str(self.plan.schedule.cron),
            BackupRuleTimezone => Cell::Str("UTC"),
            BackupOptions => Cell::Raw(if self.res.windows { r#"{"WindowsVSS":"enabled"}"# } else { "{}" }),
            IsParentJob => Cell::Bool(false),
            ParentJobId => Cell::Null,
            BackupVaultName => Cell::Str(&self.vault.name),
            BackupVaultArn | SourceBackupVaultArn => Cell::Str(&self.vault.arn),
            VaultType => Cell::Str("BACKUP_VAULT"),
            VaultLockStatus => Cell::Str(self.vault.lock_status()),
            IsEncrypted => Cell::Bool(self.res.encrypted),
            EncryptionKeyArn if self.res.encrypted => Cell::Str(&self.vault.key_arn),
            DeleteAfterDays => Cell::Int(i64::from(self.plan.delete_after_days)),
            MoveToColdAfterDays => self.plan.move_to_cold_days.map_or(Cell::Null, |d| Cell::Int(i64::from(d))),
            EnableArchive => Cell::Bool(false),
            _ => Cell::Null,
        }
    }
}

/// How a job looks in one observation (report or snapshot).
pub(crate) struct Seen {
    pub(crate) state: State,
    /// Completion time when finished at the observation time.
    pub(crate) end: Option<i64>,
    /// Observation time.
    pub(crate) at: i64,
}

impl Seen {
    pub(crate) fn of(t: &Timing, at: i64, waiting: State) -> Seen {
        Seen { state: t.state_at(at, waiting), end: (at >= t.end).then_some(t.end), at }
    }

    /// `jobRunTime`: HH:MM:SS when finished, a timestamp while active (an AWS quirk).
    fn run_time(&self, t: &Timing, q: Quarter) -> String {
        match self.end {
            Some(end) => hms(end - t.created),
            None => ts(q.at(self.at + 10), TsStyle::Report).as_str().to_string(),
        }
    }

    pub(crate) fn percent(&self, t: &Timing) -> f64 {
        match (self.end, t.started) {
            (Some(_), _) if self.state == State::Completed => 100.0,
            (None, Some(s)) if self.at > s => (100.0 * (self.at - s) as f64 / (t.end - s).max(1) as f64).min(99.0),
            _ => 0.0,
        }
    }
}

/// Text of one job row; built once, rendered to JSON and CSV.
pub(crate) struct Row<'a> {
    c: Common<'a>,
    kind: RowKind<'a>,
    time: &'a Timing,
    id: String,
    seen: Seen,
    run_time: String,
    msg: Option<String>,
    rp: Option<String>,
    dest_rp: Option<String>,
    parent: Option<String>,
    role: String,
    percent: String,
    size: i64,
}

enum RowKind<'a> {
    Backup(&'a Backup),
    Copy(&'a Vault),
    Restore,
}

impl<'a> Row<'a> {
    pub(crate) fn new(m: &'a Model, job: &'a Job, seen: Seen, period: &'a [String; 3]) -> Row<'a> {
        let core = job.core();
        let time = &core.time;
        let res = &m.resources[core.res as usize];
        let vault_ix = m.vault_of(res);
        let c = Common {
            period,
            account: &ACCOUNTS[res.account],
            region: REGIONS[res.region],
            res,
            plan: &m.plans[res.plan.unwrap_or(0)],
            vault: &m.vaults[vault_ix],
        };
        let finished = seen.end.is_some();
        let mut row = Row {
            c,
            kind: RowKind::Restore,
            time,
            id: guid(core.id, true),
            run_time: seen.run_time(time, m.quarter),
            msg: None,
            rp: None,
            dest_rp: None,
            parent: None,
            role: String::new(),
            percent: String::new(),
            size: core.size as i64,
            seen,
        };
        match job {
            Job::Backup(b) => {
                row.kind = RowKind::Backup(b);
                if time.state == State::Completed || !finished {
                    row.rp =
                        Some(if b.is_parent { composite_rp_arn(res, b.rp) } else { m.rp_arn(res, b.rp, vault_ix) });
                }
                row.parent = b.parent.map(|p| guid(p, true));
                row.role = m.backup_role(res);
                // Copies and restores show their size at once; a backup only when it ends.
                if !finished {
                    row.size = 0;
                }
            }
            Job::Copy(cp) => {
                row.kind = RowKind::Copy(&m.vaults[cp.dest_vault]);
                row.rp = Some(m.rp_arn(res, cp.src_rp, vault_ix));
                if finished && time.state == State::Completed {
                    row.dest_rp = Some(m.rp_arn(res, cp.dest_rp, cp.dest_vault));
                }
                row.role = m.backup_role(res);
            }
            Job::Restore(r) => {
                row.rp = Some(m.rp_arn(res, r.rp, vault_ix));
                row.role = r
                    .test
                    .map_or_else(|| m.default_role[res.account].clone(), |t| m.restore_plans[t.plan].iam_role.clone());
                row.percent = format!("{:.2}%", row.seen.percent(time));
            }
        }
        if finished {
            row.msg = core.msg.text(m, res);
        }
        row
    }

    fn cell(&self, col: Col) -> Cell<'_> {
        let t = self.time;
        match col {
            BackupJobId | CopyJobId | RestoreJobId => return Cell::Str(&self.id),
            JobStatus => return Cell::Str(self.seen.state.as_str()),
            StatusMessage => return self.msg.as_deref().map_or(Cell::Skip, Cell::Str),
            JobRunTime => return Cell::Str(&self.run_time),
            CreationDate | InitiationDate => return Cell::Ts(t.created),
            CompletionDate => return self.seen.end.map_or(Cell::Null, Cell::Ts),
            StartWindowEnd => return Cell::Ts(t.created + self.c.plan.start_window_min * MIN),
            BackupSizeInBytes => return Cell::Int(self.size),
            RecoveryPointArn | SourceRecoveryPointArn => return opt(&self.rp),
            IamRoleArn => return Cell::Str(&self.role),
            _ => {}
        }
        match &self.kind {
            RowKind::Backup(b) => match col {
                IsParentJob => Cell::Bool(b.is_parent),
                ParentJobId => opt(&self.parent),
                ExpectedCompletionDate => Cell::Ts(t.created + (self.c.res.backup_min * 1.2) as i64 * MIN),
                _ => self.c.cell(col),
            },
            RowKind::Copy(dest) => match col {
                DestinationRecoveryPointArn => opt(&self.dest_rp),
                DestinationBackupVaultArn => Cell::Str(&dest.arn),
                VaultLockStatus => Cell::Str(dest.lock_status()),
                EncryptionKeyArn if self.c.res.encrypted => Cell::Str(&dest.key_arn),
                BackupOptions => Cell::Raw("{}"),
                _ => self.c.cell(col),
            },
            RowKind::Restore => match col {
                PercentDone => Cell::Str(&self.percent),
                BackupOptions => Cell::Raw("{}"),
                _ => self.c.cell(col),
            },
        }
    }
}

/// Recovery point of a composite (parent) backup.
pub(crate) fn composite_rp_arn(res: &Resource, rp: u128) -> String {
    format!("arn:aws:backup:{}:{}:recovery-point:{}", REGIONS[res.region], ACCOUNTS[res.account].id, guid(rp, false))
}

/// Whether report `day` (generated at `g`) lists a job, and how it sees it.
pub(crate) fn report_view(t: &Timing, day: i64, g: i64, waiting: State) -> Option<Seen> {
    if t.end >= (day - 1) * DAY && t.end < day * DAY {
        Some(Seen { state: t.state, end: Some(t.end), at: g })
    } else if t.created < g && t.end > g {
        Some(Seen::of(t, g, waiting))
    } else {
        None
    }
}

/// `[start, end, "start - end"]` of the report delivered on (model) `day` covering `days` days.
pub(crate) fn period_texts(q: Quarter, day: i64, days: i64) -> [String; 3] {
    let start = ts(q.at((day - days) * DAY), TsStyle::Seconds).as_str().to_string();
    let end = ts(q.at(day * DAY), TsStyle::Seconds).as_str().to_string();
    let both = format!("{start} - {end}");
    [start, end, both]
}

/// S3 key of a report delivered on (written) `day`: `Backup/<account|crossaccount>/<region>/<yyyy>/<mm>/<dd>/<plan>/<TEMPLATE>_<plan>_<start>_<end>.<ext>`.
pub(crate) fn report_key(
    scope: &str,
    region: &str,
    day: i64,
    plan: &str,
    template: &str,
    period: &[String; 3],
    ext: &str,
) -> String {
    let d = date(day);
    format!(
        "input/Backup/{scope}/{region}/{}/{}/{}/{plan}/{template}_{plan}_{}_{}.{ext}",
        &d[..4],
        &d[5..7],
        &d[8..10],
        period[0],
        period[1]
    )
}

/// A JSON report being written item by item.
pub(crate) struct JsonReport {
    sink: Sink,
    items: u64,
    quarter: Quarter,
}

impl JsonReport {
    pub(crate) fn open(out: &Out, rel: &str) -> io::Result<JsonReport> {
        let mut sink = out.create(rel)?;
        sink.write_all(b"{\"reportItems\":[")?;
        Ok(JsonReport { sink, items: 0, quarter: out.quarter })
    }

    /// Starts an item; write fields with [`JsonReport::field`], then call [`JsonReport::end_item`].
    pub(crate) fn begin_item(&mut self) -> io::Result<()> {
        self.sink.write_all(if self.items == 0 { b"\n{" } else { b",\n{" })?;
        self.items += 1;
        Ok(())
    }

    pub(crate) fn field(&mut self, first: &mut bool, key: &str, cell: &Cell<'_>) -> io::Result<()> {
        if matches!(cell, Cell::Skip) {
            return Ok(());
        }
        let w = &mut self.sink;
        if !*first {
            w.write_all(b",")?;
        }
        *first = false;
        w.write_all(b"\"")?;
        w.write_all(key.as_bytes())?;
        w.write_all(b"\":")?;
        match cell {
            Cell::Str(s) => serde_json::to_writer(&mut *w, s).map_err(io::Error::other)?,
            Cell::Int(v) => write!(w, "{v}")?,
            Cell::Bool(b) => w.write_all(if *b { b"true" } else { b"false" })?,
            Cell::Ts(t) => write!(w, "\"{}\"", ts(self.quarter.at(*t), TsStyle::Report).as_str())?,
            Cell::Raw(s) => w.write_all(s.as_bytes())?,
            Cell::Null | Cell::Skip => w.write_all(b"null")?,
        }
        Ok(())
    }

    pub(crate) fn end_item(&mut self) -> io::Result<()> {
        self.sink.write_all(b"}")
    }

    fn row(&mut self, cols: &[Col], row: &Row<'_>) -> io::Result<()> {
        self.begin_item()?;
        let mut first = true;
        for &c in cols {
            self.field(&mut first, c.key(), &row.cell(c))?;
        }
        self.end_item()
    }

    pub(crate) fn finish(mut self, out: &mut Out) -> io::Result<()> {
        self.sink.write_all(if self.items == 0 { b"]}\n" } else { b"\n]}\n" })?;
        out.finish(self.sink)
    }
}

/// A CSV report being written row by row.
pub(crate) struct CsvReport {
    w: csv::Writer<Sink>,
    buf: String,
    quarter: Quarter,
}

impl CsvReport {
    /// Opens `rel` and writes the header line (BOM, quoting and line ends as `bom_crlf` says).
    pub(crate) fn open(
        out: &Out,
        rel: &str,
        headers: &[String],
        bom_crlf: bool,
        quoted: &[&str],
    ) -> io::Result<CsvReport> {
        let mut sink = out.create(rel)?;
        if bom_crlf {
            sink.write_all("\u{feff}".as_bytes())?;
        }
        let line: Vec<String> = headers
            .iter()
            .map(|h| {
                if bom_crlf || h.contains('[') || quoted.contains(&h.as_str()) { format!("\"{h}\"") } else { h.clone() }
            })
            .collect();
        sink.write_all(line.join(",").as_bytes())?;
        sink.write_all(if bom_crlf { b"\r\n" } else { b"\n" })?;
        let w = csv::WriterBuilder::new()
            .has_headers(false)
            .terminator(if bom_crlf { csv::Terminator::CRLF } else { csv::Terminator::Any(b'\n') })
            .from_writer(sink);
        Ok(CsvReport { w, buf: String::new(), quarter: out.quarter })
    }

    pub(crate) fn field(&mut self, cell: &Cell<'_>) -> io::Result<()> {
        use std::fmt::Write as _;
        self.buf.clear();
        let text: &str = match cell {
            Cell::Str(s) | Cell::Raw(s) => s,
            Cell::Int(v) => {
                let _ = write!(self.buf, "{v}");
                &self.buf
            }
            Cell::Bool(b) => {
                if *b {
                    "true"
                } else {
                    "false"
                }
            }
            Cell::Ts(t) => {
                self.buf.push_str(ts(self.quarter.at(*t), TsStyle::Report).as_str());
                &self.buf
            }
            Cell::Null | Cell::Skip => "",
        };
        self.w.write_field(text).map_err(io::Error::other)
    }

    pub(crate) fn end_row(&mut self) -> io::Result<()> {
        self.w.write_record(None::<&[u8]>).map_err(io::Error::other)
    }

    fn row(&mut self, cols: &[Col], row: &Row<'_>) -> io::Result<()> {
        for &c in cols {
            self.field(&row.cell(c))?;
        }
        self.end_row()
    }

    pub(crate) fn finish(self, out: &mut Out) -> io::Result<()> {
        let sink = self.w.into_inner().map_err(|e| e.into_error())?;
        out.finish(sink)
    }
}

/// An open report file with its columns.
enum Report {
    Json(JsonReport, Vec<Col>),
    Csv(Box<CsvReport>, Vec<Col>),
}

impl Report {
    fn write(&mut self, row: &Row<'_>) -> io::Result<()> {
        match self {
            Report::Json(w, cols) => w.row(cols, row),
            Report::Csv(w, cols) => w.row(cols, row),
        }
    }

    fn finish(self, out: &mut Out) -> io::Result<()> {
        match self {
            Report::Json(w, _) => w.finish(out),
            Report::Csv(w, _) => w.finish(out),
        }
    }
}

fn open_json(
    out: &Out,
    t: Template,
    acct: &Account,
    region: usize,
    day: i64,
    period: &[String; 3],
) -> io::Result<Report> {
    let v = Variant { bom_crlf: false, snake_old: false, ..Variant::of(t, region, day) };
    let base = match t {
        Template::Backup => BACKUP_JSON,
        Template::Copy => COPY_JSON,
        Template::Restore => RESTORE_JSON,
    };
    let plan = t.plans().0;
    let rel = report_key(acct.id, REGIONS[region], out.quarter.day(day), plan, t.name(), period, "json");
    Ok(Report::Json(JsonReport::open(out, &rel)?, v.columns(base)))
}

fn open_csv(out: &Out, t: Template, region: usize, day: i64, period: &[String; 3]) -> io::Result<Report> {
    let v = Variant::of(t, region, day);
    let base = match t {
        Template::Backup => BACKUP_CSV,
        Template::Copy => COPY_CSV,
        Template::Restore => RESTORE_CSV,
    };
    let cols = v.columns(base);
    let headers: Vec<String> = cols.iter().map(|c| if v.snake_old { c.snake() } else { c.title() }).collect();
    let plan = t.plans().1;
    let rel = report_key("crossaccount", REGIONS[region], out.quarter.day(day), plan, t.name(), period, "csv");
    Ok(Report::Csv(
        Box::new(CsvReport::open(out, &rel, &headers, v.bom_crlf, &["Status Message", "Account ID"])?),
        cols,
    ))
}

/// Writes the three job reports delivered on `day`: JSON for the accounts that deliver JSON,
/// CSV cross-account per Region. Regenerates the jobs of days `day-2 ..= day`.
pub(crate) fn write_job_reports(m: &Model, out: &mut Out, day: i64, buf: &mut Vec<Job>) -> io::Result<()> {
    let g = day * DAY + REPORT_HOUR * HOUR;
    let period = period_texts(m.quarter, day, 1);
    for region in 0..REGIONS.len() {
        let mut csv = Vec::with_capacity(3);
        for t in TEMPLATES {
            csv.push(open_csv(out, t, region, day, &period)?);
        }
        for (ai, acct) in ACCOUNTS.iter().enumerate() {
            let mut json = Vec::new();
            if acct.json_reports {
                for t in TEMPLATES {
                    json.push(open_json(out, t, acct, region, day, &period)?);
                }
            }
            let plans: Vec<usize> = m.restore_plan_of(ai, region).into_iter().collect();
            for d in day - 2..=day {
                buf.clear();
                jobs_of_day(m, &m.by_ar[ai][region], &plans, d, buf);
                for job in buf.iter() {
                    let waiting = if matches!(job, Job::Restore(_)) { State::Pending } else { State::Created };
                    let Some(seen) = report_view(job.time(), day, g, waiting) else { continue };
                    let t = Template::of(job) as usize;
                    let row = Row::new(m, job, seen, &period);
                    csv[t].write(&row)?;
                    out.job_rows += 1;
                    if let Some(j) = json.get_mut(t) {
                        j.write(&row)?;
                        out.job_rows += 1;
                    }
                }
            }
            for j in json {
                j.finish(out)?;
            }
        }
        for c in csv {
            c.finish(out)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        assert_eq!(BackupSizeInBytes.title(), "Backup Size in Bytes [Bytes]");
        assert_eq!(AccountId.title(), "Account ID");
        assert_eq!(IamRoleArn.title(), "IAM Role ARN");
        assert_eq!(JobRunTime.title(), "Job Run Time [HH:MM:SS]");
        assert_eq!(PeriodStart.title(), "Report Time Period Start");
        assert_eq!(BackupJobId.snake(), "backup_job_id");
        assert_eq!(PathToRoot.title(), "Path To Root");
    }
}
