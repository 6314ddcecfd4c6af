//! `verify`: is a package what its producer signed, complete and unchanged?
//!
//! Every check runs, whatever fails first, and becomes one line of the report:
//!
//! | check | holds when |
//! |---|---|
//! | `manifest` | `manifest.json` is there and readable |
//! | `files` | every file the manifest lists is there with its size and SHA-256 |
//! | `no-extra-files` | nothing else is in the folder besides manifest, report, `SHA256SUMS` and the signature |
//! | `sha256sums` | `SHA256SUMS` lists exactly those files, with the manifest's digests and the real ones of `manifest.json` and `report.pdf` |
//! | `manifest-signature` | `manifest.json.p7s` is a valid CMS signature over `manifest.json` by the signer the manifest names |
//! | `report-signature` | `report.pdf` carries one valid PAdES signature by the same signer |
//! | `report-coverage` | that signature covers the whole file (nothing appended or hidden) |
//! | `trust` | the signer chains to a `--ca` trust anchor (skipped without `--ca`) |
//!
//! [`verify_dir`] returns a [`Report`]; it never fails on bad input — bad input is a failed check.

pub mod cades;
mod s3;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use serde_json::json;
use sha2::Digest as _;
use x509_cert::Certificate;

pub use cades::{Verified, check_chain, verify_detached};
pub use s3::{RECEIPT, Receipt, ReceiptObject, verify_s3};

use crate::package::hash_file;
use crate::pdf::Pdf;

/// What to check against.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Trust anchors (`--ca`); without them the signer is reported as not checked.
    pub anchors: Option<Vec<Certificate>>,
    /// Accept a package without signatures (its integrity checks still run).
    pub allow_unsigned: bool,
}

/// A check's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Holds.
    Pass,
    /// Does not hold.
    Fail,
    /// Not checked (and why is in the detail).
    Skip,
}

/// One line of the report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Check {
    /// Stable check name.
    pub check: &'static str,
    /// Outcome.
    pub status: Status,
    /// What was found.
    pub detail: String,
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
}

impl Report {
    /// Whether no check failed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.status != Status::Fail)
    }

    /// The checks that failed.
    pub fn failed(&self) -> Vec<&'static str> {
        self.checks.iter().filter(|c| c.status == Status::Fail).map(|c| c.check).collect()
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
        let trust = self.checks.iter().find(|c| c.check == "trust");
        match trust.map(|c| c.status) {
            Some(Status::Pass) => "VERIFIED: intact, complete and signed by a trusted signer".into(),
            _ if self.checks.iter().any(|c| c.check == "manifest-signature" && c.status == Status::Skip) => {
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
        });
        serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
    }
}

/// Files of a package that the manifest does not list (it cannot list itself, the report
/// cites the manifest, and signatures come after it).
pub(crate) const LATE_FILES: [&str; 5] = ["manifest.json", "report.pdf", "SHA256SUMS", "manifest.json.p7s", RECEIPT];

struct Listed {
    size: u64,
    sha256: String,
}

