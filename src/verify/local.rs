//! The checks of a package folder, one function each, in the order [`super::verify_dir`]
//! runs them. Each returns its [`Check`] (and what later checks need); none fails on bad
//! input — bad input is a failed check.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use sha2::Digest as _;

use super::cades::{Verified, check_chain, verify_detached};
use super::pades::{PdfOutcome, PdfTimestamps, check_pdf};
use super::{Check, CheckId, SignatureTime, Status, VerifyOptions, is_safe_relative};
use crate::package::hash_file;
use crate::package::layout;
use crate::package::manifest::{FileEntry, Manifest, SignatureDecl};
use crate::sign::tsa;

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
    let ok = "no file besides the listed ones, the report, SHA256SUMS, the signature (and an archive receipt, timestamp renewals)";
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

/// A valid report signature, its claimed signing time (`/M`) and the time its signature
/// timestamp proves.
pub(super) type ReportSigner = (Verified, Option<Duration>, Option<Duration>);

/// `report-signature`, `report-coverage` and `report-level`: `report.pdf` carries one valid
/// PAdES signature by the package's signer, covering the whole file (with only what PAdES
/// allows after it), and every timestamp in it is valid. Adds the report's times to `times`.
pub(super) fn report_signature(
    dir: &Path,
    declared: Option<&SignatureDecl>,
    manifest_signer: Option<&Verified>,
    opts: &VerifyOptions,
    times: &mut Vec<SignatureTime>,
) -> ([Check; 3], Option<ReportSigner>, Option<PdfTimestamps>) {
    let (sig, cov, lvl) = (CheckId::ReportSignature, CheckId::ReportCoverage, CheckId::ReportLevel);
    let all = |status: fn(CheckId, String) -> Check, [a, b, c]: [&str; 3]| {
        [status(sig, a.to_owned()), status(cov, b.to_owned()), status(lvl, c.to_owned())]
    };
    let pdf = match std::fs::read(dir.join(layout::REPORT)) {
        Ok(pdf) => pdf,
        Err(e) => {
            let e = format!("cannot read report.pdf: {e}");
            return (all(Check::fail, [&e, "no report.pdf", "no report.pdf"]), None, None);
        }
    };
    let anchors = opts.tsa_anchors.as_deref().unwrap_or(&[]);
    match check_pdf(&pdf, anchors) {
        PdfOutcome::Unsigned if declared.is_none() && opts.allow_unsigned => {
            let why = "report.pdf is not signed (accepted with --allow-unsigned)";
            (all(Check::skip, [why, "no signature", "no signature"]), None, None)
        }
        PdfOutcome::Unsigned => {
            (all(Check::fail, ["report.pdf carries no signature", "no signature", "no signature"]), None, None)
        }
        PdfOutcome::Broken(e) => {
            let e = format!("report.pdf: {e}");
            (all(Check::fail, [&e, "signature unreadable", "signature unreadable"]), None, None)
        }
        PdfOutcome::Signed { signature, coverage, claimed, timestamps } => {
            let coverage = match coverage {
                Ok(what) => Check::pass(cov, what),
                Err(e) => Check::fail(cov, e),
            };
            let level = level_check(&timestamps, opts);
            report_times(&timestamps, claimed, times);
            match *signature {
                Ok(v) => {
                    let checks = [signer_check(&v, declared, manifest_signer), coverage, level];
                    (checks, Some((v, claimed, timestamps.signature_time)), Some(timestamps))
                }
                Err(e) => ([Check::fail(sig, format!("report.pdf: {e}")), coverage, level], None, Some(timestamps)),
            }
        }
    }
}

/// `report-level`: fails on a bad token or `/DSS`; warns at B-B (the time is only claimed)
/// and when the TSA was not checked against `--tsa-ca`.
fn level_check(t: &PdfTimestamps, opts: &VerifyOptions) -> Check {
    let id = CheckId::ReportLevel;
    if !t.problems.is_empty() {
        return Check::fail(id, format!("{}; {}", t.summary(), t.problems.join("; ")));
    }
    if t.level == crate::pdf::PadesLevel::BB {
        return Check::warn(id, t.summary());
    }
    match &opts.tsa_anchors {
        Some(_) => Check::pass(id, format!("{}; TSA chains to a --tsa-ca anchor", t.summary())),
        None => {
            Check::warn(id, format!("{}; TSA NOT checked against a trust anchor (pass --tsa-ca FILE)", t.summary()))
        }
    }
}

