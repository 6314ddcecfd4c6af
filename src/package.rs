//! The package contract (DESIGN §5): package id, `manifest.json`, the report's data and
//! attachments, and `SHA256SUMS`.
//!
//! Order matters, because the report cites the manifest: first every evidence file is
//! written; then `manifest.json` lists them all (every file of the package except itself,
//! `report.pdf`, `SHA256SUMS` and signatures) with size and SHA-256; then `report.pdf` is
//! rendered with the manifest's SHA-256 on its cover; last, `SHA256SUMS` lists every file,
//! the manifest and the report included, in the format `sha256sum -c` reads.
//!
//! [`layout`] names every file of a package; [`manifest`], [`findings`], [`changes`] and
//! [`report_data`] are `manifest.json`, `findings.json`, `changes.json` and the report's
//! `data.json` as types; `oscal` writes `oscal/dora-catalog.json` and
//! `oscal/assessment-results.json` (OSCAL 1.2.1, for auditors' tools).

pub mod changes;
pub mod findings;
pub mod layout;
pub mod manifest;
pub(crate) mod oscal;
pub mod receipt;
pub mod renewal;
pub mod report_data;

use std::fs::{self, File};
use std::io;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::artifact::HashingWriter;
use crate::evidence::Evidence;
use crate::render::Attachment;
pub use manifest::{FileEntry, Manifest};

/// Total bytes of OSCAL results and evidence CSVs attached to the PDF; larger ones stay in the
/// package only (a PDF of gigabytes helps nobody and would take minutes to write).
pub const ATTACHMENT_BUDGET: u64 = 16 * 1024 * 1024;

/// A stable id for the package: the period plus a digest of everything that decides its
/// content (period, config, mapping, the set of artifact digests and, with `build
/// --previous`, the earlier package's manifest digest; a package without one keeps the id it
/// always had).
pub fn package_id(period: &str, config_sha: &str, mapping_sha: &str, ev: &Evidence, previous: Option<&str>) -> String {
    let mut shas: Vec<String> = ev.artifacts.iter().map(|a| a.artifact.sha256.hex()).collect();
    shas.sort();
    shas.dedup();
    let mut h = Sha256::new();
    for part in [period, config_sha, mapping_sha] {
        h.update(part.as_bytes());
        h.update(b"\n");
    }
    for s in &shas {
        h.update(s.as_bytes());
        h.update(b"\n");
    }
    if let Some(previous) = previous {
        h.update(format!("previous {previous}\n").as_bytes());
    }
    format!("dora-{}-{}", period.to_ascii_lowercase(), &hex::encode(h.finalize())[..12])
}

/// Every regular file under `dir` with its size and SHA-256, sorted by path.
/// Stored artifacts are named by their digest, and `hashed` gives files hashed while they
/// were written, so neither is read again.
///
/// # Errors
/// On read errors, or when a file in `hashed` has changed size since.
pub fn list_files(dir: &Path, hashed: &[FileEntry]) -> io::Result<Vec<FileEntry>> {
    let hashed: std::collections::HashMap<&str, &FileEntry> = hashed.iter().map(|f| (f.path.as_str(), f)).collect();
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.map_err(io::Error::other)?;
        if !entry.file_type().is_file() {
            continue;
        }
        let path = layout::relative_path(dir, entry.path());
        let stored = path.strip_prefix(layout::ARTIFACTS_DIR).and_then(|p| p.strip_prefix("/sha256/"));
        let (size, sha256) = match (stored, hashed.get(path.as_str())) {
            (Some(hex), _) => (entry.metadata().map_err(io::Error::other)?.len(), hex.to_owned()),
            (None, Some(known)) => {
                let size = entry.metadata().map_err(io::Error::other)?.len();
                if size != known.size {
                    let why = format!("{path}: {size} bytes, {} when it was written", known.size);
                    return Err(io::Error::new(io::ErrorKind::InvalidData, why));
                }
                (size, known.sha256.clone())
            }
            (None, None) => hash_file(entry.path())?,
        };
        files.push(FileEntry { path, size, sha256 });
    }
    files.sort();
    Ok(files)
}

