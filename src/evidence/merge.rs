//! Merging observations of the same thing into one record (DESIGN §3).
//!
//! The same job id seen in several artifacts is one job. Observations are ranked: a terminal
//! state beats a non-terminal one; otherwise the later observation (report period end,
//! snapshot time) wins; a remaining tie goes to the artifact with the smaller SHA-256, then
//! the earlier locator, so the result never depends on the order files were read in. The
//! winner's fields stand; fields it lacks are filled from the next-ranked observations. All
//! provenances are kept, sorted, without duplicates.

use std::cmp::Ordering;

use super::model::{
    Alarm, ControlResult, Job, LegalHold, Provenance, RecoveryPoint, ReportIntegrity, ResourceCompliance,
    RestoreTestingPlan, RestoreTestingSelection, TaggedResource, Vault,
};
use crate::artifact::Sha256Digest;
use crate::time::Timestamp;

/// A record that can be merged with other observations of the same key.
pub trait Merge: Sized {
    /// Identity of the thing observed (job id, ARN, …).
    fn key(&self) -> String;
    /// Whether this observation shows a final state.
    fn terminal(&self) -> bool {
        false
    }
    /// When it was observed.
    fn observed_at(&self) -> Option<Timestamp>;
    /// Where it was observed.
    fn provenance(&self) -> &[Provenance];
    /// Mutable provenance list.
    fn provenance_mut(&mut self) -> &mut Vec<Provenance>;
    /// Fills fields this record lacks from `other`.
    fn fill_from(&mut self, other: &Self);
}

/// Merges the observations of one key; `shas` maps artifact indices to digests.
///
/// Returns `None` only for an empty group.
pub fn merge_group<T: Merge>(mut group: Vec<T>, shas: &[Sha256Digest]) -> Option<T> {
    let first_prov = |r: &T| r.provenance().iter().map(|p| (sha_of(shas, p), p.locator)).min();
    group.sort_by(|a, b| {
        b.terminal()
            .cmp(&a.terminal())
            .then_with(|| b.observed_at().cmp(&a.observed_at()))
            .then_with(|| first_prov(a).cmp(&first_prov(b)))
    });
    let mut it = group.into_iter();
    let mut base = it.next()?;
    for other in it {
        base.fill_from(&other);
        base.provenance_mut().extend_from_slice(other.provenance());
    }
    let provs = base.provenance_mut();
    provs.sort_by(|a, b| cmp_prov(shas, a, b));
    provs.dedup_by(|a, b| sha_of(shas, a) == sha_of(shas, b) && a.locator == b.locator);
    Some(base)
}

fn sha_of(shas: &[Sha256Digest], p: &Provenance) -> Sha256Digest {
    shas.get(p.artifact as usize).copied().unwrap_or(Sha256Digest([0xff; 32]))
}

fn cmp_prov(shas: &[Sha256Digest], a: &Provenance, b: &Provenance) -> Ordering {
    sha_of(shas, a).cmp(&sha_of(shas, b)).then(a.locator.cmp(&b.locator)).then(a.artifact.cmp(&b.artifact))
}

/// Merges records already sorted in memory by key (small tables: vaults, alarms, …).
pub fn merge_all<T: Merge>(mut records: Vec<T>, shas: &[Sha256Digest]) -> Vec<T> {
    records.sort_by_key(Merge::key);
    let mut out = Vec::new();
    let mut group: Vec<T> = Vec::new();
    for r in records {
        if group.first().is_some_and(|g| g.key() != r.key()) {
            out.extend(merge_group(std::mem::take(&mut group), shas));
        }
        group.push(r);
    }
    out.extend(merge_group(group, shas));
    out
}

macro_rules! merge_impl {
    ($t:ty, key = |$s:ident| $key:expr, terminal = |$st:ident| $term:expr, fields = [$($f:ident),* $(,)?]) => {
        impl Merge for $t {
            fn key(&self) -> String {
                let $s = self;
                $key
            }
            fn terminal(&self) -> bool {
                let $st = self;
                $term
            }
            fn observed_at(&self) -> Option<Timestamp> {
                self.observed_at
            }
            fn provenance(&self) -> &[Provenance] {
                &self.provenance
            }
            fn provenance_mut(&mut self) -> &mut Vec<Provenance> {
                &mut self.provenance
            }
            fn fill_from(&mut self, other: &Self) {
                $(
                    if self.$f.is_none() {
                        self.$f.clone_from(&other.$f);
                    }
                )*
            }
        }
    };
}

