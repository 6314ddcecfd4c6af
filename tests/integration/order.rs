//! Order independence: the same inputs laid out differently — input folders under other names
//! and nesting, files created in another order, given to `--input` in another order, read with
//! 1, 2 or 4 threads — give the same package (with `--generated-at` fixed).
//!
//! Each file keeps its path *below* its input folder, since that path is evidence (it gives
//! the account, Region and observation time hints); what changes is everything above it and
//! the order. The manifest also records each file's modification time, so the copies keep the
//! originals' times.
//!
//! With the same folder names, whatever the order and thread count, every file is
//! byte-identical. Under other names, four files legitimately record where the inputs were:
//! `manifest.json` (`inputs`, and the digests of the others), `artifacts.csv` (`origin`, which
//! also orders its rows) and `oscal/assessment-results.json` (each artifact's origin is its
//! resource's title), compared after replacing each input folder with its role (`<api>`,
//! `<reports>`, `<samples>`) and sorting (see [`normalise`]), and `report.pdf` (its appendix
//! lists the origins; it also prints the manifest's SHA-256), which is left out then, as are
//! those four files' lines in `SHA256SUMS`. Every other file must be byte-identical.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::util::{build_q3, files_under, fixture, stderr};

/// (role, folder, files below it): the API snapshots, the report fixtures, and a few files of
/// the sample quarter (a job report, a compliance report, the assessment zip, a note).
fn sources() -> Vec<(&'static str, PathBuf, Vec<String>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let all = files_under;
    let samples = root.join("samples/input");
    let day = "Backup/crossaccount/eu-west-1/2026/08/03";
    let picks = vec![
        format!(
            "{day}/org_backup_jobs/\
             BACKUP_JOB_REPORT_org_backup_jobs_2026-08-02T00:00:00Z_2026-08-03T00:00:00Z.csv"
        ),
        format!(
            "{day}/org_control_compliance/\
             CONTROL_COMPLIANCE_REPORT_org_control_compliance_2026-07-27T00:00:00Z_2026-08-03T00:00:00Z.csv"
        ),
        "audit-manager/nordhafen-dora-q3-2026-38f48bdf.zip".into(),
        "notes.txt".into(),
    ];
    for p in &picks {
        assert!(samples.join(p).is_file(), "{p}");
    }
    vec![
        ("<api>", fixture("api"), all(&fixture("api"))),
        ("<reports>", fixture("reports"), all(&fixture("reports"))),
        ("<samples>", samples, picks),
    ]
}

/// Copies the sources under `root` with folder names and nesting from `names`, files created
/// and `--input` folders listed in an order from `order`; returns the input folders in that
/// order, each with its role.
fn lay_out(root: &Path, names: u64, order: u64) -> Vec<(PathBuf, &'static str)> {
    let _ = std::fs::remove_dir_all(root);
    let (mut names, mut order) = (fastrand::Rng::with_seed(names), fastrand::Rng::with_seed(order));
    let mut inputs = Vec::new();
    for (role, from, mut files) in sources() {
        let mut dir = root.to_path_buf();
        for _ in 0..names.usize(0..3) {
            dir.push(format!("n{}", names.u32(..)));
        }
        dir.push(format!("in-{}", names.u32(..)));
        order.shuffle(&mut files);
        for rel in files {
            let to = dir.join(&rel);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(from.join(&rel), &to).unwrap();
            // The manifest records each file's modification time: keep the original's.
            let mtime = std::fs::metadata(from.join(&rel)).unwrap().modified().unwrap();
            std::fs::File::options().write(true).open(&to).unwrap().set_modified(mtime).unwrap();
        }
        inputs.push((dir, role));
    }
    order.shuffle(&mut inputs);
    inputs
}

