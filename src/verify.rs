//! `verify`: is a package what its producer signed, complete and unchanged?
//!
//! Every check runs, whatever fails first, and becomes one line of the report:
//!
//! | check | holds when |
//! |---|---|
//! | `manifest` | `manifest.json` is there and readable |
//! | `files` | every file the manifest lists is there with its size and SHA-256 |
//! | `no-extra-files` | nothing else is in the folder besides manifest, report, `SHA256SUMS`, the signature, an archive receipt and timestamp renewals |
//! | `sha256sums` | `SHA256SUMS` lists exactly those files, with the manifest's digests and the real ones of `manifest.json` and `report.pdf` |
//! | `manifest-signature` | `manifest.json.p7s` is a valid CMS signature over `manifest.json` by the signer the manifest names |
//! | `manifest-timestamp` | the manifest signature's RFC 3161 token (CAdES-T) is over its signature value, by a TSA certificate for time stamping that chains to `--tsa-ca`; gives the proven signing time (warn: no token, the time is only claimed) |
//! | `report-signature` | `report.pdf` carries one valid PAdES signature by the same signer |
//! | `report-coverage` | that signature covers the whole file (nothing appended or hidden; after it only a `/DSS` and a document timestamp that covers the rest) |
//! | `report-level` | every timestamp the PDF carries is valid (signature timestamp, document timestamp); says the PAdES level (B-B … B-LTA) and the proven times (warn: B-B, or the TSA not checked against `--tsa-ca`) |
//! | `trust` | the signer chains to a `--ca` trust anchor at the proven signing time (else the claimed one); a certificate that expired later still counts (skipped without `--ca`) |
//! | `archive-timestamps` | every renewal added by `timestamp` verifies, covers the package and the renewals before it, and was made before the TSA certificate of the proof before it expired (skipped without renewals) |
//!
//! [`verify_dir`] returns a [`Report`]; it never fails on bad input — bad input is a failed check.

pub mod cades;
mod local;
mod pades;
mod renewals;
mod s3;

use std::path::{Path, PathBuf};

use serde_json::json;
use x509_cert::Certificate;

pub use cades::{Verified, check_chain, verify_detached};
pub use pades::PdfTimestamps;
pub(crate) use renewals::hash_file;
pub use s3::{verify_s3, verify_s3_into};

/// What to check against.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Trust anchors (`--ca`); without them the signer is reported as not checked.
    pub anchors: Option<Vec<Certificate>>,
    /// Accept a package without signatures (its integrity checks still run).
    pub allow_unsigned: bool,
    /// Trust anchors for time-stamping authorities (`--tsa-ca`); without them a token's TSA
    /// is reported as not checked.
    pub tsa_anchors: Option<Vec<Certificate>>,
}

/// When a signature or timestamp was made: claimed by the signer, and proven by a TSA.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SignatureTime {
    /// What was signed or timestamped (`manifest.json.p7s`, `report.pdf`, a renewal file).
    pub what: String,
    /// The signer's own claim (RFC 3339), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claimed: Option<String>,
    /// The TSA's `genTime` (RFC 3339), if a valid token proves it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proven: Option<String>,
    /// The TSA's subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tsa: Option<String>,
}

/// A check's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Holds.
    Pass,
    /// Does not hold.
    Fail,
    /// Holds, with a caveat the reader must know (an untimestamped signature, say).
    Warn,
    /// Not checked (and why is in the detail).
    Skip,
}

