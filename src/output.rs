//! Output safety (DESIGN §8): a build never destroys anything it did not create.
//!
//! What this module owns, and why:
//!
//! * **Where a package may go.** [`Workspace::prepare`] accepts `--out` only when it is absent,
//!   an empty folder, or — with `--force` — a folder that holds a dora-evidence package and
//!   nothing else: its `manifest.json` says dora-evidence made it, and every entry in it is a
//!   file that manifest lists or a file a package has besides (`manifest.json`, `report.pdf`,
//!   `SHA256SUMS`, signatures, an archive receipt). A user's file anywhere in it refuses the
//!   run, naming the file. An `--out` that is, is inside, or contains an input is refused too;
//!   paths are compared resolved (symbolic links followed, a missing `--out` resolved through its
//!   nearest existing ancestor), so a link cannot hide the overlap.
//! * **Work folders.** Everything a run writes before the package is complete lives in hidden
//!   folders beside `--out` ([`WorkDir`]: `.<name>.partial-*` for the package being built,
//!   `.dora-evidence-spill-*`, `.dora-evidence-fetch-*`). Each holds a marker file ([`MARKER`])
//!   naming the host, boot, process id and process start time of the run that made it, and its
//!   work in a folder below, so the marker never ends up in a package. [`Workspace::commit`]
//!   renames the finished package into place; an old package it replaces is removed file by
//!   file (only the files it consists of; a folder that still holds anything else is kept).
//! * **Killed runs.** [`remove_work_on_signals`] makes SIGINT and SIGTERM remove the live work
//!   folders and exit with 130 / 143. A run killed harder leaves only its marked work folders;
//!   the next run into the same parent removes a stale one only when its marker proves it is ours
//!   and its process is gone (same host, and the pid is dead, a zombie, a different process than
//!   the one recorded, or from before a reboot). Anything without our marker is never removed.
//! * **Recognising our own output** ([`recognise`]), so that [`crate::source`] can skip a
//!   package or a work folder found inside an input: a package is not evidence.
//!
//! It leaves what goes into a package to [`crate::package`] and reading inputs to
//! [`crate::source`].

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use crate::package::layout;
use crate::package::manifest::Head as ManifestHead;

/// The file that marks a work folder as this tool's (inside the work folder, beside the work).
pub const MARKER: &str = ".dora-evidence-work";

const MARKER_MAGIC: &str = "dora-evidence work folder v1";
const SPILL_PREFIX: &str = ".dora-evidence-spill-";
const FETCH_PREFIX: &str = ".dora-evidence-fetch-";

/// Something this tool wrote, found where evidence is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ours {
    /// A package: a folder whose `manifest.json` says dora-evidence made it.
    Package,
    /// A hidden work folder of a build (staging, spill or fetch), finished or not.
    WorkFolder,
}

impl Ours {
    /// Its name in a manifest's `skipped_inputs`.
    pub fn as_str(self) -> &'static str {
        match self {
            Ours::Package => "package",
            Ours::WorkFolder => "work_folder",
        }
    }

    /// Why it is not read as evidence, for messages.
    pub fn reason(self) -> &'static str {
        match self {
            Ours::Package => "a dora-evidence package, not evidence",
            Ours::WorkFolder => "a dora-evidence work folder, not evidence",
        }
    }
}

/// Whether `dir` is a package or a work folder of ours: a work folder by its name
/// (`.<name>.partial-*`, `.dora-evidence-spill-*`, `.dora-evidence-fetch-*`) or its marker, a
/// package by a `manifest.json` whose `tool.name` is `dora-evidence` and whose `format` is a
/// dora-evidence package format.
pub fn recognise(dir: &Path) -> Option<Ours> {
    let named = dir.file_name().and_then(|n| n.to_str()).is_some_and(is_work_name);
    if named || Marker::read(dir).is_some() {
        return Some(Ours::WorkFolder);
    }
    read_manifest(dir).map(|_| Ours::Package)
}

/// The kinds of work folder a build makes beside `--out`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkKind {
    /// The package being built (`.<name>.partial-*`), renamed into place by [`Workspace::commit`].
    Staging,
    /// Sorted runs of observations (`.dora-evidence-spill-*`).
    Spill,
    /// Downloads from S3 inputs (`.dora-evidence-fetch-*`).
    Fetch,
}

impl WorkKind {
    fn inner(self) -> &'static str {
        match self {
            WorkKind::Staging => "package",
            WorkKind::Spill => "spill",
            WorkKind::Fetch => "fetch",
        }
    }
}

/// Why an output could not be prepared or put in place.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutputError {
    /// `--out` has no folder name (a root).
    #[error("--out {0}: name a folder, not a root")]
    NoName(PathBuf),
    /// `--out` is a symbolic link.
    #[error("--out {0} is a symbolic link; name the folder it points to")]
    Symlink(PathBuf),
    /// `--out` exists and is a file (or a device, …).
    #[error("--out {0} exists and is not a folder")]
    NotAFolder(PathBuf),
    /// `--out` holds files and `--force` was not given.
    #[error("{0} exists and is not empty; pass --force to replace it (only a dora-evidence package is replaced)")]
    NotEmpty(PathBuf),
    /// `--force`, but `--out` is not a dora-evidence package.
    #[error(
        "refusing to replace {0}: it holds files but no dora-evidence manifest.json, so it is not a dora-evidence \
         package; nothing was deleted"
    )]
    NotAPackage(PathBuf),
    /// `--force`, but the package in `--out` holds a file that is not part of it.
    #[error(
        "refusing to replace {out}: {file} is not part of its dora-evidence package; move it away first (nothing \
         was deleted)"
    )]
    Foreign {
        /// The package folder.
        out: PathBuf,
        /// The first foreign entry found.
        file: PathBuf,
    },
    /// `--out` is, is inside, or contains an input.
    #[error(
        "--out {out} {how} the input {input} (real paths {real_out} and {real_input}); write the package outside \
         every input"
    )]
    Overlap {
        /// `--out` as given.
        out: PathBuf,
        /// The input as given (or a symbolic link to a folder below one).
        input: PathBuf,
        /// "is the same path as", "is inside" or "contains".
        how: &'static str,
        /// `--out`, resolved.
        real_out: PathBuf,
        /// The input, resolved.
        real_input: PathBuf,
    },
    /// A file system operation failed.
    #[error("output {path}")]
    Io {
        /// Where.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> OutputError + '_ {
    move |source| OutputError::Io { path: path.to_path_buf(), source }
}

