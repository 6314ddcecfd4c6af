//! `manifest.json` as a type: what `build` writes and `verify`, `archive` and the `--out`
//! safety code read back.
//!
//! The file is written through a `serde_json::Value`, whose maps keep keys sorted, so members
//! appear in alphabetical order at every level — the byte layout of format
//! `dora-evidence-package/0.2` since it was first written with `json!`. Members added after
//! 0.2 was first released default when absent, so older packages still read.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The format this version writes.
pub const FORMAT: &str = "dora-evidence-package/0.2";

const FILES_NOTE: &str = "every file of the package except manifest.json, report.pdf (whose cover cites this manifest's SHA-256), SHA256SUMS and signatures; SHA256SUMS covers those too";

/// The whole manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// `dora-evidence-package/<version>`.
    pub format: String,
    /// Stable id: period plus a digest of what decides the content.
    pub package_id: String,
    /// The program that wrote it.
    pub tool: Tool,
    /// Version of the status and merge rules (DESIGN §3).
    #[serde(default)]
    pub semantics: u32,
    /// `ict_risk_framework` from the configuration.
    #[serde(default)]
    pub ict_risk_framework: String,
    /// Why the package holds no evidence for the period, when it holds none.
    #[serde(default)]
    pub empty: Option<String>,
    /// The quarter, e.g. `2026-Q3`.
    pub period: String,
    /// Its first instant (RFC 3339).
    pub period_start: String,
    /// The instant after it (RFC 3339).
    pub period_end: String,
    /// `--generated-at` (RFC 3339).
    pub generated_at: String,
    /// The reporting entity from the configuration.
    #[serde(default)]
    pub entity: Option<String>,
    /// SHA-256 of the configuration file.
    pub config_sha256: String,
    /// SHA-256 of the DORA mapping.
    pub mapping_sha256: String,
    /// Inputs as named, sorted.
    #[serde(default)]
    pub inputs: Vec<String>,
    /// Folders found in the inputs and not read (packages and work folders of ours).
    #[serde(default)]
    pub skipped_inputs: Vec<SkippedInput>,
    /// Some artifact failed to parse.
    pub partial: bool,
    /// Windows of job history `collect` could no longer reach that overlap the period.
    #[serde(default)]
    pub evidence_gaps: Vec<EvidenceGap>,
    /// Artifact counts by parse status.
    pub artifacts: ArtifactCounts,
    /// Merged records per evidence table.
    pub records: BTreeMap<String, u64>,
    /// Parse errors over all artifacts.
    pub parse_errors: u64,
    /// How the package is signed, when it is.
    #[serde(default)]
    pub signature: Option<SignatureDecl>,
    /// What `files` covers.
    #[serde(default)]
    pub files_note: String,
    /// Every file except the late ones ([`super::layout::LATE`]), sorted by path.
    pub files: Vec<FileEntry>,
    /// The earlier package this one is compared with (`build --previous`); absent otherwise,
    /// so a package built without one is byte-identical to one built before the member existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<PreviousPackage>,
}

/// The earlier package a package was compared with (`changes.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviousPackage {
    /// Its package id.
    pub package_id: String,
    /// Its quarter.
    pub period: String,
    /// SHA-256 of its `manifest.json`, as verified when this package was built.
    pub manifest_sha256: String,
}

/// The program that wrote the package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    /// Crate name (`dora-evidence`).
    pub name: String,
    /// Crate version.
    pub version: String,
}

impl Tool {
    /// This program.
    pub fn this() -> Self {
        Tool { name: env!("CARGO_PKG_NAME").into(), version: env!("CARGO_PKG_VERSION").into() }
    }
}

/// A folder found in an input and not read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedInput {
    /// The folder as origins are written.
    pub path: String,
    /// `package` or `work_folder`.
    pub kind: String,
}

/// A window of job history lost to collection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceGap {
    /// Account, when known.
    pub account_id: Option<String>,
    /// Region, when known.
    pub region: Option<String>,
    /// First instant lost (RFC 3339).
    pub lost_from: String,
    /// Last instant lost (RFC 3339).
    pub lost_to: String,
}

