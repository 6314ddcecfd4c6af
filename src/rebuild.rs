//! `rebuild`: re-perform a package from its own artifacts, the auditor's strongest test.
//!
//! A package holds everything its numbers came from: the raw artifacts (`artifacts/sha256/`,
//! with their origins and fetch times in `artifacts.csv`), the configuration, mapping and any
//! custom template verbatim (`config/`), and in its manifest the period, `generated_at`, the
//! inputs as named, the semantics version and the signature it declares. `rebuild` verifies
//! the package, runs ingest → assess → render again from those alone ([`build::replay`]) into
//! a temporary folder, and compares every file byte for byte. The signatures and the receipt
//! are not re-made: `report.pdf` is compared up to its rendered revision (signing appends
//! incremental updates), `SHA256SUMS` line by line but for the report's line, and
//! `manifest.json.p7s`, `archive-receipt.json` and `timestamps/` not at all.
//!
//! Nothing is written to the package or its bucket: an archived package is downloaded into
//! the temporary folder (as `verify s3://` does) and re-performed there.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::build::{self, BuildOptions, Declared};
use crate::compare;
use crate::config::Config;
use crate::package::findings::FindingsDoc;
use crate::package::{FileEntry, Manifest, layout};
use crate::source::SourceFile;
use crate::time::{Period, Timestamp};
use crate::verify::{self, Report, VerifyOptions};

/// What to re-perform.
#[derive(Debug, Clone)]
pub struct RebuildOptions {
    /// The package: a folder or `s3://bucket/prefix/…/<package-id>/`.
    pub target: String,
    /// How to verify it first (and the earlier package, with `previous`).
    pub verify: VerifyOptions,
    /// The earlier package it was compared with, when it names one (`build --previous`).
    pub previous: Option<String>,
    /// Path-style S3 addressing.
    pub path_style: bool,
    /// Cores to use, as `build --threads` (the result does not depend on them).
    pub threads: usize,
    /// Where the report is laid out again.
    pub renderer: crate::render::Renderer,
}

/// What a re-performance found.
#[derive(Debug)]
pub enum Outcome {
    /// The package failed verification, so it was not re-performed.
    Unverified(Report),
    /// Re-performed and compared.
    Compared(Comparison),
}

/// The comparison of a package with its re-performance.
#[derive(Debug, Default)]
pub struct Comparison {
    /// The package's id.
    pub package_id: String,
    /// Its period.
    pub period: String,
    /// Artifacts read again.
    pub artifacts: usize,
    /// Files compared byte for byte.
    pub compared: usize,
    /// Every file that differs, with how.
    pub differences: Vec<Difference>,
    /// The first requirement or check whose result differs, in words.
    pub first_finding: Option<String>,
    /// The first metric whose value differs, in words.
    pub first_metric: Option<String>,
    /// The manifest members (besides the file list) that differ.
    pub manifest_members: Vec<String>,
}

impl Comparison {
    /// Whether the re-performance gave the same package.
    pub fn identical(&self) -> bool {
        self.differences.is_empty()
    }
}

/// A file that is not the same in the package and in its re-performance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The file, relative to the package.
    pub path: String,
    /// How it differs.
    pub what: &'static str,
}

/// Why a package cannot be re-performed (exit 2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RebuildError {
    /// The package lacks something re-performance needs, or was made by another version.
    #[error("cannot re-perform {target}: {why}")]
    Cannot {
        /// The package.
        target: String,
        /// Why, and what would be needed.
        why: String,
    },
    /// The re-performance itself failed.
    #[error("re-performing {target} failed")]
    Build {
        /// The package.
        target: String,
        /// The cause.
        #[source]
        source: Box<build::BuildError>,
    },
}

