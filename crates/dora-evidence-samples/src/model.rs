//! The fictional bank behind the samples: accounts, Regions, vaults, backup plans, resources
//! and restore-testing plans.
//!
//! The catalogue is a fixed list of resource templates (the scale-1 estate, each with a name
//! an operator would recognise); scale N repeats every template N times with a numbered
//! suffix. Everything random here (instance ids, sizes, plan ids) comes from one seeded
//! generator, so the model is a pure function of seed and scale.

use fastrand::Rng;

use super::out::{DAY, HOUR, guid, hex17, mix, u128_of};
use super::quarter::{Planted, Quarter};

/// First day with jobs (2026-06-26) and the last (2026-10-04), as days since the epoch.
pub(crate) const FIRST_DAY: i64 = 20_630;
pub(crate) const LAST_DAY: i64 = 20_730;
/// The reporting period 2026-Q3, `[start, end)` in model milliseconds (Q2: `Quarter::model_period`).
pub(crate) const PERIOD_START: i64 = 20_635 * DAY;
pub(crate) const PERIOD_END: i64 = 20_727 * DAY;

/// An AWS account of the bank.
pub(crate) struct Account {
    pub(crate) id: &'static str,
    pub(crate) name: &'static str,
    pub(crate) short: &'static str,
    /// Organizations path written in the `Path To Root` column of cross-account reports.
    pub(crate) path_to_root: &'static str,
    /// Its snapshots were taken with AWS CLI v1 (epoch-second timestamps).
    pub(crate) epoch_times: bool,
    /// It delivers current-account JSON job reports.
    pub(crate) json_reports: bool,
}

pub(crate) const ACCOUNTS: [Account; 3] = [
    Account {
        id: "111122223333",
        name: "core-banking",
        short: "core",
        path_to_root: "r-n7hf/ou-n7hf-prod4k2m/ou-n7hf-core8d1q",
        epoch_times: false,
        json_reports: true,
    },
    Account {
        id: "444455556666",
        name: "payments",
        short: "payments",
        path_to_root: "r-n7hf/ou-n7hf-prod4k2m/ou-n7hf-pay7x3v1",
        epoch_times: true,
        json_reports: false,
    },
    Account {
        id: "777788889999",
        name: "shared-services",
        short: "shared",
        path_to_root: "r-n7hf/ou-n7hf-infr9b5c",
        epoch_times: false,
        json_reports: false,
    },
];
/// The shared-services account receives the cross-account copies.
pub(crate) const SHARED: usize = 2;
pub(crate) const REGIONS: [&str; 2] = ["eu-central-1", "eu-west-1"];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    Ec2,
    Ebs,
    Rds,
    Aurora,
    DynamoDb,
    Efs,
    S3,
    Stack,
}

impl Kind {
    /// Resource type as AWS Backup reports it.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Kind::Ec2 => "EC2",
            Kind::Ebs => "EBS",
            Kind::Rds => "RDS",
            Kind::Aurora => "Aurora",
            Kind::DynamoDb => "DynamoDB",
            Kind::Efs => "EFS",
            Kind::S3 => "S3",
            Kind::Stack => "CloudFormation",
        }
    }

    /// Resource type as AWS Config (and so the compliance reports) names it.
    pub(crate) fn config_type(self) -> &'static str {
        match self {
            Kind::Ec2 => "AWS::EC2::Instance",
            Kind::Ebs => "AWS::EC2::Volume",
            Kind::Rds => "AWS::RDS::DBInstance",
            Kind::Aurora => "AWS::RDS::DBCluster",
            Kind::DynamoDb => "AWS::DynamoDB::Table",
            Kind::Efs => "AWS::EFS::FileSystem",
            Kind::S3 => "AWS::S3::Bucket",
            Kind::Stack => "AWS::CloudFormation::Stack",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Tier {
    Gold,
    Silver,
    Bronze,
}

impl Tier {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Tier::Gold => "gold",
            Tier::Silver => "silver",
            Tier::Bronze => "bronze",
        }
    }
}

const WINDOWS: u8 = 1;
const UNPROTECTED: u8 = 2;
const UNENCRYPTED: u8 = 4;
const STACK_CHILD: u8 = 8;
/// Selected (by its `backup-plan` tag) into its account's and Region's bronze weekly plan
/// whatever its tier: a plan that cannot meet a silver RPO.
const ON_WEEKLY_PLAN: u8 = 16;

