//! Sources: where raw artifacts come from.
//!
//! A source is a local folder (or a single file), walked recursively in a stable order, or an
//! S3 prefix ([`s3`]), downloaded first. Every regular file is listed — nothing is skipped by
//! name, since the package must account for every byte it was given — except what this tool
//! wrote itself (DESIGN §8): a dora-evidence package or a build's work folder found in an input
//! is not evidence, so it is skipped whole and named in [`Listing::skipped`] (see
//! [`crate::output::recognise`]). S3 keys are only left out by date, outside the period's
//! window. AWS API snapshots come later through the same [`SourceFile`] shape.

pub(crate) mod s3;

use std::io;
use std::path::{Path, PathBuf};

/// A file to read, with its origin as the package will record it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SourceFile {
    /// Origin string recorded in `artifacts.csv` (the input path as given, joined with the
    /// file's path below it).
    pub origin: String,
    /// Path below the input root with `/` separators (for S3 files: the full key). Layout hints
    /// come from [`crate::ingest::PathHint::for_file`], which also reads the origin, so a time
    /// in the input root or the S3 prefix counts.
    pub relative: String,
    /// Where to read it.
    pub path: PathBuf,
    /// Size when listed.
    pub size: u64,
    /// When it was fetched (downloads); `None`: the file's modification time.
    pub fetched_at: Option<crate::time::Timestamp>,
    /// Its SHA-256 when already known (downloads are hashed while streaming); the file at
    /// `path` is then a private copy the artifact store may take over.
    pub sha256: Option<crate::artifact::Sha256Digest>,
}

/// Errors while listing inputs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The input does not exist or cannot be read.
    #[error("cannot read input {path}")]
    Input {
        /// The input as given.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

/// What the local inputs hold.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    /// Every regular file to read, sorted by origin, without duplicates.
    pub files: Vec<SourceFile>,
    /// Folders left out because this tool wrote them, sorted by path.
    pub skipped: Vec<Skipped>,
    /// Folders reached through a symbolic link below an input: inputs too, as far as output
    /// safety is concerned (an `--out` inside one would be read while it is written).
    pub links: Vec<PathBuf>,
}

/// A folder found in an input and not read: a package or a work folder of ours.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Skipped {
    /// The folder, as origins are written (the input as given, joined with the path below it).
    pub path: String,
    /// What it is.
    pub kind: crate::output::Ours,
}

/// Lists every regular file under each input, sorted by origin, without duplicates, and the
/// folders of ours skipped.
///
/// # Errors
/// When an input or a folder below it cannot be read.
pub fn list_files(inputs: &[PathBuf]) -> Result<Listing, SourceError> {
    let mut listing = Listing::default();
    let files = &mut listing.files;
    for input in inputs {
        let meta = std::fs::metadata(input).map_err(|source| SourceError::Input { path: input.clone(), source })?;
        if meta.is_file() {
            let name = input.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            files.push(SourceFile {
                origin: display(input),
                relative: name,
                path: input.clone(),
                size: meta.len(),
                fetched_at: None,
                sha256: None,
            });
            continue;
        }
        let mut walk = walkdir::WalkDir::new(input).follow_links(true).sort_by_file_name().into_iter();
        while let Some(entry) = walk.next() {
            let entry = entry.map_err(|e| {
                let path = e.path().map(Path::to_path_buf).unwrap_or_else(|| input.clone());
                // A link back to a folder above it: stop with both named, never loop or skip.
                let source = match e.loop_ancestor() {
                    Some(ancestor) => io::Error::other(format!(
                        "symbolic link loop: it leads back to {}, a folder above it; remove the link",
                        ancestor.display()
                    )),
                    None => e.into(),
                };
                SourceError::Input { path, source }
            })?;
            if entry.file_type().is_dir() {
                if let Some(kind) = crate::output::recognise(entry.path()) {
                    listing.skipped.push(Skipped { path: display(entry.path()), kind });
                    walk.skip_current_dir();
                } else if entry.path_is_symlink() {
                    listing.links.push(entry.path().to_path_buf());
                }
                continue;
            }
            if !entry.file_type().is_file() {
                continue;
            }
            let relative = crate::package::layout::relative_path(input, entry.path());
            let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
            let origin = display(entry.path());
            // Trimmed: the walker's path keeps the spare room of its growth, and the listing
            // lives through the read phase (BENCHMARKS.md: 144 000 files).
            let mut path = entry.into_path();
            path.shrink_to_fit();
            files.push(SourceFile { origin, relative, path, size, fetched_at: None, sha256: None });
        }
    }
    files.sort();
    files.dedup_by(|a, b| a.origin == b.origin);
    files.shrink_to_fit(); // an organisation's store lists 100 000s of files
    listing.skipped.sort();
    listing.skipped.dedup();
    Ok(listing)
}

