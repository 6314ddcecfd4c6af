//! Audit Manager assessment-report zips: listed and hashed; unsafe archives refused.

use std::io::{Cursor, Write};

use dora_evidence::evidence::Record;
use dora_evidence::ingest::assessment_zip::parse_with_limits;
use dora_evidence::ingest::{ArtifactKind, Context};
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;

use super::util::{VecSink, parse_bytes};

fn zip_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in members {
        if name.ends_with('/') {
            w.add_directory(*name, SimpleFileOptions::default()).unwrap();
        } else {
            w.start_file(*name, SimpleFileOptions::default()).unwrap();
            w.write_all(data).unwrap();
        }
    }
    w.finish().unwrap().into_inner()
}

const ROOT: &str = "dora-q3-a1b2c3d4/q3-report-e5f6a7b8c9d0e1/";

fn report_members() -> Vec<(String, Vec<u8>)> {
    vec![
        (format!("{ROOT}AssessmentReportSummary.pdf"), b"%PDF-1.4\n%%EOF\n".to_vec()),
        (format!("{ROOT}digest.txt"), b"digest placeholder\n".to_vec()),
        (format!("{ROOT}README.txt"), b"readme\n".to_vec()),
        (
            format!("{ROOT}backup-plan-control-1a2b/AWS Config/2026-07-01/evidence-1.json"),
            b"{\"complianceCheck\":\"COMPLIANT\"}".to_vec(),
        ),
        (format!("{ROOT}backup-plan-control-1a2b/AWS Config/2026-07-02/evidence-2.json"), b"{}".to_vec()),
        (format!("{ROOT}vault-lock-control-3c4d/AWS API Call/2026-07-01/evidence-3.json"), b"{}".to_vec()),
    ]
}

fn as_refs(v: &[(String, Vec<u8>)]) -> Vec<(&str, &[u8])> {
    v.iter().map(|(n, d)| (n.as_str(), d.as_slice())).collect()
}

#[test]
fn report_members_are_listed_hashed_and_counted() {
    let members = report_members();
    let bytes = zip_of(&as_refs(&members));
    let (kind, _, sink) = parse_bytes(&bytes, "audit-manager/report.zip");
    assert_eq!(kind, ArtifactKind::AssessmentReport);
    assert!(sink.errors.is_empty(), "{:?}", sink.errors);
    let listed: Vec<_> =
        sink.records.iter().filter_map(|r| if let Record::ZipMember(m) = r { Some(m) } else { None }).collect();
    assert_eq!(listed.len(), members.len());
    for (m, (name, data)) in listed.iter().zip(&members) {
        assert_eq!(&m.name, name);
        assert_eq!(m.size, data.len() as u64);
        assert_eq!(m.sha256, hex::encode(Sha256::digest(data)));
    }
    let Some(Record::AssessmentReport(r)) = sink.records.last() else { panic!("summary last") };
    assert_eq!(r.assessment_folder, "dora-q3-a1b2c3d4");
    assert_eq!(r.report_folder.as_deref(), Some("dora-q3-a1b2c3d4/q3-report-e5f6a7b8c9d0e1"));
    assert_eq!((r.controls, r.evidence_files), (2, 3));
    assert!(r.has_summary_pdf && r.has_digest);
}

#[test]
fn path_traversal_and_absolute_names_are_refused() {
    for evil in ["../../etc/passwd", "/etc/passwd", "a/../../b.txt"] {
        let mut members = report_members();
        members.push((evil.to_owned(), b"x".to_vec()));
        let bytes = zip_of(&as_refs(&members));
        let (kind, _, sink) = parse_bytes(&bytes, "r.zip");
        assert_eq!(kind, ArtifactKind::AssessmentReport);
        assert!(sink.records.is_empty(), "{evil}: nothing read from an unsafe archive");
        assert!(sink.errors[0].1.contains("unsafe member name"), "{evil}: {:?}", sink.errors);
    }
}

