//! Folders for trees a test process makes once and shares between its tests (a generated
//! quarter, a built package).
//!
//! A `static` cannot own a `tempfile::TempDir`: statics are never dropped, so the folder stayed
//! in the temporary directory after every run (tens of MB each, gigabytes after a day of test
//! runs). A shared folder is named after its fixture and process instead, and making one
//! removes those of processes that have ended, so at most one per fixture outlives a run.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// An empty folder `<temp>/dora-evidence-tests/<name>-<pid>` for this process.
///
/// # Errors
/// When the folder cannot be made.
pub fn shared_dir(name: &str) -> io::Result<PathBuf> {
    let root = std::env::temp_dir().join("dora-evidence-tests");
    fs::create_dir_all(&root)?;
    sweep(&root);
    let dir = root.join(format!("{name}-{}", std::process::id()));
    if dir.exists() {
        fs::remove_dir_all(&dir)?;
    }
    fs::create_dir(&dir)?;
    Ok(dir)
}

/// Removes the folders of processes that have ended. Only where `/proc` tells which are
/// running; elsewhere nothing is removed.
fn sweep(root: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = fs::read_dir(root) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let pid = name.to_str().and_then(|n| n.rsplit_once('-')).and_then(|(_, p)| p.parse::<u32>().ok());
        if pid.is_some_and(|p| p != std::process::id() && !Path::new(&format!("/proc/{p}")).exists()) {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_folder_is_fresh_and_the_folders_of_ended_processes_go() {
        let dir = shared_dir("scratch-test").unwrap();
        fs::write(dir.join("f"), b"x").unwrap();
        assert_eq!(shared_dir("scratch-test").unwrap(), dir);
        assert!(!dir.join("f").exists(), "made again, empty");
        let root = dir.parent().unwrap();
        // No process has this id (above the kernel's pid limit, 2^22).
        let ended = root.join("scratch-test-4999999");
        let other = root.join("scratch-test-notapid");
        fs::create_dir_all(&ended).unwrap();
        fs::create_dir_all(&other).unwrap();
        shared_dir("scratch-test").unwrap();
        assert!(!ended.exists(), "an ended process's folder is removed");
        assert!(other.exists(), "a folder not named by a process is left alone");
        fs::remove_dir_all(&other).unwrap();
        fs::remove_dir_all(&dir).unwrap();
    }
}
