//! `vault_protection`: can the recovery points of targeted resources be deleted, and does an
//! isolated copy of each exist (DORA Art. 12(3), 9(3)(b)-(c), 5(2)(b))?
//!
//! A vault that received recovery points of a targeted resource in the period is protected
//! from deletion when, as the period's snapshots show it,
//! * it is a logically air-gapped vault (`VaultType` `LOGICALLY_AIR_GAPPED_BACKUP_VAULT`):
//!   AWS's developer guide ("Logically air-gapped vault") says such a vault "is automatically
//!   set with a vault lock in compliance mode", so it is locked by design;
//! * it is locked in compliance mode, immutable before the period ended ([`LockMode`]); or
//! * its access policy denies `backup:DeleteRecoveryPoint` to every principal with no
//!   `Condition` (`VaultAccessPolicy`; a conditional deny may not hold for every caller, so it
//!   is named and not counted).
//!
//! A governance lock (removable by privileged users), a compliance lock still in its grace
//! time, or a conditional deny alone is partial protection. A copy is isolated when it went
//! to an air-gapped vault, or to a vault in another account that is itself protected. Which
//! resources need one: every targeted resource when `[policy] copy_to` asks for copies; without
//! it isolation is counted but no resource is named for lacking it.
//!
//! The lock and vault type come from `vault_lock`'s vocabulary ([`super::vaults`]); the
//! deny rules from [`crate::evidence::alerts::deletion_deny`].

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::vaults::LockMode;
use super::{CheckId, CheckResult, CheckStatus, Inputs, count, prov_set};
use crate::evidence::ArtifactKind;
use crate::evidence::model::{Vault, VaultAccessPolicy};

/// `VaultType` of a logically air-gapped vault.
pub(crate) const AIR_GAPPED: &str = "LOGICALLY_AIR_GAPPED_BACKUP_VAULT";

/// How a vault holding targeted recovery points is protected from their deletion.
#[derive(Debug, Clone, PartialEq)]
enum Protection {
    /// Deletion is prevented: by what (`air-gapped`, `compliance lock`, `deny policy`).
    Full(&'static str),
    /// Only partly (a governance lock, a grace-time lock, a conditional deny), or the vault
    /// has no snapshot from the period and no deny: why.
    Partial(String),
    /// A snapshot of the vault shows nothing that prevents deletion: why.
    None(String),
}

/// What the period's snapshots say about one vault.
struct VaultFacts<'a> {
    vault: Option<&'a Vault>,
    policy: Option<&'a VaultAccessPolicy>,
}

impl VaultFacts<'_> {
    fn air_gapped(&self) -> bool {
        self.vault.is_some_and(|v| v.vault_type.as_deref() == Some(AIR_GAPPED))
    }

    fn protection(&self, cx: &Inputs<'_>) -> Protection {
        let lock = self.vault.map(|v| LockMode::of(v, cx.period()));
        let deny = self.policy.and_then(|p| p.denies_recovery_point_deletion).unwrap_or(false);
        let conditional = deny && self.policy.and_then(|p| p.deletion_deny_conditional) != Some(false);
        if self.air_gapped() {
            return Protection::Full("air-gapped");
        }
        if lock == Some(LockMode::Compliance) {
            return Protection::Full("compliance lock");
        }
        if deny && !conditional {
            return Protection::Full("deny policy");
        }
        let mut weak = Vec::new();
        if conditional {
            weak.push("its deny of backup:DeleteRecoveryPoint has a Condition (not counted)".to_owned());
        }
        match lock {
            Some(LockMode::Governance) => weak.push("governance lock only (removable by privileged users)".into()),
            Some(LockMode::ComplianceGrace) => weak.push("compliance lock still in its grace time".into()),
            None => weak.push("no vault snapshot from the period (lock and type unknown)".into()),
            Some(_) => {}
        }
        let policy = if self.policy.is_some() { "no deny of deletion" } else { "no access policy" };
        match (weak.is_empty(), lock) {
            (true, Some(mode)) => Protection::None(format!("{policy}, lock {}", mode.as_str())),
            _ => Protection::Partial(weak.join("; ")),
        }
    }
}