/// Declares [`CheckId`] from rows of `Variant = "stable-name"` (with the row's doc), so a
/// check's name, its place in report order and its variant are written once.
macro_rules! verify_checks {
    ($($(#[doc = $doc:literal])* $variant:ident = $name:literal,)+) => {
        /// Every check `verify` knows; the string form is the stable name in reports.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
        pub enum CheckId {
            $($(#[doc = $doc])* $variant,)+
        }

        impl CheckId {
            /// Every check, in report order.
            pub const ALL: &'static [CheckId] = &[$(CheckId::$variant),+];

            /// The stable name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(CheckId::$variant => $name,)+
                }
            }
        }
    };
}

verify_checks! {
    /// `manifest.json` is there and readable.
    Manifest = "manifest",
    /// Every listed file is there with its size and SHA-256.
    Files = "files",
    /// Nothing besides listed and late files.
    NoExtraFiles = "no-extra-files",
    /// `SHA256SUMS` is consistent.
    Sha256sums = "sha256sums",
    /// The manifest's CMS signature.
    ManifestSignature = "manifest-signature",
    /// Its RFC 3161 timestamp (CAdES-T): the proven signing time.
    ManifestTimestamp = "manifest-timestamp",
    /// The report's PAdES signature.
    ReportSignature = "report-signature",
    /// That signature covers the whole PDF.
    ReportCoverage = "report-coverage",
    /// Its PAdES level: timestamps, validation data, document timestamp (issue 17).
    ReportLevel = "report-level",
    /// The signer chains to a trust anchor.
    Trust = "trust",
    /// The renewal chain of archive timestamps (`dora-evidence timestamp`).
    ArchiveTimestamps = "archive-timestamps",
    /// In the bucket: the receipt's objects, and nothing else.
    BucketObjects = "bucket-objects",
    /// In the bucket: the versions the receipt names.
    BucketVersions = "bucket-versions",
    /// In the bucket: Object Lock retention.
    BucketLock = "bucket-lock",
}

impl serde::Serialize for CheckId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl std::fmt::Display for CheckId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// One line of the report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Check {
    /// Which check.
    pub check: CheckId,
    /// Outcome.
    pub status: Status,
    /// What was found.
    pub detail: String,
}

impl Check {
    /// A check that holds.
    pub fn pass(check: CheckId, detail: impl Into<String>) -> Self {
        Check { check, status: Status::Pass, detail: detail.into() }
    }

    /// A check that does not hold.
    pub fn fail(check: CheckId, detail: impl Into<String>) -> Self {
        Check { check, status: Status::Fail, detail: detail.into() }
    }

    /// A check that holds with a caveat.
    pub fn warn(check: CheckId, detail: impl Into<String>) -> Self {
        Check { check, status: Status::Warn, detail: detail.into() }
    }

    /// A check not made.
    pub fn skip(check: CheckId, detail: impl Into<String>) -> Self {
        Check { check, status: Status::Skip, detail: detail.into() }
    }

    /// Pass with `ok` when `problems` is empty, else fail listing the first few of `total`.
    pub fn from_problems(check: CheckId, problems: &[String], total: usize, ok: impl Into<String>) -> Self {
        if problems.is_empty() { Check::pass(check, ok) } else { Check::fail(check, summarize(problems, total)) }
    }
}

/// The outcome of [`verify_dir`].
#[derive(Debug, Clone)]
pub struct Report {
    /// What was verified.
    pub target: String,
    /// The manifest's package id, when readable.
    pub package_id: Option<String>,
    /// Every check, in order.
    pub checks: Vec<Check>,
    /// The claimed and proven times of every signature and timestamp that verified.
    pub times: Vec<SignatureTime>,
    /// The report's PAdES level, proven times and missing revocation data, when signed.
    pub report_timestamps: Option<PdfTimestamps>,
}

impl Report {
    /// Whether no check failed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.status != Status::Fail)
    }

    /// The checks that failed.
    pub fn failed(&self) -> Vec<&'static str> {
        self.checks.iter().filter(|c| c.status == Status::Fail).map(|c| c.check.as_str()).collect()
    }

    /// The closing verdict sentence.
    pub fn verdict(&self) -> String {
        let failed = self.failed();
        if !failed.is_empty() {
            return format!(
                "FAILED: {} check(s) failed ({}); do not rely on this package",
                failed.len(),
                failed.join(", ")
            );
        }
        let status = |id: CheckId| self.checks.iter().find(|c| c.check == id).map(|c| c.status);
        let time = match (status(CheckId::ManifestTimestamp), status(CheckId::ReportLevel)) {
            (Some(Status::Pass), Some(Status::Pass) | None) => "; signing time proven by a trusted TSA",
            (Some(Status::Pass | Status::Warn), _) | (_, Some(Status::Warn)) => {
                "; signing time NOT proven by a trusted TSA (see manifest-timestamp and report-level)"
            }
            _ => "",
        };
        match status(CheckId::Trust) {
            Some(Status::Pass) => format!("VERIFIED: intact, complete and signed by a trusted signer{time}"),
            _ if self.checks.iter().any(|c| c.check == CheckId::ManifestSignature && c.status == Status::Skip) => {
                "INTACT BUT UNSIGNED: files match the manifest; nobody vouches for it".into()
            }
            _ => "INTACT: signatures valid, signer NOT checked against a trust anchor (pass --ca)".into(),
        }
    }

    /// The report as plain text, one line per check, then the verdict.
    pub fn to_text(&self) -> String {
        let mut out = format!("verifying {}", self.target);
        if let Some(id) = &self.package_id {
            out.push_str(&format!(" ({id})"));
        }
        out.push('\n');
        for c in &self.checks {
            let tag = match c.status {
                Status::Pass => "PASS",
                Status::Fail => "FAIL",
                Status::Warn => "WARN",
                Status::Skip => "SKIP",
            };
            out.push_str(&format!("{tag}  {:<20} {}\n", c.check, c.detail));
        }
        out.push_str(&format!("verdict: {}\n", self.verdict()));
        out
    }

    /// The report as JSON.
    pub fn to_json(&self) -> String {
        let doc = json!({
            "target": self.target,
            "package_id": self.package_id,
            "passed": self.passed(),
            "verdict": self.verdict(),
            "checks": self.checks,
            "times": self.times,
            "report_timestamps": self.report_timestamps,
        });
        serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
    }
}

