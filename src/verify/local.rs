//! The checks of a package folder, one function each, in the order [`super::verify_dir`]
//! runs them. Each returns its [`Check`] (and what later checks need); none fails on bad
//! input — bad input is a failed check.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use sha2::Digest as _;

use super::cades::{Verified, check_chain, verify_detached};
use super::pades::{PdfOutcome, PdfTimestamps, check_pdf};
use super::{Check, CheckId, VerifyOptions, is_safe_relative};
use crate::package::hash_file;
use crate::package::layout;
use crate::package::manifest::{FileEntry, Manifest, SignatureDecl};

/// A manifest that could be read, with its bytes (the signature is over those).
pub(super) struct Loaded {
    pub(super) bytes: Vec<u8>,
    pub(super) manifest: Manifest,
}

/// The files a manifest lists, by path.
pub(super) type Listed = BTreeMap<String, FileEntry>;

impl Loaded {
    pub(super) fn listed(&self) -> Listed {
        self.manifest.files.iter().map(|f| (f.path.clone(), f.clone())).collect()
    }
}

/// `manifest`: `manifest.json` is there and is a manifest.
pub(super) fn manifest(dir: &Path) -> (Check, Option<Loaded>) {
    let id = CheckId::Manifest;
    let bytes = match std::fs::read(dir.join(layout::MANIFEST)) {
        Ok(b) => b,
        Err(e) => return (Check::fail(id, format!("cannot read manifest.json: {e}")), None),
    };
    match Manifest::from_slice(&bytes) {
        Ok(manifest) => {
            let check = Check::pass(id, format!("manifest.json ({}) readable", manifest.format));
            (check, Some(Loaded { bytes, manifest }))
        }
        Err(e) if e.is_data() => (Check::fail(id, format!("manifest.json is not a package manifest: {e}")), None),
        Err(e) => (Check::fail(id, format!("manifest.json is not valid JSON: {e}")), None),
    }
}