/// A checked `--out`: where the package goes, and the folder its work folders go in.
#[derive(Debug)]
pub struct Workspace {
    /// `--out`, resolved.
    out: PathBuf,
    /// Its parent, where the work folders go.
    parent: PathBuf,
    /// Its folder name.
    name: String,
    force: bool,
    swept: Vec<PathBuf>,
}

impl Workspace {
    /// Checks `out` against the rules above and removes stale work folders of ours beside it.
    /// `inputs` are the local inputs (and symbolic links to folders found below them); those
    /// that do not exist are left to the source listing to report.
    ///
    /// # Errors
    /// [`OutputError`] naming the path when `out` is refused; nothing is changed then.
    pub fn prepare(out: &Path, inputs: &[PathBuf], force: bool) -> Result<Workspace, OutputError> {
        if fs::symlink_metadata(out).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(OutputError::Symlink(out.to_path_buf()));
        }
        let real_out = resolve(out).map_err(io_err(out))?;
        let (Some(parent), Some(name)) = (real_out.parent(), real_out.file_name()) else {
            return Err(OutputError::NoName(out.to_path_buf()));
        };
        for input in inputs {
            let Ok(real_input) = fs::canonicalize(input) else { continue };
            let how = if real_out == real_input {
                "is the same path as"
            } else if real_out.starts_with(&real_input) {
                "is inside"
            } else if real_input.starts_with(&real_out) {
                "contains"
            } else {
                continue;
            };
            return Err(OutputError::Overlap {
                out: out.to_path_buf(),
                input: input.clone(),
                how,
                real_out: real_out.clone(),
                real_input,
            });
        }
        inspect(&real_out, force)?;
        let swept = sweep(parent);
        let (parent, name) = (parent.to_path_buf(), name.to_string_lossy().into_owned());
        Ok(Workspace { out: real_out, parent, name, force, swept })
    }

    /// Stale work folders of killed runs that [`Workspace::prepare`] removed, sorted.
    pub fn swept(&self) -> &[PathBuf] {
        &self.swept
    }

    /// Makes a marked work folder beside `--out`; it is removed when dropped, or by
    /// SIGINT/SIGTERM once [`remove_work_on_signals`] is installed.
    ///
    /// # Errors
    /// When the folder cannot be made.
    pub fn work_dir(&self, kind: WorkKind) -> Result<WorkDir, OutputError> {
        let prefix = match kind {
            WorkKind::Staging => format!(".{}.partial-", self.name),
            WorkKind::Spill => SPILL_PREFIX.to_owned(),
            WorkKind::Fetch => FETCH_PREFIX.to_owned(),
        };
        // Made and registered under the lock, so a signal never finds it unregistered.
        let mut live = live();
        fs::create_dir_all(&self.parent).map_err(io_err(&self.parent))?;
        let root = loop {
            let root = self.parent.join(format!("{prefix}{}", random_suffix()));
            match private_dir(&root) {
                Ok(()) => break root,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io_err(&root)(e)),
            }
        };
        live.push(root.clone());
        drop(live);
        let dir = WorkDir { inner: root.join(kind.inner()), root };
        write_marker(&dir.root).map_err(io_err(&dir.root))?;
        private_dir(&dir.inner).map_err(io_err(&dir.inner))?;
        Ok(dir)
    }

    /// Puts the package built in `staging` in place of `--out`, checking `--out` again first
    /// (it may have changed since [`Workspace::prepare`]). An old package is moved aside, the new
    /// one renamed in, and then the old one removed file by file; whatever is not part of it (a
    /// file that appeared meanwhile) is kept, with its folder, and logged.
    ///
    /// # Errors
    /// When `--out` is now refused, or a rename fails (the old package is then put back).
    pub fn commit(&self, staging: WorkDir) -> Result<(), OutputError> {
        let result = {
            // A signal waits until the package is in place and the old one gone.
            let _live = live();
            self.swap_in(staging.path())
        };
        drop(staging);
        result
    }

    fn swap_in(&self, package: &Path) -> Result<(), OutputError> {
        let known = match inspect(&self.out, self.force)? {
            OutState::Absent => return fs::rename(package, &self.out).map_err(io_err(&self.out)),
            OutState::Empty => BTreeSet::new(),
            OutState::Package(known) => known,
        };
        let old = loop {
            let old = self.parent.join(format!(".{}.old-{}", self.name, random_suffix()));
            if fs::symlink_metadata(&old).is_err_and(|e| e.kind() == io::ErrorKind::NotFound) {
                break old;
            }
        };
        fs::rename(&self.out, &old).map_err(io_err(&self.out))?;
        if let Err(e) = fs::rename(package, &self.out) {
            let _ = fs::rename(&old, &self.out);
            return Err(io_err(&self.out)(e));
        }
        // The new package is in place: the old one becomes a work folder of ours, so a run killed
        // while removing it leaves something the next run can remove.
        let _ = write_marker(&old);
        let kept = remove_known(&old, &known);
        if !kept.is_empty() {
            let kept: Vec<String> = kept.iter().map(|p| p.display().to_string()).collect();
            tracing::warn!(
                "kept {} (the replaced package): it holds files that are not part of a package: {}",
                old.display(),
                kept.join(", ")
            );
        }
        Ok(())
    }
}

