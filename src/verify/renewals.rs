//! `archive-timestamps`: the chain of renewals `dora-evidence timestamp` added.
//!
//! Renewal N must: be there whole (JSON and token), name this package and its own number,
//! carry a token over its JSON bytes that verifies (imprint, TSA `timeStamping` EKU, chain to
//! `--tsa-ca` at its time), cover — with digests that match, under its hash algorithm — the
//! manifest, its signature, the report, `SHA256SUMS` and renewals 1 … N-1, and be made while
//! the TSA certificate of the proof before it (the signature timestamps for N = 1) was still
//! valid: otherwise the chain is broken from there on.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read as _;
use std::path::Path;
use std::time::Duration;

use super::local::rfc3339;
use super::{Check, CheckId, SignatureTime, Status, VerifyOptions, is_safe_relative};
use crate::package::layout::{self, RenewalPart};
use crate::package::renewal::Renewal;
use crate::sign::tsa::{self, HashAlg, VerifiedToken};

/// What the renewal check needs from the signature timestamps: when the first of their TSA
/// certificates expires (the first renewal must come before).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SignatureTimestamps {
    /// The earliest `notAfter` of the signature timestamps' TSA certificates.
    pub(crate) tsa_expiry: Option<Duration>,
}

/// The renewals in `dir`, by sequence, with the parts present.
fn found(dir: &Path) -> BTreeMap<u32, BTreeSet<RenewalPart>> {
    let mut found: BTreeMap<u32, BTreeSet<RenewalPart>> = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir.join(layout::TIMESTAMPS_DIR)) else { return found };
    for e in entries.flatten() {
        let path = format!("{}/{}", layout::TIMESTAMPS_DIR, e.file_name().to_string_lossy());
        if let Some((seq, part)) = layout::parse_renewal_path(&path) {
            found.entry(seq).or_default().insert(part);
        }
    }
    found
}

/// `archive-timestamps`.
pub(super) fn archive_timestamps(
    dir: &Path,
    package_id: Option<&str>,
    signatures: SignatureTimestamps,
    opts: &VerifyOptions,
    times: &mut Vec<SignatureTime>,
) -> Check {
    let id = CheckId::ArchiveTimestamps;
    let renewals = found(dir);
    if renewals.is_empty() {
        let due = signatures.tsa_expiry.map(|e| format!(" (renew before {})", rfc3339(e))).unwrap_or_default();
        return Check::skip(id, format!("no archive timestamp renewals yet{due}"));
    }
    let anchors = opts.tsa_anchors.as_deref().unwrap_or(&[]);
    let mut previous = Link { expiry: signatures.tsa_expiry, time: None };
    // Each renewal covers every file: hash each file once per algorithm, not once per renewal.
    let mut digests = Digests::new();
    let mut first = None;
    for (i, (&seq, parts)) in renewals.iter().enumerate() {
        if usize::try_from(seq).ok() != Some(i + 1) {
            return Check::fail(id, format!("renewal {seq:04} follows renewal {:04}: the chain has a gap", seq - 1));
        }
        for part in [RenewalPart::Covers, RenewalPart::Token] {
            if !parts.contains(&part) {
                return Check::fail(id, format!("{} is missing", layout::renewal_path(seq, part)));
            }
        }
        match renewal(dir, seq, package_id, anchors, &previous, &mut digests) {
            Ok((r, v)) => {
                times.push(SignatureTime {
                    what: layout::renewal_path(seq, RenewalPart::Token),
                    claimed: Some(r.created),
                    proven: Some(rfc3339(v.gen_time)),
                    tsa: Some(v.tsa_subject()),
                });
                first.get_or_insert(v.gen_time);
                let expiry = v.tsa.tbs_certificate().validity().not_after.to_unix_duration();
                previous = Link { expiry: Some(expiry), time: Some(v.gen_time) };
            }
            Err(e) => return Check::fail(id, format!("{}: {e}", layout::renewal_path(seq, RenewalPart::Covers))),
        }
    }
    summary(renewals.len(), first, previous, !anchors.is_empty())
}

/// File digests already computed in this verification, by path and algorithm.
type Digests = std::collections::HashMap<(String, HashAlg), String>;

/// The proof a renewal extends: when it was made and when its TSA certificate expires.
struct Link {
    expiry: Option<Duration>,
    time: Option<Duration>,
}