/// Why a package named on the command line could not be reached to be verified.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReachError {
    /// A local folder without `manifest.json`.
    #[error("not a dora-evidence package (no manifest.json)")]
    NotAPackage,
    /// The `s3://` location is malformed or could not be read.
    #[error("{0}")]
    Download(String),
}

/// Verifies the package at `target`, a folder or `s3://bucket/prefix/…/<package-id>/` (then
/// downloaded into `scratch`, an empty folder, which keeps it); returns where it is and the
/// report, for the commands that read a package after verifying it (`diff`, `build
/// --previous`, `rebuild`).
///
/// # Errors
/// When it is no package or cannot be downloaded; failed checks are in the report.
pub fn verify_target(
    target: &str,
    opts: &VerifyOptions,
    path_style: bool,
    scratch: &Path,
) -> Result<(PathBuf, Report), ReachError> {
    if target.starts_with("s3://") {
        let location: crate::s3::S3Location = target.parse().map_err(ReachError::Download)?;
        let report =
            verify_s3_into(&location, opts, path_style, scratch).map_err(|e| ReachError::Download(e.to_string()))?;
        return Ok((scratch.to_path_buf(), report));
    }
    let dir = PathBuf::from(target);
    if !dir.join(crate::package::layout::MANIFEST).is_file() {
        return Err(ReachError::NotAPackage);
    }
    let report = verify_dir(&dir, opts);
    Ok((dir, report))
}

/// Verifies the package in `dir`: every check of [`local`], in order.
pub fn verify_dir(dir: &Path, opts: &VerifyOptions) -> Report {
    let (manifest_check, loaded) = local::manifest(dir);
    let listed = loaded.as_ref().map(local::Loaded::listed).unwrap_or_default();
    let mut checks = vec![manifest_check];
    checks.push(match &loaded {
        Some(_) => local::files(dir, &listed),
        None => Check::fail(CheckId::Files, "no readable manifest to check files against"),
    });
    checks.push(local::no_extra_files(dir, &listed));
    checks.push(local::sha256sums(dir, &listed, loaded.as_ref().map(|l| l.bytes.as_slice())));
    let declared = loaded.as_ref().and_then(|l| l.manifest.signature.as_ref());
    let (check, manifest_signer) = local::manifest_signature(dir, loaded.as_ref(), declared, opts);
    checks.push(check);
    let mut times = Vec::new();
    let (check, manifest_token) = local::manifest_timestamp(manifest_signer.as_ref(), declared, opts, &mut times);
    checks.push(check);
    let (report_checks, report_signer, report_timestamps) =
        local::report_signature(dir, declared, manifest_signer.as_ref(), opts, &mut times);
    checks.extend(report_checks);
    let manifest_proven = manifest_token.as_ref().map(|t| t.gen_time);
    checks.push(local::trust(opts, manifest_signer.as_ref().map(|v| (v, manifest_proven)), report_signer.as_ref()));
    let signatures = renewals::SignatureTimestamps {
        tsa_expiry: manifest_token.as_ref().map(|t| t.tsa.tbs_certificate().validity().not_after.to_unix_duration()),
    };
    let package_id = loaded.as_ref().map(|l| l.manifest.package_id.as_str());
    checks.push(renewals::archive_timestamps(dir, package_id, signatures, opts, &mut times));
    let package_id = loaded.map(|l| l.manifest.package_id);
    Report { target: dir.display().to_string(), package_id, checks, times, report_timestamps }
}

/// The first few of `problems` (of `total` items checked), for a check's detail.
fn summarize(problems: &[String], total: usize) -> String {
    const SHOWN: usize = 5;
    let mut s =
        format!("{} problem(s) among {total}: {}", problems.len(), problems[..problems.len().min(SHOWN)].join("; "));
    if problems.len() > SHOWN {
        s.push_str(&format!("; … and {} more", problems.len() - SHOWN));
    }
    s
}

/// A package-relative path with no `..`, `.`, empty or absolute parts.
pub(crate) fn is_safe_relative(path: &str) -> bool {
    !path.is_empty() && !path.starts_with('/') && path.split('/').all(|c| !c.is_empty() && c != "." && c != "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_lengths() {
        assert_eq!(cades::der_element_len(&[0x30, 0x03, 1, 2, 3, 0, 0]), Some(5));
        assert_eq!(cades::der_element_len(&[0x30, 0x82, 0x01, 0x00]), None);
        assert_eq!(cades::der_element_len(&[0x30]), None);
    }

    #[test]
    fn check_names_are_the_serialised_names() {
        for &id in CheckId::ALL {
            assert_eq!(serde_json::to_value(id).unwrap(), id.as_str(), "{id:?}");
            assert_eq!(format!("{id:<5}|"), format!("{:<5}|", id.as_str()));
        }
    }

    #[test]
    fn safe_paths() {
        assert!(is_safe_relative("evidence/a.csv"));
        assert!(!is_safe_relative("../x"));
        assert!(!is_safe_relative("/etc/passwd"));
        assert!(!is_safe_relative("a//b"));
    }
}
