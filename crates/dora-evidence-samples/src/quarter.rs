//! Which quarter a sample tree covers, and how the second quarter differs from the first.
//!
//! The generator models one quarter, 2026-Q3, in its own day numbers. 2026-Q2 is the same
//! estate 91 days earlier: 91 days are exactly 13 weeks, so weekdays, weekly schedules and cron
//! rules stay true. The model keeps its Q3 day numbers (so every random draw, job id and
//! duration is the same in both quarters) and the shift is applied only where a time or date is
//! written ([`Quarter::at`], [`Quarter::day`]). The scenarios that differ are decided here, in one
//! place ([`Quarter::has`]), so the writers and the ground truth cannot disagree about them.

use std::fmt;
use std::str::FromStr;

use serde_json::{Value, json};

use crate::model::{FIRST_DAY, LAST_DAY, Model, PERIOD_END, PERIOD_START};
use crate::out::DAY;
use crate::out::date;

/// The quarter a sample tree covers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Quarter {
    /// 2026-Q3, the bundled sample (`samples/`).
    #[default]
    Q3,
    /// 2026-Q2: the quarter before, with some of Q3's problems not yet present and others
    /// that Q3 no longer has.
    Q2,
}

/// Days between a Q3 model day and the day written for Q2 (13 weeks).
const Q2_SHIFT_DAYS: i64 = 91;

/// A scenario that is present in one quarter only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Planted {
    /// Q3 only: the recovery point of `core-app-01` scanned on 08-05 holds malware.
    InfectedRecoveryPoint,
    /// Q3 only: `nordhafen-payments-standard` has no vault access policy.
    VaultWithoutAccessPolicy,
    /// Q3 only: `payments-tmp-import` exists (in no backup plan); in Q2 it was not created yet.
    TmpImportTable,
    /// Q3 only: the shared-services eu-west-1 alert topic's subscription is pending.
    PendingSubscription,
    /// Q2 only: `payments-batch-fs` backups fail on three days (KMS AccessDenied): RPO missed.
    /// (Scenario days are Q3 model days, 08-24..08-26, written 91 days earlier.)
    BatchFsAccessDenied,
    /// Q2 only: every restore test of `ad-dc-01` fails (no capacity): an untested candidate.
    AdDcRestoreFails,
    /// Q2 only: the `core-shared-fs` restore test of (model day) 08-18 runs past its 240-minute RTO.
    SharedFsOverRto,
    /// Q2 only: all other `core-shared-fs` restore tests fail validation, which takes the
    /// quarter's restore-test pass rate below the 90 % threshold.
    SharedFsValidationFails,
}

impl Planted {
    /// Every planted difference, in the order the ground truth lists them.
    pub(crate) const ALL: [Planted; 8] = [
        Planted::InfectedRecoveryPoint,
        Planted::VaultWithoutAccessPolicy,
        Planted::TmpImportTable,
        Planted::PendingSubscription,
        Planted::BatchFsAccessDenied,
        Planted::AdDcRestoreFails,
        Planted::SharedFsOverRto,
        Planted::SharedFsValidationFails,
    ];

    /// The quarter it belongs to.
    pub(crate) fn quarter(self) -> Quarter {
        match self {
            Planted::InfectedRecoveryPoint
            | Planted::VaultWithoutAccessPolicy
            | Planted::TmpImportTable
            | Planted::PendingSubscription => Quarter::Q3,
            Planted::BatchFsAccessDenied
            | Planted::AdDcRestoreFails
            | Planted::SharedFsOverRto
            | Planted::SharedFsValidationFails => Quarter::Q2,
        }
    }

