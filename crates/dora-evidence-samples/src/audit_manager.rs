//! An AWS Audit Manager assessment-report zip, laid out as the Audit Manager user guide
//! describes: `<assessment>-<id>/<report>-<id>/` holding `AssessmentReportSummary.pdf`,
//! `digest.txt`, `README.txt` and `<control>-<id>/<data source>/<date>/<evidence files>`.
//!
//! The PDF is a tiny but valid one-page PDF; evidence files are JSON in the shape of the
//! `Evidence` API object (the real evidence-file format is not documented). Entries carry a
//! fixed modification time so the zip is byte-stable.

use std::io::{self, Cursor, Write};

use serde_json::json;
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use super::model::{ACCOUNTS, Model, REGIONS};
use super::out::{DAY, HOUR, MIN, Out, TsStyle, date, guid, mix, ts};

/// The assessment's name: `nordhafen-dora-q3-2026` (or `-q2-2026`).
fn assessment(m: &Model) -> String {
    format!("nordhafen-dora-{}", m.quarter.slug())
}

/// The report's name: `q3-2026-backup-evidence` (or `q2-2026-…`).
fn report_name(m: &Model) -> String {
    format!("{}-backup-evidence", m.quarter.slug())
}

/// Model day the report was created (2026-10-02; written 91 days earlier for Q2).
const CREATED_DAY: i64 = 20_728;

/// (control folder name, data source, event or check name).
const CONTROLS: [(&str, &str, &str); 4] = [
    ("BACKUP_RESOURCES_PROTECTED_BY_BACKUP_PLAN", "AWS Config", "backup-resources-protected-by-backup-plan"),
    ("BACKUP_RECOVERY_POINT_ENCRYPTED", "AWS Config", "backup-recovery-point-encrypted"),
    ("DORA Art 12(2) restore testing", "AWS API calls", "ListRestoreJobs"),
    ("Backup vault lock configuration", "CloudTrail", "PutBackupVaultLockConfiguration"),
];
const DATES: [i64; 3] = [20_649, 20_680, 20_711]; // 2026-07-15, 08-15, 09-15

/// Folder / file name of the zip (`<assessment>-<id>`).
pub(crate) fn assessment_folder(m: &Model) -> String {
    format!("{}-{:08x}", assessment(m), mix(&[m.seed, 50]) as u32)
}