/// The vault and access-policy snapshots from the period, by vault ARN.
struct Snapshots<'a> {
    vaults: HashMap<&'a str, &'a Vault>,
    policies: HashMap<&'a str, &'a VaultAccessPolicy>,
}

impl<'a> Snapshots<'a> {
    fn of(cx: &Inputs<'a>) -> Snapshots<'a> {
        let vaults = cx.ev.vaults.iter().filter(|v| cx.current(v.observed_at));
        let policies = cx.ev.vault_access_policies.iter().filter(|p| cx.current(p.observed_at));
        Snapshots {
            vaults: vaults.map(|v| (v.vault_arn.as_str(), v)).collect(),
            policies: policies.map(|p| (p.vault_arn.as_str(), p)).collect(),
        }
    }

    fn facts(&self, arn: &str) -> VaultFacts<'a> {
        VaultFacts { vault: self.vaults.get(arn).copied(), policy: self.policies.get(arn).copied() }
    }
}

/// A vault holding recovery points of targeted resources: its ARN, how many such resources,
/// and its protection.
type Held<'a> = (&'a str, usize, Protection);

/// `vault_protection`: `fail` when a vault holding targeted recovery points of the period has
/// no deletion protection at all; `warn` for partial protection, a vault without snapshot, or
/// (when `[policy] copy_to` asks for copies) a targeted resource with no isolated copy;
/// `no_data` without a vault or access-policy snapshot from the period, or when no targeted
/// resource's recovery points were written in it.
pub(super) fn vault_protection(cx: &Inputs<'_>) -> CheckResult {
    let targeted: BTreeSet<&str> = cx.derived.targeted.iter().map(String::as_str).collect();
    let snaps = Snapshots::of(cx);
    let holding: Vec<Held<'_>> = cx
        .acc
        .held
        .iter()
        .map(|(vault, res)| (vault.as_str(), res.iter().filter(|r| targeted.contains(r.as_str())).count()))
        .filter(|(_, n)| *n > 0)
        .map(|(vault, n)| (vault, n, snaps.facts(vault).protection(cx)))
        .collect();
    let isolation = Isolation::of(cx, &targeted, |arn| {
        let f = snaps.facts(arn);
        (f.air_gapped(), matches!(f.protection(cx), Protection::Full(_)))
    });
    let evidenced = cx.collected(ArtifactKind::BackupVaultsSnapshot)
        || cx.collected(ArtifactKind::VaultAccessPolicySnapshot)
        || !snaps.vaults.is_empty()
        || !snaps.policies.is_empty();
    let count = |f: fn(&Protection) -> bool| holding.iter().filter(|(_, _, p)| f(p)).count();
    let (partial, none) = (count(|p| matches!(p, Protection::Partial(_))), count(|p| matches!(p, Protection::None(_))));
    let status = if !evidenced || holding.is_empty() {
        CheckStatus::NoData
    } else if none > 0 {
        CheckStatus::Fail
    } else if partial > 0 || !isolation.gaps.is_empty() {
        CheckStatus::Warn
    } else {
        CheckStatus::Pass
    };
    let full = |how: &'static str| holding.iter().filter(|(_, _, p)| *p == Protection::Full(how)).count();
    let protected = holding.len() - partial - none;
    let provs = holding.iter().flat_map(|(v, _, _)| {
        let f = snaps.facts(v);
        f.vault.into_iter().flat_map(|v| &v.provenance).chain(f.policy.into_iter().flat_map(|p| &p.provenance))
    });
    let mut artifacts = prov_set(provs);
    artifacts.extend(cx.acc.support.copies.iter().copied());
    CheckResult {
        resources: Vec::new(),
        id: CheckId::VaultProtection,
        title: "Recovery points cannot be deleted, and isolated copies exist",
        status,
        summary: summary(status, &holding, &isolation, targeted.len()),
        key_figure: format!("{protected}/{} vaults deletion-protected", holding.len()),
        figures: BTreeMap::from([
            ("vaults", holding.len().to_string()),
            ("protected", protected.to_string()),
            ("air_gapped", full("air-gapped").to_string()),
            ("compliance_locked", full("compliance lock").to_string()),
            ("deny_policy", full("deny policy").to_string()),
            ("partly_protected", partial.to_string()),
            ("unprotected", none.to_string()),
            ("targeted", targeted.len().to_string()),
            ("isolated_copies", isolation.isolated.to_string()),
            ("isolation_gaps", isolation.gaps.len().to_string()),
        ]),
        exceptions: if status == CheckStatus::NoData { Vec::new() } else { exceptions(&holding, &isolation) },
        records: holding
            .iter()
            .map(|(v, _, _)| snaps.facts(v))
            .map(|f| f.vault.iter().count() + f.policy.iter().count())
            .sum::<usize>() as u64,
        artifacts,
    }
}