/// Size and SHA-256 (hex) of a file, streamed.
///
/// # Errors
/// On read errors.
pub fn hash_file(path: &Path) -> io::Result<(u64, String)> {
    let (size, sha) = crate::artifact::copy_hashed(File::open(path)?, io::sink())?;
    Ok((size, sha.hex()))
}

/// Writes `manifest.json` (`header` with the files now in `dir`, late files excepted;
/// `hashed` as for [`list_files`]). Returns its SHA-256 and the entries it lists, so
/// `SHA256SUMS` need not read them again.
///
/// # Errors
/// On read or write errors.
pub fn write_manifest(dir: &Path, header: &Manifest, hashed: &[FileEntry]) -> io::Result<(String, Vec<FileEntry>)> {
    let mut files = list_files(dir, hashed)?;
    files.retain(|f| !layout::is_late(&f.path));
    let mut out = HashingWriter::new(io::BufWriter::new(File::create(dir.join(layout::MANIFEST))?));
    header.write_listing(&files, &mut out)?;
    let (written, _, sha256) = out.finish();
    written.into_inner().map_err(io::IntoInnerError::into_error)?;
    Ok((sha256.hex(), files))
}

/// Writes `SHA256SUMS` (`<hex>  <path>` lines, sorted): the manifest's entries plus the late
/// files it covers ([`layout::LateFile::in_sha256sums`]), hashed here.
///
/// # Errors
/// On read or write errors.
pub fn write_sha256sums(dir: &Path, manifest_entries: &[FileEntry]) -> io::Result<()> {
    let mut entries: Vec<(&str, String)> =
        manifest_entries.iter().map(|f| (f.path.as_str(), f.sha256.clone())).collect();
    for late in layout::late_names(|f| f.in_sha256sums) {
        entries.push((late, hash_file(&dir.join(late))?.1));
    }
    entries.sort();
    let text: String = entries.iter().map(|(path, sha)| format!("{sha}  {path}\n")).collect();
    fs::write(dir.join(layout::SHA256SUMS), text)
}

