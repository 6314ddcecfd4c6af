//! Merging observations of the same thing into one record (DESIGN §3, semantics v2).
//!
//! The same job id seen in several artifacts is one job. Observations are ranked: a terminal
//! state beats a non-terminal one; otherwise the later observation (report period end,
//! snapshot path time) wins, and an observation without a time ranks below every timed one.
//! Between terminal observations made at the same time (or both untimed) the less favourable
//! state wins — FAILED, then ABORTED, EXPIRED, PARTIAL, then COMPLETED. Only then does the
//! artifact with the smaller SHA-256 (then the earlier locator) go first, so the result never
//! depends on the order files were read in. The winner's fields stand; fields it lacks are
//! filled from the next-ranked observations. All provenances are kept, sorted, unique.
//!
//! Rules of their own for jobs ([`settle_job`]):
//! * a tie that decides a number is never settled silently: when the top-ranked tied
//!   observations differ in state, creation date or completion date, a [`Conflict`] is
//!   recorded (it goes to `evidence/conflicts.csv`);
//! * a final validation status (SUCCESSFUL, FAILED, TIMED_OUT) beats VALIDATING (and a
//!   missing one) whatever the order of observations; between final statuses the later
//!   observation wins, and at the same time the less favourable one (FAILED, TIMED_OUT, then
//!   SUCCESSFUL), listed as a conflict;
//! * a job flagged as a parent in any observation is a parent.
//!
//! Each table's key, final states and tie rules are named in its declaration
//! ([`super::table`]); the gap filling is derived from its fields.

use std::cmp::Ordering;

use serde::Serialize;

use super::model::{ControlResult, Job, JobKind, JobState, Provenance, ResourceCompliance, ValidationStatus};
use crate::artifact::Sha256Digest;
use crate::time::Timestamp;

/// A record that can be merged with other observations of the same key.
pub(crate) trait Merge: Sized {
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
    /// Among terminal observations made at the same time, the higher value goes first.
    fn severity(&self) -> u8 {
        0
    }
    /// Applies the rules the ranking alone must not decide to the ranked observations (it
    /// may change `ranked[0]`, the base of the merge) and records the conflicts it finds.
    fn settle(_ranked: &mut [Self], _conflicts: &mut Vec<Conflict>) {}
}

/// A tie the merge had to settle by a rule rather than by time (DESIGN §3 v2), one per job and
/// field: a row of `evidence/conflicts.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The job id.
    pub job_id: String,
    /// `backup`, `copy` or `restore`.
    pub job_kind: &'static str,
    /// `state`, `creation_date`, `completion_date` or `validation_status`.
    pub field: &'static str,
    /// The observation time the tied observations share (`None`: all untimed).
    pub observed_at: Option<Timestamp>,
    /// The value taken.
    pub taken: String,
    /// How it was chosen.
    pub rule: &'static str,
    /// Each tied observation that has a value: where, and what it said.
    pub seen: Vec<(Provenance, String)>,
}

impl Conflict {
    /// The distinct values seen, sorted.
    pub fn values(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.seen.iter().map(|(_, s)| s.as_str()).collect();
        v.sort_unstable();
        v.dedup();
        v
    }
}