/// `files`: every listed file is there with its size and SHA-256. Hashing is the cost of
/// verifying a large package: one thread per core, each taking every n-th file; problems
/// are reported in manifest order.
pub(super) fn files(dir: &Path, listed: &Listed) -> Check {
    let entries: Vec<&FileEntry> = listed.values().collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(entries.len().max(1));
    let mut found: Vec<(usize, String)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let entries = &entries;
                scope.spawn(move || {
                    (t..entries.len())
                        .step_by(threads)
                        .filter_map(|i| file_problem(dir, entries[i]).map(|p| (i, p)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        // A worker that died checked nothing: that must fail the check, never pass it.
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_else(|_| vec![(usize::MAX, "a hashing thread failed".to_owned())]))
            .collect()
    });
    found.sort_by_key(|(i, _)| *i);
    let bad: Vec<String> = found.into_iter().map(|(_, p)| p).collect();
    let ok = format!("all {} files listed in manifest.json are present and match", listed.len());
    Check::from_problems(CheckId::Files, &bad, listed.len(), ok)
}

fn file_problem(dir: &Path, want: &FileEntry) -> Option<String> {
    let path = &want.path;
    if !is_safe_relative(path) {
        return Some(format!("{path}: unsafe path in the manifest"));
    }
    match hash_file(&dir.join(path)) {
        Err(e) => Some(format!("{path}: missing ({e})")),
        Ok((size, sha)) if size != want.size || sha != want.sha256 => Some(format!(
            "{path}: changed (size {size}, SHA-256 {}…; manifest: {}, {}…)",
            &sha[..12],
            want.size,
            short(&want.sha256)
        )),
        Ok(_) => None,
    }
}

/// `no-extra-files`: nothing besides the listed files and the late ones, and the required
/// late files are there.
pub(super) fn no_extra_files(dir: &Path, listed: &Listed) -> Check {
    let mut problems: Vec<String> = match list_dir(dir) {
        Ok(files) => files
            .iter()
            .filter(|(p, regular)| !*regular || !(listed.contains_key(p.as_str()) || layout::is_late(p)))
            .map(|(p, regular)| {
                if *regular {
                    format!("{p}: not in the manifest")
                } else {
                    format!("{p} (not a regular file): not in the manifest")
                }
            })
            .collect(),
        Err(e) => vec![format!("cannot list the folder: {e}")],
    };
    problems
        .extend(layout::late_names(|f| f.required).filter(|f| !dir.join(f).is_file()).map(|f| format!("{f}: missing")));
    let ok = "no file besides the listed ones, the report, SHA256SUMS, the signature (and an archive receipt)";
    Check::from_problems(CheckId::NoExtraFiles, &problems, problems.len(), ok)
}

/// `sha256sums`: `SHA256SUMS` lists exactly the listed files and the late files it covers,
/// with the manifest's digests and the real ones of the late files.
pub(super) fn sha256sums(dir: &Path, listed: &Listed, manifest: Option<&[u8]>) -> Check {
    match check_sha256sums(dir, listed, manifest) {
        Ok(n) => Check::pass(CheckId::Sha256sums, format!("SHA256SUMS lists {n} files, all consistent")),
        Err(e) => Check::fail(CheckId::Sha256sums, e),
    }
}

fn check_sha256sums(dir: &Path, listed: &Listed, manifest: Option<&[u8]>) -> Result<usize, String> {
    let sums = read_sums(dir)?;
    let mut expected: BTreeSet<&str> = listed.keys().map(String::as_str).collect();
    for late in layout::late_names(|f| f.in_sha256sums) {
        expected.insert(late);
    }
    let mut problems: Vec<String> =
        expected.iter().filter(|p| !sums.contains_key(**p)).map(|p| format!("{p}: not listed")).collect();
    for (path, hash) in &sums {
        if !expected.contains(path.as_str()) {
            problems.push(format!("{path}: listed but not part of the package"));
        } else if let Some(l) = listed.get(path) {
            if &l.sha256 != hash {
                problems.push(format!("{path}: digest differs from manifest.json"));
            }
        } else {
            let actual = match (path.as_str(), manifest) {
                (layout::MANIFEST, Some(m)) => Some(hex::encode(sha2::Sha256::digest(m))),
                _ => hash_file(&dir.join(path)).ok().map(|(_, h)| h),
            };
            if actual.as_deref() != Some(hash.as_str()) {
                problems.push(format!("{path}: digest does not match the file"));
            }
        }
    }
    if problems.is_empty() { Ok(sums.len()) } else { Err(super::summarize(&problems, sums.len())) }
}

/// `SHA256SUMS` as path → digest; a malformed or repeated line is an error naming the line.
fn read_sums(dir: &Path) -> Result<BTreeMap<String, String>, String> {
    let text = std::fs::read(dir.join(layout::SHA256SUMS)).map_err(|e| format!("cannot read SHA256SUMS: {e}"))?;
    let text = String::from_utf8(text).map_err(|_| "SHA256SUMS is not UTF-8".to_owned())?;
    let mut sums = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let parsed = line.split_once("  ").filter(|(h, p)| {
            h.len() == 64 && h.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) && !p.is_empty()
        });
        let Some((hash, path)) = parsed else {
            return Err(format!("SHA256SUMS line {}: not `<sha256>  <path>`", i + 1));
        };
        if sums.insert(path.to_owned(), hash.to_owned()).is_some() {
            return Err(format!("SHA256SUMS line {}: {path} listed twice", i + 1));
        }
    }
    Ok(sums)
}

