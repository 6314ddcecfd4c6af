//! `dora-evidence.toml`: the entity's recovery targets and what marks a restore-testing
//! candidate (DESIGN §4).
//!
//! Targets are rules: the first `[[target]]` whose given match keys (`resource_type`, `tag`,
//! `arn` glob) all match a resource applies to it. Unknown keys and bad values are errors that
//! name the file, line and key — a typo in a target must never silently loosen a verdict.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

/// The parsed, checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Legal name of the entity the package is for.
    pub entity: Option<String>,
    /// `ict_risk_framework`: which requirements apply (default: standard).
    pub framework: Framework,
    /// Target rules, in file order.
    pub targets: Vec<Target>,
    /// Tag (`key=value`) that marks a resource as a restore-testing candidate.
    pub candidate_tag: (String, String),
    /// Pass marks for rate checks.
    pub thresholds: Thresholds,
    /// `[signing]`: who signs the package.
    pub signing: SigningConfig,
    /// `[archive]`: where and how long packages are kept.
    pub archive: ArchiveConfig,
    /// `[policy]`: what a backup plan must do for a targeted resource besides meeting its RPO.
    pub policy: PolicyConfig,
    /// `[report]`: who prepares, reviews and approves the report (its sign-off block).
    pub report: ReportConfig,
    /// SHA-256 of the file's bytes (empty config: of the empty string).
    pub sha256: String,
    /// The file's text, recorded verbatim in the package (`config/dora-evidence.toml`) so that
    /// `rebuild` can re-perform it.
    pub text: String,
}

/// The ICT risk-management framework an entity is under: the standard one (DORA Art. 5–15,
/// RTS 2024/1774 Title II) or the simplified one (DORA Art. 16, RTS Title III).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Framework {
    /// DORA Art. 5–15 and RTS Title II (the default).
    #[default]
    Standard,
    /// DORA Art. 16 and RTS Title III.
    Simplified,
}

impl Framework {
    /// Name in the config and mapping files.
    pub fn as_str(self) -> &'static str {
        match self {
            Framework::Standard => "standard",
            Framework::Simplified => "simplified",
        }
    }

    /// Parses `standard` or `simplified`.
    pub fn parse(s: &str) -> Option<Framework> {
        match s {
            "standard" => Some(Framework::Standard),
            "simplified" => Some(Framework::Simplified),
            _ => None,
        }
    }
}

/// `[policy]`: what the `policy_covers_targets` check asks of the backup plan that covers a
/// targeted resource, besides a schedule at least as frequent as its RPO.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PolicyConfig {
    /// A rule must keep recovery points at least this many days (`min_retention_days`).
    pub min_retention_days: Option<u32>,
    /// A rule must copy to a vault in another Region (`copy_to` contains `"other_region"`).
    pub copy_to_other_region: bool,
    /// A rule must copy to a vault in another account (`copy_to` contains `"other_account"`).
    pub copy_to_other_account: bool,
}

impl PolicyConfig {
    fn parse(raw: Option<RawPolicy>, line_of: impl Fn(usize) -> usize) -> Result<Self, (Option<usize>, String)> {
        let Some(raw) = raw else { return Ok(PolicyConfig::default()) };
        let mut policy = PolicyConfig { min_retention_days: raw.min_retention_days, ..PolicyConfig::default() };
        for item in raw.copy_to.unwrap_or_default() {
            match item.get_ref().as_str() {
                "other_region" => policy.copy_to_other_region = true,
                "other_account" => policy.copy_to_other_account = true,
                other => {
                    let message =
                        format!("policy.copy_to: {other:?} is neither \"other_region\" nor \"other_account\"");
                    return Err((Some(line_of(item.span().start)), message));
                }
            }
        }
        Ok(policy)
    }
}

