//! `build`: from input folders to an evidence package.
//!
//! The steps, in order: list every input file ([`crate::source`]); on each worker thread,
//! read a file, hash it and keep it verbatim ([`crate::artifact`]), then parse it
//! ([`crate::ingest`]) into a [`Collector`]; merge everything ([`crate::evidence::assemble`]);
//! write `artifacts.csv`, `evidence/*.csv`, the findings, the OSCAL documents and
//! `manifest.json`. The package is built in a hidden folder beside `--out` and renamed into
//! place at the end, so a crashed run never leaves a half package under `--out`;
//! [`crate::output`] decides where a package may go and removes only what a run made (DESIGN
//! §8).

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::artifact::{Artifact, ArtifactStore, HashingWriter};
use crate::assess::{self, MetricsAccumulator, mapping::Mapping};
use crate::compare::{self, Changes, CompareError, PackageRef, Snapshot};
use crate::config::Config;
use crate::direct::DirectFile;
use crate::evidence::write::{BulkWriter, Written};
use crate::evidence::{self, ArtifactEntry, Collected, Collector, Evidence};
use crate::ingest::{self, Context, Input, PathHint};
use crate::output::{self, WorkDir, WorkKind, Workspace};
use crate::package::findings::FindingsDoc;
use crate::package::manifest::{ArtifactCounts, EvidenceGap, SignatureDecl, SkippedInput};
use crate::package::report_data::{ReportData, ReportInputs};
use crate::package::{self, FileEntry, Manifest, layout, oscal};
use crate::progress;
use crate::render::{self, RenderOptions};
use crate::sign::tsa::TsaClient;
use crate::sign::{self, Identity, SignatureInfo};
use crate::source::{self, SourceFile};
use crate::time::{Period, Timestamp};

/// The version of the evidence semantics (DESIGN §3, §5, §6) this build applies; recorded in
/// the manifest and on the cover, so a package says which rules produced its numbers.
pub const SEMANTICS_VERSION: u32 = 2;

/// Default bytes of observations a parse worker holds before it writes a sorted run.
pub const SPILL_BUDGET: usize = 32 * 1024 * 1024;

/// What to build.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Input folders (or files).
    pub inputs: Vec<PathBuf>,
    /// The reporting period.
    pub period: Period,
    /// The package folder to create.
    pub out: PathBuf,
    /// Replace an existing, non-empty `out`.
    pub force: bool,
    /// The time the package claims to be generated at (fixed for reproducible output).
    pub generated_at: Timestamp,
    /// Cores to use: parse workers (one more than this) and the merge's decoding workers
    /// (at most 4).
    pub threads: usize,
    /// Files up to this size are read whole; larger ones are streamed from the stored copy
    /// (default [`crate::artifact::IN_MEMORY_LIMIT`]). Per core: the `threads + 1` parse
    /// workers read whole up to `threads / (threads + 1)` of it, so that their buffers
    /// together stay within `threads` of these.
    pub in_memory_limit: u64,
    /// The user's targets (`dora-evidence.toml`).
    pub config: Config,
    /// The DORA mapping (requirements → checks → status).
    pub mapping: Mapping,
    /// Folder with a user's `report.typ` (default: the built-in template).
    pub templates: Option<PathBuf>,
    /// Where the report is laid out (the command line uses a child process).
    pub renderer: render::Renderer,
    /// Bytes of observations a parse worker holds before it writes a sorted run (default
    /// [`SPILL_BUDGET`]); smaller means less memory and more runs to merge.
    pub spill_budget: usize,
    /// Who signs the package (`None`: an unsigned package).
    pub signing: Option<Signing>,
    /// S3 prefixes to read besides the local inputs.
    pub s3_inputs: Vec<crate::s3::S3Location>,
    /// Parallel S3 downloads.
    pub s3_concurrency: usize,
    /// Force path-style S3 addressing.
    pub path_style: bool,
    /// Build a package even when no input was recognised or the period has no backup job
    /// (the cover then says the package is empty).
    pub allow_empty: bool,
    /// The verified earlier package to compare with (`--previous`): the package then holds
    /// `changes.json`, its manifest names the earlier one, and the report shows the changes.
    pub previous: Option<Snapshot>,
}

/// A signing identity and what the PDF signature says.
#[derive(Debug, Clone)]
pub struct Signing {
    /// The key and certificate chain.
    pub identity: Arc<Identity>,
    /// `/Reason`.
    pub reason: Option<String>,
    /// `/Location`.
    pub location: Option<String>,
    /// `/ContactInfo`.
    pub contact_info: Option<String>,
    /// The RFC 3161 TSA that timestamps both signatures (`None`: claimed signing time only).
    pub tsa: Option<Arc<TsaClient>>,
    /// The TSA asked, and why it gave nothing (`--tsa-optional`), for the manifest and cover.
    pub timestamp_missing: Option<(String, String)>,
    /// Where the report's revocation data (its `/DSS`, PAdES B-LT) comes from: `--crl`,
    /// `--ocsp-response`, CRL downloads.
    pub revocation: sign::revocation::RevocationSources,
}

