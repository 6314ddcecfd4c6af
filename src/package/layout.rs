//! Every file of a package, named once (DESIGN §5).
//!
//! A package folder holds the files the manifest lists (evidence, artifacts, findings, the OSCAL
//! documents …) and
//! the *late* files, which the manifest cannot list because they are written after it or about
//! it. `build`, `verify`, `archive` and the `--out` safety code all read the late files from
//! [`LATE`]; a new kind of file written after the manifest (a timestamp token, say) is one
//! more row there.

/// The manifest: every other file with size and SHA-256.
pub const MANIFEST: &str = "manifest.json";
/// The risk officer's report, PDF/A-3b, citing the manifest's SHA-256 on its cover.
pub const REPORT: &str = "report.pdf";
/// `sha256sum -c` input over every file, the manifest and the report included.
pub const SHA256SUMS: &str = "SHA256SUMS";
/// Detached CMS signature over the manifest.
pub const MANIFEST_SIGNATURE: &str = "manifest.json.p7s";
/// Written by `archive`: where and under which retention the package was stored.
pub const RECEIPT: &str = "archive-receipt.json";

/// One row per requirement.
pub const FINDINGS_CSV: &str = "findings.csv";
/// Requirements and every check, with exceptions and artifact digests.
pub const FINDINGS_JSON: &str = "findings.json";
/// Every targeted resource against the period's backup plans (the report's "Backup policy").
pub const BACKUP_POLICY_CSV: &str = "backup_policy.csv";
/// Every backup plan rule of the period: schedule, runs, longest gap, retention, copies.
pub const BACKUP_POLICY_RULES_CSV: &str = "backup_policy_rules.csv";
/// What changed since the previous package (`build --previous`; absent otherwise).
pub const CHANGES_JSON: &str = "changes.json";
/// One row per account and Region: jobs by status, failures by category and resource type,
/// copies, restore tests, RPO/RTO breaches, alerting (columns: `assess::scopes::ScopeRow`).
pub const ACCOUNT_REGIONS_CSV: &str = "account_regions.csv";
/// The period's metrics.
pub const METRICS_JSON: &str = "metrics.json";
/// Every input artifact with origin, SHA-256 and parse status.
pub const ARTIFACTS_CSV: &str = "artifacts.csv";
/// Folder of the merged evidence CSVs.
pub const EVIDENCE_DIR: &str = "evidence";
/// Every alert path (alarm, EventBridge rule, vault notification) per account and Region,
/// with whether it reaches a confirmed SNS subscriber: derived by the detection check.
pub const ALERT_PATHS_CSV: &str = "evidence/alert_paths.csv";
/// Folder of the OSCAL documents, for auditors' and GRC tools (`package::oscal`).
pub const OSCAL_DIR: &str = "oscal";
/// The period's findings, checks and artifacts as OSCAL 1.2.1 assessment results; its
/// back-matter links every artifact by path (relative to `oscal/`) and SHA-256.
pub const OSCAL_RESULTS: &str = "oscal/assessment-results.json";
/// The DORA catalog (OSCAL 1.2.1) of the mapping the package was built with: the controls the
/// findings of `oscal/assessment-results.json` target.
pub const OSCAL_CATALOG: &str = "oscal/dora-catalog.json";
/// Folder of the raw artifacts, each named by its SHA-256 below `sha256/`.
pub const ARTIFACTS_DIR: &str = "artifacts";
/// Folder of what the package was built with, verbatim, so `rebuild` can re-perform it.
pub const CONFIG_DIR: &str = "config";
/// The configuration (`--config`; empty when none was given), whose SHA-256 the manifest names.
pub const CONFIG_FILE: &str = "config/dora-evidence.toml";
/// The DORA mapping (`--mapping`, or the built-in one), whose SHA-256 the manifest names.
pub const MAPPING_FILE: &str = "config/dora-mapping.toml";
/// The report template, only when it is not the built-in one (`--templates`).
pub const TEMPLATE_FILE: &str = "config/report.typ";

/// `path` below `root` as `/`-separated text: how a package (and an artifact's origin below
/// an input folder) names a file on every platform.
pub fn relative_path(root: &std::path::Path, path: &std::path::Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

/// A file written after (or about) the manifest, so not listed in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LateFile {
    /// Its name, at the top of the package.
    pub name: &'static str,
    /// Every package has it (otherwise only some: signed or archived ones).
    pub required: bool,
    /// `SHA256SUMS` lists it (it cannot list itself or what is written after it).
    pub in_sha256sums: bool,
    /// `archive` uploads it with the package's files (the receipt is written by archive).
    pub archived: bool,
}