fn summary(n: usize, first: Option<Duration>, last: Link, trusted: bool) -> Check {
    let id = CheckId::ArchiveTimestamps;
    let (first, last_time) = (first.map(rfc3339).unwrap_or_default(), last.time.map(rfc3339).unwrap_or_default());
    let mut detail = format!("{n} renewal(s), chain intact from {first} to {last_time}; every file covered");
    let mut status = Status::Pass;
    if let Some(expiry) = last.expiry {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        if expiry < now {
            status = Status::Warn;
            detail.push_str(&format!(
                "; the newest TSA certificate expired {}: renew now (`dora-evidence timestamp`)",
                rfc3339(expiry)
            ));
        } else {
            detail.push_str(&format!("; renew before {}", rfc3339(expiry)));
        }
    }
    if !trusted {
        status = Status::Warn;
        detail.push_str("; TSAs NOT checked against a trust anchor (pass --tsa-ca FILE)");
    }
    Check { check: id, status, detail }
}

/// Checks renewal `seq` against the proof before it.
fn renewal(
    dir: &Path,
    seq: u32,
    package_id: Option<&str>,
    anchors: &[x509_cert::Certificate],
    previous: &Link,
    digests: &mut Digests,
) -> Result<(Renewal, VerifiedToken), String> {
    let json_path = layout::renewal_path(seq, RenewalPart::Covers);
    let bytes = std::fs::read(dir.join(&json_path)).map_err(|e| e.to_string())?;
    let r = Renewal::from_slice(&bytes)?;
    if r.sequence != seq || package_id.is_some_and(|p| p != r.package_id) {
        return Err(format!("names renewal {} of {}, not renewal {seq} of this package", r.sequence, r.package_id));
    }
    let alg = HashAlg::parse(&r.hash).ok_or_else(|| format!("hash {:?} is not SHA-256 or stronger", r.hash))?;
    let token = std::fs::read(dir.join(layout::renewal_path(seq, RenewalPart::Token))).map_err(|e| e.to_string())?;
    let v = tsa::verify_token(&token, &[&bytes], anchors).map_err(|e| format!("forged or mismatched token: {e}"))?;
    if v.hash != alg.name() {
        return Err(format!("the token's imprint uses {}, the renewal {}", v.hash, alg.name()));
    }
    if previous.time.is_some_and(|t| v.gen_time < t) {
        return Err("made before the renewal it extends".into());
    }
    if let Some(expiry) = previous.expiry
        && v.gen_time > expiry
    {
        return Err(format!(
            "made at {}, after the TSA certificate of the proof before it expired ({}): the chain is broken here",
            rfc3339(v.gen_time),
            rfc3339(expiry)
        ));
    }
    check_covers(dir, &r, alg, digests)?;
    Ok((r, v))
}

/// Every covered file matches, and the covered set holds the signed files and earlier renewals.
fn check_covers(dir: &Path, r: &Renewal, alg: HashAlg, digests: &mut Digests) -> Result<(), String> {
    let covered: BTreeSet<&str> = r.covers.iter().map(|c| c.path.as_str()).collect();
    let mut required: Vec<String> = [layout::MANIFEST, layout::REPORT, layout::SHA256SUMS].map(String::from).to_vec();
    if dir.join(layout::MANIFEST_SIGNATURE).is_file() {
        required.push(layout::MANIFEST_SIGNATURE.into());
    }
    for earlier in 1..r.sequence {
        required.push(layout::renewal_path(earlier, RenewalPart::Covers));
        required.push(layout::renewal_path(earlier, RenewalPart::Token));
    }
    if let Some(missing) = required.iter().find(|p| !covered.contains(p.as_str())) {
        return Err(format!("does not cover {missing}"));
    }
    for c in &r.covers {
        if !is_safe_relative(&c.path) || layout::parse_renewal_path(&c.path).is_some_and(|(s, _)| s >= r.sequence) {
            return Err(format!("covers {:?}, which it cannot", c.path));
        }
        let digest = match digests.entry((c.path.clone(), alg)) {
            std::collections::hash_map::Entry::Occupied(d) => d.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(hash_file(&dir.join(&c.path), alg).map_err(|e| format!("covers {}: {e}", c.path))?)
            }
        };
        if *digest != c.digest {
            return Err(format!("{} changed since this renewal ({} differs)", c.path, alg.name()));
        }
    }
    Ok(())
}

/// The hex digest of a file under `alg`, streamed.
pub(crate) fn hash_file(path: &Path, alg: HashAlg) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut h = alg.hasher();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}