/// A marked work folder beside `--out`; [`WorkDir::path`] is where the work goes. Removed
/// (with everything in it, all of it this run's) when dropped.
#[derive(Debug)]
pub struct WorkDir {
    root: PathBuf,
    inner: PathBuf,
}

impl WorkDir {
    /// The folder to work in.
    pub fn path(&self) -> &Path {
        &self.inner
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let mut live = live();
        live.retain(|p| p != &self.root);
        if let Err(e) = remove_all(&self.root) {
            tracing::warn!("cannot remove the work folder {}: {e}", self.root.display());
        }
    }
}

/// Makes SIGINT and SIGTERM remove this process's live work folders and exit with 130 / 143
/// (128 + the signal). Installs once; later calls do nothing. On platforms without Unix
/// signals it does nothing (an interrupted run's work folders stay, marked).
///
/// # Errors
/// When the handler cannot be installed.
pub fn remove_work_on_signals() -> io::Result<()> {
    sys::on_signals(|signal, name| {
        // Held until the exit: a thread that fails because its folder is gone, and drops its
        // `WorkDir`, waits here instead of exiting first with another code.
        let live = live();
        // Other threads keep running until the exit, and one that was creating folders
        // (`create_dir_all`) may create a removed one again: look again a few times.
        for _ in 0..5 {
            if !live.iter().any(|root| fs::symlink_metadata(root).is_ok()) {
                break;
            }
            for root in live.iter() {
                if let Err(e) = remove_all(root) {
                    eprintln!("cannot remove the work folder {}: {e}", root.display());
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        eprintln!("interrupted by {name}: removed {} work folder(s) of this run", live.len());
        std::process::exit(128 + signal);
    })
}

/// Work folders alive in this process.
static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn live() -> MutexGuard<'static, Vec<PathBuf>> {
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Removes a work folder of ours and everything in it, our marker last (a run killed meanwhile
/// still leaves the proof); retried, since worker threads may still be writing into it when a
/// signal arrives.
fn remove_all(dir: &Path) -> io::Result<()> {
    let gone = |r: io::Result<()>| match r {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    };
    let once = || -> io::Result<()> {
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            if entry.file_name() == MARKER {
                continue;
            }
            let path = entry.path();
            // The entry's own type: a link is removed, never followed.
            gone(if entry.file_type()?.is_dir() { fs::remove_dir_all(&path) } else { fs::remove_file(&path) })?;
        }
        gone(fs::remove_file(dir.join(MARKER)))?;
        fs::remove_dir(dir)
    };
    let mut last = Ok(());
    for _ in 0..10 {
        match gone(once()) {
            Ok(()) => return Ok(()),
            Err(e) => last = Err(e),
        }
    }
    last
}

fn random_suffix() -> String {
    std::iter::repeat_with(fastrand::alphanumeric).take(6).collect()
}

/// A folder only its owner can enter (work in progress may be confidential evidence).
fn private_dir(path: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path)
}

/// Writes our marker into `dir`, whole or not at all (written beside, then renamed), and never
/// over a file we did not write.
fn write_marker(dir: &Path) -> io::Result<()> {
    use std::io::Write as _;
    let (tmp, marker) = (dir.join(format!("{MARKER}.new")), dir.join(MARKER));
    let mut f = fs::OpenOptions::new().write(true).create_new(true).open(&tmp)?;
    f.write_all(Marker::current().render().as_bytes())?;
    drop(f);
    if fs::symlink_metadata(&marker).is_ok() {
        let _ = fs::remove_file(&tmp);
        return Err(io::Error::new(io::ErrorKind::AlreadyExists, format!("{} exists", marker.display())));
    }
    fs::rename(&tmp, &marker)
}

/// Whether `name` is one a work folder gets: `.<name>.partial-<suffix>`,
/// `.dora-evidence-spill-<suffix>` or `.dora-evidence-fetch-<suffix>`.
fn is_work_name(name: &str) -> bool {
    if let Some(rest) = name.strip_prefix(SPILL_PREFIX).or_else(|| name.strip_prefix(FETCH_PREFIX)) {
        return is_suffix(rest);
    }
    has_tag(name, ".partial-")
}

/// `.<name>.<tag><suffix>` with a non-empty name.
fn has_tag(name: &str, tag: &str) -> bool {
    let Some(body) = name.strip_prefix('.') else { return false };
    body.rfind(tag).is_some_and(|i| i > 0 && is_suffix(&body[i + tag.len()..]))
}

fn is_suffix(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn read_manifest(dir: &Path) -> Option<ManifestHead> {
    let path = dir.join("manifest.json");
    if !fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
        return None;
    }
    manifest_head(&fs::read(&path).ok()?)
}

fn manifest_head(bytes: &[u8]) -> Option<ManifestHead> {
    ManifestHead::from_slice(bytes).ok().filter(ManifestHead::is_ours)
}

/// Whether `bytes` are the `manifest.json` of a dora-evidence package (for inputs that are not
/// folders, such as S3 prefixes).
pub fn is_package_manifest(bytes: &[u8]) -> bool {
    manifest_head(bytes).is_some()
}

/// What `--out` holds now.
#[derive(Debug, PartialEq, Eq)]
enum OutState {
    Absent,
    Empty,
    /// A package, with the files it consists of (relative paths with `/`).
    Package(BTreeSet<String>),
}

fn inspect(out: &Path, force: bool) -> Result<OutState, OutputError> {
    let meta = match fs::symlink_metadata(out) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(OutState::Absent),
        Err(e) => return Err(io_err(out)(e)),
        Ok(m) => m,
    };
    if meta.file_type().is_symlink() {
        return Err(OutputError::Symlink(out.to_path_buf()));
    }
    if !meta.is_dir() {
        return Err(OutputError::NotAFolder(out.to_path_buf()));
    }
    if fs::read_dir(out).map_err(io_err(out))?.next().is_none() {
        return Ok(OutState::Empty);
    }
    if !force {
        return Err(OutputError::NotEmpty(out.to_path_buf()));
    }
    let Some(known) = package_files(out) else { return Err(OutputError::NotAPackage(out.to_path_buf())) };
    match first_foreign(out, &known)? {
        Some(file) => Err(OutputError::Foreign { out: out.to_path_buf(), file }),
        None => Ok(OutState::Package(known)),
    }
}

use layout::relative_path as relative;

/// The first entry of `dir` that is neither a regular file in `known` nor a folder on the way
/// to one (symbolic links are never followed, and never part of a package).
fn first_foreign(dir: &Path, known: &BTreeSet<String>) -> Result<Option<PathBuf>, OutputError> {
    for entry in walkdir::WalkDir::new(dir).min_depth(1).sort_by_file_name() {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(dir).to_path_buf();
            OutputError::Io { path, source: e.into() }
        })?;
        let rel = relative(dir, entry.path());
        let t = entry.file_type();
        let part = if t.is_file() {
            known.contains(&rel)
        } else if t.is_dir() {
            let prefix = format!("{rel}/");
            known.range(prefix.clone()..).next().is_some_and(|k| k.starts_with(&prefix))
        } else {
            false
        };
        if !part {
            return Ok(Some(entry.into_path()));
        }
    }
    Ok(None)
}