#[test]
fn member_count_and_inflated_size_are_capped() {
    let members = report_members();
    let bytes = zip_of(&as_refs(&members));
    let ctx = Context::default();
    let mut sink = VecSink::default();
    parse_with_limits(Cursor::new(&bytes), &ctx, &mut sink, 3, u64::MAX);
    assert!(sink.records.is_empty());
    assert!(sink.errors[0].1.contains("exceed the limit"), "{:?}", sink.errors);

    // A small bomb: 8 MiB of zeros compresses to a few KiB; the cap counts inflated bytes.
    let zeros = vec![0u8; 8 << 20];
    let mut members = report_members();
    members.push((format!("{ROOT}bomb/x/y/zeros.bin"), zeros));
    let bytes = zip_of(&as_refs(&members));
    assert!(bytes.len() < 100_000);
    let mut sink = VecSink::default();
    parse_with_limits(Cursor::new(&bytes), &ctx, &mut sink, 100, 1 << 20);
    assert!(sink.records.is_empty());
    assert!(sink.errors[0].1.contains("zip bomb"), "{:?}", sink.errors);
    // The same archive under the default cap is fine.
    let (_, _, sink) = parse_bytes(&bytes, "r.zip");
    assert!(sink.errors.is_empty());
}

#[test]
fn other_zips_are_unclassified() {
    let bytes = zip_of(&[("data/a.csv", b"a,b\n"), ("b.txt", b"x")]);
    let (kind, _, sink) = parse_bytes(&bytes, "other.zip");
    assert_eq!(kind, ArtifactKind::Unclassified);
    assert!(sink.records.is_empty() && sink.errors.is_empty());
}

/// A zip bomb of 5 GiB inflated (80 members sharing one 64 MiB run of zeros, copied raw: a
/// few MB on disk, built here rather than committed) under the real limits: reading stops once
/// `MAX_UNCOMPRESSED` (4 GiB) bytes have been inflated, with the member named.
#[test]
fn a_5_gib_zip_bomb_stops_at_the_limit() {
    use dora_evidence::ingest::assessment_zip::MAX_UNCOMPRESSED;
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_level(Some(9)).large_file(true);
    w.start_file(format!("{ROOT}digest.txt"), SimpleFileOptions::default()).unwrap();
    w.write_all(b"digest\n").unwrap();
    w.start_file(format!("{ROOT}zeros-0.bin"), opts).unwrap();
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..64 {
        w.write_all(&chunk).unwrap();
    }
    let one = w.finish().unwrap().into_inner();
    let mut archive = zip::ZipArchive::new(Cursor::new(one)).unwrap();
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    w.raw_copy_file(archive.by_index_raw(0).unwrap()).unwrap();
    for i in 0..80 {
        let f = archive.by_index_raw(1).unwrap();
        w.raw_copy_file_rename(f, format!("{ROOT}zeros-{i}.bin")).unwrap();
    }
    let bytes = w.finish().unwrap().into_inner();
    assert!(bytes.len() < 16 << 20, "{} bytes on disk", bytes.len());
    let started = std::time::Instant::now();
    let (kind, _, sink) = parse_bytes(&bytes, "bomb.zip");
    assert_eq!(kind, ArtifactKind::AssessmentReport);
    assert!(sink.records.is_empty());
    let (loc, msg) = &sink.errors[0];
    // digest.txt (7 bytes) then 64 MiB per member: the 64th run of zeros (member 64) crosses 4 GiB.
    assert_eq!(loc, "zip member 64", "{msg}");
    assert!(msg.contains(&format!("more than {MAX_UNCOMPRESSED} bytes")) && msg.contains("zip bomb"), "{msg}");
    assert!(started.elapsed() < std::time::Duration::from_secs(300));
}

/// 150 000 members (over `MAX_MEMBERS`, 100 000): refused before any member is read.
#[test]
fn a_zip_of_150_000_members_is_refused_unread() {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    w.start_file(format!("{ROOT}digest.txt"), opts).unwrap();
    for i in 1..150_000 {
        w.start_file(format!("{ROOT}e/{i}"), opts).unwrap();
    }
    let bytes = w.finish().unwrap().into_inner();
    let (kind, _, sink) = parse_bytes(&bytes, "many.zip");
    assert_eq!(kind, ArtifactKind::AssessmentReport);
    assert!(sink.records.is_empty());
    assert_eq!(sink.errors.len(), 1);
    assert_eq!(sink.errors[0].0, "zip");
    assert!(sink.errors[0].1.contains("150000 members exceed the limit of 100000"), "{:?}", sink.errors);
}