/// The vaults not fully protected, then the targeted resources lacking a required isolated copy.
fn exceptions(holding: &[Held<'_>], isolation: &Isolation<'_>) -> Vec<String> {
    let vaults = holding.iter().filter_map(|(vault, n, p)| match p {
        Protection::Full(_) => None,
        Protection::Partial(why) => Some(format!("{vault} partly protected: {why}")),
        Protection::None(why) => {
            Some(format!("{vault} holds recovery points of {n} targeted resources, not protected from deletion: {why}"))
        }
    });
    let gaps = isolation.gaps.iter().map(|r| format!("{r} no copy in the period to an isolated vault"));
    vaults.chain(gaps).collect()
}

/// The sentence for a risk officer.
fn summary(status: CheckStatus, holding: &[Held<'_>], isolation: &Isolation<'_>, targeted: usize) -> String {
    if status == CheckStatus::NoData {
        return "No vault or access-policy snapshot from the period shows a vault that received recovery points of \
                targeted resources (collect list-backup-vaults, get-backup-vault-access-policy)."
            .to_owned();
    }
    let n = |f: &dyn Fn(&Protection) -> bool| holding.iter().filter(|(_, _, p)| f(p)).count();
    let full = |how: &'static str| n(&|p| *p == Protection::Full(how));
    format!(
        "Of {} holding recovery points of targeted resources, {} prevent their deletion ({} logically \
         air-gapped, {} locked in compliance mode, {} by an access policy denying deletion to everyone), {} only \
         partly and {} not at all; {} of {targeted} targeted resources have a copy in an isolated vault.",
        count(holding.len(), "vault", "vaults"),
        n(&|p| matches!(p, Protection::Full(_))),
        full("air-gapped"),
        full("compliance lock"),
        full("deny policy"),
        n(&|p| matches!(p, Protection::Partial(_))),
        n(&|p| matches!(p, Protection::None(_))),
        isolation.isolated,
    )
}

/// Targeted resources with a copy of the period in an isolated vault, and those that need one
/// and lack it.
struct Isolation<'a> {
    isolated: usize,
    gaps: Vec<&'a str>,
}

impl<'a> Isolation<'a> {
    /// `vault(arn)` says whether a vault is air-gapped and whether it prevents deletion.
    fn of(cx: &Inputs<'_>, targeted: &BTreeSet<&'a str>, vault: impl Fn(&str) -> (bool, bool)) -> Isolation<'a> {
        let isolated = |r: &str| {
            cx.acc.copied_to.get(r).is_some_and(|to| {
                to.iter().any(|(arn, other_account)| {
                    let (air_gapped, protected) = vault(arn);
                    air_gapped || (*other_account && protected)
                })
            })
        };
        let needed = cx.config.policy.copy_to_other_region || cx.config.policy.copy_to_other_account;
        let (with, without): (Vec<&str>, Vec<&str>) = targeted.iter().partition(|r| isolated(r));
        Isolation { isolated: with.len(), gaps: if needed { without } else { Vec::new() } }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{artifact, ts};
    use super::*;
    use crate::assess::MetricsAccumulator;
    use crate::config::Config;
    use crate::evidence::model::{Job, JobKind};
    use crate::evidence::{Evidence, Record};

    const SRC: &str = "arn:aws:backup:eu-central-1:111122223333:backup-vault:src";
    const LAG: &str = "arn:aws:backup:eu-central-1:111122223333:backup-vault:airgap";
    const OTHER: &str = "arn:aws:backup:eu-central-1:777788889999:backup-vault:central";
    const DB: &str = "arn:aws:rds:eu-central-1:111122223333:db:ledger";
    const ALL: &str = "[[target]]\nname = \"all\"\nrpo_hours = 24\n";
    const COPIES: &str = "[[target]]\nname = \"all\"\nrpo_hours = 24\n[policy]\ncopy_to = [\"other_account\"]\n";

    fn job(kind: JobKind, id: &str, to: Option<&str>) -> Record {
        Record::Job(Job {
            kind: Some(kind),
            job_id: id.into(),
            state: Some("COMPLETED".into()),
            account_id: Some("111122223333".into()),
            region: Some("eu-central-1".into()),
            resource_arn: Some(DB.into()),
            backup_vault_arn: Some(SRC.into()),
            destination_vault_arn: to.map(str::to_owned),
            creation_date: ts("2026-07-05T01:00:00Z"),
            completion_date: ts("2026-07-05T01:30:00Z"),
            ..Job::default()
        })
    }

    fn vault(arn: &str, vault_type: &str, locked: Option<bool>, lock_date: Option<&str>) -> Vault {
        Vault {
            vault_arn: arn.into(),
            vault_type: Some(vault_type.into()),
            locked,
            lock_date: lock_date.and_then(ts),
            observed_at: ts("2026-09-30T00:00:00Z"),
            ..Vault::default()
        }
    }

    fn policy(arn: &str, conditional: bool) -> VaultAccessPolicy {
        VaultAccessPolicy {
            vault_arn: arn.into(),
            denies_recovery_point_deletion: Some(true),
            deletion_deny_conditional: Some(conditional),
            observed_at: ts("2026-09-30T00:00:00Z"),
            ..VaultAccessPolicy::default()
        }
    }

    /// Runs the check over `records` (a backup of DB into SRC plus whatever is given) and the
    /// vault and policy snapshots.
    fn check(copies: &[Option<&str>], vaults: Vec<Vault>, policies: Vec<VaultAccessPolicy>, cfg: &str) -> CheckResult {
        let mut acc = MetricsAccumulator::new("2026-Q3".parse().unwrap());
        acc.observe(&job(JobKind::Backup, "b1", None));
        for (i, to) in copies.iter().enumerate() {
            acc.observe(&job(JobKind::Copy, &format!("c{i}"), *to));
        }
        let mut ev = Evidence::empty();
        if !vaults.is_empty() {
            ev.artifacts.push(artifact(ArtifactKind::BackupVaultsSnapshot));
        }
        if !policies.is_empty() {
            ev.artifacts.push(artifact(ArtifactKind::VaultAccessPolicySnapshot));
        }
        ev.vaults = vaults;
        ev.vault_access_policies = policies;
        let config = Config::parse(cfg).unwrap();
        let derived = acc.derive(&config, &ev.tagged_resources);
        vault_protection(&Inputs { acc: &acc, derived: &derived, config: &config, ev: &ev })
    }

    #[test]
    fn an_air_gapped_vault_is_locked_by_design_and_holds_an_isolated_copy() {
        let vaults = vec![vault(SRC, "BACKUP_VAULT", Some(false), None), vault(LAG, AIR_GAPPED, Some(true), None)];
        let c = check(&[Some(LAG)], vaults, vec![policy(SRC, false)], COPIES);
        assert_eq!(c.status, CheckStatus::Pass, "{c:?}");
        assert_eq!(c.figures["vaults"], "2");
        assert_eq!((c.figures["air_gapped"].as_str(), c.figures["deny_policy"].as_str()), ("1", "1"));
        assert_eq!(c.figures["isolated_copies"], "1");
        assert!(c.exceptions.is_empty(), "{:?}", c.exceptions);
    }

    #[test]
    fn a_conditional_deny_is_named_and_not_counted() {
        let c = check(&[], vec![vault(SRC, "BACKUP_VAULT", Some(false), None)], vec![policy(SRC, true)], ALL);
        assert_eq!(c.status, CheckStatus::Warn);
        assert_eq!(c.figures["protected"], "0");
        assert_eq!(c.exceptions.len(), 1);
        assert!(c.exceptions[0].starts_with(SRC) && c.exceptions[0].contains("has a Condition"), "{:?}", c.exceptions);
    }

    #[test]
    fn a_vault_with_neither_deny_nor_compliance_lock_fails_and_is_named() {
        let c = check(&[], vec![vault(SRC, "BACKUP_VAULT", Some(false), None)], vec![], ALL);
        assert_eq!(c.status, CheckStatus::Fail);
        let want = format!(
            "{SRC} holds recovery points of 1 targeted resources, not protected from deletion: no access policy, lock none"
        );
        assert_eq!(c.exceptions, [want]);
    }

    #[test]
    fn governance_only_warns_and_compliance_passes() {
        let c = check(&[], vec![vault(SRC, "BACKUP_VAULT", Some(true), None)], vec![], ALL);
        assert_eq!(c.status, CheckStatus::Warn);
        assert!(c.exceptions[0].contains("governance lock only"), "{:?}", c.exceptions);
        let c = check(&[], vec![vault(SRC, "BACKUP_VAULT", Some(true), Some("2026-01-01T00:00:00Z"))], vec![], ALL);
        assert_eq!((c.status, c.figures["compliance_locked"].as_str()), (CheckStatus::Pass, "1"));
    }

    #[test]
    fn no_snapshot_from_the_period_is_no_data() {
        let c = check(&[], vec![], vec![], ALL);
        assert_eq!(c.status, CheckStatus::NoData);
        assert!(c.exceptions.is_empty());
        // A snapshot from before the period cannot speak for it.
        let mut old = vault(SRC, "BACKUP_VAULT", Some(true), Some("2026-01-01T00:00:00Z"));
        old.observed_at = ts("2026-03-01T00:00:00Z");
        let c = check(&[], vec![old], vec![], ALL);
        assert_ne!(c.status, CheckStatus::Pass);
        // No targets: nothing to judge.
        let c = check(&[], vec![vault(SRC, "BACKUP_VAULT", Some(false), None)], vec![], "");
        assert_eq!(c.status, CheckStatus::NoData);
    }

    #[test]
    fn isolation_gaps_are_named_only_when_the_policy_asks_for_copies() {
        let locked = || vec![vault(SRC, "BACKUP_VAULT", Some(true), Some("2026-01-01T00:00:00Z"))];
        // A copy to another account's vault that nothing protects is not isolated.
        let c = check(&[Some(OTHER)], locked(), vec![], ALL);
        assert_eq!(c.figures["isolated_copies"], "0");
        // …and the destination, with no snapshot of its own, is named as not known to be protected.
        assert_eq!(c.status, CheckStatus::Warn, "{c:?}");
        assert!(c.exceptions[0].starts_with(OTHER) && c.exceptions[0].contains("no vault snapshot"), "{c:?}");
        let mut vaults = locked();
        vaults.push(vault(OTHER, "BACKUP_VAULT", Some(false), None));
        let c = check(&[], vaults.clone(), vec![], ALL);
        assert_eq!(c.status, CheckStatus::Pass);
        let c = check(&[], vaults.clone(), vec![], COPIES);
        assert_eq!(c.status, CheckStatus::Warn);
        assert_eq!(c.exceptions, [format!("{DB} no copy in the period to an isolated vault")]);
        // …protected in another account: isolated.
        let c = check(&[Some(OTHER)], vaults, vec![policy(OTHER, false)], COPIES);
        assert_eq!((c.status, c.figures["isolated_copies"].as_str()), (CheckStatus::Pass, "1"), "{c:?}");
    }
}