/// The files a package folder consists of, when it is one of ours: those its manifest lists
/// plus the ones a manifest cannot list (itself, the report, `SHA256SUMS`, signatures, an
/// archive receipt, the renewals `timestamp` added).
fn package_files(dir: &Path) -> Option<BTreeSet<String>> {
    let mut known: BTreeSet<String> = read_manifest(dir)?.files.into_iter().map(|f| f.path).collect();
    known.extend(package_files_without_manifest(dir));
    Some(known)
}

/// Removes the files of `dir` that are in `known`, then the folders left empty, then
/// `manifest.json` (so a copy half removed by a killed run can still be checked against it),
/// then our marker and `dir`. Whatever else is there is kept — and then so is the folder,
/// without our marker, so no later run removes it. Returns what was kept.
fn remove_known(dir: &Path, known: &BTreeSet<String>) -> Vec<PathBuf> {
    let mut kept = Vec::new();
    for entry in walkdir::WalkDir::new(dir).min_depth(1).contents_first(true) {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                kept.push(e.path().unwrap_or(dir).to_path_buf());
                continue;
            }
        };
        let rel = relative(dir, entry.path());
        let t = entry.file_type();
        if (rel == MARKER || rel == "manifest.json") && t.is_file() {
            continue;
        }
        let removed = if t.is_file() && known.contains(&rel) {
            fs::remove_file(entry.path()).is_ok()
        } else if t.is_dir() {
            // Removed only when empty; one that is not holds something kept below it.
            fs::remove_dir(entry.path()).is_ok() || !kept.is_empty()
        } else {
            false
        };
        if !removed {
            kept.push(entry.into_path());
        }
    }
    let manifest = dir.join("manifest.json");
    if manifest.is_file() && !(known.contains("manifest.json") && fs::remove_file(&manifest).is_ok()) {
        kept.push(manifest);
    }
    let _ = fs::remove_file(dir.join(MARKER));
    if kept.is_empty()
        && let Err(e) = fs::remove_dir(dir)
    {
        tracing::warn!("cannot remove {}: {e}", dir.display());
        kept.push(dir.to_path_buf());
    }
    kept
}

/// Once the manifest is gone every file it listed was already removed: only the late files
/// may be left — and the renewals `timestamp` wrote: a renewal's files count as ours only
/// when its JSON is a renewal (a user's file that merely has such a name is kept).
fn package_files_without_manifest(dir: &Path) -> BTreeSet<String> {
    let mut known: BTreeSet<String> = layout::late_names(|_| true).map(str::to_owned).collect();
    let Ok(entries) = fs::read_dir(dir.join(layout::TIMESTAMPS_DIR)) else { return known };
    let names = entries.flatten().map(|e| format!("{}/{}", layout::TIMESTAMPS_DIR, e.file_name().to_string_lossy()));
    known.extend(names.filter(|p| {
        layout::parse_renewal_path(p).is_some_and(|(seq, _)| {
            let json = dir.join(layout::renewal_path(seq, layout::RenewalPart::Covers));
            fs::read(json).is_ok_and(|b| crate::package::renewal::Renewal::from_slice(&b).is_ok())
        })
    }));
    known
}

/// Removes the stale work folders of ours in `parent` (see the module docs); returns them.
fn sweep(parent: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(parent) else { return Vec::new() };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !(is_work_name(name) || has_tag(name, ".old-")) || !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let path = entry.path();
        if !Marker::read(&path).is_some_and(|m| m.is_stale()) {
            continue;
        }
        // A replaced package being removed: only its own files (see `remove_known`).
        if has_tag(name, ".old-") {
            let known = package_files(&path).unwrap_or_else(|| package_files_without_manifest(&path));
            if remove_known(&path, &known).is_empty() {
                removed.push(path);
            }
            continue;
        }
        match remove_all(&path) {
            Ok(()) => removed.push(path),
            Err(e) => tracing::warn!("cannot remove the stale work folder {}: {e}", path.display()),
        }
    }
    removed.sort();
    removed
}

