//! Sources: where raw artifacts come from.
//!
//! A source is a local folder (or a single file), walked recursively in a stable order, or an
//! S3 prefix ([`s3`]), downloaded first. Every regular file is listed — nothing is skipped by
//! name, since the package must account for every byte it was given; S3 keys are only left
//! out by date, outside the period's window. AWS API snapshots come later through the same
//! [`SourceFile`] shape.

pub mod s3;

use std::io;
use std::path::{Path, PathBuf};

/// A file to read, with its origin as the package will record it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SourceFile {
    /// Origin string recorded in `artifacts.csv` (the input path as given, joined with the
    /// file's path below it).
    pub origin: String,
    /// Path below the input root, with `/` separators; used for layout hints
    /// (`collected/<account>/<region>/<timestamp>/…`).
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
    #[error("cannot read input {path}: {source}")]
    Input {
        /// The input as given.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

/// Lists every regular file under each input, sorted by origin, without duplicates.
///
/// # Errors
/// When an input or a folder below it cannot be read.
pub fn list_files(inputs: &[PathBuf]) -> Result<Vec<SourceFile>, SourceError> {
    let mut files = Vec::new();
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
        for entry in walkdir::WalkDir::new(input).follow_links(true).sort_by_file_name() {
            let entry = entry.map_err(|e| {
                let path = e.path().map(Path::to_path_buf).unwrap_or_else(|| input.clone());
                SourceError::Input { path, source: e.into() }
            })?;
            if !entry.file_type().is_file() {
                continue;
            }
            let rel = entry.path().strip_prefix(input).unwrap_or(entry.path());
            let relative = rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
            let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
            files.push(SourceFile {
                origin: display(entry.path()),
                relative,
                path: entry.into_path(),
                size,
                fetched_at: None,
                sha256: None,
            });
        }
    }
    files.sort();
    files.dedup_by(|a, b| a.origin == b.origin);
    Ok(files)
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
        let files = list_files(&[dir.path().to_path_buf()]).unwrap();
        let rel: Vec<_> = files.iter().map(|f| f.relative.as_str()).collect();
        assert_eq!(rel, [".hidden", "a.csv", "b/c/z.json"]);
        assert!(list_files(&[dir.path().join("missing")]).is_err());
    }
}