/// `manifest-signature`: `manifest.json.p7s` is a valid CMS signature over the manifest by
/// the signer it names. Returns that signer when valid.
pub(super) fn manifest_signature(
    dir: &Path,
    loaded: Option<&Loaded>,
    declared: Option<&SignatureDecl>,
    opts: &VerifyOptions,
) -> (Check, Option<Verified>) {
    let id = CheckId::ManifestSignature;
    let p7s = std::fs::read(dir.join(layout::MANIFEST_SIGNATURE));
    let check = match (&p7s, loaded) {
        (Err(_), _) if declared.is_none() && opts.allow_unsigned => {
            Check::skip(id, "unsigned package (accepted with --allow-unsigned)")
        }
        (Err(_), _) if declared.is_none() => {
            Check::fail(id, "unsigned package: no manifest.json.p7s (pass --allow-unsigned to check integrity only)")
        }
        (Err(e), _) => {
            Check::fail(id, format!("manifest.json.p7s missing although the manifest says it is signed ({e})"))
        }
        (Ok(_), None) => Check::fail(id, "no manifest.json to check the signature over"),
        (Ok(sig), Some(l)) => {
            let digest: [u8; 32] = sha2::Sha256::digest(&l.bytes).into();
            match verify_detached(sig, &digest) {
                Ok(v) if declared.is_none_or(|d| d.signer_certificate_sha256 != v.certificate_sha256()) => Check::fail(
                    id,
                    format!("signature valid, but by {} — not the signer the manifest names", v.subject()),
                ),
                Ok(v) => return (Check::pass(id, format!("valid CMS signature by {}", v.subject())), Some(v)),
                Err(e) => Check::fail(id, format!("manifest.json.p7s: {e}")),
            }
        }
    };
    (check, None)
}

/// A valid report signature and its signing time: proven by its timestamp, else claimed.
pub(super) type ReportSigner = (Verified, Option<Duration>);

/// `report-signature`, `report-coverage` and `report-level`: `report.pdf` carries one valid
/// PAdES signature by the package's signer, covering the whole file (with what PAdES allows
/// after it), and every timestamp in it is valid.
pub(super) fn report_signature(
    dir: &Path,
    declared: Option<&SignatureDecl>,
    manifest_signer: Option<&Verified>,
    opts: &VerifyOptions,
) -> ([Check; 3], Option<ReportSigner>, Option<PdfTimestamps>) {
    let (sig, cov, lvl) = (CheckId::ReportSignature, CheckId::ReportCoverage, CheckId::ReportLevel);
    let pdf = match std::fs::read(dir.join(layout::REPORT)) {
        Ok(pdf) => pdf,
        Err(e) => {
            let checks = [
                Check::fail(sig, format!("cannot read report.pdf: {e}")),
                Check::fail(cov, "no report.pdf"),
                Check::fail(lvl, "no report.pdf"),
            ];
            return (checks, None, None);
        }
    };
    // TODO(issue 17 merge): the lead's `--tsa-ca` anchors go here.
    let tsa_anchors: &[x509_cert::Certificate] = &[];
    match check_pdf(&pdf, tsa_anchors) {
        PdfOutcome::Unsigned if declared.is_none() && opts.allow_unsigned => (
            [
                Check::skip(sig, "report.pdf is not signed (accepted with --allow-unsigned)"),
                Check::skip(cov, "no signature"),
                Check::skip(lvl, "no signature"),
            ],
            None,
            None,
        ),
        PdfOutcome::Unsigned => (
            [
                Check::fail(sig, "report.pdf carries no signature"),
                Check::fail(cov, "no signature"),
                Check::fail(lvl, "no signature"),
            ],
            None,
            None,
        ),
        PdfOutcome::Broken(e) => (
            [
                Check::fail(sig, format!("report.pdf: {e}")),
                Check::fail(cov, "signature unreadable"),
                Check::fail(lvl, "signature unreadable"),
            ],
            None,
            None,
        ),
        PdfOutcome::Signed { signature, coverage, claimed, timestamps } => {
            let coverage = match coverage {
                Ok(what) => Check::pass(cov, what),
                Err(e) => Check::fail(cov, e),
            };
            let level = if timestamps.problems.is_empty() {
                Check::pass(lvl, timestamps.summary())
            } else {
                Check::fail(lvl, format!("{}; {}", timestamps.summary(), timestamps.problems.join("; ")))
            };
            let time = timestamps.signature_time.or(claimed);
            match *signature {
                Ok(v) => {
                    ([signer_check(&v, declared, manifest_signer), coverage, level], Some((v, time)), Some(timestamps))
                }
                Err(e) => ([Check::fail(sig, format!("report.pdf: {e}")), coverage, level], None, Some(timestamps)),
            }
        }
    }
}

