//! What keeps the sample estate's recovery points from deletion, as `collect` stores it:
//! each vault's access policy (`get-backup-vault-access-policy-<vault>.json`, first snapshot),
//! the logically air-gapped vault's own listing (`list-backup-vaults-logically-air-gapped.json`,
//! every snapshot), and `list-protected-resources.json` (last snapshot).
//!
//! Planted: the payments standard vault in eu-central-1 ([`unprotected_vault`]) holds the
//! silver recovery points of that account and Region and has no access policy and no lock.
//! Every other vault denies `backup:DeleteRecoveryPoint` to everyone. The shared-services
//! central vault in eu-central-1 ([`air_gapped_vault`]) is logically air-gapped: it receives
//! the weekly cross-account copies of the gold and silver resources of that Region.

use std::collections::BTreeMap;
use std::io;

use serde::Serialize;

use super::jobs::{Job, State, backups};
use super::model::{Model, central_vault};
use super::out::{DAY, Out, Ts, TsStyle};
use super::quarter::Planted;

/// `VaultType` of a logically air-gapped vault.
pub(crate) const AIR_GAPPED: &str = "LOGICALLY_AIR_GAPPED_BACKUP_VAULT";

/// The shared-services central vault of eu-central-1: logically air-gapped.
pub(crate) fn air_gapped_vault() -> usize {
    central_vault(0)
}

/// The planted problem (2026-Q3 only; in Q2 it still had its policy): payments' standard vault
/// in eu-central-1 (silver, daily) has neither an access policy nor a lock.
pub(crate) fn unprotected_vault(m: &Model) -> Option<usize> {
    if !m.quarter.has(Planted::VaultWithoutAccessPolicy) {
        return None;
    }
    m.vaults.iter().position(|v| v.account == 1 && v.region == 0 && v.name.ends_with("-standard"))
}

/// `VaultType` of vault `v` as the AWS CLI prints it.
pub(crate) fn vault_type(v: usize) -> &'static str {
    if v == air_gapped_vault() { AIR_GAPPED } else { "BACKUP_VAULT" }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AccessPolicy<'a> {
    backup_vault_name: &'a str,
    backup_vault_arn: &'a str,
    /// The policy document, a JSON string (as the API returns it).
    policy: String,
}

/// A policy denying deletion of recovery points (and shortening their lifecycle) to every
/// principal, with the allow the account's backup operators use.
fn deny_deletion_policy(vault_arn: &str, account: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowBackupOperators",
                "Effect": "Allow",
                "Principal": {"AWS": format!("arn:aws:iam::{account}:role/nordhafen-backup-operator")},
                "Action": ["backup:DescribeBackupVault", "backup:ListRecoveryPointsByBackupVault"],
                "Resource": vault_arn,
            },
            {
                "Sid": "DenyRecoveryPointDeletion",
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": ["backup:DeleteRecoveryPoint", "backup:UpdateRecoveryPointLifecycle"],
                "Resource": "*",
            },
        ],
    })
    .to_string()
}

/// The access policies of the vaults of `acct` × `region` (all but the planted one).
pub(crate) fn write_access_policies(m: &Model, out: &mut Out, dir: &str, acct: usize, region: usize) -> io::Result<()> {
    let unprotected = unprotected_vault(m);
    for (i, v) in m.vaults.iter().enumerate() {
        if v.account != acct || v.region != region || Some(i) == unprotected {
            continue;
        }
        let account = super::model::ACCOUNTS[acct].id;
        let doc = AccessPolicy {
            backup_vault_name: &v.name,
            backup_vault_arn: &v.arn,
            policy: deny_deletion_policy(&v.arn, account),
        };
        out.write_json(&format!("{dir}/get-backup-vault-access-policy-{}.json", v.name), &doc)?;
    }
    Ok(())
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ProtectedResource<'a> {
    resource_arn: &'a str,
    resource_type: &'a str,
    last_backup_time: Ts,
    resource_name: &'a str,
    last_backup_vault_arn: &'a str,
    last_recovery_point_arn: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Results<'a> {
    results: Vec<ProtectedResource<'a>>,
}

/// How far back `list-protected-resources` looks for a resource's last backup (two weeks
/// covers the weekly plans).
const LOOKBACK_DAYS: i64 = 14;

/// `list-protected-resources.json` at `at`: every resource of `acct` × `region` with a
/// completed backup in the two weeks before, with its latest one.
pub(crate) fn write_protected_resources(
    m: &Model,
    out: &mut Out,
    dir: &str,
    (acct, region): (usize, usize),
    at: i64,
    style: TsStyle,
) -> io::Result<()> {
    // Resource → (completion, recovery point id) of its latest completed backup.
    let mut last: BTreeMap<u32, (i64, u128)> = BTreeMap::new();
    let mut buf = Vec::new();
    for day in (at - LOOKBACK_DAYS * DAY).div_euclid(DAY)..=at.div_euclid(DAY) {
        buf.clear();
        for &r in &m.by_ar[acct][region] {
            backups(m, r, day, &mut buf);
        }
        for job in &buf {
            let Job::Backup(b) = job else { continue };
            let t = &b.core.time;
            if b.is_parent || t.state != State::Completed || t.end > at {
                continue;
            }
            let slot = last.entry(b.core.res).or_insert((t.end, b.rp));
            if t.end >= slot.0 {
                *slot = (t.end, b.rp);
            }
        }
    }
    let results = last
        .iter()
        .map(|(&r, &(end, rp))| {
            let res = &m.resources[r as usize];
            let vault = m.vault_of(res);
            ProtectedResource {
                resource_arn: &res.arn,
                resource_type: res.kind.label(),
                last_backup_time: Ts(m.quarter.at(end), style),
                resource_name: &res.name,
                last_backup_vault_arn: &m.vaults[vault].arn,
                last_recovery_point_arn: m.rp_arn(res, rp, vault),
            }
        })
        .collect();
    out.write_json(&format!("{dir}/list-protected-resources.json"), &Results { results })
}

/// `vault_protection` in `ground-truth.json`: the planted unprotected vault and the resources
/// whose recovery points it holds, the air-gapped vault, and the vaults with a deny policy.
pub(crate) fn truth(m: &Model) -> serde_json::Value {
    let unprotected = unprotected_vault(m).map(|u| {
        let held: Vec<&str> = m
            .resources
            .iter()
            .filter(|r| r.plan.is_some_and(|p| m.plans[p].vault == u))
            .map(|r| r.arn.as_str())
            .collect();
        serde_json::json!({
            "arn": m.vaults[u].arn,
            "holds_recovery_points_of": held,
            "why": "no access policy (no get-backup-vault-access-policy file) and no Vault Lock",
        })
    });
    let with_policy = m.vaults.len() - usize::from(unprotected.is_some());
    serde_json::json!({
        "unprotected_vault": unprotected,
        "air_gapped_vault": {
            "arn": m.vaults[air_gapped_vault()].arn,
            "vault_type": AIR_GAPPED,
            "receives": "the weekly (Sunday) cross-account copies of the gold and silver resources of eu-central-1",
        },
        "vaults_with_deny_policy": with_policy,
    })
}