/// `[archive]`: defaults for `dora-evidence archive`; flags override.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ArchiveConfig {
    /// `s3://bucket/prefix`.
    pub to: Option<String>,
    /// `COMPLIANCE` or `GOVERNANCE`.
    pub mode: Option<String>,
    /// Default retention in years.
    pub retain_years: Option<u32>,
    /// The entity's policy: no package is kept for less than this many years.
    pub min_retain_years: Option<u32>,
}

/// `[signing]`: the signing identity and what the PDF signature says. Paths are relative to
/// the config file; command-line flags override every key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SigningConfig {
    /// Private key (PEM).
    pub key: Option<PathBuf>,
    /// Certificate chain (PEM), signer first.
    pub cert: Option<PathBuf>,
    /// AWS KMS key id or ARN (instead of `key`).
    pub kms_key_id: Option<String>,
    /// `/Reason` of the PDF signature.
    pub reason: Option<String>,
    /// `/Location` of the PDF signature.
    pub location: Option<String>,
    /// `/ContactInfo` of the PDF signature.
    pub contact_info: Option<String>,
    /// RFC 3161 time-stamping authority URL (CAdES-T and PAdES B-T / B-LT / B-LTA).
    pub tsa: Option<String>,
    /// Trust anchors (PEM) for the TSA's certificate; tokens are checked against them.
    pub tsa_ca: Option<PathBuf>,
    /// HTTP basic-auth user for the TSA; the password comes from `DORA_EVIDENCE_TSA_PASSWORD`.
    pub tsa_user: Option<String>,
    /// mTLS client certificate (PEM) for the TSA.
    pub tsa_client_cert: Option<PathBuf>,
    /// mTLS client key (PEM) for the TSA.
    pub tsa_client_key: Option<PathBuf>,
    /// Roots (PEM) for the TSA's HTTPS certificate, instead of the public web roots.
    pub tsa_tls_ca: Option<PathBuf>,
    /// Seconds to wait for the TSA (default 30).
    pub tsa_timeout_seconds: Option<u32>,
    /// Build an untimestamped package (said on the cover) when the TSA fails.
    pub tsa_optional: bool,
}

/// `[report]`: the sign-off block on the report's cover. A role left out prints blank lines
/// to sign by hand.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReportConfig {
    /// Who prepared the package.
    pub prepared_by: Option<SignOff>,
    /// Who reviewed it.
    pub reviewed_by: Option<SignOff>,
    /// Who approved it.
    pub approved_by: Option<SignOff>,
}

/// A person in the sign-off block: `{ name = "…", role = "…", date = "2026-10-15" }`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct SignOff {
    /// Full name.
    pub name: String,
    /// Role or function.
    #[serde(default)]
    pub role: Option<String>,
    /// Date signed, as written.
    #[serde(default)]
    pub date: Option<String>,
}

/// `[thresholds]`: the lowest rates that still pass (0 < x ≤ 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Completed / finished backup jobs (default 0.95).
    pub backup_success_rate: f64,
    /// Passed / run restore tests (default 0.90).
    pub restore_test_pass_rate: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds { backup_success_rate: 0.95, restore_test_pass_rate: 0.90 }
    }
}

/// One `[[target]]` rule.
#[derive(Debug, Clone)]
pub struct Target {
    /// Name shown in findings.
    pub name: String,
    /// Resource type as in Backup reports (`RDS`, `EC2`, …), compared case-insensitively.
    pub resource_type: Option<String>,
    /// Tag `key=value` from the tag inventory.
    pub tag: Option<(String, String)>,
    /// ARN glob (`*`, `?`, `[…]`).
    pub arn: Option<glob::Pattern>,
    /// Recovery point objective in hours.
    pub rpo_hours: Option<f64>,
    /// Recovery time objective in minutes.
    pub rto_minutes: Option<f64>,
}