/// Verifies the package at `opts.target`, re-performs it and compares.
///
/// # Errors
/// [`RebuildError::Cannot`] when the package was built by another tool version or semantics,
/// lacks its recorded configuration, or names an earlier package that was not given.
pub fn rebuild(opts: &RebuildOptions) -> Result<Outcome, RebuildError> {
    let cannot = |why: String| RebuildError::Cannot { target: opts.target.clone(), why };
    let scratch = tempfile::tempdir().map_err(|e| cannot(format!("cannot make a temporary folder: {e}")))?;
    let (dir, report) = fetch_verified(opts, scratch.path()).map_err(cannot)?;
    if !report.passed() {
        return Ok(Outcome::Unverified(report));
    }
    let manifest = read_manifest(&dir).map_err(&cannot)?;
    same_tool(&manifest).map_err(&cannot)?;
    let files = source_files(&dir, &manifest).map_err(&cannot)?;
    let build_opts = replay_options(opts, &dir, &manifest, scratch.path()).map_err(&cannot)?;
    let declared = Declared {
        inputs: manifest.inputs.clone(),
        skipped_inputs: manifest.skipped_inputs.clone(),
        signature: manifest.signature.clone(),
    };
    let artifacts = files.len();
    build::replay(&build_opts, files, &declared)
        .map_err(|e| RebuildError::Build { target: opts.target.clone(), source: Box::new(e) })?;
    let mut c = compare_packages(&dir, &build_opts.out, &manifest).map_err(&cannot)?;
    c.artifacts = artifacts;
    Ok(Outcome::Compared(c))
}

/// The package folder (downloaded into `scratch` for `s3://`) and its verification.
fn fetch_verified(opts: &RebuildOptions, scratch: &Path) -> Result<(PathBuf, Report), String> {
    let dir = scratch.join("package");
    fs::create_dir(&dir).map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
    verify::verify_target(&opts.target, &opts.verify, opts.path_style, &dir).map_err(|e| e.to_string())
}