/// What a build produced.
#[derive(Debug, Clone)]
pub struct BuildSummary {
    /// Where the package is.
    pub out: PathBuf,
    /// Artifacts read.
    pub artifacts: usize,
    /// Bytes read.
    pub bytes: u64,
    /// Artifacts with parse problems.
    pub failed: usize,
    /// Artifacts not recognised.
    pub unclassified: usize,
    /// Merged record counts by evidence file.
    pub counts: Vec<(&'static str, u64)>,
    /// The first problems, as `origin: locator: message`.
    pub problems: Vec<String>,
    /// Number of problems in all.
    pub problem_count: usize,
    /// (requirement id, status) for every finding.
    pub findings: Vec<(String, &'static str)>,
    /// Whether any requirement is `not_satisfied`.
    pub not_satisfied: bool,
    /// The signer's subject, when signed.
    pub signed_by: Option<String>,
    /// Folders in the inputs not read because this tool wrote them (packages, work folders).
    pub skipped_inputs: Vec<source::Skipped>,
    /// Stale work folders of killed runs removed beside `--out`.
    pub removed_work_folders: Vec<PathBuf>,
    /// What the report's signature reached (level, times, missing revocation data).
    pub pades: Option<sign::PadesOutcome>,
}

impl BuildSummary {
    /// Whether some input could not be parsed cleanly.
    pub fn is_partial(&self) -> bool {
        self.failed > 0
    }
}

/// Why a build could not produce a package.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// An input could not be listed.
    #[error(transparent)]
    Source(#[from] source::SourceError),
    /// No files under the inputs.
    #[error("no input files found under {0}")]
    NoInput(String),
    /// The inputs hold nothing to assess (DESIGN §5).
    #[error("{0}; pass --allow-empty to build an (empty) package anyway")]
    Empty(String),
    /// `--out` is refused (DESIGN §8: not empty, not a package, overlapping an input), or the
    /// package could not be put in place.
    #[error(transparent)]
    Output(#[from] output::OutputError),
    /// An input file could not be read or its copy stored (the package must hold every input, so
    /// this stops the build).
    #[error("input {path}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The previous package cannot be compared with this one (`--previous`).
    #[error("--previous")]
    Previous(#[from] CompareError),
    /// The report could not be rendered.
    #[error(transparent)]
    Render(#[from] render::RenderError),
    /// The package could not be signed.
    #[error("signing failed: {0}")]
    Sign(#[from] sign::SignError),
    /// Writing the package failed.
    #[error("cannot write the package under {path}")]
    Write {
        /// Where.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

fn write_err(path: &Path) -> impl FnOnce(io::Error) -> BuildError + '_ {
    move |source| BuildError::Write { path: path.to_path_buf(), source }
}

/// Runs a build.
///
/// # Errors
/// When inputs cannot be listed or read, or the package cannot be written. Parse problems
/// in inputs are not errors: they are recorded in the package (see [`BuildSummary`]).
pub fn run(opts: &BuildOptions) -> Result<BuildSummary, BuildError> {
    if let Some(previous) = &opts.previous {
        compare::check_periods(&previous.package.period, &opts.period.to_string())?;
    }
    let mut listing = source::list_files(&opts.inputs)?;
    // `--out` is checked before anything is fetched or written; folders reached through links
    // below the inputs count as inputs.
    let roots: Vec<PathBuf> = opts.inputs.iter().chain(&listing.links).cloned().collect();
    let work = Workspace::prepare(&opts.out, &roots, opts.force)?;
    let mut files = std::mem::take(&mut listing.files);
    let _fetched = fetch_s3(opts, &work, &mut files, &mut listing.skipped)?;
    if files.is_empty() {
        return Err(no_input(opts, &listing.skipped));
    }
    let declared = Declared {
        inputs: sorted_inputs(opts),
        skipped_inputs: listing
            .skipped
            .iter()
            .map(|s| SkippedInput { path: s.path.clone(), kind: s.kind.as_str().into() })
            .collect(),
        signature: opts.signing.as_ref().map(|s| signature_decl(opts, s)),
    };
    let (mut summary, staging) = assemble(opts, &work, files, &declared)?;
    summary.skipped_inputs = listing.skipped;
    summary.removed_work_folders = work.swept().to_vec();
    work.commit(staging)?;
    Ok(summary)
}

/// What a package declares about how it was made, besides its evidence: the inputs as named,
/// the folders skipped in them, and its signature. A build works these out; a replay
/// (`rebuild`) takes them from the package it re-performs.
#[derive(Debug, Clone, Default)]
pub struct Declared {
    /// The inputs as named (local folders and S3 URLs), sorted.
    pub inputs: Vec<String>,
    /// Folders found in the inputs and not read.
    pub skipped_inputs: Vec<SkippedInput>,
    /// How the package is (to be) signed.
    pub signature: Option<SignatureDecl>,
}

/// Builds a package from `files` as they were read once before (`rebuild`): no listing, no
/// download, no signing; `declared` comes from the package being re-performed. The cover and
/// manifest then say what the original's do, and the report is its unsigned first revision.
///
/// # Errors
/// As for [`run`].
pub fn replay(opts: &BuildOptions, files: Vec<SourceFile>, declared: &Declared) -> Result<BuildSummary, BuildError> {
    if let Some(previous) = &opts.previous {
        compare::check_periods(&previous.package.period, &opts.period.to_string())?;
    }
    let work = Workspace::prepare(&opts.out, &[], opts.force)?;
    let (summary, staging) = assemble(opts, &work, files, declared)?;
    work.commit(staging)?;
    Ok(summary)
}

/// Reads, assesses and writes the package into a staging folder of `work`, which the caller
/// commits.
fn assemble(
    opts: &BuildOptions,
    work: &Workspace,
    files: Vec<SourceFile>,
    declared: &Declared,
) -> Result<(BuildSummary, WorkDir), BuildError> {
    let staging = work.work_dir(WorkKind::Staging)?;
    let spill = work.work_dir(WorkKind::Spill)?;
    let renderer = opts.renderer.start()?;
    let (ev, assessment, bytes, mut hashed) = read_and_assess(opts, files, staging.path(), spill.path())?;
    let empty = emptiness(&ev, &assessment, opts.period);
    if let (Some(why), false) = (&empty, opts.allow_empty) {
        return Err(BuildError::Empty(why.clone()));
    }
    let started = Instant::now();
    let meta = manifest_header(opts, &ev, empty.as_deref(), declared);
    let shas: Vec<String> = ev.artifacts.iter().map(|a| a.artifact.sha256.hex()).collect();
    let findings = FindingsDoc::new(&assessment, &shas);
    hashed.extend(write_documents(staging.path(), &meta, (&assessment, &ev, &findings), opts)?);
    write_recorded(opts, staging.path())?;
    let changes = write_changes(opts, staging.path(), &meta, &assessment, findings)?;
    let (manifest_sha, listed) =
        package::write_manifest(staging.path(), &meta, &hashed).map_err(write_err(staging.path()))?;
    tracing::info!("wrote evidence and manifest in {:.2?}{}", started.elapsed(), peak_so_far());
    drop(spill);
    let report = Report { renderer, manifest_sha: &manifest_sha, changes };
    let pades = write_report(opts, staging.path(), &meta, report, (&assessment, &ev))?;
    write_late_files(opts, staging.path(), &listed, pades.as_ref())?;

    let mut summary = summarise(&ev, opts.out.clone(), bytes);
    summary.findings = assessment.findings.iter().map(|f| (f.id.clone(), f.status.as_str())).collect();
    summary.not_satisfied = assessment.any_not_satisfied();
    summary.signed_by = opts.signing.as_ref().map(|s| s.identity.subject());
    summary.pades = pades;
    Ok((summary, staging))
}

/// Writes what the package needs to be re-performed (`rebuild`): the configuration and the
/// mapping verbatim, and the report template when it is not the built-in one.
fn write_recorded(opts: &BuildOptions, staging: &Path) -> Result<(), BuildError> {
    let dir = staging.join(layout::CONFIG_DIR);
    fs::create_dir_all(&dir).map_err(write_err(&dir))?;
    let mut files =
        vec![(layout::CONFIG_FILE, opts.config.text.clone()), (layout::MAPPING_FILE, opts.mapping.text.clone())];
    if let Some(templates) = &opts.templates {
        let path = templates.join("report.typ");
        let text = fs::read_to_string(&path)
            .map_err(|source| BuildError::Read { path: path.display().to_string(), source })?;
        files.push((layout::TEMPLATE_FILE, text));
    }
    for (name, text) in files {
        let path = staging.join(name);
        fs::write(&path, text).map_err(write_err(&path))?;
    }
    Ok(())
}

/// Downloads the S3 inputs (streamed to disk, never held in memory) into a folder beside the
/// package that goes away with the build; adds them to `files` and the packages found among
/// them to `skipped`.
fn fetch_s3(
    opts: &BuildOptions,
    work: &Workspace,
    files: &mut Vec<SourceFile>,
    skipped: &mut Vec<source::Skipped>,
) -> Result<Option<WorkDir>, BuildError> {
    if opts.s3_inputs.is_empty() {
        return Ok(None);
    }
    let dir = work.work_dir(WorkKind::Fetch)?;
    let started = Instant::now();
    let fetched = source::s3::fetch(&opts.s3_inputs, opts.period, dir.path(), opts.s3_concurrency, opts.path_style)?;
    tracing::info!(
        "fetched {} objects ({} bytes) from S3 in {:.2?} ({} listed, {} outside the period)",
        fetched.files.len(),
        fetched.bytes,
        started.elapsed(),
        fetched.listed,
        fetched.skipped
    );
    files.extend(fetched.files);
    files.sort();
    skipped.extend(fetched.packages);
    skipped.sort();
    Ok(Some(dir))
}

/// The error for inputs that hold no file, naming them and what was skipped in them.
fn no_input(opts: &BuildOptions, skipped: &[source::Skipped]) -> BuildError {
    let mut names: Vec<String> = opts.inputs.iter().map(|p| p.display().to_string()).collect();
    names.extend(opts.s3_inputs.iter().map(ToString::to_string));
    let skipped: String = skipped.iter().map(|s| format!("; skipped {}: {}", s.path, s.kind.reason())).collect();
    BuildError::NoInput(names.join(", ") + &skipped)
}

/// Reads, hashes and parses every file into the artifact store under `staging` (the listing
/// is dropped then: the artifact table has what is needed of it), merges the
/// observations while writing the bulky evidence CSVs, and assesses the period. Returns the
/// evidence, the assessment, the bytes read and the bulky CSVs as hashed while written
/// (the other CSVs come from [`write_documents`]).
fn read_and_assess(
    opts: &BuildOptions,
    files: Vec<SourceFile>,
    staging: &Path,
    spill: &Path,
) -> Result<(Evidence, assess::Assessment, u64, Vec<FileEntry>), BuildError> {
    let store = ArtifactStore::create(&staging.join(layout::ARTIFACTS_DIR)).map_err(write_err(staging))?;
    let started = Instant::now();
    let (entries, parts) = read_all(files, &store, spill, opts)?;
    let bytes = entries.iter().map(|e| e.artifact.size).sum();
    let took = started.elapsed();
    tracing::info!("read, hashed and parsed {} files ({bytes} bytes) in {took:.2?}{}", entries.len(), peak_so_far());
    let started = Instant::now();
    let evidence_dir = staging.join(layout::EVIDENCE_DIR);
    fs::create_dir_all(&evidence_dir).map_err(write_err(&evidence_dir))?;
    let mut bulk = BulkWriter::create(&evidence_dir, &entries, opts.period).map_err(write_err(&evidence_dir))?;
    let mut metrics = MetricsAccumulator::new(opts.period);
    let ev = evidence::assemble(entries, parts, opts.threads, &mut |r| {
        metrics.observe(r);
        bulk.write(r)
    })
    .map_err(write_err(spill))?;
    let written = bulk.finish().map_err(write_err(&evidence_dir))?;
    tracing::info!("merged observations and wrote their evidence in {:.2?}{}", started.elapsed(), peak_so_far());
    let assessment = assess::assess(&metrics, &opts.config, &opts.mapping, &ev);
    Ok((ev, assessment, bytes, written.into_iter().map(evidence_entry).collect()))
}

/// A file of `evidence/` as hashed while it was written.
fn evidence_entry(w: Written) -> FileEntry {
    FileEntry { path: format!("{}/{}", layout::EVIDENCE_DIR, w.file), size: w.size, sha256: w.sha256.hex() }
}

/// Writes what the manifest lists besides the artifacts and the bulky evidence: metrics,
/// findings, the OSCAL documents, the small evidence tables and `artifacts.csv`. Returns the
/// files hashed while written (the CSVs and the OSCAL results).
///
/// The OSCAL results, the largest of these (one back-matter resource per artifact: 46 MB at
/// the small-file bench quarter), are written on a second thread meanwhile.
fn write_documents(
    staging: &Path,
    meta: &Manifest,
    (assessment, ev, findings): (&assess::Assessment, &Evidence, &FindingsDoc),
    opts: &BuildOptions,
) -> Result<Vec<FileEntry>, BuildError> {
    let catalog = oscal::catalog(&opts.mapping);
    let oscal_dir = staging.join(layout::OSCAL_DIR);
    fs::create_dir_all(&oscal_dir).map_err(write_err(&oscal_dir))?;
    let results = staging.join(layout::OSCAL_RESULTS);
    let (oscal, rest) = std::thread::scope(|scope| {
        let oscal = scope.spawn(|| {
            write_hashed(&results, |w| oscal::assessment_results(meta, findings, &ev.artifacts, &catalog, w))
        });
        let rest = write_tables(staging, (assessment, ev, findings), &catalog, opts);
        (oscal.join().unwrap_or_else(|_| Err(io::Error::other("the OSCAL writer panicked"))), rest)
    });
    let (size, sha256) = oscal.map_err(write_err(&results))?;
    let mut hashed = rest?;
    hashed.push(FileEntry { path: layout::OSCAL_RESULTS.to_owned(), size, sha256: sha256.hex() });
    Ok(hashed)
}

/// The documents of [`write_documents`] but the OSCAL results; returns the CSVs hashed while
/// written.
fn write_tables(
    staging: &Path,
    (assessment, ev, findings): (&assess::Assessment, &Evidence, &FindingsDoc),
    catalog: &[u8],
    opts: &BuildOptions,
) -> Result<Vec<FileEntry>, BuildError> {
    for (name, bytes) in [
        (layout::METRICS_JSON, assessment.metrics_json()),
        (layout::FINDINGS_CSV, assessment.findings_csv()),
        (layout::FINDINGS_JSON, findings.to_bytes()),
        (layout::BACKUP_POLICY_CSV, assessment.backup_policy.targets_csv()),
        (layout::BACKUP_POLICY_RULES_CSV, assessment.backup_policy.rules_csv()),
        (layout::ACCOUNT_REGIONS_CSV, assessment.account_regions_csv()),
        (layout::OSCAL_CATALOG, catalog.to_vec()),
    ] {
        let path = staging.join(name);
        fs::write(&path, bytes).map_err(write_err(&path))?;
    }
    let evidence_dir = staging.join(layout::EVIDENCE_DIR);
    let small = evidence::write::write_small(ev, &evidence_dir, opts.period).map_err(write_err(&evidence_dir))?;
    let mut hashed: Vec<FileEntry> = small.into_iter().map(evidence_entry).collect();
    let alert_paths = staging.join(layout::ALERT_PATHS_CSV);
    fs::write(&alert_paths, assessment.alert_paths_csv()).map_err(write_err(&alert_paths))?;
    let artifacts_csv = staging.join(layout::ARTIFACTS_CSV);
    let (size, sha256) =
        evidence::write::write_artifacts(&artifacts_csv, &ev.artifacts).map_err(write_err(&artifacts_csv))?;
    hashed.push(FileEntry { path: layout::ARTIFACTS_CSV.to_owned(), size, sha256: sha256.hex() });
    Ok(hashed)
}

/// Writes a new file around the page cache ([`crate::direct`]), hashing it on the way, as the
/// evidence CSVs are, so the manifest need not read it back; returns its size and digest.
fn write_hashed(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<(u64, crate::artifact::Sha256Digest)> {
    let mut w = io::BufWriter::with_capacity(64 * 1024, HashingWriter::new(DirectFile::create(path)?));
    fill(&mut w)?;
    let (file, size, sha256) = w.into_inner().map_err(io::IntoInnerError::into_error)?.finish();
    file.finish()?;
    Ok((size, sha256))
}

/// With `--previous`: compares the earlier package with this one (as `diff` would read it
/// once written) and writes `changes.json`.
fn write_changes(
    opts: &BuildOptions,
    staging: &Path,
    meta: &Manifest,
    assessment: &assess::Assessment,
    findings: FindingsDoc,
) -> Result<Option<Changes>, BuildError> {
    let Some(previous) = &opts.previous else { return Ok(None) };
    // Metrics as the package's metrics.json holds them, so `diff` on the two packages agrees.
    let metrics = serde_json::from_slice(&assessment.metrics_json()).unwrap_or_default();
    let current = Snapshot {
        package: PackageRef { package_id: meta.package_id.clone(), period: meta.period.clone(), manifest_sha256: None },
        findings,
        metrics,
    };
    let changes = compare::compare(previous, &current)?;
    let path = staging.join(layout::CHANGES_JSON);
    fs::write(&path, changes.to_bytes()).map_err(write_err(&path))?;
    Ok(Some(changes))
}

/// What the report needs besides the assessment: the started renderer, the manifest's digest
/// it cites, and the changes since the earlier package.
struct Report<'a> {
    renderer: render::Prepared,
    manifest_sha: &'a str,
    changes: Option<Changes>,
}

/// Renders `report.pdf` (citing the manifest's digest) and signs it when asked.
fn write_report(
    opts: &BuildOptions,
    staging: &Path,
    meta: &Manifest,
    Report { renderer, manifest_sha, changes }: Report<'_>,
    (assessment, ev): (&assess::Assessment, &Evidence),
) -> Result<Option<sign::PadesOutcome>, BuildError> {
    let started = Instant::now();
    let (attached, omitted) = package::attachments(staging);
    let entity =
        opts.config.entity.clone().unwrap_or_else(|| "Entity not named (set `entity` in dora-evidence.toml)".into());
    let inputs = ReportInputs {
        manifest_sha,
        entity: &entity,
        assessment,
        evidence: ev,
        attached: &attached,
        omitted: &omitted,
        config: &opts.config,
    };
    let mut data = ReportData::new(meta, inputs);
    data.changes = changes;
    let pdf = renderer.render(&RenderOptions {
        data: data.to_bytes(),
        attachments: &attached,
        templates: opts.templates.as_deref(),
        generated_at: opts.generated_at,
        ident: meta.package_id.clone(),
    })?;
    tracing::info!("rendered report.pdf in {:.2?}", started.elapsed());
    let (pdf, pades) = match &opts.signing {
        Some(s) => {
            let started = Instant::now();
            let ltv = sign::PadesOptions { tsa: s.tsa.as_deref(), revocation: s.revocation.clone() };
            let (signed, outcome) = sign::sign_pdf_pades(&s.identity, &pdf, &signature_info(opts, s), &ltv)?;
            tracing::info!("signed report.pdf (PAdES {}) in {:.2?}", outcome.level, started.elapsed());
            (signed, Some(outcome))
        }
        None => (pdf, None),
    };
    let report = staging.join(layout::REPORT);
    fs::write(&report, pdf).map_err(write_err(&report))?;
    Ok(pades)
}

/// `" (peak RSS so far: N MiB)"` for the log, where `/proc` tells.
fn peak_so_far() -> String {
    progress::peak_rss_kib().map(|kib| format!(" (peak RSS so far: {} MiB)", kib / 1024)).unwrap_or_default()
}

/// Writes the files that come after the report: `SHA256SUMS`, and the manifest's signature
/// when signing.
fn write_late_files(
    opts: &BuildOptions,
    staging: &Path,
    listed: &[package::FileEntry],
    pades: Option<&sign::PadesOutcome>,
) -> Result<(), BuildError> {
    let started = Instant::now();
    package::write_sha256sums(staging, listed).map_err(write_err(staging))?;
    tracing::info!("wrote SHA256SUMS in {:.2?}", started.elapsed());
    if let Some(s) = &opts.signing {
        let manifest = staging.join(layout::MANIFEST);
        let bytes = fs::read(&manifest).map_err(write_err(&manifest))?;
        let started = Instant::now();
        let p7s = match s.tsa.as_deref() {
            Some(tsa) => {
                let crls = pades.map(|p| p.crls.as_slice()).unwrap_or_default();
                sign::sign_detached_ltv(&s.identity, &bytes, opts.generated_at, tsa, crls)?
            }
            None => sign::sign_detached(&s.identity, &bytes, opts.generated_at, None)?,
        };
        let path = staging.join(layout::MANIFEST_SIGNATURE);
        fs::write(&path, p7s).map_err(write_err(&path))?;
        tracing::info!("signed manifest.json (CMS) in {:.2?}", started.elapsed());
    }
    Ok(())
}

/// Reads, stores and parses every file on `threads + 1` workers: a worker waits while its
/// copy of a file goes to disk (direct writes), and the extra one keeps the cores busy
/// meanwhile (at bench scale 120 the read phase took 3.7–4.0 s instead of 4.1–5.0 s).
///
/// Memory (10 M job rows, BENCHMARKS.md): whole-file reads are capped so that the workers'
/// buffers together stay within `threads` of `in_memory_limit`; uncapped, the extra buffer
/// raised the peak from 275–279 to 306 MiB, over the 300 MiB aim. Each worker keeps a whole
/// spill arena: shared arenas mean smaller runs and half as many again to merge, and the
/// merge then peaked at 310 MiB. As it is: 277 MiB.
///
/// Artifact indices are the files' positions in `files`, so provenance does not depend on
/// scheduling. The entries take their files' origins at the end, so that no path is held
/// twice while the spill arenas fill.
fn read_all(
    files: Vec<SourceFile>,
    store: &ArtifactStore,
    spill: &Path,
    opts: &BuildOptions,
) -> Result<(Vec<ArtifactEntry>, Vec<Collected>), BuildError> {
    let threads = opts.threads.max(1) + 1;
    let budget = opts.spill_budget.max(1);
    let in_memory_limit = opts.in_memory_limit.saturating_mul(threads as u64 - 1) / threads as u64;
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let slots: Mutex<Vec<Option<ArtifactEntry>>> = Mutex::new(vec![None; files.len()]);
    let list = &files[..];
    let results: Vec<Result<Collected, BuildError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|w| {
                let (next, stop, slots) = (&next, &stop, &slots);
                scope.spawn(move || {
                    let mut collector = Collector::new(spill, &format!("w{w}"), budget);
                    let mut buf = Vec::new();
                    while !stop.load(Ordering::Relaxed) {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(file) = list.get(i) else { break };
                        match read_one(i as u32, file, store, &mut collector, &mut buf, in_memory_limit) {
                            Ok(entry) => slots.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(entry),
                            Err(e) => {
                                stop.store(true, Ordering::Relaxed);
                                return Err(e);
                            }
                        }
                    }
                    collector.finish().map_err(write_err(spill))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(BuildError::NoInput("worker panicked".into()))))
            .collect()
    });
    let parts = results.into_iter().collect::<Result<Vec<_>, _>>()?;
    let slots = slots.into_inner().unwrap_or_else(|e| e.into_inner());
    let entries = slots.into_iter().zip(files).filter_map(|(entry, file)| {
        entry.map(|mut e| {
            e.artifact.origin = file.origin;
            e
        })
    });
    Ok((entries.collect(), parts))
}

fn read_one(
    index: u32,
    file: &SourceFile,
    store: &ArtifactStore,
    collector: &mut Collector,
    buf: &mut Vec<u8>,
    in_memory_limit: u64,
) -> Result<ArtifactEntry, BuildError> {
    let read_err = |source| BuildError::Read { path: file.origin.clone(), source };
    // For a local file the fetch time is when it was written into the input folder (its
    // modification time): real, and the same for the same input tree. S3 sources record the
    // download time.
    let fetched_at = file.fetched_at.unwrap_or_else(|| {
        std::fs::metadata(&file.path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or_else(Timestamp::now, |d| Timestamp(d.as_millis() as i64))
    });
    let file_name = file.relative.rsplit('/').next().unwrap_or("").to_owned();
    // v2: the whole location gives the hints (a time may sit in the input root or S3 prefix).
    let ctx = Context { artifact: index, file_name, hint: PathHint::for_file(&file.origin, &file.relative) };
    collector.start(index);
    // A download was hashed while streaming: it is moved into the store, not copied.
    let adopted = file.sha256.map(|sha| store.adopt(&file.path, sha).map(|()| sha)).transpose().map_err(read_err)?;
    let (sha256, size, kind, format) = if file.size <= in_memory_limit {
        let sha = match adopted {
            Some(sha) => {
                buf.clear();
                File::open(store.path_of(&sha)).and_then(|mut f| f.read_to_end(buf)).map_err(read_err)?;
                sha
            }
            None => store.put_file(&file.path, buf).map_err(read_err)?,
        };
        let (kind, format) = ingest::parse(Input::Bytes(buf), &ctx, collector).map_err(read_err)?;
        (sha, buf.len() as u64, kind, format)
    } else {
        let (sha, size) = match adopted {
            Some(sha) => (sha, file.size),
            None => store.put_file_streamed(&file.path).map_err(read_err)?,
        };
        let stored = store.path_of(&sha);
        let (kind, format) = ingest::parse(Input::File(&stored), &ctx, collector).map_err(read_err)?;
        (sha, size, kind, format)
    };
    let (records, errors, first_error) = collector.end().map_err(write_err(&file.path))?;
    Ok(ArtifactEntry {
        // The origin is moved in from the listing after the read phase (`read_all`): cloned
        // here, every input's path was held twice through it (15.6 MB at 144 000 files).
        artifact: Artifact { sha256, size, origin: String::new(), fetched_at },
        kind,
        format,
        records,
        errors,
        first_error,
        observed_at: ctx.hint.observed_at,
    })
}

/// Why the inputs hold nothing to assess for the period, if they do not (DESIGN §5): nothing
/// recognised, or no backup job created in the period.
fn emptiness(ev: &Evidence, a: &assess::Assessment, period: Period) -> Option<String> {
    let recognised = ev.artifacts.iter().filter(|e| e.kind != ingest::ArtifactKind::Unclassified).count();
    if recognised == 0 {
        return Some(format!(
            "none of the {} input files was recognised as AWS Backup or Audit Manager evidence (all unclassified)",
            ev.artifacts.len()
        ));
    }
    (a.metrics.backup_jobs_total == 0).then(|| {
        format!(
            "the inputs hold no backup job created in {period} ({recognised} of {} files recognised)",
            ev.artifacts.len()
        )
    })
}

/// Merged records per evidence table, as the summary and the manifest report them.
fn record_counts(ev: &Evidence) -> Vec<(&'static str, u64)> {
    let mut counts: Vec<(&'static str, u64)> = ev.bulk_counts().to_vec();
    counts.extend([
        ("vaults", ev.vaults.len() as u64),
        ("legal_holds", ev.legal_holds.len() as u64),
        ("alarms", ev.alarms.len() as u64),
        ("tagged_resources", ev.tagged_resources.len() as u64),
        ("restore_testing_plans", ev.restore_testing_plans.len() as u64),
        ("restore_testing_selections", ev.restore_testing_selections.len() as u64),
        ("backup_rules", ev.backup_rules.len() as u64),
        ("backup_selections", ev.backup_selections.len() as u64),
        ("vault_notifications", ev.vault_notifications.len() as u64),
        ("vault_access_policies", ev.vault_access_policies.len() as u64),
        ("event_rules", ev.event_rules.len() as u64),
        ("sns_subscriptions", ev.sns_subscriptions.len() as u64),
        ("protected_resources", ev.protected_resources.len() as u64),
        ("assessment_reports", ev.assessment_reports.len() as u64),
        ("conflicts", ev.conflicts.len() as u64),
    ]);
    counts
}

fn summarise(ev: &Evidence, out: PathBuf, bytes: u64) -> BuildSummary {
    let counts = record_counts(ev);
    BuildSummary {
        out,
        artifacts: ev.artifacts.len(),
        bytes,
        failed: ev.artifacts.iter().filter(|a| a.errors > 0).count(),
        unclassified: ev.artifacts.iter().filter(|a| a.parse_status() == "unclassified").count(),
        counts,
        problems: ev
            .errors
            .iter()
            .take(20)
            .map(|e| format!("{}: {}: {}", ev.artifacts[e.artifact as usize].artifact.origin, e.locator, e.message))
            .collect(),
        problem_count: ev.errors.len(),
        findings: Vec::new(),
        not_satisfied: false,
        signed_by: None,
        skipped_inputs: Vec::new(),
        removed_work_folders: Vec::new(),
        pades: None,
    }
}

fn signature_info(opts: &BuildOptions, s: &Signing) -> SignatureInfo {
    SignatureInfo {
        signing_time: opts.generated_at,
        reason: s.reason.clone(),
        location: s.location.clone(),
        contact_info: s.contact_info.clone(),
    }
}

/// The windows of job history `collect` could no longer reach that overlap the period,
/// sorted by account, Region and start.
fn evidence_gaps(ev: &Evidence, period: Period) -> Vec<EvidenceGap> {
    let mut gaps: Vec<_> = ev
        .collection_gaps
        .iter()
        .filter_map(|g| Some((g, g.lost_from?, g.lost_to?)))
        .filter(|(_, from, to)| from.millis() < period.end.millis() && to.millis() >= period.start.millis())
        .map(|(g, from, to)| EvidenceGap {
            account_id: g.account_id.clone(),
            region: g.region.clone(),
            lost_from: from.to_rfc3339(),
            lost_to: to.to_rfc3339(),
        })
        .collect();
    // By the compact JSON of each gap, the order format 0.2 has always used.
    gaps.sort_by_cached_key(|g| serde_json::to_value(g).map(|v| v.to_string()).unwrap_or_default());
    gaps
}

/// The manifest's header: what the package is, from what, and how complete.
fn manifest_header(opts: &BuildOptions, ev: &Evidence, empty: Option<&str>, declared: &Declared) -> Manifest {
    let status = |s: &str| ev.artifacts.iter().filter(|a| a.parse_status() == s).count() as u64;
    let period = opts.period.to_string();
    let previous = opts.previous.as_ref().map(Snapshot::as_previous);
    let previous_sha = previous.as_ref().map(|p| p.manifest_sha256.as_str());
    let id = package::package_id(&period, &opts.config.sha256, &opts.mapping.sha256, ev, previous_sha);
    Manifest {
        semantics: SEMANTICS_VERSION,
        ict_risk_framework: opts.config.framework.as_str().into(),
        empty: empty.map(str::to_owned),
        period_start: opts.period.start.to_rfc3339(),
        period_end: opts.period.end.to_rfc3339(),
        generated_at: opts.generated_at.to_rfc3339(),
        entity: opts.config.entity.clone(),
        config_sha256: opts.config.sha256.clone(),
        mapping_sha256: opts.mapping.sha256.clone(),
        inputs: declared.inputs.clone(),
        skipped_inputs: declared.skipped_inputs.clone(),
        partial: ev.is_partial(),
        evidence_gaps: evidence_gaps(ev, opts.period),
        artifacts: ArtifactCounts {
            total: ev.artifacts.len() as u64,
            parsed: status("parsed"),
            failed: status("failed"),
            unclassified: status("unclassified"),
        },
        records: record_counts(ev).into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        parse_errors: ev.errors.len() as u64,
        signature: declared.signature.clone(),
        previous,
        ..Manifest::header(id, period)
    }
}

/// What the manifest and the cover say of the signature `s` will make.
fn signature_decl(opts: &BuildOptions, s: &Signing) -> SignatureDecl {
    SignatureDecl {
        manifest: format!("{} (detached CMS, DER)", layout::MANIFEST_SIGNATURE),
        report: format!(
            "{} (PAdES {}, {})",
            layout::REPORT,
            if s.tsa.is_some() { "B-LTA" } else { "B-B" },
            sign::PDF_SUB_FILTER
        ),
        signer: s.identity.subject(),
        signer_certificate_sha256: s.identity.certificate_sha256(),
        key: s.identity.key_kind().into(),
        signing_time: opts.generated_at.to_rfc3339(),
        timestamp_authority: s
            .tsa
            .as_ref()
            .map(|t| t.url().to_owned())
            .or_else(|| s.timestamp_missing.as_ref().map(|(url, _)| url.clone())),
        timestamp_missing: s.timestamp_missing.as_ref().map(|(_, why)| why.clone()),
    }
}

/// The inputs as named (local folders and S3 URLs), sorted: the order they were named in
/// changes nothing else, so not the package.
fn sorted_inputs(opts: &BuildOptions) -> Vec<String> {
    let local = opts.inputs.iter().map(|p| p.display().to_string());
    let mut inputs: Vec<String> = local.chain(opts.s3_inputs.iter().map(ToString::to_string)).collect();
    inputs.sort();
    inputs
}