impl Target {
    /// Whether every match key this rule gives matches the resource.
    pub fn matches(&self, resource_type: Option<&str>, arn: &str, tags: &[(String, String)]) -> bool {
        if let Some(want) = &self.resource_type
            && !resource_type.is_some_and(|t| t.eq_ignore_ascii_case(want))
        {
            return false;
        }
        if let Some((k, v)) = &self.tag
            && !tags.iter().any(|(tk, tv)| tk == k && tv == v)
        {
            return false;
        }
        if let Some(p) = &self.arn
            && !p.matches(arn)
        {
            return false;
        }
        true
    }
}

impl Config {
    /// The first target that applies to a resource.
    pub fn target_for(&self, resource_type: Option<&str>, arn: &str, tags: &[(String, String)]) -> Option<&Target> {
        self.targets.iter().find(|t| t.matches(resource_type, arn, tags))
    }

    /// Reads and checks a config file.
    ///
    /// # Errors
    /// When the file cannot be read, is not TOML, has unknown keys or bad values.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: path.to_path_buf(),
            line: None,
            message: e.to_string(),
        })?;
        let mut config =
            Config::parse(&text).map_err(|(line, message)| ConfigError { path: path.to_path_buf(), line, message })?;
        let base = path.parent().unwrap_or(Path::new(""));
        let s = &mut config.signing;
        for p in
            [&mut s.key, &mut s.cert, &mut s.tsa_ca, &mut s.tsa_client_cert, &mut s.tsa_client_key, &mut s.tsa_tls_ca]
                .into_iter()
                .flatten()
        {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        Ok(config)
    }

    /// Parses config text; errors are (line, message).
    ///
    /// # Errors
    /// As for [`Config::load`].
    pub fn parse(text: &str) -> Result<Config, (Option<usize>, String)> {
        let line_of = |offset: usize| text[..offset.min(text.len())].bytes().filter(|&b| b == b'\n').count() + 1;
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(s.start));
            (line, e.message().to_owned())
        })?;
        let candidate_tag = match raw.restore_testing.and_then(|r| r.candidate_tag) {
            Some(t) => split_tag(t.get_ref())
                .ok_or_else(|| (Some(line_of(t.span().start)), "candidate_tag must be key=value".to_owned()))?,
            None => ("restore_testing_candidate".to_owned(), "true".to_owned()),
        };
        let thresholds = Thresholds::parse(raw.thresholds, line_of)?;
        let targets = raw
            .target
            .into_iter()
            .enumerate()
            .map(|(i, t)| Target::parse(t, i, line_of))
            .collect::<Result<Vec<_>, _>>()?;
        let signing = SigningConfig::parse(raw.signing, line_of)?;
        let archive = ArchiveConfig::parse(raw.archive, line_of)?;
        let framework = match raw.ict_risk_framework {
            Some(s) => Framework::parse(s.get_ref()).ok_or_else(|| {
                (
                    Some(line_of(s.span().start)),
                    format!("ict_risk_framework must be \"standard\" or \"simplified\", got {:?}", s.get_ref()),
                )
            })?,
            None => Framework::default(),
        };
        let policy = PolicyConfig::parse(raw.policy, line_of)?;
        Ok(Config {
            entity: raw.entity,
            framework,
            targets,
            candidate_tag,
            thresholds,
            signing,
            archive,
            policy,
            report: raw.report.unwrap_or_default(),
            sha256: crate::artifact::Sha256Digest::of(text.as_bytes()).hex(),
            text: text.to_owned(),
        })
    }
}

/// A config error: the line (when known) and the message.
type ParseError = (Option<usize>, String);

