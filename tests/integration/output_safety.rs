//! Output safety (DESIGN §8, issue 12): `build` never destroys anything it did not create.
//! `--force` replaces only a dora-evidence package and nothing else; an `--out` that is, is
//! inside or contains an input is refused; a package inside an input is skipped and named;
//! SIGINT/SIGTERM remove the work folders, and a later run removes stale ones only with proof.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use super::util::{bin, build_q3, fixture, read_csv, run, stderr};

fn build(input: &Path, out: &Path, extra: &[&str]) -> Output {
    build_q3(input, out, &[&["--generated-at", "2026-10-05T08:00:00Z"], extra].concat())
}

/// Every entry below `dir` (folders as `/`-ended names, files with their bytes, links with
/// their targets), to compare byte for byte.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .map(Result::unwrap)
        .map(|e| {
            let rel = e.path().strip_prefix(dir).unwrap().to_string_lossy().replace('\\', "/");
            let t = e.file_type();
            if t.is_dir() {
                (format!("{rel}/"), Vec::new())
            } else if t.is_symlink() {
                (format!("{rel} ->"), std::fs::read_link(e.path()).unwrap().to_string_lossy().as_bytes().to_vec())
            } else {
                (rel, std::fs::read(e.path()).unwrap())
            }
        })
        .collect()
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

fn copy_tree(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from) {
        let e = e.unwrap();
        let dest = to.join(e.path().strip_prefix(from).unwrap());
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}

/// A folder the user owns, with text, binary and nested files.
fn user_folder(dir: &Path) {
    std::fs::create_dir_all(dir.join("sub/deeper")).unwrap();
    std::fs::write(dir.join("notes.txt"), "my notes\n").unwrap();
    std::fs::write(dir.join("sub/deeper/data.bin"), [0u8, 159, 146, 150, 255, 10]).unwrap();
    std::fs::write(dir.join(".hidden"), "").unwrap();
}