/// One line of the scale-1 estate: (account, Region, kind, name, tier, value of the
/// `restore_testing_candidate` tag if tagged, `app` tag, flags, size in GB). Account and Region
/// index [`ACCOUNTS`] and [`REGIONS`]; flags are [`WINDOWS`], [`UNPROTECTED`], [`UNENCRYPTED`],
/// [`STACK_CHILD`] and [`ON_WEEKLY_PLAN`].
type Template = (usize, usize, Kind, &'static str, Tier, Option<bool>, &'static str, u8, u32);

use Kind::*;
use Tier::*;
const YES: Option<bool> = Some(true);
const NO: Option<bool> = Some(false);

/// Names of templates that carry scenarios (see `jobs.rs`).
pub(crate) mod names {
    pub(crate) const LEDGER_DB: &str = "core-ledger-db";
    pub(crate) const ACCOUNTS_AURORA: &str = "core-accounts-aurora";
    pub(crate) const CUSTOMER_DB: &str = "core-customer-db";
    pub(crate) const STATEMENTS_BUCKET: &str = "nordhafen-core-statements-prod";
    pub(crate) const APP_01: &str = "core-app-01";
    pub(crate) const APP_01_DATA: &str = "core-app-01-data";
    pub(crate) const SHARED_FS: &str = "core-shared-fs";
    pub(crate) const BATCH_STACK: &str = "nordhafen-core-batch";
    pub(crate) const BATCH_STATE: &str = "core-batch-state";
    pub(crate) const REPORTING_DB: &str = "core-reporting-db";
    pub(crate) const CLEARING_AURORA: &str = "payments-clearing-aurora";
    pub(crate) const SEPA_DB: &str = "payments-sepa-db";
    pub(crate) const PAYMENT_FILES: &str = "nordhafen-payments-files-prod";
    pub(crate) const GW_01: &str = "payments-gw-01";
    pub(crate) const PAYMENTS_BATCH_FS: &str = "payments-batch-fs";
    pub(crate) const TMP_IMPORT: &str = "payments-tmp-import";
    pub(crate) const AD_DC_01: &str = "ad-dc-01";
    pub(crate) const AD_DC_03_DATA: &str = "ad-dc-03-data";
}
use names::*;

const TEMPLATES: &[Template] = &[
    // core-banking, eu-central-1
    (0, 0, Rds, LEDGER_DB, Gold, YES, "ledger", 0, 420),
    (0, 0, Aurora, ACCOUNTS_AURORA, Gold, YES, "accounts", 0, 900),
    (0, 0, Rds, CUSTOMER_DB, Gold, None, "crm", 0, 260),
    (0, 0, S3, STATEMENTS_BUCKET, Gold, None, "statements", 0, 1200),
    (0, 0, Aurora, "core-risk-aurora", Silver, None, "risk", 0, 380),
    (0, 0, Ec2, APP_01, Silver, YES, "core-api", 0, 80),
    (0, 0, Ec2, "core-app-02", Silver, None, "core-api", 0, 80),
    (0, 0, Ebs, APP_01_DATA, Silver, None, "core-api", 0, 500),
    (0, 0, Efs, SHARED_FS, Silver, YES, "core-api", 0, 350),
    (0, 0, DynamoDb, "core-sessions", Bronze, YES, "core-api", 0, 40),
    (0, 0, Ec2, "core-batch-01", Bronze, NO, "batch", 0, 60),
    (0, 0, Stack, BATCH_STACK, Bronze, None, "batch", 0, 0),
    (0, 0, Ec2, "core-batch-worker", Bronze, None, "batch", STACK_CHILD, 120),
    (0, 0, DynamoDb, BATCH_STATE, Bronze, None, "batch", STACK_CHILD, 25),
    // core-banking, eu-west-1 (disaster recovery Region)
    (0, 1, Rds, REPORTING_DB, Silver, YES, "reporting", 0, 310),
    (0, 1, DynamoDb, "core-audit-log", Gold, YES, "audit", 0, 140),
    (0, 1, S3, "nordhafen-core-archive-euw1", Bronze, None, "archive", 0, 900),
    (0, 1, Ec2, "core-dr-bastion", Bronze, None, "ops", 0, 30),
    (0, 1, Ebs, "core-dr-bastion-root", Bronze, None, "ops", 0, 30),
    // payments, eu-central-1
    (1, 0, Aurora, CLEARING_AURORA, Gold, YES, "clearing", 0, 600),
    (1, 0, Rds, SEPA_DB, Gold, YES, "sepa", 0, 280),
    (1, 0, DynamoDb, "payments-idempotency", Gold, None, "gateway", 0, 60),
    (1, 0, S3, PAYMENT_FILES, Gold, YES, "files", 0, 450),
    (1, 0, Ec2, GW_01, Silver, None, "gateway", 0, 60),
    (1, 0, Ec2, "payments-gw-02", Silver, None, "gateway", 0, 60),
    (1, 0, Ebs, "payments-gw-02-data", Bronze, None, "gateway", 0, 200),
    (1, 0, Ebs, "payments-gw-01-logs", Bronze, None, "gateway", 0, 150),
    (1, 0, Efs, PAYMENTS_BATCH_FS, Silver, None, "batch", 0, 220),
    (1, 0, Ec2, "payments-batch-01", Bronze, None, "batch", 0, 40),
    (1, 0, DynamoDb, TMP_IMPORT, Bronze, None, "migration", UNPROTECTED, 15),
    // payments, eu-west-1
    (1, 1, Rds, "payments-swift-db", Gold, YES, "swift", 0, 190),
    (1, 1, Ec2, "payments-dr-gw-01", Bronze, None, "gateway", 0, 60),
    (1, 1, S3, "nordhafen-payments-dr-euw1", Bronze, None, "files", 0, 300),
    (1, 1, DynamoDb, "payments-fx-rates", Silver, None, "fx", ON_WEEKLY_PLAN, 8),
    (1, 1, Rds, "payments-reporting-db", Silver, NO, "reporting", 0, 150),
    // shared-services, eu-central-1
    (2, 0, Ec2, AD_DC_01, Silver, YES, "directory", WINDOWS, 100),
    (2, 0, Ec2, "ad-dc-02", Silver, None, "directory", WINDOWS, 100),
    (2, 0, Efs, "tooling-fs", Bronze, None, "tooling", 0, 120),
    (2, 0, Rds, "ci-artifacts-db", Silver, None, "ci", 0, 90),
    (2, 0, S3, "nordhafen-logs-central", Bronze, None, "logging", 0, 2400),
    (2, 0, DynamoDb, "terraform-locks", Bronze, None, "tooling", 0, 1),
    (2, 0, Ebs, "jenkins-home", Bronze, None, "ci", 0, 250),
    // shared-services, eu-west-1
    (2, 1, Ec2, "ad-dc-03", Silver, YES, "directory", WINDOWS, 100),
    (2, 1, Ebs, AD_DC_03_DATA, Bronze, None, "directory", UNENCRYPTED, 100),
    (2, 1, S3, "nordhafen-config-backup-euw1", Bronze, None, "tooling", 0, 20),
];