/// Artifacts by parse status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ArtifactCounts {
    /// All artifacts.
    pub total: u64,
    /// Parsed without error.
    pub parsed: u64,
    /// With at least one parse error.
    pub failed: u64,
    /// Recognised as no known kind.
    pub unclassified: u64,
}

/// The signature a manifest announces; `verify` holds the signatures to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureDecl {
    /// Where the manifest's signature is and what it is.
    pub manifest: String,
    /// Where the report's signature is and what it is.
    pub report: String,
    /// Signer's subject.
    pub signer: String,
    /// SHA-256 of the signer's certificate (DER, hex).
    pub signer_certificate_sha256: String,
    /// Key kind (`local ECDSA P-256`, `AWS KMS …`).
    pub key: String,
    /// Claimed signing time (RFC 3339).
    pub signing_time: String,
    /// The RFC 3161 time-stamping authority asked (absent: none was configured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_authority: Option<String>,
    /// Why a configured TSA gave no timestamps (`--tsa-optional`); the cover says it too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_missing: Option<String>,
}

/// A file the manifest lists.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FileEntry {
    /// Relative path with `/`.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256, hex.
    pub sha256: String,
}

impl Manifest {
    /// A manifest of the current format; `files` and `files_note` are filled by
    /// [`super::write_manifest`].
    pub fn header(package_id: String, period: String) -> Self {
        Manifest {
            format: FORMAT.into(),
            package_id,
            tool: Tool::this(),
            semantics: 0,
            ict_risk_framework: String::new(),
            empty: None,
            period,
            period_start: String::new(),
            period_end: String::new(),
            generated_at: String::new(),
            entity: None,
            config_sha256: String::new(),
            mapping_sha256: String::new(),
            inputs: Vec::new(),
            skipped_inputs: Vec::new(),
            partial: false,
            evidence_gaps: Vec::new(),
            artifacts: ArtifactCounts::default(),
            records: BTreeMap::new(),
            parse_errors: 0,
            signature: None,
            files_note: FILES_NOTE.into(),
            files: Vec::new(),
            previous: None,
        }
    }

    /// Reads a manifest. Members added after format 0.2 was first released may be absent.
    ///
    /// # Errors
    /// When the bytes are not JSON or not a manifest (with serde's line and column).
    pub fn from_slice(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    /// The file as written: pretty JSON, keys sorted at every level, a final newline.
    ///
    /// # Errors
    /// Never in practice (every member serialises).
    pub fn to_bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        let mut out = Vec::new();
        self.write_listing(&self.files, &mut out).map_err(serde_json::Error::io)?;
        Ok(out)
    }

    /// Writes the manifest as [`Self::to_bytes`] would with `files` in place of its own, one
    /// entry at a time. Called on a header without files, a package of many files never
    /// holds its listing twice.
    ///
    /// # Errors
    /// On write errors.
    pub fn write_listing(&self, files: &[FileEntry], out: impl std::io::Write) -> std::io::Result<()> {
        let serde_json::Value::Object(header) = serde_json::to_value(self)? else {
            return Err(std::io::Error::other("a manifest serialises as an object"));
        };
        let mut w = serde_json::Serializer::pretty(out);
        Listing { header: &header, files }.serialize(&mut w)?;
        w.into_inner().write_all(b"\n")
    }
}

/// A manifest's members (from its `serde_json` value, so in the same order and form) with the
/// file list serialised entry by entry.
struct Listing<'a> {
    header: &'a serde_json::Map<String, serde_json::Value>,
    files: &'a [FileEntry],
}

impl Serialize for Listing<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error, SerializeMap, SerializeSeq};
        struct Files<'a>(&'a [FileEntry]);
        impl Serialize for Files<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut seq = s.serialize_seq(Some(self.0.len()))?;
                for f in self.0 {
                    seq.serialize_element(&serde_json::to_value(f).map_err(S::Error::custom)?)?;
                }
                seq.end()
            }
        }
        let mut map = s.serialize_map(Some(self.header.len()))?;
        for (k, v) in self.header {
            if k == "files" { map.serialize_entry(k, &Files(self.files))? } else { map.serialize_entry(k, v)? }
        }
        map.end()
    }
}