/// Merges the observations of one key; `shas` maps artifact indices to digests. Ties settled
/// by a rule are pushed to `conflicts`.
///
/// Returns `None` only for an empty group.
pub(crate) fn merge_group<T: Merge + Serialize + Clone>(
    mut group: Vec<T>,
    shas: &[Sha256Digest],
    conflicts: &mut Vec<Conflict>,
) -> Option<T> {
    let first_prov = |r: &T| r.provenance().iter().map(|p| (sha_of(shas, p), p.locator)).min();
    group.sort_by(|a, b| {
        b.terminal()
            .cmp(&a.terminal())
            .then_with(|| b.observed_at().cmp(&a.observed_at()))
            .then_with(|| b.severity().cmp(&a.severity()))
            .then_with(|| first_prov(a).cmp(&first_prov(b)))
            .then_with(|| content(a).cmp(&content(b)))
    });
    if group.len() > 1 {
        T::settle(&mut group, conflicts);
    }
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

/// The last tie-break: observations alike in rank and source go in the order of their content
/// without provenance (as JSON text, so names compare as text: `eu-central-1` before
/// `eu-west-1`). The same bytes stored under two paths (an organisation's identical snapshots of
/// two Regions, say) are one artifact, but the path gives each its own account or Region;
/// without this the base was whichever a worker handed in first.
fn content<T: Merge + Serialize + Clone>(r: &T) -> Vec<u8> {
    let mut bare = r.clone();
    bare.provenance_mut().clear();
    serde_json::to_vec(&bare).unwrap_or_default()
}

fn sha_of(shas: &[Sha256Digest], p: &Provenance) -> Sha256Digest {
    shas.get(p.artifact as usize).copied().unwrap_or(Sha256Digest([0xff; 32]))
}

fn cmp_prov(shas: &[Sha256Digest], a: &Provenance, b: &Provenance) -> Ordering {
    sha_of(shas, a).cmp(&sha_of(shas, b)).then(a.locator.cmp(&b.locator)).then(a.artifact.cmp(&b.artifact))
}

/// Merges records held in memory by key (small tables: vaults, alarms, …; they have no
/// rules that record conflicts).
pub(crate) fn merge_all<T: Merge + Serialize + Clone>(mut records: Vec<T>, shas: &[Sha256Digest]) -> Vec<T> {
    records.sort_by_key(Merge::key);
    let mut out = Vec::new();
    let mut group: Vec<T> = Vec::new();
    let mut conflicts = Vec::new();
    for r in records {
        if group.first().is_some_and(|g| g.key() != r.key()) {
            out.extend(merge_group(std::mem::take(&mut group), shas, &mut conflicts));
        }
        group.push(r);
    }
    out.extend(merge_group(group, shas, &mut conflicts));
    out
}

/// The tie rule of tables whose ranking (final state, time, severity) is the whole rule: the
/// top-ranked observation stands as it is and no conflict is recorded.
pub(crate) fn keep_rank<T>(_ranked: &mut [T], _conflicts: &mut Vec<Conflict>) {}

/// Rank of a terminal state at a tie: the less favourable, the higher.
pub(crate) fn state_severity(j: &Job) -> u8 {
    if !j.is_terminal() {
        return 0;
    }
    match j.state {
        Some(JobState::Failed) => 5,
        Some(JobState::Aborted) => 4,
        Some(JobState::Expired) => 3,
        Some(JobState::Partial) => 2,
        _ => 1,
    }
}

/// Rank of a final validation status (0: not final), the less favourable the higher.
fn validation_severity(status: Option<&ValidationStatus>) -> u8 {
    match status {
        Some(ValidationStatus::Failed) => 3,
        Some(ValidationStatus::TimedOut) => 2,
        Some(ValidationStatus::Successful) => 1,
        _ => 0,
    }
}

/// The job rules of the module docs, on observations in rank order (`ranked[0]` is the base).
pub(crate) fn settle_job(ranked: &mut [Job], conflicts: &mut Vec<Conflict>) {
    let Some(top) = ranked.first() else { return };
    let tied = ranked.iter().take_while(|o| o.is_terminal() == top.is_terminal() && o.observed_at == top.observed_at);
    let tie = &ranked[..tied.count()];
    if tie.len() > 1 {
        let states_differ = tie.iter().filter_map(|o| o.state.as_deref()).any(|s| Some(s) != top.state.as_deref());
        let by_state = if top.is_terminal() { "less favourable state" } else { "smaller artifact SHA-256" };
        let by_rank =
            if states_differ { "from the observation whose state was taken" } else { "smaller artifact SHA-256" };
        let date = |t: Option<Timestamp>| t.map(Timestamp::to_rfc3339);
        tie_conflict(tie, "state", by_state, |o| o.state.as_deref().map(str::to_owned), conflicts);
        tie_conflict(tie, "creation_date", by_rank, |o| date(o.creation_date), conflicts);
        tie_conflict(tie, "completion_date", by_rank, |o| date(o.completion_date), conflicts);
    }
    settle_validation(ranked, conflicts);
    if ranked.iter().any(|o| o.is_parent == Some(true)) {
        ranked[0].is_parent = Some(true);
    }
}

/// Records a conflict when the tied observations hold different values of one field; the
/// value taken is the first one in rank order (the one the merge keeps). `rule` says why the
/// top-ranked observation is first; when it lacks the field, the next one with it gives it.
fn tie_conflict(
    tie: &[Job],
    field: &'static str,
    rule: &'static str,
    value: impl Fn(&Job) -> Option<String>,
    conflicts: &mut Vec<Conflict>,
) {
    let seen: Vec<(Provenance, String)> =
        tie.iter().filter_map(|o| Some((o.provenance.first().copied().unwrap_or_default(), value(o)?))).collect();
    let Some((_, taken)) = seen.first() else { return };
    if seen.iter().all(|(_, v)| v == taken) {
        return;
    }
    let rule = if value(&tie[0]).is_some() { rule } else { "first observation in rank order that has a value" };
    conflicts.push(Conflict {
        job_id: tie[0].job_id.clone(),
        job_kind: tie[0].kind.map_or("", JobKind::as_str),
        field,
        observed_at: tie[0].observed_at,
        taken: taken.clone(),
        rule,
        seen,
    });
}

/// A final validation status beats VALIDATING or none, whatever the rank of its observation;
/// the latest final one wins, at the same time the less favourable (a conflict).
fn settle_validation(ranked: &mut [Job], conflicts: &mut Vec<Conflict>) {
    let finals = || ranked.iter().filter(|o| validation_severity(o.validation_status.as_ref()) > 0);
    let Some(latest) = finals().map(|o| o.observed_at).max() else { return };
    let at_latest: Vec<&Job> = finals().filter(|o| o.observed_at == latest).collect();
    // The first of the most severe, so equal statuses keep rank order.
    let mut winner = at_latest[0];
    for o in &at_latest[1..] {
        if validation_severity(o.validation_status.as_ref()) > validation_severity(winner.validation_status.as_ref()) {
            winner = o;
        }
    }
    let (status, message) = (winner.validation_status.clone(), winner.validation_status_message.clone());
    let seen: Vec<(Provenance, String)> = at_latest
        .iter()
        .map(|o| {
            let status = o.validation_status.as_deref().unwrap_or_default().to_owned();
            (o.provenance.first().copied().unwrap_or_default(), status)
        })
        .collect();
    if seen.iter().any(|(_, v)| Some(v.as_str()) != status.as_deref()) {
        conflicts.push(Conflict {
            job_id: ranked[0].job_id.clone(),
            job_kind: ranked[0].kind.map_or("", JobKind::as_str),
            field: "validation_status",
            observed_at: latest,
            taken: status.as_deref().unwrap_or_default().to_owned(),
            rule: "less favourable validation status",
            seen,
        });
    }
    if ranked[0].validation_status != status {
        ranked[0].validation_status = status;
        ranked[0].validation_status_message = message;
    }
}

/// Identity of a control evaluation: one row per control, scope and evaluation time, so the
/// same evaluation repeated in daily reports is kept once and history is kept.
pub(crate) fn control_key(c: &ControlResult) -> String {
    let scope = [&c.account_id, &c.region, &c.framework_name].map(|v| v.as_deref().unwrap_or(""));
    evaluation_key(&[&scope[..], &[&c.control_name]].concat(), c.last_evaluation_time)
}

/// Identity of a resource evaluation (see [`control_key`]).
pub(crate) fn resource_compliance_key(r: &ResourceCompliance) -> String {
    let scope = [&r.account_id, &r.region, &r.framework_name, &r.control_name].map(|v| v.as_deref().unwrap_or(""));
    evaluation_key(&[&scope[..], &[&r.resource_id]].concat(), r.last_evaluation_time)
}

/// `part|part|…|<evaluation time in ms>`.
fn evaluation_key(parts: &[&str], evaluated: Option<Timestamp>) -> String {
    let millis = evaluated.map_or(0, Timestamp::millis).to_string();
    [parts, &[&millis]].concat().join("|")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::model::{BackupSelection, JobKind, Locator, Vault};

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

    fn merge(group: Vec<Job>, shas: &[Sha256Digest]) -> (Job, Vec<Conflict>) {
        let mut conflicts = Vec::new();
        let merged = merge_group(group, shas, &mut conflicts).unwrap();
        (merged, conflicts)
    }

    #[test]
    fn terminal_beats_later_non_terminal() {
        let mut running = obs(0, "RUNNING", 200);
        running.resource_arn = Some("arn:r".into());
        let mut done = obs(1, "COMPLETED", 100);
        done.completion_date = Some(Timestamp(150));
        let (merged, conflicts) = merge(vec![running, done], &shas(2));
        assert_eq!(merged.state.as_deref(), Some("COMPLETED"));
        assert_eq!(merged.completion_date, Some(Timestamp(150)));
        assert_eq!(merged.resource_arn.as_deref(), Some("arn:r"), "gap filled from the other observation");
        assert_eq!(merged.provenance.len(), 2);
        assert!(conflicts.is_empty());
    }

    #[test]
    fn later_wins_among_equals_and_order_does_not_matter() {
        let a = obs(0, "RUNNING", 100);
        let mut b = obs(1, "PENDING", 300);
        b.status_message = Some("later".into());
        let c = obs(2, "CREATED", 200);
        let one = merge(vec![a.clone(), b.clone(), c.clone()], &shas(3));
        let two = merge(vec![c, b, a], &shas(3));
        assert_eq!(one, two);
        assert_eq!(one.0.state.as_deref(), Some("PENDING"));
        assert!(one.1.is_empty());
    }

    #[test]
    fn an_untimed_observation_ranks_below_every_timed_one() {
        let mut untimed = obs(0, "COMPLETED", 0);
        untimed.observed_at = None;
        let timed = obs(1, "FAILED", 1);
        let (m, conflicts) = merge(vec![untimed.clone(), timed], &shas(2));
        assert_eq!((m.state.as_deref(), m.observed_at), (Some("FAILED"), Some(Timestamp(1))));
        assert!(conflicts.is_empty(), "no tie: one is timed");
        // Both untimed: a tie, settled by the state rule and listed.
        let mut other = obs(1, "ABORTED", 0);
        other.observed_at = None;
        let (m, conflicts) = merge(vec![untimed, other], &shas(2));
        assert_eq!(m.state.as_deref(), Some("ABORTED"));
        assert_eq!(conflicts.len(), 1);
        assert_eq!((conflicts[0].field, conflicts[0].observed_at), ("state", None));
    }

    #[test]
    fn completed_failed_tie_takes_failed_and_lists_a_conflict() {
        let mut a = obs(0, "COMPLETED", 100);
        a.completion_date = Some(Timestamp(90));
        a.creation_date = Some(Timestamp(10));
        let mut b = obs(1, "FAILED", 100);
        b.completion_date = Some(Timestamp(80));
        b.creation_date = Some(Timestamp(10));
        // Artifact 0 has the smaller digest: the hash alone would have picked COMPLETED.
        let (m, conflicts) = merge(vec![a.clone(), b.clone()], &shas(2));
        assert_eq!(m.state.as_deref(), Some("FAILED"));
        assert_eq!(m.completion_date, Some(Timestamp(80)));
        assert_eq!(conflicts.len(), 2, "state and completion date; the creation dates agree");
        let c = &conflicts[0];
        assert_eq!((c.job_id.as_str(), c.job_kind, c.field), ("j", "backup", "state"));
        assert_eq!((c.values(), c.taken.as_str()), (vec!["COMPLETED", "FAILED"], "FAILED"));
        assert_eq!((c.observed_at, c.rule), (Some(Timestamp(100)), "less favourable state"));
        assert_eq!(c.seen[0].0.artifact, 1, "the winner first");
        let c = &conflicts[1];
        assert_eq!((c.field, c.taken.as_str()), ("completion_date", "1970-01-01T00:00:00.080Z"));
        assert_eq!(c.rule, "from the observation whose state was taken");
        assert_eq!(merge(vec![b, a], &shas(2)).1, conflicts, "order of reading does not matter");
    }

    #[test]
    fn states_rank_failed_aborted_expired_partial_completed_at_a_tie() {
        let all = ["COMPLETED", "PARTIAL", "EXPIRED", "ABORTED", "FAILED"];
        for n in 1..=all.len() {
            let group = all[..n].iter().enumerate().map(|(i, s)| obs(i as u32, s, 5)).collect();
            let (m, conflicts) = merge(group, &shas(5));
            assert_eq!(m.state.as_deref(), Some(all[n - 1]));
            assert_eq!(conflicts.len(), usize::from(n > 1));
        }
    }

    #[test]
    fn a_date_the_winner_lacks_comes_from_the_next_tied_observation() {
        let failed = obs(0, "FAILED", 100);
        let (mut a, mut b) = (obs(1, "COMPLETED", 100), obs(2, "COMPLETED", 100));
        a.completion_date = Some(Timestamp(90));
        b.completion_date = Some(Timestamp(95));
        let (m, conflicts) = merge(vec![a, b, failed], &shas(3));
        assert_eq!((m.state.as_deref(), m.completion_date), (Some("FAILED"), Some(Timestamp(90))));
        assert_eq!(conflicts.len(), 2);
        let c = &conflicts[1];
        assert_eq!((c.field, c.taken.as_str()), ("completion_date", "1970-01-01T00:00:00.090Z"));
        assert_eq!(c.rule, "first observation in rank order that has a value");
    }

    #[test]
    fn a_tie_on_dates_alone_is_listed_with_the_digest_rule() {
        let mut a = obs(0, "COMPLETED", 100);
        a.creation_date = Some(Timestamp(10));
        let mut b = obs(1, "COMPLETED", 100);
        b.creation_date = Some(Timestamp(20));
        let table = vec![Sha256Digest([9; 32]), Sha256Digest([1; 32])];
        let (m, conflicts) = merge(vec![a, b], &table);
        assert_eq!(m.creation_date, Some(Timestamp(20)), "artifact 1 has the smaller digest");
        assert_eq!(m.provenance[0].artifact, 1, "provenance sorted by digest");
        assert_eq!(conflicts.len(), 1);
        assert_eq!((conflicts[0].field, conflicts[0].rule), ("creation_date", "smaller artifact SHA-256"));
    }

    fn restore(artifact: u32, validation: Option<&str>, observed: i64) -> Job {
        let mut j = obs(artifact, "COMPLETED", observed);
        j.kind = Some(JobKind::Restore);
        j.validation_status = validation.map(ValidationStatus::from);
        j.validation_status_message = validation.map(|v| format!("said {v}"));
        j
    }

    #[test]
    fn a_final_validation_status_beats_a_later_validating() {
        // SUCCESSFUL seen at t=100, VALIDATING at t=200: the later observation is the base,
        // but the final status wins, with its own message.
        for group in [
            vec![restore(0, Some("SUCCESSFUL"), 100), restore(1, Some("VALIDATING"), 200)],
            vec![restore(1, Some("VALIDATING"), 200), restore(0, Some("SUCCESSFUL"), 100), restore(2, None, 300)],
        ] {
            let (m, conflicts) = merge(group, &shas(3));
            assert_eq!(m.validation_status.as_deref(), Some("SUCCESSFUL"));
            assert_eq!(m.validation_status_message.as_deref(), Some("said SUCCESSFUL"));
            assert!(conflicts.is_empty());
        }
    }

    #[test]
    fn between_final_statuses_later_wins_and_a_tie_is_less_favourable() {
        let (m, conflicts) =
            merge(vec![restore(0, Some("FAILED"), 100), restore(1, Some("SUCCESSFUL"), 200)], &shas(2));
        assert_eq!(m.validation_status.as_deref(), Some("SUCCESSFUL"));
        assert!(conflicts.is_empty());
        let group = vec![
            restore(0, Some("SUCCESSFUL"), 200),
            restore(1, Some("TIMED_OUT"), 200),
            restore(2, Some("VALIDATING"), 300),
        ];
        let (m, conflicts) = merge(group, &shas(3));
        assert_eq!(m.validation_status.as_deref(), Some("TIMED_OUT"));
        assert_eq!(m.validation_status_message.as_deref(), Some("said TIMED_OUT"));
        assert_eq!(conflicts.len(), 1);
        let c = &conflicts[0];
        assert_eq!((c.field, c.job_kind, c.observed_at), ("validation_status", "restore", Some(Timestamp(200))));
        assert_eq!((c.values(), c.taken.as_str()), (vec!["SUCCESSFUL", "TIMED_OUT"], "TIMED_OUT"));
    }

    #[test]
    fn a_parent_flag_in_any_observation_makes_a_parent() {
        let mut a = obs(0, "COMPLETED", 200);
        a.is_parent = Some(false);
        let mut b = obs(1, "RUNNING", 100);
        b.is_parent = Some(true);
        assert_eq!(merge(vec![a, b], &shas(2)).0.is_parent, Some(true));
    }

    #[test]
    fn duplicate_provenance_from_identical_files_is_kept_once() {
        let a = obs(0, "COMPLETED", 100);
        let mut b = obs(1, "COMPLETED", 100);
        b.provenance[0].locator = a.provenance[0].locator;
        let same = vec![Sha256Digest([7; 32]), Sha256Digest([7; 32])];
        let (m, conflicts) = merge(vec![a, b], &same);
        assert_eq!(m.provenance.len(), 1);
        assert!(conflicts.is_empty(), "identical observations do not conflict");
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

    #[test]
    fn the_same_bytes_under_two_paths_merge_alike_whatever_the_order() {
        // One snapshot stored once (artifacts 0 and 1 have the same digest), found under two
        // Region folders: the records differ only in the Region the path gave them.
        let shas = [Sha256Digest([7; 32]), Sha256Digest([7; 32])];
        let sel = |artifact: u32, region: &str| BackupSelection {
            selection_id: "sel-1".into(),
            backup_plan_id: "plan-1".into(),
            account_id: Some("111111111111".into()),
            region: Some(region.into()),
            observed_at: Some(Timestamp(100)),
            provenance: vec![Provenance { artifact, locator: Locator::Document }],
            ..BackupSelection::default()
        };
        let a = merge_all(vec![sel(0, "eu-west-1"), sel(1, "eu-central-1")], &shas);
        let b = merge_all(vec![sel(1, "eu-central-1"), sel(0, "eu-west-1")], &shas);
        assert_eq!(a, b);
        assert_eq!(a[0].region.as_deref(), Some("eu-central-1"), "the smaller content is the base");
        // Provenance names content (digest and place), so the one artifact is named once.
        assert_eq!(a[0].provenance.len(), 1);
    }
}