merge_impl!(
    Job,
    key = |s| s.job_id.clone(),
    terminal = |s| s.is_terminal(),
    fields = [
        kind,
        account_id,
        region,
        state,
        status_message,
        message_category,
        resource_arn,
        resource_type,
        resource_name,
        creation_date,
        completion_date,
        initiation_date,
        expected_completion_date,
        backup_vault_name,
        backup_vault_arn,
        destination_vault_arn,
        recovery_point_arn,
        destination_recovery_point_arn,
        backup_size_bytes,
        iam_role_arn,
        backup_plan_arn,
        backup_plan_name,
        backup_rule_id,
        backup_rule_name,
        is_parent,
        parent_job_id,
        vault_type,
        vault_lock_state,
        is_encrypted,
        job_run_time,
        percent_done,
        restore_testing_plan_arn,
        validation_status,
        validation_status_message,
        deletion_status,
        created_resource_arn,
        recovery_point_creation_date,
        observed_at,
    ]
);

merge_impl!(
    RecoveryPoint,
    key = |s| s.recovery_point_arn.clone(),
    terminal = |s| matches!(s.status.as_deref(), Some("COMPLETED" | "EXPIRED" | "PARTIAL")),
    fields = [
        account_id,
        region,
        backup_vault_name,
        backup_vault_arn,
        resource_arn,
        resource_type,
        resource_name,
        status,
        creation_date,
        completion_date,
        backup_size_bytes,
        is_encrypted,
        encryption_key_arn,
        storage_class,
        delete_at,
        move_to_cold_storage_at,
        last_restore_time,
        vault_type,
        observed_at,
    ]
);

merge_impl!(
    ControlResult,
    key = |s| control_key(s),
    terminal = |_s| false,
    fields = [
        account_id,
        region,
        framework_name,
        compliance_status,
        last_evaluation_time,
        resources_compliant,
        resources_non_compliant,
        control_parameters,
        observed_at,
    ]
);

merge_impl!(
    ResourceCompliance,
    key = |s| resource_compliance_key(s),
    terminal = |_s| false,
    fields = [
        account_id,
        region,
        framework_name,
        control_name,
        resource_type,
        compliance_status,
        last_evaluation_time,
        observed_at,
    ]
);

merge_impl!(
    Vault,
    key = |s| s.vault_arn.clone(),
    terminal = |_s| false,
    fields = [
        vault_name,
        account_id,
        region,
        vault_type,
        vault_state,
        encryption_key_arn,
        creation_date,
        number_of_recovery_points,
        locked,
        min_retention_days,
        max_retention_days,
        lock_date,
        observed_at,
    ]
);

merge_impl!(
    LegalHold,
    key = |s| s.legal_hold_id.clone(),
    terminal = |s| s.status.as_deref() == Some("CANCELED"),
    fields = [
        legal_hold_arn,
        account_id,
        region,
        title,
        status,
        description,
        creation_date,
        cancellation_date,
        observed_at,
    ]
);

merge_impl!(
    ReportIntegrity,
    key = |s| s.s3_path.clone(),
    terminal = |_s| false,
    fields = [
        account_id,
        region,
        signature_valid,
        signature_algorithm,
        signature_date_time,
        signature_key_id,
        validation_errors,
        observed_at,
    ]
);

merge_impl!(
    Alarm,
    key = |s| s.alarm_arn.clone(),
    terminal = |_s| false,
    fields = [
        alarm_name,
        account_id,
        region,
        namespace,
        metric_name,
        dimensions,
        statistic,
        comparison_operator,
        threshold,
        evaluation_periods,
        actions_enabled,
        alarm_actions,
        state_value,
        observed_at,
    ]
);

merge_impl!(
    TaggedResource,
    key = |s| s.resource_arn.clone(),
    terminal = |_s| false,
    fields = [account_id, region, observed_at]
);

merge_impl!(
    RestoreTestingPlan,
    key = |s| s.plan_arn.clone(),
    terminal = |_s| false,
    fields = [plan_name, account_id, region, schedule_expression, creation_time, last_execution_time, observed_at,]
);

merge_impl!(
    RestoreTestingSelection,
    key = |s| format!(
        "{}|{}|{}|{}",
        s.account_id.as_deref().unwrap_or(""),
        s.region.as_deref().unwrap_or(""),
        s.plan_name,
        s.selection_name
    ),
    terminal = |_s| false,
    fields = [protected_resource_type, iam_role_arn, validation_window_hours, creation_time, observed_at,]
);