impl Thresholds {
    fn parse(raw: Option<RawThresholds>, line_of: impl Fn(usize) -> usize) -> Result<Self, ParseError> {
        let mut thresholds = Thresholds::default();
        let Some(t) = raw else { return Ok(thresholds) };
        let rate = |v: Option<Spanned<f64>>, key: &str, default: f64| match v {
            Some(s) if !(*s.get_ref() > 0.0 && *s.get_ref() <= 1.0) => {
                Err((Some(line_of(s.span().start)), format!("thresholds.{key} must be in (0, 1], got {}", s.get_ref())))
            }
            Some(s) => Ok(s.into_inner()),
            None => Ok(default),
        };
        thresholds.backup_success_rate =
            rate(t.backup_success_rate, "backup_success_rate", thresholds.backup_success_rate)?;
        thresholds.restore_test_pass_rate =
            rate(t.restore_test_pass_rate, "restore_test_pass_rate", thresholds.restore_test_pass_rate)?;
        Ok(thresholds)
    }
}

impl Target {
    /// The `i`-th `[[target]]`.
    fn parse(t: RawTarget, i: usize, line_of: impl Fn(usize) -> usize) -> Result<Self, ParseError> {
        let at = |span: std::ops::Range<usize>| Some(line_of(span.start));
        let name = t.name.map(Spanned::into_inner).unwrap_or_else(|| format!("target {}", i + 1));
        let positive = |v: Option<Spanned<f64>>, key: &str| -> Result<Option<f64>, ParseError> {
            match v {
                Some(s) if !(s.get_ref().is_finite() && *s.get_ref() > 0.0) => {
                    Err((at(s.span()), format!("{name}: {key} must be a positive number, got {}", s.get_ref())))
                }
                other => Ok(other.map(Spanned::into_inner)),
            }
        };
        let rpo_hours = positive(t.rpo_hours, "rpo_hours")?;
        let rto_minutes = positive(t.rto_minutes, "rto_minutes")?;
        let tag = match t.tag {
            Some(s) => {
                Some(split_tag(s.get_ref()).ok_or_else(|| (at(s.span()), format!("{name}: tag must be key=value")))?)
            }
            None => None,
        };
        let arn = match t.arn {
            Some(s) => Some(
                glob::Pattern::new(s.get_ref())
                    .map_err(|e| (at(s.span()), format!("{name}: arn is not a valid glob: {e}")))?,
            ),
            None => None,
        };
        Ok(Target { name, resource_type: t.resource_type, tag, arn, rpo_hours, rto_minutes })
    }
}

impl SigningConfig {
    fn parse(raw: Option<RawSigning>, line_of: impl Fn(usize) -> usize) -> Result<Self, ParseError> {
        let Some(s) = raw else { return Ok(SigningConfig::default()) };
        if s.key.is_some() && s.kms_key_id.is_some() {
            let at = s.kms_key_id.as_ref().map(|k| line_of(k.span().start));
            return Err((at, "signing: give either key or kms_key_id, not both".to_owned()));
        }
        Ok(SigningConfig {
            key: s.key.map(PathBuf::from),
            cert: s.cert.map(PathBuf::from),
            kms_key_id: s.kms_key_id.map(Spanned::into_inner),
            reason: s.reason,
            location: s.location,
            contact_info: s.contact_info,
            tsa: s.tsa,
            tsa_ca: s.tsa_ca.map(PathBuf::from),
            tsa_user: s.tsa_user,
            tsa_client_cert: s.tsa_client_cert.map(PathBuf::from),
            tsa_client_key: s.tsa_client_key.map(PathBuf::from),
            tsa_tls_ca: s.tsa_tls_ca.map(PathBuf::from),
            tsa_timeout_seconds: s.tsa_timeout_seconds,
            tsa_optional: s.tsa_optional.unwrap_or(false),
        })
    }
}

