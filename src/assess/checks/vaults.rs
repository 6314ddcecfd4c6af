//! Checks on what keeps recovery points safe in their vaults: Vault Lock in compliance mode,
//! and legal holds.

use std::collections::{BTreeMap, BTreeSet};

use super::{CheckId, CheckResult, CheckStatus, Inputs, count, prov_set};
use crate::evidence::ArtifactKind;
use crate::evidence::model::Vault;
use crate::time::Period;

/// How a vault was locked during the period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LockMode {
    /// Compliance mode, immutable before the period ended.
    Compliance,
    /// Compliance mode still within its grace time (or immutable only after the period).
    ComplianceGrace,
    /// Governance mode: removable by privileged users.
    Governance,
    /// Not locked.
    None,
    /// The snapshot does not say.
    Unknown,
}

impl LockMode {
    /// The vault's mode for the period: a lock that became immutable only after the period did
    /// not protect it.
    pub(super) fn of(v: &Vault, period: Period) -> LockMode {
        match v.lock_date {
            Some(d) if v.locked == Some(true) && d > period.end => LockMode::ComplianceGrace,
            _ => match v.lock_mode() {
                "compliance" => LockMode::Compliance,
                "compliance_grace" => LockMode::ComplianceGrace,
                "governance" => LockMode::Governance,
                "none" => LockMode::None,
                _ => LockMode::Unknown,
            },
        }
    }

    /// Name in exceptions.
    pub(super) fn as_str(self) -> &'static str {
        match self {
            LockMode::Compliance => "compliance",
            LockMode::ComplianceGrace => "compliance_grace",
            LockMode::Governance => "governance",
            LockMode::None => "none",
            LockMode::Unknown => "unknown",
        }
    }
}

/// The vaults holding recovery points, as snapshots from the period show them, with their
/// lock mode for the period.
struct Holding<'a>(Vec<(&'a Vault, LockMode)>);

impl Holding<'_> {
    fn count(&self, mode: LockMode) -> usize {
        self.0.iter().filter(|(_, m)| *m == mode).count()
    }

    /// Vaults not locked, or whose snapshot does not say.
    fn unlocked(&self) -> usize {
        self.count(LockMode::None) + self.count(LockMode::Unknown)
    }

    fn locked(&self) -> impl Iterator<Item = &Vault> {
        self.0.iter().map(|(v, _)| *v).filter(|v| v.locked == Some(true))
    }

    /// The summary sentence; `unseen` vaults were written in the period but not snapshotted.
    fn summary(&self, unseen: usize) -> String {
        if self.0.is_empty() {
            return "No snapshot from the period shows a vault holding recovery points (list-backup-vaults / \
                    describe-backup-vault)."
                .to_owned();
        }
        let shortest_min = self.locked().filter_map(|v| v.min_retention_days).min();
        format!(
            "Of {} holding recovery points, {} are locked in compliance mode, {} in governance mode, {} still \
             within the compliance grace time, {} not locked{}{}.",
            count(self.0.len(), "vault", "vaults"),
            self.count(LockMode::Compliance),
            self.count(LockMode::Governance),
            self.count(LockMode::ComplianceGrace),
            self.unlocked(),
            shortest_min.map(|d| format!("; locked vaults keep recovery points at least {d} days")).unwrap_or_default(),
            if unseen == 0 {
                String::new()
            } else {
                format!(
                    "; {} written in the period {} no snapshot from it",
                    count(unseen, "vault", "vaults"),
                    if unseen == 1 { "has" } else { "have" }
                )
            }
        )
    }
}