/// The late files, in the order they are written.
pub const LATE: [LateFile; 5] = [
    LateFile { name: MANIFEST, required: true, in_sha256sums: true, archived: true },
    LateFile { name: REPORT, required: true, in_sha256sums: true, archived: true },
    LateFile { name: SHA256SUMS, required: true, in_sha256sums: false, archived: true },
    LateFile { name: MANIFEST_SIGNATURE, required: false, in_sha256sums: false, archived: true },
    LateFile { name: RECEIPT, required: false, in_sha256sums: false, archived: false },
];

/// Folder of the archive timestamps that `timestamp` adds, one renewal at a time.
pub const TIMESTAMPS_DIR: &str = "timestamps";

/// The parts of one renewal: what it covers (JSON), the RFC 3161 token over that JSON (DER),
/// and, for a renewal made in a bucket, the receipt of the objects it wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RenewalPart {
    /// `timestamps/renewal-NNNN.json`.
    Covers,
    /// `timestamps/renewal-NNNN.tsr`.
    Token,
    /// `timestamps/renewal-NNNN.receipt.json`.
    Receipt,
}

impl RenewalPart {
    fn suffix(self) -> &'static str {
        match self {
            RenewalPart::Covers => ".json",
            RenewalPart::Token => ".tsr",
            RenewalPart::Receipt => ".receipt.json",
        }
    }
}

/// The path of renewal `sequence`'s `part` (`timestamps/renewal-0001.tsr`).
pub fn renewal_path(sequence: u32, part: RenewalPart) -> String {
    format!("{TIMESTAMPS_DIR}/renewal-{sequence:04}{}", part.suffix())
}

/// The renewal sequence and part a path names, if it is one.
pub fn parse_renewal_path(path: &str) -> Option<(u32, RenewalPart)> {
    let name = path.strip_prefix(TIMESTAMPS_DIR)?.strip_prefix("/renewal-")?;
    let (digits, rest) = name.split_at_checked(4)?;
    let seq: u32 = digits.parse().ok().filter(|_| digits.bytes().all(|b| b.is_ascii_digit()))?;
    let part =
        [RenewalPart::Receipt, RenewalPart::Covers, RenewalPart::Token].into_iter().find(|p| rest == p.suffix())?;
    (seq > 0).then_some((seq, part))
}

/// Whether `path` (relative, `/`-separated) is a late file: one written after the manifest,
/// or a renewal's.
pub fn is_late(path: &str) -> bool {
    LATE.iter().any(|f| f.name == path) || parse_renewal_path(path).is_some()
}

/// The late files with a property, by name.
pub fn late_names(keep: fn(&LateFile) -> bool) -> impl Iterator<Item = &'static str> {
    LATE.iter().filter(move |f| keep(f)).map(|f| f.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn late_files_are_distinct_and_sums_cover_what_precedes_them() {
        let names: std::collections::BTreeSet<_> = late_names(|_| true).collect();
        assert_eq!(names.len(), LATE.len());
        assert_eq!(late_names(|f| f.in_sha256sums).collect::<Vec<_>>(), [MANIFEST, REPORT]);
        assert_eq!(late_names(|f| f.required).collect::<Vec<_>>(), [MANIFEST, REPORT, SHA256SUMS]);
        assert!(is_late(RECEIPT) && !is_late(FINDINGS_JSON) && !is_late("evidence/manifest.json"));
    }

    #[test]
    fn renewal_paths_round_trip_and_nothing_else_parses() {
        for part in [RenewalPart::Covers, RenewalPart::Token, RenewalPart::Receipt] {
            let path = renewal_path(12, part);
            assert_eq!(parse_renewal_path(&path), Some((12, part)), "{path}");
            assert!(is_late(&path));
        }
        assert_eq!(renewal_path(1, RenewalPart::Token), "timestamps/renewal-0001.tsr");
        for bad in [
            "timestamps/renewal-0000.json",
            "timestamps/renewal-1.json",
            "timestamps/renewal-00x1.json",
            "timestamps/renewal-0001.txt",
            "timestamps/renewal-0001.json.bak",
            "other/renewal-0001.json",
            "timestamps/renewal-+001.tsr",
        ] {
            assert_eq!(parse_renewal_path(bad), None, "{bad}");
        }
    }
}