impl ArchiveConfig {
    fn parse(raw: Option<RawArchive>, line_of: impl Fn(usize) -> usize) -> Result<Self, ParseError> {
        let Some(a) = raw else { return Ok(ArchiveConfig::default()) };
        if let Some(m) = &a.mode
            && !matches!(m.get_ref().to_ascii_uppercase().as_str(), "COMPLIANCE" | "GOVERNANCE")
        {
            return Err((Some(line_of(m.span().start)), "archive.mode must be COMPLIANCE or GOVERNANCE".to_owned()));
        }
        if let Some(y) = &a.retain_years
            && *y.get_ref() == 0
        {
            return Err((Some(line_of(y.span().start)), "archive.retain_years must be at least 1".to_owned()));
        }
        Ok(ArchiveConfig {
            to: a.to,
            mode: a.mode.map(|m| m.into_inner().to_ascii_uppercase()),
            retain_years: a.retain_years.map(Spanned::into_inner),
            min_retain_years: a.min_retain_years,
        })
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::parse("").unwrap_or_else(|_| Config {
            entity: None,
            framework: Framework::default(),
            targets: Vec::new(),
            candidate_tag: ("restore_testing_candidate".into(), "true".into()),
            thresholds: Thresholds::default(),
            signing: SigningConfig::default(),
            archive: ArchiveConfig::default(),
            policy: PolicyConfig::default(),
            report: ReportConfig::default(),
            sha256: String::new(),
            text: String::new(),
        })
    }
}

fn split_tag(s: &str) -> Option<(String, String)> {
    let (k, v) = s.split_once('=')?;
    let k = k.trim();
    (!k.is_empty()).then(|| (k.to_owned(), v.trim().to_owned()))
}