/// A resource of the estate.
pub(crate) struct Resource {
    pub(crate) account: usize,
    pub(crate) region: usize,
    pub(crate) kind: Kind,
    pub(crate) name: String,
    pub(crate) base_name: &'static str,
    /// 0 for the scale-1 resource, 1.. for its repeats.
    pub(crate) replica: u32,
    pub(crate) arn: String,
    /// The id AWS Config uses (last part of the ARN).
    pub(crate) config_id: String,
    pub(crate) tier: Tier,
    pub(crate) candidate: Option<bool>,
    pub(crate) app: &'static str,
    pub(crate) plan: Option<usize>,
    pub(crate) windows: bool,
    pub(crate) encrypted: bool,
    pub(crate) stack_child: bool,
    /// Child resources of a CloudFormation stack.
    pub(crate) children: Vec<u32>,
    pub(crate) size_bytes: u64,
    /// Typical backup and restore durations, minutes.
    pub(crate) backup_min: f64,
    pub(crate) restore_min: f64,
}

impl Resource {
    /// Whether its template puts it on the bronze weekly plan whatever its tier (a plan that
    /// cannot meet a silver or gold RPO).
    pub(crate) fn on_weekly_plan(&self) -> bool {
        TEMPLATES
            .iter()
            .any(|t| t.0 == self.account && t.1 == self.region && t.3 == self.base_name && t.7 & ON_WEEKLY_PLAN != 0)
    }