/// Just enough of a manifest to say whose package a folder is and which files it lists —
/// read leniently, so a package of any version of ours is recognised (and never one of
/// somebody else's).
#[derive(Debug, Clone, Deserialize)]
pub struct Head {
    /// `dora-evidence-package/<version>`.
    pub format: String,
    /// The program that wrote it (only the name is needed).
    pub tool: HeadTool,
    /// The files listed (only their paths are needed).
    pub files: Vec<HeadFile>,
}

/// [`Head`]'s tool.
#[derive(Debug, Clone, Deserialize)]
pub struct HeadTool {
    /// Program name.
    pub name: String,
}

/// [`Head`]'s file entry.
#[derive(Debug, Clone, Deserialize)]
pub struct HeadFile {
    /// Relative path.
    pub path: String,
}

impl Head {
    /// Reads the head of a manifest.
    ///
    /// # Errors
    /// When the bytes are not JSON with these members.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    /// Whether dora-evidence wrote it.
    pub fn is_ours(&self) -> bool {
        self.tool.name == env!("CARGO_PKG_NAME") && self.format.starts_with("dora-evidence-package/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_streamed_listing_is_the_same_bytes_as_the_whole_value() {
        let mut m = Manifest::header("dora-2026-q3-abc".into(), "2026-Q3".into());
        m.records.insert("backup_jobs".into(), 2);
        let files: Vec<FileEntry> = (0..3)
            .map(|i| FileEntry { path: format!("evidence/{i}.csv"), size: i, sha256: format!("{i:064x}") })
            .collect();
        let mut streamed = Vec::new();
        m.write_listing(&files, &mut streamed).unwrap();
        let whole = Manifest { files, ..m.clone() };
        let mut expected = serde_json::to_string_pretty(&serde_json::to_value(&whole).unwrap()).unwrap();
        expected.push('\n');
        assert_eq!(String::from_utf8(streamed).unwrap(), expected);
        assert_eq!(whole.to_bytes().unwrap(), expected.as_bytes());
        let mut empty = Vec::new();
        m.write_listing(&[], &mut empty).unwrap();
        assert_eq!(empty, m.to_bytes().unwrap());
    }

    #[test]
    fn round_trips_with_sorted_keys_and_reads_older_manifests() {
        let mut m = Manifest::header("dora-2026-q3-abc".into(), "2026-Q3".into());
        m.files.push(FileEntry { path: "evidence/a.csv".into(), size: 3, sha256: "ab".into() });
        m.records.insert("backup_jobs".into(), 2);
        let bytes = m.to_bytes().unwrap();
        assert_eq!(Manifest::from_slice(&bytes).unwrap(), m);
        let text = String::from_utf8(bytes).unwrap();
        let keys: Vec<&str> =
            text.lines().filter(|l| l.starts_with("  \"")).map(|l| l.trim().split('"').nth(1).unwrap()).collect();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        assert_eq!(keys, sorted);
        assert!(text.contains("\"path\": \"evidence/a.csv\",\n      \"sha256\": \"ab\",\n      \"size\": 3"));
        // A manifest written before semantics, gaps and skipped inputs were recorded.
        let old = r#"{"format":"dora-evidence-package/0.2","package_id":"p","tool":{"name":"dora-evidence","version":"0.1.0"},
            "period":"2026-Q1","period_start":"a","period_end":"b","generated_at":"c","config_sha256":"d",
            "mapping_sha256":"e","partial":false,"artifacts":{"total":0,"parsed":0,"failed":0,"unclassified":0},
            "records":{},"parse_errors":0,"files":[]}"#;
        let old = Manifest::from_slice(old.as_bytes()).unwrap();
        assert!(old.signature.is_none() && old.semantics == 0 && old.entity.is_none());
        assert!(
            Head::from_slice(br#"{"format":"dora-evidence-package/0.1","tool":{"name":"dora-evidence"},"files":[]}"#)
                .unwrap()
                .is_ours()
        );
        assert!(Manifest::from_slice(br#"{"format":"x","files":[]}"#).is_err());
    }
}