/// A package's files by relative path.
type Files = BTreeMap<String, Vec<u8>>;
/// Input folders with their roles.
type Inputs = Vec<(PathBuf, &'static str)>;

fn package_files(dir: &Path) -> Files {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .map(|e| (e.path().strip_prefix(dir).unwrap().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap()))
        .collect()
}

/// The files that record input paths.
const PATH_BEARING: [&str; 4] = ["manifest.json", "artifacts.csv", "report.pdf", "oscal/assessment-results.json"];

/// A path-bearing file with each input folder replaced by its role, in an order that does not
/// depend on the folder names: `artifacts.csv` rows sorted; in `manifest.json` the `inputs`
/// sorted and the digest and size of the other path-bearing files left out; in the OSCAL
/// results the back-matter resources sorted without their UUIDs (artifacts with the same bytes
/// take their UUIDs in origin order; the links go to the first, whatever its origin).
fn normalise(name: &str, bytes: &[u8], inputs: &[(PathBuf, &str)]) -> String {
    let mut text = String::from_utf8(bytes.to_vec()).unwrap();
    for (dir, role) in inputs {
        text = text.replace(&dir.to_string_lossy().into_owned(), role);
    }
    if name == "artifacts.csv" {
        let mut lines: Vec<&str> = text.lines().collect();
        lines[1..].sort_unstable();
        return lines.join("\n");
    }
    if name == "oscal/assessment-results.json" {
        let mut doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        let resources = doc["assessment-results"]["back-matter"]["resources"].as_array_mut().unwrap();
        for r in resources.iter_mut() {
            r.as_object_mut().unwrap().remove("uuid");
        }
        resources.sort_by_key(|r| r.to_string());
        return serde_json::to_string_pretty(&doc).unwrap();
    }
    let mut manifest: serde_json::Value = serde_json::from_str(&text).unwrap();
    manifest["inputs"].as_array_mut().unwrap().sort_by_key(|v| v.to_string());
    for f in manifest["files"].as_array_mut().unwrap() {
        if PATH_BEARING.contains(&f["path"].as_str().unwrap()) {
            f["sha256"] = serde_json::Value::Null;
            f["size"] = serde_json::Value::Null;
        }
    }
    serde_json::to_string_pretty(&manifest).unwrap()
}

#[test]
fn shuffled_layouts_and_thread_counts_give_the_same_package() {
    let tmp = tempfile::tempdir().unwrap();
    let mut differ = Vec::new();
    let mut reference: Option<(Files, Inputs)> = None;
    // (folder-name seed, order seed, threads): four layouts, the first in three orders.
    for (names, order, threads) in [(1u64, 1u64, 1usize), (1, 2, 4), (1, 3, 2), (2, 4, 4), (3, 5, 1), (4, 6, 2)] {
        let inputs = lay_out(&tmp.path().join(format!("p{names}")), names, order);
        let out = tmp.path().join(format!("pkg-{names}-{order}"));
        let mut args: Vec<String> = Vec::new();
        for (dir, _) in &inputs[1..] {
            args.extend(["--input".into(), dir.display().to_string()]);
        }
        args.extend(["--threads".into(), threads.to_string(), "--allow-partial".into()]);
        args.extend(["--generated-at".into(), "2026-10-05T08:00:00Z".into()]);
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = build_q3(&inputs[0].0, &out, &a);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let files = package_files(&out);
        let Some((first, first_inputs)) = &reference else {
            assert!(files.len() > 20, "{:?}", files.keys());
            reference = Some((files, inputs));
            continue;
        };
        let run = format!("layout {names}, order {order}, {threads} threads");
        let names: Vec<&String> = files.keys().collect();
        assert_eq!(names, first.keys().collect::<Vec<_>>(), "{run}: file names");
        let same_paths = {
            let mut a: Vec<_> = inputs.iter().map(|i| &i.0).collect();
            let mut b: Vec<_> = first_inputs.iter().map(|i| &i.0).collect();
            a.sort();
            b.sort();
            a == b
        };
        for (name, bytes) in &files {
            if same_paths || !(PATH_BEARING.contains(&name.as_str()) || name == "SHA256SUMS") {
                if bytes != &first[name] {
                    differ.push(format!("{run}: {name}"));
                }
            } else if name == "SHA256SUMS" {
                assert_eq!(without_path_bearing(bytes), without_path_bearing(&first[name]), "{run}: {name}");
            } else if name != "report.pdf" {
                assert_eq!(
                    normalise(name, bytes, &inputs),
                    normalise(name, &first[name], first_inputs),
                    "{run}: {name} after normalising the input paths"
                );
            }
        }
    }
    assert!(differ.is_empty(), "files that differ: {differ:#?}");
}

/// `SHA256SUMS` without the lines of the path-bearing files (their digests differ with them).
fn without_path_bearing(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec())
        .unwrap()
        .lines()
        .filter(|l| !PATH_BEARING.iter().any(|f| l.ends_with(&format!("  {f}"))))
        .map(|l| format!("{l}\n"))
        .collect()
}