/// Who made a work folder: enough to tell later whether that process is gone.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Marker {
    host: String,
    /// The kernel's boot id (Linux), so a folder from before a reboot is known stale.
    boot: Option<String>,
    pid: u32,
    /// The process start time (clock ticks since boot, Linux), so a reused pid is told apart.
    start: Option<u64>,
}

impl Marker {
    fn current() -> Marker {
        let pid = std::process::id();
        Marker { host: sys::host(), boot: sys::boot_id(), pid, start: sys::start_time(pid) }
    }

    fn render(&self) -> String {
        format!(
            "{MARKER_MAGIC}\nhost={}\nboot={}\npid={}\nstart={}\n",
            self.host,
            self.boot.as_deref().unwrap_or(""),
            self.pid,
            self.start.map(|s| s.to_string()).unwrap_or_default()
        )
    }

    fn parse(text: &str) -> Option<Marker> {
        let mut lines = text.lines();
        if lines.next()? != MARKER_MAGIC {
            return None;
        }
        let (mut host, mut boot, mut pid, mut start) = (None, None, None, None);
        for line in lines {
            let (key, value) = line.split_once('=')?;
            match key {
                "host" => host = Some(value.to_owned()),
                "boot" => boot = (!value.is_empty()).then(|| value.to_owned()),
                "pid" => pid = Some(value.parse().ok()?),
                "start" => start = value.parse().ok(),
                _ => {}
            }
        }
        Some(Marker { host: host?, boot, pid: pid?, start })
    }

    fn read(dir: &Path) -> Option<Marker> {
        let path = dir.join(MARKER);
        let meta = fs::symlink_metadata(&path).ok()?;
        if !meta.is_file() || meta.len() > 4096 {
            return None;
        }
        Marker::parse(&fs::read_to_string(path).ok()?)
    }

    /// Whether the run that wrote this marker is provably gone.
    fn is_stale(&self) -> bool {
        if self.host != sys::host() {
            return false; // another machine's run (a shared file system): it cannot be checked from here
        }
        if let (Some(then), Some(now)) = (&self.boot, sys::boot_id())
            && *then != now
        {
            return true;
        }
        match sys::process(self.pid) {
            sys::Process::Gone => true,
            sys::Process::Running { start: Some(now) } => self.start.is_some_and(|then| then != now),
            sys::Process::Running { start: None } | sys::Process::Unknown => false,
        }
    }
}

/// What is known of a process id.
enum Process {
    /// A process with this id runs (its start time when known).
    Running { start: Option<u64> },
    /// No process has this id, or only a zombie.
    Gone,
    /// Cannot tell.
    Unknown,
}

/// Process facts and signals: Unix (with the Linux `/proc` facts when there).
#[cfg(unix)]
mod sys {
    use std::io;

    pub(super) use super::Process;

    /// The kernel's host name (Linux `/proc`), else `$HOSTNAME`, else empty: two runs on
    /// machines where neither is known compare equal, and [`process`] then cannot tell.
    pub(super) fn host() -> String {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .or_else(|| std::env::var("HOSTNAME").ok())
            .unwrap_or_default()
    }

    pub(super) fn boot_id() -> Option<String> {
        let id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
        Some(id.trim().to_owned()).filter(|s| !s.is_empty())
    }

    /// State and start time from `/proc/<pid>/stat` (fields 3 and 22).
    fn stat(pid: u32) -> Option<(char, u64)> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let mut fields = text[text.rfind(')')? + 1..].split_whitespace();
        let state = fields.next()?.chars().next()?;
        let start = fields.nth(18)?.parse().ok()?;
        Some((state, start))
    }

    pub(super) fn start_time(pid: u32) -> Option<u64> {
        stat(pid).map(|(_, start)| start)
    }

    /// From `/proc/<pid>/stat`: gone when it is missing or a zombie. Without a `/proc` that
    /// shows every process (not Linux, or mounted with `hidepid`, which hides other users'
    /// processes: `/proc/1` is then missing too) nothing can be told, so nothing is removed.
    pub(super) fn process(pid: u32) -> Process {
        // 0 and 1 address groups or init: never a run of ours to judge.
        if pid <= 1 || !std::path::Path::new("/proc/1/stat").exists() {
            return Process::Unknown;
        }
        match stat(pid) {
            Some(('Z' | 'X', _)) => Process::Gone,
            Some((_, start)) => Process::Running { start: Some(start) },
            None => match std::fs::symlink_metadata(format!("/proc/{pid}")) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => Process::Gone,
                Err(_) => Process::Unknown,
                Ok(_) => Process::Running { start: None },
            },
        }
    }

    pub(super) fn on_signals(handle: fn(i32, &str)) -> io::Result<()> {
        use signal_hook::consts::{SIGINT, SIGTERM};
        static INSTALLED: std::sync::Mutex<bool> = std::sync::Mutex::new(false);
        let mut installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
        if *installed {
            return Ok(());
        }
        let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
        std::thread::Builder::new().name("signals".into()).spawn(move || {
            if let Some(signal) = signals.forever().next() {
                handle(signal, if signal == SIGINT { "SIGINT" } else { "SIGTERM" });
            }
        })?;
        *installed = true;
        Ok(())
    }
}

/// Elsewhere nothing about other processes can be proved, so no stale folder is removed, and
/// interrupted runs leave their (marked) work folders.
#[cfg(not(unix))]
mod sys {
    pub(super) use super::Process;