/// A minimal one-page PDF with a few lines of text, offsets computed so `xref` is exact.
fn tiny_pdf(lines: &[String]) -> Vec<u8> {
    let mut text = String::from("BT /F1 16 Tf 56 790 Td (Assessment report summary) Tj /F1 10 Tf");
    for l in lines {
        let safe: String =
            l.chars().map(|c| if matches!(c, '(' | ')' | '\\') || !c.is_ascii() { ' ' } else { c }).collect();
        text.push_str(&format!(" 0 -16 Td ({safe}) Tj"));
    }
    text.push_str(" ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>"
            .to_string(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
        format!("<< /Length {} >>\nstream\n{text}\nendstream", text.len()),
        "<< /Title (Assessment report summary) /Producer (AWS Audit Manager) /CreationDate (D:20261002093000Z) >>".to_string(),
    ];
    let mut pdf = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    pdf.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for off in offsets {
        pdf.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!("trailer\n<< /Size {} /Root 1 0 R /Info 6 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1)
            .as_bytes(),
    );
    pdf
}

/// Writes `input/audit-manager/<assessment>-<id>.zip`.
pub(crate) fn write_zip(m: &Model, out: &mut Out) -> io::Result<()> {
    let root = assessment_folder(m);
    let report = format!("{}-{:014x}", report_name(m), mix(&[m.seed, 51]) & 0xFF_FFFF_FFFF_FFFF);
    let (assessment, report_name, q) = (assessment(m), report_name(m), m.quarter);
    let account = ACCOUNTS[0].id;
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();

    for (ci, (control, source, event)) in CONTROLS.iter().enumerate() {
        let folder = format!("{control}-{:013x}", mix(&[m.seed, 52, ci as u64]) & 0xF_FFFF_FFFF_FFFF);
        for (di, &day) in DATES.iter().enumerate() {
            let id = guid(
                u128::from(mix(&[m.seed, 53, ci as u64, di as u64])) << 64
                    | u128::from(mix(&[m.seed, 54, ci as u64, di as u64])),
                false,
            );
            let time = day * DAY + 6 * HOUR + (ci as i64 * 7 + 3) * MIN;
            let resource = &m.resources[m.by_ar[0][0][ci] as usize];
            let compliance = if *source == "AWS Config" { json!("COMPLIANT") } else { json!(null) };
            let evidence = json!({
                "dataSource": source,
                "evidenceAwsAccountId": account,
                "time": ts(q.at(time), TsStyle::Report).as_str(),
                "eventSource": if *source == "AWS Config" { "config.amazonaws.com" } else { "backup.amazonaws.com" },
                "eventName": event,
                "evidenceByType": match *source { "AWS Config" => "Compliance check", "CloudTrail" => "User activity", _ => "Configuration data" },
                "resourcesIncluded": [{ "arn": resource.arn, "value": resource.name, "complianceCheck": compliance }],
                "attributes": { "region": REGIONS[0], "framework": "nordhafen_dora_backup" },
                "iamId": format!("arn:aws:iam::{account}:role/AuditManagerCollector"),
                "complianceCheck": compliance,
                "awsOrganization": "o-n7hf3k2m9q",
                "awsAccountId": account,
                "evidenceFolderId": guid(u128::from(mix(&[m.seed, 55, ci as u64, di as u64])), false),
                "id": id,
                "assessmentReportSelection": "Yes",
            });
            let mut body = serde_json::to_vec_pretty(&evidence).map_err(io::Error::other)?;
            body.push(b'\n');
            files.push((format!("{folder}/{source}/{}/{id}.json", date(q.day(day))), body));
        }
    }

    let readme = format!(
        "This assessment report was generated by AWS Audit Manager.\n\n\
         Assessment: {assessment}\nReport: {report_name}\nAWS account: {account}\n\n\
         Folder structure:\n  AssessmentReportSummary.pdf  summary of the assessment and its controls\n  \
         digest.txt                   SHA-256 digests of every file in this report\n  \
         <control name>-<id>/<data source>/<collection date>/  evidence selected for the report\n"
    );
    let summary = tiny_pdf(&[
        format!("Assessment: {assessment} (framework nordhafen_dora_backup)"),
        "Entity: Nordhafen Bank AG (fictional)".into(),
        format!("AWS account: {account}, Region {}", REGIONS[0]),
        format!("Controls: {}, evidence files: {}", CONTROLS.len(), files.len()),
        format!("Report created {} 09:30 UTC", date(q.day(CREATED_DAY))),
    ]);
    files.push(("README.txt".into(), readme.into_bytes()));
    files.push(("AssessmentReportSummary.pdf".into(), summary));
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let mut digest = String::from("SHA-256 digests of the files of this assessment report\n");
    for (name, body) in &files {
        digest.push_str(&format!("{}  {name}\n", hex::encode(Sha256::digest(body))));
    }
    files.push(("digest.txt".into(), digest.into_bytes()));

    let opts = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(zip_time(q.day(CREATED_DAY))?)
        .unix_permissions(0o644);
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, body) in &files {
        zip.start_file(format!("{root}/{report}/{name}"), opts)?;
        zip.write_all(body)?;
    }
    let bytes = zip.finish()?.into_inner();
    out.write_file(&format!("input/audit-manager/{root}.zip"), &bytes)
}

/// The zip entries' modification time: 09:30 on `day`.
fn zip_time(day: i64) -> io::Result<DateTime> {
    let d = date(day);
    let num = |range: std::ops::Range<usize>| d[range].parse::<u8>().map_err(io::Error::other);
    let year = d[..4].parse::<u16>().map_err(io::Error::other)?;
    DateTime::from_date_and_time(year, num(5..7)?, num(8..10)?, 9, 30, 0).map_err(io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pdf_xref_points_at_objects() {
        let pdf = tiny_pdf(&["hello (world)".into()]);
        let find = |needle: &[u8]| pdf.windows(needle.len()).rposition(|w| w == needle).unwrap();
        let tail = String::from_utf8(pdf[find(b"startxref\n")..].to_vec()).unwrap();
        let startxref: usize = tail.lines().nth(1).unwrap().parse().unwrap();
        assert!(pdf[startxref..].starts_with(b"xref"));
        let table = String::from_utf8(pdf[startxref..].to_vec()).unwrap();
        let off: usize = table.lines().nth(4).unwrap()[..10].parse().unwrap();
        assert!(pdf[off..].starts_with(b"2 0 obj"));
        assert!(pdf.ends_with(b"%%EOF\n"));
    }
}
