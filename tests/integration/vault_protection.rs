//! Vault protection evidence (issue 15): `collect` lists logically air-gapped vaults by type
//! and the protected resources (both pages, a 403 naming `backup:ListProtectedResources`),
//! `build` reads them, and the sample quarter's `vault_protection` check names exactly the
//! planted problems.

use std::path::Path;

use super::collect::{ACCOUNT, assert_refusal_named};
use super::replay::{Req, Resp};
use super::util::{col, files_under, read_csv};

/// The vault that `ListBackupVaults` with `ByVaultType=LOGICALLY_AIR_GAPPED_BACKUP_VAULT` lists
/// in eu-central-1, whose unfiltered listing is empty (none in eu-west-1).
const AIRGAP: &str = "airgap";

fn airgap_arn(region: &str) -> String {
    format!("arn:aws:backup:{region}:{ACCOUNT}:backup-vault:{AIRGAP}")
}

fn protected(name: &str, region: &str) -> String {
    format!(
        r#"{{"ResourceArn":"arn:aws:rds:{region}:{ACCOUNT}:db:{name}","ResourceType":"RDS","LastBackupTime":1786761667.0,"ResourceName":"{name}","LastBackupVaultArn":"arn:aws:backup:{region}:{ACCOUNT}:backup-vault:central","LastRecoveryPointArn":"arn:aws:backup:{region}:{ACCOUNT}:recovery-point:{name}-rp"}}"#
    )
}