/// Vault Lock on the vaults holding recovery points, as a snapshot from the period shows them.
pub(super) fn vault_lock(cx: &Inputs<'_>) -> CheckResult {
    let used = &cx.acc.vaults_used;
    let holding = Holding(
        cx.ev
            .vaults
            .iter()
            .filter(|v| cx.current(v.observed_at))
            .filter(|v| v.number_of_recovery_points.unwrap_or(0) > 0 || used.contains(&v.vault_arn))
            .map(|v| (v, LockMode::of(v, cx.period())))
            .collect(),
    );
    let seen: BTreeSet<&str> = holding.0.iter().map(|(v, _)| v.vault_arn.as_str()).collect();
    let unseen: Vec<String> = used
        .iter()
        .filter(|v| !seen.contains(v.as_str()))
        .map(|v| format!("{v} written by backups of the period, but no snapshot of it from the period"))
        .collect();
    let weak: Vec<String> = holding
        .0
        .iter()
        .filter(|(_, mode)| *mode != LockMode::Compliance)
        .map(|(v, mode)| format!("{} lock {}", v.vault_arn, mode.as_str()))
        .collect();
    let status = if holding.0.is_empty() {
        CheckStatus::NoData
    } else if holding.unlocked() > 0 {
        CheckStatus::Fail
    } else if weak.is_empty() && unseen.is_empty() {
        CheckStatus::Pass
    } else {
        CheckStatus::Warn
    };
    let compliance = holding.count(LockMode::Compliance);
    CheckResult {
        resources: Vec::new(),
        id: CheckId::VaultLock,
        title: "Backups are immutable (Vault Lock, compliance mode)",
        status,
        summary: holding.summary(unseen.len()),
        key_figure: format!("{compliance}/{} vaults compliance-locked", holding.0.len()),
        figures: BTreeMap::from([
            ("vaults", holding.0.len().to_string()),
            ("compliance", compliance.to_string()),
            ("governance", holding.count(LockMode::Governance).to_string()),
            ("none", holding.unlocked().to_string()),
            ("without_snapshot", unseen.len().to_string()),
            ("retention_min_max_days", holding.locked().map(retention).collect::<Vec<_>>().join("; ")),
        ]),
        records: holding.0.len() as u64,
        artifacts: prov_set(holding.0.iter().flat_map(|(v, _)| v.provenance.iter())),
        exceptions: weak.into_iter().chain(unseen).collect(),
    }
}

/// `name min–max days` for a locked vault.
fn retention(v: &Vault) -> String {
    let days = |d: Option<u64>| d.map_or("-".to_owned(), |d| d.to_string());
    format!(
        "{} {}–{} days",
        v.vault_name.as_deref().unwrap_or(&v.vault_arn),
        days(v.min_retention_days),
        days(v.max_retention_days)
    )
}

/// Legal holds: informational (mapped to no requirement by default). It passes only when a
/// snapshot from the period shows an active hold; a snapshot alone proves nothing.
pub(super) fn legal_holds(cx: &Inputs<'_>) -> CheckResult {
    let holds: Vec<_> = cx.ev.legal_holds.iter().filter(|h| cx.current(h.observed_at)).collect();
    let active: Vec<String> = holds
        .iter()
        .filter(|h| h.status.as_deref() == Some("ACTIVE"))
        .map(|h| format!("{} {}", h.legal_hold_id, h.title.as_deref().unwrap_or("")))
        .collect();
    let summary = if !cx.collected(ArtifactKind::LegalHoldsSnapshot) {
        "No legal-hold snapshot from the period was collected (list-legal-holds).".to_owned()
    } else if active.is_empty() {
        format!("No legal hold was active in the period's snapshots ({} recorded in all).", holds.len())
    } else {
        format!("{} legal holds recorded, {} active in the period's snapshots.", holds.len(), active.len())
    };
    CheckResult {
        resources: Vec::new(),
        id: CheckId::LegalHolds,
        title: "Legal holds are recorded",
        status: if active.is_empty() { CheckStatus::NoData } else { CheckStatus::Pass },
        summary,
        key_figure: format!("{} active legal holds", active.len()),
        figures: BTreeMap::from([("legal_holds", holds.len().to_string()), ("active", active.len().to_string())]),
        exceptions: active,
        records: holds.len() as u64,
        artifacts: prov_set(holds.iter().flat_map(|h| h.provenance.iter())),
    }
}