/// Identity of a control evaluation: one row per control, scope and evaluation time, so the
/// same evaluation repeated in daily reports is kept once and history is kept.
pub fn control_key(c: &ControlResult) -> String {
    format!(
        "{}|{}|{}|{}|{}",
        c.account_id.as_deref().unwrap_or(""),
        c.region.as_deref().unwrap_or(""),
        c.framework_name.as_deref().unwrap_or(""),
        c.control_name,
        c.last_evaluation_time.map_or(0, Timestamp::millis)
    )
}

/// Identity of a resource evaluation (see [`control_key`]).
pub fn resource_compliance_key(r: &ResourceCompliance) -> String {
    format!(
        "{}|{}|{}|{}|{}|{}",
        r.account_id.as_deref().unwrap_or(""),
        r.region.as_deref().unwrap_or(""),
        r.framework_name.as_deref().unwrap_or(""),
        r.control_name.as_deref().unwrap_or(""),
        r.resource_id,
        r.last_evaluation_time.map_or(0, Timestamp::millis)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::model::{JobKind, Locator};

    fn obs(artifact: u32, state: &str, observed: i64) -> Job {
        Job {
            kind: Some(JobKind::Backup),
            job_id: "j".into(),
            state: Some(state.into()),
            observed_at: Some(Timestamp(observed)),
            provenance: vec![Provenance { artifact, locator: Locator::Line(u64::from(artifact) + 2) }],
            ..Job::default()
        }
    }

    fn shas(n: u8) -> Vec<Sha256Digest> {
        (0..n).map(|i| Sha256Digest([i; 32])).collect()
    }

    #[test]
    fn terminal_beats_later_non_terminal() {
        let mut running = obs(0, "RUNNING", 200);
        running.resource_arn = Some("arn:r".into());
        let mut done = obs(1, "COMPLETED", 100);
        done.completion_date = Some(Timestamp(150));
        let merged = merge_group(vec![running, done], &shas(2)).unwrap();
        assert_eq!(merged.state.as_deref(), Some("COMPLETED"));
        assert_eq!(merged.completion_date, Some(Timestamp(150)));
        assert_eq!(merged.resource_arn.as_deref(), Some("arn:r"), "gap filled from the other observation");
        assert_eq!(merged.provenance.len(), 2);
    }

    #[test]
    fn later_wins_among_equals_and_order_does_not_matter() {
        let a = obs(0, "RUNNING", 100);
        let mut b = obs(1, "PENDING", 300);
        b.status_message = Some("later".into());
        let c = obs(2, "CREATED", 200);
        let one = merge_group(vec![a.clone(), b.clone(), c.clone()], &shas(3)).unwrap();
        let two = merge_group(vec![c, b, a], &shas(3)).unwrap();
        assert_eq!(one, two);
        assert_eq!(one.state.as_deref(), Some("PENDING"));
    }

    #[test]
    fn ties_break_on_artifact_digest() {
        let mut a = obs(0, "COMPLETED", 100);
        a.status_message = Some("from a".into());
        let mut b = obs(1, "FAILED", 100);
        b.status_message = Some("from b".into());
        // Artifact 1 has the smaller digest here.
        let table = vec![Sha256Digest([9; 32]), Sha256Digest([1; 32])];
        let m = merge_group(vec![a, b], &table).unwrap();
        assert_eq!(m.state.as_deref(), Some("FAILED"));
        assert_eq!(m.provenance[0].artifact, 1, "provenance sorted by digest");
    }

    #[test]
    fn duplicate_provenance_from_identical_files_is_kept_once() {
        let a = obs(0, "COMPLETED", 100);
        let mut b = obs(1, "COMPLETED", 100);
        b.provenance[0].locator = a.provenance[0].locator;
        let same = vec![Sha256Digest([7; 32]), Sha256Digest([7; 32])];
        assert_eq!(merge_group(vec![a, b], &same).unwrap().provenance.len(), 1);
    }

    #[test]
    fn merge_all_groups_by_key() {
        let v = |arn: &str, locked: Option<bool>, t: i64| Vault {
            vault_arn: arn.into(),
            locked,
            observed_at: Some(Timestamp(t)),
            provenance: vec![Provenance { artifact: 0, locator: Locator::Document }],
            ..Vault::default()
        };
        let merged = merge_all(vec![v("b", Some(true), 1), v("a", None, 2), v("a", Some(false), 1)], &shas(1));
        assert_eq!(merged.len(), 2);
        assert_eq!(merged[0].vault_arn, "a");
        assert_eq!(merged[0].locked, Some(false));
        assert_eq!(merged[0].observed_at, Some(Timestamp(2)));
    }
}