/// The report signature's claimed and proven times, and the document timestamp's.
fn report_times(t: &PdfTimestamps, claimed: Option<Duration>, times: &mut Vec<SignatureTime>) {
    times.push(SignatureTime {
        what: layout::REPORT.into(),
        claimed: claimed.map(rfc3339),
        proven: t.signature_time.map(rfc3339),
        tsa: t.signature_tsa.clone(),
    });
    if let Some(at) = t.document_timestamp_time {
        times.push(SignatureTime {
            what: format!("{} (document timestamp)", layout::REPORT),
            claimed: None,
            proven: Some(rfc3339(at)),
            tsa: t.document_timestamp_tsa.clone(),
        });
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

/// `manifest-timestamp`: the CAdES-T token on the manifest's signature is over its signature
/// value, by a TSA certificate for time-stamping (chaining to `--tsa-ca` when given). Returns
/// the verified token (its time is the proven signing time). A signature without a token still
/// verifies, with a warning.
pub(super) fn manifest_timestamp(
    signer: Option<&Verified>,
    declared: Option<&SignatureDecl>,
    opts: &VerifyOptions,
    times: &mut Vec<SignatureTime>,
) -> (Check, Option<tsa::VerifiedToken>) {
    let id = CheckId::ManifestTimestamp;
    let Some(v) = signer else { return (Check::skip(id, "no valid manifest signature"), None) };
    let claimed = v.signing_time.map(rfc3339);
    let mut time = SignatureTime { what: layout::MANIFEST_SIGNATURE.into(), claimed, proven: None, tsa: None };
    let Some(token) = &v.timestamp_token else {
        let missing = declared.and_then(|d| d.timestamp_missing.as_deref());
        let check = match (declared.and_then(|d| d.timestamp_authority.as_deref()), missing) {
            (Some(url), None) => Check::fail(
                id,
                format!("the manifest names the TSA {url}, but the signature carries no timestamp (removed?)"),
            ),
            _ => {
                let why = missing.map(|w| format!(" (the TSA failed at build time: {w})")).unwrap_or_default();
                let at = time.claimed.clone().unwrap_or_else(|| "not stated".into());
                Check::warn(
                    id,
                    format!("no trusted timestamp{why}: the signing time {at} is only claimed by the signer"),
                )
            }
        };
        times.push(time);
        return (check, None);
    };
    let anchors = opts.tsa_anchors.as_deref().unwrap_or(&[]);
    match tsa::verify_token(token, &[&v.signature_value], anchors) {
        Ok(t) => {
            let proven = rfc3339(t.gen_time);
            let by = t.tsa_subject();
            let (status, trust) = match &t.anchor {
                Some(a) => (Status::Pass, format!("TSA chains to {a}")),
                None => (Status::Warn, "TSA NOT checked against a trust anchor (pass --tsa-ca FILE)".to_owned()),
            };
            let detail = format!("RFC 3161 token by {by}: signature proven to exist at {proven} ({}; {trust})", t.hash);
            time.proven = Some(proven);
            time.tsa = Some(by);
            times.push(time);
            (Check { check: id, status, detail }, Some(t))
        }
        Err(e) => {
            times.push(time);
            (Check::fail(id, format!("forged or mismatched timestamp token: {e}")), None)
        }
    }
}

/// A time as RFC 3339 (UTC, seconds).
pub(super) fn rfc3339(t: Duration) -> String {
    crate::time::Timestamp(i64::try_from(t.as_millis()).unwrap_or(i64::MAX)).to_rfc3339()
}

/// `trust`: the signers chain to a `--ca` trust anchor at their proven signing time (the
/// TSA's), else at the claimed one; a certificate that expired after the proven time still
/// counts, one not valid at it does not. Skipped without `--ca`.
pub(super) fn trust(
    opts: &VerifyOptions,
    manifest_signer: Option<(&Verified, Option<Duration>)>,
    report: Option<&ReportSigner>,
) -> Check {
    let id = CheckId::Trust;
    let anchors = match (&opts.anchors, manifest_signer, report) {
        (_, None, None) => return Check::skip(id, "no valid signature to check"),
        (None, _, _) => {
            return Check::skip(id, "signature valid, signer not trusted: no trust anchor given (--ca FILE)");
        }
        (Some(anchors), _, _) => anchors,
    };
    let mut results = Vec::new();
    if let Some((v, proven)) = manifest_signer {
        results.push(("manifest signer", chain_at(v, proven, v.signing_time, anchors)));
    }
    if let Some((v, claimed, proven)) = report {
        results.push(("report signer", chain_at(v, *proven, *claimed, anchors)));
    }
    match results.iter().find(|(_, r)| r.is_err()) {
        Some((who, Err(e))) => Check::fail(id, format!("{who}: {e}")),
        _ => {
            let detail = results.first().and_then(|(_, r)| r.as_ref().ok()).cloned().unwrap_or_default();
            Check::pass(id, detail)
        }
    }
}

/// The chain of `v` at the proven time, else the claimed one, else now — said in the result.
fn chain_at(
    v: &Verified,
    proven: Option<Duration>,
    claimed: Option<Duration>,
    anchors: &[x509_cert::Certificate],
) -> Result<String, String> {
    let (at, which) = match (proven, claimed) {
        (Some(p), _) => (p, "the proven signing time"),
        (None, Some(c)) => (c, "the claimed signing time"),
        (None, None) => (now(), "now"),
    };
    let when = rfc3339(at);
    let anchor = check_chain(&v.signer, &v.certificates, anchors, at).map_err(|e| format!("at {which} {when}: {e}"))?;
    let mut detail = format!("signer chains to trusted CA {anchor} at {which} {when}");
    let not_after = v.signer.tbs_certificate().validity().not_after;
    if not_after.to_unix_duration() < now() {
        let stands = if proven.is_some() { "; the signature stands" } else { "; only the signer claims that time" };
        detail.push_str(&format!(" (the certificate expired {not_after}, after that time{stands})"));
    }
    Ok(detail)
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