/// Whether a valid report signature is by the signer the manifest names (and that signed it).
fn signer_check(v: &Verified, declared: Option<&SignatureDecl>, manifest_signer: Option<&Verified>) -> Check {
    let id = CheckId::ReportSignature;
    let same = manifest_signer.map(|s| s.certificate_sha256() == v.certificate_sha256());
    let by_declared = declared.is_some_and(|d| d.signer_certificate_sha256 == v.certificate_sha256());
    if same == Some(false) || !by_declared {
        Check::fail(id, format!("valid PAdES signature, but by {} — not the package's signer", v.subject()))
    } else {
        Check::pass(id, format!("valid PAdES signature (ETSI.CAdES.detached) by {}", v.subject()))
    }
}

/// `trust`: the signers chain to a `--ca` trust anchor at their signing time (skipped
/// without `--ca`).
pub(super) fn trust(opts: &VerifyOptions, manifest_signer: Option<&Verified>, report: Option<&ReportSigner>) -> Check {
    let id = CheckId::Trust;
    let anchors = match (&opts.anchors, manifest_signer, report) {
        (_, None, None) => return Check::skip(id, "no valid signature to check"),
        (None, _, _) => {
            return Check::skip(id, "signature valid, signer not trusted: no trust anchor given (--ca FILE)");
        }
        (Some(anchors), _, _) => anchors,
    };
    let mut results = Vec::new();
    if let Some(v) = manifest_signer {
        let at = v.signing_time.unwrap_or_else(now);
        results.push(("manifest signer", check_chain(&v.signer, &v.certificates, anchors, at)));
    }
    if let Some((v, t)) = report {
        let at = t.unwrap_or_else(now);
        results.push(("report signer", check_chain(&v.signer, &v.certificates, anchors, at)));
    }
    match results.iter().find(|(_, r)| r.is_err()) {
        Some((who, Err(e))) => Check::fail(id, format!("{who}: {e}")),
        _ => {
            let anchor = results.first().and_then(|(_, r)| r.as_ref().ok()).cloned().unwrap_or_default();
            Check::pass(id, format!("signer chains to trusted CA {anchor}"))
        }
    }
}

fn now() -> Duration {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default()
}

fn short(s: &str) -> &str {
    s.get(..12).unwrap_or(s)
}

/// Every entry under `dir` as (relative path, is a regular file), directories left out.
fn list_dir(dir: &Path) -> std::io::Result<Vec<(String, bool)>> {
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(dir).min_depth(1) {
        let entry = entry.map_err(std::io::Error::other)?;
        if entry.file_type().is_dir() {
            continue;
        }
        out.push((layout::relative_path(dir, entry.path()), entry.file_type().is_file()));
    }
    Ok(out)
}

/// `D:YYYYMMDDHHmmSS` with `Z` or an offset, as Unix time.
pub(super) fn parse_pdf_date(s: &str) -> Option<Duration> {
    let s = s.strip_prefix("D:")?;
    let digits = s.get(..14)?;
    let dt = chrono::NaiveDateTime::parse_from_str(digits, "%Y%m%d%H%M%S").ok()?;
    let rest = &s[14..];
    let offset_secs = match rest.as_bytes().first() {
        None | Some(b'Z') => 0,
        Some(sign @ (b'+' | b'-')) => {
            let h: i64 = rest.get(1..3)?.parse().ok()?;
            let m: i64 = rest.get(4..6).and_then(|m| m.parse().ok()).unwrap_or(0);
            let v = h * 3600 + m * 60;
            if *sign == b'+' { v } else { -v }
        }
        _ => return None,
    };
    u64::try_from(dt.and_utc().timestamp() - offset_secs).ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pdf_dates() {
        assert_eq!(parse_pdf_date("D:20261001000000Z"), Some(Duration::from_secs(1_790_812_800)));
        assert_eq!(parse_pdf_date("D:20261001020000+02'00'"), Some(Duration::from_secs(1_790_812_800)));
        assert_eq!(parse_pdf_date("garbage"), None);
    }
}