    /// The resource (or vault, or alert scope) it concerns, and what happens in its quarter.
    fn subject(self) -> (&'static str, &'static str) {
        match self {
            Planted::InfectedRecoveryPoint => {
                ("core-app-01", "GuardDuty finds malware in the recovery point scanned on 08-05")
            }
            Planted::VaultWithoutAccessPolicy => {
                ("nordhafen-payments-standard", "vault without access policy (in Q2 it denies recovery-point deletion)")
            }
            Planted::TmpImportTable => {
                ("payments-tmp-import", "created in Q3 in no backup plan; in Q2 it does not exist")
            }
            Planted::PendingSubscription => (
                "777788889999/eu-west-1",
                "the alert topic's only subscription is pending confirmation (confirmed in Q2)",
            ),
            Planted::BatchFsAccessDenied => (
                "payments-batch-fs",
                "backups FAILED with AccessDenied (KMS key of its vault) on 2026-05-25, -26 and -27: RPO missed",
            ),
            Planted::AdDcRestoreFails => {
                ("ad-dc-01", "every restore test FAILED (no instance capacity): a candidate without a passing test")
            }
            Planted::SharedFsOverRto => {
                ("core-shared-fs", "the restore test of 2026-05-19 takes 290 minutes, over the 240-minute RTO")
            }
            Planted::SharedFsValidationFails => (
                "core-shared-fs",
                "all its other restore tests fail validation: the quarter's restore-test pass rate falls below 90 %",
            ),
        }
    }

    /// Key in `ground-truth.json`.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Planted::InfectedRecoveryPoint => "malware_in_core_app_01_recovery_point",
            Planted::VaultWithoutAccessPolicy => "nordhafen_payments_standard_without_access_policy",
            Planted::TmpImportTable => "payments_tmp_import_in_no_backup_plan",
            Planted::PendingSubscription => "shared_services_eu_west_1_subscription_pending",
            Planted::BatchFsAccessDenied => "payments_batch_fs_backups_access_denied",
            Planted::AdDcRestoreFails => "ad_dc_01_restore_tests_failed",
            Planted::SharedFsOverRto => "core_shared_fs_restore_test_over_rto",
            Planted::SharedFsValidationFails => "core_shared_fs_restore_tests_validation_failed",
        }
    }
}

impl Quarter {
    /// `2026-Q3` or `2026-Q2`.
    pub fn id(self) -> &'static str {
        match self {
            Quarter::Q3 => "2026-Q3",
            Quarter::Q2 => "2026-Q2",
        }
    }

    /// `q3-2026` or `q2-2026`, as the Audit Manager assessment names it.
    pub(crate) fn slug(self) -> &'static str {
        match self {
            Quarter::Q3 => "q3-2026",
            Quarter::Q2 => "q2-2026",
        }
    }

    /// Days added to a model day when it is written.
    pub(crate) fn shift_days(self) -> i64 {
        match self {
            Quarter::Q3 => 0,
            Quarter::Q2 => -Q2_SHIFT_DAYS,
        }
    }

    /// The written time of model time `ms`.
    pub(crate) fn at(self, ms: i64) -> i64 {
        ms + self.shift_days() * DAY
    }

    /// The written day of model day `day`.
    pub(crate) fn day(self, day: i64) -> i64 {
        day + self.shift_days()
    }

    /// The period `[start, end)` in model milliseconds: Q2 has 91 days, Q3 92.
    pub(crate) fn model_period(self) -> (i64, i64) {
        match self {
            Quarter::Q3 => (PERIOD_START, PERIOD_END),
            Quarter::Q2 => (PERIOD_START, PERIOD_START + Q2_SHIFT_DAYS * DAY),
        }
    }

    /// Whether planted scenario `p` happens in this quarter.
    pub(crate) fn has(self, p: Planted) -> bool {
        p.quarter() == self
    }
}

impl fmt::Display for Quarter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl FromStr for Quarter {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "2026-Q3" => Ok(Quarter::Q3),
            "2026-Q2" => Ok(Quarter::Q2),
            _ => Err(format!("no sample for {s}: the generator writes 2026-Q3 (default) or 2026-Q2")),
        }
    }
}