fn display(p: &Path) -> String {
    p.to_string_lossy().replace('\\', "/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_recursively_in_stable_order() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("b/c")).unwrap();
        std::fs::write(dir.path().join("b/c/z.json"), "{}").unwrap();
        std::fs::write(dir.path().join("a.csv"), "x").unwrap();
        std::fs::write(dir.path().join(".hidden"), "").unwrap();
        let files = list_files(&[dir.path().to_path_buf()]).unwrap().files;
        let rel: Vec<_> = files.iter().map(|f| f.relative.as_str()).collect();
        assert_eq!(rel, [".hidden", "a.csv", "b/c/z.json"]);
        assert!(list_files(&[dir.path().join("missing")]).is_err());
    }

    #[test]
    fn skips_and_names_packages_and_work_folders_of_ours() {
        use crate::output::Ours;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("old/pkg/evidence")).unwrap();
        let manifest = r#"{"format":"dora-evidence-package/0.2","tool":{"name":"dora-evidence"},"files":[]}"#;
        std::fs::write(root.join("old/pkg/manifest.json"), manifest).unwrap();
        std::fs::write(root.join("old/pkg/evidence/backup_jobs.csv"), "job_id\n").unwrap();
        std::fs::create_dir_all(root.join(".out.partial-Ab12Cd/package")).unwrap();
        std::fs::write(root.join(".out.partial-Ab12Cd/package/artifacts.csv"), "x").unwrap();
        std::fs::create_dir_all(root.join(".dora-evidence-spill-xyz123")).unwrap();
        std::fs::write(root.join(".dora-evidence-spill-xyz123/w0-1"), "x").unwrap();
        // Someone else's manifest.json is evidence like any file.
        std::fs::create_dir_all(root.join("other")).unwrap();
        std::fs::write(root.join("other/manifest.json"), r#"{"tool":{"name":"x"}}"#).unwrap();
        std::fs::write(root.join("a.csv"), "x").unwrap();
        let listing = list_files(&[root.to_path_buf()]).unwrap();
        let rel: Vec<_> = listing.files.iter().map(|f| f.relative.as_str()).collect();
        assert_eq!(rel, ["a.csv", "other/manifest.json"]);
        let root_text = display(root);
        let skipped: Vec<_> =
            listing.skipped.iter().map(|s| (s.path.strip_prefix(&root_text).unwrap(), s.kind)).collect();
        assert_eq!(
            skipped,
            [
                ("/.dora-evidence-spill-xyz123", Ours::WorkFolder),
                ("/.out.partial-Ab12Cd", Ours::WorkFolder),
                ("/old/pkg", Ours::Package)
            ]
        );
        // An input that is a package itself is skipped whole.
        let listing = list_files(&[root.join("old/pkg")]).unwrap();
        assert!(listing.files.is_empty());
        assert_eq!(listing.skipped.len(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn reports_folders_reached_through_links() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("in")).unwrap();
        std::fs::create_dir_all(dir.path().join("elsewhere")).unwrap();
        std::fs::write(dir.path().join("elsewhere/x.json"), "{}").unwrap();
        std::os::unix::fs::symlink(dir.path().join("elsewhere"), dir.path().join("in/link")).unwrap();
        let listing = list_files(&[dir.path().join("in")]).unwrap();
        assert_eq!(listing.files.len(), 1);
        assert_eq!(listing.links, [dir.path().join("in/link")]);
    }
}