/// Verifies the package in `dir`.
pub fn verify_dir(dir: &Path, opts: &VerifyOptions) -> Report {
    let mut report = Report { target: dir.display().to_string(), package_id: None, checks: Vec::new() };
    let mut add =
        |check: &'static str, status: Status, detail: String| report.checks.push(Check { check, status, detail });

    // manifest
    let manifest_bytes = std::fs::read(dir.join("manifest.json"));
    let manifest: Option<serde_json::Value> = match &manifest_bytes {
        Err(e) => {
            add("manifest", Status::Fail, format!("cannot read manifest.json: {e}"));
            None
        }
        Ok(b) => match serde_json::from_slice::<serde_json::Value>(b) {
            Ok(v) if v.get("files").is_some_and(serde_json::Value::is_array) => {
                let format = v.get("format").and_then(|f| f.as_str()).unwrap_or("?").to_owned();
                add("manifest", Status::Pass, format!("manifest.json ({format}) readable"));
                Some(v)
            }
            Ok(_) => {
                add("manifest", Status::Fail, "manifest.json has no file list".into());
                None
            }
            Err(e) => {
                add("manifest", Status::Fail, format!("manifest.json is not valid JSON: {e}"));
                None
            }
        },
    };
    let package_id = manifest.as_ref().and_then(|m| m.get("package_id")).and_then(|v| v.as_str()).map(str::to_owned);
    let listed: BTreeMap<String, Listed> = manifest
        .as_ref()
        .and_then(|m| m.get("files"))
        .and_then(|f| f.as_array())
        .map(|files| {
            files
                .iter()
                .filter_map(|f| {
                    Some((
                        f.get("path")?.as_str()?.to_owned(),
                        Listed { size: f.get("size")?.as_u64()?, sha256: f.get("sha256")?.as_str()?.to_owned() },
                    ))
                })
                .collect()
        })
        .unwrap_or_default();

    // files + no-extra-files
    let on_disk = list_dir(dir);
    if manifest.is_some() {
        let check = |path: &str, want: &Listed| -> Option<String> {
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
        };
        // Hashing is the cost of verifying a large package: one thread per core, each taking
        // every n-th file; problems are reported in manifest order.
        let entries: Vec<(&String, &Listed)> = listed.iter().collect();
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(entries.len().max(1));
        let mut found: Vec<(usize, String)> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|t| {
                    let (entries, check) = (&entries, &check);
                    scope.spawn(move || {
                        (t..entries.len())
                            .step_by(threads)
                            .filter_map(|i| check(entries[i].0, entries[i].1).map(|p| (i, p)))
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
        if bad.is_empty() {
            add(
                "files",
                Status::Pass,
                format!("all {} files listed in manifest.json are present and match", listed.len()),
            );
        } else {
            add("files", Status::Fail, summarize(&bad, listed.len()));
        }
    } else {
        add("files", Status::Fail, "no readable manifest to check files against".into());
    }
    let extra: Vec<String> = match &on_disk {
        Ok(files) => files
            .iter()
            .filter(|(p, regular)| !*regular || !(listed.contains_key(p.as_str()) || LATE_FILES.contains(&p.as_str())))
            .map(|(p, regular)| if *regular { p.clone() } else { format!("{p} (not a regular file)") })
            .collect(),
        Err(e) => vec![format!("cannot list the folder: {e}")],
    };
    let missing_late: Vec<&str> =
        ["manifest.json", "report.pdf", "SHA256SUMS"].into_iter().filter(|f| !dir.join(f).is_file()).collect();
    if extra.is_empty() && missing_late.is_empty() {
        add(
            "no-extra-files",
            Status::Pass,
            "no file besides the listed ones, the report, SHA256SUMS, the signature (and an archive receipt)".into(),
        );
    } else {
        let mut problems: Vec<String> = extra.iter().map(|p| format!("{p}: not in the manifest")).collect();
        problems.extend(missing_late.iter().map(|p| format!("{p}: missing")));
        add("no-extra-files", Status::Fail, summarize(&problems, problems.len()));
    }

    // sha256sums
    let sums = check_sha256sums(dir, &listed, manifest_bytes.as_deref().ok());
    match sums {
        Ok(n) => add("sha256sums", Status::Pass, format!("SHA256SUMS lists {n} files, all consistent")),
        Err(e) => add("sha256sums", Status::Fail, e),
    }

    // manifest-signature
    let declared = manifest.as_ref().and_then(|m| m.get("signature")).filter(|s| !s.is_null());
    let declared_cert = declared.and_then(|s| s.get("signer_certificate_sha256")).and_then(|v| v.as_str());
    let p7s = std::fs::read(dir.join("manifest.json.p7s"));
    let mut signer: Option<Verified> = None;
    match (&p7s, &manifest_bytes) {
        (Err(_), _) if declared.is_none() && opts.allow_unsigned => {
            add("manifest-signature", Status::Skip, "unsigned package (accepted with --allow-unsigned)".into())
        }
        (Err(_), _) if declared.is_none() => add(
            "manifest-signature",
            Status::Fail,
            "unsigned package: no manifest.json.p7s (pass --allow-unsigned to check integrity only)".into(),
        ),
        (Err(e), _) => add(
            "manifest-signature",
            Status::Fail,
            format!("manifest.json.p7s missing although the manifest says it is signed ({e})"),
        ),
        (Ok(_), Err(_)) => {
            add("manifest-signature", Status::Fail, "no manifest.json to check the signature over".into())
        }
        (Ok(sig), Ok(content)) => {
            let digest: [u8; 32] = sha2::Sha256::digest(content).into();
            match verify_detached(sig, &digest) {
                Ok(v) if declared_cert.is_some_and(|c| c != v.certificate_sha256()) || declared.is_none() => add(
                    "manifest-signature",
                    Status::Fail,
                    format!("signature valid, but by {} — not the signer the manifest names", v.subject()),
                ),
                Ok(v) => {
                    add("manifest-signature", Status::Pass, format!("valid CMS signature by {}", v.subject()));
                    signer = Some(v);
                }
                Err(e) => add("manifest-signature", Status::Fail, format!("manifest.json.p7s: {e}")),
            }
        }
    }

    // report-signature + report-coverage
    let mut pdf_signer: Option<(Verified, Option<Duration>)> = None;
    match std::fs::read(dir.join("report.pdf")) {
        Err(e) => {
            add("report-signature", Status::Fail, format!("cannot read report.pdf: {e}"));
            add("report-coverage", Status::Fail, "no report.pdf".into());
        }
        Ok(pdf) => match check_pdf(&pdf) {
            PdfOutcome::Unsigned if declared.is_none() && opts.allow_unsigned => {
                add(
                    "report-signature",
                    Status::Skip,
                    "report.pdf is not signed (accepted with --allow-unsigned)".into(),
                );
                add("report-coverage", Status::Skip, "no signature".into());
            }
            PdfOutcome::Unsigned => {
                add("report-signature", Status::Fail, "report.pdf carries no signature".into());
                add("report-coverage", Status::Fail, "no signature".into());
            }
            PdfOutcome::Broken(e) => {
                add("report-signature", Status::Fail, format!("report.pdf: {e}"));
                add("report-coverage", Status::Fail, "signature unreadable".into());
            }
            PdfOutcome::Signed { signature, coverage, time } => {
                match *signature {
                    Ok(v) => {
                        let same = signer.as_ref().map(|s| s.certificate_sha256() == v.certificate_sha256());
                        let by_declared = declared_cert.is_some_and(|c| c == v.certificate_sha256());
                        if same == Some(false) || !by_declared {
                            add(
                                "report-signature",
                                Status::Fail,
                                format!("valid PAdES signature, but by {} — not the package's signer", v.subject()),
                            );
                        } else {
                            add(
                                "report-signature",
                                Status::Pass,
                                format!("valid PAdES signature (ETSI.CAdES.detached) by {}", v.subject()),
                            );
                        }
                        pdf_signer = Some((v, time));
                    }
                    Err(e) => add("report-signature", Status::Fail, format!("report.pdf: {e}")),
                }
                match coverage {
                    Ok(n) => {
                        add("report-coverage", Status::Pass, format!("the signature covers the whole file ({n} bytes)"))
                    }
                    Err(e) => add("report-coverage", Status::Fail, e),
                }
            }
        },
    }

    // trust
    match (&opts.anchors, &signer, &pdf_signer) {
        (_, None, None) => add("trust", Status::Skip, "no valid signature to check".into()),
        (None, _, _) => {
            add("trust", Status::Skip, "signature valid, signer not trusted: no trust anchor given (--ca FILE)".into())
        }
        (Some(anchors), _, _) => {
            let mut results = Vec::new();
            if let Some(v) = &signer {
                let at = v.signing_time.unwrap_or_else(now);
                results.push(("manifest signer", check_chain(&v.signer, &v.certificates, anchors, at)));
            }
            if let Some((v, t)) = &pdf_signer {
                let at = t.unwrap_or_else(now);
                results.push(("report signer", check_chain(&v.signer, &v.certificates, anchors, at)));
            }
            match results.iter().find(|(_, r)| r.is_err()) {
                Some((who, Err(e))) => add("trust", Status::Fail, format!("{who}: {e}")),
                _ => {
                    let anchor = results.first().and_then(|(_, r)| r.as_ref().ok()).cloned().unwrap_or_default();
                    add("trust", Status::Pass, format!("signer chains to trusted CA {anchor}"))
                }
            }
        }
    }
    report.package_id = package_id;
    report
}

fn now() -> Duration {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default()
}

fn short(s: &str) -> &str {
    s.get(..12).unwrap_or(s)
}

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

/// Every entry under `dir` as (relative path, is a regular file), directories left out.
fn list_dir(dir: &Path) -> std::io::Result<Vec<(String, bool)>> {
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(dir).min_depth(1) {
        let entry = entry.map_err(std::io::Error::other)?;
        if entry.file_type().is_dir() {
            continue;
        }
        let rel = entry.path().strip_prefix(dir).unwrap_or(entry.path());
        let rel = rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
        out.push((rel, entry.file_type().is_file()));
    }
    Ok(out)
}

fn check_sha256sums(dir: &Path, listed: &BTreeMap<String, Listed>, manifest: Option<&[u8]>) -> Result<usize, String> {
    let text = std::fs::read(dir.join("SHA256SUMS")).map_err(|e| format!("cannot read SHA256SUMS: {e}"))?;
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
    let mut problems = Vec::new();
    let expected: BTreeSet<&str> = listed.keys().map(String::as_str).chain(["manifest.json", "report.pdf"]).collect();
    for p in &expected {
        if !sums.contains_key(*p) {
            problems.push(format!("{p}: not listed"));
        }
    }
    for (path, hash) in &sums {
        if !expected.contains(path.as_str()) {
            problems.push(format!("{path}: listed but not part of the package"));
        } else if let Some(l) = listed.get(path) {
            if &l.sha256 != hash {
                problems.push(format!("{path}: digest differs from manifest.json"));
            }
        } else {
            let actual = match (path.as_str(), manifest) {
                ("manifest.json", Some(m)) => Some(hex::encode(sha2::Sha256::digest(m))),
                _ => hash_file(&dir.join(path)).ok().map(|(_, h)| h),
            };
            if actual.as_deref() != Some(hash.as_str()) {
                problems.push(format!("{path}: digest does not match the file"));
            }
        }
    }
    if problems.is_empty() { Ok(sums.len()) } else { Err(summarize(&problems, sums.len())) }
}

enum PdfOutcome {
    Unsigned,
    Broken(String),
    Signed { signature: Box<Result<Verified, String>>, coverage: Result<usize, String>, time: Option<Duration> },
}

/// Checks the PDF's one signature: the CMS over the byte ranges, and that those ranges are
/// the whole file minus exactly the `/Contents` hex string.
fn check_pdf(bytes: &[u8]) -> PdfOutcome {
    let pdf = match Pdf::parse(bytes) {
        Ok(p) => p,
        Err(e) => return PdfOutcome::Broken(e.to_string()),
    };
    let sigs = match pdf.signatures() {
        Ok(s) => s,
        Err(e) => return PdfOutcome::Broken(e.to_string()),
    };
    let sig = match sigs.as_slice() {
        [] => return PdfOutcome::Unsigned,
        [s] => s,
        more => return PdfOutcome::Broken(format!("{} signatures; expected one", more.len())),
    };
    let len = bytes.len() as i64;
    let br = &sig.byte_range;
    let coverage = match br.as_slice() {
        [0, a, b, c]
            if *a as usize == sig.contents_span.start && *b as usize == sig.contents_span.end && b + c == len =>
        {
            Ok(bytes.len())
        }
        [0, _, b, c] if b + c < len => {
            Err(format!("{} bytes after the signed range: the file was changed after signing", len - b - c))
        }
        _ => Err(format!("the /ByteRange {br:?} does not cover the whole file except the signature")),
    };
    let signature = (|| {
        if sig.sub_filter != crate::sign::PDF_SUB_FILTER && sig.sub_filter != "adbe.pkcs7.detached" {
            return Err(format!("unsupported signature type /{}", sig.sub_filter));
        }
        let [0, a, b, c] = br.as_slice() else { return Err("malformed /ByteRange".to_owned()) };
        let (a, b, c) = (*a, *b, *c);
        if a < 0 || b < a || c < 0 || b + c > len {
            return Err("the /ByteRange points outside the file".into());
        }
        let mut h = sha2::Sha256::new();
        h.update(&bytes[..a as usize]);
        h.update(&bytes[b as usize..(b + c) as usize]);
        let digest: [u8; 32] = h.finalize().into();
        let der_len = cades::der_element_len(&sig.contents).ok_or("the signature is not a DER structure")?;
        if sig.contents[der_len..].iter().any(|&b| b != 0) {
            return Err("bytes after the CMS in /Contents are not zero padding".into());
        }
        verify_detached(&sig.contents[..der_len], &digest)
    })();
    let time = sig.signing_time.as_deref().and_then(parse_pdf_date);
    PdfOutcome::Signed { signature: Box::new(signature), coverage, time }
}

/// `D:YYYYMMDDHHmmSS` with `Z` or an offset, as Unix time.
fn parse_pdf_date(s: &str) -> Option<Duration> {
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

    #[test]
    fn der_lengths() {
        assert_eq!(cades::der_element_len(&[0x30, 0x03, 1, 2, 3, 0, 0]), Some(5));
        assert_eq!(cades::der_element_len(&[0x30, 0x82, 0x01, 0x00]), None);
        assert_eq!(cades::der_element_len(&[0x30]), None);
    }

    #[test]
    fn safe_paths() {
        assert!(is_safe_relative("evidence/a.csv"));
        assert!(!is_safe_relative("../x"));
        assert!(!is_safe_relative("/etc/passwd"));
        assert!(!is_safe_relative("a//b"));
    }
}