    /// Whether this is the scale-1 instance of template `name` (scenarios only apply there).
    pub(crate) fn is(&self, name: &str) -> bool {
        self.replica == 0 && self.base_name == name
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Lock {
    None,
    Governance,
    /// Compliance mode; the lock became immutable at this time (ms).
    Compliance(i64),
}

/// A backup vault.
pub(crate) struct Vault {
    pub(crate) account: usize,
    pub(crate) region: usize,
    pub(crate) name: String,
    pub(crate) arn: String,
    pub(crate) key_arn: String,
    pub(crate) lock: Lock,
    pub(crate) min_days: Option<u32>,
    pub(crate) max_days: Option<u32>,
    pub(crate) created: i64,
}

impl Vault {
    pub(crate) fn lock_status(&self) -> &'static str {
        if self.lock == Lock::None { "UNLOCKED" } else { "LOCKED" }
    }
}

/// A backup plan with its one rule.
pub(crate) struct Plan {
    pub(crate) name: String,
    pub(crate) id: String,
    pub(crate) arn: String,
    pub(crate) version: String,
    pub(crate) rule_id: String,
    pub(crate) rule_name: &'static str,
    pub(crate) schedule: Schedule,
    pub(crate) start_window_min: i64,
    pub(crate) delete_after_days: u32,
    pub(crate) move_to_cold_days: Option<u32>,
    pub(crate) vault: usize,
    pub(crate) copy_region_vault: Option<usize>,
    /// Weekly (Sunday) cross-account copy destination.
    pub(crate) copy_account_vault: Option<usize>,
}

/// When a backup or restore-testing plan runs.
#[derive(Clone, Copy)]
pub(crate) struct Schedule {
    /// Schedule expression, as AWS shows it.
    pub(crate) cron: &'static str,
    /// Hour (UTC) at which a run starts.
    pub(crate) hour: i64,
    /// Runs only on this weekday (0 = Sunday) when set; else daily.
    pub(crate) weekday: Option<i64>,
}

impl Schedule {
    /// Whether it runs on `day` (days since the epoch).
    pub(crate) fn runs_on(&self, day: i64) -> bool {
        self.weekday.is_none_or(|w| weekday(day) == w)
    }
}

/// Day of week, 0 = Sunday.
pub(crate) fn weekday(day: i64) -> i64 {
    (day + 4).rem_euclid(7)
}

/// A restore-testing selection: one resource type, candidates picked by tag.
pub(crate) struct Selection {
    pub(crate) name: String,
    pub(crate) kind: Kind,
    pub(crate) candidates: Vec<u32>,
}

/// A restore-testing plan.
pub(crate) struct RestorePlan {
    pub(crate) account: usize,
    pub(crate) region: usize,
    pub(crate) name: &'static str,
    pub(crate) arn: String,
    pub(crate) schedule: Schedule,
    /// Whether a validation Lambda posts validation results.
    pub(crate) validation: bool,
    pub(crate) validation_window_hours: i64,
    pub(crate) selections: Vec<Selection>,
    pub(crate) created: i64,
    pub(crate) iam_role: String,
}

impl RestorePlan {
    /// 0-based number of this plan's run on `day` since the first job day.
    pub(crate) fn run_index(&self, day: i64) -> i64 {
        match self.schedule.weekday {
            None => day - FIRST_DAY,
            Some(_) => (day - FIRST_DAY) / 7,
        }
    }
}

/// The whole estate.
pub(crate) struct Model {
    pub(crate) seed: u64,
    pub(crate) scale: u32,
    /// The quarter written (the model's own days are Q3's; see `quarter.rs`).
    pub(crate) quarter: Quarter,
    pub(crate) resources: Vec<Resource>,
    /// Whether each resource exists in this quarter (indexes `resources`).
    pub(crate) exists: Vec<bool>,
    pub(crate) vaults: Vec<Vault>,
    pub(crate) plans: Vec<Plan>,
    pub(crate) restore_plans: Vec<RestorePlan>,
    /// Resource indices per account and Region.
    pub(crate) by_ar: [[Vec<u32>; 2]; 3],
    /// `AWSBackupDefaultServiceRole` ARN per account.
    pub(crate) default_role: [String; 3],
}

const VAULT_GOLD: usize = 0;
const VAULT_STANDARD: usize = 1;
const VAULT_DEFAULT: usize = 2;
/// Vaults per account and Region, in this order: gold, standard, Default (+ central for shared).
fn vault_index(acct: usize, region: usize, which: usize) -> usize {
    // shared-services has a fourth vault (central) per Region, after its three.
    acct * 6 + region * if acct == SHARED { 4 } else { 3 } + which
}

pub(crate) fn central_vault(region: usize) -> usize {
    vault_index(SHARED, region, 3)
}

fn ts_utc(y: i32, m: u32, d: u32, h: u32) -> i64 {
    use chrono::TimeZone;
    chrono::Utc.with_ymd_and_hms(y, m, d, h, 0, 0).single().map_or(0, |t| t.timestamp_millis())
}

impl Model {
    /// The estate of `scale` for `seed`: a pure function of the two.
    pub(crate) fn build(seed: u64, scale: u32, quarter: Quarter) -> Model {
        // One generator for vaults, plans and restore-testing plans, drawn in this order;
        // resources draw from their own (seed, template, replica) generators.
        let mut rng = Rng::with_seed(mix(&[seed, 1]));
        let default_role =
            ACCOUNTS.map(|a| format!("arn:aws:iam::{}:role/service-role/AWSBackupDefaultServiceRole", a.id));
        let vaults = vaults(&mut rng);
        let (plans, plan_of) = plans(&mut rng);
        let (resources, mut by_ar) = resources(seed, scale, |tp| {
            let (acct, region, kind, _, tier, _, _, flags, _) = *tp;
            if flags & UNPROTECTED != 0 {
                None
            } else if kind == Stack || flags & STACK_CHILD != 0 {
                Some(STACK_PLAN)
            } else if flags & ON_WEEKLY_PLAN != 0 {
                Some(plan_of[acct][region][Bronze as usize])
            } else {
                Some(plan_of[acct][region][tier as usize])
            }
        });
        let restore_plans = restore_plans(&mut rng, &resources, &by_ar);
        // A resource created later keeps its index (so every other resource's jobs stay the
        // same) but is listed nowhere before it exists.
        let exists: Vec<bool> =
            resources.iter().map(|r| quarter.has(Planted::TmpImportTable) || r.base_name != TMP_IMPORT).collect();
        for of_account in &mut by_ar {
            for of_region in of_account {
                of_region.retain(|&r| exists[r as usize]);
            }
        }
        Model { seed, scale, quarter, resources, exists, vaults, plans, restore_plans, by_ar, default_role }
    }

