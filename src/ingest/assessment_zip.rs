//! AWS Audit Manager assessment-report zips.
//!
//! The zip is kept verbatim as an artifact; here every member is listed and hashed
//! (SHA-256 of its uncompressed bytes) and the report's shape is counted: controls and
//! evidence files below the report folder, and whether `AssessmentReportSummary.pdf` and
//! `digest.txt` are there. Nothing is ever written to disk: members are streamed through
//! the hasher. Unsafe archives are refused before any member is read — a member name that is
//! absolute or climbs out with `..`, more than [`MAX_MEMBERS`] members — and reading stops
//! once [`MAX_UNCOMPRESSED`] bytes have been inflated (counted, not taken from the headers),
//! so a zip bomb costs bounded time.
//!
//! A zip that holds neither `AssessmentReportSummary.pdf` nor `digest.txt` is not an
//! assessment report: it is listed as unclassified and not opened further.

use std::collections::BTreeSet;
use std::io::{Read, Seek};

use sha2::{Digest, Sha256};

use super::{ArtifactKind, Context, Sink, complete};
use crate::evidence::Record;
use crate::evidence::model::{AssessmentReport, Locator, ZipMember};

/// Most members an assessment-report zip may hold (Audit Manager allows 22 000 evidence items).
pub const MAX_MEMBERS: usize = 100_000;
/// Most bytes inflated from one zip.
pub const MAX_UNCOMPRESSED: u64 = 4 * 1024 * 1024 * 1024;

/// Parses a zip artifact.
pub fn parse<R: Read + Seek>(reader: R, ctx: &Context, sink: &mut dyn Sink) -> ArtifactKind {
    parse_with_limits(reader, ctx, sink, MAX_MEMBERS, MAX_UNCOMPRESSED)
}

/// [`parse`] with explicit limits (tests use small ones).
pub fn parse_with_limits<R: Read + Seek>(
    reader: R,
    ctx: &Context,
    sink: &mut dyn Sink,
    max_members: usize,
    max_bytes: u64,
) -> ArtifactKind {
    let mut archive = match zip::ZipArchive::new(reader) {
        Ok(a) => a,
        Err(e) => {
            sink.error("zip".into(), format!("not a readable zip archive: {e}"));
            return ArtifactKind::Unclassified;
        }
    };
    let is_report = archive
        .file_names()
        .filter_map(Result::ok)
        .any(|n| n.ends_with("AssessmentReportSummary.pdf") || n.ends_with("digest.txt"));
    if !is_report {
        return ArtifactKind::Unclassified;
    }
    let kind = ArtifactKind::AssessmentReport;
    if archive.len() > max_members {
        sink.error(
            "zip".into(),
            format!("{} members exceed the limit of {max_members}; refusing to open", archive.len()),
        );
        return kind;
    }
    let read = safe_names(&mut archive).and_then(|names| hash_members(&mut archive, &names, max_bytes));
    let (members, total) = match read {
        Ok(read) => read,
        Err((at, message)) => {
            sink.error(at, message);
            return kind;
        }
    };
    let summary = summarise(&members, total);
    for (i, m) in members.into_iter().enumerate() {
        let mut record = Record::ZipMember(m);
        complete(&mut record, ctx, Locator::ZipMember(i as u32));
        sink.record(record);
    }
    let mut record = Record::AssessmentReport(summary);
    complete(&mut record, ctx, Locator::Document);
    sink.record(record);
    kind
}

/// Why a zip is not read further: the member's locator and the message.
type Refusal = (String, String);

/// First pass, names only: every member's name and whether it is a folder. One unsafe name
/// (absolute, with a backslash, or leaving the archive) refuses the whole archive.
fn safe_names<R: Read + Seek>(archive: &mut zip::ZipArchive<R>) -> Result<Vec<(String, bool)>, Refusal> {
    let mut names = Vec::with_capacity(archive.len());
    for i in 0..archive.len() {
        let at = || format!("zip member {i}");
        let member = archive.by_index_raw(i).map_err(|e| (at(), format!("unreadable entry: {e}")))?;
        let name = member.name().map_err(|e| (at(), format!("unreadable member name: {e}")))?.into_owned();
        if member.enclosed_name().is_none() || name.starts_with('/') || name.contains('\\') {
            let message = format!("unsafe member name {name:?} (absolute or leaves the archive); refusing to open");
            return Err((at(), message));
        }
        names.push((name, member.is_dir()));
    }
    Ok(names)
}

/// Second pass: each file member's size and SHA-256 of its inflated bytes, and the bytes
/// inflated in all, stopping once they pass `max_bytes`.
fn hash_members<R: Read + Seek>(
    archive: &mut zip::ZipArchive<R>,
    names: &[(String, bool)],
    max_bytes: u64,
) -> Result<(Vec<ZipMember>, u64), Refusal> {
    let mut total = 0u64;
    let mut members = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    for (i, (name, is_dir)) in names.iter().enumerate() {
        if *is_dir {
            continue;
        }
        let at = || format!("zip member {i}");
        let mut file = archive.by_index(i).map_err(|e| (at(), format!("{name:?}: cannot read: {e}")))?;
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        loop {
            let n = file.read(&mut buf).map_err(|e| (at(), format!("{name:?}: cannot inflate: {e}")))?;
            if n == 0 {
                break;
            }
            size += n as u64;
            total += n as u64;
            if total > max_bytes {
                let message = format!("more than {max_bytes} bytes uncompressed; refusing to read further (zip bomb?)");
                return Err((at(), message));
            }
            hasher.update(&buf[..n]);
        }
        members.push(ZipMember {
            name: name.clone(),
            size,
            sha256: hex::encode(hasher.finalize()),
            provenance: Default::default(),
        });
    }
    Ok((members, total))
}

fn summarise(members: &[ZipMember], total: u64) -> AssessmentReport {
    let summary_path = members.iter().map(|m| m.name.as_str()).find(|n| n.ends_with("AssessmentReportSummary.pdf"));
    let report_folder = summary_path.and_then(|p| p.rsplit_once('/')).map(|(dir, _)| dir.to_owned());
    let assessment_folder =
        members.first().map(|m| m.name.split('/').next().unwrap_or("").to_owned()).unwrap_or_default();
    let mut controls = BTreeSet::new();
    let mut evidence_files = 0;
    if let Some(folder) = &report_folder {
        for m in members {
            let Some(rest) = m.name.strip_prefix(folder.as_str()).and_then(|r| r.strip_prefix('/')) else { continue };
            if let Some((control, _)) = rest.split_once('/') {
                controls.insert(control.to_owned());
                evidence_files += 1;
            }
        }
    }
    AssessmentReport {
        assessment_folder,
        report_folder,
        controls: controls.len() as u64,
        evidence_files,
        members: members.len() as u64,
        uncompressed_bytes: total,
        has_summary_pdf: summary_path.is_some(),
        has_digest: members.iter().any(|m| m.name.ends_with("digest.txt")),
        provenance: Vec::new(),
    }
}