/// `quarter_differences` of `ground-truth.json` (written for 2026-Q2 only, so the Q3 sample
/// stays as it was): what Q3 adds and what Q3 no longer has, compared with this quarter.
pub(crate) fn truth(m: &Model) -> Value {
    let list = |q: Quarter| -> Vec<Value> {
        Planted::ALL
            .iter()
            .filter(|p| p.quarter() == q)
            .map(|p| {
                let (subject, what) = p.subject();
                let resource = m.resources.iter().find(|r| r.is(subject)).map(|r| r.arn.as_str());
                let arn = resource.or_else(|| m.vaults.iter().find(|v| v.name == subject).map(|v| v.arn.as_str()));
                json!({ "key": p.key(), "subject": subject, "arn": arn, "what": what })
            })
            .collect()
    };
    json!({
        "quarter": m.quarter.id(),
        "shift_days": m.quarter.shift_days(),
        "how": "the 2026-Q3 estate and jobs written 91 days (13 weeks) earlier, so weekdays and schedules \
                stay true; but for the planted jobs, the same job ids, durations and background failures; \
                only the planted differences below differ",
        "new_in_2026_q3": list(Quarter::Q3),
        "resolved_by_2026_q3": list(Quarter::Q2),
        "persisting": "every other exception (unlocked vaults, the unencrypted volume ad-dc-03-data, the untested \
                candidates, the other scenarios of the samples README) is in both quarters",
    })
}

/// The README of a quarter other than Q3: the Q3 README with its title, command and job days
/// for this quarter, and a section on what differs (the scenario dates below it stay Q3's).
pub(crate) fn readme(m: &Model, q3_text: &str) -> String {
    let (q, first, last) = (m.quarter, date(m.quarter.day(FIRST_DAY)), date(m.quarter.day(LAST_DAY)));
    let mut section = format!(
        "## How {id} differs from 2026-Q3\n\n\
This is the 2026-Q3 estate written {shift} days (13 weeks, so the same weekdays and schedules) earlier:\n\
the same resources and, but for the planted jobs, the same job ids, durations and background failures.\n\
The sections below describe 2026-Q3: every date there is {shift} days earlier in these files, and what the\n\
list here names as new in 2026-Q3 is not in them. `ground-truth.json` → `quarter_differences` lists:\n\n\
Not yet present in {id} (new in 2026-Q3):\n\n",
        id = q.id(),
        shift = -q.shift_days(),
    );
    let items = |of: Quarter| -> String {
        let lines = Planted::ALL.iter().filter(|p| p.quarter() == of).map(|p| {
            let (subject, what) = p.subject();
            format!("- `{subject}`: {what}.\n")
        });
        lines.collect()
    };
    section.push_str(&items(Quarter::Q3));
    section.push_str(&format!("\nOnly in {} (resolved by 2026-Q3):\n\n", q.id()));
    section.push_str(&items(q));
    section.push_str("\nEvery other exception persists in both quarters.\n\n## Contents\n");
    q3_text
        .replacen("2026-Q3 (fictional)", &format!("{} (fictional)", q.id()), 1)
        .replacen(" --out samples`", &format!(" --quarter {} --out <dir>`", q.id()), 1)
        .replacen("jobs from 2026-06-26 to 2026-10-04", &format!("jobs from {first} to {last}"), 1)
        .replacen("## Contents\n", &section, 1)
        .replacen(
            "get-backup-vault-access-policy-* (every vault but one)",
            "get-backup-vault-access-policy-* (every vault)",
            1,
        )
        // No scan finds malware before Q3 (`scans::planted` is empty).
        .replacen(
            "(`malware_scans`): ; every other scan is clean, so the check fails naming exactly that\nrecovery point.",
            "(`malware_scans`): every scan is clean in this quarter; the check passes.",
            1,
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::weekday;

    #[test]
    fn q2_is_q3_thirteen_weeks_earlier() {
        assert_eq!(Quarter::Q3.model_period(), (PERIOD_START, PERIOD_END));
        let (start, end) = Quarter::Q2.model_period();
        assert_eq!(date(Quarter::Q2.at(start) / DAY), "2026-04-01");
        assert_eq!(date(Quarter::Q2.at(end) / DAY), "2026-07-01");
        assert_eq!(weekday(Quarter::Q2.day(20_636)), weekday(20_636));
        assert_eq!("2026-Q2".parse::<Quarter>(), Ok(Quarter::Q2));
        assert!("2026-Q1".parse::<Quarter>().is_err());
        assert_eq!(Planted::ALL.iter().filter(|p| Quarter::Q2.has(**p)).count(), 4);
    }
}