/// The replay server's answers for the calls this area adds (None: not one of them).
/// eu-west-1: two pages of protected resources, no air-gapped vault; eu-central-1: one
/// air-gapped vault with neither access policy nor notifications, ListProtectedResources
/// refused.
pub(crate) fn replay(r: &Req) -> Option<Resp> {
    let region = r.region.as_str();
    let west = region == "eu-west-1";
    let vault = airgap_arn(region);
    Some(match (r.method.as_str(), r.path.as_str()) {
        ("GET", "/backup-vaults") if r.query.get("vaultType").map(String::as_str) == Some(LAG) => {
            if west {
                Resp::json(r#"{"BackupVaultList":[]}"#)
            } else {
                Resp::json(format!(r#"{{"BackupVaultList":[{}]}}"#, airgap_vault(&vault, region)))
            }
        }
        ("GET", "/backup-vaults/airgap") if !west => Resp::json(airgap_vault(&vault, region)),
        ("GET", "/backup-vaults/airgap/recovery-points") if !west => Resp::json(r#"{"RecoveryPoints":[]}"#),
        ("GET", "/backup-vaults/airgap/notification-configuration") if !west => {
            Resp::error(404, "ResourceNotFoundException", "Backup vault airgap has no notifications")
        }
        // No access policy: an air-gapped vault is locked by design (the check counts it).
        ("GET", "/backup-vaults/airgap/access-policy") if !west => {
            Resp::error(404, "ResourceNotFoundException", "Backup vault airgap has no access policy")
        }
        ("GET", "/resources") if !west => Resp::error(
            403,
            "AccessDeniedException",
            "User: arn:aws:iam::123456789012:user/collector is not authorized to perform: backup:ListProtectedResources",
        ),
        ("GET", "/resources") => match r.query.get("nextToken").map(String::as_str) {
            None => Resp::json(format!(r#"{{"Results":[{}],"NextToken":"pr-2"}}"#, protected("payments", region))),
            Some("pr-2") => Resp::json(format!(r#"{{"Results":[{}]}}"#, protected("ledger", region))),
            Some(other) => Resp::error(400, "InvalidParameterValueException", &format!("bad token {other}")),
        },
        _ => return None,
    })
}

const LAG: &str = "LOGICALLY_AIR_GAPPED_BACKUP_VAULT";

fn airgap_vault(arn: &str, region: &str) -> String {
    format!(
        r#"{{"BackupVaultName":"{AIRGAP}","BackupVaultArn":"{arn}","VaultType":"{LAG}","VaultState":"AVAILABLE","CreationDate":1768035600.0,"EncryptionKeyArn":"arn:aws:kms:{region}:{ACCOUNT}:key/aws-owned","CreatorRequestId":"c-lag","NumberOfRecoveryPoints":0,"Locked":true,"MinRetentionDays":7,"MaxRetentionDays":3650}}"#
    )
}

/// What the collect run of `collect.rs` must have stored and built for this area: the
/// air-gapped listing in its own file, the vault described and its policy read, both pages
/// of protected resources in one CLI-shaped document, and the refusal in eu-central-1.
pub(crate) fn check_collected(store: &Path, pkg: &Path, se: &str) {
    assert_refusal_named(se, "eu-central-1", "backup:ListProtectedResources");
    let files = files_under(store);
    let stored = |region: &str, name: &str| {
        files
            .iter()
            .find(|f| f.contains(&format!("/{region}/")) && f.ends_with(&format!("/{name}")))
            .unwrap_or_else(|| panic!("{name} not stored in {region}: {files:?}"))
    };
    let west = |name: &str| stored("eu-west-1", name);
    for name in
        ["list-backup-vaults.json", "list-backup-vaults-logically-air-gapped.json", "describe-backup-vault-airgap.json"]
    {
        stored("eu-central-1", name);
    }
    let read =
        |f: &String| -> serde_json::Value { serde_json::from_slice(&std::fs::read(store.join(f)).unwrap()).unwrap() };
    let pr = read(west("list-protected-resources.json"));
    let names: Vec<&str> =
        pr["Results"].as_array().unwrap().iter().map(|r| r["ResourceName"].as_str().unwrap()).collect();
    assert_eq!(names, ["payments", "ledger"]);
    assert!(pr.get("NextToken").is_none());
    assert!(!files.iter().any(|f| f.contains("/eu-central-1/") && f.ends_with("/list-protected-resources.json")));
    // The plain listing is not overwritten by the typed one.
    let plain = read(stored("eu-central-1", "list-backup-vaults.json"));
    assert_eq!(plain["BackupVaultList"], serde_json::json!([]));
    let lag = read(stored("eu-central-1", "list-backup-vaults-logically-air-gapped.json"));
    assert_eq!(lag["BackupVaultList"][0]["BackupVaultName"], AIRGAP);

    let (h, rows) = read_csv(&pkg.join("evidence/protected_resources.csv"));
    let mut got: Vec<(&str, &str, &str)> =
        rows.iter().map(|r| (col(&h, r, "resource_name"), col(&h, r, "account"), col(&h, r, "region"))).collect();
    got.sort_unstable();
    assert_eq!(got, [("ledger", ACCOUNT, "eu-west-1"), ("payments", ACCOUNT, "eu-west-1")]);
    let row = rows.iter().find(|r| col(&h, r, "resource_name") == "payments").unwrap();
    assert_eq!(
        col(&h, row, "last_backup_vault_arn"),
        format!("arn:aws:backup:eu-west-1:{ACCOUNT}:backup-vault:central")
    );
    assert!(col(&h, row, "last_backup_time").starts_with("2026-08-15T"), "{row:?}");
    let (h, rows) = read_csv(&pkg.join("evidence/vaults.csv"));
    let lag = rows.iter().find(|r| col(&h, r, "vault_arn") == airgap_arn("eu-central-1")).expect("air-gapped vault");
    assert_eq!(col(&h, lag, "vault_type"), LAG);
    let (h, rows) = read_csv(&pkg.join("artifacts.csv"));
    let kind = |region: &str, name: &str| {
        let origin = |r: &&Vec<String>| col(&h, r, "origin").to_owned();
        let row = rows
            .iter()
            .find(|r| origin(r).contains(&format!("/{region}/")) && origin(r).ends_with(&format!("/{name}")));
        row.map(|r| col(&h, r, "kind").to_owned())
    };
    assert_eq!(kind("eu-west-1", "list-protected-resources.json").as_deref(), Some("snapshot:ProtectedResources"));
    let lag = kind("eu-central-1", "list-backup-vaults-logically-air-gapped.json");
    assert_eq!(lag.as_deref(), Some("snapshot:BackupVaults"));
}

#[test]
fn list_protected_resources_in_the_cli_shape_gives_one_record_per_resource() {
    use dora_evidence::evidence::model::ProtectedResource;
    let sink = super::util::parse_clean(
        "api/list-protected-resources/page-1.json",
        dora_evidence::evidence::ArtifactKind::ProtectedResourcesSnapshot,
    );
    let got: Vec<ProtectedResource> = sink.of();
    assert_eq!(got.len(), 3);
    assert_eq!(got[0].resource_name.as_deref(), Some("core-ledger"));
    assert_eq!(got[0].last_backup_time.map(|t| t.to_rfc3339()).as_deref(), Some("2026-09-29T01:42:10.512Z"));
    // The S3 bucket's ARN names no account or Region: the vault of its last backup does.
    assert_eq!((got[1].account_id.as_deref(), got[1].region.as_deref()), (Some("111122223333"), Some("eu-central-1")));
    assert_eq!(got[2].last_backup_vault_arn, None);
    assert_eq!(got[2].region.as_deref(), Some("eu-central-1"));
}

#[test]
fn the_air_gapped_vault_listing_evidences_the_vault_type() {
    use dora_evidence::evidence::model::Vault;
    let sink = super::util::parse_clean(
        "api/list-backup-vaults/logically-air-gapped.json",
        dora_evidence::evidence::ArtifactKind::BackupVaultsSnapshot,
    );
    let got: Vec<Vault> = sink.of();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].vault_type.as_deref(), Some(LAG));
    assert_eq!((got[0].locked, got[0].lock_date), (Some(true), None));
}

/// Issue 15: the committed sample quarter's `vault_protection` names exactly the planted
/// problem — the one vault holding targeted recovery points with neither a deny policy nor a
/// lock — and counts the logically air-gapped vault as protected.
#[test]
fn the_sample_quarter_names_exactly_the_planted_unprotected_vault() {
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let truth: serde_json::Value =
        serde_json::from_slice(&std::fs::read(samples.join("ground-truth.json")).unwrap()).unwrap();
    let t = &truth["vault_protection"];
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("pkg");
    let config = samples.join("dora-evidence.toml");
    let o = super::util::build_q3(&samples.join("input"), &out, &["--config", config.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", super::util::stderr(&o));
    let findings: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("findings.json")).unwrap()).unwrap();
    let c = findings["checks"].as_array().unwrap().iter().find(|c| c["id"] == "vault_protection").unwrap();
    let held = t["unprotected_vault"]["holds_recovery_points_of"].as_array().unwrap().len();
    let want = format!(
        "{} holds recovery points of {held} targeted resources, not protected from deletion: no access policy, lock none",
        t["unprotected_vault"]["arn"].as_str().unwrap()
    );
    assert_eq!(c["exceptions"], serde_json::json!([want]), "{c}");
    assert_eq!(c["status"], "fail");
    assert_eq!((c["figures"]["unprotected"].as_str(), c["figures"]["air_gapped"].as_str()), (Some("1"), Some("1")));
    assert_eq!(c["figures"]["partly_protected"], "0");
    // The air-gapped vault is evidenced as such, from its own listing.
    let (h, rows) = read_csv(&out.join("evidence/vaults.csv"));
    let lag = rows.iter().find(|r| col(&h, r, "vault_arn") == t["air_gapped_vault"]["arn"].as_str().unwrap()).unwrap();
    assert_eq!(col(&h, lag, "vault_type"), LAG);
    // Every vault but the planted one has a deny policy in the package.
    let (h, rows) = read_csv(&out.join("evidence/vault_access_policies.csv"));
    assert_eq!(rows.len() as u64, t["vaults_with_deny_policy"].as_u64().unwrap());
    assert!(rows.iter().all(|r| col(&h, r, "denies_recovery_point_deletion") == "true"
        && col(&h, r, "deletion_deny_conditional") == "false"));
    let (_, rows) = read_csv(&out.join("evidence/protected_resources.csv"));
    assert!(!rows.is_empty());
}