#[test]
fn force_never_replaces_a_folder_that_is_not_a_package() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    user_folder(&out);
    // A manifest of another tool does not make it a package.
    std::fs::write(out.join("manifest.json"), r#"{"tool": {"name": "something-else"}, "files": []}"#).unwrap();
    let before = snapshot(&out);
    let o = build(&fixture("api"), &out, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--force"), "{}", stderr(&o));
    let o = build(&fixture("api"), &out, &["--force"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("not a dora-evidence package") && err.contains("nothing was deleted"), "{err}");
    assert!(err.contains(out.file_name().unwrap().to_str().unwrap()), "names the folder: {err}");
    assert_eq!(snapshot(&out), before, "the folder survives byte for byte");
    assert_eq!(names(tmp.path()), ["out"], "no work folder left beside it");
}

#[test]
fn force_keeps_a_package_that_holds_a_users_file() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("pkg");
    let o = build(&fixture("api"), &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    std::fs::write(out.join("evidence/my-notes.txt"), "added by hand").unwrap();
    let before = snapshot(&out);
    let o = build(&fixture("api"), &out, &["--force"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("my-notes.txt") && err.contains("not part of its dora-evidence package"), "{err}");
    assert_eq!(snapshot(&out), before, "the package and the user's file survive byte for byte");
    assert_eq!(names(tmp.path()), ["pkg"]);

    // Without it, --force replaces the package: nothing of the old one is left anywhere.
    std::fs::remove_file(out.join("evidence/my-notes.txt")).unwrap();
    let o = build(&fixture("reports"), &out, &["--force"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(names(tmp.path()), ["pkg"]);
    let (h, rows) = read_csv(&out.join("artifacts.csv"));
    let origin = h.iter().position(|c| c == "origin").unwrap();
    assert!(rows.iter().all(|r| r[origin].contains("fixtures/reports")), "the new package's artifacts only");
    let o = run(&["verify", out.to_str().unwrap(), "--allow-unsigned"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", super::util::stdout(&o), stderr(&o));
}

#[test]
fn out_equal_to_inside_or_containing_an_input_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    copy_tree(&fixture("api"), &input);
    #[cfg(unix)]
    std::os::unix::fs::symlink(&input, tmp.path().join("link")).unwrap();
    let input_before = snapshot(&input);
    let beside_before = names(tmp.path());
    let mut cases: Vec<(PathBuf, PathBuf, &str)> = vec![
        (input.clone(), input.clone(), "is the same path as"),
        (input.clone(), input.join("pkg"), "is inside"),
        (input.clone(), input.join("new/../pkg"), "is inside"),
        (input.join("list-legal-holds"), input.clone(), "contains"),
        (input.join("list-legal-holds"), tmp.path().to_path_buf(), "contains"),
    ];
    #[cfg(unix)]
    cases.extend([
        // Links do not hide the overlap, on either side.
        (input.clone(), tmp.path().join("link/pkg"), "is inside"),
        (tmp.path().join("link"), input.join("pkg"), "is inside"),
    ]);
    for (inp, out, how) in &cases {
        for force in [false, true] {
            let extra: &[&str] = if force { &["--force"] } else { &[] };
            let o = build(inp, out, extra);
            let err = stderr(&o);
            assert_eq!(o.status.code(), Some(2), "{inp:?} {out:?}: {err}");
            assert!(err.contains(how) && err.contains("write the package outside every input"), "{err}");
            assert_eq!(snapshot(&input), input_before, "{inp:?} {out:?}: the input is untouched");
            assert_eq!(names(tmp.path()), beside_before, "{inp:?} {out:?}: nothing written beside");
        }
    }
    // A link below an input to the folder --out goes in is refused too.
    #[cfg(unix)]
    {
        let other = tmp.path().join("other-in");
        copy_tree(&fixture("api/list-legal-holds"), &other);
        std::fs::create_dir(tmp.path().join("outs")).unwrap();
        std::os::unix::fs::symlink(tmp.path().join("outs"), other.join("outs-link")).unwrap();
        let o = build(&other, &tmp.path().join("outs/pkg"), &[]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains("outs-link"), "{}", stderr(&o));
        assert!(names(&tmp.path().join("outs")).is_empty());
    }
}

#[test]
fn a_package_inside_an_input_is_skipped_and_named() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    copy_tree(&fixture("api"), &input.join("api"));
    // An earlier package left in the input folder, and a work folder of a run.
    let o = build(&fixture("reports"), &input.join("old-package"), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let work = input.join("api/.pkg.partial-Ab12Cd");
    std::fs::create_dir_all(work.join("package")).unwrap();
    std::fs::write(work.join("package/copy.json"), std::fs::read(fixture("api/list-legal-holds/page-1.json")).unwrap())
        .unwrap();
    let before = snapshot(&input);
    let out = tmp.path().join("pkg");
    let o = build(&input, &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    let old = input.join("old-package");
    assert!(err.contains(&format!("skipped {}: a dora-evidence package, not evidence", old.display())), "{err}");
    assert!(err.contains(&format!("skipped {}: a dora-evidence work folder, not evidence", work.display())), "{err}");
    assert_eq!(snapshot(&input), before, "skipped, not touched");

    let (h, rows) = read_csv(&out.join("artifacts.csv"));
    let origin = h.iter().position(|c| c == "origin").unwrap();
    let api_files = walkdir::WalkDir::new(fixture("api")).into_iter().map(Result::unwrap);
    assert_eq!(rows.len(), api_files.filter(|e| e.file_type().is_file()).count(), "exactly the evidence files");
    for r in &rows {
        assert!(!r[origin].contains("old-package") && !r[origin].contains(".partial-"), "{}", r[origin]);
    }
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(
        m["skipped_inputs"],
        serde_json::json!([
            {"path": work.display().to_string(), "kind": "work_folder"},
            {"path": old.display().to_string(), "kind": "package"},
        ])
    );

    // An input that is nothing but a package: no input, and the message says why.
    let o = build(&old, &tmp.path().join("pkg2"), &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("a dora-evidence package, not evidence"), "{}", stderr(&o));
}

/// An archived package under an `--input s3://` prefix is not evidence either: it is skipped
/// (none of its objects downloaded) and named, like a package in a folder.
#[test]
fn a_package_under_an_s3_input_prefix_is_skipped_and_named() {
    use aws_sdk_s3::primitives::ByteStream;
    let endpoint = super::util::moto_endpoint();
    let tmp = tempfile::tempdir().unwrap();
    let old = tmp.path().join("old-package");
    let o = build(&fixture("reports"), &old, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mut uploads: Vec<(String, PathBuf)> = Vec::new();
    for (root, under) in [(fixture("api"), "in/evidence"), (old.clone(), "in/archive/pkg-1")] {
        for e in walkdir::WalkDir::new(&root).into_iter().map(Result::unwrap).filter(|e| e.file_type().is_file()) {
            let rel = e.path().strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
            uploads.push((format!("{under}/{rel}"), e.into_path()));
        }
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let s3 = super::util::moto_s3(&endpoint);
    let bucket = format!("pkg-in-input-{}", std::process::id());
    rt.block_on(async {
        super::util::create_bucket(&s3, &bucket).await;
        for (key, path) in &uploads {
            let body = ByteStream::from_path(path).await.unwrap();
            s3.put_object().bucket(&bucket).key(key).body(body).send().await.unwrap();
        }
    });
    let out = tmp.path().join("pkg");
    let o = super::util::bin_on_moto(&endpoint)
        .args(["build", "--input", &format!("s3://{bucket}/in"), "--period", "2026-Q3", "--allow-partial", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let named = format!("s3://{bucket}/in/archive/pkg-1");
    assert!(stderr(&o).contains(&format!("skipped {named}: a dora-evidence package, not evidence")), "{}", stderr(&o));
    let (h, rows) = read_csv(&out.join("artifacts.csv"));
    let origin = h.iter().position(|c| c == "origin").unwrap();
    assert!(rows.iter().all(|r| r[origin].contains("/in/evidence/")), "only the evidence is read");
    let api_files = walkdir::WalkDir::new(fixture("api")).into_iter().map(Result::unwrap);
    assert_eq!(rows.len(), api_files.filter(|e| e.file_type().is_file()).count());
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["skipped_inputs"], serde_json::json!([{"path": named, "kind": "package"}]));
}

/// The work folder whose name starts with `prefix` a running build has made beside `out`,
/// once its marker is written.
#[cfg(unix)]
fn marked_work_folder(out: &Path, prefix: &str) -> Option<PathBuf> {
    std::fs::read_dir(out.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .find(|p| p.join(".dora-evidence-work").is_file())
}

/// Starts a build of the sample quarter (2 320 files, read on one thread: seconds of work),
/// waits until its work folder is there and marked, then sends `signal`. Returns the exit
/// status and stderr.
#[cfg(unix)]
fn interrupt_build(out: &Path, signal: i32) -> (std::process::ExitStatus, String) {
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    let input = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/input");
    let child = bin()
        .args(["build", "--input", input.to_str().unwrap(), "--period", "2026-Q3", "--threads", "1", "--out"])
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut child = child;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the build ended ({status}) before its work folder was seen");
        }
        // Both folders made and marked (a folder is marked just after it is made: a SIGKILL in
        // between would leave one without proof that it is ours, kept by design).
        let staging = format!(".{}.partial-", out.file_name().unwrap().to_str().unwrap());
        if marked_work_folder(out, &staging).is_some() && marked_work_folder(out, ".dora-evidence-spill-").is_some() {
            break;
        }
        assert!(Instant::now() < deadline, "no work folder appeared beside {out:?}");
        std::thread::sleep(Duration::from_millis(2));
    }
    // SAFETY: signals our own child, which has not been waited for, so its pid is still its own.
    assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
    let o = child.wait_with_output().unwrap();
    (o.status, stderr(&o))
}

#[cfg(unix)]
#[test]
fn sigterm_and_sigint_remove_the_work_folders() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("pkg");
    for (signal, code) in [(libc::SIGTERM, 143), (libc::SIGINT, 130)] {
        let (status, err) = interrupt_build(&out, signal);
        assert_eq!(status.code(), Some(code), "{err}");
        assert!(err.contains("interrupted by SIG"), "{err}");
        assert!(names(tmp.path()).is_empty(), "left behind: {:?}", names(tmp.path()));
    }
}

#[cfg(unix)]
#[test]
fn a_later_run_removes_stale_work_folders_only_with_proof() {
    use std::os::unix::process::ExitStatusExt;
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("pkg");
    let (status, _) = interrupt_build(&out, libc::SIGKILL);
    assert_eq!(status.signal(), Some(libc::SIGKILL));
    let killed = marked_work_folder(&out, ".pkg.partial-").expect("a killed run leaves its marked work folder");
    let killed_spill = marked_work_folder(&out, ".dora-evidence-spill-").expect("and its spill folder");
    assert!(!out.exists());
    // Not ours: no marker, or a marker of a run on another machine (a shared file system).
    let unmarked = tmp.path().join(".pkg.partial-zzzzzz");
    user_folder(&unmarked);
    let elsewhere = tmp.path().join(".pkg.partial-yyyyyy");
    std::fs::create_dir(&elsewhere).unwrap();
    let marker = std::fs::read_to_string(killed.join(".dora-evidence-work")).unwrap();
    assert!(marker.contains("\nhost="), "{marker}");
    let elsewhere_line = |l: &str| if l.starts_with("host=") { "host=elsewhere\n".into() } else { format!("{l}\n") };
    let marker: String = marker.lines().map(elsewhere_line).collect();
    std::fs::write(elsewhere.join(".dora-evidence-work"), &marker).unwrap();
    let (unmarked_before, elsewhere_before) = (snapshot(&unmarked), snapshot(&elsewhere));

    let o = build(&fixture("api"), &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains(&format!("removed {}: a stale work folder", killed.display())), "{err}");
    assert!(err.contains(&format!("removed {}: a stale work folder", killed_spill.display())), "{err}");
    assert!(!killed.exists() && !killed_spill.exists());
    assert_eq!(snapshot(&unmarked), unmarked_before);
    assert_eq!(snapshot(&elsewhere), elsewhere_before);
    assert_eq!(names(tmp.path()), [".pkg.partial-yyyyyy", ".pkg.partial-zzzzzz", "pkg"]);
}

#[test]
fn an_io_error_names_its_place_and_says_its_cause_once() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("a-file");
    std::fs::write(&file, "not a folder").unwrap();
    let o = build(&fixture("api"), &file.join("pkg"), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let line = stderr(&o).lines().find(|l| l.starts_with("error:")).unwrap_or_default().to_owned();
    assert!(line.contains(file.to_str().unwrap()), "names the place: {line}");
    assert_eq!(line.matches("Not a directory").count(), 1, "the cause once: {line}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "not a folder");
}