fn read_manifest(dir: &Path) -> Result<Manifest, String> {
    let path = dir.join(layout::MANIFEST);
    let bytes = fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    Manifest::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// Only the same tool version with the same semantics re-performs a package.
fn same_tool(m: &Manifest) -> Result<(), String> {
    let this = crate::package::manifest::Tool::this();
    if m.tool != this || m.semantics != build::SEMANTICS_VERSION || m.format != crate::package::manifest::FORMAT {
        return Err(format!(
            "it was built by {} {} (semantics {}, format {}); this is {} {} (semantics {}, format {}). \
             Re-perform it with {} {}, which gives the numbers under the rules it was built with",
            m.tool.name,
            m.tool.version,
            m.semantics,
            m.format,
            this.name,
            this.version,
            build::SEMANTICS_VERSION,
            crate::package::manifest::FORMAT,
            m.tool.name,
            m.tool.version,
        ));
    }
    Ok(())
}

/// The options that rebuild the package as it was built: its period, `generated_at`,
/// configuration, mapping, template and earlier package; unsigned, into `scratch`.
fn replay_options(opts: &RebuildOptions, dir: &Path, m: &Manifest, scratch: &Path) -> Result<BuildOptions, String> {
    let (config, mapping) = recorded_config(dir)?;
    let template = dir.join(layout::TEMPLATE_FILE);
    Ok(BuildOptions {
        inputs: Vec::new(),
        period: m.period.parse::<Period>()?,
        out: scratch.join("rebuilt"),
        force: false,
        generated_at: Timestamp::parse(&m.generated_at)?,
        threads: opts.threads.max(1),
        in_memory_limit: crate::artifact::IN_MEMORY_LIMIT,
        config,
        mapping,
        templates: template.is_file().then(|| dir.join(layout::CONFIG_DIR)),
        renderer: opts.renderer.clone(),
        spill_budget: build::SPILL_BUDGET,
        signing: None,
        s3_inputs: Vec::new(),
        s3_concurrency: 1,
        path_style: opts.path_style,
        allow_empty: m.empty.is_some(),
        previous: previous(opts, m, scratch)?,
    })
}

/// The configuration and mapping the package records (`config/`).
fn recorded_config(dir: &Path) -> Result<(Config, crate::assess::mapping::Mapping), String> {
    let read = |name: &str| {
        fs::read_to_string(dir.join(name)).map_err(|e| {
            format!(
                "{name}: {e}; packages hold their configuration and mapping since `rebuild` exists, \
                 and one built before cannot be re-performed"
            )
        })
    };
    let config = Config::parse(&read(layout::CONFIG_FILE)?)
        .map_err(|(line, msg)| format!("{}:{}: {msg}", layout::CONFIG_FILE, line.unwrap_or(0)))?;
    let mapping = crate::assess::mapping::Mapping::parse(&read(layout::MAPPING_FILE)?)
        .map_err(|(line, msg)| format!("{}:{}: {msg}", layout::MAPPING_FILE, line.unwrap_or(0)))?;
    Ok((config, mapping))
}

/// The earlier package the manifest names, verified, and the same one (`--previous`).
fn previous(opts: &RebuildOptions, m: &Manifest, scratch: &Path) -> Result<Option<compare::Snapshot>, String> {
    let (recorded, given) = match (&m.previous, &opts.previous) {
        (None, None) => return Ok(None),
        (None, Some(_)) => return Err("it was built without --previous; do not pass one".into()),
        (Some(p), None) => {
            return Err(format!(
                "it was compared with the earlier package {} ({}, manifest SHA-256 {}): pass that package \
                 with --previous DIR|s3://…",
                p.package_id, p.period, p.manifest_sha256
            ));
        }
        (Some(p), Some(g)) => (p, g),
    };
    let dir = scratch.join("previous");
    fs::create_dir(&dir).map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
    let snapshot = compare::load_verified(given, opts.verify.anchors.clone(), opts.path_style, &dir)
        .map_err(|e| format!("--previous {given}: {}", crate::s3::chain(&e)))?;
    let sha = snapshot.package.manifest_sha256.as_deref().unwrap_or_default();
    if sha != recorded.manifest_sha256 {
        return Err(format!(
            "--previous {given} is package {} with manifest SHA-256 {sha}; the package was compared with {} \
             (manifest SHA-256 {})",
            snapshot.package.package_id, recorded.package_id, recorded.manifest_sha256
        ));
    }
    Ok(Some(snapshot))
}

/// The rows of `artifacts.csv` this needs.
#[derive(serde::Deserialize)]
struct ArtifactRow {
    sha256: String,
    size: u64,
    origin: String,
    fetched_at: String,
}

/// Every artifact as the build read it: the stored copy, under its recorded origin, path
/// below its input and fetch time, sorted by origin as the build sorts its inputs.
fn source_files(dir: &Path, m: &Manifest) -> Result<Vec<SourceFile>, String> {
    let csv_path = dir.join(layout::ARTIFACTS_CSV);
    let mut reader = csv::Reader::from_path(&csv_path).map_err(|e| format!("{}: {e}", layout::ARTIFACTS_CSV))?;
    let mut files = Vec::new();
    for (i, row) in reader.deserialize::<ArtifactRow>().enumerate() {
        let at = |e: String| format!("{} line {}: {e}", layout::ARTIFACTS_CSV, i + 2);
        let row = row.map_err(|e| at(e.to_string()))?;
        let stored = dir.join(layout::ARTIFACTS_DIR).join("sha256").join(&row.sha256);
        if !stored.is_file() {
            return Err(at(format!("artifact {} is not in the package", row.sha256)));
        }
        files.push(SourceFile {
            relative: relative_of(&row.origin, &m.inputs).ok_or_else(|| {
                at(format!("origin {} lies under none of the recorded inputs {:?}", row.origin, m.inputs))
            })?,
            origin: row.origin,
            path: stored,
            size: row.size,
            fetched_at: Some(Timestamp::parse(&row.fetched_at).map_err(at)?),
            sha256: None,
        });
    }
    files.sort();
    Ok(files)
}

/// The path below its input that a build gave the file at `origin`: the key of an S3 object
/// (without the version and ETag the origin records), the path below a local input that
/// holds it (of several, the first in order, as the build's sort and dedup keep it), or the
/// file's name when the input was the file itself.
fn relative_of(origin: &str, inputs: &[String]) -> Option<String> {
    if let Some(key) = crate::source::s3::key_of_origin(origin) {
        return Some(key.to_owned());
    }
    inputs
        .iter()
        .filter(|i| !i.starts_with("s3://"))
        .filter_map(|input| {
            if origin == input {
                return Some(origin.rsplit(['/', '\\']).next().unwrap_or(origin).to_owned());
            }
            let rest = origin.strip_prefix(input.as_str())?;
            let rest = if input.ends_with('/') { rest } else { rest.strip_prefix('/')? };
            Some(rest.to_owned())
        })
        .min()
}

/// Compares the package in `dir` with its re-performance in `rebuilt`, file by file.
fn compare_packages(dir: &Path, rebuilt: &Path, recorded: &Manifest) -> Result<Comparison, String> {
    let again = read_manifest(rebuilt)?;
    let mut c = Comparison {
        package_id: recorded.package_id.clone(),
        period: recorded.period.clone(),
        manifest_members: manifest_members(recorded, &again),
        ..Comparison::default()
    };
    let listed =
        |m: &Manifest| -> BTreeMap<String, FileEntry> { m.files.iter().map(|f| (f.path.clone(), f.clone())).collect() };
    let (old, new) = (listed(recorded), listed(&again));
    for path in old.keys().chain(new.keys()).collect::<std::collections::BTreeSet<_>>() {
        let what = match (old.get(path), new.get(path)) {
            (Some(a), Some(b)) if a == b => None,
            (Some(_), Some(_)) => Some("differs"),
            (Some(_), None) => Some("only in the package"),
            (None, _) => Some("only in the re-performance"),
        };
        c.compared += 1;
        if let Some(what) = what {
            c.differences.push(Difference { path: path.clone(), what });
        }
    }
    compare_late_files(dir, rebuilt, recorded.signature.is_some(), &mut c)?;
    if !c.identical() {
        c.first_finding = first_finding(dir, rebuilt);
        c.first_metric = first_metric(dir, rebuilt);
    }
    Ok(c)
}

/// `manifest.json` byte for byte, `report.pdf` up to its rendered revision (all of it when
/// unsigned), `SHA256SUMS` but for the report's line.
fn compare_late_files(dir: &Path, rebuilt: &Path, signed: bool, c: &mut Comparison) -> Result<(), String> {
    let read = |root: &Path, name: &str| fs::read(root.join(name)).map_err(|e| format!("{name}: {e}"));
    let (a, b) = (read(dir, layout::MANIFEST)?, read(rebuilt, layout::MANIFEST)?);
    if a != b {
        c.differences.push(Difference { path: layout::MANIFEST.into(), what: "differs" });
    }
    let (a, b) = (read(dir, layout::REPORT)?, read(rebuilt, layout::REPORT)?);
    let same = if signed { a.len() > b.len() && a.starts_with(&b) } else { a == b };
    if !same {
        let what = if signed { "rendered revision differs" } else { "differs" };
        c.differences.push(Difference { path: layout::REPORT.into(), what });
    }
    let sums = |bytes: Vec<u8>| -> Vec<String> {
        let suffix = format!("  {}", layout::REPORT);
        String::from_utf8_lossy(&bytes).lines().filter(|l| !l.ends_with(&suffix)).map(str::to_owned).collect()
    };
    if sums(read(dir, layout::SHA256SUMS)?) != sums(read(rebuilt, layout::SHA256SUMS)?) {
        c.differences.push(Difference { path: layout::SHA256SUMS.into(), what: "differs" });
    }
    c.compared += 3;
    Ok(())
}

/// The manifest's members besides `files` whose values differ.
fn manifest_members(a: &Manifest, b: &Manifest) -> Vec<String> {
    let header = |m: &Manifest| -> JsonMap {
        serde_json::from_value(serde_json::to_value(Manifest { files: Vec::new(), ..m.clone() }).unwrap_or_default())
            .unwrap_or_default()
    };
    differing_members(&header(a), &header(b)).into_iter().cloned().collect()
}

/// A JSON object's members, sorted by name.
type JsonMap = BTreeMap<String, serde_json::Value>;

/// The members, by name, whose values differ between `a` and `b` (absent in one counts).
fn differing_members<'a>(a: &'a JsonMap, b: &'a JsonMap) -> Vec<&'a String> {
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.retain(|k| a.get(*k) != b.get(*k));
    keys
}

/// The first requirement, then check, whose result differs between the two `findings.json`.
fn first_finding(dir: &Path, rebuilt: &Path) -> Option<String> {
    let read = |root: &Path| -> Option<FindingsDoc> {
        serde_json::from_slice(&fs::read(root.join(layout::FINDINGS_JSON)).ok()?).ok()
    };
    let (old, new) = (read(dir)?, read(rebuilt)?);
    for (a, b) in old.requirements.iter().zip(&new.requirements) {
        if a.id != b.id || a.status != b.status || a.summary != b.summary {
            let what = format!("requirement {} ({})", a.id, a.requirement);
            return Some(changed(&what, (a.status.as_str(), b.status.as_str()), (&a.summary, &b.summary)));
        }
    }
    for (a, b) in old.checks.iter().zip(&new.checks) {
        if a != b {
            let what = format!("check {}", a.id.as_str());
            let mut line = changed(&what, (a.status.as_str(), b.status.as_str()), (&a.summary, &b.summary));
            if let Some(e) = a.exceptions.iter().find(|e| !b.exceptions.contains(e)) {
                line += &format!("; exception gone: {e}");
            } else if let Some(e) = b.exceptions.iter().find(|e| !a.exceptions.contains(e)) {
                line += &format!("; new exception: {e}");
            }
            return Some(line);
        }
    }
    (old.requirements.len() != new.requirements.len() || old.checks.len() != new.checks.len())
        .then(|| "the two list different requirements or checks".to_owned())
}

/// `what: old → new status` and the first sentence of the summaries that differs.
fn changed(what: &str, (old, new): (&str, &str), (a, b): (&str, &str)) -> String {
    let status =
        if old == new { format!("{old} in both") } else { format!("{old} in the package, {new} re-performed") };
    let sentences = |s: &str| s.split(". ").map(str::to_owned).collect::<Vec<_>>();
    let (sa, sb) = (sentences(a), sentences(b));
    let first = (0..sa.len().max(sb.len())).find(|&i| sa.get(i) != sb.get(i));
    match first {
        Some(i) => format!(
            "{what}: {status}; «{}» in the package, «{}» re-performed",
            sa.get(i).map_or("", String::as_str).trim_end_matches('.'),
            sb.get(i).map_or("", String::as_str).trim_end_matches('.')
        ),
        None => format!("{what}: {status}"),
    }
}

/// The first metric (by name) whose value differs between the two `metrics.json`.
fn first_metric(dir: &Path, rebuilt: &Path) -> Option<String> {
    let read = |root: &Path| -> Option<JsonMap> {
        serde_json::from_slice(&fs::read(root.join(layout::METRICS_JSON)).ok()?).ok()
    };
    let (old, new) = (read(dir)?, read(rebuilt)?);
    differing_members(&old, &new).first().map(|k| {
        let show = |v: Option<&serde_json::Value>| v.map_or_else(|| "absent".to_owned(), ToString::to_string);
        format!("{k}: {} in the package; {} re-performed", show(old.get(*k)), show(new.get(*k)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_are_found_again_from_origins() {
        let inputs = vec!["samples/input".to_owned(), "s3://b/quarter".to_owned(), "one.json".to_owned()];
        assert_eq!(relative_of("samples/input/Backup/a/b.json", &inputs).as_deref(), Some("Backup/a/b.json"));
        assert_eq!(
            relative_of("s3://b/quarter/x.json?versionId=v1&etag=abc", &inputs).as_deref(),
            Some("quarter/x.json")
        );
        assert_eq!(relative_of("s3://b/quarter/odd?name.json", &inputs).as_deref(), Some("quarter/odd?name.json"));
        assert_eq!(relative_of("one.json", &inputs).as_deref(), Some("one.json"));
        assert_eq!(relative_of("elsewhere/x.json", &inputs), None);
        // `samples/inputs` is not below `samples/input`.
        assert_eq!(relative_of("samples/inputs/x.json", &inputs), None);
        let nested = vec!["data".to_owned(), "data/deeper".to_owned(), "trail/".to_owned()];
        assert_eq!(relative_of("data/deeper/x.json", &nested).as_deref(), Some("deeper/x.json"));
        assert_eq!(relative_of("trail/y.json", &nested).as_deref(), Some("y.json"));
    }
}