    /// The IAM role a resource's backups run with.
    pub(crate) fn backup_role(&self, res: &Resource) -> String {
        if res.kind == Kind::S3 && res.account == 0 {
            format!("arn:aws:iam::{}:role/nordhafen-backup-s3", ACCOUNTS[0].id)
        } else {
            self.default_role[res.account].clone()
        }
    }

    /// ARN of recovery point `rp` of `res` stored in vault `vault` (EC2/EBS/RDS keep their native ARNs).
    pub(crate) fn rp_arn(&self, res: &Resource, rp: u128, vault: usize) -> String {
        let v = &self.vaults[vault];
        let (region, acct) = (REGIONS[v.region], ACCOUNTS[v.account].id);
        match res.kind {
            Ec2 => format!("arn:aws:ec2:{region}::image/ami-{}", hex17(rp)),
            Ebs => format!("arn:aws:ec2:{region}::snapshot/snap-{}", hex17(rp)),
            Rds => format!("arn:aws:rds:{region}:{acct}:snapshot:awsbackup:job-{}", guid(rp, false)),
            Aurora => format!("arn:aws:rds:{region}:{acct}:cluster-snapshot:awsbackup:job-{}", guid(rp, false)),
            _ => format!("arn:aws:backup:{region}:{acct}:recovery-point:{}", guid(rp, false)),
        }
    }

    /// ARN of the resource a restore created (`test` restores get AWS Backup's test names).
    pub(crate) fn restored_arn(&self, res: &Resource, id: u128, test: bool) -> String {
        let (region, acct) = (REGIONS[res.region], ACCOUNTS[res.account].id);
        let name = if test {
            format!("awsbackup-restore-test-{:08x}", id as u32)
        } else {
            format!("{}-restored-{:06x}", res.name, (id >> 40) as u32 & 0xFF_FFFF)
        };
        match res.kind {
            Ec2 => format!("arn:aws:ec2:{region}:{acct}:instance/i-{}", hex17(id)),
            Ebs => format!("arn:aws:ec2:{region}:{acct}:volume/vol-{}", hex17(id)),
            Rds => format!("arn:aws:rds:{region}:{acct}:db:{name}"),
            Aurora => format!("arn:aws:rds:{region}:{acct}:cluster:{name}"),
            DynamoDb => format!("arn:aws:dynamodb:{region}:{acct}:table/{name}"),
            Efs => format!("arn:aws:elasticfilesystem:{region}:{acct}:file-system/fs-{}", hex17(id)),
            S3 => format!("arn:aws:s3:::{name}"),
            Stack => format!("arn:aws:cloudformation:{region}:{acct}:stack/{name}/{}", guid(id, false)),
        }
    }

    /// The vault a resource's backups go to.
    pub(crate) fn vault_of(&self, res: &Resource) -> usize {
        res.plan.map_or(0, |p| self.plans[p].vault)
    }

