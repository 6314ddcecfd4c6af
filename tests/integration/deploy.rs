//! Issue 18, item 3: the CloudFormation in `deploy/`. `scripts/deploy_check.py` runs cfn-lint on
//! both templates, checks their IAM policies (no wildcard action, S3 only on the store prefix,
//! exactly README's read-only actions) and creates the stacks and the state machine in moto;
//! here it is run, shown to fail on a template that grants `*` or widens S3, and the command
//! the state machine gives each Fargate task is checked against `dora-evidence collect --help`.
//! `scripts/test.sh` installs cfn-lint; a missing module fails the test.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

use super::util::{moto_endpoint, run, stdout};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `python3 scripts/deploy_check.py <args>` with moto's endpoint.
fn deploy_check(args: &[&str]) -> Output {
    Command::new("python3")
        .arg(root().join("scripts/deploy_check.py"))
        .args(args)
        .env("DORA_TEST_MOTO_ENDPOINT", moto_endpoint())
        .output()
        .unwrap_or_else(|e| panic!("python3 is needed for scripts/deploy_check.py: {e}"))
}

fn shown(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn deploy_templates_pass_cfn_lint_the_iam_checks_and_moto() {
    let o = deploy_check(&[]);
    let out = shown(&o);
    assert!(o.status.success(), "deploy_check.py failed:\n{out}");
    for line in [
        "ok: cfn-lint collector-member-role.yaml: no errors, no warnings",
        "ok: cfn-lint collect-stepfunctions.yaml: no errors, no warnings",
        "ok: both templates grant README's",
        "ok: state machine: definition parses; Distributed Map",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
}

/// The templates in a temporary folder, with `from` replaced by `to` in `file` (once, and it
/// must be there).
fn mutated(file: &str, from: &str, to: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in ["collector-member-role.yaml", "collect-stepfunctions.yaml"] {
        let mut body = std::fs::read_to_string(root().join("deploy").join(name)).unwrap();
        if name == file {
            assert!(body.contains(from), "{from:?} is not in {name}");
            body = body.replacen(from, to, 1);
        }
        std::fs::write(dir.path().join(name), body).unwrap();
    }
    dir
}

#[test]
fn deploy_check_fails_on_a_wildcard_action_or_s3_beyond_the_store_prefix() {
    let cases = [
        (
            "collect-stepfunctions.yaml",
            "                Action: s3:ListBucket\n",
            "                Action: \"*\"\n",
            "wildcard action '*'",
        ),
        ("collector-member-role.yaml", "- backup:ListBackupVaults\n", "- backup:*\n", "wildcard action 'backup:*'"),
        (
            "collect-stepfunctions.yaml",
            "s3:::${StoreBucket}/${StorePrefix}/*\"",
            "s3:::${StoreBucket}/*\"",
            "outside the store prefix",
        ),
        ("collector-member-role.yaml", "                  - backup:GetLegalHold\n", "", "actions differ from README"),
    ];
    for (file, from, to, want) in cases {
        let dir = mutated(file, from, to);
        let o = deploy_check(&["--static-only", "--deploy-dir", dir.path().to_str().unwrap()]);
        let out = shown(&o);
        assert!(!o.status.success(), "{file} with {to:?} passed:\n{out}");
        assert!(out.contains(want), "{file} with {to:?}: expected {want:?} in:\n{out}");
    }
}

/// The `--flags` of the task's command in the central template (the quoted `'--…'` items of
/// the JSONata array built for ContainerOverrides.Command).
fn template_flags() -> BTreeSet<String> {
    let body = std::fs::read_to_string(root().join("deploy/collect-stepfunctions.yaml")).unwrap();
    let at = body.find("Command: >-").expect("the task's Command in collect-stepfunctions.yaml");
    let end = body[at..].find("%}").expect("the end of the Command expression") + at;
    body[at..end].split('\'').filter(|t| t.starts_with("--")).map(str::to_owned).collect()
}

#[test]
fn deploy_task_command_uses_only_flags_collect_knows() {
    let help = stdout(&run(&["collect", "--help"]));
    let known: BTreeSet<String> = help
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|t| t.starts_with("--") && t.len() > 2)
        .map(str::to_owned)
        .collect();
    let used = template_flags();
    for must in ["--out", "--accounts-from", "--shard", "--run-time", "--assume-role-name", "--organization-jobs"] {
        assert!(used.contains(must), "the task command lacks {must}: {used:?}");
    }
    let unknown: Vec<_> = used.difference(&known).collect();
    assert!(unknown.is_empty(), "collect --help does not know {unknown:?}; it knows {known:?}");
}

/// The Dockerfile builds the locked release binary into a non-root distroless runtime, and
/// the build context `.dockerignore` lets through holds every file the source includes at
/// compile time (`include_str!`/`include_bytes!`), and nothing of target/, samples/ or demo-*.
#[test]
fn deploy_dockerfile_context_holds_what_the_build_reads() {
    let body = std::fs::read_to_string(root().join("deploy/Dockerfile")).unwrap();
    for must in [
        "cargo build --release --locked -p dora-evidence",
        "strip --strip-all",
        "FROM gcr.io/distroless/cc-debian12:nonroot",
        "USER nonroot",
        "ENTRYPOINT [\"/dora-evidence\"]",
    ] {
        assert!(body.contains(must), "deploy/Dockerfile lacks {must:?}");
    }
    // An allow-list: `*`, then `!name` for each top-level entry let through.
    let ignore = std::fs::read_to_string(root().join(".dockerignore")).unwrap();
    let rules: Vec<&str> = ignore.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    assert_eq!(rules.first(), Some(&"*"), ".dockerignore must start by excluding everything");
    let allowed: BTreeSet<&str> =
        rules.iter().filter_map(|l| l.strip_prefix('!')).map(|l| l.trim_end_matches('/')).collect();
    for kept_out in ["target", "samples", "tests", "fuzz", "bench", ".git"] {
        assert!(!allowed.contains(kept_out), ".dockerignore lets {kept_out} into the build context");
    }
    // Every COPY source of the build stage is let through.
    for line in body.lines().filter(|l| l.starts_with("COPY ") && !l.contains("--from")) {
        let words: Vec<&str> = line.split_whitespace().collect();
        for src in &words[1..words.len() - 1] {
            assert!(allowed.contains(src), "the Dockerfile copies {src}, which .dockerignore keeps out");
        }
    }
    // Every file the crate includes at compile time is inside what the Dockerfile copies.
    let sources = ["src", "crates"].into_iter().flat_map(|d| walkdir::WalkDir::new(root().join(d)));
    for entry in sources.map(Result::unwrap) {
        if entry.path().extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let code = std::fs::read_to_string(entry.path()).unwrap();
        for part in ["include_str!(\"", "include_bytes!(\""].iter().flat_map(|m| code.split(m).skip(1)) {
            let Some(rel) = part.split('"').next() else { continue };
            let target = entry.path().parent().unwrap().join(rel);
            let target = target.canonicalize().unwrap_or_else(|e| panic!("{}: {rel}: {e}", entry.path().display()));
            let top = target.strip_prefix(root().canonicalize().unwrap()).unwrap().components().next().unwrap();
            let top = top.as_os_str().to_str().unwrap();
            assert!(
                allowed.contains(top) && body.contains(&format!(" {top}")),
                "{} includes {rel}, outside the Docker build context",
                entry.path().display()
            );
        }
    }
}