/// A config file problem, with its place.
#[derive(Debug, thiserror::Error)]
#[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct ConfigError {
    /// The file.
    pub path: PathBuf,
    /// The line, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    entity: Option<String>,
    ict_risk_framework: Option<Spanned<String>>,
    #[serde(default)]
    target: Vec<RawTarget>,
    restore_testing: Option<RawRestoreTesting>,
    thresholds: Option<RawThresholds>,
    signing: Option<RawSigning>,
    archive: Option<RawArchive>,
    policy: Option<RawPolicy>,
    report: Option<ReportConfig>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    min_retention_days: Option<u32>,
    copy_to: Option<Vec<Spanned<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawArchive {
    to: Option<String>,
    mode: Option<Spanned<String>>,
    retain_years: Option<Spanned<u32>>,
    min_retain_years: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSigning {
    key: Option<String>,
    cert: Option<String>,
    kms_key_id: Option<Spanned<String>>,
    reason: Option<String>,
    location: Option<String>,
    contact_info: Option<String>,
    tsa: Option<String>,
    tsa_ca: Option<String>,
    tsa_user: Option<String>,
    tsa_client_cert: Option<String>,
    tsa_client_key: Option<String>,
    tsa_tls_ca: Option<String>,
    tsa_timeout_seconds: Option<u32>,
    tsa_optional: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawThresholds {
    backup_success_rate: Option<Spanned<f64>>,
    restore_test_pass_rate: Option<Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    name: Option<Spanned<String>>,
    resource_type: Option<String>,
    tag: Option<Spanned<String>>,
    arn: Option<Spanned<String>>,
    rpo_hours: Option<Spanned<f64>>,
    rto_minutes: Option<Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRestoreTesting {
    candidate_tag: Option<Spanned<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
entity = "Nordhafen Bank AG"

[[target]]
name = "gold"
tag = "tier=gold"
rpo_hours = 26
rto_minutes = 120

[[target]]
name = "databases"
resource_type = "rds"
arn = "arn:aws:rds:*"
rpo_hours = 24.5

[restore_testing]
candidate_tag = "restore_testing_candidate=true"
"#;

    #[test]
    fn the_sign_off_block_is_read_and_checked() {
        let text = "[report]\nprepared_by = { name = \"A. Weber\", role = \"ICT risk\" }\n\
                    approved_by = { name = \"B. Kaya\", date = \"2026-10-15\" }\n";
        let c = Config::parse(text).unwrap();
        let prepared = c.report.prepared_by.unwrap();
        assert_eq!((prepared.name.as_str(), prepared.role.as_deref()), ("A. Weber", Some("ICT risk")));
        assert_eq!(c.report.reviewed_by, None);
        assert_eq!(c.report.approved_by.unwrap().date.as_deref(), Some("2026-10-15"));
        let (line, msg) = Config::parse("entity = \"x\"\n[report]\nprepared = { name = \"A\" }\n").unwrap_err();
        assert_eq!(line, Some(3), "{msg}");
        assert!(msg.contains("prepared"), "{msg}");
    }

    #[test]
    fn first_matching_target_wins() {
        let c = Config::parse(EXAMPLE).unwrap();
        let gold = vec![("tier".to_owned(), "gold".to_owned())];
        let rds = "arn:aws:rds:eu-central-1:111122223333:db:x";
        assert_eq!(c.target_for(Some("RDS"), rds, &gold).unwrap().name, "gold");
        assert_eq!(c.target_for(Some("RDS"), rds, &[]).unwrap().name, "databases");
        assert!(c.target_for(Some("EC2"), "arn:aws:ec2:x", &[]).is_none());
        assert!(c.target_for(Some("RDS"), "arn:aws:dynamodb:x", &[]).is_none(), "all given keys must match");
        assert_eq!(c.targets[1].rpo_hours, Some(24.5));
        assert_eq!(c.entity.as_deref(), Some("Nordhafen Bank AG"));
    }

    #[test]
    fn errors_name_the_line_and_key() {
        let typo = "[[target]]\nname = \"x\"\nrpo_hour = 24\n";
        let (line, msg) = Config::parse(typo).unwrap_err();
        assert_eq!(line, Some(3));
        assert!(msg.contains("rpo_hour"), "{msg}");
        let (line, msg) = Config::parse("[[target]]\nname = \"x\"\nrto_minutes = -5\n").unwrap_err();
        assert_eq!(line, Some(3));
        assert!(msg.contains("rto_minutes must be a positive number"), "{msg}");
        let (line, msg) = Config::parse("[[target]]\ntag = \"tier\"\n").unwrap_err();
        assert_eq!((line, msg.contains("key=value")), (Some(2), true));
        let (line, _) = Config::parse("[[target]]\narn = \"arn:[\"\n").unwrap_err();
        assert_eq!(line, Some(2));
        let (line, msg) = Config::parse("[restore_testing]\ncandidate = \"x=y\"\n").unwrap_err();
        assert_eq!(line, Some(2));
        assert!(msg.contains("candidate"), "{msg}");
        assert!(Config::parse("[[target]]\nrpo_hours = \"a day\"\n").is_err());
        let (line, msg) = Config::parse("[thresholds]\nbackup_success_rate = 95\n").unwrap_err();
        assert_eq!(line, Some(2));
        assert!(msg.contains("(0, 1]"), "{msg}");
        let c = Config::parse("[thresholds]\nrestore_test_pass_rate = 1\n").unwrap();
        assert_eq!(c.thresholds, Thresholds { backup_success_rate: 0.95, restore_test_pass_rate: 1.0 });
        let (line, msg) =
            Config::parse("[policy]\ncopy_to = [\n  \"other_region\",\n  \"other_planet\",\n]\n").unwrap_err();
        assert_eq!(line, Some(4));
        assert!(msg.contains("\"other_planet\""), "{msg}");
        let c = Config::parse("[policy]\nmin_retention_days = 35\ncopy_to = [\"other_account\"]\n").unwrap();
        let want =
            PolicyConfig { min_retention_days: Some(35), copy_to_other_region: false, copy_to_other_account: true };
        assert_eq!(c.policy, want);
        assert!(Config::parse("[policy]\nmin_retention = 35\n").unwrap_err().1.contains("min_retention"));
    }

    #[test]
    fn defaults() {
        let c = Config::default();
        assert!(c.targets.is_empty());
        assert_eq!(c.candidate_tag, ("restore_testing_candidate".to_owned(), "true".to_owned()));
    }
}