/// The files to attach to the PDF: findings, metrics, the artifact list, the backup policy and
/// the OSCAL catalog always, then the OSCAL assessment results and the evidence CSVs in a
/// fixed order while they fit [`ATTACHMENT_BUDGET`]. Returns the attachments and the names
/// left out.
pub fn attachments(dir: &Path) -> (Vec<Attachment>, Vec<String>) {
    let mut out = Vec::new();
    let mut omitted = Vec::new();
    let always = [
        ("findings.csv", "text/csv", "One row per DORA requirement: status, summary, checks"),
        ("findings.json", "application/json", "Requirements and every check with exceptions and artifact digests"),
        ("metrics.json", "application/json", "The period's metrics"),
        ("artifacts.csv", "text/csv", "Every input artifact with origin, SHA-256 and parse status"),
        (layout::BACKUP_POLICY_CSV, "text/csv", "Every targeted resource against the period's backup plans"),
        (
            layout::BACKUP_POLICY_RULES_CSV,
            "text/csv",
            "Every backup plan rule of the period: schedule, runs, retention",
        ),
        (layout::ACCOUNT_REGIONS_CSV, "text/csv", "Per account and Region: jobs, failures, restore tests, breaches"),
    ];
    for (name, mime, description) in always {
        out.push(Attachment { name: name.into(), path: dir.join(name), mime, description: description.into() });
    }
    if dir.join(layout::CHANGES_JSON).is_file() {
        out.push(Attachment {
            name: layout::CHANGES_JSON.into(),
            path: dir.join(layout::CHANGES_JSON),
            mime: "application/json",
            description: "What changed since the previous package: statuses, metrics, exceptions".into(),
        });
    }
    out.push(Attachment {
        name: "dora-catalog.json".into(),
        path: dir.join(layout::OSCAL_CATALOG),
        mime: "application/json",
        description:
            "OSCAL 1.2.1 catalog: the DORA requirements of the mapping, in our words (oscal/dora-catalog.json)".into(),
    });
    let mut budget = ATTACHMENT_BUDGET;
    // The OSCAL results before the evidence CSVs: one file a GRC tool imports whole.
    let results = dir.join(layout::OSCAL_RESULTS);
    let size = fs::metadata(&results).map(|m| m.len()).unwrap_or(u64::MAX);
    if size <= budget {
        budget -= size;
        out.push(Attachment {
            name: "assessment-results.json".into(),
            path: results,
            mime: "application/json",
            description: "OSCAL 1.2.1 assessment results: findings, observations, risks, artifacts with SHA-256 \
                          (oscal/assessment-results.json)"
                .into(),
        });
    } else {
        omitted.push(layout::OSCAL_RESULTS.to_owned());
    }
    let mut evidence: Vec<_> = fs::read_dir(dir.join("evidence"))
        .map(|d| d.filter_map(Result::ok).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    evidence.sort();
    for name in evidence {
        let path = dir.join("evidence").join(&name);
        let size = fs::metadata(&path).map(|m| m.len()).unwrap_or(u64::MAX);
        if size <= budget {
            budget -= size;
            let description = format!(
                "Evidence: {} (one row per merged record, with sources)",
                name.trim_end_matches(".csv").replace('_', " ")
            );
            out.push(Attachment { name: name.clone(), path, mime: "text/csv", description });
        } else {
            omitted.push(format!("evidence/{name}"));
        }
    }
    (out, omitted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_hashed_while_written_are_not_read_again_unless_their_size_changed() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("evidence")).unwrap();
        fs::write(dir.path().join("evidence/jobs.csv"), b"a,b\n").unwrap();
        fs::write(dir.path().join("other.json"), b"{}").unwrap();
        let recorded = |size| FileEntry { path: "evidence/jobs.csv".into(), size, sha256: "ab".repeat(32) };
        let files = list_files(dir.path(), &[recorded(4)]).unwrap();
        let digests: Vec<(&str, &str)> = files.iter().map(|f| (f.path.as_str(), f.sha256.as_str())).collect();
        let other = hash_file(&dir.path().join("other.json")).unwrap().1;
        assert_eq!(digests, [("evidence/jobs.csv", "ab".repeat(32).as_str()), ("other.json", other.as_str())]);
        let err = list_files(dir.path(), &[recorded(5)]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("evidence/jobs.csv: 4 bytes, 5 when it was written"), "{err}");
    }

    #[test]
    fn oscal_results_over_the_budget_stay_in_the_package_and_are_named() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join(layout::OSCAL_DIR)).unwrap();
        fs::create_dir_all(dir.path().join(layout::EVIDENCE_DIR)).unwrap();
        fs::write(dir.path().join(layout::OSCAL_CATALOG), "{}").unwrap();
        fs::write(dir.path().join(layout::EVIDENCE_DIR).join("vaults.csv"), "a\n").unwrap();
        let results = File::create(dir.path().join(layout::OSCAL_RESULTS)).unwrap();
        let names = |a: &[Attachment]| a.iter().map(|a| a.name.clone()).collect::<Vec<_>>();
        // Sparse: over the budget without writing it.
        results.set_len(ATTACHMENT_BUDGET + 1).unwrap();
        let (attached, omitted) = attachments(dir.path());
        assert_eq!(omitted, [layout::OSCAL_RESULTS]);
        assert!(names(&attached).contains(&"dora-catalog.json".to_owned()));
        assert!(names(&attached).contains(&"vaults.csv".to_owned()), "the CSVs still fit");
        results.set_len(1000).unwrap();
        let (attached, omitted) = attachments(dir.path());
        assert!(omitted.is_empty() && names(&attached).contains(&"assessment-results.json".to_owned()));
    }
}