    pub fn host() -> String {
        std::env::var("COMPUTERNAME").or_else(|_| std::env::var("HOSTNAME")).unwrap_or_default()
    }

    pub fn boot_id() -> Option<String> {
        None
    }

    pub fn start_time(_pid: u32) -> Option<u64> {
        None
    }

    pub fn process(_pid: u32) -> Process {
        Process::Unknown
    }

    pub fn on_signals(_handle: fn(i32, &str)) -> std::io::Result<()> {
        Ok(())
    }
}

/// `path` made absolute with symbolic links resolved; a part that does not exist yet is
/// resolved through its nearest existing ancestor and the rest appended (`..` in the rest
/// taken lexically: what it steps out of does not exist, so it is no link).
fn resolve(path: &Path) -> io::Result<PathBuf> {
    let abs = if path.is_absolute() { path.to_path_buf() } else { std::env::current_dir()?.join(path) };
    let mut tail = Vec::new();
    let mut cur = abs.as_path();
    loop {
        match fs::canonicalize(cur) {
            Ok(mut real) => {
                for part in tail.iter().rev() {
                    match part {
                        Component::ParentDir => {
                            real.pop();
                        }
                        Component::Normal(n) => real.push(n),
                        _ => {}
                    }
                }
                return Ok(real);
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let (Some(last), Some(up)) = (cur.components().next_back(), cur.parent()) else { return Err(e) };
                tail.push(last);
                cur = up;
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    /// A minimal package as `build` lays it out.
    fn package(dir: &Path) {
        write(&dir.join("evidence/backup_jobs.csv"), "job_id\n");
        write(&dir.join("artifacts/sha256/ab12"), "raw");
        write(&dir.join("artifacts.csv"), "sha256\n");
        let manifest = serde_json::json!({
            "format": "dora-evidence-package/0.2",
            "tool": {"name": "dora-evidence", "version": "0.1.0"},
            "files": [
                {"path": "artifacts.csv", "size": 7, "sha256": "x"},
                {"path": "artifacts/sha256/ab12", "size": 3, "sha256": "ab12"},
                {"path": "evidence/backup_jobs.csv", "size": 7, "sha256": "y"},
            ],
        });
        write(&dir.join("manifest.json"), &manifest.to_string());
        write(&dir.join("report.pdf"), "%PDF");
        write(&dir.join("SHA256SUMS"), "");
    }

    /// Every file below `dir` with its bytes.
    fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
        walkdir::WalkDir::new(dir)
            .sort_by_file_name()
            .into_iter()
            .map(Result::unwrap)
            .filter(|e| e.file_type().is_file())
            .map(|e| (relative(dir, e.path()), fs::read(e.path()).unwrap()))
            .collect()
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> =
            fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    }

    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    #[test]
    fn work_names() {
        for ok in [".pkg.partial-Ab3xY9", ".a.b.partial-1", ".dora-evidence-spill-zz9", ".dora-evidence-fetch-Q"] {
            assert!(is_work_name(ok), "{ok}");
        }
        let not_ours = ["pkg.partial-abc", "..partial-abc", ".pkg.partial-", ".pkg.partial-a_b"];
        for no in not_ours.into_iter().chain([".dora-evidence-spill-", ".dora-evidence-fetch-x!", "x"]) {
            assert!(!is_work_name(no), "{no}");
        }
        assert!(has_tag(".pkg.old-AbC123", ".old-") && !has_tag(".pkg.old-", ".old-"));
    }

    #[test]
    fn recognises_packages_and_work_folders_only() {
        let tmp = tempfile::tempdir().unwrap();
        let pkg = tmp.path().join("pkg");
        package(&pkg);
        assert_eq!(recognise(&pkg), Some(Ours::Package));
        // Another tool's manifest, or none, is not ours.
        let other = tmp.path().join("other");
        write(&other.join("manifest.json"), r#"{"format":"x","tool":{"name":"something"},"files":[]}"#);
        assert_eq!(recognise(&other), None);
        let fake = tmp.path().join("fake");
        let manifest = r#"{"format":"dora-evidence-package/0.2","tool":{"name":"other"},"files":[]}"#;
        write(&fake.join("manifest.json"), manifest);
        assert_eq!(recognise(&fake), None);
        assert_eq!(recognise(tmp.path()), None);
        assert_eq!(recognise(&tmp.path().join(".pkg.partial-abc123")), Some(Ours::WorkFolder));
        let marked = tmp.path().join("marked");
        fs::create_dir(&marked).unwrap();
        write_marker(&marked).unwrap();
        assert_eq!(recognise(&marked), Some(Ours::WorkFolder));
        // A marker file that is not ours does not make a work folder.
        let stray = tmp.path().join("stray");
        write(&stray.join(MARKER), "hello\n");
        assert_eq!(recognise(&stray), None);
    }

    #[test]
    fn resolves_missing_tails_and_links() {
        let tmp = tempfile::tempdir().unwrap();
        let real = fs::canonicalize(tmp.path()).unwrap();
        assert_eq!(resolve(&tmp.path().join("a/b/../c")).unwrap(), real.join("a/c"));
        assert_eq!(resolve(&tmp.path().join("a/./b")).unwrap(), real.join("a/b"));
        #[cfg(unix)]
        {
            fs::create_dir(real.join("in")).unwrap();
            std::os::unix::fs::symlink(real.join("in"), real.join("link")).unwrap();
            assert_eq!(resolve(&real.join("link/new/pkg")).unwrap(), real.join("in/new/pkg"));
        }
    }

    #[test]
    fn out_must_be_absent_empty_or_with_force_a_package() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(Workspace::prepare(&tmp.path().join("new"), &[], false).is_ok());
        let empty = tmp.path().join("empty");
        fs::create_dir(&empty).unwrap();
        assert!(Workspace::prepare(&empty, &[], false).is_ok());

        let user = tmp.path().join("user");
        write(&user.join("notes.txt"), "mine");
        let e = Workspace::prepare(&user, &[], false).unwrap_err();
        assert!(matches!(e, OutputError::NotEmpty(_)), "{e}");
        assert!(e.to_string().contains("--force"), "{e}");
        let e = Workspace::prepare(&user, &[], true).unwrap_err();
        assert!(matches!(e, OutputError::NotAPackage(_)), "{e}");
        assert_eq!(tree(&user), vec![("notes.txt".to_owned(), b"mine".to_vec())]);

        let file = tmp.path().join("file");
        write(&file, "x");
        assert!(matches!(Workspace::prepare(&file, &[], true), Err(OutputError::NotAFolder(_))));

        let pkg = tmp.path().join("pkg");
        package(&pkg);
        assert!(matches!(Workspace::prepare(&pkg, &[], false), Err(OutputError::NotEmpty(_))));
        assert!(Workspace::prepare(&pkg, &[], true).is_ok());
        // One user file anywhere in it, or a folder or link the package does not have: refused, named.
        for extra in ["evidence/mine.csv", "notes.txt", "artifacts/sha256/extra/x"] {
            let p = tmp.path().join(format!("pkg-{}", extra.replace('/', "-")));
            package(&p);
            write(&p.join(extra), "user data");
            let before = tree(&p);
            let e = Workspace::prepare(&p, &[], true).unwrap_err();
            let OutputError::Foreign { file, .. } = &e else { panic!("{e}") };
            assert!(fs::canonicalize(&p).unwrap().join(extra).starts_with(file), "{file:?} for {extra}");
            assert!(e.to_string().contains(&file.display().to_string()), "{e}");
            assert_eq!(tree(&p), before);
        }
        #[cfg(unix)]
        {
            let p = tmp.path().join("pkg-link");
            package(&p);
            std::os::unix::fs::symlink(tmp.path(), p.join("evidence/link")).unwrap();
            assert!(matches!(Workspace::prepare(&p, &[], true), Err(OutputError::Foreign { .. })));
            std::os::unix::fs::symlink(&pkg, tmp.path().join("out-link")).unwrap();
            let link = tmp.path().join("out-link");
            assert!(matches!(Workspace::prepare(&link, &[], true), Err(OutputError::Symlink(_))));
        }
        assert!(matches!(Workspace::prepare(Path::new("/"), &[], true), Err(OutputError::NoName(_))));
    }

    #[test]
    fn out_equal_inside_or_containing_an_input_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let input = tmp.path().join("in");
        write(&input.join("a.json"), "{}");
        let inputs = [input.clone()];
        let how = |out: &Path| match Workspace::prepare(out, &inputs, true) {
            Err(OutputError::Overlap { how, .. }) => how,
            other => panic!("{other:?}"),
        };
        assert_eq!(how(&input), "is the same path as");
        assert_eq!(how(&input.join("pkg")), "is inside");
        assert_eq!(how(&input.join("new/../deeper/pkg")), "is inside");
        assert_eq!(how(tmp.path()), "contains");
        assert!(Workspace::prepare(&tmp.path().join("in2"), &inputs, false).is_ok(), "a sibling with a common prefix");
        #[cfg(unix)]
        {
            // Through a link to the input, and an input given through a link.
            std::os::unix::fs::symlink(&input, tmp.path().join("link")).unwrap();
            assert_eq!(how(&tmp.path().join("link/pkg")), "is inside");
            let linked = [tmp.path().join("link")];
            assert!(matches!(
                Workspace::prepare(&input.join("pkg"), &linked, false),
                Err(OutputError::Overlap { how: "is inside", .. })
            ));
        }
        assert_eq!(tree(&input), vec![("a.json".to_owned(), b"{}".to_vec())]);
    }

    #[test]
    fn markers_prove_only_dead_local_processes_stale() {
        let me = Marker::current();
        assert_eq!(Marker::parse(&me.render()), Some(me.clone()));
        assert!(!me.is_stale(), "this very process");
        assert!(Marker::parse("not ours\npid=1\n").is_none());
        assert!(Marker::parse(&me.render().replace("pid=", "pid=x")).is_none());
        #[cfg(target_os = "linux")]
        {
            assert!(Marker { pid: dead_pid(), ..me.clone() }.is_stale(), "a dead pid");
            assert!(!Marker { pid: dead_pid(), host: format!("{}-elsewhere", me.host), ..me.clone() }.is_stale());
            assert!(Marker { start: me.start.map(|s| s + 1), ..me.clone() }.is_stale(), "the pid was reused");
            assert!(Marker { boot: Some("another-boot".into()), ..me.clone() }.is_stale(), "before a reboot");
            assert!(!Marker { pid: 1, start: None, ..me.clone() }.is_stale(), "init is never judged");
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn sweep_removes_only_stale_folders_with_our_marker() {
        let tmp = tempfile::tempdir().unwrap();
        let stale = Marker { pid: dead_pid(), ..Marker::current() };
        let mk = |name: &str, marker: Option<&Marker>| {
            let dir = tmp.path().join(name);
            write(&dir.join("package/artifacts.csv"), "x");
            if let Some(m) = marker {
                write(&dir.join(MARKER), &m.render());
            }
            dir
        };
        let dead = mk(".pkg.partial-aaaaaa", Some(&stale));
        let dead_spill = mk(".dora-evidence-spill-bbbbbb", Some(&stale));
        // A replaced package a killed run was removing: a stale copy with its manifest is
        // removed, one whose manifest is gone only if nothing but late files is left.
        let dead_old = tmp.path().join(".pkg.old-cccccc");
        package(&dead_old);
        write(&dead_old.join(MARKER), &stale.render());
        let dead_old_rest = tmp.path().join(".pkg.old-gggggg");
        write(&dead_old_rest.join("SHA256SUMS"), "");
        write(&dead_old_rest.join(MARKER), &stale.render());
        let old_with_more = mk(".pkg.old-hhhhhh", Some(&stale));
        let unmarked = mk(".pkg.partial-dddddd", None);
        let alive = mk(".pkg.partial-eeeeee", Some(&Marker::current()));
        let odd_name = mk("pkg.partial-ffffff", Some(&stale));
        let removed = sweep(tmp.path());
        assert_eq!(removed, vec![dead_spill.clone(), dead_old.clone(), dead_old_rest.clone(), dead.clone()]);
        for gone in [dead, dead_spill, dead_old, dead_old_rest] {
            assert!(!gone.exists(), "{gone:?}");
        }
        for kept in [&unmarked, &alive, &odd_name] {
            assert_eq!(tree(kept).len(), if kept.join(MARKER).exists() { 2 } else { 1 }, "{kept:?}");
        }
        assert!(alive.join(MARKER).exists() && odd_name.join(MARKER).exists());
        // What is not a package file is kept, and loses our marker so no run ever removes it.
        assert_eq!(tree(&old_with_more), vec![("package/artifacts.csv".to_owned(), b"x".to_vec())]);
    }

    #[test]
    fn work_dirs_are_marked_and_removed_when_dropped() {
        let tmp = tempfile::tempdir().unwrap();
        let ws = Workspace::prepare(&tmp.path().join("pkg"), &[], false).unwrap();
        let staging = ws.work_dir(WorkKind::Staging).unwrap();
        let spill = ws.work_dir(WorkKind::Spill).unwrap();
        let root = staging.path().parent().unwrap().to_path_buf();
        assert!(root.file_name().unwrap().to_str().unwrap().starts_with(".pkg.partial-"));
        assert_eq!(Marker::read(&root), Some(Marker::current()));
        assert!(live().contains(&root));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(&root).unwrap().permissions().mode() & 0o777, 0o700);
        }
        assert_eq!(recognise(&root), Some(Ours::WorkFolder));
        write(&spill.path().join("w0-1"), "run");
        drop(spill);
        drop(staging);
        assert!(!live().contains(&root));
        assert!(names(tmp.path()).is_empty(), "{:?}", names(tmp.path()));
    }

    #[test]
    fn commit_places_the_package_and_removes_only_an_old_packages_files() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("pkg");
        // Into an absent folder; the marker stays out of the package.
        let ws = Workspace::prepare(&out, &[], false).unwrap();
        let staging = ws.work_dir(WorkKind::Staging).unwrap();
        package(staging.path());
        let built = tree(staging.path());
        ws.commit(staging).unwrap();
        assert_eq!(tree(&out), built);
        assert_eq!(names(tmp.path()), ["pkg"]);

        // Over it, with --force: replaced, nothing left beside.
        let ws = Workspace::prepare(&out, &[], true).unwrap();
        let staging = ws.work_dir(WorkKind::Staging).unwrap();
        write(&staging.path().join("manifest.json"), "new");
        ws.commit(staging).unwrap();
        assert_eq!(tree(&out), vec![("manifest.json".to_owned(), b"new".to_vec())]);
        assert_eq!(names(tmp.path()), ["pkg"]);

        // A user's file that appears after the check refuses the commit and survives.
        let out = tmp.path().join("pkg2");
        package(&out);
        let ws = Workspace::prepare(&out, &[], true).unwrap();
        let staging = ws.work_dir(WorkKind::Staging).unwrap();
        write(&out.join("evidence/late.txt"), "mine");
        let before = tree(&out);
        assert!(matches!(ws.commit(staging), Err(OutputError::Foreign { .. })));
        assert_eq!(tree(&out), before);
        assert_eq!(names(tmp.path()), ["pkg", "pkg2"]);
    }

    #[test]
    fn removing_an_old_package_keeps_what_is_not_part_of_it() {
        let tmp = tempfile::tempdir().unwrap();
        let old = tmp.path().join(".pkg.old-abcdef");
        package(&old);
        write_marker(&old).unwrap();
        write(&old.join("evidence/mine.csv"), "user");
        let known: BTreeSet<String> =
            ["artifacts.csv", "artifacts/sha256/ab12", "evidence/backup_jobs.csv", "manifest.json", "report.pdf"]
                .map(String::from)
                .into();
        let kept = remove_known(&old, &known);
        assert_eq!(kept, vec![old.join("SHA256SUMS"), old.join("evidence/mine.csv")]);
        // What is kept is kept in a folder without our marker, so no later run removes it.
        assert_eq!(fs::read_to_string(old.join("evidence/mine.csv")).unwrap(), "user");
        assert!(!old.join(MARKER).exists());
        assert!(!old.join("artifacts").exists() && !old.join("manifest.json").exists());
        #[cfg(target_os = "linux")]
        {
            write(&old.join(MARKER), &Marker { pid: dead_pid(), ..Marker::current() }.render());
            assert!(sweep(tmp.path()).is_empty(), "SHA256SUMS is a late file but mine.csv is not ours");
            assert_eq!(fs::read_to_string(old.join("evidence/mine.csv")).unwrap(), "user");
            assert!(!old.join(MARKER).exists());
        }
    }
}