    /// Restore-testing plan of an account and Region, if any.
    pub(crate) fn restore_plan_of(&self, account: usize, region: usize) -> Option<usize> {
        self.restore_plans.iter().position(|p| p.account == account && p.region == region)
    }
}

/// Vaults of every account and Region, in [`vault_index`] order.
fn vaults(rng: &mut Rng) -> Vec<Vault> {
    let mut vaults = Vec::new();
    for (ai, a) in ACCOUNTS.iter().enumerate() {
        for (ri, r) in REGIONS.iter().enumerate() {
            let mut names = vec![
                format!("nordhafen-{}-gold", a.short),
                format!("nordhafen-{}-standard", a.short),
                "Default".into(),
            ];
            if ai == SHARED {
                names.push("nordhafen-central-vault".to_string());
            }
            for (wi, name) in names.into_iter().enumerate() {
                let lock = match (ai, ri, wi) {
                    (0, 0, VAULT_GOLD) => Lock::Compliance(ts_utc(2026, 2, 2, 9)),
                    (0, 0, VAULT_STANDARD) => Lock::Governance,
                    (0, 1, VAULT_GOLD) => Lock::Compliance(ts_utc(2026, 3, 16, 10)),
                    (1, 0, VAULT_GOLD) => Lock::Compliance(ts_utc(2026, 1, 19, 8)),
                    (1, 1, VAULT_GOLD) => Lock::Governance,
                    (SHARED, _, 3) => Lock::Compliance(ts_utc(2025, 11, 3, 11)),
                    _ => Lock::None,
                };
                let (min_days, max_days) = match lock {
                    Lock::None => (None, None),
                    Lock::Governance => (Some(7), Some(365)),
                    Lock::Compliance(_) => (Some(35), Some(3650)),
                };
                vaults.push(Vault {
                    account: ai,
                    region: ri,
                    arn: format!("arn:aws:backup:{r}:{}:backup-vault:{name}", a.id),
                    key_arn: format!("arn:aws:kms:{r}:{}:key/{}", a.id, guid(u128_of(rng), false)),
                    name,
                    lock,
                    min_days,
                    max_days,
                    created: ts_utc(2025, 9 + ri as u32, 1 + 7 * wi as u32, 8 + ai as u32),
                });
            }
        }
    }
    debug_assert_eq!(vaults.len(), 20);
    debug_assert_eq!(vaults[central_vault(1)].name, "nordhafen-central-vault");
    vaults
}

/// The rule of a backup plan: (plan name suffix, rule name, schedule, hour, weekday, start
/// window in minutes, retention days, days before cold storage, vault of the account and Region).
type RuleSpec = (&'static str, &'static str, &'static str, i64, Option<i64>, i64, u32, Option<u32>, usize);

/// The gold, silver and bronze plans (by [`Tier`]) of every account and Region.
const TIER_RULES: [RuleSpec; 3] = [
    ("gold-daily", "DailyGold", "cron(0 1 ? * * *)", 1, None, 60, 35, None, VAULT_GOLD),
    ("silver-daily", "DailySilver", "cron(0 23 ? * * *)", 23, None, 120, 35, None, VAULT_STANDARD),
    ("bronze-weekly", "WeeklyBronze", "cron(0 5 ? * WED *)", 5, Some(3), 480, 120, Some(30), VAULT_DEFAULT),
];
/// The plan of the CloudFormation stack and its resources (core-banking, eu-central-1).
const STACK_RULE: RuleSpec =
    ("batch-stack", "WeeklyStack", "cron(0 2 ? * SUN *)", 2, Some(0), 240, 35, None, VAULT_STANDARD);
/// Index of the stack plan: after the three tier plans of every account and Region.
const STACK_PLAN: usize = ACCOUNTS.len() * REGIONS.len() * TIER_RULES.len();

/// Plans: gold, silver, bronze per account and Region, then the stack plan; and the index of
/// each tier plan by account, Region and tier.
fn plans(rng: &mut Rng) -> (Vec<Plan>, [[[usize; 3]; 2]; 3]) {
    let mut plans = Vec::new();
    let mut plan_of = [[[0usize; 3]; 2]; 3];
    for (ai, of_account) in plan_of.iter_mut().enumerate() {
        for (ri, of_region) in of_account.iter_mut().enumerate() {
            for tier in [Gold, Silver, Bronze] {
                of_region[tier as usize] = plans.len();
                let mut plan = new_plan(rng, ai, ri, &TIER_RULES[tier as usize]);
                plan.copy_region_vault = (tier == Gold).then(|| vault_index(ai, 1 - ri, VAULT_GOLD));
                plan.copy_account_vault = (tier != Bronze && ai != SHARED).then(|| central_vault(ri));
                plans.push(plan);
            }
        }
    }
    debug_assert_eq!(plans.len(), STACK_PLAN);
    plans.push(new_plan(rng, 0, 0, &STACK_RULE));
    (plans, plan_of)
}

/// Every resource (each template `scale` times, repeats after the scale-1 one) with its plan
/// from `plan_for`, stacks linked to their children, and the resources per account and Region.
fn resources(
    seed: u64,
    scale: u32,
    plan_for: impl Fn(&Template) -> Option<usize>,
) -> (Vec<Resource>, [[Vec<u32>; 2]; 3]) {
    let mut resources = Vec::new();
    let mut by_ar: [[Vec<u32>; 2]; 3] = Default::default();
    let mut first_of_template = vec![0u32; TEMPLATES.len()];
    for (ti, tp) in TEMPLATES.iter().enumerate() {
        first_of_template[ti] = resources.len() as u32;
        for k in 0..scale {
            by_ar[tp.0][tp.1].push(resources.len() as u32);
            resources.push(resource(seed, ti, k, plan_for(tp)));
        }
    }
    // Link each stack to the children templates that follow it (same replica number).
    for (ti, tp) in TEMPLATES.iter().enumerate() {
        if tp.2 != Stack {
            continue;
        }
        let kids: Vec<usize> = (ti + 1..TEMPLATES.len()).take_while(|&c| TEMPLATES[c].7 & STACK_CHILD != 0).collect();
        for k in 0..scale {
            let children = kids.iter().map(|&c| first_of_template[c] + k).collect();
            resources[(first_of_template[ti] + k) as usize].children = children;
        }
    }
    (resources, by_ar)
}

/// Replica `k` of template `ti` (children of stacks are linked later).
fn resource(seed: u64, ti: usize, k: u32, plan: Option<usize>) -> Resource {
    let (acct, region, kind, base_name, tier, candidate, app, flags, size_gb) = TEMPLATES[ti];
    let mut r = Rng::with_seed(mix(&[seed, 2, ti as u64, u64::from(k)]));
    let name = if k == 0 { base_name.to_string() } else { format!("{base_name}-r{k:04}") };
    let (arn, config_id) = arn_and_config_id(kind, &ACCOUNTS[acct], REGIONS[region], &name, &mut r);
    let factor = if k == 0 { 1.0 } else { 0.6 + 0.8 * r.f64() };
    let gb = f64::from(size_gb) * factor;
    let (backup_min, restore_min) = durations(kind, gb);
    Resource {
        account: acct,
        region,
        kind,
        name,
        base_name,
        replica: k,
        arn,
        config_id,
        tier,
        candidate,
        app,
        plan,
        windows: flags & WINDOWS != 0,
        encrypted: flags & UNENCRYPTED == 0,
        stack_child: flags & STACK_CHILD != 0,
        children: Vec::new(),
        size_bytes: (gb * 1_073_741_824.0) as u64,
        backup_min,
        restore_min,
    }
}

/// ARN of a new resource and the id AWS Config knows it by (random ids drawn from `r`).
fn arn_and_config_id(kind: Kind, a: &Account, reg: &str, name: &str, r: &mut Rng) -> (String, String) {
    let (arn, id) = match kind {
        Ec2 => {
            let id = format!("i-{}", hex17(u128_of(r)));
            (format!("arn:aws:ec2:{reg}:{}:instance/{id}", a.id), id)
        }
        Ebs => {
            let id = format!("vol-{}", hex17(u128_of(r)));
            (format!("arn:aws:ec2:{reg}:{}:volume/{id}", a.id), id)
        }
        Rds => (format!("arn:aws:rds:{reg}:{}:db:{name}", a.id), name.to_string()),
        Aurora => (format!("arn:aws:rds:{reg}:{}:cluster:{name}", a.id), name.to_string()),
        DynamoDb => (format!("arn:aws:dynamodb:{reg}:{}:table/{name}", a.id), name.to_string()),
        Efs => {
            let id = format!("fs-{}", hex17(u128_of(r)));
            (format!("arn:aws:elasticfilesystem:{reg}:{}:file-system/{id}", a.id), id)
        }
        S3 => (format!("arn:aws:s3:::{name}"), name.to_string()),
        Stack => {
            let id = format!("{name}/{}", guid(u128_of(r), false));
            (format!("arn:aws:cloudformation:{reg}:{}:stack/{id}", a.id), id)
        }
    };
    (arn, id)
}

/// A plan of account `ai` in Region `ri` with `rule` (ids drawn from `rng`); no copies.
fn new_plan(rng: &mut Rng, ai: usize, ri: usize, rule: &RuleSpec) -> Plan {
    let &(suffix, rule_name, cron, hour, weekday, start_window_min, delete_after_days, move_to_cold_days, vault) = rule;
    let a = &ACCOUNTS[ai];
    let id = guid(u128_of(rng), false);
    let version = {
        // Backup plan versions are 40-odd URL-safe characters.
        let v = u128_of(rng);
        format!("{}{}", hex17(v), hex17(v >> 60)).to_uppercase()
    };
    Plan {
        arn: format!("arn:aws:backup:{}:{}:backup-plan:{id}", REGIONS[ri], a.id),
        id,
        version,
        rule_id: guid(u128_of(rng), false),
        name: format!("nordhafen-{}-{suffix}", a.short),
        rule_name,
        schedule: Schedule { cron, hour, weekday },
        start_window_min,
        delete_after_days,
        move_to_cold_days,
        vault: vault_index(ai, ri, vault),
        copy_region_vault: None,
        copy_account_vault: None,
    }
}

/// Typical (backup, restore) minutes for a resource of this size.
fn durations(kind: Kind, gb: f64) -> (f64, f64) {
    let (b, r) = match kind {
        Ec2 => (10.0 + gb / 8.0, 12.0 + gb / 6.0),
        Ebs => (5.0 + gb / 20.0, 4.0 + gb / 40.0),
        Rds => (6.0 + gb / 12.0, 20.0 + gb / 5.0),
        Aurora => (4.0 + gb / 60.0, 30.0 + gb / 8.0),
        DynamoDb => (3.0 + gb / 10.0, 10.0 + gb / 2.0),
        Efs => (20.0 + gb / 2.0, 15.0 + gb / 3.0),
        S3 => (30.0 + gb / 15.0, 25.0 + gb / 10.0),
        Stack => (0.0, 0.0),
    };
    (b.min(300.0), r.min(330.0))
}

fn restore_plans(rng: &mut Rng, resources: &[Resource], by_ar: &[[Vec<u32>; 2]; 3]) -> Vec<RestorePlan> {
    // (account, Region, name, schedule, hour, weekday, validation, selected resource types)
    type Spec = (usize, usize, &'static str, &'static str, i64, Option<i64>, bool, &'static [Kind]);
    let specs: [Spec; 4] = [
        (0, 0, "nordhafen_core_weekly", "cron(0 3 ? * TUE *)", 3, Some(2), true, &[Rds, Aurora, Efs, Ec2]),
        (0, 1, "nordhafen_core_dr_weekly", "cron(0 3 ? * THU *)", 3, Some(4), true, &[Rds, DynamoDb]),
        (1, 0, "nordhafen_payments_daily", "cron(0 4 ? * * *)", 4, None, true, &[Aurora, Rds, S3]),
        (SHARED, 0, "nordhafen_shared_weekly", "cron(0 3 ? * MON *)", 3, Some(1), false, &[Ec2]),
    ];
    specs
        .iter()
        .map(|&(acct, region, name, cron, hour, weekday, validation, kinds)| {
            let a = &ACCOUNTS[acct];
            let suffix: String = format!("{:010x}", rng.u64(..)).chars().take(10).collect();
            let selections = kinds
                .iter()
                .map(|&kind| Selection {
                    name: format!("{}_{}_candidates", a.short, kind.label().to_lowercase()),
                    kind,
                    candidates: by_ar[acct][region]
                        .iter()
                        .copied()
                        .filter(|&i| {
                            let r = &resources[i as usize];
                            r.kind == kind && r.candidate == Some(true) && r.plan.is_some()
                        })
                        .collect(),
                })
                .collect();
            RestorePlan {
                account: acct,
                region,
                name,
                arn: format!("arn:aws:backup:{}:{}:restore-testing-plan:{name}-{suffix}", REGIONS[region], a.id),
                schedule: Schedule { cron, hour, weekday },
                validation,
                validation_window_hours: 4,
                selections,
                created: ts_utc(2026, 4, 14, 9) + acct as i64 * 3 * DAY + region as i64 * HOUR,
                iam_role: format!("arn:aws:iam::{}:role/nordhafen-restore-testing", a.id),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estate_shape() {
        let m = Model::build(2026, 1, Quarter::Q3);
        assert!(m.resources.len() >= 40);
        assert_eq!(weekday(20_636), 4); // 2026-07-02 is a Thursday
        assert_eq!(PERIOD_START, 1_782_864_000_000);
        assert_eq!(PERIOD_END, 1_790_812_800_000);
        let stack = m.resources.iter().find(|r| r.kind == Kind::Stack).unwrap();
        assert_eq!(stack.children.len(), 2);
        assert!(m.resources[stack.children[1] as usize].is(BATCH_STATE));
        for p in &m.restore_plans {
            for s in &p.selections {
                assert!(!s.candidates.is_empty(), "{} {}", p.name, s.name);
            }
        }
        let m3 = Model::build(2026, 3, Quarter::Q3);
        assert_eq!(m3.resources.len(), 3 * m.resources.len());
    }
}
